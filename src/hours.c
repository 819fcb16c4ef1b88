/*
 * Business hours of a queue, read and checked in the queue's time zone:
 *   "Mon-Fri 09:00-17:00, Sat 10:00-14:00", "Mon-Fri 09:00-12:00 13:00-17:00", "always",
 * and closed dates "2026-12-24 12-31" (MM-DD is every year).
 * Hours are wall-clock times: when summer time skips or repeats an hour, so do the hours in it.
 * Pure: errors go into the caller's buffer.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "respa.h"

#define DAY_MINUTES 1440
#define DAY_SECONDS 86400L
#define SEARCH_DAYS 400 /* beyond a year, so a yearly closed date is always seen */
#define SHOWN 40        /* at most this much of a bad word is quoted in an error */

static const char *const day_names[] = { "Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
	"Saturday", "Sunday" };

static int
is_sep(int c)
{
	return c == ',' || c == ';';
}

/* A word of the hours ends at a blank, a dash or a group separator. */
static size_t
word_len(const char *s)
{
	size_t n = 0;

	while (s[n] && !isspace((unsigned char)s[n]) && s[n] != '-' && !is_sep(s[n]))
		n++;
	return n;
}

/* What an error quotes: the word, or when there is none, what stands there up to a blank. */
static int
shown_len(const char *s, size_t wl)
{
	size_t n = wl;

	if (n == 0)
		while (s[n] && !isspace((unsigned char)s[n]) && !is_sep(s[n]))
			n++;
	return (int)utf8_prefix(s, n > SHOWN ? SHOWN : n);
}

/* "Mon" or "Monday" in any case: 0 = Monday; -1 when it is no day. */
static int
day_number(const char *s, size_t n)
{
	int i;

	for (i = 0; i < 7; i++)
		if ((n == 3 || n == strlen(day_names[i])) && strncasecmp(s, day_names[i], n) == 0)
			return i;
	return -1;
}

/* "HH:MM" or "H:MM" as minutes since midnight, 24:00 included; -1 when it is no time. */
static int
minutes(const char *s, size_t n)
{
	int h, m;

	if ((n != 4 && n != 5) || s[n - 3] != ':' || !isdigit((unsigned char)s[0]) ||
	    !isdigit((unsigned char)s[n - 4]) || !isdigit((unsigned char)s[n - 2]) ||
	    !isdigit((unsigned char)s[n - 1]))
		return -1;
	h = n == 5 ? (s[0] - '0') * 10 + (s[1] - '0') : s[0] - '0';
	m = (s[n - 2] - '0') * 10 + (s[n - 1] - '0');
	if (m > 59 || h > 24 || (h == 24 && m != 0))
		return -1;
	return h * 60 + m;
}

static int
bad_day(const char *s, size_t wl, char *err, size_t len)
{
	if (shown_len(s, wl) == 0) /* "Mon-" */
		snprintf(err, len, "a day is missing after \"-\" (write e.g. Mon-Fri)");
	else if (wl == 6 && strncasecmp(s, "always", 6) == 0)
		snprintf(err, len, "\"always\" stands alone: it cannot be mixed with other hours");
	else
		snprintf(err, len, "unknown day \"%.*s\" (use Mon, Tue, ... Sun)", shown_len(s, wl),
		    s);
	return -1;
}

static int
bad_time(const char *s, size_t wl, char *err, size_t len)
{
	snprintf(err, len, "bad time \"%.*s\" (use HH:MM)", shown_len(s, wl), s);
	return -1;
}

/* Reads a time word at *sp into *m and moves past it. */
static int
read_time(const char **sp, int *m, char *err, size_t len)
{
	size_t wl = word_len(*sp);

	if ((*m = minutes(*sp, wl)) == -1)
		return bad_time(*sp, wl, err, len);
	*sp = str_skip_space(*sp + wl);
	return 0;
}

