/* creds_test.c - the credential chain: environment (with expiration),
 * profile files, container credentials and IMDSv2 served by a loopback
 * HTTP server this test forks, malformed responses, precedence, the
 * provider's refresh before expiry with an injected clock, and that no
 * secret or token ever reaches stderr. */
#include "aws/config.h"
#include "aws/creds.h"
#include "lib/util.h"
#include "tests/unit/tap.h"
#include "tests/unit/capture.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define NS INT64_C(1000000000)

/* Every secret and token the test hands out; none may appear on stderr. */
#define ENV_SECRET "envSECRETxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
#define ENV_TOKEN "envTOKENxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
#define DEF_SECRET "defaultSECRETxxxxxxxxxxxxxxxxxxxxxxxxxxx"
#define DEV_SECRET "devSECRETxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
#define DEV_TOKEN "devTOKENxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
#define PROD_SECRET "prodSECRETxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
#define CT_SECRET "containerSECRETxxxxxxxxxxxxxxxxxxxxxxxxx"
#define CT_TOKEN "containerTOKENxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
#define CT2_SECRET "container2SECRETxxxxxxxxxxxxxxxxxxxxxxxx"
#define CT2_TOKEN "container2TOKENxxxxxxxxxxxxxxxxxxxxxxxx"
#define IMDS_SECRET "imdsSECRETxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
#define IMDS_TOKEN "imdsTOKENxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
#define AUTH_TOKEN "authTOKEN-for-the-container-agent"
#define AUTH_FILE_TOKEN "fileTOKEN-for-the-container-agent"
#define IMDS_SESSION "imdsSESSIONtokenxxxxxxxxxxxxxxxxxxxxxxxxxx"

static const char *const secrets[] = {
    ENV_SECRET, ENV_TOKEN, DEF_SECRET, DEV_SECRET, DEV_TOKEN, PROD_SECRET, CT_SECRET, CT_TOKEN,
    CT2_SECRET, CT2_TOKEN, IMDS_SECRET, IMDS_TOKEN, AUTH_TOKEN, AUTH_FILE_TOKEN, IMDS_SESSION,
};

/* ---- the loopback server: state shared with the forked child ---- */

struct shared {
	int status;          /* for the credentials document */
	int huge;            /* answer with a 200 KB body */
	int hangup;          /* close the connection without answering */
	int role_status;     /* for the role listing */
	char auth[256];      /* the Authorization header expected; "" for none */
	char body[64 * 1024];
	char role_body[256];
	/* counters */
	int requests, cred_gets, bad_auth, token_puts, role_gets, bad_imds_token;
};

static struct shared *sh;
static pid_t server_pid;
static int port;

static const char *header(const char *req, const char *name)
{
	static char val[1024];
	size_t n = strlen(name);
	for (const char *p = strstr(req, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n")) {
		const char *line = p + 2;
		if (!strncasecmp(line, name, n) && line[n] == ':') {
			const char *v = line + n + 1;
			while (*v == ' ')
				v++;
			size_t len = strcspn(v, "\r\n");
			if (len >= sizeof val)
				len = sizeof val - 1;
			memcpy(val, v, len);
			val[len] = '\0';
			return val;
		}
	}
	return NULL;
}

static void respond(int fd, int status, const char *body, size_t len)
{
	char head[256];
	int n = snprintf(head, sizeof head,
	                 "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
	                 "Connection: close\r\n\r\n",
	                 status, len);
	if (write(fd, head, (size_t)n) < 0 || (len && write(fd, body, len) < 0))
		return;
}

static void serve(int fd)
{
	char req[16384];
	size_t len = 0;
	while (len < sizeof req - 1) {
		ssize_t n = read(fd, req + len, sizeof req - 1 - len);
		if (n <= 0)
			return;
		len += (size_t)n;
		req[len] = '\0';
		if (strstr(req, "\r\n\r\n"))
			break;
	}
	char method[16], path[1024];
	if (sscanf(req, "%15s %1023s", method, path) != 2)
		return;
	__atomic_add_fetch(&sh->requests, 1, __ATOMIC_SEQ_CST);
	const char *imds = "/latest/meta-data/iam/security-credentials/";
	if (sh->hangup)
		return;
	if (!strcmp(method, "PUT") && !strcmp(path, "/latest/api/token")) {
		__atomic_add_fetch(&sh->token_puts, 1, __ATOMIC_SEQ_CST);
		const char *ttl = header(req, "X-aws-ec2-metadata-token-ttl-seconds");
		if (!ttl || atoi(ttl) <= 0)
			respond(fd, 400, "", 0);
		else
			respond(fd, 200, IMDS_SESSION, strlen(IMDS_SESSION));
		return;
	}
	if (!strncmp(path, imds, strlen(imds))) {
		const char *t = header(req, "X-aws-ec2-metadata-token");
		if (!t || strcmp(t, IMDS_SESSION)) {
			__atomic_add_fetch(&sh->bad_imds_token, 1, __ATOMIC_SEQ_CST);
			respond(fd, 401, "", 0);
			return;
		}
		const char *role = path + strlen(imds);
		if (!*role) {
			__atomic_add_fetch(&sh->role_gets, 1, __ATOMIC_SEQ_CST);
			respond(fd, sh->role_status, sh->role_body, strlen(sh->role_body));
			return;
		}
		if (strcmp(role, "rapid-role")) {
			respond(fd, 404, "", 0);
			return;
		}
	} else if (strcmp(path, "/creds")) {
		respond(fd, 404, "", 0);
		return;
	} else if (*sh->auth) {
		const char *a = header(req, "Authorization");
		if (!a || strcmp(a, sh->auth)) {
			__atomic_add_fetch(&sh->bad_auth, 1, __ATOMIC_SEQ_CST);
			respond(fd, 401, "{\"code\":\"Unauthorized\"}", 23);
			return;
		}
	}
	__atomic_add_fetch(&sh->cred_gets, 1, __ATOMIC_SEQ_CST);
	if (sh->huge) {
		size_t n = 200 * 1024;
		char *big = xmalloc(n);
		memset(big, 'A', n);
		respond(fd, 200, big, n);
		free(big);
		return;
	}
	respond(fd, sh->status, sh->body, strlen(sh->body));
}

static void server_start(void)
{
	sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof a;
	if (sh == MAP_FAILED || s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 16) < 0 ||
	    getsockname(s, (struct sockaddr *)&a, &al) < 0) {
		perror("server");
		exit(1);
	}
	port = ntohs(a.sin_port);
	fflush(stdout);
	server_pid = fork();
	if (server_pid == 0) {
		signal(SIGPIPE, SIG_IGN);
		for (;;) {
			int fd = accept(s, NULL, NULL);
			if (fd < 0)
				continue;
			serve(fd);
			close(fd);
		}
	}
	close(s);
}

