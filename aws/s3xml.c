/* s3xml.c - S3's XML responses through one streaming expat core.
 *
 * The core keeps a stack of known element ids (unknown elements are kept as
 * E_OTHER and skipped, so new S3 fields do no harm), collects the text of
 * the leaves the current document wants, and hands each finished leaf or
 * container to the document's handler. Names are compared after the
 * namespace separator only. The first error stops the parser and is the
 * one reported. ListObjectsV2 strings go to one arena per page, not to a
 * malloc per field; a 100,000-key page is one objects array plus arena
 * blocks. */
#include "aws/s3xml.h"
#include "aws/date.h"

#include "lib/util.h"

#include <expat.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define NS_SEP '|'

enum id {
	E_OTHER,
	E_ListBucketResult,
	E_IsTruncated,
	E_NextContinuationToken,
	E_ContinuationToken,
	E_KeyCount,
	E_MaxKeys,
	E_Name,
	E_Prefix,
	E_Delimiter,
	E_EncodingType,
	E_StartAfter,
	E_Contents,
	E_Key,
	E_LastModified,
	E_ETag,
	E_Size,
	E_StorageClass,
	E_CommonPrefixes,
	E_Error,
	E_Code,
	E_Message,
	E_RequestId,
	E_BucketName,
	E_InitiateMultipartUploadResult,
	E_CompleteMultipartUploadResult,
	E_UploadId,
	E_Bucket,
	E_Location,
	E_ListMultipartUploadsResult,
	E_Upload,
	E_NextKeyMarker,
	E_NextUploadIdMarker,
	E_DeleteResult,
	E_Deleted,
	E_COUNT
};

static const char *const names[E_COUNT] = {
	"?", "ListBucketResult", "IsTruncated", "NextContinuationToken", "ContinuationToken", "KeyCount",
	"MaxKeys", "Name", "Prefix", "Delimiter", "EncodingType", "StartAfter", "Contents", "Key",
	"LastModified", "ETag", "Size", "StorageClass", "CommonPrefixes", "Error", "Code", "Message",
	"RequestId", "BucketName", "InitiateMultipartUploadResult", "CompleteMultipartUploadResult",
	"UploadId", "Bucket", "Location", "ListMultipartUploadsResult", "Upload", "NextKeyMarker",
	"NextUploadIdMarker", "DeleteResult", "Deleted",
};

enum doc { D_LIST, D_ERROR, D_INITIATE, D_COMPLETE, D_UPLOADS, D_DELETE };

struct px {
	XML_Parser xp;
	enum doc doc;
	const char *what;       /* operation named in messages */
	char *err;              /* first error, owned */
	int stopped;            /* stopped without error (s3xml_error_parse) */
	int depth, root;
	unsigned char stack[S3XML_MAX_DEPTH];
	int collecting;
	struct buf text;

	/* D_LIST */
	struct s3_list_page *page;
	s3xml_object_fn fn;
	void *ctx;
	int enc_known, url;     /* EncodingType seen; it is url */
	int in_obj, have_key;
	struct s3_object cur;
	struct arena *pend;     /* callback mode: strings of unflushed objects */
	struct s3_object *objs; /* collected, or pending in callback mode */
	size_t nobjs, capobjs, done;
	size_t since_free;      /* objects whose strings pend still holds */
	size_t capcp;
	const char *last_sc;    /* storage classes repeat: share the string */
	int callback_stop;

	/* D_ERROR, D_INITIATE, D_COMPLETE */
	struct s3_error *e;
	struct s3_complete *c;
	char *upload_id;

	/* D_UPLOADS */
	struct s3_uploads_page *up;
	size_t capup;
	int in_upload;

	/* D_DELETE */
	struct s3_delete_result *del;
	size_t capdel;
	int in_delerr;          /* inside a DeleteResult's <Error> */
};

