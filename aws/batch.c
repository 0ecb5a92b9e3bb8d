/* batch.c - the AWS Batch client: request bodies built with cJSON and
 * checked here against the limits Batch would refuse them for (so that a
 * bad job fails before any request, naming the job), answers read field
 * by field (a missing or wrongly typed field is a malformed answer that
 * names the operation and the field, never a crash), and the paging of
 * DescribeJobs (100 ids a request), ListJobs and DescribeJobDefinitions
 * (nextToken). Every request goes through aws/service's REST-JSON call,
 * so the HTTP engine signs, sends and retries it. */
#include "aws/batch.h"
#include "aws/service.h"
#include "lib/util.h"

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DESCRIBE_MAX 100   /* ids in one DescribeJobs */
#define LIST_MAX 1000      /* maxResults of one ListJobs page */
#define DEFINITIONS_MAX 100 /* maxResults of one DescribeJobDefinitions page */
#define NAME_MAX_LEN 128
#define ARRAY_MIN 2
#define ARRAY_MAX 10000
#define DEPS_MAX 20
#define ATTEMPTS_MAX 10
#define TIMEOUT_MIN 60
#define TAGS_MAX 50
#define TAG_KEY_MAX 128
#define TAG_VALUE_MAX 256

struct batch {
	struct aws_service *svc;
};

struct batch *batch_new(const char *profile, struct aws_error *err)
{
	struct aws_service *svc = aws_service_new("Batch", "batch", profile, err);
	if (!svc)
		return NULL;
	struct batch *b = xcalloc(1, sizeof(*b));
	b->svc = svc;
	return b;
}

void batch_free(struct batch *b)
{
	if (!b)
		return;
	aws_service_free(b->svc);
	free(b);
}

unsigned batch_requests(const struct batch *b)
{
	return aws_service_requests(b->svc);
}

const char *batch_region(const struct batch *b)
{
	return aws_service_region(b->svc);
}

/* ---- states ---- */

static const char *const state_names[BATCH_NSTATES] = {
	"SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED", "FAILED",
};

enum batch_state batch_state_parse(const char *s)
{
	for (int i = 0; s && i < BATCH_NSTATES; i++)
		if (!strcmp(s, state_names[i]))
			return (enum batch_state)i;
	return BATCH_UNKNOWN;
}

const char *batch_state_name(enum batch_state st)
{
	return st >= 0 && st < BATCH_NSTATES ? state_names[st] : "UNKNOWN";
}

bool batch_state_alive(enum batch_state st)
{
	return st >= BATCH_SUBMITTED && st <= BATCH_RUNNING;
}

void batch_job_free(struct batch_job *j)
{
	if (!j)
		return;
	free(j->id);
	free(j->name);
	free(j->status_reason);
	free(j->container_reason);
	free(j->log_stream);
	free(j->queue);
	free(j->definition);
	memset(j, 0, sizeof(*j));
}

void batch_jobs_free(struct batch_job *jobs, size_t n)
{
	for (size_t i = 0; jobs && i < n; i++)
		batch_job_free(&jobs[i]);
	free(jobs);
}

/* ---- one call ---- */

/* POST body to operation op ("SubmitJob": /v1/submitjob); the answer in
 * *out. object, if not NULL, is the error's object. */
static int call(struct batch *b, const char *op, const cJSON *body, const char *what, const char *object, cJSON **out,
		struct aws_error *err)
{
	char path[64];
	size_t n = (size_t)snprintf(path, sizeof(path), "/v1/%s", op);
	for (size_t i = 4; i < n && i < sizeof(path); i++)
		path[i] = (char)tolower((unsigned char)path[i]);
	char *text = xnonnull(cJSON_PrintUnformatted(body));
	int r = aws_rest_json_call(b->svc, path, op, text, what, out, err);
	if (r < 0 && object && err->kind != AWS_ERR_CREDENTIALS) {
		free(err->object);
		err->object = xstrdup(object);
	}
	free(text);
	return r;
}

/* ---- reading answers ---- */

/* What a malformed answer is reported against. */
struct parse {
	const char *op;   /* "DescribeJobs" */
	const char *what; /* "describe jobs (3 ids)" */
	struct aws_error *err;
};

