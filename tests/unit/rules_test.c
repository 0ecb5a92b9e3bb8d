/* rules_test.c - the Rapidfile loader: small Rapidfiles written to a temp
 * folder, loaded, and their structures checked. Error messages are
 * checked exhaustively by tests/0010-rules-errors.t; here only a few that
 * need a structure around them. */
#include "lib/util.h"
#include "rules/rint.h"
#include "rules/rules.h"
#include "tests/unit/tap.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];

static char *at(const char *name)
{
	return path_join(dir, name);
}

static void put(const char *name, const char *text)
{
	char *p = at(name);
	char *d = path_dirname(p);
	mkdir_p(d, 0777);
	if (write_file_atomic(p, text, strlen(text)) < 0) {
		perror(p);
		exit(2);
	}
	free(d);
	free(p);
}

/* Load a Rapidfile from text; NULL when rules_load failed. */
static struct rapidfile *load_opts(const char *text, char **ov, size_t nov, const struct rules_hooks *h)
{
	put("Rapidfile", text);
	char *p = at("Rapidfile");
	struct rules_opts o = {ov, nov, h};
	struct rapidfile *rf = NULL;
	if (rules_load(p, &o, &rf) < 0)
		rf = NULL;
	free(p);
	return rf;
}

static struct rapidfile *load(const char *text)
{
	return load_opts(text, NULL, 0, NULL);
}

/* Load and return what was printed on stderr (the caller frees). */
static char *load_stderr(const char *text, int *ret)
{
	char *errp = at("stderr.txt");
	fflush(stderr);
	int saved = dup(2);
	int fd = open(errp, O_CREAT | O_TRUNC | O_WRONLY, 0644);
	dup2(fd, 2);
	close(fd);
	struct rapidfile *rf = load(text);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	*ret = rf ? 0 : -1;
	rules_free(rf);
	char *s = read_file(errp, NULL);
	free(errp);
	return s ? s : xstrdup("");
}

/* The run line's words, joined by '|', placeholders as {name}. */
static char *argv_str(const struct target *t)
{
	struct buf b = {0};
	buf_puts(&b, "");
	for (size_t i = 0; i < t->nargv; i++) {
		char *w = rules_tmpl_text(t, &t->argv[i]);
		buf_printf(&b, "%s%s", i ? "|" : "", w);
		free(w);
	}
	return buf_detach(&b);
}

static char *values_str(const struct set *s)
{
	struct buf b = {0};
	buf_puts(&b, "");
	for (size_t i = 0; i < s->n; i++)
		buf_printf(&b, "%s%s", i ? " " : "", s->v[i]);
	return buf_detach(&b);
}

static void test_variables(void)
{
	char *ov[] = {"OUT=over", "EMPTY="};
	struct rapidfile *rf = load_opts(
		"A = first\n"
		"A ?= second\n"
		"B ?= bee\n"
		"OUT = file-out\n"
		"OUT ?= other\n"
		"EMPTY = not-empty\n"
		"target t\n"
		"    output o = out/x\n"
		"    image $(IMG)\n"
		"    env A=$(A)\n"
		"    env B=$(B)\n"
		"    env OUT=$(OUT)\n"
		"    env E=$(EMPTY)\n"
		"    env D=$$HOME $HOME $(LATER) 5$\n"
		"    run echo\n"
		"IMG = img:$(TAG)\n"
		"TAG = 1.0\n"
		"LATER = later\n",
		ov, 2, NULL);
	if (!TAP_OK(rf != NULL, "variables: loads"))
		return;
	struct target *t = rules_target(rf, "t");
	TAP_IS_STR(t->image, "img:1.0", "lazy expansion: a variable defined below the target");
	TAP_IS_INT(t->nenv, 5, "five env entries");
	TAP_IS_STR(t->env[0].value, "first", "?= does not replace a set variable");
	TAP_IS_STR(t->env[1].value, "bee", "?= sets an unset variable");
	TAP_IS_STR(t->env[2].value, "over", "a command-line override wins over = and ?=");
	TAP_IS_STR(t->env[3].value, "", "an empty override wins too");
	TAP_IS_STR(t->env[4].value, "$HOME $HOME later 5$", "$$ and a lone $ are literal");
	TAP_IS_INT(t->env[4].loc.line, 14, "env loc line");
	TAP_IS_INT(t->env[4].loc.col, 9, "env loc col");
	TAP_IS_INT(t->memory_mib, -1, "memory not given");
	TAP_IS_INT(t->timeout_s, -1, "timeout not given");
	TAP_IS_STR(rf->files[0], rf->path, "the main file is the first file read");
	rules_free(rf);
}

