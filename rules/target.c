/* target.c - the statements of a target block, compiled into a struct
 * target: wildcards and their sets, inputs, outputs, attributes, the run
 * line, and the output root.
 *
 * Two passes: the first declares every name (so a run line may mention an
 * output declared below it) and checks attributes; the second compiles
 * URIs and the run line, now that every symbol is known. */
#include "rules/rint.h"

#include <limits.h>

enum attr { A_IMAGE, A_MEMORY, A_VCPUS, A_TIMEOUT, A_RETRIES, A_RUN, A_N };
static const char *const attr_names[A_N] = {"image", "memory", "vcpus", "timeout", "retries", "run"};

static const char *const keywords[] = {
	"foreach", "input", "input?", "output", "image", "memory",
	"vcpus", "timeout", "retries", "env", "run",
};

/* What pass 2 needs of each line of pass 1. */
struct pending {
	struct text *in_val, *out_val;
	struct text run_val;
	struct loc attr[A_N]; /* file NULL: not given yet */
};

/* Expand raw into tb and view the result without surrounding blanks. */
static int expand_trim(struct rctx *c, const struct text *raw, struct tbuf *tb, struct text *out)
{
	tb->file = raw->file;
	int r = rl_expand(c, raw, 0, raw->n, tb, NULL);
	struct text x = tbuf_text(tb, raw->p[raw->n]);
	size_t b = 0, e = x.n;
	while (b < e && rl_is_blank(x.s[b]))
		b++;
	while (e > b && rl_is_blank(x.s[e - 1]))
		e--;
	*out = (struct text){x.s + b, x.p + b, e - b, x.file};
	return r;
}

static bool has_blank(const struct text *t)
{
	for (size_t i = 0; i < t->n; i++)
		if (rl_is_blank(t->s[i]))
			return true;
	return false;
}

/* An integer in [min, max], digits only; -1 when not. */
static long parse_long(const char *s, size_t n, long min, long max)
{
	if (n == 0)
		return -1;
	long v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (v > (LONG_MAX - 9) / 10)
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v < min || v > max ? -1 : v;
}

/* Seconds: "3600", or h/m/s parts in that order ("1h30m", "45s"). */
static long parse_duration(const char *s, size_t n)
{
	long v = parse_long(s, n, 1, 100L * 365 * 86400);
	if (v > 0 || n == 0 || (s[n - 1] >= '0' && s[n - 1] <= '9'))
		return v;
	static const char units[] = "hms";
	static const long mult[] = {3600, 60, 1};
	size_t i = 0, u = 0;
	long total = 0;
	while (i < n) {
		size_t d = i;
		while (d < n && s[d] >= '0' && s[d] <= '9')
			d++;
		if (d == i || d == n)
			return -1;
		while (u < 3 && units[u] != s[d])
			u++;
		if (u == 3)
			return -1;
		long part = parse_long(s + i, d - i, 0, 100L * 365 * 86400);
		if (part < 0)
			return -1;
		total += part * mult[u];
		if (total > 100L * 365 * 86400)
			return -1;
		u++;
		i = d + 1;
	}
	return total > 0 ? total : -1;
}

static void symbol_loc(const struct target *t, int k, struct loc *l)
{
	size_t nw = t->nwildcards, ni = t->ninputs;
	if ((size_t)k < nw)
		*l = t->wildcards[k].loc;
	else if ((size_t)k < nw + ni)
		*l = t->inputs[k - nw].loc;
	else
		*l = t->outputs[k - nw - ni].loc;
}

/* A name of the target being parsed, in c->syms: its kind and position
 * among the wildcards, inputs or outputs (its symbol index changes while
 * lines declare more wildcards and inputs). */
enum sym_kind { SYM_WILDCARD, SYM_INPUT, SYM_OUTPUT };
struct sym {
	enum sym_kind kind;
	size_t pos;
};

static void declare(struct rctx *c, const char *name, enum sym_kind kind, size_t pos)
{
	struct sym *s = arena_alloc(c->T, sizeof(*s));
	*s = (struct sym){kind, pos};
	rl_map_put(&c->syms, name, strlen(name), s);
}

