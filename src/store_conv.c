/*
 * The routing state in SQLite: conversations, their messages, tags and summaries, and the
 * agents' paused status. See store.c for the batch every write joins.
 */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "respa.h"
#include "store_int.h"

enum stmt {
	ST_CONV_ADD,
	ST_CONV_CUSTOMER,
	ST_CONV_ASSIGN,
	ST_CONV_FIRST_RESPONSE,
	ST_CONV_CLOSE,
	ST_CONV_OPEN,
	ST_CONV_REQUEUE,
	ST_CONV_STATE,
	ST_CONV_OUTBOUND,
	ST_AGENT_STATUS,
	ST_AGENT_STATUSES,
	ST_MESSAGE_ADD,
	ST_MESSAGES,
	ST_FIRST_MESSAGE,
	ST_TAG_ADD,
	ST_TAGS,
	ST_SUMMARY_ADD,
	ST_COUNT
};

static const char *const conv_sql[ST_COUNT] = {
	[ST_CONV_ADD] = "INSERT INTO conversations (queue, customer_jid, contact_id, channel, "
	                "state, created_at, session) VALUES (?1, ?2, ?3, ?4, ?6, ?5, ?7)",
	[ST_CONV_CUSTOMER] = "UPDATE conversations SET customer_jid = ?2 WHERE id = ?1",
	[ST_CONV_ASSIGN] = "UPDATE conversations SET agent_jid = ?2, state = 'active', "
	                   "assigned_at = coalesce(assigned_at, ?3) WHERE id = ?1",
	[ST_CONV_FIRST_RESPONSE] = "UPDATE conversations SET first_response_at = ?2 "
	                           "WHERE id = ?1 AND first_response_at IS NULL",
	[ST_CONV_CLOSE] = "UPDATE conversations SET state = 'closed', closed_at = ?2, "
	                  "close_reason = ?3 WHERE id = ?1 AND state <> 'closed'",
	[ST_CONV_OPEN] =
	    "SELECT id, queue, customer_jid, contact_id, agent_jid, channel, state, "
	    "created_at, assigned_at, first_response_at, coalesce(entry_queue, queue), session "
	    "FROM conversations WHERE state <> 'closed' ORDER BY id",
	[ST_CONV_REQUEUE] = "UPDATE conversations SET state = 'queued', agent_jid = NULL, "
	                    "entry_queue = coalesce(entry_queue, queue), queue = ?2 WHERE id = ?1",
	[ST_CONV_STATE] = "UPDATE conversations SET state = ?2 WHERE id = ?1",
	[ST_CONV_OUTBOUND] = "UPDATE conversations SET outbound = 1 WHERE id = ?1",
	[ST_AGENT_STATUS] =
	    "INSERT INTO agent_status (jid, paused, reason, updated_at) "
	    "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (jid) DO UPDATE SET paused = excluded.paused, "
	    "reason = excluded.reason, updated_at = excluded.updated_at",
	[ST_AGENT_STATUSES] = "SELECT jid, paused, reason FROM agent_status",
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
};

static sqlite3_stmt *stmts[ST_COUNT];
const struct store_stmts store_conv_stmts = { conv_sql, stmts, ST_COUNT };

static int
run(enum stmt id)
{
	return store_run(stmts[id]);
}

static int64_t
insert(enum stmt id)
{
	return store_insert(stmts[id]);
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
store_conv_outbound(int64_t id)
{
	if (batch() == -1)
		return -1;
	sqlite3_bind_int64(stmts[ST_CONV_OUTBOUND], 1, id);
	return run(ST_CONV_OUTBOUND);
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

/* The conversation closed and its summary, together or not at all. */
int
store_conv_close(int64_t id, const char *reason, const char *agent, const char *summary,
    const char *tags, int resolved, time_t now)
{
	sqlite3_stmt *s;

	if (batch() == -1 || store_savepoint() == -1)
		return -1;
	s = stmts[ST_CONV_CLOSE];
	sqlite3_bind_int64(s, 1, id);
	bind_time(s, 2, now);
	bind_text(s, 3, reason);
	if (run(ST_CONV_CLOSE) == -1)
		goto fail;
	if (sqlite3_changes(store_db()) == 0) { /* closed already: it has its summary */
		(void)store_release();
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
	return store_release();
fail:
	(void)store_rollback_to();
	(void)store_release();
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
