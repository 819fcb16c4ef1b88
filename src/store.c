/*
 * SQLite: the only place that speaks SQL. WAL, foreign keys, numbered migrations in
 * PRAGMA user_version, every statement prepared once and bound.
 *
 * Writes join one transaction that the first write of a loop pass opens and store_commit()
 * closes at the end of the pass (group commit): the stanzas of that pass are sent after it.
 */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "respa.h"

enum stmt {
	ST_BEGIN, ST_COMMIT, ST_ROLLBACK, ST_SAVEPOINT, ST_RELEASE, ST_ROLLBACK_TO,
	ST_IDENTITY_FIND, ST_CONTACT_ADD, ST_IDENTITY_ADD, ST_CONTACT_PHONE,
	ST_CONV_ADD, ST_CONV_CUSTOMER, ST_CONV_ASSIGN, ST_CONV_FIRST_RESPONSE, ST_CONV_CLOSE,
	ST_CONV_OPEN, ST_CONV_REQUEUE, ST_CONV_STATE,
	ST_AGENT_STATUS, ST_AGENT_STATUSES, ST_TASKS_OPEN_COUNT,
	ST_MESSAGE_ADD, ST_MESSAGES, ST_FIRST_MESSAGE,
	ST_TAG_ADD, ST_TAGS,
	ST_SUMMARY_ADD, ST_TASK_ADD, ST_TASK_OPEN_FOR,
	/* the CRM side */
	ST_CONTACT_RESOLVE, ST_CONTACT_GET, ST_CONTACT_PAST, ST_CONTACT_TASKS, ST_CONTACT_EDIT,
	ST_CONTACT_FILL, ST_HISTORY, ST_LAST_AGENT,
	ST_MERGE_ADD, ST_MERGE_NOTE_IDENT, ST_MERGE_NOTE_CONV, ST_MERGE_NOTE_TASK, ST_MOVE_IDENT,
	ST_MOVE_CONV, ST_MOVE_TASK, ST_MOVE_REMINDER, ST_MERGE_FILL, ST_MERGE_MARK, ST_MERGE_GET,
	ST_UNMOVE_IDENT, ST_UNMOVE_CONV, ST_UNMOVE_TASK, ST_MERGE_UNDONE, ST_UNMARK,
	ST_TASK_DESCRIBE, ST_CONV_AGENT_TASKS, ST_TASKS_DUE, ST_TASK_REMINDED, ST_TASKS_NEXT_DUE,
	ST_TASKS_NEXT_REPEAT, ST_TASKS_OF, ST_TASK_DONE, ST_TASK_GET,
	ST_REMINDER_ADD, ST_REMINDERS_DUE, ST_REMINDER_SENT, ST_REMINDER_NEXT, ST_MERGES,
	/* the desk made by commands, canned responses, statistics */
	ST_DESK_QUEUE_PUT, ST_DESK_QUEUE_DEL, ST_DESK_QUEUES, ST_DESK_AGENT_PUT, ST_DESK_AGENT_DEL,
	ST_DESK_AGENT_MEMBERS_DEL, ST_DESK_AGENTS, ST_DESK_MEMBER_PUT, ST_DESK_MEMBER_DEL,
	ST_DESK_MEMBERS, ST_OPEN_IN_QUEUE, ST_CHATS_SINCE, ST_MISSED_ADD, ST_CANNED_PUT,
	ST_CANNED_DEL, ST_CANNED_DEL_QUEUE, ST_CANNED_GET, ST_CANNED_ALL, ST_TASKS_FILTER,
	ST_TASK_ASSIGN, ST_STATS_WAIT, ST_STATS_FIRST, ST_STATS_HANDLING, ST_STATS_QUEUE_CHANNEL,
	ST_STATS_MISSED, ST_STATS_REASONS, ST_STATS_COUNTS,
	ST_COUNT
};

static const char *const sql[ST_COUNT] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_SAVEPOINT] = "SAVEPOINT one_call",
	[ST_RELEASE] = "RELEASE one_call",
	[ST_ROLLBACK_TO] = "ROLLBACK TO one_call",
	[ST_IDENTITY_FIND] = "SELECT contact_id FROM identities WHERE kind = ?1 AND value = ?2 "
	    "AND verified",
	[ST_CONTACT_ADD] = "INSERT INTO contacts (created_at) VALUES (?1)",
	/* a verified identity takes over one only written in a chat, nothing else */
	[ST_IDENTITY_ADD] = "INSERT INTO identities (contact_id, kind, value, created_at, verified) "
	    "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (kind, value) DO UPDATE SET "
	    "contact_id = excluded.contact_id, created_at = excluded.created_at, verified = 1 "
	    "WHERE excluded.verified AND NOT identities.verified",
	[ST_CONTACT_PHONE] = "UPDATE contacts SET phone = ?2 WHERE id = ?1 AND (phone IS NULL OR "
	    "NOT EXISTS (SELECT 1 FROM identities WHERE contact_id = ?1 AND kind = 'phone' AND "
	    "value = contacts.phone AND verified))",
	[ST_CONV_ADD] = "INSERT INTO conversations (queue, customer_jid, contact_id, channel, "
	    "state, created_at, session) VALUES (?1, ?2, ?3, ?4, ?6, ?5, ?7)",
	[ST_CONV_CUSTOMER] = "UPDATE conversations SET customer_jid = ?2 WHERE id = ?1",
	[ST_CONV_ASSIGN] = "UPDATE conversations SET agent_jid = ?2, state = 'active', "
	    "assigned_at = coalesce(assigned_at, ?3) WHERE id = ?1",
	[ST_CONV_FIRST_RESPONSE] = "UPDATE conversations SET first_response_at = ?2 "
	    "WHERE id = ?1 AND first_response_at IS NULL",
	[ST_CONV_CLOSE] = "UPDATE conversations SET state = 'closed', closed_at = ?2, "
	    "close_reason = ?3 WHERE id = ?1 AND state <> 'closed'",
	[ST_CONV_OPEN] = "SELECT id, queue, customer_jid, contact_id, agent_jid, channel, state, "
	    "created_at, assigned_at, first_response_at, coalesce(entry_queue, queue), session "
	    "FROM conversations WHERE state <> 'closed' ORDER BY id",
	[ST_CONV_REQUEUE] = "UPDATE conversations SET state = 'queued', agent_jid = NULL, "
	    "entry_queue = coalesce(entry_queue, queue), queue = ?2 WHERE id = ?1",
	[ST_CONV_STATE] = "UPDATE conversations SET state = ?2 WHERE id = ?1",
	[ST_AGENT_STATUS] = "INSERT INTO agent_status (jid, paused, reason, updated_at) "
	    "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (jid) DO UPDATE SET paused = excluded.paused, "
	    "reason = excluded.reason, updated_at = excluded.updated_at",
	[ST_AGENT_STATUSES] = "SELECT jid, paused, reason FROM agent_status",
	[ST_TASKS_OPEN_COUNT] = "SELECT count(*) FROM tasks WHERE assignee_jid = ?1 "
	    "AND kind = ?2 AND status = 'open'",
	[ST_MESSAGE_ADD] = "INSERT INTO messages (conversation_id, direction, sender_jid, body, "
	    "created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
	[ST_MESSAGES] = "SELECT direction, sender_jid, body, created_at FROM messages "
	    "WHERE conversation_id = ?1 ORDER BY id",
	[ST_FIRST_MESSAGE] = "SELECT body FROM messages WHERE conversation_id = ?1 "
	    "AND direction = 'in' ORDER BY id LIMIT 1",
	[ST_TAG_ADD] = "INSERT OR IGNORE INTO conversation_tags (conversation_id, tag) "
	    "VALUES (?1, ?2)",
	[ST_TAGS] = "SELECT group_concat(tag, ', ') FROM "
	    "(SELECT tag FROM conversation_tags WHERE conversation_id = ?1 ORDER BY rowid)",
	[ST_SUMMARY_ADD] = "INSERT INTO summaries (conversation_id, agent_jid, summary, tags, "
	    "resolved, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[ST_TASK_ADD] = "INSERT INTO tasks (conversation_id, contact_id, assignee_jid, kind, title, "
	    "due_at, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[ST_TASK_OPEN_FOR] = "SELECT id FROM tasks WHERE contact_id = ?1 AND status = 'open' "
	    "AND assignee_jid = ?2 AND kind = ?3 ORDER BY id LIMIT 1",
};

/* The CRM side: contacts, merges, history, tasks and reminders. */
#define TASK_COLUMNS "t.id, t.assignee_jid, t.kind, t.title, coalesce(t.details, ''), " \
	"t.due_at, coalesce(t.contact_id, 0), coalesce(t.conversation_id, 0), " \
	"t.reminded_at IS NOT NULL, t.status, t.created_at"
/* 1 when the contact's field holds a verified identity of its own */
#define VERIFIED(field) "EXISTS (SELECT 1 FROM identities i WHERE i.contact_id = k.id AND " \
	"i.kind = '" field "' AND i.value = k." field " AND i.verified)"
