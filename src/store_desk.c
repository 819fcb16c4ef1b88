/*
 * The desk in SQLite: the queues, agents and memberships made by ad-hoc commands, canned
 * responses and missed offers (store_report.c reads the statistics).
 */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "respa.h"
#include "store_int.h"

enum stmt {
	ST_DESK_QUEUE_PUT,
	ST_DESK_QUEUE_DEL,
	ST_DESK_QUEUES,
	ST_DESK_AGENT_PUT,
	ST_DESK_AGENT_DEL,
	ST_DESK_AGENT_MEMBERS_DEL,
	ST_DESK_AGENTS,
	ST_DESK_MEMBER_PUT,
	ST_DESK_MEMBER_DEL,
	ST_DESK_MEMBERS,
	ST_OPEN_IN_QUEUE,
	ST_CHATS_SINCE,
	ST_MISSED_ADD,
	ST_CANNED_PUT,
	ST_CANNED_DEL,
	ST_CANNED_DEL_QUEUE,
	ST_CANNED_GET,
	ST_CANNED_ALL,
	ST_COUNT
};

static const char *const desk_sql[ST_COUNT] = {
	[ST_DESK_QUEUE_PUT] =
	    "INSERT INTO desk_queues (name, title, strategy, mode, capacity, "
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
	[ST_DESK_QUEUES] =
	    "SELECT name, title, strategy, mode, capacity, tier_wait, "
	    "offer_timeout, max_wait, idle_close, hours, closed, timezone, greeting, offline_text "
	    "FROM desk_queues ORDER BY name",
	[ST_DESK_AGENT_PUT] =
	    "INSERT INTO desk_agents (jid, capacity, updated_at) "
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
	[ST_CANNED_PUT] =
	    "INSERT INTO canned (queue, name, body, updated_at) VALUES "
	    "(?1, ?2, ?3, ?4) ON CONFLICT (queue, name) DO UPDATE SET body = excluded.body, "
	    "updated_at = excluded.updated_at",
	[ST_CANNED_DEL] = "DELETE FROM canned WHERE queue = ?1 AND name = ?2",
	[ST_CANNED_DEL_QUEUE] = "DELETE FROM canned WHERE queue = ?1",
	[ST_CANNED_GET] = "SELECT body FROM canned WHERE name = ?2 AND queue IN (?1, '') "
	                  "ORDER BY queue = '' LIMIT 1",
	[ST_CANNED_ALL] = "SELECT queue, name, body FROM canned ORDER BY queue, name",
};

static sqlite3_stmt *stmts[ST_COUNT];
const struct store_stmts store_desk_stmts = { desk_sql, stmts, ST_COUNT };

static int
run(enum stmt id)
{
	return store_run(stmts[id]);
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
		db_error(desk_sql[id]);
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
