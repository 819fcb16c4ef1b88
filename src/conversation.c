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
static struct map *by_jid;
#define LANG(q) \
	texts_lang_code((q)->lang) /* "entry queue\nfull JID replies go to" -> the open conv */

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
	monitor_init(c);
	by_node = map_new();
	by_key = map_new();
	by_jid = map_new();
	rating_init(c);
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
	enum conv_state was = c->state;

	log_debug("conversation %" PRId64 ": %s -> %s", c->id, state_names[c->state],
	    state_names[to]);
	c->state = to;
	if ((was == CONV_ACTIVE) != (to == CONV_ACTIVE)) /* the queue's presence says "in a chat" */
		queue_customer_changed(c->entry, c->customer);
}

/* 1 when jid is in a chat with an agent that it started at q. */
int
conversation_customer_active(const struct queue *q, const char *jid)
{
	char *key = xasprintf("%s\n%s", q->name, jid);
	struct conv *c = map_get(by_jid, key);

	free(key);
	return c && c->entry == q && c->state == CONV_ACTIVE;
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
	for (i = 0; i < CONV_WATCHERS; i++)
		free(c->watchers[i]);
	monitor_free(c);
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
	free(c->topic);
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
	rating_init(conf);
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
	rating_free_all();
}

/* --- telling people ------------------------------------------------------------------- */

/* respa's own line to the customer, in the language of the queue they wrote to. */
void
conv_tell_customer(const struct conv *c, const char *text)
{
	component_send(stanza_notice(c->entry->jid, c->customer, text, LANG(c->entry)));
}

/* The queue's text id, filled with args, to the customer. */
static void
tell_text(const struct conv *c, enum text_id id, const char *const *args, int nargs)
{
	char *text = config_text(c->entry, id, args, nargs);

	conv_tell_customer(c, text);
	free(text);
}

/* The name on a human agent's lines: its own, else the queue's. */
static const char *
agent_nick(const struct conv *c, const struct agent *a)
{
	return a && a->name ? a->name : c->queue->title;
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
	const char *from, *to;
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
	component_send(stanza_message_delayed(r->from, r->to, text, m->created_at));
	free(text);
	return 0;
}

/*
 * A header with the contact card, then the transcript, to one JID; the header's id in id
 * (may be NULL): a bounce of it says the chat never reached that client.
 */
static void
replay_to(const struct conv *c, const char *from, const char *to, const char *lead,
    const char *tail, char *id, size_t idlen)
{
	struct replay r = { c, from, to };
	struct contact_card k;
	char *bare = jid_bare(c->customer), card[1024] = "", *text;
	xmpp_stanza_t *header;

	/* online, with caps: clients that look before a ping or a command list see what it does */
	component_send(stanza_presence_status(from, to, NULL, NULL, ADDRESS_CONV, NULL, NULL));
	if ((c->fresh ? store_contact_fields(c->contact_id, &k)
	              : store_contact_card(c->contact_id, c->id, &k)) == 0)
		crm_card_text(&k, c->channel, card, sizeof(card));
	text = xasprintf("%s #%" PRId64 " from %s in %s (%s%s%s). %s%s%s", lead, c->id, bare,
	    c->queue->title, c->channel, c->topic ? ", topic " : "", c->topic ? c->topic : "", tail,
	    *card ? "\n" : "", card);
	header = stanza_message(from, to, text);
	if (id)
		str_copy(id, idlen, xmpp_stanza_get_id(header));
	component_send(header);
	(void)store_messages_foreach(c->id, replay_message, &r);
	if (c->matches)
		component_send(stanza_message(from, to, c->matches));
	free(text);
	free(bare);
}

void
conversation_replay(const struct conv *c, const char *to, const char *lead, const char *tail)
{
	replay_to(c, c->addr, to, lead, tail, NULL, 0);
}

void
conversation_replay_from(const struct conv *c, const char *from, const char *to, const char *lead,
    const char *tail)
{
	replay_to(c, from, to, lead, tail, NULL, 0);
}

/* What an agent sees first of a chat: a header with the contact card, the transcript. */
static void
introduce(struct conv *c, const struct agent *a, const char *lead, const char *tail)
{
	replay_to(c, c->addr, a->jid, lead, tail, c->intro_id, sizeof(c->intro_id));
	if (c->monitors && conf->monitor_notice)
		conv_tell(c, a, MONITOR_NOTICE);
}

/* The customer hears that an agent joined, unless they heard it from an agent who never got
 * the chat (a bounce) and nothing since. */
static void
tell_joined(struct conv *c)
{
	if (c->quiet_rejoin)
		c->quiet_rejoin = 0;
	else
		conv_tell_customer(c, c->queue->assigned_text);
}

/* --- agents taking and leaving chats ------------------------------------------------- */

static void
take(struct conv *c, struct agent *a)
{
	time_t now = respa_now();

	c->agent = a;
	c->agent_wrote = c->resend = 0;
	c->intro_id[0] = '\0';
	a->chats++;
	TAILQ_INSERT_TAIL(&a->convs, c, agent_link);
	router_agent_busy(a);
	conv_enter_state(c, CONV_ACTIVE);
	if (c->assigned_at == 0)
		c->assigned_at = now;
	(void)store_conv_assign(c->id, a->jid, now);
	log_info("conversation %" PRId64 " in %s assigned to %s", c->id, c->queue->name, a->jid);
	if (c->monitors) {
		char *line = xasprintf("[the chat is now with %s]", a->jid);

		monitor_mirror(c, NULL, line);
		free(line);
	}
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
	component_send(stanza_presence(c->addr, a->jid, "unavailable")); /* no longer theirs */
	return a;
}

