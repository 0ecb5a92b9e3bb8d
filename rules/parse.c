/* parse.c - rules_load: command-line overrides, the top-level statements
 * of the Rapidfile and its includes (assignments, include, target blocks),
 * then the target bodies, then the graph. Also the small lookups of
 * rules.h and rules_free.
 *
 * Every top-level statement of every file is processed before any target
 * body, so a target may use a variable assigned further down. */
#include "rules/rint.h"

#include <stddef.h>
#include <sys/stat.h>

/* The rapidfile, the arena that holds everything it points to, and its
 * targets by name. */
struct holder {
	struct rapidfile rf;
	struct arena *A;
	struct rl_map targets;
};

struct incl {
	dev_t dev;
	ino_t ino;
	const char *path;
};

static const char *const statements[] = {"include", "target"};
static const char *const attributes[] = {
	"foreach", "input", "input?", "output", "image", "memory",
	"vcpus", "timeout", "retries", "env", "run",
};

static void process_file(struct rctx *c, const char *path, const struct loc *from, int depth,
			 struct incl *stack);

static void assignment(struct rctx *c, const struct text *x, size_t name_end, char op, size_t v)
{
	if (!rl_is_name(x->s, name_end)) {
		rl_error(c, rl_loc(x, 0), "invalid variable name '%.*s' (expected [A-Za-z_][A-Za-z0-9_]*)",
			 (int)name_end, x->s);
		return;
	}
	v = rl_skip_blanks(x, v);
	rl_var_set(c, x->s, name_end, op, rl_text_tail(x, v), rl_loc(x, 0), false);
}

static void include(struct rctx *c, const struct text *x, size_t we, int depth, struct incl *stack)
{
	size_t i = rl_skip_blanks(x, we);
	struct tbuf tb = {.file = x->file};
	if (i >= x->n) {
		rl_error(c, rl_loc(x, we), "'include' needs a path");
		return;
	}
	if (rl_expand(c, x, i, x->n, &tb, NULL) == 0) {
		struct text v = tbuf_text(&tb, x->p[x->n]);
		size_t b = 0, e = v.n;
		while (b < e && rl_is_blank(v.s[b]))
			b++;
		while (e > b && rl_is_blank(v.s[e - 1]))
			e--;
		bool blank = false;
		for (size_t k = b; k < e; k++)
			blank |= rl_is_blank(v.s[k]);
		if (b == e) {
			rl_error(c, rl_loc(x, i), "'include' needs a path");
		} else if (blank) {
			rl_error(c, rl_loc(x, i), "'include' takes one path, not '%.*s'", (int)(e - b), v.s + b);
		} else {
			char *dir = path_dirname(x->file);
			char *arg = xstrndup(v.s + b, e - b);
			char *path = rl_path_in(dir, arg);
			struct loc at = rl_loc(x, i);
			process_file(c, path, &at, depth + 1, stack);
			free(path);
			free(arg);
			free(dir);
		}
	}
	tbuf_free(&tb);
}

static struct rawtarget *target(struct rctx *c, const struct text *x, size_t we)
{
	size_t i = rl_skip_blanks(x, we);
	size_t e = i;
	while (e < x->n && !rl_is_blank(x->s[e]))
		e++;
	if (i == e) {
		rl_error(c, rl_loc(x, we), "'target' needs a name");
		return NULL;
	}
	if (!rl_is_target_name(x->s + i, e - i)) {
		rl_error(c, rl_loc(x, i), "invalid target name '%.*s' (expected [A-Za-z][A-Za-z0-9_-]*)",
			 (int)(e - i), x->s + i);
		return NULL;
	}
	size_t extra = rl_skip_blanks(x, e);
	if (extra < x->n) {
		rl_error(c, rl_loc(x, extra), "unexpected '%.*s' after target name",
			 (int)(x->n - extra), x->s + extra);
		return NULL;
	}
	struct rawtarget *o = rl_map_get(&c->rtmap, x->s + i, e - i);
	if (o) {
		char *first = rl_loc_str(o->loc, false);
		rl_error(c, rl_loc(x, i), "duplicate target '%s' (first at %s)", o->name, first);
		free(first);
		return NULL;
	}
	struct rawtarget *rt = xcalloc(1, sizeof(*rt));
	rt->name = xstrndup(x->s + i, e - i);
	rt->loc = rl_loc(x, i);
	GROW(c->rts, c->caprts, c->nrts + 1);
	c->rts[c->nrts++] = rt;
	rl_map_put(&c->rtmap, rt->name, e - i, rt);
	return rt;
}

