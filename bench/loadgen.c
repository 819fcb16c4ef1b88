/*
 * bench/loadgen: plays the XMPP server's side of XEP-0114 on loopback and drives respa, or
 * bench/echo (the libstrophe ceiling), as fast as it reads. It starts the program under test
 * itself, checks every stanza that comes back, and stops what it started by its pid.
 *
 * What it measures (see bench/README):
 *   relay    respa: agents come online, N conversations open (assignments/s), then M messages
 *            both ways at full speed (a window of W outstanding) and paced at half that rate;
 *            latency per message from send to relayed copy; resident memory per conversation.
 *            echo: the same messages to an echoing component.
 *   startup  time from exec until respa is ready with a filled database.
 *   stall    how long one pathological stanza (256 KiB of newlines, 64 KiB of &amp;) stops
 *            the target's loop: the time until a tiny message sent right after it comes back.
 *
 * Any mismatch (a lost, duplicated or misaddressed message, an unexpected error) ends the run
 * with a message and exit status 1.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <expat.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sqlite3.h>

#define COMPONENT "support.localhost"
#define QUEUE_JID "support@" COMPONENT
#define BENCH_JID "bench@localhost/b" /* sends the barrier pings */
#define GREETING "bench greeting"
#define ASSIGNED "bench assigned"
#define QUEUED "bench queued"
#define MAX_CAPACITY 100 /* respa's limit on [agent] capacity */

#define RBUF_SIZE (256 * 1024)
#define OUT_HIGH (256 * 1024) /* stop producing while this much waits to be written */
#define READS_PER_PASS 8      /* then produce again, so sending never starves */
#define STOP_WAIT_S 10
#define NS 1000000000ULL

enum kind { T_ECHO, T_RESPA, NKINDS };
static const char *const kind_names[NKINDS] = { "echo", "respa" };

/* Bytes waiting to be written: data is p[off..len). Also used for text. */
struct buf {
	char *p;
	size_t off, len, cap;
};

/* The stanza being parsed; only what the checks need. */
struct stanza {
	char name[32], from[320], to[320], type[16], id[64], errcond[64];
	int has_delay, is_error, in_body, in_error;
	struct buf text; /* the <body/>, or the handshake's digest */
};

#define GOT_HEADER 1u
#define GOT_REPLAY 2u
#define GOT_GREETING 4u
#define GOT_JOINED 8u
#define GOT_ALL 15u

/* One customer's conversation as respa showed it to us; customers are cust1..custN. */
struct conv {
	int64_t cid;  /* c-<cid>@support.localhost, respa's conversation id */
	int agent;    /* agent<agent>@localhost it was given to; 0 while not assigned */
	unsigned got; /* GOT_* */
	uint64_t sent_ns, assign_ns;
};

/* One relay run: n messages, a window of outstanding ones, optionally paced. */
struct load {
	uint64_t n, sent, got, window;
	double rate; /* messages/s; 0: as fast as the window allows */
	uint64_t t0, t_last;
	uint64_t *send_ns, *lat_ns; /* per sequence number; lat 0: not relayed yet */
	uint64_t got_dir[2];        /* 0: customer -> agent (echo: all), 1: agent -> customer */
};

struct stall_case {
	const char *name, *unit; /* the body is unit repeated */
	size_t reps;
};
static const struct stall_case stall_cases[] = {
	{ "newlines-256KiB", "\n", 262144 },
	{ "amp-64KiB", "&amp;", 65536 }, /* 64 KiB once decoded, 320 KiB on the wire */
	{ "letters-256KiB", "x", 262144 }, /* the control: same size, one text chunk per read */
};
#define NSTALL (sizeof(stall_cases) / sizeof(stall_cases[0]))

/* What the stall test waits for: the tiny message, and the answer to the big one. */
struct stall {
	unsigned tiny_sent, tiny_got;
	uint64_t t_tiny, t_answer;
	char answer[64];
};

/* One started program and its link. */
struct session {
	enum kind kind;
	pid_t pid;
	int fd;
	XML_Parser xp;
	int depth;
	struct stanza st;
	struct buf out;
	char stream_id[33], log[PATH_MAX];
	int handshaken, closed, stopping;
	uint64_t t_exec, t_accept, t_handshake, t_ready, t_drained, nstanzas;
	int agents, probes, subscribes;
	unsigned char *probed;
	unsigned barrier_sent, barrier_got;
	struct conv *convs; /* [1..nconvs] */
	int nconvs, opens_sent, opens_done, last_header;
	uint64_t t_open0, t_open_last;
	struct load *load;
	struct stall *stall;
};

struct load_result {
	int ran;
	uint64_t n, window;
	double paced, secs, rate, rate_dir[2];
	double mean_us, p50_us, p90_us, p99_us, p999_us, max_us;
	double target_cpu_s, target_sys_s, self_cpu_s;
};

struct stall_result {
	size_t wire_bytes, body_bytes;
	double write_ms, answer_ms, tiny_ms;
	char answer[64];
};

struct target_result {
	int ran, stall_ran, exit_status;
	int convs;
	double ready_s; /* exec until the handshake (echo) or the last agent's probe (respa) */
	double open_secs, open_rate, open_p50_us, open_p99_us, open_max_us;
	long rss_start, rss_before_open, rss_after_open, rss_end; /* KiB */
	double kib_per_conv;
	struct load_result full, half;
	double idle_tiny_us;
	struct stall_result stall[NSTALL];
};

struct startup_result {
	int ran, agents, convs;
	uint64_t messages;
	double fill_s, empty_ready_s;
	long long db_bytes;
	double accept_s, handshake_s, ready_s;
	long rss_kib;
};

struct opts {
	int agents, convs, body, startup_convs;
	uint64_t messages, window, startup_messages;
	double rate, idle_timeout, phase_timeout;
	int relay, compare, startup, stall, tiny, keep, quickack, verbose;
	enum kind target;
	const char *respa, *echo, *json;
};

struct run {
	struct opts o;
	char dir[PATH_MAX], conf[PATH_MAX], db[PATH_MAX];
	char junk[8][PATH_MAX]; /* every file we may create, removed at exit */
	char secret[33];
	int lfd, port;
	struct session *s;
	uint64_t wake_ns; /* when the producer wants to run again (pacing) */
	char rbuf[RBUF_SIZE];
	int nproc;
	char model[128], kernel[128], loadavg[64];
	struct target_result res[NKINDS];
	struct startup_result startup;
};

/* The signal handler and atexit() need to find what we started. */
static struct run *the_run;

typedef void (*produce_fn)(struct run *, uint64_t now);
typedef int (*done_fn)(const struct run *);

static void die(struct run *, const char *, ...) __attribute__((format(printf, 2, 3), noreturn));

/* ---- small helpers ---- */

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

static void *
xrealloc(void *p, size_t n)
{
	if ((p = realloc(p, n ? n : 1)) == NULL) {
		fprintf(stderr, "loadgen: out of memory\n");
		exit(1);
	}
	return p;
}

static void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	if (p == NULL) {
		fprintf(stderr, "loadgen: out of memory\n");
		exit(1);
	}
	return p;
}

static void
buf_reserve(struct buf *b, size_t more)
{
	size_t cap;

	if (b->off == b->len)
		b->off = b->len = 0;
	if (b->len + more <= b->cap)
		return;
	if (b->off) { /* reclaim what was written before growing */
		memmove(b->p, b->p + b->off, b->len - b->off);
		b->len -= b->off;
		b->off = 0;
		if (b->len + more <= b->cap)
			return;
	}
	for (cap = b->cap ? b->cap : 4096; cap < b->len + more; cap *= 2)
		;
	b->p = xrealloc(b->p, cap);
	b->cap = cap;
}

