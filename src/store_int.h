/*
 * Private to store*.c, the only files that speak SQL. store.c owns the database, the batch
 * transaction and the savepoints; store_conv.c, store_crm.c and store_desk.c each own their
 * statements (an array of SQL texts, registered in store.c's table: prepared at store_open(),
 * finalized at store_close()). The helpers below bind and step them.
 */
#ifndef STORE_INT_H
#define STORE_INT_H

#include <sqlite3.h>

#include "respa.h"

/* A store file's statements: n SQL texts, prepared into stmts. */
struct store_stmts {
	const char *const *sql;
	sqlite3_stmt **stmts;
	size_t n;
};
extern const struct store_stmts store_conv_stmts, store_crm_stmts, store_desk_stmts;

/* store.c */
sqlite3 *store_db(void);
int store_batch(void);      /* opens the batch transaction if this pass has not yet; 0 / -1 */
int store_commit_now(void); /* commits the batch early; when that fails, so does the pass */
int store_savepoint(void);  /* inside the batch: writes that stand or fall together */
int store_release(void);
int store_rollback_to(void); /* undoes them; store_release() still ends the savepoint */
void store_failed(void);     /* a statement failed: inside the batch, the whole pass fails */
/* Rare calls: a statement prepared each time (NULL on error), and one run and finalized. */
sqlite3_stmt *prepare_once(const char *what, const char *text);
int run_once(const char *what, sqlite3_stmt *s);

/* Logs a failed statement, the one place that does; inside the batch it fails the pass. */
static inline int
db_error(const char *what)
{
	log_warnx("database: %s: %s", what, sqlite3_errmsg(store_db()));
	store_failed();
	return -1;
}

static inline int
batch(void)
{
	return store_batch();
}

static inline int
exec(const char *what, const char *text)
{
	char *err = NULL;

	if (sqlite3_exec(store_db(), text, NULL, NULL, &err) != SQLITE_OK) {
		log_warnx("database: %s: %s", what, err ? err : sqlite3_errmsg(store_db()));
		sqlite3_free(err);
		store_failed();
		return -1;
	}
	return 0;
}

/* Binds text, or NULL for a NULL pointer. */
static inline void
bind_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, i);
}

/* Binds a time as UTC ISO-8601 text, or NULL for 0. */
static inline void
bind_time(sqlite3_stmt *s, int i, time_t t)
{
	char ts[32];

	if (t == 0) {
		sqlite3_bind_null(s, i);
		return;
	}
	time_iso(t, ts);
	sqlite3_bind_text(s, i, ts, -1, SQLITE_TRANSIENT);
}

static inline time_t
column_time(sqlite3_stmt *s, int i)
{
	time_t t = 0;

	if (sqlite3_column_type(s, i) != SQLITE_NULL)
		(void)time_parse_iso((const char *)sqlite3_column_text(s, i), &t);
	return t;
}

/* Runs a prepared statement that returns no rows; 0 / -1. Each file's run() calls it. */
static inline int
store_run(sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_DONE)
		return db_error(sqlite3_sql(s));
	return 0;
}

/* Runs an INSERT and returns the new row id, or -1. Each file's insert() calls it. */
static inline int64_t
store_insert(sqlite3_stmt *s)
{
	if (store_run(s) == -1)
		return -1;
	return sqlite3_last_insert_rowid(store_db());
}

#endif
