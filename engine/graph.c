/* graph.c - expand targets into instances and map reference inputs to
 * upstream instances. See graph.h for the numbering. */
#include "engine/graph.h"
#include "lib/util.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A small open-addressing table from value strings to indices, used only
 * while building the upstream maps. */
struct vmap {
	const char **keys;
	uint32_t *vals;
	size_t mask;
};

static uint64_t str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static void vmap_init(struct vmap *m, const struct set *s)
{
	size_t cap = 16;
	while (cap < s->n * 2)
		cap *= 2;
	m->keys = xcalloc(cap, sizeof(*m->keys));
	m->vals = xcalloc(cap, sizeof(*m->vals));
	m->mask = cap - 1;
	for (size_t i = 0; i < s->n; i++) {
		size_t h = str_hash(s->v[i]) & m->mask;
		while (m->keys[h])
			h = (h + 1) & m->mask;
		m->keys[h] = s->v[i];
		m->vals[h] = (uint32_t)i;
	}
}

static uint32_t vmap_get(const struct vmap *m, const char *k)
{
	size_t h = str_hash(k) & m->mask;
	while (m->keys[h]) {
		if (!strcmp(m->keys[h], k))
			return m->vals[h];
		h = (h + 1) & m->mask;
	}
	return NO_INSTANCE;
}

static void vmap_free(struct vmap *m)
{
	free(m->keys);
	free(m->vals);
}

static int wildcard_index(const struct target *t, const char *name)
{
	for (size_t k = 0; k < t->nwildcards; k++)
		if (!strcmp(t->wildcards[k].name, name))
			return (int)k;
	return -1;
}

static int build_upmaps(struct graph *g, struct tgroup *tg)
{
	struct target *t = tg->t;
	tg->upmap = arena_alloc(g->arena, (t->ninputs + 1) * sizeof(*tg->upmap));
	tg->upwc = arena_alloc(g->arena, (t->ninputs + 1) * sizeof(*tg->upwc));
	for (size_t i = 0; i < t->ninputs; i++) {
		tg->upmap[i] = NULL;
		tg->upwc[i] = NULL;
		struct target *up = t->inputs[i].up;
		if (!up)
			continue;
		tg->upmap[i] = arena_alloc(g->arena, (up->nwildcards + 1) * sizeof(uint32_t *));
		tg->upwc[i] = arena_alloc(g->arena, (up->nwildcards + 1) * sizeof(int));
		for (size_t k = 0; k < up->nwildcards; k++) {
			int mine = wildcard_index(t, up->wildcards[k].name);
			tg->upwc[i][k] = mine;
			tg->upmap[i][k] = NULL;
			if (mine < 0) {
				/* rules/ marks such an input as gathering */
				if (!t->inputs[i].gather) {
					warn("%s:%d:%d: input '%s': wildcard '%s' of '%s' is not a wildcard of '%s'",
					     t->inputs[i].loc.file, t->inputs[i].loc.line, t->inputs[i].loc.col,
					     t->inputs[i].name, up->wildcards[k].name, up->name, t->name);
					return -1;
				}
				continue;
			}
			const struct set *ms = &t->wildcards[mine].values;
			const struct set *us = &up->wildcards[k].values;
			uint32_t *map = arena_alloc(g->arena, (ms->n + 1) * sizeof(uint32_t));
			if (ms == us) {
				for (size_t v = 0; v < ms->n; v++)
					map[v] = (uint32_t)v;
			} else {
				struct vmap vm;
				vmap_init(&vm, us);
				for (size_t v = 0; v < ms->n; v++)
					map[v] = vmap_get(&vm, ms->v[v]);
				vmap_free(&vm);
			}
			tg->upmap[i][k] = map;
		}
	}
	return 0;
}

