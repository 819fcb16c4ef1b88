/*
 * What customers see of a queue: whether it is open (business hours in its time zone), their
 * place in line and the expected wait, and the queue address's presence (available when an
 * agent is free, away when all are busy, xa when closed, with a status such as
 * "2 waiting, about 3 min"). The routing decisions themselves are router.c's.
 */
#include <stdlib.h>
#include <string.h>

#include "respa.h"

/*
 * Watchers get at most one status a second, and a queue sends at most PRESENCE_PER_SECOND
 * of them a second in all: with 10,000 widgets watching a long line, a status each second
 * would cost every new chat a hundred stanzas at a flood of 100 chats/s.
 */
#define PRESENCE_COALESCE_MS 1000
#define PRESENCE_PER_SECOND 1000
#define UNSTAFFED_DEBOUNCE 60 /* s: an agent's client reconnecting is not an alert */

static struct config *conf;

/* "about 3 min" in the queue's language, or NULL when there is no estimate; must be free()d */
static char *
wait_text(const struct queue *q, long secs)
{
	char mins[24];

	if (secs < 0)
		return NULL;
	snprintf(mins, sizeof(mins), "%ld", secs < 90 ? 1 : (secs + 30) / 60);
	return config_text(q, T_ABOUT_MIN, TEXT_ARGS(mins));
}

/* The customer's place in line and the wait, as one sentence or two. */
static void
tell_place(struct conv *c, size_t place, const char *prefix)
{
	char n[24], *est = wait_text(c->entry, router_estimate(c->queue, place)), *line, *text;

	snprintf(n, sizeof(n), "%zu", place);
	line = est ? config_text(c->entry, T_PLACE_WAIT, TEXT_ARGS(n, est))
	           : config_text(c->entry, T_PLACE, TEXT_ARGS(n));
	text = prefix ? xasprintf("%s %s", prefix, line) : xstrdup(line);
	conv_tell_customer(c, text);
	free(text);
	free(line);
	free(est);
	c->told_place = place;
	c->told_at = respa_now();
}

/* A customer just joined the line: the queued text with their place and wait. */
void
queue_tell_queued(struct conv *c)
{
	/* last in line, or first when transferred in: no walk either way */
	tell_place(c, TAILQ_FIRST(&c->queue->waiting) == c ? 1 : c->queue->nwaiting,
	    c->queue->queued_text);
	if (!timer_armed(&c->queue->notice_timer))
		timer_in(&c->queue->notice_timer, c->queue->notice_interval);
}

/* Moved by an overflow: a rare event, so its place is counted by walking the line. */
void
queue_tell_moved(struct conv *c)
{
	struct conv *x;
	size_t place = 0;

	TAILQ_FOREACH(x, &c->queue->waiting, wait_link)
	{
		place++;
		if (x == c)
			break;
	}
	tell_place(c, place, NULL);
	if (!timer_armed(&c->queue->notice_timer))
		timer_in(&c->queue->notice_timer, c->queue->notice_interval);
}

/*
 * Tells each waiting customer whose place changed, at most once per notice_interval. The
 * walk is once per interval per queue, not per event, so routing never pays for it.
 */
static void
notice_timer(void *arg)
{
	struct queue *q = arg;
	struct conv *c;
	time_t now = respa_now();
	size_t place = 0;

	TAILQ_FOREACH(c, &q->waiting, wait_link)
	{
		place++;
		if (place != c->told_place && now - c->told_at >= q->notice_interval) {
			char *thanks = CONFIG_TEXT(c->entry, T_THANKS_WAITING);

			tell_place(c, place, thanks);
			free(thanks);
		}
	}
	if (q->nwaiting)
		timer_in(&q->notice_timer, q->notice_interval);
}

/* --- presence of the queue address ---------------------------------------------------- */

/*
 * 1 when some member is there to take chats: free, or online, available and not paused
 * while busy. The walk happens only while nobody is free, and members are few.
 */
static int
staffed(const struct queue *q)
{
	const struct member *m;

	if (router_has_free(q))
		return 1;
	LIST_FOREACH(m, &q->members, queue_link)
	if (m->agent->show >= SHOW_AVAILABLE && !m->agent->paused)
		return 1;
	return 0;
}

