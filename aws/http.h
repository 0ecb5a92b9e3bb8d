/* http.h - the HTTP engine: one curl multi handle owning the connection
 * pool, a bounded number of transfers in flight, and the AWS "standard"
 * retry behaviour (at most 3 attempts, full-jitter exponential backoff
 * capped at 20 s, a retry quota).
 *
 * Every attempt has three limits, and one that is hit ends the attempt as
 * a transport error, retried like any other:
 *   - connecting (DNS, TCP and TLS) takes at most connect_timeout_ms
 *     ("cannot connect to HOST within 10 s");
 *   - no byte sent or received for read_timeout_ms ("no data for 60 s"):
 *     the AWS CLI's --cli-read-timeout, a socket read timeout that covers
 *     the wait for an answer, an answer that stops, and an upload the
 *     server stops reading;
 *   - a deadline that scales with the bytes the attempt moves, so that a
 *     transfer trickling a byte now and then (never idle for long) ends
 *     too ("transfer too slow: 12 KiB of 1 MiB in 79 s (deadline 79 s)"):
 *     http_deadline_ms of the request body's size plus the answer's
 *     Content-Length, learnt from its headers (a ranged GET's is its
 *     range), the deadline growing then; an answer of unknown size
 *     (chunked) is allowed the time of the bytes it has sent so far.
 *
 * A request is a caller-owned struct http_request: fill it after
 * http_request_init, submit it, run the engine, read the results, then
 * http_request_free. prepare is called right before every attempt (rebuild
 * and sign the headers there: the date is then fresh on each retry).
 *
 * Nothing here prints anything: a failed request gets a structured error
 * in req->error (kind, HTTP status, AWS error code and message, CURLcode,
 * attempts; aws/error.h) whose what the caller sets before reporting it
 * once. Header values and URLs never enter it, so no signature, credential
 * or token can. TLS verification is always on. */
#ifndef RAPID_AWS_HTTP_H
#define RAPID_AWS_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "aws/error.h"
#include "aws/sigv4.h"
#include "lib/util.h"

struct http_engine;
struct http_request;

/* Zero fields take the default shown. */
struct http_config {
	unsigned max_in_flight;    /* transfers at once: 32 */
	unsigned max_attempts;     /* per request, first included: 3 */
	long connect_timeout_ms;   /* 10000; negative: no limit */
	long read_timeout_ms;      /* no byte either way this long ends the
	                              attempt: 60000; negative: no limit */
	int64_t min_rate;          /* bytes a second the deadline allows:
	                              HTTP_DEFAULT_MIN_RATE; negative: no
	                              deadline */
	long timeout_ms;           /* whole attempt, whatever its size; 0: none */
	int no_proxy;              /* 1: never through a proxy (link-local
	                              metadata services) */
	double backoff_base_s;     /* backoff before retry n (1, 2…): up to
	                              base * 2^n seconds, drawn uniformly: 0.1 */
	double backoff_cap_s;      /* 20 */
	unsigned retry_quota;      /* tokens; a retry costs 5, 10 after a
	                              timeout or connection error: 500 */
};

#define HTTP_DEFAULT_CONNECT_TIMEOUT_MS 10000L
#define HTTP_DEFAULT_READ_TIMEOUT_MS 60000L
#define HTTP_DEFAULT_MIN_RATE ((int64_t)64 << 10)

/* The deadline of an attempt that moves bytes (request body and response
 * body together), in milliseconds from its start: the time to connect and
 * to wait for a first byte (connect_ms + read_ms, each counted at its
 * default when it has no limit, negative or 0), plus bytes at min_rate
 * bytes a second. 0 when min_rate is not positive: no deadline. Pure. */
int64_t http_deadline_ms(uint64_t bytes, int64_t min_rate, long connect_ms, long read_ms);

/* Attempt callbacks; arg is req->arg. */
/* Before every attempt: set req->headers (and URL) afresh and sign. 0, or
 * -1 to fail the request without sending (put the cause in req->error with
 * http_request_fail or http_request_fail_with; otherwise "cannot prepare
 * request"). */
typedef int (*http_prepare_fn)(struct http_request *, void *arg);
/* After an attempt that got a response: return 1 if it is an error even
 * though the status is 2xx (it may set *code and *message, owned, which
 * decide whether it is retried), 0 if not. */