struct graph *graph_new(struct rapidfile *rf)
{
	struct graph *g = xcalloc(1, sizeof(*g));
	g->rf = rf;
	g->arena = arena_new();
	if (rf->dir[0] == '/') {
		g->base = arena_strdup(g->arena, rf->dir);
	} else {
		char cwd[PATH_MAX];
		if (!getcwd(cwd, sizeof cwd)) {
			warn("cannot find the current directory: %s", strerror(errno));
			goto fail;
		}
		char *b = path_join(cwd, rf->dir);
		size_t n = strlen(b);
		if (n > 2 && !strcmp(b + n - 2, "/."))
			b[n - 2] = 0;
		g->base = arena_strdup(g->arena, b);
		free(b);
	}
	g->ngroups = rf->ntargets;
	g->groups = arena_alloc(g->arena, (rf->ntargets + 1) * sizeof(*g->groups));
	uint64_t total = 0;
	for (size_t ti = 0; ti < rf->ntargets; ti++) {
		struct target *t = rf->targets[ti];
		struct tgroup *tg = &g->groups[ti];
		memset(tg, 0, sizeof(*tg));
		tg->t = t;
		tg->selected = true;
		tg->stride = arena_alloc(g->arena, (t->nwildcards + 1) * sizeof(uint32_t));
		uint64_t n = 1;
		for (size_t k = t->nwildcards; k-- > 0;) {
			const struct set *s = &t->wildcards[k].values;
			if (s->deferred) {
				warn("%s:%d:%d: cannot expand target '%s': %s needs the S3 backend",
				     t->wildcards[k].loc.file, t->wildcards[k].loc.line,
				     t->wildcards[k].loc.col, t->name,
				     s->deferred_what ? s->deferred_what : "an s3:// set");
				goto fail;
			}
			tg->stride[k] = (uint32_t)n;
			n *= s->n;
			if (n > UINT32_MAX / 2) {
				warn("%s:%d:%d: target '%s' has too many instances",
				     t->loc.file, t->loc.line, t->loc.col, t->name);
				goto fail;
			}
		}
		tg->first = (uint32_t)total;
		tg->n = (uint32_t)n;
		total += n;
		if (total > UINT32_MAX / 2) {
			warn("too many instances (%llu)", (unsigned long long)total);
			goto fail;
		}
		if (build_upmaps(g, tg) < 0)
			goto fail;
	}
	g->ninst = (size_t)total;
	g->inst = xcalloc(g->ninst ? g->ninst : 1, sizeof(*g->inst));
	for (size_t ti = 0; ti < g->ngroups; ti++) {
		struct tgroup *tg = &g->groups[ti];
		for (uint32_t i = 0; i < tg->n; i++) {
			g->inst[tg->first + i].group = (uint32_t)ti;
			g->inst[tg->first + i].idx = i;
		}
	}
	return g;
fail:
	graph_free(g);
	return NULL;
}

void graph_free(struct graph *g)
{
	if (!g)
		return;
	free(g->inst);
	arena_free(g->arena);
	free(g);
}

static void select_up(struct graph *g, struct target *t)
{
	struct tgroup *tg = &g->groups[t->index];
	if (tg->selected)
		return;
	tg->selected = true;
	for (size_t i = 0; i < t->ninputs; i++)
		if (t->inputs[i].up)
			select_up(g, t->inputs[i].up);
}

int graph_select(struct graph *g, char **names, size_t n)
{
	if (n == 0)
		return 0;
	for (size_t i = 0; i < g->ngroups; i++)
		g->groups[i].selected = false;
	for (size_t i = 0; i < n; i++) {
		struct target *t = rules_target(g->rf, names[i]);
		if (!t) {
			const char **cands = xcalloc(g->ngroups + 1, sizeof(char *));
			for (size_t k = 0; k < g->ngroups; k++)
				cands[k] = g->groups[k].t->name;
			const char *hint = closest_word(names[i], cands, g->ngroups);
			if (hint)
				warn("no target '%s' in %s (did you mean '%s'?)", names[i], g->rf->path, hint);
			else
				warn("no target '%s' in %s", names[i], g->rf->path);
			free(cands);
			return -1;
		}
		select_up(g, t);
	}
	return 0;
}

uint32_t graph_value_index(const struct tgroup *g, uint32_t idx, size_t k)
{
	uint32_t n = (uint32_t)g->t->wildcards[k].values.n;
	return (idx / g->stride[k]) % n;
}

const char *graph_value(const struct graph *g, const struct instance *i, size_t k)
{
	const struct tgroup *tg = &g->groups[i->group];
	return tg->t->wildcards[k].values.v[graph_value_index(tg, i->idx, k)];
}

uint32_t graph_upstream(const struct graph *g, const struct instance *i, size_t input)
{
	const struct tgroup *tg = &g->groups[i->group];
	const struct target *up = tg->t->inputs[input].up;
	if (!up)
		return NO_INSTANCE;
	if (tg->t->inputs[input].gather)
		return NO_INSTANCE;
	const struct tgroup *ug = &g->groups[up->index];
	uint32_t uidx = 0;
	for (size_t k = 0; k < up->nwildcards; k++) {
		int mine = tg->upwc[input][k];
		uint32_t v = tg->upmap[input][k][graph_value_index(tg, i->idx, (size_t)mine)];
		if (v == NO_INSTANCE)
			return NO_INSTANCE;
		uidx += v * ug->stride[k];
	}
	return ug->first + uidx;
}

