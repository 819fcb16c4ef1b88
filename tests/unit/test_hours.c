/* hours.c: business hours read and checked in the queue's time zone, as UTC instants. */
#include <stdlib.h>

#include "check.h"

#define HEL "Europe/Helsinki"   /* UTC+2, +3 in summer; changes on 2026-03-29 and 2026-10-25 */
#define AKL "Pacific/Auckland"  /* UTC+13 in its summer (December), +12 in winter */
#define LAX "America/Los_Angeles" /* UTC-8, -7 in summer */

static time_t
utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	return timegm(&tm);
}

/* Hours that must parse; closed may be NULL. */
static struct hours
parsed_at(int line, const char *spec, const char *closed)
{
	struct hours h;
	char err[128] = "";

	memset(&h, 0, sizeof(h));
	if (hours_parse(&h, spec, err, sizeof(err)) == -1 ||
	    (closed && hours_parse_closed(&h, closed, err, sizeof(err)) == -1)) {
		fprintf(stderr, "line %d: \"%s\" / \"%s\": %s\n", line, spec, closed ? closed : "",
		    err);
		CHECK(0);
	}
	return h;
}
#define PARSED(spec, closed) parsed_at(__LINE__, spec, closed)

static void
span_at(int line, const struct hours *h, size_t i, int day, int from, int to)
{
	if (i >= h->nspans) {
		fprintf(stderr, "line %d: no span %zu (%zu spans)\n", line, i, h->nspans);
		CHECK(0);
		return;
	}
	if (h->spans[i].day != day || h->spans[i].from != from || h->spans[i].to != to)
		fprintf(stderr, "line %d: span %zu is %d %d-%d, want %d %d-%d\n", line, i,
		    h->spans[i].day, h->spans[i].from, h->spans[i].to, day, from, to);
	CHECK_INT(h->spans[i].day, day);
	CHECK_INT(h->spans[i].from, from);
	CHECK_INT(h->spans[i].to, to);
}
#define SPAN(h, i, day, from, to) span_at(__LINE__, h, i, day, from, to)

/* A bad spec: -1, the exact message (when want is not NULL), and the hours left alone. */
static void
bad_at(int line, const char *spec, const char *want)
{
	struct hours h = PARSED("Tue 10:00-11:00", NULL);
	struct hours_span *before = h.spans;
	char err[128] = "";
	int rc = hours_parse(&h, spec, err, sizeof(err));

	if (rc != -1 || err[0] == '\0' || (want && strcmp(err, want) != 0))
		fprintf(stderr, "line %d: \"%s\" should fail: rc %d, err \"%s\"\n", line, spec, rc,
		    err);
	CHECK_INT(rc, -1);
	if (want)
		CHECK_STR(err, want);
	else
		CHECK(err[0] != '\0');
	CHECK(h.spans == before);
	CHECK_INT(h.nspans, 1);
	hours_free(&h);
}
#define BAD(spec, want) bad_at(__LINE__, spec, want)

static void
bad_closed_at(int line, const char *dates, const char *want)
{
	struct hours h = PARSED("always", "12-24");
	int *before = h.closed;
	char err[128] = "";
	int rc = hours_parse_closed(&h, dates, err, sizeof(err));

	if (rc != -1 || (want && strcmp(err, want) != 0))
		fprintf(stderr, "line %d: \"%s\" should fail: rc %d, err \"%s\"\n", line, dates,
		    rc, err);
	CHECK_INT(rc, -1);
	if (want)
		CHECK_STR(err, want);
	else
		CHECK(err[0] != '\0');
	CHECK(h.closed == before);
	CHECK_INT(h.nclosed, 1);
	hours_free(&h);
}
#define BAD_CLOSED(dates, want) bad_closed_at(__LINE__, dates, want)

static void
open_at(int line, const struct hours *h, const char *tz, time_t t, int want)
{
	int got = hours_is_open(h, tz, t);
	char iso[32];

	if (got != want) {
		time_iso(t, iso);
		fprintf(stderr, "line %d: %s in %s: open %d, want %d\n", line, iso, tz, got, want);
	}
	CHECK_INT(got, want);
}
#define OPEN(h, tz, t) open_at(__LINE__, h, tz, t, 1)
#define SHUT(h, tz, t) open_at(__LINE__, h, tz, t, 0)

static void
instant_at(int line, const char *what, time_t got, time_t want)
{
	char g[32] = "0", w[32] = "0";

	if (got)
		time_iso(got, g);
	if (want)
		time_iso(want, w);
	if (got != want)
		fprintf(stderr, "line %d: %s\n", line, what);
	CHECK_STR(g, w);
}
#define CHANGE(h, tz, t, want) \
	instant_at(__LINE__, "next change", hours_next_change(h, tz, t), want)
#define NEXT_OPEN(h, tz, t, want) \
	instant_at(__LINE__, "next open", hours_next_open(h, tz, t), want)

static void
when_at(int line, const char *tz, time_t at, time_t now, const char *want)
{
	char buf[64] = "junk";

	hours_when(LANG_EN, tz, at, now, buf, sizeof(buf));
	if (strcmp(buf, want) != 0)
		fprintf(stderr, "line %d: in %s\n", line, tz);
	CHECK_STR(buf, want);
}
#define WHEN(tz, at, now, want) when_at(__LINE__, tz, at, now, want)

/*
 * Samples every minute from..to (the zones here change only on whole minutes, so nothing
 * happens between samples) and checks that hours_next_change names each change exactly.
 */
