/* creds.c - owns where AWS credentials come from and how long they are
 * trusted. The chain is the AWS CLI's, minus what rapid does not do yet
 * (assume-role, SSO, credential_process, web identity: a profile that asks
 * for those is an error with a hint rather than a silent fall-through).
 *
 * Every source writes its failure into a struct aws_error and the caller
 * reports it once. No message carries a secret key, a session token, a
 * container authorization token or an IMDS token: values are only ever
 * described by the name of the variable, field or file they came from.
 *
 * Container credentials and IMDS are asked through aws/meta.h (the HTTP
 * engine, one attempt, short timeouts), one client per resolution: the
 * caller's engine may be in the middle of running the request that needs
 * the credentials. */
#include "aws/creds.h"
#include "aws/config.h"
#include "aws/date.h"
#include "aws/meta.h"
#include "lib/util.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define NS_PER_S INT64_C(1000000000)
#define MAX_BODY (64 * 1024)      /* credentials JSON is ~1.5 KiB */
#define MAX_KEY_ID 128            /* IAM's limit */
#define MAX_SECRET 1024           /* AWS: 40; emulators choose their own */
#define MAX_TOKEN (32 * 1024)     /* STS tokens are a few KiB */
#define MAX_AUTH_TOKEN (16 * 1024)
#define RETRY_NS (30 * NS_PER_S)
#define CONTAINER_HOST "http://169.254.170.2"
#define IMDS_CREDS_PATH "/latest/meta-data/iam/security-credentials/"

enum source { SRC_NONE, SRC_ENV, SRC_PROFILE, SRC_CONTAINER, SRC_IMDS };

/* What one source did. */
enum { FOUND, ABSENT, FAILED };

/* One walk of the chain: its configuration and, once a metadata service
 * is asked, its client. */
struct chain {
	const struct aws_config *cfg;
	struct aws_meta *meta;
};

/* err := "cannot <what>: <why>" (what formatted, naming object). */
static void fail_with(struct aws_error *err, const char *object, const char *why, const char *what, ...)
	__attribute__((format(printf, 4, 5)));
static void fail_with(struct aws_error *err, const char *object, const char *why, const char *what, ...)
{
	struct buf b = {0};
	va_list ap;
	aws_error_set(err, AWS_ERR_CREDENTIALS, "%s", why);
	va_start(ap, what);
	buf_vprintf(&b, what, ap);
	va_end(ap);
	aws_error_whatf(err, object, "%s", b.data);
	buf_free(&b);
}

static const char *env(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

static void cleanse_free(char *s)
{
	if (s) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

void aws_creds_free(struct aws_creds *c)
{
	free(c->access_key_id);
	cleanse_free(c->secret_access_key);
	cleanse_free(c->session_token);
	free(c->source);
	memset(c, 0, sizeof *c);
}

void aws_creds_copy(struct aws_creds *dst, const struct aws_creds *src)
{
	dst->access_key_id = xstrdup(src->access_key_id);
	dst->secret_access_key = xstrdup(src->secret_access_key);
	dst->session_token = src->session_token ? xstrdup(src->session_token) : NULL;
	dst->expiration = src->expiration;
	dst->source = xstrdup(src->source);
}

char *aws_creds_describe(const struct aws_creds *c)
{
	const char *k = c->access_key_id ? c->access_key_id : "";
	size_t n = strlen(k);
	/* a short id would be shown whole: show none of it */
	return xasprintf("%s (access key ****%s)", c->source ? c->source : "unknown", n >= 8 ? k + n - 4 : "");
}

/* ---- time ---- */

/* 2201-01-01T00:00:00Z: later expirations are taken as garbage. */
#define LATEST_EXPIRATION (INT64_C(7289654400) * NS_PER_S)

int aws_creds_parse_expiration(const char *s, int64_t *ns)
{
	int64_t t;
	if (aws_date_parse(s, AWS_DATE_ISO | AWS_DATE_ISO_SPACE, &t) < 0 || t < 0 || t >= LATEST_EXPIRATION)
		return -1;
	*ns = t;
	return 0;
}

static void put_time(struct buf *b, int64_t ns)
{
	char t[32];
	format_time(ns, t);
	buf_puts(b, t);
}

/* ---- checks that never echo the value ---- */

/* A value that will go into an HTTP header or a signature: non-empty,
 * bounded, printable ASCII without spaces. 0, or -1 with why written. */
static int check_value(const char *what, const char *v, size_t max, struct buf *why)
{
	size_t n = strlen(v);
	if (n == 0) {
		buf_printf(why, "%s is empty", what);
		return -1;
	}
	if (n > max) {
		buf_printf(why, "%s is longer than %zu characters", what, max);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)v[i] <= ' ' || (unsigned char)v[i] >= 0x7f) {
			buf_printf(why, "%s contains a space, a control character or a non-ASCII byte", what);
			return -1;
		}
	}
	return 0;
}

