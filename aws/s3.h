/* s3.h - Amazon S3 operations over aws/http (transfers, retries) and
 * aws/sigv4 (signing): ListObjectsV2, HeadObject, GetObject, PutObject,
 * DeleteObject, DeleteObjects and multipart uploads.
 *
 * A client holds what every request needs: the endpoint and addressing
 * (aws/config.h), the region, a credentials provider (aws/creds.h), a
 * signing-key cache and one HTTP engine whose connection pool all requests
 * share. Object operations are described by struct s3_op and run
 * concurrently by s3_run (bounded by the engine's max_in_flight); the
 * single-object helpers are s3_run of one op.
 *
 * Nothing here prints. A failed operation carries a struct aws_error
 * (aws/error.h) formatted "cannot <verb> 's3://bucket/key': <HTTP status>
 * <Code>[: <AWS message>]" (or the transport cause instead of the status),
 * which never holds a header value, a signature, a credential or a token.
 * When credentials cannot be had, the error is theirs ("cannot find AWS
 * credentials: …", kind AWS_ERR_CREDENTIALS), the same for every request
 * of the run. */
#ifndef RAPID_AWS_S3_H
#define RAPID_AWS_S3_H

#include <stddef.h>
#include <stdint.h>

#include "aws/conn.h"
#include "aws/error.h"
#include "aws/s3xml.h"
#include "lib/util.h"

struct s3_client;
struct http_engine;
struct aws_creds;

/* Zero fields take the default shown. */
struct s3_client_config {
	const char *profile;          /* NULL: AWS_PROFILE, else "default" */
	unsigned max_in_flight;       /* requests at once: 32 */
	unsigned max_attempts;        /* per request: AWS_MAX_ATTEMPTS, else the
	                                 profile's max_attempts, else 3 */
	uint64_t multipart_threshold; /* PutObject from a file of at least this
	                                 many bytes goes multipart: 16 MiB */
	uint64_t part_size;           /* 8 MiB (at least 5 MiB, at most 10,000
	                                 parts: grown to fit) */
	aws_notice_fn notice;         /* warnings that fail nothing; NULL: none */
	void *notice_arg;
	const struct aws_creds *creds; /* fixed credentials for every request
	                                 (copied), instead of the chain; NULL:
	                                 the chain (aws/creds.h) */
};

/* A client for S3 as configured by the environment and the AWS config
 * files. NULL with *err (the caller frees) when there is no region or
 * endpoint, AWS_MAX_ATTEMPTS is malformed or curl cannot start (its what
 * is not set when nothing but the service is to blame: the caller says
 * "use S3"). Credentials are resolved on the first request, so making a
 * client never fails for their lack. */
struct s3_client *s3_client_new(const struct s3_client_config *, struct aws_error *err);
void s3_client_free(struct s3_client *);
/* The HTTP engine (for its retry quota in tests). Borrowed. */
struct http_engine *s3_client_engine(struct s3_client *);

/* Requests sent, by operation, since the client was made (attempts
 * included), for progress lines and request budgets. */
struct s3_stats {
	uint64_t list, head, get, put, del, multipart; /* del: DeleteObject and
	                                                 DeleteObjects; multipart:
	                                                 initiate, part,
	                                                 complete, abort */
	uint64_t bytes_up, bytes_down; /* bodies of requests that succeeded */
};
void s3_client_stats(const struct s3_client *, struct s3_stats *out);

/* Split "s3://bucket/key" into bucket and key (both owned by the caller;
 * key "" for "s3://bucket" and "s3://bucket/"). 0, or -1 if uri is not an
 * s3:// URI or the bucket is not a valid bucket name (*bucket, *key NULL). */
int s3_uri_split(const char *uri, char **bucket, char **key);

/* ---- ListObjectsV2 ---- */

struct s3_list_opts {
	const char *prefix;     /* NULL: whole bucket */
	const char *delimiter;  /* NULL: none; "/" for folders */
	const char *start_after;
	unsigned max_keys;      /* per request, 1..1000: 1000 */
};

/* Called per common prefix (with a delimiter); valid during the call.
 * Return 0 to go on, -1 to stop the listing (s3_list then returns -1 with
 * *err not set). */
typedef int (*s3_prefix_fn)(void *ctx, const char *prefix);

/* List bucket under opts (NULL: all keys), following continuation tokens
 * until the listing ends: on_object for every object and on_prefix for
 * every common prefix, in S3's order; either may be NULL. Keys are asked
 * for with encoding-type=url and handed over decoded. *requests, if not
 * NULL, receives the number of pages fetched. 0, or -1 with *err (not set
 * if a callback stopped it). */
int s3_list(struct s3_client *, const char *bucket, const struct s3_list_opts *opts, s3xml_object_fn on_object,
            s3_prefix_fn on_prefix, void *ctx, unsigned *requests, struct aws_error *err);

/* The region bucket is in, from HeadBucket's x-amz-bucket-region (also
 * given when the bucket is in another region than the client's). 0 and
 * *region (the caller frees), or -1 with *err: "cannot head 's3://b/': no
 * such bucket" (status 404), or the status and code. */
