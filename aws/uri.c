/* uri.c - percent-encoding and decoding with AWS's unreserved set. */
#include "aws/uri.h"

#include "lib/util.h"

#include <string.h>

static int unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
	       c == '_' || c == '.' || c == '~';
}

static void encode(struct buf *out, const char *s, size_t n, int keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, run = 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[3];
		if (unreserved(c) || (keep_slash && c == '/'))
			continue;
		buf_putn(out, s + run, i - run);
		esc[0] = '%';
		esc[1] = hex[c >> 4];
		esc[2] = hex[c & 15];
		buf_putn(out, esc, 3);
		run = i + 1;
	}
	buf_putn(out, s + run, n - run);
}

void uri_encode(struct buf *out, const char *s, size_t n)
{
	encode(out, s, n, 0);
}

void uri_encode_path(struct buf *out, const char *s, size_t n)
{
	encode(out, s, n, 1);
}

void uri_decode(struct buf *out, const char *s, size_t n)
{
	size_t i, run = 0;
	for (i = 0; i + 2 < n; i++) {
		int hi, lo;
		if (s[i] != '%' || (hi = hex_digit((unsigned char)s[i + 1])) < 0 || (lo = hex_digit((unsigned char)s[i + 2])) < 0)
			continue;
		buf_putn(out, s + run, i - run);
		buf_putc(out, hi << 4 | lo);
		i += 2;
		run = i + 1;
	}
	buf_putn(out, s + run, n - run);
}

void uri_query_add(struct buf *out, const char *name, const char *value)
{
	if (out->len)
		buf_putc(out, '&');
	uri_encode(out, name, strlen(name));
	if (value) {
		buf_putc(out, '=');
		uri_encode(out, value, strlen(value));
	}
}
