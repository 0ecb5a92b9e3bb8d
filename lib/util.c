/* util.c - allocation, buffers, messages, small file helpers.
 * Every allocation failure ends the process: rapid cannot do useful work
 * without memory, and callers stay free of NULL checks. */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void oom(void)
{
	fputs("rapid: out of memory\n", stderr);
	exit(1);
}

void *xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);
	if (!p)
		oom();
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		oom();
	return p;
}

void *xnonnull(void *p)
{
	if (!p)
		oom();
	return p;
}

void *xreallocarray(void *p, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		oom();
	p = realloc(p, (n * size) != 0 ? n * size : 1);
	if (!p)
		oom();
	return p;
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = 0;
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	struct buf b = {0};
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	return buf_detach(&b);
}

void grow(void **p, size_t *cap, size_t need, size_t size)
{
	size_t c = *cap;
	if (need <= c)
		return;
	if (c < 8)
		c = 8;
	while (c < need) {
		if (c > SIZE_MAX / 2)
			oom();
		c *= 2;
	}
	*p = xreallocarray(*p, c, size);
	*cap = c;
}

void buf_putn(struct buf *b, const void *s, size_t n)
{
	GROW(b->data, b->cap, b->len + n + 1);
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = 0;
}

void buf_puts(struct buf *b, const char *s)
{
	buf_putn(b, s, strlen(s));
}

void buf_putc(struct buf *b, int c)
{
	char ch = (char)c;
	buf_putn(b, &ch, 1);
}

void buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	/* One formatting pass when the room left is enough (the usual case). */
	GROW(b->data, b->cap, b->len + 64);
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap2);
	va_end(ap2);
	if (n < 0) {
		b->data[b->len] = 0;
		return;
	}
	if ((size_t)n >= b->cap - b->len) {
		GROW(b->data, b->cap, b->len + (size_t)n + 1);
		vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	}
	b->len += (size_t)n;
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(b, fmt, ap);
	va_end(ap);
}

void buf_put_json_str(struct buf *b, const char *s)
{
	buf_putc(b, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': buf_puts(b, "\\\""); break;
		case '\\': buf_puts(b, "\\\\"); break;
		case '\n': buf_puts(b, "\\n"); break;
		case '\t': buf_puts(b, "\\t"); break;
		case '\r': buf_puts(b, "\\r"); break;
		default:
			if (*p < 0x20)
				buf_printf(b, "\\u%04x", *p);
			else
				buf_putc(b, *p);
		}
	}
	buf_putc(b, '"');
}

void buf_put_printable(struct buf *b, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			buf_printf(b, "\\x%02x", *p);
		else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) /* U+0080..U+009F */
			buf_printf(b, "\\u%04x", *++p);
		else
			buf_putc(b, *p);
	}
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = 0;
}

char *buf_detach(struct buf *b)
{
	char *d = b->data ? b->data : xstrdup("");
	b->data = NULL;
	b->len = b->cap = 0;
	return d;
}

void buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

/* Arena: a list of large blocks; odd-sized big requests get their own. */
struct arena_block {
	struct arena_block *next;
	size_t used, size;
	max_align_t data[];
};

struct arena {
	struct arena_block *head;
};

struct arena *arena_new(void)
{
	return xcalloc(1, sizeof(struct arena));
}

void *arena_alloc(struct arena *a, size_t size)
{
	size = (size + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
	struct arena_block *b = a->head;
	if (!b || b->size - b->used < size) {
		size_t bs = size > 65536 ? size : 65536;
		b = xmalloc(sizeof(*b) + bs);
		b->used = 0;
		b->size = bs;
		b->next = a->head;
		a->head = b;
	}
	void *p = (char *)b->data + b->used;
	b->used += size;
	return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1);
	memcpy(p, s, n);
	p[n] = 0;
	return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

void arena_free(struct arena *a)
{
	if (!a)
		return;
	for (struct arena_block *b = a->head, *n; b; b = n) {
		n = b->next;
		free(b);
	}
	free(a);
}

void vwarn(const char *fmt, va_list ap)
{
	struct buf b = {0};
	if (isatty(2)) /* start clean even below a live progress line */
		buf_puts(&b, "\r\033[K");
	buf_puts(&b, "rapid: ");
	buf_vprintf(&b, fmt, ap);
	buf_putc(&b, '\n');
	fwrite(b.data, 1, b.len, stderr);
	buf_free(&b);
}

void warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vwarn(fmt, ap);
	va_end(ap);
}

void fatal(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vwarn(fmt, ap);
	va_end(ap);
	exit(1);
}

char *read_file(const char *path, size_t *lenp)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	struct buf b = {0};
	char tmp[65536];
	for (;;) {
		ssize_t n = read(fd, tmp, sizeof tmp);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			close(fd);
			buf_free(&b);
			errno = e;
			return NULL;
		}
		if (n == 0)
			break;
		buf_putn(&b, tmp, (size_t)n);
	}
	close(fd);
	if (lenp)
		*lenp = b.len;
	return buf_detach(&b);
}

