/* conn.h - what every AWS client holds: one service's configuration,
 * region and endpoint, a credentials provider, a signing-key cache and an
 * HTTP engine (aws/s3.c and aws/service.c are built on it). */
#ifndef RAPID_AWS_CONN_H
#define RAPID_AWS_CONN_H

#include "aws/config.h"

struct aws_creds_provider;
struct sigv4_cache;
struct http_engine;

struct aws_conn {
	struct aws_config *cfg;
	char *region;
	struct aws_endpoint ep;
	struct aws_creds_provider *creds;
	struct sigv4_cache *sigcache;
	struct http_engine *http;
};

/* Open a connection to service_id ("S3", "CloudFormation"…) as the AWS
 * CLI would: profile (NULL: AWS_PROFILE or "default"), its region and
 * endpoint; max_in_flight 0 for the default, max_attempts 0 for
 * AWS_MAX_ATTEMPTS or the profile's. 0, or -1 with *err (the caller
 * frees); conn is then closed. Credentials are resolved on first use. */
int aws_conn_open(struct aws_conn *conn, const char *service_id, const char *profile, unsigned max_in_flight,
		  unsigned max_attempts, char **err);
/* Free everything; the struct may be opened again. */
void aws_conn_close(struct aws_conn *conn);

#endif
