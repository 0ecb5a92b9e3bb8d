/* key.c - canonical key encoding (format documented in key.h) and the
 * old → new explanations of what changed between two keys. */
#include "engine/key.h"
#include "lib/hash.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

void comps_reset(struct comps *c)
{
	buf_reset(&c->data);
	c->n = 0;
}

void comps_addn(struct comps *c, const char *name, const char *value, size_t vlen)
{
	GROW(c->off, c->cap, c->n + 1);
	c->off[c->n++] = c->data.len;
	buf_putn(&c->data, name, strlen(name) + 1);
	buf_putn(&c->data, value, vlen);
	buf_putc(&c->data, 0);
}

void comps_add_named(struct comps *c, const char *prefix, const char *name,
		     const char *value, size_t vlen)
{
	GROW(c->off, c->cap, c->n + 1);
	c->off[c->n++] = c->data.len;
	buf_puts(&c->data, prefix);
	buf_putn(&c->data, name, strlen(name) + 1);
	buf_putn(&c->data, value, vlen);
	buf_putc(&c->data, 0);
}

void comps_add(struct comps *c, const char *name, const char *value)
{
	comps_addn(c, name, value, strlen(value));
}

const char *comps_name(const struct comps *c, size_t i)
{
	return c->data.data + c->off[i];
}

const char *comps_value(const struct comps *c, size_t i)
{
	const char *n = comps_name(c, i);
	return n + strlen(n) + 1;
}

const char *comps_get(const struct comps *c, const char *name)
{
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(comps_name(c, i), name))
			return comps_value(c, i);
	return NULL;
}

void comps_free(struct comps *c)
{
	buf_free(&c->data);
	free(c->off);
	c->off = NULL;
	c->n = c->cap = 0;
}

int comps_decode(struct comps *c, const char *data, size_t len)
{
	comps_reset(c);
	size_t p = 0;
	while (p < len) {
		const char *name = data + p;
		const char *z = memchr(name, 0, len - p);
		if (!z)
			return -1;
		const char *value = z + 1;
		if ((size_t)(value - data) >= len)
			return -1;
		const char *z2 = memchr(value, 0, len - (size_t)(value - data));
		if (!z2)
			return -1;
		comps_addn(c, name, value, (size_t)(z2 - value));
		p = (size_t)(z2 - data) + 1;
	}
	return 0;
}

