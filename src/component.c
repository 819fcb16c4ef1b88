/*
 * The XEP-0114 link to the XMPP server: connect, reconnect with backoff, dispatch stanzas,
 * and the one way out. Named "component" rather than "xmpp" to stay out of libstrophe's
 * xmpp_ namespace.
 *
 * Outgoing stanzas wait in an outbox until the main loop has committed the batch of the
 * current pass: a message is durably stored before it is relayed. When the commit fails,
 * each message and each iq get/set of the pass is answered with an error instead.
 *
 * The outbox is text: each stanza is written out (stanza.c's relay directly, any other
 * serialised) as it is queued, and a committed pass goes to libstrophe as one piece, which
 * it writes with one system call instead of one per stanza.
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "respa.h"

#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 30000

static struct {
	struct config *conf;
	xmpp_ctx_t *ctx;
	xmpp_conn_t *conn;
	unsigned long backoff_ms;
	size_t server; /* conf->servers[server] is the one in use or tried next */
	size_t failed; /* attempts failed in a row since the last backoff or connect */
	int reconnect_pending;
	int connected;
	int stopping;
	int fatal;       /* a stream error that retrying cannot mend */
	struct text out; /* the pass's stanzas, in the order queued */
	size_t *ends;    /* where each of them ends in out */
	size_t nout, outcap;
	xmpp_stanza_t **parsed; /* component_outbox()'s: out parsed again, for tests */
	size_t nparsed, parsedcap;
	size_t *pieces; /* stanzas in each piece handed to libstrophe and not yet written */
	size_t phead, npieces, piececap, backlog;
	xmpp_stanza_t **inbox; /* messages, iq get/set of this pass: an error if it fails */
	size_t nin, incap;
	xmpp_stanza_t **held; /* what arrived while twin.c checked for another respa */
	size_t nheld, heldcap;
	unsigned long handled;
	int fd; /* the link's socket, from the sockopt callback; -1 before the first */
	struct component_handlers on; /* main.c's: what stanzas go to */
} comp;

static void conn_handler(xmpp_conn_t *, xmpp_conn_event_t, int, xmpp_stream_error_t *, void *);

xmpp_ctx_t *
component_ctx(void)
{
	return comp.ctx;
}

const char *
component_jid(void)
{
	return comp.conf->jid;
}

int
component_is_connected(void)
{
	return comp.connected;
}

/* The server the link is up with, or NULL. */
const struct server *
component_server(void)
{
	return comp.connected ? &comp.conf->servers[comp.server] : NULL;
}

int
component_fatal(void)
{
	return comp.fatal;
}

/* Done when a stop was asked for, or a fatal stream error ended the comp. */
int
component_is_finished(void)
{
	return (comp.stopping || comp.fatal) && xmpp_conn_is_disconnected(comp.conn);
}

static void
push(xmpp_stanza_t ***list, size_t *n, size_t *cap, xmpp_stanza_t *st)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		*list = xrealloc(*list, *cap * sizeof(**list));
	}
	(*list)[(*n)++] = st;
}

static void
release_all(xmpp_stanza_t **list, size_t *n)
{
	size_t i;

	for (i = 0; i < *n; i++)
		xmpp_stanza_release(list[i]);
	*n = 0;
}

/* The text of one whole stanza, valid UTF-8 and XML, joins the outbox. */
void
component_send_text(const char *xml, size_t len)
{
	if (comp.nout == comp.outcap) {
		comp.outcap = comp.outcap ? comp.outcap * 2 : 64;
		comp.ends = xrealloc(comp.ends, comp.outcap * sizeof(*comp.ends));
	}
	text_put(&comp.out, xml, len);
	comp.ends[comp.nout++] = comp.out.len;
}

/*
 * One invalid byte and the server closes the whole stream (not-well-formed), losing every
 * stanza after it: the last guard repairs the text and names who built it.
 */