static int malformed(struct parse *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int malformed(struct parse *p, const char *fmt, ...)
{
	struct buf b = {0};
	va_list ap;
	buf_printf(&b, "malformed %s response: ", p->op);
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	aws_error_set(p->err, AWS_ERR_RESPONSE, "%s", b.data);
	aws_error_what(p->err, p->what, NULL);
	buf_free(&b);
	return -1;
}

/* The member key of o, of cJSON type check (cJSON_IsString…): 0 with *out
 * (NULL when absent or null and not required), -1 when it is missing but
 * required or of another type. ctx names o in the message ("jobs[2]"). */
static int member(struct parse *p, const cJSON *o, const char *ctx, const char *key, cJSON_bool (*check)(const cJSON *),
		  const char *type, bool required, const cJSON **out)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, key);
	*out = NULL;
	if (!m || cJSON_IsNull(m)) {
		if (required)
			return malformed(p, "%s%s%s is missing", ctx, *ctx ? "." : "", key);
		return 0;
	}
	if (!check(m))
		return malformed(p, "%s%s%s is not %s", ctx, *ctx ? "." : "", key, type);
	*out = m;
	return 0;
}

/* A string member as an owned copy in *out (NULL when absent). */
static int get_str(struct parse *p, const cJSON *o, const char *ctx, const char *key, bool required, char **out)
{
	const cJSON *m;
	*out = NULL;
	if (member(p, o, ctx, key, cJSON_IsString, "a string", required, &m) < 0)
		return -1;
	if (m)
		*out = xstrdup(m->valuestring);
	return 0;
}

/* An integral number member in lo..hi: 0 with *out and *had (whether it
 * was there), -1 if not a whole number in range. */
static int get_int(struct parse *p, const cJSON *o, const char *ctx, const char *key, double lo, double hi,
		   long long *out, bool *had)
{
	const cJSON *m;
	*had = false;
	if (member(p, o, ctx, key, cJSON_IsNumber, "a number", false, &m) < 0)
		return -1;
	if (!m)
		return 0;
	double v = m->valuedouble;
	if (!isfinite(v) || v != floor(v) || v < lo || v > hi)
		return malformed(p, "%s%s%s is not a whole number in %.0f..%.0f", ctx, *ctx ? "." : "", key, lo, hi);
	*out = (long long)v;
	*had = true;
	return 0;
}

/* A container block (a job's or an attempt's): exit code, reason, log
 * stream. Strings owned. */
struct container {
	bool has_exit_code;
	int exit_code;
	char *reason, *log_stream;
};

static void container_free(struct container *c)
{
	free(c->reason);
	free(c->log_stream);
	memset(c, 0, sizeof(*c));
}

static int parse_container(struct parse *p, const cJSON *c, const char *ctx, struct container *out)
{
	long long v;
	memset(out, 0, sizeof(*out));
	if (!c)
		return 0;
	if (get_int(p, c, ctx, "exitCode", INT_MIN, INT_MAX, &v, &out->has_exit_code) < 0 ||
	    get_str(p, c, ctx, "reason", false, &out->reason) < 0 ||
	    get_str(p, c, ctx, "logStreamName", false, &out->log_stream) < 0) {
		container_free(out);
		return -1;
	}
	out->exit_code = (int)v;
	return 0;
}

/* The largest millisecond time taken: far beyond any real date, but exact
 * in a double. */
#define MS_MAX 9007199254740992.0

/* One jobs[] (DescribeJobs) or jobSummaryList[] (ListJobs) entry into
 * *out; a ListJobs entry without a status gets state. */
static int parse_job(struct parse *p, const cJSON *j, const char *ctx, bool detail, enum batch_state state,
		     struct batch_job *out)
{
	const cJSON *st, *ap = NULL, *sum = NULL, *attempts = NULL, *cont = NULL;
	struct container jc = {0}, ac = {0};
	char sub[96];
	long long v;
	bool had;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	out->array_index = -1;
	out->state = state;
	if (!cJSON_IsObject(j)) {
		malformed(p, "%s is not an object", ctx);
		goto out;
	}
	if (get_str(p, j, ctx, "jobId", true, &out->id) < 0 || get_str(p, j, ctx, "jobName", true, &out->name) < 0 ||
	    member(p, j, ctx, "status", cJSON_IsString, "a string", detail, &st) < 0 ||
	    get_str(p, j, ctx, "statusReason", false, &out->status_reason) < 0 ||
	    get_str(p, j, ctx, "jobQueue", false, &out->queue) < 0 ||
	    get_str(p, j, ctx, "jobDefinition", false, &out->definition) < 0)
		goto out;
	if (st)
		out->state = batch_state_parse(st->valuestring);
	if (get_int(p, j, ctx, "createdAt", 0, MS_MAX, &v, &had) < 0)
		goto out;
	out->created_ms = had ? v : 0;
	if (get_int(p, j, ctx, "startedAt", 0, MS_MAX, &v, &had) < 0)
		goto out;
	out->started_ms = had ? v : 0;
	if (get_int(p, j, ctx, "stoppedAt", 0, MS_MAX, &v, &had) < 0)
		goto out;
	out->stopped_ms = had ? v : 0;

