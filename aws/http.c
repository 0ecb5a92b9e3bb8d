/* http.c - the HTTP engine: one CURLM per engine owns the connection pool;
 * one easy handle per request (CURLOPT_PRIVATE, CURLOPT_ERRORBUFFER),
 * reset and reconfigured for each attempt; at most max_in_flight transfers
 * added to the multi handle at once; retries in the AWS "standard" mode
 * (retryable statuses and codes, full-jitter backoff, a token bucket). A
 * request waiting out its backoff holds no transfer slot. */
#include "aws/http.h"
#include "aws/date.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include "aws/curl_lazy.h"
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_MAX_BODY ((size_t)64 << 20)
#define ERROR_BODY_MAX ((size_t)64 << 10)
#define RETRY_COST 5u
#define TIMEOUT_COST 10u
#define DOWNLOAD_BUFFER (256L << 10)
/* curl has no "no limit" for connecting (0 is its default of 300 s). */
#define NO_CONNECT_LIMIT_MS 0x7fffffffL

enum { LIMIT_READ = 1, LIMIT_DEADLINE };

struct http_engine {
	CURLM *multi;
	struct http_config cfg;
	/* Not started, or waiting for a retry; tail is the last next_ field
	 * (or &queue when empty), so submitting is O(1). */
	struct http_request *queue, **tail;
	unsigned in_flight;
	unsigned tokens;
	uint64_t rng;
	int any_failed;
	int fail_next_wait; /* a test's injected fatal error */
	/* Requests added to the multi handle, so that a fatal error can
	 * fail each of them. */
	struct http_request *live;
	/* curl's sockets are watched with epoll (curl's socket interface):
	 * a response wakes only its own transfer, not a walk over all. */
	int epfd;
	int64_t timer_due_ns; /* when curl wants a timeout call; -1: never */
	int64_t limit_due_ns; /* when a request in flight may hit a limit
	                         next; -1: none has one */
};

static int curl_inited;

void http_request_init(struct http_request *req)
{
	memset(req, 0, sizeof(*req));
	req->out_fd = -1;
	req->body_fd_ = -1;
}

static void reset_results(struct http_request *req)
{
	req->status = 0;
	buf_reset(&req->resp_body);
	sigv4_headers_free(&req->resp_headers);
	free(req->code_);
	free(req->message_);
	req->code_ = req->message_ = NULL;
	req->bytes_out = 0;
	req->cap_hit_ = 0;
	req->limit_ = 0;
	req->expect_in_ = 0;
	req->moved_ = 0;
	req->wlen_ = 0;
}

static void close_attempt(struct http_request *req)
{
	if (req->own_fd_ && req->body_fd_ >= 0)
		close(req->body_fd_);
	req->body_fd_ = -1;
	req->own_fd_ = 0;
	/* the lines hold the Authorization header and any token */
	for (struct curl_slist *l = req->slist_; l; l = l->next)
		explicit_bzero(l->data, strlen(l->data));
	curl_slist_free_all(req->slist_);
	req->slist_ = NULL;
}

void http_request_free(struct http_request *req)
{
	close_attempt(req);
	if (req->curl_)
		curl_easy_cleanup(req->curl_);
	req->curl_ = NULL;
	reset_results(req);
	free(req->wbuf_);
	req->wbuf_ = NULL;
	buf_free(&req->resp_body);
	aws_error_free(req->error);
	req->error = NULL;
	free(req->url);
	req->url = NULL;
	sigv4_headers_free(&req->headers);
}

/* req->error, made empty if there was none. */
static struct aws_error *fresh_error(struct http_request *req)
{
	if (!req->error)
		req->error = xcalloc(1, sizeof(*req->error));
	aws_error_clear(req->error);
	return req->error;
}

void http_request_fail(struct http_request *req, enum aws_error_kind kind, const char *fmt, ...)
{
	struct aws_error *e = fresh_error(req);
	struct buf b = {0};
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	e->kind = kind;
	e->message = buf_detach(&b);
}

void http_request_fail_with(struct http_request *req, const struct aws_error *src)
{
	aws_error_copy(fresh_error(req), src);
}

/* Keep req on the engine's list of requests in flight, or take it off. */
static void live_add(struct http_engine *eng, struct http_request *req)
{
	req->live_next_ = eng->live;
	req->live_prev_ = &eng->live;
	if (eng->live)
		eng->live->live_prev_ = &req->live_next_;
	eng->live = req;
}

static void live_del(struct http_request *req)
{
	if (!req->live_prev_)
		return;
	*req->live_prev_ = req->live_next_;
	if (req->live_next_)
		req->live_next_->live_prev_ = req->live_prev_;
	req->live_next_ = NULL;
	req->live_prev_ = NULL;
}

const char *http_response_header(const struct http_request *req, const char *name)
{
	return sigv4_headers_get(&req->resp_headers, name);
}

static int64_t mono_ns(void);

