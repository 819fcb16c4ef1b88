/* forms.c: building, reading a submitted form, keeping what was written, checking it. */
#include <stdlib.h>
#include <string.h>

#include "check.h"

static xmpp_ctx_t *ctx;

static struct form *
parse(const char *xml, char *err, size_t len)
{
	xmpp_stanza_t *x = xmpp_stanza_new_from_string(ctx, xml);
	struct form *f;

	if (x == NULL) {
		snprintf(err, len, "(unparsable test XML)");
		return NULL;
	}
	f = form_parse(x, err, len);
	xmpp_stanza_release(x);
	return f;
}

/* What a queue form looks like: a required name, a list, a number, a boolean, a JID. */
static struct form *
shown(void)
{
	struct form *f = form_new(FORM_FORM, "Create a queue", "Fill it in");
	struct form_field *fl;

	fl = form_add(f, "name", FIELD_TEXT, "Name");
	fl->required = 1;
	fl = form_add(f, "strategy", FIELD_LIST, "Strategy");
	form_option(fl, "longest-idle", NULL);
	form_option(fl, "ring-all", "everyone at once");
	form_value(fl, "longest-idle");
	fl = form_add(f, "capacity", FIELD_TEXT, "Capacity");
	fl->integer = 1;
	fl->min = 0;
	fl->max = 100;
	form_value(fl, "3");
	form_value(form_add(f, "confirm", FIELD_BOOLEAN, "Sure"), "0");
	form_add(f, "agent", FIELD_JID, "Agent");
	form_add(f, "text", FIELD_TEXT_MULTI, "Text");
	form_value(form_add(f, NULL, FIELD_FIXED, NULL), "just words");
	return f;
}

static void
test_build_and_get(void)
{
	struct form *f = shown();
	char *text;

	CHECK_INT(f->nfields, 7);
	CHECK_STR(form_get(f, "strategy"), "longest-idle");
	CHECK_STR(form_get(f, "capacity"), "3");
	CHECK(form_get(f, "name") == NULL);
	CHECK(form_field(f, "nosuch") == NULL);
	CHECK_STR(form_type_name(form_field(f, "agent")->type), "jid-single");
	CHECK_STR(form_type_name(form_field(f, "text")->type), "text-multi");
	form_value(form_field(f, "text"), "line one");
	form_value(form_field(f, "text"), "line two");
	text = form_text(f, "text");
	CHECK_STR(text, "line one\nline two");
	free(text);
	text = form_text(f, "nosuch");
	CHECK_STR(text, "");
	free(text);
	CHECK(form_bool("1") && form_bool("true") && !form_bool("0") && !form_bool("false") &&
	    !form_bool(NULL));
	form_free(f);
}

static void
test_table(void)
{
	struct form *f = form_new(FORM_RESULT, "Queues", NULL);
	const char *row1[] = { "support", NULL }, *row2[] = { "sales", "3" };

	form_column(f, "name", "Name");
	form_column(f, "waiting", "Waiting");
	form_row(f, row1);
	form_row(f, row2);
	CHECK_INT(f->ncolumns, 2);
	CHECK_INT(f->nrows, 2);
	CHECK_STR(f->rows[0][1], "");
	CHECK_STR(f->rows[1][0], "sales");
	form_free(f);
}

static void
test_parse(void)
{
	char err[160] = "";
	struct form *in;

	in = parse("<x xmlns='jabber:x:data' type='submit'>"
	    "<field var='name'><value>sales</value></field>"
	    "<field var='text' type='text-multi'><value>a</value><value>b &amp; c</value></field>"
	    "<field var='empty'/>"
	    "</x>", err, sizeof(err));
	CHECK(in != NULL);
	if (in) {
		CHECK_INT(in->type, FORM_SUBMIT);
		CHECK_STR(form_get(in, "name"), "sales");
		CHECK_INT(form_field(in, "text")->nvalues, 2);
		CHECK_STR(form_field(in, "text")->values[1], "b & c");
		CHECK(form_field(in, "empty") != NULL && form_get(in, "empty") == NULL);
		form_free(in);
	}
	in = parse("<x xmlns='jabber:x:data' type='cancel'/>", err, sizeof(err));
	CHECK(in != NULL && in->type == FORM_CANCEL);
	form_free(in);

	CHECK(parse("<x xmlns='jabber:x:data' type='form'/>", err, sizeof(err)) == NULL);
	CHECK_STR(err, "a submitted form has type submit or cancel, not form");
	CHECK(parse("<x xmlns='urn:other' type='submit'/>", err, sizeof(err)) == NULL);
	CHECK_STR(err, "not a data form");
	CHECK(parse("<x xmlns='jabber:x:data' type='submit'><field><value>1</value></field></x>",
	    err, sizeof(err)) == NULL);
	CHECK_STR(err, "a submitted field has no var");
	CHECK(parse("<x xmlns='jabber:x:data' type='submit'><field var='a'/><field var='a'/></x>",
	    err, sizeof(err)) == NULL);
	CHECK_STR(err, "field a is submitted twice");
}

