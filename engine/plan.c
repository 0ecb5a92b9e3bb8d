/* plan.c - compute the state of every selected instance and print plans.
 *
 * One pass over the targets in dependency order: an upstream instance's
 * key is known before anything downstream needs it. The cost of a no-op
 * plan is one stat() per input (the fingerprint cache answers the rest),
 * one stat() per instance (its ok sentinel) and one per output file its
 * sentinel records (outstat.c; the record comes from the state). */
#include "engine/plan.h"
#include "engine/submit.h"
#include "engine/cloud.h"
#include "engine/outstat.h"
#include "engine/state.h"
#include "engine/store.h"
#include "lib/util.h"

#include <stdlib.h>
#include <string.h>

void plan_key_hex(const struct instance *i, char out[33])
{
	hex_encode(i->key, 16, out);
}

struct store *plan_store(const struct plan *p, const struct instance *i)
{
	return p->stores[i->group];
}

static void work_reserve(struct inst_work *w, size_t nsym)
{
	if (nsym <= w->cap)
		return;
	w->uri = xreallocarray(w->uri, nsym, sizeof(*w->uri));
	for (size_t k = w->cap; k < nsym; k++)
		memset(&w->uri[k], 0, sizeof(w->uri[k]));
	w->sym = xreallocarray(w->sym, nsym, sizeof(*w->sym));
	w->fp = xreallocarray(w->fp, nsym, sizeof(*w->fp));
	w->present = xreallocarray(w->present, nsym, sizeof(*w->present));
	w->gath = xreallocarray(w->gath, nsym, sizeof(*w->gath));
	for (size_t k = w->cap; k < nsym; k++)
		memset(&w->gath[k], 0, sizeof(w->gath[k]));
	w->cap = nsym;
}

void inst_work_free(struct inst_work *w)
{
	for (size_t k = 0; k < w->cap; k++) {
		buf_free(&w->uri[k]);
		free(w->gath[k].ids);
		free(w->gath[k].off);
		buf_free(&w->gath[k].uris);
		buf_free(&w->gath[k].comp);
	}
	free(w->gath);
	free(w->uri);
	free(w->sym);
	free(w->fp);
	free(w->present);
	comps_free(&w->comps);
	buf_free(&w->tmp);
	memset(w, 0, sizeof(*w));
}

static void skip(struct plan *p, struct instance *i, enum inst_reason r, const char *why)
{
	i->state = INST_SKIPPED;
	i->reason = r;
	i->why = arena_strdup(p->g->arena, why);
}

/* Input k of instance i read from an upstream target's output: its URI,
 * and the upstream key as its fingerprint. 0, or 1 when skipped. */
static int expand_upstream_input(struct plan *p, struct instance *i, struct inst_work *w, size_t k)
{
	struct graph *g = p->g;
	const struct input *in = &g->groups[i->group].t->inputs[k];
	struct buf *u = &w->uri[g->groups[i->group].t->nwildcards + k];
	uint32_t ui = graph_upstream(g, i, k);
	buf_reset(&w->tmp);
	if (ui == NO_INSTANCE) {
		buf_printf(&w->tmp, "input %s: %s has no instance ", in->name, in->up->name);
		graph_describe(g, i, &w->tmp);
		skip(p, i, R_SKIP_UPSTREAM, w->tmp.data);
		return 1;
	}
	struct instance *ups = &g->inst[ui];
	if (ups->state == INST_SKIPPED || ups->state == INST_UNKNOWN) {
		buf_printf(&w->tmp, "input %s: upstream ", in->name);
		graph_name(g, ups, &w->tmp);
		buf_printf(&w->tmp, " is skipped (%s)", ups->why ? ups->why : "not planned");
		skip(p, i, R_SKIP_UPSTREAM, w->tmp.data);
		return 1;
	}
	graph_expand(g, ups, &in->up->outputs[in->up_output].uri, NULL, u);
	char hex[33];
	plan_key_hex(ups, hex);
	memcpy(w->fp[k], "key=", 4);
	memcpy(w->fp[k] + 4, hex, 33);
	return 0;
}

/* ---- gathering (fan-in) ----
 *
 * A gathering input's key component (key.h) is a header line and one
 * line per agreeing upstream instance, in set order, named by the
 * wildcards the gatherer lacks:
 *   gathered 3 of 4 from rapidtide participant=1
 *   run=REST1_LR <TAB> URI <TAB> key=HEX
 *   run=REST2_RL <TAB> skipped
 * so the key holds every gathered instance's key and the count, and an
 * explanation can name the one that changed. */

/* How many skipped instances a message names before it counts the rest. */
#define GATHER_SHOW 3

static bool gather_left_out(const struct instance *u)
{
	return u->state == INST_SKIPPED || u->state == INST_UNKNOWN;
}

/* "gathered N of TOTAL from rapidtide participant=1": the upstream and
 * the values of the wildcards it shares with i. */
static void gather_header(const struct graph *g, const struct instance *i, size_t k, size_t n,
			  size_t total, struct buf *b)
{
	const struct tgroup *tg = &g->groups[i->group];
	const struct target *up = tg->t->inputs[k].up;
	buf_printf(b, "gathered %zu of %zu from %s", n, total, up->name);
	for (size_t uk = 0; uk < up->nwildcards; uk++) {
		int mine = tg->upwc[k][uk];
		if (mine >= 0)
			buf_printf(b, " %s=%s", up->wildcards[uk].name, graph_value(g, i, (size_t)mine));
	}
}