int rl_symbol_find(struct rctx *c, const struct target *t, const char *name, size_t n)
{
	const struct sym *s = rl_map_get(&c->syms, name, n);
	if (!s)
		return -1;
	size_t k = s->pos;
	if (s->kind >= SYM_INPUT)
		k += t->nwildcards;
	if (s->kind == SYM_OUTPUT)
		k += t->ninputs;
	return (int)k;
}

/* Whether name is already a wildcard, input or output of t (reported). */
static bool name_taken(struct rctx *c, const struct target *t, const struct text *x, size_t i, size_t e)
{
	int k = rl_symbol_find(c, t, x->s + i, e - i);
	if (k < 0)
		return false;
	struct loc l;
	symbol_loc(t, k, &l);
	char *first = rl_loc_str(l, false);
	rl_error(c, rl_loc(x, i), "duplicate name '%s' in target '%s' (first at %s)",
		 rules_symbol_name(t, k), t->name, first);
	free(first);
	return true;
}

static struct set set_from(struct rctx *c, const struct sres *r)
{
	struct set s = {0};
	if (r->deferred) {
		s.deferred = true;
		s.deferred_what = arena_strdup(c->A, r->what);
		return s;
	}
	s.n = r->n;
	s.v = arena_alloc(c->A, (r->n ? r->n : 1) * sizeof(*s.v));
	s.origin = arena_alloc(c->A, (r->n ? r->n : 1) * sizeof(*s.origin));
	if (r->n) {
		memcpy(s.v, r->v, r->n * sizeof(*s.v));
		memcpy(s.origin, r->o, r->n * sizeof(*s.origin));
	}
	return s;
}

static void do_foreach(struct rctx *c, struct target *t, const struct text *x, size_t i)
{
	size_t ne = rl_word_end(x, i);
	if (ne == i) {
		rl_error(c, rl_loc(x, i), "expected a wildcard name after 'foreach'");
		return;
	}
	if (!rl_is_name(x->s + i, ne - i)) {
		rl_error(c, rl_loc(x, i), "invalid wildcard name '%.*s' (expected [A-Za-z_][A-Za-z0-9_]*)",
			 (int)(ne - i), x->s + i);
		return;
	}
	if (name_taken(c, t, x, i, ne))
		return;
	/* Declared even if the rest is wrong: its uses are not errors too. */
	struct wildcard *w = &t->wildcards[t->nwildcards];
	w->name = arena_strndup(c->A, x->s + i, ne - i);
	w->loc = rl_loc(x, i);
	declare(c, w->name, SYM_WILDCARD, t->nwildcards++);
	size_t k = rl_skip_blanks(x, ne);
	size_t ke = rl_word_end(x, k);
	if (!rl_word_is(x, k, ke, "in") || (ke < x->n && !rl_is_blank(x->s[ke]))) {
		rl_error(c, rl_loc(x, k), "expected 'in' after 'foreach %.*s'", (int)(ne - i), x->s + i);
		return;
	}
	size_t s0 = rl_skip_blanks(x, ke);
	if (s0 >= x->n) {
		rl_error(c, rl_loc(x, s0), "missing set expression after 'in'");
		return;
	}
	struct sres r;
	rl_set_eval(c, x, s0, x->n, &r);
	w->values = set_from(c, &r);
	rl_sres_free(&r);
}

