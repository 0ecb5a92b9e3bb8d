/* batch_test.c - aws/batch against a loopback HTTP/1.1 responder run by
 * this test in a thread of its own (127.0.0.1, a free port, one request a
 * connection). Each test sets the handler that answers; the responder
 * records every request (path, Content-Type, Authorization's scope, body)
 * so that a test checks what was sent and how many requests it took:
 * request bodies exactly, refused inputs (nothing sent), answers realistic
 * and malformed, error codes from the header and from the body, what is
 * retried and what is not, and the paging of DescribeJobs, ListJobs and
 * DescribeJobDefinitions. */
#include "aws/batch.h"
#include "lib/util.h"
#include "tests/unit/tap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define SECRET "wJalrXUtnFEMIK7MDENGbPxRfiCYSECRETKEY"
#define MAX_SEEN 64

/* ---- the responder ---- */

struct seen {
	char path[128];
	char ctype[64];
	char scope[128]; /* Authorization's Credential=…/<date>/<region>/<service>/aws4_request, after the key id */
	char *body;
};

/* What the handler answers: status, extra header lines ("Name: v\r\n"),
 * body (owned; NULL: none); close_only: close without answering. */
struct answer {
	int status;
	char headers[256];
	char *body;
	int close_only;
};

typedef void (*handler_fn)(int nth, const struct seen *, struct answer *);

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct seen seen[MAX_SEEN];
static int nseen;
static handler_fn handler;
static int port;

static int send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void header_value(const char *head, const char *name, char *out, size_t cap)
{
	char key[64];
	snprintf(key, sizeof(key), "\r\n%s:", name);
	const char *h = strcasestr(head, key);
	out[0] = 0;
	if (!h)
		return;
	h += strlen(key);
	while (*h == ' ')
		h++;
	snprintf(out, cap, "%.*s", (int)strcspn(h, "\r\n"), h);
}

static void serve(int fd)
{
	static char in[1 << 20];
	size_t have = 0;
	char *end;
	while (!(end = memmem(in, have, "\r\n\r\n", 4))) {
		ssize_t r = read(fd, in + have, sizeof(in) - 1 - have);
		if (r <= 0)
			return;
		have += (size_t)r;
	}
	size_t head_len = (size_t)(end - in) + 4, body_len = 0;
	char cl[32];
	in[head_len - 2] = 0;
	header_value(in, "Content-Length", cl, sizeof(cl));
	body_len = strtoul(cl, NULL, 10);
	while (have < head_len + body_len) {
		ssize_t r = read(fd, in + have, sizeof(in) - 1 - have);
		if (r <= 0)
			return;
		have += (size_t)r;
	}
	struct seen s = {0};
	char auth[512];
	sscanf(in, "%*s %127s", s.path);
	header_value(in, "Content-Type", s.ctype, sizeof(s.ctype));
	header_value(in, "Authorization", auth, sizeof(auth));
	const char *cred = strstr(auth, "Credential=");
	if (cred && (cred = strchr(cred, '/')))
		snprintf(s.scope, sizeof(s.scope), "%.*s", (int)strcspn(cred + 1, ","), cred + 1);
	s.body = xstrndup(in + head_len, body_len);

	pthread_mutex_lock(&mu);
	int nth = nseen;
	if (nseen < MAX_SEEN)
		seen[nseen++] = s;
	else
		free(s.body);
	handler_fn h = handler;
	pthread_mutex_unlock(&mu);

	struct answer a = {.status = 200};
	if (h)
		h(nth, nth < MAX_SEEN ? &seen[nth] : &s, &a);
	if (a.close_only) {
		free(a.body);
		return;
	}
	char head[512];
	size_t n = a.body ? strlen(a.body) : 0;
	int hn = snprintf(head, sizeof(head),
	                  "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
	                  "Connection: close\r\n%s\r\n", a.status, n, a.headers);
	if (send_all(fd, head, (size_t)hn) == 0 && n)
		send_all(fd, a.body, n);
	free(a.body);
}

static void *server_main(void *arg)
{
	int ls = *(int *)arg;
	for (;;) {
		int c = accept(ls, NULL, NULL);
		if (c < 0)
			continue;
		serve(c);
		close(c);
	}
	return NULL;
}

static void server_start(void)
{
	static int ls;
	struct sockaddr_in sa = {0};
	socklen_t sl = sizeof(sa);
	pthread_t t;
	int one = 1;
	ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ls < 0)
		fatal("cannot start the test server: %s", strerror(errno));
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(ls, 64) < 0 ||
	    getsockname(ls, (struct sockaddr *)&sa, &sl) < 0)
		fatal("cannot start the test server: %s", strerror(errno));
	port = ntohs(sa.sin_port);
	if (pthread_create(&t, NULL, server_main, &ls) != 0)
		fatal("cannot start the server thread");
	pthread_detach(t);
}

/* Forget what was seen and answer with h from now on. */
static void serve_with(handler_fn h)
{
	pthread_mutex_lock(&mu);
	for (int i = 0; i < nseen; i++)
		free(seen[i].body);
	memset(seen, 0, sizeof(seen));
	nseen = 0;
	handler = h;
	pthread_mutex_unlock(&mu);
}

static int requests(void)
{
	pthread_mutex_lock(&mu);
	int n = nseen;
	pthread_mutex_unlock(&mu);
	return n;
}

/* A client of the responder at base path base ("" or "/prefix"). */
static struct batch *client(const char *base)
{
	struct aws_error err = {0};
	char url[128];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, base);
	setenv("AWS_ENDPOINT_URL_BATCH", url, 1);
	struct batch *b = batch_new(NULL, &err);
	if (!b) {
		char *m = aws_error_format(&err);
		fatal("cannot make a Batch client: %s", m);
	}
	return b;
}

static char *fmt_error(struct aws_error *e)
{
	char *m = aws_error_format(e);
	return m;
}

/* ---- handlers ---- */

static const char *fixed_status_body;
static int fixed_status;
static const char *fixed_headers = "";

static void answer_fixed(int nth, const struct seen *s, struct answer *a)
{
	(void)nth, (void)s;
	a->status = fixed_status;
	snprintf(a->headers, sizeof(a->headers), "%s", fixed_headers);
	a->body = fixed_status_body ? xstrdup(fixed_status_body) : NULL;
}

/* Answer status/body for each request in turn (the last repeats). */
static const struct {
	int status;
	const char *headers, *body;
	int close_only;
} *script;
static size_t script_len;

static void answer_script(int nth, const struct seen *s, struct answer *a)
{
	(void)s;
	size_t i = (size_t)nth < script_len ? (size_t)nth : script_len - 1;
	a->status = script[i].status;
	snprintf(a->headers, sizeof(a->headers), "%s", script[i].headers ? script[i].headers : "");
	a->body = script[i].body ? xstrdup(script[i].body) : NULL;
	a->close_only = script[i].close_only;
}