/* Fill out from the three values (borrowed) after checking them; the
 * names say where each came from. FOUND, or FAILED with why written. */
static int make_creds(const char *id, const char *secret, const char *token, const char *const names[3],
                      struct buf *why, struct aws_creds *out)
{
	if (check_value(names[0], id, MAX_KEY_ID, why) < 0 || check_value(names[1], secret, MAX_SECRET, why) < 0 ||
	    (token && check_value(names[2], token, MAX_TOKEN, why) < 0))
		return FAILED;
	out->access_key_id = xstrdup(id);
	out->secret_access_key = xstrdup(secret);
	out->session_token = token ? xstrdup(token) : NULL;
	return FOUND;
}

/* ---- environment ---- */

static int from_env(struct aws_creds *out, struct aws_error *err)
{
	static const char *const names[3] = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"};
	const char *id = env("AWS_ACCESS_KEY_ID"), *secret = env("AWS_SECRET_ACCESS_KEY");
	const char *token = env("AWS_SESSION_TOKEN"), *exp = env("AWS_CREDENTIAL_EXPIRATION");
	struct buf why = {0};
	int ret = FAILED;

	if (!id && !secret)
		return ABSENT;
	if (!token)
		token = env("AWS_SECURITY_TOKEN"); /* the older name */
	if (!id || !secret)
		buf_printf(&why, "%s is set but %s is not", id ? names[0] : names[1], id ? names[1] : names[0]);
	else if (exp && aws_creds_parse_expiration(exp, &out->expiration) < 0)
		buf_printf(&why, "AWS_CREDENTIAL_EXPIRATION '%.64s' is not an ISO 8601 time like 2024-05-01T12:00:00Z",
		           exp);
	else
		ret = make_creds(id, secret, token, names, &why, out);
	if (ret == FOUND)
		out->source = xstrdup("environment");
	else
		fail_with(err, NULL, why.data, "use AWS credentials from the environment");
	buf_free(&why);
	return ret;
}

/* ---- profile files ---- */

static int from_profile(const struct aws_config *cfg, struct aws_creds *out, struct aws_error *err)
{
	static const char *const names[3] = {"aws_access_key_id", "aws_secret_access_key", "aws_session_token"};
	static const char *const unsupported[] = {"role_arn", "credential_process", "sso_session", "sso_start_url",
	                                          "web_identity_token_file"};
	if (!cfg)
		return ABSENT;
	const char *prof = aws_config_profile(cfg);
	const char *id = aws_config_get(cfg, names[0]), *secret = aws_config_get(cfg, names[1]);
	const char *token = aws_config_get(cfg, names[2]);

	if (id && !*id)
		id = NULL;
	if (secret && !*secret)
		secret = NULL;
	if (token && !*token)
		token = NULL;
	if (!token && (token = aws_config_get(cfg, "aws_security_token")) && !*token)
		token = NULL;
	for (size_t i = 0; i < ARRAY_LEN(unsupported); i++) {
		const char *v = aws_config_get(cfg, unsupported[i]);
		if (v && *v) {
			char *why = xasprintf("rapid does not support %s yet; export credentials with "
			                      "'aws configure export-credentials --profile %s --format env'",
			                      unsupported[i], prof);
			fail_with(err, prof, why, "use profile '%s'", prof);
			free(why);
			return FAILED;
		}
	}
	if (!id && !secret)
		return ABSENT;
	struct buf why = {0};
	int ret = FAILED;
	if (!id || !secret)
		buf_printf(&why, "%s is set but %s is not", id ? names[0] : names[1], id ? names[1] : names[0]);
	else
		ret = make_creds(id, secret, token, names, &why, out);
	if (ret == FOUND)
		out->source = xasprintf("profile %s", prof);
	else
		fail_with(err, prof, why.data, "use AWS credentials of profile '%s'", prof);
	buf_free(&why);
	return ret;
}

/* ---- HTTP, through the engine ---- */