static enum id lookup(const char *name)
{
	const char *local = strrchr(name, NS_SEP);
	local = local ? local + 1 : name;
	for (int i = 1; i < E_COUNT; i++)
		if (!strcmp(names[i], local))
			return (enum id)i;
	return E_OTHER;
}

static const char *local_name(const char *name)
{
	const char *local = strrchr(name, NS_SEP);
	return local ? local + 1 : name;
}

__attribute__((format(printf, 2, 3)))
static void fail(struct px *px, const char *fmt, ...)
{
	struct buf b = {0};
	va_list ap;
	if (px->err)
		return;
	buf_printf(&b, "malformed %s response: ", px->what);
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	buf_printf(&b, " at line %lu column %lu", (unsigned long)XML_GetCurrentLineNumber(px->xp),
		   (unsigned long)XML_GetCurrentColumnNumber(px->xp) + 1);
	px->err = buf_detach(&b);
	XML_StopParser(px->xp, XML_FALSE);
}

/* A value quoted in a message: at most 32 bytes, control bytes as '?'. */
static const char *shown(const char *s, char out[48])
{
	size_t i, n = 0;
	for (i = 0; s[i] && n < 32; i++)
		out[n++] = (unsigned char)s[i] < 0x20 ? '?' : s[i];
	if (s[i])
		out[n++] = '.', out[n++] = '.', out[n++] = '.';
	out[n] = 0;
	return out;
}

/* <IsTruncated>: true or false. */
static void parse_truncated(struct px *px, const char *v, int *out)
{
	char tmp[48];
	if (!strcmp(v, "true"))
		*out = 1;
	else if (!strcmp(v, "false"))
		*out = 0;
	else
		fail(px, "<IsTruncated> is not true or false: '%s'", shown(v, tmp));
}

static int parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	if (!*s)
		return -1;
	for (; *s; s++) {
		unsigned d = (unsigned)(*s - '0');
		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int s3xml_url_decode(char *s)
{
	char *w = s;
	for (const char *r = s; *r; r++) {
		if (*r != '%') {
			*w++ = *r == '+' ? ' ' : *r;
			continue;
		}
		int v = 0;
		for (int i = 1; i <= 2; i++) {
			char c = r[i];
			int h = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
				: c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
			if (h < 0)
				return -1;
			v = v << 4 | h;
		}
		if (!v)
			return -1;
		*w++ = (char)v;
		r += 2;
	}
	*w = 0;
	return 0;
}

/* Whether the document wants the text of element id under parent. */
static int is_leaf(const struct px *px, int parent, int id)
{
	switch (px->doc) {
	case D_LIST:
		if (parent == E_ListBucketResult)
			return id == E_IsTruncated || id == E_NextContinuationToken || id == E_ContinuationToken ||
			       id == E_KeyCount || id == E_MaxKeys || id == E_Name || id == E_Prefix ||
			       id == E_Delimiter || id == E_EncodingType || id == E_StartAfter;
		if (parent == E_Contents)
			return id == E_Key || id == E_LastModified || id == E_ETag || id == E_Size ||
			       id == E_StorageClass;
		return parent == E_CommonPrefixes && id == E_Prefix;
	case D_ERROR:
		return parent == E_Error && (id == E_Code || id == E_Message || id == E_RequestId || id == E_Key ||
					     id == E_BucketName);
	case D_INITIATE:
		return parent == E_InitiateMultipartUploadResult && (id == E_UploadId || id == E_Bucket || id == E_Key);
	case D_COMPLETE:
		if (parent == E_Error)
			return id == E_Code || id == E_Message || id == E_RequestId || id == E_Key ||
			       id == E_BucketName;
		return parent == E_CompleteMultipartUploadResult &&
		       (id == E_Location || id == E_Bucket || id == E_Key || id == E_ETag);
	case D_UPLOADS:
		if (parent == E_ListMultipartUploadsResult)
			return id == E_IsTruncated || id == E_NextKeyMarker || id == E_NextUploadIdMarker ||
			       id == E_EncodingType;
		return parent == E_Upload && (id == E_Key || id == E_UploadId);
	case D_DELETE:
		/* the root Error document's fields, or a key's <Error> */
		if (parent == E_Error)
			return id == E_Code || id == E_Message || id == E_RequestId || id == E_Key ||
			       id == E_BucketName;
		return parent == E_Deleted && id == E_Key;
	}
	return 0;
}

static void strip_quotes(char *s)
{
	size_t n = strlen(s);
	if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
		memmove(s, s + 1, n - 2);
		s[n - 2] = 0;
	}
}