/* input/input?/output NAME = VALUE: declare NAME, keep VALUE for pass 2. */
static void do_decl(struct rctx *c, struct target *t, struct pending *pd, const struct text *x,
		    size_t i, const char *kind, bool optional)
{
	bool is_out = kind[0] == 'o';
	size_t ne = rl_word_end(x, i);
	if (ne == i) {
		rl_error(c, rl_loc(x, i), "expected a name after '%s'", optional ? "input?" : kind);
		return;
	}
	if (!rl_is_name(x->s + i, ne - i)) {
		rl_error(c, rl_loc(x, i), "invalid %s name '%.*s' (expected [A-Za-z_][A-Za-z0-9_]*)", kind,
			 (int)(ne - i), x->s + i);
		return;
	}
	if (name_taken(c, t, x, i, ne))
		return;
	/* Declared even if the rest is wrong (its value stays NULL). */
	char *name = arena_strndup(c->A, x->s + i, ne - i);
	struct text *val;
	if (is_out) {
		val = &pd->out_val[t->noutputs];
		declare(c, name, SYM_OUTPUT, t->noutputs);
		t->outputs[t->noutputs++] = (struct output){.name = name, .loc = rl_loc(x, i)};
	} else {
		val = &pd->in_val[t->ninputs];
		declare(c, name, SYM_INPUT, t->ninputs);
		t->inputs[t->ninputs++] = (struct input){.name = name, .optional = optional,
							 .up_output = -1, .loc = rl_loc(x, i)};
	}
	*val = (struct text){0};
	size_t eq = rl_skip_blanks(x, ne);
	if (eq >= x->n || x->s[eq] != '=') {
		rl_error(c, rl_loc(x, eq), "expected '=' after '%s %.*s'", optional ? "input?" : kind,
			 (int)(ne - i), x->s + i);
		return;
	}
	size_t v = rl_skip_blanks(x, eq + 1);
	if (v >= x->n) {
		rl_error(c, rl_loc(x, v), "missing URI for %s '%.*s'", kind, (int)(ne - i), x->s + i);
		return;
	}
	*val = rl_text_tail(x, v);
}

static void do_attr(struct rctx *c, struct target *t, struct pending *pd, const struct text *x,
		    size_t kw_end, size_t i, enum attr a)
{
	struct loc kl = rl_loc(x, 0);
	if (pd->attr[a].line) {
		char *first = rl_loc_str(pd->attr[a], false);
		rl_error(c, kl, "duplicate '%s' in target '%s' (first at %s)", attr_names[a], t->name, first);
		free(first);
		return;
	}
	pd->attr[a] = kl;
	if (a == A_RUN) {
		t->run_loc = kl;
		pd->run_val = rl_text_tail(x, i);
		return;
	}
	if (i >= x->n) {
		rl_error(c, rl_loc(x, kw_end), "'%s' needs a value", attr_names[a]);
		return;
	}
	struct text raw = rl_text_tail(x, i), v;
	struct tbuf tb = {0};
	if (expand_trim(c, &raw, &tb, &v) < 0)
		goto out;
	struct loc vl = rl_loc(&raw, 0);
	if (v.n == 0) {
		rl_error(c, vl, "'%s' needs a value", attr_names[a]);
		goto out;
	}
	long n;
	switch (a) {
	case A_IMAGE:
		if (has_blank(&v))
			rl_error(c, vl, "'image' takes one word, not '%.*s'", (int)v.n, v.s);
		else
			t->image = arena_strndup(c->A, v.s, v.n);
		break;
	case A_MEMORY:
		if ((n = parse_long(v.s, v.n, 1, LONG_MAX)) < 0)
			rl_error(c, vl, "invalid memory '%.*s': expected a positive integer (MiB)", (int)v.n, v.s);
		t->memory_mib = n;
		break;
	case A_VCPUS:
		if ((n = parse_long(v.s, v.n, 1, LONG_MAX)) < 0)
			rl_error(c, vl, "invalid vcpus '%.*s': expected a positive integer", (int)v.n, v.s);
		t->vcpus = n;
		break;
	case A_TIMEOUT:
		if ((n = parse_duration(v.s, v.n)) < 0)
			rl_error(c, vl, "invalid timeout '%.*s': expected a positive duration "
				 "(seconds, or like 45s, 90m, 10h, 1h30m)", (int)v.n, v.s);
		t->timeout_s = n;
		break;
	case A_RETRIES:
		if ((n = parse_long(v.s, v.n, 0, 10)) < 0)
			rl_error(c, vl, "invalid retries '%.*s': expected an integer from 0 to 10", (int)v.n, v.s);
		t->retries = n;
		break;
	default:
		break;
	}
out:
	tbuf_free(&tb);
}

