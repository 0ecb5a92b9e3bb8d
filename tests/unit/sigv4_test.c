/* sigv4_test.c - SigV4 against AWS's signing test suite and the S3 API
 * Reference examples, read from the repository's
 * tests/vectors/aws-sigv4-test-suite: for each of the v4/<case>/ folders,
 * header signing and presigning (canonical request, string to sign,
 * signature and the signed request, byte for byte); every case of
 * s3-examples.json. Then our own cases: S3 keys with special characters,
 * generic path normalization and double encoding, canonical queries, the
 * Authorization header, re-signing, the key cache, and errors that never
 * show a secret. A missing suite is a failure, not a skip. */
#include "aws/crypto.h"
#include "aws/sigv4.h"
#include "aws/uri.h"
#include "lib/util.h"
#include "tests/unit/tap.h"
#include "tests/unit/capture.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECRET_FRAGMENT "bPxRfiCYEXAMPLEKEY"

static int vectors_checked;

/* ---- reporting ---- */

/* Print text line by line as TAP diagnostics, with a marker. */
static void diag_lines(const char *mark, const char *s)
{
	const char *p = s;
	for (;;) {
		const char *nl = strchr(p, '\n');
		int n = nl ? (int)(nl - p) : (int)strlen(p);
		printf("#   %s|%.*s|\n", mark, n, p);
		if (!nl)
			break;
		p = nl + 1;
	}
}

/* Compare got with want; on a mismatch print the case, the first differing
 * line and both texts, a line per TAP comment (|…| shows the ends). */
static int check_text(const char *name, const char *what, const char *got, const char *want)
{
	int ok = got && want && !strcmp(got, want);
	vectors_checked++;
	TAP_OK(ok, "%s: %s", name, what);
	if (!ok) {
		size_t line = 1;
		const char *g = got ? got : "", *w = want ? want : "";
		while (*g && *g == *w) {
			line += *g == '\n';
			g++;
			w++;
		}
		printf("#   case %s, %s differs from line %zu\n", name, what, line);
		printf("#   expected:\n");
		diag_lines("-", want ? want : "(null)");
		printf("#   got:\n");
		diag_lines("+", got ? got : "(null)");
	}
	return ok;
}

/* aws/ reports nothing: signing errors are said here as the CLI says
 * them, so that the checks of stderr see exactly the user's message. */
static void said(struct aws_error *e)
{
	if (aws_error_isset(e)) {
		char *m = aws_error_format(e);
		warn("%s", m);
		free(m);
	}
	aws_error_clear(e);
}

static int sign(const struct sigv4_config *cfg, const struct sigv4_request *req, struct sigv4_result *out)
{
	struct aws_error e = {0};
	int rc = sigv4_sign_headers(cfg, req, out, &e);
	said(&e);
	return rc;
}

static int presign(const struct sigv4_config *cfg, const struct sigv4_request *req, unsigned expires, char **query,
		   struct sigv4_result *out)
{
	struct aws_error e = {0};
	int rc = sigv4_presign(cfg, req, expires, query, out, &e);
	said(&e);
	return rc;
}

/* ---- stderr capture ---- */


/* ---- finding and reading the suite ---- */

/* Where the suite lives in the repository. */
#define SUITE_DIR "tests/vectors/aws-sigv4-test-suite"

static int is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The repository's tests/vectors/aws-sigv4-test-suite, found from this
 * program's path (<repo>/build/tests/unit/sigv4_test, or build-san) or from
 * the current folder. NULL if neither exists. */
static char *find_suite(const char *argv0)
{
	char *p, real[PATH_MAX];

	if (realpath(argv0, real)) {
		char *d = xstrdup(real);
		for (int i = 0; i < 4; i++) { /* sigv4_test, unit, tests, build */
			char *up = path_dirname(d);
			free(d);
			d = up;
		}
		p = xasprintf("%s/" SUITE_DIR, d);
		free(d);
		if (is_dir(p))
			return p;
		free(p);
	}
	p = xstrdup(SUITE_DIR);
	if (is_dir(p))
		return p;
	free(p);
	return NULL;
}

static char *slurp(const char *dir, const char *name)
{
	char *p = path_join(dir, name);
	size_t len;
	char *s = read_file(p, &len);
	if (!s)
		printf("# cannot read %s\n", p);
	free(p);
	return s;
}

/* ---- request.txt ---- */

