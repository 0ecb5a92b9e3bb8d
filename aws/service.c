/* service.c - Query, JSON 1.1 and REST-JSON calls to AWS services other
 * than S3. A JSON error's code and message (x-amzn-ErrorType, __type,
 * code, message) are read by the HTTP engine, which retries by them. */
#include "aws/service.h"
#include "aws/conn.h"
#include "aws/creds.h"
#include "aws/http.h"
#include "aws/sigv4.h"
#include "aws/xml.h"

#include <stdlib.h>
#include <string.h>

struct aws_service {
	char *signing_name;
	struct aws_conn conn;
	unsigned requests;
};

/* One call in flight. */
struct call {
	struct aws_service *svc;
	const char *content_type;
	const char *target; /* X-Amz-Target, or NULL */
	const char *rel;    /* REST: the operation's path ("/v1/submitjob"), or NULL */
	char *path;         /* the endpoint's base path (and rel), or "/" */
};

struct aws_service *aws_service_new(const char *service_id, const char *signing_name, const char *profile,
				    struct aws_error *err)
{
	struct aws_service *s = xcalloc(1, sizeof(*s));
	s->signing_name = xstrdup(signing_name);
	if (aws_conn_open(&s->conn, service_id, profile, 0, 0, err) < 0) {
		aws_service_free(s);
		return NULL;
	}
	return s;
}

void aws_service_free(struct aws_service *s)
{
	if (!s)
		return;
	aws_conn_close(&s->conn);
	free(s->signing_name);
	free(s);
}

const char *aws_service_region(const struct aws_service *s)
{
	return s->conn.region;
}

unsigned aws_service_requests(const struct aws_service *s)
{
	return s->requests;
}

void aws_service_set_notice(struct aws_service *s, aws_notice_fn fn, void *arg)
{
	s->conn.notice = fn;
	s->conn.notice_arg = arg;
}

/* Before each attempt: headers afresh, signed now. */
static int prepare(struct http_request *h, void *arg)
{
	struct call *c = arg;
	struct aws_service *s = c->svc;
	struct sigv4_request sr = {
		.method = "POST", .path = c->path, .headers = &h->headers,
		.body = h->body, .body_len = h->body_len,
	};
	sigv4_headers_free(&h->headers);
	sigv4_headers_add(&h->headers, "Host", s->conn.ep.host);
	sigv4_headers_add(&h->headers, "Content-Type", c->content_type);
	if (c->target)
		sigv4_headers_add(&h->headers, "X-Amz-Target", c->target);
	if (aws_conn_sign(&s->conn, h, s->signing_name, 0, &sr) < 0)
		return -1;
	s->requests++;
	return 0;
}

/* POST body; 0 with the answer in *resp, or -1 with *err. */
static int post(struct aws_service *s, struct call *c, const char *body, const char *what,
		struct http_request *req, struct aws_error *err)
{
	aws_conn_begin(&s->conn);
	c->svc = s;
	http_request_init(req);
	req->method = "POST";
	if (c->rel) {
		c->path = xasprintf("%s%s", s->conn.ep.path, c->rel);
		req->url = xasprintf("%s%s", s->conn.ep.url, c->rel);
	} else {
		c->path = xstrdup(s->conn.ep.path[0] ? s->conn.ep.path : "/");
		req->url = xasprintf("%s%s", s->conn.ep.url, s->conn.ep.path[0] ? "" : "/");
	}
	req->body = body;
	req->body_len = strlen(body);
	req->prepare = prepare;
	req->arg = c;
	int r = http_do(s->conn.http, req);
	if (r < 0) {
		aws_error_copy(err, req->error);
		/* a credentials error is not about this call */
		if (err->kind != AWS_ERR_CREDENTIALS || !err->what)
			aws_error_what(err, what, NULL);
	}
	free(c->path);
	return r;
}

int aws_query_call(struct aws_service *s, const char *action, const char *version, const char *params,
		   const char *what, struct xml_doc **out, struct aws_error *err)
{
	struct call c = {.content_type = "application/x-www-form-urlencoded; charset=utf-8"};
	struct http_request req;
	struct buf body = {0};
	*out = NULL;
	buf_printf(&body, "Action=%s&Version=%s", action, version);
	if (params && *params)
		buf_printf(&body, "&%s", params);
	int r = post(s, &c, body.data, what, &req, err);
	if (r == 0) {
		char *perr = NULL;
		*out = xml_parse(req.resp_body.data ? req.resp_body.data : "", req.resp_body.len, action, &perr);
		if (!*out) {
			aws_error_set(err, AWS_ERR_RESPONSE, "%s", perr);
			aws_error_what(err, what, NULL);
			free(perr);
			r = -1;
		}
	}
	http_request_free(&req);
	buf_free(&body);
	return r;
}

/* The JSON answer of a successful call in *out; -1 with *err if it is
 * not JSON (an empty body is {}). */
static int json_answer(struct http_request *req, const char *op, const char *what, cJSON **out,
		       struct aws_error *err)
{
	int empty = !req->resp_body.data || !req->resp_body.len;
	*out = cJSON_ParseWithLength(empty ? "{}" : req->resp_body.data, empty ? 2 : req->resp_body.len);
	if (!*out) {
		aws_error_set(err, AWS_ERR_RESPONSE, "malformed %s response: not JSON", op);
		aws_error_what(err, what, NULL);
		return -1;
	}
	return 0;
}

int aws_json_call(struct aws_service *s, const char *target, const char *body, const char *what, cJSON **out,
		  struct aws_error *err)
{
	struct call c = {.content_type = "application/x-amz-json-1.1", .target = target};
	struct http_request req;
	*out = NULL;
	int r = post(s, &c, body, what, &req, err);
	if (r == 0)
		r = json_answer(&req, target, what, out, err);
	http_request_free(&req);
	return r;
}

int aws_rest_json_call(struct aws_service *s, const char *path, const char *op, const char *body, const char *what,
		       cJSON **out, struct aws_error *err)
{
	struct call c = {.content_type = "application/json", .rel = path};
	struct http_request req;
	*out = NULL;
	int r = post(s, &c, body, what, &req, err);
	if (r == 0)
		r = json_answer(&req, op, what, out, err);
	http_request_free(&req);
	return r;
}
