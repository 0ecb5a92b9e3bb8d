/* sentinel_body.c - encode and parse sentinel bodies (sentinel_body.h),
 * both with cJSON. */
#include "runner/sentinel_body.h"
#include "lib/util.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

void sentinel_body_init(struct sentinel_body *b, enum sentinel_state st)
{
	memset(b, 0, sizeof(*b));
	b->schema = 1;
	b->state = st;
	b->duration_s = -1;
	b->array_index = b->attempt = b->pid = -1;
}

/* ---- encoding ---- */

/* Every add remembers a failed allocation in *bad (see runner/spec.c). */
static cJSON *add(bool *bad, cJSON *o, const char *name, cJSON *item)
{
	bool ok = item && o && (name ? cJSON_AddItemToObject(o, name, item) : cJSON_AddItemToArray(o, item));
	if (!ok) {
		cJSON_Delete(item);
		*bad = true;
		return NULL;
	}
	return item;
}

static cJSON *str(const char *s)
{
	return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

static cJSON *num_or_null(bool has, double v)
{
	return has ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

static void add_pairs(bool *bad, cJSON *o, const char *name, const struct sentinel_pair *p, size_t n)
{
	cJSON *obj = add(bad, o, name, cJSON_CreateObject());
	for (size_t i = 0; i < n && obj; i++)
		add(bad, obj, p[i].name, str(p[i].value));
}

static void add_files(bool *bad, cJSON *j, const struct sentinel_body *b)
{
	cJSON *a = add(bad, j, "inputs", cJSON_CreateArray());
	for (size_t i = 0; i < b->ninputs && a; i++) {
		const struct sentinel_input *in = &b->inputs[i];
		cJSON *o = add(bad, a, NULL, cJSON_CreateObject());
		add(bad, o, "name", str(in->name));
		add(bad, o, "uri", str(in->uri));
		add(bad, o, "fingerprint", str(in->fingerprint));
		add(bad, o, "present", cJSON_CreateBool(in->present));
	}
	a = add(bad, j, "outputs", cJSON_CreateArray());
	for (size_t i = 0; i < b->noutputs && a; i++) {
		const struct sentinel_output *out = &b->outputs[i];
		cJSON *o = add(bad, a, NULL, cJSON_CreateObject());
		add(bad, o, "name", str(out->name));
		add(bad, o, "path", str(out->path));
		add(bad, o, "uri", str(out->uri));
		add(bad, o, "size", cJSON_CreateNumber((double)out->size));
		add(bad, o, "xxh3", str(out->xxh3));
		if (out->etag)
			add(bad, o, "etag", str(out->etag));
	}
}

char *sentinel_body_encode(const struct sentinel_body *b, size_t *len)
{
	bool bad = false;
	cJSON *j = cJSON_CreateObject();
	add(&bad, j, "schema", cJSON_CreateNumber(b->schema));
	add(&bad, j, "state", str(sentinel_state_name(b->state)));
	add(&bad, j, "target", str(b->target));
	add_pairs(&bad, j, "wildcards", b->wildcards, b->nwildcards);
	add(&bad, j, "key", str(b->key));
	if (b->has_components)
		add_pairs(&bad, j, "components", b->components, b->ncomponents);
	else
		add(&bad, j, "components", cJSON_CreateNull());
	cJSON *a = add(&bad, j, "command", cJSON_CreateArray());
	for (size_t i = 0; i < b->ncommand && a; i++)
		add(&bad, a, NULL, str(b->command[i]));
	cJSON *img = add(&bad, j, "image", cJSON_CreateObject());
	add(&bad, img, "requested", str(b->image));
	add(&bad, img, "digest", str(b->image_digest));
	add_files(&bad, j, b);
	add(&bad, j, "exit_code", num_or_null(b->has_exit_code, b->exit_code));
	add(&bad, j, "signal", num_or_null(b->signal != 0, b->signal));
	add(&bad, j, "reason", str(b->reason));
	add(&bad, j, "started", str(b->started[0] ? b->started : NULL));
	add(&bad, j, "ended", str(b->ended[0] ? b->ended : NULL));
	add(&bad, j, "duration_s", num_or_null(b->duration_s >= 0, b->duration_s));
	add(&bad, j, "batch_job_id", str(b->batch_job_id));
	add(&bad, j, "array_index", num_or_null(b->array_index >= 0, (double)b->array_index));
	add(&bad, j, "attempt", num_or_null(b->attempt >= 0, (double)b->attempt));
	add(&bad, j, "instance_type", str(b->instance_type));
	add(&bad, j, "host", str(b->host));
	add(&bad, j, "pid", num_or_null(b->pid >= 0, (double)b->pid));
	add(&bad, j, "rapid_version", str(b->rapid_version));
	add(&bad, j, "log", str(b->log));
	char *text = j && !bad ? cJSON_PrintUnformatted(j) : NULL;
	cJSON_Delete(j);
	if (!text) {
		*len = 0;
		return NULL;
	}
	/* one line feed at the end, as text files have */
	size_t n = strlen(text);
	char *t = realloc(text, n + 2);
	if (!t) {
		free(text);
		*len = 0;
		return NULL;
	}
	t[n] = '\n';
	t[n + 1] = 0;
	*len = n + 1;
	return t;
}

/* ---- parsing ---- */

static const cJSON *get(const cJSON *o, const char *name)
{
	return cJSON_GetObjectItemCaseSensitive(o, name);
}

/* The string member, copied into the arena; NULL when absent or not a string. */
static const char *get_str(struct arena *A, const cJSON *o, const char *name)
{
	const cJSON *it = get(o, name);
	return cJSON_IsString(it) && it->valuestring ? arena_strdup(A, it->valuestring) : NULL;
}

/* A whole number in [lo, hi]; false when absent or not one. */
static bool get_long(const cJSON *o, const char *name, double lo, double hi, long *out)
{
	const cJSON *it = get(o, name);
	if (!cJSON_IsNumber(it) || !(it->valuedouble >= lo && it->valuedouble <= hi) ||
	    it->valuedouble != (double)(long)it->valuedouble)
		return false;
	*out = (long)it->valuedouble;
	return true;
}

static void get_time(const cJSON *o, const char *name, char out[32])
{
	const cJSON *it = get(o, name);
	out[0] = 0;
	if (cJSON_IsString(it) && it->valuestring && strlen(it->valuestring) < 32)
		strcpy(out, it->valuestring);
}

/* An object of strings into pairs (members of another type skipped). */
static size_t get_pairs(struct arena *A, const cJSON *obj, struct sentinel_pair **out)
{
	size_t n = 0;
	*out = arena_alloc(A, ((size_t)cJSON_GetArraySize(obj) + 1) * sizeof(**out));
	const cJSON *it;
	cJSON_ArrayForEach(it, obj) {
		if (!it->string || !cJSON_IsString(it))
			continue;
		(*out)[n].name = arena_strdup(A, it->string);
		(*out)[n].value = arena_strdup(A, it->valuestring);
		n++;
	}
	return n;
}

static void parse_files(struct sentinel_body *b, const cJSON *j)
{
	struct arena *A = b->arena;
	const cJSON *a = get(j, "inputs"), *it;
	if (cJSON_IsArray(a)) {
		b->inputs = arena_alloc(A, ((size_t)cJSON_GetArraySize(a) + 1) * sizeof(*b->inputs));
		cJSON_ArrayForEach(it, a) {
			if (!cJSON_IsObject(it))
				continue;
			struct sentinel_input *in = &b->inputs[b->ninputs++];
			in->name = get_str(A, it, "name");
			in->uri = get_str(A, it, "uri");
			in->fingerprint = get_str(A, it, "fingerprint");
			in->present = !cJSON_IsFalse(get(it, "present"));
		}
	}
	a = get(j, "outputs");
	if (cJSON_IsArray(a)) {
		b->outputs = arena_alloc(A, ((size_t)cJSON_GetArraySize(a) + 1) * sizeof(*b->outputs));
		cJSON_ArrayForEach(it, a) {
			if (!cJSON_IsObject(it))
				continue;
			struct sentinel_output *out = &b->outputs[b->noutputs++];
			memset(out, 0, sizeof(*out));
			out->name = get_str(A, it, "name");
			out->path = get_str(A, it, "path");
			out->uri = get_str(A, it, "uri");
			const cJSON *sz = get(it, "size");
			if (cJSON_IsNumber(sz) && sz->valuedouble >= 0 && sz->valuedouble < 1.8e19)
				out->size = (uint64_t)sz->valuedouble;
			const char *x = get_str(A, it, "xxh3");
			if (x && strlen(x) == 32)
				memcpy(out->xxh3, x, 33);
			out->etag = get_str(A, it, "etag");
		}
	}
}

struct sentinel_body *sentinel_body_parse(const char *text, size_t len, char **err)
{
	*err = NULL;
	cJSON *j = cJSON_ParseWithLength(text, len);
	if (!cJSON_IsObject(j)) {
		*err = xstrdup(j ? "not a JSON object" : "not valid JSON");
		cJSON_Delete(j);
		return NULL;
	}
	long schema = 1;
	if (get(j, "schema") && (!get_long(j, "schema", 0, 1e9, &schema) || schema != 1)) {
		*err = xstrdup("unsupported 'schema' (this rapid reads schema 1)");
		cJSON_Delete(j);
		return NULL;
	}
	struct sentinel_body *b = xcalloc(1, sizeof(*b));
	enum sentinel_state st = SENT_FAILED;
	const cJSON *it = get(j, "state");
	if (cJSON_IsString(it))
		sentinel_state_parse(it->valuestring, &st);
	sentinel_body_init(b, st);
	struct arena *A = b->arena = arena_new();
	b->target = get_str(A, j, "target");
	if ((it = get(j, "wildcards")) && cJSON_IsObject(it))
		b->nwildcards = get_pairs(A, it, &b->wildcards);
	const char *key = get_str(A, j, "key");
	if (key && strlen(key) == 32)
		memcpy(b->key, key, 33);
	if ((it = get(j, "components")) && cJSON_IsObject(it)) {
		b->has_components = true;
		b->ncomponents = get_pairs(A, it, &b->components);
	}
	if ((it = get(j, "command")) && cJSON_IsArray(it)) {
		b->command = arena_alloc(A, ((size_t)cJSON_GetArraySize(it) + 1) * sizeof(*b->command));
		const cJSON *w;
		cJSON_ArrayForEach(w, it)
			if (cJSON_IsString(w))
				b->command[b->ncommand++] = arena_strdup(A, w->valuestring);
	}
	if ((it = get(j, "image")) && cJSON_IsObject(it)) {
		b->image = get_str(A, it, "requested");
		b->image_digest = get_str(A, it, "digest");
	}
	parse_files(b, j);
	long v;
	/* A process's exit status is 0..255 and a signal 1..127 (what a wait
	 * status can hold); anything else is a hand's or a disk's, and null:
	 * a reader may negate or index by them. */
	if (get_long(j, "exit_code", 0, 255, &v)) {
		b->has_exit_code = true;
		b->exit_code = (int)v;
	}
	if (get_long(j, "signal", 1, 127, &v))
		b->signal = (int)v;
	b->reason = get_str(A, j, "reason");
	get_time(j, "started", b->started);
	get_time(j, "ended", b->ended);
	if ((it = get(j, "duration_s")) && cJSON_IsNumber(it) && it->valuedouble >= 0)
		b->duration_s = it->valuedouble;
	b->batch_job_id = get_str(A, j, "batch_job_id");
	get_long(j, "array_index", 0, 1e9, &b->array_index);
	get_long(j, "attempt", 0, 1e9, &b->attempt);
	b->instance_type = get_str(A, j, "instance_type");
	b->host = get_str(A, j, "host");
	get_long(j, "pid", 0, 4294967295.0, &b->pid);
	b->rapid_version = get_str(A, j, "rapid_version");
	b->log = get_str(A, j, "log");
	cJSON_Delete(j);
	return b;
}

void sentinel_body_free(struct sentinel_body *b)
{
	if (!b)
		return;
	arena_free(b->arena);
	free(b);
}
