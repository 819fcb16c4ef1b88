/*
 * Who takes which chat. Each queue keeps two lines: customers waiting (oldest first) and
 * members who can take a chat now (longest idle first). A decision takes the head of each,
 * so it costs the same with ten agents or a hundred thousand; it is made on the event that
 * changes either line, never by polling.
 */
#include <string.h>

#include "respa.h"

static struct config *conf;

void
router_init(struct config *c)
{
	conf = c;
}

struct queue *
router_queue(const char *name)
{
	return map_get(conf->queue_map, name);
}

struct queue *
router_queues(void)
{
	return conf->queues;
}

static void
ready_remove(struct member *m)
{
	if (m->ready) {
		TAILQ_REMOVE(&m->queue->ready, m, ready_link);
		m->ready = 0;
	}
}

/* To the back of the line: the head is whoever has waited longest for a chat. */
static void
ready_append(struct member *m)
{
	ready_remove(m);
	TAILQ_INSERT_TAIL(&m->queue->ready, m, ready_link);
	m->ready = 1;
}

/* Assigns waiting chats while the queue has both a waiting customer and a free member. */
static void
dispatch(struct queue *q)
{
	struct member *m, *om;
	struct conv *c;

	while ((c = TAILQ_FIRST(&q->waiting)) != NULL && (m = TAILQ_FIRST(&q->ready)) != NULL) {
		router_dequeue(c);
		conversation_assign(c, m->agent);
		/* the agent now has one chat more: in every queue it waits behind the others */
		for (om = m->agent->members; om; om = om->next_of_agent) {
			if (agent_can_take(m->agent))
				ready_append(om);
			else
				ready_remove(om);
		}
	}
}

/* Presence or load of an agent changed: update its place in each of its queues. */
void
router_agent_changed(struct agent *a)
{
	struct member *m;

	for (m = a->members; m; m = m->next_of_agent) {
		if (!agent_can_take(a))
			ready_remove(m);
		else if (!m->ready)
			ready_append(m);
	}
	for (m = a->members; m; m = m->next_of_agent)
		dispatch(m->queue);
}

/* Into the waiting line of its queue, and to an agent at once when one is free. */
void
router_enqueue(struct conv *c)
{
	TAILQ_INSERT_TAIL(&c->queue->waiting, c, wait_link);
	c->queue->nwaiting++;
	dispatch(c->queue);
}

void
router_dequeue(struct conv *c)
{
	TAILQ_REMOVE(&c->queue->waiting, c, wait_link);
	c->queue->nwaiting--;
}

/* Empties every line and load count, before conversations are rebuilt from the database. */
void
router_reset(void)
{
	struct queue *q;
	struct agent *a;
	struct member *m;

	for (q = conf->queues; q; q = q->next) {
		TAILQ_INIT(&q->waiting);
		TAILQ_INIT(&q->ready);
		q->nwaiting = 0;
	}
	for (a = conf->agents; a; a = a->next) {
		a->chats = 0;
		for (m = a->members; m; m = m->next_of_agent)
			m->ready = 0;
	}
}
