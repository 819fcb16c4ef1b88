/*
 * The routing core in process: offers, strategies, tiers, capacity, wrap-up, grace,
 * transfers, max wait, idle close and restore, as the e2e tests drive them through Prosody,
 * but with real modules on a real SQLite file and no server. Stanzas are parsed from strings
 * and fed to the handlers; each pass is committed as main.c's loop does, and what it queued
 * in component.c's outbox is recorded for the checks. The clock stands still until advance()
 * moves it, firing each timer at its own deadline.
 */
#include <dirent.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "check.h"

#define DOMAIN "support.localhost"
#define QUEUE "support@" DOMAIN
#define SALES "sales@" DOMAIN
#define T0 1800000000000LL /* 2027-01-15T08:00:00Z: any fixed instant */

#define GREETING "Hello, and thank you for contacting Support."
#define QUEUED_TEXT "All our agents are busy right now. You are in the queue, and someone " \
	"will answer as soon as they are free."
#define ASSIGNED "An agent has joined the chat."
#define CLOSED "This chat has ended."
#define PAUSED "You are paused: no new chats are offered to you until you write !ready " \
	"here. Your open chats stay with you."
#define READY "You are ready: new chats are offered to you again."
#define DISCONNECTED "Your agent was disconnected. You keep your place at the front of the " \
	"line, and the next free agent takes over the chat."
#define MAX_WAIT_TEXT "We are sorry: no agent has been able to answer yet. Please write your " \
	"email address or phone number here, and we will get back to you. If an agent becomes " \
	"free in the meantime, they will answer here."
#define IDLE_TEXT "This chat was closed because nobody wrote for a while."

/* --- the world: a config, a database, the modules ---------------------------------------- */

static struct {
	char dir[64];
	char *conf_text;
	struct config *conf;
	xmpp_ctx_t *ctx;
	int64_t now;
	int batch; /* feed() leaves the pass open: many stanzas, one commit */
	int failing; /* a statement is made to fail: passes may fail */
	int failed;  /* passes that failed */
} w;

/* One stanza respa queued, as read from the outbox. */
struct sent {
	char *name, *type, *to, *from, *body, *cond;
	int delayed, caps, used;
};
static struct sent *sent;
static size_t nsent, sentcap;
static void (*after_pass)(void); /* an invariant checked after every pass */

static char *
dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static void
record(xmpp_stanza_t *st)
{
	xmpp_stanza_t *err;
	struct sent *s;

	if (nsent == sentcap) {
		sentcap = sentcap ? sentcap * 2 : 256;
		sent = xrealloc(sent, sentcap * sizeof(*sent));
	}
	s = &sent[nsent++];
	memset(s, 0, sizeof(*s));
	s->name = xstrdup(xmpp_stanza_get_name(st));
	s->type = dup_or_null(xmpp_stanza_get_type(st));
	s->to = dup_or_null(xmpp_stanza_get_to(st));
	s->from = dup_or_null(xmpp_stanza_get_from(st));
	if (strcmp(s->name, "message") == 0)
		s->body = stanza_body(st);
	if ((err = xmpp_stanza_get_child_by_name(st, "error")) != NULL &&
	    xmpp_stanza_get_children(err) != NULL)
		s->cond = dup_or_null(xmpp_stanza_get_name(xmpp_stanza_get_children(err)));
	s->delayed = xmpp_stanza_get_child_by_ns(st, NS_DELAY) != NULL;
	s->caps = xmpp_stanza_get_child_by_ns(st, NS_CAPS) != NULL;
}

static void
forget_sent(void)
{
	size_t i;

	for (i = 0; i < nsent; i++) {
		free(sent[i].name);
		free(sent[i].type);
		free(sent[i].to);
		free(sent[i].from);
		free(sent[i].body);
		free(sent[i].cond);
	}
	nsent = 0;
}

/*
 * The end of a pass, as in main.c: commit, then what was queued goes out (here: recorded);
 * when the commit fails, nothing does and memory is rebuilt from the database.
 */
static void
settle(void)
{
	xmpp_stanza_t *const *out;
	size_t i, n;
	int rc = store_commit();

	if (!w.failing)
		CHECK_INT(rc, 0);
	if (rc == -1) { /* as main.c: nothing of the pass goes out, memory from the database */
		w.failed++;
		component_abort_pass();
		conversation_reload();
	} else {
		n = component_outbox(&out);
		for (i = 0; i < n; i++)
			record(out[i]);
		component_flush();
	}
	timer_pass_done(rc == -1);
	if (after_pass)
		after_pass();
}

static void
write_config(void)
{
	char *path = xasprintf("%s/respa.conf", w.dir);
	FILE *f = fopen(path, "w");

	if (f == NULL)
		fatal("%s", path);
	fprintf(f, "[component]\njid = " DOMAIN "\nsecret = test\n"
	    "[storage]\ndatabase = %s/respa.db\n%s", w.dir, w.conf_text);
	fclose(f);
	chmod(path, 0600);
	if ((w.conf = config_load(path, stderr)) == NULL)
		fatalx("bad config:\n%s", w.conf_text);
	free(path);
}

/* The modules up on the database as main.c starts them, with what it holds restored. */
static void
modules_up(void)
{
	write_config();
	if (store_open(w.conf->database, 0) == -1 || desk_load(w.conf) == -1)
		fatalx("store");
	presence_init(w.conf);
	router_init(w.conf);
	queue_init(w.conf);
	tasks_init(w.conf);
	chatcmd_init(w.conf);
	conversation_init(w.conf);
	hook_init(w.conf);
	component_init(w.conf, w.ctx);
	CHECK_INT(conversation_restore(), 0);
	queue_restored();
	tasks_start();
	settle();
}

static void
modules_down(void)
{
	settle();
	conversation_free_all();
	queue_free_all();
	router_free();
	hook_free();
	timer_free_all();
	store_close();
	component_free();
	config_free(w.conf);
	w.conf = NULL;
}

/* Memory-backed when there is one: SQLite's syncs there cost nothing, so the test stays fast. */
static const char *
tmp_base(void)
{
	return access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
}

/* A fresh desk: conf_text is everything after [component] and [storage]. */
static void
up(const char *conf_text)
{
	snprintf(w.dir, sizeof(w.dir), "%s/respa-test-flow-XXXXXX", tmp_base());
	if (mkdtemp(w.dir) == NULL)
		fatal("mkdtemp");
	w.conf_text = xstrdup(conf_text);
	w.now = T0;
	respa_clock_set(w.now);
	modules_up();
	forget_sent();
	after_pass = NULL;
}

/* The temporary directory holds only files: the config and the database's. */
static void
remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char *path;

	while (d && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		path = xasprintf("%s/%s", dir, e->d_name);
		if (unlink(path) == -1)
			fprintf(stderr, "could not remove %s\n", path);
		free(path);
	}
	if (d)
		closedir(d);
	if (rmdir(dir) == -1)
		fprintf(stderr, "could not remove %s\n", dir);
}

static void
down(void)
{
	modules_down();
	forget_sent();
	free(w.conf_text);
	remove_dir(w.dir);
}

/* respa stops and starts again on the same database and config: memory from SQLite only. */
static void
reload(void)
{
	modules_down();
	modules_up();
	presence_connected(); /* as at connect: probes, and the grace for agents not seen yet */
	settle();
}

/* Moves the clock on, firing every timer at its own deadline, one pass each time. */
static void
advance(double seconds)
{
	int64_t target = w.now + (int64_t)(seconds * 1000), d;

	while ((d = timer_next()) >= 0 && w.now + d <= target) {
		w.now += d;
		respa_clock_set(w.now);
		timer_run();
		settle();
	}
	w.now = target;
	respa_clock_set(w.now);
	timer_run();
	settle();
}

/* --- names ------------------------------------------------------------------------------ */

/* "alice" -> "alice@localhost"; a JID stays as it is. From a ring of buffers. */
static const char *
jid(const char *who)
{
	static char ring[8][128];
	static int i;
	char *b = ring[i++ % 8];

	if (strchr(who, '@'))
		return who;
	snprintf(b, sizeof(ring[0]), "%s@localhost", who);
	return b;
}

static const char *
conv(long n)
{
	static char ring[8][64];
	static int i;
	char *b = ring[i++ % 8];

	snprintf(b, sizeof(ring[0]), "c-%ld@" DOMAIN, n);
	return b;
}

static struct conv *
chat(long n)
{
	char node[32];

	snprintf(node, sizeof(node), "c-%ld", n);
	return conversation_find(node);
}

/* --- feeding stanzas --------------------------------------------------------------------- */