/* Open and nobody ready for UNSTAFFED_DEBOUNCE: the supervisors hear, once per episode. */
static void
unstaffed_timer(void *arg)
{
	struct queue *q = arg;

	if (!q->open || staffed(q))
		return;
	q->unstaffed_told = 1;
	(void)alert_raise(ALERT_UNSTAFFED, q->name,
	    "Queue %s is open and no agent is ready (%zu waiting).", q->name, q->nwaiting);
}

/*
 * 1 when a customer arriving now would be given a chat at once: nobody is waiting ahead and
 * an agent of a tier open to a new chat is free (with tier_wait, tier 1 only; a tier-2 agent
 * free while tier 1 is busy means a wait of tier_wait first).
 */
static int
free_for_new(const struct queue *q)
{
	if (q->nwaiting > 0)
		return 0;
	if (q->ntiers > 1 && q->tier_wait > 0)
		return q->ready[0].n > 0;
	return router_has_free(q);
}

/*
 * What the queue shows: "xa" closed, "away" open when a new customer would wait, NULL
 * (available) when they would be given a chat now. status: a new string to free().
 */
static const char *
queue_show(const struct queue *q, char **status)
{
	char when[64], n[24], *est;

	if (!q->open) {
		hours_when(q->lang, q->timezone,
		    hours_next_open(q->hours, q->timezone, respa_now()), respa_now(), when,
		    sizeof(when));
		*status = config_text(q, T_STATUS_CLOSED, TEXT_ARGS(when, q->timezone));
		return "xa";
	}
	if (free_for_new(q)) {
		*status = CONFIG_TEXT(q, T_STATUS_FREE);
		return NULL;
	}
	if (q->nwaiting == 0) {
		*status = CONFIG_TEXT(q, T_STATUS_BUSY);
		return "away";
	}
	snprintf(n, sizeof(n), "%zu", q->nwaiting);
	if ((est = wait_text(q, router_estimate(q, q->nwaiting))) != NULL) {
		*status = config_text(q, T_STATUS_WAITING_EST, TEXT_ARGS(n, est));
		free(est);
	} else
		*status = config_text(q, T_STATUS_WAITING, TEXT_ARGS(n));
	return "away";
}

/* A customer in a chat with an agent sees that, whatever the line: never "busy" mid-chat. */
static void
send_one_presence(const struct queue *q, const char *to, const char *show, const char *status)
{
	char *own;

	if (conversation_customer_active(q, to)) {
		own = CONFIG_TEXT(q, T_STATUS_IN_CHAT);
		component_send(stanza_presence_status(q->jid, to, NULL, own, ADDRESS_QUEUE,
		    q->title, texts_lang_code(q->lang)));
		free(own);
	} else
		component_send(stanza_presence_status(q->jid, to, show, status, ADDRESS_QUEUE,
		    q->title, texts_lang_code(q->lang)));
}

static void
send_presence(const struct queue *q, const char *to)
{
	char *status;
	const char *show = queue_show(q, &status);

	send_one_presence(q, to, show, status);
	free(status);
}

/* The customer's chat began or ended: a watcher sees it at once. */
void
queue_customer_changed(struct queue *q, const char *jid)
{
	if (q->watchers && map_get(q->watchers, jid))
		send_presence(q, jid);
}

static void
send_unavailable(const char *key, void *value, void *arg)
{
	const struct queue *q = arg;

	(void)value;
	component_send(stanza_presence(q->jid, key, "unavailable"));
}

struct shown {
	const struct queue *q;
	const char *show, *status;
};

static void
send_one(const char *key, void *value, void *arg)
{
	const struct shown *s = arg;

	(void)value;
	send_one_presence(s->q, key, s->show, s->status);
}

