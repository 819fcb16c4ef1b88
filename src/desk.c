/*
 * The desk as admins shape it with ad-hoc commands: queues, agents and memberships made by
 * commands live in SQLite and are loaded at start after respa.conf's. The file manages what it
 * declares: a name in both is the file's (with a warning at start), and commands never change
 * or delete what the file declares. A file queue's members come from the file; a command-made
 * queue's members are stored with it, and any agent may be one.
 *
 * Each change is stored first, in one savepoint, and only then made in memory: routing sees a
 * queue, an agent or a membership appear or go as it would at start.
 */
#include <stdlib.h>
#include <string.h>

#include "respa.h"

static struct config *conf;

/* --- start-up --------------------------------------------------------------------------- */

static int
load_queue(const struct stored_queue *s, void *arg)
{
	char err[160];
	struct queue *q;

	(void)arg;
	if (map_get(conf->queue_map, s->name)) {
		log_warnx("queue %s is declared in %s and was also made by a command: the file's "
		          "is used, the stored one is ignored",
		    s->name, conf->path);
		return 0;
	}
	q = config_queue_alloc(s->name);
	q->managed = 1;
	q->title = s->title ? xstrdup(s->title) : NULL;
	if (strategy_parse(s->strategy, &q->strategy) == -1)
		log_warnx("queue %s: unknown strategy %s, longest-idle instead", s->name,
		    s->strategy);
	q->mode = strcmp(s->mode, "offer") == 0 ? MODE_OFFER : MODE_AUTO;
	q->capacity = s->capacity;
	q->tier_wait = s->tier_wait;
	q->offer_timeout = s->offer_timeout;
	q->max_wait = s->max_wait;
	q->idle_close = s->idle_close;
	q->timezone = xstrdup(tz_exists(s->timezone) ? s->timezone : "UTC");
	q->greeting = s->greeting ? xstrdup(s->greeting) : NULL;
	q->offline_text = s->offline_text ? xstrdup(s->offline_text) : NULL;
	if (s->hours && hours_parse(q->hours, s->hours, err, sizeof(err)) == 0)
		q->hours_text = xstrdup(s->hours);
	else if (s->hours)
		log_warnx("queue %s: stored hours: %s; open around the clock", s->name, err);
	if (s->closed && hours_parse_closed(q->hours, s->closed, err, sizeof(err)) == 0)
		q->closed_dates = xstrdup(s->closed);
	else if (s->closed)
		log_warnx("queue %s: stored closed dates: %s", s->name, err);
	config_queue_finish(conf, q);
	map_put(conf->queue_map, q->name, q);
	*conf->queues_tail = q;
	conf->queues_tail = &q->next;
	return 0;
}

static int
load_agent(const char *jid, int capacity, void *arg)
{
	struct agent *a = map_get(conf->agent_map, jid);

	(void)arg;
	if (a) {
		log_warnx("agent %s is declared in %s and was also added by a command: the file's "
		          "is used, the stored one is ignored",
		    jid, conf->path);
		return 0;
	}
	a = config_agent(conf, jid);
	a->capacity = capacity;
	a->managed = 1;
	return 0;
}

static int
load_member(const char *queue, const char *jid, int tier, void *arg)
{
	struct queue *q = map_get(conf->queue_map, queue);
	struct agent *a = map_get(conf->agent_map, jid);

	(void)arg;
	if (q && a && q->managed) /* a file queue's members are the file's */
		(void)config_member(a, q, tier);
	return 0;
}

/* After respa.conf, before routing starts: what commands made. */
int
desk_load(struct config *c)
{
	conf = c;
	if (store_desk_queues_foreach(load_queue, NULL) == -1 ||
	    store_desk_agents_foreach(load_agent, NULL) == -1 ||
	    store_desk_members_foreach(load_member, NULL) == -1)
		return -1;
	return 0;
}

/* --- queues ----------------------------------------------------------------------------- */

static int
put_queue(const struct queue *q)
{
	struct stored_queue s = {
		.name = q->name,
		.title = q->title,
		.strategy = strategy_name(q->strategy),
		.mode = q->mode == MODE_OFFER ? "offer" : "auto",
		.hours = q->hours_text,
		.closed = q->closed_dates,
		.timezone = q->timezone,
		.greeting = q->greeting,
		.offline_text = q->offline_text,
		.capacity = q->capacity,
		.tier_wait = q->tier_wait,
		.offer_timeout = q->offer_timeout,
		.max_wait = q->max_wait,
		.idle_close = q->idle_close,
	};

	return store_desk_queue_put(&s);
}

int
desk_queue_add(struct queue *q)
{
	int ok;

	ok = store_apply_begin() == 0 && put_queue(q) == 0;
	if (store_apply_end(ok) == -1)
		return -1;
	q->managed = 1;
	config_queue_finish(conf, q);
	map_put(conf->queue_map, q->name, q);
	*conf->queues_tail = q;
	conf->queues_tail = &q->next;
	router_queue_added(q);
	queue_added(q);
	log_info("queue %s created by a command", q->name);
	return 0;
}