static void server_stop(void)
{
	kill(server_pid, SIGKILL);
	waitpid(server_pid, NULL, 0);
}

/* A credentials document. */
static void serve_creds(const char *id, const char *secret, const char *token, const char *exp)
{
	sh->status = 200;
	sh->huge = 0;
	snprintf(sh->body, sizeof sh->body,
	         "{\"Code\":\"Success\",\"Type\":\"AWS-HMAC\",\"AccessKeyId\":\"%s\",\"SecretAccessKey\":\"%s\","
	         "\"Token\":\"%s\",\"Expiration\":\"%s\",\"RoleArn\":\"arn:aws:iam::1:role/r\"}",
	         id, secret, token, exp);
}

static void serve_raw(int status, const char *body)
{
	sh->status = status;
	sh->huge = 0;
	snprintf(sh->body, sizeof sh->body, "%s", body);
}

/* ---- stderr capture ---- */

/* ---- helpers ---- */

/* No AWS_* setting of this machine, and never a real metadata service. */
static void clean_env(void)
{
	clear_aws_env();
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	setenv("AWS_SHARED_CREDENTIALS_FILE", "nowhere/credentials", 1);
	setenv("AWS_CONFIG_FILE", "nowhere/config", 1);
}

static void put(const char *path, const char *text)
{
	char *dir = path_dirname(path);
	mkdir_p(dir, 0700);
	free(dir);
	write_file_atomic(path, text, strlen(text));
}

static char *url(const char *path)
{
	return xasprintf("http://127.0.0.1:%d%s", port, path);
}

static void set_url(const char *var, const char *path)
{
	char *u = url(path);
	setenv(var, u, 1);
	free(u);
}

/* aws/ reports nothing: each error is said here as the CLI says it, so
 * that the checks of stderr see exactly the user's message. */
static void said(struct aws_error *e)
{
	if (aws_error_isset(e)) {
		char *m = aws_error_format(e);
		warn("%s", m);
		free(m);
	}
	aws_error_clear(e);
}

/* Resolve with cfg (NULL: load with profile); 0/-1 and the creds. */
static int resolve(const char *profile, struct aws_creds *c)
{
	struct aws_error e = {0};
	struct aws_config *cfg = aws_config_load(profile, &e);
	int rc = cfg ? aws_creds_resolve(cfg, now_ns(), c, &e) : -1;
	said(&e);
	aws_config_free(cfg);
	return rc;
}

/* aws_creds_provider_get, its warning or error said. */
static int get(struct aws_creds_provider *p, struct aws_creds *c)
{
	struct aws_error e = {0};
	int rc = aws_creds_provider_get(p, c, &e);
	said(&e);
	return rc;
}

static int64_t t(const char *iso)
{
	int64_t ns = -1;
	aws_creds_parse_expiration(iso, &ns);
	return ns;
}

/* ---- tests ---- */

