/* crm.c: the summary respa writes when nobody wrote one. */
#include "check.h"

static char buf[1024];

static void
facts(struct summary_facts *f)
{
	memset(f, 0, sizeof(*f));
	f->customer = "bob@example.com";
	f->channel = "xmpp";
	f->queue = "Customer support";
	f->first_message = "My order 1234 has not arrived.";
	f->agent = "alice@example.com";
	f->created_at = 1000000;
	f->closed_at = f->created_at + 5 * 60 + 10;
	f->resolved = 1;
}

/* The quoted opening as it appears in buf, copied into out; NULL when not found. */
static const char *
quoted(char *out, size_t len)
{
	const char *start = strstr(buf, "first asking: \""), *end;

	if (start == NULL)
		return NULL;
	start += strlen("first asking: \"");
	if ((end = strstr(start, "\". ")) == NULL || (size_t)(end - start) >= len)
		return NULL;
	memcpy(out, start, (size_t)(end - start));
	out[end - start] = '\0';
	return out;
}

/* Full stops that end a sentence, outside the quoted first message. */
static int
sentences(void)
{
	char q[256];
	const char *p, *skip_from = NULL, *skip_to = NULL;
	int n = 0;

	if (quoted(q, sizeof(q))) {
		skip_from = strstr(buf, "first asking: \"") + strlen("first asking: \"");
		skip_to = skip_from + strlen(q);
	}
	for (p = buf; *p; p++) {
		if (skip_from && p >= skip_from && p < skip_to)
			continue;
		if (*p == '.' && (p[1] == '\0' || p[1] == ' '))
			n++;
	}
	return n;
}

static int
valid_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		int more = *p < 0x80 ? 0 : (*p & 0xe0) == 0xc0 ? 1 : (*p & 0xf0) == 0xe0 ? 2 :
		    (*p & 0xf8) == 0xf0 ? 3 : -1;

		if (more < 0)
			return 0;
		for (p++; more > 0; more--, p++)
			if ((*p & 0xc0) != 0x80)
				return 0;
	}
	return 1;
}

static void
check_basic(void)
{
	struct summary_facts f;
	char q[256];

	facts(&f);
	crm_summary(&f, buf, sizeof(buf));
	CHECK(strstr(buf, "bob@example.com") != NULL);
	CHECK(strstr(buf, "Customer support") != NULL);
	CHECK(strstr(buf, "xmpp") != NULL);
	CHECK_STR(quoted(q, sizeof(q)), "My order 1234 has not arrived");
	CHECK(strstr(buf, "5 min") != NULL);
	CHECK(strstr(buf, ", resolved.") != NULL);
	CHECK(strstr(buf, "not resolved") == NULL);
	CHECK(strstr(buf, "tags") == NULL);
	CHECK(strstr(buf, "Handled by alice@example.com") != NULL);
	CHECK_INT(sentences(), 2);
	CHECK(buf[strlen(buf) - 1] == '.');
	/* the whole sentence shape, once */
	CHECK_STR(buf, "bob@example.com wrote to Customer support by xmpp, first asking: "
	    "\"My order 1234 has not arrived\". Handled by alice@example.com and closed after 5 "
	    "min, "
	    "resolved.");

	f.resolved = 0;
	f.agent = NULL;
	f.reason = "customer left";
	crm_summary(&f, buf, sizeof(buf));
	CHECK(strstr(buf, ", not resolved.") != NULL);
	CHECK(strstr(buf, "Closed without an agent") != NULL);
	CHECK(strstr(buf, "(customer left)") != NULL);
	CHECK_INT(sentences(), 2);

	f.tags = "billing, refund";
	crm_summary(&f, buf, sizeof(buf));
	CHECK(strstr(buf, "tags: billing, refund") != NULL);
	CHECK(strstr(buf, "not resolved") != NULL);
	CHECK(buf[strlen(buf) - 1] == '.');
	CHECK_INT(sentences(), 2);

	f.tags = ""; /* no tags: no "tags:" */
	crm_summary(&f, buf, sizeof(buf));
	CHECK(strstr(buf, "tags") == NULL);
}

