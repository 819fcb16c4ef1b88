/*
 * Who takes which chat. Each queue keeps a line of waiting customers (oldest first) and, per
 * tier, a heap of the members who can take a chat now, ordered by the queue's strategy. A
 * decision looks at the head of each: O(log n) in agents, whatever their number. It is made on
 * the event that changes either side (a customer writes, an agent frees up, an offer fails, a
 * tier's wait runs out), never by polling.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "respa.h"

#define SKIP_EXCLUDED 16 /* waiting chats with exclusions looked past before giving up */

static struct config *conf;
static uint64_t clock_turn; /* orders turns and idle times without reading the clock */

/* Strategies: which of two ready members comes first. Presence ranks before everything. */
static int
by_idle(const struct member *a, const struct member *b)
{
	return a->agent->idle_since < b->agent->idle_since;
}

static int
by_load(const struct member *a, const struct member *b)
{
	int la = a->agent->chats + a->agent->offers, lb = b->agent->chats + b->agent->offers;

	return la != lb ? la < lb : by_idle(a, b);
}

static int
by_turn(const struct member *a, const struct member *b)
{
	return a->turn < b->turn;
}

static const struct strategy_def {
	int (*first)(const struct member *, const struct member *);
} strategies[] = {
	[STRATEGY_LONGEST_IDLE] = { by_idle },
	[STRATEGY_LEAST_BUSY] = { by_load },
	[STRATEGY_ROUND_ROBIN] = { by_turn },
	[STRATEGY_RING_ALL] = { by_idle },
};

static int
first(const void *pa, const void *pb)
{
	const struct member *a = pa, *b = pb;

	if (a->agent->show != b->agent->show) /* chat before available */
		return a->agent->show > b->agent->show;
	return strategies[a->queue->strategy].first(a, b);
}

/* --- the ready heaps ---------------------------------------------------------------- */

static void
ready_init(struct heap *h, int ntiers)
{
	int t;

	for (t = 0; t < ntiers; t++)
		heap_init(&h[t], first, offsetof(struct member, slot));
}

static void
ready_remove(struct member *m)
{
	heap_remove(&m->queue->ready[m->tier - 1], m);
}

/* Into the heap, or to its new place when its order changed. */
static void
ready_put(struct member *m)
{
	heap_put(&m->queue->ready[m->tier - 1], m);
}

/* --- eligibility ---------------------------------------------------------------------- */

/*
 * Why a cannot take a new chat of q now, or NULL when it can: online and available, not
 * paused, not wrapping up, a slot free (the queue's capacity, else its own). The one rule, for
 * routing and for chats handed over by hand.
 */
const char *
router_cannot_take(const struct agent *a, const struct queue *q)
{
	int cap = q->capacity ? q->capacity : a->capacity;

	if (a->show == SHOW_OFFLINE)
		return "is offline";
	if (a->show < SHOW_AVAILABLE)
		return "is not available";
	if (a->paused)
		return "is paused";
	if (a->unreachable)
		return "did not get the last message sent to them";
	if (a->wrap_until > respa_now_ms())
		return "is wrapping up a chat";
	if (a->chats + a->offers >= cap)
		return "has no free slot";
	return NULL;
}

static int
member_can_take(const struct member *m)
{
	return router_cannot_take(m->agent, m->queue) == NULL;
}

static int
excluded(struct conv *c, const struct agent *a, int64_t now)
{
	int i;

	for (i = 0; i < CONV_EXCLUSIONS; i++)
		if (c->excl[i].agent == a && c->excl[i].until > now)
			return 1;
	return 0;
}

static int
has_exclusions(const struct conv *c, int64_t now)
{
	int i;

	for (i = 0; i < CONV_EXCLUSIONS; i++)
		if (c->excl[i].agent && c->excl[i].until > now)
			return 1;
	return 0;
}

/* Looks at the queue again at (ms), unless it already will before. */
static void
retry_at(struct queue *q, int64_t at)
{
	if (!timer_armed(&q->retry_timer) || q->retry_timer.at > at)
		timer_at(&q->retry_timer, at);
}

/* a is not offered c again for seconds; the oldest exclusion makes room. */
void
router_exclude(struct conv *c, struct agent *a, int seconds)
{
	int i, oldest = 0;

	for (i = 0; i < CONV_EXCLUSIONS; i++) {
		if (c->excl[i].agent == a || c->excl[i].agent == NULL) {
			oldest = i;
			break;
		}
		if (c->excl[i].until < c->excl[oldest].until)
			oldest = i;
	}
	c->excl[oldest].agent = a;
	c->excl[oldest].until = respa_now_ms() + (int64_t)seconds * 1000;
	retry_at(c->queue, c->excl[oldest].until); /* it may take the chat again then */
}

