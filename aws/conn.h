/* conn.h - what every AWS client holds: one service's configuration,
 * region and endpoint, a credentials provider, a signing-key cache and an
 * HTTP engine (aws/s3.c and aws/service.c are built on it), and the one
 * sign-before-send step both use on every attempt. */
#ifndef RAPID_AWS_CONN_H
#define RAPID_AWS_CONN_H

#include "aws/config.h"
#include "aws/error.h"

struct aws_creds_provider;
struct sigv4_cache;
struct sigv4_request;
struct http_engine;
struct http_request;

/* Called with what is worth a warning but fails nothing (credentials
 * that could not be refreshed and are used until they expire). */
typedef void (*aws_notice_fn)(const struct aws_error *, void *arg);

struct aws_conn {
	struct aws_config *cfg;
	char *region;
	struct aws_endpoint ep;
	struct aws_creds_provider *creds;
	struct aws_creds *fixed; /* aws_conn_set_creds: used instead of creds */
	struct sigv4_cache *sigcache;
	struct http_engine *http;
	aws_notice_fn notice;
	void *notice_arg;
	/* Credentials failed during this run (aws_conn_begin): later
	 * requests fail at once with the same error instead of walking the
	 * chain again. */
	struct aws_error creds_err;
};

/* Open a connection to service_id ("S3", "CloudFormation"…) as the AWS
 * CLI would: profile (NULL: AWS_PROFILE or "default"), its region and
 * endpoint; max_in_flight 0 for the default, max_attempts 0 for
 * AWS_MAX_ATTEMPTS or the profile's. 0, or -1 with *err; conn is then
 * closed. Credentials are resolved on first use. */
int aws_conn_open(struct aws_conn *conn, const char *service_id, const char *profile, unsigned max_in_flight,
		  unsigned max_attempts, struct aws_error *err);
/* Sign every request with a copy of these credentials instead of the
 * provider's chain (zeroed when the connection closes). */
struct aws_creds;
void aws_conn_set_creds(struct aws_conn *conn, const struct aws_creds *creds);
/* Free everything; the struct may be opened again. */
void aws_conn_close(struct aws_conn *conn);
/* A new batch of requests: credentials are asked for again. */
void aws_conn_begin(struct aws_conn *conn);

/* Sign req's headers (sr->headers, already holding Host and the rest) for
 * signing name service with SigV4 flags, with the provider's credentials
 * and the time now: a prepare callback calls it right before every
 * attempt. 0, or -1 with req's error set (the credentials' error, or why
 * it cannot be signed). */
int aws_conn_sign(struct aws_conn *conn, struct http_request *req, const char *service, unsigned flags,
		  const struct sigv4_request *sr);

#endif