/* ---- ListObjectsV2 ---- */

static struct arena *obj_arena(struct px *px)
{
	if (!px->fn)
		return px->page->arena;
	if (!px->pend)
		px->pend = arena_new();
	return px->pend;
}

static int decode_field(struct px *px, char *s, const char *field)
{
	char tmp[48];
	if (s3xml_url_decode(s) < 0) {
		fail(px, "bad URL encoding in %s '%s'", field, shown(s, tmp));
		return -1;
	}
	return 0;
}

/* Decode (when url) and hand over the pending objects in callback mode. */
static void flush(struct px *px)
{
	for (; px->done < px->nobjs && !px->err && !px->callback_stop; px->done++) {
		struct s3_object *o = &px->objs[px->done];
		if (px->url && decode_field(px, (char *)o->key, "Key") < 0)
			return;
		if (px->fn && px->fn(px->ctx, o) < 0) {
			px->callback_stop = 1;
			XML_StopParser(px->xp, XML_FALSE);
		}
	}
	if (px->fn && px->done == px->nobjs) {
		/* Recycle the strings now and then, not per object: a fresh
		 * arena block per object would be a 64 KiB malloc each. */
		px->since_free += px->nobjs;
		px->nobjs = px->done = 0;
		if (px->since_free >= 1024) {
			px->since_free = 0;
			px->last_sc = NULL;
			arena_free(px->pend);
			px->pend = NULL;
		}
	}
}

static void list_leaf(struct px *px, int parent, int id, char *v)
{
	struct s3_list_page *pg = px->page;
	char tmp[48];
	uint64_t u;
	if (parent == E_Contents) {
		struct arena *a = obj_arena(px);
		if (!px->in_obj) /* a Contents nested somewhere unknown */
			return;
		switch (id) {
		case E_Key:
			if (!*v)
				fail(px, "empty <Key>");
			px->cur.key = arena_strdup(a, v);
			px->have_key = 1;
			break;
		case E_LastModified:
			if (aws_date_parse(v, AWS_DATE_ISO, &px->cur.mtime_ns) < 0)
				fail(px, "<LastModified> is not an ISO 8601 time: '%s'", shown(v, tmp));
			break;
		case E_ETag:
			strip_quotes(v);
			px->cur.etag = arena_strdup(a, v);
			break;
		case E_Size:
			if (parse_u64(v, &px->cur.size) < 0)
				fail(px, "<Size> is not an unsigned 64-bit number: '%s'", shown(v, tmp));
			break;
		case E_StorageClass:
			if (!px->last_sc || strcmp(px->last_sc, v))
				px->last_sc = arena_strdup(a, v);
			px->cur.storage_class = px->last_sc;
			break;
		}
		return;
	}
	if (parent == E_CommonPrefixes) {
		GROW(pg->common_prefixes, px->capcp, pg->n_common_prefixes + 1);
		pg->common_prefixes[pg->n_common_prefixes++] = arena_strdup(pg->arena, v);
		return;
	}
	switch (id) {
	case E_IsTruncated:
		parse_truncated(px, v, &pg->is_truncated);
		break;
	case E_KeyCount:
	case E_MaxKeys:
		if (parse_u64(v, &u) < 0 || u > INT64_MAX)
			fail(px, "<%s> is not a number: '%s'", names[id], shown(v, tmp));
		else
			*(id == E_KeyCount ? &pg->key_count : &pg->max_keys) = (int64_t)u;
		break;
	case E_EncodingType:
		if (strcmp(v, "url")) {
			fail(px, "unsupported <EncodingType> '%s'", shown(v, tmp));
			break;
		}
		pg->encoding_type = arena_strdup(pg->arena, v);
		px->url = px->enc_known = 1;
		flush(px);
		break;
	case E_NextContinuationToken: pg->next_token = arena_strdup(pg->arena, v); break;
	case E_ContinuationToken: pg->continuation_token = arena_strdup(pg->arena, v); break;
	case E_Name: pg->name = arena_strdup(pg->arena, v); break;
	case E_Prefix: pg->prefix = arena_strdup(pg->arena, v); break;
	case E_Delimiter: pg->delimiter = arena_strdup(pg->arena, v); break;
	case E_StartAfter: pg->start_after = arena_strdup(pg->arena, v); break;
	}
}