/* Sends the queue's presence to every watcher if it changed since they last saw it. */
static void
presence_timer(void *arg)
{
	struct queue *q = arg;
	char *status;
	const char *show = queue_show(q, &status);
	int s = show ? show[0] : 0;
	struct shown sh = { q, show, status };

	if (s == q->shown_show && q->shown_status && strcmp(q->shown_status, status) == 0) {
		free(status);
		return;
	}
	q->shown_show = s;
	free(q->shown_status);
	q->shown_status = status;
	map_foreach(q->watchers, send_one, &sh); /* the status computed once, not per watcher */
}

/*
 * Something customers see changed (line, free agents): watchers hear of it within a second,
 * or within watchers / PRESENCE_PER_SECOND seconds when there are more than that.
 */
void
queue_changed(struct queue *q)
{
	size_t n = map_count(q->watchers);
	double in = PRESENCE_COALESCE_MS / 1000.0;

	if (q->open && !staffed(q)) {
		if (!q->unstaffed_told && !timer_armed(&q->unstaffed_timer))
			timer_in(&q->unstaffed_timer, UNSTAFFED_DEBOUNCE);
	} else {
		timer_cancel(&q->unstaffed_timer);
		q->unstaffed_told = 0; /* the episode ended */
	}
	if (q->nwaiting && !timer_armed(&q->notice_timer))
		timer_in(&q->notice_timer, q->notice_interval);
	if (n > PRESENCE_PER_SECOND * in) /* many watchers: each hears less often */
		in = (double)n / PRESENCE_PER_SECOND;
	if (n && !timer_armed(&q->presence_timer))
		timer_in(&q->presence_timer, in);
}

static void
watch(struct queue *q, const char *jid)
{
	char *key;

	if (map_get(q->watchers, jid) == NULL) {
		key = xstrdup(jid);
		map_put(q->watchers, key, key);
	}
	send_presence(q, jid);
}

static void
unwatch(struct queue *q, const char *jid)
{
	free(map_del(q->watchers, jid));
}

/*
 * Presence from anyone but an agent, and agents' subscriptions and probes. To a queue:
 * subscriptions, probes and directed presence make the sender a watcher of the queue's state;
 * unavailable ends that, and may mean a customer left (conversation.c decides). The
 * component's own address shows available; a chat's address is conversation.c's.
 */
void
queue_presence_in(xmpp_stanza_t *st, const char *from, const char *to, const char *type)
{
	char node[256], domain[256];
	struct queue *q = NULL;
	struct visitor v;
	const char *session = stanza_visitor(st, &v) ? v.session : NULL;

	if (jid_split(to, node, sizeof(node), domain, sizeof(domain)) == -1)
		return;
	if (node[0] && (q = config_queue(node)) == NULL) {
		conversation_presence_in(from, node, type);
		return;
	}
	if (type == NULL || strcmp(type, "probe") == 0) {
		if (q && type == NULL) /* first: a visitor back in a new tab is shown their chat */
			conversation_customer_presence(q, from, 1, session);
		if (q)
			watch(q, from);
		else if (type)
			component_send(stanza_presence_status(to, from, NULL, NULL, ADDRESS_DOMAIN,
			    NULL, NULL));
	} else if (strcmp(type, "unavailable") == 0) {
		if (q) {
			unwatch(q, from);
			conversation_customer_presence(q, from, 0, session);
		}
	} else if (strcmp(type, "subscribe") == 0) {
		component_send(stanza_presence(to, from, "subscribed"));
		if (q)
			watch(q, from);
		else
			component_send(stanza_presence_status(to, from, NULL, NULL, ADDRESS_DOMAIN,
			    NULL, NULL));
	} else if (strcmp(type, "unsubscribe") == 0) {
		component_send(stanza_presence(to, from, "unsubscribed"));
		if (q)
			unwatch(q, from);
	}
}

/* A customer who writes sees the queue's state too, once; watchers follow every change. */
void
queue_show_to(struct queue *q, const char *jid)
{
	if (map_get(q->watchers, jid) == NULL)
		send_presence(q, jid);
}

/* --- business hours ------------------------------------------------------------------- */

