/*
 * The report's figures (report.c over store_report.c): nearest-rank percentiles of grouped
 * durations, rounding, and on a temporary database the cases the generated month of the e2e
 * test cannot pin down: respa's own closes are no agent's, an answer after the customer left
 * is no first response, a contact back within fcr_days is no first-contact resolution, and in
 * or out of hours across a summer-time change in the queue's zone.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "check.h"

static char tmpdir[256], dbpath[512];
static sqlite3 *other; /* writes the cases, beside the store's own connection */

static void
percentiles(void)
{
	struct report_bin v[] = { { 30, 1 }, { 10, 1 }, { 20, 1 }, { 40, 1 } };
	struct report_bin w[] = { { 5, 9 }, { 500, 1 } };
	struct stats_times t;

	report_times_of(v, 4, &t); /* 10 20 30 40: the median is the 2nd, p90 the 4th */
	CHECK_INT(t.n, 4);
	CHECK_INT(t.median, 20);
	CHECK_INT(t.p90, 40);
	CHECK(t.avg > 24.99 && t.avg < 25.01);
	report_times_of(w, 2, &t); /* nine of 5 s, one of 500 s: p90 is the 9th, still 5 */
	CHECK_INT(t.n, 10);
	CHECK_INT(t.median, 5);
	CHECK_INT(t.p90, 5);
	report_times_of(NULL, 0, &t);
	CHECK_INT(t.n, 0);
	CHECK_INT(t.median, 0);
	CHECK_INT(report_percent(1, 3), 33);
	CHECK_INT(report_percent(1, 2), 50);
	CHECK_INT(report_percent(2, 3), 67);
	CHECK_INT(report_percent(5, 0), 0);
}

static void
sql(const char *text)
{
	char *err = NULL;

	if (sqlite3_exec(other, text, NULL, NULL, &err) != SQLITE_OK) {
		fprintf(stderr, "%s: %s\n", text, err);
		CHECK(0);
	}
	sqlite3_free(err);
}