static void test_time(void)
{
	int64_t ns;
	TAP_IS_INT(t("1970-01-01T00:00:00Z"), 0, "the epoch");
	TAP_IS_INT(t("2024-02-29T12:34:56Z"), INT64_C(1709210096) * NS, "a leap day");
	TAP_IS_INT(t("2024-02-29T12:34:56.5Z"), INT64_C(1709210096) * NS + NS / 2, "fractions");
	TAP_IS_INT(t("2024-02-29T12:34:56.123456789123Z"), INT64_C(1709210096) * NS + 123456789, "long fractions");
	TAP_IS_INT(t("2024-02-29T12:34:56+00:00"), INT64_C(1709210096) * NS, "+00:00 (export-credentials)");
	TAP_IS_INT(t("2024-02-29T14:34:56+02:00"), INT64_C(1709210096) * NS, "+02:00");
	TAP_IS_INT(t("2024-02-29T07:04:56-0530"), INT64_C(1709210096) * NS, "-0530");
	TAP_IS_INT(t("2024-02-29 12:34:56z"), INT64_C(1709210096) * NS, "space and lowercase z");
	TAP_IS_INT(t("2200-01-01T00:00:00Z"), INT64_C(7258118400) * NS, "2200 fits");
	const char *bad[] = {"",
	                     "2023-02-29T00:00:00Z",
	                     "2024-13-01T00:00:00Z",
	                     "2024-04-31T00:00:00Z",
	                     "2024-01-01T24:00:00Z",
	                     "2024-01-01T00:00:00",
	                     "2024-01-01T00:00:00Zjunk",
	                     "2024-01-01T00:00:00.Z",
	                     "2024-01-01",
	                     "9999-12-31T23:59:59Z",
	                     "1969-12-31T23:59:59Z",
	                     "2024-1-01T00:00:00Z",
	                     "1715000000"};
	for (size_t i = 0; i < ARRAY_LEN(bad); i++)
		TAP_IS_INT(aws_creds_parse_expiration(bad[i], &ns), -1, "'%s' is not a time", bad[i]);
}

static void test_env(void)
{
	struct aws_creds c;
	clean_env();
	setenv("AWS_ACCESS_KEY_ID", "AKIAENV000000000TEST", 1);
	setenv("AWS_SECRET_ACCESS_KEY", ENV_SECRET, 1);
	TAP_IS_INT(resolve(NULL, &c), 0, "environment credentials");
	TAP_IS_STR(c.access_key_id, "AKIAENV000000000TEST", "... key id");
	TAP_IS_STR(c.secret_access_key, ENV_SECRET, "... secret");
	TAP_IS_STR(c.session_token, NULL, "... no token");
	TAP_IS_INT(c.expiration, 0, "... no expiration");
	TAP_IS_STR(c.source, "environment", "... source");
	char *d = aws_creds_describe(&c);
	TAP_IS_STR(d, "environment (access key ****TEST)", "describe shows the source and 4 characters");
	free(d);
	aws_creds_free(&c);
	TAP_OK(c.secret_access_key == NULL && c.access_key_id == NULL, "free empties the struct");

	setenv("AWS_SESSION_TOKEN", ENV_TOKEN, 1);
	setenv("AWS_CREDENTIAL_EXPIRATION", "2200-01-01T00:00:00+00:00", 1);
	TAP_IS_INT(resolve(NULL, &c), 0, "with token and expiration");
	TAP_IS_STR(c.session_token, ENV_TOKEN, "... token");
	TAP_IS_INT(c.expiration, t("2200-01-01T00:00:00Z"), "... expiration parsed");
	aws_creds_free(&c);

	setenv("AWS_CREDENTIAL_EXPIRATION", "2020-01-01T00:00:00Z", 1);
	TAP_IS_INT(resolve(NULL, &c), -1, "expired environment credentials fail");
	is_stderr("rapid: cannot use AWS credentials from environment (access key ****TEST): they expired at 2020-01-01T00:00:00.000Z",
	          "... with the message");
	setenv("AWS_CREDENTIAL_EXPIRATION", "tomorrow", 1);
	TAP_IS_INT(resolve(NULL, &c), -1, "a malformed expiration fails");
	is_stderr("rapid: cannot use AWS credentials from the environment: AWS_CREDENTIAL_EXPIRATION 'tomorrow' is not "
	          "an ISO 8601 time like 2024-05-01T12:00:00Z",
	          "... with the message");
	unsetenv("AWS_CREDENTIAL_EXPIRATION");

	unsetenv("AWS_SECRET_ACCESS_KEY");
	TAP_IS_INT(resolve(NULL, &c), -1, "a key id without a secret fails");
	is_stderr("rapid: cannot use AWS credentials from the environment: AWS_ACCESS_KEY_ID is set but "
	          "AWS_SECRET_ACCESS_KEY is not",
	          "... with the message");
	setenv("AWS_SECRET_ACCESS_KEY", ENV_SECRET, 1);
	unsetenv("AWS_ACCESS_KEY_ID");
	TAP_IS_INT(resolve(NULL, &c), -1, "a secret without a key id fails");
	is_stderr("rapid: cannot use AWS credentials from the environment: AWS_SECRET_ACCESS_KEY is set but "
	          "AWS_ACCESS_KEY_ID is not",
	          "... with the message");
	setenv("AWS_ACCESS_KEY_ID", "AKIA ENV", 1);
	TAP_IS_INT(resolve(NULL, &c), -1, "a key id with a space fails");
	is_stderr("rapid: cannot use AWS credentials from the environment: AWS_ACCESS_KEY_ID contains a space, a "
	          "control character or a non-ASCII byte",
	          "... with the message");
	setenv("AWS_ACCESS_KEY_ID", "AKIAENV000000000TEST", 1);
	setenv("AWS_SESSION_TOKEN", ENV_TOKEN "\nX-Injected: 1", 1);
	TAP_IS_INT(resolve(NULL, &c), -1, "a token with a line break fails");
	is_stderr("rapid: cannot use AWS credentials from the environment: AWS_SESSION_TOKEN contains a space, a "
	          "control character or a non-ASCII byte",
	          "... without printing it");
	clean_env();
}