	if (member(p, j, ctx, "arrayProperties", cJSON_IsObject, "an object", false, &ap) < 0)
		goto out;
	if (ap) {
		snprintf(sub, sizeof(sub), "%s.arrayProperties", ctx);
		if (get_int(p, ap, sub, "size", 0, ARRAY_MAX, &v, &had) < 0)
			goto out;
		out->array_size = had ? (size_t)v : 0;
		if (get_int(p, ap, sub, "index", 0, ARRAY_MAX - 1, &v, &had) < 0)
			goto out;
		out->array_index = had ? (long)v : -1;
		if (member(p, ap, sub, "statusSummary", cJSON_IsObject, "an object", false, &sum) < 0)
			goto out;
		snprintf(sub, sizeof(sub), "%s.arrayProperties.statusSummary", ctx);
		for (const cJSON *s = sum ? sum->child : NULL; s; s = s->next) {
			enum batch_state k = batch_state_parse(s->string);
			if (get_int(p, sum, sub, s->string, 0, ARRAY_MAX, &v, &had) < 0)
				goto out;
			if (k != BATCH_UNKNOWN)
				out->summary[k] = (size_t)v;
		}
	}

	if (member(p, j, ctx, "container", cJSON_IsObject, "an object", false, &cont) < 0)
		goto out;
	snprintf(sub, sizeof(sub), "%s.container", ctx);
	if (parse_container(p, cont, sub, &jc) < 0)
		goto out;
	if (member(p, j, ctx, "attempts", cJSON_IsArray, "an array", false, &attempts) < 0)
		goto out;
	const cJSON *last = NULL;
	size_t i = 0;
	for (const cJSON *a = attempts ? attempts->child : NULL; a; a = a->next, i++) {
		snprintf(sub, sizeof(sub), "%s.attempts[%zu]", ctx, i);
		if (!cJSON_IsObject(a)) {
			malformed(p, "%s is not an object", sub);
			goto out;
		}
		last = a;
	}
	out->attempts = (unsigned)i;
	if (last) {
		const cJSON *lc;
		char *reason = NULL;
		snprintf(sub, sizeof(sub), "%s.attempts[%zu]", ctx, i - 1);
		if (member(p, last, sub, "container", cJSON_IsObject, "an object", false, &lc) < 0 ||
		    get_str(p, last, sub, "statusReason", false, &reason) < 0)
			goto out;
		if (!out->status_reason)
			out->status_reason = reason;
		else
			free(reason);
		snprintf(sub, sizeof(sub), "%s.attempts[%zu].container", ctx, i - 1);
		if (parse_container(p, lc, sub, &ac) < 0)
			goto out;
		/* a job still running has its attempt in container; one that
		 * ended, its last attempt in attempts */
		if (lc && !batch_state_alive(out->state)) {
			container_free(&jc);
			jc = ac;
			memset(&ac, 0, sizeof(ac));
		}
	}
	out->has_exit_code = jc.has_exit_code;
	out->exit_code = jc.exit_code;
	out->container_reason = jc.reason;
	out->log_stream = jc.log_stream;
	memset(&jc, 0, sizeof(jc));
	ret = 0;
out:
	container_free(&jc);
	container_free(&ac);
	if (ret < 0)
		batch_job_free(out);
	return ret;
}

/* Append the entries of array list (named key in the answer) to *jobs. */
static int parse_jobs(struct parse *p, const cJSON *answer, const char *key, bool detail, enum batch_state state,
		      struct batch_job **jobs, size_t *n, size_t *cap)
{
	const cJSON *list;
	char ctx[64];
	size_t i = 0;
	if (!cJSON_IsObject(answer))
		return malformed(p, "not an object");
	if (member(p, answer, "", key, cJSON_IsArray, "an array", true, &list) < 0)
		return -1;
	for (const cJSON *e = list->child; e; e = e->next, i++) {
		GROW(*jobs, *cap, *n + 1);
		snprintf(ctx, sizeof(ctx), "%s[%zu]", key, i);
		if (parse_job(p, e, ctx, detail, state, &(*jobs)[*n]) < 0)
			return -1;
		(*n)++;
	}
	return 0;
}

/* The answer's nextToken (borrowed; NULL on the last page), -1 if it is
 * not a string or repeats the token asked with. */
static int next_token(struct parse *p, const cJSON *answer, const char *asked, const char **token)
{
	const cJSON *t;
	*token = NULL;
	if (member(p, answer, "", "nextToken", cJSON_IsString, "a string", false, &t) < 0)
		return -1;
	if (t && !*t->valuestring)
		t = NULL;
	if (t && asked && !strcmp(t->valuestring, asked))
		return malformed(p, "nextToken repeats the token asked with");
	*token = t ? t->valuestring : NULL;
	return 0;
}

