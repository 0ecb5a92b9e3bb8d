/* service.h - calls to the AWS services other than S3, over aws/http and
 * aws/sigv4: the Query protocol (form-encoded POST, XML answers:
 * CloudFormation), JSON 1.1 (X-Amz-Target, JSON answers: Secrets
 * Manager) and REST-JSON (POST to the operation's path, JSON both ways:
 * Batch).
 *
 * Nothing here prints. A failed call fills a struct aws_error (HTTP
 * status, the AWS error code, its message; or the transport's cause) whose
 * what is the call's what, formatted "cannot <what>: <status> <Code>:
 * <Message>", without any header value, credential or signature. */
#ifndef RAPID_AWS_SERVICE_H
#define RAPID_AWS_SERVICE_H

#include <cjson/cJSON.h>

#include "aws/conn.h"
#include "aws/error.h"
#include "lib/util.h"

struct aws_service;

/* A client of one service: service_id as the AWS CLI names it for its
 * endpoint ("CloudFormation", "Secrets Manager"), signing_name as SigV4
 * wants it ("cloudformation", "secretsmanager"). profile NULL: AWS_PROFILE
 * or "default". NULL with *err without a region or an endpoint.
 * Credentials are resolved on the first call. */
struct aws_service *aws_service_new(const char *service_id, const char *signing_name, const char *profile,
				    struct aws_error *err);
void aws_service_free(struct aws_service *);
/* The region calls go to. Borrowed. */
const char *aws_service_region(const struct aws_service *);
/* Calls made (attempts included). */
unsigned aws_service_requests(const struct aws_service *);
/* Where warnings that fail nothing go (none by default). */
void aws_service_set_notice(struct aws_service *, aws_notice_fn fn, void *arg);

/* Query protocol: POST "Action=<action>&Version=<version>" and params (a
 * query string built with uri_query_add, or NULL). 0 and the parsed answer
 * in *out (free with xml_free), or -1 with *err. what names the call for
 * messages: "create stack 'rapid'" (a credentials error keeps its own). */
struct xml_doc;
int aws_query_call(struct aws_service *, const char *action, const char *version, const char *params,
		   const char *what, struct xml_doc **out, struct aws_error *err);

/* JSON 1.1: POST body (a JSON text) with X-Amz-Target: target
 * ("secretsmanager.PutSecretValue"). 0 and the parsed answer in *out (free
 * with cJSON_Delete), or -1 with *err. A JSON error's __type (without its
 * "namespace#") is the code. */
int aws_json_call(struct aws_service *, const char *target, const char *body, const char *what, cJSON **out,
		  struct aws_error *err);

/* REST-JSON: POST body (a JSON text, Content-Type application/json) to
 * path after the endpoint's base path ("/v1/submitjob"). 0 and the parsed
 * answer in *out (free with cJSON_Delete; an empty answer is {}), or -1
 * with *err: the code from x-amzn-ErrorType (without ":…"), else the
 * body's __type or code; the message from its message or Message. op
 * names the operation in a malformed answer's message ("SubmitJob"). */
int aws_rest_json_call(struct aws_service *, const char *path, const char *op, const char *body, const char *what,
		       cJSON **out, struct aws_error *err);

#endif
