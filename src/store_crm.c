/*
 * The CRM side in SQLite: contacts and their identities, merges and their undoing, history,
 * tasks and scheduled messages (reminders).
 */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "respa.h"
#include "store_int.h"

enum stmt {
	ST_IDENTITY_FIND,
	ST_CONTACT_ADD,
	ST_IDENTITY_ADD,
	ST_CONTACT_PHONE,
	ST_CONTACT_RESOLVE,
	ST_CONTACT_GET,
	ST_CONTACT_PAST,
	ST_CONTACT_TASKS,
	ST_CONTACT_EDIT,
	ST_CONTACT_FILL,
	ST_CONTACT_NAME_FILL,
	ST_HISTORY,
	ST_LAST_AGENT,
	ST_MERGE_ADD,
	ST_MERGE_NOTE_IDENT,
	ST_MERGE_NOTE_CONV,
	ST_MERGE_NOTE_TASK,
	ST_MOVE_IDENT,
	ST_MOVE_CONV,
	ST_MOVE_TASK,
	ST_MOVE_REMINDER,
	ST_MERGE_FILL,
	ST_MERGE_MARK,
	ST_MERGE_GET,
	ST_UNMOVE_IDENT,
	ST_UNMOVE_CONV,
	ST_UNMOVE_TASK,
	ST_MERGE_UNDONE,
	ST_UNMARK,
	ST_TASK_DESCRIBE,
	ST_CONV_AGENT_TASKS,
	ST_TASKS_DUE,
	ST_TASK_REMINDED,
	ST_TASKS_NEXT_DUE,
	ST_TASKS_NEXT_REPEAT,
	ST_TASKS_OF,
	ST_TASK_DONE,
	ST_REMINDER_ADD,
	ST_REMINDERS_DUE,
	ST_REMINDER_SENT,
	ST_REMINDER_NEXT,
	ST_MERGES,
	ST_TASK_ADD,
	ST_TASK_OPEN_FOR,
	ST_TASKS_OPEN_COUNT,
	ST_TASKS_FILTER,
	ST_TASK_ASSIGN,
	ST_CONTACT_REACH,
	ST_CONTACT_RATINGS,
	ST_RATING_ASK,
	ST_RATING_SET,
	ST_RATINGS_WAITING,
	ST_COUNT
};

#define TASK_COLUMNS \
	"t.id, t.assignee_jid, t.kind, t.title, coalesce(t.details, ''), " \
	"t.due_at, coalesce(t.contact_id, 0), coalesce(t.conversation_id, 0), " \
	"t.reminded_at IS NOT NULL, t.status, t.created_at"
/* 1 when the contact's field holds a verified identity of its own */
#define VERIFIED(field) \
	"EXISTS (SELECT 1 FROM identities i WHERE i.contact_id = k.id AND " \
	"i.kind = '" field "' AND i.value = k." field " AND i.verified)"
