/*
 * The mail outbox in SQLite: mailer.c queues a mail in the batch of what caused it, sends it
 * beside the loop, and deletes it once the sendmail program took it.
 */
#include "store_int.h"

#include <stdlib.h>

/* A mail to send, in the batch: its id, or -1. conv and contact: 0 for none. */
int64_t
store_mail_add(const char *kind, int64_t conv, int64_t contact, const char *to, const char *subject,
    const char *message, time_t now)
{
	sqlite3_stmt *s;
	int64_t id = -1;

	if (batch() == -1)
		return -1;
	s = prepare_once("mail queued",
	    "INSERT INTO mail_outbox (kind, conversation_id, contact_id, to_addr, subject, "
	    "message, next_at, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)");
	if (s == NULL)
		return -1;
	bind_text(s, 1, kind);
	if (conv > 0)
		sqlite3_bind_int64(s, 2, conv);
	if (contact > 0)
		sqlite3_bind_int64(s, 3, contact);
	bind_text(s, 4, to);
	bind_text(s, 5, subject);
	bind_text(s, 6, message);
	bind_time(s, 7, now);
	if (sqlite3_step(s) == SQLITE_DONE)
		id = sqlite3_last_insert_rowid(store_db());
	else
		db_error("mail queued");
	sqlite3_finalize(s);
	return id;
}

/* Mails due at now, oldest first: how many were put in ids and attempts, or -1. */
int
store_mail_due(time_t now, int64_t *ids, int *attempts, int max)
{
	sqlite3_stmt *s = prepare_once("mail outbox",
	    "SELECT id, attempts FROM mail_outbox WHERE status = 'pending' AND next_at <= ?1 "
	    "ORDER BY next_at, id LIMIT ?2");
	int n = 0, rc = SQLITE_DONE;

	if (s == NULL)
		return -1;
	bind_time(s, 1, now);
	sqlite3_bind_int(s, 2, max);
	while (n < max && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		ids[n] = sqlite3_column_int64(s, 0);
		attempts[n++] = sqlite3_column_int(s, 1);
	}
	if (n < max && rc != SQLITE_DONE)
		n = db_error("mail outbox");
	sqlite3_finalize(s);
	return n;
}

/* When the next pending mail is due; 0 when none is pending. */
time_t
store_mail_next(void)
{
	sqlite3_stmt *s = prepare_once("mail outbox",
	    "SELECT min(next_at) FROM mail_outbox WHERE status = 'pending'");
	time_t t = 0;

	if (s == NULL)
		return 0;
	if (sqlite3_step(s) == SQLITE_ROW)
		t = column_time(s, 0);
	sqlite3_finalize(s);
	return t;
}

/* The message text of a mail: new string, must be free()d; NULL when it is gone. */
char *
store_mail_message(int64_t id)
{
	sqlite3_stmt *s =
	    prepare_once("mail outbox", "SELECT message FROM mail_outbox WHERE id = ?1");
	char *m = NULL;

	if (s == NULL)
		return NULL;
	sqlite3_bind_int64(s, 1, id);
	if (sqlite3_step(s) == SQLITE_ROW)
		m = xstrdup((const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	return m;
}

/* The sendmail program took it. */
int
store_mail_done(int64_t id)
{
	sqlite3_stmt *s;

	if (batch() == -1)
		return -1;
	if ((s = prepare_once("mail sent", "DELETE FROM mail_outbox WHERE id = ?1")))
		sqlite3_bind_int64(s, 1, id);
	return run_once("mail sent", s);
}

/* A failed attempt: the attempts made, when to try again (0: never, it failed), and why. */
int
store_mail_failed(int64_t id, int attempts, time_t next, const char *why)
{
	sqlite3_stmt *s;

	if (batch() == -1)
		return -1;
	if ((s = prepare_once("mail failed",
	         "UPDATE mail_outbox SET attempts = ?2, next_at = ?3, "
	         "status = CASE WHEN ?3 IS NULL THEN 'failed' ELSE 'pending' END, "
	         "last_error = ?4 WHERE id = ?1"))) {
		sqlite3_bind_int64(s, 1, id);
		sqlite3_bind_int(s, 2, attempts);
		bind_time(s, 3, next);
		bind_text(s, 4, why);
	}
	return run_once("mail failed", s);
}

/* The outbox for admins: failed first, then the waiting ones, oldest first; at most limit. */
int
store_mail_foreach(int limit, int (*fn)(const struct stored_mail *, void *), void *arg)
{
	sqlite3_stmt *s = prepare_once("mail outbox",
	    "SELECT id, kind, to_addr, subject, status, last_error, attempts, next_at, created_at "
	    "FROM mail_outbox ORDER BY status = 'pending', id LIMIT ?1");
	struct stored_mail m;
	int rc, ret = 0;

	if (s == NULL)
		return -1;
	sqlite3_bind_int(s, 1, limit);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		m.id = sqlite3_column_int64(s, 0);
		m.kind = (const char *)sqlite3_column_text(s, 1);
		m.to_addr = (const char *)sqlite3_column_text(s, 2);
		m.subject = (const char *)sqlite3_column_text(s, 3);
		m.status = (const char *)sqlite3_column_text(s, 4);
		m.last_error = (const char *)sqlite3_column_text(s, 5);
		m.attempts = sqlite3_column_int(s, 6);
		m.next_at = column_time(s, 7);
		m.created_at = column_time(s, 8);
		if (fn(&m, arg) == -1)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = db_error("mail outbox");
	sqlite3_finalize(s);
	return ret;
}
