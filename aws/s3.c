/* s3.c - S3 object operations over the HTTP engine.
 *
 * Every request is an s3_req: an http_request with the addressing computed
 * once (host, encoded path, query, URL) and a prepare callback that fetches
 * credentials and signs afresh on each attempt. An s3_op is served by a job:
 * one request for HEAD, GET, PUT and DELETE; for a multipart upload a chain
 * driven by done callbacks (CreateMultipartUpload, then every UploadPart at
 * once, then CompleteMultipartUpload, or AbortMultipartUpload after any
 * failure), so the parts of all uploads share the engine's bound with
 * everything else in the same s3_run.
 *
 * Payload integrity: a body in memory is signed with its SHA-256. A body
 * read from a file is hashed once before its first attempt (pread, EVP):
 * by default its SHA-256 is signed too, which S3 checks against what it
 * received at less CPU than MD5 on SHA-capable CPUs; when Content-MD5 is
 * asked for, the payload is sent UNSIGNED-PAYLOAD with Content-MD5 instead,
 * so every body costs one hashing pass. */
#include "aws/s3.h"
#include "aws/conn.h"

#include "aws/config.h"
#include "aws/creds.h"
#include "aws/crypto.h"
#include "aws/date.h"
#include "aws/http.h"
#include "aws/sigv4.h"
#include "aws/uri.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MIB ((uint64_t)1 << 20)
#define DEFAULT_PART_SIZE (8 * MIB)
#define DEFAULT_THRESHOLD (16 * MIB)
#define MIN_PART_SIZE (5 * MIB)
#define MAX_PARTS 10000u
#define MAX_OBJECT_SIZE ((uint64_t)5 << 40)
#define HASH_CHUNK ((size_t)1 << 20)
#define MD5_LEN 16
/* Base64 of 16 and of 32 bytes, and their NUL. */
#define MD5_B64_LEN 25
#define SHA256_B64_LEN 45

struct s3_client {
	struct aws_conn conn;
	uint64_t threshold, part_size;
	struct s3_stats stats;
	unsigned tmp_seq;
};

enum rkind { R_HEAD, R_GET, R_PUT, R_DELETE, R_LIST, R_INITIATE, R_PART, R_COMPLETE, R_ABORT, R_UPLOADS, R_DELETES };

static const char *const methods[] = {
	[R_HEAD] = "HEAD", [R_GET] = "GET", [R_PUT] = "PUT", [R_DELETE] = "DELETE", [R_LIST] = "GET",
	[R_INITIATE] = "POST", [R_PART] = "PUT", [R_COMPLETE] = "POST", [R_ABORT] = "DELETE", [R_UPLOADS] = "GET",
	[R_DELETES] = "POST",
};

struct job;

struct s3_req {
	struct http_request http;
	struct s3_client *c;
	struct job *job;      /* the op this request serves; NULL for listings */
	enum rkind kind;
	char *host, *path;    /* path percent-encoded, as sent and signed */
	char *query;          /* as sent; NULL for none */
	enum s3_checksum sum; /* what to send beside the body */
	unsigned part;        /* R_PART: its index (0-based) */
	/* Filled before the first attempt: the body is the same on each. */
	char payload[CRYPTO_SHA256_HEX_LEN];
	char md5_b64[MD5_B64_LEN], sha_b64[SHA256_B64_LEN];
};

struct job {
	struct s3_client *c;
	struct s3_op *op;
	const char *verb;
	struct s3_req req;    /* the op's request; for an upload: initiate,
	                         complete and abort in turn */
	int req_live;         /* req holds a request to free */
	char *tmp_path;       /* GET to a file: where the body goes first */
	uint64_t size;        /* PUT from a file: its size */
	/* multipart */
	uint64_t part_size;
	char *upload_id;
	struct s3_req *parts;
	char **etags;
	unsigned nparts, parts_left;
	struct buf xml;       /* the CompleteMultipartUpload body */
	int failed;           /* a part failed: send no more, then abort */
	struct aws_error *error; /* the first failure, while aborting */
};

static const char empty_sha256[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/* ---- pure helpers ---- */

/* The characters S3 has ever allowed in bucket names (aws_s3_url's rule;
 * checked here first so that it never reports). */
static int is_bucket_name(const char *b)
{
	size_t n = strlen(b);
	if (n == 0 || n > 255)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)b[i]) && !strchr("._-", b[i]))
			return 0;
	return 1;
}

int s3_uri_split(const char *uri, char **bucket, char **key)
{
	*bucket = *key = NULL;
	if (strncmp(uri, "s3://", 5))
		return -1;
	const char *b = uri + 5;
	size_t n = strcspn(b, "/");
	char *name = xstrndup(b, n);
	if (!is_bucket_name(name)) {
		free(name);
		return -1;
	}
	*bucket = name;
	*key = xstrdup(b[n] ? b + n + 1 : "");
	return 0;
}

uint64_t s3_part_size(uint64_t size, uint64_t want)
{
	uint64_t ps = want ? want : DEFAULT_PART_SIZE;
	if (size > MAX_OBJECT_SIZE)
		return 0;
	if (ps < MIN_PART_SIZE)
		ps = MIN_PART_SIZE;
	if ((size + ps - 1) / ps > MAX_PARTS) {
		ps = (size + MAX_PARTS - 1) / MAX_PARTS;
		ps = (ps + MIB - 1) / MIB * MIB;
	}
	return ps;
}

/* A name for an HTTP status, for errors S3 sent without a body (HEAD
 * requests never get one); NULL if none fits. */
