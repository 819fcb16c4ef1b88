/* Logging to stderr (the service manager keeps it), in the manner of OpenBSD's log.c. */
#include <sys/stat.h>

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "respa.h"

static int log_verbose;
static int log_journal; /* stderr is systemd's journal: priorities, and no time of our own */
static const char *log_progname = RESPA_NAME;

/*
 * systemd sets JOURNAL_STREAM to the device and inode of the stream it connected to the
 * journal; stderr is that stream unless it was redirected since (a shell's 2>file).
 */
static int
stderr_is_journal(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	uintmax_t dev, ino;
	struct stat sb;

	if (env == NULL || sscanf(env, "%ju:%ju", &dev, &ino) != 2 || fstat(2, &sb) == -1)
		return 0;
	return (uintmax_t)sb.st_dev == dev && (uintmax_t)sb.st_ino == ino;
}

void
log_init(int verbose, const char *progname)
{
	log_verbose = verbose;
	if (progname)
		log_progname = progname;
	log_journal = stderr_is_journal();
}

/* syslog(3)'s priorities, which the journal reads from a "<N>" at the start of a line */
static int
priority(const char *level)
{
	switch (level[0]) {
	case 'f': return 3; /* fatal: LOG_ERR */
	case 'w': return 4; /* LOG_WARNING */
	case 'i': return 6; /* LOG_INFO */
	default: return 7;  /* LOG_DEBUG */
	}
}

static void
vlog(const char *level, const char *fmt, va_list ap, const char *err)
{
	char ts[32];
	time_t now = time(NULL);
	struct tm tm;

	if (log_journal)
		fprintf(stderr, "<%d>%s: ", priority(level), level);
	else {
		/* time_iso()'s format, here: util.c logs its failures, so log.c uses none of it */
		gmtime_r(&now, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
		fprintf(stderr, "%s %s %s: ", ts, log_progname, level);
	}
	vfprintf(stderr, fmt, ap);
	if (err)
		fprintf(stderr, ": %s", err);
	fputc('\n', stderr);
	fflush(stderr);
}

#define LOGFN(fn, level, cond, witherr) \
	void fn(const char *fmt, ...) \
	{ \
		const char *e = (witherr) ? strerror(errno) : NULL; \
		va_list ap; \
		if (!(cond)) \
			return; \
		va_start(ap, fmt); \
		vlog(level, fmt, ap, e); \
		va_end(ap); \
	}

/* verbose -1 keeps only fatal errors (benchmarks, which run without a server) */
LOGFN(log_warn, "warning", log_verbose >= 0, 1)
LOGFN(log_warnx, "warning", log_verbose >= 0, 0)
LOGFN(log_info, "info", log_verbose >= 0, 0)
LOGFN(log_debug, "debug", log_verbose > 0, 0)

void
fatal(const char *fmt, ...)
{
	const char *e = strerror(errno);
	va_list ap;

	va_start(ap, fmt);
	vlog("fatal", fmt, ap, e);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("fatal", fmt, ap, NULL);
	va_end(ap);
	exit(1);
}

/* libstrophe's own messages: its debug level is the raw XML, which holds customer data. */
static void
strophe_log(void *arg, xmpp_log_level_t level, const char *area, const char *msg)
{
	(void)arg;
	if (level == XMPP_LEVEL_ERROR || level == XMPP_LEVEL_WARN)
		log_warnx("libstrophe %s: %s", area, msg);
	else
		log_debug("libstrophe %s: %s", area, msg);
}

/*
 * The logger for libstrophe's context. Below -vv it is libstrophe's own at WARN: libstrophe
 * formats each message before it calls a logger, and only skips that for its own logger
 * below the level, and its debug messages are every stanza received and every piece sent
 * (a fifth of the relay's instructions went there). Its warnings and errors (all of them
 * about memory or internal errors) then go to stderr as "area LEVEL text".
 */
const xmpp_log_t *
log_strophe(void)
{
	static const xmpp_log_t ours = { strophe_log, NULL };

	return log_verbose > 1 ? &ours : xmpp_get_default_logger(XMPP_LEVEL_WARN);
}
