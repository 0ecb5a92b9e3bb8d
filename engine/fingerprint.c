/* fingerprint.c - size and XXH3-128 of local input files, cached in the
 * state (STATE_FP) by path with the stat fields that tell a change.
 *
 * A cached hash is trusted only when dev, inode, size, mtime and ctime all
 * match and the file had been unmodified for FP_RACY_NS when it was hashed:
 * a write landing in the same timestamp tick as the hash would otherwise
 * go unseen. Files hashed in this run are also remembered in memory, since
 * the state does not show puts before they are committed and a plan asks
 * about shared inputs (masks, templates) many times. */
#include "engine/fingerprint.h"

#include "aws/s3.h"
#include "engine/cloud.h"
#include "engine/state.h"
#include "lib/hash.h"
#include "lib/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>


struct memo {
	char *path; /* NULL: empty slot; an s3:// URI for S3 inputs */
	uint64_t h;
	struct fp_record rec; /* S3: size and checked_ns only */
	char *etag;           /* S3: NULL until known */
	enum { M_LOCAL, M_S3_WANTED, M_S3_PRESENT, M_S3_MISSING } kind;
};

struct fp_ctx {
	struct state *st;
	bool refresh;
	struct fp_stats stats;
	XXH3_state_t *xs;
	uint8_t *buf; /* HASH_CHUNK bytes, allocated on first hash */
	struct memo *memo;
	size_t nmemo, capmemo; /* capmemo: 0 or a power of two */
	size_t nwanted;        /* S3 URIs waiting for fp_s3_fetch */
	struct buf err;        /* why the last fp_local gave -1 */
	struct buf tree;       /* fp_tree: the path being walked */
	struct buf list;       /* fp_tree: the listing being built */
	struct tree_memo *trees; /* listings made in this run (the state shows them after commit) */
	char *base;            /* fp_set_base: its path (no trailing '/'), or NULL */
	size_t baselen;
	int basefd;            /* -1: none */
	size_t ntrees, captrees;
};

/* A folder's listing, by its tree hash: per file its path inside the
 * folder, NUL, size (u64) and XXH3-128 (16 bytes). Stored in STATE_FP
 * under "\xfftree" + hash, so an explanation can say which file changed. */
struct tree_memo {
	uint8_t hash[16];
	char *data;
	size_t len;
};

#define TREE_KEY_LEN 21

struct fp_ctx *fp_new(struct state *st, bool refresh)
{
	struct fp_ctx *c = xcalloc(1, sizeof(*c));
	c->st = st;
	c->refresh = refresh;
	c->basefd = -1;
	c->xs = hash_state_new();
	return c;
}

const struct fp_stats *fp_get_stats(const struct fp_ctx *c)
{
	return &c->stats;
}

void fp_set_base(struct fp_ctx *c, const char *dir)
{
	if (c->basefd >= 0)
		close(c->basefd);
	free(c->base);
	c->base = NULL;
	c->basefd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c->basefd < 0)
		return; /* paths are then walked from / */
	c->base = xstrdup(dir);
	c->baselen = strlen(dir);
	while (c->baselen > 1 && c->base[c->baselen - 1] == '/')
		c->base[--c->baselen] = 0;
}

/* stat(path), walked from the base folder when path is inside it: the
 * kernel then resolves a few components instead of the whole path. */
static int stat_from_base(const struct fp_ctx *c, const char *path, struct stat *sb)
{
	if (c->basefd >= 0 && !strncmp(path, c->base, c->baselen) && path[c->baselen] == '/' &&
	    path[c->baselen + 1])
		return fstatat(c->basefd, path + c->baselen + 1, sb, 0);
	return stat(path, sb);
}

const char *fp_error(const struct fp_ctx *c)
{
	return c->err.len ? c->err.data : "unknown error";
}