struct raw_request {
	char *method, *path, *query; /* query NULL when the URI has no '?' */
	struct sigv4_headers headers;
	char *body;
	size_t body_len;
};

static void raw_request_free(struct raw_request *r)
{
	free(r->method);
	free(r->path);
	free(r->query);
	sigv4_headers_free(&r->headers);
	free(r->body);
}

/* "METHOD URI HTTP/1.1" (the URI may hold spaces), header lines (a line
 * starting with white space continues the previous value, kept with its
 * newline), an empty line, the body. -1 if malformed. */
static int parse_request(const char *text, struct raw_request *r)
{
	const char *p = text, *eol = strchr(p, '\n');
	const char *sp1, *sp2, *q;
	memset(r, 0, sizeof(*r));
	if (!eol)
		eol = p + strlen(p);
	sp1 = memchr(p, ' ', (size_t)(eol - p));
	sp2 = eol;
	while (sp2 > p && sp2[-1] != ' ')
		sp2--;
	if (!sp1 || sp2 <= sp1 + 1)
		return -1;
	sp2--; /* the space before HTTP/1.1 */
	r->method = xstrndup(p, (size_t)(sp1 - p));
	q = memchr(sp1 + 1, '?', (size_t)(sp2 - sp1 - 1));
	r->path = xstrndup(sp1 + 1, (size_t)((q ? q : sp2) - sp1 - 1));
	if (q)
		r->query = xstrndup(q + 1, (size_t)(sp2 - q - 1));
	p = *eol ? eol + 1 : eol;
	while (*p) {
		const char *colon;
		eol = strchr(p, '\n');
		if (!eol)
			eol = p + strlen(p);
		if (eol == p) { /* the empty line: the body follows */
			p = eol + 1;
			r->body_len = strlen(p);
			r->body = xstrdup(p);
			return 0;
		}
		if (*p == ' ' || *p == '\t') {
			struct sigv4_header *h;
			char *v;
			if (!r->headers.n)
				return -1;
			h = &r->headers.v[r->headers.n - 1];
			v = xasprintf("%s\n%.*s", h->value, (int)(eol - p), p);
			free(h->value);
			h->value = v;
		} else {
			char *name, *value;
			colon = memchr(p, ':', (size_t)(eol - p));
			if (!colon)
				return -1;
			name = xstrndup(p, (size_t)(colon - p));
			value = xstrndup(colon + 1, (size_t)(eol - colon - 1));
			sigv4_headers_add(&r->headers, name, value);
			free(name);
			free(value);
		}
		p = *eol ? eol + 1 : eol;
	}
	return 0;
}

static void copy_headers(struct sigv4_headers *dst, const struct sigv4_headers *src)
{
	for (size_t i = 0; i < src->n; i++)
		sigv4_headers_add(dst, src->v[i].name, src->v[i].value);
}

/* The request as the suite prints it: request line, "Name:value" lines,
 * an empty line, the body. */
static char *render(const char *method, const char *path, const char *query, const struct sigv4_headers *h,
                    const char *body)
{
	struct buf b = {0};
	buf_printf(&b, "%s %s%s%s HTTP/1.1\n", method, path, query ? "?" : "", query ? query : "");
	for (size_t i = 0; i < h->n; i++)
		buf_printf(&b, "%s:%s\n", h->v[i].name, h->v[i].value);
	buf_printf(&b, "\n%s", body ? body : "");
	return buf_detach(&b);
}

/* ---- the v4 suite ---- */

static const char *jstr(const cJSON *o, const char *name)
{
	const cJSON *i = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsString(i) ? i->valuestring : NULL;
}

static int jbool(const cJSON *o, const char *name)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, name));
}

static void check_file(const char *dir, const char *name, const char *file, const char *got)
{
	char *want = slurp(dir, file);
	check_text(name, file, got, want);
	free(want);
}

