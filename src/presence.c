/*
 * Agents' presence: every resource's <show/>, folded into one availability per agent.
 * respa asks each agent for a subscription from the component's domain and probes at connect.
 */
#include <stdlib.h>
#include <string.h>

#include "respa.h"

static struct config *conf;

static const char *const show_names[] = {
	[SHOW_OFFLINE] = "offline", [SHOW_DND] = "dnd", [SHOW_XA] = "xa",
	[SHOW_AWAY] = "away", [SHOW_AVAILABLE] = "available", [SHOW_CHAT] = "chat",
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

void
presence_init(struct config *c)
{
	conf = c;
}

struct agent *
presence_agent(const char *bare)
{
	return map_get(conf->agent_map, bare);
}

/* Free for a new chat: some resource is available or chat, and a slot is free. */
int
agent_can_take(const struct agent *a)
{
	return a->show >= SHOW_AVAILABLE && a->chats < a->capacity;
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

static void
agent_presence(struct agent *a, const char *from, const char *type, xmpp_stanza_t *st)
{
	const char *res = strchr(from, '/');
	enum show before = a->show;

	/*
	 * A bare "unavailable" is the server's answer to a probe or subscription when no
	 * resource is online; it says nothing about resources we know of.
	 */
	if (res == NULL)
		return;
	resource_set(a, res + 1, type ? SHOW_OFFLINE : show_parse(stanza_show(st)));
	a->show = best_show(a);
	if (a->show != before) {
		log_info("agent %s is %s", a->jid, show_name(a->show));
		router_agent_changed(a);
	}
}

/* Customers may subscribe to a queue address; they see it online. */
static void
address_presence(const char *from, const char *to, const char *type)
{
	if (strcmp(type, "subscribe") == 0) {
		component_send(stanza_presence(to, from, "subscribed"));
		component_send(stanza_presence(to, from, NULL));
	} else if (strcmp(type, "probe") == 0)
		component_send(stanza_presence(to, from, NULL));
	else if (strcmp(type, "unsubscribe") == 0)
		component_send(stanza_presence(to, from, "unsubscribed"));
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
	} else if (strcmp(type, "error") == 0)
		log_debug("presence error from %s", from);
	else if (a && strcmp(type, "unsubscribed") == 0)
		log_info("agent %s does not share presence with %s (yet): no chats are offered "
		    "until they approve the subscription", a->jid, conf->jid);
	else if (a && strcmp(type, "subscribed") == 0)
		log_info("agent %s approved the presence subscription", a->jid);
	else if (strcmp(type, "subscribed") != 0 && strcmp(type, "unsubscribed") != 0)
		address_presence(from, to, type);
	free(bare);
	return 1;
}

/* At every connect: ask each agent for its presence; the server answers with what is online. */
void
presence_connected(void)
{
	struct agent *a;
	struct resource *r, *next;

	for (a = conf->agents; a; a = a->next) {
		/* what we knew is stale after a disconnect; the probe brings it back */
		for (r = a->resources; r; r = next) {
			next = r->next;
			free(r->name);
			free(r);
		}
		a->resources = NULL;
		a->show = SHOW_OFFLINE;
		router_agent_changed(a);
		/*
		 * Probe first: Prosody answers a probe from a non-subscriber with "unsubscribed"
		 * on the agent's behalf, which would cancel a subscription request sent before it.
		 */
		component_send(stanza_presence(conf->jid, a->jid, "probe"));
		component_send(stanza_presence(conf->jid, a->jid, "subscribe"));
	}
}
