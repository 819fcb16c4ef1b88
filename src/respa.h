/*
 * respa: an XMPP external component (XEP-0114) that routes customer chats to agents.
 *
 * One shared header. Data flows one way:
 *   component.c (link, dispatch)  ->  presence.c / conversation.c / iq.c
 *   -> router.c (who takes which chat) -> store.c (the only SQL) -> stanza.c (every outgoing stanza)
 */
#ifndef RESPA_H
#define RESPA_H

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

#define DEFAULT_CAPACITY 3
#define DEFAULT_MAX_BODY 10000

/* A presence <show/>, ordered from least to most available. */
enum show { SHOW_OFFLINE, SHOW_DND, SHOW_XA, SHOW_AWAY, SHOW_AVAILABLE, SHOW_CHAT };

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

enum strategy { STRATEGY_LONGEST_IDLE, STRATEGY_LEAST_BUSY, STRATEGY_ROUND_ROBIN,
	STRATEGY_RING_ALL };
enum mode { MODE_AUTO, MODE_OFFER };

/* An agent's place in one queue; in the queue's ready heap of its tier while it can take a chat. */
struct member {
	struct agent *agent;
	struct queue *queue;
	int tier;            /* 1 first; tier k is offered after (k - 1) * tier_wait of waiting */
	size_t slot;         /* index + 1 in queue->ready[tier - 1], 0 while not ready */
	uint64_t turn;       /* round-robin: when it last got a chat of this queue */
	unsigned told_open;  /* the queue opening it was told about (offline contacts) */
	struct member *next_of_agent;
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
	int chats;    /* open conversations assigned to it */
	int offers;   /* offers waiting for its answer: each holds a slot */
	enum show show; /* best over all resources */
	int paused;   /* by hand or after missed offers; survives what the client says */
	char *pause_reason;
	int missed;   /* offers missed in a row */
	uint64_t idle_since; /* longest-idle order: when its load last changed */
	int64_t wrap_until; /* ms: whole seconds would cut wrap-up short */
	struct timer wrap_timer, grace_timer;
	struct conv_line convs; /* its active conversations */
	struct offer *offer_list;
	struct resource *resources;
	struct member *members;
	struct agent *next; /* config order */
};

enum conv_state { CONV_QUEUED, CONV_OFFERED, CONV_ACTIVE, CONV_OFFLINE, CONV_CLOSED };

/* An agent that rejected or missed a chat is not offered it again for a while. */
struct exclusion {
	struct agent *agent;
	int64_t until; /* ms */
};
#define CONV_EXCLUSIONS 4

struct conv {
	int64_t id;
	char node[24];  /* c-<id>, the local part of addr */
	char *addr;     /* c-<id>@component: the agent's side of the chat */
	char *customer; /* full JID the customer last wrote from: replies go there */
	char *key;      /* entry queue name + bare customer JID: finds the open conversation */
	struct queue *entry; /* the address the customer writes to; replies come from it */
	struct queue *queue; /* where it is routed: the entry queue, or where it was transferred */
	struct agent *agent; /* while active */
	struct offer *offers;
	struct exclusion excl[CONV_EXCLUSIONS];
	int64_t contact_id;
	char *channel;
	enum conv_state state;
	struct relay_ids *ids; /* relay.c: recent message ids of both sides */
	time_t created_at, assigned_at, first_response_at, last_activity;
	int64_t queued_at;   /* ms, when it last entered a waiting line (tiers) */
	size_t told_place;   /* the place in line the customer was last told */
	time_t told_at;
	int followup;        /* a follow-up task for the queue exists */
	int requeued;        /* goes back to the front of the line */
	struct timer max_wait_timer, idle_timer, grace_timer;
	TAILQ_ENTRY(conv) wait_link;  /* in queue->waiting, or queue->offline */
	TAILQ_ENTRY(conv) agent_link; /* in agent->convs while active */
};

struct member_heap {
	struct member **v;
	size_t n, cap;
};

#define RECENT_WAITS 10

