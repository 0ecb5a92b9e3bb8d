/* participants.h - a participant array file: one participant id a line,
 * array index i on line i + 1. It is what rapidtide-cloud's job scripts
 * read from s3://$OUTPUT_BUCKET/config/$PARTICIPANT_ARRAY_FILE (`rapid
 * runner --exec`), and a submission's participants.txt beside each
 * chunk's manifest. This module is its one encoder and its one parser.
 *
 * Written: each id (runner/manifest.h's rule) and '\n'. Read as people
 * write it: a UTF-8 byte order mark at the start is skipped, a line may
 * end with "\r\n", spaces and tabs around an id are dropped, and blank
 * lines at the end are not lines (the count says how many come before
 * them). A blank line among the others is a line that holds no id. */
#ifndef RAPID_RUNNER_PARTICIPANTS_H
#define RAPID_RUNNER_PARTICIPANTS_H

#include <stddef.h>

#include "lib/util.h"

/* Append the n ids, one a line, to out. 0, or -1 with *err (the caller
 * frees) naming the first invalid id. */
int participants_encode(const char *const *ids, size_t n, struct buf *out, char **err);

/* The id on line index + 1 of text (len bytes; what names the file in
 * messages): 0 and *id (the caller frees); -1 with *err (the caller
 * frees): "index 5 is past the end of s3://b/config/p.txt (5 lines)",
 * "line 3 of 's3://…' is blank", "line 3 of 's3://…' is not a participant
 * id: …". *nlines, if not NULL, receives the count of lines either way. */
int participants_line(const char *text, size_t len, size_t index, const char *what, char **id, size_t *nlines,
		      char **err);

#endif
