/*
 * Mail as RFC 5322 text for a sendmail program (`sendmail -t -i` reads the recipients from the
 * headers): UTF-8 bodies in quoted-printable, RFC 2047 encoded-words in the subject and display
 * names, Date, Message-ID, MIME-Version. Pure: the caller brings the time and the random part
 * of the Message-ID.
 *
 * Nothing a customer or agent typed can add a header: an address must be a plain
 * local@domain (no CR, LF, quote, space or angle bracket: refused), and a name or subject has
 * every control character folded into a space before it is quoted or encoded.
 * Lines end in LF, the local convention sendmail programs read.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "respa.h"

#define LINE_SOFT 76  /* a header line is folded before this many characters */
#define QUOTED_MAX 60 /* a longer name is encoded, which folds, rather than quoted */
#define PHRASE_MAX 200
#define SUBJECT_MAX 900

/* A growing string. */
struct sbuf {
	char *s;
	size_t len, cap;
};

static void
sb_addn(struct sbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->s = xrealloc(b->s, b->cap);
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void
sb_add(struct sbuf *b, const char *s)
{
	sb_addn(b, s, strlen(s));
}

static int
local_char(int c)
{
	return isalnum(c) || (c && strchr("!#$%&'*+/=?^_`{|}~.-", c) != NULL);
}

/* 1 when s is a plain address local@domain that may stand in a header as it is. */
int
mail_addr_ok(const char *s)
{
	const char *at = strchr(s, '@'), *p;
	size_t label = 0;

	if (at == NULL || at == s || at - s > 64 || strlen(s) > 254 || strchr(at + 1, '@'))
		return 0;
	if (*s == '.' || at[-1] == '.' || strstr(s, ".."))
		return 0;
	for (p = s; p < at; p++)
		if (!local_char((unsigned char)*p))
			return 0;
	if (at[1] == '\0' || at[1] == '.' || at[1] == '-')
		return 0;
	for (p = at + 1; *p; p++) {
		if (*p == '.') {
			if (label == 0 || p[-1] == '-')
				return 0;
			label = 0;
		} else if (isalnum((unsigned char)*p) || *p == '-') {
			if (++label > 63)
				return 0;
		} else
			return 0;
	}
	return label > 0 && p[-1] != '-';
}

/*
 * "Name <local@domain>" or "local@domain", as [mail] from is written: 0 with name ("" when
 * none) and addr filled, or -1.
 */
int
mail_parse_mailbox(const char *text, char *name, size_t namelen, char *addr, size_t addrlen)
{
	const char *lt = strrchr(text, '<'), *gt;
	char *n;
	size_t len;

	if (lt == NULL) {
		len = strlen(text);
		name[0] = '\0';
	} else {
		if ((gt = strchr(lt, '>')) == NULL || gt[1] != '\0')
			return -1;
		len = (size_t)(lt - text);
		if (len >= namelen)
			return -1;
		memcpy(name, text, len);
		name[len] = '\0';
		str_trim(name);
		len = strlen(name); /* a quoted name loses its quotes: they are added again */
		if (len >= 2 && name[0] == '"' && name[len - 1] == '"') {
			memmove(name, name + 1, len - 2);
			name[len - 2] = '\0';
		}
		for (n = name; *n; n++)
			if ((unsigned char)*n < 0x20 || *n == 0x7f)
				return -1;
		text = lt + 1;
		len = (size_t)(gt - text);
	}
	if (len >= addrlen)
		return -1;
	memcpy(addr, text, len);
	addr[len] = '\0';
	str_trim(addr);
	return mail_addr_ok(addr) ? 0 : -1;
}

/* A copy with every control character (CR, LF, tab...) a space, runs of spaces one, cut. */
static char *
one_line(const char *s, size_t max)
{
	char *out = xmalloc(strlen(s) + 1), *o = out;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f)
			c = ' ';
		if (c == ' ' && (o == out || o[-1] == ' '))
			continue;
		*o++ = (char)c;
	}
	while (o > out && o[-1] == ' ')
		o--;
	*o = '\0';
	out[utf8_prefix(out, max)] = '\0';
	return out;
}

static void
base64(struct sbuf *b, const unsigned char *s, size_t n)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char out[4];
	size_t i;

	for (i = 0; i < n; i += 3) {
		unsigned v = (unsigned)s[i] << 16;

		if (i + 1 < n)
			v |= (unsigned)s[i + 1] << 8;
		if (i + 2 < n)
			v |= s[i + 2];
		out[0] = tab[(v >> 18) & 63];
		out[1] = tab[(v >> 12) & 63];
		out[2] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
		out[3] = i + 2 < n ? tab[v & 63] : '=';
		sb_addn(b, out, 4);
	}
}

