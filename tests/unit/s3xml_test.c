/* s3xml_test.c - S3 XML decoding: a ListObjectsV2 page as S3 writes it (S3
 * namespace) and as s3rver writes it (another namespace), URL-encoded keys
 * of every awkward class, common prefixes and pagination, 100,000 keys in
 * both modes, Error documents (also inside a 200), multipart results,
 * ListMultipartUploads pages, and every malformed body we could think of,
 * each with its exact message. */
#include "aws/date.h"
#include "aws/s3xml.h"
#include "aws/uri.h"
#include "lib/util.h"
#include "tests/unit/tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* S3's times, through the one parser of aws/date.h. */
static int iso_time(const char *t, int64_t *ns)
{
	return aws_date_parse(t, AWS_DATE_ISO, ns);
}

#define S3NS "http://s3.amazonaws.com/doc/2006-03-01/"
#define HDR "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"

static const char s3_page[] =
	HDR "<ListBucketResult xmlns=\"" S3NS "\">\n"
	"  <Name>example-bucket</Name>\n"
	"  <Prefix>photos/</Prefix>\n"
	"  <KeyCount>2</KeyCount>\n"
	"  <MaxKeys>1000</MaxKeys>\n"
	"  <IsTruncated>false</IsTruncated>\n"
	"  <Contents>\n"
	"    <Key>photos/2006/January/sample.jpg</Key>\n"
	"    <LastModified>2009-10-12T17:50:30.000Z</LastModified>\n"
	"    <ETag>&quot;fba9dede5f27731c9771645a39863328&quot;</ETag>\n"
	"    <ChecksumAlgorithm>CRC32</ChecksumAlgorithm>\n"
	"    <Size>434234</Size>\n"
	"    <Owner><ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID>"
	"<DisplayName>mtd</DisplayName></Owner>\n"
	"    <StorageClass>STANDARD</StorageClass>\n"
	"  </Contents>\n"
	"  <Contents>\n"
	"    <Key>photos/2006/February/big.bin</Key>\n"
	"    <LastModified>2024-02-29T23:59:59.123456789Z</LastModified>\n"
	"    <ETag>\"d41d8cd98f00b204e9800998ecf8427e-12\"</ETag>\n"
	"    <Size>18446744073709551615</Size>\n"
	"    <StorageClass>GLACIER</StorageClass>\n"
	"  </Contents>\n"
	"</ListBucketResult>\n";

static const char s3rver_page[] =
	HDR "<ListBucketResult xmlns=\"http://doc.s3.amazonaws.com/2006-03-01/\">"
	"<IsTruncated>true</IsTruncated><Contents><Key>a/b.txt</Key>"
	"<LastModified>2023-05-01T10:00:00.000Z</LastModified><ETag>\"abc\"</ETag><Size>0</Size>"
	"<StorageClass>STANDARD</StorageClass></Contents><Name>bkt</Name><Prefix></Prefix>"
	"<Delimiter>/</Delimiter><MaxKeys>1</MaxKeys><CommonPrefixes><Prefix>a/</Prefix></CommonPrefixes>"
	"<CommonPrefixes><Prefix>c/</Prefix></CommonPrefixes><KeyCount>3</KeyCount>"
	"<ContinuationToken>tok0</ContinuationToken><NextContinuationToken>tok/1+=</NextContinuationToken>"
	"</ListBucketResult>";

static char *list_err(const char *body, size_t len)
{
	struct s3_list_page pg;
	char *err;
	int rc = s3xml_list_parse(body, len, NULL, NULL, &pg, &err);
	s3xml_list_free(&pg);
	if (rc == 0) {
		free(err);
		return xstrdup("(parsed)");
	}
	return err ? err : xstrdup("(no message)");
}

static void test_s3_page(void)
{
	struct s3_list_page pg;
	char *err;
	int64_t t;
	TAP_IS_INT(s3xml_list_parse(s3_page, strlen(s3_page), NULL, NULL, &pg, &err), 0, "S3 page parses");
	TAP_OK(err == NULL, "no error");
	TAP_IS_INT(pg.n_objects, 2, "two objects");
	TAP_IS_STR(pg.name, "example-bucket", "Name");
	TAP_IS_STR(pg.prefix, "photos/", "Prefix");
	TAP_OK(pg.delimiter == NULL && pg.next_token == NULL && pg.encoding_type == NULL, "absent fields NULL");
	TAP_IS_INT(pg.key_count, 2, "KeyCount");
	TAP_IS_INT(pg.max_keys, 1000, "MaxKeys");
	TAP_IS_INT(pg.is_truncated, 0, "IsTruncated false");
	TAP_IS_STR(pg.objects[0].key, "photos/2006/January/sample.jpg", "Key");
	TAP_IS_STR(pg.objects[0].etag, "fba9dede5f27731c9771645a39863328", "ETag from &quot; without quotes");
	TAP_IS_INT(pg.objects[0].size, 434234, "Size");
	TAP_IS_INT(pg.objects[0].mtime_ns, 1255369830LL * 1000000000, "LastModified in ns");
	TAP_IS_STR(pg.objects[0].storage_class, "STANDARD", "StorageClass");
	TAP_IS_STR(pg.objects[1].etag, "d41d8cd98f00b204e9800998ecf8427e-12", "multipart ETag");
	TAP_OK(pg.objects[1].size == UINT64_MAX, "Size 2^64-1");
	iso_time("2024-02-29T23:59:59Z", &t);
	TAP_IS_INT(pg.objects[1].mtime_ns, t + 123456789, "nanosecond fraction");
	TAP_IS_INT(pg.n_common_prefixes, 0, "no common prefixes");
	s3xml_list_free(&pg);
}

