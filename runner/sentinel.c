/* sentinel.c - sentinels on a local output root: paths, listing, atomic
 * writes, and the claim that keeps two runners off one instance.
 *
 * A claim is an exclusive flock on <key>.running.json held for as long as
 * the runner works. The file is created under a temporary name, locked,
 * and only then given its real name, so no other process ever sees an
 * unlocked running sentinel that belongs to a live runner. A stale running
 * sentinel (its runner died, the kernel dropped the lock) is taken over by
 * locking it first and then renaming the new one over it; whoever does not
 * get that lock backs off as busy. Every lock is re-checked against the
 * path's current inode, because the file may have been replaced between
 * open and flock. */
#include "runner/sentinel.h"
#include "runner/layout.h"
#include "lib/util.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct sentinel_claim {
	int fd;
	char *path;
	dev_t dev;
	ino_t ino;
};

char *sentinel_dir(const char *root, const char *target,
		   const char *const *values, size_t nvalues)
{
	return layout_sentinel_dir(root, target, values, nvalues);
}

char *sentinel_path(const char *dir, const char *key, enum sentinel_state s)
{
	struct buf b = {0};
	buf_puts(&b, dir);
	sentinel_base_put(&b, key, s, NULL);
	return buf_detach(&b);
}

const char *not_regular(mode_t mode)
{
	if (S_ISDIR(mode))
		return "it is a directory";
	if (S_ISLNK(mode))
		return "it is a symbolic link";
	return "it is not a regular file";
}

static int entry_cmp(const void *a, const void *b)
{
	const struct sentinel_entry *x = a, *y = b;
	if (x->mtime_ns != y->mtime_ns)
		return x->mtime_ns > y->mtime_ns ? -1 : 1;
	int c = strcmp(x->key, y->key);
	if (c)
		return c;
	return (int)x->state - (int)y->state;
}

int sentinel_list(const char *dir, struct sentinel_entry **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	DIR *d = opendir(dir);
	if (!d) {
		if (errno == ENOENT)
			return 0;
		warn("cannot list '%s': %s", dir, strerror(errno));
		return -1;
	}
	struct sentinel_entry *v = NULL;
	size_t len = 0, cap = 0;
	int ret = -1;
	struct dirent *de;
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno) {
				warn("cannot list '%s': %s", dir, strerror(errno));
				goto out;
			}
			break;
		}
		struct sentinel_entry e;
		struct sentinel_name nm;
		if (sentinel_name_parse(de->d_name, strlen(de->d_name), &nm) < 0 || nm.ndirs ||
		    nm.holder[0]) /* a local running sentinel names no holder */
			continue;
		memcpy(e.key, nm.key, 33);
		e.state = nm.state;
		struct stat st;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT) /* removed since readdir */
				continue;
			warn("cannot stat '%s%s': %s", dir, de->d_name, strerror(errno));
			goto out;
		}
		if (!S_ISREG(st.st_mode)) {
			/* Sentinels are written by rename: anything else at such a
			 * name was put there by hand or by a broken disk. */
			warn("warning: ignoring sentinel '%s%s': %s", dir, de->d_name, not_regular(st.st_mode));
			continue;
		}
		e.mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
		GROW(v, cap, len + 1);
		v[len++] = e;
	}
	if (len)
		qsort(v, len, sizeof(*v), entry_cmp);
	*out = v;
	*n = len;
	v = NULL;
	ret = 0;
out:
	free(v);
	closedir(d);
	return ret;
}

static int open_ro(const char *path)
{
	int fd;
	do
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	while (fd < 0 && errno == EINTR);
	return fd;
}

/* flock that retries on EINTR. */
static int lock_fd(int fd, int op)
{
	int r;
	do
		r = flock(fd, op);
	while (r < 0 && errno == EINTR);
	return r;
}

