/*
 * bench/c2sload: respa through a real Prosody. Agents and customers are ordinary c2s clients
 * (libstrophe, many connections in one context, plaintext on loopback). The same clients
 * measure two paths through the same server:
 *
 *   component: customer -> support@support.localhost -> respa -> agent (from c-ID@...),
 *              agent -> c-ID@support.localhost -> respa -> customer (from support@...)
 *   direct:    customer -> agent's bare JID, agent -> customer's full JID
 *
 * Each path runs at full speed (a window of W messages in flight), then both are paced at a
 * fraction (--load, default half) of the component path's full-speed rate. The paths take
 * turns in --rounds rounds, so that other work on the machine disturbs both alike. Each
 * message carries its round and sequence number; its send time (CLOCK_MONOTONIC) is matched
 * on arrival.
 *
 * The component path costs Prosody two routings per message where the direct path costs one,
 * so component msgs/s / direct msgs/s would be 0.5 if both cost the same: target >= 0.45.
 * respa's added latency is component p99 - direct p99 of the paced runs: target <= 1 ms.
 * Prosody's, respa's and our own CPU time per run (from /proc) show who the bottleneck is,
 * and the time each waited for a CPU shows how much of a tail is the machine.
 *
 * Prosody's sockets run with Nagle off (network_settings) unless --nagle: with its default,
 * a small write waiting for a delayed ACK stalls 40 ms on loopback, on both paths, and that
 * is what the tail would measure. Our client sockets always have TCP_NODELAY.
 *
 * Everything is set up here and torn down by pid on every exit path: a temp dir, a private
 * Prosody on free loopback ports, the accounts, respa with a generated config.
 *
 * usage: c2sload [--tiny] [--agents N] [--customers N] [--messages N] [--window N]
 *                [--rounds N] [--load F] [--body BYTES] [--sm] [--nagle] [--respa PATH]
 *                [--db-dir DIR] [--json FILE] [--keep] [-v]
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <strophe.h>

#define COMPONENT "support.localhost"
#define QUEUE_JID "support@" COMPONENT
#define SECRET "c2sload-secret"
#define PASSWORD "pw"
#define RESOURCE "bench"
#define MAX_CLIENTS 900        /* libstrophe's loop uses select(): every fd must be < 1024 */
#define MAX_CAPACITY 100       /* respa's limit on an agent's chats at once */
#define CONNECTS_IN_FLIGHT 64  /* below Prosody's listen backlog (128) */
#define STOP_GRACE_S 5.0
#define TARGET_RATIO 0.45
#define TARGET_ADDED_P99_MS 1.0

/* ------------------------------------------------------------------------------------- */
/* options                                                                               */

static struct {
	int agents, customers, window, body, sm, tiny, keep, verbose, nagle, rounds;
	long messages;
	double load;        /* paced runs: this fraction of the component path's full rate */
	double stall_s;     /* a run ends when nothing arrives for this long */
	const char *respa, *json;
	const char *db_dir;  /* where respa's database goes (default: the temp dir) */
} opt = {
	.agents = 50, .customers = 200, .window = 200, .body = 32, .messages = 20000,
	.load = 0.5, .stall_s = 10, .rounds = 4,
};

static void
usage(void)
{
	fprintf(stderr,
	    "usage: c2sload [--tiny] [--agents N] [--customers N] [--messages N] [--window N]\n"
	    "               [--rounds N] [--load F] [--body BYTES] [--sm] [--nagle]\n"
	    "               [--respa PATH] [--db-dir DIR] [--json FILE] [--keep] [-v]\n");
	exit(2);
}

/* ------------------------------------------------------------------------------------- */
/* failure, signals and the processes we own                                             */

struct proc {
	const char *name;
	pid_t pid;          /* 0: not running (or already reaped) */
	int status;         /* from waitpid, valid once reaped */
	int reaped;
};

static struct proc prosody = { .name = "prosody" }, respa = { .name = "respa" };
static volatile sig_atomic_t interrupted;
static char workdir[64];
static char db_dir[256];  /* --db-dir's directory of ours, if any */
static int succeeded;
struct client;
static struct client *clients;  /* agents first, then customers */
static int nclients;
static void shut_client_sockets(void);

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void
die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "c2sload: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1); /* the atexit handler stops what we started */
}

static double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
sleep_s(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - floor(s)) * 1e9) };

	nanosleep(&ts, NULL);
}

static void
check_interrupt(void)
{
	if (interrupted)
		die("interrupted");
}

/*
 * Reaps p if it has exited. respa is our child; Prosody's daemon is our orphaned grandchild,
 * reparented to us because we are a child subreaper, so waitpid() works for both and a pid is
 * never recycled behind our back while we still hold it.
 */
static int
proc_gone(struct proc *p)
{
	pid_t r;

	if (p->pid <= 0 || p->reaped)
		return 1;
	r = waitpid(p->pid, &p->status, WNOHANG);
	if (r == p->pid || (r == -1 && errno == ECHILD)) {
		p->reaped = 1;
		return 1;
	}
	return 0;
}

static int
wait_gone(struct proc *p, double secs)
{
	double deadline = mono() + secs;

	while (!proc_gone(p)) {
		if (mono() > deadline)
			return 0;
		sleep_s(0.01);
	}
	return 1;
}

/* SIGTERM, wait, SIGKILL as the fallback. Returns 1 when SIGTERM sufficed. */
static int
stop_proc(struct proc *p)
{
	int graceful = 1;

	if (p->pid <= 0 || proc_gone(p))
		return 1;
	kill(p->pid, SIGTERM);
	if (!wait_gone(p, STOP_GRACE_S)) {
		graceful = 0;
		fprintf(stderr, "c2sload: %s (pid %d) ignored SIGTERM, killing it\n", p->name,
		    (int)p->pid);
		kill(p->pid, SIGKILL);
		wait_gone(p, 2.0);
	}
	return graceful;
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(path);
}

/* A directory of ours goes at the end, unless asked for or needed to see what failed. */
static void
remove_or_keep(const char *dir, const char *what)
{
	if (dir[0] == '\0')
		return;
	if (succeeded && !opt.keep)
		nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	else
		fprintf(stderr, "c2sload: %s kept in %s\n", what, dir);
}

/*
 * Every exit path comes here (exit() from die() included). Client sockets are shut first:
 * Prosody otherwise waits a second at shutdown for streams that are still open.
 */
static void
cleanup(void)
{
	shut_client_sockets();
	stop_proc(&respa);
	stop_proc(&prosody);
	remove_or_keep(workdir, "logs and configs");
	remove_or_keep(db_dir, "respa's database");
}

static void
on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* A crash of ours: no atexit, so at least ask our processes to go (async-signal-safe). */
static void
on_crash(int sig)
{
	if (respa.pid > 0 && !respa.reaped)
		kill(respa.pid, SIGTERM);
	if (prosody.pid > 0 && !prosody.reaped)
		kill(prosody.pid, SIGTERM);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void
install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = on_crash;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGABRT, &sa, NULL);
	sigaction(SIGFPE, &sa, NULL);
	signal(SIGPIPE, SIG_IGN); /* a closed socket is an error return, not a death */
	atexit(cleanup);
}

/*
 * Starts argv with stdin from in_path (or /dev/null) and stdout+stderr appended to log_path.
 * new_session keeps a terminal's ^C away from it: we stop it ourselves, in order.
 */