static const char *const crm_sql[ST_COUNT] = {
	[ST_IDENTITY_FIND] = "SELECT contact_id FROM identities WHERE kind = ?1 AND value = ?2 "
	                     "AND verified",
	[ST_CONTACT_ADD] = "INSERT INTO contacts (created_at) VALUES (?1)",
	/* a verified identity takes over one only written in a chat, nothing else */
	[ST_IDENTITY_ADD] =
	    "INSERT INTO identities (contact_id, kind, value, created_at, verified) "
	    "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (kind, value) DO UPDATE SET "
	    "contact_id = excluded.contact_id, created_at = excluded.created_at, verified = 1 "
	    "WHERE excluded.verified AND NOT identities.verified",
	[ST_CONTACT_PHONE] =
	    "UPDATE contacts SET phone = ?2 WHERE id = ?1 AND (phone IS NULL OR "
	    "NOT EXISTS (SELECT 1 FROM identities WHERE contact_id = ?1 AND kind = 'phone' AND "
	    "value = contacts.phone AND verified))",
	[ST_CONTACT_RESOLVE] = "SELECT merged_into FROM contacts WHERE id = ?1",
	[ST_CONTACT_GET] =
	    "SELECT coalesce(name, ''), coalesce(email, ''), coalesce(phone, ''), "
	    "coalesce(company, ''), " VERIFIED("email") ", " VERIFIED("phone") " FROM contacts k "
	                                                                       "WHERE id = ?1",
	[ST_CONTACT_PAST] =
	    "SELECT count(*), (SELECT s.summary FROM conversations c2 "
	    "JOIN summaries s ON s.conversation_id = c2.id WHERE c2.contact_id = ?1 "
	    "AND c2.id <> ?2 ORDER BY c2.closed_at DESC, c2.id DESC LIMIT 1) "
	    "FROM conversations WHERE contact_id = ?1 AND state = 'closed' AND id <> ?2",
	[ST_CONTACT_TASKS] =
	    "SELECT count(*), (SELECT title FROM tasks WHERE contact_id = ?1 "
	    "AND status = 'open' ORDER BY due_at IS NULL, due_at LIMIT 1) FROM tasks "
	    "WHERE contact_id = ?1 AND status = 'open'",
	[ST_CONTACT_EDIT] = "UPDATE contacts SET name = coalesce(?2, name), "
	                    "email = coalesce(?3, email), phone = coalesce(?4, phone), "
	                    "company = coalesce(?5, company) WHERE id = ?1",
	[ST_CONTACT_FILL] = "UPDATE contacts SET email = coalesce(email, ?2), "
	                    "phone = coalesce(phone, ?3) WHERE id = ?1",
	[ST_CONTACT_NAME_FILL] = "UPDATE contacts SET name = ?2 WHERE id = ?1 AND "
	                         "(name IS NULL OR name = '')",
	[ST_HISTORY] = "SELECT c.id, c.queue, c.channel, coalesce(c.agent_jid, ''), c.closed_at, "
	               "coalesce(s.summary, '') FROM conversations c LEFT JOIN summaries s "
	               "ON s.conversation_id = c.id WHERE c.contact_id = ?1 AND c.state = 'closed' "
	               "ORDER BY c.closed_at DESC, c.id DESC LIMIT ?2",
	[ST_LAST_AGENT] = "SELECT agent_jid FROM conversations WHERE contact_id = ?1 "
	                  "AND queue = ?2 AND state = 'closed' AND agent_jid IS NOT NULL "
	                  "ORDER BY closed_at DESC, id DESC LIMIT 1",
	[ST_MERGE_ADD] = "INSERT INTO merges (kept_id, merged_id, reason, created_at) "
	                 "VALUES (?1, ?2, ?3, ?4)",
	[ST_MERGE_NOTE_IDENT] =
	    "INSERT INTO merge_moves (merge_id, what, kind, value) "
	    "SELECT ?1, 'identity', kind, value FROM identities WHERE contact_id = ?2",
	[ST_MERGE_NOTE_CONV] =
	    "INSERT INTO merge_moves (merge_id, what, value) "
	    "SELECT ?1, 'conversation', id FROM conversations WHERE contact_id = ?2",
	[ST_MERGE_NOTE_TASK] = "INSERT INTO merge_moves (merge_id, what, value) "
	                       "SELECT ?1, 'task', id FROM tasks WHERE contact_id = ?2",
	[ST_MOVE_IDENT] = "UPDATE identities SET contact_id = ?1 WHERE contact_id = ?2",
	[ST_MOVE_CONV] = "UPDATE conversations SET contact_id = ?1 WHERE contact_id = ?2",
	[ST_MOVE_TASK] = "UPDATE tasks SET contact_id = ?1 WHERE contact_id = ?2",
	[ST_MOVE_REMINDER] = "UPDATE reminders SET contact_id = ?1 WHERE contact_id = ?2",
	[ST_MERGE_FILL] =
	    "UPDATE contacts SET "
	    "name = coalesce(name, (SELECT name FROM contacts WHERE id = ?2)), "
	    "email = coalesce(email, (SELECT email FROM contacts WHERE id = ?2)), "
	    "phone = coalesce(phone, (SELECT phone FROM contacts WHERE id = ?2)), "
	    "company = coalesce(company, (SELECT company FROM contacts WHERE id = ?2)) "
	    "WHERE id = ?1",
	[ST_MERGE_MARK] = "UPDATE contacts SET merged_into = ?1 WHERE id = ?2",
	[ST_MERGE_GET] = "SELECT kept_id, merged_id FROM merges WHERE id = ?1 "
	                 "AND undone_at IS NULL",
	[ST_UNMOVE_IDENT] =
	    "UPDATE identities SET contact_id = ?2 WHERE contact_id = ?1 AND "
	    "(kind, value) IN (SELECT kind, value FROM merge_moves WHERE merge_id = ?3 "
	    "AND what = 'identity')",
	[ST_UNMOVE_CONV] =
	    "UPDATE conversations SET contact_id = ?2 WHERE contact_id = ?1 AND "
	    "id IN (SELECT CAST(value AS INTEGER) FROM merge_moves WHERE merge_id = ?3 "
	    "AND what = 'conversation')",
	[ST_UNMOVE_TASK] =
	    "UPDATE tasks SET contact_id = ?2 WHERE contact_id = ?1 AND "
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
	[ST_REMINDER_ADD] =
	    "INSERT INTO reminders (conversation_id, contact_id, from_jid, to_jid, "
	    "body, created_by, due_at, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[ST_REMINDERS_DUE] = "SELECT id, from_jid, to_jid, body FROM reminders "
	                     "WHERE sent_at IS NULL AND due_at <= ?1 ORDER BY due_at LIMIT 100",
	[ST_REMINDER_SENT] = "UPDATE reminders SET sent_at = ?2 WHERE id = ?1",
	[ST_REMINDER_NEXT] = "SELECT min(due_at) FROM reminders WHERE sent_at IS NULL",
	[ST_MERGES] = "SELECT id, kept_id, merged_id, reason, created_at FROM merges "
	              "WHERE undone_at IS NULL ORDER BY id DESC LIMIT ?1",
	[ST_TASK_ADD] =
	    "INSERT INTO tasks (conversation_id, contact_id, assignee_jid, kind, title, "
	    "due_at, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[ST_TASK_OPEN_FOR] = "SELECT id FROM tasks WHERE contact_id = ?1 AND status = 'open' "
	                     "AND assignee_jid = ?2 AND kind = ?3 ORDER BY id LIMIT 1",
	[ST_TASKS_OPEN_COUNT] = "SELECT count(*) FROM tasks WHERE assignee_jid = ?1 "
	                        "AND kind = ?2 AND status = 'open'",
	[ST_TASKS_FILTER] =
	    "SELECT " TASK_COLUMNS " FROM tasks t WHERE t.status = 'open' "
	    "AND (?1 IS NULL OR t.assignee_jid = ?1) AND (?2 IS NULL OR t.kind = ?2) "
	    "AND (?3 IS NULL OR t.due_at < ?3) AND (?4 IS NULL OR t.assignee_jid = ?5 "
	    "OR t.conversation_id IN (SELECT id FROM conversations WHERE queue = ?4 "
	    "OR entry_queue = ?4)) ORDER BY t.due_at IS NULL, t.due_at, t.id LIMIT 200",
	[ST_TASK_ASSIGN] = "UPDATE tasks SET assignee_jid = ?2, reminded_at = NULL "
	                   "WHERE id = ?1 AND status = 'open'",
	[ST_CONTACT_REACH] =
	    "SELECT customer_jid, channel FROM conversations WHERE contact_id = ?1 "
	    "ORDER BY channel = 'web', id DESC LIMIT 1",
	[ST_CONTACT_RATINGS] =
	    "SELECT count(*), coalesce(avg(r.score), 0), (SELECT r2.score FROM ratings r2 JOIN "
	    "conversations c2 ON c2.id = r2.conversation_id WHERE c2.contact_id = ?1 AND "
	    "r2.score IS NOT NULL ORDER BY r2.rated_at DESC, r2.conversation_id DESC LIMIT 1) "
	    "FROM ratings r JOIN conversations c ON c.id = r.conversation_id "
	    "WHERE c.contact_id = ?1 AND r.score IS NOT NULL",
	[ST_RATING_ASK] =
	    "INSERT OR IGNORE INTO ratings (conversation_id, asked_at) VALUES (?1, ?2)",
	[ST_RATING_SET] = "UPDATE ratings SET score = ?2, comment = ?3, rated_at = ?4 "
	                  "WHERE conversation_id = ?1 AND score IS NULL",
	[ST_RATINGS_WAITING] =
	    "SELECT r.conversation_id, coalesce(c.contact_id, 0), c.queue, "
	    "coalesce(c.entry_queue, c.queue), c.customer_jid, c.session, r.asked_at "
	    "FROM ratings r JOIN conversations c ON c.id = r.conversation_id "
	    "WHERE r.score IS NULL AND r.asked_at >= ?1 ORDER BY r.asked_at, r.conversation_id",
};

