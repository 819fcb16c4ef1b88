/*
 * respa: an XMPP external component (XEP-0114) that routes customer chats to agents.
 *
 * One shared header. Data flows one way:
 *   component.c (link, dispatch)  ->  presence.c / conversation.c / iq.c
 *   -> router.c (who takes which chat) -> store.c (the only SQL) -> stanza.c (every outgoing stanza)
 *
 * Layers: a file calls into its own layer or lower ones, never up, and only the layer that says
 * so calls round in a circle. Registration goes down instead: main.c hands component.c the
 * handlers stanzas go to and adhoc.c the commands. scripts/check-layers checks it (tests/run).
 *
 *   7  main.c export.c                  entry points
 *   6  iq.c adhoc.c commands.c desk.c   what admins and agents ask for over iq
 *   5  presence.c router.c queue.c conversation.c chatcmd.c   the routing core: one cycle
 *   4  tasks.c hook.c care.c limits.c   work that outlives a chat; what a customer may do
 *   3  stanza.c relay.c component.c twin.c   the wire: build, map, send; one respa per link
 *   2  config.c store*.c                the configuration and its lookups; all SQL
 *   1  slash.c due.c hours.c forms.c crm.c   pure parsers and rules: no I/O
 *   0  util.c log.c map.c heap.c timer.c   leaves
 */
#ifndef RESPA_H
#define RESPA_H

#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/queue.h>
#include <time.h>

#include <strophe.h>

#define RESPA_NAME "respa"

#define NS_DISCO_INFO "http://jabber.org/protocol/disco#info"
#define NS_DISCO_ITEMS "http://jabber.org/protocol/disco#items"
#define NS_PING "urn:xmpp:ping"
#define NS_VERSION "jabber:iq:version"
#define NS_DELAY "urn:xmpp:delay"
#define NS_STANZAS "urn:ietf:params:xml:ns:xmpp-stanzas"
#define NS_VISITOR "urn:respa:visitor:0"
#define NS_TWIN "urn:respa:twin:0"
#define NS_COMMANDS "http://jabber.org/protocol/commands"
#define NS_DATA "jabber:x:data"

#define DEFAULT_CAPACITY 3
#define DEFAULT_MAX_BODY 10000
#define CONFIG_LINE_MAX 4096 /* bytes in one line of respa.conf, its end included */

/* A presence <show/>, ordered from least to most available. */
enum show { SHOW_OFFLINE, SHOW_DND, SHOW_XA, SHOW_AWAY, SHOW_AVAILABLE, SHOW_CHAT };

/* heap.c: a binary heap of pointers; each element holds its index + 1 at slot_off (0: out). */
struct heap {
	void **v;
	size_t n, cap;
	int (*before)(const void *, const void *); /* 1 when a comes first */
	size_t slot_off;
};

/* A deadline owned by some struct; timer.c keeps them in one heap. */
struct timer {
	int64_t at;   /* milliseconds since the epoch */
	uint64_t seq; /* equal deadlines fire in the order they were set */
	size_t slot;  /* heap index + 1; 0 while not armed */
	void (*fn)(void *);
	void *arg;
};

/* One online resource of an agent. */
struct resource {
	char *name;
	enum show show;
	struct resource *next;
};

enum strategy {
	STRATEGY_LONGEST_IDLE,
	STRATEGY_LEAST_BUSY,
	STRATEGY_ROUND_ROBIN,
	STRATEGY_RING_ALL
};
enum mode { MODE_AUTO, MODE_OFFER };

/* An agent's place in one queue; in the queue's ready heap of its tier while it can take a chat. */
struct member {
	struct agent *agent;
	struct queue *queue;
	int tier;           /* 1 first; tier k is offered after (k - 1) * tier_wait of waiting */
	size_t slot;        /* index + 1 in queue->ready[tier - 1], 0 while not ready */
	uint64_t turn;      /* round-robin: when it last got a chat of this queue */
	unsigned told_open; /* the queue opening it was told about (offline contacts) */
	struct member *next_of_agent;
	LIST_ENTRY(member) queue_link; /* in queue->members */
};

/* A chat offered to one agent, who answers, rejects or lets it time out. */
struct offer {
	struct conv *conv;
	struct agent *agent;
	struct timer timer;
	struct offer *next_of_conv, *next_of_agent;
};

TAILQ_HEAD(conv_line, conv);

struct agent {
	char *jid; /* bare */
	int capacity;
	int chats;      /* open conversations assigned to it */
	int offers;     /* offers waiting for its answer: each holds a slot */
	enum show show; /* best over all resources */
	int paused;     /* by hand or after missed offers; survives what the client says */
	char *pause_reason;
	int missed;          /* offers missed in a row */
	uint64_t idle_since; /* longest-idle order: when its load last changed */
	int64_t wrap_until;  /* ms: whole seconds would cut wrap-up short */
	struct timer wrap_timer, grace_timer;
	struct conv_line convs; /* its active conversations */
	struct offer *offer_list;
	struct resource *resources;
	struct member *members;
	int managed;        /* created by an ad-hoc command and kept in SQLite, not respa.conf */
	int heard;          /* a resource or an approval came from it: it shares its presence */
	int64_t asked_at;   /* ms: when its writing last made us ask again */
	struct agent *next; /* config order */
};

enum conv_state { CONV_QUEUED, CONV_OFFERED, CONV_ACTIVE, CONV_OFFLINE, CONV_CLOSED };

/* An agent that rejected or missed a chat is not offered it again for a while. */
struct exclusion {
	struct agent *agent;
	int64_t until; /* ms */
};
#define CONV_EXCLUSIONS 4
#define CONV_HOLDS 3

