/* config_test.c - the shared files' INI dialect, profile selection, region
 * and endpoint order, S3 path-style rules, and the exact error messages. */
#include "aws/config.h"
#include "lib/util.h"
#include "tests/unit/tap.h"
#include "tests/unit/capture.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

static char *home;

/* aws/ reports nothing: each failure is said here as the CLI says it, so
 * that the checks of stderr see exactly the user's message. */
static struct aws_error E;

static void said(void)
{
	if (aws_error_isset(&E)) {
		char *m = aws_error_format(&E);
		warn("%s", m);
		free(m);
	}
	aws_error_clear(&E);
}

/* The message of E (cleared) is want. */
static void said_is(const char *want, const char *name)
{
	char *m = aws_error_format(&E);
	TAP_IS_STR(m, want + strlen("rapid: "), "%s", name);
	free(m);
	aws_error_clear(&E);
}

static struct aws_config *load(const char *profile)
{
	struct aws_config *c = aws_config_load(profile, &E);
	said();
	return c;
}

static char *region_of(const struct aws_config *c)
{
	char *r = aws_config_region(c, &E);
	said();
	return r;
}

static int endpoint_of(const struct aws_config *c, const char *svc, const char *region, struct aws_endpoint *e)
{
	int r = aws_endpoint_resolve(c, svc, region, e, &E);
	said();
	return r;
}

static int s3_url_of(const struct aws_endpoint *e, const char *bucket, const char *key, struct aws_s3_url *u)
{
	int r = aws_s3_url(e, bucket, key, u, &E);
	said();
	return r;
}

static void put(const char *path, const char *text)
{
	char *dir = path_dirname(path);
	mkdir_p(dir, 0700);
	free(dir);
	write_file_atomic(path, text, strlen(text));
}

static void test_ini(void)
{
	static const char text[] =
	    "\xef\xbb\xbf"
	    "orphan = before any section\n"
	    "[default]\r\n"
	    "region = eu-west-1\r\n"
	    "# a comment\n"
	    "  ; an indented comment\n"
	    "Output: json\n"
	    "endpoint_url = http://h:1/p?x=1#y   # inline comment\n"
	    "weird = a#b;c\n"
	    "eq = a=b=c\n"
	    "empty =\n"
	    "garbage line without delimiter\n"
	    "s3 =\n"
	    "    addressing_style = path\n"
	    "    Max_Concurrent_Requests = 20 ; comment\n"
	    "\n"
	    "after = nested\n"
	    "multi = first\n"
	    "   continuation line = ignored\n"
	    "  [not a section]\n"
	    "[ profile    dev  ]  ; trailing\n"
	    "region = us-east-2\n"
	    "[broken\n"
	    "lost = yes\n"
	    "[default]\n"
	    "added = later\n"
	    "region = eu-west-3\n";
	struct aws_ini *ini = aws_ini_parse(text, sizeof text - 1);
	TAP_IS_STR(aws_ini_get(ini, "default", "region"), "eu-west-3", "a repeated key in a repeated section: last wins");
	TAP_IS_STR(aws_ini_get(ini, "default", "added"), "later", "a repeated section adds keys");
	TAP_IS_STR(aws_ini_get(ini, "default", "output"), "json", "':' delimits, keys are lowercased");
	TAP_IS_STR(aws_ini_get(ini, "default", "endpoint_url"), "http://h:1/p?x=1#y", "' #' starts a comment, '#' inside does not");
	TAP_IS_STR(aws_ini_get(ini, "default", "weird"), "a#b;c", "'#' and ';' inside a value stay");
	TAP_IS_STR(aws_ini_get(ini, "default", "eq"), "a=b=c", "the first '=' splits");
	TAP_IS_STR(aws_ini_get(ini, "default", "empty"), "", "an empty value");
	TAP_IS_STR(aws_ini_get(ini, "default", "s3"), "", "a nested section's key is empty");
	TAP_IS_STR(aws_ini_get(ini, "default", "s3.addressing_style"), "path", "nested keys are parent.key");
	TAP_IS_STR(aws_ini_get(ini, "default", "s3.max_concurrent_requests"), "20", "nested keys lowercased, comment cut");
	TAP_IS_STR(aws_ini_get(ini, "default", "after"), "nested", "a key after a nested block (and a blank line)");
	TAP_IS_STR(aws_ini_get(ini, "default", "multi"), "first", "continuation lines of a value are ignored");
	TAP_IS_STR(aws_ini_get(ini, "default", "multi.continuation line"), NULL, "... and not taken as nested");
	TAP_IS_STR(aws_ini_get(ini, "default", "orphan"), NULL, "keys before any section are dropped");
	TAP_OK(!aws_ini_has_section(ini, "not a section"), "an indented [..] under a key is a continuation");
	TAP_OK(aws_ini_has_section(ini, "profile dev"), "'[ profile    dev  ]' is 'profile dev'");
	TAP_IS_STR(aws_ini_get(ini, "profile dev", "region"), "us-east-2", "... with its keys");
	TAP_IS_STR(aws_ini_get(ini, "profile dev", "lost"), NULL, "a line '[broken' ends the section before it");
	TAP_OK(!aws_ini_has_section(ini, "broken"), "... and is no section");
	TAP_IS_STR(aws_ini_get(ini, "nosuch", "region"), NULL, "a missing section gives NULL");
	aws_ini_free(ini);

	ini = aws_ini_parse("", 0);
	TAP_OK(ini && !aws_ini_has_section(ini, "default"), "an empty file parses");
	aws_ini_free(ini);
	static const char nonl[] = "[a]\nk=v";
	ini = aws_ini_parse(nonl, sizeof nonl - 1);
	TAP_IS_STR(aws_ini_get(ini, "a", "k"), "v", "the last line needs no newline");
	aws_ini_free(ini);
	static const char nul[] = "[a]\nk=v\0x\nj=w\n";
	ini = aws_ini_parse(nul, sizeof nul - 1);
	TAP_IS_STR(aws_ini_get(ini, "a", "j"), "w", "a NUL byte does not stop parsing");
	aws_ini_free(ini);
}

