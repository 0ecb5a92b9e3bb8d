/* sentinel_format_test.c - sentinel names (as local paths and as S3 keys)
 * and bodies round-trip through their one encoder and decoder; names that
 * are not sentinels are rejected, never misparsed. */
#include "runner/layout.h"
#include "runner/sentinel_body.h"
#include "runner/sentinel_name.h"
#include "lib/util.h"
#include "tests/unit/tap.h"

#include <stdlib.h>
#include <string.h>

#define K "0123456789abcdef0123456789abcdef"
#define ODD "q\"uo\"te \\back\\slash\\ é漢字🎉 \x01\x1f\t\r\n\x7f end"

static bool same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

/* Encode values/key/state/holder, then decode rel (after skip bytes). */
static void name_roundtrip(const char *what, const char *prefix, const char *const *values, size_t n,
			   enum sentinel_state st, const char *holder, const char *want_holder,
			   const char *want)
{
	struct buf b = {0};
	buf_puts(&b, prefix);
	size_t put_dirlen = sentinel_name_put(&b, values, n, K, st, holder);
	TAP_IS_STR(b.data, want, "%s: encoded", what);
	struct sentinel_name nm;
	const char *rel = b.data + strlen(prefix);
	int r = sentinel_name_parse(rel, strlen(rel), &nm);
	TAP_IS_INT(r, 0, "%s: decoded", what);
	if (r == 0) {
		TAP_IS_STR(nm.key, K, "%s: key", what);
		TAP_IS_INT(nm.state, st, "%s: state", what);
		TAP_IS_STR(nm.holder, want_holder, "%s: holder", what);
		TAP_IS_INT(nm.ndirs, n, "%s: number of values", what);
		/* the folder part is the values, each followed by '/' */
		struct buf d = {0};
		for (size_t i = 0; i < n; i++)
			buf_printf(&d, "%s/", values[i]);
		TAP_OK(nm.dirlen == d.len && !memcmp(rel, d.data ? d.data : "", d.len), "%s: folder part", what);
		TAP_IS_INT(put_dirlen, d.len, "%s: the encoder says how long the folder part is", what);
		buf_free(&d);
	}
	buf_free(&b);
}

static void rejected(const char *rel, size_t len, const char *why)
{
	struct sentinel_name nm;
	TAP_IS_INT(sentinel_name_parse(rel, len, &nm), -1, "rejected: %s", why);
}

