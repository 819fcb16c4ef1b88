/* The web widget's <visitor/> element in a customer's message: stanza_visitor(). */
#include "fuzz.h"

static xmpp_ctx_t *ctx;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	xmpp_initialize();
	ctx = xmpp_ctx_new(NULL, NULL);
	return 0;
}

/* 16 to 64 of [A-Za-z0-9_-], as stanza_visitor() promises */
static int
token_like(const char *s)
{
	size_t n = strlen(s);

	return n >= 16 && n <= 64 &&
	    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *xml = fuzz_str(data, size);
	xmpp_stanza_t *st = xmpp_stanza_new_from_string(ctx, xml);
	struct visitor v;

	free(xml);
	if (st == NULL)
		return 0;
	if (stanza_visitor(st, &v)) {
		FUZZ_ASSERT(v.session != NULL && token_like(v.session));
		FUZZ_ASSERT(v.id == NULL || (*v.id != '\0' && strlen(v.id) <= 128));
	}
	xmpp_stanza_release(st);
	return 0;
}