#define SCRIPT(...)                                                                       \
	do {                                                                              \
		static const struct {                                                     \
			int status;                                                       \
			const char *headers, *body;                                       \
			int close_only;                                                   \
		} s_[] = {__VA_ARGS__};                                                   \
		script = (const void *)s_;                                                \
		script_len = ARRAY_LEN(s_);                                               \
		serve_with(answer_script);                                                \
	} while (0)

static void fixed(int status, const char *headers, const char *body)
{
	fixed_status = status;
	fixed_headers = headers;
	fixed_status_body = body;
	serve_with(answer_fixed);
}

/* ---- request bodies ---- */

static const char *const command[] = {"rapid", "runner", "--manifest", "s3://b/.rapid/submissions/x/maps/0/manifest.jsonl"};
static const struct batch_kv env[] = {{"RAPID_ROOT", "s3://b/out/"}, {"RAPID_TRACE", NULL}};
static const struct batch_kv tags[] = {{"rapid:submission", "20261202T031500Z-7f3a"}};
static const struct batch_dep deps[] = {{"up-1", "N_TO_N"}, {"up-2", NULL}};

static struct batch_submit full_submit(void)
{
	struct batch_submit s = {
		.job_name = "rapid-maps-20261202T031500Z-7f3a-0", .job_queue = "rapid-queue",
		.job_definition = "rapid-jd:3", .array_size = 1096, .deps = deps, .ndeps = 2,
		.command = command, .ncommand = 4, .env = env, .nenv = 2, .vcpus = 4, .memory_mib = 8192,
		.gpus = 1, .timeout_s = 7200, .attempts = 3, .tags = tags, .ntags = 1, .propagate_tags = true,
	};
	return s;
}

static void test_bodies(void)
{
	struct batch_submit s = full_submit();
	char *body = batch_submit_body(&s);
	TAP_IS_STR(body,
	           "{\"jobName\":\"rapid-maps-20261202T031500Z-7f3a-0\",\"jobQueue\":\"rapid-queue\","
	           "\"jobDefinition\":\"rapid-jd:3\",\"arrayProperties\":{\"size\":1096},"
	           "\"dependsOn\":[{\"jobId\":\"up-1\",\"type\":\"N_TO_N\"},{\"jobId\":\"up-2\"}],"
	           "\"containerOverrides\":{\"command\":[\"rapid\",\"runner\",\"--manifest\","
	           "\"s3://b/.rapid/submissions/x/maps/0/manifest.jsonl\"],"
	           "\"environment\":[{\"name\":\"RAPID_ROOT\",\"value\":\"s3://b/out/\"},{\"name\":\"RAPID_TRACE\",\"value\":\"\"}],"
	           "\"resourceRequirements\":[{\"type\":\"VCPU\",\"value\":\"4\"},{\"type\":\"MEMORY\",\"value\":\"8192\"},"
	           "{\"type\":\"GPU\",\"value\":\"1\"}]},"
	           "\"timeout\":{\"attemptDurationSeconds\":7200},"
	           "\"retryStrategy\":{\"attempts\":3,\"evaluateOnExit\":[{\"onStatusReason\":\"Host EC2*\",\"action\":\"RETRY\"},"
	           "{\"onReason\":\"*\",\"action\":\"EXIT\"}]},"
	           "\"tags\":{\"rapid:submission\":\"20261202T031500Z-7f3a\"},\"propagateTags\":true}",
	           "SubmitJob body: every field, resources as strings, evaluateOnExit RETRY then EXIT");
	free(body);

	struct batch_submit plain = {.job_name = "j", .job_queue = "q", .job_definition = "d", .memory_mib = 512};
	body = batch_submit_body(&plain);
	TAP_IS_STR(body,
	           "{\"jobName\":\"j\",\"jobQueue\":\"q\",\"jobDefinition\":\"d\",\"containerOverrides\":"
	           "{\"resourceRequirements\":[{\"type\":\"MEMORY\",\"value\":\"512\"}]}}",
	           "a plain job: no arrayProperties, retryStrategy, timeout or tags");
	free(body);
	plain.memory_mib = 0;
	body = batch_submit_body(&plain);
	TAP_IS_STR(body, "{\"jobName\":\"j\",\"jobQueue\":\"q\",\"jobDefinition\":\"d\"}",
	           "nothing overridden: no containerOverrides");
	free(body);
}

static void test_refused(struct batch *b)
{
	static const char *const long_name =
		"a23456789012345678901234567890123456789012345678901234567890123456789012345678901234567890"
		"123456789012345678901234567890123456789";
	struct {
		struct batch_submit s;
		const char *msg;
	} cases[8];
	struct batch_dep many[21], seq_plain = {"up", "SEQUENTIAL"}, bad_type = {"up", "ALL"};
	struct batch_kv reserved_env = {"AWS_BATCH_JOB_ID", "x"}, aws_tag = {"aws:cloudformation:stack-name", "s"};
	for (size_t i = 0; i < ARRAY_LEN(many); i++)
		many[i] = (struct batch_dep){"up", NULL};
	size_t n = 0;
	struct batch_submit ok = full_submit();

	cases[n].s = ok, cases[n].s.job_name = "-bad name";
	cases[n++].msg = "cannot submit job '-bad name': a job name is 1 to 128 letters, digits, hyphens and underscores, "
	                 "starting with a letter or digit";
	cases[n].s = ok, cases[n].s.job_name = long_name;
	cases[n++].msg = NULL; /* 129 characters */
	cases[n].s = ok, cases[n].s.array_size = 10001;
	cases[n++].msg = "cannot submit job 'rapid-maps-20261202T031500Z-7f3a-0': array size 10001 is not within 2..10000";
	cases[n].s = ok, cases[n].s.deps = many, cases[n].s.ndeps = 21;
	cases[n++].msg = "cannot submit job 'rapid-maps-20261202T031500Z-7f3a-0': 21 dependencies: Batch takes at most 20";
	cases[n].s = ok, cases[n].s.attempts = 11;
	cases[n++].msg = "cannot submit job 'rapid-maps-20261202T031500Z-7f3a-0': 11 attempts is not within 1..10";
	cases[n].s = ok, cases[n].s.timeout_s = 59;
	cases[n++].msg = "cannot submit job 'rapid-maps-20261202T031500Z-7f3a-0': a timeout of 59 s is under Batch's "
	                 "minimum of 60 s";
	cases[n].s = ok, cases[n].s.array_size = 0, cases[n].s.deps = &seq_plain, cases[n].s.ndeps = 1;
	cases[n++].msg = "cannot submit job 'rapid-maps-20261202T031500Z-7f3a-0': dependency 1 is SEQUENTIAL, which "
	                 "needs an array job";
	cases[n].s = ok, cases[n].s.env = &reserved_env, cases[n].s.nenv = 1;
	cases[n++].msg = "cannot submit job 'rapid-maps-20261202T031500Z-7f3a-0': environment variable "
	                 "'AWS_BATCH_JOB_ID': names starting with AWS_BATCH are Batch's";
	serve_with(NULL);
	for (size_t i = 0; i < n; i++) {
		struct aws_error err = {0};
		char *id = (char *)"unset";
		TAP_IS_INT(batch_submit_job(b, &cases[i].s, &id, &err), -1, "case %zu refused", i + 1);
		TAP_OK(id == NULL, "no job id");
		TAP_IS_INT(err.kind, AWS_ERR_CONFIG, "a configuration error");
		char *m = fmt_error(&err);
		if (cases[i].msg)
			TAP_IS_STR(m, cases[i].msg, "its message");
		else
			TAP_OK(strstr(m, "a job name is 1 to 128") != NULL, "a name of 129 characters: %s", m);
		free(m);
		aws_error_clear(&err);
	}
	struct batch_submit more[] = {ok, ok, ok, ok, ok};
	more[0].deps = &bad_type, more[0].ndeps = 1;
	more[1].tags = &aws_tag, more[1].ntags = 1;
	more[2].job_queue = "";
	more[3].array_size = 1;
	more[4].vcpus = -1;
	for (size_t i = 0; i < ARRAY_LEN(more); i++) {
		struct aws_error err = {0};
		TAP_IS_INT(batch_submit_check(&more[i], &err), -1, "check refuses case %zu", i + 1);
		char *m = fmt_error(&err);
		TAP_OK(!strncmp(m, "cannot submit job 'rapid-maps-", 30), "naming the job: %s", m);
		free(m);
		aws_error_clear(&err);
	}
	struct aws_error err = {0};
	TAP_IS_INT(batch_submit_check(&ok, &err), 0, "the full job passes the check");
	struct batch_submit noname = ok;
	noname.job_name = NULL;
	TAP_IS_INT(batch_submit_check(&noname, &err), -1, "no name refused");
	char *m = fmt_error(&err);
	TAP_IS_STR(m, "cannot submit job: no job name", "... saying so");
	free(m);
	aws_error_clear(&err);
	TAP_IS_INT(requests(), 0, "nothing refused was sent");

	TAP_IS_INT(batch_terminate_job(b, "j1", NULL, &err), -1, "terminate without a reason refused");
	m = fmt_error(&err);
	TAP_IS_STR(m, "cannot terminate job 'j1': Batch needs a reason", "... naming the job");
	free(m);
	aws_error_clear(&err);
	TAP_IS_INT(requests(), 0, "... before any request");
}

