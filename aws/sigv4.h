/* sigv4.h - AWS Signature Version 4: the canonical request, the string to
 * sign, the signing key and the signature; signing a request with an
 * Authorization header, and presigned URLs.
 *
 * Two sets of rules, chosen by flags:
 *   S3 (SIGV4_S3): the path is URI-encoded once and never normalized ("/./",
 *     "..", "//" are part of the key); x-amz-content-sha256 is added and
 *     signed.
 *   every other service (0): the path is normalized (RFC 3986 dot segments,
 *     empty segments dropped) and the path as sent is URI-encoded again.
 *
 * Nothing here sends anything: sigv4_sign_headers fills a header list and
 * sigv4_presign returns a query string, which the caller sends byte for byte
 * (with CURLOPT_PATH_AS_IS). Sign right before sending, again on each retry.
 * Nothing here prints; errors fill a struct aws_error (never with a secret
 * key, a session token or a signature) and return -1. */
#ifndef RAPID_AWS_SIGV4_H
#define RAPID_AWS_SIGV4_H

#include <stddef.h>
#include <stdint.h>

#include "aws/error.h"

struct buf;

#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
/* Longest validity of a presigned URL AWS accepts: 7 days. */
#define SIGV4_MAX_EXPIRES 604800u
/* "20150830T123600Z" and its NUL. */
#define SIGV4_DATE_LEN 17
/* Hex signature and its NUL. */
#define SIGV4_SIGNATURE_LEN 65

/* HTTP headers in the order they are sent. Names keep their case; every
 * lookup ignores it; a name may repeat. The list owns its strings and
 * sigv4_headers_free zeroes the values (Authorization, X-Amz-Security-Token)
 * before freeing them. Start from {0}. */
struct sigv4_header {
	char *name, *value;
};
struct sigv4_headers {
	struct sigv4_header *v;
	size_t n, cap;
};

/* Append name: value (copied). */
void sigv4_headers_add(struct sigv4_headers *, const char *name, const char *value);
/* Remove every header called name, then append name: value. */
void sigv4_headers_set(struct sigv4_headers *, const char *name, const char *value);
/* Remove every header called name; how many there were. */
size_t sigv4_headers_remove(struct sigv4_headers *, const char *name);
/* The value of the first header called name; NULL if there is none.
 * Borrowed from the list. */
const char *sigv4_headers_get(const struct sigv4_headers *, const char *name);
/* How many headers are called name. */
size_t sigv4_headers_count(const struct sigv4_headers *, const char *name);
void sigv4_headers_free(struct sigv4_headers *);

/* Borrowed strings; session_token is NULL when there is none. */
struct sigv4_credentials {
	const char *access_key_id;
	const char *secret_access_key;
	const char *session_token;
};

enum {
	/* Encode the path once (its %XY sequences are decoded first, so a path
	 * already encoded by uri_encode_path signs as itself), instead of
	 * encoding the path as sent a second time. */
	SIGV4_SINGLE_ENCODE = 1u << 0,
	/* Leave ".", ".." and empty segments of the path alone. */
	SIGV4_NO_NORMALIZE = 1u << 1,
	/* Header signing adds and signs x-amz-content-sha256 (the payload
	 * hash). Presigning ignores it: a URL carries no headers. */
	SIGV4_CONTENT_SHA256 = 1u << 2,
	/* Send the session token but leave it out of the signature (a few
	 * services want it added after signing). */
	SIGV4_UNSIGNED_TOKEN = 1u << 3,
	SIGV4_S3 = SIGV4_SINGLE_ENCODE | SIGV4_NO_NORMALIZE | SIGV4_CONTENT_SHA256,
};

/* Derived signing keys by (secret, date, region, service): deriving one
 * costs four HMACs, and they last a UTC day. Not thread-safe: one per
 * thread, or a lock around the signing calls that share it. */
struct sigv4_cache;
struct sigv4_cache *sigv4_cache_new(void);
/* Zeroes the keys; NULL is a no-op. */
void sigv4_cache_free(struct sigv4_cache *);

/* Who signs, for what, when. Everything is borrowed. */
struct sigv4_config {
	const char *service;  /* signing name: "s3", "batch", "secretsmanager"… */
	const char *region;   /* "us-east-1" */
	const struct sigv4_credentials *creds;
	int64_t time;         /* signing time, seconds since the epoch */
	unsigned flags;       /* SIGV4_* */
	struct sigv4_cache *cache; /* NULL: derive the signing key every time */
};

/* The request to sign. Everything is borrowed; headers is modified by
 * sigv4_sign_headers only. */
