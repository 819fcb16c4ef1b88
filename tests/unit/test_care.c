/*
 * Data care: the hook's backoff, export's dates and CSV fields, the [crm] keys, and in
 * store.c the record, export, hook deliveries, retention and erasure on a temporary
 * database, checked through a second connection and the file's own bytes.
 */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "check.h"

static char tmpdir[256], dbpath[512];
static sqlite3 *other;
static const time_t now = 1795600800; /* 2026-11-25T10:00:00Z */

static long long
q_int(const char *sql)
{
	sqlite3_stmt *s;
	long long v = -1;

	if (sqlite3_prepare_v2(other, sql, -1, &s, NULL) != SQLITE_OK) {
		fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(other));
		return -2;
	}
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

static void
backoff(void)
{
	CHECK_INT(hook_backoff(1), 10);
	CHECK_INT(hook_backoff(2), 60);
	CHECK_INT(hook_backoff(3), 300);
	CHECK_INT(hook_backoff(4), 1800);
	CHECK_INT(hook_backoff(5), 3600);
	CHECK_INT(hook_backoff(10), 3600);
	CHECK_INT(hook_backoff(0), 10);
}

static void
dates(void)
{
	static const char *const bad[] = { "2026-13-01", "2026-02-30", "2026-11-25T25:00",
		"2026-11-25x", "26-11-25", "", "2026-11-25T10", "2026-11-25T10:00:00+02:00",
		"2026-1-05", "2026-11-25T10:00:60", "2026-11-25T10:00:0", "tomorrow" };
	time_t t = 0;
	size_t i;

	CHECK_INT(export_parse_time("2026-11-25", 0, &t), 0);
	CHECK_INT(t, now - 10 * 3600);
	CHECK_INT(export_parse_time("2026-11-25", 1, &t), 0); /* --until: the whole day */
	CHECK_INT(t, now + 14 * 3600);
	CHECK_INT(export_parse_time("2026-11-25T10:00", 0, &t), 0);
	CHECK_INT(t, now);
	CHECK_INT(export_parse_time("2026-11-25T10:00:00Z", 1, &t), 0); /* a time is exact */
	CHECK_INT(t, now);
	CHECK_INT(export_parse_time("2026-11-25 10:00:30", 0, &t), 0);
	CHECK_INT(t, now + 30);
	CHECK_INT(export_parse_time("2028-02-29", 0, &t), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (!check_report(export_parse_time(bad[i], 0, &t) == -1, __FILE__, __LINE__,
		    "bad date refused"))
			fprintf(stderr, "\taccepted \"%s\"\n", bad[i]);
}

static void
csv_cell(const char *in, int guard, const char *want)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	export_csv_field(f, in, guard);
	fclose(f);
	CHECK_STR(buf, want);
	free(buf);
}
#define csv_field(in, want) csv_cell(in, 1, want)

static void
csv(void)
{
	csv_field(NULL, "");
	csv_field("", "");
	csv_field("plain text", "plain text");
	csv_field("a,b", "\"a,b\"");
	csv_field("say \"hi\"", "\"say \"\"hi\"\"\"");
	csv_field("two\nlines", "\"two\nlines\"");
	csv_field("cr\r", "\"cr\r\"");
	csv_field(" edge", "\" edge\"");
	/* formula cells get a leading ' (OWASP), unless the guard is off (--raw-csv) */
	csv_field("=1+1", "'=1+1");
	csv_field("+1 555", "'+1 555");
	csv_field("-2", "'-2");
	csv_field("@SUM(A1)", "'@SUM(A1)");
	csv_field("\tx", "'\tx");
	csv_field("\rx", "\"'\rx\"");
	csv_field("=HYPERLINK(\"x\",\"y\")", "\"'=HYPERLINK(\"\"x\"\",\"\"y\"\")\"");
	csv_field("a=b", "a=b");
	csv_field("'=1", "'=1");
	csv_cell("=1+1", 0, "=1+1");
	csv_cell("@x,y", 0, "\"@x,y\"");
	csv_cell("-2", 0, "-2");
}

/* Loads a configuration with these [crm] lines: the config, or NULL (errors in err). */
static struct config *
load(const char *crm, char *err, size_t errlen)
{
	char path[600];
	struct config *c;
	FILE *f, *e;

	snprintf(path, sizeof(path), "%s/respa.conf", tmpdir);
	f = fopen(path, "w");
	fprintf(f, "[component]\njid = support.example.com\nsecret = s\n[crm]\n%s", crm);
	fclose(f);
	chmod(path, 0600);
	e = fmemopen(err, errlen, "w");
	c = config_load(path, e);
	fclose(e);
	unlink(path);
	return c;
}

