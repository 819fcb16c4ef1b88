/*
 * Data care in SQLite: the record of a conversation, export, hook deliveries, retention and
 * erasure. These calls are rare: their statements are prepared each time.
 */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "respa.h"
#include "store_int.h"

/*
 * A conversation's record as one JSON object, built by SQLite's JSON1 functions: a line of
 * `respa export` and what the [crm] hook gets. c is the conversation, s its summary.
 */
#define RECORD_JSON \
	"json_object('id', c.id, 'queue', c.queue, " \
	"'entry_queue', coalesce(c.entry_queue, c.queue), 'channel', c.channel, " \
	"'state', c.state, 'customer_jid', c.customer_jid, 'agent_jid', c.agent_jid, " \
	"'created_at', c.created_at, 'assigned_at', c.assigned_at, " \
	"'first_response_at', c.first_response_at, 'closed_at', c.closed_at, " \
	"'close_reason', c.close_reason, " \
	"'outbound', json(CASE c.outbound WHEN 1 THEN 'true' ELSE 'false' END), " \
	"'rating', json((SELECT json_object('score', r.score, 'comment', r.comment, " \
	"'asked_at', r.asked_at, 'rated_at', r.rated_at) FROM ratings r " \
	"WHERE r.conversation_id = c.id)), 'summary', s.summary, " \
	"'resolved', json(CASE s.resolved WHEN 1 THEN 'true' WHEN 0 THEN 'false' END), " \
	"'tags', json((SELECT json_group_array(tag) FROM (SELECT tag FROM conversation_tags " \
	"WHERE conversation_id = c.id ORDER BY rowid))), " \
	"'contact', json((SELECT json_object('id', k.id, 'name', k.name, 'email', k.email, " \
	"'phone', k.phone, 'company', k.company, 'identities', json((SELECT " \
	"json_group_array(json_object('kind', i.kind, 'value', i.value)) FROM (SELECT kind, " \
	"value FROM identities WHERE contact_id = k.id ORDER BY created_at, kind, value) i))) " \
	"FROM contacts k WHERE k.id = c.contact_id)), " \
	"'tasks', json((SELECT json_group_array(json_object('id', t.id, 'kind', t.kind, " \
	"'assignee', t.assignee_jid, 'title', t.title, 'details', t.details, " \
	"'due_at', t.due_at, 'status', t.status, 'created_at', t.created_at, " \
	"'done_at', t.done_at)) FROM (SELECT * FROM tasks WHERE conversation_id = c.id " \
	"ORDER BY id) t)), " \
	"'transcript', json((SELECT json_group_array(json_object('at', m.created_at, " \
	"'direction', m.direction, 'from', m.sender_jid, 'body', m.body)) FROM (SELECT " \
	"created_at, direction, sender_jid, body FROM messages WHERE conversation_id = c.id " \
	"ORDER BY id) m)), " \
	"'transcript_deleted_at', c.transcript_deleted_at)"
#define RECORD_FROM " FROM conversations c LEFT JOIN summaries s ON s.conversation_id = c.id "

/* The record of one conversation: new string, must be free()d; NULL when there is none. */
char *
store_record(int64_t conv)
{
	sqlite3_stmt *s =
	    prepare_once("record", "SELECT " RECORD_JSON RECORD_FROM "WHERE c.id = ?1");
	char *json = NULL;
	int rc;

	if (s == NULL)
		return NULL;
	sqlite3_bind_int64(s, 1, conv);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW)
		json = xstrdup((const char *)sqlite3_column_text(s, 0));
	else if (rc != SQLITE_DONE)
		db_error("record");
	sqlite3_finalize(s);
	return json;
}