void plan_describe_gather(const struct plan *p, const struct instance *i, size_t k, struct buf *b)
{
	const struct graph *g = p->g;
	size_t total = graph_upstream_count(g, i, k), n = 0, skipped = 0;
	for (size_t j = 0; j < total; j++)
		n += !gather_left_out(&g->inst[graph_upstream_at(g, i, k, j)]);
	gather_header(g, i, k, n, total, b);
	if (n == total)
		return;
	buf_puts(b, ": ");
	for (size_t j = 0; j < total; j++) {
		const struct instance *u = &g->inst[graph_upstream_at(g, i, k, j)];
		if (!gather_left_out(u))
			continue;
		if (skipped++ == GATHER_SHOW)
			break;
		if (skipped > 1)
			buf_puts(b, ", ");
		size_t at = b->len;
		graph_describe_gathered(g, i, k, u, b);
		for (size_t c = at; c < b->len; c++)
			if (b->data[c] == '=')
				b->data[c] = ' ';
	}
	if (total - n > GATHER_SHOW)
		buf_printf(b, " and %zu more", total - n - GATHER_SHOW);
	buf_puts(b, " skipped");
}

/* Gathering input k of instance i: the upstream instances it reads (not
 * the skipped ones), their URIs and its key component. 0, or 1 when
 * skipped (a required input that gathered nothing). */
static int expand_gather_input(struct plan *p, struct instance *i, struct inst_work *w, size_t k)
{
	struct graph *g = p->g;
	const struct target *t = g->groups[i->group].t;
	const struct input *in = &t->inputs[k];
	const struct tmpl *ou = &in->up->outputs[in->up_output].uri;
	struct gathered *ga = &w->gath[k];
	size_t total = graph_upstream_count(g, i, k);
	ga->n = 0;
	ga->total = total;
	buf_reset(&ga->uris);
	buf_reset(&ga->comp);
	for (size_t j = 0; j < total; j++) {
		uint32_t u = graph_upstream_at(g, i, k, j);
		if (gather_left_out(&g->inst[u]))
			continue;
		GROW(ga->ids, ga->cap, ga->n + 1);
		GROW(ga->off, ga->offcap, ga->n + 1);
		ga->ids[ga->n] = u;
		ga->off[ga->n] = ga->uris.len;
		graph_expand(g, &g->inst[u], ou, NULL, &ga->uris);
		buf_putc(&ga->uris, 0);
		ga->n++;
	}
	if (ga->n == 0 && !in->optional) {
		buf_reset(&w->tmp);
		buf_printf(&w->tmp, "input %s: ", in->name);
		if (total == 0) {
			buf_printf(&w->tmp, "%s has no instance ", in->up->name);
			graph_describe(g, i, &w->tmp);
		} else {
			plan_describe_gather(p, i, k, &w->tmp);
		}
		skip(p, i, R_SKIP_UPSTREAM, w->tmp.data);
		return 1;
	}
	w->present[k] = ga->n > 0;
	gather_header(g, i, k, ga->n, total, &ga->comp);
	for (size_t j = 0, m = 0; j < total; j++) {
		const struct instance *u = &g->inst[graph_upstream_at(g, i, k, j)];
		buf_putc(&ga->comp, '\n');
		graph_describe_gathered(g, i, k, u, &ga->comp);
		if (gather_left_out(u)) {
			buf_puts(&ga->comp, "\tskipped");
			continue;
		}
		char hex[33];
		plan_key_hex(u, hex);
		buf_printf(&ga->comp, "\t%s\tkey=%s", ga->uris.data + ga->off[m++], hex);
	}
	snprintf(w->fp[k], FP_MAX, "gathered %zu of %zu", ga->n, total);
	buf_reset(&w->uri[t->nwildcards + k]);
	buf_puts(&w->uri[t->nwildcards + k], "");
	return 0;
}

int plan_word_gather(const struct target *t, size_t a)
{
	const struct tmpl *tp = &t->argv[a];
	size_t nw = t->nwildcards;
	for (size_t s = 0; s < tp->nsegs; s++) {
		const struct seg *sg = &tp->segs[s];
		if (sg->kind == SEG_REF && (size_t)sg->ref >= nw && (size_t)sg->ref < nw + t->ninputs &&
		    t->inputs[(size_t)sg->ref - nw].gather)
			return sg->ref - (int)nw;
	}
	return -1;
}

size_t plan_expand_word(const struct plan *p, const struct instance *i, const struct inst_work *w,
			size_t a, struct buf *out)
{
	const struct graph *g = p->g;
	const struct target *t = g->groups[i->group].t;
	int k = plan_word_gather(t, a);
	if (k < 0) {
		graph_expand(g, i, &t->argv[a], w->sym, out);
		buf_putc(out, 0);
		return 1;
	}
	size_t nsym = t->nwildcards + t->ninputs + t->noutputs;
	const char **sym = xcalloc(nsym + 1, sizeof(*sym));
	memcpy(sym, w->sym, nsym * sizeof(*sym));
	const struct gathered *ga = &w->gath[k];
	for (size_t j = 0; j < ga->n; j++) {
		sym[t->nwildcards + (size_t)k] = ga->uris.data + ga->off[j];
		graph_expand(g, i, &t->argv[a], sym, out);
		buf_putc(out, 0);
	}
	free(sym);
	return ga->n;
}

/* Input k of instance i read from a file or an S3 object: its URI and
 * fingerprint. 0, 1 when skipped (a required input missing), -1. */
static int expand_file_input(struct plan *p, struct instance *i, struct inst_work *w, size_t k)
{
	struct graph *g = p->g;
	const struct input *in = &g->groups[i->group].t->inputs[k];
	struct buf *u = &w->uri[g->groups[i->group].t->nwildcards + k];
	graph_expand(g, i, &in->uri, NULL, u);
	int r;
	if (uri_is_s3(u->data)) {
		r = fp_s3(p->fp, u->data, w->fp[k]);
	} else {
		char *path = graph_local_path(g, u->data);
		r = fp_local(p->fp, path, w->fp[k]);
		free(path);
		if (r < 0) {
			/* this instance cannot be planned; the others can */
			buf_reset(&w->tmp);
			buf_printf(&w->tmp, "input %s: %s", in->name, fp_error(p->fp));
			skip(p, i, R_INPUT_UNREADABLE, w->tmp.data);
			return 1;
		}
	}
	if (r < 0)
		return -1;
	if (r == 0) {
		if (!in->optional) {
			buf_reset(&w->tmp);
			buf_printf(&w->tmp, "input %s: '%s' not found", in->name, u->data);
			skip(p, i, R_SKIP_INPUT, w->tmp.data);
			return 1;
		}
		w->present[k] = false;
		snprintf(w->fp[k], FP_MAX, "missing");
	}
	return 0;
}

