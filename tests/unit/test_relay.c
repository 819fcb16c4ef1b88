/*
 * relay.c's id ring and stanza_relay(): what crosses, with which ids; what respa's addresses
 * announce (disco#info, XEP-0115 caps) and which messages are end-to-end encrypted.
 */
#include <stdlib.h>

#include "check.h"

static xmpp_ctx_t *ctx;
static struct relay_ids *ring;

static xmpp_stanza_t *
parse(const char *xml)
{
	xmpp_stanza_t *st = xmpp_stanza_new_from_string(ctx, xml);

	if (st == NULL)
		fatalx("bad stanza: %s", xml);
	return st;
}

/* How many element children out has; the payloads are checked one by one. */
static int
nchildren(xmpp_stanza_t *out)
{
	xmpp_stanza_t *c;
	int n = 0;

	for (c = xmpp_stanza_get_children(out); c; c = xmpp_stanza_get_next(c))
		if (xmpp_stanza_is_tag(c))
			n++;
	return n;
}

static xmpp_stanza_t *
child(xmpp_stanza_t *out, const char *name, const char *ns)
{
	return xmpp_stanza_get_child_by_name_and_ns(out, name, ns);
}

static const char *
child_id(xmpp_stanza_t *out, const char *name, const char *ns)
{
	xmpp_stanza_t *c = child(out, name, ns);

	return c ? xmpp_stanza_get_attribute(c, "id") : NULL;
}

static char *
text_of(xmpp_stanza_t *e, const char *name)
{
	static char buf[256];
	xmpp_stanza_t *c = e ? xmpp_stanza_get_child_by_name(e, name) : NULL;
	char *t = c ? xmpp_stanza_get_text(c) : NULL;

	if (t == NULL)
		return NULL;
	snprintf(buf, sizeof(buf), "%s", t);
	xmpp_free(ctx, t);
	return buf;
}

static const char *
map_agent_side(void *arg, const char *id)
{
	return relay_ids_lookup(arg, RELAY_AGENT, id);
}

/* Relays xml written by the agent to the customer, ids mapped through the ring. */
static xmpp_stanza_t *
from_agent(const char *xml, const char *body, char id[40])
{
	xmpp_stanza_t *in = parse(xml), *out;

	out = stanza_relay(in, "support@support.localhost", "bob@localhost/web", body,
	    map_agent_side, ring, id);
	xmpp_stanza_release(in);
	return out;
}

static void
test_ring_both_ways(void)
{
	struct relay_ids *r = relay_ids_new();

	CHECK(relay_ids_lookup(r, RELAY_AGENT, "x") == NULL);
	CHECK(relay_ids_lookup(NULL, RELAY_AGENT, "x") == NULL);
	relay_ids_record(r, "cust-1", "r0-1");
	relay_ids_record(r, "r0-2", "agent-1");
	CHECK_STR(relay_ids_lookup(r, RELAY_CUSTOMER, "cust-1"), "r0-1");
	CHECK_STR(relay_ids_lookup(r, RELAY_AGENT, "r0-1"), "cust-1");
	CHECK_STR(relay_ids_lookup(r, RELAY_AGENT, "agent-1"), "r0-2");
	CHECK_STR(relay_ids_lookup(r, RELAY_CUSTOMER, "r0-2"), "agent-1");
	/* an id is looked up on its own side only */
	CHECK(relay_ids_lookup(r, RELAY_AGENT, "cust-1") == NULL);
	CHECK(relay_ids_lookup(r, RELAY_CUSTOMER, "agent-1") == NULL);
	CHECK(relay_ids_lookup(r, RELAY_CUSTOMER, "cust-") == NULL);
	/* a client that reuses an id means its latest message */
	relay_ids_record(r, "cust-1", "r0-3");
	CHECK_STR(relay_ids_lookup(r, RELAY_CUSTOMER, "cust-1"), "r0-3");
	CHECK_STR(relay_ids_lookup(r, RELAY_AGENT, "r0-1"), "cust-1");
	relay_ids_free(r);
	relay_ids_free(NULL);
}