static const char *const crm_sql[ST_COUNT] = {
	[ST_CONTACT_RESOLVE] = "SELECT merged_into FROM contacts WHERE id = ?1",
	[ST_CONTACT_GET] = "SELECT coalesce(name, ''), coalesce(email, ''), coalesce(phone, ''), "
	    "coalesce(company, ''), " VERIFIED("email") ", " VERIFIED("phone") " FROM contacts k "
	    "WHERE id = ?1",
	[ST_CONTACT_PAST] = "SELECT count(*), (SELECT s.summary FROM conversations c2 "
	    "JOIN summaries s ON s.conversation_id = c2.id WHERE c2.contact_id = ?1 "
	    "AND c2.id <> ?2 ORDER BY c2.closed_at DESC, c2.id DESC LIMIT 1) "
	    "FROM conversations WHERE contact_id = ?1 AND state = 'closed' AND id <> ?2",
	[ST_CONTACT_TASKS] = "SELECT count(*), (SELECT title FROM tasks WHERE contact_id = ?1 "
	    "AND status = 'open' ORDER BY due_at IS NULL, due_at LIMIT 1) FROM tasks "
	    "WHERE contact_id = ?1 AND status = 'open'",
	[ST_CONTACT_EDIT] = "UPDATE contacts SET name = coalesce(?2, name), "
	    "email = coalesce(?3, email), phone = coalesce(?4, phone), "
	    "company = coalesce(?5, company) WHERE id = ?1",
	[ST_CONTACT_FILL] = "UPDATE contacts SET email = coalesce(email, ?2), "
	    "phone = coalesce(phone, ?3) WHERE id = ?1",
	[ST_HISTORY] = "SELECT c.id, c.queue, c.channel, coalesce(c.agent_jid, ''), c.closed_at, "
	    "coalesce(s.summary, '') FROM conversations c LEFT JOIN summaries s "
	    "ON s.conversation_id = c.id WHERE c.contact_id = ?1 AND c.state = 'closed' "
	    "ORDER BY c.closed_at DESC, c.id DESC LIMIT ?2",
	[ST_LAST_AGENT] = "SELECT agent_jid FROM conversations WHERE contact_id = ?1 "
	    "AND queue = ?2 AND state = 'closed' AND agent_jid IS NOT NULL "
	    "ORDER BY closed_at DESC, id DESC LIMIT 1",
	[ST_MERGE_ADD] = "INSERT INTO merges (kept_id, merged_id, reason, created_at) "
	    "VALUES (?1, ?2, ?3, ?4)",
	[ST_MERGE_NOTE_IDENT] = "INSERT INTO merge_moves (merge_id, what, kind, value) "
	    "SELECT ?1, 'identity', kind, value FROM identities WHERE contact_id = ?2",
	[ST_MERGE_NOTE_CONV] = "INSERT INTO merge_moves (merge_id, what, value) "
	    "SELECT ?1, 'conversation', id FROM conversations WHERE contact_id = ?2",
	[ST_MERGE_NOTE_TASK] = "INSERT INTO merge_moves (merge_id, what, value) "
	    "SELECT ?1, 'task', id FROM tasks WHERE contact_id = ?2",
	[ST_MOVE_IDENT] = "UPDATE identities SET contact_id = ?1 WHERE contact_id = ?2",
	[ST_MOVE_CONV] = "UPDATE conversations SET contact_id = ?1 WHERE contact_id = ?2",
	[ST_MOVE_TASK] = "UPDATE tasks SET contact_id = ?1 WHERE contact_id = ?2",
	[ST_MOVE_REMINDER] = "UPDATE reminders SET contact_id = ?1 WHERE contact_id = ?2",
	[ST_MERGE_FILL] = "UPDATE contacts SET "
	    "name = coalesce(name, (SELECT name FROM contacts WHERE id = ?2)), "
	    "email = coalesce(email, (SELECT email FROM contacts WHERE id = ?2)), "
	    "phone = coalesce(phone, (SELECT phone FROM contacts WHERE id = ?2)), "
	    "company = coalesce(company, (SELECT company FROM contacts WHERE id = ?2)) "
	    "WHERE id = ?1",
	[ST_MERGE_MARK] = "UPDATE contacts SET merged_into = ?1 WHERE id = ?2",
	[ST_MERGE_GET] = "SELECT kept_id, merged_id FROM merges WHERE id = ?1 "
	    "AND undone_at IS NULL",
	[ST_UNMOVE_IDENT] = "UPDATE identities SET contact_id = ?2 WHERE contact_id = ?1 AND "
	    "(kind, value) IN (SELECT kind, value FROM merge_moves WHERE merge_id = ?3 "
	    "AND what = 'identity')",
	[ST_UNMOVE_CONV] = "UPDATE conversations SET contact_id = ?2 WHERE contact_id = ?1 AND "
	    "id IN (SELECT CAST(value AS INTEGER) FROM merge_moves WHERE merge_id = ?3 "
	    "AND what = 'conversation')",
	[ST_UNMOVE_TASK] = "UPDATE tasks SET contact_id = ?2 WHERE contact_id = ?1 AND "
	    "id IN (SELECT CAST(value AS INTEGER) FROM merge_moves WHERE merge_id = ?3 "
	    "AND what = 'task')",
	[ST_MERGE_UNDONE] = "UPDATE merges SET undone_at = ?2 WHERE id = ?1",
	[ST_UNMARK] = "UPDATE contacts SET merged_into = NULL WHERE id = ?1",
	[ST_TASK_DESCRIBE] = "UPDATE tasks SET details = ?2, created_by = ?3 WHERE id = ?1",
	[ST_CONV_AGENT_TASKS] = "SELECT count(*) FROM tasks WHERE conversation_id = ?1 "
	    "AND created_by IS NOT NULL",
	[ST_TASKS_DUE] = "SELECT " TASK_COLUMNS " FROM tasks t WHERE t.status = 'open' "
	    "AND t.due_at <= ?1 AND (t.reminded_at IS NULL OR t.reminded_at <= ?2) "
	    "AND (?3 IS NULL OR t.assignee_jid = ?3) ORDER BY t.due_at LIMIT 100",
	[ST_TASK_REMINDED] = "UPDATE tasks SET reminded_at = ?2 WHERE id = ?1",
	[ST_TASKS_NEXT_DUE] = "SELECT min(due_at) FROM tasks WHERE status = 'open' "
	    "AND reminded_at IS NULL AND due_at > ?1",
	[ST_TASKS_NEXT_REPEAT] = "SELECT min(reminded_at) FROM tasks WHERE status = 'open' "
	    "AND reminded_at > ?1",
	[ST_TASKS_OF] = "SELECT " TASK_COLUMNS " FROM tasks t WHERE t.assignee_jid = ?1 "
	    "AND t.status = 'open' ORDER BY t.due_at IS NULL, t.due_at, t.id LIMIT 50",
	[ST_TASK_DONE] = "UPDATE tasks SET status = 'done', done_at = ?3 WHERE id = ?1 "
	    "AND status = 'open' AND (?2 IS NULL OR assignee_jid = ?2)",
	[ST_TASK_GET] = "SELECT " TASK_COLUMNS " FROM tasks t WHERE t.id = ?1",
	[ST_REMINDER_ADD] = "INSERT INTO reminders (conversation_id, contact_id, from_jid, to_jid, "
	    "body, created_by, due_at, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[ST_REMINDERS_DUE] = "SELECT id, from_jid, to_jid, body FROM reminders "
	    "WHERE sent_at IS NULL AND due_at <= ?1 ORDER BY due_at LIMIT 100",
	[ST_REMINDER_SENT] = "UPDATE reminders SET sent_at = ?2 WHERE id = ?1",
	[ST_REMINDER_NEXT] = "SELECT min(due_at) FROM reminders WHERE sent_at IS NULL",
	[ST_MERGES] = "SELECT id, kept_id, merged_id, reason, created_at FROM merges "
	    "WHERE undone_at IS NULL ORDER BY id DESC LIMIT ?1",
};

static sqlite3 *db;
static sqlite3_stmt *stmts[ST_COUNT];
static int in_batch;
static uint64_t batch_seq; /* counts batches: store_batch_id() */
static int commit_lost;    /* a commit inside the pass failed: its own commit fails too */

static const char *const desk_sql[ST_COUNT]; /* at the end, with the desk's functions */

static const char *
stmt_sql(size_t i)
{
	return sql[i] ? sql[i] : crm_sql[i] ? crm_sql[i] : desk_sql[i];
}

static int
db_error(const char *what)
{
	log_warnx("database: %s: %s", what, sqlite3_errmsg(db));
	return -1;
}

/* Binds text, or NULL for a NULL pointer. */
static void
bind_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, i);
}

/* Binds a time as UTC ISO-8601 text, or NULL for 0. */
static void
bind_time(sqlite3_stmt *s, int i, time_t t)
{
	char ts[32];

	if (t == 0) {
		sqlite3_bind_null(s, i);
		return;
	}
	time_iso(t, ts);
	sqlite3_bind_text(s, i, ts, -1, SQLITE_TRANSIENT);
}

static time_t
column_time(sqlite3_stmt *s, int i)
{
	time_t t = 0;

	if (sqlite3_column_type(s, i) != SQLITE_NULL)
		(void)time_parse_iso((const char *)sqlite3_column_text(s, i), &t);
	return t;
}

/* Runs a statement that returns no rows; 0 / -1. */
static int
run(enum stmt id)
{
	sqlite3_stmt *s = stmts[id];
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_DONE)
		return db_error(stmt_sql(id));
	return 0;
}

/* Opens the batch transaction if this pass has not yet. */
static int
batch(void)
{
	if (in_batch)
		return 0;
	if (run(ST_BEGIN) == -1)
		return -1;
	in_batch = 1;
	batch_seq++;
	return 0;
}

int
store_commit(void)
{
	if (commit_lost) { /* store_contact_erase() could not commit the first part of the pass */
		commit_lost = 0;
		if (in_batch)
			(void)run(ST_ROLLBACK);
		in_batch = 0;
		return -1;
	}
	if (!in_batch)
		return 0;
	in_batch = 0;
	if (run(ST_COMMIT) == -1) {
		if (!sqlite3_get_autocommit(db)) /* an I/O error may have rolled it back already */
			(void)run(ST_ROLLBACK);
		return -1;
	}
	return 0;
}

static int
exec(const char *what, const char *text)
{
	char *err = NULL;

	if (sqlite3_exec(db, text, NULL, NULL, &err) != SQLITE_OK) {
		log_warnx("database: %s: %s", what, err ? err : sqlite3_errmsg(db));
		sqlite3_free(err);
		return -1;
	}
	return 0;
}

