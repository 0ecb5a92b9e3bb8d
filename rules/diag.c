/* diag.c - positions, error reporting and small lexical helpers shared by
 * the rules/ files; rules_valid_id. */
#include "rules/rint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct loc rl_loc(const struct text *t, size_t i)
{
	if (i > t->n)
		i = t->n;
	return (struct loc){t->file, t->p[i].line, t->p[i].col};
}

char *rl_loc_str(struct loc l, bool with_col)
{
	if (!l.file)
		return xstrdup("command line");
	if (with_col)
		return xasprintf("%s:%d:%d", l.file, l.line, l.col);
	return xasprintf("%s:%d", l.file, l.line);
}

void rl_error(struct rctx *c, struct loc l, const char *fmt, ...)
{
	if (c->stop)
		return;
	struct buf b = {0};
	if (l.file)
		buf_printf(&b, "%s:%d:%d: ", l.file, l.line, l.col);
	else
		buf_puts(&b, "command line: ");
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	/* The same mistake seen through several uses (a variable used by
	 * three targets) is one mistake. */
	for (int i = 0; i < c->nmsgs; i++) {
		if (!strcmp(c->msgs[i], b.data)) {
			buf_free(&b);
			return;
		}
	}
	if (c->nerr >= RL_MAX_ERRORS) {
		warn("too many errors");
		c->stop = true;
		c->nerr++;
		buf_free(&b);
		return;
	}
	warn("%s", b.data);
	c->nerr++;
	c->msgs[c->nmsgs++] = buf_detach(&b);
}

void rl_error_counted(struct rctx *c)
{
	if (c->nerr >= RL_MAX_ERRORS && !c->stop) {
		warn("too many errors");
		c->stop = true;
	}
	c->nerr++;
}

const char *rl_intern_file(struct rctx *c, const char *path)
{
	struct rapidfile *rf = c->rf;
	size_t n = strlen(path);
	const char *f = rl_map_get(&c->filemap, path, n);
	if (f)
		return f;
	GROW(rf->files, c->capfiles, rf->nfiles + 1);
	rf->files[rf->nfiles] = arena_strdup(c->A, path);
	rl_map_put(&c->filemap, rf->files[rf->nfiles], n, rf->files[rf->nfiles]);
	return rf->files[rf->nfiles++];
}

char *rl_path_in(const char *dir, const char *path)
{
	if (!strcmp(dir, ".") || path[0] == '/')
		return xstrdup(path);
	return path_join(dir, path);
}

char *rl_quote_id(const char *s, size_t n)
{
	struct buf b = {0};
	bool cut = n > RULES_ID_MAX;
	size_t m = cut ? 40 : n;
	for (size_t i = 0; i < m; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch < 0x20 || ch == 0x7f)
			buf_printf(&b, "\\x%02x", ch);
		else
			buf_putc(&b, ch);
	}
	if (cut)
		buf_puts(&b, "...");
	return buf_detach(&b);
}

static const char id_pattern[] = "must match [A-Za-z0-9][A-Za-z0-9._-]*";
static const char id_length[] = "at most 255 bytes";

static bool id_char(unsigned char ch, bool first)
{
	if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'))
		return true;
	return !first && (ch == '.' || ch == '_' || ch == '-');
}

static bool valid_id_n(const char *s, size_t n, const char **why)
{
	if (n > RULES_ID_MAX) {
		if (why)
			*why = id_length;
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		if (!id_char((unsigned char)s[i], i == 0)) {
			if (why)
				*why = id_pattern;
			return false;
		}
	}
	if (n == 0) {
		if (why)
			*why = id_pattern;
		return false;
	}
	return true;
}

bool rules_valid_id(const char *s, const char **why)
{
	return valid_id_n(s, strlen(s), why);
}

bool rl_check_id(struct rctx *c, const char *s, size_t n, struct loc l)
{
	const char *why;
	if (memchr(s, 0, n)) {
		rl_error(c, l, "invalid id: contains a NUL byte");
		return false;
	}
	if (valid_id_n(s, n, &why))
		return true;
	if (n == 0) {
		rl_error(c, l, "empty id");
		return false;
	}
	char *q = rl_quote_id(s, n);
	if (why == id_length)
		rl_error(c, l, "invalid id '%s' (%zu bytes): %s", q, n, why);
	else
		rl_error(c, l, "invalid id '%s': %s", q, why);
	free(q);
	return false;
}

void tbuf_put(struct tbuf *t, char ch, struct pos p)
{
	buf_putc(&t->b, ch);
	GROW(t->p, t->cap, t->b.len + 1);
	t->p[t->b.len - 1] = p;
}

void tbuf_free(struct tbuf *t)
{
	buf_free(&t->b);
	free(t->p);
	t->p = NULL;
	t->cap = 0;
}

struct text tbuf_text(struct tbuf *t, struct pos end)
{
	GROW(t->p, t->cap, t->b.len + 1);
	if (t->b.len > 0)
		end = (struct pos){t->p[t->b.len - 1].line, t->p[t->b.len - 1].col + 1};
	t->p[t->b.len] = end;
	if (!t->b.data)
		buf_puts(&t->b, "");
	return (struct text){t->b.data, t->p, t->b.len, t->file};
}

struct text rl_text_slice(struct rctx *c, const struct text *t, size_t from, size_t to)
{
	struct pos *p = arena_alloc(c->T, (to - from + 1) * sizeof(*p));
	memcpy(p, t->p + from, (to - from + 1) * sizeof(*p));
	char *s = arena_strndup(c->T, t->s + from, to - from);
	return (struct text){s, p, to - from, t->file};
}

struct text rl_text_tail(const struct text *t, size_t from)
{
	return (struct text){t->s + from, t->p + from, t->n - from, t->file};
}

bool rl_is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

static bool is_alpha(char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z');
}

static bool is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

bool rl_is_name(const char *s, size_t n)
{
	if (n == 0 || !(is_alpha(s[0]) || s[0] == '_'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!(is_alpha(s[i]) || is_digit(s[i]) || s[i] == '_'))
			return false;
	return true;
}

bool rl_is_target_name(const char *s, size_t n)
{
	if (n == 0 || !is_alpha(s[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!(is_alpha(s[i]) || is_digit(s[i]) || s[i] == '_' || s[i] == '-'))
			return false;
	return true;
}

size_t rl_skip_blanks(const struct text *t, size_t i)
{
	while (i < t->n && rl_is_blank(t->s[i]))
		i++;
	return i;
}

size_t rl_word_end(const struct text *t, size_t i)
{
	while (i < t->n && !rl_is_blank(t->s[i]) && t->s[i] != '=')
		i++;
	return i;
}

bool rl_word_is(const struct text *t, size_t from, size_t to, const char *w)
{
	size_t n = strlen(w);
	return to - from == n && !memcmp(t->s + from, w, n);
}

size_t rl_uri_scheme(const char *s, size_t n)
{
	if (n == 0 || !is_alpha(s[0]))
		return 0;
	size_t i = 1;
	while (i < n && (is_alpha(s[i]) || is_digit(s[i]) || s[i] == '+' || s[i] == '.' || s[i] == '-'))
		i++;
	if (i + 3 <= n && !memcmp(s + i, "://", 3))
		return i;
	return 0;
}
