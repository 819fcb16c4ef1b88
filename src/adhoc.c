/*
 * XEP-0050 ad-hoc commands on the component's address: the command list (disco#items on the
 * commands node, filtered to what the asker may run), disco#info of each command node, and
 * command sessions with next, prev, complete and cancel. The commands themselves are a table
 * in commands.c that main.c registers; each is a few steps, a form shown and a form submitted.
 *
 * A session is keyed by its id and the executor's full JID, so nobody else can continue it
 * (not even another resource of the same account), and it expires after [admin]
 * command_timeout. A form that does not validate comes back with what was written and a note
 * saying what is wrong (in its instructions too); a command applies nothing until its last
 * step validates, which execute, next and complete all submit (clients differ).
 *
 * What clients show differs too: a result table also goes out as text lines (forms.c), and
 * one longer than PAGE_ROWS a page at a time, the session staying open for next and prev.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "respa.h"

#define MAX_SESSIONS 256 /* at once, for everyone: a bound on what strangers can make us keep */
#define ADMIN_RESERVE 16 /* of those, only admins may open the last: nobody locks them out */
#define PAGE_ROWS 25     /* a longer result table is shown a page at a time */

struct adhoc_session {
	char id[40];
	char *key; /* id "\n" full JID */
	char *jid; /* full JID of the executor */
	char *bare;
	char *held; /* its count per bare JID in limits.c ([admin] max_sessions_per_jid) */
	const struct command *cmd;
	int step, nsteps;
	struct form *kept[ADHOC_MAX_STEPS]; /* each step's form as last filled in */
	struct timer timer;
	/* a long result, shown a page at a time after the command was applied */
	struct form *table;
	size_t page, npages;
	enum note_type table_note_type;
	char *table_note;
};

static struct config *conf;
static struct map *sessions;
static uint64_t counter;
static const struct command *table; /* main.c registers commands.c's */
static size_t ntable;

void
adhoc_init(struct config *c)
{
	conf = c;
	sessions = map_new();
}

void
adhoc_register(const struct command *cmds, size_t n)
{
	table = cmds;
	ntable = n;
}

static void
session_free(struct adhoc_session *s)
{
	int i;

	timer_cancel(&s->timer);
	map_del(sessions, s->key);
	limits_release(s->held);
	free(s->held);
	for (i = 0; i < ADHOC_MAX_STEPS; i++)
		form_free(s->kept[i]);
	form_free(s->table);
	free(s->table_note);
	free(s->key);
	free(s->jid);
	free(s->bare);
	free(s);
}

static void
collect(const char *key, void *value, void *arg)
{
	struct adhoc_session ***pp = arg;

	(void)key;
	*(*pp)++ = value;
}

void
adhoc_free_all(void)
{
	size_t i, n;
	struct adhoc_session **all, **p;

	if (sessions == NULL)
		return;
	n = map_count(sessions);
	all = p = xcalloc(n, sizeof(*all));
	map_foreach(sessions, collect, &p);
	for (i = 0; i < n; i++)
		session_free(all[i]);
	free(all);
	map_free(sessions);
	sessions = NULL;
}

static void
session_timer(void *arg)
{
	struct adhoc_session *s = arg;

	log_debug("command session %s of %s expired", s->id, s->jid);
	session_free(s);
}

/* Admins come from the configuration; agents are whoever the desk routes chats to. */
unsigned
adhoc_roles(const char *bare)
{
	unsigned r = 0;

	if (config_is_admin(conf, bare))
		r |= ROLE_ADMIN;
	if (config_agent_find(bare))
		r |= ROLE_AGENT;
	if (config_is_supervisor(conf, bare))
		r |= ROLE_SUPERVISOR;
	return r;
}

const char *
adhoc_jid(const struct adhoc_session *s)
{
	return s->bare;
}

const char *
adhoc_full_jid(const struct adhoc_session *s)
{
	return s->jid;
}

/* What an earlier (or this) step was given for var, latest step first. */
const char *
adhoc_value(const struct adhoc_session *s, const char *var)
{
	const char *v;
	int i;

	for (i = s->step; i >= 0; i--)
		if (s->kept[i] && (v = form_get(s->kept[i], var)) != NULL)
			return v;
	return NULL;
}