static void run_case(const char *suite, const char *name, struct sigv4_cache *cache)
{
	char *dir = xasprintf("%s/v4/%s", suite, name);
	char *reqtxt = slurp(dir, "request.txt"), *ctxtxt = slurp(dir, "context.json");
	struct raw_request r;
	cJSON *ctx = NULL;
	const cJSON *cred, *exp;
	struct sigv4_credentials creds;
	struct sigv4_config cfg = {0};
	struct sigv4_request req = {0};
	struct sigv4_headers h = {0};
	struct sigv4_result res = {0};
	char *query = NULL, *signed_req;
	int64_t t;

	memset(&r, 0, sizeof(r));
	if (!TAP_OK(reqtxt && ctxtxt, "%s: request.txt and context.json readable", name))
		goto out;
	if (!TAP_OK(parse_request(reqtxt, &r) == 0, "%s: request.txt parses", name))
		goto out;
	ctx = cJSON_Parse(ctxtxt);
	cred = cJSON_GetObjectItemCaseSensitive(ctx, "credentials");
	exp = cJSON_GetObjectItemCaseSensitive(ctx, "expiration_in_seconds");
	if (!TAP_OK(ctx && cred && cJSON_IsNumber(exp) && sigv4_parse_time(jstr(ctx, "timestamp"), &t) == 0,
	            "%s: context.json has credentials, expiration and timestamp", name))
		goto out;
	creds.access_key_id = jstr(cred, "access_key_id");
	creds.secret_access_key = jstr(cred, "secret_access_key");
	creds.session_token = jstr(cred, "token");
	cfg.service = jstr(ctx, "service");
	cfg.region = jstr(ctx, "region");
	cfg.creds = &creds;
	cfg.time = t;
	cfg.flags = (jbool(ctx, "normalize") ? 0 : SIGV4_NO_NORMALIZE) |
	            (jbool(ctx, "sign_body") ? SIGV4_CONTENT_SHA256 : 0) |
	            (jbool(ctx, "omit_session_token") ? SIGV4_UNSIGNED_TOKEN : 0);
	req.method = r.method;
	req.path = r.path;
	req.query = r.query;
	req.body = r.body;
	req.body_len = r.body_len;

	/* Authorization header signing (through the key cache). */
	copy_headers(&h, &r.headers);
	req.headers = &h;
	cfg.cache = cache;
	if (TAP_OK(sign(&cfg, &req, &res) == 0, "%s: header signing succeeds", name)) {
		check_file(dir, name, "header-canonical-request.txt", res.canonical_request);
		check_file(dir, name, "header-string-to-sign.txt", res.string_to_sign);
		check_file(dir, name, "header-signature.txt", res.signature);
		signed_req = render(r.method, r.path, r.query, &h, r.body);
		check_file(dir, name, "header-signed-request.txt", signed_req);
		free(signed_req);
	}
	sigv4_result_free(&res);
	sigv4_headers_free(&h);

	/* Presigning (without the cache). */
	copy_headers(&h, &r.headers);
	cfg.cache = NULL;
	if (TAP_OK(presign(&cfg, &req, (unsigned)exp->valueint, &query, &res) == 0,
	           "%s: presigning succeeds", name)) {
		check_file(dir, name, "query-canonical-request.txt", res.canonical_request);
		check_file(dir, name, "query-string-to-sign.txt", res.string_to_sign);
		check_file(dir, name, "query-signature.txt", res.signature);
		TAP_IS_INT(h.n, r.headers.n, "%s: presigning adds no header", name);
		signed_req = render(r.method, r.path, query, &h, r.body);
		check_file(dir, name, "query-signed-request.txt", signed_req);
		free(signed_req);
	}
	sigv4_result_free(&res);
	sigv4_headers_free(&h);
	free(query);
out:
	cJSON_Delete(ctx);
	raw_request_free(&r);
	free(reqtxt);
	free(ctxtxt);
	free(dir);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_suite(const char *suite)
{
	char *v4 = path_join(suite, "v4");
	DIR *d = opendir(v4);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct sigv4_cache *cache = sigv4_cache_new();
	int before = vectors_checked;

	if (!TAP_OK(d != NULL, "open %s", v4))
		goto out;
	while ((de = readdir(d))) {
		char *p;
		if (de->d_name[0] == '.')
			continue;
		p = xasprintf("%s/%s/request.txt", v4, de->d_name);
		if (access(p, R_OK) == 0) {
			GROW(names, cap, n + 1);
			names[n++] = xstrdup(de->d_name);
		}
		free(p);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), name_cmp);
	TAP_IS_INT(n, 38, "the v4 suite has its 38 cases");
	for (size_t i = 0; i < n; i++)
		run_case(suite, names[i], cache);
	printf("# v4 suite: %zu cases, %d files compared\n", n, vectors_checked - before);
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(v4);
	sigv4_cache_free(cache);
}

/* ---- s3-examples.json ---- */

/* Line i (0-based) of text; the caller frees. */
static char *line_of(const char *text, int i)
{
	const char *p = text, *nl;
	while (i-- > 0 && (nl = strchr(p, '\n')))
		p = nl + 1;
	nl = strchr(p, '\n');
	return xstrndup(p, nl ? (size_t)(nl - p) : strlen(p));
}

