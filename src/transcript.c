/*
 * The chat by email. For the customer, per queue (transcript = offer | always | never): with
 * offer, a chat an agent answered ends with a question (transcript_question) when the
 * contact has an email address; a plain yes or no answers it, and an email address written
 * then is where it goes. The question is remembered for TRANSCRIPT_WINDOW in memory: a reply
 * after that, or one that answers nothing, is a new message as before. The mail has the
 * customer's and the agents' lines with local times: agents under the queue's title, never
 * a JID, never a note.
 *
 * For colleagues: transcript_tell() gives a handoff or a task reminder by XMPP to one online,
 * by email to one who is not ([mail] handoff_mail = always: both).
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "respa.h"

#define TRANSCRIPT_WINDOW 600    /* s a question waits for its answer */
#define XMPP_TRANSCRIPT_MAX 8000 /* bytes of a transcript sent over XMPP: a stanza stays small */

/* A question asked at the end of a chat, by the key of the customer's entry (conv_key()). */
struct asked {
	char *key;
	int64_t conv, contact;
	char *email; /* where it goes on a yes */
	char *name;  /* the contact's name, "" when none */
	char *queue; /* the queue's name (its title, time zone and texts) */
	time_t expires;
};

static struct map *asked_map;

static void
asked_free(struct asked *a)
{
	free(a->key);
	free(a->email);
	free(a->name);
	free(a->queue);
	free(a);
}

/* --- the transcript ------------------------------------------------------------------- */

struct lines {
	char *s;
	size_t len, cap;
	const char *tz, *agent, *customer;
	char day[16]; /* the local day of the last line */
};

static void
add(struct lines *l, const char *s, size_t n)
{
	if (l->len + n + 1 > l->cap) {
		l->cap = (l->len + n + 1) * 2;
		l->s = xrealloc(l->s, l->cap);
	}
	memcpy(l->s + l->len, s, n);
	l->len += n;
	l->s[l->len] = '\0';
}

static void
adds(struct lines *l, const char *s)
{
	add(l, s, strlen(s));
}

/* One message: "[14:05] Name: text", continuation lines indented; a day line when it turns. */
static int
line(const struct stored_message *m, void *arg)
{
	struct lines *l = arg;
	const char *who, *p, *e;
	char day[16], hm[16], *text;
	struct tm tm;

	if (strcmp(m->direction, "in") == 0)
		who = l->customer;
	else if (strcmp(m->direction, "out") == 0)
		who = l->agent; /* never the agent's JID */
	else
		return 0; /* notes and anything else internal */
	tz_localtime(l->tz, m->created_at, &tm);
	strftime(day, sizeof(day), "%Y-%m-%d", &tm);
	strftime(hm, sizeof(hm), "%H:%M", &tm);
	if (strcmp(day, l->day) != 0) {
		if (l->len)
			adds(l, "\n");
		adds(l, day);
		adds(l, "\n");
		str_copy(l->day, sizeof(l->day), day);
	}
	text = utf8_repair(m->body);
	adds(l, "[");
	adds(l, hm);
	adds(l, "] ");
	adds(l, who);
	adds(l, ":");
	for (p = text; *p; p = *e ? e + 1 : e) {
		e = p + strcspn(p, "\r\n");
		adds(l, p == text ? " " : "\n    ");
		add(l, p, (size_t)(e - p));
		if (*e == '\r' && e[1] == '\n')
			e++;
	}
	adds(l, "\n");
	free(text);
	return 0;
}

/* The lines of a conversation for people outside the desk; new string ("" when none). */
char *
transcript_text(int64_t conv, const char *tz, const char *agent, const char *customer)
{
	struct lines l = { .tz = tz, .agent = agent, .customer = customer };

	adds(&l, "");
	(void)store_messages_foreach(conv, line, &l);
	return l.s;
}

/* text with each {email} replaced by email. New string. */
static char *
with_email(const char *text, const char *email)
{
	struct lines l = { 0 };
	const char *p;

	adds(&l, "");
	while ((p = strstr(text, "{email}")) != NULL) {
		add(&l, text, (size_t)(p - text));
		adds(&l, email);
		text = p + 7;
	}
	adds(&l, text);
	return l.s;
}

