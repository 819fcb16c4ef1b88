/*
 * The ad-hoc commands (XEP-0050) as a table: node, name, who may run them, and their steps.
 * adhoc.c runs them: each step shows a form and gets it back filled in; a step's submit checks
 * everything first and changes nothing when something is wrong, so a form comes back with what
 * was written and a note saying what to fix. The last step applies the command.
 *
 * Agents: ready, pause, their open chats, their tasks, a canned response into a chat.
 * Admins: queues, agents, the live desk, tasks, canned responses, statistics, announcements.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "respa.h"

#define FROM_FILE "from respa.conf"

static struct config *conf;

void
commands_init(struct config *c)
{
	conf = c;
}

/* --- helpers ---------------------------------------------------------------------------- */

static void note(struct adhoc_result *r, enum note_type t, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
note(struct adhoc_result *r, enum note_type t, const char *fmt, ...)
{
	va_list ap;

	r->note_type = t;
	va_start(ap, fmt);
	vsnprintf(r->note, sizeof(r->note), fmt, ap);
	va_end(ap);
	utf8_trim_end(r->note); /* a long note is cut at its end, between characters */
}

static int fail(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int
fail(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	utf8_trim_end(err);
	return -1;
}

static struct agent *
me(struct adhoc_session *s)
{
	return config_agent_find(adhoc_jid(s));
}

static struct form_field *
text_field(struct form *f, const char *var, const char *label, const char *value, int required)
{
	struct form_field *fl = form_add(f, var, FIELD_TEXT, label);

	if (value)
		form_value(fl, value);
	fl->required = required;
	return fl;
}

static struct form_field *
int_field(struct form *f, const char *var, const char *label, long value, long min, long max)
{
	struct form_field *fl = form_add(f, var, FIELD_TEXT, label);
	char buf[32];

	snprintf(buf, sizeof(buf), "%ld", value);
	form_value(fl, buf);
	fl->required = 1;
	fl->integer = 1;
	fl->min = min;
	fl->max = max;
	return fl;
}

static void
fixed(struct form *f, const char *text)
{
	form_value(form_add(f, NULL, FIELD_FIXED, NULL), text);
}

static long
int_of(const struct form *f, const char *var)
{
	const char *v = form_get(f, var);

	return v ? strtol(v, NULL, 10) : 0;
}

/* A value as written, or NULL when nothing was. */
static const char *
given(const struct form *f, const char *var)
{
	const char *v = form_get(f, var);

	return v && *v ? v : NULL;
}

/* JIDs come case-folded from the server; people may type them otherwise. */
static void
fold(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

static void
seconds_text(long secs, char *buf, size_t len)
{
	if (secs < 60)
		snprintf(buf, len, "%ld s", secs);
	else if (secs < 3600)
		snprintf(buf, len, "%ld min %ld s", secs / 60, secs % 60);
	else
		snprintf(buf, len, "%ld h %ld min", secs / 3600, secs % 3600 / 60);
}

static const char *
source(int managed)
{
	return managed ? "made by a command" : FROM_FILE;
}

static void
queue_options(struct form_field *fl)
{
	struct queue *q;
	char *label;

	for (q = config_queues(); q; q = q->next) {
		label = xasprintf("%s (%s%s)", q->name, q->title, q->managed ? "" : ", " FROM_FILE);
		form_option(fl, q->name, label);
		free(label);
	}
}

static void
agent_options(struct form_field *fl)
{
	struct agent *a;
	char *label;

	for (a = conf->agents; a; a = a->next) {
		label = xasprintf("%s%s", a->jid, a->managed ? "" : " (" FROM_FILE ")");
		form_option(fl, a->jid, label);
		free(label);
	}
}

static struct queue *
queue_named(const struct form *f, const char *var, char *err, size_t len)
{
	const char *v = given(f, var);
	struct queue *q = v ? config_queue(v) : NULL;

	if (q == NULL)
		fail(err, len, "There is no queue %s.", v ? v : "(none given)");
	return q;
}

static struct agent *
agent_named(const struct form *f, const char *var, char *err, size_t len)
{
	char *jid = xstrdup(given(f, var) ? given(f, var) : "");
	struct agent *a;

	fold(jid);
	if ((a = config_agent_find(jid)) == NULL)
		fail(err, len, "%s is not an agent of this desk.", *jid ? jid : "(none given)");
	free(jid);
	return a;
}

static int
stored(int rc, char *err, size_t len)
{
	if (rc == -1)
		return fail(err, len,
		    "The change could not be stored: the database failed. Nothing "
		    "was changed.");
	return 0;
}

/* Open conversations by id, oldest first. */
struct conv_list {
	struct conv **v;
	size_t n;
	const struct agent *agent; /* only its chats, or NULL for all */
};

static void
collect_conv(struct conv *c, void *arg)
{
	struct conv_list *l = arg;

	if (l->agent && c->agent != l->agent)
		return;
	l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
	l->v[l->n++] = c;
}

static int
by_id(const void *a, const void *b)
{
	const struct conv *x = *(struct conv *const *)a, *y = *(struct conv *const *)b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static void
conv_list(struct conv_list *l, const struct agent *only)
{
	memset(l, 0, sizeof(*l));
	l->agent = only;
	conversation_foreach(collect_conv, l);
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), by_id);
}

static void
conv_options(struct form_field *fl, const struct agent *only)
{
	struct conv_list l;
	char *bare, *label;
	size_t i;

	conv_list(&l, only);
	for (i = 0; i < l.n; i++) {
		bare = jid_bare(l.v[i]->customer);
		label = xasprintf("#%" PRId64 " %s in %s (%s%s%s)", l.v[i]->id, bare,
		    l.v[i]->queue->name, conversation_state_name(l.v[i]), l.v[i]->agent ? ", " : "",
		    l.v[i]->agent ? l.v[i]->agent->jid : "");
		form_option(fl, l.v[i]->node, label);
		free(label);
		free(bare);
	}
	free(l.v);
}

static struct conv *
conv_named(const struct form *f, const char *var, char *err, size_t len)
{
	const char *v = given(f, var);
	struct conv *c = v ? conversation_find(v) : NULL;

	if (c == NULL)
		fail(err, len, "Chat %s is not open any more.", v ? v : "(none given)");
	return c;
}

static void
time_text(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M UTC", &tm);
}

/* --- agents' own commands ----------------------------------------------------------------- */

static int
ready_submit(struct adhoc_session *s, const struct form *in, struct adhoc_result *r, char *err,
    size_t len)
{
	struct agent *a = me(s);

	(void)in, (void)err, (void)len;
	agent_ready(a);
	note(r, NOTE_INFO, "You are ready: new chats are offered to you again.");
	return 0;
}

static struct form *
pause_form(struct adhoc_session *s)
{
	struct form *f = form_new(FORM_FORM, "Pause",
	    "No new chats are offered to you until "
	    "you are ready again. Your open chats stay with you.");

	(void)s;
	text_field(f, "reason", "Reason (optional)", NULL, 0);
	return f;
}

static int
pause_submit(struct adhoc_session *s, const struct form *in, struct adhoc_result *r, char *err,
    size_t len)
{
	struct agent *a = me(s);

	(void)err, (void)len;
	agent_pause(a, given(in, "reason"));
	note(r, NOTE_INFO,
	    "You are paused: no new chats until you run \"Ready for chats\" (or "
	    "write !ready to %s).",
	    conf->jid);
	return 0;
}

static void
chat_row(struct form *f, const struct conv *c)
{
	char when[40], *bare = jid_bare(c->customer);
	const char *cells[6];

	time_text(c->created_at, when, sizeof(when));
	cells[0] = c->node;
	cells[1] = c->addr;
	cells[2] = bare;
	cells[3] = c->queue->name;
	cells[4] = conversation_state_name(c);
	cells[5] = when;
	form_row(f, cells);
	free(bare);
}

static void
chat_columns(struct form *f)
{
	form_column(f, "chat", "Chat");
	form_column(f, "address", "Address");
	form_column(f, "customer", "Customer");
	form_column(f, "queue", "Queue");
	form_column(f, "state", "State");
	form_column(f, "since", "Since");
}

static int
my_chats_submit(struct adhoc_session *s, const struct form *in, struct adhoc_result *r, char *err,
    size_t len)
{
	struct agent *a = me(s);
	struct offer *o;
	struct conv *c;
	struct form *f = form_new(FORM_RESULT, "Your open conversations", NULL);

	(void)in, (void)err, (void)len;
	chat_columns(f);
	TAILQ_FOREACH(c, &a->convs, agent_link)
	chat_row(f, c);
	for (o = a->offer_list; o; o = o->next_of_agent)
		chat_row(f, o->conv);
	r->form = f;
	note(r, NOTE_INFO, "%d open, %d offered to you; capacity %d.", a->chats, a->offers,
	    a->capacity);
	return 0;
}

struct task_walk {
	struct form_field *fl;
	time_t now;
	int n, overdue;
};

static int
task_option(const struct stored_task *t, void *arg)
{
	struct task_walk *w = arg;
	char id[24], due[40], *label;
	int late = t->due_at && t->due_at < w->now;

	snprintf(id, sizeof(id), "%" PRId64, t->id);
	if (t->due_at)
		time_text(t->due_at, due, sizeof(due));
	label = xasprintf("#%s %sdue %s [%s, %s]: %s", id, late ? "OVERDUE, " : "",
	    t->due_at ? due : "whenever", t->kind, t->assignee, t->title);
	form_option(w->fl, id, label);
	free(label);
	w->n++;
	w->overdue += late;
	return 0;
}

static struct form *
my_tasks_form(struct adhoc_session *s)
{
	struct form *f = form_new(FORM_FORM, "Your tasks",
	    "Your open tasks, the earliest due "
	    "first. Tick those you have done.");
	struct task_filter tf = { .assignee = adhoc_jid(s), .now = respa_now() };
	struct task_walk w = { NULL, respa_now(), 0, 0 };
	char *text;

	w.fl = form_add(f, "done", FIELD_LIST_MULTI, "Done");
	(void)store_tasks_foreach(&tf, task_option, &w);
	text = xasprintf("%d open task%s, %d overdue.", w.n, w.n == 1 ? "" : "s", w.overdue);
	fixed(f, text);
	free(text);
	return f;
}

/* Marks each ticked task done (of assignee, or of anyone for NULL); the ids into done. */
static int
tasks_done(const struct form *in, const char *assignee, char *done, size_t dlen, char *err,
    size_t len)
{
	struct form_field *fl = form_field(in, "done");
	const char *bad = "";
	size_t i, used = 0;
	int ok = store_apply_begin() == 0;

	done[0] = '\0';
	for (i = 0; ok && fl && i < fl->nvalues; i++) {
		if (store_task_done_by(strtoll(fl->values[i], NULL, 10), assignee, respa_now()) !=
		    1) {
			ok = 0;
			bad = fl->values[i];
		} else if (used < dlen)
			used += (size_t)snprintf(done + used, dlen - used, "%s#%s",
			    used ? ", " : "", fl->values[i]);
	}
	utf8_trim_end(done);
	if (store_apply_end(ok) == -1)
		return fail(err, len,
		    "Task #%s is not open any more (or the database failed); "
		    "nothing was changed.",
		    bad);
	return 0;
}

static int
my_tasks_submit(struct adhoc_session *s, const struct form *in, struct adhoc_result *r, char *err,
    size_t len)
{
	char done[512];

	if (tasks_done(in, adhoc_jid(s), done, sizeof(done), err, len) == -1)
		return -1;
	if (*done)
		note(r, NOTE_INFO, "Marked done: %s.", done);
	else
		note(r, NOTE_INFO, "Nothing was marked done.");
	return 0;
}

struct canned_walk {
	struct form_field *fl;
	int keyed; /* options as QUEUE:NAME (the row itself), else distinct names */
};

static int
canned_option(const struct stored_canned *c, void *arg)
{
	struct canned_walk *w = arg;
	char *value, *label;
	size_t i;

	value = w->keyed ? xasprintf("%s:%s", c->queue, c->name) : xstrdup(c->name);
	for (i = 0; i < w->fl->noptions; i++)
		if (strcmp(w->fl->options[i].value, value) == 0)
			break;
	if (i == w->fl->noptions) {
		label = xasprintf("%s (%s)", c->name, *c->queue ? c->queue : "every queue");
		form_option(w->fl, value, w->keyed ? label : c->name);
		free(label);
	}
	free(value);
	return 0;
}

static struct form *
canned_send_form(struct adhoc_session *s)
{
	struct form *f = form_new(FORM_FORM, "Send a canned response",
	    "The text goes to the "
	    "customer as your answer. In a chat, !canned NAME does the same.");
	struct canned_walk w = { NULL, 0 };
	struct form_field *fl = form_add(f, "chat", FIELD_LIST, "Chat");

	fl->required = 1;
	conv_options(fl, me(s));
	w.fl = form_add(f, "name", FIELD_LIST, "Canned response");
	w.fl->required = 1;
	(void)store_canned_foreach(canned_option, &w);
	return f;
}

static int
canned_send_submit(struct adhoc_session *s, const struct form *in, struct adhoc_result *r,
    char *err, size_t len)
{
	struct conv *c = conv_named(in, "chat", err, len);
	const char *name = given(in, "name");
	char *text;

	if (c == NULL)
		return -1;
	if (c->agent != me(s))
		return fail(err, len, "Chat #%" PRId64 " is not yours.", c->id);
	if ((text = store_canned_get(c->queue->name, name)) == NULL)
		return fail(err, len, "There is no canned response %s for %s.", name,
		    c->queue->title);
	if (conversation_say(c, me(s), text) == -1) {
		free(text);
		return stored(-1, err, len);
	}
	note(r, NOTE_INFO, "Sent to chat #%" PRId64 ": %s", c->id, text);
	free(text);
	return 0;
}

static struct form *
transcript_form(struct adhoc_session *s)
{
	struct form *f = form_new(FORM_FORM, "Transcript of a chat",
	    "The chat's header and lines so far come again to this client, from the chat's "
	    "address. In a chat, !transcript does the same.");
	struct form_field *fl = form_add(f, "chat", FIELD_LIST, "Chat");

	fl->required = 1;
	conv_options(fl, me(s));
	return f;
}

/* --- a chat the agent starts -------------------------------------------------------------- */

static struct form *
start_chat_form(struct adhoc_session *s)
{
	struct form *f = form_new(FORM_FORM, "Start a chat",
	    "Write first to a customer respa "
	    "knows: the text goes to them from the queue's address, and their replies come to "
	    "you as any chat. In a message to respa, !start WHO [QUEUE] text does the same.");
	struct form_field *fl;
	struct agent *a = me(s);
	struct member *m;

	text_field(f, "who", "Customer: contact number (#12), JID or phone number (+358...)", NULL,
	    1);
	fl = form_add(f, "queue", FIELD_LIST, "Queue");
	for (m = a ? a->members : NULL; m; m = m->next_of_agent)
		form_option(fl, m->queue->name, m->queue->title);
	if (a && a->members)
		form_value(fl, a->members->queue->name);
	fl->required = 1;
	form_add(f, "text", FIELD_TEXT_MULTI, "First message")->required = 1;
	return f;
}

static int
transcript_submit(struct adhoc_session *s, const struct form *in, struct adhoc_result *r, char *err,
    size_t len)
{
	struct conv *c = conv_named(in, "chat", err, len);

	if (c == NULL)
		return -1;
	if (c->agent != me(s))
		return fail(err, len, "Chat #%" PRId64 " is not yours.", c->id);
	conversation_replay(c, adhoc_full_jid(s), "Transcript of chat", "The lines so far follow.");
	note(r, NOTE_INFO, "Chat #%" PRId64 " is sent to you again from %s.", c->id, c->addr);
	return 0;
}

static int
start_chat_submit(struct adhoc_session *s, const struct form *in, struct adhoc_result *r, char *err,
    size_t len)
{
	char *text = form_text(in, "text"), why[256], *who;
	struct agent *a = me(s);
	int64_t id = -1;

	who = xstrdup(given(in, "who") ? given(in, "who") : "");
	str_trim(who);
	fold(who);
	str_trim(text);
	if (a == NULL)
		snprintf(why, sizeof(why), "only agents of this desk start chats");
	else
		id = conversation_start(a, who, given(in, "queue"), text, why, sizeof(why));
	free(text);
	free(who);
	if (id == -1)
		return fail(err, len, "No chat was started: %s.", why);
	note(r, NOTE_INFO, "Chat #%" PRId64 " started: write at c-%" PRId64 "@%s to go on.", id, id,
	    conf->jid);
	return 0;
}

/* --- queues ------------------------------------------------------------------------------- */

static int
queues_submit(struct adhoc_session *s, const struct form *in, struct adhoc_result *r, char *err,
    size_t len)
{
	struct form *f = form_new(FORM_RESULT, "Queues", NULL);
	const char *cells[10];
	char waiting[16], members[512];
	struct queue *q;
	struct agent *a;
	struct member *m;
	size_t used;

	(void)s, (void)in, (void)err, (void)len;
	form_column(f, "name", "Name");
	form_column(f, "title", "Title");
	form_column(f, "source", "Source");
	form_column(f, "strategy", "Strategy");
	form_column(f, "mode", "Mode");
	form_column(f, "open", "Open now");
	form_column(f, "waiting", "Waiting");
	form_column(f, "members", "Agents (tier)");
	form_column(f, "hours", "Hours");
	form_column(f, "timezone", "Time zone");
	for (q = config_queues(); q; q = q->next) {
		snprintf(waiting, sizeof(waiting), "%zu", q->nwaiting);
		members[0] = '\0';
		used = 0;
		for (a = conf->agents; a; a = a->next)
			if ((m = config_member_find(a, q)) != NULL && used < sizeof(members))
				used += (size_t)snprintf(members + used, sizeof(members) - used,
				    "%s%s:%d", used ? ", " : "", a->jid, m->tier);
		utf8_trim_end(members);
		cells[0] = q->name;
		cells[1] = q->title;
		cells[2] = source(q->managed);
		cells[3] = strategy_name(q->strategy);
		cells[4] = q->mode == MODE_OFFER ? "offer" : "auto";
		cells[5] = q->open ? "yes" : "no";
		cells[6] = waiting;
		cells[7] = members;
		cells[8] = q->hours_text ? q->hours_text : "always";
		cells[9] = q->timezone;
		form_row(f, cells);
	}
	r->form = f;
	return 0;
}

/* The settings of a queue as a form: q's, or the defaults for a new one. */
static void
queue_fields(struct form *f, const struct queue *q)
{
	static const char *const strategies[][2] = {
		{ "longest-idle", "longest-idle: who got a chat least recently" },
		{ "least-busy", "least-busy: the agent with the fewest chats" },
		{ "round-robin", "round-robin: each agent in turn" },
		{ "ring-all", "ring-all: offered to every free agent at once" },
	};
	struct queue *d = q ? NULL : config_queue_alloc("new");
	const struct queue *v = q ? q : d;
	struct form_field *fl;
	size_t i;

	text_field(f, "title", "Name shown to people", q ? q->title : NULL, 0);
	fl = form_add(f, "strategy", FIELD_LIST, "Strategy");
	for (i = 0; i < sizeof(strategies) / sizeof(strategies[0]); i++)
		form_option(fl, strategies[i][0], strategies[i][1]);
	form_value(fl, strategy_name(v->strategy));
	fl->required = 1;
	fl = form_add(f, "mode", FIELD_LIST, "Mode");
	form_option(fl, "auto", "auto: assign at once");
	form_option(fl, "offer", "offer: the agent accepts");
	form_value(fl, v->mode == MODE_OFFER ? "offer" : "auto");
	fl->required = 1;
	int_field(f, "capacity", "Chats at once per agent (0: each agent's own)", v->capacity, 0,
	    100);
	int_field(f, "tier_wait", "Wait before the next tier (seconds)", v->tier_wait, 0, 86400);
	int_field(f, "offer_timeout", "Offer timeout (seconds)", v->offer_timeout, 1, 3600);
	int_field(f, "max_wait", "Most wait before a follow-up task (seconds)", v->max_wait, 1,
	    7 * 86400);
	int_field(f, "idle_close", "Close an idle chat after (seconds)", v->idle_close, 1,
	    30 * 86400);
	text_field(f, "hours", "Business hours (e.g. Mon-Fri 09:00-17:00, or always)",
	    v->hours_text ? v->hours_text : "always", 0);
	text_field(f, "timezone", "Time zone (e.g. Europe/Helsinki)",
	    v->timezone ? v->timezone : "UTC", 1);
	text_field(f, "closed", "Closed dates (e.g. 2026-12-24 12-31)", v->closed_dates, 0);
	text_field(f, "greeting", "Greeting", q ? q->greeting : NULL, 0);
	text_field(f, "offline_text", "Text out of hours", q ? q->offline_text : NULL, 0);
	if (d)
		config_queue_free(d);
}

/* A queue named name with the settings of the form; NULL with err filled when one is bad. */
static struct queue *
queue_from_form(const struct form *in, const char *name, char *err, size_t len)
{
	struct queue *q = config_queue_alloc(name);
	const char *v;
	char why[160];

	if (given(in, "title"))
		q->title = xstrdup(given(in, "title"));
	if (strategy_parse(given(in, "strategy") ? given(in, "strategy") : "", &q->strategy) == -1)
		goto bad; /* form_check saw it among the options already */
	q->mode = strcmp(form_get(in, "mode"), "offer") == 0 ? MODE_OFFER : MODE_AUTO;
	q->capacity = (int)int_of(in, "capacity");
	q->tier_wait = (int)int_of(in, "tier_wait");
	q->offer_timeout = (int)int_of(in, "offer_timeout");
	q->max_wait = (int)int_of(in, "max_wait");
	q->idle_close = (int)int_of(in, "idle_close");
	if ((v = given(in, "hours")) != NULL && strcasecmp(v, "always") != 0) {
		if (hours_parse(q->hours, v, why, sizeof(why)) == -1) {
			fail(err, len, "Business hours: %s.", why);
			goto bad;
		}
		q->hours_text = xstrdup(v);
	}
	if ((v = given(in, "closed")) != NULL) {
		if (hours_parse_closed(q->hours, v, why, sizeof(why)) == -1) {
			fail(err, len, "Closed dates: %s.", why);
			goto bad;
		}
		q->closed_dates = xstrdup(v);
	}
	v = given(in, "timezone") ? given(in, "timezone") : "UTC";
	if (!tz_exists(v)) {
		fail(err, len,
		    "Time zone: unknown time zone \"%s\" (use a name such as "
		    "Europe/Helsinki).",
		    v);
		goto bad;
	}
	q->timezone = xstrdup(v);
	if (given(in, "greeting"))
		q->greeting = xstrdup(given(in, "greeting"));
	if (given(in, "offline_text"))
		q->offline_text = xstrdup(given(in, "offline_text"));
	return q;
bad:
	config_queue_free(q);
	return NULL;
}

static struct form *
queue_create_form(struct adhoc_session *s)
{
	struct form *f = form_new(FORM_FORM, "Create a queue",
	    "Customers write to "
	    "NAME@this service. The queue is kept in the database; add agents to it with "
	    "\"Add an agent to a queue\".");
	struct form_field *fl;

	(void)s;
	fl =
	    text_field(f, "name", "Name (the address: lower-case letters, digits, . _ -)", NULL, 1);
	queue_fields(f, NULL);
	(void)fl;
	return f;
}

static int
queue_create_submit(struct adhoc_session *s, const struct form *in, struct adhoc_result *r,
    char *err, size_t len)
{
	const char *name = given(in, "name");
	struct queue *q;

	(void)s;
	if (!config_queue_name_ok(name))
		return fail(err, len,
		    "Name: \"%s\" is not a queue name: lower-case letters, "
		    "digits, '.', '_', '-', at most 64 (and not c-NUMBER).",
		    name);
	if (config_queue(name))
		return fail(err, len, "Name: there is a queue %s already.", name);
	if ((q = queue_from_form(in, name, err, len)) == NULL)
		return -1;
	if (desk_queue_add(q) == -1) {
		config_queue_free(q);
		return stored(-1, err, len);
	}
	note(r, NOTE_INFO, "Queue %s created: customers write to %s.", q->name, q->jid);
	return 0;
}

static struct form *
queue_pick_form(struct adhoc_session *s)
{
	struct form *f = form_new(FORM_FORM, "Choose a queue",
	    "Queues " FROM_FILE " are "
	    "changed in the file; commands change the queues they made.");
	struct form_field *fl = form_add(f, "queue", FIELD_LIST, "Queue");

	(void)s;
	fl->required = 1;
	queue_options(fl);
	return f;
}

/* The queue chosen, if commands may change it. */
static struct queue *
managed_queue(const struct form *in, char *err, size_t len)
{
	struct queue *q = queue_named(in, "queue", err, len);

	if (q && !q->managed) {
		fail(err, len,
		    "Queue %s is declared in respa.conf: change it there and restart "
		    "respa. Commands change only the queues they made.",
		    q->name);
		return NULL;
	}
	return q;
}

static int
queue_pick_submit(struct adhoc_session *s, const struct form *in, struct adhoc_result *r, char *err,
    size_t len)
{
	(void)s, (void)r;
	return managed_queue(in, err, len) ? 0 : -1;
}

static struct form *
queue_edit_form(struct adhoc_session *s)
{
	struct queue *q = config_queue(adhoc_value(s, "queue"));
	struct form *f;
	char *title = xasprintf("Edit the queue %s", q ? q->name : "(gone)");

	f = form_new(FORM_FORM, title, NULL);
	free(title);
	if (q)
		queue_fields(f, q);
	return f;
}

static int
queue_edit_submit(struct adhoc_session *s, const struct form *in, struct adhoc_result *r, char *err,
    size_t len)
{
	struct queue *q = config_queue(adhoc_value(s, "queue")), *d;
	int rc;

	if (q == NULL)
		return fail(err, len, "The queue was deleted meanwhile.");
	if ((d = queue_from_form(in, q->name, err, len)) == NULL)
		return -1;
	rc = desk_queue_update(q, d);
	config_queue_free(d);
	if (rc == -1)
		return stored(-1, err, len);
	note(r, NOTE_INFO, "Queue %s saved.", q->name);
	return 0;
}

static struct form *
queue_delete_form(struct adhoc_session *s)
{
	struct form *f = queue_pick_form(s);

	free(f->title);
	f->title = xstrdup("Delete a queue");
	form_add(f, "confirm", FIELD_BOOLEAN, "Yes, delete it")->required = 1;
	return f;
}

static int
queue_delete_submit(struct adhoc_session *s, const struct form *in, struct adhoc_result *r,
    char *err, size_t len)
{
	struct queue *q = managed_queue(in, err, len);
	char name[80];
	int open;

	(void)s;
	if (q == NULL)
		return -1;
	if (!form_bool(form_get(in, "confirm")))
		return fail(err, len, "Tick \"Yes, delete it\" to delete %s.", q->name);
	if ((open = store_open_in_queue(q->name)) != 0 || q->nwaiting)
		return fail(err, len,
		    "Queue %s still has %d open chat%s: close or transfer them "
		    "first.",
		    q->name, open, open == 1 ? "" : "s");
	str_copy(name, sizeof(name), q->name);
	if (desk_queue_delete(q) == -1)
		return stored(-1, err, len);
	note(r, NOTE_INFO, "Queue %s deleted.", name);
	return 0;
}

/* --- agents ------------------------------------------------------------------------------- */

static time_t
today_utc(void)
{
	time_t now = respa_now();

	return now - now % 86400;
}

static int
agents_submit(struct adhoc_session *s, const struct form *in, struct adhoc_result *r, char *err,
    size_t len)
{
	struct form *f = form_new(FORM_RESULT, "Agents", NULL);
	char status[160], chats[32], today[16], queues[512];
	const char *cells[7];
	struct member *m;
	struct agent *a;
	size_t used;

	(void)s, (void)in, (void)err, (void)len;
	form_column(f, "jid", "Agent");
	form_column(f, "source", "Source");
	form_column(f, "presence", "Presence");
	form_column(f, "status", "Status");
	form_column(f, "chats", "Chats / capacity");
	form_column(f, "today", "Chats today");
	form_column(f, "queues", "Queues (tier)");
	for (a = conf->agents; a; a = a->next) {
		snprintf(status, sizeof(status), "%s%s%s", a->paused ? "paused" : "ready",
		    a->pause_reason ? ": " : "", a->pause_reason ? a->pause_reason : "");
		snprintf(chats, sizeof(chats), "%d / %d", a->chats, a->capacity);
		snprintf(today, sizeof(today), "%d", store_chats_since(a->jid, today_utc()));
		queues[0] = '\0';
		used = 0;
		for (m = a->members; m && used < sizeof(queues); m = m->next_of_agent)
			used += (size_t)snprintf(queues + used, sizeof(queues) - used, "%s%s:%d",
			    used ? ", " : "", m->queue->name, m->tier);
		utf8_trim_end(status);
		utf8_trim_end(queues);
		cells[0] = a->jid;
		cells[1] = source(a->managed);
		cells[2] = show_name(a->show);
		cells[3] = status;
		cells[4] = chats;
		cells[5] = today;
		cells[6] = queues;
		form_row(f, cells);
	}
	r->form = f;
	return 0;
}

static struct form *
agent_add_form(struct adhoc_session *s)
{
	struct form *f = form_new(FORM_FORM, "Add an agent to a queue",
	    "Into a queue made by "
	    "a command (the members of a queue " FROM_FILE " are listed there). A JID that is not "
	    "an agent yet becomes one, with the capacity given; respa asks for their presence.");
	struct form_field *fl;

	(void)s;
	fl = form_add(f, "jid", FIELD_JID, "Agent's JID");
	fl->required = 1;
	fl = form_add(f, "queue", FIELD_LIST, "Queue");
	fl->required = 1;
	queue_options(fl);
	int_field(f, "tier", "Tier (1 first)", 1, 1, 9);
	int_field(f, "capacity", "Chats at once (a new agent)", DEFAULT_CAPACITY, 1, 100);
	return f;
}

static int
agent_add_submit(struct adhoc_session *s, const struct form *in, struct adhoc_result *r, char *err,
    size_t len)
{
	char *jid = xstrdup(given(in, "jid") ? given(in, "jid") : "");
	struct queue *q = queue_named(in, "queue", err, len);
	struct agent *a;
	int tier = (int)int_of(in, "tier"), rc = -1, created = 0;

	(void)s;
	fold(jid);
	if (q == NULL)
		goto done;
	if (!q->managed) {
		fail(err, len,
		    "Queue %s is declared in respa.conf: its agents are listed there "
		    "(agents = ...).",
		    q->name);
		goto done;
	}
	if (!jid_valid_bare(jid)) {
		fail(err, len, "Agent's JID: \"%s\" is not a bare JID such as alice@example.com.",
		    jid);
		goto done;
	}
	if (strchr(jid, '@') && strcmp(strchr(jid, '@') + 1, conf->jid) == 0) {
		fail(err, len, "Agent's JID: %s is an address of this service.", jid);
		goto done;
	}
	if ((a = config_agent_find(jid)) == NULL) {
		if ((a = desk_agent_add(jid, (int)int_of(in, "capacity"))) == NULL) {
			stored(-1, err, len);
			goto done;
		}
		created = 1;
	}
	if (stored(desk_member_set(a, q, tier), err, len) == -1)
		goto done;
	note(r, NOTE_INFO, "%s is in %s at tier %d%s.", a->jid, q->name, tier,
	    created ? " (a new agent: they are asked to share their presence)" : "");
	rc = 0;
done:
	free(jid);
	return rc;
}

static struct form *
agent_edit_form(struct adhoc_session *s)
{
	struct form *f = form_new(FORM_FORM, "Change an agent's capacity",
	    "Agents " FROM_FILE " are changed there ([agent JID] capacity).");
	struct form_field *fl = form_add(f, "agent", FIELD_LIST, "Agent");

	(void)s;
	fl->required = 1;
	agent_options(fl);
	fl = int_field(f, "capacity", "Chats at once", DEFAULT_CAPACITY, 1, 100);
	return f;
}

static int
agent_edit_submit(struct adhoc_session *s, const struct form *in, struct adhoc_result *r, char *err,
    size_t len)
{
	struct agent *a = agent_named(in, "agent", err, len);
	int cap = (int)int_of(in, "capacity");

	(void)s;
	if (a == NULL)
		return -1;
	if (!a->managed)
		return fail(err, len,
		    "Agent %s is declared in respa.conf: change its capacity "
		    "there ([agent %s] capacity) and restart respa.",
		    a->jid, a->jid);
	if (stored(desk_agent_capacity(a, cap), err, len) == -1)
		return -1;
	note(r, NOTE_INFO, "%s now takes %d chat%s at once.", a->jid, cap, cap == 1 ? "" : "s");
	return 0;
}

static struct form *
agent_remove_form(struct adhoc_session *s)
{
	struct form *f = form_new(FORM_FORM, "Remove an agent",
	    "From one queue made by a "
	    "command, or (no queue chosen) from the desk altogether. Agents " FROM_FILE " are "
	    "removed there.");
	struct form_field *fl = form_add(f, "agent", FIELD_LIST, "Agent");

	(void)s;
	fl->required = 1;
	agent_options(fl);
	fl = form_add(f, "queue", FIELD_LIST, "From the queue");
	form_option(fl, FORM_NONE, "every queue: the agent leaves the desk");
	queue_options(fl);
	return f;
}

static int
agent_remove_submit(struct adhoc_session *s, const struct form *in, struct adhoc_result *r,
    char *err, size_t len)
{
	struct agent *a = agent_named(in, "agent", err, len);
	struct queue *q;
	char jid[320];

	(void)s;
	if (a == NULL)
		return -1;
	if (given(in, "queue")) {
		if ((q = queue_named(in, "queue", err, len)) == NULL)
			return -1;
		if (config_member_find(a, q) == NULL)
			return fail(err, len, "%s is not in %s.", a->jid, q->name);
		if (!q->managed)
			return fail(err, len,
			    "Queue %s is declared in respa.conf: its agents are "
			    "listed there.",
			    q->name);
		if (stored(desk_member_remove(a, q), err, len) == -1)
			return -1;
		note(r, NOTE_INFO, "%s left %s.", a->jid, q->name);
		return 0;
	}
	if (!a->managed)
		return fail(err, len,
		    "Agent %s is declared in respa.conf: remove it there and "
		    "restart respa.",
		    a->jid);
	if (a->chats || a->offers)
		return fail(err, len, "%s has %d open chat%s: transfer or close them first.",
		    a->jid, a->chats + a->offers, a->chats + a->offers == 1 ? "" : "s");
	str_copy(jid, sizeof(jid), a->jid);
	if (stored(desk_agent_delete(a), err, len) == -1)
		return -1;
	note(r, NOTE_INFO, "%s is no longer an agent of this desk.", jid);
	return 0;
}

static struct form *
agent_status_form(struct adhoc_session *s)
{
	struct form *f = form_new(FORM_FORM, "Pause or resume an agent", NULL);
	struct form_field *fl = form_add(f, "agent", FIELD_LIST, "Agent");

	(void)s;
	fl->required = 1;
	agent_options(fl);
	fl = form_add(f, "action", FIELD_LIST, "Action");
	form_option(fl, "pause", "pause: no new chats");
	form_option(fl, "ready", "ready: new chats again");
	fl->required = 1;
	text_field(f, "reason", "Reason (for a pause)", NULL, 0);
	return f;
}

static int
agent_status_submit(struct adhoc_session *s, const struct form *in, struct adhoc_result *r,
    char *err, size_t len)
{
	struct agent *a = agent_named(in, "agent", err, len);
	const char *reason = given(in, "reason");
	char *text;

	if (a == NULL)
		return -1;
	if (strcmp(form_get(in, "action"), "pause") == 0) {
		agent_pause(a, reason);
		text = xasprintf("%s paused you%s%s: no new chats until you write !ready here.",
		    adhoc_jid(s), reason ? ": " : "", reason ? reason : "");
		note(r, NOTE_INFO, "%s is paused.", a->jid);
	} else {
		agent_ready(a);
		text = xasprintf("%s made you ready: new chats are offered to you again.",
		    adhoc_jid(s));
		note(r, NOTE_INFO, "%s is ready.", a->jid);
	}
	component_send(stanza_message(conf->jid, a->jid, text));
	free(text);
	return 0;
}

/* --- the live desk -------------------------------------------------------------------------- */

struct queue_count {
	const struct queue *q;
	int active;
};

static void
count_active(struct conv *c, void *arg)
{
	struct queue_count *qc = arg;

	if (c->queue == qc->q && c->state == CONV_ACTIVE)
		qc->active++;
}

static int
desk_status_submit(struct adhoc_session *s, const struct form *in, struct adhoc_result *r,
    char *err, size_t len)
{
	struct form *f = form_new(FORM_RESULT, "Queue status", NULL);
	struct form_field *lines;
	char nums[6][16], longest[32], *line, *bare;
	const char *cells[9];
	struct queue_count qc;
	struct queue *q;
	struct agent *a;
	struct conv *c;
	int fr, busy, away, off;
	time_t now = respa_now();

	(void)s, (void)in, (void)err, (void)len;
	form_column(f, "queue", "Queue");
	form_column(f, "open", "Open now");
	form_column(f, "waiting", "Waiting");
	form_column(f, "longest", "Longest wait");
	form_column(f, "active", "Active chats");
	form_column(f, "free", "Agents free");
	form_column(f, "busy", "Busy");
	form_column(f, "away", "Away or paused");
	form_column(f, "offline", "Offline");
	lines = form_add(f, "waiting", FIELD_TEXT_MULTI, "Waiting customers");
	for (q = config_queues(); q; q = q->next) {
		qc.q = q;
		qc.active = 0;
		conversation_foreach(count_active, &qc);
		fr = busy = away = off = 0;
		for (a = conf->agents; a; a = a->next) {
			if (config_member_find(a, q) == NULL)
				continue;
			if (a->show == SHOW_OFFLINE)
				off++;
			else if (a->show < SHOW_AVAILABLE || a->paused)
				away++;
			else if (router_cannot_take(a, q))
				busy++;
			else
				fr++;
		}
		longest[0] = '\0';
		if ((c = TAILQ_FIRST(&q->waiting)) != NULL)
			seconds_text((long)(now - c->created_at), longest, sizeof(longest));
		TAILQ_FOREACH(c, &q->waiting, wait_link)
		{
			bare = jid_bare(c->customer);
			seconds_text((long)(now - c->created_at), nums[0], sizeof(nums[0]));
			line = xasprintf("%s: #%" PRId64 " %s, waiting %s", q->name, c->id, bare,
			    nums[0]);
			form_value(lines, line);
			free(line);
			free(bare);
		}
		snprintf(nums[1], sizeof(nums[1]), "%zu", q->nwaiting);
		snprintf(nums[2], sizeof(nums[2]), "%d", qc.active);
		snprintf(nums[3], sizeof(nums[3]), "%d", fr);
		snprintf(nums[4], sizeof(nums[4]), "%d", busy);
		snprintf(nums[5], sizeof(nums[5]), "%d", away);
		cells[0] = q->name;
		cells[1] = q->open ? "yes" : "no";
		cells[2] = nums[1];
		cells[3] = longest;
		cells[4] = nums[2];
		cells[5] = nums[3];
		cells[6] = nums[4];
		cells[7] = nums[5];
		snprintf(nums[0], sizeof(nums[0]), "%d", off);
		cells[8] = nums[0];
		form_row(f, cells);
	}
	r->form = f;
	return 0;
}

static int
conversations_submit(struct adhoc_session *s, const struct form *in, struct adhoc_result *r,
    char *err, size_t len)
{
	struct form *f = form_new(FORM_RESULT, "Open conversations", NULL);
	char when[40], *bare;
	const char *cells[6];
	struct conv_list l;
	size_t i;

	(void)s, (void)in, (void)err, (void)len;
	form_column(f, "chat", "Chat");
	form_column(f, "queue", "Queue");
	form_column(f, "state", "State");
	form_column(f, "customer", "Customer");
	form_column(f, "agent", "Agent");
	form_column(f, "since", "Since");
	conv_list(&l, NULL);
	for (i = 0; i < l.n; i++) {
		bare = jid_bare(l.v[i]->customer);
		time_text(l.v[i]->created_at, when, sizeof(when));
		cells[0] = l.v[i]->node;
		cells[1] = l.v[i]->queue->name;
		cells[2] = conversation_state_name(l.v[i]);
		cells[3] = bare;
		cells[4] = l.v[i]->agent ? l.v[i]->agent->jid : "";
		cells[5] = when;
		form_row(f, cells);
		free(bare);
	}
	note(r, NOTE_INFO, "%zu open conversation%s.", l.n, l.n == 1 ? "" : "s");
	free(l.v);
	r->form = f;
	return 0;
}

static struct form *
conv_close_form(struct adhoc_session *s)
{
	struct form *f = form_new(FORM_FORM, "Close a conversation",
	    "The customer and the agent "
	    "are told; the reason goes into the transcript.");
	struct form_field *fl = form_add(f, "chat", FIELD_LIST, "Chat");

	(void)s;
	fl->required = 1;
	conv_options(fl, NULL);
	text_field(f, "reason", "Reason", NULL, 1);
	return f;
}

static int
conv_close_submit(struct adhoc_session *s, const struct form *in, struct adhoc_result *r, char *err,
    size_t len)
{
	struct conv *c = conv_named(in, "chat", err, len);
	int64_t id;

	if (c == NULL)
		return -1;
	id = c->id;
	if (conversation_close_by(c, adhoc_jid(s), form_get(in, "reason")) == -1)
		return stored(-1, err, len);
	note(r, NOTE_INFO, "Chat #%" PRId64 " closed.", id);
	return 0;
}

static struct form *
conv_transfer_form(struct adhoc_session *s)
{
	struct form *f = form_new(FORM_FORM, "Transfer a conversation",
	    "To an agent who can "
	    "take it now (a JID), or to the front of a queue's line (a queue's name).");
	struct form_field *fl = form_add(f, "chat", FIELD_LIST, "Chat");

	(void)s;
	fl->required = 1;
	conv_options(fl, NULL);
	text_field(f, "to", "To (agent JID or queue name)", NULL, 1);
	text_field(f, "note", "Note for the agent", NULL, 0);
	return f;
}

static int
conv_transfer_submit(struct adhoc_session *s, const struct form *in, struct adhoc_result *r,
    char *err, size_t len)
{
	struct conv *c = conv_named(in, "chat", err, len);
	char *to = xstrdup(form_get(in, "to"));
	const char *note_text = given(in, "note");
	int64_t id;
	int rc;

	str_trim(to);
	fold(to);
	if (c == NULL) {
		free(to);
		return -1;
	}
	id = c->id;
	rc = conversation_transfer(c, adhoc_jid(s), to, note_text ? note_text : "", err, len);
	if (rc == 0)
		note(r, NOTE_INFO, "Chat #%" PRId64 " transferred to %s.", id, to);
	free(to);
	return rc;
}

/* A supervisor follows a chat from m-ID@component (monitor.c). */
static struct form *
monitor_form(struct adhoc_session *s)
{
	struct form *f = form_new(FORM_FORM, "Monitor a conversation",
	    "You get the transcript so far, then every line both ways, from m-NUMBER@ this "
	    "service. Write there to whisper to the agent; !barge text, !takeover, !unmonitor.");
	struct form_field *fl = form_add(f, "chat", FIELD_LIST, "Chat");

	(void)s;
	fl->required = 1;
	conv_options(fl, NULL);
	return f;
}

static int
monitor_submit(struct adhoc_session *s, const struct form *in, struct adhoc_result *r, char *err,
    size_t len)
{
	struct conv *c = conv_named(in, "chat", err, len);

	if (c == NULL)
		return -1;
	monitor_start(c, adhoc_jid(s));
	note(r, NOTE_INFO, "You monitor chat #%" PRId64 " from m-%" PRId64 ".", c->id, c->id);
	return 0;
}

/* --- tasks ---------------------------------------------------------------------------------- */

static const char *const task_kinds[][2] = {
	{ "follow-up", "follow-up: to do after a chat" },
	{ "callback", "callback: call the customer back" },
	{ "handoff", "handoff: given to a colleague" },
	{ "offline", "offline: a contact out of hours" },
};

static struct form *
tasks_filter_form(struct adhoc_session *s)
{
	struct form *f = form_new(FORM_FORM, "Tasks", "Open tasks; leave a filter empty for all.");
	struct form_field *fl;
	size_t i;

	(void)s;
	fl = form_add(f, "queue", FIELD_LIST, "Queue");
	form_option(fl, FORM_NONE, "any queue");
	queue_options(fl);
	text_field(f, "assignee", "Assignee (an agent's JID or a queue's address)", NULL, 0);
	fl = form_add(f, "kind", FIELD_LIST, "Kind");
	form_option(fl, FORM_NONE, "any kind");
	for (i = 0; i < sizeof(task_kinds) / sizeof(task_kinds[0]); i++)
		form_option(fl, task_kinds[i][0], task_kinds[i][1]);
	form_value(form_add(f, "overdue", FIELD_BOOLEAN, "Overdue only"), "0");
	return f;
}

static int
tasks_filter_submit(struct adhoc_session *s, const struct form *in, struct adhoc_result *r,
    char *err, size_t len)
{
	(void)s, (void)r;
	if (given(in, "queue") && config_queue(given(in, "queue")) == NULL)
		return fail(err, len, "There is no queue %s.", given(in, "queue"));
	return 0;
}

static struct form *
tasks_pick_form(struct adhoc_session *s)
{
	struct form *f = form_new(FORM_FORM, "Tasks",
	    "Tick tasks, then mark them done or give "
	    "them to someone else.");
	const char *qname = adhoc_value(s, "queue");
	struct queue *q = qname && *qname ? config_queue(qname) : NULL;
	char *assignee = xstrdup(adhoc_value(s, "assignee") ? adhoc_value(s, "assignee") : "");
	struct task_filter tf;
	struct task_walk w;
	struct form_field *fl;
	char *text;

	str_trim(assignee);
	fold(assignee);
	memset(&tf, 0, sizeof(tf));
	tf.queue = q ? q->name : NULL;
	tf.queue_jid = q ? q->jid : NULL;
	tf.assignee = assignee;
	tf.kind = adhoc_value(s, "kind");
	tf.overdue_only = form_bool(adhoc_value(s, "overdue"));
	tf.now = respa_now();
	memset(&w, 0, sizeof(w));
	w.now = tf.now;
	w.fl = form_add(f, "done", FIELD_LIST_MULTI, "Tasks");
	w.fl->required = 1;
	(void)store_tasks_foreach(&tf, task_option, &w);
	text = xasprintf("%d open task%s found, %d overdue.", w.n, w.n == 1 ? "" : "s", w.overdue);
	fixed(f, text);
	free(text);
	fl = form_add(f, "action", FIELD_LIST, "Action");
	form_option(fl, "done", "mark done");
	form_option(fl, "reassign", "reassign");
	form_value(fl, "done");
	fl->required = 1;
	text_field(f, "to", "Reassign to (an agent's JID or a queue's address)", NULL, 0);
	free(assignee);
	return f;
}

/* An agent, or a queue's address: who a task may be given to. */
static int
assignee_ok(const char *jid)
{
	char node[256], domain[256];

	if (config_agent_find(jid))
		return 1;
	return jid_split(jid, node, sizeof(node), domain, sizeof(domain)) == 0 &&
	    strcmp(domain, conf->jid) == 0 && config_queue(node) != NULL;
}

static int
tasks_pick_submit(struct adhoc_session *s, const struct form *in, struct adhoc_result *r, char *err,
    size_t len)
{
	struct form_field *fl = form_field(in, "done");
	char done[512], *to;
	size_t i;
	const char *bad = "";
	int ok;

	(void)s;
	if (strcmp(form_get(in, "action"), "done") == 0) {
		if (tasks_done(in, NULL, done, sizeof(done), err, len) == -1)
			return -1;
		note(r, NOTE_INFO, "Marked done: %s.", done);
		return 0;
	}
	to = xstrdup(given(in, "to") ? given(in, "to") : "");
	str_trim(to);
	fold(to);
	if (!assignee_ok(to)) {
		fail(err, len, "Reassign to: %s is neither an agent nor a queue's address.",
		    *to ? to : "(nobody)");
		free(to);
		return -1;
	}
	ok = store_apply_begin() == 0;
	for (i = 0; ok && i < fl->nvalues; i++)
		if (store_task_assign(strtoll(fl->values[i], NULL, 10), to) != 0) {
			ok = 0;
			bad = fl->values[i];
		}
	if (store_apply_end(ok) == -1) {
		fail(err, len,
		    "Task #%s is not open any more (or the database failed); nothing "
		    "was changed.",
		    bad);
		free(to);
		return -1;
	}
	note(r, NOTE_INFO, "%zu task%s reassigned to %s.", fl->nvalues, fl->nvalues == 1 ? "" : "s",
	    to);
	free(to);
	return 0;
}

/* --- canned responses ------------------------------------------------------------------------ */

static int
canned_row(const struct stored_canned *c, void *arg)
{
	const char *cells[3] = { *c->queue ? c->queue : "(every queue)", c->name, c->body };

	form_row(arg, cells);
	return 0;
}

static int
canned_list_submit(struct adhoc_session *s, const struct form *in, struct adhoc_result *r,
    char *err, size_t len)
{
	struct form *f = form_new(FORM_RESULT, "Canned responses", NULL);

	(void)s, (void)in, (void)err, (void)len;
	form_column(f, "queue", "Queue");
	form_column(f, "name", "Name");
	form_column(f, "text", "Text");
	(void)store_canned_foreach(canned_row, f);
	r->form = f;
	return 0;
}

/* --- the mail outbox ------------------------------------------------------------------ */

#define OUTBOX_SHOWN 200

struct outbox_list {
	struct form *f;
	int failed, waiting;
};

static int
outbox_row(const struct stored_mail *m, void *arg)
{
	struct outbox_list *l = arg;
	char id[24], tries[16], next[32] = "";
	const char *cells[8] = { id, m->kind, m->to_addr, m->subject,
		strcmp(m->status, "failed") == 0 ? "failed" : "waiting", tries, next,
		m->last_error ? m->last_error : "" };

	snprintf(id, sizeof(id), "%" PRId64, m->id);
	snprintf(tries, sizeof(tries), "%d", m->attempts);
	if (m->next_at)
		time_iso(m->next_at, next);
	if (strcmp(m->status, "failed") == 0)
		l->failed++;
	else
		l->waiting++;
	form_row(l->f, cells);
	return 0;
}

/* Mails not sent yet: the failed ones (given up) first, then those waiting, with why. */
static int
outbox_submit(struct adhoc_session *s, const struct form *in, struct adhoc_result *r, char *err,
    size_t len)
{
	struct outbox_list l = { .f = form_new(FORM_RESULT, "Mail outbox", NULL) };

	(void)s, (void)in;
	form_column(l.f, "id", "Mail");
	form_column(l.f, "kind", "Kind");
	form_column(l.f, "to", "To");
	form_column(l.f, "subject", "Subject");
	form_column(l.f, "status", "Status");
	form_column(l.f, "attempts", "Failed attempts");
	form_column(l.f, "next", "Next attempt (UTC)");
	form_column(l.f, "error", "Last error");
	if (store_mail_foreach(OUTBOX_SHOWN, outbox_row, &l) == -1) {
		form_free(l.f);
		snprintf(err, len, "The outbox could not be read: the database failed.");
		return -1;
	}
	r->form = l.f;
	if (conf->mail_from == NULL)
		note(r, NOTE_WARN,
		    "Mail is off: respa.conf has no [mail] from. %d waiting, %d failed.", l.waiting,
		    l.failed);
	else
		note(r, l.failed ? NOTE_WARN : NOTE_INFO,
		    "%d waiting, %d failed (given up after [mail] retries); sent mails leave "
		    "the outbox.",
		    l.waiting, l.failed);
	return 0;
}

static struct form *
canned_add_form(struct adhoc_session *s)
{
	struct form *f = form_new(FORM_FORM, "Add a canned response",
	    "Agents send it with "
	    "!canned NAME in a chat, or with \"Send a canned response\".");
	struct form_field *fl = form_add(f, "queue", FIELD_LIST, "For");

	(void)s;
	form_option(fl, FORM_NONE, "every queue");
	queue_options(fl);
	text_field(f, "name", "Name (letters, digits, - and _)", NULL, 1);
	form_add(f, "text", FIELD_TEXT_MULTI, "Text")->required = 1;
	return f;
}

struct canned_find {
	const char *queue, *name;
	int found;
};

static int
canned_match(const struct stored_canned *c, void *arg)
{
	struct canned_find *cf = arg;

	if (strcmp(c->queue, cf->queue) == 0 && strcmp(c->name, cf->name) == 0)
		cf->found = 1;
	return 0;
}

static int
canned_exists(const char *queue, const char *name)
{
	struct canned_find cf = { queue, name, 0 };

	(void)store_canned_foreach(canned_match, &cf);
	return cf.found;
}

static int
canned_add_submit(struct adhoc_session *s, const struct form *in, struct adhoc_result *r, char *err,
    size_t len)
{
	const char *queue = given(in, "queue") ? given(in, "queue") : "";
	const char *name = form_get(in, "name");
	char *text;
	size_t n = strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_");
	int rc;

	(void)s;
	if (name[n] != '\0' || n > 32)
		return fail(err, len,
		    "Name: \"%s\" is not a short name of letters, digits, - and "
		    "_ (at most 32).",
		    name);
	if (*queue && config_queue(queue) == NULL)
		return fail(err, len, "There is no queue %s.", queue);
	if (canned_exists(queue, name))
		return fail(err, len,
		    "Name: there is a canned response %s for %s already; "
		    "change it with \"Edit a canned response\".",
		    name, *queue ? queue : "every queue");
	text = form_text(in, "text");
	rc = store_canned_put(queue, name, text, respa_now());
	free(text);
	if (stored(rc, err, len) == -1)
		return -1;
	note(r, NOTE_INFO, "Canned response %s saved for %s.", name,
	    *queue ? queue : "every queue");
	return 0;
}

static struct form *
canned_pick_form(struct adhoc_session *s)
{
	struct form *f = form_new(FORM_FORM, "Choose a canned response", NULL);
	struct canned_walk w = { NULL, 1 };

	(void)s;
	w.fl = form_add(f, "canned", FIELD_LIST, "Canned response");
	w.fl->required = 1;
	(void)store_canned_foreach(canned_option, &w);
	return f;
}

/* QUEUE:NAME into its parts; the queue is "" for every queue. */
static int
canned_key(const char *key, char *queue, size_t qlen, const char **name)
{
	const char *colon = key ? strchr(key, ':') : NULL;

	if (colon == NULL || (size_t)(colon - key) >= qlen)
		return -1;
	memcpy(queue, key, (size_t)(colon - key));
	queue[colon - key] = '\0';
	*name = colon + 1;
	return 0;
}

static int
canned_pick_submit(struct adhoc_session *s, const struct form *in, struct adhoc_result *r,
    char *err, size_t len)
{
	char queue[80];
	const char *name = "";

	(void)s, (void)r;
	if (canned_key(form_get(in, "canned"), queue, sizeof(queue), &name) == -1 ||
	    !canned_exists(queue, name))
		return fail(err, len, "That canned response was deleted meanwhile.");
	return 0;
}

struct canned_text {
	const char *queue, *name;
	struct form_field *fl;
};

static int
canned_fill(const struct stored_canned *c, void *arg)
{
	struct canned_text *ct = arg;
	char *copy, *line, *save = NULL;

	if (strcmp(c->queue, ct->queue) != 0 || strcmp(c->name, ct->name) != 0)
		return 0;
	copy = xstrdup(c->body);
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		form_value(ct->fl, line);
	free(copy);
	return 0;
}

static struct form *
canned_edit_form(struct adhoc_session *s)
{
	struct form *f = form_new(FORM_FORM, "Edit a canned response", NULL);
	struct canned_text ct;
	char queue[80];
	const char *name = "";

	if (canned_key(adhoc_value(s, "canned"), queue, sizeof(queue), &name) == -1)
		queue[0] = '\0';
	ct.queue = queue;
	ct.name = name;
	ct.fl = form_add(f, "text", FIELD_TEXT_MULTI, "Text");
	ct.fl->required = 1;
	(void)store_canned_foreach(canned_fill, &ct);
	return f;
}

static int
canned_edit_submit(struct adhoc_session *s, const struct form *in, struct adhoc_result *r,
    char *err, size_t len)
{
	char queue[80], *text;
	const char *name = "";
	int rc;

	if (canned_key(adhoc_value(s, "canned"), queue, sizeof(queue), &name) == -1)
		return fail(err, len, "No canned response was chosen.");
	text = form_text(in, "text");
	rc = store_canned_put(queue, name, text, respa_now());
	free(text);
	if (stored(rc, err, len) == -1)
		return -1;
	note(r, NOTE_INFO, "Canned response %s saved.", name);
	return 0;
}

static struct form *
canned_delete_form(struct adhoc_session *s)
{
	struct form *f = canned_pick_form(s);

	free(f->title);
	f->title = xstrdup("Delete a canned response");
	form_add(f, "confirm", FIELD_BOOLEAN, "Yes, delete it")->required = 1;
	return f;
}

static int
canned_delete_submit(struct adhoc_session *s, const struct form *in, struct adhoc_result *r,
    char *err, size_t len)
{
	char queue[80];
	const char *name = "";

	if (canned_pick_submit(s, in, r, err, len) == -1)
		return -1;
	if (!form_bool(form_get(in, "confirm")))
		return fail(err, len, "Tick \"Yes, delete it\" to delete it.");
	(void)canned_key(form_get(in, "canned"), queue, sizeof(queue), &name);
	if (stored(store_canned_del(queue, name), err, len) == -1)
		return -1;
	note(r, NOTE_INFO, "Canned response %s deleted.", name);
	return 0;
}

/* --- statistics ---------------------------------------------------------------------------- */

static struct form *
stats_form(struct adhoc_session *s)
{
	struct form *f = form_new(FORM_FORM, "Statistics",
	    "Conversations that began in the "
	    "period (days in UTC).");
	struct form_field *fl = form_add(f, "period", FIELD_LIST, "Period");

	(void)s;
	form_option(fl, "today", "today");
	form_option(fl, "7d", "the last 7 days");
	form_option(fl, "30d", "the last 30 days");
	form_option(fl, "dates", "the dates below");
	form_value(fl, "today");
	fl->required = 1;
	text_field(f, "from", "From (YYYY-MM-DD)", NULL, 0);
	text_field(f, "to", "To, included (YYYY-MM-DD)", NULL, 0);
	return f;
}

static int
date_parse(const char *s, time_t *t)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	if (s == NULL || (end = strptime(s, "%Y-%m-%d", &tm)) == NULL || *end != '\0')
		return -1;
	*t = timegm(&tm);
	return 0;
}

static int
add_line(const char *key, long n, void *arg)
{
	char *line = xasprintf("%s: %ld", key, n);

	form_value(arg, line);
	free(line);
	return 0;
}

static void
times_field(struct form *f, const char *var, const char *label, const struct stats_times *t,
    int mean)
{
	char a[32], b[32], *text;

	if (t->n == 0)
		text = xstrdup("no chats");
	else if (mean) {
		seconds_text((long)(t->avg + 0.5), a, sizeof(a));
		text = xasprintf("average %s (%ld chat%s)", a, t->n, t->n == 1 ? "" : "s");
	} else {
		seconds_text(t->median, a, sizeof(a));
		seconds_text(t->p90, b, sizeof(b));
		text = xasprintf("median %s, 90th percentile %s (%ld chat%s)", a, b, t->n,
		    t->n == 1 ? "" : "s");
	}
	form_value(form_add(f, var, FIELD_TEXT, label), text);
	free(text);
}

/* The period the stats form asks for, in UTC days: [from, to). */
static int
stats_period(const struct form *in, time_t *from, time_t *to, char *err, size_t len)
{
	const char *period = form_get(in, "period");
	time_t now = respa_now();

	*to = now - now % 86400 + 86400;
	if (strcmp(period, "today") == 0)
		*from = *to - 86400;
	else if (strcmp(period, "7d") == 0)
		*from = *to - 7 * 86400;
	else if (strcmp(period, "30d") == 0)
		*from = *to - 30 * 86400;
	else {
		if (date_parse(given(in, "from"), from) == -1)
			return fail(err, len, "From: write a date as YYYY-MM-DD.");
		if (date_parse(given(in, "to"), to) == -1)
			return fail(err, len, "To: write a date as YYYY-MM-DD.");
		if (*to < *from)
			return fail(err, len, "To: the period ends before it begins.");
		*to += 86400;
	}
	return 0;
}

/* The figures of the period over every queue: report.c's, the same as `respa report`'s. */
static int
stats_compute(const struct form *in, struct report *r, char *err, size_t len)
{
	struct report_queue *qs = NULL;
	struct report_span span;
	struct queue *q, *d;
	size_t n = 0;
	int rc, max_wait;

	memset(&span, 0, sizeof(span));
	if (stats_period(in, &span.since, &span.until, err, len) == -1)
		return -1;
	span.fcr_days = conf->fcr_days;
	span.now = respa_now();
	for (q = config_queues(); q; q = q->next) {
		qs = xrealloc(qs, (n + 1) * sizeof(*qs));
		memset(&qs[n], 0, sizeof(*qs));
		qs[n].name = q->name;
		qs[n].tz = q->timezone;
		qs[n].hours = q->hours;
		qs[n].max_wait = q->max_wait;
		n++;
	}
	d = config_queue_alloc("default");
	max_wait = d->max_wait;
	config_queue_free(d);
	rc = report_compute(r, &span, qs, n, max_wait);
	report_queues_free(qs, n);
	free(qs);
	if (rc == -1) {
		report_free(r);
		return fail(err, len, "The statistics could not be read: the database failed.");
	}
	return 0;
}

/* The period's first and last days, YYYY-MM-DD (UTC). */
static void
stats_days(const struct report *r, char a[16], char b[16])
{
	time_t last = r->span.until - 86400;
	struct tm tm;

	gmtime_r(&r->span.since, &tm);
	strftime(a, 16, "%Y-%m-%d", &tm);
	gmtime_r(&last, &tm);
	strftime(b, 16, "%Y-%m-%d", &tm);
}

static struct form *
stats_title(const struct report *r, const char *what)
{
	char a[16], b[16], *text;
	struct form *f;

	stats_days(r, a, b);
	text = xasprintf("%s from %s to %s (UTC)", what, a, b);
	f = form_new(FORM_RESULT, text, NULL);
	free(text);
	return f;
}

static void
stats_headline(struct form *f, const struct report *r)
{
	char a[16], *text;

	snprintf(a, sizeof(a), "%ld", r->total);
	form_value(form_add(f, "total", FIELD_TEXT, "Contacts"), a);
	text = xasprintf("%ld of %ld (%ld%%)", r->total - r->in_hours, r->total,
	    report_percent(r->total - r->in_hours, r->total));
	form_value(form_add(f, "out_of_hours", FIELD_TEXT, "Out of hours"), text);
	free(text);
	times_field(f, "first_response", "First response", &r->first, 0);
	text = r->by_agent ? xasprintf("%ld%% (%ld of %ld chats closed by an agent)",
	                         report_percent(r->fcr, r->by_agent), r->fcr, r->by_agent)
	                   : xstrdup("no chats");
	form_value(form_add(f, "resolution", FIELD_TEXT, "First-contact resolution"), text);
	free(text);
	if (r->has_ratings) {
		long good = r->scores[3] + r->scores[4];

		text = r->rated ? xasprintf("%ld%% rated 4 or 5 (%ld of %ld ratings; %ld asked)",
		                      report_percent(good, r->rated), good, r->rated, r->asked)
		                : xasprintf("no ratings (%ld asked)", r->asked);
		form_value(form_add(f, "csat", FIELD_TEXT, "Customer satisfaction (CSAT)"), text);
		free(text);
	}
	snprintf(a, sizeof(a), "%ld", r->outbound);
	form_value(form_add(f, "outbound", FIELD_TEXT, "Chats started by agents"), a);
}

static int
stats_submit(struct adhoc_session *s, const struct form *in, struct adhoc_result *r, char *err,
    size_t len)
{
	struct form_field *fl;
	struct report rep;
	struct form *f;
	size_t i;
	int h;

	(void)s;
	if (stats_compute(in, &rep, err, len) == -1)
		return -1;
	f = stats_title(&rep, "Statistics");
	stats_headline(f, &rep);
	fl = form_add(f, "contacts", FIELD_TEXT_MULTI, "Contacts by queue and channel");
	for (i = 0; i < rep.nqueue_channels; i++)
		add_line(rep.queue_channels[i].key, rep.queue_channels[i].a, fl);
	fl = form_add(f, "by_hour", FIELD_TEXT_MULTI,
	    "Contacts by hour of day (queue's time): in hours + out of hours");
	for (h = 0; h < 24; h++)
		if (rep.hour[h][0] || rep.hour[h][1]) {
			char *line =
			    xasprintf("%02d: %ld + %ld", h, rep.hour[h][0], rep.hour[h][1]);

			form_value(fl, line);
			free(line);
		}
	times_field(f, "wait", "Wait before an agent", &rep.wait, 0);
	times_field(f, "handling", "Handling time", &rep.handling, 1);
	fl = form_add(f, "missed", FIELD_TEXT_MULTI, "Missed offers by agent");
	for (i = 0; i < rep.nagents; i++)
		if (rep.agents[i].missed)
			add_line(rep.agents[i].jid, rep.agents[i].missed, fl);
	fl = form_add(f, "reasons", FIELD_TEXT_MULTI, "Top contact reasons");
	for (i = 0; i < rep.ntags && i < 10; i++)
		if (rep.tags[i].a)
			add_line(rep.tags[i].key, rep.tags[i].a, fl);
	report_free(&rep);
	r->form = f;
	return 0;
}

/* An admin's email: the [person] with their JID, else their [agent] email; or NULL. */
static const char *
admin_email(const char *bare)
{
	const struct person *x = config_person(bare);
	const struct agent *a;

	if (x && x->email)
		return x->email;
	a = config_agent_find(bare);
	return a ? a->email : NULL;
}

/* Queues the whole page, as `respa report` writes it, attached to a mail to email. */
static int64_t
report_mail(const struct report *rep, const char *email)
{
	char a[16], b[16], *name, *subject, *body, *html = NULL;
	size_t len = 0;
	struct mail file;
	int64_t id = -1;
	FILE *f;

	if ((f = open_memstream(&html, &len)) == NULL)
		return -1;
	report_page(f, rep);
	if (fclose(f) != 0) {
		free(html);
		return -1;
	}
	stats_days(rep, a, b);
	name = xasprintf("respa-report-%s-%s.html", a, b);
	subject = xasprintf("respa report from %s to %s (UTC)", a, b);
	body = xasprintf("The report of the contacts from %s to %s (UTC) is attached: %s.\n"
	                 "Open it in a web browser; it prints well.\n",
	    a, b, name);
	memset(&file, 0, sizeof(file));
	file.attach = html;
	file.attach_len = len;
	file.attach_name = name;
	file.attach_type = "text/html; charset=utf-8";
	id = mailer_queue_file("report", email, NULL, subject, body, &file);
	free(body);
	free(subject);
	free(name);
	free(html);
	return id;
}

/*
 * The report's headline figures; the whole page goes by mail to the admin when [mail] is set
 * and respa knows their email, else `respa report` writes it.
 */
static int
report_submit(struct adhoc_session *s, const struct form *in, struct adhoc_result *r, char *err,
    size_t len)
{
	struct form_field *fl;
	struct report rep;
	struct form *f;
	const char *email;
	char *text;
	int o;

	if (stats_compute(in, &rep, err, len) == -1)
		return -1;
	f = stats_title(&rep, "Report");
	stats_headline(f, &rep);
	fl = form_add(f, "outcomes", FIELD_TEXT_MULTI, "What became of the contacts");
	for (o = 0; o < OUTCOME_COUNT; o++)
		add_line(report_outcome_names[o], rep.outcome[o], fl);
	if (rep.has_ratings && rep.rated)
		text = xasprintf("%.2f of 5 (%ld rated of %ld asked)", rep.rating, rep.rated,
		    rep.asked);
	else
		text = xstrdup("no ratings");
	form_value(form_add(f, "rating", FIELD_TEXT, "Rating"), text);
	free(text);
	text = xasprintf("%ld created, %ld done, %ld overdue", rep.tasks_created, rep.tasks_done,
	    rep.tasks_overdue);
	form_value(form_add(f, "tasks", FIELD_TEXT, "Tasks"), text);
	free(text);
	email = admin_email(adhoc_jid(s));
	if (!mailer_enabled())
		note(r, NOTE_INFO,
		    "The whole report with its charts: run respa report -c %s -o report.html "
		    "where respa runs (with [mail] set, this command mails it to you).",
		    conf->path);
	else if (email == NULL)
		note(r, NOTE_INFO,
		    "The whole report was not mailed: respa knows no email of yours (add a "
		    "[person] with your jid and an email, or an [agent] email). respa report -c "
		    "%s -o report.html writes it where respa runs.",
		    conf->path);
	else if (report_mail(&rep, email) == -1)
		note(r, NOTE_WARN,
		    "The whole report could not be mailed (see respa's log); respa report -c %s "
		    "-o report.html writes it where respa runs.",
		    conf->path);
	else
		note(r, NOTE_INFO, "The whole report with its charts is mailed to %s.", email);
	report_free(&rep);
	r->form = f;
	return 0;
}

/* --- contact merges ----------------------------------------------------------------------- */

static int
merge_option(int64_t id, int64_t kept, int64_t merged, const char *reason, time_t when, void *arg)
{
	char value[24], label[320], ts[32];

	time_iso(when, ts);
	snprintf(value, sizeof(value), "%" PRId64, id);
	snprintf(label, sizeof(label), "%" PRId64 ": contact %" PRId64 " into %" PRId64 " (%s, %s)",
	    id, merged, kept, reason, ts);
	form_option(arg, value, label);
	return 0;
}

static struct form *
merge_undo_form(struct adhoc_session *s)
{
	struct form *f = form_new(FORM_FORM, "Undo a contact merge",
	    "respa merges two contacts "
	    "when a customer writes an email or phone number that belongs to another. Undoing "
	    "moves back what the merge moved: identities, conversations and tasks.");
	struct form_field *fl = form_add(f, "merge", FIELD_LIST, "Merge (latest first)");

	(void)s;
	fl->required = 1;
	(void)store_merges_foreach(50, merge_option, fl);
	return f;
}

static int
merge_undo_submit(struct adhoc_session *s, const struct form *in, struct adhoc_result *r, char *err,
    size_t len)
{
	const char *v = form_get(in, "merge");
	int64_t kept, merged, id = v ? strtoll(v, NULL, 10) : 0;

	if (id <= 0 || store_merge_undo(id, respa_now(), &kept, &merged) == -1)
		return fail(err, len, "There is no merge %s to undo (or it was undone already).",
		    v ? v : "");
	log_info("merge %" PRId64 " undone by %s: contact %" PRId64 " is apart from %" PRId64
	         " again",
	    id, adhoc_jid(s), merged, kept);
	note(r, NOTE_INFO,
	    "Merge %" PRId64 " undone: contact %" PRId64 " is apart from contact %" PRId64
	    " again.",
	    id, merged, kept);
	return 0;
}

/* A privacy request: the contact and everything about them, gone from the file. */
static struct form *
erase_form(struct adhoc_session *s)
{
	struct form *f = form_new(FORM_FORM, "Erase a contact",
	    "For a privacy request: the "
	    "contact, their conversations, transcripts, summaries, tasks and identities are "
	    "deleted so that nothing readable is left in the database file. This cannot be "
	    "undone.");

	(void)s;
	text_field(f, "contact", "Contact (its number, JID, email or phone)", NULL, 1);
	form_add(f, "confirm", FIELD_BOOLEAN, "Yes, erase everything about this contact")
	    ->required = 1;
	return f;
}

static int
erase_submit(struct adhoc_session *s, const struct form *in, struct adhoc_result *r, char *err,
    size_t len)
{
	const char *v = form_get(in, "contact");
	struct erase_report rep;
	int64_t ids[2], open;
	int n;

	if (!form_bool(form_get(in, "confirm")))
		return fail(err, len, "Tick the confirmation to erase the contact.");
	if ((n = store_contact_find(v, ids, 2)) == -1)
		return stored(-1, err, len);
	if (n == 0)
		return fail(err, len, "No contact is known by \"%s\".", v);
	if (n > 1)
		return fail(err, len,
		    "\"%s\" names more than one contact: give the contact's "
		    "number instead.",
		    v);
	if (store_contact_open_count(ids[0], &open) != 0)
		return fail(err, len,
		    "Contact %" PRId64 " has an open conversation (chat #%" PRId64
		    "): close it first (Close a conversation), then erase.",
		    ids[0], open);
	if (store_contact_erase(ids[0], &rep) == -1)
		return stored(-1, err, len);
	log_info("contact %" PRId64 " erased by %s", ids[0], adhoc_jid(s));
	note(r, NOTE_INFO,
	    "Contact %" PRId64 " erased: %d conversation%s, %d message%s, %d "
	    "task%s, %d identit%s.",
	    ids[0], rep.conversations, rep.conversations == 1 ? "" : "s", rep.messages,
	    rep.messages == 1 ? "" : "s", rep.tasks, rep.tasks == 1 ? "" : "s", rep.identities,
	    rep.identities == 1 ? "y" : "ies");
	return 0;
}

/* --- announcement ------------------------------------------------------------------------- */

static struct form *
announce_form(struct adhoc_session *s)
{
	struct form *f = form_new(FORM_FORM, "Announcement",
	    "A message to every agent who is "
	    "online now.");

	(void)s;
	form_add(f, "text", FIELD_TEXT_MULTI, "Text")->required = 1;
	return f;
}

static int
announce_submit(struct adhoc_session *s, const struct form *in, struct adhoc_result *r, char *err,
    size_t len)
{
	char *text = form_text(in, "text"), *msg;
	struct agent *a;
	int n = 0;

	(void)err, (void)len;
	msg = xasprintf("Announcement from %s: %s", adhoc_jid(s), text);
	for (a = conf->agents; a; a = a->next)
		if (a->show != SHOW_OFFLINE) {
			component_send(stanza_message(conf->jid, a->jid, msg));
			n++;
		}
	note(r, NOTE_INFO, "Sent to %d online agent%s.", n, n == 1 ? "" : "s");
	free(msg);
	free(text);
	return 0;
}

/* --- the table ------------------------------------------------------------------------------ */

#define A ROLE_AGENT
#define ADMIN ROLE_ADMIN

const struct command commands[] = {
	/* agents */
	{ "ready", "Ready for chats", A, { { NULL, ready_submit } } },
	{ "pause", "Pause (no new chats)", A, { { pause_form, pause_submit } } },
	{ "my-chats", "My open conversations", A, { { NULL, my_chats_submit } } },
	{ "my-tasks", "My tasks", A, { { my_tasks_form, my_tasks_submit } } },
	{ "canned-send", "Send a canned response", A,
	    { { canned_send_form, canned_send_submit } } },
	{ "transcript", "Transcript of one of my chats", A,
	    { { transcript_form, transcript_submit } } },
	{ "start-chat", "Start a chat with a customer", A,
	    { { start_chat_form, start_chat_submit } } },
	/* admins: queues */
	{ "queues", "Queues", ADMIN, { { NULL, queues_submit } } },
	{ "queue-create", "Create a queue", ADMIN, { { queue_create_form, queue_create_submit } } },
	{ "queue-edit", "Edit a queue", ADMIN,
	    { { queue_pick_form, queue_pick_submit }, { queue_edit_form, queue_edit_submit } } },
	{ "queue-delete", "Delete a queue", ADMIN, { { queue_delete_form, queue_delete_submit } } },
	/* agents */
	{ "agents", "Agents", ADMIN, { { NULL, agents_submit } } },
	{ "agent-add", "Add an agent to a queue", ADMIN, { { agent_add_form, agent_add_submit } } },
	{ "agent-edit", "Change an agent's capacity", ADMIN,
	    { { agent_edit_form, agent_edit_submit } } },
	{ "agent-remove", "Remove an agent", ADMIN,
	    { { agent_remove_form, agent_remove_submit } } },
	{ "agent-status", "Pause or resume an agent", ADMIN,
	    { { agent_status_form, agent_status_submit } } },
	/* the live desk */
	{ "desk-status", "Queue status", ADMIN, { { NULL, desk_status_submit } } },
	{ "conversations", "Open conversations", ADMIN, { { NULL, conversations_submit } } },
	{ "conversation-close", "Close a conversation", ADMIN,
	    { { conv_close_form, conv_close_submit } } },
	{ "conversation-transfer", "Transfer a conversation", ADMIN,
	    { { conv_transfer_form, conv_transfer_submit } } },
	{ "monitor", "Monitor a conversation", ROLE_SUPERVISOR,
	    { { monitor_form, monitor_submit } } },
	/* tasks */
	{ "tasks", "Tasks", ADMIN,
	    { { tasks_filter_form, tasks_filter_submit },
	        { tasks_pick_form, tasks_pick_submit } } },
	/* canned responses */
	{ "canned", "Canned responses", ADMIN, { { NULL, canned_list_submit } } },
	{ "canned-add", "Add a canned response", ADMIN,
	    { { canned_add_form, canned_add_submit } } },
	{ "canned-edit", "Edit a canned response", ADMIN,
	    { { canned_pick_form, canned_pick_submit },
	        { canned_edit_form, canned_edit_submit } } },
	{ "canned-delete", "Delete a canned response", ADMIN,
	    { { canned_delete_form, canned_delete_submit } } },
	/* statistics, announcement */
	{ "stats", "Statistics", ADMIN, { { stats_form, stats_submit } } },
	{ "report", "Report: headline figures", ADMIN, { { stats_form, report_submit } } },
	{ "announce", "Send an announcement", ADMIN, { { announce_form, announce_submit } } },
	{ "outbox", "Mail outbox", ADMIN, { { NULL, outbox_submit } } },
	/* the CRM */
	{ "merge-undo", "Undo a contact merge", ADMIN, { { merge_undo_form, merge_undo_submit } } },
	{ "contact-erase", "Erase a contact (privacy request)", ADMIN,
	    { { erase_form, erase_submit } } },
};
const size_t ncommands = sizeof(commands) / sizeof(commands[0]);