/* The conversations of an export: closed in [?1, ?2), or (?3) open and begun before ?2. */
#define EXPORT_ROWS \
	"WITH r(open, at, id, j) AS (SELECT c.state <> 'closed', coalesce(c.closed_at, " \
	"c.created_at), c.id, " RECORD_JSON RECORD_FROM "WHERE (c.state = 'closed' AND " \
	"c.closed_at >= ?1 AND c.closed_at < ?2) OR (?3 AND c.state <> 'closed' AND " \
	"c.created_at < ?2)) "
#define CSV_TEXT(name) "json_extract(j, '$." name "') AS " name ", "
#define CSV_LINES(path, line, sep, name) \
	"(SELECT group_concat(" line ", " sep ") FROM " \
	"json_each(j, '$." path "')) AS " name ", "
#define CSV_ITEM(key) "json_extract(value, '$." key "')"

static const char export_jsonl_sql[] = EXPORT_ROWS "SELECT j AS record FROM r "
                                                   "ORDER BY open, at, id";
static const char export_csv_sql[] = EXPORT_ROWS "SELECT " CSV_TEXT("id") CSV_TEXT("queue") CSV_TEXT(
    "entry_queue") CSV_TEXT("channel") CSV_TEXT("state") CSV_TEXT("created_at") CSV_TEXT("assigned_at")
    CSV_TEXT("first_response_at") CSV_TEXT("closed_at") CSV_TEXT("close_reason") CSV_TEXT("customer_jid") CSV_TEXT(
        "agent_jid") "json_extract(j, '$.contact.id') AS contact_id, "
                     "json_extract(j, '$.contact.name') AS contact_name, "
                     "json_extract(j, '$.contact.email') AS contact_email, "
                     "json_extract(j, '$.contact.phone') AS contact_phone, "
                     "json_extract(j, '$.contact.company') AS contact_company, " CSV_LINES(
                         "contact.identities", CSV_ITEM("kind") " || ':' || " CSV_ITEM("value"),
                         "' '", "contact_identities") CSV_TEXT("resolved")
                         CSV_TEXT("outbound") "json_extract(j, '$.rating.score') AS rating, json_extract(j, '$.rating.comment') AS rating_comment, " CSV_TEXT(
                             "summary") CSV_LINES("tags", "value", "', '",
                             "tags") CSV_LINES("tasks",
                             "printf('#%d %s, %s, due %s, for %s: %s', " CSV_ITEM("id") ", " CSV_ITEM("kind") ", " CSV_ITEM(
                                 "status") ", coalesce(" CSV_ITEM("due_at") ", '-'), " CSV_ITEM("assignee") ", " CSV_ITEM("title") ")",
                             "char(10)", "tasks") CSV_LINES("transcript",
                             CSV_ITEM("at") " || ' ' || " CSV_ITEM("direction") " || ' ' || " CSV_ITEM(
                                 "from") " || ': ' || " CSV_ITEM("body"),
                             "char(10)",
                             "transcript") "json_extract(j, '$.transcript_deleted_at') AS transcript_deleted_at "
                                           "FROM r ORDER BY open, at, id";

/*
 * The conversations of `respa export`: those closed at or after since and before until (0:
 * unbounded) and, with open, those not closed that began before until; closed ones first,
 * oldest first. fn gets the column names once with values NULL (a CSV header), then each
 * row: with csv the CSV columns, else one column, the record's JSON. Stops when fn
 * returns -1.
 */
