/*
 * The figures of the report, in one place: `respa report` (report_html.c) and the stats
 * command (commands.c) both read them from report_compute(), so they always agree.
 *
 * SQL aggregates everything; the one thing it cannot do is a queue's business hours in its
 * time zone. So each queue's period is cut here into slots, spans within one local hour and
 * one state of the hours (hours.c decides), and SQLite asks respa_slot() for a conversation's
 * slot by binary search: a few thousand time-zone conversions for a year, not one per chat.
 */
#include <stdlib.h>
#include <string.h>

#include "respa.h"

const char *const report_outcome_names[OUTCOME_COUNT] = {
	[OUTCOME_ANSWERED] = "answered within max wait",
	[OUTCOME_NOTICE] = "notice and task (no answer within max wait)",
	[OUTCOME_LEFT] = "left before an answer",
	[OUTCOME_OFFLINE] = "out of hours: kept for later",
	[OUTCOME_FULL] = "turned away: the line was full",
	[OUTCOME_WAITING] = "still waiting",
};

const char *const report_weekdays[7] = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" };

long
report_percent(long part, long whole)
{
	return whole ? (part * 100 + whole / 2) / whole : 0;
}

void
report_duration(long secs, char *buf, size_t len)
{
	if (secs < 60)
		snprintf(buf, len, "%ld s", secs);
	else if (secs < 3600)
		snprintf(buf, len, "%ld min %ld s", secs / 60, secs % 60);
	else
		snprintf(buf, len, "%ld h %ld min", secs / 3600, secs % 3600 / 60);
}

/* Cuts [since, until) into the queue's slots. */
static void
slots_make(struct report_queue *q, time_t since, time_t until)
{
	size_t cap = 64;
	time_t t = since, change, end;
	struct tm tm;
	int open;

	q->nslots = 0;
	q->start = xcalloc(cap + 1, sizeof(*q->start));
	q->code = xcalloc(cap, sizeof(*q->code));
	change = q->hours ? hours_next_change(q->hours, q->tz, t) : 0;
	while (t < until) {
		if (tz_localtime(q->tz, t, &tm) == -1)
			memset(&tm, 0, sizeof(tm));
		open = q->hours ? hours_is_open(q->hours, q->tz, t) : 1;
		end = t + 3600 - (tm.tm_min * 60 + tm.tm_sec);
		while (change && change <= t) /* passed: the next one */
			change = hours_next_change(q->hours, q->tz, t);
		if (change && change < end)
			end = change;
		if (q->nslots == cap) {
			cap *= 2;
			q->start = xrealloc(q->start, (cap + 1) * sizeof(*q->start));
			q->code = xrealloc(q->code, cap * sizeof(*q->code));
		}
		q->start[q->nslots] = t;
		q->code[q->nslots++] =
		    (unsigned short)REPORT_CODE(tm.tm_hour, (tm.tm_wday + 6) % 7, open);
		t = end;
	}
	q->start[q->nslots] = until;
}

struct slots {
	struct report_queue *qs;
	size_t nq;
	int utc; /* unknown queues: open around the clock, in UTC */
};