static void names(void)
{
	const char *v[] = {"100307", "REST1_LR"};
	/* a local path below the root, an S3 key below the prefix */
	char *local = layout_sentinel_root("/abs/out/", "rapidtide");
	TAP_IS_STR(local, "/abs/out/.rapid/sentinels/rapidtide/", "the sentinel folder of a local root");
	name_roundtrip("local ok", local, v, 2, SENT_OK, NULL, "",
		       "/abs/out/.rapid/sentinels/rapidtide/100307/REST1_LR/" K ".ok.json");
	name_roundtrip("local failed", "", v, 2, SENT_FAILED, NULL, "", "100307/REST1_LR/" K ".failed.json");
	name_roundtrip("local running (no holder)", "", v, 2, SENT_RUNNING, NULL, "",
		       "100307/REST1_LR/" K ".running.json");
	free(local);
	char *s3 = layout_sentinel_root("rt/", "rapidtide");
	name_roundtrip("S3 ok", s3, v, 2, SENT_OK, NULL, "", "rt/.rapid/sentinels/rapidtide/100307/REST1_LR/" K ".ok.json");
	name_roundtrip("S3 running with its holder", s3, v, 1, SENT_RUNNING,
		       "6a1f2c3d-0b1e-4f00-9a9a-1234567890ab:17.2", "6a1f2c3d-0b1e-4f00-9a9a-1234567890ab:17.2",
		       "rt/.rapid/sentinels/rapidtide/100307/" K ".running.6a1f2c3d-0b1e-4f00-9a9a-1234567890ab:17.2.json");
	free(s3);
	name_roundtrip("no wildcards", "", NULL, 0, SENT_OK, NULL, "", K ".ok.json");
	/* hostile-looking but valid wildcard values stay values */
	const char *h[] = {K ".ok.json", "x.running.json", "a..b", "json", "9-_.z", K};
	name_roundtrip("values that look like sentinels", "", h, 6, SENT_FAILED, NULL, "",
		       K ".ok.json/x.running.json/a..b/json/9-_.z/" K "/" K ".failed.json");
	/* a holder is only for running, and only a valid one */
	name_roundtrip("a holder on ok is left out", "", v, 1, SENT_OK, "job.1", "", "100307/" K ".ok.json");
	name_roundtrip("an invalid holder is left out", "", v, 1, SENT_RUNNING, "a/b", "",
		       "100307/" K ".running.json");

	rejected("", 0, "empty");
	rejected(K, 32, "a key alone");
	rejected(K ".ok", 35, "no .json");
	rejected("0123456789ABCDEF0123456789abcdef.ok.json", 40, "upper-case hex");
	rejected("0123456789abcdef0123456789abcde.ok.json", 39, "31 hex digits");
	rejected(K "0.ok.json", 41, "33 hex digits");
	rejected(K ".ok.json.tmp.12.3", 49, "a temporary file");
	rejected(K ".ok.job.1.json", 46, "a holder on ok");
	rejected(K ".failed.job.1.json", 50, "a holder on failed");
	rejected(K ".running..json", 46, "an empty holder");
	rejected(K ".running.-x.json", 48, "a holder starting with '-'");
	rejected(K ".running.a b.json", 49, "a holder with a space");
	rejected(K ".bogus.json", 43, "an unknown state");
	rejected(K ".oks.json", 41, "a state with a suffix");
	rejected(K "ok.json", 39, "no dot after the key");
	rejected("a//" K ".ok.json", 43, "an empty folder component");
	rejected("./" K ".ok.json", 42, "a '.' component");
	rejected("../" K ".ok.json", 43, "a '..' component");
	rejected(".hidden/" K ".ok.json", 48, "a component starting with '.'");
	rejected("a b/" K ".ok.json", 44, "a component with a space");
	rejected("100307/" K ".ok.json/", 48, "a trailing '/'");
	rejected(K ".running.h/x.json", 49, "a holder with '/'");
	char nul[] = "100307/" K ".ok.json";
	nul[3] = 0;
	rejected(nul, sizeof nul - 1, "a NUL inside");
	enum sentinel_state st;
	TAP_OK(sentinel_state_parse("failed", &st) == 0 && st == SENT_FAILED, "state names parse");
	TAP_IS_INT(sentinel_state_parse("Failed", &st), -1, "state names are exact");
}

static void fill(struct sentinel_body *b)
{
	static struct sentinel_pair wc[] = {{"participant", "100307"}, {"run", "REST1_LR"}};
	static struct sentinel_pair comps[] = {{"command", ODD}, {"input bold", "in/b\nsize=1"}};
	static const char *cmd[] = {"rapidtide", ODD, ""};
	static struct sentinel_input in[] = {{"bold", "s3://b/" ODD, "size=1 etag=\"9f\"", true},
					     {"mask", "m", NULL, false}};
	static struct sentinel_output out[] = {{"dir", "a/b.nii.gz", "out/a/b.nii.gz", 123456789012ULL, K,
						"9b2cf535f27731c974343645a3985328-3"},
					       {"f", ODD, ODD, 0, K, NULL}};
	sentinel_body_init(b, SENT_FAILED);
	b->target = "rapidtide";
	b->wildcards = wc;
	b->nwildcards = 2;
	memcpy(b->key, K, 33);
	b->has_components = true;
	b->components = comps;
	b->ncomponents = 2;
	b->command = cmd;
	b->ncommand = 3;
	b->image = "fredericklab/rapidtide:3.2.0";
	b->image_digest = "sha256:" K;
	b->inputs = in;
	b->ninputs = 2;
	b->outputs = out;
	b->noutputs = 2;
	b->has_exit_code = true;
	b->exit_code = 3;
	b->signal = 9;
	b->reason = "exit status 3: " ODD;
	strcpy(b->started, "2026-12-02T03:15:00.123Z");
	strcpy(b->ended, "2026-12-02T03:16:00.623Z");
	b->duration_s = 60.5;
	b->batch_job_id = "6a1f2c3d:17";
	b->array_index = 17;
	b->attempt = 2;
	b->instance_type = "c7g.2xlarge";
	b->host = "node " ODD;
	b->pid = 4242;
	b->rapid_version = RAPID_VERSION;
	b->log = "/abs/out/.rapid/logs/t/" K ".log";
}