static void list_start(struct px *px, int id)
{
	if (id == E_Contents && px->depth == 2) {
		memset(&px->cur, 0, sizeof(px->cur));
		px->cur.etag = px->cur.storage_class = "";
		px->have_key = 0;
		px->in_obj = 1;
	}
}

static void list_end(struct px *px, int id)
{
	if (id != E_Contents || px->depth != 1)
		return;
	if (!px->have_key) {
		fail(px, "<Contents> without <Key>");
		return;
	}
	GROW(px->objs, px->capobjs, px->nobjs + 1);
	px->objs[px->nobjs++] = px->cur;
	px->page->n_objects++;
	px->in_obj = 0;
	if (px->fn && px->enc_known)
		flush(px);
}

/* After the whole document: decode what waited for EncodingType. */
static void list_finish(struct px *px)
{
	struct s3_list_page *pg = px->page;
	px->enc_known = 1;
	flush(px);
	if (px->err || px->callback_stop)
		return;
	if (px->url) {
		char **fields[] = {(char **)&pg->prefix, (char **)&pg->delimiter, (char **)&pg->start_after};
		const char *what[] = {"Prefix", "Delimiter", "StartAfter"};
		for (size_t i = 0; i < ARRAY_LEN(fields); i++)
			if (*fields[i] && decode_field(px, *fields[i], what[i]) < 0)
				return;
		for (size_t i = 0; i < pg->n_common_prefixes; i++)
			if (decode_field(px, (char *)pg->common_prefixes[i], "CommonPrefixes/Prefix") < 0)
				return;
	}
	if (pg->is_truncated && (!pg->next_token || !*pg->next_token))
		fail(px, "<IsTruncated> is true without <NextContinuationToken>");
	if (!px->fn) {
		pg->objects = px->objs;
		px->objs = NULL;
	}
}

static void error_leaf(struct px *px, int id, const char *v)
{
	struct s3_error *e = px->e;
	char **f = id == E_Code ? &e->code : id == E_Message ? &e->message : id == E_RequestId ? &e->request_id
		 : id == E_Key ? &e->key : &e->bucket;
	free(*f);
	*f = xstrdup(v);
}

/* ---- ListMultipartUploads ---- */

static void uploads_leaf(struct px *px, int parent, int id, const char *v)
{
	struct s3_uploads_page *pg = px->up;
	char tmp[48];
	if (parent == E_Upload) {
		/* an <Upload> elsewhere than under the root opened no upload */
		if (!px->in_upload)
			return;
		struct s3_upload *u = &pg->uploads[pg->n_uploads - 1];
		char **f = id == E_Key ? &u->key : &u->upload_id;
		free(*f);
		*f = xstrdup(v);
		return;
	}
	switch (id) {
	case E_IsTruncated:
		parse_truncated(px, v, &pg->is_truncated);
		break;
	case E_EncodingType:
		if (strcmp(v, "url"))
			fail(px, "unsupported <EncodingType> '%s'", shown(v, tmp));
		else
			px->url = 1;
		break;
	case E_NextKeyMarker:
		free(pg->next_key_marker);
		pg->next_key_marker = xstrdup(v);
		break;
	case E_NextUploadIdMarker:
		free(pg->next_upload_id_marker);
		pg->next_upload_id_marker = xstrdup(v);
		break;
	}
}