int
store_export_foreach(time_t since, time_t until, int open, int csv,
    int (*fn)(int n, const char *const *names, const char *const *values, void *), void *arg)
{
	sqlite3_stmt *s = prepare_once("export", csv ? export_csv_sql : export_jsonl_sql);
	const char **names, **values;
	int i, n, rc = SQLITE_DONE, ret = 0;

	if (s == NULL)
		return -1;
	if (since)
		bind_time(s, 1, since);
	else
		sqlite3_bind_text(s, 1, "", -1, SQLITE_STATIC);
	if (until)
		bind_time(s, 2, until);
	else
		sqlite3_bind_text(s, 2, "9999", -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 3, open);
	n = sqlite3_column_count(s);
	names = xcalloc((size_t)n, sizeof(*names));
	values = xcalloc((size_t)n, sizeof(*values));
	for (i = 0; i < n; i++)
		names[i] = sqlite3_column_name(s, i);
	if (fn(n, names, NULL, arg) == -1)
		ret = -1;
	while (ret == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		for (i = 0; i < n; i++)
			values[i] = (const char *)sqlite3_column_text(s, i);
		if (fn(n, names, values, arg) == -1)
			ret = -1;
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = db_error("export");
	free(names);
	free(values);
	sqlite3_finalize(s);
	return ret;
}

/* A closed conversation's record is to go to the hook: in the batch, with the close. */
int
store_hook_add(int64_t conv, time_t now)
{
	sqlite3_stmt *s;

	if (batch() == -1)
		return -1;
	s = prepare_once("hook delivery",
	    "INSERT OR IGNORE INTO hook_deliveries "
	    "(conversation_id, next_at, created_at) VALUES (?1, ?2, ?2)");
	if (s) {
		sqlite3_bind_int64(s, 1, conv);
		bind_time(s, 2, now);
	}
	return run_once("hook delivery", s);
}

/* Deliveries due at now, oldest first: how many were put in convs and attempts, or -1. */
int
store_hook_due(time_t now, int64_t *convs, int *attempts, int max)
{
	sqlite3_stmt *s = prepare_once("hook deliveries",
	    "SELECT conversation_id, attempts "
	    "FROM hook_deliveries WHERE status = 'pending' AND next_at <= ?1 "
	    "ORDER BY next_at, conversation_id LIMIT ?2");
	int n = 0, rc = SQLITE_DONE;

	if (s == NULL)
		return -1;
	bind_time(s, 1, now);
	sqlite3_bind_int(s, 2, max);
	while (n < max && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		convs[n] = sqlite3_column_int64(s, 0);
		attempts[n++] = sqlite3_column_int(s, 1);
	}
	if (n < max && rc != SQLITE_DONE)
		n = db_error("hook deliveries");
	sqlite3_finalize(s);
	return n;
}

/* When the next pending delivery is due; 0 when none is pending. */
time_t
store_hook_next(void)
{
	sqlite3_stmt *s = prepare_once("hook deliveries",
	    "SELECT min(next_at) "
	    "FROM hook_deliveries WHERE status = 'pending'");
	time_t t = 0;

	if (s == NULL)
		return 0;
	if (sqlite3_step(s) == SQLITE_ROW)
		t = column_time(s, 0);
	sqlite3_finalize(s);
	return t;
}

/* The hook took the record: the delivery is done. */
int
store_hook_done(int64_t conv)
{
	sqlite3_stmt *s;

	if (batch() == -1)
		return -1;
	if ((s = prepare_once("hook delivered",
	         "DELETE FROM hook_deliveries "
	         "WHERE conversation_id = ?1")))
		sqlite3_bind_int64(s, 1, conv);
	return run_once("hook delivered", s);
}

/* A failed attempt: the attempts made, when to try again (0: never, it failed), and why. */
int
store_hook_failed(int64_t conv, int attempts, time_t next, const char *why)
{
	sqlite3_stmt *s;

	if (batch() == -1)
		return -1;
	if ((s = prepare_once("hook failed",
	         "UPDATE hook_deliveries SET attempts = ?2, "
	         "next_at = ?3, status = CASE WHEN ?3 IS NULL THEN 'failed' ELSE 'pending' END, "
	         "last_error = ?4 WHERE conversation_id = ?1"))) {
		sqlite3_bind_int64(s, 1, conv);
		sqlite3_bind_int(s, 2, attempts);
		bind_time(s, 3, next);
		bind_text(s, 4, why);
	}
	return run_once("hook failed", s);
}

/* The oldest conversation closed before `before` that still has its transcript: id, 0, -1. */
static int64_t
retained_next(time_t before)
{
	sqlite3_stmt *s = prepare_once("retention",
	    "SELECT id FROM conversations "
	    "INDEXED BY conversations_retained WHERE transcript_deleted_at IS NULL "
	    "AND closed_at < ?1 AND state = 'closed' ORDER BY closed_at LIMIT 1");
	int64_t id = -1;
	int rc;

	if (s == NULL)
		return -1;
	bind_time(s, 1, before);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW)
		id = sqlite3_column_int64(s, 0);
	else if (rc == SQLITE_DONE)
		id = 0;
	else
		db_error("retention");
	sqlite3_finalize(s);
	return id;
}

