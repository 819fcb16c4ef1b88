/*
 * Conversations: open on a customer's first message, relay both ways, agents' slash commands,
 * close with the CRM record. State changes only through conv_enter_state().
 *
 * Addresses: the customer writes to QUEUE@component and hears back from it; the agent sees
 * each chat as its own contact c-ID@component, so any plain client works.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "respa.h"

static struct config *conf;
static struct map *by_node; /* "c-42" -> conv */
static struct map *by_key;  /* "queue\nbare customer JID" -> the open conv */

static const char *const state_names[] = {
	[CONV_QUEUED] = "queued", [CONV_ACTIVE] = "active", [CONV_CLOSED] = "closed",
};

void
conversation_init(struct config *c)
{
	conf = c;
	by_node = map_new();
	by_key = map_new();
}

/* The open conversation at c-<id>, or NULL. */
struct conv *
conversation_find(const char *node)
{
	return map_get(by_node, node);
}

size_t
conversation_count(void)
{
	return map_count(by_node);
}

static void
conv_enter_state(struct conv *c, enum conv_state to)
{
	log_debug("conversation %" PRId64 ": %s -> %s", c->id, state_names[c->state],
	    state_names[to]);
	c->state = to;
}

static struct conv *
conv_new(int64_t id, struct queue *q, const char *customer, int64_t contact, time_t created_at)
{
	struct conv *c = xcalloc(1, sizeof(*c));
	char *bare = jid_bare(customer);

	c->id = id;
	snprintf(c->node, sizeof(c->node), "c-%" PRId64, id);
	c->addr = xasprintf("%s@%s", c->node, conf->jid);
	c->customer = xstrdup(customer);
	c->key = xasprintf("%s\n%s", q->name, bare);
	c->queue = q;
	c->contact_id = contact;
	c->channel = crm_channel(customer);
	c->created_at = created_at;
	c->state = CONV_QUEUED;
	map_put(by_node, c->node, c);
	map_put(by_key, c->key, c);
	free(bare);
	return c;
}

static void
conv_free(struct conv *c)
{
	map_del(by_node, c->node);
	map_del(by_key, c->key);
	free(c->addr);
	free(c->customer);
	free(c->key);
	free(c);
}

static void
free_one(const char *key, void *value, void *arg)
{
	struct conv ***pp = arg;

	(void)key;
	*(*pp)++ = value;
}

/* Memory went ahead of a batch the database refused: rebuild it from what was stored. */
void
conversation_reload(void)
{
	struct agent *a;

	conversation_free_all();
	by_node = map_new();
	by_key = map_new();
	router_reset();
	if (conversation_restore() == -1)
		log_warnx("conversations could not be reloaded from the database");
	for (a = conf->agents; a; a = a->next)
		router_agent_changed(a);
}

void
conversation_free_all(void)
{
	size_t i, n = map_count(by_node);
	struct conv **all = xcalloc(n, sizeof(*all)), **p = all;

	map_foreach(by_node, free_one, &p);
	for (i = 0; i < n; i++)
		conv_free(all[i]);
	free(all);
	map_free(by_node);
	map_free(by_key);
}

static void
tell_customer(const struct conv *c, const char *text)
{
	component_send(stanza_message(c->queue->jid, c->customer, text));
}

static void
tell_agent(const struct conv *c, const char *text)
{
	component_send(stanza_message(c->addr, c->agent->jid, text));
}

static void
tell_agentf(const struct conv *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
tell_agentf(const struct conv *c, const char *fmt, ...)
{
	va_list ap;
	char *text;

	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) == -1)
		fatal("vasprintf");
	va_end(ap);
	tell_agent(c, text);
	free(text);
}

/* Replays the transcript to a newly assigned agent, each line at its original time. */
static int
replay_message(const struct stored_message *m, void *arg)
{
	const struct conv *c = arg;
	char *text;

	if (strcmp(m->direction, "in") == 0)
		text = xstrdup(m->body);
	else
		text = xasprintf("[%s %s] %s", strcmp(m->direction, "note") == 0 ? "note by" :
		    "answer by", m->sender_jid, m->body);
	component_send(stanza_message_delayed(c->addr, c->agent->jid, text, m->created_at));
	free(text);
	return 0;
}