/* curl says which sockets to watch for what. */
static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct http_engine *eng = userp;
	(void)easy, (void)socketp;
	if (what == CURL_POLL_REMOVE) {
		/* gone already if curl closed it: nothing to undo then */
		epoll_ctl(eng->epfd, EPOLL_CTL_DEL, fd, NULL);
		return 0;
	}
	struct epoll_event ev = {.data.fd = fd};
	if (what & CURL_POLL_IN)
		ev.events |= EPOLLIN;
	if (what & CURL_POLL_OUT)
		ev.events |= EPOLLOUT;
	if (epoll_ctl(eng->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 &&
	    (errno != ENOENT || epoll_ctl(eng->epfd, EPOLL_CTL_ADD, fd, &ev) < 0))
		return -1;
	return 0;
}

/* curl says when it next needs a timeout call (-1: not at all). */
static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct http_engine *eng = userp;
	(void)multi;
	eng->timer_due_ns = timeout_ms < 0 ? -1 : mono_ns() + (int64_t)timeout_ms * 1000000;
	return 0;
}

struct http_engine *http_engine_new(const struct http_config *cfg, struct aws_error *err)
{
	struct http_engine *eng;
	CURLMcode mc;
	if (!curl_inited) {
		CURLcode c = curl_global_init(CURL_GLOBAL_DEFAULT);
		if (c != CURLE_OK) {
			aws_error_set(err, AWS_ERR_LOCAL, "%s", curl_easy_strerror(c));
			aws_error_what(err, "start libcurl", NULL);
			return NULL;
		}
		curl_inited = 1;
	}
	eng = xcalloc(1, sizeof(*eng));
	if (cfg)
		eng->cfg = *cfg;
	if (!eng->cfg.max_in_flight)
		eng->cfg.max_in_flight = 32;
	if (!eng->cfg.max_attempts)
		eng->cfg.max_attempts = 3;
	if (!eng->cfg.connect_timeout_ms)
		eng->cfg.connect_timeout_ms = HTTP_DEFAULT_CONNECT_TIMEOUT_MS;
	if (!eng->cfg.read_timeout_ms)
		eng->cfg.read_timeout_ms = HTTP_DEFAULT_READ_TIMEOUT_MS;
	if (!eng->cfg.min_rate)
		eng->cfg.min_rate = HTTP_DEFAULT_MIN_RATE;
	if (eng->cfg.backoff_base_s <= 0)
		eng->cfg.backoff_base_s = 0.1;
	if (eng->cfg.backoff_cap_s <= 0)
		eng->cfg.backoff_cap_s = 20;
	if (!eng->cfg.retry_quota)
		eng->cfg.retry_quota = 500;
	eng->tokens = eng->cfg.retry_quota;
	eng->tail = &eng->queue;
	eng->rng = (uint64_t)now_ns() ^ ((uint64_t)getpid() << 32) ^ (uintptr_t)eng;
	eng->multi = curl_multi_init();
	if (!eng->multi) {
		aws_error_set(err, AWS_ERR_LOCAL, "curl_multi_init failed");
		aws_error_what(err, "start libcurl", NULL);
		free(eng);
		return NULL;
	}
	eng->timer_due_ns = -1;
	eng->limit_due_ns = -1;
	if ((eng->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		aws_error_set(err, AWS_ERR_LOCAL, "epoll: %s", strerror(errno));
		aws_error_what(err, "start the HTTP engine", NULL);
		curl_multi_cleanup(eng->multi);
		free(eng);
		return NULL;
	}
	if ((mc = curl_multi_setopt(eng->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)eng->cfg.max_in_flight)) != CURLM_OK ||
	    (mc = curl_multi_setopt(eng->multi, CURLMOPT_MAXCONNECTS, (long)eng->cfg.max_in_flight)) != CURLM_OK ||
	    (mc = curl_multi_setopt(eng->multi, CURLMOPT_SOCKETFUNCTION, on_socket)) != CURLM_OK ||
	    (mc = curl_multi_setopt(eng->multi, CURLMOPT_SOCKETDATA, eng)) != CURLM_OK ||
	    (mc = curl_multi_setopt(eng->multi, CURLMOPT_TIMERFUNCTION, on_timer)) != CURLM_OK ||
	    (mc = curl_multi_setopt(eng->multi, CURLMOPT_TIMERDATA, eng)) != CURLM_OK) {
		aws_error_set(err, AWS_ERR_LOCAL, "%s", curl_multi_strerror(mc));
		aws_error_what(err, "configure libcurl", NULL);
		curl_multi_cleanup(eng->multi);
		close(eng->epfd);
		free(eng);
		return NULL;
	}
	return eng;
}

void http_engine_free(struct http_engine *eng)
{
	if (!eng)
		return;
	curl_multi_cleanup(eng->multi);
	close(eng->epfd);
	free(eng);
}

unsigned http_engine_quota(const struct http_engine *eng)
{
	return eng->tokens;
}

void http_engine_fail_next_wait(struct http_engine *eng)
{
	eng->fail_next_wait = 1;
}