static const struct command *
command_find(const char *node)
{
	size_t i;

	for (i = 0; i < ntable; i++)
		if (strcmp(table[i].node, node) == 0)
			return &table[i];
	return NULL;
}

static int
steps_of(const struct command *cmd)
{
	int n = 0;

	while (n < ADHOC_MAX_STEPS && cmd->steps[n].submit)
		n++;
	return n;
}

static char *
bare_of(xmpp_stanza_t *iq)
{
	return jid_bare(xmpp_stanza_get_from(iq));
}

/* --- disco ------------------------------------------------------------------------------ */

xmpp_stanza_t *
adhoc_disco_items(xmpp_stanza_t *iq, const char *node)
{
	struct disco_item *items;
	char *bare = bare_of(iq);
	unsigned roles = adhoc_roles(bare);
	xmpp_stanza_t *r;
	size_t i, n = 0;

	free(bare);
	if (strcmp(node, NS_COMMANDS) != 0)
		return stanza_error(iq, "cancel", "item-not-found", "no such node");
	items = xcalloc(ntable, sizeof(*items));
	for (i = 0; i < ntable; i++)
		if (table[i].roles & roles) {
			items[n].jid = conf->jid;
			items[n].node = table[i].node;
			items[n++].name = table[i].name;
		}
	r = stanza_disco_items(iq, items, n);
	free(items);
	return r;
}

xmpp_stanza_t *
adhoc_disco_info(xmpp_stanza_t *iq, const char *node)
{
	static const char *const features[] = { NS_COMMANDS, NS_DATA, NULL };
	static const char *const list_features[] = { NS_DISCO_ITEMS, NULL };
	const struct command *cmd;
	char *bare;
	unsigned roles;

	if (strcmp(node, NS_COMMANDS) == 0)
		return stanza_disco_info(iq, "automation", "command-list", "Commands",
		    list_features);
	if ((cmd = command_find(node)) == NULL)
		return stanza_error(iq, "cancel", "item-not-found", "no such command");
	bare = bare_of(iq);
	roles = adhoc_roles(bare);
	free(bare);
	if ((cmd->roles & roles) == 0)
		return stanza_error(iq, "auth", "forbidden", "you may not run this command");
	return stanza_disco_info(iq, "automation", "command-node", cmd->name, features);
}

/* --- sessions --------------------------------------------------------------------------- */

static struct adhoc_session *
session_new(const struct command *cmd, const char *jid)
{
	struct adhoc_session *s = xcalloc(1, sizeof(*s));

	snprintf(s->id, sizeof(s->id), "%" PRIx64 "-%" PRIx64, (uint64_t)respa_now_ms(), ++counter);
	s->jid = xstrdup(jid);
	s->bare = jid_bare(jid);
	s->key = xasprintf("%s\n%s", s->id, jid);
	s->held = xasprintf("a\n%s", s->bare);
	limits_hold(s->held);
	s->cmd = cmd;
	s->nsteps = steps_of(cmd);
	timer_init(&s->timer, session_timer, s);
	map_put(sessions, s->key, s);
	return s;
}

/* The form of the current step, with what was last written in it. */
static struct form *
step_form(struct adhoc_session *s)
{
	struct form *f = s->cmd->steps[s->step].form(s);

	form_keep(f, s->kept[s->step]);
	return f;
}

/* text, then what the form said before: profanity shows no note on a step, only this */
static void
instructions_first(struct form *f, const char *prefix, const char *text)
{
	char *was = f->instructions;

	f->instructions = xasprintf("%s%s%s%s", prefix, text, was ? "\n" : "", was ? was : "");
	free(was);
}

static xmpp_stanza_t *
reply(xmpp_stanza_t *iq, struct adhoc_session *s, const char *status, struct form *form,
    enum note_type nt, const char *note)
{
	struct command_reply c;
	xmpp_stanza_t *r;
	int last = s->step == s->nsteps - 1;

