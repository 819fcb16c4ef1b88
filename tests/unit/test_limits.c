/* limits.c: the token bucket (burst, refill, clock going back, idle) and the counts. */
#include <stdlib.h>

#include "check.h"

#define UNIT 60000 /* a token, as limits.c counts it */

static struct bucket
full(int burst, int64_t now)
{
	return (struct bucket){ (int64_t)burst * UNIT, now };
}

static void
burst_then_refused(void)
{
	struct bucket b = full(5, 1000);
	int i, taken = 0;

	for (i = 0; i < 20; i++)
		taken += bucket_take(&b, 5, 6, 1000);
	CHECK_INT(taken, 5);
	CHECK_INT(bucket_take(&b, 5, 6, 1000), 0);
}

static void
refills_at_the_rate(void)
{
	struct bucket b = full(2, 0);

	CHECK(bucket_take(&b, 2, 6, 0));
	CHECK(bucket_take(&b, 2, 6, 0));
	CHECK(!bucket_take(&b, 2, 6, 0));
	/* 6 a minute: one token every 10 s, not before */
	CHECK(!bucket_take(&b, 2, 6, 9999));
	CHECK(bucket_take(&b, 2, 6, 10000));
	CHECK(!bucket_take(&b, 2, 6, 10001));
	/* a long pause refills to the burst, never above it */
	CHECK(bucket_take(&b, 2, 6, 3600000));
	CHECK(bucket_take(&b, 2, 6, 3600000));
	CHECK(!bucket_take(&b, 2, 6, 3600000));
}

static void
steady_rate_is_kept(void)
{
	struct bucket b = full(30, 0);
	int64_t t;
	int taken = 0;

	/* 300 a minute is 5 a second: a message every 200 ms goes through for ever */
	for (t = 0; t < 600000; t += 200)
		taken += bucket_take(&b, 30, 300, t);
	CHECK_INT(taken, 3000);
	/* twice that rate: the burst, then half */
	b = full(30, 0);
	taken = 0;
	for (t = 0; t < 60000; t += 100)
		taken += bucket_take(&b, 30, 300, t);
	CHECK(taken >= 30 + 299 && taken <= 30 + 301);
}

static void
clock_back_and_off(void)
{
	struct bucket b = full(1, 50000);

	CHECK(bucket_take(&b, 1, 6, 50000));
	CHECK(!bucket_take(&b, 1, 6, 1000)); /* the clock went back: nothing refills */
	CHECK(!bucket_take(&b, 1, 6, 10999));
	CHECK(bucket_take(&b, 1, 6, 11000)); /* 10 s after the last look */
	/* a rate of 0 turns the limit off */
	b = full(1, 0);
	CHECK(bucket_take(&b, 1, 0, 0) && bucket_take(&b, 1, 0, 0) && bucket_take(&b, 1, 0, 0));
}

static void
idle(void)
{
	struct bucket b = full(5, 0);

	CHECK(bucket_idle(&b, 5, 6, 0));
	CHECK(bucket_take(&b, 5, 6, 0));
	CHECK(!bucket_idle(&b, 5, 6, 9999));
	CHECK(bucket_idle(&b, 5, 6, 10000));
}

static void
counts(void)
{
	CHECK_INT(limits_count("j\nbob@example.com"), 0);
	limits_hold("j\nbob@example.com");
	limits_hold("j\nbob@example.com");
	limits_hold("s\ntoken-1");
	CHECK_INT(limits_count("j\nbob@example.com"), 2);
	CHECK_INT(limits_count("s\ntoken-1"), 1);
	limits_release("j\nbob@example.com");
	limits_release("s\ntoken-1");
	CHECK_INT(limits_count("j\nbob@example.com"), 1);
	CHECK_INT(limits_count("s\ntoken-1"), 0);
	limits_release("j\nbob@example.com");
	limits_release("j\nbob@example.com"); /* one too many: stays at 0 */
	CHECK_INT(limits_count("j\nbob@example.com"), 0);
	limits_free();
}

static void
per_customer(void)
{
	struct config c;
	int i, taken = 0;

	memset(&c, 0, sizeof(c));
	c.open_burst = 5;
	c.opens_per_minute = 6;
	c.message_burst = 3;
	c.messages_per_minute = 60;
	limits_init(&c);
	for (i = 0; i < 10; i++)
		taken += limits_allow(LIMIT_MESSAGE, "flood@example.com");
	CHECK_INT(taken, 3);
	/* another customer, and another kind, have buckets of their own */
	CHECK(limits_allow(LIMIT_MESSAGE, "bystander@example.com"));
	CHECK(limits_allow(LIMIT_OPEN, "flood@example.com"));
	CHECK_INT(limits_tracked(), 2);
	c.messages_per_minute = 0; /* off: always allowed */
	CHECK(limits_allow(LIMIT_MESSAGE, "flood@example.com"));
	limits_free();
	timer_free_all();
}

int
main(void)
{
	burst_then_refused();
	refills_at_the_rate();
	steady_rate_is_kept();
	clock_back_and_off();
	idle();
	counts();
	per_customer();
	return check_done();
}
