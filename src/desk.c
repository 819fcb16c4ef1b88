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

/* --- reload (SIGHUP) ---------------------------------------------------------------------- */

#define SWAP(a, b) \
	do { \
		__typeof__(a) t_ = (a); \
		(a) = (b); \
		(b) = t_; \
	} while (0)

static int
str_differ(const char *a, const char *b)
{
	return (a == NULL) != (b == NULL) || (a && strcmp(a, b) != 0);
}

struct use {
	const struct queue *q;
	const struct agent *a;
	int n;
};

static void
count_use(struct conv *c, void *arg)
{
	struct use *u = arg;
	struct offer *o;

	if (u->q && (c->queue == u->q || c->entry == u->q))
		u->n++;
	if (u->a && (c->agent == u->a || c->preferred == u->a))
		u->n++;
	for (o = c->offers; u->a && o; o = o->next_of_conv)
		if (o->agent == u->a)
			u->n++;
}

/* Conversations in memory that point at q or a: those keep it until they close. */
static int
in_use(const struct queue *q, const struct agent *a)
{
	struct use u = { q, a, 0 };

	conversation_foreach(count_use, &u);
	return u.n;
}

static void
queue_drop(struct queue *q)
{
	struct queue **pp;
	struct member *m;

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
	config_queue_free(q);
}

static void
agent_drop(struct agent *a)
{
	struct agent **pp;

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
	config_agent_free(a);
}

/* Only the settings: the running queue keeps its line, members, heaps and timers. */
static void
queue_take_settings(struct queue *q, struct queue *n)
{
	size_t i;

	SWAP(q->title, n->title);
	SWAP(q->timezone, n->timezone);
	SWAP(q->greeting, n->greeting);
	SWAP(q->queued_text, n->queued_text);
	SWAP(q->assigned_text, n->assigned_text);
	SWAP(q->closed_text, n->closed_text);
	SWAP(q->offline_text, n->offline_text);
	SWAP(q->max_wait_text, n->max_wait_text);
	SWAP(q->max_queue_text, n->max_queue_text);
	SWAP(q->transcript, n->transcript);
	SWAP(q->transcript_question, n->transcript_question);
	SWAP(q->transcript_yes_text, n->transcript_yes_text);
	SWAP(q->transcript_no_text, n->transcript_no_text);
	SWAP(q->lang, n->lang);
	for (i = 0; i < T_COUNT; i++)
		SWAP(q->texts[i], n->texts[i]);
	SWAP(q->topics, n->topics);
	SWAP(q->ntopics, n->ntopics);
	SWAP(q->max_queue, n->max_queue);
	SWAP(q->strategy, n->strategy);
	SWAP(q->mode, n->mode);
	SWAP(q->capacity, n->capacity);
	SWAP(q->tier_wait, n->tier_wait);
	SWAP(q->offer_timeout, n->offer_timeout);
	SWAP(q->max_wait, n->max_wait);
	SWAP(q->wrap_up, n->wrap_up);
	SWAP(q->idle_close, n->idle_close);
	SWAP(q->customer_grace, n->customer_grace);
	SWAP(q->notice_interval, n->notice_interval);
	SWAP(q->prefer_last, n->prefer_last);
	SWAP(q->reasons, n->reasons);
	SWAP(q->rating, n->rating);
	SWAP(q->rating_window, n->rating_window);
	SWAP(q->rating_text, n->rating_text);
	SWAP(q->rating_thanks_text, n->rating_thanks_text);
	SWAP(q->rating_low_text, n->rating_low_text);
	SWAP(q->rating_retry_text, n->rating_retry_text);
	SWAP(q->rating_late_text, n->rating_late_text);
	SWAP(q->call_url, n->call_url);
	SWAP(q->call_text, n->call_text);
	SWAP(q->alert_wait, n->alert_wait);
	SWAP(q->overflow_wait, n->overflow_wait);
	SWAP(q->overflow_name, n->overflow_name); /* its links: resolved again after the queues */
	SWAP(q->closed_overflow_name, n->closed_overflow_name);
	SWAP(q->hours, n->hours);
	SWAP(q->hours_text, n->hours_text);
	SWAP(q->closed_dates, n->closed_dates);
	SWAP(q->written, n->written);
}

