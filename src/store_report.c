/*
 * The report's figures in SQL (report.c turns them into one struct for `respa report` and the
 * stats command). store_report_begin() reads the period's conversations once into a temporary
 * table, one row each with what every figure needs (local hour, outcome, first response that
 * counts, first-contact resolution); the figures are aggregates over it. Statements are
 * prepared each time: the report also runs on a read-only open, which prepares nothing.
 */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "respa.h"
#include "store_int.h"

struct slot_fn {
	int (*fn)(const char *, time_t, void *);
	void *arg;
};

static struct slot_fn slot_fn;

static const char *
column_text(sqlite3_stmt *s, int i)
{
	return (const char *)sqlite3_column_text(s, i);
}

static sqlite3_stmt *
prepare(const char *text)
{
	sqlite3_stmt *s;

	if (sqlite3_prepare_v2(store_db(), text, -1, &s, NULL) != SQLITE_OK) {
		db_error("report");
		return NULL;
	}
	return s;
}

static int
exec_sql(const char *text)
{
	if (sqlite3_exec(store_db(), text, NULL, NULL, NULL) != SQLITE_OK)
		return db_error("report");
	return 0;
}

/* respa_slot(queue, unix time): the REPORT_CODE of that instant in the queue's hours. */
static void
sql_slot(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const char *q = (const char *)sqlite3_value_text(argv[0]);

	(void)argc;
	sqlite3_result_int(ctx,
	    slot_fn.fn(q ? q : "", (time_t)sqlite3_value_int64(argv[1]), slot_fn.arg));
}

static void
bind_span(sqlite3_stmt *s, const struct report_span *sp)
{
	bind_time(s, 1, sp->since);
	bind_time(s, 2, sp->until);
	bind_text(s, 3, sp->queue);
}

#define IN_QUEUE "(?3 IS NULL OR coalesce(c.entry_queue, c.queue) = ?3)"

/*
 * fr: the first response, when it reached the customer: a chat closed "customer-left" is
 * resolved exactly when an answer came before they left (conversation.c). fcr: closed
 * resolved by an agent, and the contact opened no other conversation within fcr_days.
 */
static const char rc_sql[] =
    "INSERT INTO temp.report_conv (id, q, channel, agent, code, by_agent, resolved, fcr, fr, "
    "wait, handling, outcome) "
    "WITH x AS (SELECT c.id, coalesce(c.entry_queue, c.queue) AS q, c.channel, c.contact_id, "
    "c.agent_jid AS agent, c.state, c.close_reason AS reason, c.closed_at, s.resolved, "
    "unixepoch(c.created_at) AS created, unixepoch(c.closed_at) AS closed, "
    "unixepoch(c.assigned_at) AS assigned, unixepoch(c.first_response_at) AS fr_at "
    "FROM conversations c LEFT JOIN summaries s ON s.conversation_id = c.id "
    "WHERE c.created_at >= ?1 AND c.created_at < ?2 AND " IN_QUEUE " AND NOT c.outbound), "
    "y AS (SELECT x.*, CASE WHEN fr_at IS NOT NULL AND NOT (reason IS 'customer-left' AND "
    "resolved IS 0) THEN fr_at - created END AS fr, coalesce((SELECT max_wait FROM "
    "temp.report_queues WHERE name = x.q), ?5) AS mw FROM x) "
    "SELECT id, q, channel, agent, respa_slot(q, created), reason IS 'agent', "
    "reason IS 'agent' AND resolved IS 1, "
    "CASE WHEN reason IS 'agent' AND resolved IS 1 THEN NOT EXISTS "
    "(SELECT 1 FROM conversations n WHERE n.contact_id = y.contact_id AND n.id <> y.id AND "
    "n.created_at > y.closed_at AND n.created_at <= strftime('%Y-%m-%dT%H:%M:%SZ', "
    "y.closed_at, ?4)) ELSE 0 END, fr, assigned - created, "
    "CASE WHEN state = 'closed' THEN closed - assigned END, "
    "CASE WHEN state = 'offline' OR reason IS 'offline' THEN 3 "
    "WHEN reason IS 'queue-full' THEN 4 "
    "WHEN fr IS NOT NULL AND fr <= mw THEN 0 "
    "WHEN fr IS NOT NULL THEN 1 "
    "WHEN closed IS NOT NULL THEN CASE WHEN closed - created < mw THEN 2 ELSE 1 END "
    "WHEN ?6 - created >= mw THEN 1 ELSE 5 END FROM y";