/* The key's components of an expanded instance, in the order key.h
 * documents. */
static void add_components(const struct plan *p, const struct instance *i, struct inst_work *w)
{
	const struct graph *g = p->g;
	const struct target *t = g->groups[i->group].t;
	size_t nw = t->nwildcards;
	buf_reset(&w->tmp);
	struct buf word = {0};
	bool first = true;
	for (size_t a = 0; a < t->nargv; a++) {
		if (!rules_word_kept(t, a, w->present)) /* an absent [[ ... ]] group */
			continue;
		buf_reset(&word);
		size_t n = plan_expand_word(p, i, w, a, &word);
		for (size_t j = 0, at = 0; j < n; j++) {
			if (!first)
				buf_putc(&w->tmp, ' ');
			first = false;
			key_quote_word(&w->tmp, word.data + at);
			at += strlen(word.data + at) + 1;
		}
	}
	buf_free(&word);
	comps_addn(&w->comps, "command", w->tmp.data ? w->tmp.data : "", w->tmp.len);
	comps_add(&w->comps, "image", t->image ? t->image : "");
	for (size_t k = 0; k < t->nenv; k++)
		comps_add_named(&w->comps, "env ", t->env[k].name, t->env[k].value,
				strlen(t->env[k].value));
	for (size_t k = 0; k < t->ninputs; k++) {
		if (t->inputs[k].gather) {
			comps_add_named(&w->comps, "input ", t->inputs[k].name, w->gath[k].comp.data,
					w->gath[k].comp.len);
			continue;
		}
		buf_reset(&w->tmp);
		buf_puts(&w->tmp, w->sym[nw + k]);
		buf_putc(&w->tmp, '\n');
		buf_puts(&w->tmp, w->fp[k]);
		comps_add_named(&w->comps, "input ", t->inputs[k].name, w->tmp.data, w->tmp.len);
	}
	for (size_t k = 0; k < t->noutputs; k++) {
		const char *u = w->sym[nw + t->ninputs + k];
		comps_add_named(&w->comps, "output ", t->outputs[k].name, u, strlen(u));
	}
}

int plan_expand(struct plan *p, struct instance *i, struct inst_work *w)
{
	struct graph *g = p->g;
	const struct target *t = g->groups[i->group].t;
	size_t nw = t->nwildcards, nsym = nw + t->ninputs + t->noutputs;
	work_reserve(w, nsym + 1);
	for (size_t k = 0; k < nsym; k++)
		w->sym[k] = NULL;
	comps_reset(&w->comps);
	/* Inputs: a URI and a fingerprint each. */
	for (size_t k = 0; k < t->ninputs; k++) {
		buf_reset(&w->uri[nw + k]);
		w->present[k] = true;
		int r = t->inputs[k].gather ? expand_gather_input(p, i, w, k)
			: t->inputs[k].up    ? expand_upstream_input(p, i, w, k)
					     : expand_file_input(p, i, w, k);
		if (r != 0)
			return r;
		w->sym[nw + k] = w->uri[nw + k].data;
	}
	for (size_t k = 0; k < t->noutputs; k++) {
		struct buf *u = &w->uri[nw + t->ninputs + k];
		buf_reset(u);
		graph_expand(g, i, &t->outputs[k].uri, NULL, u);
		w->sym[nw + t->ninputs + k] = u->data;
	}
	add_components(p, i, w);
	const char *wnames[RULES_MAX_WILDCARDS], *wvalues[RULES_MAX_WILDCARDS];
	for (size_t k = 0; k < nw; k++) {
		wnames[k] = t->wildcards[k].name;
		wvalues[k] = graph_value(g, i, k);
	}
	key_compute(t->name, wnames, wvalues, nw, &w->comps, i->key);
	return 0;
}

/* The body of one of instance i's sentinels. NULL after printing why. */
static struct sentinel_body *read_sentinel(struct plan *p, const struct instance *i, const char *key,
					   enum sentinel_state state)
{
	const struct target *t = p->g->groups[i->group].t;
	const char *vals[RULES_MAX_WILDCARDS];
	size_t nw = t->nwildcards;
	for (size_t k = 0; k < nw; k++)
		vals[k] = graph_value(p->g, i, k);
	return store_body(plan_store(p, i), t->name, vals, nw, key, state);
}

/* Components of an older key: the state cache, else the sentinel body
 * (which is then cached). 0, or -1 when neither has them. */
static int old_comps(struct plan *p, struct instance *i, const char *key, bool ok,
		     struct comps *out)
{
	void *v = NULL;
	size_t vlen = 0;
	if (p->st && state_get(p->st, STATE_COMP, key, 32, &v, &vlen) == 1) {
		int r = comps_decode(out, v, vlen);
		free(v);
		if (r == 0)
			return 0;
	}
	struct sentinel_body *b = read_sentinel(p, i, key, ok ? SENT_OK : SENT_FAILED);
	if (!b || !b->has_components) {
		sentinel_body_free(b);
		return -1;
	}
	comps_reset(out);
	for (size_t k = 0; k < b->ncomponents; k++)
		comps_add(out, b->components[k].name, b->components[k].value);
	if (p->st)
		state_put(p->st, STATE_COMP, key, 32, out->data.data, out->data.len);
	sentinel_body_free(b);
	return 0;
}

