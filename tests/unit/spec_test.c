/* spec_test.c - the instance spec round-trips: encode, parse, and every
 * field comes back equal, odd strings included (quotes, backslashes,
 * UTF-8, control characters). */
#include "runner/spec.h"
#include "lib/util.h"
#include "tests/unit/tap.h"

#include <stdlib.h>
#include <string.h>

#define ODD "q\"uo\"te \\back\\slash\\ é漢字🎉 \x01\x1f\t\r\n\x7f end"

static bool same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static bool pairs_equal(const struct spec_pair *a, size_t na, const struct spec_pair *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (!same(a[i].name, b[i].name) || !same(a[i].value, b[i].value))
			return false;
	return true;
}

static void check_equal(const struct spec *a, const struct spec *b, const char *what)
{
	TAP_IS_STR(b->target, a->target, "%s: target", what);
	TAP_OK(pairs_equal(a->wildcards, a->nwildcards, b->wildcards, b->nwildcards), "%s: wildcards", what);
	TAP_IS_STR(b->key, a->key, "%s: key", what);
	TAP_IS_STR(b->root, a->root, "%s: root", what);
	TAP_IS_STR(b->sentinel_dir, a->sentinel_dir, "%s: sentinel_dir", what);
	TAP_IS_STR(b->log_dir, a->log_dir, "%s: log_dir", what);
	bool ok = a->nargv == b->nargv;
	for (size_t i = 0; ok && i < a->nargv; i++) {
		ok = a->argv[i].nsegs == b->argv[i].nsegs;
		for (size_t j = 0; ok && j < a->argv[i].nsegs; j++) {
			const struct spec_seg *x = &a->argv[i].segs[j], *y = &b->argv[i].segs[j];
			ok = x->kind == y->kind &&
			     (x->kind == SPEC_SEG_TEXT ? same(x->text, y->text) : x->index == y->index);
		}
	}
	TAP_OK(ok, "%s: argv segments", what);
	ok = a->ncommand == b->ncommand;
	for (size_t i = 0; ok && i < a->ncommand; i++)
		ok = same(a->command[i], b->command[i]);
	TAP_OK(ok, "%s: command", what);
	ok = a->ninputs == b->ninputs;
	for (size_t i = 0; ok && i < a->ninputs; i++) {
		const struct spec_input *x = &a->inputs[i], *y = &b->inputs[i];
		ok = same(x->name, y->name) && same(x->uri, y->uri) && same(x->path, y->path) &&
		     same(x->fingerprint, y->fingerprint) && x->optional == y->optional &&
		     x->present == y->present && x->gather == y->gather && x->ngathered == y->ngathered;
		for (size_t k = 0; ok && k < x->ngathered; k++)
			ok = same(x->gathered[k].uri, y->gathered[k].uri) &&
			     same(x->gathered[k].path, y->gathered[k].path) &&
			     same(x->gathered[k].fingerprint, y->gathered[k].fingerprint);
	}
	TAP_OK(ok, "%s: inputs", what);
	ok = a->noutputs == b->noutputs;
	for (size_t i = 0; ok && i < a->noutputs; i++) {
		const struct spec_output *x = &a->outputs[i], *y = &b->outputs[i];
		ok = same(x->name, y->name) && same(x->uri, y->uri) && same(x->path, y->path) &&
		     x->dir == y->dir;
	}
	TAP_OK(ok, "%s: outputs", what);
	TAP_IS_STR(b->image, a->image, "%s: image", what);
	TAP_IS_STR(b->container, a->container, "%s: container", what);
	TAP_OK(pairs_equal(a->env, a->nenv, b->env, b->nenv), "%s: env", what);
	TAP_IS_INT(b->timeout_s, a->timeout_s, "%s: timeout_s", what);
	TAP_IS_INT(b->force, a->force, "%s: force", what);
	TAP_IS_STR(b->workdir, a->workdir, "%s: workdir", what);
	TAP_IS_STR(b->scratch, a->scratch, "%s: scratch", what);
	TAP_OK(pairs_equal(a->components, a->ncomponents, b->components, b->ncomponents),
	       "%s: components", what);
}

