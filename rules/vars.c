/* vars.c - variables: assignment, overrides, and lazy $(NAME) expansion.
 *
 * Values are stored as written and expanded at each use, so a target may
 * use a variable defined further down. "$$" is a literal '$'; a '$' not
 * followed by '(' or '$' is itself (so sh -c 'echo $HOME' survives).
 * Expansion recurses once per nested reference, so references nest at most
 * RL_MAX_VAR_DEPTH deep: a chain a hostile file can make 100,000 long
 * stops with an error instead of overflowing the stack. */
#include "rules/rint.h"

/* The hint for an undefined name, as of nvars variables. */
struct undef {
	const char *hint;
	size_t nvars;
};

struct var *rl_var_get(struct rctx *c, const char *name, size_t n)
{
	return rl_map_get(&c->varmap, name, n);
}

void rl_var_set(struct rctx *c, const char *name, size_t n, char op,
		struct text raw, struct loc loc, bool override)
{
	struct var *v = rl_var_get(c, name, n);
	if (v && !override)
		v->known = true;
	if (v && v->override && !override)
		return;
	if (v && op == '?')
		return;
	if (!v) {
		v = xcalloc(1, sizeof(*v));
		v->name = xstrndup(name, n);
		GROW(c->vars, c->capvars, c->nvars + 1);
		c->vars[c->nvars++] = v;
		rl_map_put(&c->varmap, v->name, n, v);
	}
	v->raw = raw;
	v->loc = loc;
	v->override = override;
	v->known |= !override;
}

void rl_var_push(struct rctx *c, struct var *v)
{
	GROW(c->stack, c->capstack, c->nstack + 1);
	c->stack[c->nstack++] = v;
	v->busy = true;
}

void rl_var_pop(struct rctx *c)
{
	c->stack[--c->nstack]->busy = false;
}

/* Inside the script of a run line's sh -c, "$(date)" was likely meant
 * for the shell: the hint that says how, or NULL elsewhere. Malloc'd. */
static char *shell_hint(const struct rctx *c, const struct text *t, size_t i, const char *body, size_t n)
{
	if (!c->shell_s || t->s != c->shell_s || i < c->shell_from || i >= c->shell_to)
		return NULL;
	if (n > 40 || memchr(body, '\n', n))
		return xstrdup("for the shell's command substitution write $$(...)");
	return xasprintf("for the shell's command substitution write $$(%.*s)", (int)n, body);
}

struct var *rl_var_ref(struct rctx *c, const struct text *t, size_t i, const char *name, size_t n)
{
	struct var *v = rl_var_get(c, name, n);
	if (!v) {
		/* The hint looks at every variable: once per undefined name
		 * and number of variables. */
		struct undef *u = rl_map_get(&c->undef, name, n);
		char *w = xstrndup(name, n);
		if (!u) {
			u = arena_alloc(c->T, sizeof(*u));
			u->nvars = (size_t)-1;
			rl_map_put(&c->undef, arena_strndup(c->T, name, n), n, u);
		}
		if (u->nvars != c->nvars) {
			const char **names = xcalloc(c->nvars, sizeof(*names));
			for (size_t k = 0; k < c->nvars; k++)
				names[k] = c->vars[k]->name;
			u->hint = closest_word(w, names, c->nvars);
			u->nvars = c->nvars;
			free(names);
		}
		const char *hint = u->hint;
		char *sh = shell_hint(c, t, i, name, n);
		if (hint && sh)
			rl_error(c, rl_loc(t, i), "undefined variable '%s' (did you mean '%s'? %s)", w, hint, sh);
		else if (sh)
			rl_error(c, rl_loc(t, i), "undefined variable '%s' (%s)", w, sh);
		else if (hint)
			rl_error(c, rl_loc(t, i), "undefined variable '%s' (did you mean '%s'?)", w, hint);
		else
			rl_error(c, rl_loc(t, i), "undefined variable '%s'", w);
		free(sh);
		free(w);
		return NULL;
	}
	v->known = true;
	if (c->nstack >= RL_MAX_VAR_DEPTH) {
		rl_error(c, rl_loc(t, i), "variable references nested more than %d deep ($(%s) -> ... -> $(%s))",
			 RL_MAX_VAR_DEPTH, c->stack[0]->name, v->name);
		return NULL;
	}
	if (v->busy) {
		struct buf b = {0};
		size_t k = 0;
		while (c->stack[k] != v)
			k++;
		for (; k < c->nstack; k++)
			buf_printf(&b, "%s -> ", c->stack[k]->name);
		buf_puts(&b, v->name);
		rl_error(c, rl_loc(t, i), "variable '%s' refers to itself (%s)", v->name, b.data);
		buf_free(&b);
		return NULL;
	}
	return v;
}