/* ---- calls ---- */

static void test_submit(struct batch *b)
{
	struct aws_error err = {0};
	struct batch_submit s = full_submit();
	char *id = NULL;
	fixed(200, "", "{\"jobArn\":\"arn:aws:batch:eu-west-1:123456789012:job/6f1c\",\"jobName\":\"x\",\"jobId\":\"6f1c-42\"}");
	unsigned before = batch_requests(b);
	TAP_IS_INT(batch_submit_job(b, &s, &id, &err), 0, "SubmitJob succeeds");
	TAP_IS_STR(id, "6f1c-42", "the job id");
	TAP_IS_INT(batch_requests(b) - before, 1, "one request counted");
	TAP_IS_INT(requests(), 1, "one request seen");
	TAP_IS_STR(seen[0].path, "/v1/submitjob", "POST /v1/submitjob");
	TAP_IS_STR(seen[0].ctype, "application/json", "Content-Type application/json");
	TAP_OK(strstr(seen[0].scope, "/eu-west-1/batch/aws4_request") != NULL, "signed for batch in the region (%s)",
	       seen[0].scope);
	char *want = batch_submit_body(&s);
	TAP_IS_STR(seen[0].body, want, "the body sent is batch_submit_body's");
	free(want);
	free(id);

	fixed(200, "", "{\"jobName\":\"x\"}");
	id = NULL;
	TAP_IS_INT(batch_submit_job(b, &s, &id, &err), -1, "an answer without jobId fails");
	TAP_IS_INT(err.kind, AWS_ERR_RESPONSE, "as a malformed answer");
	char *m = fmt_error(&err);
	TAP_IS_STR(m, "cannot submit job 'rapid-maps-20261202T031500Z-7f3a-0': malformed SubmitJob response: jobId is missing",
	           "naming the operation and the field");
	free(m);
	aws_error_clear(&err);
}

static const char describe_answer[] =
	"{\"jobs\":["
	/* an array parent, running */
	"{\"jobArn\":\"arn:aws:batch:eu-west-1:123456789012:job/parent-1\",\"jobName\":\"rapid-maps-x-0\","
	"\"jobId\":\"parent-1\",\"jobQueue\":\"arn:aws:batch:eu-west-1:123456789012:job-queue/rapid\","
	"\"status\":\"RUNNING\",\"attempts\":[],\"createdAt\":1764645300123,\"startedAt\":1764645400456,"
	"\"dependsOn\":[],\"jobDefinition\":\"arn:aws:batch:eu-west-1:123456789012:job-definition/rapid-jd:3\","
	"\"parameters\":{},\"container\":{\"image\":\"r:3.1\",\"command\":[\"rapid\"],\"environment\":[]},"
	"\"arrayProperties\":{\"statusSummary\":{\"STARTING\":0,\"FAILED\":2,\"RUNNING\":5,\"SUCCEEDED\":90,"
	"\"RUNNABLE\":3,\"SUBMITTED\":0,\"PENDING\":0},\"size\":100},\"tags\":{},\"platformCapabilities\":[]},"
	/* a child reclaimed twice: no exit code */
	"{\"jobName\":\"rapid-maps-x-0\",\"jobId\":\"parent-1:7\",\"jobQueue\":\"rapid\",\"status\":\"FAILED\","
	"\"statusReason\":\"Host EC2 (instance i-0a1b2c3d4e5f67890) terminated.\","
	"\"attempts\":[{\"container\":{\"containerInstanceArn\":\"arn:ci/1\",\"taskArn\":\"arn:t/1\","
	"\"logStreamName\":\"rapid-jd/default/aaa\",\"networkInterfaces\":[]},\"startedAt\":1764645401000,"
	"\"stoppedAt\":1764645500000,\"statusReason\":\"Host EC2 (instance i-0a1b2c3d4e5f67890) terminated.\"},"
	"{\"container\":{\"taskArn\":\"arn:t/2\",\"logStreamName\":\"rapid-jd/default/bbb\"},\"startedAt\":1764645600000,"
	"\"stoppedAt\":1764645700000,\"statusReason\":\"Host EC2 (instance i-0fedcba9876543210) terminated.\"}],"
	"\"createdAt\":1764645300123,\"startedAt\":1764645401000,\"stoppedAt\":1764645700000,"
	"\"jobDefinition\":\"rapid-jd:3\",\"container\":{\"image\":\"r:3.1\",\"logStreamName\":\"rapid-jd/default/bbb\"},"
	"\"arrayProperties\":{\"index\":7}},"
	/* a child killed for its memory */
	"{\"jobName\":\"rapid-maps-x-0\",\"jobId\":\"parent-1:8\",\"jobQueue\":\"rapid\",\"status\":\"FAILED\","
	"\"statusReason\":\"Essential container in task exited\","
	"\"attempts\":[{\"container\":{\"exitCode\":137,\"reason\":\"OutOfMemoryError: Container killed due to memory usage\","
	"\"logStreamName\":\"rapid-jd/default/ccc\"},\"startedAt\":1764645401000,\"stoppedAt\":1764645800000,"
	"\"statusReason\":\"Essential container in task exited\"}],"
	"\"createdAt\":1764645300123,\"startedAt\":1764645401000,\"stoppedAt\":1764645800000,"
	"\"jobDefinition\":\"rapid-jd:3\",\"container\":{\"exitCode\":137,"
	"\"reason\":\"OutOfMemoryError: Container killed due to memory usage\",\"logStreamName\":\"rapid-jd/default/ccc\"},"
	"\"arrayProperties\":{\"index\":8}}"
	"]}";

