/*
 * Timers: offer timeouts, grace periods, wait notices, inactivity, opening hours. One binary
 * heap of deadlines, each timer embedded in the struct that owns it, so arming, re-arming and
 * cancelling cost O(log n) and nothing is allocated. The main loop sleeps until the first
 * deadline and fires what is due; each callback belongs to the module that owns the state.
 */
#include <stdlib.h>

#include "respa.h"

static int
before(const void *pa, const void *pb)
{
	const struct timer *a = pa, *b = pb;

	return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

static struct heap heap = { NULL, 0, 0, before, offsetof(struct timer, slot) };

void
timer_init(struct timer *t, void (*fn)(void *), void *arg)
{
	t->fn = fn;
	t->arg = arg;
	t->slot = 0;
}

void
timer_cancel(struct timer *t)
{
	heap_remove(&heap, t);
}

/* Arms (or moves) t to fire at the absolute time at, in milliseconds. */
void
timer_at(struct timer *t, int64_t at)
{
	static uint64_t seq;

	t->at = at;
	t->seq = ++seq; /* equal deadlines fire in the order they were set */
	heap_put(&heap, t); /* in, or moved to its new place */
}

void
timer_in(struct timer *t, double seconds)
{
	timer_at(t, respa_now_ms() + (int64_t)(seconds * 1000));
}

int
timer_armed(const struct timer *t)
{
	return t->slot != 0;
}

/* Milliseconds until the first deadline (0 when one is due), or -1 when none is armed. */
int64_t
timer_next(void)
{
	int64_t d;

	if (heap.n == 0)
		return -1;
	d = ((struct timer *)heap.v[0])->at - respa_now_ms();
	return d < 0 ? 0 : d;
}

/* Fires every timer that is due; a callback may arm timers again, even its own. */
void
timer_run(void)
{
	int64_t now = respa_now_ms();
	struct timer *t;

	while ((t = heap_top(&heap)) != NULL && t->at <= now) {
		timer_cancel(t);
		t->fn(t->arg);
	}
}

size_t
timer_count(void)
{
	return heap.n;
}

void
timer_free_all(void)
{
	heap_free(&heap);
}