/*
 * Retention, one batch: deletes at most `budget` messages of conversations closed before
 * `before` and marks each conversation whose transcript is gone (transcript_deleted_at);
 * summaries, tags and tasks stay. Adds what it did to *messages and *convs. 1 when there is
 * more to do, 0 when all is done, -1 on error.
 */
int
store_transcripts_delete(time_t before, time_t now, int budget, int *messages, int *convs)
{
	sqlite3_stmt *s;
	int64_t conv;
	int n;

	if (batch() == -1)
		return -1;
	while (budget > 0) {
		if ((conv = retained_next(before)) <= 0)
			return (int)conv;
		s = prepare_once("retention",
		    "DELETE FROM messages WHERE id IN (SELECT id "
		    "FROM messages WHERE conversation_id = ?1 ORDER BY id LIMIT ?2)");
		if (s) {
			sqlite3_bind_int64(s, 1, conv);
			sqlite3_bind_int(s, 2, budget);
		}
		if (run_once("retention", s) == -1)
			return -1;
		n = sqlite3_changes(store_db());
		*messages += n;
		if (n == budget)
			return 1;
		budget -= n + 1; /* a conversation without messages costs a little too */
		if ((s = prepare_once("retention",
		         "UPDATE conversations "
		         "SET transcript_deleted_at = ?2 WHERE id = ?1"))) {
			sqlite3_bind_int64(s, 1, conv);
			bind_time(s, 2, now);
		}
		if (run_once("retention", s) == -1)
			return -1;
		(*convs)++;
	}
	return 1;
}

/* The contact ?1 and every contact merged into it, as the table `erased`. */
#define ERASED \
	"WITH RECURSIVE erased(id) AS (SELECT ?1 UNION SELECT k.id FROM contacts k " \
	"JOIN erased e ON k.merged_into = e.id) "
#define ERASED_CONVS "(SELECT id FROM conversations WHERE contact_id IN erased)"

/*
 * The contacts known by value (an identity of any kind, an email, a phone, or with only
 * digits a contact id), each as the contact it was merged into: how many were put in ids
 * (at most max), or -1.
 */
int
store_contact_find(const char *value, int64_t *ids, int max)
{
	sqlite3_stmt *s = prepare_once("contact",
	    "WITH RECURSIVE m(id) AS (SELECT contact_id "
	    "FROM identities WHERE value = ?1 UNION SELECT id FROM contacts WHERE email = ?1 "
	    "COLLATE NOCASE OR phone = ?1 OR (?2 AND id = CAST(?1 AS INTEGER))), "
	    "up(id) AS (SELECT id FROM m UNION SELECT k.merged_into FROM contacts k JOIN up "
	    "ON k.id = up.id WHERE k.merged_into IS NOT NULL) "
	    "SELECT id FROM contacts WHERE id IN up AND merged_into IS NULL ORDER BY id");
	const char *p;
	int n = 0, rc = SQLITE_DONE, digits = *value != '\0';

	if (s == NULL)
		return -1;
	for (p = value; *p; p++)
		if (*p < '0' || *p > '9')
			digits = 0;
	bind_text(s, 1, value);
	sqlite3_bind_int(s, 2, digits);
	while (n < max && (rc = sqlite3_step(s)) == SQLITE_ROW)
		ids[n++] = sqlite3_column_int64(s, 0);
	if (n < max && rc != SQLITE_DONE)
		n = db_error("contact");
	sqlite3_finalize(s);
	return n;
}