/* xorshift64*: jitter needs no cryptographic quality. Uniform in [0, 1). */
static double rand01(struct http_engine *eng)
{
	uint64_t x = eng->rng ? eng->rng : 0x9e3779b97f4a7c15u;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	eng->rng = x;
	return (double)((x * 0x2545f4914f6cdd1dull) >> 11) / 9007199254740992.0;
}

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t http_deadline_ms(uint64_t bytes, int64_t min_rate, long connect_ms, long read_ms)
{
	if (min_rate <= 0)
		return 0;
	int64_t allowance = (connect_ms > 0 ? connect_ms : HTTP_DEFAULT_CONNECT_TIMEOUT_MS) +
	                    (read_ms > 0 ? read_ms : HTTP_DEFAULT_READ_TIMEOUT_MS);
	uint64_t transfer = bytes / (uint64_t)min_rate * 1000 + bytes % (uint64_t)min_rate * 1000 / (uint64_t)min_rate;
	if (transfer > (uint64_t)(INT64_MAX - allowance))
		return INT64_MAX;
	return allowance + (int64_t)transfer;
}

/* ---- curl callbacks ---- */

static size_t read_cb(char *dst, size_t size, size_t n, void *arg)
{
	struct http_request *req = arg;
	size_t want = size * n, left = req->body_len - req->body_pos_;
	if (want > left)
		want = left;
	if (!want)
		return 0;
	if (req->body_fd_ >= 0) {
		ssize_t got = pread(req->body_fd_, dst, want, req->body_offset + (off_t)req->body_pos_);
		if (got <= 0)
			return CURL_READFUNC_ABORT;
		want = (size_t)got;
	} else {
		memcpy(dst, (const char *)req->body + req->body_pos_, want);
	}
	req->body_pos_ += want;
	req->moved_ += want;
	req->last_io_ns_ = mono_ns();
	return want;
}

static int seek_cb(void *arg, curl_off_t off, int origin)
{
	struct http_request *req = arg;
	if (origin != SEEK_SET || off < 0 || (uint64_t)off > req->body_len)
		return CURL_SEEKFUNC_CANTSEEK;
	req->body_pos_ = (size_t)off;
	return CURL_SEEKFUNC_OK;
}

/* All of len bytes at p to fd: 0, or -1 with errno. */
static int write_all(int fd, const char *p, size_t len)
{
	size_t done = 0;
	while (done < len) {
		ssize_t w = write(fd, p + done, len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (!w)
				errno = EIO;
			return -1;
		}
		done += (size_t)w;
	}
	return 0;
}

/* Write out what write_cb gathered: 0, or -1 with errno. */
static int flush_out(struct http_request *req)
{
	int rc = req->wlen_ ? write_all(req->out_fd, req->wbuf_, req->wlen_) : 0;
	req->wlen_ = 0;
	return rc;
}

static size_t write_cb(char *src, size_t size, size_t n, void *arg)
{
	struct http_request *req = arg;
	size_t len = size * n;
	req->moved_ += len;
	req->last_io_ns_ = mono_ns();
	if (req->out_fd >= 0 && req->status >= 200 && req->status < 300) {
		/* gathered into DOWNLOAD_BUFFER-sized writes; the last is
		 * flushed when the attempt succeeds (finish) */
		if (!req->wbuf_)
			req->wbuf_ = xmalloc(DOWNLOAD_BUFFER);
		if (req->wlen_ + len > (size_t)DOWNLOAD_BUFFER && flush_out(req) < 0)
			return 0;
		if (len >= (size_t)DOWNLOAD_BUFFER) {
			if (write_all(req->out_fd, src, len) < 0)
				return 0;
		} else {
			memcpy(req->wbuf_ + req->wlen_, src, len);
			req->wlen_ += len;
		}
		req->bytes_out += len;
		return len;
	}
	size_t cap = req->status >= 300 ? ERROR_BODY_MAX : req->max_body ? req->max_body : DEFAULT_MAX_BODY;
	if (req->resp_body.len + len > cap) {
		req->cap_hit_ = 1;
		return 0;
	}
	buf_putn(&req->resp_body, src, len);
	return len;
}

static size_t header_cb(char *line, size_t size, size_t n, void *arg)
{
	struct http_request *req = arg;
	size_t len = size * n, end = len;
	req->last_io_ns_ = mono_ns();
	while (end && (line[end - 1] == '\r' || line[end - 1] == '\n'))
		end--;
	if (end >= 5 && !memcmp(line, "HTTP/", 5)) {
		/* A new status line (after 100 Continue, say): start over. */
		const char *sp = memchr(line, ' ', end);
		sigv4_headers_free(&req->resp_headers);
		req->status = sp ? strtol(sp + 1, NULL, 10) : 0;
		req->expect_in_ = 0;
		return len;
	}
	const char *colon = memchr(line, ':', end);
	if (!colon)
		return len;
	char *name = xstrndup(line, (size_t)(colon - line));
	const char *v = colon + 1, *ve = line + end;
	while (v < ve && (*v == ' ' || *v == '\t'))
		v++;
	while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
		ve--;
	char *value = xstrndup(v, (size_t)(ve - v));
	/* the answer's size stretches the deadline (a HEAD's is the
	 * object's, not sent) */
	if (!strcasecmp(name, "Content-Length") && strcmp(req->method, "HEAD"))
		req->expect_in_ = strtoull(value, NULL, 10);
	sigv4_headers_add(&req->resp_headers, name, value);
	free(name);
	free(value);
	return len;
}

/* ---- one attempt ---- */