static void
feed(xmpp_handler fn, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
feed(xmpp_handler fn, const char *fmt, ...)
{
	xmpp_stanza_t *st;
	va_list ap;
	char *xml;

	va_start(ap, fmt);
	xml = xvasprintf(fmt, ap);
	va_end(ap);
	if ((st = xmpp_stanza_new_from_string(w.ctx, xml)) == NULL)
		fatalx("bad stanza: %s", xml);
	fn(NULL, st, NULL);
	xmpp_stanza_release(st);
	free(xml);
	if (!w.batch)
		settle();
}

/* show: NULL for plain available, "offline" for unavailable, else a <show/>. */
static void
agent_presence(const char *name, const char *res, const char *show)
{
	if (show && strcmp(show, "offline") == 0)
		feed(presence_handler, "<presence from='%s/%s' to='" DOMAIN "' "
		    "type='unavailable'/>", jid(name), res);
	else if (show)
		feed(presence_handler, "<presence from='%s/%s' to='" DOMAIN "'><show>%s</show>"
		    "</presence>", jid(name), res, show);
	else
		feed(presence_handler, "<presence from='%s/%s' to='" DOMAIN "'/>", jid(name), res);
}

static void
agent_online(const char *name, const char *show)
{
	agent_presence(name, "desk", show);
}

static void
agent_offline(const char *name)
{
	agent_presence(name, "desk", "offline");
}

/* A customer writes to a queue ("support"), from name@localhost/web. */
static void
customer_says(const char *name, const char *queue, const char *text)
{
	feed(conversation_handler, "<message from='%s/web' to='%s@" DOMAIN "' type='chat'>"
	    "<body>%s</body></message>", jid(name), queue, text);
}

/* An agent writes in chat #n. */
static void
agent_says(const char *name, long n, const char *text)
{
	feed(conversation_handler, "<message from='%s/desk' to='%s' type='chat'><body>%s</body>"
	    "</message>", jid(name), conv(n), text);
}

/* An agent writes to the component's own address (/pause, /ready, /status). */
static void
agent_command(const char *name, const char *text)
{
	feed(conversation_handler, "<message from='%s/desk' to='" DOMAIN "' type='chat'>"
	    "<body>%s</body></message>", jid(name), text);
}

/* --- what respa sent ---------------------------------------------------------------------- */

enum match { EXACT, PREFIX, FIRST_LINE };

static int
bare_is(const char *full, const char *bare)
{
	size_t n = strlen(bare);

	return full && strncmp(full, bare, n) == 0 && (full[n] == '\0' || full[n] == '/');
}

static int
body_is(const char *body, const char *want, enum match m)
{
	const char *nl;

	if (body == NULL)
		return 0;
	switch (m) {
	case EXACT: return strcmp(body, want) == 0;
	case PREFIX: return strncmp(body, want, strlen(want)) == 0;
	case FIRST_LINE:
		nl = strchr(body, '\n');
		return nl ? strlen(want) == (size_t)(nl - body) &&
		    strncmp(body, want, strlen(want)) == 0 : strcmp(body, want) == 0;
	}
	return 0;
}

static int
unread_message(const struct sent *s, const char *to)
{
	return !s->used && strcmp(s->name, "message") == 0 && bare_is(s->to, to);
}

static void
dump_for(const char *to)
{
	size_t i;

	for (i = 0; i < nsent; i++)
		if (unread_message(&sent[i], to))
			fprintf(stderr, "\tunread from %s: %s\n", sent[i].from,
			    sent[i].body ? sent[i].body : sent[i].cond ? sent[i].cond : "");
}

/*
 * The first unread message to `to` (a bare JID) from `from` (NULL: anyone) whose body
 * matches; marked read. A failed check names the line and what `to` has unread.
 */
static struct sent *
expect_at(int line, const char *to, const char *from, const char *body, enum match m)
{
	size_t i;

	for (i = 0; i < nsent; i++) {
		struct sent *s = &sent[i];

		if (s->used || strcmp(s->name, "message") != 0 || (s->type &&
		    strcmp(s->type, "error") == 0) || !bare_is(s->to, to) ||
		    (from && !bare_is(s->from, from)) || !body_is(s->body, body, m))
			continue;
		s->used = 1;
		check_report(1, __FILE__, line, body);
		return s;
	}
	check_report(0, __FILE__, line, body);
	fprintf(stderr, "\twant to %s from %s: %s\n", to, from ? from : "anyone", body);
	dump_for(to);
	return NULL;
}

#define EXPECT(to, from, body) expect_at(__LINE__, to, from, body, EXACT)
#define EXPECT_START(to, from, body) expect_at(__LINE__, to, from, body, PREFIX)
#define EXPECT_HEADER(to, from, body) expect_at(__LINE__, to, from, body, FIRST_LINE)

/* An error of this condition answered to `to`. */
static void
expect_error_at(int line, const char *to, const char *cond)
{
	size_t i;

	for (i = 0; i < nsent; i++)
		if (!sent[i].used && sent[i].type && strcmp(sent[i].type, "error") == 0 &&
		    bare_is(sent[i].to, to) && sent[i].cond && strcmp(sent[i].cond, cond) == 0) {
			sent[i].used = 1;
			check_report(1, __FILE__, line, cond);
			return;
		}
	check_report(0, __FILE__, line, cond);
	fprintf(stderr, "\twant a %s error to %s\n", cond, to);
}
#define EXPECT_ERROR(to, cond) expect_error_at(__LINE__, to, cond)

/* Nothing unread for `to`: every message it got was expected. */
static void
quiet_at(int line, const char *to)
{
	size_t i;
	int n = 0;

	for (i = 0; i < nsent; i++)
		if (unread_message(&sent[i], to))
			n++;
	if (!check_report(n == 0, __FILE__, line, "nothing more for someone")) {
		fprintf(stderr, "\t%d unread for %s\n", n, to);
		dump_for(to);
	}
}
#define QUIET(to) quiet_at(__LINE__, to)

/* Marks everything sent so far as read: the checks start afresh. */
static void
read_all(void)
{
	size_t i;

	for (i = 0; i < nsent; i++)
		sent[i].used = 1;
}

/* How many unread messages to `to` start with `prefix`. */
static int
count_to(const char *to, const char *prefix)
{
	size_t i;
	int n = 0;

	for (i = 0; i < nsent; i++)
		if (!sent[i].used && bare_is(sent[i].to, to) &&
		    body_is(sent[i].body, prefix, PREFIX))
			n++;
	return n;
}

static const char *
state(long n)
{
	struct conv *c = chat(n);

	return c ? conversation_state_name(c) : "gone";
}

static const char *
holder(long n)
{
	struct conv *c = chat(n);

	return c && c->agent ? c->agent->jid : "nobody";
}

/* The stored transcript of chat #n: "direction sender body" lines. */
struct transcript {
	char text[2048];
	size_t len;
};

static int
transcript_line(const struct stored_message *m, void *arg)
{
	struct transcript *t = arg;
	int n = snprintf(t->text + t->len, sizeof(t->text) - t->len, "%s%s %s %s",
	    t->len ? "\n" : "", m->direction, m->sender_jid, m->body);

	if (n > 0 && (size_t)n < sizeof(t->text) - t->len)
		t->len += (size_t)n;
	return 0;
}

static const char *
transcript(long n)
{
	static struct transcript t;

	t.len = 0;
	t.text[0] = '\0';
	CHECK_INT(store_messages_foreach(n, transcript_line, &t), 0);
	return t.text;
}

/* Whether the stored record of closed chat #n (its JSON, as the export has it) holds text. */
static int
record_has(long n, const char *text)
{
	char *json = store_record(n);
	int found = json && strstr(json, text) != NULL;

	if (!found)
		fprintf(stderr, "\trecord of #%ld: %s\n\twant: %s\n", n, json ? json : "(none)",
		    text);
	free(json);
	return found;
}

static char *
offer_text(long n, const char *customer)
{
	return xasprintf("Offer: chat #%ld from %s in Support (xmpp). Answer here to take it, or "
	    "write !accept or !reject.", n, jid(customer));
}

static char *
new_chat_text(long n, const char *customer, const char *queue)
{
	return xasprintf("New chat #%ld from %s in %s (xmpp). Write here to answer; !help lists "
	    "the commands.", n, jid(customer), queue);
}

/* The agent got the offer of chat #n, then the customer's first message. */
#define EXPECT_OFFER(agent, n, customer, first) do { \
	char *t_ = offer_text(n, customer); \
	EXPECT_HEADER(jid(agent), conv(n), t_); \
	EXPECT(jid(agent), conv(n), first); \
	free(t_); \
} while (0)

#define EXPECT_NEW_CHAT(agent, n, customer, first) do { \
	char *t_ = new_chat_text(n, customer, "Support"); \
	EXPECT_HEADER(jid(agent), conv(n), t_); \
	EXPECT(jid(agent), conv(n), first); \
	free(t_); \
} while (0)

static char *
textf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *
textf(const char *fmt, ...)
{
	static char ring[8][512];
	static int i;
	char *b = ring[i++ % 8];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b, sizeof(ring[0]), fmt, ap);
	va_end(ap);
	return b;
}

/* The customer's first message opens chat #n: greeted, and told they wait at place. */
static void
queue_up(const char *customer, const char *text, int place)
{
	customer_says(customer, "support", text);
	EXPECT(jid(customer), QUEUE, GREETING);
	EXPECT(jid(customer), QUEUE, textf(QUEUED_TEXT " You are number %d in line.", place));
}

struct newest {
	const char *bare;
	struct conv *c;
};

static void
newest_of(struct conv *c, void *arg)
{
	struct newest *n = arg;

	if (bare_is(c->customer, n->bare) && (n->c == NULL || c->id > n->c->id))
		n->c = c;
}

/* The customer's first message goes to an agent at once (auto mode): returns chat's number. */
static long
chat_goes_to(const char *customer, const char *text, const char **agent)
{
	struct newest n = { jid(customer), NULL };

	customer_says(customer, "support", text);
	EXPECT(jid(customer), QUEUE, GREETING);
	EXPECT(jid(customer), QUEUE, ASSIGNED);
	conversation_foreach(newest_of, &n);
	CHECK(n.c != NULL && n.c->agent != NULL);
	if (n.c == NULL || n.c->agent == NULL) {
		*agent = "nobody";
		return 0;
	}
	*agent = n.c->agent->jid;
	EXPECT_NEW_CHAT(*agent, (long)n.c->id, customer, text);
	return (long)n.c->id;
}

static void
close_chat(const char *agent, long n, const char *customer)
{
	char entry[128];

	snprintf(entry, sizeof(entry), "%s", chat(n) ? chat(n)->entry->jid : "none");
	agent_says(agent, n, "/close");
	EXPECT_START(jid(agent), conv(n), textf("Chat #%ld closed. Summary:", n));
	EXPECT_START(jid(customer), entry, CLOSED);
}

/* --- offers ------------------------------------------------------------------------------ */

#define OFFER_QUEUE "[queue support]\nname = Support\nmode = offer\noffer_timeout = 10\n"

static void
answering_an_offer_takes_the_chat(void)
{
	struct conv *c;

	up(OFFER_QUEUE "agents = alice@localhost\n");
	agent_online("alice", NULL);
	customer_says("carol", "support", "my parcel is late");
	EXPECT(jid("carol"), QUEUE, GREETING);
	EXPECT_OFFER("alice", 1, "carol", "my parcel is late");
	QUIET(jid("carol")); /* on offer: neither queued nor assigned */
	CHECK_STR(state(1), "offered");
	CHECK_STR(holder(1), "nobody");

	agent_says("alice", 1, "Let me look it up");
	EXPECT(jid("alice"), conv(1), "Chat #1 is yours.");
	c = chat(1);
	CHECK(c->first_response_at != 0);
	{
		struct sent *joined = EXPECT(jid("carol"), QUEUE, ASSIGNED);
		struct sent *answer = EXPECT(jid("carol"), QUEUE, "Let me look it up");

		CHECK(joined && answer && joined < answer);
	}
	CHECK_STR(state(1), "active");
	CHECK_STR(holder(1), jid("alice"));
	CHECK_STR(transcript(1), "in carol@localhost/web my parcel is late\n"
	    "out alice@localhost Let me look it up");
	customer_says("carol", "support", "thanks");
	EXPECT(jid("alice"), conv(1), "thanks");
	QUIET(jid("alice"));
	QUIET(jid("carol"));
	down();
}

static void
accept_takes_the_offer_without_a_text(void)
{
	up(OFFER_QUEUE "agents = alice@localhost\n");
	agent_online("alice", NULL);
	customer_says("carol", "support", "hello");
	EXPECT(jid("carol"), QUEUE, GREETING);
	EXPECT_OFFER("alice", 1, "carol", "hello");
	agent_says("alice", 1, "/accept");
	EXPECT(jid("alice"), conv(1), "Chat #1 is yours.");
	EXPECT(jid("carol"), QUEUE, ASSIGNED);
	QUIET(jid("carol")); /* "/accept" is not relayed */
	CHECK_STR(state(1), "active");
	CHECK_INT(chat(1)->first_response_at, 0);
	CHECK_STR(transcript(1), "in carol@localhost/web hello");
	agent_says("alice", 1, "/accept");
	EXPECT(jid("alice"), conv(1), "Chat #1 is already yours.");
	agent_says("alice", 1, "Hi Carol");
	EXPECT(jid("carol"), QUEUE, "Hi Carol");
	down();
}

static void
rejected_offer_goes_to_the_next_agent(void)
{
	up(OFFER_QUEUE "agents = alice@localhost bob@localhost\n");
	agent_online("alice", NULL);
	agent_online("bob", NULL);
	customer_says("carol", "support", "question about my order");
	EXPECT(jid("carol"), QUEUE, GREETING);
	EXPECT_OFFER("alice", 1, "carol", "question about my order");
	QUIET(jid("bob")); /* one offer at a time (not ring-all) */

	agent_says("alice", 1, "/reject");
	EXPECT(jid("alice"), conv(1), "You turned down chat #1; it goes to another agent.");
	EXPECT_OFFER("bob", 1, "carol", "question about my order");
	customer_says("carol", "support", "are you there?");
	EXPECT(jid("bob"), conv(1), "are you there?");
	agent_says("bob", 1, "Bob here");
	EXPECT(jid("bob"), conv(1), "Chat #1 is yours.");
	EXPECT(jid("carol"), QUEUE, ASSIGNED);
	EXPECT(jid("carol"), QUEUE, "Bob here");
	QUIET(jid("alice"));
	CHECK_STR(holder(1), jid("bob"));
	agent_says("alice", 1, "can I still?");
	EXPECT_ERROR(jid("alice"), "forbidden");
	down();
}

static void
rejecting_agent_gets_the_chat_again_after_reject_delay(void)
{
	up(OFFER_QUEUE "agents = alice@localhost\n[routing]\nreject_delay = 2\n");
	agent_online("alice", NULL);
	customer_says("carol", "support", "hello?");
	EXPECT(jid("carol"), QUEUE, GREETING);
	EXPECT_OFFER("alice", 1, "carol", "hello?");
	agent_says("alice", 1, "/reject");
	EXPECT(jid("alice"), conv(1), "You turned down chat #1; it goes to another agent.");
	advance(1.9);
	QUIET(jid("alice")); /* even as the only free agent */
	CHECK_STR(state(1), "queued");
	advance(0.1);
	EXPECT_OFFER("alice", 1, "carol", "hello?");
	agent_says("alice", 1, "/accept");
	EXPECT(jid("alice"), conv(1), "Chat #1 is yours.");
	EXPECT(jid("carol"), QUEUE, ASSIGNED);
	down();
}