/* The file's members of q, as the new file lists them (n's members belong to n's agents). */
static void
members_apply(struct queue *q, const struct queue *n)
{
	struct member *m, *mn, *nm;
	struct agent *a;
	int found;

	for (m = LIST_FIRST(&q->members); m; m = mn) {
		mn = LIST_NEXT(m, queue_link);
		found = 0;
		LIST_FOREACH(nm, &n->members, queue_link)
		if (strcmp(nm->agent->jid, m->agent->jid) == 0) {
			found = nm->tier;
			break;
		}
		if (!found) {
			log_info("reload: agent %s removed from %s", m->agent->jid, q->name);
			member_unlink(m);
		} else if (found != m->tier) {
			log_info("reload: agent %s moved to tier %d of %s", m->agent->jid, found,
			    q->name);
			router_member_removed(m);
			m->tier = found;
			router_member_added(m);
		}
	}
	LIST_FOREACH(nm, &n->members, queue_link)
	{
		if ((a = map_get(conf->agent_map, nm->agent->jid)) == NULL ||
		    config_member_find(a, q))
			continue;
		log_info("reload: agent %s added to %s", a->jid, q->name);
		router_member_added(config_member(a, q, nm->tier));
	}
}

/* A restart-only setting that differs: named, and the running one kept. */
static void
kept(int differ, const char *name)
{
	if (differ)
		log_warnx("reload: %s can't change without a restart; kept", name);
}

static void
globals_apply(struct config *n)
{
	size_t i;
	const char *name;

	kept(strcmp(conf->jid, n->jid) != 0, "[component] jid");
	kept(strcmp(conf->host, n->host) != 0, "[component] host");
	kept(conf->port != n->port, "[component] port");
	kept(strcmp(conf->secret, n->secret) != 0, "[component] secret");
	kept(strcmp(conf->database, n->database) != 0, "[storage] database");
	kept(conf->synchronous_full != n->synchronous_full, "[storage] synchronous");
	for (i = 0; i < CONFIG_SECTIONS; i++)
		if ((name = config_section_name((int)i)) != NULL &&
		    strcmp(name, "component") != 0 && strcmp(name, "storage") != 0 &&
		    str_differ(conf->written[i], n->written[i]))
			log_info("reload: [%s] changed", name);
	for (i = 0; i < CONFIG_SECTIONS; i++)
		SWAP(conf->written[i], n->written[i]);
	SWAP(conf->max_body, n->max_body);
	SWAP(conf->admins, n->admins);
	SWAP(conf->nadmins, n->nadmins);
	SWAP(conf->supervisors, n->supervisors);
	SWAP(conf->nsupervisors, n->nsupervisors);
	SWAP(conf->monitor_notice, n->monitor_notice);
	SWAP(conf->alert_cooldown, n->alert_cooldown);
	SWAP(conf->agent_grace, n->agent_grace);
	SWAP(conf->max_no_answer, n->max_no_answer);
	SWAP(conf->reject_delay, n->reject_delay);
	SWAP(conf->subscribe_retry, n->subscribe_retry);
	SWAP(conf->presence_check, n->presence_check);
	SWAP(conf->command_timeout, n->command_timeout);
	SWAP(conf->default_country, n->default_country);
	SWAP(conf->hook, n->hook);
	SWAP(conf->hook_timeout, n->hook_timeout);
	SWAP(conf->hook_retries, n->hook_retries);
	SWAP(conf->retention_days, n->retention_days);
	SWAP(conf->sendmail, n->sendmail);
	SWAP(conf->mail_from, n->mail_from);
	SWAP(conf->mail_from_name, n->mail_from_name);
	SWAP(conf->mail_reply_to, n->mail_reply_to);
	SWAP(conf->mail_timeout, n->mail_timeout);
	SWAP(conf->mail_retries, n->mail_retries);
	SWAP(conf->handoff_mail_always, n->handoff_mail_always);
	SWAP(conf->people, n->people);
	SWAP(conf->fcr_days, n->fcr_days);
	SWAP(conf->max_sessions_per_jid, n->max_sessions_per_jid);
	SWAP(conf->max_open_per_customer, n->max_open_per_customer);
	SWAP(conf->open_burst, n->open_burst);
	SWAP(conf->opens_per_minute, n->opens_per_minute);
	SWAP(conf->message_burst, n->message_burst);
	SWAP(conf->messages_per_minute, n->messages_per_minute);
	SWAP(conf->metrics_file, n->metrics_file);
	SWAP(conf->metrics_interval, n->metrics_interval);
	SWAP(conf->domains, n->domains);
	SWAP(conf->domain_map, n->domain_map);
	hook_reloaded();
	mailer_reloaded();
	metrics_reloaded();
}

