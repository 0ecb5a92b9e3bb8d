/* upload.c - outputs and logs to S3 (upload.h). */
#include "runner/upload.h"
#include "aws/s3.h"
#include "lib/util.h"
#include "runner/outputs.h"
#include "runner/remote.h"
#include "runner/spec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lkeys {
	char **v;
	size_t n;
};

static int on_key(void *ctx, const struct s3_object *o)
{
	struct lkeys *k = ctx;
	k->v = xreallocarray(k->v, k->n + 1, sizeof(char *));
	k->v[k->n++] = xstrdup(o->key);
	return 0;
}

static char *fail_with(const struct aws_error *e)
{
	return aws_error_format(e);
}

/* Delete what is under a folder output's prefix and not uploaded now. */
static int replace_folder(struct s3_client *c, const char *bucket, const char *prefix, char *const *keys,
			  size_t nkeys, char **reason)
{
	struct lkeys k = {0};
	struct s3_list_opts lo = {.prefix = prefix};
	struct aws_error e = {0};
	int ret = 0;
	if (s3_list(c, bucket, &lo, on_key, NULL, &k, NULL, &e) < 0) {
		*reason = fail_with(&e);
		aws_error_clear(&e);
		ret = -1;
		goto out;
	}
	struct s3_op *ops = xcalloc(k.n + 1, sizeof(*ops));
	size_t n = 0;
	for (size_t i = 0; i < k.n; i++) {
		bool keep = false;
		for (size_t j = 0; j < nkeys && !keep; j++)
			keep = !strcmp(keys[j], k.v[i]);
		if (!keep)
			ops[n++] = (struct s3_op){.kind = S3_DELETE, .bucket = bucket, .key = k.v[i]};
	}
	if (n && s3_run(c, ops, n) < 0)
		ret = -1;
	for (size_t i = 0; i < n; i++) {
		if (ops[i].error && !*reason)
			*reason = fail_with(ops[i].error);
		s3_op_free(&ops[i]);
	}
	free(ops);
out:
	for (size_t i = 0; i < k.n; i++)
		free(k.v[i]);
	free(k.v);
	return ret;
}

int upload_outputs(struct remote *rm, const struct spec *s, char *const *scratch, struct out_files *files,
		   bool replace, char **reason)
{
	size_t n = files->n;
	struct s3_op *ops = xcalloc(n + 1, sizeof(*ops));
	char **buckets = xcalloc(n + 1, sizeof(char *)), **keys = xcalloc(n + 1, sizeof(char *));
	char **locals = xcalloc(n + 1, sizeof(char *));
	int ret = -1;
	*reason = NULL;
	for (size_t i = 0; i < n; i++) {
		const struct out_file *f = &files->v[i];
		const struct spec_output *o = &s->outputs[f->output];
		char *uri = o->dir ? xasprintf("%s%s", o->path, f->rel) : xstrdup(o->path);
		if (s3_uri_split(uri, &buckets[i], &keys[i]) < 0 || !keys[i][0]) {
			*reason = xasprintf("output '%s': '%s' is not an s3://bucket/key URI", o->name, uri);
			free(uri);
			goto out;
		}
		free(uri);
		locals[i] = o->dir ? xasprintf("%s%s", scratch[f->output], f->rel) : xstrdup(scratch[f->output]);
		ops[i] = (struct s3_op){.kind = S3_PUT, .bucket = buckets[i], .key = keys[i], .in_path = locals[i]};
	}
	struct s3_client *c = remote_default(rm);
	if (replace) {
		for (size_t oi = 0; oi < s->noutputs; oi++) {
			char *b = NULL, *p = NULL;
			if (s3_uri_split(s->outputs[oi].path, &b, &p) < 0)
				continue;
			struct aws_error e = {0};
			if (p[0] && s3_abort_uploads(c, b, p, &e) < 0) {
				*reason = fail_with(&e);
				aws_error_clear(&e);
				free(b);
				free(p);
				goto out;
			}
			free(b);
			free(p);
		}
	}
	if (n && s3_run(c, ops, n) < 0) {
		for (size_t i = 0; i < n && !*reason; i++)
			if (ops[i].error) {
				char *m = fail_with(ops[i].error);
				*reason = xasprintf("output '%s': %s", s->outputs[files->v[i].output].name, m);
				free(m);
			}
		if (!*reason)
			*reason = xstrdup("cannot upload the outputs");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		snprintf(files->v[i].etag, sizeof files->v[i].etag, "%s", ops[i].etag);
	if (replace) {
		for (size_t oi = 0; oi < s->noutputs; oi++) {
			if (!s->outputs[oi].dir)
				continue;
			char *b = NULL, *p = NULL;
			if (s3_uri_split(s->outputs[oi].path, &b, &p) < 0)
				continue;
			int r = p[0] ? replace_folder(c, b, p, keys, n, reason) : 0;
			free(b);
			free(p);
			if (r < 0)
				goto out;
		}
	}
	ret = 0;
out:
	for (size_t i = 0; i < n; i++) {
		s3_op_free(&ops[i]);
		free(buckets[i]);
		free(keys[i]);
		free(locals[i]);
	}
	free(ops);
	free(buckets);
	free(keys);
	free(locals);
	return ret;
}

int upload_file(struct remote *rm, const char *path, const char *uri, char **reason)
{
	char *b = NULL, *k = NULL;
	if (s3_uri_split(uri, &b, &k) < 0 || !k[0]) {
		*reason = xasprintf("'%s' is not an s3://bucket/key URI", uri);
		free(b);
		free(k);
		return -1;
	}
	struct s3_op op = {.kind = S3_PUT, .bucket = b, .key = k, .in_path = path, .content_type = "text/plain"};
	int ret = 0;
	if (s3_run(remote_client(rm, b), &op, 1) < 0) {
		*reason = fail_with(op.error);
		ret = -1;
	}
	s3_op_free(&op);
	free(b);
	free(k);
	return ret;
}
