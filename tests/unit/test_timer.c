/*
 * heap.c against a plain model; timer.c: the deadline heap, cancels and re-arms from callbacks,
 * and the back-off after passes whose writes failed.
 */
#include <stdlib.h>

#include "check.h"

#define N 500

static struct timer timers[N];
static int fired[N], order[N], nfired;

static void
record(void *arg)
{
	int i = (int)((struct timer *)arg - timers);

	fired[i]++;
	order[nfired++] = i;
}

/* Deadlines in the past fire at the next timer_run(), earliest first, ties in arming order. */
static void
heap_order(void)
{
	int64_t base = respa_now_ms() - 10 * 1000 * 1000, last = -1;
	int i, armed = 0, ok = 1;

	memset(fired, 0, sizeof(fired));
	nfired = 0;
	srand(42);
	for (i = 0; i < N; i++) {
		timer_init(&timers[i], record, &timers[i]);
		timer_at(&timers[i], base + rand() % 1000);
	}
	for (i = 0; i < N; i += 3) /* cancel a third, move another third */
		timer_cancel(&timers[i]);
	for (i = 1; i < N; i += 3)
		timer_at(&timers[i], base + rand() % 1000);
	for (i = 0; i < N; i++)
		armed += timer_armed(&timers[i]);
	CHECK_INT(armed, N - (N + 2) / 3);
	CHECK_INT((long long)timer_count(), armed);
	CHECK_INT(timer_next(), 0);
	timer_run();
	CHECK_INT(nfired, armed);
	CHECK_INT((long long)timer_count(), 0);
	CHECK_INT(timer_next(), -1);
	for (i = 0; i < nfired; i++) {
		if (timers[order[i]].at < last)
			ok = 0;
		last = timers[order[i]].at;
	}
	CHECK(ok);
	for (i = 0; i < N; i += 3)
		CHECK_INT(fired[i], 0);
	for (i = 1; i < N; i += 3)
		CHECK_INT(fired[i], 1);
}

static int rearms;

static void
again(void *arg)
{
	if (++rearms < 3)
		timer_at(arg, respa_now_ms() - 1); /* due again: the same run fires it */
}

static void
cancel_other(void *arg)
{
	timer_cancel(arg);
}

static void
callbacks(void)
{
	struct timer a, b, c;

	timer_init(&a, again, &a);
	timer_at(&a, respa_now_ms() - 5);
	timer_run();
	CHECK_INT(rearms, 3);
	CHECK(!timer_armed(&a));

	/* a callback cancels a timer that is also due: it never fires */
	memset(fired, 0, sizeof(fired));
	nfired = 0;
	timer_init(&b, cancel_other, &timers[0]);
	timer_init(&timers[0], record, &timers[0]);
	timer_at(&b, respa_now_ms() - 10);
	timer_at(&timers[0], respa_now_ms() - 5);
	timer_run();
	CHECK_INT(fired[0], 0);

	/* a future deadline waits, and timer_next() says about how long */
	timer_init(&c, record, &timers[1]);
	timer_in(&c, 60);
	timer_run();
	CHECK(timer_armed(&c));
	CHECK(timer_next() > 59000 && timer_next() <= 60000);
	timer_cancel(&c);
	timer_cancel(&c); /* twice is harmless */
	CHECK_INT(timer_next(), -1);
	timer_free_all();
}

/* heap.c on its own: an element with its key and slot, checked against a plain array. */
struct item {
	int key;
	size_t slot;
};

static struct item items[N];

static int
smaller(const void *a, const void *b)
{
	return ((const struct item *)a)->key < ((const struct item *)b)->key;
}

/* The heap holds exactly the items marked in, each slot points back, and the top is a least. */
static int
heap_consistent(const struct heap *h, const int *in)
{
	const struct item *top = heap_top(h);
	size_t i, count = 0;

	for (i = 0; i < h->n; i++)
		if (((struct item *)h->v[i])->slot != i + 1)
			return 0;
	for (i = 0; i < N; i++) {
		if (in[i] != (items[i].slot != 0))
			return 0;
		if (in[i]) {
			count++;
			if (top == NULL || items[i].key < top->key)
				return 0;
		}
	}
	return count == h->n && (count > 0) == (top != NULL);
}