static void
config_keys(void)
{
	struct config *c;
	char err[512];

	memset(err, 0, sizeof(err));
	c = load("default_country = 358\n", err, sizeof(err));
	CHECK(c != NULL);
	if (c) {
		CHECK(c->hook == NULL);
		CHECK_INT(c->hook_timeout, 30);
		CHECK_INT(c->hook_retries, 10);
		CHECK_INT(c->retention_days, 0);
		config_free(c);
	}
	c = load("hook = /usr/local/bin/push-crm  --to  crm.example.com\nhook_timeout = 2m\n"
	    "hook_retries = 3\nretention_days = 90\n", err, sizeof(err));
	CHECK(c != NULL);
	if (c) {
		CHECK(c->hook != NULL);
		CHECK_STR(c->hook[0], "/usr/local/bin/push-crm");
		CHECK_STR(c->hook[1], "--to");
		CHECK_STR(c->hook[2], "crm.example.com");
		CHECK(c->hook[3] == NULL);
		CHECK_INT(c->hook_timeout, 120);
		CHECK_INT(c->hook_retries, 3);
		CHECK_INT(c->retention_days, 90);
		config_free(c);
	}
	memset(err, 0, sizeof(err));
	c = load("hook = push-crm --to x\nhook_timeout = 0\nhook_retries = many\n"
	    "retention_days = -1\n", err, sizeof(err));
	CHECK(c == NULL);
	CHECK(strstr(err, ":5: hook must start with the absolute path") != NULL);
	CHECK(strstr(err, ":6: hook_timeout must be a duration") != NULL);
	CHECK(strstr(err, ":7: hook_retries must be a number") != NULL);
	CHECK(strstr(err, ":8: retention_days must be a number of days") != NULL);
}

/* A closed conversation of a new contact with two messages, a tag and a task. */
static int64_t
closed_chat(const char *jid, const char *phone, const char *text, time_t at)
{
	struct identity ids[2] = { { "jid", jid }, { "phone", phone } };
	int64_t contact = store_contact_for(ids, phone ? 2 : 1, at, NULL);
	int64_t conv = store_conv_add("support", jid, contact, "xmpp", "queued", NULL, at);
	char *full = xasprintf("%s/phone", jid);

	CHECK_INT(store_conv_customer(conv, full), 0);
	CHECK_INT(store_conv_assign(conv, "alice@example.com", at + 5), 0);
	CHECK_INT(store_message_add(conv, "in", full, text, at + 1), 0);
	CHECK_INT(store_message_add(conv, "out", "alice@example.com", "Let me see, \"ok\"?",
	    at + 9), 0);
	CHECK_INT(store_tag_add(conv, "billing"), 0);
	CHECK(store_task_add(conv, contact, "alice@example.com", "follow-up", "Call back",
	    at + 86400, at + 10) > 0);
	CHECK_INT(store_conv_close(conv, "agent", "alice@example.com", "Asked about a bill.",
	    "billing", 1, at + 60), 0);
	CHECK_INT(store_commit(), 0);
	free(full);
	return conv;
}

static void
record(int64_t conv)
{
	char *j = store_record(conv);

	CHECK(j != NULL);
	if (j == NULL)
		return;
	CHECK(strstr(j, "\"state\":\"closed\"") != NULL);
	CHECK(strstr(j, "\"summary\":\"Asked about a bill.\"") != NULL);
	CHECK(strstr(j, "\"resolved\":true") != NULL);
	CHECK(strstr(j, "\"tags\":[\"billing\"]") != NULL);
	CHECK(strstr(j, "\"identities\":[{\"kind\":\"jid\",\"value\":\"bob@example.com\"},"
	    "{\"kind\":\"phone\",\"value\":\"+15551234567\"}]") != NULL);
	CHECK(strstr(j, "\"from\":\"alice@example.com\",\"body\":\"Let me see, \\\"ok\\\"?\"") !=
	    NULL);
	CHECK(strstr(j, "\"title\":\"Call back\"") != NULL);
	CHECK(strstr(j, "\"transcript_deleted_at\":null") != NULL);
	free(j);
	CHECK(store_record(999999) == NULL);
}

struct rows {
	int n, header;
	char first[64];
};