static const char *status_code(long status)
{
	switch (status) {
	case 301: return "MovedPermanently";
	case 307: return "TemporaryRedirect";
	case 400: return "BadRequest";
	case 403: return "Forbidden";
	case 404: return "NotFound";
	case 405: return "MethodNotAllowed";
	case 409: return "Conflict";
	case 412: return "PreconditionFailed";
	case 416: return "InvalidRange";
	case 500: return "InternalError";
	case 501: return "NotImplemented";
	case 503: return "ServiceUnavailable";
	default: return NULL;
	}
}

void s3_request_error(const char *verb, const char *bucket, const char *key, const struct http_request *req,
                      struct aws_error *out)
{
	if (req->error)
		aws_error_copy(out, req->error);
	else
		aws_error_set(out, AWS_ERR_LOCAL, "failed");
	/* credentials are not about the object: their error says it all */
	if (out->kind == AWS_ERR_CREDENTIALS && out->what)
		return;
	char *uri = xasprintf("s3://%s/%s", bucket, key ? key : "");
	aws_error_what(out, verb, uri);
	free(uri);
	/* S3 sends no body with some errors (HEAD never gets one): name the
	 * status */
	if (out->kind == AWS_ERR_SERVICE && out->status >= 300 && !out->code && status_code(out->status))
		out->code = xstrdup(status_code(out->status));
	if (out->kind == AWS_ERR_SERVICE && out->status == 301) {
		const char *region = http_response_header(req, "x-amz-bucket-region");
		if (region)
			aws_error_notef(out, " (the bucket is in %s)", region);
	}
}

static void base64(const uint8_t *in, size_t n, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, in, (int)n);
}

/* ---- the client ---- */

struct s3_client *s3_client_new(const struct s3_client_config *conf, struct aws_error *err)
{
	static const struct s3_client_config defaults = {0};
	struct s3_client *c = xcalloc(1, sizeof(*c));

	if (!conf)
		conf = &defaults;
	if (aws_conn_open(&c->conn, "S3", conf->profile, conf->max_in_flight, conf->max_attempts, err) < 0)
		goto fail;
	c->conn.notice = conf->notice;
	c->conn.notice_arg = conf->notice_arg;
	if (conf->creds)
		aws_conn_set_creds(&c->conn, conf->creds);
	c->threshold = conf->multipart_threshold ? conf->multipart_threshold : DEFAULT_THRESHOLD;
	c->part_size = conf->part_size ? conf->part_size : DEFAULT_PART_SIZE;
	return c;
fail:
	s3_client_free(c);
	return NULL;
}

void s3_client_free(struct s3_client *c)
{
	if (!c)
		return;
	aws_conn_close(&c->conn);
	free(c);
}

struct http_engine *s3_client_engine(struct s3_client *c)
{
	return c->conn.http;
}

void s3_client_stats(const struct s3_client *c, struct s3_stats *out)
{
	*out = c->stats;
}

/* ---- requests ---- */

static int prepare(struct http_request *, void *);

static int without_etag(struct http_request *h, void *arg, char **code, char **message)
{
	(void)arg;
	if (http_response_header(h, "ETag"))
		return 0;
	*code = xstrdup("InternalError");
	*message = xstrdup("a 200 answer without the object's ETag");
	return 1;
}

/* Make r a kind request for bucket/key (key NULL: the bucket) with query
 * (owned by r from now on; NULL for none). The bucket has passed
 * is_bucket_name, so aws_s3_url accepts it; were it refused, the request
 * would fail for want of a URL. */
static void req_init(struct s3_req *r, struct s3_client *c, struct job *j, enum rkind kind, const char *bucket,
                    const char *key, char *query)
{
	struct aws_s3_url u;
	struct aws_error e = {0};
	struct buf path = {0};
	memset(r, 0, sizeof(*r));
	http_request_init(&r->http);
	r->c = c;
	r->job = j;
	r->kind = kind;
	r->query = query;
	r->http.method = methods[kind];
	r->http.prepare = prepare;
	r->http.arg = r;
	/* S3 answers these with no body: an <Error> in a 200 is an error. An
	 * object's HEAD or GET always carries its ETag: a 200 without one is
	 * not the object (it may be an <Error>, which a GET cannot tell from
	 * the object's own bytes). */
	if (kind == R_PUT || kind == R_DELETE || kind == R_PART)
		r->http.flags |= HTTP_ERROR_IN_200;
	if ((kind == R_GET || kind == R_HEAD) && key && *key)
		r->http.classify = without_etag;
	if (aws_s3_url(&c->conn.ep, bucket, key, &u, &e) < 0) {
		aws_error_clear(&e);
		return;
	}
	uri_encode_path(&path, u.path, strlen(u.path));
	r->host = u.host;
	u.host = NULL;
	aws_s3_url_free(&u);
	r->path = buf_detach(&path);
	r->http.url = xasprintf("%s://%s%s%s%s", c->conn.ep.scheme, r->host, r->path, query ? "?" : "",
	                        query ? query : "");
}

static void req_free(struct s3_req *r)
{
	http_request_free(&r->http);
	free(r->host);
	free(r->path);
	free(r->query);
	r->host = r->path = r->query = NULL;
}

/* MD5 and/or SHA-256 (either output may be NULL) of len bytes at mem, or
 * of the file path from off. 0, or -1 with *why (the caller frees). */