static void
agents_apply(struct config *n)
{
	struct agent *na, *a, *an;

	for (na = n->agents; na; na = na->next) {
		if ((a = map_get(conf->agent_map, na->jid)) == NULL) {
			a = config_agent(conf, na->jid);
			presence_agent_added(a);
			log_info("reload: agent %s added", a->jid);
		} else if (a->removed) {
			a->removed = 0;
			log_info("reload: agent %s added back", a->jid);
		} else if (a->managed)
			continue; /* a command made it: the commands manage it until a restart */
		else if (a->capacity == na->capacity && !str_differ(a->name, na->name) &&
		    !str_differ(a->email, na->email))
			continue;
		else
			log_info("reload: agent %s changed", a->jid);
		a->capacity = na->capacity;
		SWAP(a->name, na->name);
		SWAP(a->email, na->email);
		router_agent_changed(a);
	}
	for (a = conf->agents; a; a = an) {
		an = a->next;
		if (a->managed || map_get(n->agent_map, a->jid))
			continue;
		if (!a->removed)
			log_info("reload: agent %s removed", a->jid);
		while (a->members) {
			if (!a->removed)
				log_info("reload: agent %s removed from %s", a->jid,
				    a->members->queue->name);
			member_unlink(a->members);
		}
		a->removed = 1;
		if (a->chats == 0 && a->offers == 0 && in_use(NULL, a) == 0)
			agent_drop(a);
	}
}

/* A file queue's overflow links point at the running queues of those names. */
static void
overflow_links(void)
{
	struct queue *q;

	for (q = config_queues(); q; q = q->next) {
		if (q->managed)
			continue;
		q->overflow = q->overflow_name ? config_queue(q->overflow_name) : NULL;
		q->closed_overflow =
		    q->closed_overflow_name ? config_queue(q->closed_overflow_name) : NULL;
	}
}

static void
queues_apply(struct config *n)
{
	struct queue *nq, *q, *qn, **pp;

	for (pp = &n->queues; (nq = *pp) != NULL;) {
		if ((q = map_get(conf->queue_map, nq->name)) == NULL) {
			/* taken out of n whole; its members are made again with the running agents */
			*pp = nq->next;
			if (n->queues_tail == &nq->next)
				n->queues_tail = pp;
			nq->next = NULL; /* left in n's map: the removals below look there */
			q = nq;
			nq = config_queue_alloc(q->name); /* holds the file's members, to add */
			SWAP(q->members, nq->members);    /* read only: n's agents own them */
			free(q->jid);
			q->jid = NULL; /* the running domain's */
			config_queue_finish(conf, q);
			map_put(conf->queue_map, q->name, q);
			*conf->queues_tail = q;
			conf->queues_tail = &q->next;
			router_queue_added(q);
			queue_added(q);
			log_info("reload: queue %s added", q->name);
			members_apply(q, nq);
			config_queue_free(nq);
			continue;
		}
		pp = &nq->next;
		if (q->managed) {
			log_warnx("reload: queue %s was made by a command: kept as it is until a "
			          "restart",
			    q->name);
			continue;
		}
		if (q->removed || str_differ(q->written, nq->written)) {
			log_info("reload: queue %s %s", q->name,
			    q->removed ? "added back" : "changed");
			q->removed = 0;
			queue_take_settings(q, nq);
			router_queue_reorder(q);
			queue_hours_changed(q);
		}
		members_apply(q, nq);
	}
	for (q = conf->queues; q; q = qn) {
		qn = q->next;
		if (q->managed || map_get(n->queue_map, q->name))
			continue;
		if (!q->removed)
			log_info("reload: queue %s removed", q->name);
		if (in_use(q, NULL) == 0 && q->nwaiting == 0 && TAILQ_EMPTY(&q->offline)) {
			queue_drop(q);
			continue;
		}
		/* its open chats stay; whoever writes to it now hears it is closed */
		while (LIST_FIRST(&q->members))
			member_unlink(LIST_FIRST(&q->members));
		q->removed = 1;
		queue_hours_changed(q);
	}
}

void
desk_reload(void)
{
	struct config *n;
	char *errs = NULL, *line, *save;
	size_t len = 0;
	FILE *err;

	log_info("SIGHUP: reloading %s", conf->path);
	if ((err = open_memstream(&errs, &len)) == NULL) {
		log_warn("reload: open_memstream");
		return;
	}
	n = config_parse(conf->path, err);
	fclose(err);
	for (line = strtok_r(errs, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		log_warnx("%s", line);
	free(errs);
	if (n == NULL) {
		log_warnx("reload: %s refused whole; the running configuration stays", conf->path);
		return;
	}
	globals_apply(n);
	agents_apply(n); /* before the queues: new members need their agents */
	queues_apply(n);
	overflow_links(); /* by name: the new file checked them for cycles */
	config_free(n);
	log_info("reload: done");
}
