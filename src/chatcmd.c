/*
 * What agents write in a chat that starts with "!" (or "/", slash.c): a table of commands,
 * never relayed to the customer; and the few they write to the component's own address
 * (!pause, !ready...). Every text shows "!", which no client keeps for itself. The
 * conversation's state changes stay in conversation.c; the CRM's records go through
 * store.c; what falls due later goes to tasks.c.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "respa.h"

#define HISTORY_SHOWN 10
#define QUOTED 60 /* at most this much of a bad value is quoted back */

static struct config *conf;
static const char *asker; /* the full JID whose command runs now */

struct chat_cmd {
	const char *name, *usage, *help;
	void (*fn)(struct conv *, struct agent *, const char *args);
};
static const struct chat_cmd chat_cmds[];

/* Why "!": the line that names the clients that keep "/" for themselves. */
#define PREFIX_NOTE \
	"Start a command with ! (or /, but profanity, poezio and other terminal clients " \
	"take lines starting with / for themselves); !!text sends \"!text\", //text sends " \
	"\"/text\", /me text is an action."

static const struct chat_cmd *
chat_cmd_find(const char *name)
{
	const struct chat_cmd *cmd;

	for (cmd = chat_cmds; cmd->name; cmd++)
		if (strcmp(cmd->name, name) == 0)
			return cmd;
	return NULL;
}

/* "!help": every command; "!help NAME": that one. */
static void
cmd_help(struct conv *c, struct agent *a, const char *args)
{
	const struct chat_cmd *cmd;
	size_t len = 0;
	char buf[3072], name[16];

	if (*args && strlen(args) < sizeof(name)) {
		str_copy(name, sizeof(name), args);
		str_trim(name);
		for (len = 0; name[len]; len++)
			name[len] = (char)(name[len] >= 'A' && name[len] <= 'Z' ? name[len] + 32
			                                                        : name[len]);
		if ((cmd = chat_cmd_find(name[0] == '!' || name[0] == '/' ? name + 1 : name))) {
			conv_tellf(c, a, "%s: %s", cmd->usage, cmd->help);
			return;
		}
	}
	len = (size_t)snprintf(buf, sizeof(buf), "Commands in this chat. " PREFIX_NOTE);
	for (cmd = chat_cmds; cmd->name && len < sizeof(buf); cmd++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "\n%s: %s", cmd->usage,
		    cmd->help);
	if (c->queue->reasons && len < sizeof(buf))
		snprintf(buf + len, sizeof(buf) - len, "\nContact reasons of %s: %s",
		    c->queue->title, c->queue->reasons);
	utf8_trim_end(buf);
	conv_tell(c, a, buf);
}

/* "a,b" as tags of the conversation; the number stored. */
static int
add_tags(struct conv *c, const char *list)
{
	char *copy = xstrdup(list), *w, *save = NULL;
	int n = 0;

	for (w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		str_trim(w);
		if (*w && store_tag_add(c->id, w) == 0)
			n++;
	}
	free(copy);
	return n;
}

static void
cmd_close(struct conv *c, struct agent *a, const char *args)
{
	struct close_args ca;

	slash_close(args, &ca);
	if (*ca.tags)
		(void)add_tags(c, ca.tags);
	if (conversation_close(c, "agent", ca.summary, ca.resolved) == -1)
		conv_tell(c, a, "The chat could not be closed: the database failed. Try again.");
}

/* Reads an optional due time: 1 found, 0 none; tells the agent and returns -1 when it is bad. */
static int
read_due(struct conv *c, struct agent *a, const char *args, const char *usage, time_t *due,
    const char **rest)
{
	char err[128];
	int found = due_parse(args, respa_now(), c->queue->timezone, due, rest, err, sizeof(err));

	if (found == -1)
		conv_tellf(c, a, "%s. Usage: %s", err, usage);
	return found;
}

