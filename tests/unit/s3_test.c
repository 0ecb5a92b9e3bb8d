/* s3_test.c - the pure parts of aws/s3: splitting s3:// URIs, multipart
 * part sizes at S3's limits, HTTP dates in their three forms, and the
 * wording of request errors (status named when S3 sent no body, AWS's
 * code and message, attempts, transport causes), and what DeleteObjects
 * refuses before sending anything. The requests themselves are tested
 * end to end against the emulator (tests/0041-s3.t; DeleteObjects in
 * tests/0095-runner-requests.t). */
#include "aws/date.h"
#include "aws/http.h"
#include "aws/s3.h"
#include "lib/util.h"
#include "tests/unit/tap.h"

#include <stdlib.h>
#include <string.h>

#define MIB ((uint64_t)1 << 20)

static int http_date(const char *s, int64_t *ns)
{
	return aws_date_parse(s, AWS_DATE_HTTP, ns);
}

static void test_uri_split(void)
{
	static const struct {
		const char *uri, *bucket, *key;
	} good[] = {
		{"s3://b/k", "b", "k"},
		{"s3://b", "b", ""},
		{"s3://b/", "b", ""},
		{"s3://my-bucket.data/a b/./c/../d//e", "my-bucket.data", "a b/./c/../d//e"},
		{"s3://b//k", "b", "/k"},
		{"s3://Legacy_Bucket/p+q=r", "Legacy_Bucket", "p+q=r"},
		{"s3://b/\xc3\xbc/\xe6\x97\xa5", "b", "\xc3\xbc/\xe6\x97\xa5"},
	};
	static const char *const bad[] = {"b/k", "s3:/b/k", "S3://b/k", "s3://", "s3:///k", "s3://b%20c/k",
	                                  "s3://b:1/k", "http://b/k"};
	char *b, *k;
	for (size_t i = 0; i < ARRAY_LEN(good); i++) {
		TAP_IS_INT(s3_uri_split(good[i].uri, &b, &k), 0, "split '%s'", good[i].uri);
		TAP_IS_STR(b, good[i].bucket, "its bucket");
		TAP_IS_STR(k, good[i].key, "its key");
		free(b);
		free(k);
	}
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		TAP_IS_INT(s3_uri_split(bad[i], &b, &k), -1, "'%s' refused", bad[i]);
		TAP_OK(b == NULL && k == NULL, "nothing returned");
	}
}

static void test_part_size(void)
{
	TAP_IS_INT(s3_part_size(64 * MIB, 0), 8 * MIB, "default 8 MiB");
	TAP_IS_INT(s3_part_size(64 * MIB, 16 * MIB), 16 * MIB, "as asked");
	TAP_IS_INT(s3_part_size(64 * MIB, 1 * MIB), 5 * MIB, "at least 5 MiB");
	TAP_IS_INT(s3_part_size(10000 * 8 * MIB, 0), 8 * MIB, "10,000 parts of 8 MiB fit");
	TAP_IS_INT(s3_part_size(10000 * 8 * MIB + 1, 0), 9 * MIB, "one byte more: whole MiB grown");
	uint64_t tib5 = (uint64_t)5 << 40;
	uint64_t ps = s3_part_size(tib5, 0);
	TAP_OK(ps * 10000 >= tib5 && ps % MIB == 0, "5 TiB in at most 10,000 parts of whole MiB (%llu)",
	       (unsigned long long)ps);
	TAP_IS_INT(s3_part_size(tib5 + 1, 0), 0, "over 5 TiB refused");
}