struct sigv4_request {
	const char *method;   /* "GET", as sent */
	const char *path;     /* as sent, without the query: "/bucket/a%20b";
	                         NULL or "" is "/". For S3, send a path made by
	                         uri_encode_path: its canonical form is itself. */
	const char *query;    /* as sent, without '?': "a=b&c"; NULL or "" for
	                         none. Names and values are %XY-decoded and then
	                         encoded again, so build it with uri_query_add;
	                         '+' is a plus sign, not a space. Empty pieces
	                         ("a=1&&b=2") are ignored. */
	struct sigv4_headers *headers; /* must hold Host */
	const char *payload_hash; /* hex SHA-256 of the body, or
	                             "UNSIGNED-PAYLOAD"; NULL: computed from body */
	const void *body;     /* with body_len; NULL and 0 for no body */
	size_t body_len;
};

/* What one signing computed, for tests and debugging. The canonical request
 * may hold the session token and the signature is a credential: never print
 * them outside tests. */
struct sigv4_result {
	char *canonical_request;
	char *string_to_sign;
	char *signed_headers;  /* "host;x-amz-date" */
	char signature[SIGV4_SIGNATURE_LEN];
};
/* Zeroes and frees; the struct may be reused afterwards. */
void sigv4_result_free(struct sigv4_result *);

/* Sign req for an Authorization header: removes any Authorization,
 * X-Amz-Date, X-Amz-Security-Token (and with SIGV4_CONTENT_SHA256
 * x-amz-content-sha256) left from an earlier signing, then appends, in this
 * order, X-Amz-Security-Token (when creds have a token), X-Amz-Date,
 * x-amz-content-sha256 (with SIGV4_CONTENT_SHA256) and Authorization:
 *   AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/service/aws4_request,
 *   SignedHeaders=host;x-amz-date, Signature=<64 hex>
 * Every header in the list is signed except Authorization, User-Agent,
 * Expect and the hop-by-hop ones (Connection, Keep-Alive, TE, Trailer,
 * Transfer-Encoding, Upgrade, Proxy-*) and X-Amzn-Trace-Id, which proxies
 * and curl may change. out, if not NULL, receives what was computed (free it
 * with sigv4_result_free). 0, or -1 with *err (headers unchanged unless
 * OpenSSL itself failed). */
int sigv4_sign_headers(const struct sigv4_config *, const struct sigv4_request *, struct sigv4_result *out,
                       struct aws_error *err);

/* Presign req: *query receives the whole query string of the URL (no '?'):
 * req's query as given, then X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date,
 * X-Amz-SignedHeaders, X-Amz-Expires, X-Amz-Security-Token (when creds have
 * a token) and X-Amz-Signature. expires is in seconds, 1 to
 * SIGV4_MAX_EXPIRES. The headers of req (Host, and any the URL's user must
 * send) are signed; none is added. For S3 pass payload_hash
 * "UNSIGNED-PAYLOAD". The caller frees *query (it holds the signature and
 * the token). out as for sigv4_sign_headers. 0, or -1 with *err (*query is
 * then NULL). */
int sigv4_presign(const struct sigv4_config *, const struct sigv4_request *, unsigned expires, char **query,
                  struct sigv4_result *out, struct aws_error *err);

/* Building blocks, exposed for tests and for callers that need one part. */

/* Format t (seconds since the epoch) as "20150830T123600Z". 0, or -1 (not
 * reported) when t is before 1970 or after 9999. */
int sigv4_amz_date(int64_t t, char out[SIGV4_DATE_LEN]);
/* Parse "2015-08-30T12:36:00Z" or "20150830T123600Z" (aws_date_parse, no
 * fraction) into seconds since the epoch. 0, or -1 (not reported) if s is
 * neither. */
int sigv4_parse_time(const char *s, int64_t *t);
/* Append the canonical URI of path under flags (SIGV4_SINGLE_ENCODE,
 * SIGV4_NO_NORMALIZE) to out. */
void sigv4_canonical_path(struct buf *out, const char *path, unsigned flags);
/* Append the canonical query string of query (as sent) to out: pairs
 * re-encoded, sorted by name then value, a missing '=' as "name=". */
void sigv4_canonical_query(struct buf *out, const char *query);
/* The signing key for secret on date ("20150830"), region and service:
 * HMAC chain from "AWS4" + secret. The caller zeroes key after use. 0, or
 * -1 if OpenSSL fails. */
int sigv4_signing_key(const char *secret, const char *date, const char *region, const char *service,
                      uint8_t key[32]);

#endif
