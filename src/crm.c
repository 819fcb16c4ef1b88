/* Rules for the CRM record: the channel a customer came by, the summary respa writes. No SQL. */
#include <stdio.h>
#include <string.h>

#include "respa.h"

#define FIRST_WORDS 80

const char *
crm_channel(const char *customer_jid)
{
	(void)customer_jid;
	return "xmpp"; /* web visitors and gateways come with the widget and bridges */
}

static void
duration(time_t secs, char *buf, size_t len)
{
	if (secs < 60)
		snprintf(buf, len, "under a minute");
	else if (secs < 3600)
		snprintf(buf, len, "%ld min", (long)(secs / 60));
	else
		snprintf(buf, len, "%ld h %02ld min", (long)(secs / 3600), (long)(secs % 3600 / 60));
}

/* The customer's first words, cut at a word boundary and kept on one line. */
static void
opening(const char *msg, char *buf, size_t len)
{
	size_t n = 0, cut = 0;
	const char *p;

	if (msg == NULL || *msg == '\0') {
		snprintf(buf, len, "nothing");
		return;
	}
	for (p = msg; *p && n + 4 < len && n < FIRST_WORDS; p++) {
		buf[n++] = (*p == '\n' || *p == '\r' || *p == '\t') ? ' ' : *p;
		if (buf[n - 1] == ' ')
			cut = n - 1;
	}
	if (*p && cut > 0)
		n = cut;
	else if (*p) /* no word boundary: still never inside a UTF-8 character */
		while (n > 0 && ((unsigned char)msg[n] & 0xc0) == 0x80)
			n--;
	while (n > 0 && (buf[n - 1] == '.' || buf[n - 1] == ' '))
		n--;
	if (*p) {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
}

/* At most two sentences, from the facts alone. */
void
crm_summary(const struct summary_facts *f, char *buf, size_t len)
{
	char first[FIRST_WORDS + 8], took[32], who[320], why[64] = "", tags[256] = "";

	opening(f->first_message, first, sizeof(first));
	duration(f->closed_at - f->created_at, took, sizeof(took));
	if (f->agent)
		snprintf(who, sizeof(who), "Handled by %s and closed", f->agent);
	else
		snprintf(who, sizeof(who), "Closed without an agent");
	if (f->reason)
		snprintf(why, sizeof(why), " (%s)", f->reason);
	if (f->tags && *f->tags)
		snprintf(tags, sizeof(tags), "; tags: %s", f->tags);
	snprintf(buf, len, "%s wrote to %s by %s, first asking: \"%s\". %s after %s%s, %s%s.",
	    f->customer, f->queue, f->channel, first, who, took, why,
	    f->resolved ? "resolved" : "not resolved", tags);
}