static pid_t
spawn(char *const argv[], const char *in_path, const char *log_path, int new_session)
{
	pid_t pid = fork();
	int in, out;

	if (pid == -1)
		die("fork: %s", strerror(errno));
	if (pid > 0)
		return pid;
	in = open(in_path ? in_path : "/dev/null", O_RDONLY);
	out = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (in == -1 || out == -1)
		_exit(126);
	dup2(in, 0);
	dup2(out, 1);
	dup2(out, 2);
	close_range(3, ~0U, 0); /* our client sockets are not theirs to hold open */
	if (new_session)
		setsid();
	signal(SIGPIPE, SIG_DFL); /* ignored dispositions survive exec */
	execvp(argv[0], argv);
	fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* Waits for a short-lived child (the Prosody launcher, prosodyctl); -1 on timeout. */
static int
wait_child(pid_t pid, double secs)
{
	struct proc p = { .name = "child", .pid = pid };

	while (!wait_gone(&p, 0.05)) {
		if ((secs -= 0.05) <= 0 || interrupted) {
			kill(pid, SIGKILL);
			wait_gone(&p, 2.0);
			check_interrupt();
			return -1;
		}
	}
	return WIFEXITED(p.status) ? WEXITSTATUS(p.status) : 128;
}

/* ------------------------------------------------------------------------------------- */
/* small file and system helpers                                                         */

static char *
path_in(const char *name)
{
	static char buf[8][256];
	static int next;
	char *p = buf[next++ % 8];

	snprintf(p, sizeof(buf[0]), "%s/%s", workdir, name);
	return p;
}

static FILE *
create_file(const char *path, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	FILE *f;

	if (fd == -1 || (f = fdopen(fd, "w")) == NULL)
		die("%s: %s", path, strerror(errno));
	return f;
}

static void
close_file(FILE *f, const char *path)
{
	if (ferror(f) || fclose(f) != 0)
		die("%s: write failed", path);
}

static char *
read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t cap = 0, len = 0, n;

	if (f == NULL)
		return NULL;
	do {
		if (len + 4096 + 1 > cap && (buf = realloc(buf, cap = 2 * cap + 8192)) == NULL)
			die("out of memory");
		n = fread(buf + len, 1, 4096, f);
		len += n;
	} while (n > 0);
	fclose(f);
	buf[len] = '\0';
	return buf;
}

/* The last lines of a log, for error messages. */
static void
show_tail(const char *path, int lines)
{
	char *text = read_file(path), *p;

	if (text == NULL)
		return;
	for (p = text + strlen(text); p > text && lines >= 0; p--)
		if (p[-1] == '\n')
			lines--;
	fprintf(stderr, "--- %s ---\n%s\n", path, p);
	free(text);
}

static int
free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd == -1 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) == -1)
		die("no free port: %s", strerror(errno));
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static int
port_open(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = fd != -1 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	if (fd != -1)
		close(fd);
	return ok;
}

/* utime + stime of pid in seconds, from /proc/PID/stat; -1 if unreadable. */
static double
cpu_seconds(pid_t pid)
{
	char path[64], *text, *p;
	unsigned long long ut, st;
	double r = -1;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((text = read_file(path)) == NULL)
		return -1;
	/* the command name may hold spaces: fields are counted from its closing ')' */
	if ((p = strrchr(text, ')')) != NULL &&
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) == 2)
		r = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
	free(text);
	return r;
}

/*
 * Seconds pid spent runnable but waiting for a CPU (/proc/PID/schedstat, second field): on a
 * shared machine, the part of a latency tail that is nobody's code. 0 pid means ourselves.
 */
static double
runq_wait_seconds(pid_t pid)
{
	char path[64], *text;
	unsigned long long run, wait;
	double r = -1;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)pid);
	else
		snprintf(path, sizeof(path), "/proc/self/schedstat");
	if ((text = read_file(path)) != NULL && sscanf(text, "%llu %llu", &run, &wait) == 2)
		r = (double)wait / 1e9;
	free(text);
	return r;
}

static double
self_cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void
cpu_model(char *buf, size_t len)
{
	char *text = read_file("/proc/cpuinfo"), *p, *e;

	snprintf(buf, len, "unknown");
	if (text && (p = strstr(text, "model name")) && (p = strchr(p, ':'))) {
		p += 2;
		if ((e = strchr(p, '\n')) != NULL)
			*e = '\0';
		snprintf(buf, len, "%s", p);
		for (e = buf; *e; e++)
			if (*e == '"' || *e == '\\' || (unsigned char)*e < ' ')
				*e = ' '; /* it goes into JSON as it is */
	}
	free(text);
}

static double
loadavg(void)
{
	char *text = read_file("/proc/loadavg");
	double l = -1;

	if (text)
		l = atof(text);
	free(text);
	return l;
}

/* ------------------------------------------------------------------------------------- */
/* Prosody                                                                               */

static int c2s_port, component_port;

/*
 * As tests/e2e/harness.py writes it, minus http/bosh/websocket, plus admin_shell (accounts
 * are created through `prosodyctl shell`: one process for all of them). Logging at warn to
 * a file so that logging does not dominate what we measure.
 */
static void
write_prosody_config(const char *path)
{
	FILE *f = create_file(path, 0644);

	fprintf(f,
	    "-- generated by bench/c2sload\n"
	    "run_as_root = true\n"
	    "pidfile = \"%1$s/prosody.pid\"\n"
	    "data_path = \"%1$s/data\"\n"
	    "certificates = \"%1$s/certs\"\n"
	    "plugin_paths = { }\n"
	    "interfaces = { \"127.0.0.1\" }\n"
	    "c2s_ports = { %2$d }\n"
	    "c2s_interfaces = { \"127.0.0.1\" }\n"
	    "component_ports = { %3$d }\n"
	    "component_interfaces = { \"127.0.0.1\" }\n"
	    "http_ports = { }\nhttps_ports = { }\ns2s_ports = { }\n"
	    "c2s_require_encryption = false\n"
	    "s2s_require_encryption = false\n"
	    "allow_unencrypted_plain_auth = true\n"
	    "c2s_stanza_size_limit = 65536\n"
	    "%4$s"
	    "modules_enabled = {\n"
	    "\t\"disco\"; \"roster\"; \"saslauth\"; \"presence\"; \"message\"; \"iq\";\n"
	    "\t\"ping\"; \"time\"; \"uptime\"; \"version\"; \"private\";\n"
	    "\t\"blocklist\"; \"carbons\"; \"pep\"; \"vcard_legacy\"; \"smacks\"; \"csi_simple\";\n"
	    "\t\"posix\"; \"admin_shell\";\n"
	    "}\n"
	    "modules_disabled = { \"s2s\"; \"tls\"; \"offline\"; }\n"
	    "authentication = \"internal_hashed\"\n"
	    "storage = \"internal\"\n"
	    "log = { { levels = { min = \"warn\" }, to = \"file\",\n"
	    "\tfilename = \"%1$s/prosody.log\" } }\n"
	    "VirtualHost \"localhost\"\n"
	    "Component \"" COMPONENT "\"\n"
	    "\tcomponent_secret = \"" SECRET "\"\n",
	    workdir, c2s_port, component_port,
	    opt.nagle ? "" : "network_settings = { nagle = false }\n");
	close_file(f, path);
}

static pid_t
read_pidfile(const char *path)
{
	char *text = read_file(path);
	long pid = text ? strtol(text, NULL, 10) : 0;

	free(text);
	return (pid_t)pid;
}