static int fail(struct fp_ctx *c, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* -1 with "cannot read 'PATH': reason" as the context's error. */
static int fail(struct fp_ctx *c, const char *path, const char *fmt, ...)
{
	buf_reset(&c->err);
	buf_printf(&c->err, "cannot read '%s': ", path);
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(&c->err, fmt, ap);
	va_end(ap);
	return -1;
}

void fp_free(struct fp_ctx *c)
{
	if (!c)
		return;
	/* Each record was queued into the state as it was made. */
	for (size_t i = 0; i < c->capmemo; i++) {
		free(c->memo[i].path);
		free(c->memo[i].etag);
	}
	free(c->memo);
	free(c->buf);
	buf_free(&c->err);
	buf_free(&c->tree);
	buf_free(&c->list);
	if (c->basefd >= 0)
		close(c->basefd);
	free(c->base);
	for (size_t i = 0; i < c->ntrees; i++)
		free(c->trees[i].data);
	free(c->trees);
	XXH3_freeState(c->xs);
	free(c);
}

static struct memo *memo_slot(struct fp_ctx *c, const char *path, uint64_t h)
{
	size_t mask = c->capmemo - 1;
	for (size_t i = h & mask;; i = (i + 1) & mask) {
		struct memo *m = &c->memo[i];
		if (!m->path || (m->h == h && !strcmp(m->path, path)))
			return m;
	}
}

static struct memo *memo_find(struct fp_ctx *c, const char *path, uint64_t h)
{
	if (!c->capmemo)
		return NULL;
	struct memo *m = memo_slot(c, path, h);
	return m->path ? m : NULL;
}

static struct memo *memo_put(struct fp_ctx *c, const char *path, uint64_t h, const struct fp_record *rec)
{
	if (2 * (c->nmemo + 1) > c->capmemo) {
		struct memo *old = c->memo;
		size_t oldcap = c->capmemo;
		c->capmemo = oldcap ? 2 * oldcap : 64;
		c->memo = xcalloc(c->capmemo, sizeof(*c->memo));
		for (size_t i = 0; i < oldcap; i++) {
			if (old[i].path)
				*memo_slot(c, old[i].path, old[i].h) = old[i];
		}
		free(old);
	}
	struct memo *m = memo_slot(c, path, h);
	if (!m->path) {
		m->path = xstrdup(path);
		m->h = h;
		c->nmemo++;
	}
	m->rec = *rec;
	return m;
}

static int64_t ts_ns(struct timespec t)
{
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static int trusted(const struct fp_record *r, const struct stat *sb)
{
	return r->dev == (uint64_t)sb->st_dev && r->ino == (uint64_t)sb->st_ino &&
	       r->size == (uint64_t)sb->st_size && r->mtime_ns == ts_ns(sb->st_mtim) &&
	       r->ctime_ns == ts_ns(sb->st_ctim) && r->checked_ns - r->mtime_ns >= FP_RACY_NS;
}

static void format_fp(const struct fp_record *r, char out[FP_MAX])
{
	char hex[33];
	hex_encode(r->hash, 16, hex);
	/* "size=N xxh3=HEX", built by hand: this runs once per input per plan */
	char digits[24];
	size_t nd = 0;
	uint64_t v = r->size;
	do
		digits[nd++] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	char *o = out;
	memcpy(o, "size=", 5);
	o += 5;
	while (nd)
		*o++ = digits[--nd];
	memcpy(o, " xxh3=", 6);
	o += 6;
	memcpy(o, hex, 33);
}

static int same_stat(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       ts_ns(a->st_mtim) == ts_ns(b->st_mtim) && ts_ns(a->st_ctim) == ts_ns(b->st_ctim);
}

/* Read and hash path into rec. 1 done, 0 vanished, -1 after printing. A
 * file that changes while it is read is read once more before giving up. */
static int hash_path(struct fp_ctx *c, const char *path, struct fp_record *rec)
{
	struct stat a, b;
	if (!c->buf)
		c->buf = xmalloc(HASH_CHUNK);
	for (int attempt = 0; attempt < 2; attempt++) {
		/* Before the read: a write during it must look racy next time. */
		int64_t checked = now_ns();
		uint64_t n;
		int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (fd < 0) {
			if (errno == ENOENT || errno == ENOTDIR) {
				c->stats.missing++;
				return 0;
			}
			return fail(c, path, "%s", strerror(errno));
		}
		int bad = fstat(fd, &a) < 0 ? errno : S_ISDIR(a.st_mode) ? EISDIR : 0;
		if (!bad && !S_ISREG(a.st_mode)) {
			close(fd);
			return fail(c, path, "not a regular file");
		}
		if (!bad) {
			(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
			if (hash_fd(fd, c->xs, c->buf, rec->hash, &n) < 0 || fstat(fd, &b) < 0)
				bad = errno;
		}
		close(fd);
		if (bad)
			return fail(c, path, "%s", strerror(bad));
		c->stats.bytes_hashed += n;
		if (n == (uint64_t)a.st_size && same_stat(&a, &b)) {
			rec->dev = (uint64_t)a.st_dev;
			rec->ino = (uint64_t)a.st_ino;
			rec->size = n;
			rec->mtime_ns = ts_ns(a.st_mtim);
			rec->ctime_ns = ts_ns(a.st_ctim);
			rec->checked_ns = checked;
			c->stats.hashed++;
			return 1;
		}
	}
	return fail(c, path, "changed while being read");
}

/* The record of the regular file at path, stat'ed as sb: the cache's when
 * it can be trusted, else read and hashed (and cached). 1, 0 when it
 * vanished, -1 (the context's error set). */
static int fp_file(struct fp_ctx *c, const char *path, const struct stat *sb, struct fp_record *rec)
{
	size_t plen = strlen(path), vlen;
	uint64_t h = XXH3_64bits(path, plen);
	const struct memo *m = memo_find(c, path, h);
	if (m) {
		if (trusted(&m->rec, sb)) {
			c->stats.cached++;
			*rec = m->rec;
			return 1;
		}
	} else if (c->st && !c->refresh) {
		/* A read error was reported; carry on without the cache. A
		 * record of another size (another format) is a miss. */
		if (state_get_into(c->st, STATE_FP, path, plen, rec, sizeof(*rec), &vlen) == 1 &&
		    vlen == sizeof(*rec) && trusted(rec, sb)) {
			c->stats.cached++;
			return 1;
		}
	}
	int r = hash_path(c, path, rec);
	if (r != 1)
		return r;
	memo_put(c, path, h, rec);
	if (c->st)
		state_put(c->st, STATE_FP, path, plen, rec, sizeof(*rec));
	return 1;
}

/* Symbolic links may lead a folder walk in circles: stop this deep. */
#define TREE_MAX_DEPTH 64

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Walk the folder c->tree (ending in '/'), whose path inside the input
 * starts at c->tree.data + root, into xs and the counts. 0, or -1. */
static int tree_walk(struct fp_ctx *c, size_t root, int depth, XXH3_state_t *xs, uint64_t *files,
		     uint64_t *bytes)
{
	if (depth > TREE_MAX_DEPTH)
		return fail(c, c->tree.data, "%s", strerror(ELOOP));
	DIR *d = opendir(c->tree.data);
	if (!d)
		return fail(c, c->tree.data, "%s", strerror(errno));
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	errno = 0;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		GROW(names, cap, n + 1);
		names[n++] = xstrdup(de->d_name);
	}
	int rerr = errno;
	closedir(d);
	int ret = 0;
	if (rerr)
		ret = fail(c, c->tree.data, "%s", strerror(rerr));
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);
	size_t len = c->tree.len;
	for (size_t k = 0; k < n && ret == 0; k++) {
		c->tree.len = len;
		c->tree.data[len] = 0;
		buf_puts(&c->tree, names[k]);
		struct stat sb;
		if (stat(c->tree.data, &sb) < 0) {
			if (errno == ENOENT)
				continue; /* gone since the listing */
			ret = fail(c, c->tree.data, "%s", strerror(errno));
		} else if (S_ISDIR(sb.st_mode)) {
			buf_putc(&c->tree, '/');
			ret = tree_walk(c, root, depth + 1, xs, files, bytes);
		} else if (!S_ISREG(sb.st_mode)) {
			ret = fail(c, c->tree.data, "not a regular file");
		} else {
			struct fp_record rec;
			int r = fp_file(c, c->tree.data, &sb, &rec);
			if (r < 0)
				ret = -1;
			else if (r > 0) {
				/* path inside the input, NUL, size, hash */
				XXH3_128bits_update(xs, c->tree.data + root, c->tree.len - root + 1);
				XXH3_128bits_update(xs, &rec.size, sizeof(rec.size));
				XXH3_128bits_update(xs, rec.hash, sizeof(rec.hash));
				buf_putn(&c->list, c->tree.data + root, c->tree.len - root + 1);
				buf_putn(&c->list, &rec.size, sizeof(rec.size));
				buf_putn(&c->list, rec.hash, sizeof(rec.hash));
				(*files)++;
				*bytes += rec.size;
			}
		}
	}
	c->tree.len = len;
	c->tree.data[len] = 0;
	for (size_t k = 0; k < n; k++)
		free(names[k]);
	free(names);
	return ret;
}

static void tree_key(const uint8_t hash[16], uint8_t key[TREE_KEY_LEN])
{
	memcpy(key, "\xfftree", 5);
	memcpy(key + 5, hash, 16);
}

static const struct tree_memo *tree_find(const struct fp_ctx *c, const uint8_t hash[16])
{
	for (size_t i = 0; i < c->ntrees; i++)
		if (!memcmp(c->trees[i].hash, hash, 16))
			return &c->trees[i];
	return NULL;
}

/* Keep c->list, the listing of the tree just hashed, for explanations:
 * in memory for this run and in the state (when not there already). */
static void remember_tree(struct fp_ctx *c, const uint8_t hash[16])
{
	if (!c->st || tree_find(c, hash))
		return;
	uint8_t key[TREE_KEY_LEN], probe;
	size_t vlen;
	tree_key(hash, key);
	if (state_get_into(c->st, STATE_FP, key, sizeof key, &probe, 1, &vlen) != 1)
		state_put(c->st, STATE_FP, key, sizeof key, c->list.data ? c->list.data : "", c->list.len);
	GROW(c->trees, c->captrees, c->ntrees + 1);
	struct tree_memo *m = &c->trees[c->ntrees++];
	memcpy(m->hash, hash, 16);
	m->len = c->list.len;
	m->data = xmalloc(m->len + 1);
	if (m->len)
		memcpy(m->data, c->list.data, m->len);
}

/* One file of a listing. */
struct tree_file {
	const char *rel;
	uint64_t size;
	const uint8_t *hash;
};

static int cmp_tree_file(const void *a, const void *b)
{
	return strcmp(((const struct tree_file *)a)->rel, ((const struct tree_file *)b)->rel);
}

/* The files of a listing, sorted by path; NULL on a malformed one. */
static struct tree_file *tree_files(const char *data, size_t len, size_t *n)
{
	struct tree_file *v = NULL;
	size_t cap = 0;
	*n = 0;
	for (size_t off = 0; off < len;) {
		const char *end = memchr(data + off, 0, len - off);
		if (!end || (size_t)(data + len - end) < 1 + 8 + 16) {
			free(v);
			return NULL;
		}
		GROW(v, cap, *n + 1);
		struct tree_file *f = &v[(*n)++];
		f->rel = data + off;
		memcpy(&f->size, end + 1, 8);
		f->hash = (const uint8_t *)end + 9;
		off = (size_t)(end - data) + 1 + 8 + 16;
	}
	if (*n > 1)
		qsort(v, *n, sizeof(*v), cmp_tree_file);
	return v ? v : xcalloc(1, sizeof(*v));
}

/* The tree hash in a fingerprint "files=N size=S xxh3=HEX"; -1 if none. */
static int tree_hash_of(const char *fp, uint8_t out[16])
{
	const char *x = strncmp(fp, "files=", 6) ? NULL : strstr(fp, " xxh3=");
	if (!x || strlen(x + 6) < 32)
		return -1;
	for (size_t k = 0; k < 16; k++) {
		unsigned v;
		if (sscanf(x + 6 + 2 * k, "%2x", &v) != 1)
			return -1;
		out[k] = (uint8_t)v;
	}
	return 0;
}

/* A listing by tree hash, malloc'd into *data: this run's, else the
 * state's. 1 found, 0 not. */
static int tree_load(struct fp_ctx *c, const uint8_t hash[16], char **data, size_t *len)
{
	const struct tree_memo *m = tree_find(c, hash);
	if (m) {
		*data = xmalloc(m->len + 1);
		memcpy(*data, m->data, m->len);
		*len = m->len;
		return 1;
	}
	uint8_t key[TREE_KEY_LEN];
	void *v = NULL;
	tree_key(hash, key);
	if (!c->st || state_get(c->st, STATE_FP, key, sizeof key, &v, len) != 1)
		return 0;
	*data = v;
	return 1;
}

int fp_tree_explain(struct fp_ctx *c, const char *old_fp, const char *new_fp, struct buf *out)
{
	uint8_t ho[16], hn[16];
	char *dold = NULL, *dnew = NULL;
	size_t lold = 0, lnew = 0, no = 0, nn = 0;
	struct tree_file *fo = NULL, *fnw = NULL;
	int ret = 0;
	if (tree_hash_of(old_fp, ho) < 0 || tree_hash_of(new_fp, hn) < 0 || !memcmp(ho, hn, 16) ||
	    !tree_load(c, ho, &dold, &lold) || !tree_load(c, hn, &dnew, &lnew))
		goto out;
	fo = tree_files(dold, lold, &no);
	fnw = tree_files(dnew, lnew, &nn);
	if (!fo || !fnw)
		goto out;
	size_t a = 0, b = 0, said = 0, more = 0;
	while (a < no || b < nn) {
		int cmp = a == no ? 1 : b == nn ? -1 : strcmp(fo[a].rel, fnw[b].rel);
		const char *what = NULL, *rel = NULL;
		if (cmp < 0) {
			what = "removed";
			rel = fo[a++].rel;
		} else if (cmp > 0) {
			what = "added";
			rel = fnw[b++].rel;
		} else {
			if (fo[a].size != fnw[b].size || memcmp(fo[a].hash, fnw[b].hash, 16)) {
				what = "changed";
				rel = fo[a].rel;
			}
			a++;
			b++;
		}
		if (!what)
			continue;
		if (said++ < 3)
			buf_printf(out, "%s%s %s", ret ? ", " : "", rel, what);
		else
			more++;
		ret = 1;
	}
	if (more)
		buf_printf(out, ", and %zu more", more);
out:
	free(fo);
	free(fnw);
	free(dold);
	free(dnew);
	return ret;
}

/* A folder input: "files=N size=S xxh3=HEX" over every regular file
 * under it (its path inside the folder, size and XXH3-128), in name
 * order. 1, 0 when missing, -1. */
static int fp_tree(struct fp_ctx *c, const char *path, char out[FP_MAX])
{
	struct stat sb;
	if (stat(path, &sb) < 0) {
		int e = errno;
		if (e == ENOTDIR) {
			/* something that is not a folder, or a missing parent */
			char *bare = xstrndup(path, strlen(path) - 1);
			int there = stat(bare, &sb) == 0;
			free(bare);
			if (there)
				return fail(c, path, "not a directory (without the trailing '/' it names a file)");
		}
		if (e == ENOENT || e == ENOTDIR) {
			c->stats.missing++;
			return 0;
		}
		return fail(c, path, "%s", strerror(e));
	}
	if (!S_ISDIR(sb.st_mode))
		return fail(c, path, "not a directory (without the trailing '/' it names a file)");
	buf_reset(&c->tree);
	buf_puts(&c->tree, path);
	XXH3_state_t *xs = hash_state_new();
	XXH3_128bits_reset(xs);
	buf_reset(&c->list);
	uint64_t files = 0, bytes = 0;
	int r = tree_walk(c, c->tree.len, 0, xs, &files, &bytes);
	if (r == 0) {
		XXH128_canonical_t canon;
		XXH128_canonicalFromHash(&canon, XXH3_128bits_digest(xs));
		char hex[33];
		hex_encode(canon.digest, 16, hex);
		snprintf(out, FP_MAX, "files=%" PRIu64 " size=%" PRIu64 " xxh3=%s", files, bytes, hex);
		remember_tree(c, canon.digest);
	}
	XXH3_freeState(xs);
	return r < 0 ? -1 : 1;
}

int fp_local(struct fp_ctx *c, const char *path, char out[FP_MAX])
{
	struct stat sb;
	struct fp_record rec;
	size_t plen = strlen(path);
	buf_reset(&c->err);
	if (plen && path[plen - 1] == '/')
		return fp_tree(c, path, out);
	if (stat_from_base(c, path, &sb) < 0) {
		if (errno == ENOENT || errno == ENOTDIR) {
			c->stats.missing++;
			return 0;
		}
		return fail(c, path, "%s", strerror(errno));
	}
	if (S_ISDIR(sb.st_mode))
		return fail(c, path, "is a directory (write it with a trailing '/' to read it as a folder)");
	if (!S_ISREG(sb.st_mode))
		return fail(c, path, "not a regular file");
	int r = fp_file(c, path, &sb, &rec);
	if (r == 1)
		format_fp(&rec, out);
	return r;
}

/* ---- S3 inputs ----
 *
 * An S3 object's fingerprint is its size and ETag, from HeadObject. Public
 * dataset objects do not change in practice, so a cached fingerprint (or a
 * cached absence) is trusted until --refresh. The STATE_FP record under the
 * URI: size (8 bytes), checked_ns (8), present (1), the ETag's bytes. */

#define S3REC_HEAD 17

/* A prefix (an s3:// URI ending with '/', a folder input) is listed: its
 * record's ETag field holds "<objects> <XXH3-128 of each object's path
 * below the prefix, size and ETag, in key order>", its size their sum.
 * An empty prefix is missing. */
static bool is_prefix(const char *uri)
{
	size_t n = strlen(uri);
	return n && uri[n - 1] == '/';
}

static void format_s3(const struct memo *m, char out[FP_MAX])
{
	if (is_prefix(m->path)) {
		const char *e = m->etag ? m->etag : "";
		const char *sp = strchr(e, ' ');
		snprintf(out, FP_MAX, "files=%.*s size=%" PRIu64 " etags=%.40s", sp ? (int)(sp - e) : 0, e,
			 m->rec.size, sp ? sp + 1 : "");
		return;
	}
	snprintf(out, FP_MAX, "size=%" PRIu64 " etag=%.64s", m->rec.size, m->etag ? m->etag : "");
}

struct prefix_sum {
	size_t plen;
	uint64_t files, size;
	XXH3_state_t *xs;
};

static int sum_object(void *ctx, const struct s3_object *o)
{
	struct prefix_sum *ps = ctx;
	size_t kl = strlen(o->key);
	if (kl <= ps->plen || o->key[kl - 1] == '/') /* the prefix itself, or a "folder" marker */
		return 0;
	const char *e = o->etag ? o->etag : "";
	XXH3_128bits_update(ps->xs, o->key + ps->plen, kl - ps->plen + 1);
	XXH3_128bits_update(ps->xs, &o->size, sizeof o->size);
	XXH3_128bits_update(ps->xs, e, strlen(e) + 1);
	ps->files++;
	ps->size += o->size;
	return 0;
}

/* List a prefix into op's out fields as a HEAD would fill them: found,
 * size, etag ("<files> <hex>"). 0, or -1 with op->error. */
static int list_prefix(struct s3_client *cl, struct s3_op *op)
{
	struct prefix_sum ps = {.plen = strlen(op->key), .xs = XXH3_createState()};
	struct s3_list_opts lo = {.prefix = op->key};
	struct aws_error e = {0};
	op->found = 0;
	XXH3_128bits_reset(ps.xs);
	int r = s3_list(cl, op->bucket, &lo, sum_object, NULL, &ps, NULL, &e);
	if (r < 0) {
		op->error = aws_error_dup(&e);
		aws_error_clear(&e);
	} else {
		XXH128_hash_t h = XXH3_128bits_digest(ps.xs);
		snprintf(op->etag, sizeof op->etag, "%" PRIu64 " %016" PRIx64 "%016" PRIx64, ps.files, h.high64,
			 h.low64);
		op->size = ps.size;
		op->found = ps.files > 0;
	}
	XXH3_freeState(ps.xs);
	return r;
}

static struct memo *s3_remember(struct fp_ctx *c, const char *uri, uint64_t h, int present,
				uint64_t size, int64_t checked, const char *etag, size_t etaglen)
{
	struct fp_record rec = {.size = size, .checked_ns = checked};
	struct memo *m = memo_put(c, uri, h, &rec);
	free(m->etag);
	m->etag = xstrndup(etag, etaglen);
	m->kind = present ? M_S3_PRESENT : M_S3_MISSING;
	return m;
}

/* The memo entry of uri from this run or the state; NULL if neither. */
static struct memo *s3_known(struct fp_ctx *c, const char *uri, uint64_t h)
{
	struct memo *m = memo_find(c, uri, h);
	if (m)
		return m;
	if (!c->st || c->refresh)
		return NULL;
	void *v = NULL;
	size_t vlen = 0;
	if (state_get(c->st, STATE_FP, uri, strlen(uri), &v, &vlen) != 1)
		return NULL;
	if (vlen < S3REC_HEAD || vlen > S3REC_HEAD + 128) {
		free(v);
		return NULL;
	}
	const uint8_t *b = v;
	uint64_t size;
	int64_t checked;
	memcpy(&size, b, 8);
	memcpy(&checked, b + 8, 8);
	m = s3_remember(c, uri, h, b[16], size, checked, (const char *)b + S3REC_HEAD,
			vlen - S3REC_HEAD);
	free(v);
	c->stats.cached++;
	return m;
}

void fp_s3_want(struct fp_ctx *c, const char *uri)
{
	uint64_t h = XXH3_64bits(uri, strlen(uri));
	if (s3_known(c, uri, h))
		return;
	struct fp_record rec = {0};
	memo_put(c, uri, h, &rec)->kind = M_S3_WANTED;
	c->nwanted++;
}

int fp_s3_fetch(struct fp_ctx *c)
{
	if (!c->nwanted)
		return 0;
	struct s3_op *ops = xcalloc(c->nwanted, sizeof(*ops));
	const char **uris = xcalloc(c->nwanted, sizeof(*uris)); /* memo's strings */
	char **buckets = xcalloc(c->nwanted, sizeof(*buckets));
	char **keys = xcalloc(c->nwanted, sizeof(*keys));
	size_t n = 0;
	int ret = 0;
	for (size_t i = 0; i < c->capmemo && n < c->nwanted; i++) {
		struct memo *m = &c->memo[i];
		if (!m->path || m->kind != M_S3_WANTED)
			continue;
		if (s3_uri_split(m->path, &buckets[n], &keys[n]) < 0 || !keys[n][0]) {
			warn("cannot read '%s': not an s3://bucket/key URI", m->path);
			ret = -1;
			break;
		}
		ops[n].kind = S3_HEAD;
		ops[n].bucket = buckets[n];
		ops[n].key = keys[n];
		uris[n++] = m->path;
	}
	int64_t checked = now_ns();
	/* Objects with one HeadObject each, at once; prefixes listed (and
	 * their ops left out of the HEADs). */
	size_t nh = 0;
	for (size_t i = 0; i < n && ret == 0; i++) {
		if (!is_prefix(uris[i]))
			continue;
		struct s3_client *cl = cloud_s3_for(buckets[i]);
		if (!cl || list_prefix(cl, &ops[i]) < 0)
			ret = -1;
	}
	/* the input buckets (--input-profile) with a client of their own */
	struct s3_op *heads = xcalloc(n + 1, sizeof(*heads));
	size_t *from = xcalloc(n + 1, sizeof(size_t));
	for (int input = 0; input < 2 && ret == 0; input++) {
		nh = 0;
		for (size_t i = 0; i < n; i++)
			if (!is_prefix(uris[i]) && cloud_is_input_bucket(buckets[i]) == (input == 1)) {
				heads[nh] = ops[i];
				from[nh++] = i;
			}
		if (!nh)
			continue;
		struct s3_client *cl = input ? cloud_s3_for(heads[0].bucket) : cloud_s3();
		if (!cl || s3_run(cl, heads, nh) < 0)
			ret = -1;
		for (size_t j = 0; j < nh; j++)
			ops[from[j]] = heads[j];
	}
	free(heads);
	free(from);
	size_t failed = 0;
	bool said_shared = false;
	for (size_t i = 0; i < n; i++) {
		if (ops[i].error) {
			/* no credentials or no connection: the same cause for
			 * every input, said once */
			enum aws_error_kind k = ops[i].error->kind;
			if (k == AWS_ERR_CREDENTIALS || k == AWS_ERR_TRANSPORT) {
				if (!said_shared)
					cloud_warn(ops[i].error);
				said_shared = true;
			} else if (failed++ < 5) {
				cloud_warn(ops[i].error);
			}
			continue;
		}
		if (ret < 0)
			continue;
		/* memo entries move as it grows: find each again by its URI */
		const char *uri = uris[i];
		s3_remember(c, uri, XXH3_64bits(uri, strlen(uri)), ops[i].found, ops[i].size, checked,
			    ops[i].etag, strlen(ops[i].etag));
		c->stats.headed++;
		if (!ops[i].found)
			c->stats.missing++;
		if (c->st) {
			size_t el = strlen(ops[i].etag);
			uint8_t rec[S3REC_HEAD + sizeof(ops[i].etag)];
			memcpy(rec, &ops[i].size, 8);
			memcpy(rec + 8, &checked, 8);
			rec[16] = (uint8_t)(ops[i].found != 0);
			memcpy(rec + S3REC_HEAD, ops[i].etag, el);
			state_put(c->st, STATE_FP, uri, strlen(uri), rec, S3REC_HEAD + el);
		}
	}
	if (failed > 5)
		warn("... and %zu more inputs could not be read", failed - 5);
	for (size_t i = 0; i < n; i++) {
		s3_op_free(&ops[i]);
		free(buckets[i]);
		free(keys[i]);
	}
	free(ops);
	free(uris);
	free(buckets);
	free(keys);
	c->nwanted = 0;
	return ret;
}

int fp_s3(struct fp_ctx *c, const char *uri, char out[FP_MAX])
{
	uint64_t h = XXH3_64bits(uri, strlen(uri));
	struct memo *m = s3_known(c, uri, h);
	if (!m || m->kind == M_S3_WANTED) {
		fp_s3_want(c, uri);
		if (fp_s3_fetch(c) < 0)
			return -1;
		m = memo_find(c, uri, h);
	}
	if (m->kind == M_S3_MISSING)
		return 0;
	format_s3(m, out);
	return 1;
}
