/* manifest_test.c - manifest.jsonl and manifest.idx (runner/manifest.h)
 * and the participant array file (runner/participants.h): encode, then
 * read every index back through the record arithmetic as a child does;
 * truncated and corrupt records and lines; ids. */
#include "lib/util.h"
#include "runner/manifest.h"
#include "runner/participants.h"
#include "runner/spec.h"
#include "tests/unit/tap.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define IDX "s3://b/c/manifest.idx"
#define JSONL "s3://b/c/manifest.jsonl"

/* A spec text for participant p, instance k. */
static char *spec_text(const char *p, int k)
{
	return xasprintf("{\"schema\": 1, \"target\": \"t%d\", \"wildcards\": [[\"participant\", \"%s\"]],"
			 " \"key\": \"%032x\", \"root\": \"/out/\", \"sentinel_dir\": \"/out/.rapid/sentinels/t/%s/\","
			 " \"log_dir\": \"/out/.rapid/logs/t/%s/\", \"argv\": [[\"echo\"], [\"%s \\\"q\\\"\\n\"]],"
			 " \"outputs\": [], \"timeout_s\": 36000}",
			 k, p, (unsigned)(k * 1000 + 7), p, p, p);
}

/* What a child does for index i: its record, then its line. */
static int read_index(const struct buf *j, const struct buf *x, size_t i, struct manifest_line *l, char **err)
{
	uint64_t off, len, at = manifest_record_offset(i);
	size_t count;
	size_t have = at < x->len ? x->len - at : 0;
	if (manifest_record_parse(x->data + (at < x->len ? at : 0), have < MANIFEST_IDX_RECORD ? have : MANIFEST_IDX_RECORD,
				  i, x->len, IDX, &off, &len, &count, err) < 0)
		return -1;
	if (off + len > j->len) {
		*err = xstrdup("past the end");
		return -1;
	}
	return manifest_line_parse(j->data + off, len, i, JSONL, l, err);
}

static void test_ids(void)
{
	static const char *const good[] = {"100307", "A", "sub-01", "a.b_c-d", "0"};
	static const char *const bad[] = {"", "-x", ".x", "_x", "a b", "a/b", "é", "a\n", "x:y"};
	for (size_t i = 0; i < ARRAY_LEN(good); i++)
		TAP_OK(manifest_participant_valid(good[i]), "id '%s' is valid", good[i]);
	for (size_t i = 0; i < ARRAY_LEN(bad); i++)
		TAP_OK(!manifest_participant_valid(bad[i]), "bad id %zu is not valid", i);
	char long_id[MANIFEST_MAX_ID + 2];
	memset(long_id, 'a', sizeof long_id);
	long_id[MANIFEST_MAX_ID] = 0;
	TAP_OK(manifest_participant_valid(long_id), "an id of %d characters is valid", MANIFEST_MAX_ID);
	long_id[MANIFEST_MAX_ID] = 'a';
	long_id[MANIFEST_MAX_ID + 1] = 0;
	TAP_OK(!manifest_participant_valid(long_id), "one of %d is not", MANIFEST_MAX_ID + 1);
}