static void test_sets(void)
{
	put("ids.txt", "# participants\n  100307 \r\n100206\n# a comment\n100307\n100408\n\n\n");
	struct rapidfile *rf = load(
		"P = file(ids.txt)\n"
		"R = b a\n"
		"target t\n"
		"    foreach p in $(P) extra exclude 100206 $(X)\n"
		"    foreach r in c $(R) a c\n"
		"    output o = out/{p}/{r}\n"
		"    run echo\n"
		"X = 100408 nothere\n");
	if (!TAP_OK(rf != NULL, "sets: loads (with duplicate warnings)"))
		return;
	struct target *t = rf->targets[0];
	TAP_IS_INT(t->nwildcards, 2, "two wildcards");
	char *s = values_str(&t->wildcards[0].values);
	TAP_IS_STR(s, "100307 extra", "file() values, exclude, dedupe, order");
	free(s);
	s = values_str(&t->wildcards[1].values);
	TAP_IS_STR(s, "c b a", "first occurrence order");
	free(s);
	struct loc o = t->wildcards[0].values.origin[0];
	char *ids = at("ids.txt");
	TAP_IS_STR(o.file, ids, "file() origin: the ids file");
	TAP_IS_INT(o.line, 2, "file() origin line");
	TAP_IS_INT(o.col, 3, "file() origin column (after blanks)");
	free(ids);
	o = t->wildcards[0].values.origin[1];
	TAP_IS_INT(o.line, 4, "literal origin line");
	TAP_IS_INT(o.col, 23, "literal origin column");
	o = t->wildcards[1].values.origin[1];
	TAP_IS_INT(o.line, 2, "a set variable's values keep their definition's position");
	TAP_IS_INT(o.col, 5, "... column");
	TAP_OK(!t->wildcards[0].values.deferred, "not deferred");
	TAP_IS_STR(t->wildcards[0].name, "p", "wildcard name");
	TAP_IS_INT(t->wildcards[0].loc.col, 13, "wildcard loc column");
	rules_free(rf);

	/* Two targets share one file: read once, ids identical. */
	rf = load("P = file(ids.txt)\n"
		  "target a\n    foreach p in $(P)\n    output o = a/{p}\n    run x\n"
		  "target b\n    foreach p in file(ids.txt)\n    output o = b/{p}\n    run x\n");
	if (TAP_OK(rf != NULL, "a file used twice")) {
		TAP_IS_INT(rf->targets[0]->wildcards[0].values.n, 3, "three ids in a");
		TAP_IS_INT(rf->targets[1]->wildcards[0].values.n, 3, "three ids in b");
		TAP_IS_INT(rf->nfiles, 2, "Rapidfile and ids.txt recorded once each");
	}
	rules_free(rf);

	/* A local directory listing: sub-folders, sorted, hidden skipped. */
	put("data/sub-b/x", "");
	put("data/sub-a/x", "");
	put("data/.hidden/x", "");
	put("data/file.txt", "");
	rf = load("target t\n    foreach s in list(data)\n    output o = out/{s}/\n    run x\n");
	if (TAP_OK(rf != NULL, "list() of a local folder")) {
		s = values_str(&rf->targets[0]->wildcards[0].values);
		TAP_IS_STR(s, "sub-a sub-b", "folders only, sorted, no hidden");
		free(s);
	}
	rules_free(rf);

	/* Large: 12,000 ids x 4 runs. */
	struct buf b = {0};
	for (int i = 0; i < 12000; i++)
		buf_printf(&b, "%d\n", 200000 + i);
	put("big.txt", b.data);
	buf_free(&b);
	int64_t t0 = now_ns();
	rf = load("target t\n    foreach p in file(big.txt)\n    foreach r in R1 R2 R3 R4\n"
		  "    output o = out/{p}/{r}/\n    run x {p}\n");
	int64_t ms = (now_ns() - t0) / 1000000;
	if (TAP_OK(rf != NULL, "12,000 ids load")) {
		TAP_IS_INT(rf->targets[0]->wildcards[0].values.n, 12000, "12,000 values");
		TAP_IS_STR(rf->targets[0]->wildcards[0].values.v[11999], "211999", "last value");
	}
	/* How fast is bench/'s to say (a busy machine must not fail a test). */
	printf("# 12,000 ids loaded in %lld ms\n", (long long)ms);
	rules_free(rf);
}

