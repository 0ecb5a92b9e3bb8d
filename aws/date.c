/* date.c - ISO 8601 and HTTP dates, by hand: strptime depends on the
 * locale and timegm on time_t's range. Every product is range-checked so
 * that no year can overflow the ns count. */
#include "aws/date.h"

#include <stdbool.h>
#include <string.h>

#define NS_PER_S INT64_C(1000000000)
/* The seconds an int64_t of ns can hold, either side of the epoch. */
#define MAX_S (INT64_MAX / NS_PER_S)

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* n digits (with pad: a space may stand for the first). */
static int num(const char **s, int n, bool pad, int *out)
{
	int v = 0, i = 0;
	if (pad && **s == ' ')
		(*s)++, i++;
	for (; i < n; i++, (*s)++) {
		if (**s < '0' || **s > '9')
			return -1;
		v = v * 10 + (**s - '0');
	}
	*out = v;
	return 0;
}

static int lit(const char **s, const char *l)
{
	size_t n = strlen(l);
	if (strncmp(*s, l, n))
		return -1;
	*s += n;
	return 0;
}

static int month(const char **s, int *out)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	for (int i = 0; i < 12; i++) {
		if (!strncmp(*s, months + 3 * i, 3)) {
			*s += 3;
			*out = i + 1;
			return 0;
		}
	}
	return -1;
}

static int clock_(const char **s, bool colons, int *h, int *m, int *sec)
{
	return num(s, 2, false, h) || (colons && lit(s, ":")) || num(s, 2, false, m) || (colons && lit(s, ":")) ||
	       num(s, 2, false, sec) ? -1 : 0;
}

struct parts {
	int y, mo, d, h, mi, sec;
	int64_t frac;   /* ns */
	int64_t offset; /* seconds east of UTC */
};

static int parse_iso(const char *p, unsigned flags, struct parts *t)
{
	bool basic = false;
	if ((flags & AWS_DATE_ISO_BASIC) && strlen(p) == 16 && p[8] == 'T') {
		basic = true;
		if (num(&p, 4, false, &t->y) || num(&p, 2, false, &t->mo) || num(&p, 2, false, &t->d))
			return -1;
	} else if (num(&p, 4, false, &t->y) || lit(&p, "-") || num(&p, 2, false, &t->mo) || lit(&p, "-") ||
	           num(&p, 2, false, &t->d)) {
		return -1;
	}
	if (*p == 'T' || (!basic && *p == 't') || (!basic && *p == ' ' && (flags & AWS_DATE_ISO_SPACE)))
		p++;
	else
		return -1;
	if (clock_(&p, !basic, &t->h, &t->mi, &t->sec))
		return -1;
	if (basic)
		return strcmp(p, "Z") ? -1 : 0;
	if (*p == '.' || *p == ',') {
		int64_t scale = NS_PER_S / 10;
		p++;
		if (*p < '0' || *p > '9')
			return -1;
		for (; *p >= '0' && *p <= '9'; p++, scale /= 10)
			t->frac += (*p - '0') * scale;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p++ == '-' ? -1 : 1, oh, om;
		if (num(&p, 2, false, &oh))
			return -1;
		if (*p == ':')
			p++;
		if (num(&p, 2, false, &om) || oh > 23 || om > 59)
			return -1;
		t->offset = sign * (oh * 3600 + om * 60);
	} else {
		return -1; /* a time without a zone is ambiguous */
	}
	return *p ? -1 : 0;
}

static int parse_http(const char *s, struct parts *t)
{
	const char *p = s;
	while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))
		p++;
	if (p - s < 3)
		return -1;
	if (!strncmp(p, ", ", 2) && p - s == 3) {
		/* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
		p += 2;
		if (num(&p, 2, false, &t->d) || lit(&p, " ") || month(&p, &t->mo) || lit(&p, " ") ||
		    num(&p, 4, false, &t->y) || lit(&p, " ") || clock_(&p, true, &t->h, &t->mi, &t->sec) ||
		    lit(&p, " GMT"))
			return -1;
	} else if (!strncmp(p, ", ", 2)) {
		/* RFC 850: Sunday, 06-Nov-94 08:49:37 GMT (two-digit years
		 * from 70 are 19xx, as RFC 7231 suggests for HTTP dates) */
		p += 2;
		if (num(&p, 2, false, &t->d) || lit(&p, "-") || month(&p, &t->mo) || lit(&p, "-") ||
		    num(&p, 2, false, &t->y) || lit(&p, " ") || clock_(&p, true, &t->h, &t->mi, &t->sec) ||
		    lit(&p, " GMT"))
			return -1;
		t->y += t->y >= 70 ? 1900 : 2000;
	} else if (*p == ' ' && p - s == 3) {
		/* asctime: Sun Nov  6 08:49:37 1994 */
		p++;
		if (month(&p, &t->mo) || lit(&p, " ") || num(&p, 2, true, &t->d) || lit(&p, " ") ||
		    clock_(&p, true, &t->h, &t->mi, &t->sec) || lit(&p, " ") || num(&p, 4, false, &t->y))
			return -1;
	} else {
		return -1;
	}
	return *p ? -1 : 0;
}

int aws_date_parse(const char *s, unsigned flags, int64_t *ns)
{
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	struct parts t = {0};
	if (!s)
		return -1;
	if (!((flags & (AWS_DATE_ISO | AWS_DATE_ISO_BASIC)) && parse_iso(s, flags, &t) == 0)) {
		memset(&t, 0, sizeof(t));
		if (!(flags & AWS_DATE_HTTP) || parse_http(s, &t) < 0)
			return -1;
	}
	bool leap = (t.y % 4 == 0 && t.y % 100 != 0) || t.y % 400 == 0;
	if (t.mo < 1 || t.mo > 12 || t.d < 1 || t.d > mdays[t.mo - 1] || (t.mo == 2 && t.d == 29 && !leap) ||
	    t.h > 23 || t.mi > 59 || t.sec > 60)
		return -1;
	/* four-digit years: these products cannot overflow; the ns can */
	int64_t secs = days_from_civil(t.y, t.mo, t.d) * 86400 + t.h * 3600 + t.mi * 60 + t.sec - t.offset;
	if (secs > MAX_S || secs < -MAX_S || (secs == MAX_S && t.frac > INT64_MAX - MAX_S * NS_PER_S))
		return -1;
	*ns = secs * NS_PER_S + t.frac;
	return 0;
}
