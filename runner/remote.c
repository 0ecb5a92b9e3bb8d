/* remote.c - the runner's S3 clients and the input credentials
 * (remote.h). */
#include "runner/remote.h"
#include "aws/creds.h"
#include "aws/s3.h"
#include "aws/service.h"
#include "lib/util.h"
#include "runner/spec.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *input_profile;

struct remote {
	struct s3_client *def, *in;
	char **in_buckets; /* the input buckets, when in is set */
	size_t nin;
};

void remote_set_input_profile(const char *name)
{
	input_profile = name;
}

static bool is_s3(const char *p)
{
	return p && !strncmp(p, "s3://", 5);
}

bool remote_needed(const struct spec *s)
{
	if (is_s3(s->root))
		return true;
	for (size_t i = 0; i < s->ninputs; i++) {
		if (is_s3(s->inputs[i].path))
			return true;
		for (size_t k = 0; k < s->inputs[i].ngathered; k++)
			if (is_s3(s->inputs[i].gathered[k].path))
				return true;
	}
	for (size_t i = 0; i < s->noutputs; i++)
		if (is_s3(s->outputs[i].path))
			return true;
	return false;
}

/* The bucket of an s3:// URI (malloc'd), or NULL. */
static char *bucket_of(const char *uri)
{
	char *b = NULL, *k = NULL;
	if (!is_s3(uri) || s3_uri_split(uri, &b, &k) < 0)
		return NULL;
	free(k);
	return b;
}

static bool listed(char *const *v, size_t n, const char *b)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i], b))
			return true;
	return false;
}

static void add_bucket(char ***v, size_t *n, const char *uri)
{
	char *b = bucket_of(uri);
	if (!b || listed(*v, *n, b)) {
		free(b);
		return;
	}
	*v = xreallocarray(*v, *n + 1, sizeof(char *));
	(*v)[(*n)++] = b;
}

