/*
 * iq requests: a table from payload namespace to handler. Every get or set gets exactly one
 * reply; what no handler answers gets service-unavailable.
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "respa.h"

/* What an iq is addressed to on the component. */
enum target { TO_DOMAIN, TO_QUEUE, TO_CONVERSATION, TO_UNKNOWN };

static enum target
iq_target(xmpp_stanza_t *iq, struct queue **q)
{
	char node[256], domain[256];
	const char *to = xmpp_stanza_get_to(iq);

	*q = NULL;
	if (to == NULL || jid_split(to, node, sizeof(node), domain, sizeof(domain)) == -1)
		return TO_UNKNOWN;
	if (node[0] == '\0')
		return TO_DOMAIN;
	if ((*q = config_queue(node)) != NULL)
		return TO_QUEUE;
	if (conversation_find(node) != NULL)
		return TO_CONVERSATION;
	return TO_UNKNOWN;
}

/* "NODE#ver": the caps node of respa's presence (XEP-0115), asked to learn what ver means. */
static int
caps_node(const char *node)
{
	size_t n = strlen(CAPS_NODE);

	return strncmp(node, CAPS_NODE, n) == 0 && node[n] == '#';
}

static xmpp_stanza_t *
disco_info(xmpp_stanza_t *iq, xmpp_stanza_t *query)
{
	const char *node = xmpp_stanza_get_attribute(query, "node");
	struct queue *q;
	enum target t = iq_target(iq, &q);

	if (node && caps_node(node))
		node = NULL; /* the same answer, its node echoed */
	if (node)
		return t == TO_DOMAIN
		    ? adhoc_disco_info(iq, node)
		    : stanza_error(iq, "cancel", "item-not-found", "no such node");
	switch (t) {
	case TO_DOMAIN: return stanza_address_info(iq, ADDRESS_DOMAIN, NULL);
	case TO_QUEUE: return stanza_address_info(iq, ADDRESS_QUEUE, q->title);
	case TO_CONVERSATION: return stanza_address_info(iq, ADDRESS_CONV, NULL);
	default: return stanza_error(iq, "cancel", "item-not-found", "no such address");
	}
}

static xmpp_stanza_t *
disco_items(xmpp_stanza_t *iq, xmpp_stanza_t *query)
{
	const char *node = xmpp_stanza_get_attribute(query, "node");
	struct disco_item *items;
	struct queue *q, *unused;
	enum target t = iq_target(iq, &unused);
	xmpp_stanza_t *r;
	size_t n = 0;

	if (node)
		return t == TO_DOMAIN
		    ? adhoc_disco_items(iq, node)
		    : stanza_error(iq, "cancel", "item-not-found", "no such node");
	if (t != TO_DOMAIN)
		return stanza_disco_items(iq, NULL, 0);
	for (q = config_queues(); q; q = q->next)
		n++;
	items = xcalloc(n, sizeof(*items));
	n = 0;
	for (q = config_queues(); q; q = q->next) {
		items[n].jid = q->jid;
		items[n++].name = q->title;
	}
	r = stanza_disco_items(iq, items, n);
	free(items);
	return r;
}

/* XEP-0199: every address respa serves answers; a closed chat's is gone. */
static xmpp_stanza_t *
ping(xmpp_stanza_t *iq, xmpp_stanza_t *query)
{
	struct queue *unused;

	(void)query;
	if (iq_target(iq, &unused) == TO_UNKNOWN)
		return stanza_error(iq, "cancel", "item-not-found", "no such address");
	return stanza_result(iq);
}

static xmpp_stanza_t *
version(xmpp_stanza_t *iq, xmpp_stanza_t *query)
{
	(void)query;
	return stanza_version(iq, RESPA_NAME, PACKAGE_VERSION);
}

/* XEP-0050: commands run on the component's own address. */
static xmpp_stanza_t *
command(xmpp_stanza_t *iq, xmpp_stanza_t *query)
{
	struct queue *unused;

	if (iq_target(iq, &unused) != TO_DOMAIN)
		return stanza_error(iq, "cancel", "item-not-found",
		    "commands are run on the "
		    "service's own address");
	return adhoc_command(iq, query);
}

static const struct iq_route {
	const char *type; /* get or set */
	const char *ns;
	xmpp_stanza_t *(*fn)(xmpp_stanza_t *iq, xmpp_stanza_t *query);
} routes[] = {
	{ "get", NS_DISCO_INFO, disco_info },
	{ "get", NS_DISCO_ITEMS, disco_items },
	{ "get", NS_PING, ping },
	{ "get", NS_VERSION, version },
	{ "set", NS_COMMANDS, command },
};

static xmpp_stanza_t *
iq_answer(xmpp_stanza_t *iq, const char *type)
{
	xmpp_stanza_t *query = xmpp_stanza_get_children(iq);
	const char *ns;
	size_t i;

	/* exactly one payload element */
	while (query && !xmpp_stanza_is_tag(query))
		query = xmpp_stanza_get_next(query);
	if (query == NULL || xmpp_stanza_get_id(iq) == NULL)
		return stanza_error(iq, "modify", "bad-request", "an iq needs an id and a payload");
	ns = xmpp_stanza_get_ns(query);
	for (i = 0; ns && i < sizeof(routes) / sizeof(routes[0]); i++)
		if (strcmp(routes[i].type, type) == 0 && strcmp(routes[i].ns, ns) == 0)
			return routes[i].fn(iq, query);
	return stanza_error(iq, "cancel", "service-unavailable", NULL);
}

int
iq_handler(xmpp_conn_t *conn, xmpp_stanza_t *iq, void *arg)
{
	const char *type = xmpp_stanza_get_type(iq);

	(void)conn, (void)arg;
	if (xmpp_stanza_get_from(iq) == NULL || type == NULL)
		return 1; /* the server never sends these; nothing to answer to */
	if (strcmp(type, "get") != 0 && strcmp(type, "set") != 0)
		return 1; /* results and errors: we ask nothing yet */
	component_send(iq_answer(iq, type));
	return 1;
}