static void
unanswered_offer_moves_to_the_next_agent(void)
{
	struct sent *second;

	up("[queue support]\nname = Support\nmode = offer\noffer_timeout = 1\n"
	    "agents = alice@localhost bob@localhost\n");
	agent_online("alice", NULL);
	agent_online("bob", NULL);
	customer_says("carol", "support", "first line");
	customer_says("carol", "support", "second line");
	EXPECT(jid("carol"), QUEUE, GREETING);
	EXPECT_OFFER("alice", 1, "carol", "first line");
	EXPECT(jid("alice"), conv(1), "second line");
	advance(0.9);
	QUIET(jid("alice"));
	advance(0.1);
	EXPECT(jid("alice"), conv(1), "You did not answer chat #1 within 1 s, so it goes to "
	    "another agent.");
	CHECK_INT(config_agent_find(jid("alice"))->missed, 1);
	/* bob gets it with the whole transcript, each line at its stored time */
	EXPECT_OFFER("bob", 1, "carol", "first line");
	second = EXPECT(jid("bob"), conv(1), "second line");
	CHECK(second && second->delayed);
	agent_says("bob", 1, "Bob here, sorry for the wait");
	EXPECT(jid("bob"), conv(1), "Chat #1 is yours.");
	EXPECT(jid("carol"), QUEUE, ASSIGNED);
	EXPECT(jid("carol"), QUEUE, "Bob here, sorry for the wait");
	CHECK_STR(holder(1), jid("bob"));
	QUIET(jid("alice"));
	down();
}

static void
missed_offers_in_a_row_pause_the_agent(void)
{
	const char *missed = "You did not answer chat #1 within 1 s, so it goes to another agent.";

	up("[queue support]\nname = Support\nmode = offer\noffer_timeout = 1\n"
	    "agents = alice@localhost\n[routing]\nmax_no_answer = 2\nreject_delay = 1\n");
	agent_online("alice", NULL);
	customer_says("carol", "support", "hello");
	EXPECT(jid("carol"), QUEUE, GREETING);
	EXPECT_OFFER("alice", 1, "carol", "hello");
	advance(1);
	EXPECT(jid("alice"), conv(1), missed);
	QUIET(jid("alice")); /* one miss does not pause */
	advance(1);          /* after reject_delay the same chat comes again */
	EXPECT_OFFER("alice", 1, "carol", "hello");
	advance(1);
	EXPECT(jid("alice"), conv(1), missed);
	EXPECT(jid("alice"), DOMAIN, "You are paused because you did not answer the last offers. "
	    "Write !ready here when you are back to get chats again.");
	CHECK(config_agent_find(jid("alice"))->paused);

	advance(5); /* past reject_delay: still no offer */
	QUIET(jid("alice"));
	CHECK_STR(state(1), "queued");
	agent_command("alice", "/status");
	EXPECT(jid("alice"), DOMAIN, "You are available and paused, with 0 of 3 chats; paused: "
	    "offers not answered.");
	agent_command("alice", "/ready");
	EXPECT(jid("alice"), DOMAIN, READY);
	EXPECT_OFFER("alice", 1, "carol", "hello");
	agent_says("alice", 1, "/accept");
	EXPECT(jid("alice"), conv(1), "Chat #1 is yours.");
	EXPECT(jid("carol"), QUEUE, ASSIGNED);
	down();
}

static void
offer_is_withdrawn_when_the_agent_goes_offline(void)
{
	up(OFFER_QUEUE "agents = alice@localhost bob@localhost\n[routing]\nmax_no_answer = 1\n");
	agent_online("alice", NULL);
	agent_online("bob", NULL);
	customer_says("carol", "support", "help please");
	EXPECT(jid("carol"), QUEUE, GREETING);
	EXPECT_OFFER("alice", 1, "carol", "help please");
	agent_offline("alice");
	EXPECT_OFFER("bob", 1, "carol", "help please"); /* at once, not after offer_timeout */
	agent_says("bob", 1, "/accept");
	EXPECT(jid("bob"), conv(1), "Chat #1 is yours.");
	EXPECT(jid("carol"), QUEUE, ASSIGNED);
	QUIET(jid("alice"));
	/* back online: not paused (with max_no_answer = 1 a miss would have paused alice) */
	agent_online("alice", NULL);
	agent_command("alice", "/status");
	EXPECT(jid("alice"), DOMAIN, "You are available and ready, with 0 of 3 chats.");
	down();
}

static void
other_commands_during_an_offer_are_refused(void)
{
	static const char *const cmds[] = { "/close done", "/tag billing", "/note vip", "/help",
		"/transfer bob", "/frobnicate", "!close done", "!frobnicate" };
	size_t i;

	up(OFFER_QUEUE "agents = alice@localhost\n");
	agent_online("alice", NULL);
	customer_says("carol", "support", "hello");
	EXPECT(jid("carol"), QUEUE, GREETING);
	EXPECT_OFFER("alice", 1, "carol", "hello");
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		agent_says("alice", 1, cmds[i]);
		EXPECT(jid("alice"), conv(1), "Chat #1 is offered to you: answer it, or write "
		    "!accept or !reject first.");
	}
	QUIET(jid("alice"));
	QUIET(jid("carol"));
	CHECK_STR(state(1), "offered");
	CHECK_STR(transcript(1), "in carol@localhost/web hello"); /* no note, no tag */
	agent_says("alice", 1, "!accept"); /* the offer still stands */
	EXPECT(jid("alice"), conv(1), "Chat #1 is yours.");
	down();
}

static void
only_the_offered_agent_may_write(void)
{
	up(OFFER_QUEUE "agents = alice@localhost bob@localhost\n");
	agent_online("alice", NULL);
	agent_online("bob", NULL);
	customer_says("carol", "support", "hello");
	EXPECT(jid("carol"), QUEUE, GREETING);
	EXPECT_OFFER("alice", 1, "carol", "hello");
	agent_says("bob", 1, "I'll take it");
	EXPECT_ERROR(jid("bob"), "forbidden");
	agent_says("bob", 1, "/accept");
	EXPECT_ERROR(jid("bob"), "forbidden");
	agent_says("mallory", 1, "/accept");
	EXPECT_ERROR(jid("mallory"), "forbidden");
	QUIET(jid("carol"));
	CHECK_STR(state(1), "offered");
	agent_says("alice", 1, "Alice here");
	EXPECT(jid("alice"), conv(1), "Chat #1 is yours.");
	EXPECT(jid("carol"), QUEUE, ASSIGNED);
	EXPECT(jid("carol"), QUEUE, "Alice here");
	down();
}

/* --- the command prefix, /me, encryption, quiet edges ---------------------------------- */

#define ONE_AGENT "[queue support]\nname = Support\nagents = alice@localhost\n"

static void
bang_commands_work_like_slash_ones(void)
{
	const char *agent;
	long n;

	up(ONE_AGENT "reasons = billing, delivery\n");
	agent_online("alice", NULL);
	n = chat_goes_to("bob", "hello", &agent);
	agent_says("alice", n, "!tag billing");
	EXPECT(jid("alice"), conv(n), "Tagged: billing");
	agent_says("alice", n, "!NOTE called twice");
	EXPECT(jid("alice"), conv(n), "Note saved; the customer does not see it.");
	agent_says("alice", n, "!help");
	EXPECT_START(jid("alice"), conv(n), "Commands in this chat. Start a command with ! (or /, "
	    "but profanity, poezio and other terminal clients take lines starting with / for "
	    "themselves)");
	agent_says("alice", n, "!help tag");
	EXPECT(jid("alice"), conv(n), "!tag reason: record the contact reason");
	agent_says("alice", n, "!frobnicate now");
	EXPECT(jid("alice"), conv(n), "Unknown command !frobnicate.");
	EXPECT_START(jid("alice"), conv(n), "Commands in this chat.");
	agent_says("alice", n, "/frobnicate");
	EXPECT(jid("alice"), conv(n), "Unknown command /frobnicate.");
	EXPECT_START(jid("alice"), conv(n), "Commands in this chat.");
	/* nonsense arguments: a usage line, nothing done */
	agent_says("alice", n, "!history 20");
	EXPECT(jid("alice"), conv(n), "!history takes no arguments: nothing done. Usage: !history");
	agent_says("alice", n, "!tag");
	EXPECT(jid("alice"), conv(n), "Usage: !tag reason[, reason...]. Reasons: billing, delivery");
	agent_says("alice", n, "!merge soon");
	EXPECT(jid("alice"), conv(n), "Usage: !merge N, with the contact number of a possible "
	    "match.");
	agent_says("alice", n, "!task +2x call back");
	EXPECT(jid("alice"), conv(n), "a relative due time looks like +30m, +2h, +1d or +1w. "
	    "Usage: !task [due] text");
	agent_says("alice", n, "!transfer");
	EXPECT(jid("alice"), conv(n), "Usage: !transfer AGENT-JID or QUEUE [note]");
	agent_says("alice", n, "!canned");
	EXPECT(jid("alice"), conv(n), "Usage: !canned NAME");
	agent_says("alice", n, "!contact colour=blue");
	EXPECT_START(jid("alice"), conv(n), "expected one of name=");
	QUIET(jid("bob")); /* no command reached the customer */
	/* literals: "!!" and "//" drop one character; "!" before a non-letter is text */
	agent_says("alice", n, "!!important");
	EXPECT(jid("bob"), QUEUE, "!important");
	agent_says("alice", n, "//etc/hosts");
	EXPECT(jid("bob"), QUEUE, "/etc/hosts");
	agent_says("alice", n, "! yes, done");
	EXPECT(jid("bob"), QUEUE, "! yes, done");
	/* a customer's "!close" is text for the agent */
	customer_says("bob", "support", "!close");
	EXPECT(jid("alice"), conv(n), "!close");
	CHECK_STR(state(n), "active");
	CHECK_STR(transcript(n), "in bob@localhost/web hello\n"
	    "note alice@localhost called twice\n"
	    "out alice@localhost !important\n"
	    "out alice@localhost /etc/hosts\n"
	    "out alice@localhost ! yes, done\n"
	    "in bob@localhost/web !close");
	agent_says("alice", n, "!close resolved #delivery Sorted");
	EXPECT(jid("alice"), conv(n), textf("Chat #%ld closed. Summary: Sorted", n));
	EXPECT_START(jid("bob"), QUEUE, CLOSED);
	CHECK(record_has(n, "billing"));
	CHECK(record_has(n, "delivery"));
	down();
}

static void
me_is_an_action_for_the_customer(void)
{
	const char *agent;
	long n;

	up(ONE_AGENT);
	agent_online("alice", NULL);
	n = chat_goes_to("bob", "where is my parcel?", &agent);
	agent_says("alice", n, "/me is looking up your order");
	EXPECT(jid("bob"), QUEUE, "/me is looking up your order"); /* from the queue, no JID */
	QUIET(jid("alice"));                                       /* no "Unknown command" */
	CHECK_STR(transcript(n), "in bob@localhost/web where is my parcel?\n"
	    "out alice@localhost /me is looking up your order");
	down();
}

static void
desk_commands_take_bang(void)
{
	up(ONE_AGENT);
	agent_online("alice", NULL);
	agent_command("alice", "!pause lunch");
	EXPECT(jid("alice"), DOMAIN, PAUSED);
	agent_command("alice", "!ready now");
	EXPECT(jid("alice"), DOMAIN, "!ready takes no arguments: nothing done. Usage: !ready");
	CHECK_INT(config_agent_find(jid("alice"))->paused, 1);
	agent_command("alice", "!ready");
	EXPECT(jid("alice"), DOMAIN, READY);
	agent_command("alice", "!frob");
	EXPECT_START(jid("alice"), DOMAIN, "Unknown command !frob here. This is respa.");
	agent_command("alice", "hello?");
	EXPECT_START(jid("alice"), DOMAIN, "This is respa. Each chat you are given comes from its "
	    "own address (c-NUMBER@...); write !help there");
	QUIET(jid("alice"));
	down();
}

static void
encrypted_lines_are_neither_relayed_nor_stored(void)
{
	const char *agent;
	long n;

	up(ONE_AGENT);
	agent_online("alice", NULL);
	n = chat_goes_to("bob", "hello", &agent);
	agent_says("alice", n, "?OTRv23? alice@localhost has requested an Off-the-Record "
	    "private conversation.");
	EXPECT(jid("alice"), conv(n), "OTR can't be used in desk chats: respa must read the text "
	    "to relay it and store the transcript. Nothing was sent; turn OTR off for this "
	    "contact.");
	feed(conversation_handler, "<message from='alice@localhost/desk' to='%s' type='chat'>"
	    "<body>I sent you an OMEMO encrypted message but your client doesn't seem to support "
	    "that.</body><encrypted xmlns='eu.siacs.conversations.axolotl'><header sid='7'/>"
	    "<payload>AAAA</payload></encrypted></message>", conv(n));
	EXPECT_START(jid("alice"), conv(n), "OMEMO can't be used in desk chats");
	QUIET(jid("bob"));
	/* the customer's side: told in words; nothing relayed, stored or opened */
	feed(conversation_handler, "<message from='bob@localhost/web' to='" QUEUE "' type='chat'>"
	    "<encrypted xmlns='urn:xmpp:omemo:2'><header sid='9'/><payload>AAAA</payload>"
	    "</encrypted></message>");
	EXPECT(jid("bob"), QUEUE, "Your message was encrypted (OMEMO), so it could not be read: "
	    "we must read messages to answer them and keep a record of the conversation. Please "
	    "turn OMEMO off for this contact and write again.");
	customer_says("carol", "support", "?OTR?v2?");
	EXPECT_START(jid("carol"), QUEUE, "Your message was encrypted (OTR)");
	QUIET(jid("alice"));
	QUIET(jid("carol"));
	CHECK_INT(conversation_count(), 1);
	CHECK_STR(transcript(n), "in bob@localhost/web hello");
	down();
}

