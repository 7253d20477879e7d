/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the store's source files: locking, errors, columns. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "store/store_internal.h"

cf_store *cf_store__lock(cf_store *store)
{
  int rc = pthread_mutex_lock(&store->mutex);
  if (rc != 0) {
    fprintf(stderr, "cfwin: lock store mutex: %s\n", strerror(rc));
    abort();
  }
  return store;
}

void cf_store__unlock(cf_store *store)
{
  int rc = pthread_mutex_unlock(&store->mutex);
  if (rc != 0) {
    fprintf(stderr, "cfwin: unlock store mutex: %s\n", strerror(rc));
    abort();
  }
}

void cf_store__unlockp(cf_store **store)
{
  if (*store != NULL) {
    cf_store__unlock(*store);
  }
}

void cf_store__finalizep(sqlite3_stmt **stmt)
{
  sqlite3_finalize(*stmt);
  *stmt = NULL;
}

int cf_store__prepare_cached(cf_store *store, const char *sql, sqlite3_stmt **stmt)
{
  for (size_t i = 0; i < store->cached_count; i++) {
    if (store->cached[i].sql == sql) {
      *stmt = store->cached[i].stmt;
      return SQLITE_OK;
    }
  }
  *stmt = NULL;
  sqlite3_stmt *prepared = NULL;
  int rc = sqlite3_prepare_v3(store->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &prepared, NULL);
  if (rc != SQLITE_OK) {
    return rc;
  }
  store->cached = cf_xrealloc(store->cached, (store->cached_count + 1) * sizeof(*store->cached));
  store->cached[store->cached_count++] = (cf_store__cached_stmt){.sql = sql, .stmt = prepared};
  *stmt = prepared;
  return SQLITE_OK;
}

void cf_store__resetp(sqlite3_stmt **stmt)
{
  if (*stmt == NULL) {
    return;
  }
  /* The result repeats the last step's error, which the caller has handled. */
  (void)sqlite3_reset(*stmt);
  sqlite3_clear_bindings(*stmt);
}

void cf_store__finalize_cached(cf_store *store)
{
  for (size_t i = 0; i < store->cached_count; i++) {
    sqlite3_finalize(store->cached[i].stmt);
  }
  free(store->cached);
  store->cached = NULL;
  store->cached_count = 0;
}

static enum cf_code code_for_sqlite(int rc)
{
  switch (rc & 0xff) {
  case SQLITE_BUSY:
  case SQLITE_LOCKED:
    return CF_E_BUSY;
  case SQLITE_CONSTRAINT:
    return CF_E_INVALID;
  default:
    return CF_E_SYSTEM;
  }
}

int cf_store__fail(cf_store *store, cf_err **err, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  cf_autofree char *context = cf_xvasprintf(fmt, ap);
  va_end(ap);

  enum cf_code code = code_for_sqlite(sqlite3_extended_errcode(store->db));
  return cf_err_set(err, code, "store: %s: %s", context, sqlite3_errmsg(store->db));
}

int cf_store__exec(cf_store *store, const char *sql, const char *context, cf_err **err)
{
  if (sqlite3_exec(store->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
    return cf_store__fail(store, err, "%s", context);
  }
  return 0;
}

char *cf_store__column_text(sqlite3_stmt *stmt, int column)
{
  const unsigned char *text = sqlite3_column_text(stmt, column);
  if (text == NULL) {
    return NULL;
  }
  return cf_xstrdup((const char *)text);
}

int64_t cf_store__u64_to_i64(uint64_t value)
{
  if (value <= (uint64_t)INT64_MAX) {
    return (int64_t)value;
  }
  /* value - 2^64, computed without signed overflow: value - 2^63 fits in
   * int64_t, and adding INT64_MIN subtracts the other 2^63. */
  return (int64_t)(value - (uint64_t)INT64_MAX - 1) + INT64_MIN;
}

uint64_t cf_store__i64_to_u64(int64_t value)
{
  /* Conversion to an unsigned type is defined as modulo 2^64. */
  return (uint64_t)value;
}

static void append_string(char ***strv, size_t *count, size_t *capacity, char *value)
{
  if (*count == *capacity) {
    *capacity = *capacity == 0 ? 8 : *capacity * 2;
    *strv = cf_xrealloc(*strv, *capacity * sizeof(**strv));
  }
  (*strv)[(*count)++] = value;
}

int cf_store__collect_strings(cf_store *store, sqlite3_stmt *stmt, char ***strv, size_t *count,
                              const char *context, cf_err **err)
{
  char **values = NULL;
  size_t n = 0;
  size_t capacity = 0;
  int rc;

  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    char *value = cf_store__column_text(stmt, 0);
    if (value != NULL) {
      append_string(&values, &n, &capacity, value);
    }
  }
  if (rc != SQLITE_DONE) {
    cf_strv_free(values, n);
    return cf_store__fail(store, err, "%s", context);
  }

  *strv = values;
  *count = n;
  return 0;
}

int cf_store__unknown_handle(cf_err **err, const char *handle)
{
  return cf_err_set(err, CF_E_NOT_FOUND, "unknown handle: %s", handle);
}
