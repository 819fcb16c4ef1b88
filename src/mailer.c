/*
 * The mail outbox, sent by the [mail] sendmail program (`/usr/sbin/sendmail -t -i`: the
 * recipients come from the headers). Each mail is composed and put in mail_outbox in the
 * transaction of what caused it, so a restart loses none. The program runs beside the loop
 * as the [crm] hook's does (proc.c): the message fed through a non-blocking pipe, the child
 * reaped (WNOHANG) from a polling timer, killed after [mail] timeout, at most
 * MAIL_RUNNING_MAX at once. A failure (not executable, non-zero exit, a signal, the timeout;
 * msmtp exits non-zero while its SMTP server is down) is logged, kept as the mail's
 * last_error for the outbox command, and retried after 10 s, 1 min, 5 min, 30 min, then
 * hourly, [mail] retries times.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "respa.h"

#define MAIL_RUNNING_MAX 2 /* programs at once */
#define MAIL_POLL 0.05     /* seconds between looks at running programs */

struct mail_run {
	int64_t id;
	int attempts; /* failed attempts before this one */
	pid_t pid;
	int fd;
	char *message;
	size_t len, off;
	int64_t deadline; /* ms */
	int killed;
};

/* A mail queued in the batch still open: it waits until that batch is committed. */
struct mail_fresh {
	int64_t id;
	uint64_t batch;
};

static struct config *conf;
static int failing; /* failed runs in a row: supervisors hear at ALERT_FAILURES */
static struct mail_run runs[MAIL_RUNNING_MAX];
static size_t nruns;
static struct mail_fresh *fresh;
static size_t nfresh, fresh_cap;
static struct timer mail_timer;
static int fixed_backoff; /* RESPA_MAIL_BACKOFF, for tests: seconds before every retry */

static void mail_timer_fn(void *);

void
mailer_init(struct config *c)
{
	const char *env = getenv("RESPA_MAIL_BACKOFF");

	conf = c;
	fixed_backoff = env ? atoi(env) : 0;
	timer_init(&mail_timer, mail_timer_fn, NULL);
	if (mailer_enabled())
		timer_in(&mail_timer, 0); /* what waited across a restart */
}

/* After a reload: mail turned on sends what waits. */
void
mailer_reloaded(void)
{
	if (mailer_enabled() && !timer_armed(&mail_timer))
		timer_in(&mail_timer, 0);
}

int
mailer_enabled(void)
{
	return conf && conf->mail_from && conf->sendmail;
}

int
mailer_handoff_always(void)
{
	return conf && conf->handoff_mail_always;
}

static void
poll_soon(double seconds)
{
	int64_t at = respa_now_ms() + (int64_t)(seconds * 1000);

	if (!timer_armed(&mail_timer) || mail_timer.at > at)
		timer_at(&mail_timer, at);
}

/*
 * A mail to `to` (display name to_name, may be NULL), from [mail] from under from_name
 * when that has no name of its own: composed and queued in the pass's batch.
 */
static int64_t
queue_mail(const char *kind, int64_t conv, int64_t contact, const char *to, const char *to_name,
    const char *from_name, const char *subject, const char *body, const struct mail *file)
{
	unsigned char rnd[16];
	char msgid[64], *message;
	struct mail m;
	int64_t id;
	size_t i;

	if (!mailer_enabled())
		return -1;
	if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
		log_warnx("mail: no random bytes for a Message-ID");
		return -1;
	}
	for (i = 0; i < sizeof(rnd); i++)
		snprintf(msgid + 2 * i, 3, "%02x", rnd[i]);
	memset(&m, 0, sizeof(m));
	m.from_addr = conf->mail_from;
	m.from_name = *conf->mail_from_name ? conf->mail_from_name : from_name;
	m.to_addr = to;
	m.to_name = to_name;
	m.reply_to = conf->mail_reply_to;
	m.subject = subject;
	m.body = body;
	m.date = respa_now();
	m.msgid = msgid;
	if (file) {
		m.attach = file->attach;
		m.attach_name = file->attach_name;
		m.attach_type = file->attach_type;
		m.attach_len = file->attach_len;
	}
	if ((message = mail_compose(&m)) == NULL) {
		log_warnx("mail: not sent to \"%s\": not a plain email address", to);
		return -1;
	}
	id = store_mail_add(kind, conv, contact, to, subject, message, respa_now());
	free(message);
	if (id == -1)
		return -1;
	if (nfresh == fresh_cap) {
		fresh_cap = fresh_cap ? fresh_cap * 2 : 16;
		fresh = xrealloc(fresh, fresh_cap * sizeof(*fresh));
	}
	fresh[nfresh].id = id;
	fresh[nfresh++].batch = store_batch_id();
	log_info("mail %" PRId64 " (%s) queued for %s", id, kind, to);
	poll_soon(0);
	return id;
}

int64_t
mailer_queue(const char *kind, int64_t conv, int64_t contact, const char *to, const char *to_name,
    const char *from_name, const char *subject, const char *body)
{
	return queue_mail(kind, conv, contact, to, to_name, from_name, subject, body, NULL);
}