#define SETOPT(opt, val)                                                              \
	do {                                                                          \
		if ((c = curl_easy_setopt(h, opt, val)) != CURLE_OK)                  \
			goto curl_fail;                                               \
	} while (0)

/* Prepare and add the next attempt of req. 0, or -1 with req->error set. */
static int start_attempt(struct http_engine *eng, struct http_request *req)
{
	CURL *h;
	CURLcode c;
	CURLMcode mc;
	size_t i;

	close_attempt(req);
	reset_results(req);
	req->attempts++;
	if (req->prepare && req->prepare(req, req->arg) < 0) {
		if (!req->error)
			http_request_fail(req, AWS_ERR_LOCAL, "cannot prepare request");
		return -1;
	}
	if (!req->url || !req->method) {
		http_request_fail(req, AWS_ERR_LOCAL, "request has no method or URL");
		return -1;
	}
	if (req->body_path) {
		req->body_fd_ = open(req->body_path, O_RDONLY | O_CLOEXEC);
		if (req->body_fd_ < 0) {
			http_request_fail(req, AWS_ERR_LOCAL, "cannot open '%s': %s", req->body_path, strerror(errno));
			return -1;
		}
		req->own_fd_ = 1;
	}
	req->body_pos_ = 0;
	if (req->out_path) {
		if (req->out_fd >= 0)
			close(req->out_fd);
		req->out_fd = open(req->out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
		if (req->out_fd < 0) {
			http_request_fail(req, AWS_ERR_LOCAL, "cannot open '%s': %s", req->out_path, strerror(errno));
			return -1;
		}
	} else if (req->out_fd >= 0) {
		if (req->attempts == 1) {
			req->out_start_ = lseek(req->out_fd, 0, SEEK_CUR);
		} else if (lseek(req->out_fd, req->out_start_, SEEK_SET) < 0 || ftruncate(req->out_fd, req->out_start_) < 0) {
			http_request_fail(req, AWS_ERR_LOCAL, "cannot rewind the output file for a retry: %s",
			                  strerror(errno));
			return -1;
		}
	}

	if (!req->curl_) {
		if (!(req->curl_ = curl_easy_init())) {
			http_request_fail(req, AWS_ERR_LOCAL, "cannot start a transfer: curl_easy_init failed");
			return -1;
		}
	} else {
		curl_easy_reset(req->curl_);
	}
	h = req->curl_;
	req->errbuf_[0] = 0;
	SETOPT(CURLOPT_PRIVATE, req);
	SETOPT(CURLOPT_ERRORBUFFER, req->errbuf_);
	SETOPT(CURLOPT_URL, req->url);
	SETOPT(CURLOPT_PATH_AS_IS, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
	SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
#else
	SETOPT(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
	SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
	SETOPT(CURLOPT_NOSIGNAL, 1L);
	SETOPT(CURLOPT_CONNECTTIMEOUT_MS,
	       eng->cfg.connect_timeout_ms > 0 ? eng->cfg.connect_timeout_ms : NO_CONNECT_LIMIT_MS);
	SETOPT(CURLOPT_TIMEOUT_MS, eng->cfg.timeout_ms);
	/* A download to a file in 256 KiB reads (and writes, write_cb
	 * gathering curl's 16 KiB pieces) rather than 16 KiB ones: a
	 * sixteenth of the system calls, which are most of the CPU a large
	 * GET costs. */
	if (req->out_fd >= 0 || req->out_path)
		SETOPT(CURLOPT_BUFFERSIZE, DOWNLOAD_BUFFER);
	SETOPT(CURLOPT_WRITEFUNCTION, write_cb);
	SETOPT(CURLOPT_WRITEDATA, req);
	SETOPT(CURLOPT_HEADERFUNCTION, header_cb);
	SETOPT(CURLOPT_HEADERDATA, req);
	if (eng->cfg.no_proxy)
		SETOPT(CURLOPT_NOPROXY, "*");
	if (req->body || req->body_path || !strcmp(req->method, "PUT") || !strcmp(req->method, "POST")) {
		SETOPT(CURLOPT_UPLOAD, 1L);
		SETOPT(CURLOPT_INFILESIZE_LARGE, (curl_off_t)req->body_len);
		SETOPT(CURLOPT_READFUNCTION, read_cb);
		SETOPT(CURLOPT_READDATA, req);
		SETOPT(CURLOPT_SEEKFUNCTION, seek_cb);
		SETOPT(CURLOPT_SEEKDATA, req);
	}
	if (!strcmp(req->method, "HEAD"))
		SETOPT(CURLOPT_NOBODY, 1L);
	else if (strcmp(req->method, "GET") && strcmp(req->method, "PUT"))
		SETOPT(CURLOPT_CUSTOMREQUEST, req->method);
	for (i = 0; i < req->headers.n; i++) {
		char *line = xasprintf("%s: %s", req->headers.v[i].name, req->headers.v[i].value);
		struct curl_slist *s = curl_slist_append(req->slist_, line);
		explicit_bzero(line, strlen(line));
		free(line);
		if (!s) {
			http_request_fail(req, AWS_ERR_LOCAL, "cannot build the request headers");
			return -1;
		}
		req->slist_ = s;
	}
	/* No 100-continue round trip; curl's own Accept is harmless. */
	{
		struct curl_slist *s = curl_slist_append(req->slist_, "Expect:");
		if (!s) {
			http_request_fail(req, AWS_ERR_LOCAL, "cannot build the request headers");
			return -1;
		}
		req->slist_ = s;
	}
	SETOPT(CURLOPT_HTTPHEADER, req->slist_);
	if ((mc = curl_multi_add_handle(eng->multi, h)) != CURLM_OK) {
		http_request_fail(req, AWS_ERR_LOCAL, "cannot start a transfer: %s", curl_multi_strerror(mc));
		return -1;
	}
	eng->in_flight++;
	live_add(eng, req);
	req->start_ns_ = req->last_io_ns_ = mono_ns();
	/* the next check sees it */
	eng->limit_due_ns = req->start_ns_;
	return 0;
curl_fail:
	http_request_fail(req, AWS_ERR_LOCAL, "cannot configure a transfer: %s", curl_easy_strerror(c));
	return -1;
}

/* ---- classifying a finished attempt ---- */

/* The text of the first <tag>…</tag> in body, or NULL. The caller frees. */
static char *xml_text(const char *body, const char *tag)
{
	char open[64], close_[64];
	const char *s, *e;
	snprintf(open, sizeof(open), "<%s>", tag);
	snprintf(close_, sizeof(close_), "</%s>", tag);
	if (!(s = strstr(body, open)))
		return NULL;
	s += strlen(open);
	if (!(e = strstr(s, close_)))
		return NULL;
	return xstrndup(s, (size_t)(e - s));
}

/* A JSON error's code: "namespace#Code:http://…" gives "Code". The caller
 * frees. */
static char *json_code(const char *s)
{
	const char *hash = strchr(s, '#');
	if (hash && hash < s + strcspn(s, ":"))
		s = hash + 1;
	return xstrndup(s, strcspn(s, ":"));
}

/* The code and message of a JSON error body (REST-JSON and JSON 1.1):
 * __type or code, message or Message; what is already known is kept. */
static void parse_json_error(struct http_request *req)
{
	cJSON *j = cJSON_ParseWithLength(req->resp_body.data, req->resp_body.len);
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return;
	}
	cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "__type");
	if (!cJSON_IsString(t))
		t = cJSON_GetObjectItemCaseSensitive(j, "code");
	cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "message");
	if (!cJSON_IsString(m))
		m = cJSON_GetObjectItemCaseSensitive(j, "Message");
	if (!req->code_ && cJSON_IsString(t) && t->valuestring[0])
		req->code_ = json_code(t->valuestring);
	if (!req->message_ && cJSON_IsString(m))
		req->message_ = xstrdup(m->valuestring);
	cJSON_Delete(j);
}

