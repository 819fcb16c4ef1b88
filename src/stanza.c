/*
 * Every outgoing stanza is built here, so call sites never juggle new / add_child / release.
 * Every builder sets "from": Prosody closes the whole component stream over a missing one.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "respa.h"

static struct {
	xmpp_ctx_t *ctx;
	const char *jid; /* the component's: replies to what had no "to" come from it */
} wire;

void
stanza_init(xmpp_ctx_t *ctx, const char *jid)
{
	wire.ctx = ctx;
	wire.jid = jid;
}

/*
 * Message ids: a random prefix drawn once and a counter. Unique without a getrandom() per
 * message, which libstrophe's xmpp_uuid_gen() costs (it showed in the relay's profile).
 */
static void
next_id(char buf[40])
{
	static uint64_t prefix, counter;
	static char head[24]; /* "r" and the prefix in hex and "-", formatted once */
	char digits[24];
	size_t n = 0, len;
	uint64_t v = ++counter;

	if (prefix == 0) {
		if (RAND_bytes((unsigned char *)&prefix, sizeof(prefix)) != 1)
			fatalx("RAND_bytes failed");
		snprintf(head, sizeof(head), "r%016" PRIx64 "-", prefix);
	}
	do /* the counter in decimal, without a printf per message */
		digits[n++] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	len = strlen(head);
	memcpy(buf, head, len);
	while (n)
		buf[len++] = digits[--n];
	buf[len] = '\0';
}

static xmpp_stanza_t *
element(const char *name, const char *ns)
{
	xmpp_stanza_t *e = xmpp_stanza_new(wire.ctx);

	xmpp_stanza_set_name(e, name);
	if (ns)
		xmpp_stanza_set_ns(e, ns);
	return e;
}

/* Adds child to parent and drops our reference: the parent owns it. */
static xmpp_stanza_t *
adopt(xmpp_stanza_t *parent, xmpp_stanza_t *child)
{
	xmpp_stanza_add_child_ex(parent, child, 0);
	return child;
}

static void
add_text_child(xmpp_stanza_t *parent, const char *name, const char *text)
{
	xmpp_stanza_t *e = adopt(parent, element(name, NULL)), *t;

	t = xmpp_stanza_new(wire.ctx);
	xmpp_stanza_set_text(t, text);
	adopt(e, t);
}

xmpp_stanza_t *
stanza_message(const char *from, const char *to, const char *body)
{
	char id[40];
	xmpp_stanza_t *m;

	next_id(id);
	m = xmpp_message_new(wire.ctx, "chat", to, id);
	xmpp_stanza_set_from(m, from);
	xmpp_message_set_body(m, body);
	return m;
}

/* xml:lang on what goes to a customer: the widget follows the queue's language. */
static void
set_lang(xmpp_stanza_t *st, const char *lang)
{
	if (lang)
		xmpp_stanza_set_attribute(st, "xml:lang", lang);
}

/* respa's own line to a customer (greeting, place in line...): marked, so it looks apart. */
xmpp_stanza_t *
stanza_notice(const char *from, const char *to, const char *body, const char *lang)
{
	xmpp_stanza_t *m = stanza_message(from, to, body);

	set_lang(m, lang);
	adopt(m, element("notice", NS_WIDGET));
	return m;
}

/* The line that ends a chat: the closing text, and the reason the widget shows it ended. */
xmpp_stanza_t *
stanza_ended(const char *from, const char *to, const char *body, const char *lang,
    const char *reason)
{
	xmpp_stanza_t *m = stanza_notice(from, to, body, lang), *e;

	e = adopt(m, element("ended", NS_WIDGET));
	xmpp_stanza_set_attribute(e, "reason", reason);
	return m;
}

/* A human agent's relayed line: its display name (XEP-0172) and the customer's language. */
void
stanza_mark_agent(xmpp_stanza_t *m, const char *nick, const char *lang)
{
	xmpp_stanza_t *e, *t;

	set_lang(m, lang);
	/* a line of the agent's, not a chat state or receipt: those say nothing new */
	if (nick == NULL || *nick == '\0' || xmpp_stanza_get_child_by_name(m, "body") == NULL)
		return;
	e = adopt(m, element("nick", NS_NICK));
	t = xmpp_stanza_new(wire.ctx);
	xmpp_stanza_set_text(t, nick);
	adopt(e, t);
}