void
conversation_assign(struct conv *c, struct agent *a)
{
	char *bare = jid_bare(c->customer);
	time_t now = respa_now();

	c->agent = a;
	a->chats++;
	conv_enter_state(c, CONV_ACTIVE);
	if (c->assigned_at == 0)
		c->assigned_at = now;
	if (store_conv_assign(c->id, a->jid, now) == -1)
		log_warnx("conversation %" PRId64 ": assignment to %s not stored", c->id, a->jid);
	log_info("conversation %" PRId64 " in %s assigned to %s", c->id, c->queue->name, a->jid);
	tell_agentf(c, "New chat #%" PRId64 " from %s in %s (%s). Write here to answer; "
	    "/help lists the commands.", c->id, bare, c->queue->title, c->channel);
	(void)store_messages_foreach(c->id, replay_message, c);
	tell_customer(c, c->queue->assigned_text);
	free(bare);
}

/* Opens a conversation for a customer's first message; NULL when it cannot be stored. */
static struct conv *
conversation_open(struct queue *q, const char *from, time_t now)
{
	char *bare = jid_bare(from);
	const char *channel = crm_channel(from);
	int64_t contact, id = -1;

	if ((contact = store_contact_for_jid(bare, now)) != -1)
		id = store_conv_add(q->name, from, contact, channel, now);
	free(bare);
	if (id == -1)
		return NULL;
	log_info("conversation %" PRId64 " opened in %s", id, q->name);
	return conv_new(id, q, from, contact, now);
}

/* Writes the CRM record, tells both sides, frees the agent's slot. */
static int
conversation_close(struct conv *c, const char *reason, const char *summary, int resolved)
{
	struct agent *a = c->agent;
	struct summary_facts f;
	char generated[1024], *tags = store_tags(c->id), *first = NULL, *bare;
	time_t now = respa_now();
	int rc;

	if (summary == NULL || *summary == '\0') {
		bare = jid_bare(c->customer);
		first = store_first_message(c->id);
		memset(&f, 0, sizeof(f));
		f.customer = bare;
		f.channel = c->channel;
		f.queue = c->queue->title;
		f.first_message = first;
		f.agent = a ? a->jid : NULL;
		f.reason = strcmp(reason, "agent") == 0 ? NULL : reason;
		f.tags = tags;
		f.created_at = c->created_at;
		f.closed_at = now;
		f.resolved = resolved;
		crm_summary(&f, generated, sizeof(generated));
		summary = generated;
		free(bare);
	}
	rc = store_conv_close(c->id, reason, a ? a->jid : NULL, summary, tags, resolved, now);
	free(tags);
	free(first);
	if (rc == -1)
		return -1;
	tell_customer(c, c->queue->closed_text);
	if (a)
		tell_agentf(c, "Chat #%" PRId64 " closed. Summary: %s", c->id, summary);
	log_info("conversation %" PRId64 " closed (%s)", c->id, reason);
	if (c->state == CONV_QUEUED)
		router_dequeue(c);
	conv_enter_state(c, CONV_CLOSED);
	conv_free(c);
	if (a) {
		a->chats--;
		router_agent_changed(a);
	}
	return 0;
}

/* Agents' commands, written in the conversation; never relayed to the customer. */
struct agent_cmd {
	const char *name, *usage, *help;
	void (*fn)(struct conv *, const char *args);
};
static const struct agent_cmd agent_cmds[];

static void
cmd_help(struct conv *c, const char *args)
{
	const struct agent_cmd *cmd;
	size_t len = 0;
	char buf[2048];

	(void)args;
	len += (size_t)snprintf(buf, sizeof(buf), "Commands in this chat (start a message with "
	    "// to send a text that begins with /):");
	for (cmd = agent_cmds; cmd->name && len < sizeof(buf); cmd++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "\n%s: %s", cmd->usage,
		    cmd->help);
	tell_agent(c, buf);
}

static void
cmd_close(struct conv *c, const char *args)
{
	if (conversation_close(c, "agent", args, 1) == -1)
		tell_agent(c, "The chat could not be closed: the database failed. Try again.");
}

static void
cmd_task(struct conv *c, const char *args)
{
	char err[128], when[64];
	const char *title;
	time_t due, now = respa_now();
	struct tm tm;
	int64_t id;

	if (due_parse(args, now, c->queue->timezone, &due, &title, err, sizeof(err)) == -1) {
		tell_agentf(c, "%s. Usage: /task [due] text", err);
		return;
	}
	if (*title == '\0') {
		tell_agent(c, "Usage: /task [due] text, where due is +2h, +1d, tomorrow 10:00 "
		    "or 2026-12-01 14:30");
		return;
	}
	if (due == 0) /* no due time: tomorrow morning */
		(void)due_parse("tomorrow", now, c->queue->timezone, &due, &args, err, sizeof(err));
	id = store_task_add(c->id, c->contact_id, c->agent->jid, "follow-up", title, due, now);
	if (id == -1) {
		tell_agent(c, "The task could not be saved: the database failed. Try again.");
		return;
	}
	tz_localtime(c->queue->timezone, due, &tm);
	strftime(when, sizeof(when), "%a %Y-%m-%d %H:%M", &tm);
	tell_agentf(c, "Task %" PRId64 " added for you, due %s (%s): %s", id, when,
	    c->queue->timezone, title);
}

