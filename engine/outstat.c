/* outstat.c - are an up-to-date instance's outputs still in place?
 *
 * The ok sentinel's body lists every output file (runner/sentinel_body.h:
 * its path inside a directory output, its size and XXH3-128). A plan
 * stats each one, as make and ninja stat their outputs; under verify it
 * hashes them too. An output the body lists no file for (an empty
 * directory, a body written by hand) must at least exist. On an S3 root,
 * only under verify, the whole root is listed once (one request per 1,000
 * objects) and each recorded object must be there with its size.
 *
 * The cache record in STATE_OUTPUTS, under the 32-hex key (native byte
 * order; the state checksums it): which sentinel file it was read from
 * (inode, size, mtime ns, ctime ns; on S3 the ETag's XXH3-64, size and
 * LastModified: a rebuild at the same key writes another one), the number of files, then per file: output index (u16),
 * length of its path inside a directory output (u16, 0 for a file
 * output), size (u64), XXH3-128 (16 bytes), the path's bytes. */
#include "engine/outstat.h"

#include "aws/s3.h"
#include "engine/cloud.h"
#include "engine/graph.h"
#include "engine/state.h"
#include "engine/store.h"
#include "lib/hash.h"
#include "lib/util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define REC_HEAD 36
#define ENT_HEAD 28
/* Differences spelled out per instance; the rest are counted. */
#define SHOW_DIFFS 5

struct outstat {
	struct state *st;
	bool verify;
	size_t stated, hashed;
	struct buf rec;   /* the record being checked */
	struct buf path;  /* reused for each file's path */
	uint8_t *hbuf;    /* HASH_CHUNK bytes, allocated on first hash */
	XXH3_state_t *xs;
	int basefd;       /* the graph's base folder; -2 not opened yet, -1 none */
	bool *seen;       /* per output of the instance being checked */
	size_t capseen;
	/* verify on an S3 root: every object under the root listed once */
	char *listed;     /* the root listed, or NULL */
	char *bucket;
	struct s3_key *keys;
	size_t nkeys, capkeys;
	size_t skip_len;  /* length of the root's "<prefix>.rapid/" */
	char *skip;
	struct arena *arena;
};

struct s3_key {
	const char *key;
	uint64_t size;
};

struct outstat *outstat_new(struct state *st, bool verify)
{
	struct outstat *o = xcalloc(1, sizeof(*o));
	o->st = st;
	o->verify = verify;
	o->basefd = -2;
	return o;
}

void outstat_free(struct outstat *o)
{
	if (!o)
		return;
	buf_free(&o->rec);
	buf_free(&o->path);
	free(o->hbuf);
	free(o->seen);
	if (o->basefd >= 0)
		close(o->basefd);
	free(o->listed);
	free(o->bucket);
	free(o->keys);
	free(o->skip);
	arena_free(o->arena);
	if (o->xs)
		XXH3_freeState(o->xs);
	free(o);
}

void outstat_counts(const struct outstat *o, size_t *stated, size_t *hashed)
{
	*stated = o->stated;
	*hashed = o->hashed;
}

/* 32 hex digits into 16 bytes; all zero when it is not that. */
static void hash_from_hex(const char *hex, uint8_t out[16])
{
	for (size_t k = 0; k < 16; k++) {
		int a = hex_digit((unsigned char)hex[2 * k]), b = a < 0 ? -1 : hex_digit((unsigned char)hex[2 * k + 1]);
		if (a < 0 || b < 0) {
			memset(out, 0, 16);
			return;
		}
		out[k] = (uint8_t)(a << 4 | b);
	}
}

/* Build the record of what body says into o->rec. */
static void record_from_body(struct outstat *o, const struct target *t, const struct sentinel_body *b,
			     const struct lookup *lk)
{
	buf_reset(&o->rec);
	buf_putn(&o->rec, &lk->ok_id.ino, 8);
	buf_putn(&o->rec, &lk->ok_id.size, 8);
	buf_putn(&o->rec, &lk->ok_id.mtime_ns, 8);
	buf_putn(&o->rec, &lk->ok_id.ctime_ns, 8);
	size_t nat = o->rec.len;
	uint32_t n = 0;
	buf_putn(&o->rec, &n, 4);
	for (size_t k = 0; k < b->noutputs; k++) {
		const struct sentinel_output *so = &b->outputs[k];
		size_t oi = t->noutputs;
		for (size_t j = 0; j < t->noutputs && so->name; j++)
			if (!strcmp(so->name, t->outputs[j].name))
				oi = j;
		if (oi == t->noutputs || oi > UINT16_MAX)
			continue; /* an output this target no longer declares */
		const char *rel = t->outputs[oi].is_dir && so->path ? so->path : "";
		size_t rl = strlen(rel);
		if (rl > UINT16_MAX)
			continue;
		uint16_t o16 = (uint16_t)oi, r16 = (uint16_t)rl;
		uint8_t h[16];
		hash_from_hex(so->xxh3, h);
		buf_putn(&o->rec, &o16, 2);
		buf_putn(&o->rec, &r16, 2);
		buf_putn(&o->rec, &so->size, 8);
		buf_putn(&o->rec, h, 16);
		buf_putn(&o->rec, rel, rl);
		n++;
	}
	memcpy(o->rec.data + nat, &n, 4);
}

