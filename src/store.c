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
	ST_SUMMARY_ADD, ST_TASK_ADD,
	ST_COUNT
};

static const char *const sql[ST_COUNT] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_SAVEPOINT] = "SAVEPOINT one_call",
	[ST_RELEASE] = "RELEASE one_call",
	[ST_ROLLBACK_TO] = "ROLLBACK TO one_call",
	[ST_IDENTITY_FIND] = "SELECT contact_id FROM identities WHERE kind = ?1 AND value = ?2",
	[ST_CONTACT_ADD] = "INSERT INTO contacts (created_at) VALUES (?1)",
	[ST_IDENTITY_ADD] = "INSERT OR IGNORE INTO identities (contact_id, kind, value, "
	    "created_at) VALUES (?1, ?2, ?3, ?4)",
	[ST_CONTACT_PHONE] = "UPDATE contacts SET phone = ?2 WHERE id = ?1 AND phone IS NULL",
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
};

static sqlite3 *db;
static sqlite3_stmt *stmts[ST_COUNT];
static int in_batch;

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
		return db_error(sql[id]);
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
	return 0;
}

int
store_commit(void)
{
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
	/* NORMAL in WAL mode survives a crash of respa; FULL also a power cut */
	if (exec("pragmas", "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON") == -1 ||
	    exec("pragmas", synchronous_full ? "PRAGMA synchronous = FULL" :
	    "PRAGMA synchronous = NORMAL") == -1 || migrate() == -1) {
		store_close();
		return -1;
	}
	for (i = 0; i < ST_COUNT; i++)
		if (sqlite3_prepare_v3(db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &stmts[i],
		    NULL) != SQLITE_OK) {
			db_error(sql[i]);
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

/* The contact an identity belongs to: its id, 0 when none, -1 on error. */
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
store_contact_for(const struct identity *ids, size_t n, time_t now)
{
	sqlite3_stmt *s;
	int64_t id = 0;
	size_t i;

	if (batch() == -1)
		return -1;
	for (i = 0; i < n && id == 0; i++)
		if ((id = contact_of(&ids[i])) == -1)
			return -1;
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

	return store_contact_for(&ident, 1, now);
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