static void parse_error_body(struct http_request *req)
{
	const char *type, *body = req->resp_body.data ? req->resp_body.data : "";
	/* JSON protocols name the error in a header ("Code:http://…"), which
	 * wins over the body, as botocore has it. */
	if (!req->code_ && (type = http_response_header(req, "x-amzn-ErrorType")) && *type)
		req->code_ = json_code(type);
	if (body[strspn(body, " \t\r\n")] == '{') {
		parse_json_error(req);
		return;
	}
	if (!req->code_)
		req->code_ = xml_text(body, "Code");
	if (!req->message_)
		req->message_ = xml_text(body, "Message");
}

static int retryable_code(const char *code)
{
	static const char *const codes[] = {
		"RequestTimeout", "RequestTimeoutException", "SlowDown", "Throttling",
		"ThrottlingException", "ThrottledException", "RequestThrottledException",
		"RequestLimitExceeded", "TooManyRequestsException", "ProvisionedThroughputExceededException",
		"BandwidthLimitExceeded", "InternalError", "PriorRequestNotComplete", "EC2ThrottledException",
	};
	size_t i;
	if (!code)
		return 0;
	for (i = 0; i < ARRAY_LEN(codes); i++)
		if (!strcmp(code, codes[i]))
			return 1;
	return 0;
}

static int retryable_curl(CURLcode c)
{
	switch (c) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return 1;
	default:
		return 0;
	}
}

/* " (local clock N s behind/ahead of the server)" from the Date header. */
static void skew_note(const struct http_request *req, struct aws_error *e)
{
	const char *date = http_response_header(req, "Date");
	int64_t ns;
	if (!date || aws_date_parse(date, AWS_DATE_HTTP, &ns) < 0)
		return;
	long long skew = (long long)(ns / 1000000000) - (long long)(now_ns() / 1000000000);
	aws_error_notef(e, " (local clock is %lld s %s the server's Date)", skew < 0 ? -skew : skew,
	                skew >= 0 ? "behind" : "ahead of");
}

/* "12 KiB", "1.5 MiB", "300 B": sizes in a report. */
static void put_size(struct buf *b, uint64_t n)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double v = (double)n;
	size_t u = 0;
	while (v >= 1024 && u + 1 < ARRAY_LEN(units)) {
		v /= 1024;
		u++;
	}
	if (!u || v >= 10 || v == (double)(uint64_t)v)
		buf_printf(b, "%.0f %s", v, units[u]);
	else
		buf_printf(b, "%.1f %s", v, units[u]);
}