static void
check_opening(void)
{
	struct summary_facts f;
	char q[256];
	const char *longmsg = "Hello, I ordered a blue jacket two weeks ago and it still has "
	    "not arrived. The tracking page says it left the warehouse on Monday. Can you help?";
	const char *mid;
	size_t n;

	facts(&f);
	f.first_message = NULL;
	crm_summary(&f, buf, sizeof(buf));
	CHECK_STR(quoted(q, sizeof(q)), "nothing");
	CHECK_INT(sentences(), 2);
	f.first_message = "";
	crm_summary(&f, buf, sizeof(buf));
	CHECK_STR(quoted(q, sizeof(q)), "nothing");

	/* a long message: cut at a word boundary near 80 characters, with "..." */
	f.first_message = longmsg;
	crm_summary(&f, buf, sizeof(buf));
	CHECK(quoted(q, sizeof(q)) != NULL);
	n = strlen(q);
	CHECK(n > 3 && strcmp(q + n - 3, "...") == 0);
	CHECK(n - 3 <= 80 && n - 3 >= 60);
	CHECK(strncmp(q, longmsg, n - 3) == 0);       /* a prefix of the message */
	CHECK(longmsg[n - 3] == ' ' || longmsg[n - 3] == '.'); /* not inside a word */
	CHECK(q[n - 4] != ' ');
	CHECK_INT(sentences(), 2); /* "arrived. The" inside the quote does not count */

	/* exactly 80 characters: kept whole */
	f.first_message = "aaaaaaaaa bbbbbbbbb ccccccccc ddddddddd eeeeeeeee fffffffff ggggggggg "
	    "hhhhhhhhhh";
	CHECK_INT(strlen(f.first_message), 80);
	crm_summary(&f, buf, sizeof(buf));
	CHECK_STR(quoted(q, sizeof(q)), f.first_message);

	/* one long word: cut hard, still marked */
	{
		char word[201];

		memset(word, 'x', 200);
		word[200] = '\0';
		f.first_message = word;
		crm_summary(&f, buf, sizeof(buf));
		CHECK(quoted(q, sizeof(q)) != NULL);
		n = strlen(q);
		CHECK(n >= 4 && n <= 83 && strcmp(q + n - 3, "...") == 0);
		CHECK(strspn(q, "x") == n - 3);
	}

	/* newlines and tabs become spaces: the summary stays on one line */
	f.first_message = "Hello\nI need help\r\nwith\tbilling";
	crm_summary(&f, buf, sizeof(buf));
	CHECK(strchr(buf, '\n') == NULL && strchr(buf, '\r') == NULL && strchr(buf, '\t') == NULL);
	CHECK(quoted(q, sizeof(q)) != NULL);
	CHECK(strncmp(q, "Hello I need help", 17) == 0);
	CHECK(strstr(q, "with billing") != NULL);

	/* a long message of lines: still cut between words, not inside one */
	f.first_message = "Hello\nmy\norder\nnumber\n1234\nhas\nnot\narrived\nyet\nand\nthe\n"
	    "tracking\npage\nsays\nnothing\nuseful\nat\nall\ntoday";
	crm_summary(&f, buf, sizeof(buf));
	CHECK(quoted(q, sizeof(q)) != NULL);
	n = strlen(q);
	CHECK(n > 3 && strcmp(q + n - 3, "...") == 0);
	mid = f.first_message + (n - 3);
	CHECK(*mid == '\n' || *mid == ' ');
	CHECK(strchr(q, '\n') == NULL);

	/* text without spaces in a multi-byte script: never cut inside a character */
	f.first_message = "注文した商品がまだ届いていません追跡番号を確認しても何も表示されませんどうすればいいですか"
	    "至急対応をお願いします";
	crm_summary(&f, buf, sizeof(buf));
	CHECK(valid_utf8(buf));
	CHECK(quoted(q, sizeof(q)) != NULL);
	n = strlen(q);
	CHECK(n > 3 && strcmp(q + n - 3, "...") == 0);
	CHECK(strncmp(q, f.first_message, n - 3) == 0);
}

