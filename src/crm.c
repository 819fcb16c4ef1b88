/*
 * Rules for the CRM record, no SQL: the channel a customer came by, contact details found in
 * what they write, the contact card an agent sees, the summary respa writes.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "respa.h"

#define FIRST_WORDS 80

/*
 * The channel a customer came by: "web" for the chat widget's visitors, the channel of a
 * [domain] the JID is on (a gateway's: whatsapp, sms...), else "xmpp".
 */
const char *
crm_channel(const struct config *c, const char *customer_jid, int web)
{
	const char *at = strchr(customer_jid, '@'), *domain = at ? at + 1 : customer_jid;
	char name[256];
	const struct domain *d;
	size_t n = strcspn(domain, "/");

	if (web)
		return "web";
	if (n >= sizeof(name))
		return "xmpp";
	memcpy(name, domain, n);
	name[n] = '\0';
	d = map_get(c->domain_map, name);
	return d ? d->channel : "xmpp";
}

/*
 * A phone number as E.164 ("+358401234567"): spaces, dots, dashes and brackets go, "00"
 * and "+" lead to the calling code, a number without one gets default_cc (its trunk 0
 * dropped). 0 / -1 when it is not a phone number.
 */
int
crm_phone_e164(const char *text, const char *default_cc, char *out, size_t len)
{
	char digits[32];
	size_t n = 0;
	int intl = 0;
	const char *p = text, *d;

	while (*p == ' ')
		p++;
	if (*p == '+')
		intl = 1, p++;
	else if (p[0] == '0' && p[1] == '0')
		intl = 1, p += 2;
	for (; *p; p++) {
		if (*p >= '0' && *p <= '9') {
			if (n + 1 >= sizeof(digits))
				return -1;
			digits[n++] = *p;
		} else if (!strchr(" .-()/", *p))
			return -1;
	}
	digits[n] = '\0';
	d = digits;
	if (!intl) {
		if (default_cc == NULL || *default_cc == '\0')
			return -1;
		while (*d == '0') /* the trunk prefix of a national number */
			d++;
		if (snprintf(out, len, "+%s%s", default_cc, d) >= (int)len)
			return -1;
	} else if (snprintf(out, len, "+%s", d) >= (int)len)
		return -1;
	n = strlen(out) - 1;
	return n >= 7 && n <= 15 && out[1] != '0' ? 0 : -1; /* E.164: at most 15 digits */
}

/* Undoes XEP-0106 escaping ("\20" is a space...) of a JID's local part into buf. */
static int
unescape_node(const char *jid, char *buf, size_t len)
{
	static const char *const escapes[] = { "20 ", "22\"", "26&", "27'", "2f/", "3a:", "3c<",
		"3e>", "40@", "5c\\" };
	const char *at = strchr(jid, '@'), *p;
	size_t n = 0, i;

	if (at == NULL)
		return -1;
	for (p = jid; p < at && n + 1 < len; p++) {
		for (i = 0; *p == '\\' && i < sizeof(escapes) / sizeof(escapes[0]); i++)
			if (at - p >= 3 && strncasecmp(p + 1, escapes[i], 2) == 0)
				break;
		if (*p == '\\' && i < sizeof(escapes) / sizeof(escapes[0])) {
			buf[n++] = escapes[i][2];
			p += 2;
		} else
			buf[n++] = *p;
	}
	buf[n] = '\0';
	return p == at ? 0 : -1;
}

/* The phone number a gateway puts in its users' JIDs (+15551234567@whatsapp...), as E.164. */
int
crm_jid_phone(const char *jid, const char *default_cc, char *out, size_t len)
{
	char node[64];

	if (unescape_node(jid, node, sizeof(node)) == -1)
		return -1;
	return crm_phone_e164(node, default_cc, out, len);
}

static void
duration(time_t secs, char *buf, size_t len)
{
	if (secs < 60)
		snprintf(buf, len, "under a minute");
	else if (secs < 3600)
		snprintf(buf, len, "%ld min", (long)(secs / 60));
	else
		snprintf(buf, len, "%ld h %02ld min", (long)(secs / 3600),
		    (long)(secs % 3600 / 60));
}