static const char creds_text[] =
    "[default]\n"
    "aws_access_key_id = AKIADEFAULT000000000\n"
    "region = ap-south-1\n"
    "[dev]\n"
    "aws_access_key_id = AKIADEV0000000000000\n"
    "output = text\n";

static const char config_text[] =
    "[default]\n"
    "region = eu-central-1\n"
    "[profile dev]\n"
    "region = us-west-2\n"
    "output = json\n"
    "endpoint_url = http://127.0.0.1:9000/\n"
    "[profile prod]\n"
    "region = eu-north-1\n"
    "services = local\n"
    "s3 =\n"
    "  addressing_style = virtual\n"
    "[prod]\n"
    "region = not-this-one\n"
    "[services local]\n"
    "s3 =\n"
    "  endpoint_url = http://localhost:4566\n"
    "secrets_manager =\n"
    "  endpoint_url = https://sm.example.test/base//\n";

static void test_profiles(void)
{
	char *cp = path_join(home, ".aws/credentials"), *fp = path_join(home, ".aws/config");
	struct aws_config *c;

	clear_aws_env();
	c = load(NULL);
	TAP_OK(c != NULL, "no files at all: loads");
	TAP_IS_STR(aws_config_profile(c), "default", "... the default profile");
	TAP_IS_STR(aws_config_path(c, AWS_FILE_CREDENTIALS), cp, "... credentials path under HOME");
	TAP_IS_STR(aws_config_path(c, AWS_FILE_CONFIG), fp, "... config path under HOME");
	TAP_IS_STR(aws_config_get(c, "region"), NULL, "... and no values");
	aws_config_free(c);

	setenv("AWS_PROFILE", "dev", 1);
	TAP_OK(load(NULL) == NULL, "AWS_PROFILE naming a missing profile fails");
	char *want = xasprintf("rapid: cannot use profile 'dev' (from AWS_PROFILE): it is in neither '%s' nor '%s'", cp,
	                       fp);
	is_stderr(want, "... with a message naming both files");
	free(want);
	unsetenv("AWS_PROFILE");

	put(cp, creds_text);
	put(fp, config_text);
	c = load(NULL);
	TAP_IS_STR(aws_config_profile(c), "default", "default profile");
	TAP_OK(!aws_config_profile_explicit(c), "... not explicit");
	TAP_IS_STR(aws_config_get(c, "aws_access_key_id"), "AKIADEFAULT000000000", "... its key from the credentials file");
	TAP_IS_STR(aws_config_get(c, "region"), "ap-south-1", "... the credentials file wins over the config file");
	aws_config_free(c);

	setenv("AWS_PROFILE", "dev", 1);
	c = load(NULL);
	TAP_IS_STR(aws_config_profile(c), "dev", "AWS_PROFILE=dev");
	TAP_OK(!aws_config_profile_explicit(c), "... not explicit");
	TAP_IS_STR(aws_config_get(c, "aws_access_key_id"), "AKIADEV0000000000000", "... dev's key");
	TAP_IS_STR(aws_config_get(c, "region"), "us-west-2", "... dev's region from [profile dev]");
	TAP_IS_STR(aws_config_get(c, "output"), "text", "... credentials file wins for dev too");
	aws_config_free(c);

	c = load("prod");
	TAP_IS_STR(aws_config_profile(c), "prod", "an explicit profile beats AWS_PROFILE");
	TAP_OK(aws_config_profile_explicit(c), "... and is explicit");
	TAP_IS_STR(aws_config_get(c, "region"), "eu-north-1", "... '[prod]' in the config file is not profile prod");
	TAP_IS_STR(aws_config_get(c, "aws_access_key_id"), NULL, "... prod has no key");
	aws_config_free(c);

	TAP_OK(load("nosuch") == NULL, "an explicit missing profile fails");
	want = xasprintf("rapid: cannot use profile 'nosuch' (from --profile): it is in neither '%s' nor '%s'", cp, fp);
	is_stderr(want, "... with the message");
	free(want);
	unsetenv("AWS_PROFILE");

	/* [profile default] counts as the default profile too */
	put("alt/config", "[profile default]\nregion = sa-east-1\n");
	setenv("AWS_CONFIG_FILE", "alt/config", 1);
	setenv("AWS_SHARED_CREDENTIALS_FILE", "~/nowhere", 1);
	setenv("AWS_PROFILE", "default", 1);
	c = load(NULL);
	TAP_OK(c != NULL, "AWS_CONFIG_FILE with [profile default]");
	TAP_IS_STR(aws_config_path(c, AWS_FILE_CONFIG), "alt/config", "... its path");
	want = path_join(home, "nowhere");
	TAP_IS_STR(aws_config_path(c, AWS_FILE_CREDENTIALS), want, "... '~/' expands to HOME");
	free(want);
	TAP_IS_STR(aws_config_get(c, "region"), "sa-east-1", "... [profile default] read");
	aws_config_free(c);
	unsetenv("AWS_PROFILE");

	mkdir_p("adir", 0700);
	setenv("AWS_SHARED_CREDENTIALS_FILE", "adir", 1);
	TAP_OK(load(NULL) == NULL, "a folder as credentials file fails");
	is_stderr("rapid: cannot read 'adir': it is a folder", "... with the message");
	unsetenv("AWS_SHARED_CREDENTIALS_FILE");
	unsetenv("AWS_CONFIG_FILE");
	free(cp);
	free(fp);
}