int
store_report_begin(const struct report_span *sp, const struct report_queue *qs, size_t nq,
    int default_max_wait, int (*slot)(const char *, time_t, void *), void *arg)
{
	sqlite3_stmt *s;
	char days[32];
	size_t i;
	int rc;

	store_report_end();
	slot_fn.fn = slot;
	slot_fn.arg = arg;
	if (sqlite3_create_function(store_db(), "respa_slot", 2, SQLITE_UTF8, NULL, sql_slot, NULL,
	        NULL) != SQLITE_OK)
		return db_error("report");
	if (exec_sql("CREATE TEMP TABLE report_queues (name TEXT PRIMARY KEY, max_wait INTEGER); "
	             "CREATE TEMP TABLE report_conv (id INTEGER PRIMARY KEY, q TEXT, channel TEXT, "
	             "agent TEXT, code INTEGER, by_agent INTEGER, resolved INTEGER, fcr INTEGER, "
	             "fr INTEGER, wait INTEGER, handling INTEGER, outcome INTEGER)") == -1)
		return -1;
	if ((s = prepare("INSERT OR IGNORE INTO temp.report_queues VALUES (?1, ?2)")) == NULL)
		return -1;
	for (i = 0; i < nq; i++) {
		sqlite3_bind_text(s, 1, qs[i].name, -1, SQLITE_STATIC);
		sqlite3_bind_int(s, 2, qs[i].max_wait);
		if (sqlite3_step(s) != SQLITE_DONE) {
			sqlite3_finalize(s);
			return db_error("report");
		}
		sqlite3_reset(s);
	}
	sqlite3_finalize(s);
	if ((s = prepare(rc_sql)) == NULL)
		return -1;
	bind_span(s, sp);
	snprintf(days, sizeof(days), "+%d days", sp->fcr_days);
	sqlite3_bind_text(s, 4, days, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(s, 5, default_max_wait);
	sqlite3_bind_int64(s, 6, (sqlite3_int64)sp->now);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return db_error("report");
	return 0;
}

/* A report run on its own (respa report): memory for its temporary tables, the file mapped. */
void
store_report_bulk(void)
{
	(void)sqlite3_exec(store_db(),
	    "PRAGMA temp_store = MEMORY; PRAGMA cache_size = -131072; "
	    "PRAGMA mmap_size = 4294967296",
	    NULL, NULL, NULL);
}

void
store_report_end(void)
{
	if (store_db())
		(void)sqlite3_exec(store_db(),
		    "DROP TABLE IF EXISTS temp.report_conv; "
		    "DROP TABLE IF EXISTS temp.report_queues",
		    NULL, NULL, NULL);
}

int
store_report_has_ratings(void)
{
	sqlite3_stmt *s = prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
	                          "name = 'ratings'");
	int n = 0;

	if (s == NULL)
		return 0;
	if (sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return n > 0;
}

/* Few rows each: the figures of half a million conversations are grouped here, not in C. */
static const char *const group_sql[] = {
	[RG_TAGS] = "WITH cur AS (SELECT t.tag, count(*) AS n FROM temp.report_conv r "
	            "JOIN conversation_tags t ON t.conversation_id = r.id GROUP BY 1), "
	            "prev AS (SELECT t.tag, count(*) AS n FROM conversations c "
	            "JOIN conversation_tags t ON t.conversation_id = c.id WHERE "
	            "c.created_at >= ?4 AND c.created_at < ?1 AND " IN_QUEUE " GROUP BY 1) "
	            "SELECT tag, sum(a), sum(b) FROM (SELECT tag, n AS a, 0 AS b FROM cur "
	            "UNION ALL SELECT tag, 0, n FROM prev) GROUP BY 1 ORDER BY 2 DESC, 3 DESC, 1",
	[RG_MISSED] = "SELECT m.agent_jid, count(*) FROM missed_offers m JOIN "
	              "temp.report_conv r ON r.id = m.conversation_id GROUP BY 1",
	[RG_FIRST] = "SELECT coalesce(agent, ''), code % 24, fr, count(*) FROM temp.report_conv "
	             "WHERE fr IS NOT NULL GROUP BY agent, code % 24, fr",
	[RG_WAIT] = "SELECT '', wait, count(*) FROM temp.report_conv WHERE wait IS NOT NULL "
	            "GROUP BY wait",
	[RG_RATINGS] = "SELECT r.agent, count(g.score), count(*), coalesce(sum(g.score), 0) "
	               "FROM ratings g JOIN temp.report_conv r ON r.id = g.conversation_id "
	               "WHERE r.agent IS NOT NULL GROUP BY 1 "
	               "UNION ALL SELECT '', count(g.score), count(*), coalesce(sum(g.score), 0) "
	               "FROM ratings g JOIN temp.report_conv r ON r.id = g.conversation_id",
	[RG_SCORES] = "SELECT g.score, count(*) FROM ratings g JOIN temp.report_conv r "
	              "ON r.id = g.conversation_id WHERE g.score IS NOT NULL GROUP BY 1",
};

int
store_report_groups(enum report_group which, const struct report_span *sp,
    int (*fn)(const char *, const long *, void *), void *arg)
{
	sqlite3_stmt *s = prepare(group_sql[which]);
	long v[REPORT_VALUES];
	int rc, i, n, ret = 0;

	if (s == NULL)
		return -1;
	if (which == RG_TAGS) {
		bind_span(s, sp);
		bind_time(s, 4, sp->since - (sp->until - sp->since));
	}
	n = sqlite3_column_count(s) - 1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *key = column_text(s, 0);

		for (i = 0; i < REPORT_VALUES; i++)
			v[i] = i < n ? (long)sqlite3_column_int64(s, i + 1) : 0;
		if (fn(key ? key : "", v, arg) == -1)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = db_error("report");
	sqlite3_finalize(s);
	return ret;
}

int
store_report_rows(int (*fn)(const char *, const char *, const char *, const long *, void *),
    void *arg)
{
	sqlite3_stmt *s = prepare("SELECT q, channel, agent, code, outcome, by_agent, resolved, "
	                          "fcr, handling, handling IS NOT NULL FROM temp.report_conv");
	long v[7];
	int rc, i, ret = 0;

	if (s == NULL)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *q = column_text(s, 0), *ch = column_text(s, 1), *a = column_text(s, 2);

		for (i = 0; i < 7; i++)
			v[i] = (long)sqlite3_column_int64(s, i + 3);
		if (fn(q ? q : "", ch ? ch : "", a ? a : "", v, arg) == -1)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = db_error("report");
	sqlite3_finalize(s);
	return ret;
}

/* Tasks of the period: created in it, done in it, and open past their due time at its end. */
int
store_report_tasks(const struct report_span *sp, long *created, long *done, long *overdue)
{
	sqlite3_stmt *s =
	    prepare("SELECT coalesce(sum(t.created_at >= ?1 AND t.created_at < ?2), 0), "
	            "coalesce(sum(t.status = 'done' AND t.done_at >= ?1 AND t.done_at < ?2), 0), "
	            "coalesce(sum(t.status = 'open' AND t.due_at < ?4 AND t.created_at < ?2), 0) "
	            "FROM tasks t WHERE ?3 IS NULL OR t.conversation_id IN (SELECT c.id FROM "
	            "conversations c WHERE " IN_QUEUE ")");
	int ret = 0;

	if (s == NULL)
		return -1;
	bind_span(s, sp);
	bind_time(s, 4, sp->now < sp->until ? sp->now : sp->until);
	if (sqlite3_step(s) == SQLITE_ROW) {
		*created = (long)sqlite3_column_int64(s, 0);
		*done = (long)sqlite3_column_int64(s, 1);
		*overdue = (long)sqlite3_column_int64(s, 2);
	} else
		ret = db_error("report");
	sqlite3_finalize(s);
	return ret;
}

/* Conversations agents started in the period (they are no contacts: the rest leaves them out). */
int
store_report_outbound(const struct report_span *sp, long *n)
{
	sqlite3_stmt *s = prepare("SELECT count(*) FROM conversations c WHERE c.created_at >= ?1 "
	                          "AND c.created_at < ?2 AND " IN_QUEUE " AND c.outbound");
	int ret = 0;

	if (s == NULL)
		return -1;
	bind_span(s, sp);
	if (sqlite3_step(s) == SQLITE_ROW)
		*n = (long)sqlite3_column_int64(s, 0);
	else
		ret = db_error("report");
	sqlite3_finalize(s);
	return ret;
}

int
store_report_desk_queues(int (*fn)(const char *, const char *, const char *, const char *, int,
                             void *),
    void *arg)
{
	sqlite3_stmt *s = prepare(
	    "SELECT name, hours, closed, timezone, max_wait FROM desk_queues ORDER BY name");
	int rc, ret = 0;

	if (s == NULL)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		if (fn(column_text(s, 0), column_text(s, 1), column_text(s, 2), column_text(s, 3),
		        sqlite3_column_int(s, 4), arg) == -1)
			break;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = db_error("report");
	sqlite3_finalize(s);
	return ret;
}