static const char creds_file[] =
    "[default]\n"
    "aws_access_key_id = AKIADEFAULT00000DEFL\n"
    "aws_secret_access_key = " DEF_SECRET "\n"
    "[dev]\n"
    "aws_access_key_id = AKIADEV0000000000DEV\n"
    "aws_secret_access_key = " DEV_SECRET "\n"
    "aws_session_token = " DEV_TOKEN "\n"
    "[half]\n"
    "aws_access_key_id = AKIAHALF000000000HLF\n";

static const char config_file[] =
    "[default]\n"
    "region = eu-west-1\n"
    "aws_access_key_id = AKIANOTTHISONE000000\n"
    "[profile prod]\n"
    "aws_access_key_id = AKIAPROD00000000PROD\n"
    "aws_secret_access_key = " PROD_SECRET "\n"
    "[profile role]\n"
    "role_arn = arn:aws:iam::123456789012:role/r\n"
    "source_profile = default\n"
    "[profile empty]\n"
    "region = eu-west-2\n";

static void test_profiles(void)
{
	struct aws_creds c;
	clean_env();
	put("p/credentials", creds_file);
	put("p/config", config_file);
	setenv("AWS_SHARED_CREDENTIALS_FILE", "p/credentials", 1);
	setenv("AWS_CONFIG_FILE", "p/config", 1);

	TAP_IS_INT(resolve(NULL, &c), 0, "default profile");
	TAP_IS_STR(c.access_key_id, "AKIADEFAULT00000DEFL", "... key from the credentials file");
	TAP_IS_STR(c.secret_access_key, DEF_SECRET, "... secret");
	TAP_IS_STR(c.session_token, NULL, "... no token");
	TAP_IS_STR(c.source, "profile default", "... source");
	aws_creds_free(&c);

	setenv("AWS_PROFILE", "dev", 1);
	TAP_IS_INT(resolve(NULL, &c), 0, "AWS_PROFILE=dev");
	TAP_IS_STR(c.access_key_id, "AKIADEV0000000000DEV", "... dev's key");
	TAP_IS_STR(c.secret_access_key, DEV_SECRET, "... dev's secret");
	TAP_IS_STR(c.session_token, DEV_TOKEN, "... dev's token");
	TAP_IS_STR(c.source, "profile dev", "... source");
	char *d = aws_creds_describe(&c);
	TAP_IS_STR(d, "profile dev (access key ****0DEV)", "... described");
	free(d);
	aws_creds_free(&c);

	TAP_IS_INT(resolve("prod", &c), 0, "--profile prod beats AWS_PROFILE");
	TAP_IS_STR(c.access_key_id, "AKIAPROD00000000PROD", "... keys from the config file");
	TAP_IS_STR(c.source, "profile prod", "... source");
	aws_creds_free(&c);
	unsetenv("AWS_PROFILE");

	TAP_IS_INT(resolve("half", &c), -1, "a profile with half a key fails");
	is_stderr("rapid: cannot use AWS credentials of profile 'half': aws_access_key_id is set but "
	          "aws_secret_access_key is not",
	          "... with the message");
	TAP_IS_INT(resolve("role", &c), -1, "a role profile fails");
	is_stderr("rapid: cannot use profile 'role': rapid does not support role_arn yet; export credentials with 'aws "
	          "configure export-credentials --profile role --format env'",
	          "... with a hint");
	TAP_IS_INT(resolve("empty", &c), -1, "a profile without keys, nothing else: fails");
	is_stderr("rapid: cannot find AWS credentials: none in profile 'empty', container credentials, IMDS (disabled by "
	          "AWS_EC2_METADATA_DISABLED)",
	          "... listing where it looked (no environment with --profile)");
	clean_env();
	TAP_IS_INT(resolve(NULL, &c), -1, "no credentials anywhere fails");
	is_stderr("rapid: cannot find AWS credentials: none in the environment, profile 'default', container "
	          "credentials, IMDS (disabled by AWS_EC2_METADATA_DISABLED)",
	          "... listing where it looked");
}

