/*
 * The configuration file: INI sections, one table of keys, every error as "file:line: message".
 * Parsing goes on after an error so that one run shows every mistake.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "respa.h"

static struct config *loaded; /* the last config_load(): what the lookups read */

enum section {
	SEC_NONE,
	SEC_COMPONENT,
	SEC_STORAGE,
	SEC_ADMIN,
	SEC_ROUTING,
	SEC_CRM,
	SEC_AGENT,
	SEC_QUEUE,
	SEC_DOMAIN,
	SEC_LIMITS,
	SEC_METRICS,
	SEC_MAIL,
	SEC_PERSON,
	SEC_COUNT
};
_Static_assert(SEC_COUNT <= CONFIG_SECTIONS, "struct config's written[] holds every section");

struct parser {
	struct config *conf;
	const char *file;
	int line;
	int errors;
	FILE *err;
	enum section section;
	int skip;              /* the section header was bad: its keys are not reported again */
	int jid_given;         /* a bad jid is reported at its line, not again as missing */
	struct queue *queue;   /* current [queue NAME] */
	struct agent *agent;   /* current [agent JID] */
	struct domain *domain; /* current [domain NAME] */
	struct person *person; /* current [person NAME] */
	int mail;              /* a [mail] section was given */
	struct map *seen;      /* "section\nkey" already set: duplicates are errors */
	char **seenkeys;
	size_t nseen;
};

static void
perr(struct parser *p, const char *fmt, ...)
{
	va_list ap;

	fprintf(p->err, "%s:%d: ", p->file, p->line);
	va_start(ap, fmt);
	vfprintf(p->err, fmt, ap);
	va_end(ap);
	fputc('\n', p->err);
	p->errors++;
}

static int
valid_domain(const char *s)
{
	if (*s == '\0' || *s == '.')
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '.' && *s != '-')
			return 0;
	return 1;
}

/* Queue names are the local part of an address; c-<digits> belongs to conversations. */
static int
valid_queue_name(const char *s)
{
	const char *p;

	if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s))
		return 0;
	for (p = s; *p; p++)
		if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) &&
		    !strchr("._-", *p))
			return 0;
	if (s[0] == 'c' && s[1] == '-' && s[2] && strspn(s + 2, "0123456789") == strlen(s + 2))
		return 0;
	return strlen(s) <= 64;
}

static int
parse_int(const char *v, long min, long max, long *out)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || end == v || *end != '\0' || n < min || n > max)
		return -1;
	*out = n;
	return 0;
}

/* The server hands JIDs over case-folded (nodeprep); people may write them otherwise. */
static char *
jid_fold(const char *jid)
{
	char *s = xstrdup(jid), *p;

	for (p = s; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return s;
}

static struct agent *
agent_get(struct config *conf, const char *written)
{
	char *jid = jid_fold(written);
	struct agent *a = map_get(conf->agent_map, jid);

	if (a) {
		free(jid);
		return a;
	}
	a = xcalloc(1, sizeof(*a));
	a->jid = jid;
	a->capacity = DEFAULT_CAPACITY;
	TAILQ_INIT(&a->convs);
	map_put(conf->agent_map, a->jid, a);
	*conf->agents_tail = a;
	conf->agents_tail = &a->next;
	return a;
}

static void
member_add(struct parser *p, struct queue *q, const char *jid, int tier)
{
	struct agent *a = agent_get(p->conf, jid);

	if (config_member(a, q, tier) == NULL)
		perr(p, "agent %s is listed twice in queue %s", jid, q->name);
}

struct member *
config_member_find(const struct agent *a, const struct queue *q)
{
	struct member *m;

	for (m = a->members; m; m = m->next_of_agent)
		if (m->queue == q)
			return m;
	return NULL;
}

struct member *
config_member(struct agent *a, struct queue *q, int tier)
{
	struct member *m;

	if (config_member_find(a, q))
		return NULL;
	m = xcalloc(1, sizeof(*m));
	m->agent = a;
	m->queue = q;
	m->tier = tier;
	m->next_of_agent = a->members;
	a->members = m;
	LIST_INSERT_HEAD(&q->members, m, queue_link);
	return m;
}

struct agent *
config_agent(struct config *conf, const char *jid)
{
	return agent_get(conf, jid);
}

int
config_queue_name_ok(const char *name)
{
	return valid_queue_name(name);
}

/* Splits a list on spaces and commas, calling fn for each word. */
static void
each_word(struct parser *p, const char *v, void (*fn)(struct parser *, const char *))
{
	char *copy = xstrdup(v), *w, *save = NULL;

	for (w = strtok_r(copy, " \t,", &save); w; w = strtok_r(NULL, " \t,", &save))
		fn(p, w);
	free(copy);
}

static void
admin_add(struct parser *p, const char *jid)
{
	struct config *c = p->conf;

	if (!jid_valid_bare(jid)) {
		perr(p, "not a bare JID: %s", jid);
		return;
	}
	c->admins = xrealloc(c->admins, (c->nadmins + 1) * sizeof(*c->admins));
	c->admins[c->nadmins++] = jid_fold(jid);
}

static void
supervisor_add(struct parser *p, const char *jid)
{
	struct config *c = p->conf;

	if (!jid_valid_bare(jid)) {
		perr(p, "not a bare JID: %s", jid);
		return;
	}
	c->supervisors = xrealloc(c->supervisors, (c->nsupervisors + 1) * sizeof(*c->supervisors));
	c->supervisors[c->nsupervisors++] = jid_fold(jid);
}

/* JID, or JID:TIER for a later tier (a colon cannot occur in a bare JID). */
static void
queue_agent_add(struct parser *p, const char *word)
{
	char *jid = xstrdup(word), *colon = strrchr(jid, ':');
	long tier = 1;

	if (colon) {
		*colon = '\0';
		if (parse_int(colon + 1, 1, 9, &tier) == -1) {
			perr(p, "bad tier in \"%s\": write JID:TIER with a tier from 1 to 9", word);
			free(jid);
			return;
		}
	}
	if (!jid_valid_bare(jid))
		perr(p, "not a bare JID: %s", jid);
	else
		member_add(p, p->queue, jid, (int)tier);
	free(jid);
}

/* Key setters: each validates its value and reports errors itself. */
typedef void (*setter)(struct parser *, const char *);

static void
set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = xstrdup(v);
}

static void
set_jid(struct parser *p, const char *v)
{
	p->jid_given = 1;
	if (!valid_domain(v))
		perr(p, "jid must be a domain name such as support.example.com, not \"%s\"", v);
	else
		set_str(&p->conf->jid, v);
}
static void
servers_free(struct config *c)
{
	size_t i;

	for (i = 0; i < c->nservers; i++) {
		free(c->servers[i].host);
		free(c->servers[i].name);
	}
	free(c->servers);
	c->servers = NULL;
	c->nservers = 0;
}

/* A host name or address: what a metrics label and a log line carry without escaping. */
static int
valid_server_host(const char *s, int v6)
{
	if (*s == '\0')
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '.' && *s != '-' && *s != '_' &&
		    !(v6 && *s == ':'))
			return 0;
	return 1;
}

/* One entry of the list: HOST, HOST:PORT, [IPV6]:PORT, [IPV6] or a bare IPv6 address. */
static void
server_add(struct parser *p, const char *word)
{
	struct config *c = p->conf;
	char *host = xstrdup(word), *h = host, *port = NULL, *end;
	long n = 0;
	int v6 = 0;

	if (*h == '[') {
		v6 = 1;
		h++;
		if ((end = strchr(h, ']')) == NULL || (end[1] != '\0' && end[1] != ':')) {
			perr(p, "bad host \"%s\": write [ADDRESS]:PORT for an IPv6 address", word);
			goto out;
		}
		*end = '\0';
		if (end[1] == ':')
			port = end + 2;
	} else if ((end = strchr(h, ':')) != NULL && strchr(end + 1, ':') == NULL) {
		*end = '\0';
		port = end + 1;
	} else
		v6 = end != NULL; /* two colons or more: an IPv6 address without a port */
	if (!valid_server_host(h, v6)) {
		perr(p,
		    "bad host \"%s\": write a host name or address, with :PORT if its port "
		    "is not [component] port",
		    word);
		goto out;
	}
	if (port && parse_int(port, 1, 65535, &n) == -1) {
		perr(p, "bad port in host \"%s\": a port is a number from 1 to 65535", word);
		goto out;
	}
	c->servers = xrealloc(c->servers, (c->nservers + 1) * sizeof(*c->servers));
	c->servers[c->nservers].host = xstrdup(h);
	c->servers[c->nservers++].port = (int)n;
out:
	free(host);
}

