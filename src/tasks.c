/*
 * Follow-up on time: a task falls due and its assignee hears of it (with the contact card),
 * at once if online or at their next login, again once a day while it stays open; messages
 * an agent scheduled for a customer go out when due. One timer, at the next thing due: the
 * database says when that is.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "respa.h"

static struct config *conf;
static struct timer due_timer;

/* The text an assignee gets for a task. New string, must be free()d. */
static char *
task_text(const struct stored_task *t, const char *lead)
{
	struct contact_card k;
	char card[1024] = "", when[64];
	struct tm tm;

	if (t->contact_id > 0 && store_contact_card(t->contact_id, 0, &k) == 0)
		crm_card_text(&k, "", card, sizeof(card));
	when[0] = '\0';
	if (t->due_at && tz_localtime("UTC", t->due_at, &tm) == 0)
		strftime(when, sizeof(when), " (due %a %Y-%m-%d %H:%M UTC)", &tm);
	return xasprintf("%s task %" PRId64 ", %s%s: %s%s%s%s%s", lead, t->id, t->kind, when,
	    t->title, *t->details ? "\n" : "", t->details, *card ? "\n" : "", card);
}

/*
 * Who hears of a task now: an agent online (or offline with an email: by mail), a queue's
 * free agents, or any other colleague (transcript_tell(): XMPP, which the server keeps if
 * they are away, and email when one is known).
 */
static int
deliver(const struct stored_task *t, const char *lead)
{
	struct agent *a = config_agent_find(t->assignee);
	struct queue *q;
	struct member *m;
	char node[256], domain[256], *text, *subject;
	int n = 0;

	text = task_text(t, lead);
	if (jid_split(t->assignee, node, sizeof(node), domain, sizeof(domain)) == 0 &&
	    strcmp(domain, conf->jid) == 0 && (q = config_queue(node)) != NULL) {
		LIST_FOREACH(m, &q->members, queue_link) /* a queue's tasks: its agents online */
		if (m->agent->show != SHOW_OFFLINE) {
			component_send(stanza_message(conf->jid, m->agent->jid, text));
			n++;
		}
	} else {
		subject = xasprintf("%s task %" PRId64 ": %s", lead, t->id, t->title);
		n = transcript_tell("reminder", t->assignee, text, subject, NULL,
		    t->conversation_id, t->contact_id, a == NULL);
		free(subject);
	}
	free(text);
	return n;
}

static int
remind_one(const struct stored_task *t, void *arg)
{
	time_t now = respa_now();

	(void)arg;
	if (deliver(t, t->reminded ? "Overdue:" : "Due now:") > 0)
		(void)store_task_reminded(t->id, now);
	return 0;
}

static int
send_reminder(int64_t id, const char *from, const char *to, const char *body, void *arg)
{
	(void)arg;
	component_send(stanza_message(from, to, body));
	(void)store_reminder_sent(id, respa_now());
	log_info("reminder %" PRId64 " sent", id);
	return 0;
}

static void
arm(void)
{
	time_t now = respa_now(), next = store_tasks_next(now), r = store_reminders_next();

	if (r && r <= now)
		r = now + 1; /* left over from a pass that could not send */
	if (r && (next == 0 || r < next))
		next = r;
	if (next)
		timer_at(&due_timer, (int64_t)next * 1000);
	else
		timer_cancel(&due_timer);
}

static void
due_timer_fn(void *arg)
{
	time_t now = respa_now();

	(void)arg;
	(void)store_tasks_due_foreach(now, NULL, remind_one, NULL);
	(void)store_reminders_due_foreach(now, send_reminder, NULL);
	arm();
}

/* Something new falls due at t: wake up then, if nothing comes earlier. */
void
tasks_schedule(time_t t)
{
	if (t && (!timer_armed(&due_timer) || due_timer.at > (int64_t)t * 1000))
		timer_at(&due_timer, (int64_t)t * 1000);
}

/* An agent came online: the tasks that fell due while they were away, theirs and their queues'. */
void
tasks_agent_online(struct agent *a)
{
	struct member *m;
	time_t now = respa_now();

	(void)store_tasks_due_foreach(now, a->jid, remind_one, NULL);
	for (m = a->members; m; m = m->next_of_agent)
		(void)store_tasks_due_foreach(now, m->queue->jid, remind_one, NULL);
}

struct listing {
	char buf[4096];
	size_t len;
	int n;
};

static int
list_one(const struct stored_task *t, void *arg)
{
	struct listing *l = arg;
	char when[40] = "no due time";
	struct tm tm;

	if (t->due_at && tz_localtime("UTC", t->due_at, &tm) == 0)
		strftime(when, sizeof(when), "due %Y-%m-%d %H:%M UTC", &tm);
	if (l->len < sizeof(l->buf))
		l->len += (size_t)snprintf(l->buf + l->len, sizeof(l->buf) - l->len,
		    "\n#%" PRId64 " %s, %s%s: %s", t->id, t->kind, when,
		    t->due_at && t->due_at <= respa_now() ? " (overdue)" : "", t->title);
	l->n++;
	return 0;
}

/* "!tasks": the agent's open tasks. New string, must be free()d. */
char *
tasks_list_text(const struct agent *a)
{
	struct listing l = { .buf = "", .len = 0, .n = 0 };

	(void)store_tasks_of_foreach(a->jid, list_one, &l);
	utf8_trim_end(l.buf); /* a long list is cut at the buffer's end */
	if (l.n == 0)
		return xstrdup("You have no open tasks.");
	return xasprintf("Your open tasks (write !done NUMBER when one is done):%s", l.buf);
}

/* "!done N": one of the agent's tasks, or a task of one of its queues. Text for the agent. */
char *
tasks_done_text(const struct agent *a, const char *args)
{
	const struct member *m;
	char *end;
	long long id = strtoll(args, &end, 10);
	int rc;

	while (*end == ' ')
		end++;
	if (end == args || *end || id <= 0)
		return xstrdup("Usage: !done TASK-NUMBER (see !tasks)");
	if ((rc = store_task_done_by(id, a->jid, respa_now())) == 0)
		for (m = a->members; m && rc == 0; m = m->next_of_agent)
			rc = store_task_done_by(id, m->queue->jid, respa_now());
	if (rc == -1)
		return xstrdup("The task could not be updated: the database failed. Try again.");
	if (rc == 0)
		return xasprintf("You have no open task %lld.", id);
	log_info("task %lld done by %s", id, a->jid);
	return xasprintf("Task %lld is done.", id);
}

void
tasks_init(struct config *c)
{
	conf = c;
	timer_init(&due_timer, due_timer_fn, NULL);
}

/* After start-up: what fell due while respa was down goes out on the first pass. */
void
tasks_start(void)
{
	timer_at(&due_timer, respa_now_ms());
}