/* The contact's conversations not closed (merged contacts' too), the first in *first; -1. */
int
store_contact_open_count(int64_t contact, int64_t *first)
{
	sqlite3_stmt *s = prepare_once("contact",
	    ERASED "SELECT count(*), min(id) FROM "
	           "conversations WHERE contact_id IN erased AND state <> 'closed'");
	int n = -1;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, contact);
	if (sqlite3_step(s) == SQLITE_ROW) {
		n = sqlite3_column_int(s, 0);
		*first = sqlite3_column_int64(s, 1);
	} else
		db_error("contact");
	sqlite3_finalize(s);
	return n;
}

#define ERASE_NEEDLES_MAX 64

/*
 * What identifies the contact and might sit in an index page after the rows are gone
 * (identities, email, phone, the JIDs and web sessions of their conversations): new
 * strings, at most ERASE_NEEDLES_MAX, each to free(). Returns how many, or -1.
 */
static int
erase_needles(int64_t contact, char **needles)
{
	sqlite3_stmt *s = prepare_once("erase",
	    ERASED "SELECT value FROM identities WHERE "
	           "contact_id IN erased UNION SELECT email FROM contacts WHERE id IN erased "
	           "UNION SELECT phone FROM contacts WHERE id IN erased UNION SELECT customer_jid "
	           "FROM conversations WHERE contact_id IN erased UNION SELECT session FROM "
	           "conversations WHERE contact_id IN erased");
	const char *v;
	int n = 0, rc = SQLITE_DONE;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, contact);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW && n < ERASE_NEEDLES_MAX)
		if ((v = (const char *)sqlite3_column_text(s, 0)) && strlen(v) >= 4)
			needles[n++] = xstrdup(v);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		db_error("erase");
		while (n > 0)
			free(needles[--n]);
		n = -1;
	}
	sqlite3_finalize(s);
	return n;
}

static int
erase_count(int64_t contact, struct erase_report *r)
{
	sqlite3_stmt *s = prepare_once("erase",
	    ERASED
	    "SELECT (SELECT count(*) FROM erased), "
	    "(SELECT count(*) FROM conversations WHERE contact_id IN erased), "
	    "(SELECT count(*) FROM messages WHERE conversation_id IN " ERASED_CONVS "), "
	    "(SELECT count(*) FROM tasks WHERE contact_id IN erased OR conversation_id IN " ERASED_CONVS
	    "), (SELECT count(*) FROM identities WHERE contact_id IN erased)");
	int ret = -1;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, contact);
	if (sqlite3_step(s) == SQLITE_ROW) {
		r->contacts = sqlite3_column_int(s, 0);
		r->conversations = sqlite3_column_int(s, 1);
		r->messages = sqlite3_column_int(s, 2);
		r->tasks = sqlite3_column_int(s, 3);
		r->identities = sqlite3_column_int(s, 4);
		ret = 0;
	} else
		db_error("erase");
	sqlite3_finalize(s);
	return ret;
}

/* Deletes the rows, in one transaction of its own. */
static int
erase_rows(int64_t contact)
{
	static const char *const del[] = {
		ERASED
		"DELETE FROM tasks WHERE contact_id IN erased OR conversation_id IN " ERASED_CONVS,
		ERASED "DELETE FROM conversations WHERE contact_id IN erased", /* cascades */
		ERASED "DELETE FROM contacts WHERE id IN erased",              /* cascades */
	};
	sqlite3_stmt *s;
	size_t i;

	if (exec("erase", "BEGIN IMMEDIATE") == -1)
		return -1;
	for (i = 0; i < sizeof(del) / sizeof(del[0]); i++) {
		if ((s = prepare_once("erase", del[i])))
			sqlite3_bind_int64(s, 1, contact);
		if (run_once("erase", s) == -1) {
			(void)exec("erase", "ROLLBACK");
			return -1;
		}
	}
	return exec("erase", "COMMIT");
}