/* One top-level logical line. The target it opens, or NULL; *bad when
 * the statement was wrong (its indented lines are then skipped). */
static struct rawtarget *statement(struct rctx *c, const struct text *x, int depth,
				   struct incl *stack, bool *bad)
{
	int nerr = c->nerr;
	struct rawtarget *rt = NULL;
	size_t we = rl_word_end(x, 0);
	size_t k = rl_skip_blanks(x, we);
	char last = we ? x->s[we - 1] : 0;
	if (we == 0) {
		rl_error(c, rl_loc(x, 0), "missing variable name before '='");
	} else if (k < x->n && x->s[k] == '=') {
		if (last == '?')
			assignment(c, x, we - 1, '?', k + 1);
		else if (last == ':' || last == '+' || last == '!')
			rl_error(c, rl_loc(x, we - 1), "unsupported assignment '%c=' (use '=' or '?=')", last);
		else
			assignment(c, x, we, '=', k + 1);
	} else if (k + 1 < x->n && x->s[k] == '?' && x->s[k + 1] == '=') {
		assignment(c, x, we, '?', k + 2);
	} else if (k + 1 < x->n && strchr(":+!", x->s[k]) && x->s[k + 1] == '=') {
		rl_error(c, rl_loc(x, k), "unsupported assignment '%c=' (use '=' or '?=')", x->s[k]);
	} else if (rl_word_is(x, 0, we, "include")) {
		include(c, x, we, depth, stack);
	} else if (rl_word_is(x, 0, we, "target")) {
		rt = target(c, x, we);
		if (!rt)
			nerr = -1;
	} else {
		char *w = xstrndup(x->s, we);
		const char *hint = closest_word(w, statements, ARRAY_LEN(statements));
		bool attr = false;
		for (size_t a = 0; a < ARRAY_LEN(attributes); a++)
			attr |= !strcmp(w, attributes[a]);
		/* "out.txt: in.txt" or "all :" is a make rule. */
		bool rule = (we > 1 && x->s[we - 1] == ':') || (k < x->n && x->s[k] == ':');
		if (attr)
			rl_error(c, rl_loc(x, 0), "'%s' outside a target (indent it under 'target NAME')", w);
		else if (rule)
			rl_error(c, rl_loc(x, 0), "unknown statement '%.*s' (a make rule? rapid targets are written `target NAME`)",
				 (int)(x->s[we - 1] == ':' ? we - 1 : we), x->s);
		else if (hint)
			rl_error(c, rl_loc(x, 0), "unknown statement '%s' (did you mean '%s'?)", w, hint);
		else
			rl_error(c, rl_loc(x, 0), "unknown statement '%s'", w);
		free(w);
	}
	*bad = c->nerr != nerr;
	return rt;
}

static void process_file(struct rctx *c, const char *path, const struct loc *from, int depth,
			 struct incl *stack)
{
	size_t len;
	struct stat st;
	const char *why;
	char *data = rl_read_file(path, &len, &st, &why);
	if (!data) {
		if (from) {
			rl_error(c, *from, "cannot read '%s': %s", path, why);
		} else {
			warn("cannot read '%s': %s", path, why);
			c->nerr++;
		}
		return;
	}
	const char *file = rl_intern_file(c, path);
	for (int k = 0; k < depth; k++) {
		if (stack[k].dev == st.st_dev && stack[k].ino == st.st_ino) {
			struct buf b = {0};
			for (int j = k; j < depth; j++)
				buf_printf(&b, "%s -> ", stack[j].path);
			buf_puts(&b, file);
			rl_error(c, *from, "include cycle: %s", b.data);
			buf_free(&b);
			free(data);
			return;
		}
	}
	if (depth > RL_MAX_INCLUDE_DEPTH) {
		rl_error(c, *from, "includes nested more than %d deep", RL_MAX_INCLUDE_DEPTH);
		free(data);
		return;
	}
	stack[depth] = (struct incl){st.st_dev, st.st_ino, file};
	struct line *lines;
	size_t n;
	rl_lex(c, file, data, len, &lines, &n);
	free(data);
	struct rawtarget *cur = NULL;
	bool skip = false;
	for (size_t i = 0; i < n && !c->stop; i++) {
		struct line *l = &lines[i];
		if (l->indented) {
			if (cur) {
				GROW(cur->lines, cur->cap, cur->nlines + 1);
				cur->lines[cur->nlines++] = *l;
			} else if (!skip) {
				rl_error(c, rl_loc(&l->t, 0), "indented line outside a target");
				skip = true;
			}
			continue;
		}
		cur = statement(c, &l->t, depth, stack, &skip);
	}
}

