/* lex.c - physical lines to logical lines.
 *
 * A '#' at the start of a line or after a blank, outside quotes, starts a
 * comment; "\#" is a literal '#'. A '\' ending a physical line joins the
 * next one with a single space (the next line's leading blanks dropped).
 * Quotes are tracked only so that "#" inside them stays text; they are
 * kept for the run-line splitter. Every byte keeps its physical position. */
#include "rules/rint.h"

#include <string.h>

struct lexer {
	struct rctx *c;
	const char *file;
	struct tbuf cur;
	bool open;      /* cur holds a logical line being built */
	bool indented;
	struct line *lines;
	size_t n, cap;
	int last_line;  /* physical line of the last byte seen */
};

static void finish(struct lexer *lx)
{
	struct tbuf *b = &lx->cur;
	while (b->b.len > 0 && rl_is_blank(b->b.data[b->b.len - 1]))
		b->b.len--;
	if (b->b.data)
		b->b.data[b->b.len] = 0;
	if (b->b.len > 0) {
		struct text t = tbuf_text(b, (struct pos){lx->last_line, 1});
		GROW(lx->lines, lx->cap, lx->n + 1);
		struct line *l = &lx->lines[lx->n++];
		l->t = rl_text_slice(lx->c, &t, 0, t.n);
		l->indented = lx->indented;
	}
	buf_reset(&b->b);
	lx->open = false;
}

void rl_lex(struct rctx *c, const char *file, const char *data, size_t len,
	    struct line **lines, size_t *nlines)
{
	struct lexer lx = {.c = c, .file = file};
	lx.cur.file = file;
	size_t i = 0;
	int lineno = 0;
	char q = 0;
	bool cont = false;
	/* A byte order mark is not part of the first line. */
	if (len >= 3 && !memcmp(data, "\xef\xbb\xbf", 3))
		i = 3;
	while (i < len) {
		size_t bol = i, e = i;
		while (e < len && data[e] != '\n')
			e++;
		size_t end = e;
		if (end > bol && data[end - 1] == '\r')
			end--;
		lineno++;
		lx.last_line = lineno;
		size_t k = bol;
		if (!cont) {
			lx.open = true;
			lx.indented = k < end && rl_is_blank(data[k]);
			q = 0;
		}
		while (k < end && rl_is_blank(data[k]))
			k++;
		cont = false;
		for (; k < end; k++) {
			char ch = data[k];
			struct pos p = {lineno, (int)(k - bol + 1)};
			if (ch == '\\' && k + 1 == end) {
				/* The joint is exactly one space (quoted blanks stay). */
				while (q == 0 && lx.cur.b.len > 0 && rl_is_blank(lx.cur.b.data[lx.cur.b.len - 1]))
					lx.cur.b.len--;
				cont = true;
				tbuf_put(&lx.cur, ' ', p);
				break;
			}
			if (ch == 0) {
				rl_error(c, (struct loc){file, p.line, p.col}, "unexpected NUL byte");
				continue;
			}
			if (q == 0) {
				size_t len0 = lx.cur.b.len;
				if (ch == '#' && (len0 == 0 || rl_is_blank(lx.cur.b.data[len0 - 1])))
					break;
				if (ch == '\\') {
					if (data[k + 1] == '#') {
						tbuf_put(&lx.cur, '#', (struct pos){lineno, p.col + 1});
					} else {
						tbuf_put(&lx.cur, '\\', p);
						tbuf_put(&lx.cur, data[k + 1], (struct pos){lineno, p.col + 1});
					}
					k++;
					continue;
				}
				if (ch == '\'' || ch == '"')
					q = ch;
			} else if (q == '\'') {
				if (ch == '\'')
					q = 0;
			} else {
				if (ch == '\\') {
					tbuf_put(&lx.cur, ch, p);
					tbuf_put(&lx.cur, data[k + 1], (struct pos){lineno, p.col + 1});
					k++;
					continue;
				}
				if (ch == '"')
					q = 0;
			}
			tbuf_put(&lx.cur, ch, p);
		}
		if (!cont)
			finish(&lx);
		i = e + 1;
	}
	if (lx.open)
		finish(&lx);
	tbuf_free(&lx.cur);
	*lines = arena_alloc(c->T, (lx.n ? lx.n : 1) * sizeof(struct line));
	if (lx.n)
		memcpy(*lines, lx.lines, lx.n * sizeof(struct line));
	*nlines = lx.n;
	free(lx.lines);
}