/* The first presence sent to `to` from `from`, of this type (NULL: available); marked read. */
static struct sent *
presence_at(int line, const char *to, const char *from, const char *type)
{
	size_t i;

	for (i = 0; i < nsent; i++) {
		struct sent *s = &sent[i];

		if (s->used || strcmp(s->name, "presence") != 0 || !bare_is(s->to, to) ||
		    !bare_is(s->from, from) || (type ? s->type == NULL || strcmp(s->type, type) != 0
		    : s->type != NULL))
			continue;
		s->used = 1;
		check_report(1, __FILE__, line, type ? type : "available");
		return s;
	}
	check_report(0, __FILE__, line, type ? type : "available");
	fprintf(stderr, "\twant presence %s from %s to %s\n", type ? type : "available", from, to);
	return NULL;
}
#define EXPECT_PRESENCE(to, from, type) presence_at(__LINE__, to, from, type)

static int
presences_to(const char *to)
{
	size_t i;
	int n = 0;

	for (i = 0; i < nsent; i++)
		if (!sent[i].used && strcmp(sent[i].name, "presence") == 0 && bare_is(sent[i].to, to))
			n++;
	return n;
}

static void
chat_address_presence(const char *who, long n, const char *type)
{
	feed(presence_handler, "<presence from='%s' to='%s' type='%s'/>", jid(who), conv(n), type);
}

static void
closed_chats_go_quiet_and_offline(void)
{
	const char *agent;
	struct sent *s;
	size_t before;
	long n;

	up(ONE_AGENT);
	agent_online("alice", NULL);
	n = chat_goes_to("bob", "hello", &agent);
	read_all();
	/* an agent may put an open chat in the roster: approved, available, with caps */
	chat_address_presence("alice", n, "subscribe");
	EXPECT_PRESENCE(jid("alice"), conv(n), "subscribed");
	s = EXPECT_PRESENCE(jid("alice"), conv(n), NULL);
	CHECK(s && s->caps);
	chat_address_presence("alice", n, "probe");
	EXPECT_PRESENCE(jid("alice"), conv(n), NULL);
	/* anyone else may not */
	chat_address_presence("mallory", n, "subscribe");
	EXPECT_PRESENCE(jid("mallory"), conv(n), "unsubscribed");
	chat_address_presence("bob", n, "probe");
	EXPECT_PRESENCE(jid("bob"), conv(n), "unavailable");
	CHECK_INT(presences_to(jid("mallory")) + presences_to(jid("bob")), 0);

	/* the close: the address goes offline in the roster */
	agent_says("alice", n, "!close");
	EXPECT_PRESENCE(jid("alice"), conv(n), "unavailable");
	CHECK_INT(presences_to(jid("alice")), 0);
	read_all();
	/* closed: unavailable to probes, no subscription, no answers to text-less messages */
	chat_address_presence("alice", n, "probe");
	EXPECT_PRESENCE(jid("alice"), conv(n), "unavailable");
	chat_address_presence("alice", n, "subscribe");
	EXPECT_PRESENCE(jid("alice"), conv(n), "unsubscribed");
	chat_address_presence("alice", n, "unsubscribe");
	EXPECT_PRESENCE(jid("alice"), conv(n), "unsubscribed");
	before = nsent;
	feed(conversation_handler, "<message from='alice@localhost/desk' to='%s' type='chat'>"
	    "<gone xmlns='http://jabber.org/protocol/chatstates'/></message>", conv(n));
	feed(conversation_handler, "<message from='alice@localhost/desk' to='%s' type='chat'>"
	    "<received xmlns='urn:xmpp:receipts' id='x1'/></message>", conv(n));
	feed(conversation_handler, "<message from='alice@localhost/desk' to='%s' type='chat'>"
	    "<displayed xmlns='urn:xmpp:chat-markers:0' id='x1'/></message>", conv(n));
	CHECK_INT((int)(nsent - before), 0);
	/* a line with text still hears why it went nowhere */
	agent_says("alice", n, "are you there?");
	EXPECT_ERROR(jid("alice"), "item-not-found");
	down();
}

static void
chat_addresses_are_online_while_an_agent_has_them(void)
{
	struct sent *s;

	up(OFFER_QUEUE "agents = alice@localhost bob@localhost\n");
	agent_online("alice", NULL);
	customer_says("carol", "support", "hello");
	s = EXPECT_PRESENCE(jid("alice"), conv(1), NULL); /* offered: online, with caps */
	CHECK(s && s->caps);
	advance(10); /* not answered: offline for her, online for the next */
	EXPECT_PRESENCE(jid("alice"), conv(1), "unavailable");
	agent_online("bob", NULL);
	EXPECT_PRESENCE(jid("bob"), conv(1), NULL);
	agent_says("bob", 1, "Bob here");
	CHECK_STR(holder(1), jid("bob"));
	CHECK_INT(presences_to(jid("bob")), 0); /* taking it changes nothing */
	/* a second client of bob's sees the chat online there */
	agent_presence("bob", "phone", NULL);
	s = EXPECT_PRESENCE(jid("bob"), conv(1), NULL);
	CHECK(s && strcmp(s->to, "bob@localhost/phone") == 0);
	agent_presence("bob", "phone", "away"); /* a known client: nothing again */
	CHECK_INT(presences_to(jid("bob")), 0);
	/* handed on: offline for bob, online for alice */
	agent_says("bob", 1, "!transfer alice@localhost");
	EXPECT_PRESENCE(jid("bob"), conv(1), "unavailable");
	EXPECT_PRESENCE(jid("alice"), conv(1), NULL);
	agent_says("alice", 1, "!close");
	EXPECT_PRESENCE(jid("alice"), conv(1), "unavailable");
	CHECK_INT(presences_to(jid("alice")) + presences_to(jid("bob")), 0);
	down();
}

static void
chat_state_of_a_former_holder_gets_no_error(void)
{
	const char *agent;
	size_t before;
	long n;

	up("[queue support]\nname = Support\nagents = alice@localhost bob@localhost\n");
	agent_online("alice", NULL);
	n = chat_goes_to("carol", "hello", &agent);
	agent_online("bob", NULL);
	agent_says(agent, n, textf("!transfer %s", strcmp(agent, jid("alice")) == 0 ? jid("bob")
	    : jid("alice")));
	read_all();
	before = nsent;
	feed(conversation_handler, "<message from='%s/desk' to='%s' type='chat'>"
	    "<inactive xmlns='http://jabber.org/protocol/chatstates'/></message>", agent, conv(n));
	CHECK_INT((int)(nsent - before), 0);
	agent_says(agent, n, "one more thing");
	EXPECT_ERROR(agent, "forbidden");
	down();
}

/* --- strategies, tiers, capacity, wrap-up ------------------------------------------------ */

static void
longest_idle_agent_gets_the_next_chat(void)
{
	const char *got[6];
	long n[6];
	int i;

	up("[queue support]\nname = Support\nstrategy = longest-idle\n"
	    "agents = alice@localhost bob@localhost carol@localhost\n"
	    "[agent alice@localhost]\ncapacity = 1\n[agent bob@localhost]\ncapacity = 1\n"
	    "[agent carol@localhost]\ncapacity = 1\n");
	agent_online("alice", NULL);
	agent_online("bob", NULL);
	agent_online("carol", NULL);
	/* before any chat, the configured order breaks the tie */
	for (i = 0; i < 3; i++)
		n[i] = chat_goes_to(textf("cust%d", i), textf("question %d", i), &got[i]);
	CHECK_STR(got[0], jid("alice"));
	CHECK_STR(got[1], jid("bob"));
	CHECK_STR(got[2], jid("carol"));
	/* carol finishes first, then alice, then bob: that is now the idle order */
	close_chat(got[2], n[2], "cust2");
	close_chat(got[0], n[0], "cust0");
	close_chat(got[1], n[1], "cust1");
	for (i = 3; i < 6; i++)
		n[i] = chat_goes_to(textf("cust%d", i), textf("question %d", i), &got[i]);
	CHECK_STR(got[3], jid("carol"));
	CHECK_STR(got[4], jid("alice"));
	CHECK_STR(got[5], jid("bob"));
	QUIET(jid("alice"));
	down();
}

static void
least_busy_agent_wins_even_when_not_longest_idle(void)
{
	const char *got[5];
	long n[5];
	int i;

	up("[queue support]\nname = Support\nstrategy = least-busy\n"
	    "agents = alice@localhost bob@localhost\n");
	agent_online("alice", NULL);
	agent_online("bob", NULL);
	for (i = 0; i < 4; i++)
		n[i] = chat_goes_to(textf("cust%d", i), textf("question %d", i), &got[i]);
	CHECK_STR(got[0], jid("alice"));
	CHECK_STR(got[1], jid("bob"));
	CHECK_STR(got[2], jid("alice"));
	CHECK_STR(got[3], jid("bob"));
	/* bob finishes one: alice is longer idle, but he has fewer chats */
	close_chat(got[1], n[1], "cust1");
	n[4] = chat_goes_to("cust4", "question 4", &got[4]);
	CHECK_STR(got[4], jid("bob"));
	CHECK_INT(config_agent_find(jid("alice"))->chats, 2);
	CHECK_INT(config_agent_find(jid("bob"))->chats, 2);
	down();
}

static void
round_robin_gives_chats_in_turn(void)
{
	const char *got[7];
	long n[7];
	int i;

	up("[queue support]\nname = Support\nstrategy = round-robin\n"
	    "agents = bob@localhost carol@localhost alice@localhost\n");
	agent_online("alice", NULL);
	agent_online("bob", NULL);
	agent_online("carol", NULL);
	for (i = 0; i < 3; i++)
		n[i] = chat_goes_to(textf("cust%d", i), textf("question %d", i), &got[i]);
	CHECK_STR(got[0], jid("bob"));
	CHECK_STR(got[1], jid("carol"));
	CHECK_STR(got[2], jid("alice"));
	/* carol, then bob free up: longest-idle would now pick alice, least-busy carol */
	close_chat(got[1], n[1], "cust1");
	close_chat(got[0], n[0], "cust0");
	n[3] = chat_goes_to("cust3", "question 3", &got[3]);
	CHECK_STR(got[3], jid("bob"));
	close_chat(got[3], n[3], "cust3"); /* bob is free again, but it is carol's turn */
	for (i = 4; i < 7; i++)
		n[i] = chat_goes_to(textf("cust%d", i), textf("question %d", i), &got[i]);
	CHECK_STR(got[4], jid("carol"));
	CHECK_STR(got[5], jid("alice"));
	CHECK_STR(got[6], jid("bob"));
	CHECK_INT(config_agent_find(jid("alice"))->chats, 2);
	down();
}

