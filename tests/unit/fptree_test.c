/* fptree_test.c - folder inputs (a URI with a trailing '/') are
 * fingerprinted as a tree, and inputs that cannot be read give -1 with
 * fp_error naming the path and the cause, printing nothing. */
#include "engine/fingerprint.h"
#include "lib/util.h"
#include "tests/unit/tap.h"
#include "tests/unit/capture.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char *tmpdir;

static void write_text(const char *dir, const char *rel, const char *text)
{
	char *p = path_join(dir, rel);
	FILE *f = fopen(p, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0)
		perror(p);
	/* an hour old: outside the racy window, so the cache answers */
	struct timespec t[2] = {{0, UTIME_OMIT}, {time(NULL) - 3600, 0}};
	utimensat(AT_FDCWD, p, t, 0);
	free(p);
}

struct res {
	int rc;
	char out[FP_MAX];
	char *printed;
	char err[512];
};

static struct res fp(struct fp_ctx *c, const char *path)
{
	struct res r = {0};
	capture_begin();
	r.rc = fp_local(c, path, r.out);
	r.printed = capture_end();
	if (r.rc < 0)
		snprintf(r.err, sizeof r.err, "%s", fp_error(c));
	return r;
}

int main(void)
{
	const char *t = getenv("TMPDIR");
	tmpdir = xasprintf("%s/rapid-fptree-test.XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	char *atlas = path_join(tmpdir, "atlas/");
	char *sub = path_join(atlas, "sub");
	mkdir(atlas, 0755);
	mkdir(sub, 0755);
	write_text(atlas, "b.nii", "bbbb\n");
	write_text(atlas, "sub/a.nii", "aa\n");

	struct fp_ctx *c = fp_new(NULL, false);
	struct res r = fp(c, atlas);
	TAP_IS_INT(r.rc, 1, "a folder with a trailing '/': present");
	TAP_OK(!strncmp(r.out, "files=2 size=8 xxh3=", 20), "files, bytes and a hash: %s", r.out);
	TAP_IS_STR(r.printed, "", "nothing printed");
	char first[FP_MAX];
	memcpy(first, r.out, FP_MAX);
	free(r.printed);
	r = fp(c, atlas);
	TAP_IS_STR(r.out, first, "the same tree, the same fingerprint");
	TAP_IS_INT(fp_get_stats(c)->cached, 2, "its files answered from the cache the second time");
	free(r.printed);

	write_text(atlas, "sub/a.nii", "ab\n");
	r = fp(c, atlas);
	TAP_OK(strcmp(r.out, first) != 0, "a file of the same size with other bytes changes it");
	free(r.printed);
	write_text(atlas, "sub/a.nii", "aa\n");
	r = fp(c, atlas);
	TAP_IS_STR(r.out, first, "and back");
	free(r.printed);
	char *from = path_join(atlas, "b.nii"), *to = path_join(atlas, "c.nii");
	rename(from, to);
	r = fp(c, atlas);
	TAP_OK(strcmp(r.out, first) != 0, "a renamed file changes it");
	free(r.printed);
	rename(to, from);
	free(from);
	free(to);

	char *empty = path_join(tmpdir, "empty/");
	mkdir(empty, 0755);
	r = fp(c, empty);
	TAP_OK(!strncmp(r.out, "files=0 size=0 xxh3=", 20), "an empty folder: %s", r.out);
	free(r.printed);

	char *missing = path_join(tmpdir, "nothere/");
	r = fp(c, missing);
	TAP_IS_INT(r.rc, 0, "a missing folder: missing");
	free(r.printed);

	/* what cannot be read: -1, the path and the cause, nothing printed */
	char *bare = xstrndup(atlas, strlen(atlas) - 1);
	r = fp(c, bare);
	TAP_IS_INT(r.rc, -1, "a folder without the trailing '/'");
	char *want = xasprintf("cannot read '%s': is a directory (write it with a trailing '/' to read it as a folder)", bare);
	TAP_IS_STR(r.err, want, "says how to read it as a folder");
	TAP_IS_STR(r.printed, "", "nothing printed");
	free(want);
	free(r.printed);

	char *file = path_join(atlas, "b.nii/");
	r = fp(c, file);
	TAP_IS_INT(r.rc, -1, "a file with a trailing '/'");
	want = xasprintf("cannot read '%s': not a directory (without the trailing '/' it names a file)", file);
	TAP_IS_STR(r.err, want, "says so");
	free(want);
	free(r.printed);

	char *fifo = path_join(sub, "pipe");
	if (mkfifo(fifo, 0644) == 0) {
		r = fp(c, atlas);
		TAP_IS_INT(r.rc, -1, "a FIFO inside a folder input");
		want = xasprintf("cannot read '%s': not a regular file", fifo);
		TAP_IS_STR(r.err, want, "names the FIFO, never opened (it would block)");
		free(want);
		free(r.printed);
		unlink(fifo);
	} else {
		TAP_OK(1, "# SKIP mkfifo: %s", strerror(errno));
		TAP_OK(1, "# SKIP mkfifo");
	}
	char *loop = path_join(sub, "loop");
	if (symlink("loop", loop) == 0) {
		r = fp(c, atlas);
		TAP_IS_INT(r.rc, -1, "a symbolic link loop inside a folder input");
		want = xasprintf("cannot read '%s': %s", loop, strerror(ELOOP));
		TAP_IS_STR(r.err, want, "names it");
		free(want);
		free(r.printed);
		unlink(loop);
	}
	/* a link to the folder itself: the walk stops at a depth */
	char *self = path_join(sub, "self");
	if (symlink("..", self) == 0) {
		r = fp(c, atlas);
		TAP_IS_INT(r.rc, -1, "a link back up the tree");
		TAP_OK(strstr(r.err, strerror(ELOOP)) != NULL, "stops: %s", r.err);
		free(r.printed);
		unlink(self);
	}
	r = fp(c, atlas);
	TAP_IS_STR(r.out, first, "the tree as it was, once they are gone");
	free(r.printed);

	fp_free(c);
	free(self);
	free(loop);
	free(fifo);
	free(file);
	free(bare);
	free(missing);
	free(empty);
	free(sub);
	free(atlas);
	remove_tree(tmpdir);
	free(tmpdir);
	return tap_done();
}