static void do_env(struct rctx *c, struct target *t, const struct text *x, size_t i)
{
	size_t ne = rl_word_end(x, i);
	if (ne == i) {
		rl_error(c, rl_loc(x, i), "'env' needs NAME=value");
		return;
	}
	if (!rl_is_name(x->s + i, ne - i)) {
		rl_error(c, rl_loc(x, i), "invalid env name '%.*s' (expected [A-Za-z_][A-Za-z0-9_]*)",
			 (int)(ne - i), x->s + i);
		return;
	}
	size_t eq = rl_skip_blanks(x, ne);
	if (eq >= x->n || x->s[eq] != '=') {
		rl_error(c, rl_loc(x, eq), "expected '=' after 'env %.*s'", (int)(ne - i), x->s + i);
		return;
	}
	const struct env_entry *dup = rl_map_get(&c->envs, x->s + i, ne - i);
	if (dup) {
		char *first = rl_loc_str(dup->loc, false);
		rl_error(c, rl_loc(x, i), "duplicate env '%s' in target '%s' (first at %s)", dup->name,
			 t->name, first);
		free(first);
		return;
	}
	size_t v = rl_skip_blanks(x, eq + 1);
	struct text raw = rl_text_tail(x, v), val;
	struct tbuf tb = {0};
	if (expand_trim(c, &raw, &tb, &val) == 0) {
		struct env_entry *e = &t->env[t->nenv++];
		e->name = arena_strndup(c->A, x->s + i, ne - i);
		e->value = arena_strndup(c->A, val.s, val.n);
		e->loc = rl_loc(x, i);
		rl_map_put(&c->envs, e->name, ne - i, e);
	}
	tbuf_free(&tb);
}

static void do_line(struct rctx *c, struct target *t, struct pending *pd, const struct text *x)
{
	size_t we = rl_word_end(x, 0);
	if (we == 0)
		we = 1;
	size_t i = rl_skip_blanks(x, we);
	if (rl_word_is(x, 0, we, "foreach"))
		do_foreach(c, t, x, i);
	else if (rl_word_is(x, 0, we, "input"))
		do_decl(c, t, pd, x, i, "input", false);
	else if (rl_word_is(x, 0, we, "input?"))
		do_decl(c, t, pd, x, i, "input", true);
	else if (rl_word_is(x, 0, we, "output"))
		do_decl(c, t, pd, x, i, "output", false);
	else if (rl_word_is(x, 0, we, "env"))
		do_env(c, t, x, i);
	else {
		for (int a = 0; a < A_N; a++) {
			if (rl_word_is(x, 0, we, attr_names[a])) {
				do_attr(c, t, pd, x, we, i, (enum attr)a);
				return;
			}
		}
		char *w = xstrndup(x->s, we);
		const char *hint = closest_word(w, keywords, ARRAY_LEN(keywords));
		if (hint)
			rl_error(c, rl_loc(x, 0), "unknown attribute '%s' (did you mean '%s'?)", w, hint);
		else
			rl_error(c, rl_loc(x, 0), "unknown attribute '%s'", w);
		free(w);
	}
}

/* The URI's kind: 1 s3, 0 local, -1 an unsupported scheme (reported). */
static int uri_kind(struct rctx *c, const struct text *v)
{
	size_t sl = rl_uri_scheme(v->s, v->n);
	if (!sl)
		return 0;
	if (sl == 2 && !memcmp(v->s, "s3", 2)) {
		if (v->n == 5 || v->s[5] == '/') {
			rl_error(c, rl_loc(v, 0), "missing bucket in '%.*s'", (int)v->n, v->s);
			return -1;
		}
		return 1;
	}
	rl_error(c, rl_loc(v, 0), "unsupported URI scheme '%.*s' (expected s3:// or a local path)", (int)sl, v->s);
	return -1;
}

static struct rawtarget *find_raw(struct rctx *c, const char *name, size_t n)
{
	return rl_map_get(&c->rtmap, name, n);
}

/* Is v a reference T.O to another target's output? 1 yes (recorded),
 * 0 no (a URI), -1 a near miss (reported). */