static void
test_ring_is_bounded(void)
{
	struct relay_ids *r = relay_ids_new();
	char c[32], a[32], big[RELAY_ID_MAX + 2];
	int i, kept = 0, gone = 0;

	for (i = 0; i < 1000; i++) {
		snprintf(c, sizeof(c), "c%d", i);
		snprintf(a, sizeof(a), "a%d", i);
		relay_ids_record(r, c, a);
	}
	for (i = 0; i < 1000; i++) {
		snprintf(c, sizeof(c), "c%d", i);
		snprintf(a, sizeof(a), "a%d", i);
		if (relay_ids_lookup(r, RELAY_CUSTOMER, c) && relay_ids_lookup(r, RELAY_AGENT, a))
			kept++;
		else if (!relay_ids_lookup(r, RELAY_CUSTOMER, c) &&
		    !relay_ids_lookup(r, RELAY_AGENT, a))
			gone++;
	}
	CHECK_INT(kept, RELAY_PAIRS);
	CHECK_INT(gone, 1000 - RELAY_PAIRS);
	CHECK_STR(relay_ids_lookup(r, RELAY_CUSTOMER, "c999"), "a999");
	snprintf(c, sizeof(c), "c%d", 1000 - RELAY_PAIRS);
	snprintf(a, sizeof(a), "a%d", 1000 - RELAY_PAIRS);
	CHECK_STR(relay_ids_lookup(r, RELAY_CUSTOMER, c), a);
	snprintf(c, sizeof(c), "c%d", 999 - RELAY_PAIRS);
	CHECK(relay_ids_lookup(r, RELAY_CUSTOMER, c) == NULL);

	/* an id a client made too long is not kept: its references are dropped */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	relay_ids_record(r, big, "a-big");
	CHECK(relay_ids_lookup(r, RELAY_AGENT, "a-big") == NULL);
	CHECK(relay_ids_lookup(r, RELAY_CUSTOMER, big) == NULL);
	big[RELAY_ID_MAX] = '\0';
	relay_ids_record(r, big, "a-max");
	CHECK_STR(relay_ids_lookup(r, RELAY_AGENT, "a-max"), big);
	relay_ids_free(r);
}

static void
test_allowed_payloads_only(void)
{
	xmpp_stanza_t *in, *out, *x;
	char id[40];

	in = parse("<message from='bob@localhost/web' to='support@support.localhost' "
	    "type='chat' id='c-msg-1' xml:lang='en'><body>see this</body>"
	    "<composing xmlns='http://jabber.org/protocol/chatstates'/>"
	    "<request xmlns='urn:xmpp:receipts'/>"
	    "<markable xmlns='urn:xmpp:chat-markers:0'/>"
	    "<x xmlns='jabber:x:oob'><url>https://example.com/a.png</url><desc>a shot</desc>"
	    "<junk>no</junk></x>"
	    "<html xmlns='http://jabber.org/protocol/xhtml-im'>"
	    "<body xmlns='http://www.w3.org/1999/xhtml'><b>see this</b></body></html>"
	    "<thread>t-1</thread><foo xmlns='urn:example:unknown' id='c-msg-1'/>"
	    "<subject>s</subject><x xmlns='jabber:x:data'/></message>");
	out = stanza_relay(in, "c-1@support.localhost", "alice@localhost", "see this",
	    map_agent_side, ring, id);
	CHECK(out != NULL);
	CHECK_STR(xmpp_stanza_get_name(out), "message");
	CHECK_STR(xmpp_stanza_get_type(out), "chat");
	CHECK_STR(xmpp_stanza_get_from(out), "c-1@support.localhost");
	CHECK_STR(xmpp_stanza_get_to(out), "alice@localhost");
	CHECK_STR(xmpp_stanza_get_id(out), id);
	CHECK(id[0] == 'r' && strcmp(id, "c-msg-1") != 0);
	CHECK(xmpp_stanza_get_attribute(out, "lang") == NULL);
	CHECK_STR(text_of(out, "body"), "see this");
	CHECK_INT(nchildren(out), 5);
	CHECK(child(out, "composing", NS_CHATSTATES) != NULL);
	CHECK(child(out, "request", NS_RECEIPTS) != NULL);
	CHECK(child(out, "markable", NS_MARKERS) != NULL);
	x = child(out, "x", NS_OOB);
	CHECK_STR(text_of(x, "url"), "https://example.com/a.png");
	CHECK_STR(text_of(x, "desc"), "a shot");
	CHECK(x && nchildren(x) == 2);
	CHECK(child(out, "html", "http://jabber.org/protocol/xhtml-im") == NULL);
	CHECK(xmpp_stanza_get_child_by_name(out, "thread") == NULL);
	CHECK(xmpp_stanza_get_child_by_name(out, "subject") == NULL);
	CHECK(xmpp_stanza_get_child_by_ns(out, "urn:example:unknown") == NULL);
	xmpp_stanza_release(out);
	xmpp_stanza_release(in);
}

