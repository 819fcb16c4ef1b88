/*
 * respa export's command line times (export_parse_time) and the CSV cells it writes
 * (export_csv_field). Byte 0: bit 0 is the "end" flag; the rest is the text.
 * A CSV cell read back by RFC 4180 must give the text again (a leading ' allowed, which
 * neutralises a spreadsheet formula).
 */
#include "fuzz.h"

/* Reads one RFC 4180 cell from f (n bytes): a new string, or NULL when it is not one. */
static char *
csv_read(const char *f, size_t n)
{
	char *v = xmalloc(n + 1);
	size_t i, k = 0;

	if (n == 0 || f[0] != '"') {
		if (memchr(f, '"', n) || memchr(f, ',', n) || memchr(f, '\n', n) ||
		    memchr(f, '\r', n)) {
			free(v);
			return NULL;
		}
		memcpy(v, f, n);
		v[n] = '\0';
		return v;
	}
	for (i = 1; i < n; i++) {
		if (f[i] == '"') {
			if (i + 1 < n && f[i + 1] == '"') {
				v[k++] = '"';
				i++;
				continue;
			}
			if (i + 1 != n) /* a closing quote before the end */
				break;
			v[k] = '\0';
			return v;
		}
		v[k++] = f[i];
	}
	free(v);
	return NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text, *out = NULL, *back;
	size_t outlen = 0;
	time_t t;
	FILE *f;
	int guard;

	if (size < 1)
		return 0;
	text = fuzz_str(data + 1, size - 1);
	if (export_parse_time(text, data[0] & 1, &t) == 0)
		FUZZ_ASSERT(strlen(text) >= 10); /* YYYY-MM-DD at least */

	if ((f = open_memstream(&out, &outlen)) == NULL)
		abort();
	guard = data[0] & 2;
	export_csv_field(f, text, guard);
	fclose(f);
	back = csv_read(out, outlen);
	FUZZ_ASSERT(back != NULL);
	/* read back, the cell is the text; guarded, a formula cell has a ' in front */
	if (guard && strchr("=+-@\t\r", text[0]) != NULL && text[0] != '\0')
		FUZZ_ASSERT(back[0] == '\'' && strcmp(back + 1, text) == 0);
	else
		FUZZ_ASSERT(strcmp(back, text) == 0);
	free(back);
	free(out);
	free(text);
	return 0;
}