static void test_templates(void)
{
	struct rapidfile *rf = load(
		"target t\n"
		"    foreach p in a\n"
		"    foreach r in x\n"
		"    input in = /data/{p}/{{lit}}/{r}.nii.gz\n"
		"    output dir = out/sub-{p}/run_{r}/\n"
		"    output log = out/sub-{p}/{r}.log\n"
		"    run awk '{print $1}' {in} {dir}sub-{p}_{r} { p} {log}\n");
	if (!TAP_OK(rf != NULL, "templates: loads"))
		return;
	struct target *t = rf->targets[0];
	struct tmpl *u = &t->outputs[0].uri;
	TAP_IS_INT(u->nsegs, 5, "out/sub-{p}/run_{r}/ has 5 segments");
	if (u->nsegs == 5) {
		TAP_OK(u->segs[0].kind == SEG_LIT && !strcmp(u->segs[0].text, "out/sub-") && u->segs[0].len == 8,
		       "seg 0 literal 'out/sub-'");
		TAP_OK(u->segs[1].kind == SEG_REF && u->segs[1].ref == 0, "seg 1 is wildcard 0");
		TAP_IS_STR(u->segs[2].text, "/run_", "seg 2 literal");
		TAP_OK(u->segs[3].kind == SEG_REF && u->segs[3].ref == 1, "seg 3 is wildcard 1");
		TAP_IS_STR(u->segs[4].text, "/", "seg 4 literal");
	}
	TAP_OK(t->outputs[0].is_dir, "a trailing / is a directory");
	TAP_OK(!t->outputs[1].is_dir, "no trailing / is a file");
	char *s = rules_tmpl_text(t, &t->inputs[0].uri);
	TAP_IS_STR(s, "/data/{p}/{lit}/{r}.nii.gz", "{{ and }} are literal braces");
	free(s);
	TAP_IS_INT(t->inputs[0].uri.nsegs, 5, "{{lit}} stays one literal with its neighbours");
	TAP_IS_INT(t->nargv, 7, "seven argv words");
	s = argv_str(t);
	TAP_IS_STR(s, "awk|{print $1}|{in}|{dir}sub-{p}_{r}|{|p}|{log}", "run words");
	free(s);
	TAP_IS_INT(t->argv[2].segs[0].ref, 2, "{in} is symbol 2 (after 2 wildcards)");
	TAP_IS_INT(t->argv[6].segs[0].ref, 4, "{log} is symbol 4");
	TAP_IS_STR(rules_symbol_name(t, 3), "dir", "symbol 3 is output dir");
	TAP_OK(rules_symbol_name(t, 5) == NULL, "no symbol 5");
	TAP_IS_INT(t->run_loc.line, 7, "run_loc line");
	TAP_IS_INT(t->run_loc.col, 5, "run_loc col");
	rules_free(rf);
}

static void test_run_split(void)
{
	struct rapidfile *rf = load(
		"Q = 'one two' three\n"
		"target t\n"
		"    foreach p in a\n"
		"    output o = out/{p}\n"
		"    run sh -c 'echo $HOME # {p}' \"a \\\"b\\\" \\$x \\n\" c\\ d '' \\#x $(Q) e\\\n"
		"        f # comment\n");
	if (!TAP_OK(rf != NULL, "run splitting: loads"))
		return;
	char *s = argv_str(rf->targets[0]);
	TAP_IS_STR(s, "sh|-c|echo $HOME # {p}|a \"b\" $x \\n|c d||#x|one two|three|e|f",
		   "quotes, backslashes, comments, variables and continuations");
	free(s);
	TAP_IS_INT(rf->targets[0]->argv[5].nsegs, 0, "'' is an empty word with no segments");
	rules_free(rf);
}

