/* creds.h - AWS credentials in the AWS CLI's order: environment, shared
 * profile files, container credentials, EC2 instance metadata (IMDSv2);
 * and a provider that caches them and refreshes them before they expire.
 * Nothing here prints: errors are a struct aws_error (kind
 * AWS_ERR_CREDENTIALS) for the caller to report once, and none holds a
 * secret key or a session token. Container credentials and IMDS are asked
 * through the HTTP engine (aws/http.h). */
#ifndef RAPID_AWS_CREDS_H
#define RAPID_AWS_CREDS_H

#include <stdint.h>

#include "aws/error.h"

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
/* An expiration as AWS prints it ("2024-05-01T12:00:00Z", a fraction, an
 * offset, a space for the 'T': aws_date_parse), from 1970 to 2200, into ns
 * since the epoch. 0, or -1 (not reported). */
int aws_creds_parse_expiration(const char *s, int64_t *ns);
/* A deep copy of src into dst. */
void aws_creds_copy(struct aws_creds *dst, const struct aws_creds *src);
/* For messages: the source and the access key id's last 4 characters, as
 * "profile dev (access key ****MPLE)". Never the secret or the token. The
 * caller frees. */
char *aws_creds_describe(const struct aws_creds *);

/* Resolve credentials once, without caching, walking the chain: the
 * environment (skipped when the profile was given with --profile), the
 * profile's keys (credentials file, then config file), container
 * credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or _FULL_URI), IMDSv2
 * (unless AWS_EC2_METADATA_DISABLED=true). A source that is configured but
 * fails stops the chain with its error; an unreachable IMDS does not. cfg may
 * be NULL (no profile files); it is borrowed. now (ns since the epoch) judges
 * expiration. 0, or -1 with *err when none gives valid credentials. */
int aws_creds_resolve(const struct aws_config *cfg, int64_t now, struct aws_creds *out, struct aws_error *err);

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
 * not expired yet, they are used: 0 with the failure in *err all the same
 * (a warning for the caller to report once; "; using the current ones
 * until they expire at …" in its note), and the fetch is retried at most
 * every 30 s. *err is not set on any other success.
 * -1 with *err when there are no valid credentials. */
int aws_creds_provider_get(struct aws_creds_provider *, struct aws_creds *out, struct aws_error *err);
/* How many times credentials were fetched (resolved or refreshed). */
unsigned aws_creds_provider_fetches(const struct aws_creds_provider *);
void aws_creds_provider_free(struct aws_creds_provider *);

#endif
