/*
 * Agents' availability: every resource's <show/> folded into one per agent, the pause an
 * agent sets by hand (or missed offers set for them), wrap-up after a chat, and the grace
 * an agent who went offline has before their chats move on. respa asks each agent for a
 * subscription from the component's domain and probes at connect; ejabberd drops a request
 * to an account that does not exist yet, so agents not heard from are asked again on a slow
 * timer and when they write to respa.
 */
#include <stdlib.h>
#include <string.h>

#include "respa.h"

#define ASK_AGAIN_MS 10000 /* an agent writing many lines is asked once, not per line */

static struct config *conf;
static int unheard;              /* agents not heard from: 0 skips every lookup */
static struct timer retry_timer; /* asks them again every subscribe_retry */
static struct timer check_timer; /* probes those counted online every presence_check */
#define CHECK_ANSWER_MS 60000    /* a bare unavailable this soon after is that probe's answer */

static const char *const show_names[] = {
	[SHOW_OFFLINE] = "offline",
	[SHOW_DND] = "dnd",
	[SHOW_XA] = "xa",
	[SHOW_AWAY] = "away",
	[SHOW_AVAILABLE] = "available",
	[SHOW_CHAT] = "chat",
};

const char *
show_name(enum show s)
{
	return show_names[s];
}

static enum show
show_parse(const char *s)
{
	if (s == NULL)
		return SHOW_AVAILABLE;
	if (strcmp(s, "chat") == 0)
		return SHOW_CHAT;
	if (strcmp(s, "away") == 0)
		return SHOW_AWAY;
	if (strcmp(s, "xa") == 0)
		return SHOW_XA;
	if (strcmp(s, "dnd") == 0)
		return SHOW_DND;
	return SHOW_AVAILABLE; /* RFC 6121: an unknown <show/> is plain available */
}

/* Paused agents get no new chats whatever their client says; they keep the open ones. */
void
agent_pause(struct agent *a, const char *reason)
{
	free(a->pause_reason);
	a->pause_reason = reason && *reason ? xstrdup(reason) : NULL;
	a->paused = 1;
	(void)store_agent_status(a->jid, 1, a->pause_reason, respa_now());
	log_info("agent %s paused%s%s", a->jid, reason && *reason ? ": " : "",
	    reason ? reason : "");
	router_agent_changed(a);
}

void
agent_ready(struct agent *a)
{
	free(a->pause_reason);
	a->pause_reason = NULL;
	a->paused = 0;
	a->missed = 0;
	(void)store_agent_status(a->jid, 0, NULL, respa_now());
	log_info("agent %s ready", a->jid);
	router_agent_changed(a);
}

static void
wrap_timer(void *arg)
{
	router_agent_changed(arg);
}

/* No new chat for seconds after closing one. */
void
agent_wrap_up(struct agent *a, int seconds)
{
	int64_t until = respa_now_ms() + (int64_t)seconds * 1000;

	if (seconds <= 0 || until <= a->wrap_until)
		return;
	a->wrap_until = until;
	timer_at(&a->wrap_timer, until);
}

/* The grace ran out with the agent still offline: its chats go to others. */
static void
grace_timer(void *arg)
{
	struct agent *a = arg;

	log_info("agent %s still offline after %d s: its %d chats go back to their queues", a->jid,
	    conf->agent_grace, a->chats);
	conversation_agent_gone(a);
}

static void ask(struct agent *);

/*
 * A message to the agent bounced: its client is gone though its presence may still say
 * available (the server hibernates a dead client's session). No new chats until a presence
 * says it is there; its open chats wait agent_grace, as when it goes offline.
 */
void
agent_unreachable(struct agent *a)
{
	if (!a->unreachable) {
		a->unreachable = 1;
		log_info("agent %s did not get a message: no new chats until its client is back",
		    a->jid);
		component_send(stanza_presence(conf->jid, a->jid, "probe"));
		router_agent_changed(a);
	}
	if (a->chats > 0 && !timer_armed(&a->grace_timer))
		timer_in(&a->grace_timer, conf->agent_grace);
}

static void
ask(struct agent *a)
{
	/*
	 * Probe first: Prosody answers a probe from a non-subscriber with "unsubscribed" on the
	 * agent's behalf, which would cancel a subscription request sent before it.
	 */
	component_send(stanza_presence(conf->jid, a->jid, "probe"));
	component_send(stanza_presence(conf->jid, a->jid, "subscribe"));
}

static void
heard(struct agent *a)
{
	if (!a->heard) {
		a->heard = 1;
		unheard--;
	}
}

