/* session.c - load a Rapidfile and its state for a subcommand. */
#include "cli/session.h"
#include "aws/s3.h"
#include "engine/cloud.h"
#include "cli/cmd.h"
#include "engine/overlap.h"
#include "engine/plan.h"
#include "engine/state.h"
#include "runner/layout.h"
#include "lib/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct global_opts g_opts;

void session_arg(struct session *s, char *word)
{
	if (strchr(word, '=')) {
		s->overrides = xreallocarray(s->overrides, s->noverrides + 1, sizeof(char *));
		s->overrides[s->noverrides++] = word;
	} else {
		s->targets = xreallocarray(s->targets, s->ntargets + 1, sizeof(char *));
		s->targets[s->ntargets++] = word;
	}
}

/* list(s3://bucket/prefix/): the names of the folders under prefix. */
struct folders {
	size_t skip; /* length of the prefix */
	char **v;
	size_t n;
};

static int on_folder(void *ctx, const char *prefix)
{
	struct folders *f = ctx;
	size_t len = strlen(prefix);
	if (len <= f->skip + 1)
		return 0;
	f->v = xreallocarray(f->v, f->n + 1, sizeof(char *));
	f->v[f->n++] = xstrndup(prefix + f->skip, len - f->skip - 1);
	return 0;
}

static int hook_list(void *ctx, const char *uri, char ***words, size_t *n)
{
	(void)ctx;
	struct s3_client *c = cloud_s3();
	char *bucket = NULL, *prefix = NULL;
	struct aws_error err = {0};
	if (!c)
		return -1;
	if (s3_uri_split(uri, &bucket, &prefix) < 0) {
		warn("cannot list '%s': not an s3://bucket/prefix/ URI", uri);
		return -1;
	}
	struct folders f = {.skip = strlen(prefix)};
	struct s3_list_opts lo = {.prefix = prefix, .delimiter = "/"};
	int r = s3_list(c, bucket, &lo, NULL, on_folder, &f, NULL, &err);
	if (r < 0) {
		if (aws_error_isset(&err))
			cloud_warn(&err);
		else
			warn("cannot list '%s': listing stopped", uri);
		for (size_t i = 0; i < f.n; i++)
			free(f.v[i]);
		free(f.v);
	} else {
		*words = f.v;
		*n = f.n;
	}
	aws_error_clear(&err);
	free(bucket);
	free(prefix);
	return r;
}

/* file(s3://bucket/key): the object's bytes. */
static int hook_fetch(void *ctx, const char *uri, char **data, size_t *len)
{
	(void)ctx;
	struct s3_client *c = cloud_s3();
	char *bucket = NULL, *key = NULL;
	if (!c)
		return -1;
	if (s3_uri_split(uri, &bucket, &key) < 0 || !key[0]) {
		warn("cannot read '%s': not an s3://bucket/key URI", uri);
		free(bucket);
		free(key);
		return -1;
	}
	struct s3_op op = {.kind = S3_GET, .bucket = bucket, .key = key};
	int r = -1;
	if (s3_run(c, &op, 1) < 0)
		cloud_warn(op.error);
	else if (!op.found)
		warn("cannot read '%s': no such object", uri);
	else {
		*len = op.body_out.len;
		*data = op.body_out.data ? op.body_out.data : xstrdup("");
		op.body_out.data = NULL;
		r = 0;
	}
	s3_op_free(&op);
	free(bucket);
	free(key);
	return r;
}

static const struct rules_hooks s3_hooks = {.list = hook_list, .fetch = hook_fetch};

int session_open(struct session *s, bool expand, bool state)
{
	const char *file = g_opts.file ? g_opts.file : "Rapidfile";
	/* Only a command that expands the graph needs list()/file() of s3://
	 * evaluated (and so the network). */
	struct rules_opts ro = {.overrides = s->overrides, .noverrides = s->noverrides,
				.hooks = expand ? &s3_hooks : NULL};
	if (rules_load(file, &ro, &s->rf) < 0)
		return -1;
	if (state) {
		char *dir = layout_state_dir(s->rf->dir);
		/* A read-only state (a colleague's project) leaves s->st NULL:
		 * everything works without the cache, only slower. */
		int r = state_open_cache(dir, &s->st);
		free(dir);
		if (r < 0)
			return -1;
	}
	if (expand) {
		s->g = graph_new(s->rf);
		if (!s->g)
			return -1;
		/* Now that every set is known: two writers of one path, or an
		 * output over an input, would destroy data. */
		if (overlap_check(s->g, s->st) < 0)
			return -1;
		if (graph_select(s->g, s->targets, s->ntargets) < 0)
			return -1;
	}
	return 0;
}

struct plan *session_plan(struct session *s, const struct plan_opts *po)
{
	if (session_open(s, true, true) < 0)
		return NULL;
	rules_warn_recipe_files(s->rf);
	return plan_new(s->g, s->st, po);
}

void session_close(struct session *s)
{
	graph_free(s->g);
	state_close(s->st);
	if (s->rf)
		rules_free(s->rf);
	free(s->targets);
	free(s->overrides);
	memset(s, 0, sizeof(*s));
}

long session_parse_count(const char *opt, const char *v)
{
	char *end;
	errno = 0;
	long n = v ? strtol(v, &end, 10) : 0;
	if (!v || errno || *end || n <= 0 || n > 100000) {
		warn("option %s needs a positive number, not '%s'", opt, v ? v : "");
		return -1;
	}
	return n;
}
