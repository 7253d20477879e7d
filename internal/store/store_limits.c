/* SPDX-License-Identifier: Apache-2.0 */
/* Resource limits and events of Garden containers. */
#include <string.h>
#include <time.h>

#include "base/mem.h"
#include "store/store_internal.h"

static const char upsert_sql[] =
    "INSERT INTO container_limits (handle, memory_bytes, cpu_weight, cpu_shares, cpu_quota_us,"
    " cpu_period_us, pids_max, bandwidth_rate, bandwidth_burst, privileged)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
    " ON CONFLICT (handle) DO UPDATE SET memory_bytes = excluded.memory_bytes,"
    " cpu_weight = excluded.cpu_weight, cpu_shares = excluded.cpu_shares,"
    " cpu_quota_us = excluded.cpu_quota_us, cpu_period_us = excluded.cpu_period_us,"
    " pids_max = excluded.pids_max, bandwidth_rate = excluded.bandwidth_rate,"
    " bandwidth_burst = excluded.bandwidth_burst, privileged = excluded.privileged";

/* The LEFT JOIN returns no row for an unknown container and NULLs for a
 * container without limits, so one query distinguishes the two. */
static const char select_sql[] =
    "SELECT l.handle, l.memory_bytes, l.cpu_weight, l.cpu_shares, l.cpu_quota_us,"
    " l.cpu_period_us, l.pids_max, l.bandwidth_rate, l.bandwidth_burst, l.privileged"
    " FROM containers c LEFT JOIN container_limits l ON l.handle = c.handle"
    " WHERE c.handle = ?1";

static const char event_insert_sql[] =
    "INSERT INTO container_events (handle, event, recorded_at_ns) VALUES (?1, ?2, ?3)"
    " ON CONFLICT (handle, event) DO NOTHING";

static const char event_list_sql[] =
    "SELECT event FROM container_events WHERE handle = ?1 ORDER BY rowid";

static bool bind_limits(sqlite3_stmt *stmt, const char *handle, const cf_limits_record *limits)
{
  const uint64_t values[] = {
      limits->memory_bytes,  limits->cpu_weight, limits->cpu_shares,     limits->cpu_quota_us,
      limits->cpu_period_us, limits->pids_max,   limits->bandwidth_rate, limits->bandwidth_burst,
  };
  if (cf_store__bind_text(stmt, 1, handle) != SQLITE_OK) {
    return false;
  }
  for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
    if (sqlite3_bind_int64(stmt, (int)i + 2, cf_store__u64_to_i64(values[i])) != SQLITE_OK) {
      return false;
    }
  }
  return sqlite3_bind_int(stmt, 10, limits->privileged ? 1 : 0) == SQLITE_OK;
}

int cf_store_limits_set(cf_store *store, const char *handle, const cf_limits_record *limits,
                        cf_err **err)
{
  CF_STORE_LOCK(store);
  sqlite3_stmt *stmt cf_autofinalize = NULL;
  if (sqlite3_prepare_v2(store->db, upsert_sql, -1, &stmt, NULL) != SQLITE_OK ||
      !bind_limits(stmt, handle, limits)) {
    return cf_store__fail(store, err, "set limits of container %s", handle);
  }

  int rc = sqlite3_step(stmt);
  if (rc == SQLITE_CONSTRAINT_FOREIGNKEY) {
    return cf_store__unknown_handle(err, handle);
  }
  if (rc != SQLITE_DONE) {
    return cf_store__fail(store, err, "set limits of container %s", handle);
  }
  return 0;
}

static uint64_t column_u64(sqlite3_stmt *stmt, int column)
{
  return cf_store__i64_to_u64(sqlite3_column_int64(stmt, column));
}

int cf_store_limits_get(cf_store *store, const char *handle, cf_limits_record *out, cf_err **err)
{
  memset(out, 0, sizeof(*out));

  CF_STORE_LOCK(store);
  sqlite3_stmt *stmt cf_autofinalize = NULL;
  if (sqlite3_prepare_v2(store->db, select_sql, -1, &stmt, NULL) != SQLITE_OK ||
      cf_store__bind_text(stmt, 1, handle) != SQLITE_OK) {
    return cf_store__fail(store, err, "read limits of container %s", handle);
  }

  int rc = sqlite3_step(stmt);
  if (rc == SQLITE_DONE) {
    return cf_store__unknown_handle(err, handle);
  }
  if (rc != SQLITE_ROW) {
    return cf_store__fail(store, err, "read limits of container %s", handle);
  }
  if (sqlite3_column_type(stmt, 0) == SQLITE_NULL) {
    return 0;
  }
  out->memory_bytes = column_u64(stmt, 1);
  out->cpu_weight = column_u64(stmt, 2);
  out->cpu_shares = column_u64(stmt, 3);
  out->cpu_quota_us = column_u64(stmt, 4);
  out->cpu_period_us = column_u64(stmt, 5);
  out->pids_max = column_u64(stmt, 6);
  out->bandwidth_rate = column_u64(stmt, 7);
  out->bandwidth_burst = column_u64(stmt, 8);
  out->privileged = sqlite3_column_int(stmt, 9) != 0;
  return 0;
}

static int64_t now_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int cf_store_event_add(cf_store *store, const char *handle, const char *event, bool *added,
                       cf_err **err)
{
  if (added != NULL) {
    *added = false;
  }

  CF_STORE_LOCK(store);
  sqlite3_stmt *stmt cf_autofinalize = NULL;
  if (sqlite3_prepare_v2(store->db, event_insert_sql, -1, &stmt, NULL) != SQLITE_OK ||
      cf_store__bind_text(stmt, 1, handle) != SQLITE_OK ||
      cf_store__bind_text(stmt, 2, event) != SQLITE_OK ||
      sqlite3_bind_int64(stmt, 3, now_ns()) != SQLITE_OK) {
    return cf_store__fail(store, err, "record event of container %s", handle);
  }

  int rc = sqlite3_step(stmt);
  if (rc == SQLITE_CONSTRAINT_FOREIGNKEY) {
    return cf_store__unknown_handle(err, handle);
  }
  if (rc != SQLITE_DONE) {
    return cf_store__fail(store, err, "record event of container %s", handle);
  }
  if (added != NULL) {
    *added = sqlite3_changes(store->db) > 0;
  }
  return 0;
}

int cf_store_event_list(cf_store *store, const char *handle, char ***events, size_t *count,
                        cf_err **err)
{
  *events = NULL;
  *count = 0;

  CF_STORE_LOCK(store);
  sqlite3_stmt *stmt cf_autoreset = NULL;
  if (cf_store__prepare_cached(store, event_list_sql, &stmt) != SQLITE_OK ||
      cf_store__bind_text(stmt, 1, handle) != SQLITE_OK) {
    return cf_store__fail(store, err, "list events of container %s", handle);
  }
  return cf_store__collect_strings(store, stmt, events, count, "list events", err);
}