static void uploads_start(struct px *px, int id)
{
	struct s3_uploads_page *pg = px->up;
	if (id != E_Upload || px->depth != 2)
		return;
	GROW(pg->uploads, px->capup, pg->n_uploads + 1);
	memset(&pg->uploads[pg->n_uploads++], 0, sizeof(struct s3_upload));
	px->in_upload = 1;
}

static void uploads_end(struct px *px, int id)
{
	struct s3_uploads_page *pg = px->up;
	if (id != E_Upload || px->depth != 1)
		return;
	px->in_upload = 0;
	if (!pg->uploads[pg->n_uploads - 1].key || !*pg->uploads[pg->n_uploads - 1].key)
		fail(px, "<Upload> without <Key>");
	else if (!pg->uploads[pg->n_uploads - 1].upload_id || !*pg->uploads[pg->n_uploads - 1].upload_id)
		fail(px, "<Upload> without <UploadId>");
}

/* After the whole document: decode the keys (EncodingType may come last). */
static void uploads_finish(struct px *px)
{
	struct s3_uploads_page *pg = px->up;
	if (px->url) {
		for (size_t i = 0; i < pg->n_uploads; i++)
			if (decode_field(px, pg->uploads[i].key, "Key") < 0)
				return;
		if (pg->next_key_marker && decode_field(px, pg->next_key_marker, "NextKeyMarker") < 0)
			return;
	}
	if (pg->is_truncated && (!pg->next_key_marker || !*pg->next_key_marker))
		fail(px, "<IsTruncated> is true without <NextKeyMarker>");
}

/* ---- DeleteObjects ---- */

static void delete_leaf(struct px *px, int parent, int id, const char *v)
{
	if (parent != E_Error || !px->in_delerr)
		return; /* a <Deleted> key: counted, not kept */
	struct s3_delete_error *d = &px->del->errors[px->del->n_errors - 1];
	char **f = id == E_Key ? &d->key : id == E_Code ? &d->code : id == E_Message ? &d->message : NULL;
	if (!f)
		return;
	free(*f);
	*f = xstrdup(v);
}

static void delete_start(struct px *px, int id)
{
	struct s3_delete_result *r = px->del;
	if (px->root != E_DeleteResult || px->depth != 2)
		return;
	if (id == E_Deleted) {
		r->n_deleted++;
	} else if (id == E_Error) {
		GROW(r->errors, px->capdel, r->n_errors + 1);
		memset(&r->errors[r->n_errors++], 0, sizeof(struct s3_delete_error));
		px->in_delerr = 1;
	}
}

static void delete_end(struct px *px, int id)
{
	struct s3_delete_result *r = px->del;
	if (px->root != E_DeleteResult || px->depth != 1 || id != E_Error)
		return;
	px->in_delerr = 0;
	const struct s3_delete_error *d = &r->errors[r->n_errors - 1];
	if (!d->key || !*d->key)
		fail(px, "<Error> without <Key>");
	else if (!d->code || !*d->code)
		fail(px, "<Error> without <Code>");
}

/* ---- the other documents ---- */

static void other_leaf(struct px *px, int parent, int id, char *v)
{
	if (px->doc == D_UPLOADS) {
		uploads_leaf(px, parent, id, v);
	} else if (px->doc == D_DELETE && px->root == E_DeleteResult) {
		delete_leaf(px, parent, id, v);
	} else if (parent == E_Error) {
		error_leaf(px, id, v);
	} else if (px->doc == D_INITIATE) {
		if (id == E_UploadId) {
			free(px->upload_id);
			px->upload_id = xstrdup(v);
		}
	} else if (px->doc == D_COMPLETE) {
		struct s3_complete *c = px->c;
		char **f = id == E_Location ? &c->location : id == E_Bucket ? &c->bucket : id == E_Key ? &c->key
			 : &c->etag;
		if (id == E_ETag)
			strip_quotes(v);
		free(*f);
		*f = xstrdup(v);
	}
}