void
component_send_from(xmpp_stanza_t *st, const char *file, int line, const char *func)
{
	const char *name = xmpp_stanza_get_name(st), *base = strrchr(file, '/');
	char *xml;
	size_t len;
	int n;

	if ((n = stanza_repair(st)) > 0)
		log_warnx("%s (%s:%d): %d text%s of a <%s/> not valid UTF-8 or XML: repaired", func,
		    base ? base + 1 : file, line, n, n == 1 ? "" : "s", name ? name : "?");
	if (xmpp_stanza_to_text(st, &xml, &len) != XMPP_EOK)
		fatalx("out of memory writing a <%s/>", name ? name : "?");
	component_send_text(xml, len);
	xmpp_free(comp.ctx, xml);
	xmpp_stanza_release(st);
}

static void
outbox_clear(void)
{
	release_all(comp.parsed, &comp.nparsed);
	comp.nout = 0;
	comp.out.len = 0;
	if (comp.out.cap > 1 << 20) /* a pass of huge stanzas does not keep its buffer */
		text_free(&comp.out);
}

/*
 * The outbox to libstrophe as one piece; component_backlog() counts its stanzas until
 * libstrophe has written it.
 */
static void
hand_over(void)
{
	if (comp.nout == 0)
		return;
	if (!comp.connected) {
		log_warnx("not connected: %zu stanzas not sent", comp.nout);
		outbox_clear();
		return;
	}
	if (comp.npieces == comp.piececap) { /* grow the ring, oldest first again */
		size_t i, cap = comp.piececap ? comp.piececap * 2 : 64,
		          *p = xcalloc(cap, sizeof(*p));

		for (i = 0; i < comp.npieces; i++)
			p[i] = comp.pieces[(comp.phead + i) % comp.piececap];
		free(comp.pieces);
		comp.pieces = p;
		comp.piececap = cap;
		comp.phead = 0;
	}
	comp.pieces[(comp.phead + comp.npieces++) % comp.piececap] = comp.nout;
	comp.backlog += comp.nout;
	xmpp_send_raw(comp.conn, comp.out.s, comp.out.len);
	outbox_clear();
}

/* Hands the batch to libstrophe, which writes it at the start of the next loop pass. */
void
component_flush(void)
{
	hand_over();
	release_all(comp.inbox, &comp.nin);
}

/*
 * What waits to be sent, parsed again (tests read it: they run without a server);
 * component_flush empties it.
 */
size_t
component_outbox(xmpp_stanza_t *const **list)
{
	size_t i, start = 0;
	char *xml;

	release_all(comp.parsed, &comp.nparsed);
	for (i = 0; i < comp.nout; start = comp.ends[i++]) {
		xml = xstrndup(comp.out.s + start, comp.ends[i] - start);
		push(&comp.parsed, &comp.nparsed, &comp.parsedcap,
		    xmpp_stanza_new_from_string(comp.ctx, xml));
		if (comp.parsed[i] == NULL)
			fatalx("queued stanza %zu is not well-formed: %s", i, xml);
		free(xml);
	}
	*list = comp.parsed;
	return comp.nparsed;
}

/*
 * The pass's changes were not stored: send none of its stanzas, so nothing unstored is
 * relayed, tell the sender of each message of the pass to send it again, and answer each
 * iq of the pass (its reply was among those dropped) with the same error: every iq get or
 * set gets exactly one reply.
 */
void
component_abort_pass(void)
{
	size_t i;
	int is_iq;

	log_warnx("%zu messages and iqs refused and %zu stanzas dropped: the database failed",
	    comp.nin, comp.nout);
	outbox_clear();
	for (i = 0; i < comp.nin && comp.connected; i++) {
		is_iq = strcmp(xmpp_stanza_get_name(comp.inbox[i]), "iq") == 0;
		component_send(stanza_error(comp.inbox[i], "wait", "internal-server-error",
		    is_iq
		        ? "The request could not be completed: the database failed. Please try again "
		          "in a moment."
		        : "Your message could not be stored, so it was not delivered. Please send it "
		          "again in a moment."));
	}
	hand_over();
	release_all(comp.inbox, &comp.nin);
}

/*
 * Stanzas in the pieces libstrophe has not written yet. It counts the pieces (the one being
 * written as gone): the newest that many are still queued, the older ones are out.
 */
