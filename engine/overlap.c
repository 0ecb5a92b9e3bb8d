/* overlap.c - find outputs that collide with other outputs or with inputs.
 *
 * Every output and every file input of every instance becomes one entry:
 * its path made absolute and normalised (no "//", "/./" or "dir/.."; S3
 * URIs are compared as written), without a trailing '/'. Sorted with '/'
 * ordered before every other byte, a path is followed at once by all the
 * paths inside it, so one pass with a stack of the entries the current
 * path is inside (or equal to) finds every overlap: O(n log n) in the
 * number of entries, and the stack is as deep as the paths are. Entries
 * that cannot collide with each other (two inputs) never report; many
 * instances reading one shared input push it once. */
#include "engine/overlap.h"

#include "engine/graph.h"
#include "lib/util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Kinds of overlap spelled out (one per pair of declarations); the rest
 * are counted. */
#define SHOW_OVERLAPS 5

struct entry {
	size_t off;     /* of its normalised path in paths */
	uint32_t len;
	uint32_t inst;  /* index into g->inst */
	uint32_t sym;   /* input or output index in its target */
	uint8_t output; /* 1 output, 0 input */
};

struct ctx {
	const struct graph *g;
	struct buf paths;
	struct entry *e;
	size_t n, cap;
	size_t found;
	struct buf tmp;
};

/* Append path normalised (see the top of the file) to c->paths. */
static void put_normalised(struct ctx *c, const char *base, const char *uri)
{
	struct buf *b = &c->paths;
	size_t start = b->len;
	if (uri_is_s3(uri)) {
		buf_puts(b, uri);
		while (b->len > start + 5 && b->data[b->len - 1] == '/')
			b->data[--b->len] = 0;
		return;
	}
	if (uri[0] != '/')
		buf_puts(b, base);
	buf_putc(b, '/');
	const char *s = uri;
	while (*s) {
		while (*s == '/')
			s++;
		const char *e = strchr(s, '/');
		size_t n = e ? (size_t)(e - s) : strlen(s);
		if (n == 0)
			break;
		if (n == 1 && s[0] == '.') {
			/* nothing */
		} else if (n == 2 && s[0] == '.' && s[1] == '.') {
			/* back to the previous '/', never above where this path began */
			while (b->len > start + 1 && b->data[b->len - 1] == '/')
				b->len--;
			while (b->len > start + 1 && b->data[b->len - 1] != '/')
				b->len--;
		} else {
			if (b->data[b->len - 1] != '/')
				buf_putc(b, '/');
			buf_putn(b, s, n);
		}
		s += n;
	}
	/* collapse what the base itself brought ("//", trailing '/') */
	size_t w = start;
	for (size_t r = start; r < b->len; r++) {
		if (b->data[r] == '/' && w > start && b->data[w - 1] == '/')
			continue;
		b->data[w++] = b->data[r];
	}
	while (w > start + 1 && b->data[w - 1] == '/')
		w--;
	b->len = w;
	b->data[w] = 0;
}

static void add(struct ctx *c, const char *uri, uint32_t inst, uint32_t sym, int output)
{
	GROW(c->e, c->cap, c->n + 1);
	struct entry *e = &c->e[c->n++];
	e->off = c->paths.len;
	put_normalised(c, c->g->base, uri);
	e->len = (uint32_t)(c->paths.len - e->off);
	buf_putc(&c->paths, 0);
	e->inst = inst;
	e->sym = sym;
	e->output = (uint8_t)output;
}

static const char *path_of(const struct ctx *c, const struct entry *e)
{
	return c->paths.data + e->off;
}

/* qsort has no context argument: the paths buffer of the one check. */
static const char *sort_paths;

static int cmp_entry(const void *pa, const void *pb)
{
	const struct entry *a = pa, *b = pb;
	const unsigned char *x = (const unsigned char *)sort_paths + a->off;
	const unsigned char *y = (const unsigned char *)sort_paths + b->off;
	for (;; x++, y++) {
		unsigned cx = *x == '/' ? 1 : *x == 1 ? '/' : *x;
		unsigned cy = *y == '/' ? 1 : *y == 1 ? '/' : *y;
		if (cx != cy)
			return cx < cy ? -1 : 1;
		if (!cx)
			break;
	}
	/* outputs first among equals, then by instance: stable reports */
	if (a->output != b->output)
		return a->output ? -1 : 1;
	if (a->inst != b->inst)
		return a->inst < b->inst ? -1 : 1;
	return a->sym < b->sym ? -1 : a->sym > b->sym;
}

/* Whether a is b or a folder b is inside. */
static bool within(const struct ctx *c, const struct entry *outer, const struct entry *inner)
{
	return inner->len >= outer->len && !memcmp(path_of(c, outer), path_of(c, inner), outer->len) &&
	       (inner->len == outer->len || path_of(c, inner)[outer->len] == '/' ||
		(outer->len == 1 && path_of(c, outer)[0] == '/'));
}

/* The URI of entry e as its instance spells it, into out. */
static void put_uri(const struct ctx *c, const struct entry *e, struct buf *out)
{
	const struct instance *i = &c->g->inst[e->inst];
	const struct target *t = c->g->groups[i->group].t;
	graph_expand(c->g, i, e->output ? &t->outputs[e->sym].uri : &t->inputs[e->sym].uri, NULL, out);
}

static struct loc loc_of(const struct ctx *c, const struct entry *e)
{
	const struct target *t = c->g->groups[c->g->inst[e->inst].group].t;
	return e->output ? t->outputs[e->sym].loc : t->inputs[e->sym].loc;
}

