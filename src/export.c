/*
 * `respa export`: the conversations of a period with their transcript, summary, tags,
 * contact and tasks, as JSON Lines (one record a line: the object SQLite's JSON1 functions
 * build, the same the [crm] hook gets) or as CSV (RFC 4180, one row a conversation).
 * It opens the database read-only, so it runs beside respa (WAL) and never changes it.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "respa.h"

enum { EXPORT_OK, EXPORT_ERROR, EXPORT_USAGE };

struct export_out {
	FILE *f;
	int csv;
	int raw; /* --raw-csv: formula cells as they are */
	long rows;
};

static void
export_usage(FILE *f)
{
	fprintf(f,
	    "usage: respa export [-c file] [--since DATE] [--until DATE] [--open]\n"
	    "                    [--format jsonl|csv] [--raw-csv] [-o file]\n"
	    "  -c file          configuration file (default " SYSCONFDIR "/respa.conf)\n"
	    "  --since DATE     conversations closed at or after DATE (default: the first)\n"
	    "  --until DATE     ... and before DATE; a day alone includes that whole day\n"
	    "                   DATE: YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][Z], in UTC\n"
	    "  --open           also conversations still open that began before --until\n"
	    "  --format FORMAT  jsonl (default): one JSON object a line; csv: one row each\n"
	    "  --raw-csv        csv cells as they are: no ' before a leading = + - @ tab CR\n"
	    "  -o file          write there (created mode 600) instead of standard output\n"
	    "exit status: 0 written; 1 configuration, database or output error; 2 usage\n");
}

/*
 * A time given on the command line, in UTC: YYYY-MM-DD, or YYYY-MM-DDTHH:MM[:SS] with an
 * optional Z (a space may stand for the T). With end set, a day alone means its end (the
 * next midnight), so that --until 2026-11-30 includes the 30th. 0, or -1 when s is not one.
 */
int
export_parse_time(const char *s, int end, time_t *t)
{
	struct tm tm, back;
	int y, mo, d, h = 0, mi = 0, sec = 0, n = 0, date_only;

	if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10)
		return -1;
	date_only = s[10] == '\0';
	if (!date_only) {
		const char *p = s + 11;

		if (s[10] != 'T' && s[10] != ' ')
			return -1;
		if (sscanf(p, "%2d:%2d%n", &h, &mi, &n) != 2 || n != 5)
			return -1;
		p += n;
		if (*p == ':') {
			if (sscanf(p + 1, "%2d%n", &sec, &n) != 1 || n != 2)
				return -1;
			p += 3;
		}
		if (*p == 'Z')
			p++;
		if (*p != '\0')
			return -1;
	}
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	*t = timegm(&tm);
	/* timegm carries 2026-02-30 into March: a date that changed was not one */
	if (gmtime_r(t, &back) == NULL || back.tm_year != y - 1900 || back.tm_mon != mo - 1 ||
	    back.tm_mday != d || back.tm_hour != h || back.tm_min != mi || back.tm_sec != sec)
		return -1;
	if (end && date_only)
		*t += 86400;
	return 0;
}

/*
 * A cell a spreadsheet would run as a formula (OWASP "CSV injection"): it starts with
 * = + - @, a tab or a carriage return.
 */
static int
csv_formula(const char *v)
{
	return strchr("=+-@\t\r", v[0]) != NULL;
}

/*
 * One CSV field (RFC 4180): quoted when it holds a comma, a quote, a line break or edge space.
 * With guard set, a formula cell gets a leading ' so that a spreadsheet shows it as text.
 */
void
export_csv_field(FILE *f, const char *v, int guard)
{
	size_t n;
	int quote;

	if (v == NULL || *v == '\0')
		return;
	n = strlen(v);
	quote = strpbrk(v, ",\"\r\n") != NULL || v[0] == ' ' || v[n - 1] == ' ';
	if (quote)
		fputc('"', f);
	if (guard && csv_formula(v))
		fputc('\'', f);
	for (; *v; v++) {
		if (quote && *v == '"')
			fputc('"', f);
		fputc(*v, f);
	}
	if (quote)
		fputc('"', f);
}

/* One CSV row; the header when values is NULL. */
static void
csv_row(FILE *f, int n, const char *const *names, const char *const *values, int guard)
{
	int i;

	for (i = 0; i < n; i++) {
		if (i > 0)
			fputc(',', f);
		export_csv_field(f, values ? values[i] : names[i], guard);
	}
	fputs("\r\n", f);
}

