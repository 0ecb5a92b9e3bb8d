/* read.c - reading the files a Rapidfile names (itself, its includes,
 * file() lists): regular files only, and at most RL_MAX_FILE bytes, so
 * that "include /dev/zero" is an error instead of memory without end and a
 * FIFO is an error instead of a wait without end. */
#include "rules/rint.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static const char not_regular[] = "not a regular file";
static const char too_large[] = "larger than 16 MiB";

const char *rl_file_too_large(void)
{
	return too_large;
}

char *rl_read_file(const char *path, size_t *lenp, struct stat *st, const char **why)
{
	/* O_NONBLOCK: opening a FIFO with no writer would wait forever. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		*why = strerror(errno);
		return NULL;
	}
	char *ret = NULL;
	struct buf b = {0};
	if (fstat(fd, st) < 0) {
		*why = strerror(errno);
		goto out;
	}
	if (!S_ISREG(st->st_mode)) {
		*why = not_regular;
		goto out;
	}
	if (st->st_size > (off_t)RL_MAX_FILE) {
		*why = too_large;
		goto out;
	}
	/* The file may grow while it is read: read one byte past the cap. */
	char tmp[65536];
	for (;;) {
		size_t want = RL_MAX_FILE + 1 - b.len;
		ssize_t n = read(fd, tmp, want < sizeof tmp ? want : sizeof tmp);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*why = strerror(errno);
			goto out;
		}
		if (n == 0)
			break;
		buf_putn(&b, tmp, (size_t)n);
		if (b.len > RL_MAX_FILE) {
			*why = too_large;
			goto out;
		}
	}
	*lenp = b.len;
	ret = buf_detach(&b);
out:
	buf_free(&b);
	close(fd);
	return ret;
}