static int check_ref(struct rctx *c, struct rawtarget *rt, size_t k, const struct text *v)
{
	const char *dot = memchr(v->s, '.', v->n);
	if (!dot || has_blank(v))
		return 0;
	size_t tn = (size_t)(dot - v->s);
	const char *o = dot + 1;
	size_t on = v->n - tn - 1;
	if (!rl_is_target_name(v->s, tn) || !rl_is_name(o, on))
		return 0;
	if (find_raw(c, v->s, tn)) {
		rt->ref_target[k] = arena_strndup(c->T, v->s, tn);
		rt->ref_output[k] = arena_strndup(c->T, o, on);
		rt->ref_loc[k] = rl_loc(v, 0);
		return 1;
	}
	/* The hint looks at every target: once per name (a thousand
	 * targets with "input x = data.txt" ask about "data" once). */
	const char *hint = rl_map_get(&c->notarget, v->s, tn);
	char *w = xstrndup(v->s, tn);
	if (!hint) {
		const char **names = xcalloc(c->nrts, sizeof(*names));
		for (size_t i = 0; i < c->nrts; i++)
			names[i] = c->rts[i]->name;
		hint = closest_word(w, names, c->nrts);
		free(names);
		rl_map_put(&c->notarget, arena_strndup(c->T, v->s, tn), tn, hint ? (void *)hint : (void *)c);
	} else if (hint == (const char *)c) {
		hint = NULL;
	}
	int ret = 0;
	if (hint) {
		rl_error(c, rl_loc(v, 0), "no target '%s' (did you mean '%s'?); write ./%.*s for a local file",
			 w, hint, (int)v->n, v->s);
		ret = -1;
	}
	free(w);
	return ret;
}

/* The static prefix of the outputs up to the last '/' before the first
 * placeholder; a directory output without placeholders counts from its
 * parent, so that sentinels never live inside an output directory. */
static void compute_root(struct rctx *c, struct target *t, const bool *ok)
{
	char *common = NULL;
	size_t clen = 0;
	for (size_t k = 0; k < t->noutputs; k++) {
		if (!ok[k])
			continue;
		struct output *o = &t->outputs[k];
		struct buf b = {0};
		buf_puts(&b, "");
		bool ref = false;
		for (size_t s = 0; s < o->uri.nsegs && !ref; s++) {
			if (o->uri.segs[s].kind == SEG_REF)
				ref = true;
			else
				buf_putn(&b, o->uri.segs[s].text, o->uri.segs[s].len);
		}
		if (!ref && o->is_dir && b.len > 0)
			b.data[--b.len] = 0;
		if (!common) {
			common = buf_detach(&b);
			clen = strlen(common);
		} else {
			size_t i = 0;
			while (i < clen && i < b.len && common[i] == b.data[i])
				i++;
			clen = i;
			buf_free(&b);
		}
	}
	while (clen > 0 && common[clen - 1] != '/')
		clen--;
	if (common && !strncmp(common, "s3://", 5) && (clen <= 5 || !memchr(common + 5, '/', clen - 5))) {
		rl_error(c, t->outputs[0].loc,
			 "the outputs of target '%s' must share one bucket, written without placeholders",
			 t->name);
		clen = 0;
	}
	if (common && common[0] == '/' && clen == 0)
		clen = 1;
	t->root = clen ? arena_strndup(c->A, common, clen) : arena_strdup(c->A, "./");
	free(common);
}

static void check_output_wildcards(struct rctx *c, struct target *t, size_t k)
{
	struct output *o = &t->outputs[k];
	for (size_t w = 0; w < t->nwildcards; w++) {
		bool used = false;
		for (size_t s = 0; s < o->uri.nsegs; s++)
			if (o->uri.segs[s].kind == SEG_REF && (size_t)o->uri.segs[s].ref == w)
				used = true;
		if (!used) {
			rl_error(c, o->uri.loc,
				 "output '%s' does not use wildcard '%s' (every value of '%s' would write the same place)",
				 o->name, t->wildcards[w].name, t->wildcards[w].name);
			return;
		}
	}
}

static bool is_marker(const char *s, const struct span *w, const char *m)
{
	return w->plain && w->n == 2 && !memcmp(s + w->at, m, 2);
}

