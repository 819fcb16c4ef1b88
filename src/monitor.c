/*
 * Supervisors following a chat: each gets the transcript, then every line both ways from a
 * mirror address m-ID@component. What they write there is a whisper to the agent (an
 * internal note), !barge speaks to the customer as the desk, !takeover makes the chat theirs.
 * A conversation nobody monitors has a NULL list: its messages cost one pointer test. The
 * conversation's state changes stay in conversation.c.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "respa.h"

static struct config *conf;

struct monitor {
	char *jid; /* the supervisor's bare JID */
	struct monitor *next;
};

#define MIRROR_HELP \
	"What you write here reaches only the agent, as a whisper (stored as an internal note " \
	"the customer never sees). !barge text speaks to the customer as the desk, !takeover " \
	"makes the chat yours, !unmonitor stops following it."

#define SUPERVISOR_HELP \
	"This is respa. As a supervisor you write here: !monitor N follows chat #N from " \
	"m-N@ this address (the ad-hoc command monitor lists the open chats), !unmonitor N " \
	"stops, !alerts off|on mutes or brings back the alerts."

void
monitor_init(struct config *c)
{
	conf = c;
}

static char *
mirror_addr(int64_t id)
{
	return xasprintf("m-%" PRId64 "@%s", id, conf->jid);
}

static void
tell_from(const char *from, const char *to, const char *text)
{
	component_send(stanza_message(from, to, text));
}

/* The chat #id (from "12", "#12", "c-12"), or NULL when none is open. */
static struct conv *
conv_by_number(const char *s, int64_t *id)
{
	char node[32], *end;
	long long n;

	if (*s == '#')
		s++;
	else if (strncmp(s, "c-", 2) == 0 || strncmp(s, "m-", 2) == 0)
		s += 2;
	n = strtoll(s, &end, 10);
	*id = 0;
	if (*s < '0' || *s > '9' || *str_skip_space(end) != '\0' || n <= 0)
		return NULL;
	*id = (int64_t)n;
	snprintf(node, sizeof(node), "c-%lld", n);
	return conversation_find(node);
}

static struct monitor **
find(struct conv *c, const char *bare)
{
	struct monitor **m;

	for (m = &c->monitors; *m; m = &(*m)->next)
		if (strcmp((*m)->jid, bare) == 0)
			return m;
	return NULL;
}

static void
drop(struct monitor **m)
{
	struct monitor *gone = *m;

	*m = gone->next;
	free(gone->jid);
	free(gone);
}

/* bare follows chat c from now on: the transcript so far, then each line. */
void
monitor_start(struct conv *c, const char *bare)
{
	struct monitor *m;
	char *from;

	if (find(c, bare) != NULL) {
		from = mirror_addr(c->id);
		tell_from(from, bare, "You already monitor this chat. " MIRROR_HELP);
		free(from);
		return;
	}
	m = xcalloc(1, sizeof(*m));
	m->jid = xstrdup(bare);
	m->next = c->monitors;
	c->monitors = m;
	from = mirror_addr(c->id);
	conversation_replay_from(c, from, bare, "Monitoring chat", MIRROR_HELP);
	free(from);
	if (conf->monitor_notice && c->agent)
		conv_tell(c, c->agent, MONITOR_NOTICE);
	log_info("conversation %" PRId64 ": %s monitors it", c->id, bare);
}

/* One line to every supervisor following c but skip (its author), from the mirror. */
void
monitor_mirror(const struct conv *c, const char *skip, const char *text)
{
	const struct monitor *m;
	char *from = mirror_addr(c->id);

	for (m = c->monitors; m; m = m->next)
		if (skip == NULL || strcmp(m->jid, skip) != 0)
			tell_from(from, m->jid, text);
	free(from);
}

/* The chat ends: each supervisor is told, and the list goes. */
void
monitor_closed(struct conv *c)
{
	char *from, *text;

	if (c->monitors == NULL)
		return;
	from = mirror_addr(c->id);
	text = xasprintf("Chat #%" PRId64 " closed: you no longer monitor it.", c->id);
	while (c->monitors) {
		tell_from(from, c->monitors->jid, text);
		component_send(stanza_presence(from, c->monitors->jid, "unavailable"));
		drop(&c->monitors);
	}
	free(text);
	free(from);
}

void
monitor_free(struct conv *c)
{
	while (c->monitors)
		drop(&c->monitors);
}

static int
stop(struct conv *c, const char *bare)
{
	struct monitor **m = find(c, bare);
	char *from;

	if (m == NULL)
		return -1;
	drop(m);
	from = mirror_addr(c->id);
	tell_from(from, bare, "You no longer monitor this chat.");
	component_send(stanza_presence(from, bare, "unavailable"));
	free(from);
	return 0;
}