static void
check_durations(void)
{
	static const struct {
		time_t secs;
		const char *text;
	} cases[] = {
		{ 0, "after under a minute," },
		{ 59, "after under a minute," },
		{ 60, "after 1 min," },
		{ 45 * 60 + 59, "after 45 min," },
		{ 3599, "after 59 min," },
		{ 3600, "after 1 h 00 min," },
		{ 2 * 3600 + 5 * 60 + 30, "after 2 h 05 min," },
		{ 27 * 3600 + 59 * 60, "after 27 h 59 min," },
	};
	struct summary_facts f;
	size_t i;

	facts(&f);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		f.closed_at = f.created_at + cases[i].secs;
		crm_summary(&f, buf, sizeof(buf));
		if (strstr(buf, cases[i].text) == NULL)
			fprintf(stderr, "%lld s: %s\n", (long long)cases[i].secs, buf);
		CHECK(strstr(buf, cases[i].text) != NULL);
	}
	/* a reason goes right after the duration */
	f.closed_at = f.created_at + 600;
	f.reason = "timeout";
	crm_summary(&f, buf, sizeof(buf));
	CHECK(strstr(buf, "after 10 min (timeout), resolved.") != NULL);
}

static void
check_small_buffer(void)
{
	struct summary_facts f;
	char small[48];

	facts(&f);
	f.tags = "billing";
	memset(small, '#', sizeof(small));
	crm_summary(&f, small, sizeof(small));
	CHECK(memchr(small, '\0', sizeof(small)) != NULL);
	CHECK(strncmp(small, "bob@example.com wrote to", 24) == 0);
}

static void
phone_ok(int line, const char *in, const char *cc, const char *want)
{
	char out[24] = "";
	int rc = crm_phone_e164(in, cc, out, sizeof(out));

	if (rc != 0 || strcmp(out, want) != 0)
		fprintf(stderr, "line %d: \"%s\" (cc %s): rc %d, \"%s\", want \"%s\"\n", line, in,
		    cc ? cc : "none", rc, out, want);
	CHECK_INT(rc, 0);
	CHECK_STR(out, want);
}

static void
check_phones(void)
{
	char out[24];

	phone_ok(__LINE__, "+358 40 123 4567", NULL, "+358401234567");
	phone_ok(__LINE__, "00358401234567", NULL, "+358401234567");
	phone_ok(__LINE__, "040-123 4567", "358", "+358401234567");
	phone_ok(__LINE__, "(555) 123-4567", "1", "+15551234567");
	phone_ok(__LINE__, "+1.555.123.4567", "44", "+15551234567");
	CHECK_INT(crm_phone_e164("040 123 4567", NULL, out, sizeof(out)), -1); /* no country */
	CHECK_INT(crm_phone_e164("+12345", NULL, out, sizeof(out)), -1);        /* too short */
	CHECK_INT(crm_phone_e164("+1234567890123456", NULL, out, sizeof(out)), -1); /* 16 */
	CHECK_INT(crm_phone_e164("+0123456789", NULL, out, sizeof(out)), -1);
	CHECK_INT(crm_phone_e164("call me", "1", out, sizeof(out)), -1);
	CHECK_INT(crm_phone_e164("+1555abc4567", NULL, out, sizeof(out)), -1);
	CHECK_INT(crm_phone_e164("", "1", out, sizeof(out)), -1);
	CHECK_INT(crm_phone_e164("+15551234567", NULL, out, 8), -1);             /* no room */

	/* gateways put the number in the local part, XEP-0106 escaped */
	CHECK_INT(crm_jid_phone("+15551234567@whatsapp.example.com", NULL, out, sizeof(out)), 0);
	CHECK_STR(out, "+15551234567");
	CHECK_INT(crm_jid_phone("+1\\20555\\20123\\204567@sms.example.com", NULL, out,
	    sizeof(out)), 0);
	CHECK_STR(out, "+15551234567");
	CHECK_INT(crm_jid_phone("0401234567@sms.example.com", "358", out, sizeof(out)), 0);
	CHECK_STR(out, "+358401234567");
	CHECK_INT(crm_jid_phone("alice@example.com", "1", out, sizeof(out)), -1);
	CHECK_INT(crm_jid_phone("example.com", "1", out, sizeof(out)), -1);
	CHECK_INT(crm_jid_phone("a\\40b@x.com", "1", out, sizeof(out)), -1);
}