/* "Mon 2026-12-01 09:00 (Europe/Helsinki)" */
static void
local_when(const struct conv *c, time_t t, char *buf, size_t len)
{
	struct tm tm;
	size_t n;

	tz_localtime(c->queue->timezone, t, &tm);
	n = strftime(buf, len, "%a %Y-%m-%d %H:%M", &tm);
	snprintf(buf + n, len - n, " (%s)", c->queue->timezone);
}

/* A task of this conversation; 0 with its id in *id, or -1 (the agent was told). */
static int
new_task(struct conv *c, struct agent *a, const char *assignee, const char *kind, const char *title,
    const char *details, time_t due, int64_t *id)
{
	*id = store_task_add(c->id, c->contact_id, assignee, kind, title, due, respa_now());
	if (*id == -1 || store_task_describe(*id, details, a->jid) == -1) {
		conv_tell(c, a, "The task could not be saved: the database failed. Try again.");
		return -1;
	}
	tasks_schedule(due);
	return 0;
}

static void
cmd_task(struct conv *c, struct agent *a, const char *args)
{
	const char *title, *usage = "!task [due] text";
	char when[64], err[16];
	time_t due;
	int64_t id;
	int found;

	if ((found = read_due(c, a, args, usage, &due, &title)) == -1)
		return;
	if (*title == '\0') {
		conv_tell(c, a,
		    "Usage: !task [due] text, where due is +2h, +1d, tomorrow 10:00 "
		    "or 2026-12-01 14:30");
		return;
	}
	if (!found) /* no due time: tomorrow morning */
		(void)due_parse("tomorrow", respa_now(), c->queue->timezone, &due, &args, err,
		    sizeof(err));
	if (new_task(c, a, a->jid, "follow-up", title, NULL, due, &id) == -1)
		return;
	local_when(c, due, when, sizeof(when));
	conv_tellf(c, a, "Task %" PRId64 " added for you, due %s: %s", id, when, title);
}

static void
cmd_tag(struct conv *c, struct agent *a, const char *args)
{
	if (*args == '\0' || add_tags(c, args) == 0)
		conv_tellf(c, a, "Usage: !tag reason[, reason...]%s%s",
		    c->queue->reasons ? ". Reasons: " : "",
		    c->queue->reasons ? c->queue->reasons : "");
	else
		conv_tellf(c, a, "Tagged: %s", args);
}

static void
cmd_note(struct conv *c, struct agent *a, const char *args)
{
	if (*args == '\0')
		conv_tell(c, a, "Usage: !note text");
	else if (store_message_add(c->id, "note", a->jid, args, respa_now()) == -1)
		conv_tell(c, a, "The note could not be saved: the database failed. Try again.");
	else
		conv_tell(c, a, "Note saved; the customer does not see it.");
}

/* The first word of args, folded when it is a JID; *rest after it. */
static void
first_word(const char *args, char *buf, size_t len, const char **rest)
{
	size_t n = strcspn(args, " \t"), i;

	if (n >= len)
		n = 0;
	for (i = 0; i < n; i++) /* JIDs come case-folded from the server */
		buf[i] = (char)(args[i] >= 'A' && args[i] <= 'Z' ? args[i] - 'A' + 'a' : args[i]);
	buf[n] = '\0';
	*rest = str_skip_space(args + strlen(buf));
}

static void
cmd_transfer(struct conv *c, struct agent *a, const char *args)
{
	char target[256];
	const char *note;
	struct queue *q = NULL;

	first_word(args, target, sizeof(target), &note);
	if (*target == '\0')
		conv_tell(c, a, "Usage: !transfer AGENT-JID or QUEUE [note]");
	else if (strchr(target, '@') == NULL && (q = config_queue(target)) != NULL && q->removed)
		conv_tellf(c, a,
		    "Queue %s was removed from the configuration: it takes no new chats.", q->name);
	else if (strchr(target, '@') == NULL && q != NULL)
		conversation_transfer_queue(c, a, q, note);
	else
		conversation_transfer_agent(c, a, target, note);
}

