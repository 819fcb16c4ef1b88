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
	char *name, *type, *to, *from, *body, *cond, *id;
	char *show, *status, *lang; /* a presence's; lang: xml:lang of either */
	char *ended, *nick, *field; /* <ended reason=''/>, <nick/>, an error's <invalid field=''/> */
	int delayed, caps, used, notice;
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
	xmpp_stanza_t *err, *e;
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
	s->id = dup_or_null(xmpp_stanza_get_id(st));
	if (strcmp(s->name, "message") == 0)
		s->body = stanza_body(st);
	if ((err = xmpp_stanza_get_child_by_name(st, "error")) != NULL &&
	    xmpp_stanza_get_children(err) != NULL)
		s->cond = dup_or_null(xmpp_stanza_get_name(xmpp_stanza_get_children(err)));
	s->delayed = xmpp_stanza_get_child_by_ns(st, NS_DELAY) != NULL;
	s->caps = xmpp_stanza_get_child_by_ns(st, NS_CAPS) != NULL;
	/* the outbox is parsed back from the text sent: expat hands xml:lang over as "lang" */
	s->lang = dup_or_null(xmpp_stanza_get_attribute(st, "xml:lang")
	        ? xmpp_stanza_get_attribute(st, "xml:lang")
	        : xmpp_stanza_get_attribute(st, "lang"));
	if (strcmp(s->name, "presence") == 0) {
		s->show = dup_or_null(stanza_show(st));
		if ((e = xmpp_stanza_get_child_by_name(st, "status")) != NULL)
			s->status = xmpp_stanza_get_text(e);
	}
	s->notice = xmpp_stanza_get_child_by_ns(st, NS_WIDGET) != NULL;
	for (e = xmpp_stanza_get_children(st); e; e = xmpp_stanza_get_next(e))
		if (xmpp_stanza_is_tag(e) && strcmp(xmpp_stanza_get_name(e), "ended") == 0)
			s->ended = dup_or_null(xmpp_stanza_get_attribute(e, "reason"));
	if ((e = xmpp_stanza_get_child_by_ns(st, NS_NICK)) != NULL)
		s->nick = xmpp_stanza_get_text(e);
	if (err && (e = xmpp_stanza_get_child_by_ns(err, NS_WIDGET)) != NULL)
		s->field = dup_or_null(xmpp_stanza_get_attribute(e, "field"));
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
		free(sent[i].id);
		free(sent[i].show);
		free(sent[i].status);
		free(sent[i].lang);
		free(sent[i].ended);
		free(sent[i].nick);
		free(sent[i].field);
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
	mailer_init(w.conf);
	alert_init(w.conf);
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
	mailer_free();
	alert_free();
	transcript_free();
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

/*
 * The agent's server returns respa's message `id` in chat #n as an error: the client died
 * and its hibernated session ended (XEP-0198), or the agent is offline.
 */
