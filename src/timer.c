/*
 * Timers: offer timeouts, grace periods, wait notices, inactivity, opening hours. One binary
 * heap of deadlines, each timer embedded in the struct that owns it, so arming, re-arming and
 * cancelling cost O(log n) and nothing is allocated. The main loop sleeps until the first
 * deadline and fires what is due; each callback belongs to the module that owns the state.
 */
#include <stdlib.h>

#include "respa.h"

static struct timer **heap;
static size_t n, cap;

static int
before(const struct timer *a, const struct timer *b)
{
	return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

static void
place(struct timer *t, size_t i)
{
	heap[i] = t;
	t->slot = i + 1;
}

static void
sift_up(size_t i)
{
	struct timer *t = heap[i];

	while (i > 0 && before(t, heap[(i - 1) / 2])) {
		place(heap[(i - 1) / 2], i);
		i = (i - 1) / 2;
	}
	place(t, i);
}

static void
sift_down(size_t i)
{
	struct timer *t = heap[i];
	size_t c;

	while ((c = 2 * i + 1) < n) {
		if (c + 1 < n && before(heap[c + 1], heap[c]))
			c++;
		if (!before(heap[c], t))
			break;
		place(heap[c], i);
		i = c;
	}
	place(t, i);
}

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
	struct timer *last;
	size_t i;

	if (t->slot == 0)
		return;
	i = t->slot - 1;
	t->slot = 0;
	if (i == --n)
		return;
	last = heap[n]; /* fills the hole, then finds its place up or down */
	place(last, i);
	sift_up(i);
	sift_down(last->slot - 1);
}

/* Arms (or moves) t to fire at the absolute time at, in milliseconds. */
void
timer_at(struct timer *t, int64_t at)
{
	static uint64_t seq;

	timer_cancel(t);
	if (n == cap) {
		cap = cap ? cap * 2 : 256;
		heap = xrealloc(heap, cap * sizeof(*heap));
	}
	t->at = at;
	t->seq = ++seq; /* equal deadlines fire in the order they were set */
	place(t, n++);
	sift_up(n - 1);
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

	if (n == 0)
		return -1;
	d = heap[0]->at - respa_now_ms();
	return d < 0 ? 0 : d;
}

/* Fires every timer that is due; a callback may arm timers again, even its own. */
void
timer_run(void)
{
	int64_t now = respa_now_ms();
	struct timer *t;

	while (n > 0 && heap[0]->at <= now) {
		t = heap[0];
		timer_cancel(t);
		t->fn(t->arg);
	}
}

size_t
timer_count(void)
{
	return n;
}

void
timer_free_all(void)
{
	free(heap);
	heap = NULL;
	n = cap = 0;
}