static void test_s3rver_page(void)
{
	struct s3_list_page pg;
	char *err;
	TAP_IS_INT(s3xml_list_parse(s3rver_page, strlen(s3rver_page), NULL, NULL, &pg, &err), 0,
		   "s3rver namespace parses");
	TAP_IS_INT(pg.n_objects, 1, "one object");
	TAP_IS_STR(pg.objects[0].key, "a/b.txt", "Key");
	TAP_IS_INT(pg.objects[0].size, 0, "Size 0");
	TAP_IS_INT(pg.is_truncated, 1, "IsTruncated true");
	TAP_IS_STR(pg.next_token, "tok/1+=", "NextContinuationToken");
	TAP_IS_STR(pg.continuation_token, "tok0", "ContinuationToken");
	TAP_IS_STR(pg.prefix, "", "empty Prefix");
	TAP_IS_STR(pg.delimiter, "/", "Delimiter");
	TAP_IS_INT(pg.n_common_prefixes, 2, "two common prefixes");
	TAP_IS_STR(pg.common_prefixes[0], "a/", "first common prefix");
	TAP_IS_STR(pg.common_prefixes[1], "c/", "second common prefix");
	TAP_IS_INT(pg.key_count, 3, "KeyCount");
	TAP_IS_INT(pg.max_keys, 1, "MaxKeys");
	s3xml_list_free(&pg);

	/* No namespace at all works too. */
	const char *plain = "<ListBucketResult><Contents><Key>k</Key><Size>1</Size></Contents></ListBucketResult>";
	TAP_IS_INT(s3xml_list_parse(plain, strlen(plain), NULL, NULL, &pg, &err), 0, "no namespace parses");
	TAP_IS_STR(pg.objects[0].etag, "", "absent ETag is empty");
	TAP_IS_INT(pg.objects[0].mtime_ns, 0, "absent LastModified is 0");
	s3xml_list_free(&pg);
}

static const char *const awkward[] = {
	"with space/a b.txt", "plus+sign", "eq=bang!star*", "(paren)@dollar$", "100%pct", "a/./b",
	"../up/..", "caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", "tab\tand&amp<>\"'", "%2F-literal",
};

struct collect {
	struct buf keys;
	size_t n;
	uint64_t size_sum;
	size_t stop_after;
};

static int collect_fn(void *ctx, const struct s3_object *o)
{
	struct collect *c = ctx;
	buf_puts(&c->keys, o->key);
	buf_putc(&c->keys, '\n');
	c->size_sum += o->size;
	c->n++;
	return c->stop_after && c->n == c->stop_after ? -1 : 0;
}

static void test_url_encoded(int enc_first)
{
	struct buf doc = {0}, want = {0};
	struct s3_list_page pg;
	struct collect c = {0};
	char *err;
	size_t i;
	buf_printf(&doc, HDR "<ListBucketResult xmlns=\"%s\"><Name>b</Name>", S3NS);
	buf_puts(&doc, "<Prefix>with%20space%2F</Prefix><Delimiter>%2F</Delimiter><StartAfter>a%2Bb</StartAfter>");
	if (enc_first)
		buf_puts(&doc, "<EncodingType>url</EncodingType>");
	buf_puts(&doc, "<IsTruncated>false</IsTruncated>");
	for (i = 0; i < ARRAY_LEN(awkward); i++) {
		struct buf k = {0};
		uri_encode_path(&k, awkward[i], strlen(awkward[i]));
		buf_printf(&doc, "<Contents><Key>%s</Key><Size>%zu</Size></Contents>", k.data, i);
		buf_printf(&want, "%s\n", awkward[i]);
		buf_free(&k);
	}
	/* S3 form-encodes: '+' is a space, a plus comes as %2B. */
	buf_puts(&doc, "<Contents><Key>a+b%2Bc</Key><Size>1</Size></Contents>");
	buf_puts(&want, "a b+c\n");
	buf_puts(&doc, "<CommonPrefixes><Prefix>dir%20one%2F</Prefix></CommonPrefixes>");
	if (!enc_first)
		buf_puts(&doc, "<EncodingType>url</EncodingType>");
	buf_puts(&doc, "</ListBucketResult>");

	TAP_IS_INT(s3xml_list_parse(doc.data, doc.len, NULL, NULL, &pg, &err), 0, "url page parses (%s)",
		   enc_first ? "EncodingType first" : "EncodingType last");
	struct buf got = {0};
	for (i = 0; i < pg.n_objects; i++)
		buf_printf(&got, "%s\n", pg.objects[i].key);
	TAP_IS_STR(got.data, want.data, "every awkward key decoded (collected)");
	TAP_IS_STR(pg.prefix, "with space/", "Prefix decoded");
	TAP_IS_STR(pg.delimiter, "/", "Delimiter decoded");
	TAP_IS_STR(pg.start_after, "a+b", "StartAfter decoded");
	TAP_IS_STR(pg.encoding_type, "url", "EncodingType");
	TAP_IS_STR(pg.n_common_prefixes ? pg.common_prefixes[0] : NULL, "dir one/", "common prefix decoded");
	s3xml_list_free(&pg);
	buf_free(&got);

	TAP_IS_INT(s3xml_list_parse(doc.data, doc.len, collect_fn, &c, &pg, &err), 0, "url page in callback mode");
	TAP_IS_STR(c.keys.data, want.data, "every awkward key decoded (callback)");
	TAP_OK(pg.objects == NULL && pg.n_objects == ARRAY_LEN(awkward) + 1, "callback mode keeps no objects");
	s3xml_list_free(&pg);
	buf_free(&c.keys);
	buf_free(&doc);
	buf_free(&want);
}