static void
cmd_accept(struct conv *c, struct agent *a, const char *args)
{
	(void)args;
	conv_tellf(c, a, "Chat #%" PRId64 " is already yours.", c->id);
}

static void
cmd_reject(struct conv *c, struct agent *a, const char *args)
{
	(void)args;
	conv_tellf(c, a,
	    "Chat #%" PRId64 " is already yours: !transfer hands it to someone "
	    "else.",
	    c->id);
}

struct history {
	char buf[4096];
	size_t len;
	int n;
};

static int
history_line(const struct history_item *h, void *arg)
{
	struct history *hs = arg;
	char when[32] = "";
	struct tm tm;

	if (h->closed_at && tz_localtime("UTC", h->closed_at, &tm) == 0)
		strftime(when, sizeof(when), "%Y-%m-%d", &tm);
	if (hs->len < sizeof(hs->buf))
		hs->len += (size_t)snprintf(hs->buf + hs->len, sizeof(hs->buf) - hs->len,
		    "\n#%" PRId64 " %s, %s by %s%s%s: %s", h->id, when, h->queue, h->channel,
		    *h->agent ? ", " : "", h->agent, *h->summary ? h->summary : "(no summary)");
	hs->n++;
	return 0;
}

static void
cmd_history(struct conv *c, struct agent *a, const char *args)
{
	struct history hs = { .buf = "", .len = 0, .n = 0 };

	(void)args;
	(void)store_history_foreach(c->contact_id, HISTORY_SHOWN, history_line, &hs);
	utf8_trim_end(hs.buf); /* a long history is cut at the buffer's end */
	if (hs.n == 0)
		conv_tell(c, a, "This contact has no earlier conversations.");
	else
		conv_tellf(c, a, "Earlier conversations of this contact, newest first:%s", hs.buf);
}

static void
cmd_contact(struct conv *c, struct agent *a, const char *args)
{
	static const char *const keys[] = { "name", "email", "phone", "company" };
	char *v[4], err[160], email[128], phone[24], card[1024];
	struct contact_card k;
	/* what the contact card holds; a phone is checked as a number */
	const size_t room[] = { sizeof(k.name) - 1, sizeof(k.email) - 1, 0, sizeof(k.company) - 1 };
	size_t i;

	if (slash_fields(args, keys, 4, v, err, sizeof(err)) == -1) {
		conv_tellf(c, a, "%s. Usage: !contact name=... email=... phone=... company=...",
		    err);
		return;
	}
	for (i = 0; i < 4 && (v[i] == NULL || room[i] == 0 || strlen(v[i]) <= room[i]); i++)
		;
	if (i < 4)
		snprintf(err, sizeof(err), "%s= is longer than %zu bytes", keys[i], room[i]);
	else if (v[1] && crm_find_email(v[1], email, sizeof(email)) == -1)
		snprintf(err, sizeof(err), "\"%.*s\" is not an email address",
		    (int)utf8_prefix(v[1], QUOTED), v[1]);
	else if (v[2] && crm_phone_e164(v[2], conf->default_country, phone, sizeof(phone)) == -1)
		snprintf(err, sizeof(err),
		    "\"%.*s\" is not a phone number (write it with its "
		    "country code, as +358 40 123 4567)",
		    (int)utf8_prefix(v[2], QUOTED), v[2]);
	else
		err[0] = '\0';
	if (*err == '\0') {
		if (v[1])
			conversation_learn(c, "email", email);
		if (v[2])
			conversation_learn(c, "phone", phone);
		if (store_contact_edit(c->contact_id, v[0], v[1] ? email : NULL,
		        v[2] ? phone : NULL, v[3]) == -1)
			snprintf(err, sizeof(err), "the database failed; try again");
	}
	for (i = 0; i < 4; i++)
		free(v[i]);
	if (*err) {
		conv_tellf(c, a, "Nothing changed: %s.", err);
		return;
	}
	if (store_contact_card(c->contact_id, c->id, &k) == 0) {
		crm_card_text(&k, c->channel, card, sizeof(card));
		conv_tell(c, a, card);
	}
}

