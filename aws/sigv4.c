/* sigv4.c - AWS Signature Version 4 (header signing and presigned URLs).
 *
 * canonical request = method \n path \n query \n headers \n signed \n hash
 * string to sign    = AWS4-HMAC-SHA256 \n date \n scope \n hex(sha256(cr))
 * signing key       = HMAC chain "AWS4"+secret -> date -> region -> service
 *                     -> "aws4_request"
 * signature         = hex(HMAC(signing key, string to sign))
 *
 * Secrets (the secret key, the derived keys, signatures, the token) never
 * reach a message; buffers that held key material are zeroed before they
 * are freed. */
#include "aws/sigv4.h"

#include "aws/crypto.h"
#include "aws/date.h"
#include "aws/uri.h"
#include "lib/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define KEY_LEN CRYPTO_SHA256_LEN
#define CACHE_SLOTS 8

/* ---- header lists ---- */

static void header_clear(struct sigv4_header *h)
{
	if (h->value)
		crypto_cleanse(h->value, strlen(h->value));
	free(h->name);
	free(h->value);
	h->name = h->value = NULL;
}

void sigv4_headers_add(struct sigv4_headers *l, const char *name, const char *value)
{
	GROW(l->v, l->cap, l->n + 1);
	l->v[l->n].name = xstrdup(name);
	l->v[l->n].value = xstrdup(value);
	l->n++;
}

size_t sigv4_headers_remove(struct sigv4_headers *l, const char *name)
{
	size_t i, j = 0, removed = 0;
	for (i = 0; i < l->n; i++) {
		if (!strcasecmp(l->v[i].name, name)) {
			header_clear(&l->v[i]);
			removed++;
			continue;
		}
		l->v[j++] = l->v[i];
	}
	l->n = j;
	return removed;
}

void sigv4_headers_set(struct sigv4_headers *l, const char *name, const char *value)
{
	sigv4_headers_remove(l, name);
	sigv4_headers_add(l, name, value);
}

const char *sigv4_headers_get(const struct sigv4_headers *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcasecmp(l->v[i].name, name))
			return l->v[i].value;
	return NULL;
}

size_t sigv4_headers_count(const struct sigv4_headers *l, const char *name)
{
	size_t n = 0;
	for (size_t i = 0; i < l->n; i++)
		n += !strcasecmp(l->v[i].name, name);
	return n;
}

void sigv4_headers_free(struct sigv4_headers *l)
{
	for (size_t i = 0; i < l->n; i++)
		header_clear(&l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

/* ---- small helpers ---- */

/* Zero a buffer's whole storage, then free it. */
static void buf_wipe(struct buf *b)
{
	crypto_cleanse(b->data, b->cap);
	buf_free(b);
}

static void str_wipe(char *s)
{
	if (s)
		crypto_cleanse(s, strlen(s));
	free(s);
}

/* An RFC 9110 token: header names and methods. */
static int is_token(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      strchr("!#$%&'*+-.^_`|~", c)))
			return 0;
	}
	return 1;
}