/* exit code and reason of a failed sentinel. */
static void failed_detail(struct plan *p, struct instance *i, const char *key)
{
	struct sentinel_body *sb = read_sentinel(p, i, key, SENT_FAILED);
	i->exit_code = 0;
	if (!sb)
		return;
	struct buf b = {0};
	if (sb->has_exit_code) {
		i->exit_code = sb->exit_code;
		buf_printf(&b, "exit status %d", sb->exit_code);
	} else if (sb->signal) {
		i->exit_code = -sb->signal;
		buf_printf(&b, "killed by signal %d", sb->signal);
	}
	if (sb->reason && sb->reason[0]) {
		/* the runner's reason may already say how the recipe ended */
		if (strstr(sb->reason, "exit status") || strstr(sb->reason, "signal"))
			buf_reset(&b);
		buf_printf(&b, "%s%s", b.len ? ": " : "", sb->reason);
	}
	if (b.len)
		i->why = arena_strdup(p->g->arena, b.data);
	buf_free(&b);
	sentinel_body_free(sb);
}

/* Whether the cache holds exactly these components for key: then a plan
 * that changes nothing writes nothing, and the state is not walked again
 * at the next open (engine/state.c). */
static bool comps_cached(struct state *st, const char *key, const struct comps *c)
{
	void *v = NULL;
	size_t vlen = 0;
	bool same = state_get(st, STATE_COMP, key, 32, &v, &vlen) == 1 && vlen == c->data.len &&
		    (vlen == 0 || !memcmp(v, c->data.data, vlen));
	free(v);
	return same;
}

/* For each folder input whose fingerprint changed, a line saying which
 * files did ("input atlas: sub/y.nii changed"), when both listings are
 * known. */
static void explain_trees(struct plan *p, const struct target *t, const struct inst_work *w,
			  const struct comps *oc, struct buf *details)
{
	struct buf name = {0}, line = {0};
	for (size_t k = 0; k < t->ninputs; k++) {
		if (t->inputs[k].up || strncmp(w->fp[k], "files=", 6))
			continue;
		buf_reset(&name);
		buf_printf(&name, "input %s", t->inputs[k].name);
		const char *ov = comps_get(oc, name.data);
		const char *nl = ov ? strchr(ov, '\n') : NULL;
		if (!nl || !strcmp(nl + 1, w->fp[k]))
			continue;
		buf_reset(&line);
		if (fp_tree_explain(p->fp, nl + 1, w->fp[k], &line) == 1)
			buf_printf(details, "%s%s: %s", details->len ? "\n" : "", name.data, line.data);
	}
	buf_free(&name);
	buf_free(&line);
}

/* An instance whose key has an ok sentinel: stale when an output that
 * sentinel records is missing or changed. 0, or -1 after printing why. */
static int check_outputs(struct plan *p, struct instance *i, struct inst_work *w, const char *key,
			 const struct lookup *lk)
{
	const struct target *t = p->g->groups[i->group].t;
	struct buf summary = {0}, why = {0}, details = {0};
	int r = outstat_check(p->os, plan_store(p, i), p->g, i, w->sym + t->nwildcards + t->ninputs, key,
			      lk, &summary, &why, &details);
	if (r == 1) {
		i->state = INST_STALE;
		i->reason = R_OUTPUT_CHANGED;
		i->summary = arena_strdup(p->g->arena, summary.data);
		i->why = arena_strdup(p->g->arena, why.data);
		i->details = arena_strdup(p->g->arena, details.data);
	}
	buf_free(&summary);
	buf_free(&why);
	buf_free(&details);
	return r < 0 ? -1 : 0;
}

static int decide(struct plan *p, struct instance *i, struct inst_work *w)
{
	const struct target *t = p->g->groups[i->group].t;
	char key[33];
	plan_key_hex(i, key);
	const char *vals[RULES_MAX_WILDCARDS];
	size_t nw = t->nwildcards;
	for (size_t k = 0; k < nw; k++)
		vals[k] = graph_value(p->g, i, k);
	struct lookup lk;
	if (store_lookup(plan_store(p, i), t->name, vals, nw, key, &lk) < 0)
		return -1;
	switch (lk.state) {
	case LK_OK:
		i->state = INST_OK;
		i->reason = R_NONE;
		if (check_outputs(p, i, w, key, &lk) < 0)
			return -1;
		break;
	case LK_RUNNING:
		i->state = INST_RUNNING;
		i->reason = R_RUNNING;
		return 0;
	case LK_FAILED:
		i->state = INST_STALE;
		i->reason = R_FAILED;
		if (!p->opts.no_failed_bodies)
			failed_detail(p, i, key);
		break;
	case LK_INTERRUPTED:
		i->state = INST_STALE;
		i->reason = R_INTERRUPTED;
		break;
	case LK_NONE:
		i->state = INST_STALE;
		i->reason = lk.old_key[0] && lk.old_ok ? R_KEY_CHANGED : R_NEVER_BUILT;
		break;
	}
	if (lk.old_key[0] && i->state == INST_STALE) {
		i->old_key = arena_strdup(p->g->arena, lk.old_key);
		struct comps oc = {0};
		if (old_comps(p, i, lk.old_key, lk.old_ok, &oc) == 0) {
			struct buf s = {0}, d = {0};
			comps_diff(&oc, &w->comps, &s, &d);
			explain_trees(p, t, w, &oc, &d);
			i->summary = arena_strdup(p->g->arena, s.data);
			i->details = arena_strdup(p->g->arena, d.data);
			buf_free(&s);
			buf_free(&d);
		} else if (i->reason == R_KEY_CHANGED) {
			i->summary = arena_strdup(p->g->arena, "key changed");
			i->details = arena_strdup(p->g->arena, "the previous key's components are unknown");
		}
		comps_free(&oc);
	}
	/* Remember what a key to be built is made of: when it is built and
	 * later goes stale, the plan explains the change without reading its
	 * sentinel. */
	if (i->state == INST_STALE && p->st && !comps_cached(p->st, key, &w->comps))
		state_put(p->st, STATE_COMP, key, 32, w->comps.data.data, w->comps.data.len);
	if (p->opts.forced && p->opts.forced[i->group] && i->state == INST_OK) {
		i->state = INST_STALE;
		i->reason = R_FORCED;
	}
	return 0;
}

