/*
 * SQLite: store*.c are the only files that speak SQL. WAL, foreign keys, numbered migrations
 * in PRAGMA user_version, every statement prepared once and bound.
 *
 * Writes join one transaction that the first write of a loop pass opens and store_commit()
 * closes at the end of the pass (group commit): the stanzas of that pass are sent after it.
 *
 * One rule for failed writes: a statement that fails inside the pass's batch fails the whole
 * pass. db_error() logs it once and marks the batch; store_commit() then rolls the batch back
 * and returns -1, so the loop sends nothing of the pass and rebuilds memory from the database,
 * as when COMMIT itself fails. Callers therefore need not act on a failed write, and a
 * (void)store_...() call is fine: they check results only to stop early or to answer the
 * one request. Timers held back after a failed pass keep a failing write from spinning.
 *
 * This file is the core: the database, its migrations, the batch and the savepoints. Each
 * of store_conv.c, store_crm.c, store_desk.c owns its statements (registered below, prepared
 * at open, finalized at close); store_care.c prepares its rare ones each time. The helpers
 * they share are in store_int.h.
 */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "respa.h"
#include "store_int.h"

enum stmt { ST_BEGIN, ST_COMMIT, ST_ROLLBACK, ST_SAVEPOINT, ST_RELEASE, ST_ROLLBACK_TO, ST_COUNT };

static const char *const sql[ST_COUNT] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_SAVEPOINT] = "SAVEPOINT one_call",
	[ST_RELEASE] = "RELEASE one_call",
	[ST_ROLLBACK_TO] = "ROLLBACK TO one_call",
};

static sqlite3 *db;
static sqlite3_stmt *stmts[ST_COUNT];
static int in_batch;
static uint64_t batch_seq; /* counts batches: store_batch_id() */
static int pass_failed;    /* a write of this pass failed (or its early commit): it all fails */

static const struct store_stmts core_stmts = { sql, stmts, ST_COUNT };
/* Every store file's statements: prepared by store_open(), finalized by store_close(). */
static const struct store_stmts *const files[] = {
	&core_stmts,
	&store_conv_stmts,
	&store_crm_stmts,
	&store_desk_stmts,
};

sqlite3 *
store_db(void)
{
	return db;
}

static int
run(enum stmt id)
{
	return store_run(stmts[id]);
}

/* A statement failed (db_error() logged it): inside the batch, the pass fails. */
void
store_failed(void)
{
	if (in_batch)
		pass_failed = 1;
}

/* Opens the batch transaction if this pass has not yet. */
int
store_batch(void)
{
	if (in_batch && sqlite3_get_autocommit(db)) {
		/* SQLite ended the batch itself (an I/O error): no later write may commit alone */
		pass_failed = 1;
		return -1;
	}
	if (in_batch)
		return 0;
	if (run(ST_BEGIN) == -1) {
		pass_failed = 1; /* the write that wanted it cannot be made */
		return -1;
	}
	in_batch = 1;
	batch_seq++;
	return 0;
}

int
store_commit(void)
{
	if (pass_failed) { /* a write failed, or store_commit_now() could not commit */
		pass_failed = 0;
		if (in_batch) {
			in_batch = 0;
			if (!sqlite3_get_autocommit(
			        db)) /* an I/O error may have ended it already */
				(void)run(ST_ROLLBACK);
		}
		return -1;
	}
	if (!in_batch)
		return 0;
	in_batch = 0;
	if (run(ST_COMMIT) == -1) {
		if (!sqlite3_get_autocommit(db)) /* an I/O error may have rolled it back already */
			(void)run(ST_ROLLBACK);
		return -1;
	}
	return 0;
}

/* Commits the pass's batch before the pass ends; when that fails, the pass's own commit fails. */
int
store_commit_now(void)
{
	if (in_batch && store_commit() == -1) {
		pass_failed = 1; /* so that the pass's own commit fails too and it is undone */
		return -1;
	}
	return 0;
}

/* The number of the batch transaction open now, 0 when none: a pass's writes share one. */
uint64_t
store_batch_id(void)
{
	return in_batch ? batch_seq : 0;
}

int
store_apply_begin(void)
{
	if (batch() == -1)
		return -1;
	return run(ST_SAVEPOINT);
}

int
store_apply_end(int ok)
{
	if (ok)
		return run(ST_RELEASE);
	(void)run(ST_ROLLBACK_TO);
	(void)run(ST_RELEASE);
	return -1;
}

int
store_savepoint(void)
{
	return run(ST_SAVEPOINT);
}

int
store_release(void)
{
	return run(ST_RELEASE);
}

int
store_rollback_to(void)
{
	return run(ST_ROLLBACK_TO);
}

int
store_user_version(void)
{
	sqlite3_stmt *s;
	int v = -1;

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return v;
}