int rl_expand(struct rctx *c, const struct text *t, size_t from, size_t to,
	      struct tbuf *out, const struct pos *at)
{
	int ret = 0;
	size_t i = from;
	while (i < to) {
		const struct pos *p = at ? at : &t->p[i];
		/* $(B)$(B) with B = $(C)$(C) ... doubles at each level: a short
		 * file can ask for more bytes than there is memory. Inner levels
		 * stop; the outermost one (at NULL) says where. */
		if (at && out->b.len > RL_MAX_FILE)
			return -1;
		if (t->s[i] == '$' && i + 1 < to && t->s[i + 1] == '$') {
			tbuf_put(out, '$', *p);
			i += 2;
			continue;
		}
		if (t->s[i] != '$' || i + 1 >= to || t->s[i + 1] != '(') {
			tbuf_put(out, t->s[i], *p);
			i++;
			continue;
		}
		size_t j = i + 2;
		while (j < to && t->s[j] != ')')
			j++;
		if (j >= to) {
			rl_error(c, rl_loc(t, i), "unterminated '$(' (expected $(NAME))");
			return -1;
		}
		const char *name = t->s + i + 2;
		size_t n = j - i - 2;
		if (!rl_is_name(name, n)) {
			char *sh = shell_hint(c, t, i, name, n);
			rl_error(c, rl_loc(t, i), "invalid variable reference '$(%.*s)' (expected $(NAME)%s%s)",
				 (int)n, name, sh ? "; " : "", sh ? sh : "");
			free(sh);
			ret = -1;
		} else {
			struct var *v = rl_var_ref(c, t, i, name, n);
			if (!v) {
				ret = -1;
			} else {
				rl_var_push(c, v);
				if (rl_expand(c, &v->raw, 0, v->raw.n, out, p) < 0)
					ret = -1;
				rl_var_pop(c);
				if (!at && out->b.len > RL_MAX_FILE) {
					rl_error(c, rl_loc(t, i), "$(%s) expands to more than 16 MiB", v->name);
					return -1;
				}
			}
		}
		/* Inside a variable's value the first error ends it: with B =
		 * $(C)$(C), C = $(D)$(D), ... and D undefined, going on would
		 * retry D twice as often at each level (exponential time). */
		if (ret < 0 && at)
			return -1;
		i = j + 1;
	}
	return ret;
}

void rl_vars_check_overrides(struct rctx *c)
{
	const char **names = xcalloc(c->nvars ? c->nvars : 1, sizeof(*names));
	size_t n = 0;
	for (size_t i = 0; i < c->nvars; i++)
		if (c->vars[i]->known)
			names[n++] = c->vars[i]->name;
	for (size_t i = 0; i < c->nvars; i++) {
		const struct var *v = c->vars[i];
		if (v->known)
			continue;
		const char *hint = closest_word(v->name, names, n);
		if (hint)
			rl_error(c, v->loc, "unknown variable '%s' (did you mean '%s'?)", v->name, hint);
		else
			rl_error(c, v->loc, "unknown variable '%s': the Rapidfile neither sets nor uses it",
				 v->name);
	}
	free(names);
}

void rl_vars_free(struct rctx *c)
{
	for (size_t i = 0; i < c->nvars; i++) {
		rl_sres_free(&c->vars[i]->set);
		free(c->vars[i]->name);
		free(c->vars[i]);
	}
	free(c->vars);
	free(c->stack);
	rl_map_free(&c->varmap);
	rl_map_free(&c->undef);
}