/* Fingerprint a target's S3 inputs all at once (concurrent HeadObject
 * requests for those not cached) before its instances are planned one by
 * one. Targets whose inputs are local are not looked at twice. */
static int prefetch_s3(struct plan *p, const struct tgroup *tg, struct inst_work *w)
{
	const struct target *t = tg->t;
	struct graph *g = p->g;
	if (!tg->n)
		return 0;
	bool any = false;
	buf_reset(&w->tmp);
	for (size_t k = 0; k < t->ninputs && !any; k++) {
		if (t->inputs[k].up)
			continue;
		buf_reset(&w->tmp);
		graph_expand(g, &g->inst[tg->first], &t->inputs[k].uri, NULL, &w->tmp);
		any = uri_is_s3(w->tmp.data);
	}
	if (!any)
		return 0;
	for (uint32_t n = 0; n < tg->n; n++) {
		for (size_t k = 0; k < t->ninputs; k++) {
			if (t->inputs[k].up)
				continue;
			buf_reset(&w->tmp);
			graph_expand(g, &g->inst[tg->first + n], &t->inputs[k].uri, NULL, &w->tmp);
			if (uri_is_s3(w->tmp.data))
				fp_s3_want(p->fp, w->tmp.data);
		}
	}
	return fp_s3_fetch(p->fp);
}

/* Instances that cannot be planned, said on stderr; the rest counted. */
#define SHOW_UNPLANNABLE 5

static void say_unplannable(struct plan *p, struct instance *i)
{
	if (p->unplannable++ >= SHOW_UNPLANNABLE)
		return;
	struct buf n = {0};
	graph_name(p->g, i, &n);
	warn("cannot plan %s: %s", n.data, i->why);
	buf_free(&n);
}

struct plan *plan_new(struct graph *g, struct state *st, const struct plan_opts *opts)
{
	struct plan *p = xcalloc(1, sizeof(*p));
	p->g = g;
	p->st = st;
	p->opts = *opts;
	p->fp = fp_new(st, opts->refresh);
	fp_set_base(p->fp, g->base);
	p->os = outstat_new(st, opts->verify);
	p->stores = xcalloc(g->ngroups + 1, sizeof(*p->stores));
	p->count = xcalloc(g->ngroups + 1, sizeof(*p->count));
	struct inst_work w = {0};
	int ok = 1;
	/* A bucket an output root is in is never an input bucket
	 * (--input-profile), whichever targets are selected. */
	for (size_t gi = 0; gi < g->ngroups; gi++)
		if (uri_is_s3(g->groups[gi].t->root))
			cloud_add_written(g->groups[gi].t->root);
	for (size_t gi = 0; gi < g->ngroups && ok; gi++) {
		struct tgroup *tg = &g->groups[gi];
		if (!tg->selected)
			continue;
		const char *root = tg->t->root;
		char *abs = uri_is_s3(root) ? xstrdup(root) : graph_local_path(g, root);
		p->stores[gi] = store_open(abs);
		free(abs);
		if (!p->stores[gi] || store_prepare(p->stores[gi], tg->t->name) < 0) {
			ok = 0;
			break;
		}
		if (prefetch_s3(p, tg, &w) < 0) {
			ok = 0;
			break;
		}
		for (uint32_t k = 0; k < tg->n; k++) {
			struct instance *i = &g->inst[tg->first + k];
			int r = plan_expand(p, i, &w);
			if (r < 0 || (r == 0 && decide(p, i, &w) < 0)) {
				ok = 0;
				break;
			}
			p->count[gi][i->state]++;
			if (i->state == INST_STALE || i->state == INST_RUNNING)
				p->pending++;
			else if (i->state == INST_SKIPPED)
				p->skipped++;
			if (i->reason == R_INPUT_UNREADABLE)
				say_unplannable(p, i);
		}
	}
	if (p->unplannable > SHOW_UNPLANNABLE)
		warn("... and %zu more instances cannot be planned", p->unplannable - SHOW_UNPLANNABLE);
	inst_work_free(&w);
	/* work an open Batch submission will do is queued, not stale */
	if (ok && submit_mark_queued(p) < 0)
		ok = 0;
	p->fpstats = *fp_get_stats(p->fp);
	outstat_counts(p->os, &p->outputs_stated, &p->outputs_hashed);
	if (st && state_commit(st) < 0)
		ok = 0;
	if (!ok) {
		plan_free(p);
		return NULL;
	}
	return p;
}

void plan_jobs_clear(struct plan *p)
{
	for (size_t k = 0; k < p->njobs; k++) {
		struct plan_job *j = &p->jobs[k];
		free(j->submission);
		free(j->target);
		free(j->chunk);
		free(j->job_id);
		free(j->job_name);
		free(j->dir);
		free(j->reason);
	}
	p->njobs = 0;
}

int plan_sweep(struct plan *p)
{
	int ret = 0;
	for (size_t gi = 0; gi < p->g->ngroups; gi++) {
		if (!p->stores[gi])
			continue;
		bool seen = false;
		for (size_t k = 0; k < gi && !seen; k++)
			seen = p->stores[k] && !strcmp(store_root(p->stores[k]), store_root(p->stores[gi]));
		if (!seen && store_sweep(p->stores[gi]) < 0)
			ret = -1;
	}
	return ret;
}

void plan_free(struct plan *p)
{
	if (!p)
		return;
	for (size_t gi = 0; gi < p->g->ngroups; gi++)
		store_close(p->stores[gi]);
	free(p->stores);
	free(p->count);
	free(p->queued_job);
	plan_jobs_clear(p);
	free(p->jobs);
	if (p->fp)
		fp_free(p->fp);
	outstat_free(p->os);
	free(p);
}

/* ---- printing ---- */