static void test_pagination_errors(void)
{
	char *e;
	const char *trunc = "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>";
	e = list_err(trunc, strlen(trunc));
	TAP_IS_STR(e, "malformed ListObjectsV2 response: <IsTruncated> is true without <NextContinuationToken> "
		      "at line 1 column 69", "truncated page without a token");
	free(e);

	struct collect c = {.stop_after = 2};
	struct s3_list_page pg;
	const char *three = "<ListBucketResult><Contents><Key>a</Key></Contents><Contents><Key>b</Key></Contents>"
			    "<Contents><Key>c</Key></Contents></ListBucketResult>";
	TAP_IS_INT(s3xml_list_parse(three, strlen(three), collect_fn, &c, &pg, &e), -1, "callback can stop");
	TAP_OK(e == NULL, "a stop by the callback has no message");
	TAP_IS_INT(c.n, 2, "no object after the stop");
	s3xml_list_free(&pg);
	buf_free(&c.keys);
}

static void test_many_keys(void)
{
	enum { N = 100000 };
	struct buf doc = {0};
	struct s3_list_page pg;
	struct collect c = {0};
	char *err;
	buf_printf(&doc, HDR "<ListBucketResult xmlns=\"%s\"><Name>b</Name><EncodingType>url</EncodingType>"
			 "<KeyCount>%d</KeyCount><IsTruncated>false</IsTruncated>", S3NS, N);
	for (int i = 0; i < N; i++)
		buf_printf(&doc, "<Contents><Key>data/part%%20%06d.bin</Key><LastModified>2024-01-01T00:00:00.000Z"
				 "</LastModified><ETag>&quot;%032x&quot;</ETag><Size>%d</Size>"
				 "<StorageClass>STANDARD</StorageClass></Contents>", i, i, i);
	buf_puts(&doc, "</ListBucketResult>");

	int64_t t0 = now_ns();
	int rc = s3xml_list_parse(doc.data, doc.len, NULL, NULL, &pg, &err);
	int64_t t1 = now_ns();
	TAP_IS_INT(rc, 0, "100,000 keys parse");
	TAP_IS_INT(pg.n_objects, N, "100,000 objects");
	TAP_IS_STR(pg.objects[N - 1].key, "data/part 099999.bin", "last key decoded");
	TAP_OK(pg.objects[0].storage_class == pg.objects[N - 1].storage_class, "storage class shared");
	s3xml_list_free(&pg);
	printf("# 100,000 keys (%.1f MB of XML): collected %.0f ms\n", doc.len / 1e6, (t1 - t0) / 1e6);

	t0 = now_ns();
	rc = s3xml_list_parse(doc.data, doc.len, collect_fn, &c, &pg, &err);
	t1 = now_ns();
	TAP_IS_INT(rc, 0, "100,000 keys in callback mode");
	TAP_IS_INT(c.n, N, "100,000 callbacks");
	TAP_OK(c.size_sum == (uint64_t)N * (N - 1) / 2, "sizes add up");
	printf("# 100,000 keys: callback %.0f ms\n", (t1 - t0) / 1e6);
	s3xml_list_free(&pg);
	buf_free(&c.keys);
	buf_free(&doc);
}

struct bad {
	const char *name, *body, *want;
};