static long
parent_of(long pid)
{
	char path[64], *text, *p;
	long ppid = -1;

	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	if ((text = read_file(path)) == NULL)
		return -1;
	if ((p = strstr(text, "\nPPid:")) != NULL)
		ppid = strtol(p + 6, NULL, 10);
	free(text);
	return ppid;
}

/*
 * The daemon must descend from us (we are its subreaper), never be someone else's process.
 * Walk up: right after the pidfile appears, a double-forking launcher's middle process may
 * still be its parent.
 */
static int
is_our_descendant(pid_t pid)
{
	long p = pid;
	int depth;

	for (depth = 0; depth < 8 && p > 1; depth++)
		if ((p = parent_of(p)) == (long)getpid())
			return 1;
	return 0;
}

static void
start_prosody(void)
{
	char *cfg = path_in("prosody.cfg.lua"), *log = path_in("prosody.console.log");
	char *argv[] = { "prosody", "--config", cfg, "-D", NULL };
	double deadline;
	pid_t pid = 0;
	int rc;

	mkdir(path_in("data"), 0755);
	mkdir(path_in("certs"), 0755);
	c2s_port = free_port();
	while ((component_port = free_port()) == c2s_port)
		;
	write_prosody_config(cfg);
	/* -D: the launcher forks the daemon, which writes the pidfile, then exits */
	if ((rc = wait_child(spawn(argv, NULL, log, 0), 10)) != 0) {
		show_tail(log, 20);
		die("prosody -D exited %d", rc);
	}
	deadline = mono() + 10;
	while ((pid = read_pidfile(path_in("prosody.pid"))) <= 0 && mono() < deadline)
		sleep_s(0.01);
	if (pid <= 0 || !is_our_descendant(pid))
		die("no Prosody daemon of ours (pidfile %d)", (int)pid);
	prosody.pid = pid;
	while (!(port_open(c2s_port) && port_open(component_port))) {
		check_interrupt();
		if (mono() > deadline || proc_gone(&prosody)) {
			show_tail(path_in("prosody.log"), 20);
			die("Prosody's ports %d and %d did not open", c2s_port, component_port);
		}
		sleep_s(0.01);
	}
}

static int
count_substr(const char *text, const char *needle)
{
	int n = 0;

	while (text && (text = strstr(text, needle)) != NULL) {
		n++;
		text += strlen(needle);
	}
	return n;
}

/*
 * `prosodyctl register` costs ~30-40 ms a process; one `prosodyctl shell` fed every
 * user:create() on stdin makes 250 accounts in about half a second.
 */
static void
register_accounts(void)
{
	char *cmds = path_in("accounts.txt"), *log = path_in("accounts.log");
	char *argv[] = { "prosodyctl", "--config", path_in("prosody.cfg.lua"), "shell", NULL };
	double deadline = mono() + 10;
	FILE *f = create_file(cmds, 0600);
	char *out;
	int i, rc, made;

	for (i = 1; i <= opt.agents; i++)
		fprintf(f, "user:create(\"agent%d@localhost\", \"" PASSWORD "\")\n", i);
	for (i = 1; i <= opt.customers; i++)
		fprintf(f, "user:create(\"cust%d@localhost\", \"" PASSWORD "\")\n", i);
	close_file(f, cmds);
	while (access(path_in("data/prosody.sock"), F_OK) != 0 && mono() < deadline)
		sleep_s(0.01); /* the admin socket comes with the module, but wait for it */
	rc = wait_child(spawn(argv, cmds, log, 0), 30 + (opt.agents + opt.customers) * 0.05);
	out = read_file(log);
	made = count_substr(out, "OK: User created");
	free(out);
	if (rc != 0 || made != opt.agents + opt.customers) {
		show_tail(log, 10);
		die("prosodyctl shell created %d of %d accounts (exit %d)", made,
		    opt.agents + opt.customers, rc);
	}
}

/* ------------------------------------------------------------------------------------- */
/* respa                                                                                 */

/*
 * --db-dir puts the database elsewhere (a tmpfs, to tell storage stalls from the rest) in
 * a directory of its own, removed with the temp dir's files at the end.
 */
static const char *
db_path(void)
{
	if (opt.db_dir == NULL)
		return workdir;
	if (db_dir[0] == '\0' && (snprintf(db_dir, sizeof(db_dir), "%s/c2sload-db.XXXXXX",
	    opt.db_dir) >= (int)sizeof(db_dir) || mkdtemp(db_dir) == NULL)) {
		db_dir[0] = '\0';
		die("--db-dir %s: cannot make a directory there", opt.db_dir);
	}
	return db_dir;
}

static void
write_respa_config(const char *path)
{
	FILE *f = create_file(path, 0600); /* respa refuses a secret others can read */
	int capacity = (opt.customers + opt.agents - 1) / opt.agents, i;

	fprintf(f, "[component]\njid = " COMPONENT "\nhost = 127.0.0.1\nport = %d\n"
	    "secret = " SECRET "\n\n[storage]\ndatabase = %s/respa.db\n\n[queue support]\nagents =",
	    component_port, db_path());
	for (i = 1; i <= opt.agents; i++)
		fprintf(f, " agent%d@localhost", i);
	fputs("\n", f);
	/* every customer must fit at once: no chat waits in the queue during the runs */
	for (i = 1; i <= opt.agents; i++)
		fprintf(f, "\n[agent agent%d@localhost]\ncapacity = %d\n", i, capacity);
	/* a load test writes far faster than any customer: the per-customer limits are off */
	fputs("\n[limits]\nmax_open_per_customer = 0\nopens_per_minute = 0\n"
	    "messages_per_minute = 0\n", f);
	close_file(f, path);
}

static void
start_respa(void)
{
	char *cfg = path_in("respa.conf");
	char *argv[] = { (char *)opt.respa, "-c", cfg, NULL };

	if (access(opt.respa, X_OK) != 0)
		die("%s: not an executable (build it: make -j2 src/respa; or give --respa)",
		    opt.respa);
	write_respa_config(cfg);
	respa.pid = spawn(argv, NULL, path_in("respa.log"), 1);
}

/* respa's log after the runs: a crash or a sanitizer report fails the benchmark. */
static int
respa_log_clean(void)
{
	static const char *bad[] = { "ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
		"runtime error:", " fatal: " };
	char *text = read_file(path_in("respa.log"));
	size_t i;
	int clean = 1;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (text && strstr(text, bad[i]))
			clean = 0;
	free(text);
	return clean;
}

/* ------------------------------------------------------------------------------------- */
/* clients                                                                               */

enum role { AGENT, CUSTOMER };
enum cstate { C_IDLE, C_CONNECTING, C_ONLINE, C_CLOSED };

struct client {
	xmpp_conn_t *conn;
	enum role role;
	int num;            /* K of agentK, J of custJ (from 1) */
	enum cstate state;
	int subscribed;     /* an agent that approved respa's subscription */
	int fd;
	char jid[48];       /* bare */
	char full[64];
};

struct chat {
	int customer, agent;   /* client indexes; agent -1 until its "New chat" arrives */
	char addr[80];         /* c-ID@support.localhost: the customer, as the agent sees them */
};

static xmpp_ctx_t *ctx;
static int nonline, nsubscribed, nchats_open, closing;
static struct chat *chats;      /* one per customer, index J-1 */
static int epfd = -1;          /* every client socket, to sleep until one has data */
static long nerrors;            /* error stanzas received, all runs */
static char first_error[512];