static void
ring_all_offers_every_free_agent(void)
{
	static const char *const all[] = { "alice", "bob", "carol" };
	int i;

	up("[queue support]\nname = Support\nstrategy = ring-all\n"
	    "agents = alice@localhost bob@localhost carol@localhost\n"
	    "[agent alice@localhost]\ncapacity = 1\n[agent bob@localhost]\ncapacity = 1\n"
	    "[agent carol@localhost]\ncapacity = 1\n");
	for (i = 0; i < 3; i++)
		agent_online(all[i], NULL);
	customer_says("cust1", "support", "my parcel is late");
	EXPECT(jid("cust1"), QUEUE, GREETING);
	for (i = 0; i < 3; i++)
		EXPECT_OFFER(all[i], 1, "cust1", "my parcel is late");
	CHECK_STR(state(1), "offered"); /* not anyone's until answered */

	agent_says("bob", 1, "Let me track it");
	EXPECT(jid("bob"), conv(1), "Chat #1 is yours.");
	EXPECT(jid("cust1"), QUEUE, ASSIGNED);
	EXPECT(jid("cust1"), QUEUE, "Let me track it");
	EXPECT(jid("alice"), conv(1), "Chat #1 was taken by another agent.");
	EXPECT(jid("carol"), conv(1), "Chat #1 was taken by another agent.");
	CHECK_STR(holder(1), jid("bob"));

	/* alice's and carol's slots are free again (bob's only one is taken) */
	customer_says("cust2", "support", "second question");
	EXPECT_OFFER("alice", 2, "cust2", "second question");
	EXPECT_OFFER("carol", 2, "cust2", "second question");
	QUIET(jid("bob"));
	agent_says("alice", 2, "/accept");
	EXPECT(jid("alice"), conv(2), "Chat #2 is yours.");
	EXPECT(jid("carol"), conv(2), "Chat #2 was taken by another agent.");

	customer_says("cust3", "support", "third question");
	EXPECT_OFFER("carol", 3, "cust3", "third question");
	agent_says("carol", 3, "/accept");
	EXPECT(jid("carol"), conv(3), "Chat #3 is yours.");
	QUIET(jid("alice"));
	QUIET(jid("bob"));
	CHECK_STR(holder(2), jid("alice"));
	CHECK_STR(holder(3), jid("carol"));
	down();
}

static void
free_for_chat_comes_before_merely_available(void)
{
	const char *got;
	int i;

	up("[queue support]\nname = Support\nstrategy = longest-idle\n"
	    "agents = alice@localhost bob@localhost\n");
	agent_online("alice", NULL);
	agent_online("bob", "chat");
	for (i = 0; i < 4; i++) {
		chat_goes_to(textf("cust%d", i), "question", &got);
		CHECK_STR(got, jid(i < 3 ? "bob" : "alice")); /* alice once bob is full (3) */
	}
	down();
}

static void
tier_two_gets_a_chat_only_after_tier_wait(void)
{
	const char *got;

	/* bob is first in the configuration (longest idle) but in tier 2 */
	up("[queue support]\nname = Support\nagents = bob@localhost:2 alice@localhost\n"
	    "tier_wait = 2\n[agent alice@localhost]\ncapacity = 1\n");
	agent_online("alice", NULL);
	agent_online("bob", NULL);
	chat_goes_to("cust1", "first", &got);
	CHECK_STR(got, jid("alice"));
	queue_up("cust2", "second", 1); /* alice is full; tier 2 is not open yet */
	advance(1.9);
	QUIET(jid("bob"));
	CHECK_STR(state(2), "queued");
	advance(0.1);
	EXPECT_NEW_CHAT("bob", 2, "cust2", "second");
	EXPECT(jid("cust2"), QUEUE, ASSIGNED);
	QUIET(jid("alice"));
	down();
}

static void
queue_capacity_overrides_the_agents_own(void)
{
	const char *got;
	long n;

	up("[queue support]\nname = Support\nagents = alice@localhost\ncapacity = 1\n"
	    "[agent alice@localhost]\ncapacity = 3\n");
	agent_online("alice", NULL);
	n = chat_goes_to("cust1", "first", &got);
	queue_up("cust2", "second", 1);
	QUIET(jid("alice"));
	CHECK_INT(config_agent_find(jid("alice"))->chats, 1);
	close_chat("alice", n, "cust1");
	EXPECT_NEW_CHAT("alice", 2, "cust2", "second");
	EXPECT(jid("cust2"), QUEUE, ASSIGNED);
	down();
}

static const char *const burst_agents[] = { "alice", "bob", "carol" };
static const int burst_capacity[] = { 1, 2, 2 };
static int burst_ok = 1;

static void
burst_invariant(void)
{
	int i;

	for (i = 0; i < 3; i++) {
		struct agent *a = config_agent_find(jid(burst_agents[i]));

		if (a->chats + a->offers > burst_capacity[i])
			burst_ok = 0;
	}
}

static void
capacity_holds_under_a_burst(void)
{
	int i, assigned = 0, placed[11] = { 0 }, round;
	long next = 6; /* the oldest waiting chat */

	up("[queue support]\nname = Support\n"
	    "agents = alice@localhost bob@localhost carol@localhost\n"
	    "[agent alice@localhost]\ncapacity = 1\n[agent bob@localhost]\ncapacity = 2\n"
	    "[agent carol@localhost]\ncapacity = 2\n");
	for (i = 0; i < 3; i++)
		agent_online(burst_agents[i], NULL);
	after_pass = burst_invariant;
	w.batch = 1; /* all at once: one pass, as a group commit takes them */
	for (i = 0; i < 15; i++)
		customer_says(textf("cust%d", i), "support", "help");
	w.batch = 0;
	settle();
	for (i = 0; i < 15; i++) {
		const char *c = jid(textf("cust%d", i));
		int p;

		EXPECT(c, QUEUE, GREETING);
		if (count_to(c, ASSIGNED)) {
			EXPECT(c, QUEUE, ASSIGNED);
			assigned++;
		}
		for (p = 1; p <= 10; p++)
			if (count_to(c, textf(QUEUED_TEXT " You are number %d in line.", p))) {
				EXPECT(c, QUEUE, textf(QUEUED_TEXT " You are number %d in line.",
				    p));
				placed[p]++;
			}
	}
	CHECK_INT(assigned, 5);
	for (i = 1; i <= 10; i++)
		CHECK_INT(placed[i], 1);
	for (i = 0; i < 3; i++)
		CHECK_INT(count_to(jid(burst_agents[i]), "New chat #"), burst_capacity[i]);
	read_all();

	/* each agent closes all its chats, three times: freed slots take the oldest chats */
	for (round = 0; round < 3; round++) {
		long held[16];
		int nheld = 0, k;

		for (i = 1; i <= 15; i++)
			if (chat(i) && chat(i)->agent)
				held[nheld++] = i;
		for (k = 0; k < nheld; k++)
			agent_says(chat(held[k])->agent->jid, held[k], "/close");
		for (i = next; i < next + 5 && i <= 15; i++)
			CHECK_STR(state(i), "active"); /* first come, first served */
		for (; i <= 15; i++)
			CHECK_STR(state(i), "queued");
		next += 5;
	}
	CHECK_INT(conversation_count(), 0);
	CHECK(burst_ok);
	after_pass = NULL;
	down();
}

static void
wrap_up_holds_new_chats_after_a_close(void)
{
	const char *got;
	long n;

	up("[queue support]\nname = Support\nagents = alice@localhost\nwrap_up = 2\n"
	    "[agent alice@localhost]\ncapacity = 1\n");
	agent_online("alice", NULL);
	n = chat_goes_to("cust1", "first", &got);
	queue_up("cust2", "second", 1);
	close_chat("alice", n, "cust1");
	advance(1.9);
	QUIET(jid("alice"));
	CHECK_STR(state(2), "queued");
	advance(0.1);
	EXPECT_NEW_CHAT("alice", 2, "cust2", "second");
	EXPECT(jid("cust2"), QUEUE, ASSIGNED);
	down();
}

static void
pause_holds_through_presence_until_ready(void)
{
	up("[queue support]\nname = Support\nagents = alice@localhost\n");
	agent_online("alice", NULL);
	agent_command("alice", "/pause lunch");
	EXPECT(jid("alice"), DOMAIN, PAUSED);
	queue_up("cust1", "hello?", 1);
	agent_online("alice", "away"); /* the client's presence does not end the pause */
	agent_online("alice", NULL);
	QUIET(jid("alice"));
	CHECK_STR(state(1), "queued");
	reload(); /* nor does a restart */
	read_all();
	agent_online("alice", NULL);
	QUIET(jid("alice"));
	CHECK_STR(state(1), "queued");
	agent_command("alice", "/status");
	EXPECT(jid("alice"), DOMAIN, "You are available and paused, with 0 of 3 chats; paused: "
	    "lunch.");
	agent_command("alice", "/ready");
	EXPECT(jid("alice"), DOMAIN, READY);
	EXPECT_NEW_CHAT("alice", 1, "cust1", "hello?");
	EXPECT(jid("cust1"), QUEUE, ASSIGNED);
	down();
}

/* --- agents leaving, transfers --------------------------------------------------------- */

static void
agent_back_within_the_grace_keeps_its_chats(void)
{
	const char *got;

	up("[queue support]\nname = Support\nagents = alice@localhost bob@localhost\n"
	    "[routing]\nagent_grace = 2\n");
	agent_online("alice", NULL);
	agent_online("bob", NULL);
	chat_goes_to("carol", "hi", &got);
	CHECK_STR(got, jid("alice"));
	agent_offline("alice");
	customer_says("carol", "support", "are you there?"); /* stored while alice is away */
	advance(1.9);
	agent_online("alice", NULL);
	advance(3); /* past the grace: the customer is told nothing */
	QUIET(jid("carol"));
	QUIET(jid("bob"));
	CHECK_STR(holder(1), jid("alice"));
	agent_says("alice", 1, "Sorry, I was disconnected");
	EXPECT(jid("carol"), QUEUE, "Sorry, I was disconnected");
	customer_says("carol", "support", "no problem");
	EXPECT(jid("alice"), conv(1), "no problem");
	down();
}

static void
agent_present_but_away_keeps_the_chat(const char *show)
{
	const char *got;

	up("[queue support]\nname = Support\nagents = alice@localhost\n"
	    "[routing]\nagent_grace = 1\n");
	agent_online("alice", NULL);
	chat_goes_to("carol", "my screen is blank", &got);
	agent_online("alice", show);
	customer_says("carol", "support", "hello?");
	EXPECT(jid("alice"), conv(1), "hello?");
	queue_up("dave", "me too", 1);
	advance(2); /* past agent_grace: nothing moves, nothing new */
	QUIET(jid("alice"));
	QUIET(jid("carol"));
	CHECK_STR(holder(1), jid("alice"));
	CHECK_STR(state(2), "queued");
	agent_says("alice", 1, "Still here, one moment");
	EXPECT(jid("carol"), QUEUE, "Still here, one moment");
	down();
}

static void
chat_of_an_agent_gone_past_the_grace_goes_on(void)
{
	static const char *const replay[] = { "my card was declined",
		"[answer by alice@localhost] Which card?", "the visa",
		"[note by alice@localhost] ask about the limit" };
	const char *got;
	size_t i;

	up("[queue support]\nname = Support\nagents = alice@localhost bob@localhost\n"
	    "[agent alice@localhost]\ncapacity = 1\n[agent bob@localhost]\ncapacity = 1\n"
	    "[routing]\nagent_grace = 1\n");
	agent_online("alice", NULL);
	agent_online("bob", NULL);
	chat_goes_to("carol", "my card was declined", &got);
	chat_goes_to("dave", "dave here", &got);
	CHECK_STR(got, jid("bob"));
	agent_says("alice", 1, "Which card?");
	customer_says("carol", "support", "the visa");
	agent_says("alice", 1, "/note ask about the limit");
	queue_up("erin", "erin waits", 1); /* in line before carol's chat comes back */
	read_all();

	agent_offline("alice");
	advance(0.9);
	QUIET(jid("carol"));
	advance(0.1);
	EXPECT(jid("carol"), QUEUE, DISCONNECTED);
	CHECK_STR(state(1), "queued");
	QUIET(jid("bob")); /* bob is full */

	close_chat("bob", 2, "dave");
	/* carol's chat first: the front of the line */
	EXPECT_HEADER(jid("bob"), conv(1), "New chat #1 from carol@localhost in Support (xmpp). "
	    "Write here to answer; !help lists the commands.");
	for (i = 0; i < 4; i++) {
		struct sent *s = EXPECT(jid("bob"), conv(1), replay[i]);

		CHECK(s && s->delayed);
	}
	EXPECT(jid("carol"), QUEUE, ASSIGNED);
	QUIET(jid("bob"));
	CHECK_STR(holder(1), jid("bob"));
	CHECK_STR(state(3), "queued");
	QUIET(jid("erin"));
	down();
}

#define TRANSFERRED "You are being transferred to another agent, who has the chat so far."