static void test_region(void)
{
	struct aws_config *c;
	char *r;

	clear_aws_env();
	c = load("prod");
	r = region_of(c);
	TAP_IS_STR(r, "eu-north-1", "region from the profile");
	free(r);
	setenv("AWS_DEFAULT_REGION", "us-east-1", 1);
	r = region_of(c);
	TAP_IS_STR(r, "us-east-1", "AWS_DEFAULT_REGION beats the profile");
	free(r);
	setenv("AWS_REGION", "ca-central-1", 1);
	r = region_of(c);
	TAP_IS_STR(r, "ca-central-1", "AWS_REGION beats AWS_DEFAULT_REGION");
	free(r);
	setenv("AWS_REGION", "", 1);
	r = region_of(c);
	TAP_IS_STR(r, "us-east-1", "an empty AWS_REGION counts as unset");
	free(r);
	setenv("AWS_REGION", "Eu West 1", 1);
	TAP_OK(region_of(c) == NULL, "a malformed region fails");
	is_stderr("rapid: cannot use region 'Eu West 1' (from AWS_REGION): not a region name like 'eu-west-1'",
	          "... with the message");
	aws_config_free(c);
	clear_aws_env();

	setenv("AWS_CONFIG_FILE", "alt/empty", 1);
	put("alt/empty", "[profile other]\nregion = us-east-1\n");
	setenv("AWS_SHARED_CREDENTIALS_FILE", "alt/none", 1);
	c = load(NULL);
	TAP_OK(region_of(c) == NULL, "no region anywhere fails");
	is_stderr("rapid: cannot find the AWS region of profile 'default': set AWS_REGION, or add 'region = …' to "
	          "[default] in 'alt/empty'",
	          "... with the message");
	aws_config_free(c);
	put("alt/empty", "[profile other]\n");
	c = load("other");
	TAP_OK(region_of(c) == NULL, "no region in a named profile");
	is_stderr("rapid: cannot find the AWS region of profile 'other': set AWS_REGION, or add 'region = …' to "
	          "[profile other] in 'alt/empty'",
	          "... names [profile other]");
	aws_config_free(c);
	clear_aws_env();
}