int
store_user_version(void)
{
	sqlite3_stmt *s;
	int v = -1;

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return v;
}

/* Each migration and its version bump commit together, so a crash never half-applies one. */
static int
migrate(void)
{
	int have = store_user_version();
	size_t i;

	if (have < 0)
		return db_error("user_version");
	if (nmigrations && have > migrations[nmigrations - 1].version) {
		log_warnx("database: schema version %d is newer than this respa knows (%d)", have,
		    migrations[nmigrations - 1].version);
		return -1;
	}
	for (i = 0; i < nmigrations; i++) {
		char *bump;
		int rc;

		if (migrations[i].version <= have)
			continue;
		bump = xasprintf("PRAGMA user_version = %d", migrations[i].version);
		rc = exec("begin", "BEGIN IMMEDIATE");
		if (rc == 0 && (exec(migrations[i].name, migrations[i].sql) == -1 ||
		    exec("user_version", bump) == -1 || exec("commit", "COMMIT") == -1)) {
			(void)exec("rollback", "ROLLBACK");
			rc = -1;
		}
		free(bump);
		if (rc == -1)
			return -1;
		log_info("database: applied %s", migrations[i].name);
	}
	return 0;
}

/*
 * SQLite opens a file it may not write read-only without a word, and respa would then say
 * "ready" and refuse every message: a start-up error instead.
 */
static int
refuse_readonly(const char *path)
{
	if (sqlite3_db_readonly(db, "main") != 1)
		return 0;
	log_warnx("database %s is read-only: respa must be able to write it, and its directory "
	    "for the -wal and -shm files", path);
	return -1;
}

/* A real write (the schema version, written again): the -wal file, directory and disk take one. */
static int
write_probe(const char *path)
{
	char *probe = xasprintf("BEGIN IMMEDIATE; PRAGMA user_version = %d; COMMIT",
	    store_user_version());
	int rc = sqlite3_exec(db, probe, NULL, NULL, NULL);

	free(probe);
	if (rc == SQLITE_OK)
		return 0;
	log_warnx("database %s: respa cannot write it: %s (check the permissions of the file, "
	    "its -wal and -shm files and its directory, and the free space)", path,
	    sqlite3_errmsg(db));
	(void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

int
store_open(const char *path, int synchronous_full)
{
	size_t i;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK) {
		log_warnx("database %s: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		db = NULL;
		return -1;
	}
	sqlite3_busy_timeout(db, 5000);
	/* NORMAL in WAL mode survives a crash of respa; FULL also a power cut. secure_delete:
	 * what is deleted is overwritten, so no stale copy outlives an erased contact. */
	if (refuse_readonly(path) == -1 || write_probe(path) == -1 ||
	    exec("pragmas", "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; "
	    "PRAGMA secure_delete = ON") == -1 ||
	    exec("pragmas", synchronous_full ? "PRAGMA synchronous = FULL" :
	    "PRAGMA synchronous = NORMAL") == -1 || migrate() == -1) {
		store_close();
		return -1;
	}
	for (i = 0; i < ST_COUNT; i++)
		if (sqlite3_prepare_v3(db, stmt_sql(i), -1, SQLITE_PREPARE_PERSISTENT, &stmts[i],
		    NULL) != SQLITE_OK) {
			db_error(stmt_sql(i));
			store_close();
			return -1;
		}
	return 0;
}

void
store_close(void)
{
	size_t i;

	if (db == NULL)
		return;
	if (store_commit() == -1)
		log_warnx("database: the last batch was lost");
	for (i = 0; i < ST_COUNT; i++) {
		sqlite3_finalize(stmts[i]);
		stmts[i] = NULL;
	}
	sqlite3_close(db);
	db = NULL;
}

/* Runs an INSERT and returns the new row id, or -1. */
static int64_t
insert(enum stmt id)
{
	if (run(id) == -1)
		return -1;
	return sqlite3_last_insert_rowid(db);
}

/* The contact a verified identity belongs to: its id, 0 when none, -1 on error. */
static int64_t
contact_of(const struct identity *ident)
{
	sqlite3_stmt *s = stmts[ST_IDENTITY_FIND];
	int64_t id = 0;
	int rc;

	bind_text(s, 1, ident->kind);
	bind_text(s, 2, ident->value);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW)
		id = sqlite3_column_int64(s, 0);
	else if (rc != SQLITE_DONE)
		id = db_error("identity");
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return id;
}

/*
 * The contact known by the first of these identities seen before (created when none was),
 * with every identity given recorded on it. An identity that belongs to another contact
 * stays there. A "phone" identity also fills the contact's phone when it has none.
 */
int64_t
store_contact_for(const struct identity *ids, size_t n, time_t now, int *created)
{
	sqlite3_stmt *s;
	int64_t id = 0;
	size_t i;

	if (batch() == -1)
		return -1;
	for (i = 0; i < n && id == 0; i++)
		if ((id = contact_of(&ids[i])) == -1)
			return -1;
	if (created)
		*created = id == 0;
	if (id == 0) {
		bind_time(stmts[ST_CONTACT_ADD], 1, now);
		if ((id = insert(ST_CONTACT_ADD)) == -1)
			return -1;
	}
	for (i = 0; i < n; i++) {
		s = stmts[ST_IDENTITY_ADD];
		sqlite3_bind_int64(s, 1, id);
		bind_text(s, 2, ids[i].kind);
		bind_text(s, 3, ids[i].value);
		bind_time(s, 4, now);
		sqlite3_bind_int(s, 5, 1);
		if (run(ST_IDENTITY_ADD) == -1)
			return -1;
		if (strcmp(ids[i].kind, "phone") == 0) {
			sqlite3_bind_int64(stmts[ST_CONTACT_PHONE], 1, id);
			bind_text(stmts[ST_CONTACT_PHONE], 2, ids[i].value);
			if (run(ST_CONTACT_PHONE) == -1)
				return -1;
		}
	}
	return id;
}

/* The contact seen under this JID, created on first sight. */
int64_t
store_contact_for_jid(const char *jid, time_t now)
{
	struct identity ident = { "jid", jid };

	return store_contact_for(&ident, 1, now, NULL);
}

int64_t
store_conv_add(const char *queue, const char *customer, int64_t contact_id, const char *channel,
    const char *state, const char *session, time_t now)
{
	sqlite3_stmt *s = stmts[ST_CONV_ADD];

	if (batch() == -1)
		return -1;
	bind_text(s, 1, queue);
	bind_text(s, 2, customer);
	sqlite3_bind_int64(s, 3, contact_id);
	bind_text(s, 4, channel);
	bind_time(s, 5, now);
	bind_text(s, 6, state);
	bind_text(s, 7, session);
	return insert(ST_CONV_ADD);
}

/* Back into a waiting line (queue), without an agent; the entry queue is kept. */
int
store_conv_requeue(int64_t id, const char *queue)
{
	if (batch() == -1)
		return -1;
	sqlite3_bind_int64(stmts[ST_CONV_REQUEUE], 1, id);
	bind_text(stmts[ST_CONV_REQUEUE], 2, queue);
	return run(ST_CONV_REQUEUE);
}

int
store_conv_state(int64_t id, const char *state)
{
	if (batch() == -1)
		return -1;
	sqlite3_bind_int64(stmts[ST_CONV_STATE], 1, id);
	bind_text(stmts[ST_CONV_STATE], 2, state);
	return run(ST_CONV_STATE);
}

int
store_agent_status(const char *jid, int paused, const char *reason, time_t now)
{
	sqlite3_stmt *s = stmts[ST_AGENT_STATUS];

	if (batch() == -1)
		return -1;
	bind_text(s, 1, jid);
	sqlite3_bind_int(s, 2, paused);
	bind_text(s, 3, reason);
	bind_time(s, 4, now);
	return run(ST_AGENT_STATUS);
}

/* Calls fn for each agent's stored status; stops when fn returns -1. */
int
store_agent_status_foreach(int (*fn)(const char *, int, const char *, void *), void *arg)
{
	sqlite3_stmt *s = stmts[ST_AGENT_STATUSES];
	int rc, ret = 0;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		if (fn((const char *)sqlite3_column_text(s, 0), sqlite3_column_int(s, 1),
		    (const char *)sqlite3_column_text(s, 2), arg) == -1) {
			ret = -1;
			break;
		}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = db_error("agent status");
	sqlite3_reset(s);
	return ret;
}

/* Open tasks of this kind for an assignee (an agent's or a queue's JID); -1 on error. */
int
store_tasks_open_count(const char *assignee, const char *kind)
{
	sqlite3_stmt *s = stmts[ST_TASKS_OPEN_COUNT];
	int n = -1;

	bind_text(s, 1, assignee);
	bind_text(s, 2, kind);
	if (sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int(s, 0);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return n;
}

int
store_conv_customer(int64_t id, const char *customer)
{
	if (batch() == -1)
		return -1;
	sqlite3_bind_int64(stmts[ST_CONV_CUSTOMER], 1, id);
	bind_text(stmts[ST_CONV_CUSTOMER], 2, customer);
	return run(ST_CONV_CUSTOMER);
}

int
store_conv_assign(int64_t id, const char *agent, time_t now)
{
	sqlite3_stmt *s = stmts[ST_CONV_ASSIGN];

	if (batch() == -1)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	bind_text(s, 2, agent);
	bind_time(s, 3, now);
	return run(ST_CONV_ASSIGN);
}

int
store_conv_first_response(int64_t id, time_t now)
{
	if (batch() == -1)
		return -1;
	sqlite3_bind_int64(stmts[ST_CONV_FIRST_RESPONSE], 1, id);
	bind_time(stmts[ST_CONV_FIRST_RESPONSE], 2, now);
	return run(ST_CONV_FIRST_RESPONSE);
}

int
store_message_add(int64_t conv, const char *direction, const char *sender, const char *body,
    time_t now)
{
	sqlite3_stmt *s = stmts[ST_MESSAGE_ADD];

	if (batch() == -1)
		return -1;
	sqlite3_bind_int64(s, 1, conv);
	bind_text(s, 2, direction);
	bind_text(s, 3, sender);
	bind_text(s, 4, body);
	bind_time(s, 5, now);
	return run(ST_MESSAGE_ADD);
}

int
store_tag_add(int64_t conv, const char *tag)
{
	if (batch() == -1)
		return -1;
	sqlite3_bind_int64(stmts[ST_TAG_ADD], 1, conv);
	bind_text(stmts[ST_TAG_ADD], 2, tag);
	return run(ST_TAG_ADD);
}

/* Runs a one-row, one-column query on a conversation id: new string or NULL. */
static char *
text_for(enum stmt id, int64_t conv)
{
	sqlite3_stmt *s = stmts[id];
	char *v = NULL;

	sqlite3_bind_int64(s, 1, conv);
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL)
		v = xstrdup((const char *)sqlite3_column_text(s, 0));
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return v;
}

char *
store_tags(int64_t conv)
{
	return text_for(ST_TAGS, conv);
}

char *
store_first_message(int64_t conv)
{
	return text_for(ST_FIRST_MESSAGE, conv);
}

int64_t
store_task_add(int64_t conv, int64_t contact, const char *assignee, const char *kind,
    const char *title, time_t due, time_t now)
{
	sqlite3_stmt *s = stmts[ST_TASK_ADD];

	if (batch() == -1)
		return -1;
	if (conv > 0)
		sqlite3_bind_int64(s, 1, conv);
	else
		sqlite3_bind_null(s, 1);
	if (contact > 0)
		sqlite3_bind_int64(s, 2, contact);
	else
		sqlite3_bind_null(s, 2);
	bind_text(s, 3, assignee);
	bind_text(s, 4, kind);
	bind_text(s, 5, title);
	bind_time(s, 6, due);
	bind_time(s, 7, now);
	return insert(ST_TASK_ADD);
}

int64_t
store_task_open_for(int64_t contact, const char *assignee, const char *kind)
{
	sqlite3_stmt *s = stmts[ST_TASK_OPEN_FOR];
	int64_t id = 0;
	int rc;

	sqlite3_bind_int64(s, 1, contact);
	bind_text(s, 2, assignee);
	bind_text(s, 3, kind);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW)
		id = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_error(stmt_sql(ST_TASK_OPEN_FOR));
	return id;
}

