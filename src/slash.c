/*
 * Agents' commands, as written in a conversation: "!name arguments" or "/name arguments".
 * Pure.
 *
 * "!" is the prefix that works everywhere: terminal clients (profanity, poezio) take every
 * line that starts with "/" for a command of their own and never send it. "." is not one:
 * it starts ordinary lines ("...", ".5 mm", ".com"), which would turn into unknown commands.
 * "!" counts only before a letter, so "!!!", "! yes" and "!1" stay text.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "respa.h"

static int
letter(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* "/me" (XEP-0245) and "/me text" are an action for the customer, never a command. */
static int
me_line(const char *p)
{
	return strncasecmp(p, "/me", 3) == 0 && (p[3] == '\0' || isspace((unsigned char)p[3]));
}

int
slash_parse(const char *body, struct slash *out)
{
	const char *p = body;
	size_t n = 0;

	while (*p == ' ' || *p == '\t')
		p++;
	if (p[0] == '/' && (p[1] == '/' || me_line(p)))
		return 0; /* text; "//x" is the literal "/x" */
	if (p[0] != '/' && (p[0] != '!' || !letter(p[1])))
		return 0; /* text; "!!x" is the literal "!x" */
	out->prefix = p[0];
	p++;
	while (p[n] && !isspace((unsigned char)p[n]))
		n++;
	if (n == 0 || n >= sizeof(out->name)) {
		out->name[0] = '\0'; /* "/" alone, or a name too long to be one: unknown */
	} else {
		for (size_t i = 0; i < n; i++)
			out->name[i] = (char)tolower((unsigned char)p[i]);
		out->name[n] = '\0';
	}
	p += n;
	while (isspace((unsigned char)*p))
		p++;
	out->args = p;
	return 1;
}

const char *
slash_text(const char *body)
{
	const char *p = body;

	while (*p == ' ' || *p == '\t')
		p++;
	if ((p[0] == '/' && p[1] == '/') || (p[0] == '!' && p[1] == '!'))
		return p + 1;
	return body;
}

/* The schemes whose lines are only their own set-up or ciphertext, as their text starts. */
static const struct {
	const char *start, *name;
} sealed[] = {
	{ "?OTR", "OTR" }, /* queries (?OTR?, ?OTRv23?), data (?OTR:) and errors */
	{ "I sent you an OMEMO encrypted message", "OMEMO" }, /* Conversations' fallback body */
};

const char *
slash_encryption(const char *body)
{
	size_t i;

	for (i = 0; i < sizeof(sealed) / sizeof(sealed[0]); i++)
		if (strncmp(body, sealed[i].start, strlen(sealed[i].start)) == 0)
			return sealed[i].name;
	return NULL;
}

/*
 * "/close [resolved|unresolved] [#tag ...] [summary]": the outcome (first word only) and
 * tags come first, the rest is the summary. Tags are written as #word ("#late-delivery").
 */
void
slash_close(const char *args, struct close_args *out)
{
	const char *p = str_skip_space(args), *e;
	size_t n, len = 0;
	int first;

	out->resolved = 1;
	out->tags[0] = '\0';
	for (first = 1;; first = 0) {
		e = p + strcspn(p, " \t");
		n = (size_t)(e - p);
		if (first && n == 8 && strncasecmp(p, "resolved", 8) == 0)
			out->resolved = 1;
		else if (first && n == 10 && strncasecmp(p, "unresolved", 10) == 0)
			out->resolved = 0;
		else if (n > 1 && *p == '#') {
			if (len + n + 2 < sizeof(out->tags))
				len += (size_t)snprintf(out->tags + len, sizeof(out->tags) - len,
				    "%s%.*s", len ? "," : "", (int)n - 1, p + 1);
		} else
			break;
		p = str_skip_space(e);
	}
	out->summary = p;
}

/* Frees what slash_fields() took so far: on an error the caller gets nothing to free. */
static int
fields_fail(char **values, size_t nkeys)
{
	size_t i;

	for (i = 0; i < nkeys; i++) {
		free(values[i]);
		values[i] = NULL;
	}
	return -1;
}

/*
 * "key=value key=value" where a value runs to the next known key ("/contact name=Ann Lee
 * email=ann@example.com"). values[i] gets a new string for keys[i] given, else NULL.
 * 0, or -1 with err filled (nothing allocated).
 */
int
slash_fields(const char *args, const char *const *keys, size_t nkeys, char **values, char *err,
    size_t errlen)
{
	const char *p = str_skip_space(args), *start[16], *next;
	size_t i, k, which[16], n = 0, klen;

	if (nkeys > 16)
		return -1;
	for (i = 0; i < nkeys; i++)
		values[i] = NULL;
	while (*p) {
		for (k = 0; k < nkeys; k++) {
			klen = strlen(keys[k]);
			if (strncasecmp(p, keys[k], klen) == 0 && p[klen] == '=')
				break;
		}
		if (k == nkeys || n == 16) {
			snprintf(err, errlen, "expected one of %s%s%s%s=... at \"%.*s\"", keys[0],
			    nkeys > 1 ? "=, " : "", nkeys > 1 ? keys[1] : "",
			    nkeys > 2 ? "=, ..." : "", (int)utf8_prefix(p, 20), p);
			return fields_fail(values, nkeys);
		}
		which[n] = k;
		start[n++] = p + strlen(keys[k]) + 1;
		/* the value ends where the next " key=" begins */
		for (next = start[n - 1]; *next; next++) {
			if (*next != ' ')
				continue;
			for (k = 0; k < nkeys; k++) {
				klen = strlen(keys[k]);
				if (strncasecmp(str_skip_space(next), keys[k], klen) == 0 &&
				    str_skip_space(next)[klen] == '=')
					break;
			}
			if (k < nkeys)
				break;
		}
		p = str_skip_space(next);
		for (i = 0; i + 1 < n; i++)
			if (which[i] == which[n - 1]) {
				snprintf(err, errlen, "%s= is given twice", keys[which[i]]);
				return fields_fail(values, nkeys);
			}
		values[which[n - 1]] = xstrndup(start[n - 1], (size_t)(next - start[n - 1]));
		str_trim(values[which[n - 1]]);
	}
	if (n == 0) {
		snprintf(err, errlen, "nothing to set");
		return -1;
	}
	return 0;
}