static void
transfer_to_an_agent_with_a_note(void)
{
	static const char *const replay[] = { "I want a refund",
		"[answer by alice@localhost] Let me get a colleague",
		"[note by alice@localhost] refund over 100 EUR" };
	const char *got;
	size_t i;

	up("[queue support]\nname = Support\nagents = alice@localhost bob@localhost\n");
	agent_online("alice", NULL);
	agent_online("bob", NULL);
	chat_goes_to("carol", "I want a refund", &got);
	CHECK_STR(got, jid("alice"));
	agent_says("alice", 1, "Let me get a colleague");
	EXPECT(jid("carol"), QUEUE, "Let me get a colleague");

	agent_says("alice", 1, "/transfer Bob@localhost refund over 100 EUR");
	EXPECT(jid("alice"), conv(1), "Chat #1 transferred to bob@localhost.");
	EXPECT_HEADER(jid("bob"), conv(1), "Transferred chat #1 from carol@localhost in Support "
	    "(xmpp). alice@localhost handed it to you: refund over 100 EUR. Write here to answer.");
	for (i = 0; i < 3; i++)
		EXPECT(jid("bob"), conv(1), replay[i]);
	EXPECT(jid("carol"), QUEUE, TRANSFERRED);
	agent_says("bob", 1, "Hi, Bob from billing");
	EXPECT(jid("carol"), QUEUE, "Hi, Bob from billing");
	customer_says("carol", "support", "great");
	EXPECT(jid("bob"), conv(1), "great");
	agent_says("alice", 1, "me again");
	EXPECT_ERROR(jid("alice"), "forbidden");
	QUIET(jid("alice"));
	QUIET(jid("carol"));
	CHECK_STR(holder(1), jid("bob"));
	CHECK_INT(config_agent_find(jid("alice"))->chats, 0);
	CHECK_INT(config_agent_find(jid("bob"))->chats, 1);
	CHECK_STR(transcript(1), "in carol@localhost/web I want a refund\n"
	    "out alice@localhost Let me get a colleague\n"
	    "note alice@localhost refund over 100 EUR\n"
	    "out bob@localhost Hi, Bob from billing\n"
	    "in carol@localhost/web great");
	down();
}

static void
refused_transfers_leave_the_chat_with_the_agent(void)
{
	static const struct {
		const char *cmd, *answer;
	} cases[] = {
		{ "/transfer zed@localhost", "zed@localhost is neither an agent nor a queue here. "
		    "Usage: !transfer AGENT-JID or QUEUE [note]" },
		{ "/transfer billing a note", "billing is neither an agent nor a queue here. "
		    "Usage: !transfer AGENT-JID or QUEUE [note]" },
		{ "/transfer dan@localhost please", "dan@localhost is offline; the chat stays with "
		    "you." },
		{ "/transfer bob@localhost", "bob@localhost has no free slot; the chat stays with "
		    "you." },
		{ "/transfer erin@localhost", "erin@localhost is not available; the chat stays "
		    "with you." },
		{ "/transfer frank@localhost", "frank@localhost is paused; the chat stays with "
		    "you." },
		{ "/transfer alice@localhost", "This chat is already yours." },
		{ "/transfer", "Usage: !transfer AGENT-JID or QUEUE [note]" },
	};
	const char *got;
	size_t i;

	up("[queue support]\nname = Support\nagents = alice@localhost bob@localhost "
	    "dan@localhost erin@localhost frank@localhost\n[agent bob@localhost]\ncapacity = 1\n");
	agent_online("alice", NULL);
	agent_online("bob", NULL);
	agent_online("erin", "away");
	agent_online("frank", NULL);
	agent_command("frank", "/pause lunch");
	chat_goes_to("carol", "help", &got);
	CHECK_STR(got, jid("alice"));
	chat_goes_to("gina", "me too", &got);
	CHECK_STR(got, jid("bob"));
	read_all();
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		agent_says("alice", 1, cases[i].cmd);
		EXPECT(jid("alice"), conv(1), cases[i].answer);
	}
	QUIET(jid("bob"));
	QUIET(jid("frank"));
	QUIET(jid("erin"));
	QUIET(jid("carol"));
	CHECK_STR(holder(1), jid("alice"));
	CHECK_STR(transcript(1), "in carol@localhost/web help"); /* no notes stored */
	down();
}

/* A transfer by hand follows routing's rule: no chat for an agent wrapping up or at the
 * queue's capacity (lower here than bob's own), neither from an agent nor from an admin. */
static void
transfer_waits_for_wrap_up_and_the_queues_capacity(void)
{
	char err[256];
	const char *got;
	long n;

	up("[queue support]\nname = Support\nagents = alice@localhost bob@localhost\n"
	    "capacity = 1\nwrap_up = 5\n[agent bob@localhost]\ncapacity = 3\n");
	agent_online("alice", NULL);
	chat_goes_to("carol", "help", &got);
	CHECK_STR(got, jid("alice"));
	agent_online("bob", NULL);
	n = chat_goes_to("gina", "me too", &got);
	CHECK_STR(got, jid("bob"));
	agent_says("alice", 1, "/transfer bob@localhost");
	EXPECT(jid("alice"), conv(1), "bob@localhost has no free slot; the chat stays with you.");

	close_chat("bob", n, "gina");
	agent_says("alice", 1, "/transfer bob@localhost");
	EXPECT(jid("alice"), conv(1), "bob@localhost is wrapping up a chat; the chat stays with "
	    "you.");
	CHECK_INT(conversation_transfer(chat(1), "admin@localhost", "bob@localhost", "", err,
	    sizeof(err)), -1);
	CHECK_STR(err, "bob@localhost is wrapping up a chat");
	QUIET(jid("bob"));
	QUIET(jid("carol"));
	CHECK_STR(holder(1), jid("alice"));
	CHECK_STR(transcript(1), "in carol@localhost/web help"); /* no notes stored */

	advance(5); /* wrap-up over: now bob may take it */
	agent_says("alice", 1, "/transfer bob@localhost");
	EXPECT(jid("alice"), conv(1), "Chat #1 transferred to bob@localhost.");
	CHECK_STR(holder(1), jid("bob"));
	down();
}

static void
transfer_to_another_queue(void)
{
	static const char *const replay[] = { "I'd like a quote",
		"[answer by alice@localhost] Sales can help you with that",
		"[note by alice@localhost] transferred to sales: 50 licences" };
	struct conv *c;
	const char *got;
	size_t i;

	up("[queue support]\nname = Support\nagents = alice@localhost\n"
	    "[queue sales]\nname = Sales\nagents = bob@localhost\n");
	agent_online("alice", NULL);
	agent_online("bob", NULL);
	chat_goes_to("carol", "I'd like a quote", &got);
	agent_says("alice", 1, "Sales can help you with that");
	EXPECT(jid("carol"), QUEUE, "Sales can help you with that");
	agent_says("alice", 1, "/transfer sales 50 licences");
	EXPECT(jid("alice"), conv(1), "Chat #1 transferred to the queue Sales.");
	EXPECT(jid("carol"), QUEUE, "You are being transferred to Sales. Please wait a moment.");
	EXPECT_HEADER(jid("bob"), conv(1), "New chat #1 from carol@localhost in Sales (xmpp). "
	    "Write here to answer; !help lists the commands.");
	for (i = 0; i < 3; i++)
		EXPECT(jid("bob"), conv(1), replay[i]);
	EXPECT(jid("carol"), QUEUE, ASSIGNED);
	c = chat(1);
	CHECK_STR(c->queue->name, "sales");
	CHECK_STR(c->entry->name, "support");
	CHECK_STR(holder(1), jid("bob"));
	customer_says("carol", "support", "for 50 seats"); /* still where she first wrote */
	EXPECT(jid("bob"), conv(1), "for 50 seats");
	agent_says("bob", 1, "Here is your quote");
	EXPECT(jid("carol"), QUEUE, "Here is your quote"); /* from support@, not sales@ */
	agent_says("alice", 1, "anything else?");
	EXPECT_ERROR(jid("alice"), "forbidden");
	QUIET(jid("carol"));
	CHECK_INT(conversation_count(), 1);
	down();
}

static void
transfer_to_a_busy_queue_waits_at_the_front(void)
{
	const char *got;

	up("[queue support]\nname = Support\nagents = alice@localhost\n"
	    "[queue sales]\nname = Sales\nagents = bob@localhost\n"
	    "[agent bob@localhost]\ncapacity = 1\n");
	agent_online("alice", NULL);
	agent_online("bob", NULL);
	customer_says("dave", "sales", "a quote please"); /* bob's only slot */
	CHECK_STR(holder(1), jid("bob"));
	customer_says("erin", "sales", "me too"); /* waits in sales' line */
	EXPECT(jid("erin"), SALES, "Hello, and thank you for contacting Sales.");
	EXPECT_START(jid("erin"), SALES, "All our agents are busy right now.");
	chat_goes_to("carol", "I'd like to buy more", &got);
	CHECK_STR(got, jid("alice"));
	read_all();

	agent_says("alice", 3, "/transfer sales");
	EXPECT(jid("alice"), conv(3), "Chat #3 transferred to the queue Sales.");
	EXPECT(jid("carol"), QUEUE, "You are being transferred to Sales. Please wait a moment.");
	EXPECT(jid("carol"), QUEUE, QUEUED_TEXT " You are number 1 in line.");
	CHECK_STR(state(3), "queued");
	CHECK_STR(chat(3)->queue->name, "sales");

	close_chat("bob", 1, "dave");
	/* ahead of erin, who was there first */
	EXPECT_HEADER(jid("bob"), conv(3), "New chat #3 from carol@localhost in Sales (xmpp). "
	    "Write here to answer; !help lists the commands.");
	EXPECT(jid("carol"), QUEUE, ASSIGNED);
	CHECK_STR(holder(3), jid("bob"));
	CHECK_STR(state(2), "queued");
	down();
}

/* Tiers count from the chat's arrival in the new queue, not from when it was opened. */
static void
transferred_chat_waits_tier_wait_again(void)
{
	const char *got;

	up("[queue support]\nname = Support\nagents = alice@localhost\n"
	    "[queue sales]\nname = Sales\nagents = dan@localhost bob@localhost:2\n"
	    "tier_wait = 5\n");
	agent_online("alice", NULL);
	agent_online("bob", NULL);
	chat_goes_to("carol", "a quote, please", &got);
	advance(10);
	agent_says("alice", 1, "/transfer sales");
	EXPECT(jid("carol"), QUEUE, "You are being transferred to Sales. Please wait a moment.");
	CHECK_STR(state(1), "queued");
	advance(4.9);
	QUIET(jid("bob"));
	advance(0.1);
	EXPECT_HEADER(jid("bob"), conv(1), "New chat #1 from carol@localhost in Sales (xmpp). "
	    "Write here to answer; !help lists the commands.");
	CHECK_STR(holder(1), jid("bob"));
	down();
}

/* --- the customer's side: max wait, idle close ------------------------------------------ */

static int
count_task(const struct stored_task *t, void *arg)
{
	int *n = arg;

	CHECK_STR(t->assignee, QUEUE);
	CHECK_STR(t->kind, "follow-up");
	CHECK_STR(t->title, "No answer in time: bob@localhost in Support (chat #1)");
	CHECK_INT(t->conversation_id, 1);
	(*n)++;
	return 0;
}

static int
tasks_count(void)
{
	struct task_filter f = { 0 };
	int n = 0;

	CHECK_INT(store_tasks_foreach(&f, count_task, &n), 0);
	return n;
}

static void
no_answer_within_max_wait_makes_one_task(void)
{
	up("[queue support]\nname = Support\nagents = alice@localhost\nmax_wait = 2\n");
	queue_up("bob", "where is my parcel?", 1);
	advance(1.9);
	QUIET(jid("bob"));
	advance(0.1);
	EXPECT(jid("bob"), QUEUE, MAX_WAIT_TEXT);
	CHECK_INT(tasks_count(), 1);
	customer_says("bob", "support", "bob@example.com"); /* what the text asks for */
	advance(5);
	QUIET(jid("bob")); /* told once */
	CHECK_INT(tasks_count(), 1);
	CHECK_STR(state(1), "queued");
	agent_online("alice", NULL); /* the chat still goes to the first free agent */
	EXPECT_NEW_CHAT("alice", 1, "bob", "where is my parcel?");
	EXPECT(jid("alice"), conv(1), "bob@example.com");
	EXPECT(jid("bob"), QUEUE, ASSIGNED);
	CHECK_INT(tasks_count(), 1);
	down();
}

