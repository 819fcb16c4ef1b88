/*
 * Routing decision, in process: the whole handler that decides who takes a chat, timed per
 * call, with 10 to 100,000 agents and waiting chats. Real modules, real SQLite on a temp
 * file, stanzas parsed from strings; only the server link is absent.
 *
 *   new chat:  all agents free; a customer's first message -> greeted, stored, assigned.
 *   agent free: N chats waiting; an agent comes online -> the oldest chat is assigned.
 *   long line: N chats waiting, no agent online; LINE more customers write -> each waits.
 *
 * The cost must stay flat (or grow as log n) from 10 to 100,000.
 *
 * usage: routing [--tiny] [--sizes 10,1000,100000] [--lines 0,1000,10000] [--json FILE]
 * (--lines: the long-line case, n = chats already waiting; 1,000 more are timed; cpu/chat
 * is the process CPU of that flood per chat, the place notices and the queue's presence to
 * its watchers included)
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "respa.h"

volatile sig_atomic_t respa_quit;

#define BATCH 1000 /* decisions between commits, as a busy loop pass would have */

struct result {
	const char *scenario;
	long n;
	double p50, p99, max, mean; /* microseconds */
	double cpu; /* long line: process CPU per chat, timers and commits included */
};

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
summarise(struct result *r, double *t, long n)
{
	double sum = 0;
	long i;

	qsort(t, (size_t)n, sizeof(*t), cmp_double);
	for (i = 0; i < n; i++)
		sum += t[i];
	r->n = n;
	r->p50 = t[n / 2];
	r->p99 = t[(long)floor((double)(n - 1) * 0.99)];
	r->max = t[n - 1];
	r->mean = sum / (double)n;
}

/* A config with one queue and n agents, one chat each. */
static char *
write_config(const char *dir, long n)
{
	char *path = xasprintf("%s/respa.conf", dir);
	FILE *f = fopen(path, "w");
	long i;

	if (f == NULL)
		fatal("%s", path);
	fprintf(f, "[component]\njid = support.localhost\nsecret = bench\n"
	    "[storage]\ndatabase = %s/respa.db\n[queue support]\nmax_queue = 0\n", dir);
	for (i = 0; i < n; i++) /* 100 a line: respa.conf's lines are bounded */
		fprintf(f, "%sagent%ld@localhost%s", i % 100 ? " " : "agents = ", i,
		    i % 100 == 99 || i == n - 1 ? "\n" : "");
	for (i = 0; i < n; i++)
		fprintf(f, "[agent agent%ld@localhost]\ncapacity = 1\n", i);
	/* lines far longer than a desk's: no cap, no per-customer limits */
	fprintf(f, "[limits]\nmax_open_per_customer = 0\nopens_per_minute = 0\n"
	    "messages_per_minute = 0\n");
	fclose(f);
	chmod(path, 0600);
	return path;
}

/* Feeds one stanza, given as XML text, to a handler; returns the microseconds it took. */
static double
feed(xmpp_handler fn, const char *xml)
{
	xmpp_stanza_t *st = xmpp_stanza_new_from_string(component_ctx(), xml);
	double t0, t1;

	if (st == NULL)
		fatalx("bad stanza: %s", xml);
	t0 = now_us();
	fn(NULL, st, NULL);
	t1 = now_us();
	xmpp_stanza_release(st);
	return t1 - t0;
}

static void
customer_writes(long i, double *t)
{
	char xml[256];

	snprintf(xml, sizeof(xml), "<message from='cust%ld@localhost/web' "
	    "to='support@support.localhost' type='chat' id='m%ld'><body>Hello, I need help "
	    "with order %ld</body></message>", i, i, i);
	*t = feed(conversation_handler, xml);
}

static void
agent_online(long i, double *t)
{
	char xml[160];

	snprintf(xml, sizeof(xml), "<presence from='agent%ld@localhost/desk' "
	    "to='support.localhost'/>", i);
	*t = feed(presence_handler, xml);
}

/* Commits and drops the batch's stanzas: there is no server to send them to. */
static void
settle(void)
{
	if (store_commit() == -1)
		fatalx("commit failed");
	component_flush();
}

struct world {
	char dir[64];
	struct config *conf;
	xmpp_ctx_t *ctx;
};

