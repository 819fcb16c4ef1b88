/*
 * The [crm] hook: each closed conversation's record (the JSON object `respa export` writes a
 * line of) goes to a program's standard input, to push it into another CRM or mail the
 * transcript. Deliveries wait in SQLite (hook_deliveries), queued in the close's own
 * transaction, so a restart loses none. The program runs beside the loop: fork and exec, a
 * non-blocking pipe fed and the child reaped (WNOHANG) from a polling timer, at most
 * HOOK_RUNNING_MAX at once. A failure (non-zero exit, a signal, not executable, hook_timeout)
 * is logged and retried after 10 s, 1 min, 5 min, 30 min, then hourly, hook_retries times.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "respa.h"

#define HOOK_RUNNING_MAX 4 /* programs at once */
#define HOOK_POLL 0.05     /* seconds between looks at running programs */

/* One program running for one conversation. */
struct hook_run {
	int64_t conv;
	int attempts; /* failed attempts before this one */
	pid_t pid;    /* also its process group */
	int fd;       /* the write end of its standard input; -1 once closed */
	char *record;
	size_t len, off;  /* how much of record it was given */
	int64_t deadline; /* ms */
	int killed;       /* timed out: SIGKILLed, waiting to be reaped */
	int again;        /* the record changed while it ran (a rating came): send it again */
};

/* A delivery queued in the batch still open: it waits until that batch is committed. */
struct hook_fresh {
	int64_t conv;
	uint64_t batch;
};

static struct config *conf;
static int failing; /* failed runs in a row: supervisors hear at ALERT_FAILURES */
static struct hook_run runs[HOOK_RUNNING_MAX];
static size_t nruns;
static struct hook_fresh *fresh;
static size_t nfresh, fresh_cap;
static struct timer hook_timer;
static int fixed_backoff; /* RESPA_HOOK_BACKOFF, for tests: seconds before every retry */

static void hook_timer_fn(void *);

/* Seconds to wait after the n-th failed attempt (n >= 1): 10 s, 1 min, 5 min, 30 min, 1 h... */
int
hook_backoff(int failures)
{
	static const int steps[] = { 10, 60, 300, 1800 };

	if (failures < 1)
		failures = 1;
	if ((size_t)failures <= sizeof(steps) / sizeof(steps[0]))
		return steps[failures - 1];
	return 3600;
}

void
hook_init(struct config *c)
{
	const char *env = getenv("RESPA_HOOK_BACKOFF");

	conf = c;
	fixed_backoff = env ? atoi(env) : 0;
	timer_init(&hook_timer, hook_timer_fn, NULL);
	if (conf->hook)
		timer_in(&hook_timer, 0); /* what waited across a restart */
}

/* After a reload: a hook named now takes what waits. */
void
hook_reloaded(void)
{
	if (conf->hook && !timer_armed(&hook_timer))
		timer_in(&hook_timer, 0);
}

static void
poll_soon(double seconds)
{
	int64_t at = respa_now_ms() + (int64_t)(seconds * 1000);

	if (!timer_armed(&hook_timer) || hook_timer.at > at)
		timer_at(&hook_timer, at);
}

/* A conversation closed (in the batch open now): its record goes to the hook. */
void
hook_queue(int64_t conv)
{
	size_t i;

	if (conf == NULL || conf->hook == NULL || store_hook_add(conv, respa_now()) == -1)
		return;
	for (i = 0; i < nruns; i++)
		if (runs[i].conv == conv) /* it has read the record already */
			runs[i].again = 1;
	if (nfresh == fresh_cap) {
		fresh_cap = fresh_cap ? fresh_cap * 2 : 16;
		fresh = xrealloc(fresh, fresh_cap * sizeof(*fresh));
	}
	fresh[nfresh].conv = conv;
	fresh[nfresh++].batch = store_batch_id();
	poll_soon(0);
}

/* Forgets deliveries whose batch has ended: committed, or rolled back with its row. */
static void
prune_fresh(void)
{
	uint64_t open = store_batch_id();
	size_t i, n = 0;

	for (i = 0; i < nfresh; i++)
		if (open != 0 && fresh[i].batch == open)
			fresh[n++] = fresh[i];
	nfresh = n;
}

static int
busy(int64_t conv)
{
	size_t i;

	for (i = 0; i < nruns; i++)
		if (runs[i].conv == conv)
			return 1;
	for (i = 0; i < nfresh; i++)
		if (fresh[i].conv == conv)
			return 1;
	return 0;
}

