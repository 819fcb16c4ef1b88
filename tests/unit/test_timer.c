/* timer.c: the deadline heap against a plain model, cancels and re-arms from callbacks. */
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

int
main(void)
{
	heap_order();
	callbacks();
	return check_done();
}
