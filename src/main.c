/* respa: options, start-up, the run loop, ordered shutdown. Signals only set flags. */
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "respa.h"

#define LOOP_MS 250
#define BATCH_STANZAS 256 /* most stanzas one commit covers */
#define BATCH_PASSES 32   /* most reads without waiting before a commit */
/*
 * Stanzas libstrophe may hold unsent before respa stops reading (back-pressure): a few
 * hundred KiB. Above it the server is not taking what we send, and reading on would only
 * grow the queue (libstrophe's is unbounded) and the delay of everyone's replies.
 */
#define OUT_HIGH_WATER 2000

volatile sig_atomic_t respa_quit;
static volatile sig_atomic_t got_hup;

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		got_hup = 1;
	else
		respa_quit = 1;
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: respa [-nv] [-c file]\n"
	    "       respa export [-c file] [--since DATE] [--until DATE] [--open] "
	    "[--format jsonl|csv] [--raw-csv] [-o file]\n"
	    "       respa report [-c file] [--since DATE] [--until DATE] [--queue Q] [-o file]\n"
	    "       respa erase-contact [-c file] CONTACT\n"
	    "       respa backup [-c file] [--force] OUT\n"
	    "  -c file    configuration file (default " SYSCONFDIR "/respa.conf)\n"
	    "  -n         check the configuration, print \"configuration OK\" and exit\n"
	    "  -v         more logging (twice: libstrophe's too)\n"
	    "  --version  print the version and exit\n"
	    "  --help     print this help and exit (export, report, erase-contact and backup "
	    "--help: theirs)\n");
}

static void
signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

/*
 * Reads on without waiting while stanzas keep coming, so that one commit covers many
 * (libstrophe reads 4 KiB a pass). Bounded, so that what was decided goes out soon.
 */
static void
read_batch(xmpp_ctx_t *ctx)
{
	unsigned long before = component_handled(), last;
	int64_t next = component_is_connected() ? timer_next() : -1;
	int passes = 0, wait = next >= 0 && next < LOOP_MS ? (int)next : LOOP_MS;
	static int held_back;

	/*
	 * Back-pressure: libstrophe writes before it reads in each pass and reads at most one
	 * 4 KiB block. While its queue is long, a pass runs only once the socket takes more
	 * output, so what respa reads is paced by what the server takes, and no batch reads on.
	 * Not once stopping: closing the stream needs libstrophe's passes and its timeout.
	 */
	if (!respa_quit && component_backlog() > OUT_HIGH_WATER) {
		if (!held_back++)
			log_warnx(
			    "%d stanzas wait to go out: reading paused until the server takes "
			    "them",
			    component_backlog());
		if (component_wait_writable(wait))
			xmpp_run_once(ctx, 0);
		return;
	}
	if (held_back) {
		log_info("the server took the backlog; reading again (%d passes held back)",
		    held_back);
		held_back = 0;
	}

	/* sleep until the first deadline; timers wait while the link is down */
	xmpp_run_once(ctx, (unsigned long)wait);
	do {
		last = component_handled();
		if (last == before || last - before >= BATCH_STANZAS || ++passes > BATCH_PASSES)
			break;
		xmpp_run_once(ctx, 0);
	} while (component_handled() != last);
}

/* store_commit(), counted for the metrics: its latency, and whether it failed */
static int
commit_timed(void)
{
	struct timespec t0, t1;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = store_commit();
	clock_gettime(CLOCK_MONOTONIC, &t1);
	counters_commit((double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	if (rc == -1)
		counters[C_COMMITS_FAILED]++;
	return rc;
}

/* One pass: read and decide, commit what was decided, then send it. */
static void
run(xmpp_ctx_t *ctx)
{
	int stopping = 0, failed;

	while (!component_is_finished()) {
		read_batch(ctx);
		if (component_is_connected())
			timer_run();
		if (got_hup) { /* a storm of signals is one reload */
			got_hup = 0;
			desk_reload(); /* what it decides is committed and sent with the pass */
		}
		failed = commit_timed() == -1;
		if (!failed)
			component_flush();
		else {
			component_abort_pass();
			conversation_reload();
		}
		timer_pass_done(failed);
		if (respa_quit && !stopping) {
			stopping = 1;
			log_info("shutting down");
			queue_goodbye(); /* sent before the stream closes */
			if (store_commit() == 0)
				component_flush();
			component_stop();
		}
	}
}

/* Memory rebuilt from the database: the conversations, then what depends on them. */
static int
restore(void)
{
	if (conversation_restore() == -1)
		return -1;
	queue_restored();
	tasks_start();
	return store_commit();
}

static const struct component_handlers handlers = {
	.message = conversation_handler,
	.presence = presence_handler,
	.iq = iq_handler,
	.connected = presence_connected,
	.sender = presence_sender,
};

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = SYSCONFDIR "/respa.conf";
	int ch, check = 0, verbose = 0, rc;
	struct config *conf;
	xmpp_ctx_t *ctx;

	if (argc > 1 && strcmp(argv[1], "export") == 0)
		return export_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "report") == 0)
		return report_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "erase-contact") == 0)
		return care_erase_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "backup") == 0)
		return care_backup_main(argc - 1, argv + 1);
	while ((ch = getopt_long(argc, argv, "c:nvVh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': path = optarg; break;
		case 'n': check = 1; break;
		case 'v': verbose++; break;
		case 'V': printf("respa %s\n", PACKAGE_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 1;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 1;
	}
	log_init(verbose, RESPA_NAME);
	if ((conf = config_load(path, stderr)) == NULL)
		return 1;
	if (check) {
		printf("configuration OK\n");
		config_free(conf);
		return 0;
	}
	signals();
	if (store_open(conf->database, conf->synchronous_full) == -1 ||
	    care_lock(conf->database) == -1) {
		store_close();
		config_free(conf);
		return 1;
	}
	if (desk_load(conf) == -1) { /* queues and agents made by commands */
		store_close();
		config_free(conf);
		return 1;
	}
	presence_init(conf);
	router_init(conf);
	queue_init(conf);
	tasks_init(conf);
	chatcmd_init(conf);
	conversation_init(conf);
	hook_init(conf);
	mailer_init(conf);
	alert_init(conf);
	care_init(conf);
	limits_init(conf);
	metrics_init(conf);
	adhoc_init(conf);
	commands_init(conf);
	adhoc_register(commands, ncommands);
	if (conf->queues == NULL)
		log_warnx("%s has no [queue] section: customers have nowhere to write", path);
	if (restore() == -1) {
		store_close();
		config_free(conf);
		return 1;
	}

	xmpp_initialize();
	ctx = xmpp_ctx_new(NULL, log_strophe());
	component_init(conf, ctx);
	component_set_handlers(&handlers);
	component_start();
	run(ctx);
	rc = component_fatal() ? 1 : 0;

	adhoc_free_all();
	conversation_free_all();
	metrics_write(); /* the last figures, with the link down */
	metrics_free();
	limits_free();
	queue_free_all();
	router_free();
	hook_free();
	mailer_free();
	alert_free();
	transcript_free();
	care_free();
	timer_free_all();
	store_close();
	component_free();
	xmpp_ctx_free(ctx);
	xmpp_shutdown();
	config_free(conf);
	log_info("stopped");
	return rc;
}