/* Records a failed attempt and when the next one is due, or that there is none. */
static void
failed(int64_t conv, int attempts, const char *why)
{
	time_t next = 0;
	int delay;

	attempts++;
	counters[C_HOOK_FAILURES]++;
	if (++failing >= ALERT_FAILURES)
		(void)alert_raise(ALERT_HOOK, "crm",
		    "The CRM hook %s failed %d times in a row; the last: %s.", conf->hook[0],
		    failing, why);
	if (attempts > conf->hook_retries) {
		log_warnx("hook %s: conversation %" PRId64 ": %s; giving up after %d attempts",
		    conf->hook[0], conv, why, attempts);
	} else {
		delay = fixed_backoff > 0 ? fixed_backoff : hook_backoff(attempts);
		next = respa_now() + delay;
		log_warnx("hook %s: conversation %" PRId64 ": %s (attempt %d of %d); trying again "
		          "in %d s",
		    conf->hook[0], conv, why, attempts, conf->hook_retries + 1, delay);
	}
	(void)store_hook_failed(conv, attempts, next, why);
}

/* Starts the program for one delivery; a failure to start counts as a failed attempt. */
static void
start(int64_t conv, int attempts)
{
	struct hook_run *r = &runs[nruns];
	char why[160];

	memset(r, 0, sizeof(*r));
	if ((r->record = store_record(conv)) == NULL) {
		failed(conv, attempts, "cannot read the conversation's record");
		return;
	}
	if ((r->pid = proc_spawn(conf->hook, &r->fd, why, sizeof(why))) == -1) {
		free(r->record);
		failed(conv, attempts, why);
		return;
	}
	r->conv = conv;
	r->attempts = attempts;
	r->len = strlen(r->record);
	r->deadline = respa_now_ms() + (int64_t)conf->hook_timeout * 1000;
	nruns++;
	log_debug("hook %s: conversation %" PRId64 " (pid %ld)", conf->hook[0], conv, (long)r->pid);
}

/* The program of r ended with status: the delivery is done, or it failed. */
static void
ended(struct hook_run *r, int status)
{
	char why[160];

	proc_failure(status, r->killed, "hook_timeout", conf->hook_timeout, why, sizeof(why));
	if (*why == '\0') {
		log_info("hook %s: conversation %" PRId64 " delivered", conf->hook[0], r->conv);
		failing = 0;
		if (!r->again) /* else its row stays due: the newer record goes next */
			(void)store_hook_done(r->conv);
		return;
	}
	failed(r->conv, r->attempts, why);
}

static void
run_free(struct hook_run *r)
{
	if (r->fd != -1)
		close(r->fd);
	free(r->record);
	*r = runs[--nruns];
}

/* Feeds, reaps and times out the running programs. */
static void
poll_runs(void)
{
	int64_t now = respa_now_ms();
	size_t i = 0;
	int status;
	pid_t pid;

	while (i < nruns) {
		struct hook_run *r = &runs[i];

		proc_feed(&r->fd, r->record, r->len, &r->off);
		pid = waitpid(r->pid, &status, WNOHANG);
		if (pid == r->pid || (pid == -1 && errno == ECHILD)) {
			if (pid == r->pid)
				ended(r, status);
			else
				failed(r->conv, r->attempts, "its exit status was lost");
			run_free(r);
			continue;
		}
		if (!r->killed && now >= r->deadline) {
			proc_kill(r->pid);
			r->killed = 1;
		}
		i++;
	}
}

/* Starts what is due, as far as there is room. */
static void
start_due(void)
{
	int64_t convs[HOOK_RUNNING_MAX * 2 + 16];
	int attempts[HOOK_RUNNING_MAX * 2 + 16], n, i;

	if (nruns == HOOK_RUNNING_MAX)
		return;
	n = store_hook_due(respa_now(), convs, attempts, (int)(sizeof(convs) / sizeof(convs[0])));
	for (i = 0; i < n && nruns < HOOK_RUNNING_MAX; i++)
		if (!busy(convs[i]))
			start(convs[i], attempts[i]);
}

static void
hook_timer_fn(void *arg)
{
	time_t next;

	(void)arg;
	poll_runs();
	prune_fresh();
	start_due();
	if (nruns > 0)
		timer_in(&hook_timer, HOOK_POLL);
	else if (nfresh > 0)
		timer_in(&hook_timer, 0.01); /* the next pass: after this one's commit */
	else if ((next = store_hook_next()) > 0)
		timer_at(&hook_timer, (int64_t)next * 1000);
}

/* Stops: running programs are killed; their deliveries run again at the next start. */
void
hook_free(void)
{
	size_t n = nruns;

	timer_cancel(&hook_timer);
	while (nruns > 0) {
		struct hook_run *r = &runs[0];

		proc_kill(r->pid);
		while (waitpid(r->pid, NULL, 0) == -1 && errno == EINTR)
			;
		run_free(r);
	}
	if (n > 0)
		log_info("hook: %zu program%s stopped; delivered again at the next start", n,
		    n == 1 ? "" : "s");
	free(fresh);
	fresh = NULL;
	nfresh = fresh_cap = 0;
}