static void
walk_at(int line, const struct hours *h, const char *tz, time_t from, time_t to)
{
	int state = hours_is_open(h, tz, from), changes = 0;
	time_t t, next = hours_next_change(h, tz, from);
	char a[32], b[32];

	for (t = from - from % 60 + 60; t < to; t += 60) {
		if (hours_is_open(h, tz, t) == state)
			continue;
		if (next != t) {
			time_iso(next, a);
			time_iso(t, b);
			fprintf(stderr, "line %d: in %s next change %s, but it changes at %s\n",
			    line, tz, a, b);
		}
		CHECK_INT(next, t);
		state = !state;
		next = hours_next_change(h, tz, t);
		changes++;
	}
	CHECK(next == 0 || next >= to);
	CHECK(changes > 0);
}
#define WALK(h, tz, from, to) walk_at(__LINE__, h, tz, from, to)

static void
parse_ok(void)
{
	struct hours h;
	char err[128] = "";

	h = PARSED("Mon-Fri 09:00-17:00, Sat 10:00-14:00", NULL);
	CHECK_INT(h.nspans, 6);
	SPAN(&h, 0, 0, 540, 1020);
	SPAN(&h, 4, 4, 540, 1020);
	SPAN(&h, 5, 5, 600, 840);
	CHECK_INT(h.nclosed, 0);
	/* "always" replaces what was there */
	CHECK_INT(hours_parse(&h, "  ALWAYS ", err, sizeof(err)), 0);
	CHECK(h.spans == NULL);
	CHECK_INT(h.nspans, 0);
	hours_free(&h);

	h = PARSED("always", NULL);
	CHECK_INT(h.nspans, 0);
	hours_free(&h);

	/* full names, any case, one-digit hours */
	h = PARSED("monday-FRIDAY 9:00-17:30", NULL);
	CHECK_INT(h.nspans, 5);
	SPAN(&h, 0, 0, 540, 1050);
	SPAN(&h, 4, 4, 540, 1050);
	hours_free(&h);

	/* a range of days that wraps over the weekend */
	h = PARSED("Fri-Mon 10:00-12:00", NULL);
	CHECK_INT(h.nspans, 4);
	SPAN(&h, 0, 4, 600, 720);
	SPAN(&h, 1, 5, 600, 720);
	SPAN(&h, 2, 6, 600, 720);
	SPAN(&h, 3, 0, 600, 720);
	hours_free(&h);

	/* several ranges in a group; semicolons; blanks around the dashes */
	h = PARSED("Mon-Fri 09:00-12:00 13:00-17:00; Sat  10:00 - 14:00 ;Sun - Sun 8:00-9:00",
	    NULL);
	CHECK_INT(h.nspans, 12);
	SPAN(&h, 0, 0, 540, 720);
	SPAN(&h, 1, 1, 540, 720);
	SPAN(&h, 5, 0, 780, 1020);
	SPAN(&h, 9, 4, 780, 1020);
	SPAN(&h, 10, 5, 600, 840);
	SPAN(&h, 11, 6, 480, 540);
	hours_free(&h);

	/* past midnight, up to 24:00, and 00:00 as an end is midnight too */
	h = PARSED("Sat 22:00-02:00, Sun 00:00-24:00, Mon 18:00-00:00, Tue 23:59-0:01", NULL);
	CHECK_INT(h.nspans, 4);
	SPAN(&h, 0, 5, 1320, 120);
	SPAN(&h, 1, 6, 0, 1440);
	SPAN(&h, 2, 0, 1080, 1440);
	SPAN(&h, 3, 1, 1439, 1);
	hours_free(&h);

	/* overlapping spans are fine */
	h = PARSED("Mon 09:00-17:00, Mon 08:00-10:00", NULL);
	CHECK_INT(h.nspans, 2);
	hours_free(&h);

	/* hours and closed dates are set apart */
	h = PARSED("Mon 09:00-17:00", "12-24");
	CHECK_INT(hours_parse(&h, "Tue 09:00-17:00", err, sizeof(err)), 0);
	CHECK_INT(h.nclosed, 1);
	CHECK_INT(hours_parse_closed(&h, "12-25 12-26", err, sizeof(err)), 0);
	CHECK_INT(h.nspans, 1);
	SPAN(&h, 0, 1, 540, 1020);
	hours_free(&h);
	CHECK(h.spans == NULL && h.closed == NULL && h.nspans == 0 && h.nclosed == 0);
	hours_free(&h); /* twice is harmless */
}