/* A credential scope part or an access key id: printable, no '/', no space. */
static int is_scope_part(const char *s)
{
	if (!s || !*s)
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == '/' || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

static int is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* ---- time ---- */

int sigv4_amz_date(int64_t t, char out[SIGV4_DATE_LEN])
{
	struct tm tm;
	time_t tt = (time_t)t;
	/* 253402300799 is 9999-12-31T23:59:59Z: the format has four digits. */
	if (t < 0 || t > INT64_C(253402300799) || !gmtime_r(&tt, &tm))
		return -1;
	if (strftime(out, SIGV4_DATE_LEN, "%Y%m%dT%H%M%SZ", &tm) != SIGV4_DATE_LEN - 1)
		return -1;
	return 0;
}

int sigv4_parse_time(const char *s, int64_t *t)
{
	int64_t ns;
	if (aws_date_parse(s, AWS_DATE_ISO_BASIC | AWS_DATE_ISO, &ns) < 0 || ns < 0 || ns % 1000000000)
		return -1;
	*t = ns / 1000000000;
	return 0;
}

/* ---- canonical path ---- */

/* RFC 3986 section 5.2.4 plus what AWS adds: empty segments ("//") are
 * dropped. A path ending in "/", "/." or "/.." keeps a trailing slash. The
 * result always starts with '/'. */
static void normalize_path(struct buf *out, const char *s, size_t n)
{
	size_t i = 0;
	int trailing = 0;
	buf_reset(out);
	while (i < n) {
		size_t j = i;
		while (j < n && s[j] != '/')
			j++;
		size_t len = j - i;
		if (len == 1 && s[i] == '.') {
			trailing = 1;
		} else if (len == 2 && s[i] == '.' && s[i + 1] == '.') {
			if (out->len) { /* pop "/segment"; ".." above the root is dropped */
				while (out->data[out->len - 1] != '/')
					out->len--;
				out->data[--out->len] = 0;
			}
			trailing = 1;
		} else if (len) {
			buf_putc(out, '/');
			buf_putn(out, s + i, len);
			trailing = 0;
		}
		i = j + 1;
	}
	if (n && s[n - 1] == '/')
		trailing = 1;
	if (!out->len || trailing)
		buf_putc(out, '/');
}

void sigv4_canonical_path(struct buf *out, const char *path, unsigned flags)
{
	struct buf dec = {0}, norm = {0};
	const char *s = path && *path ? path : "/";
	size_t n = strlen(s);

	if (flags & SIGV4_SINGLE_ENCODE) {
		uri_decode(&dec, s, n);
		s = dec.data;
		n = dec.len;
	}
	if (!(flags & SIGV4_NO_NORMALIZE)) {
		normalize_path(&norm, s, n);
		s = norm.data;
		n = norm.len;
	} else if (s[0] != '/') {
		buf_putc(out, '/');
	}
	uri_encode_path(out, s, n);
	buf_free(&dec);
	buf_free(&norm);
}

/* ---- canonical query ---- */

struct qpair {
	char *name, *value; /* encoded */
};

struct qlist {
	struct qpair *v;
	size_t n, cap;
};

/* Decode then encode n bytes of s: the canonical form of a name or value. */
static char *requote(const char *s, size_t n)
{
	struct buf dec = {0}, enc = {0};
	uri_decode(&dec, s, n);
	uri_encode(&enc, dec.data, dec.len);
	buf_wipe(&dec); /* X-Amz-Security-Token passes through here */
	return buf_detach(&enc);
}

static void qlist_add_raw(struct qlist *q, const char *name, const char *value)
{
	struct buf b = {0};
	GROW(q->v, q->cap, q->n + 1);
	uri_encode(&b, name, strlen(name));
	q->v[q->n].name = buf_detach(&b);
	uri_encode(&b, value, strlen(value));
	q->v[q->n].value = buf_detach(&b);
	q->n++;
}

static void qlist_parse(struct qlist *q, const char *query)
{
	const char *p = query ? query : "";
	while (*p) {
		const char *end = strchr(p, '&'), *eq;
		if (!end)
			end = p + strlen(p);
		if (end > p) {
			eq = memchr(p, '=', (size_t)(end - p));
			GROW(q->v, q->cap, q->n + 1);
			q->v[q->n].name = requote(p, (size_t)((eq ? eq : end) - p));
			q->v[q->n].value = eq ? requote(eq + 1, (size_t)(end - eq - 1)) : xstrdup("");
			q->n++;
		}
		p = *end ? end + 1 : end;
	}
}

static int qpair_cmp(const void *a, const void *b)
{
	const struct qpair *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : strcmp(x->value, y->value);
}

static void qlist_put(struct buf *out, struct qlist *q)
{
	if (q->n > 1)
		qsort(q->v, q->n, sizeof(*q->v), qpair_cmp);
	for (size_t i = 0; i < q->n; i++)
		buf_printf(out, "%s%s=%s", i ? "&" : "", q->v[i].name, q->v[i].value);
}

static void qlist_free(struct qlist *q)
{
	for (size_t i = 0; i < q->n; i++) {
		free(q->v[i].name);
		str_wipe(q->v[i].value);
	}
	free(q->v);
	q->v = NULL;
	q->n = q->cap = 0;
}

void sigv4_canonical_query(struct buf *out, const char *query)
{
	struct qlist q = {0};
	qlist_parse(&q, query);
	qlist_put(out, &q);
	qlist_free(&q);
}

/* ---- canonical headers ---- */

/* Headers never signed: curl or proxies may add, drop or rewrite them. */
static const char *const unsigned_headers[] = {
	"authorization", "connection", "expect", "keep-alive", "proxy-authenticate", "proxy-authorization",
	"proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "user-agent", "x-amzn-trace-id",
};

struct hent {
	char *lname;
	const char *value;
	size_t idx;
};

static int hent_cmp(const void *a, const void *b)
{
	const struct hent *x = a, *y = b;
	int c = strcmp(x->lname, y->lname);
	if (c)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx; /* keep the sending order */
}

/* Trim, and collapse each run of white space (folded lines included) into
 * one space. */
static void put_trimmed(struct buf *out, const char *v)
{
	int space = 0, any = 0;
	for (; *v; v++) {
		if (is_ws(*v)) {
			space = 1;
			continue;
		}
		if (space && any)
			buf_putc(out, ' ');
		buf_putc(out, *v);
		space = 0;
		any = 1;
	}
}

static int skip_header(const char *lname, int skip_token)
{
	for (size_t i = 0; i < ARRAY_LEN(unsigned_headers); i++)
		if (!strcmp(lname, unsigned_headers[i]))
			return 1;
	return skip_token && !strcmp(lname, "x-amz-security-token");
}

/* Append the canonical headers block (each "name:value\n") to canon and the
 * signed header names ("a;b") to names. */
static void canonical_headers(const struct sigv4_headers *l, int skip_token, struct buf *canon, struct buf *names)
{
	struct hent *e = xcalloc(l->n ? l->n : 1, sizeof(*e));
	size_t n = 0, i;

	for (i = 0; i < l->n; i++) {
		char *lname = xstrdup(l->v[i].name);
		for (char *p = lname; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		if (skip_header(lname, skip_token)) {
			free(lname);
			continue;
		}
		e[n].lname = lname;
		e[n].value = l->v[i].value;
		e[n].idx = i;
		n++;
	}
	qsort(e, n, sizeof(*e), hent_cmp);
	for (i = 0; i < n; i++) {
		int first = i == 0 || strcmp(e[i].lname, e[i - 1].lname);
		if (first) {
			if (i) {
				buf_putc(canon, '\n');
				buf_putc(names, ';');
			}
			buf_puts(canon, e[i].lname);
			buf_putc(canon, ':');
			buf_puts(names, e[i].lname);
		} else {
			buf_putc(canon, ',');
		}
		put_trimmed(canon, e[i].value);
	}
	if (n)
		buf_putc(canon, '\n');
	for (i = 0; i < n; i++)
		free(e[i].lname);
	free(e);
}

/* ---- keys ---- */

int sigv4_signing_key(const char *secret, const char *date, const char *region, const char *service,
                      uint8_t key[32])
{
	size_t slen = strlen(secret);
	char *k0 = xmalloc(slen + 5);
	uint8_t a[KEY_LEN], b[KEY_LEN];
	int ret = -1;

	memcpy(k0, "AWS4", 4);
	memcpy(k0 + 4, secret, slen + 1);
	if (crypto_hmac_sha256(k0, slen + 4, date, strlen(date), a) < 0 ||
	    crypto_hmac_sha256(a, KEY_LEN, region, strlen(region), b) < 0 ||
	    crypto_hmac_sha256(b, KEY_LEN, service, strlen(service), a) < 0 ||
	    crypto_hmac_sha256(a, KEY_LEN, "aws4_request", 12, key) < 0)
		goto out;
	ret = 0;
out:
	crypto_cleanse(k0, slen + 4);
	crypto_cleanse(a, sizeof(a));
	crypto_cleanse(b, sizeof(b));
	free(k0);
	return ret;
}

/* A slot remembers which secret it was derived from by the secret's
 * SHA-256, so that rotated credentials never reuse an old key. */
struct cache_slot {
	int used;
	char date[9];
	char *region, *service;
	uint8_t secret_id[KEY_LEN];
	uint8_t key[KEY_LEN];
};

struct sigv4_cache {
	struct cache_slot slot[CACHE_SLOTS];
	size_t next; /* round-robin victim */
};

struct sigv4_cache *sigv4_cache_new(void)
{
	return xcalloc(1, sizeof(struct sigv4_cache));
}

static void slot_clear(struct cache_slot *s)
{
	free(s->region);
	free(s->service);
	crypto_cleanse(s, sizeof(*s));
	s->used = 0;
	s->region = s->service = NULL;
}

void sigv4_cache_free(struct sigv4_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < CACHE_SLOTS; i++)
		slot_clear(&c->slot[i]);
	free(c);
}

static int cached_key(struct sigv4_cache *c, const char *secret, const char *date, const char *region,
                      const char *service, uint8_t key[KEY_LEN])
{
	uint8_t id[KEY_LEN];
	struct cache_slot *s;
	size_t i;

	if (!c)
		return sigv4_signing_key(secret, date, region, service, key);
	if (crypto_sha256(secret, strlen(secret), id) < 0)
		return -1;
	for (i = 0; i < CACHE_SLOTS; i++) {
		s = &c->slot[i];
		if (s->used && !strcmp(s->date, date) && !strcmp(s->region, region) &&
		    !strcmp(s->service, service) && !memcmp(s->secret_id, id, KEY_LEN)) {
			memcpy(key, s->key, KEY_LEN);
			return 0;
		}
	}
	if (sigv4_signing_key(secret, date, region, service, key) < 0)
		return -1;
	s = &c->slot[c->next];
	c->next = (c->next + 1) % CACHE_SLOTS;
	slot_clear(s);
	s->used = 1;
	memcpy(s->date, date, 9);
	s->region = xstrdup(region);
	s->service = xstrdup(service);
	memcpy(s->secret_id, id, KEY_LEN);
	memcpy(s->key, key, KEY_LEN);
	return 0;
}

/* ---- signing ---- */

/* What both kinds of signing share, checked before anything changes. */
struct ctx {
	char amz_date[SIGV4_DATE_LEN];
	char date[9];
	char *scope;            /* date/region/service/aws4_request */
	const char *payload;    /* the payload hash used */
	char payload_buf[CRYPTO_SHA256_HEX_LEN];
	const char *token;      /* NULL when none */
};

static int fail(struct aws_error *err, const struct sigv4_request *req, const char *why)
{
	aws_error_set(err, AWS_ERR_LOCAL, "%s", why);
	aws_error_whatf(err, NULL, "sign '%s %s'", req->method && *req->method ? req->method : "?",
	                req->path && *req->path ? req->path : "/");
	return -1;
}

static int payload_ok(const char *h)
{
	if (!*h)
		return 0;
	for (; *h; h++)
		if (!((*h >= '0' && *h <= '9') || (*h >= 'a' && *h <= 'z') || (*h >= 'A' && *h <= 'Z') || *h == '-'))
			return 0;
	return 1;
}

static int prepare(const struct sigv4_config *cfg, const struct sigv4_request *req, struct ctx *c,
                   struct aws_error *err)
{
	const struct sigv4_credentials *cr = cfg->creds;
	size_t i;

	memset(c, 0, sizeof(*c));
	if (!req->method || !is_token(req->method))
		return fail(err, req, "the method is not an HTTP token");
	if (!cr || !is_scope_part(cr->access_key_id))
		return fail(err, req, "the access key id is missing or malformed");
	if (!cr->secret_access_key || !*cr->secret_access_key)
		return fail(err, req, "the secret access key is missing");
	if (!is_scope_part(cfg->region))
		return fail(err, req, "the region is missing or malformed");
	if (!is_scope_part(cfg->service))
		return fail(err, req, "the service name is missing or malformed");
	if (!req->headers)
		return fail(err, req, "no header list");
	for (i = 0; i < req->headers->n; i++) {
		const struct sigv4_header *h = &req->headers->v[i];
		if (!h->name || !is_token(h->name) || !h->value) {
			char *m = xasprintf("header %zu has no value or a name that is not an HTTP token", i + 1);
			fail(err, req, m);
			free(m);
			return -1;
		}
	}
	{
		const char *host = sigv4_headers_get(req->headers, "host");
		if (!host || !*host)
			return fail(err, req, "no Host header");
	}
	if (sigv4_amz_date(cfg->time, c->amz_date) < 0)
		return fail(err, req, "the signing time is out of range");
	if (req->payload_hash) {
		if (!payload_ok(req->payload_hash))
			return fail(err, req, "the payload hash is not a hex digest or UNSIGNED-PAYLOAD");
		c->payload = req->payload_hash;
	} else {
		if (req->body_len && !req->body)
			return fail(err, req, "a body length without a body");
		if (crypto_sha256_hex(req->body ? req->body : "", req->body_len, c->payload_buf) < 0)
			return fail(err, req, "cannot compute SHA-256 (OpenSSL)");
		c->payload = c->payload_buf;
	}
	memcpy(c->date, c->amz_date, 8);
	c->date[8] = 0;
	c->scope = xasprintf("%s/%s/%s/aws4_request", c->date, cfg->region, cfg->service);
	c->token = cr->session_token && *cr->session_token ? cr->session_token : NULL;
	return 0;
}

/* From the canonical request to the signature. Takes creq. */
static int finish(const struct sigv4_config *cfg, struct ctx *c, struct buf *creq, char *signed_names,
                  char sig[SIGV4_SIGNATURE_LEN], struct sigv4_result *out, struct aws_error *err)
{
	char crhash[CRYPTO_SHA256_HEX_LEN];
	uint8_t key[KEY_LEN], mac[KEY_LEN];
	struct buf sts = {0};
	int ret = -1;

	if (crypto_sha256_hex(creq->data, creq->len, crhash) < 0)
		goto out;
	buf_printf(&sts, SIGV4_ALGORITHM "\n%s\n%s\n%s", c->amz_date, c->scope, crhash);
	if (cached_key(cfg->cache, cfg->creds->secret_access_key, c->date, cfg->region, cfg->service, key) < 0)
		goto out;
	if (crypto_hmac_sha256(key, KEY_LEN, sts.data, sts.len, mac) < 0)
		goto out;
	hex_encode(mac, KEY_LEN, sig);
	if (out) {
		out->canonical_request = buf_detach(creq);
		out->string_to_sign = buf_detach(&sts);
		out->signed_headers = xstrdup(signed_names);
		memcpy(out->signature, sig, SIGV4_SIGNATURE_LEN);
	}
	ret = 0;
out:
	if (ret < 0) {
		aws_error_set(err, AWS_ERR_LOCAL, "cannot compute a signature (OpenSSL)");
		aws_error_whatf(err, NULL, "sign a request");
	}
	crypto_cleanse(key, sizeof(key));
	crypto_cleanse(mac, sizeof(mac));
	buf_wipe(creq);
	buf_wipe(&sts);
	return ret;
}

void sigv4_result_free(struct sigv4_result *r)
{
	str_wipe(r->canonical_request);
	str_wipe(r->string_to_sign);
	free(r->signed_headers);
	crypto_cleanse(r->signature, sizeof(r->signature));
	r->canonical_request = r->string_to_sign = r->signed_headers = NULL;
}

int sigv4_sign_headers(const struct sigv4_config *cfg, const struct sigv4_request *req, struct sigv4_result *out,
                       struct aws_error *err)
{
	struct sigv4_headers *h = req->headers;
	struct buf creq = {0}, names = {0}, auth = {0};
	char sig[SIGV4_SIGNATURE_LEN];
	struct ctx c;
	int ret = -1;

	if (out)
		memset(out, 0, sizeof(*out));
	if (prepare(cfg, req, &c, err) < 0)
		return -1;
	sigv4_headers_remove(h, "authorization");
	sigv4_headers_remove(h, "x-amz-security-token");
	if (c.token)
		sigv4_headers_add(h, "X-Amz-Security-Token", c.token);
	sigv4_headers_set(h, "X-Amz-Date", c.amz_date);
	if (cfg->flags & SIGV4_CONTENT_SHA256)
		sigv4_headers_set(h, "x-amz-content-sha256", c.payload);

	buf_printf(&creq, "%s\n", req->method);
	sigv4_canonical_path(&creq, req->path, cfg->flags);
	buf_putc(&creq, '\n');
	sigv4_canonical_query(&creq, req->query);
	buf_putc(&creq, '\n');
	canonical_headers(h, !!(cfg->flags & SIGV4_UNSIGNED_TOKEN), &creq, &names);
	buf_printf(&creq, "\n%s\n%s", names.data, c.payload);
	if (finish(cfg, &c, &creq, names.data, sig, out, err) < 0)
		goto out;
	buf_printf(&auth, SIGV4_ALGORITHM " Credential=%s/%s, SignedHeaders=%s, Signature=%s",
	           cfg->creds->access_key_id, c.scope, names.data, sig);
	sigv4_headers_add(h, "Authorization", auth.data);
	ret = 0;
out:
	crypto_cleanse(sig, sizeof(sig));
	buf_wipe(&auth);
	buf_free(&names);
	free(c.scope);
	return ret;
}

int sigv4_presign(const struct sigv4_config *cfg, const struct sigv4_request *req, unsigned expires, char **query,
                  struct sigv4_result *out, struct aws_error *err)
{
	struct buf creq = {0}, names = {0}, hdrs = {0}, q = {0};
	struct qlist ql = {0};
	char sig[SIGV4_SIGNATURE_LEN], exp[16];
	char *credential = NULL;
	struct ctx c;
	int ret = -1, sign_token;

	*query = NULL;
	if (out)
		memset(out, 0, sizeof(*out));
	if (prepare(cfg, req, &c, err) < 0)
		return -1;
	if (expires < 1 || expires > SIGV4_MAX_EXPIRES) {
		fail(err, req, "a presigned URL must expire in 1 s to 7 days");
		goto out;
	}
	snprintf(exp, sizeof(exp), "%u", expires);
	credential = xasprintf("%s/%s", cfg->creds->access_key_id, c.scope);
	sign_token = c.token && !(cfg->flags & SIGV4_UNSIGNED_TOKEN);

	canonical_headers(req->headers, 0, &hdrs, &names);
	qlist_parse(&ql, req->query);
	qlist_add_raw(&ql, "X-Amz-Algorithm", SIGV4_ALGORITHM);
	qlist_add_raw(&ql, "X-Amz-Credential", credential);
	qlist_add_raw(&ql, "X-Amz-Date", c.amz_date);
	qlist_add_raw(&ql, "X-Amz-Expires", exp);
	qlist_add_raw(&ql, "X-Amz-SignedHeaders", names.data);
	if (sign_token)
		qlist_add_raw(&ql, "X-Amz-Security-Token", c.token);

	buf_printf(&creq, "%s\n", req->method);
	sigv4_canonical_path(&creq, req->path, cfg->flags);
	buf_putc(&creq, '\n');
	qlist_put(&creq, &ql);
	buf_printf(&creq, "\n%s\n%s\n%s", hdrs.data, names.data, c.payload);
	if (finish(cfg, &c, &creq, names.data, sig, out, err) < 0)
		goto out;

	if (req->query)
		buf_puts(&q, req->query);
	uri_query_add(&q, "X-Amz-Algorithm", SIGV4_ALGORITHM);
	uri_query_add(&q, "X-Amz-Credential", credential);
	uri_query_add(&q, "X-Amz-Date", c.amz_date);
	uri_query_add(&q, "X-Amz-SignedHeaders", names.data);
	uri_query_add(&q, "X-Amz-Expires", exp);
	if (c.token)
		uri_query_add(&q, "X-Amz-Security-Token", c.token);
	uri_query_add(&q, "X-Amz-Signature", sig);
	*query = buf_detach(&q);
	ret = 0;
out:
	crypto_cleanse(sig, sizeof(sig));
	qlist_free(&ql);
	buf_wipe(&q);
	buf_free(&hdrs);
	buf_free(&names);
	free(credential);
	free(c.scope);
	return ret;
}
