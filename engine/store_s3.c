/* store_s3.c - the store on an S3 output root (s3://bucket/prefix/).
 *
 * Preparing a target lists its sentinel folder (runner/layout.h) once, with
 * ListObjectsV2 (1,000 keys a request): the key and state of every
 * sentinel are in its name, so every lookup is answered from memory and
 * no object is read unless a plan must explain a change (store_read). */
#include "engine/store.h"
#include "rules/rules.h"
#include "aws/s3.h"
#include "engine/cloud.h"
#include "runner/layout.h"
#include "runner/sentinel_name.h"
#include "lib/util.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

/* One sentinel found by the listing. */
struct s3_sent {
	const char *dir;  /* "<v0>/<v1>/…/" under the target's folder (arena) */
	size_t ndirs;     /* its number of values */
	char key[33];
	enum sentinel_state state;
	int64_t mtime_ns;
	uint64_t size, etag; /* etag: XXH3-64 of the ETag */
	const char *holder;  /* a running sentinel's holder, or NULL (arena) */
	bool dead;           /* that holder is known to be gone */
};

struct s3_store {
	struct store base;
	char *bucket, *prefix; /* prefix: "" or "path/" */
	char *target;          /* the target listed last */
	struct s3_sent *v;     /* sorted by dir, newest first within one */
	size_t n, cap;
	struct arena *arena;
	size_t list_from;      /* where the target's folder name ends in keys */
	struct buf tmp;
};

static void s3s_close(struct store *st)
{
	struct s3_store *s = (struct s3_store *)st;
	free(s->bucket);
	free(s->prefix);
	free(s->target);
	free(s->v);
	arena_free(s->arena);
	buf_free(&s->tmp);
	free(s->base.root);
	free(s);
}

/* One listed object: a sentinel name (runner/sentinel_name.h) after the
 * target's folder. Other objects (written by people or later versions)
 * are ignored. */
static int on_object(void *ctx, const struct s3_object *o)
{
	struct s3_store *s = ctx;
	size_t klen = strlen(o->key);
	if (klen < s->list_from)
		return 0;
	const char *rel = o->key + s->list_from;
	struct sentinel_name nm;
	if (sentinel_name_parse(rel, klen - s->list_from, &nm) < 0)
		return 0;
	struct s3_sent e = {0};
	memcpy(e.key, nm.key, 33);
	e.state = nm.state;
	e.ndirs = nm.ndirs;
	e.dir = arena_strndup(s->arena, rel, nm.dirlen);
	e.mtime_ns = o->mtime_ns;
	e.size = o->size;
	e.etag = o->etag ? XXH3_64bits(o->etag, strlen(o->etag)) : 0;
	if (nm.state == SENT_RUNNING && nm.holder[0])
		e.holder = arena_strdup(s->arena, nm.holder);
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 256;
		s->v = xreallocarray(s->v, s->cap, sizeof(*s->v));
	}
	s->v[s->n++] = e;
	return 0;
}

/* Folders in the order of their values, one wildcard at a time (as a
 * walk of a local tree would visit them): '/' sorts before any byte. */
static int dir_cmp(const char *a, const char *b)
{
	for (;; a++, b++) {
		unsigned char x = (unsigned char)*a, y = (unsigned char)*b;
		if (x != y) {
			if (x == '/')
				return y ? -1 : 1;
			if (y == '/')
				return x ? 1 : -1;
			return x < y ? -1 : 1;
		}
		if (!x)
			return 0;
	}
}

static int cmp_sent(const void *a, const void *b)
{
	const struct s3_sent *x = a, *y = b;
	int c = dir_cmp(x->dir, y->dir);
	if (c)
		return c;
	return x->mtime_ns > y->mtime_ns ? -1 : x->mtime_ns < y->mtime_ns;
}

static int s3s_prepare(struct store *st, const char *target)
{
	struct s3_store *s = (struct s3_store *)st;
	if (s->target && !strcmp(s->target, target))
		return 0;
	struct s3_client *c = cloud_s3();
	if (!c)
		return -1;
	free(s->target);
	s->target = xstrdup(target);
	s->n = 0;
	arena_free(s->arena);
	s->arena = arena_new();
	buf_reset(&s->tmp);
	layout_put_sentinel_root(&s->tmp, s->prefix, target);
	s->list_from = s->tmp.len;
	struct s3_list_opts lo = {.prefix = s->tmp.data};
	struct aws_error err = {0};
	if (s3_list(c, s->bucket, &lo, on_object, NULL, s, NULL, &err) < 0) {
		if (aws_error_isset(&err))
			cloud_warn(&err);
		else
			warn("cannot list 's3://%s/%s': listing stopped", s->bucket, lo.prefix);
		aws_error_clear(&err);
		free(s->target);
		s->target = NULL;
		return -1;
	}
	if (s->n)
		qsort(s->v, s->n, sizeof(*s->v), cmp_sent);
	return 0;
}