/* ---- the expat core ---- */

static int root_ok(const struct px *px, int id)
{
	switch (px->doc) {
	case D_LIST: return id == E_ListBucketResult;
	case D_ERROR: return id == E_Error;
	case D_INITIATE: return id == E_InitiateMultipartUploadResult;
	case D_COMPLETE: return id == E_CompleteMultipartUploadResult || id == E_Error;
	case D_UPLOADS: return id == E_ListMultipartUploadsResult;
	case D_DELETE: return id == E_DeleteResult || id == E_Error;
	}
	return 0;
}

static const char *root_want(const struct px *px)
{
	switch (px->doc) {
	case D_LIST: return "ListBucketResult";
	case D_ERROR: return "Error";
	case D_INITIATE: return "InitiateMultipartUploadResult";
	case D_COMPLETE: return "CompleteMultipartUploadResult";
	case D_UPLOADS: return "ListMultipartUploadsResult";
	case D_DELETE: return "DeleteResult";
	}
	return "?";
}

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
	struct px *px = ud;
	enum id id = lookup(name);
	(void)attrs;
	if (px->err || px->stopped || px->callback_stop)
		return;
	if (px->collecting) {
		fail(px, "element <%s> inside <%s> where text was expected", local_name(name),
		     names[px->stack[px->depth - 1]]);
		return;
	}
	if (px->depth == 0) {
		if (!root_ok(px, id)) {
			if (px->doc == D_ERROR) {
				px->stopped = 1;
				XML_StopParser(px->xp, XML_FALSE);
			} else {
				fail(px, "unexpected root element <%s>, expected <%s>", local_name(name),
				     root_want(px));
			}
			return;
		}
		px->root = id;
	}
	if (px->depth == S3XML_MAX_DEPTH) {
		fail(px, "elements nested deeper than %d", S3XML_MAX_DEPTH);
		return;
	}
	if (px->depth > 0 && is_leaf(px, px->stack[px->depth - 1], id)) {
		px->collecting = 1;
		buf_reset(&px->text);
	}
	px->stack[px->depth++] = (unsigned char)id;
	if (px->doc == D_LIST)
		list_start(px, id);
	else if (px->doc == D_UPLOADS)
		uploads_start(px, id);
	else if (px->doc == D_DELETE)
		delete_start(px, id);
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
	struct px *px = ud;
	(void)name;
	if (px->err || px->stopped || px->callback_stop || px->depth == 0)
		return;
	int id = px->stack[--px->depth];
	if (px->collecting) {
		int parent = px->stack[px->depth - 1];
		px->collecting = 0;
		buf_putc(&px->text, 0); /* data is never NULL then */
		if (px->doc == D_LIST)
			list_leaf(px, parent, id, px->text.data);
		else
			other_leaf(px, parent, id, px->text.data);
		return;
	}
	if (px->doc == D_LIST)
		list_end(px, id);
	else if (px->doc == D_UPLOADS)
		uploads_end(px, id);
	else if (px->doc == D_DELETE)
		delete_end(px, id);
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
	struct px *px = ud;
	if (!px->collecting || px->err)
		return;
	if (px->text.len + (size_t)len > S3XML_MAX_TEXT) {
		fail(px, "<%s> value longer than %d bytes", names[px->stack[px->depth - 1]], S3XML_MAX_TEXT);
		return;
	}
	buf_putn(&px->text, s, (size_t)len);
}

static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid, const XML_Char *pubid,
			       int internal)
{
	(void)name, (void)sysid, (void)pubid, (void)internal;
	fail(ud, "DOCTYPE not allowed");
}