static void
test_bodiless(void)
{
	xmpp_stanza_t *out;
	char id[40];
	static const char *const states[] = { "active", "composing", "paused", "inactive",
	    "gone" };
	char xml[256];
	size_t i;

	for (i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
		snprintf(xml, sizeof(xml), "<message type='chat' id='s%zu'><%s "
		    "xmlns='http://jabber.org/protocol/chatstates'/></message>", i, states[i]);
		out = from_agent(xml, NULL, id);
		CHECK(out && child(out, states[i], NS_CHATSTATES) != NULL);
		CHECK(out && xmpp_stanza_get_child_by_name(out, "body") == NULL);
		CHECK(out && nchildren(out) == 1);
		if (out)
			xmpp_stanza_release(out);
	}
	/* nothing allowed, or nothing at all: nothing to relay */
	CHECK(from_agent("<message type='chat' id='n1'/>", NULL, id) == NULL);
	CHECK(from_agent("<message type='chat' id='n2'><html "
	    "xmlns='http://jabber.org/protocol/xhtml-im'/><thread>t</thread></message>", NULL,
	    id) == NULL);
	/* a link needs its url */
	CHECK(from_agent("<message type='chat' id='n3'><x xmlns='jabber:x:oob'><desc>d</desc>"
	    "</x></message>", NULL, id) == NULL);
	/* a correction without a body corrects nothing */
	relay_ids_record(ring, "r-known", "agent-known");
	CHECK(from_agent("<message type='chat' id='n4'><replace id='agent-known' "
	    "xmlns='urn:xmpp:message-correct:0'/></message>", NULL, id) == NULL);
}

