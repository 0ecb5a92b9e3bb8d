/* remote.h - the runner's S3 clients: one for the buckets it writes (and
 * any other it reads), signed with the default credential chain
 * (aws/creds.h: in Batch the job role's container credentials), and, when
 * RAPID_INPUT_SECRET_ARN names a Secrets Manager secret or rapid
 * --input-profile names a profile, one for the input buckets alone.
 *
 * An input bucket is one the instance reads and never writes: a bucket of
 * an s3:// input that holds neither the root nor any output, nor another
 * target's outputs (an input whose fingerprint is "key=...", a gathered
 * entry). The secret's SecretString is rapidtide-cloud's
 * {"IBS3SECRET":"KEY:SECRET"}; the key pair lives only in the input
 * client (zeroed when it closes), never in a message, a file, the
 * environment or an argv.
 *
 * For tests, RAPID_MULTIPART_THRESHOLD (bytes, at least 1) sets the size
 * from which an output is uploaded in parts (aws/s3.h: 16 MiB). */
#ifndef RAPID_RUNNER_REMOTE_H
#define RAPID_RUNNER_REMOTE_H

#include <stdbool.h>

struct spec;
struct s3_client;
struct remote;

/* The AWS profile for input buckets (rapid --input-profile), for every
 * runner this process starts; NULL: none. Borrowed: it outlives them. */
void remote_set_input_profile(const char *name);

/* Whether the spec names anything on S3 (root, input, gathered entry or
 * output). */
bool remote_needed(const struct spec *);

/* The clients for the spec's buckets (the secret is fetched here, once
 * per process).
 * NULL with *reason (malloc'd: the caller frees) on failure. */
struct remote *remote_open(const struct spec *, char **reason);
void remote_close(struct remote *);

/* The client that signs requests to bucket. Borrowed. */
struct s3_client *remote_client(struct remote *, const char *bucket);
/* The default one (root and outputs). Borrowed. */
struct s3_client *remote_default(struct remote *);
/* Whether bucket is an input bucket with credentials of its own. */
bool remote_is_input_bucket(const struct remote *, const char *bucket);

#endif