static void
forbidden(xmpp_stanza_t *st)
{
	if (stanza_body_len(st) > 0)
		component_send(stanza_error(st, "auth", "forbidden",
		    "Only supervisors ([admin] supervisors or jids in respa.conf) may monitor "
		    "chats."));
}

/* !monitor N or !unmonitor N at the component's address: 1 when it was one of them. */
int
monitor_desk(xmpp_stanza_t *st, const char *from, const char *bare, const char *body)
{
	struct slash s;
	struct conv *c;
	int64_t id;
	char *text = NULL;
	int on;

	(void)from;
	if (!slash_parse(body, &s) ||
	    (strcmp(s.name, "monitor") != 0 && strcmp(s.name, "unmonitor") != 0)) {
		if (!config_is_supervisor(conf, bare) || config_agent_find(bare))
			return 0; /* an agent's own commands, or a stranger's text */
		tell_from(conf->jid, bare, SUPERVISOR_HELP);
		return 1;
	}
	if (!config_is_supervisor(conf, bare)) {
		forbidden(st);
		return 1;
	}
	on = strcmp(s.name, "monitor") == 0;
	c = conv_by_number(s.args, &id);
	if (id == 0)
		text = xasprintf("Usage: !%s N, with the number of an open chat (the ad-hoc "
		                 "command monitor lists them).",
		    s.name);
	else if (c == NULL)
		text = xasprintf("Chat #%" PRId64 " is not open (closed or unknown): nothing to "
		                 "%s.",
		    id, on ? "monitor" : "stop");
	else if (on)
		monitor_start(c, bare);
	else if (stop(c, bare) == -1)
		text = xasprintf("You were not monitoring chat #%" PRId64 ".", id);
	if (text) {
		tell_from(conf->jid, bare, text);
		free(text);
	}
	return 1;
}

static void
takeover(struct conv *c, const char *bare, const char *mirror)
{
	struct agent *a = config_agent_find(bare);
	char err[256], *text;
	struct monitor **m;

	if (a == NULL) {
		tell_from(mirror, bare,
		    "You are not an agent here, so a chat can't be yours: add yourself to a "
		    "queue's agents first. !barge text speaks to the customer meanwhile.");
		return;
	}
	if ((m = find(c, bare)) != NULL) /* the agent now: their own lines need no mirror */
		drop(m);
	if (conversation_takeover(c, a, err, sizeof(err)) == -1) {
		monitor_start(c, bare); /* still following it, without a second transcript */
		text = xasprintf("Chat #%" PRId64 " was not taken over: %s.", c->id, err);
		tell_from(mirror, bare, text);
		free(text);
		return;
	}
	component_send(stanza_presence(mirror, bare, "unavailable"));
}

/* Something a supervisor wrote to m-ID. */
void
monitor_message(xmpp_stanza_t *st, const char *from, const char *node)
{
	char *bare = jid_bare(from), *body = NULL, *mirror = NULL, *text = NULL;
	struct conv *c;
	struct slash s;
	int64_t id;

	if (!config_is_supervisor(conf, bare)) {
		forbidden(st);
		goto done;
	}
	if (stanza_body_len(st) == 0 || (body = stanza_body(st)) == NULL)
		goto done; /* a chat state: nothing to do */
	c = conv_by_number(node, &id);
	mirror = id ? mirror_addr(id) : xasprintf("%s@%s", node, conf->jid);
	if (stanza_body_len(st) > conf->max_body)
		text = xasprintf("That message is longer than %zu bytes: nothing was sent.",
		    conf->max_body);
	else if (c == NULL)
		text = xasprintf("Chat #%" PRId64 " is closed or unknown: nothing was sent.", id);
	else if (find(c, bare) == NULL)
		text = xasprintf("You are not monitoring chat #%" PRId64 ": write !monitor %" PRId64
		                 " to %s first. Nothing was sent.",
		    id, id, conf->jid);
	else if (!slash_parse(body, &s)) /* "!!x" whispers "!x" */
		conversation_whisper(c, bare, slash_text(body));
	else if (strcmp(s.name, "unmonitor") == 0)
		(void)stop(c, bare);
	else if (strcmp(s.name, "barge") == 0 && *s.args == '\0')
		text = xstrdup("Usage: !barge text (it goes to the customer as the desk's answer)");
	else if (strcmp(s.name, "barge") == 0)
		conversation_barge(c, bare, s.args);
	else if (strcmp(s.name, "takeover") == 0)
		takeover(c, bare, mirror);
	else if (strcmp(s.name, "help") == 0)
		text = xstrdup(MIRROR_HELP);
	else
		text = xasprintf("Unknown command %c%s here. " MIRROR_HELP, s.prefix, s.name);
	if (text)
		tell_from(mirror, bare, text);
done:
	free(text);
	free(mirror);
	free(body);
	free(bare);
}