static void test_describe(struct batch *b)
{
	struct aws_error err = {0};
	const char *ids[] = {"parent-1", "parent-1:7", "parent-1:8", "gone"};
	struct batch_job *jobs = NULL;
	size_t n = 0;
	fixed(200, "", describe_answer);
	TAP_IS_INT(batch_describe_jobs(b, ids, 4, &jobs, &n, &err), 0, "DescribeJobs succeeds");
	TAP_IS_INT(n, 3, "three jobs known (one gone)");
	TAP_IS_STR(seen[0].path, "/v1/describejobs", "POST /v1/describejobs");
	TAP_IS_STR(seen[0].body, "{\"jobs\":[\"parent-1\",\"parent-1:7\",\"parent-1:8\",\"gone\"]}", "the ids asked");
	if (n != 3)
		return;
	struct batch_job *p = &jobs[0], *r = &jobs[1], *o = &jobs[2];
	TAP_IS_STR(p->id, "parent-1", "parent: id");
	TAP_IS_STR(p->name, "rapid-maps-x-0", "parent: name");
	TAP_IS_INT(p->state, BATCH_RUNNING, "parent: RUNNING");
	TAP_IS_INT(p->array_size, 100, "parent: size 100");
	TAP_IS_INT(p->array_index, -1, "parent: no index");
	TAP_IS_INT(p->summary[BATCH_SUCCEEDED], 90, "parent: 90 succeeded");
	TAP_IS_INT(p->summary[BATCH_FAILED], 2, "parent: 2 failed");
	TAP_IS_INT(p->summary[BATCH_RUNNING], 5, "parent: 5 running");
	TAP_IS_INT(p->summary[BATCH_RUNNABLE], 3, "parent: 3 runnable");
	TAP_IS_INT(p->created_ms, 1764645300123LL, "parent: createdAt in ms");
	TAP_IS_INT(p->started_ms, 1764645400456LL, "parent: startedAt");
	TAP_IS_INT(p->stopped_ms, 0, "parent: not stopped");
	TAP_IS_INT(p->attempts, 0, "parent: no attempts");
	TAP_OK(!p->has_exit_code, "parent: no exit code");
	TAP_IS_STR(p->queue, "arn:aws:batch:eu-west-1:123456789012:job-queue/rapid", "parent: queue");
	TAP_IS_STR(p->definition, "arn:aws:batch:eu-west-1:123456789012:job-definition/rapid-jd:3", "parent: definition");

	TAP_IS_INT(r->state, BATCH_FAILED, "reclaimed: FAILED");
	TAP_IS_INT(r->array_index, 7, "reclaimed: index 7");
	TAP_IS_INT(r->array_size, 0, "reclaimed: not a parent");
	TAP_IS_INT(r->attempts, 2, "reclaimed: 2 attempts");
	TAP_OK(!r->has_exit_code, "reclaimed: no exit code");
	TAP_IS_STR(r->status_reason, "Host EC2 (instance i-0a1b2c3d4e5f67890) terminated.", "reclaimed: statusReason");
	TAP_IS_STR(r->log_stream, "rapid-jd/default/bbb", "reclaimed: the last attempt's log stream");
	TAP_IS_STR(r->container_reason, NULL, "reclaimed: no container reason");

	TAP_IS_INT(o->state, BATCH_FAILED, "OOM: FAILED");
	TAP_OK(o->has_exit_code, "OOM: an exit code");
	TAP_IS_INT(o->exit_code, 137, "OOM: 137");
	TAP_IS_STR(o->container_reason, "OutOfMemoryError: Container killed due to memory usage", "OOM: reason");
	TAP_IS_STR(o->status_reason, "Essential container in task exited", "OOM: statusReason");
	TAP_IS_INT(o->attempts, 1, "OOM: 1 attempt");
	batch_jobs_free(jobs, n);

	/* nothing asked: no request */
	serve_with(NULL);
	TAP_IS_INT(batch_describe_jobs(b, ids, 0, &jobs, &n, &err), 0, "no ids: success");
	TAP_IS_INT(n, 0, "... no jobs");
	TAP_IS_INT(requests(), 0, "... no request");
}

static void answer_describe_ids(int nth, const struct seen *s, struct answer *a)
{
	(void)nth;
	cJSON *in = cJSON_Parse(s->body), *out = cJSON_CreateObject();
	cJSON *jobs = cJSON_AddArrayToObject(out, "jobs");
	const cJSON *id;
	cJSON_ArrayForEach(id, cJSON_GetObjectItem(in, "jobs"))
	{
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "jobId", id->valuestring);
		cJSON_AddStringToObject(j, "jobName", "n");
		cJSON_AddStringToObject(j, "jobQueue", "q");
		cJSON_AddStringToObject(j, "jobDefinition", "d");
		cJSON_AddNumberToObject(j, "startedAt", 1);
		cJSON_AddStringToObject(j, "status", "SUCCEEDED");
		cJSON_AddItemToArray(jobs, j);
	}
	a->body = cJSON_PrintUnformatted(out);
	cJSON_Delete(in);
	cJSON_Delete(out);
}

static void test_describe_many(struct batch *b)
{
	struct aws_error err = {0};
	const char *ids[250];
	char buf[250][16];
	struct batch_job *jobs = NULL;
	size_t n = 0;
	for (int i = 0; i < 250; i++) {
		snprintf(buf[i], sizeof(buf[i]), "job-%d", i);
		ids[i] = buf[i];
	}
	serve_with(answer_describe_ids);
	TAP_IS_INT(batch_describe_jobs(b, ids, 250, &jobs, &n, &err), 0, "DescribeJobs of 250 ids");
	TAP_IS_INT(requests(), 3, "3 requests");
	TAP_IS_INT(n, 250, "250 jobs");
	int sizes[3] = {0};
	for (int i = 0; i < 3 && i < requests(); i++) {
		cJSON *j = cJSON_Parse(seen[i].body);
		sizes[i] = cJSON_GetArraySize(cJSON_GetObjectItem(j, "jobs"));
		cJSON_Delete(j);
	}
	TAP_OK(sizes[0] == 100 && sizes[1] == 100 && sizes[2] == 50, "of 100, 100 and 50 ids");
	TAP_IS_STR(n == 250 ? jobs[249].id : NULL, "job-249", "the last one");
	batch_jobs_free(jobs, n);
}

