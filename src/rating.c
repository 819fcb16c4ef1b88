/*
 * The customer rates a chat an agent closed, 1 to 5, with an optional comment, by a plain
 * reply that works on every channel ("5", "4 thanks!", stars). The question waits for
 * rating_window under the key that finds the customer's open conversation, so the answer is
 * read before a new conversation would open. Each question is a row of `ratings` written in
 * the close's pass; the waiting ones are read back at start (conversation.c), so a restart
 * forgets none. A score of 1 or 2 leaves the queue a service-recovery task.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "respa.h"

#define RATING_MAX 5
#define RATING_LOW 2 /* this score and below: a service-recovery task */

/* A question waiting for its answer. */
struct rating_wait {
	char *key;      /* the customer's key in the entry queue; the map's key */
	char *customer; /* where the question went */
	char *queue;    /* where the chat was handled: its texts and its task */
	char *entry;    /* the address it was asked from */
	int64_t conv, contact;
	time_t asked_at;
	struct timer timer; /* the window's end */
};

static struct config *conf;
static struct map *waits; /* key -> struct rating_wait */

void
rating_init(struct config *c)
{
	conf = c;
	if (waits == NULL)
		waits = map_new();
}

static void
wait_free(struct rating_wait *w)
{
	if (map_get(waits, w->key) == w)
		map_del(waits, w->key);
	timer_cancel(&w->timer);
	free(w->key);
	free(w->customer);
	free(w->queue);
	free(w->entry);
	free(w);
}

static void
free_one(const char *key, void *value, void *arg)
{
	struct rating_wait ***pp = arg;

	(void)key;
	*(*pp)++ = value;
}

void
rating_free_all(void)
{
	size_t i, n;
	struct rating_wait **all, **p;

	if (waits == NULL)
		return;
	n = map_count(waits);
	all = p = xcalloc(n, sizeof(*all));
	map_foreach(waits, free_one, &p);
	for (i = 0; i < n; i++)
		wait_free(all[i]);
	free(all);
	map_free(waits);
	waits = NULL;
}

/* The window ended without an answer: the row stays, asked and not rated. */
static void
expired_timer(void *arg)
{
	struct rating_wait *w = arg;

	log_debug("conversation %" PRId64 ": the rating question expired", w->conv);
	wait_free(w);
}

void
rating_wait(const struct queue *q, const struct queue *entry, const char *key, const char *customer,
    int64_t conv, int64_t contact, time_t asked_at)
{
	struct rating_wait *w = map_get(waits, key);

	if (w) /* a newer chat's question takes the place of an older one */
		wait_free(w);
	w = xcalloc(1, sizeof(*w));
	w->key = xstrdup(key);
	w->customer = xstrdup(customer);
	w->queue = xstrdup(q->name);
	w->entry = xstrdup(entry->name);
	w->conv = conv;
	w->contact = contact;
	w->asked_at = asked_at;
	timer_init(&w->timer, expired_timer, w);
	timer_at(&w->timer, (int64_t)(asked_at + q->rating_window) * 1000);
	map_put(waits, w->key, w);
}

void
rating_ask(const struct queue *q, const struct queue *entry, const char *key, const char *customer,
    int64_t conv, int64_t contact)
{
	time_t now = respa_now();

	if (store_rating_ask(conv, now) == -1)
		return;
	component_send(stanza_rating_question(entry->jid, customer, q->rating_text, RATING_MAX,
	    texts_lang_code(entry->lang)));
	rating_wait(q, entry, key, customer, conv, contact, now);
}

/* An unhappy customer is called back, not just counted: a task for the chat's queue. */
static void
service_recovery(const struct rating_wait *w, const struct queue *q, const char *from, int score,
    const char *comment)
{
	char *bare = jid_bare(from), *title, *details;
	time_t now = respa_now();
	int64_t id;

	title =
	    xasprintf("Service recovery: %s rated chat #%" PRId64 " %d/5", bare, w->conv, score);
	details = comment ? xasprintf("Comment: %s", comment) : xstrdup("No comment.");
	id = store_task_add(w->conv, w->contact, q->jid, "follow-up", title, now, now);
	if (id != -1 && store_task_describe(id, details, NULL) == 0) {
		tasks_schedule(now);
		log_info("conversation %" PRId64 ": rated %d, service-recovery task %" PRId64
		         " for %s",
		    w->conv, score, id, q->name);
	}
	free(details);
	free(title);
	free(bare);
}

/* A new message after the question: it is over. */
void
rating_forget(const char *key)
{
	struct rating_wait *w = waits ? map_get(waits, key) : NULL;

	if (w)
		wait_free(w);
}

int
rating_reply(const struct queue *entry, const char *key, xmpp_stanza_t *st, const char *from,
    const char *body)
{
	struct rating_wait *w = waits ? map_get(waits, key) : NULL;
	const struct queue *q;
	const char *comment;
	int score, r = crm_rating_parse(body, &score, &comment);

	if (w && (q = config_queue(w->queue)) != NULL &&
	    respa_now() >= w->asked_at + q->rating_window) {
		wait_free(w); /* its timer has not run yet in this pass */
		w = NULL;
	}
	if (w == NULL || (q = config_queue(w->queue)) == NULL) {
		if (w)
			wait_free(w);
		if (!entry->rating || r == 0 || comment != NULL)
			return 0;
		/* a lone number never opens a chat: most likely a late or stray rating */
		component_send(stanza_notice(entry->jid, from, entry->rating_late_text,
		    texts_lang_code(entry->lang)));
		return 1;
	}
	if (r ==
	    0) /* something else: the transcript's answer, else a new message (rating_forget) */
		return 0;
	if (r == -1) { /* "6": asked again, the question waits on */
		component_send(stanza_notice(entry->jid, from, q->rating_retry_text,
		    texts_lang_code(entry->lang)));
		return 1;
	}
	if (store_rating_set(w->conv, score, comment, respa_now()) == -1) {
		component_send(stanza_error(st, "wait", "internal-server-error",
		    "Your rating could not be stored. Please send it again in a moment."));
		return 1;
	}
	log_info("conversation %" PRId64 " rated %d%s", w->conv, score,
	    comment ? ", with a comment" : "");
	if (score <= RATING_LOW)
		service_recovery(w, q, from, score, comment);
	hook_queue(w->conv); /* the record again, now with its rating */
	component_send(stanza_notice(entry->jid, from,
	    score <= RATING_LOW ? q->rating_low_text : q->rating_thanks_text,
	    texts_lang_code(entry->lang)));
	wait_free(w);
	return 1;
}
