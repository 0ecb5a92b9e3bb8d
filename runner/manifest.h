/* manifest.h - a Batch chunk's manifest: manifest.jsonl, one line per
 * participant in array-index order, and manifest.idx beside it, a
 * fixed-width index through which an array child reads its own line with
 * two small ranged GETs (its record, then its line) whatever the size of
 * the cohort. This module is the one encoder and the one parser of both.
 *
 * manifest.jsonl: line i (array index i, from 0) is
 *   {"participant":"100307","instances":[SPEC,...]}\n
 * with SPEC an instance spec (runner/spec.h), at least one, run in
 * order. A participant id is [A-Za-z0-9][A-Za-z0-9._-]* (at most 255
 * characters). A line holds no '\n' but its last byte.
 *
 * manifest.idx, version 1: MANIFEST_IDX_RECORD-byte lines, plain ASCII:
 *   the header,  "rapid-manifest-idx 1 n=0000000300" padded with spaces,
 *   then record i (array index i) at byte MANIFEST_IDX_RECORD * (i + 1):
 *     "i=0000000007 n=0000000300 off=000000000000012345 len=0000004321\n"
 * i is the record's index, n the number of participants (in every record
 * too, so that one record tells how large the whole index must be), off
 * and len the byte offset and the length (its '\n' included) of line i of
 * manifest.jsonl, in fixed-width decimal. The index is
 * MANIFEST_IDX_RECORD * (n + 1) bytes; a record whose i, n or size does
 * not agree with where it was read is corrupt.
 *
 * Limits: 1..MANIFEST_MAX_PARTICIPANTS participants (a Batch array job's
 * size), 1..MANIFEST_MAX_INSTANCES instances a line, lines of at most
 * MANIFEST_MAX_LINE bytes.
 *
 * Errors are malloc'd sentences for the caller to print once, naming the
 * object and the index: "cannot read index 7 of 's3://b/c/manifest.idx':
 * the record is truncated (12 of 64 bytes)". */
#ifndef RAPID_RUNNER_MANIFEST_H
#define RAPID_RUNNER_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/util.h"

#define MANIFEST_IDX_RECORD 64
#define MANIFEST_MAX_PARTICIPANTS 10000
#define MANIFEST_MAX_INSTANCES 10000
#define MANIFEST_MAX_LINE (64u << 20)
#define MANIFEST_MAX_ID 255

/* One participant to encode: its id and its instances' spec texts
 * (spec_encode's, NUL-terminated), all borrowed. */
struct manifest_entry {
	const char *participant;
	const char *const *specs;
	size_t nspecs;
};

/* Whether id is a valid participant id (above). */
bool manifest_participant_valid(const char *id);

/* Append manifest.jsonl and manifest.idx of the n entries (in array
 * index order) to jsonl and idx. 0, or -1 with *err (the caller frees)
 * naming the entry: a bad id, no instance, a spec that spec_parse
 * refuses, too many of anything. Nothing is appended on failure. */
int manifest_encode(const struct manifest_entry *, size_t n, struct buf *jsonl, struct buf *idx, char **err);

/* Where record index starts in manifest.idx; it is MANIFEST_IDX_RECORD
 * bytes long. */
uint64_t manifest_record_offset(size_t index);

/* The participant count in the header (the index's first
 * MANIFEST_IDX_RECORD bytes, or fewer when the object is that short).
 * what names the object. 0, or -1 with *err. */
int manifest_header_parse(const char *text, size_t len, const char *what, size_t *count, char **err);

/* Parse record index: len bytes read at manifest_record_offset(index) of
 * an index of idx_size bytes in all (what names it). 0 with the line's
 * *offset and *length (its '\n' included) and the participant *count, or
 * -1 with *err: a short or malformed record, one that names another
 * index, or a size that does not hold count records (truncated). */
int manifest_record_parse(const char *rec, size_t len, size_t index, uint64_t idx_size, const char *what,
			  uint64_t *offset, uint64_t *length, size_t *count, char **err);

/* One parsed line: every string owned. */
struct manifest_line {
	char *participant;
	char **specs; /* each instance's spec as JSON text (spec_parse reads it) */
	size_t nspecs;
};

/* Parse line index (len bytes, the '\n' included, as the record said;
 * what names manifest.jsonl). Each instance must be a spec spec_parse
 * accepts. 0, or -1 with *err. Free with manifest_line_free. */
int manifest_line_parse(const char *text, size_t len, size_t index, const char *what, struct manifest_line *out,
			char **err);
void manifest_line_free(struct manifest_line *);

/* The index's URI or path beside a manifest's: "….jsonl" with ".idx"
 * for ".jsonl" (manifest.jsonl -> manifest.idx). NULL when uri does not
 * end with ".jsonl". The caller frees. */
char *manifest_idx_uri(const char *uri);

#endif
