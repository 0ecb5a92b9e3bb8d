/* conn.c - configuration, credentials, signing cache and HTTP engine of
 * one AWS service. */
#include "aws/conn.h"
#include "aws/creds.h"
#include "aws/http.h"
#include "aws/sigv4.h"
#include "lib/util.h"

#include <stdlib.h>
#include <string.h>

int aws_conn_open(struct aws_conn *conn, const char *service_id, const char *profile, unsigned max_in_flight,
		  unsigned max_attempts, char **err)
{
	struct http_config hc = {.max_in_flight = max_in_flight};
	memset(conn, 0, sizeof(*conn));
	*err = NULL;
	if (!(conn->cfg = aws_config_load(profile))) {
		*err = xstrdup("cannot load the AWS configuration files");
		goto fail;
	}
	/* aws_config_region reports the absence itself; say it once, here */
	if (!aws_config_has_region(conn->cfg) || !(conn->region = aws_config_region(conn->cfg))) {
		*err = xstrdup("no AWS region: set AWS_REGION or a profile's region");
		goto fail;
	}
	if (aws_endpoint_resolve(conn->cfg, service_id, conn->region, &conn->ep) < 0) {
		*err = xasprintf("cannot find the %s endpoint", service_id);
		goto fail;
	}
	hc.max_attempts = max_attempts ? max_attempts : aws_config_max_attempts(conn->cfg, err);
	if (!hc.max_attempts)
		goto fail;
	if (!(conn->http = http_engine_new(&hc))) {
		*err = xstrdup("cannot start the HTTP engine");
		goto fail;
	}
	conn->creds = aws_creds_provider_new(conn->cfg);
	conn->sigcache = sigv4_cache_new();
	return 0;
fail:
	aws_conn_close(conn);
	return -1;
}

void aws_conn_close(struct aws_conn *conn)
{
	http_engine_free(conn->http);
	sigv4_cache_free(conn->sigcache);
	aws_creds_provider_free(conn->creds);
	aws_endpoint_free(&conn->ep);
	free(conn->region);
	aws_config_free(conn->cfg);
	memset(conn, 0, sizeof(*conn));
}