static int digest(const void *mem, const char *path, uint64_t off, uint64_t len, uint8_t *md5, uint8_t *sha,
                  char **why)
{
	EVP_MD_CTX *m = NULL, *s = NULL;
	char *chunk = NULL;
	int fd = -1, ret = -1;

	if ((md5 && (!(m = EVP_MD_CTX_new()) || !EVP_DigestInit_ex(m, EVP_md5(), NULL))) ||
	    (sha && (!(s = EVP_MD_CTX_new()) || !EVP_DigestInit_ex(s, EVP_sha256(), NULL)))) {
		*why = xstrdup("cannot start a digest (OpenSSL)");
		goto out;
	}
	if (path) {
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
			*why = xasprintf("cannot read '%s': %s", path, strerror(errno));
			goto out;
		}
		posix_fadvise(fd, (off_t)off, (off_t)len, POSIX_FADV_SEQUENTIAL);
		chunk = xmalloc(HASH_CHUNK);
	}
	for (uint64_t done = 0; done < len;) {
		size_t n = len - done < HASH_CHUNK ? (size_t)(len - done) : HASH_CHUNK;
		const void *p = chunk;
		if (!path) {
			p = (const char *)mem + done;
		} else {
			ssize_t got = pread(fd, chunk, n, (off_t)(off + done));
			if (got < 0 && errno == EINTR)
				continue;
			if (got <= 0) {
				*why = got < 0 ? xasprintf("cannot read '%s': %s", path, strerror(errno))
				               : xasprintf("cannot read '%s': it became shorter", path);
				goto out;
			}
			n = (size_t)got;
		}
		if ((m && !EVP_DigestUpdate(m, p, n)) || (s && !EVP_DigestUpdate(s, p, n))) {
			*why = xstrdup("cannot compute a digest (OpenSSL)");
			goto out;
		}
		done += n;
	}
	if ((m && !EVP_DigestFinal_ex(m, md5, NULL)) || (s && !EVP_DigestFinal_ex(s, sha, NULL))) {
		*why = xstrdup("cannot compute a digest (OpenSSL)");
		goto out;
	}
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	free(chunk);
	EVP_MD_CTX_free(m);
	EVP_MD_CTX_free(s);
	return ret;
}

/* Fill r's payload hash and checksums from its body. 0, or -1 with the
 * request failed. */
static int hash_body(struct s3_req *r)
{
	struct http_request *h = &r->http;
	uint8_t md5[MD5_LEN], sha[CRYPTO_SHA256_LEN];
	int want_md5 = r->sum == S3_CHECKSUM_MD5;
	int want_sha = !(h->body_path && want_md5);
	char *why = NULL;

	if (!h->body && !h->body_path) {
		memcpy(r->payload, empty_sha256, sizeof(empty_sha256));
		return 0;
	}
	if (digest(h->body, h->body_path, (uint64_t)h->body_offset, h->body_len, want_md5 ? md5 : NULL,
	           want_sha ? sha : NULL, &why) < 0) {
		http_request_fail(h, AWS_ERR_LOCAL, "%s", why);
		free(why);
		return -1;
	}
	if (want_sha)
		hex_encode(sha, sizeof(sha), r->payload);
	else
		memcpy(r->payload, SIGV4_UNSIGNED_PAYLOAD, sizeof(SIGV4_UNSIGNED_PAYLOAD));
	if (want_md5)
		base64(md5, sizeof(md5), r->md5_b64);
	if (r->sum == S3_CHECKSUM_SHA256)
		base64(sha, sizeof(sha), r->sha_b64);
	return 0;
}

/* The headers of r besides Host and what signing adds. */
static void add_headers(struct s3_req *r)
{
	struct sigv4_headers *hs = &r->http.headers;
	const struct s3_op *op = r->job ? r->job->op : NULL;
	char range[64];

	if (r->kind == R_GET && op->range_len) {
		snprintf(range, sizeof(range), "bytes=%" PRIu64 "-%" PRIu64, op->range_start,
		         op->range_start + op->range_len - 1);
		sigv4_headers_add(hs, "Range", range);
	}
	if ((r->kind == R_PUT || r->kind == R_INITIATE) && op->content_type)
		sigv4_headers_add(hs, "Content-Type", op->content_type);
	if (r->md5_b64[0])
		sigv4_headers_add(hs, "Content-MD5", r->md5_b64);
	if (r->sha_b64[0])
		sigv4_headers_add(hs, "x-amz-checksum-sha256", r->sha_b64);
	if ((r->kind == R_PUT || r->kind == R_COMPLETE) && op->if_none_match)
		sigv4_headers_add(hs, "If-None-Match", "*");
	if (r->kind == R_PUT && op->if_match) {
		char quoted[96];
		snprintf(quoted, sizeof(quoted), "\"%s\"", op->if_match);
		sigv4_headers_add(hs, "If-Match", quoted);
	}
}

static void count_request(struct s3_client *c, enum rkind kind)
{
	switch (kind) {
	case R_HEAD: c->stats.head++; break;
	case R_GET: c->stats.get++; break;
	case R_PUT: c->stats.put++; break;
	case R_DELETE: case R_DELETES: c->stats.del++; break;
	case R_LIST: case R_UPLOADS: c->stats.list++; break;
	case R_INITIATE: case R_PART: case R_COMPLETE: case R_ABORT: c->stats.multipart++; break;
	}
}

/* http prepare: credentials (cached by the provider) and a fresh
 * signature on every attempt. */
static int prepare(struct http_request *h, void *arg)
{
	struct s3_req *r = arg;
	struct s3_client *c = r->c;

	if (r->kind == R_PART && r->job->failed) {
		http_request_fail(h, AWS_ERR_LOCAL, "not sent: another part failed");
		return -1;
	}
	if (!r->payload[0] && hash_body(r) < 0)
		return -1;
	struct sigv4_request sr = {
		.method = h->method, .path = r->path, .query = r->query, .headers = &h->headers,
		.payload_hash = r->payload,
	};
	sigv4_headers_free(&h->headers);
	sigv4_headers_add(&h->headers, "Host", r->host);
	add_headers(r);
	if (aws_conn_sign(&c->conn, h, "s3", SIGV4_S3, &sr) < 0)
		return -1;
	count_request(c, r->kind);
	return 0;
}

/* ---- jobs: one per s3_op ---- */