/* The servers of a cluster, separated by spaces or commas; tried in turn on reconnect. */
static void
set_host(struct parser *p, const char *v)
{
	struct config *c = p->conf;
	char *copy = xstrdup(v), *word, *save = NULL, *all;
	int errors = p->errors;

	if (c->nservers == 0) /* the default, 127.0.0.1, is not one of the list */
		set_str(&c->host, "");
	for (word = strtok_r(copy, " \t,", &save); word; word = strtok_r(NULL, " \t,", &save))
		server_add(p, word);
	if (p->errors == errors && strtok_r(strcpy(copy, v), " \t,", &save) == NULL)
		perr(p, "host lists no server: write one or more host names or addresses");
	free(copy);
	all = xasprintf("%s%s%s", c->host, *c->host ? " " : "", v);
	free(c->host);
	c->host = all;
}
static void
set_secret(struct parser *p, const char *v)
{
	/* the example's placeholder: a packaged respa must not start until it is replaced */
	if (strcmp(v, "change-me") == 0)
		perr(p,
		    "secret is still the example's \"change-me\": set it to the server's "
		    "component secret");
	set_str(&p->conf->secret, v);
}
static void
set_database(struct parser *p, const char *v)
{
	set_str(&p->conf->database, v);
}

static void
set_port(struct parser *p, const char *v)
{
	long n;

	if (parse_int(v, 1, 65535, &n) == -1)
		perr(p, "port must be a number from 1 to 65535, not \"%s\"", v);
	else
		p->conf->port = (int)n;
}

static void
set_max_body(struct parser *p, const char *v)
{
	long n;

	/* Prosody's own component stanza limit is 512 KiB. */
	if (parse_int(v, 16, 262144, &n) == -1)
		perr(p, "max_body must be a byte count from 16 to 262144, not \"%s\"", v);
	else
		p->conf->max_body = (size_t)n;
}

static void
set_synchronous(struct parser *p, const char *v)
{
	if (strcmp(v, "normal") == 0)
		p->conf->synchronous_full = 0;
	else if (strcmp(v, "full") == 0)
		p->conf->synchronous_full = 1;
	else
		perr(p, "synchronous must be normal or full, not \"%s\"", v);
}

static void
set_admins(struct parser *p, const char *v)
{
	each_word(p, v, admin_add);
}

static void
set_supervisors(struct parser *p, const char *v)
{
	each_word(p, v, supervisor_add);
}

/* The name is resolved after parsing: the other queue may come later in the file. */
static void
set_overflow(struct parser *p, const char *v)
{
	set_str(&p->queue->overflow_name, v);
	p->queue->overflow_line = p->line;
}

static void
set_closed_overflow(struct parser *p, const char *v)
{
	set_str(&p->queue->closed_overflow_name, v);
	p->queue->closed_overflow_line = p->line;
}
static void
set_monitor_notice(struct parser *p, const char *v)
{
	if (strcmp(v, "yes") == 0)
		p->conf->monitor_notice = 1;
	else if (strcmp(v, "no") == 0)
		p->conf->monitor_notice = 0;
	else
		perr(p, "monitor_notice must be yes or no, not \"%s\"", v);
}
static void
set_agents(struct parser *p, const char *v)
{
	each_word(p, v, queue_agent_add);
}
static void
set_q_name(struct parser *p, const char *v)
{
	set_str(&p->queue->title, v);
}
static void
set_greeting(struct parser *p, const char *v)
{
	set_str(&p->queue->greeting, v);
}
static void
set_queued(struct parser *p, const char *v)
{
	set_str(&p->queue->queued_text, v);
}
static void
set_assigned(struct parser *p, const char *v)
{
	set_str(&p->queue->assigned_text, v);
}
static void
set_closed(struct parser *p, const char *v)
{
	set_str(&p->queue->closed_text, v);
}

static void
set_timezone(struct parser *p, const char *v)
{
	if (!tz_exists(v))
		perr(p, "unknown time zone \"%s\" (use a name such as Europe/Helsinki)", v);
	else
		set_str(&p->queue->timezone, v);
}

/* The language of the queue's texts: one respa ships (texts.c). */
static void
set_language(struct parser *p, const char *v)
{
	int lang = texts_lang(v);

	if (lang == -1)
		perr(p, "language must be one of %s, not \"%s\"", texts_langs(), v);
	else
		p->queue->lang = lang;
}

/* A topic the widget's pre-chat form may send to this queue: a word of [A-Za-z0-9_-]. */
static void
topic_add(struct parser *p, const char *w)
{
	struct queue *q = p->queue;

	if (strlen(w) > TOPIC_MAX ||
	    strspn(w,
	        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	        "0123456789_-") != strlen(w)) {
		perr(p, "bad topic \"%s\": at most %d of A-Z, a-z, 0-9, '_' and '-'", w, TOPIC_MAX);
		return;
	}
	q->topics = xrealloc(q->topics, (q->ntopics + 1) * sizeof(*q->topics));
	q->topics[q->ntopics++] = xstrdup(w);
}
static void
set_topics(struct parser *p, const char *v)
{
	each_word(p, v, topic_add);
}

/* text.NAME = ...: any customer text of the queue, with the placeholders it takes. */
static void
set_text(struct parser *p, const char *name, const char *v)
{
	int id = texts_find(name);
	char err[96];

	if (id == -1) {
		perr(p, "unknown text \"text.%s\" (README, \"Languages\", lists them)", name);
		return;
	}
	if (id <= T_MAX_QUEUE) {
		perr(p, "text.%s: set %s = ... instead", name, texts_name(id));
		return;
	}
	if (texts_check(v, texts_nargs(id), NULL, err, sizeof(err)) == -1) {
		perr(p, "text.%s: %s", name, err);
		return;
	}
	set_str(&p->queue->texts[id], v);
}

/* The name customers see on a human agent's lines. */
static void
set_agent_name(struct parser *p, const char *v)
{
	if (strlen(v) > 64)
		perr(p, "name must be at most 64 bytes");
	else
		set_str(&p->agent->name, v);
}

static void
set_capacity(struct parser *p, const char *v)
{
	long n;

	if (parse_int(v, 1, 100, &n) == -1)
		perr(p, "capacity must be a number of chats from 1 to 100, not \"%s\"", v);
	else
		p->agent->capacity = (int)n;
}

/* A duration: seconds, or a number with s, m or h ("90", "30s", "5m", "2h"). */
static int
parse_duration(const char *v, long min, long max, long *out)
{
	char *end;
	long n, unit = 1;

	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || end == v || n < 0)
		return -1;
	if (*end == 's')
		end++;
	else if (*end == 'm')
		unit = 60, end++;
	else if (*end == 'h')
		unit = 3600, end++;
	if (*end != '\0' || n > max / unit || n * unit < min)
		return -1;
	*out = n * unit;
	return 0;
}

static void
set_seconds(struct parser *p, const char *key, const char *v, long min, long max, int *dst)
{
	long n;

	if (parse_duration(v, min, max, &n) == -1)
		perr(p,
		    "%s must be a duration from %ld to %ld seconds (as 90, 30s, 5m or 2h), "
		    "not \"%s\"",
		    key, min, max, v);
	else
		*dst = (int)n;
}

#define DURATION_SETTER(fn, key, min, max, dst) \
	static void fn(struct parser *p, const char *v) \
	{ \
		set_seconds(p, key, v, min, max, dst); \
	}