static void
retry_timer_fn(void *arg)
{
	struct agent *a;

	(void)arg;
	if (!component_is_connected())
		return; /* the next connect asks everyone and arms us again */
	if (unheard > 0)
		for (a = conf->agents; a; a = a->next)
			if (!a->heard) {
				log_debug("agent %s not heard from: asking again", a->jid);
				ask(a);
			}
	timer_in(&retry_timer, conf->subscribe_retry);
}

/*
 * Whether those counted online still are. The server tells respa when a client goes, but not
 * always: on an ejabberd cluster whose node was killed, its sessions vanish without a word.
 * A probe is answered with what is online now, a bare "unavailable" when nothing is.
 */
static void
check_timer_fn(void *arg)
{
	struct agent *a;

	(void)arg;
	for (a = conf->agents; a; a = a->next) /* while the link is down, none is counted online */
		if (a->show != SHOW_OFFLINE) {
			a->checked_at = respa_now_ms();
			component_send(stanza_presence(conf->jid, a->jid, "probe"));
		}
	timer_in(&check_timer, conf->presence_check);
}

void
presence_sender(const char *from)
{
	struct agent *a;
	char *bare;

	if (unheard == 0 || from == NULL)
		return;
	bare = jid_bare(from);
	a = map_get(conf->agent_map, bare);
	free(bare);
	if (a && !a->heard && respa_now_ms() - a->asked_at >= ASK_AGAIN_MS) {
		log_info("agent %s wrote before sharing its presence: asking again", a->jid);
		a->asked_at = respa_now_ms();
		ask(a);
	}
}

static void
forget_resources(struct agent *a)
{
	struct resource *r, *next;

	for (r = a->resources; r; r = next) {
		next = r->next;
		free(r->name);
		free(r);
	}
	a->resources = NULL;
}

static enum show
best_show(const struct agent *a)
{
	enum show best = SHOW_OFFLINE;
	struct resource *r;

	for (r = a->resources; r; r = r->next)
		if (r->show > best)
			best = r->show;
	return best;
}

static int
resource_known(const struct agent *a, const char *name)
{
	const struct resource *r;

	for (r = a->resources; r; r = r->next)
		if (strcmp(r->name, name) == 0)
			return 1;
	return 0;
}

/* Sets one resource's show; SHOW_OFFLINE removes it. */
static void
resource_set(struct agent *a, const char *name, enum show show)
{
	struct resource **pp, *r;

	for (pp = &a->resources; *pp; pp = &(*pp)->next)
		if (strcmp((*pp)->name, name) == 0)
			break;
	if (*pp && show == SHOW_OFFLINE) {
		r = *pp;
		*pp = r->next;
		free(r->name);
		free(r);
	} else if (*pp)
		(*pp)->show = show;
	else if (show != SHOW_OFFLINE) {
		r = xcalloc(1, sizeof(*r));
		r->name = xstrdup(name);
		r->show = show;
		r->next = a->resources;
		a->resources = r;
	}
}

/* Offers are withdrawn at once; open chats wait for the agent's grace period. */
static void
agent_went_offline(struct agent *a)
{
	conversation_withdraw_offers(a);
	if (a->chats > 0 && !timer_armed(&a->grace_timer))
		timer_in(&a->grace_timer, conf->agent_grace);
}

static void
agent_presence(struct agent *a, const char *from, const char *type, xmpp_stanza_t *st)
{
	const char *res = strchr(from, '/');
	enum show before = a->show;
	int fresh, back = 0;

	/*
	 * A bare "unavailable" is the server's answer to a probe or subscription when no
	 * resource is online. Only the answer to a presence_check probe says that those we
	 * know of are gone: their server lost them without a word (a killed cluster node).
	 */
	if (res == NULL) {
		if (type && strcmp(type, "unavailable") == 0 && a->resources && a->checked_at &&
		    respa_now_ms() - a->checked_at < CHECK_ANSWER_MS) {
			log_info("agent %s: the server says no client is online", a->jid);
			a->checked_at = 0;
			forget_resources(a);
			a->show = SHOW_OFFLINE;
			agent_went_offline(a);
			router_agent_changed(a);
		}
		return;
	}
	heard(a);
	fresh = type == NULL && !resource_known(a, res + 1); /* a client that logged in */
	if (fresh)                                           /* its chats are online there */
		conversation_show_to(a, from);
	resource_set(a, res + 1, type ? SHOW_OFFLINE : show_parse(stanza_show(st)));
	a->show = best_show(a);
	if (type == NULL && a->unreachable) {
		a->unreachable = 0;
		back = 1;
		log_info("agent %s is there again after a bounce", a->jid);
		if (a->show != SHOW_OFFLINE && before != SHOW_OFFLINE &&
		    timer_armed(&a->grace_timer)) {
			timer_cancel(&a->grace_timer); /* never went offline: the client lives */
			log_info("agent %s keeps its chats", a->jid);
		}
	}
	if (fresh)
		conversation_agent_back(a); /* what its lost client missed */
	if (a->show == before) {
		if (back)
			router_agent_changed(a);
		return;
	}
	log_info("agent %s is %s", a->jid, show_name(a->show));
	if (a->show == SHOW_OFFLINE)
		agent_went_offline(a);
	else if (before == SHOW_OFFLINE) {
		if (timer_armed(&a->grace_timer)) {
			timer_cancel(&a->grace_timer);
			log_info("agent %s is back within the grace period and keeps its chats",
			    a->jid);
		}
		tasks_agent_online(a); /* what fell due while they were away */
	}
	router_agent_changed(a);
}

