/* spec_fuzz.c - libFuzzer harness for runner/spec.c: parse a runner
 * instance spec, check what the parser promises (indexes in range, each
 * directory ending with '/'), label it, and round-trip it: what parses
 * encodes, the encoding parses, and encodes to the same text. */
#include "runner/spec.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t sink;

static int ends_with_slash(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	return n && s[n - 1] == '/';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *err = NULL;
	struct spec *s = spec_parse((const char *)data, size, &err);
	if (!s) {
		if (!err)
			abort(); /* a failure always says why */
		free(err);
		return 0;
	}
	if (!ends_with_slash(s->root) || !ends_with_slash(s->sentinel_dir) || !ends_with_slash(s->log_dir) ||
	    strlen(s->key) != 32)
		abort();
	for (size_t i = 0; i < s->nargv; i++)
		for (size_t k = 0; k < s->argv[i].nsegs; k++) {
			const struct spec_seg *g = &s->argv[i].segs[k];
			if ((g->kind == SPEC_SEG_INPUT && g->index >= s->ninputs) ||
			    (g->kind == SPEC_SEG_OUTPUT && g->index >= s->noutputs))
				abort();
			if (g->kind == SPEC_SEG_TEXT)
				sink += strlen(g->text);
		}
	for (size_t i = 0; i < s->ninputs; i++) {
		const struct spec_input *in = &s->inputs[i];
		sink += strlen(in->name) + strlen(in->path);
		/* a gathering input is present exactly when it gathered something */
		if (in->gather && in->present != (in->ngathered > 0))
			abort();
		for (size_t k = 0; k < in->ngathered; k++)
			if (!in->gathered[k].path[0])
				abort();
	}
	for (size_t i = 0; i < s->noutputs; i++)
		sink += strlen(s->outputs[i].path);
	char *label = spec_label(s);
	sink += strlen(label);
	free(label);
	size_t n1, n2;
	char *e1 = spec_encode(s, &n1);
	struct spec *again = e1 ? spec_parse(e1, n1, &err) : NULL;
	char *e2 = again ? spec_encode(again, &n2) : NULL;
	if (!e2 || n1 != n2 || memcmp(e1, e2, n1))
		abort();
	free(e1);
	free(e2);
	spec_free(again);
	spec_free(s);
	return 0;
}