int s3_bucket_region(struct s3_client *, const char *bucket, char **region, struct aws_error *err);

/* ---- object operations ---- */

enum s3_op_kind { S3_HEAD, S3_GET, S3_PUT, S3_DELETE };

/* Whatever is asked, S3 checks every body: its SHA-256 is signed as the
 * payload hash (x-amz-content-sha256), except for a body read from a file
 * with S3_CHECKSUM_MD5, sent UNSIGNED-PAYLOAD with Content-MD5 instead. A
 * file is hashed once, before its first attempt. */
enum s3_checksum {
	S3_CHECKSUM_NONE,
	S3_CHECKSUM_MD5,    /* Content-MD5 (per part for multipart) */
	S3_CHECKSUM_SHA256, /* x-amz-checksum-sha256 (single PUT only;
	                       multipart falls back to Content-MD5 per part) */
};

struct s3_op {
	/* --- in (borrowed) --- */
	enum s3_op_kind kind;
	const char *bucket, *key;
	/* GET: to the file out_path (written to a temporary beside it and
	 * renamed into place when complete, so a failed GET leaves no partial
	 * file), else into body_out. range_len > 0 asks for range_len bytes
	 * from range_start. */
	const char *out_path;
	uint64_t range_start, range_len;
	/* PUT: body from memory (body, body_len) or from the file in_path
	 * (whole); multipart when in_path's size reaches the threshold. */
	const void *body;
	size_t body_len;
	const char *in_path;
	const char *content_type; /* NULL: none sent */
	enum s3_checksum checksum;
	int if_none_match;        /* send If-None-Match: * (PUT only) */
	const char *if_match;     /* send If-Match: "<etag>" (PUT only; NULL: none):
	                             the write happens only over that object */

	/* --- out --- */
	int found;           /* HEAD/GET: 0 after a 404 (not an error);
	                        PUT with if_none_match: 0 after a 412 (the
	                        object existed; not an error, nothing written);
	                        PUT with if_match: 0 after a 412 or a 404 (the
	                        object is another or gone; nothing written) */
	char etag[80];       /* without quotes; "" when none */
	uint64_t size;       /* HEAD/GET: object size (Content-Length, or the
	                        total of Content-Range); PUT: bytes sent */
	int64_t mtime_ns;    /* HEAD/GET: Last-Modified; 0 when absent */
	struct buf body_out; /* GET without out_path */
	struct aws_error *error; /* NULL on success; owned */

	/* --- private to s3.c --- */
	void *priv_;
};

/* Run n ops concurrently (multipart parts too share the engine's bound).
 * 0 if every op succeeded (a 404 on HEAD/GET and a 412 on a conditional
 * PUT count as success with found 0), -1 if any has an error. Ops may be
 * run again after s3_op_free. */
int s3_run(struct s3_client *, struct s3_op *ops, size_t n);
/* Free what an op holds (body_out, error) and zero its out fields. */
void s3_op_free(struct s3_op *);

/* ---- DeleteObjects ---- */

#define S3_DELETE_MAX 1000

/* A key DeleteObjects did not delete, with S3's error for it ("cannot
 * delete 's3://b/k': AccessDenied: Access Denied", code set). */
struct s3_delete_failure {
	char *key;
	struct aws_error error;
};

/* Delete n keys of bucket (at most S3_DELETE_MAX) in one DeleteObjects
 * request (POST ?delete, Quiet, with Content-MD5 as S3 requires); a key
 * that does not exist counts as deleted, as S3 has it. 0 when every key
 * is gone (no request when n is 0); 1 when S3 refused some: *failed (the
 * caller frees it with s3_delete_failures_free) lists *nfailed of them;
 * -1 with *err when the request failed as a whole (its status and code,
 * a malformed answer, a key that XML cannot carry). */
int s3_delete_objects(struct s3_client *, const char *bucket, const char *const *keys, size_t n,
                      struct s3_delete_failure **failed, size_t *nfailed, struct aws_error *err);
void s3_delete_failures_free(struct s3_delete_failure *, size_t n);

/* Abort every multipart upload in progress under bucket/prefix (for
 * cleaning after a crash). Number aborted, or -1 with *err. */
int s3_abort_uploads(struct s3_client *, const char *bucket, const char *prefix, struct aws_error *err);

/* ---- building blocks, exposed for tests ---- */

/* The part size of a multipart upload of size bytes when want is asked
 * for (0: 8 MiB): at least 5 MiB, grown to whole MiB so that the upload
 * takes at most 10,000 parts. 0 when size is over S3's 5 TiB limit. */
uint64_t s3_part_size(uint64_t size, uint64_t want);

struct http_request;
/* The error of a failed request (req->error set) made for operation verb
 * ("get") on s3://bucket/key, into *out: what "get 's3://b/k'", the status
 * and AWS error code (named after the status when S3 sent no body, as for
 * HEAD: "404 NotFound", "403 Forbidden"), AWS's message, the attempts; or
 * the transport's cause. A credentials error is kept as it is. */
void s3_request_error(const char *verb, const char *bucket, const char *key, const struct http_request *req,
                      struct aws_error *out);

#endif
