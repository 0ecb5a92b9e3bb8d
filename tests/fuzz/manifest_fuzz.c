/* manifest_fuzz.c - libFuzzer harness for runner/manifest.c and
 * runner/participants.c: the input is read as an index header, an index
 * record, a manifest line and a participant array file. What parses as a
 * line round-trips: encoded again, read back through its record, it is
 * the same participant with the same spec texts. */
#include "lib/util.h"
#include "runner/manifest.h"
#include "runner/participants.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t sink;

static void round_trip(const struct manifest_line *l)
{
	struct manifest_entry e = {l->participant, (const char *const *)l->specs, l->nspecs};
	struct buf j = {0}, x = {0};
	char *err = NULL;
	uint64_t off, len;
	size_t count;
	struct manifest_line back;
	if (manifest_encode(&e, 1, &j, &x, &err) < 0 ||
	    manifest_record_parse(x.data + manifest_record_offset(0), MANIFEST_IDX_RECORD, 0, x.len, "idx", &off,
				  &len, &count, &err) < 0 ||
	    count != 1 || off + len != j.len ||
	    manifest_line_parse(j.data + off, len, 0, "jsonl", &back, &err) < 0)
		abort(); /* a parsed line encodes, and reads back */
	if (strcmp(back.participant, l->participant) || back.nspecs != l->nspecs)
		abort();
	for (size_t i = 0; i < l->nspecs; i++)
		if (strcmp(back.specs[i], l->specs[i]))
			abort();
	manifest_line_free(&back);
	buf_free(&j);
	buf_free(&x);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *t = (const char *)data;
	char *err = NULL, *id = NULL;
	size_t count, n;
	uint64_t off, len;
	if (manifest_header_parse(t, size, "idx", &count, &err) == 0 ? count == 0 || count > MANIFEST_MAX_PARTICIPANTS
								     : !err)
		abort();
	free(err);
	err = NULL;
	if (manifest_record_parse(t, size, 3, 64 * 5, "idx", &off, &len, &count, &err) == 0 ? count != 4 || len < 2
											    : !err)
		abort();
	free(err);
	err = NULL;
	struct manifest_line l;
	if (manifest_line_parse(t, size, 0, "jsonl", &l, &err) == 0) {
		if (!manifest_participant_valid(l.participant) || l.nspecs == 0)
			abort();
		round_trip(&l);
		manifest_line_free(&l);
	} else if (!err) {
		abort();
	}
	free(err);
	for (size_t i = 0; i < 3; i++) {
		err = NULL;
		if (participants_line(t, size, i, "p", &id, &n, &err) == 0) {
			if (!manifest_participant_valid(id) || i >= n)
				abort();
			sink += strlen(id);
			free(id);
		} else if (!err) {
			abort();
		}
		free(err);
	}
	return 0;
}