static void
parse_errors(void)
{
	char err[128], small[12];
	struct hours h;

	BAD("Mnn-Fri 09:00-17:00", "unknown day \"Mnn\" (use Mon, Tue, ... Sun)");
	BAD("Mon-Fryday 09:00-17:00", "unknown day \"Fryday\" (use Mon, Tue, ... Sun)");
	BAD("Mo 09:00-17:00", "unknown day \"Mo\" (use Mon, Tue, ... Sun)");
	BAD("Mon-Fri 09:00-25:00", "bad time \"25:00\" (use HH:MM)");
	BAD("Mon 09:60-10:00", "bad time \"09:60\" (use HH:MM)");
	BAD("Mon 24:30-10:00", "bad time \"24:30\" (use HH:MM)");
	BAD("Mon 9:0-10:00", "bad time \"9:0\" (use HH:MM)");
	BAD("Mon 123:00-130:00", "bad time \"123:00\" (use HH:MM)");
	BAD("Mon 09:00-17:00x", "bad time \"17:00x\" (use HH:MM)");
	BAD("Mon 9h-17h", "bad time \"9h\" (use HH:MM)");
	BAD("Mon 09:00-17:00 -18:00", "bad time \"-18:00\" (use HH:MM)");
	BAD("Mon 09:00-09:00", "empty time range 09:00-09:00");
	BAD("Mon 9:00-9:00", "empty time range 09:00-09:00");
	BAD("Mon 00:00-00:00", "empty time range 00:00-00:00");
	BAD("Mon 24:00-02:00", "a time range cannot start at 24:00 (use 00:00)");
	BAD("Mon", "no time range after \"Mon\" (write e.g. Mon 09:00-17:00)");
	BAD("Mon-Fri, Sat 10:00-12:00",
	    "no time range after \"Mon-Fri\" (write e.g. Mon-Fri 09:00-17:00)");
	BAD("Sat 10:00-12:00; monday - friday ",
	    "no time range after \"monday - friday\" (write e.g. monday - friday 09:00-17:00)");
	BAD("Mon 09:00", "time range \"09:00\" has no end (use HH:MM-HH:MM)");
	BAD("Mon 09:00 17:00", "time range \"09:00\" has no end (use HH:MM-HH:MM)");
	BAD("Mon 09:00-, Tue 09:00-17:00", "time range \"09:00\" has no end (use HH:MM-HH:MM)");
	BAD("Mon-", "a day is missing after \"-\" (write e.g. Mon-Fri)");
	BAD("Mon 09:00-17:00,", "empty group (two separators in a row, or one at an end)");
	BAD("Mon 09:00-17:00,, Tue 09:00-17:00",
	    "empty group (two separators in a row, or one at an end)");
	BAD("; Mon 09:00-17:00", "empty group (two separators in a row, or one at an end)");
	BAD("", "no hours given (write e.g. Mon-Fri 09:00-17:00, or always)");
	BAD("  \t", "no hours given (write e.g. Mon-Fri 09:00-17:00, or always)");
	BAD("09:00-17:00", "days missing before \"09:00-17:00\" (write e.g. Mon-Fri 09:00-17:00)");
	BAD("always, Mon 09:00-10:00", "\"always\" stands alone: it cannot be mixed with other hours");
	BAD("Mon 09:00-10:00, always", "\"always\" stands alone: it cannot be mixed with other hours");
	BAD("alwaysx", "unknown day \"alwaysx\" (use Mon, Tue, ... Sun)");
	BAD("Mon,Wed 09:00-17:00", NULL); /* lists of days are not supported */
	BAD("Mon Tue 09:00-17:00", NULL);
	BAD("Mon-Fri 09:00-17:00 Sat 10:00-14:00", NULL); /* a missing comma */
	/* a long bad word is cut short in the message */
	BAD("Xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx 09:00-10:00",
	    "unknown day \"Xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\" (use Mon, Tue, ... Sun)");

	/* a small error buffer is filled and terminated, not overrun */
	memset(&h, 0, sizeof(h));
	memset(small, 'x', sizeof(small));
	CHECK_INT(hours_parse(&h, "Mnn 09:00-10:00", small, 8), -1);
	CHECK_STR(small, "unknown");
	CHECK(small[8] == 'x');
	CHECK(h.spans == NULL);

	/* a failed parse of nothing leaves nothing to free */
	CHECK_INT(hours_parse(&h, "Mon 25:00-26:00", err, sizeof(err)), -1);
	CHECK(h.spans == NULL && h.nspans == 0);
}

static void
parse_closed(void)
{
	struct hours h;
	char err[128] = "", many[8 * 366];
	int m, d;

	h = PARSED("always", "2026-12-24 2026-12-25, 12-31");
	CHECK_INT(h.nclosed, 3);
	CHECK_INT(h.closed[0], 20261224);
	CHECK_INT(h.closed[1], 20261225);
	CHECK_INT(h.closed[2], 1231);
	/* replaces the list; stray separators are fine; nothing is none */
	CHECK_INT(hours_parse_closed(&h, "  ,, 01-01 ;\t2028-02-29,", err, sizeof(err)), 0);
	CHECK_INT(h.nclosed, 2);
	CHECK_INT(h.closed[0], 101);
	CHECK_INT(h.closed[1], 20280229);
	CHECK_INT(hours_parse_closed(&h, "02-29", err, sizeof(err)), 0); /* in leap years */
	CHECK_INT(h.closed[0], 229);
	CHECK_INT(hours_parse_closed(&h, "", err, sizeof(err)), 0);
	CHECK_INT(h.nclosed, 0);
	CHECK(h.closed == NULL);
	CHECK_INT(hours_parse_closed(&h, " , ", err, sizeof(err)), 0);
	CHECK_INT(h.nclosed, 0);
	hours_free(&h);

	/* every day of the year */
	many[0] = '\0';
	for (m = 1; m <= 12; m++)
		for (d = 1; d <= 31; d++)
			if (!(d > 29 && m == 2) && !(d == 31 && (m == 4 || m == 6 || m == 9 ||
			    m == 11)))
				snprintf(many + strlen(many), sizeof(many) - strlen(many),
				    "%02d-%02d ", m, d);
	h = PARSED("always", many);
	CHECK_INT(h.nclosed, 366);
	hours_free(&h);

	BAD_CLOSED("2026-02-30", "bad date \"2026-02-30\"");
	BAD_CLOSED("2026-12-24 2026-02-29", "bad date \"2026-02-29\"");
	BAD_CLOSED("2100-02-29", "bad date \"2100-02-29\"");
	BAD_CLOSED("2026-13-01", "bad date \"2026-13-01\"");
	BAD_CLOSED("2026-00-10", "bad date \"2026-00-10\"");
	BAD_CLOSED("2026-04-31", "bad date \"2026-04-31\"");
	BAD_CLOSED("0000-01-01", "bad date \"0000-01-01\"");
	BAD_CLOSED("12-32", "bad date \"12-32\"");
	BAD_CLOSED("00-01", "bad date \"00-01\"");
	BAD_CLOSED("02-30", "bad date \"02-30\"");
	BAD_CLOSED("24.12.2026", "bad date \"24.12.2026\" (use YYYY-MM-DD, or MM-DD for every year)");
	BAD_CLOSED("2026-12-1", "bad date \"2026-12-1\" (use YYYY-MM-DD, or MM-DD for every year)");
	BAD_CLOSED("12-24, 2026-12-24x",
	    "bad date \"2026-12-24x\" (use YYYY-MM-DD, or MM-DD for every year)");
	BAD_CLOSED("2026/12/24", NULL);
	BAD_CLOSED("12-2a", NULL);
	BAD_CLOSED("Dec 24", NULL);
	BAD_CLOSED("-12-24", NULL);
	BAD_CLOSED("2026-1-01", NULL);
}

