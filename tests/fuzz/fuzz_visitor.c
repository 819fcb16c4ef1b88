/* The web widget's <visitor/> element in a customer's message: stanza_visitor() and the
 * pre-chat values' check, crm_prechat_check(). */
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

/* What crm_prechat_check() lets through is what respa may store and show. */
static void
check_prechat(const struct visitor *v)
{
	char email[PRECHAT_EMAIL_MAX + 1];
	const char *field, *p;
	enum text_id why;
	int limit;
	size_t chars = 0;

	if (crm_prechat_check(v, email, sizeof(email), &field, &why, &limit) == -1) {
		FUZZ_ASSERT(field != NULL);
		FUZZ_ASSERT(strcmp(field, "name") == 0 || strcmp(field, "email") == 0 ||
		    strcmp(field, "topic") == 0);
		FUZZ_ASSERT(why >= 0 && why < T_COUNT);
		return;
	}
	if (v->name) {
		for (p = v->name; *p; p++) {
			FUZZ_ASSERT((unsigned char)*p >= 0x20 && *p != 0x7f);
			chars += ((unsigned char)*p & 0xc0) != 0x80;
		}
		FUZZ_ASSERT(chars <= PRECHAT_NAME_MAX);
	}
	FUZZ_ASSERT(strlen(email) <= PRECHAT_EMAIL_MAX);
	FUZZ_ASSERT(*email == '\0' || (v->email && strlen(email) == strlen(v->email) &&
	    strchr(email, '@') != NULL));
	FUZZ_ASSERT(!v->offline || *email != '\0');
	if (v->topic)
		FUZZ_ASSERT(strlen(v->topic) <= TOPIC_MAX &&
		    strspn(v->topic, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") ==
		        strlen(v->topic));
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
		check_prechat(&v);
	}
	xmpp_stanza_release(st);
	return 0;
}
