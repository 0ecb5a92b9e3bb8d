/* util.h - allocation that never returns NULL, growable buffers, messages.
 * Shared by every folder; knows nothing of Rapidfiles or AWS. */
#ifndef RAPID_UTIL_H
#define RAPID_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define RAPID_VERSION "0.1.0"
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Allocation: each exits with a message on out-of-memory or size overflow. */
void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xreallocarray(void *p, size_t n, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* printf into a fresh string; the caller frees it. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* p, or exit with the out-of-memory message when p is NULL: for what the
 * Debian libraries allocate (XML_ParserCreate, cJSON_CreateObject, ...). */
void *xnonnull(void *p);

/* Grow *p (holding *cap elements of size) so that it holds at least need. */
void grow(void **p, size_t *cap, size_t need, size_t size);
#define GROW(p, cap, need) grow((void **)&(p), &(cap), (need), sizeof(*(p)))

/* A byte buffer that carries its length; data is always NUL-terminated. */
struct buf {
	char *data;
	size_t len, cap;
};
void buf_putn(struct buf *, const void *, size_t);
void buf_puts(struct buf *, const char *);
void buf_putc(struct buf *, int);
void buf_printf(struct buf *, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *, const char *fmt, va_list);
/* Append s as a JSON string literal, quotes included. */
void buf_put_json_str(struct buf *, const char *s);
/* Append s for a terminal: control characters (C0, DEL and the UTF-8 of
 * C1) become \xNN or \u00NN, so text from a sentinel cannot send escapes. */
void buf_put_printable(struct buf *, const char *s);
/* Empty the buffer, keeping its storage. */
void buf_reset(struct buf *);
/* Give the data to the caller (never NULL) and empty the buffer. */
char *buf_detach(struct buf *);
void buf_free(struct buf *);

/* Bump allocator for things that die together (a whole plan). */
struct arena;
struct arena *arena_new(void);
void *arena_alloc(struct arena *, size_t size);
char *arena_strdup(struct arena *, const char *s);
char *arena_strndup(struct arena *, const char *s, size_t n);
void arena_free(struct arena *);

/* "rapid: " + message + newline on stderr. */
void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void vwarn(const char *fmt, va_list);
/* warn() then exit(1); for the CLI layer only. */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Read a whole file; NULL with errno set on failure. The caller frees. */
char *read_file(const char *path, size_t *len);
/* Write data to path atomically (temp file in the same folder, fsync,
 * rename); creates missing parent folders. -1 with errno on failure. */
int write_file_atomic(const char *path, const void *data, size_t len);
/* mkdir -p; 0 or -1 with errno. The deepest folder is tried first. */
int mkdir_p(const char *path, int mode);
/* The same, calling made(dir, arg) for each folder it created (dir has
 * no trailing slash), outermost first: whoever must make the creation
 * durable syncs each one's parent. */
int mkdir_p_each(const char *path, int mode, void (*made)(const char *dir, void *arg), void *arg);
/* fsync the file or folder at path (a symbolic link is not followed).
 * 0, or -1 with errno. */
int fsync_path(const char *path);
/* rm -rf; 0 or -1 with errno. A missing path is success. */
int remove_tree(const char *path);

/* Join a and b with one '/', unless b is absolute. The caller frees. */
char *path_join(const char *a, const char *b);
/* Directory part of path ("." if none). The caller frees. */
char *path_dirname(const char *path);

/* Wall clock in nanoseconds since the epoch. */
int64_t now_ns(void);
/* Format ns-since-epoch as UTC ISO-8601 with milliseconds into out[32]. */
void format_time(int64_t ns, char out[32]);

/* Levenshtein distance, for "did you mean" hints. */
size_t edit_distance(const char *a, const char *b);
/* The candidate closest to word, or NULL if none is close enough. */
const char *closest_word(const char *word, const char *const *cands, size_t n);

/* Lowercase hex of n bytes into out (2n+1 bytes). */
void hex_encode(const uint8_t *in, size_t n, char *out);
/* The value of one hex digit (either case), or -1. */
int hex_digit(int c);

#endif
