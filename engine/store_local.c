/* store_local.c - the store on a local output root. An up-to-date instance
 * costs one stat() of its ok sentinel; only instances without one have
 * their sentinel folder listed. */
#include "engine/store.h"
#include "rules/rules.h"
#include "runner/layout.h"
#include "runner/sentinel.h"
#include "lib/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct local_store {
	struct store base;
	struct buf path;  /* reused for the ok-sentinel probe */
	struct buf rel;   /* the same path relative to dirfd */
	struct buf dir;   /* layout_sentinel_root(root, target) */
	char *target;     /* whose sentinel folder dirfd is */
	int dirfd;        /* layout_sentinel_root(root, target), or -1 */
	int dir_errno;    /* why dirfd is -1 */
};

static void local_close(struct store *st)
{
	struct local_store *s = (struct local_store *)st;
	if (s->dirfd >= 0)
		close(s->dirfd);
	free(s->target);
	free(s->base.root);
	buf_free(&s->path);
	buf_free(&s->rel);
	buf_free(&s->dir);
	free(s);
}

/* Keep the target's sentinel folder open: probing relative to it spares
 * the kernel the walk down the whole absolute path for every instance.
 * A folder that was missing is looked for again: a build creates it. */
static void local_open_dir(struct local_store *s, const char *target)
{
	if (s->target && !strcmp(s->target, target) && s->dirfd >= 0)
		return;
	if (s->dirfd >= 0)
		close(s->dirfd);
	free(s->target);
	s->target = xstrdup(target);
	buf_reset(&s->dir);
	layout_put_sentinel_root(&s->dir, s->base.root, target);
	s->dirfd = open(s->dir.data, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	s->dir_errno = s->dirfd < 0 ? errno : 0;
}

/* 1 after a warning when an instance folder is there but cannot be one
 * (a file where a wildcard's folder should be, a symbolic link loop, a
 * folder that cannot be read): that instance counts as never built. 0
 * when it is a folder or is missing. */
static int bad_instance_dir(const char *dir)
{
	struct stat st;
	if (stat(dir, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return 0;
		warn("warning: ignoring sentinel folder '%s': it is not a directory", dir);
		return 1;
	}
	if (errno == ENOENT)
		return 0;
	warn("warning: ignoring sentinel folder '%s': %s", dir, strerror(errno));
	return 1;
}

static int local_lookup(struct store *base, const char *target, const char *const *values,
			size_t nvalues, const char *key, struct lookup *out)
{
	struct local_store *s = (struct local_store *)base;
	memset(out, 0, sizeof(*out));
	local_open_dir(s, target);
	buf_reset(&s->rel);
	size_t rdir = sentinel_name_put(&s->rel, values, nvalues, key, SENT_OK, NULL);
	buf_reset(&s->path);
	buf_putn(&s->path, s->dir.data, s->dir.len);
	size_t dirlen = s->path.len + rdir;
	buf_puts(&s->path, s->rel.data);
	struct stat st;
	if (s->dirfd < 0) {
		/* no sentinel folder yet: nothing was ever built (or it is unreadable) */
		if (s->dir_errno != ENOENT && s->dir_errno != ENOTDIR) {
			warn("cannot read '%s': %s", s->dir.data, strerror(s->dir_errno));
			return -1;
		}
		return 0;
	}
	/* Only a regular file is an ok sentinel; anything else at its name
	 * (warned about by the listing below) leaves the instance stale. */
	if (fstatat(s->dirfd, s->rel.data, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISREG(st.st_mode)) {
			out->state = LK_OK;
			out->ok_id.ino = (uint64_t)st.st_ino;
			out->ok_id.size = (uint64_t)st.st_size;
			out->ok_id.mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
			out->ok_id.ctime_ns = (int64_t)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec;
			return 0;
		}
	}
	s->path.data[dirlen] = 0;
	s->path.len = dirlen;
	/* A broken instance folder costs that instance, never the plan. */
	if (bad_instance_dir(s->path.data))
		return 0;
	struct sentinel_entry *e = NULL;
	size_t n = 0;
	if (sentinel_list(s->path.data, &e, &n) < 0)
		return 0;
	int ret = 0;
	int64_t cur_t = -1;
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(e[i].key, key)) {
			if (e[i].state == SENT_RUNNING) {
				char *p = sentinel_path(s->path.data, key, SENT_RUNNING);
				int live = sentinel_running_live(p);
				free(p);
				if (live < 0) {
					ret = -1;
					break;
				}
				if (live) {
					out->state = LK_RUNNING;
					cur_t = INT64_MAX;
				} else if (e[i].mtime_ns > cur_t) {
					out->state = LK_INTERRUPTED;
					cur_t = e[i].mtime_ns;
				}
			} else if (e[i].state == SENT_FAILED && e[i].mtime_ns > cur_t) {
				out->state = LK_FAILED;
				cur_t = e[i].mtime_ns;
			} else if (e[i].state == SENT_OK) {
				out->state = LK_OK; /* appeared since the stat */
				cur_t = INT64_MAX;
			}
		} else if (e[i].state == SENT_OK && !out->old_ok) {
			memcpy(out->old_key, e[i].key, 33);
			out->old_ok = 1;
		} else if (e[i].state == SENT_FAILED && !out->old_key[0]) {
			memcpy(out->old_key, e[i].key, 33);
		}
	}
	free(e);
	return ret;
}