/* "60 s", "1.5 s", "250 ms". */
static void put_ms(struct buf *b, int64_t ms)
{
	if (ms < 1000)
		buf_printf(b, "%lld ms", (long long)ms);
	else if (ms % 1000 == 0 || ms >= 100000)
		buf_printf(b, "%lld s", (long long)((ms + 500) / 1000));
	else
		buf_printf(b, "%.1f s", (double)ms / 1000);
}

/* Why a limit of ours ended the attempt. The caller frees. */
static char *limit_message(const struct http_engine *eng, const struct http_request *req)
{
	struct buf b = {0};
	if (req->limit_ == LIMIT_READ) {
		buf_puts(&b, "no data for ");
		put_ms(&b, eng->cfg.read_timeout_ms);
	} else {
		uint64_t total = req->body_len + req->expect_in_;
		buf_puts(&b, "transfer too slow: ");
		put_size(&b, req->moved_);
		if (total > req->moved_) {
			buf_puts(&b, " of ");
			put_size(&b, total);
		}
		buf_puts(&b, " in ");
		put_ms(&b, (mono_ns() - req->start_ns_) / 1000000);
		buf_puts(&b, " (deadline ");
		put_ms(&b, req->limit_ms_);
		buf_puts(&b, ")");
	}
	return buf_detach(&b);
}

static void set_error(struct http_engine *eng, struct http_request *req, CURLcode c, const char *extra)
{
	struct aws_error *e = fresh_error(req);
	if (c != CURLE_OK) {
		long oserr = 0;
		curl_off_t connected = -1;
		const char *host = strstr(req->url, "://");
		int host_len = host ? (int)strcspn(host + 3, "/?#") : 0;
		e->kind = AWS_ERR_TRANSPORT;
		e->curl_code = (int)c;
		/* curl's words without its "after N ms", so that a report is
		 * the same each time; the URL's host and port only, never its
		 * path or query */
		if (req->limit_) {
			e->message = limit_message(eng, req);
		} else if (c == CURLE_COULDNT_CONNECT && host &&
		           curl_easy_getinfo(req->curl_, CURLINFO_OS_ERRNO, &oserr) == CURLE_OK && oserr) {
			e->message = xasprintf("cannot connect to %.*s: %s", host_len, host + 3, strerror((int)oserr));
		} else if (c == CURLE_OPERATION_TIMEDOUT && host &&
		           curl_easy_getinfo(req->curl_, CURLINFO_CONNECT_TIME_T, &connected) == CURLE_OK &&
		           connected == 0) {
			struct buf b = {0};
			buf_printf(&b, "cannot connect to %.*s within ", host_len, host + 3);
			put_ms(&b, eng->cfg.connect_timeout_ms);
			e->message = buf_detach(&b);
		} else {
			e->message = xstrdup(req->errbuf_[0] ? req->errbuf_ : curl_easy_strerror(c));
		}
	} else {
		e->kind = AWS_ERR_SERVICE;
		e->status = req->status;
		e->code = req->code_ ? xstrdup(req->code_) : NULL;
		e->message = req->message_ ? aws_error_oneline(req->message_) : NULL;
		if (req->code_ && !strcmp(req->code_, "RequestTimeTooSkewed"))
			skew_note(req, e);
	}
	if (extra)
		aws_error_notef(e, "%s", extra);
	e->attempts = req->attempts;
}

static void finish(struct http_engine *eng, struct http_request *req)
{
	close_attempt(req);
	if (req->error)
		req->wlen_ = 0;
	else if (req->out_fd >= 0 && flush_out(req) < 0)
		http_request_fail(req, AWS_ERR_LOCAL, "cannot write '%s': %s",
		                  req->out_path ? req->out_path : "the output file", strerror(errno));
	if (req->out_path && req->out_fd >= 0) {
		if (close(req->out_fd) < 0 && !req->error)
			http_request_fail(req, AWS_ERR_LOCAL, "cannot write '%s': %s", req->out_path, strerror(errno));
		req->out_fd = -1;
	}
	if (req->error) {
		eng->any_failed = 1;
		if (!req->error->attempts)
			req->error->attempts = req->attempts;
	}
	if (req->done)
		req->done(req, req->arg);
}

/* Put a request waiting for its retry at the head: it goes before new work
 * once due. */
static void enqueue(struct http_engine *eng, struct http_request *req)
{
	req->next_ = eng->queue;
	if (!eng->queue)
		eng->tail = &req->next_;
	eng->queue = req;
}

/* Unlink the request *p points to (p is &queue or a next_ field). */
static struct http_request *unlink_at(struct http_engine *eng, struct http_request **p)
{
	struct http_request *req = *p;
	*p = req->next_;
	if (eng->tail == &req->next_)
		eng->tail = p;
	req->next_ = NULL;
	return req;
}