struct conv {
	int64_t id;
	char node[24];  /* c-<id>, the local part of addr */
	char *addr;     /* c-<id>@component: the agent's side of the chat */
	char *customer; /* full JID the customer last wrote from: replies go there */
	char *key;      /* entry queue name + session or bare JID: finds the open conversation */
	char *jid_key;  /* entry queue name + customer: finds it by the JID replies go to */
	struct queue *entry; /* the address the customer writes to; replies come from it */
	struct queue *queue; /* where it is routed: the entry queue, or where it was transferred */
	struct agent *agent; /* while active */
	struct agent *preferred; /* the returning customer's last agent, tried first */
	struct offer *offers;
	struct exclusion excl[CONV_EXCLUSIONS];
	int64_t contact_id;
	char *channel;
	enum conv_state state;
	struct relay_ids *ids; /* relay.c: recent message ids of both sides */
	time_t created_at, assigned_at, first_response_at, last_activity;
	int64_t queued_at; /* ms, when it last entered a waiting line (tiers) */
	size_t told_place; /* the place in line the customer was last told */
	time_t told_at;
	int followup;           /* a follow-up task for the queue exists */
	int fresh;              /* its contact was new with it: no history to look up */
	int requeued;           /* goes back to the front of the line */
	time_t left_at;         /* when the customer went offline (the grace runs); 0: there */
	int answered;           /* an agent answered while the customer was there */
	char *matches;          /* "Possible match" lines for the agent, or NULL */
	char *held[CONV_HOLDS]; /* limits.c keys it is counted under (JID, session, visitor) */
	struct timer max_wait_timer, idle_timer, grace_timer;
	TAILQ_ENTRY(conv) wait_link;  /* in queue->waiting, or queue->offline */
	TAILQ_ENTRY(conv) agent_link; /* in agent->convs while active */
};

#define RECENT_WAITS 10

struct queue {
	char *name;  /* local part of the queue address */
	char *jid;   /* name@component */
	char *title; /* shown to people */
	char *timezone;
	char *greeting, *queued_text, *assigned_text, *closed_text, *offline_text, *max_wait_text;
	char *max_queue_text; /* told to a customer who finds the waiting line full */
	int max_queue;        /* most customers waiting in line; 0: no cap */
	enum strategy strategy;
	enum mode mode;
	int capacity; /* 0: each agent's own */
	int tier_wait, offer_timeout, max_wait, wrap_up, idle_close, customer_grace;
	int notice_interval; /* least time between two place-in-line notices */
	int prefer_last;     /* a returning customer goes to their last agent first */
	char *reasons;       /* contact reasons agents pick from, ", " between them; or NULL */
	struct hours *hours;
	char *hours_text, *closed_dates; /* as written, NULL when not set */
	int managed;         /* created by an ad-hoc command and kept in SQLite, not respa.conf */
	int open;            /* within business hours */
	unsigned opening;    /* counts openings: agents are told of offline contacts once each */
	int offline_waiting; /* offline contacts left from the last closed period */
	struct conv_line waiting; /* oldest first */
	struct conv_line offline; /* out-of-hours conversations */
	size_t nwaiting;
	LIST_HEAD(member_list, member) members; /* every member, ready or not */
	struct heap *ready;                     /* of members, one per tier */
	int ntiers;
	time_t recent[RECENT_WAITS]; /* when recent chats left the line: the pace for estimates */
	size_t nrecent;
	struct map *watchers; /* JID -> its own copy: who is shown the queue's presence */
	int shown_show;       /* what watchers were last sent */
	char *shown_status;
	struct timer hours_timer, notice_timer, retry_timer, presence_timer;
	struct queue *next; /* config order */
};

/* [domain NAME]: where customers of a channel come from (a gateway's domain, the widget's). */
struct domain {
	char *name;
	char *channel;
	struct domain *next;
};

struct config {
	char *path;
	char *jid; /* the component's domain */
	char *host;
	int port;
	char *secret;
	size_t max_body;
	char *database;
	int synchronous_full;
	char **admins;
	size_t nadmins;
	int agent_grace, max_no_answer, reject_delay;
	int subscribe_retry;   /* s: agents not heard from are asked for a subscription again */
	int command_timeout;   /* an idle ad-hoc command session ends after this (s) */
	char *default_country; /* calling code for phone numbers written without one */
	char **hook;           /* [crm] hook: the program and its arguments; NULL for none */
	int hook_timeout, hook_retries;
	int retention_days;       /* 0: transcripts are kept forever */
	int max_sessions_per_jid; /* [admin]: ad-hoc sessions one bare JID may hold at once */
	/* [limits] per customer; 0 turns a limit off */
	int max_open_per_customer;
	int open_burst, opens_per_minute;       /* token bucket on opening conversations */
	int message_burst, messages_per_minute; /* token bucket on messages */
	struct domain *domains;
	struct map *domain_map;              /* domain name -> struct domain */
	struct queue *queues, **queues_tail; /* config order; the tail makes appending O(1) */
	struct agent *agents, **agents_tail;
	struct map *agent_map; /* bare JID -> struct agent, shared with presence.c */
	struct map *queue_map; /* queue name -> struct queue */
};

/* util.c */
void *xmalloc(size_t);
void *xcalloc(size_t, size_t);
void *xrealloc(void *, size_t);
char *xstrdup(const char *);
char *xstrndup(const char *, size_t);
/* returns a new string, must be free()d */
char *xasprintf(const char *, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *, va_list) __attribute__((format(printf, 1, 0)));
int jid_valid_bare(const char *);
time_t respa_now(void);
int64_t respa_now_ms(void);
void respa_clock_set(int64_t ms); /* tests: the clock stands at ms; 0 lets it run again */
void time_iso(time_t, char buf[32]);
int time_parse_iso(const char *, time_t *);
int tz_exists(const char *);
int tz_localtime(const char *tz, time_t, struct tm *);
int tz_mktime(const char *tz, struct tm *, time_t *);
char *jid_bare(const char *); /* new string, must be free()d */
int jid_split(const char *jid, char *node, size_t nodelen, char *domain, size_t domainlen);
void str_trim(char *);
const char *str_skip_space(const char *);
/* UTF-8: every cut of a text lands on a character boundary (see util.c) */
int utf8_valid(const char *, size_t len); /* 1: valid UTF-8, only characters XML 1.0 allows */
char *utf8_repair(const char *); /* new string, must be free()d: bad bytes U+FFFD, forbidden go */
/* A growing string: appended to, reused, always NUL-terminated once written to. */
struct text {
	char *s;
	size_t len, cap;
};
void text_reserve(struct text *, size_t more);
void text_put(struct text *, const char *, size_t);
void text_put_xml(struct text *, const char *, size_t); /* repaired and escaped, one pass */
void text_free(struct text *);
size_t utf8_prefix(const char *, size_t max); /* bytes of s, at most max, ending on a boundary */
void str_copy(char *dst, size_t dstlen, const char *src); /* strlcpy, cut on a boundary */
void utf8_trim_end(char *); /* drops a character snprintf() cut short at the end */