static struct client *
customer(int j)
{
	return &clients[opt.agents + j];
}

/*
 * Records the socket (to wait on it, and to shut it at teardown) and turns Nagle off: what
 * we measure is the server and respa, not our own small writes held back.
 */
static int
on_socket(xmpp_conn_t *conn, void *sockp)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int fd = *(int *)sockp, one = 1, i;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	for (i = 0; i < nclients; i++)
		if (clients[i].conn == conn)
			clients[i].fd = fd;
	ev.data.fd = fd;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) == -1)
		die("epoll_ctl: %s", strerror(errno));
	return 0;
}

/* At exit (die() included): a stream we leave open makes Prosody wait at its shutdown. */
static void
shut_client_sockets(void)
{
	int i;

	for (i = 0; clients && i < nclients; i++)
		if (clients[i].fd >= 0)
			shutdown(clients[i].fd, SHUT_RDWR);
}

static void
note_error(const struct client *c, xmpp_stanza_t *st)
{
	char *text = NULL;
	size_t len;

	if (nerrors++ == 0 && xmpp_stanza_to_text(st, &text, &len) == XMPP_EOK) {
		snprintf(first_error, sizeof(first_error), "%s got %s", c->jid, text);
		xmpp_free(ctx, text);
	}
}

/* from matches want when equal, or when want is bare and from is want/resource. */
static int
from_is(const char *from, const char *want)
{
	size_t n = strlen(want);

	return from && strncmp(from, want, n) == 0 && (from[n] == '\0' || from[n] == '/');
}

/* "New chat #N from custJ@localhost in ...": learn the conversation's address. */
static void
chat_opened(struct client *agent, const char *from, const char *text)
{
	const char *p = strstr(text, " from cust");
	struct chat *ch;
	int j;

	if (p == NULL || sscanf(p, " from cust%d@", &j) != 1 || j < 1 || j > opt.customers ||
	    from == NULL)
		die("%s: cannot read \"%s\" from %s", agent->jid, text, from ? from : "?");
	ch = &chats[j - 1];
	if (ch->agent != -1)
		die("cust%d got a second chat (%s)", j, from);
	ch->agent = (int)(agent - clients);
	snprintf(ch->addr, sizeof(ch->addr), "%.*s", (int)strcspn(from, "/"), from);
	nchats_open++;
}

static void on_arrival(struct client *c, const char *from, const char *text);

static int
on_message(xmpp_conn_t *conn, xmpp_stanza_t *st, void *arg)
{
	struct client *c = arg;
	const char *type = xmpp_stanza_get_type(st), *from = xmpp_stanza_get_from(st);
	xmpp_stanza_t *body, *text;
	const char *t;

	(void)conn;
	if (type && strcmp(type, "error") == 0) {
		note_error(c, st);
		return 1;
	}
	if ((body = xmpp_stanza_get_child_by_name(st, "body")) == NULL ||
	    (text = xmpp_stanza_get_children(body)) == NULL ||
	    (t = xmpp_stanza_get_text_ptr(text)) == NULL)
		return 1;
	if (t[0] == 'b' && t[1] == ':')
		on_arrival(c, from, t);
	else if (c->role == AGENT && strncmp(t, "New chat #", 10) == 0)
		chat_opened(c, from, t);
	/* greetings, "an agent has joined", the replayed first message: not measured */
	return 1;
}

/* Agents approve respa's presence subscription, as any agent's client asks them to. */
static int
on_presence(xmpp_conn_t *conn, xmpp_stanza_t *st, void *arg)
{
	struct client *c = arg;
	const char *type = xmpp_stanza_get_type(st), *from = xmpp_stanza_get_from(st);

	if (c->role != AGENT || type == NULL || strcmp(type, "subscribe") != 0 ||
	    !from_is(from, COMPONENT))
		return 1;
	xmpp_send_raw_string(conn, "<presence to='" COMPONENT "' type='subscribed'/>");
	if (!c->subscribed) {
		c->subscribed = 1;
		nsubscribed++;
	}
	return 1;
}

static void
on_conn(xmpp_conn_t *conn, xmpp_conn_event_t ev, int err, xmpp_stream_error_t *se, void *arg)
{
	struct client *c = arg;

	if (ev == XMPP_CONN_CONNECT) {
		xmpp_handler_add(conn, on_message, NULL, "message", NULL, c);
		xmpp_handler_add(conn, on_presence, NULL, "presence", NULL, c);
		xmpp_send_raw_string(conn, "<presence/>"); /* available: agents get chats */
		c->state = C_ONLINE;
		nonline++;
		return;
	}
	if (ev == XMPP_CONN_RAW_CONNECT)
		return;
	if (c->state == C_ONLINE)
		nonline--;
	c->state = C_CLOSED;
	if (!closing)
		die("%s lost its connection (error %d%s%s)", c->full, err,
		    se && se->text ? ": " : "", se && se->text ? se->text : "");
}

static void
make_clients(void)
{
	int i;

	clients = calloc((size_t)(opt.agents + opt.customers), sizeof(*clients));
	chats = calloc((size_t)opt.customers, sizeof(*chats));
	if (!clients || !chats)
		die("out of memory");
	nclients = opt.agents + opt.customers;
	for (i = 0; i < nclients; i++) {
		struct client *c = &clients[i];

		c->role = i < opt.agents ? AGENT : CUSTOMER;
		c->num = c->role == AGENT ? i + 1 : i - opt.agents + 1;
		c->fd = -1;
		snprintf(c->jid, sizeof(c->jid), "%s%d@localhost", c->role == AGENT ? "agent" :
		    "cust", c->num);
		snprintf(c->full, sizeof(c->full), "%s/" RESOURCE, c->jid);
	}
	for (i = 0; i < opt.customers; i++) {
		chats[i].customer = opt.agents + i;
		chats[i].agent = -1;
	}
}

static void
connect_client(struct client *c)
{
	long flags = XMPP_CONN_FLAG_DISABLE_TLS | (opt.sm ? 0 : XMPP_CONN_FLAG_DISABLE_SM);

	if ((c->conn = xmpp_conn_new(ctx)) == NULL)
		die("xmpp_conn_new failed");
	xmpp_conn_set_flags(c->conn, flags);
	xmpp_conn_set_jid(c->conn, c->full);
	xmpp_conn_set_pass(c->conn, PASSWORD);
	xmpp_conn_set_sockopt_callback(c->conn, on_socket);
	if (xmpp_connect_client(c->conn, "127.0.0.1", (unsigned short)c2s_port, on_conn, c) !=
	    XMPP_EOK)
		die("%s: connect failed", c->jid);
	c->state = C_CONNECTING;
}

static void check_respa(void);

/* Runs the loop until done() or the deadline; what names the wait in the error. */
static void
run_until(int (*done)(void), double secs, const char *what)
{
	double deadline = mono() + secs;

	while (!done()) {
		check_interrupt();
		check_respa();
		if (mono() > deadline)
			die("timed out after %.0f s waiting for %s", secs, what);
		xmpp_run_once(ctx, 5);
	}
}

/* respa gone before we stopped it: no point waiting for anything it should do. */
static void
check_respa(void)
{
	if (respa.pid > 0 && !closing && proc_gone(&respa)) {
		show_tail(path_in("respa.log"), 20);
		die("respa exited (%s %d)", WIFEXITED(respa.status) ? "status" : "signal",
		    WIFEXITED(respa.status) ? WEXITSTATUS(respa.status) : WTERMSIG(respa.status));
	}
}