static void test_round_trip(void)
{
	enum { N = 300 };
	struct manifest_entry v[N];
	char *ids[N], *texts[N][3];
	const char *specs[N][3];
	for (size_t i = 0; i < N; i++) {
		ids[i] = xasprintf("%06zu", 100000 + i * 7);
		size_t ns = 1 + i % 3;
		for (size_t k = 0; k < ns; k++)
			specs[i][k] = texts[i][k] = spec_text(ids[i], (int)k);
		v[i] = (struct manifest_entry){ids[i], specs[i], ns};
	}
	struct buf j = {0}, x = {0};
	char *err = NULL;
	TAP_IS_INT(manifest_encode(v, N, &j, &x, &err), 0, "300 participants encode");
	TAP_IS_INT(x.len, MANIFEST_IDX_RECORD * (N + 1), "the index is a header and 300 records");
	TAP_IS_INT(manifest_record_offset(0), 64, "record 0 follows the header");
	TAP_IS_INT(manifest_record_offset(299), 64 * 300, "record 299 at 64 * 300");
	size_t count = 0;
	TAP_IS_INT(manifest_header_parse(x.data, MANIFEST_IDX_RECORD, IDX, &count, &err), 0, "the header parses");
	TAP_IS_INT(count, N, "... and counts 300");
	char rec[65];
	memcpy(rec, x.data + manifest_record_offset(7), 64);
	rec[64] = 0;
	TAP_OK(!strncmp(rec, "i=0000000007 n=0000000300 off=", 30) && rec[63] == '\n', "record 7 reads as documented");

	size_t lines = 0;
	for (size_t k = 0; k < j.len; k++)
		lines += j.data[k] == '\n';
	TAP_IS_INT(lines, N, "one line per participant");
	bool all = true;
	for (size_t i = 0; i < N; i++) {
		struct manifest_line l;
		free(err);
		err = NULL;
		if (read_index(&j, &x, i, &l, &err) < 0) {
			TAP_OK(0, "index %zu: %s", i, err);
			all = false;
			break;
		}
		bool same = !strcmp(l.participant, ids[i]) && l.nspecs == v[i].nspecs;
		for (size_t k = 0; same && k < l.nspecs; k++) {
			char *e1 = NULL, *e2 = NULL;
			struct spec *a = spec_parse(specs[i][k], strlen(specs[i][k]), &e1);
			struct spec *b = spec_parse(l.specs[k], strlen(l.specs[k]), &e2);
			same = a && b && !strcmp(a->target, b->target) && !strcmp(a->key, b->key) &&
			       a->nargv == b->nargv && !strcmp(a->argv[1].segs[0].text, b->argv[1].segs[0].text) &&
			       a->timeout_s == b->timeout_s;
			spec_free(a);
			spec_free(b);
			free(e1);
			free(e2);
		}
		manifest_line_free(&l);
		if (!same) {
			TAP_OK(0, "index %zu comes back as encoded", i);
			all = false;
			break;
		}
	}
	TAP_OK(all, "every index comes back through its record: id and specs as encoded");

	/* past the end */
	struct manifest_line l;
	free(err);
	err = NULL;
	TAP_IS_INT(read_index(&j, &x, N, &l, &err), -1, "index 300: no record");
	TAP_IS_STR(err, "cannot read index 300 of '" IDX "': the record is truncated (0 of 64 bytes)", "... said");

	/* a truncated index: cut in a record, or at a record's end */
	struct buf t = {0};
	buf_putn(&t, x.data, x.len - 20);
	free(err);
	err = NULL;
	TAP_IS_INT(read_index(&j, &t, 0, &l, &err), -1, "an index cut in its last record: index 0 fails");
	TAP_IS_STR(err, "cannot read index 0 of '" IDX "': the index is truncated or corrupt (19244 bytes, where 300 "
			"participants take 19264)", "... naming the object, the index and the sizes");
	free(err);
	err = NULL;
	TAP_IS_INT(read_index(&j, &t, N - 1, &l, &err), -1, "... and its last index");
	TAP_IS_STR(err, "cannot read index 299 of '" IDX "': the record is truncated (44 of 64 bytes)", "... said");
	buf_reset(&t);
	buf_putn(&t, x.data, x.len - 64 * 10);
	free(err);
	err = NULL;
	TAP_IS_INT(read_index(&j, &t, 5, &l, &err), -1, "an index without its last 10 records: index 5 fails");
	TAP_OK(err && strstr(err, "truncated or corrupt (18624 bytes"), "... as truncated: %s", err);

	/* corrupt records */
	static const struct {
		size_t at;
		char c;
		const char *want;
	} bad[] = {
		{0, 'x', "the record is corrupt"},
		{5, 'x', "the record is corrupt"},
		{11, '8', "the record is corrupt (it is the record of index 8)"},
		{22, '0', "the record is corrupt (it counts 0 participants)"},
		{24, '1', "the index is truncated or corrupt (19264 bytes, where 301 participants take 19328)"},
		{63, ' ', "the record is corrupt"},
		{45, '?', "the record is corrupt"},
	};
	for (size_t b = 0; b < ARRAY_LEN(bad); b++) {
		buf_reset(&t);
		buf_putn(&t, x.data, x.len);
		t.data[manifest_record_offset(7) + bad[b].at] = bad[b].c;
		free(err);
		err = NULL;
		TAP_IS_INT(read_index(&j, &t, 7, &l, &err), -1, "record 7 with byte %zu changed fails", bad[b].at);
		char *want = xasprintf("cannot read index 7 of '" IDX "': %s", bad[b].want);
		TAP_IS_STR(err, want, "... said");
		free(want);
	}
	/* a record whose length is 0 */
	buf_reset(&t);
	buf_putn(&t, x.data, x.len);
	memcpy(t.data + manifest_record_offset(3) + 53, "0000000000", 10);
	free(err);
	err = NULL;
	TAP_IS_INT(read_index(&j, &t, 3, &l, &err), -1, "a record of a line of 0 bytes fails");
	TAP_IS_STR(err, "cannot read index 3 of '" IDX "': the record is corrupt (a line of 0 bytes)", "... said");

	/* corrupt headers */
	free(err);
	err = NULL;
	TAP_IS_INT(manifest_header_parse(x.data, 10, IDX, &count, &err), -1, "a short header fails");
	free(err);
	buf_reset(&t);
	buf_putn(&t, x.data, 64);
	t.data[0] = 'R';
	TAP_IS_INT(manifest_header_parse(t.data, 64, IDX, &count, &err), -1, "another format's header fails");
	TAP_IS_STR(err, "cannot read the header of '" IDX "': it is not a rapid manifest index of version 1", "... said");
	free(err);
	err = NULL;

	/* corrupt lines: the record says where; the bytes there are wrong */
	uint64_t off, len;
	memcpy(rec, x.data + manifest_record_offset(9), 64);
	TAP_IS_INT(manifest_record_parse(rec, 64, 9, x.len, IDX, &off, &len, &count, &err), 0, "record 9");
	TAP_IS_INT(manifest_line_parse(j.data + off, len - 1, 9, JSONL, &l, &err), -1, "line 9 without its end fails");
	TAP_IS_STR(err, "cannot read index 9 of '" JSONL "': the line is truncated (it does not end with a line break)",
		   "... said");
	free(err);
	TAP_IS_INT(manifest_line_parse("{}\n{}\n", 6, 9, JSONL, &l, &err), -1, "two lines for one fail");
	TAP_IS_STR(err, "cannot read index 9 of '" JSONL "': the line holds more than one line (the index does not "
			"match the manifest)", "... said");
	free(err);
	static const struct {
		const char *line, *want;
	} lines_bad[] = {
		{"{\"participant\": \"1\", \"instances\": [\n", "the line is not valid JSON"},
		{"[1]\n", "the line is not {\"participant\": ID, \"instances\": [SPEC, ...]}"},
		{"{\"participant\": 1, \"instances\": []}\n", "the line is not {\"participant\": ID, \"instances\": [SPEC, ...]}"},
		{"{\"participant\": \"a b\", \"instances\": [{}]}\n",
		 "participant id 'a b' is not [A-Za-z0-9][A-Za-z0-9._-]* of at most 255 characters"},
		{"{\"participant\": \"p1\", \"instances\": []}\n", "participant p1 has 0 instances (1 to 10000)"},
		{"{\"participant\": \"p1\", \"instances\": [{\"schema\": 1}]}\n",
		 "participant p1, instance 1: missing field 'target'"},
	};
	for (size_t b = 0; b < ARRAY_LEN(lines_bad); b++) {
		err = NULL;
		TAP_IS_INT(manifest_line_parse(lines_bad[b].line, strlen(lines_bad[b].line), 4, JSONL, &l, &err), -1,
			   "bad line %zu fails", b);
		char *want = xasprintf("cannot read index 4 of '" JSONL "': %s", lines_bad[b].want);
		TAP_IS_STR(err, want, "... said");
		free(want);
		free(err);
	}
	err = NULL;

	/* what the encoder refuses */
	struct manifest_entry e = v[2];
	e.participant = "bad id";
	TAP_IS_INT(manifest_encode(&e, 1, &j, &x, &err), -1, "an invalid id is not encoded");
	TAP_IS_STR(err, "cannot encode index 0 of the manifest: participant id 'bad id' is not "
			"[A-Za-z0-9][A-Za-z0-9._-]* of at most 255 characters", "... said");
	free(err);
	e = v[2];
	e.nspecs = 0;
	TAP_IS_INT(manifest_encode(&e, 1, &j, &x, &err), -1, "a participant without instances is not encoded");
	free(err);
	const char *broken[] = {"{\"schema\": 1}"};
	e.specs = broken;
	e.nspecs = 1;
	TAP_IS_INT(manifest_encode(&e, 1, &j, &x, &err), -1, "an invalid spec is not encoded");
	TAP_OK(err && strstr(err, "instance 1: missing field 'target'"), "... said: %s", err);
	free(err);
	TAP_IS_INT(manifest_encode(v, 0, &j, &x, &err), -1, "an empty manifest is not encoded");
	free(err);
	TAP_IS_INT(x.len, MANIFEST_IDX_RECORD * (N + 1), "nothing was appended by the refusals");

	char *u = manifest_idx_uri("s3://b/c/manifest.jsonl");
	TAP_IS_STR(u, "s3://b/c/manifest.idx", "the index beside it");
	free(u);
	TAP_OK(manifest_idx_uri("s3://b/c/manifest.json") == NULL, "not a .jsonl: no index");
	TAP_OK(manifest_idx_uri("s3://b/c/.jsonl") == NULL, "... nor a bare .jsonl");

	buf_free(&t);
	buf_free(&j);
	buf_free(&x);
	for (size_t i = 0; i < N; i++) {
		for (size_t k = 0; k < v[i].nspecs; k++)
			free(texts[i][k]);
		free(ids[i]);
	}
}