/* The tiers a chat may be offered to: one more each tier_wait it has waited. */
static int
tiers_open(const struct conv *c, int64_t now)
{
	const struct queue *q = c->queue;
	int n;

	if (q->ntiers <= 1 || q->tier_wait == 0)
		return q->ntiers;
	n = 1 + (int)((now - c->queued_at) / ((int64_t)q->tier_wait * 1000));
	return n < q->ntiers ? n : q->ntiers;
}

/* A returning customer's last agent, when it is a member free for this chat: else NULL. */
static struct member *
preferred(struct conv *c, int64_t now)
{
	struct member *m;

	if (c->preferred == NULL || !c->queue->prefer_last || excluded(c, c->preferred, now))
		return NULL;
	m = config_member_find(c->preferred, c->queue);
	return m && member_can_take(m) ? m : NULL;
}

/*
 * The best member for c: a returning customer's last agent, else the head of the first open
 * tier's heap, skipping those excluded for it. Excluded heads are popped aside and put back,
 * so the cost stays O(k log n) for k recent exclusions.
 */
static struct member *
pick(struct conv *c, int64_t now)
{
	struct member *aside[CONV_EXCLUSIONS], *m = preferred(c, now), *top;
	struct heap *h;
	int t, ntiers = tiers_open(c, now), k, i;

	for (t = 0; t < ntiers && m == NULL; t++) {
		h = &c->queue->ready[t];
		while ((top = heap_top(h)) != NULL && !member_can_take(top)) /* not yet seen */
			ready_remove(top);
		k = 0;
		while ((top = heap_top(h)) != NULL && excluded(c, top->agent, now) &&
		    k < CONV_EXCLUSIONS) {
			aside[k++] = top;
			ready_remove(top);
		}
		if ((top = heap_top(h)) != NULL && !excluded(c, top->agent, now))
			m = top;
		for (i = 0; i < k; i++)
			ready_put(aside[i]);
	}
	return m;
}

/* The agent's order in every queue after its load changed. */
static void
agent_reorder(struct agent *a)
{
	struct member *m;

	for (m = a->members; m; m = m->next_of_agent) {
		if (member_can_take(m))
			ready_put(m);
		else
			ready_remove(m);
	}
}

/* The agent got or lost a chat: it counts as busy from now for longest-idle. */
void
router_agent_busy(struct agent *a)
{
	a->idle_since = ++clock_turn;
}

/* ring-all: every free member of the open tiers not excluded gets the offer at once. */
static int
ring_all(struct conv *c, int64_t now)
{
	struct member **all = NULL, *m = preferred(c, now), *e;
	struct heap *h;
	size_t i, n = 0;
	int t, ntiers = tiers_open(c, now);

	if (m) { /* the returning customer's agent alone first */
		all = xmalloc(sizeof(*all));
		all[n++] = m;
		ntiers = 0;
	}
	for (t = 0; t < ntiers; t++) {
		h = &c->queue->ready[t];
		all = xrealloc(all, (n + h->n) * sizeof(*all));
		for (i = 0; i < h->n; i++) {
			e = h->v[i];
			if (member_can_take(e) && !excluded(c, e->agent, now))
				all[n++] = e;
		}
	}
	if (n > 0) {
		router_dequeue(c);
		for (i = 0; i < n; i++)
			conversation_offer(c, all[i]->agent);
		for (i = 0; i < n; i++)
			agent_reorder(all[i]->agent);
	}
	free(all);
	return n > 0;
}

/* Gives c to m's agent: an offer in offer mode, the chat itself in auto mode. */
static void
hand_over(struct conv *c, struct member *m)
{
	struct agent *a = m->agent;

	router_dequeue(c);
	counters[C_ASSIGNMENTS]++;
	m->turn = ++clock_turn;
	if (c->queue->mode == MODE_OFFER)
		conversation_offer(c, a);
	else
		conversation_assign(c, a);
	agent_reorder(a);
}

/* When the oldest waiting chat reaches another tier, look again. */
static void
arm_tier_timer(struct queue *q, int64_t now)
{
	struct conv *c = TAILQ_FIRST(&q->waiting);
	int open;

	if (c == NULL || q->ntiers <= 1 || q->tier_wait == 0)
		return;
	if ((open = tiers_open(c, now)) < q->ntiers)
		retry_at(q, c->queued_at + (int64_t)open * q->tier_wait * 1000);
}

