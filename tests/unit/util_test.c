/* util_test.c - text for a terminal (buf_put_printable), and lib/util.c's
 * file helpers under failure: write_file_atomic
 * when fsync fails (EIO, as on a full or failing disk) leaves no descriptor
 * open and no temporary file behind. fsync is replaced below: this program's
 * definition wins over libc's for lib/util.o's calls. */
#include "lib/util.h"
#include "tests/unit/tap.h"
#include "tests/unit/fds.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int fsync_fails;

int fsync(int fd)
{
	(void)fd;
	if (fsync_fails) {
		errno = EIO;
		return -1;
	}
	return 0;
}

static void test_fsync_failure(void)
{
	char tmpl[] = "/tmp/rapid-util-XXXXXX";
	char *dir = mkdtemp(tmpl);
	TAP_OK(dir != NULL, "a scratch folder");
	if (!dir)
		return;
	char *path = path_join(dir, "f.txt");

	TAP_IS_INT(write_file_atomic(path, "one\n", 4), 0, "write_file_atomic succeeds when fsync does");
	int fds = count_fds();
	TAP_OK(fds > 0, "open descriptors can be counted (%d)", fds);

	fsync_fails = 1;
	for (int i = 0; i < 3; i++) {
		errno = 0;
		int r = write_file_atomic(path, "two\n", 4);
		int e = errno;
		TAP_IS_INT(r, -1, "fsync fails: write_file_atomic fails (try %d)", i + 1);
		TAP_IS_INT(e, EIO, "... with fsync's errno");
	}
	fsync_fails = 0;
	TAP_IS_INT(count_fds(), fds, "fsync_failure_leaks_no_fd: as many descriptors open as before");
	TAP_IS_INT(count_entries(dir), 1, "... no temporary file left beside the target");
	size_t len = 0;
	char *back = read_file(path, &len);
	TAP_IS_STR(back, "one\n", "... the previous contents are intact");
	free(back);

	unlink(path);
	rmdir(dir);
	free(path);
}

/* Pins "status prints sentinel reasons raw": text for a terminal has its
 * control characters escaped, and nothing else. */
static void test_printable(void)
{
	struct buf b = {0};
	buf_put_printable(&b, "plain \\ text \xc3\xa9");
	TAP_IS_STR(b.data, "plain \\ text \xc3\xa9", "printable text is kept (UTF-8 too)");
	buf_reset(&b);
	buf_put_printable(&b, "red \x1b[31mX\x1b[0m\a\r\n\x7f \xc2\x9b" "2J \xc2\xa0");
	TAP_IS_STR(b.data, "red \\x1b[31mX\\x1b[0m\\x07\\x0d\\x0a\\x7f \\u009b2J \xc2\xa0",
		   "escapes, bells, CR, LF, DEL and C1 controls are escaped");
	buf_free(&b);
}

int main(void)
{
	test_printable();
	test_fsync_failure();
	return tap_done();
}
