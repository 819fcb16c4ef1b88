/*
 * util.c's UTF-8 helpers, every place that cuts a text (filled with multi-byte characters, so
 * a cut lands inside one unless it is made on a boundary), and component_send()'s guard.
 */
#include <stdlib.h>

#include "check.h"

#define EURO "\xe2\x82\xac"       /* 3 bytes */
#define EACUTE "\xc3\xa9"         /* 2 bytes */
#define CLEF "\xf0\x9d\x84\x9e"   /* 4 bytes */
#define FFFD "\xef\xbf\xbd"

static int
valid(const char *s)
{
	return s != NULL && utf8_valid(s, strlen(s));
}

/* n copies of unit after lead, as a new string */
static char *
repeat(const char *lead, const char *unit, size_t n)
{
	size_t ll = strlen(lead), ul = strlen(unit), i;
	char *s = xmalloc(ll + n * ul + 1);

	memcpy(s, lead, ll);
	for (i = 0; i < n; i++)
		memcpy(s + ll + i * ul, unit, ul);
	s[ll + n * ul] = '\0';
	return s;
}

static void
test_valid(void)
{
	static const struct {
		const char *s;
		int ok;
	} cases[] = {
		{ "", 1 }, { "plain text", 1 }, { "tab\tlf\ncr\r", 1 }, { EACUTE EURO CLEF, 1 },
		{ "\x7f", 1 }, { FFFD, 1 }, { "\xed\x9f\xbf", 1 },             /* U+D7FF */
		{ "\xee\x80\x80", 1 }, { "\xf4\x8f\xbf\xbf", 1 },                /* U+E000, U+10FFFF */
		{ "\x01", 0 }, { "\x1f", 0 }, { "a\x0b", 0 },                     /* C0 controls */
		{ "\xef\xbf\xbe", 0 }, { "\xef\xbf\xbf", 0 },                     /* U+FFFE, U+FFFF */
		{ "\xed\xa0\x80", 0 }, { "\xed\xbf\xbf", 0 },                     /* surrogates */
		{ "\xc0\x80", 0 }, { "\xc1\xbf", 0 }, { "\xe0\x80\xaf", 0 },      /* overlongs */
		{ "\xf0\x80\x80\xaf", 0 }, { "\xf4\x90\x80\x80", 0 }, { "\xf5\x80\x80\x80", 0 },
		{ "\xe2\x82", 0 }, { "a\xc3", 0 }, { "\x80", 0 }, { "\xff", 0 }, /* cut, stray */
		{ "\xe9t\xe9", 0 },                                              /* Latin-1 */
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (utf8_valid(cases[i].s, strlen(cases[i].s)) != cases[i].ok) {
			fprintf(stderr, "utf8_valid case %zu\n", i);
			CHECK(0);
		}
	CHECK(!utf8_valid("a\0b", 3)); /* a NUL inside is no text */
	CHECK(utf8_valid(EURO "junk", 3)); /* only len bytes are read */
	CHECK(!utf8_valid(EURO, 2));
}

static void
test_repair(void)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "fine " EURO, "fine " EURO }, { "a\xff" "b", "a" FFFD "b" },
		{ "a\x01" "b\x1f", "ab" }, { "x\xef\xbf\xbe", "x" }, { "\xe2\x82", FFFD FFFD },
		{ "\xed\xa0\x80", FFFD FFFD FFFD }, { "\xc0\x80", FFFD FFFD },
		{ "Bienvenue \xe0 vous", "Bienvenue " FFFD " vous" }, { "", "" },
	};
	size_t i;
	char *r;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r = utf8_repair(cases[i].in);
		CHECK_STR(r, cases[i].out);
		CHECK(valid(r));
		free(r);
	}
}

