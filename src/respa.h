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
 *   7  main.c export.c report_html.c    entry points
 *   6  iq.c adhoc.c commands.c desk.c metrics.c   what admins, agents and monitoring ask for
 *   5  presence.c router.c queue.c conversation.c chatcmd.c monitor.c  the routing core: one cycle
 *   4  tasks.c hook.c care.c limits.c transcript.c mailer.c rating.c alert.c report.c report_page.c
 *                                        work that outlives a chat; what a customer may
 *                                        do; alerts; the figures of the report and its page
 *   3  stanza.c relay.c component.c twin.c   the wire: build, map, send; one respa per link
 *   2  config.c store*.c                the configuration and its lookups; all SQL
 *   1  slash.c due.c hours.c forms.c crm.c mail.c texts.c   pure parsers and rules: no I/O
 *   0  util.c log.c map.c heap.c timer.c counters.c proc.c   leaves
 */
#ifndef RESPA_H
#define RESPA_H

#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/queue.h>
#include <sys/types.h>
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
#define NS_WIDGET "urn:respa:widget"
#define NS_NICK "http://jabber.org/protocol/nick"
#define NS_TWIN "urn:respa:twin:0"
#define NS_WIDGET "urn:respa:widget" /* what the web widget shows as buttons (a rating's) */
#define NS_COMMANDS "http://jabber.org/protocol/commands"
#define NS_DATA "jabber:x:data"

#define DEFAULT_CAPACITY 3
#define TOPIC_MAX 64 /* bytes in a pre-chat topic: [A-Za-z0-9_-] */
#define DEFAULT_MAX_BODY 10000
#define CONFIG_LINE_MAX 4096 /* bytes in one line of respa.conf, its end included */

/* A presence <show/>, ordered from least to most available. */
enum show { SHOW_OFFLINE, SHOW_DND, SHOW_XA, SHOW_AWAY, SHOW_AVAILABLE, SHOW_CHAT };

/* counters.c: what metrics.c writes out; any layer counts with counters[C_...]++ */
enum counter {
	C_CONVERSATIONS_OPENED,
	C_MESSAGES_IN,  /* customers' messages relayed to agents */
	C_MESSAGES_OUT, /* agents' messages relayed to customers */
	C_ASSIGNMENTS,
	C_OFFERS_MISSED,
	C_MAX_WAIT_NOTICES,
	C_TASKS_CREATED,
	C_TASKS_DONE,
	C_COMMITS_FAILED,
	C_HOOK_FAILURES,
	C_MAIL_FAILURES,
	C_RECONNECTS,
	COUNTER_MAX
};
extern uint64_t counters[COUNTER_MAX];
#define COMMIT_BUCKETS 12
extern const double commit_buckets[COMMIT_BUCKETS];
extern uint64_t commit_bucket_counts[COMMIT_BUCKETS], commit_count;
extern double commit_seconds;
void counters_commit(double seconds);

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