static void answer_pages(int nth, const struct seen *s, struct answer *a)
{
	(void)nth;
	cJSON *in = cJSON_Parse(s->body);
	const cJSON *t = cJSON_GetObjectItem(in, "nextToken");
	const char *tok = cJSON_IsString(t) ? t->valuestring : "";
	if (!*tok)
		a->body = xstrdup("{\"jobSummaryList\":[{\"jobId\":\"a\",\"jobName\":\"rapid-m-1-0\",\"status\":\"SUCCEEDED\","
		                  "\"createdAt\":5,\"arrayProperties\":{\"size\":10},\"container\":{\"exitCode\":0}},"
		                  "{\"jobId\":\"b\",\"jobName\":\"rapid-m-1-1\",\"status\":\"RUNNABLE\"}],\"nextToken\":\"t1\"}");
	else if (!strcmp(tok, "t1"))
		a->body = xstrdup("{\"jobSummaryList\":[{\"jobId\":\"c\",\"jobName\":\"rapid-m-1-2\",\"status\":\"FAILED\","
		                  "\"statusReason\":\"Essential container in task exited\","
		                  "\"container\":{\"exitCode\":3,\"reason\":\"x\"}}],\"nextToken\":\"t2\"}");
	else
		a->body = xstrdup("{\"jobSummaryList\":[{\"jobId\":\"d\",\"jobName\":\"rapid-m-1-3\",\"status\":\"PENDING\"}]}");
	cJSON_Delete(in);
}

static void answer_by_state(int nth, const struct seen *s, struct answer *a)
{
	(void)nth;
	cJSON *in = cJSON_Parse(s->body);
	const cJSON *st = cJSON_GetObjectItem(in, "jobStatus");
	/* one child in each state but STARTING; no status in the summaries */
	if (cJSON_IsString(st) && strcmp(st->valuestring, "STARTING"))
		a->body = xasprintf("{\"jobSummaryList\":[{\"jobId\":\"p:%s\",\"jobName\":\"p\",\"arrayProperties\":{\"index\":%d}}]}",
		                    st->valuestring, (int)strlen(st->valuestring));
	else
		a->body = xstrdup("{\"jobSummaryList\":[]}");
	cJSON_Delete(in);
}

static void test_list(struct batch *b)
{
	struct aws_error err = {0};
	struct batch_job *jobs = NULL;
	size_t n = 0;
	struct batch_list l = {.queue = "rapid", .name_filter = "rapid-m-1-*", .state = BATCH_UNKNOWN};
	serve_with(answer_pages);
	TAP_IS_INT(batch_list_jobs(b, &l, &jobs, &n, &err), 0, "ListJobs by name");
	TAP_IS_INT(requests(), 3, "3 pages, 3 requests");
	TAP_IS_INT(n, 4, "4 jobs");
	TAP_IS_STR(seen[0].path, "/v1/listjobs", "POST /v1/listjobs");
	TAP_IS_STR(seen[0].body,
	           "{\"jobQueue\":\"rapid\",\"filters\":[{\"name\":\"JOB_NAME\",\"values\":[\"rapid-m-1-*\"]}],"
	           "\"maxResults\":1000}",
	           "first page: the queue, the JOB_NAME filter, maxResults 1000");
	TAP_IS_STR(seen[1].body,
	           "{\"jobQueue\":\"rapid\",\"filters\":[{\"name\":\"JOB_NAME\",\"values\":[\"rapid-m-1-*\"]}],"
	           "\"maxResults\":1000,\"nextToken\":\"t1\"}",
	           "second page: with the token");
	if (n == 4) {
		TAP_IS_STR(jobs[0].id, "a", "page 1 job 1");
		TAP_IS_INT(jobs[0].state, BATCH_SUCCEEDED, "... SUCCEEDED");
		TAP_IS_INT(jobs[0].array_size, 10, "... an array of 10");
		TAP_OK(jobs[0].has_exit_code && jobs[0].exit_code == 0, "... exit code 0");
		TAP_IS_INT(jobs[0].created_ms, 5, "... createdAt");
		TAP_IS_INT(jobs[2].exit_code, 3, "page 2: exit code 3");
		TAP_IS_STR(jobs[2].container_reason, "x", "... its reason");
		TAP_IS_STR(jobs[3].id, "d", "page 3");
		TAP_IS_INT(jobs[3].state, BATCH_PENDING, "... PENDING");
	}
	batch_jobs_free(jobs, n);

	struct batch_list c = {.array_job_id = "p", .state = BATCH_UNKNOWN};
	serve_with(answer_by_state);
	TAP_IS_INT(batch_list_jobs(b, &c, &jobs, &n, &err), 0, "ListJobs of an array's children, every state");
	TAP_IS_INT(requests(), BATCH_NSTATES, "one listing per state");
	TAP_IS_STR(seen[0].body, "{\"arrayJobId\":\"p\",\"jobStatus\":\"SUBMITTED\",\"maxResults\":1000}",
	           "arrayJobId and jobStatus");
	TAP_IS_INT(n, BATCH_NSTATES - 1, "a child in each state but one");
	int states_ok = n == BATCH_NSTATES - 1;
	for (size_t i = 0; states_ok && i < n; i++)
		states_ok = !strcmp(jobs[i].id + 2, batch_state_name(jobs[i].state)) &&
		            jobs[i].array_index == (long)strlen(batch_state_name(jobs[i].state));
	TAP_OK(states_ok, "each child has the state it was listed under, and its index");
	batch_jobs_free(jobs, n);

	c.state = BATCH_FAILED;
	serve_with(answer_by_state);
	TAP_IS_INT(batch_list_jobs(b, &c, &jobs, &n, &err), 0, "the FAILED children");
	TAP_IS_INT(requests(), 1, "one listing");
	TAP_IS_INT(n, 1, "one child");
	batch_jobs_free(jobs, n);

	fixed(200, "", "{\"jobSummaryList\":[],\"nextToken\":\"same\"}");
	l.name_filter = "x";
	TAP_IS_INT(batch_list_jobs(b, &l, &jobs, &n, &err), -1, "a token that comes back: an error, not a loop");
	char *m = fmt_error(&err);
	TAP_IS_STR(m, "cannot list jobs of queue 'rapid': malformed ListJobs response: nextToken repeats the token asked with",
	           "... saying so");
	free(m);
	aws_error_clear(&err);
	TAP_IS_INT(requests(), 2, "after 2 requests");
}