static void test_http_date(void)
{
	static const struct {
		const char *s;
		int64_t t;
	} good[] = {
		{"Sun, 06 Nov 1994 08:49:37 GMT", 784111777},
		{"Sunday, 06-Nov-94 08:49:37 GMT", 784111777},
		{"Sun Nov  6 08:49:37 1994", 784111777},
		{"Thu, 01 Jan 1970 00:00:00 GMT", 0},
		{"Thu, 29 Feb 2024 23:59:59 GMT", 1709251199},
		{"Tuesday, 01-Jan-30 00:00:00 GMT", 1893456000},
		{"Wed Dec 31 23:59:59 2025", 1767225599},
	};
	static const char *const bad[] = {
		"", "Sun, 06 Nov 1994 08:49:37", "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 6 Nov 1994 08:49:37 GMT",
		"Sun, 06 Foo 1994 08:49:37 GMT", "Sun, 31 Apr 1994 08:49:37 GMT", "Sun, 06 Nov 1994 24:00:00 GMT",
		"2024-01-01T00:00:00Z", "Sun, 06 Nov 1994 08:49:37 GMT ", "Sun Nov 6 08:49:37 1994",
	};
	int64_t ns;
	for (size_t i = 0; i < ARRAY_LEN(good); i++) {
		ns = -1;
		TAP_IS_INT(http_date(good[i].s, &ns), 0, "parse '%s'", good[i].s);
		TAP_IS_INT(ns, good[i].t * 1000000000, "its time");
	}
	for (size_t i = 0; i < ARRAY_LEN(bad); i++)
		TAP_IS_INT(http_date(bad[i], &ns), -1, "'%s' refused", bad[i]);
}

/* A request as the HTTP engine leaves a failed one: an answer with status
 * (and code, message), or else kind with cause. */
static void failed(struct http_request *r, long status, const char *code, const char *message, unsigned attempts,
		   enum aws_error_kind kind, const char *cause)
{
	http_request_init(r);
	r->status = status;
	r->attempts = attempts;
	r->error = xcalloc(1, sizeof(*r->error));
	if (status) {
		r->error->kind = AWS_ERR_SERVICE;
		r->error->status = status;
		r->error->code = code ? xstrdup(code) : NULL;
		r->error->message = message ? xstrdup(message) : NULL;
	} else {
		r->error->kind = kind;
		r->error->message = xstrdup(cause);
	}
	r->error->attempts = attempts;
}

/* The message s3_request_error makes; the caller frees. */
static char *request_error(const char *verb, const char *bucket, const char *key, const struct http_request *r)
{
	struct aws_error e = {0};
	s3_request_error(verb, bucket, key, r, &e);
	char *m = aws_error_format(&e);
	aws_error_clear(&e);
	return m;
}

static void test_errors(void)
{
	struct http_request r;
	char *m;

	failed(&r, 403, NULL, NULL, 1, 0, NULL);
	m = request_error("head", "b", "a b/k", &r);
	TAP_IS_STR(m, "cannot head 's3://b/a b/k': 403 Forbidden", "HEAD 403 has no body: named after the status");
	free(m);
	http_request_free(&r);

	failed(&r, 404, NULL, NULL, 1, 0, NULL);
	m = request_error("head", "b", "k", &r);
	TAP_IS_STR(m, "cannot head 's3://b/k': 404 NotFound", "HEAD 404: NotFound");
	free(m);
	http_request_free(&r);

	failed(&r, 503, NULL, NULL, 6, 0, NULL);
	m = request_error("head", "b", "k", &r);
	TAP_IS_STR(m, "cannot head 's3://b/k': 503 ServiceUnavailable (after 6 attempts)", "attempts kept");
	free(m);
	http_request_free(&r);

	failed(&r, 503, "SlowDown", "Please reduce your request rate.", 3, 0, NULL);
	m = request_error("upload", "b", "big.bin", &r);
	TAP_IS_STR(m, "cannot upload 's3://b/big.bin': 503 SlowDown: Please reduce your request rate. (after 3 attempts)",
	           "code and message as AWS gave them");
	free(m);
	http_request_free(&r);

	failed(&r, 200, "InternalError", "We encountered an internal error.", 1, 0, NULL);
	m = request_error("upload", "b", "k", &r);
	TAP_IS_STR(m, "cannot upload 's3://b/k': 200 InternalError: We encountered an internal error.",
	           "an Error inside a 200");
	free(m);
	http_request_free(&r);

	failed(&r, 418, NULL, NULL, 1, 0, NULL);
	m = request_error("get", "b", "k", &r);
	TAP_IS_STR(m, "cannot get 's3://b/k': 418", "a status without a known name stays a number");
	free(m);
	http_request_free(&r);

	failed(&r, 0, NULL, NULL, 3, AWS_ERR_TRANSPORT, "Recv failure: Connection reset by peer");
	m = request_error("get", "b", "k", &r);
	TAP_IS_STR(m, "cannot get 's3://b/k': Recv failure: Connection reset by peer (after 3 attempts)",
	           "transport error as curl words it");
	free(m);
	http_request_free(&r);

	failed(&r, 301, NULL, NULL, 1, 0, NULL);
	sigv4_headers_add(&r.resp_headers, "x-amz-bucket-region", "eu-west-1");
	m = request_error("head", "b", "k", &r);
	TAP_IS_STR(m, "cannot head 's3://b/k': 301 MovedPermanently (the bucket is in eu-west-1)",
	           "wrong region: where the bucket is");
	free(m);
	http_request_free(&r);

	failed(&r, 0, NULL, NULL, 1, AWS_ERR_LOCAL, "no valid AWS credentials");
	m = request_error("list", "b", "p/", &r);
	TAP_IS_STR(m, "cannot list 's3://b/p/': no valid AWS credentials", "a failure before sending");
	free(m);
	http_request_free(&r);
}