DURATION_SETTER(set_agent_grace, "agent_grace", 0, 86400, &p->conf->agent_grace)
DURATION_SETTER(set_reject_delay, "reject_delay", 0, 3600, &p->conf->reject_delay)
DURATION_SETTER(set_subscribe_retry, "subscribe_retry", 1, 86400, &p->conf->subscribe_retry)
DURATION_SETTER(set_presence_check, "presence_check", 0, 86400, &p->conf->presence_check)
DURATION_SETTER(set_hook_timeout, "hook_timeout", 1, 3600, &p->conf->hook_timeout)
DURATION_SETTER(set_mail_timeout, "timeout", 1, 3600, &p->conf->mail_timeout)
DURATION_SETTER(set_command_timeout, "command_timeout", 1, 86400, &p->conf->command_timeout)
DURATION_SETTER(set_tier_wait, "tier_wait", 0, 86400, &p->queue->tier_wait)
DURATION_SETTER(set_offer_timeout, "offer_timeout", 1, 3600, &p->queue->offer_timeout)
DURATION_SETTER(set_max_wait, "max_wait", 1, 7 * 86400, &p->queue->max_wait)
DURATION_SETTER(set_alert_wait, "alert_wait", 1, 7 * 86400, &p->queue->alert_wait)
DURATION_SETTER(set_overflow_wait, "overflow_wait", 0, 7 * 86400, &p->queue->overflow_wait)
DURATION_SETTER(set_alert_cooldown, "alert_cooldown", 0, 7 * 86400, &p->conf->alert_cooldown)
DURATION_SETTER(set_wrap_up, "wrap_up", 0, 3600, &p->queue->wrap_up)
DURATION_SETTER(set_idle_close, "idle_close", 1, 30 * 86400, &p->queue->idle_close)
DURATION_SETTER(set_customer_grace, "customer_grace", 0, 86400, &p->queue->customer_grace)
DURATION_SETTER(set_notice_interval, "notice_interval", 1, 3600, &p->queue->notice_interval)
DURATION_SETTER(set_metrics_interval, "interval", 1, 3600, &p->conf->metrics_interval)

/* The metrics file's directory must be there now: a mistake shows at start, not 15 s later. */
static void
set_metrics_file(struct parser *p, const char *v)
{
	char *dir = xstrdup(v), *slash = strrchr(dir, '/');
	struct stat sb;

	if (v[0] != '/')
		perr(p, "file must be an absolute path, not \"%.*s\"", (int)utf8_prefix(v, 200), v);
	else {
		slash[slash == dir ? 1 : 0] = '\0';
		if (stat(dir, &sb) == -1 || !S_ISDIR(sb.st_mode))
			perr(p, "file: the directory %.*s does not exist",
			    (int)utf8_prefix(dir, 200), dir);
		else if (access(dir, W_OK | X_OK) == -1)
			perr(p, "file: respa cannot write in %.*s (%s)", (int)utf8_prefix(dir, 200),
			    dir, strerror(errno));
	}
	free(dir);
	set_str(&p->conf->metrics_file, v);
}

DURATION_SETTER(set_rating_window, "rating_window", 10, 7 * 86400, &p->queue->rating_window)

static void
set_max_no_answer(struct parser *p, const char *v)
{
	long n;

	if (parse_int(v, 0, 100, &n) == -1)
		perr(p,
		    "max_no_answer must be a number of offers from 0 (never pause) to 100, "
		    "not \"%s\"",
		    v);
	else
		p->conf->max_no_answer = (int)n;
}

static const char *const strategy_names[] = {
	[STRATEGY_LONGEST_IDLE] = "longest-idle",
	[STRATEGY_LEAST_BUSY] = "least-busy",
	[STRATEGY_ROUND_ROBIN] = "round-robin",
	[STRATEGY_RING_ALL] = "ring-all",
};

const char *
strategy_name(enum strategy s)
{
	return strategy_names[s];
}

int
strategy_parse(const char *name, enum strategy *s)
{
	size_t i;

	for (i = 0; i < sizeof(strategy_names) / sizeof(strategy_names[0]); i++)
		if (strcmp(strategy_names[i], name) == 0) {
			*s = (enum strategy)i;
			return 0;
		}
	return -1;
}

static void
set_strategy(struct parser *p, const char *v)
{
	if (strategy_parse(v, &p->queue->strategy) == -1)
		perr(p,
		    "strategy must be longest-idle, least-busy, round-robin or ring-all, "
		    "not \"%s\"",
		    v);
}

static void
set_mode(struct parser *p, const char *v)
{
	if (strcmp(v, "auto") == 0)
		p->queue->mode = MODE_AUTO;
	else if (strcmp(v, "offer") == 0)
		p->queue->mode = MODE_OFFER;
	else
		perr(p,
		    "mode must be auto (assign at once) or offer (the agent accepts), "
		    "not \"%s\"",
		    v);
}

static void
set_q_capacity(struct parser *p, const char *v)
{
	long n;

	if (parse_int(v, 1, 100, &n) == -1)
		perr(p, "capacity must be a number of chats from 1 to 100, not \"%s\"", v);
	else
		p->queue->capacity = (int)n;
}

static void
set_hours(struct parser *p, const char *v)
{
	char err[160];

	if (hours_parse(p->queue->hours, v, err, sizeof(err)) == -1)
		perr(p, "hours: %s", err);
	else
		set_str(&p->queue->hours_text, v);
}

static void
set_closed_dates(struct parser *p, const char *v)
{
	char err[160];

	if (hours_parse_closed(p->queue->hours, v, err, sizeof(err)) == -1)
		perr(p, "closed: %s", err);
	else
		set_str(&p->queue->closed_dates, v);
}

static void
set_offline(struct parser *p, const char *v)
{
	set_str(&p->queue->offline_text, v);
}
static void
set_reasons(struct parser *p, const char *v)
{
	set_str(&p->queue->reasons, v);
}

static void
set_prefer_last(struct parser *p, const char *v)
{
	if (strcmp(v, "yes") == 0)
		p->queue->prefer_last = 1;
	else if (strcmp(v, "no") == 0)
		p->queue->prefer_last = 0;
	else
		perr(p, "return_to_last_agent must be yes or no, not \"%s\"", v);
}
static void
set_rating(struct parser *p, const char *v)
{
	if (strcmp(v, "yes") == 0)
		p->queue->rating = 1;
	else if (strcmp(v, "no") == 0)
		p->queue->rating = 0;
	else
		perr(p, "rating must be yes or no, not \"%s\"", v);
}
#define TEXT_SETTER(fn, field) \
	static void fn(struct parser *p, const char *v) \
	{ \
		set_str(&p->queue->field, v); \
	}
TEXT_SETTER(set_rating_text, rating_text)
TEXT_SETTER(set_rating_thanks_text, rating_thanks_text)
TEXT_SETTER(set_rating_low_text, rating_low_text)
TEXT_SETTER(set_rating_retry_text, rating_retry_text)
TEXT_SETTER(set_rating_late_text, rating_late_text)
TEXT_SETTER(set_call_text, call_text)

/* A web address with {room} where the random room name goes; no space, quote or control. */
static void
set_call_url(struct parser *p, const char *v)
{
	const char *c;

	for (c = v; *c && (unsigned char)*c > ' ' && *c != '"' && *c != '<' && *c != '>' &&
	     (unsigned char)*c < 0x7f;
	     c++)
		;
	if ((strncmp(v, "https://", 8) != 0 && strncmp(v, "http://", 7) != 0) || *c != '\0' ||
	    strstr(v, "{room}") == NULL)
		perr(p,
		    "call_url must be an http(s) address with {room} where the room's name "
		    "goes (as https://meet.example.com/{room}), not \"%s\"",
		    v);
	else
		set_str(&p->queue->call_url, v);
}

static void
set_max_wait_text(struct parser *p, const char *v)
{
	set_str(&p->queue->max_wait_text, v);
}

static void
set_max_queue_text(struct parser *p, const char *v)
{
	set_str(&p->queue->max_queue_text, v);
}

