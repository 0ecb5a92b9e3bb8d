/* stackops.c - CloudFormation's DescribeStacks, CreateStack, DeleteStack
 * and DescribeStackEvents, and Secrets Manager's PutSecretValue, for
 * `rapid stack`. Following a stack is one loop: show the events not seen
 * yet, describe, stop once the status is no longer *_IN_PROGRESS. */
#include "cfn/stackops.h"
#include "cfn/stack.h"
#include "aws/crypto.h"
#include "aws/service.h"
#include "aws/uri.h"
#include "aws/xml.h"
#include "lib/util.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CFN_VERSION "2010-05-15"

struct stackops {
	struct aws_service *svc;
	unsigned poll_ms;
	/* events already shown */
	char **seen;
	size_t nseen;
};

struct stackops *stackops_open(const struct stackops_config *cfg, struct aws_error *err)
{
	struct aws_service *svc = aws_service_new("CloudFormation", "cloudformation", cfg->profile, err);
	if (!svc)
		return NULL;
	aws_service_set_notice(svc, cfg->notice, cfg->notice_arg);
	struct stackops *c = xcalloc(1, sizeof(*c));
	c->svc = svc;
	c->poll_ms = cfg->poll_ms ? cfg->poll_ms : 5000;
	return c;
}

void stackops_close(struct stackops *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nseen; i++)
		free(c->seen[i]);
	free(c->seen);
	aws_service_free(c->svc);
	free(c);
}

const char *stackops_region(const struct stackops *c)
{
	return aws_service_region(c->svc);
}

/* ---- descriptions ---- */

static char *text_or_empty(const struct xml_node *n, const char *path)
{
	const char *v = xml_text(n, path);
	return xstrdup(v ? v : "");
}

void stack_desc_free(struct stack_desc *d)
{
	free(d->name);
	free(d->stack_id);
	free(d->status);
	free(d->reason);
	free(d->created);
	for (size_t i = 0; i < d->noutputs; i++) {
		free(d->outputs[i].key);
		free(d->outputs[i].value);
	}
	free(d->outputs);
	memset(d, 0, sizeof(*d));
}

const char *stack_desc_output(const struct stack_desc *d, const char *key)
{
	for (size_t i = 0; i < d->noutputs; i++)
		if (!strcmp(d->outputs[i].key, key))
			return d->outputs[i].value;
	return NULL;
}

static void desc_read(const struct xml_node *st, struct stack_desc *out)
{
	size_t cap = 0;
	out->name = text_or_empty(st, "StackName");
	out->stack_id = text_or_empty(st, "StackId");
	out->status = text_or_empty(st, "StackStatus");
	out->reason = text_or_empty(st, "StackStatusReason");
	out->created = text_or_empty(st, "CreationTime");
	for (const struct xml_node *o = xml_path(st, "Outputs/member"); o; o = xml_next_same(o)) {
		GROW(out->outputs, cap, out->noutputs + 1);
		out->outputs[out->noutputs].key = text_or_empty(o, "OutputKey");
		out->outputs[out->noutputs].value = text_or_empty(o, "OutputValue");
		out->noutputs++;
	}
}

/* Whether a call failed because the stack does not exist. CloudFormation
 * has no code of its own for it: a 400 ValidationError whose message (its
 * field, not ours) says "does not exist". */
static bool is_missing(const struct aws_error *e)
{
	return aws_error_is(e, 400, "ValidationError") && e->message && strstr(e->message, "does not exist");
}

/* One Query call with StackName=name (and more params); the answer in *doc. */
static int call(struct stackops *c, const char *action, const char *name, struct buf *more, const char *what,
		struct xml_doc **doc, struct aws_error *err)
{
	struct buf p = {0};
	uri_query_add(&p, "StackName", name);
	if (more && more->len)
		buf_printf(&p, "&%s", more->data);
	char *w = xasprintf("%s stack '%s'", what, name);
	int r = aws_query_call(c->svc, action, CFN_VERSION, p.data, w, doc, err);
	free(w);
	buf_free(&p);
	return r;
}

int stackops_describe(struct stackops *c, const char *name, struct stack_desc *out, struct aws_error *err)
{
	struct xml_doc *doc = NULL;
	memset(out, 0, sizeof(*out));
	if (call(c, "DescribeStacks", name, NULL, "describe", &doc, err) < 0) {
		if (!is_missing(err))
			return -1;
		aws_error_clear(err);
		return 0;
	}
	const struct xml_node *st = xml_path(xml_root(doc), "DescribeStacksResult/Stacks/member");
	if (st)
		desc_read(st, out);
	xml_free(doc);
	return st ? 1 : 0;
}