static const struct bad bad_lists[] = {
	{"empty body", "", "empty body at line 1 column 1"},
	{"not XML", "Internal Server Error", "syntax error at line 1 column 1"},
	{"truncated in a tag", "<ListBucketResult><Contents><Ke", "truncated document (unclosed token) at line 1 column 29"},
	{"truncated between elements", "<ListBucketResult><Contents><Key>a</Key>",
	 "truncated document (no closing tag for <ListBucketResult>) at line 1 column 41"},
	{"unexpected root", "<?xml version=\"1.0\"?>\n<Foo/>",
	 "unexpected root element <Foo>, expected <ListBucketResult> at line 2 column 1"},
	{"Error root", "<Error><Code>AccessDenied</Code></Error>",
	 "unexpected root element <Error>, expected <ListBucketResult> at line 1 column 1"},
	{"text for a number", "<ListBucketResult><Contents><Key>k</Key><Size>12ab</Size></Contents></ListBucketResult>",
	 "<Size> is not an unsigned 64-bit number: '12ab' at line 1 column 51"},
	{"negative size", "<ListBucketResult><Contents><Key>k</Key><Size>-1</Size></Contents></ListBucketResult>",
	 "<Size> is not an unsigned 64-bit number: '-1' at line 1 column 49"},
	{"size 2^64", "<ListBucketResult><Contents><Key>k</Key><Size>18446744073709551616</Size></Contents></ListBucketResult>",
	 "<Size> is not an unsigned 64-bit number: '18446744073709551616' at line 1 column 67"},
	{"empty size", "<ListBucketResult><Contents><Key>k</Key><Size></Size></Contents></ListBucketResult>",
	 "<Size> is not an unsigned 64-bit number: '' at line 1 column 47"},
	{"element in a text field", "<ListBucketResult><Contents><Key><b>x</b></Key></Contents></ListBucketResult>",
	 "element <b> inside <Key> where text was expected at line 1 column 34"},
	{"bad KeyCount", "<ListBucketResult><KeyCount>many</KeyCount></ListBucketResult>",
	 "<KeyCount> is not a number: 'many' at line 1 column 33"},
	{"bad IsTruncated", "<ListBucketResult><IsTruncated>yes</IsTruncated></ListBucketResult>",
	 "<IsTruncated> is not true or false: 'yes' at line 1 column 35"},
	{"bad time", "<ListBucketResult><Contents><Key>k</Key><LastModified>yesterday</LastModified></Contents></ListBucketResult>",
	 "<LastModified> is not an ISO 8601 time: 'yesterday' at line 1 column 64"},
	/* regression: years from 2263 overflowed the ns count (UBSan) */
	{"year 2263", "<ListBucketResult><Contents><Key>k</Key><LastModified>2263-01-01T00:00:00Z</LastModified></Contents></ListBucketResult>",
	 "<LastModified> is not an ISO 8601 time: '2263-01-01T00:00:00Z' at line 1 column 75"},
	{"garbage year", "<ListBucketResult><Contents><Key>k</Key><LastModified>2x23-01-01T00:00:00Z</LastModified></Contents></ListBucketResult>",
	 "<LastModified> is not an ISO 8601 time: '2x23-01-01T00:00:00Z' at line 1 column 75"},
	{"Contents without Key", "<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>",
	 "<Contents> without <Key> at line 1 column 43"},
	{"empty Key", "<ListBucketResult><Contents><Key></Key></Contents></ListBucketResult>",
	 "empty <Key> at line 1 column 34"},
	{"unknown EncodingType", "<ListBucketResult><EncodingType>rot13</EncodingType></ListBucketResult>",
	 "unsupported <EncodingType> 'rot13' at line 1 column 38"},
	{"bad percent", "<ListBucketResult><EncodingType>url</EncodingType><Contents><Key>a%zz</Key></Contents></ListBucketResult>",
	 "bad URL encoding in Key 'a%zz' at line 1 column 106"},
	{"percent NUL", "<ListBucketResult><EncodingType>url</EncodingType><Contents><Key>a%00b</Key></Contents></ListBucketResult>",
	 "bad URL encoding in Key 'a%00b' at line 1 column 107"},
	{"invalid UTF-8", "<ListBucketResult><Contents><Key>a\xff\xfe</Key></Contents></ListBucketResult>",
	 "not well-formed (invalid token) at line 1 column 35"},
	{"overlong UTF-8", "<ListBucketResult><Contents><Key>\xc0\xaf</Key></Contents></ListBucketResult>",
	 "not well-formed (invalid token) at line 1 column 34"},
	{"billion laughs",
	 "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;&lol;\">]>\n"
	 "<ListBucketResult><Prefix>&lol2;</Prefix></ListBucketResult>",
	 "DOCTYPE not allowed at line 2 column 16"},
	{"undefined entity", "<ListBucketResult><Prefix>&lol;</Prefix></ListBucketResult>",
	 "undefined entity at line 1 column 27"},
	{"junk after root", "<ListBucketResult></ListBucketResult><x/>",
	 "junk after document element at line 1 column 38"},
	{"mismatched tag", "<ListBucketResult><Contents></Key></ListBucketResult>",
	 "mismatched tag at line 1 column 31"},
};

