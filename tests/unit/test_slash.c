/* slash.c: which agent messages are commands, their names and arguments. */
#include "check.h"

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

	return check_done();
}
