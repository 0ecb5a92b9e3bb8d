/* config.c - owns the AWS CLI's shared files and everything derived from
 * them and the environment without a network: which profile, which region,
 * which endpoint, and how an S3 bucket is addressed.
 *
 * The INI dialect is the AWS CLI's (Python configparser, raw): "[section]",
 * "key = value" or "key: value", keys case-insensitive, whole-line comments
 * with '#' or ';'. We are lenient where configparser would refuse the whole
 * file (text before the first section, lines without '='): those lines are
 * skipped so one odd line does not hide a working profile. A " #" or " ;"
 * after a value starts a comment (AWS keys and tokens never contain one). */
#include "aws/config.h"
#include "aws/http.h"
#include "lib/util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_FILE_SIZE (16u << 20)

struct kv {
	char *key, *val;
};

struct section {
	char *name;
	struct kv *kv;
	size_t n, cap;
};

struct aws_ini {
	struct section *s;
	size_t n, cap;
};

struct aws_config {
	char *profile;
	int explicit_profile;
	char *path[2];
	struct aws_ini *ini[2];
};

/* ---- INI ---- */

static void cleanse_free(char *s)
{
	if (s) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

static struct section *ini_section(const struct aws_ini *ini, const char *name)
{
	if (!ini)
		return NULL;
	for (size_t i = 0; i < ini->n; i++)
		if (!strcmp(ini->s[i].name, name))
			return &ini->s[i];
	return NULL;
}

static struct section *ini_add_section(struct aws_ini *ini, const char *name)
{
	struct section *s = ini_section(ini, name);
	if (s) /* a repeated section adds to the first one */
		return s;
	GROW(ini->s, ini->cap, ini->n + 1);
	s = &ini->s[ini->n++];
	memset(s, 0, sizeof *s);
	s->name = xstrdup(name);
	return s;
}

static void section_set(struct section *s, char *key, char *val)
{
	for (size_t i = 0; i < s->n; i++) {
		if (!strcmp(s->kv[i].key, key)) {
			free(key);
			cleanse_free(s->kv[i].val);
			s->kv[i].val = val;
			return;
		}
	}
	GROW(s->kv, s->cap, s->n + 1);
	s->kv[s->n].key = key;
	s->kv[s->n].val = val;
	s->n++;
}

static int is_blank(int c)
{
	return c == ' ' || c == '\t' || c == '\f' || c == '\v';
}

/* [p, e) without surrounding blanks. */
static void trim(const char **p, const char **e)
{
	while (*p < *e && is_blank((unsigned char)**p))
		(*p)++;
	while (*e > *p && is_blank((unsigned char)(*e)[-1]))
		(*e)--;
}

/* Split "key = value" in [p, e); the key lowercased, the value without an
 * inline comment. 0, or -1 if the line has no delimiter or an empty key. */
static int parse_pair(const char *p, const char *e, char **key, char **val)
{
	const char *d = p;
	while (d < e && *d != '=' && *d != ':')
		d++;
	if (d == e)
		return -1;
	const char *kp = p, *ke = d;
	trim(&kp, &ke);
	if (kp == ke)
		return -1;
	const char *vp = d + 1, *ve = e;
	for (const char *c = vp; c < ve; c++) {
		if ((*c == '#' || *c == ';') && c > vp && is_blank((unsigned char)c[-1])) {
			ve = c;
			break;
		}
	}
	trim(&vp, &ve);
	*key = xstrndup(kp, (size_t)(ke - kp));
	for (char *c = *key; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	*val = xstrndup(vp, (size_t)(ve - vp));
	return 0;
}

struct aws_ini *aws_ini_parse(const char *text, size_t len)
{
	struct aws_ini *ini = xcalloc(1, sizeof *ini);
	struct section *cur = NULL;
	char *parent = NULL;       /* last key of cur, for nested lines */
	int parent_empty = 0;      /* its value was empty: nested lines follow */
	size_t parent_indent = 0;
	const char *p = text, *end = text + len;

	if (len >= 3 && !memcmp(p, "\xef\xbb\xbf", 3))
		p += 3;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		const char *next = nl ? nl + 1 : end;
		const char *s = p;
		while (le > s && (le[-1] == '\r'))
			le--;
		while (s < le && is_blank((unsigned char)*s))
			s++;
		size_t indent = (size_t)(s - p);
		p = next;
		if (s == le || *s == '#' || *s == ';')
			continue;
		if (indent > 0 && cur && parent && indent > parent_indent) {
			/* a continuation: nested "sub = value" under an empty key,
			 * else more lines of a multi-line value, which we ignore */
			char *k, *v;
			if (parent_empty && parse_pair(s, le, &k, &v) == 0) {
				char *full = xasprintf("%s.%s", parent, k);
				free(k);
				section_set(cur, full, v);
			}
			continue;
		}
		free(parent);
		parent = NULL;
		if (*s == '[') {
			const char *close = le;
			while (close > s && close[-1] != ']')
				close--;
			cur = NULL;
			if (close == s) /* no ']': not a section, skip it */
				continue;
			const char *np = s + 1, *ne = close - 1;
			trim(&np, &ne);
			if (np == ne)
				continue;
			char *name;
			if (ne - np > 7 && !memcmp(np, "profile", 7) && is_blank((unsigned char)np[7])) {
				const char *rp = np + 7;
				trim(&rp, &ne);
				name = xasprintf("profile %.*s", (int)(ne - rp), rp);
			} else {
				name = xstrndup(np, (size_t)(ne - np));
			}
			cur = ini_add_section(ini, name);
			free(name);
			continue;
		}
		if (!cur)
			continue;
		char *k, *v;
		if (parse_pair(s, le, &k, &v) < 0)
			continue;
		parent = xstrdup(k);
		parent_empty = !*v;
		parent_indent = indent;
		section_set(cur, k, v);
	}
	free(parent);
	return ini;
}

int aws_ini_has_section(const struct aws_ini *ini, const char *section)
{
	return ini_section(ini, section) != NULL;
}

const char *aws_ini_get(const struct aws_ini *ini, const char *section, const char *key)
{
	const struct section *s = ini_section(ini, section);
	if (!s)
		return NULL;
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->kv[i].key, key))
			return s->kv[i].val;
	return NULL;
}