static void test_attributes(void)
{
	struct rapidfile *rf = load(
		"M = 62000\n"
		"target t\n"
		"    output o = out/x\n"
		"    memory $(M)\n"
		"    vcpus 8\n"
		"    timeout 1h30m\n"
		"    retries 0\n"
		"    image fredericklab/rapidtide:3.2.0\n"
		"    run x\n"
		"target u\n"
		"    output o = out/y\n"
		"    timeout 45s\n"
		"    retries 10\n"
		"    run x\n"
		"target v\n"
		"    output o = out/z\n"
		"    timeout 3600\n"
		"    run x\n"
		"target w\n"
		"    output o = out/w\n"
		"    timeout 10h\n"
		"    run x\n");
	if (!TAP_OK(rf != NULL, "attributes: loads"))
		return;
	struct target *t = rules_target(rf, "t");
	TAP_IS_INT(t->memory_mib, 62000, "memory");
	TAP_IS_INT(t->vcpus, 8, "vcpus");
	TAP_IS_INT(t->timeout_s, 5400, "timeout 1h30m");
	TAP_IS_INT(t->retries, 0, "retries 0");
	TAP_IS_STR(t->image, "fredericklab/rapidtide:3.2.0", "image");
	TAP_IS_INT(rules_target(rf, "u")->timeout_s, 45, "timeout 45s");
	TAP_IS_INT(rules_target(rf, "u")->retries, 10, "retries 10");
	TAP_IS_INT(rules_target(rf, "v")->timeout_s, 3600, "timeout 3600");
	TAP_IS_INT(rules_target(rf, "w")->timeout_s, 36000, "timeout 10h");
	TAP_OK(rules_target(rf, "nope") == NULL, "rules_target: NULL when absent");
	rules_free(rf);
}

static void test_roots(void)
{
	struct {
		const char *outputs, *root;
	} cases[] = {
		{"    output d = s3://b/deriv/sub-{p}/rfMRI_{r}/\n", "s3://b/deriv/"},
		{"    output d = s3://b/deriv/{p}/{r}/\n    output l = s3://b/deriv/logs/{p}_{r}.txt\n", "s3://b/deriv/"},
		{"    output d = out/a/{p}/{r}\n    output e = out/b/{p}/{r}\n", "out/"},
		{"    output d = {p}/{r}/\n", "./"},
		{"    output d = /abs/x{p}/{r}\n", "/abs/"},
		{"    output d = /x{p}/{r}\n", "/"},
		{"    output d = a/{p}{r}\n    output e = b/{p}{r}\n", "./"},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		char *text = xasprintf("target t\n    foreach p in a\n    foreach r in b\n%s    run x\n",
				       cases[i].outputs);
		struct rapidfile *rf = load(text);
		if (TAP_OK(rf != NULL, "root case %zu loads", i))
			TAP_IS_STR(rf->targets[0]->root, cases[i].root, "root case %zu", i);
		rules_free(rf);
		free(text);
	}
	struct rapidfile *rf = load("target s\n    output d = out/summary/\n    run x\n");
	if (TAP_OK(rf != NULL, "no wildcards"))
		TAP_IS_STR(rf->targets[0]->root, "out/", "a fixed directory output: root is its parent");
	rules_free(rf);
}