/* map.c: string key -> pointer; keys are not copied, they must live as long as the entry */
struct map *map_new(void);
void map_free(struct map *);
void *map_get(const struct map *, const char *key);
void map_put(struct map *, const char *key, void *value);
void *map_del(struct map *, const char *key);
size_t map_count(const struct map *);
void map_foreach(const struct map *, void (*)(const char *, void *, void *), void *arg);

/* limits.c: what one customer may make respa do; each check is one map lookup */
struct bucket {
	int64_t level; /* tokens in 1/60000ths: a per-minute rate refills a whole number per ms */
	int64_t at;    /* ms of the last refill */
};
/* Pure: 1 when a token was taken, 0 when the bucket is empty; per_minute 0: no limit. */
int bucket_take(struct bucket *, int burst, int per_minute, int64_t now_ms);
int bucket_idle(const struct bucket *, int burst, int per_minute, int64_t now_ms);
/* LIMIT_ANSWER: errors for refused messages, so that a flood is not answered by a flood */
enum limit_rate { LIMIT_OPEN, LIMIT_MESSAGE, LIMIT_ANSWER };
void limits_init(struct config *);
void limits_free(void);
int limits_allow(enum limit_rate, const char *bare); /* 1, or 0 when refused */
/* Open conversations counted under a key (a customer's JID, session token, visitor id). */
int limits_count(const char *key);
void limits_hold(const char *key);
void limits_release(const char *key);
size_t limits_tracked(void); /* customers with a bucket: bounded by the sweep */

/* log.c */
void log_init(int verbose, const char *progname);
void log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
const xmpp_log_t *log_strophe(void); /* for xmpp_ctx_new() */

/* config.c */
/* Parses path; on error prints "file:line: message" lines to err and returns NULL. */
struct config *config_load(const char *path, FILE *err);
void config_free(struct config *);
int config_is_admin(const struct config *, const char *bare);
/* A queue with every default but the texts (config_queue_finish() sets those); not linked. */
struct queue *config_queue_alloc(const char *name);
void config_queue_finish(const struct config *, struct queue *);
void config_queue_free(struct queue *);
int config_queue_name_ok(const char *);
/* The agent with this bare JID, created (and linked into the config) when there is none. */
struct agent *config_agent(struct config *, const char *jid);
void config_agent_free(struct agent *);
/* A's membership of q, linked to the agent; NULL when it is a member already. */
struct member *config_member(struct agent *, struct queue *, int tier);
/* a's membership of q, or NULL */
struct member *config_member_find(const struct agent *, const struct queue *);
/* Lookups in the config config_load() returned last (one per process), NULL when none. */
struct queue *config_queue(const char *name);
struct queue *config_queues(void); /* the first, in config order */
struct agent *config_agent_find(const char *bare);
const char *strategy_name(enum strategy);
int strategy_parse(const char *, enum strategy *);

/* component.c: the XEP-0114 link */
void component_init(struct config *, xmpp_ctx_t *);
/* What the link hands incoming stanzas to (main.c sets it: calls go down, never up). */
struct component_handlers {
	xmpp_handler message, presence, iq;
	void (*connected)(void);          /* the stream is up: probe, subscribe */
	void (*sender)(const char *from); /* a message or iq came from this JID */
};
void component_set_handlers(const struct component_handlers *);
void component_start(void);
void component_stop(void);
void component_free(void);
int component_is_connected(void);
int component_is_finished(void);
int component_fatal(void);
xmpp_ctx_t *component_ctx(void);
const char *component_jid(void);
/*
 * Takes the stanza: it is sent after the current batch is durably stored. Text that is not
 * valid UTF-8 or XML is repaired first, with a warning naming the caller.
 */
#define component_send(st) component_send_from((st), __FILE__, __LINE__, __func__)
void component_send_from(xmpp_stanza_t *, const char *file, int line, const char *func);
/* The text of one whole stanza, valid UTF-8 and XML (stanza.c wrote it): sent as above. */
void component_send_text(const char *xml, size_t len);
void component_flush(void);
/* The stanzas queued since the last flush, oldest first (tests: there is no server) */
size_t component_outbox(xmpp_stanza_t *const **list);
void component_abort_pass(void);
/* Stanzas libstrophe holds unsent: the loop stops reading while this is long. */
int component_backlog(void);
/* Waits up to ms for the socket to take more output; 1 when it can (or is gone), 0 not. */
int component_wait_writable(int ms);
unsigned long component_handled(void);

/* twin.c: one respa per component (ejabberd lets a second one connect and splits traffic) */
struct twin_hooks {
	void (*send)(xmpp_stanza_t *); /* takes the stanza, as component_send() */
	void (*passed)(void);  /* no twin: go on (log ready, ask agents, replay what was held) */
	void (*refused)(void); /* a twin: hand back what was held and exit 1 */
};
void twin_init(const char *domain, const struct twin_hooks *);
void twin_free(void);
void twin_start(void);
void twin_stop(void);
int twin_checking(void);
int twin_stanza(xmpp_stanza_t *);