/* method url with headers: aws_meta_call, keeping MAX_BODY bytes. */
static int http_call(struct chain *ch, const char *method, const char *url, const char *const *headers,
                     long *status, struct buf *body, struct buf *why)
{
	if (!ch->meta)
		ch->meta = aws_meta_new(1000, 5000);
	return aws_meta_call(ch->meta, method, url, headers, MAX_BODY, status, body, why);
}

#define body_free aws_meta_body_free

/* Zero every string of a parsed document before it is freed. */
static void json_cleanse(cJSON *j)
{
	for (; j; j = j->next) {
		if (j->valuestring)
			OPENSSL_cleanse(j->valuestring, strlen(j->valuestring));
		json_cleanse(j->child);
	}
}

/* A string member of obj; NULL with why written when it is missing or not
 * a string. */
static const char *json_str(const cJSON *obj, const char *name, struct buf *why)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
	if (!v) {
		buf_printf(why, "the response has no %s", name);
		return NULL;
	}
	if (!cJSON_IsString(v) || !v->valuestring) {
		buf_printf(why, "%s is not a string", name);
		return NULL;
	}
	return v->valuestring;
}

/* Credentials from a container or IMDS JSON document. FOUND, or FAILED with
 * why written. */
static int parse_creds_json(const struct buf *b, int imds, struct aws_creds *out, struct buf *why)
{
	static const char *const names[3] = {"AccessKeyId", "SecretAccessKey", "Token"};
	cJSON *j = cJSON_ParseWithLength(b->data ? b->data : "", b->len);
	const char *id, *secret, *token, *exp;
	int ret = FAILED;

	if (!j) {
		buf_puts(why, "the response is not valid JSON");
		return FAILED;
	}
	if (!cJSON_IsObject(j)) {
		buf_puts(why, "the response is not a JSON object");
		goto out;
	}
	if (imds) {
		const cJSON *code = cJSON_GetObjectItemCaseSensitive(j, "Code");
		if (code && (!cJSON_IsString(code) || strcmp(code->valuestring, "Success"))) {
			buf_printf(why, "Code is '%.64s', not 'Success'", cJSON_IsString(code) ? code->valuestring : "?");
			goto out;
		}
	}
	if (!(id = json_str(j, names[0], why)) || !(secret = json_str(j, names[1], why)) ||
	    !(token = json_str(j, names[2], why)) || !(exp = json_str(j, "Expiration", why)))
		goto out;
	if (aws_creds_parse_expiration(exp, &out->expiration) < 0) {
		buf_printf(why, "Expiration '%.64s' is not an ISO 8601 time between 1970 and 2200", exp);
		goto out;
	}
	ret = make_creds(id, secret, token, names, why, out);
out:
	json_cleanse(j);
	cJSON_Delete(j);
	return ret;
}

/* GET a credentials document from url and decode it into out. FOUND, or
 * FAILED with err written. b and why are the caller's scratch. */
static int fetch_creds(struct chain *ch, const char *url, const char *const *headers, int imds,
		       const char *source, struct buf *b, struct buf *why,
		       struct aws_creds *out, struct aws_error *err)
{
	long status;
	if (http_call(ch, "GET", url, headers, &status, b, why) < 0) {
		fail_with(err, url, why->data, "get AWS credentials from '%s'", url);
		return FAILED;
	}
	if (status != 200) {
		char *m = xasprintf("HTTP %ld", status);
		fail_with(err, url, m, "get AWS credentials from '%s'", url);
		free(m);
		return FAILED;
	}
	if (parse_creds_json(b, imds, out, why) != FOUND) {
		aws_creds_free(out);
		fail_with(err, url, why->data, "get AWS credentials from '%s'", url);
		return FAILED;
	}
	out->source = xstrdup(source);
	return FOUND;
}


/* ---- container credentials ---- */

/* http:// is allowed for loopback and for the ECS and EKS agent addresses
 * only, as the AWS CLI does: anywhere else the token would travel in the
 * clear. */
