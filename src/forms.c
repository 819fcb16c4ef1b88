/*
 * XEP-0004 data forms as plain structs: built by the commands, read from what a client
 * submits, checked against the fields they were shown. Pure: no logging, no sending; errors
 * go into the caller's buffer, worded for the person who filled the form in. stanza.c turns
 * a form into XML.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "respa.h"

#define QUOTED 60 /* at most this much of a bad value is quoted back in a note */
/* "%.*s%s" arguments quoting v: its start, cut on a character boundary, and "..." when cut */
#define QUOTE(v) (int)utf8_prefix((v), QUOTED), (v), strlen(v) > QUOTED ? "..." : ""

static const char *const field_types[] = {
	[FIELD_TEXT] = "text-single",
	[FIELD_TEXT_MULTI] = "text-multi",
	[FIELD_TEXT_PRIVATE] = "text-private",
	[FIELD_BOOLEAN] = "boolean",
	[FIELD_LIST] = "list-single",
	[FIELD_LIST_MULTI] = "list-multi",
	[FIELD_JID] = "jid-single",
	[FIELD_JID_MULTI] = "jid-multi",
	[FIELD_FIXED] = "fixed",
	[FIELD_HIDDEN] = "hidden",
};

static char *
dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

struct form *
form_new(enum form_type type, const char *title, const char *instructions)
{
	struct form *f = xcalloc(1, sizeof(*f));

	f->type = type;
	f->title = dup_or_null(title);
	f->instructions = dup_or_null(instructions);
	return f;
}

void
form_clear(struct form_field *fl)
{
	size_t i;

	for (i = 0; i < fl->nvalues; i++)
		free(fl->values[i]);
	free(fl->values);
	fl->values = NULL;
	fl->nvalues = 0;
}

static void
field_free(struct form_field *fl)
{
	size_t i;

	form_clear(fl);
	for (i = 0; i < fl->noptions; i++) {
		free(fl->options[i].value);
		free(fl->options[i].label);
	}
	free(fl->options);
	free(fl->var);
	free(fl->label);
	free(fl->desc);
	free(fl);
}

void
form_free(struct form *f)
{
	size_t i, j;

	if (f == NULL)
		return;
	for (i = 0; i < f->nfields; i++)
		field_free(f->fields[i]);
	free(f->fields);
	for (i = 0; i < f->nrows; i++) {
		for (j = 0; j < f->ncolumns; j++)
			free(f->rows[i][j]);
		free(f->rows[i]);
	}
	free(f->rows);
	for (i = 0; i < f->ncolumns; i++) {
		free(f->columns[i].value);
		free(f->columns[i].label);
	}
	free(f->columns);
	free(f->title);
	free(f->instructions);
	free(f);
}

struct form_field *
form_add(struct form *f, const char *var, enum field_type type, const char *label)
{
	struct form_field *fl = xcalloc(1, sizeof(*fl));

	fl->var = dup_or_null(var);
	fl->type = type;
	fl->label = dup_or_null(label);
	f->fields = xrealloc(f->fields, (f->nfields + 1) * sizeof(*f->fields));
	f->fields[f->nfields++] = fl;
	return fl;
}

void
form_value(struct form_field *fl, const char *value)
{
	fl->values = xrealloc(fl->values, (fl->nvalues + 1) * sizeof(*fl->values));
	fl->values[fl->nvalues++] = xstrdup(value ? value : "");
}

void
form_option(struct form_field *fl, const char *value, const char *label)
{
	fl->options = xrealloc(fl->options, (fl->noptions + 1) * sizeof(*fl->options));
	fl->options[fl->noptions].value = xstrdup(value);
	fl->options[fl->noptions++].label = dup_or_null(label);
}

struct form_field *
form_field(const struct form *f, const char *var)
{
	size_t i;

	for (i = 0; f && i < f->nfields; i++)
		if (f->fields[i]->var && strcmp(f->fields[i]->var, var) == 0)
			return f->fields[i];
	return NULL;
}

const char *
form_get(const struct form *f, const char *var)
{
	struct form_field *fl = form_field(f, var);

	return fl && fl->nvalues ? fl->values[0] : NULL;
}

char *
form_text(const struct form *f, const char *var)
{
	struct form_field *fl = form_field(f, var);
	size_t i, len = 1;
	char *s;

	for (i = 0; fl && i < fl->nvalues; i++)
		len += strlen(fl->values[i]) + 1;
	s = xcalloc(1, len);
	for (i = 0; fl && i < fl->nvalues; i++) {
		if (i)
			strcat(s, "\n");
		strcat(s, fl->values[i]);
	}
	return s;
}