static void
test_references_mapped(void)
{
	xmpp_stanza_t *out;
	char id[40];

	/* the agent saw r-cust-7, the customer's c7 */
	relay_ids_record(ring, "c7", "r-cust-7");
	/* the agent wrote a5, the customer saw r-agent-5 */
	relay_ids_record(ring, "r-agent-5", "a5");

	out = from_agent("<message type='chat' id='rc1'><received xmlns='urn:xmpp:receipts' "
	    "id='r-cust-7'/></message>", NULL, id);
	CHECK_STR(out ? child_id(out, "received", NS_RECEIPTS) : NULL, "c7");
	if (out)
		xmpp_stanza_release(out);

	out = from_agent("<message type='chat' id='m1'><displayed "
	    "xmlns='urn:xmpp:chat-markers:0' id='r-cust-7'/></message>", NULL, id);
	CHECK_STR(out ? child_id(out, "displayed", NS_MARKERS) : NULL, "c7");
	if (out)
		xmpp_stanza_release(out);
	out = from_agent("<message type='chat' id='m2'><received "
	    "xmlns='urn:xmpp:chat-markers:0' id='r-cust-7'/><acknowledged "
	    "xmlns='urn:xmpp:chat-markers:0' id='r-cust-7'/></message>", NULL, id);
	CHECK_STR(out ? child_id(out, "received", NS_MARKERS) : NULL, "c7");
	CHECK_STR(out ? child_id(out, "acknowledged", NS_MARKERS) : NULL, "c7");
	if (out)
		xmpp_stanza_release(out);

	/* a correction of the agent's own message names the id the customer saw */
	out = from_agent("<message type='chat' id='a6'><body>fixed text</body><replace "
	    "xmlns='urn:xmpp:message-correct:0' id='a5'/></message>", "fixed text", id);
	CHECK_STR(out ? child_id(out, "replace", NS_CORRECT) : NULL, "r-agent-5");
	CHECK_STR(out ? text_of(out, "body") : NULL, "fixed text");
	if (out)
		xmpp_stanza_release(out);

	/* unknown ids are never passed on: the reference goes, a body stays */
	CHECK(from_agent("<message type='chat' id='u1'><received xmlns='urn:xmpp:receipts' "
	    "id='c7'/></message>", NULL, id) == NULL);
	CHECK(from_agent("<message type='chat' id='u2'><displayed "
	    "xmlns='urn:xmpp:chat-markers:0' id='gone-long-ago'/></message>", NULL, id) == NULL);
	CHECK(from_agent("<message type='chat' id='u3'><received "
	    "xmlns='urn:xmpp:receipts'/></message>", NULL, id) == NULL);
	out = from_agent("<message type='chat' id='u4'><body>again</body><replace "
	    "xmlns='urn:xmpp:message-correct:0' id='gone-long-ago'/><active "
	    "xmlns='http://jabber.org/protocol/chatstates'/></message>", "again", id);
	CHECK(out && child(out, "replace", NS_CORRECT) == NULL);
	CHECK(out && child(out, "active", NS_CHATSTATES) != NULL);
	CHECK(out && nchildren(out) == 2);
	if (out)
		xmpp_stanza_release(out);
}

/*
 * The relay is written as text: bodies, addresses and payload texts are escaped and
 * repaired as component_send() repairs a stanza, so what goes out is well-formed.
 */
static void
test_text_escaped_and_repaired(void)
{
	xmpp_stanza_t *in, *out, *x, *const *queued;
	struct relay_ids *r = relay_ids_new();
	char id[40], *body;

	in = parse("<message type='chat' id='e1'><x xmlns='jabber:x:oob'>"
	           "<url>http://a.example/?a=1&amp;b=&lt;2&gt;</url><desc>\"q\" &amp; 'a'</desc></x>"
	           "</message>");
	out = stanza_relay(in, "c-1@support.localhost", "alice@localhost/r&<'\"", 
	    "a < b && c > \"d\" 'e' \xff\x01 caf\xc3\xa9", NULL, NULL, id);
	CHECK(out != NULL);
	body = out ? stanza_body(out) : NULL;
	CHECK_STR(body, "a < b && c > \"d\" 'e' \xef\xbf\xbd caf\xc3\xa9");
	free(body);
	CHECK_STR(out ? xmpp_stanza_get_to(out) : NULL, "alice@localhost/r&<'\"");
	CHECK_STR(out ? xmpp_stanza_get_from(out) : NULL, "c-1@support.localhost");
	CHECK_STR(out ? xmpp_stanza_get_type(out) : NULL, "chat");
	CHECK_STR(out ? xmpp_stanza_get_id(out) : NULL, id);
	x = out ? child(out, "x", NS_OOB) : NULL;
	CHECK_STR(text_of(x, "url"), "http://a.example/?a=1&b=<2>");
	CHECK_STR(text_of(x, "desc"), "\"q\" & 'a'");
	if (out)
		xmpp_stanza_release(out);

	/* relay_message() queues it as text; the outbox parses again */
	component_flush();
	relay_message(r, in, RELAY_AGENT, "support@support.localhost", "bob@localhost/web",
	    "x\xc0\x80<y>");
	CHECK(component_outbox(&queued) == 1);
	body = stanza_body(queued[0]);
	CHECK_STR(body, "x\xef\xbf\xbd\xef\xbf\xbd<y>");
	free(body);
	CHECK(child(queued[0], "x", NS_OOB) != NULL);
	component_flush();
	xmpp_stanza_release(in);
	relay_ids_free(r);
}

