/* creds.h - AWS credentials in the AWS CLI's order: environment, shared
 * profile files, container credentials, EC2 instance metadata (IMDSv2);
 * and a provider that caches them and refreshes them before they expire.
 * Nothing here prints a secret key or a session token; errors are reported
 * once with warn() and nothing exits. */
#ifndef RAPID_AWS_CREDS_H
#define RAPID_AWS_CREDS_H

#include <stdint.h>

struct aws_config;

/* Refresh credentials this close to their expiration. */
#define AWS_CREDS_REFRESH_NS (5 * 60 * INT64_C(1000000000))

/* One set of credentials. Every string is owned; aws_creds_free zeroes the
 * secret and the token before freeing them. */
struct aws_creds {
	char *access_key_id;
	char *secret_access_key;
	char *session_token; /* NULL when there is none */
	int64_t expiration;  /* ns since the epoch; 0 when they do not expire */
	char *source;        /* "environment", "profile NAME", "container", "imds" */
};

void aws_creds_free(struct aws_creds *);
/* A deep copy of src into dst. */
void aws_creds_copy(struct aws_creds *dst, const struct aws_creds *src);
/* For messages: the source and the access key id's last 4 characters, as
 * "profile dev (access key ****MPLE)". Never the secret or the token. The
 * caller frees. */
char *aws_creds_describe(const struct aws_creds *);

/* Parse an ISO 8601 time as AWS prints it ("2024-05-01T12:00:00Z",
 * "2024-05-01T12:00:00.123Z", "2024-05-01T13:00:00+01:00") into ns since
 * the epoch. 0, or -1 (not reported) if s is not such a time. */
int aws_parse_time(const char *s, int64_t *ns);

/* Resolve credentials once, without caching, walking the chain: the
 * environment (skipped when the profile was given with --profile), the
 * profile's keys (credentials file, then config file), container
 * credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or _FULL_URI), IMDSv2
 * (unless AWS_EC2_METADATA_DISABLED=true). A source that is configured but
 * fails stops the chain with its error; an unreachable IMDS does not. cfg may
 * be NULL (no profile files); it is borrowed. now (ns since the epoch) judges
 * expiration. 0, or -1 (reported) when none gives valid credentials. */
int aws_creds_resolve(const struct aws_config *cfg, int64_t now, struct aws_creds *out);

/* A cache in front of aws_creds_resolve, safe to share between threads. */
struct aws_creds_provider;

/* cfg is borrowed and must outlive the provider; it may be NULL. */
struct aws_creds_provider *aws_creds_provider_new(const struct aws_config *cfg);
/* Replace the clock (default: now_ns) with one that returns ns since the
 * epoch; for tests. */
void aws_creds_provider_set_clock(struct aws_creds_provider *, int64_t (*now)(void *arg), void *arg);
/* Copy current credentials into out (free with aws_creds_free). The first
 * call resolves the chain; later calls return the cached credentials until
 * they are within AWS_CREDS_REFRESH_NS of expiring, then fetch them again
 * from the same source. If that fetch fails while the old credentials have
 * not expired yet, they are used (the failure is reported once) and the
 * fetch is retried at most every 30 s. -1 (reported) when there are no valid
 * credentials. */
int aws_creds_provider_get(struct aws_creds_provider *, struct aws_creds *out);
/* How many times credentials were fetched (resolved or refreshed). */
unsigned aws_creds_provider_fetches(const struct aws_creds_provider *);
void aws_creds_provider_free(struct aws_creds_provider *);

#endif