static sqlite3_stmt *stmts[ST_COUNT];
const struct store_stmts store_crm_stmts = { crm_sql, stmts, ST_COUNT };

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

/* Steps a prepared statement; returns the stepped statement or NULL when no row came. */
static sqlite3_stmt *
row(enum stmt id)
{
	sqlite3_stmt *s = stmts[id];
	int rc = sqlite3_step(s);

	if (rc == SQLITE_ROW)
		return s;
	if (rc != SQLITE_DONE)
		db_error(crm_sql[id]);
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
	sqlite3_bind_int64(stmts[ST_CONTACT_RATINGS], 1, contact);
	if ((s = row(ST_CONTACT_RATINGS)) != NULL) {
		k->ratings = sqlite3_column_int(s, 0);
		k->rating_avg = sqlite3_column_double(s, 1);
		k->rating_last = sqlite3_column_int(s, 2);
		done(ST_CONTACT_RATINGS);
	}
	return 0;
}

/* The contact with this verified identity, merges followed: its id, 0 when none, -1. */
int64_t
store_contact_known(const char *kind, const char *value)
{
	struct identity ident = { kind, value };
	int64_t id = contact_of(&ident);

	return id > 0 ? store_contact_resolve(id) : id;
}

int
store_contact_reach(int64_t contact, char *jid, size_t jidlen, char *channel, size_t chlen)
{
	sqlite3_stmt *s;

	sqlite3_bind_int64(stmts[ST_CONTACT_REACH], 1, store_contact_resolve(contact));
	if ((s = row(ST_CONTACT_REACH)) == NULL)
		return 0;
	copy_column(s, 0, jid, jidlen);
	copy_column(s, 1, channel, chlen);
	done(ST_CONTACT_REACH);
	return 1;
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

/* The name a customer gave (the widget's pre-chat form): kept where the contact has none. */
int
store_contact_name_fill(int64_t contact, const char *name)
{
	sqlite3_stmt *s = stmts[ST_CONTACT_NAME_FILL];

	if (batch() == -1)
		return -1;
	sqlite3_bind_int64(s, 1, store_contact_resolve(contact));
	bind_text(s, 2, name);
	return run(ST_CONTACT_NAME_FILL);
}

/*
 * Records an identity on a contact unless it is known already (to it or another); a verified
 * one takes over the same identity only written in a chat.
 */
int
store_identity_add(int64_t contact, const char *kind, const char *value, int verified, time_t now)
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

	if (batch() == -1 || store_savepoint() == -1)
		return -1;
	sqlite3_bind_int64(s, 1, kept);
	sqlite3_bind_int64(s, 2, merged);
	bind_text(s, 3, reason);
	bind_time(s, 4, now);
	if ((id = insert(ST_MERGE_ADD)) == -1 || run_ids(ST_MERGE_NOTE_IDENT, id, merged) == -1 ||
	    run_ids(ST_MERGE_NOTE_CONV, id, merged) == -1 ||
	    run_ids(ST_MERGE_NOTE_TASK, id, merged) == -1 ||
	    run_ids(ST_MOVE_IDENT, kept, merged) == -1 ||
	    run_ids(ST_MOVE_CONV, kept, merged) == -1 ||
	    run_ids(ST_MOVE_TASK, kept, merged) == -1 ||
	    run_ids(ST_MOVE_REMINDER, kept, merged) == -1 ||
	    run_ids(ST_MERGE_FILL, kept, merged) == -1 ||
	    run_ids(ST_MERGE_MARK, kept, merged) == -1) {
		(void)store_rollback_to();
		(void)store_release();
		return -1;
	}
	return store_release() == -1 ? -1 : id;
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
	if (store_savepoint() == -1)
		return -1;
	sqlite3_bind_int64(stmts[ST_UNMOVE_IDENT], 3, merge);
	sqlite3_bind_int64(stmts[ST_UNMOVE_CONV], 3, merge);
	sqlite3_bind_int64(stmts[ST_UNMOVE_TASK], 3, merge);
	bind_time(stmts[ST_MERGE_UNDONE], 2, now);
	sqlite3_bind_int64(stmts[ST_MERGE_UNDONE], 1, merge);
	sqlite3_bind_int64(stmts[ST_UNMARK], 1, *merged);
	if (run_ids(ST_UNMOVE_IDENT, *kept, *merged) == -1 ||
	    run_ids(ST_UNMOVE_CONV, *kept, *merged) == -1 ||
	    run_ids(ST_UNMOVE_TASK, *kept, *merged) == -1 || run(ST_MERGE_UNDONE) == -1 ||
	    run(ST_UNMARK) == -1) {
		(void)store_rollback_to();
		(void)store_release();
		return -1;
	}
	return store_release();
}