static void test_malformed(struct batch *b)
{
	static const struct {
		const char *body, *msg;
	} cases[] = {
		{"not json", "malformed DescribeJobs response: not JSON"},
		{"[]", "malformed DescribeJobs response: not an object"},
		{"{}", "malformed DescribeJobs response: jobs is missing"},
		{"{\"jobs\":{}}", "malformed DescribeJobs response: jobs is not an array"},
		{"{\"jobs\":[7]}", "malformed DescribeJobs response: jobs[0] is not an object"},
		{"{\"jobs\":[{\"jobName\":\"n\",\"status\":\"RUNNING\"}]}", "malformed DescribeJobs response: jobs[0].jobId is missing"},
		{"{\"jobs\":[{\"jobId\":\"j1\",\"jobName\":\"n\",\"status\":7}]}",
		 "malformed DescribeJobs response: jobs[0].status is not a string"},
		{"{\"jobs\":[{\"jobId\":\"j1\",\"jobName\":\"n\"}]}", "malformed DescribeJobs response: jobs[0].status is missing"},
		{"{\"jobs\":[{\"jobId\":\"j1\",\"jobName\":\"n\",\"status\":\"FAILED\",\"createdAt\":\"yesterday\"}]}",
		 "malformed DescribeJobs response: jobs[0].createdAt is not a number"},
		{"{\"jobs\":[{\"jobId\":\"j1\",\"jobName\":\"n\",\"status\":\"FAILED\",\"attempts\":{}}]}",
		 "malformed DescribeJobs response: jobs[0].attempts is not an array"},
		{"{\"jobs\":[{\"jobId\":\"j1\",\"jobName\":\"n\",\"status\":\"FAILED\",\"attempts\":[{\"container\":{\"exitCode\":\"1\"}}]}]}",
		 "malformed DescribeJobs response: jobs[0].attempts[0].container.exitCode is not a number"},
		{"{\"jobs\":[{\"jobId\":\"j1\",\"jobName\":\"n\",\"status\":\"FAILED\",\"container\":{\"exitCode\":1.5}}]}",
		 "malformed DescribeJobs response: jobs[0].container.exitCode is not a whole number in -2147483648..2147483647"},
		{"{\"jobs\":[{\"jobId\":\"j1\",\"jobName\":\"n\",\"status\":\"RUNNING\",\"arrayProperties\":{\"statusSummary\":{\"RUNNING\":\"3\"}}}]}",
		 "malformed DescribeJobs response: jobs[0].arrayProperties.statusSummary.RUNNING is not a number"},
		{"{\"jobs\":[{\"jobId\":\"j1\",\"jobName\":\"n\",\"status\":\"RUNNING\",\"arrayProperties\":{\"size\":-1}}]}",
		 "malformed DescribeJobs response: jobs[0].arrayProperties.size is not a whole number in 0..10000"},
	};
	const char *ids[] = {"j1"};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct aws_error err = {0};
		struct batch_job *jobs = (struct batch_job *)1;
		size_t n = 99;
		fixed(200, "", cases[i].body);
		TAP_IS_INT(batch_describe_jobs(b, ids, 1, &jobs, &n, &err), -1, "malformed answer %zu fails", i + 1);
		TAP_OK(jobs == NULL && n == 0, "nothing returned");
		TAP_IS_INT(err.kind, AWS_ERR_RESPONSE, "AWS_ERR_RESPONSE");
		char *want = xasprintf("cannot describe job 'j1': %s", cases[i].msg);
		char *m = fmt_error(&err);
		TAP_IS_STR(m, want, "the message");
		free(m);
		free(want);
		aws_error_clear(&err);
	}
	struct aws_error err = {0};
	struct batch_job *jobs;
	size_t n;
	fixed(200, "", "{\"jobs\":[{\"jobId\":\"j1\",\"jobName\":\"n\",\"status\":\"HIBERNATING\",\"futureField\":{}}]}");
	TAP_IS_INT(batch_describe_jobs(b, ids, 1, &jobs, &n, &err), 0, "a state not known here is taken");
	TAP_IS_INT(n == 1 ? (int)jobs[0].state : -1, BATCH_UNKNOWN, "... as BATCH_UNKNOWN");
	batch_jobs_free(jobs, n);
}

static void test_errors(struct batch *b)
{
	struct aws_error err = {0};
	struct batch_submit s = full_submit();
	char *id = NULL, *m;

	fixed(400, "x-amzn-ErrorType: ClientException:http://internal.amazon.com/coral/com.amazonaws.batch/\r\n",
	      "{\"message\":\"JobQueue rapid-queue not found\"}");
	TAP_IS_INT(batch_submit_job(b, &s, &id, &err), -1, "400 ClientException fails");
	TAP_IS_INT(requests(), 1, "... not retried");
	TAP_IS_INT(err.status, 400, "status 400");
	TAP_IS_STR(err.code, "ClientException", "the code from x-amzn-ErrorType, without its ':…'");
	m = fmt_error(&err);
	TAP_IS_STR(m, "cannot submit job 'rapid-maps-20261202T031500Z-7f3a-0': 400 ClientException: JobQueue rapid-queue not found",
	           "the whole message");
	TAP_OK(!strstr(m, SECRET) && !strstr(m, "Signature") && !strstr(m, "internal.amazon"), "no secret, no header value");
	free(m);
	aws_error_clear(&err);

	fixed(400, "", "{\"__type\":\"com.amazonaws.batch#ClientException\",\"message\":\"bad queue\"}");
	TAP_IS_INT(batch_terminate_job(b, "j-1", "stop", &err), -1, "TerminateJob fails");
	TAP_IS_STR(err.code, "ClientException", "the code from the body's __type, without its namespace");
	m = fmt_error(&err);
	TAP_IS_STR(m, "cannot terminate job 'j-1': 400 ClientException: bad queue", "the message");
	free(m);
	TAP_IS_STR(err.object, "j-1", "the object: the job");
	aws_error_clear(&err);

	fixed(400, "", "{\"code\":\"ClientException\",\"Message\":\"job j-1 is not cancellable\"}");
	TAP_IS_INT(batch_cancel_job(b, "j-1", "stop", &err), -1, "CancelJob fails");
	m = fmt_error(&err);
	TAP_IS_STR(m, "cannot cancel job 'j-1': 400 ClientException: job j-1 is not cancellable",
	           "the code from the body's code, the message from Message");
	free(m);
	aws_error_clear(&err);
}