static void test_malformed(void)
{
	char want[512];
	for (size_t i = 0; i < ARRAY_LEN(bad_lists); i++) {
		char *e = list_err(bad_lists[i].body, strlen(bad_lists[i].body));
		snprintf(want, sizeof(want), "malformed ListObjectsV2 response: %s", bad_lists[i].want);
		TAP_IS_STR(e, want, "%s", bad_lists[i].name);
		free(e);
	}

	/* A 10 MB key: refused at the cap, not stored. */
	struct buf b = {0};
	buf_puts(&b, "<ListBucketResult><Contents><Key>");
	for (int i = 0; i < 10 * 1024 * 1024 / 64; i++)
		buf_puts(&b, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
	buf_puts(&b, "</Key></Contents></ListBucketResult>");
	char *e = list_err(b.data, b.len);
	TAP_OK(strstr(e, "malformed ListObjectsV2 response: <Key> value longer than 65536 bytes at line 1 column ")
	       == e, "10 MB key refused: %s", e);
	free(e);

	/* 1,000-deep nesting inside an unknown element. */
	buf_reset(&b);
	buf_puts(&b, "<ListBucketResult>");
	for (int i = 0; i < 1000; i++)
		buf_puts(&b, "<d>");
	for (int i = 0; i < 1000; i++)
		buf_puts(&b, "</d>");
	buf_puts(&b, "</ListBucketResult>");
	e = list_err(b.data, b.len);
	TAP_IS_STR(e, "malformed ListObjectsV2 response: elements nested deeper than 32 at line 1 column 112",
		   "1,000-deep nesting refused");
	free(e);

	/* Every prefix of a good page is a clean error, never a crash (the
	 * page without its final newline is whole). */
	size_t n = strlen(s3_page) - 1, clean = 0;
	for (size_t i = 0; i < n; i++) {
		e = list_err(s3_page, i);
		clean += strncmp(e, "malformed ListObjectsV2 response: ", 34) == 0;
		free(e);
	}
	TAP_IS_INT(clean, n, "each of %zu truncations of the S3 page is a clean error", n);

	/* Within the depth cap, unknown nesting is fine. */
	const char *ok = "<ListBucketResult><x><y><z>t</z></y></x><Contents><Key>k</Key><Size>1</Size>"
			 "<RestoreStatus><IsRestoreInProgress>true</IsRestoreInProgress></RestoreStatus>"
			 "</Contents></ListBucketResult>";
	e = list_err(ok, strlen(ok));
	TAP_IS_STR(e, "(parsed)", "unknown elements are skipped");
	free(e);
	buf_free(&b);
}

static void test_error_docs(void)
{
	struct s3_error e;
	const char *err_doc = HDR "<Error><Code>NoSuchKey</Code><Message>The resource you requested does not exist"
			      "</Message><Key>a &amp; b</Key><BucketName>bkt</BucketName><RequestId>4442587FB7D0A2F9"
			      "</RequestId><HostId>x</HostId></Error>";
	TAP_IS_INT(s3xml_error_parse(err_doc, strlen(err_doc), &e), 1, "Error document detected");
	TAP_IS_STR(e.code, "NoSuchKey", "Code");
	TAP_IS_STR(e.message, "The resource you requested does not exist", "Message");
	TAP_IS_STR(e.key, "a & b", "Key");
	TAP_IS_STR(e.bucket, "bkt", "BucketName");
	TAP_IS_STR(e.request_id, "4442587FB7D0A2F9", "RequestId");
	s3xml_error_free(&e);

	/* CompleteMultipartUpload's 200 with an error: whitespace first. */
	const char *in200 = HDR "\n\n<Error><Code>InternalError</Code><Message>We encountered an internal error."
			    "</Message></Error>";
	TAP_IS_INT(s3xml_error_parse(in200, strlen(in200), &e), 1, "Error after whitespace");
	TAP_IS_STR(e.code, "InternalError", "its Code");
	s3xml_error_free(&e);

	const char *ns = "<Error xmlns=\"urn:x\"><Code>SlowDown</Code></Error>";
	TAP_IS_INT(s3xml_error_parse(ns, strlen(ns), &e), 1, "namespaced Error");
	TAP_IS_STR(e.code, "SlowDown", "its Code");
	TAP_OK(e.message == NULL, "absent Message is NULL");
	s3xml_error_free(&e);

	const char *cut = "<Error><Code>SlowDown</Code><Message>Please redu";
	TAP_IS_INT(s3xml_error_parse(cut, strlen(cut), &e), 1, "truncated Error is still an Error");
	TAP_IS_STR(e.code, "SlowDown", "Code read before the cut");
	TAP_OK(e.message == NULL, "Message cut off");
	s3xml_error_free(&e);

	TAP_IS_INT(s3xml_error_parse(s3_page, strlen(s3_page), &e), 0, "a list page is not an Error");
	TAP_OK(e.code == NULL, "e zeroed");
	TAP_IS_INT(s3xml_error_parse("", 0, &e), 0, "empty body is not an Error");
	TAP_IS_INT(s3xml_error_parse("garbage", 7, &e), 0, "garbage is not an Error");
	const char *dt = "<!DOCTYPE Error [<!ENTITY x \"y\">]><Error><Code>&x;</Code></Error>";
	TAP_IS_INT(s3xml_error_parse(dt, strlen(dt), &e), 0, "a DOCTYPE is refused before the root");
	const char *deep = "<Error><Code><b>x</b></Code></Error>";
	TAP_IS_INT(s3xml_error_parse(deep, strlen(deep), &e), 1, "Error with a bad Code is an Error");
	TAP_OK(e.code == NULL, "without a Code");
	s3xml_error_free(&e);
}

static void test_multipart(void)
{
	char *err;
	const char *init = HDR "<InitiateMultipartUploadResult xmlns=\"" S3NS "\"><Bucket>b</Bucket><Key>k</Key>"
			   "<UploadId>VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA</UploadId>"
			   "</InitiateMultipartUploadResult>";
	char *id = s3xml_initiate_parse(init, strlen(init), &err);
	TAP_IS_STR(id, "VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA", "UploadId");
	free(id);
	const char *noid = "<InitiateMultipartUploadResult><Bucket>b</Bucket></InitiateMultipartUploadResult>";
	id = s3xml_initiate_parse(noid, strlen(noid), &err);
	TAP_OK(id == NULL, "no UploadId is an error");
	TAP_IS_STR(err, "malformed CreateMultipartUpload response: no <UploadId> at line 1 column 82", "its message");
	free(err);
	id = s3xml_initiate_parse("<Error><Code>x</Code></Error>", 29, &err);
	TAP_IS_STR(err, "malformed CreateMultipartUpload response: unexpected root element <Error>, expected "
			"<InitiateMultipartUploadResult> at line 1 column 1", "Error root refused");
	free(err);

	struct s3_complete c;
	struct s3_error e;
	const char *done = HDR "<CompleteMultipartUploadResult xmlns=\"" S3NS "\"><Location>"
			   "http://b.s3.amazonaws.com/k</Location><Bucket>b</Bucket><Key>k</Key>"
			   "<ETag>\"3858f62230ac3c915f300c664312c11f-9\"</ETag></CompleteMultipartUploadResult>";
	TAP_IS_INT(s3xml_complete_parse(done, strlen(done), &c, &e, &err), 0, "Complete result");
	TAP_IS_STR(c.etag, "3858f62230ac3c915f300c664312c11f-9", "ETag");
	TAP_IS_STR(c.location, "http://b.s3.amazonaws.com/k", "Location");
	TAP_IS_STR(c.key, "k", "Key");
	s3xml_complete_free(&c);

	const char *in200 = HDR "\n<Error><Code>InternalError</Code><Message>We encountered an internal error. "
			    "Please try again.</Message><RequestId>656c76696e6727732072657175657374</RequestId>"
			    "</Error>";
	TAP_IS_INT(s3xml_complete_parse(in200, strlen(in200), &c, &e, &err), 1, "Complete with an Error body");
	TAP_IS_STR(e.code, "InternalError", "its Code");
	TAP_IS_STR(e.message, "We encountered an internal error. Please try again.", "its Message");
	TAP_OK(c.etag == NULL && err == NULL, "no result, no message");
	s3xml_error_free(&e);

	const char *noetag = "<CompleteMultipartUploadResult><Key>k</Key></CompleteMultipartUploadResult>";
	TAP_IS_INT(s3xml_complete_parse(noetag, strlen(noetag), &c, &e, &err), -1, "Complete without ETag");
	TAP_IS_STR(err, "malformed CompleteMultipartUpload response: no <ETag> at line 1 column 76", "its message");
	free(err);
	const char *cut = "<CompleteMultipartUploadResult><ETag>x</ETag>";
	TAP_IS_INT(s3xml_complete_parse(cut, strlen(cut), &c, &e, &err), -1, "truncated Complete");
	TAP_IS_STR(err, "malformed CompleteMultipartUpload response: truncated document (no closing tag for "
			"<CompleteMultipartUploadResult>) at line 1 column 46", "its message");
	TAP_OK(c.etag == NULL, "nothing leaks out of a failed parse");
	free(err);
}

static void test_uploads(void)
{
	struct s3_uploads_page pg;
	char *err;
	/* As S3 writes it (EncodingType after the uploads), keys URL-encoded. */
	const char *page = HDR "<ListMultipartUploadsResult xmlns=\"" S3NS "\"><Bucket>b</Bucket>"
			   "<KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker>"
			   "<NextKeyMarker>my%20movie.m2ts</NextKeyMarker>"
			   "<NextUploadIdMarker>YW55IGlkZWEgd2h5</NextUploadIdMarker><MaxUploads>2</MaxUploads>"
			   "<IsTruncated>true</IsTruncated>"
			   "<Upload><Key>a%2Bb/%E2%82%AC%20x</Key><UploadId>VXBsb2Fk</UploadId>"
			   "<Initiator><ID>arn:aws:iam::1:user/u</ID></Initiator><StorageClass>STANDARD</StorageClass>"
			   "<Initiated>2010-11-10T20:48:33.000Z</Initiated></Upload>"
			   "<Upload><Key>my%20movie.m2ts</Key><UploadId>YW55IGlkZWEgd2h5</UploadId></Upload>"
			   "<EncodingType>url</EncodingType></ListMultipartUploadsResult>";
	TAP_IS_INT(s3xml_uploads_parse(page, strlen(page), &pg, &err), 0, "ListMultipartUploads page");
	TAP_IS_INT(pg.n_uploads, 2, "two uploads");
	TAP_IS_STR(pg.uploads[0].key, "a+b/\xe2\x82\xac x", "key decoded");
	TAP_IS_STR(pg.uploads[0].upload_id, "VXBsb2Fk", "upload id");
	TAP_IS_STR(pg.uploads[1].key, "my movie.m2ts", "second key");
	TAP_OK(pg.is_truncated, "truncated");
	TAP_IS_STR(pg.next_key_marker, "my movie.m2ts", "NextKeyMarker decoded");
	TAP_IS_STR(pg.next_upload_id_marker, "YW55IGlkZWEgd2h5", "NextUploadIdMarker");
	s3xml_uploads_free(&pg);

	const char *none = "<ListMultipartUploadsResult><IsTruncated>false</IsTruncated></ListMultipartUploadsResult>";
	TAP_IS_INT(s3xml_uploads_parse(none, strlen(none), &pg, &err), 0, "no uploads");
	TAP_IS_INT(pg.n_uploads, 0, "an empty page");
	TAP_OK(pg.next_key_marker == NULL, "no marker");
	s3xml_uploads_free(&pg);

	static const struct {
		const char *body, *err;
	} bad[] = {
		{"<ListMultipartUploadsResult><IsTruncated>true</IsTruncated></ListMultipartUploadsResult>",
		 "malformed ListMultipartUploads response: <IsTruncated> is true without <NextKeyMarker> at line 1 "
		 "column 89"},
		{"<ListMultipartUploadsResult><Upload><UploadId>x</UploadId></Upload></ListMultipartUploadsResult>",
		 "malformed ListMultipartUploads response: <Upload> without <Key> at line 1 column 59"},
		{"<ListMultipartUploadsResult><Upload><Key>k</Key></Upload></ListMultipartUploadsResult>",
		 "malformed ListMultipartUploads response: <Upload> without <UploadId> at line 1 column 49"},
		{"<ListMultipartUploadsResult><EncodingType>url</EncodingType><Upload><Key>%zz</Key>"
		 "<UploadId>x</UploadId></Upload></ListMultipartUploadsResult>",
		 "malformed ListMultipartUploads response: bad URL encoding in Key '%zz' at line 1 column 143"},
		{"<Error><Code>NotImplemented</Code></Error>",
		 "malformed ListMultipartUploads response: unexpected root element <Error>, expected "
		 "<ListMultipartUploadsResult> at line 1 column 1"},
	};
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		TAP_IS_INT(s3xml_uploads_parse(bad[i].body, strlen(bad[i].body), &pg, &err), -1,
			   "malformed ListMultipartUploads %zu refused", i);
		TAP_IS_STR(err, bad[i].err, "its message");
		free(err);
		s3xml_uploads_free(&pg);
	}
}

