/* error.c - the structured error of aws/ and its one formatting. */
#include "aws/error.h"
#include "lib/util.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

bool aws_error_isset(const struct aws_error *e)
{
	return e && e->kind != AWS_ERR_NONE;
}

void aws_error_clear(struct aws_error *e)
{
	if (!e)
		return;
	free(e->what);
	free(e->object);
	free(e->code);
	free(e->message);
	free(e->note);
	memset(e, 0, sizeof(*e));
}

static char *vfmt(const char *fmt, va_list ap)
{
	struct buf b = {0};
	buf_vprintf(&b, fmt, ap);
	return b.data ? buf_detach(&b) : xstrdup("");
}

void aws_error_set(struct aws_error *e, enum aws_error_kind kind, const char *fmt, ...)
{
	va_list ap;
	if (!e)
		return;
	char *what = e->what, *object = e->object;
	e->what = e->object = NULL;
	aws_error_clear(e);
	e->what = what;
	e->object = object;
	e->kind = kind;
	va_start(ap, fmt);
	e->message = vfmt(fmt, ap);
	va_end(ap);
}

void aws_error_what(struct aws_error *e, const char *verb, const char *object)
{
	if (!e)
		return;
	free(e->what);
	free(e->object);
	e->what = object ? xasprintf("%s '%s'", verb, object) : xstrdup(verb);
	e->object = object ? xstrdup(object) : NULL;
}

void aws_error_whatf(struct aws_error *e, const char *object, const char *fmt, ...)
{
	va_list ap;
	if (!e)
		return;
	free(e->what);
	free(e->object);
	va_start(ap, fmt);
	e->what = vfmt(fmt, ap);
	va_end(ap);
	e->object = object ? xstrdup(object) : NULL;
}

void aws_error_notef(struct aws_error *e, const char *fmt, ...)
{
	struct buf b = {0};
	va_list ap;
	if (!e)
		return;
	if (e->note)
		buf_puts(&b, e->note);
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	free(e->note);
	e->note = buf_detach(&b);
}

void aws_error_move(struct aws_error *dst, struct aws_error *src)
{
	if (dst == src)
		return;
	aws_error_clear(dst);
	*dst = *src;
	memset(src, 0, sizeof(*src));
}

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

void aws_error_copy(struct aws_error *dst, const struct aws_error *src)
{
	if (dst == src)
		return;
	aws_error_clear(dst);
	dst->kind = src->kind;
	dst->what = dup_or_null(src->what);
	dst->object = dup_or_null(src->object);
	dst->status = src->status;
	dst->code = dup_or_null(src->code);
	dst->message = dup_or_null(src->message);
	dst->note = dup_or_null(src->note);
	dst->curl_code = src->curl_code;
	dst->attempts = src->attempts;
	dst->brief = src->brief;
}

struct aws_error *aws_error_dup(const struct aws_error *src)
{
	struct aws_error *e = xcalloc(1, sizeof(*e));
	aws_error_copy(e, src);
	return e;
}

void aws_error_free(struct aws_error *e)
{
	if (!e)
		return;
	aws_error_clear(e);
	free(e);
}

char *aws_error_oneline(const char *msg)
{
	size_t n = strcspn(msg, "\r\n");
	char *s = xstrndup(msg, n);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < ' ' || s[i] == 0x7f)
			s[i] = ' ';
	while (n > 0 && s[n - 1] == ' ')
		s[--n] = 0;
	return s;
}

bool aws_error_is(const struct aws_error *e, long status, const char *code)
{
	if (!aws_error_isset(e) || e->kind != AWS_ERR_SERVICE)
		return false;
	if (status && e->status != status)
		return false;
	return !code || (e->code && !strcmp(e->code, code));
}

static void put_reason(struct buf *b, const struct aws_error *e)
{
	size_t start = b->len;
	if (e->kind == AWS_ERR_SERVICE && !e->brief) {
		buf_printf(b, "%ld", e->status);
		if (e->code)
			buf_printf(b, " %s", e->code);
		if (e->message && *e->message)
			buf_printf(b, ": %s", e->message);
	} else if (e->message) {
		buf_puts(b, e->message);
	}
	if (e->note)
		buf_puts(b, e->note);
	if (e->attempts > 1)
		buf_printf(b, " (after %u attempts)", e->attempts);
	if (b->len == start)
		buf_puts(b, "failed");
}

char *aws_error_reason(const struct aws_error *e)
{
	struct buf b = {0};
	put_reason(&b, e);
	return buf_detach(&b);
}

char *aws_error_format(const struct aws_error *e)
{
	struct buf b = {0};
	if (e->what)
		buf_printf(&b, "cannot %s: ", e->what);
	put_reason(&b, e);
	return buf_detach(&b);
}