static void test_references(void)
{
	struct rapidfile *rf = load(
		"target summary\n"
		"    foreach p in a b\n"
		"    input maps = rapidtide.dir\n"
		"    input cfg = ./rapidtide.dir\n"
		"    input? other = prep.out\n"
		"    output o = out/sum/{p}.txt\n"
		"    run x {maps}\n"
		"target rapidtide\n"
		"    foreach p in a b\n"
		"    input bold = prep.out\n"
		"    output log = out/rt/{p}.log\n"
		"    output dir = out/rt/{p}/\n"
		"    run x\n"
		"target prep\n"
		"    foreach p in a b\n"
		"    output out = out/prep/{p}/\n"
		"    run x\n"
		"target alone\n"
		"    output o = out/alone\n"
		"    run x\n");
	if (!TAP_OK(rf != NULL, "references: loads"))
		return;
	TAP_IS_INT(rf->ntargets, 4, "four targets");
	const char *order[] = {"prep", "rapidtide", "summary", "alone"};
	for (size_t i = 0; i < 4 && i < rf->ntargets; i++) {
		TAP_IS_STR(rf->targets[i]->name, order[i], "dependency order %zu", i);
		TAP_IS_INT(rf->targets[i]->index, i, "index %zu", i);
	}
	struct target *s = rules_target(rf, "summary");
	struct target *r = rules_target(rf, "rapidtide");
	TAP_OK(s->inputs[0].up == r, "maps refers to rapidtide");
	TAP_IS_INT(s->inputs[0].up_output, 1, "... its output 1 (dir)");
	TAP_OK(s->inputs[1].up == NULL, "./rapidtide.dir is a local path");
	TAP_OK(s->inputs[2].optional && s->inputs[2].up == rules_target(rf, "prep"), "optional reference");
	TAP_IS_INT(s->inputs[0].loc.line, 3, "input loc line");
	TAP_IS_INT(s->inputs[0].loc.col, 11, "input loc col");
	rules_free(rf);

	/* Fan-out: the downstream may have more wildcards. */
	rf = load("target a\n    foreach p in x y\n    output o = out/{p}\n    run x\n"
		  "target b\n    foreach p in x y\n    foreach q in 1 2\n    input i = a.o\n"
		  "    output o = out2/{p}/{q}\n    run x\n");
	TAP_OK(rf != NULL, "a downstream target may have more wildcards");
	rules_free(rf);

	int ret;
	char *err = load_stderr("target a\n    input x = b.o\n    output o = out/a\n    run x\n"
				"target b\n    input y = a.o\n    output o = out/b\n    run x\n", &ret);
	TAP_IS_INT(ret, -1, "a cycle fails");
	char *want = xasprintf("rapid: %s/Rapidfile:6:15: dependency cycle: a -> b -> a\n", dir);
	TAP_IS_STR(err, want, "cycle message");
	free(want);
	free(err);
}

struct hookctx {
	int lists, fetches;
	char last[256];
};

static int hook_list(void *ctx, const char *uri, char ***words, size_t *n)
{
	struct hookctx *h = ctx;
	h->lists++;
	snprintf(h->last, sizeof h->last, "%s", uri);
	*words = xcalloc(3, sizeof(char *));
	(*words)[0] = xstrdup("100307");
	(*words)[1] = xstrdup("100206");
	(*words)[2] = xstrdup("100408");
	*n = 3;
	return 0;
}

static int hook_fetch(void *ctx, const char *uri, char **data, size_t *len)
{
	struct hookctx *h = ctx;
	h->fetches++;
	snprintf(h->last, sizeof h->last, "%s", uri);
	*data = xstrdup("# from s3\nA1\nA2\n");
	*len = strlen(*data);
	return 0;
}

/* 16 MiB and one byte of "A1\n...": over the cap of an ids file. */
static int hook_fetch_big(void *ctx, const char *uri, char **data, size_t *len)
{
	(void)ctx;
	(void)uri;
	*len = ((size_t)1 << 24) + 1;
	*data = xmalloc(*len);
	for (size_t i = 0; i < *len; i++)
		(*data)[i] = i % 3 == 0 ? 'A' : i % 3 == 1 ? '1' : '\n';
	return 0;
}