static void
world_up(struct world *w, long n)
{
	char *path;

	snprintf(w->dir, sizeof(w->dir), "/tmp/respa-bench-routing-XXXXXX");
	if (mkdtemp(w->dir) == NULL)
		fatal("mkdtemp");
	path = write_config(w->dir, n);
	if ((w->conf = config_load(path, stderr)) == NULL)
		fatalx("config");
	free(path);
	if (store_open(w->conf->database, 0) == -1)
		fatalx("store");
	presence_init(w->conf);
	router_init(w->conf);
	queue_init(w->conf);
	conversation_init(w->conf);
	w->ctx = xmpp_ctx_new(NULL, NULL);
	component_init(w->conf, w->ctx);
}

static void
world_down(struct world *w)
{
	char *cmd;

	settle();
	conversation_free_all();
	queue_free_all();
	router_free();
	timer_free_all();
	store_close();
	component_free();
	xmpp_ctx_free(w->ctx);
	config_free(w->conf);
	cmd = xasprintf("rm -rf '%s'", w->dir);
	if (system(cmd) != 0)
		log_warnx("could not remove %s", w->dir);
	free(cmd);
}

/* Each step is timed alone; the untimed loop around it does the setup. */
static void
run_steps(void (*step)(long, double *), long n, double *t)
{
	long i;

	for (i = 0; i < n; i++) {
		step(i, &t[i]);
		if (i % BATCH == BATCH - 1)
			settle();
	}
	settle();
}

static void
scenario_new_chat(long n, struct result *r)
{
	struct world w;
	double *t = xcalloc((size_t)n, sizeof(*t)), *unused = xcalloc((size_t)n, sizeof(*t));

	world_up(&w, n);
	run_steps(agent_online, n, unused); /* all free */
	run_steps(customer_writes, n, t);   /* timed: each assigned at once */
	if (conversation_count() != (size_t)n)
		fatalx("expected %ld conversations, have %zu", n, conversation_count());
	world_down(&w);
	r->scenario = "new chat, agents free";
	summarise(r, t, n);
	free(t);
	free(unused);
}

static void
scenario_agent_free(long n, struct result *r)
{
	struct world w;
	struct queue *q;
	double *t = xcalloc((size_t)n, sizeof(*t)), *unused = xcalloc((size_t)n, sizeof(*t));

	world_up(&w, n);
	run_steps(customer_writes, n, unused); /* all wait */
	q = config_queue("support");
	if (q->nwaiting != (size_t)n)
		fatalx("expected %ld waiting, have %zu", n, q->nwaiting);
	run_steps(agent_online, n, t); /* timed: each takes the oldest */
	if (q->nwaiting != 0)
		fatalx("%zu chats left waiting", q->nwaiting);
	world_down(&w);
	r->scenario = "agent frees up, chats waiting";
	summarise(r, t, n);
	free(t);
	free(unused);
}

/*
 * Joining a line must cost the same behind 10,000 as behind none. Customers come as the web
 * widget brings them: a directed presence to the queue (so they watch its state), then the
 * first message. The LINE timed ones arrive at RATE a second on a test clock, with the timers
 * run as the loop would; "cpu" is the process CPU over that flood (commits and timers
 * included) per chat, the figure that grew with the line.
 */
#define LINE 1000
#define RATE 100 /* new chats a second */

static void
widget_customer(long i, double *t)
{
	char xml[160];

	snprintf(xml, sizeof(xml), "<presence from='cust%ld@localhost/web' "
	    "to='support@support.localhost'/>", i);
	double tp = feed(presence_handler, xml);

	customer_writes(i, t);
	*t += tp;
}

static double
cpu_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* The timed flood, a function of its own for callgrind --toggle-collect=flood. */
static __attribute__((noinline)) void
flood(long first, long line, double *t, int64_t *clock)
{
	for (long i = 0; i < line; i++) {
		widget_customer(first + i, &t[i]);
		respa_clock_set(*clock += 1000 / RATE);
		timer_run();
		if (i % BATCH == BATCH - 1)
			settle();
	}
	settle();
}