/*
 * What a relayed message may carry besides its body, and how each is copied. Everything else
 * (XHTML-IM, <thread/>, unknown payloads) stays behind: the other side sees only this.
 */
enum relay_copy {
	COPY_BARE, /* the element alone: chat states, receipt request, markable */
	COPY_REF,  /* with its id attribute mapped to the other side's; unknown: dropped */
	COPY_OOB,  /* <x/> rebuilt from its <url/> and <desc/> */
};

static const struct relay_payload {
	const char *ns, *name;
	enum relay_copy copy;
	int needs_body; /* a correction without a body corrects nothing */
} relay_payloads[] = {
	{ NS_CHATSTATES, "active", COPY_BARE, 0 },
	{ NS_CHATSTATES, "composing", COPY_BARE, 0 },
	{ NS_CHATSTATES, "paused", COPY_BARE, 0 },
	{ NS_CHATSTATES, "inactive", COPY_BARE, 0 },
	{ NS_CHATSTATES, "gone", COPY_BARE, 0 },
	{ NS_RECEIPTS, "request", COPY_BARE, 0 },
	{ NS_RECEIPTS, "received", COPY_REF, 0 },
	{ NS_CORRECT, "replace", COPY_REF, 1 },
	{ NS_MARKERS, "markable", COPY_BARE, 0 },
	{ NS_MARKERS, "received", COPY_REF, 0 },
	{ NS_MARKERS, "displayed", COPY_REF, 0 },
	{ NS_MARKERS, "acknowledged", COPY_REF, 0 },
	{ NS_OOB, "x", COPY_OOB, 0 },
};

static const struct relay_payload *
relay_payload(xmpp_stanza_t *e)
{
	const char *ns = xmpp_stanza_get_ns(e), *name = xmpp_stanza_get_name(e);
	size_t i;

	if (ns == NULL || name == NULL)
		return NULL;
	for (i = 0; i < sizeof(relay_payloads) / sizeof(relay_payloads[0]); i++)
		if (strcmp(relay_payloads[i].ns, ns) == 0 &&
		    strcmp(relay_payloads[i].name, name) == 0)
			return &relay_payloads[i];
	return NULL;
}

static void
put(struct text *b, const char *s)
{
	text_put(b, s, strlen(s));
}

/* A name="value" attribute: names are respa's own; values are repaired and escaped. */
static void
put_attr(struct text *b, const char *name, const char *value)
{
	put(b, " ");
	put(b, name);
	put(b, "=\"");
	text_put_xml(b, value, strlen(value));
	put(b, "\"");
}

/* <name>text</name> for in's child called name, if it has text; 1 when written. */
static int
put_text_child(struct text *b, xmpp_stanza_t *in, const char *name)
{
	xmpp_stanza_t *e = xmpp_stanza_get_child_by_name(in, name);
	char *text = e ? xmpp_stanza_get_text(e) : NULL;

	if (text == NULL)
		return 0;
	put(b, "<");
	put(b, name);
	put(b, ">");
	text_put_xml(b, text, strlen(text));
	put(b, "</");
	put(b, name);
	put(b, ">");
	xmpp_free(wire.ctx, text);
	return 1;
}

/* A clean copy of one allowed payload appended to b; 0 (b untouched) when it cannot go. */
static int
relay_copy(struct text *b, xmpp_stanza_t *in, const struct relay_payload *p,
    const char *(*map)(void *, const char *), void *arg)
{
	size_t start = b->len;
	const char *id = NULL;

	/* never a foreign id: it would name nothing, or the wrong message */
	if (p->copy == COPY_REF &&
	    ((id = xmpp_stanza_get_attribute(in, "id")) == NULL || (id = map(arg, id)) == NULL))
		return 0;
	put(b, "<");
	put(b, p->name);
	put_attr(b, "xmlns", p->ns);
	if (id)
		put_attr(b, "id", id);
	if (p->copy != COPY_OOB) {
		put(b, "/>");
		return 1;
	}
	put(b, ">");
	if (!put_text_child(b, in, "url")) {
		b->len = start;
		b->s[start] = '\0';
		return 0;
	}
	(void)put_text_child(b, in, "desc");
	put(b, "</");
	put(b, p->name);
	put(b, ">");
	return 1;
}