/* stanza.c: every outgoing stanza is built here; each returns a new stanza for component_send() */
void stanza_init(xmpp_ctx_t *, const char *jid); /* component_init() calls it */
xmpp_stanza_t *stanza_message(const char *from, const char *to, const char *body);
xmpp_stanza_t *
stanza_message_delayed(const char *from, const char *to, const char *body, time_t stamp);
xmpp_stanza_t *stanza_presence(const char *from, const char *to, const char *type);
/* A headline carrying <twin/>: twin.c's probe for another respa on the same domain. */
xmpp_stanza_t *stanza_twin_probe(const char *from, const char *to);
xmpp_stanza_t *
stanza_presence_status(const char *from, const char *to, const char *show, const char *status);
xmpp_stanza_t *
stanza_error(xmpp_stanza_t *in, const char *type, const char *condition, const char *text);
xmpp_stanza_t *stanza_result(xmpp_stanza_t *iq);
struct disco_item {
	const char *jid, *name, *node; /* node: NULL for none */
};
xmpp_stanza_t *stanza_disco_info(xmpp_stanza_t *iq, const char *category, const char *type,
    const char *name, const char *const *features);
xmpp_stanza_t *stanza_disco_items(xmpp_stanza_t *iq, const struct disco_item *, size_t);
xmpp_stanza_t *stanza_version(xmpp_stanza_t *iq, const char *name, const char *version);
/* An XEP-0050 command response. */
#define ACTION_PREV 1
#define ACTION_NEXT 2
#define ACTION_COMPLETE 4
struct command_reply {
	const char *node, *sessionid, *status; /* executing, completed, canceled */
	unsigned actions;                      /* ACTION_*, offered while executing */
	const char *execute;                   /* the default action */
	int note_type;                         /* enum note_type */
	const char *note;
	const struct form *form;
};
xmpp_stanza_t *stanza_command(xmpp_stanza_t *iq, const struct command_reply *);
/* An error with an XEP-0050 condition (bad-sessionid...) beside the RFC 6120 one. */
xmpp_stanza_t *stanza_command_error(xmpp_stanza_t *iq, const char *type, const char *condition,
    const char *specific, const char *text);
/* new string, must be free()d; NULL when the stanza has no <body/> */
char *stanza_body(xmpp_stanza_t *);
size_t stanza_body_len(xmpp_stanza_t *);
/* Repairs in place every text and attribute value not valid UTF-8 / XML; how many it did. */
int stanza_repair(xmpp_stanza_t *);
const char *stanza_show(xmpp_stanza_t *presence);
/* The web widget's <visitor/> (NS_VISITOR): its session token and the site's visitor id. */
struct visitor {
	const char *session; /* 16 to 64 of [A-Za-z0-9_-] */
	const char *id;      /* NULL when the site gave none; at most 128 bytes */
};
/* 1 with v filled (pointing into the stanza), or 0 when there is none or it is malformed */
int stanza_visitor(xmpp_stanza_t *, struct visitor *);

/* forms.c: XEP-0004 data forms; pure, errors into the caller's buffer */
enum form_type { FORM_FORM, FORM_SUBMIT, FORM_RESULT, FORM_CANCEL };
enum field_type {
	FIELD_TEXT,
	FIELD_TEXT_MULTI,
	FIELD_TEXT_PRIVATE,
	FIELD_BOOLEAN,
	FIELD_LIST,
	FIELD_LIST_MULTI,
	FIELD_JID,
	FIELD_JID_MULTI,
	FIELD_FIXED,
	FIELD_HIDDEN
};
struct form_option {
	char *value, *label;
};
struct form_field {
	char *var, *label, *desc;
	enum field_type type;
	int required;
	int integer; /* a whole number from min to max */
	long min, max;
	char **values;
	size_t nvalues;
	struct form_option *options;
	size_t noptions;
};
struct form {
	enum form_type type;
	char *title, *instructions;
	struct form_field **fields;
	size_t nfields;
	struct form_option *columns; /* a result table: value is the var, label the heading */
	size_t ncolumns;
	char ***rows; /* nrows rows of ncolumns cells */
	size_t nrows;
};
#define FORM_VALUE_MAX 4096 /* bytes in one submitted value (one line of a multi-line text) */
/* new form, must be form_free()d */
struct form *form_new(enum form_type, const char *title, const char *instructions);
void form_free(struct form *);
struct form_field *form_add(struct form *, const char *var, enum field_type, const char *label);
void form_value(struct form_field *, const char *value);
void form_option(struct form_field *, const char *value, const char *label);
void form_clear(struct form_field *);
struct form_field *form_field(const struct form *, const char *var);
const char *form_get(const struct form *, const char *var); /* the first value, or NULL */
/* new string: the values joined with newlines ("" when none), must be free()d */
char *form_text(const struct form *, const char *var);
int form_bool(const char *value);            /* 1 for "1" or "true" */
const char *form_type_name(enum field_type); /* text-single, boolean... */
void form_column(struct form *, const char *var, const char *label);
void form_row(struct form *, const char *const *cells); /* ncolumns cells, NULL for "" */
/* Reads a submitted <x xmlns='jabber:x:data'/>: a new form, or NULL with err filled. */
struct form *form_parse(xmpp_stanza_t *x, char *err, size_t errlen);
/* Copies what in has for each field of f into f (what the person wrote stays). */
void form_keep(struct form *f, const struct form *in);
/* Checks f's values against its fields (required, lists, booleans, JIDs, numbers). */
int form_check(const struct form *f, char *err, size_t errlen);
int form_same(const struct form *, const struct form *); /* the same values, field by field */

/* iq.c */
int iq_handler(xmpp_conn_t *, xmpp_stanza_t *, void *);