/* Submitted values replace the shown ones; what was not submitted keeps its default. */
static void
test_keep_and_check(void)
{
	struct form *f = shown(), *in, *again;
	char err[160] = "";

	CHECK(form_check(f, err, sizeof(err)) == -1);
	CHECK_STR(err, "Name is required");

	in = parse("<x xmlns='jabber:x:data' type='submit'>"
	    "<field var='name'><value>sales</value></field>"
	    "<field var='capacity'><value>101</value></field>"
	    "<field var='unknown'><value>ignored</value></field></x>", err, sizeof(err));
	form_keep(f, in);
	form_free(in);
	CHECK_STR(form_get(f, "name"), "sales");
	CHECK_STR(form_get(f, "strategy"), "longest-idle");
	CHECK(form_field(f, "unknown") == NULL);
	CHECK(form_check(f, err, sizeof(err)) == -1);
	CHECK_STR(err, "Capacity: write a whole number from 0 to 100, not \"101\"");

	again = shown();
	in = parse("<x xmlns='jabber:x:data' type='submit'>"
	    "<field var='name'><value>sales</value></field>"
	    "<field var='strategy'><value>fastest</value></field></x>", err, sizeof(err));
	form_keep(again, in);
	form_free(in);
	CHECK(form_check(again, err, sizeof(err)) == -1);
	CHECK_STR(err, "Strategy: \"fastest\" is not one of the choices");
	CHECK(!form_same(f, again));
	form_free(again);

	in = parse("<x xmlns='jabber:x:data' type='submit'>"
	    "<field var='capacity'><value>x3</value></field></x>", err, sizeof(err));
	form_keep(f, in);
	form_free(in);
	CHECK(form_check(f, err, sizeof(err)) == -1);
	CHECK_STR(err, "Capacity: write a whole number from 0 to 100, not \"x3\"");

	in = parse("<x xmlns='jabber:x:data' type='submit'>"
	    "<field var='capacity'><value>0</value></field>"
	    "<field var='confirm'><value>maybe</value></field></x>", err, sizeof(err));
	form_keep(f, in);
	form_free(in);
	CHECK(form_check(f, err, sizeof(err)) == -1);
	CHECK_STR(err, "Sure: answer yes or no (true or false), not \"maybe\"");

	in = parse("<x xmlns='jabber:x:data' type='submit'>"
	    "<field var='confirm'><value>true</value></field>"
	    "<field var='agent'><value>not a jid</value></field></x>", err, sizeof(err));
	form_keep(f, in);
	form_free(in);
	CHECK(form_check(f, err, sizeof(err)) == -1);
	CHECK_STR(err, "Agent: \"not a jid\" is not a JID such as alice@example.com");

	in = parse("<x xmlns='jabber:x:data' type='submit'>"
	    "<field var='agent'><value>bob@example.com</value></field>"
	    "<field var='name'><value>a</value><value>b</value></field></x>", err, sizeof(err));
	form_keep(f, in);
	form_free(in);
	CHECK(form_check(f, err, sizeof(err)) == -1);
	CHECK_STR(err, "Name takes one value");

	in = parse("<x xmlns='jabber:x:data' type='submit'>"
	    "<field var='name'><value>  </value></field></x>", err, sizeof(err));
	form_keep(f, in);
	form_free(in);
	CHECK(form_check(f, err, sizeof(err)) == -1);
	CHECK_STR(err, "Name is required");

	in = parse("<x xmlns='jabber:x:data' type='submit'>"
	    "<field var='name'><value>sales</value></field></x>", err, sizeof(err));
	form_keep(f, in);
	form_free(in);
	CHECK(form_check(f, err, sizeof(err)) == 0);
	CHECK_STR(form_get(f, "capacity"), "0");
	CHECK(form_bool(form_get(f, "confirm")));

	again = shown();
	CHECK(form_same(again, again));
	CHECK(!form_same(again, f));
	CHECK(!form_same(again, NULL));
	form_free(again);
	form_free(f);
}