/* Whether o->rec is a well-formed record of the sentinel lk found. */
static bool record_valid(const struct outstat *o, const struct lookup *lk)
{
	const uint8_t *p = (const uint8_t *)o->rec.data;
	size_t len = o->rec.len;
	if (len < REC_HEAD || memcmp(p, &lk->ok_id.ino, 8) || memcmp(p + 8, &lk->ok_id.size, 8) ||
	    memcmp(p + 16, &lk->ok_id.mtime_ns, 8) || memcmp(p + 24, &lk->ok_id.ctime_ns, 8))
		return false;
	uint32_t n;
	memcpy(&n, p + 32, 4);
	size_t off = REC_HEAD;
	for (uint32_t k = 0; k < n; k++) {
		uint16_t rl;
		if (len - off < ENT_HEAD)
			return false;
		memcpy(&rl, p + off + 2, 2);
		off += ENT_HEAD;
		if (len - off < rl)
			return false;
		off += rl;
	}
	return off == len;
}

/* The record of key into o->rec: the cache's when it describes the same
 * sentinel file, else read from the body (and cached). 0, or 1 when the
 * body cannot be read (said why; nothing to compare against). */
static int load_record(struct outstat *o, struct store *s, const struct graph *g,
		       const struct instance *i, const char *key, const struct lookup *lk)
{
	const struct target *t = g->groups[i->group].t;
	bool known = lk->ok_id.ino || lk->ok_id.mtime_ns;
	if (o->st && known) {
		/* into the reused buffer: no allocation per instance */
		size_t vlen = 0;
		grow((void **)&o->rec.data, &o->rec.cap, 256, 1);
		/* one byte kept for the buffer's NUL */
		int r = state_get_into(o->st, STATE_OUTPUTS, key, 32, o->rec.data, o->rec.cap - 1, &vlen);
		if (r == 1 && vlen > o->rec.cap - 1) {
			grow((void **)&o->rec.data, &o->rec.cap, vlen + 1, 1);
			r = state_get_into(o->st, STATE_OUTPUTS, key, 32, o->rec.data, o->rec.cap - 1, &vlen);
		}
		if (r == 1 && vlen <= o->rec.cap - 1) {
			o->rec.len = vlen;
			o->rec.data[vlen] = 0;
			if (record_valid(o, lk))
				return 0;
		}
	}
	const char *vals[RULES_MAX_WILDCARDS];
	for (size_t k = 0; k < t->nwildcards; k++)
		vals[k] = graph_value(g, i, k);
	struct sentinel_body *b = store_body(s, t->name, vals, t->nwildcards, key, SENT_OK);
	if (!b)
		return 1;
	record_from_body(o, t, b, lk);
	sentinel_body_free(b);
	if (o->st && known)
		state_put(o->st, STATE_OUTPUTS, key, 32, o->rec.data, o->rec.len);
	return 0;
}

/* One difference: counted, and spelled out while there are few. */
struct diffs {
	size_t n;
	int first_output;
	struct buf *why, *details;
};