/* The latest merges not undone, newest first: fn(id, kept, merged, reason, when). */
int
store_merges_foreach(int limit, int (*fn)(int64_t, int64_t, int64_t, const char *, time_t, void *),
    void *arg)
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

/* The contact's closed conversations, newest first, at most limit; fn may stop with -1. */
int
store_history_foreach(int64_t contact, int limit, int (*fn)(const struct history_item *, void *),
    void *arg)
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

int64_t
store_task_add(int64_t conv, int64_t contact, const char *assignee, const char *kind,
    const char *title, time_t due, time_t now)
{
	sqlite3_stmt *s = stmts[ST_TASK_ADD];
	int64_t id;

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
	if ((id = insert(ST_TASK_ADD)) != -1)
		counters[C_TASKS_CREATED]++;
	return id;
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
		return db_error(crm_sql[ST_TASK_OPEN_FOR]);
	return id;
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
	if (sqlite3_changes(store_db()) == 0)
		return 0;
	counters[C_TASKS_DONE]++;
	return 1;
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
	return sqlite3_changes(store_db()) > 0 ? 0 : 1;
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
		        (const char *)sqlite3_column_text(s, 2),
		        (const char *)sqlite3_column_text(s, 3), arg) == -1)
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

/* The rating question was asked (in the close's pass): its row waits for the score. */
int
store_rating_ask(int64_t conv, time_t now)
{
	if (batch() == -1)
		return -1;
	sqlite3_bind_int64(stmts[ST_RATING_ASK], 1, conv);
	bind_time(stmts[ST_RATING_ASK], 2, now);
	return run(ST_RATING_ASK);
}