/* The conversation closed and its summary, together or not at all. */
int
store_conv_close(int64_t id, const char *reason, const char *agent, const char *summary,
    const char *tags, int resolved, time_t now)
{
	sqlite3_stmt *s;

	if (batch() == -1 || run(ST_SAVEPOINT) == -1)
		return -1;
	s = stmts[ST_CONV_CLOSE];
	sqlite3_bind_int64(s, 1, id);
	bind_time(s, 2, now);
	bind_text(s, 3, reason);
	if (run(ST_CONV_CLOSE) == -1)
		goto fail;
	if (sqlite3_changes(db) == 0) { /* closed already: it has its summary */
		(void)run(ST_RELEASE);
		return -1;
	}
	s = stmts[ST_SUMMARY_ADD];
	sqlite3_bind_int64(s, 1, id);
	bind_text(s, 2, agent);
	bind_text(s, 3, summary);
	bind_text(s, 4, tags ? tags : "");
	sqlite3_bind_int(s, 5, resolved);
	bind_time(s, 6, now);
	if (run(ST_SUMMARY_ADD) == -1)
		goto fail;
	return run(ST_RELEASE);
fail:
	(void)run(ST_ROLLBACK_TO);
	(void)run(ST_RELEASE);
	return -1;
}

/* Calls fn for each conversation not closed, oldest first; stops when fn returns -1. */
int
store_conv_open_foreach(int (*fn)(const struct stored_conv *, void *), void *arg)
{
	sqlite3_stmt *s = stmts[ST_CONV_OPEN];
	struct stored_conv c;
	int rc, ret = 0;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		c.id = sqlite3_column_int64(s, 0);
		c.queue = (const char *)sqlite3_column_text(s, 1);
		c.customer_jid = (const char *)sqlite3_column_text(s, 2);
		c.contact_id = sqlite3_column_int64(s, 3);
		c.agent_jid = (const char *)sqlite3_column_text(s, 4);
		c.channel = (const char *)sqlite3_column_text(s, 5);
		c.state = (const char *)sqlite3_column_text(s, 6);
		c.created_at = column_time(s, 7);
		c.assigned_at = column_time(s, 8);
		c.first_response_at = column_time(s, 9);
		c.entry_queue = (const char *)sqlite3_column_text(s, 10);
		c.session = (const char *)sqlite3_column_text(s, 11);
		if (fn(&c, arg) == -1) {
			ret = -1;
			break;
		}
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = db_error("open conversations");
	sqlite3_reset(s);
	return ret;
}

/* Calls fn for each message of a conversation in order; stops when fn returns -1. */
int
store_messages_foreach(int64_t conv, int (*fn)(const struct stored_message *, void *), void *arg)
{
	sqlite3_stmt *s = stmts[ST_MESSAGES];
	struct stored_message m;
	int rc, ret = 0;

	sqlite3_bind_int64(s, 1, conv);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		m.direction = (const char *)sqlite3_column_text(s, 0);
		m.sender_jid = (const char *)sqlite3_column_text(s, 1);
		m.body = (const char *)sqlite3_column_text(s, 2);
		m.created_at = column_time(s, 3);
		if (fn(&m, arg) == -1) {
			ret = -1;
			break;
		}
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = db_error("messages");
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return ret;
}

/* --- the CRM side ----------------------------------------------------------------------- */

/* Steps a prepared statement; returns the stepped statement or NULL when no row came. */
static sqlite3_stmt *
row(enum stmt id)
{
	sqlite3_stmt *s = stmts[id];
	int rc = sqlite3_step(s);

	if (rc == SQLITE_ROW)
		return s;
	if (rc != SQLITE_DONE)
		db_error(stmt_sql(id));
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return NULL;
}

static void
done(enum stmt id)
{
	sqlite3_reset(stmts[id]);
	sqlite3_clear_bindings(stmts[id]);
}

static void
copy_column(sqlite3_stmt *s, int i, char *buf, size_t len)
{
	const char *t = (const char *)sqlite3_column_text(s, i);

	str_copy(buf, len, t ? t : "");
}

/* The contact that now holds id's data: id itself, or the one it was merged into. */
int64_t
store_contact_resolve(int64_t id)
{
	sqlite3_stmt *s;
	int hops;

	for (hops = 0; hops < 16 && id > 0; hops++) {
		sqlite3_bind_int64(stmts[ST_CONTACT_RESOLVE], 1, id);
		if ((s = row(ST_CONTACT_RESOLVE)) == NULL)
			break;
		if (sqlite3_column_type(s, 0) == SQLITE_NULL) {
			done(ST_CONTACT_RESOLVE);
			break;
		}
		id = sqlite3_column_int64(s, 0);
		done(ST_CONTACT_RESOLVE);
	}
	return id;
}

/* The contact's own fields only: for a contact too new to have a history. */
int
store_contact_fields(int64_t contact, struct contact_card *k)
{
	sqlite3_stmt *s;

	memset(k, 0, sizeof(*k));
	k->id = contact = store_contact_resolve(contact);
	sqlite3_bind_int64(stmts[ST_CONTACT_GET], 1, contact);
	if ((s = row(ST_CONTACT_GET)) == NULL)
		return -1;
	copy_column(s, 0, k->name, sizeof(k->name));
	copy_column(s, 1, k->email, sizeof(k->email));
	copy_column(s, 2, k->phone, sizeof(k->phone));
	copy_column(s, 3, k->company, sizeof(k->company));
	k->email_verified = sqlite3_column_int(s, 4);
	k->phone_verified = sqlite3_column_int(s, 5);
	done(ST_CONTACT_GET);
	return 0;
}

/* The card of a contact; exclude: the conversation being offered, not counted as earlier. */
int
store_contact_card(int64_t contact, int64_t exclude, struct contact_card *k)
{
	sqlite3_stmt *s;

	if (store_contact_fields(contact, k) == -1)
		return -1;
	contact = k->id;
	sqlite3_bind_int64(stmts[ST_CONTACT_PAST], 1, contact);
	sqlite3_bind_int64(stmts[ST_CONTACT_PAST], 2, exclude);
	if ((s = row(ST_CONTACT_PAST)) != NULL) {
		k->conversations = sqlite3_column_int(s, 0);
		copy_column(s, 1, k->last_summary, sizeof(k->last_summary));
		done(ST_CONTACT_PAST);
	}
	sqlite3_bind_int64(stmts[ST_CONTACT_TASKS], 1, contact);
	if ((s = row(ST_CONTACT_TASKS)) != NULL) {
		k->open_tasks = sqlite3_column_int(s, 0);
		copy_column(s, 1, k->task, sizeof(k->task));
		done(ST_CONTACT_TASKS);
	}
	return 0;
}

/* Sets the fields given (NULL: unchanged). */
int
store_contact_edit(int64_t contact, const char *name, const char *email, const char *phone,
    const char *company)
{
	sqlite3_stmt *s = stmts[ST_CONTACT_EDIT];

	if (batch() == -1)
		return -1;
	sqlite3_bind_int64(s, 1, store_contact_resolve(contact));
	bind_text(s, 2, name);
	bind_text(s, 3, email);
	bind_text(s, 4, phone);
	bind_text(s, 5, company);
	return run(ST_CONTACT_EDIT);
}

