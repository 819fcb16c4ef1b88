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

/* After a failed pass in which timers fired, they all wait: timer_pass_done(). */
#define HOLD_MIN_MS 1000
#define HOLD_MAX_MS (5 * 60 * 1000)
static int64_t hold_until, hold_ms = HOLD_MIN_MS;
static int fired; /* a timer fired in this pass */

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
	t->seq = ++seq;     /* equal deadlines fire in the order they were set */
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
	int64_t d, at;

	if (heap.n == 0)
		return -1;
	at = ((struct timer *)heap.v[0])->at;
	d = (at > hold_until ? at : hold_until) - respa_now_ms();
	return d < 0 ? 0 : d;
}

/* Fires every timer that is due; a callback may arm timers again, even its own. */
void
timer_run(void)
{
	int64_t now = respa_now_ms();
	struct timer *t;

	if (now < hold_until)
		return;
	while ((t = heap_top(&heap)) != NULL && t->at <= now) {
		timer_cancel(t);
		fired = 1;
		t->fn(t->arg);
	}
}

/*
 * The end of a pass; failed: its writes were rolled back. When timers fired in a failed pass,
 * none fires for 1 s, then 2, 4 ... up to 5 min: a timer whose write keeps failing backs off
 * instead of firing every pass (a failed pass rebuilds memory, which re-arms the
 * conversations' timers as stored, often already due). A stored pass with timers resets it.
 */
void
timer_pass_done(int failed)
{
	if (fired && failed) {
		hold_until = respa_now_ms() + hold_ms;
		log_warnx("timers wait %lld s: the database failed", (long long)(hold_ms / 1000));
		hold_ms = hold_ms * 2 > HOLD_MAX_MS ? HOLD_MAX_MS : hold_ms * 2;
	} else if (fired)
		hold_ms = HOLD_MIN_MS;
	fired = 0;
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
	hold_until = 0;
	hold_ms = HOLD_MIN_MS;
	fired = 0;
}