int
form_bool(const char *v)
{
	return v && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0);
}

void
form_column(struct form *f, const char *var, const char *label)
{
	f->columns = xrealloc(f->columns, (f->ncolumns + 1) * sizeof(*f->columns));
	f->columns[f->ncolumns].value = xstrdup(var);
	f->columns[f->ncolumns++].label = dup_or_null(label);
}

void
form_row(struct form *f, const char *const *cells)
{
	char **row = xcalloc(f->ncolumns, sizeof(*row));
	size_t i;

	for (i = 0; i < f->ncolumns; i++)
		row[i] = xstrdup(cells[i] ? cells[i] : "");
	f->rows = xrealloc(f->rows, (f->nrows + 1) * sizeof(*f->rows));
	f->rows[f->nrows++] = row;
}

static void errf(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
errf(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	utf8_trim_end(err);
}

static int
type_parse(const char *name, enum field_type *t)
{
	size_t i;

	for (i = 0; i < sizeof(field_types) / sizeof(field_types[0]); i++)
		if (strcmp(field_types[i], name) == 0) {
			*t = (enum field_type)i;
			return 0;
		}
	return -1;
}

const char *
form_type_name(enum field_type t)
{
	return field_types[t];
}

/* The text of an element's children, without copying twice; "" when it has none. */
static void
add_text_value(struct form_field *fl, xmpp_stanza_t *value)
{
	xmpp_stanza_t *t;
	size_t len = 0;
	char *s;

	for (t = xmpp_stanza_get_children(value); t; t = xmpp_stanza_get_next(t))
		if (xmpp_stanza_is_text(t))
			len += strlen(xmpp_stanza_get_text_ptr(t));
	s = xcalloc(1, len + 1);
	for (t = xmpp_stanza_get_children(value); t; t = xmpp_stanza_get_next(t))
		if (xmpp_stanza_is_text(t))
			strcat(s, xmpp_stanza_get_text_ptr(t));
	form_value(fl, s);
	free(s);
}

struct form *
form_parse(xmpp_stanza_t *x, char *err, size_t errlen)
{
	const char *ns = xmpp_stanza_get_ns(x), *type = xmpp_stanza_get_type(x), *var, *ft;
	xmpp_stanza_t *c, *v;
	struct form_field *fl;
	struct form *f;
	enum field_type t;

	if (ns == NULL || strcmp(ns, NS_DATA) != 0 || strcmp(xmpp_stanza_get_name(x), "x") != 0) {
		errf(err, errlen, "not a data form");
		return NULL;
	}
	if (type == NULL || (strcmp(type, "submit") != 0 && strcmp(type, "cancel") != 0)) {
		errf(err, errlen, "a submitted form has type submit or cancel, not %s",
		    type ? type : "none");
		return NULL;
	}
	f = form_new(strcmp(type, "submit") == 0 ? FORM_SUBMIT : FORM_CANCEL, NULL, NULL);
	for (c = xmpp_stanza_get_children(x); c; c = xmpp_stanza_get_next(c)) {
		if (!xmpp_stanza_is_tag(c) || strcmp(xmpp_stanza_get_name(c), "field") != 0)
			continue;
		if ((var = xmpp_stanza_get_attribute(c, "var")) == NULL || *var == '\0') {
			errf(err, errlen, "a submitted field has no var");
			form_free(f);
			return NULL;
		}
		if (form_field(f, var)) {
			errf(err, errlen, "field %s is submitted twice", var);
			form_free(f);
			return NULL;
		}
		ft = xmpp_stanza_get_type(c);
		if (ft == NULL || type_parse(ft, &t) == -1)
			t = FIELD_TEXT;
		fl = form_add(f, var, t, NULL);
		for (v = xmpp_stanza_get_children(c); v; v = xmpp_stanza_get_next(v))
			if (xmpp_stanza_is_tag(v) && strcmp(xmpp_stanza_get_name(v), "value") == 0)
				add_text_value(fl, v);
	}
	return f;
}

static int
is_list(const struct form_field *fl)
{
	return fl->type == FIELD_LIST || fl->type == FIELD_LIST_MULTI;
}

/* What a list's value says when nothing was chosen: FORM_NONE, or nothing at all. */
static int
none_value(const char *v)
{
	return *v == '\0' || strcmp(v, FORM_NONE) == 0;
}

void
form_keep(struct form *f, const struct form *in)
{
	struct form_field *fl, *got;
	size_t i, j;

	for (i = 0; in && i < f->nfields; i++) {
		fl = f->fields[i];
		if (fl->var == NULL || fl->type == FIELD_FIXED ||
		    (got = form_field(in, fl->var)) == NULL)
			continue;
		form_clear(fl);
		for (j = 0; j < got->nvalues; j++)
			if (!is_list(fl) || !none_value(got->values[j]))
				form_value(fl, got->values[j]);
	}
}

static int
has_option(const struct form_field *fl, const char *v)
{
	size_t i;

	for (i = 0; i < fl->noptions; i++)
		if (strcmp(fl->options[i].value, v) == 0)
			return 1;
	return 0;
}

static int
empty(const struct form_field *fl)
{
	size_t i;

	for (i = 0; i < fl->nvalues; i++)
		if (fl->values[i][strspn(fl->values[i], " \t\r\n")] != '\0')
			return 0;
	return 1;
}

static int
check_value(const struct form_field *fl, const char *v, const char *name, char *err, size_t errlen)
{
	char *end;
	long n;
	size_t len = strlen(v);

	/* expat let only UTF-8 in, but a value may still hold what XML 1.0 forbids */
	if (!utf8_valid(v, len)) {
		errf(err, errlen, "%s: holds a character that is not allowed in text", name);
		return -1;
	}
	if (len > FORM_VALUE_MAX) {
		errf(err, errlen, "%s: at most %d bytes (this one has %zu)", name, FORM_VALUE_MAX,
		    len);
		return -1;
	}
	switch (fl->type) {
	case FIELD_BOOLEAN:
		if (strcmp(v, "0") && strcmp(v, "1") && strcmp(v, "true") && strcmp(v, "false")) {
			errf(err, errlen, "%s: answer yes or no (true or false), not \"%.*s%s\"",
			    name, QUOTE(v));
			return -1;
		}
		break;
	case FIELD_LIST:
	case FIELD_LIST_MULTI:
		if (fl->noptions && !has_option(fl, v)) {
			errf(err, errlen, "%s: \"%.*s%s\" is not one of the choices", name,
			    QUOTE(v));
			return -1;
		}
		break;
	case FIELD_JID:
	case FIELD_JID_MULTI:
		if (*v && !jid_valid_bare(v)) {
			errf(err, errlen, "%s: \"%.*s%s\" is not a JID such as alice@example.com",
			    name, QUOTE(v));
			return -1;
		}
		break;
	default: break;
	}
	if (fl->integer && *v) {
		errno = 0;
		n = strtol(v, &end, 10);
		if (errno || end == v || *end != '\0' || n < fl->min || n > fl->max) {
			errf(err, errlen,
			    "%s: write a whole number from %ld to %ld, not \"%.*s%s\"", name,
			    fl->min, fl->max, QUOTE(v));
			return -1;
		}
	}
	return 0;
}

int
form_check(const struct form *f, char *err, size_t errlen)
{
	const struct form_field *fl;
	const char *name;
	size_t i, j;

	for (i = 0; i < f->nfields; i++) {
		fl = f->fields[i];
		name = fl->label ? fl->label : fl->var ? fl->var : "a field";
		if (fl->type == FIELD_FIXED)
			continue;
		if (fl->required && empty(fl)) {
			errf(err, errlen, "%s is required", name);
			return -1;
		}
		if (fl->nvalues > 1 && fl->type != FIELD_TEXT_MULTI &&
		    fl->type != FIELD_LIST_MULTI && fl->type != FIELD_JID_MULTI) {
			errf(err, errlen, "%s takes one value", name);
			return -1;
		}
		for (j = 0; j < fl->nvalues; j++)
			if (check_value(fl, fl->values[j], name, err, errlen) == -1)
				return -1;
	}
	return 0;
}

int
form_same(const struct form *a, const struct form *b)
{
	const struct form_field *fa, *fb;
	size_t i, j;

	if (a == NULL || b == NULL || a->nfields != b->nfields)
		return 0;
	for (i = 0; i < a->nfields; i++) {
		fa = a->fields[i];
		if (fa->var == NULL)
			continue;
		if ((fb = form_field(b, fa->var)) == NULL || fa->nvalues != fb->nvalues)
			return 0;
		for (j = 0; j < fa->nvalues; j++)
			if (strcmp(fa->values[j], fb->values[j]) != 0)
				return 0;
	}
	return 1;
}

/* --- for clients that show only part of a form ------------------------------------------- */

void
form_show(struct form *f)
{
	struct form_field *fl;
	size_t i, j;

	for (i = 0; i < f->nfields; i++) {
		fl = f->fields[i];
		if (fl->type == FIELD_FIXED &&
		    fl->var == NULL) /* poezio keeps one var-less field */
			fl->var = xasprintf("fixed-%zu", i + 1);
		if (fl->type == FIELD_FIXED || fl->type == FIELD_HIDDEN)
			continue;
		if (fl->label == NULL && fl->var) /* profanity shows "(null)" */
			fl->label = xstrdup(fl->var);
		for (j = 0; j < fl->noptions; j++)
			if (fl->options[j].label == NULL)
				fl->options[j].label = xstrdup(fl->options[j].value);
		if (!is_list(fl) || fl->nvalues)
			continue;
		/* profanity lists the options of a list only when it has a value */
		if (!has_option(fl, FORM_NONE)) {
			fl->options =
			    xrealloc(fl->options, (fl->noptions + 1) * sizeof(*fl->options));
			memmove(fl->options + 1, fl->options, fl->noptions * sizeof(*fl->options));
			fl->options[0].value = xstrdup(FORM_NONE);
			fl->options[0].label = xstrdup(
			    fl->type == FIELD_LIST ? "(none chosen yet)" : "(none ticked yet)");
			fl->noptions++;
		}
		form_value(fl, FORM_NONE);
	}
}

/* s with line breaks and tabs as spaces: a cell stays on its line */
static void
append_flat(char **line, size_t *len, const char *s)
{
	size_t n = strlen(s), i;

	*line = xrealloc(*line, *len + n + 1);
	for (i = 0; i < n; i++)
		(*line)[*len + i] = (s[i] == '\n' || s[i] == '\r' || s[i] == '\t') ? ' ' : s[i];
	*len += n;
	(*line)[*len] = '\0';
}

char *
form_row_line(const struct form *f, size_t row)
{
	const char *const *cells = (const char *const *)f->rows[row];
	char *line = xstrdup("");
	size_t len = 0, j, cut;

	for (j = 0; j < f->ncolumns; j++) {
		if (*cells[j] == '\0')
			continue;
		if (len)
			append_flat(&line, &len, " | ");
		if (j > 0) {
			append_flat(&line, &len,
			    f->columns[j].label ? f->columns[j].label : f->columns[j].value);
			append_flat(&line, &len, ": ");
		}
		append_flat(&line, &len, cells[j]);
	}
	if (len > FORM_LINE_MAX) {
		cut = utf8_prefix(line, FORM_LINE_MAX - 3);
		strcpy(line + cut, "...");
	}
	return line;
}

void
form_add_lines(struct form *f, const struct form *table, size_t first, size_t n)
{
	struct form_field *fl;
	size_t i;
	char *line;

	for (i = first; i < first + n && i < table->nrows; i++) {
		line = form_row_line(table, i);
		fl = form_add(f, NULL, FIELD_FIXED, NULL);
		fl->var = xasprintf("row-%zu", i + 1);
		form_value(fl, line);
		free(line);
	}
	if (table->nrows == 0)
		form_value(form_add(f, "row-none", FIELD_FIXED, NULL), "(nothing to list)");
}

void
form_add_field_lines(struct form *f, const struct form *table)
{
	const struct form_field *fl;
	char *line;
	size_t i, j;

	for (i = 0; i < table->nfields; i++) {
		fl = table->fields[i];
		if (fl->type == FIELD_HIDDEN)
			continue;
		for (j = 0; j < fl->nvalues || j == 0; j++) {
			if (fl->type == FIELD_FIXED)
				line = xstrdup(j < fl->nvalues ? fl->values[j] : "");
			else if (j == 0)
				line = xasprintf("%s: %s", fl->label ? fl->label : fl->var,
				    fl->nvalues ? fl->values[0] : "(none)");
			else
				line = xasprintf("  %s", fl->values[j]);
			if (*line)
				form_value(form_add(f, NULL, FIELD_FIXED, NULL), line);
			free(line);
		}
	}
}

void
form_table_text(struct form *f)
{
	size_t had = f->nfields, added;
	struct form_field **lines;

	form_add_lines(f, f, 0, f->nrows);
	/* the lines first: they are the answer, the other fields come with it */
	added = f->nfields - had;
	lines = xcalloc(added ? added : 1, sizeof(*lines));
	memcpy(lines, f->fields + had, added * sizeof(*lines));
	memmove(f->fields + added, f->fields, had * sizeof(*lines));
	memcpy(f->fields, lines, added * sizeof(*lines));
	free(lines);
}