/* Characters on the last line of b. */
static size_t
column(const struct sbuf *b)
{
	const char *nl = b->s ? strrchr(b->s, '\n') : NULL;

	return b->s == NULL ? 0 : nl ? strlen(nl + 1) : b->len;
}

/*
 * Encoded-words (RFC 2047, B) for all of s, folded so that no line passes LINE_SOFT: each
 * word holds as many whole characters as its line has room for (a word is 12 characters
 * besides its base64, 4 for each 3 bytes).
 */
static void
encoded_words(struct sbuf *b, const char *s)
{
	size_t n, room;

	while (*s) {
		if (column(b) + 12 + 8 > LINE_SOFT) /* not even 6 bytes fit: a new line */
			sb_add(b, "\n ");
		room = (LINE_SOFT - column(b) - 12) / 4 * 3;
		n = utf8_prefix(s, room);
		if (n == 0) { /* a character longer than the room: next line */
			sb_add(b, "\n ");
			continue;
		}
		sb_add(b, "=?UTF-8?B?");
		base64(b, (const unsigned char *)s, n);
		sb_add(b, "?=");
		s += n;
		if (*s)
			sb_add(b, "\n ");
	}
}

/* 1 when s is printable ASCII with no word longer than a line and no "=?" to misread. */
static int
plain_ascii(const char *s)
{
	size_t word = 0;

	if (strstr(s, "=?"))
		return 0;
	for (; *s; s++) {
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return 0;
		word = *s == ' ' ? 0 : word + 1;
		if (word > LINE_SOFT - 20)
			return 0;
	}
	return 1;
}

/* Plain words, folded before a space when a line would grow past LINE_SOFT. */
static void
folded_words(struct sbuf *b, const char *s, size_t col)
{
	const char *w;
	size_t n;
	int words = 0; /* on this line */

	while (*s) {
		w = strchr(s, ' ');
		n = w ? (size_t)(w - s) : strlen(s);
		if (col + n > LINE_SOFT && words > 0) {
			b->len--; /* the space before the word starts the next line */
			sb_add(b, "\n ");
			col = 1;
			words = 0;
		}
		sb_addn(b, s, n);
		col += n;
		words++;
		s += n;
		if (*s == ' ') {
			sb_add(b, " ");
			col++;
			s++;
		}
	}
}

/* 1 when every character of a plain ASCII phrase may stand as an atom (RFC 5322 atext). */
static int
atoms(const char *s)
{
	for (; *s; s++)
		if (*s != ' ' && !local_char((unsigned char)*s))
			return 0;
	return 1;
}

/* A display name: as atoms, a quoted-string, or encoded-words. */
static void
phrase(struct sbuf *b, const char *name)
{
	char *n = one_line(name, PHRASE_MAX);
	const char *p;

	if (!plain_ascii(n) || (strlen(n) > QUOTED_MAX && !(atoms(n) && !strchr(n, '.'))))
		encoded_words(b, n);
	else if (atoms(n) && !strchr(n, '.'))
		folded_words(b, n, column(b));
	else {
		sb_add(b, "\"");
		for (p = n; *p; p++) {
			if (*p == '"' || *p == '\\')
				sb_add(b, "\\");
			sb_addn(b, p, 1);
		}
		sb_add(b, "\"");
	}
	free(n);
}

/* "Name <addr>" or "addr" into b, after "Field: ". */
static void
mailbox(struct sbuf *b, const char *field, const char *name, const char *addr)
{
	sb_add(b, field);
	sb_add(b, ": ");
	if (name && *name) {
		phrase(b, name);
		sb_add(b, column(b) + strlen(addr) + 3 > LINE_SOFT + 2 ? "\n <" : " <");
		sb_add(b, addr);
		sb_add(b, ">");
	} else
		sb_add(b, addr);
	sb_add(b, "\n");
}

/* "Field: value" for unstructured text (a subject), folded or encoded, with its LF. */
char *
mail_header(const char *field, const char *value)
{
	struct sbuf b = { 0 };
	char *v = one_line(value, SUBJECT_MAX);

	sb_add(&b, field);
	sb_add(&b, ": ");
	if (plain_ascii(v))
		folded_words(&b, v, strlen(field) + 2);
	else
		encoded_words(&b, v);
	sb_add(&b, "\n");
	free(v);
	return b.s;
}