/* A new error about j's object: "cannot <verb> 's3://b/k': …". */
static struct aws_error *job_error(struct job *j, enum aws_error_kind kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static struct aws_error *job_error(struct job *j, enum aws_error_kind kind, const char *fmt, ...)
{
	struct aws_error *e = xcalloc(1, sizeof(*e));
	struct buf b = {0};
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	aws_error_set(e, kind, "%s", b.data);
	buf_free(&b);
	char *uri = xasprintf("s3://%s/%s", j->op->bucket ? j->op->bucket : "", j->op->key ? j->op->key : "");
	aws_error_what(e, j->verb, uri);
	free(uri);
	return e;
}

static void set_op_error(struct job *j, struct aws_error *e)
{
	aws_error_free(j->op->error);
	j->op->error = e;
}

#define job_fail(j, kind, ...) set_op_error((j), job_error((j), (kind), __VA_ARGS__))

/* The error of a failed request h about j's object. */
static struct aws_error *req_error(struct job *j, const struct http_request *h)
{
	struct aws_error *e = xcalloc(1, sizeof(*e));
	s3_request_error(j->verb, j->op->bucket, j->op->key, h, e);
	return e;
}

static void job_fail_req(struct job *j, const struct http_request *h)
{
	set_op_error(j, req_error(j, h));
}

static void on_done(struct http_request *, void *);

/* Make j->req a kind request for the op's object with query (owned from
 * now on). */
static void job_request(struct job *j, enum rkind kind, char *query)
{
	req_init(&j->req, j->c, j, kind, j->op->bucket, j->op->key, query);
	j->req_live = 1;
	j->req.http.done = on_done;
}

static void job_send(struct job *j)
{
	http_submit(j->c->conn.http, &j->req.http);
}

static void job_release(struct job *j)
{
	if (j->req_live)
		req_free(&j->req);
	j->req_live = 0;
}

static void strip_quotes(const char *in, char *out, size_t cap)
{
	size_t n = strlen(in);
	if (n >= 2 && in[0] == '"' && in[n - 1] == '"')
		in++, n -= 2;
	if (n >= cap)
		n = cap - 1;
	memcpy(out, in, n);
	out[n] = 0;
}

/* Size, ETag and mtime of a HEAD or GET response. */
static void read_meta(struct s3_op *op, const struct http_request *h)
{
	const char *v;
	if ((v = http_response_header(h, "ETag")))
		strip_quotes(v, op->etag, sizeof(op->etag));
	if ((v = http_response_header(h, "Last-Modified")) && aws_date_parse(v, AWS_DATE_HTTP, &op->mtime_ns) < 0)
		op->mtime_ns = 0;
	/* "bytes 0-99/1234": the object's size is the total */
	if (h->status == 206 && (v = http_response_header(h, "Content-Range")) && (v = strchr(v, '/')) &&
	    isdigit((unsigned char)v[1]))
		op->size = strtoull(v + 1, NULL, 10);
	else if ((v = http_response_header(h, "Content-Length")))
		op->size = strtoull(v, NULL, 10);
}

static int is_code(const struct http_request *h, const char *code)
{
	return h->error && h->error->code && !strcmp(h->error->code, code);
}

static void single_done(struct job *j)
{
	struct http_request *h = &j->req.http;
	struct s3_op *op = j->op;
	struct s3_client *c = j->c;

	if (h->error) {
		/* Absent objects are answers, not errors; a missing bucket is. */
		if (h->status == 404 && !is_code(h, "NoSuchBucket") &&
		    (op->kind == S3_HEAD || op->kind == S3_GET || op->kind == S3_DELETE))
			op->found = 0;
		else if (h->status == 412 && op->kind == S3_PUT && op->if_none_match)
			op->found = 0;
		else if ((h->status == 412 || h->status == 404) && op->kind == S3_PUT && op->if_match)
			op->found = 0;
		else
			job_fail_req(j, h);
	} else if (op->kind == S3_HEAD || op->kind == S3_GET) {
		read_meta(op, h);
		if (op->kind == S3_GET && j->tmp_path) {
			c->stats.bytes_down += h->bytes_out;
			if (rename(j->tmp_path, op->out_path) < 0)
				job_fail(j, AWS_ERR_LOCAL, "cannot rename '%s' to '%s': %s", j->tmp_path, op->out_path,
				         strerror(errno));
		} else if (op->kind == S3_GET) {
			c->stats.bytes_down += h->resp_body.len;
			op->body_out = h->resp_body;
			memset(&h->resp_body, 0, sizeof(h->resp_body));
		}
	} else if (op->kind == S3_PUT) {
		const char *etag = http_response_header(h, "ETag");
		if (etag)
			strip_quotes(etag, op->etag, sizeof(op->etag));
		op->size = h->body_len;
		c->stats.bytes_up += h->body_len;
	}
	if (j->tmp_path && (op->error || !op->found))
		unlink(j->tmp_path);
	job_release(j);
}

/* ---- multipart ---- */

static void abort_upload(struct job *j)
{
	struct buf q = {0};
	uri_query_add(&q, "uploadId", j->upload_id);
	job_request(j, R_ABORT, buf_detach(&q));
	job_send(j);
}

/* The first failure of an upload (taken): kept in j->error until the
 * abort ends. */
static void upload_failed(struct job *j, struct aws_error *e)
{
	if (j->error)
		aws_error_free(e);
	else
		j->error = e;
	j->failed = 1;
}

static void complete_upload(struct job *j)
{
	struct buf q = {0};
	buf_puts(&j->xml, "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
	for (unsigned i = 0; i < j->nparts; i++) {
		buf_printf(&j->xml, "<Part><PartNumber>%u</PartNumber><ETag>\"", i + 1);
		for (const char *p = j->etags[i]; *p; p++) {
			if (*p == '&')
				buf_puts(&j->xml, "&amp;");
			else if (*p == '<')
				buf_puts(&j->xml, "&lt;");
			else
				buf_putc(&j->xml, *p);
		}
		buf_puts(&j->xml, "\"</ETag></Part>");
	}
	buf_puts(&j->xml, "</CompleteMultipartUpload>");
	uri_query_add(&q, "uploadId", j->upload_id);
	job_request(j, R_COMPLETE, buf_detach(&q));
	j->req.http.body = j->xml.data;
	j->req.http.body_len = j->xml.len;
	/* S3 may answer 200 and then fail the assembly with an Error body. */
	j->req.http.flags = HTTP_ERROR_IN_200;
	job_send(j);
}

static void start_parts(struct job *j)
{
	struct s3_op *op = j->op;
	j->parts = xcalloc(j->nparts, sizeof(*j->parts));
	j->etags = xcalloc(j->nparts, sizeof(*j->etags));
	j->parts_left = j->nparts;
	for (unsigned i = 0; i < j->nparts; i++) {
		struct s3_req *r = &j->parts[i];
		struct buf q = {0};
		char num[16];
		uint64_t off = (uint64_t)i * j->part_size;
		snprintf(num, sizeof(num), "%u", i + 1);
		uri_query_add(&q, "partNumber", num);
		uri_query_add(&q, "uploadId", j->upload_id);
		req_init(r, j->c, j, R_PART, op->bucket, op->key, buf_detach(&q));
		r->part = i;
		/* x-amz-checksum-sha256 would have to be declared at initiate
		 * and listed at complete; parts carry Content-MD5 instead */
		r->sum = op->checksum == S3_CHECKSUM_NONE ? S3_CHECKSUM_NONE : S3_CHECKSUM_MD5;
		r->http.body_path = op->in_path;
		r->http.body_offset = (off_t)off;
		r->http.body_len = (size_t)(j->size - off < j->part_size ? j->size - off : j->part_size);
		r->http.done = on_done;
	}
	for (unsigned i = 0; i < j->nparts; i++)
		http_submit(j->c->conn.http, &j->parts[i].http);
}

static void initiate_done(struct job *j)
{
	struct http_request *h = &j->req.http;
	char *err = NULL;
	if (h->error) {
		job_fail_req(j, h);
	} else if (!(j->upload_id = s3xml_initiate_parse(h->resp_body.data, h->resp_body.len, &err))) {
		job_fail(j, AWS_ERR_RESPONSE, "%s", err);
		free(err);
	}
	job_release(j);
	if (j->upload_id)
		start_parts(j);
}

static void part_done(struct job *j, struct s3_req *r)
{
	struct http_request *h = &r->http;
	const char *etag = http_response_header(h, "ETag");
	if (h->error) {
		upload_failed(j, req_error(j, h));
	} else if (!etag || !*etag) {
		upload_failed(j, job_error(j, AWS_ERR_RESPONSE, "part %u came back without an ETag", r->part + 1));
	} else {
		char tag[sizeof(j->op->etag)];
		strip_quotes(etag, tag, sizeof(tag));
		j->etags[r->part] = xstrdup(tag);
		j->c->stats.bytes_up += h->body_len;
	}
	req_free(r);
	if (--j->parts_left)
		return;
	if (j->failed)
		abort_upload(j);
	else
		complete_upload(j);
}

static void complete_done(struct job *j)
{
	struct http_request *h = &j->req.http;
	struct s3_complete res;
	struct s3_error e;
	char *err = NULL;
	int rc;

	if (h->error) {
		if (h->status == 412 && j->op->if_none_match)
			j->op->found = 0;
		else
			upload_failed(j, req_error(j, h));
	} else if ((rc = s3xml_complete_parse(h->resp_body.data, h->resp_body.len, &res, &e, &err)) == 0) {
		strip_quotes(res.etag, j->op->etag, sizeof(j->op->etag));
		j->op->size = j->size;
		s3xml_complete_free(&res);
	} else if (rc == 1) {
		struct aws_error *ae = job_error(j, AWS_ERR_SERVICE, "%s", e.message ? e.message : "");
		ae->status = h->status;
		ae->code = xstrdup(e.code ? e.code : "Error");
		if (!e.message) {
			free(ae->message);
			ae->message = NULL;
		}
		upload_failed(j, ae);
		s3xml_error_free(&e);
	} else {
		upload_failed(j, job_error(j, AWS_ERR_RESPONSE, "%s", err));
		free(err);
	}
	job_release(j);
	if (j->failed || !j->op->found)
		abort_upload(j);
}

static void abort_done(struct job *j)
{
	struct http_request *h = &j->req.http;
	if (j->error) {
		if (h->error && h->status != 404) {
			struct aws_error ae = {0};
			s3_request_error(j->verb, j->op->bucket, j->op->key, h, &ae);
			char *why = aws_error_reason(&ae);
			aws_error_notef(j->error, "; the upload could not be aborted either: %s", why);
			free(why);
			aws_error_clear(&ae);
		}
		set_op_error(j, j->error);
		j->error = NULL;
	}
	job_release(j);
}

static void on_done(struct http_request *h, void *arg)
{
	struct s3_req *r = arg;
	struct job *j = r->job;
	(void)h;
	switch (r->kind) {
	case R_HEAD: case R_GET: case R_PUT: case R_DELETE: single_done(j); break;
	case R_INITIATE: initiate_done(j); break;
	case R_PART: part_done(j, r); break;
	case R_COMPLETE: complete_done(j); break;
	case R_ABORT: abort_done(j); break;
	case R_LIST: case R_UPLOADS: case R_DELETES: break;
	}
}

/* A temporary name beside path, unique in this process and among
 * processes: "<path>.rapid-<pid>-<n>". */
static char *temp_beside(struct s3_client *c, const char *path)
{
	return xasprintf("%s.rapid-%ld-%u", path, (long)getpid(), c->tmp_seq++);
}

static void job_start(struct s3_client *c, struct s3_op *op, struct job *j)
{
	static const char *const verbs[] = {[S3_HEAD] = "head", [S3_GET] = "get", [S3_PUT] = "put",
	                                    [S3_DELETE] = "delete"};
	static const enum rkind kinds[] = {[S3_HEAD] = R_HEAD, [S3_GET] = R_GET, [S3_PUT] = R_PUT,
	                                   [S3_DELETE] = R_DELETE};
	struct stat st;

	aws_error_free(op->error);
	buf_free(&op->body_out);
	op->error = NULL;
	op->found = 1;
	op->etag[0] = 0;
	op->size = 0;
	op->mtime_ns = 0;
	j->c = c;
	j->op = op;
	j->verb = verbs[op->kind];
	if (!op->bucket || !is_bucket_name(op->bucket)) {
		job_fail(j, AWS_ERR_CONFIG, "not a bucket name");
		return;
	}
	if (!op->key || !*op->key) {
		job_fail(j, AWS_ERR_CONFIG, "no object key");
		return;
	}
	if (op->kind == S3_PUT && op->in_path) {
		if (stat(op->in_path, &st) < 0) {
			job_fail(j, AWS_ERR_LOCAL, "cannot read '%s': %s", op->in_path, strerror(errno));
			return;
		}
		if (!S_ISREG(st.st_mode)) {
			job_fail(j, AWS_ERR_LOCAL, "cannot read '%s': not a regular file", op->in_path);
			return;
		}
		j->size = (uint64_t)st.st_size;
		if (j->size >= c->threshold) {
			j->verb = "upload";
			if (!(j->part_size = s3_part_size(j->size, c->part_size))) {
				job_fail(j, AWS_ERR_LOCAL, "'%s' is larger than 5 TiB, the most S3 stores", op->in_path);
				return;
			}
			j->nparts = (unsigned)((j->size + j->part_size - 1) / j->part_size);
			job_request(j, R_INITIATE, xstrdup("uploads"));
			job_send(j);
			return;
		}
	}
	job_request(j, kinds[op->kind], NULL);
	struct s3_req *r = &j->req;
	if (op->kind == S3_GET && op->out_path) {
		j->tmp_path = temp_beside(c, op->out_path);
		r->http.out_path = j->tmp_path;
	} else if (op->kind == S3_GET) {
		r->http.max_body = SIZE_MAX; /* the caller asked for it in memory */
	} else if (op->kind == S3_PUT) {
		r->sum = op->checksum;
		if (op->in_path) {
			r->http.body_path = op->in_path;
			r->http.body_len = (size_t)j->size;
		} else {
			/* http sends a body only when it has one to point at */
			r->http.body = op->body ? op->body : "";
			r->http.body_len = op->body_len;
		}
	}
	job_send(j);
}

static void job_free(struct job *j)
{
	job_release(j);
	if (j->etags)
		for (unsigned i = 0; i < j->nparts; i++)
			free(j->etags[i]);
	free(j->etags);
	free(j->parts);
	free(j->upload_id);
	free(j->tmp_path);
	aws_error_free(j->error);
	buf_free(&j->xml);
}

int s3_run(struct s3_client *c, struct s3_op *ops, size_t n)
{
	struct job *jobs = xcalloc(n, sizeof(*jobs));
	int ret = 0;
	aws_conn_begin(&c->conn);
	for (size_t i = 0; i < n; i++)
		job_start(c, &ops[i], &jobs[i]);
	/* Every failure is in its op's error; http_run's own verdict counts
	 * 404s and 412s, which are answers here. */
	http_run(c->conn.http);
	for (size_t i = 0; i < n; i++) {
		job_free(&jobs[i]);
		if (ops[i].error)
			ret = -1;
	}
	free(jobs);
	return ret;
}

void s3_op_free(struct s3_op *op)
{
	buf_free(&op->body_out);
	aws_error_free(op->error);
	op->error = NULL;
	op->found = 0;
	op->etag[0] = 0;
	op->size = 0;
	op->mtime_ns = 0;
}

/* ---- listings ---- */

static int skip_object(void *ctx, const struct s3_object *o)
{
	(void)ctx, (void)o;
	return 0;
}

/* err := "cannot <verb> 's3://bucket/prefix': <fmt>" of kind. */
static void list_error(struct aws_error *err, enum aws_error_kind kind, const char *verb, const char *bucket,
                       const char *prefix, const char *why)
{
	char *uri = xasprintf("s3://%s/%s", bucket, prefix);
	aws_error_set(err, kind, "%s", why);
	aws_error_what(err, verb, uri);
	free(uri);
}

int s3_bucket_region(struct s3_client *c, const char *bucket, char **region, struct aws_error *err)
{
	struct s3_req r;
	*region = NULL;
	if (!is_bucket_name(bucket)) {
		list_error(err, AWS_ERR_CONFIG, "head", bucket, "", "not a bucket name");
		return -1;
	}
	aws_conn_begin(&c->conn);
	req_init(&r, c, NULL, R_HEAD, bucket, NULL, NULL);
	int failed = http_do(c->conn.http, &r.http) < 0;
	/* S3 names the bucket's region on 200, and on the 301 and 403 it
	 * answers from another region's endpoint. */
	const char *v = r.http.status ? http_response_header(&r.http, "x-amz-bucket-region") : NULL;
	if (v && *v && (!failed || r.http.status == 301 || r.http.status == 403))
		*region = xstrdup(v);
	else if (failed && r.http.status == 404) {
		s3_request_error("head", bucket, "", &r.http, err);
		free(err->message);
		err->message = xstrdup("no such bucket");
		err->brief = true;
	} else if (failed)
		s3_request_error("head", bucket, "", &r.http, err);
	else
		list_error(err, AWS_ERR_RESPONSE, "head", bucket, "", "the answer names no region");
	req_free(&r);
	return *region ? 0 : -1;
}

int s3_list(struct s3_client *c, const char *bucket, const struct s3_list_opts *opts, s3xml_object_fn on_object,
            s3_prefix_fn on_prefix, void *ctx, unsigned *requests, struct aws_error *err)
{
	static const struct s3_list_opts none = {0};
	const char *prefix;
	char *token = NULL, num[16];
	unsigned pages = 0;
	int ret = -1;

	if (!opts)
		opts = &none;
	prefix = opts->prefix ? opts->prefix : "";
	snprintf(num, sizeof(num), "%u", opts->max_keys && opts->max_keys < 1000 ? opts->max_keys : 1000);
	if (!is_bucket_name(bucket)) {
		list_error(err, AWS_ERR_CONFIG, "list", bucket, prefix, "not a bucket name");
		goto out;
	}
	aws_conn_begin(&c->conn);
	for (;;) {
		struct buf q = {0};
		struct s3_req r;
		struct s3_list_page pg;
		char *perr = NULL;
		int stop = 0;

		uri_query_add(&q, "list-type", "2");
		if (token)
			uri_query_add(&q, "continuation-token", token);
		if (opts->delimiter && *opts->delimiter)
			uri_query_add(&q, "delimiter", opts->delimiter);
		uri_query_add(&q, "encoding-type", "url");
		uri_query_add(&q, "max-keys", num);
		if (*prefix)
			uri_query_add(&q, "prefix", prefix);
		if (!token && opts->start_after && *opts->start_after)
			uri_query_add(&q, "start-after", opts->start_after);
		req_init(&r, c, NULL, R_LIST, bucket, NULL, buf_detach(&q));
		/* A listing is never an <Error> document: one in a 200 is an
		 * error (retried when its code says so). */
		r.http.flags |= HTTP_ERROR_IN_200;
		pages++;
		if (http_do(c->conn.http, &r.http) < 0) {
			s3_request_error("list", bucket, prefix, &r.http, err);
			req_free(&r);
			break;
		}
		c->stats.bytes_down += r.http.resp_body.len;
		if (s3xml_list_parse(r.http.resp_body.data, r.http.resp_body.len, on_object ? on_object : skip_object,
		                     ctx, &pg, &perr) < 0) {
			if (perr)
				list_error(err, AWS_ERR_RESPONSE, "list", bucket, prefix, perr);
			free(perr);
			stop = 1;
		}
		for (size_t i = 0; !stop && on_prefix && i < pg.n_common_prefixes; i++)
			if (on_prefix(ctx, pg.common_prefixes[i]) < 0)
				stop = 1;
		free(token);
		token = !stop && pg.is_truncated ? xstrdup(pg.next_token) : NULL;
		s3xml_list_free(&pg);
		req_free(&r);
		if (stop)
			break;
		if (!token) {
			ret = 0;
			break;
		}
	}
out:
	free(token);
	if (requests)
		*requests = pages;
	return ret;
}

/* ---- DeleteObjects ---- */

void s3_delete_failures_free(struct s3_delete_failure *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].key);
		aws_error_clear(&v[i].error);
	}
	free(v);
}