static int next_connect;

/* Logs clients in a few dozen at a time: a burst beyond the listen backlog costs SYN retries. */
static int
all_online(void)
{
	int connecting = next_connect - nonline;

	while (next_connect < nclients && connecting++ < CONNECTS_IN_FLIGHT)
		connect_client(&clients[next_connect++]);
	return nonline == nclients;
}

static int
all_subscribed(void)
{
	return nsubscribed == opt.agents;
}

static int
all_chats_open(void)
{
	return nchats_open == opt.customers;
}

static int
all_closed(void)
{
	return nonline == 0;
}

/* Every customer writes to the queue; each "New chat" at some agent tells us where it went. */
static void
open_chats(void)
{
	int j;

	for (j = 0; j < opt.customers; j++)
		xmpp_send_raw_string(customer(j)->conn, "<message to='" QUEUE_JID "' type='chat'>"
		    "<body>Hello, this is cust%d.</body></message>", j + 1);
	run_until(all_chats_open, 30 + opt.customers * 0.05, "every customer's \"New chat\"");
}

/* ------------------------------------------------------------------------------------- */
/* runs                                                                                  */

enum path { COMPONENT_PATH, DIRECT_PATH };

/*
 * One path's measurement. The two paths take turns in rounds (component, direct, then
 * direct, component, ...), so that a burst of other work on this machine lands on both.
 */
struct run {
	const char *name;       /* "full", "half", "warm-up" */
	enum path path;
	long n;                 /* messages over all rounds */
	int window;             /* full speed: messages in flight */
	double rate;            /* paced: messages per second (0: full speed) */
	/* the round under way */
	int id;                 /* in every body, so a straggler of another round is not counted */
	long rn, sent, rreceived;
	double t0, t_last;
	double *sent_at;        /* per message of the round, as are dest and seen */
	int *dest;
	unsigned char *seen;
	/* over all rounds */
	double *lat;            /* microseconds, one per message received */
	long received, misrouted, dups, strays;
	double secs, msgs_per_s, p50_us, p99_us, max_us, mean_us;
	double prosody_cpu, respa_cpu, self_cpu;   /* seconds during the rounds */
	double prosody_wait, respa_wait, self_wait; /* seconds waiting for a CPU, the same */
};

static struct run *cur;         /* the run that arrivals are counted against */
static char padding[1024];

static const char *
path_name(enum path p)
{
	return p == COMPONENT_PATH ? "component" : "direct";
}

/*
 * Message seq belongs to chat (seq / 2) mod C; even ones go customer -> agent, odd ones
 * agent -> customer. Returns the sender and sets where it is addressed, who must receive it
 * and whom it must come from.
 */
static struct client *
route(const struct run *r, long seq, const char **to, struct client **dest, const char **from)
{
	struct chat *ch = &chats[(seq / 2) % opt.customers];
	struct client *cu = &clients[ch->customer], *ag = &clients[ch->agent];
	int comp = r->path == COMPONENT_PATH;

	if (seq % 2 == 0) {
		*to = comp ? QUEUE_JID : ag->jid;
		*dest = ag;
		*from = comp ? ch->addr : cu->jid;
		return cu;
	}
	*to = comp ? ch->addr : cu->full;
	*dest = cu;
	*from = comp ? QUEUE_JID : ag->jid;
	return ag;
}

static void
send_next(struct run *r)
{
	long seq = r->sent++;
	const char *to, *from;
	struct client *dest, *src = route(r, seq, &to, &dest, &from);

	r->dest[seq] = (int)(dest - clients);
	r->sent_at[seq] = mono();
	xmpp_send_raw_string(src->conn, "<message to='%s' type='chat' id='m%d.%ld'>"
	    "<body>b:%d:%ld %s</body></message>", to, r->id, seq, r->id, seq, padding);
}

static void
on_arrival(struct client *c, const char *from, const char *text)
{
	struct run *r = cur;
	const char *want_from, *to;
	struct client *dest;
	char *end;
	long id = strtol(text + 2, &end, 10), seq;

	if (r == NULL || id != r->id || *end != ':') {
		if (r)
			r->strays++;
		return;
	}
	seq = strtol(end + 1, NULL, 10);
	if (seq < 0 || seq >= r->sent) {
		r->strays++;
		return;
	}
	if (r->seen[seq]++) {
		r->dups++;
		return;
	}
	(void)route(r, seq, &to, &dest, &want_from);
	if (dest != c || !from_is(from, want_from)) {
		r->misrouted++;
		return;
	}
	r->t_last = mono();
	r->lat[r->received++] = (r->t_last - r->sent_at[seq]) * 1e6;
	r->rreceived++;
}

/* May another message go out right now? */
static int
may_send(const struct run *r, double now)
{
	if (r->sent >= r->rn)
		return 0;
	if (r->rate == 0)
		return r->sent - r->rreceived < r->window;
	return r->t0 + (double)r->sent / r->rate <= now;
}

/* Did the kernel leave part of some write to us? Then do not sleep long. */
static int
writes_pending(void)
{
	int i;

	for (i = 0; i < nclients; i++)
		if (clients[i].state == C_ONLINE && xmpp_conn_send_queue_len(clients[i].conn) > 0)
			return 1;
	return 0;
}

/*
 * Sleeps until a socket has something for us or the next paced message is due. libstrophe's
 * own wait has millisecond steps and scans every socket; epoll with a nanosecond timeout lets
 * a paced run send on time without spinning.
 */
static void
wait_io(const struct run *r, double now)
{
	struct epoll_event evs[64];
	double wait = 0.01;
	struct timespec ts;

	if (r->rate > 0 && r->sent < r->rn)
		wait = fmin(wait, fmax(0, r->t0 + (double)r->sent / r->rate - now));
	if (writes_pending())
		wait = fmin(wait, 0.0002);
	ts.tv_sec = 0;
	ts.tv_nsec = (long)(wait * 1e9);
	if (epoll_pwait2(epfd, evs, 64, &ts, NULL) == -1 && errno == ENOSYS)
		epoll_wait(epfd, evs, 64, (int)ceil(wait * 1e3)); /* kernels before 5.11 */
}

