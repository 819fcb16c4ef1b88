/*
 * The figures of the report, in one place: `respa report` (report_html.c) and the stats
 * command (commands.c) both read them from report_compute(), so they always agree.
 *
 * SQL aggregates everything; the one thing it cannot do is a queue's business hours in its
 * time zone. So each queue's period is cut here into slots, spans within one local hour and
 * one state of the hours (hours.c decides), and SQLite asks respa_slot() for a conversation's
 * slot by binary search: a few thousand time-zone conversions for a year, not one per chat.
 */
#include <stdint.h>
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

static long
utc_offset(const char *tz, time_t t, struct tm *tm)
{
	struct tm copy;

	if (tz_localtime(tz, t, tm) == -1) {
		gmtime_r(&t, tm);
		return 0;
	}
	copy = *tm;
	return (long)(timegm(&copy) - t);
}

/*
 * Cuts [since, until) into the queue's slots. A conversion in the zone costs a look at its
 * file, so a day whose offset from UTC stays the same (all but two a year) takes the offset
 * once; the hours are asked only where they change.
 */
static void
slots_make(struct report_queue *q, time_t since, time_t until)
{
	size_t cap = 64;
	time_t t = since, change, end, day_end = since, local;
	long off = 0;
	int open, exact = 0;
	struct tm tm, next;

	q->nslots = 0;
	q->start = xcalloc(cap + 1, sizeof(*q->start));
	q->code = xcalloc(cap, sizeof(*q->code));
	open = q->hours ? hours_is_open(q->hours, q->tz, t) : 1;
	change = q->hours ? hours_next_change(q->hours, q->tz, t) : 0;
	while (t < until) {
		if (t >= day_end) {
			off = utc_offset(q->tz, t, &tm);
			exact = utc_offset(q->tz, t + 86400, &next) != off;
			day_end = t + 86400;
		}
		if (exact)
			off = utc_offset(q->tz, t, &tm);
		local = t + off;
		gmtime_r(&local, &tm);
		if (change && change <= t) { /* the hours change here: a slot begins at it */
			open = hours_is_open(q->hours, q->tz, t);
			change = hours_next_change(q->hours, q->tz, t);
		}
		end = t + 3600 - (tm.tm_min * 60 + tm.tm_sec);
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
	size_t nq; /* unknown queues: open around the clock, in UTC */
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

/* Durations as SQL grouped them: each value with how many chats had it. */
struct dist {
	struct report_bin *v;
	size_t len, cap;
};

static void
report_dist_add(struct dist *d, long value, long n)
{
	if (d->len == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 64;
		d->v = xrealloc(d->v, d->cap * sizeof(*d->v));
	}
	d->v[d->len].value = value;
	d->v[d->len++].n = n;
}

static int
bin_cmp(const void *a, const void *b)
{
	const struct report_bin *x = a, *y = b;

	return x->value < y->value ? -1 : x->value > y->value;
}

void
report_times_of(struct report_bin *v, size_t len, struct stats_times *t)
{
	long n = 0, seen = 0, r50, r90;
	double sum = 0;
	size_t i;

	memset(t, 0, sizeof(*t));
	if (len == 0)
		return; /* no values: qsort must not see a NULL */
	qsort(v, len, sizeof(*v), bin_cmp);
	for (i = 0; i < len; i++) {
		n += v[i].n;
		sum += (double)v[i].value * (double)v[i].n;
	}
	if (n == 0)
		return;
	r50 = (n * 50 + 99) / 100; /* nearest rank: the smallest value with that many at or below */
	r90 = (n * 90 + 99) / 100;
	for (i = 0; i < len; i++) {
		if (seen < r50 && seen + v[i].n >= r50)
			t->median = v[i].value;
		if (seen < r90 && seen + v[i].n >= r90)
			t->p90 = v[i].value;
		seen += v[i].n;
	}
	t->n = n;
	t->avg = sum / (double)n;
}

static void
dist_done(struct dist *d, struct stats_times *t)
{
	report_times_of(d->v, d->len, t);
	free(d->v);
	memset(d, 0, sizeof(*d));
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

/* One conversation's share of the counts. */
struct counting {
	struct report *r;
	struct map *agents; /* jid -> its index in r->agents, plus one */
	long handled, handling;
};

/* Whether key is "q / ch". */
static int
queue_channel_is(const char *key, const char *q, const char *ch)
{
	size_t n = strlen(q);

	return strncmp(key, q, n) == 0 && strncmp(key + n, " / ", 3) == 0 &&
	    strcmp(key + n + 3, ch) == 0;
}

static void
count_row(struct report_row **v, size_t *n, const char *key)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (strcmp((*v)[i].key, key) == 0) {
			(*v)[i].a++;
			return;
		}
	row_add(v, n, key, 1, 0, 0);
}

static int
on_conv(const char *q, const char *ch, const char *agent, const long *v, void *arg)
{
	struct counting *cn = arg;
	struct report *r = cn->r;
	int code = (int)v[0], open = code / 168, hour = code % 24, day = code / 24 % 7;
	struct report_agent *ag;
	uintptr_t k;
	size_t i;

	r->total++;
	r->hour[hour][!open]++;
	r->weekday[day]++;
	r->in_hours += open;
	r->weekday_in[day] += open;
	if (v[1] >= 0 && v[1] < OUTCOME_COUNT)
		r->outcome[v[1]]++;
	r->by_agent += v[2];
	r->resolved += v[3];
	r->fcr += v[4];
	if (v[6]) {
		cn->handled++;
		cn->handling += v[5];
	}
	for (i = 0; i < r->nqueue_channels; i++)
		if (queue_channel_is(r->queue_channels[i].key, q, ch)) {
			r->queue_channels[i].a++;
			break;
		}
	if (i == r->nqueue_channels) {
		char *key = xasprintf("%s / %s", q, ch);

		row_add(&r->queue_channels, &r->nqueue_channels, key, 1, 0, 0);
		free(key);
	}
	count_row(&r->channels, &r->nchannels, ch);
	if (*agent == '\0')
		return 0;
	if ((k = (uintptr_t)map_get(cn->agents, agent)) == 0) {
		ag = agent_get(r, agent);
		map_put(cn->agents, ag->jid, (void *)(uintptr_t)r->nagents); /* its key stays */
	} else
		ag = &r->agents[k - 1];
	ag->chats++;
	ag->closed += v[2];
	ag->fcr += v[4];
	if (v[6]) {
		ag->handling.n++;
		ag->handling.avg += (double)v[5]; /* the sum until all are in */
	}
	return 0;
}

static int
row_cmp(const void *a, const void *b)
{
	const struct report_row *x = a, *y = b;

	if (x->a != y->a)
		return x->a < y->a ? 1 : -1;
	return strcmp(x->key, y->key);
}

static int
on_tag(const char *key, const long *v, void *arg)
{
	struct report *r = arg;

	row_add(&r->tags, &r->ntags, key, v[0], v[1], 0);
	return 0;
}

static int
on_missed(const char *key, const long *v, void *arg)
{
	agent_get(arg, key)->missed = v[0];
	return 0;
}

static int
on_rating(const char *key, const long *v, void *arg)
{
	struct report *r = arg;
	struct report_agent *ag;

	if (*key == '\0') { /* the total */
		r->rated = v[0];
		r->asked = v[1];
		r->rating = v[0] ? (double)v[2] / (double)v[0] : 0;
		return 0;
	}
	ag = agent_get(r, key);
	ag->rated = v[0];
	ag->rating = v[0] ? (double)v[2] / (double)v[0] : 0;
	return 0;
}

static int
on_score(const char *key, const long *v, void *arg)
{
	struct report *r = arg;
	int s = atoi(key);

	if (s >= 1 && s <= 5)
		r->scores[s - 1] = v[0];
	return 0;
}

/* First responses: for all, by hour, by agent. */
struct firsts {
	struct report *r;
	struct dist all, hour[24], *agent; /* agent: one per r->agents, in its order */
	size_t nagent;
};

static int
on_first(const char *key, const long *v, void *arg)
{
	struct firsts *fs = arg;
	struct report_agent *ag;
	size_t i;

	report_dist_add(&fs->all, v[1], v[2]);
	if (v[0] >= 0 && v[0] < 24)
		report_dist_add(&fs->hour[v[0]], v[1], v[2]);
	if (*key == '\0')
		return 0;
	ag = agent_get(fs->r, key);
	i = (size_t)(ag - fs->r->agents);
	if (i >= fs->nagent) {
		fs->agent = xrealloc(fs->agent, (i + 1) * sizeof(*fs->agent));
		memset(fs->agent + fs->nagent, 0, (i + 1 - fs->nagent) * sizeof(*fs->agent));
		fs->nagent = i + 1;
	}
	report_dist_add(&fs->agent[i], v[1], v[2]);
	return 0;
}

static int
on_wait(const char *key, const long *v, void *arg)
{
	(void)key;
	report_dist_add(arg, v[0], v[1]);
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
	struct slots sl = { qs, nq };
	struct counting cn = { r, NULL, 0, 0 };
	struct firsts fs;
	struct dist wait;
	size_t i;
	int rc = 0, h;

	memset(r, 0, sizeof(*r));
	memset(&fs, 0, sizeof(fs));
	memset(&wait, 0, sizeof(wait));
	fs.r = r;
	r->span = *span;
	for (i = 0; i < nq; i++)
		slots_make(&qs[i], span->since, span->until);
	if (store_report_begin(span, qs, nq, default_max_wait, slot_of, &sl) == -1) {
		store_report_end();
		return -1;
	}
	cn.agents = map_new();
	if (store_report_rows(on_conv, &cn) == -1 ||
	    store_report_groups(RG_TAGS, span, on_tag, r) == -1 ||
	    store_report_groups(RG_MISSED, span, on_missed, r) == -1 ||
	    store_report_groups(RG_FIRST, span, on_first, &fs) == -1 ||
	    store_report_groups(RG_WAIT, span, on_wait, &wait) == -1 ||
	    store_report_tasks(span, &r->tasks_created, &r->tasks_done, &r->tasks_overdue) == -1 ||
	    store_report_outbound(span, &r->outbound) == -1)
		rc = -1;
	r->has_ratings = store_report_has_ratings();
	if (rc == 0 && r->has_ratings &&
	    (store_report_groups(RG_RATINGS, span, on_rating, r) == -1 ||
	        store_report_groups(RG_SCORES, span, on_score, r) == -1))
		rc = -1;
	store_report_end();
	map_free(cn.agents);
	r->handling.n = cn.handled;
	r->handling.avg = cn.handled ? (double)cn.handling / (double)cn.handled : 0;
	for (i = 0; i < r->nagents; i++)
		if (r->agents[i].handling.n)
			r->agents[i].handling.avg /= (double)r->agents[i].handling.n;
	dist_done(&fs.all, &r->first);
	for (h = 0; h < 24; h++)
		dist_done(&fs.hour[h], &r->first_by_hour[h]);
	for (i = 0; i < fs.nagent; i++)
		dist_done(&fs.agent[i], &r->agents[i].first);
	free(fs.agent);
	dist_done(&wait, &r->wait);
	if (r->nchannels > 1)
		qsort(r->channels, r->nchannels, sizeof(*r->channels), row_cmp);
	if (r->nqueue_channels > 1)
		qsort(r->queue_channels, r->nqueue_channels, sizeof(*r->queue_channels), row_cmp);
	if (r->nagents > 1) /* after the first responses: they are kept by agent index */
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