static int
count_rows(int n, const char *const *names, const char *const *values, void *arg)
{
	struct rows *r = arg;

	if (values == NULL) {
		r->header = n;
		CHECK_STR(names[0], n == 1 ? "record" : "id");
		return 0;
	}
	if (r->n++ == 0)
		snprintf(r->first, sizeof(r->first), "%s", n == 1 ? values[0] + 1 : values[0]);
	return 0;
}

static void
export(int64_t old, int64_t recent)
{
	struct rows r;
	char want[64];

	memset(&r, 0, sizeof(r));
	CHECK_INT(store_export_foreach(0, 0, 0, 0, count_rows, &r), 0);
	CHECK_INT(r.header, 1);
	CHECK_INT(r.n, 2);
	snprintf(want, sizeof(want), "\"id\":%lld,", (long long)old);
	CHECK(strncmp(r.first, want, strlen(want)) == 0);
	memset(&r, 0, sizeof(r));
	CHECK_INT(store_export_foreach(now - 86400, 0, 0, 1, count_rows, &r), 0);
	CHECK(r.header > 20);
	CHECK_INT(r.n, 1);
	CHECK_INT(atoll(r.first), recent);
	memset(&r, 0, sizeof(r));
	CHECK_INT(store_export_foreach(0, now - 86400, 0, 1, count_rows, &r), 0);
	CHECK_INT(r.n, 1);
	CHECK_INT(atoll(r.first), old);
}

static void
hook_deliveries(int64_t conv)
{
	int64_t convs[4];
	int attempts[4];

	CHECK_INT(store_hook_next(), 0);
	CHECK_INT(store_hook_add(conv, now), 0);
	CHECK_INT(store_hook_add(conv, now), 0); /* once */
	CHECK(store_batch_id() != 0);
	CHECK_INT(store_commit(), 0);
	CHECK_INT(store_batch_id(), 0);
	CHECK_INT(store_hook_next(), now);
	CHECK_INT(store_hook_due(now - 1, convs, attempts, 4), 0);
	CHECK_INT(store_hook_due(now, convs, attempts, 4), 1);
	CHECK_INT(convs[0], conv);
	CHECK_INT(attempts[0], 0);
	CHECK_INT(store_hook_failed(conv, 1, now + 10, "exited 1"), 0);
	CHECK_INT(store_commit(), 0);
	CHECK_INT(store_hook_due(now + 9, convs, attempts, 4), 0);
	CHECK_INT(store_hook_due(now + 10, convs, attempts, 4), 1);
	CHECK_INT(attempts[0], 1);
	CHECK_INT(store_hook_failed(conv, 2, 0, "killed by signal 9"), 0); /* given up */
	CHECK_INT(store_commit(), 0);
	CHECK_INT(store_hook_next(), 0);
	CHECK_INT(q_int("SELECT count(*) FROM hook_deliveries WHERE status = 'failed' "
	    "AND last_error = 'killed by signal 9'"), 1);
	CHECK_INT(store_hook_done(conv), 0);
	CHECK_INT(store_commit(), 0);
	CHECK_INT(q_int("SELECT count(*) FROM hook_deliveries"), 0);
}

static void
retention(int64_t old, int64_t recent)
{
	int messages = 0, convs = 0, rc, rounds = 0;

	/* closed 10 days ago and now: keep 7 days; one message a batch */
	while ((rc = store_transcripts_delete(now - 7 * 86400, now, 1, &messages, &convs)) == 1 &&
	    rounds++ < 10)
		CHECK_INT(store_commit(), 0);
	CHECK_INT(rc, 0);
	CHECK_INT(store_commit(), 0);
	CHECK_INT(messages, 2);
	CHECK_INT(convs, 1);
	CHECK(rounds >= 2);
	CHECK_INT(q_int("SELECT count(*) FROM messages WHERE conversation_id = (SELECT min(id) "
	    "FROM conversations)"), 0);
	CHECK_INT(q_int("SELECT count(*) FROM messages"), 2);
	CHECK_INT(q_int("SELECT count(*) FROM summaries"), 2);
	CHECK_INT(q_int("SELECT count(*) FROM conversation_tags"), 2);
	CHECK_INT(q_int("SELECT count(*) FROM tasks"), 2);
	CHECK_INT(q_int("SELECT count(*) FROM conversations WHERE transcript_deleted_at IS NOT "
	    "NULL"), 1);
	(void)old;
	(void)recent;
	messages = convs = 0;
	CHECK_INT(store_transcripts_delete(now - 7 * 86400, now, 100, &messages, &convs), 0);
	CHECK_INT(messages + convs, 0); /* nothing twice */
}