static void
chat_nobody_writes_in_closes_after_idle_close(void)
{
	const char *got;
	struct sent *told, *closed;

	up("[queue support]\nname = Support\nagents = alice@localhost\nidle_close = 2\n");
	agent_online("alice", NULL);
	chat_goes_to("carol", "hello? anyone?", &got); /* never answered */
	chat_goes_to("bob", "hi", &got);
	advance(1);
	agent_says("alice", 2, "How can I help?");
	EXPECT(jid("bob"), QUEUE, "How can I help?");
	advance(1.9);
	QUIET(jid("bob"));
	advance(0.1);
	told = EXPECT(jid("bob"), QUEUE, IDLE_TEXT);
	closed = EXPECT_START(jid("bob"), QUEUE, CLOSED);
	CHECK(told && closed && told < closed);
	EXPECT_START(jid("alice"), conv(2), "Chat #2 closed. Summary: ");
	CHECK_STR(state(2), "gone");
	CHECK(record_has(2, "\"state\":\"closed\""));
	CHECK(record_has(2, "\"close_reason\":\"inactive\""));
	CHECK(record_has(2, "\"agent_jid\":\"alice@localhost\""));
	/* carol's chat has been quiet for longer, but nobody answered her: it stays open */
	advance(10);
	QUIET(jid("carol"));
	CHECK_STR(state(1), "active");
	down();
}

/* --- a write that fails ----------------------------------------------------------------- */

