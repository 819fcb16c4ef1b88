/*
 * A property, not a parser: valid UTF-8 in, valid UTF-8 out. The input (skipped when it is
 * not valid UTF-8) is what people type: an agent's /contact and /close, a customer's first
 * message, a queue's hours, an admin's form values. Every text respa builds from it must
 * be valid UTF-8, or a server closes the component's stream. The validity check is this
 * file's own, on purpose independent of the code under test.
 */
#include "fuzz.h"

#define NOW 1780000000 /* a fixed clock: 2026-05-28 */
#define CUSTOMER "fuzz@example.com"

static int64_t contact;

/* The length of the well-formed UTF-8 that s starts with (RFC 3629: no overlongs, no
 * surrogates, at most U+10FFFF): n when all of it is. */
static size_t
utf8_valid_len(const unsigned char *s, size_t n)
{
	size_t i = 0, k, len;
	uint32_t c;

	while (i < n) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if (s[i] >= 0xc2 && s[i] <= 0xdf)
			len = 2, c = s[i] & 0x1f;
		else if (s[i] >= 0xe0 && s[i] <= 0xef)
			len = 3, c = s[i] & 0x0f;
		else if (s[i] >= 0xf0 && s[i] <= 0xf4)
			len = 4, c = s[i] & 0x07;
		else
			return i;
		if (n - i < len)
			return i;
		for (k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return i;
			c = (c << 6) | (s[i + k] & 0x3f);
		}
		if ((len == 3 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) ||
		    (len == 4 && (c < 0x10000 || c > 0x10ffff)))
			return i;
		i += len;
	}
	return n;
}

static int failures; /* texts found invalid in this input */

/* Names a built text that is not valid UTF-8; the input aborts once all are checked. */
static void
expect_utf8(const char *what, const char *s)
{
	size_t n = strlen(s), bad = utf8_valid_len((const unsigned char *)s, n), i;

	if (bad == n)
		return;
	fprintf(stderr, "invalid UTF-8 in %s (%zu bytes) at byte %zu:", what, n, bad);
	for (i = bad > 6 ? bad - 6 : 0; i < n && i < bad + 4; i++)
		fprintf(stderr, i == bad ? " [%02x]" : " %02x", (unsigned char)s[i]);
	fprintf(stderr, "  \"%.*s\"\n", (int)(bad > 24 ? 24 : bad), s + (bad > 24 ? bad - 24 : 0));
	failures++;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (store_open(":memory:", 0) == -1 ||
	    (contact = store_contact_for_jid(CUSTOMER, NOW)) <= 0 || store_commit() == -1) {
		fprintf(stderr, "fuzz_utf8: no in-memory database\n");
		exit(1);
	}
	return 0;
}

/* /contact FIELDS as chatcmd.c reads them. */
static void
check_fields(const char *text)
{
	static const char *const keys[] = { "name", "email", "phone", "company" };
	char *v[4], err[160] = "";
	size_t i;

	if (slash_fields(text, keys, 4, v, err, sizeof(err)) == -1) {
		expect_utf8("slash_fields error", err);
		return;
	}
	for (i = 0; i < 4; i++) {
		if (v[i])
			expect_utf8("slash_fields value", v[i]);
		free(v[i]);
	}
}

/* The card and the summary as the store hands them over: the text as the contact's name,
 * email and company, an earlier chat's summary and tags, a task's title. Rolled back. */
