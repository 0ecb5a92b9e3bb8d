/* s3xml_fuzz.c - libFuzzer harness for aws/s3xml.c: the first byte picks
 * the parser (ListObjectsV2 collected or by callback, Error,
 * InitiateMultipartUpload, CompleteMultipartUpload, ListMultipartUploads,
 * the URL decoder), the rest is the body. Each result is
 * walked so that every string the parser returns is read. */
#include "aws/s3xml.h"
#include "lib/util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t sink;

static void touch(const char *s)
{
	if (s)
		sink += strlen(s);
}

static int on_object(void *ctx, const struct s3_object *o)
{
	(void)ctx;
	touch(o->key);
	touch(o->etag);
	touch(o->storage_class);
	sink += (size_t)o->size;
	return 0;
}

static void list(const char *body, size_t len, int callback)
{
	struct s3_list_page page = {0};
	char *err = NULL;
	if (s3xml_list_parse(body, len, callback ? on_object : NULL, NULL, &page, &err) == 0) {
		for (size_t i = 0; !callback && i < page.n_objects; i++)
			on_object(NULL, &page.objects[i]);
		for (size_t i = 0; i < page.n_common_prefixes; i++)
			touch(page.common_prefixes[i]);
		touch(page.next_token);
		touch(page.name);
		if (page.is_truncated && !page.next_token)
			abort(); /* the header promises a token on a truncated page */
	}
	free(err);
	s3xml_list_free(&page);
}

static void error_doc(const char *body, size_t len)
{
	struct s3_error e;
	if (s3xml_error_parse(body, len, &e)) {
		touch(e.code);
		touch(e.message);
		touch(e.request_id);
		touch(e.key);
		touch(e.bucket);
		s3xml_error_free(&e);
	}
}

static void initiate(const char *body, size_t len)
{
	char *err = NULL;
	char *id = s3xml_initiate_parse(body, len, &err);
	touch(id);
	free(id);
	free(err);
}

static void complete(const char *body, size_t len)
{
	struct s3_complete c = {0};
	struct s3_error e = {0};
	char *err = NULL;
	int r = s3xml_complete_parse(body, len, &c, &e, &err);
	if (r == 0) {
		if (!c.etag)
			abort(); /* ETag is required */
		touch(c.location);
		s3xml_complete_free(&c);
	} else if (r == 1) {
		touch(e.code);
		s3xml_error_free(&e);
	}
	free(err);
}

static void uploads(const char *body, size_t len)
{
	struct s3_uploads_page page = {0};
	char *err = NULL;
	if (s3xml_uploads_parse(body, len, &page, &err) == 0) {
		for (size_t i = 0; i < page.n_uploads; i++) {
			if (!page.uploads[i].key || !page.uploads[i].upload_id)
				abort(); /* every upload has both */
			touch(page.uploads[i].key);
		}
		if (page.is_truncated && !page.next_key_marker)
			abort();
	}
	free(err);
	s3xml_uploads_free(&page);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	unsigned which = data[0];
	const char *body = (const char *)data + 1;
	size_t len = size - 1;
	char *s;
	switch (which % 7) {
	case 0: list(body, len, 0); break;
	case 1: list(body, len, 1); break;
	case 2: error_doc(body, len); break;
	case 3: initiate(body, len); break;
	case 4: complete(body, len); break;
	case 5: uploads(body, len); break;
	case 6:
		s = xstrndup(body, len);
		s3xml_url_decode(s);
		free(s);
		break;
	}
	return 0;
}
