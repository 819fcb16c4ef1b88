/*
 * Due times as agents write them, read in the queue's time zone:
 *   +90s +30m +2h +1d +1w, YYYY-MM-DD [HH:MM], today HH:MM, tomorrow [HH:MM].
 * A date without a time is due at 09:00; years run from 1971 to 9999. Pure: errors go into
 * the caller's buffer.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "respa.h"

#define DEFAULT_HOUR 9
#define YEAR_MIN 1971 /* before it an instant may read as 0 or negative */
#define YEAR_MAX 9999

/* Reads "HH:MM" or "H:MM" at s; returns the characters used, 0 when there is none. */
static size_t
read_hhmm(const char *s, int *h, int *m)
{
	size_t n;

	if (!isdigit((unsigned char)s[0]))
		return 0;
	n = isdigit((unsigned char)s[1]) ? 2 : 1; /* s[1] exists: s[0] was a digit */
	if (s[n] != ':' || !isdigit((unsigned char)s[n + 1]) || !isdigit((unsigned char)s[n + 2]) ||
	    (s[n + 3] && !isspace((unsigned char)s[n + 3])))
		return 0;
	*h = n == 2 ? (s[0] - '0') * 10 + (s[1] - '0') : s[0] - '0';
	*m = (s[n + 1] - '0') * 10 + (s[n + 2] - '0');
	return n + 3;
}

static int
relative(const char *s, time_t now, time_t *due, const char **rest, char *err, size_t len)
{
	char *end;
	long n = strtol(s + 1, &end, 10);
	long unit;

	switch (*end) {
	case 's': unit = 1; break;
	case 'm': unit = 60; break;
	case 'h': unit = 3600; break;
	case 'd': unit = 86400; break;
	case 'w': unit = 7 * 86400; break;
	default: unit = 0;
	}
	if (end == s + 1 || unit == 0 || (end[1] && !isspace((unsigned char)end[1])) || n <= 0 ||
	    n > 3650L * 86400 / unit) {
		snprintf(err, len, "a relative due time looks like +30m, +2h, +1d or +1w");
		return -1;
	}
	*due = now + (time_t)(n * unit);
	*rest = str_skip_space(end + 1);
	return 1;
}

/* Local day + offset days, at h:m, in tz. */
static int
at_day(const char *tz, struct tm day, int plus_days, int h, int m, time_t *due)
{
	if (h > 23 || m > 59)
		return -1;
	day.tm_mday += plus_days;
	day.tm_hour = h;
	day.tm_min = m;
	day.tm_sec = 0;
	return tz_mktime(tz, &day, due);
}

static int
named_day(const char *s, size_t wlen, int plus, time_t now, const char *tz, time_t *due,
    const char **rest, char *err, size_t len)
{
	const char *p = str_skip_space(s + wlen);
	int h = DEFAULT_HOUR, m = 0;
	size_t used = read_hhmm(p, &h, &m);
	struct tm today;

	if (used == 0 && plus == 0) {
		snprintf(err, len, "\"today\" needs a time, as in today 16:00");
		return -1;
	}
	if (tz_localtime(tz, now, &today) == -1 || at_day(tz, today, plus, h, m, due) == -1) {
		snprintf(err, len, "not a time of day: %.*s", (int)utf8_prefix(p, 5), p);
		return -1;
	}
	*rest = str_skip_space(used ? p + used : p);
	return 1;
}

static int
absolute(const char *s, const char *tz, time_t *due, const char **rest, char *err, size_t len)
{
	struct tm tm, day;
	const char *p;
	int h = DEFAULT_HOUR, m = 0;
	size_t used;

	memset(&tm, 0, sizeof(tm));
	if ((p = strptime(s, "%Y-%m-%d", &tm)) == NULL || (*p && !isspace((unsigned char)*p)) ||
	    (size_t)(p - s) != 10) {
		snprintf(err, len, "a date looks like 2026-12-01, optionally with a time 14:30");
		return -1;
	}
	if (tm.tm_year + 1900 < YEAR_MIN || tm.tm_year + 1900 > YEAR_MAX) {
		snprintf(err, len, "the year must be between %d and %d: %.10s", YEAR_MIN, YEAR_MAX,
		    s);
		return -1;
	}
	day = tm; /* strptime takes 2026-02-30; mktime would quietly make it March 2 */
	if (timegm(&day) == (time_t)-1 || day.tm_mday != tm.tm_mday) {
		snprintf(err, len, "no such date: %.*s", (int)utf8_prefix(s, 10), s);
		return -1;
	}
	p = str_skip_space(p);
	used = read_hhmm(p, &h, &m);
	if (at_day(tz, tm, 0, h, m, due) == -1) {
		snprintf(err, len, "not a time of day: %.*s", (int)utf8_prefix(p, 5), p);
		return -1;
	}
	*rest = str_skip_space(p + used);
	return 1;
}

/* 1 with the due time in *due, 0 when s starts with none, -1 with err filled. */
int
due_parse(const char *s, time_t now, const char *tz, time_t *due, const char **rest, char *err,
    size_t errlen)
{
	size_t digits;

	s = str_skip_space(s);
	digits = strspn(s, "0123456789");
	*due = 0;
	*rest = s;
	if (s[0] == '+' && isdigit((unsigned char)s[1]))
		return relative(s, now, due, rest, err, errlen);
	if (digits == 4 && s[4] == '-')
		return absolute(s, tz, due, rest, err, errlen);
	if (digits > 4 && s[digits] == '-' && isdigit((unsigned char)s[digits + 1]) &&
	    isdigit((unsigned char)s[digits + 2]) && s[digits + 3] == '-') {
		snprintf(err, errlen, "the year must be between %d and %d", YEAR_MIN, YEAR_MAX);
		return -1;
	}
	if (strncasecmp(s, "today", 5) == 0 && (s[5] == '\0' || isspace((unsigned char)s[5])))
		return named_day(s, 5, 0, now, tz, due, rest, err, errlen);
	if (strncasecmp(s, "tomorrow", 8) == 0 && (s[8] == '\0' || isspace((unsigned char)s[8])))
		return named_day(s, 8, 1, now, tz, due, rest, err, errlen);
	return 0;
}