static void
buf_add(struct buf *b, const char *s, size_t n)
{
	buf_reserve(b, n);
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void buf_printf(struct buf *, const char *, ...) __attribute__((format(printf, 2, 3)));

static void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	buf_reserve(b, 512);
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if ((size_t)n >= b->cap - b->len) {
		buf_reserve(b, (size_t)n + 1);
		va_start(ap, fmt);
		vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

static size_t
buf_pending(const struct buf *b)
{
	return b->len - b->off;
}

/* NUL-terminated text; b->off is always 0 for text buffers. */
static const char *
buf_cstr(struct buf *b)
{
	buf_reserve(b, 1);
	b->p[b->len] = '\0';
	return b->p;
}

static void
copy_str(char *dst, size_t n, const char *src)
{
	size_t len = strlen(src);

	if (len >= n)
		len = n - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

/* s is exactly prefix, a decimal number, suffix: 0 and *out; otherwise -1. */
static int
parse_indexed(const char *s, const char *prefix, const char *suffix, int64_t *out)
{
	size_t pl = strlen(prefix);
	char *end;

	if (strncmp(s, prefix, pl) != 0 || !isdigit((unsigned char)s[pl]))
		return -1;
	errno = 0;
	*out = strtoll(s + pl, &end, 10);
	if (errno || strcmp(end, suffix) != 0)
		return -1;
	return 0;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of a sorted array, in microseconds. */
static double
pct_us(const uint64_t *v, size_t n, double q)
{
	size_t i = (size_t)ceil(q * (double)n);

	if (n == 0)
		return 0;
	i = i ? i - 1 : 0;
	return (double)v[i < n ? i : n - 1] / 1e3;
}

/* ---- the program under test: start, watch, stop ---- */

static long
proc_rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/*
 * User + system CPU seconds of a process, from /proc/PID/stat (clock-tick resolution); the
 * system part alone in *sys when sys is not NULL.
 */
static double
proc_cpu_s(pid_t pid, double *sys)
{
	char path[64], line[1024], *p;
	unsigned long ut = 0, st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	p = fgets(line, sizeof(line), f);
	fclose(f);
	if (p == NULL || (p = strrchr(line, ')')) == NULL)
		return 0;
	/* after "pid (comm)": state ppid pgrp session tty tpgid flags minflt cminflt majflt
	 * cmajflt utime stime */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return 0;
	if (sys)
		*sys = (double)st / (double)sysconf(_SC_CLK_TCK);
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double
self_cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* Waits up to secs for pid; its wait status, or -1 when it is still running. */
static int
wait_for(pid_t pid, double secs)
{
	struct timespec ten_ms = { 0, 10000000 };
	int status, i, n = (int)(secs * 100);

	for (i = 0; i <= n; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
		nanosleep(&ten_ms, NULL); /* async-signal-safe, unlike most sleeps */
	}
	return -1;
}

/* SIGTERM, then SIGKILL if it has not gone after secs. Safe in a signal handler. */
static int
terminate(pid_t pid, double secs)
{
	int status;

	kill(pid, SIGTERM);
	if ((status = wait_for(pid, secs)) != -1)
		return status;
	kill(pid, SIGKILL);
	return wait_for(pid, 5);
}

static void
remove_junk(struct run *r)
{
	size_t i;

	if (r->o.keep || r->dir[0] == '\0')
		return;
	for (i = 0; i < sizeof(r->junk) / sizeof(r->junk[0]); i++)
		if (r->junk[i][0])
			unlink(r->junk[i]);
	rmdir(r->dir);
}

static void
cleanup_at_exit(void)
{
	struct run *r = the_run;

	if (r == NULL)
		return;
	if (r->s && r->s->pid > 0) {
		if (r->s->fd > 0)
			close(r->s->fd); /* end of stream: it need not wait for ours */
		terminate(r->s->pid, 5);
		r->s->pid = 0;
	}
	remove_junk(r);
}

static void
on_signal(int sig)
{
	struct run *r = the_run;

	if (r && r->s && r->s->pid > 0) {
		if (r->s->fd > 0)
			close(r->s->fd);
		terminate(r->s->pid, 2);
	}
	if (r)
		remove_junk(r);
	_exit(128 + sig);
}

/* The end of the target's log: why it failed is usually there. */
static void
print_log_tail(const char *path)
{
	char buf[2048];
	ssize_t n;
	off_t size;
	int fd;

	if (path[0] == '\0' || (fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return;
	size = lseek(fd, 0, SEEK_END);
	lseek(fd, size > (off_t)sizeof(buf) - 1 ? size - (off_t)sizeof(buf) + 1 : 0, SEEK_SET);
	if ((n = read(fd, buf, sizeof(buf) - 1)) > 0) {
		buf[n] = '\0';
		fprintf(stderr, "--- end of %s ---\n%s%s--- end ---\n", path, buf,
		    buf[n - 1] == '\n' ? "" : "\n");
	}
	close(fd);
}

static void
die(struct run *r, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "loadgen: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (r && r->s)
		print_log_tail(r->s->log);
	exit(1);
}

static void
spawn(struct run *r, struct session *s, char *const argv[])
{
	int logfd = open(s->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (logfd == -1)
		die(r, "%s: %s", s->log, strerror(errno));
	s->t_exec = now_ns();
	if ((s->pid = fork()) == -1)
		die(r, "fork: %s", strerror(errno));
	if (s->pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		dup2(null, 0);
		dup2(logfd, 1);
		dup2(logfd, 2);
		execv(argv[0], argv);
		dprintf(2, "loadgen: exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(logfd);
	if (r->o.verbose)
		fprintf(stderr, "loadgen: started %s, pid %d, log %s\n", argv[0], (int)s->pid, s->log);
}

static void
describe_status(char *buf, size_t n, int status)
{
	if (status == -1)
		snprintf(buf, n, "still running");
	else if (WIFEXITED(status))
		snprintf(buf, n, "exit status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, n, "killed by signal %d", WTERMSIG(status));
	else
		snprintf(buf, n, "wait status %d", status);
}

/* The target died on its own: say how, then stop. */
static void
check_alive(struct run *r, struct session *s)
{
	char how[64];
	int status;

	if (s->pid > 0 && waitpid(s->pid, &status, WNOHANG) == s->pid) {
		s->pid = 0;
		describe_status(how, sizeof(how), status);
		die(r, "%s ended unexpectedly: %s", kind_names[s->kind], how);
	}
}

/* ---- the socket ---- */

static void
listen_loopback(struct run *r)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);

	if ((r->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		die(r, "socket: %s", strerror(errno));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(r->lfd, (struct sockaddr *)&sa, sizeof(sa)) == -1 || listen(r->lfd, 4) == -1 ||
	    getsockname(r->lfd, (struct sockaddr *)&sa, &len) == -1)
		die(r, "listen on 127.0.0.1: %s", strerror(errno));
	r->port = ntohs(sa.sin_port);
}

static void
accept_target(struct run *r, struct session *s)
{
	uint64_t deadline = now_ns() + (uint64_t)(r->o.idle_timeout * 1e9);
	struct pollfd p = { r->lfd, POLLIN, 0 };
	int one = 1;

	for (;;) {
		check_alive(r, s);
		if (now_ns() > deadline)
			die(r, "%s did not connect within %.0f s", kind_names[s->kind],
			    r->o.idle_timeout);
		if (poll(&p, 1, 50) == 1)
			break;
	}
	if ((s->fd = accept4(r->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) == -1)
		die(r, "accept: %s", strerror(errno));
	s->t_accept = now_ns();
	/* latency is what we measure: never let Nagle hold a small stanza back */
	setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static void
flush_out(struct run *r, struct session *s)
{
	ssize_t n;

	while (buf_pending(&s->out)) {
		n = write(s->fd, s->out.p + s->out.off, buf_pending(&s->out));
		if (n > 0) {
			s->out.off += (size_t)n;
			if (buf_pending(&s->out) == 0)
				s->t_drained = now_ns(); /* the stall test's "written" */
			continue;
		}
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (s->stopping)
			return;
		check_alive(r, s);
		die(r, "writing to %s: %s", kind_names[s->kind], n == 0 ? "no progress" :
		    strerror(errno));
	}
}

static void
read_in(struct run *r, struct session *s)
{
	ssize_t n;
	int i, one = 1;

	for (i = 0; i < READS_PER_PASS && !s->closed; i++) {
		n = read(s->fd, r->rbuf, sizeof(r->rbuf));
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			s->closed = 1;
			if (s->stopping)
				return;
			check_alive(r, s);
			die(r, "%s closed the connection%s%s", kind_names[s->kind], n ? ": " : "",
			    n ? strerror(errno) : "");
		}
		if (r->o.quickack) /* undone by the kernel after a while: set it again each time */
			setsockopt(s->fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
		if (XML_Parse(s->xp, r->rbuf, (int)n, 0) == XML_STATUS_ERROR)
			die(r, "%s sent malformed XML: %s at line %lu", kind_names[s->kind],
			    XML_ErrorString(XML_GetErrorCode(s->xp)),
			    (unsigned long)XML_GetCurrentLineNumber(s->xp));
	}
}

/* Waits for input (and for room to write, if anything waits) until `until`. */
static void
wait_io(struct session *s, uint64_t until)
{
	struct pollfd p = { s->fd, POLLIN, 0 };
	uint64_t now = now_ns();
	struct timespec ts = { 0, 0 };

	if (buf_pending(&s->out))
		p.events |= POLLOUT;
	if (until > now) {
		ts.tv_sec = (time_t)((until - now) / NS);
		ts.tv_nsec = (long)((until - now) % NS);
	}
	(void)ppoll(&p, 1, &ts, NULL);
}

static void
progress(const struct session *s, char *buf, size_t n)
{
	const struct load *L = s->load;

	if (L)
		snprintf(buf, n, "%" PRIu64 " of %" PRIu64 " messages sent, %" PRIu64 " relayed",
		    L->sent, L->n, L->got);
	else
		snprintf(buf, n, "%d probes, %d of %d conversations opened (%d sent), barrier %u/%u",
		    s->probes, s->opens_done, s->nconvs, s->opens_sent, s->barrier_got,
		    s->barrier_sent);
}

/*
 * The one loop: produce, write, stop when done, wait, read and check. Gives up when nothing
 * arrives for idle_timeout or the phase runs past phase_timeout: returns -1 when soft, else
 * dies saying what was missing.
 */
static int
pump(struct run *r, produce_fn produce, done_fn done, const char *what, int soft)
{
	struct session *s = r->s;
	uint64_t start = now_ns(), seen = s->nstanzas, idle_since = start, now, until;
	uint64_t idle = (uint64_t)(r->o.idle_timeout * 1e9);
	uint64_t cap = start + (uint64_t)(r->o.phase_timeout * 1e9);
	char why[160];

	for (;;) {
		now = now_ns();
		r->wake_ns = UINT64_MAX;
		if (produce)
			produce(r, now);
		flush_out(r, s);
		if (done(r)) {
			if (r->o.verbose)
				fprintf(stderr, "loadgen: %s: %.3f s\n", what,
				    (double)(now_ns() - start) / 1e9);
			return 0;
		}
		if (s->nstanzas != seen) {
			seen = s->nstanzas;
			idle_since = now;
		}
		if (now - idle_since > idle || now > cap) {
			if (soft)
				return -1;
			progress(s, why, sizeof(why));
			die(r, "%s: %s after %.1f s (%s)", what, now > cap ? "phase time limit" :
			    "nothing more arrived", (double)(now - start) / 1e9, why);
		}
		until = idle_since + idle;
		if (cap < until)
			until = cap;
		if (r->wake_ns < until)
			until = r->wake_ns;
		wait_io(s, until);
		read_in(r, s);
	}
}

/* ---- what the target sends ---- */

static void on_stanza(struct run *, struct session *, struct stanza *);

static void
stanza_begin(struct stanza *st, const char *name, const char **atts)
{
	const char **a;

	copy_str(st->name, sizeof(st->name), name);
	st->from[0] = st->to[0] = st->type[0] = st->id[0] = st->errcond[0] = '\0';
	st->has_delay = st->is_error = st->in_body = st->in_error = 0;
	st->text.off = st->text.len = 0;
	for (a = atts; a[0]; a += 2) {
		if (strcmp(a[0], "from") == 0)
			copy_str(st->from, sizeof(st->from), a[1]);
		else if (strcmp(a[0], "to") == 0)
			copy_str(st->to, sizeof(st->to), a[1]);
		else if (strcmp(a[0], "type") == 0)
			copy_str(st->type, sizeof(st->type), a[1]);
		else if (strcmp(a[0], "id") == 0)
			copy_str(st->id, sizeof(st->id), a[1]);
	}
}

/* The target opened its stream: answer with ours, carrying the id the handshake hashes. */
static void
stream_header(struct run *r, struct session *s, const char *name)
{
	unsigned char raw[16];
	size_t i;

	if (strcmp(name, "stream:stream") != 0)
		die(r, "%s opened with <%s>, not <stream:stream>", kind_names[s->kind], name);
	RAND_bytes(raw, sizeof(raw));
	for (i = 0; i < sizeof(raw); i++)
		snprintf(s->stream_id + 2 * i, 3, "%02x", raw[i]);
	buf_printf(&s->out, "<?xml version='1.0'?><stream:stream "
	    "xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:component:accept' "
	    "from='%s' id='%s'>", COMPONENT, s->stream_id);
}

static void XMLCALL
on_start(void *arg, const XML_Char *name, const XML_Char **atts)
{
	struct run *r = arg;
	struct session *s = r->s;
	struct stanza *st = &s->st;
	int d = s->depth++;

	if (d == 0)
		stream_header(r, s, name);
	else if (d == 1)
		stanza_begin(st, name, atts);
	else if (d == 2 && strcmp(name, "body") == 0)
		st->in_body = 1;
	else if (d == 2 && strcmp(name, "delay") == 0)
		st->has_delay = 1;
	else if (d == 2 && strcmp(name, "error") == 0)
		st->is_error = st->in_error = 1;
	else if (d == 2 && strcmp(st->name, "stream:error") == 0 && !st->errcond[0])
		copy_str(st->errcond, sizeof(st->errcond), name);
	else if (d == 3 && st->in_error && strcmp(name, "text") != 0 && !st->errcond[0])
		copy_str(st->errcond, sizeof(st->errcond), name);
}

static void XMLCALL
on_end(void *arg, const XML_Char *name)
{
	struct run *r = arg;
	struct session *s = r->s;
	int d = --s->depth;

	(void)name;
	if (d == 0) { /* </stream:stream> */
		s->closed = 1;
		if (!s->stopping)
			die(r, "%s closed its stream", kind_names[s->kind]);
	} else if (d == 1)
		on_stanza(r, s, &s->st);
	else if (d == 2)
		s->st.in_body = s->st.in_error = 0;
}

static void XMLCALL
on_text(void *arg, const XML_Char *text, int len)
{
	struct run *r = arg;
	struct session *s = r->s;
	struct stanza *st = &s->st;

	if ((s->depth == 3 && st->in_body) || (s->depth == 2 && !s->handshaken))
		buf_add(&st->text, text, (size_t)len);
}

/* <handshake>hex(SHA1(stream id + secret))</handshake>, XEP-0114 section 3. */
static void
check_handshake(struct run *r, struct session *s, struct stanza *st)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	char want[2 * EVP_MAX_MD_SIZE + 1], in[256];
	unsigned int mdlen, i;

	snprintf(in, sizeof(in), "%s%s", s->stream_id, r->secret);
	if (strcmp(st->name, "handshake") != 0)
		die(r, "%s sent <%s> before the handshake", kind_names[s->kind], st->name);
	if (!EVP_Digest(in, strlen(in), md, &mdlen, EVP_sha1(), NULL))
		die(r, "SHA-1 failed");
	for (i = 0; i < mdlen; i++)
		snprintf(want + 2 * i, 3, "%02x", md[i]);
	if (strcasecmp(buf_cstr(&st->text), want) != 0)
		die(r, "%s: wrong handshake \"%.64s\" (want %s)", kind_names[s->kind],
		    buf_cstr(&st->text), want);
	buf_printf(&s->out, "<handshake/>");
	s->handshaken = 1;
	s->t_handshake = now_ns();
}

/* respa probes (and asks to subscribe to) each agent at connect: every agent is online. */
static void
on_presence(struct run *r, struct session *s, struct stanza *st)
{
	int64_t k;

	/* a customer who writes is shown the queue's state once: the client side's business */
	if (s->kind == T_RESPA && strcmp(st->from, QUEUE_JID) == 0 &&
	    (*st->type == '\0' || strcmp(st->type, "unavailable") == 0))
		return;
	/* a chat's address is online to its agent while the chat is theirs: the client's business */
	if (s->kind == T_RESPA && strncmp(st->from, "c-", 2) == 0 &&
	    (*st->type == '\0' || strcmp(st->type, "unavailable") == 0))
		return;
	if (s->kind != T_RESPA || strcmp(st->from, COMPONENT) != 0 ||
	    parse_indexed(st->to, "agent", "@localhost", &k) == -1 || k < 1 || k > s->agents)
		die(r, "unexpected presence from %s to %s (type %s)", st->from, st->to, st->type);
	if (strcmp(st->type, "subscribe") == 0) {
		s->subscribes++;
		return;
	}
	if (strcmp(st->type, "probe") != 0)
		die(r, "unexpected presence type \"%s\" to %s", st->type, st->to);
	if (s->probed[k]++)
		die(r, "agent%" PRId64 " probed twice", k);
	buf_printf(&s->out, "<presence from='agent%" PRId64 "@localhost/bench' to='%s'/>", k,
	    COMPONENT);
	if (++s->probes == s->agents)
		s->t_ready = now_ns();
}

static void
on_iq(struct run *r, struct session *s, struct stanza *st)
{
	unsigned n;

	if (strcmp(st->type, "result") != 0 || strcmp(st->to, BENCH_JID) != 0 ||
	    sscanf(st->id, "bench-%u", &n) != 1 || n != s->barrier_got + 1)
		die(r, "unexpected iq type %s id %s to %s", st->type, st->id, st->to);
	s->barrier_got = n;
}

/* The body the loadgen sends for sequence number seq: the relayed copy must equal it. */
static size_t
load_body(const struct run *r, uint64_t seq, char *buf, size_t cap)
{
	static const char filler[] = " lorem ipsum dolor sit amet, consectetur adipiscing elit";
	size_t n = (size_t)snprintf(buf, cap, "~%" PRIu64 "~", seq), want = (size_t)r->o.body;

	if (want >= cap)
		want = cap - 1;
	while (n < want) {
		buf[n] = filler[n % (sizeof(filler) - 1)];
		n++;
	}
	buf[n] = '\0';
	return n;
}

/* respa: seq alternates customer -> agent (even) and agent -> customer (odd) over the convs. */
static int
load_conv(const struct run *r, uint64_t seq)
{
	return (int)((seq / 2) % (uint64_t)r->s->nconvs) + 1;
}

/*
 * A relayed copy of a load message arrived in direction dir; peer is the agent it reached
 * (respa) or the user that echoed it, cust the customer it reached (0: an agent).
 */
static void
on_load_relay(struct run *r, struct session *s, struct stanza *st, int dir, int64_t peer,
    int64_t cust)
{
	struct load *L = s->load;
	const char *body = buf_cstr(&st->text);
	char want[4096];
	uint64_t seq, t;
	char *end;
	int j;

	seq = strtoull(body + 1, &end, 10);
	if (L == NULL || *end != '~' || seq >= L->sent)
		die(r, "relay of a message never sent: %.40s", body);
	if (L->lat_ns[seq])
		die(r, "message %" PRIu64 " relayed twice", seq);
	load_body(r, seq, want, sizeof(want));
	if (strcmp(body, want) != 0)
		die(r, "message %" PRIu64 " arrived changed: \"%.60s\"", seq, body);
	if (s->kind == T_ECHO) {
		if (peer != (int64_t)(seq % (uint64_t)s->agents) + 1 ||
		    cust != (int64_t)(seq % (uint64_t)s->nconvs) + 1)
			die(r, "echo of %" PRIu64 " from user%" PRId64 " to cust%" PRId64, seq, peer,
			    cust);
	} else {
		j = load_conv(r, seq);
		/* to_agent() and to_customer() matched the conversation's addresses */
		if ((int)(seq % 2) != dir || (dir == 0 && peer != s->convs[j].agent))
			die(r, "message %" PRIu64 " relayed the wrong way (to %s from %s)", seq,
			    st->to, st->from);
	}
	t = now_ns();
	L->lat_ns[seq] = t - L->send_ns[seq] ? t - L->send_ns[seq] : 1;
	L->got++;
	L->got_dir[dir]++;
	L->t_last = t;
}

/* "New chat #ID from custJ@localhost in ...": conversation J went to agent k as c-ID. */
static void
on_header(struct run *r, struct session *s, int64_t k, int64_t cid, const char *body)
{
	int64_t id;
	int j;
	struct conv *c;

	if (sscanf(body, "New chat #%" SCNd64 " from cust%d@localhost in", &id, &j) != 2 ||
	    id != cid || j < 1 || j > s->nconvs)
		die(r, "unexpected chat header: %.100s", body);
	c = &s->convs[j];
	if (c->agent || c->sent_ns == 0)
		die(r, "conversation of cust%d assigned twice, or never opened", j);
	c->agent = (int)k;
	c->cid = cid;
	c->assign_ns = now_ns() - c->sent_ns;
	c->got |= GOT_HEADER;
	s->last_header = j;
}

static void
conv_got(struct session *s, struct conv *c, unsigned bit)
{
	c->got |= bit;
	if (c->got == GOT_ALL) {
		s->opens_done++;
		s->t_open_last = now_ns();
	}
}

/* The transcript replayed to the agent follows the header at once, each line delayed. */
static void
on_replay(struct run *r, struct session *s, int64_t k, int64_t cid, const char *body)
{
	int j = s->last_header;
	char want[64];

	snprintf(want, sizeof(want), "hello from cust%d", j);
	if (j == 0 || s->convs[j].cid != cid || s->convs[j].agent != k || strcmp(body, want))
		die(r, "unexpected replayed line from c-%" PRId64 ": %.80s", cid, body);
	conv_got(s, &s->convs[j], GOT_REPLAY);
}

static void
stall_answer(struct session *s, const char *what)
{
	if (s->stall->t_answer == 0) {
		s->stall->t_answer = now_ns();
		copy_str(s->stall->answer, sizeof(s->stall->answer), what);
	}
}

static void
on_tiny(struct run *r, struct session *s, const char *body)
{
	unsigned n;

	if (s->stall == NULL || sscanf(body, "tiny %u", &n) != 1 || n != s->stall->tiny_got + 1)
		die(r, "unexpected tiny message: %.40s", body);
	s->stall->tiny_got = n;
	s->stall->t_tiny = now_ns();
}

/* respa relays a customer's message to the agent from c-ID. */
static void
to_agent(struct run *r, struct session *s, struct stanza *st, int64_t k)
{
	const char *body = buf_cstr(&st->text);
	int64_t cid;

	if (parse_indexed(st->from, "c-", "@" COMPONENT, &cid) == -1)
		die(r, "message to agent%" PRId64 " from %s", k, st->from);
	if (strncmp(body, "New chat #", 10) == 0)
		on_header(r, s, k, cid, body);
	else if (st->has_delay)
		on_replay(r, s, k, cid, body);
	else if (body[0] == '~' && s->convs[load_conv(r, strtoull(body + 1, NULL, 10))].cid == cid)
		on_load_relay(r, s, st, 0, k, 0);
	else if (strncmp(body, "tiny ", 5) == 0)
		on_tiny(r, s, body);
	else if (s->stall)
		stall_answer(s, "relayed");
	else
		die(r, "unexpected text from %s to agent%" PRId64 ": %.80s", st->from, k, body);
}

/* respa's own texts to the customer, its relays of the agent, or the echo's replies. */
static void
to_customer(struct run *r, struct session *s, struct stanza *st, int64_t j)
{
	const char *body = buf_cstr(&st->text);
	int64_t k;

	if (j < 1 || j > s->nconvs)
		die(r, "message to cust%" PRId64 ", who does not exist", j);
	if (s->kind == T_ECHO) {
		if (parse_indexed(st->from, "user", "@" COMPONENT, &k) == -1)
			die(r, "echo from %s", st->from);
		if (body[0] == '~')
			on_load_relay(r, s, st, 0, k, j);
		else if (strncmp(body, "tiny ", 5) == 0)
			on_tiny(r, s, body);
		else if (s->stall)
			stall_answer(s, "echoed");
		else
			die(r, "unexpected echo: %.80s", body);
		return;
	}
	if (strcmp(st->from, QUEUE_JID) != 0)
		die(r, "message to cust%" PRId64 " from %s", j, st->from);
	if (strcmp(body, GREETING) == 0)
		conv_got(s, &s->convs[j], GOT_GREETING);
	else if (strcmp(body, ASSIGNED) == 0)
		conv_got(s, &s->convs[j], GOT_JOINED);
	else if (strncmp(body, QUEUED, strlen(QUEUED)) == 0)
		die(r, "cust%" PRId64 " was queued: no agent was free (%.80s)", j, body);
	else if (body[0] == '~' && load_conv(r, strtoull(body + 1, NULL, 10)) == j)
		on_load_relay(r, s, st, 1, 0, j);
	else
		die(r, "unexpected text to cust%" PRId64 ": %.80s", j, body);
}

static void
on_message(struct run *r, struct session *s, struct stanza *st)
{
	int64_t n;
	unsigned b;

	if (st->is_error || strcmp(st->type, "error") == 0) {
		if (s->stall && strncmp(st->to, "cust", 4) == 0) {
			stall_answer(s, st->errcond[0] ? st->errcond : "error");
			return;
		}
		die(r, "%s answered with an error: %s (from %s to %s, id %s)", kind_names[s->kind],
		    st->errcond[0] ? st->errcond : "?", st->from, st->to, st->id);
	}
	if (strncmp(st->to, "twin-", 5) == 0) { /* respa's probe for a twin: route it back */
		buf_printf(&s->out, "<message from='%s' to='%s' type='headline' id='%s'>"
		    "<twin xmlns='urn:respa:twin:0'/></message>", st->from, st->to, st->id);
	} else if (strcmp(st->to, BENCH_JID) == 0) { /* the echo's barrier */
		if (sscanf(buf_cstr(&st->text), "barrier %u", &b) != 1 || b != s->barrier_got + 1)
			die(r, "unexpected barrier reply: %.40s", buf_cstr(&st->text));
		s->barrier_got = b;
	} else if (parse_indexed(st->to, "agent", "@localhost", &n) == 0)
		to_agent(r, s, st, n);
	else if (parse_indexed(st->to, "cust", "@localhost/r", &n) == 0)
		to_customer(r, s, st, n);
	else
		die(r, "message to an address nobody here has: %s (from %s)", st->to, st->from);
}

static void
on_stanza(struct run *r, struct session *s, struct stanza *st)
{
	s->nstanzas++;
	if (!s->handshaken)
		check_handshake(r, s, st);
	else if (strcmp(st->name, "message") == 0)
		on_message(r, s, st);
	else if (strcmp(st->name, "presence") == 0)
		on_presence(r, s, st);
	else if (strcmp(st->name, "iq") == 0)
		on_iq(r, s, st);
	else if (strcmp(st->name, "stream:error") == 0)
		die(r, "%s sent a stream error: %s", kind_names[s->kind], st->errcond);
	else
		die(r, "unexpected <%s/> from %s", st->name, kind_names[s->kind]);
}

/* ---- sessions ---- */

/* respa's configuration: one queue with every agent, capacities that fit every chat. */
static void
write_respa_conf(struct run *r, int agents, int capacity)
{
	int fd = open(r->conf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), k;
	FILE *f;

	if (fd == -1 || fchmod(fd, 0600) == -1 || (f = fdopen(fd, "w")) == NULL)
		die(r, "%s: %s", r->conf, strerror(errno));
	fprintf(f, "[component]\njid = %s\nhost = 127.0.0.1\nport = %d\nsecret = %s\n\n"
	    "[storage]\ndatabase = %s\n\n[queue support]\ngreeting = %s\nqueued_text = %s\n"
	    "assigned_text = %s\n", COMPONENT, r->port, r->secret, r->db, GREETING,
	    QUEUED, ASSIGNED);
	for (k = 1; k <= agents; k++) /* 100 a line: respa.conf's lines are bounded */
		fprintf(f, "%sagent%d@localhost%s", (k - 1) % 100 ? " " : "agents = ", k,
		    k % 100 == 0 || k == agents ? "\n" : "");
	for (k = 1; k <= agents; k++)
		fprintf(f, "\n[agent agent%d@localhost]\ncapacity = %d\n", k, capacity);
	/* a load test writes far faster than any customer: the per-customer limits are off */
	fputs("\n[limits]\nmax_open_per_customer = 0\nopens_per_minute = 0\n"
	    "messages_per_minute = 0\n", f);
	if (fclose(f) == EOF)
		die(r, "%s: %s", r->conf, strerror(errno));
}

static void
remove_db(struct run *r)
{
	char p[PATH_MAX + 8];

	unlink(r->db);
	snprintf(p, sizeof(p), "%s-wal", r->db);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", r->db);
	unlink(p);
}

static int
handshaken(const struct run *r)
{
	return r->s->handshaken;
}

/* Starts the target and completes the XEP-0114 handshake. */
static struct session *
session_start(struct run *r, enum kind kind, int agents, int convs)
{
	struct session *s = xcalloc(1, sizeof(*s));
	char port[16];

	s->kind = kind;
	s->agents = agents;
	s->nconvs = convs;
	s->probed = xcalloc((size_t)agents + 1, 1);
	s->convs = xcalloc((size_t)convs + 1, sizeof(*s->convs));
	snprintf(s->log, sizeof(s->log), "%.*s/%s.log", PATH_MAX - 32, r->dir, kind_names[kind]);
	snprintf(port, sizeof(port), "%d", r->port);
	r->s = s;
	if (kind == T_RESPA) {
		char *argv[] = { (char *)r->o.respa, "-c", r->conf, NULL };
		spawn(r, s, argv);
	} else {
		char *argv[] = { (char *)r->o.echo, COMPONENT, r->secret, "127.0.0.1", port, NULL };
		spawn(r, s, argv);
	}
	accept_target(r, s);
	if ((s->xp = XML_ParserCreate(NULL)) == NULL)
		die(r, "XML_ParserCreate failed");
	XML_SetUserData(s->xp, r);
	XML_SetElementHandler(s->xp, on_start, on_end);
	XML_SetCharacterDataHandler(s->xp, on_text);
	pump(r, NULL, handshaken, "handshake", 0);
	return s;
}

static int
all_probed(const struct run *r)
{
	return r->s->probes == r->s->agents && r->s->subscribes == r->s->agents;
}

static int
barrier_passed(const struct run *r)
{
	return r->s->barrier_got == r->s->barrier_sent;
}

/* Waits until the target has handled everything sent so far (stanzas are handled in order). */
static void
barrier(struct run *r)
{
	struct session *s = r->s;
	unsigned n = ++s->barrier_sent;

	if (s->kind == T_RESPA)
		buf_printf(&s->out, "<iq type='get' id='bench-%u' from='%s' to='%s'>"
		    "<ping xmlns='urn:xmpp:ping'/></iq>", n, BENCH_JID, COMPONENT);
	else
		buf_printf(&s->out, "<message type='chat' id='bench-%u' from='%s' to='barrier@%s'>"
		    "<body>barrier %u</body></message>", n, BENCH_JID, COMPONENT, n);
	pump(r, NULL, barrier_passed, "barrier", 0);
}

/* respa is ready when every agent was probed and is online; the echo when it answers. */
static void
session_ready(struct run *r)
{
	if (r->s->kind == T_RESPA)
		pump(r, NULL, all_probed, "agents' presence", 0);
	barrier(r);
}

static int
stream_closed(const struct run *r)
{
	return r->s->closed;
}

/* SIGTERM; the target closes its stream, we close ours; its exit status. */
static int
session_stop(struct run *r)
{
	struct session *s = r->s;
	char how[64];
	int status;

	s->stopping = 1;
	kill(s->pid, SIGTERM);
	(void)pump(r, NULL, stream_closed, "stop", 1);
	buf_printf(&s->out, "</stream:stream>");
	flush_out(r, s);
	close(s->fd);
	if ((status = wait_for(s->pid, STOP_WAIT_S)) == -1) {
		fprintf(stderr, "loadgen: %s did not stop within %d s after SIGTERM; killing it\n",
		    kind_names[s->kind], STOP_WAIT_S);
		status = terminate(s->pid, 0);
	}
	s->pid = 0;
	describe_status(how, sizeof(how), status);
	if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		die(r, "%s did not stop cleanly after SIGTERM: %s", kind_names[s->kind], how);
	XML_ParserFree(s->xp);
	free(s->out.p);
	free(s->st.text.p);
	free(s->probed);
	free(s->convs);
	free(s);
	r->s = NULL;
	return WEXITSTATUS(status);
}

/* ---- respa: open the conversations ---- */

static void
produce_opens(struct run *r, uint64_t now)
{
	struct session *s = r->s;
	int j;

	(void)now;
	while (s->opens_sent < s->nconvs &&
	    (uint64_t)(s->opens_sent - s->opens_done) < r->o.window &&
	    buf_pending(&s->out) < OUT_HIGH) {
		j = ++s->opens_sent;
		buf_printf(&s->out, "<message from='cust%d@localhost/r' to='%s' type='chat' "
		    "id='o%d'><body>hello from cust%d</body></message>", j, QUEUE_JID, j, j);
		s->convs[j].sent_ns = now_ns();
	}
}

static int
all_open(const struct run *r)
{
	return r->s->opens_done == r->s->nconvs;
}

static void
open_conversations(struct run *r, struct target_result *res)
{
	struct session *s = r->s;
	uint64_t *lat = xcalloc((size_t)s->nconvs, sizeof(*lat));
	int j;

	s->t_open0 = now_ns();
	pump(r, produce_opens, all_open, "opening conversations", 0);
	for (j = 1; j <= s->nconvs; j++)
		lat[j - 1] = s->convs[j].assign_ns;
	qsort(lat, (size_t)s->nconvs, sizeof(*lat), cmp_u64);
	res->convs = s->nconvs;
	res->open_secs = (double)(s->t_open_last - s->t_open0) / 1e9;
	res->open_rate = s->nconvs / (res->open_secs > 0 ? res->open_secs : 1e-9);
	res->open_p50_us = pct_us(lat, (size_t)s->nconvs, 0.50);
	res->open_p99_us = pct_us(lat, (size_t)s->nconvs, 0.99);
	res->open_max_us = pct_us(lat, (size_t)s->nconvs, 1.0);
	free(lat);
}

/* ---- the relay load ---- */

static void
send_load_message(struct run *r, struct session *s, uint64_t seq)
{
	char body[4096];
	int j;

	load_body(r, seq, body, sizeof(body));
	if (s->kind == T_ECHO) {
		buf_printf(&s->out, "<message from='cust%d@localhost/r' to='user%d@%s' type='chat' "
		    "id='m%" PRIu64 "'><body>%s</body></message>",
		    (int)(seq % (uint64_t)s->nconvs) + 1, (int)(seq % (uint64_t)s->agents) + 1,
		    COMPONENT, seq, body);
		return;
	}
	j = load_conv(r, seq);
	if (seq % 2 == 0)
		buf_printf(&s->out, "<message from='cust%d@localhost/r' to='%s' type='chat' "
		    "id='m%" PRIu64 "'><body>%s</body></message>", j, QUEUE_JID, seq, body);
	else
		buf_printf(&s->out, "<message from='agent%d@localhost/bench' to='c-%" PRId64 "@%s' "
		    "type='chat' id='m%" PRIu64 "'><body>%s</body></message>", s->convs[j].agent,
		    s->convs[j].cid, COMPONENT, seq, body);
}

/* Sends what the window and the pace allow; asks to be woken for the next paced one. */
static void
produce_load(struct run *r, uint64_t now)
{
	struct session *s = r->s;
	struct load *L = s->load;
	uint64_t limit = L->n, due;

	if (L->rate > 0) {
		due = (uint64_t)((double)(now - L->t0) / 1e9 * L->rate) + 1;
		if (due < limit)
			limit = due;
	}
	while (L->sent < limit && L->sent - L->got < L->window &&
	    buf_pending(&s->out) < OUT_HIGH) {
		send_load_message(r, s, L->sent);
		L->send_ns[L->sent++] = now_ns();
	}
	if (L->rate > 0 && L->sent < L->n && L->sent - L->got < L->window)
		r->wake_ns = L->t0 + (uint64_t)((double)L->sent / L->rate * 1e9);
}

static int
load_done(const struct run *r)
{
	return r->s->load->got == r->s->load->n;
}

static void
load_stats(struct load *L, struct load_result *res)
{
	uint64_t i;

	res->secs = (double)(L->t_last - L->t0) / 1e9;
	res->rate = (double)L->n / (res->secs > 0 ? res->secs : 1e-9);
	res->rate_dir[0] = (double)L->got_dir[0] / (res->secs > 0 ? res->secs : 1e-9);
	res->rate_dir[1] = (double)L->got_dir[1] / (res->secs > 0 ? res->secs : 1e-9);
	res->mean_us = 0;
	for (i = 0; i < L->n; i++)
		res->mean_us += (double)L->lat_ns[i] / 1e3;
	res->mean_us /= (double)(L->n ? L->n : 1);
	qsort(L->lat_ns, L->n, sizeof(*L->lat_ns), cmp_u64);
	res->p50_us = pct_us(L->lat_ns, L->n, 0.50);
	res->p90_us = pct_us(L->lat_ns, L->n, 0.90);
	res->p99_us = pct_us(L->lat_ns, L->n, 0.99);
	res->p999_us = pct_us(L->lat_ns, L->n, 0.999);
	res->max_us = pct_us(L->lat_ns, L->n, 1.0);
}

/* n messages with at most window outstanding, paced at rate (0: full speed). */
static void
run_load(struct run *r, struct load_result *res, uint64_t n, double rate)
{
	struct session *s = r->s;
	struct load L;
	double sys0, sys1, cpu0 = proc_cpu_s(s->pid, &sys0), self0 = self_cpu_s();

	memset(&L, 0, sizeof(L));
	L.n = n;
	L.window = r->o.window;
	L.rate = rate;
	L.send_ns = xcalloc(n, sizeof(*L.send_ns));
	L.lat_ns = xcalloc(n, sizeof(*L.lat_ns));
	s->load = &L;
	L.t0 = now_ns();
	pump(r, produce_load, load_done, rate > 0 ? "paced relay" : "relay", 0);
	res->target_cpu_s = proc_cpu_s(s->pid, &sys1) - cpu0;
	res->target_sys_s = sys1 - sys0;
	res->self_cpu_s = self_cpu_s() - self0;
	res->ran = 1;
	res->n = n;
	res->window = L.window;
	res->paced = rate;
	load_stats(&L, res);
	s->load = NULL;
	free(L.send_ns);
	free(L.lat_ns);
}

/* ---- the runs ---- */

static int
capacity_for(struct run *r, int agents, int convs)
{
	int c = (convs + agents - 1) / agents;

	if (c > MAX_CAPACITY)
		die(r, "%d conversations need %d chats per agent with %d agents; respa allows at "
		    "most %d: use --agents %d or more", convs, c, agents, MAX_CAPACITY,
		    (convs + MAX_CAPACITY - 1) / MAX_CAPACITY);
	return c < 1 ? 1 : c;
}

static struct session *
start_target(struct run *r, enum kind kind, int agents, int convs)
{
	if (kind == T_RESPA) {
		write_respa_conf(r, agents, capacity_for(r, agents, convs));
		remove_db(r);
	}
	return session_start(r, kind, agents, convs);
}

/* Throughput and latency: full speed, then paced at half of it (or --rate). */
static void
run_relay(struct run *r, enum kind kind)
{
	struct target_result *res = &r->res[kind];
	struct session *s = start_target(r, kind, r->o.agents, r->o.convs);

	session_ready(r);
	res->ready_s = (double)((kind == T_RESPA ? s->t_ready : s->t_handshake) - s->t_exec) / 1e9;
	res->rss_start = res->rss_before_open = proc_rss_kib(s->pid);
	if (kind == T_RESPA) {
		open_conversations(r, res);
		barrier(r);
		res->rss_after_open = proc_rss_kib(s->pid);
		res->kib_per_conv = (double)(res->rss_after_open - res->rss_before_open) /
		    (double)r->o.convs;
	}
	run_load(r, &res->full, r->o.messages, 0);
	run_load(r, &res->half, r->o.messages, r->o.rate > 0 ? r->o.rate : res->full.rate / 2);
	barrier(r);
	res->rss_end = proc_rss_kib(s->pid);
	res->exit_status = session_stop(r);
	res->ran = 1;
}

static void
send_tiny(struct session *s)
{
	unsigned n = ++s->stall->tiny_sent;

	if (s->kind == T_ECHO)
		buf_printf(&s->out, "<message from='cust2@localhost/r' to='user2@%s' type='chat' "
		    "id='t%u'><body>tiny %u</body></message>", COMPONENT, n, n);
	else
		buf_printf(&s->out, "<message from='cust2@localhost/r' to='%s' type='chat' "
		    "id='t%u'><body>tiny %u</body></message>", QUEUE_JID, n, n);
}

static int
tiny_back(const struct run *r)
{
	return r->s->stall->tiny_got == r->s->stall->tiny_sent;
}

/* The round trip of a tiny message on an idle link: the stall's baseline (median of 21). */
static double
idle_tiny_us(struct run *r)
{
	uint64_t lat[21];
	size_t i;

	for (i = 0; i < 21; i++) {
		lat[i] = now_ns();
		send_tiny(r->s);
		pump(r, NULL, tiny_back, "tiny message", 0);
		lat[i] = r->s->stall->t_tiny - lat[i];
	}
	qsort(lat, 21, sizeof(lat[0]), cmp_u64);
	return (double)lat[10] / 1e3;
}

static void
stall_case(struct run *r, const struct stall_case *c, struct stall_result *res)
{
	struct session *s = r->s;
	uint64_t t0;
	size_t i, before;

	s->stall->t_answer = 0;
	s->stall->answer[0] = '\0';
	buf_printf(&s->out, "<message from='cust1@localhost/r' to='%s' type='chat' id='big'><body>",
	    s->kind == T_ECHO ? "user1@" COMPONENT : QUEUE_JID);
	before = buf_pending(&s->out);
	for (i = 0; i < c->reps; i++)
		buf_add(&s->out, c->unit, strlen(c->unit));
	res->wire_bytes = buf_pending(&s->out) - before;
	res->body_bytes = c->unit[0] == '&' ? c->reps : res->wire_bytes;
	buf_printf(&s->out, "</body></message>");
	send_tiny(s);
	t0 = now_ns();
	pump(r, NULL, tiny_back, c->name, 0);
	res->write_ms = (double)(s->t_drained - t0) / 1e6; /* before the barrier writes again */
	barrier(r); /* the answer to the big one, if any, came before this */
	res->tiny_ms = (double)(s->stall->t_tiny - t0) / 1e6;
	res->answer_ms = s->stall->t_answer ? (double)(s->stall->t_answer - t0) / 1e6 : -1;
	copy_str(res->answer, sizeof(res->answer), s->stall->answer[0] ? s->stall->answer :
	    "none");
}

/* One big stanza, then a tiny one from another customer: how long the loop stood still. */
static void
run_stall(struct run *r, enum kind kind)
{
	struct target_result *res = &r->res[kind];
	struct stall st;
	size_t i;

	memset(&st, 0, sizeof(st));
	start_target(r, kind, 2, 2);
	session_ready(r);
	if (kind == T_RESPA)
		pump(r, produce_opens, all_open, "opening conversations", 0);
	r->s->stall = &st;
	res->idle_tiny_us = idle_tiny_us(r);
	for (i = 0; i < NSTALL; i++)
		stall_case(r, &stall_cases[i], &res->stall[i]);
	r->s->stall = NULL;
	session_stop(r);
	res->stall_ran = 1;
}

/* ---- start-up with a filled database ---- */

static void
db_exec(struct run *r, sqlite3 *db, const char *sql)
{
	char *err = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		die(r, "filling the database: %s: %s", sql, err ? err : sqlite3_errmsg(db));
}

static sqlite3_stmt *
db_prepare(struct run *r, sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		die(r, "filling the database: %s: %s", sql, sqlite3_errmsg(db));
	return st;
}

static void
db_step(struct run *r, sqlite3 *db, sqlite3_stmt *st)
{
	if (sqlite3_step(st) != SQLITE_DONE)
		die(r, "filling the database: %s", sqlite3_errmsg(db));
	sqlite3_reset(st);
}

static void
fill_conversations(struct run *r, sqlite3 *db, int convs, int agents, const char *ts)
{
	sqlite3_stmt *contact = db_prepare(r, db, "INSERT INTO contacts (id, created_at) "
	    "VALUES (?1, ?2)");
	sqlite3_stmt *ident = db_prepare(r, db, "INSERT INTO identities (contact_id, kind, value, "
	    "created_at) VALUES (?1, 'jid', ?2, ?3)");
	sqlite3_stmt *conv = db_prepare(r, db, "INSERT INTO conversations (id, queue, "
	    "customer_jid, contact_id, agent_jid, channel, state, created_at, assigned_at) "
	    "VALUES (?1, 'support', ?2, ?1, ?3, 'xmpp', 'active', ?4, ?4)");
	char jid[64], full[64], agent[64];
	int j;

	for (j = 1; j <= convs; j++) {
		snprintf(jid, sizeof(jid), "cust%d@localhost", j);
		snprintf(full, sizeof(full), "cust%d@localhost/r", j);
		snprintf(agent, sizeof(agent), "agent%d@localhost", (j - 1) % agents + 1);
		sqlite3_bind_int(contact, 1, j);
		sqlite3_bind_text(contact, 2, ts, -1, SQLITE_STATIC);
		db_step(r, db, contact);
		sqlite3_bind_int(ident, 1, j);
		sqlite3_bind_text(ident, 2, jid, -1, SQLITE_STATIC);
		sqlite3_bind_text(ident, 3, ts, -1, SQLITE_STATIC);
		db_step(r, db, ident);
		sqlite3_bind_int(conv, 1, j);
		sqlite3_bind_text(conv, 2, full, -1, SQLITE_STATIC);
		sqlite3_bind_text(conv, 3, agent, -1, SQLITE_STATIC);
		sqlite3_bind_text(conv, 4, ts, -1, SQLITE_STATIC);
		db_step(r, db, conv);
	}
	sqlite3_finalize(contact);
	sqlite3_finalize(ident);
	sqlite3_finalize(conv);
}

/* Messages round-robin over the conversations: first from the customer, then answers. */
static void
fill_messages(struct run *r, sqlite3 *db, int convs, int agents, uint64_t n, const char *ts)
{
	sqlite3_stmt *msg = db_prepare(r, db, "INSERT INTO messages (conversation_id, direction, "
	    "sender_jid, body, created_at) VALUES (?1, ?2, ?3, ?4, ?5)");
	char sender[64], body[128];
	uint64_t i;
	int j, in;

	for (i = 0; i < n; i++) {
		j = (int)(i % (uint64_t)convs) + 1;
		in = (i / (uint64_t)convs) % 2 == 0;
		if (in)
			snprintf(sender, sizeof(sender), "cust%d@localhost/r", j);
		else
			snprintf(sender, sizeof(sender), "agent%d@localhost", (j - 1) % agents + 1);
		snprintf(body, sizeof(body), "stored message %" PRIu64 " of conversation %d, "
		    "an ordinary line of chat", i, j);
		sqlite3_bind_int(msg, 1, j);
		sqlite3_bind_text(msg, 2, in ? "in" : "out", -1, SQLITE_STATIC);
		sqlite3_bind_text(msg, 3, sender, -1, SQLITE_STATIC);
		sqlite3_bind_text(msg, 4, body, -1, SQLITE_STATIC);
		sqlite3_bind_text(msg, 5, ts, -1, SQLITE_STATIC);
		db_step(r, db, msg);
	}
	sqlite3_finalize(msg);
}

/* Fills respa's own schema (created by a first start) and checkpoints, as a live desk would. */
static void
fill_db(struct run *r, int convs, int agents, uint64_t messages)
{
	char ts[32];
	time_t now = time(NULL);
	sqlite3 *db;

	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	if (sqlite3_open_v2(r->db, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
		die(r, "%s: %s", r->db, sqlite3_errmsg(db));
	db_exec(r, db, "PRAGMA synchronous = OFF; BEGIN");
	fill_conversations(r, db, convs, agents, ts);
	fill_messages(r, db, convs, agents, messages, ts);
	db_exec(r, db, "COMMIT; PRAGMA wal_checkpoint(TRUNCATE)");
	sqlite3_close(db);
}

static void
run_startup(struct run *r)
{
	struct startup_result *res = &r->startup;
	struct session *s;
	struct load_result check;
	struct stat sb;
	int agents = r->o.agents, j;
	int convs = r->o.startup_convs;
	double t;

	if ((convs + agents - 1) / agents > MAX_CAPACITY)
		agents = (convs + MAX_CAPACITY - 1) / MAX_CAPACITY; /* respa's capacity limit */
	res->agents = agents;
	res->convs = convs;
	res->messages = r->o.startup_messages;

	/* a first start on an empty database creates respa's schema */
	write_respa_conf(r, agents, capacity_for(r, agents, convs));
	remove_db(r);
	s = session_start(r, T_RESPA, agents, 1);
	session_ready(r);
	res->empty_ready_s = (double)(s->t_ready - s->t_exec) / 1e9;
	session_stop(r);

	t = (double)now_ns();
	fill_db(r, convs, agents, res->messages);
	res->fill_s = ((double)now_ns() - t) / 1e9;
	res->db_bytes = stat(r->db, &sb) == 0 ? (long long)sb.st_size : -1;

	s = session_start(r, T_RESPA, agents, convs);
	res->accept_s = (double)(s->t_accept - s->t_exec) / 1e9;
	res->handshake_s = (double)(s->t_handshake - s->t_exec) / 1e9;
	pump(r, NULL, all_probed, "agents' presence", 0);
	res->ready_s = (double)(s->t_ready - s->t_exec) / 1e9;
	barrier(r);
	res->rss_kib = proc_rss_kib(s->pid);
	/* the restored conversations work both ways, with the agents the database names */
	for (j = 1; j <= convs; j++) {
		s->convs[j].cid = j;
		s->convs[j].agent = (j - 1) % agents + 1;
		s->convs[j].got = GOT_ALL;
	}
	memset(&check, 0, sizeof(check));
	run_load(r, &check, (uint64_t)(convs < 500 ? convs : 500) * 2, 0);
	session_stop(r);
	res->ran = 1;
}

/* ---- reporting ---- */

static void
machine_info(struct run *r)
{
	char line[256], *p;
	struct utsname u;
	FILE *f;

	r->nproc = (int)sysconf(_SC_NPROCESSORS_ONLN);
	copy_str(r->model, sizeof(r->model), "unknown");
	if ((f = fopen("/proc/cpuinfo", "r")) != NULL) {
		while (fgets(line, sizeof(line), f))
			if (strncmp(line, "model name", 10) == 0 && (p = strchr(line, ':'))) {
				p[strcspn(p, "\n")] = '\0';
				copy_str(r->model, sizeof(r->model), p + 2);
				break;
			}
		fclose(f);
	}
	if (uname(&u) == 0)
		snprintf(r->kernel, sizeof(r->kernel), "%.60s %.60s", u.sysname, u.release);
	if ((f = fopen("/proc/loadavg", "r")) != NULL) {
		if (fgets(r->loadavg, sizeof(r->loadavg), f))
			r->loadavg[strcspn(r->loadavg, "\n")] = '\0';
		fclose(f);
	}
}

static double
us_per_msg(const struct load_result *l)
{
	return l->n ? l->target_cpu_s * 1e6 / (double)l->n : 0;
}

static void
print_load_row(const char *label, const struct load_result *e, const struct load_result *p,
    double (*get)(const struct load_result *), const char *fmt)
{
	char a[32] = "-", b[32] = "-", c[32] = "-";

	if (e->ran)
		snprintf(a, sizeof(a), fmt, get(e));
	if (p->ran)
		snprintf(b, sizeof(b), fmt, get(p));
	if (e->ran && p->ran && get(e) > 0)
		snprintf(c, sizeof(c), "%.2f", get(p) / get(e));
	printf("  %-30s %14s %14s %10s\n", label, a, b, c);
}

static double get_rate(const struct load_result *l) { return l->rate; }
static double get_p50(const struct load_result *l) { return l->p50_us / 1e3; }
static double get_p90(const struct load_result *l) { return l->p90_us / 1e3; }
static double get_p99(const struct load_result *l) { return l->p99_us / 1e3; }
static double get_max(const struct load_result *l) { return l->max_us / 1e3; }
static double get_cpu(const struct load_result *l) { return us_per_msg(l); }
static double
get_sys(const struct load_result *l)
{
	return l->n ? l->target_sys_s * 1e6 / (double)l->n : 0;
}
static double get_self(const struct load_result *l) { return l->self_cpu_s / l->secs * 100; }
static double get_paced(const struct load_result *l) { return l->paced; }

static void
print_loads(const char *title, const struct load_result *e, const struct load_result *p)
{
	printf("%s\n", title);
	if (p->paced > 0 || e->paced > 0)
		print_load_row("paced at (msg/s)", e, p, get_paced, "%.0f");
	print_load_row("relayed (msg/s)", e, p, get_rate, "%.0f");
	print_load_row("latency p50 (ms)", e, p, get_p50, "%.3f");
	print_load_row("latency p90 (ms)", e, p, get_p90, "%.3f");
	print_load_row("latency p99 (ms)", e, p, get_p99, "%.3f");
	print_load_row("latency max (ms)", e, p, get_max, "%.3f");
	print_load_row("target CPU (us/msg)", e, p, get_cpu, "%.1f");
	print_load_row("  of which system (us/msg)", e, p, get_sys, "%.1f");
	print_load_row("loadgen CPU (% of a core)", e, p, get_self, "%.0f");
	if (p->ran && p->rate_dir[1] > 0)
		printf("  %-30s %14s %7.0f/%-6.0f\n", "respa: cust->agent/agent->cust", "",
		    p->rate_dir[0], p->rate_dir[1]);
}

static void
print_relay(const struct run *r)
{
	const struct target_result *e = &r->res[T_ECHO], *p = &r->res[T_RESPA];

	printf("\n%-32s %14s %14s %10s\n", "relay", "echo", "respa", "respa/echo");
	print_loads("full speed (window)", &e->full, &p->full);
	print_loads("half load (paced)", &e->half, &p->half);
	if (e->ran)
		printf("echo: ready %.3f s after exec\n", e->ready_s);
	if (p->ran) {
		printf("respa: ready %.3f s after exec (%d agents probed)\n", p->ready_s,
		    r->o.agents);
		printf("respa: %d conversations opened in %.3f s = %.0f assignments/s "
		    "(send to assignment p50 %.2f ms, p99 %.2f ms, max %.2f ms)\n", p->convs,
		    p->open_secs, p->open_rate, p->open_p50_us / 1e3, p->open_p99_us / 1e3,
		    p->open_max_us / 1e3);
		printf("respa: RSS %ld KiB before opening, %ld KiB after (%.2f KiB per "
		    "conversation), %ld KiB at the end\n", p->rss_before_open, p->rss_after_open,
		    p->kib_per_conv, p->rss_end);
	}
	if (e->ran)
		printf("echo: RSS %ld KiB at start, %ld KiB at the end\n", e->rss_start, e->rss_end);
}

static void
print_stall(const struct run *r)
{
	size_t i;
	int k;

	printf("\n%-6s %-16s %9s %11s %11s %11s  %s\n", "stall", "case", "wire KiB",
	    "written ms", "answer ms", "tiny ms", "answer");
	for (k = 0; k < NKINDS; k++) {
		const struct target_result *t = &r->res[k];

		if (!t->stall_ran)
			continue;
		printf("%-6s %-16s %9s %11s %11s %11.3f  (idle round trip)\n", kind_names[k],
		    "tiny alone", "-", "-", "-", t->idle_tiny_us / 1e3);
		for (i = 0; i < NSTALL; i++)
			printf("%-6s %-16s %9.0f %11.1f %11.1f %11.1f  %s\n", kind_names[k],
			    stall_cases[i].name, (double)t->stall[i].wire_bytes / 1024,
			    t->stall[i].write_ms, t->stall[i].answer_ms, t->stall[i].tiny_ms,
			    t->stall[i].answer);
	}
}

static void
print_table(const struct run *r)
{
	const struct opts *o = &r->o;
	const struct startup_result *su = &r->startup;

	if (o->relay)
		printf("respa bench: %d agents, %d conversations, %" PRIu64 " messages of %d "
		    "bytes, window %" PRIu64 "\n", o->agents, o->convs, o->messages, o->body,
		    o->window);
	printf("machine: %d x %s, %s, load average at start %s\n", r->nproc, r->model, r->kernel,
	    r->loadavg);
	if (o->quickack)
		printf("--quickack: every read is acknowledged at once, unlike a real server\n");
	if (r->res[T_ECHO].ran || r->res[T_RESPA].ran)
		print_relay(r);
	if (r->res[T_ECHO].stall_ran || r->res[T_RESPA].stall_ran)
		print_stall(r);
	if (su->ran)
		printf("\nstartup: %d open conversations, %" PRIu64 " messages, %d agents, database "
		    "%.1f MiB (filled in %.1f s)\n  exec -> connect %.3f s, -> handshake %.3f s, "
		    "-> ready (last probe) %.3f s; RSS %ld KiB (empty database: ready in %.3f s)\n",
		    su->convs, su->messages, su->agents, (double)su->db_bytes / 1048576.0,
		    su->fill_s, su->accept_s, su->handshake_s, su->ready_s, su->rss_kib,
		    su->empty_ready_s);
}

/* A minimal JSON writer: keys in order, commas handled by depth. */
struct json {
	FILE *f;
	int depth, first[8];
};

static void
j_key(struct json *j, const char *key)
{
	fputs(j->first[j->depth] ? "" : ", ", j->f);
	j->first[j->depth] = 0;
	if (key)
		fprintf(j->f, "\"%s\": ", key);
}

static void
j_open(struct json *j, const char *key, char c)
{
	j_key(j, key);
	fputc(c, j->f);
	j->first[++j->depth] = 1;
}

static void
j_close(struct json *j, char c)
{
	j->depth--;
	fputc(c, j->f);
}

static void
j_num(struct json *j, const char *key, double v)
{
	j_key(j, key);
	if (isfinite(v))
		fprintf(j->f, "%.6g", v);
	else
		fputs("null", j->f);
}

static void
j_str(struct json *j, const char *key, const char *v)
{
	j_key(j, key);
	fputc('"', j->f);
	for (; *v; v++)
		if (*v == '"' || *v == '\\')
			fprintf(j->f, "\\%c", *v);
		else if ((unsigned char)*v >= 0x20)
			fputc(*v, j->f);
	fputc('"', j->f);
}

static void
j_load(struct json *j, const char *key, const struct load_result *l)
{
	if (!l->ran)
		return;
	j_open(j, key, '{');
	j_num(j, "messages", (double)l->n);
	j_num(j, "window", (double)l->window);
	j_num(j, "paced_msg_per_s", l->paced);
	j_num(j, "seconds", l->secs);
	j_num(j, "msg_per_s", l->rate);
	j_num(j, "cust_to_agent_per_s", l->rate_dir[0]);
	j_num(j, "agent_to_cust_per_s", l->rate_dir[1]);
	j_num(j, "latency_mean_us", l->mean_us);
	j_num(j, "latency_p50_us", l->p50_us);
	j_num(j, "latency_p90_us", l->p90_us);
	j_num(j, "latency_p99_us", l->p99_us);
	j_num(j, "latency_p999_us", l->p999_us);
	j_num(j, "latency_max_us", l->max_us);
	j_num(j, "target_cpu_s", l->target_cpu_s);
	j_num(j, "target_cpu_us_per_msg", us_per_msg(l));
	j_num(j, "target_sys_s", l->target_sys_s);
	j_num(j, "loadgen_cpu_s", l->self_cpu_s);
	j_close(j, '}');
}

static void
j_target(struct json *j, const struct target_result *t, enum kind k)
{
	size_t i;

	j_open(j, kind_names[k], '{');
	if (t->ran && k == T_RESPA) {
		j_open(j, "open", '{');
		j_num(j, "conversations", t->convs);
		j_num(j, "seconds", t->open_secs);
		j_num(j, "assignments_per_s", t->open_rate);
		j_num(j, "assign_latency_p50_us", t->open_p50_us);
		j_num(j, "assign_latency_p99_us", t->open_p99_us);
		j_num(j, "assign_latency_max_us", t->open_max_us);
		j_close(j, '}');
		j_num(j, "rss_kib_before_open", (double)t->rss_before_open);
		j_num(j, "rss_kib_after_open", (double)t->rss_after_open);
		j_num(j, "kib_per_conversation", t->kib_per_conv);
	}
	if (t->ran) {
		j_num(j, "exec_to_ready_s", t->ready_s);
		j_num(j, "rss_kib_start", (double)t->rss_start);
		j_num(j, "rss_kib_end", (double)t->rss_end);
	}
	j_load(j, "full_speed", &t->full);
	j_load(j, "half_load", &t->half);
	if (t->stall_ran) {
		j_num(j, "idle_tiny_round_trip_us", t->idle_tiny_us);
		j_open(j, "stall", '[');
		for (i = 0; i < NSTALL; i++) {
			j_open(j, NULL, '{');
			j_str(j, "case", stall_cases[i].name);
			j_num(j, "wire_bytes", (double)t->stall[i].wire_bytes);
			j_num(j, "body_bytes", (double)t->stall[i].body_bytes);
			j_num(j, "written_ms", t->stall[i].write_ms);
			j_num(j, "answer_ms", t->stall[i].answer_ms);
			j_num(j, "tiny_ms", t->stall[i].tiny_ms);
			j_str(j, "answer", t->stall[i].answer);
			j_close(j, '}');
		}
		j_close(j, ']');
	}
	j_close(j, '}');
}

static void
j_params(struct json *j, const struct run *r)
{
	const struct opts *o = &r->o;

	j_open(j, "params", '{');
	j_num(j, "agents", o->agents);
	j_num(j, "conversations", o->convs);
	j_num(j, "capacity", (o->convs + o->agents - 1) / o->agents);
	j_num(j, "messages", (double)o->messages);
	j_num(j, "window", (double)o->window);
	j_num(j, "body_bytes", o->body);
	j_num(j, "rate", o->rate);
	j_num(j, "tiny", o->tiny);
	j_num(j, "quickack", o->quickack);
	j_close(j, '}');
	j_open(j, "machine", '{');
	j_num(j, "nproc", r->nproc);
	j_str(j, "model", r->model);
	j_str(j, "kernel", r->kernel);
	j_str(j, "loadavg_at_start", r->loadavg);
	j_close(j, '}');
}

static void
write_json(struct run *r)
{
	const struct target_result *e = &r->res[T_ECHO], *p = &r->res[T_RESPA];
	const struct startup_result *su = &r->startup;
	struct json j = { NULL, 0, { 1 } };
	int k;

	if ((j.f = fopen(r->o.json, "w")) == NULL)
		die(r, "%s: %s", r->o.json, strerror(errno));
	j_open(&j, NULL, '{');
	j_str(&j, "tool", "respa bench/loadgen");
	j_num(&j, "unix_time", (double)time(NULL));
	j_params(&j, r);
	for (k = 0; k < NKINDS; k++)
		if (r->res[k].ran || r->res[k].stall_ran)
			j_target(&j, &r->res[k], (enum kind)k);
	if (e->full.ran && p->full.ran) {
		j_open(&j, "respa_vs_echo", '{');
		j_num(&j, "full_speed_throughput", p->full.rate / e->full.rate);
		j_num(&j, "half_load_p50", p->half.p50_us / e->half.p50_us);
		j_num(&j, "half_load_p99", p->half.p99_us / e->half.p99_us);
		j_num(&j, "cpu_per_msg", us_per_msg(&p->full) / us_per_msg(&e->full));
		j_close(&j, '}');
	}
	if (su->ran) {
		j_open(&j, "startup", '{');
		j_num(&j, "agents", su->agents);
		j_num(&j, "open_conversations", su->convs);
		j_num(&j, "messages", (double)su->messages);
		j_num(&j, "db_bytes", (double)su->db_bytes);
		j_num(&j, "fill_s", su->fill_s);
		j_num(&j, "exec_to_connect_s", su->accept_s);
		j_num(&j, "exec_to_handshake_s", su->handshake_s);
		j_num(&j, "exec_to_ready_s", su->ready_s);
		j_num(&j, "empty_db_exec_to_ready_s", su->empty_ready_s);
		j_num(&j, "rss_kib_ready", (double)su->rss_kib);
		j_close(&j, '}');
	}
	j_close(&j, '}');
	fputc('\n', j.f);
	if (fclose(j.f) == EOF)
		die(r, "%s: %s", r->o.json, strerror(errno));
}

/* ---- options ---- */

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: loadgen [options]\n"
	    "  what to run (default: --relay):\n"
	    "  --relay            open conversations, then relay at full speed and at half load\n"
	    "  --compare          run on bench/echo, then on respa, and print the ratio\n"
	    "  --target T         respa (default) or echo, without --compare\n"
	    "  --startup          start-up time with a filled database\n"
	    "  --stall            pathological stanzas: how long the loop stands still\n"
	    "  sizes:\n"
	    "  --agents N         agents, all online (default 100)\n"
	    "  --convs N          open conversations (default 1000); capacity = ceil(N/agents)\n"
	    "  --messages N       messages per relay run (default 200000)\n"
	    "  --window N         outstanding messages at full speed (default 1000)\n"
	    "  --rate R           pace of the half-load run in msg/s (default: half of full)\n"
	    "  --body N           body bytes (default 80)\n"
	    "  --startup-convs N  open conversations in the database (default 100000)\n"
	    "  --startup-msgs N   stored messages (default 1000000)\n"
	    "  --tiny             a few seconds: 10 agents, 20 convs, 2000 messages\n"
	    "  other:\n"
	    "  --respa PATH       default: ../src/respa beside this program\n"
	    "  --echo PATH        default: echo beside this program\n"
	    "  --json FILE        write the figures as one JSON object\n"
	    "  --timeout S        give up when nothing arrives for S seconds (default 30)\n"
	    "  --keep             keep the temporary directory (configuration, logs, database)\n"
	    "  --quickack         acknowledge every read at once (TCP_QUICKACK), unlike a real\n"
	    "                     server: shows what the target's Nagle delays cost\n"
	    "  --verbose          say on stderr what starts (with its pid) and how long each step took\n");
}

static uint64_t
opt_num(const char *name, const char *v, uint64_t min)
{
	char *end;
	unsigned long long n;

	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno || *end || end == v || n < min || n > INT_MAX) {
		fprintf(stderr, "loadgen: --%s wants a number from %" PRIu64 ", not \"%s\"\n", name,
		    min, v);
		exit(2);
	}
	return n;
}

/* bench/echo and ../src/respa beside this program, wherever it was built. */
static void
default_paths(struct opts *o)
{
	static char respa[PATH_MAX], echo[PATH_MAX];
	char self[PATH_MAX], *slash;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0)
		return;
	self[n] = '\0';
	if ((slash = strrchr(self, '/')) != NULL)
		*slash = '\0';
	snprintf(respa, sizeof(respa), "%.*s/../src/respa", PATH_MAX - 16, self);
	snprintf(echo, sizeof(echo), "%.*s/echo", PATH_MAX - 16, self);
	o->respa = respa;
	o->echo = echo;
}

static void
parse_opts(struct opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "relay", no_argument, NULL, 'R' }, { "compare", no_argument, NULL, 'C' },
		{ "target", required_argument, NULL, 'T' }, { "startup", no_argument, NULL, 'S' },
		{ "stall", no_argument, NULL, 'L' }, { "agents", required_argument, NULL, 'a' },
		{ "convs", required_argument, NULL, 'c' },
		{ "messages", required_argument, NULL, 'm' },
		{ "window", required_argument, NULL, 'w' }, { "rate", required_argument, NULL, 'r' },
		{ "body", required_argument, NULL, 'b' },
		{ "startup-convs", required_argument, NULL, 'x' },
		{ "startup-msgs", required_argument, NULL, 'y' }, { "tiny", no_argument, NULL, 't' },
		{ "respa", required_argument, NULL, 'p' }, { "echo", required_argument, NULL, 'e' },
		{ "json", required_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 'o' }, { "keep", no_argument, NULL, 'k' },
		{ "quickack", no_argument, NULL, 'q' }, { "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	int ch;

	memset(o, 0, sizeof(*o));
	o->agents = 100, o->convs = 1000, o->messages = 200000, o->window = 1000, o->body = 80;
	o->startup_convs = 100000, o->startup_messages = 1000000;
	o->idle_timeout = 30, o->phase_timeout = 1800, o->target = T_RESPA;
	default_paths(o);
	/* --tiny first, so explicit sizes given with it still win */
	for (ch = 1; ch < argc; ch++)
		if (strcmp(argv[ch], "--tiny") == 0) {
			o->tiny = 1, o->agents = 10, o->convs = 20, o->messages = 2000;
			o->window = 100, o->startup_convs = 200, o->startup_messages = 2000;
			o->idle_timeout = 10, o->phase_timeout = 60;
		}
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'R': o->relay = 1; break;
		case 'C': o->compare = 1; break;
		case 'T':
			if (strcmp(optarg, "echo") == 0)
				o->target = T_ECHO;
			else if (strcmp(optarg, "respa") != 0)
				usage(stderr), exit(2);
			break;
		case 'S': o->startup = 1; break;
		case 'L': o->stall = 1; break;
		case 'a': o->agents = (int)opt_num("agents", optarg, 1); break;
		case 'c': o->convs = (int)opt_num("convs", optarg, 2); break;
		case 'm': o->messages = opt_num("messages", optarg, 2); break;
		case 'w': o->window = opt_num("window", optarg, 1); break;
		case 'r': o->rate = (double)opt_num("rate", optarg, 1); break;
		case 'b': o->body = (int)opt_num("body", optarg, 24); break;
		case 'x': o->startup_convs = (int)opt_num("startup-convs", optarg, 1); break;
		case 'y': o->startup_messages = opt_num("startup-msgs", optarg, 0); break;
		case 't': break;
		case 'p': o->respa = optarg; break;
		case 'e': o->echo = optarg; break;
		case 'j': o->json = optarg; break;
		case 'o': o->idle_timeout = (double)opt_num("timeout", optarg, 1); break;
		case 'k': o->keep = 1; break;
		case 'q': o->quickack = 1; break;
		case 'v': o->verbose = 1; break;
		case 'h': usage(stdout), exit(0);
		default: usage(stderr), exit(2);
		}
	}
	if (optind != argc)
		usage(stderr), exit(2);
	if (!o->relay && !o->startup && !o->stall)
		o->relay = 1;
	if (o->body > 4000)
		o->body = 4000;
}

static void
setup(struct run *r)
{
	static const char *const names[] = { "respa.conf", "respa.db", "respa.db-wal",
		"respa.db-shm", "respa.log", "echo.log" };
	const char *tmp = getenv("TMPDIR");
	unsigned char raw[16];
	struct sigaction sa;
	size_t i;

	snprintf(r->dir, sizeof(r->dir), "%s/respa-bench.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(r->dir) == NULL)
		die(r, "mkdtemp %s: %s", r->dir, strerror(errno));
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		snprintf(r->junk[i], sizeof(r->junk[i]), "%.*s/%s", PATH_MAX - 32, r->dir, names[i]);
	copy_str(r->conf, sizeof(r->conf), r->junk[0]);
	copy_str(r->db, sizeof(r->db), r->junk[1]);
	RAND_bytes(raw, sizeof(raw));
	for (i = 0; i < sizeof(raw); i++)
		snprintf(r->secret + 2 * i, 3, "%02x", raw[i]);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	prctl(PR_SET_TIMERSLACK, 1UL); /* pacing wants microsecond wake-ups */
	listen_loopback(r);
}

int
main(int argc, char **argv)
{
	struct run *r = xcalloc(1, sizeof(*r));

	parse_opts(&r->o, argc, argv);
	the_run = r;
	atexit(cleanup_at_exit);
	machine_info(r);
	setup(r);
	if (r->o.relay && (r->o.compare || r->o.target == T_ECHO))
		run_relay(r, T_ECHO);
	if (r->o.relay && (r->o.compare || r->o.target == T_RESPA))
		run_relay(r, T_RESPA);
	if (r->o.stall && (r->o.compare || r->o.target == T_ECHO))
		run_stall(r, T_ECHO);
	if (r->o.stall && (r->o.compare || r->o.target == T_RESPA))
		run_stall(r, T_RESPA);
	if (r->o.startup)
		run_startup(r);
	print_table(r);
	if (r->o.json)
		write_json(r);
	return 0;
}