static void
cmd_tag(struct conv *c, const char *args)
{
	char *copy = xstrdup(args), *w, *save = NULL;
	int n = 0;

	for (w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		str_trim(w);
		if (*w && store_tag_add(c->id, w) == 0)
			n++;
	}
	free(copy);
	if (n == 0)
		tell_agent(c, "Usage: /tag reason[, reason...]");
	else
		tell_agentf(c, "Tagged: %s", args);
}

static void
cmd_note(struct conv *c, const char *args)
{
	if (*args == '\0')
		tell_agent(c, "Usage: /note text");
	else if (store_message_add(c->id, "note", c->agent->jid, args, respa_now()) == -1)
		tell_agent(c, "The note could not be saved: the database failed. Try again.");
	else
		tell_agent(c, "Note saved; the customer does not see it.");
}

static const struct agent_cmd agent_cmds[] = {
	{ "close", "/close [summary]", "end the chat; the customer is told", cmd_close },
	{ "task", "/task [due] text", "a follow-up task for you; due as +2h, +1d, "
	    "tomorrow 10:00 or 2026-12-01 14:30 (default: tomorrow 09:00)", cmd_task },
	{ "tag", "/tag reason", "record the contact reason", cmd_tag },
	{ "note", "/note text", "a private note in the transcript", cmd_note },
	{ "help", "/help", "this list", cmd_help },
	{ NULL, NULL, NULL, NULL },
};

static void
agent_command(struct conv *c, const struct slash *s)
{
	const struct agent_cmd *cmd;

	for (cmd = agent_cmds; cmd->name; cmd++)
		if (strcmp(cmd->name, s->name) == 0) {
			cmd->fn(c, s->args);
			return;
		}
	tell_agentf(c, "Unknown command /%s.", s->name);
	cmd_help(c, "");
}

/* The text of a message, or NULL when there is none to act on (an error was sent if needed). */
static char *
message_text(xmpp_stanza_t *st)
{
	char *body, *limit;

	if (stanza_body_len(st) > conf->max_body) {
		limit = xasprintf("Your message is too long: at most %zu bytes are accepted. "
		    "Please split it.", conf->max_body);
		component_send(stanza_error(st, "modify", "policy-violation", limit));
		free(limit);
		return NULL;
	}
	body = stanza_body(st);
	if (body && *body == '\0') {
		free(body);
		body = NULL;
	}
	return body; /* NULL: chat states and receipts, relayed once the relay knows them */
}

static void
agent_message(struct conv *c, xmpp_stanza_t *st, const char *from)
{
	char *bare = jid_bare(from), *body = NULL;
	struct slash s;
	time_t now;

	if (c->agent == NULL || strcmp(bare, c->agent->jid) != 0) {
		component_send(stanza_error(st, "auth", "forbidden",
		    "Only the agent assigned to this conversation may write here."));
		goto done;
	}
	if ((body = message_text(st)) == NULL)
		goto done;
	if (slash_parse(body, &s)) {
		agent_command(c, &s); /* may free c */
		goto done;
	}
	now = respa_now();
	if (store_message_add(c->id, "out", bare, body[0] == '/' ? body + 1 : body, now) == -1) {
		component_send(stanza_error(st, "wait", "internal-server-error",
		    "Your message could not be stored, so it was not sent. Please send it again."));
		goto done;
	}
	if (c->first_response_at == 0) {
		c->first_response_at = now;
		(void)store_conv_first_response(c->id, now);
	}
	component_send(stanza_message(c->queue->jid, c->customer, body[0] == '/' ? body + 1 :
	    body));
done:
	free(body);
	free(bare);
}