/* Each migration and its version bump commit together, so a crash never half-applies one. */
static int
migrate(void)
{
	int have = store_user_version();
	size_t i;

	if (have < 0)
		return db_error("user_version");
	if (nmigrations && have > migrations[nmigrations - 1].version) {
		log_warnx("database: schema version %d is newer than this respa knows (%d)", have,
		    migrations[nmigrations - 1].version);
		return -1;
	}
	for (i = 0; i < nmigrations; i++) {
		char *bump;
		int rc;

		if (migrations[i].version <= have)
			continue;
		bump = xasprintf("PRAGMA user_version = %d", migrations[i].version);
		rc = exec("begin", "BEGIN IMMEDIATE");
		if (rc == 0 &&
		    (exec(migrations[i].name, migrations[i].sql) == -1 ||
		        exec("user_version", bump) == -1 || exec("commit", "COMMIT") == -1)) {
			(void)exec("rollback", "ROLLBACK");
			rc = -1;
		}
		free(bump);
		if (rc == -1)
			return -1;
		log_info("database: applied %s", migrations[i].name);
	}
	return 0;
}

/*
 * SQLite opens a file it may not write read-only without a word, and respa would then say
 * "ready" and refuse every message: a start-up error instead.
 */
static int
refuse_readonly(const char *path)
{
	if (sqlite3_db_readonly(db, "main") != 1)
		return 0;
	log_warnx("database %s is read-only: respa must be able to write it, and its directory "
	          "for the -wal and -shm files",
	    path);
	return -1;
}

/* A real write (the schema version, written again): the -wal file, directory and disk take one. */
static int
write_probe(const char *path)
{
	char *probe =
	    xasprintf("BEGIN IMMEDIATE; PRAGMA user_version = %d; COMMIT", store_user_version());
	int rc = sqlite3_exec(db, probe, NULL, NULL, NULL);

	free(probe);
	if (rc == SQLITE_OK)
		return 0;
	log_warnx("database %s: respa cannot write it: %s (check the permissions of the file, "
	          "its -wal and -shm files and its directory, and the free space)",
	    path, sqlite3_errmsg(db));
	(void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

static int
prepare_all(void)
{
	size_t f, i;

	for (f = 0; f < sizeof(files) / sizeof(files[0]); f++)
		for (i = 0; i < files[f]->n; i++)
			if (sqlite3_prepare_v3(db, files[f]->sql[i], -1, SQLITE_PREPARE_PERSISTENT,
			        &files[f]->stmts[i], NULL) != SQLITE_OK)
				return db_error(files[f]->sql[i]);
	return 0;
}

int
store_open(const char *path, int synchronous_full)
{
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK) {
		log_warnx("database %s: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		db = NULL;
		return -1;
	}
	sqlite3_busy_timeout(db, 5000);
	/* NORMAL in WAL mode survives a crash of respa; FULL also a power cut. secure_delete:
	 * what is deleted is overwritten, so no stale copy outlives an erased contact. */
	if (refuse_readonly(path) == -1 || write_probe(path) == -1 ||
	    exec("pragmas",
	        "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; "
	        "PRAGMA secure_delete = ON") == -1 ||
	    exec("pragmas",
	        synchronous_full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL") ==
	        -1 ||
	    migrate() == -1) {
		store_close();
		return -1;
	}
	if (prepare_all() == -1) {
		store_close();
		return -1;
	}
	return 0;
}

void
store_close(void)
{
	size_t f, i;

	if (db == NULL)
		return;
	if (store_commit() == -1)
		log_warnx("database: the last batch was lost");
	for (f = 0; f < sizeof(files) / sizeof(files[0]); f++)
		for (i = 0; i < files[f]->n; i++) {
			sqlite3_finalize(files[f]->stmts[i]);
			files[f]->stmts[i] = NULL;
		}
	sqlite3_close(db);
	db = NULL;
}

/* For `respa export`: reads only and never migrates, so the schema must be this respa's. */
int
store_open_readonly(const char *path)
{
	int v, want = nmigrations ? migrations[nmigrations - 1].version : 0;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		log_warnx("database %s: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		db = NULL;
		return -1;
	}
	sqlite3_busy_timeout(db, 5000);
	if ((v = store_user_version()) == -1)
		log_warnx("database %s: %s", path, sqlite3_errmsg(db));
	else if (v == 0)
		log_warnx("database %s: not a respa database (it has no schema)", path);
	else if (v > want)
		log_warnx("database %s: schema version %d is newer than this respa knows (%d)",
		    path, v, want);
	else if (v < want)
		log_warnx("database %s: schema version %d is older than this respa's (%d): start "
		          "respa once to bring it up to date",
		    path, v, want);
	else
		return 0;
	store_close();
	return -1;
}

/* A statement for a rare call, prepared each time: NULL, or one to sqlite3_finalize(). */
sqlite3_stmt *
prepare_once(const char *what, const char *text)
{
	sqlite3_stmt *s;

	if (sqlite3_prepare_v2(store_db(), text, -1, &s, NULL) != SQLITE_OK) {
		db_error(what);
		return NULL;
	}
	return s;
}

/* Steps a statement that returns no rows and finalizes it; 0 / -1. */
int
run_once(const char *what, sqlite3_stmt *s)
{
	int rc;

	if (s == NULL)
		return -1;
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : db_error(what);
}