static void
figures(void)
{
	struct hours h;
	struct report_queue q;
	struct report_span span;
	struct report r;
	char err[128];

	memset(&h, 0, sizeof(h));
	CHECK_INT(hours_parse(&h, "Mon-Fri 09:00-17:00", err, sizeof(err)), 0);
	memset(&q, 0, sizeof(q));
	q.name = "support";
	q.tz = "Europe/Helsinki";
	q.hours = &h;
	q.max_wait = 300;
	CHECK_INT(store_open(dbpath, 0), 0);
	CHECK_INT(sqlite3_open(dbpath, &other), SQLITE_OK);
	sqlite3_busy_timeout(other, 5000);
	/*
	 * Helsinki changed to summer time on 2026-03-29 (UTC+2 to UTC+3). Friday 2026-03-27
	 * 06:30Z is 08:30 local (closed); Monday 2026-03-30 06:30Z is 09:30 local (open).
	 * 1: an agent closed it resolved; the contact came back 3 days later (no FCR).
	 * 2: an agent closed it resolved; the contact did not come back: FCR.
	 * 3: answered, then the customer left: respa closed it (customer-left, resolved).
	 * 4: answered only after the customer had left (customer-left, unresolved).
	 * 5: the return of contact 1.
	 */
	sql("INSERT INTO contacts (id, created_at) VALUES (1, 'x'), (2, 'x'), (3, 'x'), (4, 'x');"
	    "INSERT INTO conversations (id, queue, customer_jid, contact_id, agent_jid, channel, "
	    "state, created_at, assigned_at, first_response_at, closed_at, close_reason) VALUES "
	    "(1, 'support', 'a@x', 1, 'al@x', 'xmpp', 'closed', '2026-03-27T06:30:00Z', "
	    "'2026-03-27T06:30:10Z', '2026-03-27T06:31:00Z', '2026-03-27T06:40:00Z', 'agent'),"
	    "(2, 'support', 'b@x', 2, 'al@x', 'web', 'closed', '2026-03-30T06:30:00Z', "
	    "'2026-03-30T06:30:10Z', '2026-03-30T06:30:40Z', '2026-03-30T06:50:00Z', 'agent'),"
	    "(3, 'support', 'c@x', 3, 'al@x', 'web', 'closed', '2026-03-30T06:35:00Z', "
	    "'2026-03-30T06:35:10Z', '2026-03-30T06:36:00Z', '2026-03-30T06:45:00Z', "
	    "'customer-left'),"
	    "(4, 'support', 'd@x', 4, 'al@x', 'web', 'closed', '2026-03-30T06:36:00Z', "
	    "'2026-03-30T06:36:10Z', '2026-03-30T06:39:00Z', '2026-03-30T06:39:30Z', "
	    "'customer-left'),"
	    "(5, 'support', 'a@x', 1, NULL, 'xmpp', 'queued', '2026-03-30T06:40:00Z', NULL, NULL, "
	    "NULL, NULL);"
	    "INSERT INTO summaries (conversation_id, agent_jid, summary, resolved, created_at) "
	    "VALUES (1, 'al@x', 's', 1, 'x'), (2, 'al@x', 's', 1, 'x'), (3, 'al@x', 's', 1, 'x'), "
	    "(4, 'al@x', 's', 0, 'x');");
	memset(&span, 0, sizeof(span));
	CHECK_INT(export_parse_time("2026-03-27", 0, &span.since), 0);
	CHECK_INT(export_parse_time("2026-03-30", 1, &span.until), 0);
	span.fcr_days = 7;
	CHECK_INT(export_parse_time("2026-03-30T06:41:00Z", 0, &span.now), 0); /* 5 waits */
	CHECK_INT(report_compute(&r, &span, &q, 1, 300), 0);
	CHECK_INT(r.total, 5);
	CHECK_INT(r.in_hours, 4);     /* all but the Friday before nine */
	CHECK_INT(r.hour[8][1], 1);   /* 06:30Z in winter time is 08:30, closed */
	CHECK_INT(r.hour[9][0], 4);   /* 06:30Z-06:40Z in summer time are 09:xx */
	CHECK_INT(r.weekday[4], 1);   /* Friday */
	CHECK_INT(r.weekday[0], 4);   /* Monday */
	CHECK_INT(r.by_agent, 2);     /* not 3 and 4: respa closed them */
	CHECK_INT(r.resolved, 2);
	CHECK_INT(r.fcr, 1);          /* 1 came back within 7 days */
	CHECK_INT(r.first.n, 3);      /* 4's answer reached nobody */
	CHECK_INT(r.first.median, 60); /* of 40, 60, 60 */
	CHECK_INT(r.outcome[OUTCOME_ANSWERED], 3);
	CHECK_INT(r.outcome[OUTCOME_LEFT], 1);
	CHECK_INT(r.outcome[OUTCOME_WAITING], 1);
	CHECK_INT((long)r.nagents, 1);
	if (r.nagents == 1) {
		CHECK_STR(r.agents[0].jid, "al@x");
		CHECK_INT(r.agents[0].chats, 4);
		CHECK_INT(r.agents[0].closed, 2);
		CHECK_INT(r.agents[0].fcr, 1);
	}
	CHECK_INT(r.has_ratings, 1); /* migration 010 made the table */
	CHECK_INT(r.rated, 0);
	CHECK_INT(r.outbound, 0);
	report_free(&r);
	report_queues_free(&q, 1);
	/* with fcr_days 2, contact 1 came back too late to matter */
	span.fcr_days = 2;
	CHECK_INT(report_compute(&r, &span, &q, 1, 300), 0);
	CHECK_INT(r.fcr, 2);
	report_free(&r);
	report_queues_free(&q, 1);
	/* an empty period */
	CHECK_INT(export_parse_time("2020-01-01", 0, &span.since), 0);
	CHECK_INT(export_parse_time("2020-01-01", 1, &span.until), 0);
	CHECK_INT(report_compute(&r, &span, &q, 1, 300), 0);
	CHECK_INT(r.total, 0);
	CHECK_INT(r.first.n, 0);
	CHECK_INT((long)r.nagents, 0);
	report_free(&r);
	report_queues_free(&q, 1);
	hours_free(&h);
	sqlite3_close(other);
	store_close();
}

int
main(void)
{
	const char *t = getenv("TMPDIR");
	const char *suffixes[] = { "", "-wal", "-shm" };
	size_t i;

	log_init(-1, "test_report");
	snprintf(tmpdir, sizeof(tmpdir), "%s/respa-test-report-XXXXXX", t && *t ? t : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		perror(tmpdir);
		return 2;
	}
	snprintf(dbpath, sizeof(dbpath), "%s/respa.db", tmpdir);
	percentiles();
	figures();
	for (i = 0; i < 3; i++) {
		char path[600];

		snprintf(path, sizeof(path), "%s%s", dbpath, suffixes[i]);
		unlink(path);
	}
	if (rmdir(tmpdir) == -1)
		perror(tmpdir);
	return check_done();
}