/* 1 when c has moved out of q along q's overflow link before: never twice along one link. */
static int
overflowed_from(const struct conv *c, const struct queue *q)
{
	int i;

	for (i = 0; i < CONV_OVERFLOWS; i++)
		if (c->overflowed[i] == q)
			return 1;
	return 0;
}

/*
 * What the head of the line's wait means once nobody free took it: past alert_wait the
 * supervisors hear (alert.c keeps it to one per episode), past overflow_wait chats go to the
 * overflow queue. Looks only at the oldest chats, so a long line costs nothing here.
 */
static void
overdue(struct queue *q, int64_t now)
{
	struct conv *c = TAILQ_FIRST(&q->waiting);
	int64_t due;

	if (c == NULL || router_has_free(q))
		return;
	due = c->queued_at + (int64_t)(q->alert_wait ? q->alert_wait : q->max_wait / 2) * 1000;
	if (due <= now)
		(void)alert_raise(ALERT_WAIT, q->name,
		    "A customer has waited %" PRId64 " min in %s (%zu waiting, nobody free). "
		    "Chat #%" PRId64 ".",
		    (now - c->queued_at) / 60000, q->name, q->nwaiting, c->id);
	else
		retry_at(q, due);
	if (q->overflow == NULL)
		return;
	while ((c = TAILQ_FIRST(&q->waiting)) != NULL && !overflowed_from(c, q)) {
		due = c->queued_at + (int64_t)q->overflow_wait * 1000;
		if (due > now) {
			retry_at(q, due);
			break;
		}
		conversation_overflow(c, q->overflow);
	}
}

/*
 * Hands waiting chats to free members while both exist. A chat whose free members all
 * turned it down recently is looked past (a few at most), so it does not hold up the line.
 */
void
router_dispatch(struct queue *q)
{
	struct conv *c, *next;
	struct member *m;
	int64_t now = respa_now_ms();
	int skipped = 0, placed;

	for (c = TAILQ_FIRST(&q->waiting); c; c = next) {
		next = TAILQ_NEXT(c, wait_link);
		if (q->strategy == STRATEGY_RING_ALL)
			placed = ring_all(c, now);
		else if ((m = pick(c, now)) != NULL) {
			hand_over(c, m);
			placed = 1;
		} else
			placed = 0;
		if (placed) {
			next = TAILQ_FIRST(&q->waiting); /* the heads changed */
			skipped = 0;
			continue;
		}
		if (!has_exclusions(c, now) || ++skipped > SKIP_EXCLUDED)
			break;
	}
	arm_tier_timer(q, now);
	overdue(q, now);
	queue_changed(q);
}

static void
retry_timer(void *arg)
{
	router_dispatch(arg);
}

/* Presence, pause, wrap-up or load of an agent changed: its place in each of its queues. */
void
router_agent_changed(struct agent *a)
{
	struct member *m;

	agent_reorder(a);
	for (m = a->members; m; m = m->next_of_agent) {
		if (m->slot)
			queue_agent_ready(m);
		router_dispatch(m->queue);
	}
}

/* Into the waiting line of its queue (at the front when it comes back), then a decision. */
void
router_enqueue(struct conv *c)
{
	struct queue *q = c->queue;

	if (c->requeued) {
		TAILQ_INSERT_HEAD(&q->waiting, c, wait_link);
		c->requeued = 0;
	} else {
		TAILQ_INSERT_TAIL(&q->waiting, c, wait_link);
		c->queued_at = respa_now_ms();
	}
	q->nwaiting++;
	router_dispatch(q);
}

/* An overflow: into to's line behind those who have waited longer; it keeps queued_at. */
void
router_move(struct conv *c, struct queue *to)
{
	struct conv *before;
	int i;

	TAILQ_REMOVE(&c->queue->waiting, c, wait_link);
	c->queue->nwaiting--;
	for (i = 0; i < CONV_OVERFLOWS - 1 && c->overflowed[i]; i++)
		;
	c->overflowed[i] = c->queue;
	c->queue = to;
	/* from the head: a chat that waited long enough to overflow belongs near it */
	TAILQ_FOREACH(before, &to->waiting, wait_link)
	if (before->queued_at > c->queued_at)
		break;
	if (before)
		TAILQ_INSERT_BEFORE(before, c, wait_link);
	else
		TAILQ_INSERT_TAIL(&to->waiting, c, wait_link);
	to->nwaiting++;
}

/* Out of the waiting line; the time a customer who really waited left sets the pace. */
void
router_dequeue(struct conv *c)
{
	struct queue *q = c->queue;

	TAILQ_REMOVE(&q->waiting, c, wait_link);
	q->nwaiting--;
	if (respa_now_ms() - c->queued_at < 1000) /* never waited: says nothing of the pace */
		return;
	memmove(q->recent + 1, q->recent, (RECENT_WAITS - 1) * sizeof(q->recent[0]));
	q->recent[0] = respa_now();
	if (q->nrecent < RECENT_WAITS)
		q->nrecent++;
}

