/*
 * Data care: retention and erasure.
 *
 * Retention ([crm] retention_days): the transcripts of conversations closed more than that
 * many days ago are deleted, summaries, tags and tasks kept. It runs at start and then once
 * a day, RETENTION_BATCH messages a loop pass, so the loop never stalls on it.
 *
 * `respa erase-contact` removes a contact and everything of theirs for a privacy request
 * (store_contact_erase() does the work). respa holds DATABASE.lock while it runs, which is
 * how erase-contact knows whether it may take an open conversation as well.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "respa.h"

#define RETENTION_BATCH 500 /* messages deleted per loop pass */

enum { ERASE_OK, ERASE_ERROR, ERASE_USAGE, ERASE_UNKNOWN, ERASE_REFUSED };

static struct config *conf;
static struct timer retention_timer;
static int lock_fd = -1;
static long deleted_messages, deleted_convs; /* by the retention run going on */

/* Takes DATABASE.lock: 0, 1 when another process holds it, -1 on error (errno set). */
static int
lock_database(const char *database)
{
	char *path = xasprintf("%s.lock", database);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	free(path);
	if (fd == -1)
		return -1;
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		int busy = errno == EWOULDBLOCK;

		close(fd);
		return busy ? 1 : -1;
	}
	lock_fd = fd;
	return 0;
}

/* respa's own: one respa per database, and erase-contact can tell that it runs. */
int
care_lock(const char *database)
{
	switch (lock_database(database)) {
	case 0: return 0;
	case 1:
		log_warnx("database %s is in use by another respa (or by respa erase-contact): "
		          "%s.lock is locked",
		    database, database);
		return -1;
	default: log_warn("%s.lock", database); return -1;
	}
}

static void
retention_timer_fn(void *arg)
{
	time_t now = respa_now(), before = now - (time_t)conf->retention_days * 86400;
	int messages = 0, convs = 0, rc;
	char when[32];

	(void)arg;
	rc = store_transcripts_delete(before, now, RETENTION_BATCH, &messages, &convs);
	deleted_messages += messages;
	deleted_convs += convs;
	if (rc == -1) {
		timer_in(&retention_timer, 60);
		return;
	}
	if (rc == 1) { /* more: in the next pass, after this one's commit */
		timer_in(&retention_timer, 0.01);
		return;
	}
	if (deleted_convs > 0) {
		time_iso(before, when);
		log_info("retention: deleted the transcripts of %ld conversation%s closed "
		         "before %s (%ld messages)",
		    deleted_convs, deleted_convs == 1 ? "" : "s", when, deleted_messages);
	}
	deleted_messages = deleted_convs = 0;
	timer_in(&retention_timer, 86400);
}

void
care_init(struct config *c)
{
	conf = c;
	timer_init(&retention_timer, retention_timer_fn, NULL);
	if (conf->retention_days > 0)
		timer_in(&retention_timer, 0);
}

void
care_free(void)
{
	timer_cancel(&retention_timer);
	if (lock_fd != -1)
		close(lock_fd);
	lock_fd = -1;
}

/* --- respa erase-contact ------------------------------------------------------------------ */

static void
erase_usage(FILE *f)
{
	fprintf(f,
	    "usage: respa erase-contact [-c file] CONTACT\n"
	    "  CONTACT    a contact id (digits only), or any value the contact is known by:\n"
	    "             a JID, an email address, a phone number (+ and country code)\n"
	    "  -c file    configuration file (default " SYSCONFDIR "/respa.conf)\n"
	    "exit status: 0 erased; 1 error; 2 usage; 3 no such contact, or more than one;\n"
	    "             4 refused: the contact has an open conversation and respa runs\n");
}

static int
all_digits(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return 0;
	return 1;
}