static void run_s3_examples(const char *suite)
{
	char *text = slurp(suite, "s3-examples.json");
	cJSON *root = text ? cJSON_Parse(text) : NULL;
	const cJSON *cred = cJSON_GetObjectItemCaseSensitive(root, "credentials");
	const cJSON *cases = cJSON_GetObjectItemCaseSensitive(root, "cases"), *c;
	struct sigv4_credentials creds = {0};
	struct sigv4_config cfg = {0};
	int64_t t = 0;
	int ncases = 0, before = vectors_checked;

	if (!TAP_OK(root && cred && cJSON_IsArray(cases) && sigv4_parse_time(jstr(root, "amz_date"), &t) == 0,
	            "s3-examples.json parses"))
		goto out;
	creds.access_key_id = jstr(cred, "access_key_id");
	creds.secret_access_key = jstr(cred, "secret_access_key");
	cfg.service = jstr(root, "service");
	cfg.region = jstr(root, "region");
	cfg.creds = &creds;
	cfg.time = t;
	cfg.flags = SIGV4_S3;
	cJSON_ArrayForEach(c, cases)
	{
		const char *name = jstr(c, "name"), *body = jstr(c, "body");
		const char *want_path = jstr(c, "canonical_path"), *want_query = jstr(c, "canonical_query");
		const char *want_signed = jstr(c, "signed_headers"), *want_sig = jstr(c, "signature");
		const char *given_sha = NULL;
		const cJSON *hj = cJSON_GetObjectItemCaseSensitive(c, "headers"), *item;
		struct sigv4_headers h = {0};
		struct sigv4_request req = {0};
		struct sigv4_result res = {0};
		char *query = NULL;
		int rc;

		ncases++;
		if (!name)
			name = "(unnamed)";
		cJSON_ArrayForEach(item, hj)
		{
			if (cJSON_IsString(item))
				sigv4_headers_add(&h, item->string, item->valuestring);
		}
		given_sha = jstr(hj, "x-amz-content-sha256");
		req.method = jstr(c, "method");
		req.path = jstr(c, "path");
		req.query = jstr(c, "query");
		req.headers = &h;
		req.payload_hash = jstr(c, "payload_hash");
		req.body = body;
		req.body_len = body ? strlen(body) : 0;
		if (jbool(c, "presigned")) {
			const cJSON *e = cJSON_GetObjectItemCaseSensitive(c, "expires");
			rc = presign(&cfg, &req, cJSON_IsNumber(e) ? (unsigned)e->valueint : 0, &query, &res);
		} else {
			rc = sign(&cfg, &req, &res);
		}
		if (TAP_OK(rc == 0, "%s: signing succeeds", name)) {
			char *got_path = line_of(res.canonical_request, 1);
			char *got_query = line_of(res.canonical_request, 2);
			if (want_path)
				check_text(name, "canonical path", got_path, want_path);
			if (want_query)
				check_text(name, "canonical query", got_query, want_query);
			check_text(name, "signed headers", res.signed_headers, want_signed);
			check_text(name, "signature", res.signature, want_sig);
			if (given_sha)
				TAP_IS_STR(sigv4_headers_get(&h, "x-amz-content-sha256"), given_sha,
				           "%s: x-amz-content-sha256 is the body's hash", name);
			if (query) {
				char *sigparam = xasprintf("&X-Amz-Signature=%s", want_sig ? want_sig : "?");
				TAP_OK(strstr(query, sigparam) != NULL, "%s: the URL carries the signature", name);
				free(sigparam);
			} else {
				/* The Authorization header in full, from the example's values. */
				char *want_auth = xasprintf(SIGV4_ALGORITHM " Credential=%s/%.8s/%s/%s/aws4_request, "
				                                            "SignedHeaders=%s, Signature=%s",
				                            creds.access_key_id, jstr(root, "amz_date"), cfg.region,
				                            cfg.service, want_signed ? want_signed : "?",
				                            want_sig ? want_sig : "?");
				TAP_IS_STR(sigv4_headers_get(&h, "authorization"), want_auth,
				           "%s: Authorization header", name);
				free(want_auth);
			}
			free(got_path);
			free(got_query);
		}
		sigv4_result_free(&res);
		sigv4_headers_free(&h);
		free(query);
	}
	TAP_OK(ncases >= 5, "s3-examples.json has its cases (%d)", ncases);
	printf("# s3 examples: %d cases, %d values compared\n", ncases, vectors_checked - before);
out:
	cJSON_Delete(root);
	free(text);
}

