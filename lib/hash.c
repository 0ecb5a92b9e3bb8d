/* hash.c - XXH3-128 of file contents, read in HASH_CHUNK pieces. */
#include "lib/hash.h"
#include "lib/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

XXH3_state_t *hash_state_new(void)
{
	XXH3_state_t *xs = XXH3_createState();
	if (!xs)
		fatal("out of memory");
	return xs;
}

int hash_fd(int fd, XXH3_state_t *xs, uint8_t *buf, uint8_t out[16], uint64_t *n)
{
	XXH128_canonical_t c;
	*n = 0;
	if (XXH3_128bits_reset(xs) != XXH_OK)
		return errno = EINVAL, -1;
	for (;;) {
		ssize_t r = read(fd, buf, HASH_CHUNK);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0)
			break;
		if (XXH3_128bits_update(xs, buf, (size_t)r) != XXH_OK)
			return errno = EINVAL, -1;
		*n += (uint64_t)r;
	}
	XXH128_canonicalFromHash(&c, XXH3_128bits_digest(xs));
	memcpy(out, c.digest, 16);
	return 0;
}

int hash_file(const char *path, uint8_t out[16], uint64_t *size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -1;
	XXH3_state_t *xs = hash_state_new();
	uint8_t *buf = xmalloc(HASH_CHUNK);
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	int ret = hash_fd(fd, xs, buf, out, size);
	int e = errno;
	free(buf);
	XXH3_freeState(xs);
	close(fd);
	errno = e;
	return ret;
}