struct queue {
	char *name;  /* local part of the queue address */
	char *jid;   /* name@component */
	char *title; /* shown to people */
	char *timezone;
	char *greeting, *queued_text, *assigned_text, *closed_text, *offline_text, *max_wait_text;
	enum strategy strategy;
	enum mode mode;
	int capacity;        /* 0: each agent's own */
	int tier_wait, offer_timeout, max_wait, wrap_up, idle_close, customer_grace;
	int notice_interval; /* least time between two place-in-line notices */
	struct hours *hours;
	int open;            /* within business hours */
	unsigned opening;    /* counts openings: agents are told of offline contacts once each */
	int offline_waiting; /* offline contacts left from the last closed period */
	struct conv_line waiting; /* oldest first */
	struct conv_line offline; /* out-of-hours conversations */
	size_t nwaiting;
	struct member_heap *ready; /* one per tier */
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
	char *default_country; /* calling code for phone numbers written without one */
	struct domain *domains;
	struct map *domain_map;  /* domain name -> struct domain */
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
/* returns a new string, must be free()d */
char *xasprintf(const char *, ...) __attribute__((format(printf, 1, 2)));
time_t respa_now(void);
int64_t respa_now_ms(void);
void time_iso(time_t, char buf[32]);
int time_parse_iso(const char *, time_t *);
int tz_exists(const char *);
int tz_localtime(const char *tz, time_t, struct tm *);
int tz_mktime(const char *tz, struct tm *, time_t *);
char *jid_bare(const char *); /* new string, must be free()d */
int jid_split(const char *jid, char *node, size_t nodelen, char *domain, size_t domainlen);
void str_trim(char *);

/* map.c: string key -> pointer; keys are not copied, they must live as long as the entry */
struct map *map_new(void);
void map_free(struct map *);
void *map_get(const struct map *, const char *key);
void map_put(struct map *, const char *key, void *value);
void *map_del(struct map *, const char *key);
size_t map_count(const struct map *);
void map_foreach(const struct map *, void (*)(const char *, void *, void *), void *arg);

/* log.c */
void log_init(int verbose, const char *progname);
void log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
extern const xmpp_log_t log_strophe;

/* config.c */
/* Parses path; on error prints "file:line: message" lines to err and returns NULL. */
struct config *config_load(const char *path, FILE *err);
void config_free(struct config *);
int config_is_admin(const struct config *, const char *bare);

/* component.c: the XEP-0114 link */
void component_init(struct config *, xmpp_ctx_t *);
void component_start(void);
void component_stop(void);
void component_free(void);
int component_is_connected(void);
int component_is_finished(void);
int component_fatal(void);
xmpp_ctx_t *component_ctx(void);
const char *component_jid(void);
/* Takes the stanza: it is sent after the current batch is durably stored. */
void component_send(xmpp_stanza_t *);
void component_flush(void);
void component_abort_pass(void);
unsigned long component_handled(void);

/* stanza.c: every outgoing stanza is built here; each returns a new stanza for component_send() */
xmpp_stanza_t *stanza_message(const char *from, const char *to, const char *body);
xmpp_stanza_t *stanza_message_delayed(const char *from, const char *to, const char *body,
    time_t stamp);
xmpp_stanza_t *stanza_presence(const char *from, const char *to, const char *type);
xmpp_stanza_t *stanza_presence_status(const char *from, const char *to, const char *show,
    const char *status);
xmpp_stanza_t *stanza_error(xmpp_stanza_t *in, const char *type, const char *condition,
    const char *text);
xmpp_stanza_t *stanza_result(xmpp_stanza_t *iq);
struct disco_item {
	const char *jid, *name;
};
xmpp_stanza_t *stanza_disco_info(xmpp_stanza_t *iq, const char *category, const char *type,
    const char *name, const char *const *features);
xmpp_stanza_t *stanza_disco_items(xmpp_stanza_t *iq, const struct disco_item *, size_t);
xmpp_stanza_t *stanza_version(xmpp_stanza_t *iq, const char *name, const char *version);
/* new string, must be free()d; NULL when the stanza has no <body/> */
char *stanza_body(xmpp_stanza_t *);
size_t stanza_body_len(xmpp_stanza_t *);
const char *stanza_show(xmpp_stanza_t *presence);
/* The web widget's <visitor/> (NS_VISITOR): its session token and the site's visitor id. */
struct visitor {
	const char *session; /* 16 to 64 of [A-Za-z0-9_-] */
	const char *id;      /* NULL when the site gave none; at most 128 bytes */
};
/* 1 with v filled (pointing into the stanza), or 0 when there is none or it is malformed */
int stanza_visitor(xmpp_stanza_t *, struct visitor *);

/* iq.c */
int iq_handler(xmpp_conn_t *, xmpp_stanza_t *, void *);

/* presence.c: agents' availability */
void presence_init(struct config *);
int presence_handler(xmpp_conn_t *, xmpp_stanza_t *, void *);
void presence_connected(void);
void presence_agent_command(struct agent *, const char *body);
struct agent *presence_agent(const char *bare);
int agent_available(const struct agent *);
void agent_pause(struct agent *, const char *reason);
void agent_ready(struct agent *);
void agent_wrap_up(struct agent *, int seconds);
const char *show_name(enum show);

/* router.c: who takes which chat */
void router_init(struct config *);
void router_reset(void);
void router_free(void);
void router_agent_changed(struct agent *);
void router_agent_busy(struct agent *);
void router_enqueue(struct conv *);
void router_dequeue(struct conv *);
void router_dispatch(struct queue *);
void router_exclude(struct conv *, struct agent *, int seconds);
int router_has_free(const struct queue *);
size_t router_place(const struct conv *);
long router_estimate(const struct queue *, size_t place);
struct queue *router_queue(const char *name);
struct queue *router_queues(void);
const char *strategy_name(enum strategy);
int strategy_parse(const char *, enum strategy *);

/* queue.c: what customers see of a queue: hours, place in line, the queue's presence */
void queue_init(struct config *);
void queue_restored(void);
void queue_free_all(void);
void queue_changed(struct queue *);
void queue_agent_ready(struct member *);
void queue_tell_queued(struct conv *);
void queue_presence_in(xmpp_stanza_t *, const char *from, const char *to, const char *type);
void queue_show_to(struct queue *, const char *jid);

/* timer.c: deadlines in one heap; callbacks run from the main loop */
void timer_init(struct timer *, void (*fn)(void *), void *arg);
void timer_at(struct timer *, int64_t at_ms);
void timer_in(struct timer *, double seconds);
void timer_cancel(struct timer *);
int timer_armed(const struct timer *);
int64_t timer_next(void);
void timer_run(void);
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
size_t conversation_count(void);
struct conv *conversation_find(const char *node);

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
void relay_message(struct relay_ids *, xmpp_stanza_t *in, enum relay_side sender,
    const char *from, const char *to, const char *body);
/* stanza.c: NULL when nothing is left to relay; map(arg, id) is NULL for an unknown id */
xmpp_stanza_t *stanza_relay(xmpp_stanza_t *in, const char *from, const char *to,
    const char *body, const char *(*map)(void *, const char *), void *arg, char id[40]);

/* slash.c: "/name args" written by an agent; pure */
struct slash {
	char name[16];
	const char *args; /* points into the body, trimmed at the front */
};
/* 1 when body is a command, 0 when it is text for the customer ("//x" is the text "/x"). */
int slash_parse(const char *body, struct slash *);

/* due.c: due times for tasks; pure */
/* Reads an optional due time at the start of s (in tz). 0 with *due = 0 when there is none. */
int due_parse(const char *s, time_t now, const char *tz, time_t *due, const char **rest,
    char *err, size_t errlen);

/* hours.c: business hours of a queue, in its time zone; pure */
struct hours_span {
	int day;       /* 0 = Monday ... 6 = Sunday */
	int from, to;  /* minutes since local midnight; to may be 1440 (24:00); to < from runs past midnight */
};
struct hours {
	struct hours_span *spans; /* none: open around the clock (except closed dates) */
	size_t nspans;
	int *closed;              /* closed dates: YYYYMMDD, or MMDD for every year */
	size_t nclosed;
};
/* "Mon-Fri 09:00-17:00, Sat 10:00-14:00"; also "always". 0, or -1 with err filled and h unchanged */
int hours_parse(struct hours *h, const char *spec, char *err, size_t errlen);
/* "2026-12-24 2026-12-25, 12-31" (space or comma separated; MM-DD means every year) */
int hours_parse_closed(struct hours *h, const char *dates, char *err, size_t errlen);
void hours_free(struct hours *h);  /* frees the arrays, leaves h empty (always open) */
int hours_is_open(const struct hours *h, const char *tz, time_t t);      /* 1 open, 0 closed */
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
struct summary_facts {
	const char *customer, *channel, *queue, *first_message, *agent, *reason, *tags;
	time_t created_at, closed_at;
	int resolved;
};
void crm_summary(const struct summary_facts *, char *buf, size_t len);

/* store.c: the only SQL */
struct migration {
	int version;
	const char *name;
	const char *sql;
};
extern const struct migration migrations[];
extern const size_t nmigrations;

struct stored_conv {
	int64_t id, contact_id;
	const char *queue, *entry_queue, *customer_jid, *agent_jid, *channel, *state, *session;
	time_t created_at, assigned_at, first_response_at;
};
struct stored_message {
	const char *direction, *sender_jid, *body;
	time_t created_at;
};
int store_open(const char *path, int synchronous_full);
void store_close(void);
int store_commit(void);
int store_user_version(void);
/* An address a contact is known by: kind "jid" (bare), "phone" (E.164), "visitor" (the site's id). */
struct identity {
	const char *kind, *value;
};
int64_t store_contact_for(const struct identity *, size_t n, time_t now);
int64_t store_contact_for_jid(const char *jid, time_t now);
int64_t store_conv_add(const char *queue, const char *customer, int64_t contact_id,
    const char *channel, const char *state, const char *session, time_t now);
int store_conv_requeue(int64_t id, const char *queue);
int store_conv_state(int64_t id, const char *state);
int store_agent_status(const char *jid, int paused, const char *reason, time_t now);
int store_agent_status_foreach(int (*)(const char *jid, int paused, const char *reason, void *),
    void *);
int store_tasks_open_count(const char *assignee, const char *kind);
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
int64_t store_task_add(int64_t conv, int64_t contact, const char *assignee, const char *kind,
    const char *title, time_t due, time_t now);
int store_conv_close(int64_t id, const char *reason, const char *agent, const char *summary,
    const char *tags, int resolved, time_t now);
int store_conv_open_foreach(int (*)(const struct stored_conv *, void *), void *);
int store_messages_foreach(int64_t conv, int (*)(const struct stored_message *, void *), void *);

/* main.c */
extern volatile int respa_quit;

#endif