/*
 * A chat message relaying in, appended to b as text: a new id (written to id), the given
 * body (NULL for none) and clean copies of in's allowed payloads, ids they refer to mapped
 * through map(arg, id) (NULL: unknown). Returns 0, b untouched, when there is nothing to
 * relay: no body and no payload left.
 *
 * The relay is the one stanza written as text instead of a tree, because it is the one sent
 * for every message: a tree costs a dozen allocations and libstrophe serialises it with a
 * printf per piece. Every text in it goes through text_put_xml(), which repairs and escapes
 * as stanza_repair() and libstrophe would.
 */
int
stanza_relay_text(struct text *b, xmpp_stanza_t *in, const char *from, const char *to,
    const char *body, const char *nick, const char *lang, const char *(*map)(void *, const char *),
    void *arg, char id[40])
{
	const struct relay_payload *p;
	size_t start = b->len;
	xmpp_stanza_t *c;
	int n = 0;

	next_id(id);
	put(b, "<message type=\"chat\"");
	put_attr(b, "to", to);
	put_attr(b, "id", id);
	put_attr(b, "from", from);
	if (lang)
		put_attr(b, "xml:lang", lang);
	put(b, ">");
	if (body) {
		put(b, "<body>");
		text_put_xml(b, body, strlen(body));
		put(b, "</body>");
		/* an agent's line under their display name (XEP-0172); chat states say nothing new */
		if (nick && *nick) {
			put(b, "<nick xmlns=\"" NS_NICK "\">");
			text_put_xml(b, nick, strlen(nick));
			put(b, "</nick>");
		}
	}
	for (c = xmpp_stanza_get_children(in); c; c = xmpp_stanza_get_next(c)) {
		if (!xmpp_stanza_is_tag(c) || (p = relay_payload(c)) == NULL)
			continue;
		if (p->needs_body && body == NULL)
			continue;
		n += relay_copy(b, c, p, map, arg);
	}
	if (body == NULL && n == 0) {
		b->len = start;
		b->s[start] = '\0';
		return 0;
	}
	put(b, "</message>");
	return 1;
}

/* The same relay as a stanza (tests read it so); NULL when there is nothing to relay. */
xmpp_stanza_t *
stanza_relay(xmpp_stanza_t *in, const char *from, const char *to, const char *body,
    const char *(*map)(void *, const char *), void *arg, char id[40])
{
	struct text b = { NULL, 0, 0 };
	xmpp_stanza_t *m = NULL;

	if (stanza_relay_text(&b, in, from, to, body, NULL, NULL, map, arg, id) &&
	    (m = xmpp_stanza_new_from_string(wire.ctx, b.s)) == NULL)
		fatalx("a relayed message did not parse: %s", b.s);
	text_free(&b);
	return m;
}

/* A message replayed from the transcript carries its original time (XEP-0203). */
xmpp_stanza_t *
stanza_message_delayed(const char *from, const char *to, const char *body, time_t stamp)
{
	xmpp_stanza_t *m = stanza_message(from, to, body), *d;
	char ts[32];

	time_iso(stamp, ts);
	d = adopt(m, element("delay", NS_DELAY));
	xmpp_stanza_set_attribute(d, "from", from);
	xmpp_stanza_set_attribute(d, "stamp", ts);
	return m;
}

/* --- what each address is: disco#info and XEP-0115 caps on its presence -------------- */

static const char *const domain_features[] = { NS_COMMANDS, NS_DISCO_INFO, NS_DISCO_ITEMS, NS_PING,
	NS_VERSION, NULL };
/* a queue or chat address relays these between customer and agent (stanza_relay()) */
static const char *const chat_features[] = { NS_CHATSTATES, NS_DISCO_INFO, NS_PING, NS_CORRECT,
	NS_MARKERS, NS_RECEIPTS, NULL };

static const struct {
	const char *category, *type, *name; /* name: NULL for the caller's */
	const char *const *features;
} identities[] = {
	[ADDRESS_DOMAIN] = { "component", "generic", "respa customer chat", domain_features },
	[ADDRESS_QUEUE] = { "client", "bot", NULL, chat_features },
	[ADDRESS_CONV] = { "client", "bot", "conversation", chat_features },
};