/* An email or phone (NULL: none) found in the chat: kept where the contact has none yet. */
int
store_contact_fill(int64_t contact, const char *email, const char *phone)
{
	sqlite3_stmt *s = stmts[ST_CONTACT_FILL];

	if (batch() == -1)
		return -1;
	sqlite3_bind_int64(s, 1, store_contact_resolve(contact));
	bind_text(s, 2, email);
	bind_text(s, 3, phone);
	return run(ST_CONTACT_FILL);
}

/*
 * Records an identity on a contact unless it is known already (to it or another); a verified
 * one takes over the same identity only written in a chat.
 */
int
store_identity_add(int64_t contact, const char *kind, const char *value, int verified,
    time_t now)
{
	sqlite3_stmt *s = stmts[ST_IDENTITY_ADD];

	if (batch() == -1)
		return -1;
	sqlite3_bind_int64(s, 1, store_contact_resolve(contact));
	bind_text(s, 2, kind);
	bind_text(s, 3, value);
	bind_time(s, 4, now);
	sqlite3_bind_int(s, 5, verified != 0);
	return run(ST_IDENTITY_ADD);
}

static int
run_ids(enum stmt id, int64_t a, int64_t b)
{
	sqlite3_bind_int64(stmts[id], 1, a);
	sqlite3_bind_int64(stmts[id], 2, b);
	return run(id);
}

/*
 * Merges contact `merged` into `kept`: identities, conversations, tasks and reminders move,
 * missing fields are filled, and what moved is recorded so that the merge can be undone.
 * Returns the merge's id, or -1.
 */
int64_t
store_contact_merge(int64_t kept, int64_t merged, const char *reason, time_t now)
{
	sqlite3_stmt *s = stmts[ST_MERGE_ADD];
	int64_t id;

	if (batch() == -1 || run(ST_SAVEPOINT) == -1)
		return -1;
	sqlite3_bind_int64(s, 1, kept);
	sqlite3_bind_int64(s, 2, merged);
	bind_text(s, 3, reason);
	bind_time(s, 4, now);
	if ((id = insert(ST_MERGE_ADD)) == -1 ||
	    run_ids(ST_MERGE_NOTE_IDENT, id, merged) == -1 ||
	    run_ids(ST_MERGE_NOTE_CONV, id, merged) == -1 ||
	    run_ids(ST_MERGE_NOTE_TASK, id, merged) == -1 ||
	    run_ids(ST_MOVE_IDENT, kept, merged) == -1 ||
	    run_ids(ST_MOVE_CONV, kept, merged) == -1 ||
	    run_ids(ST_MOVE_TASK, kept, merged) == -1 ||
	    run_ids(ST_MOVE_REMINDER, kept, merged) == -1 ||
	    run_ids(ST_MERGE_FILL, kept, merged) == -1 ||
	    run_ids(ST_MERGE_MARK, kept, merged) == -1) {
		(void)run(ST_ROLLBACK_TO);
		(void)run(ST_RELEASE);
		return -1;
	}
	return run(ST_RELEASE) == -1 ? -1 : id;
}

/* Undoes a merge: what it moved goes back to the contact it came from. 0, or -1. */
int
store_merge_undo(int64_t merge, time_t now, int64_t *kept, int64_t *merged)
{
	sqlite3_stmt *s;

	if (batch() == -1)
		return -1;
	sqlite3_bind_int64(stmts[ST_MERGE_GET], 1, merge);
	if ((s = row(ST_MERGE_GET)) == NULL)
		return -1;
	*kept = sqlite3_column_int64(s, 0);
	*merged = sqlite3_column_int64(s, 1);
	done(ST_MERGE_GET);
	if (run(ST_SAVEPOINT) == -1)
		return -1;
	sqlite3_bind_int64(stmts[ST_UNMOVE_IDENT], 3, merge);
	sqlite3_bind_int64(stmts[ST_UNMOVE_CONV], 3, merge);
	sqlite3_bind_int64(stmts[ST_UNMOVE_TASK], 3, merge);
	bind_time(stmts[ST_MERGE_UNDONE], 2, now);
	sqlite3_bind_int64(stmts[ST_MERGE_UNDONE], 1, merge);
	sqlite3_bind_int64(stmts[ST_UNMARK], 1, *merged);
	if (run_ids(ST_UNMOVE_IDENT, *kept, *merged) == -1 ||
	    run_ids(ST_UNMOVE_CONV, *kept, *merged) == -1 ||
	    run_ids(ST_UNMOVE_TASK, *kept, *merged) == -1 ||
	    run(ST_MERGE_UNDONE) == -1 || run(ST_UNMARK) == -1) {
		(void)run(ST_ROLLBACK_TO);
		(void)run(ST_RELEASE);
		return -1;
	}
	return run(ST_RELEASE);
}

/* The contact's closed conversations, newest first, at most limit; fn may stop with -1. */
int
store_history_foreach(int64_t contact, int limit,
    int (*fn)(const struct history_item *, void *), void *arg)
{
	sqlite3_stmt *s = stmts[ST_HISTORY];
	struct history_item h;
	int rc, ret = 0;

	sqlite3_bind_int64(s, 1, store_contact_resolve(contact));
	sqlite3_bind_int(s, 2, limit);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		h.id = sqlite3_column_int64(s, 0);
		h.queue = (const char *)sqlite3_column_text(s, 1);
		h.channel = (const char *)sqlite3_column_text(s, 2);
		h.agent = (const char *)sqlite3_column_text(s, 3);
		h.closed_at = column_time(s, 4);
		h.summary = (const char *)sqlite3_column_text(s, 5);
		if (fn(&h, arg) == -1)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = db_error("history");
	done(ST_HISTORY);
	return ret;
}

/* The agent of the contact's last closed conversation in a queue: new string, or NULL. */
char *
store_last_agent(int64_t contact, const char *queue)
{
	sqlite3_stmt *s;
	char *jid;

	sqlite3_bind_int64(stmts[ST_LAST_AGENT], 1, store_contact_resolve(contact));
	bind_text(stmts[ST_LAST_AGENT], 2, queue);
	if ((s = row(ST_LAST_AGENT)) == NULL)
		return NULL;
	jid = xstrdup((const char *)sqlite3_column_text(s, 0));
	done(ST_LAST_AGENT);
	return jid;
}

/* What a task needs beyond its title, and who made it (NULL: respa itself). */
int
store_task_describe(int64_t task, const char *details, const char *created_by)
{
	if (batch() == -1)
		return -1;
	sqlite3_bind_int64(stmts[ST_TASK_DESCRIBE], 1, task);
	bind_text(stmts[ST_TASK_DESCRIBE], 2, details);
	bind_text(stmts[ST_TASK_DESCRIBE], 3, created_by);
	return run(ST_TASK_DESCRIBE);
}

/* Tasks an agent made in a conversation; -1 on error. */
int
store_conv_agent_tasks(int64_t conv)
{
	sqlite3_stmt *s;
	int n;

	sqlite3_bind_int64(stmts[ST_CONV_AGENT_TASKS], 1, conv);
	if ((s = row(ST_CONV_AGENT_TASKS)) == NULL)
		return -1;
	n = sqlite3_column_int(s, 0);
	done(ST_CONV_AGENT_TASKS);
	return n;
}

static void
task_from(sqlite3_stmt *s, struct stored_task *t)
{
	t->id = sqlite3_column_int64(s, 0);
	t->assignee = (const char *)sqlite3_column_text(s, 1);
	t->kind = (const char *)sqlite3_column_text(s, 2);
	t->title = (const char *)sqlite3_column_text(s, 3);
	t->details = (const char *)sqlite3_column_text(s, 4);
	t->due_at = column_time(s, 5);
	t->contact_id = sqlite3_column_int64(s, 6);
	t->conversation_id = sqlite3_column_int64(s, 7);
	t->reminded = sqlite3_column_int(s, 8);
	t->status = (const char *)sqlite3_column_text(s, 9);
	t->created_at = column_time(s, 10);
}

static int
tasks_foreach(enum stmt id, int (*fn)(const struct stored_task *, void *), void *arg)
{
	sqlite3_stmt *s = stmts[id];
	struct stored_task t;
	int rc, ret = 0;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		task_from(s, &t);
		if (fn(&t, arg) == -1)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = db_error("tasks");
	done(id);
	return ret;
}

/*
 * Open tasks due by now that were never reminded, or not within a day (of one assignee, or
 * of all with NULL), at most 100, earliest first.
 */
int
store_tasks_due_foreach(time_t now, const char *assignee,
    int (*fn)(const struct stored_task *, void *), void *arg)
{
	bind_time(stmts[ST_TASKS_DUE], 1, now);
	bind_time(stmts[ST_TASKS_DUE], 2, now - 86400);
	bind_text(stmts[ST_TASKS_DUE], 3, assignee);
	return tasks_foreach(ST_TASKS_DUE, fn, arg);
}

/* The open tasks of an assignee, the due ones first. */
int
store_tasks_of_foreach(const char *assignee, int (*fn)(const struct stored_task *, void *),
    void *arg)
{
	bind_text(stmts[ST_TASKS_OF], 1, assignee);
	return tasks_foreach(ST_TASKS_OF, fn, arg);
}

int
store_task_reminded(int64_t id, time_t now)
{
	if (batch() == -1)
		return -1;
	sqlite3_bind_int64(stmts[ST_TASK_REMINDED], 1, id);
	bind_time(stmts[ST_TASK_REMINDED], 2, now);
	return run(ST_TASK_REMINDED);
}

/* Marks a task done; assignee NULL for anyone. 1 done, 0 no such open task, -1 error. */
int
store_task_done_by(int64_t id, const char *assignee, time_t now)
{
	sqlite3_stmt *s = stmts[ST_TASK_DONE];

	if (batch() == -1)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	bind_text(s, 2, assignee);
	bind_time(s, 3, now);
	if (run(ST_TASK_DONE) == -1)
		return -1;
	return sqlite3_changes(db) > 0;
}

