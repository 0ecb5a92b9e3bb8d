/* http_test.c - the HTTP engine against a loopback HTTP/1.1 server forked
 * by this test (127.0.0.1, a free port, one process per connection,
 * keep-alive). The request path is the script: "/<id>/<a1>,<a2>,…" answers
 * the n-th request for <id> with action a<n> (the last one repeats).
 * Counters live in shared memory so the test can see what the server saw.
 *
 * Actions: ok (200 "hello"), slow (sleep 1 s, then ok), hold (sleep 50 ms,
 * then ok), 503 (SlowDown), 500 (InternalError), 404 (NoSuchKey), reset
 * (half a response, then RST), e200 (200 with an <Error> body), skew (403
 * RequestTimeTooSkewed, Date 900 s ahead), big (200, 1 MiB of a known
 * pattern), echo (200, the request body). */
#include "aws/http.h"
#include "lib/util.h"
#include "tests/unit/tap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_IDS 256
#define BIG_LEN (1u << 20)

struct shared {
	int per_id[MAX_IDS];
	int requests;
	int conns, max_conns;
	int active, max_active;
};

static struct shared *sh;
static int head_request; /* in a server child: no body in the answer */
static pid_t server_pid = -1;
static int port;

static void bump_max(int *cur, int *max, int delta)
{
	int v = __atomic_add_fetch(cur, delta, __ATOMIC_SEQ_CST);
	int m = __atomic_load_n(max, __ATOMIC_SEQ_CST);
	while (v > m && !__atomic_compare_exchange_n(max, &m, v, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		;
}

static unsigned char big_byte(size_t i)
{
	return (unsigned char)((i * 2654435761u) >> 13);
}

static int send_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

static int respond(int fd, int status, const char *reason, const char *extra_headers, const void *body, size_t len)
{
	char head[512];
	int n = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\nx-amz-request-id: REQ%d\r\n%s\r\n",
	                 status, reason, len, __atomic_load_n(&sh->requests, __ATOMIC_SEQ_CST), extra_headers);
	if (send_all(fd, head, (size_t)n) < 0)
		return -1;
	return len && !head_request ? send_all(fd, body, len) : 0;
}

static int error_doc(int fd, int status, const char *reason, const char *code, const char *extra)
{
	char body[256];
	int n = snprintf(body, sizeof(body), "<?xml version=\"1.0\"?>\n<Error><Code>%s</Code><Message>%s happened</Message></Error>",
	                 code, code);
	return respond(fd, status, reason, extra, body, (size_t)n);
}

/* Serve one connection until EOF. Returns to the caller, which _exits. */
static void serve_conn(int fd)
{
	static char in[1 << 16];
	size_t have = 0;
	for (;;) {
		char *end;
		while (!(end = memmem(in, have, "\r\n\r\n", 4))) {
			ssize_t r = read(fd, in + have, sizeof(in) - have);
			if (r <= 0)
				return;
			have += (size_t)r;
		}
		size_t head_len = (size_t)(end - in) + 4, body_len = 0;
		in[head_len - 1] = 0;
		char *cl = strcasestr(in, "\r\nContent-Length:");
		if (cl)
			body_len = strtoul(cl + 17, NULL, 10);
		char *body = xmalloc(body_len + 1);
		size_t got = have - head_len < body_len ? have - head_len : body_len;
		memcpy(body, in + head_len, got);
		while (got < body_len) {
			ssize_t r = read(fd, body + got, body_len - got);
			if (r <= 0) {
				free(body);
				return;
			}
			got += (size_t)r;
		}
		size_t used = head_len + (have - head_len < body_len ? have - head_len : body_len);
		/* Request line: METHOD /id/script HTTP/1.1 */
		char path[512] = "";
		sscanf(in, "%*s %511s", path);
		head_request = !strncmp(in, "HEAD ", 5);
		memmove(in, in + used, have - used);
		have -= used;

		__atomic_add_fetch(&sh->requests, 1, __ATOMIC_SEQ_CST);
		bump_max(&sh->active, &sh->max_active, 1);
		int id = atoi(path + 1) % MAX_IDS;
		int nth = __atomic_fetch_add(&sh->per_id[id], 1, __ATOMIC_SEQ_CST);
		char *script = strchr(path + 1, '/');
		char action[32] = "ok";
		if (script) {
			const char *a = script + 1;
			for (int i = 0; i < nth && strchr(a, ','); i++)
				a = strchr(a, ',') + 1;
			size_t n = strcspn(a, ",?");
			snprintf(action, sizeof(action), "%.*s", (int)(n < 31 ? n : 31), a);
		}
		int rc = 0;
		if (!strcmp(action, "slow")) {
			sleep(1);
			rc = respond(fd, 200, "OK", "", "hello", 5);
		} else if (!strcmp(action, "hold")) {
			struct timespec ts = {0, 50000000};
			nanosleep(&ts, NULL);
			rc = respond(fd, 200, "OK", "", "hello", 5);
		} else if (!strcmp(action, "503")) {
			rc = error_doc(fd, 503, "Slow Down", "SlowDown", "");
		} else if (!strcmp(action, "500")) {
			rc = error_doc(fd, 500, "Internal Server Error", "InternalError", "");
		} else if (!strcmp(action, "404")) {
			rc = error_doc(fd, 404, "Not Found", "NoSuchKey", "");
		} else if (!strcmp(action, "e200")) {
			rc = error_doc(fd, 200, "OK", "InternalError", "");
		} else if (!strcmp(action, "skew")) {
			char date[128];
			time_t t = time(NULL) + 900;
			struct tm tm;
			gmtime_r(&t, &tm);
			strftime(date, sizeof(date), "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
			rc = error_doc(fd, 403, "Forbidden", "RequestTimeTooSkewed", date);
		} else if (!strcmp(action, "reset")) {
			const char *half = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhel";
			struct linger lg = {1, 0};
			send_all(fd, half, strlen(half));
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
			rc = -1;
		} else if (!strcmp(action, "big")) {
			unsigned char *b = xmalloc(BIG_LEN);
			for (size_t i = 0; i < BIG_LEN; i++)
				b[i] = big_byte(i);
			rc = respond(fd, 200, "OK", "ETag: \"big\"\r\n", b, BIG_LEN);
			free(b);
		} else if (!strcmp(action, "echo")) {
			rc = respond(fd, 200, "OK", "", body, body_len);
		} else {
			rc = respond(fd, 200, "OK", "ETag: \"abc\"\r\n", "hello", 5);
		}
		free(body);
		__atomic_sub_fetch(&sh->active, 1, __ATOMIC_SEQ_CST);
		if (rc < 0)
			return;
	}
}

static void server_start(void)
{
	struct sockaddr_in sa = {0};
	socklen_t sl = sizeof(sa);
	int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (ls < 0 || sh == MAP_FAILED)
		fatal("cannot start the test server: %s", strerror(errno));
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(ls, 128) < 0 ||
	    getsockname(ls, (struct sockaddr *)&sa, &sl) < 0)
		fatal("cannot start the test server: %s", strerror(errno));
	port = ntohs(sa.sin_port);
	fflush(stdout);
	server_pid = fork();
	if (server_pid < 0)
		fatal("cannot fork: %s", strerror(errno));
	if (server_pid == 0) {
		setpgid(0, 0);
		signal(SIGCHLD, SIG_IGN);
		signal(SIGPIPE, SIG_IGN);
		for (;;) {
			int c = accept(ls, NULL, NULL);
			if (c < 0)
				continue;
			pid_t p = fork();
			if (p == 0) {
				close(ls);
				bump_max(&sh->conns, &sh->max_conns, 1);
				serve_conn(c);
				__atomic_sub_fetch(&sh->conns, 1, __ATOMIC_SEQ_CST);
				close(c);
				_exit(0);
			}
			close(c);
		}
	}
	setpgid(server_pid, server_pid);
	close(ls);
}

static void server_stop(void)
{
	if (server_pid > 0) {
		kill(-server_pid, SIGKILL);
		kill(server_pid, SIGKILL);
		waitpid(server_pid, NULL, 0);
	}
}

static void reset_counters(void)
{
	memset(sh, 0, sizeof(*sh));
}

/* ---- client side ---- */

struct prep {
	int calls;
	char *seen[8];
};

static int count_prepare(struct http_request *req, void *arg)
{
	struct prep *p = arg;
	char v[16];
	snprintf(v, sizeof(v), "%d", ++p->calls);
	/* As a signer would: rebuild the headers on every attempt. */
	sigv4_headers_set(&req->headers, "X-Attempt", v);
	sigv4_headers_set(&req->headers, "Authorization", "AWS4-HMAC-SHA256 Credential=AKIDSECRETPART/x, Signature=deadbeef");
	return 0;
}

static void req_for(struct http_request *req, int id, const char *script)
{
	http_request_init(req);
	req->method = "GET";
	req->url = xasprintf("http://127.0.0.1:%d/%d/%s", port, id, script);
	sigv4_headers_add(&req->headers, "Host", "127.0.0.1");
}

static struct http_engine *engine(unsigned max_attempts, long timeout_ms, unsigned in_flight, unsigned quota)
{
	struct http_config cfg = {0};
	cfg.max_attempts = max_attempts;
	cfg.timeout_ms = timeout_ms;
	cfg.max_in_flight = in_flight;
	cfg.retry_quota = quota;
	cfg.backoff_base_s = 0.001;
	cfg.connect_timeout_ms = 2000;
	struct http_engine *e = http_engine_new(&cfg, NULL);
	if (!e)
		fatal("cannot make an engine");
	return e;
}

/* The reason of r's error as messages give it; NULL if none. Kept until
 * the end of the test (a few at once may be in use). */
static char *whys[16];
static unsigned nwhy;

static const char *why(const struct http_request *r)
{
	if (!r->error)
		return NULL;
	unsigned i = nwhy++ % ARRAY_LEN(whys);
	free(whys[i]);
	return whys[i] = aws_error_reason(r->error);
}

static int no_secret(const char *s)
{
	return !s || (!strstr(s, "AKIDSECRETPART") && !strstr(s, "deadbeef"));
}

static void test_success(void)
{
	struct http_engine *e = engine(0, 0, 0, 0);
	struct http_request r;
	struct prep p = {0};
	req_for(&r, 1, "ok");
	r.prepare = count_prepare;
	r.arg = &p;
	TAP_IS_INT(http_do(e, &r), 0, "GET succeeds");
	TAP_IS_INT(r.status, 200, "status 200");
	TAP_IS_STR(r.resp_body.data, "hello", "body in memory");
	TAP_IS_STR(http_response_header(&r, "etag"), "\"abc\"", "ETag captured");
	TAP_IS_STR(http_response_header(&r, "Content-Length"), "5", "Content-Length captured");
	TAP_OK(http_response_header(&r, "x-amz-request-id") != NULL, "x-amz-request-id captured");
	TAP_IS_INT(r.attempts, 1, "one attempt");
	TAP_IS_INT(p.calls, 1, "prepare called once");
	TAP_OK(r.error == NULL, "no error");
	http_request_free(&r);

	/* A HEAD and a memory-body PUT on the same engine. */
	req_for(&r, 2, "echo");
	r.method = "PUT";
	r.body = "payload";
	r.body_len = 7;
	TAP_IS_INT(http_do(e, &r), 0, "PUT from memory succeeds");
	TAP_IS_STR(r.resp_body.data, "payload", "server got the body");
	http_request_free(&r);
	req_for(&r, 3, "ok");
	r.method = "HEAD";
	TAP_IS_INT(http_do(e, &r), 0, "HEAD succeeds");
	TAP_IS_INT(r.resp_body.len, 0, "HEAD has no body");
	http_request_free(&r);

	/* Body cap. */
	req_for(&r, 4, "big");
	r.max_body = 1000;
	TAP_IS_INT(http_do(e, &r), -1, "body over the cap fails");
	TAP_IS_STR(why(&r), "response larger than 1000 bytes", "cap message");
	TAP_IS_INT(r.attempts, 1, "cap is not retried");
	http_request_free(&r);
	http_engine_free(e);
}

static void test_retries(void)
{
	struct http_engine *e = engine(0, 0, 0, 0);
	struct http_request r;
	struct prep p = {0};

	reset_counters();
	req_for(&r, 10, "503,ok");
	r.prepare = count_prepare;
	r.arg = &p;
	TAP_IS_INT(http_do(e, &r), 0, "503 SlowDown then 200 succeeds");
	TAP_IS_INT(r.attempts, 2, "two attempts");
	TAP_IS_INT(p.calls, 2, "prepare called before each attempt");
	TAP_IS_STR(sigv4_headers_get(&r.headers, "X-Attempt"), "2", "headers rebuilt for the retry");
	TAP_IS_INT(sh->per_id[10], 2, "server saw two requests");
	TAP_IS_INT(http_engine_quota(e), 500, "quota refunded after the retry succeeded");
	http_request_free(&r);

	p.calls = 0;
	req_for(&r, 11, "500");
	r.prepare = count_prepare;
	r.arg = &p;
	TAP_IS_INT(http_do(e, &r), -1, "500 every time fails");
	TAP_IS_INT(r.attempts, 3, "three attempts by default");
	TAP_IS_INT(sh->per_id[11], 3, "server saw three requests");
	TAP_IS_STR(why(&r), "500 InternalError: InternalError happened (after 3 attempts)", "clear error");
	TAP_IS_STR(r.error ? r.error->code : NULL, "InternalError", "error code");
	TAP_IS_INT(r.status, 500, "status kept");
	TAP_OK(no_secret(why(&r)), "no signature in the error");
	http_request_free(&r);

	req_for(&r, 12, "reset,ok");
	TAP_IS_INT(http_do(e, &r), 0, "connection reset is retried");
	TAP_IS_INT(r.attempts, 2, "two attempts after a reset");
	TAP_IS_STR(r.resp_body.data, "hello", "body only from the good attempt");
	http_request_free(&r);

	req_for(&r, 13, "404,ok");
	TAP_IS_INT(http_do(e, &r), -1, "404 fails");
	TAP_IS_INT(r.attempts, 1, "404 is not retried");
	TAP_IS_INT(r.status, 404, "status 404");
	TAP_IS_STR(why(&r), "404 NoSuchKey: NoSuchKey happened", "404 message");
	http_request_free(&r);

	req_for(&r, 14, "e200,ok");
	r.flags = HTTP_ERROR_IN_200;
	TAP_IS_INT(http_do(e, &r), 0, "200 with <Error> body then 200 succeeds");
	TAP_IS_INT(r.attempts, 2, "<Error> in a 200 was retried");
	http_request_free(&r);

	req_for(&r, 15, "e200");
	TAP_IS_INT(http_do(e, &r), 0, "without the flag a 200 <Error> is a success");
	http_request_free(&r);

	req_for(&r, 16, "e200");
	r.flags = HTTP_ERROR_IN_200;
	TAP_IS_INT(http_do(e, &r), -1, "200 <Error> every time fails");
	TAP_IS_STR(why(&r), "200 InternalError: InternalError happened (after 3 attempts)", "message of a 200 <Error>");
	http_request_free(&r);

	req_for(&r, 17, "skew");
	TAP_IS_INT(http_do(e, &r), -1, "RequestTimeTooSkewed fails");
	TAP_IS_INT(r.attempts, 1, "skew is not retried");
	TAP_OK(r.error && strstr(why(&r), "403 RequestTimeTooSkewed") &&
	       (strstr(why(&r), "is 900 s behind") || strstr(why(&r), "is 899 s behind") ||
	        strstr(why(&r), "is 901 s behind")),
	       "skew in the message: %s", r.error ? why(&r) : "(null)");
	http_request_free(&r);
	http_engine_free(e);

	/* Configured attempts. */
	e = engine(5, 0, 0, 0);
	req_for(&r, 18, "503");
	TAP_IS_INT(http_do(e, &r), -1, "503 every time fails");
	TAP_IS_INT(r.attempts, 5, "max_attempts 5 honoured");
	http_request_free(&r);
	http_engine_free(e);
}

static void test_timeout(void)
{
	struct http_engine *e = engine(2, 200, 0, 0);
	struct http_request r;
	req_for(&r, 20, "slow");
	TAP_IS_INT(http_do(e, &r), -1, "a slow answer times out");
	TAP_IS_INT(r.attempts, 2, "the timeout was retried");
	TAP_OK(r.error && strstr(why(&r), "imed out"), "timeout message: %s", r.error ? why(&r) : "(null)");
	TAP_IS_INT(r.status, 0, "gave up before the server answered (no status line)");
	TAP_IS_INT(http_engine_quota(e), 490, "a timeout retry costs 10 tokens");
	http_request_free(&r);
	http_engine_free(e);
}

/* The deadline's arithmetic (pure). */
static void test_deadline(void)
{
	const int64_t kib = 1024;
	TAP_IS_INT(http_deadline_ms(0, 64 * kib, 10000, 60000), 70000, "no bytes: the connect and read allowances");
	TAP_IS_INT(http_deadline_ms(64 * kib, 64 * kib, 10000, 60000), 71000, "64 KiB at 64 KiB/s: a second more");
	TAP_IS_INT(http_deadline_ms(1ull << 30, 64 * kib, 10000, 60000), 70000 + 16384000,
	           "1 GiB at 64 KiB/s: 16384 s more");
	TAP_IS_INT(http_deadline_ms(8u << 20, 1024 * kib, 1000, 1000), 2000 + 8000, "8 MiB at 1 MiB/s, 1 s limits");
	TAP_IS_INT(http_deadline_ms(3000, 1024, 1000, 1000), 2000 + 2929, "3000 B at 1 KiB/s: rounded down to the ms");
	TAP_IS_INT(http_deadline_ms(1000, 64 * kib, -1, -1), 70000 + 15, "no limits: their defaults are allowed for");
	TAP_IS_INT(http_deadline_ms(1000, 64 * kib, 0, 0), 70000 + 15, "0 counts as the default too");
	TAP_IS_INT(http_deadline_ms(1ull << 40, 0, 10000, 60000), 0, "min rate 0: no deadline");
	TAP_IS_INT(http_deadline_ms(1ull << 40, -1, 10000, 60000), 0, "min rate negative: no deadline");
	TAP_IS_INT(http_deadline_ms(UINT64_MAX, 1, 10000, 60000), INT64_MAX, "no overflow: the largest deadline");
	TAP_OK(http_deadline_ms(5ull << 40, 1, 10000, 60000) > 0, "5 TiB at 1 B/s: still positive");
}

/* The read timeout ends an attempt that gets no byte; 0 limits nothing. */
static void test_read_timeout(void)
{
	struct http_config cfg = {.max_attempts = 2, .backoff_base_s = 0.001, .read_timeout_ms = 200};
	struct http_engine *e = http_engine_new(&cfg, NULL);
	struct http_request r;
	req_for(&r, 21, "slow");
	TAP_IS_INT(http_do(e, &r), -1, "an answer 1 s away, a 200 ms read timeout: fails");
	TAP_IS_INT(r.attempts, 2, "the read timeout was retried");
	TAP_IS_STR(why(&r), "no data for 200 ms (after 2 attempts)", "read timeout message");
	TAP_IS_INT(r.error ? (int)r.error->kind : -1, AWS_ERR_TRANSPORT, "a transport error");
	TAP_IS_INT(http_engine_quota(e), 490, "a read timeout retry costs 10 tokens, as any timeout");
	TAP_IS_INT(sh->per_id[21], 2, "the server saw both attempts");
	http_request_free(&r);
	http_engine_free(e);

	cfg.read_timeout_ms = -1;
	e = http_engine_new(&cfg, NULL);
	req_for(&r, 22, "slow");
	TAP_IS_INT(http_do(e, &r), 0, "no read timeout: the slow answer arrives");
	TAP_IS_INT(r.attempts, 1, "at the first attempt");
	http_request_free(&r);
	http_engine_free(e);

	/* A healthy answer well within its deadline is untouched. */
	cfg.read_timeout_ms = 5000;
	cfg.min_rate = 1 << 20;
	e = http_engine_new(&cfg, NULL);
	req_for(&r, 23, "big");
	TAP_IS_INT(http_do(e, &r), 0, "1 MiB within its deadline (10 s + 5 s + 1 s)");
	TAP_IS_INT(r.resp_body.len, BIG_LEN, "all of it");
	http_request_free(&r);
	http_engine_free(e);
}

static int done_count;
static void count_done(struct http_request *req, void *arg)
{
	(void)req;
	(void)arg;
	done_count++;
}

static void test_concurrency(void)
{
	enum { N = 100 };
	struct http_engine *e = engine(0, 0, 8, 0);
	struct http_request *rs = xcalloc(N, sizeof(*rs));
	int ok = 0;
	reset_counters();
	done_count = 0;
	for (int i = 0; i < N; i++) {
		req_for(&rs[i], 100 + i, "hold");
		rs[i].done = count_done;
		http_submit(e, &rs[i]);
	}
	int64_t t0 = now_ns();
	TAP_IS_INT(http_run(e), 0, "100 requests succeed");
	int64_t ms = (now_ns() - t0) / 1000000;
	for (int i = 0; i < N; i++) {
		ok += rs[i].status == 200 && rs[i].resp_body.data && !strcmp(rs[i].resp_body.data, "hello");
		http_request_free(&rs[i]);
	}
	TAP_IS_INT(ok, N, "each got its answer");
	TAP_IS_INT(done_count, N, "done called for each");
	TAP_IS_INT(sh->requests, N, "server saw 100 requests");
	TAP_OK(sh->max_conns <= 8, "at most 8 connections at once (saw %d)", sh->max_conns);
	TAP_OK(sh->max_active <= 8 && sh->max_active >= 2, "2 to 8 requests in progress at once (saw %d)", sh->max_active);
	/* Concurrency is shown by max_active above, never by the clock. */
	printf("# 100 held requests took %lld ms\n", (long long)ms);
	free(rs);
	http_engine_free(e);
}

static void test_quota(void)
{
	/* 12 tokens: two retries at 5 each, then none. */
	struct http_engine *e = engine(10, 0, 1, 12);
	struct http_request r;
	reset_counters();
	req_for(&r, 30, "503");
	TAP_IS_INT(http_do(e, &r), -1, "503 forever fails");
	TAP_IS_INT(r.attempts, 3, "quota allowed two retries");
	TAP_IS_INT(http_engine_quota(e), 2, "two tokens left");
	TAP_OK(r.error && strstr(why(&r), "retry quota exhausted"), "quota in message: %s", r.error ? why(&r) : "(null)");
	http_request_free(&r);
	req_for(&r, 31, "503,ok");
	TAP_IS_INT(http_do(e, &r), -1, "no retry without quota");
	TAP_IS_INT(r.attempts, 1, "one attempt");
	http_request_free(&r);
	req_for(&r, 32, "ok");
	TAP_IS_INT(http_do(e, &r), 0, "a success");
	TAP_IS_INT(http_engine_quota(e), 3, "success refunds one token");
	http_request_free(&r);
	http_engine_free(e);
}

static void test_files(void)
{
	struct http_engine *e = engine(0, 0, 0, 0);
	struct http_request r;
	size_t len = 0, bad = 0;
	char *got;

	req_for(&r, 40, "reset,big");
	r.out_path = "big.out";
	TAP_IS_INT(http_do(e, &r), 0, "download to a path (after a reset)");
	TAP_IS_INT(r.bytes_out, BIG_LEN, "bytes written");
	got = read_file("big.out", &len);
	TAP_IS_INT(len, BIG_LEN, "file size");
	for (size_t i = 0; got && i < len; i++)
		bad += (unsigned char)got[i] != big_byte(i);
	TAP_IS_INT(bad, 0, "file byte-identical");
	free(got);
	http_request_free(&r);

	int fd = open("fd.out", O_RDWR | O_CREAT | O_TRUNC, 0644);
	TAP_OK(fd >= 0 && write(fd, "HDR", 3) == 3, "fd output opened");
	req_for(&r, 41, "big");
	r.out_fd = fd;
	TAP_IS_INT(http_do(e, &r), 0, "download to a descriptor");
	close(fd);
	http_request_free(&r);
	got = read_file("fd.out", &len);
	TAP_IS_INT(len, BIG_LEN + 3, "descriptor output appended");
	TAP_OK(got && !memcmp(got, "HDR", 3) && (unsigned char)got[3] == big_byte(0) &&
	       (unsigned char)got[len - 1] == big_byte(BIG_LEN - 1), "descriptor content");
	free(got);

	req_for(&r, 42, "404");
	r.out_path = "err.out";
	TAP_IS_INT(http_do(e, &r), -1, "404 to a file fails");
	TAP_IS_STR(r.error ? r.error->code : NULL, "NoSuchKey", "error body parsed, not written to the file");
	http_request_free(&r);

	/* Upload a range of a file, retried after a 503. */
	static const char text[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	TAP_OK(write_file_atomic("up.txt", text, sizeof(text) - 1) == 0, "upload source written");
	req_for(&r, 43, "503,echo");
	r.method = "PUT";
	r.body_path = "up.txt";
	r.body_offset = 10;
	r.body_len = 6;
	TAP_IS_INT(http_do(e, &r), 0, "upload of a file range");
	TAP_IS_INT(r.attempts, 2, "retried, body sent again");
	TAP_IS_STR(r.resp_body.data, "abcdef", "server got exactly the range");
	http_request_free(&r);

	req_for(&r, 44, "echo");
	r.method = "PUT";
	r.body_path = "missing.txt";
	r.body_len = 6;
	TAP_IS_INT(http_do(e, &r), -1, "missing upload file fails");
	TAP_OK(r.error && strstr(why(&r), "cannot open 'missing.txt'"), "names the file");
	http_request_free(&r);
	http_engine_free(e);
}

static void test_refused(void)
{
	/* A port nobody listens on: connection refused, retried, then fails. */
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {0};
	socklen_t sl = sizeof(sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(s, (struct sockaddr *)&sa, sizeof(sa));
	getsockname(s, (struct sockaddr *)&sa, &sl);
	close(s);
	struct http_engine *e = engine(0, 0, 0, 0);
	struct http_request r;
	http_request_init(&r);
	r.method = "GET";
	r.url = xasprintf("http://127.0.0.1:%d/x?X-Amz-Signature=abc&X-Amz-Credential=def", ntohs(sa.sin_port));
	TAP_IS_INT(http_do(e, &r), -1, "refused connection fails");
	TAP_IS_INT(r.attempts, 3, "refused connection retried");
	TAP_OK(r.error && !strstr(why(&r), "X-Amz-Signature") && !strstr(why(&r), "def"),
	       "no query string in the error: %s", r.error ? why(&r) : "(null)");
	TAP_IS_INT(http_engine_quota(e), 480, "connection errors cost 10 tokens");
	http_request_free(&r);
	http_engine_free(e);
}

/* Regression: when the engine itself fails (epoll_wait, curl's multi
 * interface), the requests in flight used to end with no error, as if they
 * had succeeded, and their done callbacks were never called. Every request
 * not finished must fail with the engine's cause. */
static void test_fatal(void)
{
	enum { N = 5 };
	struct http_engine *e = engine(0, 0, 2, 0);
	struct http_request rs[N];
	int failed = 0, named = 0;
	done_count = 0;
	for (int i = 0; i < N; i++) {
		/* 2 in flight (slow answers), 3 waiting for a slot */
		req_for(&rs[i], 200 + i, "slow");
		rs[i].done = count_done;
		http_submit(e, &rs[i]);
	}
	http_engine_fail_next_wait(e);
	TAP_IS_INT(http_run(e), -1, "fatal engine error: the run fails");
	for (int i = 0; i < N; i++) {
		failed += rs[i].error != NULL;
		named += rs[i].error && rs[i].error->message &&
			 strstr(rs[i].error->message, "transfer engine failed: cannot wait for transfers") != NULL;
		http_request_free(&rs[i]);
	}
	TAP_IS_INT(failed, N, "every request in flight or queued is reported failed");
	TAP_IS_INT(named, N, "... with the engine's cause");
	TAP_IS_INT(done_count, N, "... and each gets its done call");
	/* the engine still works afterwards */
	struct http_request r;
	req_for(&r, 250, "ok");
	TAP_IS_INT(http_do(e, &r), 0, "the engine runs again after a fatal error");
	http_request_free(&r);
	http_engine_free(e);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	server_start();
	test_success();
	test_retries();
	test_timeout();
	test_deadline();
	test_read_timeout();
	test_concurrency();
	test_quota();
	test_files();
	test_refused();
	test_fatal();
	server_stop();
	for (size_t i = 0; i < ARRAY_LEN(whys); i++)
		free(whys[i]);
	return tap_done();
}