int write_file_atomic(const char *path, const void *data, size_t len)
{
	int ret = -1, fd = -1, e = 0;
	char *dir = path_dirname(path);
	char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	if (mkdir_p(dir, 0777) < 0)
		goto out;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		goto out;
	const char *p = data;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		p += n;
		len -= (size_t)n;
	}
	if (fsync(fd) < 0)
		goto out;
	/* close() releases the descriptor even when it fails. */
	int c = close(fd);
	fd = -1;
	if (c < 0)
		goto out;
	if (rename(tmp, path) < 0)
		goto out;
	ret = 0;
out:
	e = errno;
	if (fd >= 0)
		close(fd);
	if (ret < 0)
		unlink(tmp);
	free(tmp);
	free(dir);
	errno = e;
	return ret;
}

/* mkdir of p (which has no trailing slash), making missing parents
 * first: the deepest folder is tried first, so a path whose parent
 * exists costs one call. */
static int mkdir_up(char *p, mode_t mode, void (*made)(const char *, void *), void *arg)
{
	if (mkdir(p, mode) == 0) {
		if (made)
			made(p, arg);
		return 0;
	}
	if (errno == EEXIST) {
		struct stat st;
		if (stat(p, &st) < 0)
			return -1;
		return S_ISDIR(st.st_mode) ? 0 : (errno = ENOTDIR, -1);
	}
	if (errno != ENOENT)
		return -1;
	char *slash = strrchr(p, '/');
	while (slash && slash > p && slash[-1] == '/')
		slash--;
	if (!slash || slash == p)
		return -1; /* ENOENT at the top: nothing to make it in */
	*slash = 0;
	int r = mkdir_up(p, mode, made, arg);
	*slash = '/';
	if (r < 0)
		return -1;
	if (mkdir(p, mode) == 0) {
		if (made)
			made(p, arg);
		return 0;
	}
	return errno == EEXIST ? mkdir_up(p, mode, made, arg) : -1;
}

int mkdir_p_each(const char *path, int mode, void (*made)(const char *dir, void *arg), void *arg)
{
	size_t n = strlen(path);
	while (n > 1 && path[n - 1] == '/')
		n--;
	if (!n)
		return 0;
	char *p = xstrndup(path, n);
	int r = mkdir_up(p, (mode_t)mode, made, arg);
	int e = errno;
	free(p);
	errno = e;
	return r;
}

int mkdir_p(const char *path, int mode)
{
	return mkdir_p_each(path, mode, NULL, NULL);
}

int fsync_path(const char *path)
{
	int fd;
	do
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return -1;
	int r = fsync(fd), e = errno;
	close(fd);
	errno = e;
	return r;
}

int remove_tree(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
	DIR *d = opendir(path);
	if (!d)
		return -1;
	int ret = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char *c = path_join(path, de->d_name);
		if (remove_tree(c) < 0)
			ret = -1;
		free(c);
	}
	closedir(d);
	if (rmdir(path) < 0 && errno != ENOENT)
		ret = -1;
	return ret;
}

char *path_join(const char *a, const char *b)
{
	if (b[0] == '/' || !a[0])
		return xstrdup(b);
	size_t la = strlen(a), lb = strlen(b);
	bool slash = a[la - 1] != '/';
	char *p = xmalloc(la + slash + lb + 1);
	memcpy(p, a, la);
	if (slash)
		p[la] = '/';
	memcpy(p + la + slash, b, lb + 1);
	return p;
}

char *path_dirname(const char *path)
{
	const char *s = strrchr(path, '/');
	if (!s)
		return xstrdup(".");
	if (s == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(s - path));
}

int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void format_time(int64_t ns, char out[32])
{
	time_t s = (time_t)(ns / 1000000000);
	struct tm tm;
	gmtime_r(&s, &tm);
	size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 32 - n, ".%03dZ", (int)((ns / 1000000) % 1000));
}

size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t *row = xcalloc(lb + 1, sizeof(size_t));
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t prev = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t cur = row[j];
			size_t best = prev + (a[i - 1] != b[j - 1]);
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			prev = cur;
		}
	}
	size_t d = row[lb];
	free(row);
	return d;
}

const char *closest_word(const char *word, const char *const *cands, size_t n)
{
	const char *best = NULL;
	size_t bestd = SIZE_MAX;
	size_t limit = strlen(word) / 3 + 1;
	for (size_t i = 0; i < n; i++) {
		size_t d = edit_distance(word, cands[i]);
		if (d < bestd) {
			bestd = d;
			best = cands[i];
		}
	}
	return bestd <= limit && bestd > 0 ? best : NULL;
}

int hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void hex_encode(const uint8_t *in, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hx[in[i] >> 4];
		out[2 * i + 1] = hx[in[i] & 15];
	}
	out[2 * n] = 0;
}
