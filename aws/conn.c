/* conn.c - configuration, credentials, signing cache and HTTP engine of
 * one AWS service, and signing each attempt. */
#include "aws/conn.h"
#include "aws/creds.h"
#include "aws/http.h"
#include "aws/sigv4.h"
#include "lib/util.h"

#include <stdlib.h>
#include <string.h>

int aws_conn_open(struct aws_conn *conn, const char *service_id, const char *profile, unsigned max_in_flight,
		  unsigned max_attempts, struct aws_error *err)
{
	struct http_config hc = {.max_in_flight = max_in_flight};
	memset(conn, 0, sizeof(*conn));
	if (!(conn->cfg = aws_config_load(profile, err)))
		goto fail;
	/* aws_config_region's message names the profile; this one is the
	 * short answer for the common case of nothing configured at all */
	if (!aws_config_has_region(conn->cfg)) {
		aws_error_set(err, AWS_ERR_CONFIG, "no AWS region: set AWS_REGION or a profile's region");
		goto fail;
	}
	if (!(conn->region = aws_config_region(conn->cfg, err)))
		goto fail;
	if (aws_endpoint_resolve(conn->cfg, service_id, conn->region, &conn->ep, err) < 0)
		goto fail;
	hc.max_attempts = max_attempts ? max_attempts : aws_config_max_attempts(conn->cfg, err);
	if (!hc.max_attempts)
		goto fail;
	struct aws_transfer_limits lim;
	if (aws_config_transfer_limits(conn->cfg, &lim, err) < 0)
		goto fail;
	hc.connect_timeout_ms = lim.connect_timeout_ms;
	hc.read_timeout_ms = lim.read_timeout_ms;
	hc.min_rate = lim.min_rate;
	if (!(conn->http = http_engine_new(&hc, err)))
		goto fail;
	conn->creds = aws_creds_provider_new(conn->cfg);
	conn->sigcache = sigv4_cache_new();
	return 0;
fail:
	aws_conn_close(conn);
	return -1;
}

void aws_conn_set_creds(struct aws_conn *conn, const struct aws_creds *creds)
{
	if (conn->fixed)
		aws_creds_free(conn->fixed);
	else
		conn->fixed = xcalloc(1, sizeof(*conn->fixed));
	aws_creds_copy(conn->fixed, creds);
}

void aws_conn_close(struct aws_conn *conn)
{
	if (conn->fixed) {
		aws_creds_free(conn->fixed);
		free(conn->fixed);
	}
	http_engine_free(conn->http);
	sigv4_cache_free(conn->sigcache);
	aws_creds_provider_free(conn->creds);
	aws_endpoint_free(&conn->ep);
	free(conn->region);
	aws_config_free(conn->cfg);
	aws_error_clear(&conn->creds_err);
	memset(conn, 0, sizeof(*conn));
}

void aws_conn_begin(struct aws_conn *conn)
{
	aws_error_clear(&conn->creds_err);
}

int aws_conn_sign(struct aws_conn *conn, struct http_request *req, const char *service, unsigned flags,
		  const struct sigv4_request *sr)
{
	struct aws_creds cr = {0};
	struct aws_error e = {0};
	int ret = -1;

	if (aws_error_isset(&conn->creds_err)) {
		http_request_fail_with(req, &conn->creds_err);
		return -1;
	}
	int got = 0;
	if (conn->fixed)
		aws_creds_copy(&cr, conn->fixed);
	else
		got = aws_creds_provider_get(conn->creds, &cr, &e);
	if (got < 0) {
		aws_error_move(&conn->creds_err, &e);
		http_request_fail_with(req, &conn->creds_err);
		return -1;
	}
	if (aws_error_isset(&e) && conn->notice)
		conn->notice(&e, conn->notice_arg);
	aws_error_clear(&e);
	struct sigv4_credentials sc = {cr.access_key_id, cr.secret_access_key, cr.session_token};
	struct sigv4_config cfg = {
		.service = service, .region = conn->region, .creds = &sc, .time = now_ns() / 1000000000,
		.flags = flags, .cache = conn->sigcache,
	};
	if (sigv4_sign_headers(&cfg, sr, NULL, &e) < 0) {
		http_request_fail_with(req, &e);
		aws_error_clear(&e);
		goto out;
	}
	ret = 0;
out:
	aws_creds_free(&cr);
	return ret;
}