static void
found_phone(int line, const char *text, const char *cc, const char *want)
{
	char out[24] = "";
	int rc = crm_find_phone(text, cc, out, sizeof(out));

	if (want == NULL) {
		if (rc != -1)
			fprintf(stderr, "line %d: \"%s\": found \"%s\"\n", line, text, out);
		CHECK_INT(rc, -1);
		return;
	}
	if (rc != 0 || strcmp(out, want) != 0)
		fprintf(stderr, "line %d: \"%s\": rc %d \"%s\", want %s\n", line, text, rc, out,
		    want);
	CHECK_STR(out, want);
}

/* Contact details as customers write them, and what is not one. */
static void
check_detection(void)
{
	char out[128];

	CHECK_INT(crm_find_email("mail me: Ann.Lee+shop@Example.COM.", out, sizeof(out)), 0);
	CHECK_STR(out, "ann.lee+shop@example.com");
	CHECK_INT(crm_find_email("<bob@mail.example.org>", out, sizeof(out)), 0);
	CHECK_STR(out, "bob@mail.example.org");
	CHECK_INT(crm_find_email("at @ noon, a@b, x@y.z1, .@x.com", out, sizeof(out)), -1);
	CHECK_INT(crm_find_email("first a@b then c@d.fi", out, sizeof(out)), 0);
	CHECK_STR(out, "c@d.fi");
	CHECK_INT(crm_find_email("no address here", out, sizeof(out)), -1);

	found_phone(__LINE__, "call +358 40 123 4567 today", NULL, "+358401234567");
	found_phone(__LINE__, "call 0046 8 123 456 78", NULL, "+46812345678");
	found_phone(__LINE__, "it's 040-123 4567", "358", "+358401234567");
	found_phone(__LINE__, "it's 040-123 4567", NULL, NULL);     /* no country known */
	found_phone(__LINE__, "(555) 987-6543 please", "1", "+15559876543");
	found_phone(__LINE__, "555 987 6543", "1", "+15559876543");
	found_phone(__LINE__, "order 5559876543 is late", "1", NULL); /* a plain run of digits */
	found_phone(__LINE__, "since 2026-11-20 09:30", "358", NULL); /* a date */
	found_phone(__LINE__, "on 20.11.2026 10 am", "358", NULL);
	found_phone(__LINE__, "on 11/20/2026 10 am", "1", NULL);
	found_phone(__LINE__, "ref A1234567", "358", NULL);
	found_phone(__LINE__, "+12 34", NULL, NULL);                  /* too short */
	found_phone(__LINE__, "order 123, phone +1 555 123 4567", NULL, "+15551234567");
}

/* Channels: the widget's visitors are web, [domain] sections name gateways' channels. */
static void
check_channels(void)
{
	struct config c;
	struct domain wa = { "whatsapp.example.com", "whatsapp", NULL };

	memset(&c, 0, sizeof(c));
	c.domain_map = map_new();
	map_put(c.domain_map, wa.name, &wa);
	CHECK_STR(crm_channel(&c, "bob@example.com/phone", 0), "xmpp");
	CHECK_STR(crm_channel(&c, "x1@guest.example.com/conv", 1), "web");
	CHECK_STR(crm_channel(&c, "+15551234567@whatsapp.example.com/gw", 0), "whatsapp");
	CHECK_STR(crm_channel(&c, "+15551234567@whatsapp.example.com", 0), "whatsapp");
	CHECK_STR(crm_channel(&c, "whatsapp.example.com", 0), "whatsapp");
	CHECK_STR(crm_channel(&c, "bob@sub.whatsapp.example.com", 0), "xmpp");
	map_free(c.domain_map);
}