/* 1 when path names the same file as fd, 0 when not (or gone), -1. */
static int same_file(const char *path, int fd)
{
	struct stat a, b;
	if (fstat(fd, &a) < 0)
		return -1;
	if (stat(path, &b) < 0)
		return errno == ENOENT ? 0 : -1;
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int sentinel_running_live(const char *path)
{
	int fd = open_ro(path);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		warn("cannot open '%s': %s", path, strerror(errno));
		return -1;
	}
	/* A shared lock is enough to tell: the owner holds an exclusive one,
	 * and two checkers never get in each other's way. */
	int ret;
	if (lock_fd(fd, LOCK_SH | LOCK_NB) == 0)
		ret = 0;
	else if (errno == EWOULDBLOCK)
		ret = 1;
	else {
		warn("cannot lock '%s': %s", path, strerror(errno));
		ret = -1;
	}
	close(fd);
	return ret;
}

int sentinel_write(const char *dir, const char *key, enum sentinel_state s,
		   const char *body, size_t len)
{
	char *path = sentinel_path(dir, key, s);
	int ret = write_file_atomic(path, body, len);
	if (ret < 0)
		warn("cannot write '%s': %s", path, strerror(errno));
	/* The rename is durable only once the folder is: an ok sentinel
	 * must not vanish in a crash after its instance was reported built. */
	else if (s == SENT_OK && (ret = fsync_path(dir)) < 0)
		warn("cannot sync '%s': %s", dir, strerror(errno));
	free(path);
	return ret;
}

int sentinel_drop_ok(const char *dir, char **reason)
{
	DIR *d = opendir(dir);
	if (!d) {
		if (errno == ENOENT)
			return 0;
		*reason = xasprintf("cannot list '%s': %s", dir, strerror(errno));
		return -1;
	}
	int ret = 0;
	bool removed = false;
	struct dirent *de;
	for (;;) {
		errno = 0;
		if (!(de = readdir(d))) {
			if (errno) {
				*reason = xasprintf("cannot list '%s': %s", dir, strerror(errno));
				ret = -1;
			}
			break;
		}
		struct sentinel_name nm;
		if (sentinel_name_parse(de->d_name, strlen(de->d_name), &nm) < 0 || nm.ndirs ||
		    nm.state != SENT_OK)
			continue;
		char *p = xasprintf("%s%s", dir, de->d_name);
		int r = unlinkat(dirfd(d), de->d_name, 0);
		if (r < 0 && errno == EISDIR) /* not a sentinel, but at an ok's name */
			r = remove_tree(p);
		if (r < 0 && errno != ENOENT) {
			*reason = xasprintf("cannot remove '%s': %s", p, strerror(errno));
			free(p);
			ret = -1;
			break;
		}
		free(p);
		removed = true;
	}
	if (removed && ret == 0 && fsync(dirfd(d)) < 0) {
		*reason = xasprintf("cannot sync '%s': %s", dir, strerror(errno));
		ret = -1;
	}
	closedir(d);
	return ret;
}

