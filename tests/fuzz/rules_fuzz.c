/* rules_fuzz.c - libFuzzer harness for the Rapidfile loader (rules/).
 * The loader reads files by path, so the input is written to files in a
 * temporary folder: its parts, separated by a line "%%", are the
 * Rapidfile, a file it may include as "a.inc", an ids file "ids.txt"
 * (also what file(s3://...) fetches), and NAME=value overrides, one a
 * line. A load that succeeds is checked against what rules.h promises:
 * targets upstream first, each findable by name, references and
 * placeholders in range, roots ending with '/', values valid ids, word
 * groups in range and naming optional inputs. The undeclared-file
 * warning (rules_warn_recipe_files) runs too.
 * The loader's messages go to /dev/null; a sanitizer's report does not. */
#include "lib/util.h"
#include "rules/rules.h"

#include <fcntl.h>
#include <sanitizer/common_interface_defs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static char dir[64];
static int devnull = -1, saved_err = -1;
static const char *ids_data;
static size_t ids_len;
static size_t sink;

static void cleanup(void)
{
	remove_tree(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(dir, sizeof dir, "%s", "/tmp/rules_fuzz.XXXXXX");
	if (!mkdtemp(dir))
		abort();
	atexit(cleanup);
	devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	saved_err = dup(2);
	if (devnull < 0 || saved_err < 0)
		abort();
	__sanitizer_set_report_fd((void *)(intptr_t)saved_err);
	return 0;
}

static void put(const char *name, const char *p, size_t n)
{
	char *path = path_join(dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		abort();
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w <= 0)
			abort();
		p += w;
		n -= (size_t)w;
	}
	close(fd);
	free(path);
}

static int hook_list(void *ctx, const char *uri, char ***words, size_t *n)
{
	(void)ctx;
	*words = xcalloc(2, sizeof(char *));
	(*words)[0] = xstrdup("100307");
	(*words)[1] = xstrdup(strlen(uri) % 2 ? "sub-01" : "bad id");
	*n = 2;
	return 0;
}

static int hook_fetch(void *ctx, const char *uri, char **out, size_t *len)
{
	(void)ctx;
	if (strstr(uri, "missing"))
		return -1;
	*out = xmalloc(ids_len + 1);
	memcpy(*out, ids_data, ids_len);
	*len = ids_len;
	return 0;
}

static void check_tmpl(const struct target *t, const struct tmpl *tp, size_t nsym)
{
	for (size_t s = 0; s < tp->nsegs; s++) {
		const struct seg *g = &tp->segs[s];
		if (g->kind == SEG_REF && (g->ref < 0 || (size_t)g->ref >= nsym))
			abort();
		if (g->kind == SEG_LIT && strlen(g->text) != g->len)
			abort();
	}
	char *txt = rules_tmpl_text(t, tp);
	sink += strlen(txt);
	free(txt);
}

static void check(const struct rapidfile *rf)
{
	for (size_t i = 0; i < rf->ntargets; i++) {
		const struct target *t = rf->targets[i];
		size_t nsym = t->nwildcards + t->ninputs + t->noutputs;
		if (t->index != (int)i || rules_target(rf, t->name) != t)
			abort();
		if (!t->noutputs || !t->nargv || t->nwildcards > RULES_MAX_WILDCARDS)
			abort();
		size_t rl = strlen(t->root);
		if (!rl || t->root[rl - 1] != '/')
			abort();
		for (size_t w = 0; w < t->nwildcards; w++)
			for (size_t v = 0; v < t->wildcards[w].values.n; v++)
				if (!rules_valid_id(t->wildcards[w].values.v[v], NULL))
					abort();
		for (size_t k = 0; k < t->ninputs; k++) {
			const struct input *in = &t->inputs[k];
			if (in->up) {
				if (in->up->index >= t->index || in->up_output < 0 ||
				    (size_t)in->up_output >= in->up->noutputs)
					abort();
			} else {
				check_tmpl(t, &in->uri, t->nwildcards);
			}
		}
		for (size_t k = 0; k < t->noutputs; k++)
			check_tmpl(t, &t->outputs[k].uri, t->nwildcards);
		for (size_t k = 0; k < t->nargv; k++)
			check_tmpl(t, &t->argv[k], nsym);
		for (size_t k = 0; k < nsym; k++)
			if (!rules_symbol_name(t, (int)k))
				abort();
		/* [[ ... ]] groups: in range, each naming optional inputs,
		 * never holding the program. */
		if (t->argv_group && t->argv_group[0] >= 0)
			abort();
		for (size_t k = 0; t->argv_group && k < t->nargv; k++)
			if (t->argv_group[k] >= (int)t->ngroups || t->argv_group[k] < -1)
				abort();
		for (size_t g = 0; g < t->ngroups; g++) {
			if (!t->groups[g].ninputs)
				abort();
			for (size_t k = 0; k < t->groups[g].ninputs; k++)
				if (t->groups[g].inputs[k] >= t->ninputs || !t->inputs[t->groups[g].inputs[k]].optional)
					abort();
		}
		for (size_t k = 0; k < t->nrwords; k++)
			sink += strlen(t->rwords[k].text);
	}
}

/* The next part of data[*at, size), up to a line "%%". */
static const char *part(const uint8_t *data, size_t size, size_t *at, size_t *n)
{
	const char *s = (const char *)data + *at;
	size_t left = size - *at;
	for (size_t i = 0; i + 3 <= left; i++) {
		if ((i == 0 || s[i - 1] == '\n') && !memcmp(s + i, "%%", 2) &&
		    (i + 2 == left || s[i + 2] == '\n')) {
			*n = i;
			*at += i + (i + 2 == left ? 2 : 3);
			return s;
		}
	}
	*n = left;
	*at = size;
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t at = 0, n[4];
	const char *p[4];
	for (int i = 0; i < 4; i++)
		p[i] = part(data, size, &at, &n[i]);
	put("Rapidfile", p[0], n[0]);
	put("a.inc", p[1], n[1]);
	put("ids.txt", p[2], n[2]);
	ids_data = p[2];
	ids_len = n[2];
	char *ov_text = xstrndup(p[3], n[3]);
	char **ov = NULL;
	size_t nov = 0, cap = 0;
	for (char *line = strtok(ov_text, "\n"); line && nov < 8; line = strtok(NULL, "\n")) {
		GROW(ov, cap, nov + 1);
		ov[nov++] = line;
	}
	struct rules_hooks hooks = {NULL, hook_list, hook_fetch};
	struct rules_opts o = {ov, nov, size % 2 ? &hooks : NULL};
	char *path = path_join(dir, "Rapidfile");
	struct rapidfile *rf = NULL;
	fflush(stderr);
	dup2(devnull, 2);
	int r = rules_load(path, &o, &rf);
	fflush(stderr);
	dup2(saved_err, 2);
	if (r == 0) {
		if (!rf)
			abort();
		check(rf);
		fflush(stderr);
		dup2(devnull, 2);
		rules_warn_recipe_files(rf);
		fflush(stderr);
		dup2(saved_err, 2);
	} else if (rf) {
		abort();
	}
	rules_free(rf);
	free(path);
	free(ov);
	free(ov_text);
	return 0;
}