/* A count limit: a whole number from min to max, 0 turning the limit off where min is 0. */
static void
set_count(struct parser *p, const char *key, const char *v, long min, long max, int *dst)
{
	long n;

	if (parse_int(v, min, max, &n) == -1)
		perr(p, "%s must be a number from %ld to %ld%s, not \"%s\"", key, min, max,
		    min == 0 ? " (0: no limit)" : "", v);
	else
		*dst = (int)n;
}

#define COUNT_SETTER(fn, key, min, max, dst) \
	static void fn(struct parser *p, const char *v) \
	{ \
		set_count(p, key, v, min, max, dst); \
	}
COUNT_SETTER(set_max_queue, "max_queue", 0, 1000000, &p->queue->max_queue)
COUNT_SETTER(set_sessions_per_jid, "max_sessions_per_jid", 1, 256, &p->conf->max_sessions_per_jid)
COUNT_SETTER(set_max_open, "max_open_per_customer", 0, 1000, &p->conf->max_open_per_customer)
COUNT_SETTER(set_open_burst, "open_burst", 1, 100000, &p->conf->open_burst)
COUNT_SETTER(set_opens_per_minute, "opens_per_minute", 0, 100000, &p->conf->opens_per_minute)
COUNT_SETTER(set_message_burst, "message_burst", 1, 100000, &p->conf->message_burst)
COUNT_SETTER(set_messages_per_minute, "messages_per_minute", 0, 1000000,
    &p->conf->messages_per_minute)

/* A calling code such as 358 or 1: phone numbers written without one get it. */
static void
set_default_country(struct parser *p, const char *v)
{
	long n;

	if (!isdigit((unsigned char)*v) || parse_int(v, 1, 999, &n) == -1)
		perr(p, "default_country must be a calling code such as 1, 44 or 358, not \"%s\"",
		    v);
	else
		set_str(&p->conf->default_country, v);
}

static void
free_words(char **words)
{
	char **w;

	for (w = words; w && *w; w++)
		free(*w);
	free(words);
}

/*
 * A program and its arguments, split on white space (it runs without a shell): a new
 * NULL-ended array, or NULL (reported) when it does not start with an absolute path.
 */
static char **
program_words(struct parser *p, const char *key, const char *v)
{
	char *copy = xstrdup(v), *w, *save = NULL, **argv = NULL;
	size_t n = 0;

	for (w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		argv = xrealloc(argv, (n + 2) * sizeof(*argv));
		argv[n++] = xstrdup(w);
		argv[n] = NULL;
	}
	free(copy);
	if (argv == NULL || argv[0][0] != '/') {
		perr(p,
		    "%s must start with the absolute path of a program (it runs without a "
		    "shell), not \"%s\"",
		    key, v);
		free_words(argv);
		return NULL;
	}
	return argv;
}

/* The hook: a program and its arguments, split on white space; it runs without a shell. */
static void
set_hook(struct parser *p, const char *v)
{
	char **argv = program_words(p, "hook", v);

	if (argv)
		p->conf->hook = argv;
}

static void
set_sendmail(struct parser *p, const char *v)
{
	char **argv = program_words(p, "sendmail", v);

	if (argv) {
		free_words(p->conf->sendmail);
		p->conf->sendmail = argv;
	}
}

/* An address of [mail] (from: "Name <a@b>" or "a@b"; reply_to: "a@b"). */
static void
set_mail_from(struct parser *p, const char *v)
{
	char name[256], addr[256];

	if (mail_parse_mailbox(v, name, sizeof(name), addr, sizeof(addr)) == -1) {
		perr(p,
		    "from must be an email address, as support@example.com or "
		    "\"Example Support <support@example.com>\", not \"%s\"",
		    v);
		return;
	}
	set_str(&p->conf->mail_from, addr);
	set_str(&p->conf->mail_from_name, name);
}

static void
set_reply_to(struct parser *p, const char *v)
{
	if (!mail_addr_ok(v))
		perr(p, "reply_to must be an email address such as help@example.com, not \"%s\"",
		    v);
	else
		set_str(&p->conf->mail_reply_to, v);
}

static void
set_mail_retries(struct parser *p, const char *v)
{
	long n;

	if (parse_int(v, 0, 1000, &n) == -1)
		perr(p, "retries must be a number from 0 to 1000, not \"%s\"", v);
	else
		p->conf->mail_retries = (int)n;
}

static void
set_handoff_mail(struct parser *p, const char *v)
{
	if (strcmp(v, "offline") == 0)
		p->conf->handoff_mail_always = 0;
	else if (strcmp(v, "always") == 0)
		p->conf->handoff_mail_always = 1;
	else
		perr(p, "handoff_mail must be offline or always, not \"%s\"", v);
}

/* [agent JID] email, [person NAME] email */
static void
set_email(struct parser *p, const char *v)
{
	char **dst = p->agent ? &p->agent->email : &p->person->email;

	if (!mail_addr_ok(v))
		perr(p, "email must be an email address such as anna@example.com, not \"%s\"", v);
	else
		set_str(dst, v);
}

static void
set_person_jid(struct parser *p, const char *v)
{
	char *jid = jid_fold(v);

	if (!jid_valid_bare(jid))
		perr(p, "jid must be a bare JID such as anna@example.com, not \"%s\"", v);
	else
		set_str(&p->person->jid, jid);
	free(jid);
}

static void
set_transcript(struct parser *p, const char *v)
{
	if (strcmp(v, "offer") == 0)
		p->queue->transcript = TRANSCRIPT_OFFER;
	else if (strcmp(v, "always") == 0)
		p->queue->transcript = TRANSCRIPT_ALWAYS;
	else if (strcmp(v, "never") == 0)
		p->queue->transcript = TRANSCRIPT_NEVER;
	else
		perr(p, "transcript must be offer, always or never, not \"%s\"", v);
}

static void
set_transcript_question(struct parser *p, const char *v)
{
	set_str(&p->queue->transcript_question, v);
}

static void
set_transcript_yes(struct parser *p, const char *v)
{
	set_str(&p->queue->transcript_yes_text, v);
}

static void
set_transcript_no(struct parser *p, const char *v)
{
	set_str(&p->queue->transcript_no_text, v);
}

static void
set_hook_retries(struct parser *p, const char *v)
{
	long n;

	if (parse_int(v, 0, 1000, &n) == -1)
		perr(p, "hook_retries must be a number from 0 to 1000, not \"%s\"", v);
	else
		p->conf->hook_retries = (int)n;
}

static void
set_retention_days(struct parser *p, const char *v)
{
	long n;

	if (parse_int(v, 0, 36500, &n) == -1)
		perr(p,
		    "retention_days must be a number of days from 0 (keep transcripts forever) "
		    "to 36500, not \"%s\"",
		    v);
	else
		p->conf->retention_days = (int)n;
}

/* First-contact resolution: a resolved chat whose contact came back within this many days was not. */
static void
set_fcr_days(struct parser *p, const char *v)
{
	long n;

	if (parse_int(v, 0, 365, &n) == -1)
		perr(p, "fcr_days must be a number of days from 0 to 365, not \"%s\"", v);
	else
		p->conf->fcr_days = (int)n;
}

/* A channel name as the CRM records it: whatsapp, sms, telegram, web... */
static void
set_channel(struct parser *p, const char *v)
{
	const char *c;

	for (c = v; *c; c++)
		if (!islower((unsigned char)*c) && !isdigit((unsigned char)*c) && *c != '-')
			break;
	if (*c || strlen(v) > 32) {
		perr(p,
		    "channel must be a short lower-case name such as whatsapp, sms or web, "
		    "not \"%s\"",
		    v);
		v = "xmpp"; /* reported here: not again as missing */
	}
	set_str(&p->domain->channel, v);
}

