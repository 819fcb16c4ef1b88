/*
 * An agent's chat line: slash_parse(), then !close's arguments and !contact's fields; the
 * text a non-command stands for and whether it is an encryption scheme's own.
 */
#include <ctype.h>

#include "fuzz.h"

static const char *const keys[] = { "name", "email", "phone", "company" };
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static int
trimmed(const char *s)
{
	size_t n = strlen(s);

	return n == 0 || (!isspace((unsigned char)s[0]) && !isspace((unsigned char)s[n - 1]));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *body = fuzz_str(data, size), *values[NKEYS], err[160];
	const char *end = body + strlen(body), *text;
	struct close_args ca;
	struct slash sl;
	size_t i, given = 0;
	int rc;

	text = slash_text(body);
	FUZZ_ASSERT(text >= body && text <= end);
	(void)slash_encryption(body);
	if (slash_parse(body, &sl) == 1) {
		FUZZ_ASSERT(sl.prefix == '!' || sl.prefix == '/');
		FUZZ_ASSERT(text == body); /* a command is never a literal */
		FUZZ_ASSERT(strlen(sl.name) < sizeof(sl.name));
		for (i = 0; sl.name[i]; i++)
			FUZZ_ASSERT(!isupper((unsigned char)sl.name[i]));
		FUZZ_ASSERT(sl.args >= body && sl.args <= end);

		slash_close(sl.args, &ca);
		FUZZ_ASSERT(strlen(ca.tags) < sizeof(ca.tags));
		FUZZ_ASSERT(ca.summary >= sl.args && ca.summary <= end);
		FUZZ_ASSERT(ca.resolved == 0 || ca.resolved == 1);

		err[0] = '\0';
		rc = slash_fields(sl.args, keys, NKEYS, values, err, sizeof(err));
		FUZZ_ASSERT(rc == 0 || rc == -1);
		for (i = 0; i < NKEYS; i++) {
			if (rc == -1)
				FUZZ_ASSERT(values[i] == NULL);
			else if (values[i]) {
				FUZZ_ASSERT(trimmed(values[i]));
				given++;
			}
			free(values[i]);
		}
		FUZZ_ASSERT(rc == -1 ? *err != '\0' : given > 0);
	}
	free(body);
	return 0;
}