/* ---- our own cases ---- */

static char *canon_path(const char *path, unsigned flags)
{
	struct buf b = {0};
	sigv4_canonical_path(&b, path, flags);
	return buf_detach(&b);
}

static char *canon_query(const char *query)
{
	struct buf b = {0};
	sigv4_canonical_query(&b, query);
	return buf_detach(&b);
}

/* S3 keys: the path we send is "/bucket/" + uri_encode_path(key); its
 * canonical form must be exactly that (S3 decodes the path to the key and
 * encodes it once again), and a path sent unencoded signs the same way. */
static void test_s3_keys(void)
{
	static const struct {
		const char *key, *want;
	} keys[] = {
		{"plain.txt", "/bucket/plain.txt"},
		{"my file.txt", "/bucket/my%20file.txt"},
		{"a+b=c", "/bucket/a%2Bb%3Dc"},
		{"!*()@$", "/bucket/%21%2A%28%29%40%24"},
		{"100%", "/bucket/100%25"},
		{"%41", "/bucket/%2541"},
		{"a/./b/../c", "/bucket/a/./b/../c"},
		{"./x/..", "/bucket/./x/.."},
		{"a//b/", "/bucket/a//b/"},
		{"caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac", "/bucket/caf%C3%A9/%E6%97%A5%E6%9C%AC"},
		{"~-_.", "/bucket/~-_."},
		{"q?x#y&z;k,l:m'n\"o", "/bucket/q%3Fx%23y%26z%3Bk%2Cl%3Am%27n%22o"},
		{"sub-100307/rfMRI_REST1_LR/", "/bucket/sub-100307/rfMRI_REST1_LR/"},
	};
	for (size_t i = 0; i < ARRAY_LEN(keys); i++) {
		struct buf wire = {0};
		char *got, *again;
		buf_puts(&wire, "/bucket/");
		uri_encode_path(&wire, keys[i].key, strlen(keys[i].key));
		TAP_IS_STR(wire.data, keys[i].want, "S3 key %zu: uri_encode_path", i);
		got = canon_path(wire.data, SIGV4_S3);
		TAP_IS_STR(got, keys[i].want, "S3 key %zu: canonical path of the encoded path is itself", i);
		again = canon_path(got, SIGV4_S3);
		TAP_IS_STR(again, got, "S3 key %zu: canonicalization is idempotent", i);
		free(got);
		free(again);
		buf_free(&wire);
	}
	/* A path sent with bytes that need no encoding on the wire ($) signs
	 * like the encoded one, as in the S3 reference's PUT example. */
	char *got = canon_path("/test$file.text", SIGV4_S3);
	TAP_IS_STR(got, "/test%24file.text", "S3: '$' sent raw is encoded once");
	free(got);
}

static void test_generic_paths(void)
{
	static const struct {
		const char *path;
		unsigned flags;
		const char *want;
	} cases[] = {
		{"", 0, "/"},
		{NULL, 0, "/"},
		{"a", 0, "/a"},
		{"/a%20b", 0, "/a%2520b"}, /* double encoding */
		{"/a%20b", SIGV4_SINGLE_ENCODE, "/a%20b"},
		{"/a/b/../c/./d", 0, "/a/c/d"},
		{"/a/b/..", 0, "/a/"},
		{"/a/b/.", 0, "/a/b/"},
		{"/../../a", 0, "/a"},
		{"//a///b//", 0, "/a/b/"},
		{"/a/b/../c/./d", SIGV4_NO_NORMALIZE, "/a/b/../c/./d"},
		{"/2015-03-31/functions/arn%3Aaws%3Alambda/invocations", 0,
		 "/2015-03-31/functions/arn%253Aaws%253Alambda/invocations"},
		{"/v1/submitjob", 0, "/v1/submitjob"},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		char *got = canon_path(cases[i].path, cases[i].flags);
		TAP_IS_STR(got, cases[i].want, "generic path '%s' (flags %u)", cases[i].path ? cases[i].path : "(null)",
		           cases[i].flags);
		free(got);
	}
}