static void
is_open(void)
{
	struct hours h = PARSED("Mon-Fri 09:00-17:00, Sat 10:00-14:00", NULL);
	struct hours all = PARSED("always", NULL);

	/* UTC: Monday 2026-12-07 */
	SHUT(&h, "UTC", utc(2026, 12, 7, 0, 0, 0));
	SHUT(&h, "UTC", utc(2026, 12, 7, 8, 59, 59));
	OPEN(&h, "UTC", utc(2026, 12, 7, 9, 0, 0));
	OPEN(&h, "UTC", utc(2026, 12, 7, 12, 0, 0));
	OPEN(&h, "UTC", utc(2026, 12, 7, 16, 59, 59));
	SHUT(&h, "UTC", utc(2026, 12, 7, 17, 0, 0));
	SHUT(&h, "UTC", utc(2026, 12, 7, 23, 59, 59));
	OPEN(&h, "UTC", utc(2026, 12, 4, 9, 0, 0));     /* Friday */
	SHUT(&h, "UTC", utc(2026, 12, 5, 9, 59, 59));   /* Saturday */
	OPEN(&h, "UTC", utc(2026, 12, 5, 10, 0, 0));
	OPEN(&h, "UTC", utc(2026, 12, 5, 13, 59, 59));
	SHUT(&h, "UTC", utc(2026, 12, 5, 14, 0, 0));
	SHUT(&h, "UTC", utc(2026, 12, 6, 12, 0, 0));    /* Sunday */

	/* Helsinki in winter (UTC+2) and in summer (UTC+3) */
	SHUT(&h, HEL, utc(2026, 12, 7, 6, 59, 59));
	OPEN(&h, HEL, utc(2026, 12, 7, 7, 0, 0));
	OPEN(&h, HEL, utc(2026, 12, 7, 14, 59, 59));
	SHUT(&h, HEL, utc(2026, 12, 7, 15, 0, 0));
	SHUT(&h, HEL, utc(2026, 7, 6, 5, 59, 59));      /* Monday */
	OPEN(&h, HEL, utc(2026, 7, 6, 6, 0, 0));
	OPEN(&h, HEL, utc(2026, 7, 6, 13, 59, 59));
	SHUT(&h, HEL, utc(2026, 7, 6, 14, 0, 0));
	/* 22:30 UTC on Friday is already Saturday 00:30 in Helsinki */
	SHUT(&h, HEL, utc(2026, 12, 4, 22, 30, 0));
	/* the days around the change to summer time: Friday, Saturday, Monday after */
	OPEN(&h, HEL, utc(2026, 3, 27, 14, 59, 59));
	SHUT(&h, HEL, utc(2026, 3, 27, 15, 0, 0));
	OPEN(&h, HEL, utc(2026, 3, 28, 8, 0, 0));       /* 10:00 EET */
	SHUT(&h, HEL, utc(2026, 3, 30, 5, 59, 59));     /* 08:59:59 EEST */
	OPEN(&h, HEL, utc(2026, 3, 30, 6, 0, 0));

	/* Auckland: Monday 09:00 there is Sunday 20:00 UTC */
	SHUT(&h, AKL, utc(2026, 12, 6, 19, 59, 59));
	OPEN(&h, AKL, utc(2026, 12, 6, 20, 0, 0));
	OPEN(&h, AKL, utc(2026, 12, 7, 3, 59, 59));
	SHUT(&h, AKL, utc(2026, 12, 7, 4, 0, 0));
	OPEN(&h, AKL, utc(2026, 12, 4, 21, 0, 0));      /* Saturday 10:00 there */
	SHUT(&h, AKL, utc(2026, 12, 5, 1, 0, 0));       /* Saturday 14:00 there */
	SHUT(&h, AKL, utc(2026, 7, 5, 20, 59, 59));     /* winter: UTC+12 */
	OPEN(&h, AKL, utc(2026, 7, 5, 21, 0, 0));
	/* Los Angeles: Friday 17:00 there is Saturday 01:00 UTC */
	OPEN(&h, LAX, utc(2026, 12, 5, 0, 59, 59));
	SHUT(&h, LAX, utc(2026, 12, 5, 1, 0, 0));
	SHUT(&h, LAX, utc(2026, 12, 7, 16, 59, 59));
	OPEN(&h, LAX, utc(2026, 12, 7, 17, 0, 0));
	OPEN(&h, LAX, utc(2026, 12, 5, 18, 0, 0));      /* Saturday 10:00 there */
	OPEN(&h, LAX, utc(2026, 7, 6, 16, 0, 0));       /* summer: UTC-7 */
	SHUT(&h, LAX, utc(2026, 7, 6, 15, 59, 59));

	OPEN(&all, "UTC", utc(2026, 12, 6, 3, 0, 0));
	OPEN(&all, AKL, utc(2026, 12, 25, 12, 0, 0));
	hours_free(&h);
	hours_free(&all);

	/* a span belongs to its starting day; its tail runs into the next */
	h = PARSED("Fri 22:00-02:00, Sun 23:00-01:00", NULL);
	SHUT(&h, "UTC", utc(2026, 12, 4, 21, 59, 59));
	OPEN(&h, "UTC", utc(2026, 12, 4, 22, 0, 0));
	OPEN(&h, "UTC", utc(2026, 12, 4, 23, 59, 59));
	OPEN(&h, "UTC", utc(2026, 12, 5, 0, 0, 0));
	OPEN(&h, "UTC", utc(2026, 12, 5, 1, 59, 59));
	SHUT(&h, "UTC", utc(2026, 12, 5, 2, 0, 0));
	SHUT(&h, "UTC", utc(2026, 12, 3, 23, 0, 0));    /* Thursday */
	SHUT(&h, "UTC", utc(2026, 12, 4, 1, 0, 0));     /* Friday early: Thursday had none */
	SHUT(&h, "UTC", utc(2026, 12, 5, 23, 0, 0));    /* Saturday */
	OPEN(&h, "UTC", utc(2026, 12, 6, 23, 30, 0));   /* Sunday into Monday */
	OPEN(&h, "UTC", utc(2026, 12, 7, 0, 30, 0));
	SHUT(&h, "UTC", utc(2026, 12, 7, 1, 0, 0));
	SHUT(&h, "UTC", utc(2026, 12, 8, 0, 30, 0));    /* Tuesday */
	OPEN(&h, HEL, utc(2026, 12, 4, 20, 0, 0));      /* 22:00 EET */
	OPEN(&h, HEL, utc(2026, 12, 4, 23, 59, 59));
	SHUT(&h, HEL, utc(2026, 12, 5, 0, 0, 0));
	hours_free(&h);

	h = PARSED("Mon-Sun 00:00-24:00", NULL);
	OPEN(&h, "UTC", utc(2026, 12, 6, 23, 59, 59));
	OPEN(&h, "UTC", utc(2026, 12, 7, 0, 0, 0));
	hours_free(&h);
	h = PARSED("Mon 00:00-24:00", NULL);
	SHUT(&h, "UTC", utc(2026, 12, 6, 23, 59, 59));
	OPEN(&h, "UTC", utc(2026, 12, 7, 0, 0, 0));
	OPEN(&h, "UTC", utc(2026, 12, 7, 23, 59, 59));
	SHUT(&h, "UTC", utc(2026, 12, 8, 0, 0, 0));
	hours_free(&h);
}