typedef int (*http_classify_fn)(struct http_request *, void *arg, char **code, char **message);
/* When the request is finished, successful or not (http_run only). */
typedef void (*http_done_fn)(struct http_request *, void *arg);

enum {
	/* A 2xx whose body is an <Error> document is an error (and retried if
	 * its code is retryable), as CompleteMultipartUpload can send. */
	HTTP_ERROR_IN_200 = 1u << 0,
};

struct http_request {
	/* --- set by the caller (borrowed unless said) --- */
	const char *method;        /* "GET", "PUT", "HEAD"… */
	char *url;                 /* owned (freed by http_request_free); as
	                              sent byte for byte (CURLOPT_PATH_AS_IS) */
	struct sigv4_headers headers; /* owned; sent in order */
	/* Request body: memory (body, body_len), or body_len bytes of the file
	 * body_path from body_offset; neither: no body. */
	const void *body;
	const char *body_path;
	off_t body_offset;
	size_t body_len;
	/* Response body: to out_fd (from its offset at submit, truncated back
	 * on each retry) or to out_path (created or truncated each attempt),
	 * in writes of 256 KiB, the file complete once the request is done;
	 * or else into resp_body, at most max_body bytes (0: 64 MiB). Error
	 * bodies (status >= 300) always go to resp_body. */
	int out_fd;                /* -1: none */
	const char *out_path;
	size_t max_body;
	unsigned flags;            /* HTTP_* */
	http_prepare_fn prepare;
	http_classify_fn classify;
	http_done_fn done;
	void *arg;

	/* --- results, valid once finished --- */
	long status;               /* last HTTP status; 0 if none came */
	struct buf resp_body;
	struct sigv4_headers resp_headers; /* of the last attempt */
	struct aws_error *error;   /* NULL on success; owned. Its what is not
	                              set: the caller names the action */
	unsigned attempts;
	uint64_t bytes_out;        /* response body bytes written to the file */

	/* --- private to http.c --- */
	struct http_engine *eng_;
	void *curl_;
	struct curl_slist *slist_;
	struct http_request *next_, *live_next_, **live_prev_;
	char *code_, *message_;
	int64_t due_ns_;
	int body_fd_, own_fd_, cap_hit_;
	int limit_;                /* which limit ended the attempt; 0: none */
	int64_t start_ns_, last_io_ns_, limit_ms_;
	uint64_t expect_in_, moved_;
	off_t out_start_;
	char *wbuf_;               /* the answer gathered for out_fd */
	size_t wlen_;
	size_t body_pos_;
	char errbuf_[256];
	unsigned last_cost_;
};

/* A request with every field empty and out_fd -1. */
void http_request_init(struct http_request *);
/* Frees what the request owns (url, headers, results) and the curl handle;
 * the struct may be initialised again. */
void http_request_free(struct http_request *);
/* Set req->error to kind with the formatted message (for prepare). */
void http_request_fail(struct http_request *, enum aws_error_kind kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Set req->error to a copy of e (for prepare: a credentials error). */
void http_request_fail_with(struct http_request *, const struct aws_error *e);
/* The first response header called name (any case); NULL if absent.
 * Borrowed. */
const char *http_response_header(const struct http_request *, const char *name);

/* NULL config: all defaults. NULL with *err if curl cannot start. */
struct http_engine *http_engine_new(const struct http_config *, struct aws_error *err);
/* Closes the pool. Requests still submitted are abandoned, not freed. */
void http_engine_free(struct http_engine *);
/* Retry tokens left, for tests. */
unsigned http_engine_quota(const struct http_engine *);
/* For tests: the engine's next wait for its sockets fails as if epoll_wait
 * had (the engine's fatal path). */
void http_engine_fail_next_wait(struct http_engine *);

/* Queue req (a request not already queued; results reset). It starts
 * during http_run. Borrowed until its done callback or the end of
 * http_run. */
void http_submit(struct http_engine *, struct http_request *);
/* Run until every submitted request has finished, starting new transfers
 * as others end. 0 if every request succeeded, -1 if any failed (each
 * failure is in its req->error; nothing is printed). When the engine
 * itself fails (curl's multi interface, epoll), every request not finished
 * yet, in flight or queued, fails with that cause and gets its done call. */
int http_run(struct http_engine *);
/* Submit req and run: 0 on success, -1 with req->error set. */
int http_do(struct http_engine *, struct http_request *);

#endif