static const struct key {
	enum section section;
	const char *name;
	setter set;
	int list; /* may be given on several lines, which add up: lines stay short */
} keys[] = {
	{ SEC_COMPONENT, "jid", set_jid, 0 },
	{ SEC_COMPONENT, "host", set_host, 1 },
	{ SEC_COMPONENT, "port", set_port, 0 },
	{ SEC_COMPONENT, "secret", set_secret, 0 },
	{ SEC_COMPONENT, "max_body", set_max_body, 0 },
	{ SEC_STORAGE, "database", set_database, 0 },
	{ SEC_STORAGE, "synchronous", set_synchronous, 0 },
	{ SEC_ADMIN, "jids", set_admins, 1 },
	{ SEC_ADMIN, "supervisors", set_supervisors, 1 },
	{ SEC_ADMIN, "monitor_notice", set_monitor_notice, 0 },
	{ SEC_ADMIN, "alert_cooldown", set_alert_cooldown, 0 },
	{ SEC_ADMIN, "command_timeout", set_command_timeout, 0 },
	{ SEC_ADMIN, "max_sessions_per_jid", set_sessions_per_jid, 0 },
	{ SEC_ROUTING, "agent_grace", set_agent_grace, 0 },
	{ SEC_ROUTING, "max_no_answer", set_max_no_answer, 0 },
	{ SEC_ROUTING, "reject_delay", set_reject_delay, 0 },
	{ SEC_ROUTING, "subscribe_retry", set_subscribe_retry, 0 },
	{ SEC_ROUTING, "presence_check", set_presence_check, 0 },
	{ SEC_CRM, "default_country", set_default_country, 0 },
	{ SEC_CRM, "hook", set_hook, 0 },
	{ SEC_CRM, "hook_timeout", set_hook_timeout, 0 },
	{ SEC_CRM, "hook_retries", set_hook_retries, 0 },
	{ SEC_CRM, "retention_days", set_retention_days, 0 },
	{ SEC_CRM, "fcr_days", set_fcr_days, 0 },
	{ SEC_DOMAIN, "channel", set_channel, 0 },
	{ SEC_AGENT, "capacity", set_capacity, 0 },
	{ SEC_AGENT, "email", set_email, 0 },
	{ SEC_PERSON, "jid", set_person_jid, 0 },
	{ SEC_PERSON, "email", set_email, 0 },
	{ SEC_MAIL, "sendmail", set_sendmail, 0 },
	{ SEC_MAIL, "from", set_mail_from, 0 },
	{ SEC_MAIL, "reply_to", set_reply_to, 0 },
	{ SEC_MAIL, "timeout", set_mail_timeout, 0 },
	{ SEC_MAIL, "retries", set_mail_retries, 0 },
	{ SEC_MAIL, "handoff_mail", set_handoff_mail, 0 },
	{ SEC_QUEUE, "transcript", set_transcript, 0 },
	{ SEC_QUEUE, "transcript_question", set_transcript_question, 0 },
	{ SEC_QUEUE, "transcript_yes_text", set_transcript_yes, 0 },
	{ SEC_QUEUE, "transcript_no_text", set_transcript_no, 0 },
	{ SEC_AGENT, "name", set_agent_name, 0 },
	{ SEC_QUEUE, "name", set_q_name, 0 },
	{ SEC_QUEUE, "agents", set_agents, 1 },
	{ SEC_QUEUE, "timezone", set_timezone, 0 },
	{ SEC_QUEUE, "language", set_language, 0 },
	{ SEC_QUEUE, "topics", set_topics, 1 },
	{ SEC_QUEUE, "greeting", set_greeting, 0 },
	{ SEC_QUEUE, "queued_text", set_queued, 0 },
	{ SEC_QUEUE, "assigned_text", set_assigned, 0 },
	{ SEC_QUEUE, "closed_text", set_closed, 0 },
	{ SEC_QUEUE, "offline_text", set_offline, 0 },
	{ SEC_QUEUE, "reasons", set_reasons, 0 },
	{ SEC_QUEUE, "return_to_last_agent", set_prefer_last, 0 },
	{ SEC_QUEUE, "max_wait_text", set_max_wait_text, 0 },
	{ SEC_QUEUE, "strategy", set_strategy, 0 },
	{ SEC_QUEUE, "mode", set_mode, 0 },
	{ SEC_QUEUE, "capacity", set_q_capacity, 0 },
	{ SEC_QUEUE, "tier_wait", set_tier_wait, 0 },
	{ SEC_QUEUE, "offer_timeout", set_offer_timeout, 0 },
	{ SEC_QUEUE, "max_wait", set_max_wait, 0 },
	{ SEC_QUEUE, "alert_wait", set_alert_wait, 0 },
	{ SEC_QUEUE, "overflow", set_overflow, 0 },
	{ SEC_QUEUE, "overflow_wait", set_overflow_wait, 0 },
	{ SEC_QUEUE, "closed_overflow", set_closed_overflow, 0 },
	{ SEC_QUEUE, "wrap_up", set_wrap_up, 0 },
	{ SEC_QUEUE, "idle_close", set_idle_close, 0 },
	{ SEC_QUEUE, "customer_grace", set_customer_grace, 0 },
	{ SEC_QUEUE, "notice_interval", set_notice_interval, 0 },
	{ SEC_QUEUE, "hours", set_hours, 0 },
	{ SEC_QUEUE, "closed", set_closed_dates, 0 },
	{ SEC_QUEUE, "max_queue", set_max_queue, 0 },
	{ SEC_QUEUE, "max_queue_text", set_max_queue_text, 0 },
	{ SEC_QUEUE, "rating", set_rating, 0 },
	{ SEC_QUEUE, "rating_window", set_rating_window, 0 },
	{ SEC_QUEUE, "rating_text", set_rating_text, 0 },
	{ SEC_QUEUE, "rating_thanks_text", set_rating_thanks_text, 0 },
	{ SEC_QUEUE, "rating_low_text", set_rating_low_text, 0 },
	{ SEC_QUEUE, "rating_retry_text", set_rating_retry_text, 0 },
	{ SEC_QUEUE, "rating_late_text", set_rating_late_text, 0 },
	{ SEC_QUEUE, "call_url", set_call_url, 0 },
	{ SEC_QUEUE, "call_text", set_call_text, 0 },
	{ SEC_LIMITS, "max_open_per_customer", set_max_open, 0 },
	{ SEC_LIMITS, "open_burst", set_open_burst, 0 },
	{ SEC_LIMITS, "opens_per_minute", set_opens_per_minute, 0 },
	{ SEC_LIMITS, "message_burst", set_message_burst, 0 },
	{ SEC_LIMITS, "messages_per_minute", set_messages_per_minute, 0 },
	{ SEC_METRICS, "file", set_metrics_file, 0 },
	{ SEC_METRICS, "interval", set_metrics_interval, 0 },
};

static const char *const section_names[] = {
	[SEC_COMPONENT] = "component",
	[SEC_STORAGE] = "storage",
	[SEC_ADMIN] = "admin",
	[SEC_ROUTING] = "routing",
	[SEC_CRM] = "crm",
	[SEC_AGENT] = "agent",
	[SEC_QUEUE] = "queue",
	[SEC_DOMAIN] = "domain",
	[SEC_LIMITS] = "limits",
	[SEC_METRICS] = "metrics",
	[SEC_MAIL] = "mail",
	[SEC_PERSON] = "person",
};

static void
begin_queue(struct parser *p, const char *name)
{
	struct config *c = p->conf;
	struct queue *q;

	if (!valid_queue_name(name)) {
		perr(p,
		    "bad queue name \"%s\": lower-case letters, digits, '.', '_', '-' "
		    "(and not c-<number>, which names conversations)",
		    name);
		return;
	}
	if (map_get(c->queue_map, name)) {
		perr(p, "queue %s is defined twice", name);
		return;
	}
	q = config_queue_alloc(name);
	map_put(c->queue_map, q->name, q);
	*c->queues_tail = q;
	c->queues_tail = &q->next;
	p->queue = q;
}

/* new queue with the defaults, must be config_queue_free()d */
struct queue *
config_queue_alloc(const char *name)
{
	struct queue *q = xcalloc(1, sizeof(*q));

	q->name = xstrdup(name);
	q->hours = xcalloc(1, sizeof(*q->hours));
	q->tier_wait = 30;
	q->offer_timeout = 20;
	q->max_wait = 300;
	q->overflow_wait = 120;
	q->idle_close = 1800;
	q->customer_grace = 120;
	q->notice_interval = 60;
	q->prefer_last = 1;
	q->max_queue = 200;
	q->rating_window = 600;
	TAILQ_INIT(&q->waiting);
	TAILQ_INIT(&q->offline);
	LIST_INIT(&q->members);
	return q;
}

