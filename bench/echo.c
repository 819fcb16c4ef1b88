/*
 * bench/echo: the smallest useful libstrophe component, as the ceiling respa is measured
 * against. For each <message> with a body it replies to the sender, from the address the
 * message was sent to, with the same body: parse, build a reply, send. That is the least work
 * any component built on libstrophe does per message, so bench/loadgen --compare reports
 * respa's throughput and latency as a fraction of this. Like respa's link it sets TCP_NODELAY,
 * so both pay the same per-segment cost and neither waits for delayed ACKs.
 *
 * usage: echo JID SECRET HOST PORT       exits 0 on SIGTERM or SIGINT, 1 when the link fails
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* sigaction under -std=c11; the Makefile defines it too */
#endif
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <strophe.h>

#define LOOP_MS 250
#define STOP_GRACE_S 2

struct echo {
	xmpp_ctx_t *ctx;
	xmpp_conn_t *conn;
	int connected; /* the handshake succeeded at least once */
	int lost;      /* the link went down without our asking */
};

static volatile sig_atomic_t quit;

static void
on_signal(int sig)
{
	(void)sig;
	quit = 1;
}

/* Same work per message as respa's stanza_message(): a fresh id, a body, from and to. */
static int
message_handler(xmpp_conn_t *conn, xmpp_stanza_t *st, void *arg)
{
	struct echo *e = arg;
	const char *from = xmpp_stanza_get_from(st), *to = xmpp_stanza_get_to(st);
	const char *type = xmpp_stanza_get_type(st);
	xmpp_stanza_t *reply;
	char *body, *id;

	if (from == NULL || to == NULL || (type && strcmp(type, "error") == 0))
		return 1; /* never answer an error: two components could loop */
	if ((body = xmpp_message_get_body(st)) == NULL)
		return 1;
	id = xmpp_uuid_gen(e->ctx);
	reply = xmpp_message_new(e->ctx, type ? type : "chat", from, id);
	xmpp_stanza_set_from(reply, to); /* a component must always set from */
	xmpp_message_set_body(reply, body);
	xmpp_send(conn, reply);
	xmpp_stanza_release(reply);
	xmpp_free(e->ctx, id);
	xmpp_free(e->ctx, body);
	return 1;
}

static void
conn_handler(xmpp_conn_t *conn, xmpp_conn_event_t ev, int err, xmpp_stream_error_t *se,
    void *arg)
{
	struct echo *e = arg;

	if (ev == XMPP_CONN_CONNECT) {
		e->connected = 1;
		/* NULL namespace: component stanzas are in jabber:component:accept */
		xmpp_handler_add(conn, message_handler, NULL, "message", NULL, e);
		return;
	}
	if (!quit) {
		fprintf(stderr, "echo: disconnected%s%s%s\n", err ? ": " : "",
		    err ? strerror(err) : "", se ? " (stream error)" : "");
		e->lost = 1;
	}
}

/*
 * libstrophe 0.12.2 never allocates the stream-management state in component mode and
 * dereferences it on the first stanza. One client connect that the sockopt callback refuses
 * at once allocates it (see shared/STACK.md and src/component.c).
 */
static int
refuse_socket(xmpp_conn_t *conn, void *sock)
{
	(void)conn, (void)sock;
	return -1;
}

static void
noop_conn_handler(xmpp_conn_t *c, xmpp_conn_event_t ev, int err, xmpp_stream_error_t *se,
    void *arg)
{
	(void)c, (void)ev, (void)err, (void)se, (void)arg;
}

/* The same socket options as respa's link: keepalive, and no Nagle. */
static int
sockopt_cb(xmpp_conn_t *conn, void *sock)
{
	int one = 1;

	setsockopt(*(int *)sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return xmpp_sockopt_cb_keepalive(conn, sock);
}

static void
alloc_sm_state_workaround(xmpp_conn_t *conn)
{
	xmpp_conn_set_sockopt_callback(conn, refuse_socket);
	(void)xmpp_connect_client(conn, "127.0.0.1", 1, noop_conn_handler, NULL);
	xmpp_conn_set_sockopt_callback(conn, sockopt_cb);
}

static void
signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

/* Runs until a signal (then closes the stream, for at most STOP_GRACE_S) or a lost link. */
static void
run(struct echo *e)
{
	time_t stop_by = 0;

	while (!e->lost) {
		xmpp_run_once(e->ctx, LOOP_MS);
		if (quit && stop_by == 0) {
			stop_by = time(NULL) + STOP_GRACE_S;
			if (!xmpp_conn_is_disconnected(e->conn))
				xmpp_disconnect(e->conn);
		}
		if (stop_by && (xmpp_conn_is_disconnected(e->conn) || time(NULL) > stop_by))
			break;
	}
}

int
main(int argc, char **argv)
{
	struct echo e;
	long port;
	int rc;

	if (argc != 5 || (port = strtol(argv[4], NULL, 10)) < 1 || port > 65535) {
		fprintf(stderr, "usage: echo JID SECRET HOST PORT\n");
		return 1;
	}
	memset(&e, 0, sizeof(e));
	signals();
	xmpp_initialize();
	e.ctx = xmpp_ctx_new(NULL, NULL); /* no logger: its formatting would be measured too */
	e.conn = xmpp_conn_new(e.ctx);
	xmpp_conn_set_jid(e.conn, argv[1]);
	xmpp_conn_set_pass(e.conn, argv[2]);
	alloc_sm_state_workaround(e.conn);
	if (xmpp_connect_component(e.conn, argv[3], (unsigned short)port, conn_handler, &e) !=
	    XMPP_EOK) {
		fprintf(stderr, "echo: cannot connect to %s:%ld\n", argv[3], port);
		e.lost = 1;
	} else
		run(&e);
	rc = e.lost ? 1 : 0;
	xmpp_conn_release(e.conn);
	xmpp_ctx_free(e.ctx);
	xmpp_shutdown();
	return rc;
}
