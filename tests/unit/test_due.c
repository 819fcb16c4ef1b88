/* due.c: due times read in the queue's time zone, checked as UTC instants. */
#include <stdlib.h>

#include "check.h"

static time_t
utc(int y, int mo, int d, int h, int mi)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	return timegm(&tm);
}

/* Parses s and checks the due instant and what is left after it. */
static void
ok_at(int line, const char *tz, time_t now, const char *s, time_t want, const char *want_rest)
{
	time_t due = -1;
	const char *rest = NULL;
	char err[128] = "", got[32], exp[32];
	int rc = due_parse(s, now, tz, &due, &rest, err, sizeof(err));

	time_iso(due, got);
	time_iso(want, exp);
	if (!(rc == 1 && due == want && rest && strcmp(rest, want_rest) == 0))
		fprintf(stderr, "line %d: \"%s\" in %s: rc %d, due %s (want %s), rest \"%s\" "
		    "(want \"%s\"), err \"%s\"\n", line, s, tz, rc, got, exp,
		    rest ? rest : "(null)", want_rest, err);
	CHECK_INT(rc, 1);
	CHECK_STR(got, exp);
	CHECK_STR(rest, want_rest);
}
#define OK(tz, now, s, want, rest) ok_at(__LINE__, tz, now, s, want, rest)

static void
bad_at(int line, const char *tz, time_t now, const char *s)
{
	time_t due = 12345;
	const char *rest = NULL;
	char err[128] = "";
	int rc = due_parse(s, now, tz, &due, &rest, err, sizeof(err));

	if (rc != -1 || err[0] == '\0')
		fprintf(stderr, "line %d: \"%s\" in %s should be an error: rc %d, err \"%s\"\n",
		    line, s, tz, rc, err);
	CHECK_INT(rc, -1);
	CHECK(err[0] != '\0');
}
#define BAD(tz, now, s) bad_at(__LINE__, tz, now, s)

static void
relative(const char *tz, time_t now)
{
	OK(tz, now, "+30m call back", now + 30 * 60, "call back");
	OK(tz, now, "+2h", now + 2 * 3600, "");
	OK(tz, now, "+1d  send the invoice", now + 86400, "send the invoice");
	OK(tz, now, "+1w review", now + 7 * 86400, "review");
	OK(tz, now, "   +90m x", now + 90 * 60, "x");
	BAD(tz, now, "+5x later");
	BAD(tz, now, "+0h");
	BAD(tz, now, "+30");
	BAD(tz, now, "+30mx");
	BAD(tz, now, "+99999999999999999999999m");
	BAD(tz, now, "+9999w");
}

static void
none(const char *tz, time_t now)
{
	const char *texts[] = { "call Bob tomorrow", "todayish things", "tomorrows", "2026",
		"", "+ 2h", "-2h", "12:30 lunch",
		"12345-A order", "20261-1-1" };
	size_t i;

	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		time_t due = 777;
		const char *rest = NULL;
		char err[64] = "";

		CHECK_INT(due_parse(texts[i], now, tz, &due, &rest, err, sizeof(err)), 0);
		CHECK_INT(due, 0);
		CHECK(rest == texts[i]);
		CHECK_STR(err, "");
	}
}

static void
errors(const char *tz, time_t now)
{
	BAD(tz, now, "2026-13-01");
	BAD(tz, now, "2026-00-10");
	BAD(tz, now, "2026-12-32");
	BAD(tz, now, "2026-02-30"); /* not a date: must not roll over into March */
	BAD(tz, now, "2026-12-1");
	BAD(tz, now, "2026-12-01x");
	BAD(tz, now, "today");
	BAD(tz, now, "today call Bob");
	BAD(tz, now, "tomorrow 25:00");
	BAD(tz, now, "today 23:60");
	BAD(tz, now, "2026-12-01 24:61");
	BAD(tz, now, "2026-12-01 24:00");
	/* years a due time cannot have: 0 would read as "none", 1970 as the epoch */
	BAD(tz, now, "0000-01-01");
	BAD(tz, now, "0001-01-01 task");
	BAD(tz, now, "1969-12-31 23:59");
	BAD(tz, now, "1970-01-01 00:00");
	BAD(tz, now, "1970-12-31");
	BAD(tz, now, "10000-01-01");
}

/* The first and last years a due time can have; the epoch itself is a due time, not "none". */
static void
years(void)
{
	char err[128];
	const char *rest;
	time_t due;

	OK("UTC", utc(2026, 11, 25, 10, 0), "1971-01-01 00:00 x", utc(1971, 1, 1, 0, 0), "x");
	OK("UTC", utc(2026, 11, 25, 10, 0), "9999-12-31 23:59", utc(9999, 12, 31, 23, 59), "");
	CHECK_INT(due_parse("1970-01-01 00:00", 0, "UTC", &due, &rest, err, sizeof(err)), -1);
	CHECK(strstr(err, "1971") != NULL);
	CHECK_INT(due_parse("today 00:00 x", 0, "UTC", &due, &rest, err, sizeof(err)), 1);
	CHECK_INT(due, 0);
	CHECK_STR(rest, "x");
}