/* The customer's answer; 1 when the question had been answered already. */
int
store_rating_set(int64_t conv, int score, const char *comment, time_t now)
{
	sqlite3_stmt *s = stmts[ST_RATING_SET];

	if (batch() == -1)
		return -1;
	sqlite3_bind_int64(s, 1, conv);
	sqlite3_bind_int(s, 2, score);
	bind_text(s, 3, comment);
	bind_time(s, 4, now);
	if (run(ST_RATING_SET) == -1)
		return -1;
	return sqlite3_changes(store_db()) > 0 ? 0 : 1;
}

int
store_ratings_waiting_foreach(time_t since, int (*fn)(const struct stored_rating_wait *, void *),
    void *arg)
{
	sqlite3_stmt *s = stmts[ST_RATINGS_WAITING];
	struct stored_rating_wait w;
	int rc, ret = 0;

	bind_time(s, 1, since);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		w.conv = sqlite3_column_int64(s, 0);
		w.contact_id = sqlite3_column_int64(s, 1);
		w.queue = (const char *)sqlite3_column_text(s, 2);
		w.entry_queue = (const char *)sqlite3_column_text(s, 3);
		w.customer_jid = (const char *)sqlite3_column_text(s, 4);
		w.session = (const char *)sqlite3_column_text(s, 5);
		w.asked_at = column_time(s, 6);
		if (fn(&w, arg) == -1)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = db_error("ratings");
	done(ST_RATINGS_WAITING);
	return ret;
}