/* Adds the contacts value names to ids (no duplicates); -1 on error. */
static int
find_add(const char *value, int64_t *ids, int *n, int max)
{
	int64_t found[4];
	int i, j, k;

	if ((k = store_contact_find(value, found, 4)) == -1)
		return -1;
	for (i = 0; i < k; i++) {
		for (j = 0; j < *n && ids[j] != found[i]; j++)
			;
		if (j == *n && *n < max)
			ids[(*n)++] = found[i];
	}
	return 0;
}

/* The contacts CONTACT may name: as written, case-folded, as a bare JID, as E.164. */
static int
resolve(const char *value, int64_t *ids, int max)
{
	char *folded = xstrdup(value), *bare, *p, phone[32];
	int n = 0, rc;

	for (p = folded; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	bare = jid_bare(folded);
	rc = find_add(value, ids, &n, max) == -1 || find_add(folded, ids, &n, max) == -1 ||
	        find_add(bare, ids, &n, max) == -1
	    ? -1
	    : 0;
	if (rc == 0 && !all_digits(value) && strchr(value, '@') == NULL &&
	    crm_phone_e164(value, conf->default_country, phone, sizeof(phone)) == 0)
		rc = find_add(phone, ids, &n, max);
	free(bare);
	free(folded);
	return rc == -1 ? -1 : n;
}

static int
erase(const char *value, int running)
{
	struct erase_report r;
	int64_t ids[4], open_conv = 0;
	int n, open;

	if ((n = resolve(value, ids, 4)) == -1)
		return ERASE_ERROR;
	if (n == 0) {
		fprintf(stderr, "respa erase-contact: no contact is known by \"%s\"\n", value);
		return ERASE_UNKNOWN;
	}
	if (n > 1) {
		fprintf(stderr,
		    "respa erase-contact: \"%s\" names more than one contact (%" PRId64
		    " and %" PRId64 "); give the contact's id instead\n",
		    value, ids[0], ids[1]);
		return ERASE_UNKNOWN;
	}
	if ((open = store_contact_open_count(ids[0], &open_conv)) == -1)
		return ERASE_ERROR;
	if (open > 0 && running) {
		fprintf(stderr,
		    "respa erase-contact: contact %" PRId64 " has an open conversation "
		    "(#%" PRId64 ") and respa is running, so nothing was erased.\n"
		    "  End the chat first (the agent's !close, or let it close by itself), then "
		    "run this again;\n  or stop respa, run this again (it then erases the open "
		    "conversation too), and start respa.\n",
		    ids[0], open_conv);
		return ERASE_REFUSED;
	}
	if (store_contact_erase(ids[0], &r) == -1)
		return ERASE_ERROR;
	printf("erased contact %" PRId64 ": %d conversation%s, %d message%s, %d task%s, "
	       "%d identit%s%s\n",
	    ids[0], r.conversations, r.conversations == 1 ? "" : "s", r.messages,
	    r.messages == 1 ? "" : "s", r.tasks, r.tasks == 1 ? "" : "s", r.identities,
	    r.identities == 1 ? "y" : "ies",
	    r.vacuumed ? "; the database file was rewritten (VACUUM)" : "");
	if (r.leftover[0])
		fprintf(stderr,
		    "respa erase-contact: note: the file still holds \"%s\" in what "
		    "other contacts' records say\n",
		    r.leftover);
	return ERASE_OK;
}

/* `respa erase-contact [-c FILE] CONTACT`; argv[0] is "erase-contact". Returns the exit status. */
int
care_erase_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = SYSCONFDIR "/respa.conf";
	int ch, running, rc;

	static char progname[] = "respa erase-contact"; /* what getopt calls us */

	argv[0] = progname;
	while ((ch = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': path = optarg; break;
		case 'h': erase_usage(stdout); return ERASE_OK;
		default: erase_usage(stderr); return ERASE_USAGE;
		}
	}
	if (optind != argc - 1) {
		erase_usage(stderr);
		return ERASE_USAGE;
	}
	log_init(0, "respa erase-contact");
	if ((conf = config_load(path, stderr)) == NULL)
		return ERASE_ERROR;
	if (access(conf->database, F_OK) == -1) {
		fprintf(stderr, "respa erase-contact: database %s: %s\n", conf->database,
		    strerror(errno));
		config_free(conf);
		return ERASE_ERROR;
	}
	if ((running = lock_database(conf->database)) == -1) {
		fprintf(stderr, "respa erase-contact: %s.lock: %s\n", conf->database,
		    strerror(errno));
		config_free(conf);
		return ERASE_ERROR;
	}
	if (store_open(conf->database, conf->synchronous_full) == -1)
		rc = ERASE_ERROR;
	else
		rc = erase(argv[optind], running);
	store_close();
	care_free();
	config_free(conf);
	return rc;
}