static void
generic_heap(void)
{
	static int in[N];
	struct heap h;
	struct item *e;
	int i, step, ok = 1, last = -1;

	heap_init(&h, smaller, offsetof(struct item, slot));
	CHECK(heap_top(&h) == NULL);
	heap_remove(&h, &items[0]); /* not in: nothing happens */
	CHECK_INT((long long)h.n, 0);
	srand(7);
	for (step = 0; step < 20000 && ok; step++) {
		i = rand() % N;
		switch (rand() % 3) {
		case 0: /* in, or a new key while in: its place changes */
			items[i].key = rand() % 1000;
			heap_put(&h, &items[i]);
			in[i] = 1;
			break;
		case 1:
			heap_remove(&h, &items[i]);
			in[i] = 0;
			break;
		default: /* the top leaves, as a fired timer does */
			if ((e = heap_top(&h)) != NULL) {
				heap_remove(&h, e);
				in[e - items] = 0;
			}
		}
		ok = heap_consistent(&h, in);
	}
	CHECK(ok);
	CHECK(h.n > 0);
	while ((e = heap_top(&h)) != NULL) { /* drains in order */
		if (e->key < last)
			ok = 0;
		last = e->key;
		heap_remove(&h, e);
		in[e - items] = 0;
	}
	CHECK(ok);
	CHECK(heap_consistent(&h, in));

	for (i = 0; i < N; i += 2) { /* clear: empty, every slot out, reusable */
		heap_put(&h, &items[i]);
		in[i] = 1;
	}
	heap_clear(&h);
	memset(in, 0, sizeof(in));
	CHECK_INT((long long)h.n, 0);
	CHECK(heap_consistent(&h, in));
	heap_put(&h, &items[3]);
	CHECK(heap_top(&h) == &items[3]);
	heap_free(&h);
	CHECK(h.v == NULL && h.n == 0);
}

static int retries;

/* A timer whose write fails: it wants to run again at once (in the next pass). */
static void
retry_now(void *arg)
{
	retries++;
	timer_in(arg, 0.001);
}

/* A pass at ms, as main.c's loop ends one: the timers, then the commit's outcome. */
static void
pass_at(int64_t ms, int failed)
{
	respa_clock_set(ms);
	timer_run();
	timer_pass_done(failed);
}

/* After a failed pass in which timers fired, they wait 1 s, 2, 4 ... 5 min; success resets. */
static void
backoff(void)
{
	const int64_t t0 = 1800000000000LL;
	struct timer t, other;
	int64_t at = t0, wait = 1000;
	int i;

	timer_init(&t, retry_now, &t);
	respa_clock_set(t0);
	timer_in(&t, 0);
	pass_at(at, 1);
	CHECK_INT(retries, 1);
	for (i = 0; i < 12; i++) { /* every pass fails: the waits double up to 5 min */
		pass_at(at + wait - 1, 1);
		CHECK_INT(retries, i + 1); /* held: nothing fired, so the wait does not grow */
		CHECK_INT(timer_next(), 1);
		at += wait;
		pass_at(at, 1);
		CHECK_INT(retries, i + 2);
		wait = wait * 2 > 300000 ? 300000 : wait * 2;
	}
	CHECK_INT(wait, 300000);
	CHECK_INT(timer_next(), 300000);

	/* a failed pass in which no timer fired holds nothing back */
	timer_cancel(&t);
	timer_free_all();
	timer_init(&other, record, &timers[2]);
	fired[2] = 0;
	pass_at(t0, 1);
	timer_at(&other, t0);
	pass_at(t0, 0);
	CHECK_INT(fired[2], 1);

	/* a stored pass with timers fired resets the wait to 1 s */
	retries = 0;
	timer_in(&t, 0);
	pass_at(t0, 1);                 /* held 1 s, next wait 2 s */
	pass_at(t0 + 1000, 0);          /* fired and stored: back to 1 s */
	CHECK_INT(retries, 2);
	pass_at(t0 + 1001, 1);          /* fired again, failed: held 1 s, not 2 */
	CHECK_INT(retries, 3);
	pass_at(t0 + 2000, 1);
	CHECK_INT(retries, 3);
	pass_at(t0 + 2001, 1);
	CHECK_INT(retries, 4);
	timer_free_all();
	respa_clock_set(0);
}

int
main(void)
{
	generic_heap();
	heap_order();
	callbacks();
	backoff();
	return check_done();
}