/* /merge N: the agent links this chat's contact with contact N (a possible match shown). */
static void
cmd_merge(struct conv *c, struct agent *a, const char *args)
{
	char *end;
	long long n;

	if (*args == '#') /* as the possible match names it */
		args++;
	n = strtoll(args, &end, 10);
	while (*end == ' ' || *end == '\t')
		end++;
	if (*args < '0' || *args > '9' || *end != '\0' || n <= 0) {
		conv_tell(c, a, "Usage: !merge N, with the contact number of a possible match.");
		return;
	}
	conversation_merge(c, a, (int64_t)n);
}

/*
 * Who /handoff names: a [person] (by name, JID or email), or an address (a JID, an email
 * address: respa cannot tell them apart, so one it does not know gets both). The task's
 * assignee: the person's JID, else their email; NULL (the agent told) when there is none.
 */
static const char *
handoff_to(struct conv *c, struct agent *a, const char *who, const char *usage)
{
	const struct person *x = config_person(who);

	if (x)
		return x->jid ? x->jid : x->email;
	if (strchr(who, '@') == NULL)
		conv_tellf(c, a,
		    "There is no colleague \"%.*s\" ([person] in respa.conf). Usage: %s (for a "
		    "named colleague, e.g. a salesperson)",
		    (int)utf8_prefix(who, QUOTED), who, usage);
	else if (!jid_valid_bare(who) && !mail_addr_ok(who))
		conv_tellf(c, a, "\"%.*s\" is neither a bare JID nor an email address. Usage: %s",
		    (int)utf8_prefix(who, QUOTED), who, usage);
	else
		return who;
	return NULL;
}

static void
cmd_handoff(struct conv *c, struct agent *a, const char *args)
{
	const char *usage = "!handoff COLLEAGUE [due] text", *text, *to;
	char who[256], when[64] = "", summary[1024], card[1024] = "", *details, *msg, *lines,
	               *mailtext, *subject, *customer;
	struct contact_card k;
	time_t due;
	int64_t id;
	int found;

	first_word(args, who, sizeof(who), &text);
	if (*who == '\0') {
		conv_tellf(c, a, "Usage: %s, COLLEAGUE a JID, an email address or a [person] name",
		    usage);
		return;
	}
	if ((to = handoff_to(c, a, who, usage)) == NULL)
		return;
	if ((found = read_due(c, a, text, usage, &due, &text)) == -1)
		return;
	if (*text == '\0') {
		conv_tellf(c, a, "Say what %s should do. Usage: %s", who, usage);
		return;
	}
	conversation_summary(c, NULL, 1, summary, sizeof(summary));
	details = xasprintf("Handed on by %s. Summary so far: %s", a->jid, summary);
	if (new_task(c, a, to, "handoff", text, details, found ? due : respa_now(), &id) == 0) {
		if (found)
			local_when(c, due, when, sizeof(when));
		memset(&k, 0, sizeof(k));
		if (store_contact_card(c->contact_id, c->id, &k) == 0)
			crm_card_text(&k, c->channel, card, sizeof(card));
		customer = *k.name ? xstrdup(k.name) : jid_bare(c->customer);
		lines = transcript_text(c->id, c->queue->timezone, c->queue->title, customer);
		msg = xasprintf("%s hands a customer on to you, task %" PRId64 "%s%s: %s\n%s%s%s"
		                "\n\nTranscript:\n%.*s%s",
		    a->jid, id, *when ? ", due " : "", when, text, details, *card ? "\n" : "", card,
		    (int)utf8_prefix(lines, 8000), lines,
		    strlen(lines) > 8000 ? "\n[... the rest is in the record]" : "");
		mailtext = xasprintf("%s hands a customer on to you: task %" PRId64 "%s%s.\n\n"
		                     "%s\n\n%s\n\n%s\n\nTranscript (%s):\n%s",
		    a->jid, id, *when ? ", due " : "", when, text, details, card,
		    c->queue->timezone, lines);
		subject = xasprintf("Task %" PRId64 " handed to you: %s", id, text);
		if (transcript_tell("handoff", to, msg, subject, mailtext, c->id, c->contact_id,
		        1) > 0)
			conv_tellf(c, a, "Task %" PRId64 " handed to %s%s%s; they were told.", id,
			    who, *when ? ", due " : "", when);
		else
			conv_tellf(c, a,
			    "Task %" PRId64 " handed to %s%s%s; they will see it "
			    "when they log in.",
			    id, who, *when ? ", due " : "", when);
		free(customer);
		free(lines);
		free(msg);
		free(mailtext);
		free(subject);
	}
	free(details);
}