static void
bounce(const char *name, long n, const char *id)
{
	feed(conversation_handler, "<message from='%s' to='%s' type='error' id='%s'>"
	    "<body>lost</body><error type='cancel'><recipient-unavailable "
	    "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>", jid(name), conv(n),
	    id ? id : "");
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

/* --- messages to agents that bounce (a client killed while its session hibernates) ---- */

/* respa asked the server for the agent's presence since the checks last started afresh. */
static int
probed(const char *name)
{
	size_t i;

	for (i = 0; i < nsent; i++)
		if (!sent[i].used && strcmp(sent[i].name, "presence") == 0 && sent[i].type &&
		    strcmp(sent[i].type, "probe") == 0 && bare_is(sent[i].to, jid(name))) {
			sent[i].used = 1;
			return 1;
		}
	return 0;
}

static void
bounced_offer_goes_back_to_the_front_of_the_line(void)
{
	struct sent *header;
	struct agent *alice;
	char *id;

	up(OFFER_QUEUE "agents = alice@localhost bob@localhost\n"
	    "[agent alice@localhost]\ncapacity = 1\n[agent bob@localhost]\ncapacity = 1\n");
	agent_online("alice", NULL);
	agent_online("bob", NULL);
	alice = config_agent_find(jid("alice"));
	customer_says("carol", "support", "my parcel is late");
	EXPECT(jid("carol"), QUEUE, GREETING);
	id = offer_text(1, "carol");
	header = EXPECT_HEADER(jid("alice"), conv(1), id);
	free(id);
	id = xstrdup(header && header->id ? header->id : "none");
	EXPECT(jid("alice"), conv(1), "my parcel is late");
	customer_says("dave", "support", "dave here");
	EXPECT(jid("dave"), QUEUE, GREETING);
	EXPECT_OFFER("bob", 2, "dave", "dave here");
	queue_up("erin", "erin waits", 1);
	read_all();

	advance(3);
	bounce("alice", 1, id); /* the header, then the first line */
	bounce("alice", 1, "other");
	CHECK_STR(state(1), "queued");
	CHECK(TAILQ_FIRST(&chat(1)->queue->waiting) == chat(1)); /* before erin */
	CHECK(chat(1)->queued_at == T0);                         /* its wait counts from then */
	CHECK_INT(alice->missed, 0);                             /* not a miss: not paused */
	CHECK(alice->unreachable);
	CHECK(probed("alice"));
	QUIET(jid("alice"));
	QUIET(jid("carol")); /* nothing: she was never told an agent joined */

	agent_says("bob", 2, "/accept");
	EXPECT(jid("bob"), conv(2), "Chat #2 is yours.");
	EXPECT(jid("dave"), QUEUE, ASSIGNED);
	close_chat("bob", 2, "dave");
	/* bob is free: the front of the line is carol's chat, with the transcript */
	EXPECT_OFFER("bob", 1, "carol", "my parcel is late");
	agent_says("bob", 1, "Bob here");
	EXPECT(jid("bob"), conv(1), "Chat #1 is yours.");
	EXPECT(jid("carol"), QUEUE, ASSIGNED);
	EXPECT(jid("carol"), QUEUE, "Bob here");
	CHECK_STR(state(3), "queued");

	/* the probe's answer: alice's client is there; she takes chats again */
	agent_online("alice", NULL);
	CHECK(!alice->unreachable);
	EXPECT_OFFER("alice", 3, "erin", "erin waits");
	free(id);
	down();
}

static void
new_chat_an_agent_never_got_goes_to_the_next_agent_quietly(void)
{
	struct sent *header;
	struct agent *alice;
	char *id, *t;
	const char *got;

	up("[queue support]\nname = Support\nagents = alice@localhost bob@localhost\n"
	    "notice_interval = 5\n[routing]\nagent_grace = 30\n");
	agent_online("alice", NULL);
	alice = config_agent_find(jid("alice"));
	/* alice's client is dead, but its session hibernates: respa still sees her online */
	customer_says("carol", "support", "hello?");
	EXPECT(jid("carol"), QUEUE, GREETING);
	EXPECT(jid("carol"), QUEUE, ASSIGNED);
	t = new_chat_text(1, "carol", "Support");
	header = EXPECT_HEADER(jid("alice"), conv(1), t);
	free(t);
	id = xstrdup(header && header->id ? header->id : "none");
	customer_says("carol", "support", "is anyone there?");
	advance(2);
	bounce("alice", 1, id); /* the session ended: what it held comes back */
	bounce("alice", 1, "line-2");
	agent_offline("alice");
	CHECK_STR(state(1), "queued");
	CHECK_STR(holder(1), "nobody");
	CHECK_INT(alice->chats, 0);
	CHECK(!timer_armed(&alice->grace_timer)); /* no chat of hers to wait for */
	advance(10); /* past notice_interval: she is not told she waits in line */
	QUIET(jid("carol"));
	CHECK_STR(transcript(1), "in carol@localhost/web hello?\n"
	    "in carol@localhost/web is anyone there?");

	agent_online("bob", NULL);
	t = new_chat_text(1, "carol", "Support");
	EXPECT_HEADER(jid("bob"), conv(1), t);
	free(t);
	EXPECT(jid("bob"), conv(1), "hello?");
	EXPECT(jid("bob"), conv(1), "is anyone there?");
	QUIET(jid("carol")); /* no second "An agent has joined" */
	agent_says("bob", 1, "Bob here, sorry for the wait");
	EXPECT(jid("carol"), QUEUE, "Bob here, sorry for the wait");
	CHECK_STR(holder(1), jid("bob"));

	/* alice's new client: she gets new chats again */
	agent_presence("alice", "laptop", NULL);
	CHECK(!alice->unreachable);
	chat_goes_to("dave", "dave here", &got);
	CHECK_STR(got, jid("alice"));
	free(id);
	down();
}

static void
bounce_in_an_answered_chat_resends_it_when_the_agent_is_back(void)
{
	static const char *const replay[] = { "my card was declined",
		"[answer by alice@localhost] Which card?", "the visa" };
	struct agent *alice;
	const char *got;
	size_t i;

	up("[queue support]\nname = Support\nagents = alice@localhost bob@localhost\n"
	    "[routing]\nagent_grace = 5\n");
	agent_online("alice", NULL);
	alice = config_agent_find(jid("alice"));
	chat_goes_to("carol", "my card was declined", &got);
	agent_says("alice", 1, "Which card?");
	EXPECT(jid("carol"), QUEUE, "Which card?");
	customer_says("carol", "support", "the visa");
	EXPECT(jid("alice"), conv(1), "the visa");
	read_all();

	bounce("alice", 1, "any"); /* her client died; the server gave up on its session */
	bounce("alice", 1, "any-2");
	CHECK_STR(holder(1), jid("alice")); /* kept: she answered, she may be back */
	CHECK(alice->unreachable);
	CHECK(timer_armed(&alice->grace_timer));
	CHECK(probed("alice"));
	agent_offline("alice");
	agent_online("bob", NULL);
	chat_goes_to("dave", "dave here", &got);
	CHECK_STR(got, jid("bob")); /* not alice: she is offline */
	read_all();
	advance(4);
	QUIET(jid("carol"));

	agent_presence("alice", "phone", NULL); /* her new client, within the grace */
	EXPECT_HEADER(jid("alice"), conv(1), "Chat #1 from carol@localhost in Support (xmpp). "
	    "Your client missed part of this chat: here it is again. Write here to answer; !help "
	    "lists the commands.");
	for (i = 0; i < 3; i++) {
		struct sent *s = EXPECT(jid("alice"), conv(1), replay[i]);

		CHECK(s && s->delayed);
	}
	advance(5); /* past the grace: nothing moves */
	QUIET(jid("carol"));
	CHECK_STR(holder(1), jid("alice"));
	CHECK(!alice->unreachable);
	agent_says("alice", 1, "Back: the visa it is");
	EXPECT(jid("carol"), QUEUE, "Back: the visa it is");
	down();
}

static void
bounce_in_an_answered_chat_moves_it_after_the_grace(void)
{
	const char *got;

	up("[queue support]\nname = Support\nagents = alice@localhost\n"
	    "[routing]\nagent_grace = 2\n");
	agent_online("alice", NULL);
	chat_goes_to("carol", "hi", &got);
	agent_says("alice", 1, "Hello Carol");
	EXPECT(jid("carol"), QUEUE, "Hello Carol");
	bounce("alice", 1, "x"); /* the session ended, but its presence has not come yet */
	advance(1.9);
	QUIET(jid("carol"));
	advance(0.1);
	EXPECT(jid("carol"), QUEUE, DISCONNECTED);
	CHECK_STR(state(1), "queued");
	down();
}

static void
bounce_from_one_of_two_clients_moves_nothing(void)
{
	struct sent *header;
	struct agent *alice;
	char *t;
	const char *id;

	up("[queue support]\nname = Support\nagents = alice@localhost bob@localhost\n");
	agent_presence("alice", "desk", NULL);
	agent_presence("alice", "phone", NULL);
	agent_online("bob", NULL);
	alice = config_agent_find(jid("alice"));
	customer_says("carol", "support", "hello");
	EXPECT(jid("carol"), QUEUE, GREETING);
	t = new_chat_text(1, "carol", "Support");
	header = EXPECT_HEADER(jid("alice"), conv(1), t);
	free(t);
	id = header && header->id ? header->id : "none";
	bounce("alice", 1, id); /* the dead one's copy: the other client got it */
	CHECK_STR(holder(1), jid("alice"));
	CHECK(!alice->unreachable);
	QUIET(jid("bob"));
	down();
}

static void
bounce_for_a_closed_chat_is_ignored(void)
{
	const char *got;
	int i;

	up("[queue support]\nname = Support\nagents = alice@localhost\n");
	agent_online("alice", NULL);
	chat_goes_to("carol", "hi", &got);
	close_chat("alice", 1, "carol");
	read_all();
	for (i = 0; i < 3; i++)
		bounce("alice", 1, "late");
	bounce("alice", 99, "never");
	CHECK(nsent == 0 || sent[nsent - 1].used); /* nothing answered, nobody told */
	CHECK(!config_agent_find(jid("alice"))->unreachable);
	chat_goes_to("dave", "dave here", &got); /* alice still takes chats */
	CHECK_STR(got, jid("alice"));
	down();
}

static void
transcript_goes_to_the_client_that_asked(void)
{
	const char *got;
	struct sent *s;
	size_t i;

	up("[queue support]\nname = Support\nagents = alice@localhost bob@localhost\n");
	agent_online("alice", NULL);
	agent_online("bob", NULL);
	chat_goes_to("carol", "my order is late", &got);
	CHECK_STR(got, jid("alice"));
	agent_says("alice", 1, "Which order?");
	customer_says("carol", "support", "number 42");
	read_all();
	/* alice's second client, logged in mid-chat */
	feed(conversation_handler, "<message from='alice@localhost/phone' to='%s' type='chat'>"
	    "<body>/transcript</body></message>", conv(1));
	s = EXPECT_HEADER(jid("alice"), conv(1), "Transcript of chat #1 from carol@localhost in "
	    "Support (xmpp). The lines so far follow.");
	CHECK(s && strcmp(s->to, "alice@localhost/phone") == 0);
	for (i = 0; i < 3; i++) {
		static const char *const lines[] = { "my order is late",
			"[answer by alice@localhost] Which order?", "number 42" };

		s = EXPECT(jid("alice"), conv(1), lines[i]);
		CHECK(s && strcmp(s->to, "alice@localhost/phone") == 0 && s->delayed);
	}
	QUIET(jid("alice"));
	QUIET(jid("carol")); /* a command, not relayed */
	agent_says("bob", 1, "/transcript"); /* not his chat */
	EXPECT_ERROR(jid("bob"), "forbidden");
	QUIET(jid("bob"));
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

/* --- the customer's copy of the chat by email ------------------------------------------- */

#define TRANSCRIPT_Q(email) \
	"Would you like a copy of this chat by email to " email "? Reply yes or no, or write " \
	"the email address to send it to."

/* A number the SQL gives, read on the test's own connection (the pass is committed). */
static long
db_number(const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *s;
	long n = -1;

	CHECK_INT(sqlite3_open(w.conf->database, &db), SQLITE_OK);
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK) {
		if (sqlite3_step(s) == SQLITE_ROW)
			n = sqlite3_column_int64(s, 0);
		sqlite3_finalize(s);
	}
	sqlite3_close(db);
	return n;
}

/*
 * A chat an agent answered ends with the question when an email is known; a yes queues the
 * mail in the same pass; a yes after the 10 minutes is a new message, and opens a chat. The
 * transcript has the lines with local times, agents under the queue's title, no note.
 */
static void
transcript_question_is_answered_within_ten_minutes(void)
{
	const char *got;
	char *text;
	long n;

	up("[mail]\nsendmail = /bin/true\nfrom = help@example.com\n"
	   "[queue support]\nname = Support\nagents = alice@localhost\n"
	   "timezone = Europe/Helsinki\n");
	agent_online("alice", NULL);
	n = chat_goes_to("bob", "my address is bob@example.com", &got);
	agent_says("alice", n, "Thanks, Bob");
	EXPECT(jid("bob"), QUEUE, "Thanks, Bob");
	agent_says("alice", n, "/note private remark");
	EXPECT_START(jid("alice"), conv(n), "Note saved");
	text = transcript_text(n, "Europe/Helsinki", "Support", "You");
	CHECK_STR(text, "2027-01-15\n[10:00] You: my address is bob@example.com\n"
	                "[10:00] Support: Thanks, Bob\n");
	free(text);
	close_chat("alice", n, "bob");
	EXPECT(jid("bob"), QUEUE, TRANSCRIPT_Q("bob@example.com"));
	customer_says("bob", "support", " Yes! ");
	EXPECT(jid("bob"), QUEUE, "Thank you: a copy of the chat is on its way to bob@example.com.");
	CHECK_INT(db_number("SELECT count(*) FROM mail_outbox WHERE kind = 'transcript' AND "
	                    "to_addr = 'bob@example.com' AND conversation_id = 1"),
	    1);
	CHECK_INT(db_number("SELECT count(*) FROM conversations"), 1); /* the yes opened none */
	QUIET(jid("bob"));

	/* the question waits 10 minutes: a yes after that is a new message */
	n = chat_goes_to("bob", "one more thing", &got);
	agent_says("alice", n, "Sure");
	EXPECT(jid("bob"), QUEUE, "Sure");
	close_chat("alice", n, "bob");
	EXPECT(jid("bob"), QUEUE, TRANSCRIPT_Q("bob@example.com"));
	advance(601);
	customer_says("bob", "support", "yes");
	EXPECT(jid("bob"), QUEUE, GREETING);
	CHECK_INT(db_number("SELECT count(*) FROM conversations"), 3);
	CHECK_INT(db_number("SELECT count(*) FROM mail_outbox WHERE conversation_id = 2"), 0);

	/* carol's chat ends before the agent wrote anything: nothing to send, no question */
	customer_says("carol", "support", "carol@example.com here");
	EXPECT(jid("carol"), QUEUE, GREETING);
	EXPECT(jid("carol"), QUEUE, ASSIGNED);
	close_chat("alice", 4, "carol");
	QUIET(jid("carol"));
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

/*
 * The pass that would tell a customer their wait ran out, and make the task, fails: the
 * customer was told nothing, so once writes work again both happen, once.
 */
static void
max_wait_whose_task_failed_runs_again(void)
{
	up("[queue support]\nname = Support\nagents = alice@localhost\nmax_wait = 2\n");
	queue_up("bob", "where is my parcel?", 1);
	db_exec("CREATE TRIGGER no_task BEFORE INSERT ON tasks "
	    "BEGIN SELECT RAISE(ABORT, 'refused'); END");
	w.failing = 1;
	advance(2);
	CHECK(w.failed >= 1);
	QUIET(jid("bob"));
	CHECK_INT(tasks_count(), 0);
	db_exec("DROP TRIGGER no_task");
	w.failing = 0;
	advance(300); /* past any back-off */
	CHECK_INT(count_to(jid("bob"), MAX_WAIT_TEXT), 1);
	CHECK_INT(tasks_count(), 1);
	w.failed = 0;
	down();
}

/* --- presence_check ---------------------------------------------------------------------- */

static int
probes_to(const char *to)
{
	size_t i;
	int n = 0;

	for (i = 0; i < nsent; i++)
		if (!sent[i].used && strcmp(sent[i].name, "presence") == 0 && sent[i].type &&
		    strcmp(sent[i].type, "probe") == 0 && bare_is(sent[i].to, to)) {
			sent[i].used = 1;
			n++;
		}
	return n;
}

/*
 * An agent counted online is probed every presence_check; when the server answers that no
 * client of theirs is online (their cluster node died without a word), they are offline and
 * their chat waits out the grace. A bare unavailable nobody asked for changes nothing.
 */
static void
presence_check_finds_an_agent_whose_server_lost_them(void)
{
	const char *got;
	struct agent *a;

	up("[queue support]\nname = Support\nagents = alice@localhost bob@localhost\n"
	    "[routing]\npresence_check = 60\nagent_grace = 5\n");
	agent_online("alice", NULL);
	chat_goes_to("carol", "hello", &got);
	CHECK_STR(got, jid("alice"));
	a = config_agent_find(jid("alice"));
	feed(presence_handler, "<presence from='alice@localhost' to='" DOMAIN "' "
	    "type='unavailable'/>"); /* not an answer to a check: alice stays */
	CHECK(a->show != SHOW_OFFLINE);
	read_all();
	reload(); /* as at connect: probes, and the check timer armed */
	agent_online("alice", NULL);
	a = config_agent_find(jid("alice"));
	read_all();
	advance(59.9);
	CHECK_INT(probes_to(jid("alice")), 0);
	advance(0.1);
	CHECK_INT(probes_to(jid("alice")), 1);
	CHECK_INT(probes_to(jid("bob")), 0); /* offline: nothing to check */
	feed(presence_handler, "<presence from='alice@localhost' to='" DOMAIN "' "
	    "type='unavailable'/>");
	CHECK(a->show == SHOW_OFFLINE);
	CHECK(timer_armed(&a->grace_timer));
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


/* --- the widget: the queue's presence, languages, markers, pre-chat and offline forms ---- */

/* The last presence respa sent `to` (a bare JID), or NULL. */
static struct sent *
last_presence(const char *to)
{
	size_t i;

	for (i = nsent; i-- > 0;)
		if (strcmp(sent[i].name, "presence") == 0 && bare_is(sent[i].to, to))
			return &sent[i];
	return NULL;
}

#define CHECK_PRESENCE(to, want_show, want_status) do { \
	struct sent *p_ = last_presence(to); \
	CHECK(p_ != NULL); \
	if (p_) { \
		CHECK_STR(p_->show ? p_->show : "available", want_show); \
		CHECK_STR(p_->status, want_status); \
	} \
} while (0)

static void
queue_presence_counts_only_a_chat_now(void)
{
	const char *got;

	/* alice tier 1, bob tier 2: with alice busy, a new customer waits tier_wait first */
	up("[queue support]\nname = Support\nagents = bob@localhost:2 alice@localhost\n"
	    "tier_wait = 30\n[agent alice@localhost]\ncapacity = 1\n");
	agent_online("alice", NULL);
	agent_online("bob", NULL);
	customer_presence("watcher", NULL);
	CHECK_PRESENCE(jid("watcher"), "available", "Open: an agent is free");
	customer_presence("cust1", NULL);
	chat_goes_to("cust1", "first", &got);
	CHECK_STR(got, jid("alice"));
	advance(1);
	/* bob is free, but not for a new customer: no "Online" that the next line contradicts */
	CHECK_PRESENCE(jid("watcher"), "away", "Open: every agent is busy");
	/* the customer in a chat is shown that, not "busy / 0 waiting" */
	CHECK_PRESENCE(jid("cust1"), "available", "You are chatting with an agent");
	queue_up("cust2", "second", 1);
	advance(1);
	CHECK_PRESENCE(jid("watcher"), "away", "1 waiting");
	close_chat("alice", 1, "cust1");
	advance(1);
	EXPECT_NEW_CHAT("alice", 2, "cust2", "second");
	/* the line is empty and alice has her one chat: busy again; cust1 sees the queue again */
	CHECK_PRESENCE(jid("watcher"), "away", "Open: every agent is busy");
	CHECK_PRESENCE(jid("cust1"), "away", "Open: every agent is busy");
	down();
}

/* The first unread message to `to` of respa's own, marked <notice/>, in lang. */
static struct sent *
expect_notice_at(int line, const char *to, const char *body, const char *lang)
{
	struct sent *s = expect_at(line, to, QUEUE, body, EXACT);

	if (s) {
		check_report(s->notice, __FILE__, line, "a <notice/>");
		check_report(s->lang && strcmp(s->lang, lang) == 0, __FILE__, line, lang);
	}
	return s;
}
#define EXPECT_NOTICE(to, body, lang) expect_notice_at(__LINE__, to, body, lang)

static void
finnish_queue_speaks_finnish(void)
{
	struct sent *s;

	up("[queue support]\nname = Tuki\nlanguage = fi\nagents = alice@localhost\n"
	    "idle_close = 120\n[agent alice@localhost]\ncapacity = 1\nname = Aino\n");
	agent_online("alice", NULL);
	customer_presence("watcher", NULL);
	CHECK_PRESENCE(jid("watcher"), "available", "Avoinna: asiakaspalvelija on vapaana");
	CHECK_STR(last_presence(jid("watcher"))->lang, "fi");
	customer_says("bob", "support", "hei");
	EXPECT_NOTICE(jid("bob"), "Hei! Kiitos yhteydenotostasi. Tuki palvelee sinua tässä "
	    "keskustelussa.", "fi");
	EXPECT_NOTICE(jid("bob"), "Asiakaspalvelija liittyi keskusteluun.", "fi");
	customer_says("carol", "support", "moi");
	EXPECT_NOTICE(jid("carol"), "Hei! Kiitos yhteydenotostasi. Tuki palvelee sinua tässä "
	    "keskustelussa.", "fi");
	EXPECT_NOTICE(jid("carol"), "Kaikki asiakaspalvelijamme ovat juuri nyt varattuja. Olet "
	    "jonossa, ja vastaamme heti, kun joku vapautuu. Olet jonossa sijalla 1.", "fi");
	advance(1);
	CHECK_PRESENCE(jid("watcher"), "away", "1 jonossa");
	/* the agent's line: her display name, not a notice */
	agent_says("alice", 1, "Hei Bob");
	s = EXPECT(jid("bob"), QUEUE, "Hei Bob");
	CHECK(s && !s->notice && s->nick && strcmp(s->nick, "Aino") == 0);
	CHECK(s && s->lang && strcmp(s->lang, "fi") == 0);
	/* nobody writes for idle_close: closed in Finnish, with the end marked */
	advance(120);
	EXPECT_NOTICE(jid("bob"), "Keskustelu suljettiin, koska kukaan ei kirjoittanut 2 "
	    "minuuttiin.", "fi");
	s = EXPECT_NOTICE(jid("bob"), "Keskustelu on päättynyt. Kiitos yhteydenotostasi! Voit "
	    "kirjoittaa meille milloin vain uudelleen.", "fi");
	CHECK(s && s->ended && strcmp(s->ended, "inactive") == 0);
	down();
}

static void
agent_lines_carry_the_queues_title_without_a_name(void)
{
	struct sent *s;
	const char *got;

	up("[queue support]\nname = Support\nagents = alice@localhost\n");
	agent_online("alice", NULL);
	chat_goes_to("bob", "hi", &got);
	agent_says("alice", 1, "Hello");
	s = EXPECT(jid("bob"), QUEUE, "Hello");
	CHECK(s && s->nick && strcmp(s->nick, "Support") == 0);
	agent_says("alice", 1, "/close");
	EXPECT_START(jid("alice"), conv(1), "Chat #1 closed. Summary:");
	s = EXPECT_START(jid("bob"), QUEUE, CLOSED);
	CHECK(s && s->notice && s->ended && strcmp(s->ended, "agent") == 0);
	CHECK(s && s->lang && strcmp(s->lang, "en") == 0);
	down();
}

#define SESSION "s0123456789abcdefgh"

/* A widget's first message with pre-chat values (each "" to leave it out). */
static void
widget_says(const char *name, const char *queue, const char *body, const char *prechat)
{
	feed(conversation_handler, "<message from='%s/web' to='%s@" DOMAIN "' type='chat'>"
	    "<body>%s</body><visitor xmlns='" NS_VISITOR "' session='" SESSION "'>%s</visitor>"
	    "</message>", jid(name), queue, body, prechat);
}

static int64_t
count_rows(const char *table)
{
	char *sql = xasprintf("%s/respa.db", w.dir);
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t n = -1;

	if (sqlite3_open(sql, &db) == SQLITE_OK) {
		free(sql);
		sql = xasprintf("SELECT count(*) FROM %s", table);
		if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
		    sqlite3_step(st) == SQLITE_ROW)
			n = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	free(sql);
	return n;
}

/* An error of this condition to `to`, naming the field. */
static void
expect_field_error_at(int line, const char *to, const char *cond, const char *field)
{
	size_t i;

	for (i = 0; i < nsent; i++)
		if (!sent[i].used && sent[i].type && strcmp(sent[i].type, "error") == 0 &&
		    bare_is(sent[i].to, to)) {
			sent[i].used = 1;
			check_report(sent[i].cond && strcmp(sent[i].cond, cond) == 0, __FILE__, line,
			    cond);
			check_report(sent[i].field && strcmp(sent[i].field, field) == 0, __FILE__,
			    line, field);
			return;
		}
	check_report(0, __FILE__, line, cond);
}
#define EXPECT_FIELD_ERROR(to, cond, field) expect_field_error_at(__LINE__, to, cond, field)

static void
topics_route_and_bad_prechat_values_store_nothing(void)
{
	up("[queue support]\nname = Support\nagents = alice@localhost\ntopics = general\n"
	    "[queue billing]\nname = Billing\nagents = bob@localhost\ntopics = invoices refunds\n");
	agent_online("alice", NULL);
	agent_online("bob", NULL);
	/* a topic another queue takes, a topic nobody takes, bad values: refused, nothing kept */
	widget_says("v1", "support", "hi", "<topic>invoices</topic>");
	EXPECT_FIELD_ERROR(jid("v1"), "not-acceptable", "topic");
	widget_says("v1", "billing", "hi", "<topic>nonsense</topic>");
	EXPECT_FIELD_ERROR(jid("v1"), "not-acceptable", "topic");
	widget_says("v1", "billing", "hi", "<topic>no spaces</topic>");
	EXPECT_FIELD_ERROR(jid("v1"), "bad-request", "topic");
	widget_says("v1", "billing", "hi", "<email>not-an-address</email>");
	EXPECT_FIELD_ERROR(jid("v1"), "bad-request", "email");
	widget_says("v1", "billing", "hi", "<email>a@b.fi and more</email>");
	EXPECT_FIELD_ERROR(jid("v1"), "bad-request", "email");
	widget_says("v1", "billing", "hi", "<name>two&#10;lines</name>");
	EXPECT_FIELD_ERROR(jid("v1"), "bad-request", "name");
	widget_says("v1", "billing", "hi", "<name>" "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxy</name>");
	EXPECT_FIELD_ERROR(jid("v1"), "bad-request", "name");
	QUIET(jid("v1"));
	QUIET(jid("alice"));
	QUIET(jid("bob"));
	CHECK_INT(count_rows("conversations"), 0);
	CHECK_INT(count_rows("contacts"), 0);
	CHECK_INT(count_rows("messages"), 0);
	/* the topic's queue: its agent gets the chat, with the topic and the name on the card */
	widget_says("v1", "billing", "my invoice",
	    "<name>Maija &lt;script&gt;</name><email>Maija@Example.FI</email>"
	    "<topic>invoices</topic>");
	EXPECT(jid("v1"), "billing@" DOMAIN, "Hello, and thank you for contacting Billing.");
	EXPECT(jid("v1"), "billing@" DOMAIN, ASSIGNED);
	EXPECT_HEADER(jid("bob"), conv(1), "New chat #1 from v1@localhost in Billing (web, topic "
	    "invoices). Write here to answer; !help lists the commands.");
	CHECK_INT(count_rows("contacts"), 1);
	CHECK(chat(1) && strcmp(chat(1)->queue->name, "billing") == 0);
	down();
}

static void
offline_form_makes_an_offline_conversation_and_task(void)
{
	struct task_filter f = { 0 };
	int ntasks = 0;

	/* closed on the test's day (2027-01-15, a Friday) and the weekend: opens Monday */
	up("[queue support]\nname = Support\nagents = alice@localhost\n"
	    "hours = Mon-Fri 09:00-17:00\nclosed = 2027-01-15\ntimezone = Europe/Helsinki\n");
	agent_online("alice", NULL);
	widget_says("v2", "support", "please call me", "<name>Ville</name><offline/>");
	EXPECT_FIELD_ERROR(jid("v2"), "bad-request", "email");
	CHECK_INT(count_rows("conversations"), 0);
	widget_says("v2", "support", "please call me",
	    "<name>Ville</name><email>ville@example.fi</email><offline/>");
	EXPECT_NOTICE(jid("v2"), "Thank you, we got your message. We are closed right now; we "
	    "will answer you at ville@example.fi once we open Monday 18 January at 09:00 "
	    "(Europe/Helsinki).", "en");
	QUIET(jid("v2"));
	CHECK_STR(state(1), "offline");
	CHECK_INT(store_tasks_foreach(&f, no_task, &ntasks), 0);
	CHECK_INT(ntasks, 1);
	down();
}

/* --- alerts and overflow (issue 16) -------------------------------------------------------- */

#define BOSS "boss@localhost"
#define SUPERVISORS "[admin]\nsupervisors = boss@localhost\nalert_cooldown = 10m\n"

/* A long wait and an open queue nobody staffs: each alert once, and the cooldown holds. */
static void
alerts_fire_once_and_the_cooldown_holds(void)
{
	up(SUPERVISORS "[queue support]\nname = Support\nagents = alice@localhost\n"
	    "max_wait = 10m\nalert_wait = 90\n");
	queue_up("bob", "hello?", 1);
	advance(59);
	QUIET(BOSS); /* a client reconnecting is not an alert */
	advance(1);
	EXPECT(BOSS, DOMAIN, "Queue support is open and no agent is ready (1 waiting).");
	QUIET(BOSS);
	advance(29);
	QUIET(BOSS);
	advance(1);
	EXPECT(BOSS, DOMAIN,
	    "A customer has waited 1 min in support (1 waiting, nobody free). Chat #1.");
	queue_up("carol", "me too", 2); /* a new event, same episode: the cooldown holds */
	advance(300);
	QUIET(BOSS);
	agent_online("alice", "dnd"); /* online but not ready: still unstaffed */
	advance(120);
	QUIET(BOSS);

	/* muted by the supervisor; anyone else is refused */
	agent_command("boss", "!alerts off");
	EXPECT(BOSS, DOMAIN, "Alerts are off until you write !alerts on.");
	agent_command("dave", "!alerts off");
	EXPECT_ERROR(jid("dave"), "forbidden");
	advance(600); /* past the cooldown, a new customer: muted */
	queue_up("erin", "hi", 3);
	QUIET(BOSS);
	agent_command("boss", "!alerts on");
	EXPECT(BOSS, DOMAIN, "Alerts are on.");
	queue_up("frank", "hi", 4); /* the muted alert still started a cooldown */
	QUIET(BOSS);
	advance(600);
	queue_up("gina", "hi", 5);
	EXPECT(BOSS, DOMAIN,
	    "A customer has waited 28 min in support (5 waiting, nobody free). Chat #1.");
	QUIET(BOSS);
	down();
}

/* An agent auto-paused after missed offers: the supervisors hear once. */
static void
auto_pause_alerts_the_supervisors(void)
{
	up(SUPERVISORS "[queue support]\nname = Support\nmode = offer\noffer_timeout = 1\n"
	    "agents = alice@localhost\n[routing]\nmax_no_answer = 1\nreject_delay = 1\n");
	agent_online("alice", NULL);
	customer_says("carol", "support", "hello");
	EXPECT_OFFER("alice", 1, "carol", "hello");
	advance(1);
	EXPECT(BOSS, DOMAIN, "alice@localhost was paused: offers not answered in a row: 1.");
	QUIET(BOSS);
	down();
}

/*
 * Waited overflow_wait with nobody free: the chat joins sales' line ahead of those who came
 * after it, and its customer hears only the new place. The record keeps both queues.
 */
static void
overflow_after_the_wait_keeps_the_waiting_time(void)
{
	struct queue *sales;

	up("[queue support]\nname = Support\nagents = alice@localhost\noverflow = sales\n"
	    "overflow_wait = 60\n[queue sales]\nname = Sales\nagents = bob@localhost\n"
	    "[agent bob@localhost]\ncapacity = 1\n");
	queue_up("dave", "my order", 1);
	agent_online("bob", NULL);
	advance(10);
	customer_says("erin", "sales", "a question"); /* bob takes it: his only slot */
	CHECK_STR(holder(2), jid("bob"));
	advance(10);
	customer_says("frank", "sales", "another one"); /* waits in sales */
	CHECK_STR(state(3), "queued");
	read_all();
	advance(39.9);
	CHECK(chat(1)->queue == config_queue("support"));
	advance(0.1);
	sales = config_queue("sales");
	CHECK(chat(1)->queue == sales);
	CHECK(TAILQ_FIRST(&sales->waiting) == chat(1)); /* it came first */
	CHECK_INT(sales->nwaiting, 2);
	EXPECT(jid("dave"), QUEUE, "You are number 1 in line.");
	QUIET(jid("dave"));
	CHECK_INT(count_rows("conversations WHERE id = 1 AND queue = 'sales' AND "
	                     "entry_queue = 'support'"),
	    1);
	advance(600); /* never back: sales has no overflow */
	CHECK(chat(1)->queue == sales);
	down();
}

/* Out of hours: an open queue named by closed_overflow takes the chat instead of a task. */
static void
closed_overflow_routes_to_an_open_queue(void)
{
	up("[queue support]\nname = Support\nagents = alice@localhost\n"
	    "hours = Mon-Fri 09:00-17:00\nclosed = 2027-01-15\ntimezone = Europe/Helsinki\n"
	    "closed_overflow = night\n[queue night]\nname = Night\nagents = bob@localhost\n");
	agent_online("bob", NULL);
	customer_says("carol", "support", "late question");
	EXPECT(jid("carol"), QUEUE, GREETING);
	CHECK_STR(holder(1), jid("bob"));
	CHECK_INT(tasks_count(), 0);
	CHECK_INT(count_rows("conversations WHERE id = 1 AND queue = 'night' AND "
	                     "entry_queue = 'support' AND state = 'active'"),
	    1);
	down();

	/* the night queue closed too: kept offline as before */
	up("[queue support]\nname = Support\nagents = alice@localhost\n"
	    "hours = Mon-Fri 09:00-17:00\nclosed = 2027-01-15\ntimezone = Europe/Helsinki\n"
	    "closed_overflow = night\n[queue night]\nname = Night\nagents = bob@localhost\n"
	    "closed = 2027-01-15\n");
	agent_online("bob", NULL);
	customer_says("carol", "support", "late question");
	CHECK_STR(state(1), "offline");
	CHECK(chat(1)->queue == config_queue("support"));
	down();
}

/* --- rating, /call, /start (issue 15) ------------------------------------------------------ */

#define RATING_Q "How did we do? Please rate this chat from 1 (poor) to 5 (excellent): reply " \
	"with one number. You can add a comment after it."
#define RATING_THANKS "Thank you for your rating."
#define RATING_LOW "Thank you for telling us. We are sorry we did not do better: someone " \
	"from our team will look into it."
#define RATING_RETRY "Please rate with one number from 1 (poor) to 5 (excellent)."
#define RATING_LATE "There is no chat to rate now: a rating is taken only just after a chat " \
	"ends. To start a new chat, please write your question in words."
#define RATING_QUEUE "[queue support]\nname = Support\nagents = alice@localhost\nrating = yes\n"

/* A chat of customer with alice, answered and closed by her: the question follows. */
static long
rated_chat(const char *customer, const char *first)
{
	const char *got;
	long n = chat_goes_to(customer, first, &got);

	agent_says("alice", n, "Sure, done.");
	EXPECT(jid(customer), QUEUE, "Sure, done.");
	close_chat("alice", n, customer);
	EXPECT(jid(customer), QUEUE, RATING_Q);
	return n;
}

/* The stored rating of chat #n: its score (0: none), comment into buf. */
static int
rating_of(long n, char *comment, size_t len)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	char *path = xasprintf("%s/respa.db", w.dir);
	int score = -1;

	comment[0] = '\0';
	if (sqlite3_open(path, &db) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, "SELECT coalesce(score, 0), coalesce(comment, '') FROM ratings "
	    "WHERE conversation_id = ?1", -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, n);
		if (sqlite3_step(st) == SQLITE_ROW) {
			score = sqlite3_column_int(st, 0);
			snprintf(comment, len, "%s", (const char *)sqlite3_column_text(st, 1));
		}
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	free(path);
	return score;
}

static void
rating_with_a_comment_is_stored_and_thanked(void)
{
	char comment[128];
	long n;

	up(RATING_QUEUE);
	agent_online("alice", NULL);
	n = rated_chat("bob", "my invoice");
	CHECK_INT(rating_of(n, comment, sizeof(comment)), 0); /* asked, not yet rated */
	customer_says("bob", "support", "5 quick and friendly!");
	EXPECT(jid("bob"), QUEUE, RATING_THANKS);
	QUIET(jid("bob"));
	QUIET(jid("alice"));
	CHECK_INT(conversation_count(), 0); /* the answer opened nothing */
	CHECK_INT(rating_of(n, comment, sizeof(comment)), 5);
	CHECK_STR(comment, "quick and friendly!");
	CHECK(record_has(n, "\"rating\":{\"score\":5,\"comment\":\"quick and friendly!\""));
	CHECK(record_has(n, "\"outbound\":false"));
	/* the question is answered: a lone number now opens no chat, and is told why */
	customer_says("bob", "support", "5");
	EXPECT(jid("bob"), QUEUE, RATING_LATE);
	QUIET(jid("bob"));
	CHECK_INT(conversation_count(), 0);
	CHECK_INT(rating_of(n, comment, sizeof(comment)), 5);
	down();
}

static void
low_rating_makes_a_service_recovery_task(void)
{
	struct task_filter f = { 0 };
	struct task_seen seen = { 0 };
	char comment[128];
	long n;

	up(RATING_QUEUE);
	agent_online("alice", NULL);
	n = rated_chat("bob", "where is my parcel");
	customer_says("bob", "support", "2");
	EXPECT(jid("bob"), QUEUE, RATING_LOW);
	CHECK_INT(rating_of(n, comment, sizeof(comment)), 2);
	CHECK_STR(comment, "");
	CHECK_INT(store_tasks_foreach(&f, task_seen, &seen), 0);
	CHECK_INT(seen.n, 1);
	CHECK_STR(seen.assignee, QUEUE);
	CHECK_STR(seen.title, textf("Service recovery: bob@localhost rated chat #%ld 2/5", n));
	advance(1);
	EXPECT_START(jid("alice"), DOMAIN, "Due now:"); /* the queue's agents hear of it */
	CHECK_INT(conversation_count(), 0);
	down();
}

static void
bad_ratings_get_a_clear_answer(void)
{
	char comment[128];
	long n;

	up(RATING_QUEUE);
	agent_online("alice", NULL);
	n = rated_chat("bob", "hello");
	customer_says("bob", "support", "6"); /* out of range: asked again, nothing stored */
	EXPECT(jid("bob"), QUEUE, RATING_RETRY);
	CHECK_INT(rating_of(n, comment, sizeof(comment)), 0);
	customer_says("bob", "support", "0");
	EXPECT(jid("bob"), QUEUE, RATING_RETRY);
	/* stars count: a run of 1 to 5 of them is the score */
	customer_says("bob", "support", "\xe2\xad\x90\xe2\xad\x90\xe2\xad\x90\xe2\xad\x90");
	EXPECT(jid("bob"), QUEUE, RATING_THANKS);
	CHECK_INT(rating_of(n, comment, sizeof(comment)), 4);
	CHECK_INT(conversation_count(), 0);

	/* words are not a rating: a new message, which opens a chat; the question is over */
	n = rated_chat("carol", "hi");
	customer_says("carol", "support", "five");
	EXPECT(jid("carol"), QUEUE, GREETING);
	EXPECT(jid("carol"), QUEUE, ASSIGNED);
	CHECK_INT(conversation_count(), 1);
	CHECK_INT(rating_of(n, comment, sizeof(comment)), 0);
	down();
}

static void
rating_window_ends_the_question(void)
{
	char comment[128];
	long n;

	up(RATING_QUEUE "rating_window = 10m\n");
	agent_online("alice", NULL);
	n = rated_chat("bob", "hello");
	advance(601);
	customer_says("bob", "support", "5"); /* too late, and alone: no chat */
	EXPECT(jid("bob"), QUEUE, RATING_LATE);
	QUIET(jid("bob"));
	CHECK_INT(conversation_count(), 0);
	CHECK_INT(rating_of(n, comment, sizeof(comment)), 0);
	customer_says("bob", "support", "4 thanks, and one more question"); /* a new message */
	EXPECT(jid("bob"), QUEUE, GREETING);
	CHECK_INT(conversation_count(), 1);
	CHECK_INT(rating_of(n, comment, sizeof(comment)), 0);
	down();
}

static void
rating_question_outlives_a_restart(void)
{
	char comment[128];
	long n;

	up(RATING_QUEUE);
	agent_online("alice", NULL);
	n = rated_chat("bob", "hello");
	advance(30);
	reload();
	read_all();
	customer_says("bob", "support", "3 ok");
	EXPECT(jid("bob"), QUEUE, RATING_THANKS);
	CHECK_INT(conversation_count(), 0);
	CHECK_INT(rating_of(n, comment, sizeof(comment)), 3);
	CHECK_STR(comment, "ok");
	down();
}

static void
no_rating_question_without_the_setting_or_an_answer(void)
{
	const char *got;
	long n;

	up("[queue support]\nname = Support\nagents = alice@localhost\n"); /* rating = no */
	agent_online("alice", NULL);
	n = chat_goes_to("bob", "hi", &got);
	agent_says("alice", n, "Hello");
	EXPECT(jid("bob"), QUEUE, "Hello");
	close_chat("alice", n, "bob");
	QUIET(jid("bob"));
	customer_says("bob", "support", "5"); /* as before: a message like any */
	EXPECT(jid("bob"), QUEUE, GREETING);
	down();

	up(RATING_QUEUE);
	agent_online("alice", NULL);
	n = chat_goes_to("bob", "hi", &got);
	close_chat("alice", n, "bob"); /* nobody answered: nothing to rate */
	QUIET(jid("bob"));
	down();
}

static void
failed_rating_write_keeps_the_question(void)
{
	char comment[128];
	long n;

	up(RATING_QUEUE);
	agent_online("alice", NULL);
	n = rated_chat("bob", "hello");
	db_exec("CREATE TRIGGER no_rating BEFORE UPDATE OF score ON ratings "
	    "BEGIN SELECT RAISE(ABORT, 'refused'); END");
	w.failing = 1;
	customer_says("bob", "support", "4");
	CHECK_INT(w.failed, 1);
	QUIET(jid("bob")); /* nothing of the failed pass went out */
	CHECK_INT(rating_of(n, comment, sizeof(comment)), 0);
	db_exec("DROP TRIGGER no_rating");
	w.failing = 0;
	customer_says("bob", "support", "4"); /* the question was rebuilt from the database */
	EXPECT(jid("bob"), QUEUE, RATING_THANKS);
	CHECK_INT(rating_of(n, comment, sizeof(comment)), 4);
	CHECK_INT(conversation_count(), 0);
	w.failed = 0;
	down();
}

static void
call_sends_a_room_link_to_both(void)
{
	const char *got, *prefix = "Your agent invites you to a voice or video call. Join here: "
	    "https://meet.example.com/r/";
	struct sent *to_bob, *to_alice;
	char url[256];
	long n;

	up("[queue support]\nname = Support\nagents = alice@localhost\n");
	agent_online("alice", NULL);
	n = chat_goes_to("bob", "can we talk?", &got);
	agent_says("alice", n, "/call");
	EXPECT_START(jid("alice"), conv(n), "No call link is set up for Support: an admin sets "
	    "call_url");
	QUIET(jid("bob"));
	down();

	up("[queue support]\nname = Support\nagents = alice@localhost\n"
	    "call_url = https://meet.example.com/r/{room}?x=1\n");
	agent_online("alice", NULL);
	n = chat_goes_to("bob", "can we talk?", &got);
	agent_says("alice", n, "/call");
	to_bob = EXPECT_START(jid("bob"), QUEUE, prefix);
	to_alice = EXPECT_START(jid("alice"), conv(n), "Call link sent to the customer. Join the "
	    "call: https://meet.example.com/r/");
	if (to_bob && to_alice) {
		const char *room = to_bob->body + strlen(prefix);

		CHECK_INT((int)strspn(room, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789-_"), 22);
		CHECK_STR(room + 22, "?x=1");
		snprintf(url, sizeof(url), "https://meet.example.com/r/%s", room);
		CHECK(strstr(to_alice->body, url) != NULL);
		CHECK(strstr(transcript(n), textf("out alice@localhost %s", to_bob->body)) != NULL);
	}
	agent_says("alice", n, "/call"); /* a new room each time */
	{
		struct sent *again = EXPECT_START(jid("bob"), QUEUE, prefix);

		CHECK(again && to_bob && strcmp(again->body, to_bob->body) != 0);
	}
	down();
}

#define START_QUEUES "[queue support]\nname = Support\nagents = alice@localhost\n" \
	"[queue sales]\nname = Sales\nagents = bob@localhost\n" \
	"[domain whatsapp.localhost]\nchannel = whatsapp\n"

static void
start_opens_an_assigned_outbound_chat(void)
{
	struct sent *first;
	const char *got;
	long n;

	up(START_QUEUES);
	agent_online("alice", NULL);
	n = chat_goes_to("dave", "hi", &got);
	close_chat("alice", n, "dave");
	advance(60);
	agent_command("alice", "/start dave@localhost Your order has shipped.");
	EXPECT(jid("alice"), DOMAIN, "Chat #2 started: write at c-2@" DOMAIN " to go on.");
	EXPECT_HEADER(jid("alice"), conv(2), "Outbound chat #2 from dave@localhost in Support "
	    "(xmpp). You started it: your message went to the customer, and their replies come "
	    "here.");
	EXPECT(jid("alice"), conv(2), "[answer by alice@localhost] Your order has shipped.");
	first = EXPECT(jid("dave"), QUEUE, "Your order has shipped.");
	CHECK(first && strcmp(first->to, "dave@localhost") == 0);
	QUIET(jid("dave")); /* no greeting: the agent spoke first */
	CHECK_STR(state(2), "active");
	CHECK_STR(holder(2), jid("alice"));
	CHECK_INT(config_agent_find(jid("alice"))->chats, 1);
	customer_says("dave", "support", "great, thanks");
	EXPECT(jid("alice"), conv(2), "great, thanks");
	agent_says("alice", 2, "You're welcome");
	EXPECT(jid("dave"), QUEUE, "You're welcome");
	/* a second one while this is open is refused */
	agent_command("alice", "/start #1 again?");
	EXPECT(jid("alice"), DOMAIN, "No chat was started: contact #1 has a chat open already (#2).");
	close_chat("alice", 2, "dave");
	CHECK(record_has(2, "\"outbound\":true"));
	/* by contact number, naming the queue: only a queue of hers */
	agent_command("alice", "/start #1 sales hello");
	EXPECT(jid("alice"), DOMAIN, "No chat was started: you are not an agent of Sales.");
	agent_command("alice", "/start #1 support hello again");
	EXPECT(jid("alice"), DOMAIN, "Chat #3 started: write at c-3@" DOMAIN " to go on.");
	EXPECT(jid("dave"), QUEUE, "hello again");
	down();
}

static void
start_is_refused_with_the_reason(void)
{
	const char *got;
	long n;

	up(START_QUEUES "[agent alice@localhost]\ncapacity = 1\n");
	agent_online("alice", NULL);
	agent_command("alice", "/start stranger@localhost hi");
	EXPECT(jid("alice"), DOMAIN, "No chat was started: no contact is known by "
	    "stranger@localhost: respa starts chats only with customers who have written before.");
	agent_command("alice", "/start #99 hi");
	EXPECT(jid("alice"), DOMAIN, "No chat was started: there is no contact #99.");
	agent_command("alice", "/start +358401234567 hi");
	EXPECT(jid("alice"), DOMAIN, "No chat was started: no contact is known by +358401234567: "
	    "respa starts chats only with customers who have written before.");
	agent_command("alice", "/start bob@localhost hi");
	EXPECT(jid("alice"), DOMAIN, "No chat was started: bob@localhost is an agent of this "
	    "desk, not a customer.");
	agent_command("alice", "/start dave@localhost");
	EXPECT_START(jid("alice"), DOMAIN, "Usage: !start WHO [QUEUE] text");
	/* a web visitor (the widget's session) cannot be reached */
	feed(conversation_handler, "<message from='guest@localhost/x' to='" QUEUE "' type='chat'>"
	    "<body>hi</body><visitor xmlns='urn:respa:visitor:0' session='abcdefghijklmnop1234'/>"
	    "</message>");
	read_all();
	n = 1;
	close_chat("alice", n, "guest");
	agent_command("alice", "/start #1 hello?");
	EXPECT(jid("alice"), DOMAIN, "No chat was started: contact #1 came only as an anonymous "
	    "web visitor, who cannot be reached once the page is closed.");
	/* capacity: alice holds one chat of one */
	n = chat_goes_to("dave", "hi", &got);
	agent_command("alice", "/start #1 hi");
	EXPECT(jid("alice"), DOMAIN, "No chat was started: you have no free slot (1 chats of 1).");
	CHECK_INT(conversation_count(), 1);
	down();
}

static void
start_by_phone_goes_through_the_gateway(void)
{
	const char *got;
	long n;

	up(START_QUEUES "[crm]\ndefault_country = 358\n");
	agent_online("alice", NULL);
	customer_says("+358401234567@whatsapp.localhost", "support", "hei");
	read_all();
	n = 1;
	CHECK_STR(holder(n), jid("alice"));
	close_chat("alice", n, "+358401234567@whatsapp.localhost");
	agent_command("alice", "/start 040 123 4567 Your parcel is here.");
	EXPECT(jid("alice"), DOMAIN, "No chat was started: \"040\" is neither a contact number "
	    "(#12), a JID nor a phone number (+358401234567)."); /* WHO is one word */
	agent_command("alice", "/start +358401234567 Your parcel is here.");
	EXPECT(jid("alice"), DOMAIN, "Chat #2 started: write at c-2@" DOMAIN " to go on.");
	{ /* the exact JID the customer wrote from, as replies to gateways always go */
		struct sent *m = EXPECT(jid("+358401234567@whatsapp.localhost"), QUEUE,
		    "Your parcel is here.");

		CHECK(m && strcmp(m->to, "+358401234567@whatsapp.localhost/web") == 0);
	}
	CHECK(record_has(2, "") && chat(2) && strcmp(chat(2)->channel, "whatsapp") == 0);
	(void)got;
	down();
}

/* --- supervisors --------------------------------------------------------------------------- */

#define MIRROR(n) textf("m-%ld@" DOMAIN, (long)(n))
#define SUPERVISED "[admin]\njids = ann@localhost\nsupervisors = Sue@localhost\n" \
	"[queue support]\nname = Support\nagents = alice@localhost sue@localhost\n"
#define MONITORING "Monitoring chat #1 from carol@localhost in Support (xmpp). What you " \
	"write here reaches only the agent, as a whisper (stored as an internal note the " \
	"customer never sees). !barge text speaks to the customer as the desk, !takeover makes " \
	"the chat yours, !unmonitor stops following it."
#define FOLLOWED "A supervisor is following this chat."

/* A supervisor writes to a chat's mirror address m-N. */
static void
supervisor_says(const char *name, long n, const char *text)
{
	feed(conversation_handler, "<message from='%s/desk' to='%s' type='chat'><body>%s</body>"
	    "</message>", jid(name), MIRROR(n), text);
}

static void
supervisors_monitor_whisper_barge_and_take_over(void)
{
	const char *got;
	char *text;

	up(SUPERVISED);
	agent_online("alice", NULL);
	chat_goes_to("carol", "hello", &got);
	CHECK_STR(got, jid("alice"));
	agent_online("sue", "away"); /* an agent, but not taking chats */
	agent_says("alice", 1, "Hi there");
	EXPECT(jid("carol"), QUEUE, "Hi there");

	/* two supervisors: the transcript so far, then every line both ways */
	agent_command("sue", "!monitor 1");
	EXPECT_HEADER(jid("sue"), MIRROR(1), MONITORING);
	EXPECT(jid("sue"), MIRROR(1), "hello");
	EXPECT(jid("sue"), MIRROR(1), "[answer by alice@localhost] Hi there");
	EXPECT(jid("alice"), conv(1), FOLLOWED);
	agent_command("ann", "/monitor #1");
	EXPECT_HEADER(jid("ann"), MIRROR(1), MONITORING);
	EXPECT(jid("ann"), MIRROR(1), "hello");
	EXPECT(jid("ann"), MIRROR(1), "[answer by alice@localhost] Hi there");
	EXPECT(jid("alice"), conv(1), FOLLOWED);
	customer_says("carol", "support", "a question");
	EXPECT(jid("alice"), conv(1), "a question");
	EXPECT(jid("sue"), MIRROR(1), "[customer] a question");
	EXPECT(jid("ann"), MIRROR(1), "[customer] a question");
	agent_says("alice", 1, "an answer");
	EXPECT(jid("carol"), QUEUE, "an answer");
	EXPECT(jid("sue"), MIRROR(1), "[alice@localhost] an answer");
	EXPECT(jid("ann"), MIRROR(1), "[alice@localhost] an answer");

	/* a whisper reaches the agent and the other supervisor, never the customer */
	supervisor_says("sue", 1, "offer a discount");
	EXPECT(jid("alice"), conv(1), "[whisper from sue@localhost] offer a discount");
	EXPECT(jid("ann"), MIRROR(1), "[whisper from sue@localhost] offer a discount");
	QUIET(jid("carol"));
	QUIET(jid("sue"));

	/* a barge speaks to the customer as the desk */
	supervisor_says("ann", 1, "!barge We are on it");
	got = NULL;
	{
		struct sent *m = EXPECT(jid("carol"), QUEUE, "We are on it");

		CHECK(m && m->nick && strcmp(m->nick, "Support") == 0);
	}
	EXPECT(jid("alice"), conv(1), "[barge by ann@localhost] We are on it");
	EXPECT(jid("sue"), MIRROR(1), "[barge by ann@localhost] We are on it");
	QUIET(jid("ann"));

	/* take over: the chat moves to sue as a transfer does, alice gets her slot back */
	supervisor_says("sue", 1, "/takeover");
	EXPECT(jid("alice"), conv(1),
	    "sue@localhost, a supervisor, took chat #1 over: it is no longer yours.");
	EXPECT_HEADER(jid("sue"), conv(1), "Transferred chat #1 from carol@localhost in Support "
	    "(xmpp). You took it over. Write here to answer.");
	EXPECT(jid("sue"), conv(1), "[note by sue@localhost] offer a discount");
	EXPECT(jid("carol"), QUEUE, TRANSFERRED);
	EXPECT(jid("sue"), conv(1), FOLLOWED); /* ann still follows it */
	EXPECT(jid("ann"), MIRROR(1), "[the chat is now with sue@localhost]");
	CHECK_STR(holder(1), jid("sue"));
	CHECK_INT(config_agent_find(jid("alice"))->chats, 0);
	agent_says("sue", 1, "Sue here");
	EXPECT(jid("carol"), QUEUE, "Sue here");
	EXPECT(jid("ann"), MIRROR(1), "[sue@localhost] Sue here");
	agent_says("alice", 1, "me again");
	EXPECT_ERROR(jid("alice"), "forbidden");

	/* stored: the whisper as a note, the barge as the supervisor's answer */
	CHECK_STR(transcript(1), "in carol@localhost/web hello\n"
	    "out alice@localhost Hi there\n"
	    "in carol@localhost/web a question\n"
	    "out alice@localhost an answer\n"
	    "note sue@localhost offer a discount\n"
	    "out ann@localhost We are on it\n"
	    "note sue@localhost taken over by sue@localhost\n"
	    "out sue@localhost Sue here");
	/* the customer's copy (mail, export text) never holds the whisper */
	text = transcript_text(1, "UTC", "Support", "carol");
	CHECK(strstr(text, "We are on it") != NULL && strstr(text, "Sue here") != NULL);
	CHECK(strstr(text, "discount") == NULL && strstr(text, "whisper") == NULL &&
	    strstr(text, "taken over") == NULL);
	free(text);

	/* the close ends the monitoring; a barge after it is told so */
	close_chat("sue", 1, "carol");
	EXPECT(jid("ann"), MIRROR(1), "Chat #1 closed: you no longer monitor it.");
	supervisor_says("ann", 1, "!barge too late");
	EXPECT(jid("ann"), MIRROR(1), "Chat #1 is closed or unknown: nothing was sent.");
	QUIET(jid("carol"));
	QUIET(jid("alice"));
	QUIET(jid("ann"));
	down();
}

static void
monitoring_bad_input_gets_a_clear_answer(void)
{
	const char *got;

	up("[admin]\nsupervisors = sue@localhost\nmonitor_notice = no\n"
	   "[queue support]\nname = Support\nagents = alice@localhost bob@localhost\n");
	agent_online("alice", NULL);
	chat_goes_to("carol", "hello", &got);
	CHECK_STR(got, jid("alice"));

	/* not a supervisor: an agent, a stranger */
	agent_command("bob", "!monitor 1");
	EXPECT_ERROR(jid("bob"), "forbidden");
	agent_command("zed", "/monitor 1");
	EXPECT_ERROR(jid("zed"), "forbidden");
	supervisor_says("bob", 1, "psst");
	EXPECT_ERROR(jid("bob"), "forbidden");
	QUIET(jid("alice"));

	agent_command("sue", "hello?");
	EXPECT_START(jid("sue"), DOMAIN, "This is respa. As a supervisor you write here: !monitor N");
	agent_command("sue", "!status");
	EXPECT_START(jid("sue"), DOMAIN, "This is respa. As a supervisor you write here: !monitor N");
	agent_command("sue", "!monitor 9");
	EXPECT(jid("sue"), DOMAIN, "Chat #9 is not open (closed or unknown): nothing to monitor.");
	agent_command("sue", "!monitor");
	EXPECT(jid("sue"), DOMAIN, "Usage: !monitor N, with the number of an open chat (the "
	    "ad-hoc command monitor lists them).");
	agent_command("sue", "!unmonitor 1");
	EXPECT(jid("sue"), DOMAIN, "You were not monitoring chat #1.");
	supervisor_says("sue", 1, "psst");
	EXPECT(jid("sue"), MIRROR(1), "You are not monitoring chat #1: write !monitor 1 to "
	    DOMAIN " first. Nothing was sent.");
	supervisor_says("sue", 7, "!barge hi");
	EXPECT(jid("sue"), MIRROR(7), "Chat #7 is closed or unknown: nothing was sent.");

	/* monitor_notice = no: the agent is not told */
	agent_command("sue", "!monitor 1");
	EXPECT_HEADER(jid("sue"), MIRROR(1), MONITORING);
	EXPECT(jid("sue"), MIRROR(1), "hello");
	supervisor_says("sue", 1, "!barge");
	EXPECT(jid("sue"), MIRROR(1),
	    "Usage: !barge text (it goes to the customer as the desk's answer)");
	supervisor_says("sue", 1, "!takeover");
	EXPECT_START(jid("sue"), MIRROR(1), "You are not an agent here");
	supervisor_says("sue", 1, "!frob");
	EXPECT_START(jid("sue"), MIRROR(1), "Unknown command !frob here.");
	supervisor_says("sue", 1, "!unmonitor");
	EXPECT(jid("sue"), MIRROR(1), "You no longer monitor this chat.");
	customer_says("carol", "support", "still there?");
	EXPECT(jid("alice"), conv(1), "still there?");
	QUIET(jid("sue"));
	QUIET(jid("alice"));
	QUIET(jid("carol"));
	CHECK(chat(1) && chat(1)->monitors == NULL);
	down();
}


static void
monitored_waiting_chat_keeps_whispers_for_its_agent(void)
{
	up("[admin]\nsupervisors = sue@localhost\n"
	   "[queue support]\nname = Support\nagents = alice@localhost\n");
	customer_says("carol", "support", "anyone there?");
	EXPECT(jid("carol"), QUEUE, GREETING);
	agent_command("sue", "!monitor 1");
	EXPECT_HEADER(jid("sue"), MIRROR(1), MONITORING);
	EXPECT(jid("sue"), MIRROR(1), "anyone there?");
	supervisor_says("sue", 1, "VIP customer, be quick");
	EXPECT(jid("sue"), MIRROR(1), "Nobody holds this chat yet: the whisper is kept as a note "
	    "its agent will see with the transcript.");
	agent_online("alice", NULL);
	EXPECT_HEADER(jid("alice"), conv(1), "New chat #1 from carol@localhost in Support (xmpp). "
	    "Write here to answer; !help lists the commands.");
	EXPECT(jid("alice"), conv(1), "anyone there?");
	EXPECT(jid("alice"), conv(1), "[note by sue@localhost] VIP customer, be quick");
	EXPECT(jid("alice"), conv(1), FOLLOWED);
	EXPECT(jid("sue"), MIRROR(1), "[the chat is now with alice@localhost]");
	QUIET(jid("sue"));
	QUIET(jid("alice"));
	CHECK(count_to(jid("carol"), "VIP") == 0);
	down();
}

int
main(void)
{
	log_init(-1, "test_flow");
	signal(SIGPIPE, SIG_IGN); /* as respa: a mail or hook program that exits early */
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

	bounced_offer_goes_back_to_the_front_of_the_line();
	new_chat_an_agent_never_got_goes_to_the_next_agent_quietly();
	bounce_in_an_answered_chat_resends_it_when_the_agent_is_back();
	bounce_in_an_answered_chat_moves_it_after_the_grace();
	bounce_from_one_of_two_clients_moves_nothing();
	bounce_for_a_closed_chat_is_ignored();
	transcript_goes_to_the_client_that_asked();

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
	alerts_fire_once_and_the_cooldown_holds();
	auto_pause_alerts_the_supervisors();
	overflow_after_the_wait_keeps_the_waiting_time();
	closed_overflow_routes_to_an_open_queue();
	chat_nobody_writes_in_closes_after_idle_close();
	waiting_customers_hear_their_new_place_once();
	expected_wait_is_told_once_there_is_a_pace();
	customer_who_goes_away_is_closed_after_the_grace();
	customer_back_within_the_grace_keeps_the_chat(0);
	customer_back_within_the_grace_keeps_the_chat(1);
	customer_who_left_before_an_answer_gets_a_task_for_the_queue();

	transcript_question_is_answered_within_ten_minutes();
	a_failed_write_fails_the_whole_pass();
	max_wait_whose_task_failed_runs_again();
	presence_check_finds_an_agent_whose_server_lost_them();
	state_survives_a_restart();
	restored_chat_of_an_agent_who_never_comes_back_goes_on();

	queue_presence_counts_only_a_chat_now();
	finnish_queue_speaks_finnish();
	agent_lines_carry_the_queues_title_without_a_name();
	topics_route_and_bad_prechat_values_store_nothing();
	offline_form_makes_an_offline_conversation_and_task();
	rating_with_a_comment_is_stored_and_thanked();
	low_rating_makes_a_service_recovery_task();
	bad_ratings_get_a_clear_answer();
	rating_window_ends_the_question();
	rating_question_outlives_a_restart();
	no_rating_question_without_the_setting_or_an_answer();
	failed_rating_write_keeps_the_question();
	call_sends_a_room_link_to_both();
	start_opens_an_assigned_outbound_chat();
	start_is_refused_with_the_reason();
	start_by_phone_goes_through_the_gateway();
	supervisors_monitor_whisper_barge_and_take_over();
	monitoring_bad_input_gets_a_clear_answer();
	monitored_waiting_chat_keeps_whispers_for_its_agent();


	free(sent);
	xmpp_ctx_free(w.ctx);
	xmpp_shutdown();
	respa_clock_set(0);
	return check_done();
}