/* Copies the WAL into the file and empties it; waits a while for readers. */
static int
checkpoint(void)
{
	int tries, rc = SQLITE_OK;

	for (tries = 0; tries < 3; tries++)
		if ((rc = sqlite3_wal_checkpoint_v2(store_db(), NULL, SQLITE_CHECKPOINT_TRUNCATE,
		         NULL, NULL)) != SQLITE_BUSY)
			break;
	return rc == SQLITE_OK ? 0 : db_error("checkpoint");
}

/*
 * Looks for the needles in one of the database's files, read through SQLite's own handle
 * (opening and closing the file ourselves would drop SQLite's POSIX locks): 1 with *found
 * set, 0 when none is there, -1 when it cannot be read.
 */
static int
file_holds(sqlite3_file *f, char *const *needles, int n, const char **found)
{
	enum { CHUNK = 1 << 20 };
	sqlite3_int64 size, off;
	size_t longest = 0, len;
	unsigned char *buf;
	int i, ret = 0, rc;

	if (f == NULL || f->pMethods == NULL || n == 0)
		return 0;
	if (f->pMethods->xFileSize(f, &size) != SQLITE_OK)
		return -1;
	for (i = 0; i < n; i++)
		if (strlen(needles[i]) > longest)
			longest = strlen(needles[i]);
	buf = xmalloc(CHUNK + longest);
	for (off = 0; off < size && ret == 0; off += CHUNK) {
		len = (size_t)(size - off < (sqlite3_int64)(CHUNK + longest)
		        ? size - off
		        : (sqlite3_int64)(CHUNK + longest));
		rc = f->pMethods->xRead(f, buf, (int)len, off);
		if (rc != SQLITE_OK && rc != SQLITE_IOERR_SHORT_READ) {
			ret = -1;
			break;
		}
		for (i = 0; i < n; i++)
			if (memmem(buf, len, needles[i], strlen(needles[i]))) {
				*found = needles[i];
				ret = 1;
				break;
			}
	}
	free(buf);
	return ret;
}

/* The database file and its WAL: 1 when one holds a needle (*found), 0, or -1. */
static int
files_hold(char *const *needles, int n, const char **found)
{
	static const int ops[] = { SQLITE_FCNTL_FILE_POINTER, SQLITE_FCNTL_JOURNAL_POINTER };
	sqlite3_file *f;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		f = NULL;
		if (sqlite3_file_control(store_db(), "main", ops[i], &f) != SQLITE_OK)
			f = NULL;
		if ((rc = file_holds(f, needles, n, found)) != 0) {
			if (rc == -1)
				log_warnx("database: cannot read the file back to check it");
			return rc;
		}
	}
	return 0;
}

/* After the deletes: the WAL emptied into the file, and VACUUM when the file still shows one. */
static int
scrub(char *const *needles, int n, struct erase_report *r)
{
	const char *found = NULL;
	int rc;

	if (checkpoint() == -1 || (rc = files_hold(needles, n, &found)) == -1)
		return -1;
	if (rc == 0)
		return 0;
	log_info("database: the file still holds deleted data (in an index page): VACUUM");
	if (exec("vacuum", "VACUUM") == -1 || checkpoint() == -1)
		return -1;
	r->vacuumed = 1;
	if ((rc = files_hold(needles, n, &found)) == -1)
		return -1;
	if (rc == 1) /* VACUUM keeps only live rows: another contact's record says it */
		str_copy(r->leftover, sizeof(r->leftover), found);
	return 0;
}