char *sentinel_read(const char *dir, const char *key, enum sentinel_state s,
		    size_t *len)
{
	char *path = sentinel_path(dir, key, s);
	char *body = read_file(path, len);
	if (!body)
		warn("cannot read '%s': %s", path, strerror(errno));
	free(path);
	return body;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Only a regular file is a sentinel (not_regular in sentinel.h). */
static int regular(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Anything but a regular file at an ok sentinel's name would make the ok
 * rename fail: the claimer, who owns the instance now, removes it. */
static int clear_irregular(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0 || S_ISREG(st.st_mode))
		return 0;
	if ((S_ISDIR(st.st_mode) ? remove_tree(path) : unlink(path)) < 0 && errno != ENOENT) {
		warn("cannot remove '%s': %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Put the locked temp file at path. 1 done, 0 busy, -1 error (errno). A
 * lock on the existing file can also be held for a moment by a liveness
 * check or a pruning runner, so a busy lock is retried a few times before
 * it counts as a live runner. */
static int install(const char *tmp, const char *path)
{
	int busy_tries = 0;
	for (;;) {
		int efd = open_ro(path);
		if (efd < 0) {
			if (errno != ENOENT)
				return -1;
			/* No running sentinel: link fails if one appears now. */
			if (link(tmp, path) == 0) {
				unlink(tmp);
				return 1;
			}
			if (errno == EEXIST)
				continue;
			return -1;
		}
		if (lock_fd(efd, LOCK_EX | LOCK_NB) < 0) {
			int e = errno;
			close(efd);
			if (e != EWOULDBLOCK) {
				errno = e;
				return -1;
			}
			if (++busy_tries >= 5)
				return 0;
			struct timespec ts = {0, 20 * 1000000};
			nanosleep(&ts, NULL);
			continue;
		}
		/* We hold the old file's lock; is it still the one at path? */
		int same = same_file(path, efd);
		if (same <= 0) {
			int e = errno;
			close(efd);
			if (same < 0) {
				errno = e;
				return -1;
			}
			continue;
		}
		int r = rename(tmp, path);
		int e = errno;
		close(efd);
		if (r < 0) {
			errno = e;
			return -1;
		}
		return 1;
	}
}

/* The instance folder is rapid's: a file or a broken symbolic link at its
 * name (which plan warned about) is removed, so the claim can make it.
 * Failing that, mkdir_p says why. */
static void clear_non_dir(const char *dir)
{
	char *p = xstrndup(dir, strlen(dir) - (dir[0] && dir[strlen(dir) - 1] == '/'));
	struct stat st, to;
	/* (a symbolic link to a folder works, and stays) */
	if (lstat(p, &st) == 0 && !S_ISDIR(st.st_mode) && (stat(p, &to) < 0 || !S_ISDIR(to.st_mode)))
		unlink(p);
	free(p);
}

/* Remove the temporary files (<name>.tmp.<pid> of write_file_atomic,
 * <name>.tmp.<pid>.<n> of a claim) that runners of this instance which
 * no longer live on this machine left in dir. The claim is ours, so no
 * live runner of the instance is writing one now. */
static void remove_dead_tmp(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		const char *t = strstr(de->d_name, ".tmp.");
		if (!t)
			continue;
		char *end;
		errno = 0;
		long pid = strtol(t + 5, &end, 10);
		if (errno || end == t + 5 || (*end && *end != '.') || pid <= 0 || pid == (long)getpid())
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT && errno != EISDIR)
			warn("cannot remove '%s%s': %s", dir, de->d_name, strerror(errno));
	}
	closedir(d);
}

static int claim(const char *dir, const char *key, const char *body,
		 size_t len, bool force, struct sentinel_claim **out)
{
	static unsigned counter;
	char *path = sentinel_path(dir, key, SENT_RUNNING);
	char *okpath = sentinel_path(dir, key, SENT_OK);
	char *tmp = xasprintf("%s.tmp.%ld.%u", path, (long)getpid(), counter++);
	int fd = -1, ret = -1;
	*out = NULL;
	if (!force && regular(okpath)) {
		ret = 0;
		goto out;
	}
	clear_non_dir(dir);
	if (mkdir_p(dir, 0777) < 0) {
		warn("cannot create '%s': %s", dir, strerror(errno));
		goto out;
	}
	do
		fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	while (fd < 0 && errno == EINTR);
	if (fd < 0) {
		warn("cannot create '%s': %s", tmp, strerror(errno));
		goto out;
	}
	if (write_all(fd, body, len) < 0 || lock_fd(fd, LOCK_EX | LOCK_NB) < 0) {
		warn("cannot write '%s': %s", tmp, strerror(errno));
		goto out;
	}
	int r = install(tmp, path);
	if (r < 0) {
		warn("cannot claim '%s': %s", path, strerror(errno));
		goto out;
	}
	if (r == 0) {
		ret = 0;
		goto out;
	}
	int same = same_file(path, fd);
	if (same < 0) {
		warn("cannot stat '%s': %s", path, strerror(errno));
		goto out;
	}
	if (same == 0) { /* cannot happen while we hold the lock; be safe */
		ret = 0;
		goto out;
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		/* Ours and still locked: take it back rather than leave what
		 * would look like an interrupted runner's. */
		warn("cannot stat '%s': %s", path, strerror(errno));
		unlink(path);
		goto out;
	}
	struct sentinel_claim *c = xcalloc(1, sizeof(*c));
	c->fd = fd;
	c->path = path;
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	fd = -1;
	path = NULL;
	if (!force && regular(okpath)) { /* built while we were getting here */
		sentinel_release(c);
		ret = 0;
		goto out;
	}
	if (clear_irregular(okpath) < 0) {
		sentinel_release(c);
		goto out;
	}
	remove_dead_tmp(dir);
	*out = c;
	ret = 1;
out:
	if (fd >= 0)
		close(fd);
	unlink(tmp); /* gone already unless we failed */
	free(tmp);
	free(okpath);
	free(path);
	return ret;
}

int sentinel_claim(const char *dir, const char *key, const char *body,
		   size_t len, struct sentinel_claim **out)
{
	return claim(dir, key, body, len, false, out);
}

int sentinel_claim_force(const char *dir, const char *key, const char *body,
			 size_t len, struct sentinel_claim **out)
{
	return claim(dir, key, body, len, true, out);
}

void sentinel_release(struct sentinel_claim *c)
{
	if (!c)
		return;
	struct stat st;
	/* Still under our lock, so nobody can replace it between the check
	 * and the unlink. */
	if (stat(c->path, &st) == 0 && st.st_dev == c->dev && st.st_ino == c->ino)
		unlink(c->path);
	close(c->fd);
	free(c->path);
	free(c);
}

int sentinel_commit_ok(struct sentinel_claim *c, const char *dir, const char *key,
		       const char *body, size_t len)
{
	char *okpath = sentinel_path(dir, key, SENT_OK);
	struct stat st;
	int ret = -1;
	/* Under our lock the file at the running name is ours: it becomes
	 * the ok sentinel (content synced before the rename, the folder
	 * after), and no inode is made or freed for it. */
	if (stat(c->path, &st) < 0 || st.st_dev != c->dev || st.st_ino != c->ino) {
		ret = sentinel_write(dir, key, SENT_OK, body, len); /* not ours any more */
		goto out;
	}
	if (ftruncate(c->fd, 0) < 0 || lseek(c->fd, 0, SEEK_SET) < 0 || write_all(c->fd, body, len) < 0 ||
	    fsync(c->fd) < 0) {
		warn("cannot write '%s': %s", c->path, strerror(errno));
		goto out;
	}
	if (rename(c->path, okpath) < 0) {
		warn("cannot write '%s': %s", okpath, strerror(errno));
		goto out;
	}
	if (fsync_path(dir) < 0) {
		warn("cannot sync '%s': %s", dir, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	free(okpath);
	return ret;
}

int sentinel_abandon(struct sentinel_claim *c, const char *body, size_t len)
{
	int ret = 0;
	struct stat st;
	/* Still under our lock: the file at the name is ours, and the new
	 * one carries no lock once it is renamed over it. */
	if (body && stat(c->path, &st) == 0 && st.st_dev == c->dev && st.st_ino == c->ino &&
	    write_file_atomic(c->path, body, len) < 0) {
		warn("cannot write '%s': %s", c->path, strerror(errno));
		ret = -1;
	}
	close(c->fd);
	free(c->path);
	free(c);
	return ret;
}

/* Remove a running sentinel unless a live runner holds it: lock it, make
 * sure it is still the file at path, unlink it under the lock. */
static int remove_stale_running(const char *path)
{
	int fd = open_ro(path);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	int ret = 0, e = 0;
	if (lock_fd(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK) /* else live: keep it */
			ret = -1;
	} else {
		int same = same_file(path, fd);
		if (same < 0 || (same && unlink(path) < 0 && errno != ENOENT))
			ret = -1;
	}
	e = errno;
	close(fd);
	errno = e;
	return ret;
}

int sentinel_prune(const char *dir, const char *key)
{
	struct sentinel_entry *v;
	size_t n;
	if (sentinel_list(dir, &v, &n) < 0)
		return -1;
	int ret = 0;
	for (size_t i = 0; i < n; i++) {
		if (v[i].state == SENT_OK && !strcmp(v[i].key, key))
			continue;
		char *path = sentinel_path(dir, v[i].key, v[i].state);
		int r;
		if (v[i].state == SENT_RUNNING)
			r = remove_stale_running(path);
		else
			r = unlink(path) < 0 && errno != ENOENT ? -1 : 0;
		if (r < 0) {
			warn("cannot remove '%s': %s", path, strerror(errno));
			ret = -1;
		}
		free(path);
	}
	free(v);
	return ret;
}