static int s3s_lookup(struct store *st, const char *target, const char *const *values,
		      size_t nvalues, const char *key, struct lookup *out)
{
	struct s3_store *s = (struct s3_store *)st;
	memset(out, 0, sizeof(*out));
	if (s3s_prepare(st, target) < 0)
		return -1;
	buf_reset(&s->tmp);
	for (size_t k = 0; k < nvalues; k++) {
		buf_puts(&s->tmp, values[k]);
		buf_putc(&s->tmp, '/');
	}
	const char *dir = s->tmp.data ? s->tmp.data : "";
	/* the first entry of dir */
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (dir_cmp(s->v[mid].dir, dir) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* Entries are newest first: an ok sentinel of key wins, else the
	 * newest of its others decides. A running sentinel counts as
	 * running until removed, unless its holder was found gone
	 * (store_holder_dead: a Batch job that no longer runs). */
	for (size_t i = lo; i < s->n && !dir_cmp(s->v[i].dir, dir); i++) {
		const struct s3_sent *e = &s->v[i];
		if (!strcmp(e->key, key)) {
			if (e->state == SENT_OK) {
				out->state = LK_OK;
				/* which object it is: the cache of what it records
				 * (outstat.c) follows a rewrite */
				out->ok_id.ino = e->etag;
				out->ok_id.size = e->size;
				out->ok_id.mtime_ns = e->mtime_ns;
			}
			else if (out->state == LK_NONE)
				out->state = e->state != SENT_RUNNING ? LK_FAILED : e->dead ? LK_INTERRUPTED : LK_RUNNING;
		} else if (e->state == SENT_OK && !out->old_ok) {
			memcpy(out->old_key, e->key, 33);
			out->old_ok = 1;
		} else if (e->state == SENT_FAILED && !out->old_key[0]) {
			memcpy(out->old_key, e->key, 33);
		}
	}
	return 0;
}

static char *s3s_read(struct store *st, const char *target, const char *const *values,
		      size_t nvalues, const char *key, enum sentinel_state state, size_t *len)
{
	struct s3_store *s = (struct s3_store *)st;
	struct s3_client *c = cloud_s3();
	if (!c)
		return NULL;
	struct buf k = {0};
	layout_put_sentinel_root(&k, s->prefix, target);
	sentinel_name_put(&k, values, nvalues, key, state, NULL);
	struct s3_op op = {.kind = S3_GET, .bucket = s->bucket, .key = k.data};
	char *body = NULL;
	if (s3_run(c, &op, 1) < 0)
		cloud_warn(op.error);
	else if (!op.found)
		warn("cannot read 's3://%s/%s': it is gone", s->bucket, k.data);
	else {
		*len = op.body_out.len;
		body = op.body_out.data ? op.body_out.data : xstrdup("");
		op.body_out.data = NULL;
	}
	s3_op_free(&op);
	buf_free(&k);
	return body;
}

/* Every instance folder of the listing, in order: the entries of one
 * folder are newest first, and a running sentinel counts as live (as in
 * lookup). */
static int s3s_scan(struct store *st, const char *target, size_t nvalues, scan_fn fn, void *ctx)
{
	struct s3_store *s = (struct s3_store *)st;
	if (nvalues > RULES_MAX_WILDCARDS || s3s_prepare(st, target) < 0)
		return -1;
	const char *vals[RULES_MAX_WILDCARDS + 1];
	struct buf copy = {0};
	int ret = 0;
	for (size_t i = 0; i < s->n && ret == 0;) {
		size_t j = i;
		while (j < s->n && !dir_cmp(s->v[j].dir, s->v[i].dir))
			j++;
		if (s->v[i].ndirs != nvalues) { /* not an instance of this target */
			i = j;
			continue;
		}
		struct scan_entry se = {.values = vals, .nvalues = nvalues};
		const struct s3_sent *decide = &s->v[i];
		for (size_t k = i; k < j; k++)
			if (s->v[k].state == SENT_RUNNING) {
				decide = &s->v[k];
				break;
			}
		se.state = decide->state == SENT_OK ? SCAN_OK
			   : decide->state == SENT_FAILED ? SCAN_FAILED
			   : decide->dead ? SCAN_INTERRUPTED : SCAN_RUNNING;
		memcpy(se.key, decide->key, 33);
		buf_reset(&copy);
		buf_puts(&copy, s->v[i].dir);
		char *p = copy.data ? copy.data : (char *)"";
		for (size_t k = 0; k < nvalues; k++) {
			vals[k] = p;
			p = strchr(p, '/');
			*p++ = 0;
		}
		ret = fn(ctx, &se);
		i = j;
	}
	buf_free(&copy);
	return ret;
}

static int s3s_holders(struct store *st, const char *target, holder_fn fn, void *ctx)
{
	struct s3_store *s = (struct s3_store *)st;
	if (s3s_prepare(st, target) < 0)
		return -1;
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].holder) {
			int r = fn(ctx, s->v[i].holder);
			if (r)
				return r;
		}
	return 0;
}

static void s3s_holder_dead(struct store *st, const char *holder)
{
	struct s3_store *s = (struct s3_store *)st;
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].holder && !strcmp(s->v[i].holder, holder))
			s->v[i].dead = true;
}

static const struct store_ops s3_ops = {
	.holders = s3s_holders,
	.holder_dead = s3s_holder_dead,
	.kind = "s3",
	.prepare = s3s_prepare,
	.lookup = s3s_lookup,
	.read = s3s_read,
	.scan = s3s_scan,
	.close = s3s_close,
};

struct store *store_open_s3(const char *root)
{
	char *bucket = NULL, *prefix = NULL;
	if (s3_uri_split(root, &bucket, &prefix) < 0) {
		warn("cannot open store '%s': not an s3://bucket/prefix/ URI", root);
		return NULL;
	}
	struct s3_store *s = xcalloc(1, sizeof(*s));
	s->base.ops = &s3_ops;
	s->base.root = xstrdup(root);
	s->bucket = bucket;
	s->prefix = prefix;
	return &s->base;
}