static bool pairs_equal(const struct sentinel_pair *a, size_t na, const struct sentinel_pair *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (!same(a[i].name, b[i].name) || !same(a[i].value, b[i].value))
			return false;
	return true;
}

static void body_equal(const struct sentinel_body *a, const struct sentinel_body *b, const char *what)
{
	TAP_IS_INT(b->state, a->state, "%s: state", what);
	TAP_IS_STR(b->target, a->target, "%s: target", what);
	TAP_OK(pairs_equal(a->wildcards, a->nwildcards, b->wildcards, b->nwildcards), "%s: wildcards", what);
	TAP_IS_STR(b->key, a->key, "%s: key", what);
	TAP_IS_INT(b->has_components, a->has_components, "%s: has components", what);
	TAP_OK(pairs_equal(a->components, a->ncomponents, b->components, b->ncomponents), "%s: components", what);
	bool ok = a->ncommand == b->ncommand;
	for (size_t i = 0; ok && i < a->ncommand; i++)
		ok = same(a->command[i], b->command[i]);
	TAP_OK(ok, "%s: command", what);
	TAP_IS_STR(b->image, a->image, "%s: image", what);
	TAP_IS_STR(b->image_digest, a->image_digest, "%s: image digest", what);
	ok = a->ninputs == b->ninputs;
	for (size_t i = 0; ok && i < a->ninputs; i++)
		ok = same(a->inputs[i].name, b->inputs[i].name) && same(a->inputs[i].uri, b->inputs[i].uri) &&
		     same(a->inputs[i].fingerprint, b->inputs[i].fingerprint) &&
		     a->inputs[i].present == b->inputs[i].present;
	TAP_OK(ok, "%s: inputs", what);
	ok = a->noutputs == b->noutputs;
	for (size_t i = 0; ok && i < a->noutputs; i++)
		ok = same(a->outputs[i].name, b->outputs[i].name) && same(a->outputs[i].path, b->outputs[i].path) &&
		     same(a->outputs[i].uri, b->outputs[i].uri) && a->outputs[i].size == b->outputs[i].size &&
		     !strcmp(a->outputs[i].xxh3, b->outputs[i].xxh3) && same(a->outputs[i].etag, b->outputs[i].etag);
	TAP_OK(ok, "%s: outputs", what);
	TAP_IS_INT(b->has_exit_code, a->has_exit_code, "%s: has exit code", what);
	TAP_IS_INT(b->exit_code, a->exit_code, "%s: exit code", what);
	TAP_IS_INT(b->signal, a->signal, "%s: signal", what);
	TAP_IS_STR(b->reason, a->reason, "%s: reason", what);
	TAP_IS_STR(b->started, a->started, "%s: started", what);
	TAP_IS_STR(b->ended, a->ended, "%s: ended", what);
	TAP_OK(b->duration_s == a->duration_s, "%s: duration", what);
	TAP_IS_STR(b->batch_job_id, a->batch_job_id, "%s: batch job id", what);
	TAP_IS_INT(b->array_index, a->array_index, "%s: array index", what);
	TAP_IS_INT(b->attempt, a->attempt, "%s: attempt", what);
	TAP_IS_STR(b->instance_type, a->instance_type, "%s: instance type", what);
	TAP_IS_STR(b->host, a->host, "%s: host", what);
	TAP_IS_INT(b->pid, a->pid, "%s: pid", what);
	TAP_IS_STR(b->rapid_version, a->rapid_version, "%s: rapid version", what);
	TAP_IS_STR(b->log, a->log, "%s: log", what);
}

