/*
 * Alerts to supervisors: a customer waiting too long, an open queue nobody staffs, an agent
 * paused after missed offers, the hook or the mail outbox failing again and again. They go as
 * chat messages from the component's address to every supervisor and admin not muted: the
 * server delivers them to an online client or keeps them offline, so respa needs no presence
 * subscription to people who may not be agents. A cooldown per kind and subject keeps one
 * episode to one message.
 */
#include <stdlib.h>
#include <string.h>

#include "respa.h"

static struct config *conf;
static struct map *last;  /* "kind subject" -> struct fired */
static struct map *muted; /* bare JID -> its own copy */

struct fired {
	char *key;
	int64_t at; /* ms */
};

static const char *const kind_names[ALERT_KINDS] = {
	[ALERT_WAIT] = "wait",
	[ALERT_UNSTAFFED] = "unstaffed",
	[ALERT_PAUSED] = "paused",
	[ALERT_HOOK] = "hook",
	[ALERT_MAIL] = "mail",
};

void
alert_init(struct config *c)
{
	conf = c;
	last = map_new();
	muted = map_new();
}

static void
free_fired(const char *key, void *value, void *arg)
{
	struct fired *f = value;

	(void)key, (void)arg;
	free(f->key);
	free(f);
}

static void
free_key(const char *key, void *value, void *arg)
{
	(void)key, (void)arg;
	free(value);
}

void
alert_free(void)
{
	if (last)
		map_foreach(last, free_fired, NULL);
	map_free(last);
	if (muted)
		map_foreach(muted, free_key, NULL);
	map_free(muted);
	last = muted = NULL;
}

static void
send_to(const char *jid, const char *text)
{
	if (map_get(muted, jid) == NULL)
		component_send(stanza_message(conf->jid, jid, text));
}

int
alert_raise(enum alert_kind kind, const char *subject, const char *fmt, ...)
{
	char *key, *text, *body;
	struct fired *f;
	int64_t now = respa_now_ms();
	va_list ap;
	size_t i;

	if (last == NULL) /* not started: a tool or a test without alerts */
		return 0;
	key = xasprintf("%s %s", kind_names[kind], subject);
	f = map_get(last, key);

	if (f && now - f->at < (int64_t)conf->alert_cooldown * 1000) {
		free(key);
		return 0;
	}
	if (f == NULL) {
		f = xcalloc(1, sizeof(*f));
		f->key = key;
		map_put(last, f->key, f);
	} else
		free(key);
	f->at = now;
	va_start(ap, fmt);
	text = xvasprintf(fmt, ap);
	va_end(ap);
	body = utf8_repair(text);
	log_info("alert (%s): %s", kind_names[kind], body);
	for (i = 0; i < conf->nadmins; i++)
		send_to(conf->admins[i], body);
	for (i = 0; i < conf->nsupervisors; i++)
		if (!config_is_admin(conf, conf->supervisors[i])) /* not twice */
			send_to(conf->supervisors[i], body);
	free(body);
	free(text);
	return 1;
}

int
alert_command(xmpp_stanza_t *st, const char *from, const char *body)
{
	char *bare, *old;
	const char *arg;
	int on;

	if (conf == NULL ||
	    (strncmp(body, "!alerts", 7) != 0 && strncmp(body, "/alerts", 7) != 0) ||
	    (body[7] != '\0' && body[7] != ' '))
		return 0;
	arg = str_skip_space(body + 7);
	bare = jid_bare(from);
	if (!config_is_supervisor(conf, bare))
		component_send(stanza_error_lang(st, "auth", "forbidden",
		    "Only supervisors and admins get alerts; you are neither.", NULL, NULL));
	else if ((on = strcmp(arg, "on") == 0) || strcmp(arg, "off") == 0) {
		if ((old = map_del(muted, bare)) != NULL)
			free(old);
		if (!on) {
			old = xstrdup(bare);
			map_put(muted, old, old);
		}
		component_send(stanza_message(conf->jid, from,
		    on ? "Alerts are on." : "Alerts are off until you write !alerts on."));
	} else
		component_send(stanza_message(conf->jid, from,
		    map_get(muted, bare) ? "Alerts are off. Write !alerts on or !alerts off."
		                         : "Alerts are on. Write !alerts on or !alerts off."));
	free(bare);
	return 1;
}