/* adhoc.c: the XEP-0050 engine; commands.c has the commands */
#define ADHOC_MAX_STEPS 3
enum note_type { NOTE_NONE, NOTE_INFO, NOTE_WARN, NOTE_ERROR };
#define ROLE_AGENT 1
#define ROLE_ADMIN 2
struct adhoc_session;
struct adhoc_result {
	struct form *form; /* shown with the completed command, or NULL */
	enum note_type note_type;
	char note[1024];
};
struct command_step {
	/* the form this step shows (new; earlier steps' values through adhoc_value()) */
	struct form *(*form)(struct adhoc_session *);
	/*
	 * Gets the step's form as filled in (NULL for a command without a form). 0, or -1 with
	 * err filled: the form comes back with its values and err as the note. On the last step
	 * it applies the command and fills the result.
	 */
	int (*submit)(struct adhoc_session *, const struct form *, struct adhoc_result *, char *err,
	    size_t errlen);
};
struct command {
	const char *node, *name;
	unsigned roles; /* ROLE_ADMIN, ROLE_AGENT: who may list and run it */
	struct command_step steps[ADHOC_MAX_STEPS];
};
void adhoc_init(struct config *);
void adhoc_register(const struct command *, size_t n); /* the table lives as long as respa */
void adhoc_free_all(void);
unsigned adhoc_roles(const char *bare);
xmpp_stanza_t *adhoc_command(xmpp_stanza_t *iq, xmpp_stanza_t *command);
xmpp_stanza_t *adhoc_disco_items(xmpp_stanza_t *iq, const char *node);
xmpp_stanza_t *adhoc_disco_info(xmpp_stanza_t *iq, const char *node);
const char *adhoc_jid(const struct adhoc_session *); /* the executor's bare JID */
const char *adhoc_value(const struct adhoc_session *, const char *var); /* earlier steps' */
/* commands.c */
extern const struct command commands[];
extern const size_t ncommands;
void commands_init(struct config *);

/* desk.c: queues and agents made by commands, kept in SQLite beside respa.conf's */
int desk_load(struct config *);
/* Stores q (fully set up by the caller) and puts it to work; -1 when it cannot be stored. */
int desk_queue_add(struct queue *);
/* Copies the settings of draft (its hours too) into q, stored first; draft keeps the old ones. */
int desk_queue_update(struct queue *q, struct queue *draft);
int desk_queue_delete(struct queue *);
struct agent *desk_agent_add(const char *jid, int capacity);
int desk_agent_capacity(struct agent *, int capacity);
int desk_agent_delete(struct agent *);
int desk_member_set(struct agent *, struct queue *, int tier);
int desk_member_remove(struct agent *, struct queue *);

/* presence.c: agents' availability */
void presence_init(struct config *);
int presence_handler(xmpp_conn_t *, xmpp_stanza_t *, void *);
void presence_connected(void);
void presence_agent_added(struct agent *);
void presence_agent_removed(struct agent *);
/* A message or iq from this JID: an agent not heard from yet is asked again. */
void presence_sender(const char *from);
void agent_pause(struct agent *, const char *reason);
void agent_ready(struct agent *);
void agent_wrap_up(struct agent *, int seconds);
const char *show_name(enum show);

/* router.c: who takes which chat */
void router_init(struct config *);
void router_queue_added(struct queue *);
void router_queue_removed(struct queue *);
void router_queue_reorder(struct queue *);
void router_member_added(struct member *);
void router_member_removed(struct member *);
void router_reset(void);
void router_free(void);
void router_agent_changed(struct agent *);
void router_agent_busy(struct agent *);
void router_enqueue(struct conv *);
void router_dequeue(struct conv *);
void router_dispatch(struct queue *);
void router_exclude(struct conv *, struct agent *, int seconds);
int router_has_free(const struct queue *);
const char *router_cannot_take(const struct agent *, const struct queue *);
long router_estimate(const struct queue *, size_t place);

/* queue.c: what customers see of a queue: hours, place in line, the queue's presence */
void queue_init(struct config *);
void queue_added(struct queue *);
void queue_removed(struct queue *);
void queue_hours_changed(struct queue *);
void queue_restored(void);
void queue_goodbye(void);
void queue_free_all(void);
void queue_changed(struct queue *);
void queue_agent_ready(struct member *);
void queue_tell_queued(struct conv *);
void queue_presence_in(xmpp_stanza_t *, const char *from, const char *to, const char *type);
void queue_show_to(struct queue *, const char *jid);

/* tasks.c: tasks falling due, reminders to assignees and scheduled messages to customers */
void tasks_init(struct config *);
void tasks_start(void);
void tasks_schedule(time_t);
void tasks_agent_online(struct agent *);
char *tasks_list_text(const struct agent *);                   /* new string, must be free()d */
char *tasks_done_text(const struct agent *, const char *args); /* new string */

/* heap.c */
void heap_init(struct heap *, int (*before)(const void *, const void *), size_t slot_off);
void heap_put(struct heap *, void *);
void heap_remove(struct heap *, void *);
void *heap_top(const struct heap *);
void heap_clear(struct heap *);
void heap_free(struct heap *);

/* timer.c: deadlines in one heap; callbacks run from the main loop */
void timer_init(struct timer *, void (*fn)(void *), void *arg);
void timer_at(struct timer *, int64_t at_ms);
void timer_in(struct timer *, double seconds);
void timer_cancel(struct timer *);
int timer_armed(const struct timer *);
int64_t timer_next(void);
void timer_run(void);
void timer_pass_done(int failed); /* failed: timers back off (1 s doubling to 5 min) */
size_t timer_count(void);
void timer_free_all(void);

/* conversation.c */
void conversation_init(struct config *);
void conversation_free_all(void);
int conversation_restore(void);
void conversation_reload(void);
int conversation_handler(xmpp_conn_t *, xmpp_stanza_t *, void *);
void conversation_assign(struct conv *, struct agent *);
void conversation_offer(struct conv *, struct agent *);
void conversation_withdraw_offers(struct agent *);
void conversation_agent_gone(struct agent *);
void conversation_customer_presence(struct queue *, const char *from, int available,
    const char *session);