static int allowed_http_host(const char *url)
{
	const char *h = url + strlen("http://");
	char host[256];
	size_t n;
	if (*h == '[') {
		n = strcspn(++h, "]");
	} else {
		n = strcspn(h, ":/");
	}
	if (n == 0 || n >= sizeof host)
		return 0;
	memcpy(host, h, n);
	host[n] = '\0';
	if (!strcasecmp(host, "localhost"))
		return 1;
	unsigned char a[16], want[16];
	if (inet_pton(AF_INET, host, a) == 1)
		return a[0] == 127 || !strcmp(host, "169.254.170.2") || !strcmp(host, "169.254.170.23");
	if (inet_pton(AF_INET6, host, a) == 1) {
		inet_pton(AF_INET6, "::1", want);
		if (!memcmp(a, want, 16))
			return 1;
		inet_pton(AF_INET6, "fd00:ec2::23", want);
		return !memcmp(a, want, 16);
	}
	return 0;
}

/* The authorization token from a file (re-read every time: EKS rotates
 * it), trailing white space dropped. NULL with why written. */
static char *read_token_file(const char *path, struct buf *why)
{
	char *tok = xmalloc(MAX_AUTH_TOKEN + 1);
	size_t len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		buf_printf(why, "cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE '%s': %s", path, strerror(errno));
		goto fail;
	}
	for (;;) {
		ssize_t n = read(fd, tok + len, MAX_AUTH_TOKEN + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			buf_printf(why, "cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE '%s': %s", path,
			           strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > MAX_AUTH_TOKEN) {
			buf_printf(why, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE '%s' is larger than %d bytes", path,
			           MAX_AUTH_TOKEN);
			goto fail;
		}
	}
	close(fd);
	while (len > 0 && isspace((unsigned char)tok[len - 1]))
		len--;
	tok[len] = '\0';
	return tok;
fail:
	if (fd >= 0)
		close(fd);
	OPENSSL_cleanse(tok, MAX_AUTH_TOKEN + 1);
	free(tok);
	return NULL;
}

/* Unlike keys, the token may hold spaces ("Bearer …"); a line break
 * would end the header and start another. */
static int check_auth_token(const char *t, struct buf *why)
{
	size_t n = strlen(t);
	if (n == 0 || n > MAX_AUTH_TOKEN) {
		buf_printf(why, "the authorization token is %s", n ? "too long" : "empty");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (((unsigned char)t[i] < ' ' && t[i] != '\t') || t[i] == 0x7f) {
			buf_puts(why, "the authorization token contains a line break or a control character");
			return -1;
		}
	}
	return 0;
}

static int from_container(struct chain *ch, struct aws_creds *out, struct aws_error *err)
{
	const char *rel = env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	const char *full = env("AWS_CONTAINER_CREDENTIALS_FULL_URI");
	char *url = NULL, *token = NULL;
	const char *headers[5] = {"Accept", "application/json"};
	struct buf b = {0};
	struct buf why = {0};
	int ret = FAILED;

	if (!rel && !full)
		return ABSENT;
	if (rel) {
		url = xasprintf(CONTAINER_HOST "%s", rel);
		if (rel[0] != '/') {
			fail_with(err, rel, "it must start with '/'", "use AWS_CONTAINER_CREDENTIALS_RELATIVE_URI '%.200s'",
			          rel);
			goto out;
		}
	} else {
		url = xstrdup(full);
		if (!strncasecmp(full, "http://", 7) ? !allowed_http_host(full) : strncasecmp(full, "https://", 8)) {
			fail_with(err, full, "it must be https, or http on loopback or the ECS/EKS agent address",
			          "use AWS_CONTAINER_CREDENTIALS_FULL_URI '%.200s'", full);
			goto out;
		}
		const char *file = env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
		if (file) {
			if (!(token = read_token_file(file, &why))) {
				fail_with(err, url, why.data, "get AWS credentials from '%s'", url);
				goto out;
			}
		} else if (env("AWS_CONTAINER_AUTHORIZATION_TOKEN")) {
			token = xstrdup(env("AWS_CONTAINER_AUTHORIZATION_TOKEN"));
		}
		if (token && check_auth_token(token, &why) < 0) {
			fail_with(err, url, why.data, "get AWS credentials from '%s'", url);
			goto out;
		}
		if (token) {
			headers[2] = "Authorization";
			headers[3] = token;
		}
	}
	ret = fetch_creds(ch, url, headers, 0, "container", &b, &why, out, err);
out:
	body_free(&b);
	cleanse_free(token);
	buf_free(&why);
	free(url);
	return ret;
}

/* ---- EC2 instance metadata, IMDSv2 ---- */

static int is_role_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 128)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("+=,.@_-", s[i]))
			return 0;
	return 1;
}

