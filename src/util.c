/* Allocation wrappers (failure is fatal), time formatting and time zones, JID helpers. */
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/rand.h>

#include "respa.h"

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		fatal("malloc");
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		fatal("calloc");
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (p == NULL)
		fatal("realloc");
	return p;
}

char *
xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		fatal("strdup");
	return p;
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);

	if (p == NULL)
		fatal("strndup");
	return p;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;

	va_start(ap, fmt);
	p = xvasprintf(fmt, ap);
	va_end(ap);
	return p;
}

/* new string, must be free()d */
char *
xvasprintf(const char *fmt, va_list ap)
{
	char *p;

	if (vasprintf(&p, fmt, ap) == -1)
		fatal("vasprintf");
	return p;
}

/* A bare JID as people write it: node@domain, no resource, no spaces. */
/* Room for more bytes and a terminating NUL after b->len. */
void
text_reserve(struct text *b, size_t more)
{
	if (b->len + more + 1 <= b->cap)
		return;
	b->cap = b->cap ? b->cap : 256;
	while (b->cap < b->len + more + 1)
		b->cap *= 2;
	b->s = xrealloc(b->s, b->cap);
}

void
text_put(struct text *b, const char *s, size_t len)
{
	text_reserve(b, len);
	memcpy(b->s + b->len, s, len);
	b->len += len;
	b->s[b->len] = '\0';
}

void
text_free(struct text *b)
{
	free(b->s);
	memset(b, 0, sizeof(*b));
}

int
jid_valid_bare(const char *s)
{
	const char *at = strchr(s, '@');

	if (at == NULL || at == s || at[1] == '\0' || strchr(at + 1, '@'))
		return 0;
	for (; *s; s++)
		if (isspace((unsigned char)*s) || *s == '/' || *s == '"' || *s == '<' || *s == '>')
			return 0;
	return 1;
}

/*
 * UTC, ISO-8601, one-second precision: what the database stores. The last second's text is
 * kept: every stored message asks for the same few seconds.
 */
void
time_iso(time_t t, char buf[32])
{
	static time_t last = -1;
	static char text[32];
	struct tm tm;

	if (t != last) {
		gmtime_r(&t, &tm);
		strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm);
		last = t;
	}
	memcpy(buf, text, sizeof(text));
}

