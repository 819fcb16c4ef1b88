/* slash.c: which agent messages are commands ("!" or "/"), their names and arguments. */
#include <stdlib.h>

#include "check.h"

/* "/close [resolved|unresolved] [#tag...] [summary]" */
static void
close_args(void)
{
	struct close_args ca;

	slash_close("", &ca);
	CHECK_INT(ca.resolved, 1);
	CHECK_STR(ca.tags, "");
	CHECK_STR(ca.summary, "");
	slash_close("unresolved #billing #late-delivery Will call back #not-a-tag", &ca);
	CHECK_INT(ca.resolved, 0);
	CHECK_STR(ca.tags, "billing,late-delivery");
	CHECK_STR(ca.summary, "Will call back #not-a-tag");
	slash_close("  #x Resolved the issue", &ca); /* outcome words count only up front */
	CHECK_INT(ca.resolved, 1);
	CHECK_STR(ca.tags, "x");
	CHECK_STR(ca.summary, "Resolved the issue");
	slash_close("UNRESOLVED", &ca);
	CHECK_INT(ca.resolved, 0);
	CHECK_STR(ca.summary, "");
	slash_close("# lone hash", &ca);
	CHECK_STR(ca.tags, "");
	CHECK_STR(ca.summary, "# lone hash");
}

/* "/contact name=Ann Lee email=ann@example.com" */
static void
fields(void)
{
	static const char *const keys[] = { "name", "email", "phone", "company" };
	char *v[4], err[128];
	int i;

	CHECK_INT(slash_fields("name=Ann Lee  email=ann@example.com company=A = B Oy", keys, 4,
	    v, err, sizeof(err)), 0);
	CHECK_STR(v[0], "Ann Lee");
	CHECK_STR(v[1], "ann@example.com");
	CHECK(v[2] == NULL);
	CHECK_STR(v[3], "A = B Oy");
	for (i = 0; i < 4; i++)
		free(v[i]);
	CHECK_INT(slash_fields("Phone=+358 40 1", keys, 4, v, err, sizeof(err)), 0);
	CHECK_STR(v[2], "+358 40 1");
	for (i = 0; i < 4; i++)
		free(v[i]);
	CHECK_INT(slash_fields("colour=blue", keys, 4, v, err, sizeof(err)), -1);
	CHECK(strstr(err, "expected one of name=") != NULL);
	CHECK_INT(slash_fields("name=a name=b", keys, 4, v, err, sizeof(err)), -1);
	CHECK_STR(err, "name= is given twice");
	CHECK_INT(slash_fields("   ", keys, 4, v, err, sizeof(err)), -1);
	CHECK_STR(err, "nothing to set");
}

