/* spec.c - fill the runner's instance spec (runner/spec.h, which encodes
 * it) from an expanded instance of the plan. */
#include "engine/spec.h"
#include "engine/store.h"
#include "lib/util.h"
#include "runner/layout.h"
#include "runner/spec.h"

#include <stdlib.h>
#include <string.h>

/* One argv word as segments: literal text and wildcard values merged,
 * inputs and outputs by index. */
static void fill_word(struct arena *A, const struct target *t, const char *const *vals,
		      const struct tmpl *tp, struct spec_word *out, struct buf *lit)
{
	size_t nw = t->nwildcards;
	out->segs = arena_alloc(A, (tp->nsegs + 1) * sizeof(*out->segs));
	out->nsegs = 0;
	buf_reset(lit);
	for (size_t s = 0; s <= tp->nsegs; s++) {
		const struct seg *sg = s < tp->nsegs ? &tp->segs[s] : NULL;
		if (sg && sg->kind == SEG_LIT) {
			buf_putn(lit, sg->text, sg->len);
			continue;
		}
		if (sg && (size_t)sg->ref < nw) {
			buf_puts(lit, vals[sg->ref]);
			continue;
		}
		if (lit->len) {
			out->segs[out->nsegs++] = (struct spec_seg){SPEC_SEG_TEXT, arena_strdup(A, lit->data), 0};
			buf_reset(lit);
		}
		if (!sg)
			break;
		size_t r = (size_t)sg->ref - nw;
		if (r < t->ninputs)
			out->segs[out->nsegs++] = (struct spec_seg){SPEC_SEG_INPUT, NULL, r};
		else
			out->segs[out->nsegs++] = (struct spec_seg){SPEC_SEG_OUTPUT, NULL, r - t->ninputs};
	}
	if (!out->nsegs) /* an empty word stays a word */
		out->segs[out->nsegs++] = (struct spec_seg){SPEC_SEG_TEXT, "", 0};
}

/* The path the runner is given: an s3:// URI as it is (the runner
 * stages or uploads it), a local one made absolute. */
static const char *own_path(struct arena *A, const struct graph *g, const char *uri)
{
	if (uri_is_s3(uri))
		return arena_strdup(A, uri);
	char *p = graph_local_path(g, uri);
	const char *r = arena_strdup(A, p);
	free(p);
	return r;
}

/* A gathering input: named by its reference ("rapidtide.dir"), one
 * entry (URI, path, the upstream's key) per gathered instance. */
static void fill_gathered(struct arena *A, const struct plan *p, const struct input *in,
			  const struct gathered *ga, struct spec_input *out)
{
	const struct graph *g = p->g;
	char *ref = xasprintf("%s.%s", in->up->name, in->up->outputs[in->up_output].name);
	*out = (struct spec_input){
		.name = in->name, .uri = arena_strdup(A, ref), .path = "", .optional = in->optional,
		.gather = true, .ngathered = ga->n,
	};
	free(ref);
	out->gathered = arena_alloc(A, (ga->n + 1) * sizeof(*out->gathered));
	for (size_t j = 0; j < ga->n; j++) {
		const char *uri = ga->uris.data + ga->off[j];
		char fp[4 + 33];
		memcpy(fp, "key=", 4);
		plan_key_hex(&g->inst[ga->ids[j]], fp + 4);
		out->gathered[j] = (struct spec_gathered){
			.uri = uri, .path = own_path(A, g, uri), .fingerprint = arena_strdup(A, fp),
		};
	}
}