/* The customer's languages (texts.c) and every text respa sends customers, by id. */
enum lang { LANG_EN, LANG_FI, LANG_COUNT };
enum text_id {
	T_GREETING,
	T_QUEUED,
	T_ASSIGNED,
	T_CLOSED,
	T_OFFLINE,
	T_MAX_WAIT,
	T_MAX_QUEUE,
	T_PLACE,
	T_PLACE_WAIT,
	T_THANKS_WAITING,
	T_ABOUT_MIN,
	T_STATUS_FREE,
	T_STATUS_WAITING,
	T_STATUS_WAITING_EST,
	T_STATUS_BUSY,
	T_STATUS_CLOSED,
	T_STATUS_IN_CHAT,
	T_WHEN_TODAY,
	T_WHEN_TOMORROW,
	T_WHEN_DATE,
	T_OFFLINE_WHEN,
	T_AGENT_GONE,
	T_IDLE_MINUTE,
	T_IDLE_MINUTES,
	T_IDLE_WHILE,
	T_TRANSFER_AGENT,
	T_TRANSFER_QUEUE,
	T_TOO_LONG,
	T_NOT_STORED,
	T_LIMIT_OPEN,
	T_LIMIT_OPENS,
	T_LIMIT_MESSAGES,
	T_AGENT_NOT_CUSTOMER,
	T_NO_ADDRESS,
	T_DESK,
	T_DESK_EMPTY,
	T_BAD_NAME_LONG,
	T_BAD_NAME_CHARS,
	T_BAD_EMAIL,
	T_BAD_EMAIL_LONG,
	T_NEED_EMAIL,
	T_BAD_TOPIC,
	T_UNKNOWN_TOPIC,
	T_OFFLINE_THANKS,
	T_OFFLINE_THANKS_SOON,
	T_TRANSCRIPT_QUESTION,
	T_TRANSCRIPT_YES,
	T_TRANSCRIPT_NO,
	T_TRANSCRIPT_YOU,
	T_RATING,
	T_RATING_THANKS,
	T_RATING_LOW,
	T_RATING_RETRY,
	T_RATING_LATE,
	T_CALL,
	T_COUNT
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
	char *jid;  /* bare */
	char *name; /* shown to customers on its lines; NULL: the queue's title */
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
	int managed;     /* created by an ad-hoc command and kept in SQLite, not respa.conf */
	int removed;     /* gone from respa.conf at a reload, kept for its open chats */
	int heard;       /* a resource or an approval came from it: it shares its presence */
	int unreachable; /* a message to it bounced: no new chats until a presence says it is back */
	char *email;     /* [agent JID] email: handoffs and reminders while offline; or NULL */
	int64_t asked_at;   /* ms: when its writing last made us ask again */
	int64_t checked_at; /* ms: when presence_check last probed it; 0: no answer awaited */
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
#define CONV_WATCHERS 4
#define CONV_OVERFLOWS 4

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
	int agent_wrote;        /* its agent wrote in it since taking it: their client has it */
	int resend;             /* a message to its agent bounced: all again when they are back */
	int quiet_rejoin;       /* taken back from an agent who never got it: no second "joined" */
	char intro_id[40];      /* the id of the header its agent was sent last */
	char *matches;          /* "Possible match" lines for the agent, or NULL */
	char *topic;            /* the widget's pre-chat topic, or NULL */
	char *held[CONV_HOLDS]; /* limits.c keys it is counted under (JID, session, visitor) */
	char *watchers[CONV_WATCHERS]; /* agents shown its presence: told unavailable at close */
	struct monitor *monitors;      /* supervisors following it (monitor.c); NULL: nobody */
	struct queue *overflowed[CONV_OVERFLOWS]; /* queues it overflowed out of: once per link */
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
	int transcript;       /* enum transcript_mode: the chat by email to the customer */
	char *transcript_question, *transcript_yes_text, *transcript_no_text;
	int lang;             /* LANG_*: the language of every text its customers see */
	char *texts[T_COUNT]; /* text.NAME overrides, NULL for the catalogue's */
	char **topics;        /* the widget's pre-chat topics it takes */
	size_t ntopics;
	int max_queue; /* most customers waiting in line; 0: no cap */
	enum strategy strategy;
	enum mode mode;
	int capacity; /* 0: each agent's own */
	int tier_wait, offer_timeout, max_wait, wrap_up, idle_close, customer_grace;
	int notice_interval; /* least time between two place-in-line notices */
	int prefer_last;     /* a returning customer goes to their last agent first */
	char *reasons;       /* contact reasons agents pick from, ", " between them; or NULL */
	int rating;          /* a chat an agent closed asks the customer to rate it 1 to 5 */
	int rating_window;   /* s: how long that question waits for its answer */
	char *rating_text, *rating_thanks_text, *rating_low_text, *rating_retry_text,
	    *rating_late_text;
	char *call_url;  /* /call's room link, "{room}" replaced by a random name; NULL: none */
	char *call_text; /* told before the link */
	struct hours *hours;
	char *hours_text, *closed_dates; /* as written, NULL when not set */
	char *written;       /* config.c: its keys as written but agents: a reload compares them */
	int removed;         /* gone from respa.conf at a reload, kept for its open chats: closed */
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
	int alert_wait;    /* s: a customer waiting longer alerts supervisors; 0: max_wait / 2 */
	int overflow_wait; /* s: waited this long with nobody free, a chat moves to overflow */
	struct queue *overflow, *closed_overflow;   /* respa.conf's only; NULL: none */
	char *overflow_name, *closed_overflow_name; /* as written, resolved after parsing */
	int overflow_line, closed_overflow_line;    /* where: errors name the line */
	int visit;                                  /* config.c's cycle check */
	struct timer unstaffed_timer; /* open and nobody ready: supervisors hear after a while */
	int unstaffed_told;           /* this episode was alerted */
	struct queue *next;           /* config order */
};

enum transcript_mode { TRANSCRIPT_OFFER, TRANSCRIPT_ALWAYS, TRANSCRIPT_NEVER };

/* [person NAME]: a colleague /handoff can name, with a JID, an email address or both. */
struct person {
	char *name, *jid, *email; /* jid or email may be NULL, not both */
	struct person *next;
};

/* [domain NAME]: where customers of a channel come from (a gateway's domain, the widget's). */
struct domain {
	char *name;
	char *channel;
	struct domain *next;
};

/* [component] host: one server of a cluster; the link tries them in turn. */
struct server {
	char *host; /* a name or address, IPv6 without its brackets */
	int port;   /* [component] port when the entry gave none */
	char *name; /* HOST:PORT, [IPV6]:PORT: for the log and the metrics */
};

#define CONFIG_SECTIONS 16