/* DeleteObjects' checks: nothing is sent (the endpoint listens nowhere,
 * so a request would fail otherwise). */
static void test_delete_objects_refused(void)
{
	setenv("AWS_REGION", "us-east-1", 1);
	setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9", 1);
	setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "secret", 1);
	struct s3_client_config cfg = {0};
	struct aws_error err = {0};
	struct s3_client *c = s3_client_new(&cfg, &err);
	TAP_OK(c != NULL, "a client");
	if (!c) {
		aws_error_clear(&err);
		return;
	}
	struct s3_delete_failure *f = NULL;
	size_t nf = 9;
	const char *keys[] = {"a", "b\001c", ""};
	TAP_IS_INT(s3_delete_objects(c, "b", keys, 0, &f, &nf, &err), 0, "no keys: nothing to do");
	TAP_OK(f == NULL && nf == 0, "and no failures");
	TAP_IS_INT(s3_delete_objects(c, "b", keys, 2, &f, &nf, &err), -1, "a control character");
	char *m = aws_error_format(&err);
	TAP_IS_STR(m, "cannot delete 2 objects of 's3://b/': a key holds a control character", "its message");
	free(m);
	aws_error_clear(&err);
	TAP_IS_INT(s3_delete_objects(c, "b", keys + 1, 2, &f, &nf, &err), -1, "an empty key");
	m = aws_error_format(&err);
	TAP_IS_STR(m, "cannot delete 2 objects of 's3://b/': an empty object key", "its message");
	free(m);
	aws_error_clear(&err);
	const char **many = xcalloc(S3_DELETE_MAX + 1, sizeof(char *));
	for (size_t i = 0; i <= S3_DELETE_MAX; i++)
		many[i] = "k";
	TAP_IS_INT(s3_delete_objects(c, "b", many, S3_DELETE_MAX + 1, &f, &nf, &err), -1, "1,001 keys");
	m = aws_error_format(&err);
	TAP_IS_STR(m, "cannot delete 1001 objects of 's3://b/': DeleteObjects takes at most 1000 keys", "its message");
	free(m);
	free(many);
	aws_error_clear(&err);
	TAP_IS_INT(s3_delete_objects(c, "b b", keys, 1, &f, &nf, &err), -1, "not a bucket");
	aws_error_clear(&err);
	struct s3_stats st;
	s3_client_stats(c, &st);
	TAP_IS_INT(st.del, 0, "no request sent");
	s3_client_free(c);
}

int main(void)
{
	test_uri_split();
	test_part_size();
	test_http_date();
	test_errors();
	test_delete_objects_refused();
	return tap_done();
}
