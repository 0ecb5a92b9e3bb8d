/* meta.c - owns how rapid talks to the metadata services of the machine
 * it runs on (meta.h): the ECS agent and IMDSv2, for credentials
 * (aws/creds.c) and for provenance (the image digest, the instance
 * type). One engine per client, made on the first call, with one attempt
 * and short timeouts: an absent service costs a refused connection or a
 * timeout, never a retry. */
#include "aws/meta.h"
#include "aws/config.h"
#include "aws/http.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define IMDS_V4 "http://169.254.169.254"
#define IMDS_V6 "http://[fd00:ec2::254]"
#define IMDS_TOKEN_MAX 4096
#define ECS_MAX_BODY (256 * 1024) /* a container's metadata is a few KiB */

struct aws_meta {
	long connect_ms, total_ms;
	struct http_engine *http;
	unsigned calls;
};

struct aws_meta *aws_meta_new(long connect_ms, long total_ms)
{
	struct aws_meta *m = xcalloc(1, sizeof *m);
	m->connect_ms = connect_ms > 0 ? connect_ms : 1000;
	m->total_ms = total_ms > 0 ? total_ms : 5000;
	return m;
}

void aws_meta_free(struct aws_meta *m)
{
	if (!m)
		return;
	http_engine_free(m->http);
	free(m);
}

unsigned aws_meta_calls(const struct aws_meta *m)
{
	return m->calls;
}

void aws_meta_body_free(struct buf *b)
{
	if (b->data)
		OPENSSL_cleanse(b->data, b->cap);
	buf_free(b);
}

int aws_meta_call(struct aws_meta *m, const char *method, const char *url, const char *const *headers,
		  size_t max_body, long *status, struct buf *body, struct buf *why)
{
	struct http_request r;
	int ret = -1;

	*status = 0;
	memset(body, 0, sizeof(*body));
	if (!m->http) {
		struct http_config hc = {.max_attempts = 1, .connect_timeout_ms = m->connect_ms,
		                         .timeout_ms = m->total_ms, .no_proxy = 1};
		struct aws_error e = {0};
		if (!(m->http = http_engine_new(&hc, &e))) {
			char *s = aws_error_format(&e);
			buf_puts(why, s);
			free(s);
			aws_error_clear(&e);
			return -1;
		}
	}
	m->calls++;
	http_request_init(&r);
	r.method = method;
	r.url = xstrdup(url);
	r.max_body = max_body;
	/* room for the whole body up front: no copy of it is left behind
	 * by a realloc */
	grow((void **)&r.resp_body.data, &r.resp_body.cap, max_body + 1, 1);
	r.resp_body.data[0] = '\0';
	sigv4_headers_add(&r.headers, "User-Agent", "rapid/" RAPID_VERSION);
	for (size_t i = 0; headers && headers[i]; i += 2)
		sigv4_headers_add(&r.headers, headers[i], headers[i + 1]);
	if (http_do(m->http, &r) < 0 && r.error->kind != AWS_ERR_SERVICE) {
		if (r.error->kind == AWS_ERR_RESPONSE)
			buf_printf(why, "the response is larger than %zu bytes", max_body);
		else
			buf_puts(why, r.error->message ? r.error->message : "no answer");
		goto out;
	}
	*status = r.status;
	*body = r.resp_body;
	memset(&r.resp_body, 0, sizeof(r.resp_body));
	ret = 0;
out:
	/* the headers are zeroed by http_request_free (sigv4_headers_free) */
	aws_meta_body_free(&r.resp_body);
	http_request_free(&r);
	return ret;
}

/* ---- IMDSv2 ---- */

bool aws_meta_imds_disabled(void)
{
	const char *v = getenv("AWS_EC2_METADATA_DISABLED");
	return v && !strcasecmp(v, "true");
}