/*
 * A phone number written at the start of args ("+358 40 123 4567 +1d"): the longest run of
 * words that reads as one. 0 with *rest after it; -1 when what starts like one is not.
 */
static int
leading_phone(const char *args, char *phone, size_t len, const char **rest)
{
	const char *ends[8], *p = args;
	char cand[64];
	size_t n = 0, w;

	*rest = args;
	if (*p != '+' && strncmp(p, "00", 2) != 0)
		return 0; /* no phone given */
	while (*p && n < 8) {
		w = strcspn(p, " \t");
		if (strspn(p, "+0123456789()-.") < w)
			break;
		p += w;
		ends[n++] = p;
		p += strspn(p, " \t");
	}
	while (n-- > 0) {
		if ((size_t)(ends[n] - args) >= sizeof(cand))
			continue;
		memcpy(cand, args, (size_t)(ends[n] - args));
		cand[ends[n] - args] = '\0';
		if (crm_phone_e164(cand, conf->default_country, phone, len) == 0) {
			*rest = str_skip_space(ends[n]);
			return 0;
		}
	}
	return -1;
}

static void
cmd_callback(struct conv *c, struct agent *a, const char *args)
{
	const char *usage = "!callback [phone] [due]", *rest;
	char phone[32] = "", when[64], *title;
	struct contact_card k;
	time_t due;
	int64_t id;
	int found;

	if (leading_phone(args, phone, sizeof(phone), &rest) == -1) {
		conv_tellf(c, a, "\"%.*s\" is not a phone number. Usage: %s",
		    (int)strcspn(args, " \t"), args, usage);
		return;
	}
	if ((found = read_due(c, a, rest, usage, &due, &rest)) == -1)
		return;
	if (*rest) {
		conv_tellf(c, a, "Unexpected \"%s\". Usage: %s", rest, usage);
		return;
	}
	if (*phone == '\0' && store_contact_card(c->contact_id, c->id, &k) == 0)
		str_copy(phone, sizeof(phone), k.phone);
	if (*phone == '\0') {
		conv_tellf(c, a, "No phone number is known for this contact: give one. Usage: %s",
		    usage);
		return;
	}
	if (!found)
		due = respa_now();
	title = xasprintf("Call back %s", phone);
	if (new_task(c, a, a->jid, "callback", title, NULL, due, &id) == 0) {
		local_when(c, due, when, sizeof(when));
		conv_tellf(c, a, "Task %" PRId64 " added for you: call back %s, due %s.", id, phone,
		    when);
	}
	free(title);
}

/* A customer can be written to later unless they were an anonymous web visitor. */
static const char *
reachable_at(const struct conv *c, char *buf, size_t len)
{
	char *bare;

	if (strcmp(c->channel, "web") == 0)
		return NULL;
	if (strcmp(c->channel, "xmpp") != 0) /* a gateway: its user's exact JID */
		str_copy(buf, len, c->customer);
	else {
		bare = jid_bare(c->customer);
		str_copy(buf, len, bare);
		free(bare);
	}
	return buf;
}