/* The card: a detail only written in a chat is marked unverified; a verified one is not. */
static void
check_card(void)
{
	struct contact_card k;
	char card[512];

	memset(&k, 0, sizeof(k));
	snprintf(k.name, sizeof(k.name), "Bob Smith");
	snprintf(k.email, sizeof(k.email), "bob@example.com");
	snprintf(k.phone, sizeof(k.phone), "+15551234567");
	k.phone_verified = 1; /* from a gateway's JID */
	crm_card_text(&k, "whatsapp", card, sizeof(card));
	CHECK_STR(card, "Contact: Bob Smith; email bob@example.com (unverified); phone "
	    "+15551234567; channel whatsapp. First contact.");
	k.email_verified = 1;
	k.phone_verified = 0;
	crm_card_text(&k, "", card, sizeof(card));
	CHECK_STR(card, "Contact: Bob Smith; email bob@example.com; phone +15551234567 "
	    "(unverified). First contact.");
	memset(&k, 0, sizeof(k)); /* nothing known: nothing to mark */
	crm_card_text(&k, "", card, sizeof(card));
	CHECK_STR(card, "Contact: (no name); email unknown; phone unknown. First contact.");
}

/* The answer to "rate 1 to 5": a number or stars first, a comment after. */
static void
check_rating(void)
{
	static const struct {
		const char *text;
		int ret, score;
		const char *comment;
	} cases[] = {
		{ "5", 1, 5, NULL },
		{ "  4 thanks!", 1, 4, "thanks!" },
		{ "3, slow but ok", 1, 3, "slow but ok" },
		{ "5/5", 1, 5, NULL },
		{ "4/5 good", 1, 4, "good" },
		{ "1.", 1, 1, NULL },
		{ "2!!", 1, 2, NULL },
		{ "5\n", 1, 5, NULL },
		{ "\xe2\xad\x90\xe2\xad\x90\xe2\xad\x90\xe2\xad\x90\xe2\xad\x90", 1, 5, NULL },
		{ "\xe2\x98\x85\xe2\x98\x85 meh", 1, 2, "meh" },
		{ "\xe2\xad\x90\xef\xb8\x8f\xe2\xad\x90\xef\xb8\x8f\xe2\xad\x90\xef\xb8\x8f", 1, 3, NULL },
		{ "6", -1, 0, NULL },
		{ "0", -1, 0, NULL },
		{ "10", -1, 0, NULL },
		{ "\xe2\xad\x90\xe2\xad\x90\xe2\xad\x90\xe2\xad\x90\xe2\xad\x90\xe2\xad\x90", -1, 0,
		    NULL },
		{ "7 items are missing", 0, 0, NULL },
		{ "five", 0, 0, NULL },
		{ "4.5", 0, 0, NULL },
		{ "3pm tomorrow?", 0, 0, NULL },
		{ "12345", 0, 0, NULL },
		{ "4/10", 0, 0, NULL },
		{ "", 0, 0, NULL },
		{ "hello 5", 0, 0, NULL },
	};
	const char *comment;
	size_t i;
	int score;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK_INT(crm_rating_parse(cases[i].text, &score, &comment), cases[i].ret);
		CHECK_INT(score, cases[i].score);
		if (cases[i].comment)
			CHECK_STR(comment ? comment : "(null)", cases[i].comment);
		else
			CHECK(comment == NULL);
	}
}

int
main(void)
{
	check_basic();
	check_opening();
	check_durations();
	check_small_buffer();
	check_phones();
	check_detection();
	check_channels();
	check_card();
	check_rating();
	return check_done();
}