/* Close the last group of t, which started at word first: note the
 * optional inputs its words name (in order of first use); a group naming
 * none is an error (it would never be dropped). seen[k] (one per input,
 * kept across groups) holds the number of the last group that named
 * input k, so a line of many groups costs only its words. */
static void close_group(struct rctx *c, struct target *t, size_t first, size_t *seen)
{
	struct word_group *g = &t->groups[t->ngroups - 1];
	size_t *ins = NULL, n = 0, cap = 0;
	for (size_t a = first; a < t->nargv; a++) {
		for (size_t s = 0; s < t->argv[a].nsegs; s++) {
			const struct seg *sg = &t->argv[a].segs[s];
			if (sg->kind != SEG_REF || (size_t)sg->ref < t->nwildcards)
				continue;
			size_t k = (size_t)sg->ref - t->nwildcards;
			if (k >= t->ninputs || !t->inputs[k].optional || seen[k] == t->ngroups)
				continue;
			seen[k] = t->ngroups;
			GROW(ins, cap, n + 1);
			ins[n++] = k;
		}
	}
	g->inputs = arena_alloc(c->A, (n ? n : 1) * sizeof(*ins));
	if (n)
		memcpy(g->inputs, ins, n * sizeof(*ins));
	g->ninputs = n;
	free(ins);
	if (!g->ninputs)
		rl_error(c, g->loc, "'[[ ... ]]' names no optional input, so its words would never be "
			 "dropped (a group is kept only when the input? inside it is present)");
}

/* Compile the words of the run line into t->argv; the unquoted words
 * "[[" and "]]" bracket optional groups and are not words themselves. */
static void compile_run(struct rctx *c, struct target *t, struct tbuf *tb, const struct span *words,
			size_t nw)
{
	const char *s = tb->b.data;
	size_t open_at = 0; /* first word of the open group */
	bool open = false;
	size_t nested = 0; /* "[[" reported as nested, waiting for their "]]" */
	struct loc open_loc = {0};
	int nerr = c->nerr;
	size_t *seen = NULL; /* for close_group, once there is a group */
	for (size_t k = 0; k < nw && !c->stop; k++) {
		struct text w = {s + words[k].at, tb->p + words[k].at, words[k].n, tb->file};
		if (is_marker(s, &words[k], "[[")) {
			if (open) {
				char *first = rl_loc_str(open_loc, true);
				rl_error(c, rl_loc(&w, 0), "nested '[[' (word groups do not nest; the open one is at %s)",
					 first);
				free(first);
				nested++;
				continue;
			}
			if (!t->groups) {
				t->groups = arena_alloc(c->A, nw * sizeof(*t->groups));
				t->argv_group = arena_alloc(c->A, nw * sizeof(*t->argv_group));
				for (size_t a = 0; a < t->nargv; a++)
					t->argv_group[a] = -1;
				seen = xcalloc(t->ninputs + 1, sizeof(*seen));
			}
			open = true;
			open_at = t->nargv;
			open_loc = rl_loc(&w, 0);
			t->groups[t->ngroups++] = (struct word_group){NULL, 0, open_loc};
			continue;
		}
		if (is_marker(s, &words[k], "]]")) {
			if (nested) {
				nested--;
				continue;
			}
			if (!open)
				rl_error(c, rl_loc(&w, 0), "']]' without a '[[' before it");
			else
				close_group(c, t, open_at, seen);
			open = false;
			continue;
		}
		if (rl_tmpl_compile(c, t, &w, TMPL_RUN, &t->argv[t->nargv]) == 0) {
			if (t->argv_group)
				t->argv_group[t->nargv] = open ? (int)t->ngroups - 1 : -1;
			t->nargv++;
			rl_recipe_word(c, t, &w, t->nargv - 1);
		}
	}
	free(seen);
	if (open && !c->stop)
		rl_error(c, open_loc, "'[[' without a ']]' after it on the run line");
	else if (t->argv_group && t->nargv && t->argv_group[0] >= 0)
		rl_error(c, t->groups[0].loc, "the program (the first word of 'run') may not be inside '[[ ... ]]'");
	else if (nw && !t->nargv && c->nerr == nerr)
		rl_error(c, t->run_loc, "empty 'run' line");
}