/* The fuzz finding: an <Upload> below another element opens no upload,
 * and its <Key> was stored through &uploads[-1] of a NULL array. */
static void test_uploads_nested_upload(void)
{
	struct s3_uploads_page pg;
	char *err = NULL;
	const char *found = "<ListMultipartUploadsResult><t><Upload><Key></Key>n";
	TAP_IS_INT(s3xml_uploads_parse(found, strlen(found), &pg, &err), -1,
		   "uploads_nested_upload_null: the fuzzer's input is refused");
	TAP_IS_STR(err, "malformed ListMultipartUploads response: truncated document (no closing tag for "
		   "<ListMultipartUploadsResult>) at line 1 column 52", "... as truncated");
	TAP_IS_INT(pg.n_uploads, 0, "... with no upload");
	free(err);
	s3xml_uploads_free(&pg);

	const char *nested = "<ListMultipartUploadsResult><t><Upload><Key>k</Key><UploadId>u</UploadId></Upload></t>"
			     "<IsTruncated>false</IsTruncated></ListMultipartUploadsResult>";
	err = NULL;
	TAP_IS_INT(s3xml_uploads_parse(nested, strlen(nested), &pg, &err), 0, "a nested <Upload> is ignored");
	TAP_IS_INT(pg.n_uploads, 0, "... it is not an upload of the page");
	free(err);
	s3xml_uploads_free(&pg);
}

