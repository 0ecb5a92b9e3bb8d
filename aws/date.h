/* date.h - the one parser of the times AWS sends: ISO 8601 (S3 listings,
 * credential expirations, SigV4's X-Amz-Date) and HTTP dates (Date and
 * Last-Modified headers). Times are ns since the epoch; a time that does
 * not fit an int64_t of ns (before 1677, after 2262-04-11) is refused. */
#ifndef RAPID_AWS_DATE_H
#define RAPID_AWS_DATE_H

#include <stdint.h>

enum {
	/* ISO 8601 extended: "2024-05-01T12:00:00Z", a fraction ("….123Z")
	 * and an offset ("+01:00", "+0100") allowed, 't' and 'z' too. */
	AWS_DATE_ISO = 1u << 0,
	/* ISO 8601 basic as SigV4 writes it: "20240501T120000Z". */
	AWS_DATE_ISO_BASIC = 1u << 1,
	/* A space instead of the 'T' ("2024-05-01 12:00:00Z"). */
	AWS_DATE_ISO_SPACE = 1u << 2,
	/* RFC 7231's IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") and the
	 * obsolete RFC 850 and asctime forms a recipient must accept. */
	AWS_DATE_HTTP = 1u << 3,
};

/* Parse s in one of the forms flags allow. 0 and *ns, or -1 (nothing
 * reported; *ns untouched) if it is none of them or out of range. */
int aws_date_parse(const char *s, unsigned flags, int64_t *ns);

#endif
