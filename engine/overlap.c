/* overlap.c - find outputs that collide with other outputs or with inputs.
 *
 * Every output and every file input of every instance becomes one entry:
 * its path made absolute and normalised (no "//", "/./" or "dir/.."; S3
 * URIs are compared as written), without a trailing '/', and with the
 * graph's base folder written as one byte (most paths are under it, so
 * keys stay short). Entries go into a hash table of distinct paths, which
 * keeps the first output and the first input of each: two outputs on one
 * path, or an output on an input's path, show there. Then each distinct
 * path looks up every folder above it (its prefixes up to a '/', hashed
 * as they are read): an output above anything, or an input above an
 * output, is an overlap. Linear in the total length of the paths; many
 * instances reading one shared input make one table entry. */
#include "engine/overlap.h"

#include "engine/graph.h"
#include "engine/state.h"
#include "lib/hash.h"
#include "lib/util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

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

/* One distinct path: its first output and first input entry (or NONE). */
struct node {
	uint64_t h;
	uint32_t entry;     /* any entry with this path (its key), or NONE: empty slot */
	uint32_t out, in;
};

#define NONE UINT32_MAX
/* The base folder in a key: a byte no path holds. */
#define BASE_MARK '\x01'

struct ctx {
	const struct graph *g;
	struct buf base;    /* the graph's base, normalised */
	struct buf paths;
	struct entry *e;
	size_t n, cap;
	size_t found;
	struct buf tmp;
};

/* Whether a path needs no normalising: no "//", no "." or ".."
 * component, no trailing '/'. */
static bool clean(const char *s, size_t n)
{
	if (!n || s[n - 1] == '/')
		return false;
	for (size_t k = 0; k < n; k++) {
		if (s[k] != '.' && s[k] != '/')
			continue;
		bool start = k == 0 || s[k - 1] == '/';
		if (s[k] == '/' && k + 1 < n && s[k + 1] == '/')
			return false;
		if (s[k] == '.' && start &&
		    (k + 1 == n || s[k + 1] == '/' || (s[k + 1] == '.' && (k + 2 == n || s[k + 2] == '/'))))
			return false;
	}
	return true;
}

/* Normalise the absolute path at b->data + start in place (see the top
 * of the file). */
static void normalise(struct buf *b, size_t start)
{
	char *d = b->data;
	size_t w = start, r = start, end = b->len;
	while (r < end) {
		while (r < end && d[r] == '/')
			r++;
		size_t s0 = r;
		while (r < end && d[r] != '/')
			r++;
		size_t n = r - s0;
		if (n == 0 || (n == 1 && d[s0] == '.'))
			continue;
		if (n == 2 && d[s0] == '.' && d[s0 + 1] == '.') {
			while (w > start && d[w - 1] != '/')
				w--;
			if (w > start)
				w--; /* the '/' before the dropped component */
			continue;
		}
		d[w++] = '/';
		memmove(d + w, d + s0, n);
		w += n;
	}
	if (w == start)
		d[w++] = '/';
	b->len = w;
	d[w] = 0;
}

/* Append the key of uri to c->paths. */
static void put_normalised(struct ctx *c, const char *uri)
{
	struct buf *b = &c->paths;
	size_t start = b->len, n = strlen(uri);
	if (uri_is_s3(uri)) {
		buf_putn(b, uri, n);
		while (b->len > start + 5 && b->data[b->len - 1] == '/')
			b->data[--b->len] = 0;
		return;
	}
	if (uri[0] != '/' && clean(uri, n)) {
		/* the common case: under the base, nothing to normalise */
		if (c->base.len)
			buf_putc(b, BASE_MARK);
		buf_putc(b, '/');
		buf_putn(b, uri, n);
		return;
	}
	if (uri[0] != '/') {
		buf_putn(b, c->base.data, c->base.len);
		buf_putc(b, '/');
	}
	buf_putn(b, uri, n);
	normalise(b, start);
	/* under the base (or the base itself): the marker instead */
	size_t bl = c->base.len;
	if (bl && b->len - start >= bl && !memcmp(b->data + start, c->base.data, bl) &&
	    (b->len - start == bl || b->data[start + bl] == '/')) {
		b->data[start] = BASE_MARK;
		memmove(b->data + start + 1, b->data + start + bl, b->len - start - bl);
		b->len -= bl - 1;
		b->data[b->len] = 0;
	}
}