/* Sends the round's messages (windowed or paced) until all arrived or they stop coming. */
static void
drive(struct run *r)
{
	double now = mono(), deadline, progress = now;
	long last = 0;

	deadline = now + (r->rate > 0 ? (double)r->rn / r->rate : 0) + 300;
	r->t0 = r->t_last = now;
	while (r->rreceived < r->rn) {
		check_interrupt();
		while (may_send(r, now))
			send_next(r);
		xmpp_run_once(ctx, 0); /* writes what we queued, reads what arrived */
		now = mono();
		if (r->rreceived != last) {
			last = r->rreceived;
			progress = now;
		} else if (now - progress > opt.stall_s || now > deadline) {
			break; /* lost messages: the counts say so */
		}
		if (r->rreceived < r->rn && !may_send(r, now))
			wait_io(r, now);
		now = mono();
	}
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
summarise(struct run *r)
{
	double sum = 0;
	long i, n = r->received;

	r->msgs_per_s = r->secs > 0 ? (double)n / r->secs : 0;
	if (n == 0)
		return;
	qsort(r->lat, (size_t)n, sizeof(double), cmp_double);
	for (i = 0; i < n; i++)
		sum += r->lat[i];
	r->p50_us = r->lat[n / 2];
	r->p99_us = r->lat[(long)floor((double)(n - 1) * 0.99)];
	r->max_us = r->lat[n - 1];
	r->mean_us = sum / (double)n;
}

/* Per-round arrays sized for the longest round (rn), latencies for all n messages. */
static void
init_run(struct run *r, const char *name, enum path path, long n, long rn, int window,
    double rate)
{
	memset(r, 0, sizeof(*r));
	r->name = name;
	r->path = path;
	r->n = n;
	r->window = window;
	r->rate = rate;
	r->sent_at = malloc((size_t)rn * sizeof(double));
	r->dest = malloc((size_t)rn * sizeof(int));
	r->seen = malloc((size_t)rn);
	r->lat = malloc((size_t)n * sizeof(double));
	if (!r->sent_at || !r->dest || !r->seen || !r->lat)
		die("out of memory");
}

static void
free_run(struct run *r)
{
	free(r->sent_at);
	free(r->dest);
	free(r->seen);
	free(r->lat);
	r->sent_at = r->lat = NULL;
	r->dest = NULL;
	r->seen = NULL;
}

/* One round of rn messages on r's path; CPU time of each process is the delta over it. */
static void
round_of(struct run *r, long rn)
{
	static int next_id = 1;
	double p0 = cpu_seconds(prosody.pid), q0 = cpu_seconds(respa.pid);
	double s0 = self_cpu_seconds();
	double pw = runq_wait_seconds(prosody.pid), qw = runq_wait_seconds(respa.pid);
	double sw = runq_wait_seconds(0);

	r->id = next_id++;
	r->rn = rn;
	r->sent = r->rreceived = 0;
	memset(r->seen, 0, (size_t)rn);
	cur = r;
	drive(r);
	r->prosody_cpu += cpu_seconds(prosody.pid) - p0;
	r->respa_cpu += cpu_seconds(respa.pid) - q0; /* idle on the direct path: shows it */
	r->self_cpu += self_cpu_seconds() - s0;
	r->prosody_wait += runq_wait_seconds(prosody.pid) - pw;
	r->respa_wait += runq_wait_seconds(respa.pid) - qw;
	r->self_wait += runq_wait_seconds(0) - sw;
	r->secs += r->t_last - r->t0;
	/* a moment for stragglers, so that the next round starts clean and they are counted */
	if (r->rreceived < r->rn) {
		double until = mono() + 0.5;

		while (mono() < until)
			xmpp_run_once(ctx, 5);
	}
	cur = NULL;
	check_respa();
}

/* Both paths, n messages each, in rounds that alternate which path goes first. */
static void
measure(struct run pair[2], const char *name, long n, int window, double rate, int rounds)
{
	long per = n / rounds, rn;
	int k, p, first;

	for (p = 0; p < 2; p++)
		init_run(&pair[p], name, (enum path)p, n, per + 1, window, rate);
	for (k = 0; k < rounds; k++) {
		rn = per + (k < n % rounds);
		first = k % 2 ? DIRECT_PATH : COMPONENT_PATH;
		round_of(&pair[first], rn);
		round_of(&pair[!first], rn);
	}
	for (p = 0; p < 2; p++) {
		summarise(&pair[p]);
		free_run(&pair[p]);
		if (opt.verbose)
			fprintf(stderr, "c2sload: %s %s: %ld/%ld in %.2f s\n",
			    path_name(pair[p].path), name, pair[p].received, pair[p].n,
			    pair[p].secs);
	}
}

/* ------------------------------------------------------------------------------------- */
/* output                                                                                */

struct report {
	struct run warm[2], full[2], paced[2];  /* [COMPONENT_PATH], [DIRECT_PATH] */
	double register_s, login_s, subscribe_s, chats_s;
	double ratio, added_p99_ms, added_p50_ms, load0, load1;
	double prosody_ratio;   /* direct / component Prosody CPU per message, full speed */
	int respa_exit, respa_graceful, respa_clean;
	char cpu[128];
	long nproc;
};

static double
prosody_us_per_msg(const struct run *r)
{
	return r->received ? 1e6 * r->prosody_cpu / (double)r->received : 0;
}

static void
print_run(const struct run *r)
{
	char label[48];

	snprintf(label, sizeof(label), "%-9s %s", path_name(r->path), r->name);
	printf("%-24s %8.0f %8.3f %8.3f %8.3f %6.0f%% %5.0f %6.0f%% %5.0f %6.0f%% %5.0f %6ld\n",
	    label, r->msgs_per_s, r->p50_us / 1e3, r->p99_us / 1e3, r->max_us / 1e3,
	    r->secs > 0 ? 100 * r->prosody_cpu / r->secs : 0,
	    prosody_us_per_msg(r), r->secs > 0 ? 100 * r->respa_cpu / r->secs : 0,
	    r->received ? 1e6 * r->respa_cpu / (double)r->received : 0,
	    r->secs > 0 ? 100 * r->self_cpu / r->secs : 0,
	    r->received ? 1e6 * r->self_cpu / (double)r->received : 0,
	    r->n - r->received);
}

static void
print_table(const struct report *rep)
{
	int p;

	printf("c2sload: respa through Prosody vs. the same clients direct; %d agents, "
	    "%d customers, %ld messages a path and run in %d alternating rounds, window %d, "
	    "body %d B\n", opt.agents, opt.customers, opt.messages, opt.rounds, opt.window,
	    opt.body);
	printf("clients: stream management %s, Nagle off; Prosody's sockets: Nagle %s\n",
	    opt.sm ? "on" : "off", opt.nagle ? "on (its default)" : "off");
	printf("respa: %s, database in %s\n", opt.respa, opt.db_dir ? opt.db_dir : "the temp dir");
	printf("machine: %ld CPUs, %s; load average %.2f before, %.2f after\n", rep->nproc,
	    rep->cpu, rep->load0, rep->load1);
	printf("setup: accounts %.2f s (prosodyctl shell), login %.2f s, respa subscribed "
	    "%.2f s, chats opened %.2f s\n\n", rep->register_s, rep->login_s, rep->subscribe_s,
	    rep->chats_s);
	printf("%-24s %8s %8s %8s %8s %13s %13s %13s %6s\n", "run", "msgs/s", "p50 ms",
	    "p99 ms", "max ms", "prosody cpu", "respa cpu", "c2sload cpu", "lost");
	printf("%-24s %8s %8s %8s %8s %7s %5s %7s %5s %7s %5s\n", "", "", "", "", "", "",
	    "us/msg", "", "us/msg", "", "us/msg");
	for (p = 0; p < 2; p++)
		print_run(&rep->full[p]);
	for (p = 0; p < 2; p++)
		print_run(&rep->paced[p]);
	printf("\n%-24s %13s %13s %13s   (runnable, waiting for a CPU: other work on the "
	    "machine)\n", "waited for a CPU, ms", "prosody", "respa", "c2sload");
	for (p = 0; p < 4; p++) {
		const struct run *r = p < 2 ? &rep->full[p] : &rep->paced[p - 2];

		printf("%-9s %-14s %13.1f %13.1f %13.1f\n", path_name(r->path), r->name,
		    1e3 * r->prosody_wait, 1e3 * r->respa_wait, 1e3 * r->self_wait);
	}
	printf("\npaced runs: %.0f msgs/s (%.0f%% of the component path's full rate)\n",
	    rep->paced[0].rate, 100 * opt.load);
	printf("ratio component/direct msgs/s: %.3f (target >= %.2f)  %s\n", rep->ratio,
	    TARGET_RATIO, rep->ratio >= TARGET_RATIO ? "met" : "NOT met");
	printf("  Prosody CPU per message, direct/component: %.3f (the ratio if Prosody alone were "
	    "the limit; 0.5 if its component hop cost as much as a c2s one)\n",
	    rep->prosody_ratio);
	printf("respa's added p99 at %.0f%% load: %.3f ms (target <= %.1f ms)  %s\n",
	    100 * opt.load, rep->added_p99_ms, TARGET_ADDED_P99_MS,
	    rep->added_p99_ms <= TARGET_ADDED_P99_MS ? "met" : "NOT met");
	printf("  and added p50: %.3f ms\n", rep->added_p50_ms);
	if (nerrors)
		printf("error stanzas: %ld, first: %s\n", nerrors, first_error);
	printf("respa at the end: %s after SIGTERM%s\n", rep->respa_graceful ? (rep->respa_exit == 0 ?
	    "exit 0" : "non-zero exit") : "killed", rep->respa_clean ? "" :
	    "; its log has a fatal or sanitizer report");
}

static void
json_run(FILE *f, const struct run *r, const char *sep)
{
	fprintf(f, "    {\"path\": \"%s\", \"run\": \"%s\", \"messages\": %ld, \"window\": %d, "
	    "\"rate_target\": %.1f, \"received\": %ld, \"lost\": %ld, "
	    "\"misrouted\": %ld, \"duplicates\": %ld, \"strays\": %ld, \"seconds\": %.4f, "
	    "\"msgs_per_s\": %.1f, \"p50_us\": %.1f, \"p99_us\": %.1f, \"max_us\": %.1f, "
	    "\"mean_us\": %.1f, \"prosody_cpu_s\": %.3f, \"respa_cpu_s\": %.3f, "
	    "\"c2sload_cpu_s\": %.3f, \"prosody_runq_wait_s\": %.4f, "
	    "\"respa_runq_wait_s\": %.4f, \"c2sload_runq_wait_s\": %.4f}%s\n",
	    path_name(r->path), r->name, r->n, r->window,
	    r->rate, r->received, r->n - r->received, r->misrouted, r->dups, r->strays,
	    r->secs, r->msgs_per_s, r->p50_us, r->p99_us, r->max_us, r->mean_us, r->prosody_cpu,
	    r->respa_cpu, r->self_cpu, r->prosody_wait, r->respa_wait, r->self_wait, sep);
}

static void
write_json(const struct report *rep, const char *path)
{
	FILE *f = fopen(path, "w");
	int p;

	if (f == NULL)
		die("%s: %s", path, strerror(errno));
	fprintf(f, "{\n  \"benchmark\": \"c2sload\",\n  \"respa\": \"%s\",\n", opt.respa);
	fprintf(f, "  \"parameters\": {\"agents\": %d, \"customers\": %d, \"messages\": %ld, "
	    "\"window\": %d, \"rounds\": %d, \"load\": %.2f, \"body_bytes\": %d, "
	    "\"stream_management\": %s, \"prosody_nagle\": %s, \"db_dir\": \"%s\", "
	    "\"tiny\": %s, \"accounts_via\": \"prosodyctl shell\"},\n", opt.agents,
	    opt.customers, opt.messages, opt.window, opt.rounds, opt.load, opt.body,
	    opt.sm ? "true" : "false", opt.nagle ? "true" : "false",
	    opt.db_dir ? opt.db_dir : "temp dir", opt.tiny ? "true" : "false");
	fprintf(f, "  \"machine\": {\"nproc\": %ld, \"cpu_model\": \"%s\", \"loadavg_before\": "
	    "%.2f, \"loadavg_after\": %.2f},\n", rep->nproc, rep->cpu, rep->load0, rep->load1);
	fprintf(f, "  \"setup_s\": {\"accounts\": %.3f, \"login\": %.3f, \"subscribed\": %.3f, "
	    "\"chats\": %.3f},\n", rep->register_s, rep->login_s, rep->subscribe_s, rep->chats_s);
	fprintf(f, "  \"runs\": [\n");
	for (p = 0; p < 2; p++)
		json_run(f, &rep->full[p], ",");
	for (p = 0; p < 2; p++)
		json_run(f, &rep->paced[p], p == 0 ? "," : "");
	fprintf(f, "  ],\n  \"paced_rate\": %.1f,\n  \"ratio\": %.4f,\n"
	    "  \"prosody_cpu_per_msg_ratio\": %.4f,\n  \"added_p99_ms\": %.4f,\n"
	    "  \"added_p50_ms\": %.4f,\n", rep->paced[0].rate, rep->ratio, rep->prosody_ratio,
	    rep->added_p99_ms, rep->added_p50_ms);
	fprintf(f, "  \"targets\": {\"ratio_min\": %.2f, \"ratio_met\": %s, "
	    "\"added_p99_max_ms\": %.1f, \"added_p99_met\": %s},\n", TARGET_RATIO,
	    rep->ratio >= TARGET_RATIO ? "true" : "false", TARGET_ADDED_P99_MS,
	    rep->added_p99_ms <= TARGET_ADDED_P99_MS ? "true" : "false");
	fprintf(f, "  \"error_stanzas\": %ld,\n  \"respa_exit\": %d,\n"
	    "  \"respa_log_clean\": %s\n}\n",
	    nerrors, rep->respa_graceful ? rep->respa_exit : -9,
	    rep->respa_clean ? "true" : "false");
	if (ferror(f) | fclose(f))
		die("%s: write failed", path);
}

/* ------------------------------------------------------------------------------------- */
/* main                                                                                  */

static long
num_arg(int argc, char **argv, int *i, long min, long max)
{
	char *end;
	long v;

	if (*i + 1 >= argc)
		usage();
	v = strtol(argv[++*i], &end, 10);
	if (*end != '\0' || v < min || v > max) {
		fprintf(stderr, "c2sload: %s wants a number from %ld to %ld\n", argv[*i - 1], min,
		    max);
		exit(2);
	}
	return v;
}

static void
parse_args(int argc, char **argv)
{
	int i;

	/* --tiny sets the defaults, wherever it stands; other flags still override them */
	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "--tiny") == 0) {
			opt.tiny = 1;
			opt.agents = 4, opt.customers = 8, opt.messages = 400, opt.window = 16;
			opt.rounds = 2;
			opt.stall_s = 5;
		}
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--tiny") == 0)
			continue;
		else if (strcmp(a, "--agents") == 0)
			opt.agents = (int)num_arg(argc, argv, &i, 1, MAX_CLIENTS);
		else if (strcmp(a, "--customers") == 0)
			opt.customers = (int)num_arg(argc, argv, &i, 1, MAX_CLIENTS);
		else if (strcmp(a, "--messages") == 0)
			opt.messages = num_arg(argc, argv, &i, 2, 100000000);
		else if (strcmp(a, "--window") == 0)
			opt.window = (int)num_arg(argc, argv, &i, 1, 1000000);
		else if (strcmp(a, "--rounds") == 0)
			opt.rounds = (int)num_arg(argc, argv, &i, 1, 1000);
		else if (strcmp(a, "--body") == 0)
			opt.body = (int)num_arg(argc, argv, &i, 0, (long)sizeof(padding) - 1);
		else if (strcmp(a, "--load") == 0 && i + 1 < argc)
			opt.load = atof(argv[++i]);
		else if (strcmp(a, "--respa") == 0 && i + 1 < argc)
			opt.respa = argv[++i];
		else if (strcmp(a, "--db-dir") == 0 && i + 1 < argc)
			opt.db_dir = argv[++i];
		else if (strcmp(a, "--json") == 0 && i + 1 < argc)
			opt.json = argv[++i];
		else if (strcmp(a, "--sm") == 0)
			opt.sm = 1;
		else if (strcmp(a, "--nagle") == 0)
			opt.nagle = 1;
		else if (strcmp(a, "--keep") == 0)
			opt.keep = 1;
		else if (strcmp(a, "-v") == 0)
			opt.verbose = 1;
		else
			usage();
	}
	if (opt.messages < 2L * opt.rounds)
		die("--messages must be at least twice --rounds");
	if (opt.load <= 0 || opt.load > 1)
		die("--load wants a fraction in (0, 1]");
	if (opt.agents + opt.customers > MAX_CLIENTS)
		die("at most %d clients in all (libstrophe's loop uses select())", MAX_CLIENTS);
	if (opt.customers > opt.agents * MAX_CAPACITY)
		die("%d agents take at most %d customers at once", opt.agents,
		    opt.agents * MAX_CAPACITY);
}