static void
cmd_remind(struct conv *c, struct agent *a, const char *args)
{
	const char *usage = "!remind due text", *text;
	char to[512], when[64];
	time_t due;
	int found;

	if ((found = read_due(c, a, args, usage, &due, &text)) == -1)
		return;
	if (!found || *text == '\0') {
		conv_tellf(c, a, "Usage: %s (due as +2h, +1d, tomorrow 10:00 or 2026-12-01 14:30)",
		    usage);
		return;
	}
	if (reachable_at(c, to, sizeof(to)) == NULL) {
		conv_tell(c, a,
		    "This customer is an anonymous web visitor: they cannot be reached "
		    "later, so no reminder was scheduled. Ask for an email address or phone number "
		    "and make a !task or !callback instead.");
		return;
	}
	if (store_reminder_add(c->id, c->contact_id, c->entry->jid, to, text, a->jid, due,
	        respa_now()) == -1) {
		conv_tell(c, a, "The reminder could not be saved: the database failed. Try again.");
		return;
	}
	tasks_schedule(due);
	local_when(c, due, when, sizeof(when));
	conv_tellf(c, a, "The customer will get this message %s: %s", when, text);
}

/* /canned NAME: a canned response of the queue (or a global one) goes to the customer. */
static void
cmd_canned(struct conv *c, struct agent *a, const char *args)
{
	char *text;

	if (*args == '\0') {
		conv_tell(c, a, "Usage: !canned NAME");
		return;
	}
	if ((text = store_canned_get(c->queue->name, args)) == NULL) {
		conv_tellf(c, a, "There is no canned response %s for %s.", args, c->queue->title);
		return;
	}
	if (conversation_say(c, a, text) == -1)
		conv_tell(c, a,
		    "The canned response could not be sent: the database failed. Try "
		    "again.");
	free(text);
}

/* /transcript: the header and lines so far, to the client that asked (one that came late). */
static void
cmd_transcript(struct conv *c, struct agent *a, const char *args)
{
	(void)args;
	conversation_replay(c, asker ? asker : a->jid, "Transcript of chat",
	    "The lines so far follow.");
}

/* The queue's call_url with a new random room name for each "{room}": new string. */
static char *
call_link(const char *tpl)
{
	char room[23]; /* 22 characters: 132 random bits */
	const char *p, *hit;
	size_t n = 0, len = strlen(tpl) + 1;
	char *url;

	random_token(room, sizeof(room));
	for (p = tpl; (hit = strstr(p, "{room}")) != NULL; p = hit + 6)
		len += strlen(room);
	url = xmalloc(len);
	for (p = tpl; (hit = strstr(p, "{room}")) != NULL; p = hit + 6) {
		memcpy(url + n, p, (size_t)(hit - p));
		n += (size_t)(hit - p);
		memcpy(url + n, room, strlen(room));
		n += strlen(room);
	}
	memcpy(url + n, p, strlen(p) + 1);
	return url;
}

/* /call: a voice/video room's link to the customer and to the agent, in the transcript. */
static void
cmd_call(struct conv *c, struct agent *a, const char *args)
{
	const char *tpl = c->queue->call_url ? c->queue->call_url : c->entry->call_url;
	char *url, *text;

	if (*args) {
		conv_tell(c, a, "Usage: !call (it takes no arguments)");
		return;
	}
	if (tpl == NULL) {
		conv_tellf(c, a,
		    "No call link is set up for %s: an admin sets call_url in the queue's "
		    "section of respa.conf (as https://meet.example.com/{room}). Nothing was sent. "
		    "!callback makes a task to phone the customer instead.",
		    c->queue->title);
		return;
	}
	url = call_link(tpl);
	text = xasprintf("%s %s", c->queue->call_text, url);
	if (conversation_say(c, a, text) == -1)
		conv_tell(c, a, "The call link could not be sent: the database failed. Try again.");
	else {
		conv_tellf(c, a, "Call link sent to the customer. Join the call: %s", url);
		log_info("conversation %" PRId64 ": %s sent a call link", c->id, a->jid);
	}
	free(text);
	free(url);
}