/* ---- following a stack ---- */

static bool seen(struct stackops *c, const char *id)
{
	for (size_t i = 0; i < c->nseen; i++)
		if (!strcmp(c->seen[i], id))
			return true;
	return false;
}

static void emit(struct stackops *c, const struct xml_node *e, stack_event_fn on_event, void *arg)
{
	const char *ts = xml_text(e, "Timestamp");
	/* "2024-05-01T12:00:01.123Z" → "12:00:01" */
	char hms[9] = "--:--:--";
	if (ts && strlen(ts) >= 19)
		memcpy(hms, ts + 11, 8);
	const char *status = xml_text(e, "ResourceStatus"), *lid = xml_text(e, "LogicalResourceId");
	const char *type = xml_text(e, "ResourceType"), *why = xml_text(e, "ResourceStatusReason");
	struct stack_event ev = {
		.time = hms, .status = status ? status : "?", .logical_id = lid ? lid : "?",
		.type = type ? type : "", .reason = why ? why : "",
	};
	if (on_event)
		on_event(&ev, arg);
	c->seen = xreallocarray(c->seen, c->nseen + 1, sizeof(char *));
	c->seen[c->nseen++] = xstrdup(xml_text(e, "EventId"));
}

/* Hand the stack's events not shown yet to on_event, oldest first. 0; 1
 * when the stack is gone; -1 with *err. */
static int new_events(struct stackops *c, const char *name, stack_event_fn on_event, void *arg,
		      struct aws_error *err)
{
	struct xml_doc *docs[64];
	size_t ndocs = 0;
	const struct xml_node *fresh[4096];
	size_t nfresh = 0;
	char *token = NULL;
	int ret = 0;
	/* Newest first, 100 a page: read pages until an event already seen. */
	for (bool more = true; more && ndocs < ARRAY_LEN(docs);) {
		struct buf p = {0};
		if (token)
			uri_query_add(&p, "NextToken", token);
		free(token);
		token = NULL;
		struct xml_doc *d = NULL;
		int r = call(c, "DescribeStackEvents", name, &p, "read the events of", &d, err);
		buf_free(&p);
		if (r < 0) {
			/* a stack deleted meanwhile has no events any more */
			ret = is_missing(err) ? 1 : -1;
			if (ret > 0)
				aws_error_clear(err);
			break;
		}
		docs[ndocs++] = d;
		const struct xml_node *res = xml_path(xml_root(d), "DescribeStackEventsResult");
		const struct xml_node *e = xml_path(res, "StackEvents/member");
		for (; e; e = xml_next_same(e)) {
			const char *id = xml_text(e, "EventId");
			if (!id || seen(c, id)) {
				more = false;
				break;
			}
			if (nfresh < ARRAY_LEN(fresh))
				fresh[nfresh++] = e;
		}
		const char *next = xml_text(res, "NextToken");
		if (more && next && *next)
			token = xstrdup(next);
		else
			more = false;
	}
	free(token);
	for (size_t i = nfresh; i-- > 0;)
		emit(c, fresh[i], on_event, arg);
	for (size_t i = 0; i < ndocs; i++)
		xml_free(docs[i]);
	return ret;
}

static void pause_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && !strcmp(s + n - k, suffix);
}

/* Follow the stack until it leaves the *_IN_PROGRESS states. 0 and
 * *status (NULL when the stack is gone), or -1 with *err. */
static int follow(struct stackops *c, const char *name, stack_event_fn on_event, void *arg, char **status,
		  struct aws_error *err)
{
	*status = NULL;
	for (;;) {
		int e = new_events(c, name, on_event, arg, err);
		if (e != 0)
			return e > 0 ? 0 : -1;
		struct stack_desc d;
		int r = stackops_describe(c, name, &d, err);
		if (r <= 0)
			return r;
		if (!ends_with(d.status, "_IN_PROGRESS")) {
			*status = d.status;
			d.status = NULL;
			stack_desc_free(&d);
			/* the events that came with the final status */
			if (new_events(c, name, on_event, arg, err) < 0)
				aws_error_clear(err);
			return 0;
		}
		stack_desc_free(&d);
		pause_ms(c->poll_ms);
	}
}

/* ---- create and delete ---- */

static void add_param(struct buf *p, int *n, const char *key, const char *value)
{
	char name[64];
	if (!value)
		return;
	++*n;
	snprintf(name, sizeof(name), "Parameters.member.%d.ParameterKey", *n);
	uri_query_add(p, name, key);
	snprintf(name, sizeof(name), "Parameters.member.%d.ParameterValue", *n);
	uri_query_add(p, name, value);
}