int
time_parse_iso(const char *s, time_t *t)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	if (s == NULL || (end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
		return -1;
	if (*end != 'Z' && *end != '\0')
		return -1;
	*t = timegm(&tm);
	return 0;
}

/* The C library quietly falls back to UTC for an unknown zone, so look for its file. */
int
tz_exists(const char *tz)
{
	const char *dir = getenv("TZDIR");
	struct stat sb;
	char path[512];

	if (tz == NULL || *tz == '\0' || tz[0] == '/' || strstr(tz, "..") != NULL)
		return 0;
	if (strcmp(tz, "UTC") == 0)
		return 1;
	snprintf(path, sizeof(path), "%s/%s", dir ? dir : "/usr/share/zoneinfo", tz);
	return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* The C library converts only in the process's zone: switch TZ around the call. */
static char *
tz_enter(const char *tz)
{
	const char *old = getenv("TZ");
	char *saved = old ? xstrdup(old) : NULL;

	setenv("TZ", tz, 1);
	tzset();
	return saved;
}

static void
tz_leave(char *saved)
{
	if (saved) {
		setenv("TZ", saved, 1);
		free(saved);
	} else
		unsetenv("TZ");
	tzset();
}

int
tz_localtime(const char *tz, time_t t, struct tm *tm)
{
	char *saved = tz_enter(tz);
	int rc = localtime_r(&t, tm) ? 0 : -1;

	tz_leave(saved);
	return rc;
}

int
tz_mktime(const char *tz, struct tm *tm, time_t *t)
{
	char *saved = tz_enter(tz);

	tm->tm_isdst = -1;
	*t = mktime(tm);
	tz_leave(saved);
	return *t == (time_t)-1 ? -1 : 0;
}

/*
 * The clock. RESPA_TIME_OFFSET (seconds, for tests only) shifts it, so a test can put respa
 * just before a business-hours boundary instead of waiting for one. Unit tests set it
 * outright (respa_clock_set), so that timers fire when the test says.
 */
static int64_t clock_fixed;

void
respa_clock_set(int64_t ms)
{
	clock_fixed = ms;
}

int64_t
respa_now_ms(void)
{
	static int64_t offset = -1;
	struct timespec ts;
	const char *env;

	if (clock_fixed)
		return clock_fixed;
	if (offset == -1)
		offset = (env = getenv("RESPA_TIME_OFFSET")) ? strtoll(env, NULL, 10) * 1000 : 0;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + offset;
}

time_t
respa_now(void)
{
	return (time_t)(respa_now_ms() / 1000);
}

/* new string, must be free()d */
char *
jid_bare(const char *jid)
{
	const char *slash = strchr(jid, '/');

	return slash ? xstrndup(jid, (size_t)(slash - jid)) : xstrdup(jid);
}

/* Splits node@domain/resource; the node is empty when there is none. 0 / -1. */
int
jid_split(const char *jid, char *node, size_t nodelen, char *domain, size_t domainlen)
{
	const char *at, *slash, *d;
	size_t n;

	slash = strchr(jid, '/');
	at = strchr(jid, '@');
	if (at && slash && at > slash)
		at = NULL;
	d = at ? at + 1 : jid;
	n = at ? (size_t)(at - jid) : 0;
	if (n >= nodelen)
		return -1;
	memcpy(node, jid, n);
	node[n] = '\0';
	n = slash ? (size_t)(slash - d) : strlen(d);
	if (n == 0 || n >= domainlen)
		return -1;
	memcpy(domain, d, n);
	domain[n] = '\0';
	return 0;
}

const char *
str_skip_space(const char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	return s;
}

void
str_trim(char *s)
{
	char *p = s, *e;

	while (isspace((unsigned char)*p))
		p++;
	if (p != s)
		memmove(s, p, strlen(p) + 1);
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
}

/*
 * UTF-8. Every cut of a text goes through utf8_prefix() (or str_copy(), utf8_trim_end()),
 * so no text is ever cut inside a character; utf8_valid() and utf8_repair() hold what XML
 * 1.0 allows (Char: tab, LF, CR, U+0020-U+D7FF, U+E000-U+FFFD, U+10000-U+10FFFF).
 */

/* Bytes of the sequence at s (of at most len): 1-4, or 0 when it is not valid UTF-8. */
static size_t
utf8_seq(const unsigned char *s, size_t len, uint32_t *cp)
{
	unsigned char c = s[0];
	size_t n, i;
	uint32_t v;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c < 0xc2 || c > 0xf4)
		return 0; /* a continuation byte, an overlong lead (C0, C1) or beyond U+10FFFF */
	n = c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
	if (len < n)
		return 0;
	/* the second byte's range rules out overlongs, surrogates and beyond U+10FFFF */
	if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f) ||
	    (c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] > 0x8f))
		return 0;
	v = c & (0xff >> (n + 1));
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (s[i] & 0x3f);
	}
	*cp = v;
	return n;
}

/* 1 when XML 1.0 allows the character (surrogates never decode, see utf8_seq()). */
static int
xml_char(uint32_t cp)
{
	return cp >= 0x20 ? cp != 0xfffe && cp != 0xffff : cp == '\t' || cp == '\n' || cp == '\r';
}

/* 1 when s[0..len) is valid UTF-8 holding only characters XML 1.0 allows (no NUL either). */
int
utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *e = p + len;
	uint32_t cp;
	size_t n;

	while (p < e) {
		if (*p >= 0x20 && *p < 0x80) { /* the common case: printable ASCII */
			p++;
			continue;
		}
		if ((n = utf8_seq(p, (size_t)(e - p), &cp)) == 0 || !xml_char(cp))
			return 0;
		p += n;
	}
	return 1;
}

