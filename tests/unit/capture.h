/* capture.h - collect what the code under test prints on stderr, for the
 * C unit tests: capture_begin(), run the code, capture_end() returns the
 * text (the caller frees). Not nestable. */
#ifndef RAPID_CAPTURE_H
#define RAPID_CAPTURE_H

#include "lib/util.h"

#include <stdio.h>
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

#endif