static int
by_bytes(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void
caps_ver(const char *category, const char *type, const char *name, const char *const *features,
    char ver[CAPS_VER_LEN])
{
	const char *sorted[32];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	size_t n = 0, i;
	char *s, *t;

	while (features[n] && n < sizeof(sorted) / sizeof(sorted[0])) {
		sorted[n] = features[n];
		n++;
	}
	qsort(sorted, n, sizeof(sorted[0]), by_bytes);
	s = xasprintf("%s/%s//%s<", category, type, name); /* no xml:lang */
	for (i = 0; i < n; i++) {
		t = xasprintf("%s%s<", s, sorted[i]);
		free(s);
		s = t;
	}
	if (EVP_Digest(s, strlen(s), md, &mdlen, EVP_sha1(), NULL) != 1 || mdlen != 20)
		fatalx("EVP_Digest(sha1) failed");
	free(s);
	(void)EVP_EncodeBlock((unsigned char *)ver, md, (int)mdlen); /* 28 characters and NUL */
}

/* The caps element for an address; the last one's ver is kept: a queue's watchers share it. */
static void
add_caps(xmpp_stanza_t *p, enum address_kind kind, const char *name)
{
	static struct {
		int kind;
		char *name;
		char ver[CAPS_VER_LEN];
	} last = { -1, NULL, "" };
	xmpp_stanza_t *c;

	if (identities[kind].name)
		name = identities[kind].name;
	if (last.kind != (int)kind || last.name == NULL || strcmp(last.name, name) != 0) {
		caps_ver(identities[kind].category, identities[kind].type, name,
		    identities[kind].features, last.ver);
		free(last.name);
		last.name = xstrdup(name);
		last.kind = (int)kind;
	}
	c = adopt(p, element("c", NS_CAPS));
	xmpp_stanza_set_attribute(c, "hash", "sha-1");
	xmpp_stanza_set_attribute(c, "node", CAPS_NODE);
	xmpp_stanza_set_attribute(c, "ver", last.ver);
}

/* The rating question: its body for any client, <rating/> for the widget's buttons. */
xmpp_stanza_t *
stanza_rating_question(const char *from, const char *to, const char *body, int max,
    const char *lang)
{
	xmpp_stanza_t *m = stanza_notice(from, to, body, lang), *r;
	char n[16];

	snprintf(n, sizeof(n), "%d", max);
	r = adopt(m, element("rating", NS_WIDGET));
	xmpp_stanza_set_attribute(r, "max", n);
	return m;
}

/* A yes/no question after a chat (kind "transcript"): its body for any client, <question/>
 * for the widget's buttons. */
xmpp_stanza_t *
stanza_question(const char *from, const char *to, const char *body, const char *kind,
    const char *lang)
{
	xmpp_stanza_t *m = stanza_notice(from, to, body, lang);

	xmpp_stanza_set_attribute(adopt(m, element("question", NS_WIDGET)), "kind", kind);
	return m;
}

xmpp_stanza_t *
stanza_presence(const char *from, const char *to, const char *type)
{
	xmpp_stanza_t *p = xmpp_presence_new(wire.ctx);

	xmpp_stanza_set_from(p, from);
	xmpp_stanza_set_to(p, to);
	if (type)
		xmpp_stanza_set_type(p, type);
	return p;
}

xmpp_stanza_t *
stanza_twin_probe(const char *from, const char *to)
{
	char id[40];
	xmpp_stanza_t *m;

	next_id(id);
	m = xmpp_message_new(wire.ctx, "headline", to, id);
	xmpp_stanza_set_from(m, from);
	adopt(m, element("twin", NS_TWIN));
	return m;
}

/*
 * An available presence with a <show/> (NULL: plain available), a status text (NULL: none)
 * in lang, and the caps of what sends it.
 */
xmpp_stanza_t *
stanza_presence_status(const char *from, const char *to, const char *show, const char *status,
    enum address_kind kind, const char *name, const char *lang)
{
	xmpp_stanza_t *p = stanza_presence(from, to, NULL);

	set_lang(p, lang);
	if (show)
		add_text_child(p, "show", show);
	if (status)
		add_text_child(p, "status", status);
	add_caps(p, kind, name);
	return p;
}

/* The reply goes back from the address the stanza was sent to. */
static void
reply_from(xmpp_stanza_t *reply, xmpp_stanza_t *in)
{
	const char *to = xmpp_stanza_get_to(in);

	xmpp_stanza_set_from(reply, to ? to : wire.jid);
	/* expat hands xml:lang over as "lang"; echoing it back is not well-formed XMPP */
	xmpp_stanza_del_attribute(reply, "lang");
}

/* An error reply of the given type (cancel, modify, auth, wait) and RFC 6120 condition. */
xmpp_stanza_t *
stanza_error(xmpp_stanza_t *in, const char *type, const char *condition, const char *text)
{
	xmpp_stanza_t *r = xmpp_stanza_reply_error(in, type, condition, text);

	reply_from(r, in);
	return r;
}

/*
 * An error to a customer: its text in their language, and for a pre-chat value the widget
 * refused too late, <invalid field='name'/> naming it (field NULL: none).
 */
xmpp_stanza_t *
stanza_error_lang(xmpp_stanza_t *in, const char *type, const char *condition, const char *text,
    const char *lang, const char *field)
{
	xmpp_stanza_t *r = stanza_error(in, type, condition, text), *e, *c, *f;

	if ((e = xmpp_stanza_get_child_by_name(r, "error")) == NULL)
		return r;
	for (c = xmpp_stanza_get_children(e); c; c = xmpp_stanza_get_next(c))
		if (xmpp_stanza_is_tag(c) && strcmp(xmpp_stanza_get_name(c), "text") == 0)
			set_lang(c, lang);
	if (field) {
		f = adopt(e, element("invalid", NS_WIDGET));
		xmpp_stanza_set_attribute(f, "field", field);
	}
	return r;
}

xmpp_stanza_t *
stanza_result(xmpp_stanza_t *iq)
{
	xmpp_stanza_t *r = xmpp_iq_new(wire.ctx, "result", xmpp_stanza_get_id(iq));

	xmpp_stanza_set_to(r, xmpp_stanza_get_from(iq));
	reply_from(r, iq);
	return r;
}

/* A result whose <query/> echoes the request's node attribute, if any. */
static xmpp_stanza_t *
result_query(xmpp_stanza_t *iq, const char *ns, xmpp_stanza_t **query)
{
	xmpp_stanza_t *r = stanza_result(iq), *in = xmpp_stanza_get_child_by_ns(iq, ns);
	const char *node = in ? xmpp_stanza_get_attribute(in, "node") : NULL;

	*query = adopt(r, element("query", ns));
	if (node)
		xmpp_stanza_set_attribute(*query, "node", node);
	return r;
}

xmpp_stanza_t *
stanza_disco_info(xmpp_stanza_t *iq, const char *category, const char *type, const char *name,
    const char *const *features)
{
	xmpp_stanza_t *q, *r = result_query(iq, NS_DISCO_INFO, &q), *e;

	e = adopt(q, element("identity", NULL));
	xmpp_stanza_set_attribute(e, "category", category);
	xmpp_stanza_set_attribute(e, "type", type);
	xmpp_stanza_set_attribute(e, "name", name);
	for (; *features; features++) {
		e = adopt(q, element("feature", NULL));
		xmpp_stanza_set_attribute(e, "var", *features);
	}
	return r;
}

xmpp_stanza_t *
stanza_address_info(xmpp_stanza_t *iq, enum address_kind kind, const char *name)
{
	return stanza_disco_info(iq, identities[kind].category, identities[kind].type,
	    identities[kind].name ? identities[kind].name : name, identities[kind].features);
}

xmpp_stanza_t *
stanza_disco_items(xmpp_stanza_t *iq, const struct disco_item *items, size_t n)
{
	xmpp_stanza_t *q, *r = result_query(iq, NS_DISCO_ITEMS, &q), *e;
	size_t i;

	for (i = 0; i < n; i++) {
		e = adopt(q, element("item", NULL));
		xmpp_stanza_set_attribute(e, "jid", items[i].jid);
		if (items[i].node)
			xmpp_stanza_set_attribute(e, "node", items[i].node);
		if (items[i].name)
			xmpp_stanza_set_attribute(e, "name", items[i].name);
	}
	return r;
}

xmpp_stanza_t *
stanza_version(xmpp_stanza_t *iq, const char *name, const char *version)
{
	xmpp_stanza_t *q, *r = result_query(iq, NS_VERSION, &q);

	add_text_child(q, "name", name);
	add_text_child(q, "version", version);
	return r;
}

/* --- XEP-0050 commands and XEP-0004 forms ----------------------------------------------- */

static void
add_field_value(xmpp_stanza_t *field, const char *v)
{
	add_text_child(field, "value", v);
}

static xmpp_stanza_t *
form_element(const struct form *f)
{
	static const char *const types[] = { [FORM_FORM] = "form",
		[FORM_SUBMIT] = "submit",
		[FORM_RESULT] = "result",
		[FORM_CANCEL] = "cancel" };
	xmpp_stanza_t *x = element("x", NS_DATA), *e, *o, *item;
	const struct form_field *fl;
	size_t i, j;

	xmpp_stanza_set_type(x, types[f->type]);
	if (f->title)
		add_text_child(x, "title", f->title);
	if (f->instructions)
		add_text_child(x, "instructions", f->instructions);
	for (i = 0; i < f->nfields; i++) {
		fl = f->fields[i];
		e = adopt(x, element("field", NULL));
		if (fl->var)
			xmpp_stanza_set_attribute(e, "var", fl->var);
		xmpp_stanza_set_type(e, form_type_name(fl->type));
		if (fl->label)
			xmpp_stanza_set_attribute(e, "label", fl->label);
		if (fl->desc)
			add_text_child(e, "desc", fl->desc);
		if (fl->required)
			adopt(e, element("required", NULL));
		for (j = 0; j < fl->nvalues; j++)
			add_field_value(e, fl->values[j]);
		for (j = 0; j < fl->noptions; j++) {
			o = adopt(e, element("option", NULL));
			if (fl->options[j].label)
				xmpp_stanza_set_attribute(o, "label", fl->options[j].label);
			add_field_value(o, fl->options[j].value);
		}
	}
	if (f->ncolumns == 0)
		return x;
	e = adopt(x, element("reported", NULL));
	for (j = 0; j < f->ncolumns; j++) {
		o = adopt(e, element("field", NULL));
		xmpp_stanza_set_attribute(o, "var", f->columns[j].value);
		if (f->columns[j].label)
			xmpp_stanza_set_attribute(o, "label", f->columns[j].label);
		xmpp_stanza_set_type(o, "text-single");
	}
	for (i = 0; i < f->nrows; i++) {
		item = adopt(x, element("item", NULL));
		for (j = 0; j < f->ncolumns; j++) {
			o = adopt(item, element("field", NULL));
			xmpp_stanza_set_attribute(o, "var", f->columns[j].value);
			add_field_value(o, f->rows[i][j]);
		}
	}
	return x;
}

/* <command node sessionid status><actions/><note/><x/></command> in an iq result. */
xmpp_stanza_t *
stanza_command(xmpp_stanza_t *iq, const struct command_reply *c)
{
	static const char *const note_types[] = { NULL, "info", "warn", "error" };
	xmpp_stanza_t *r = stanza_result(iq), *cmd, *acts, *note, *t;

	cmd = adopt(r, element("command", NS_COMMANDS));
	xmpp_stanza_set_attribute(cmd, "node", c->node);
	if (c->sessionid)
		xmpp_stanza_set_attribute(cmd, "sessionid", c->sessionid);
	xmpp_stanza_set_attribute(cmd, "status", c->status);
	if (c->actions) {
		acts = adopt(cmd, element("actions", NULL));
		if (c->execute)
			xmpp_stanza_set_attribute(acts, "execute", c->execute);
		if (c->actions & ACTION_PREV)
			adopt(acts, element("prev", NULL));
		if (c->actions & ACTION_NEXT)
			adopt(acts, element("next", NULL));
		if (c->actions & ACTION_COMPLETE)
			adopt(acts, element("complete", NULL));
	}
	if (c->note && c->note_type > 0 && c->note_type <= 3) {
		note = adopt(cmd, element("note", NULL));
		xmpp_stanza_set_attribute(note, "type", note_types[c->note_type]);
		t = xmpp_stanza_new(wire.ctx);
		xmpp_stanza_set_text(t, c->note);
		adopt(note, t);
	}
	if (c->form)
		adopt(cmd, form_element(c->form));
	return r;
}

xmpp_stanza_t *
stanza_command_error(xmpp_stanza_t *iq, const char *type, const char *condition,
    const char *specific, const char *text)
{
	xmpp_stanza_t *r = stanza_error(iq, type, condition, text), *e;

	if (specific && (e = xmpp_stanza_get_child_by_name(r, "error")) != NULL)
		adopt(e, element(specific, NS_COMMANDS));
	return r;
}

/* new string, must be free()d; NULL when there is no <body/> */
char *
stanza_body(xmpp_stanza_t *st)
{
	xmpp_stanza_t *b = xmpp_stanza_get_child_by_name(st, "body"), *t;
	char *text, *copy;
	const char *s;

	if (b == NULL)
		return NULL;
	/* one text child, as nearly every body has: one copy instead of two */
	if ((t = xmpp_stanza_get_children(b)) != NULL && xmpp_stanza_get_next(t) == NULL &&
	    (s = xmpp_stanza_get_text_ptr(t)) != NULL)
		return xstrdup(s);
	text = xmpp_stanza_get_text(b);
	copy = xstrdup(text ? text : "");
	if (text)
		xmpp_free(wire.ctx, text);
	return copy;
}

/* The body's size in bytes without copying it, to refuse oversized ones cheaply. */
size_t
stanza_body_len(xmpp_stanza_t *st)
{
	xmpp_stanza_t *b = xmpp_stanza_get_child_by_name(st, "body"), *t;
	size_t n = 0;
	const char *s;

	if (b == NULL)
		return 0;
	for (t = xmpp_stanza_get_children(b); t; t = xmpp_stanza_get_next(t))
		if ((s = xmpp_stanza_get_text_ptr(t)) != NULL)
			n += strlen(s);
	return n;
}

/*
 * End-to-end encryption a message carries, by its payload: "OMEMO", "OpenPGP", "OTR" or
 * "end-to-end encryption" (XEP-0380 names another), or NULL. An OMEMO element without a
 * <payload/> only carries keys: no text is in it, NULL.
 */
const char *
stanza_encryption(xmpp_stanza_t *st)
{
	static const struct {
		const char *ns, *name, *scheme;
	} sealed[] = {
		{ "eu.siacs.conversations.axolotl", "encrypted", "OMEMO" },
		{ "urn:xmpp:omemo:2", "encrypted", "OMEMO" },
		{ "urn:xmpp:openpgp:0", "openpgp", "OpenPGP" },
		{ "jabber:x:encrypted", "x", "OpenPGP" },
	};
	xmpp_stanza_t *c;
	const char *ns, *name, *eme;
	size_t i;

	for (c = xmpp_stanza_get_children(st); c; c = xmpp_stanza_get_next(c)) {
		if (!xmpp_stanza_is_tag(c) || (ns = xmpp_stanza_get_ns(c)) == NULL ||
		    (name = xmpp_stanza_get_name(c)) == NULL)
			continue;
		for (i = 0; i < sizeof(sealed) / sizeof(sealed[0]); i++)
			if (strcmp(ns, sealed[i].ns) == 0 && strcmp(name, sealed[i].name) == 0 &&
			    (strcmp(sealed[i].scheme, "OMEMO") != 0 ||
			        xmpp_stanza_get_child_by_name(c, "payload") != NULL))
				return sealed[i].scheme;
		if (strcmp(ns, "urn:xmpp:eme:0") == 0 && strcmp(name, "encryption") == 0) {
			eme = xmpp_stanza_get_attribute(c, "namespace");
			if (eme && strcmp(eme, "urn:xmpp:otr:0") == 0)
				return "OTR";
			if (eme &&
			    (strcmp(eme, "eu.siacs.conversations.axolotl") == 0 ||
			        strncmp(eme, "urn:xmpp:omemo:", 15) == 0))
				return "OMEMO";
			if (eme &&
			    (strcmp(eme, "jabber:x:encrypted") == 0 ||
			        strcmp(eme, "urn:xmpp:openpgp:0") == 0))
				return "OpenPGP";
			return "end-to-end encryption";
		}
	}
	return NULL;
}

static int
token_ok(const char *s, size_t min, size_t max)
{
	size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-");

	return s[n] == '\0' && n >= min && n <= max;
}

/* The text of e's child called name, "" when it is empty, NULL when there is none. */
static const char *
child_text(xmpp_stanza_t *e, const char *name)
{
	xmpp_stanza_t *c = xmpp_stanza_get_child_by_name(e, name), *t;
	const char *s;

	if (c == NULL)
		return NULL;
	/* libstrophe keeps an element's text in one node; anything else is no plain value */
	if ((t = xmpp_stanza_get_children(c)) == NULL)
		return "";
	if (!xmpp_stanza_is_text(t) || xmpp_stanza_get_next(t) != NULL)
		return "\x01"; /* a control character: refused as one */
	return (s = xmpp_stanza_get_text_ptr(t)) ? s : "";
}

/*
 * The widget's <visitor session='' id=''/>, with the pre-chat values it may hold (<name/>,
 * <email/>, <topic/>, <offline/>), unchecked: crm_prechat_check() judges them. A malformed
 * session counts as no visitor.
 */
int
stanza_visitor(xmpp_stanza_t *st, struct visitor *v)
{
	xmpp_stanza_t *e = xmpp_stanza_get_child_by_ns(st, NS_VISITOR);

	memset(v, 0, sizeof(*v));
	if (e == NULL || strcmp(xmpp_stanza_get_name(e), "visitor") != 0)
		return 0;
	v->session = xmpp_stanza_get_attribute(e, "session");
	v->id = xmpp_stanza_get_attribute(e, "id");
	if (v->session == NULL || !token_ok(v->session, 16, 64))
		return 0;
	if (v->id && (*v->id == '\0' || strlen(v->id) > 128))
		v->id = NULL;
	v->name = child_text(e, "name");
	v->email = child_text(e, "email");
	v->topic = child_text(e, "topic");
	v->offline = xmpp_stanza_get_child_by_name(e, "offline") != NULL;
	return 1;
}

/* The <show/> of a presence, or NULL when it has none (plain available). */
const char *
stanza_show(xmpp_stanza_t *p)
{
	xmpp_stanza_t *s = xmpp_stanza_get_child_by_name(p, "show");
	xmpp_stanza_t *t = s ? xmpp_stanza_get_children(s) : NULL;

	return t ? xmpp_stanza_get_text_ptr(t) : NULL;
}

/* A repaired copy of s when utf8_valid() refuses it, else NULL; must be free()d */
static char *
repaired(const char *s)
{
	return utf8_valid(s, strlen(s)) ? NULL : utf8_repair(s);
}

/*
 * The last guard before the wire: every text node and attribute value of st that is not
 * valid UTF-8, or holds a character XML 1.0 forbids, is repaired in place (one scan).
 * Returns how many were repaired.
 */
int
stanza_repair(xmpp_stanza_t *st)
{
	const char *some[16], **attrs = some;
	char *fixed, *key;
	xmpp_stanza_t *c;
	int i, n, count = 0;

	if (xmpp_stanza_is_text(st)) {
		if ((fixed = repaired(xmpp_stanza_get_text_ptr(st))) == NULL)
			return 0;
		xmpp_stanza_set_text(st, fixed);
		free(fixed);
		return 1;
	}
	if ((n = xmpp_stanza_get_attribute_count(st)) > 0) {
		if (2 * n > (int)(sizeof(some) / sizeof(some[0])))
			attrs = xcalloc((size_t)n * 2, sizeof(*attrs));
		n = xmpp_stanza_get_attributes(st, attrs, 2 * n);
		for (i = 0; i + 1 < n; i += 2) {
			if ((fixed = repaired(attrs[i + 1])) == NULL)
				continue;
			key = xstrdup(attrs[i]); /* setting frees the table's own copy */
			xmpp_stanza_set_attribute(st, key, fixed);
			free(key);
			free(fixed);
			count++;
		}
		if (attrs != some)
			free(attrs);
	}
	for (c = xmpp_stanza_get_children(st); c; c = xmpp_stanza_get_next(c))
		count += stanza_repair(c);
	return count;
}
