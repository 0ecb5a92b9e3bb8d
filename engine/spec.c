/* spec.c - write the JSON spec of one instance for the runner. */
#include "engine/spec.h"
#include "runner/sentinel.h"
#include "engine/store.h"
#include "lib/util.h"

#include <stdlib.h>
#include <string.h>

static void put_str_field(struct buf *b, const char *name, const char *v, bool comma)
{
	if (comma)
		buf_putc(b, ',');
	buf_put_json_str(b, name);
	buf_putc(b, ':');
	if (v)
		buf_put_json_str(b, v);
	else
		buf_puts(b, "null");
}

void spec_write(const struct plan *p, const struct instance *i, const struct inst_work *w,
		bool force, struct buf *b)
{
	const struct graph *g = p->g;
	const struct target *t = g->groups[i->group].t;
	size_t nw = t->nwildcards;
	const char *root = store_root(plan_store(p, i));
	const char **vals = xcalloc(nw + 1, sizeof(char *));
	for (size_t k = 0; k < nw; k++)
		vals[k] = graph_value(g, i, k);
	char key[33];
	plan_key_hex(i, key);

	buf_puts(b, "{\"schema\":1");
	put_str_field(b, "target", t->name, true);
	buf_puts(b, ",\"wildcards\":[");
	for (size_t k = 0; k < nw; k++) {
		buf_puts(b, k ? ",[" : "[");
		buf_put_json_str(b, t->wildcards[k].name);
		buf_putc(b, ',');
		buf_put_json_str(b, vals[k]);
		buf_putc(b, ']');
	}
	buf_putc(b, ']');
	put_str_field(b, "key", key, true);
	put_str_field(b, "root", root, true);
	char *sdir = sentinel_dir(root, t->name, vals, nw);
	put_str_field(b, "sentinel_dir", sdir, true);
	free(sdir);
	struct buf ld = {0};
	buf_printf(&ld, "%s.rapid/logs/%s/", root, t->name);
	for (size_t k = 0; k < nw; k++)
		buf_printf(&ld, "%s/", vals[k]);
	put_str_field(b, "log_dir", ld.data, true);
	buf_free(&ld);

	/* argv as segments; command with URIs */
	buf_puts(b, ",\"argv\":[");
	struct buf lit = {0};
	for (size_t a = 0; a < t->nargv; a++) {
		const struct tmpl *tp = &t->argv[a];
		buf_puts(b, a ? ",[" : "[");
		bool first = true;
		buf_reset(&lit);
		for (size_t s = 0; s <= tp->nsegs; s++) {
			const struct seg *sg = s < tp->nsegs ? &tp->segs[s] : NULL;
			if (sg && sg->kind == SEG_LIT) {
				buf_putn(&lit, sg->text, sg->len);
				continue;
			}
			if (sg && (size_t)sg->ref < nw) {
				buf_puts(&lit, vals[sg->ref]);
				continue;
			}
			if (lit.len) {
				if (!first)
					buf_putc(b, ',');
				buf_put_json_str(b, lit.data);
				first = false;
				buf_reset(&lit);
			}
			if (!sg)
				break;
			if (!first)
				buf_putc(b, ',');
			first = false;
			size_t r = (size_t)sg->ref - nw;
			if (r < t->ninputs) {
				buf_puts(b, "{\"input\":");
				buf_put_json_str(b, t->inputs[r].name);
			} else {
				buf_puts(b, "{\"output\":");
				buf_put_json_str(b, t->outputs[r - t->ninputs].name);
			}
			buf_putc(b, '}');
		}
		if (first)
			buf_puts(b, "\"\"");
		buf_putc(b, ']');
	}
	buf_putc(b, ']');
	buf_puts(b, ",\"command\":[");
	for (size_t a = 0; a < t->nargv; a++) {
		buf_reset(&lit);
		graph_expand(g, i, &t->argv[a], w->sym, &lit);
		if (a)
			buf_putc(b, ',');
		buf_put_json_str(b, lit.data ? lit.data : "");
	}
	buf_putc(b, ']');
	buf_free(&lit);

	buf_puts(b, ",\"inputs\":[");
	for (size_t k = 0; k < t->ninputs; k++) {
		const char *uri = w->sym[nw + k];
		char *path = graph_local_path(g, uri);
		buf_puts(b, k ? ",{" : "{");
		put_str_field(b, "name", t->inputs[k].name, false);
		put_str_field(b, "uri", uri, true);
		put_str_field(b, "path", path, true);
		buf_printf(b, ",\"optional\":%s,\"present\":%s", t->inputs[k].optional ? "true" : "false",
			   w->present[k] ? "true" : "false");
		put_str_field(b, "fingerprint", w->fp[k], true);
		buf_putc(b, '}');
		free(path);
	}
	buf_puts(b, "],\"outputs\":[");
	for (size_t k = 0; k < t->noutputs; k++) {
		const char *uri = w->sym[nw + t->ninputs + k];
		char *path = graph_local_path(g, uri);
		buf_puts(b, k ? ",{" : "{");
		put_str_field(b, "name", t->outputs[k].name, false);
		put_str_field(b, "uri", uri, true);
		put_str_field(b, "path", path, true);
		buf_printf(b, ",\"dir\":%s}", t->outputs[k].is_dir ? "true" : "false");
		free(path);
	}
	buf_putc(b, ']');
	put_str_field(b, "image", t->image, true);
	buf_puts(b, ",\"env\":[");
	for (size_t k = 0; k < t->nenv; k++) {
		buf_puts(b, k ? ",[" : "[");
		buf_put_json_str(b, t->env[k].name);
		buf_putc(b, ',');
		buf_put_json_str(b, t->env[k].value);
		buf_putc(b, ']');
	}
	buf_putc(b, ']');
	if (t->timeout_s > 0)
		buf_printf(b, ",\"timeout_s\":%ld", t->timeout_s);
	else
		buf_puts(b, ",\"timeout_s\":null");
	buf_puts(b, ",\"components\":[");
	for (size_t k = 0; k < w->comps.n; k++) {
		buf_puts(b, k ? ",[" : "[");
		buf_put_json_str(b, comps_name(&w->comps, k));
		buf_putc(b, ',');
		buf_put_json_str(b, comps_value(&w->comps, k));
		buf_putc(b, ']');
	}
	buf_printf(b, "],\"force\":%s}\n", force ? "true" : "false");
	free(vals);
}