	memset(&c, 0, sizeof(c));
	c.node = s->cmd->node;
	c.sessionid = s->id;
	c.status = status;
	c.note_type = nt;
	c.note = note;
	c.form = form;
	if (form && note && nt == NOTE_ERROR && form->type == FORM_FORM)
		instructions_first(form, "Not done: ", note);
	if (form)
		form_show(form);
	if (strcmp(status, "executing") == 0 && s->table) {
		last = s->page + 1 == s->npages;
		c.actions =
		    (s->page > 0 ? ACTION_PREV : 0) | (last ? 0 : ACTION_NEXT) | ACTION_COMPLETE;
		c.execute = last ? "complete" : "next";
		timer_in(&s->timer, conf->command_timeout);
	} else if (strcmp(status, "executing") == 0) {
		c.actions =
		    (s->step > 0 ? ACTION_PREV : 0) | (last ? ACTION_COMPLETE : ACTION_NEXT);
		c.execute = last ? "complete" : "next";
		timer_in(&s->timer, conf->command_timeout);
	}
	r = stanza_command(iq, &c);
	form_free(form);
	if (strcmp(status, "executing") != 0)
		session_free(s);
	return r;
}

/* Shows the current step's form. */
static xmpp_stanza_t *
present(xmpp_stanza_t *iq, struct adhoc_session *s, enum note_type nt, const char *note)
{
	return reply(iq, s, "executing", step_form(s), nt, note);
}

/* --- a long result, a page at a time ------------------------------------------------------ */

static struct form *
page_form(struct adhoc_session *s)
{
	const struct form *t = s->table;
	size_t first = s->page * PAGE_ROWS, n = t->nrows - first, i;
	int last = s->page + 1 == s->npages;
	struct form_field *fl;
	struct form *f;
	char *title, *text, value[24], label[64];

	if (n > PAGE_ROWS)
		n = PAGE_ROWS;
	title = xasprintf("%s (page %zu of %zu)", t->title ? t->title : s->cmd->name, s->page + 1,
	    s->npages);
	text = xasprintf("Rows %zu-%zu of %zu. %s%s%s", first + 1, first + n, t->nrows,
	    last ? "The last page: submit or complete to end, prev goes back."
	         : "Submit (next) for the next page, prev goes back, complete ends.",
	    s->table_note ? "\n" : "", s->table_note ? s->table_note : "");
	f = form_new(FORM_FORM, title, text);
	free(title);
	free(text);
	form_add_lines(f, t, first, n);
	if (last)
		form_add_field_lines(f, t);
	fl = form_add(f, "page", FIELD_LIST, "Go to page");
	for (i = 0; i < s->npages; i++) {
		snprintf(value, sizeof(value), "%zu", i + 1);
		snprintf(label, sizeof(label), "page %zu: rows %zu-%zu", i + 1, i * PAGE_ROWS + 1,
		    i + 1 == s->npages ? t->nrows : (i + 1) * PAGE_ROWS);
		form_option(fl, value, label);
	}
	snprintf(value, sizeof(value), "%zu", last ? s->page + 1 : s->page + 2);
	form_value(fl, value);
	return f;
}

static xmpp_stanza_t *
show_page(xmpp_stanza_t *iq, struct adhoc_session *s)
{
	return reply(iq, s, "executing", page_form(s), s->table_note_type, s->table_note);
}

/* The end of the list: completed, with the command's note. */
static xmpp_stanza_t *
end_pages(xmpp_stanza_t *iq, struct adhoc_session *s)
{
	char *note = s->table_note ? xstrdup(s->table_note) : NULL;
	xmpp_stanza_t *r =
	    reply(iq, s, "completed", NULL, note ? s->table_note_type : NOTE_NONE, note);

	free(note);
	return r;
}

