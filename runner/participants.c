/* participants.c - the participant array file (participants.h): its one
 * encoder and its one parser. */
#include "runner/participants.h"
#include "runner/manifest.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int participants_encode(const char *const *ids, size_t n, struct buf *out, char **err)
{
	for (size_t i = 0; i < n; i++) {
		if (!manifest_participant_valid(ids[i])) {
			struct buf b = {0};
			buf_printf(&b, "cannot write participant %zu: '", i + 1);
			buf_put_printable(&b, ids[i] ? ids[i] : "");
			buf_printf(&b, "' is not [A-Za-z0-9][A-Za-z0-9._-]* of at most %d characters", MANIFEST_MAX_ID);
			*err = buf_detach(&b);
			return -1;
		}
	}
	for (size_t i = 0; i < n; i++) {
		buf_puts(out, ids[i]);
		buf_putc(out, '\n');
	}
	return 0;
}

static int blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

int participants_line(const char *text, size_t len, size_t index, const char *what, char **id, size_t *nlines,
		      char **err)
{
	const char *p = text, *end = text + len;
	const char *want = NULL, *want_end = NULL;
	size_t n = 0, last = 0; /* lines seen; lines up to the last one not blank */
	*id = NULL;
	if (len >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3))
		p += 3;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end;
		const char *s = p;
		while (s < e && blank(*s))
			s++;
		while (e > s && blank(e[-1]))
			e--;
		if (n == index)
			want = s, want_end = e;
		n++;
		if (e > s)
			last = n;
		p = nl ? nl + 1 : end;
	}
	if (nlines)
		*nlines = last;
	if (index >= last) {
		*err = xasprintf("index %zu is past the end of %s (%zu line%s)", index, what, last, last == 1 ? "" : "s");
		return -1;
	}
	if (want == want_end) {
		*err = xasprintf("line %zu of '%s' is blank", index + 1, what);
		return -1;
	}
	char *v = xstrndup(want, (size_t)(want_end - want));
	if (strlen(v) != (size_t)(want_end - want) || !manifest_participant_valid(v)) {
		struct buf b = {0};
		buf_printf(&b, "line %zu of '%s' is not a participant id ([A-Za-z0-9][A-Za-z0-9._-]*): '", index + 1,
			   what);
		buf_put_printable(&b, v);
		buf_putc(&b, '\'');
		*err = buf_detach(&b);
		free(v);
		return -1;
	}
	*id = v;
	return 0;
}