/* Decide what a finished attempt means: done, or queued for a retry. */
static void attempt_done(struct http_engine *eng, struct http_request *req, CURLcode c)
{
	int retry = 0, failed = 0;
	unsigned cost = RETRY_COST;
	const char *extra = NULL;

	if (c == CURLE_WRITE_ERROR && req->cap_hit_) {
		http_request_fail(req, AWS_ERR_RESPONSE, "response larger than %zu bytes",
		                  req->max_body ? req->max_body : DEFAULT_MAX_BODY);
		req->error->status = req->status;
		finish(eng, req);
		return;
	}
	if (c != CURLE_OK) {
		failed = 1;
		retry = retryable_curl(c);
		if (c != CURLE_HTTP2 && c != CURLE_HTTP2_STREAM)
			cost = TIMEOUT_COST;
	} else {
		int is_err = req->status < 200 || req->status >= 300;
		if (!is_err && (req->flags & HTTP_ERROR_IN_200) && req->resp_body.data &&
		    strstr(req->resp_body.data, "<Error>"))
			is_err = 1;
		if (!is_err && req->classify && req->classify(req, req->arg, &req->code_, &req->message_))
			is_err = 1;
		if (is_err) {
			failed = 1;
			parse_error_body(req);
			/* 429 is throttling whatever its code (Batch's
			 * TooManyRequestsException, an API gateway's bare 429) */
			retry = req->status == 429 || req->status == 500 || req->status == 502 || req->status == 503 ||
			        req->status == 504 || retryable_code(req->code_);
			if (req->code_ && !strcmp(req->code_, "RequestTimeTooSkewed"))
				retry = 0;
		}
	}
	if (!failed) {
		eng->tokens += req->last_cost_ ? req->last_cost_ : 1;
		if (eng->tokens > eng->cfg.retry_quota)
			eng->tokens = eng->cfg.retry_quota;
		aws_error_free(req->error);
		req->error = NULL;
		finish(eng, req);
		return;
	}
	if (retry && req->attempts >= eng->cfg.max_attempts) {
		retry = 0;
	} else if (retry && eng->tokens < cost) {
		retry = 0;
		extra = " (retry quota exhausted)";
	}
	set_error(eng, req, c, extra);
	if (!retry) {
		finish(eng, req);
		return;
	}
	eng->tokens -= cost;
	req->last_cost_ = cost;
	double max = eng->cfg.backoff_base_s * (double)(1u << (req->attempts < 30 ? req->attempts : 30));
	if (max > eng->cfg.backoff_cap_s)
		max = eng->cfg.backoff_cap_s;
	req->due_ns_ = mono_ns() + (int64_t)(rand01(eng) * max * 1e9);
	enqueue(eng, req);
}

void http_submit(struct http_engine *eng, struct http_request *req)
{
	reset_results(req);
	aws_error_free(req->error);
	req->error = NULL;
	req->attempts = 0;
	req->last_cost_ = 0;
	req->due_ns_ = 0;
	req->eng_ = eng;
	/* Append, so requests start in the order submitted. Done callbacks may
	 * submit too (a multipart upload's next step): start_due and http_run
	 * pick such requests up. */
	req->next_ = NULL;
	*eng->tail = req;
	eng->tail = &req->next_;
}

/* Take req out of the multi handle and end its attempt because it hit
 * limit (LIMIT_*): retried like any transport error. */
static void abandon(struct http_engine *eng, struct http_request *req, int limit, int64_t limit_ms)
{
	curl_multi_remove_handle(eng->multi, req->curl_);
	eng->in_flight--;
	live_del(req);
	req->limit_ = limit;
	req->limit_ms_ = limit_ms;
	attempt_done(eng, req, CURLE_OPERATION_TIMEDOUT);
}

/* End the attempts that went quiet for the read timeout or outlived
 * their deadline; set when the next may (limit_due_ns). */
static void check_limits(struct http_engine *eng)
{
	int64_t now = mono_ns(), next = -1;
	int64_t read_ns = eng->cfg.read_timeout_ms > 0 ? (int64_t)eng->cfg.read_timeout_ms * 1000000 : -1;
	/* due times only move later (each byte, each Content-Length):
	 * the earliest found at the last check is early enough */
	if (eng->limit_due_ns < 0 || now < eng->limit_due_ns)
		return;
	for (struct http_request *req = eng->live, *after; req; req = after) {
		after = req->live_next_;
		/* an answer of unknown size (chunked) gets the time for
		 * what it has sent so far */
		uint64_t bytes = req->body_len + req->expect_in_;
		int64_t dl = http_deadline_ms(bytes > req->moved_ ? bytes : req->moved_, eng->cfg.min_rate,
		                              eng->cfg.connect_timeout_ms, eng->cfg.read_timeout_ms);
		int64_t dl_due = dl && dl < INT64_MAX / 2000000 ? req->start_ns_ + dl * 1000000 : -1;
		int64_t read_due = read_ns > 0 ? req->last_io_ns_ + read_ns : -1;
		if (read_due >= 0 && now >= read_due) {
			abandon(eng, req, LIMIT_READ, eng->cfg.read_timeout_ms);
			continue;
		}
		if (dl_due >= 0 && now >= dl_due) {
			abandon(eng, req, LIMIT_DEADLINE, dl);
			continue;
		}
		if (read_due >= 0 && (next < 0 || read_due < next))
			next = read_due;
		if (dl_due >= 0 && (next < 0 || dl_due < next))
			next = dl_due;
	}
	eng->limit_due_ns = next;
}