int
main(void)
{
	const time_t now = utc(2026, 11, 25, 10, 0); /* a Wednesday */
	const char *zones[] = { "UTC", "Europe/Helsinki", "America/New_York" };
	size_t i;

	for (i = 0; i < 3; i++) {
		relative(zones[i], now);
		none(zones[i], now);
		errors(zones[i], now);
	}

	years();

	/* UTC: local time is the instant */
	OK("UTC", now, "tomorrow", utc(2026, 11, 26, 9, 0), "");
	OK("UTC", now, "Tomorrow call Bob", utc(2026, 11, 26, 9, 0), "call Bob");
	OK("UTC", now, "tomorrow 14:30 call Bob", utc(2026, 11, 26, 14, 30), "call Bob");
	OK("UTC", now, "tomorrow 9:30 call Bob", utc(2026, 11, 26, 9, 30), "call Bob"); /* one-digit hour */
	OK("UTC", now, "today 16:00 demo", utc(2026, 11, 25, 16, 0), "demo");
	OK("UTC", now, "TODAY 00:00", utc(2026, 11, 25, 0, 0), "");
	OK("UTC", now, "2026-12-01", utc(2026, 12, 1, 9, 0), "");
	OK("UTC", now, "2026-12-01 send invoice", utc(2026, 12, 1, 9, 0), "send invoice");
	OK("UTC", now, "2026-12-01 14:30 send invoice", utc(2026, 12, 1, 14, 30), "send invoice");
	OK("UTC", now, "2027-07-01 14:30", utc(2027, 7, 1, 14, 30), "");
	OK("UTC", now, "2028-02-29 23:59", utc(2028, 2, 29, 23, 59), "");
	OK("UTC", utc(2026, 12, 31, 12, 0), "tomorrow 08:15", utc(2027, 1, 1, 8, 15), "");

	/* Helsinki: UTC+2 in winter, UTC+3 in summer */
	OK("Europe/Helsinki", now, "tomorrow", utc(2026, 11, 26, 7, 0), "");
	OK("Europe/Helsinki", now, "tomorrow 14:30 x", utc(2026, 11, 26, 12, 30), "x");
	OK("Europe/Helsinki", now, "today 16:00", utc(2026, 11, 25, 14, 0), "");
	OK("Europe/Helsinki", now, "2026-12-01", utc(2026, 12, 1, 7, 0), "");
	OK("Europe/Helsinki", now, "2026-12-01 14:30", utc(2026, 12, 1, 12, 30), "");
	OK("Europe/Helsinki", now, "2027-07-01 14:30", utc(2027, 7, 1, 11, 30), "");
	OK("Europe/Helsinki", now, "2027-07-01", utc(2027, 7, 1, 6, 0), "");
	/* 23:30 UTC is already the next day in Helsinki */
	OK("Europe/Helsinki", utc(2026, 11, 25, 23, 30), "today 10:00", utc(2026, 11, 26, 8, 0), "");
	OK("Europe/Helsinki", utc(2026, 11, 25, 23, 30), "tomorrow", utc(2026, 11, 27, 7, 0), "");
	/* summer time ends on 2026-10-25: the day after is UTC+2 again */
	OK("Europe/Helsinki", utc(2026, 10, 24, 12, 0), "tomorrow 12:00",
	    utc(2026, 10, 25, 10, 0), "");

	/* New York: UTC-5 in winter, UTC-4 in summer */
	OK("America/New_York", now, "tomorrow", utc(2026, 11, 26, 14, 0), "");
	OK("America/New_York", now, "tomorrow 14:30", utc(2026, 11, 26, 19, 30), "");
	OK("America/New_York", now, "today 16:00", utc(2026, 11, 25, 21, 0), "");
	OK("America/New_York", now, "2026-12-01 14:30", utc(2026, 12, 1, 19, 30), "");
	OK("America/New_York", now, "2027-07-01 14:30", utc(2027, 7, 1, 18, 30), "");
	/* 02:00 UTC is still the previous day in New York */
	OK("America/New_York", utc(2026, 11, 26, 2, 0), "today 20:00", utc(2026, 11, 26, 1, 0), "");
	/* summer time ends on 2026-11-01: 10:00 EDT today, tomorrow 09:00 is EST */
	OK("America/New_York", utc(2026, 10, 31, 14, 0), "tomorrow", utc(2026, 11, 1, 14, 0), "");

	/* the process's own zone is left as it was */
	{
		const char *tz = getenv("TZ");

		CHECK(tz == NULL || strcmp(tz, "Europe/Helsinki") != 0);
	}
	return check_done();
}