/* Queues the customer's copy of a conversation to email; 0 / -1. */
static int
send_copy(const struct queue *q, int64_t conv, int64_t contact, const char *email, const char *name)
{
	char *you = CONFIG_TEXT(q, T_TRANSCRIPT_YOU), *body, *subject;
	char *lines = transcript_text(conv, q->timezone, q->title, you);
	char day[16];
	struct tm tm;
	int64_t id;

	free(you);

	tz_localtime(q->timezone, respa_now(), &tm);
	strftime(day, sizeof(day), "%Y-%m-%d", &tm);
	subject = xasprintf("%s, %s", q->title, day);
	body = xasprintf("%s, %s (%s)\n\n%s", q->title, day, q->timezone, lines);
	id = mailer_queue("transcript", conv, contact, email, name, q->title, subject, body);
	free(subject);
	free(body);
	free(lines);
	return id == -1 ? -1 : 0;
}

struct expired {
	struct asked *gone[64];
	size_t n;
	time_t now;
};

static void
expired_one(const char *key, void *value, void *arg)
{
	struct expired *x = arg;
	struct asked *a = value;

	(void)key;
	if (x->n < 64 && a->expires <= x->now)
		x->gone[x->n++] = a;
}

/* Forgets questions no longer answered: a look at each (ten minutes of closed chats). */
static void
sweep(void)
{
	struct expired x;
	size_t i;

	if (asked_map == NULL)
		return;
	x.now = respa_now();
	for (;;) {
		x.n = 0;
		map_foreach(asked_map, expired_one, &x);
		for (i = 0; i < x.n; i++) {
			map_del(asked_map, x.gone[i]->key);
			asked_free(x.gone[i]);
		}
		if (x.n < 64)
			break;
	}
}

/* A chat ended: its transcript goes out now (always), or the customer is asked (offer). */
void
transcript_closed(const struct conv *c)
{
	struct queue *q = c->queue;
	struct contact_card k;
	struct asked *a;
	char *text;

	if (!mailer_enabled() || q->transcript == TRANSCRIPT_NEVER || c->first_response_at == 0)
		return; /* nobody answered: there is no chat to send */
	if (store_contact_fields(c->contact_id, &k) == -1 || !mail_addr_ok(k.email))
		return;
	if (q->transcript == TRANSCRIPT_ALWAYS) {
		(void)send_copy(q, c->id, k.id, k.email, k.name);
		return;
	}
	sweep();
	if (asked_map == NULL)
		asked_map = map_new();
	if ((a = map_del(asked_map, c->key)) != NULL)
		asked_free(a);
	a = xcalloc(1, sizeof(*a));
	a->key = xstrdup(c->key);
	a->conv = c->id;
	a->contact = k.id;
	a->email = xstrdup(k.email);
	a->name = xstrdup(k.name);
	a->queue = xstrdup(q->name);
	a->expires = respa_now() + TRANSCRIPT_WINDOW;
	map_put(asked_map, a->key, a);
	text = with_email(q->transcript_question, k.email);
	component_send(stanza_question(c->entry->jid, c->customer, text, "transcript",
	    texts_lang_code(c->entry->lang)));
	free(text);
}

/* 1 when the reply reads as one of words (a list ending in NULL); case and "!." ignored. */
static int
reads_as(const char *body, const char *const *words)
{
	char buf[32];
	size_t n = 0;
	const char *p = str_skip_space(body);

	for (; *p && n < sizeof(buf) - 1; p++)
		buf[n++] = (char)tolower((unsigned char)*p);
	if (*p)
		return 0;
	buf[n] = '\0';
	while (n > 0 && strchr(" \t\r\n.!", buf[n - 1]))
		buf[--n] = '\0';
	for (; *words; words++)
		if (strcmp(buf, *words) == 0)
			return 1;
	return 0;
}

