/* mail.c: addresses, header encoding and folding, quoted-printable, whole messages. */
#include <stdlib.h>
#include <string.h>

#include "check.h"

static void
addresses(void)
{
	CHECK(mail_addr_ok("anna@example.com"));
	CHECK(mail_addr_ok("first.last+tag@sub.example.fi"));
	CHECK(mail_addr_ok("a@localhost"));
	CHECK(!mail_addr_ok(""));
	CHECK(!mail_addr_ok("anna"));
	CHECK(!mail_addr_ok("anna@"));
	CHECK(!mail_addr_ok("@example.com"));
	CHECK(!mail_addr_ok("a@b@example.com"));
	CHECK(!mail_addr_ok("anna@example.com\r\nBcc: victim@example.com"));
	CHECK(!mail_addr_ok("anna@example.com\n"));
	CHECK(!mail_addr_ok("\"anna\"@example.com"));
	CHECK(!mail_addr_ok("an na@example.com"));
	CHECK(!mail_addr_ok("<anna@example.com>"));
	CHECK(!mail_addr_ok("anna@exa_mple.com"));
	CHECK(!mail_addr_ok(".anna@example.com"));
	CHECK(!mail_addr_ok("an..na@example.com"));
	CHECK(!mail_addr_ok("anna@-example.com"));
	CHECK(!mail_addr_ok("anna@example..com"));
	CHECK(!mail_addr_ok("änna@example.com")); /* no SMTPUTF8: refused, never mangled */
}

static void
mailboxes(void)
{
	char name[64], addr[64];

	CHECK_INT(mail_parse_mailbox("support@example.com", name, sizeof(name), addr, sizeof(addr)),
	    0);
	CHECK_STR(name, "");
	CHECK_STR(addr, "support@example.com");
	CHECK_INT(mail_parse_mailbox("Example Support <support@example.com>", name, sizeof(name),
	              addr, sizeof(addr)),
	    0);
	CHECK_STR(name, "Example Support");
	CHECK_STR(addr, "support@example.com");
	CHECK_INT(mail_parse_mailbox("\"Tuki, Oy\" <tuki@example.fi>", name, sizeof(name), addr,
	              sizeof(addr)),
	    0);
	CHECK_STR(name, "Tuki, Oy");
	CHECK_INT(mail_parse_mailbox("Support <support@example.com", name, sizeof(name), addr,
	              sizeof(addr)),
	    -1);
	CHECK_INT(mail_parse_mailbox("Support <not an address>", name, sizeof(name), addr,
	              sizeof(addr)),
	    -1);
}

static void
headers(void)
{
	char *h;

	h = mail_header("Subject", "Hello there");
	CHECK_STR(h, "Subject: Hello there\n");
	free(h);
	/* CR and LF fold away into spaces: no second header line can start */
	h = mail_header("Subject", "Hi\r\nBcc: victim@example.com");
	CHECK_STR(h, "Subject: Hi Bcc: victim@example.com\n");
	free(h);
	/* non-ASCII: RFC 2047 B words; "Hyvää päivää" is 14 bytes */
	h = mail_header("Subject", "Hyvää päivää");
	CHECK_STR(h, "Subject: =?UTF-8?B?SHl2w6TDpCBww6RpdsOkw6Q=?=\n");
	free(h);
	/* text that looks like an encoded word is encoded, so it is read back as written */
	h = mail_header("Subject", "=?UTF-8?B?QQ==?=");
	CHECK(strncmp(h, "Subject: =?UTF-8?B?", 19) == 0);
	free(h);
	/* a long ASCII subject is folded at spaces: no line past 78 characters */
	h = mail_header("Subject", "aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk llll "
	                           "mmmm nnnn oooo pppp qqqq rrrr ssss tttt");
	CHECK(strchr(h, '\n') < h + strlen(h) - 1); /* folded */
	{
		char *line, *save = NULL, *copy = xstrdup(h);

		for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
			CHECK(strlen(line) <= 78);
		free(copy);
	}
	CHECK(strstr(h, "\n ") != NULL); /* continuation lines start with a space */
	free(h);
}