static void test_queries(void)
{
	static const struct {
		const char *query, *want;
	} cases[] = {
		{NULL, ""},
		{"", ""},
		{"b=2&a=1&a=0", "a=0&a=1&b=2"},
		{"x=a+b", "x=a%2Bb"},
		{"x=a%20b", "x=a%20b"},
		{"x=a%2fb", "x=a%2Fb"},
		{"x=a/b c", "x=a%2Fb%20c"},
		{"lifecycle", "lifecycle="},
		{"a=1&&b&", "a=1&b="},
		{"%zz=1", "%25zz=1"},
		{"k==v", "k=%3Dv"},
		{"list-type=2&prefix=sub-1%2F&delimiter=%2F&continuation-token=1%2Fa%3D%3D",
		 "continuation-token=1%2Fa%3D%3D&delimiter=%2F&list-type=2&prefix=sub-1%2F"},
		{"Param=Value2&Param-3=Value3&Param=Value1", "Param=Value1&Param=Value2&Param-3=Value3"},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		char *got = canon_query(cases[i].query);
		TAP_IS_STR(got, cases[i].want, "canonical query '%s'", cases[i].query ? cases[i].query : "(null)");
		free(got);
	}
	struct buf q = {0};
	uri_query_add(&q, "prefix", "a b/c+d");
	uri_query_add(&q, "delimiter", "/");
	uri_query_add(&q, "uploads", NULL);
	TAP_IS_STR(q.data, "prefix=a%20b%2Fc%2Bd&delimiter=%2F&uploads", "uri_query_add");
	char *got = canon_query(q.data);
	TAP_IS_STR(got, "delimiter=%2F&prefix=a%20b%2Fc%2Bd&uploads=", "a query built by uri_query_add signs as built");
	free(got);
	buf_free(&q);
}

static void test_building_blocks(void)
{
	uint8_t key[32];
	char hex[65], date[SIGV4_DATE_LEN];
	int64_t t = 0;

	/* AWS's documented key derivation example (IAM, 2012-02-15). */
	TAP_OK(sigv4_signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215", "us-east-1", "iam", key) ==
	               0,
	       "signing key derives");
	hex_encode(key, 32, hex);
	TAP_IS_STR(hex, "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d",
	           "signing key matches AWS's example");
	crypto_cleanse(key, sizeof(key));

	TAP_OK(crypto_sha256_hex("", 0, hex) == 0, "sha256 of nothing");
	TAP_IS_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "sha256 of nothing");
	struct crypto_sha256 *c = crypto_sha256_new();
	uint8_t md[32];
	TAP_OK(c && crypto_sha256_update(c, "Welcome to ", 11) == 0 && crypto_sha256_update(c, "Amazon S3.", 10) == 0 &&
	               crypto_sha256_final(c, md) == 0,
	       "incremental sha256");
	crypto_sha256_free(c);
	hex_encode(md, 32, hex);
	TAP_IS_STR(hex, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
	           "incremental sha256 matches the S3 example's body hash");

	TAP_OK(sigv4_parse_time("2015-08-30T12:36:00Z", &t) == 0 && t == 1440938160, "parse extended time");
	TAP_OK(sigv4_parse_time("20130524T000000Z", &t) == 0 && t == 1369353600, "parse basic time");
	TAP_OK(sigv4_parse_time("2015-02-31T00:00:00Z", &t) < 0, "reject Feb 31");
	TAP_OK(sigv4_parse_time("2015-08-30 12:36:00Z", &t) < 0, "reject a space");
	TAP_OK(sigv4_parse_time("2015-08-30T12:36:00", &t) < 0, "reject a missing Z");
	TAP_OK(sigv4_amz_date(1440938160, date) == 0, "format amz date");
	TAP_IS_STR(date, "20150830T123600Z", "amz date");
	TAP_OK(sigv4_amz_date(-1, date) < 0, "reject a time before 1970");
}

static const struct sigv4_credentials test_creds = {
	"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "SESSIONTOKENSECRETVALUE",
};