static void XMLCALL on_entity(void *ud, const XML_Char *name, int param, const XML_Char *value, int vlen,
			      const XML_Char *base, const XML_Char *sysid, const XML_Char *pubid,
			      const XML_Char *notation)
{
	(void)name, (void)param, (void)value, (void)vlen, (void)base, (void)sysid, (void)pubid, (void)notation;
	fail(ud, "entity declaration not allowed");
}

/* Run the parser over body; 0 or -1 with px->err set (or callback_stop). */
static int run(struct px *px, const char *body, size_t len)
{
	int ret = -1;
	px->xp = XML_ParserCreateNS("UTF-8", NS_SEP);
	if (!px->xp) {
		/* not fail(): it asks the parser where it is */
		px->err = xstrdup("out of memory (XML parser)");
		return -1;
	}
	XML_SetUserData(px->xp, px);
	XML_SetElementHandler(px->xp, on_start, on_end);
	XML_SetCharacterDataHandler(px->xp, on_text);
	XML_SetStartDoctypeDeclHandler(px->xp, on_doctype);
	XML_SetEntityDeclHandler(px->xp, on_entity);
	if (len == 0) {
		fail(px, "empty body");
		goto out;
	}
	do {
		int n = len > INT_MAX / 2 ? INT_MAX / 2 : (int)len;
		len -= (size_t)n;
		if (XML_Parse(px->xp, body, n, len == 0) != XML_STATUS_OK) {
			enum XML_Error code = XML_GetErrorCode(px->xp);
			if (px->err || px->stopped || px->callback_stop || code == XML_ERROR_ABORTED)
				break;
			if (code == XML_ERROR_NO_ELEMENTS && px->root)
				fail(px, "truncated document (no closing tag for <%s>)", names[px->root]);
			else if (code == XML_ERROR_NO_ELEMENTS)
				fail(px, "no element found");
			else if (code == XML_ERROR_UNCLOSED_TOKEN || code == XML_ERROR_PARTIAL_CHAR)
				fail(px, "truncated document (%s)", XML_ErrorString(code));
			else
				fail(px, "%s", XML_ErrorString(code));
			break;
		}
		body += n;
	} while (len);
	ret = px->err || px->callback_stop ? -1 : 0;
out:
	return ret;
}

static void px_done(struct px *px)
{
	if (px->xp)
		XML_ParserFree(px->xp);
	buf_free(&px->text);
}

int s3xml_list_parse(const char *body, size_t len, s3xml_object_fn fn, void *ctx, struct s3_list_page *page,
		     char **err)
{
	struct px px = {.doc = D_LIST, .what = "ListObjectsV2", .page = page, .fn = fn, .ctx = ctx};
	int ret = -1;
	memset(page, 0, sizeof(*page));
	page->arena = arena_new();
	page->key_count = page->max_keys = -1;
	*err = NULL;
	if (run(&px, body, len) < 0)
		goto out;
	list_finish(&px);
	if (px.err || px.callback_stop)
		goto out;
	ret = 0;
out:
	*err = px.err;
	px_done(&px);
	free(px.objs);
	arena_free(px.pend);
	return ret;
}

void s3xml_list_free(struct s3_list_page *page)
{
	if (!page)
		return;
	free(page->objects);
	free(page->common_prefixes);
	arena_free(page->arena);
	memset(page, 0, sizeof(*page));
}

void s3xml_error_free(struct s3_error *e)
{
	if (!e)
		return;
	free(e->code);
	free(e->message);
	free(e->request_id);
	free(e->key);
	free(e->bucket);
	memset(e, 0, sizeof(*e));
}

int s3xml_error_parse(const char *body, size_t len, struct s3_error *e)
{
	struct px px = {.doc = D_ERROR, .what = "Error", .e = e};
	memset(e, 0, sizeof(*e));
	run(&px, body, len);
	int is_error = px.root == E_Error;
	free(px.err);
	px_done(&px);
	if (!is_error)
		s3xml_error_free(e);
	return is_error;
}