/* relay_message() remembers messages with a body only: chat states would flush the ring. */
static void
test_relay_message_records_bodies(void)
{
	struct relay_ids *r = relay_ids_new();
	xmpp_stanza_t *in;
	const char *ours;

	in = parse("<message type='chat' id='cb1'><body>hi</body></message>");
	relay_message(r, in, RELAY_CUSTOMER, "c-1@support.localhost", "alice@localhost", "hi");
	xmpp_stanza_release(in);
	ours = relay_ids_lookup(r, RELAY_CUSTOMER, "cb1");
	CHECK(ours != NULL && ours[0] == 'r');
	CHECK_STR(ours ? relay_ids_lookup(r, RELAY_AGENT, ours) : NULL, "cb1");

	in = parse("<message type='chat' id='ab1'><body>hello</body></message>");
	relay_message(r, in, RELAY_AGENT, "support@support.localhost", "bob@localhost/web",
	    "hello");
	xmpp_stanza_release(in);
	ours = relay_ids_lookup(r, RELAY_AGENT, "ab1");
	CHECK(ours != NULL && ours[0] == 'r');
	CHECK_STR(ours ? relay_ids_lookup(r, RELAY_CUSTOMER, ours) : NULL, "ab1");

	in = parse("<message type='chat' id='cs1'><composing "
	    "xmlns='http://jabber.org/protocol/chatstates'/></message>");
	relay_message(r, in, RELAY_CUSTOMER, "c-1@support.localhost", "alice@localhost", NULL);
	xmpp_stanza_release(in);
	CHECK(relay_ids_lookup(r, RELAY_CUSTOMER, "cs1") == NULL);

	in = parse("<message type='chat'><body>no id</body></message>");
	relay_message(r, in, RELAY_CUSTOMER, "c-1@support.localhost", "alice@localhost",
	    "no id");
	xmpp_stanza_release(in);
	CHECK(relay_ids_lookup(r, RELAY_CUSTOMER, "cb1") != NULL); /* nothing to remember */
	relay_ids_free(r);
}