static void
test_prefix_copy_trim(void)
{
	char buf[8], *s;
	size_t n, max;

	CHECK_INT(utf8_prefix(EURO EURO, 6), 6);
	CHECK_INT(utf8_prefix(EURO EURO, 5), 3);
	CHECK_INT(utf8_prefix(EURO EURO, 4), 3);
	CHECK_INT(utf8_prefix(EURO EURO, 3), 3);
	CHECK_INT(utf8_prefix(EURO EURO, 2), 0);
	CHECK_INT(utf8_prefix("a" EACUTE, 2), 1);
	CHECK_INT(utf8_prefix("abc", 10), 3);
	CHECK_INT(utf8_prefix("abc", 0), 0);
	CHECK_INT(utf8_prefix(CLEF, 3), 0);

	str_copy(buf, sizeof(buf), EURO EURO EURO); /* 7 bytes of room */
	CHECK_STR(buf, EURO EURO);
	str_copy(buf, 3, EURO);
	CHECK_STR(buf, "");
	str_copy(buf, 1, "abc");
	CHECK_STR(buf, "");
	str_copy(buf, sizeof(buf), "short");
	CHECK_STR(buf, "short");

	/* every size, every alignment: the copy is valid and a prefix of the text */
	for (n = 0; n < 3; n++) {
		s = repeat(n == 0 ? "" : n == 1 ? "x" : "xy", EURO EACUTE CLEF, 10);
		for (max = 1; max < 40; max++) {
			char d[40];

			str_copy(d, max, s);
			CHECK(valid(d) && strncmp(d, s, strlen(d)) == 0 && strlen(d) + 4 > max - 1);
			snprintf(d, max, "%s", s);
			utf8_trim_end(d);
			CHECK(valid(d) && strncmp(d, s, strlen(d)) == 0);
		}
		free(s);
	}
	strcpy(buf, "a" EURO);
	utf8_trim_end(buf);
	CHECK_STR(buf, "a" EURO);
	strcpy(buf, "a\xe2\x82");
	utf8_trim_end(buf);
	CHECK_STR(buf, "a");
	strcpy(buf, EACUTE "\xf0\x9d\x84");
	utf8_trim_end(buf);
	CHECK_STR(buf, EACUTE);
}

/* The five cuts the fuzzing found, and the other quotes of what people write. */
static void
test_cuts(void)
{
	static const char *const keys[] = { "name", "email", "phone", "company" };
	struct close_args ca;
	struct summary_facts f;
	struct contact_card k;
	struct hours h = { 0 };
	char *v[4], err[512], buf[1024], small[100], *s, *t;
	const char *rest;
	time_t due;
	size_t i;

	/* slash_fields quotes 20 bytes of what it did not understand */
	s = repeat("", EURO, 26);
	CHECK_INT(slash_fields(s, keys, 4, v, err, sizeof(err)), -1);
	CHECK(valid(err));
	CHECK(strstr(err, "\"" EURO EURO EURO EURO EURO EURO "\"") != NULL);
	free(s);

	/* hours quote 40 bytes of a bad word; closed dates too */
	s = repeat("x", EACUTE, 30);
	CHECK_INT(hours_parse(&h, s, err, sizeof(err)), -1);
	CHECK(valid(err));
	CHECK_INT(hours_parse_closed(&h, s, err, sizeof(err)), -1);
	CHECK(valid(err));
	t = xasprintf("Mon %s", s);
	CHECK_INT(hours_parse(&h, t, err, sizeof(err)), -1);
	CHECK(valid(err));
	free(t);
	free(s);

	/* due times quote 5 or 10 bytes */
	CHECK_INT(due_parse("today 1" EURO, 0, "UTC", &due, &rest, err, sizeof(err)), -1);
	CHECK(valid(err));
	CHECK_INT(due_parse("2026-02-30 1" EURO, 0, "UTC", &due, &rest, err, sizeof(err)), -1);
	CHECK(valid(err));

	/* the summary: long tags and a long buffer's end */
	memset(&f, 0, sizeof(f));
	s = repeat("x", EACUTE, 400);
	f.customer = s;
	f.queue = "Support";
	f.channel = "web";
	f.first_message = s;
	f.agent = "ann@example.com";
	f.tags = s;
	f.closed_at = 100;
	crm_summary(&f, buf, sizeof(buf));
	CHECK(valid(buf));
	CHECK(strlen(buf) > 1000);
	crm_summary(&f, small, sizeof(small));
	CHECK(valid(small));
	free(s);

	/* /close tags: whole or not at all */
	s = repeat("#", EURO, 90);
	t = xasprintf("#a%s %s done", EACUTE, s);
	slash_close(t, &ca);
	CHECK(valid(ca.tags));
	free(t);
	free(s);

	/* the contact card from full fields, cut at its buffer */
	memset(&k, 0, sizeof(k));
	s = repeat("x", EURO, 200);
	str_copy(k.name, sizeof(k.name), s);
	str_copy(k.email, sizeof(k.email), s);
	str_copy(k.company, sizeof(k.company), s);
	str_copy(k.last_summary, sizeof(k.last_summary), s);
	str_copy(k.task, sizeof(k.task), s);
	CHECK(valid(k.name) && valid(k.last_summary) && valid(k.task));
	CHECK(strlen(k.name) > 120);
	k.conversations = 2;
	k.open_tasks = 1;
	for (i = 300; i < sizeof(buf); i += 37) {
		crm_card_text(&k, "web", buf, i);
		CHECK(valid(buf));
	}
	free(s);
}