static const char *env(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

char *aws_meta_imds_base(const struct aws_config *cfg)
{
	const char *base = env("AWS_EC2_METADATA_SERVICE_ENDPOINT");
	if (!base && cfg && (base = aws_config_get(cfg, "ec2_metadata_service_endpoint")) && !*base)
		base = NULL;
	if (!base) {
		const char *mode = env("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
		if (!mode && cfg)
			mode = aws_config_get(cfg, "ec2_metadata_service_endpoint_mode");
		base = mode && !strcasecmp(mode, "IPv6") ? IMDS_V6 : IMDS_V4;
	}
	size_t n = strlen(base);
	while (n > 0 && base[n - 1] == '/')
		n--;
	return xstrndup(base, n);
}

int aws_meta_imds_token(struct aws_meta *m, const char *base, char **token, struct buf *why)
{
	static const char *const headers[3] = {"X-aws-ec2-metadata-token-ttl-seconds", "21600"};
	char *url = xasprintf("%s/latest/api/token", base);
	struct buf b = {0};
	long status;
	int ret = AWS_META_FAILED;

	*token = NULL;
	if (aws_meta_call(m, "PUT", url, headers, IMDS_TOKEN_MAX, &status, &b, why) < 0) {
		ret = AWS_META_ABSENT;
		goto out;
	}
	if (status != 200) {
		buf_printf(why, "HTTP %ld", status);
		goto out;
	}
	size_t n = strlen(b.data);
	if (n == 0 || n != b.len) {
		buf_puts(why, n ? "the IMDSv2 token contains a NUL byte" : "the IMDSv2 token is empty");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)b.data[i] <= ' ' || (unsigned char)b.data[i] >= 0x7f) {
			buf_puts(why, "the IMDSv2 token contains a space, a control character or a non-ASCII byte");
			goto out;
		}
	}
	*token = xstrdup(b.data);
	ret = AWS_META_OK;
out:
	aws_meta_body_free(&b);
	free(url);
	return ret;
}

int aws_meta_imds_get(struct aws_meta *m, const char *base, const char *token, const char *path, long *status,
		      struct buf *body, struct buf *why)
{
	const char *headers[3] = {"X-aws-ec2-metadata-token", token};
	char *url = xasprintf("%s%s", base, path);
	int ret = aws_meta_call(m, "GET", url, headers, 64 * 1024, status, body, why);
	free(url);
	return ret;
}

/* ---- ECS task metadata v4 ---- */

static bool is_digest(const char *s)
{
	if (strncmp(s, "sha256:", 7))
		return false;
	size_t n = 0;
	for (s += 7; s[n]; n++)
		if (!isxdigit((unsigned char)s[n]) || isupper((unsigned char)s[n]))
			return false;
	return n == 64;
}

int aws_meta_ecs_image(struct aws_meta *m, const char *uri, char **image_id, char **image, struct buf *why)
{
	static const char *const headers[3] = {"Accept", "application/json"};
	struct buf b = {0};
	long status;
	int ret = -1;
	cJSON *j = NULL;

	*image_id = *image = NULL;
	if (aws_meta_call(m, "GET", uri, headers, ECS_MAX_BODY, &status, &b, why) < 0)
		goto out;
	if (status != 200) {
		buf_printf(why, "HTTP %ld", status);
		goto out;
	}
	j = cJSON_ParseWithLength(b.data, b.len);
	if (!cJSON_IsObject(j)) {
		buf_puts(why, "the response is not a JSON object");
		goto out;
	}
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "ImageID");
	const cJSON *im = cJSON_GetObjectItemCaseSensitive(j, "Image");
	if (!cJSON_IsString(id) || !is_digest(id->valuestring)) {
		buf_puts(why, id ? "ImageID is not sha256:<64 hex digits>" : "the response has no ImageID");
		goto out;
	}
	*image_id = xstrdup(id->valuestring);
	if (cJSON_IsString(im) && *im->valuestring)
		*image = xstrdup(im->valuestring);
	ret = 0;
out:
	cJSON_Delete(j);
	aws_meta_body_free(&b);
	return ret;
}