static char *local_read(struct store *s, const char *target, const char *const *values,
			size_t nvalues, const char *key, enum sentinel_state state, size_t *len)
{
	char *dir = sentinel_dir(s->root, target, values, nvalues);
	char *body = sentinel_read(dir, key, state, len);
	free(dir);
	return body;
}

/* ---- scan: walk the sentinel folders down to the instances ---- */

struct walk {
	scan_fn fn;
	void *ctx;
	size_t nvalues;
	const char **vals;
};

/* One instance folder: what its sentinels say (scan_state in store.h). */
static int scan_instance(struct walk *w, const char *dir)
{
	struct sentinel_entry *e = NULL;
	size_t n = 0;
	if (bad_instance_dir(dir) || sentinel_list(dir, &e, &n) < 0)
		return 0; /* said why; the other instances go on */
	if (n == 0)
		return 0;
	struct scan_entry se = {.values = w->vals, .nvalues = w->nvalues};
	int st = -1;
	for (size_t i = 0; i < n && st < 0; i++) {
		if (e[i].state != SENT_RUNNING)
			continue;
		char *p = sentinel_path(dir, e[i].key, SENT_RUNNING);
		if (sentinel_running_live(p) == 1) {
			st = SCAN_RUNNING;
			memcpy(se.key, e[i].key, 33);
		}
		free(p);
	}
	if (st < 0) {
		st = e[0].state == SENT_OK ? SCAN_OK : e[0].state == SENT_FAILED ? SCAN_FAILED : SCAN_INTERRUPTED;
		memcpy(se.key, e[0].key, 33);
	}
	se.state = (enum scan_state)st;
	free(e);
	return w->fn(w->ctx, &se);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int walk(struct walk *w, const char *dir, size_t depth)
{
	if (depth == w->nvalues)
		return scan_instance(w, dir);
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	char **names = NULL;
	size_t nn = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		GROW(names, cap, nn + 1);
		names[nn++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (nn)
		qsort(names, nn, sizeof(char *), cmp_names);
	int ret = 0;
	for (size_t i = 0; i < nn && ret == 0; i++) {
		w->vals[depth] = names[i];
		char *sub = xasprintf("%s%s/", dir, names[i]);
		ret = walk(w, sub, depth + 1);
		free(sub);
	}
	for (size_t i = 0; i < nn; i++)
		free(names[i]);
	free(names);
	return ret;
}

static int local_scan(struct store *s, const char *target, size_t nvalues, scan_fn fn, void *ctx)
{
	const char *vals[RULES_MAX_WILDCARDS + 1];
	struct walk w = {fn, ctx, nvalues, vals};
	if (nvalues > RULES_MAX_WILDCARDS)
		return -1;
	char *dir = layout_sentinel_root(s->root, target);
	int r = walk(&w, dir, 0);
	free(dir);
	return r;
}

/* 1 when pid is no process of this machine. */
static int pid_dead(long pid)
{
	return pid > 0 && pid != (long)getpid() && kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

static int local_sweep(struct store *s)
{
	char *root = layout_scratch_root(s->root);
	DIR *d = opendir(root);
	int ret = 0;
	if (!d) {
		free(root);
		return 0; /* none yet (or unreadable: the runner will say) */
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		/* <32 hex key>.<pid> (layout_scratch) */
		const char *n = de->d_name;
		size_t len = strlen(n);
		if (len < 34 || n[32] != '.' || strspn(n, "0123456789abcdef") != 32 ||
		    strspn(n + 33, "0123456789") != len - 33 || len - 33 > 10)
			continue;
		if (!pid_dead(strtol(n + 33, NULL, 10)))
			continue;
		char *p = path_join(root, n);
		if (remove_tree(p) < 0) {
			warn("cannot remove '%s': %s", p, strerror(errno));
			ret = -1;
		}
		free(p);
	}
	closedir(d);
	free(root);
	return ret;
}

static const struct store_ops local_ops = {
	.kind = "local",
	.prepare = NULL,
	.lookup = local_lookup,
	.read = local_read,
	.scan = local_scan,
	.sweep = local_sweep,
	.close = local_close,
};

struct store *store_open_local(const char *root)
{
	struct local_store *s = xcalloc(1, sizeof(*s));
	s->dirfd = -1;
	s->base.ops = &local_ops;
	s->base.root = xstrdup(root);
	return &s->base;
}