static void
scenario_long_line(long n, long line, struct result *r)
{
	struct world w;
	struct queue *q;
	double *t = xcalloc((size_t)line, sizeof(*t)), *unused = xcalloc((size_t)n + 1, sizeof(*t));
	double c0;
	int64_t clock = respa_now_ms();

	respa_clock_set(clock);
	world_up(&w, 10); /* 10 agents, none online */
	run_steps(widget_customer, n, unused); /* the line */
	c0 = cpu_us();
	flood(n, line, t, &clock); /* timed: the next customers, each joining its end */
	r->cpu = (cpu_us() - c0) / (double)line;
	q = config_queue("support");
	if (q->nwaiting != (size_t)(n + line))
		fatalx("expected %ld waiting, have %zu", n + line, q->nwaiting);
	world_down(&w);
	respa_clock_set(0);
	r->scenario = "new chat, n already waiting";
	summarise(r, t, line);
	r->n = n;
	free(t);
	free(unused);
}

static void
print_json(FILE *f, const struct result *r, size_t nr)
{
	char host[128] = "";
	size_t i;

	gethostname(host, sizeof(host) - 1);
	fprintf(f, "{\"benchmark\": \"routing\", \"host\": \"%s\", \"cpus\": %ld, "
	    "\"unit\": \"microseconds per decision\", \"results\": [", host,
	    sysconf(_SC_NPROCESSORS_ONLN));
	for (i = 0; i < nr; i++)
		fprintf(f, "%s\n  {\"scenario\": \"%s\", \"n\": %ld, \"p50\": %.2f, \"p99\": %.2f, "
		    "\"max\": %.2f, \"mean\": %.2f, \"cpu\": %.2f}", i ? "," : "", r[i].scenario,
		    r[i].n, r[i].p50, r[i].p99, r[i].max, r[i].mean, r[i].cpu);
	fprintf(f, "\n]}\n");
}

int
main(int argc, char **argv)
{
	const char *sizes = "10,1000,100000", *lines = "0,1000,10000", *json = NULL;
	long line = LINE;
	struct result res[32] = { 0 };
	size_t nr = 0, i;
	char *list, *w, *save = NULL;
	FILE *f;

	for (int a = 1; a < argc; a++) {
		if (strcmp(argv[a], "--tiny") == 0) {
			sizes = "10,200";
			lines = "0,200";
			line = 50;
		} else if (strcmp(argv[a], "--lines") == 0 && a + 1 < argc)
			lines = argv[++a];
		else if (strcmp(argv[a], "--sizes") == 0 && a + 1 < argc)
			sizes = argv[++a];
		else if (strcmp(argv[a], "--json") == 0 && a + 1 < argc)
			json = argv[++a];
		else {
			fprintf(stderr, "usage: routing [--tiny] [--sizes N,N...] [--lines N,N...] "
			    "[--json FILE]\n");
			return 1;
		}
	}
	log_init(-1, "routing");
	xmpp_initialize();
	list = xstrdup(sizes);
	for (w = strtok_r(list, ",", &save); w && nr + 2 <= 32; w = strtok_r(NULL, ",", &save)) {
		long n = atol(w);

		if (n <= 0)
			fatalx("bad size %s", w);
		scenario_new_chat(n, &res[nr++]);
		scenario_agent_free(n, &res[nr++]);
	}
	free(list);
	list = xstrdup(lines);
	for (w = strtok_r(list, ",", &save); w && nr + 1 <= 32; w = strtok_r(NULL, ",", &save)) {
		long n = atol(w);

		if (n < 0)
			fatalx("bad line length %s", w);
		scenario_long_line(n, line, &res[nr++]);
	}
	free(list);
	xmpp_shutdown();
	printf("%-32s %8s %9s %9s %9s %9s %9s\n", "routing decision (us)", "n", "p50", "p99", "max",
	    "mean", "cpu/chat");
	for (i = 0; i < nr; i++) {
		printf("%-32s %8ld %9.1f %9.1f %9.1f %9.1f", res[i].scenario, res[i].n,
		    res[i].p50, res[i].p99, res[i].max, res[i].mean);
		if (res[i].cpu > 0)
			printf(" %9.1f", res[i].cpu);
		printf("\n");
	}
	if (json) {
		if ((f = fopen(json, "w")) == NULL)
			fatal("%s", json);
		print_json(f, res, nr);
		fclose(f);
	}
	return 0;
}
