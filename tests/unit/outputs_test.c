/* outputs_test.c - publishing a directory output, with renames failed on
 * purpose: the previous good output is put back, and when even that
 * fails it is kept (in trash, whole) and named, never deleted.
 *
 * Fault injection: this program defines rename(), so the runner's calls
 * to it (linked from the same objects) come here; the Nth calls listed in
 * fail_at fail with EXDEV, the others do the real rename. */
#include "runner/outputs.h"
#include "runner/spec.h"
#include "lib/util.h"
#include "tests/unit/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int calls;
static int fail_at[4]; /* 1-based call numbers to fail; 0 ends the list */

int rename(const char *from, const char *to)
{
	calls++;
	for (size_t i = 0; i < ARRAY_LEN(fail_at) && fail_at[i]; i++)
		if (fail_at[i] == calls) {
			errno = EXDEV;
			return -1;
		}
	return renameat(AT_FDCWD, from, AT_FDCWD, to);
}

static char *tmp;

static void put(const char *dir, const char *name, const char *body)
{
	char *d = path_join(tmp, dir);
	mkdir_p(d, 0777);
	char *p = path_join(d, name);
	write_file_atomic(p, body, strlen(body));
	free(p);
	free(d);
}

/* The body of tmp/rel, or NULL. The caller frees. */
static char *get(const char *rel)
{
	char *p = path_join(tmp, rel);
	size_t len;
	char *b = read_file(p, &len);
	free(p);
	return b;
}

static bool exists(const char *rel)
{
	char *p = path_join(tmp, rel);
	struct stat st;
	bool r = lstat(p, &st) == 0;
	free(p);
	return r;
}

/* One publish of scratch/d/ over out/d/ (which holds old.txt), with the
 * renames in fails failed. Returns the reason (or NULL); *ret the result. */
static char *publish(const int *fails, size_t nfails, int *ret)
{
	char *clean = xasprintf("rm -rf '%s/out' '%s/scratch' '%s/trash'", tmp, tmp, tmp);
	if (system(clean) != 0)
		TAP_OK(0, "cleaning %s", tmp);
	free(clean);
	put("out/d", "old.txt", "old");
	put("scratch/d", "new.txt", "new");
	char *dest = xasprintf("%s/out/d/", tmp);
	char *src = xasprintf("%s/scratch/d/", tmp);
	char *trash = xasprintf("%s/trash/", tmp);
	struct spec_output o = {.name = "d", .uri = "out/d/", .path = dest, .dir = true};
	struct spec s = {.outputs = &o, .noutputs = 1};
	char *scratch[] = {src, NULL};
	char *reason = NULL;
	memset(fail_at, 0, sizeof fail_at);
	for (size_t i = 0; i < nfails; i++)
		fail_at[i] = fails[i];
	calls = 0;
	*ret = outputs_publish(&s, scratch, trash, &reason);
	memset(fail_at, 0, sizeof fail_at);
	free(dest);
	free(src);
	free(trash);
	return reason;
}

int main(void)
{
	char tmpl[] = "/tmp/rapid-outputs-XXXXXX";
	tmp = mkdtemp(tmpl);
	if (!tmp)
		return 1;
	int ret;
	char *why, *b;

	/* No fault: the new one is in, the old one gone, trash emptied. */
	why = publish(NULL, 0, &ret);
	TAP_IS_INT(ret, 0, "publish: ok");
	TAP_IS_INT(calls, 2, "publish: two renames (old aside, new in)");
	TAP_OK(exists("out/d/new.txt") && !exists("out/d/old.txt"), "publish: the new directory is in place");
	TAP_OK(!exists("trash"), "publish: trash removed");
	free(why);

	/* The new one cannot go in: the old one is put back. */
	why = publish((int[]){2}, 1, &ret);
	TAP_IS_INT(ret, -1, "new one refused: publish fails");
	TAP_IS_INT(calls, 3, "new one refused: the old one is renamed back");
	b = get("out/d/old.txt");
	TAP_IS_STR(b, "old", "new one refused: the previous output is back in place");
	free(b);
	TAP_OK(why && strstr(why, "cannot move") && !strstr(why, "kept at"), "new one refused: reason (%s)",
	       why ? why : "none");
	TAP_OK(!exists("trash"), "new one refused: trash removed (it is empty)");
	free(why);

	/* Regression: putting the old one back fails too. It used to be
	 * deleted with the trash; now it stays there, whole, and is named. */
	why = publish((int[]){2, 3}, 2, &ret);
	TAP_IS_INT(ret, -1, "rollback refused: publish fails");
	TAP_IS_INT(calls, 3, "rollback refused: three renames tried");
	b = get("trash/d/old.txt");
	TAP_IS_STR(b, "old", "rollback refused: the previous output is kept in trash, not deleted");
	free(b);
	char *want = xasprintf("the previous '%s/out/d' is kept at '%s/trash/d'", tmp, tmp);
	TAP_OK(why && strstr(why, want), "rollback refused: the reason says where (%s)", why ? why : "none");
	free(want);
	TAP_OK(!exists("out/d"), "rollback refused: nothing half-published at the destination");
	free(why);

	/* Moving the old one aside fails: nothing moved, nothing lost. */
	why = publish((int[]){1}, 1, &ret);
	TAP_IS_INT(ret, -1, "old one stuck: publish fails");
	b = get("out/d/old.txt");
	TAP_IS_STR(b, "old", "old one stuck: the previous output untouched");
	free(b);
	free(why);

	char *clean = xasprintf("rm -rf '%s'", tmp);
	if (system(clean) != 0)
		TAP_OK(0, "removing %s", tmp);
	free(clean);
	return tap_done();
}