static void test_resign_and_headers(void)
{
	struct sigv4_headers h = {0};
	struct sigv4_config cfg = {"s3", "eu-west-1", &test_creds, 1440938160, SIGV4_S3, NULL};
	struct sigv4_request req = {"PUT", "/bucket/my%20key", NULL, &h, NULL, "hello", 5};
	struct sigv4_result r1 = {0}, r2 = {0};
	struct sigv4_credentials notoken = test_creds;
	char hash[65];

	sigv4_headers_add(&h, "Host", "s3.eu-west-1.amazonaws.com");
	sigv4_headers_add(&h, "User-Agent", "rapid/" RAPID_VERSION);
	sigv4_headers_add(&h, "Content-Type", "application/octet-stream");
	TAP_OK(sign(&cfg, &req, &r1) == 0, "S3 PUT signs");
	TAP_IS_STR(r1.signed_headers, "content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token",
	           "User-Agent is not signed; the token is");
	crypto_sha256_hex("hello", 5, hash);
	TAP_IS_STR(sigv4_headers_get(&h, "x-amz-content-sha256"), hash, "x-amz-content-sha256 is the body hash");
	TAP_IS_STR(sigv4_headers_get(&h, "X-Amz-Security-Token"), test_creds.session_token, "token header");
	TAP_IS_STR(sigv4_headers_get(&h, "x-amz-date"), "20150830T123600Z", "X-Amz-Date header");
	char *want_auth = xasprintf("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/eu-west-1/s3/aws4_request, "
	                            "SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;"
	                            "x-amz-security-token, Signature=%s",
	                            r1.signature);
	TAP_IS_STR(sigv4_headers_get(&h, "authorization"), want_auth, "Authorization header");
	TAP_IS_INT(strlen(r1.signature), 64, "the signature is 64 hex digits");
	free(want_auth);

	/* Re-signing (a retry, a minute later, after the credentials lost
	 * their token) replaces every header it added. */
	cfg.time += 60;
	notoken.session_token = NULL;
	cfg.creds = &notoken;
	req.payload_hash = SIGV4_UNSIGNED_PAYLOAD;
	TAP_OK(sign(&cfg, &req, &r2) == 0, "re-signing succeeds");
	TAP_IS_INT(sigv4_headers_count(&h, "authorization"), 1, "one Authorization after re-signing");
	TAP_IS_INT(sigv4_headers_count(&h, "x-amz-date"), 1, "one X-Amz-Date after re-signing");
	TAP_IS_INT(sigv4_headers_count(&h, "x-amz-content-sha256"), 1, "one x-amz-content-sha256 after re-signing");
	TAP_IS_INT(sigv4_headers_count(&h, "x-amz-security-token"), 0, "the stale token is gone");
	TAP_IS_STR(sigv4_headers_get(&h, "x-amz-date"), "20150830T123700Z", "the new date");
	TAP_IS_STR(sigv4_headers_get(&h, "x-amz-content-sha256"), "UNSIGNED-PAYLOAD", "UNSIGNED-PAYLOAD header");
	TAP_OK(strcmp(r1.signature, r2.signature) != 0, "a new signature");
	TAP_IS_STR(r2.signed_headers, "content-type;host;x-amz-content-sha256;x-amz-date", "signed headers");
	TAP_OK(r2.canonical_request && strstr(r2.canonical_request, "\nUNSIGNED-PAYLOAD") != NULL,
	       "the canonical request ends with UNSIGNED-PAYLOAD");
	sigv4_result_free(&r1);
	sigv4_result_free(&r2);
	sigv4_headers_free(&h);
}

static void test_cache(void)
{
	struct sigv4_cache *cache = sigv4_cache_new();
	struct sigv4_headers h = {0};
	struct sigv4_config cfg = {"service", "us-east-1", &test_creds, 1440938160, 0, NULL};
	struct sigv4_request req = {"GET", "/", NULL, &h, NULL, NULL, 0};
	struct sigv4_result plain = {0}, cached = {0}, again = {0}, other = {0};
	struct sigv4_credentials rotated = test_creds;

	sigv4_headers_add(&h, "Host", "example.amazonaws.com");
	sign(&cfg, &req, &plain);
	cfg.cache = cache;
	sign(&cfg, &req, &cached);
	sign(&cfg, &req, &again);
	TAP_IS_STR(cached.signature, plain.signature, "a derived key signs like a fresh one");
	TAP_IS_STR(again.signature, plain.signature, "a cached key signs like a fresh one");
	rotated.secret_access_key = "anotherSecretKeyOfTheSameAccessKeyId00000";
	cfg.creds = &rotated;
	sign(&cfg, &req, &other);
	TAP_OK(other.signature[0] && strcmp(other.signature, plain.signature) != 0,
	       "a rotated secret never reuses the cached key");
	sigv4_result_free(&plain);
	sigv4_result_free(&cached);
	sigv4_result_free(&again);
	sigv4_result_free(&other);
	sigv4_headers_free(&h);
	sigv4_cache_free(cache);
}