char *s3xml_initiate_parse(const char *body, size_t len, char **err)
{
	struct px px = {.doc = D_INITIATE, .what = "CreateMultipartUpload"};
	char *id = NULL;
	*err = NULL;
	if (run(&px, body, len) < 0)
		goto out;
	if (!px.upload_id || !*px.upload_id) {
		fail(&px, "no <UploadId>");
		goto out;
	}
	id = px.upload_id;
	px.upload_id = NULL;
out:
	*err = px.err;
	free(px.upload_id);
	px_done(&px);
	return id;
}

void s3xml_complete_free(struct s3_complete *c)
{
	if (!c)
		return;
	free(c->etag);
	free(c->location);
	free(c->bucket);
	free(c->key);
	memset(c, 0, sizeof(*c));
}

int s3xml_complete_parse(const char *body, size_t len, struct s3_complete *out, struct s3_error *e, char **err)
{
	struct px px = {.doc = D_COMPLETE, .what = "CompleteMultipartUpload", .c = out, .e = e};
	int ret = -1;
	memset(out, 0, sizeof(*out));
	memset(e, 0, sizeof(*e));
	*err = NULL;
	if (run(&px, body, len) < 0) {
		if (px.root == E_Error) { /* a truncated Error is still an error */
			free(px.err);
			px.err = NULL;
			ret = 1;
		}
		goto out;
	}
	if (px.root == E_Error) {
		ret = 1;
		goto out;
	}
	if (!out->etag || !*out->etag) {
		fail(&px, "no <ETag>");
		goto out;
	}
	ret = 0;
out:
	*err = px.err;
	if (ret != 0)
		s3xml_complete_free(out);
	if (ret != 1)
		s3xml_error_free(e);
	px_done(&px);
	return ret;
}

int s3xml_uploads_parse(const char *body, size_t len, struct s3_uploads_page *page, char **err)
{
	struct px px = {.doc = D_UPLOADS, .what = "ListMultipartUploads", .up = page};
	int ret = -1;
	memset(page, 0, sizeof(*page));
	*err = NULL;
	if (run(&px, body, len) < 0)
		goto out;
	uploads_finish(&px);
	if (px.err)
		goto out;
	ret = 0;
out:
	*err = px.err;
	px_done(&px);
	return ret;
}

void s3xml_uploads_free(struct s3_uploads_page *page)
{
	if (!page)
		return;
	for (size_t i = 0; i < page->n_uploads; i++) {
		free(page->uploads[i].key);
		free(page->uploads[i].upload_id);
	}
	free(page->uploads);
	free(page->next_key_marker);
	free(page->next_upload_id_marker);
	memset(page, 0, sizeof(*page));
}

int s3xml_delete_parse(const char *body, size_t len, struct s3_delete_result *out, struct s3_error *e, char **err)
{
	struct px px = {.doc = D_DELETE, .what = "DeleteObjects", .del = out, .e = e};
	int ret = -1;
	memset(out, 0, sizeof(*out));
	memset(e, 0, sizeof(*e));
	*err = NULL;
	if (run(&px, body, len) < 0) {
		if (px.root == E_Error) { /* a truncated Error is still an error */
			free(px.err);
			px.err = NULL;
			ret = 1;
		}
		goto out;
	}
	ret = px.root == E_Error ? 1 : 0;
out:
	*err = px.err;
	if (ret != 0)
		s3xml_delete_free(out);
	if (ret != 1)
		s3xml_error_free(e);
	px_done(&px);
	return ret;
}

void s3xml_delete_free(struct s3_delete_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_errors; i++) {
		free(r->errors[i].key);
		free(r->errors[i].code);
		free(r->errors[i].message);
	}
	free(r->errors);
	memset(r, 0, sizeof(*r));
}