static void test_container(void)
{
	struct aws_creds c;
	clean_env();
	set_url("AWS_CONTAINER_CREDENTIALS_FULL_URI", "/creds");
	setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", AUTH_TOKEN, 1);
	snprintf(sh->auth, sizeof sh->auth, "%s", AUTH_TOKEN);
	serve_creds("ASIACONTAINER000CTR1", CT_SECRET, CT_TOKEN, "2200-01-01T00:00:00Z");

	int before = sh->cred_gets;
	TAP_IS_INT(resolve(NULL, &c), 0, "container credentials (FULL_URI, token)");
	TAP_IS_STR(c.access_key_id, "ASIACONTAINER000CTR1", "... key id");
	TAP_IS_STR(c.secret_access_key, CT_SECRET, "... secret");
	TAP_IS_STR(c.session_token, CT_TOKEN, "... token");
	TAP_IS_INT(c.expiration, t("2200-01-01T00:00:00Z"), "... expiration");
	TAP_IS_STR(c.source, "container", "... source");
	TAP_IS_INT(sh->cred_gets - before, 1, "... one request");
	TAP_IS_INT(sh->bad_auth, 0, "... with the right Authorization header");
	aws_creds_free(&c);

	/* Metadata services are link-local: a configured proxy is never
	 * used for them, whose token it would see (through the HTTP engine:
	 * http_config.no_proxy). */
	setenv("http_proxy", "http://127.0.0.1:1", 1);
	setenv("HTTP_PROXY", "http://127.0.0.1:1", 1);
	TAP_IS_INT(resolve(NULL, &c), 0, "container credentials with a proxy configured: not through it");
	TAP_IS_INT(sh->cred_gets - before, 2, "... straight to the agent");
	aws_creds_free(&c);
	unsetenv("http_proxy");
	unsetenv("HTTP_PROXY");

	put("token-file", AUTH_FILE_TOKEN "\n");
	setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "token-file", 1);
	snprintf(sh->auth, sizeof sh->auth, "%s", AUTH_FILE_TOKEN);
	TAP_IS_INT(resolve(NULL, &c), 0, "the token file wins over the token variable");
	TAP_IS_INT(sh->bad_auth, 0, "... its contents sent, newline dropped");
	aws_creds_free(&c);
	put("token-file", "other-token");
	TAP_IS_INT(resolve(NULL, &c), -1, "the token file is re-read; a wrong token fails");
	TAP_IS_INT(sh->bad_auth, 1, "... the server saw the wrong token");
	char *u = url("/creds"), *want = xasprintf("rapid: cannot get AWS credentials from '%s': HTTP 401", u);
	is_stderr(want, "... with the status");
	free(want);
	put("token-file", "two\r\nlines");
	TAP_IS_INT(resolve(NULL, &c), -1, "a token file with a line break fails");
	want = xasprintf("rapid: cannot get AWS credentials from '%s': the authorization token contains a line break "
	                 "or a control character",
	                 u);
	is_stderr(want, "... with the message");
	free(want);
	put("token-file", "");
	TAP_IS_INT(resolve(NULL, &c), -1, "an empty token file fails");
	want = xasprintf("rapid: cannot get AWS credentials from '%s': the authorization token is empty", u);
	is_stderr(want, "... with the message");
	free(want);
	setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "no-such-file", 1);
	TAP_IS_INT(resolve(NULL, &c), -1, "a missing token file fails");
	want = xasprintf("rapid: cannot get AWS credentials from '%s': cannot read "
	                 "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE 'no-such-file': No such file or directory",
	                 u);
	is_stderr(want, "... with the message");
	free(want);
	unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
	snprintf(sh->auth, sizeof sh->auth, "%s", AUTH_TOKEN);

	setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://192.0.2.1/creds", 1);
	TAP_IS_INT(resolve(NULL, &c), -1, "plain http off loopback is refused");
	is_stderr("rapid: cannot use AWS_CONTAINER_CREDENTIALS_FULL_URI 'http://192.0.2.1/creds': it must be https, or "
	          "http on loopback or the ECS/EKS agent address",
	          "... before connecting");
	setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "v2/creds", 1);
	TAP_IS_INT(resolve(NULL, &c), -1, "a relative URI without '/' fails");
	is_stderr("rapid: cannot use AWS_CONTAINER_CREDENTIALS_RELATIVE_URI 'v2/creds': it must start with '/'",
	          "... and wins over FULL_URI");
	unsetenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	set_url("AWS_CONTAINER_CREDENTIALS_FULL_URI", "/creds");

	/* malformed answers: a clear message each, never a crash */
	static const struct {
		int status;
		const char *body, *why;
	} bad[] = {
	    {500, "{}", "HTTP 500"},
	    {200, "", "the response is not valid JSON"},
	    {200, "{\"AccessKeyId\":\"A", "the response is not valid JSON"},
	    {200, "<html>hello</html>", "the response is not valid JSON"},
	    {200, "[1,2,3]", "the response is not a JSON object"},
	    {200, "null", "the response is not a JSON object"},
	    {200, "{\"SecretAccessKey\":\"" CT_SECRET "\",\"Token\":\"" CT_TOKEN "\",\"Expiration\":\"2200-01-01T00:00:00Z\"}",
	     "the response has no AccessKeyId"},
	    {200, "{\"AccessKeyId\":12,\"SecretAccessKey\":\"" CT_SECRET "\",\"Token\":\"" CT_TOKEN "\",\"Expiration\":\"2200-01-01T00:00:00Z\"}",
	     "AccessKeyId is not a string"},
	    {200, "{\"AccessKeyId\":\"ASIA00000000000000AA\",\"SecretAccessKey\":[\"" CT_SECRET "\"],\"Token\":\"" CT_TOKEN "\",\"Expiration\":\"2200-01-01T00:00:00Z\"}",
	     "SecretAccessKey is not a string"},
	    {200, "{\"AccessKeyId\":\"ASIA00000000000000AA\",\"SecretAccessKey\":\"" CT_SECRET "\",\"Expiration\":\"2200-01-01T00:00:00Z\"}",
	     "the response has no Token"},
	    {200, "{\"AccessKeyId\":\"ASIA00000000000000AA\",\"SecretAccessKey\":\"" CT_SECRET "\",\"Token\":\"" CT_TOKEN "\"}",
	     "the response has no Expiration"},
	    {200, "{\"AccessKeyId\":\"ASIA00000000000000AA\",\"SecretAccessKey\":\"" CT_SECRET "\",\"Token\":\"" CT_TOKEN "\",\"Expiration\":1700000000}",
	     "Expiration is not a string"},
	    {200, "{\"AccessKeyId\":\"ASIA00000000000000AA\",\"SecretAccessKey\":\"" CT_SECRET "\",\"Token\":\"" CT_TOKEN "\",\"Expiration\":\"soon\"}",
	     "Expiration 'soon' is not an ISO 8601 time between 1970 and 2200"},
	    {200, "{\"AccessKeyId\":\"\",\"SecretAccessKey\":\"" CT_SECRET "\",\"Token\":\"" CT_TOKEN "\",\"Expiration\":\"2200-01-01T00:00:00Z\"}",
	     "AccessKeyId is empty"},
	    {200, "{\"AccessKeyId\":\"ASIA00000000000000AA\",\"SecretAccessKey\":\"" CT_SECRET "\",\"Token\":\"" CT_TOKEN "\\r\\nX: y\",\"Expiration\":\"2200-01-01T00:00:00Z\"}",
	     "Token contains a space, a control character or a non-ASCII byte"},
	    {200, "{\"AccessKeyId\":\"ASIA00000000000000AA\",\"SecretAccessKey\":\"" CT_SECRET "\",\"Token\":\"" CT_TOKEN "\",\"Expiration\":\"2001-01-01T00:00:00Z\"}",
	     NULL}, /* expired: checked below */
	};
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		serve_raw(bad[i].status, bad[i].body);
		TAP_IS_INT(resolve(NULL, &c), -1, "malformed answer %zu fails", i);
		want = bad[i].why ? xasprintf("rapid: cannot get AWS credentials from '%s': %s", u, bad[i].why)
		                  : xstrdup("rapid: cannot use AWS credentials from container (access key ****00AA): they expired at "
		                            "2001-01-01T00:00:00.000Z");
		is_stderr(want, bad[i].why ? bad[i].why : "expired");
		free(want);
	}

	/* huge values: a 20 KB key id, a document past the body limit, deep nesting */
	struct buf b = {0};
	buf_puts(&b, "{\"AccessKeyId\":\"");
	for (int i = 0; i < 20000; i++)
		buf_putc(&b, 'K');
	buf_puts(&b, "\",\"SecretAccessKey\":\"" CT_SECRET "\",\"Token\":\"" CT_TOKEN
	             "\",\"Expiration\":\"2200-01-01T00:00:00Z\"}");
	serve_raw(200, b.data);
	TAP_IS_INT(resolve(NULL, &c), -1, "a 20 KB key id fails");
	want = xasprintf("rapid: cannot get AWS credentials from '%s': AccessKeyId is longer than 128 characters", u);
	is_stderr(want, "... with the message, without the value");
	free(want);
	buf_reset(&b);
	for (int i = 0; i < 20000; i++)
		buf_putc(&b, '[');
	serve_raw(200, b.data);
	TAP_IS_INT(resolve(NULL, &c), -1, "20,000 nested arrays fail");
	want = xasprintf("rapid: cannot get AWS credentials from '%s': the response is not valid JSON", u);
	is_stderr(want, "... as invalid JSON");
	free(want);
	buf_free(&b);
	sh->huge = 1;
	TAP_IS_INT(resolve(NULL, &c), -1, "a 200 KB body fails");
	want = xasprintf("rapid: cannot get AWS credentials from '%s': the response is larger than 65536 bytes", u);
	is_stderr(want, "... with the message");
	free(want);
	sh->huge = 0;
	sh->hangup = 1;
	TAP_IS_INT(resolve(NULL, &c), -1, "a connection closed without an answer fails");
	char *got = stderr_since();
	want = xasprintf("rapid: cannot get AWS credentials from '%s': ", u);
	TAP_OK(!strncmp(got, want, strlen(want)) && strlen(got) > strlen(want), "... with curl's reason: %s", got);
	free(got);
	free(want);
	sh->hangup = 0;
	free(u);
	clean_env();
}