/* 1 when some member of the queue can take a chat now. */
int
router_has_free(const struct queue *q)
{
	int t;

	for (t = 0; t < q->ntiers; t++)
		if (q->ready[t].n)
			return 1;
	return 0;
}

/*
 * Seconds a customer at place k may wait, from the pace at which the last chats left the
 * line; -1 when there is not enough history to say.
 */
long
router_estimate(const struct queue *q, size_t place)
{
	time_t span;

	if (q->nrecent < 2)
		return -1;
	span = q->recent[0] - q->recent[q->nrecent - 1];
	return (long)((double)span / (double)(q->nrecent - 1) * (double)place);
}

/* The ready heaps of each queue, one per tier used by its members. */
void
router_init(struct config *c)
{
	struct queue *q;
	struct agent *a;
	struct member *m;

	conf = c;
	/* before any chat, the configured order breaks ties */
	for (a = conf->agents; a; a = a->next) {
		a->idle_since = ++clock_turn;
		for (m = a->members; m; m = m->next_of_agent) {
			m->turn = a->idle_since;
			if (m->tier > m->queue->ntiers)
				m->queue->ntiers = m->tier;
		}
	}
	for (q = conf->queues; q; q = q->next) {
		if (q->ntiers == 0)
			q->ntiers = 1;
		q->ready = xcalloc((size_t)q->ntiers, sizeof(*q->ready));
		ready_init(q->ready, q->ntiers);
		timer_init(&q->retry_timer, retry_timer, q);
	}
}

/* A queue made by a command: its heaps and retry timer, as router_init() gives the others. */
void
router_queue_added(struct queue *q)
{
	if (q->ntiers == 0)
		q->ntiers = 1;
	q->ready = xcalloc((size_t)q->ntiers, sizeof(*q->ready));
	ready_init(q->ready, q->ntiers);
	timer_init(&q->retry_timer, retry_timer, q);
}

/* A queue deleted by a command (no chat is in it, no member left). */
void
router_queue_removed(struct queue *q)
{
	int t;

	timer_cancel(&q->retry_timer);
	for (t = 0; t < q->ntiers; t++)
		heap_free(&q->ready[t]);
	free(q->ready);
	q->ready = NULL;
	q->ntiers = 0;
}

/*
 * The queue's strategy or capacity changed: its heaps are built again from its members. An
 * admin's action, so a walk of the memberships is fine here; routing itself never walks.
 */
void
router_queue_reorder(struct queue *q)
{
	struct member *m;
	int t;

	for (t = 0; t < q->ntiers; t++)
		heap_clear(&q->ready[t]);
	LIST_FOREACH(m, &q->members, queue_link)
	if (member_can_take(m))
		ready_put(m);
	router_dispatch(q);
}

/* A membership made (or its tier changed) by a command: a heap for its tier, then a decision. */
void
router_member_added(struct member *m)
{
	struct queue *q = m->queue;

	if (m->tier > q->ntiers) {
		q->ready = xrealloc(q->ready, (size_t)m->tier * sizeof(*q->ready));
		ready_init(&q->ready[q->ntiers], m->tier - q->ntiers);
		q->ntiers = m->tier;
	}
	m->turn = ++clock_turn;
	router_agent_changed(m->agent);
}

/* Out of its heap before the membership goes. */
void
router_member_removed(struct member *m)
{
	ready_remove(m);
}

/* Empties every line and load count, before conversations are rebuilt from the database. */
void
router_reset(void)
{
	struct queue *q;
	struct agent *a;
	struct member *m;
	int t;

	for (q = conf->queues; q; q = q->next) {
		TAILQ_INIT(&q->waiting);
		TAILQ_INIT(&q->offline);
		q->nwaiting = 0;
		for (t = 0; t < q->ntiers; t++)
			q->ready[t].n = 0;
	}
	for (a = conf->agents; a; a = a->next) {
		a->chats = a->offers = 0;
		a->offer_list = NULL;
		TAILQ_INIT(&a->convs);
		for (m = a->members; m; m = m->next_of_agent)
			m->slot = 0;
	}
}

void
router_free(void)
{
	struct queue *q;
	int t;

	for (q = conf->queues; q; q = q->next) {
		for (t = 0; t < q->ntiers; t++)
			heap_free(&q->ready[t]);
		free(q->ready);
		q->ready = NULL;
	}
}