int
component_backlog(void)
{
	int queued;

	if (!comp.conn || !comp.connected)
		return 0;
	queued = xmpp_conn_send_queue_len(comp.conn);
	while (comp.npieces > (size_t)(queued > 0 ? queued : 0)) {
		comp.backlog -= comp.pieces[comp.phead];
		comp.phead = (comp.phead + 1) % comp.piececap;
		comp.npieces--;
	}
	return (int)comp.backlog;
}

/*
 * Waits until the kernel takes more of what libstrophe holds: then its next pass writes
 * before it reads. Linux reports a TCP socket writable once a third of its send buffer is
 * free, so each pass under back-pressure writes a good part of a buffer, then reads at most
 * one 4 KiB block.
 */
int
component_wait_writable(int ms)
{
	struct pollfd p;

	if (!comp.connected || comp.fd < 0)
		return 1;
	p.fd = comp.fd;
	p.events = POLLOUT;
	p.revents = 0;
	return poll(&p, 1, ms) != 0;
}

/* Stanzas handled since start: the loop reads on while this grows (group commit). */
unsigned long
component_handled(void)
{
	return comp.handled;
}

/* 1 when twin.c takes st (a probe) or it waits for twin.c's verdict. */
static int
held(xmpp_stanza_t *st)
{
	if (twin_stanza(st))
		return 1;
	if (!twin_checking())
		return 0;
	push(&comp.held, &comp.nheld, &comp.heldcap, xmpp_stanza_clone(st));
	return 1;
}

static int
presence_counted(xmpp_conn_t *conn, xmpp_stanza_t *st, void *arg)
{
	if (held(st))
		return 1;
	comp.handled++;
	return comp.on.presence(conn, st, arg);
}

/* Every iq get/set is kept until its pass is stored, as messages are: it gets one reply. */
static int
iq_counted(xmpp_conn_t *conn, xmpp_stanza_t *st, void *arg)
{
	const char *type = xmpp_stanza_get_type(st);

	if (held(st))
		return 1;
	comp.handled++;
	comp.on.sender(xmpp_stanza_get_from(st));
	if (xmpp_stanza_get_from(st) && type &&
	    (strcmp(type, "get") == 0 || strcmp(type, "set") == 0))
		push(&comp.inbox, &comp.nin, &comp.incap, xmpp_stanza_clone(st));
	return comp.on.iq(conn, st, arg);
}

/* Every message is kept until its pass is stored; errors are never answered. */
static int
message_handler(xmpp_conn_t *conn, xmpp_stanza_t *st, void *arg)
{
	const char *type = xmpp_stanza_get_type(st);

	if (held(st))
		return 1;
	comp.handled++;
	comp.on.sender(xmpp_stanza_get_from(st));
	if (type == NULL || strcmp(type, "error") != 0)
		push(&comp.inbox, &comp.nin, &comp.incap, xmpp_stanza_clone(st));
	return comp.on.message(conn, st, arg);
}

/*
 * libstrophe 0.12 never allocates the stream-management state in component mode and
 * dereferences it on the first stanza. One client connect that our sockopt callback refuses
 * at once allocates it and leaves the connection disconnected (see shared/STACK.md).
 */
static int
refuse_socket(xmpp_conn_t *conn, void *sock)
{
	(void)conn;
	(void)sock;
	return -1;
}

static void
noop_conn_handler(xmpp_conn_t *c, xmpp_conn_event_t e, int err, xmpp_stream_error_t *se, void *arg)
{
	(void)c, (void)e, (void)err, (void)se, (void)arg;
}

/*
 * No Nagle: a pass often writes two stanzas (a relay and a notice); without TCP_NODELAY the
 * second waits for the server's delayed ACK, up to 40 ms on Linux (bench/c2sload showed it).
 */