static void check_endpoint(const struct aws_config *c, const char *svc, const char *region, const char *url,
                           const char *origin, int custom, const char *name)
{
	struct aws_endpoint e;
	int rc = endpoint_of(c, svc, region, &e);
	TAP_IS_INT(rc, 0, "%s: resolves", name);
	TAP_IS_STR(e.url, url, "%s: url", name);
	TAP_IS_STR(e.origin, origin, "%s: origin", name);
	TAP_IS_INT(e.custom, custom, "%s: custom", name);
	aws_endpoint_free(&e);
}

static void test_endpoints(void)
{
	struct aws_config *c, *dev, *prod;
	struct aws_endpoint e;

	clear_aws_env();
	c = load(NULL);
	check_endpoint(c, "S3", "eu-west-1", "https://s3.eu-west-1.amazonaws.com", "default", 0, "default S3");
	check_endpoint(c, "Batch", "eu-west-1", "https://batch.eu-west-1.amazonaws.com", "default", 0, "default Batch");
	check_endpoint(c, "Secrets Manager", "us-east-1", "https://secretsmanager.us-east-1.amazonaws.com", "default", 0,
	               "default Secrets Manager");
	check_endpoint(c, "CloudFormation", "us-east-1", "https://cloudformation.us-east-1.amazonaws.com", "default", 0,
	               "default CloudFormation");
	check_endpoint(c, "STS", "us-east-1", "https://sts.us-east-1.amazonaws.com", "default", 0, "default STS");
	check_endpoint(c, "S3", "cn-north-1", "https://s3.cn-north-1.amazonaws.com.cn", "default", 0, "China regions");
	check_endpoint(NULL, "Some New Service", "us-east-1", "https://somenewservice.us-east-1.amazonaws.com", "default", 0,
	               "an unknown service, no config");

	TAP_IS_INT(endpoint_of(c, "S3", NULL, &e), -1, "no region, no custom endpoint fails");
	is_stderr("rapid: cannot find the S3 endpoint: no region is set", "... with the message");
	TAP_OK(e.url == NULL, "... and leaves nothing allocated");

	dev = load("dev");
	check_endpoint(dev, "S3", NULL, "http://127.0.0.1:9000", "profile dev", 1, "profile endpoint_url, slash dropped");
	check_endpoint(dev, "Batch", "us-west-2", "http://127.0.0.1:9000", "profile dev", 1, "... for every service");
	prod = load("prod");
	check_endpoint(prod, "S3", "eu-north-1", "http://localhost:4566", "services local (s3)", 1, "services section");
	check_endpoint(prod, "Secrets Manager", "eu-north-1", "https://sm.example.test/base",
	               "services local (secrets_manager)", 1, "services section, spaces as '_'");
	check_endpoint(prod, "Batch", "eu-north-1", "https://batch.eu-north-1.amazonaws.com", "default", 0,
	               "services section without the service");
	endpoint_of(prod, "Secrets Manager", NULL, &e);
	TAP_IS_STR(e.scheme, "https", "scheme");
	TAP_IS_STR(e.host, "sm.example.test", "host");
	TAP_IS_STR(e.path, "/base", "base path without trailing slashes");
	aws_endpoint_free(&e);

	setenv("AWS_ENDPOINT_URL", "http://[::1]:8000", 1);
	check_endpoint(dev, "S3", NULL, "http://[::1]:8000", "AWS_ENDPOINT_URL", 1, "AWS_ENDPOINT_URL beats the profile");
	check_endpoint(prod, "S3", NULL, "http://[::1]:8000", "AWS_ENDPOINT_URL", 1, "... and the services section");
	setenv("AWS_ENDPOINT_URL_S3", "HTTP://s3.local:1234/", 1);
	check_endpoint(dev, "S3", NULL, "http://s3.local:1234", "AWS_ENDPOINT_URL_S3", 1,
	               "AWS_ENDPOINT_URL_S3 beats AWS_ENDPOINT_URL");
	check_endpoint(dev, "Batch", NULL, "http://[::1]:8000", "AWS_ENDPOINT_URL", 1, "... for S3 only");
	setenv("AWS_ENDPOINT_URL_BATCH", "http://b:1", 1);
	setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", "http://sm:2", 1);
	setenv("AWS_ENDPOINT_URL_CLOUDFORMATION", "http://cf:3", 1);
	setenv("AWS_ENDPOINT_URL_STS", "http://sts:4", 1);
	check_endpoint(c, "Batch", NULL, "http://b:1", "AWS_ENDPOINT_URL_BATCH", 1, "AWS_ENDPOINT_URL_BATCH");
	check_endpoint(c, "Secrets Manager", NULL, "http://sm:2", "AWS_ENDPOINT_URL_SECRETS_MANAGER", 1,
	               "AWS_ENDPOINT_URL_SECRETS_MANAGER");
	check_endpoint(c, "CloudFormation", NULL, "http://cf:3", "AWS_ENDPOINT_URL_CLOUDFORMATION", 1,
	               "AWS_ENDPOINT_URL_CLOUDFORMATION");
	check_endpoint(c, "STS", NULL, "http://sts:4", "AWS_ENDPOINT_URL_STS", 1, "AWS_ENDPOINT_URL_STS");
	setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true", 1);
	check_endpoint(dev, "S3", "us-west-2", "https://s3.us-west-2.amazonaws.com", "default", 0,
	               "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true");
	clear_aws_env();

	static const struct {
		const char *url, *msg;
	} bad[] = {
		{"ftp://h/", "rapid: cannot use endpoint 'ftp://h/' (from AWS_ENDPOINT_URL): the scheme must be http or https"},
		{"localhost:4566", "rapid: cannot use endpoint 'localhost:4566' (from AWS_ENDPOINT_URL): it does not start with http:// or https://"},
		{"http://", "rapid: cannot use endpoint 'http://' (from AWS_ENDPOINT_URL): it has no host"},
		{"http://u:p@h/", "rapid: cannot use endpoint 'http://u:p@h/' (from AWS_ENDPOINT_URL): it must not carry a user name"},
		{"http://h/?a=b", "rapid: cannot use endpoint 'http://h/?a=b' (from AWS_ENDPOINT_URL): it must not have a query or a fragment"},
		{"http://h /", "rapid: cannot use endpoint 'http://h /' (from AWS_ENDPOINT_URL): it contains a space or a control character"},
	};
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		setenv("AWS_ENDPOINT_URL", bad[i].url, 1);
		TAP_IS_INT(endpoint_of(c, "S3", "us-east-1", &e), -1, "bad endpoint '%s' fails", bad[i].url);
		is_stderr(bad[i].msg, "... with the message");
	}
	clear_aws_env();
	aws_config_free(c);
	aws_config_free(dev);
	aws_config_free(prod);
}