/* Start every queued request that is due while slots are free; the
 * nanoseconds until the next one is due (or -1 if none waits). */
static int64_t start_due(struct http_engine *eng)
{
	int64_t now = mono_ns(), wait = -1;
	struct http_request **p = &eng->queue;
	while (*p) {
		struct http_request *req = *p;
		if (req->due_ns_ > now) {
			if (wait < 0 || req->due_ns_ - now < wait)
				wait = req->due_ns_ - now;
			p = &req->next_;
			continue;
		}
		if (eng->in_flight >= eng->cfg.max_in_flight)
			break;
		unlink_at(eng, p);
		if (start_attempt(eng, req) < 0)
			finish(eng, req);
	}
	return wait;
}

int http_run(struct http_engine *eng)
{
	CURLMcode mc = CURLM_OK;
	int running = 0;
	struct aws_error fatal_ = {0};
	struct epoll_event evs[64];
	eng->any_failed = 0;
	for (;;) {
		int64_t wait = start_due(eng);
		if (!eng->in_flight && !eng->queue)
			break;
		/* Sleep until a socket is ready, curl's timer is due, a retry
		 * may start or a transfer may hit a limit, whichever comes
		 * first (at most a second). */
		int64_t now = mono_ns(), sleep_ns = 1000000000;
		if (eng->timer_due_ns >= 0 && eng->timer_due_ns - now < sleep_ns)
			sleep_ns = eng->timer_due_ns - now;
		if (eng->limit_due_ns >= 0 && eng->limit_due_ns - now < sleep_ns)
			sleep_ns = eng->limit_due_ns - now;
		if (wait >= 0 && wait < sleep_ns)
			sleep_ns = wait;
		if (sleep_ns < 0)
			sleep_ns = 0;
		int n = 0;
		if (eng->in_flight) {
			n = epoll_wait(eng->epfd, evs, (int)ARRAY_LEN(evs), (int)((sleep_ns + 999999) / 1000000));
			if (eng->fail_next_wait) {
				eng->fail_next_wait = 0;
				n = -1;
				errno = EBADF;
			}
			if (n < 0 && errno != EINTR) {
				aws_error_set(&fatal_, AWS_ERR_LOCAL, "transfer engine failed: cannot wait for transfers: %s",
				              strerror(errno));
				break;
			}
		} else if (sleep_ns > 0) {
			struct timespec ts = {sleep_ns / 1000000000, sleep_ns % 1000000000};
			nanosleep(&ts, NULL);
		}
		for (int k = 0; k < n && mc == CURLM_OK; k++) {
			int flags = 0;
			if (evs[k].events & EPOLLIN)
				flags |= CURL_CSELECT_IN;
			if (evs[k].events & EPOLLOUT)
				flags |= CURL_CSELECT_OUT;
			if (evs[k].events & (EPOLLERR | EPOLLHUP))
				flags |= CURL_CSELECT_ERR;
			mc = curl_multi_socket_action(eng->multi, evs[k].data.fd, flags, &running);
		}
		if (mc == CURLM_OK && eng->timer_due_ns >= 0 && mono_ns() >= eng->timer_due_ns) {
			eng->timer_due_ns = -1;
			mc = curl_multi_socket_action(eng->multi, CURL_SOCKET_TIMEOUT, 0, &running);
		}
		if (mc != CURLM_OK) {
			aws_error_set(&fatal_, AWS_ERR_LOCAL, "transfer engine failed: cannot run transfers: %s",
			              curl_multi_strerror(mc));
			break;
		}
		CURLMsg *msg;
		int left;
		while ((msg = curl_multi_info_read(eng->multi, &left))) {
			struct http_request *req = NULL;
			CURL *h = msg->easy_handle;
			CURLcode res = msg->data.result;
			if (msg->msg != CURLMSG_DONE)
				continue;
			if (curl_easy_getinfo(h, CURLINFO_PRIVATE, (char **)&req) != CURLE_OK)
				req = NULL;
			/* a handle that cannot be removed is reused by
			 * curl_easy_reset or freed with the request anyway */
			curl_multi_remove_handle(eng->multi, h);
			mc = CURLM_OK;
			eng->in_flight--;
			if (req) {
				live_del(req);
				attempt_done(eng, req, res);
			}
		}
		check_limits(eng);
	}
	if (aws_error_isset(&fatal_)) {
		/* Abandon everything: each request in flight or waiting gets
		 * the error (done callbacks may submit more: they fail too). */
		while (eng->live || eng->queue) {
			struct http_request *req;
			if (eng->live) {
				req = eng->live;
				live_del(req);
				curl_multi_remove_handle(eng->multi, req->curl_);
				eng->in_flight--;
			} else {
				req = unlink_at(eng, &eng->queue);
			}
			http_request_fail_with(req, &fatal_);
			finish(eng, req);
		}
		aws_error_clear(&fatal_);
		return -1;
	}
	return eng->any_failed ? -1 : 0;
}

int http_do(struct http_engine *eng, struct http_request *req)
{
	http_submit(eng, req);
	if (http_run(eng) < 0 && req->error)
		return -1;
	return req->error ? -1 : 0;
}