bool rules_word_kept(const struct target *t, size_t a, const bool *present)
{
	if (!t->argv_group || a >= t->nargv || t->argv_group[a] < 0)
		return true;
	const struct word_group *g = &t->groups[t->argv_group[a]];
	for (size_t k = 0; k < g->ninputs; k++)
		if (!present[g->inputs[k]])
			return false;
	return true;
}

/* Just past the -c word of "sh -c", as written; x->n when there is none. */
static size_t shell_script_at(const struct text *x);

/* The end of the shell word (quotes kept whole) at x[i]. */
static size_t quoted_word_end(const struct text *x, size_t i)
{
	char q = 0;
	for (; i < x->n; i++) {
		char ch = x->s[i];
		if (q) {
			if (ch == q)
				q = 0;
			else if (q == '"' && ch == '\\' && i + 1 < x->n)
				i++;
		} else if (ch == '\'' || ch == '"') {
			q = ch;
		} else if (ch == '\\' && i + 1 < x->n) {
			i++;
		} else if (rl_is_blank(ch)) {
			break;
		}
	}
	return i;
}

/* Where the script of a run line "sh -c '...'" is, as written: [*from,
 * *to) the word after the -c; empty when the line is not one. */
static void shell_script(const struct text *x, size_t *from, size_t *to)
{
	size_t b = shell_script_at(x);
	*from = b < x->n ? rl_skip_blanks(x, b) : x->n;
	*to = quoted_word_end(x, *from);
}

static size_t shell_script_at(const struct text *x)
{
	static const char *const shells[] = {"sh", "bash", "dash", "zsh", "ksh"};
	size_t e = rl_word_end(x, 0);
	size_t b = e;
	while (b > 0 && x->s[b - 1] != '/')
		b--;
	bool shell = false;
	for (size_t k = 0; k < ARRAY_LEN(shells); k++)
		shell = shell || rl_word_is(x, b, e, shells[k]);
	for (size_t i = rl_skip_blanks(x, e); shell && i < x->n && x->s[i] == '-';) {
		size_t we = i;
		while (we < x->n && !rl_is_blank(x->s[we]))
			we++;
		if (we - i >= 2 && x->s[i + 1] != '-' && memchr(x->s + i, 'c', we - i))
			return we;
		i = rl_skip_blanks(x, we);
	}
	return x->n;
}

