/* SPDX-License-Identifier: Apache-2.0 */
/* Opening and closing the depot, schema migrations and transactions. */
#include "store/store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/fs.h"
#include "base/mem.h"
#include "store/store_internal.h"

/* How long a statement waits for another connection's lock before failing
 * with SQLITE_BUSY. */
#define BUSY_TIMEOUT_MS 10000

static int check_dir(const char *dir, cf_err **err)
{
  struct stat st;
  if (stat(dir, &st) < 0) {
    return cf_err_sys(err, errno, "store: open %s", dir);
  }
  if (!S_ISDIR(st.st_mode)) {
    return cf_err_set(err, CF_E_INVALID, "store: open %s: not a directory", dir);
  }
  return 0;
}

static int init_mutex(pthread_mutex_t *mutex, cf_err **err)
{
  pthread_mutexattr_t attr;
  int rc = pthread_mutexattr_init(&attr);
  if (rc == 0) {
    rc = pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
  }
  if (rc == 0) {
    rc = pthread_mutex_init(mutex, &attr);
  }
  pthread_mutexattr_destroy(&attr);
  if (rc != 0) {
    return cf_err_sys(err, rc, "store: create mutex");
  }
  return 0;
}

static int connect_db(cf_store *store, cf_err **err)
{
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX;
  int rc = sqlite3_open_v2(store->path, &store->db, flags, NULL);
  if (rc != SQLITE_OK && store->db == NULL) {
    return cf_err_set(err, CF_E_SYSTEM, "store: open %s: %s", store->path, sqlite3_errstr(rc));
  }
  if (rc != SQLITE_OK) {
    return cf_store__fail(store, err, "open %s", store->path);
  }

  /* Extended codes tell a duplicate key from a missing container. */
  sqlite3_extended_result_codes(store->db, 1);
  sqlite3_busy_timeout(store->db, BUSY_TIMEOUT_MS);
  return 0;
}

/* Runs a PRAGMA that returns one row and sets *value to its text. */
static int query_pragma(cf_store *store, const char *sql, char **value, cf_err **err)
{
  sqlite3_stmt *stmt cf_autofinalize = NULL;
  if (sqlite3_prepare_v2(store->db, sql, -1, &stmt, NULL) != SQLITE_OK ||
      sqlite3_step(stmt) != SQLITE_ROW) {
    return cf_store__fail(store, err, "run '%s' on %s", sql, store->path);
  }
  *value = cf_store__column_text(stmt, 0);
  return 0;
}

static int enable_wal(cf_store *store, cf_err **err)
{
  cf_autofree char *mode = NULL;
  if (query_pragma(store, "PRAGMA journal_mode = WAL", &mode, err) < 0) {
    return -1;
  }
  /* Where WAL is not possible (for example a file system without shared
   * memory), SQLite keeps the old mode and returns that mode's name. */
  if (mode == NULL || strcmp(mode, "wal") != 0) {
    return cf_err_set(err, CF_E_SYSTEM, "store: enable WAL journal mode on %s: mode is %s",
                      store->path, mode == NULL ? "unknown" : mode);
  }
  return 0;
}

static int enable_foreign_keys(cf_store *store, cf_err **err)
{
  if (cf_store__exec(store, "PRAGMA foreign_keys = ON", "enable foreign keys", err) < 0) {
    return -1;
  }

  /* The PRAGMA is silently ignored by builds without foreign key support,
   * and deletes would then leave orphaned properties and processes. */
  cf_autofree char *enabled = NULL;
  if (query_pragma(store, "PRAGMA foreign_keys", &enabled, err) < 0) {
    return -1;
  }
  if (enabled == NULL || strcmp(enabled, "1") != 0) {
    return cf_err_set(err, CF_E_SYSTEM, "store: enable foreign keys on %s: not supported by SQLite",
                      store->path);
  }
  return 0;
}

static int configure_db(cf_store *store, cf_err **err)
{
  if (enable_wal(store, err) < 0) {
    return -1;
  }
  /* In WAL mode NORMAL can lose the last commits on power loss but never
   * corrupts the database, and it saves an fsync per commit. */
  if (cf_store__exec(store, "PRAGMA synchronous = NORMAL", "set synchronous mode", err) < 0) {
    return -1;
  }
  return enable_foreign_keys(store, err);
}

static int read_user_version(cf_store *store, int *version, cf_err **err)
{
  sqlite3_stmt *stmt cf_autofinalize = NULL;
  if (sqlite3_prepare_v2(store->db, "PRAGMA user_version", -1, &stmt, NULL) != SQLITE_OK ||
      sqlite3_step(stmt) != SQLITE_ROW) {
    return cf_store__fail(store, err, "read schema version of %s", store->path);
  }
  *version = sqlite3_column_int(stmt, 0);
  return 0;
}

static int check_version(cf_store *store, int version, cf_err **err)
{
  if (version > cf_store__migration_count) {
    return cf_err_set(err, CF_E_INVALID,
                      "store: open %s: database schema version %d is newer than this cfwin "
                      "supports (%d); upgrade cfwin",
                      store->path, version, cf_store__migration_count);
  }
  if (version < 0) {
    return cf_err_set(err, CF_E_INVALID, "store: open %s: invalid database schema version %d",
                      store->path, version);
  }
  return 0;
}

static int run_migration(cf_store *store, int version, cf_err **err)
{
  if (sqlite3_exec(store->db, cf_store__migrations[version], NULL, NULL, NULL) != SQLITE_OK) {
    return cf_store__fail(store, err, "migrate %s to schema version %d", store->path, version + 1);
  }

  int reached = 0;
  if (read_user_version(store, &reached, err) < 0) {
    return -1;
  }
  if (reached != version + 1) {
    return cf_err_set(err, CF_E_SYSTEM,
                      "store: migration %d of %s set schema version %d; it must set %d",
                      version + 1, store->path, reached, version + 1);
  }
  return 0;
}