/* The same with a file attached: file's attach, attach_name, attach_type and attach_len. */
int64_t
mailer_queue_file(const char *kind, const char *to, const char *to_name, const char *subject,
    const char *body, const struct mail *file)
{
	return queue_mail(kind, 0, 0, to, to_name, NULL, subject, body, file);
}

/* Forgets mails whose batch has ended: committed, or rolled back with its row. */
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
busy(int64_t id)
{
	size_t i;

	for (i = 0; i < nruns; i++)
		if (runs[i].id == id)
			return 1;
	for (i = 0; i < nfresh; i++)
		if (fresh[i].id == id)
			return 1;
	return 0;
}

static void
failed(int64_t id, int attempts, const char *why)
{
	if (++failing >= ALERT_FAILURES)
		(void)alert_raise(ALERT_MAIL, "outbox",
		    "Sending mail with %s failed %d times in a row; the last: %s.",
		    conf->sendmail[0], failing, why);
	time_t next = 0;
	int delay;

	attempts++;
	if (attempts > conf->mail_retries) {
		log_warnx("mail %" PRId64 ": %s: %s; giving up after %d attempts", id,
		    conf->sendmail[0], why, attempts);
	} else {
		delay = fixed_backoff > 0 ? fixed_backoff : hook_backoff(attempts);
		next = respa_now() + delay;
		log_warnx("mail %" PRId64 ": %s: %s (attempt %d of %d); trying again in %d s", id,
		    conf->sendmail[0], why, attempts, conf->mail_retries + 1, delay);
	}
	(void)store_mail_failed(id, attempts, next, why);
}

static void
start(int64_t id, int attempts)
{
	struct mail_run *r = &runs[nruns];
	char why[160];

	memset(r, 0, sizeof(*r));
	if ((r->message = store_mail_message(id)) == NULL)
		return; /* sent and deleted meanwhile, or erased */
	if ((r->pid = proc_spawn(conf->sendmail, &r->fd, why, sizeof(why))) == -1) {
		free(r->message);
		failed(id, attempts, why);
		return;
	}
	r->id = id;
	r->attempts = attempts;
	r->len = strlen(r->message);
	r->deadline = respa_now_ms() + (int64_t)conf->mail_timeout * 1000;
	nruns++;
	log_debug("mail %" PRId64 ": %s (pid %ld)", id, conf->sendmail[0], (long)r->pid);
}

static void
ended(struct mail_run *r, int status)
{
	char why[160];

	proc_failure(status, r->killed, "[mail] timeout", conf->mail_timeout, why, sizeof(why));
	if (*why) {
		failed(r->id, r->attempts, why);
		return;
	}
	log_info("mail %" PRId64 " sent", r->id);
	failing = 0;
	(void)store_mail_done(r->id);
}

static void
run_free(struct mail_run *r)
{
	if (r->fd != -1)
		close(r->fd);
	free(r->message);
	*r = runs[--nruns];
}

static void
poll_runs(void)
{
	int64_t now = respa_now_ms();
	size_t i = 0;
	int status;
	pid_t pid;

	while (i < nruns) {
		struct mail_run *r = &runs[i];

		proc_feed(&r->fd, r->message, r->len, &r->off);
		pid = waitpid(r->pid, &status, WNOHANG);
		if (pid == r->pid || (pid == -1 && errno == ECHILD)) {
			if (pid == r->pid)
				ended(r, status);
			else
				failed(r->id, r->attempts, "its exit status was lost");
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

static void
start_due(void)
{
	int64_t ids[MAIL_RUNNING_MAX * 2 + 16];
	int attempts[MAIL_RUNNING_MAX * 2 + 16], n, i;

	if (nruns == MAIL_RUNNING_MAX)
		return;
	n = store_mail_due(respa_now(), ids, attempts, (int)(sizeof(ids) / sizeof(ids[0])));
	for (i = 0; i < n && nruns < MAIL_RUNNING_MAX; i++)
		if (!busy(ids[i]))
			start(ids[i], attempts[i]);
}

static void
mail_timer_fn(void *arg)
{
	time_t next;

	(void)arg;
	poll_runs();
	prune_fresh();
	start_due();
	if (nruns > 0)
		timer_in(&mail_timer, MAIL_POLL);
	else if (nfresh > 0)
		timer_in(&mail_timer, 0.01); /* the next pass: after this one's commit */
	else if ((next = store_mail_next()) > 0)
		timer_at(&mail_timer, (int64_t)next * 1000);
}

/* Stops: running programs are killed; their mails go again at the next start. */
void
mailer_free(void)
{
	size_t n = nruns;

	timer_cancel(&mail_timer);
	while (nruns > 0) {
		struct mail_run *r = &runs[0];

		proc_kill(r->pid);
		while (waitpid(r->pid, NULL, 0) == -1 && errno == EINTR)
			;
		run_free(r);
	}
	if (n > 0)
		log_info("mail: %zu program%s stopped; sent again at the next start", n,
		    n == 1 ? "" : "s");
	free(fresh);
	fresh = NULL;
	nfresh = fresh_cap = 0;
	conf = NULL;
}
