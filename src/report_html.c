/*
 * `respa report`: the report of a period written as one HTML page (report_page.c) to a file or
 * standard output.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "respa.h"

enum { REPORT_OK, REPORT_ERROR, REPORT_USAGE };

#define DEFAULT_DAYS 30

static void
report_usage(FILE *f)
{
	fprintf(f,
	    "usage: respa report [-c file] [--since DATE] [--until DATE] [--queue Q] [-o file]\n"
	    "  -c file       configuration file (default " SYSCONFDIR "/respa.conf)\n"
	    "  --since DATE  contacts that began at or after DATE (default: --until less 30 "
	    "days)\n"
	    "  --until DATE  ... and before DATE; a day alone includes that whole day\n"
	    "                (default: the end of today); DATE: YYYY-MM-DD or "
	    "YYYY-MM-DDTHH:MM[:SS][Z], in UTC\n"
	    "  --queue Q     one queue only (the queue the customer wrote to)\n"
	    "  -o file       write the HTML there (created mode 600) instead of standard output\n"
	    "exit status: 0 written; 1 configuration, database or output error; 2 usage\n");
}

/* The queues of the configuration and those made by commands, with their hours. */
struct qlist {
	struct report_queue *v;
	size_t n;
	struct hours *owned;
	size_t nowned;
	const char *err;
};

static int
add_desk_queue(const char *name, const char *hours, const char *closed, const char *tz,
    int max_wait, void *arg)
{
	struct qlist *l = arg;
	struct hours *h;
	char err[256];
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i].name, name) == 0)
			return 0;
	l->owned = xrealloc(l->owned, (l->nowned + 1) * sizeof(*l->owned));
	h = &l->owned[l->nowned++];
	memset(h, 0, sizeof(*h));
	if ((hours && hours_parse(h, hours, err, sizeof(err)) == -1) ||
	    (closed && hours_parse_closed(h, closed, err, sizeof(err)) == -1))
		hours_free(h); /* checked when stored: open around the clock rather than fail */
	l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
	memset(&l->v[l->n], 0, sizeof(*l->v));
	l->v[l->n].name = xstrdup(name);
	l->v[l->n].tz = xstrdup(tz && *tz ? tz : "UTC");
	l->v[l->n].max_wait = max_wait;
	l->n++;
	return 0;
}

static int
write_report(const char *path, const char *out, struct report_span *span)
{
	struct config *conf;
	struct qlist l = { NULL, 0, NULL, 0, NULL };
	struct queue *q, *d;
	struct report r;
	size_t i, base;
	int rc = REPORT_OK, found = 0, default_max_wait;
	FILE *f = stdout;

	log_init(0, "respa report");
	if ((conf = config_load(path, stderr)) == NULL)
		return REPORT_ERROR;
	if (store_open_readonly(conf->database) == -1) {
		config_free(conf);
		return REPORT_ERROR;
	}
	store_report_bulk();
	if (span->fcr_days < 0)
		span->fcr_days = conf->fcr_days;
	for (q = conf->queues; q; q = q->next) {
		l.v = xrealloc(l.v, (l.n + 1) * sizeof(*l.v));
		memset(&l.v[l.n], 0, sizeof(*l.v));
		l.v[l.n].name = xstrdup(q->name);
		l.v[l.n].tz = xstrdup(q->timezone);
		l.v[l.n].hours = q->hours;
		l.v[l.n].max_wait = q->max_wait;
		l.n++;
	}
	base = l.n;
	(void)store_report_desk_queues(add_desk_queue, &l);
	for (i = base; i < l.n; i++) /* owned no longer moves */
		l.v[i].hours = &l.owned[i - base];
	for (i = 0; i < l.n; i++)
		if (span->queue && strcmp(l.v[i].name, span->queue) == 0)
			found = 1;
	d = config_queue_alloc("default");
	default_max_wait = d->max_wait;
	config_queue_free(d);
	if (span->queue && !found) {
		fprintf(stderr,
		    "respa report: --queue: no queue \"%s\" in %s or made by commands\n",
		    span->queue, path);
		rc = REPORT_USAGE;
	} else if (report_compute(&r, span, l.v, l.n, default_max_wait) == -1) {
		report_free(&r);
		rc = REPORT_ERROR;
	} else {
		if (out) {
			int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

			if (fd == -1 || (f = fdopen(fd, "w")) == NULL) {
				fprintf(stderr, "respa report: %s: %s\n", out, strerror(errno));
				if (fd != -1)
					close(fd);
				f = NULL;
				rc = REPORT_ERROR;
			}
		}
		if (f) {
			report_page(f, &r);
			if (fflush(f) == EOF || ferror(f) || (out && fclose(f) == EOF)) {
				fprintf(stderr, "respa report: %s: %s\n",
				    out ? out : "standard output", strerror(errno));
				rc = REPORT_ERROR;
			}
		}
		report_free(&r);
	}
	report_queues_free(l.v, l.n);
	for (i = 0; i < l.n; i++) {
		free((char *)l.v[i].name);
		free((char *)l.v[i].tz);
	}
	for (i = 0; i < l.nowned; i++)
		hours_free(&l.owned[i]);
	free(l.owned);
	free(l.v);
	store_close();
	config_free(conf);
	return rc;
}

/* `respa report ...`; argv[0] is "report". Returns the exit status. */
int
report_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "since", required_argument, NULL, 's' },
		{ "until", required_argument, NULL, 'u' },
		{ "queue", required_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static char progname[] = "respa report";
	const char *path = SYSCONFDIR "/respa.conf", *out = NULL;
	struct report_span span;
	time_t now = respa_now();
	int ch;

	memset(&span, 0, sizeof(span));
	span.fcr_days = -1;
	span.now = now;
	argv[0] = progname;
	while ((ch = getopt_long(argc, argv, "c:o:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': path = optarg; break;
		case 'o': out = optarg; break;
		case 'q': span.queue = optarg; break;
		case 'h': report_usage(stdout); return REPORT_OK;
		case 's':
		case 'u':
			if (export_parse_time(optarg, ch == 'u',
			        ch == 's' ? &span.since : &span.until) == -1) {
				fprintf(stderr,
				    "respa report: %s: bad date \"%s\" (use YYYY-MM-DD, or "
				    "YYYY-MM-DDTHH:MM:SSZ in UTC)\n",
				    ch == 's' ? "--since" : "--until", optarg);
				return REPORT_USAGE;
			}
			break;
		default: report_usage(stderr); return REPORT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "respa report: unexpected argument \"%s\"\n", argv[optind]);
		report_usage(stderr);
		return REPORT_USAGE;
	}
	if (span.until == 0)
		span.until = now - now % 86400 + 86400;
	if (span.since == 0)
		span.since = span.until - DEFAULT_DAYS * 86400;
	if (span.until <= span.since) {
		fprintf(stderr, "respa report: --since must come before --until\n");
		return REPORT_USAGE;
	}
	return write_report(path, out, &span);
}