/* Applies the migration that follows the current schema version, in its own
 * transaction. The version is read inside the transaction, because another
 * process opening the same file may have migrated it meanwhile. Sets *done
 * when the schema was already current. */
static int apply_next_migration(cf_store *store, bool *done, cf_err **err)
{
  int version = 0;
  if (cf_store_begin(store, err) < 0) {
    return -1;
  }
  if (read_user_version(store, &version, err) < 0 || check_version(store, version, err) < 0) {
    cf_store_rollback(store);
    return -1;
  }

  *done = version == cf_store__migration_count;
  if (!*done && run_migration(store, version, err) < 0) {
    cf_store_rollback(store);
    return -1;
  }
  return cf_store_commit(store, err);
}

static int migrate(cf_store *store, cf_err **err)
{
  int version = 0;
  if (read_user_version(store, &version, err) < 0 || check_version(store, version, err) < 0) {
    return -1;
  }

  bool done = version == cf_store__migration_count;
  while (!done) {
    if (apply_next_migration(store, &done, err) < 0) {
      return -1;
    }
  }
  return 0;
}

static cf_store *new_store(const char *dir, cf_err **err)
{
  cf_store *store = cf_xcalloc(1, sizeof(*store));
  if (init_mutex(&store->mutex, err) < 0) {
    free(store);
    return NULL;
  }
  store->path = cf_path_join(dir, "cfwin.db");
  return store;
}

int cf_store_open(const char *dir, cf_store **out, cf_err **err)
{
  *out = NULL;
  if (check_dir(dir, err) < 0) {
    return -1;
  }

  cf_store *store = new_store(dir, err);
  if (store == NULL) {
    return -1;
  }
  if (connect_db(store, err) < 0 || configure_db(store, err) < 0 || migrate(store, err) < 0) {
    cf_store_close(store);
    return -1;
  }

  *out = store;
  return 0;
}

void cf_store_close(cf_store *store)
{
  if (store == NULL) {
    return;
  }
  if (store->in_transaction) {
    cf_store_rollback(store);
  }
  /* The cached statements are the only ones left, because every other
   * statement is finalized before its call returns. The _v2 variant would
   * free the connection in any case. */
  cf_store__finalize_cached(store);
  sqlite3_close_v2(store->db);
  pthread_mutex_destroy(&store->mutex);
  free(store->path);
  free(store);
}

int cf_store_schema_version(cf_store *store, int *version, cf_err **err)
{
  CF_STORE_LOCK(store);
  return read_user_version(store, version, err);
}

int cf_store_begin(cf_store *store, cf_err **err)
{
  cf_store__lock(store);
  if (cf_store__exec(store, "BEGIN IMMEDIATE", "begin transaction", err) < 0) {
    cf_store__unlock(store);
    return -1;
  }
  store->in_transaction = true;
  return 0;
}

/* Ends the transaction state and drops the hold that cf_store_begin() took.
 * The caller still holds its own lock. */
static void end_transaction(cf_store *store)
{
  store->in_transaction = false;
  cf_store__unlock(store);
}

int cf_store_commit(cf_store *store, cf_err **err)
{
  CF_STORE_LOCK(store);
  if (!store->in_transaction) {
    return cf_err_set(err, CF_E_INVALID, "store: commit transaction: no transaction is open");
  }

  int rc = cf_store__exec(store, "COMMIT", "commit transaction", err);
  /* A failed COMMIT can leave the transaction open. Rolling it back means
   * every commit call ends the transaction and releases the mutex. */
  if (rc < 0 && !sqlite3_get_autocommit(store->db)) {
    sqlite3_exec(store->db, "ROLLBACK", NULL, NULL, NULL);
  }
  end_transaction(store);
  return rc;
}

int cf_store_read_begin(cf_store *store, cf_err **err)
{
  static const char begin_sql[] = "BEGIN DEFERRED";
  cf_store__lock(store);
  sqlite3_stmt *stmt = NULL;
  int rc = 0;
  if (cf_store__prepare_cached(store, begin_sql, &stmt) != SQLITE_OK ||
      sqlite3_step(stmt) != SQLITE_DONE) {
    rc = cf_store__fail(store, err, "begin read transaction");
  }
  cf_store__resetp(&stmt);
  if (rc < 0) {
    cf_store__unlock(store);
  }
  return rc;
}

void cf_store_read_end(cf_store *store)
{
  static const char commit_sql[] = "COMMIT";
  sqlite3_stmt *stmt = NULL;
  if (cf_store__prepare_cached(store, commit_sql, &stmt) == SQLITE_OK) {
    sqlite3_step(stmt);
  }
  cf_store__resetp(&stmt);
  /* A read transaction has nothing to lose, so a failed COMMIT is rolled
   * back, which always ends the transaction. */
  if (!sqlite3_get_autocommit(store->db)) {
    sqlite3_exec(store->db, "ROLLBACK", NULL, NULL, NULL);
  }
  cf_store__unlock(store);
}

void cf_store_rollback(cf_store *store)
{
  CF_STORE_LOCK(store);
  if (!store->in_transaction) {
    return;
  }
  /* SQLite rolls back by itself after some errors (SQLITE_FULL, SQLITE_IOERR,
   * SQLITE_NOMEM), and a second ROLLBACK would only fail. */
  if (!sqlite3_get_autocommit(store->db)) {
    sqlite3_exec(store->db, "ROLLBACK", NULL, NULL, NULL);
  }
  end_transaction(store);
}