/* The queue just opened: agents who are or become free hear of the contacts left meanwhile. */
static void
opened(struct queue *q)
{
	struct member *m;

	int closed = conversation_close_offline(q);

	q->opening++;
	q->offline_waiting = store_tasks_open_count(q->jid, "offline");
	log_info("queue %s is open; %d contacts came while it was closed, %d offline tasks open",
	    q->name, closed, q->offline_waiting);
	LIST_FOREACH(m, &q->members, queue_link)
	if (m->slot)
		queue_agent_ready(m);
	router_dispatch(q);
}

static void
hours_timer(void *arg)
{
	struct queue *q = arg;
	time_t now = respa_now(), next;
	int open = !q->removed && hours_is_open(q->hours, q->timezone, now);

	if (open && !q->open)
		opened(q);
	else if (!open && q->open)
		log_info("queue %s is closed", q->name);
	q->open = open;
	queue_changed(q);
	if (!q->removed && (next = hours_next_change(q->hours, q->timezone, now)) != 0)
		timer_at(&q->hours_timer, (int64_t)next * 1000);
}

/* A member became free: the first time after an opening, it hears of the offline contacts. */
void
queue_agent_ready(struct member *m)
{
	struct queue *q = m->queue;
	char *text;

	if (m->told_open == q->opening || q->offline_waiting == 0)
		return;
	m->told_open = q->opening;
	text = xasprintf("%s is open. %d contact%s who wrote while it was closed wait%s as "
	                 "follow-up tasks of the queue.",
	    q->title, q->offline_waiting, q->offline_waiting == 1 ? "" : "s",
	    q->offline_waiting == 1 ? "s" : "");
	component_send(stanza_message(conf->jid, m->agent->jid, text));
	free(text);
}

void
queue_added(struct queue *q)
{
	time_t now = respa_now(), next;

	q->watchers = map_new();
	q->shown_show = -1;
	timer_init(&q->notice_timer, notice_timer, q);
	timer_init(&q->presence_timer, presence_timer, q);
	timer_init(&q->hours_timer, hours_timer, q);
	timer_init(&q->unstaffed_timer, unstaffed_timer, q);
	q->open = hours_is_open(q->hours, q->timezone, now);
	if ((next = hours_next_change(q->hours, q->timezone, now)) != 0)
		timer_at(&q->hours_timer, (int64_t)next * 1000);
}

void
queue_init(struct config *c)
{
	struct queue *q;

	conf = c;
	for (q = conf->queues; q; q = q->next)
		queue_added(q);
}

static void free_key(const char *, void *, void *);

/* A queue deleted by a command: its watchers see it go, its timers stop. */
void
queue_removed(struct queue *q)
{
	map_foreach(q->watchers, send_unavailable, q);
	timer_cancel(&q->notice_timer);
	timer_cancel(&q->presence_timer);
	timer_cancel(&q->hours_timer);
	timer_cancel(&q->unstaffed_timer);
	map_foreach(q->watchers, free_key, NULL);
	map_free(q->watchers);
	q->watchers = NULL;
	free(q->shown_status);
	q->shown_status = NULL;
}

/* respa is stopping: every watcher sees each queue go offline (the widget says so). */
void
queue_goodbye(void)
{
	struct queue *q;

	for (q = conf->queues; q; q = q->next)
		if (q->watchers)
			map_foreach(q->watchers, send_unavailable, q);
}

/* Hours, closed dates or time zone changed: open or close now, and look again then. */
void
queue_hours_changed(struct queue *q)
{
	timer_cancel(&q->hours_timer);
	hours_timer(q);
}

/* After start-up: an open queue counts as just opened (offline tasks, leftover captures). */
void
queue_restored(void)
{
	struct queue *q;

	for (q = conf->queues; q; q = q->next)
		if (q->open)
			opened(q);
}

static void
free_key(const char *key, void *value, void *arg)
{
	(void)key, (void)arg;
	free(value);
}

void
queue_free_all(void)
{
	struct queue *q;

	for (q = conf->queues; q; q = q->next) {
		map_foreach(q->watchers, free_key, NULL);
		map_free(q->watchers);
		q->watchers = NULL;
		free(q->shown_status);
		q->shown_status = NULL;
	}
}