void key_quote_word(struct buf *b, const char *w)
{
	/* Bytes that need no quoting for a POSIX shell. */
	static const char safe[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:=+,@%^-";
	static bool table[256], ready;
	if (!ready) {
		for (const char *c = safe; *c; c++)
			table[(unsigned char)*c] = true;
		ready = true;
	}
	bool plain = *w != 0;
	for (const unsigned char *p = (const unsigned char *)w; *p && plain; p++)
		plain = table[*p];
	if (plain) {
		buf_puts(b, w);
		return;
	}
	buf_putc(b, '\'');
	for (const char *p = w; *p; p++) {
		if (*p == '\'')
			buf_puts(b, "'\\''");
		else
			buf_putc(b, *p);
	}
	buf_putc(b, '\'');
}

void key_compute(const char *target, const char *const *wnames,
		 const char *const *wvalues, size_t nw, const struct comps *c,
		 uint8_t out[16])
{
	XXH3_state_t *st = hash_state_new();
	XXH3_128bits_reset(st);
	XXH3_128bits_update(st, "rapid-key\0" KEY_VERSION "\0", sizeof("rapid-key\0" KEY_VERSION));
	XXH3_128bits_update(st, target, strlen(target) + 1);
	for (size_t k = 0; k < nw; k++) {
		XXH3_128bits_update(st, wnames[k], strlen(wnames[k]) + 1);
		XXH3_128bits_update(st, wvalues[k], strlen(wvalues[k]) + 1);
	}
	XXH3_128bits_update(st, "\x01", 2);
	if (c->data.len)
		XXH3_128bits_update(st, c->data.data, c->data.len);
	XXH128_hash_t h = XXH3_128bits_digest(st);
	XXH3_freeState(st);
	XXH128_canonical_t canon;
	XXH128_canonicalFromHash(&canon, h);
	memcpy(out, canon.digest, 16);
}

/* Split a display command on spaces (quoted words may split; display only). */
static size_t split_words(const char *s, char ***out)
{
	size_t n = 0, cap = 0;
	char **v = NULL;
	while (*s) {
		while (*s == ' ')
			s++;
		if (!*s)
			break;
		const char *e = strchr(s, ' ');
		size_t len = e ? (size_t)(e - s) : strlen(s);
		GROW(v, cap, n + 1);
		v[n++] = xstrndup(s, len);
		s += len;
	}
	*out = v;
	return n;
}

static void join_words(struct buf *b, char **w, size_t from, size_t to)
{
	if (from >= to) {
		buf_puts(b, "(nothing)");
		return;
	}
	for (size_t i = from; i < to; i++)
		buf_printf(b, "%s%s", i > from ? " " : "", w[i]);
}

static void diff_command(struct buf *d, const char *old, const char *cur)
{
	char **ow, **nw;
	size_t on = split_words(old, &ow), nn = split_words(cur, &nw);
	size_t pre = 0, suf = 0;
	while (pre < on && pre < nn && !strcmp(ow[pre], nw[pre]))
		pre++;
	while (suf < on - pre && suf < nn - pre && !strcmp(ow[on - 1 - suf], nw[nn - 1 - suf]))
		suf++;
	/* A pure insertion or deletion is shown with the word before it. */
	if (pre > 0 && (pre == on - suf || pre == nn - suf))
		pre--;
	/* Keep the option a changed value belongs to: "--passes 3 → --passes 4". */
	if (pre > 0 && ow[pre - 1][0] == '-' && ow[pre][0] != '-')
		pre--;
	buf_puts(d, "command: ");
	join_words(d, ow, pre, on - suf);
	buf_puts(d, " → ");
	join_words(d, nw, pre, nn - suf);
	for (size_t i = 0; i < on; i++)
		free(ow[i]);
	for (size_t i = 0; i < nn; i++)
		free(nw[i]);
	free(ow);
	free(nw);
}

/* "size=N xxh3=HEX" / "key=HEX" / "missing" → its short display. */
static void short_fp(struct buf *d, const char *fp, const char *field)
{
	const char *p = strstr(fp, field);
	if (!p) {
		buf_puts(d, fp);
		return;
	}
	p += strlen(field);
	size_t n = strcspn(p, " ");
	buf_printf(d, "%.*s%s", (int)(n > 12 ? 12 : n), p, n > 12 ? "…" : "");
}

static void diff_input(struct buf *d, const char *name, const char *old, const char *cur)
{
	const char *onl = strchr(old, '\n'), *nnl = strchr(cur, '\n');
	size_t oul = onl ? (size_t)(onl - old) : strlen(old);
	size_t nul = nnl ? (size_t)(nnl - cur) : strlen(cur);
	const char *ofp = onl ? onl + 1 : "", *nfp = nnl ? nnl + 1 : "";
	buf_printf(d, "%s: ", name);
	if (oul != nul || memcmp(old, cur, oul)) {
		buf_printf(d, "uri %.*s → %.*s", (int)oul, old, (int)nul, cur);
		if (!strcmp(ofp, nfp))
			return;
		buf_puts(d, ", ");
	}
	if (!strcmp(ofp, "missing") || !strcmp(nfp, "missing")) {
		buf_printf(d, "%s → %s", !strcmp(ofp, "missing") ? "missing" : "present",
			   !strcmp(nfp, "missing") ? "missing" : "present");
	} else if (!strncmp(ofp, "key=", 4) && !strncmp(nfp, "key=", 4)) {
		buf_puts(d, "upstream key ");
		short_fp(d, ofp, "key=");
		buf_puts(d, " → ");
		short_fp(d, nfp, "key=");
	} else if (!strncmp(ofp, "size=", 5) && !strncmp(nfp, "size=", 5)) {
		long long os = atoll(ofp + 5), ns = atoll(nfp + 5);
		if (os != ns)
			buf_printf(d, "size %lld → %lld, ", os, ns);
		buf_puts(d, "xxh3 ");
		short_fp(d, ofp, "xxh3=");
		buf_puts(d, " → ");
		short_fp(d, nfp, "xxh3=");
	} else {
		buf_printf(d, "%s → %s", ofp, nfp);
	}
}

/* ---- gathering inputs ----
 * Their value (engine/plan.c) is "gathered N of M from UP W=V..." and
 * one line per agreeing upstream instance: "LABEL\tURI\tFINGERPRINT" or
 * "LABEL\tskipped". The diff names what changed: the count with the
 * instances newly skipped or added, and each gathered instance whose
 * URI or key changed (the first few). */

/* Changed gathered instances named one by one before the rest are counted. */
#define GATHER_DIFF_SHOW 5

struct gline {
	const char *label, *rest; /* rest: "URI\tFP" or "skipped" */
	size_t llen, rlen;
};

struct glist {
	const char *header;
	size_t hlen;
	struct gline *v;
	size_t n, cap;
	size_t *slot;  /* open addressing by label: index + 1, 0 empty */
	size_t mask;
};

static uint64_t mem_hash(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return h;
}

static void glist_parse(struct glist *l, const char *v)
{
	memset(l, 0, sizeof(*l));
	const char *nl = strchr(v, '\n');
	l->header = v;
	l->hlen = nl ? (size_t)(nl - v) : strlen(v);
	for (const char *p = nl ? nl + 1 : NULL; p && *p;) {
		const char *e = strchr(p, '\n');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		const char *tab = memchr(p, '\t', len);
		GROW(l->v, l->cap, l->n + 1);
		struct gline *g = &l->v[l->n++];
		g->label = p;
		g->llen = tab ? (size_t)(tab - p) : len;
		g->rest = tab ? tab + 1 : p + len;
		g->rlen = tab ? len - g->llen - 1 : 0;
		p = e ? e + 1 : NULL;
	}
	size_t cap = 16;
	while (cap < l->n * 2)
		cap *= 2;
	l->slot = xcalloc(cap, sizeof(*l->slot));
	l->mask = cap - 1;
	for (size_t i = 0; i < l->n; i++) {
		size_t h = mem_hash(l->v[i].label, l->v[i].llen) & l->mask;
		while (l->slot[h])
			h = (h + 1) & l->mask;
		l->slot[h] = i + 1;
	}
}

static const struct gline *glist_get(const struct glist *l, const struct gline *like)
{
	size_t h = mem_hash(like->label, like->llen) & l->mask;
	for (; l->slot[h]; h = (h + 1) & l->mask) {
		const struct gline *g = &l->v[l->slot[h] - 1];
		if (g->llen == like->llen && !memcmp(g->label, like->label, g->llen))
			return g;
	}
	return NULL;
}

static void glist_free(struct glist *l)
{
	free(l->v);
	free(l->slot);
}

static bool gline_skipped(const struct gline *g)
{
	return g->rlen == 7 && !memcmp(g->rest, "skipped", 7);
}

/* "run=REST2_RL" as "run REST2_RL". */
static void put_label(struct buf *d, const struct gline *g)
{
	for (size_t i = 0; i < g->llen; i++)
		buf_putc(d, g->label[i] == '=' ? ' ' : g->label[i]);
}

/* Append ", " before all but the first of a list of labels; "k more". */
static void put_list(struct buf *d, const struct gline **v, size_t n, const char *what, bool *any)
{
	if (!n)
		return;
	buf_puts(d, *any ? "; " : ": ");
	*any = true;
	for (size_t i = 0; i < n && i < GATHER_DIFF_SHOW; i++) {
		if (i)
			buf_puts(d, ", ");
		put_label(d, v[i]);
	}
	if (n > GATHER_DIFF_SHOW)
		buf_printf(d, " and %zu more", n - GATHER_DIFF_SHOW);
	buf_printf(d, " %s", what);
}

static void diff_gather(struct buf *d, const char *name, const char *old, const char *cur)
{
	struct glist o, c;
	glist_parse(&o, old);
	glist_parse(&c, cur);
	const struct gline **skipped = xcalloc(c.n + 1, sizeof(*skipped));
	const struct gline **added = xcalloc(c.n + 1, sizeof(*added));
	const struct gline **gone = xcalloc(o.n + 1, sizeof(*gone));
	size_t ns = 0, na = 0, ng = 0, changed = 0;
	for (size_t i = 0; i < c.n; i++) {
		const struct gline *og = glist_get(&o, &c.v[i]);
		bool cs = gline_skipped(&c.v[i]);
		if (cs && (!og || !gline_skipped(og)))
			skipped[ns++] = &c.v[i];
		else if (!cs && (!og || gline_skipped(og)))
			added[na++] = &c.v[i];
	}
	for (size_t i = 0; i < o.n; i++)
		if (!glist_get(&c, &o.v[i]))
			gone[ng++] = &o.v[i];
	/* "gathered 3 of 4 from rapidtide participant=1" → "gathered 3 of 4" */
	const char *from = NULL;
	for (size_t i = 0; i + 6 <= c.hlen && !from; i++)
		if (!memcmp(c.header + i, " from ", 6))
			from = c.header + i;
	size_t ctl = from ? (size_t)(from - c.header) : c.hlen;
	const char *ofrom = NULL;
	for (size_t i = 0; i + 6 <= o.hlen && !ofrom; i++)
		if (!memcmp(o.header + i, " from ", 6))
			ofrom = o.header + i;
	size_t otl = ofrom ? (size_t)(ofrom - o.header) : o.hlen;
	bool first = true;
	if (ns || na || ng || ctl != otl || memcmp(c.header, o.header, ctl)) {
		bool any = false;
		buf_printf(d, "%s: %.*s", name, (int)ctl, c.header);
		put_list(d, skipped, ns, "skipped", &any);
		put_list(d, added, na, "added", &any);
		put_list(d, gone, ng, "no longer in the set", &any);
		if (otl != ctl || memcmp(c.header, o.header, ctl))
			buf_printf(d, " (was %.*s)", (int)(otl > 9 ? otl - 9 : otl), o.header + (otl > 9 ? 9 : 0));
		first = false;
	}
	/* the upstream's name and shared wildcards, for naming an instance */
	const char *up = from ? from + 6 : "";
	size_t uplen = from ? c.hlen - ctl - 6 : 0;
	for (size_t i = 0; i < c.n; i++) {
		const struct gline *cg = &c.v[i], *og = glist_get(&o, cg);
		if (!og || gline_skipped(cg) || gline_skipped(og) ||
		    (og->rlen == cg->rlen && !memcmp(og->rest, cg->rest, cg->rlen)))
			continue;
		if (changed++ >= GATHER_DIFF_SHOW)
			continue;
		if (!first)
			buf_putc(d, '\n');
		first = false;
		buf_printf(d, "%s: %.*s%s%.*s ", name, (int)uplen, up, uplen ? " " : "", (int)cg->llen, cg->label);
		char *ov = xstrndup(og->rest, og->rlen), *cv = xstrndup(cg->rest, cg->rlen);
		char *ot = strchr(ov, '\t'), *ct = strchr(cv, '\t');
		if (ot)
			*ot = 0;
		if (ct)
			*ct = 0;
		if (strcmp(ov, cv))
			buf_printf(d, "uri %s → %s%s", ov, cv, ot && ct && strcmp(ot + 1, ct + 1) ? ", " : "");
		if (ot && ct && strcmp(ot + 1, ct + 1)) {
			const char *of = ot + 1, *cf = ct + 1;
			if (!strncmp(of, "key=", 4) && !strncmp(cf, "key=", 4)) {
				buf_puts(d, "key ");
				short_fp(d, of, "key=");
				buf_puts(d, " → ");
				short_fp(d, cf, "key=");
			} else {
				buf_printf(d, "%s → %s", of, cf);
			}
		}
		free(ov);
		free(cv);
	}
	if (changed > GATHER_DIFF_SHOW)
		buf_printf(d, "\n%s: and %zu more gathered instances changed", name, changed - GATHER_DIFF_SHOW);
	if (first) /* the same instances, the same keys: only the upstream named differently */
		buf_printf(d, "%s: %.*s (was %.*s)", name, (int)c.hlen, c.header, (int)o.hlen, o.header);
	free(skipped);
	free(added);
	free(gone);
	glist_free(&o);
	glist_free(&c);
}

static bool is_gather_value(const char *v)
{
	return !strncmp(v, "gathered ", 9);
}

static void note_change(struct buf *summary, struct buf *details, const char *name)
{
	if (summary->len)
		buf_puts(summary, ", ");
	buf_printf(summary, "%s changed", name);
	if (details->len)
		buf_putc(details, '\n');
}

void comps_diff(const struct comps *old, const struct comps *cur,
		struct buf *summary, struct buf *details)
{
	for (size_t i = 0; i < cur->n; i++) {
		const char *name = comps_name(cur, i), *v = comps_value(cur, i);
		const char *ov = comps_get(old, name);
		if (ov && !strcmp(ov, v))
			continue;
		note_change(summary, details, name);
		if (!ov)
			buf_printf(details, "%s: (none) → %s", name, v);
		else if (!strcmp(name, "command"))
			diff_command(details, ov, v);
		else if (!strncmp(name, "input ", 6) && is_gather_value(ov) && is_gather_value(v))
			diff_gather(details, name, ov, v);
		else if (!strncmp(name, "input ", 6))
			diff_input(details, name, ov, v);
		else
			buf_printf(details, "%s: %s → %s", name, *ov ? ov : "(none)", *v ? v : "(none)");
	}
	for (size_t i = 0; i < old->n; i++) {
		const char *name = comps_name(old, i);
		if (comps_get(cur, name))
			continue;
		note_change(summary, details, name);
		buf_printf(details, "%s: %s → (none)", name, comps_value(old, i));
	}
	if (!summary->len) {
		/* Same components, different key: the wildcards or the format. */
		buf_puts(summary, "key format changed");
		buf_puts(details, "key format or wildcards changed");
	}
}
