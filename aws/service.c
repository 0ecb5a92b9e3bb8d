/* service.c - Query and JSON 1.1 calls to AWS services other than S3. */
#include "aws/service.h"
#include "aws/config.h"
#include "aws/creds.h"
#include "aws/http.h"
#include "aws/sigv4.h"
#include "aws/xml.h"

#include <stdlib.h>
#include <string.h>

struct aws_service {
	char *signing_name;
	struct aws_config *cfg;
	char *region;
	struct aws_endpoint ep;
	struct aws_creds_provider *creds;
	struct sigv4_cache *sigcache;
	struct http_engine *http;
	unsigned requests;
};

/* One call in flight. */
struct call {
	struct aws_service *svc;
	const char *content_type;
	const char *target; /* X-Amz-Target, or NULL */
	char *path;         /* the endpoint's base path, or "/" */
};

struct aws_service *aws_service_new(const char *service_id, const char *signing_name, const char *profile,
				    char **err)
{
	struct aws_service *s = xcalloc(1, sizeof(*s));
	struct http_config hc = {0};
	*err = NULL;
	s->signing_name = xstrdup(signing_name);
	if (!(s->cfg = aws_config_load(profile))) {
		*err = xstrdup("cannot load the AWS configuration files");
		goto fail;
	}
	if (!aws_config_has_region(s->cfg) || !(s->region = aws_config_region(s->cfg))) {
		*err = xstrdup("no AWS region: set AWS_REGION or a profile's region");
		goto fail;
	}
	if (aws_endpoint_resolve(s->cfg, service_id, s->region, &s->ep) < 0) {
		*err = xasprintf("cannot find the %s endpoint", service_id);
		goto fail;
	}
	if (!(hc.max_attempts = aws_config_max_attempts(s->cfg, err)))
		goto fail;
	if (!(s->http = http_engine_new(&hc))) {
		*err = xstrdup("cannot start the HTTP engine");
		goto fail;
	}
	s->creds = aws_creds_provider_new(s->cfg);
	s->sigcache = sigv4_cache_new();
	return s;
fail:
	aws_service_free(s);
	return NULL;
}

void aws_service_free(struct aws_service *s)
{
	if (!s)
		return;
	http_engine_free(s->http);
	sigv4_cache_free(s->sigcache);
	aws_creds_provider_free(s->creds);
	aws_endpoint_free(&s->ep);
	free(s->region);
	aws_config_free(s->cfg);
	free(s->signing_name);
	free(s);
}

const char *aws_service_region(const struct aws_service *s)
{
	return s->region;
}

unsigned aws_service_requests(const struct aws_service *s)
{
	return s->requests;
}

/* Before each attempt: headers afresh, signed now. */
static int prepare(struct http_request *h, void *arg)
{
	struct call *c = arg;
	struct aws_service *s = c->svc;
	struct aws_creds cr = {0};
	if (aws_creds_provider_get(s->creds, &cr) < 0) {
		http_request_fail(h, "no valid AWS credentials");
		return -1;
	}
	struct sigv4_credentials sc = {cr.access_key_id, cr.secret_access_key, cr.session_token};
	struct sigv4_config cfg = {
		.service = s->signing_name, .region = s->region, .creds = &sc,
		.time = now_ns() / 1000000000, .flags = 0, .cache = s->sigcache,
	};
	struct sigv4_request sr = {
		.method = "POST", .path = c->path, .headers = &h->headers,
		.body = h->body, .body_len = h->body_len,
	};
	sigv4_headers_free(&h->headers);
	sigv4_headers_add(&h->headers, "Host", s->ep.host);
	sigv4_headers_add(&h->headers, "Content-Type", c->content_type);
	if (c->target)
		sigv4_headers_add(&h->headers, "X-Amz-Target", c->target);
	int ret = sigv4_sign_headers(&cfg, &sr, NULL);
	aws_creds_free(&cr);
	if (ret < 0) {
		http_request_fail(h, "cannot sign the request");
		return -1;
	}
	s->requests++;
	return 0;
}

/* POST body; 0 with the answer in *resp, or -1 with *err. */
static int post(struct aws_service *s, struct call *c, const char *body, const char *what,
		struct http_request *req, char **err)
{
	c->svc = s;
	c->path = xstrdup(s->ep.path[0] ? s->ep.path : "/");
	http_request_init(req);
	req->method = "POST";
	req->url = xasprintf("%s%s", s->ep.url, s->ep.path[0] ? "" : "/");
	req->body = body;
	req->body_len = strlen(body);
	req->prepare = prepare;
	req->arg = c;
	int r = http_do(s->http, req);
	if (r < 0)
		*err = xasprintf("cannot %s: %s", what, req->error ? req->error : "request failed");
	free(c->path);
	return r;
}

int aws_query_call(struct aws_service *s, const char *action, const char *version, const char *params,
		   const char *what, struct xml_doc **out, char **err)
{
	struct call c = {.content_type = "application/x-www-form-urlencoded; charset=utf-8"};
	struct http_request req;
	struct buf body = {0};
	*out = NULL;
	*err = NULL;
	buf_printf(&body, "Action=%s&Version=%s", action, version);
	if (params && *params)
		buf_printf(&body, "&%s", params);
	int r = post(s, &c, body.data, what, &req, err);
	if (r == 0) {
		char *perr = NULL;
		*out = xml_parse(req.resp_body.data ? req.resp_body.data : "", req.resp_body.len, action, &perr);
		if (!*out) {
			*err = xasprintf("cannot %s: %s", what, perr);
			free(perr);
			r = -1;
		}
	}
	http_request_free(&req);
	buf_free(&body);
	return r;
}

int aws_json_call(struct aws_service *s, const char *target, const char *body, const char *what, cJSON **out,
		  char **err)
{
	struct call c = {.content_type = "application/x-amz-json-1.1", .target = target};
	struct http_request req;
	*out = NULL;
	*err = NULL;
	int r = post(s, &c, body, what, &req, err);
	if (r < 0 && req.status >= 400 && !req.error_code && req.resp_body.data) {
		/* The code is in the body's __type ("namespace#Code"). */
		cJSON *j = cJSON_ParseWithLength(req.resp_body.data, req.resp_body.len);
		cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "__type");
		cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "message");
		if (!cJSON_IsString(m))
			m = cJSON_GetObjectItemCaseSensitive(j, "Message");
		if (cJSON_IsString(t)) {
			const char *code = strrchr(t->valuestring, '#');
			code = code ? code + 1 : t->valuestring;
			free(*err);
			*err = xasprintf("cannot %s: %ld %s%s%s", what, req.status, code,
					 cJSON_IsString(m) ? ": " : "", cJSON_IsString(m) ? m->valuestring : "");
		}
		cJSON_Delete(j);
	}
	if (r == 0) {
		*out = cJSON_ParseWithLength(req.resp_body.data ? req.resp_body.data : "{}",
					     req.resp_body.data ? req.resp_body.len : 2);
		if (!*out) {
			*err = xasprintf("cannot %s: malformed %s response: not JSON", what, target);
			r = -1;
		}
	}
	http_request_free(&req);
	return r;
}
