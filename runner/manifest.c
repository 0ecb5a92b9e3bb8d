/* manifest.c - manifest.jsonl and manifest.idx (the format is in
 * manifest.h): their one encoder and their one parser. The parser trusts
 * nothing it reads: every width, digit, index and size is checked, so a
 * truncated or overwritten object is an error naming it, never a wrong
 * participant run. */
#include "runner/manifest.h"
#include "runner/spec.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEADER_MAGIC "rapid-manifest-idx 1 n="

__attribute__((format(printf, 2, 3)))
static int fail(char **err, const char *fmt, ...)
{
	struct buf b = {0};
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	*err = buf_detach(&b);
	return -1;
}

bool manifest_participant_valid(const char *id)
{
	size_t n = id ? strlen(id) : 0;
	if (n == 0 || n > MANIFEST_MAX_ID || !isalnum((unsigned char)id[0]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isascii((unsigned char)id[i]) ||
		    !(isalnum((unsigned char)id[i]) || id[i] == '.' || id[i] == '_' || id[i] == '-'))
			return false;
	return true;
}

/* An id for a message: printable, cut short. */
static void put_id(struct buf *b, const char *id)
{
	buf_putc(b, '\'');
	buf_put_printable(b, id);
	buf_putc(b, '\'');
}

uint64_t manifest_record_offset(size_t index)
{
	return (uint64_t)MANIFEST_IDX_RECORD * ((uint64_t)index + 1);
}

/* ---- encoding ---- */

/* The line of one entry, into line (without its '\n'). */
static int encode_line(const struct manifest_entry *e, size_t i, struct buf *line, char **err)
{
	struct buf id = {0};
	int ret = -1;
	cJSON *o = NULL;
	put_id(&id, e->participant ? e->participant : "");
	if (!manifest_participant_valid(e->participant)) {
		fail(err, "cannot encode index %zu of the manifest: participant id %s is not "
			  "[A-Za-z0-9][A-Za-z0-9._-]* of at most %d characters", i, id.data, MANIFEST_MAX_ID);
		goto out;
	}
	if (e->nspecs == 0 || e->nspecs > MANIFEST_MAX_INSTANCES) {
		fail(err, "cannot encode index %zu of the manifest (participant %s): %zu instances (1 to %d)", i,
		     id.data, e->nspecs, MANIFEST_MAX_INSTANCES);
		goto out;
	}
	o = xnonnull(cJSON_CreateObject());
	cJSON *arr = xnonnull(cJSON_CreateArray());
	xnonnull(cJSON_AddStringToObject(o, "participant", e->participant));
	cJSON_AddItemToObject(o, "instances", arr);
	for (size_t k = 0; k < e->nspecs; k++) {
		const char *t = e->specs[k] ? e->specs[k] : "";
		char *why = NULL;
		struct spec *s = spec_parse(t, strlen(t), &why);
		if (!s) {
			fail(err, "cannot encode index %zu of the manifest (participant %s): instance %zu: %s", i,
			     id.data, k + 1, why);
			free(why);
			goto out;
		}
		spec_free(s);
		cJSON_AddItemToArray(arr, xnonnull(cJSON_Parse(t)));
	}
	char *text = xnonnull(cJSON_PrintUnformatted(o));
	buf_puts(line, text);
	free(text);
	if (line->len + 1 > MANIFEST_MAX_LINE) {
		fail(err, "cannot encode index %zu of the manifest (participant %s): its line is over %u bytes", i,
		     id.data, MANIFEST_MAX_LINE);
		goto out;
	}
	ret = 0;
out:
	cJSON_Delete(o);
	buf_free(&id);
	return ret;
}

static void put_header(struct buf *idx, size_t n)
{
	char h[MANIFEST_IDX_RECORD + 1];
	int w = snprintf(h, sizeof h, HEADER_MAGIC "%010zu", n);
	memset(h + w, ' ', MANIFEST_IDX_RECORD - 1 - (size_t)w);
	h[MANIFEST_IDX_RECORD - 1] = '\n';
	buf_putn(idx, h, MANIFEST_IDX_RECORD);
}

int manifest_encode(const struct manifest_entry *v, size_t n, struct buf *jsonl, struct buf *idx, char **err)
{
	if (n == 0 || n > MANIFEST_MAX_PARTICIPANTS)
		return fail(err, "cannot encode a manifest of %zu participants (1 to %d)", n, MANIFEST_MAX_PARTICIPANTS);
	struct buf j = {0}, x = {0}, line = {0};
	int ret = -1;
	put_header(&x, n);
	for (size_t i = 0; i < n; i++) {
		buf_reset(&line);
		if (encode_line(&v[i], i, &line, err) < 0)
			goto out;
		buf_putc(&line, '\n');
		char rec[MANIFEST_IDX_RECORD + 1];
		snprintf(rec, sizeof rec, "i=%010zu n=%010zu off=%018" PRIu64 " len=%010zu\n", i, n,
			 (uint64_t)jsonl->len + j.len, line.len);
		buf_putn(&x, rec, MANIFEST_IDX_RECORD);
		buf_putn(&j, line.data, line.len);
	}
	buf_putn(jsonl, j.data, j.len);
	buf_putn(idx, x.data, x.len);
	ret = 0;
out:
	buf_free(&j);
	buf_free(&x);
	buf_free(&line);
	return ret;
}

/* ---- parsing ---- */

/* width decimal digits at p; -1 if any is not a digit. */
static int digits(const char *p, size_t width, uint64_t *v)
{
	uint64_t x = 0;
	for (size_t i = 0; i < width; i++) {
		if (!isdigit((unsigned char)p[i]))
			return -1;
		x = x * 10 + (uint64_t)(p[i] - '0');
	}
	*v = x;
	return 0;
}

int manifest_header_parse(const char *text, size_t len, const char *what, size_t *count, char **err)
{
	size_t m = strlen(HEADER_MAGIC);
	uint64_t n;
	if (len < MANIFEST_IDX_RECORD)
		return fail(err, "cannot read the header of '%s': it is truncated (%zu of %d bytes)", what, len,
			    MANIFEST_IDX_RECORD);
	if (memcmp(text, HEADER_MAGIC, m) || digits(text + m, 10, &n) < 0 || text[MANIFEST_IDX_RECORD - 1] != '\n')
		return fail(err, "cannot read the header of '%s': it is not a rapid manifest index of version 1", what);
	for (size_t i = m + 10; i < MANIFEST_IDX_RECORD - 1; i++)
		if (text[i] != ' ')
			return fail(err, "cannot read the header of '%s': it is not a rapid manifest index of version 1",
				    what);
	if (n == 0 || n > MANIFEST_MAX_PARTICIPANTS)
		return fail(err, "cannot read the header of '%s': it counts %" PRIu64 " participants (1 to %d)", what,
			    n, MANIFEST_MAX_PARTICIPANTS);
	*count = (size_t)n;
	return 0;
}

int manifest_record_parse(const char *rec, size_t len, size_t index, uint64_t idx_size, const char *what,
			  uint64_t *offset, uint64_t *length, size_t *count, char **err)
{
	uint64_t i, n, off, l;
	if (len < MANIFEST_IDX_RECORD)
		return fail(err, "cannot read index %zu of '%s': the record is truncated (%zu of %d bytes)", index, what,
			    len, MANIFEST_IDX_RECORD);
	if (len > MANIFEST_IDX_RECORD || memcmp(rec, "i=", 2) || digits(rec + 2, 10, &i) < 0 ||
	    memcmp(rec + 12, " n=", 3) || digits(rec + 15, 10, &n) < 0 || memcmp(rec + 25, " off=", 5) ||
	    digits(rec + 30, 18, &off) < 0 || memcmp(rec + 48, " len=", 5) || digits(rec + 53, 10, &l) < 0 ||
	    rec[63] != '\n')
		return fail(err, "cannot read index %zu of '%s': the record is corrupt", index, what);
	if (i != index)
		return fail(err, "cannot read index %zu of '%s': the record is corrupt (it is the record of index %" PRIu64
			    ")", index, what, i);
	if (n == 0 || n > MANIFEST_MAX_PARTICIPANTS || index >= n)
		return fail(err, "cannot read index %zu of '%s': the record is corrupt (it counts %" PRIu64
			    " participants)", index, what, n);
	if (idx_size != manifest_record_offset((size_t)n))
		return fail(err, "cannot read index %zu of '%s': the index is truncated or corrupt (%" PRIu64
			    " bytes, where %" PRIu64 " participants take %" PRIu64 ")", index, what, idx_size, n,
			    manifest_record_offset((size_t)n));
	if (l < 2 || l > MANIFEST_MAX_LINE)
		return fail(err, "cannot read index %zu of '%s': the record is corrupt (a line of %" PRIu64 " bytes)",
			    index, what, l);
	*offset = off;
	*length = l;
	*count = (size_t)n;
	return 0;
}

void manifest_line_free(struct manifest_line *l)
{
	free(l->participant);
	for (size_t i = 0; i < l->nspecs; i++)
		free(l->specs[i]);
	free(l->specs);
	memset(l, 0, sizeof *l);
}

int manifest_line_parse(const char *text, size_t len, size_t index, const char *what, struct manifest_line *out,
			char **err)
{
	memset(out, 0, sizeof *out);
	if (len == 0 || text[len - 1] != '\n')
		return fail(err, "cannot read index %zu of '%s': the line is truncated (it does not end with a line "
			    "break)", index, what);
	if (memchr(text, '\n', len - 1))
		return fail(err, "cannot read index %zu of '%s': the line holds more than one line (the index does not "
			    "match the manifest)", index, what);
	cJSON *j = cJSON_ParseWithLength(text, len - 1);
	int ret = -1;
	if (!j) {
		fail(err, "cannot read index %zu of '%s': the line is not valid JSON", index, what);
		goto out;
	}
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(j, "participant");
	const cJSON *in = cJSON_GetObjectItemCaseSensitive(j, "instances");
	if (!cJSON_IsObject(j) || !cJSON_IsString(p) || !cJSON_IsArray(in)) {
		fail(err, "cannot read index %zu of '%s': the line is not {\"participant\": ID, \"instances\": [SPEC, "
			  "...]}", index, what);
		goto out;
	}
	if (!manifest_participant_valid(p->valuestring)) {
		struct buf id = {0};
		put_id(&id, p->valuestring);
		fail(err, "cannot read index %zu of '%s': participant id %s is not [A-Za-z0-9][A-Za-z0-9._-]* of at "
			  "most %d characters", index, what, id.data, MANIFEST_MAX_ID);
		buf_free(&id);
		goto out;
	}
	int n = cJSON_GetArraySize(in);
	if (n < 1 || n > MANIFEST_MAX_INSTANCES) {
		fail(err, "cannot read index %zu of '%s': participant %s has %d instances (1 to %d)", index, what,
		     p->valuestring, n, MANIFEST_MAX_INSTANCES);
		goto out;
	}
	out->participant = xstrdup(p->valuestring);
	out->specs = xcalloc((size_t)n, sizeof(char *));
	const cJSON *it;
	cJSON_ArrayForEach(it, in) {
		char *t = xnonnull(cJSON_PrintUnformatted(it));
		out->specs[out->nspecs++] = t;
		char *why = NULL;
		struct spec *s = spec_parse(t, strlen(t), &why);
		if (!s) {
			fail(err, "cannot read index %zu of '%s': participant %s, instance %zu: %s", index, what,
			     out->participant, out->nspecs, why);
			free(why);
			goto out;
		}
		spec_free(s);
	}
	ret = 0;
out:
	cJSON_Delete(j);
	if (ret < 0)
		manifest_line_free(out);
	return ret;
}

char *manifest_idx_uri(const char *uri)
{
	size_t n = strlen(uri), s = strlen(".jsonl");
	if (n <= s || strcmp(uri + n - s, ".jsonl") || uri[n - s - 1] == '/')
		return NULL;
	return xasprintf("%.*s.idx", (int)(n - s), uri);
}