/* ABSENT when the service does not answer (not on EC2) or the instance has
 * no role; the reason goes to note for the final message. */
static int from_imds(struct chain *ch, struct aws_creds *out, struct aws_error *err, struct buf *note)
{
	char *base = NULL, *url = NULL, *token = NULL, *role = NULL, *status_why = NULL;
	const char *headers[3] = {NULL};
	struct buf b = {0};
	struct buf why = {0};
	long status;
	int ret = FAILED;

	if (aws_meta_imds_disabled()) {
		buf_puts(note, "IMDS (disabled by AWS_EC2_METADATA_DISABLED)");
		return ABSENT;
	}
	base = aws_meta_imds_base(ch->cfg);
	if (!ch->meta)
		ch->meta = aws_meta_new(1000, 5000);
	int t = aws_meta_imds_token(ch->meta, base, &token, &why);
	if (t == AWS_META_ABSENT) {
		buf_printf(note, "IMDS ('%s': %s)", base, why.data);
		ret = ABSENT;
		goto out;
	}
	if (t != AWS_META_OK) {
		url = xasprintf("%s/latest/api/token", base);
		fail_with(err, url, why.data, "get an IMDSv2 token from '%s'", url);
		goto out;
	}
	headers[0] = "X-aws-ec2-metadata-token";
	headers[1] = token;

	url = xasprintf("%s" IMDS_CREDS_PATH, base);
	if (aws_meta_imds_get(ch->meta, base, token, IMDS_CREDS_PATH, &status, &b, &why) < 0) {
		fail_with(err, url, why.data, "get the instance's role from '%s'", url);
		goto out;
	}
	if (status == 404) {
		buf_printf(note, "IMDS ('%s': the instance has no IAM role)", base);
		ret = ABSENT;
		goto out;
	}
	if (status != 200) {
		status_why = xasprintf("HTTP %ld", status);
		fail_with(err, url, status_why, "get the instance's role from '%s'", url);
		goto out;
	}
	role = xstrndup(b.data, strcspn(b.data, "\r\n"));
	body_free(&b);
	if (!is_role_name(role)) {
		fail_with(err, url, "the response is not a role name", "get the instance's role from '%s'", url);
		goto out;
	}

	free(url);
	url = xasprintf("%s" IMDS_CREDS_PATH "%s", base, role);
	ret = fetch_creds(ch, url, headers, 1, "imds", &b, &why, out, err);
out:
	body_free(&b);
	cleanse_free(token);
	buf_free(&why);
	free(status_why);
	free(role);
	free(url);
	free(base);
	return ret;
}

/* ---- the chain ---- */

/* One source. FOUND, ABSENT (a fragment in note) or FAILED (err). */
static int try_source(enum source s, struct chain *ch, struct aws_creds *out, struct aws_error *err,
                      struct buf *note)
{
	int r = ABSENT;
	switch (s) {
	case SRC_ENV:
		if ((r = from_env(out, err)) == ABSENT)
			buf_puts(note, "the environment");
		break;
	case SRC_PROFILE:
		if ((r = from_profile(ch->cfg, out, err)) == ABSENT && ch->cfg)
			buf_printf(note, "profile '%s'", aws_config_profile(ch->cfg));
		break;
	case SRC_CONTAINER:
		if ((r = from_container(ch, out, err)) == ABSENT)
			buf_puts(note, "container credentials");
		break;
	case SRC_IMDS:
		r = from_imds(ch, out, err, note);
		break;
	case SRC_NONE:
		break;
	}
	if (r != FOUND)
		aws_creds_free(out);
	return r;
}

/* Walk the chain, or only source `only` if it is not SRC_NONE. 0 with
 * *got set, or -1 with err. */
static int resolve(const struct aws_config *cfg, int64_t now, enum source only, struct aws_creds *out,
                   enum source *got, struct aws_error *err)
{
	static const enum source order[] = {SRC_ENV, SRC_PROFILE, SRC_CONTAINER, SRC_IMDS};
	struct chain ch = {.cfg = cfg};
	struct buf note = {0};
	int ret = -1;