static time_t
time_of(enum stmt id, time_t arg)
{
	sqlite3_stmt *s;
	time_t t;

	bind_time(stmts[id], 1, arg);
	if ((s = row(id)) == NULL)
		return 0;
	t = column_time(s, 0);
	done(id);
	return t;
}

/*
 * When the next task reminder falls due after now: a task's due time, or a day after the
 * last reminder of an overdue one. 0 when there is none.
 */
time_t
store_tasks_next(time_t now)
{
	time_t due = time_of(ST_TASKS_NEXT_DUE, now);
	time_t repeat = time_of(ST_TASKS_NEXT_REPEAT, now - 86400);

	if (repeat)
		repeat += 86400;
	if (due == 0 || (repeat && repeat < due))
		return repeat;
	return due;
}

int64_t
store_reminder_add(int64_t conv, int64_t contact, const char *from, const char *to,
    const char *body, const char *by, time_t due, time_t now)
{
	sqlite3_stmt *s = stmts[ST_REMINDER_ADD];

	if (batch() == -1)
		return -1;
	sqlite3_bind_int64(s, 1, conv);
	sqlite3_bind_int64(s, 2, store_contact_resolve(contact));
	bind_text(s, 3, from);
	bind_text(s, 4, to);
	bind_text(s, 5, body);
	bind_text(s, 6, by);
	bind_time(s, 7, due);
	bind_time(s, 8, now);
	return insert(ST_REMINDER_ADD);
}

/* Scheduled messages due by now, at most 100; fn(id, from, to, body). */
int
store_reminders_due_foreach(time_t now,
    int (*fn)(int64_t, const char *, const char *, const char *, void *), void *arg)
{
	sqlite3_stmt *s = stmts[ST_REMINDERS_DUE];
	int rc, ret = 0;

	bind_time(s, 1, now);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		if (fn(sqlite3_column_int64(s, 0), (const char *)sqlite3_column_text(s, 1),
		    (const char *)sqlite3_column_text(s, 2), (const char *)sqlite3_column_text(s, 3),
		    arg) == -1)
			break;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = db_error("reminders");
	done(ST_REMINDERS_DUE);
	return ret;
}

int
store_reminder_sent(int64_t id, time_t now)
{
	if (batch() == -1)
		return -1;
	sqlite3_bind_int64(stmts[ST_REMINDER_SENT], 1, id);
	bind_time(stmts[ST_REMINDER_SENT], 2, now);
	return run(ST_REMINDER_SENT);
}

/* The due time of the next unsent scheduled message, or 0. */
time_t
store_reminders_next(void)
{
	sqlite3_stmt *s;
	time_t t;

	if ((s = row(ST_REMINDER_NEXT)) == NULL)
		return 0;
	t = column_time(s, 0);
	done(ST_REMINDER_NEXT);
	return t;
}

/* --- the desk made by ad-hoc commands, canned responses, statistics ----------------------- */

#define PERIOD "created_at >= ?1 AND created_at < ?2"
/* count, median and 90th percentile (nearest rank), mean of end - start in seconds */
#define STATS_TIME(end, start, also) \
	"WITH v AS (SELECT strftime('%s', " end ") - strftime('%s', " start ") AS d " \
	"FROM conversations WHERE " PERIOD " AND " end " IS NOT NULL AND " start " IS NOT NULL" \
	also "), w AS (SELECT d, row_number() OVER (ORDER BY d) AS rn, count(*) OVER () AS n " \
	"FROM v) SELECT count(*), coalesce(max(CASE WHEN rn = (n * 50 + 99) / 100 THEN d END), 0), " \
	"coalesce(max(CASE WHEN rn = (n * 90 + 99) / 100 THEN d END), 0), coalesce(avg(d), 0) " \
	"FROM w"

static const char *const desk_sql[ST_COUNT] = {
	[ST_DESK_QUEUE_PUT] = "INSERT INTO desk_queues (name, title, strategy, mode, capacity, "
	    "tier_wait, offer_timeout, max_wait, idle_close, hours, closed, timezone, greeting, "
	    "offline_text, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
	    "?13, ?14, ?15) ON CONFLICT (name) DO UPDATE SET title = excluded.title, "
	    "strategy = excluded.strategy, mode = excluded.mode, capacity = excluded.capacity, "
	    "tier_wait = excluded.tier_wait, offer_timeout = excluded.offer_timeout, "
	    "max_wait = excluded.max_wait, idle_close = excluded.idle_close, "
	    "hours = excluded.hours, closed = excluded.closed, timezone = excluded.timezone, "
	    "greeting = excluded.greeting, offline_text = excluded.offline_text, "
	    "updated_at = excluded.updated_at",
	[ST_DESK_QUEUE_DEL] = "DELETE FROM desk_queues WHERE name = ?1",
	[ST_DESK_QUEUES] = "SELECT name, title, strategy, mode, capacity, tier_wait, "
	    "offer_timeout, max_wait, idle_close, hours, closed, timezone, greeting, offline_text "
	    "FROM desk_queues ORDER BY name",
	[ST_DESK_AGENT_PUT] = "INSERT INTO desk_agents (jid, capacity, updated_at) "
	    "VALUES (?1, ?2, ?3) ON CONFLICT (jid) DO UPDATE SET capacity = excluded.capacity, "
	    "updated_at = excluded.updated_at",
	[ST_DESK_AGENT_DEL] = "DELETE FROM desk_agents WHERE jid = ?1",
	[ST_DESK_AGENT_MEMBERS_DEL] = "DELETE FROM desk_members WHERE jid = ?1",
	[ST_DESK_AGENTS] = "SELECT jid, capacity FROM desk_agents ORDER BY jid",
	[ST_DESK_MEMBER_PUT] = "INSERT INTO desk_members (queue, jid, tier) VALUES (?1, ?2, ?3) "
	    "ON CONFLICT (queue, jid) DO UPDATE SET tier = excluded.tier",
	[ST_DESK_MEMBER_DEL] = "DELETE FROM desk_members WHERE queue = ?1 AND jid = ?2",
	[ST_DESK_MEMBERS] = "SELECT queue, jid, tier FROM desk_members ORDER BY queue, jid",
	[ST_OPEN_IN_QUEUE] = "SELECT count(*) FROM conversations WHERE state <> 'closed' "
	    "AND (queue = ?1 OR entry_queue = ?1)",
	[ST_CHATS_SINCE] = "SELECT count(*) FROM conversations WHERE agent_jid = ?1 "
	    "AND assigned_at >= ?2",
	[ST_MISSED_ADD] = "INSERT INTO missed_offers (conversation_id, agent_jid, created_at) "
	    "VALUES (?1, ?2, ?3)",
	[ST_CANNED_PUT] = "INSERT INTO canned (queue, name, body, updated_at) VALUES "
	    "(?1, ?2, ?3, ?4) ON CONFLICT (queue, name) DO UPDATE SET body = excluded.body, "
	    "updated_at = excluded.updated_at",
	[ST_CANNED_DEL] = "DELETE FROM canned WHERE queue = ?1 AND name = ?2",
	[ST_CANNED_DEL_QUEUE] = "DELETE FROM canned WHERE queue = ?1",
	[ST_CANNED_GET] = "SELECT body FROM canned WHERE name = ?2 AND queue IN (?1, '') "
	    "ORDER BY queue = '' LIMIT 1",
	[ST_CANNED_ALL] = "SELECT queue, name, body FROM canned ORDER BY queue, name",
	[ST_TASKS_FILTER] = "SELECT " TASK_COLUMNS " FROM tasks t WHERE t.status = 'open' "
	    "AND (?1 IS NULL OR t.assignee_jid = ?1) AND (?2 IS NULL OR t.kind = ?2) "
	    "AND (?3 IS NULL OR t.due_at < ?3) AND (?4 IS NULL OR t.assignee_jid = ?5 "
	    "OR t.conversation_id IN (SELECT id FROM conversations WHERE queue = ?4 "
	    "OR entry_queue = ?4)) ORDER BY t.due_at IS NULL, t.due_at, t.id LIMIT 200",
	[ST_TASK_ASSIGN] = "UPDATE tasks SET assignee_jid = ?2, reminded_at = NULL "
	    "WHERE id = ?1 AND status = 'open'",
	[ST_STATS_WAIT] = STATS_TIME("assigned_at", "created_at", ""),
	[ST_STATS_FIRST] = STATS_TIME("first_response_at", "created_at", ""),
	[ST_STATS_HANDLING] = STATS_TIME("closed_at", "assigned_at", " AND state = 'closed'"),
	[ST_STATS_QUEUE_CHANNEL] = "SELECT coalesce(entry_queue, queue) || ' / ' || channel, "
	    "count(*) FROM conversations WHERE " PERIOD " GROUP BY 1 ORDER BY 2 DESC, 1",
	[ST_STATS_MISSED] = "SELECT agent_jid, count(*) FROM missed_offers WHERE " PERIOD
	    " GROUP BY 1 ORDER BY 2 DESC, 1",
	[ST_STATS_REASONS] = "SELECT t.tag, count(*) FROM conversation_tags t JOIN "
	    "conversations c ON c.id = t.conversation_id WHERE c.created_at >= ?1 "
	    "AND c.created_at < ?2 GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10",
	[ST_STATS_COUNTS] = "SELECT count(*), coalesce(sum(c.state = 'offline' "
	    "OR c.close_reason = 'offline'), 0), count(s.agent_jid), coalesce(sum(s.resolved "
	    "AND s.agent_jid IS NOT NULL), 0) FROM conversations c LEFT JOIN summaries s "
	    "ON s.conversation_id = c.id WHERE c.created_at >= ?1 AND c.created_at < ?2",
};