static void add(struct ctx *c, const char *uri, uint32_t inst, uint32_t sym, int output)
{
	GROW(c->e, c->cap, c->n + 1);
	struct entry *e = &c->e[c->n++];
	e->off = c->paths.len;
	put_normalised(c, uri);
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

static uint64_t fnv_step(uint64_t h, unsigned char ch)
{
	return (h ^ ch) * 1099511628211ULL;
}

#define FNV_START 1469598103934665603ULL

/* The node of the path p[0..n) with hash h: its slot, empty if none. */
static struct node *slot(const struct ctx *c, struct node *t, size_t mask, uint64_t h, const char *p,
			 size_t n)
{
	for (size_t k = h & mask;; k = (k + 1) & mask) {
		struct node *nd = &t[k];
		if (nd->entry == NONE)
			return nd;
		const struct entry *e = &c->e[nd->entry];
		if (nd->h == h && e->len == n && !memcmp(path_of(c, e), p, n))
			return nd;
	}
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
			/* the first instance is the example, whatever the order found */
			if (a->inst < f[k].a->inst || (a->inst == f[k].a->inst && b->inst < f[k].b->inst)) {
				f[k].a = a;
				f[k].b = b;
				f[k].outer = outer;
				f[k].inner = inner;
			}
			return;
		}
	}
	if (*nf < SHOW_OVERLAPS)
		f[(*nf)++] = (struct found){a, b, outer, inner, 1};
}