static void test_time(void)
{
	int64_t ns;
	TAP_IS_INT(iso_time("1970-01-01T00:00:00Z", &ns), 0, "epoch");
	TAP_IS_INT(ns, 0, "epoch is 0");
	TAP_IS_INT(iso_time("2000-03-01T00:00:00.5+01:00", &ns), 0, "offset and fraction");
	TAP_IS_INT(ns, (951868800LL - 3600) * 1000000000 + 500000000, "value");
	TAP_IS_INT(iso_time("1969-12-31T23:59:59Z", &ns), 0, "before the epoch");
	TAP_IS_INT(ns, -1000000000LL, "negative");
	TAP_IS_INT(iso_time("2023-02-30T00:00:00Z", &ns), -1, "no 30 February");
	TAP_IS_INT(iso_time("2023-01-01T00:00:00", &ns), -1, "zone required");
	TAP_IS_INT(iso_time("2023-01-01T00:00:00Zjunk", &ns), -1, "trailing junk");
	TAP_IS_INT(iso_time("2023-01-01T00:00:00.Z", &ns), -1, "empty fraction");
	char s[] = "a%2Fb+c%e2%82%ac";
	TAP_IS_INT(s3xml_url_decode(s), 0, "decode");
	TAP_IS_STR(s, "a/b c\xe2\x82\xac", "decoded, '+' a space");
	char t[] = "abc%4";
	TAP_IS_INT(s3xml_url_decode(t), -1, "short escape refused");
}