int stackops_create(struct stackops *c, const struct stack_params *sp, stack_event_fn on_event, void *arg,
		    char **status, struct aws_error *err)
{
	struct buf p = {0};
	struct xml_doc *d = NULL;
	int np = 0;
	*status = NULL;
	uri_query_add(&p, "TemplateBody", sp->template_body);
	uri_query_add(&p, "Capabilities.member.1", "CAPABILITY_NAMED_IAM");
	add_param(&p, &np, "OutputBucket", sp->output_bucket);
	add_param(&p, &np, "InputBucket", sp->input_bucket);
	add_param(&p, &np, "Image", sp->image);
	add_param(&p, &np, "BatchType", sp->batch_type);
	add_param(&p, &np, "MaxvCpus", sp->max_vcpus);
	add_param(&p, &np, "S3fsMount", sp->s3fs ? "true" : NULL);
	int r = call(c, "CreateStack", sp->name, &p, "create", &d, err);
	buf_free(&p);
	xml_free(d);
	if (r < 0)
		return -1;
	return follow(c, sp->name, on_event, arg, status, err);
}

int stackops_delete(struct stackops *c, const char *name, stack_event_fn on_event, void *arg, char **status,
		    struct aws_error *err)
{
	struct xml_doc *d = NULL;
	*status = NULL;
	int r = call(c, "DeleteStack", name, NULL, "delete", &d, err);
	xml_free(d);
	if (r < 0)
		return -1;
	return follow(c, name, on_event, arg, status, err);
}

void stackops_remember(const struct stackops *c, const struct stack_desc *d, const char *output_bucket,
		       const char *input_bucket, struct stack_info *out)
{
	static const struct {
		const char *key;
		size_t off;
	} outs[] = {
		{"JobQueue", offsetof(struct stack_info, job_queue)},
		{"JobDefinition", offsetof(struct stack_info, job_definition)},
		{"ComputeEnvironment", offsetof(struct stack_info, compute_environment)},
		{"InputSecret", offsetof(struct stack_info, input_secret)},
	};
	memset(out, 0, sizeof(*out));
	out->name = xstrdup(d->name);
	out->region = xstrdup(stackops_region(c));
	out->stack_id = xstrdup(d->stack_id);
	out->output_bucket = xstrdup(output_bucket);
	out->input_bucket = xstrdup(input_bucket);
	for (size_t i = 0; i < ARRAY_LEN(outs); i++) {
		const char *v = stack_desc_output(d, outs[i].key);
		*(char **)((char *)out + outs[i].off) = v ? xstrdup(v) : NULL;
	}
}

/* ---- the secret ---- */

/* Zero a string cJSON or the caller made, then free it. */
static void wipe_json_str(char *s)
{
	if (s)
		crypto_cleanse(s, strlen(s));
}

int stackops_put_secret(const struct stackops_config *cfg, const char *arn, const char *key_id, const char *secret,
			struct aws_error *err)
{
	struct aws_service *sm = aws_service_new("Secrets Manager", "secretsmanager", cfg->profile, err);
	if (!sm)
		return -1;
	aws_service_set_notice(sm, cfg->notice, cfg->notice_arg);
	/* rapidtide-cloud's shape: {"IBS3SECRET":"KEY:SECRET"} */
	char *pair = xasprintf("%s:%s", key_id, secret);
	cJSON *v = cJSON_CreateObject();
	cJSON_AddStringToObject(v, "IBS3SECRET", pair);
	char *value = cJSON_PrintUnformatted(v);
	cJSON *req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "SecretId", arn);
	cJSON_AddStringToObject(req, "SecretString", value);
	char *body = cJSON_PrintUnformatted(req);
	cJSON *out = NULL;
	char *what = xasprintf("store the input bucket's key in secret '%s'", arn);
	int r = aws_json_call(sm, "secretsmanager.PutSecretValue", body, what, &out, err);
	cJSON_Delete(out);
	free(what);
	wipe_json_str(body);
	cJSON_free(body);
	wipe_json_str(value);
	cJSON_free(value);
	/* the cJSON trees hold copies too */
	wipe_json_str(cJSON_GetObjectItemCaseSensitive(v, "IBS3SECRET")->valuestring);
	wipe_json_str(cJSON_GetObjectItemCaseSensitive(req, "SecretString")->valuestring);
	cJSON_Delete(v);
	cJSON_Delete(req);
	wipe_json_str(pair);
	free(pair);
	aws_service_free(sm);
	return r;
}
