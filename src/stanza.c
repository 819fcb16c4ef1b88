/*
 * Every outgoing stanza is built here, so call sites never juggle new / add_child / release.
 * Every builder sets "from": Prosody closes the whole component stream over a missing one.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

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
    const char *body, const char *(*map)(void *, const char *), void *arg, char id[40])
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
	put(b, ">");
	if (body) {
		put(b, "<body>");
		text_put_xml(b, body, strlen(body));
		put(b, "</body>");
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

	if (stanza_relay_text(&b, in, from, to, body, map, arg, id) &&
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

/* An available presence with a <show/> (NULL: plain available) and a status text. */
xmpp_stanza_t *
stanza_presence_status(const char *from, const char *to, const char *show, const char *status)
{
	xmpp_stanza_t *p = stanza_presence(from, to, NULL);

	if (show)
		add_text_child(p, "show", show);
	if (status)
		add_text_child(p, "status", status);
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

static int
token_ok(const char *s, size_t min, size_t max)
{
	size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-");

	return s[n] == '\0' && n >= min && n <= max;
}

/* The widget's <visitor session='' id=''/>; a malformed one counts as none. */
int
stanza_visitor(xmpp_stanza_t *st, struct visitor *v)
{
	xmpp_stanza_t *e = xmpp_stanza_get_child_by_ns(st, NS_VISITOR);

	if (e == NULL || strcmp(xmpp_stanza_get_name(e), "visitor") != 0)
		return 0;
	v->session = xmpp_stanza_get_attribute(e, "session");
	v->id = xmpp_stanza_get_attribute(e, "id");
	if (v->session == NULL || !token_ok(v->session, 16, 64))
		return 0;
	if (v->id && (*v->id == '\0' || strlen(v->id) > 128))
		v->id = NULL;
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