static int
named(enum section s)
{
	return s == SEC_QUEUE || s == SEC_AGENT || s == SEC_DOMAIN || s == SEC_PERSON;
}

/* [domain NAME]: customers whose JIDs are on NAME (a gateway, the web widget's host). */
static void
begin_domain(struct parser *p, const char *name)
{
	struct config *c = p->conf;
	char *folded = jid_fold(name);
	struct domain *d;

	if (!valid_domain(folded)) {
		perr(p, "bad domain \"%s\"", name);
		free(folded);
		return;
	}
	if (map_get(c->domain_map, folded)) {
		perr(p, "domain %s is defined twice", folded);
		free(folded);
		return;
	}
	d = xcalloc(1, sizeof(*d));
	d->name = folded;
	d->next = c->domains;
	c->domains = d;
	map_put(c->domain_map, d->name, d);
	p->domain = d;
}

/* [person NAME]: a name such as sales-anna, for /handoff NAME. */
static void
begin_person(struct parser *p, const char *name)
{
	struct person *x;

	if (!config_queue_name_ok(name)) {
		perr(p, "bad person name \"%s\": lower-case letters, digits, '.', '_', '-'", name);
		return;
	}
	for (x = p->conf->people; x; x = x->next)
		if (strcmp(x->name, name) == 0) {
			perr(p, "person %s is defined twice", name);
			return;
		}
	x = xcalloc(1, sizeof(*x));
	x->name = xstrdup(name);
	x->next = p->conf->people;
	p->conf->people = x;
	p->person = x;
}

static void
begin_section(struct parser *p, char *s)
{
	char *arg = s + strcspn(s, " \t");
	size_t i;

	if (*arg) {
		*arg++ = '\0';
		str_trim(arg);
	}
	p->section = SEC_NONE;
	p->queue = NULL;
	p->agent = NULL;
	p->domain = NULL;
	p->person = NULL;
	p->skip = 1;
	for (i = 1; i < sizeof(section_names) / sizeof(section_names[0]); i++)
		if (strcmp(s, section_names[i]) == 0)
			p->section = (enum section)i;
	if (p->section == SEC_NONE) {
		perr(p, "unknown section [%s]", s);
		return;
	}
	if (named(p->section) && *arg == '\0') {
		perr(p, "[%s] needs a name, as in [%s]", s,
		    p->section == SEC_QUEUE        ? "queue support"
		        : p->section == SEC_AGENT  ? "agent alice@example.com"
		        : p->section == SEC_PERSON ? "person sales-anna"
		                                   : "domain whatsapp.example.com");
		p->section = SEC_NONE;
		return;
	}
	if (!named(p->section) && *arg) {
		perr(p, "[%s] takes no name", s);
		return;
	}
	p->skip = 0;
	if (p->section == SEC_QUEUE)
		begin_queue(p, arg);
	else if (p->section == SEC_AGENT) {
		if (!jid_valid_bare(arg))
			perr(p, "not a bare JID: %s", arg);
		else
			p->agent = agent_get(p->conf, arg);
	} else if (p->section == SEC_DOMAIN)
		begin_domain(p, arg);
	else if (p->section == SEC_PERSON)
		begin_person(p, arg);
	else if (p->section == SEC_MAIL)
		p->mail = 1;
}

/* A queue's or an unnamed section's settings as written: a reload compares them. */
static void
written(struct parser *p, const char *key, const char *value)
{
	char **dst, *t;

	if (p->section == SEC_QUEUE && strcmp(key, "agents") == 0)
		return; /* memberships are compared one by one */
	if (p->section == SEC_QUEUE)
		dst = &p->queue->written;
	else if (!named(p->section))
		dst = &p->conf->written[p->section];
	else
		return;
	t = xasprintf("%s%s=%s\n", *dst ? *dst : "", key, value);
	free(*dst);
	*dst = t;
}

static int
seen_before(struct parser *p, const char *key)
{
	void *owner = p->queue ? (void *)p->queue
	    : p->agent         ? (void *)p->agent
	    : p->person        ? (void *)p->person
	                       : (void *)p->domain;
	char *k = xasprintf("%p\n%d\n%s", owner, (int)p->section, key);

	if (map_get(p->seen, k)) {
		free(k);
		return 1;
	}
	p->seenkeys = xrealloc(p->seenkeys, (p->nseen + 1) * sizeof(*p->seenkeys));
	p->seenkeys[p->nseen++] = k;
	map_put(p->seen, k, k);
	return 0;
}

static void
set_key(struct parser *p, char *key, char *value)
{
	size_t i, n = strlen(value);

	if (p->skip)
		return;
	if (p->section == SEC_NONE) {
		perr(p, "%s = ... outside of any section", key);
		return;
	}
	if ((p->section == SEC_QUEUE && p->queue == NULL) ||
	    (p->section == SEC_AGENT && p->agent == NULL) ||
	    (p->section == SEC_DOMAIN && p->domain == NULL) ||
	    (p->section == SEC_PERSON && p->person == NULL))
		return; /* its section header was already reported */
	if (n >= 2 && value[0] == '"' && value[n - 1] == '"') {
		value[n - 1] = '\0';
		value++;
	} else if (n >= 1 && value[0] == '"') {
		perr(p, "%s: the quote is not closed (a value in quotes ends with \")", key);
		return;
	}
	if (p->section == SEC_QUEUE && strncmp(key, "text.", 5) == 0) {
		if (seen_before(p, key))
			perr(p, "%s is set twice in this section", key);
		else if (*value == '\0')
			perr(p, "%s has no value", key);
		else {
			set_text(p, key + 5, value);
			written(p, key, value);
		}
		return;
	}
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (keys[i].section == p->section && strcmp(keys[i].name, key) == 0)
			break;
	if (i == sizeof(keys) / sizeof(keys[0])) {
		perr(p, "unknown key \"%s\" in [%s]", key, section_names[p->section]);
		return;
	}
	if (!keys[i].list && seen_before(p, key)) {
		perr(p, "%s is set twice in this section", key);
		return;
	}
	if (*value == '\0') {
		perr(p, "%s has no value", key);
		return;
	}
	keys[i].set(p, value);
	written(p, key, value);
}

/*
 * Strips a comment that starts a line or follows white space, so "a;b" stays whole,
 * and never inside double quotes.
 */
static void
strip_comment(char *s)
{
	int quoted = 0;
	char *c;

	for (c = s; *c; c++) {
		if (*c == '"')
			quoted = !quoted;
		else if (!quoted && (*c == ';' || *c == '#') &&
		    (c == s || isspace((unsigned char)c[-1]))) {
			*c = '\0';
			return;
		}
	}
}

/*
 * What a line must be before it is parsed: no NUL (a binary file), no control character,
 * valid UTF-8 (a file saved as Latin-1 would send broken text to every customer), not overlong.
 * 0, or -1 when it is reported.
 */
static int
check_line(struct parser *p, const char *s, size_t len)
{
	size_t i;

	if (len > CONFIG_LINE_MAX) {
		perr(p, "line longer than %d bytes", CONFIG_LINE_MAX);
		return -1;
	}
	if (strlen(s) != len) {
		perr(p, "a NUL byte: this is not a text file");
		return -1;
	}
	for (i = 0; i < len; i++)
		if (((unsigned char)s[i] < 0x20 && !strchr("\t\r\n", s[i])) || s[i] == 0x7f) {
			perr(p, "a control character (byte 0x%02x)", (unsigned char)s[i]);
			return -1;
		}
	if (!utf8_valid(s, len)) {
		perr(p, "not valid UTF-8 (save the file as UTF-8)");
		return -1;
	}
	return 0;
}