static void test_retries(struct batch *b)
{
	struct aws_error err = {0};
	struct batch_submit s = full_submit();
	char *id = NULL, *m;

	SCRIPT({429, "x-amzn-ErrorType: TooManyRequestsException:\r\n", "{\"message\":\"Too Many Requests\"}", 0},
	       {429, "", "{\"__type\":\"TooManyRequestsException\",\"message\":\"Too Many Requests\"}", 0},
	       {200, "", "{\"jobName\":\"x\",\"jobId\":\"after-throttle\"}", 0});
	unsigned before = batch_requests(b);
	TAP_IS_INT(batch_submit_job(b, &s, &id, &err), 0, "SubmitJob throttled twice, then taken");
	TAP_IS_STR(id, "after-throttle", "the job id");
	TAP_IS_INT(requests(), 3, "3 requests");
	TAP_IS_INT(batch_requests(b) - before, 3, "3 counted by the client");
	int same = requests() == 3 && !strcmp(seen[0].body, seen[2].body);
	TAP_OK(same, "the same body each time");
	free(id);

	SCRIPT({429, "", "{\"message\":\"Too Many Requests\"}", 0}, {200, "", "{\"jobName\":\"x\",\"jobId\":\"j\"}", 0});
	TAP_IS_INT(batch_submit_job(b, &s, &id, &err), 0, "a bare 429 is throttling too");
	TAP_IS_INT(requests(), 2, "2 requests");
	free(id);

	SCRIPT({500, "x-amzn-ErrorType: ServerException\r\n", "{\"message\":\"internal\"}", 0},
	       {0, NULL, NULL, 1}, {200, "", "{\"jobName\":\"x\",\"jobId\":\"j\"}", 0});
	TAP_IS_INT(batch_submit_job(b, &s, &id, &err), 0, "a 500, then a connection closed unanswered, then taken");
	TAP_IS_INT(requests(), 3, "3 requests");
	free(id);

	SCRIPT({429, "", "{\"__type\":\"TooManyRequestsException\",\"message\":\"Too Many Requests\"}", 0});
	TAP_IS_INT(batch_submit_job(b, &s, &id, &err), -1, "throttled on every attempt: fails");
	TAP_IS_INT(requests(), 3, "after the 3 attempts AWS_MAX_ATTEMPTS allows");
	m = fmt_error(&err);
	TAP_IS_STR(m, "cannot submit job 'rapid-maps-20261202T031500Z-7f3a-0': 429 TooManyRequestsException: Too Many "
	              "Requests (after 3 attempts)", "... saying how many");
	free(m);
	aws_error_clear(&err);
}

static void test_terminate(struct batch *b)
{
	struct aws_error err = {0};
	fixed(200, "", "{}");
	TAP_IS_INT(batch_terminate_job(b, "j-1", "rapid build interrupted", &err), 0, "TerminateJob");
	TAP_IS_STR(seen[0].path, "/v1/terminatejob", "POST /v1/terminatejob");
	TAP_IS_STR(seen[0].body, "{\"jobId\":\"j-1\",\"reason\":\"rapid build interrupted\"}", "jobId and reason");
	fixed(200, "", "");
	TAP_IS_INT(batch_cancel_job(b, "j-2", "superseded", &err), 0, "CancelJob (an empty answer is fine)");
	TAP_IS_STR(seen[0].path, "/v1/canceljob", "POST /v1/canceljob");
	TAP_IS_STR(seen[0].body, "{\"jobId\":\"j-2\",\"reason\":\"superseded\"}", "jobId and reason");
}

static const char definition[] =
	"{\"jobDefinitionName\":\"rapid-jd\",\"jobDefinitionArn\":\"arn:aws:batch:eu-west-1:123456789012:job-definition/rapid-jd:3\","
	"\"revision\":3,\"status\":\"ACTIVE\",\"type\":\"container\",\"parameters\":{},"
	"\"retryStrategy\":{\"attempts\":2,\"evaluateOnExit\":[]},"
	"\"containerProperties\":{\"image\":\"rapidtide:3.1.0\",\"command\":[\"rapid\",\"runner\"],\"jobRoleArn\":\"arn:role\","
	"\"volumes\":[],\"environment\":[],\"mountPoints\":[],\"ulimits\":[],"
	"\"resourceRequirements\":[{\"value\":\"2\",\"type\":\"VCPU\"},{\"value\":\"4096\",\"type\":\"MEMORY\"}],\"secrets\":[]},"
	"\"timeout\":{\"attemptDurationSeconds\":3600},"
	"\"tags\":{\"aws:cloudformation:stack-name\":\"rapid\",\"project\":\"hcp\"},\"propagateTags\":true,"
	"\"platformCapabilities\":[\"EC2\"],\"containerOrchestrationType\":\"ECS\"}";

static void test_derive(void)
{
	cJSON *def = cJSON_Parse(definition);
	cJSON *d = batch_definition_derive(def, "rapid-jd-5f3a", "rapidtide:3.2.0");
	char *text = d ? cJSON_PrintUnformatted(d) : NULL;
	TAP_IS_STR(text,
	           "{\"jobDefinitionName\":\"rapid-jd-5f3a\",\"type\":\"container\",\"parameters\":{},"
	           "\"retryStrategy\":{\"attempts\":2,\"evaluateOnExit\":[]},"
	           "\"containerProperties\":{\"image\":\"rapidtide:3.2.0\",\"command\":[\"rapid\",\"runner\"],"
	           "\"jobRoleArn\":\"arn:role\",\"volumes\":[],\"environment\":[],\"mountPoints\":[],\"ulimits\":[],"
	           "\"resourceRequirements\":[{\"value\":\"2\",\"type\":\"VCPU\"},{\"value\":\"4096\",\"type\":\"MEMORY\"}],"
	           "\"secrets\":[]},\"timeout\":{\"attemptDurationSeconds\":3600},\"tags\":{\"project\":\"hcp\"},"
	           "\"propagateTags\":true,\"platformCapabilities\":[\"EC2\"]}",
	           "derive: the new name and image; no ARN, revision, status, orchestration type or aws: tag");
	free(text);
	cJSON_Delete(d);

	cJSON_DeleteItemFromObject(def, "tags");
	cJSON *t = cJSON_AddObjectToObject(def, "tags");
	cJSON_AddStringToObject(t, "aws:cloudformation:logical-id", "JobDefinition");
	d = batch_definition_derive(def, NULL, NULL);
	TAP_OK(d && !cJSON_GetObjectItem(d, "tags"), "only aws: tags: no tags at all");
	TAP_IS_STR(d ? cJSON_GetObjectItem(d, "jobDefinitionName")->valuestring : NULL, "rapid-jd", "name NULL: its own");
	cJSON *img = d ? cJSON_GetObjectItem(cJSON_GetObjectItem(d, "containerProperties"), "image") : NULL;
	TAP_IS_STR(img ? img->valuestring : NULL, "rapidtide:3.1.0", "image NULL: kept");
	cJSON_Delete(d);

	cJSON_ReplaceItemInObject(def, "type", cJSON_CreateString("multinode"));
	TAP_OK(batch_definition_derive(def, "x", "i") == NULL, "not a container definition: NULL");
	cJSON_Delete(def);
	TAP_OK(batch_definition_derive(NULL, "x", "i") == NULL, "no definition: NULL");
}