/* XEP-0115's own example (section 5.2), then respa's presence and its caps. */
static void
test_caps(void)
{
	static const char *const exodus[] = { "http://jabber.org/protocol/muc",
		"http://jabber.org/protocol/disco#info", "http://jabber.org/protocol/caps",
		"http://jabber.org/protocol/disco#items", NULL };
	xmpp_stanza_t *p, *c, *iq, *info, *q, *e;
	char ver[CAPS_VER_LEN], *features = NULL, *t;

	caps_ver("client", "pc", "Exodus 0.9.1", exodus, ver);
	CHECK_STR(ver, "QgayPKawpkPSDYmwT/WM94uAlu0=");

	/* the ver on a queue's presence is the hash of what its disco#info says */
	p = stanza_presence_status("support@support.localhost", "bob@localhost", "away", "2 waiting",
	    ADDRESS_QUEUE, "Support", "en");
	c = child(p, "c", NS_CAPS);
	CHECK(c != NULL);
	CHECK_STR(xmpp_stanza_get_attribute(c, "hash"), "sha-1");
	CHECK_STR(xmpp_stanza_get_attribute(c, "node"), CAPS_NODE);
	iq = parse("<iq type='get' id='d1' from='bob@localhost/x' to='support@support.localhost'>"
	           "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
	info = stanza_address_info(iq, ADDRESS_QUEUE, "Support");
	q = child(info, "query", NS_DISCO_INFO);
	e = xmpp_stanza_get_child_by_name(q, "identity");
	CHECK_STR(xmpp_stanza_get_attribute(e, "name"), "Support");
	for (e = xmpp_stanza_get_children(q); e; e = xmpp_stanza_get_next(e))
		if (strcmp(xmpp_stanza_get_name(e), "feature") == 0) {
			t = xasprintf("%s%s%s", features ? features : "", features ? " " : "",
			    xmpp_stanza_get_attribute(e, "var"));
			free(features);
			features = t;
		}
	CHECK(features && strstr(features, NS_PING) && strstr(features, NS_DISCO_INFO) &&
	    strstr(features, NS_CHATSTATES));
	{
		const char *list[16];
		char *save = NULL, *w;
		int n = 0;

		for (w = strtok_r(features, " ", &save); w && n < 15; w = strtok_r(NULL, " ", &save))
			list[n++] = w;
		list[n] = NULL;
		caps_ver("client", "bot", "Support", list, ver);
		CHECK_STR(xmpp_stanza_get_attribute(c, "ver"), ver);
	}
	free(features);
	xmpp_stanza_release(info);
	xmpp_stanza_release(iq);
	xmpp_stanza_release(p);

	/* another name, another ver; the same again, the same ver */
	p = stanza_presence_status("sales@support.localhost", "bob@localhost", NULL, NULL,
	    ADDRESS_QUEUE, "Sales", NULL);
	caps_ver("client", "bot", "Sales", (const char *const[]){ NS_CHATSTATES, NS_DISCO_INFO,
	    NS_PING, NS_CORRECT, NS_MARKERS, NS_RECEIPTS, NULL }, ver);
	CHECK_STR(xmpp_stanza_get_attribute(child(p, "c", NS_CAPS), "ver"), ver);
	xmpp_stanza_release(p);
}

/* Which messages are end-to-end encrypted: those with a text in a scheme's element. */
static void
test_encryption(void)
{
	static const struct {
		const char *xml, *want;
	} cases[] = {
		{ "<message><body>I sent you an OMEMO encrypted message</body>"
		  "<encrypted xmlns='eu.siacs.conversations.axolotl'><header sid='1'/>"
		  "<payload>AAA=</payload></encrypted></message>", "OMEMO" },
		{ "<message><encrypted xmlns='urn:xmpp:omemo:2'><header sid='1'/><payload>AA==</payload>"
		  "</encrypted></message>", "OMEMO" },
		/* a key transport: keys only, no text */
		{ "<message><encrypted xmlns='eu.siacs.conversations.axolotl'><header sid='1'/>"
		  "</encrypted></message>", NULL },
		{ "<message><openpgp xmlns='urn:xmpp:openpgp:0'>BASE64</openpgp></message>",
		  "OpenPGP" },
		{ "<message><body>This message is encrypted.</body><x xmlns='jabber:x:encrypted'>"
		  "qANQR1DB</x></message>", "OpenPGP" },
		{ "<message><body>?OTR:AAMD</body><encryption xmlns='urn:xmpp:eme:0' "
		  "namespace='urn:xmpp:otr:0'/></message>", "OTR" },
		{ "<message><body>x</body><encryption xmlns='urn:xmpp:eme:0' namespace='urn:x:new'/>"
		  "</message>", "end-to-end encryption" },
		{ "<message><body>plain</body><active xmlns='" NS_CHATSTATES "'/></message>", NULL },
		{ "<message><x xmlns='jabber:x:oob'><url>https://x</url></x></message>", NULL },
	};
	xmpp_stanza_t *st;
	const char *got;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		st = parse(cases[i].xml);
		got = stanza_encryption(st);
		if (cases[i].want)
			CHECK_STR(got ? got : "(none)", cases[i].want);
		else
			CHECK(got == NULL);
		xmpp_stanza_release(st);
	}
}

int
main(void)
{
	struct config conf;

	memset(&conf, 0, sizeof(conf));
	conf.jid = "support.localhost";
	conf.secret = "unit";
	xmpp_initialize();
	ctx = xmpp_ctx_new(NULL, NULL);
	component_init(&conf, ctx);
	ring = relay_ids_new();

	test_ring_both_ways();
	test_ring_is_bounded();
	test_allowed_payloads_only();
	test_bodiless();
	test_references_mapped();
	test_relay_message_records_bodies();
	test_caps();
	test_encryption();
	test_text_escaped_and_repaired();

	relay_ids_free(ring);
	component_free(); /* drops what relay_message() queued */
	xmpp_ctx_free(ctx);
	xmpp_shutdown();
	return check_done();
}