/* Does the database file or its WAL hold s? */
static int
file_has(const char *s)
{
	static const char *const suffixes[] = { "", "-wal" };
	char path[600], *buf;
	size_t i, len;
	int found = 0;
	FILE *f;

	for (i = 0; i < 2 && !found; i++) {
		snprintf(path, sizeof(path), "%s%s", dbpath, suffixes[i]);
		if ((f = fopen(path, "rb")) == NULL)
			continue;
		buf = xmalloc(64 << 20);
		len = fread(buf, 1, 64 << 20, f);
		fclose(f);
		found = memmem(buf, len, s, strlen(s)) != NULL;
		free(buf);
	}
	return found;
}

static void
erase(void)
{
	struct erase_report r;
	int64_t ids[4], first = 0, carol, dave, open, erin, gina;

	CHECK_INT(store_contact_find("bob@example.com", ids, 4), 1);
	CHECK_INT(store_contact_find("+15551234567", ids, 4), 1);
	CHECK_INT(store_contact_find("nobody@example.com", ids, 4), 0);
	carol = store_contact_for_jid("carol@example.com", now);
	dave = store_contact_for_jid("dave@example.com", now);
	open = store_conv_add("support", "carol@example.com/x", carol, "xmpp", "queued", NULL, now);
	CHECK_INT(store_message_add(open, "in", "carol@example.com/x", "Carol's question", now), 0);
	CHECK_INT(store_commit(), 0);
	/* dave is merged into carol: found as carol, erased with her */
	CHECK_INT(sqlite3_exec(other, "UPDATE contacts SET merged_into = (SELECT contact_id FROM "
	    "identities WHERE value = 'carol@example.com'), email = 'Dave@Example.org' WHERE id = "
	    "(SELECT contact_id FROM identities WHERE value = 'dave@example.com')", NULL, NULL,
	    NULL), SQLITE_OK);
	CHECK_INT(store_contact_find("dave@example.com", ids, 4), 1);
	CHECK_INT(ids[0], carol);
	CHECK_INT(store_contact_find("dave@example.org", ids, 4), 1); /* email: any case */
	CHECK_INT(ids[0], carol);
	{
		char digits[32];

		snprintf(digits, sizeof(digits), "%lld", (long long)dave);
		CHECK_INT(store_contact_find(digits, ids, 4), 1);
		CHECK_INT(ids[0], carol);
	}
	CHECK_INT(store_contact_open_count(carol, &first), 1);
	CHECK_INT(first, open);
	CHECK_INT(store_contact_find("bob@example.com", ids, 4), 1);
	CHECK_INT(store_contact_open_count(ids[0], &first), 0);

	/* bob: everything gone, from the tables and from the file's bytes */
	CHECK(file_has("bob@example.com"));
	CHECK(file_has("my invoice is wrong"));
	CHECK_INT(store_message_add(open, "out", "alice@example.com", "pending", now), 0);
	CHECK(store_batch_id() != 0); /* erasing commits the pass's batch first */
	CHECK_INT(store_contact_erase(ids[0], &r), 0);
	CHECK_INT(store_batch_id(), 0);
	CHECK_INT(q_int("SELECT count(*) FROM messages WHERE body = 'pending'"), 1);
	CHECK_INT(r.contacts, 1);
	CHECK_INT(r.conversations, 2);
	CHECK_INT(r.messages, 2); /* the old chat's transcript went with retention */
	CHECK_INT(r.tasks, 2);
	CHECK_INT(r.identities, 2);
	CHECK_STR(r.leftover, "");
	CHECK_INT(q_int("SELECT count(*) FROM contacts WHERE id = (SELECT contact_id FROM "
	    "identities WHERE value = 'bob@example.com')"), 0);
	CHECK_INT(q_int("SELECT count(*) FROM identities WHERE value LIKE 'bob%' OR value = "
	    "'+15551234567'"), 0);
	CHECK_INT(q_int("SELECT count(*) FROM conversations WHERE customer_jid LIKE 'bob%'"), 0);
	CHECK_INT(q_int("SELECT count(*) FROM summaries"), 0);
	CHECK_INT(q_int("SELECT count(*) FROM tasks"), 0);
	CHECK_INT(q_int("SELECT count(*) FROM messages"), 2); /* carol's */
	CHECK(!file_has("bob@example.com"));
	CHECK(!file_has("+15551234567"));
	CHECK(!file_has("my invoice is wrong"));
	CHECK(!file_has("the second chat"));
	CHECK(file_has("Carol's question"));
	CHECK(file_has("carol@example.com"));

	/* a stale copy that secure_delete did not zero (another connection deleted without it):
	 * the file is rewritten */
	erin = store_contact_for_jid("erin@example.com", now);
	CHECK_INT(store_commit(), 0);
	CHECK_INT(sqlite3_exec(other, "PRAGMA secure_delete = OFF; INSERT INTO conversation_tags "
	    "SELECT min(id), 'erin@example.com' FROM conversations; DELETE FROM conversation_tags "
	    "WHERE tag = 'erin@example.com'", NULL, NULL, NULL), SQLITE_OK);
	CHECK_INT(store_contact_erase(erin, &r), 0);
	CHECK_INT(r.vacuumed, 1);
	CHECK_STR(r.leftover, "");
	CHECK(!file_has("erin@example.com"));
	/* what another contact's record says stays, and is reported */
	gina = store_contact_for_jid("gina@example.com", now);
	CHECK_INT(store_message_add(open, "in", "carol@example.com/x", "my friend gina@example.com",
	    now), 0);
	CHECK_INT(store_contact_erase(gina, &r), 0);
	CHECK_INT(r.vacuumed, 1);
	CHECK_STR(r.leftover, "gina@example.com");
	CHECK_INT(q_int("SELECT count(*) FROM identities WHERE value = 'gina@example.com'"), 0);

	/* carol, with the contact merged into her and her open conversation */
	CHECK_INT(store_contact_erase(carol, &r), 0);
	CHECK_INT(r.contacts, 2);
	CHECK_INT(r.conversations, 1);
	CHECK_INT(q_int("SELECT count(*) FROM contacts"), 0);
	CHECK_INT(q_int("SELECT count(*) FROM identities"), 0);
	CHECK(!file_has("Carol's question"));
	CHECK(!file_has("dave@example.com"));
	CHECK(!file_has("Dave@Example.org"));
}