static void
closed_dates(void)
{
	struct hours h = PARSED("Mon-Fri 09:00-17:00", "2026-12-24 12-25, 01-01");

	OPEN(&h, "UTC", utc(2026, 12, 23, 12, 0, 0));
	SHUT(&h, "UTC", utc(2026, 12, 24, 12, 0, 0));   /* Thursday, this year only */
	SHUT(&h, "UTC", utc(2026, 12, 25, 12, 0, 0));   /* Friday, every year */
	OPEN(&h, "UTC", utc(2027, 12, 24, 12, 0, 0));   /* a Friday, open again */
	SHUT(&h, "UTC", utc(2027, 1, 1, 12, 0, 0));     /* a Friday */
	SHUT(&h, "UTC", utc(2029, 1, 1, 12, 0, 0));     /* a Monday */
	OPEN(&h, "UTC", utc(2029, 1, 2, 12, 0, 0));
	/* the date is the local one */
	SHUT(&h, HEL, utc(2026, 12, 24, 7, 0, 0));
	OPEN(&h, HEL, utc(2026, 12, 23, 14, 59, 59));
	SHUT(&h, AKL, utc(2026, 12, 23, 20, 0, 0));     /* Thursday 24th 09:00 there */
	OPEN(&h, AKL, utc(2026, 12, 22, 20, 0, 0));
	hours_free(&h);

	h = PARSED("always", "2026-12-25");
	OPEN(&h, "UTC", utc(2026, 12, 24, 23, 59, 59));
	SHUT(&h, "UTC", utc(2026, 12, 25, 0, 0, 0));
	SHUT(&h, "UTC", utc(2026, 12, 25, 23, 59, 59));
	OPEN(&h, "UTC", utc(2026, 12, 26, 0, 0, 0));
	OPEN(&h, "UTC", utc(2027, 12, 25, 12, 0, 0));
	OPEN(&h, HEL, utc(2026, 12, 24, 21, 59, 59));
	SHUT(&h, HEL, utc(2026, 12, 24, 22, 0, 0));     /* midnight in Helsinki */
	SHUT(&h, HEL, utc(2026, 12, 25, 21, 59, 59));
	OPEN(&h, HEL, utc(2026, 12, 25, 22, 0, 0));
	SHUT(&h, LAX, utc(2026, 12, 26, 7, 59, 59));    /* still the 25th there */
	OPEN(&h, LAX, utc(2026, 12, 26, 8, 0, 0));
	hours_free(&h);

	/* a closed date cuts the tail of a span that started the day before */
	h = PARSED("Thu 22:00-02:00", "2026-12-25 01-01");
	OPEN(&h, "UTC", utc(2026, 12, 24, 23, 0, 0));
	SHUT(&h, "UTC", utc(2026, 12, 25, 1, 0, 0));
	OPEN(&h, "UTC", utc(2026, 12, 17, 23, 0, 0));
	OPEN(&h, "UTC", utc(2026, 12, 18, 1, 0, 0));
	OPEN(&h, "UTC", utc(2026, 12, 31, 23, 0, 0));
	SHUT(&h, "UTC", utc(2027, 1, 1, 1, 0, 0));
	hours_free(&h);
}

