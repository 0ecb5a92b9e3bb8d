/* store_local.c - the store on a local output root. An up-to-date instance
 * costs one stat() of its ok sentinel; only instances without one have
 * their sentinel folder listed. */
#include "engine/store.h"
#include "runner/layout.h"
#include "runner/sentinel.h"
#include "lib/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct local_store {
	struct store base;
	struct buf path;  /* reused for the ok-sentinel probe */
	struct buf rel;   /* the same path relative to dirfd */
	char *target;     /* whose sentinel folder dirfd is */
	int dirfd;        /* layout_sentinel_root(root, target), or -1 */
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
	free(s);
}

/* Keep the target's sentinel folder open: probing relative to it spares
 * the kernel the walk down the whole absolute path for every instance. */
static void local_open_dir(struct local_store *s, const char *target)
{
	if (s->target && !strcmp(s->target, target))
		return;
	if (s->dirfd >= 0)
		close(s->dirfd);
	free(s->target);
	s->target = xstrdup(target);
	buf_reset(&s->path);
	layout_put_sentinel_root(&s->path, s->base.root, target);
	s->dirfd = open(s->path.data, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static enum sentinel_state state_from_name(const char *state)
{
	if (!strcmp(state, "ok"))
		return SENT_OK;
	if (!strcmp(state, "failed"))
		return SENT_FAILED;
	return SENT_RUNNING;
}

static int local_lookup(struct store *base, const char *target, const char *const *values,
			size_t nvalues, const char *key, struct lookup *out)
{
	struct local_store *s = (struct local_store *)base;
	memset(out, 0, sizeof(*out));
	local_open_dir(s, target);
	buf_reset(&s->rel);
	for (size_t k = 0; k < nvalues; k++) {
		buf_puts(&s->rel, values[k]);
		buf_putc(&s->rel, '/');
	}
	size_t rdir = s->rel.len;
	buf_puts(&s->rel, key);
	buf_puts(&s->rel, ".ok.json");
	buf_reset(&s->path);
	layout_put_sentinel_root(&s->path, s->base.root, target);
	size_t dirlen = s->path.len + rdir;
	buf_puts(&s->path, s->rel.data);
	struct stat st;
	if (s->dirfd < 0) {
		/* no sentinel folder yet: nothing was ever built (or it is unreadable) */
		if (errno != ENOENT && errno != ENOTDIR) {
			warn("cannot read '%s': %s", s->path.data, strerror(errno));
			return -1;
		}
		return 0;
	}
	if (fstatat(s->dirfd, s->rel.data, &st, 0) == 0) {
		out->state = LK_OK;
		return 0;
	}
	if (errno != ENOENT && errno != ENOTDIR) {
		warn("cannot read '%s': %s", s->path.data, strerror(errno));
		return -1;
	}
	s->path.data[dirlen] = 0;
	s->path.len = dirlen;
	struct sentinel_entry *e = NULL;
	size_t n = 0;
	if (sentinel_list(s->path.data, &e, &n) < 0)
		return -1;
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
			size_t nvalues, const char *key, const char *state, size_t *len)
{
	char *dir = sentinel_dir(s->root, target, values, nvalues);
	char *body = sentinel_read(dir, key, state_from_name(state), len);
	free(dir);
	return body;
}

static const struct store_ops local_ops = {
	.kind = "local",
	.prepare = NULL,
	.lookup = local_lookup,
	.read = local_read,
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