static void test_delete(void)
{
	struct s3_delete_result r;
	struct s3_error e;
	char *err;
	/* Quiet: only the failures; a <Deleted> list (s3rver ignores Quiet) is counted */
	const char *mixed = HDR "<DeleteResult xmlns=\"" S3NS "\"><Deleted><Key>a.claim.json</Key></Deleted>"
			    "<Error><Key>b &amp; c.json</Key><Code>AccessDenied</Code><Message>Access Denied</Message>"
			    "</Error><Error><Code>InternalError</Code><Key>d</Key></Error></DeleteResult>";
	TAP_IS_INT(s3xml_delete_parse(mixed, strlen(mixed), &r, &e, &err), 0, "DeleteResult");
	TAP_IS_INT(r.n_deleted, 1, "one Deleted");
	TAP_IS_INT(r.n_errors, 2, "two Errors");
	if (r.n_errors == 2) {
		TAP_IS_STR(r.errors[0].key, "b & c.json", "the first failure's Key");
		TAP_IS_STR(r.errors[0].code, "AccessDenied", "its Code");
		TAP_IS_STR(r.errors[0].message, "Access Denied", "its Message");
		TAP_IS_STR(r.errors[1].key, "d", "the second's Key, after its Code");
		TAP_OK(r.errors[1].message == NULL, "no Message: NULL");
	}
	s3xml_delete_free(&r);

	const char *quiet = "<DeleteResult xmlns=\"" S3NS "\"/>";
	TAP_IS_INT(s3xml_delete_parse(quiet, strlen(quiet), &r, &e, &err), 0, "an empty Quiet answer");
	TAP_OK(r.n_errors == 0 && r.n_deleted == 0, "nothing failed");
	s3xml_delete_free(&r);

	const char *doc = HDR "<Error><Code>MalformedXML</Code><Message>The XML you provided was not well-formed"
			  "</Message></Error>";
	TAP_IS_INT(s3xml_delete_parse(doc, strlen(doc), &r, &e, &err), 1, "an Error document");
	TAP_IS_STR(e.code, "MalformedXML", "its Code");
	TAP_OK(r.errors == NULL && err == NULL, "no result, no message");
	s3xml_error_free(&e);

	const char *nokey = "<DeleteResult><Error><Code>AccessDenied</Code></Error></DeleteResult>";
	TAP_IS_INT(s3xml_delete_parse(nokey, strlen(nokey), &r, &e, &err), -1, "an Error without Key");
	TAP_IS_STR(err, "malformed DeleteObjects response: <Error> without <Key> at line 1 column 47", "its message");
	TAP_OK(r.errors == NULL && r.n_errors == 0, "nothing leaks out of a failed parse");
	free(err);
	const char *nocode = "<DeleteResult><Error><Key>k</Key></Error></DeleteResult>";
	TAP_IS_INT(s3xml_delete_parse(nocode, strlen(nocode), &r, &e, &err), -1, "an Error without Code");
	TAP_IS_STR(err, "malformed DeleteObjects response: <Error> without <Code> at line 1 column 34", "its message");
	free(err);
	const char *other = "<ListBucketResult/>";
	TAP_IS_INT(s3xml_delete_parse(other, strlen(other), &r, &e, &err), -1, "another root");
	TAP_IS_STR(err, "malformed DeleteObjects response: unexpected root element <ListBucketResult>, expected "
			"<DeleteResult> at line 1 column 1", "its message");
	free(err);
	const char *cut = "<DeleteResult><Error><Key>k</Key><Code>X</Code>";
	TAP_IS_INT(s3xml_delete_parse(cut, strlen(cut), &r, &e, &err), -1, "a truncated answer");
	TAP_OK(err && strstr(err, "truncated document"), "says it is truncated");
	free(err);
	TAP_IS_INT(s3xml_delete_parse("", 0, &r, &e, &err), -1, "an empty body");
	free(err);
}

int main(void)
{
	test_s3_page();
	test_s3rver_page();
	test_url_encoded(1);
	test_url_encoded(0);
	test_pagination_errors();
	test_many_keys();
	test_malformed();
	test_error_docs();
	test_multipart();
	test_uploads();
	test_uploads_nested_upload();
	test_delete();
	test_time();
	return tap_done();
}