int rules_load(const char *path, const struct rules_opts *opts, struct rapidfile **out)
{
	struct holder *h = xcalloc(1, sizeof(*h));
	struct rapidfile *rf = &h->rf;
	h->A = arena_new();
	struct rctx c = {.A = h->A, .T = arena_new(), .rf = rf, .hooks = opts ? opts->hooks : NULL};
	rf->path = arena_strdup(h->A, path);
	char *dir = path_dirname(path);
	rf->dir = arena_strdup(h->A, dir);
	free(dir);
	*out = NULL;

	for (size_t i = 0; opts && i < opts->noverrides; i++) {
		const char *o = opts->overrides[i];
		const char *eq = strchr(o, '=');
		if (!eq || !rl_is_name(o, (size_t)(eq - o))) {
			rl_error(&c, (struct loc){0}, "invalid override '%s' (expected NAME=value)", o);
			continue;
		}
		size_t n = strlen(eq + 1);
		struct pos *p = arena_alloc(c.T, (n + 1) * sizeof(*p));
		memset(p, 0, (n + 1) * sizeof(*p));
		struct text raw = {arena_strdup(c.T, eq + 1), p, n, NULL};
		rl_var_set(&c, o, (size_t)(eq - o), '=', raw, (struct loc){0}, true);
	}

	struct incl stack[RL_MAX_INCLUDE_DEPTH + 2];
	process_file(&c, path, NULL, 0, stack);
	for (size_t i = 0; i < c.nrts && !c.stop; i++)
		rl_target_parse(&c, c.rts[i]);
	if (!c.stop)
		rl_resolve(&c);
	/* Only on an otherwise good load: a broken one may not have
	 * reached the uses. */
	if (!c.nerr)
		rl_vars_check_overrides(&c);

	int ret = c.nerr ? -1 : 0;
	for (size_t i = 0; i < c.nrts; i++) {
		free(c.rts[i]->name);
		free(c.rts[i]->lines);
		free(c.rts[i]);
	}
	free(c.rts);
	rl_map_free(&c.rtmap);
	rl_map_free(&c.notarget);
	rl_map_free(&c.filemap);
	rl_map_free(&c.syms);
	rl_map_free(&c.envs);
	rl_vars_free(&c);
	rl_cache_free(&c);
	for (int i = 0; i < c.nmsgs; i++)
		free(c.msgs[i]);
	arena_free(c.T);
	if (ret < 0) {
		rules_free(rf);
		return -1;
	}
	for (size_t i = 0; i < rf->ntargets; i++)
		rl_map_put(&h->targets, rf->targets[i]->name, strlen(rf->targets[i]->name), rf->targets[i]);
	*out = rf;
	return 0;
}

void rules_free(struct rapidfile *rf)
{
	if (!rf)
		return;
	struct holder *h = (struct holder *)(void *)((char *)rf - offsetof(struct holder, rf));
	free(rf->files);
	rl_map_free(&h->targets);
	arena_free(h->A);
	free(h);
}

struct target *rules_target(const struct rapidfile *rf, const char *name)
{
	struct holder *h = (struct holder *)(void *)((char *)rf - offsetof(struct holder, rf));
	return rl_map_get(&h->targets, name, strlen(name));
}

const char *rules_symbol_name(const struct target *t, int i)
{
	size_t k = (size_t)i;
	if (i < 0)
		return NULL;
	if (k < t->nwildcards)
		return t->wildcards[k].name;
	k -= t->nwildcards;
	if (k < t->ninputs)
		return t->inputs[k].name;
	k -= t->ninputs;
	if (k < t->noutputs)
		return t->outputs[k].name;
	return NULL;
}