static int
slot_of(const char *name, time_t t, void *arg)
{
	struct slots *sl = arg;
	struct report_queue *q = NULL;
	size_t i, lo, hi;
	struct tm tm;

	for (i = 0; i < sl->nq; i++)
		if (strcmp(sl->qs[i].name, name) == 0) {
			q = &sl->qs[i];
			break;
		}
	if (q == NULL || q->nslots == 0 || t < q->start[0]) {
		gmtime_r(&t, &tm);
		return REPORT_CODE(tm.tm_hour, (tm.tm_wday + 6) % 7, 1);
	}
	lo = 0;
	hi = q->nslots; /* the slot is the last whose start is <= t */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (q->start[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	return q->code[lo];
}

void
report_queues_free(struct report_queue *qs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(qs[i].start);
		free(qs[i].code);
		qs[i].start = NULL;
		qs[i].code = NULL;
		qs[i].nslots = 0;
	}
}

static void
row_add(struct report_row **v, size_t *n, const char *key, long a, long b, long c)
{
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[*n].key = xstrdup(key);
	(*v)[*n].a = a;
	(*v)[*n].b = b;
	(*v)[*n].c = c;
	(*n)++;
}

static int
on_hour(const char *key, long a, long b, long c, void *arg)
{
	struct report *r = arg;
	int h = atoi(key);

	(void)c;
	if (h >= 0 && h < 24) {
		r->hour[h][0] = a;
		r->hour[h][1] = b;
	}
	return 0;
}

static int
on_weekday(const char *key, long a, long b, long c, void *arg)
{
	struct report *r = arg;
	int d = atoi(key);

	(void)c;
	if (d >= 0 && d < 7) {
		r->weekday[d] = a;
		r->weekday_in[d] = b;
	}
	return 0;
}

static int
on_outcome(const char *key, long a, long b, long c, void *arg)
{
	struct report *r = arg;
	int o = atoi(key);

	(void)b;
	(void)c;
	if (o >= 0 && o < OUTCOME_COUNT)
		r->outcome[o] = a;
	return 0;
}

struct rows {
	struct report_row **v;
	size_t *n;
};

static int
on_row(const char *key, long a, long b, long c, void *arg)
{
	struct rows *rs = arg;

	row_add(rs->v, rs->n, key, a, b, c);
	return 0;
}

static struct report_agent *
agent_get(struct report *r, const char *jid)
{
	size_t i;

	for (i = 0; i < r->nagents; i++)
		if (strcmp(r->agents[i].jid, jid) == 0)
			return &r->agents[i];
	r->agents = xrealloc(r->agents, (r->nagents + 1) * sizeof(*r->agents));
	memset(&r->agents[r->nagents], 0, sizeof(*r->agents));
	r->agents[r->nagents].jid = xstrdup(jid);
	return &r->agents[r->nagents++];
}

static int
on_agent(const char *key, long a, long b, long c, void *arg)
{
	struct report_agent *ag = agent_get(arg, key);

	ag->chats = a;
	ag->closed = b;
	ag->fcr = c;
	return 0;
}

static int
on_missed(const char *key, long a, long b, long c, void *arg)
{
	(void)b;
	(void)c;
	agent_get(arg, key)->missed = a;
	return 0;
}

static int
on_rating(const char *key, long a, long b, long c, void *arg)
{
	struct report *r = arg;
	struct report_agent *ag;

	if (*key == '\0') { /* the total */
		r->rated = a;
		r->asked = b;
		r->rating = a ? (double)c / (double)a : 0;
		return 0;
	}
	ag = agent_get(r, key);
	ag->rated = a;
	ag->rating = a ? (double)c / (double)a : 0;
	return 0;
}

static int
on_score(const char *key, long a, long b, long c, void *arg)
{
	struct report *r = arg;
	int s = atoi(key);

	(void)b;
	(void)c;
	if (s >= 1 && s <= 5)
		r->scores[s - 1] = a;
	return 0;
}

static int
on_time_all(const char *key, const struct stats_times *t, void *arg)
{
	(void)key;
	*(struct stats_times *)arg = *t;
	return 0;
}

static int
on_time_hour(const char *key, const struct stats_times *t, void *arg)
{
	struct report *r = arg;
	int h = atoi(key);

	if (h >= 0 && h < 24)
		r->first_by_hour[h] = *t;
	return 0;
}

static int
on_first_agent(const char *key, const struct stats_times *t, void *arg)
{
	agent_get(arg, key)->first = *t;
	return 0;
}

static int
on_handling_agent(const char *key, const struct stats_times *t, void *arg)
{
	agent_get(arg, key)->handling = *t;
	return 0;
}

static int
agent_cmp(const void *a, const void *b)
{
	const struct report_agent *x = a, *y = b;

	if (x->chats != y->chats)
		return x->chats < y->chats ? 1 : -1;
	return strcmp(x->jid, y->jid);
}

/* The figures of span over the given queues; 0, or -1 when the database failed. */
int
report_compute(struct report *r, const struct report_span *span, struct report_queue *qs, size_t nq,
    int default_max_wait)
{
	struct slots sl = { qs, nq, 0 };
	struct rows rs;
	size_t i;
	int rc = 0;

	memset(r, 0, sizeof(*r));
	r->span = *span;
	for (i = 0; i < nq; i++)
		slots_make(&qs[i], span->since, span->until);
	if (store_report_begin(span, qs, nq, default_max_wait, slot_of, &sl) == -1) {
		store_report_end();
		return -1;
	}
	if (store_report_counts(&r->total, &r->in_hours, &r->by_agent, &r->resolved, &r->fcr) ==
	        -1 ||
	    store_report_groups(RG_HOUR, span, on_hour, r) == -1 ||
	    store_report_groups(RG_WEEKDAY, span, on_weekday, r) == -1 ||
	    store_report_groups(RG_OUTCOME, span, on_outcome, r) == -1)
		rc = -1;
	rs.v = &r->channels;
	rs.n = &r->nchannels;
	if (rc == 0 && store_report_groups(RG_CHANNEL, span, on_row, &rs) == -1)
		rc = -1;
	rs.v = &r->queue_channels;
	rs.n = &r->nqueue_channels;
	if (rc == 0 && store_report_groups(RG_QUEUE_CHANNEL, span, on_row, &rs) == -1)
		rc = -1;
	rs.v = &r->tags;
	rs.n = &r->ntags;
	if (rc == 0 && store_report_groups(RG_TAGS, span, on_row, &rs) == -1)
		rc = -1;
	if (rc == 0 &&
	    (store_report_times(RT_FIRST_RESPONSE, RB_ALL, on_time_all, &r->first) == -1 ||
	        store_report_times(RT_WAIT, RB_ALL, on_time_all, &r->wait) == -1 ||
	        store_report_times(RT_HANDLING, RB_ALL, on_time_all, &r->handling) == -1 ||
	        store_report_times(RT_FIRST_RESPONSE, RB_HOUR, on_time_hour, r) == -1 ||
	        store_report_groups(RG_AGENTS, span, on_agent, r) == -1 ||
	        store_report_groups(RG_MISSED, span, on_missed, r) == -1 ||
	        store_report_times(RT_FIRST_RESPONSE, RB_AGENT, on_first_agent, r) == -1 ||
	        store_report_times(RT_HANDLING, RB_AGENT, on_handling_agent, r) == -1 ||
	        store_report_tasks(span, &r->tasks_created, &r->tasks_done, &r->tasks_overdue) ==
	            -1))
		rc = -1;
	r->has_ratings = store_report_has_ratings();
	if (rc == 0 && r->has_ratings &&
	    (store_report_groups(RG_RATINGS, span, on_rating, r) == -1 ||
	        store_report_groups(RG_SCORES, span, on_score, r) == -1))
		rc = -1;
	store_report_end();
	if (r->nagents > 1)
		qsort(r->agents, r->nagents, sizeof(*r->agents), agent_cmp);
	return rc;
}

static void
rows_free(struct report_row *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i].key);
	free(v);
}

void
report_free(struct report *r)
{
	size_t i;

	rows_free(r->channels, r->nchannels);
	rows_free(r->queue_channels, r->nqueue_channels);
	rows_free(r->tags, r->ntags);
	for (i = 0; i < r->nagents; i++)
		free(r->agents[i].jid);
	free(r->agents);
	memset(r, 0, sizeof(*r));
}
