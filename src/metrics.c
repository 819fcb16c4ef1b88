/*
 * The metrics file for a monitoring system: [metrics] file, rewritten every interval in the
 * Prometheus text format that node_exporter's textfile collector reads. Counting costs a
 * message nothing (counters.c); the gauges are read from memory here, on the timer, once per
 * interval. The file is written beside its name and renamed, so a reader never sees half.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "respa.h"

static struct config *conf;
static struct timer timer;
static int failing; /* the last write failed: said once, not every interval */
static time_t started;

static const struct {
	const char *name, *help;
} counter_defs[COUNTER_MAX] = {
	[C_CONVERSATIONS_OPENED] = { "respa_conversations_opened_total", "Conversations opened." },
	[C_MESSAGES_IN] = { NULL, NULL }, /* both written as respa_messages_relayed_total */
	[C_MESSAGES_OUT] = { NULL, NULL },
	[C_ASSIGNMENTS] = { "respa_assignments_total",
	    "Chats handed to an agent by routing (assigned or offered)." },
	[C_OFFERS_MISSED] = { "respa_offers_missed_total", "Offers an agent let run out." },
	[C_MAX_WAIT_NOTICES] = { "respa_max_wait_notices_total",
	    "Customers told that nobody could answer within max_wait." },
	[C_TASKS_CREATED] = { "respa_tasks_created_total", "Tasks created." },
	[C_TASKS_DONE] = { "respa_tasks_done_total", "Tasks marked done." },
	[C_COMMITS_FAILED] = { "respa_commits_failed_total",
	    "Loop passes whose database commit failed (nothing of them was sent)." },
	[C_HOOK_FAILURES] = { "respa_hook_failures_total", "Failed runs of the [crm] hook." },
	[C_MAIL_FAILURES] = { "respa_mail_failures_total", "Failed attempts to send a mail." },
	[C_RECONNECTS] = { "respa_component_reconnects_total",
	    "Times the link to the XMPP server dropped and respa reconnected." },
};

enum agent_state { A_READY, A_BUSY, A_AWAY, A_PAUSED, A_OFFLINE, A_STATES };
static const char *const state_names[A_STATES] = { "ready", "busy", "away", "paused", "offline" };

/* One word for a member's state in a queue, as a supervisor would say it. */
static enum agent_state
member_state(const struct member *m)
{
	const struct agent *a = m->agent;

	if (a->show == SHOW_OFFLINE)
		return A_OFFLINE;
	if (a->paused)
		return A_PAUSED;
	if (a->show < SHOW_AVAILABLE)
		return A_AWAY;
	return router_cannot_take(a, m->queue) ? A_BUSY : A_READY;
}

static void
write_counters(FILE *f)
{
	int i;

	for (i = 0; i < COUNTER_MAX; i++)
		if (counter_defs[i].name)
			fprintf(f, "# HELP %s %s\n# TYPE %s counter\n%s %" PRIu64 "\n",
			    counter_defs[i].name, counter_defs[i].help, counter_defs[i].name,
			    counter_defs[i].name, counters[i]);
	fprintf(f,
	    "# HELP respa_messages_relayed_total Chat messages stored and relayed: in from "
	    "customers (a line waits with its chat until an agent takes it), out from agents.\n# TYPE respa_messages_relayed_total counter\n"
	    "respa_messages_relayed_total{direction=\"in\"} %" PRIu64 "\n"
	    "respa_messages_relayed_total{direction=\"out\"} %" PRIu64 "\n",
	    counters[C_MESSAGES_IN], counters[C_MESSAGES_OUT]);
	fprintf(f,
	    "# HELP respa_commit_duration_seconds How long each database commit took.\n"
	    "# TYPE respa_commit_duration_seconds histogram\n");
	for (i = 0; i < COMMIT_BUCKETS; i++)
		fprintf(f, "respa_commit_duration_seconds_bucket{le=\"%g\"} %" PRIu64 "\n",
		    commit_buckets[i], commit_bucket_counts[i]);
	fprintf(f,
	    "respa_commit_duration_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n"
	    "respa_commit_duration_seconds_sum %.6f\n"
	    "respa_commit_duration_seconds_count %" PRIu64 "\n",
	    commit_count, commit_seconds, commit_count);
}