static void
next_change(void)
{
	struct hours h = PARSED("Mon-Fri 09:00-17:00, Sat 10:00-14:00", NULL);
	struct hours wk = PARSED("Mon-Fri 09:00-17:00", NULL);
	struct hours xmas = PARSED("Mon-Fri 09:00-17:00", "2026-12-24 12-25");
	struct hours all = PARSED("always", NULL);
	struct hours day = PARSED("always", "2026-12-25");
	struct hours yearly = PARSED("always", "12-25");
	struct hours past = PARSED("always", "2020-01-01 2026-11-01");
	struct hours full = PARSED("Mon-Sun 00:00-24:00", NULL);
	struct hours night = PARSED("Sat 22:00-06:00", NULL);
	struct hours gap = PARSED("Sun 03:30-05:00", NULL);
	struct hours lost = PARSED("Sun 03:10-03:50", NULL);
	struct hours daily = PARSED("Mon-Sun 09:00-17:00", NULL);

	/* within a day, and at an edge: strictly after */
	CHANGE(&h, "UTC", utc(2026, 12, 7, 8, 0, 0), utc(2026, 12, 7, 9, 0, 0));
	CHANGE(&h, "UTC", utc(2026, 12, 7, 8, 59, 59), utc(2026, 12, 7, 9, 0, 0));
	CHANGE(&h, "UTC", utc(2026, 12, 7, 9, 0, 0), utc(2026, 12, 7, 17, 0, 0));
	CHANGE(&h, "UTC", utc(2026, 12, 7, 12, 34, 56), utc(2026, 12, 7, 17, 0, 0));
	CHANGE(&h, "UTC", utc(2026, 12, 7, 17, 0, 0), utc(2026, 12, 8, 9, 0, 0));
	/* over the weekend */
	CHANGE(&h, "UTC", utc(2026, 12, 4, 17, 0, 0), utc(2026, 12, 5, 10, 0, 0));
	CHANGE(&h, "UTC", utc(2026, 12, 5, 14, 0, 0), utc(2026, 12, 7, 9, 0, 0));
	CHANGE(&wk, "UTC", utc(2026, 12, 4, 17, 0, 0), utc(2026, 12, 7, 9, 0, 0));
	CHANGE(&wk, HEL, utc(2026, 12, 4, 15, 0, 0), utc(2026, 12, 7, 7, 0, 0));
	CHANGE(&wk, AKL, utc(2026, 12, 4, 4, 0, 0), utc(2026, 12, 6, 20, 0, 0));
	CHANGE(&wk, LAX, utc(2026, 12, 4, 20, 0, 0), utc(2026, 12, 5, 1, 0, 0));
	CHANGE(&wk, LAX, utc(2026, 12, 5, 1, 0, 0), utc(2026, 12, 7, 17, 0, 0));
	/* over closed dates and the weekend after them */
	CHANGE(&xmas, "UTC", utc(2026, 12, 23, 12, 0, 0), utc(2026, 12, 23, 17, 0, 0));
	CHANGE(&xmas, "UTC", utc(2026, 12, 23, 17, 0, 0), utc(2026, 12, 28, 9, 0, 0));
	CHANGE(&xmas, HEL, utc(2026, 12, 23, 15, 0, 0), utc(2026, 12, 28, 7, 0, 0));
	/* open around the clock but for a day: it closes and opens at local midnight */
	CHANGE(&day, "UTC", utc(2026, 12, 20, 10, 0, 0), utc(2026, 12, 25, 0, 0, 0));
	CHANGE(&day, "UTC", utc(2026, 12, 25, 0, 0, 0), utc(2026, 12, 26, 0, 0, 0));
	CHANGE(&day, HEL, utc(2026, 12, 20, 10, 0, 0), utc(2026, 12, 24, 22, 0, 0));
	CHANGE(&day, HEL, utc(2026, 12, 24, 22, 0, 0), utc(2026, 12, 25, 22, 0, 0));
	CHANGE(&day, AKL, utc(2026, 12, 20, 10, 0, 0), utc(2026, 12, 24, 11, 0, 0));
	CHANGE(&day, "UTC", utc(2026, 12, 26, 0, 0, 0), 0);
	CHANGE(&yearly, "UTC", utc(2026, 12, 26, 0, 0, 0), utc(2027, 12, 25, 0, 0, 0));
	/* never changes */
	CHANGE(&all, "UTC", utc(2026, 12, 7, 12, 0, 0), 0);
	CHANGE(&all, HEL, utc(2026, 12, 7, 12, 0, 0), 0);
	CHANGE(&past, HEL, utc(2026, 12, 7, 12, 0, 0), 0);
	CHANGE(&full, AKL, utc(2026, 12, 7, 12, 0, 0), 0);
	CHANGE(&full, HEL, utc(2026, 3, 20, 12, 0, 0), 0); /* over a summer-time change */

	/* Helsinki to summer time, Sunday 2026-03-29: 03:00 EET is 04:00 EEST (01:00 UTC) */
	CHANGE(&wk, HEL, utc(2026, 3, 27, 15, 0, 0), utc(2026, 3, 30, 6, 0, 0));
	CHANGE(&daily, HEL, utc(2026, 3, 28, 15, 0, 0), utc(2026, 3, 29, 6, 0, 0));
	CHANGE(&daily, HEL, utc(2026, 3, 29, 6, 0, 0), utc(2026, 3, 29, 14, 0, 0));
	/* opens inside the skipped hour: at the jump */
	SHUT(&gap, HEL, utc(2026, 3, 29, 0, 59, 59));
	OPEN(&gap, HEL, utc(2026, 3, 29, 1, 0, 0));
	CHANGE(&gap, HEL, utc(2026, 3, 28, 22, 0, 0), utc(2026, 3, 29, 1, 0, 0));
	CHANGE(&gap, HEL, utc(2026, 3, 29, 1, 0, 0), utc(2026, 3, 29, 2, 0, 0));
	/* all of it skipped: the next Sunday */
	CHANGE(&lost, HEL, utc(2026, 3, 28, 22, 0, 0), utc(2026, 4, 5, 0, 10, 0));
	/* the night the clocks go forward is an hour shorter */
	CHANGE(&night, HEL, utc(2026, 3, 28, 20, 0, 0), utc(2026, 3, 29, 3, 0, 0));

	/* back to winter time, Sunday 2026-10-25: 04:00 EEST is 03:00 EET (01:00 UTC) */
	CHANGE(&wk, HEL, utc(2026, 10, 23, 14, 0, 0), utc(2026, 10, 26, 7, 0, 0));
	/* 03:30-05:00 happens once in summer time and again, in part, in winter time */
	CHANGE(&gap, HEL, utc(2026, 10, 24, 21, 0, 0), utc(2026, 10, 25, 0, 30, 0));
	CHANGE(&gap, HEL, utc(2026, 10, 25, 0, 30, 0), utc(2026, 10, 25, 1, 0, 0));
	SHUT(&gap, HEL, utc(2026, 10, 25, 1, 0, 0));
	CHANGE(&gap, HEL, utc(2026, 10, 25, 1, 0, 0), utc(2026, 10, 25, 1, 30, 0));
	CHANGE(&gap, HEL, utc(2026, 10, 25, 1, 30, 0), utc(2026, 10, 25, 3, 0, 0));
	/* the night the clocks go back is an hour longer */
	CHANGE(&night, HEL, utc(2026, 10, 24, 19, 0, 0), utc(2026, 10, 25, 4, 0, 0));

	/* Auckland's changes: 2026-04-05 to winter time, 2026-09-27 to summer time */
	CHANGE(&wk, AKL, utc(2026, 4, 3, 4, 0, 0), utc(2026, 4, 5, 21, 0, 0));
	CHANGE(&wk, AKL, utc(2026, 9, 25, 5, 0, 0), utc(2026, 9, 27, 20, 0, 0));
	/* Los Angeles to summer time on 2026-03-08, back on 2026-11-01 */
	CHANGE(&wk, LAX, utc(2026, 3, 7, 1, 0, 0), utc(2026, 3, 9, 16, 0, 0));
	CHANGE(&wk, LAX, utc(2026, 10, 31, 0, 0, 0), utc(2026, 11, 2, 17, 0, 0));

	/* next opening */
	NEXT_OPEN(&h, "UTC", utc(2026, 12, 7, 12, 0, 0), utc(2026, 12, 7, 12, 0, 0));
	NEXT_OPEN(&h, "UTC", utc(2026, 12, 7, 9, 0, 0), utc(2026, 12, 7, 9, 0, 0));
	NEXT_OPEN(&h, "UTC", utc(2026, 12, 7, 8, 59, 59), utc(2026, 12, 7, 9, 0, 0));
	NEXT_OPEN(&h, "UTC", utc(2026, 12, 5, 14, 0, 0), utc(2026, 12, 7, 9, 0, 0));
	NEXT_OPEN(&h, "UTC", utc(2026, 12, 6, 23, 59, 59), utc(2026, 12, 7, 9, 0, 0));
	NEXT_OPEN(&xmas, "UTC", utc(2026, 12, 23, 18, 0, 0), utc(2026, 12, 28, 9, 0, 0));
	NEXT_OPEN(&xmas, "UTC", utc(2027, 12, 24, 18, 0, 0), utc(2027, 12, 27, 9, 0, 0));
	NEXT_OPEN(&wk, HEL, utc(2026, 3, 28, 12, 0, 0), utc(2026, 3, 30, 6, 0, 0));
	NEXT_OPEN(&wk, HEL, utc(2026, 10, 24, 12, 0, 0), utc(2026, 10, 26, 7, 0, 0));
	NEXT_OPEN(&wk, AKL, utc(2026, 12, 5, 12, 0, 0), utc(2026, 12, 6, 20, 0, 0));
	NEXT_OPEN(&day, "UTC", utc(2026, 12, 25, 12, 0, 0), utc(2026, 12, 26, 0, 0, 0));
	NEXT_OPEN(&all, "UTC", utc(2026, 12, 25, 12, 0, 0), utc(2026, 12, 25, 12, 0, 0));
	NEXT_OPEN(&gap, HEL, utc(2026, 3, 28, 12, 0, 0), utc(2026, 3, 29, 1, 0, 0));

	/* every hour checked minute by minute over the weeks of the changes */
	WALK(&h, HEL, utc(2026, 3, 24, 0, 0, 0), utc(2026, 4, 1, 0, 0, 0));
	WALK(&night, HEL, utc(2026, 3, 27, 0, 0, 0), utc(2026, 3, 31, 0, 0, 0));
	WALK(&gap, HEL, utc(2026, 3, 27, 0, 0, 0), utc(2026, 4, 6, 0, 0, 0));
	WALK(&gap, HEL, utc(2026, 10, 23, 0, 0, 0), utc(2026, 10, 27, 0, 0, 0));
	WALK(&night, HEL, utc(2026, 10, 23, 0, 0, 0), utc(2026, 10, 27, 0, 0, 0));
	WALK(&xmas, AKL, utc(2026, 12, 20, 0, 0, 0), utc(2026, 12, 30, 0, 0, 0));
	WALK(&h, AKL, utc(2026, 4, 1, 0, 0, 0), utc(2026, 4, 8, 0, 0, 0));
	WALK(&h, LAX, utc(2026, 10, 29, 0, 0, 0), utc(2026, 11, 4, 0, 0, 0));

	hours_free(&h);
	hours_free(&wk);
	hours_free(&xmas);
	hours_free(&all);
	hours_free(&day);
	hours_free(&yearly);
	hours_free(&past);
	hours_free(&full);
	hours_free(&night);
	hours_free(&gap);
	hours_free(&lost);
	hours_free(&daily);
}