/* One line of the body in quoted-printable, soft breaks before LINE_SOFT. */
static void
qp_line(struct sbuf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, col = 0;
	char tok[4];
	size_t tl;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		int last = i + 1 == n;

		if ((c >= 33 && c <= 126 && c != '=' && !(c == '.' && col == 0)) ||
		    ((c == ' ' || c == '\t') && !last)) {
			tok[0] = (char)c;
			tl = 1;
		} else {
			tok[0] = '=';
			tok[1] = hex[c >> 4];
			tok[2] = hex[c & 15];
			tl = 3;
		}
		if (col == 0 && i + 5 <= n && strncmp(s + i, "From ", 5) == 0) {
			memcpy(tok, "=46", 3); /* an mbox reader would mangle "From " */
			tl = 3;
		}
		if (col + tl > LINE_SOFT - 1) {
			sb_add(b, "=\n");
			col = 0;
			if (tok[0] == '.') { /* a dot may not start a line either */
				memcpy(tok, "=2E", 3);
				tl = 3;
			}
		}
		sb_addn(b, tok, tl);
		col += tl;
	}
	sb_add(b, "\n");
}

/* The body as quoted-printable lines (CR LF, CR and LF all end a line). New string. */
char *
mail_qp(const char *text)
{
	struct sbuf b = { 0 };
	const char *e;

	sb_add(&b, "");
	while (*text) {
		e = text + strcspn(text, "\r\n");
		qp_line(&b, text, (size_t)(e - text));
		if (*e == '\r' && e[1] == '\n')
			e++;
		text = *e ? e + 1 : e;
	}
	return b.s;
}

/* RFC 5322 date in UTC: "Wed, 02 Dec 2026 11:07:56 +0000". */
void
mail_date(time_t t, char buf[40])
{
	static const char days[][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char months[][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug",
		"Sep", "Oct", "Nov", "Dec" };
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(buf, 40, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday], tm.tm_mday,
	    months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* A file name that needs no quoting or encoding in a header. */
static int
attach_name_ok(const char *s)
{
	if (s == NULL || *s == '\0' || *s == '.' || strlen(s) > 64)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '.' && *s != '_' && *s != '-')
			return 0;
	return 1;
}

/* The attachment part, base64 in lines of 76, and the closing boundary. */
static void
attachment(struct sbuf *b, const struct mail *m)
{
	size_t i, n;

	if (b->len && b->s[b->len - 1] != '\n')
		sb_add(b, "\n");
	sb_add(b, "--=_");
	sb_add(b, m->msgid);
	sb_add(b, "\nContent-Type: ");
	sb_add(b, m->attach_type);
	sb_add(b, "\nContent-Disposition: attachment; filename=\"");
	sb_add(b, m->attach_name);
	sb_add(b, "\"\nContent-Transfer-Encoding: base64\n\n");
	for (i = 0; i < m->attach_len; i += 57) {
		n = m->attach_len - i < 57 ? m->attach_len - i : 57;
		base64(b, (const unsigned char *)m->attach + i, n);
		sb_add(b, "\n");
	}
	sb_add(b, "--=_");
	sb_add(b, m->msgid);
	sb_add(b, "--\n");
}

/* The whole message, or NULL when an address is not a plain one. New string. */
char *
mail_compose(const struct mail *m)
{
	struct sbuf b = { 0 };
	char date[40], *h, *body;
	const char *domain;

	if (!mail_addr_ok(m->from_addr) || !mail_addr_ok(m->to_addr) ||
	    (m->reply_to && !mail_addr_ok(m->reply_to)) || m->msgid == NULL)
		return NULL;
	for (domain = m->msgid; *domain; domain++)
		if (!isalnum((unsigned char)*domain))
			return NULL;
	if (m->attach && !attach_name_ok(m->attach_name))
		return NULL;
	domain = strchr(m->from_addr, '@') + 1;
	mailbox(&b, "From", m->from_name, m->from_addr);
	mailbox(&b, "To", m->to_name, m->to_addr);
	if (m->reply_to)
		mailbox(&b, "Reply-To", NULL, m->reply_to);
	h = mail_header("Subject", m->subject);
	sb_add(&b, h);
	free(h);
	mail_date(m->date, date);
	sb_add(&b, "Date: ");
	sb_add(&b, date);
	sb_add(&b, "\nMessage-ID: <");
	sb_add(&b, m->msgid);
	sb_add(&b, "@");
	sb_add(&b, domain);
	sb_add(&b, ">\nMIME-Version: 1.0\n");
	if (m->attach) {
		/* "=_" occurs in neither quoted-printable nor base64 text */
		sb_add(&b, "Content-Type: multipart/mixed; boundary=\"=_");
		sb_add(&b, m->msgid);
		sb_add(&b, "\"\nAuto-Submitted: auto-generated\n\n--=_");
		sb_add(&b, m->msgid);
		sb_add(&b, "\n");
	}
	sb_add(&b,
	    "Content-Type: text/plain; charset=utf-8\n"
	    "Content-Transfer-Encoding: quoted-printable\n");
	if (!m->attach)
		sb_add(&b, "Auto-Submitted: auto-generated\n");
	sb_add(&b, "\n");
	body = mail_qp(m->body);
	sb_add(&b, body);
	free(body);
	if (m->attach)
		attachment(&b, m);
	return b.s;
}