int
store_apply_begin(void)
{
	if (batch() == -1)
		return -1;
	return run(ST_SAVEPOINT);
}

int
store_apply_end(int ok)
{
	if (ok)
		return run(ST_RELEASE);
	(void)run(ST_ROLLBACK_TO);
	(void)run(ST_RELEASE);
	return -1;
}

static void
bind_int_or_null(sqlite3_stmt *s, int i, const char *v)
{
	bind_text(s, i, v && *v ? v : NULL);
}

int
store_desk_queue_put(const struct stored_queue *q)
{
	sqlite3_stmt *s = stmts[ST_DESK_QUEUE_PUT];

	if (batch() == -1)
		return -1;
	bind_text(s, 1, q->name);
	bind_text(s, 2, q->title);
	bind_text(s, 3, q->strategy);
	bind_text(s, 4, q->mode);
	sqlite3_bind_int(s, 5, q->capacity);
	sqlite3_bind_int(s, 6, q->tier_wait);
	sqlite3_bind_int(s, 7, q->offer_timeout);
	sqlite3_bind_int(s, 8, q->max_wait);
	sqlite3_bind_int(s, 9, q->idle_close);
	bind_int_or_null(s, 10, q->hours);
	bind_int_or_null(s, 11, q->closed);
	bind_text(s, 12, q->timezone ? q->timezone : "UTC");
	bind_text(s, 13, q->greeting);
	bind_text(s, 14, q->offline_text);
	bind_time(s, 15, respa_now());
	return run(ST_DESK_QUEUE_PUT);
}

/* The queue, its memberships (by cascade) and its canned responses. */
int
store_desk_queue_del(const char *name)
{
	if (batch() == -1)
		return -1;
	bind_text(stmts[ST_DESK_QUEUE_DEL], 1, name);
	bind_text(stmts[ST_CANNED_DEL_QUEUE], 1, name);
	if (run(ST_DESK_QUEUE_DEL) == -1 || run(ST_CANNED_DEL_QUEUE) == -1)
		return -1;
	return 0;
}

static const char *
column_text(sqlite3_stmt *s, int i)
{
	return (const char *)sqlite3_column_text(s, i);
}

int
store_desk_queues_foreach(int (*fn)(const struct stored_queue *, void *), void *arg)
{
	sqlite3_stmt *s = stmts[ST_DESK_QUEUES];
	struct stored_queue q;
	int rc, ret = 0;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		q.name = column_text(s, 0);
		q.title = column_text(s, 1);
		q.strategy = column_text(s, 2);
		q.mode = column_text(s, 3);
		q.capacity = sqlite3_column_int(s, 4);
		q.tier_wait = sqlite3_column_int(s, 5);
		q.offer_timeout = sqlite3_column_int(s, 6);
		q.max_wait = sqlite3_column_int(s, 7);
		q.idle_close = sqlite3_column_int(s, 8);
		q.hours = column_text(s, 9);
		q.closed = column_text(s, 10);
		q.timezone = column_text(s, 11);
		q.greeting = column_text(s, 12);
		q.offline_text = column_text(s, 13);
		if (fn(&q, arg) == -1)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = db_error("desk queues");
	sqlite3_reset(s);
	return ret;
}

int
store_desk_agent_put(const char *jid, int capacity)
{
	sqlite3_stmt *s = stmts[ST_DESK_AGENT_PUT];

	if (batch() == -1)
		return -1;
	bind_text(s, 1, jid);
	sqlite3_bind_int(s, 2, capacity);
	bind_time(s, 3, respa_now());
	return run(ST_DESK_AGENT_PUT);
}

/* The agent and its memberships. */
int
store_desk_agent_del(const char *jid)
{
	if (batch() == -1)
		return -1;
	bind_text(stmts[ST_DESK_AGENT_DEL], 1, jid);
	bind_text(stmts[ST_DESK_AGENT_MEMBERS_DEL], 1, jid);
	if (run(ST_DESK_AGENT_DEL) == -1 || run(ST_DESK_AGENT_MEMBERS_DEL) == -1)
		return -1;
	return 0;
}

int
store_desk_agents_foreach(int (*fn)(const char *, int, void *), void *arg)
{
	sqlite3_stmt *s = stmts[ST_DESK_AGENTS];
	int rc, ret = 0;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		if (fn(column_text(s, 0), sqlite3_column_int(s, 1), arg) == -1)
			break;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = db_error("desk agents");
	sqlite3_reset(s);
	return ret;
}

int
store_desk_member_put(const char *queue, const char *jid, int tier)
{
	sqlite3_stmt *s = stmts[ST_DESK_MEMBER_PUT];

	if (batch() == -1)
		return -1;
	bind_text(s, 1, queue);
	bind_text(s, 2, jid);
	sqlite3_bind_int(s, 3, tier);
	return run(ST_DESK_MEMBER_PUT);
}

int
store_desk_member_del(const char *queue, const char *jid)
{
	if (batch() == -1)
		return -1;
	bind_text(stmts[ST_DESK_MEMBER_DEL], 1, queue);
	bind_text(stmts[ST_DESK_MEMBER_DEL], 2, jid);
	return run(ST_DESK_MEMBER_DEL);
}

int
store_desk_members_foreach(int (*fn)(const char *, const char *, int, void *), void *arg)
{
	sqlite3_stmt *s = stmts[ST_DESK_MEMBERS];
	int rc, ret = 0;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		if (fn(column_text(s, 0), column_text(s, 1), sqlite3_column_int(s, 2), arg) == -1)
			break;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = db_error("desk members");
	sqlite3_reset(s);
	return ret;
}