/* ---- SubmitJob ---- */

static bool job_name_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (!n || n > NAME_MAX_LEN || !isalnum((unsigned char)s[0]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
			return false;
	return true;
}

int batch_submit_check(const struct batch_submit *s, struct aws_error *err)
{
	const char *why = NULL;
	char *owned = NULL;
	int ret = -1;

	if (!s->job_name || !*s->job_name)
		why = "no job name";
	else if (!job_name_ok(s->job_name))
		why = "a job name is 1 to 128 letters, digits, hyphens and underscores, starting with a letter or digit";
	else if (!s->job_queue || !*s->job_queue)
		why = "no job queue";
	else if (!s->job_definition || !*s->job_definition)
		why = "no job definition";
	else if (s->array_size && (s->array_size < ARRAY_MIN || s->array_size > ARRAY_MAX))
		why = owned = xasprintf("array size %zu is not within %d..%d", s->array_size, ARRAY_MIN, ARRAY_MAX);
	else if (s->ndeps > DEPS_MAX)
		why = owned = xasprintf("%zu dependencies: Batch takes at most %d", s->ndeps, DEPS_MAX);
	else if (s->attempts && (s->attempts < 1 || s->attempts > ATTEMPTS_MAX))
		why = owned = xasprintf("%d attempts is not within 1..%d", s->attempts, ATTEMPTS_MAX);
	else if (s->timeout_s && s->timeout_s < TIMEOUT_MIN)
		why = owned = xasprintf("a timeout of %ld s is under Batch's minimum of %d s", s->timeout_s, TIMEOUT_MIN);
	else if (s->vcpus < 0 || s->memory_mib < 0 || s->gpus < 0)
		why = owned = xasprintf("negative resources (vcpus %ld, memory %ld MiB, gpus %ld)", s->vcpus, s->memory_mib,
		                        s->gpus);
	else if (s->ntags > TAGS_MAX)
		why = owned = xasprintf("%zu tags: Batch takes at most %d", s->ntags, TAGS_MAX);
	for (size_t i = 0; !why && i < s->ndeps; i++) {
		const struct batch_dep *d = &s->deps[i];
		if (d->type && strcmp(d->type, "N_TO_N") && strcmp(d->type, "SEQUENTIAL"))
			why = owned = xasprintf("dependency %zu has type '%s', not N_TO_N or SEQUENTIAL", i + 1, d->type);
		else if ((!d->job_id || !*d->job_id) && !(d->type && !strcmp(d->type, "SEQUENTIAL")))
			why = owned = xasprintf("dependency %zu has no job id", i + 1);
		else if (d->type && !s->array_size)
			why = owned = xasprintf("dependency %zu is %s, which needs an array job", i + 1, d->type);
	}
	for (size_t i = 0; !why && s->command && i < s->ncommand; i++)
		if (!s->command[i])
			why = owned = xasprintf("command word %zu is missing", i + 1);
	for (size_t i = 0; !why && i < s->nenv; i++) {
		const char *n = s->env[i].name;
		if (!n || !*n)
			why = owned = xasprintf("environment variable %zu has no name", i + 1);
		else if (!strncmp(n, "AWS_BATCH", 9))
			why = owned = xasprintf("environment variable '%s': names starting with AWS_BATCH are Batch's", n);
	}
	for (size_t i = 0; !why && i < s->ntags; i++) {
		const char *k = s->tags[i].name, *v = s->tags[i].value ? s->tags[i].value : "";
		if (!k || !*k || strlen(k) > TAG_KEY_MAX)
			why = owned = xasprintf("tag %zu: a key is 1 to %d characters", i + 1, TAG_KEY_MAX);
		else if (!strncmp(k, "aws:", 4))
			why = owned = xasprintf("tag '%s': keys starting with aws: are AWS's", k);
		else if (strlen(v) > TAG_VALUE_MAX)
			why = owned = xasprintf("tag '%s': a value is at most %d characters", k, TAG_VALUE_MAX);
	}
	if (why) {
		aws_error_set(err, AWS_ERR_CONFIG, "%s", why);
		if (s->job_name && *s->job_name)
			aws_error_what(err, "submit job", s->job_name);
		else
			aws_error_what(err, "submit job", NULL);
		goto out;
	}
	ret = 0;
out:
	free(owned);
	return ret;
}

static void add_str(cJSON *o, const char *key, const char *v)
{
	if (v)
		xnonnull(cJSON_AddStringToObject(o, key, v));
}

static cJSON *new_obj(void)
{
	return xnonnull(cJSON_CreateObject());
}

static cJSON *add_obj(cJSON *o, const char *key)
{
	return xnonnull(cJSON_AddObjectToObject(o, key));
}

static cJSON *add_arr(cJSON *o, const char *key)
{
	return xnonnull(cJSON_AddArrayToObject(o, key));
}

static void add_num(cJSON *o, const char *key, double v)
{
	xnonnull(cJSON_AddNumberToObject(o, key, v));
}

static void push(cJSON *arr, cJSON *item)
{
	cJSON_AddItemToArray(arr, xnonnull(item));
}

/* {type, value} with the value as a string, as Batch wants it. */
static void add_resource(cJSON *list, const char *type, long v)
{
	char num[32];
	cJSON *r = new_obj();
	snprintf(num, sizeof(num), "%ld", v);
	add_str(r, "type", type);
	add_str(r, "value", num);
	push(list, r);
}

static cJSON *submit_json(const struct batch_submit *s)
{
	cJSON *o = new_obj();
	add_str(o, "jobName", s->job_name);
	add_str(o, "jobQueue", s->job_queue);
	add_str(o, "jobDefinition", s->job_definition);
	if (s->array_size >= ARRAY_MIN)
		add_num(add_obj(o, "arrayProperties"), "size", (double)s->array_size);
	if (s->ndeps) {
		cJSON *deps = add_arr(o, "dependsOn");
		for (size_t i = 0; i < s->ndeps; i++) {
			cJSON *d = new_obj();
			/* a SEQUENTIAL dependency may name no job: each
			 * child then waits for the one before it */
			if (s->deps[i].job_id && *s->deps[i].job_id)
				add_str(d, "jobId", s->deps[i].job_id);
			add_str(d, "type", s->deps[i].type);
			push(deps, d);
		}
	}
	bool command = s->command && s->ncommand;
	if (command || s->nenv || s->vcpus > 0 || s->memory_mib > 0 || s->gpus > 0) {
		cJSON *co = add_obj(o, "containerOverrides");
		if (command) {
			cJSON *c = add_arr(co, "command");
			for (size_t i = 0; i < s->ncommand; i++)
				if (s->command[i])
					push(c, cJSON_CreateString(s->command[i]));
		}
		if (s->nenv) {
			cJSON *env = add_arr(co, "environment");
			for (size_t i = 0; i < s->nenv; i++) {
				cJSON *kv = new_obj();
				add_str(kv, "name", s->env[i].name);
				add_str(kv, "value", s->env[i].value ? s->env[i].value : "");
				push(env, kv);
			}
		}
		if (s->vcpus > 0 || s->memory_mib > 0 || s->gpus > 0) {
			cJSON *rr = add_arr(co, "resourceRequirements");
			if (s->vcpus > 0)
				add_resource(rr, "VCPU", s->vcpus);
			if (s->memory_mib > 0)
				add_resource(rr, "MEMORY", s->memory_mib);
			if (s->gpus > 0)
				add_resource(rr, "GPU", s->gpus);
		}
	}
	if (s->timeout_s > 0)
		add_num(add_obj(o, "timeout"), "attemptDurationSeconds", (double)s->timeout_s);
	if (s->attempts > 0) {
		cJSON *rs = add_obj(o, "retryStrategy");
		add_num(rs, "attempts", s->attempts);
		cJSON *ev = add_arr(rs, "evaluateOnExit");
		/* a host that went away (a spot reclaim) is tried again; any
		 * other end of an attempt is final, whatever attempts allows */
		cJSON *retry = new_obj();
		add_str(retry, "onStatusReason", "Host EC2*");
		add_str(retry, "action", "RETRY");
		push(ev, retry);
		cJSON *exit_ = new_obj();
		add_str(exit_, "onReason", "*");
		add_str(exit_, "action", "EXIT");
		push(ev, exit_);
	}
	if (s->ntags) {
		cJSON *tags = add_obj(o, "tags");
		for (size_t i = 0; i < s->ntags; i++)
			if (s->tags[i].name)
				add_str(tags, s->tags[i].name, s->tags[i].value ? s->tags[i].value : "");
	}
	if (s->propagate_tags)
		xnonnull(cJSON_AddTrueToObject(o, "propagateTags"));
	return o;
}

char *batch_submit_body(const struct batch_submit *s)
{
	cJSON *o = submit_json(s);
	char *text = xnonnull(cJSON_PrintUnformatted(o));
	cJSON_Delete(o);
	return text;
}

int batch_submit_job(struct batch *b, const struct batch_submit *s, char **job_id, struct aws_error *err)
{
	cJSON *body = NULL, *answer = NULL;
	char *what = NULL;
	int ret = -1;
	*job_id = NULL;
	if (batch_submit_check(s, err) < 0)
		return -1;
	what = xasprintf("submit job '%s'", s->job_name);
	body = submit_json(s);
	if (call(b, "SubmitJob", body, what, s->job_name, &answer, err) < 0)
		goto out;
	struct parse p = {"SubmitJob", what, err};
	if (!cJSON_IsObject(answer)) {
		malformed(&p, "not an object");
		goto out;
	}
	if (get_str(&p, answer, "", "jobId", true, job_id) < 0)
		goto out;
	if (!**job_id) {
		free(*job_id);
		*job_id = NULL;
		malformed(&p, "jobId is empty");
		goto out;
	}
	ret = 0;
out:
	cJSON_Delete(body);
	cJSON_Delete(answer);
	free(what);
	return ret;
}

/* ---- DescribeJobs, ListJobs ---- */

int batch_describe_jobs(struct batch *b, const char *const *ids, size_t n, struct batch_job **out, size_t *n_out,
			struct aws_error *err)
{
	struct batch_job *jobs = NULL;
	size_t njobs = 0, cap = 0;
	char *what = n == 1 ? xasprintf("describe job '%s'", ids[0] ? ids[0] : "")
	                    : xasprintf("describe jobs (%zu ids)", n);
	int ret = -1;
	*out = NULL;
	*n_out = 0;
	for (size_t i = 0; i < n; i++)
		if (!ids[i] || !*ids[i]) {
			aws_error_set(err, AWS_ERR_CONFIG, "job id %zu is empty", i + 1);
			aws_error_what(err, what, NULL);
			goto out;
		}
	for (size_t at = 0; at < n; at += DESCRIBE_MAX) {
		size_t k = n - at < DESCRIBE_MAX ? n - at : DESCRIBE_MAX;
		cJSON *body = new_obj(), *answer = NULL;
		cJSON *list = add_arr(body, "jobs");
		for (size_t i = 0; i < k; i++)
			push(list, cJSON_CreateString(ids[at + i]));
		int r = call(b, "DescribeJobs", body, what, n == 1 ? ids[0] : NULL, &answer, err);
		struct parse p = {"DescribeJobs", what, err};
		if (r == 0)
			r = parse_jobs(&p, answer, "jobs", true, BATCH_UNKNOWN, &jobs, &njobs, &cap);
		cJSON_Delete(body);
		cJSON_Delete(answer);
		if (r < 0)
			goto out;
	}
	*out = jobs;
	*n_out = njobs;
	jobs = NULL;
	ret = 0;
out:
	batch_jobs_free(jobs, njobs);
	free(what);
	return ret;
}

/* Every page of one listing (state BATCH_UNKNOWN: no jobStatus) into
 * *jobs. */
static int list_pages(struct batch *b, const struct batch_list *l, enum batch_state state, const char *what,
		      const char *object, struct batch_job **jobs, size_t *n, size_t *cap, struct aws_error *err)
{
	char *token = NULL;
	int ret = -1;
	struct parse p = {"ListJobs", what, err};
	do {
		cJSON *body = new_obj(), *answer = NULL;
		const char *next = NULL;
		if (l->name_filter) {
			add_str(body, "jobQueue", l->queue);
			cJSON *f = new_obj();
			add_str(f, "name", "JOB_NAME");
			push(add_arr(f, "values"), cJSON_CreateString(l->name_filter));
			push(add_arr(body, "filters"), f);
		} else if (l->array_job_id) {
			add_str(body, "arrayJobId", l->array_job_id);
		} else {
			add_str(body, "jobQueue", l->queue);
		}
		if (state != BATCH_UNKNOWN)
			add_str(body, "jobStatus", batch_state_name(state));
		add_num(body, "maxResults", LIST_MAX);
		add_str(body, "nextToken", token);
		int r = call(b, "ListJobs", body, what, object, &answer, err);
		if (r == 0)
			r = parse_jobs(&p, answer, "jobSummaryList", false, state, jobs, n, cap);
		if (r == 0)
			r = next_token(&p, answer, token, &next);
		free(token);
		token = next ? xstrdup(next) : NULL;
		cJSON_Delete(body);
		cJSON_Delete(answer);
		if (r < 0)
			goto out;
	} while (token);
	ret = 0;
out:
	free(token);
	return ret;
}

int batch_list_jobs(struct batch *b, const struct batch_list *l, struct batch_job **out, size_t *n_out,
		    struct aws_error *err)
{
	struct batch_job *jobs = NULL;
	size_t njobs = 0, cap = 0;
	char *what;
	const char *object;
	int ret = -1;
	*out = NULL;
	*n_out = 0;
	if (l->array_job_id && !l->name_filter) {
		object = l->array_job_id;
		what = xasprintf("list the children of job '%s'", object);
	} else {
		object = l->queue;
		what = xasprintf("list jobs of queue '%s'", object ? object : "");
	}
	if (!l->array_job_id && (!l->queue || !*l->queue)) {
		aws_error_set(err, AWS_ERR_CONFIG, "neither a job queue nor an array job");
		aws_error_what(err, "list jobs", NULL);
		goto out;
	}
	if (l->array_job_id && !*l->array_job_id) {
		aws_error_set(err, AWS_ERR_CONFIG, "the array job id is empty");
		aws_error_what(err, what, NULL);
		goto out;
	}
	if (l->name_filter || l->state != BATCH_UNKNOWN) {
		/* Batch ignores jobStatus with a filter: every state at once */
		if (list_pages(b, l, l->name_filter ? BATCH_UNKNOWN : l->state, what, object, &jobs, &njobs, &cap, err) < 0)
			goto out;
	} else {
		/* without jobStatus ListJobs gives RUNNING jobs only */
		for (int s = 0; s < BATCH_NSTATES; s++)
			if (list_pages(b, l, (enum batch_state)s, what, object, &jobs, &njobs, &cap, err) < 0)
				goto out;
	}
	*out = jobs;
	*n_out = njobs;
	jobs = NULL;
	ret = 0;
out:
	batch_jobs_free(jobs, njobs);
	free(what);
	return ret;
}

/* ---- TerminateJob, CancelJob ---- */

static int stop_job(struct batch *b, const char *op, const char *verb, const char *job_id, const char *reason,
		    struct aws_error *err)
{
	cJSON *body = NULL, *answer = NULL;
	char *what = xasprintf("%s job '%s'", verb, job_id ? job_id : "");
	int ret = -1;
	if (!job_id || !*job_id || !reason || !*reason) {
		aws_error_set(err, AWS_ERR_CONFIG, "%s", !job_id || !*job_id ? "no job id" : "Batch needs a reason");
		aws_error_what(err, what, NULL);
		goto out;
	}
	body = new_obj();
	add_str(body, "jobId", job_id);
	add_str(body, "reason", reason);
	if (call(b, op, body, what, job_id, &answer, err) < 0)
		goto out;
	ret = 0;
out:
	cJSON_Delete(body);
	cJSON_Delete(answer);
	free(what);
	return ret;
}

int batch_terminate_job(struct batch *b, const char *job_id, const char *reason, struct aws_error *err)
{
	return stop_job(b, "TerminateJob", "terminate", job_id, reason, err);
}

int batch_cancel_job(struct batch *b, const char *job_id, const char *reason, struct aws_error *err)
{
	return stop_job(b, "CancelJob", "cancel", job_id, reason, err);
}

/* ---- job definitions ---- */

int batch_describe_job_definition(struct batch *b, const char *name, cJSON **def, struct aws_error *err)
{
	char *what = xasprintf("describe job definition '%s'", name ? name : "");
	char *token = NULL;
	cJSON *best = NULL;
	double best_rev = -1;
	int ret = -1;
	/* "name:3" or an ARN names revisions; a bare name, its ACTIVE ones */
	bool bare = name && !strchr(name, ':');
	struct parse p = {"DescribeJobDefinitions", what, err};
	*def = NULL;
	if (!name || !*name) {
		aws_error_set(err, AWS_ERR_CONFIG, "no job definition name");
		aws_error_what(err, what, NULL);
		goto out;
	}
	do {
		cJSON *body = new_obj(), *answer = NULL;
		const cJSON *list = NULL;
		const char *next = NULL;
		if (bare) {
			add_str(body, "jobDefinitionName", name);
			add_str(body, "status", "ACTIVE");
		} else {
			push(add_arr(body, "jobDefinitions"), cJSON_CreateString(name));
		}
		add_num(body, "maxResults", DEFINITIONS_MAX);
		add_str(body, "nextToken", token);
		int r = call(b, "DescribeJobDefinitions", body, what, name, &answer, err);
		if (r == 0 && !cJSON_IsObject(answer))
			r = malformed(&p, "not an object");
		if (r == 0)
			r = member(&p, answer, "", "jobDefinitions", cJSON_IsArray, "an array", true, &list);
		size_t i = 0;
		for (cJSON *e = r == 0 ? list->child : NULL; e; e = e->next, i++) {
			char ctx[48];
			const cJSON *rev, *st, *dn;
			snprintf(ctx, sizeof(ctx), "jobDefinitions[%zu]", i);
			if (!cJSON_IsObject(e)) {
				r = malformed(&p, "%s is not an object", ctx);
				break;
			}
			if ((r = member(&p, e, ctx, "revision", cJSON_IsNumber, "a number", true, &rev)) < 0 ||
			    (r = member(&p, e, ctx, "status", cJSON_IsString, "a string", false, &st)) < 0 ||
			    (r = member(&p, e, ctx, "jobDefinitionName", cJSON_IsString, "a string", true, &dn)) < 0)
				break;
			if (bare && (strcmp(dn->valuestring, name) || (st && strcmp(st->valuestring, "ACTIVE"))))
				continue;
			if (rev->valuedouble > best_rev) {
				cJSON_Delete(best);
				best = xnonnull(cJSON_Duplicate(e, 1));
				best_rev = rev->valuedouble;
			}
		}
		if (r == 0)
			r = next_token(&p, answer, token, &next);
		free(token);
		token = next ? xstrdup(next) : NULL;
		cJSON_Delete(body);
		cJSON_Delete(answer);
		if (r < 0)
			goto out;
	} while (token);
	*def = best;
	best = NULL;
	ret = 0;
out:
	cJSON_Delete(best);
	free(token);
	free(what);
	return ret;
}

int batch_register_job_definition(struct batch *b, const cJSON *body, char **arn, struct aws_error *err)
{
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(body, "jobDefinitionName");
	const char *name = cJSON_IsString(n) ? n->valuestring : NULL;
	char *what = xasprintf("register job definition '%s'", name ? name : "");
	cJSON *answer = NULL;
	int ret = -1;
	struct parse p = {"RegisterJobDefinition", what, err};
	*arn = NULL;
	if (!cJSON_IsObject(body) || !name || !*name) {
		aws_error_set(err, AWS_ERR_CONFIG, "the definition has no jobDefinitionName");
		aws_error_what(err, "register job definition", NULL);
		goto out;
	}
	if (call(b, "RegisterJobDefinition", body, what, name, &answer, err) < 0)
		goto out;
	if (!cJSON_IsObject(answer)) {
		malformed(&p, "not an object");
		goto out;
	}
	if (get_str(&p, answer, "", "jobDefinitionArn", true, arn) < 0)
		goto out;
	ret = 0;
out:
	cJSON_Delete(answer);
	free(what);
	return ret;
}

cJSON *batch_definition_derive(const cJSON *def, const char *name, const char *image)
{
	/* what DescribeJobDefinitions says about a revision that
	 * RegisterJobDefinition does not take */
	static const char *const echoed[] = {
		"jobDefinitionArn", "revision", "status", "containerOrchestrationType",
	};
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(def, "type");
	const cJSON *cp = cJSON_GetObjectItemCaseSensitive(def, "containerProperties");
	const cJSON *old = cJSON_GetObjectItemCaseSensitive(def, "jobDefinitionName");
	if (!cJSON_IsObject(def) || !cJSON_IsString(type) || strcmp(type->valuestring, "container") ||
	    !cJSON_IsObject(cp))
		return NULL;
	if (!name)
		name = cJSON_IsString(old) ? old->valuestring : NULL;
	if (!name)
		return NULL;
	cJSON *o = new_obj();
	add_str(o, "jobDefinitionName", name);
	for (const cJSON *m = def->child; m; m = m->next) {
		bool skip = !m->string || !strcmp(m->string, "jobDefinitionName");
		for (size_t i = 0; !skip && i < ARRAY_LEN(echoed); i++)
			skip = !strcmp(m->string, echoed[i]);
		if (skip)
			continue;
		cJSON *copy = xnonnull(cJSON_Duplicate(m, 1));
		if (!strcmp(m->string, "containerProperties") && image) {
			if (cJSON_GetObjectItemCaseSensitive(copy, "image"))
				cJSON_ReplaceItemInObjectCaseSensitive(copy, "image", xnonnull(cJSON_CreateString(image)));
			else
				add_str(copy, "image", image);
		} else if (!strcmp(m->string, "tags") && cJSON_IsObject(copy)) {
			/* CloudFormation's aws:cloudformation:* tags are
			 * AWS's own: RegisterJobDefinition refuses them */
			for (cJSON *t = copy->child, *after; t; t = after) {
				after = t->next;
				if (t->string && !strncmp(t->string, "aws:", 4))
					cJSON_Delete(cJSON_DetachItemViaPointer(copy, t));
			}
			if (!copy->child) {
				cJSON_Delete(copy);
				continue;
			}
		}
		cJSON_AddItemToObject(o, m->string, copy);
	}
	return o;
}