/*
 * A message to an entry queue from a customer with no open chat there: 1 when it answered
 * the transcript question (and was answered), 0 when it is a new message.
 */
int
transcript_reply(struct queue *entry, const char *key, const char *from, const char *body)
{
	static const char *const yes[] = { "yes", "y", "yeah", "yep", "ok", "okay", "sure",
		"please", "yes please", "kyllä", "kylla", "joo", "juu", "k", "ja", NULL };
	static const char *const no[] = { "no", "n", "nope", "no thanks", "no thank you", "ei",
		"ei kiitos", "nej", NULL };
	struct asked *a;
	struct queue *q;
	char email[128], *text = NULL;

	if (asked_map == NULL || (a = map_del(asked_map, key)) == NULL)
		return 0;
	q = config_queue(a->queue);
	if (a->expires <= respa_now() || q == NULL) {
		asked_free(a);
		return 0;
	}
	if (reads_as(body, yes))
		email[0] = '\0';
	else if (reads_as(body, no)) {
		component_send(stanza_notice(entry->jid, from, q->transcript_no_text,
		    texts_lang_code(entry->lang)));
		log_info("conversation %" PRId64 ": no transcript wanted", a->conv);
		asked_free(a);
		return 1;
	} else if (strlen(body) > 300 || crm_find_email(body, email, sizeof(email)) == -1 ||
	    !mail_addr_ok(email)) {
		asked_free(a); /* not an answer: the customer has moved on */
		return 0;
	}
	if (send_copy(q, a->conv, a->contact, *email ? email : a->email, a->name) == 0)
		text = with_email(q->transcript_yes_text, *email ? email : a->email);
	else
		text = xstrdup("Sorry: the copy could not be sent. Please ask again in a moment.");
	component_send(stanza_notice(entry->jid, from, text, texts_lang_code(entry->lang)));
	free(text);
	asked_free(a);
	return 1;
}

static void
free_one(const char *key, void *value, void *arg)
{
	(void)key, (void)arg;
	asked_free(value);
}

void
transcript_free(void)
{
	if (asked_map) {
		map_foreach(asked_map, free_one, NULL);
		map_free(asked_map);
		asked_map = NULL;
	}
}

/* --- colleagues ----------------------------------------------------------------------- */

/*
 * Tells a colleague of a task (a handoff, a reminder). who: a [person] name, JID or email, an
 * agent's JID, or an address respa does not know (which may be either, so it gets both).
 * By XMPP when they are online, by email when not (handoff_mail = always: both); an agent
 * offline with no email hears nothing now (fallback 0: the reminder waits for its login) or
 * gets the XMPP message the server keeps (fallback 1). conv and contact: whose mail it is.
 * How many ways they were told.
 */
int
transcript_tell(const char *kind, const char *who, const char *text, const char *subject,
    const char *mailtext, int64_t conv, int64_t contact, int fallback)
{
	const struct person *x = config_person(who);
	const char *jid = NULL, *email = NULL;
	struct agent *a;
	int online, mail, xmpp, n = 0;

	if (x) {
		jid = x->jid;
		email = x->email;
	} else if (jid_valid_bare(who) && strpbrk(who, "'&:") == NULL)
		jid = who; /* o'brien@example.com is an email address, not a JID (RFC 7622) */
	a = jid ? config_agent_find(jid) : NULL;
	if (a && email == NULL)
		email = a->email;
	if (x == NULL && a == NULL && mail_addr_ok(who))
		email = who; /* an address respa does not know: a JID, an email, or both */
	online = a && a->show != SHOW_OFFLINE;
	mail = mailer_enabled() && email && (!online || mailer_handoff_always());
	xmpp = jid && (online || (!mail && fallback) || (x == NULL && a == NULL));
	if (xmpp) {
		component_send(stanza_message(component_jid(), jid, text));
		n++;
	}
	if (mail &&
	    mailer_queue(kind, conv, contact, email, x ? x->name : NULL, NULL, subject,
	        mailtext ? mailtext : text) != -1)
		n++;
	return n;
}
