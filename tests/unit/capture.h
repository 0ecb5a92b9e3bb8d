/* capture.h - collect what the code under test prints on stderr, for the
 * C unit tests: capture_begin(), run the code, capture_end() returns the
 * text (the caller frees). Not nestable. Or, for a whole test program,
 * capture_stderr() once and then stderr_since() / is_stderr() after each
 * step. Include tap.h first. */
#ifndef RAPID_CAPTURE_H
#define RAPID_CAPTURE_H

#include "lib/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int capture_saved_fd = -1;
static FILE *capture_file;

static inline void capture_begin(void)
{
	fflush(stderr);
	capture_file = tmpfile();
	if (!capture_file) {
		perror("tmpfile");
		return;
	}
	capture_saved_fd = dup(2);
	dup2(fileno(capture_file), 2);
}

static inline char *capture_end(void)
{
	struct buf b = {0};
	char chunk[4096];
	size_t n;
	fflush(stderr);
	if (!capture_file)
		return buf_detach(&b);
	dup2(capture_saved_fd, 2);
	close(capture_saved_fd);
	rewind(capture_file);
	while ((n = fread(chunk, 1, sizeof(chunk), capture_file)) > 0)
		buf_putn(&b, chunk, n);
	fclose(capture_file);
	capture_file = NULL;
	return buf_detach(&b);
}

/* From now on stderr goes to a temporary file (for the whole program). */
static long capture_pos;

static inline void capture_stderr(void)
{
	FILE *f = tmpfile();
	fflush(stderr);
	if (!f) {
		perror("tmpfile");
		return;
	}
	dup2(fileno(f), 2);
	fclose(f);
}

/* What stderr received from offset from on; *end gets where it ends. */
static inline char *capture_read(off_t from, off_t *end)
{
	struct buf b = {0};
	char chunk[4096];
	ssize_t n;
	fflush(stderr);
	while ((n = pread(2, chunk, sizeof(chunk), from)) > 0) {
		buf_putn(&b, chunk, (size_t)n);
		from += n;
	}
	*end = from;
	return b.data ? buf_detach(&b) : xstrdup("");
}

/* Everything stderr received since capture_stderr(). The caller frees. */
static inline char *stderr_all(void)
{
	off_t end;
	return capture_read(0, &end);
}

/* What was written to stderr since the last call, without the final
 * newline. The caller frees. */
static inline char *stderr_since(void)
{
	off_t end;
	char *s = capture_read(capture_pos, &end);
	size_t n = strlen(s);
	capture_pos = (long)end;
	if (n && s[n - 1] == '\n')
		s[n - 1] = '\0';
	return s;
}

static inline void is_stderr(const char *want, const char *name)
{
	char *got = stderr_since();
	TAP_IS_STR(got, want, "%s", name);
	free(got);
}

/* Unset every AWS_* variable, so that the machine's settings cannot leak
 * into a test. */
static inline void clear_aws_env(void)
{
	extern char **environ;
	for (;;) {
		char **e = environ;
		while (*e && strncmp(*e, "AWS_", 4))
			e++;
		if (!*e)
			break;
		char *name = xstrndup(*e, strcspn(*e, "="));
		unsetenv(name);
		free(name);
	}
}

#endif