static const char *reason_text(const struct instance *i, struct buf *tmp)
{
	buf_reset(tmp);
	switch ((enum inst_reason)i->reason) {
	case R_NEVER_BUILT: return "never built";
	case R_FAILED:
		buf_printf(tmp, "failed (%s)", i->why ? i->why : "no details");
		return tmp->data;
	case R_KEY_CHANGED: return i->summary ? i->summary : "key changed";
	case R_INTERRUPTED: return "interrupted (no live runner)";
	case R_FORCED: return "forced";
	case R_RUNNING: return "running";
	case R_QUEUED: return i->why ? i->why : "queued in an open submission";
	case R_SKIP_INPUT: return "skipped: required input missing";
	case R_SKIP_UPSTREAM: return "skipped: upstream missing or skipped";
	case R_INPUT_UNREADABLE: return "cannot be planned: an input cannot be read";
	case R_OUTPUT_CHANGED:
		buf_printf(tmp, "%s: %s", i->summary ? i->summary : "output changed", i->why ? i->why : "");
		return tmp->data;
	case R_NONE: break;
	}
	return "up to date";
}

/* The group key of a stale instance: its reason, plus its details when
 * those say the same for every instance (an image or command change). */
static void group_key(const struct instance *i, struct buf *out, struct buf *tmp)
{
	buf_reset(out);
	buf_puts(out, reason_text(i, tmp));
	if (i->reason == R_FAILED) {
		buf_reset(out);
		buf_puts(out, "failed");
	} else if (i->reason == R_OUTPUT_CHANGED) {
		/* which file differs is said per instance */
		buf_reset(out);
		buf_puts(out, i->summary ? i->summary : "output changed");
	}
}

static size_t count_distinct_first(const struct graph *g, const uint32_t *ids, size_t n)
{
	/* instances of one target, in index order: count distinct values of
	 * the first wildcard (the participant axis by convention) */
	size_t c = 0;
	uint32_t last = NO_INSTANCE;
	const struct tgroup *tg = NULL;
	for (size_t k = 0; k < n; k++) {
		const struct instance *i = &g->inst[ids[k]];
		tg = &g->groups[i->group];
		if (!tg->t->nwildcards)
			return 0;
		uint32_t v = graph_value_index(tg, i->idx, 0);
		if (v != last)
			c++;
		last = v;
	}
	return c;
}

static void print_count(FILE *f, size_t n, const char *what)
{
	fprintf(f, "%zu %s%s", n, what, n == 1 ? "" : "s");
}

/* Text from a sentinel (a reason, a component) for a terminal: its
 * control characters escaped (buf_put_printable). */
static void put_printable(FILE *f, const char *s)
{
	struct buf b = {0};
	buf_put_printable(&b, s);
	if (b.len)
		fwrite(b.data, 1, b.len, f);
	buf_free(&b);
}

/* Each line of text, indented. */
static void print_lines(FILE *f, const char *indent, const char *text)
{
	for (const char *s = text; *s;) {
		const char *e = strchr(s, '\n');
		size_t len = e ? (size_t)(e - s) : strlen(s);
		char *ln = xstrndup(s, len);
		fputs(indent, f);
		put_printable(f, ln);
		fputc('\n', f);
		free(ln);
		s += len + (e ? 1 : 0);
	}
}

/* "rapidtide: 4 instances: 1 up to date, 2 to build, 1 skipped" */
static void print_counts(FILE *f, const struct tgroup *tg, const size_t *c)
{
	fprintf(f, "%s: ", tg->t->name);
	print_count(f, tg->n, "instance");
	fprintf(f, ": %zu up to date", c[INST_OK]);
	if (c[INST_STALE])
		fprintf(f, ", %zu to build", c[INST_STALE]);
	if (c[INST_RUNNING])
		fprintf(f, ", %zu running", c[INST_RUNNING]);
	if (c[INST_SKIPPED])
		fprintf(f, ", %zu skipped", c[INST_SKIPPED]);
	fputc('\n', f);
}

/* One instance of a group: its name, why (skipped, failed), and with
 * explain its key and what changed. */
static void print_instance(FILE *f, const struct plan *p, const struct tgroup *tg,
			   const struct instance *ii, bool explain, struct buf *line)
{
	const struct graph *g = p->g;
	buf_reset(line);
	graph_describe(g, ii, line);
	fprintf(f, "    %s", line->len ? line->data : tg->t->name);
	if (ii->state == INST_SKIPPED || ii->reason == R_FAILED || ii->reason == R_OUTPUT_CHANGED) {
		fputs("  (", f);
		put_printable(f, ii->why ? ii->why : "no details");
		fputc(')', f);
	}
	fputc('\n', f);
	if (!explain || ii->state == INST_SKIPPED)
		return;
	char hex[33];
	plan_key_hex(ii, hex);
	fprintf(f, "      key %s", hex);
	if (ii->old_key)
		fprintf(f, " (was %s)", ii->old_key);
	fputc('\n', f);
	if (ii->details)
		print_lines(f, "      ", ii->details);
	/* what each gathering input reads, unless the change said it */
	for (size_t k = 0; k < tg->t->ninputs && ii->reason != R_KEY_CHANGED; k++) {
		if (!tg->t->inputs[k].gather)
			continue;
		buf_reset(line);
		buf_printf(line, "input %s: ", tg->t->inputs[k].name);
		plan_describe_gather(p, ii, k, line);
		print_lines(f, "      ", line->data);
	}
}

/* The instances of a group (ids, n of them, all with the same reason):
 * its heading, the details they share, the first few (all with explain). */