static void
swap_str(char **a, char **b)
{
	char *t = *a;

	*a = *b;
	*b = t;
}

int
desk_queue_update(struct queue *q, struct queue *d)
{
	struct hours *h;
	int ok;

	ok = store_apply_begin() == 0 && put_queue(d) == 0;
	if (store_apply_end(ok) == -1)
		return -1;
	swap_str(&q->title, &d->title);
	swap_str(&q->timezone, &d->timezone);
	swap_str(&q->greeting, &d->greeting);
	swap_str(&q->offline_text, &d->offline_text);
	swap_str(&q->hours_text, &d->hours_text);
	swap_str(&q->closed_dates, &d->closed_dates);
	h = q->hours;
	q->hours = d->hours;
	d->hours = h;
	q->strategy = d->strategy;
	q->mode = d->mode;
	q->capacity = d->capacity;
	q->tier_wait = d->tier_wait;
	q->offer_timeout = d->offer_timeout;
	q->max_wait = d->max_wait;
	q->idle_close = d->idle_close;
	config_queue_finish(conf, q);
	router_queue_reorder(q);
	queue_hours_changed(q);
	log_info("queue %s changed by a command", q->name);
	return 0;
}

static void
member_unlink(struct member *m)
{
	struct member **pp;

	for (pp = &m->agent->members; *pp != m; pp = &(*pp)->next_of_agent)
		;
	*pp = m->next_of_agent;
	LIST_REMOVE(m, queue_link);
	router_member_removed(m);
	free(m);
}

/* Only a command-made queue with no open conversation: the caller checked. */
int
desk_queue_delete(struct queue *q)
{
	struct queue **pp;
	struct member *m;
	int ok;

	ok = store_apply_begin() == 0 && store_desk_queue_del(q->name) == 0;
	if (store_apply_end(ok) == -1)
		return -1;
	while ((m = LIST_FIRST(&q->members)) != NULL)
		member_unlink(m);
	router_queue_removed(q);
	queue_removed(q);
	map_del(conf->queue_map, q->name);
	for (pp = &conf->queues; *pp != q; pp = &(*pp)->next)
		;
	*pp = q->next;
	if (conf->queues_tail == &q->next)
		conf->queues_tail = pp;
	log_info("queue %s deleted by a command", q->name);
	config_queue_free(q);
	return 0;
}

/* --- agents and memberships --------------------------------------------------------------- */

struct agent *
desk_agent_add(const char *jid, int capacity)
{
	struct agent *a;
	int ok;

	ok = store_apply_begin() == 0 && store_desk_agent_put(jid, capacity) == 0;
	if (store_apply_end(ok) == -1)
		return NULL;
	a = config_agent(conf, jid);
	a->capacity = capacity;
	a->managed = 1;
	presence_agent_added(a);
	log_info("agent %s added by a command", a->jid);
	return a;
}

int
desk_agent_capacity(struct agent *a, int capacity)
{
	int ok;

	ok = store_apply_begin() == 0 && store_desk_agent_put(a->jid, capacity) == 0;
	if (store_apply_end(ok) == -1)
		return -1;
	a->capacity = capacity;
	router_agent_changed(a);
	return 0;
}

/* Only a command-made agent with no chat and no offer: the caller checked. */
int
desk_agent_delete(struct agent *a)
{
	struct agent **pp;
	int ok;

	ok = store_apply_begin() == 0 && store_desk_agent_del(a->jid) == 0;
	if (store_apply_end(ok) == -1)
		return -1;
	while (a->members)
		member_unlink(a->members);
	conversation_agent_removed(a);
	presence_agent_removed(a);
	map_del(conf->agent_map, a->jid);
	for (pp = &conf->agents; *pp != a; pp = &(*pp)->next)
		;
	*pp = a->next;
	if (conf->agents_tail == &a->next)
		conf->agents_tail = pp;
	log_info("agent %s removed by a command", a->jid);
	config_agent_free(a);
	return 0;
}

/* Into a command-made queue at a tier, or to another tier. */
int
desk_member_set(struct agent *a, struct queue *q, int tier)
{
	struct member *m;
	int ok;

	ok = store_apply_begin() == 0 && store_desk_member_put(q->name, a->jid, tier) == 0;
	if (store_apply_end(ok) == -1)
		return -1;
	if ((m = config_member_find(a, q)) != NULL) {
		router_member_removed(m);
		m->tier = tier;
	} else
		m = config_member(a, q, tier);
	router_member_added(m);
	return 0;
}

int
desk_member_remove(struct agent *a, struct queue *q)
{
	struct member *m = config_member_find(a, q);
	int ok;

	if (m == NULL)
		return 0;
	ok = store_apply_begin() == 0 && store_desk_member_del(q->name, a->jid) == 0;
	if (store_apply_end(ok) == -1)
		return -1;
	member_unlink(m);
	return 0;
}
