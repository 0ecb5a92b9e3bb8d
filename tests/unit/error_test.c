/* error_test.c - aws/error: the one error of aws/ and its one wording,
 * "cannot <what>: <status> <Code>: <message><note> (after N attempts)",
 * for every kind; deciding by fields (aws_error_is); copies and moves
 * that own what they hold; a service's message kept to one line. */
#include "aws/error.h"
#include "lib/util.h"
#include "tests/unit/tap.h"

#include <stdlib.h>
#include <string.h>

static char *fmt(const struct aws_error *e)
{
	static char *last;
	free(last);
	return last = aws_error_format(e);
}

static void test_format(void)
{
	struct aws_error e = {0};
	TAP_OK(!aws_error_isset(&e), "a zeroed error is no error");
	TAP_OK(!aws_error_isset(NULL), "NULL is no error");

	e.kind = AWS_ERR_SERVICE;
	e.status = 503;
	e.code = xstrdup("SlowDown");
	e.message = xstrdup("Please reduce your request rate.");
	e.attempts = 3;
	aws_error_what(&e, "get", "s3://b/k");
	TAP_IS_STR(fmt(&e), "cannot get 's3://b/k': 503 SlowDown: Please reduce your request rate. (after 3 attempts)",
		   "a service's answer: status, code, message, attempts");
	TAP_IS_STR(e.object, "s3://b/k", "the object is kept apart");
	char *r = aws_error_reason(&e);
	TAP_IS_STR(r, "503 SlowDown: Please reduce your request rate. (after 3 attempts)", "the reason alone");
	free(r);
	TAP_OK(aws_error_is(&e, 503, "SlowDown") && aws_error_is(&e, 0, "SlowDown") && aws_error_is(&e, 503, NULL),
	       "decided by status and code");
	TAP_OK(!aws_error_is(&e, 404, NULL) && !aws_error_is(&e, 0, "Throttling"), "... and not otherwise");

	struct aws_error c = {0};
	aws_error_copy(&c, &e);
	aws_error_clear(&e);
	TAP_OK(!aws_error_isset(&e), "cleared");
	TAP_IS_STR(fmt(&c), "cannot get 's3://b/k': 503 SlowDown: Please reduce your request rate. (after 3 attempts)",
		   "a copy owns its strings");
	struct aws_error m = {0};
	aws_error_set(&m, AWS_ERR_LOCAL, "replaced");
	aws_error_move(&m, &c);
	TAP_OK(!aws_error_isset(&c) && c.what == NULL, "a move empties its source");
	TAP_IS_INT(m.status, 503, "... into its destination");
	aws_error_clear(&m);

	aws_error_set(&e, AWS_ERR_TRANSPORT, "cannot connect to 127.0.0.1:9: Connection refused");
	e.attempts = 3;
	TAP_IS_STR(fmt(&e), "cannot connect to 127.0.0.1:9: Connection refused (after 3 attempts)",
		   "without what: the reason alone");
	aws_error_what(&e, "list", "s3://b/p/");
	TAP_IS_STR(fmt(&e), "cannot list 's3://b/p/': cannot connect to 127.0.0.1:9: Connection refused (after 3 attempts)",
		   "a transport failure: its cause");
	TAP_OK(!aws_error_is(&e, 0, NULL), "a transport failure is no service answer");
	aws_error_set(&e, AWS_ERR_LOCAL, "not sent");
	TAP_IS_STR(e.what, "list 's3://b/p/'", "aws_error_set keeps what");
	TAP_IS_INT(e.attempts, 0, "... and resets the rest");
	aws_error_clear(&e);

	e.kind = AWS_ERR_SERVICE;
	e.status = 404;
	e.brief = true;
	e.message = xstrdup("no such bucket");
	aws_error_what(&e, "head", "s3://b/");
	aws_error_notef(&e, " (%s)", "a note");
	TAP_IS_STR(fmt(&e), "cannot head 's3://b/': no such bucket (a note)", "brief: the message says it all");
	TAP_OK(aws_error_is(&e, 404, NULL), "... still a 404 by its fields");
	aws_error_clear(&e);

	e.kind = AWS_ERR_SERVICE;
	e.status = 418;
	aws_error_whatf(&e, NULL, "use %s", "something");
	TAP_IS_STR(fmt(&e), "cannot use something: 418", "a bare status");
	aws_error_clear(&e);
	e.kind = AWS_ERR_LOCAL;
	TAP_IS_STR(fmt(&e), "failed", "nothing known: 'failed'");
	struct aws_error *d = aws_error_dup(&e);
	TAP_IS_INT(d->kind, AWS_ERR_LOCAL, "a heap copy");
	aws_error_free(d);
	aws_error_free(NULL);
	aws_error_clear(&e);
}

static void test_oneline(void)
{
	char *s = aws_error_oneline("Signature mismatch. Consult the docs.  \n\nThe Canonical String was\n'POST\n/'");
	TAP_IS_STR(s, "Signature mismatch. Consult the docs.", "a service's message: its first line");
	free(s);
	s = aws_error_oneline("a\tb\x01" "c");
	TAP_IS_STR(s, "a b c", "control characters become spaces");
	free(s);
	s = aws_error_oneline("");
	TAP_IS_STR(s, "", "empty stays empty");
	free(s);
}

int main(void)
{
	test_format();
	test_oneline();
	return tap_done();
}
