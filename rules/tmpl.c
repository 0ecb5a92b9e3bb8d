/* tmpl.c - {placeholder} templates and the shell-like splitting of run
 * lines.
 *
 * "{name}" is a placeholder when name is an identifier; "{{" and "}}" are
 * literal braces; any other '{' is literal, so awk '{print $1}' needs no
 * escaping. Splitting follows POSIX word splitting without expansions:
 * blanks separate words, '...' is literal, "..." lets a backslash escape
 * '"', '\' and '$', and a backslash outside quotes escapes the next byte. */
#include "rules/rint.h"

static bool name_char(char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_';
}

static void flush(struct rctx *c, struct buf *lit, struct seg **segs, size_t *n, size_t *cap)
{
	if (!lit->len)
		return;
	GROW(*segs, *cap, *n + 1);
	(*segs)[(*n)++] = (struct seg){SEG_LIT, arena_strndup(c->A, lit->data, lit->len), lit->len, -1};
	buf_reset(lit);
}

static void unknown(struct rctx *c, const struct target *tg, const struct text *t, size_t i,
		    const char *name, enum tmpl_mode mode)
{
	size_t nc = mode == TMPL_URI ? tg->nwildcards : tg->nwildcards + tg->ninputs + tg->noutputs;
	const char **cands = xcalloc(nc, sizeof(*cands));
	for (size_t k = 0; k < nc; k++)
		cands[k] = rules_symbol_name(tg, (int)k);
	const char *hint = closest_word(name, cands, nc);
	if (hint)
		rl_error(c, rl_loc(t, i), "unknown placeholder '{%s}' (did you mean '{%s}'?)", name, hint);
	else if (i > 0 && t->s[i - 1] == '$')
		rl_error(c, rl_loc(t, i), "unknown placeholder '{%s}' (write ${{%s}} for a shell variable)",
			 name, name);
	else
		rl_error(c, rl_loc(t, i), "unknown placeholder '{%s}'", name);
	free(cands);
}

int rl_tmpl_compile(struct rctx *c, const struct target *tg, const struct text *t,
		    enum tmpl_mode mode, struct tmpl *out)
{
	int ret = 0;
	struct seg *segs = NULL;
	size_t n = 0, cap = 0;
	struct buf lit = {0};
	out->loc = rl_loc(t, 0);
	size_t i = 0;
	while (i < t->n) {
		char ch = t->s[i];
		if ((ch == '{' || ch == '}') && i + 1 < t->n && t->s[i + 1] == ch) {
			buf_putc(&lit, ch);
			i += 2;
			continue;
		}
		size_t j = i + 1;
		while (ch == '{' && j < t->n && name_char(t->s[j]))
			j++;
		if (ch != '{' || j >= t->n || t->s[j] != '}' || !rl_is_name(t->s + i + 1, j - i - 1)) {
			buf_putc(&lit, ch);
			i++;
			continue;
		}
		char *name = xstrndup(t->s + i + 1, j - i - 1);
		int k = rl_symbol_find(c, tg, name, j - i - 1);
		if (k < 0) {
			unknown(c, tg, t, i, name, mode);
			ret = -1;
		} else if (mode == TMPL_URI && (size_t)k >= tg->nwildcards) {
			rl_error(c, rl_loc(t, i), "'{%s}' is an %s; a URI may use only wildcards", name,
				 (size_t)k < tg->nwildcards + tg->ninputs ? "input" : "output");
			ret = -1;
		} else {
			flush(c, &lit, &segs, &n, &cap);
			GROW(segs, cap, n + 1);
			segs[n++] = (struct seg){SEG_REF, NULL, 0, k};
		}
		free(name);
		i = j + 1;
	}
	flush(c, &lit, &segs, &n, &cap);
	buf_free(&lit);
	out->nsegs = n;
	out->segs = arena_alloc(c->A, (n ? n : 1) * sizeof(*segs));
	if (n)
		memcpy(out->segs, segs, n * sizeof(*segs));
	free(segs);
	return ret;
}

/* No shell runs a run line, so ">" or "&&" would reach the program as an
 * argument: say so (a warning: "echo a | b" may mean it). */
static void shell_operator(const char *file, struct pos at, const char *w, size_t n)
{
	static const char *const ops[] = {">", ">>", "<", "|", "||", "&&", "&", ";", "2>&1", "2>", "&>"};
	for (size_t i = 0; i < ARRAY_LEN(ops); i++) {
		if (strlen(ops[i]) == n && !memcmp(ops[i], w, n)) {
			warn("%s:%d:%d: '%s' is passed to the program as an argument; use sh -c '...' for a shell",
			     file ? file : "command line", at.line, at.col, ops[i]);
			return;
		}
	}
}

int rl_split_words(struct rctx *c, struct tbuf *tb, size_t from, size_t n, struct span **words, size_t *nwords)
{
	/* Unquoting only removes bytes, so each word is written over the
	 * text it was read from (w never passes r): a long run line costs
	 * no second copy of its bytes and positions. */
	char *s = tb->b.data;
	struct pos *p = tb->p;
	const struct pos last = p[from + n];
	size_t cap = 0, r = from, w = from, to = from + n;
	while (r < to) {
		while (r < to && rl_is_blank(s[r]))
			r++;
		if (r >= to)
			break;
		size_t w0 = w;
		bool plain = true;
		struct pos at = p[r];
		while (r < to && !rl_is_blank(s[r])) {
			char ch = s[r];
			if (ch == '\'' || ch == '"' || ch == '\\')
				plain = false;
			if (ch == '\'' || ch == '"') {
				struct pos q = p[r];
				r++;
				while (r < to && s[r] != ch) {
					if (ch == '"' && s[r] == '\\' && r + 1 < to && strchr("\"\\$", s[r + 1]))
						r++;
					s[w] = s[r];
					p[w++] = p[r++];
				}
				if (r >= to) {
					rl_error(c, (struct loc){tb->file, q.line, q.col}, "unterminated %s quote",
						 ch == '"' ? "double" : "single");
					return -1;
				}
				r++;
			} else if (ch == '\\' && r + 1 < to) {
				s[w] = s[r + 1];
				p[w++] = p[r + 1];
				r += 2;
			} else {
				s[w] = ch;
				p[w++] = p[r++];
			}
		}
		GROW(*words, cap, *nwords + 1);
		(*words)[(*nwords)++] = (struct span){w0, w - w0, plain};
		if (plain)
			shell_operator(tb->file, at, s + w0, w - w0);
		/* The blank after the word (if any) is consumed before its
		 * place is taken by the NUL, so w stays behind r. */
		struct pos end = w > w0 ? (struct pos){p[w - 1].line, p[w - 1].col + 1} : last;
		if (r < to)
			r++;
		s[w] = 0;
		p[w++] = end;
	}
	return 0;
}

char *rules_tmpl_text(const struct target *t, const struct tmpl *tp)
{
	struct buf b = {0};
	buf_puts(&b, "");
	for (size_t i = 0; i < tp->nsegs; i++) {
		if (tp->segs[i].kind == SEG_LIT)
			buf_putn(&b, tp->segs[i].text, tp->segs[i].len);
		else
			buf_printf(&b, "{%s}", rules_symbol_name(t, tp->segs[i].ref));
	}
	return buf_detach(&b);
}