/*
 * Built in a build tree, we are BUILD/bench/c2sload and respa is BUILD/src/respa; anywhere
 * else, the project's usual build directory.
 */
static const char *
default_respa(void)
{
	static char path[4096];
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 16);
	char *slash;
	int up;

	if (n > 0) {
		path[n] = '\0';
		for (up = 0; up < 2 && (slash = strrchr(path, '/')) != NULL; up++)
			*slash = '\0';
		strcat(path, "/src/respa");
		if (up == 2 && access(path, X_OK) == 0)
			return path;
	}
	return "/work/main/build/src/respa";
}

static void
setup_workdir(void)
{
	snprintf(workdir, sizeof(workdir), "/tmp/c2sload.XXXXXX");
	if (mkdtemp(workdir) == NULL) {
		workdir[0] = '\0';
		die("mkdtemp: %s", strerror(errno));
	}
}

static void
setup(struct report *rep)
{
	double t;

	t = mono();
	start_prosody();
	register_accounts();
	rep->register_s = mono() - t;

	if ((epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		die("epoll_create1: %s", strerror(errno));
	ctx = xmpp_ctx_new(NULL, opt.verbose ? xmpp_get_default_logger(XMPP_LEVEL_WARN) : NULL);
	make_clients();
	t = mono();
	run_until(all_online, 30 + nclients * 0.1, "every client to log in");
	rep->login_s = mono() - t;

	/* respa after the agents are online: it subscribes to them the moment it connects */
	t = mono();
	start_respa();
	run_until(all_subscribed, 30, "respa's subscription request at every agent");
	rep->subscribe_s = mono() - t;

	t = mono();
	open_chats();
	rep->chats_s = mono() - t;
}

/* Warm-up, both paths at full speed, then both paced at a share of the component's rate. */
static void
benchmark(struct report *rep)
{
	long warm = opt.messages / 10 > 2L * opt.window ? opt.messages / 10 : 2L * opt.window;

	measure(rep->warm, "warm-up", warm, opt.window, 0, 1);
	measure(rep->full, "full", opt.messages, opt.window, 0, opt.rounds);
	if (rep->full[COMPONENT_PATH].msgs_per_s <= 0)
		die("the component path delivered nothing (see %s)", path_in("respa.log"));
	rep->ratio = rep->full[COMPONENT_PATH].msgs_per_s /
	    fmax(1e-9, rep->full[DIRECT_PATH].msgs_per_s);
	rep->prosody_ratio = prosody_us_per_msg(&rep->full[DIRECT_PATH]) /
	    fmax(1e-9, prosody_us_per_msg(&rep->full[COMPONENT_PATH]));
	measure(rep->paced, opt.load == 0.5 ? "half" : "paced", opt.messages, 0,
	    opt.load * rep->full[COMPONENT_PATH].msgs_per_s, opt.rounds);
	rep->added_p99_ms = (rep->paced[COMPONENT_PATH].p99_us -
	    rep->paced[DIRECT_PATH].p99_us) / 1e3;
	rep->added_p50_ms = (rep->paced[COMPONENT_PATH].p50_us -
	    rep->paced[DIRECT_PATH].p50_us) / 1e3;
}

/* Orderly end: respa first (its exit status is part of the result), then the clients. */
static void
teardown(struct report *rep)
{
	int i;

	rep->respa_graceful = stop_proc(&respa);
	rep->respa_exit = respa.reaped && WIFEXITED(respa.status) ? WEXITSTATUS(respa.status) :
	    -1;
	rep->respa_clean = respa_log_clean();
	closing = 1;
	for (i = 0; i < nclients; i++)
		if (clients[i].state == C_ONLINE)
			xmpp_disconnect(clients[i].conn);
	run_until(all_closed, 5, "the clients to log out");
	for (i = 0; i < nclients; i++) {
		xmpp_conn_release(clients[i].conn);
		clients[i].fd = -1; /* closed by libstrophe: not ours to shut any more */
	}
	xmpp_ctx_free(ctx);
	ctx = NULL;
	stop_proc(&prosody);
}

/* --tiny is a test: every message must arrive, unharmed, and respa must end cleanly. */
static int
all_well(const struct report *rep)
{
	const struct run *runs[] = { &rep->warm[0], &rep->warm[1], &rep->full[0], &rep->full[1],
		&rep->paced[0], &rep->paced[1] };
	size_t i;
	int ok = 1;

	for (i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		const struct run *r = runs[i];

		if (r->received != r->n || r->misrouted || r->dups || r->strays) {
			fprintf(stderr, "c2sload: %s %s: %ld of %ld arrived, %ld misrouted, "
			    "%ld duplicated, %ld strays\n", path_name(r->path), r->name,
			    r->received, r->n, r->misrouted, r->dups, r->strays);
			ok = 0;
		}
	}
	if (nerrors) {
		fprintf(stderr, "c2sload: %ld error stanzas; first: %s\n", nerrors, first_error);
		ok = 0;
	}
	if (!rep->respa_graceful || rep->respa_exit != 0 || !rep->respa_clean) {
		fprintf(stderr, "c2sload: respa did not end cleanly (see %s)\n",
		    path_in("respa.log"));
		ok = 0;
	}
	return ok;
}

int
main(int argc, char **argv)
{
	static struct report rep;
	int ok;

	parse_args(argc, argv);
	if (opt.respa == NULL)
		opt.respa = default_respa();
	memset(padding, 'x', (size_t)opt.body);
	/* Prosody's daemon is reparented to us, so we can reap it and know its pid is ours */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1)
		die("prctl(PR_SET_CHILD_SUBREAPER): %s", strerror(errno));
	install_signals();
	setup_workdir();
	rep.nproc = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_model(rep.cpu, sizeof(rep.cpu));
	rep.load0 = loadavg();

	xmpp_initialize();
	setup(&rep);
	benchmark(&rep);
	rep.load1 = loadavg();
	teardown(&rep);
	xmpp_shutdown();

	print_table(&rep);
	if (opt.json)
		write_json(&rep, opt.json);
	ok = all_well(&rep);
	if (opt.tiny && !ok)
		return 1;
	succeeded = 1;
	return 0;
}