static int
tune_socket(xmpp_conn_t *conn, void *sock)
{
	int one = 1;

	comp.fd = *(int *)sock;
	if (setsockopt(*(int *)sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == -1)
		log_warn("TCP_NODELAY");
	return xmpp_sockopt_cb_keepalive(conn, sock);
}

static void
alloc_sm_state_workaround(xmpp_conn_t *conn)
{
	xmpp_conn_set_sockopt_callback(conn, refuse_socket);
	(void)xmpp_connect_client(conn, "127.0.0.1", 1, noop_conn_handler, NULL);
	xmpp_conn_set_sockopt_callback(conn, tune_socket);
}

static int
connect_now(void)
{
	const struct server *sv = &comp.conf->servers[comp.server];

	log_info("connecting to %s as %s", sv->name, comp.conf->jid);
	return xmpp_connect_component(comp.conn, sv->host, (unsigned short)sv->port, conn_handler,
	           NULL) == XMPP_EOK
	    ? 0
	    : -1;
}

static void schedule_reconnect(void);

/* A global timed handler: connection timers do not fire while disconnected. */
static int
reconnect_timer(xmpp_ctx_t *ctx, void *arg)
{
	(void)ctx, (void)arg;
	comp.reconnect_pending = 0;
	if (!comp.stopping && xmpp_conn_is_disconnected(comp.conn) && connect_now() == -1)
		schedule_reconnect();
	return 0;
}

/*
 * The server in use failed or dropped the link: the next one of the list is tried at once,
 * and after a round of failures all of them wait out the backoff.
 */
static void
schedule_reconnect(void)
{
	if (comp.stopping || comp.fatal || comp.reconnect_pending)
		return;
	comp.reconnect_pending = 1;
	comp.server = (comp.server + 1) % comp.conf->nservers;
	if (++comp.failed < comp.conf->nservers) {
		log_info("trying the next server, %s", comp.conf->servers[comp.server].name);
		xmpp_global_timed_handler_add(comp.ctx, reconnect_timer, 1, NULL);
		return;
	}
	comp.failed = 0;
	log_info("reconnecting in %lu ms", comp.backoff_ms);
	xmpp_global_timed_handler_add(comp.ctx, reconnect_timer, comp.backoff_ms, NULL);
	comp.backoff_ms =
	    comp.backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : comp.backoff_ms * 2;
}

static const char *
stream_error_name(xmpp_stream_error_t *se)
{
	switch (se->type) {
	case XMPP_SE_CONFLICT: return "conflict";
	case XMPP_SE_NOT_AUTHORIZED: return "not-authorized";
	case XMPP_SE_HOST_UNKNOWN: return "host-unknown";
	case XMPP_SE_INVALID_FROM: return "invalid-from";
	case XMPP_SE_POLICY_VIOLATION: return "policy-violation";
	case XMPP_SE_SYSTEM_SHUTDOWN: return "system-shutdown";
	case XMPP_SE_CONN_TIMEOUT: return "connection-timeout";
	default: return "stream error";
	}
}

/* Errors that would only repeat on reconnect end the daemon with a clear message. */
static void
stream_error(xmpp_stream_error_t *se)
{
	const char *name = stream_error_name(se), *text = se->text ? se->text : "";

	switch (se->type) {
	case XMPP_SE_CONFLICT:
		log_warnx("conflict: another respa is connected as %s, and only one respa may run "
		          "per component; exiting",
		    comp.conf->jid);
		comp.fatal = 1;
		break;
	case XMPP_SE_NOT_AUTHORIZED:
		/* Prosody says host-unknown for an unknown domain; ejabberd says this for both */
		log_warnx(
		    "not-authorized: the server refused the component: either the secret is "
		    "wrong or the server has no component %s; check [component] jid and secret in "
		    "%s and the server's component configuration%s%s%s",
		    comp.conf->jid, comp.conf->path, *text ? " (the server said: " : "", text,
		    *text ? ")" : "");
		comp.fatal = 1;
		break;
	case XMPP_SE_HOST_UNKNOWN:
		log_warnx("host-unknown: the server has no component %s; check its configuration",
		    comp.conf->jid);
		comp.fatal = 1;
		break;
	default: log_warnx("the server closed the stream: %s %s", name, text);
	}
}

/* No other respa answered our probes: handle what waited, in the order it came. */
static void
twin_passed(void)
{
	xmpp_stanza_t *st;
	const char *name;
	size_t i;

	log_info("connected as %s, ready", comp.conf->jid);
	comp.on.connected();
	for (i = 0; i < comp.nheld; i++) {
		st = comp.held[i];
		name = xmpp_stanza_get_name(st);
		if (strcmp(name, "message") == 0)
			message_handler(comp.conn, st, NULL);
		else if (strcmp(name, "presence") == 0)
			presence_counted(comp.conn, st, NULL);
		else
			iq_counted(comp.conn, st, NULL);
	}
	release_all(comp.held, &comp.nheld);
}

/* Another respa is connected as our domain: hand back what waited and end (exit 1). */
static void
twin_refused(void)
{
	xmpp_stanza_t *st;
	const char *type;
	size_t i;

	outbox_clear();
	for (i = 0; i < comp.nheld; i++) {
		st = comp.held[i];
		type = xmpp_stanza_get_type(st);
		if (strcmp(xmpp_stanza_get_name(st), "presence") == 0 ||
		    (type && (strcmp(type, "error") == 0 || strcmp(type, "result") == 0)))
			continue;
		component_send(stanza_error(st, "wait", "service-unavailable",
		    "This service is "
		    "restarting. Please send your message again in a moment."));
	}
	hand_over();
	release_all(comp.held, &comp.nheld);
	comp.fatal = 1;
	xmpp_disconnect(comp.conn);
}

static void
twin_send(xmpp_stanza_t *st)
{
	component_send(st);
}

static const struct twin_hooks twin_hooks = { twin_send, twin_passed, twin_refused };

static void
conn_handler(xmpp_conn_t *conn, xmpp_conn_event_t ev, int err, xmpp_stream_error_t *se, void *arg)
{
	(void)arg;
	if (ev == XMPP_CONN_CONNECT) {
		comp.connected = 1;
		comp.backoff_ms = BACKOFF_MIN_MS;
		comp.failed = 0;
		/* NULL namespace: component stanzas are in jabber:component:accept */
		xmpp_handler_add(conn, message_handler, NULL, "message", NULL, NULL);
		xmpp_handler_add(conn, presence_counted, NULL, "presence", NULL, NULL);
		xmpp_handler_add(conn, iq_counted, NULL, "iq", NULL, NULL);
		log_info("connected to %s as %s; checking that no other respa is",
		    comp.conf->servers[comp.server].name, comp.conf->jid);
		twin_start();
		return;
	}
	comp.connected = 0;
	twin_stop();
	release_all(comp.held, &comp.nheld);
	xmpp_handler_delete(conn, message_handler);
	xmpp_handler_delete(conn, presence_counted);
	xmpp_handler_delete(conn, iq_counted);
	if (se)
		stream_error(se);
	else if (!comp.stopping)
		log_warnx("disconnected from %s%s%s", comp.conf->servers[comp.server].name,
		    err ? ": " : "", err ? strerror(err) : "");
	if (!comp.stopping && !comp.fatal)
		counters[C_RECONNECTS]++;
	schedule_reconnect();
}

/* Sets up the link without connecting: stanzas can be built and handlers fed (benchmarks). */
void
component_init(struct config *conf, xmpp_ctx_t *ctx)
{
	comp.conf = conf;
	comp.ctx = ctx;
	comp.backoff_ms = BACKOFF_MIN_MS;
	comp.fd = -1;
	stanza_init(ctx, conf->jid);
	comp.conn = xmpp_conn_new(ctx);
	xmpp_conn_set_jid(comp.conn, conf->jid);
	xmpp_conn_set_pass(comp.conn, conf->secret);
	alloc_sm_state_workaround(comp.conn);
	twin_init(conf->jid, &twin_hooks);
}

void
component_set_handlers(const struct component_handlers *on)
{
	comp.on = *on;
}

void
component_start(void)
{
	if (connect_now() == -1)
		schedule_reconnect();
}

/* Closes the stream; the loop runs until the DISCONNECT event arrives. */
void
component_stop(void)
{
	comp.stopping = 1;
	if (!xmpp_conn_is_disconnected(comp.conn))
		xmpp_disconnect(comp.conn);
}

void
component_free(void)
{
	outbox_clear();
	release_all(comp.inbox, &comp.nin);
	release_all(comp.held, &comp.nheld);
	text_free(&comp.out);
	free(comp.ends);
	free(comp.parsed);
	free(comp.pieces);
	free(comp.inbox);
	free(comp.held);
	twin_free();
	xmpp_global_timed_handler_delete(comp.ctx, reconnect_timer);
	xmpp_conn_release(comp.conn);
	memset(&comp, 0, sizeof(comp));
}