static void test_imds(void)
{
	struct aws_creds c;
	clean_env();
	unsetenv("AWS_EC2_METADATA_DISABLED");
	set_url("AWS_EC2_METADATA_SERVICE_ENDPOINT", "/");
	sh->role_status = 200;
	snprintf(sh->role_body, sizeof sh->role_body, "rapid-role\n");
	serve_creds("ASIAIMDS0000000IMDS1", IMDS_SECRET, IMDS_TOKEN, "2200-01-01T00:00:00Z");

	int puts0 = sh->token_puts, roles0 = sh->role_gets, gets0 = sh->cred_gets;
	TAP_IS_INT(resolve(NULL, &c), 0, "IMDSv2 credentials");
	TAP_IS_STR(c.access_key_id, "ASIAIMDS0000000IMDS1", "... key id");
	TAP_IS_STR(c.secret_access_key, IMDS_SECRET, "... secret");
	TAP_IS_STR(c.session_token, IMDS_TOKEN, "... token");
	TAP_IS_STR(c.source, "imds", "... source");
	TAP_IS_INT(sh->token_puts - puts0, 1, "... one token PUT");
	TAP_IS_INT(sh->role_gets - roles0, 1, "... one role listing");
	TAP_IS_INT(sh->cred_gets - gets0, 1, "... one credentials GET");
	TAP_IS_INT(sh->bad_imds_token, 0, "... every GET carried the session token");
	aws_creds_free(&c);

	char *base = url("");
	serve_raw(200, "{\"Code\":\"Failure\",\"Message\":\"no\"}");
	TAP_IS_INT(resolve(NULL, &c), -1, "Code other than Success fails");
	char *want = xasprintf("rapid: cannot get AWS credentials from '%s/latest/meta-data/iam/security-credentials/"
	                       "rapid-role': Code is 'Failure', not 'Success'",
	                       base);
	is_stderr(want, "... with the message");
	free(want);

	snprintf(sh->role_body, sizeof sh->role_body, "../../etc");
	TAP_IS_INT(resolve(NULL, &c), -1, "a role name with '/' fails");
	want = xasprintf("rapid: cannot get the instance's role from '%s/latest/meta-data/iam/security-credentials/': "
	                 "the response is not a role name",
	                 base);
	is_stderr(want, "... with the message");
	free(want);

	sh->role_status = 404;
	TAP_IS_INT(resolve(NULL, &c), -1, "an instance without a role: no credentials");
	want = xasprintf("rapid: cannot find AWS credentials: none in the environment, profile 'default', container "
	                 "credentials, IMDS ('%s': the instance has no IAM role)",
	                 base);
	is_stderr(want, "... listing where it looked");
	free(want);
	sh->role_status = 200;
	snprintf(sh->role_body, sizeof sh->role_body, "rapid-role");

	/* a closed port: like a machine that is not on EC2 */
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof a;
	bind(s, (struct sockaddr *)&a, sizeof a);
	getsockname(s, (struct sockaddr *)&a, &al);
	close(s);
	char *closed = xasprintf("http://127.0.0.1:%d", ntohs(a.sin_port));
	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", closed, 1);
	TAP_IS_INT(resolve(NULL, &c), -1, "an unreachable IMDS: no credentials");
	char *got = stderr_since();
	want = xasprintf("rapid: cannot find AWS credentials: none in the environment, profile 'default', container "
	                 "credentials, IMDS ('%s': ",
	                 closed);
	TAP_OK(!strncmp(got, want, strlen(want)), "... says IMDS did not answer: %s", got);
	free(got);
	free(want);
	free(closed);

	set_url("AWS_EC2_METADATA_SERVICE_ENDPOINT", "");
	setenv("AWS_EC2_METADATA_DISABLED", "TRUE", 1);
	int reqs = sh->requests;
	TAP_IS_INT(resolve(NULL, &c), -1, "AWS_EC2_METADATA_DISABLED=TRUE: no credentials");
	TAP_IS_INT(sh->requests, reqs, "... and no request");
	is_stderr("rapid: cannot find AWS credentials: none in the environment, profile 'default', container "
	          "credentials, IMDS (disabled by AWS_EC2_METADATA_DISABLED)",
	          "... with the message");
	free(base);
	clean_env();
}