void
conversation_assign(struct conv *c, struct agent *a)
{
	take(c, a);
	introduce(c, a, "New chat", "Write here to answer; !help lists the commands.");
	tell_joined(c);
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
	component_send(stanza_presence(c->addr, a->jid, "unavailable"));
	router_exclude(c, a, conf->reject_delay);
	if (missed) {
		a->missed++;
		counters[C_OFFERS_MISSED]++;
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
		    "not answer the last offers. Write !ready here when you are back to get chats "
		    "again."));
		agent_pause(a, "offers not answered");
		(void)alert_raise(ALERT_PAUSED, a->jid,
		    "%s was paused: offers not answered in a row: %d.", a->jid, a->missed);
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
	introduce(c, a, "Offer: chat", "Answer here to take it, or write !accept or !reject.");
}

/* The agent took an offered chat; the others who had it are told. */
static void
accept(struct conv *c, struct agent *a)
{
	struct offer *o;
	struct agent *other;

	a->missed = 0;
	take(c, a); /* first, so that its slot is never free in between */
	c->agent_wrote = 1;
	while ((o = c->offers) != NULL) {
		other = o->agent;
		offer_remove(o);
		if (other != a) {
			conv_tellf(c, other, "Chat #%" PRId64 " was taken by another agent.",
			    c->id);
			component_send(stanza_presence(c->addr, other->jid, "unavailable"));
			router_agent_changed(other);
		}
	}
	conv_tellf(c, a, "Chat #%" PRId64 " is yours.", c->id);
	tell_joined(c);
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
		tell_text(c, T_AGENT_GONE, NULL, 0);
		log_info("conversation %" PRId64 ": %s is gone; back to %s", c->id, a->jid,
		    c->queue->name);
		requeue(c);
	}
	router_agent_changed(a);
}

/* --- messages to an agent that bounced ------------------------------------------------ */

/*
 * A client that died without closing its stream keeps its session on the server for a while
 * (XEP-0198 hibernation): respa still sees the agent online and its messages queue there. When
 * the server gives up, they come back as errors. What the agent never got is taken back.
 */

/* The agent's client lost a message of c (id: the one that bounced). */
static void
agent_missed(struct conv *c, struct agent *a, const char *id)
{
	struct offer *o = offer_find(c, a);
	struct resource *r;
	int nres = 0;

	for (r = a->resources; r; r = r->next)
		nres++;
	if (nres > 1) { /* another client of theirs got the same message; one line per bounce */
		log_debug("conversation %" PRId64
		          ": a message to %s bounced; another of its clients "
		          "is online, so the chat stays",
		    c->id, a->jid);
		return;
	}
	if (o) {
		log_info("conversation %" PRId64 ": the offer did not reach %s (it bounced); back "
		         "to the front of %s",
		    c->id, a->jid, c->queue->name);
		agent_unreachable(a); /* first: the chat must not go straight back to it */
		offer_remove(o);
		router_exclude(c, a, conf->reject_delay);
		if (c->offers == NULL)
			requeue(c);
		router_agent_changed(a);
		return;
	}
	if (c->agent != a) {
		log_debug("conversation %" PRId64
		          ": a message to %s, who no longer has it, bounced",
		    c->id, a->jid);
		return;
	}
	if (!c->agent_wrote && id && *id && strcmp(id, c->intro_id) == 0) {
		/* they never saw it: the customer, told an agent joined, hears nothing new */
		log_info("conversation %" PRId64 ": %s never got the chat (it bounced); back to "
		         "the front of %s",
		    c->id, a->jid, c->queue->name);
		release(c);
		agent_unreachable(a); /* before the requeue: not straight back to it */
		router_exclude(c, a, conf->reject_delay);
		c->quiet_rejoin = 1;
		c->told_place = 1; /* the front: no "thank you for waiting" after "joined" */
		c->told_at = respa_now();
		requeue(c);
		router_agent_changed(a);
		return;
	}
	if (!c->resend)
		log_info("conversation %" PRId64 ": a message to %s bounced; the chat waits for "
		         "them (agent_grace) and is sent again when they are back",
		    c->id, a->jid);
	c->resend = 1;
	agent_unreachable(a);
}

/* The agent is back (a new client): each chat it lost messages of comes again, whole. */
void
conversation_agent_back(struct agent *a)
{
	struct conv *c;

	TAILQ_FOREACH(c, &a->convs, agent_link)
	{
		if (!c->resend)
			continue;
		c->resend = 0;
		log_info("conversation %" PRId64 ": sent again to %s", c->id, a->jid);
		replay_to(c, c->addr, a->jid, "Chat",
		    "Your client missed part of this chat: here it is again. Write here to "
		    "answer; !help lists the commands.",
		    NULL, 0);
	}
}

/* Closed chats whose bounces were logged: each is logged once, not at every bounce. */
#define BOUNCE_LOGGED 16
static char bounce_logged[BOUNCE_LOGGED][24];
static unsigned bounce_next;

static void
closed_bounce(const char *node, const char *from)
{
	unsigned i;

	for (i = 0; i < BOUNCE_LOGGED; i++)
		if (strcmp(bounce_logged[i], node) == 0) {
			log_debug("message error from %s to closed %s", from, node);
			return;
		}
	str_copy(bounce_logged[bounce_next++ % BOUNCE_LOGGED], sizeof(bounce_logged[0]), node);
	log_info("messages of closed conversation %s bounced (from %s): ignored", node, from);
}