struct config {
	char *path;
	char *written[CONFIG_SECTIONS]; /* config.c: each unnamed section's keys as written */
	char *jid;                      /* the component's domain */
	char *host;                     /* as written: the servers' list */
	int port;
	struct server *servers;
	size_t nservers;
	char *secret;
	size_t max_body;
	char *database;
	int synchronous_full;
	char **admins;
	size_t nadmins;
	char **supervisors; /* [admin] supervisors: monitor, whisper, barge, take over; alerts */
	size_t nsupervisors;
	int monitor_notice; /* agents are told when a supervisor follows their chat */
	int alert_cooldown; /* s: the least time between two alerts of one kind and subject */
	int agent_grace, max_no_answer, reject_delay;
	int subscribe_retry;   /* s: agents not heard from are asked for a subscription again */
	int presence_check;    /* s: agents counted online are probed again; 0: never */
	int command_timeout;   /* an idle ad-hoc command session ends after this (s) */
	char *default_country; /* calling code for phone numbers written without one */
	char **hook;           /* [crm] hook: the program and its arguments; NULL for none */
	int hook_timeout, hook_retries;
	int retention_days; /* 0: transcripts are kept forever */
	/* [mail]: off while from is NULL */
	char **sendmail;                                  /* the program and its arguments */
	char *mail_from, *mail_from_name, *mail_reply_to; /* addresses; name "" when none */
	int mail_timeout, mail_retries;
	int handoff_mail_always; /* handoffs and reminders by email also to online colleagues */
	struct person *people;
	int fcr_days;             /* a contact back within this many days was not resolved */
	int max_sessions_per_jid; /* [admin]: ad-hoc sessions one bare JID may hold at once */
	/* [limits] per customer; 0 turns a limit off */
	int max_open_per_customer;
	int open_burst, opens_per_minute;       /* token bucket on opening conversations */
	int message_burst, messages_per_minute; /* token bucket on messages */
	char *metrics_file; /* [metrics] file: written every metrics_interval s; NULL: none */
	int metrics_interval;
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
/* len - 1 random characters of [A-Za-z0-9_-] from OpenSSL (6 bits each), NUL-terminated */
void random_token(char *buf, size_t len);

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
struct config *config_parse(const char *path, FILE *err); /* config_load() but the lookups */
const char *config_section_name(int section);             /* of written[i]; NULL when none */
void config_free(struct config *);
int config_is_supervisor(const struct config *, const char *bare); /* admins are too */
int config_is_admin(const struct config *, const char *bare);
/* A queue with every default but the texts (config_queue_finish() sets those); not linked. */
struct queue *config_queue_alloc(const char *name);
void config_queue_finish(const struct config *, struct queue *);
/* new string: the queue's text in its language or its override, filled; must be free()d */
char *config_text(const struct queue *, enum text_id, const char *const *args, int nargs);
#define CONFIG_TEXT(q, id) config_text(q, id, NULL, 0)
int config_queue_topic(const struct queue *, const char *topic);
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
/* The [person] with this name, JID or email address; NULL when none. */
const struct person *config_person(const char *who);
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
const struct server *component_server(void);
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
/* A message whose body asks for a rating, with <rating xmlns=NS_WIDGET max=''/> for buttons. */
xmpp_stanza_t *stanza_rating_question(const char *from, const char *to, const char *body, int max,
    const char *lang);
/* A question after a chat (kind: transcript), with <question xmlns=NS_WIDGET kind=''/>. */
xmpp_stanza_t *stanza_question(const char *from, const char *to, const char *body, const char *kind,
    const char *lang);
/* A headline carrying <twin/>: twin.c's probe for another respa on the same domain. */
xmpp_stanza_t *stanza_twin_probe(const char *from, const char *to);
/* What an address of the component is: its disco#info identity, features and caps. */
enum address_kind { ADDRESS_DOMAIN, ADDRESS_QUEUE, ADDRESS_CONV };
#define NS_CAPS "http://jabber.org/protocol/caps"
#define CAPS_NODE "urn:respa:caps" /* names the software, as XEP-0115 asks */
#define CAPS_VER_LEN 29            /* base64 of a SHA-1 and its NUL */
/* XEP-0115's ver of one identity (no xml:lang) and its features; pure. */
void caps_ver(const char *category, const char *type, const char *name, const char *const *features,
    char ver[CAPS_VER_LEN]);
/* name: a queue's title (the domain and chats have their own) */
xmpp_stanza_t *stanza_address_info(xmpp_stanza_t *iq, enum address_kind, const char *name);
xmpp_stanza_t *stanza_presence_status(const char *from, const char *to, const char *show,
    const char *status, enum address_kind, const char *name, const char *lang);
/* To customers: respa's own lines (<notice/>), the end of a chat (<ended reason=''/>) */
xmpp_stanza_t *stanza_notice(const char *from, const char *to, const char *body, const char *lang);
xmpp_stanza_t *stanza_ended(const char *from, const char *to, const char *body, const char *lang,
    const char *reason);
void stanza_mark_agent(xmpp_stanza_t *, const char *nick, const char *lang);
xmpp_stanza_t *
stanza_error(xmpp_stanza_t *in, const char *type, const char *condition, const char *text);
xmpp_stanza_t *stanza_error_lang(xmpp_stanza_t *in, const char *type, const char *condition,
    const char *text, const char *lang, const char *field);
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
/* "OMEMO", "OpenPGP", "OTR"... when the message is end-to-end encrypted, else NULL. */
const char *stanza_encryption(xmpp_stanza_t *);
size_t stanza_body_len(xmpp_stanza_t *);
/* Repairs in place every text and attribute value not valid UTF-8 / XML; how many it did. */
int stanza_repair(xmpp_stanza_t *);
const char *stanza_show(xmpp_stanza_t *presence);
/* The web widget's <visitor/> (NS_VISITOR): its session token and the site's visitor id. */
struct visitor {
	const char *session; /* 16 to 64 of [A-Za-z0-9_-] */
	const char *id;      /* NULL when the site gave none; at most 128 bytes */
	/* pre-chat values as sent (NULL: none), checked by crm_prechat_check() */
	const char *name, *email, *topic;
	int offline; /* an offline form: the body is its message */
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
/*
 * For clients that show only some of a form (profanity shows a list's options only when it has
 * a value, poezio one fixed field without a var, neither a <reported/> table): FORM_NONE is a
 * list's "nothing chosen" value, an option of its own; form_keep() drops it (and "").
 */
#define FORM_NONE "*"
#define FORM_LINE_MAX 300 /* bytes in one line of a table as text */
/* Ready to send: fixed fields get vars, unlabelled fields and options their var or value as
 * label, a list with no value FORM_NONE (its option added when it has none). */
void form_show(struct form *);
/* A table row as one line ("first cell | Label: cell | ..."), new, must be free()d. */
char *form_row_line(const struct form *, size_t row);
/* Fixed fields (vars row-N), one a row, for table's rows first..first+n-1, added to f. */
void form_add_lines(struct form *f, const struct form *table, size_t first, size_t n);
/* Fixed fields "Label: value", one a value, for table's own fields, added to f. */
void form_add_field_lines(struct form *f, const struct form *table);
/* A result table also as text: one fixed field a row before the other fields. */
void form_table_text(struct form *);

/* iq.c */
int iq_handler(xmpp_conn_t *, xmpp_stanza_t *, void *);

/* adhoc.c: the XEP-0050 engine; commands.c has the commands */
#define ADHOC_MAX_STEPS 3
enum note_type { NOTE_NONE, NOTE_INFO, NOTE_WARN, NOTE_ERROR };
#define ROLE_AGENT 1
#define ROLE_ADMIN 2
#define ROLE_SUPERVISOR 4
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
const char *adhoc_full_jid(const struct adhoc_session *);
const char *adhoc_value(const struct adhoc_session *, const char *var); /* earlier steps' */
/* commands.c */
extern const struct command commands[];
extern const size_t ncommands;
void commands_init(struct config *);

/* desk.c: queues and agents made by commands, kept in SQLite beside respa.conf's */
int desk_load(struct config *);
void desk_reload(void); /* SIGHUP: respa.conf again, the differences applied */
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
void agent_unreachable(struct agent *);
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
/* Out of its line into to's, at its place by waiting time (an overflow) */
void router_move(struct conv *, struct queue *to);
void router_exclude(struct conv *, struct agent *, int seconds);
int router_has_free(const struct queue *);
const char *router_cannot_take(const struct agent *, const struct queue *);
long router_estimate(const struct queue *, size_t place);

/*
 * alert.c: warnings to supervisors ([admin] supervisors and admins) as chat messages from the
 * component's address: the server delivers them, or keeps them offline. One alert per kind
 * and subject (a queue, an agent) within [admin] alert_cooldown; "!alerts off" mutes one
 * supervisor until "!alerts on" or a restart (kept in memory).
 */
enum alert_kind { ALERT_WAIT, ALERT_UNSTAFFED, ALERT_PAUSED, ALERT_HOOK, ALERT_MAIL, ALERT_KINDS };
#define ALERT_FAILURES 3 /* failed runs in a row of the hook or of sendmail that alert */
void alert_init(struct config *);
void alert_free(void);
/* 1 when sent (to anyone not muted), 0 while the cooldown of kind and subject holds */
int alert_raise(enum alert_kind, const char *subject, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* "!alerts on|off" from bare: 1 when it was that command (answered), else 0 */
int alert_command(xmpp_stanza_t *, const char *from, const char *body);

/* queue.c: what customers see of a queue: hours, place in line, the queue's presence */
void queue_init(struct config *);
void queue_added(struct queue *);
void queue_removed(struct queue *);
void queue_hours_changed(struct queue *);
void queue_customer_changed(struct queue *, const char *jid);
void queue_restored(void);
void queue_goodbye(void);
void queue_free_all(void);
void queue_changed(struct queue *);
void queue_agent_ready(struct member *);
void queue_tell_queued(struct conv *);
void queue_tell_moved(struct conv *); /* its place and wait after an overflow */
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
void conversation_agent_back(struct agent *);
/* The chat's header and lines so far to one JID (a full JID: the client that asked). */
void conversation_replay(const struct conv *, const char *to, const char *lead, const char *tail);
/* The same from another address of the chat (a supervisor's mirror, m-ID) */
void conversation_replay_from(const struct conv *, const char *from, const char *to,
    const char *lead, const char *tail);
/* A supervisor's word to the agent only (an internal note); to the customer as the desk */
void conversation_whisper(struct conv *, const char *by, const char *text);
void conversation_barge(struct conv *, const char *by, const char *text);
/* Agent a, a supervisor, takes the chat from whoever has it (a transfer): 0 or -1 and err */
int conversation_takeover(struct conv *, struct agent *a, char *err, size_t errlen);
/* A new resource of the agent (full JID) sees its chats' addresses online. */
void conversation_show_to(struct agent *, const char *full);
/* A subscription or probe to a chat's address (c-N), open or not; type NULL: available. */
void conversation_presence_in(const char *from, const char *node, const char *type);
void conversation_customer_presence(struct queue *, const char *from, int available,
    const char *session);
int conversation_close_offline(struct queue *);
int conversation_customer_active(const struct queue *, const char *jid);
void conversation_learn(struct conv *, const char *kind, const char *value);
void conversation_merge(struct conv *, struct agent *, int64_t contact);
int conversation_close(struct conv *, const char *reason, const char *summary, int resolved);
void
conversation_summary(const struct conv *, const char *reason, int resolved, char *buf, size_t len);
void
conversation_transfer_agent(struct conv *, struct agent *by, const char *jid, const char *note);
void conversation_transfer_queue(struct conv *, struct agent *by, struct queue *, const char *note);
/* Waited overflow_wait with nobody free: into to's line, keeping its waiting time. */
void conversation_overflow(struct conv *, struct queue *to);
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
/*
 * An agent starts a chat (/start): who is a contact number (#12), a JID or a phone number;
 * queue NULL for a's first. The chat's id, or -1 with err filled (nothing was stored).
 */
int64_t conversation_start(struct agent *a, const char *who, const char *queue, const char *text,
    char *err, size_t errlen);
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
/* An agent's line to the customer, with its display name (XEP-0172) and xml:lang. */
void relay_agent_line(struct relay_ids *, xmpp_stanza_t *in, const char *from, const char *to,
    const char *body, const char *nick, const char *lang);
/* stanza.c: NULL when nothing is left to relay; map(arg, id) is NULL for an unknown id */
/*
 * stanza.c: the relayed message appended to b as text, 0 when nothing is left to relay;
 * map(arg, id) is NULL for an unknown id. stanza_relay(): the same as a stanza, or NULL.
 */
int stanza_relay_text(struct text *b, xmpp_stanza_t *in, const char *from, const char *to,
    const char *body, const char *nick, const char *lang, const char *(*map)(void *, const char *),
    void *arg, char id[40]);
xmpp_stanza_t *stanza_relay(xmpp_stanza_t *in, const char *from, const char *to, const char *body,
    const char *(*map)(void *, const char *), void *arg, char id[40]);

/* slash.c: "!name args" or "/name args" written by an agent; pure */
struct slash {
	char prefix; /* '!' or '/', as written */
	char name[16];
	const char *args; /* points into the body, trimmed at the front */
};
/*
 * 1 when body is a command, 0 when it is text for the customer: "//x" and "!!x" (the texts
 * "/x" and "!x"), "/me ..." (XEP-0245), "!" before anything but a letter.
 */
int slash_parse(const char *body, struct slash *);
/* The text a line that is not a command stands for: "//x" is "/x", "!!x" is "!x". */
const char *slash_text(const char *body);
/* "OTR" or "OMEMO" when the text is an encryption scheme's own (a query, ciphertext), else NULL. */
const char *slash_encryption(const char *body);
struct close_args {
	int resolved;
	char tags[256];      /* "a,b" */
	const char *summary; /* points into args; "" when none */
};
void slash_close(const char *args, struct close_args *);
int slash_fields(const char *args, const char *const *keys, size_t nkeys, char **values, char *err,
    size_t errlen);

/* monitor.c: supervisors following a chat from m-ID@component */
#define MONITOR_NOTICE "A supervisor is following this chat." /* to its agent: monitor_notice */
void monitor_init(struct config *);
void monitor_start(struct conv *, const char *bare);
void monitor_mirror(const struct conv *, const char *skip, const char *text);
void monitor_closed(struct conv *);
void monitor_free(struct conv *);
int monitor_desk(xmpp_stanza_t *, const char *from, const char *bare, const char *body);
void monitor_message(xmpp_stanza_t *, const char *from, const char *node);

/* chatcmd.c: what agents write in a chat after "!" or "/" */
void chatcmd_init(struct config *);
/* from: the full JID that wrote the command */
void chatcmd_run(struct conv *, struct agent *, const struct slash *, const char *from);
/* What an agent writes to the component's own address: !pause !ready !status !tasks !done */
void chatcmd_agent(struct agent *, const char *body);

/* due.c: due times for tasks; pure */
/*
 * Reads an optional due time at the start of s (in tz), *rest after it: 1 when there is one,
 * 0 when there is none (*rest = s), -1 with err filled when it is bad.
 */
int due_parse(const char *s, time_t now, const char *tz, time_t *due, const char **rest, char *err,
    size_t errlen);

/* texts.c: every text customers see, in each language; pure */
int texts_lang(const char *code); /* LANG_*, or -1 for a language respa does not ship */
const char *texts_lang_code(int lang);
const char *texts_langs(void); /* "en, fi" */
const char *texts_get(int lang, enum text_id);
const char *texts_name(enum text_id); /* the text.NAME key that overrides it */
int texts_nargs(enum text_id);
int texts_find(const char *name); /* the id of a text.NAME, or -1 */
/* 0 with used's bit N set for each {N} of tmpl, or -1 with err filled for one beyond nargs */
int texts_check(const char *tmpl, int nargs, unsigned *used, char *err, size_t errlen);
/* new string: tmpl with each {N} replaced by args[N - 1], N <= nargs; must be free()d */
char *texts_fill(const char *tmpl, const char *const *args, int nargs);
#define TEXT_ARGS(...) \
	(const char *const[]){ __VA_ARGS__ }, \
	    (int)(sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(const char *))
void texts_clock(int lang, int hour, int min, char *buf, size_t len); /* 09:00, 9.00 */
const char *texts_weekday(int lang, int monday_first);                /* 0: Monday */
const char *texts_month(int lang, int mon);                           /* 0: January */

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
/* Local text of an instant for customers, in lang: "today at 09:00", "tomorrow at 09:00", else "Monday 7 December at 09:00" ("maanantaina 7. joulukuuta klo 9.00"). */
void hours_when(int lang, const char *tz, time_t at, time_t now, char *buf, size_t len);

/* mail.c: RFC 5322 messages for a sendmail program; pure */
struct mail {
	const char *from_addr, *from_name; /* names may be NULL or "" */
	const char *to_addr, *to_name;
	const char *reply_to; /* NULL for none */
	const char *subject, *body;
	time_t date;
	const char *msgid; /* the random part of the Message-ID: letters and digits */
	/* a file after the body (multipart/mixed); attach NULL for none */
	const char *attach, *attach_name, *attach_type; /* name: [A-Za-z0-9._-] */
	size_t attach_len;
};
int mail_addr_ok(const char *); /* 1: a plain local@domain, safe in a header */
int mail_parse_mailbox(const char *text, char *name, size_t namelen, char *addr, size_t addrlen);
char *mail_header(const char *field, const char *value); /* "Field: value\n", new string */
char *mail_qp(const char *text);                         /* new string */
void mail_date(time_t, char buf[40]);
char *mail_compose(const struct mail *); /* new string; NULL when an address is bad */

/* crm.c: rules for the CRM record; no SQL */
const char *crm_channel(const struct config *, const char *customer_jid, int web);
int crm_phone_e164(const char *text, const char *default_cc, char *out, size_t len);
int crm_jid_phone(const char *jid, const char *default_cc, char *out, size_t len);
int crm_find_email(const char *text, char *out, size_t len);
int crm_find_phone(const char *text, const char *default_cc, char *out, size_t len);
#define PRECHAT_NAME_MAX 100  /* characters in a pre-chat name */
#define PRECHAT_EMAIL_MAX 254 /* bytes in an email address (RFC 5321) */
int crm_prechat_check(const struct visitor *, char *email, size_t emaillen, const char **field,
    enum text_id *why, int *limit);
/* What the agent sees of a contact; store_contact_card() fills it. */
struct contact_card {
	int64_t id;
	char name[128], email[128], phone[32], company[128];
	int email_verified, phone_verified; /* a verified identity of the contact's own */
	int conversations;                  /* earlier ones, closed */
	char last_summary[512];             /* of the latest of those */
	int open_tasks;
	char task[160]; /* the title of the first due of those */
	int ratings;    /* chats the customer rated */
	double rating_avg;
	int rating_last; /* the latest score */
};
void crm_card_text(const struct contact_card *, const char *channel, char *buf, size_t len);
struct summary_facts {
	const char *customer, *channel, *queue, *first_message, *agent, *reason, *tags;
	time_t created_at, closed_at;
	int resolved;
};
void crm_summary(const struct summary_facts *, char *buf, size_t len);
/*
 * A customer's answer to "rate 1 to 5": 1 with *score and *comment (NULL when nothing but
 * the number follows: "5", "5/5", "4.", a run of stars); -1 for a lone number or run of
 * stars out of range ("6", "0", "10"); 0 when it is not a rating ("five", "3pm", "4.5").
 */
int crm_rating_parse(const char *text, int *score, const char **comment);

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
int store_conv_outbound(int64_t id); /* an agent started it */
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
int store_contact_name_fill(int64_t contact, const char *name); /* where it has none */
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
/* The contact with this verified identity (merges followed); 0 when none, -1 on error. */
int64_t store_contact_known(const char *kind, const char *value);
/*
 * Where the contact was last seen, preferring a channel that can be written to later: the
 * JID and channel of its latest conversation not on the web (else its latest web one).
 * 1 found, 0 when it has no conversation, -1 on error.
 */
int store_contact_reach(int64_t contact, char *jid, size_t jidlen, char *channel, size_t chlen);
/* Ratings: asked when an agent closes a chat; score NULL until the customer answers. */
int store_rating_ask(int64_t conv, time_t now);
int store_rating_set(int64_t conv, int score, const char *comment, time_t now);
struct stored_rating_wait {
	int64_t conv, contact_id;
	const char *queue, *entry_queue, *customer_jid, *session;
	time_t asked_at;
};
/* Questions asked at or after since and not answered, oldest first. */
int store_ratings_waiting_foreach(time_t since, int (*)(const struct stored_rating_wait *, void *),
    void *);

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
/* Durations over conversations: count, median and 90th percentile (nearest rank), mean (s). */
struct stats_times {
	long n, median, p90;
	double avg;
};

/* store_report.c: the report's figures in SQL, over the conversations that began in a period */
/* A queue as the report sees it; slots: report.c's spans of local hours, for respa_slot(). */
struct report_queue {
	const char *name, *tz;
	const struct hours *hours;
	int max_wait;
	size_t nslots;
	time_t *start;        /* nslots + 1: the last is the period's end */
	unsigned short *code; /* REPORT_CODE() of each slot */
};
/* A conversation's local hour, weekday (0 Monday) and whether the queue was open, in one int. */
#define REPORT_CODE(hour, wday, open) ((hour) + 24 * (wday) + 168 * (open))
/* What became of a contact; see README "The report". */
enum report_outcome {
	OUTCOME_ANSWERED, /* answered within the queue's max_wait */
	OUTCOME_NOTICE,   /* not answered within max_wait: the customer was told, a task made */
	OUTCOME_LEFT,     /* gone before an answer and before max_wait */
	OUTCOME_OFFLINE,  /* came while the queue was closed: kept for later */
	OUTCOME_FULL,     /* turned away: the waiting line was full */
	OUTCOME_WAITING,  /* still waiting, within max_wait */
	OUTCOME_COUNT
};
struct report_span {
	time_t since, until;
	const char *queue; /* NULL: every queue */
	int fcr_days;
	time_t now;
};
/* Fills the temporary tables the figures come from; slot(q, t) gives t's REPORT_CODE. */
int store_report_begin(const struct report_span *, const struct report_queue *, size_t nq,
    int default_max_wait, int (*slot)(const char *queue, time_t t, void *), void *arg);
void store_report_end(void);
void store_report_bulk(void); /* respa report, alone on its connection: more memory, mmap */
/* Each row: a key and up to REPORT_VALUES numbers. */
#define REPORT_VALUES 5
enum report_group {
	RG_TAGS,    /* tag; this period, the period of the same length before */
	RG_MISSED,  /* agent; offers it let time out */
	RG_FIRST,   /* agent ("": none); local hour, first response (s), chats with it */
	RG_WAIT,    /* ""; wait (s), chats with it */
	RG_RATINGS, /* agent, "" all; rated, asked, sum of scores */
	RG_SCORES,  /* score 1-5; ratings with it */
};
int store_report_groups(enum report_group, const struct report_span *,
    int (*)(const char *key, const long *v, void *), void *);
/*
 * Each conversation of the period once, in one scan (a GROUP BY per figure would sort half a
 * million rows each time): v holds its REPORT_CODE, outcome, closed by an agent, resolved by
 * one, first-contact resolved, handling time, whether it has one.
 */
int store_report_rows(int (*)(const char *queue, const char *channel, const char *agent,
                          const long *v, void *),
    void *);
int store_report_tasks(const struct report_span *, long *created, long *done, long *overdue);
int store_report_has_ratings(void); /* 1 when the database has a ratings table */
int store_report_outbound(const struct report_span *, long *n);
/* The desk queues made by commands, read with statements of their own (read-only opens). */
int store_report_desk_queues(int (*)(const char *name, const char *hours, const char *closed,
                                 const char *tz, int max_wait, void *),
    void *);

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
int store_backup(const char *database, const char *out, int *pages, char *err, size_t len);

/* store_mail.c: the mail outbox */
struct stored_mail {
	int64_t id;
	const char *kind, *to_addr, *subject, *status, *last_error;
	int attempts;
	time_t next_at, created_at;
};
int64_t store_mail_add(const char *kind, int64_t conv, int64_t contact, const char *to,
    const char *subject, const char *message, time_t now);
int store_mail_due(time_t now, int64_t *ids, int *attempts, int max);
time_t store_mail_next(void);
char *store_mail_message(int64_t id); /* new string, or NULL */
int store_mail_done(int64_t id);
int store_mail_failed(int64_t id, int attempts, time_t next, const char *why);
int store_mail_foreach(int limit, int (*)(const struct stored_mail *, void *), void *);

/* hook.c: each closed conversation's record to the [crm] hook program */
void hook_init(struct config *);
void hook_queue(int64_t conv);
void hook_free(void);
void hook_reloaded(void);
int hook_backoff(int failures);

/* proc.c: programs run beside the loop, without a shell */
pid_t proc_spawn(char *const argv[], int *in, char *why, size_t len);
void proc_feed(int *fd, const char *data, size_t len, size_t *off);
void proc_kill(pid_t);
void proc_failure(int status, int killed, const char *key, int timeout, char *why, size_t len);

/* mailer.c: the outbox, sent by the [mail] sendmail program beside the loop */
void mailer_init(struct config *);
int mailer_enabled(void);
int mailer_handoff_always(void);
/* Composes and queues a mail in the pass's batch: its outbox id, or -1. */
int64_t mailer_queue(const char *kind, int64_t conv, int64_t contact, const char *to,
    const char *to_name, const char *from_name, const char *subject, const char *body);
int64_t mailer_queue_file(const char *kind, const char *to, const char *to_name,
    const char *subject, const char *body, const struct mail *file);
void mailer_free(void);
void mailer_reloaded(void);

/* transcript.c: the chat by email for the customer; handoffs and reminders for colleagues */
/* A transcript: lines with local times, agents as agent, no JIDs, no notes. New string. */
char *transcript_text(int64_t conv, const char *tz, const char *agent, const char *customer);
void transcript_closed(const struct conv *);
/* A customer's message to an entry queue with no open chat: 1 when it answered the question. */
int transcript_reply(struct queue *entry, const char *key, const char *from, const char *body);
void transcript_free(void);
/*
 * Tells a colleague (a JID, an email address or a [person]) of a task: by XMPP when online,
 * by email otherwise (both with handoff_mail = always). Pieces may be NULL. 1 when told.
 */
int transcript_tell(const char *kind, const char *who, const char *text, const char *subject,
    const char *mailtext, int64_t conv, int64_t contact, int fallback);

/* metrics.c: the [metrics] file, rewritten on a timer */
void metrics_init(struct config *);
int metrics_write(void);
void metrics_free(void);
void metrics_reloaded(void);

/*
 * rating.c: the customer rates a chat an agent closed (queue setting rating = yes). A
 * question waits rating_window for its answer, keyed as the customer's open conversation is
 * (conversation.c's key): kept in memory, stored in `ratings`, read again at start.
 */
void rating_init(struct config *);
void rating_free_all(void);
/* Asks the customer of conversation conv (closed now) and waits for the answer. */
void rating_ask(const struct queue *q, const struct queue *entry, const char *key,
    const char *customer, int64_t conv, int64_t contact);
/* A question read back from the database (it was asked at asked_at). */
void rating_wait(const struct queue *q, const struct queue *entry, const char *key,
    const char *customer, int64_t conv, int64_t contact, time_t asked_at);
/*
 * A customer's message to entry with no conversation open: 1 when it was taken as the
 * answer to a question (or, a lone number, answered without opening a chat); 0 when it is
 * not a rating (the caller gives it to transcript_reply, then rating_forget()s the question).
 */
int rating_reply(const struct queue *entry, const char *key, xmpp_stanza_t *st, const char *from,
    const char *body);
/* The question waiting under key is over: the customer wrote something else. */
void rating_forget(const char *key);

/* care.c: retention, the database lock, respa erase-contact, respa backup */
int care_lock(const char *database);
void care_init(struct config *);
void care_free(void);
int care_erase_main(int argc, char **argv);
int care_backup_main(int argc, char **argv);

/* report.c: the figures of the report and of the stats command, computed in one place */
struct report_row {
	char *key;
	long a, b, c;
};
struct report_agent {
	char *jid;
	long chats, closed, fcr, missed, rated;
	double rating; /* mean score; rated 0: none */
	struct stats_times first, handling;
};
struct report {
	struct report_span span;
	long total, in_hours, by_agent, resolved, fcr;
	long hour[24][2]; /* [0] in hours, [1] out of hours */
	long weekday[7], weekday_in[7];
	long outcome[OUTCOME_COUNT];
	struct stats_times first, wait, handling, first_by_hour[24];
	struct report_row *channels, *queue_channels, *tags;
	size_t nchannels, nqueue_channels, ntags;
	struct report_agent *agents;
	size_t nagents;
	int has_ratings;
	long rated, asked, scores[5];
	double rating; /* mean score */
	long tasks_created, tasks_done, tasks_overdue;
	long outbound; /* chats agents started: not contacts, left out of the rest */
};
/* Queues from the configuration (and desk): their names, hours, zones and max_wait. */
int report_compute(struct report *, const struct report_span *, struct report_queue *, size_t nq,
    int default_max_wait);
void report_free(struct report *);
void report_queues_free(struct report_queue *, size_t n);
long report_percent(long part, long whole); /* rounded; 0 when whole is 0 */
/* Count, nearest-rank median and 90th percentile, mean of values each held by n chats. */
struct report_bin {
	long value, n;
};
void report_times_of(struct report_bin *, size_t n, struct stats_times *); /* sorts them */
void report_duration(long secs, char *buf, size_t len);
extern const char *const report_outcome_names[OUTCOME_COUNT];
extern const char *const report_weekdays[7];

/* report_page.c: the report as one self-contained HTML page */
void report_page(FILE *, const struct report *);

/* report_html.c: respa report */
int report_main(int argc, char **argv);

/* export.c: respa export */
int export_main(int argc, char **argv);
int export_parse_time(const char *, int end, time_t *);
/* One CSV field; guard: a leading ' before a formula (= + - @ tab CR). */
void export_csv_field(FILE *, const char *, int guard);

/* main.c */
extern volatile sig_atomic_t respa_quit;

#endif