static void test_precedence(void)
{
	struct aws_creds c;
	clean_env();
	unsetenv("AWS_EC2_METADATA_DISABLED");
	set_url("AWS_EC2_METADATA_SERVICE_ENDPOINT", "");
	set_url("AWS_CONTAINER_CREDENTIALS_FULL_URI", "/creds");
	setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", AUTH_TOKEN, 1);
	setenv("AWS_SHARED_CREDENTIALS_FILE", "p/credentials", 1);
	setenv("AWS_CONFIG_FILE", "p/config", 1);
	setenv("AWS_ACCESS_KEY_ID", "AKIAENV000000000TEST", 1);
	setenv("AWS_SECRET_ACCESS_KEY", ENV_SECRET, 1);
	serve_creds("ASIACONTAINER000CTR1", CT_SECRET, CT_TOKEN, "2200-01-01T00:00:00Z");
	sh->role_status = 200;

	int reqs = sh->requests;
	resolve(NULL, &c);
	TAP_IS_STR(c.source, "environment", "environment beats everything");
	aws_creds_free(&c);
	TAP_IS_INT(sh->requests, reqs, "... and nothing was asked on the network");
	setenv("AWS_PROFILE", "dev", 1);
	resolve(NULL, &c);
	TAP_IS_STR(c.source, "environment", "... even with AWS_PROFILE");
	aws_creds_free(&c);
	unsetenv("AWS_PROFILE");
	resolve("dev", &c);
	TAP_IS_STR(c.source, "profile dev", "but --profile skips the environment");
	aws_creds_free(&c);

	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	resolve(NULL, &c);
	TAP_IS_STR(c.source, "profile default", "profile files beat the container");
	aws_creds_free(&c);
	TAP_IS_INT(sh->requests, reqs, "... still no request");

	setenv("AWS_SHARED_CREDENTIALS_FILE", "nowhere/credentials", 1);
	setenv("AWS_CONFIG_FILE", "nowhere/config", 1);
	resolve(NULL, &c);
	TAP_IS_STR(c.source, "container", "the container beats IMDS");
	aws_creds_free(&c);
	int puts0 = sh->token_puts;
	unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
	resolve(NULL, &c);
	TAP_IS_STR(c.source, "imds", "IMDS last");
	aws_creds_free(&c);
	TAP_IS_INT(sh->token_puts - puts0, 1, "... asked only then");
	clean_env();
}

static int64_t fake_now;

static int64_t clock_fn(void *arg)
{
	(void)arg;
	return fake_now;
}