static int
write_row(int n, const char *const *names, const char *const *values, void *arg)
{
	struct export_out *o = arg;

	if (o->csv)
		csv_row(o->f, n, names, values, !o->raw);
	else if (values) {
		fputs(values[0], o->f);
		fputc('\n', o->f);
	}
	if (values)
		o->rows++;
	return ferror(o->f) ? -1 : 0;
}

/* The output file, private to its owner: it holds customers' conversations. */
static FILE *
open_out(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	FILE *f;

	if (fd == -1)
		return NULL;
	if ((f = fdopen(fd, "w")) == NULL)
		close(fd);
	return f;
}

static int
parse_date_arg(const char *opt, const char *v, int end, time_t *t)
{
	if (export_parse_time(v, end, t) == 0)
		return 0;
	fprintf(stderr,
	    "respa export: %s: bad date \"%s\" (use YYYY-MM-DD, or "
	    "YYYY-MM-DDTHH:MM:SSZ in UTC)\n",
	    opt, v);
	return -1;
}

/* Runs the export and closes what it opened; the exit status. */
static int
run_export(const char *path, const char *out, time_t since, time_t until, int open, int csv,
    int raw)
{
	struct export_out o = { stdout, csv, raw, 0 };
	struct config *conf;
	int rc = EXPORT_OK;

	log_init(0, "respa export");
	if ((conf = config_load(path, stderr)) == NULL)
		return EXPORT_ERROR;
	if (store_open_readonly(conf->database) == -1) {
		config_free(conf);
		return EXPORT_ERROR;
	}
	if (out && (o.f = open_out(out)) == NULL) {
		fprintf(stderr, "respa export: %s: %s\n", out, strerror(errno));
		rc = EXPORT_ERROR;
	} else if (store_export_foreach(since, until, open, csv, write_row, &o) == -1 ||
	    fflush(o.f) == EOF || ferror(o.f)) {
		if (ferror(o.f))
			fprintf(stderr, "respa export: %s: %s\n", out ? out : "standard output",
			    strerror(errno));
		rc = EXPORT_ERROR;
	}
	if (out && o.f && fclose(o.f) == EOF && rc == EXPORT_OK) {
		fprintf(stderr, "respa export: %s: %s\n", out, strerror(errno));
		rc = EXPORT_ERROR;
	}
	store_close();
	config_free(conf);
	return rc;
}

/* `respa export ...`; argv[0] is "export". Returns the exit status. */
int
export_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "since", required_argument, NULL, 's' },
		{ "until", required_argument, NULL, 'u' },
		{ "format", required_argument, NULL, 'f' },
		{ "open", no_argument, NULL, 'O' },
		{ "raw-csv", no_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = SYSCONFDIR "/respa.conf", *out = NULL;
	time_t since = 0, until = 0;
	int ch, csv = 0, open = 0, raw = 0;

	static char progname[] = "respa export"; /* what getopt calls us */

	argv[0] = progname;
	while ((ch = getopt_long(argc, argv, "c:o:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': path = optarg; break;
		case 'o': out = optarg; break;
		case 'O': open = 1; break;
		case 'R': raw = 1; break;
		case 'h': export_usage(stdout); return EXPORT_OK;
		case 's':
			if (parse_date_arg("--since", optarg, 0, &since) == -1)
				return EXPORT_USAGE;
			break;
		case 'u':
			if (parse_date_arg("--until", optarg, 1, &until) == -1)
				return EXPORT_USAGE;
			break;
		case 'f':
			if (strcmp(optarg, "jsonl") != 0 && strcmp(optarg, "csv") != 0) {
				fprintf(stderr,
				    "respa export: --format: \"%s\" is neither "
				    "jsonl nor csv\n",
				    optarg);
				return EXPORT_USAGE;
			}
			csv = strcmp(optarg, "csv") == 0;
			break;
		default: export_usage(stderr); return EXPORT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "respa export: unexpected argument \"%s\"\n", argv[optind]);
		export_usage(stderr);
		return EXPORT_USAGE;
	}
	if (since && until && until <= since) {
		fprintf(stderr, "respa export: --until must come after --since\n");
		return EXPORT_USAGE;
	}
	if (raw && !csv) {
		fprintf(stderr, "respa export: --raw-csv needs --format csv\n");
		return EXPORT_USAGE;
	}
	return run_export(path, out, since, until, open, csv, raw);
}
