/* s3xml.h - decoding S3's XML responses (ListObjectsV2, Error documents,
 * multipart upload results, ListMultipartUploads, DeleteObjects) with expat, by element local name so that any
 * namespace (S3's, s3rver's, none) is accepted. Documents with a DOCTYPE or
 * entity declarations, nesting deeper than S3XML_MAX_DEPTH or a text value
 * longer than S3XML_MAX_TEXT are refused. Every failure is one message:
 * "malformed <Operation> response: <what> at line L column C". */
#ifndef RAPID_AWS_S3XML_H
#define RAPID_AWS_S3XML_H

#include <stddef.h>
#include <stdint.h>

#define S3XML_MAX_DEPTH 32
#define S3XML_MAX_TEXT 65536

struct arena;

/* One Contents entry. Strings are never NULL ("" when absent). */
struct s3_object {
	const char *key;           /* URL-decoded when EncodingType is url */
	const char *etag;          /* without the surrounding quotes */
	const char *storage_class;
	uint64_t size;
	int64_t mtime_ns;          /* LastModified; 0 when absent */
};

/* One ListObjectsV2 page. Everything lives in arena; free with
 * s3xml_list_free. Optional strings are NULL when absent; numbers -1. */
struct s3_list_page {
	int is_truncated;
	const char *next_token, *continuation_token;
	const char *name, *prefix, *delimiter, *start_after, *encoding_type;
	int64_t key_count, max_keys;
	struct s3_object *objects; /* collected mode only */
	size_t n_objects;          /* objects seen (both modes) */
	const char **common_prefixes;
	size_t n_common_prefixes;
	struct arena *arena;
};

/* Called per object in callback mode; the object and its strings are valid
 * only during the call. Return 0 to go on, -1 to stop the parse. */
typedef int (*s3xml_object_fn)(void *ctx, const struct s3_object *);

/* Parse a ListObjectsV2 body into page. With fn NULL the objects are
 * collected in page->objects; otherwise each is given to fn (as soon as
 * the EncodingType is known, else at the end) and not kept. Returns 0, or
 * -1 with *err a message the caller frees (NULL when fn stopped it); the
 * page must be freed either way. A truncated page always has a token. */
int s3xml_list_parse(const char *body, size_t len, s3xml_object_fn fn, void *ctx, struct s3_list_page *page,
		     char **err);
void s3xml_list_free(struct s3_list_page *);

/* The fields of an S3 <Error> document; each NULL when absent. */
struct s3_error {
	char *code, *message, *request_id, *key, *bucket;
};

/* 1 when body's root element is Error (e filled with the fields read, even
 * from a truncated body; free with s3xml_error_free), else 0 (e zeroed):
 * another root, an empty body or not XML at all. Stops at the root when it
 * is not Error, so it is cheap to call on every 200 response. */
int s3xml_error_parse(const char *body, size_t len, struct s3_error *e);
void s3xml_error_free(struct s3_error *);

/* The UploadId of an InitiateMultipartUploadResult; the caller frees it.
 * NULL with *err (the caller frees) if malformed or without UploadId. */
char *s3xml_initiate_parse(const char *body, size_t len, char **err);

/* A CompleteMultipartUploadResult; strings are NULL when absent. */
struct s3_complete {
	char *etag, *location, *bucket, *key; /* etag without quotes */
};

/* Parse a CompleteMultipartUpload body, which may be an Error document even
 * with HTTP 200. Returns 0 with out filled (ETag required), 1 with e filled
 * for an Error document, or -1 with *err (the caller frees). Free out with
 * s3xml_complete_free and e with s3xml_error_free. */
int s3xml_complete_parse(const char *body, size_t len, struct s3_complete *out, struct s3_error *e, char **err);
void s3xml_complete_free(struct s3_complete *);

/* One ListMultipartUploads page; strings owned by the page (free it with
 * s3xml_uploads_free), NULL when absent. */
struct s3_upload {
	char *key, *upload_id; /* key URL-decoded when EncodingType is url */
};
struct s3_uploads_page {
	int is_truncated;
	char *next_key_marker, *next_upload_id_marker;
	struct s3_upload *uploads;
	size_t n_uploads;
};

/* Parse a ListMultipartUploads body. 0, or -1 with *err (the caller
 * frees); the page must be freed either way. Every upload has a key and an
 * upload id; a truncated page always has NextKeyMarker. */
int s3xml_uploads_parse(const char *body, size_t len, struct s3_uploads_page *page, char **err);
void s3xml_uploads_free(struct s3_uploads_page *);

/* A DeleteObjects answer (DeleteResult): the keys S3 could not delete,
 * each with its error, and how many <Deleted> it listed (none in Quiet
 * mode, which names only the failures). Strings owned; message NULL when
 * absent, key and code never. */
struct s3_delete_error {
	char *key, *code, *message;
};
struct s3_delete_result {
	struct s3_delete_error *errors;
	size_t n_errors, n_deleted;
};

/* Parse a DeleteObjects body. 0 with out filled, 1 with e filled for an
 * Error document, or -1 with *err (the caller frees): another root, a
 * key's <Error> without <Key> or <Code>, bad XML. Free out with
 * s3xml_delete_free and e with s3xml_error_free. */
int s3xml_delete_parse(const char *body, size_t len, struct s3_delete_result *out, struct s3_error *e, char **err);
void s3xml_delete_free(struct s3_delete_result *);

/* Decode S3's encoding-type=url in place: %XY escapes, and '+' as a space
 * (S3 form-encodes: a space may come as '+', a plus always as %2B, as
 * botocore's unquote_plus expects); -1 on a '%' without two hex digits or
 * a decoded NUL byte. */
int s3xml_url_decode(char *s);

#endif