/* form_check quotes a bad value and refuses text XML cannot carry, or too much of it */
static void
test_form_values(void)
{
	struct form *f = form_new(FORM_SUBMIT, NULL, NULL);
	struct form_field *fl = form_add(f, "n", FIELD_TEXT, "Capacity");
	char err[128], *s;

	fl->integer = 1;
	fl->min = 1;
	fl->max = 9;
	s = repeat("x", EURO, 100);
	form_value(fl, s);
	CHECK_INT(form_check(f, err, sizeof(err)), -1);
	CHECK(valid(err));
	CHECK(strstr(err, "Capacity") != NULL);
	form_clear(fl);
	form_value(fl, "4\x01");
	CHECK_INT(form_check(f, err, sizeof(err)), -1);
	CHECK(strstr(err, "Capacity: holds a character") != NULL);
	free(s);
	fl->integer = 0;
	form_clear(fl);
	s = repeat("", "a", FORM_VALUE_MAX + 1);
	form_value(fl, s);
	CHECK_INT(form_check(f, err, sizeof(err)), -1);
	CHECK(strstr(err, "Capacity: at most") != NULL);
	free(s);
	form_clear(fl);
	s = repeat("", EURO, FORM_VALUE_MAX / 3);
	form_value(fl, s);
	CHECK_INT(form_check(f, err, sizeof(err)), 0);
	free(s);
	form_free(f);
}

/* text_put_xml(): repairs as utf8_repair() does and escapes, in one pass, appending */
static void
test_text_xml(void)
{
	static const char *const inputs[] = { "", "plain", "caf" EACUTE " " CLEF, "cut \xe2\x82 here\x01",
		"\xff\xfe", "\xc0\x80", "deep\xef\xbf\xbf", "\xed\xa0\x80 surrogate", "tab\tlf\n",
		"nul\x1f", "\xf4\x90\x80\x80 beyond" };
	struct text b = { NULL, 0, 0 };
	char *want;
	size_t i;

	for (i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		b.len = 0;
		text_put_xml(&b, inputs[i], strlen(inputs[i]));
		want = utf8_repair(inputs[i]);
		CHECK_STR(b.s, want);
		CHECK(b.len == strlen(want) && utf8_valid(b.s, b.len));
		free(want);
	}
	b.len = 0;
	text_put(&b, "<a>", 3);
	text_put_xml(&b, "x<y>&\"z'\xff", 9);
	CHECK_STR(b.s, "<a>x&lt;y&gt;&amp;&quot;z&apos;" FFFD);
	CHECK(b.len == strlen(b.s));
	text_free(&b);
	CHECK(b.s == NULL && b.len == 0);
}

/* component_send() repairs what it is given, text and attributes, however deep */
static void
test_send_guard(xmpp_ctx_t *ctx)
{
	xmpp_stanza_t *st, *x, *t;
	char *xml;
	size_t len;

	st = stanza_message("support.localhost", "bob@localhost/web", "cut \xe2\x82 here\x01");
	xmpp_stanza_set_attribute(st, "xml:lang", "e\xff");
	x = xmpp_stanza_new(ctx);
	xmpp_stanza_set_name(x, "x");
	xmpp_stanza_set_attribute(x, "a", "\xc0\x80");
	t = xmpp_stanza_new(ctx);
	xmpp_stanza_set_text(t, "deep\xef\xbf\xbf");
	xmpp_stanza_add_child_ex(x, t, 0);
	xmpp_stanza_add_child_ex(st, x, 0);
	xmpp_stanza_clone(st); /* keep a reference past the send */
	component_send(st);
	CHECK(xmpp_stanza_to_text(st, &xml, &len) == XMPP_EOK);
	CHECK(utf8_valid(xml, len));
	CHECK(strstr(xml, "cut " FFFD FFFD " here</body>") != NULL);
	CHECK(strstr(xml, "e" FFFD) != NULL);
	CHECK(strstr(xml, ">deep</x>") != NULL);
	xmpp_free(ctx, xml);
	xmpp_stanza_release(st);
	/* valid text goes untouched */
	st = stanza_message("support.localhost", "bob@localhost/web", "caf" EACUTE " " CLEF);
	CHECK_INT(stanza_repair(st), 0);
	xmpp_stanza_release(st);
	component_flush(); /* not connected: drops the queue */
}

int
main(void)
{
	struct config conf;
	xmpp_ctx_t *ctx;

	memset(&conf, 0, sizeof(conf));
	conf.jid = "support.localhost";
	conf.secret = "unit";
	xmpp_initialize();
	ctx = xmpp_ctx_new(NULL, NULL);
	component_init(&conf, ctx);

	test_valid();
	test_repair();
	test_prefix_copy_trim();
	test_cuts();
	test_form_values();
	test_text_xml();
	test_send_guard(ctx);

	component_free();
	xmpp_ctx_free(ctx);
	xmpp_shutdown();
	return check_done();
}