/* The customer's first words, cut at a word boundary and kept on one line. */
static void
opening(const char *msg, char *buf, size_t len)
{
	size_t n = 0, cut = 0;
	const char *p;

	if (msg == NULL || *msg == '\0') {
		snprintf(buf, len, "nothing");
		return;
	}
	for (p = msg; *p && n + 4 < len && n < FIRST_WORDS; p++) {
		buf[n++] = (*p == '\n' || *p == '\r' || *p == '\t') ? ' ' : *p;
		if (buf[n - 1] == ' ')
			cut = n - 1;
	}
	if (*p && cut > 0)
		n = cut;
	else if (*p) /* no word boundary: still never inside a UTF-8 character */
		n = utf8_prefix(msg, n);
	while (n > 0 && (buf[n - 1] == '.' || buf[n - 1] == ' '))
		n--;
	if (*p) {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
}

/* At most two sentences, from the facts alone; cut to len on a character boundary. */
void
crm_summary(const struct summary_facts *f, char *buf, size_t len)
{
	char first[FIRST_WORDS + 8], took[32], *s;
	int tags = f->tags && *f->tags;

	opening(f->first_message, first, sizeof(first));
	duration(f->closed_at - f->created_at, took, sizeof(took));
	s = xasprintf("%s wrote to %s by %s, first asking: \"%s\". %s%s%s after %s%s%s%s, %s%s%s.",
	    f->customer, f->queue, f->channel, first,
	    f->agent ? "Handled by " : "Closed without an agent", f->agent ? f->agent : "",
	    f->agent ? " and closed" : "", took, f->reason ? " (" : "", f->reason ? f->reason : "",
	    f->reason ? ")" : "", f->resolved ? "resolved" : "not resolved", tags ? "; tags: " : "",
	    tags ? f->tags : "");
	str_copy(buf, len, s);
	free(s);
}

static int
email_char(int c, int local)
{
	return isalnum(c) || c == '.' || c == '-' || (local && strchr("_%+", c) != NULL);
}

/* The first email address in text, lower-cased, into out: 0, or -1 when there is none. */
int
crm_find_email(const char *text, char *out, size_t len)
{
	const char *at, *b, *e, *dot;
	size_t n, i;

	for (at = strchr(text, '@'); at; at = strchr(at + 1, '@')) {
		for (b = at; b > text && email_char((unsigned char)b[-1], 1); b--)
			;
		for (e = at + 1; *e && email_char((unsigned char)*e, 0); e++)
			;
		while (
		    e > at + 1 && (e[-1] == '.' || e[-1] == '-')) /* "me@x.com." ends a sentence */
			e--;
		while (b < at && *b == '.')
			b++;
		dot = NULL;
		for (i = 1; at + i < e; i++)
			if (at[i] == '.')
				dot = at + i;
		if (b == at || dot == NULL || dot == at + 1 || e - dot < 3 || at[-1] == '.')
			continue;
		for (i = 1; dot + i < e; i++)
			if (!isalpha((unsigned char)dot[i]))
				break;
		if (dot + i != e || (n = (size_t)(e - b)) >= len)
			continue;
		for (i = 0; i < n; i++)
			out[i] = (char)tolower((unsigned char)b[i]);
		out[n] = '\0';
		return 0;
	}
	return -1;
}

/*
 * A number without its calling code reads as a phone when it has the trunk 0, or is
 * written the way phone numbers are ("(555) 987-6543", "555 987 6543") and is too long
 * for a date: a plain run of digits is more likely an order number.
 */
/* 1 when p starts like a date: 2026-11-20, 2026/11/20, 20.11.2026, 11/20/2026. */
static int
date_like(const char *p)
{
	size_t a = strspn(p, "0123456789"), b, c;

	if (!p[a] || !strchr("-/.", p[a]))
		return 0;
	b = strspn(p + a + 1, "0123456789");
	if (b == 0 || b > 2 || p[a + 1 + b] != p[a])
		return 0;
	c = strspn(p + a + b + 2, "0123456789");
	return (a == 4 && c >= 1 && c <= 2) || (a <= 2 && c == 4);
}

static int
national(const char *p, const char *e, int digits)
{
	int groups = 0;
	const char *q;

	if (date_like(p))
		return 0;
	if (*p == '0')
		return 1;
	for (q = p; q < e; q++)
		if (*q == '(' || (strchr(" .-", *q) && q + 1 < e && isdigit((unsigned char)q[1])))
			groups++;
	return digits >= 9 && groups >= 2;
}

/*
 * The first phone number in text, as E.164. Only what reads as one: "+" or "00" and a
 * calling code, or a national number (see national()) when default_cc is known, so that
 * order numbers and dates are not taken for phones.
 */
int
crm_find_phone(const char *text, const char *default_cc, char *out, size_t len)
{
	const char *p, *e;
	char cand[40];
	size_t n;
	int digits;

	for (p = text; *p; p++) {
		if (!(*p == '+' || isdigit((unsigned char)*p)) ||
		    (p > text && (isalnum((unsigned char)p[-1]) || p[-1] == '+')))
			continue;
		digits = 0;
		for (e = p + (*p == '+'); *e && (isdigit((unsigned char)*e) || strchr(" .-()", *e));
		     e++)
			digits += isdigit((unsigned char)*e) != 0;
		while (e > p && !isdigit((unsigned char)e[-1]))
			e--;
		n = (size_t)(e - p);
		if (digits < 7 || digits > 15 || n >= sizeof(cand) || isalnum((unsigned char)*e)) {
			p = e > p ? e - 1 : p;
			continue;
		}
		if (*p != '+' && strncmp(p, "00", 2) != 0 &&
		    (default_cc == NULL || *default_cc == '\0' || !national(p, e, digits))) {
			p = e - 1;
			continue;
		}
		memcpy(cand, p, n);
		cand[n] = '\0';
		if (crm_phone_e164(cand, default_cc, out, len) == 0)
			return 0;
		p = e - 1;
	}
	return -1;
}

/* A detail only written in a chat is marked: it may be someone else's. */
static const char *
unverified(const char *detail, int verified)
{
	return *detail && !verified ? " (unverified)" : "";
}

/* The contact card an agent sees before a chat: who, how to reach them, their history. */
void
crm_card_text(const struct contact_card *k, const char *channel, char *buf, size_t len)
{
	size_t n;

	n = (size_t)snprintf(buf, len, "Contact: %s", *k->name ? k->name : "(no name)");
	if (*k->company && n < len)
		n += (size_t)snprintf(buf + n, len - n, " (%s)", k->company);
	if (n < len)
		n += (size_t)snprintf(buf + n, len - n, "; email %s%s; phone %s%s%s%s.",
		    *k->email ? k->email : "unknown", unverified(k->email, k->email_verified),
		    *k->phone ? k->phone : "unknown", unverified(k->phone, k->phone_verified),
		    *channel ? "; channel " : "", channel);
	if (n < len && k->conversations == 0)
		n += (size_t)snprintf(buf + n, len - n, " First contact.");
	else if (n < len)
		n += (size_t)snprintf(buf + n, len - n, " %d earlier conversation%s; last: %s",
		    k->conversations, k->conversations == 1 ? "" : "s",
		    *k->last_summary ? k->last_summary : "(no summary)");
	if (n < len && k->open_tasks > 0)
		n += (size_t)snprintf(buf + n, len - n, " Open tasks: %d (%s%s).", k->open_tasks,
		    k->task, k->open_tasks > 1 ? ", ..." : "");
	if (n < len && k->ratings > 0)
		snprintf(buf + n, len - n, " Rated %d chat%s, %.1f on average (last %d/5).",
		    k->ratings, k->ratings == 1 ? "" : "s", k->rating_avg, k->rating_last);
	utf8_trim_end(buf); /* a long card is cut at len */
}

/* 1 when s holds a control character (C0, DEL, C1) or a line or paragraph separator. */
static int
has_control(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	for (; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return 1;
		if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) /* U+0080..U+009F */
			return 1;
		if (p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9))
			return 1;
	}
	return 0;
}