/* The Delete document for keys: Quiet, so that S3 names only failures.
 * -1 when a key cannot be said in XML 1.0 (a control character). */
static int delete_body(struct buf *b, const char *const *keys, size_t n)
{
	buf_puts(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
	            "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Quiet>true</Quiet>");
	for (size_t i = 0; i < n; i++) {
		buf_puts(b, "<Object><Key>");
		for (const unsigned char *p = (const unsigned char *)keys[i]; *p; p++) {
			if (*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r')
				return -1;
			if (*p == '&')
				buf_puts(b, "&amp;");
			else if (*p == '<')
				buf_puts(b, "&lt;");
			else if (*p == '>')
				buf_puts(b, "&gt;");
			else if (*p == '\r' || *p == '\n' || *p == '\t')
				buf_printf(b, "&#%d;", *p); /* kept as they are, not normalised */
			else
				buf_putc(b, (char)*p);
		}
		buf_puts(b, "</Key></Object>");
	}
	buf_puts(b, "</Delete>");
	return 0;
}

int s3_delete_objects(struct s3_client *c, const char *bucket, const char *const *keys, size_t n,
                      struct s3_delete_failure **failed, size_t *nfailed, struct aws_error *err)
{
	struct buf body = {0}, q = {0};
	struct s3_delete_result res;
	struct s3_error e;
	char *perr = NULL, what[64];
	int ret = -1, rc;

	*failed = NULL;
	*nfailed = 0;
	snprintf(what, sizeof(what), "delete %zu object%s of", n, n == 1 ? "" : "s");
	if (n == 0)
		return 0;
	if (!is_bucket_name(bucket)) {
		list_error(err, AWS_ERR_CONFIG, what, bucket, "", "not a bucket name");
		return -1;
	}
	if (n > S3_DELETE_MAX) {
		list_error(err, AWS_ERR_CONFIG, what, bucket, "", "DeleteObjects takes at most 1000 keys");
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (!keys[i] || !*keys[i]) {
			list_error(err, AWS_ERR_CONFIG, what, bucket, "", "an empty object key");
			return -1;
		}
	if (delete_body(&body, keys, n) < 0) {
		list_error(err, AWS_ERR_CONFIG, what, bucket, "", "a key holds a control character");
		buf_free(&body);
		return -1;
	}
	aws_conn_begin(&c->conn);
	struct s3_req r;
	uri_query_add(&q, "delete", NULL);
	req_init(&r, c, NULL, R_DELETES, bucket, NULL, buf_detach(&q));
	/* S3 requires Content-MD5 (or an x-amz-checksum) on DeleteObjects. */
	r.sum = S3_CHECKSUM_MD5;
	r.http.body = body.data;
	r.http.body_len = body.len;
	r.http.flags |= HTTP_ERROR_IN_200;
	if (http_do(c->conn.http, &r.http) < 0) {
		s3_request_error(what, bucket, "", &r.http, err);
		goto out;
	}
	rc = s3xml_delete_parse(r.http.resp_body.data, r.http.resp_body.len, &res, &e, &perr);
	if (rc < 0) {
		list_error(err, AWS_ERR_RESPONSE, what, bucket, "", perr);
		goto out;
	}
	if (rc == 1) {
		list_error(err, AWS_ERR_SERVICE, what, bucket, "", e.message ? e.message : "");
		err->status = r.http.status;
		err->code = xstrdup(e.code ? e.code : "Error");
		s3xml_error_free(&e);
		goto out;
	}
	ret = 0;
	if (res.n_errors) {
		*failed = xcalloc(res.n_errors, sizeof(**failed));
		for (size_t i = 0; i < res.n_errors; i++) {
			struct s3_delete_failure *f = &(*failed)[i];
			const struct s3_delete_error *d = &res.errors[i];
			char *uri = xasprintf("s3://%s/%s", bucket, d->key);
			f->key = xstrdup(d->key);
			/* S3 answered 200: the status says nothing of the key */
			aws_error_set(&f->error, AWS_ERR_SERVICE, "%s%s%s", d->code, d->message ? ": " : "",
			              d->message ? d->message : "");
			f->error.code = xstrdup(d->code);
			f->error.status = r.http.status;
			f->error.brief = true;
			aws_error_what(&f->error, "delete", uri);
			free(uri);
		}
		*nfailed = res.n_errors;
		ret = 1;
	}
	s3xml_delete_free(&res);
out:
	free(perr);
	req_free(&r);
	buf_free(&body);
	return ret;
}

/* Every upload in progress under bucket/prefix, into *ups (*n of them).
 * 0, or -1 with *err. */
static int list_uploads(struct s3_client *c, const char *bucket, const char *prefix, struct s3_upload **ups,
                        size_t *n, struct aws_error *err)
{
	char *key_marker = NULL, *id_marker = NULL;
	size_t cap = 0;
	int ret = -1;
	for (;;) {
		struct buf q = {0};
		struct s3_req r;
		struct s3_uploads_page pg;
		char *perr = NULL;

		uri_query_add(&q, "encoding-type", "url");
		if (key_marker)
			uri_query_add(&q, "key-marker", key_marker);
		if (*prefix)
			uri_query_add(&q, "prefix", prefix);
		if (id_marker)
			uri_query_add(&q, "upload-id-marker", id_marker);
		uri_query_add(&q, "uploads", NULL);
		req_init(&r, c, NULL, R_UPLOADS, bucket, NULL, buf_detach(&q));
		if (http_do(c->conn.http, &r.http) < 0) {
			s3_request_error("abort uploads under", bucket, prefix, &r.http, err);
			req_free(&r);
			break;
		}
		if (s3xml_uploads_parse(r.http.resp_body.data, r.http.resp_body.len, &pg, &perr) < 0) {
			list_error(err, AWS_ERR_RESPONSE, "abort uploads under", bucket, prefix, perr);
			free(perr);
			s3xml_uploads_free(&pg);
			req_free(&r);
			break;
		}
		for (size_t i = 0; i < pg.n_uploads; i++) {
			GROW(*ups, cap, *n + 1);
			(*ups)[(*n)++] = pg.uploads[i];
		}
		pg.n_uploads = 0; /* moved into *ups */
		free(key_marker);
		free(id_marker);
		key_marker = pg.is_truncated ? pg.next_key_marker : NULL;
		id_marker = pg.is_truncated ? pg.next_upload_id_marker : NULL;
		if (pg.is_truncated)
			pg.next_key_marker = pg.next_upload_id_marker = NULL;
		s3xml_uploads_free(&pg);
		req_free(&r);
		if (!key_marker) {
			ret = 0;
			break;
		}
	}
	free(key_marker);
	free(id_marker);
	return ret;
}

int s3_abort_uploads(struct s3_client *c, const char *bucket, const char *prefix, struct aws_error *err)
{
	struct s3_upload *ups = NULL;
	struct s3_req *reqs = NULL;
	size_t n = 0;
	int aborted = 0;

	if (!prefix)
		prefix = "";
	if (!is_bucket_name(bucket)) {
		list_error(err, AWS_ERR_CONFIG, "abort uploads under", bucket, prefix, "not a bucket name");
		return -1;
	}
	aws_conn_begin(&c->conn);
	if (list_uploads(c, bucket, prefix, &ups, &n, err) < 0) {
		aborted = -1;
		goto out;
	}
	reqs = xcalloc(n ? n : 1, sizeof(*reqs));
	for (size_t i = 0; i < n; i++) {
		struct buf q = {0};
		uri_query_add(&q, "uploadId", ups[i].upload_id);
		req_init(&reqs[i], c, NULL, R_ABORT, bucket, ups[i].key, buf_detach(&q));
		http_submit(c->conn.http, &reqs[i].http);
	}
	http_run(c->conn.http);
	for (size_t i = 0; i < n; i++) {
		/* NoSuchUpload: it ended meanwhile */
		if (!reqs[i].http.error)
			aborted++;
		else if (reqs[i].http.status != 404 && !aws_error_isset(err))
			s3_request_error("abort the upload of", bucket, ups[i].key, &reqs[i].http, err);
		req_free(&reqs[i]);
	}
	if (aws_error_isset(err))
		aborted = -1;
out:
	for (size_t i = 0; i < n; i++) {
		free(ups[i].key);
		free(ups[i].upload_id);
	}
	free(ups);
	free(reqs);
	return aborted;
}
