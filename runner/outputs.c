/* outputs.c - what happens to a recipe's outputs after it exited 0, in the
 * local mode: check, hash, rename into place. The container mode will
 * upload instead of renaming; checking and hashing stay the same. */
#include "runner/outputs.h"
#include "lib/hash.h"
#include "runner/spec.h"
#include "lib/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int outputs_hash_file(const char *path, char hex[33], uint64_t *size)
{
	uint8_t h[16];
	if (hash_file(path, h, size) < 0)
		return -1;
	hex_encode(h, sizeof h, hex);
	return 0;
}

/* A copy of p without trailing slashes (but "/" stays). */
static char *strip_slash(const char *p)
{
	size_t n = strlen(p);
	while (n > 1 && p[n - 1] == '/')
		n--;
	return xstrndup(p, n);
}

int outputs_check(const struct spec *s, char *const *scratch, char **reason)
{
	for (size_t i = 0; i < s->noutputs; i++) {
		struct stat st;
		char *p = strip_slash(scratch[i]);
		int r = lstat(p, &st);
		free(p);
		bool good = r == 0 && (s->outputs[i].dir ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode));
		if (!good) {
			*reason = xasprintf("output '%s' was not produced", s->outputs[i].name);
			return -1;
		}
	}
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Hash every regular file under dir (rel is its path inside the output,
 * "" at the top), children in name order. */
static int hash_tree(size_t output, const char *dir, const char *rel,
		     struct out_files *f, char **reason)
{
	DIR *d = opendir(dir);
	if (!d) {
		*reason = xasprintf("cannot list '%s': %s", dir, strerror(errno));
		return -1;
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	int ret = -1;
	errno = 0;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		GROW(names, cap, n + 1);
		names[n++] = xstrdup(de->d_name);
		errno = 0;
	}
	if (errno) {
		*reason = xasprintf("cannot list '%s': %s", dir, strerror(errno));
		goto out;
	}
	if (n)
		qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; i < n; i++) {
		char *full = path_join(dir, names[i]);
		char *r = rel[0] ? xasprintf("%s/%s", rel, names[i]) : xstrdup(names[i]);
		struct stat st;
		int res = 0;
		if (lstat(full, &st) < 0) {
			*reason = xasprintf("cannot stat '%s': %s", full, strerror(errno));
			res = -1;
		} else if (S_ISDIR(st.st_mode)) {
			res = hash_tree(output, full, r, f, reason);
		} else if (S_ISREG(st.st_mode)) {
			GROW(f->v, f->cap, f->n + 1);
			struct out_file *o = &f->v[f->n];
			o->etag[0] = 0;
			if (outputs_hash_file(full, o->xxh3, &o->size) < 0) {
				*reason = xasprintf("cannot read '%s': %s", full, strerror(errno));
				res = -1;
			} else {
				o->output = output;
				o->rel = r;
				r = NULL;
				f->n++;
			}
		}
		free(full);
		free(r);
		if (res < 0)
			goto out;
	}
	ret = 0;
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return ret;
}

int outputs_hash(const struct spec *s, char *const *scratch, struct out_files *f, char **reason)
{
	for (size_t i = 0; i < s->noutputs; i++) {
		if (s->outputs[i].dir) {
			if (hash_tree(i, scratch[i], "", f, reason) < 0)
				return -1;
			continue;
		}
		GROW(f->v, f->cap, f->n + 1);
		struct out_file *o = &f->v[f->n];
		o->etag[0] = 0;
		if (outputs_hash_file(scratch[i], o->xxh3, &o->size) < 0) {
			*reason = xasprintf("cannot read '%s': %s", scratch[i], strerror(errno));
			return -1;
		}
		const char *base = strrchr(scratch[i], '/');
		o->output = i;
		o->rel = xstrdup(base ? base + 1 : scratch[i]);
		f->n++;
	}
	return 0;
}

/* The folders whose entries publishing changed: each is synced once,
 * after every output is in place and before the ok sentinel. */
struct dirset {
	char **v;
	size_t n, cap;
};

static void dirset_add(struct dirset *ds, const char *dir)
{
	for (size_t i = 0; i < ds->n; i++)
		if (!strcmp(ds->v[i], dir))
			return;
	GROW(ds->v, ds->cap, ds->n + 1);
	ds->v[ds->n++] = xstrdup(dir);
}

static void dirset_free(struct dirset *ds)
{
	for (size_t i = 0; i < ds->n; i++)
		free(ds->v[i]);
	free(ds->v);
}

/* mkdir_p_each's callback: a folder it made is an entry of its parent. */
static void made_dir(const char *dir, void *arg)
{
	char *parent = path_dirname(dir);
	dirset_add(arg, parent);
	free(parent);
}