/* "output 'dir' of up p=a ('out/a/'" */
static void put_end(struct ctx *c, const struct entry *e, struct buf *b)
{
	const struct instance *i = &c->g->inst[e->inst];
	const struct target *t = c->g->groups[i->group].t;
	buf_printf(b, "%s '%s' of ", e->output ? "output" : "input",
		   e->output ? t->outputs[e->sym].name : t->inputs[e->sym].name);
	graph_name(c->g, i, b);
	buf_puts(b, " ('");
	put_uri(c, e, b);
	buf_putc(b, '\'');
}

/* One kind of overlap: the two declarations (target, input or output),
 * the first pair of entries found, and how many instances repeat it. */
struct found {
	const struct entry *a, *b; /* a is an output */
	const struct entry *outer, *inner;
	size_t count;
};

static bool same_decl(const struct ctx *c, const struct entry *x, const struct entry *y)
{
	return c->g->inst[x->inst].group == c->g->inst[y->inst].group && x->output == y->output &&
	       x->sym == y->sym;
}

/* Remember that outer (the same path or a folder) and inner overlap. */
static void report(struct ctx *c, struct found *f, size_t *nf, const struct entry *outer,
		   const struct entry *inner)
{
	/* The sentence is about an output: it is what would do the damage. */
	const struct entry *a = outer->output ? outer : inner, *b = a == outer ? inner : outer;
	c->found++;
	for (size_t k = 0; k < *nf; k++) {
		if (same_decl(c, f[k].a, a) && same_decl(c, f[k].b, b)) {
			f[k].count++;
			return;
		}
	}
	if (*nf < SHOW_OVERLAPS)
		f[(*nf)++] = (struct found){a, b, outer, inner, 1};
}

static void say(struct ctx *c, const struct found *f)
{
	const struct entry *a = f->a, *b = f->b;
	bool same = f->outer->len == f->inner->len;
	const char *rel = same ? (b->output ? "is also" : "is the same path as")
			       : a == f->outer ? "contains" : "is inside";
	struct buf *m = &c->tmp;
	buf_reset(m);
	struct loc la = loc_of(c, a), lb = loc_of(c, b);
	buf_printf(m, "%s:%d:%d: ", la.file ? la.file : "command line", la.line, la.col);
	put_end(c, a, m);
	buf_printf(m, ") %s ", rel);
	put_end(c, b, m);
	buf_printf(m, ", %s:%d:%d)", lb.file ? lb.file : "command line", lb.line, lb.col);
	if (f->count > 1)
		buf_printf(m, " (%zu instances alike)", f->count);
	if (b->output)
		buf_puts(m, ": the two would overwrite each other; give each output a path of its own");
	else if (c->g->inst[a->inst].group != c->g->inst[b->inst].group)
		buf_puts(m, ": read another target's output as 'input NAME = TARGET.OUTPUT'");
	else
		buf_puts(m, ": the output would replace the input; write outputs apart from the inputs");
	warn("%s", m->data);
}

int overlap_check(const struct graph *g)
{
	struct ctx c = {.g = g};
	struct buf u = {0};
	for (size_t gi = 0; gi < g->ngroups; gi++) {
		const struct tgroup *tg = &g->groups[gi];
		const struct target *t = tg->t;
		for (uint32_t k = 0; k < tg->n; k++) {
			uint32_t ii = tg->first + k;
			const struct instance *i = &g->inst[ii];
			for (size_t x = 0; x < t->ninputs; x++) {
				if (t->inputs[x].up)
					continue;
				buf_reset(&u);
				graph_expand(g, i, &t->inputs[x].uri, NULL, &u);
				if (u.len)
					add(&c, u.data, ii, (uint32_t)x, 0);
			}
			for (size_t x = 0; x < t->noutputs; x++) {
				buf_reset(&u);
				graph_expand(g, i, &t->outputs[x].uri, NULL, &u);
				if (u.len)
					add(&c, u.data, ii, (uint32_t)x, 1);
			}
		}
	}
	sort_paths = c.paths.data;
	if (c.n > 1)
		qsort(c.e, c.n, sizeof(*c.e), cmp_entry);
	/* the stack: entries the current one is inside or equal to */
	size_t *st = xcalloc(c.n + 1, sizeof(*st)), sn = 0, nf = 0;
	struct found f[SHOW_OVERLAPS];
	for (size_t k = 0; k < c.n; k++) {
		const struct entry *e = &c.e[k];
		while (sn && !within(&c, &c.e[st[sn - 1]], e))
			sn--;
		bool dup_input = false, said = false;
		for (size_t s = sn; s-- > 0 && !said;) {
			const struct entry *o = &c.e[st[s]];
			if (!o->output && !e->output) {
				dup_input = dup_input || o->len == e->len;
				continue;
			}
			report(&c, f, &nf, o, e);
			said = true;
		}
		/* one entry per path is enough to compare what follows with */
		if (!dup_input && !(sn && c.e[st[sn - 1]].len == e->len))
			st[sn++] = k;
	}
	size_t shown = 0;
	for (size_t k = 0; k < nf; k++) {
		say(&c, &f[k]);
		shown += f[k].count;
	}
	if (c.found > shown)
		warn("... and %zu more overlapping paths", c.found - shown);
	int ret = c.found ? -1 : 0;
	free(st);
	free(c.e);
	buf_free(&c.paths);
	buf_free(&c.tmp);
	buf_free(&u);
	sort_paths = NULL;
	return ret;
}
