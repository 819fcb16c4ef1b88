/*
 * What the CRM reads from outside: an email or a phone number in a customer's message
 * (crm_find_email, crm_find_phone), a typed phone (crm_phone_e164) and a gateway's JID
 * (crm_jid_phone), and the answer to a rating question (crm_rating_parse). The first byte
 * picks the default calling code, the rest is the text.
 */
#include <ctype.h>

#include "fuzz.h"

static const char *const calling_codes[] = { NULL, "", "358", "1", "44", "49" };

/* "+" and 7 to 15 digits, the first not 0: what every phone function promises */
static int
e164(const char *s)
{
	size_t n = strlen(s + 1);

	return s[0] == '+' && n >= 7 && n <= 15 && s[1] != '0' && strspn(s + 1, "0123456789") == n;
}

static int
email_like(const char *s, const char *text)
{
	const char *at = strchr(s, '@');
	size_t i;

	if (at == NULL || at == s || strchr(at + 1, '@') || strchr(at + 1, '.') == NULL)
		return 0;
	for (i = 0; s[i]; i++)
		if (isupper((unsigned char)s[i]))
			return 0;
	return strcasestr(text, s) != NULL; /* taken from the text, lower-cased */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *cc;
	char *text, out[128], small[24];
	const char *comment;
	int score, r;

	if (size < 1)
		return 0;
	cc = calling_codes[data[0] % (sizeof(calling_codes) / sizeof(calling_codes[0]))];
	text = fuzz_str(data + 1, size - 1);
	if (crm_find_email(text, out, sizeof(out)) == 0)
		FUZZ_ASSERT(strlen(out) < sizeof(out) && email_like(out, text));
	if (crm_find_email(text, small, sizeof(small)) == 0) /* a buffer too small for most */
		FUZZ_ASSERT(strlen(small) < sizeof(small) && email_like(small, text));
	if (crm_find_phone(text, cc, out, sizeof(out)) == 0)
		FUZZ_ASSERT(e164(out));
	if (crm_phone_e164(text, cc, small, sizeof(small)) == 0)
		FUZZ_ASSERT(e164(small));
	if (crm_jid_phone(text, cc, small, sizeof(small)) == 0)
		FUZZ_ASSERT(e164(small));
	r = crm_rating_parse(text, &score, &comment);
	FUZZ_ASSERT(r >= -1 && r <= 1);
	FUZZ_ASSERT(r == 1 ? score >= 1 && score <= 5 : score == 0);
	/* a comment is a non-empty tail of the text */
	FUZZ_ASSERT(comment == NULL || (r == 1 && *comment && comment > text &&
	                                   comment < text + strlen(text)));
	free(text);
	return 0;
}