/* Queue names are [a-z0-9._-]: they need no escaping in a label. */
static void
write_queues(FILE *f, time_t now)
{
	struct queue *q;
	struct member *m;
	struct conv *head;
	int n[A_STATES], i;

	fprintf(f,
	    "# HELP respa_queue_waiting Customers waiting in the queue's line.\n"
	    "# TYPE respa_queue_waiting gauge\n");
	for (q = config_queues(); q; q = q->next)
		fprintf(f, "respa_queue_waiting{queue=\"%s\"} %zu\n", q->name, q->nwaiting);
	fprintf(f,
	    "# HELP respa_queue_longest_wait_seconds How long the first in line has "
	    "waited.\n# TYPE respa_queue_longest_wait_seconds gauge\n");
	for (q = config_queues(); q; q = q->next) {
		head = TAILQ_FIRST(&q->waiting);
		fprintf(f, "respa_queue_longest_wait_seconds{queue=\"%s\"} %lld\n", q->name,
		    head ? (long long)(now - head->created_at) : 0LL);
	}
	fprintf(f,
	    "# HELP respa_queue_open 1 within the queue's business hours.\n"
	    "# TYPE respa_queue_open gauge\n");
	for (q = config_queues(); q; q = q->next)
		fprintf(f, "respa_queue_open{queue=\"%s\"} %d\n", q->name, q->open ? 1 : 0);
	fprintf(f,
	    "# HELP respa_queue_agents The queue's agents by state.\n"
	    "# TYPE respa_queue_agents gauge\n");
	for (q = config_queues(); q; q = q->next) {
		memset(n, 0, sizeof(n));
		LIST_FOREACH(m, &q->members, queue_link)
		n[member_state(m)]++;
		for (i = 0; i < A_STATES; i++)
			fprintf(f, "respa_queue_agents{queue=\"%s\",state=\"%s\"} %d\n", q->name,
			    state_names[i], n[i]);
	}
}

/* Every server of [component] host, 1 for the one the link is up with (names need no escaping). */
static void
write_servers(FILE *f)
{
	const struct server *in_use = component_server();
	size_t i;

	fprintf(f,
	    "# HELP respa_component_server_connected 1 for the server of [component] host the "
	    "link is up with.\n# TYPE respa_component_server_connected gauge\n");
	for (i = 0; i < conf->nservers; i++)
		fprintf(f, "respa_component_server_connected{server=\"%s\"} %d\n",
		    conf->servers[i].name, in_use == &conf->servers[i]);
}

static int
write_all(FILE *f)
{
	time_t now = respa_now();

	write_counters(f);
	write_queues(f, now);
	fprintf(f,
	    "# HELP respa_component_connected 1 while the link to the XMPP server is up.\n"
	    "# TYPE respa_component_connected gauge\nrespa_component_connected %d\n"
	    "# HELP respa_start_time_seconds When respa started, in seconds since the epoch.\n"
	    "# TYPE respa_start_time_seconds gauge\nrespa_start_time_seconds %lld\n",
	    component_is_connected(), (long long)started);
	write_servers(f);
	return ferror(f) ? -1 : 0;
}

/* Writes the file now; 0, or -1 (logged once until a write works again). */
int
metrics_write(void)
{
	char *tmp;
	FILE *f;
	int rc = -1;

	if (conf->metrics_file == NULL)
		return 0;
	tmp = xasprintf("%s.tmp", conf->metrics_file);
	if ((f = fopen(tmp, "w")) != NULL) {
		rc = write_all(f);
		if (fclose(f) != 0)
			rc = -1;
		if (rc == 0 && rename(tmp, conf->metrics_file) == -1)
			rc = -1;
	}
	if (rc == -1) {
		if (!failing)
			log_warn("metrics file %s", conf->metrics_file);
		unlink(tmp);
	} else if (failing)
		log_info("metrics file %s written again", conf->metrics_file);
	failing = rc == -1;
	free(tmp);
	return rc;
}

static void
tick(void *arg)
{
	(void)arg;
	metrics_write();
	timer_in(&timer, conf->metrics_interval);
}

void
metrics_init(struct config *c)
{
	conf = c;
	started = respa_now();
	timer_init(&timer, tick, NULL);
	if (conf->metrics_file)
		timer_in(&timer, 0); /* the first one at once */
}

/* After a reload: a file named now is written at once, one no longer named is not. */
void
metrics_reloaded(void)
{
	if (conf->metrics_file)
		timer_in(&timer, 0);
	else
		timer_cancel(&timer);
}

void
metrics_free(void)
{
	timer_cancel(&timer);
}
