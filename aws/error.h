/* error.h - the one error of aws/: what failed, on which object, and why
 * (the HTTP status and AWS error code when a service answered, the
 * transport's CURLcode when none did). Every aws/ function that can fail
 * fills one and returns -1 or NULL; nothing in aws/ prints. The caller
 * that knows the context reports it once, formatted as
 *
 *     cannot <what>: <status> <Code>: <message><note> (after N attempts)
 *
 * where <what> names the action and its object ("get 's3://b/k'"). Code
 * decides by the fields (status, code, kind), never by the text. No field
 * ever holds a header value, a URL's query, a credential or a token. */
#ifndef RAPID_AWS_ERROR_H
#define RAPID_AWS_ERROR_H

#include <stdbool.h>

enum aws_error_kind {
	AWS_ERR_NONE,
	AWS_ERR_SERVICE,     /* the service answered with an error (status, code) */
	AWS_ERR_TRANSPORT,   /* no answer: connection, TLS, timeout (curl_code) */
	AWS_ERR_RESPONSE,    /* an answer that could not be understood */
	AWS_ERR_CREDENTIALS, /* no valid credentials: not about any object */
	AWS_ERR_CONFIG,      /* configuration: profile, region, endpoint */
	AWS_ERR_LOCAL,       /* this machine: a file, memory, OpenSSL, curl */
};

/* Every string owned; a zeroed struct is "no error". The setters below
 * take a NULL error and do nothing (a caller that does not want it). */
struct aws_error {
	enum aws_error_kind kind;
	char *what;        /* after "cannot ": "get 's3://b/k'"; NULL: not known yet */
	char *object;      /* the object what names ("s3://b/k"), or NULL */
	long status;       /* HTTP status of the last answer; 0 if none came */
	char *code;        /* AWS error code ("SlowDown"); NULL if none */
	char *message;     /* AWS's message, or the cause; NULL if none */
	char *note;        /* said after the reason: " (the bucket is in …)" */
	int curl_code;     /* CURLcode of a transport failure; 0 if none */
	unsigned attempts; /* HTTP attempts made; more than 1 is said */
	bool brief;        /* the message says it all: no status and code in
	                      the text ("no such bucket") */
};

/* Whether e holds an error. */
bool aws_error_isset(const struct aws_error *e);
/* Free what e holds and zero it. */
void aws_error_clear(struct aws_error *e);
/* Replace e with an error of kind whose message is fmt (what kept). */
void aws_error_set(struct aws_error *e, enum aws_error_kind kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Set what e was doing: verb and object give "<verb> '<object>'" (object
 * NULL: verb alone). Replaces an earlier what. */
void aws_error_what(struct aws_error *e, const char *verb, const char *object);
/* Set what from a format, naming object (may be NULL) for callers. */
void aws_error_whatf(struct aws_error *e, const char *object, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Append to e's note. */
void aws_error_notef(struct aws_error *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Move src into dst (dst cleared first); src is then empty. */
void aws_error_move(struct aws_error *dst, struct aws_error *src);
/* A deep copy of src into dst (dst cleared first). */
void aws_error_copy(struct aws_error *dst, const struct aws_error *src);
/* A new heap copy of src; free with aws_error_free. */
struct aws_error *aws_error_dup(const struct aws_error *src);
/* Clear and free a heap error; NULL is a no-op. */
void aws_error_free(struct aws_error *e);

/* A service's message as one line of a report: up to its first line break
 * (CloudFormation follows a SignatureDoesNotMatch with the canonical
 * request), other control characters as spaces, trailing spaces dropped.
 * The caller frees. */
char *aws_error_oneline(const char *msg);

/* Whether e is an answer of HTTP status (0: any) with code (NULL: any). */
bool aws_error_is(const struct aws_error *e, long status, const char *code);

/* Why it failed, without what: "503 SlowDown: Please reduce… (after 3
 * attempts)", or the cause. The caller frees. */
char *aws_error_reason(const struct aws_error *e);
/* The whole message: "cannot <what>: <reason>" (only the reason when what
 * is not set). The caller frees. */
char *aws_error_format(const struct aws_error *e);

#endif