static void print_group(FILE *f, const struct plan *p, const struct tgroup *tg, const char *key,
			const uint32_t *ids, size_t n, bool same_details, bool explain, struct buf *line)
{
	const struct graph *g = p->g;
	const struct instance *first = &g->inst[ids[0]];
	size_t parts = count_distinct_first(g, ids, n);
	fputs("  ", f);
	put_printable(f, key);
	fputs(": ", f);
	print_count(f, n, "instance");
	if (parts && tg->t->nwildcards > 1)
		fprintf(f, " (%zu %s%s)", parts, tg->t->wildcards[0].name, parts == 1 ? "" : "s");
	fputc('\n', f);
	if (first->details && same_details && !explain)
		print_lines(f, "      ", first->details);
	size_t show = explain ? n : (n > 5 ? 5 : n);
	for (size_t k = 0; k < show; k++)
		print_instance(f, p, tg, &g->inst[ids[k]], explain, line);
	if (show < n)
		fprintf(f, "    ... and %zu more\n", n - show);
}

/* Print the instances of a target that are not up to date, grouped by
 * reason, groups in order of first appearance. */
static void print_target(FILE *f, const struct plan *p, const struct tgroup *tg, bool explain,
			 struct buf *tmp, struct buf *line)
{
	const struct graph *g = p->g;
	struct buf gk = {0}, other = {0};
	uint32_t *ids = xcalloc(tg->n + 1, sizeof(uint32_t));
	bool *done = xcalloc(tg->n + 1, sizeof(bool));
	for (uint32_t a = 0; a < tg->n; a++) {
		const struct instance *ia = &g->inst[tg->first + a];
		if (done[a] || ia->state == INST_OK || ia->state == INST_UNKNOWN)
			continue;
		group_key(ia, &gk, tmp);
		size_t n = 0;
		bool same_details = true;
		for (uint32_t b = a; b < tg->n; b++) {
			const struct instance *ib = &g->inst[tg->first + b];
			if (done[b] || ib->state == INST_OK || ib->state == INST_UNKNOWN)
				continue;
			group_key(ib, &other, tmp);
			if (strcmp(other.data, gk.data))
				continue;
			done[b] = true;
			ids[n++] = tg->first + b;
			if (ia->details && (!ib->details || strcmp(ia->details, ib->details)))
				same_details = false;
		}
		print_group(f, p, tg, gk.data, ids, n, same_details, explain, line);
	}
	free(ids);
	free(done);
	buf_free(&gk);
	buf_free(&other);
}

void plan_print(const struct plan *p, FILE *f, bool explain)
{
	const struct graph *g = p->g;
	struct buf tmp = {0}, line = {0};
	size_t targets_pending = 0;
	for (size_t gi = 0; gi < g->ngroups; gi++) {
		const struct tgroup *tg = &g->groups[gi];
		if (!tg->selected)
			continue;
		const size_t *c = p->count[gi];
		print_counts(f, tg, c);
		if (c[INST_STALE] || c[INST_RUNNING])
			targets_pending++;
		print_target(f, p, tg, explain, &tmp, &line);
	}
	if (p->pending)
		fprintf(f, "pending: %zu instance%s in %zu target%s\n", p->pending,
			p->pending == 1 ? "" : "s", targets_pending, targets_pending == 1 ? "" : "s");
	else
		fprintf(f, "nothing to build\n");
	buf_free(&tmp);
	buf_free(&line);
}

static const char *state_json(enum inst_state s)
{
	switch (s) {
	case INST_OK: return "up_to_date";
	case INST_STALE: return "stale";
	case INST_RUNNING: return "running";
	case INST_SKIPPED: return "skipped";
	case INST_UNKNOWN: break;
	}
	return "unknown";
}

static const char *reason_json(enum inst_reason r)
{
	switch (r) {
	case R_NEVER_BUILT: return "never_built";
	case R_FAILED: return "failed";
	case R_KEY_CHANGED: return "key_changed";
	case R_INTERRUPTED: return "interrupted";
	case R_FORCED: return "forced";
	case R_RUNNING: return "running";
	case R_QUEUED: return "queued";
	case R_SKIP_INPUT: return "input_missing";
	case R_SKIP_UPSTREAM: return "upstream_missing";
	case R_OUTPUT_CHANGED: return "output_changed";
	case R_INPUT_UNREADABLE: return "input_unreadable";
	case R_NONE: break;
	}
	return "none";
}

/* "component: old → new" lines back into objects. */
static void json_changes(struct buf *b, const char *details)
{
	buf_puts(b, "[");
	bool first = true;
	for (const char *s = details; s && *s;) {
		const char *e = strchr(s, '\n');
		size_t len = e ? (size_t)(e - s) : strlen(s);
		char *ln = xstrndup(s, len);
		char *colon = strstr(ln, ": ");
		buf_puts(b, first ? "{" : ",{");
		first = false;
		if (colon) {
			*colon = 0;
			buf_puts(b, "\"component\":");
			buf_put_json_str(b, ln);
			char *text = colon + 2;
			char *arrow = strstr(text, " → ");
			if (arrow && !strstr(arrow + 1, " → ")) {
				*arrow = 0;
				buf_puts(b, ",\"old\":");
				buf_put_json_str(b, text);
				buf_puts(b, ",\"new\":");
				buf_put_json_str(b, arrow + strlen(" → "));
				*arrow = ' ';
			}
			*colon = ':';
		}
		buf_puts(b, colon ? ",\"text\":" : "\"text\":");
		buf_put_json_str(b, ln);
		buf_puts(b, "}");
		free(ln);
		s += len + (e ? 1 : 0);
	}
	buf_puts(b, "]");
}

/* {"run":"REST1_LR"}: the wildcards of upstream instance u that the
 * target of i lacks (gathering input k). */
static void json_free_wildcards(struct buf *b, const struct graph *g, const struct instance *i, size_t k,
				const struct instance *u)
{
	const struct tgroup *tg = &g->groups[i->group];
	const struct target *up = tg->t->inputs[k].up;
	bool first = true;
	buf_putc(b, '{');
	for (size_t uk = 0; uk < up->nwildcards; uk++) {
		if (tg->upwc[k][uk] >= 0)
			continue;
		if (!first)
			buf_putc(b, ',');
		first = false;
		buf_put_json_str(b, up->wildcards[uk].name);
		buf_putc(b, ':');
		buf_put_json_str(b, graph_value(g, u, uk));
	}
	buf_putc(b, '}');
}

