/*
 * The relay between customer and agent: what crosses besides the body (stanza.c keeps the
 * list), and the memory of message ids that lets a receipt, marker or correction name the
 * right message on the other side.
 *
 * Every relayed message gets a new id, so the two sides never see each other's ids. Each
 * conversation remembers the last RELAY_PAIRS pairs (id on the customer's side, id on the
 * agent's side) in a ring: memory stays bounded however long the chat runs, and a lookup
 * scans at most RELAY_PAIRS hashes. A reference to an id no longer remembered is dropped,
 * never passed on as it is.
 */
#include <stdlib.h>
#include <string.h>

#include "respa.h"

struct relay_pair {
	uint32_t hash[2]; /* of id[side]: the scan compares these first */
	char *id[2];      /* [RELAY_CUSTOMER], [RELAY_AGENT]: one allocation holds both */
};

struct relay_ids {
	struct relay_pair *pairs; /* grows with the chat up to RELAY_PAIRS, then wraps */
	size_t n, cap;
	size_t next; /* the slot the next pair takes: the oldest one once the ring is full */
};

/* FNV-1a */
static uint32_t
id_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

struct relay_ids *
relay_ids_new(void)
{
	return xcalloc(1, sizeof(struct relay_ids));
}

void
relay_ids_free(struct relay_ids *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->n; i++)
		free(r->pairs[i].id[RELAY_CUSTOMER]);
	free(r->pairs);
	free(r);
}

void
relay_ids_record(struct relay_ids *r, const char *customer_id, const char *agent_id)
{
	size_t lc = strlen(customer_id), la = strlen(agent_id);
	struct relay_pair *p;

	/* a client chooses its ids: a huge one would make the ring's bound meaningless */
	if (lc > RELAY_ID_MAX || la > RELAY_ID_MAX)
		return;
	if (r->n < RELAY_PAIRS && r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 4;
		if (r->cap > RELAY_PAIRS)
			r->cap = RELAY_PAIRS;
		r->pairs = xrealloc(r->pairs, r->cap * sizeof(*r->pairs));
	}
	p = &r->pairs[r->next];
	if (r->n == RELAY_PAIRS)
		free(p->id[RELAY_CUSTOMER]);
	else
		r->n++;
	r->next = (r->next + 1) % RELAY_PAIRS;
	p->id[RELAY_CUSTOMER] = xmalloc(lc + la + 2);
	memcpy(p->id[RELAY_CUSTOMER], customer_id, lc + 1);
	p->id[RELAY_AGENT] = p->id[RELAY_CUSTOMER] + lc + 1;
	memcpy(p->id[RELAY_AGENT], agent_id, la + 1);
	p->hash[RELAY_CUSTOMER] = id_hash(customer_id);
	p->hash[RELAY_AGENT] = id_hash(agent_id);
}

const char *
relay_ids_lookup(const struct relay_ids *r, enum relay_side side, const char *id)
{
	const struct relay_pair *p;
	uint32_t h;
	size_t i;

	if (r == NULL)
		return NULL;
	h = id_hash(id);
	/* newest first: a client that reuses an id means its latest message */
	for (i = 1; i <= r->n; i++) {
		p = &r->pairs[(r->next + RELAY_PAIRS - i) % RELAY_PAIRS];
		if (p->hash[side] == h && strcmp(p->id[side], id) == 0)
			return p->id[!side];
	}
	return NULL;
}

struct relay_map {
	const struct relay_ids *ids;
	enum relay_side sender;
};

/* stanza_relay()'s callback: an id the sender referred to, as the receiver knows it. */
static const char *
map_id(void *arg, const char *id)
{
	const struct relay_map *m = arg;

	return relay_ids_lookup(m->ids, m->sender, id);
}

static void
relay(struct relay_ids *r, xmpp_stanza_t *in, enum relay_side sender, const char *from,
    const char *to, const char *body, const char *nick, const char *lang)
{
	static struct text out; /* reused: no allocation per message once it has grown */
	struct relay_map m = { r, sender };
	const char *in_id = xmpp_stanza_get_id(in);
	char id[40];

	out.len = 0;
	if (!stanza_relay_text(&out, in, from, to, body, nick, lang, map_id, &m, id))
		return; /* nothing the other side may see: dropped without an error */
	/*
	 * Only messages with a body are referred to later. Chat states come several a
	 * minute and would push the ids worth keeping out of the ring.
	 */
	if (body && in_id && *in_id) {
		if (sender == RELAY_CUSTOMER)
			relay_ids_record(r, in_id, id);
		else
			relay_ids_record(r, id, in_id);
	}
	component_send_text(out.s, out.len);
}

void
relay_message(struct relay_ids *r, xmpp_stanza_t *in, enum relay_side sender, const char *from,
    const char *to, const char *body)
{
	relay(r, in, sender, from, to, body, NULL, NULL);
}

/* An agent's line to the customer, under the agent's display name, in the customer's language. */
void
relay_agent_line(struct relay_ids *r, xmpp_stanza_t *in, const char *from, const char *to,
    const char *body, const char *nick, const char *lang)
{
	relay(r, in, RELAY_AGENT, from, to, body, nick, lang);
}