/* Closed on every day of the year: never open, and a search that gives up. */
static void
never(void)
{
	char many[8 * 366];
	struct hours h, all;
	int m, d;

	many[0] = '\0';
	for (m = 1; m <= 12; m++)
		for (d = 1; d <= 31; d++)
			if (!(d > 29 && m == 2) && !(d == 31 && (m == 4 || m == 6 || m == 9 ||
			    m == 11)))
				snprintf(many + strlen(many), sizeof(many) - strlen(many),
				    "%02d-%02d ", m, d);
	h = PARSED("Mon-Fri 09:00-17:00", many);
	all = PARSED("always", many);
	SHUT(&h, "UTC", utc(2026, 12, 7, 12, 0, 0));
	SHUT(&all, "UTC", utc(2028, 2, 29, 12, 0, 0));
	CHANGE(&h, "UTC", utc(2026, 12, 7, 12, 0, 0), 0);
	CHANGE(&all, HEL, utc(2026, 12, 7, 12, 0, 0), 0);
	NEXT_OPEN(&h, "UTC", utc(2026, 12, 7, 12, 0, 0), 0);
	NEXT_OPEN(&all, AKL, utc(2026, 12, 7, 12, 0, 0), 0);
	hours_free(&h);
	hours_free(&all);
}

static void
when(void)
{
	const time_t now = utc(2026, 11, 25, 10, 0, 0); /* a Wednesday */
	char small[8];

	WHEN("UTC", utc(2026, 11, 25, 17, 0, 0), now, "today at 17:00");
	WHEN("UTC", now, now, "today at 10:00");
	WHEN("UTC", utc(2026, 11, 25, 23, 59, 59), now, "today at 23:59");
	WHEN("UTC", utc(2026, 11, 26, 0, 0, 0), now, "tomorrow at 00:00");
	WHEN("UTC", utc(2026, 11, 26, 9, 0, 0), now, "tomorrow at 09:00");
	WHEN("UTC", utc(2026, 11, 27, 9, 0, 0), now, "Friday 27 November at 09:00");
	WHEN("UTC", utc(2026, 12, 7, 9, 0, 0), now, "Monday 7 December at 09:00");
	WHEN("UTC", utc(2026, 12, 6, 13, 5, 0), now, "Sunday 6 December at 13:05");
	WHEN("UTC", utc(2027, 1, 1, 9, 30, 0), now, "Friday 1 January at 09:30");
	WHEN("UTC", utc(2026, 12, 31, 9, 0, 0), utc(2026, 12, 30, 20, 0, 0), "tomorrow at 09:00");
	WHEN("UTC", utc(2027, 1, 1, 9, 0, 0), utc(2026, 12, 31, 20, 0, 0), "tomorrow at 09:00");
	/* the days are local: 23:30 UTC is already Thursday in Helsinki */
	WHEN(HEL, utc(2026, 11, 26, 7, 0, 0), utc(2026, 11, 25, 23, 30, 0), "today at 09:00");
	WHEN(HEL, utc(2026, 11, 26, 7, 0, 0), utc(2026, 11, 25, 21, 30, 0), "tomorrow at 09:00");
	WHEN(HEL, utc(2026, 11, 25, 21, 0, 0), utc(2026, 11, 25, 23, 30, 0),
	    "Wednesday 25 November at 23:00");
	/* over the change to summer time */
	WHEN(HEL, utc(2026, 3, 29, 6, 0, 0), utc(2026, 3, 28, 15, 0, 0), "tomorrow at 09:00");
	WHEN(HEL, utc(2026, 3, 30, 6, 0, 0), utc(2026, 3, 28, 15, 0, 0), "Monday 30 March at 09:00");
	/* Los Angeles: Wednesday evening there */
	WHEN(LAX, utc(2026, 11, 26, 17, 0, 0), utc(2026, 11, 26, 2, 0, 0), "tomorrow at 09:00");
	/* Auckland: Friday evening there, Monday morning there */
	WHEN(AKL, utc(2026, 12, 6, 20, 0, 0), utc(2026, 12, 4, 5, 0, 0), "Monday 7 December at 09:00");
	WHEN(AKL, utc(2026, 12, 4, 20, 0, 0), utc(2026, 12, 4, 5, 0, 0), "tomorrow at 09:00");

	/* in Finnish: the weekday in the essive, the month in the partitive, 9.00 */
	{
		char fi[64];

		hours_when(LANG_FI, AKL, utc(2026, 12, 6, 20, 0, 0), utc(2026, 12, 4, 5, 0, 0), fi,
		    sizeof(fi));
		CHECK_STR(fi, "maanantaina 7. joulukuuta klo 9.00");
		hours_when(LANG_FI, HEL, utc(2026, 12, 3, 7, 0, 0), utc(2026, 12, 2, 12, 0, 0), fi,
		    sizeof(fi));
		CHECK_STR(fi, "huomenna klo 9.00");
		hours_when(LANG_FI, HEL, utc(2026, 12, 2, 14, 30, 0), utc(2026, 12, 2, 12, 0, 0),
		    fi, sizeof(fi));
		CHECK_STR(fi, "tänään klo 16.30");
	}

	/* a small buffer is cut short, not overrun */
	memset(small, 'x', sizeof(small));
	hours_when(LANG_EN, "UTC", utc(2026, 12, 7, 9, 0, 0), now, small, 6);
	CHECK_STR(small, "Monda");
	CHECK(small[6] == 'x');
}

int
main(void)
{
	/* nothing may hang on the process's own zone: give it an odd one */
	setenv("TZ", "Asia/Kathmandu", 1);
	tzset();

	parse_ok();
	parse_errors();
	parse_closed();
	is_open();
	closed_dates();
	next_change();
	never();
	when();

	/* the process's own zone is left as it was */
	CHECK_STR(getenv("TZ"), "Asia/Kathmandu");
	return check_done();
}