static void test_refresh(void)
{
	struct aws_creds c;
	clean_env();
	set_url("AWS_CONTAINER_CREDENTIALS_FULL_URI", "/creds");
	setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", AUTH_TOKEN, 1);
	snprintf(sh->auth, sizeof sh->auth, "%s", AUTH_TOKEN);
	serve_creds("ASIACONTAINER000CTR1", CT_SECRET, CT_TOKEN, "2030-01-01T01:00:00Z");

	struct aws_config *cfg = aws_config_load(NULL, NULL);
	struct aws_creds_provider *p = aws_creds_provider_new(cfg);
	aws_creds_provider_set_clock(p, clock_fn, NULL);
	fake_now = t("2030-01-01T00:00:00Z");
	int gets0 = sh->cred_gets;

	TAP_IS_INT(get(p, &c), 0, "provider: first get");
	TAP_IS_STR(c.access_key_id, "ASIACONTAINER000CTR1", "... first credentials");
	aws_creds_free(&c);
	TAP_IS_INT(sh->cred_gets - gets0, 1, "... one fetch");
	fake_now = t("2030-01-01T00:54:00Z");
	get(p, &c);
	aws_creds_free(&c);
	get(p, &c);
	TAP_IS_STR(c.access_key_id, "ASIACONTAINER000CTR1", "6 minutes before expiry: cached");
	aws_creds_free(&c);
	TAP_IS_INT(sh->cred_gets - gets0, 1, "... no second fetch");
	TAP_IS_INT(aws_creds_provider_fetches(p), 1, "... the provider counts one");

	serve_creds("ASIACONTAINER000CTR2", CT2_SECRET, CT2_TOKEN, "2030-01-01T02:00:00Z");
	fake_now = t("2030-01-01T00:56:00Z");
	TAP_IS_INT(get(p, &c), 0, "4 minutes before expiry: refreshed");
	TAP_IS_STR(c.access_key_id, "ASIACONTAINER000CTR2", "... new key id");
	TAP_IS_STR(c.secret_access_key, CT2_SECRET, "... new secret");
	TAP_IS_STR(c.session_token, CT2_TOKEN, "... new token");
	TAP_IS_INT(c.expiration, t("2030-01-01T02:00:00Z"), "... new expiration");
	aws_creds_free(&c);
	TAP_IS_INT(sh->cred_gets - gets0, 2, "... a second fetch");
	TAP_IS_INT(aws_creds_provider_fetches(p), 2, "... the provider counts two");

	serve_raw(500, "{}");
	fake_now = t("2030-01-01T01:56:00Z");
	TAP_IS_INT(get(p, &c), 0, "a failed refresh keeps unexpired credentials");
	TAP_IS_STR(c.access_key_id, "ASIACONTAINER000CTR2", "... the current ones");
	aws_creds_free(&c);
	char *u = url("/creds");
	char *want = xasprintf("rapid: cannot get AWS credentials from '%s': HTTP 500; using the current ones until "
	                       "they expire at 2030-01-01T02:00:00.000Z",
	                       u);
	is_stderr(want, "... and says so once");
	free(want);
	TAP_IS_INT(sh->cred_gets - gets0, 3, "... after one attempt");
	fake_now += 10 * NS;
	TAP_IS_INT(get(p, &c), 0, "10 s later: still the current ones");
	aws_creds_free(&c);
	TAP_IS_INT(sh->cred_gets - gets0, 3, "... without asking again");
	is_stderr("", "... silently");
	fake_now = t("2030-01-01T02:00:00Z");
	TAP_IS_INT(get(p, &c), -1, "once expired, a failed refresh fails");
	want = xasprintf("rapid: cannot get AWS credentials from '%s': HTTP 500", u);
	is_stderr(want, "... with the message");
	free(want);

	serve_creds("ASIACONTAINER000CTR1", CT_SECRET, CT_TOKEN, "2030-01-01T03:00:00Z");
	TAP_IS_INT(get(p, &c), 0, "the source recovers: credentials again");
	TAP_IS_STR(c.access_key_id, "ASIACONTAINER000CTR1", "... fresh ones");
	aws_creds_free(&c);
	aws_creds_provider_free(p);
	aws_config_free(cfg);

	/* the default clock and a source without expiration: fetched once */
	clean_env();
	setenv("AWS_ACCESS_KEY_ID", "AKIAENV000000000TEST", 1);
	setenv("AWS_SECRET_ACCESS_KEY", ENV_SECRET, 1);
	p = aws_creds_provider_new(NULL);
	for (int i = 0; i < 3; i++) {
		get(p, &c);
		aws_creds_free(&c);
	}
	TAP_IS_INT(aws_creds_provider_fetches(p), 1, "credentials without expiration are fetched once");
	aws_creds_provider_free(p);
	free(u);
	clean_env();
}

static void test_no_secret_on_stderr(void)
{
	char *all = stderr_all();
	size_t len = strlen(all);
	TAP_OK(all && len > 1000, "stderr captured (%zu bytes of messages)", len);
	for (size_t i = 0; i < ARRAY_LEN(secrets); i++)
		TAP_OK(all && !strstr(all, secrets[i]), "stderr never shows secret %zu", i);
	/* and no fragment of one: every secret has a 12-character marker */
	TAP_OK(all && !strstr(all, "SECRETxxxx") && !strstr(all, "TOKENxxxx") && !strstr(all, "TOKEN-for"),
	       "no fragment of a secret either");
	free(all);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	server_start();
	capture_stderr();
	test_time();
	test_env();
	test_profiles();
	test_container();
	test_imds();
	test_precedence();
	test_refresh();
	test_no_secret_on_stderr();
	server_stop();
	return tap_done();
}