static void roundtrip(const struct spec *a, const char *what)
{
	size_t len = 0;
	char *text = spec_encode(a, &len);
	TAP_OK(text && strlen(text) == len, "%s: encoded (%zu bytes)", what, len);
	char *err = NULL;
	struct spec *b = text ? spec_parse(text, len, &err) : NULL;
	TAP_OK(b != NULL, "%s: parsed back (%s)", what, err ? err : "no error");
	if (b) {
		check_equal(a, b, what);
		/* and the parsed spec encodes to the same text */
		size_t len2;
		char *again = spec_encode(b, &len2);
		TAP_IS_STR(again, text, "%s: encode(parse(encode(s))) == encode(s)", what);
		free(again);
	}
	spec_free(b);
	free(err);
	free(text);
}

int main(void)
{
	struct spec_pair wc[] = {{"participant", "100307"}, {"run", "REST1_LR"}};
	struct spec_pair env[] = {{"ODD", ODD}, {"EMPTY", ""}};
	struct spec_pair comps[] = {{"command", ODD}, {"input bold", "in/b\nsize=1 xxh3=00"}};
	struct spec_seg w0[] = {{SPEC_SEG_TEXT, "prog " ODD, 0}};
	struct spec_seg w1[] = {{SPEC_SEG_INPUT, NULL, 1}};
	struct spec_seg w2[] = {{SPEC_SEG_OUTPUT, NULL, 0}, {SPEC_SEG_TEXT, "sub-\"x\"", 0},
				{SPEC_SEG_INPUT, NULL, 0}};
	struct spec_seg w3[] = {{SPEC_SEG_TEXT, "", 0}};
	struct spec_word argv[] = {{w0, 1}, {w1, 1}, {w2, 3}, {w3, 1}};
	const char *command[] = {"prog " ODD, "in/b.nii", "", ODD};
	struct spec_input in[] = {
		{.name = "mask", .uri = "in/m\\a\"sk", .path = "", .optional = true, .present = false},
		{.name = "bold", .uri = "s3://b/k " ODD, .path = "/abs/in/b\xc3\xa9.nii",
		 .fingerprint = "size=1 etag=\"9f\"", .optional = false, .present = true},
	};
	struct spec_output out[] = {
		{"dir", "out/100307/", "/abs/out/100307/", true},
		{"file", "out/" ODD ".txt", "/abs/out/" ODD ".txt", false},
	};
	struct spec a = {
		.target = "rapidtide",
		.wildcards = wc, .nwildcards = 2,
		.key = "0123456789abcdef0123456789abcdef",
		.root = "/abs/out/" ODD "/",
		.sentinel_dir = "/abs/out/.rapid/sentinels/rapidtide/100307/REST1_LR/",
		.log_dir = "/abs/out/.rapid/logs/rapidtide/100307/REST1_LR/",
		.argv = argv, .nargv = 4,
		.command = command, .ncommand = 4,
		.inputs = in, .ninputs = 2,
		.outputs = out, .noutputs = 2,
		.image = "fredericklab/rapidtide:3.2.0@sha256:" ODD,
		.container = "podman",
		.env = env, .nenv = 2,
		.timeout_s = 36000,
		.force = true,
		.components = comps, .ncomponents = 2,
		.workdir = "/abs/project " ODD "/",
	};
	roundtrip(&a, "full spec");

	/* The smallest: no wildcards, inputs, image, env, timeout, components. */
	struct spec_seg m0[] = {{SPEC_SEG_TEXT, "true", 0}};
	struct spec_word margv[] = {{m0, 1}};
	struct spec_output mout[] = {{"o", "o.txt", "/abs/o.txt", false}};
	struct spec m = {
		.target = "t", .key = "ffffffffffffffffffffffffffffffff",
		.root = "/r/", .sentinel_dir = "/r/s/", .log_dir = "/r/l/",
		.argv = margv, .nargv = 1, .outputs = mout, .noutputs = 1,
	};
	roundtrip(&m, "minimal spec");

	/* Gathering inputs: one with three paths (in order), an optional one
	 * that gathered none; the words holding them stay one spec word each. */
	struct spec_gathered g3[] = {
		{"out/1/REST1_LR/", "/abs/out/1/REST1_LR/", "key=00000000000000000000000000000001"},
		{"out/1/" ODD "/", "/abs/out/1/" ODD "/", "key=00000000000000000000000000000002"},
		{"out/1/REST2_RL/", "/abs/out/1/REST2_RL/", NULL},
	};
	struct spec_input gin[] = {
		{.name = "maps", .uri = "rapidtide.dir", .path = "", .fingerprint = "gathered 3 of 4",
		 .present = true, .gather = true, .gathered = g3, .ngathered = 3},
		{.name = "masks", .uri = "mask.o", .path = "", .fingerprint = "gathered 0 of 4",
		 .optional = true, .present = false, .gather = true, .gathered = NULL, .ngathered = 0},
		{.name = "bold", .uri = "in/b.nii", .path = "/abs/in/b.nii", .present = true},
	};
	struct spec_seg g0[] = {{SPEC_SEG_TEXT, "summarise", 0}};
	struct spec_seg g1[] = {{SPEC_SEG_TEXT, "--maps=", 0}, {SPEC_SEG_INPUT, NULL, 0},
				{SPEC_SEG_TEXT, ":", 0}, {SPEC_SEG_INPUT, NULL, 2}};
	struct spec_seg g2[] = {{SPEC_SEG_INPUT, NULL, 1}};
	struct spec_word gargv[] = {{g0, 1}, {g1, 4}, {g2, 1}};
	const char *gcommand[] = {"summarise", "--maps=out/1/REST1_LR/:in/b.nii",
				  "--maps=out/1/" ODD "/:in/b.nii", "--maps=out/1/REST2_RL/:in/b.nii"};
	struct spec gs = {
		.target = "summary", .key = "ffffffffffffffffffffffffffffffff",
		.wildcards = wc, .nwildcards = 1,
		.root = "/r/", .sentinel_dir = "/r/s/", .log_dir = "/r/l/",
		.argv = gargv, .nargv = 3, .command = gcommand, .ncommand = 4,
		.inputs = gin, .ninputs = 3, .outputs = mout, .noutputs = 1,
	};
	roundtrip(&gs, "gathering inputs");
	{
		size_t glen;
		char *gt = spec_encode(&gs, &glen);
		char *err = NULL;
		struct spec *b = gt ? spec_parse(gt, glen, &err) : NULL;
		TAP_OK(b && b->inputs[0].gather && b->inputs[0].ngathered == 3 && b->inputs[0].present &&
		       !b->inputs[1].present && !b->inputs[2].gather,
		       "gathering inputs: the list, and present only when it is not empty");
		TAP_OK(gt && strstr(gt, "\"name\":\"maps\",\"uri\":\"rapidtide.dir\",\"path\":null"),
		       "gathering inputs: path is null (a runner without lists rejects the spec)");
		spec_free(b);
		free(err);
		free(gt);
	}
	/* What is wrong with a gathering input is named. */
	static const struct {
		const char *json, *err;
	} bad[] = {
		{"{\"schema\":1,\"target\":\"t\",\"key\":\"ffffffffffffffffffffffffffffffff\",\"root\":\"/r/\",\"sentinel_dir\":\"/r/s/\",\"log_dir\":\"/r/l/\","
		 "\"inputs\":[{\"name\":\"m\",\"uri\":\"u.o\",\"path\":\"/x\",\"gathered\":[{\"uri\":\"a\",\"path\":\"/a\"}]}],"
		 "\"outputs\":[{\"name\":\"o\",\"uri\":\"o\",\"path\":\"/o\",\"dir\":false}],\"argv\":[[\"x\"]]}",
		 "'inputs[0].path' must be null for a gathering input, not a string"},
		{"{\"schema\":1,\"target\":\"t\",\"key\":\"ffffffffffffffffffffffffffffffff\",\"root\":\"/r/\",\"sentinel_dir\":\"/r/s/\",\"log_dir\":\"/r/l/\","
		 "\"inputs\":[{\"name\":\"m\",\"uri\":\"u.o\",\"gathered\":[]}],"
		 "\"outputs\":[{\"name\":\"o\",\"uri\":\"o\",\"path\":\"/o\",\"dir\":false}],\"argv\":[[\"x\"]]}",
		 "'inputs[0].present': the required input 'm' is not present"},
		{"{\"schema\":1,\"target\":\"t\",\"key\":\"ffffffffffffffffffffffffffffffff\",\"root\":\"/r/\",\"sentinel_dir\":\"/r/s/\",\"log_dir\":\"/r/l/\","
		 "\"inputs\":[{\"name\":\"m\",\"uri\":\"u.o\",\"gathered\":[{\"uri\":\"a\"}]}],"
		 "\"outputs\":[{\"name\":\"o\",\"uri\":\"o\",\"path\":\"/o\",\"dir\":false}],\"argv\":[[\"x\"]]}",
		 "missing field 'inputs[0].gathered[0].path'"},
		{"{\"schema\":1,\"target\":\"t\",\"key\":\"ffffffffffffffffffffffffffffffff\",\"root\":\"/r/\",\"sentinel_dir\":\"/r/s/\",\"log_dir\":\"/r/l/\","
		 "\"inputs\":[{\"name\":\"m\",\"uri\":\"u.o\",\"gathered\":[{\"uri\":\"a\",\"path\":\"/a\"}]},"
		 "{\"name\":\"n\",\"uri\":\"v.o\",\"gathered\":[{\"uri\":\"b\",\"path\":\"/b\"}]}],"
		 "\"outputs\":[{\"name\":\"o\",\"uri\":\"o\",\"path\":\"/o\",\"dir\":false}],\"argv\":[[\"x\"],[{\"input\":\"m\"},{\"input\":\"n\"}]]}",
		 "'argv[1][1]': a word may hold one gathering input only"},
	};
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		char *err = NULL;
		struct spec *b = spec_parse(bad[k].json, strlen(bad[k].json), &err);
		TAP_OK(!b, "bad gathering spec %zu: rejected", k);
		TAP_IS_STR(err, bad[k].err, "bad gathering spec %zu: message", k);
		spec_free(b);
		free(err);
	}
	/* workdir absent or null: NULL (the recipe runs in its scratch
	 * folder); relative: taken from the runner's working folder. */
	const char *base = "{\"schema\":1,\"target\":\"t\",\"key\":\"ffffffffffffffffffffffffffffffff\","
			   "\"root\":\"/r/\",\"sentinel_dir\":\"/r/s/\",\"log_dir\":\"/r/l/\","
			   "\"argv\":[[\"true\"]],\"outputs\":[{\"name\":\"o\",\"uri\":\"o\",\"path\":\"/o\",\"dir\":false}]";
	static const struct {
		const char *tail, *want, *err;
	} wd[] = {
		{"}", NULL, NULL},
		{",\"workdir\":null}", NULL, NULL},
		{",\"workdir\":\"/p/q\"}", "/p/q", NULL},
		{",\"workdir\":\"\"}", NULL, "'workdir' must not be empty"},
		{",\"workdir\":3}", NULL, "'workdir' must be a string, not a number"},
	};
	for (size_t k = 0; k < ARRAY_LEN(wd); k++) {
		char *t = xasprintf("%s%s", base, wd[k].tail);
		char *err = NULL;
		struct spec *p = spec_parse(t, strlen(t), &err);
		if (wd[k].err) {
			TAP_OK(!p && err && strstr(err, wd[k].err), "workdir %s: rejected (%s)", wd[k].tail,
			       err ? err : "accepted");
		} else {
			TAP_OK(p != NULL, "workdir %s: parsed (%s)", wd[k].tail, err ? err : "no error");
			TAP_IS_STR(p ? p->workdir : NULL, wd[k].want, "workdir %s: value", wd[k].tail);
		}
		spec_free(p);
		free(err);
		free(t);
	}
	char *t = xasprintf("%s,\"workdir\":\"rel/dir\"}", base), *err = NULL;
	struct spec *p = spec_parse(t, strlen(t), &err);
	TAP_OK(p && p->workdir && p->workdir[0] == '/' && strstr(p->workdir, "/rel/dir"),
	       "a relative workdir is made absolute (%s)", p && p->workdir ? p->workdir : "none");
	spec_free(p);
	free(err);
	free(t);

	/* On S3: URIs stay URIs (never made local paths), scratch is kept. */
	{
		struct spec_gathered ga[] = {{"s3://o/up/1/", "s3://o/up/1/", "key=00"}};
		struct spec_input s3in[] = {
			{.name = "bold", .uri = "s3://hcp/b.nii", .path = "s3://hcp/b.nii", .present = true},
			{.name = "t1", .uri = "s3://hcp/T1w/", .path = "s3://hcp/T1w/", .present = true},
			{.name = "maps", .uri = "up.dir", .path = "", .present = true, .gather = true,
			 .gathered = ga, .ngathered = 1},
		};
		struct spec_output s3out[] = {{"dir", "s3://o/r/1/", "s3://o/r/1/", true}};
		struct spec s3 = {
			.target = "t", .key = "0123456789abcdef0123456789abcdef",
			.root = "s3://o/r/", .sentinel_dir = "s3://o/r/.rapid/sentinels/t/",
			.log_dir = "s3://o/r/.rapid/logs/t/", .argv = argv, .nargv = 1,
			.inputs = s3in, .ninputs = 3, .outputs = s3out, .noutputs = 1,
			.scratch = "/abs/project/.rapid/scratch/",
		};
		roundtrip(&s3, "S3 spec");
		size_t l;
		char *st = spec_encode(&s3, &l), *e = NULL;
		struct spec *q = st ? spec_parse(st, l, &e) : NULL;
		TAP_IS_STR(q ? q->inputs[1].path : NULL, "s3://hcp/T1w/", "S3 spec: a prefix input's path is its URI");
		TAP_IS_STR(q ? q->inputs[2].gathered[0].path : NULL, "s3://o/up/1/", "S3 spec: so is a gathered entry's");
		TAP_IS_STR(q ? q->outputs[0].path : NULL, "s3://o/r/1/", "S3 spec: and an output's");
		spec_free(q);
		free(e);
		free(st);
		char *refused = xasprintf("{\"schema\":1,\"target\":\"t\",\"key\":\"0123456789abcdef0123456789abcdef\","
				      "\"root\":\"s3://o/r/\",\"sentinel_dir\":\"s3://o/r/s/\",\"log_dir\":\"s3://o/r/l/\","
				      "\"argv\":[[\"x\"]],\"outputs\":[],\"scratch\":\"s3://o/tmp/\"}");
		q = spec_parse(refused, strlen(refused), &e);
		TAP_OK(!q && e && strstr(e, "'scratch' must be a local folder"), "S3 spec: scratch on S3 is refused (%s)",
		       e ? e : "accepted");
		spec_free(q);
		free(e);
		free(refused);
	}

	/* Control characters are escaped, never written raw. */
	size_t len;
	char *text = spec_encode(&a, &len);
	bool raw = false;
	for (size_t i = 0; text && i < len; i++)
		if ((unsigned char)text[i] < 0x20)
			raw = true;
	TAP_OK(text && !raw, "no raw control character in the encoded text");
	free(text);
	return tap_done();
}