/* fsync every regular file and folder of the tree at path (a file: just
 * itself), so that its content is on disk before it is published. */
static int sync_tree(const char *path, char **reason)
{
	struct stat st;
	if (lstat(path, &st) < 0) {
		*reason = xasprintf("cannot stat '%s': %s", path, strerror(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		DIR *d = opendir(path);
		if (!d) {
			*reason = xasprintf("cannot list '%s': %s", path, strerror(errno));
			return -1;
		}
		struct dirent *de;
		int ret = 0;
		while (ret == 0 && (de = readdir(d))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			char *c = path_join(path, de->d_name);
			ret = sync_tree(c, reason);
			free(c);
		}
		if (ret == 0 && fsync(dirfd(d)) < 0) {
			*reason = xasprintf("cannot sync '%s': %s", path, strerror(errno));
			ret = -1;
		}
		closedir(d);
		return ret;
	}
	if (!S_ISREG(st.st_mode)) /* a symbolic link: nothing of its own to sync */
		return 0;
	if (fsync_path(path) < 0) {
		*reason = xasprintf("cannot sync '%s': %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Replace the directory dest by src. The old one is moved aside into
 * trash first and removed only once the new one is in place; if the new
 * one cannot go in, the old one is put back, and if even that fails it
 * is left in trash, whole, and the reason says where. (No ok sentinel
 * describes either by then: the caller removed them first.) */
static int move_dir(const char *src, const char *dest, const char *name,
		    const char *trash, char **reason)
{
	struct stat st;
	if (lstat(dest, &st) < 0) {
		if (errno != ENOENT) {
			*reason = xasprintf("cannot stat '%s': %s", dest, strerror(errno));
			return -1;
		}
		if (rename(src, dest) < 0) {
			*reason = xasprintf("cannot move '%s' to '%s': %s", src, dest, strerror(errno));
			return -1;
		}
		return 0;
	}
	/* The old one goes away whole, so no stale file of an earlier run
	 * survives next to the new ones. */
	int ret = -1;
	bool keep_trash = false;
	char *old = path_join(trash, name);
	if (mkdir_p(trash, 0777) < 0) {
		*reason = xasprintf("cannot create '%s': %s", trash, strerror(errno));
		goto out;
	}
	if (rename(dest, old) < 0) {
		*reason = xasprintf("cannot move '%s' to '%s': %s", dest, old, strerror(errno));
		goto out;
	}
	if (rename(src, dest) < 0) {
		int e = errno;
		if (rename(old, dest) < 0) { /* the old one stays where it is */
			*reason = xasprintf("cannot move '%s' to '%s': %s; the previous '%s' is kept at '%s' "
					    "(cannot put it back: %s)", src, dest, strerror(e), dest, old,
					    strerror(errno));
			keep_trash = true;
		} else {
			*reason = xasprintf("cannot move '%s' to '%s': %s", src, dest, strerror(e));
		}
		goto out;
	}
	ret = 0;
out:
	if (!keep_trash)
		remove_tree(trash);
	free(old);
	return ret;
}

int outputs_publish(const struct spec *s, char *const *scratch, const char *trash, char **reason)
{
	struct dirset ds = {0};
	int ret = -1;
	for (size_t i = 0; i < s->noutputs; i++) {
		const struct spec_output *o = &s->outputs[i];
		char *dest = strip_slash(o->path);
		char *src = strip_slash(scratch[i]);
		char *parent = path_dirname(dest);
		int r = -1;
		if (sync_tree(src, reason) < 0)
			;
		else if (mkdir_p_each(parent, 0777, made_dir, &ds) < 0)
			*reason = xasprintf("cannot create '%s': %s", parent, strerror(errno));
		else if (o->dir)
			r = move_dir(src, dest, o->name, trash, reason);
		else if (rename(src, dest) < 0)
			*reason = xasprintf("cannot move '%s' to '%s': %s", src, dest, strerror(errno));
		else
			r = 0;
		if (r == 0)
			dirset_add(&ds, parent);
		free(dest);
		free(src);
		free(parent);
		if (r < 0)
			goto out;
	}
	for (size_t i = 0; i < ds.n; i++)
		if (fsync_path(ds.v[i]) < 0) {
			*reason = xasprintf("cannot sync '%s': %s", ds.v[i], strerror(errno));
			goto out;
		}
	ret = 0;
out:
	dirset_free(&ds);
	return ret;
}

void out_files_free(struct out_files *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->v[i].rel);
	free(f->v);
	f->v = NULL;
	f->n = f->cap = 0;
}