static void
parse_line(struct parser *p, char *s)
{
	char *eq, *end;

	strip_comment(s);
	str_trim(s);
	if (*s == '\0')
		return;
	if (*s == '[') {
		if ((end = strchr(s, ']')) == NULL || end[1] != '\0') {
			perr(p, "a section header looks like [name]");
			p->section = SEC_NONE;
			p->skip = 1;
			return;
		}
		*end = '\0';
		s++;
		str_trim(s);
		begin_section(p, s);
		return;
	}
	if ((eq = strchr(s, '=')) == NULL) {
		perr(p, "expected key = value");
		return;
	}
	*eq = '\0';
	str_trim(s);
	str_trim(eq + 1);
	set_key(p, s, eq + 1);
}

/* [mail] needs a from; [person] needs a jid or an email. */
static void
finish_mail(struct parser *p)
{
	struct config *c = p->conf;
	struct person *x;

	if (p->mail && c->mail_from == NULL)
		fprintf(p->err, "%s: [mail] from is missing\n", p->file), p->errors++;
	if (c->mail_from && c->sendmail == NULL) {
		char *argv[] = { "/usr/sbin/sendmail", "-t", "-i", NULL };
		size_t i;

		c->sendmail = xcalloc(4, sizeof(*c->sendmail));
		for (i = 0; argv[i]; i++)
			c->sendmail[i] = xstrdup(argv[i]);
	}
	for (x = c->people; x; x = x->next)
		if (x->jid == NULL && x->email == NULL)
			fprintf(p->err, "%s: [person %s] needs a jid or an email\n", p->file,
			    x->name),
			    p->errors++;
}

static struct queue *
overflow_target(struct parser *p, struct queue *q, const char *name, int line, const char *key)
{
	struct queue *to;

	if (name == NULL)
		return NULL;
	p->line = line;
	if ((to = map_get(p->conf->queue_map, name)) == NULL)
		perr(p, "%s: no queue %s in this file", key, name);
	else if (to == q)
		perr(p, "%s: queue %s cannot overflow into itself", key, name);
	else
		return to;
	return NULL;
}

/* 1 when following overflow links from q comes back to a queue on the path. */
static int
overflow_cycle(struct queue *q)
{
	int found = 0;

	if (q == NULL || q->visit == 2)
		return 0;
	if (q->visit == 1)
		return 1;
	q->visit = 1;
	found = overflow_cycle(q->overflow) || overflow_cycle(q->closed_overflow);
	q->visit = found ? 1 : 2;
	return found;
}

/* overflow and closed_overflow name queues of this file, and never lead back round. */
static void
finish_overflow(struct parser *p)
{
	struct queue *q, *r;

	for (q = p->conf->queues; q; q = q->next) {
		q->overflow = overflow_target(p, q, q->overflow_name, q->overflow_line, "overflow");
		q->closed_overflow = overflow_target(p, q, q->closed_overflow_name,
		    q->closed_overflow_line, "closed_overflow");
	}
	for (q = p->conf->queues; q; q = q->next) {
		for (r = p->conf->queues; r; r = r->next)
			r->visit = 0;
		if ((q->overflow || q->closed_overflow) && overflow_cycle(q)) {
			p->line = q->overflow ? q->overflow_line : q->closed_overflow_line;
			perr(p, "queue %s: overflow and closed_overflow lead back round to it",
			    q->name);
			break; /* one cycle is one error */
		}
	}
	p->line = 0;
}

/* Settings that depend on others, and what every desk needs. */
static void
finish(struct parser *p)
{
	struct config *c = p->conf;
	struct domain *d;
	struct queue *q;
	size_t i;

	p->line = 0;
	if (c->jid == NULL && !p->jid_given)
		fprintf(p->err, "%s: [component] jid is missing\n", p->file), p->errors++;
	if (c->secret == NULL)
		fprintf(p->err, "%s: [component] secret is missing\n", p->file), p->errors++;
	if (c->database == NULL)
		c->database = xstrdup(LOCALSTATEDIR "/lib/respa/respa.db");
	for (d = c->domains; d; d = d->next)
		if (d->channel == NULL)
			fprintf(p->err, "%s: [domain %s] needs a channel\n", p->file, d->name),
			    p->errors++;
	for (q = c->queues; q && c->jid; q = q->next)
		config_queue_finish(c, q);
	finish_overflow(p);
	finish_mail(p);
	if (c->nservers == 0) {
		c->servers = xcalloc(1, sizeof(*c->servers));
		c->servers[0].host = xstrdup(c->host);
		c->nservers = 1;
	}
	for (i = 0; i < c->nservers; i++) {
		struct server *sv = &c->servers[i];

		if (sv->port == 0)
			sv->port = c->port;
		sv->name =
		    xasprintf(strchr(sv->host, ':') ? "[%s]:%d" : "%s:%d", sv->host, sv->port);
	}
}

/* The queue's address, and the default of every text not set. */
void
config_queue_finish(const struct config *c, struct queue *q)
{
	if (q->jid == NULL)
		q->jid = xasprintf("%s@%s", q->name, c->jid);
	if (q->title == NULL)
		q->title = xstrdup(q->name);
	if (q->timezone == NULL)
		q->timezone = xstrdup("UTC");
	if (q->greeting == NULL)
		q->greeting = texts_fill(texts_get(q->lang, T_GREETING), TEXT_ARGS(q->title));
	if (q->queued_text == NULL)
		q->queued_text = xstrdup(texts_get(q->lang, T_QUEUED));
	if (q->assigned_text == NULL)
		q->assigned_text = xstrdup(texts_get(q->lang, T_ASSIGNED));
	if (q->closed_text == NULL)
		q->closed_text = xstrdup(texts_get(q->lang, T_CLOSED));
	if (q->offline_text == NULL)
		q->offline_text = texts_fill(texts_get(q->lang, T_OFFLINE), TEXT_ARGS(q->title));
	if (q->max_wait_text == NULL)
		q->max_wait_text = xstrdup(texts_get(q->lang, T_MAX_WAIT));
	if (q->transcript_question == NULL)
		q->transcript_question = xstrdup(texts_get(q->lang, T_TRANSCRIPT_QUESTION));
	if (q->transcript_yes_text == NULL)
		q->transcript_yes_text = xstrdup(texts_get(q->lang, T_TRANSCRIPT_YES));
	if (q->transcript_no_text == NULL)
		q->transcript_no_text = xstrdup(texts_get(q->lang, T_TRANSCRIPT_NO));
	if (q->rating_text == NULL)
		q->rating_text = xstrdup(texts_get(q->lang, T_RATING));
	if (q->rating_thanks_text == NULL)
		q->rating_thanks_text = xstrdup(texts_get(q->lang, T_RATING_THANKS));
	if (q->rating_low_text == NULL)
		q->rating_low_text = xstrdup(texts_get(q->lang, T_RATING_LOW));
	if (q->rating_retry_text == NULL)
		q->rating_retry_text = xstrdup(texts_get(q->lang, T_RATING_RETRY));
	if (q->rating_late_text == NULL)
		q->rating_late_text = xstrdup(texts_get(q->lang, T_RATING_LATE));
	if (q->call_text == NULL)
		q->call_text = xstrdup(texts_get(q->lang, T_CALL));
	if (q->max_queue_text == NULL)
		q->max_queue_text = xstrdup(texts_get(q->lang, T_MAX_QUEUE));
}

/*
 * new string: the queue's text id in its language (or its override), each {N} filled with
 * args[N - 1]; must be free()d
 */
char *
config_text(const struct queue *q, enum text_id id, const char *const *args, int nargs)
{
	const char *t = q->texts[id] ? q->texts[id] : texts_get(q->lang, id);

	return texts_fill(t, args, nargs);
}

/* 1 when q lists topic (the widget's pre-chat form) */
int
config_queue_topic(const struct queue *q, const char *topic)
{
	size_t i;

	for (i = 0; i < q->ntopics; i++)
		if (strcmp(q->topics[i], topic) == 0)
			return 1;
	return 0;
}