void aws_ini_free(struct aws_ini *ini)
{
	if (!ini)
		return;
	for (size_t i = 0; i < ini->n; i++) {
		struct section *s = &ini->s[i];
		for (size_t j = 0; j < s->n; j++) {
			free(s->kv[j].key);
			cleanse_free(s->kv[j].val);
		}
		free(s->kv);
		free(s->name);
	}
	free(ini->s);
	free(ini);
}

/* ---- shared files ---- */

static const char *env(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

static char *home_dir(void)
{
	const char *h = env("HOME");
	if (h)
		return xstrdup(h);
	struct passwd pw, *res = NULL;
	char tmp[4096];
	if (getpwuid_r(getuid(), &pw, tmp, sizeof tmp, &res) == 0 && res && res->pw_dir && *res->pw_dir)
		return xstrdup(res->pw_dir);
	return NULL;
}

/* The file named by env var, with "~/" expanded, else ~/.aws/<name>. */
static char *shared_path(const char *var, const char *name, const char *home)
{
	const char *v = env(var);
	if (v && v[0] == '~' && (v[1] == '/' || !v[1]))
		return home ? xasprintf("%s%s", home, v + 1) : NULL;
	if (v)
		return xstrdup(v);
	return home ? xasprintf("%s/.aws/%s", home, name) : NULL;
}

/* Read and parse path into *out; a missing file leaves *out NULL. The raw
 * text is zeroed before it is freed: it holds secret keys. */
static int load_ini(const char *path, struct aws_ini **out, struct aws_error *err)
{
	int ret = -1, fd = -1;
	char *data = NULL;
	size_t len = 0, cap = 0;
	struct stat st;

	*out = NULL;
	if (!path)
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		aws_error_set(err, AWS_ERR_CONFIG, "%s", strerror(errno));
		aws_error_what(err, "read", path);
		return -1;
	}
	if (fstat(fd, &st) < 0 || S_ISDIR(st.st_mode)) {
		aws_error_set(err, AWS_ERR_CONFIG, "%s", S_ISDIR(st.st_mode) ? "it is a folder" : strerror(errno));
		aws_error_what(err, "read", path);
		goto out;
	}
	cap = st.st_size > 0 && (size_t)st.st_size < MAX_FILE_SIZE ? (size_t)st.st_size + 1 : 4096;
	data = xmalloc(cap);
	for (;;) {
		if (len + 1 >= cap) {
			if (cap >= MAX_FILE_SIZE) {
				aws_error_set(err, AWS_ERR_CONFIG, "larger than %u MiB", MAX_FILE_SIZE >> 20);
				aws_error_what(err, "read", path);
				goto out;
			}
			char *bigger = xmalloc(cap * 2);
			memcpy(bigger, data, len);
			OPENSSL_cleanse(data, cap);
			free(data);
			data = bigger;
			cap *= 2;
		}
		ssize_t n = read(fd, data + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			aws_error_set(err, AWS_ERR_CONFIG, "%s", strerror(errno));
			aws_error_what(err, "read", path);
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	data[len] = '\0';
	*out = aws_ini_parse(data, len);
	ret = 0;
out:
	if (data) {
		OPENSSL_cleanse(data, cap);
		free(data);
	}
	if (fd >= 0)
		close(fd);
	return ret;
}

/* The config file's section for the profile: "[profile NAME]", and for the
 * default profile also "[default]". */
static const char *config_get(const struct aws_config *c, const char *profile, const char *key)
{
	char *sec = xasprintf("profile %s", profile);
	const char *v = aws_ini_get(c->ini[AWS_FILE_CONFIG], sec, key);
	free(sec);
	if (!v && !strcmp(profile, "default"))
		v = aws_ini_get(c->ini[AWS_FILE_CONFIG], "default", key);
	return v;
}

static int profile_exists(const struct aws_config *c)
{
	char *sec = xasprintf("profile %s", c->profile);
	int found = aws_ini_has_section(c->ini[AWS_FILE_CREDENTIALS], c->profile) ||
	            aws_ini_has_section(c->ini[AWS_FILE_CONFIG], sec) ||
	            (!strcmp(c->profile, "default") && aws_ini_has_section(c->ini[AWS_FILE_CONFIG], "default"));
	free(sec);
	return found;
}

struct aws_config *aws_config_load(const char *profile, struct aws_error *err)
{
	struct aws_config *c = xcalloc(1, sizeof *c);
	char *home = home_dir();
	const char *from = "--profile";

	if (profile && *profile) {
		c->explicit_profile = 1;
	} else if ((profile = env("AWS_PROFILE"))) {
		from = "AWS_PROFILE";
	} else {
		profile = "default";
		from = NULL;
	}
	c->profile = xstrdup(profile);
	c->path[AWS_FILE_CREDENTIALS] = shared_path("AWS_SHARED_CREDENTIALS_FILE", "credentials", home);
	c->path[AWS_FILE_CONFIG] = shared_path("AWS_CONFIG_FILE", "config", home);
	free(home);
	if (load_ini(c->path[AWS_FILE_CREDENTIALS], &c->ini[AWS_FILE_CREDENTIALS], err) < 0 ||
	    load_ini(c->path[AWS_FILE_CONFIG], &c->ini[AWS_FILE_CONFIG], err) < 0)
		goto fail;
	if (from && !profile_exists(c)) {
		aws_error_set(err, AWS_ERR_CONFIG, "it is in neither '%s' nor '%s'",
		              c->path[0] ? c->path[0] : "~/.aws/credentials", c->path[1] ? c->path[1] : "~/.aws/config");
		aws_error_whatf(err, c->profile, "use profile '%s' (from %s)", c->profile, from);
		goto fail;
	}
	return c;
fail:
	aws_config_free(c);
	return NULL;
}

void aws_config_free(struct aws_config *c)
{
	if (!c)
		return;
	for (int i = 0; i < 2; i++) {
		aws_ini_free(c->ini[i]);
		free(c->path[i]);
	}
	free(c->profile);
	free(c);
}

const char *aws_config_profile(const struct aws_config *c)
{
	return c->profile;
}

int aws_config_profile_explicit(const struct aws_config *c)
{
	return c->explicit_profile;
}

const char *aws_config_get(const struct aws_config *c, const char *key)
{
	if (!c)
		return NULL;
	const char *v = aws_ini_get(c->ini[AWS_FILE_CREDENTIALS], c->profile, key);
	return v ? v : config_get(c, c->profile, key);
}

const char *aws_config_path(const struct aws_config *c, enum aws_file which)
{
	return c->path[which];
}

/* ---- region ---- */

static int is_region(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-'))
			return 0;
	return 1;
}

char *aws_config_region(const struct aws_config *c, struct aws_error *err)
{
	const char *v, *from;
	char *profile_from = NULL, *ret = NULL;

	if ((v = env("AWS_REGION"))) {
		from = "AWS_REGION";
	} else if ((v = env("AWS_DEFAULT_REGION"))) {
		from = "AWS_DEFAULT_REGION";
	} else if ((v = aws_config_get(c, "region")) && *v) {
		from = profile_from = xasprintf("profile %s", c->profile);
	} else {
		const char *prof = c ? c->profile : "default";
		const char *path = c && c->path[AWS_FILE_CONFIG] ? c->path[AWS_FILE_CONFIG] : "~/.aws/config";
		aws_error_set(err, AWS_ERR_CONFIG, "set AWS_REGION, or add 'region = …' to [%s%s] in '%s'",
		              strcmp(prof, "default") ? "profile " : "", prof, path);
		aws_error_whatf(err, prof, "find the AWS region of profile '%s'", prof);
		return NULL;
	}
	if (!is_region(v)) {
		aws_error_set(err, AWS_ERR_CONFIG, "not a region name like 'eu-west-1'");
		aws_error_whatf(err, v, "use region '%s' (from %s)", v, from);
	} else
		ret = xstrdup(v);
	free(profile_from);
	return ret;
}

/* ---- endpoints ---- */

static const struct {
	const char *id, *prefix;
} services[] = {
	{"S3", "s3"},
	{"Batch", "batch"},
	{"Secrets Manager", "secretsmanager"},
	{"CloudFormation", "cloudformation"},
	{"STS", "sts"},
	{"ECR", "api.ecr"},
	{"CloudWatch Logs", "logs"},
	{"EC2", "ec2"},
	{"IAM", "iam"},
};

/* The id with spaces as '_', upper or lower case. */
static char *service_key(const char *id, int upper)
{
	char *k = xstrdup(id);
	for (char *p = k; *p; p++)
		*p = *p == ' ' ? '_' : (char)(upper ? toupper((unsigned char)*p) : tolower((unsigned char)*p));
	return k;
}

static char *endpoint_prefix(const char *id)
{
	for (size_t i = 0; i < ARRAY_LEN(services); i++)
		if (!strcasecmp(services[i].id, id))
			return xstrdup(services[i].prefix);
	struct buf b = {0};
	for (const char *p = id; *p; p++)
		if (*p != ' ')
			buf_putc(&b, tolower((unsigned char)*p));
	return buf_detach(&b);
}

static int is_true(const char *v)
{
	return v && !strcasecmp(v, "true");
}

/* Split url into out's scheme, host and path. 0, or -1 with *why set. */
static int parse_url(const char *url, struct aws_endpoint *out, const char **why)
{
	const char *p = strstr(url, "://");
	for (const char *c = url; *c; c++) {
		if ((unsigned char)*c <= ' ' || *c == 0x7f) {
			*why = "it contains a space or a control character";
			return -1;
		}
	}
	if (!p) {
		*why = "it does not start with http:// or https://";
		return -1;
	}
	char *scheme = xstrndup(url, (size_t)(p - url));
	for (char *c = scheme; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	if (strcmp(scheme, "http") && strcmp(scheme, "https")) {
		free(scheme);
		*why = "the scheme must be http or https";
		return -1;
	}
	const char *h = p + 3;
	size_t hn = strcspn(h, "/?#");
	const char *rest = h + hn;
	if (hn == 0 || memchr(h, '@', hn)) {
		free(scheme);
		*why = hn ? "it must not carry a user name" : "it has no host";
		return -1;
	}
	if (strpbrk(rest, "?#")) {
		free(scheme);
		*why = "it must not have a query or a fragment";
		return -1;
	}
	size_t rn = strlen(rest);
	while (rn > 0 && rest[rn - 1] == '/')
		rn--;
	out->scheme = scheme;
	out->host = xstrndup(h, hn);
	out->path = xstrndup(rest, rn);
	out->url = xasprintf("%s://%s%s", out->scheme, out->host, out->path);
	return 0;
}

int aws_endpoint_resolve(const struct aws_config *c, const char *service_id, const char *region,
                         struct aws_endpoint *out, struct aws_error *err)
{
	char *upper = service_key(service_id, 1), *lower = service_key(service_id, 0);
	char *var = xasprintf("AWS_ENDPOINT_URL_%s", upper);
	char *origin = NULL, *key = NULL;
	const char *url = NULL, *why = NULL;
	int ret = -1;

	memset(out, 0, sizeof *out);
	if (!is_true(env("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")) &&
	    !is_true(aws_config_get(c, "ignore_configured_endpoint_urls"))) {
		const char *services_name;
		if ((url = env(var))) {
			origin = xstrdup(var);
		} else if ((url = env("AWS_ENDPOINT_URL"))) {
			origin = xstrdup("AWS_ENDPOINT_URL");
		} else if (c && (services_name = aws_config_get(c, "services")) && *services_name) {
			char *sec = xasprintf("services %s", services_name);
			key = xasprintf("%s.endpoint_url", lower);
			url = aws_ini_get(c->ini[AWS_FILE_CONFIG], sec, key);
			free(sec);
			if (url && *url)
				origin = xasprintf("services %s (%s)", services_name, lower);
			else
				url = NULL;
		}
		if (!url && (url = aws_config_get(c, "endpoint_url")) && *url)
			origin = xasprintf("profile %s", c->profile);
		else if (!origin)
			url = NULL;
	}
	if (url) {
		out->custom = 1;
		if (parse_url(url, out, &why) < 0) {
			aws_error_set(err, AWS_ERR_CONFIG, "%s", why);
			aws_error_whatf(err, url, "use endpoint '%s' (from %s)", url, origin);
			goto out;
		}
	} else {
		if (!region || !is_region(region)) {
			aws_error_set(err, AWS_ERR_CONFIG, "%s", region ? "the region is not a region name" : "no region is set");
			aws_error_whatf(err, NULL, "find the %s endpoint", service_id);
			goto out;
		}
		char *prefix = endpoint_prefix(service_id);
		const char *domain = !strncmp(region, "cn-", 3) ? "amazonaws.com.cn" : "amazonaws.com";
		out->scheme = xstrdup("https");
		out->host = xasprintf("%s.%s.%s", prefix, region, domain);
		out->path = xstrdup("");
		out->url = xasprintf("https://%s", out->host);
		origin = xstrdup("default");
		free(prefix);
	}
	if (!strcasecmp(service_id, "S3")) {
		const char *style = aws_config_get(c, "s3.addressing_style");
		if (style && !strcasecmp(style, "path"))
			out->addressing = AWS_ADDRESSING_PATH;
		else if (style && !strcasecmp(style, "virtual"))
			out->addressing = AWS_ADDRESSING_VIRTUAL;
	}
	out->origin = origin;
	origin = NULL;
	ret = 0;
out:
	if (ret < 0)
		aws_endpoint_free(out);
	free(origin);
	free(key);
	free(var);
	free(upper);
	free(lower);
	return ret;
}

void aws_endpoint_free(struct aws_endpoint *e)
{
	free(e->url);
	free(e->scheme);
	free(e->host);
	free(e->path);
	free(e->origin);
	memset(e, 0, sizeof *e);
}

/* ---- S3 addressing ---- */

/* Characters S3 has ever allowed in bucket names (legacy us-east-1 names
 * had uppercase and '_'); anything else cannot be put in a URL path. */
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

/* Usable as the leftmost label of a TLS host name: 3-63 of [a-z0-9-], no
 * leading or trailing '-', and no dots: a wildcard certificate covers one
 * label (this also rules out names shaped like IP addresses). */
static int is_dns_bucket(const char *b)
{
	size_t n = strlen(b);
	if (n < 3 || n > 63 || b[0] == '-' || b[n - 1] == '-')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!(islower((unsigned char)b[i]) || isdigit((unsigned char)b[i]) || b[i] == '-'))
			return 0;
	return 1;
}

int aws_s3_url(const struct aws_endpoint *e, const char *bucket, const char *key, struct aws_s3_url *out,
               struct aws_error *err)
{
	memset(out, 0, sizeof *out);
	if (!is_bucket_name(bucket)) {
		aws_error_set(err, AWS_ERR_CONFIG, "not a bucket name");
		aws_error_what(err, "address bucket", bucket);
		return -1;
	}
	int path_style;
	if (!is_dns_bucket(bucket))
		path_style = 1;
	else if (e->addressing != AWS_ADDRESSING_AUTO)
		path_style = e->addressing == AWS_ADDRESSING_PATH;
	else
		path_style = e->custom;
	if (!key)
		key = "";
	out->path_style = path_style;
	if (path_style) {
		out->host = xstrdup(e->host);
		out->path = xasprintf("%s/%s%s%s", e->path, bucket, *key ? "/" : "", key);
	} else {
		out->host = xasprintf("%s.%s", bucket, e->host);
		out->path = xasprintf("%s/%s", e->path, key);
	}
	return 0;
}

void aws_s3_url_free(struct aws_s3_url *u)
{
	free(u->host);
	free(u->path);
	memset(u, 0, sizeof *u);
}

unsigned aws_config_max_attempts(const struct aws_config *cfg, struct aws_error *err)
{
	const char *v = getenv("AWS_MAX_ATTEMPTS"), *from = "AWS_MAX_ATTEMPTS";
	char *end;
	if (!v || !*v) {
		v = aws_config_get(cfg, "max_attempts");
		from = "the profile's max_attempts";
	}
	if (!v || !*v)
		return 3;
	errno = 0;
	unsigned long n = strtoul(v, &end, 10);
	if (errno || *end || end == v || n < 1 || n > 100) {
		aws_error_set(err, AWS_ERR_CONFIG, "not a number of attempts from 1 to 100");
		aws_error_whatf(err, v, "use %s '%s'", from, v);
		return 0;
	}
	return (unsigned)n;
}

/* The options' timeouts in seconds; -1: not given. */
static long cli_timeout_s[2] = {-1, -1};

/* Whole seconds from 0 to 86400 into *out; -1 if s is not that. */
static int parse_seconds(const char *s, long *out)
{
	char *end;
	errno = 0;
	long n = strtol(s, &end, 10);
	if (errno || end == s || *end || n < 0 || n > 86400)
		return -1;
	*out = n;
	return 0;
}

int aws_config_set_timeout(enum aws_timeout which, const char *value, struct aws_error *err)
{
	long n;
	if (parse_seconds(value, &n) < 0) {
		aws_error_set(err, AWS_ERR_CONFIG, "not a whole number of seconds from 0 to 86400");
		aws_error_whatf(err, value, "use --cli-%s-timeout '%s'", which == AWS_TIMEOUT_READ ? "read" : "connect",
		                value);
		return -1;
	}
	cli_timeout_s[which] = n;
	return 0;
}

int aws_parse_rate(const char *s, int64_t *out)
{
	static const struct {
		const char *suffix;
		int shift;
	} units[] = {{"", 0}, {"b/s", 0}, {"kb/s", 10}, {"mb/s", 20}, {"gb/s", 30},
	             {"kib/s", 10}, {"mib/s", 20}, {"gib/s", 30}};
	char *end;
	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	unsigned long long n = strtoull(s, &end, 10);
	if (errno)
		return -1;
	for (size_t i = 0; i < ARRAY_LEN(units); i++) {
		if (strcasecmp(end, units[i].suffix))
			continue;
		if (n > ((unsigned long long)INT64_MAX >> units[i].shift))
			return -1;
		*out = (int64_t)(n << units[i].shift);
		return 0;
	}
	return -1;
}

int aws_config_transfer_limits(const struct aws_config *cfg, struct aws_transfer_limits *out,
                               struct aws_error *err)
{
	static const char *const keys[2] = {"cli_read_timeout", "cli_connect_timeout"};
	static const long defaults_ms[2] = {HTTP_DEFAULT_READ_TIMEOUT_MS, HTTP_DEFAULT_CONNECT_TIMEOUT_MS};
	long ms[2];
	for (int w = 0; w < 2; w++) {
		long n = cli_timeout_s[w];
		const char *v;
		if (n < 0 && (v = aws_config_get(cfg, keys[w])) && *v && parse_seconds(v, &n) < 0) {
			aws_error_set(err, AWS_ERR_CONFIG, "not a whole number of seconds from 0 to 86400");
			aws_error_whatf(err, v, "use the profile's %s '%s'", keys[w], v);
			return -1;
		}
		ms[w] = n < 0 ? defaults_ms[w] : n == 0 ? -1 : n * 1000;
	}
	out->read_timeout_ms = ms[AWS_TIMEOUT_READ];
	out->connect_timeout_ms = ms[AWS_TIMEOUT_CONNECT];
	const char *v = env("RAPID_MIN_RATE"), *from = "RAPID_MIN_RATE";
	if (!v) {
		v = aws_config_get(cfg, "rapid_min_rate");
		from = "the profile's rapid_min_rate";
	}
	out->min_rate = HTTP_DEFAULT_MIN_RATE;
	if (v && *v) {
		if (aws_parse_rate(v, &out->min_rate) < 0) {
			aws_error_set(err, AWS_ERR_CONFIG, "not a rate (bytes a second, or like 64KiB/s, 1MB/s)");
			aws_error_whatf(err, v, "use %s '%s'", from, v);
			return -1;
		}
		if (!out->min_rate)
			out->min_rate = -1;
	}
	return 0;
}

int aws_config_has_region(const struct aws_config *cfg)
{
	const char *v;
	if (((v = getenv("AWS_REGION")) && *v) || ((v = getenv("AWS_DEFAULT_REGION")) && *v))
		return 1;
	return (v = aws_config_get(cfg, "region")) && *v;
}