static void check_s3(const struct aws_endpoint *e, const char *bucket, const char *key, const char *host,
                     const char *path, int path_style, const char *name)
{
	struct aws_s3_url u;
	TAP_IS_INT(s3_url_of(e, bucket, key, &u), 0, "%s: addresses", name);
	TAP_IS_STR(u.host, host, "%s: host", name);
	TAP_IS_STR(u.path, path, "%s: path", name);
	TAP_IS_INT(u.path_style, path_style, "%s: path style", name);
	aws_s3_url_free(&u);
}

static void test_s3_url(void)
{
	struct aws_config *c, *prod;
	struct aws_endpoint e;
	struct aws_s3_url u;

	clear_aws_env();
	c = load(NULL);
	endpoint_of(c, "S3", "us-east-1", &e);
	check_s3(&e, "hcp-openaccess", "HCP_1200/100307/a b+c.nii.gz", "hcp-openaccess.s3.us-east-1.amazonaws.com",
	         "/HCP_1200/100307/a b+c.nii.gz", 0, "AWS endpoint: virtual-hosted");
	check_s3(&e, "my-bucket", NULL, "my-bucket.s3.us-east-1.amazonaws.com", "/", 0, "bucket-level, virtual");
	check_s3(&e, "my.dotted.bucket", "k", "s3.us-east-1.amazonaws.com", "/my.dotted.bucket/k", 1,
	         "a dotted bucket: path style");
	check_s3(&e, "my.dotted.bucket", "", "s3.us-east-1.amazonaws.com", "/my.dotted.bucket", 1,
	         "bucket-level, path style");
	check_s3(&e, "Legacy_Bucket", "k", "s3.us-east-1.amazonaws.com", "/Legacy_Bucket/k", 1,
	         "uppercase and '_': path style");
	check_s3(&e, "ab", "k", "s3.us-east-1.amazonaws.com", "/ab/k", 1, "too short for DNS: path style");
	check_s3(&e, "-ab", "k", "s3.us-east-1.amazonaws.com", "/-ab/k", 1, "leading '-': path style");
	TAP_IS_INT(s3_url_of(&e, "a/b", "k", &u), -1, "a bucket with '/' fails");
	is_stderr("rapid: cannot address bucket 'a/b': not a bucket name", "... with the message");
	TAP_IS_INT(s3_url_of(&e, "", "k", &u), -1, "an empty bucket fails");
	is_stderr("rapid: cannot address bucket '': not a bucket name", "... with the message");
	aws_endpoint_free(&e);

	setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:4569/prefix/", 1);
	endpoint_of(c, "S3", NULL, &e);
	check_s3(&e, "bucket", "dir/key", "127.0.0.1:4569", "/prefix/bucket/dir/key", 1, "custom endpoint: path style");
	aws_endpoint_free(&e);
	clear_aws_env();

	prod = load("prod"); /* addressing_style = virtual, endpoint localhost:4566 */
	endpoint_of(prod, "S3", NULL, &e);
	TAP_IS_INT(e.addressing, AWS_ADDRESSING_VIRTUAL, "s3 addressing_style = virtual read");
	check_s3(&e, "bucket", "k", "bucket.localhost:4566", "/k", 0, "virtual asked: virtual on a custom endpoint");
	check_s3(&e, "b.c.d", "k", "localhost:4566", "/b.c.d/k", 1, "... but not for a dotted bucket");
	aws_endpoint_free(&e);
	aws_config_free(prod);

	put("alt/path", "[default]\ns3 =\n  addressing_style = path\n");
	setenv("AWS_CONFIG_FILE", "alt/path", 1);
	prod = load(NULL);
	endpoint_of(prod, "S3", "eu-west-1", &e);
	check_s3(&e, "bucket", "k", "s3.eu-west-1.amazonaws.com", "/bucket/k", 1, "path asked: path on AWS");
	aws_endpoint_free(&e);
	aws_config_free(prod);
	aws_config_free(c);
	clear_aws_env();
}