/* --- respa backup ----------------------------------------------------------------------- */

static void
backup_usage(FILE *f)
{
	fprintf(f,
	    "usage: respa backup [-c file] [--force] OUT\n"
	    "  OUT        the copy to write: a consistent copy of the live database, taken\n"
	    "             while respa runs (SQLite's online backup), then integrity-checked\n"
	    "  --force    replace OUT when it exists\n"
	    "  -c file    configuration file (default " SYSCONFDIR "/respa.conf)\n"
	    "exit status: 0 written; 1 error (nothing written to OUT); 2 usage\n");
}

/* The same file, by device and inode: a backup must never be written over its source. */
static int
same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	    sa.st_ino == sb.st_ino;
}

/* The directory of path, synced so that a rename in it survives a power cut. */
static void
sync_dir_of(const char *path)
{
	char *dir = xstrdup(path), *slash = strrchr(dir, '/');
	int fd;

	if (slash == NULL)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		(void)fsync(fd);
		close(fd);
	}
	free(dir);
}

/*
 * Written to OUT.tmp-PID beside OUT, then renamed: OUT is either the whole checked copy or
 * untouched, also when the disk fills up half-way.
 */
static int
backup(const char *database, const char *out, int force)
{
	char err[512] = "", *tmp;
	int fd, pages = 0;

	if (access(database, F_OK) == -1) {
		fprintf(stderr, "respa backup: database %s: %s\n", database, strerror(errno));
		return 1;
	}
	if (same_file(database, out)) {
		fprintf(stderr, "respa backup: %s is the database itself\n", out);
		return 1;
	}
	if (!force && access(out, F_OK) == 0) {
		fprintf(stderr, "respa backup: %s exists; --force replaces it\n", out);
		return 1;
	}
	tmp = xasprintf("%s.tmp-%ld", out, (long)getpid());
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) == -1) {
		fprintf(stderr, "respa backup: %s: %s\n", tmp, strerror(errno));
		free(tmp);
		return 1;
	}
	close(fd); /* mode 600 from the start: the copy holds every customer's data */
	if (store_backup(database, tmp, &pages, err, sizeof(err)) == -1 || rename(tmp, out) == -1) {
		fprintf(stderr, "respa backup: %s; %s is untouched\n",
		    err[0] ? err : strerror(errno), out);
		unlink(tmp);
		free(tmp);
		return 1;
	}
	sync_dir_of(out);
	printf("respa backup: %s: %d pages, integrity ok\n", out, pages);
	free(tmp);
	return 0;
}

/* `respa backup [-c FILE] [--force] OUT`; argv[0] is "backup". Returns the exit status. */
int
care_backup_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static char progname[] = "respa backup";
	const char *path = SYSCONFDIR "/respa.conf";
	int ch, force = 0, rc;

	argv[0] = progname;
	while ((ch = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': path = optarg; break;
		case 'f': force = 1; break;
		case 'h': backup_usage(stdout); return 0;
		default: backup_usage(stderr); return 2;
		}
	}
	if (optind != argc - 1) {
		backup_usage(stderr);
		return 2;
	}
	log_init(0, progname);
	if ((conf = config_load(path, stderr)) == NULL)
		return 1;
	rc = backup(conf->database, argv[optind], force);
	config_free(conf);
	conf = NULL;
	return rc;
}