/* Reads a day word at *sp into *d and moves past it. */
static int
read_day(const char **sp, int *d, char *err, size_t len)
{
	size_t wl = word_len(*sp);

	if ((*d = day_number(*sp, wl)) == -1)
		return bad_day(*sp, wl, err, len);
	*sp = str_skip_space(*sp + wl);
	return 0;
}

static void
add_span(struct hours_span **v, size_t *n, int day, int from, int to)
{
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[*n].day = day;
	(*v)[*n].from = from;
	(*v)[*n].to = to;
	(*n)++;
}

/* One group "DAYS HH:MM-HH:MM [HH:MM-HH:MM ...]" at *sp, up to a separator or the end. */
static int
parse_group(const char **sp, struct hours_span **v, size_t *n, char *err, size_t len)
{
	const char *s = str_skip_space(*sp), *days, *start;
	int first, last, from, to, d, dash, days_len, ranges = 0;

	if (*s == '\0' || is_sep(*s)) {
		snprintf(err, len, "empty group (two separators in a row, or one at an end)");
		return -1;
	}
	if (isdigit((unsigned char)*s)) {
		snprintf(err, len, "days missing before \"%.*s\" (write e.g. Mon-Fri 09:00-17:00)",
		    shown_len(s, 0), s);
		return -1;
	}
	days = s;
	if (read_day(&s, &first, err, len) == -1)
		return -1;
	last = first;
	if (*s == '-') {
		s = str_skip_space(s + 1);
		if (read_day(&s, &last, err, len) == -1)
			return -1;
	}
	days_len = (int)(s - days);
	while (days_len > 0 && isspace((unsigned char)days[days_len - 1]))
		days_len--;
	while (*s && !is_sep(*s)) {
		start = s;
		if (read_time(&s, &from, err, len) == -1)
			return -1;
		dash = *s == '-';
		if (dash)
			s = str_skip_space(s + 1);
		if (!dash || *s == '\0' || is_sep(*s)) {
			snprintf(err, len, "time range \"%.*s\" has no end (use HH:MM-HH:MM)",
			    (int)word_len(start), start);
			return -1;
		}
		if (read_time(&s, &to, err, len) == -1)
			return -1;
		if (from == DAY_MINUTES) {
			snprintf(err, len, "a time range cannot start at 24:00 (use 00:00)");
			return -1;
		}
		if (from == to) {
			snprintf(err, len, "empty time range %02d:%02d-%02d:%02d", from / 60,
			    from % 60, to / 60, to % 60);
			return -1;
		}
		if (to == 0) /* 22:00-00:00 ends at midnight */
			to = DAY_MINUTES;
		for (d = first;; d = (d + 1) % 7) { /* Fri-Mon wraps over the weekend */
			add_span(v, n, d, from, to);
			if (d == last)
				break;
		}
		ranges++;
	}
	if (ranges == 0) {
		snprintf(err, len, "no time range after \"%.*s\" (write e.g. %.*s 09:00-17:00)",
		    days_len, days, days_len, days);
		return -1;
	}
	*sp = s;
	return 0;
}

int
hours_parse(struct hours *h, const char *spec, char *err, size_t errlen)
{
	const char *s = str_skip_space(spec);
	struct hours_span *v = NULL;
	size_t n = 0;

	if (strncasecmp(s, "always", 6) == 0 && *str_skip_space(s + 6) == '\0')
		goto done;
	if (*s == '\0') {
		snprintf(err, errlen, "no hours given (write e.g. Mon-Fri 09:00-17:00, or always)");
		return -1;
	}
	for (;;) {
		if (parse_group(&s, &v, &n, err, errlen) == -1) {
			free(v);
			return -1;
		}
		if (*s == '\0')
			break;
		s++; /* the separator */
	}
done:
	free(h->spans);
	h->spans = v;
	h->nspans = n;
	return 0;
}