static const struct chat_cmd chat_cmds[] = {
	{ "close", "!close [resolved|unresolved] [#tag...] [summary]",
	    "end the chat; without a "
	    "summary respa writes one; unresolved leaves you a follow-up task",
	    cmd_close },
	{ "task", "!task [due] text",
	    "a follow-up task for you; due as +2h, +1d, "
	    "tomorrow 10:00 or 2026-12-01 14:30 (default: tomorrow 09:00)",
	    cmd_task },
	{ "handoff", "!handoff COLLEAGUE [due] text",
	    "a task for a colleague (a JID, an email "
	    "address or a [person] name) with the summary, the contact card and the transcript; "
	    "they are told by XMPP when online, else by email",
	    cmd_handoff },
	{ "callback", "!callback [phone] [due]",
	    "a task for you to call the customer back "
	    "(their known number by default)",
	    cmd_callback },
	{ "call", "!call",
	    "send the customer a link to a voice/video call (the queue's call_url); you "
	    "get the same link",
	    cmd_call },
	{ "remind", "!remind due text",
	    "a message to the customer later (not for anonymous web "
	    "visitors)",
	    cmd_remind },
	{ "tag", "!tag reason", "record the contact reason", cmd_tag },
	{ "note", "!note text", "a private note in the transcript", cmd_note },
	{ "contact", "!contact name=... email=... phone=... company=...", "edit the contact",
	    cmd_contact },
	{ "history", "!history", "the contact's earlier conversations", cmd_history },
	{ "merge", "!merge N",
	    "link this chat's contact with contact N (a possible match); an "
	    "admin can undo it",
	    cmd_merge },
	{ "transfer", "!transfer AGENT-JID|QUEUE [note]",
	    "hand the chat to a colleague or "
	    "another queue; they get the transcript",
	    cmd_transfer },
	{ "accept", "!accept", "take an offered chat (answering takes it too)", cmd_accept },
	{ "reject", "!reject", "turn an offered chat down; it goes to another agent", cmd_reject },
	{ "canned", "!canned NAME", "send the canned response NAME to the customer", cmd_canned },
	{ "transcript", "!transcript", "the chat so far again, to this client", cmd_transcript },
	{ "help", "!help [COMMAND]", "this list, or one command", cmd_help },
	{ NULL, NULL, NULL, NULL },
};

void
chatcmd_init(struct config *c)
{
	conf = c;
}

void
chatcmd_run(struct conv *c, struct agent *a, const struct slash *s, const char *from)
{
	const struct chat_cmd *cmd;

	if (!utf8_valid(s->args, strlen(s->args))) { /* expat checked the body: belt and braces */
		conv_tell(c, a, "That command holds text that is not valid UTF-8: nothing done.");
		return;
	}
	if ((cmd = chat_cmd_find(s->name)) == NULL) {
		conv_tellf(c, a, "Unknown command %c%s.", s->prefix, s->name);
		cmd_help(c, a, "");
	} else if (*s->args && strchr(cmd->usage, ' ') == NULL) /* one that takes nothing */
		conv_tellf(c, a, "%s takes no arguments: nothing done. Usage: %s", cmd->usage,
		    cmd->usage);
	else {
		asker = from;
		cmd->fn(c, a, s->args); /* may free c */
		asker = NULL;
	}
}

/* --- what an agent writes to the component's own address ------------------------------- */

static void
tell(const struct agent *a, const char *text)
{
	component_send(stanza_message(conf->jid, a->jid, text));
}

static void
cmd_pause(struct agent *a, const char *args)
{
	agent_pause(a, args);
	tell(a,
	    "You are paused: no new chats are offered to you until you write !ready here. "
	    "Your open chats stay with you.");
}

static void
cmd_ready(struct agent *a, const char *args)
{
	(void)args;
	agent_ready(a);
	tell(a, "You are ready: new chats are offered to you again.");
}