/* SQL on the test's own connection to respa's database, as another process would run it. */
static void
db_exec(const char *sql)
{
	sqlite3 *db;

	CHECK_INT(sqlite3_open(w.conf->database, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	CHECK_INT(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/*
 * The agent's first answer stores the message, then when the chat was first answered. When
 * that second write fails, the pass fails: nothing is relayed, the message is not kept, and
 * memory is what the database says. The next answer, once the write works, goes through.
 */
static void
a_failed_write_fails_the_whole_pass(void)
{
	const char *got;

	up("[queue support]\nname = Support\nagents = alice@localhost\n");
	agent_online("alice", NULL);
	chat_goes_to("bob", "hello", &got);
	db_exec("CREATE TRIGGER no_answer BEFORE UPDATE OF first_response_at ON conversations "
	    "BEGIN SELECT RAISE(ABORT, 'refused'); END");
	w.failing = 1;
	agent_says("alice", 1, "Hi Bob");
	CHECK_INT(w.failed, 1);
	QUIET(jid("bob"));
	QUIET(jid("alice"));
	CHECK_STR(transcript(1), "in bob@localhost/web hello");
	CHECK(chat(1) != NULL && chat(1)->first_response_at == 0); /* rebuilt from the database */
	CHECK_STR(holder(1), jid("alice"));

	db_exec("DROP TRIGGER no_answer");
	w.failing = 0;
	agent_says("alice", 1, "Hi again");
	EXPECT(jid("bob"), QUEUE, "Hi again");
	CHECK_STR(transcript(1), "in bob@localhost/web hello\nout alice@localhost Hi again");
	CHECK(chat(1) != NULL && chat(1)->first_response_at != 0);
	customer_says("bob", "support", "thanks");
	EXPECT(jid("alice"), conv(1), "thanks");
	w.failed = 0;
	down();
}

/* --- restore ----------------------------------------------------------------------------- */

static void
state_survives_a_restart(void)
{
	const char *got;
	struct agent *a;

	up("[queue support]\nname = Support\nagents = alice@localhost\n"
	    "[agent alice@localhost]\ncapacity = 1\n[routing]\nagent_grace = 5\n");
	agent_online("alice", NULL);
	chat_goes_to("carol", "first", &got);
	agent_says("alice", 1, "Hello Carol");
	queue_up("dave", "second", 1);
	read_all();

	reload();
	CHECK_INT(conversation_count(), 2);
	CHECK_STR(state(1), "active");
	CHECK_STR(holder(1), jid("alice"));
	CHECK(chat(1)->first_response_at != 0);
	CHECK_STR(state(2), "queued");
	CHECK_INT(config_queue("support")->nwaiting, 1);
	a = config_agent_find(jid("alice"));
	CHECK_INT(a->chats, 1);
	CHECK(timer_armed(&a->grace_timer)); /* not seen since the restart */
	read_all();

	agent_online("alice", NULL); /* back within the grace: keeps the chat, still full */
	CHECK(!timer_armed(&a->grace_timer));
	QUIET(jid("alice"));
	customer_says("carol", "support", "still there?");
	EXPECT(jid("alice"), conv(1), "still there?");
	agent_says("alice", 1, "yes");
	EXPECT(jid("carol"), QUEUE, "yes");
	close_chat("alice", 1, "carol");
	EXPECT_NEW_CHAT("alice", 2, "dave", "second");
	EXPECT(jid("dave"), QUEUE, ASSIGNED);
	down();
}

static void
restored_chat_of_an_agent_who_never_comes_back_goes_on(void)
{
	const char *got;

	up("[queue support]\nname = Support\nagents = alice@localhost bob@localhost\n"
	    "[routing]\nagent_grace = 5\n");
	agent_online("alice", NULL);
	chat_goes_to("carol", "first", &got);
	CHECK_STR(got, jid("alice"));
	reload();
	agent_online("bob", NULL);
	QUIET(jid("bob"));
	advance(5);
	EXPECT(jid("carol"), QUEUE, DISCONNECTED);
	EXPECT_NEW_CHAT("bob", 1, "carol", "first");
	EXPECT(jid("carol"), QUEUE, ASSIGNED);
	CHECK_STR(holder(1), jid("bob"));
	down();
}


static void
customer_messages_during_an_offer_reach_the_offered_agent(void)
{
	struct sent *m1, *m2;

	up(OFFER_QUEUE "agents = alice@localhost\n");
	agent_online("alice", NULL);
	customer_says("carol", "support", "hi");
	EXPECT(jid("carol"), QUEUE, GREETING);
	EXPECT_OFFER("alice", 1, "carol", "hi");
	customer_says("carol", "support", "my order number is 1234");
	customer_says("carol", "support", "it never arrived");
	m1 = EXPECT(jid("alice"), conv(1), "my order number is 1234");
	m2 = EXPECT(jid("alice"), conv(1), "it never arrived");
	CHECK(m1 && m2 && m1 < m2 && !m1->delayed && !m2->delayed); /* live, not replayed */
	QUIET(jid("alice")); /* each once */
	agent_says("alice", 1, "I see it");
	EXPECT(jid("alice"), conv(1), "Chat #1 is yours.");
	EXPECT(jid("carol"), QUEUE, ASSIGNED);
	EXPECT(jid("carol"), QUEUE, "I see it");
	CHECK_STR(transcript(1), "in carol@localhost/web hi\n"
	    "in carol@localhost/web my order number is 1234\n"
	    "in carol@localhost/web it never arrived\n"
	    "out alice@localhost I see it");
	down();
}

/* --- waiting lines ------------------------------------------------------------------------ */

static void
customers_wait_in_line_until_an_agent_comes_online(void)
{
	struct sent *h1, *m1, *m2, *h2, *m3;

	up("[queue support]\nname = Support\nagents = alice@localhost\n");
	queue_up("carol", "carol here", 1);
	customer_says("carol", "support", "anyone?");
	queue_up("dave", "dave here", 2);
	QUIET(jid("carol")); /* told once, not again for each message */
	CHECK_STR(state(1), "queued");
	CHECK_STR(state(2), "queued");
	advance(1);
	agent_online("alice", NULL);
	h1 = EXPECT_HEADER(jid("alice"), conv(1), textf("New chat #1 from carol@localhost in "
	    "Support (xmpp). Write here to answer; !help lists the commands."));
	m1 = EXPECT(jid("alice"), conv(1), "carol here");
	m2 = EXPECT(jid("alice"), conv(1), "anyone?");
	h2 = EXPECT_HEADER(jid("alice"), conv(2), textf("New chat #2 from dave@localhost in "
	    "Support (xmpp). Write here to answer; !help lists the commands."));
	m3 = EXPECT(jid("alice"), conv(2), "dave here");
	CHECK(h1 && m1 && m2 && h2 && m3 && h1 < m1 && m1 < m2 && m2 < h2 && h2 < m3);
	CHECK(m1 && m1->delayed && m2 && m2->delayed && m3 && m3->delayed);
	EXPECT(jid("carol"), QUEUE, ASSIGNED);
	EXPECT(jid("dave"), QUEUE, ASSIGNED);
	CHECK(chat(1)->assigned_at >= chat(1)->created_at + 1);
	agent_says("alice", 2, "Hi Dave");
	EXPECT(jid("dave"), QUEUE, "Hi Dave");
	agent_says("alice", 1, "Hi Carol");
	EXPECT(jid("carol"), QUEUE, "Hi Carol");
	down();
}

static void
stamps_arrive_in_timeline_order(void)
{
	struct sent *m[3];
	int i;

	up("[queue support]\nname = Support\nagents = alice@localhost\n");
	queue_up("carol", "one", 1);
	customer_says("carol", "support", "two");
	customer_says("carol", "support", "three");
	agent_online("alice", NULL);
	EXPECT_HEADER(jid("alice"), conv(1), "New chat #1 from carol@localhost in Support (xmpp). "
	    "Write here to answer; !help lists the commands.");
	m[0] = EXPECT(jid("alice"), conv(1), "one");
	m[1] = EXPECT(jid("alice"), conv(1), "two");
	m[2] = EXPECT(jid("alice"), conv(1), "three");
	for (i = 0; i < 3; i++)
		CHECK(m[i] && m[i]->delayed);
	CHECK(m[0] && m[1] && m[2] && m[0] < m[1] && m[1] < m[2]);
	QUIET(jid("alice"));
	down();
}

static void
capacity_one_keeps_the_second_customer_waiting(void)
{
	const char *got;
	long n;

	up("[queue support]\nname = Support\nagents = alice@localhost\n"
	    "[agent alice@localhost]\ncapacity = 1\n");
	agent_online("alice", NULL);
	n = chat_goes_to("carol", "first", &got);
	queue_up("dave", "second", 1);
	QUIET(jid("alice"));
	CHECK_STR(state(2), "queued");
	agent_says("alice", n, "/close done");
	EXPECT_START(jid("carol"), QUEUE, CLOSED);
	EXPECT_START(jid("alice"), conv(1), "Chat #1 closed. Summary:");
	EXPECT_NEW_CHAT("alice", 2, "dave", "second");
	EXPECT(jid("dave"), QUEUE, ASSIGNED);
	CHECK_INT(config_agent_find(jid("alice"))->chats, 1);
	down();
}

static void
two_agents_share_the_work_within_capacity(void)
{
	const char *a1, *a2;
	long n2;

	up("[queue support]\nname = Support\nagents = alice@localhost bob@localhost\n"
	    "[agent alice@localhost]\ncapacity = 1\n[agent bob@localhost]\ncapacity = 1\n");
	agent_online("alice", NULL);
	agent_online("bob", NULL);
	chat_goes_to("carol", "carol needs help", &a1);
	n2 = chat_goes_to("dave", "dave needs help", &a2);
	CHECK(strcmp(a1, a2) != 0);
	queue_up("erin", "erin needs help", 1);
	QUIET(jid("alice"));
	QUIET(jid("bob"));
	close_chat(a2, n2, "dave");
	EXPECT_NEW_CHAT(a2, 3, "erin", "erin needs help");
	EXPECT(jid("erin"), QUEUE, ASSIGNED);
	QUIET(jid("alice"));
	CHECK_INT(config_queue("support")->nwaiting, 0);
	down();
}

static void
default_capacity_spreads_chats_over_agents(void)
{
	const char *got;
	int i;

	up("[queue support]\nname = Support\nagents = alice@localhost bob@localhost\n");
	agent_online("alice", NULL);
	agent_online("bob", NULL);
	for (i = 0; i < 4; i++)
		chat_goes_to(textf("cust%d", i), "hello", &got);
	CHECK_INT(config_agent_find(jid("alice"))->chats, 2);
	CHECK_INT(config_agent_find(jid("bob"))->chats, 2);
	down();
}

static void
agent_not_available_gets_no_chat_until_back(const char *show)
{
	up("[queue support]\nname = Support\nagents = alice@localhost\n");
	agent_online("alice", show);
	queue_up("carol", "is anyone there?", 1);
	QUIET(jid("alice"));
	agent_online("alice", NULL); /* back to available */
	EXPECT_NEW_CHAT("alice", 1, "carol", "is anyone there?");
	EXPECT(jid("carol"), QUEUE, ASSIGNED);
	/* and going away again stops new chats, but not the current one */
	agent_online("alice", show);
	queue_up("dave", "me too", 1);
	customer_says("carol", "support", "still here");
	EXPECT(jid("alice"), conv(1), "still here");
	QUIET(jid("alice"));
	CHECK_INT(config_agent_find(jid("alice"))->chats, 1);
	down();
}

static void
one_available_resource_is_enough(void)
{
	up("[queue support]\nname = Support\nagents = alice@localhost\n");
	agent_presence("alice", "phone", "away");
	agent_presence("alice", "desk", NULL);
	customer_says("carol", "support", "hello");
	EXPECT(jid("carol"), QUEUE, GREETING);
	EXPECT(jid("carol"), QUEUE, ASSIGNED);
	EXPECT_NEW_CHAT("alice", 1, "carol", "hello");
	feed(conversation_handler, "<message from='alice@localhost/phone' to='%s' type='chat'>"
	    "<body>and from the phone</body></message>", conv(1)); /* another resource */
	EXPECT(jid("carol"), QUEUE, "and from the phone");
	agent_presence("alice", "desk", "offline"); /* only "away" is left */
	queue_up("dave", "my turn?", 1);
	agent_presence("alice", "phone", NULL);
	EXPECT(jid("dave"), QUEUE, ASSIGNED);
	EXPECT_NEW_CHAT("alice", 2, "dave", "my turn?");
	CHECK_INT(config_agent_find(jid("alice"))->chats, 2);
	down();
}

static void
agent_going_offline_gets_no_new_chat(void)
{
	up("[queue support]\nname = Support\nagents = alice@localhost\n");
	agent_online("alice", NULL);
	agent_offline("alice");
	queue_up("carol", "hello?", 1);
	QUIET(jid("alice"));
	CHECK_STR(state(1), "queued");
	down();
}

static void
agent_jids_in_the_configuration_are_case_folded(void)
{
	const char *got;

	up("[queue support]\nname = Support\nagents = Alice@LocalHost\n"
	    "[agent ALICE@localhost]\ncapacity = 1\n");
	agent_online("alice", NULL);
	chat_goes_to("carol", "first", &got);
	CHECK_STR(got, jid("alice"));
	queue_up("dave", "second", 1); /* capacity 1 from [agent ALICE@...] */
	customer_says("alice", "support", "agents are not customers");
	EXPECT_ERROR(jid("alice"), "not-acceptable");
	CHECK_INT(conversation_count(), 2);
	down();
}

/* --- the customer's side: place in line, grace ------------------------------------------ */

static void
waiting_customers_hear_their_new_place_once(void)
{
	up("[queue support]\nname = Support\nagents = alice@localhost\nnotice_interval = 1\n"
	    "[agent alice@localhost]\ncapacity = 1\n");
	queue_up("carol", "carol is waiting", 1);
	queue_up("dave", "dave is waiting", 2);
	queue_up("erin", "erin is waiting", 3);
	agent_online("alice", NULL); /* capacity 1: she takes carol, the others move up */
	EXPECT_NEW_CHAT("alice", 1, "carol", "carol is waiting");
	EXPECT(jid("carol"), QUEUE, ASSIGNED);
	QUIET(jid("dave")); /* not at once: the notices come every notice_interval */
	advance(1);
	EXPECT(jid("dave"), QUEUE, "Thank you for waiting. You are number 1 in line.");
	EXPECT(jid("erin"), QUEUE, "Thank you for waiting. You are number 2 in line.");
	advance(3); /* only to those whose place changed */
	QUIET(jid("dave"));
	QUIET(jid("erin"));
	QUIET(jid("carol"));
	down();
}

static void
expected_wait_is_told_once_there_is_a_pace(void)
{
	up("[queue support]\nname = Support\nagents = alice@localhost\nnotice_interval = 1\n"
	    "[agent alice@localhost]\ncapacity = 1\n");
	queue_up("carol", "carol is waiting", 1);
	queue_up("dave", "dave is waiting", 2);
	queue_up("erin", "erin is waiting", 3);
	advance(1.1); /* what makes a wait count for the pace */
	agent_online("alice", NULL);
	EXPECT_NEW_CHAT("alice", 1, "carol", "carol is waiting");
	close_chat("alice", 1, "carol");
	EXPECT_NEW_CHAT("alice", 2, "dave", "dave is waiting");
	EXPECT(jid("dave"), QUEUE, ASSIGNED);
	advance(1); /* erin moved from 3 to 1 (maybe by way of 2, told without an estimate) */
	EXPECT(jid("erin"), QUEUE, "Thank you for waiting. You are number 1 in line. The wait "
	    "is about 1 min.");
	customer_says("frank", "support", "me too");
	EXPECT(jid("frank"), QUEUE, GREETING);
	EXPECT(jid("frank"), QUEUE, QUEUED_TEXT " You are number 2 in line. The wait is about "
	    "1 min.");
	down();
}

static void
customer_presence(const char *name, const char *type)
{
	if (type)
		feed(presence_handler, "<presence from='%s/web' to='" QUEUE "' type='%s'/>",
		    jid(name), type);
	else
		feed(presence_handler, "<presence from='%s/web' to='" QUEUE "'/>", jid(name));
}

static int
no_task(const struct stored_task *t, void *arg)
{
	(void)t;
	(*(int *)arg)++;
	return 0;
}

static void
customer_who_goes_away_is_closed_after_the_grace(void)
{
	struct task_filter f = { 0 };
	const char *got;
	int ntasks = 0;

	up("[queue support]\nname = Support\nagents = alice@localhost\ncustomer_grace = 1\n");
	agent_online("alice", NULL);
	customer_presence("bob", NULL); /* as a web client does: directed presence */
	chat_goes_to("bob", "hi", &got);
	agent_says("alice", 1, "Hello Bob");
	EXPECT(jid("bob"), QUEUE, "Hello Bob");
	customer_presence("bob", "unavailable"); /* the tab was closed */
	advance(0.9);
	QUIET(jid("alice"));
	advance(0.1);
	EXPECT_START(jid("alice"), conv(1), "Chat #1 closed. Summary: ");
	CHECK_STR(state(1), "gone");
	CHECK(record_has(1, "\"close_reason\":\"customer-left\""));
	CHECK_INT(store_tasks_foreach(&f, no_task, &ntasks), 0);
	CHECK_INT(ntasks, 0); /* an agent had answered */
	QUIET(jid("bob")); /* nobody there to read a goodbye */
	CHECK_INT(config_agent_find(jid("alice"))->chats, 0);
	down();
}

static void
customer_back_within_the_grace_keeps_the_chat(int by_message)
{
	const char *got;

	up("[queue support]\nname = Support\nagents = alice@localhost\ncustomer_grace = 1\n");
	agent_online("alice", NULL);
	customer_presence("bob", NULL);
	chat_goes_to("bob", "hi", &got);
	agent_says("alice", 1, "Hello Bob");
	EXPECT(jid("bob"), QUEUE, "Hello Bob");
	customer_presence("bob", "unavailable");
	advance(0.5);
	if (by_message) {
		customer_says("bob", "support", "sorry, I am back");
		EXPECT(jid("alice"), conv(1), "sorry, I am back");
	} else /* e.g. the page reloaded */
		customer_presence("bob", NULL);
	advance(2); /* past the grace: no "closed" */
	QUIET(jid("alice"));
	CHECK_STR(state(1), "active");
	customer_says("bob", "support", "still there?");
	EXPECT(jid("alice"), conv(1), "still there?");
	down();
}

struct task_seen {
	int n;
	char title[160];
	char assignee[128];
};

static int
task_seen(const struct stored_task *t, void *arg)
{
	struct task_seen *s = arg;

	s->n++;
	snprintf(s->title, sizeof(s->title), "%s", t->title);
	snprintf(s->assignee, sizeof(s->assignee), "%s", t->assignee);
	return 0;
}

static void
customer_who_left_before_an_answer_gets_a_task_for_the_queue(void)
{
	struct task_filter f = { 0 };
	struct task_seen seen = { 0 };

	up("[queue support]\nname = Support\nagents = alice@localhost\ncustomer_grace = 1\n");
	customer_presence("guest", NULL);
	queue_up("guest", "is anyone there?", 1);
	customer_presence("guest", "unavailable"); /* logged out */
	advance(1);
	CHECK_STR(state(1), "gone");
	CHECK(record_has(1, "\"close_reason\":\"customer-left\""));
	CHECK(record_has(1, "\"agent_jid\":null"));
	CHECK_INT(store_tasks_foreach(&f, task_seen, &seen), 0);
	CHECK_INT(seen.n, 1);
	CHECK_STR(seen.assignee, QUEUE);
	CHECK_STR(seen.title, "Left before an answer: guest@localhost in Support (chat #1)");
	agent_online("alice", NULL); /* the line is empty: no chat for her, but the task */
	EXPECT_START(jid("alice"), DOMAIN, "Due now:");
	QUIET(jid("alice"));
	CHECK_INT(conversation_count(), 0);
	down();
}

int
main(void)
{
	log_init(-1, "test_flow");
	xmpp_initialize();
	w.ctx = xmpp_ctx_new(NULL, NULL);

	answering_an_offer_takes_the_chat();
	accept_takes_the_offer_without_a_text();
	rejected_offer_goes_to_the_next_agent();
	rejecting_agent_gets_the_chat_again_after_reject_delay();
	unanswered_offer_moves_to_the_next_agent();
	missed_offers_in_a_row_pause_the_agent();
	offer_is_withdrawn_when_the_agent_goes_offline();
	other_commands_during_an_offer_are_refused();
	only_the_offered_agent_may_write();
	customer_messages_during_an_offer_reach_the_offered_agent();

	bang_commands_work_like_slash_ones();
	me_is_an_action_for_the_customer();
	desk_commands_take_bang();
	encrypted_lines_are_neither_relayed_nor_stored();
	closed_chats_go_quiet_and_offline();
	chat_addresses_are_online_while_an_agent_has_them();
	chat_state_of_a_former_holder_gets_no_error();

	customers_wait_in_line_until_an_agent_comes_online();
	stamps_arrive_in_timeline_order();
	capacity_one_keeps_the_second_customer_waiting();
	two_agents_share_the_work_within_capacity();
	default_capacity_spreads_chats_over_agents();
	agent_not_available_gets_no_chat_until_back("away");
	agent_not_available_gets_no_chat_until_back("xa");
	agent_not_available_gets_no_chat_until_back("dnd");
	one_available_resource_is_enough();
	agent_going_offline_gets_no_new_chat();
	agent_jids_in_the_configuration_are_case_folded();

	longest_idle_agent_gets_the_next_chat();
	least_busy_agent_wins_even_when_not_longest_idle();
	round_robin_gives_chats_in_turn();
	ring_all_offers_every_free_agent();
	free_for_chat_comes_before_merely_available();
	tier_two_gets_a_chat_only_after_tier_wait();
	queue_capacity_overrides_the_agents_own();
	capacity_holds_under_a_burst();
	wrap_up_holds_new_chats_after_a_close();
	pause_holds_through_presence_until_ready();

	agent_back_within_the_grace_keeps_its_chats();
	agent_present_but_away_keeps_the_chat("away");
	agent_present_but_away_keeps_the_chat("dnd");
	chat_of_an_agent_gone_past_the_grace_goes_on();
	transfer_to_an_agent_with_a_note();
	refused_transfers_leave_the_chat_with_the_agent();
	transfer_waits_for_wrap_up_and_the_queues_capacity();
	transfer_to_another_queue();
	transfer_to_a_busy_queue_waits_at_the_front();
	transferred_chat_waits_tier_wait_again();

	no_answer_within_max_wait_makes_one_task();
	chat_nobody_writes_in_closes_after_idle_close();
	waiting_customers_hear_their_new_place_once();
	expected_wait_is_told_once_there_is_a_pace();
	customer_who_goes_away_is_closed_after_the_grace();
	customer_back_within_the_grace_keeps_the_chat(0);
	customer_back_within_the_grace_keeps_the_chat(1);
	customer_who_left_before_an_answer_gets_a_task_for_the_queue();

	a_failed_write_fails_the_whole_pass();
	state_survives_a_restart();
	restored_chat_of_an_agent_who_never_comes_back_goes_on();

	free(sent);
	xmpp_ctx_free(w.ctx);
	xmpp_shutdown();
	respa_clock_set(0);
	return check_done();
}
