/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Definitions shared by the store's source files. Not part of the module's
 * interface: only the store's own source files and its unit test include it.
 */
#ifndef CFWIN_STORE_STORE_INTERNAL_H
#define CFWIN_STORE_STORE_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "store/store.h"

/* A prepared statement kept for the life of the connection, keyed by the
 * address of its SQL text. */
typedef struct cf_store__cached_stmt {
  const char *sql;
  sqlite3_stmt *stmt;
} cf_store__cached_stmt;

struct cf_store {
  sqlite3 *db;           /* opened with SQLITE_OPEN_FULLMUTEX */
  char *path;            /* <dir>/cfwin.db, for messages */
  pthread_mutex_t mutex; /* recursive, held by every public call */
  bool in_transaction;   /* true from cf_store_begin() to commit or rollback */
  /* Statements prepared by cf_store__prepare_cached(), finalized on close. */
  cf_store__cached_stmt *cached;
  size_t cached_count;
};

/* Schema migrations, oldest first. Migration i moves the schema from version
 * i to i + 1 and ends by setting PRAGMA user_version to i + 1. */
extern const char *const cf_store__migrations[];
extern const int cf_store__migration_count;

/* Locks the store's mutex and returns store. Aborts when locking fails,
 * because that only happens on a corrupted mutex or runaway recursion. */
cf_store *cf_store__lock(cf_store *store);
void cf_store__unlock(cf_store *store);
/* Unlocks *store when it is not NULL, for __attribute__((cleanup)). */
void cf_store__unlockp(cf_store **store);
/* Finalizes *stmt, for __attribute__((cleanup)). */
void cf_store__finalizep(sqlite3_stmt **stmt);

/* Holds the store's mutex until the end of the enclosing block. Declare it
 * before any cf_autofinalize statement, so statements are finalized first. */
#define CF_STORE_LOCK(store)                                                                       \
  cf_store *store_lock_ __attribute__((cleanup(cf_store__unlockp), unused)) = cf_store__lock(store)

#define cf_autofinalize __attribute__((cleanup(cf_store__finalizep)))

/* Sets *stmt to the store's prepared statement for sql, preparing it with
 * SQLITE_PREPARE_PERSISTENT on first use, and returns an SQLite result
 * code. The cache is keyed by the address of sql, so sql must be a string
 * with static storage duration. The caller holds the mutex, declares *stmt
 * with cf_autoreset, and must not use a statement that a caller further up
 * the stack is still stepping. */
int cf_store__prepare_cached(cf_store *store, const char *sql, sqlite3_stmt **stmt);
/* Resets *stmt and clears its bindings when it is not NULL, for
 * __attribute__((cleanup)). A reset statement keeps no read transaction open. */
void cf_store__resetp(sqlite3_stmt **stmt);
/* Finalizes every cached statement. cf_store_close() calls it before it
 * closes the connection. */
void cf_store__finalize_cached(cf_store *store);

/* Resets a cached statement at the end of the enclosing block. Declare it
 * after CF_STORE_LOCK, so the reset runs while the mutex is still held. */
#define cf_autoreset __attribute__((cleanup(cf_store__resetp)))

/* Sets *err to "store: <context>: <sqlite3_errmsg>" and returns -1. The code
 * is CF_E_BUSY when the database stayed locked past the busy timeout,
 * CF_E_INVALID for a constraint failure and CF_E_SYSTEM otherwise. Call it
 * right after the failing sqlite3 call, while holding the mutex. */
int cf_store__fail(cf_store *store, cf_err **err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Runs fixed SQL that has no parameters and no result rows. */
int cf_store__exec(cf_store *store, const char *sql, const char *context, cf_err **err);

/* Binds text with SQLITE_STATIC, so value must outlive the statement's run.
 * A NULL value binds SQL NULL. */
static inline int cf_store__bind_text(sqlite3_stmt *stmt, int index, const char *value)
{
  return sqlite3_bind_text(stmt, index, value, -1, SQLITE_STATIC);
}

/* Returns a new copy of a text column, or NULL for SQL NULL. */
char *cf_store__column_text(sqlite3_stmt *stmt, int column);

/* Map uint64_t to SQLite's signed 64-bit integers and back without losing
 * bits: values above INT64_MAX are stored as negative numbers. */
int64_t cf_store__u64_to_i64(uint64_t value);
uint64_t cf_store__i64_to_u64(int64_t value);

/* Steps stmt to its end and returns column 0 of every row as a new array of
 * new strings in *strv (NULL when there are no rows). SQL NULLs are skipped. */
int cf_store__collect_strings(cf_store *store, sqlite3_stmt *stmt, char ***strv, size_t *count,
                              const char *context, cf_err **err);

/* Sets *exists to whether handle is a recorded container. */
int cf_store__container_exists(cf_store *store, const char *handle, bool *exists, cf_err **err);

/* Sets *err to "unknown handle: HANDLE" (CF_E_NOT_FOUND) and returns -1. */
int cf_store__unknown_handle(cf_err **err, const char *handle);

#endif