static size_t
utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* A star at s ("⭐" U+2B50 or "★" U+2605, with or without VS16): its length, else 0. */
static size_t
star_at(const char *s)
{
	size_t n = 0;

	if (strncmp(s, "\xe2\xad\x90", 3) == 0 || strncmp(s, "\xe2\x98\x85", 3) == 0)
		n = 3;
	if (n && strncmp(s + n, "\xef\xb8\x8f", 3) == 0)
		n += 3;
	return n;
}

/*
 * The widget's pre-chat values, checked again (the browser checked them first). Markup is
 * fine: it is text, and shown as such. 0 with email (lower-cased, "" for none) filled, or -1
 * with the field, the text id of what is wrong and the limit it broke (0: none) filled.
 */
int
crm_prechat_check(const struct visitor *v, char *email, size_t emaillen, const char **field,
    enum text_id *why, int *limit)
{
	*limit = 0;
	email[0] = '\0';
	if (v->name && *v->name) {
		*field = "name";
		if (has_control(v->name)) {
			*why = T_BAD_NAME_CHARS;
			return -1;
		}
		if (utf8_chars(v->name) > PRECHAT_NAME_MAX) {
			*why = T_BAD_NAME_LONG;
			*limit = PRECHAT_NAME_MAX;
			return -1;
		}
	}
	if (v->email && *v->email) {
		*field = "email";
		if (strlen(v->email) > PRECHAT_EMAIL_MAX) {
			*why = T_BAD_EMAIL_LONG;
			*limit = PRECHAT_EMAIL_MAX;
			return -1;
		}
		/* the whole value must be one address, nothing around it */
		if (has_control(v->email) || crm_find_email(v->email, email, emaillen) == -1 ||
		    strlen(email) != strlen(v->email)) {
			email[0] = '\0';
			*why = T_BAD_EMAIL;
			return -1;
		}
	} else if (v->offline) {
		*field = "email";
		*why = T_NEED_EMAIL;
		return -1;
	}
	if (v->topic && *v->topic) {
		*field = "topic";
		if (strlen(v->topic) > TOPIC_MAX ||
		    strspn(v->topic,
		        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") !=
		        strlen(v->topic)) {
			*why = T_BAD_TOPIC;
			return -1;
		}
	}
	*field = NULL;
	return 0;
}

/*
 * The answer to the rating question: a number or a run of stars first, then (after a space
 * or a punctuation mark) an optional comment. "5/5" is 5; "4.5", "3pm" or "five" are no
 * rating at all, and a lone number that is not 1 to 5 is a bad one.
 */
int
crm_rating_parse(const char *text, int *score, const char **comment)
{
	const char *p = str_skip_space(text);
	size_t k;
	int n = 0, digits = 0;

	*score = 0;
	*comment = NULL;
	if (*p >= '0' && *p <= '9') {
		while (*p >= '0' && *p <= '9' && digits < 3)
			n = n * 10 + (*p++ - '0'), digits++;
		if (digits > 2 || ((*p == '.' || *p == ',') && p[1] >= '0' && p[1] <= '9'))
			return 0; /* an order number, a price, a decimal */
		if (*p == '/') {  /* "4/5" */
			if (p[1] != '5' || (p[2] >= '0' && p[2] <= '9'))
				return 0;
			p += 2;
		}
	} else {
		while ((k = star_at(p)) != 0 && n < 100)
			n++, p += k;
		if (n == 0)
			return 0;
	}
	if (*p && *p != ' ' && *p != '\t' && *p != '\n' && !strchr(".,;:!?-)", *p))
		return 0; /* "3pm", "2nd" */
	while (*p && strchr(" \t\r\n.,;:!?-)", *p))
		p++;
	if (n < 1 || n > 5)
		return *p ? 0 : -1; /* "6" alone is a bad rating; "7 items are missing" a message */
	*score = n;
	*comment = *p ? p : NULL;
	return 1;
}
