/* cloud.h - the process's one S3 client, made on first use, so that
 * commands working only on local paths never load libcurl or look for
 * credentials. */
#ifndef RAPID_CLOUD_H
#define RAPID_CLOUD_H

#include <stdbool.h>

struct s3_client;
struct aws_error;

/* The AWS profile the client will use (--profile); NULL: AWS_PROFILE.
 * Borrowed: the string outlives the client. */
void cloud_set_profile(const char *name);
/* That profile (NULL: AWS_PROFILE), for the other services' clients. */
const char *cloud_profile(void);

/* The AWS profile for requests to input buckets (--input-profile):
 * buckets that no output root of the Rapidfile is in. NULL: none (the
 * one client for all). Borrowed. */
void cloud_set_input_profile(const char *name);
/* An output root (s3://bucket/...; others are ignored): its bucket is
 * written, never an input bucket. */
void cloud_add_written(const char *root);
/* Whether requests to bucket go with the input profile. */
bool cloud_is_input_bucket(const char *bucket);
/* The client for bucket: the input profile's for an input bucket, else
 * cloud_s3(). NULL after printing why. */
struct s3_client *cloud_s3_for(const char *bucket);

/* The client (configured from the environment, the AWS config files and
 * --profile). NULL after printing why; asked again, it tries again. */
struct s3_client *cloud_s3(void);
/* If a client was made: its requests by operation, one line on stderr
 * ("rapid: S3 requests: 3 list, 2000 head, 0 get, 0 put"). */
void cloud_report(void);
/* Report e once on stderr: "rapid: cannot <what>: <reason>". */
void cloud_warn(const struct aws_error *e);
/* Free the client if one was made. */
void cloud_close(void);

#endif