static void
database(void)
{
	int64_t old, recent;

	CHECK_INT(store_open(dbpath, 0), 0);
	CHECK_INT(sqlite3_open(dbpath, &other), SQLITE_OK);
	sqlite3_busy_timeout(other, 5000);
	old = closed_chat("bob@example.com", "+15551234567", "my invoice is wrong",
	    now - 10 * 86400);
	recent = closed_chat("bob@example.com", NULL, "the second chat", now - 3600);
	record(old);
	export(old, recent);
	hook_deliveries(recent);
	retention(old, recent);
	erase();
	store_close();

	/* read-only, as respa export opens it */
	CHECK_INT(store_open_readonly(dbpath), 0);
	{
		struct rows r;

		memset(&r, 0, sizeof(r));
		CHECK_INT(store_export_foreach(0, 0, 1, 0, count_rows, &r), 0);
		CHECK_INT(r.header, 1);
		CHECK_INT(r.n, 0); /* all erased */
	}
	store_close();
	CHECK_INT(sqlite3_exec(other, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
	CHECK_INT(store_open_readonly(dbpath), -1); /* newer */
	CHECK_INT(sqlite3_exec(other, "PRAGMA user_version = 2", NULL, NULL, NULL), SQLITE_OK);
	CHECK_INT(store_open_readonly(dbpath), -1); /* older: respa migrates it first */
	sqlite3_close(other);
}

int
main(void)
{
	const char *t = getenv("TMPDIR");
	const char *suffixes[] = { "", "-wal", "-shm" };
	size_t i;

	log_init(-1, "test_care"); /* the failures these tests cause are expected */
	snprintf(tmpdir, sizeof(tmpdir), "%s/respa-test-care-XXXXXX", t && *t ? t : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		perror(tmpdir);
		return 2;
	}
	snprintf(dbpath, sizeof(dbpath), "%s/respa.db", tmpdir);
	backoff();
	dates();
	csv();
	config_keys();
	database();
	for (i = 0; i < 3; i++) {
		char path[600];

		snprintf(path, sizeof(path), "%s%s", dbpath, suffixes[i]);
		unlink(path);
	}
	if (rmdir(tmpdir) == -1)
		perror(tmpdir);
	return check_done();
}