/* A one-row count; -1 on error. */
static int
count_of(enum stmt id)
{
	sqlite3_stmt *s = stmts[id];
	int n = -1;

	if (sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int(s, 0);
	else
		db_error(stmt_sql(id));
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return n;
}

int
store_open_in_queue(const char *queue)
{
	bind_text(stmts[ST_OPEN_IN_QUEUE], 1, queue);
	return count_of(ST_OPEN_IN_QUEUE);
}

/* Conversations given to an agent since then (transfers count for whoever has it now). */
int
store_chats_since(const char *agent, time_t since)
{
	bind_text(stmts[ST_CHATS_SINCE], 1, agent);
	bind_time(stmts[ST_CHATS_SINCE], 2, since);
	return count_of(ST_CHATS_SINCE);
}

int
store_missed_offer_add(int64_t conv, const char *agent, time_t now)
{
	sqlite3_stmt *s = stmts[ST_MISSED_ADD];

	if (batch() == -1)
		return -1;
	sqlite3_bind_int64(s, 1, conv);
	bind_text(s, 2, agent);
	bind_time(s, 3, now);
	return run(ST_MISSED_ADD);
}

int
store_canned_put(const char *queue, const char *name, const char *body, time_t now)
{
	sqlite3_stmt *s = stmts[ST_CANNED_PUT];

	if (batch() == -1)
		return -1;
	bind_text(s, 1, queue ? queue : "");
	bind_text(s, 2, name);
	bind_text(s, 3, body);
	bind_time(s, 4, now);
	return run(ST_CANNED_PUT);
}

int
store_canned_del(const char *queue, const char *name)
{
	if (batch() == -1)
		return -1;
	bind_text(stmts[ST_CANNED_DEL], 1, queue ? queue : "");
	bind_text(stmts[ST_CANNED_DEL], 2, name);
	return run(ST_CANNED_DEL);
}

char *
store_canned_get(const char *queue, const char *name)
{
	sqlite3_stmt *s = stmts[ST_CANNED_GET];
	char *v = NULL;

	bind_text(s, 1, queue ? queue : "");
	bind_text(s, 2, name);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = xstrdup(column_text(s, 0));
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return v;
}

int
store_canned_foreach(int (*fn)(const struct stored_canned *, void *), void *arg)
{
	sqlite3_stmt *s = stmts[ST_CANNED_ALL];
	struct stored_canned c;
	int rc, ret = 0;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		c.queue = column_text(s, 0);
		c.name = column_text(s, 1);
		c.body = column_text(s, 2);
		if (fn(&c, arg) == -1)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = db_error("canned responses");
	sqlite3_reset(s);
	return ret;
}

/* Open tasks matching the filter, the earliest due first (at most 200). */
int
store_tasks_foreach(const struct task_filter *f, int (*fn)(const struct stored_task *, void *),
    void *arg)
{
	sqlite3_stmt *s = stmts[ST_TASKS_FILTER];

	bind_text(s, 1, f->assignee && *f->assignee ? f->assignee : NULL);
	bind_text(s, 2, f->kind && *f->kind ? f->kind : NULL);
	if (f->overdue_only)
		bind_time(s, 3, f->now);
	if (f->queue && *f->queue) {
		bind_text(s, 4, f->queue);
		bind_text(s, 5, f->queue_jid);
	}
	return tasks_foreach(ST_TASKS_FILTER, fn, arg);
}

int
store_task_assign(int64_t id, const char *assignee)
{
	if (batch() == -1)
		return -1;
	sqlite3_bind_int64(stmts[ST_TASK_ASSIGN], 1, id);
	bind_text(stmts[ST_TASK_ASSIGN], 2, assignee);
	if (run(ST_TASK_ASSIGN) == -1)
		return -1;
	return sqlite3_changes(db) > 0 ? 0 : 1;
}

static void
bind_period(sqlite3_stmt *s, time_t from, time_t to)
{
	bind_time(s, 1, from);
	bind_time(s, 2, to);
}

int
store_stats_times(enum stats_time which, time_t from, time_t to, struct stats_times *t)
{
	static const enum stmt ids[] = { [STATS_WAIT] = ST_STATS_WAIT,
		[STATS_FIRST_RESPONSE] = ST_STATS_FIRST, [STATS_HANDLING] = ST_STATS_HANDLING };
	sqlite3_stmt *s = stmts[ids[which]];
	int ret = 0;

	bind_period(s, from, to);
	if (sqlite3_step(s) == SQLITE_ROW) {
		t->n = sqlite3_column_int64(s, 0);
		t->median = sqlite3_column_int64(s, 1);
		t->p90 = sqlite3_column_int64(s, 2);
		t->avg = sqlite3_column_double(s, 3);
	} else
		ret = db_error("statistics");
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return ret;
}

int
store_stats_groups(enum stats_group which, time_t from, time_t to,
    int (*fn)(const char *, long, void *), void *arg)
{
	static const enum stmt ids[] = { [STATS_BY_QUEUE_CHANNEL] = ST_STATS_QUEUE_CHANNEL,
		[STATS_MISSED_BY_AGENT] = ST_STATS_MISSED, [STATS_REASONS] = ST_STATS_REASONS };
	sqlite3_stmt *s = stmts[ids[which]];
	int rc, ret = 0;

	bind_period(s, from, to);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		if (fn(column_text(s, 0), (long)sqlite3_column_int64(s, 1), arg) == -1)
			break;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = db_error("statistics");
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return ret;
}

int
store_stats_counts(time_t from, time_t to, long *total, long *offline, long *closed,
    long *resolved)
{
	sqlite3_stmt *s = stmts[ST_STATS_COUNTS];
	int ret = 0;

	bind_period(s, from, to);
	if (sqlite3_step(s) == SQLITE_ROW) {
		*total = (long)sqlite3_column_int64(s, 0);
		*offline = (long)sqlite3_column_int64(s, 1);
		*closed = (long)sqlite3_column_int64(s, 2);
		*resolved = (long)sqlite3_column_int64(s, 3);
	} else
		ret = db_error("statistics");
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return ret;
}

/* --- data care: the record, export, hook deliveries, retention, erasure ------------------ */

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
	"'close_reason', c.close_reason, 'summary', s.summary, " \
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

/* A statement for a rare call, prepared each time: NULL, or one to sqlite3_finalize(). */
static sqlite3_stmt *
prepare_once(const char *what, const char *text)
{
	sqlite3_stmt *s;

	if (sqlite3_prepare_v2(db, text, -1, &s, NULL) != SQLITE_OK) {
		db_error(what);
		return NULL;
	}
	return s;
}

/* Steps a statement that returns no rows and finalizes it; 0 / -1. */
static int
run_once(const char *what, sqlite3_stmt *s)
{
	int rc;

	if (s == NULL)
		return -1;
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : db_error(what);
}

/* The number of the batch transaction open now, 0 when none: a pass's writes share one. */
uint64_t
store_batch_id(void)
{
	return in_batch ? batch_seq : 0;
}

/* The record of one conversation: new string, must be free()d; NULL when there is none. */
char *
store_record(int64_t conv)
{
	sqlite3_stmt *s = prepare_once("record", "SELECT " RECORD_JSON RECORD_FROM
	    "WHERE c.id = ?1");
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
#define CSV_LINES(path, line, sep, name) "(SELECT group_concat(" line ", " sep ") FROM " \
	"json_each(j, '$." path "')) AS " name ", "
#define CSV_ITEM(key) "json_extract(value, '$." key "')"

static const char export_jsonl_sql[] = EXPORT_ROWS "SELECT j AS record FROM r "
    "ORDER BY open, at, id";
static const char export_csv_sql[] = EXPORT_ROWS "SELECT "
    CSV_TEXT("id") CSV_TEXT("queue") CSV_TEXT("entry_queue") CSV_TEXT("channel")
    CSV_TEXT("state") CSV_TEXT("created_at") CSV_TEXT("assigned_at")
    CSV_TEXT("first_response_at") CSV_TEXT("closed_at") CSV_TEXT("close_reason")
    CSV_TEXT("customer_jid") CSV_TEXT("agent_jid")
    "json_extract(j, '$.contact.id') AS contact_id, "
    "json_extract(j, '$.contact.name') AS contact_name, "
    "json_extract(j, '$.contact.email') AS contact_email, "
    "json_extract(j, '$.contact.phone') AS contact_phone, "
    "json_extract(j, '$.contact.company') AS contact_company, "
    CSV_LINES("contact.identities", CSV_ITEM("kind") " || ':' || " CSV_ITEM("value"), "' '",
	"contact_identities")
    CSV_TEXT("resolved") CSV_TEXT("summary")
    CSV_LINES("tags", "value", "', '", "tags")
    CSV_LINES("tasks", "printf('#%d %s, %s, due %s, for %s: %s', " CSV_ITEM("id") ", "
	CSV_ITEM("kind") ", " CSV_ITEM("status") ", coalesce(" CSV_ITEM("due_at") ", '-'), "
	CSV_ITEM("assignee") ", " CSV_ITEM("title") ")", "char(10)", "tasks")
    CSV_LINES("transcript", CSV_ITEM("at") " || ' ' || " CSV_ITEM("direction") " || ' ' || "
	CSV_ITEM("from") " || ': ' || " CSV_ITEM("body"), "char(10)", "transcript")
    "json_extract(j, '$.transcript_deleted_at') AS transcript_deleted_at "
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

/* For `respa export`: reads only and never migrates, so the schema must be this respa's. */
int
store_open_readonly(const char *path)
{
	int v, want = nmigrations ? migrations[nmigrations - 1].version : 0;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		log_warnx("database %s: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		db = NULL;
		return -1;
	}
	sqlite3_busy_timeout(db, 5000);
	if ((v = store_user_version()) == -1)
		log_warnx("database %s: %s", path, sqlite3_errmsg(db));
	else if (v == 0)
		log_warnx("database %s: not a respa database (it has no schema)", path);
	else if (v > want)
		log_warnx("database %s: schema version %d is newer than this respa knows (%d)",
		    path, v, want);
	else if (v < want)
		log_warnx("database %s: schema version %d is older than this respa's (%d): start "
		    "respa once to bring it up to date", path, v, want);
	else
		return 0;
	store_close();
	return -1;
}

/* A closed conversation's record is to go to the hook: in the batch, with the close. */
int
store_hook_add(int64_t conv, time_t now)
{
	sqlite3_stmt *s;

	if (batch() == -1)
		return -1;
	s = prepare_once("hook delivery", "INSERT OR IGNORE INTO hook_deliveries "
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
	sqlite3_stmt *s = prepare_once("hook deliveries", "SELECT conversation_id, attempts "
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
	sqlite3_stmt *s = prepare_once("hook deliveries", "SELECT min(next_at) "
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
	if ((s = prepare_once("hook delivered", "DELETE FROM hook_deliveries "
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
	if ((s = prepare_once("hook failed", "UPDATE hook_deliveries SET attempts = ?2, "
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
	sqlite3_stmt *s = prepare_once("retention", "SELECT id FROM conversations "
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
		s = prepare_once("retention", "DELETE FROM messages WHERE id IN (SELECT id "
		    "FROM messages WHERE conversation_id = ?1 ORDER BY id LIMIT ?2)");
		if (s) {
			sqlite3_bind_int64(s, 1, conv);
			sqlite3_bind_int(s, 2, budget);
		}
		if (run_once("retention", s) == -1)
			return -1;
		n = sqlite3_changes(db);
		*messages += n;
		if (n == budget)
			return 1;
		budget -= n + 1; /* a conversation without messages costs a little too */
		if ((s = prepare_once("retention", "UPDATE conversations "
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
#define ERASED "WITH RECURSIVE erased(id) AS (SELECT ?1 UNION SELECT k.id FROM contacts k " \
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
	sqlite3_stmt *s = prepare_once("contact", "WITH RECURSIVE m(id) AS (SELECT contact_id "
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
	sqlite3_stmt *s = prepare_once("contact", ERASED "SELECT count(*), min(id) FROM "
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
	sqlite3_stmt *s = prepare_once("erase", ERASED "SELECT value FROM identities WHERE "
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
	sqlite3_stmt *s = prepare_once("erase", ERASED "SELECT (SELECT count(*) FROM erased), "
	    "(SELECT count(*) FROM conversations WHERE contact_id IN erased), "
	    "(SELECT count(*) FROM messages WHERE conversation_id IN " ERASED_CONVS "), "
	    "(SELECT count(*) FROM tasks WHERE contact_id IN erased OR conversation_id IN "
	    ERASED_CONVS "), (SELECT count(*) FROM identities WHERE contact_id IN erased)");
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
		ERASED "DELETE FROM tasks WHERE contact_id IN erased OR conversation_id IN "
		    ERASED_CONVS,
		ERASED "DELETE FROM conversations WHERE contact_id IN erased", /* cascades */
		ERASED "DELETE FROM contacts WHERE id IN erased",             /* cascades */
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
		if ((rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL,
		    NULL)) != SQLITE_BUSY)
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
		len = (size_t)(size - off < (sqlite3_int64)(CHUNK + longest) ? size - off :
		    (sqlite3_int64)(CHUNK + longest));
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
		if (sqlite3_file_control(db, "main", ops[i], &f) != SQLITE_OK)
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
	if (in_batch && store_commit() == -1) {
		commit_lost = 1; /* so that the pass's own commit fails too and it is undone */
		return -1;
	}
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

/* The latest merges not undone, newest first: fn(id, kept, merged, reason, when). */
int
store_merges_foreach(int limit, int (*fn)(int64_t, int64_t, int64_t, const char *, time_t,
    void *), void *arg)
{
	sqlite3_stmt *s = stmts[ST_MERGES];
	int rc, ret = 0;

	sqlite3_bind_int(s, 1, limit);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		if (fn(sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1),
		    sqlite3_column_int64(s, 2), (const char *)sqlite3_column_text(s, 3),
		    column_time(s, 4), arg) == -1)
			break;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = db_error("merges");
	done(ST_MERGES);
	return ret;
}
