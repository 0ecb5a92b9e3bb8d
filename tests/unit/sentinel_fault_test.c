/* sentinel_fault_test.c - a claim whose fstat fails. Regression: the
 * result of fstat was not checked, so a claim could hold an uninitialised
 * device and inode (and release would then leave its running sentinel
 * behind). Now the claim fails, and takes its running sentinel back.
 *
 * Fault injection: this program defines fstat(), so the sentinel code's
 * calls (linked from the same objects) come here; while armed, the Nth
 * call fails with EIO. */
#include "runner/sentinel.h"
#include "lib/util.h"
#include "tests/unit/tap.h"
#include "tests/unit/fds.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define K1 "0123456789abcdef0123456789abcdef"

static int armed, calls;

int fstat(int fd, struct stat *st)
{
	if (armed && ++calls == armed) {
		errno = EIO;
		return -1;
	}
	return fstatat(fd, "", st, AT_EMPTY_PATH);
}

int main(void)
{
	char tmpl[] = "/tmp/rapid-sentfault-XXXXXX";
	char *tmp = mkdtemp(tmpl);
	if (!tmp)
		return 1;
	char *dir = xasprintf("%s/s/", tmp);
	struct sentinel_claim *c = NULL;

	/* How many fstat calls does a claim make? The last one is the one
	 * that records the claim's file. */
	armed = 1000;
	calls = 0;
	int r = sentinel_claim(dir, K1, "{}", 2, &c);
	int n = calls;
	armed = 0;
	TAP_IS_INT(r, 1, "claim without faults");
	TAP_OK(n >= 1, "a claim calls fstat (%d times)", n);
	sentinel_release(c);
	c = NULL;
	TAP_IS_INT(count_entries(dir), 0, "released: the folder is empty");

	int fds = count_fds();
	printf("# (a 'cannot stat' message follows)\n");
	fflush(stdout);
	armed = n;
	calls = 0;
	r = sentinel_claim(dir, K1, "{}", 2, &c);
	armed = 0;
	TAP_IS_INT(r, -1, "the claim's fstat fails: the claim fails");
	TAP_OK(c == NULL, "and hands out no claim");
	char *running = sentinel_path(dir, K1, SENT_RUNNING);
	struct stat st;
	TAP_OK(lstat(running, &st) < 0 && errno == ENOENT, "no running sentinel is left behind");
	TAP_IS_INT(count_entries(dir), 0, "no temporary file either");
	TAP_IS_INT(count_fds(), fds, "no descriptor leaked");
	/* and the instance can be claimed again */
	r = sentinel_claim(dir, K1, "{}", 2, &c);
	TAP_IS_INT(r, 1, "the instance can be claimed afterwards");
	sentinel_release(c);

	free(running);
	char *clean = xasprintf("rm -rf '%s'", tmp);
	if (system(clean) != 0)
		TAP_OK(0, "removing %s", tmp);
	free(clean);
	free(dir);
	return tap_done();
}