int
main(void)
{
	struct slash s;
	const char *body;

	body = "/close all done";
	CHECK_INT(slash_parse(body, &s), 1);
	CHECK_STR(s.name, "close");
	CHECK_STR(s.args, "all done");
	CHECK(s.args == body + 7); /* points into the body */

	CHECK_INT(slash_parse("/close", &s), 1);
	CHECK_STR(s.name, "close");
	CHECK_STR(s.args, "");

	/* names are case-folded; arguments are not */
	CHECK_INT(slash_parse("/CLoSe Thanks Bob", &s), 1);
	CHECK_STR(s.name, "close");
	CHECK_STR(s.args, "Thanks Bob");

	/* leading blanks before the slash */
	CHECK_INT(slash_parse("  \t/tag billing", &s), 1);
	CHECK_STR(s.name, "tag");
	CHECK_STR(s.args, "billing");

	/* arguments are trimmed at the front only */
	CHECK_INT(slash_parse("/task   \t +2h call back  ", &s), 1);
	CHECK_STR(s.name, "task");
	CHECK_STR(s.args, "+2h call back  ");
	CHECK_INT(slash_parse("/note\nline one\nline two", &s), 1);
	CHECK_STR(s.name, "note");
	CHECK_STR(s.args, "line one\nline two");

	/* "/" alone: a command with no name, which callers treat as unknown */
	strcpy(s.name, "junk");
	CHECK_INT(slash_parse("/", &s), 1);
	CHECK_STR(s.name, "");
	CHECK_STR(s.args, "");
	strcpy(s.name, "junk");
	CHECK_INT(slash_parse("/ close", &s), 1);
	CHECK_STR(s.name, "");
	CHECK_STR(s.args, "close");

	/* "//x" is the literal text "/x" for the customer */
	CHECK_INT(slash_parse("//literal", &s), 0);
	CHECK_INT(slash_parse("  //etc/passwd is a path", &s), 0);

	/* plain text */
	CHECK_INT(slash_parse("hello there", &s), 0);
	CHECK_INT(slash_parse("", &s), 0);
	CHECK_INT(slash_parse("   ", &s), 0);
	CHECK_INT(slash_parse("a/b", &s), 0);
	CHECK_INT(slash_parse("see /help", &s), 0);

	/* the longest name that fits (15 characters), and one too long to be a name */
	CHECK_INT(slash_parse("/abcdefghijklmno x", &s), 1);
	CHECK_STR(s.name, "abcdefghijklmno");
	CHECK_STR(s.args, "x");
	strcpy(s.name, "junk");
	CHECK_INT(slash_parse("/abcdefghijklmnop x", &s), 1);
	CHECK_STR(s.name, "");
	CHECK_STR(s.args, "x");
	strcpy(s.name, "junk");
	CHECK_INT(slash_parse("/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa "
	    "rest", &s), 1);
	CHECK_STR(s.name, "");
	CHECK_STR(s.args, "rest");

	/* "!" works as "/" (terminal clients keep "/" for themselves) */
	body = "!tag billing";
	CHECK_INT(slash_parse(body, &s), 1);
	CHECK_STR(s.name, "tag");
	CHECK_STR(s.args, "billing");
	CHECK_INT(s.prefix, '!');
	CHECK_INT(slash_parse("/tag billing", &s), 1);
	CHECK_INT(s.prefix, '/');
	CHECK_INT(slash_parse("  !CLOSE", &s), 1);
	CHECK_STR(s.name, "close");
	CHECK_STR(s.args, "");
	/* "!" counts only before a letter: "!!x", "! x", "!1", "!!!" and "!" are text */
	CHECK_INT(slash_parse("!!close", &s), 0);
	CHECK_INT(slash_parse("! yes, that is it", &s), 0);
	CHECK_INT(slash_parse("!1 thing", &s), 0);
	CHECK_INT(slash_parse("!!!", &s), 0);
	CHECK_INT(slash_parse("!", &s), 0);
	CHECK_INT(slash_parse("Great!", &s), 0);
	/* "." is no prefix: it starts ordinary sentences */
	CHECK_INT(slash_parse(".close", &s), 0);
	CHECK_INT(slash_parse("...and then", &s), 0);

	/* "/me" is an action for the customer (XEP-0245), never a command */
	CHECK_INT(slash_parse("/me is looking up your account", &s), 0);
	CHECK_INT(slash_parse("/me", &s), 0);
	CHECK_INT(slash_parse("/ME waves", &s), 0);
	CHECK_INT(slash_parse("/meh", &s), 1); /* another word: an (unknown) command */
	CHECK_STR(s.name, "meh");
	CHECK_INT(slash_parse("/me\tshrugs", &s), 0);

	/* the text a non-command stands for */
	CHECK_STR(slash_text("//etc/hosts"), "/etc/hosts");
	CHECK_STR(slash_text("!!important"), "!important");
	CHECK_STR(slash_text("  !!x"), "!x");
	CHECK_STR(slash_text("!!!"), "!!");
	CHECK_STR(slash_text("/me waves"), "/me waves");
	CHECK_STR(slash_text("! yes"), "! yes");
	CHECK_STR(slash_text("plain"), "plain");
	body = "a//b";
	CHECK(slash_text(body) == body);

	/* encryption's own lines */
	CHECK_STR(slash_encryption("?OTR?v2?"), "OTR");
	CHECK_STR(slash_encryption("?OTRv23? alice has requested an Off-the-Record private "
	    "conversation"), "OTR");
	CHECK_STR(slash_encryption("?OTR:AAMDJ+MVmSfjFZcAAAAAAQAAAAIAAADA"), "OTR");
	CHECK_STR(slash_encryption("I sent you an OMEMO encrypted message but your client "
	    "doesn’t seem to support that."), "OMEMO");
	CHECK(slash_encryption("what is ?OTR?") == NULL);
	CHECK(slash_encryption("") == NULL);
	CHECK(slash_encryption("hello") == NULL);

	close_args();
	fields();
	return check_done();
}
