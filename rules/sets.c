/* sets.c - set expressions: the values a wildcard takes.
 *
 *   setexpr = item { item } [ "exclude" item { item } ]
 *   item    = "file(" PATH ")" | "list(" URI ")" | "tsv(" PATH "," COLUMN [ "," PREFIX ] ")"
 *           | "$(" NAME ")" | WORD
 *
 * Relative paths are relative to the main Rapidfile's directory, from
 * whichever file they are written in.
 * Order is first occurrence; duplicates are dropped with a warning. Lists
 * read from files and listings are cached by path so a participants file
 * used by three targets is read once; a variable's set is evaluated once. */
#include "rules/rint.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <sys/stat.h>

struct cache_entry {
	char *key;
	struct sres r;
	bool warned; /* "gives no values" said once */
};

/* An open-addressing hash of indices into an sres (index + 1; 0 empty). */
struct idhash {
	uint32_t *slot;
	size_t cap, n;
};

struct acc {
	struct sres r;
	struct idhash h;
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

static long idh_find(const struct idhash *h, const struct sres *r, const char *s)
{
	if (!h->cap)
		return -1;
	for (size_t i = hash_str(s) & (h->cap - 1);; i = (i + 1) & (h->cap - 1)) {
		if (!h->slot[i])
			return -1;
		if (!strcmp(r->v[h->slot[i] - 1], s))
			return (long)h->slot[i] - 1;
	}
}

static void idh_put(struct idhash *h, const struct sres *r, uint32_t idx)
{
	if ((h->n + 1) * 2 > h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 64;
		uint32_t *slot = xcalloc(cap, sizeof(*slot));
		for (size_t i = 0; i < h->cap; i++) {
			if (!h->slot[i])
				continue;
			size_t k = hash_str(r->v[h->slot[i] - 1]) & (cap - 1);
			while (slot[k])
				k = (k + 1) & (cap - 1);
			slot[k] = h->slot[i];
		}
		free(h->slot);
		h->slot = slot;
		h->cap = cap;
	}
	size_t k = hash_str(r->v[idx]) & (h->cap - 1);
	while (h->slot[k])
		k = (k + 1) & (h->cap - 1);
	h->slot[k] = idx + 1;
	h->n++;
}

static void sres_push(struct sres *r, char *v, struct loc o)
{
	if (r->n + 1 > r->cap) {
		size_t cap = r->cap;
		GROW(r->v, cap, r->n + 1);
		r->o = xreallocarray(r->o, cap, sizeof(*r->o));
		r->cap = cap;
	}
	r->v[r->n] = v;
	r->o[r->n] = o;
	r->n++;
}

void rl_sres_free(struct sres *r)
{
	free(r->v);
	free(r->o);
	memset(r, 0, sizeof(*r));
}

/* Add v (arena string) unless already there; dup: warn about duplicates. */
static void acc_add(struct acc *a, char *v, struct loc o, bool dup)
{
	long k = idh_find(&a->h, &a->r, v);
	if (k >= 0) {
		if (dup) {
			char *at = rl_loc_str(o, true);
			char *first = rl_loc_str(a->r.o[k], false);
			warn("%s: duplicate id '%s' (first at %s), ignored", at, v, first);
			free(at);
			free(first);
		}
		return;
	}
	sres_push(&a->r, v, o);
	idh_put(&a->h, &a->r, (uint32_t)(a->r.n - 1));
}

static void acc_merge(struct acc *a, const struct sres *item, bool dup)
{
	for (size_t i = 0; i < item->n; i++)
		acc_add(a, item->v[i], item->o[i], dup);
	if (item->deferred && !a->r.deferred) {
		a->r.deferred = true;
		a->r.what = item->what;
	}
	if (item->failed)
		a->r.failed = true;
}

static void acc_free(struct acc *a)
{
	rl_sres_free(&a->r);
	free(a->h.slot);
}

static struct cache_entry *cache_get(struct rctx *c, const char *key)
{
	return rl_map_get(&c->cachemap, key, strlen(key));
}

static struct cache_entry *cache_add(struct rctx *c, const char *key)
{
	struct cache_entry *e = xcalloc(1, sizeof(*e));
	e->key = xstrdup(key);
	GROW(c->cache, c->capcache, c->ncache + 1);
	c->cache[c->ncache++] = e;
	rl_map_put(&c->cachemap, e->key, strlen(e->key), e);
	return e;
}

void rl_cache_free(struct rctx *c)
{
	for (size_t i = 0; i < c->ncache; i++) {
		rl_sres_free(&c->cache[i]->r);
		free(c->cache[i]->key);
		free(c->cache[i]);
	}
	free(c->cache);
	rl_map_free(&c->cachemap);
}

/* A UTF-8 byte order mark (what some editors write first) is not text. */
static size_t skip_bom(const char *data, size_t len)
{
	return len >= 3 && !memcmp(data, "\xef\xbb\xbf", 3) ? 3 : 0;
}

/* One id per line; blanks around it and a trailing \r are dropped; '#'
 * lines are comments; blank lines may only end the file. */
static void parse_ids(struct rctx *c, const char *fname, const char *data, size_t len,
		      struct sres *out)
{
	struct acc a = {0};
	int lineno = 0, blank = 0;
	size_t i = skip_bom(data, len);
	while (i < len && !c->stop) {
		size_t e = i;
		while (e < len && data[e] != '\n')
			e++;
		size_t bol = i, b = i, end = e;
		lineno++;
		i = e + 1;
		if (end > b && data[end - 1] == '\r')
			end--;
		while (b < end && rl_is_blank(data[b]))
			b++;
		while (end > b && rl_is_blank(data[end - 1]))
			end--;
		if (b == end) {
			if (!blank)
				blank = lineno;
			continue;
		}
		if (data[b] == '#')
			continue;
		if (blank) {
			rl_error(c, (struct loc){fname, blank, 1}, "empty id");
			a.r.failed = true;
			blank = 0;
		}
		struct loc o = {fname, lineno, (int)(b - bol + 1)};
		if (!rl_check_id(c, data + b, end - b, o)) {
			a.r.failed = true;
			continue;
		}
		acc_add(&a, arena_strndup(c->A, data + b, end - b), o, true);
	}
	free(a.h.slot);
	*out = a.r;
	if (c->stop)
		out->failed = true;
}

/* The cell of a tab-separated line that starts at b and ends before the
 * next tab or at end, without surrounding spaces: [*cb, *ce). */
static void cell(const char *data, size_t b, size_t end, size_t *cb, size_t *ce)
{
	size_t e = b;
	while (e < end && data[e] != '\t')
		e++;
	while (b < e && data[b] == ' ')
		b++;
	*cb = b;
	while (e > b && data[e - 1] == ' ')
		e--;
	*ce = e;
}

/* A BIDS-style table (participants.tsv): a header row naming the columns,
 * then one row per line, tab separated; the values of column, each
 * without prefix when it starts with it, in first-seen order (repeats
 * are dropped silently). Blank lines are skipped. colat
 * is where the column is named in the Rapidfile. */
static void parse_tsv(struct rctx *c, const char *fname, const char *data, size_t len,
		      const char *column, const char *prefix, struct loc colat, struct sres *out)
{
	struct acc a = {0};
	int lineno = 0;
	long want = -1; /* the column's field index, once the header is read */
	size_t i = skip_bom(data, len), plen = strlen(prefix);
	while (i < len && !c->stop) {
		size_t bol = i, e = i;
		while (e < len && data[e] != '\n')
			e++;
		size_t end = e;
		lineno++;
		i = e + 1;
		if (end > bol && data[end - 1] == '\r')
			end--;
		size_t k = bol;
		while (k < end && rl_is_blank(data[k]))
			k++;
		if (k == end)
			continue;
		if (want < 0) {
			const char **names = NULL;
			size_t n = 0, cap = 0;
			for (size_t f = bol;;) {
				size_t cb, ce;
				cell(data, f, end, &cb, &ce);
				GROW(names, cap, n + 1);
				names[n++] = arena_strndup(c->T, data + cb, ce - cb);
				if (want < 0 && !strcmp(names[n - 1], column))
					want = (long)n - 1;
				const char *tab = memchr(data + f, '\t', end - f);
				if (!tab)
					break;
				f = (size_t)(tab - data) + 1;
			}
			if (want < 0) {
				const char *hint = closest_word(column, names, n);
				if (hint)
					rl_error(c, colat, "no column '%s' in '%s' (did you mean '%s'?)", column, fname, hint);
				else
					rl_error(c, colat, "no column '%s' in '%s' (its header: line %d)", column, fname, lineno);
				a.r.failed = true;
				free(names);
				break;
			}
			free(names);
			continue;
		}
		size_t f = bol;
		long field = 0;
		while (field < want) {
			const char *tab = memchr(data + f, '\t', end - f);
			if (!tab)
				break;
			f = (size_t)(tab - data) + 1;
			field++;
		}
		if (field < want) {
			rl_error(c, (struct loc){fname, lineno, 1}, "row has %ld field%s; column '%s' is field %ld",
				 field + 1, field ? "s" : "", column, want + 1);
			a.r.failed = true;
			continue;
		}
		size_t cb, ce;
		cell(data, f, end, &cb, &ce);
		struct loc o = {fname, lineno, (int)(cb - bol + 1)};
		if (plen && ce - cb >= plen && !memcmp(data + cb, prefix, plen)) {
			cb += plen;
			o.col += (int)plen;
		}
		if (!rl_check_id(c, data + cb, ce - cb, o)) {
			a.r.failed = true;
			continue;
		}
		/* A column repeats values (a group, a session): no warning. */
		acc_add(&a, arena_strndup(c->A, data + cb, ce - cb), o, false);
	}
	if (want < 0 && !a.r.failed && !c->stop) {
		rl_error(c, colat, "'%s' has no header row (expected one naming column '%s')", fname, column);
		a.r.failed = true;
	}
	free(a.h.slot);
	*out = a.r;
	if (c->stop)
		out->failed = true;
}

static int cmp_str(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* The sub-folder names of a local directory, sorted, hidden ones skipped. */
static void list_dir(struct rctx *c, const char *path, struct loc at, struct sres *out)
{
	DIR *d = opendir(path);
	if (!d) {
		rl_error(c, at, "cannot list '%s': %s", path, strerror(errno));
		out->failed = true;
		return;
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char *full = path_join(path, de->d_name);
		struct stat st;
		bool dir = stat(full, &st) == 0 && S_ISDIR(st.st_mode);
		free(full);
		if (!dir)
			continue;
		GROW(names, cap, n + 1);
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(names[i]);
		if (rl_check_id(c, names[i], len, at))
			sres_push(out, arena_strndup(c->A, names[i], len), at);
		else
			out->failed = true;
		free(names[i]);
	}
	free(names);
}

/* The arguments of tsv(FILE, COLUMN[, PREFIX]) in x[b, e): split at
 * commas, blanks around each dropped. The number found (at most 4). */
static size_t split_args(const struct text *x, size_t b, size_t e, size_t from[4], size_t to[4])
{
	size_t n = 0;
	for (size_t k = b; n < 4;) {
		size_t j = k;
		while (j < e && x->s[j] != ',')
			j++;
		size_t ab = k, ae = j;
		while (ab < ae && (rl_is_blank(x->s[ab]) || x->s[ab] == '\n'))
			ab++;
		while (ae > ab && rl_is_blank(x->s[ae - 1]))
			ae--;
		from[n] = ab;
		to[n++] = ae;
		if (j >= e)
			break;
		k = j + 1;
	}
	return n;
}

/* The bytes of a set function's file: local (a regular file of at most
 * RL_MAX_FILE) or s3:// through the fetch hook. NULL after reporting, or
 * with *deferred set when there is no hook. */
static char *read_list_file(struct rctx *c, const char *path, bool s3, struct loc at, size_t *len,
			    bool *deferred)
{
	*deferred = false;
	if (s3) {
		if (!c->hooks || !c->hooks->fetch) {
			*deferred = true;
			return NULL;
		}
		char *data = NULL;
		if (c->hooks->fetch(c->hooks->ctx, path, &data, len) < 0) {
			rl_error_counted(c);
			return NULL;
		}
		if (*len > RL_MAX_FILE) {
			rl_error(c, at, "cannot read '%s': %s", path, rl_file_too_large());
			free(data);
			return NULL;
		}
		return data;
	}
	struct stat st;
	const char *why;
	char *data = rl_read_file(path, len, &st, &why);
	if (!data)
		rl_error(c, at, "cannot read '%s': %s", path, why);
	return data;
}

/* file(...), list(...) or tsv(...) at t[i] (i at its first letter, open
 * at '(', close at ')'). The result is borrowed from the cache. An empty
 * result is a warning (once per function and path) when warn_empty. */
static const struct sres *eval_func(struct rctx *c, const struct text *t, size_t i, size_t open,
				    size_t close, bool warn_empty)
{
	static const struct sres failed = {.failed = true};
	const char fc = t->s[i];
	const char *fn = fc == 'l' ? "list" : fc == 't' ? "tsv" : "file";
	struct loc at = rl_loc(t, i);
	struct tbuf tb = {.file = t->file};
	const struct sres *ret = &failed;
	char *key = NULL, *path = NULL, *column = NULL, *prefix = NULL;
	if (rl_expand(c, t, open + 1, close, &tb, NULL) < 0)
		goto out;
	struct text x = tbuf_text(&tb, t->p[close]);
	size_t b = 0, e = x.n;
	size_t af[4], ae[4], na = 1;
	struct loc colat = at;
	if (fc == 't') {
		na = split_args(&x, 0, x.n, af, ae);
		if (na < 2 || na > 3 || ae[1] == af[1]) {
			rl_error(c, at, "tsv() takes a file, a column and an optional prefix: "
				 "tsv(participants.tsv, participant_id, sub-)");
			goto out;
		}
		b = af[0];
		e = ae[0];
		column = xstrndup(x.s + af[1], ae[1] - af[1]);
		prefix = na == 3 ? xstrndup(x.s + af[2], ae[2] - af[2]) : xstrdup("");
		colat = rl_loc(&x, af[1]);
	}
	while (b < e && (rl_is_blank(x.s[b]) || x.s[b] == '\n'))
		b++;
	while (e > b && rl_is_blank(x.s[e - 1]))
		e--;
	if (b == e) {
		rl_error(c, at, "empty path in %s()", fn);
		goto out;
	}
	char *uri = xstrndup(x.s + b, e - b);
	size_t sl = rl_uri_scheme(uri, e - b);
	bool s3 = sl == 2 && !memcmp(uri, "s3", 2);
	if (sl && !s3) {
		rl_error(c, rl_loc(&x, b), "unsupported URI scheme '%.*s' (expected s3:// or a local path)",
			 (int)sl, uri);
		free(uri);
		goto out;
	}
	/* Relative to the main Rapidfile's directory, whichever file this
	 * is written in (as an input's URI is). */
	if (s3) {
		path = uri;
	} else {
		path = rl_path_in(c->rf->dir, uri);
		free(uri);
	}
	if (fc == 't')
		key = xasprintf("tsv(%s, %s, %s)", path, column, prefix);
	else
		key = xasprintf("%s(%s)", fn, path);
	struct cache_entry *ce = cache_get(c, key);
	if (ce) {
		ret = &ce->r;
		goto warn;
	}
	ce = cache_add(c, key);
	ret = &ce->r;
	struct sres *r = &ce->r;
	if (s3 && fc == 'l') {
		if (!c->hooks || !c->hooks->list) {
			r->deferred = true;
			r->what = arena_strdup(c->A, key);
			goto out;
		}
		char **words = NULL;
		size_t n = 0;
		if (c->hooks->list(c->hooks->ctx, path, &words, &n) < 0) {
			rl_error_counted(c);
			r->failed = true;
			goto out;
		}
		struct acc a = {0};
		for (size_t k = 0; k < n; k++) {
			size_t len = strlen(words[k]);
			if (rl_check_id(c, words[k], len, at))
				acc_add(&a, arena_strndup(c->A, words[k], len), at, true);
			else
				a.r.failed = true;
			free(words[k]);
		}
		free(words);
		free(a.h.slot);
		*r = a.r;
	} else if (fc == 'l') {
		list_dir(c, path, at, r);
	} else {
		size_t len = 0;
		bool deferred;
		char *data = read_list_file(c, path, s3, at, &len, &deferred);
		if (!data) {
			if (deferred) {
				r->deferred = true;
				r->what = arena_strdup(c->A, key);
			} else {
				r->failed = true;
			}
			goto out;
		}
		const char *fname = rl_intern_file(c, path);
		if (fc == 't')
			parse_tsv(c, fname, data, len, column, prefix, colat, r);
		else
			parse_ids(c, fname, data, len, r);
		free(data);
	}
warn:
	if (warn_empty && !ce->warned && !ret->failed && !ret->deferred && ret->n == 0 && !c->stop) {
		ce->warned = true;
		char *where = rl_loc_str(at, true);
		warn("%s: %s(%.*s) gives no values", where, fn, (int)x.n, x.s);
		free(where);
	}
out:
	free(key);
	free(path);
	free(column);
	free(prefix);
	tbuf_free(&tb);
	return ret;
}

/* The end of a plain word at i: up to a blank, $(...) kept whole. */
static size_t plain_word_end(const struct text *t, size_t i, size_t to)
{
	while (i < to && !rl_is_blank(t->s[i])) {
		if (t->s[i] == '$' && i + 1 < to && t->s[i + 1] == '(') {
			while (i < to && t->s[i] != ')')
				i++;
			if (i < to)
				i++;
		} else {
			i++;
		}
	}
	return i;
}

/* The ')' closing the '(' at t[open]; to when there is none. */
static size_t close_paren(const struct text *t, size_t open, size_t to)
{
	int depth = 0;
	for (size_t i = open; i < to; i++) {
		if (t->s[i] == '(')
			depth++;
		else if (t->s[i] == ')' && --depth == 0)
			return i;
	}
	return to;
}

/* A literal word: expand, split on blanks, check each value. */
static void eval_words(struct rctx *c, const struct text *t, size_t i, size_t j, struct acc *a, bool dup)
{
	struct tbuf tb = {.file = t->file};
	if (rl_expand(c, t, i, j, &tb, NULL) < 0) {
		a->r.failed = true;
		tbuf_free(&tb);
		return;
	}
	struct text x = tbuf_text(&tb, t->p[j]);
	size_t k = 0;
	while (k < x.n) {
		while (k < x.n && (rl_is_blank(x.s[k]) || x.s[k] == '\n'))
			k++;
		if (k >= x.n)
			break;
		size_t e = k;
		while (e < x.n && !rl_is_blank(x.s[e]) && x.s[e] != '\n')
			e++;
		struct loc o = rl_loc(&x, k);
		if (rl_check_id(c, x.s + k, e - k, o))
			acc_add(a, arena_strndup(c->A, x.s + k, e - k), o, dup);
		else
			a->r.failed = true;
		k = e;
	}
	tbuf_free(&tb);
}

static bool starts_with(const struct text *t, size_t i, size_t to, const char *w)
{
	size_t n = strlen(w);
	return to - i >= n && !memcmp(t->s + i, w, n);
}

int rl_set_eval(struct rctx *c, const struct text *t, size_t from, size_t to, struct sres *out)
{
	struct acc inc = {0}, exc = {0};
	bool excluding = false, after = false;
	size_t exclude_at = 0;
	size_t i = from;
	for (;;) {
		while (i < to && rl_is_blank(t->s[i]))
			i++;
		if (i >= to || c->stop)
			break;
		struct acc *a = excluding ? &exc : &inc;
		after = true;
		bool tsv = starts_with(t, i, to, "tsv(");
		if (tsv || starts_with(t, i, to, "file(") || starts_with(t, i, to, "list(")) {
			size_t open = i + (tsv ? 3 : 4);
			size_t close = close_paren(t, open, to);
			if (close >= to) {
				rl_error(c, rl_loc(t, i), "missing ')' after '%.*s'", (int)(open - i + 1), t->s + i);
				a->r.failed = true;
				break;
			}
			acc_merge(a, eval_func(c, t, i, open, close, !excluding), !excluding);
			i = close + 1;
			if (i < to && !rl_is_blank(t->s[i])) {
				size_t e = plain_word_end(t, i, to);
				rl_error(c, rl_loc(t, i), "unexpected '%.*s' after ')'", (int)(e - i), t->s + i);
				a->r.failed = true;
				i = e;
			}
			continue;
		}
		size_t j = plain_word_end(t, i, to);
		if (rl_word_is(t, i, j, "exclude")) {
			if (excluding) {
				rl_error(c, rl_loc(t, i), "'exclude' given twice");
				inc.r.failed = true;
			}
			excluding = true;
			after = false;
			exclude_at = i;
			i = j;
			continue;
		}
		if (j - i > 3 && t->s[i] == '$' && t->s[i + 1] == '(' && t->s[j - 1] == ')' &&
		    rl_is_name(t->s + i + 2, j - i - 3)) {
			struct var *v = rl_var_ref(c, t, i, t->s + i + 2, j - i - 3);
			if (!v) {
				a->r.failed = true;
			} else {
				if (!v->set_state) {
					rl_var_push(c, v);
					rl_set_eval(c, &v->raw, 0, v->raw.n, &v->set);
					rl_var_pop(c);
					v->set_state = 1;
				}
				acc_merge(a, &v->set, !excluding);
			}
			i = j;
			continue;
		}
		eval_words(c, t, i, j, a, !excluding);
		i = j;
	}
	if (excluding && !after && !c->stop) {
		rl_error(c, rl_loc(t, exclude_at), "nothing after 'exclude'");
		inc.r.failed = true;
	}
	*out = (struct sres){0};
	out->deferred = inc.r.deferred || exc.r.deferred;
	out->what = inc.r.deferred ? inc.r.what : exc.r.what;
	out->failed = inc.r.failed || exc.r.failed || c->stop;
	for (size_t k = 0; k < inc.r.n; k++)
		if (idh_find(&exc.h, &exc.r, inc.r.v[k]) < 0)
			sres_push(out, inc.r.v[k], inc.r.o[k]);
	acc_free(&inc);
	acc_free(&exc);
	return out->failed ? -1 : 0;
}