int conversation_close_offline(struct queue *);
void conversation_learn(struct conv *, const char *kind, const char *value);
void conversation_merge(struct conv *, struct agent *, int64_t contact);
int conversation_close(struct conv *, const char *reason, const char *summary, int resolved);
void
conversation_summary(const struct conv *, const char *reason, int resolved, char *buf, size_t len);
void
conversation_transfer_agent(struct conv *, struct agent *by, const char *jid, const char *note);
void conversation_transfer_queue(struct conv *, struct agent *by, struct queue *, const char *note);
void conv_tell(const struct conv *, const struct agent *, const char *text);
void conv_tellf(const struct conv *, const struct agent *, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void conv_tell_customer(const struct conv *, const char *text);
size_t conversation_count(void);
struct conv *conversation_find(const char *node);
void conversation_foreach(void (*)(struct conv *, void *), void *);
const char *conversation_state_name(const struct conv *);
void conversation_agent_removed(struct agent *);
/* What an agent sends the customer without writing it (a canned response): stored, relayed. */
int conversation_say(struct conv *, struct agent *, const char *text);
/* An admin's close and transfer; -1 with err filled when it cannot be done. */
int conversation_close_by(struct conv *, const char *by, const char *reason);
int conversation_transfer(struct conv *, const char *by, const char *target, const char *note,
    char *err, size_t errlen);

/*
 * relay.c: chat states (XEP-0085), receipts (XEP-0184), corrections (XEP-0308), markers
 * (XEP-0333) and links (XEP-0066) cross with the body; the message ids they refer to are
 * mapped between the customer's side and the agent's. stanza_relay() builds the message.
 */
#define NS_CHATSTATES "http://jabber.org/protocol/chatstates"
#define NS_RECEIPTS "urn:xmpp:receipts"
#define NS_CORRECT "urn:xmpp:message-correct:0"
#define NS_MARKERS "urn:xmpp:chat-markers:0"
#define NS_OOB "jabber:x:oob"
/* Id pairs remembered per conversation: receipts, markers and corrections name recent
 * messages, and the bound keeps a long chat's memory near 1.5 KiB. */
#define RELAY_PAIRS 16
#define RELAY_ID_MAX 128 /* a longer id from a client is not remembered */
enum relay_side { RELAY_CUSTOMER, RELAY_AGENT };
struct relay_ids *relay_ids_new(void);
void relay_ids_free(struct relay_ids *);
/* Remembers that one message is customer_id on the customer's side, agent_id on the agent's. */
void relay_ids_record(struct relay_ids *, const char *customer_id, const char *agent_id);
/* The other side's id of an id seen on `side`, or NULL when it is not remembered. */
const char *relay_ids_lookup(const struct relay_ids *, enum relay_side side, const char *id);
/*
 * Sends what `sender` wrote (in) to the other side as from -> to, with body (NULL: only its
 * chat state, receipt or marker, if any). Never stores; sends nothing when nothing is left.
 */
void relay_message(struct relay_ids *, xmpp_stanza_t *in, enum relay_side sender, const char *from,
    const char *to, const char *body);
/*
 * stanza.c: the relayed message appended to b as text, 0 when nothing is left to relay;
 * map(arg, id) is NULL for an unknown id. stanza_relay(): the same as a stanza, or NULL.
 */
int stanza_relay_text(struct text *b, xmpp_stanza_t *in, const char *from, const char *to,
    const char *body, const char *(*map)(void *, const char *), void *arg, char id[40]);
xmpp_stanza_t *stanza_relay(xmpp_stanza_t *in, const char *from, const char *to, const char *body,
    const char *(*map)(void *, const char *), void *arg, char id[40]);

/* slash.c: "/name args" written by an agent; pure */
struct slash {
	char name[16];
	const char *args; /* points into the body, trimmed at the front */
};
/* 1 when body is a command, 0 when it is text for the customer ("//x" is the text "/x"). */
int slash_parse(const char *body, struct slash *);
struct close_args {
	int resolved;
	char tags[256];      /* "a,b" */
	const char *summary; /* points into args; "" when none */
};
void slash_close(const char *args, struct close_args *);
int slash_fields(const char *args, const char *const *keys, size_t nkeys, char **values, char *err,
    size_t errlen);

/* chatcmd.c: what agents write in a chat after "/" */
void chatcmd_init(struct config *);
void chatcmd_run(struct conv *, struct agent *, const struct slash *);
/* What an agent writes to the component's own address: /pause /ready /status /tasks /done */
void chatcmd_agent(struct agent *, const char *body);

/* due.c: due times for tasks; pure */
/*
 * Reads an optional due time at the start of s (in tz), *rest after it: 1 when there is one,
 * 0 when there is none (*rest = s), -1 with err filled when it is bad.
 */
int due_parse(const char *s, time_t now, const char *tz, time_t *due, const char **rest, char *err,
    size_t errlen);

/* hours.c: business hours of a queue, in its time zone; pure */
struct hours_span {
	int day; /* 0 = Monday ... 6 = Sunday */
	int from,
	    to; /* minutes since local midnight; to may be 1440 (24:00); to < from runs past midnight */
};
struct hours {
	struct hours_span *spans; /* none: open around the clock (except closed dates) */
	size_t nspans;
	int *closed; /* closed dates: YYYYMMDD, or MMDD for every year */
	size_t nclosed;
};
/* "Mon-Fri 09:00-17:00, Sat 10:00-14:00"; also "always". 0, or -1 with err filled and h unchanged */
int hours_parse(struct hours *h, const char *spec, char *err, size_t errlen);
/* "2026-12-24 2026-12-25, 12-31" (space or comma separated; MM-DD means every year) */
int hours_parse_closed(struct hours *h, const char *dates, char *err, size_t errlen);
void hours_free(struct hours *h); /* frees the arrays, leaves h empty (always open) */
int hours_is_open(const struct hours *h, const char *tz, time_t t); /* 1 open, 0 closed */
/* The next instant after t at which the queue opens or closes (whichever comes first), or 0 when it never changes (always open, no closed dates in the future). */
time_t hours_next_change(const struct hours *h, const char *tz, time_t t);
/* The next opening at or after t: t itself when open now; 0 when it never opens. */
time_t hours_next_open(const struct hours *h, const char *tz, time_t t);
/* "Mon 09:00" style local text of an instant for customers: "today at 09:00", "tomorrow at 09:00", else "Monday 7 December at 09:00". */
void hours_when(const char *tz, time_t at, time_t now, char *buf, size_t len);

/* crm.c: rules for the CRM record; no SQL */
const char *crm_channel(const struct config *, const char *customer_jid, int web);
int crm_phone_e164(const char *text, const char *default_cc, char *out, size_t len);
int crm_jid_phone(const char *jid, const char *default_cc, char *out, size_t len);
int crm_find_email(const char *text, char *out, size_t len);
int crm_find_phone(const char *text, const char *default_cc, char *out, size_t len);
/* What the agent sees of a contact; store_contact_card() fills it. */
struct contact_card {
	int64_t id;
	char name[128], email[128], phone[32], company[128];
	int email_verified, phone_verified; /* a verified identity of the contact's own */
	int conversations;                  /* earlier ones, closed */
	char last_summary[512];             /* of the latest of those */
	int open_tasks;
	char task[160]; /* the title of the first due of those */
};
void crm_card_text(const struct contact_card *, const char *channel, char *buf, size_t len);
struct summary_facts {
	const char *customer, *channel, *queue, *first_message, *agent, *reason, *tags;
	time_t created_at, closed_at;
	int resolved;
};
void crm_summary(const struct summary_facts *, char *buf, size_t len);

/*
 * store.c: the database, its migrations and the batch; the only SQL is in store*.c.
 * One rule for failed writes: a statement that fails inside a pass fails the pass (logged
 * once, where it fails); store_commit() returns -1 and nothing of the pass is kept or sent.
 * So a (void)store_...() write is fine, and callers do not log a failed write again.
 */
struct migration {
	int version;
	const char *name;
	const char *sql;
};
extern const struct migration migrations[];
extern const size_t nmigrations;
int store_open(const char *path, int synchronous_full);
void store_close(void);
int store_commit(void); /* -1: the pass failed and was rolled back */
int store_user_version(void);
/* Several writes that stand or fall together inside the pass's transaction. */
int store_apply_begin(void);
int store_apply_end(int ok);   /* ok: kept; else rolled back; 0 / -1 */
uint64_t store_batch_id(void); /* the batch transaction open now; 0 when none */
int store_open_readonly(const char *path);

/* store_conv.c: conversations, messages, tags, summaries, agents' paused status */
struct stored_conv {
	int64_t id, contact_id;
	const char *queue, *entry_queue, *customer_jid, *agent_jid, *channel, *state, *session;
	time_t created_at, assigned_at, first_response_at;
};
struct stored_message {
	const char *direction, *sender_jid, *body;
	time_t created_at;
};
int64_t store_conv_add(const char *queue, const char *customer, int64_t contact_id,
    const char *channel, const char *state, const char *session, time_t now);
int store_conv_requeue(int64_t id, const char *queue);
int store_conv_state(int64_t id, const char *state);
int store_agent_status(const char *jid, int paused, const char *reason, time_t now);
int store_agent_status_foreach(int (*)(const char *jid, int paused, const char *reason, void *),
    void *);
int store_conv_customer(int64_t id, const char *customer);
int store_conv_assign(int64_t id, const char *agent, time_t now);
int store_conv_first_response(int64_t id, time_t now);
int store_message_add(int64_t conv, const char *direction, const char *sender, const char *body,
    time_t now);
int store_tag_add(int64_t conv, const char *tag);
/* new string of the tags joined with ", ", must be free()d */
char *store_tags(int64_t conv);
/* new string, must be free()d; NULL when the customer has written nothing */
char *store_first_message(int64_t conv);
int store_conv_close(int64_t id, const char *reason, const char *agent, const char *summary,
    const char *tags, int resolved, time_t now);
int store_conv_open_foreach(int (*)(const struct stored_conv *, void *), void *);
int store_messages_foreach(int64_t conv, int (*)(const struct stored_message *, void *), void *);

/* store_crm.c: contacts, identities, merges, history, tasks, reminders */
/*
 * An address a contact is known by: kind "jid" (bare), "phone" (E.164), "visitor" (the site's
 * id), verified by how the customer came; "email" and "phone" written in a chat are unverified.
 */
struct identity {
	const char *kind, *value;
};
/* *created (may be NULL): 1 when no identity was known and a contact was made */
int64_t store_contact_for(const struct identity *, size_t n, time_t now, int *created);
int64_t store_contact_for_jid(const char *jid, time_t now);
/* Tasks: empty filters match all; overdue: due before now. */
struct task_filter {
	const char *queue, *queue_jid, *assignee, *kind; /* queue: its name; tasks of its chats */
	int overdue_only;
	time_t now;
};
struct stored_task {
	int64_t id, conversation_id, contact_id;
	const char *assignee, *kind, *title, *status, *details;
	time_t due_at, created_at;
	int reminded; /* its assignee was reminded at least once */
};
struct history_item {
	int64_t id;
	const char *queue, *channel, *agent, *summary;
	time_t closed_at;
};
int64_t store_contact_resolve(int64_t contact);
int
store_identity_add(int64_t contact, const char *kind, const char *value, int verified, time_t now);
int store_contact_card(int64_t contact, int64_t exclude_conv, struct contact_card *);
int store_contact_fields(int64_t contact, struct contact_card *);
int store_contact_edit(int64_t contact, const char *name, const char *email, const char *phone,
    const char *company);
int store_contact_fill(int64_t contact, const char *email, const char *phone);
int64_t store_contact_merge(int64_t kept, int64_t merged, const char *reason, time_t now);
int store_merge_undo(int64_t merge, time_t now, int64_t *kept, int64_t *merged);
int store_merges_foreach(int limit,
    int (*)(int64_t id, int64_t kept, int64_t merged, const char *reason, time_t when, void *),
    void *);
int store_history_foreach(int64_t contact, int limit, int (*)(const struct history_item *, void *),
    void *);
char *store_last_agent(int64_t contact, const char *queue); /* new string or NULL */
int64_t store_task_add(int64_t conv, int64_t contact, const char *assignee, const char *kind,
    const char *title, time_t due, time_t now);
/* The oldest open task of this kind for the contact and assignee; 0 when none, -1 on error. */
int64_t store_task_open_for(int64_t contact, const char *assignee, const char *kind);
int store_tasks_open_count(const char *assignee, const char *kind);
int store_task_describe(int64_t task, const char *details, const char *created_by);
int store_conv_agent_tasks(int64_t conv);
int store_tasks_due_foreach(time_t now, const char *assignee,
    int (*)(const struct stored_task *, void *), void *);
int
store_tasks_of_foreach(const char *assignee, int (*)(const struct stored_task *, void *), void *);
int store_task_reminded(int64_t id, time_t now);
int store_task_done_by(int64_t id, const char *assignee, time_t now);
time_t store_tasks_next(time_t now);
int64_t store_reminder_add(int64_t conv, int64_t contact, const char *from, const char *to,
    const char *body, const char *by, time_t due, time_t now);
int store_reminders_due_foreach(time_t now,
    int (*)(int64_t id, const char *from, const char *to, const char *body, void *), void *);
int store_reminder_sent(int64_t id, time_t now);
time_t store_reminders_next(void);
int store_tasks_foreach(const struct task_filter *, int (*)(const struct stored_task *, void *),
    void *);
int store_task_assign(int64_t id, const char *assignee); /* 0, -1; 1 when it was not open */

/* store_desk.c: the desk made by commands, canned responses, statistics */
/* The desk as commands made it: queues, agents, memberships. */
struct stored_queue {
	const char *name, *title, *strategy, *mode, *hours, *closed, *timezone, *greeting,
	    *offline_text;
	int capacity, tier_wait, offer_timeout, max_wait, idle_close;
};
int store_desk_queue_put(const struct stored_queue *);
int store_desk_queue_del(const char *name);
int store_desk_queues_foreach(int (*)(const struct stored_queue *, void *), void *);
int store_desk_agent_put(const char *jid, int capacity);
int store_desk_agent_del(const char *jid);
int store_desk_agents_foreach(int (*)(const char *jid, int capacity, void *), void *);
int store_desk_member_put(const char *queue, const char *jid, int tier);
int store_desk_member_del(const char *queue, const char *jid);
int
store_desk_members_foreach(int (*)(const char *queue, const char *jid, int tier, void *), void *);
int store_open_in_queue(const char *queue); /* open conversations routed or entered there */
int store_chats_since(const char *agent, time_t since);
int store_missed_offer_add(int64_t conv, const char *agent, time_t now);
/* Canned responses: queue "" is global. */
struct stored_canned {
	const char *queue, *name, *body;
};
int store_canned_put(const char *queue, const char *name, const char *body, time_t now);
int store_canned_del(const char *queue, const char *name);
/* new string, must be free()d: the queue's own, else the global one; NULL when none */
char *store_canned_get(const char *queue, const char *name);
int store_canned_foreach(int (*)(const struct stored_canned *, void *), void *);
/* Statistics over conversations created in [from, to). */
struct stats_times {
	long n, median, p90;
	double avg;
};
enum stats_time { STATS_WAIT, STATS_FIRST_RESPONSE, STATS_HANDLING };
int store_stats_times(enum stats_time, time_t from, time_t to, struct stats_times *);
enum stats_group { STATS_BY_QUEUE_CHANNEL, STATS_MISSED_BY_AGENT, STATS_REASONS };
int store_stats_groups(enum stats_group, time_t from, time_t to,
    int (*)(const char *key, long n, void *), void *);
/* total conversations, out of hours, closed with a summary, resolved */
int store_stats_counts(time_t from, time_t to, long *total, long *offline, long *closed,
    long *resolved);

/* store_care.c: data care (the record, export, hook deliveries, retention, erasure) */
/* A closed conversation's record as JSON (export and hook): new string, must be free()d. */
char *store_record(int64_t conv);
int store_export_foreach(time_t since, time_t until, int open, int csv,
    int (*fn)(int n, const char *const *names, const char *const *values, void *), void *);
int store_hook_add(int64_t conv, time_t now);
int store_hook_due(time_t now, int64_t *convs, int *attempts, int max);
time_t store_hook_next(void);
int store_hook_done(int64_t conv);
int store_hook_failed(int64_t conv, int attempts, time_t next, const char *why);
int store_transcripts_delete(time_t before, time_t now, int budget, int *messages, int *convs);
/* Contacts known by a value (identity, email, phone; digits: an id), merges followed. */
int store_contact_find(const char *value, int64_t *ids, int max);
int store_contact_open_count(int64_t contact, int64_t *first);
struct erase_report {
	int contacts, conversations, messages, tasks, identities; /* what was erased */
	int vacuumed;       /* an index page still held an identity: the file was rewritten */
	char leftover[128]; /* a value still in the file after VACUUM (others' records), or "" */
};
/*
 * Erases a contact (and those merged into it) with all their data so that nothing readable
 * stays in the database file: secure_delete, WAL checkpoint (TRUNCATE), VACUUM when needed.
 * Commits the pass's batch first and blocks while it works. Refuse before calling it while
 * respa has one of the contact's conversations open (store_contact_open_count()). 0 / -1.
 */
int store_contact_erase(int64_t contact, struct erase_report *);

/* hook.c: each closed conversation's record to the [crm] hook program */
void hook_init(struct config *);
void hook_queue(int64_t conv);
void hook_free(void);
int hook_backoff(int failures);

/* care.c: retention, the database lock, respa erase-contact */
int care_lock(const char *database);
void care_init(struct config *);
void care_free(void);
int care_erase_main(int argc, char **argv);

/* export.c: respa export */
int export_main(int argc, char **argv);
int export_parse_time(const char *, int end, time_t *);
/* One CSV field; guard: a leading ' before a formula (= + - @ tab CR). */
void export_csv_field(FILE *, const char *, int guard);

/* main.c */
extern volatile sig_atomic_t respa_quit;

#endif