static void test_errors(void)
{
	struct sigv4_headers h = {0};
	struct sigv4_config cfg = {"s3", "us-east-1", &test_creds, 1440938160, SIGV4_S3, NULL};
	struct sigv4_request req = {"GET", "/bucket/key", NULL, &h, NULL, NULL, 0};
	struct sigv4_result res = {0};
	struct sigv4_credentials nosecret = test_creds;
	char *query = (char *)"untouched", *err;
	int rc;

	sigv4_headers_add(&h, "Range", "bytes=0-9");
	capture_begin();
	rc = sign(&cfg, &req, &res);
	err = capture_end();
	TAP_OK(rc < 0, "no Host header: refused");
	TAP_IS_STR(err, "rapid: cannot sign 'GET /bucket/key': no Host header\n", "no Host header: message");
	TAP_IS_INT(h.n, 1, "no Host header: headers unchanged");
	free(err);

	sigv4_headers_add(&h, "Host", "b.s3.amazonaws.com");
	capture_begin();
	rc = presign(&cfg, &req, 0, &query, &res);
	err = capture_end();
	TAP_OK(rc < 0 && query == NULL, "expires 0: refused");
	TAP_IS_STR(err, "rapid: cannot sign 'GET /bucket/key': a presigned URL must expire in 1 s to 7 days\n",
	           "expires 0: message");
	free(err);

	capture_begin();
	rc = presign(&cfg, &req, SIGV4_MAX_EXPIRES + 1, &query, &res);
	err = capture_end();
	TAP_OK(rc < 0 && query == NULL, "expires beyond 7 days: refused");
	free(err);

	req.payload_hash = "not a hash";
	capture_begin();
	rc = sign(&cfg, &req, &res);
	err = capture_end();
	TAP_OK(rc < 0, "bad payload hash: refused");
	TAP_OK(!strstr(err, "not a hash"), "bad payload hash: not echoed");
	free(err);
	req.payload_hash = NULL;

	sigv4_headers_add(&h, "Bad Name", "x");
	capture_begin();
	rc = sign(&cfg, &req, &res);
	err = capture_end();
	TAP_OK(rc < 0, "header name with a space: refused");
	TAP_IS_STR(err, "rapid: cannot sign 'GET /bucket/key': header 3 has no value or a name that is not an HTTP token\n",
	           "bad header name: message");
	free(err);
	sigv4_headers_remove(&h, "Bad Name");

	nosecret.secret_access_key = "";
	cfg.creds = &nosecret;
	capture_begin();
	rc = sign(&cfg, &req, &res);
	err = capture_end();
	TAP_OK(rc < 0, "empty secret: refused");
	free(err);
	cfg.creds = &test_creds;

	cfg.time = -5;
	capture_begin();
	rc = sign(&cfg, &req, &res);
	err = capture_end();
	TAP_OK(rc < 0, "time before 1970: refused");
	free(err);
	cfg.time = 1440938160;

	cfg.region = "us-east-1/evil";
	capture_begin();
	rc = sign(&cfg, &req, &res);
	err = capture_end();
	TAP_OK(rc < 0, "region with '/': refused");
	TAP_OK(!strstr(err, SECRET_FRAGMENT) && !strstr(err, test_creds.session_token),
	       "no secret and no token in any message");
	free(err);
	cfg.region = "us-east-1";

	/* A successful signing prints nothing at all. */
	capture_begin();
	rc = presign(&cfg, &req, 60, &query, &res);
	err = capture_end();
	TAP_OK(rc == 0 && *err == 0, "a successful signing is silent");
	TAP_OK(query && strstr(query, "X-Amz-Security-Token=SESSIONTOKENSECRETVALUE&X-Amz-Signature=") != NULL,
	       "the presigned URL carries the token, then the signature");
	free(err);
	free(query);
	sigv4_result_free(&res);
	sigv4_headers_free(&h);
}

int main(int argc, char **argv)
{
	char *suite = find_suite(argc > 0 ? argv[0] : "");

	if (TAP_OK(suite != NULL, "found the SigV4 test suite (%s)", suite ? suite : "not found: " SUITE_DIR)) {
		run_suite(suite);
		run_s3_examples(suite);
		printf("# %d vector values compared byte for byte\n", vectors_checked);
	}
	test_s3_keys();
	test_generic_paths();
	test_queries();
	test_building_blocks();
	test_resign_and_headers();
	test_cache();
	test_errors();
	free(suite);
	return tap_done();
}