static void body_roundtrip(const struct sentinel_body *a, const char *what)
{
	size_t len = 0;
	char *text = sentinel_body_encode(a, &len);
	TAP_OK(text && strlen(text) == len && len && text[len - 1] == '\n', "%s: encoded", what);
	char *err = NULL;
	struct sentinel_body *b = text ? sentinel_body_parse(text, len, &err) : NULL;
	TAP_OK(b != NULL, "%s: parsed back (%s)", what, err ? err : "no error");
	if (b) {
		body_equal(a, b, what);
		size_t len2;
		char *again = sentinel_body_encode(b, &len2);
		TAP_IS_STR(again, text, "%s: encode(parse(encode(b))) == encode(b)", what);
		free(again);
	}
	sentinel_body_free(b);
	free(err);
	free(text);
}

static void bodies(void)
{
	struct sentinel_body a;
	fill(&a);
	body_roundtrip(&a, "full body");
	struct sentinel_body n;
	sentinel_body_init(&n, SENT_RUNNING);
	body_roundtrip(&n, "all-null body");

	/* lenient: missing or mistyped fields are null */
	char *err = NULL;
	const char *hand = "{\"schema\":1,\"exit_code\":3,\"reason\":7,\"log\":null,\"pid\":-1,"
			   "\"components\":{\"command\":\"x\",\"bad\":1},\"signal\":\"9\"}";
	struct sentinel_body *b = sentinel_body_parse(hand, strlen(hand), &err);
	TAP_OK(b != NULL, "a hand-written body parses");
	if (b) {
		TAP_OK(b->has_exit_code && b->exit_code == 3, "its exit code");
		TAP_OK(!b->reason && !b->log && b->pid == -1 && b->signal == 0, "mistyped fields read as null");
		TAP_OK(b->has_components && b->ncomponents == 1 && !strcmp(b->components[0].value, "x"),
		       "components: the strings kept");
	}
	sentinel_body_free(b);
	b = sentinel_body_parse("{}", 2, &err);
	TAP_OK(b && !b->has_exit_code && !b->has_components && !b->target, "{} is a body of nulls");
	sentinel_body_free(b);
	b = sentinel_body_parse("[1]", 3, &err);
	TAP_OK(!b && err && strstr(err, "not a JSON object"), "an array is not a body (%s)", err ? err : "");
	free(err);
	err = NULL;
	b = sentinel_body_parse("{\"schema\":2}", 12, &err);
	TAP_OK(!b && err && strstr(err, "schema"), "schema 2 is refused (%s)", err ? err : "");
	free(err);
	err = NULL;
	b = sentinel_body_parse("{\"a\":", 5, &err);
	TAP_OK(!b && err, "truncated JSON is refused");
	free(err);
}

/* Pins "a failed sentinel with "signal": -2147483648 aborts every plan
 * under UBSan": numbers out of their range read as null. */
static void out_of_range(void)
{
	static const struct {
		const char *json;
		bool has_ec;
		int ec, sig;
	} cases[] = {
		{"{\"exit_code\":null,\"signal\":-2147483648}", false, 0, 0},
		{"{\"exit_code\":-2147483648,\"signal\":2147483647}", false, 0, 0},
		{"{\"exit_code\":256,\"signal\":128}", false, 0, 0},
		{"{\"exit_code\":-1,\"signal\":0}", false, 0, 0},
		{"{\"exit_code\":1e300,\"signal\":-1e300}", false, 0, 0},
		{"{\"exit_code\":2.5,\"signal\":9.5}", false, 0, 0},
		{"{\"exit_code\":255,\"signal\":127}", true, 255, 127},
		{"{\"exit_code\":0,\"signal\":1}", true, 0, 1},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		char *err = NULL;
		struct sentinel_body *b = sentinel_body_parse(cases[i].json, strlen(cases[i].json), &err);
		TAP_OK(b != NULL, "%s parses", cases[i].json);
		if (b) {
			TAP_IS_INT(b->has_exit_code, cases[i].has_ec, "%s: has an exit code", cases[i].json);
			TAP_IS_INT(b->exit_code, cases[i].ec, "%s: exit code", cases[i].json);
			TAP_IS_INT(b->signal, cases[i].sig, "%s: signal", cases[i].json);
		}
		sentinel_body_free(b);
		free(err);
	}
}

int main(void)
{
	names();
	bodies();
	out_of_range();
	return tap_done();
}