static void check_line(const char *text, size_t index, const char *want_id, const char *want_err, const char *name)
{
	char *id = NULL, *err = NULL;
	int r = participants_line(text, strlen(text), index, "s3://b/config/p.txt", &id, NULL, &err);
	if (want_id) {
		TAP_IS_INT(r, 0, "%s", name);
		TAP_IS_STR(id, want_id, "%s: the id", name);
	} else {
		TAP_IS_INT(r, -1, "%s: fails", name);
		TAP_IS_STR(err, want_err, "%s: said", name);
	}
	free(id);
	free(err);
}

static void test_participants(void)
{
	const char *ids[] = {"100307", "100408", "sub-03"};
	struct buf b = {0};
	char *err = NULL;
	TAP_IS_INT(participants_encode(ids, 3, &b, &err), 0, "an array file encodes");
	TAP_IS_STR(b.data, "100307\n100408\nsub-03\n", "... one id a line");
	for (size_t i = 0; i < 3; i++)
		check_line(b.data, i, ids[i], NULL, "line index+1 comes back");
	check_line(b.data, 3, NULL, "index 3 is past the end of s3://b/config/p.txt (3 lines)", "index 3");
	const char *bad[] = {"ok", "no way"};
	TAP_IS_INT(participants_encode(bad, 2, &b, &err), -1, "an invalid id is not written");
	TAP_IS_STR(err, "cannot write participant 2: 'no way' is not [A-Za-z0-9][A-Za-z0-9._-]* of at most 255 characters",
		   "... said");
	free(err);
	buf_free(&b);

	const char *crlf = "\xEF\xBB\xBF" "100307\r\n100408\r\n  sub-03\t\r\n\r\n\n  \n";
	check_line(crlf, 0, "100307", NULL, "a BOM is skipped");
	check_line(crlf, 1, "100408", NULL, "CRLF");
	check_line(crlf, 2, "sub-03", NULL, "spaces and tabs around an id");
	check_line(crlf, 3, NULL, "index 3 is past the end of s3://b/config/p.txt (3 lines)",
		   "blank lines at the end are not lines");
	check_line("a\nb", 1, "b", NULL, "no line break at the end");
	check_line("a\n\nb\n", 1, NULL, "line 2 of 's3://b/config/p.txt' is blank", "a blank line among others");
	check_line("a\nb c\n", 1, NULL,
		   "line 2 of 's3://b/config/p.txt' is not a participant id ([A-Za-z0-9][A-Za-z0-9._-]*): 'b c'",
		   "an invalid id");
	check_line("a\n\x1b[31m\n", 1, NULL,
		   "line 2 of 's3://b/config/p.txt' is not a participant id ([A-Za-z0-9][A-Za-z0-9._-]*): '\\x1b[31m'",
		   "an escape is shown, not sent");
	check_line("", 0, NULL, "index 0 is past the end of s3://b/config/p.txt (0 lines)", "an empty file");
	check_line("x\n", 1, NULL, "index 1 is past the end of s3://b/config/p.txt (1 line)", "one line");
	const char nul[] = "a\nb\0c\n";
	char *id = NULL;
	TAP_IS_INT(participants_line(nul, sizeof nul - 1, 1, "p", &id, NULL, &err), -1, "a NUL in a line fails");
	free(err);
}

int main(void)
{
	test_ids();
	test_round_trip();
	test_participants();
	return tap_done();
}
