/*
 * Conversations: open on a customer's first message, offers to agents, relay both ways,
 * agents' slash commands, the customer-side timers (no answer, inactivity, customer gone),
 * out-of-hours capture, and the close with the CRM record. State changes only through
 * conv_enter_state().
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
static struct map *by_key;  /* conv_key() -> the open conv */
static struct map *by_jid;  /* "entry queue\nfull JID replies go to" -> the open conv */

static const char *const state_names[] = {
	[CONV_QUEUED] = "queued",
	[CONV_OFFERED] = "offered",
	[CONV_ACTIVE] = "active",
	[CONV_OFFLINE] = "offline",
	[CONV_CLOSED] = "closed",
};

static void max_wait_timer(void *);
static void idle_timer(void *);
static void customer_grace_timer(void *);

void
conversation_init(struct config *c)
{
	conf = c;
	by_node = map_new();
	by_key = map_new();
	by_jid = map_new();
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

/*
 * What finds a customer's open conversation in a queue: the web widget's session token (a
 * reload brings a new anonymous JID), else the bare JID. New string, must be free()d.
 */
static char *
conv_key(const struct queue *entry, const char *customer, const char *session)
{
	/* by hand, one allocation: it runs for every customer message */
	size_t n = strlen(entry->name), t = session ? strlen(session) : strcspn(customer, "/");
	char *key = xmalloc(n + t + 3), *p = key;

	memcpy(p, entry->name, n);
	p += n;
	*p++ = '\n';
	if (session)
		*p++ = '~';
	memcpy(p, session ? session : customer, t);
	p[t] = '\0';
	return key;
}

/* Counts the conversation under a key of limits.c until it is freed. */
static void
conv_hold(struct conv *c, char kind, const char *value)
{
	int i;

	for (i = 0; i < CONV_HOLDS && c->held[i]; i++)
		;
	if (i == CONV_HOLDS)
		return;
	c->held[i] = xasprintf("%c\n%s", kind, value);
	limits_hold(c->held[i]);
}

static struct conv *
conv_new(int64_t id, struct queue *entry, struct queue *q, const char *customer,
    const char *session, const char *channel, int64_t contact, time_t created_at)
{
	struct conv *c = xcalloc(1, sizeof(*c));
	char *bare = jid_bare(customer);

	conv_hold(c, 'j', bare); /* per customer and per source: limits.c */
	free(bare);
	if (session)
		conv_hold(c, 's', session);
	c->id = id;
	snprintf(c->node, sizeof(c->node), "c-%" PRId64, id);
	c->addr = xasprintf("%s@%s", c->node, conf->jid);
	c->customer = xstrdup(customer);
	c->key = conv_key(entry, customer, session);
	c->entry = entry;
	c->queue = q;
	c->contact_id = contact;
	c->channel = xstrdup(channel);
	c->created_at = c->last_activity = created_at;
	c->state = CONV_QUEUED;
	c->ids = relay_ids_new();
	timer_init(&c->max_wait_timer, max_wait_timer, c);
	timer_init(&c->idle_timer, idle_timer, c);
	timer_init(&c->grace_timer, customer_grace_timer, c);
	map_put(by_node, c->node, c);
	map_put(by_key, c->key, c);
	c->jid_key = xasprintf("%s\n%s", entry->name, c->customer);
	map_put(by_jid, c->jid_key, c);
	return c;
}

static void offer_remove(struct offer *);

static void
conv_free(struct conv *c)
{
	int i;

	for (i = 0; i < CONV_HOLDS && c->held[i]; i++) {
		limits_release(c->held[i]);
		free(c->held[i]);
	}
	while (c->offers)
		offer_remove(c->offers);
	timer_cancel(&c->max_wait_timer);
	timer_cancel(&c->idle_timer);
	timer_cancel(&c->grace_timer);
	map_del(by_node, c->node);
	map_del(by_key, c->key);
	if (map_get(by_jid, c->jid_key) == c)
		map_del(by_jid, c->jid_key);
	free(c->jid_key);
	free(c->addr);
	free(c->customer);
	free(c->key);
	free(c->channel);
	free(c->matches);
	relay_ids_free(c->ids);
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
	by_jid = map_new();
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
	map_free(by_jid);
}

/* --- telling people ------------------------------------------------------------------- */

void
conv_tell_customer(const struct conv *c, const char *text)
{
	component_send(stanza_message(c->entry->jid, c->customer, text));
}

static void
tell_customerf(const struct conv *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
tell_customerf(const struct conv *c, const char *fmt, ...)
{
	va_list ap;
	char *text;

	va_start(ap, fmt);
	text = xvasprintf(fmt, ap);
	va_end(ap);
	conv_tell_customer(c, text);
	free(text);
}

/* Speaks to an agent from the conversation's own address. */
void
conv_tell(const struct conv *c, const struct agent *a, const char *text)
{
	component_send(stanza_message(c->addr, a->jid, text));
}

void
conv_tellf(const struct conv *c, const struct agent *a, const char *fmt, ...)
{
	va_list ap;
	char *text;

	va_start(ap, fmt);
	text = xvasprintf(fmt, ap);
	va_end(ap);
	conv_tell(c, a, text);
	free(text);
}

struct replay {
	const struct conv *conv;
	const struct agent *agent;
};

/* Replays the transcript to an agent, each line at its original time. */
static int
replay_message(const struct stored_message *m, void *arg)
{
	const struct replay *r = arg;
	char *text;

	if (strcmp(m->direction, "in") == 0)
		text = xstrdup(m->body);
	else
		text = xasprintf("[%s %s] %s",
		    strcmp(m->direction, "note") == 0 ? "note by" : "answer by", m->sender_jid,
		    m->body);
	component_send(stanza_message_delayed(r->conv->addr, r->agent->jid, text, m->created_at));
	free(text);
	return 0;
}

/* What an agent sees first of a chat: a header with the contact card, the transcript. */
static void
introduce(const struct conv *c, const struct agent *a, const char *lead, const char *tail)
{
	struct replay r = { c, a };
	struct contact_card k;
	char *bare = jid_bare(c->customer), card[1024] = "";

	if ((c->fresh ? store_contact_fields(c->contact_id, &k)
	              : store_contact_card(c->contact_id, c->id, &k)) == 0)
		crm_card_text(&k, c->channel, card, sizeof(card));
	conv_tellf(c, a, "%s #%" PRId64 " from %s in %s (%s). %s%s%s", lead, c->id, bare,
	    c->queue->title, c->channel, tail, *card ? "\n" : "", card);
	(void)store_messages_foreach(c->id, replay_message, &r);
	if (c->matches)
		conv_tell(c, a, c->matches);
	free(bare);
}

/* --- agents taking and leaving chats ------------------------------------------------- */

static void
take(struct conv *c, struct agent *a)
{
	time_t now = respa_now();

	c->agent = a;
	a->chats++;
	TAILQ_INSERT_TAIL(&a->convs, c, agent_link);
	router_agent_busy(a);
	conv_enter_state(c, CONV_ACTIVE);
	if (c->assigned_at == 0)
		c->assigned_at = now;
	(void)store_conv_assign(c->id, a->jid, now);
	log_info("conversation %" PRId64 " in %s assigned to %s", c->id, c->queue->name, a->jid);
}

/* The agent lets go of the chat; the caller says where it goes next. */
static struct agent *
release(struct conv *c)
{
	struct agent *a = c->agent;

	if (a == NULL)
		return NULL;
	TAILQ_REMOVE(&a->convs, c, agent_link);
	a->chats--;
	router_agent_busy(a);
	c->agent = NULL;
	return a;
}

void
conversation_assign(struct conv *c, struct agent *a)
{
	take(c, a);
	introduce(c, a, "New chat", "Write here to answer; /help lists the commands.");
	conv_tell_customer(c, c->queue->assigned_text);
}

/* Back to the front of its queue's line, for the next free agent. */
static void
requeue(struct conv *c)
{
	conv_enter_state(c, CONV_QUEUED);
	c->requeued = 1;
	(void)store_conv_requeue(c->id, c->queue->name);
	router_enqueue(c);
}

/* --- offers --------------------------------------------------------------------------- */

static void
offer_remove(struct offer *o)
{
	struct offer **pp;

	for (pp = &o->conv->offers; *pp != o; pp = &(*pp)->next_of_conv)
		;
	*pp = o->next_of_conv;
	for (pp = &o->agent->offer_list; *pp != o; pp = &(*pp)->next_of_agent)
		;
	*pp = o->next_of_agent;
	o->agent->offers--;
	timer_cancel(&o->timer);
	free(o);
}

static struct offer *
offer_find(const struct conv *c, const struct agent *a)
{
	struct offer *o;

	for (o = c->offers; o; o = o->next_of_conv)
		if (o->agent == a)
			return o;
	return NULL;
}

/* The offer ended without the agent taking the chat: the chat moves on. */
static void
offer_failed(struct offer *o, int missed)
{
	struct conv *c = o->conv;
	struct agent *a = o->agent;

	offer_remove(o);
	router_exclude(c, a, conf->reject_delay);
	if (missed) {
		a->missed++;
		conv_tellf(c, a,
		    "You did not answer chat #%" PRId64 " within %d s, so it goes to "
		    "another agent.",
		    c->id, c->queue->offer_timeout);
		(void)store_missed_offer_add(c->id, a->jid, respa_now());
		log_info("conversation %" PRId64 ": offer to %s not answered (%d in a row)", c->id,
		    a->jid, a->missed);
	} else {
		a->missed = 0;
		conv_tellf(c, a, "You turned down chat #%" PRId64 "; it goes to another agent.",
		    c->id);
		log_info("conversation %" PRId64 ": %s turned the offer down", c->id, a->jid);
	}
	if (c->offers == NULL)
		requeue(c);
	if (missed && conf->max_no_answer && a->missed >= conf->max_no_answer && !a->paused) {
		component_send(stanza_message(conf->jid, a->jid,
		    "You are paused because you did "
		    "not answer the last offers. Write /ready here when you are back to get chats "
		    "again."));
		agent_pause(a, "offers not answered");
	} else
		router_agent_changed(a);
}

static void
offer_timer(void *arg)
{
	offer_failed(arg, 1);
}

void
conversation_offer(struct conv *c, struct agent *a)
{
	struct offer *o = xcalloc(1, sizeof(*o));

	o->conv = c;
	o->agent = a;
	o->next_of_conv = c->offers;
	c->offers = o;
	o->next_of_agent = a->offer_list;
	a->offer_list = o;
	a->offers++;
	timer_init(&o->timer, offer_timer, o);
	timer_in(&o->timer, c->queue->offer_timeout);
	conv_enter_state(c, CONV_OFFERED);
	log_info("conversation %" PRId64 " in %s offered to %s", c->id, c->queue->name, a->jid);
	introduce(c, a, "Offer: chat", "Answer here to take it, or write /accept or /reject.");
}

/* The agent took an offered chat; the others who had it are told. */
static void
accept(struct conv *c, struct agent *a)
{
	struct offer *o;
	struct agent *other;

	a->missed = 0;
	take(c, a); /* first, so that its slot is never free in between */
	while ((o = c->offers) != NULL) {
		other = o->agent;
		offer_remove(o);
		if (other != a) {
			conv_tellf(c, other, "Chat #%" PRId64 " was taken by another agent.",
			    c->id);
			router_agent_changed(other);
		}
	}
	conv_tellf(c, a, "Chat #%" PRId64 " is yours.", c->id);
	conv_tell_customer(c, c->queue->assigned_text);
	router_agent_changed(a);
}

/* The agent went offline: its offers go to others at once, without counting as missed. */
void
conversation_withdraw_offers(struct agent *a)
{
	struct conv *c;

	while (a->offer_list) {
		c = a->offer_list->conv;
		offer_remove(a->offer_list);
		if (c->offers == NULL)
			requeue(c);
	}
}

/* The agent stayed offline past its grace: each of its chats goes to the next agent. */
void
conversation_agent_gone(struct agent *a)
{
	struct conv *c;

	while ((c = TAILQ_FIRST(&a->convs)) != NULL) {
		release(c);
		conv_tell_customer(c,
		    "Your agent was disconnected. You keep your place at the "
		    "front of the line, and the next free agent takes over the chat.");
		log_info("conversation %" PRId64 ": %s is gone; back to %s", c->id, a->jid,
		    c->queue->name);
		requeue(c);
	}
	router_agent_changed(a);
}

/* --- closing -------------------------------------------------------------------------- */

/*
 * The summary respa writes when the agent gives none: at most two sentences from the facts
 * (who, channel, queue, what they first asked, how long, the outcome and tags).
 */
void
conversation_summary(const struct conv *c, const char *reason, int resolved, char *buf, size_t len)
{
	struct summary_facts f;
	struct contact_card k;
	char *tags = store_tags(c->id), *first = store_first_message(c->id);
	char *bare = jid_bare(c->customer), *who = NULL;

	if (store_contact_fields(c->contact_id, &k) == 0 && *k.name)
		who = xasprintf("%s (%s)", k.name, bare);
	memset(&f, 0, sizeof(f));
	f.customer = who ? who : bare;
	f.channel = c->channel;
	f.queue = c->queue->title;
	f.first_message = first;
	f.agent = c->agent ? c->agent->jid : NULL;
	f.reason = reason == NULL || strcmp(reason, "agent") == 0 ? NULL : reason;
	f.tags = tags;
	f.created_at = c->created_at;
	f.closed_at = respa_now();
	f.resolved = resolved;
	crm_summary(&f, buf, len);
	free(who);
	free(bare);
	free(first);
	free(tags);
}

/* An unresolved chat leaves a follow-up for its agent, unless they made a task already. */
static void
unresolved_followup(struct conv *c, const char *summary, time_t now)
{
	char err[64];
	const char *rest;
	time_t due;
	int64_t id;

	if (c->agent == NULL || store_conv_agent_tasks(c->id) != 0)
		return;
	(void)due_parse("tomorrow", now, c->queue->timezone, &due, &rest, err, sizeof(err));
	id = store_task_add(c->id, c->contact_id, c->agent->jid, "follow-up",
	    "Follow up: the chat ended unresolved", due, now);
	if (id != -1) {
		(void)store_task_describe(id, summary, NULL);
		tasks_schedule(due);
	}
}

/* Writes the CRM record, tells both sides, frees the agent's slot. */
int
conversation_close(struct conv *c, const char *reason, const char *summary, int resolved)
{
	struct agent *a = c->agent;
	struct offer *o;
	char generated[1024], *tags;
	time_t now = respa_now();
	int rc;

	if (summary == NULL || *summary == '\0') {
		conversation_summary(c, reason, resolved, generated, sizeof(generated));
		summary = generated;
	}
	tags = store_tags(c->id);
	rc = store_conv_close(c->id, reason, a ? a->jid : NULL, summary, tags, resolved, now);
	free(tags);
	if (rc == -1)
		return -1;
	hook_queue(c->id); /* the record goes to the [crm] hook once this batch is committed */
	if (!resolved)
		unresolved_followup(c, summary, now);
	if (a) /* before its slot frees: no chat may slip in during wrap-up */
		agent_wrap_up(a, c->queue->wrap_up);
	if (c->state != CONV_OFFLINE && strcmp(reason, "customer-left") != 0 &&
	    strcmp(reason, "queue-full") != 0) /* told max_queue_text instead */
		conv_tell_customer(c, c->queue->closed_text);
	if (a)
		conv_tellf(c, a, "Chat #%" PRId64 " closed. Summary: %s", c->id, summary);
	for (o = c->offers; o; o = o->next_of_conv)
		conv_tellf(c, o->agent, "Chat #%" PRId64 " was closed before anyone took it.",
		    c->id);
	log_info("conversation %" PRId64 " closed (%s)", c->id, reason);
	if (c->state == CONV_QUEUED)
		router_dequeue(c);
	else if (c->state == CONV_OFFLINE)
		TAILQ_REMOVE(&c->queue->offline, c, wait_link);
	release(c);
	conv_enter_state(c, CONV_CLOSED);
	while (c->offers) {
		struct agent *other = c->offers->agent;

		offer_remove(c->offers);
		router_agent_changed(other);
	}
	queue_changed(c->queue);
	conv_free(c);
	if (a)
		router_agent_changed(a);
	return 0;
}

/* The queue opened: its out-of-hours conversations end; their tasks stay. */
int
conversation_close_offline(struct queue *q)
{
	struct conv *c;
	int n = 0;

	while ((c = TAILQ_FIRST(&q->offline)) != NULL) {
		if (conversation_close(c, "offline", NULL, 0) == -1) {
			TAILQ_REMOVE(&q->offline, c, wait_link); /* the reload puts it back */
			continue;
		}
		n++;
	}
	return n;
}

/* --- the customer's side: no answer, inactivity, gone --------------------------------- */

/* A follow-up task for the queue, once per conversation, so that nobody is lost. */
static void
followup(struct conv *c, const char *kind, const char *why)
{
	char *bare, *title;

	if (c->followup)
		return;
	if (store_task_open_for(c->contact_id, c->queue->jid, kind) > 0) {
		c->followup = 1; /* the contact's open task of this kind covers this chat too */
		log_info("conversation %" PRId64 ": contact %" PRId64 " has an open %s task in %s "
		         "already; no second one",
		    c->id, c->contact_id, kind, c->queue->name);
		return;
	}
	bare = jid_bare(c->customer);
	title = xasprintf("%s: %s in %s (chat #%" PRId64 ")", why, bare, c->entry->title, c->id);
	if (store_task_add(c->id, c->contact_id, c->queue->jid, kind, title, respa_now(),
	        respa_now()) != -1)
		c->followup = 1;
	free(title);
	free(bare);
}

/* Nobody answered within max_wait: say so honestly, ask how to reach them, make a task. */
static void
max_wait_timer(void *arg)
{
	struct conv *c = arg;

	if (c->first_response_at != 0 || c->followup)
		return;
	log_info("conversation %" PRId64 ": no answer within %d s; follow-up task for %s", c->id,
	    c->queue->max_wait, c->queue->name);
	conv_tell_customer(c, c->queue->max_wait_text);
	followup(c, "follow-up", "No answer in time");
}

/* Closes a chat nobody wrote in for idle_close, once an agent has answered. */
static void
idle_timer(void *arg)
{
	struct conv *c = arg;
	time_t due = c->last_activity + c->queue->idle_close;
	int mins = c->queue->idle_close / 60;

	if (respa_now() < due) { /* messages moved it on: look again then */
		timer_at(&c->idle_timer, (int64_t)due * 1000);
		return;
	}
	if (mins > 0)
		tell_customerf(c, "This chat was closed because nobody wrote for %d minute%s.",
		    mins, mins == 1 ? "" : "s");
	else
		conv_tell_customer(c, "This chat was closed because nobody wrote for a while.");
	if (conversation_close(c, "inactive", NULL, 1) == -1)
		timer_in(&c->idle_timer, 60);
}

/* The customer went away (a web tab closed) and did not come back in time. */
static void
customer_grace_timer(void *arg)
{
	struct conv *c = arg;
	const char *reason = c->state == CONV_OFFLINE ? "offline" : "customer-left";

	/* an answer sent after they left reached nobody: it does not count */
	if (!c->answered && c->state != CONV_OFFLINE)
		followup(c, "follow-up", "Left before an answer");
	if (conversation_close(c, reason, NULL, c->answered) == -1)
		timer_in(&c->grace_timer, 60);
}

/* Replies follow the customer to the address they last wrote or came back from. */
static void
follow_customer(struct conv *c, const char *from)
{
	if (strcmp(c->customer, from) == 0)
		return;
	if (map_get(by_jid, c->jid_key) == c)
		map_del(by_jid, c->jid_key);
	free(c->jid_key);
	free(c->customer);
	c->customer = xstrdup(from);
	c->jid_key = xasprintf("%s\n%s", c->entry->name, c->customer);
	map_put(by_jid, c->jid_key, c);
	(void)store_conv_customer(c->id, from);
}

/*
 * Presence from a customer to a queue address: gone starts the grace, back ends it. A web
 * visitor back after a reload (same session, new JID) gets the chat's replies from now on.
 */
void
conversation_customer_presence(struct queue *q, const char *from, int available,
    const char *session)
{
	char *key = conv_key(q, from, session);
	struct conv *c = map_get(by_key, key);

	free(key);
	if (c == NULL) { /* the server's own "unavailable" for a closed tab carries no session */
		key = xasprintf("%s\n%s", q->name, from);
		c = map_get(by_jid, key);
		free(key);
	}
	if (c == NULL)
		return;
	if (available) {
		timer_cancel(&c->grace_timer);
		c->left_at = 0;
		if (session)
			follow_customer(c, from);
	} else if (strcmp(from, c->customer) == 0 && !timer_armed(&c->grace_timer)) {
		c->left_at = respa_now();
		timer_in(&c->grace_timer, q->customer_grace);
		log_debug("conversation %" PRId64 ": the customer went offline", c->id);
	}
}

/*
 * Tells the agents of the chat (now, and each one it is introduced to later) that another
 * contact has a detail written in it. Only the contact's number, name and number of chats:
 * enough to judge, without showing one customer's data in another's chat.
 */
static void
possible_match(struct conv *c, int64_t other, const char *kind)
{
	struct contact_card k;
	struct offer *o;
	char *line, *all;

	if (store_contact_card(other, 0, &k) == -1)
		return;
	line = xasprintf("Possible match: contact #%" PRId64 " (%s, %d earlier chat%s) has this "
	                 "%s. /merge %" PRId64 " to link them.",
	    k.id, *k.name ? k.name : "no name", k.conversations, k.conversations == 1 ? "" : "s",
	    kind, k.id);
	if (c->matches && strstr(c->matches, line)) {
		free(line);
		return;
	}
	all = c->matches ? xasprintf("%s\n%s", c->matches, line) : xstrdup(line);
	free(c->matches);
	c->matches = all;
	log_info("conversation %" PRId64 ": its %s is also contact %" PRId64 "'s", c->id, kind,
	    k.id);
	if (c->agent)
		conv_tell(c, c->agent, line);
	for (o = c->offers; o; o = o->next_of_conv)
		conv_tell(c, o->agent, line);
	free(line);
}

/*
 * A contact detail written in the chat (by the customer, or by the agent with /contact). It
 * is unverified: anyone can type someone else's email. So it is recorded on the chat's
 * contact and never merges contacts, nor changes whose chat this is; when another contact
 * has it, the agent is shown the possible match and may /merge it.
 */
void
conversation_learn(struct conv *c, const char *kind, const char *value)
{
	int64_t me = store_contact_resolve(c->contact_id), ids[4];
	int email = strcmp(kind, "email") == 0, n, i, mine = 0;

	if ((n = store_contact_find(value, ids, 4)) == -1)
		return;
	for (i = 0; i < n; i++)
		if (ids[i] == me)
			mine = 1;
		else
			possible_match(c, ids[i], kind);
	if (mine)
		return;
	if (store_identity_add(me, kind, value, 0, respa_now()) == 0 &&
	    store_contact_fill(me, email ? value : NULL, email ? NULL : value) == 0 && n == 0)
		log_info("conversation %" PRId64 ": contact %" PRId64 " has %s %s (unverified)",
		    c->id, me, kind, value);
}

/*
 * An agent links the chat's contact with another (/merge): the younger contact is merged
 * into the older, and the merge is recorded so that an admin can undo it.
 */
void
conversation_merge(struct conv *c, struct agent *a, int64_t other)
{
	int64_t me = store_contact_resolve(c->contact_id), kept, merged, id;
	struct contact_card k;
	char *why, card[1024];

	if (other <= 0 || store_contact_fields(other, &k) == -1) {
		conv_tellf(c, a,
		    "There is no contact #%" PRId64 ". Usage: /merge N, with the "
		    "contact number of a possible match.",
		    other);
		return;
	}
	if (k.id == me) {
		conv_tellf(c, a, "Contact #%" PRId64 " is this chat's contact already.", me);
		return;
	}
	kept = k.id < me ? k.id : me;
	merged = k.id < me ? me : k.id;
	why = xasprintf("linked by %s in chat #%" PRId64, a->jid, c->id);
	id = store_contact_merge(kept, merged, why, respa_now());
	free(why);
	if (id == -1) {
		conv_tell(c, a,
		    "The contacts could not be merged: the database failed. Try again.");
		return;
	}
	c->contact_id = kept;
	c->fresh = 0; /* it has the other contact's history now */
	log_info("conversation %" PRId64 ": contact %" PRId64 " merged into %" PRId64 " by %s "
	         "(merge %" PRId64 ")",
	    c->id, merged, kept, a->jid, id);
	if (store_contact_card(kept, c->id, &k) == 0)
		crm_card_text(&k, c->channel, card, sizeof(card));
	else
		card[0] = '\0';
	conv_tellf(c, a,
	    "Contact #%" PRId64 " is merged into #%" PRId64 " (merge %" PRId64
	    "; an admin can undo it with merge-undo). /history shows the earlier "
	    "conversations.%s%s",
	    merged, kept, id, *card ? "\n" : "", card);
}

/* Emails and phone numbers the customer writes fill in their contact. */
static void
detect_contact(struct conv *c, const char *body)
{
	char email[128], phone[24];

	if (crm_find_email(body, email, sizeof(email)) == 0)
		conversation_learn(c, "email", email);
	if (crm_find_phone(body, conf->default_country, phone, sizeof(phone)) == 0)
		conversation_learn(c, "phone", phone);
}

/* An agent's answer counts as one only while the customer is there to get it. */
static void
answer_sent(struct conv *c)
{
	if (c->left_at == 0)
		c->answered = 1;
}

/* Something was said in the chat: inactivity counts from now (the timer moves lazily). */
static void
activity(struct conv *c, time_t now)
{
	c->last_activity = now;
	if (c->first_response_at && !timer_armed(&c->idle_timer))
		timer_at(&c->idle_timer, (int64_t)(now + c->queue->idle_close) * 1000);
}

/* --- handing a chat over by hand ------------------------------------------------------ */

/* An agent hands the chat to a colleague who can take it now; a is told when not. */
void
conversation_transfer_agent(struct conv *c, struct agent *a, const char *jid, const char *note)
{
	struct agent *b = config_agent_find(jid);
	const char *why;
	char *lead;

	if (b == NULL) {
		conv_tellf(c, a,
		    "%s is neither an agent nor a queue here. Usage: /transfer "
		    "AGENT-JID or QUEUE [note]",
		    jid);
		return;
	}
	if (b == a) {
		conv_tell(c, a, "This chat is already yours.");
		return;
	}
	if ((why = router_cannot_take(b, c->queue)) != NULL) {
		conv_tellf(c, a, "%s %s; the chat stays with you.", b->jid, why);
		return;
	}
	if (*note)
		(void)store_message_add(c->id, "note", a->jid, note, respa_now());
	release(c);
	conv_tellf(c, a, "Chat #%" PRId64 " transferred to %s.", c->id, b->jid);
	log_info("conversation %" PRId64 " transferred from %s to %s", c->id, a->jid, b->jid);
	take(c, b);
	lead = xasprintf("%s handed it to you%s%s. Write here to answer.", a->jid,
	    *note ? ": " : "", note);
	introduce(c, b, "Transferred chat", lead);
	free(lead);
	conv_tell_customer(c,
	    "You are being transferred to another agent, who has the chat so "
	    "far.");
	router_agent_changed(a);
	router_agent_changed(b);
}

/* An agent sends the chat to the front of another queue's line. */
void
conversation_transfer_queue(struct conv *c, struct agent *a, struct queue *q, const char *note)
{
	char *text;

	text = xasprintf("transferred to %s%s%s", q->name, *note ? ": " : "", note);
	(void)store_message_add(c->id, "note", a->jid, text, respa_now());
	free(text);
	release(c);
	conv_tellf(c, a, "Chat #%" PRId64 " transferred to the queue %s.", c->id, q->title);
	log_info("conversation %" PRId64 " transferred from %s to queue %s", c->id, a->jid,
	    q->name);
	tell_customerf(c, "You are being transferred to %s. Please wait a moment.", q->title);
	c->queue = q;
	c->queued_at = respa_now_ms(); /* tiers count from its arrival in the new queue */
	requeue(c);
	if (c->state == CONV_QUEUED)
		queue_tell_queued(c);
	router_agent_changed(a);
}

/* --- an admin's hand (ad-hoc commands), and text agents send without writing it ------- */

struct visit {
	void (*fn)(struct conv *, void *);
	void *arg;
};

static void
visit_one(const char *key, void *value, void *arg)
{
	struct visit *v = arg;

	(void)key;
	v->fn(value, v->arg);
}

/* Every open conversation, in no order; fn must not open or close any. */
void
conversation_foreach(void (*fn)(struct conv *, void *), void *arg)
{
	struct visit v = { fn, arg };

	map_foreach(by_node, visit_one, &v);
}

const char *
conversation_state_name(const struct conv *c)
{
	return state_names[c->state];
}

static void
forget_agent(struct conv *c, void *arg)
{
	int i;

	if (c->preferred == arg)
		c->preferred = NULL;
	for (i = 0; i < CONV_EXCLUSIONS; i++)
		if (c->excl[i].agent == arg)
			c->excl[i].agent = NULL;
}

/* An agent deleted by a command (it has no chat and no offer): nothing may point at it. */
void
conversation_agent_removed(struct agent *a)
{
	conversation_foreach(forget_agent, a);
}

/* A canned response: stored as the agent's answer, then sent to the customer. */
int
conversation_say(struct conv *c, struct agent *a, const char *text)
{
	time_t now = respa_now();

	if (c->agent != a || store_message_add(c->id, "out", a->jid, text, now) == -1)
		return -1;
	answer_sent(c);
	if (c->first_response_at == 0) {
		c->first_response_at = now;
		(void)store_conv_first_response(c->id, now);
	}
	activity(c, now);
	conv_tell_customer(c, text);
	return 0;
}

/* An admin ends a chat: the reason goes into the transcript, close_reason is "admin". */
int
conversation_close_by(struct conv *c, const char *by, const char *reason)
{
	char *text = xasprintf("closed by %s%s%s", by, *reason ? ": " : "", reason);

	(void)store_message_add(c->id, "note", by, text, respa_now());
	free(text);
	if (c->agent)
		conv_tellf(c, c->agent, "%s closed chat #%" PRId64 "%s%s", by, c->id,
		    *reason ? ": " : ".", reason);
	return conversation_close(c, "admin", NULL, 0);
}

/*
 * An admin hands a chat, waiting, offered or active, to an agent who can take it now (target
 * has an @) or to the front of a queue's line.
 */
int
conversation_transfer(struct conv *c, const char *by, const char *target, const char *note,
    char *err, size_t errlen)
{
	struct queue *q = strchr(target, '@') ? NULL : config_queue(target);
	struct agent *b = q ? NULL : config_agent_find(target), *a = c->agent, *other;
	const char *why;
	char *text;

	if (c->state == CONV_OFFLINE) {
		snprintf(err, errlen,
		    "chat #%" PRId64 " was written out of hours: it waits for "
		    "%s to open",
		    c->id, c->queue->title);
		utf8_trim_end(err);
		return -1;
	}
	if (q == NULL && b == NULL) {
		snprintf(err, errlen, "%s is neither an agent nor a queue", target);
		utf8_trim_end(err);
		return -1;
	}
	if (b && b == a) {
		snprintf(err, errlen, "chat #%" PRId64 " is %s's already", c->id, b->jid);
		utf8_trim_end(err);
		return -1;
	}
	if (b && (why = router_cannot_take(b, c->queue)) != NULL) {
		snprintf(err, errlen, "%s %s", b->jid, why);
		utf8_trim_end(err);
		return -1;
	}
	text = xasprintf("transferred to %s by %s%s%s", target, by, *note ? ": " : "", note);
	(void)store_message_add(c->id, "note", by, text, respa_now());
	free(text);
	if (c->state == CONV_QUEUED)
		router_dequeue(c);
	while (c->offers) {
		other = c->offers->agent;
		offer_remove(c->offers);
		conv_tellf(c, other, "Chat #%" PRId64 " was handed to someone else.", c->id);
		router_agent_changed(other);
	}
	if (a) {
		release(c);
		conv_tellf(c, a, "%s transferred chat #%" PRId64 " to %s.", by, c->id, target);
	}
	log_info("conversation %" PRId64 " transferred to %s by %s", c->id, target, by);
	if (b) {
		take(c, b);
		text = xasprintf("%s handed it to you%s%s. Write here to answer.", by,
		    *note ? ": " : "", note);
		introduce(c, b, "Transferred chat", text);
		free(text);
		conv_tell_customer(c,
		    a ? "You are being transferred to another agent, who has the "
		        "chat so far."
		      : c->queue->assigned_text);
		router_agent_changed(b);
	} else {
		tell_customerf(c, "You are being transferred to %s. Please wait a moment.",
		    q->title);
		c->queue = q;
		c->queued_at = respa_now_ms();
		requeue(c);
		if (c->state == CONV_QUEUED)
			queue_tell_queued(c);
	}
	if (a)
		router_agent_changed(a);
	return 0;
}

/* --- messages ------------------------------------------------------------------------- */

/*
 * The text of a message, or NULL when there is none to act on (an error was sent if needed).
 * "" when it has none: a chat state, receipt or marker, relayed but never stored.
 */
static char *
message_text(xmpp_stanza_t *st)
{
	char *body, *limit;

	if (stanza_body_len(st) > conf->max_body) {
		limit = xasprintf("Your message is too long: at most %zu bytes are accepted. "
		                  "Please split it.",
		    conf->max_body);
		component_send(stanza_error(st, "modify", "policy-violation", limit));
		free(limit);
		return NULL;
	}
	if ((body = stanza_body(st)) == NULL)
		body = xstrdup("");
	return body;
}

/* An offered chat: the agent answers it, or takes or turns it down with a command. */
static void
offered_message(struct conv *c, struct agent *a, xmpp_stanza_t *st, const char *body)
{
	struct slash s;

	if (slash_parse(body, &s)) {
		if (strcmp(s.name, "accept") == 0)
			accept(c, a);
		else if (strcmp(s.name, "reject") == 0)
			offer_failed(offer_find(c, a), 0);
		else
			conv_tellf(c, a,
			    "Chat #%" PRId64 " is offered to you: answer it, or write "
			    "/accept or /reject first.",
			    c->id);
		return;
	}
	accept(c, a);
	(void)st;
}

static void
agent_message(struct conv *c, xmpp_stanza_t *st, const char *from)
{
	char *bare = jid_bare(from), *body = NULL;
	struct agent *a = config_agent_find(bare);
	struct slash s;
	const char *text;
	time_t now;

	if (a == NULL || (c->agent != a && offer_find(c, a) == NULL)) {
		component_send(stanza_error(st, "auth", "forbidden",
		    "Only the agent assigned to this conversation may write here."));
		goto done;
	}
	if ((body = message_text(st)) == NULL)
		goto done;
	if (*body == '\0') {
		if (c->agent == a) /* not an agent the chat is only offered to */
			relay_message(c->ids, st, RELAY_AGENT, c->entry->jid, c->customer, NULL);
		goto done;
	}
	if (c->state == CONV_OFFERED) {
		offered_message(c, a, st, body);
		if (slash_parse(body, &s) || c->agent != a)
			goto done;
	} else if (slash_parse(body, &s)) {
		chatcmd_run(c, a, &s); /* may free c */
		goto done;
	}
	now = respa_now();
	text = body[0] == '/' ? body + 1 : body;
	if (store_message_add(c->id, "out", bare, text, now) == -1) {
		component_send(stanza_error(st, "wait", "internal-server-error",
		    "Your message could not be stored, so it was not sent. Please send it again."));
		goto done;
	}
	answer_sent(c);
	if (c->first_response_at == 0) {
		c->first_response_at = now;
		(void)store_conv_first_response(c->id, now);
	}
	activity(c, now);
	relay_message(c->ids, st, RELAY_AGENT, c->entry->jid, c->customer, text);
done:
	free(body);
	free(bare);
}

/* Relays a customer's message to whoever holds the chat or has it on offer. */
static void
to_agents(struct conv *c, xmpp_stanza_t *st, const char *body)
{
	struct offer *o;

	if (c->state == CONV_ACTIVE)
		relay_message(c->ids, st, RELAY_CUSTOMER, c->addr, c->agent->jid, body);
	for (o = c->offers; o; o = o->next_of_conv)
		relay_message(c->ids, st, RELAY_CUSTOMER, c->addr, o->agent->jid, body);
}

/* A first message while the queue is closed: kept as an offline conversation and a task. */
static void
capture_offline(struct conv *c)
{
	char when[64];
	time_t next = hours_next_open(c->queue->hours, c->queue->timezone, respa_now());

	conv_enter_state(c, CONV_OFFLINE);
	TAILQ_INSERT_TAIL(&c->queue->offline, c, wait_link);
	if (next) {
		hours_when(c->queue->timezone, next, respa_now(), when, sizeof(when));
		tell_customerf(c, "%s We open again %s (%s).", c->queue->offline_text, when,
		    c->queue->timezone);
	} else
		conv_tell_customer(c, c->queue->offline_text);
	followup(c, "offline", "Wrote while closed");
	log_info("conversation %" PRId64 " in %s kept for later: the queue is closed", c->id,
	    c->queue->name);
}

/* The queue has opened since the customer's offline message: now they wait in line. */
static void
offline_to_queue(struct conv *c)
{
	TAILQ_REMOVE(&c->queue->offline, c, wait_link);
	conv_enter_state(c, CONV_QUEUED);
	(void)store_conv_state(c->id, "queued");
	conv_tell_customer(c, c->queue->greeting);
	router_enqueue(c);
	if (c->state == CONV_QUEUED)
		queue_tell_queued(c);
}

/*
 * The contact behind a first message: by the site's visitor id, by the phone number a
 * gateway puts in the JID, or by the JID; each is recorded on it.
 */
static int64_t
contact_for(const char *from, const char *channel, const struct visitor *v, time_t now,
    int *created)
{
	struct identity ids[3];
	char *bare = jid_bare(from), phone[24];
	size_t n = 0;
	int64_t id;

	if (v && v->id)
		ids[n++] = (struct identity){ "visitor", v->id };
	if (strcmp(channel, "xmpp") != 0 && strcmp(channel, "web") != 0 &&
	    crm_jid_phone(bare, conf->default_country, phone, sizeof(phone)) == 0)
		ids[n++] = (struct identity){ "phone", phone };
	ids[n++] = (struct identity){ "jid", bare };
	id = store_contact_for(ids, n, now, created);
	free(bare);
	return id;
}

/* Opens a conversation for a customer's first message; NULL when it cannot be stored. */
static struct conv *
conversation_open(struct queue *q, const char *from, const struct visitor *v, time_t now)
{
	const char *channel = crm_channel(conf, from, v != NULL);
	const char *session = v ? v->session : NULL;
	int64_t contact, id = -1;
	struct conv *c;
	char *last;
	int fresh = 0;

	if ((contact = contact_for(from, channel, v, now, &fresh)) != -1)
		id = store_conv_add(q->name, from, contact, channel, q->open ? "queued" : "offline",
		    session, now);
	if (id == -1)
		return NULL;
	log_info("conversation %" PRId64 " opened in %s (%s)", id, q->name, channel);
	c = conv_new(id, q, q, from, session, channel, contact, now);
	if (v && v->id)
		conv_hold(c, 'v', v->id);
	c->fresh = fresh;
	timer_at(&c->max_wait_timer, (int64_t)(now + q->max_wait) * 1000);
	if (!fresh && q->prefer_last && (last = store_last_agent(contact, q->name)) != NULL) {
		c->preferred = config_agent_find(last); /* NULL when no longer an agent */
		free(last);
	}
	return c;
}

/* --- limits on one customer (limits.c): refused before anything is stored ------------- */

static int
over_open(char kind, const char *value)
{
	char *key = xasprintf("%c\n%s", kind, value);
	int n = limits_count(key);

	free(key);
	return n >= conf->max_open_per_customer;
}

/* Answers a refused message, unless this customer's refusals come too fast to answer. */
static void
refuse(xmpp_stanza_t *st, const char *bare, const char *type, const char *text)
{
	if (limits_allow(LIMIT_ANSWER, bare))
		component_send(stanza_error(st, type, "policy-violation", text));
}

/* 1 when the customer may not open another conversation now; they were told why. */
static int
open_refused(xmpp_stanza_t *st, const char *bare, const struct visitor *v)
{
	int max = conf->max_open_per_customer;
	char *text;

	if (max > 0 &&
	    (over_open('j', bare) || (v && over_open('s', v->session)) ||
	        (v && v->id && over_open('v', v->id)))) {
		text = xasprintf(
		    "You already have %d conversations open with us, the most we "
		    "keep at once, so this message was not delivered. Please go on in one of "
		    "them, or write again once one has ended.",
		    max);
		refuse(st, bare, "cancel", text);
		free(text);
		log_debug("limits: %s has %d open conversations; another refused", bare, max);
		return 1;
	}
	if (!limits_allow(LIMIT_OPEN, bare)) {
		refuse(st, bare, "wait",
		    "You are starting new conversations too quickly, so "
		    "this message was not delivered. Please wait a minute and write again.");
		log_debug("limits: %s opens conversations too fast", bare);
		return 1;
	}
	return 0;
}

/* 1 when the customer writes faster than messages_per_minute; a message was told so. */
static int
message_refused(xmpp_stanza_t *st, const char *bare, const char *body)
{
	if (limits_allow(LIMIT_MESSAGE, bare))
		return 0;
	if (*body) /* a chat state or receipt goes without an answer: nothing is lost */
		refuse(st, bare, "wait",
		    "You are sending messages faster than we can take them, "
		    "so this one was not delivered. Please wait a few seconds and send it again.");
	log_debug("limits: %s writes too fast", bare);
	return 1;
}

/*
 * The line was full when the customer arrived: they are told so honestly, a task makes sure
 * someone gets back to them, and the conversation ends instead of waiting.
 */
static void
line_full(struct conv *c)
{
	log_info("conversation %" PRId64 ": %zu waiting in %s, more than max_queue %d; "
	         "follow-up task instead",
	    c->id, c->queue->nwaiting, c->queue->name, c->queue->max_queue);
	conv_tell_customer(c, c->queue->max_queue_text);
	followup(c, "follow-up", "Queue full");
	if (conversation_close(c, "queue-full", NULL, 0) == -1)
		log_warnx("conversation %" PRId64 ": could not be closed; it stays in line", c->id);
}

static void
customer_message(struct queue *q, xmpp_stanza_t *st, const char *from)
{
	char *bare = jid_bare(from), *key = NULL, *body = NULL;
	struct visitor visitor, *v = stanza_visitor(st, &visitor) ? &visitor : NULL;
	struct conv *c;
	time_t now = respa_now();
	int opened = 0;

	if (config_agent_find(bare)) {
		component_send(stanza_error(st, "cancel", "not-acceptable",
		    "You are an agent of this desk; queues are for customers."));
		goto done;
	}
	if ((body = message_text(st)) == NULL || message_refused(st, bare, body))
		goto done;
	key = conv_key(q, from, v ? v->session : NULL);
	if (*body == '\0') {
		if ((c = map_get(by_key, key)) != NULL) /* opens nothing */
			to_agents(c, st, NULL);
		goto done;
	}
	if ((c = map_get(by_key, key)) == NULL) {
		if (open_refused(st, bare, v))
			goto done;
		if ((c = conversation_open(q, from, v, now)) == NULL)
			goto fail;
		opened = 1;
	} else
		follow_customer(c, from);
	if (store_message_add(c->id, "in", from, body, now) == -1)
		goto fail;
	timer_cancel(&c->grace_timer); /* writing is being there */
	c->left_at = 0;
	activity(c, now);
	to_agents(c, st, body);
	detect_contact(c, body); /* after: a possible match follows the line that has it */
	if (opened) {
		queue_show_to(q, from);
		if (!q->open)
			capture_offline(c);
		else {
			conv_tell_customer(c, q->greeting);
			router_enqueue(c);
			if (c->state == CONV_QUEUED && q->max_queue > 0 &&
			    q->nwaiting > (size_t)q->max_queue)
				line_full(c);
			else if (c->state == CONV_QUEUED)
				queue_tell_queued(c);
		}
	} else if (c->state == CONV_OFFLINE && c->queue->open)
		offline_to_queue(c);
	goto done;
fail:
	component_send(stanza_error(st, "wait", "internal-server-error",
	    "Your message could not be stored. Please send it again in a moment."));
done:
	free(body);
	free(key);
	free(bare);
}

/*
 * Someone not an agent writing to the component's address or a c-N one: the same message
 * rate as customers (customer_message() has its own), so that every message answered there
 * cannot be used to flood respa's answers back.
 */
static int
stranger_refused(xmpp_stanza_t *st, const char *from)
{
	char *bare = jid_bare(from);
	int refused = 0;

	if (config_agent_find(bare) == NULL && !limits_allow(LIMIT_MESSAGE, bare)) {
		if (stanza_body_len(st) > 0)
			refuse(st, bare, "wait",
			    "You are sending messages too fast, so this one was "
			    "not delivered. Please wait a few seconds.");
		refused = 1;
	}
	free(bare);
	return refused;
}

/* Someone wrote to the component's own address. */
static void
domain_message(xmpp_stanza_t *st, const char *from)
{
	char *bare = jid_bare(from), *text, *body;
	struct queue *q = config_queues();
	struct agent *a = config_agent_find(bare);

	if ((body = message_text(st)) == NULL || *body == '\0') {
		free(body);
		free(bare);
		return;
	}
	if (a)
		chatcmd_agent(a, body);
	else {
		if (q)
			text = xasprintf("This is a customer service desk. To reach %s, write to "
			                 "%s.",
			    q->title, q->jid);
		else
			text = xstrdup("This customer service desk has no queue open.");
		component_send(stanza_message(conf->jid, from, text));
		free(text);
	}
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
	if ((q = config_queue(node)) == NULL && stranger_refused(st, from))
		return 1;
	if (node[0] == '\0')
		domain_message(st, from);
	else if (q != NULL)
		customer_message(q, st, from);
	else if ((c = conversation_find(node)) != NULL)
		agent_message(c, st, from);
	else
		component_send(stanza_error(st, "cancel", "item-not-found",
		    "There is no queue or open conversation at this address."));
	return 1;
}

/* --- start-up ------------------------------------------------------------------------- */

/* Rebuilds memory from the database: queued chats wait again, active ones resume. */
static int
restore_one(const struct stored_conv *s, void *arg)
{
	struct queue *q = config_queue(s->queue), *entry = config_queue(s->entry_queue);
	struct agent *a = s->agent_jid ? config_agent_find(s->agent_jid) : NULL;
	time_t now = respa_now();
	struct conv *c;

	(void)arg;
	if (q == NULL || entry == NULL) {
		log_warnx("conversation %" PRId64 " is in queue %s, which is no longer configured; "
		          "left as it is",
		    s->id, q ? s->entry_queue : s->queue);
		return 0;
	}
	c = conv_new(s->id, entry, q, s->customer_jid, s->session, s->channel, s->contact_id,
	    s->created_at);
	c->assigned_at = s->assigned_at;
	c->first_response_at = s->first_response_at;
	c->answered = s->first_response_at != 0; /* whether they were there is not stored */
	if (c->first_response_at == 0) {         /* a task was made if the wait ran out before */
		if (s->created_at + q->max_wait <= now)
			c->followup = 1;
		else
			timer_at(&c->max_wait_timer, (int64_t)(s->created_at + q->max_wait) * 1000);
	}
	if (strcmp(s->state, "offline") == 0) {
		conv_enter_state(c, CONV_OFFLINE);
		c->followup = 1;
		TAILQ_INSERT_TAIL(&q->offline, c, wait_link);
	} else if (a && strcmp(s->state, "active") == 0) {
		c->agent = a;
		a->chats++;
		TAILQ_INSERT_TAIL(&a->convs, c, agent_link);
		conv_enter_state(c, CONV_ACTIVE);
		activity(c, now);
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
