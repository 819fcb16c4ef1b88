/* store.c on a temporary database, checked through a second, independent connection. */
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#include <sqlite3.h>

#include "check.h"

static char tmpdir[256], dbpath[512];
static sqlite3 *other; /* what another process would see */
static const time_t now = 1795600800; /* 2026-11-25T10:00:00Z */

/* The first column of the first row of a query on the other connection, as a new string. */
static char *
q_text(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *
q_text(const char *fmt, ...)
{
	sqlite3_stmt *s;
	char *text, *v = NULL;
	va_list ap;

	va_start(ap, fmt);
	text = sqlite3_vmprintf(fmt, ap);
	va_end(ap);
	if (sqlite3_prepare_v2(other, text, -1, &s, NULL) != SQLITE_OK) {
		fprintf(stderr, "%s: %s\n", text, sqlite3_errmsg(other));
		sqlite3_free(text);
		return NULL;
	}
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL)
		v = xstrdup((const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	sqlite3_free(text);
	return v;
}

/* The same as a number; -1 for no row or NULL. */
#define q_int(...) q_int_(q_text(__VA_ARGS__))
static long long
q_int_(char *v)
{
	long long n = v ? atoll(v) : -1;

	free(v);
	return n;
}

/* Checks a text query result, freeing it. */
#define CHECK_Q(want, ...) do { \
	char *check_q_ = q_text(__VA_ARGS__); \
	CHECK_STR(check_q_, want); \
	free(check_q_); \
} while (0)

static const char *
iso(time_t t)
{
	static char buf[4][32];
	static int i;

	i = (i + 1) % 4;
	time_iso(t, buf[i]);
	return buf[i];
}

struct seen_convs {
	int n, stop_after;
	struct {
		int64_t id, contact_id;
		char queue[32], customer[64], agent[64], channel[16], state[16];
		time_t created_at, assigned_at, first_response_at;
	} c[8];
};

static int
collect_conv(const struct stored_conv *sc, void *arg)
{
	struct seen_convs *s = arg;
	int i = s->n++;

	if (i >= 8)
		return -1;
	s->c[i].id = sc->id;
	s->c[i].contact_id = sc->contact_id;
	snprintf(s->c[i].queue, sizeof(s->c[i].queue), "%s", sc->queue);
	snprintf(s->c[i].customer, sizeof(s->c[i].customer), "%s", sc->customer_jid);
	snprintf(s->c[i].agent, sizeof(s->c[i].agent), "%s", sc->agent_jid ? sc->agent_jid : "-");
	snprintf(s->c[i].channel, sizeof(s->c[i].channel), "%s", sc->channel);
	snprintf(s->c[i].state, sizeof(s->c[i].state), "%s", sc->state);
	s->c[i].created_at = sc->created_at;
	s->c[i].assigned_at = sc->assigned_at;
	s->c[i].first_response_at = sc->first_response_at;
	return s->n == s->stop_after ? -1 : 0;
}

struct seen_messages {
	int n;
	char text[1024];
};

static int
collect_message(const struct stored_message *m, void *arg)
{
	struct seen_messages *s = arg;
	size_t len = strlen(s->text);

	s->n++;
	snprintf(s->text + len, sizeof(s->text) - len, "%s|%s|%s|%lld\n", m->direction,
	    m->sender_jid, m->body, (long long)(m->created_at - now));
	return 0;
}

static void
open_and_migrate(void)
{
	long long tables;
	char *mode;

	CHECK_INT(store_open(dbpath, 0), 0);
	CHECK(nmigrations > 0);
	CHECK_INT(store_user_version(), migrations[nmigrations - 1].version);
	CHECK_INT(sqlite3_open(dbpath, &other), SQLITE_OK);
	sqlite3_busy_timeout(other, 5000);
	mode = q_text("PRAGMA journal_mode");
	CHECK_STR(mode, "wal");
	free(mode);
	CHECK_INT(q_int("PRAGMA user_version"), migrations[nmigrations - 1].version);
	CHECK_INT(q_int("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN "
	    "('contacts', 'identities', 'conversations', 'messages', 'conversation_tags', "
	    "'summaries', 'tasks', 'agent_status')"), 8);

	/* 008: the CHECKs are comparisons now (no temporary b-tree per row), and still refuse */
	CHECK_INT(q_int("SELECT count(*) FROM sqlite_master WHERE name IN ('messages', "
	    "'conversations') AND sql LIKE '%%CHECK (direction = ''in'' OR%%' OR sql LIKE "
	    "'%%CHECK (state = ''queued'' OR%%'"), 2);
	CHECK_INT(q_int("SELECT count(*) FROM sqlite_master WHERE name = 'schema_reload'"), 0);
	CHECK_Q("ok", "PRAGMA integrity_check");
	CHECK(sqlite3_exec(other, "INSERT INTO messages (conversation_id, direction, sender_jid, "
	    "body, created_at) VALUES (1, 'sideways', 'a', 'b', 'c')", NULL, NULL, NULL) ==
	    SQLITE_CONSTRAINT);
	CHECK(sqlite3_exec(other, "INSERT INTO conversations (queue, customer_jid, channel, state, "
	    "created_at) VALUES ('q', 'c@x', 'xmpp', 'lost', 'now')", NULL, NULL, NULL) ==
	    SQLITE_CONSTRAINT);

	/* reopening applies nothing twice (later migrations add tables of their own) */
	tables = q_int("SELECT count(*) FROM sqlite_master WHERE type = 'table'");
	store_close();
	store_close(); /* closing a closed store does nothing */
	CHECK_INT(store_open(dbpath, 1), 0);
	CHECK_INT(store_user_version(), migrations[nmigrations - 1].version);
	CHECK_INT(q_int("SELECT count(*) FROM sqlite_master WHERE type = 'table'"), tables);
	CHECK_INT(store_commit(), 0); /* nothing to commit */
}

/* A statement that fails inside a pass fails the pass: nothing of it is kept. */
static void
failed_write(void)
{
	int64_t bob, c;
	char *err = NULL;

	CHECK_INT(store_open(dbpath, 0), 0);
	bob = store_contact_for_jid("dan@example.com", now);
	c = store_conv_add("support", "dan@example.com/phone", bob, "xmpp", "queued", NULL, now);
	CHECK(c > 0);
	CHECK_INT(store_commit(), 0);

	/* a write the schema refuses: the writes before and after it go too */
	CHECK_INT(store_message_add(c, "in", "dan@example.com/phone", "before", now + 1), 0);
	CHECK_INT(store_message_add(c, "sideways", "x@y.z", "no", now + 2), -1);
	CHECK_INT(store_tag_add(c, "after"), 0);
	CHECK_INT(store_commit(), -1);
	CHECK_INT(q_int("SELECT count(*) FROM messages WHERE conversation_id = %lld", (long long)c),
	    0);
	CHECK_INT(q_int("SELECT count(*) FROM conversation_tags WHERE conversation_id = %lld",
	    (long long)c), 0);
	CHECK_INT(store_commit(), 0); /* the failure does not outlive its pass */

	/* one statement failing for real: a trigger aborts the INSERT, as a full disk would */
	CHECK_INT(sqlite3_exec(other, "CREATE TRIGGER no_tags BEFORE INSERT ON conversation_tags "
	    "BEGIN SELECT RAISE(ABORT, 'no tags today'); END", NULL, NULL, &err), SQLITE_OK);
	sqlite3_free(err);
	CHECK_INT(store_message_add(c, "in", "dan@example.com/phone", "tagged", now + 3), 0);
	CHECK_INT(store_conv_assign(c, "alice@example.com", now + 3), 0);
	CHECK_INT(store_tag_add(c, "vip"), -1);
	CHECK_INT(store_commit(), -1);
	CHECK_INT(q_int("SELECT count(*) FROM messages WHERE conversation_id = %lld", (long long)c),
	    0);
	CHECK_Q("queued", "SELECT state FROM conversations WHERE id = %lld", (long long)c);

	/* inside a savepoint too: rolling back to it does not save the pass */
	CHECK_INT(store_message_add(c, "in", "dan@example.com/phone", "saved?", now + 4), 0);
	CHECK_INT(store_apply_begin(), 0);
	CHECK_INT(store_apply_end(store_tag_add(c, "vip") == 0), -1);
	CHECK_INT(store_commit(), -1);
	CHECK_INT(q_int("SELECT count(*) FROM messages WHERE conversation_id = %lld", (long long)c),
	    0);

	/* the next pass works once the statement does */
	CHECK_INT(sqlite3_exec(other, "DROP TRIGGER no_tags", NULL, NULL, NULL), SQLITE_OK);
	CHECK_INT(store_message_add(c, "in", "dan@example.com/phone", "again", now + 5), 0);
	CHECK_INT(store_tag_add(c, "vip"), 0);
	CHECK_INT(store_commit(), 0);
	CHECK_Q("again", "SELECT group_concat(body) FROM messages WHERE conversation_id = %lld",
	    (long long)c);
	CHECK_Q("vip", "SELECT group_concat(tag) FROM conversation_tags WHERE conversation_id = "
	    "%lld", (long long)c);
	store_close();
}

/* n copies of unit after lead ("" or one byte), new string */
static char *
repeat(const char *lead, const char *unit, size_t n)
{
	size_t ll = strlen(lead), ul = strlen(unit), i;
	char *s = xmalloc(ll + n * ul + 1);

	memcpy(s, lead, ll);
	for (i = 0; i < n; i++)
		memcpy(s + ll + i * ul, unit, ul);
	s[ll + n * ul] = '\0';
	return s;
}

/* The contact card's fixed fields hold as much as fits, cut between characters. */
static void
card_cut(void)
{
	/* buffers hold 127, 511 and 159 bytes: each of these ends inside a character there */
	char *name = repeat("", "\xc3\xa9", 100), *summary = repeat("", "\xc3\xa9", 300);
	char *title = repeat("x", "\xe2\x82\xac", 60);
	struct contact_card k;
	int64_t who, c;

	CHECK_INT(store_open(dbpath, 0), 0);
	who = store_contact_for_jid("utf8@example.com", now);
	CHECK_INT(store_contact_edit(who, name, NULL, NULL, name), 0);
	c = store_conv_add("support", "utf8@example.com/x", who, "xmpp", "active", NULL, now);
	CHECK_INT(store_conv_close(c, "agent", "ann@example.com", summary, NULL, 1, now), 0);
	CHECK(store_task_add(c, who, "ann@example.com", "follow-up", title, now + 60, now) > 0);
	CHECK_INT(store_contact_card(who, 0, &k), 0);
	CHECK(utf8_valid(k.name, strlen(k.name)) && strlen(k.name) == sizeof(k.name) - 2);
	CHECK(utf8_valid(k.company, strlen(k.company)) && strncmp(k.company, name, 120) == 0);
	CHECK(utf8_valid(k.last_summary, strlen(k.last_summary)));
	CHECK_INT(strlen(k.last_summary), sizeof(k.last_summary) - 2);
	CHECK(utf8_valid(k.task, strlen(k.task)) && strlen(k.task) == sizeof(k.task) - 3);
	free(name);
	free(summary);
	free(title);
	store_close();
}

static void
lifecycle(void)
{
	struct seen_convs convs;
	struct seen_messages msgs;
	int64_t bob, bob2, carol, c1, c2, t1, t2;
	char *s;

	/* contacts: one per JID, found again */
	bob = store_contact_for_jid("bob@example.com", now);
	CHECK(bob > 0);
	CHECK_INT(store_contact_for_jid("bob@example.com", now + 5), bob);
	carol = store_contact_for_jid("carol@example.com", now);
	CHECK(carol > 0 && carol != bob);

	c1 = store_conv_add("support", "bob@example.com/phone", bob, "xmpp", "queued", NULL, now);
	c2 = store_conv_add("sales", "carol@example.com/web", carol, "xmpp", "queued", NULL, now + 1);
	CHECK(c1 > 0);
	CHECK(c2 > c1);

	/* group commit: nothing is visible to another connection before store_commit */
	CHECK_INT(q_int("SELECT count(*) FROM conversations"), 0);
	CHECK_INT(q_int("SELECT count(*) FROM contacts"), 0);
	CHECK_INT(store_commit(), 0);
	CHECK_INT(q_int("SELECT count(*) FROM conversations"), 2);
	CHECK_INT(q_int("SELECT count(*) FROM contacts"), 2);
	CHECK_INT(q_int("SELECT count(*) FROM identities WHERE kind = 'jid'"), 2);
	CHECK_INT(q_int("SELECT contact_id FROM identities WHERE value = 'bob@example.com'"), bob);
	CHECK_Q(iso(now), "SELECT created_at FROM contacts WHERE id = %lld", (long long)bob);
	/* known after the commit, too */
	bob2 = store_contact_for_jid("bob@example.com", now + 60);
	CHECK_INT(bob2, bob);

	CHECK_INT(store_conv_customer(c1, "bob@example.com/laptop"), 0);
	CHECK_INT(store_conv_assign(c1, "alice@example.com", now + 10), 0);
	CHECK_INT(store_conv_first_response(c1, now + 20), 0);
	CHECK_INT(store_conv_first_response(c1, now + 30), 0); /* the first one stays */
	CHECK_INT(store_message_add(c1, "in", "bob@example.com/phone", "Hello, my order", now + 1),
	    0);
	CHECK_INT(store_message_add(c1, "out", "alice@example.com", "Hi Bob", now + 20), 0);
	CHECK_INT(store_message_add(c1, "note", "alice@example.com", "a regular", now + 25), 0);
	CHECK_INT(store_message_add(c1, "in", "bob@example.com/laptop", "Thanks", now + 40), 0);
	CHECK_INT(store_message_add(c2, "out", "alice@example.com", "Anyone there?", now + 50), 0);
	CHECK_INT(store_tag_add(c1, "billing"), 0);
	CHECK_INT(store_tag_add(c1, "refund"), 0);
	CHECK_INT(store_tag_add(c1, "billing"), 0); /* once only */
	t1 = store_task_add(c1, bob, "alice@example.com", "follow-up", "call back", now + 3600, now);
	t2 = store_task_add(0, 0, "support", "callback", "no conversation", 0, now);
	CHECK(t1 > 0);
	CHECK(t2 > t1);

	/* this connection reads its own batch before the commit */
	s = store_tags(c1);
	CHECK_STR(s, "billing, refund");
	free(s);
	CHECK_INT(q_int("SELECT count(*) FROM messages"), 0);
	CHECK_INT(store_commit(), 0);

	CHECK_INT(q_int("SELECT count(*) FROM messages"), 5);
	CHECK_INT(q_int("SELECT count(*) FROM conversation_tags"), 2);
	CHECK_Q("active", "SELECT state FROM conversations WHERE id = %lld", (long long)c1);
	CHECK_Q(iso(now + 20), "SELECT first_response_at FROM conversations WHERE id = %lld",
	    (long long)c1);
	CHECK_Q("call back|alice@example.com|follow-up|open",
	    "SELECT title || '|' || assignee_jid || '|' || kind || '|' || status FROM tasks "
	    "WHERE id = %lld AND conversation_id = %lld AND contact_id = %lld", (long long)t1,
	    (long long)c1, (long long)bob);
	CHECK_Q(iso(now + 3600), "SELECT due_at FROM tasks WHERE id = %lld", (long long)t1);
	CHECK_INT(q_int("SELECT count(*) FROM tasks WHERE id = %lld AND conversation_id IS NULL "
	    "AND contact_id IS NULL AND due_at IS NULL", (long long)t2), 1);

	/* a second assignment moves the chat but keeps when it was first assigned */
	CHECK_INT(store_conv_assign(c1, "dave@example.com", now + 35), 0);
	CHECK_INT(store_conv_assign(c1, "alice@example.com", now + 36), 0);
	CHECK_INT(store_commit(), 0);

	/* the open conversations, oldest first, with their fields */
	memset(&convs, 0, sizeof(convs));
	CHECK_INT(store_conv_open_foreach(collect_conv, &convs), 0);
	CHECK_INT(convs.n, 2);
	CHECK_INT(convs.c[0].id, c1);
	CHECK_INT(convs.c[0].contact_id, bob);
	CHECK_STR(convs.c[0].queue, "support");
	CHECK_STR(convs.c[0].customer, "bob@example.com/laptop");
	CHECK_STR(convs.c[0].agent, "alice@example.com");
	CHECK_STR(convs.c[0].channel, "xmpp");
	CHECK_STR(convs.c[0].state, "active");
	CHECK_INT(convs.c[0].created_at, now);
	CHECK_INT(convs.c[0].assigned_at, now + 10);
	CHECK_INT(convs.c[0].first_response_at, now + 20);
	CHECK_INT(convs.c[1].id, c2);
	CHECK_STR(convs.c[1].queue, "sales");
	CHECK_STR(convs.c[1].agent, "-");
	CHECK_STR(convs.c[1].state, "queued");
	CHECK_INT(convs.c[1].created_at, now + 1);
	CHECK_INT(convs.c[1].assigned_at, 0);
	CHECK_INT(convs.c[1].first_response_at, 0);
	/* the callback stops the walk */
	memset(&convs, 0, sizeof(convs));
	convs.stop_after = 1;
	CHECK_INT(store_conv_open_foreach(collect_conv, &convs), -1);
	CHECK_INT(convs.n, 1);

	/* the transcript in order, notes included */
	memset(&msgs, 0, sizeof(msgs));
	CHECK_INT(store_messages_foreach(c1, collect_message, &msgs), 0);
	CHECK_INT(msgs.n, 4);
	CHECK_STR(msgs.text, "in|bob@example.com/phone|Hello, my order|1\n"
	    "out|alice@example.com|Hi Bob|20\n"
	    "note|alice@example.com|a regular|25\n"
	    "in|bob@example.com/laptop|Thanks|40\n");
	memset(&msgs, 0, sizeof(msgs));
	CHECK_INT(store_messages_foreach(9999, collect_message, &msgs), 0);
	CHECK_INT(msgs.n, 0);

	/* tags and the customer's first words */
	s = store_tags(c1);
	CHECK_STR(s, "billing, refund");
	free(s);
	CHECK(store_tags(c2) == NULL);
	s = store_first_message(c1);
	CHECK_STR(s, "Hello, my order");
	free(s);
	CHECK(store_first_message(c2) == NULL); /* only the agent wrote */

	/* closing writes the state and one summary, together */
	CHECK_INT(store_conv_close(c1, "agent", "alice@example.com", "Bob asked about an order.",
	    "billing, refund", 1, now + 100), 0);
	CHECK_INT(q_int("SELECT count(*) FROM summaries"), 0);
	CHECK_INT(store_commit(), 0);
	CHECK_Q("closed", "SELECT state FROM conversations WHERE id = %lld", (long long)c1);
	CHECK_Q(iso(now + 100), "SELECT closed_at FROM conversations WHERE id = %lld",
	    (long long)c1);
	CHECK_Q("agent", "SELECT close_reason FROM conversations WHERE id = %lld", (long long)c1);
	CHECK_INT(q_int("SELECT count(*) FROM summaries WHERE conversation_id = %lld",
	    (long long)c1), 1);
	CHECK_Q("alice@example.com|Bob asked about an order.|billing, refund|1",
	    "SELECT agent_jid || '|' || summary || '|' || tags || '|' || resolved FROM summaries "
	    "WHERE conversation_id = %lld", (long long)c1);
	CHECK_Q(iso(now + 100), "SELECT created_at FROM summaries WHERE conversation_id = %lld",
	    (long long)c1);

	/* closing again changes nothing and says so; the batch goes on */
	CHECK_INT(store_message_add(c2, "in", "carol@example.com/web", "Hello?", now + 150), 0);
	CHECK_INT(store_conv_close(c1, "timeout", NULL, "another", NULL, 0, now + 200), -1);
	CHECK_INT(store_commit(), 0);
	CHECK_INT(q_int("SELECT count(*) FROM summaries WHERE conversation_id = %lld",
	    (long long)c1), 1);
	CHECK_Q("Bob asked about an order.", "SELECT summary FROM summaries");
	CHECK_Q(iso(now + 100), "SELECT closed_at FROM conversations WHERE id = %lld",
	    (long long)c1);
	CHECK_Q("agent", "SELECT close_reason FROM conversations WHERE id = %lld", (long long)c1);
	CHECK_INT(q_int("SELECT count(*) FROM messages WHERE conversation_id = %lld",
	    (long long)c2), 2);
	s = store_first_message(c2);
	CHECK_STR(s, "Hello?");
	free(s);

	/* a conversation that does not exist cannot be closed */
	CHECK_INT(store_conv_close(9999, "agent", NULL, "x", NULL, 1, now), -1);
	CHECK_INT(store_commit(), 0);
	CHECK_INT(q_int("SELECT count(*) FROM summaries"), 1);

	/* only c2 is still open */
	memset(&convs, 0, sizeof(convs));
	CHECK_INT(store_conv_open_foreach(collect_conv, &convs), 0);
	CHECK_INT(convs.n, 1);
	CHECK_INT(convs.c[0].id, c2);

	/* a queued conversation closed without an agent; NULL tags are stored as "" */
	CHECK_INT(store_conv_close(c2, "timeout", NULL, "Nobody answered.", NULL, 0, now + 300), 0);
	/* store_close commits the open batch */
	store_close();
	CHECK_Q("closed|timeout", "SELECT state || '|' || close_reason FROM conversations "
	    "WHERE id = %lld", (long long)c2);
	CHECK_INT(q_int("SELECT count(*) FROM summaries WHERE conversation_id = %lld AND "
	    "agent_jid IS NULL AND tags = '' AND resolved = 0", (long long)c2), 1);

	CHECK_INT(store_open(dbpath, 0), 0);
	memset(&convs, 0, sizeof(convs));
	CHECK_INT(store_conv_open_foreach(collect_conv, &convs), 0);
	CHECK_INT(convs.n, 0);
	store_close();
}

/*
 * Identities: the JID, a gateway's phone, a visitor id are verified and find their contact; a
 * phone written in a chat is not and finds nothing, and a verified one takes it over.
 */
static void
verified_identities(void)
{
	struct identity gw[2] = { { "phone", "+15551234567" }, { "jid", "+15551234567@wa.example" } };
	struct contact_card k;
	int64_t dan, gwc, merge, kept, merged;
	int created = -1;

	CHECK_INT(store_open(dbpath, 0), 0);
	dan = store_contact_for_jid("dan@example.com", now);
	CHECK_INT(store_identity_add(dan, "phone", "+15551234567", 0, now), 0);
	CHECK_INT(store_contact_fill(dan, NULL, "+15551234567"), 0);
	CHECK_INT(store_identity_add(dan, "email", "eve@example.com", 0, now), 0);
	CHECK_INT(store_contact_fill(dan, "eve@example.com", NULL), 0);
	CHECK_INT(store_contact_card(dan, 0, &k), 0);
	CHECK_STR(k.phone, "+15551234567");
	CHECK_INT(k.phone_verified, 0);
	CHECK_INT(k.email_verified, 0);

	/* the gateway's customer is not dan, who only wrote that number */
	gwc = store_contact_for(gw, 2, now + 10, &created);
	CHECK_INT(created, 1);
	CHECK(gwc > 0 && gwc != dan);
	CHECK_INT(store_commit(), 0);
	CHECK_INT(q_int("SELECT contact_id FROM identities WHERE kind = 'phone' AND value = "
	    "'+15551234567' AND verified = 1"), gwc);
	CHECK_INT(store_contact_card(gwc, 0, &k), 0);
	CHECK_STR(k.phone, "+15551234567");
	CHECK_INT(k.phone_verified, 1);
	CHECK_INT(store_contact_for(gw, 1, now + 20, &created), gwc); /* found by the phone */
	CHECK_INT(created, 0);
	/* a written detail never takes a verified one over */
	CHECK_INT(store_identity_add(dan, "phone", "+15551234567", 0, now + 30), 0);
	CHECK_INT(q_int("SELECT contact_id FROM identities WHERE value = '+15551234567'"), gwc);
	CHECK_INT(store_contact_card(dan, 0, &k), 0); /* dan still has it, unverified */
	CHECK_STR(k.phone, "+15551234567");
	CHECK_INT(k.phone_verified, 0);

	/* a merge moves identities with their flags, and its undo moves them back */
	merge = store_contact_merge(dan, gwc, "test", now + 40);
	CHECK(merge > 0);
	CHECK_INT(store_commit(), 0);
	CHECK_INT(q_int("SELECT count(*) FROM identities WHERE contact_id = %lld AND verified = 0",
	    (long long)dan), 1);
	CHECK_INT(q_int("SELECT count(*) FROM identities WHERE contact_id = %lld AND verified = 1",
	    (long long)dan), 3);
	CHECK_INT(store_contact_card(gwc, 0, &k), 0); /* read as the kept contact */
	CHECK_INT(k.id, dan);
	CHECK_INT(k.phone_verified, 1); /* dan's number is now a verified one of his own */
	CHECK_INT(store_merge_undo(merge, now + 50, &kept, &merged), 0);
	CHECK_INT(store_commit(), 0);
	CHECK_INT(kept, dan);
	CHECK_INT(merged, gwc);
	CHECK_INT(q_int("SELECT contact_id FROM identities WHERE value = '+15551234567'"), gwc);
	CHECK_INT(store_contact_card(dan, 0, &k), 0);
	CHECK_INT(k.phone_verified, 0);
	store_close();
}

/* A database of version 6: the details that were written in chats become unverified. */
static void
migrate_verified(void)
{
	char path[600], *err = NULL;
	sqlite3 *db;
	sqlite3_stmt *s;
	size_t i;
	const char *rows = "INSERT INTO contacts (id, created_at) VALUES "
	    "(1, '2026-01-01T10:00:00Z'), (2, '2026-01-01T10:00:00Z');"
	    "INSERT INTO conversations (contact_id, queue, customer_jid, channel, state, "
	    "created_at) VALUES (1, 'q', '+15551234567@wa/x', 'whatsapp', 'closed', "
	    "'2026-01-01T10:00:00Z'), (2, 'q', 'x@guest/y', 'web', 'closed', "
	    "'2026-01-01T10:00:00Z');"
	    "INSERT INTO identities (contact_id, kind, value, created_at) VALUES "
	    "(1, 'jid', '+15551234567@wa', '2026-01-01T10:00:00Z'),"
	    "(1, 'phone', '+15551234567', '2026-01-01T10:00:00Z'),"
	    "(2, 'jid', 'x@guest', '2026-01-01T10:00:00Z'),"
	    "(2, 'visitor', 'v-1', '2026-01-01T10:00:00Z'),"
	    "(2, 'phone', '+358401234567', '2026-01-01T10:00:05Z'),"
	    "(2, 'email', 'x@example.com', '2026-01-01T10:00:05Z');"
	    "PRAGMA user_version = 6";

	snprintf(path, sizeof(path), "%s/v6.db", tmpdir);
	CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
	for (i = 0; i < nmigrations && migrations[i].version <= 6; i++)
		CHECK_INT(sqlite3_exec(db, migrations[i].sql, NULL, NULL, NULL), SQLITE_OK);
	CHECK_INT(sqlite3_exec(db, rows, NULL, NULL, &err), SQLITE_OK);
	if (err)
		fprintf(stderr, "%s\n", err);
	sqlite3_free(err);
	sqlite3_close(db);
	CHECK_INT(store_open(path, 0), 0);
	store_close();
	CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
	CHECK_INT(sqlite3_prepare_v2(db, "SELECT group_concat(kind || ':' || verified, ' ') FROM "
	    "(SELECT kind, verified FROM identities ORDER BY contact_id, kind)", -1, &s, NULL),
	    SQLITE_OK);
	CHECK_INT(sqlite3_step(s), SQLITE_ROW);
	CHECK_STR((const char *)sqlite3_column_text(s, 0),
	    "jid:1 phone:1 email:0 jid:1 phone:0 visitor:1");
	sqlite3_finalize(s);
	sqlite3_close(db);
	for (i = 0; i < 3; i++) {
		const char *suffixes[] = { "", "-wal", "-shm" };

		snprintf(path, sizeof(path), "%s/v6.db%s", tmpdir, suffixes[i]);
		unlink(path);
	}
}

/* A database written by a newer respa is left alone. */
static void
newer_schema(void)
{
	char path[600];
	sqlite3 *db;

	snprintf(path, sizeof(path), "%s/newer.db", tmpdir);
	CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
	CHECK_INT(sqlite3_exec(db, "CREATE TABLE future (x); PRAGMA user_version = 99", NULL, NULL,
	    NULL), SQLITE_OK);
	sqlite3_close(db);
	CHECK_INT(store_open(path, 0), -1);
	store_close(); /* harmless after a failed open */
	CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
	{
		sqlite3_stmt *s;

		CHECK_INT(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL), SQLITE_OK);
		CHECK_INT(sqlite3_step(s), SQLITE_ROW);
		CHECK_INT(sqlite3_column_int(s, 0), 99);
		sqlite3_finalize(s);
		CHECK_INT(sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master WHERE name = "
		    "'conversations'", -1, &s, NULL), SQLITE_OK);
		CHECK_INT(sqlite3_step(s), SQLITE_ROW);
		CHECK_INT(sqlite3_column_int(s, 0), 0);
		sqlite3_finalize(s);
	}
	sqlite3_close(db);

	/* and the store opens a good database after that */
	CHECK_INT(store_open(dbpath, 0), 0);
	CHECK_INT(store_user_version(), migrations[nmigrations - 1].version);
	store_close();

	unlink(path);
	snprintf(path, sizeof(path), "%s/newer.db-wal", tmpdir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/newer.db-shm", tmpdir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/newer.db-journal", tmpdir);
	unlink(path);
}

/* A directory that does not exist cannot hold the database. */
static void
bad_path(void)
{
	char path[600];

	snprintf(path, sizeof(path), "%s/no/such/dir/respa.db", tmpdir);
	CHECK_INT(store_open(path, 0), -1);
}

int
main(void)
{
	const char *t = getenv("TMPDIR");
	const char *suffixes[] = { "", "-wal", "-shm" };
	size_t i;

	snprintf(tmpdir, sizeof(tmpdir), "%s/respa-test-store-XXXXXX", t && *t ? t : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		perror(tmpdir);
		return 2;
	}
	snprintf(dbpath, sizeof(dbpath), "%s/respa.db", tmpdir);
	open_and_migrate();
	lifecycle();
	failed_write();
	verified_identities();
	migrate_verified();
	card_cut();
	newer_schema();
	bad_path();
	sqlite3_close(other);
	for (i = 0; i < 3; i++) {
		char path[600];

		snprintf(path, sizeof(path), "%s%s", dbpath, suffixes[i]);
		unlink(path);
	}
	if (rmdir(tmpdir) == -1)
		perror(tmpdir);
	return check_done();
}