static int
days_in_month(int y, int m)
{
	static const int days[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (m == 2 && y != 0 && (y % 4 != 0 || (y % 100 == 0 && y % 400 != 0)))
		return 28;
	return days[m - 1];
}

static int
digits(const char *s, int n)
{
	int v = 0;

	while (n-- > 0) {
		if (!isdigit((unsigned char)*s))
			return -1;
		v = v * 10 + (*s++ - '0');
	}
	return v;
}

/* "YYYY-MM-DD" as YYYYMMDD, or "MM-DD" as MMDD; -1 when it is malformed, -2 when no such day. */
static int
read_date(const char *s, size_t n, int *date)
{
	int y = 0, m, d;

	if (n == 10) {
		if (s[4] != '-' || (y = digits(s, 4)) == -1)
			return -1;
		s += 5;
	} else if (n != 5)
		return -1;
	if (s[2] != '-' || (m = digits(s, 2)) == -1 || (d = digits(s + 3, 2)) == -1)
		return -1;
	if ((n == 10 && y == 0) || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
		return -2;
	*date = y * 10000 + m * 100 + d;
	return 0;
}

int
hours_parse_closed(struct hours *h, const char *dates, char *err, size_t errlen)
{
	const char *s = dates;
	int *v = NULL, date, shown, rc;
	size_t n = 0, wl;

	for (;;) {
		while (isspace((unsigned char)*s) || is_sep(*s))
			s++;
		if (*s == '\0')
			break;
		for (wl = 0; s[wl] && !isspace((unsigned char)s[wl]) && !is_sep(s[wl]); wl++)
			;
		if ((rc = read_date(s, wl, &date)) != 0) {
			shown = (int)utf8_prefix(s, wl > SHOWN ? SHOWN : wl);
			if (rc == -1)
				snprintf(err, errlen,
				    "bad date \"%.*s\" (use YYYY-MM-DD, or MM-DD "
				    "for every year)",
				    shown, s);
			else
				snprintf(err, errlen, "bad date \"%.*s\"", shown, s);
			free(v);
			return -1;
		}
		v = xrealloc(v, (n + 1) * sizeof(*v));
		v[n++] = date;
		s += wl;
	}
	free(h->closed);
	h->closed = v;
	h->nclosed = n;
	return 0;
}

void
hours_free(struct hours *h)
{
	free(h->spans);
	free(h->closed);
	memset(h, 0, sizeof(*h));
}

static int
closed_on(const struct hours *h, const struct tm *tm)
{
	int md = (tm->tm_mon + 1) * 100 + tm->tm_mday;
	int ymd = (tm->tm_year + 1900) * 10000 + md;
	size_t i;

	for (i = 0; i < h->nclosed; i++)
		if (h->closed[i] == ymd || h->closed[i] == md)
			return 1;
	return 0;
}

/* Open at this local wall-clock time? */
static int
open_at(const struct hours *h, const struct tm *tm)
{
	int day = (tm->tm_wday + 6) % 7, yesterday = (day + 6) % 7;
	int m = tm->tm_hour * 60 + tm->tm_min;
	const struct hours_span *sp;
	size_t i;

	if (closed_on(h, tm))
		return 0;
	if (h->nspans == 0)
		return 1;
	for (i = 0; i < h->nspans; i++) {
		sp = &h->spans[i];
		if (sp->from < sp->to) {
			if (sp->day == day && m >= sp->from && m < sp->to)
				return 1;
		} else if ((sp->day == day && m >= sp->from) ||
		    (sp->day == yesterday && m < sp->to))
			return 1;
	}
	return 0;
}

int
hours_is_open(const struct hours *h, const char *tz, time_t t)
{
	struct tm tm;

	if (tz_localtime(tz, t, &tm) == -1)
		return 1; /* only for absurd instants: rather take chats than turn customers away */
	return open_at(h, &tm);
}

/* Seconds east of UTC of the local time tm of t. */
static long
offset_of(const struct tm *tm, time_t t)
{
	struct tm copy = *tm;

	return (long)(timegm(&copy) - t);
}

/* The next second of the local day after sec at which the hours may change: an edge, or midnight. */
static long
next_edge(const struct hours *h, long sec)
{
	long best = DAY_SECONDS, e;
	size_t i;

	for (i = 0; i < h->nspans; i++) {
		e = h->spans[i].from * 60L;
		if (e > sec && e < best)
			best = e;
		e = h->spans[i].to * 60L;
		if (e > sec && e < best)
			best = e;
	}
	return best;
}

/* The first instant in (lo, hi] whose offset from UTC is no longer off; hi's differs. */
static time_t
transition(const char *tz, time_t lo, long off, time_t hi)
{
	struct tm tm;
	time_t mid;

	while (hi - lo > 1) {
		mid = lo + (hi - lo) / 2;
		if (tz_localtime(tz, mid, &tm) == 0 && offset_of(&tm, mid) == off)
			lo = mid;
		else
			hi = mid;
	}
	return hi;
}

/*
 * Walks the local clock from edge to edge. Between two summer-time changes it runs with the
 * instant, so the next edge is a fixed number of seconds away; a change moves it, and the hours
 * may change right at that instant, which the binary search finds.
 */
time_t
hours_next_change(const struct hours *h, const char *tz, time_t t)
{
	struct tm tm, next;
	time_t cur = t, cand;
	long sec, off;
	int state;

	if (h->nspans == 0 && h->nclosed == 0)
		return 0;
	if (tz_localtime(tz, cur, &tm) == -1)
		return 0;
	state = open_at(h, &tm);
	off = offset_of(&tm, cur);
	while (cur - t < SEARCH_DAYS * DAY_SECONDS) {
		sec = tm.tm_hour * 3600L + tm.tm_min * 60L + tm.tm_sec;
		cand = cur + (next_edge(h, sec) - sec);
		if (cand <= cur) /* a leap second, 23:59:60 */
			cand = cur + 1;
		if (tz_localtime(tz, cand, &next) == -1)
			return 0;
		if (offset_of(&next, cand) != off) {
			cand = transition(tz, cur, off, cand);
			if (tz_localtime(tz, cand, &next) == -1)
				return 0;
			off = offset_of(&next, cand);
		}
		if (open_at(h, &next) != state)
			return cand;
		cur = cand;
		tm = next;
	}
	return 0;
}

time_t
hours_next_open(const struct hours *h, const char *tz, time_t t)
{
	if (hours_is_open(h, tz, t))
		return t;
	return hours_next_change(h, tz, t); /* from closed, the next change is an opening */
}

/* Days since the epoch of the local date in tm. */
static long
day_of(const struct tm *tm)
{
	struct tm d;

	memset(&d, 0, sizeof(d));
	d.tm_year = tm->tm_year;
	d.tm_mon = tm->tm_mon;
	d.tm_mday = tm->tm_mday;
	return (long)(timegm(&d) / DAY_SECONDS);
}

void
hours_when(int lang, const char *tz, time_t at, time_t now, char *buf, size_t len)
{
	struct tm a, n;
	long days;
	char iso[32], clock[16], mday[8], *text;

	if (tz_localtime(tz, at, &a) == -1 || tz_localtime(tz, now, &n) == -1) {
		time_iso(at, iso);
		snprintf(buf, len, "%s", iso);
		return;
	}
	days = day_of(&a) - day_of(&n);
	texts_clock(lang, a.tm_hour, a.tm_min, clock, sizeof(clock));
	snprintf(mday, sizeof(mday), "%d", a.tm_mday);
	if (days == 0)
		text = texts_fill(texts_get(lang, T_WHEN_TODAY), TEXT_ARGS(clock));
	else if (days == 1)
		text = texts_fill(texts_get(lang, T_WHEN_TOMORROW), TEXT_ARGS(clock));
	else
		text = texts_fill(texts_get(lang, T_WHEN_DATE),
		    TEXT_ARGS(texts_weekday(lang, (a.tm_wday + 6) % 7), mday,
		        texts_month(lang, a.tm_mon), clock));
	str_copy(buf, len, text);
	free(text);
}