/* new string, must be free()d: invalid sequences become U+FFFD, characters XML forbids go */
char *
utf8_repair(const char *s)
{
	const unsigned char *p = (const unsigned char *)s, *e = p + strlen(s);
	char *out = xmalloc((size_t)(e - p) * 3 + 1), *o = out; /* each byte at worst U+FFFD */
	uint32_t cp;
	size_t n;

	while (p < e) {
		if ((n = utf8_seq(p, (size_t)(e - p), &cp)) == 0) {
			memcpy(o, "\xef\xbf\xbd", 3);
			o += 3;
			p++;
			continue;
		}
		if (xml_char(cp)) {
			memcpy(o, p, n);
			o += n;
		}
		p += n;
	}
	*o = '\0';
	return out;
}

/*
 * s[0..len) appended to b as XML text or attribute value, in one pass: repaired as
 * utf8_repair() does and escaped (& < > " '). What respa writes as text itself (the relayed
 * message) is thus as valid as what stanza_repair() lets through.
 */
void
text_put_xml(struct text *b, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *e = p + len, *run;
	uint32_t cp;
	size_t n;

	text_reserve(b, len * 6); /* at worst "&quot;" for each byte */
	while (p < e) {
		for (run = p; p < e && *p >= 0x20 && *p < 0x80 && *p != '&' && *p != '<' &&
		     *p != '>' && *p != '"' && *p != '\'';
		     p++)
			;
		memcpy(b->s + b->len, run, (size_t)(p - run));
		b->len += (size_t)(p - run);
		if (p == e)
			break;
		switch (*p) {
		case '&': n = 5, memcpy(b->s + b->len, "&amp;", n); break;
		case '<': n = 4, memcpy(b->s + b->len, "&lt;", n); break;
		case '>': n = 4, memcpy(b->s + b->len, "&gt;", n); break;
		case '"': n = 6, memcpy(b->s + b->len, "&quot;", n); break;
		case '\'': n = 6, memcpy(b->s + b->len, "&apos;", n); break;
		default:
			if ((n = utf8_seq(p, (size_t)(e - p), &cp)) == 0) {
				memcpy(b->s + b->len, "\xef\xbf\xbd", 3);
				b->len += 3;
				p++;
				continue;
			}
			if (xml_char(cp)) {
				memcpy(b->s + b->len, p, n);
				b->len += n;
			}
			p += n;
			continue;
		}
		b->len += n;
		p++;
	}
	b->s[b->len] = '\0';
}

/*
 * Length of the longest prefix of s of at most max bytes that ends on a character boundary:
 * what "%.*s" may show, or a fixed buffer may hold, of s.
 */
size_t
utf8_prefix(const char *s, size_t max)
{
	size_t n = strnlen(s, max), back;

	if (n < max)
		return n; /* all of s */
	/* s[n] starts the first byte left out: never a continuation byte of a kept lead */
	for (back = 0; back < 3 && n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80; back++)
		n--;
	return ((unsigned char)s[n] & 0xc0) == 0x80 ? max : n; /* no lead in reach: not UTF-8 */
}

/* Like strlcpy: as much of src as dst holds, cut at a character boundary; always terminated. */
void
str_copy(char *dst, size_t dstlen, const char *src)
{
	size_t n;

	if (dstlen == 0)
		return;
	n = utf8_prefix(src, dstlen - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Drops a character cut short at the end of s (what snprintf() leaves when it truncates). */
void
utf8_trim_end(char *s)
{
	size_t len = strlen(s), i, need;
	unsigned char c;

	for (i = 1; i <= 4 && i <= len; i++) {
		c = (unsigned char)s[len - i];
		if ((c & 0xc0) == 0x80)
			continue; /* a continuation byte: its lead is further back */
		need = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
		if (need > i)
			s[len - i] = '\0';
		return;
	}
}

/* Unguessable names (a call's room): each character takes 6 random bits, URL-safe. */
void
random_token(char *buf, size_t len)
{
	static const char abc[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char r[64];
	size_t i, n = len ? len - 1 : 0;

	if (n > sizeof(r))
		n = sizeof(r);
	if (len == 0)
		return;
	if (n && RAND_bytes(r, (int)n) != 1)
		fatalx("RAND_bytes failed");
	for (i = 0; i < n; i++)
		buf[i] = abc[r[i] & 63];
	buf[n] = '\0';
}