/*
 * Erases a contact, the contacts merged into it and all their data: identities,
 * conversations, messages, summaries, tags, tasks, reminders, merges, hook deliveries.
 * Nothing readable stays in the database file: the rows are deleted with secure_delete,
 * the WAL is checkpointed into the file and truncated, and when the file still holds one of
 * the contact's identities (an index page can keep a copy of a key), it is rewritten with
 * VACUUM. Commits the pass's batch first, and blocks for as long as all that takes (VACUUM
 * rewrites the whole file). The caller refuses while respa has one of the contact's
 * conversations open. 0 with r filled, or -1.
 */
int
store_contact_erase(int64_t contact, struct erase_report *r)
{
	char *needles[ERASE_NEEDLES_MAX];
	int n, rc = -1;

	memset(r, 0, sizeof(*r));
	if (store_commit_now() == -1)
		return -1;
	if ((n = erase_needles(contact, needles)) == -1)
		return -1;
	if (erase_count(contact, r) == 0 && exec("erase", "PRAGMA secure_delete = ON") == 0 &&
	    erase_rows(contact) == 0) {
		log_info("database: erased contact %lld (%d conversations, %d messages)",
		    (long long)contact, r->conversations, r->messages);
		rc = scrub(needles, n, r);
	}
	while (n > 0)
		free(needles[--n]);
	return rc;
}

/* --- online backup ------------------------------------------------------------------------ */

static int
backup_fail(sqlite3 *db, char *err, size_t len, const char *what)
{
	int sys = db ? sqlite3_system_errno(db) : 0; /* ENOSPC, EFBIG, EACCES... */

	snprintf(err, len, "%s: %s%s%s%s", what, db ? sqlite3_errmsg(db) : "out of memory",
	    sys ? " (" : "", sys ? strerror(sys) : "", sys ? ")" : "");
	return -1;
}

/*
 * Copies `database` into `out` (a new file) with SQLite's online backup API, as one read
 * transaction on a connection of its own: in WAL mode a reader never blocks respa's writes,
 * and the copy is the database as it was when the copy began, every commit before it included.
 * Then checks the copy (PRAGMA integrity_check). Nothing is written to `database`.
 * 0, or -1 with err set; on -1 `out` may be left half-written: the caller removes it.
 */
int
store_backup(const char *database, const char *out, int *pages, char *err, size_t len)
{
	sqlite3 *src = NULL, *dst = NULL;
	sqlite3_backup *b;
	sqlite3_stmt *s = NULL;
	const char *verdict;
	int rc = -1;

	if (sqlite3_open_v2(database, &src, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		backup_fail(src, err, len, database);
		goto done;
	}
	sqlite3_busy_timeout(src, 5000);
	if (sqlite3_open_v2(out, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK) {
		backup_fail(dst, err, len, out);
		goto done;
	}
	if ((b = sqlite3_backup_init(dst, "main", src, "main")) == NULL) {
		backup_fail(dst, err, len, out);
		goto done;
	}
	rc = sqlite3_backup_step(b, -1);
	*pages = sqlite3_backup_pagecount(b);
	sqlite3_backup_finish(b);
	if (rc != SQLITE_DONE) {
		rc = backup_fail(dst, err, len, out);
		goto done;
	}
	rc = -1;
	if (sqlite3_prepare_v2(dst, "PRAGMA integrity_check", -1, &s, NULL) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_ROW) {
		backup_fail(dst, err, len, out);
		goto done;
	}
	verdict = (const char *)sqlite3_column_text(s, 0);
	if (verdict == NULL || strcmp(verdict, "ok") != 0) {
		snprintf(err, len, "%s: the copy fails its integrity check: %s", out,
		    verdict ? verdict : "no answer");
		goto done;
	}
	rc = 0;
done:
	sqlite3_finalize(s);
	if (dst && sqlite3_close(dst) != SQLITE_OK && rc == 0)
		rc = backup_fail(dst, err, len, out);
	sqlite3_close(src);
	return rc;
}