static void
cmd_status(struct agent *a, const char *args)
{
	char *text;

	(void)args;
	text = xasprintf("You are %s and %s, with %d of %d chats%s%s.", show_name(a->show),
	    a->paused ? "paused" : "ready", a->chats, a->capacity,
	    a->pause_reason ? "; paused: " : "", a->pause_reason ? a->pause_reason : "");
	tell(a, text);
	free(text);
}

static void
cmd_tasks(struct agent *a, const char *args)
{
	char *text = tasks_list_text(a);

	(void)args;
	tell(a, text);
	free(text);
}

static void
cmd_done(struct agent *a, const char *args)
{
	char *text = tasks_done_text(a, args);

	tell(a, text);
	free(text);
}

/* /start WHO [QUEUE] text: a chat the agent starts with a known customer. */
static void
cmd_start(struct agent *a, const char *args)
{
	char who[256], queue[80] = "", err[256], *msg;
	const char *text, *rest;
	int64_t id;

	first_word(args, who, sizeof(who), &text);
	first_word(text, queue, sizeof(queue), &rest);
	if (*queue && strchr(queue, '@') == NULL && config_queue(queue) != NULL)
		text = rest;
	else
		queue[0] = '\0';
	if (*who == '\0' || *text == '\0') {
		tell(a,
		    "Usage: !start WHO [QUEUE] text, where WHO is a contact number (#12), a "
		    "JID or a phone number (+358401234567); the text goes to the customer from "
		    "the queue's address (your first queue unless you name one).");
		return;
	}
	if ((id = conversation_start(a, who, *queue ? queue : NULL, text, err, sizeof(err))) ==
	    -1) {
		msg = xasprintf("No chat was started: %s.", err);
		tell(a, msg);
		free(msg);
		return;
	}
	msg = xasprintf("Chat #%" PRId64 " started: write at c-%" PRId64 "@%s to go on.", id, id,
	    conf->jid);
	tell(a, msg);
	free(msg);
}

static const struct {
	const char *name, *usage;
	void (*fn)(struct agent *, const char *args);
} desk_cmds[] = {
	{ "pause", "!pause [reason]", cmd_pause },
	{ "ready", "!ready", cmd_ready },
	{ "status", "!status", cmd_status },
	{ "tasks", "!tasks", cmd_tasks },
	{ "done", "!done NUMBER", cmd_done },
	{ "start", "!start WHO [QUEUE] text", cmd_start },
};

#define DESK_HELP \
	"This is respa. Each chat you are given comes from its own address (c-NUMBER@...); " \
	"write !help there for the commands. Here: !pause [reason] stops new chats, !ready " \
	"takes them again, !status shows yours, !tasks lists your open tasks, !done NUMBER " \
	"marks one done, !start WHO [QUEUE] text starts a chat with a customer respa knows. " \
	"Commands start with ! (or /, but profanity, poezio and other terminal " \
	"clients take lines starting with / for themselves)."

void
chatcmd_agent(struct agent *a, const char *body)
{
	struct slash s;
	size_t i;
	char *text;

	if (!slash_parse(body, &s)) {
		tell(a, DESK_HELP);
		return;
	}
	for (i = 0; i < sizeof(desk_cmds) / sizeof(desk_cmds[0]); i++)
		if (strcmp(desk_cmds[i].name, s.name) == 0)
			break;
	if (i == sizeof(desk_cmds) / sizeof(desk_cmds[0]))
		text = xasprintf("Unknown command %c%s here. " DESK_HELP, s.prefix, s.name);
	else if (*s.args && strchr(desk_cmds[i].usage, ' ') == NULL)
		text = xasprintf("%s takes no arguments: nothing done. Usage: %s",
		    desk_cmds[i].usage, desk_cmds[i].usage);
	else {
		desk_cmds[i].fn(a, s.args);
		return;
	}
	tell(a, text);
	free(text);
}