static void test_hooks(void)
{
	const char *text =
		"HCP = s3://hcp-openaccess/HCP_1200\n"
		"target t\n"
		"    foreach p in list($(HCP)/) exclude 100206\n"
		"    foreach q in file(s3://bucket/ids.txt)\n"
		"    output o = s3://out/{p}/{q}/\n"
		"    run x\n"
		"target u\n"
		"    foreach p in list($(HCP)/)\n"
		"    output o = s3://out/u/{p}/\n"
		"    run x\n";
	struct rapidfile *rf = load(text);
	if (TAP_OK(rf != NULL, "no hooks: loads")) {
		struct set *s = &rf->targets[0]->wildcards[0].values;
		TAP_OK(s->deferred, "list(s3://) deferred without hooks");
		TAP_IS_STR(s->deferred_what, "list(s3://hcp-openaccess/HCP_1200/)", "deferred_what");
		TAP_IS_INT(s->n, 0, "no values when deferred");
		s = &rf->targets[0]->wildcards[1].values;
		TAP_OK(s->deferred, "file(s3://) deferred without hooks");
		TAP_IS_STR(s->deferred_what, "file(s3://bucket/ids.txt)", "deferred_what of file()");
		TAP_IS_STR(rf->targets[0]->root, "s3://out/", "s3 root");
	}
	rules_free(rf);

	struct hookctx hc = {0};
	struct rules_hooks hooks = {&hc, hook_list, NULL};
	rf = load_opts(text, NULL, 0, &hooks);
	if (TAP_OK(rf != NULL, "list hook only: loads")) {
		TAP_IS_INT(hc.lists, 1, "list hook called once for two uses");
		TAP_IS_STR(hc.last, "s3://hcp-openaccess/HCP_1200/", "list hook URI");
		char *s = values_str(&rf->targets[0]->wildcards[0].values);
		TAP_IS_STR(s, "100307 100408", "listed values, excluded one dropped");
		free(s);
		TAP_OK(rf->targets[0]->wildcards[1].values.deferred, "file() still deferred with no fetch hook");
	}
	rules_free(rf);

	hooks.fetch = hook_fetch;
	memset(&hc, 0, sizeof hc);
	rf = load_opts(text, NULL, 0, &hooks);
	if (TAP_OK(rf != NULL, "both hooks: loads")) {
		TAP_IS_INT(hc.fetches, 1, "fetch hook called");
		struct set *s = &rf->targets[0]->wildcards[1].values;
		char *v = values_str(s);
		TAP_IS_STR(v, "A1 A2", "fetched ids");
		free(v);
		TAP_IS_STR(s->origin[0].file, "s3://bucket/ids.txt", "fetched ids: origin is the URI");
		TAP_IS_INT(s->origin[0].line, 2, "fetched ids: origin line");
	}
	rules_free(rf);

	/* The cap of local ids files holds for fetched ones too. */
	hooks.fetch = hook_fetch_big;
	put("Rapidfile", "target t\n    foreach q in file(s3://bucket/big.txt)\n    output o = s3://out/{q}/\n    run x\n");
	char *errp = at("stderr.txt"), *rfp = at("Rapidfile");
	fflush(stderr);
	int saved = dup(2), fd = open(errp, O_CREAT | O_TRUNC | O_WRONLY, 0644);
	dup2(fd, 2);
	close(fd);
	struct rules_opts o = {NULL, 0, &hooks};
	int r = rules_load(rfp, &o, &rf);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	char *err = read_file(errp, NULL), *want = xasprintf("rapid: %s:2:18: cannot read "
		"'s3://bucket/big.txt': larger than 16 MiB\n", rfp);
	TAP_IS_INT(r, -1, "a fetched ids file over 16 MiB: fails");
	TAP_IS_STR(err, want, "a fetched ids file over 16 MiB: the message");
	free(want);
	free(err);
	free(rfp);
	free(errp);
}

static void test_include(void)
{
	put("inc/common.rf", "BASE = from-include\nIDS = file(inc/ids2.txt)\n");
	put("inc/ids2.txt", "x1\nx2\n");
	put("inc/more.rf", "target inc\n    output o = out/inc\n    run $(BASE)\n");
	struct rapidfile *rf = load(
		"D = inc\n"
		"include $(D)/common.rf\n"
		"include inc/more.rf\n"
		"target t\n"
		"    foreach p in $(IDS)\n"
		"    output o = out/{p}\n"
		"    run echo $(BASE)\n");
	if (TAP_OK(rf != NULL, "include: loads")) {
		struct target *t = rules_target(rf, "t");
		char *s = argv_str(t);
		TAP_IS_STR(s, "echo|from-include", "variables from an include");
		free(s);
		s = values_str(&t->wildcards[0].values);
		TAP_IS_STR(s, "x1 x2", "file() relative to the file where it is written");
		free(s);
		TAP_OK(rules_target(rf, "inc") != NULL, "a target from an include");
		TAP_IS_INT(rf->nfiles, 4, "four files read");
	}
	rules_free(rf);
}