int spec_write(const struct plan *p, const struct instance *i, const struct inst_work *w,
	       bool force, struct buf *b)
{
	const struct graph *g = p->g;
	const struct target *t = g->groups[i->group].t;
	size_t nw = t->nwildcards;
	struct arena *A = arena_new();
	struct spec s = {0};
	struct buf tmp = {0};
	const char *vals[RULES_MAX_WILDCARDS];
	const char *root = store_root(plan_store(p, i));

	s.target = t->name;
	s.nwildcards = nw;
	s.wildcards = arena_alloc(A, (nw + 1) * sizeof(*s.wildcards));
	for (size_t k = 0; k < nw; k++) {
		vals[k] = graph_value(g, i, k);
		s.wildcards[k] = (struct spec_pair){t->wildcards[k].name, vals[k]};
	}
	plan_key_hex(i, s.key);
	s.root = root;
	char *sdir = layout_sentinel_dir(root, t->name, vals, nw);
	char *ldir = layout_log_dir(root, t->name, vals, nw);
	s.sentinel_dir = arena_strdup(A, sdir);
	s.log_dir = arena_strdup(A, ldir);
	free(sdir);
	free(ldir);

	s.argv = arena_alloc(A, (t->nargv + 1) * sizeof(*s.argv));
	size_t ccap = 0;
	s.command = NULL;
	for (size_t a = 0; a < t->nargv; a++) {
		/* The words of a "[[ ... ]]" group whose optional input is
		 * absent are left out, as the key's command leaves them out. */
		if (!rules_word_kept(t, a, w->present))
			continue;
		fill_word(A, t, vals, &t->argv[a], &s.argv[s.nargv++], &tmp);
		buf_reset(&tmp);
		/* a word holding a gathering input is one command word per gathered instance */
		size_t n = plan_expand_word(p, i, w, a, &tmp);
		for (size_t j = 0, at = 0; j < n; j++) {
			GROW(s.command, ccap, s.ncommand + 1);
			s.command[s.ncommand++] = arena_strdup(A, tmp.data + at);
			at += strlen(tmp.data + at) + 1;
		}
	}

	s.ninputs = t->ninputs;
	s.inputs = arena_alloc(A, (t->ninputs + 1) * sizeof(*s.inputs));
	for (size_t k = 0; k < t->ninputs; k++) {
		const char *uri = w->sym[nw + k];
		if (t->inputs[k].gather) {
			fill_gathered(A, p, &t->inputs[k], &w->gath[k], &s.inputs[k]);
			s.inputs[k].fingerprint = w->fp[k];
			s.inputs[k].present = w->present[k];
			continue;
		}
		s.inputs[k] = (struct spec_input){
			.name = t->inputs[k].name, .uri = uri, .path = own_path(A, g, uri),
			.fingerprint = w->fp[k], .optional = t->inputs[k].optional,
			.present = w->present[k],
		};
	}
	s.noutputs = t->noutputs;
	s.outputs = arena_alloc(A, (t->noutputs + 1) * sizeof(*s.outputs));
	for (size_t k = 0; k < t->noutputs; k++) {
		const char *uri = w->sym[nw + t->ninputs + k];
		s.outputs[k] = (struct spec_output){
			.name = t->outputs[k].name, .uri = uri, .path = own_path(A, g, uri),
			.dir = t->outputs[k].is_dir,
		};
	}
	s.image = t->image;
	s.nenv = t->nenv;
	s.env = arena_alloc(A, (t->nenv + 1) * sizeof(*s.env));
	for (size_t k = 0; k < t->nenv; k++)
		s.env[k] = (struct spec_pair){t->env[k].name, t->env[k].value};
	s.timeout_s = t->timeout_s > 0 ? t->timeout_s : 0;
	s.force = force;
	/* Locally the recipe runs in the Rapidfile's directory, as make's
	 * do, so "run ./scripts/proc.sh" works from any caller's cwd. */
	s.workdir = g->base;
	/* build --container: a target with an image runs in it, in its scratch folder */
	if (t->image && p->opts.container) {
		s.container = p->opts.container;
		s.workdir = NULL;
	}
	/* An S3 root's scratch folders are local: beside the Rapidfile. */
	if (uri_is_s3(root)) {
		char *sc = layout_local_scratch_root(g->base);
		s.scratch = arena_strdup(A, sc);
		free(sc);
	}
	/* A Batch child runs the recipe in its scratch folder, in the
	 * container's own file system. */
	if (p->opts.batch) {
		s.workdir = NULL;
		s.container = NULL;
		s.scratch = NULL;
	}
	s.ncomponents = w->comps.n;
	s.components = arena_alloc(A, (w->comps.n + 1) * sizeof(*s.components));
	for (size_t k = 0; k < w->comps.n; k++)
		s.components[k] = (struct spec_pair){comps_name(&w->comps, k), comps_value(&w->comps, k)};

	size_t len;
	char *text = spec_encode(&s, &len);
	if (text) {
		buf_putn(b, text, len);
		buf_putc(b, '\n');
		free(text);
	}
	free(s.command);
	buf_free(&tmp);
	arena_free(A);
	return text ? 0 : -1;
}