	memset(out, 0, sizeof *out);
	for (size_t i = 0; i < ARRAY_LEN(order); i++) {
		enum source s = order[i];
		if (only != SRC_NONE ? s != only : s == SRC_ENV && cfg && aws_config_profile_explicit(cfg))
			continue;
		size_t mark = note.len;
		if (mark)
			buf_puts(&note, ", ");
		int r = try_source(s, &ch, out, err, &note);
		if (r == ABSENT) {
			if (note.len == mark + 2) /* nothing said: drop the comma */
				note.len = mark, note.data[mark] = '\0';
			continue;
		}
		if (r == FAILED)
			goto out;
		if (out->expiration && out->expiration <= now) {
			char *d = aws_creds_describe(out);
			struct buf why = {0};
			buf_puts(&why, "they expired at ");
			put_time(&why, out->expiration);
			fail_with(err, NULL, why.data, "use AWS credentials from %s", d);
			buf_free(&why);
			free(d);
			aws_creds_free(out);
			goto out;
		}
		*got = s;
		ret = 0;
		goto out;
	}
	if (only != SRC_NONE) {
		char *why = xasprintf("they are no longer in %s", note.data ? note.data : "any source");
		fail_with(err, NULL, why, "refresh AWS credentials");
		free(why);
	} else {
		char *why = xasprintf("none in %s", note.len ? note.data : "any source");
		fail_with(err, NULL, why, "find AWS credentials");
		free(why);
	}
out:
	aws_meta_free(ch.meta);
	buf_free(&note);
	return ret;
}

int aws_creds_resolve(const struct aws_config *cfg, int64_t now, struct aws_creds *out, struct aws_error *err)
{
	enum source got;
	return resolve(cfg, now, SRC_NONE, out, &got, err);
}

/* ---- the caching provider ---- */

struct aws_creds_provider {
	pthread_mutex_t mu;
	const struct aws_config *cfg;
	int64_t (*now)(void *);
	void *now_arg;
	struct aws_creds cur;
	enum source src; /* SRC_NONE until resolved */
	int64_t retry_at;
	unsigned fetches;
};

static int64_t default_now(void *arg)
{
	(void)arg;
	return now_ns();
}

struct aws_creds_provider *aws_creds_provider_new(const struct aws_config *cfg)
{
	struct aws_creds_provider *p = xcalloc(1, sizeof *p);
	pthread_mutex_init(&p->mu, NULL);
	p->cfg = cfg;
	p->now = default_now;
	return p;
}

void aws_creds_provider_set_clock(struct aws_creds_provider *p, int64_t (*now)(void *arg), void *arg)
{
	pthread_mutex_lock(&p->mu);
	p->now = now ? now : default_now;
	p->now_arg = now ? arg : NULL;
	pthread_mutex_unlock(&p->mu);
}

int aws_creds_provider_get(struct aws_creds_provider *p, struct aws_creds *out, struct aws_error *err)
{
	struct aws_creds fresh;
	enum source got = SRC_NONE;
	int ret = -1;

	memset(out, 0, sizeof *out);
	pthread_mutex_lock(&p->mu);
	int64_t now = p->now(p->now_arg);
	int valid = p->src != SRC_NONE && (!p->cur.expiration || now < p->cur.expiration);
	if (valid && (!p->cur.expiration || now < p->cur.expiration - AWS_CREDS_REFRESH_NS || now < p->retry_at)) {
		aws_creds_copy(out, &p->cur);
		ret = 0;
		goto out;
	}
	__atomic_add_fetch(&p->fetches, 1, __ATOMIC_RELAXED);
	if (resolve(p->cfg, now, p->src, &fresh, &got, err) == 0) {
		aws_creds_free(&p->cur);
		p->cur = fresh;
		p->src = got;
		/* a source that keeps handing out credentials about to expire
		 * is asked again in 30 s, not on every request */
		p->retry_at = now + RETRY_NS;
		aws_creds_copy(out, &p->cur);
		ret = 0;
	} else if (valid) {
		struct buf until = {0};
		buf_puts(&until, "; using the current ones until they expire at ");
		put_time(&until, p->cur.expiration);
		aws_error_notef(err, "%s", until.data);
		buf_free(&until);
		p->retry_at = now + RETRY_NS;
		aws_creds_copy(out, &p->cur);
		ret = 0;
	}
out:
	pthread_mutex_unlock(&p->mu);
	return ret;
}

unsigned aws_creds_provider_fetches(const struct aws_creds_provider *p)
{
	return __atomic_load_n(&p->fetches, __ATOMIC_RELAXED);
}

void aws_creds_provider_free(struct aws_creds_provider *p)
{
	if (!p)
		return;
	aws_creds_free(&p->cur);
	pthread_mutex_destroy(&p->mu);
	free(p);
}