/* prev, next (to the page chosen in the form, else the next one), complete. */
static xmpp_stanza_t *
turn_page(xmpp_stanza_t *iq, struct adhoc_session *s, xmpp_stanza_t *cmdel, const char *action)
{
	xmpp_stanza_t *x = xmpp_stanza_get_child_by_ns(cmdel, NS_DATA);
	size_t target = s->page + 1 < s->npages ? s->page + 1 : s->page;
	struct form *in;
	const char *v;
	char err[160], *end;
	unsigned long n;

	if (strcmp(action, "prev") == 0) {
		if (s->page == 0)
			return stanza_command_error(iq, "modify", "bad-request", "bad-action",
			    "this is the first page");
		s->page--;
		return show_page(iq, s);
	}
	if (strcmp(action, "complete") == 0)
		return end_pages(iq, s);
	if (x && (in = form_parse(x, err, sizeof(err))) != NULL) {
		v = form_get(in, "page");
		n = v ? strtoul(v, &end, 10) : 0;
		if (v && *end == '\0' && n >= 1 && n <= s->npages)
			target = n - 1;
		form_free(in);
	}
	if (target == s->page && s->page + 1 == s->npages)
		return end_pages(iq, s);
	s->page = target;
	return show_page(iq, s);
}

static xmpp_stanza_t *
finish(xmpp_stanza_t *iq, struct adhoc_session *s, struct adhoc_result *res)
{
	struct form *t = res->form;

	log_info("command %s run by %s", s->cmd->node, s->jid);
	if (t && t->ncolumns && t->nrows > PAGE_ROWS) {
		s->table = t;
		s->npages = (t->nrows + PAGE_ROWS - 1) / PAGE_ROWS;
		s->table_note_type = res->note_type;
		s->table_note = res->note_type ? xstrdup(res->note) : NULL;
		return show_page(iq, s);
	}
	if (t && t->ncolumns) /* clients that show no <reported/> table show these lines */
		form_table_text(t);
	return reply(iq, s, "completed", t, res->note_type, res->note_type ? res->note : NULL);
}

/* A command without a form runs at once. */
static xmpp_stanza_t *
run_now(xmpp_stanza_t *iq, struct adhoc_session *s)
{
	struct adhoc_result res;
	char err[512];

	memset(&res, 0, sizeof(res));
	if (s->cmd->steps[0].submit(s, NULL, &res, err, sizeof(err)) == -1) {
		form_free(res.form);
		res.form = NULL;
		res.note_type = NOTE_ERROR;
		str_copy(res.note, sizeof(res.note), err);
	}
	return finish(iq, s, &res);
}

/* The person submitted the current step: check it, then go on or apply. */
static xmpp_stanza_t *
advance(xmpp_stanza_t *iq, struct adhoc_session *s, xmpp_stanza_t *cmdel, int completing)
{
	xmpp_stanza_t *x = xmpp_stanza_get_child_by_ns(cmdel, NS_DATA);
	struct form *shown, *in = NULL;
	struct adhoc_result res;
	char err[512];
	int j;

	if (completing && s->step != s->nsteps - 1)
		return stanza_command_error(iq, "modify", "bad-request", "bad-action",
		    "this step is not the last one: next (or execute) goes on to the next");
	/* XEP-0050 clients differ: poezio sends next on the last step, others execute */
	completing = s->step == s->nsteps - 1;
	if (x && (in = form_parse(x, err, sizeof(err))) == NULL)
		return stanza_command_error(iq, "modify", "bad-request", "bad-payload", err);
	shown = step_form(s);
	form_keep(shown, in);
	form_free(in);
	/* what changed here makes what later steps kept stale */
	if (s->kept[s->step] == NULL || !form_same(s->kept[s->step], shown))
		for (j = s->step + 1; j < ADHOC_MAX_STEPS; j++) {
			form_free(s->kept[j]);
			s->kept[j] = NULL;
		}
	form_free(s->kept[s->step]);
	s->kept[s->step] = shown;
	memset(&res, 0, sizeof(res));
	if (form_check(shown, err, sizeof(err)) == -1 ||
	    s->cmd->steps[s->step].submit(s, shown, &res, err, sizeof(err)) == -1) {
		form_free(res.form);
		return present(iq, s, NOTE_ERROR, err);
	}
	if (completing)
		return finish(iq, s, &res);
	form_free(res.form);
	s->step++;
	return present(iq, s, NOTE_NONE, NULL);
}

/* 1 when this JID holds [admin] max_sessions_per_jid sessions already. */
static int
too_many_of(const char *from)
{
	char *bare = jid_bare(from), *key = xasprintf("a\n%s", bare);
	int n = limits_count(key);

	free(key);
	free(bare);
	return n >= conf->max_sessions_per_jid;
}