static void
check_card_and_summary(const char *text, const char *tags)
{
	char card[1024], summary[1024], phone[32], *copy, *w, *save = NULL, *joined, *who;
	struct summary_facts f;
	struct contact_card k;
	int64_t conv;

	if (store_apply_begin() == -1)
		abort();
	if (crm_find_phone(text, "358", phone, sizeof(phone)) == -1)
		phone[0] = '\0';
	if (store_contact_edit(contact, text, text, *phone ? phone : NULL, text) == -1 ||
	    (conv = store_conv_add("sales", CUSTOMER "/web", contact, "web", "active", NULL,
	    NOW)) == -1)
		abort();
	copy = xstrdup(tags); /* as chatcmd.c's add_tags() */
	for (w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		str_trim(w);
		if (*w)
			(void)store_tag_add(conv, w);
	}
	free(copy);
	joined = store_tags(conv);
	if (store_conv_close(conv, "agent", "agent@example.com", text, joined, 0, NOW + 600) ==
	    -1 || store_task_add(conv, contact, "agent@example.com", "follow-up", text,
	    NOW + 86400, NOW + 600) == -1)
		abort();
	memset(&k, 0, sizeof(k));
	if (store_contact_card(contact, 0, &k) == -1)
		abort();
	crm_card_text(&k, "web", card, sizeof(card));
	expect_utf8("crm_card_text", card);

	who = xasprintf("%s (%s)", k.name, CUSTOMER); /* as conversation_summary() */
	memset(&f, 0, sizeof(f));
	f.customer = who;
	f.channel = "web";
	f.queue = text; /* a queue's title: config and admin forms take any text */
	f.first_message = text;
	f.agent = "agent@example.com";
	f.tags = joined;
	f.created_at = NOW;
	f.closed_at = NOW + 600;
	crm_summary(&f, summary, sizeof(summary));
	expect_utf8("crm_summary", summary);
	free(who);
	free(joined);
	(void)store_apply_end(0);
	if (store_commit() == -1)
		abort();
}

/* A form field of each checked kind, holding the text, as adhoc.c checks a submission. */
static void
check_form(const char *text)
{
	static const enum field_type types[] = { FIELD_BOOLEAN, FIELD_LIST, FIELD_JID,
		FIELD_TEXT };
	struct form_field *fl;
	struct form *f;
	char err[512];
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		f = form_new(FORM_FORM, NULL, NULL);
		fl = form_add(f, "v", types[i], "Value");
		if (types[i] == FIELD_LIST)
			form_option(fl, "a", NULL);
		if (types[i] == FIELD_TEXT) {
			fl->integer = 1;
			fl->max = 10;
		}
		form_value(fl, text);
		err[0] = '\0';
		if (form_check(f, err, sizeof(err)) == -1)
			expect_utf8("form_check error", err);
		form_free(f);
	}
}

static void
check_times(const char *text, size_t size)
{
	static const char *const zones[] = { "UTC", "Europe/Helsinki", "America/New_York" };
	const char *tz = zones[size % 3], *rest;
	struct hours h = { 0 };
	char err[160], when[64];
	time_t due;

	/* the process in the zone already: respa switches TZ per call, and glibc reloads the
	 * zone file only when it changes (ten times faster) */
	setenv("TZ", tz, 1);
	err[0] = '\0';
	if (hours_parse(&h, text, err, sizeof(err)) == -1)
		expect_utf8("hours_parse error", err);
	err[0] = '\0';
	if (hours_parse_closed(&h, text, err, sizeof(err)) == -1)
		expect_utf8("hours_parse_closed error", err);
	hours_free(&h);
	err[0] = '\0';
	if (due_parse(text, NOW, tz, &due, &rest, err, 128) == -1)
		expect_utf8("due_parse error", err);
	hours_when((int)(size % LANG_COUNT), tz, NOW + (time_t)size * 3607, NOW, when, sizeof(when));
	expect_utf8("hours_when", when);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct close_args ca;
	char *text;

	if (memchr(data, '\0', size) || utf8_valid_len(data, size) != size)
		return 0; /* only valid text: what a server lets through */
	text = fuzz_str(data, size);
	failures = 0;
	check_fields(text);
	slash_close(text, &ca);
	expect_utf8("slash_close tags", ca.tags);
	check_card_and_summary(text, ca.tags);
	check_form(text);
	check_times(text, size);
	free(text);
	if (failures)
		abort();
	return 0;
}