static void answer_definitions(int nth, const struct seen *s, struct answer *a)
{
	(void)s;
	if (nth == 0)
		a->body = xstrdup("{\"jobDefinitions\":[{\"jobDefinitionName\":\"rapid-jd\",\"revision\":2,\"status\":\"ACTIVE\","
		                  "\"type\":\"container\",\"containerProperties\":{\"image\":\"a\"}},"
		                  "{\"jobDefinitionName\":\"rapid-jd\",\"revision\":9,\"status\":\"INACTIVE\","
		                  "\"type\":\"container\",\"containerProperties\":{\"image\":\"z\"}}],\"nextToken\":\"p2\"}");
	else
		a->body = xstrdup("{\"jobDefinitions\":[{\"jobDefinitionName\":\"rapid-jd\",\"revision\":5,\"status\":\"ACTIVE\","
		                  "\"type\":\"container\",\"containerProperties\":{\"image\":\"b\"}}]}");
}

static void test_definitions(struct batch *b)
{
	struct aws_error err = {0};
	cJSON *def = NULL;
	serve_with(answer_definitions);
	TAP_IS_INT(batch_describe_job_definition(b, "rapid-jd", &def, &err), 0, "DescribeJobDefinitions of a bare name");
	TAP_IS_INT(requests(), 2, "2 pages");
	TAP_IS_STR(seen[0].path, "/v1/describejobdefinitions", "POST /v1/describejobdefinitions");
	TAP_IS_STR(seen[0].body, "{\"jobDefinitionName\":\"rapid-jd\",\"status\":\"ACTIVE\",\"maxResults\":100}",
	           "by name, ACTIVE");
	TAP_IS_STR(seen[1].body,
	           "{\"jobDefinitionName\":\"rapid-jd\",\"status\":\"ACTIVE\",\"maxResults\":100,\"nextToken\":\"p2\"}",
	           "the second page");
	const cJSON *rev = cJSON_GetObjectItem(def, "revision");
	TAP_IS_INT(cJSON_IsNumber(rev) ? rev->valueint : -1, 5, "the highest ACTIVE revision");
	cJSON_Delete(def);

	fixed(200, "", "{\"jobDefinitions\":[]}");
	def = (cJSON *)1;
	TAP_IS_INT(batch_describe_job_definition(b, "arn:aws:batch:eu-west-1:123456789012:job-definition/rapid-jd:7", &def, &err),
	           0, "an ARN");
	TAP_OK(def == NULL, "none: NULL");
	TAP_IS_STR(seen[0].body,
	           "{\"jobDefinitions\":[\"arn:aws:batch:eu-west-1:123456789012:job-definition/rapid-jd:7\"],\"maxResults\":100}",
	           "asked by jobDefinitions");

	fixed(200, "", "{\"jobDefinitions\":[{\"jobDefinitionName\":\"rapid-jd\",\"revision\":\"3\"}]}");
	TAP_IS_INT(batch_describe_job_definition(b, "rapid-jd:3", &def, &err), -1, "a revision that is not a number");
	char *m = fmt_error(&err);
	TAP_IS_STR(m, "cannot describe job definition 'rapid-jd:3': malformed DescribeJobDefinitions response: "
	              "jobDefinitions[0].revision is not a number", "... is malformed");
	free(m);
	aws_error_clear(&err);

	cJSON *body = cJSON_Parse(definition), *d = batch_definition_derive(body, "rapid-jd-5f3a", "img:2");
	char *arn = NULL;
	fixed(200, "", "{\"jobDefinitionName\":\"rapid-jd-5f3a\",\"jobDefinitionArn\":\"arn:jd/rapid-jd-5f3a:1\",\"revision\":1}");
	TAP_IS_INT(batch_register_job_definition(b, d, &arn, &err), 0, "RegisterJobDefinition");
	TAP_IS_STR(arn, "arn:jd/rapid-jd-5f3a:1", "the new revision's ARN");
	TAP_IS_STR(seen[0].path, "/v1/registerjobdefinition", "POST /v1/registerjobdefinition");
	char *want = cJSON_PrintUnformatted(d);
	TAP_IS_STR(seen[0].body, want, "the derived definition sent");
	free(want);
	free(arn);
	cJSON_Delete(body);
	cJSON_Delete(d);
}

static void test_base_path(void)
{
	struct aws_error err = {0};
	struct batch *b = client("/batch-base");
	struct batch_job *jobs;
	size_t n;
	const char *ids[] = {"j1"};
	fixed(200, "", "{\"jobs\":[]}");
	TAP_IS_INT(batch_describe_jobs(b, ids, 1, &jobs, &n, &err), 0, "an endpoint with a base path");
	TAP_IS_STR(seen[0].path, "/batch-base/v1/describejobs", "the operation's path after it");
	TAP_IS_STR(batch_region(b), "eu-west-1", "the region");
	batch_jobs_free(jobs, n);
	batch_free(b);
}

static void test_states(void)
{
	for (int i = 0; i < BATCH_NSTATES; i++)
		TAP_IS_INT(batch_state_parse(batch_state_name((enum batch_state)i)), i, "state %s round trip",
		           batch_state_name((enum batch_state)i));
	TAP_IS_INT(batch_state_parse("running"), BATCH_UNKNOWN, "case matters");
	TAP_IS_INT(batch_state_parse(NULL), BATCH_UNKNOWN, "NULL: unknown");
	TAP_OK(batch_state_alive(BATCH_SUBMITTED) && batch_state_alive(BATCH_RUNNING) &&
	       !batch_state_alive(BATCH_SUCCEEDED) && !batch_state_alive(BATCH_FAILED) && !batch_state_alive(BATCH_UNKNOWN),
	       "alive: SUBMITTED..RUNNING");
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	static const char *const unset[] = {"AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION",
	                                    "http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy",
	                                    "ALL_PROXY", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
	                                    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_RETRY_MODE"};
	for (size_t i = 0; i < ARRAY_LEN(unset); i++)
		unsetenv(unset[i]);
	setenv("AWS_ACCESS_KEY_ID", "AKIDBATCHTEST", 1);
	setenv("AWS_SECRET_ACCESS_KEY", SECRET, 1);
	setenv("AWS_REGION", "eu-west-1", 1);
	setenv("AWS_CONFIG_FILE", "/nonexistent/rapid-batch-test/config", 1);
	setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/rapid-batch-test/credentials", 1);
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	setenv("AWS_MAX_ATTEMPTS", "3", 1);
	setenv("NO_PROXY", "127.0.0.1", 1);
	server_start();

	test_states();
	test_bodies();
	test_derive();
	struct batch *b = client("");
	test_refused(b);
	test_submit(b);
	test_describe(b);
	test_describe_many(b);
	test_list(b);
	test_malformed(b);
	test_errors(b);
	test_retries(b);
	test_terminate(b);
	test_definitions(b);
	batch_free(b);
	test_base_path();
	serve_with(NULL);
	return tap_done();
}