static void test_limits(void)
{
	struct aws_transfer_limits l;
	struct aws_config *c;
	int64_t r = 0;

	TAP_IS_INT(aws_parse_rate("65536", &r), 0, "rate: bytes a second");
	TAP_IS_INT(r, 65536, "... 65536");
	TAP_IS_INT(aws_parse_rate("64KiB/s", &r) == 0 && r == 65536, 1, "rate: 64KiB/s");
	TAP_IS_INT(aws_parse_rate("1MB/s", &r) == 0 && r == 1 << 20, 1, "rate: 1MB/s is 1 MiB/s, as the AWS CLI reads it");
	TAP_IS_INT(aws_parse_rate("2gib/s", &r) == 0 && r == 2ll << 30, 1, "rate: any case");
	TAP_IS_INT(aws_parse_rate("0", &r) == 0 && r == 0, 1, "rate: 0");
	TAP_IS_INT(aws_parse_rate("10KB", &r), -1, "rate: a size is not a rate");
	TAP_IS_INT(aws_parse_rate("-1", &r), -1, "rate: not negative");
	TAP_IS_INT(aws_parse_rate("fast", &r), -1, "rate: not a word");
	TAP_IS_INT(aws_parse_rate("99999999999999999999", &r), -1, "rate: not beyond 64 bits");

	clear_aws_env();
	unsetenv("RAPID_MIN_RATE");
	setenv("AWS_CONFIG_FILE", "alt/limits", 1);
	put("alt/limits", "[default]\ncli_read_timeout = 5\ncli_connect_timeout = 0\nrapid_min_rate = 1MB/s\n"
	                  "[profile bad]\ncli_read_timeout = soon\n[profile badrate]\nrapid_min_rate = quick\n");
	TAP_IS_INT(aws_config_transfer_limits(NULL, &l, &E), 0, "limits without a profile: the defaults");
	TAP_IS_INT(l.read_timeout_ms, 60000, "... read 60 s");
	TAP_IS_INT(l.connect_timeout_ms, 10000, "... connect 10 s");
	TAP_IS_INT(l.min_rate, 64 << 10, "... min rate 64 KiB/s");
	c = load(NULL);
	TAP_IS_INT(aws_config_transfer_limits(c, &l, &E), 0, "limits from the profile");
	TAP_IS_INT(l.read_timeout_ms, 5000, "... cli_read_timeout");
	TAP_IS_INT(l.connect_timeout_ms, -1, "... cli_connect_timeout 0: no limit");
	TAP_IS_INT(l.min_rate, 1 << 20, "... rapid_min_rate");
	setenv("RAPID_MIN_RATE", "0", 1);
	TAP_IS_INT(aws_config_transfer_limits(c, &l, &E) == 0 && l.min_rate == -1, 1, "RAPID_MIN_RATE=0: no deadline");
	setenv("RAPID_MIN_RATE", "lots", 1);
	TAP_IS_INT(aws_config_transfer_limits(c, &l, &E), -1, "a malformed RAPID_MIN_RATE fails");
	said_is("rapid: cannot use RAPID_MIN_RATE 'lots': not a rate (bytes a second, or like 64KiB/s, 1MB/s)",
	        "... with the message");
	unsetenv("RAPID_MIN_RATE");
	TAP_IS_INT(aws_config_set_timeout(AWS_TIMEOUT_READ, "2", &E), 0, "--cli-read-timeout 2");
	TAP_IS_INT(aws_config_set_timeout(AWS_TIMEOUT_CONNECT, "3", &E), 0, "--cli-connect-timeout 3");
	TAP_IS_INT(aws_config_transfer_limits(c, &l, &E), 0, "the options");
	TAP_IS_INT(l.read_timeout_ms * 10 + l.connect_timeout_ms, 23000, "... beat the profile");
	TAP_IS_INT(aws_config_set_timeout(AWS_TIMEOUT_READ, "1.5", &E), -1, "--cli-read-timeout 1.5 is refused");
	said_is("rapid: cannot use --cli-read-timeout '1.5': not a whole number of seconds from 0 to 86400",
	        "... with the message");
	TAP_IS_INT(aws_config_set_timeout(AWS_TIMEOUT_CONNECT, "-1", &E), -1, "--cli-connect-timeout -1 is refused");
	aws_error_clear(&E);
	TAP_IS_INT(aws_config_transfer_limits(c, &l, &E) == 0 && l.read_timeout_ms == 2000, 1,
	           "a refused value changes nothing");
	aws_config_set_timeout(AWS_TIMEOUT_READ, "0", &E);
	TAP_IS_INT(aws_config_transfer_limits(c, &l, &E) == 0 && l.read_timeout_ms == -1, 1,
	           "--cli-read-timeout 0: no limit");
	aws_config_free(c);
	c = load("bad");
	TAP_IS_INT(aws_config_transfer_limits(c, &l, &E), 0, "the option hides a bad profile value");
	aws_config_free(c);
	c = load("badrate");
	TAP_IS_INT(aws_config_transfer_limits(c, &l, &E), -1, "a malformed rapid_min_rate fails");
	said_is("rapid: cannot use the profile's rapid_min_rate 'quick': not a rate (bytes a second, or like 64KiB/s, "
	        "1MB/s)",
	        "... with the message");
	aws_config_free(c);
	clear_aws_env();
}

int main(void)
{
	char cwd[4096];
	if (!getcwd(cwd, sizeof cwd))
		return 1;
	home = path_join(cwd, "home");
	mkdir_p(home, 0700);
	setenv("HOME", home, 1);
	capture_stderr();
	test_ini();
	test_profiles();
	test_region();
	test_endpoints();
	test_s3_url();
	test_limits();
	char *rest = stderr_since();
	TAP_IS_STR(rest, "", "no unexpected messages");
	free(rest);
	free(home);
	return tap_done();
}