/* A message error to a c-N address from one of its agents; everything else is only logged. */
static void
bounced(xmpp_stanza_t *st, const char *from, const char *to)
{
	char node[256], domain[256], *bare;
	struct agent *a;
	struct conv *c;

	if (jid_split(to, node, sizeof(node), domain, sizeof(domain)) == -1 ||
	    strcmp(domain, conf->jid) != 0 || strncmp(node, "c-", 2) != 0 ||
	    node[2 + strspn(node + 2, "0123456789")] != '\0' || node[2] == '\0' ||
	    strlen(node) >= sizeof(bounce_logged[0])) {
		log_debug("message error from %s to %s", from, to);
		return;
	}
	bare = jid_bare(from);
	a = config_agent_find(bare);
	free(bare);
	if (a == NULL)
		log_debug("message error from %s to %s", from, to);
	else if ((c = conversation_find(node)) == NULL)
		closed_bounce(node, from);
	else
		agent_missed(c, a, xmpp_stanza_get_id(st));
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

/*
 * The chat's address goes offline for every agent shown its presence but its holder, whom
 * release() tells: no closed chat stays online in a roster or a chat window.
 */
static void
gone_offline(const struct conv *c)
{
	const struct offer *o;
	int i;

	for (i = 0; i < CONV_WATCHERS && c->watchers[i]; i++)
		if (c->agent == NULL || strcmp(c->agent->jid, c->watchers[i]) != 0)
			component_send(stanza_presence(c->addr, c->watchers[i], "unavailable"));
	for (o = c->offers; o; o = o->next_of_conv) {
		for (i = 0; i < CONV_WATCHERS && c->watchers[i]; i++)
			if (strcmp(o->agent->jid, c->watchers[i]) == 0)
				break;
		if (i == CONV_WATCHERS || c->watchers[i] == NULL)
			component_send(stanza_presence(c->addr, o->agent->jid, "unavailable"));
	}
}

/* Remembers an agent who was shown the chat's presence; 0, or -1 when there is no room. */
static int
watched_by(struct conv *c, const char *bare)
{
	int i;

	for (i = 0; i < CONV_WATCHERS && c->watchers[i]; i++)
		if (strcmp(c->watchers[i], bare) == 0)
			return 0;
	if (i == CONV_WATCHERS)
		return -1;
	c->watchers[i] = xstrdup(bare);
	return 0;
}

static void
unwatched_by(struct conv *c, const char *bare)
{
	int i, j;

	for (i = 0; i < CONV_WATCHERS && c->watchers[i]; i++)
		if (strcmp(c->watchers[i], bare) == 0) {
			free(c->watchers[i]);
			for (j = i; j + 1 < CONV_WATCHERS; j++)
				c->watchers[j] = c->watchers[j + 1];
			c->watchers[CONV_WATCHERS - 1] = NULL;
			return;
		}
}

/* A new client of the agent: each of its chats is online there too (a second client). */
void
conversation_show_to(struct agent *a, const char *full)
{
	struct conv *c;

	TAILQ_FOREACH(c, &a->convs, agent_link)
	{
		component_send(
		    stanza_presence_status(c->addr, full, NULL, NULL, ADDRESS_CONV, NULL, NULL));
	}
}

/*
 * An open chat's address is available to the desk's agents (and may be put in their rosters);
 * a closed or unknown one is unavailable, and a subscription to it is not approved.
 */
void
conversation_presence_in(const char *from, const char *node, const char *type)
{
	struct conv *c = conversation_find(node);
	char *bare = jid_bare(from), *addr = NULL;
	int ok = c != NULL && config_agent_find(bare) != NULL;

	if (c == NULL) /* answered from the address asked, which no longer exists */
		addr = xasprintf("%s@%s", node, conf->jid);
	if (type == NULL || strcmp(type, "unavailable") == 0)
		; /* directed presence to a chat says nothing */
	else if (strcmp(type, "probe") == 0) {
		if (ok && watched_by(c, bare) == 0)
			component_send(stanza_presence_status(c->addr, bare, NULL, NULL,
			    ADDRESS_CONV, NULL, NULL));
		else
			component_send(stanza_presence(c ? c->addr : addr, from, "unavailable"));
	} else if (strcmp(type, "subscribe") == 0) {
		if (ok && watched_by(c, bare) == 0) {
			component_send(stanza_presence(c->addr, bare, "subscribed"));
			component_send(stanza_presence_status(c->addr, bare, NULL, NULL,
			    ADDRESS_CONV, NULL, NULL));
		} else
			component_send(stanza_presence(c ? c->addr : addr, bare, "unsubscribed"));
	} else if (strcmp(type, "unsubscribe") == 0) {
		if (c)
			unwatched_by(c, bare);
		component_send(stanza_presence(c ? c->addr : addr, bare, "unsubscribed"));
	}
	free(addr);
	free(bare);
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
	if (c->state != CONV_OFFLINE && strcmp(reason, "customer-left") != 0) {
		component_send(stanza_ended(c->entry->jid, c->customer,
		    strcmp(reason, "queue-full") == 0 ? c->queue->max_queue_text
		                                      : c->queue->closed_text,
		    LANG(c->entry), reason));
		if (strcmp(reason, "queue-full") != 0)
			transcript_closed(c); /* the copy by email, or the question */
	}
	if (c->queue->rating && strcmp(reason, "agent") == 0 && c->first_response_at != 0)
		rating_ask(c->queue, c->entry, c->key, c->customer, c->id, c->contact_id);
	if (a)
		conv_tellf(c, a, "Chat #%" PRId64 " closed. Summary: %s", c->id, summary);
	for (o = c->offers; o; o = o->next_of_conv)
		conv_tellf(c, o->agent, "Chat #%" PRId64 " was closed before anyone took it.",
		    c->id);
	gone_offline(c);
	monitor_closed(c);
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
	counters[C_MAX_WAIT_NOTICES]++;
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
	if (mins > 1) {
		char n[16];

		snprintf(n, sizeof(n), "%d", mins);
		tell_text(c, T_IDLE_MINUTES, TEXT_ARGS(n));
	} else
		tell_text(c, mins == 1 ? T_IDLE_MINUTE : T_IDLE_WHILE, NULL, 0);
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
	                 "%s. !merge %" PRId64 " to link them.",
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
		    "There is no contact #%" PRId64 ". Usage: !merge N, with the "
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
	    "; an admin can undo it with merge-undo). !history shows the earlier "
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

/* A line of the chat to the supervisors following it: "[who] text". */
static void
mirror_line(const struct conv *c, const char *skip, const char *who, const char *text)
{
	char *line = xasprintf("[%s] %s", who, text);

	monitor_mirror(c, skip, line);
	free(line);
}

/* The name a supervisor's whisper carries: theirs as an agent, else their JID. */
static const char *
supervisor_name(const char *bare)
{
	const struct agent *a = config_agent_find(bare);

	return a && a->name ? a->name : bare;
}

/* A supervisor coaches the agent: an internal note, never relayed to the customer. */
void
conversation_whisper(struct conv *c, const char *by, const char *text)
{
	char *line;

	if (store_message_add(c->id, "note", by, text, respa_now()) == -1)
		return; /* the pass fails: component_abort_pass() answers the sender */
	line = xasprintf("[whisper from %s] %s", supervisor_name(by), text);
	if (c->agent)
		conv_tell(c, c->agent, line);
	else
		monitor_mirror(c, NULL,
		    "Nobody holds this chat yet: the whisper is kept as a note "
		    "its agent will see with the transcript.");
	monitor_mirror(c, by, line);
	free(line);
}

/* A supervisor speaks to the customer as the desk: an answer in the transcript, theirs. */
void
conversation_barge(struct conv *c, const char *by, const char *text)
{
	time_t now = respa_now();
	char *line;
	xmpp_stanza_t *m;

	if (store_message_add(c->id, "out", by, text, now) == -1)
		return;
	answer_sent(c);
	if (c->first_response_at == 0) {
		c->first_response_at = now;
		(void)store_conv_first_response(c->id, now);
	}
	activity(c, now);
	m = stanza_message(c->entry->jid, c->customer, text);
	stanza_mark_agent(m, c->queue->title, LANG(c->entry));
	component_send(m);
	counters[C_MESSAGES_OUT]++;
	line = xasprintf("[barge by %s] %s", supervisor_name(by), text);
	if (c->agent)
		conv_tell(c, c->agent, line);
	monitor_mirror(c, by, line);
	free(line);
	log_info("conversation %" PRId64 ": %s barged in", c->id, by);
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
		    "%s is neither an agent nor a queue here. Usage: !transfer "
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
	tell_text(c, T_TRANSFER_AGENT, NULL, 0);
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
	tell_text(c, T_TRANSFER_QUEUE, TEXT_ARGS(q->title));
	c->queue = q;
	c->queued_at = respa_now_ms(); /* tiers count from its arrival in the new queue */
	requeue(c);
	if (c->state == CONV_QUEUED)
		queue_tell_queued(c);
	router_agent_changed(a);
}

void
conversation_overflow(struct conv *c, struct queue *to)
{
	char *text = xasprintf("overflowed from %s to %s", c->queue->name, to->name);

	(void)store_message_add(c->id, "note", conf->jid, text, respa_now());
	(void)store_conv_requeue(c->id, to->name);
	log_info("conversation %" PRId64 ": %s", c->id, text);
	free(text);
	router_move(c, to);
	router_dispatch(to);
	if (c->state == CONV_QUEUED && c->queue == to) /* else "joined" says it all */
		queue_tell_moved(c); /* the customer hears only the new estimate */
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
	xmpp_stanza_t *m;

	if (c->agent != a || store_message_add(c->id, "out", a->jid, text, now) == -1)
		return -1;
	answer_sent(c);
	if (c->first_response_at == 0) {
		c->first_response_at = now;
		(void)store_conv_first_response(c->id, now);
	}
	activity(c, now);
	m = stanza_message(c->entry->jid, c->customer, text);
	stanza_mark_agent(m, agent_nick(c, a), LANG(c->entry));
	component_send(m);
	counters[C_MESSAGES_OUT]++;
	if (c->monitors)
		mirror_line(c, NULL, a->jid, text);
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
static int
transfer(struct conv *c, const char *by, const char *target, const char *note, int takeover,
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
	/* a supervisor takes over while paused or full: only being there counts */
	why = b == NULL ? NULL
	    : takeover  ? (b->show == SHOW_OFFLINE ? "is offline" : NULL)
	                : router_cannot_take(b, c->queue);
	if (why != NULL) {
		snprintf(err, errlen, "%s %s", b->jid, why);
		utf8_trim_end(err);
		return -1;
	}
	text = takeover
	    ? xasprintf("taken over by %s", by)
	    : xasprintf("transferred to %s by %s%s%s", target, by, *note ? ": " : "", note);
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
		if (takeover)
			conv_tellf(c, a,
			    "%s, a supervisor, took chat #%" PRId64 " over: it is no longer yours.",
			    by, c->id);
		else
			conv_tellf(c, a, "%s transferred chat #%" PRId64 " to %s.", by, c->id,
			    target);
	}
	log_info("conversation %" PRId64 " transferred to %s by %s", c->id, target, by);
	if (b) {
		take(c, b);
		text = takeover ? xstrdup("You took it over. Write here to answer.")
		                : xasprintf("%s handed it to you%s%s. Write here to answer.", by,
		                      *note ? ": " : "", note);
		introduce(c, b, "Transferred chat", text);
		free(text);
		if (a)
			tell_text(c, T_TRANSFER_AGENT, NULL, 0);
		else
			tell_joined(c);
		router_agent_changed(b);
	} else {
		tell_text(c, T_TRANSFER_QUEUE, TEXT_ARGS(q->title));
		c->quiet_rejoin = 0; /* they wait for a new agent now, and know it */
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

int
conversation_transfer(struct conv *c, const char *by, const char *target, const char *note,
    char *err, size_t errlen)
{
	return transfer(c, by, target, note, 0, err, errlen);
}

int
conversation_takeover(struct conv *c, struct agent *a, char *err, size_t errlen)
{
	return transfer(c, a->jid, a->jid, "", 1, err, errlen);
}

/* --- messages ------------------------------------------------------------------------- */

/*
 * The text of a message, or NULL when there is none to act on (an error was sent if needed).
 * "" when it has none: a chat state, receipt or marker, relayed but never stored.
 */
static char *
message_text(xmpp_stanza_t *st, const struct queue *q)
{
	char *body, *limit, n[24];

	if (stanza_body_len(st) > conf->max_body) {
		snprintf(n, sizeof(n), "%zu", conf->max_body);
		if (q) /* a customer: in the queue's language */
			limit = config_text(q, T_TOO_LONG, TEXT_ARGS(n));
		else
			limit = texts_fill(texts_get(LANG_EN, T_TOO_LONG), TEXT_ARGS(n));
		component_send(stanza_error_lang(st, "modify", "policy-violation", limit,
		    q ? LANG(q) : NULL, NULL));
		free(limit);
		return NULL;
	}
	if ((body = stanza_body(st)) == NULL)
		body = xstrdup("");
	return body;
}

/* The end-to-end encryption a message uses, by its payload or its text; NULL for none. */
static const char *
encrypted(xmpp_stanza_t *st, const char *body)
{
	const char *e = stanza_encryption(st);

	return e ? e : slash_encryption(body);
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
			    "!accept or !reject first.",
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
	const char *text, *sealed;
	time_t now;

	if (a == NULL || (c->agent != a && offer_find(c, a) == NULL)) {
		if (stanza_body_len(st) > 0) /* a chat state from a former holder: nothing to say */
			component_send(stanza_error(st, "auth", "forbidden",
			    "Only the agent assigned to this conversation may write here."));
		goto done;
	}
	if (c->agent == a)
		c->agent_wrote = 1; /* even a chat state: their client has the chat open */
	if ((body = message_text(st, NULL)) == NULL)
		goto done;
	if ((sealed = encrypted(st, body)) != NULL) { /* neither relayed nor stored */
		conv_tellf(c, a,
		    "%s can't be used in desk chats: respa must read the text to relay it and "
		    "store the transcript. Nothing was sent; turn %s off for this contact.",
		    sealed, sealed);
		goto done;
	}
	if (*body == '\0') {
		if (c->agent == a) /* not an agent the chat is only offered to */
			relay_agent_line(c->ids, st, c->entry->jid, c->customer, NULL,
			    agent_nick(c, a), LANG(c->entry));
		goto done;
	}
	if (c->state == CONV_OFFERED) {
		offered_message(c, a, st, body);
		if (slash_parse(body, &s) || c->agent != a)
			goto done;
	} else if (slash_parse(body, &s)) {
		chatcmd_run(c, a, &s, from); /* may free c */
		goto done;
	}
	now = respa_now();
	/* "//x" is "/x", "!!x" is "!x"; "/me ..." stays: the customer's client shows an action */
	text = slash_text(body);
	if (store_message_add(c->id, "out", bare, text, now) == -1)
		goto done; /* the pass fails: component_abort_pass() answers the sender */
	answer_sent(c);
	if (c->first_response_at == 0) {
		c->first_response_at = now;
		(void)store_conv_first_response(c->id, now);
	}
	activity(c, now);
	relay_agent_line(c->ids, st, c->entry->jid, c->customer, text, agent_nick(c, a),
	    LANG(c->entry));
	counters[C_MESSAGES_OUT]++;
	if (c->monitors)
		mirror_line(c, NULL, a->jid, text);
done:
	free(body);
	free(bare);
}

/* Relays a customer's message to whoever holds the chat or has it on offer. */
static void
to_agents(struct conv *c, xmpp_stanza_t *st, const char *body)
{
	struct offer *o;

	if (body) /* stored: to the agent now, or with the chat to whoever takes it */
		counters[C_MESSAGES_IN]++;
	if (c->state == CONV_ACTIVE)
		relay_message(c->ids, st, RELAY_CUSTOMER, c->addr, c->agent->jid, body);
	for (o = c->offers; o; o = o->next_of_conv)
		relay_message(c->ids, st, RELAY_CUSTOMER, c->addr, o->agent->jid, body);
	if (c->monitors && body && *body)
		mirror_line(c, NULL, "customer", body);
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
		hours_when(c->entry->lang, c->queue->timezone, next, respa_now(), when,
		    sizeof(when));
		tell_text(c, T_OFFLINE_WHEN,
		    TEXT_ARGS(c->queue->offline_text, when, c->queue->timezone));
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
conversation_open(struct queue *q, const char *from, const struct visitor *v, int offline,
    time_t now)
{
	const char *channel = crm_channel(conf, from, v != NULL);
	const char *session = v ? v->session : NULL;
	int64_t contact, id = -1;
	struct conv *c;
	char *last;
	int fresh = 0;

	if ((contact = contact_for(from, channel, v, now, &fresh)) != -1)
		id = store_conv_add(q->name, from, contact, channel, offline ? "offline" : "queued",
		    session, now);
	if (id == -1)
		return NULL;
	log_info("conversation %" PRId64 " opened in %s (%s)", id, q->name, channel);
	counters[C_CONVERSATIONS_OPENED]++;
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
refuse(xmpp_stanza_t *st, const char *bare, const char *type, const char *text, const char *lang)
{
	if (limits_allow(LIMIT_ANSWER, bare))
		component_send(stanza_error_lang(st, type, "policy-violation", text, lang, NULL));
}

/* 1 when the customer may not open another conversation now; they were told why. */
static int
open_refused(const struct queue *q, xmpp_stanza_t *st, const char *bare, const struct visitor *v)
{
	int max = conf->max_open_per_customer;
	char *text, n[16];

	if (max > 0 &&
	    (over_open('j', bare) || (v && over_open('s', v->session)) ||
	        (v && v->id && over_open('v', v->id)))) {
		snprintf(n, sizeof(n), "%d", max);
		text = config_text(q, T_LIMIT_OPEN, TEXT_ARGS(n));
		refuse(st, bare, "cancel", text, LANG(q));
		free(text);
		log_debug("limits: %s has %d open conversations; another refused", bare, max);
		return 1;
	}
	if (!limits_allow(LIMIT_OPEN, bare)) {
		text = CONFIG_TEXT(q, T_LIMIT_OPENS);
		refuse(st, bare, "wait", text, LANG(q));
		free(text);
		log_debug("limits: %s opens conversations too fast", bare);
		return 1;
	}
	return 0;
}

/* 1 when the customer writes faster than messages_per_minute; a message was told so. */
static int
message_refused(const struct queue *q, xmpp_stanza_t *st, const char *bare, const char *body)
{
	char *text;

	if (limits_allow(LIMIT_MESSAGE, bare))
		return 0;
	if (*body) { /* a chat state or receipt goes without an answer: nothing is lost */
		text = CONFIG_TEXT(q, T_LIMIT_MESSAGES);
		refuse(st, bare, "wait", text, LANG(q));
		free(text);
	}
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
	followup(c, "follow-up", "Queue full"); /* closing tells them, max_queue_text */
	if (conversation_close(c, "queue-full", NULL, 0) == -1)
		log_warnx("conversation %" PRId64 ": could not be closed; it stays in line", c->id);
}

/*
 * The widget's pre-chat values, judged before anything is stored: 0, or -1 when the visitor
 * was told what is wrong (bad-request, or not-acceptable for a topic this queue does not take).
 */
static int
prechat_refused(struct queue *q, xmpp_stanza_t *st, const struct visitor *v, char *email,
    size_t emaillen)
{
	const char *field;
	enum text_id why;
	char *text, n[16];
	int limit;

	if (crm_prechat_check(v, email, emaillen, &field, &why, &limit) == 0) {
		if (v->topic == NULL || *v->topic == '\0' || config_queue_topic(q, v->topic))
			return 0;
		text = config_text(q, T_UNKNOWN_TOPIC, TEXT_ARGS(v->topic));
		component_send(
		    stanza_error_lang(st, "modify", "not-acceptable", text, LANG(q), "topic"));
		free(text);
		log_debug("queue %s: pre-chat topic it does not take", q->name);
		return -1;
	}
	snprintf(n, sizeof(n), "%d", limit);
	text = config_text(q, why, TEXT_ARGS(n)); /* texts without {1} ignore it */
	component_send(stanza_error_lang(st, "modify", "bad-request", text, LANG(q), field));
	free(text);
	log_debug("queue %s: pre-chat %s refused", q->name, field);
	return -1;
}

/* What the pre-chat form gave: the contact's name and email (unverified), the chat's topic. */
static void
prechat_store(struct conv *c, const struct visitor *v, const char *email)
{
	char *name, *tag;

	if (v->name && *v->name) {
		name = xstrdup(v->name);
		str_trim(name);
		if (*name)
			(void)store_contact_name_fill(c->contact_id, name);
		free(name);
	}
	if (*email) /* as if written in the chat: it never merges contacts by itself */
		conversation_learn(c, "email", email);
	if (v->topic && *v->topic) {
		tag = xasprintf("topic:%s", v->topic);
		(void)store_tag_add(c->id, tag);
		free(tag);
		c->topic = xstrdup(v->topic);
	}
}

/* An offline form: kept as an offline conversation and task, and the visitor told when. */
static void
offline_form(struct conv *c, const char *email)
{
	char when[64];
	time_t next =
	    c->queue->open ? 0 : hours_next_open(c->queue->hours, c->queue->timezone, respa_now());

	conv_enter_state(c, CONV_OFFLINE);
	TAILQ_INSERT_TAIL(&c->queue->offline, c, wait_link);
	if (next) {
		hours_when(c->entry->lang, c->queue->timezone, next, respa_now(), when,
		    sizeof(when));
		tell_text(c, T_OFFLINE_THANKS, TEXT_ARGS(email, when, c->queue->timezone));
	} else
		tell_text(c, T_OFFLINE_THANKS_SOON, TEXT_ARGS(email));
	followup(c, "offline", "Offline form");
	log_info("conversation %" PRId64 " in %s: an offline form", c->id, c->queue->name);
}

/* Where a new chat of q goes: q when open, else the first open queue along closed_overflow. */
static struct queue *
open_overflow(struct queue *q)
{
	while (!q->open && q->closed_overflow) /* config.c refuses cycles */
		q = q->closed_overflow;
	return q->open ? q : NULL;
}

static void
customer_message(struct queue *q, xmpp_stanza_t *st, const char *from)
{
	char *bare = jid_bare(from), *key = NULL, *body = NULL, *text;
	char email[PRECHAT_EMAIL_MAX + 1] = "";
	struct visitor visitor, *v = stanza_visitor(st, &visitor) ? &visitor : NULL;
	const char *sealed;
	struct conv *c;
	struct queue *to = NULL;
	time_t now = respa_now();
	int opened = 0, form = 0;

	if (config_agent_find(bare)) {
		text = CONFIG_TEXT(q, T_AGENT_NOT_CUSTOMER);
		component_send(
		    stanza_error_lang(st, "cancel", "not-acceptable", text, LANG(q), NULL));
		free(text);
		goto done;
	}
	if ((body = message_text(st, q)) == NULL || message_refused(q, st, bare, body))
		goto done;
	if ((sealed = encrypted(st, body)) !=
	    NULL) { /* opens nothing, neither relayed nor stored */
		if (limits_allow(LIMIT_ANSWER, bare)) {
			text = xasprintf(
			    "Your message was encrypted (%s), so it could not be read: "
			    "we must read messages to answer them and keep a record of the "
			    "conversation. Please turn %s off for this contact and write "
			    "again.",
			    sealed, sealed);
			component_send(stanza_message(q->jid, from, text));
			free(text);
		}
		goto done;
	}
	key = conv_key(q, from, v ? v->session : NULL);
	if (*body == '\0') {
		if ((c = map_get(by_key, key)) != NULL) /* opens nothing */
			to_agents(c, st, NULL);
		goto done;
	}
	if ((c = map_get(by_key, key)) == NULL) {
		/* after a chat: a number or stars rate it, a yes, no or address asks for the copy */
		if (rating_reply(q, key, st, from, body))
			goto done;
		if (transcript_reply(q, key, from, body))
			goto done; /* a yes or no: the rating question waits on for its buttons */
		rating_forget(key);
		/* pre-chat values come with the first message only; checked before anything */
		if (v && prechat_refused(q, st, v, email, sizeof(email)) == -1)
			goto done;
		if (open_refused(q, st, bare, v))
			goto done;
		form = v && v->offline;
		to = form ? NULL : open_overflow(q);
		if ((c = conversation_open(q, from, v, form || !to, now)) == NULL)
			goto done; /* not stored: the pass fails and component_abort_pass() answers */
		opened = 1;
		if (to && to != q) { /* closed: an open queue takes it; the record keeps both */
			(void)store_conv_requeue(c->id, to->name);
			c->queue = to;
			log_info("conversation %" PRId64 ": %s is closed; routed to %s", c->id,
			    q->name, to->name);
		}
		if (v)
			prechat_store(c, v, email);
	} else
		follow_customer(c, from);
	if (store_message_add(c->id, "in", from, body, now) == -1)
		goto done;
	timer_cancel(&c->grace_timer); /* writing is being there */
	c->left_at = 0;
	activity(c, now);
	to_agents(c, st, body);
	detect_contact(c, body); /* after: a possible match follows the line that has it */
	if (opened) {
		if (form)
			offline_form(c, email);
		else if (!to)
			capture_offline(c);
		else {
			conv_tell_customer(c, q->greeting);
			router_enqueue(c);
			if (c->state == CONV_QUEUED && c->queue->max_queue > 0 &&
			    c->queue->nwaiting > (size_t)c->queue->max_queue)
				line_full(c);
			else if (c->state == CONV_QUEUED)
				queue_tell_queued(c);
		}
		queue_show_to(q, from); /* after routing: the state this customer is in now */
	} else if (c->state == CONV_OFFLINE && c->queue->open)
		offline_to_queue(c);
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
			    "not delivered. Please wait a few seconds.",
			    NULL);
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

	if ((body = message_text(st, NULL)) == NULL || *body == '\0') {
		free(body);
		free(bare);
		return;
	}
	if (alert_command(st, from, body))
		; /* !alerts: a supervisor's, agent or not */
	else if (monitor_desk(st, from, bare, body))
		; /* !monitor, !unmonitor: a supervisor's, whether or not an agent */
	else if (a)
		chatcmd_agent(a, body);
	else {
		if (q) /* in the first queue's language: the desk's own */
			text = config_text(q, T_DESK, TEXT_ARGS(q->title, q->jid));
		else
			text = texts_fill(texts_get(LANG_EN, T_DESK_EMPTY), NULL, 0);
		component_send(stanza_notice(conf->jid, from, text, q ? LANG(q) : NULL));
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
		bounced(st, from, to); /* never answered */
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
	else if (strncmp(node, "m-", 2) == 0)
		monitor_message(st, from, node);
	else if (stanza_body_len(st) > 0) { /* a late chat state or receipt needs no answer */
		struct queue *first = config_queues(); /* its language is the desk's own */
		int lang = first ? first->lang : LANG_EN;

		component_send(stanza_error_lang(st, "cancel", "item-not-found",
		    texts_get(lang, T_NO_ADDRESS), texts_lang_code(lang), NULL));
	}
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
	if (c->first_response_at == 0) {
		/*
		 * A wait that ran out before made a task, unless the pass that made it failed
		 * (or respa was down at the time): then the customer was told nothing either,
		 * and the timer runs now.
		 */
		time_t due = s->created_at + q->max_wait;

		if (due <= now && store_task_open_for(c->contact_id, q->jid, "follow-up") != 0)
			c->followup = 1;
		else
			timer_at(&c->max_wait_timer, (int64_t)(due > now ? due : now) * 1000);
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

/* A rating question still in its window waits again, unless a new chat has begun since. */
static int
restore_rating(const struct stored_rating_wait *w, void *arg)
{
	struct queue *q = config_queue(w->queue), *entry = config_queue(w->entry_queue);
	char *key;

	(void)arg;
	if (q == NULL || entry == NULL || !q->rating ||
	    w->asked_at + q->rating_window <= respa_now())
		return 0;
	key = conv_key(entry, w->customer_jid, w->session);
	if (map_get(by_key, key) == NULL)
		rating_wait(q, entry, key, w->customer_jid, w->conv, w->contact_id, w->asked_at);
	free(key);
	return 0;
}

int
conversation_restore(void)
{
	struct queue *q;
	int window = 0;

	if (store_conv_open_foreach(restore_one, NULL) == -1)
		return -1;
	for (q = config_queues(); q; q = q->next)
		if (q->rating && q->rating_window > window)
			window = q->rating_window;
	if (window &&
	    store_ratings_waiting_foreach(respa_now() - window, restore_rating, NULL) == -1)
		return -1;
	if (conversation_count())
		log_info("resumed %zu open conversations", conversation_count());
	return 0;
}

/* --- chats an agent starts ------------------------------------------------------------- */

/* The only gateway (a [domain] of a channel neither xmpp nor web), or NULL (none, several). */
static const struct domain *
only_gateway(int *n)
{
	const struct domain *d, *found = NULL;

	*n = 0;
	for (d = conf->domains; d; d = d->next)
		if (strcmp(d->channel, "web") != 0 && strcmp(d->channel, "xmpp") != 0) {
			found = d;
			(*n)++;
		}
	return *n == 1 ? found : NULL;
}

/*
 * Who /start writes to: the contact and the address (to, channel). 0, or -1 with err filled.
 * Only contacts respa knows: a chat the business starts goes to someone who wrote before.
 */
static int
start_target(const char *who, int64_t *contact, char *to, size_t tolen, char *channel, size_t chlen,
    char *err, size_t errlen)
{
	char phone[24], seen[512], *bare = NULL, *end;
	const struct domain *gw;
	long long n;
	int ngw, digits = who[0] == '#' || (who[0] >= '1' && who[0] <= '9');

	*contact = 0;
	if (digits && (n = strtoll(who + (who[0] == '#'), &end, 10)) > 0 && *end == '\0') {
		struct contact_card k;

		if (store_contact_fields((int64_t)n, &k) == -1) {
			snprintf(err, errlen, "there is no contact #%lld", n);
			return -1;
		}
		*contact = k.id;
		if (store_contact_reach(k.id, seen, sizeof(seen), channel, chlen) != 1) {
			snprintf(err, errlen, "contact #%" PRId64 " has no address to write to",
			    k.id);
			return -1;
		}
		if (strcmp(channel, "web") == 0) {
			snprintf(err, errlen,
			    "contact #%" PRId64 " came only as an anonymous web visitor, who "
			    "cannot be reached once the page is closed",
			    k.id);
			return -1;
		}
		if (strcmp(channel, "xmpp") == 0) { /* any client of the account */
			bare = jid_bare(seen);
			str_copy(to, tolen, bare);
			free(bare);
		} else /* a gateway: the exact JID its user wrote from */
			str_copy(to, tolen, seen);
		return 0;
	}
	if (strchr(who, '@')) {
		bare = jid_bare(who);
		if (!jid_valid_bare(bare)) {
			snprintf(err, errlen, "\"%.*s\" is not a JID", (int)utf8_prefix(who, 60),
			    who);
			free(bare);
			return -1;
		}
		str_copy(channel, chlen, crm_channel(conf, bare, 0));
		if (strcmp(channel, "web") == 0)
			snprintf(err, errlen,
			    "%s is an anonymous web visitor, who cannot be reached once the "
			    "page is closed",
			    bare);
		else if (config_agent_find(bare))
			snprintf(err, errlen, "%s is an agent of this desk, not a customer", bare);
		else if ((*contact = store_contact_known("jid", bare)) == 0)
			snprintf(err, errlen,
			    "no contact is known by %s: respa starts chats only with "
			    "customers who have written before",
			    bare);
		else
			err[0] = '\0';
		str_copy(to, tolen, bare);
		free(bare);
		return *err || *contact <= 0 ? -1 : 0;
	}
	if (crm_phone_e164(who, conf->default_country, phone, sizeof(phone)) == -1) {
		snprintf(err, errlen,
		    "\"%.*s\" is neither a contact number (#12), a JID nor a phone number "
		    "(+358401234567)",
		    (int)utf8_prefix(who, 60), who);
		return -1;
	}
	if ((*contact = store_contact_known("phone", phone)) <= 0) {
		snprintf(err, errlen,
		    "no contact is known by %s: respa starts chats only with customers "
		    "who have written before",
		    phone);
		return -1;
	}
	/* the number's own gateway JID when it came through one, else the only gateway */
	if (store_contact_reach(*contact, seen, sizeof(seen), channel, chlen) == 1 &&
	    strcmp(channel, "web") != 0 && strcmp(channel, "xmpp") != 0 &&
	    crm_jid_phone(seen, conf->default_country, to, tolen) == 0 && strcmp(to, phone) == 0) {
		str_copy(to, tolen, seen);
		return 0;
	}
	if ((gw = only_gateway(&ngw)) == NULL) {
		snprintf(err, errlen,
		    ngw ? "several gateways could carry %s: write its JID instead "
		          "(as %s@gateway)"
		        : "no gateway with phone numbers is configured for %s",
		    phone, phone);
		return -1;
	}
	snprintf(to, tolen, "%s@%s", phone, gw->name);
	str_copy(channel, chlen, gw->channel);
	return 0;
}

/* The queue the chat goes out from: the one named, else the agent's first. */
static struct queue *
start_queue(const struct agent *a, const char *name, char *err, size_t errlen)
{
	struct queue *q = name && *name ? config_queue(name)
	    : a->members                ? a->members->queue
	                                : NULL;

	if (name && *name && q == NULL)
		snprintf(err, errlen, "there is no queue %s", name);
	else if (q == NULL)
		snprintf(err, errlen, "you are not an agent of any queue");
	else if (config_member_find(a, q) == NULL)
		snprintf(err, errlen, "you are not an agent of %s", q->title);
	else
		return q;
	return NULL;
}

int64_t
conversation_start(struct agent *a, const char *who, const char *queue, const char *text, char *err,
    size_t errlen)
{
	char to[512], channel[64], *key;
	struct queue *q;
	struct conv *c;
	int64_t contact, id, open;
	time_t now = respa_now();
	int cap;

	if ((q = start_queue(a, queue, err, errlen)) == NULL)
		goto fail;
	cap = q->capacity ? q->capacity : a->capacity;
	if (a->chats + a->offers >= cap) {
		snprintf(err, errlen, "you have no free slot (%d chats of %d)", a->chats, cap);
		goto fail;
	}
	if (*text == '\0') {
		snprintf(err, errlen, "the first message to the customer is missing");
		goto fail;
	}
	if (start_target(who, &contact, to, sizeof(to), channel, sizeof(channel), err, errlen) ==
	    -1)
		goto fail;
	key = conv_key(q, to, NULL);
	c = map_get(by_key, key);
	free(key);
	if (c || store_contact_open_count(contact, &open) != 0) {
		snprintf(err, errlen, "contact #%" PRId64 " has a chat open already (#%" PRId64 ")",
		    contact, c ? c->id : open);
		goto fail;
	}
	if ((id = store_conv_add(q->name, to, contact, channel, "queued", NULL, now)) == -1 ||
	    store_conv_outbound(id) == -1 ||
	    store_message_add(id, "out", a->jid, text, now) == -1 ||
	    store_conv_first_response(id, now) == -1) {
		snprintf(err, errlen, "the database failed; try again");
		goto fail;
	}
	c = conv_new(id, q, q, to, NULL, channel, contact, now);
	c->answered = 1;
	c->first_response_at = now;
	take(c, a);
	activity(c, now);
	log_info("conversation %" PRId64 " in %s started by %s (outbound, %s)", id, q->name, a->jid,
	    channel);
	introduce(c, a, "Outbound chat",
	    "You started it: your message went to the customer, and their replies "
	    "come here.");
	conv_tell_customer(c, text);
	router_agent_changed(a);
	return id;
fail:
	utf8_trim_end(err);
	return -1;
}