/* A gathering input of i: the upstream index with the shared wildcards
 * set and the free ones at 0 into *base; the number of instances
 * gathered (0 when a shared value is not one of the upstream's). */
static size_t gather_base(const struct graph *g, const struct instance *i, size_t input, uint32_t *base)
{
	const struct tgroup *tg = &g->groups[i->group];
	const struct target *up = tg->t->inputs[input].up;
	const struct tgroup *ug = &g->groups[up->index];
	size_t n = 1;
	*base = 0;
	for (size_t k = 0; k < up->nwildcards; k++) {
		int mine = tg->upwc[input][k];
		if (mine < 0) {
			n *= up->wildcards[k].values.n;
			continue;
		}
		uint32_t v = tg->upmap[input][k][graph_value_index(tg, i->idx, (size_t)mine)];
		if (v == NO_INSTANCE)
			return 0;
		*base += v * ug->stride[k];
	}
	return n;
}

size_t graph_upstream_count(const struct graph *g, const struct instance *i, size_t input)
{
	const struct target *t = g->groups[i->group].t;
	if (!t->inputs[input].up)
		return 0;
	if (!t->inputs[input].gather)
		return graph_upstream(g, i, input) == NO_INSTANCE ? 0 : 1;
	uint32_t base;
	return gather_base(g, i, input, &base);
}

uint32_t graph_upstream_at(const struct graph *g, const struct instance *i, size_t input, size_t j)
{
	const struct tgroup *tg = &g->groups[i->group];
	if (!tg->t->inputs[input].gather)
		return graph_upstream(g, i, input);
	const struct target *up = tg->t->inputs[input].up;
	const struct tgroup *ug = &g->groups[up->index];
	uint32_t base;
	if (j >= gather_base(g, i, input, &base))
		return NO_INSTANCE;
	/* j in mixed radix over the free wildcards, the last fastest: the
	 * same order as the upstream's own numbering. */
	for (size_t k = up->nwildcards; k-- > 0;) {
		if (tg->upwc[input][k] >= 0)
			continue;
		size_t n = up->wildcards[k].values.n;
		base += (uint32_t)(j % n) * ug->stride[k];
		j /= n;
	}
	return ug->first + base;
}

void graph_describe_gathered(const struct graph *g, const struct instance *i, size_t input,
			     const struct instance *u, struct buf *b)
{
	const struct tgroup *tg = &g->groups[i->group];
	const struct target *up = tg->t->inputs[input].up;
	bool first = true;
	for (size_t k = 0; k < up->nwildcards; k++) {
		if (tg->upwc[input][k] >= 0)
			continue;
		buf_printf(b, "%s%s=%s", first ? "" : " ", up->wildcards[k].name, graph_value(g, u, k));
		first = false;
	}
}

void graph_describe(const struct graph *g, const struct instance *i, struct buf *b)
{
	const struct target *t = g->groups[i->group].t;
	for (size_t k = 0; k < t->nwildcards; k++)
		buf_printf(b, "%s%s=%s", k ? " " : "", t->wildcards[k].name, graph_value(g, i, k));
}

void graph_name(const struct graph *g, const struct instance *i, struct buf *b)
{
	const struct target *t = g->groups[i->group].t;
	buf_puts(b, t->name);
	if (t->nwildcards) {
		buf_putc(b, ' ');
		graph_describe(g, i, b);
	}
}

void graph_expand(const struct graph *g, const struct instance *i, const struct tmpl *tp,
		  const char *const *sym, struct buf *out)
{
	const struct target *t = g->groups[i->group].t;
	for (size_t s = 0; s < tp->nsegs; s++) {
		const struct seg *sg = &tp->segs[s];
		if (sg->kind == SEG_LIT) {
			buf_putn(out, sg->text, sg->len);
		} else if ((size_t)sg->ref < t->nwildcards) {
			buf_puts(out, graph_value(g, i, (size_t)sg->ref));
		} else if (sym && sym[sg->ref]) {
			buf_puts(out, sym[sg->ref]);
		}
	}
}

bool uri_is_s3(const char *uri)
{
	return !strncmp(uri, "s3://", 5);
}

char *graph_local_path(const struct graph *g, const char *uri)
{
	return path_join(g->base, uri);
}
