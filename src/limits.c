/*
 * Limits on what one customer can make respa do ([limits] in respa.conf): token buckets per
 * bare JID on opening conversations and on messages, and counts of open conversations per
 * bare JID, widget session token and site visitor id. Every check is one map lookup; nothing
 * scans the conversations. A bucket that has refilled to its burst says nothing a fresh one
 * would not, so a slow timer drops those: memory follows the customers active in the last
 * minute or so, not everyone ever seen.
 */
#include <stdlib.h>
#include <string.h>

#include "respa.h"

#define BUCKET_UNIT 60000  /* a token in 1/60000ths: per-minute rates refill per ms */
#define SWEEP_SECONDS 60   /* idle buckets are dropped this often */
#define SWEEP_EARLY 100000 /* more customers than this: sweep at once (at most 1/s) */
/*
 * Refused messages are answered up to 10 at once, then 1 a second: a person over a limit hears
 * of each message they lost, while a script flooding respa does not get a flood back (every
 * answer costs the server as much as the message did, and delays everyone's chats).
 */
#define ANSWER_BURST 10
#define ANSWERS_PER_MINUTE 60

struct customer {
	struct bucket b[3]; /* enum limit_rate */
	char jid[];
};

struct count {
	int n;
	char key[];
};

static struct config *conf;
static struct map *customers; /* bare JID -> struct customer */
static struct map *counts;    /* key -> struct count, while n > 0 */
static struct timer sweep;
static int64_t last_sweep;
static unsigned long refused[3]; /* since the last sweep, for one log line a minute */

/* --- the bucket: pure ------------------------------------------------------------------ */

int
bucket_take(struct bucket *b, int burst, int per_minute, int64_t now)
{
	int64_t cap = (int64_t)burst * BUCKET_UNIT, dt = now - b->at;

	if (per_minute <= 0)
		return 1;
	if (dt > 0) /* clamped: a day refills any bucket, and the product stays small */
		b->level += (dt > 86400000 ? 86400000 : dt) * per_minute;
	if (b->level > cap)
		b->level = cap;
	b->at = now; /* a clock that went back refills nothing */
	if (b->level < BUCKET_UNIT)
		return 0;
	b->level -= BUCKET_UNIT;
	return 1;
}

/* 1 when the bucket has refilled to its burst: it may be forgotten. */
int
bucket_idle(const struct bucket *b, int burst, int per_minute, int64_t now)
{
	int64_t dt = now - b->at;

	if (per_minute <= 0 || dt >= 86400000)
		return 1;
	return b->level + (dt > 0 ? dt : 0) * per_minute >= (int64_t)burst * BUCKET_UNIT;
}

/* --- buckets per customer -------------------------------------------------------------- */

static int
burst_of(enum limit_rate r)
{
	return r == LIMIT_OPEN   ? conf->open_burst
	    : r == LIMIT_MESSAGE ? conf->message_burst
	                         : ANSWER_BURST;
}

static int
rate_of(enum limit_rate r)
{
	return r == LIMIT_OPEN   ? conf->opens_per_minute
	    : r == LIMIT_MESSAGE ? conf->messages_per_minute
	                         : ANSWERS_PER_MINUTE;
}

struct sweeping {
	struct customer **idle;
	size_t n;
	int64_t now;
};

static void
find_idle(const char *key, void *value, void *arg)
{
	struct sweeping *s = arg;
	struct customer *k = value;

	(void)key;
	int r;

	for (r = LIMIT_OPEN; r <= LIMIT_ANSWER; r++)
		if (!bucket_idle(&k->b[r], burst_of(r), rate_of(r), s->now))
			return;
	s->idle[s->n++] = k;
}

static void
sweep_now(void)
{
	struct sweeping s;
	size_t i;

	s.now = last_sweep = respa_now_ms();
	s.n = 0;
	s.idle = xcalloc(map_count(customers) + 1, sizeof(*s.idle));
	map_foreach(customers, find_idle, &s);
	for (i = 0; i < s.n; i++) {
		map_del(customers, s.idle[i]->jid);
		free(s.idle[i]);
	}
	free(s.idle);
}

static void
sweep_timer(void *arg)
{
	(void)arg;
	sweep_now();
	if (refused[LIMIT_OPEN] || refused[LIMIT_MESSAGE])
		log_info("limits: %lu messages and %lu new conversations refused in the last %d s "
		         "(customers sending too fast; %lu refusals not answered)",
		    refused[LIMIT_MESSAGE], refused[LIMIT_OPEN], SWEEP_SECONDS,
		    refused[LIMIT_ANSWER]);
	memset(refused, 0, sizeof(refused));
	timer_in(&sweep, SWEEP_SECONDS);
}

void
limits_init(struct config *c)
{
	conf = c;
	if (customers == NULL)
		customers = map_new();
	if (counts == NULL)
		counts = map_new();
	timer_init(&sweep, sweep_timer, NULL);
	timer_in(&sweep, SWEEP_SECONDS);
}

static void
free_value(const char *key, void *value, void *arg)
{
	(void)key, (void)arg;
	free(value);
}

void
limits_free(void)
{
	timer_cancel(&sweep);
	if (customers) {
		map_foreach(customers, free_value, NULL);
		map_free(customers);
	}
	if (counts) {
		map_foreach(counts, free_value, NULL);
		map_free(counts);
	}
	customers = counts = NULL;
}

/* Takes a token from the customer's bucket: 1, or 0 when they are over the rate. */
int
limits_allow(enum limit_rate r, const char *bare)
{
	struct customer *k;
	int64_t now = respa_now_ms();
	size_t len;

	if (conf == NULL || rate_of(r) <= 0)
		return 1;
	if ((k = map_get(customers, bare)) == NULL) {
		if (map_count(customers) >= SWEEP_EARLY && now - last_sweep >= 1000)
			sweep_now();
		len = strlen(bare) + 1;
		k = xcalloc(1, sizeof(*k) + len);
		memcpy(k->jid, bare, len);
		k->b[LIMIT_OPEN] = (struct bucket){ (int64_t)conf->open_burst * BUCKET_UNIT, now };
		k->b[LIMIT_MESSAGE] =
		    (struct bucket){ (int64_t)conf->message_burst * BUCKET_UNIT, now };
		k->b[LIMIT_ANSWER] = (struct bucket){ (int64_t)ANSWER_BURST * BUCKET_UNIT, now };
		map_put(customers, k->jid, k);
	}
	if (bucket_take(&k->b[r], burst_of(r), rate_of(r), now))
		return 1;
	refused[r]++;
	return 0;
}

size_t
limits_tracked(void)
{
	return customers ? map_count(customers) : 0;
}

/* --- open conversations per key -------------------------------------------------------- */

int
limits_count(const char *key)
{
	struct count *c = counts ? map_get(counts, key) : NULL;

	return c ? c->n : 0;
}

void
limits_hold(const char *key)
{
	struct count *c;
	size_t len;

	if (counts == NULL)
		counts = map_new();
	if ((c = map_get(counts, key)) == NULL) {
		len = strlen(key) + 1;
		c = xcalloc(1, sizeof(*c) + len);
		memcpy(c->key, key, len);
		map_put(counts, c->key, c);
	}
	c->n++;
}

void
limits_release(const char *key)
{
	struct count *c = counts ? map_get(counts, key) : NULL;

	if (c && --c->n <= 0) {
		map_del(counts, c->key);
		free(c);
	}
}
