/*
 * Times written by people: an agent's due time (due_parse), a queue's business hours
 * (hours_parse) and closed dates (hours_parse_closed), then what respa computes from them.
 * Byte 0 picks the time zone, byte 1 the clock (over a year, DST changes included); the rest
 * is "HOURS\nCLOSED DATES\nDUE TIME". The clock is fixed per input: no real time is read.
 */
#include "fuzz.h"

static const char *const zones[] = { "UTC", "Europe/Helsinki", "America/New_York",
	"Australia/Lord_Howe", "Asia/Kathmandu", "Pacific/Apia", "America/Santiago" };
#define BASE_TIME 1767225600 /* 2026-01-01T00:00:00Z */

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hours h = { 0 };
	const char *tz, *rest;
	char *text, *closed, *duetext, err[160], when[64];
	time_t now, due, open, change;
	int rc;

	if (size < 2)
		return 0;
	tz = zones[data[0] % (sizeof(zones) / sizeof(zones[0]))];
	now = BASE_TIME + (time_t)data[1] * 123457; /* about 1.4 days a step */
	/* the process in the zone already: respa switches TZ per call, and glibc reloads the
	 * zone file only when it changes (ten times faster) */
	setenv("TZ", tz, 1);
	text = fuzz_str(data + 2, size - 2);
	closed = text + strcspn(text, "\n");
	if (*closed)
		*closed++ = '\0';
	duetext = closed + strcspn(closed, "\n");
	if (*duetext)
		*duetext++ = '\0';

	err[0] = '\0';
	rc = due_parse(duetext, now, tz, &due, &rest, err, sizeof(err));
	FUZZ_ASSERT(rc == 1 || rc == 0 || rc == -1);
	if (rc >= 0)
		FUZZ_ASSERT(rest >= duetext && rest <= duetext + strlen(duetext));
	else
		FUZZ_ASSERT(*err != '\0');
	if (rc == 1) /* a due time found: within the years due_parse allows */
		FUZZ_ASSERT(due >= 31536000 - 86400 && due < 253402300800 + 86400); /* +- a zone */

	err[0] = '\0';
	rc = hours_parse(&h, text, err, sizeof(err));
	FUZZ_ASSERT(rc == 0 || (rc == -1 && *err != '\0' && h.spans == NULL));
	for (size_t i = 0; i < h.nspans; i++)
		FUZZ_ASSERT(h.spans[i].day >= 0 && h.spans[i].day < 7 && h.spans[i].from >= 0 &&
		    h.spans[i].from < 1440 && h.spans[i].to > 0 && h.spans[i].to <= 1440);
	err[0] = '\0';
	rc = hours_parse_closed(&h, closed, err, sizeof(err));
	FUZZ_ASSERT(rc == 0 || (rc == -1 && *err != '\0'));

	open = hours_next_open(&h, tz, now);
	FUZZ_ASSERT(open == 0 || open >= now);
	if (hours_is_open(&h, tz, now))
		FUZZ_ASSERT(open == now);
	change = hours_next_change(&h, tz, now);
	FUZZ_ASSERT(change == 0 || change > now);
	if (open) {
		hours_when(LANG_FI, tz, open, now, when, sizeof(when));
		FUZZ_ASSERT(*when != '\0');
	}
	hours_free(&h);
	free(text);
	return 0;
}