static void test_positions(void)
{
	int ret;
	char *err = load_stderr("A = 1\n"
				"target t\n"
				"    output o = \\\n"
				"        out/x\n"
				"    run echo \\\n"
				"      one $(NOPE) '{o}'\n", &ret);
	char *want = xasprintf("rapid: %s/Rapidfile:6:11: undefined variable 'NOPE'\n", dir);
	TAP_IS_STR(err, want, "positions after a continuation are physical");
	TAP_IS_INT(ret, -1, "fails");
	free(want);
	free(err);
	err = load_stderr("X = {nope}\n"
			  "target t\n"
			  "    output o = out/x\n"
			  "    run echo  $(X)\n", &ret);
	want = xasprintf("rapid: %s/Rapidfile:4:15: unknown placeholder '{nope}'\n", dir);
	TAP_IS_STR(err, want, "a placeholder from a variable points at its $(");
	free(want);
	free(err);
	err = load_stderr("target t\n    output o = out/x\n    run echo \"a\\\" b\n", &ret);
	want = xasprintf("rapid: %s/Rapidfile:3:14: unterminated double quote\n", dir);
	TAP_IS_STR(err, want, "an unterminated quote points at the quote");
	free(want);
	free(err);
}

static void test_valid_id(void)
{
	const char *why = NULL;
	TAP_OK(rules_valid_id("100307", NULL), "digits");
	TAP_OK(rules_valid_id("sub-01_ses.A", NULL), "dots, dashes, underscores inside");
	TAP_OK(!rules_valid_id("", &why) && why, "empty");
	TAP_OK(!rules_valid_id(".hidden", NULL), "leading dot");
	TAP_OK(!rules_valid_id("-x", NULL), "leading dash");
	TAP_OK(!rules_valid_id("a/b", NULL), "slash");
	TAP_OK(!rules_valid_id("a b", NULL), "space");
	char big[300];
	memset(big, 'a', sizeof big - 1);
	big[255] = 0;
	TAP_OK(rules_valid_id(big, NULL), "255 bytes");
	big[255] = 'a';
	big[256] = 0;
	TAP_OK(!rules_valid_id(big, &why), "256 bytes");
	TAP_IS_STR(why, "at most 255 bytes", "why: length");
}

/* The loader's name table (rules/map.c) at 100,000 names: the slots it
 * looks at stay within a small factor of the operations, as the parse of
 * 100,000 targets needs (it was quadratic: a linear scan per target). */
static void test_map(void)
{
	enum { N = 100000 };
	struct rl_map m = {0};
	char **keys = xcalloc(N, sizeof(*keys));
	for (size_t i = 0; i < N; i++) {
		keys[i] = xasprintf("t%zu", i);
		rl_map_put(&m, keys[i], strlen(keys[i]), keys[i]);
	}
	TAP_IS_INT(m.n, N, "100,000 names");
	bool found = true, absent = true;
	for (size_t i = 0; i < N; i++) {
		char k[32];
		found &= rl_map_get(&m, keys[i], strlen(keys[i])) == keys[i];
		snprintf(k, sizeof k, "u%zu", i);
		absent &= rl_map_get(&m, k, strlen(k)) == NULL;
	}
	TAP_OK(found, "each name finds its value");
	TAP_OK(absent, "names not put find nothing");
	rl_map_put(&m, keys[7], strlen(keys[7]), keys[8]);
	TAP_OK(rl_map_get(&m, "t7", 2) == keys[8] && m.n == N, "put again replaces");
	TAP_OK(rl_map_get(&m, "t1", 1) == NULL, "a prefix is another name");
	/* 300,001 operations (and the rehashes on the way). */
	TAP_OK(m.probes < 8 * (3 * (size_t)N + 1), "%zu slots looked at for %d operations", m.probes, 3 * N + 1);
	rl_map_free(&m);
	TAP_OK(rl_map_get(&m, "t1", 2) == NULL, "a freed map is empty");
	for (size_t i = 0; i < N; i++)
		free(keys[i]);
	free(keys);
}

int main(void)
{
	snprintf(dir, sizeof dir, "%s", "/tmp/rules_test.XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 2;
	}
	test_variables();
	test_sets();
	test_templates();
	test_run_split();
	test_attributes();
	test_roots();
	test_references();
	test_hooks();
	test_include();
	test_positions();
	test_valid_id();
	test_map();
	remove_tree(dir);
	return tap_done();
}