/* The target's gathering inputs: "gathers":[{"input":"maps",
 * "target":"rapidtide","output":"dir","over":["run"]}]. */
static void json_target_gathers(struct buf *b, const struct tgroup *tg)
{
	const struct target *t = tg->t;
	bool first = true;
	for (size_t k = 0; k < t->ninputs; k++) {
		const struct input *in = &t->inputs[k];
		if (!in->gather)
			continue;
		buf_puts(b, first ? ",\"gathers\":[{\"input\":" : ",{\"input\":");
		first = false;
		buf_put_json_str(b, in->name);
		buf_puts(b, ",\"target\":");
		buf_put_json_str(b, in->up->name);
		buf_puts(b, ",\"output\":");
		buf_put_json_str(b, in->up->outputs[in->up_output].name);
		buf_puts(b, ",\"over\":[");
		bool fw = true;
		for (size_t uk = 0; uk < in->up->nwildcards; uk++) {
			if (tg->upwc[k][uk] >= 0)
				continue;
			if (!fw)
				buf_putc(b, ',');
			fw = false;
			buf_put_json_str(b, in->up->wildcards[uk].name);
		}
		buf_puts(b, "]}");
	}
	if (!first)
		buf_putc(b, ']');
}

/* An instance's gathered edges: "gathered":[{"input":"maps","count":3,
 * "of":4,"instances":[{"run":"REST1_LR"},…],"skipped":[{"run":"REST2_RL"}]}]. */
static void json_instance_gathers(struct buf *b, const struct graph *g, const struct instance *i)
{
	const struct target *t = g->groups[i->group].t;
	bool first = true;
	for (size_t k = 0; k < t->ninputs; k++) {
		if (!t->inputs[k].gather)
			continue;
		size_t total = graph_upstream_count(g, i, k), n = 0;
		for (size_t j = 0; j < total; j++)
			n += !gather_left_out(&g->inst[graph_upstream_at(g, i, k, j)]);
		buf_puts(b, first ? ",\"gathered\":[{\"input\":" : ",{\"input\":");
		first = false;
		buf_put_json_str(b, t->inputs[k].name);
		buf_printf(b, ",\"count\":%zu,\"of\":%zu", n, total);
		for (int skipped = 0; skipped < 2; skipped++) {
			buf_puts(b, skipped ? ",\"skipped\":[" : ",\"instances\":[");
			bool fi = true;
			for (size_t j = 0; j < total; j++) {
				const struct instance *u = &g->inst[graph_upstream_at(g, i, k, j)];
				if (gather_left_out(u) != (bool)skipped)
					continue;
				if (!fi)
					buf_putc(b, ',');
				fi = false;
				json_free_wildcards(b, g, i, k, u);
			}
			buf_putc(b, ']');
		}
		buf_putc(b, '}');
	}
	if (!first)
		buf_putc(b, ']');
}

void plan_print_json(const struct plan *p, FILE *f)
{
	const struct graph *g = p->g;
	struct buf b = {0}, tmp = {0};
	buf_printf(&b, "{\"schema\":1,\"pending\":%zu,\"skipped\":%zu,\"targets\":[", p->pending, p->skipped);
	bool firstt = true;
	for (size_t gi = 0; gi < g->ngroups; gi++) {
		const struct tgroup *tg = &g->groups[gi];
		if (!tg->selected)
			continue;
		const size_t *c = p->count[gi];
		buf_puts(&b, firstt ? "{" : ",{");
		firstt = false;
		buf_puts(&b, "\"name\":");
		buf_put_json_str(&b, tg->t->name);
		buf_printf(&b, ",\"instances\":%u,\"counts\":{\"up_to_date\":%zu,\"stale\":%zu,\"running\":%zu,\"skipped\":%zu}",
			   tg->n, c[INST_OK], c[INST_STALE], c[INST_RUNNING], c[INST_SKIPPED]);
		json_target_gathers(&b, tg);
		buf_puts(&b, ",\"not_up_to_date\":[");
		bool first = true;
		for (uint32_t k = 0; k < tg->n; k++) {
			const struct instance *i = &g->inst[tg->first + k];
			if (i->state == INST_OK || i->state == INST_UNKNOWN)
				continue;
			buf_puts(&b, first ? "{" : ",{");
			first = false;
			buf_puts(&b, "\"wildcards\":{");
			for (size_t w = 0; w < tg->t->nwildcards; w++) {
				if (w)
					buf_putc(&b, ',');
				buf_put_json_str(&b, tg->t->wildcards[w].name);
				buf_putc(&b, ':');
				buf_put_json_str(&b, graph_value(g, i, w));
			}
			buf_printf(&b, "},\"state\":\"%s\",\"reason\":\"%s\"", state_json(i->state),
				   reason_json(i->reason));
			if (i->state != INST_SKIPPED) {
				char hex[33];
				plan_key_hex(i, hex);
				buf_printf(&b, ",\"key\":\"%s\"", hex);
			}
			buf_puts(&b, ",\"summary\":");
			buf_put_json_str(&b, i->state == INST_SKIPPED ? i->why : reason_text(i, &tmp));
			if (i->reason == R_FAILED)
				buf_printf(&b, ",\"exit_code\":%d", i->exit_code);
			if (i->old_key)
				buf_printf(&b, ",\"old_key\":\"%s\"", i->old_key);
			if (i->details) {
				buf_puts(&b, ",\"changes\":");
				json_changes(&b, i->details);
			}
			json_instance_gathers(&b, g, i);
			buf_puts(&b, "}");
		}
		buf_puts(&b, "]}");
	}
	buf_puts(&b, "]}\n");
	fwrite(b.data, 1, b.len, f);
	buf_free(&b);
	buf_free(&tmp);
}