int
presence_handler(xmpp_conn_t *conn, xmpp_stanza_t *st, void *arg)
{
	const char *from = xmpp_stanza_get_from(st), *to = xmpp_stanza_get_to(st);
	const char *type = xmpp_stanza_get_type(st);
	struct agent *a;
	char *bare;

	(void)conn, (void)arg;
	if (from == NULL || to == NULL)
		return 1;
	bare = jid_bare(from);
	a = map_get(conf->agent_map, bare);
	if (type == NULL || strcmp(type, "unavailable") == 0) {
		if (a)
			agent_presence(a, from, type, st);
		else /* a watcher of a queue, or a customer coming and going */
			queue_presence_in(st, from, to, type);
	} else if (strcmp(type, "error") == 0)
		log_debug("presence error from %s", from);
	else if (a && strcmp(type, "unsubscribed") == 0)
		log_info("agent %s does not share presence with %s (yet): no chats are offered "
		         "until they approve the subscription",
		    a->jid, conf->jid);
	else if (a && strcmp(type, "subscribed") == 0) {
		heard(a);
		log_info("agent %s approved the presence subscription", a->jid);
	} else if (strcmp(type, "subscribed") != 0 && strcmp(type, "unsubscribed") != 0)
		queue_presence_in(st, from, to, type); /* subscribe, probe, unsubscribe */
	free(bare);
	return 1;
}

static int
restore_status(const char *jid, int paused, const char *reason, void *arg)
{
	struct agent *a = config_agent_find(jid);

	(void)arg;
	if (a && paused) {
		a->paused = 1;
		a->pause_reason = reason ? xstrdup(reason) : NULL;
		log_info("agent %s is still paused%s%s", a->jid, reason ? ": " : "",
		    reason ? reason : "");
	}
	return 0;
}

/* Timers of every agent, and the pauses that outlive a restart. */
void
presence_init(struct config *c)
{
	struct agent *a;

	conf = c;
	timer_init(&retry_timer, retry_timer_fn, NULL);
	timer_init(&check_timer, check_timer_fn, NULL);
	for (a = conf->agents; a; a = a->next) {
		timer_init(&a->wrap_timer, wrap_timer, a);
		timer_init(&a->grace_timer, grace_timer, a);
		unheard++;
	}
	(void)store_agent_status_foreach(restore_status, NULL);
}

/* An agent added by a command: asked for its presence at once, as at connect. */
void
presence_agent_added(struct agent *a)
{
	timer_init(&a->wrap_timer, wrap_timer, a);
	timer_init(&a->grace_timer, grace_timer, a);
	unheard++;
	if (!component_is_connected())
		return; /* the next connect asks */
	ask(a);
}

void
presence_agent_removed(struct agent *a)
{
	timer_cancel(&a->wrap_timer);
	timer_cancel(&a->grace_timer);
	heard(a); /* no longer counted */
}

/* At every connect: ask each agent for its presence; the server answers with what is online. */
void
presence_connected(void)
{
	struct agent *a;

	for (a = conf->agents; a; a = a->next) {
		/* what we knew is stale after a disconnect; the probe brings it back */
		forget_resources(a);
		if (a->show != SHOW_OFFLINE) {
			a->show = SHOW_OFFLINE;
			agent_went_offline(a);
		} else if (a->chats > 0 && !timer_armed(&a->grace_timer))
			timer_in(&a->grace_timer, conf->agent_grace); /* restored, not seen yet */
		router_agent_changed(a);
		ask(a);
	}
	timer_in(&retry_timer, conf->subscribe_retry);
	if (conf->presence_check > 0)
		timer_in(&check_timer, conf->presence_check);
}