static xmpp_stanza_t *
too_many_error(xmpp_stanza_t *iq)
{
	char *text =
	    xasprintf("you have %d commands open already, the most one account may "
	              "have at once; complete or cancel one (unfinished ones end after %d s)",
	        conf->max_sessions_per_jid, conf->command_timeout);
	xmpp_stanza_t *r = stanza_error(iq, "wait", "resource-constraint", text);

	free(text);
	return r;
}

static const char *const actions[] = { "execute", "next", "prev", "complete", "cancel" };

/* A form of type cancel says the person gave up (XEP-0004): whatever the action, never apply. */
static int
form_cancels(xmpp_stanza_t *cmdel)
{
	xmpp_stanza_t *x = xmpp_stanza_get_child_by_ns(cmdel, NS_DATA);
	const char *type = x ? xmpp_stanza_get_type(x) : NULL;

	return type != NULL && strcmp(type, "cancel") == 0;
}

static xmpp_stanza_t *
bad_action(xmpp_stanza_t *iq, const char *action)
{
	char *text = xasprintf("unknown action \"%.*s%s\": execute, next, prev, complete or cancel",
	    (int)utf8_prefix(action, 40), action, strlen(action) > 40 ? "..." : "");
	xmpp_stanza_t *r =
	    stanza_command_error(iq, "modify", "bad-request", "malformed-action", text);

	free(text);
	return r;
}

xmpp_stanza_t *
adhoc_command(xmpp_stanza_t *iq, xmpp_stanza_t *cmdel)
{
	const char *node = xmpp_stanza_get_attribute(cmdel, "node");
	const char *sid = xmpp_stanza_get_attribute(cmdel, "sessionid");
	const char *action = xmpp_stanza_get_attribute(cmdel, "action");
	const char *from = xmpp_stanza_get_from(iq);
	const struct command *cmd;
	struct adhoc_session *s;
	char *bare, *key;
	unsigned roles;
	size_t i;

	if (node == NULL)
		return stanza_error(iq, "modify", "bad-request", "a command needs a node");
	if (action == NULL)
		action = "execute";
	for (i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (strcmp(actions[i], action) == 0)
			break;
	if (i == sizeof(actions) / sizeof(actions[0]))
		return bad_action(iq, action);
	if ((cmd = command_find(node)) == NULL)
		return stanza_error(iq, "cancel", "item-not-found", "no such command");
	bare = jid_bare(from);
	roles = adhoc_roles(bare);
	free(bare);
	if ((cmd->roles & roles) == 0)
		return stanza_error(iq, "auth", "forbidden", "you may not run this command");

	if (sid == NULL) {
		if (strcmp(action, "execute") != 0)
			return stanza_command_error(iq, "modify", "bad-request", "bad-sessionid",
			    "no session: execute the command first");
		if (map_count(sessions) >=
		    MAX_SESSIONS - ((roles & ROLE_ADMIN) ? 0 : ADMIN_RESERVE))
			return stanza_error(iq, "wait", "resource-constraint",
			    "too many commands are running; try again in a while");
		if (too_many_of(from))
			return too_many_error(iq);
		s = session_new(cmd, from);
		if (cmd->steps[0].form == NULL)
			return run_now(iq, s);
		return present(iq, s, NOTE_NONE, NULL);
	}
	/* only the full JID that started the session finds it */
	key = xasprintf("%s\n%s", sid, from);
	s = map_get(sessions, key);
	free(key);
	if (s == NULL || s->cmd != cmd)
		return stanza_command_error(iq, "modify", "bad-request", "bad-sessionid",
		    "no such session (it may have expired)");
	if (strcmp(action, "cancel") == 0 || form_cancels(cmdel))
		return reply(iq, s, "canceled", NULL, NOTE_NONE, NULL);
	if (s->table)
		return turn_page(iq, s, cmdel, action);
	if (strcmp(action, "prev") == 0) {
		if (s->step == 0)
			return stanza_command_error(iq, "modify", "bad-request", "bad-action",
			    "this is the first step");
		s->step--;
		return present(iq, s, NOTE_NONE, NULL);
	}
	return advance(iq, s, cmdel, strcmp(action, "complete") == 0);
}