static void
customer_message(struct queue *q, xmpp_stanza_t *st, const char *from)
{
	char *bare = jid_bare(from), *key = NULL, *body = NULL, *pos;
	struct conv *c;
	time_t now = respa_now();
	int opened = 0;

	if (presence_agent(bare)) {
		component_send(stanza_error(st, "cancel", "not-acceptable",
		    "You are an agent of this desk; queues are for customers."));
		goto done;
	}
	if ((body = message_text(st)) == NULL)
		goto done;
	key = xasprintf("%s\n%s", q->name, bare);
	if ((c = map_get(by_key, key)) == NULL) {
		if ((c = conversation_open(q, from, now)) == NULL)
			goto fail;
		opened = 1;
	} else if (strcmp(c->customer, from) != 0) {
		/* replies follow the customer to the resource they last wrote from */
		free(c->customer);
		c->customer = xstrdup(from);
		(void)store_conv_customer(c->id, from);
	}
	if (store_message_add(c->id, "in", from, body, now) == -1)
		goto fail;
	if (c->state == CONV_ACTIVE)
		component_send(stanza_message(c->addr, c->agent->jid, body));
	if (opened) {
		tell_customer(c, q->greeting);
		router_enqueue(c);
		if (c->state == CONV_QUEUED) {
			/* just enqueued, so last in line: no walk along the line */
			pos = xasprintf("%s You are number %zu in line.", q->queued_text,
			    q->nwaiting);
			tell_customer(c, pos);
			free(pos);
		}
	}
	goto done;
fail:
	component_send(stanza_error(st, "wait", "internal-server-error",
	    "Your message could not be stored. Please send it again in a moment."));
done:
	free(body);
	free(key);
	free(bare);
}

/* Someone wrote to the component's own address. */
static void
domain_message(xmpp_stanza_t *st, const char *from)
{
	char *bare = jid_bare(from), *text, *body;
	struct queue *q = router_queues();

	if ((body = message_text(st)) == NULL) {
		free(bare);
		return;
	}
	if (presence_agent(bare))
		text = xstrdup("This is respa. Each chat you are given comes from its own "
		    "address (c-NUMBER@...); write /help there for the commands.");
	else if (q)
		text = xasprintf("This is a customer service desk. To reach %s, write to %s.",
		    q->title, q->jid);
	else
		text = xstrdup("This customer service desk has no queue open.");
	component_send(stanza_message(conf->jid, from, text));
	free(text);
	free(body);
	free(bare);
}

int
conversation_handler(xmpp_conn_t *conn, xmpp_stanza_t *st, void *arg)
{
	const char *from = xmpp_stanza_get_from(st), *to = xmpp_stanza_get_to(st);
	const char *type = xmpp_stanza_get_type(st);
	char node[256], domain[256];
	struct queue *q;
	struct conv *c;

	(void)conn, (void)arg;
	if (from == NULL || to == NULL)
		return 1;
	if (type && strcmp(type, "error") == 0) {
		log_debug("message error from %s to %s", from, to); /* never answer an error */
		return 1;
	}
	if (type && (strcmp(type, "groupchat") == 0 || strcmp(type, "headline") == 0))
		return 1; /* not a conversation; answering could loop with a room */
	if (jid_split(to, node, sizeof(node), domain, sizeof(domain)) == -1)
		return 1;
	if (node[0] == '\0')
		domain_message(st, from);
	else if ((q = router_queue(node)) != NULL)
		customer_message(q, st, from);
	else if ((c = conversation_find(node)) != NULL)
		agent_message(c, st, from);
	else
		component_send(stanza_error(st, "cancel", "item-not-found",
		    "There is no queue or open conversation at this address."));
	return 1;
}

/* Rebuilds memory from the database at start: queued chats wait again, active ones resume. */
static int
restore_one(const struct stored_conv *s, void *arg)
{
	struct queue *q = router_queue(s->queue);
	struct agent *a = s->agent_jid ? presence_agent(s->agent_jid) : NULL;
	struct conv *c;

	(void)arg;
	if (q == NULL) {
		log_warnx("conversation %" PRId64 " is in queue %s, which is no longer configured; "
		    "left as it is", s->id, s->queue);
		return 0;
	}
	c = conv_new(s->id, q, s->customer_jid, s->contact_id, s->created_at);
	c->assigned_at = s->assigned_at;
	c->first_response_at = s->first_response_at;
	if (a && strcmp(s->state, "active") == 0) {
		c->agent = a;
		a->chats++;
		conv_enter_state(c, CONV_ACTIVE);
	} else
		router_enqueue(c);
	return 0;
}

int
conversation_restore(void)
{
	if (store_conv_open_foreach(restore_one, NULL) == -1)
		return -1;
	if (conversation_count())
		log_info("resumed %zu open conversations", conversation_count());
	return 0;
}
