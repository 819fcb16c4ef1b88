/*
 * A data form an admin submits to an ad-hoc command: form_parse() of the <x/>, kept into the
 * form that was shown (form_keep) and checked against it (form_check), as adhoc.c does.
 */
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

/* One field of every kind the commands show. */
static struct form *
shown(void)
{
	struct form *f = form_new(FORM_FORM, "Edit a queue", NULL);
	struct form_field *fl;

	form_value(form_add(f, NULL, FIELD_FIXED, NULL), "Change what you need.");
	fl = form_add(f, "name", FIELD_TEXT, "Name");
	fl->required = 1;
	fl = form_add(f, "strategy", FIELD_LIST, "Strategy");
	form_option(fl, "longest-idle", NULL);
	form_option(fl, "ring-all", "everyone at once");
	fl = form_add(f, "capacity", FIELD_TEXT, "Capacity");
	fl->integer = 1;
	fl->min = 1;
	fl->max = 100;
	form_add(f, "confirm", FIELD_BOOLEAN, "Yes, delete it");
	form_add(f, "jid", FIELD_JID, "Agent's JID");
	form_add(f, "admins", FIELD_JID_MULTI, NULL);
	fl = form_add(f, "done", FIELD_LIST_MULTI, "Done");
	form_option(fl, "1", "task 1");
	form_add(f, "greeting", FIELD_TEXT_MULTI, "Greeting");
	form_add(f, "secret", FIELD_TEXT_PRIVATE, NULL);
	form_add(f, "session", FIELD_HIDDEN, NULL);
	return f;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *xml = fuzz_str(data, size), err[512];
	xmpp_stanza_t *x = xmpp_stanza_new_from_string(ctx, xml);
	struct form *in, *f;
	int rc;

	free(xml);
	if (x == NULL)
		return 0;
	err[0] = '\0';
	in = form_parse(x, err, sizeof(err));
	xmpp_stanza_release(x);
	if (in == NULL) {
		FUZZ_ASSERT(*err != '\0');
		return 0;
	}
	(void)form_check(in, err, sizeof(err)); /* as submitted: every field typed by the sender */
	f = shown();
	form_keep(f, in);
	form_free(in);
	err[0] = '\0';
	rc = form_check(f, err, sizeof(err));
	FUZZ_ASSERT(rc == 0 || (rc == -1 && *err != '\0'));
	if (rc == 0) {
		FUZZ_ASSERT(form_get(f, "name") != NULL);
		FUZZ_ASSERT(form_same(f, f));
	}
	form_free(f);
	return 0;
}
