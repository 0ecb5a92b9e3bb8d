/* sets.c - set expressions: the values a wildcard takes.
 *
 *   setexpr = item { item } [ "exclude" item { item } ]
 *   item    = "file(" PATH ")" | "list(" URI ")" | "$(" NAME ")" | WORD
 *
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

/* One id per line; blanks around it and a trailing \r are dropped; '#'
 * lines are comments; blank lines may only end the file. */
static void parse_ids(struct rctx *c, const char *fname, const char *data, size_t len,
		      struct sres *out)
{
	struct acc a = {0};
	int lineno = 0, blank = 0;
	size_t i = 0;
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

/* file(...) or list(...) at t[i] (i at 'f' or 'l', close at ')'). The
 * result is borrowed from the cache. */
static const struct sres *eval_func(struct rctx *c, const struct text *t, size_t i, size_t close)
{
	static const struct sres failed = {.failed = true};
	bool is_list = t->s[i] == 'l';
	const char *fn = is_list ? "list" : "file";
	struct loc at = rl_loc(t, i);
	struct tbuf tb = {.file = t->file};
	const struct sres *ret = &failed;
	char *key = NULL, *path = NULL, *dir = NULL;
	if (rl_expand(c, t, i + 5, close, &tb, NULL) < 0)
		goto out;
	struct text x = tbuf_text(&tb, t->p[close]);
	size_t b = 0, e = x.n;
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
	if (s3) {
		path = uri;
	} else {
		dir = t->file ? path_dirname(t->file) : xstrdup(c->rf->dir);
		path = rl_path_in(dir, uri);
		free(uri);
	}
	key = xasprintf("%s(%s)", fn, path);
	struct cache_entry *ce = cache_get(c, key);
	if (ce) {
		ret = &ce->r;
		goto out;
	}
	ce = cache_add(c, key);
	ret = &ce->r;
	struct sres *r = &ce->r;
	if (s3 && is_list) {
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
	} else if (s3) {
		if (!c->hooks || !c->hooks->fetch) {
			r->deferred = true;
			r->what = arena_strdup(c->A, key);
			goto out;
		}
		char *data = NULL;
		size_t len = 0;
		if (c->hooks->fetch(c->hooks->ctx, path, &data, &len) < 0) {
			rl_error_counted(c);
			r->failed = true;
			goto out;
		}
		if (len > RL_MAX_FILE) {
			rl_error(c, at, "cannot read '%s': %s", path, rl_file_too_large());
			r->failed = true;
			free(data);
			goto out;
		}
		parse_ids(c, rl_intern_file(c, path), data, len, r);
		free(data);
	} else if (is_list) {
		list_dir(c, path, at, r);
	} else {
		size_t len;
		struct stat st;
		const char *why;
		char *data = rl_read_file(path, &len, &st, &why);
		if (!data) {
			rl_error(c, at, "cannot read '%s': %s", path, why);
			r->failed = true;
			goto out;
		}
		parse_ids(c, rl_intern_file(c, path), data, len, r);
		free(data);
	}
out:
	free(key);
	free(path);
	free(dir);
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
		if (starts_with(t, i, to, "file(") || starts_with(t, i, to, "list(")) {
			size_t close = close_paren(t, i + 4, to);
			if (close >= to) {
				rl_error(c, rl_loc(t, i), "missing ')' after '%.5s'", t->s + i);
				a->r.failed = true;
				break;
			}
			acc_merge(a, eval_func(c, t, i, close), !excluding);
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