/* A long non-ASCII subject: several encoded words, each at most 75 characters. */
static void
long_encoded(void)
{
	char text[400] = "", *h, *line, *save = NULL;
	int words = 0, i;

	for (i = 0; i < 40; i++)
		strcat(text, "äöå ");
	h = mail_header("Subject", text);
	for (line = strtok_r(h, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		const char *w = strstr(line, "=?UTF-8?B?");

		CHECK(w != NULL);
		CHECK(strlen(w) <= 75);
		CHECK(strcmp(line + strlen(line) - 2, "?=") == 0);
		words++;
	}
	CHECK(words > 2);
	free(h);
}

static void
quoted_printable(void)
{
	char *q, long_line[300];
	const char *p;
	size_t i;

	q = mail_qp("Hei, mitä kuuluu? 100% = ok\n");
	CHECK_STR(q, "Hei, mit=C3=A4 kuuluu? 100% =3D ok\n");
	free(q);
	q = mail_qp("trailing space \r\n.dot line\nFrom here\n");
	CHECK_STR(q, "trailing space=20\n=2Edot line\n=46rom here\n");
	free(q);
	for (i = 0; i < sizeof(long_line) - 1; i++)
		long_line[i] = (char)('a' + i % 26);
	long_line[sizeof(long_line) - 1] = '\0';
	q = mail_qp(long_line);
	for (p = q; *p;) { /* soft breaks keep every line under 77 characters */
		size_t n = strcspn(p, "\n");

		CHECK(n <= 76);
		p += n + (p[n] ? 1 : 0);
	}
	CHECK(strstr(q, "=\n") != NULL);
	free(q);
}

static void
compose(void)
{
	struct mail m = {
		.from_addr = "support@example.com",
		.from_name = "Tuki \"Asiakaspalvelu\"",
		.to_addr = "anna@example.fi",
		.to_name = "Änni Åström",
		.reply_to = "help@example.com",
		.subject = "Keskustelu\r\nBcc: x@example.com",
		.body = "Hei!\nKiitos yhteydenotosta.",
		.date = 1796209676, /* 2026-12-02 11:07:56 UTC */
		.msgid = "0123abcd",
	};
	char *s = mail_compose(&m), *body;

	CHECK(s != NULL);
	CHECK(strstr(s, "From: \"Tuki \\\"Asiakaspalvelu\\\"\" <support@example.com>\n") != NULL);
	CHECK(strstr(s, "To: =?UTF-8?B?") != NULL);
	CHECK(strstr(s, "<anna@example.fi>\n") != NULL);
	CHECK(strstr(s, "Reply-To: help@example.com\n") != NULL);
	CHECK(strstr(s, "Subject: Keskustelu Bcc: x@example.com\n") != NULL);
	CHECK(strstr(s, "\nBcc:") == NULL);
	CHECK(strstr(s, "Date: Wed, 02 Dec 2026 11:07:56 +0000\n") != NULL);
	CHECK(strstr(s, "Message-ID: <0123abcd@example.com>\n") != NULL);
	CHECK(strstr(s, "MIME-Version: 1.0\n") != NULL);
	CHECK(strstr(s, "Content-Type: text/plain; charset=utf-8\n") != NULL);
	CHECK(strstr(s, "Content-Transfer-Encoding: quoted-printable\n") != NULL);
	body = strstr(s, "\n\n");
	CHECK(body && strcmp(body, "\n\nHei!\nKiitos yhteydenotosta.\n") == 0);
	free(s);
	/* a bad address composes nothing */
	m.to_addr = "anna@example.fi\nBcc: x@example.com";
	CHECK(mail_compose(&m) == NULL);
	m.to_addr = "anna@example.fi";
	m.msgid = "abc>\nX-Evil: 1";
	CHECK(mail_compose(&m) == NULL);
	/* an ASCII name with specials is quoted; a plain one stands as atoms */
	m.msgid = "1";
	m.from_name = "Example Support";
	m.to_name = "Smith, Anna";
	s = mail_compose(&m);
	CHECK(strstr(s, "From: Example Support <support@example.com>\n") != NULL);
	CHECK(strstr(s, "To: \"Smith, Anna\" <anna@example.fi>\n") != NULL);
	free(s);
	/* a name with a line break is one line */
	m.to_name = "Anna\r\nBcc: x@example.com";
	s = mail_compose(&m);
	CHECK(strstr(s, "\nBcc:") == NULL);
	free(s);
}

/* A file after the body: multipart/mixed, base64 in lines of 76, a boundary of its own. */
static void
compose_attachment(void)
{
	static char html[200];
	struct mail m = {
		.from_addr = "support@example.com",
		.to_addr = "boss@example.com",
		.subject = "respa report",
		.body = "The report is attached.",
		.date = 1796209676,
		.msgid = "0123abcd",
		.attach = html,
		.attach_name = "respa-report-2026-11-02-2026-12-01.html",
		.attach_type = "text/html; charset=utf-8",
	};
	char *s, *part, *line, *end;
	size_t i;

	for (i = 0; i < sizeof(html) - 1; i++)
		html[i] = (char)('a' + i % 26);
	memcpy(html, "<p>Ä", 5); /* UTF-8 in the file */
	m.attach_len = strlen(html);
	s = mail_compose(&m);
	CHECK(s != NULL);
	if (s == NULL)
		return;
	CHECK(strstr(s, "MIME-Version: 1.0\nContent-Type: multipart/mixed; "
	                "boundary=\"=_0123abcd\"\nAuto-Submitted: auto-generated\n\n--=_0123abcd\n"
	                "Content-Type: text/plain; charset=utf-8\n") != NULL);
	CHECK(strstr(s, "\n\nThe report is attached.\n--=_0123abcd\nContent-Type: text/html; "
	                "charset=utf-8\nContent-Disposition: attachment; "
	                "filename=\"respa-report-2026-11-02-2026-12-01.html\"\n"
	                "Content-Transfer-Encoding: base64\n\nPHA+w4Rm") != NULL);
	part = strstr(s, "base64\n\n");
	CHECK(part != NULL);
	/* 199 bytes: three lines of 57 bytes (76 characters) and one of 28 (40 characters) */
	for (i = 0, line = part ? part + 8 : NULL; line && i < 4; i++, line = end + 1) {
		end = strchr(line, '\n');
		CHECK(end && end - line == (i < 3 ? 76 : 40));
		if (end == NULL)
			break;
	}
	CHECK(line && strcmp(line, "--=_0123abcd--\n") == 0);
	free(s);
	/* a file name that would need quoting composes nothing */
	m.attach_name = "report\".html";
	CHECK(mail_compose(&m) == NULL);
	m.attach_name = "../x.html";
	CHECK(mail_compose(&m) == NULL);
}

/* Picks from bytes that make trouble: line breaks, quotes, specials, UTF-8, "=?". */
static void
random_text(unsigned *seed, char *buf, size_t max)
{
	static const char *const parts[] = { "\r", "\n", "\r\n", "\"", "\\", "<", ">", ",", ";",
		":", "@", ".", "=?", "?=", " ", "\t", "ä", "Ö", "å", "€", "😀", "Bcc: x@y.z", "a", "Zz",
		"From ", "=", "_", "(", ")", "\x01", "longwordlongwordlongwordlongwordlongword" };
	size_t len = 0, n = (size_t)(rand_r(seed) % 60), i;

	buf[0] = '\0';
	for (i = 0; i < n; i++) {
		const char *p = parts[rand_r(seed) % (sizeof(parts) / sizeof(parts[0]))];

		if (len + strlen(p) + 1 > max)
			break;
		strcpy(buf + len, p);
		len += strlen(p);
	}
}

/*
 * Whatever names and subjects hold, the header block is 7-bit, each line at most 78
 * characters, and each line is a continuation (starts with a space) or one of the fields
 * respa writes, each once: nothing typed can add a header.
 */
static void
no_header_can_be_added(void)
{
	static const char *const fields[] = { "From: ", "To: ", "Subject: ", "Date: ",
		"Message-ID: ", "MIME-Version: ", "Content-Type: ", "Content-Transfer-Encoding: ",
		"Auto-Submitted: " };
	char name[512], to_name[512], subject[512], body[512];
	unsigned seed = 15;
	int round, bad = 0;

	for (round = 0; round < 3000; round++) {
		struct mail m = { .from_addr = "support@example.com",
			.to_addr = "bob@example.com",
			.date = 1796209676,
			.msgid = "00ff" };
		int seen[sizeof(fields) / sizeof(fields[0])] = { 0 };
		char *s, *head, *line, *save = NULL;
		size_t i;

		random_text(&seed, name, sizeof(name));
		random_text(&seed, to_name, sizeof(to_name));
		random_text(&seed, subject, sizeof(subject));
		random_text(&seed, body, sizeof(body));
		m.from_name = name;
		m.to_name = to_name;
		m.subject = subject;
		m.body = body;
		if ((s = mail_compose(&m)) == NULL) {
			fprintf(stderr, "\tround %d: nothing composed\n", round);
			bad++;
			continue;
		}
		head = strstr(s, "\n\n");
		if (head == NULL) {
			bad++;
			free(s);
			continue;
		}
		head[1] = '\0';
		for (i = 0; s[i]; i++)
			if ((unsigned char)s[i] > 126 || s[i] == '\r' || s[i] == '\t' ||
			    ((unsigned char)s[i] < 32 && s[i] != '\n')) {
				bad++;
				fprintf(stderr, "\tround %d: byte %02x in the header\n", round,
				    (unsigned char)s[i]);
			}
		for (line = strtok_r(s, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			if (strlen(line) > 78) {
				bad++;
				fprintf(stderr, "\tround %d: long line \"%s\"\n", round, line);
			}
			if (line[0] == ' ')
				continue;
			for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
				if (strncmp(line, fields[i], strlen(fields[i])) == 0)
					break;
			if (i == sizeof(fields) / sizeof(fields[0]) || seen[i]++) {
				bad++;
				fprintf(stderr, "\tround %d: header line \"%s\"\n", round, line);
			}
		}
		free(s);
	}
	CHECK_INT(bad, 0);
}

int
main(void)
{
	addresses();
	mailboxes();
	headers();
	long_encoded();
	quoted_printable();
	compose();
	compose_attachment();
	no_header_can_be_added();
	return check_done();
}
