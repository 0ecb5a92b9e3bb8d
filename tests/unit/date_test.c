/* date_test.c - aws/date: the one parser of AWS's times. ISO 8601 in the
 * forms S3, credential documents and SigV4 use, HTTP dates in their three
 * forms, and the edges of an int64_t of ns: years past 2262 and garbage
 * years are refused, never overflowed (a UBSan finding in the S3 listing
 * parser, for years >= 2263). */
#include "aws/date.h"
#include "lib/util.h"
#include "tests/unit/tap.h"

#include <stdint.h>

#define NS INT64_C(1000000000)

static void test_iso(void)
{
	int64_t ns = -1;
	TAP_IS_INT(aws_date_parse("2015-08-30T12:36:00Z", AWS_DATE_ISO, &ns), 0, "extended form");
	TAP_IS_INT(ns, INT64_C(1440938160) * NS, "... its time");
	TAP_IS_INT(aws_date_parse("20150830T123600Z", AWS_DATE_ISO_BASIC, &ns), 0, "basic form");
	TAP_IS_INT(ns, INT64_C(1440938160) * NS, "... its time");
	TAP_IS_INT(aws_date_parse("20150830T123600Z", AWS_DATE_ISO, &ns), -1, "basic form only when asked");
	TAP_IS_INT(aws_date_parse("2015-08-30 12:36:00Z", AWS_DATE_ISO, &ns), -1, "a space only when asked");
	TAP_IS_INT(aws_date_parse("2015-08-30 12:36:00Z", AWS_DATE_ISO | AWS_DATE_ISO_SPACE, &ns), 0,
		   "... and then taken");
	TAP_IS_INT(aws_date_parse("2015-08-30T12:36:00Z", AWS_DATE_HTTP, &ns), -1, "ISO only when asked");
	TAP_IS_INT(aws_date_parse("1969-12-31T23:59:59.5Z", AWS_DATE_ISO, &ns), 0, "before the epoch");
	TAP_IS_INT(ns, -NS / 2, "... negative");
	TAP_IS_INT(aws_date_parse(NULL, AWS_DATE_ISO, &ns), -1, "NULL refused");
}

static void test_range(void)
{
	int64_t ns = 0;
	TAP_IS_INT(aws_date_parse("2262-04-11T23:47:16.854775807Z", AWS_DATE_ISO, &ns), 0,
		   "the last ns an int64_t holds");
	TAP_IS_INT(ns, INT64_MAX, "... is INT64_MAX");
	ns = 7;
	TAP_IS_INT(aws_date_parse("2262-04-11T23:47:16.854775808Z", AWS_DATE_ISO, &ns), -1, "one ns later: refused");
	TAP_IS_INT(aws_date_parse("2262-04-11T23:47:17Z", AWS_DATE_ISO, &ns), -1, "one s later: refused");
	TAP_IS_INT(aws_date_parse("2263-01-01T00:00:00Z", AWS_DATE_ISO, &ns), -1, "2263: refused, not overflowed");
	TAP_IS_INT(aws_date_parse("9999-12-31T23:59:59.999999999Z", AWS_DATE_ISO, &ns), -1, "9999: refused");
	TAP_IS_INT(aws_date_parse("99991231T235959Z", AWS_DATE_ISO_BASIC, &ns), -1, "9999, basic form: refused");
	TAP_IS_INT(aws_date_parse("Fri, 31 Dec 9999 23:59:59 GMT", AWS_DATE_HTTP, &ns), -1, "9999, HTTP date: refused");
	TAP_IS_INT(aws_date_parse("2262-04-11T23:47:17+01:00", AWS_DATE_ISO, &ns), 0, "an offset brings it back");
	TAP_IS_INT(aws_date_parse("0000-01-01T00:00:00Z", AWS_DATE_ISO, &ns), -1, "year 0: before 1677, refused");
	TAP_IS_INT(aws_date_parse("1677-09-21T00:12:44Z", AWS_DATE_ISO, &ns), 0, "the earliest whole second");
	TAP_IS_INT(ns, -INT64_C(9223372036) * NS, "... its time");
	static const char *const garbage[] = {
		"2x24-01-01T00:00:00Z", "+024-01-01T00:00:00Z", "-024-01-01T00:00:00Z", " 024-01-01T00:00:00Z",
		"202-01-01T00:00:00Z",  "20240-01-01T00:00:00Z", "Fri, 01 Jan 2x24 00:00:00 GMT",
		"Fri, 01 Jan 99999 00:00:00 GMT",
	};
	for (size_t i = 0; i < ARRAY_LEN(garbage); i++) {
		ns = 42;
		TAP_IS_INT(aws_date_parse(garbage[i], AWS_DATE_ISO | AWS_DATE_ISO_BASIC | AWS_DATE_HTTP, &ns), -1,
			   "garbage year '%s' refused", garbage[i]);
		TAP_IS_INT(ns, 42, "... *ns untouched");
	}
}

static void test_http(void)
{
	int64_t ns = -1;
	TAP_IS_INT(aws_date_parse("Sun, 06 Nov 1994 08:49:37 GMT", AWS_DATE_HTTP, &ns), 0, "IMF-fixdate");
	TAP_IS_INT(ns, INT64_C(784111777) * NS, "... its time");
	TAP_IS_INT(aws_date_parse("Sunday, 06-Nov-94 08:49:37 GMT", AWS_DATE_HTTP, &ns), 0, "RFC 850");
	TAP_IS_INT(ns, INT64_C(784111777) * NS, "... its time");
	TAP_IS_INT(aws_date_parse("Sun Nov  6 08:49:37 1994", AWS_DATE_HTTP, &ns), 0, "asctime");
	TAP_IS_INT(ns, INT64_C(784111777) * NS, "... its time");
	TAP_IS_INT(aws_date_parse("Sun, 29 Feb 2023 00:00:00 GMT", AWS_DATE_HTTP, &ns), -1, "no 29 February 2023");
}

int main(void)
{
	test_iso();
	test_range();
	test_http();
	return tap_done();
}
