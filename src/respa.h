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

#define DEFAULT_CAPACITY 3
#define DEFAULT_MAX_BODY 10000

/* A presence <show/>, ordered from least to most available. */
enum show { SHOW_OFFLINE, SHOW_DND, SHOW_XA, SHOW_AWAY, SHOW_AVAILABLE, SHOW_CHAT };

/* One online resource of an agent. */
struct resource {
	char *name;
	enum show show;
	struct resource *next;
};

/* An agent's place in one queue; linked into the queue's ready line while it can take a chat. */
struct member {
	struct agent *agent;
	struct queue *queue;
	int tier;
	int ready;                      /* 1 while linked into queue->ready */
	TAILQ_ENTRY(member) ready_link; /* longest idle first */
	struct member *next_of_agent;
};
TAILQ_HEAD(member_line, member);

struct agent {
	char *jid; /* bare */
	int capacity;
	int chats; /* open conversations assigned to it */
	enum show show; /* best over all resources */
	struct resource *resources;
	struct member *members;
	struct agent *next; /* config order */
};

enum conv_state { CONV_QUEUED, CONV_ACTIVE, CONV_CLOSED };

struct conv {
	int64_t id;
	char node[24];  /* c-<id>, the local part of addr */
	char *addr;     /* c-<id>@component: the agent's side of the chat */
	char *customer; /* full JID the customer last wrote from: replies go there */
	char *key;      /* queue name + bare customer JID: finds the open conversation */
	struct queue *queue;
	struct agent *agent; /* NULL while queued */
	int64_t contact_id;
	const char *channel;
	enum conv_state state;
	time_t created_at, assigned_at, first_response_at;
	TAILQ_ENTRY(conv) wait_link; /* in queue->waiting while queued */
};
TAILQ_HEAD(conv_line, conv);

struct queue {
	char *name;  /* local part of the queue address */
	char *jid;   /* name@component */
	char *title; /* shown to people */
	char *timezone;
	char *greeting, *queued_text, *assigned_text, *closed_text;
	struct conv_line waiting; /* oldest first */
	struct member_line ready;
	size_t nwaiting;
	struct queue *next; /* config order */
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

/* iq.c */
int iq_handler(xmpp_conn_t *, xmpp_stanza_t *, void *);

/* presence.c */
void presence_init(struct config *);
int presence_handler(xmpp_conn_t *, xmpp_stanza_t *, void *);
void presence_connected(void);
struct agent *presence_agent(const char *bare);
int agent_can_take(const struct agent *);
const char *show_name(enum show);

/* router.c */
void router_init(struct config *);
void router_reset(void);
void router_agent_changed(struct agent *);
void router_enqueue(struct conv *);
void router_dequeue(struct conv *);
struct queue *router_queue(const char *name);
struct queue *router_queues(void);

/* conversation.c */
void conversation_init(struct config *);
void conversation_free_all(void);
int conversation_restore(void);
void conversation_reload(void);
int conversation_handler(xmpp_conn_t *, xmpp_stanza_t *, void *);
void conversation_assign(struct conv *, struct agent *);
size_t conversation_count(void);
struct conv *conversation_find(const char *node);

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

/* crm.c: rules for the CRM record; no SQL */
const char *crm_channel(const char *customer_jid);
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
	const char *queue, *customer_jid, *agent_jid, *channel, *state;
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
int64_t store_contact_for_jid(const char *jid, time_t now);
int64_t store_conv_add(const char *queue, const char *customer, int64_t contact_id,
    const char *channel, time_t now);
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
time_t respa_now(void);
extern volatile int respa_quit;

#endif
