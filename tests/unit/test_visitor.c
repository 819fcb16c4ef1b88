/*
 * stanza_visitor() and crm_prechat_check(): the widget's <visitor/> with its pre-chat values,
 * on hand-written cases and on every seed of the fuzz corpus (tests/fuzz/corpus/visitor).
 */
#include <dirent.h>
#include <stdlib.h>

#include "check.h"

#define SESSION "session='abcdefghijklmnopqrstuvwxyz'"
#define VISITOR "<visitor xmlns='urn:respa:visitor:0' " SESSION ">"

static xmpp_ctx_t *ctx;

/*
 * Parses xml; returns 1 when it has a visitor, with the check's field ("" when the values
 * pass) and the email it kept.
 */
static int
judge(const char *xml, char *field, size_t fieldlen, char *email, size_t emaillen)
{
	xmpp_stanza_t *st = xmpp_stanza_new_from_string(ctx, xml);
	struct visitor v;
	const char *f = NULL;
	enum text_id why;
	int limit, has;

	snprintf(field, fieldlen, "(no stanza)");
	if (st == NULL)
		return 0;
	if ((has = stanza_visitor(st, &v)) == 1) {
		if (crm_prechat_check(&v, email, emaillen, &f, &why, &limit) == 0)
			snprintf(field, fieldlen, "%s", "");
		else
			snprintf(field, fieldlen, "%s", f);
	}
	xmpp_stanza_release(st);
	return has;
}

static void
case_at(int line, const char *values, const char *want_field, const char *want_email)
{
	char *xml = xasprintf("<message><body>hi</body>" VISITOR "%s</visitor></message>", values);
	char field[32], email[PRECHAT_EMAIL_MAX + 1] = "";

	if (!check_report(judge(xml, field, sizeof(field), email, sizeof(email)), __FILE__, line,
	        "a visitor"))
		fprintf(stderr, "\t%s\n", xml);
	else {
		if (!check_report(strcmp(field, want_field) == 0, __FILE__, line, want_field))
			fprintf(stderr, "\t%s: got field \"%s\"\n", values, field);
		if (want_email && !check_report(strcmp(email, want_email) == 0, __FILE__, line,
		                      want_email))
			fprintf(stderr, "\tgot email \"%s\"\n", email);
	}
	free(xml);
}
#define CASE(values, field, email) case_at(__LINE__, values, field, email)

static void
test_cases(void)
{
	char hundred[512] = "<name>", *p = hundred + 6;
	int i;

	CASE("", "", "");
	CASE("<name>Maija Meikäläinen</name><email>Maija@Example.FI</email><topic>billing</topic>",
	    "", "maija@example.fi");
	/* markup is text: it passes, to be shown as characters */
	CASE("<name>&lt;script&gt;alert(1)&lt;/script&gt;</name>", "", "");
	CASE("<name>a<b>bold</b></name>", "name", ""); /* an element inside: no plain value */
	CASE("<name>two&#10;lines</name>", "name", "");
	CASE("<name>tab&#9;bed</name>", "name", "");
	CASE("<name>c1\xc2\x85</name>", "name", "");       /* U+0085 */
	CASE("<name>sep\xe2\x80\xa8</name>", "name", ""); /* U+2028 */
	for (i = 0; i < 100; i++, p += 2)
		memcpy(p, "\xc3\xa4", 2); /* 100 characters of 2 bytes: the limit counts characters */
	strcpy(p, "</name>");
	CASE(hundred, "", "");
	strcpy(p, "x</name>");
	CASE(hundred, "name", "");
	CASE("<email>maija@</email>", "email", "");
	CASE("<email>maija@example</email>", "email", "");
	CASE("<email>maija example.fi</email>", "email", "");
	CASE("<email>write to maija@example.fi</email>", "email", "");
	CASE("<email>maija@example.fi.</email>", "email", "");
	CASE("<email></email>", "", "");
	CASE("<topic>no spaces</topic>", "topic", "");
	CASE("<topic>a-b_C9</topic>", "", "");
	CASE("<offline/>", "email", "");
	CASE("<offline/><email>v@example.fi</email>", "", "v@example.fi");
}

/* Every seed parses without harm; those named for an outcome have it. */
static void
test_corpus(void)
{
	const char *top = getenv("TOP_SRCDIR");
	char *dir = xasprintf("%s/tests/fuzz/corpus/visitor", top ? top : ".");
	char *path, buf[8192], field[32], email[PRECHAT_EMAIL_MAX + 1];
	struct dirent *e;
	DIR *d = opendir(dir);
	size_t n;
	FILE *f;
	int seeds = 0, has;

	CHECK(d != NULL);
	while (d && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		path = xasprintf("%s/%s", dir, e->d_name);
		if ((f = fopen(path, "r")) == NULL) {
			CHECK(f != NULL);
			free(path);
			continue;
		}
		n = fread(buf, 1, sizeof(buf) - 1, f);
		buf[n] = '\0';
		fclose(f);
		has = judge(buf, field, sizeof(field), email, sizeof(email));
		seeds++;
		if (strncmp(e->d_name, "prechat-", 8) == 0) {
			const char *name = e->d_name + 8;
			const char *want = strcmp(name, "all") == 0 || strcmp(name, "markup") == 0 ||
			                           strcmp(name, "offline") == 0 ||
			                           strcmp(name, "empty") == 0
			                       ? ""
			                   : strstr(name, "email") ? "email"
			                   : strstr(name, "topic") ? "topic"
			                                           : "name";

			CHECK(has);
			if (!check_report(strcmp(field, want) == 0, __FILE__, __LINE__, path))
				fprintf(stderr, "\tgot \"%s\", want \"%s\"\n", field, want);
		}
		free(path);
	}
	if (d)
		closedir(d);
	CHECK(seeds >= 16);
	free(dir);
}

int
main(void)
{
	xmpp_initialize();
	ctx = xmpp_ctx_new(NULL, NULL);
	test_cases();
	test_corpus();
	xmpp_ctx_free(ctx);
	xmpp_shutdown();
	return check_done();
}