static void pass2(struct rctx *c, struct rawtarget *rt, struct pending *pd)
{
	struct target *t = rt->t;
	for (size_t k = 0; k < t->ninputs && !c->stop; k++) {
		struct tbuf tb = {0};
		struct text v;
		struct input *in = &t->inputs[k];
		if (pd->in_val[k].s && expand_trim(c, &pd->in_val[k], &tb, &v) == 0) {
			if (v.n == 0)
				rl_error(c, rl_loc(&pd->in_val[k], 0), "empty URI for input '%s'", in->name);
			else if (check_ref(c, rt, k, &v) == 0 && uri_kind(c, &v) >= 0)
				rl_tmpl_compile(c, t, &v, TMPL_URI, &in->uri);
		}
		tbuf_free(&tb);
	}
	int kind = -1;
	size_t first = 0;
	bool *ok = xcalloc(t->noutputs, sizeof(bool));
	for (size_t k = 0; k < t->noutputs && !c->stop; k++) {
		struct tbuf tb = {0};
		struct text v;
		struct output *o = &t->outputs[k];
		if (pd->out_val[k].s && expand_trim(c, &pd->out_val[k], &tb, &v) == 0) {
			int kd;
			if (v.n == 0) {
				rl_error(c, rl_loc(&pd->out_val[k], 0), "empty URI for output '%s'", o->name);
			} else if ((kd = uri_kind(c, &v)) >= 0) {
				o->is_dir = v.s[v.n - 1] == '/';
				if (kind >= 0 && kd != kind) {
					rl_error(c, rl_loc(&v, 0),
						 "output '%s' is %s but output '%s' is %s; the outputs of a target must be all s3:// or all local",
						 o->name, kd ? "on s3://" : "local", t->outputs[first].name,
						 kind ? "on s3://" : "local");
				} else if (rl_tmpl_compile(c, t, &v, TMPL_URI, &o->uri) == 0) {
					ok[k] = true;
					check_output_wildcards(c, t, k);
				}
				if (kind < 0) {
					kind = kd;
					first = k;
				}
			}
		}
		tbuf_free(&tb);
	}
	if (t->noutputs)
		compute_root(c, t, ok);
	else
		t->root = arena_strdup(c->A, "./");
	free(ok);
	if (pd->attr[A_RUN].line && !c->stop) {
		struct tbuf tb = {0};
		struct span *words = NULL;
		size_t nw = 0;
		struct text v;
		c->shell_s = pd->run_val.s;
		shell_script(&pd->run_val, &c->shell_from, &c->shell_to);
		int r = expand_trim(c, &pd->run_val, &tb, &v);
		c->shell_s = NULL;
		if (r == 0 &&
		    rl_split_words(c, &tb, (size_t)(v.s - tb.b.data), v.n, &words, &nw) == 0) {
			if (nw == 0)
				rl_error(c, t->run_loc, "empty 'run' line");
			t->argv = arena_alloc(c->A, (nw ? nw : 1) * sizeof(*t->argv));
			compile_run(c, t, &tb, words, nw);
		}
		free(words);
		tbuf_free(&tb);
	}
}

void rl_target_parse(struct rctx *c, struct rawtarget *rt)
{
	struct arena *A = c->A;
	size_t m = rt->nlines ? rt->nlines : 1;
	rl_map_free(&c->syms);
	rl_map_free(&c->envs);
	struct target *t = arena_alloc(A, sizeof(*t));
	memset(t, 0, sizeof(*t));
	rt->t = t;
	t->name = arena_strdup(A, rt->name);
	t->loc = rt->loc;
	t->memory_mib = t->vcpus = t->timeout_s = t->retries = -1;
	t->wildcards = arena_alloc(A, m * sizeof(*t->wildcards));
	t->inputs = arena_alloc(A, m * sizeof(*t->inputs));
	t->outputs = arena_alloc(A, m * sizeof(*t->outputs));
	t->env = arena_alloc(A, m * sizeof(*t->env));
	memset(t->wildcards, 0, m * sizeof(*t->wildcards));
	memset(t->inputs, 0, m * sizeof(*t->inputs));
	memset(t->outputs, 0, m * sizeof(*t->outputs));
	memset(t->env, 0, m * sizeof(*t->env));
	rt->ref_target = arena_alloc(c->T, m * sizeof(char *));
	rt->ref_output = arena_alloc(c->T, m * sizeof(char *));
	rt->ref_loc = arena_alloc(c->T, m * sizeof(struct loc));
	memset(rt->ref_target, 0, m * sizeof(char *));
	struct pending pd = {0};
	pd.in_val = arena_alloc(c->T, m * sizeof(struct text));
	pd.out_val = arena_alloc(c->T, m * sizeof(struct text));
	int nerr = c->nerr;
	for (size_t i = 0; i < rt->nlines && !c->stop; i++)
		do_line(c, t, &pd, &rt->lines[i].t);
	if (c->stop)
		return;
	if (t->nwildcards > RULES_MAX_WILDCARDS) {
		rl_error(c, t->wildcards[RULES_MAX_WILDCARDS].loc, "target '%s' has %zu wildcards; at most %d",
			 t->name, t->nwildcards, RULES_MAX_WILDCARDS);
		return;
	}
	pass2(c, rt, &pd);
	/* A body with errors already said what is wrong (a misspelt 'run'). */
	if (c->nerr != nerr)
		return;
	if (!t->noutputs)
		rl_error(c, t->loc, "target '%s' has no output", t->name);
	if (!pd.attr[A_RUN].line)
		rl_error(c, t->loc, "target '%s' has no 'run' line", t->name);
}
