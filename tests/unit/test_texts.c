/* texts.c: every text in every language, with the same placeholders; filling is safe. */
#include <stdlib.h>

#include "check.h"

/* Every id has a name, every language has its text, and each uses exactly {1}..{nargs}. */
static void
test_catalogue(void)
{
	unsigned used, want;
	char err[128];
	int id, lang, other;

	for (id = 0; id < T_COUNT; id++) {
		CHECK(texts_name(id) != NULL && *texts_name(id) != '\0');
		if (texts_name(id) == NULL)
			continue;
		CHECK_INT(texts_find(texts_name(id)), id);
		want = ((1u << (texts_nargs(id) + 1)) - 1) & ~1u;
		for (lang = 0; lang < LANG_COUNT; lang++) {
			const char *t = texts_get(lang, id);

			if (!check_report(t != NULL && *t != '\0', __FILE__, __LINE__, "text")) {
				fprintf(stderr, "\t%s has no %s text\n", texts_name(id),
				    texts_lang_code(lang));
				continue;
			}
			CHECK(utf8_valid(t, strlen(t)));
			used = 0;
			CHECK_INT(texts_check(t, texts_nargs(id), &used, err, sizeof(err)), 0);
			if (!check_report(used == want, __FILE__, __LINE__, "placeholders"))
				fprintf(stderr, "\t%s (%s) uses %#x, wants %#x\n", texts_name(id),
				    texts_lang_code(lang), used, want);
			/* the languages differ: a text left in English would not */
			for (other = 0; other < lang; other++)
				CHECK(strcmp(texts_get(other, id), t) != 0);
		}
	}
	/* names are unique */
	for (id = 0; id < T_COUNT; id++)
		for (other = id + 1; other < T_COUNT; other++)
			CHECK(strcmp(texts_name(id), texts_name(other)) != 0);
}

static void
test_langs(void)
{
	CHECK_INT(texts_lang("en"), LANG_EN);
	CHECK_INT(texts_lang("fi"), LANG_FI);
	CHECK_INT(texts_lang("de"), -1);
	CHECK_INT(texts_lang(""), -1);
	CHECK_INT(texts_lang("FI"), -1);
	CHECK_STR(texts_lang_code(LANG_FI), "fi");
	CHECK_STR(texts_weekday(LANG_FI, 0), "maanantaina");
	CHECK_STR(texts_weekday(LANG_EN, 6), "Sunday");
	CHECK_STR(texts_month(LANG_FI, 11), "joulukuuta");
	CHECK_STR(texts_month(LANG_EN, 0), "January");
	CHECK_INT(texts_find("greeting"), T_GREETING);
	CHECK_INT(texts_find("nonsense"), -1);
}

static void
test_fill(void)
{
	char *s, err[128];
	unsigned used;

	s = texts_fill("{2} before {1}; {1} again", TEXT_ARGS("a", "b"));
	CHECK_STR(s, "b before a; a again");
	free(s);
	/* an argument is never read as a placeholder or a format */
	s = texts_fill("x{1}y", TEXT_ARGS("{1}%s%n"));
	CHECK_STR(s, "x{1}%s%ny");
	free(s);
	/* braces that are no placeholder, and one beyond the arguments, stay text */
	s = texts_fill("{} {0} {a} {12} {3}", TEXT_ARGS("A"));
	CHECK_STR(s, "{} {0} {a} {12} {3}");
	free(s);
	s = texts_fill("", TEXT_ARGS("A"));
	CHECK_STR(s, "");
	free(s);
	CHECK_INT(texts_check("Hello {1}", 1, &used, err, sizeof(err)), 0);
	CHECK_INT(used, 2);
	CHECK_INT(texts_check("Hello {2}", 1, &used, err, sizeof(err)), -1);
	CHECK_STR(err, "{2}: this text has {1} to {1} only");
	CHECK_INT(texts_check("Hello {1}", 0, &used, err, sizeof(err)), -1);
	CHECK_STR(err, "{1}: this text takes no placeholder");
}

static void
test_clock(void)
{
	char buf[16];

	texts_clock(LANG_EN, 9, 5, buf, sizeof(buf));
	CHECK_STR(buf, "09:05");
	texts_clock(LANG_FI, 9, 5, buf, sizeof(buf));
	CHECK_STR(buf, "9.05");
	texts_clock(LANG_FI, 16, 30, buf, sizeof(buf));
	CHECK_STR(buf, "16.30");
}

int
main(void)
{
	test_catalogue();
	test_langs();
	test_fill();
	test_clock();
	return check_done();
}