static void free_strs(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Zero a string in place (a secret) before it is freed. */
static void wipe(char *s)
{
	if (s) {
		volatile char *p = s;
		while (*p)
			*p++ = 0;
	}
}

/* The key pair of the secret named arn, into *out. 0, or -1 with *reason. */
static int fetch_secret(const char *arn, struct aws_creds *out, char **reason)
{
	struct aws_error e = {0};
	cJSON *ans = NULL, *inner = NULL;
	char *what = xasprintf("get secret '%s'", arn), *body = NULL;
	int ret = -1;
	struct aws_service *sm = aws_service_new("Secrets Manager", "secretsmanager", NULL, &e);
	if (!sm)
		goto aws_fail;
	cJSON *q = cJSON_CreateObject();
	cJSON_AddStringToObject(q, "SecretId", arn);
	body = cJSON_PrintUnformatted(q);
	cJSON_Delete(q);
	if (!body) {
		*reason = xasprintf("cannot %s: out of memory", what);
		goto out;
	}
	if (aws_json_call(sm, "secretsmanager.GetSecretValue", body, what, &ans, &e) < 0)
		goto aws_fail;
	const cJSON *ss = cJSON_GetObjectItemCaseSensitive(ans, "SecretString");
	if (!cJSON_IsString(ss)) {
		*reason = xasprintf("cannot use secret '%s': it has no SecretString", arn);
		goto out;
	}
	inner = cJSON_Parse(ss->valuestring);
	wipe(ss->valuestring);
	const cJSON *ib = cJSON_GetObjectItemCaseSensitive(inner, "IBS3SECRET");
	const char *colon = cJSON_IsString(ib) ? strchr(ib->valuestring, ':') : NULL;
	if (!colon || colon == ib->valuestring || !colon[1]) {
		*reason = xasprintf("cannot use secret '%s': its SecretString is not "
				    "{\"IBS3SECRET\":\"KEY:SECRET\"}", arn);
		goto out;
	}
	out->access_key_id = xstrndup(ib->valuestring, (size_t)(colon - ib->valuestring));
	out->secret_access_key = xstrdup(colon + 1);
	out->session_token = NULL;
	out->expiration = 0;
	out->source = xasprintf("secret '%s'", arn);
	ret = 0;
	goto out;
aws_fail:
	*reason = aws_error_format(&e);
out:
	if (inner) {
		const cJSON *ib2 = cJSON_GetObjectItemCaseSensitive(inner, "IBS3SECRET");
		if (cJSON_IsString(ib2))
			wipe(ib2->valuestring);
	}
	cJSON_Delete(inner);
	cJSON_Delete(ans);
	aws_error_clear(&e);
	aws_service_free(sm);
	free(body);
	free(what);
	return ret;
}

/* The secret's key pair, fetched once per process: a Batch child runs
 * all of its participant's instances in one. */
static struct aws_creds secret_creds;
static char *secret_arn;

/* fetch_secret, or a copy of what it gave for arn before. */
static int secret_get(const char *arn, struct aws_creds *out, char **reason)
{
	if (!secret_arn || strcmp(secret_arn, arn)) {
		struct aws_creds cr = {0};
		if (fetch_secret(arn, &cr, reason) < 0)
			return -1;
		aws_creds_free(&secret_creds);
		free(secret_arn);
		secret_creds = cr;
		secret_arn = xstrdup(arn);
	}
	aws_creds_copy(out, &secret_creds);
	return 0;
}

static struct s3_client *client_new(const char *profile, const struct aws_creds *creds, char **reason)
{
	struct s3_client_config cfg = {.profile = profile, .creds = creds};
	const char *t = getenv("RAPID_MULTIPART_THRESHOLD");
	if (t && *t) {
		char *end;
		errno = 0;
		unsigned long long v = strtoull(t, &end, 10);
		if (!errno && !*end && v > 0)
			cfg.multipart_threshold = v;
	}
	struct aws_error e = {0};
	struct s3_client *c = s3_client_new(&cfg, &e);
	if (!c) {
		char *m = aws_error_format(&e);
		*reason = aws_error_isset(&e) && e.what ? m : xasprintf("cannot use S3: %s", m);
		if (*reason != m)
			free(m);
	}
	aws_error_clear(&e);
	return c;
}

struct remote *remote_open(const struct spec *s, char **reason)
{
	struct remote *r = xcalloc(1, sizeof(*r));
	char **written = NULL, **read = NULL;
	size_t nw = 0, nr = 0;
	add_bucket(&written, &nw, s->root);
	for (size_t i = 0; i < s->noutputs; i++)
		add_bucket(&written, &nw, s->outputs[i].path);
	/* Another target's outputs (an input whose fingerprint is its key,
	 * every gathered entry) are in a bucket the Rapidfile writes. */
	for (size_t i = 0; i < s->ninputs; i++) {
		const struct spec_input *in = &s->inputs[i];
		bool upstream = in->fingerprint && !strncmp(in->fingerprint, "key=", 4);
		add_bucket(upstream ? &written : &read, upstream ? &nw : &nr, in->path);
		for (size_t k = 0; k < in->ngathered; k++)
			add_bucket(&written, &nw, in->gathered[k].path);
	}
	for (size_t i = 0; i < nr; i++)
		if (!listed(written, nw, read[i])) {
			r->in_buckets = xreallocarray(r->in_buckets, r->nin + 1, sizeof(char *));
			r->in_buckets[r->nin++] = xstrdup(read[i]);
		}
	free_strs(written, nw);
	free_strs(read, nr);
	if (!(r->def = client_new(NULL, NULL, reason)))
		goto fail;
	const char *arn = getenv("RAPID_INPUT_SECRET_ARN");
	if (r->nin && arn && *arn) {
		struct aws_creds cr = {0};
		if (secret_get(arn, &cr, reason) < 0)
			goto fail;
		r->in = client_new(input_profile, &cr, reason);
		aws_creds_free(&cr);
		if (!r->in)
			goto fail;
	} else if (r->nin && input_profile) {
		if (!(r->in = client_new(input_profile, NULL, reason)))
			goto fail;
	}
	return r;
fail:
	remote_close(r);
	return NULL;
}

void remote_close(struct remote *r)
{
	if (!r)
		return;
	s3_client_free(r->def);
	s3_client_free(r->in);
	free_strs(r->in_buckets, r->nin);
	free(r);
}

bool remote_is_input_bucket(const struct remote *r, const char *bucket)
{
	return r->in && listed(r->in_buckets, r->nin, bucket);
}

struct s3_client *remote_client(struct remote *r, const char *bucket)
{
	return remote_is_input_bucket(r, bucket) ? r->in : r->def;
}

struct s3_client *remote_default(struct remote *r)
{
	return r->def;
}