/* Kinds in the order of their examples' instances, then outputs. */
static int cmp_found(const void *x, const void *y)
{
	const struct found *a = x, *b = y;
	if (a->a->inst != b->a->inst)
		return a->a->inst < b->a->inst ? -1 : 1;
	if (a->a->sym != b->a->sym)
		return a->a->sym < b->a->sym ? -1 : 1;
	if (a->b->inst != b->b->inst)
		return a->b->inst < b->b->inst ? -1 : 1;
	if (a->b->output != b->b->output)
		return a->b->output ? -1 : 1;
	return a->b->sym < b->b->sym ? -1 : a->b->sym > b->b->sym;
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

static int overlap_scan(const struct graph *g);

static void sig_str(XXH3_state_t *xs, const char *str)
{
	XXH3_128bits_update(xs, str, strlen(str) + 1);
}

static void sig_tmpl(XXH3_state_t *xs, const struct tmpl *tp)
{
	for (size_t k = 0; k < tp->nsegs; k++) {
		const struct seg *sg = &tp->segs[k];
		if (sg->kind == SEG_LIT) {
			XXH3_128bits_update(xs, "L", 1);
			XXH3_128bits_update(xs, sg->text, sg->len + 1);
		} else {
			int32_t r = sg->ref;
			XXH3_128bits_update(xs, "R", 1);
			XXH3_128bits_update(xs, &r, sizeof r);
		}
	}
	XXH3_128bits_update(xs, "E", 1);
}

/* What the paths of every instance are made of: the base folder, and per
 * target its wildcards' values and its input and output templates. The
 * same signature, the same paths: a check that passed need not run
 * again (the warm no-op plan). */
static void signature(const struct graph *g, uint8_t out[16])
{
	XXH3_state_t *xs = hash_state_new();
	XXH3_128bits_reset(xs);
	sig_str(xs, "rapid-overlap-1");
	sig_str(xs, g->base);
	for (size_t gi = 0; gi < g->ngroups; gi++) {
		const struct target *t = g->groups[gi].t;
		uint64_t n[3] = {t->nwildcards, t->ninputs, t->noutputs};
		sig_str(xs, t->name);
		XXH3_128bits_update(xs, n, sizeof n);
		for (size_t w = 0; w < t->nwildcards; w++) {
			const struct set *st = &t->wildcards[w].values;
			uint64_t nv = st->n;
			XXH3_128bits_update(xs, &nv, sizeof nv);
			for (size_t v = 0; v < st->n; v++)
				sig_str(xs, st->v[v]);
		}
		for (size_t k = 0; k < t->ninputs; k++) {
			if (t->inputs[k].up)
				XXH3_128bits_update(xs, "U", 1);
			else
				sig_tmpl(xs, &t->inputs[k].uri);
		}
		for (size_t k = 0; k < t->noutputs; k++)
			sig_tmpl(xs, &t->outputs[k].uri);
	}
	XXH128_canonical_t c;
	XXH128_canonicalFromHash(&c, XXH3_128bits_digest(xs));
	memcpy(out, c.digest, 16);
	XXH3_freeState(xs);
}

#define SIG_KEY "\xffoverlap-ok"

int overlap_check(const struct graph *g, struct state *st)
{
	uint8_t sig[16], had[16];
	size_t hl = 0;
	if (st) {
		signature(g, sig);
		if (state_get_into(st, STATE_OUTPUTS, SIG_KEY, strlen(SIG_KEY), had, sizeof had, &hl) == 1 &&
		    hl == sizeof had && !memcmp(had, sig, 16))
			return 0;
	}
	int ret = overlap_scan(g);
	if (ret == 0 && st)
		state_put(st, STATE_OUTPUTS, SIG_KEY, strlen(SIG_KEY), sig, sizeof sig);
	return ret;
}

/* The check itself. */
static int overlap_scan(const struct graph *g)
{
	struct ctx c = {.g = g};
	struct buf u = {0};
	buf_puts(&c.base, g->base[0] == '/' ? "" : "/");
	buf_puts(&c.base, g->base);
	normalise(&c.base, 0);
	if (c.base.len == 1)
		buf_reset(&c.base); /* the base is "/": keys stay absolute paths */
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
	size_t cap = 16;
	while (cap < 2 * c.n + 2)
		cap *= 2;
	struct node *t = xcalloc(cap, sizeof(*t));
	size_t mask = cap - 1, nf = 0;
	struct found f[SHOW_OVERLAPS];
	for (size_t k = 0; k < cap; k++)
		t[k].entry = t[k].out = t[k].in = NONE;
	/* the same path: two outputs, or an output and an input */
	for (size_t k = 0; k < c.n; k++) {
		const struct entry *e = &c.e[k];
		const char *p = path_of(&c, e);
		uint64_t h = FNV_START;
		for (size_t x = 0; x < e->len; x++)
			h = fnv_step(h, (unsigned char)p[x]);
		struct node *nd = slot(&c, t, mask, h, p, e->len);
		if (nd->entry == NONE) {
			nd->h = h;
			nd->entry = (uint32_t)k;
		}
		uint32_t *mine = e->output ? &nd->out : &nd->in;
		if (e->output && nd->out != NONE)
			report(&c, f, &nf, &c.e[nd->out], e);
		if (*mine == NONE)
			*mine = (uint32_t)k;
	}
	for (size_t k = 0; k < cap; k++)
		if (t[k].out != NONE && t[k].in != NONE)
			report(&c, f, &nf, &c.e[t[k].out], &c.e[t[k].in]);
	/* a folder above: every prefix of each distinct path up to a '/' */
	for (size_t k = 0; k < cap; k++) {
		const struct node *nd = &t[k];
		if (nd->entry == NONE)
			continue;
		const struct entry *e = &c.e[nd->entry];
		const char *p = path_of(&c, e);
		uint64_t h = FNV_START;
		bool said = false;
		for (size_t x = 0; x < e->len && !said; x++) {
			if (p[x] == '/' && x > 0) {
				const struct node *up = slot(&c, t, mask, h, p, x);
				if (up->entry != NONE) {
					/* an output above anything; an input above an output */
					const struct entry *inner = nd->out != NONE ? &c.e[nd->out] : &c.e[nd->in];
					if (up->out != NONE) {
						report(&c, f, &nf, &c.e[up->out], inner);
						said = true;
					} else if (nd->out != NONE) {
						report(&c, f, &nf, &c.e[up->in], &c.e[nd->out]);
						said = true;
					}
				}
			}
			h = fnv_step(h, (unsigned char)p[x]);
		}
	}
	size_t shown = 0;
	if (nf > 1)
		qsort(f, nf, sizeof(*f), cmp_found);
	for (size_t k = 0; k < nf; k++) {
		say(&c, &f[k]);
		shown += f[k].count;
	}
	if (c.found > shown)
		warn("... and %zu more overlapping paths", c.found - shown);
	int ret = c.found ? -1 : 0;
	free(t);
	free(c.e);
	buf_free(&c.paths);
	buf_free(&c.tmp);
	buf_free(&u);
	buf_free(&c.base);
	return ret;
}