/* A file that holds the component secret must be the runner's and private to it. */
static int
check_secrecy(const char *path, FILE *f, FILE *err)
{
	struct stat sb;

	if (fstat(fileno(f), &sb) == -1) {
		fprintf(err, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	if (sb.st_uid != 0 && sb.st_uid != geteuid()) {
		fprintf(err, "%s: holds the component secret but is owned by another user\n", path);
		return -1;
	}
	if (sb.st_mode & (S_IRWXG | S_IRWXO)) {
		fprintf(err,
		    "%s: holds the component secret but other users can read it "
		    "(chmod 600 %s)\n",
		    path, path);
		return -1;
	}
	return 0;
}

/*
 * Opens the file without blocking (a FIFO would hang "respa -n") and only when it is a
 * regular file: /dev/zero would be read for ever.
 */
static FILE *
config_open(const char *path, FILE *err)
{
	struct stat sb;
	FILE *f;
	int fd, bad;

	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) == -1) {
		fprintf(err, "%s: %s\n", path, strerror(errno));
		return NULL;
	}
	bad = fstat(fd, &sb) == -1 ? errno : 0;
	if (bad || !S_ISREG(sb.st_mode)) {
		fprintf(err, "%s: %s\n", path, bad ? strerror(bad) : "not a regular file");
		close(fd);
		return NULL;
	}
	if (fcntl(fd, F_SETFL, 0) == -1 || (f = fdopen(fd, "r")) == NULL) {
		fprintf(err, "%s: %s\n", path, strerror(errno));
		close(fd);
		return NULL;
	}
	return f;
}

struct config *
config_load(const char *path, FILE *err)
{
	struct config *c = config_parse(path, err);

	if (c)
		loaded = c;
	return c;
}

const char *
config_section_name(int section)
{
	return section > SEC_NONE && section < SEC_COUNT ? section_names[section] : NULL;
}

/* Checked, and not yet what the lookups read: a reload compares it with the running one. */
struct config *
config_parse(const char *path, FILE *err)
{
	struct parser p;
	char *line = NULL;
	size_t cap = 0;
	size_t i;
	ssize_t len;
	FILE *f;

	if ((f = config_open(path, err)) == NULL)
		return NULL;
	memset(&p, 0, sizeof(p));
	p.conf = xcalloc(1, sizeof(*p.conf));
	p.conf->path = xstrdup(path);
	p.conf->host = xstrdup("127.0.0.1");
	p.conf->port = 5347;
	p.conf->max_body = DEFAULT_MAX_BODY;
	p.conf->agent_grace = 60;
	p.conf->max_no_answer = 3;
	p.conf->reject_delay = 20;
	p.conf->subscribe_retry = 300;
	p.conf->presence_check = 300;
	p.conf->hook_timeout = 30;
	p.conf->metrics_interval = 15;
	p.conf->hook_retries = 10;
	p.conf->mail_timeout = 60;
	p.conf->mail_retries = 30; /* past a day and a half of hourly retries */
	p.conf->fcr_days = 7;
	p.conf->command_timeout = 600;
	p.conf->monitor_notice = 1;
	p.conf->alert_cooldown = 600;
	p.conf->max_sessions_per_jid = 8;
	p.conf->max_open_per_customer = 3;
	p.conf->open_burst = 5;
	p.conf->opens_per_minute = 6;
	p.conf->message_burst = 30;
	p.conf->messages_per_minute = 300;
	p.conf->agent_map = map_new();
	p.conf->agents_tail = &p.conf->agents;
	p.conf->queues_tail = &p.conf->queues;
	p.conf->queue_map = map_new();
	p.conf->domain_map = map_new();
	p.file = path;
	p.err = err;
	p.seen = map_new();
	while ((len = getline(&line, &cap, f)) != -1) {
		p.line++;
		if (check_line(&p, line, (size_t)len) == 0)
			parse_line(&p, line);
		else if (strlen(line) != (size_t)len)
			break; /* a binary file: one error is enough */
	}
	free(line);
	finish(&p);
	if (p.errors == 0 && p.conf->secret && check_secrecy(path, f, err) == -1)
		p.errors++;
	fclose(f);
	for (i = 0; i < p.nseen; i++)
		free(p.seenkeys[i]);
	free(p.seenkeys);
	map_free(p.seen);
	if (p.errors) {
		config_free(p.conf);
		return NULL;
	}
	return p.conf;
}

const struct person *
config_person(const char *who)
{
	const struct person *x;

	for (x = loaded ? loaded->people : NULL; x; x = x->next)
		if (strcmp(x->name, who) == 0 || (x->jid && strcasecmp(x->jid, who) == 0) ||
		    (x->email && strcasecmp(x->email, who) == 0))
			return x;
	return NULL;
}

struct queue *
config_queue(const char *name)
{
	return map_get(loaded->queue_map, name);
}

struct queue *
config_queues(void)
{
	return loaded->queues;
}

struct agent *
config_agent_find(const char *bare)
{
	return map_get(loaded->agent_map, bare);
}

int
config_is_admin(const struct config *c, const char *bare)
{
	size_t i;

	for (i = 0; i < c->nadmins; i++)
		if (strcmp(c->admins[i], bare) == 0)
			return 1;
	return 0;
}

/* Admins are supervisors too. */
int
config_is_supervisor(const struct config *c, const char *bare)
{
	size_t i;

	for (i = 0; i < c->nsupervisors; i++)
		if (strcmp(c->supervisors[i], bare) == 0)
			return 1;
	return config_is_admin(c, bare);
}

void
config_queue_free(struct queue *q)
{
	size_t i;

	free(q->name);
	free(q->jid);
	free(q->title);
	free(q->timezone);
	free(q->greeting);
	free(q->queued_text);
	free(q->assigned_text);
	free(q->closed_text);
	free(q->offline_text);
	free(q->reasons);
	free(q->max_wait_text);
	free(q->overflow_name);
	free(q->closed_overflow_name);
	free(q->max_queue_text);
	free(q->transcript_question);
	free(q->transcript_yes_text);
	free(q->transcript_no_text);
	free(q->rating_text);
	free(q->rating_thanks_text);
	free(q->rating_low_text);
	free(q->rating_retry_text);
	free(q->rating_late_text);
	free(q->call_url);
	free(q->call_text);
	free(q->hours_text);
	free(q->closed_dates);
	free(q->written);
	for (i = 0; i < T_COUNT; i++)
		free(q->texts[i]);
	for (i = 0; i < q->ntopics; i++)
		free(q->topics[i]);
	free(q->topics);
	hours_free(q->hours);
	free(q->hours);
	free(q);
}

void
config_agent_free(struct agent *a)
{
	struct member *m, *mn;
	struct resource *r, *rn;

	free(a->pause_reason);
	free(a->name);
	for (m = a->members; m; m = mn) {
		mn = m->next_of_agent;
		free(m);
	}
	for (r = a->resources; r; r = rn) {
		rn = r->next;
		free(r->name);
		free(r);
	}
	free(a->jid);
	free(a->email);
	free(a);
}

void
config_free(struct config *c)
{
	struct queue *q, *qn;
	struct agent *a, *an;
	struct domain *d, *dn;
	struct person *x, *xn;
	size_t i;

	if (c == NULL)
		return;
	for (x = c->people; x; x = xn) {
		xn = x->next;
		free(x->name);
		free(x->jid);
		free(x->email);
		free(x);
	}
	free_words(c->sendmail);
	free(c->mail_from);
	free(c->mail_from_name);
	free(c->mail_reply_to);
	if (c == loaded)
		loaded = NULL;
	for (q = c->queues; q; q = qn) {
		qn = q->next;
		config_queue_free(q);
	}
	for (a = c->agents; a; a = an) {
		an = a->next;
		config_agent_free(a);
	}
	for (i = 0; i < c->nadmins; i++)
		free(c->admins[i]);
	free(c->admins);
	for (i = 0; i < c->nsupervisors; i++)
		free(c->supervisors[i]);
	free(c->supervisors);
	for (d = c->domains; d; d = dn) {
		dn = d->next;
		free(d->name);
		free(d->channel);
		free(d);
	}
	map_free(c->agent_map);
	map_free(c->queue_map);
	map_free(c->domain_map);
	free(c->default_country);
	free_words(c->hook);
	free(c->path);
	free(c->jid);
	free(c->host);
	servers_free(c);
	free(c->secret);
	free(c->database);
	free(c->metrics_file);
	for (i = 0; i < CONFIG_SECTIONS; i++)
		free(c->written[i]);
	free(c);
}