static void diff_add(struct diffs *d, const struct target *t, size_t oi, const char *what, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void diff_add(struct diffs *d, const struct target *t, size_t oi, const char *what, const char *fmt, ...)
{
	if (d->n++ == 0) {
		d->first_output = (int)oi;
		buf_puts(d->why, what);
		buf_putc(d->why, ' ');
		va_list ap;
		va_start(ap, fmt);
		buf_vprintf(d->why, fmt, ap);
		va_end(ap);
	}
	if (d->n > SHOW_DIFFS)
		return;
	if (d->details->len)
		buf_putc(d->details, '\n');
	buf_printf(d->details, "output %s: %s ", t->outputs[oi].name, what);
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(d->details, fmt, ap);
	va_end(ap);
}

/* o->path = output uri (+ rel inside a directory), as written: a
 * relative one is looked up from the graph's base folder (o->basefd). */
static void put_path(struct outstat *o, const struct graph *g, const char *uri, const char *rel, size_t rl)
{
	buf_reset(&o->path);
	if (o->basefd == -2) {
		/* opened once: a path from it is walked from there, not from / */
		o->basefd = open(g->base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (o->basefd < 0)
			o->basefd = -1;
	}
	if (uri[0] != '/' && !uri_is_s3(uri) && o->basefd < 0) {
		buf_puts(&o->path, g->base);
		if (o->path.len && o->path.data[o->path.len - 1] != '/')
			buf_putc(&o->path, '/');
	}
	buf_puts(&o->path, uri);
	buf_putn(&o->path, rel, rl);
}

/* The fd o->path is relative to. */
static int at_fd(const struct outstat *o)
{
	return o->path.data[0] != '/' && o->basefd >= 0 ? o->basefd : AT_FDCWD;
}

/* Compare one recorded file with what is at o->path. */
static void check_file(struct outstat *o, struct diffs *d, const struct target *t, size_t oi,
		       const char *shown, uint64_t size, const uint8_t hash[16])
{
	struct stat sb;
	o->stated++;
	if (fstatat(at_fd(o), o->path.data, &sb, 0) < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			diff_add(d, t, oi, shown, "missing");
		else
			diff_add(d, t, oi, shown, "unreadable (%s)", strerror(errno));
		return;
	}
	if (!S_ISREG(sb.st_mode)) {
		diff_add(d, t, oi, shown, "not a regular file");
		return;
	}
	if ((uint64_t)sb.st_size != size) {
		diff_add(d, t, oi, shown, "size %" PRIu64 " → %" PRIu64, size, (uint64_t)sb.st_size);
		return;
	}
	if (!o->verify)
		return;
	static const uint8_t zero[16];
	uint8_t h[16];
	uint64_t n;
	if (!o->hbuf) {
		o->hbuf = xmalloc(HASH_CHUNK);
		o->xs = hash_state_new();
	}
	o->hashed++;
	int fd = openat(at_fd(o), o->path.data, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 || hash_fd(fd, o->xs, o->hbuf, h, &n) < 0) {
		diff_add(d, t, oi, shown, "unreadable (%s)", strerror(errno));
	} else if (n != size) {
		diff_add(d, t, oi, shown, "size %" PRIu64 " → %" PRIu64, size, n);
	} else if (memcmp(hash, zero, 16) && memcmp(hash, h, 16)) {
		diff_add(d, t, oi, shown, "content changed");
	}
	if (fd >= 0)
		close(fd);
}

/* ---- S3 roots, under verify: one listing of the whole root ---- */

static int on_key(void *ctx, const struct s3_object *ob)
{
	struct outstat *o = ctx;
	if (!strncmp(ob->key, o->skip, o->skip_len))
		return 0; /* sentinels, logs: not outputs */
	GROW(o->keys, o->capkeys, o->nkeys + 1);
	o->keys[o->nkeys++] = (struct s3_key){arena_strdup(o->arena, ob->key), ob->size};
	return 0;
}

static int cmp_key(const void *a, const void *b)
{
	return strcmp(((const struct s3_key *)a)->key, ((const struct s3_key *)b)->key);
}

/* List every object under root (once per root). 0, or -1 after printing. */
static int list_root(struct outstat *o, const char *root)
{
	if (o->listed && !strcmp(o->listed, root))
		return 0;
	free(o->listed);
	free(o->bucket);
	free(o->skip);
	o->listed = NULL;
	o->bucket = NULL;
	o->skip = NULL;
	o->nkeys = 0;
	arena_free(o->arena);
	o->arena = arena_new();
	struct s3_client *cl = cloud_s3();
	char *prefix = NULL;
	if (!cl)
		return -1;
	if (s3_uri_split(root, &o->bucket, &prefix) < 0) {
		warn("cannot list '%s': not an s3://bucket/prefix/ URI", root);
		return -1;
	}
	o->skip = xasprintf("%s.rapid/", prefix);
	o->skip_len = strlen(o->skip);
	struct s3_list_opts lo = {.prefix = prefix};
	struct aws_error err = {0};
	int r = s3_list(cl, o->bucket, &lo, on_key, NULL, o, NULL, &err);
	if (r < 0) {
		if (aws_error_isset(&err))
			cloud_warn(&err);
		else
			warn("cannot list '%s': listing stopped", root);
	} else {
		if (o->nkeys > 1)
			qsort(o->keys, o->nkeys, sizeof(*o->keys), cmp_key);
		o->listed = xstrdup(root);
	}
	aws_error_clear(&err);
	free(prefix);
	return r < 0 ? -1 : 0;
}

/* Compare one recorded object (o->path: its s3:// URI) with the listing. */
static void check_object(struct outstat *o, struct diffs *d, const struct target *t, size_t oi,
			 const char *shown, uint64_t size)
{
	size_t bl = strlen(o->bucket);
	const char *key = o->path.data + 5 + bl + 1; /* past "s3://bucket/" */
	if (o->path.len < 6 + bl || strncmp(o->path.data + 5, o->bucket, bl) || o->path.data[5 + bl] != '/')
		return; /* another bucket than the root's: not listed */
	o->stated++;
	struct s3_key want = {key, 0};
	const struct s3_key *k = o->nkeys ? bsearch(&want, o->keys, o->nkeys, sizeof(*o->keys), cmp_key) : NULL;
	if (!k)
		diff_add(d, t, oi, shown, "missing");
	else if (k->size != size)
		diff_add(d, t, oi, shown, "size %" PRIu64 " → %" PRIu64, size, k->size);
}

int outstat_check(struct outstat *o, struct store *s, const struct graph *g, const struct instance *i,
		  const char *const *out_uris, const char *key, const struct lookup *lk,
		  struct buf *summary, struct buf *why, struct buf *details)
{
	const struct target *t = g->groups[i->group].t;
	bool s3 = !strcmp(s->ops->kind, "s3");
	/* An S3 root is compared only under verify: a listing of all its
	 * objects, one request per 1,000, where a stat is free locally. */
	if ((s3 && !o->verify) || (!s3 && strcmp(s->ops->kind, "local")) || !t->noutputs)
		return 0;
	if (load_record(o, s, g, i, key, lk))
		return 0;
	if (s3 && list_root(o, store_root(s)) < 0)
		return -1;
	struct diffs d = {.why = why, .details = details};
	buf_reset(why);
	buf_reset(details);
	if (o->capseen < t->noutputs) {
		o->seen = xreallocarray(o->seen, t->noutputs, sizeof(*o->seen));
		o->capseen = t->noutputs;
	}
	bool *seen = o->seen;
	memset(seen, 0, t->noutputs * sizeof(*seen));
	const uint8_t *p = (const uint8_t *)o->rec.data;
	uint32_t n;
	memcpy(&n, p + 32, 4);
	size_t off = REC_HEAD;
	for (uint32_t k = 0; k < n; k++) {
		uint16_t oi, rl;
		uint64_t size;
		memcpy(&oi, p + off, 2);
		memcpy(&rl, p + off + 2, 2);
		memcpy(&size, p + off + 4, 8);
		const uint8_t *hash = p + off + 12;
		const char *rel = (const char *)p + off + ENT_HEAD;
		off += ENT_HEAD + rl;
		if (oi >= t->noutputs || uri_is_s3(out_uris[oi]) != s3)
			continue;
		seen[oi] = true;
		put_path(o, g, out_uris[oi], rel, rl);
		/* inside a folder: its path there, the tail of o->path */
		const char *shown = rl ? o->path.data + o->path.len - rl : out_uris[oi];
		if (s3)
			check_object(o, &d, t, oi, shown, size);
		else
			check_file(o, &d, t, oi, shown, size, hash);
	}
	/* An output no file is recorded for must still be there. */
	for (size_t oi = 0; oi < t->noutputs && !s3; oi++) {
		if (seen[oi] || uri_is_s3(out_uris[oi]))
			continue;
		struct stat sb;
		put_path(o, g, out_uris[oi], "", 0);
		o->stated++;
		if (fstatat(at_fd(o), o->path.data, &sb, 0) < 0)
			diff_add(&d, t, oi, out_uris[oi], "missing");
		else if (t->outputs[oi].is_dir != !!S_ISDIR(sb.st_mode))
			diff_add(&d, t, oi, out_uris[oi], t->outputs[oi].is_dir ? "is not a directory" : "is a directory");
	}
	if (!d.n)
		return 0;
	if (d.n > 1)
		buf_printf(why, ", and %zu more", d.n - 1);
	if (d.n > SHOW_DIFFS)
		buf_printf(details, "\n... and %zu more", d.n - SHOW_DIFFS);
	buf_reset(summary);
	buf_printf(summary, "output %s changed", t->outputs[d.first_output].name);
	return 1;
}
