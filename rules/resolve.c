/* resolve.c - the graph between targets: input references (T.O) bound to
 * upstream outputs, their wildcards checked, cycles found, and the
 * targets ordered upstream first (file order otherwise). */
#include "rules/rint.h"

static struct rawtarget *find(struct rctx *c, const char *name)
{
	return rl_map_get(&c->rtmap, name, strlen(name));
}

static int find_wildcard(const struct target *t, const char *name)
{
	for (size_t k = 0; k < t->nwildcards; k++)
		if (!strcmp(t->wildcards[k].name, name))
			return (int)k;
	return -1;
}

/* A run word expands to one word per gathered instance of the gathered
 * input it holds; two in one word would have no clear meaning. */
static int check_gather_words(struct rctx *c, const struct target *t)
{
	int ret = 0;
	size_t nw = t->nwildcards;
	for (size_t a = 0; a < t->nargv; a++) {
		const struct tmpl *tp = &t->argv[a];
		int first = -1;
		for (size_t s = 0; s < tp->nsegs; s++) {
			const struct seg *sg = &tp->segs[s];
			if (sg->kind != SEG_REF || (size_t)sg->ref < nw || (size_t)sg->ref >= nw + t->ninputs)
				continue;
			const struct input *in = &t->inputs[(size_t)sg->ref - nw];
			if (!in->gather)
				continue;
			if (first < 0) {
				first = sg->ref;
			} else if (first != sg->ref) {
				rl_error(c, tp->loc, "one run word holds two gathered inputs, {%s} and {%s} (write them as separate words)",
					 t->inputs[(size_t)first - nw].name, in->name);
				ret = -1;
				break;
			}
		}
	}
	return ret;
}

static int bind(struct rctx *c, struct rawtarget *rt)
{
	int ret = 0;
	struct target *t = rt->t;
	for (size_t k = 0; k < t->ninputs; k++) {
		if (!rt->ref_target[k])
			continue;
		struct input *in = &t->inputs[k];
		struct target *up = find(c, rt->ref_target[k])->t;
		const char *oname = rt->ref_output[k];
		struct loc at = rt->ref_loc[k];
		int oi = -1;
		for (size_t o = 0; o < up->noutputs; o++)
			if (!strcmp(up->outputs[o].name, oname))
				oi = (int)o;
		if (oi < 0) {
			ret = -1;
			int ii = -1;
			for (size_t i = 0; i < up->ninputs; i++)
				if (!strcmp(up->inputs[i].name, oname))
					ii = (int)i;
			if (ii >= 0 || find_wildcard(up, oname) >= 0) {
				rl_error(c, at, "input '%s' refers to %s.%s, but '%s' is %s of '%s', not an output",
					 in->name, up->name, oname, oname, ii >= 0 ? "an input" : "a wildcard",
					 up->name);
				continue;
			}
			const char **names = xcalloc(up->noutputs, sizeof(*names));
			for (size_t o = 0; o < up->noutputs; o++)
				names[o] = up->outputs[o].name;
			const char *hint = closest_word(oname, names, up->noutputs);
			if (hint)
				rl_error(c, at, "input '%s' refers to %s.%s, but '%s' has no output '%s' (did you mean '%s'?)",
					 in->name, up->name, oname, up->name, oname, hint);
			else
				rl_error(c, at, "input '%s' refers to %s.%s, but '%s' has no output '%s'",
					 in->name, up->name, oname, up->name, oname);
			free(names);
			continue;
		}
		in->up = up;
		in->up_output = oi;
		/* A wildcard of up that t lacks makes the input gather. */
		for (size_t w = 0; w < up->nwildcards && !in->gather; w++)
			if (find_wildcard(t, up->wildcards[w].name) < 0)
				in->gather = true;
	}
	if (check_gather_words(c, t) < 0)
		ret = -1;
	return ret;
}

/* The depth-first walk that orders targets upstream first. It keeps its
 * own stack (a reference chain may be as long as the Rapidfile), and the
 * stack is the path from the root, which names a cycle. During the walk
 * target->index is the target's position in c->rts. */
struct frame {
	size_t i; /* the target, in c->rts */
	size_t k; /* its next input to look at */
};

struct walk {
	struct rctx *c;
	int *color; /* 0 new, 1 on the path, 2 done */
	struct frame *path;
	size_t npath;
	struct target **order;
	size_t norder;
	int ret;
};

/* The cycle is the path from up to its end, then up again; a long one is
 * shown by its ends (a 40,000-target cycle is not a 40,000-name line). */
#define CYCLE_ENDS 4

static void cycle(struct walk *w, const struct target *up, struct loc at)
{
	struct buf b = {0};
	size_t s = 0;
	while (w->c->rts[w->path[s].i]->t != up)
		s++;
	size_t len = w->npath - s;
	for (size_t k = 0; k < len; k++) {
		if (len > 3 * CYCLE_ENDS && k == CYCLE_ENDS) {
			buf_printf(&b, "... (%zu more) -> ", len - 2 * CYCLE_ENDS);
			k = len - CYCLE_ENDS - 1;
			continue;
		}
		buf_printf(&b, "%s -> ", w->c->rts[w->path[s + k].i]->name);
	}
	buf_puts(&b, up->name);
	rl_error(w->c, at, "dependency cycle: %s", b.data);
	buf_free(&b);
	w->ret = -1;
}

static void visit(struct walk *w, size_t root)
{
	w->color[root] = 1;
	w->path[w->npath++] = (struct frame){root, 0};
	while (w->npath > 0) {
		struct frame *f = &w->path[w->npath - 1];
		struct rawtarget *rt = w->c->rts[f->i];
		struct target *t = rt->t;
		if (f->k == t->ninputs) {
			w->color[f->i] = 2;
			w->order[w->norder++] = t;
			w->npath--;
			continue;
		}
		size_t k = f->k++;
		struct target *up = t->inputs[k].up;
		if (!up)
			continue;
		size_t j = (size_t)up->index;
		if (w->color[j] == 1) {
			cycle(w, up, rt->ref_loc[k]);
		} else if (w->color[j] == 0) {
			w->color[j] = 1;
			w->path[w->npath++] = (struct frame){j, 0};
		}
	}
}

int rl_resolve(struct rctx *c)
{
	int ret = 0;
	for (size_t i = 0; i < c->nrts; i++)
		if (bind(c, c->rts[i]) < 0)
			ret = -1;
	for (size_t i = 0; i < c->nrts; i++)
		c->rts[i]->t->index = (int)i;
	struct walk w = {.c = c, .ret = 0};
	size_t n = c->nrts ? c->nrts : 1;
	w.color = xcalloc(n, sizeof(int));
	w.path = xcalloc(n, sizeof(*w.path));
	w.order = arena_alloc(c->A, n * sizeof(*w.order));
	for (size_t i = 0; i < c->nrts; i++)
		if (!w.color[i])
			visit(&w, i);
	for (size_t i = 0; i < w.norder; i++)
		w.order[i]->index = (int)i;
	c->rf->targets = w.order;
	c->rf->ntargets = w.norder;
	free(w.color);
	free(w.path);
	return ret < 0 || w.ret < 0 ? -1 : 0;
}