/* What clients that show only part of a form need: labels, a list's value, vars on fixed. */
static void
test_show(void)
{
	struct form *f = shown(), *in;
	struct form_field *fl;
	char err[160] = "";

	fl = form_add(f, "chat", FIELD_LIST, NULL);
	fl->required = 1;
	form_option(fl, "c-1", "#1 bob");
	form_add(f, "done", FIELD_LIST_MULTI, "Done");
	form_show(f);
	fl = form_field(f, "strategy");
	CHECK_STR(fl->options[0].label, "longest-idle"); /* no "(null)" in profanity */
	CHECK_INT(fl->noptions, 2);                     /* it has a value: no placeholder */
	fl = form_field(f, "chat");
	CHECK_STR(fl->label, "chat");
	CHECK_INT(fl->noptions, 2);
	CHECK_STR(fl->options[0].value, FORM_NONE);
	CHECK_STR(fl->options[0].label, "(none chosen yet)");
	CHECK_STR(fl->options[1].value, "c-1");
	CHECK_STR(form_get(f, "chat"), FORM_NONE);
	CHECK_STR(form_get(f, "done"), FORM_NONE);
	CHECK_STR(form_field(f, "done")->options[0].label, "(none ticked yet)");
	CHECK_STR(f->fields[6]->var, "fixed-7"); /* poezio shows one var-less field only */
	CHECK_INT(f->fields[6]->type, FIELD_FIXED);
	form_free(f);

	/* sent back as shown, the placeholder (or "") is no choice: a required list says so */
	f = shown();
	fl = form_add(f, "chat", FIELD_LIST, "Chat");
	fl->required = 1;
	form_option(fl, "c-1", "#1 bob");
	fl = form_add(f, "done", FIELD_LIST_MULTI, "Done");
	form_option(fl, "7", "#7");
	in = parse("<x xmlns='jabber:x:data' type='submit'>"
	    "<field var='name'><value>sales</value></field>"
	    "<field var='chat'><value>*</value></field>"
	    "<field var='done'><value>*</value><value>7</value><value></value></field></x>", err,
	    sizeof(err));
	form_keep(f, in);
	form_free(in);
	CHECK(form_get(f, "chat") == NULL);
	CHECK_INT(form_field(f, "done")->nvalues, 1);
	CHECK_STR(form_get(f, "done"), "7");
	CHECK(form_check(f, err, sizeof(err)) == -1);
	CHECK_STR(err, "Chat is required");
	form_free(f);
}

/* A table as text: a line a row, labelled cells, bounded, before the other fields. */
static void
test_table_text(void)
{
	struct form *f = form_new(FORM_RESULT, "Queues", NULL);
	const char *row1[] = { "support", "", "two\nlines" }, *row2[] = { "sales", "3", "x" };
	char long_cell[600], *line;
	const char *row3[] = { "big", long_cell, "" };

	memset(long_cell, 'a', sizeof(long_cell) - 4);
	memcpy(long_cell + sizeof(long_cell) - 4, "\xc3\xa9", 3); /* ends with an é */
	form_column(f, "name", "Name");
	form_column(f, "waiting", "Waiting");
	form_column(f, "note", NULL);
	form_row(f, row1);
	form_row(f, row2);
	form_row(f, row3);
	line = form_row_line(f, 0);
	CHECK_STR(line, "support | note: two lines");
	free(line);
	line = form_row_line(f, 1);
	CHECK_STR(line, "sales | Waiting: 3 | note: x");
	free(line);
	line = form_row_line(f, 2);
	CHECK_INT(strlen(line), FORM_LINE_MAX);
	CHECK(strcmp(line + FORM_LINE_MAX - 3, "...") == 0);
	free(line);

	form_value(form_add(f, "total", FIELD_TEXT, "Total"), "3");
	form_table_text(f);
	CHECK_INT(f->nfields, 4);
	CHECK_STR(f->fields[0]->var, "row-1");
	CHECK_INT(f->fields[0]->type, FIELD_FIXED);
	CHECK_STR(form_get(f, "row-2"), "sales | Waiting: 3 | note: x");
	CHECK_STR(f->fields[3]->var, "total");

	{
		struct form *page = form_new(FORM_FORM, "page", NULL), *empty;

		form_add_lines(page, f, 1, 5); /* past the end: only what there is */
		form_add_field_lines(page, f);
		CHECK_INT(page->nfields, 6);
		CHECK_STR(page->fields[0]->var, "row-2");
		CHECK_STR(page->fields[1]->var, "row-3");
		/* the table's own fields as "Label: value", its lines as they are */
		CHECK_STR(page->fields[5]->values[0], "Total: 3");
		form_free(page);
		empty = form_new(FORM_RESULT, "None", NULL);
		form_column(empty, "name", "Name");
		form_table_text(empty);
		CHECK_INT(empty->nfields, 1);
		CHECK_STR(form_get(empty, "row-none"), "(nothing to list)");
		form_free(empty);
	}
	form_free(f);
}

int
main(void)
{
	xmpp_initialize();
	ctx = xmpp_ctx_new(NULL, NULL);
	test_build_and_get();
	test_table();
	test_parse();
	test_keep_and_check();
	test_show();
	test_table_text();
	xmpp_ctx_free(ctx);
	xmpp_shutdown();
	return check_done();
}
