/* SPDX-License-Identifier: Apache-2.0 */
/* Container records. */
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "store/store_internal.h"

static const char insert_sql[] =
    "INSERT INTO containers (handle, state, rootfs_uri, dir, init_pid, init_start_time,"
    " grace_time_ns, created_at_ns, env_json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";

static const char select_sql[] =
    "SELECT handle, state, rootfs_uri, dir, init_pid, init_start_time, grace_time_ns,"
    " created_at_ns, env_json FROM containers WHERE handle = ?1";

void cf_container_record_clear(cf_container_record *record)
{
  free(record->handle);
  free(record->state);
  free(record->rootfs_uri);
  free(record->dir);
  free(record->env_json);
  memset(record, 0, sizeof(*record));
}

static bool is_container_state(const char *state)
{
  static const char *const states[] = {CF_CONTAINER_CREATING, CF_CONTAINER_CREATED,
                                       CF_CONTAINER_STOPPED, CF_CONTAINER_DESTROYING};
  for (size_t i = 0; state != NULL && i < sizeof(states) / sizeof(states[0]); i++) {
    if (strcmp(state, states[i]) == 0) {
      return true;
    }
  }
  return false;
}

static int check_state(const char *handle, const char *state, cf_err **err)
{
  if (is_container_state(state)) {
    return 0;
  }
  return cf_err_set(err, CF_E_INVALID,
                    "invalid state '%s' for container %s; expected creating, created, stopped "
                    "or destroying",
                    state == NULL ? "" : state, handle);
}

static bool bind_record(sqlite3_stmt *stmt, const cf_container_record *record)
{
  int64_t start_time = cf_store__u64_to_i64(record->init_start_time);
  return cf_store__bind_text(stmt, 1, record->handle) == SQLITE_OK &&
         cf_store__bind_text(stmt, 2, record->state) == SQLITE_OK &&
         cf_store__bind_text(stmt, 3, record->rootfs_uri) == SQLITE_OK &&
         cf_store__bind_text(stmt, 4, record->dir) == SQLITE_OK &&
         sqlite3_bind_int64(stmt, 5, record->init_pid) == SQLITE_OK &&
         sqlite3_bind_int64(stmt, 6, start_time) == SQLITE_OK &&
         sqlite3_bind_int64(stmt, 7, record->grace_time_ns) == SQLITE_OK &&
         sqlite3_bind_int64(stmt, 8, record->created_at_ns) == SQLITE_OK &&
         cf_store__bind_text(stmt, 9, record->env_json) == SQLITE_OK;
}

int cf_store_container_insert(cf_store *store, const cf_container_record *record, cf_err **err)
{
  if (record->handle == NULL) {
    return cf_err_set(err, CF_E_INVALID, "store: insert container: missing handle");
  }
  if (check_state(record->handle, record->state, err) < 0) {
    return -1;
  }

  CF_STORE_LOCK(store);
  sqlite3_stmt *stmt cf_autofinalize = NULL;
  if (sqlite3_prepare_v2(store->db, insert_sql, -1, &stmt, NULL) != SQLITE_OK ||
      !bind_record(stmt, record)) {
    return cf_store__fail(store, err, "insert container %s", record->handle);
  }

  int rc = sqlite3_step(stmt);
  if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
    /* gdn's wording, which Garden clients and tests match on. */
    return cf_err_set(err, CF_E_EXISTS, "Handle '%s' already in use", record->handle);
  }
  if (rc != SQLITE_DONE) {
    return cf_store__fail(store, err, "insert container %s", record->handle);
  }
  return 0;
}

static void read_record(sqlite3_stmt *stmt, cf_container_record *out)
{
  out->handle = cf_store__column_text(stmt, 0);
  out->state = cf_store__column_text(stmt, 1);
  out->rootfs_uri = cf_store__column_text(stmt, 2);
  out->dir = cf_store__column_text(stmt, 3);
  out->init_pid = sqlite3_column_int64(stmt, 4);
  out->init_start_time = cf_store__i64_to_u64(sqlite3_column_int64(stmt, 5));
  out->grace_time_ns = sqlite3_column_int64(stmt, 6);
  out->created_at_ns = sqlite3_column_int64(stmt, 7);
  out->env_json = cf_store__column_text(stmt, 8);
}

int cf_store_container_get(cf_store *store, const char *handle, cf_container_record *out,
                           cf_err **err)
{
  memset(out, 0, sizeof(*out));

  CF_STORE_LOCK(store);
  sqlite3_stmt *stmt cf_autoreset = NULL;
  if (cf_store__prepare_cached(store, select_sql, &stmt) != SQLITE_OK ||
      cf_store__bind_text(stmt, 1, handle) != SQLITE_OK) {
    return cf_store__fail(store, err, "read container %s", handle);
  }

  int rc = sqlite3_step(stmt);
  if (rc == SQLITE_DONE) {
    return cf_store__unknown_handle(err, handle);
  }
  if (rc != SQLITE_ROW) {
    return cf_store__fail(store, err, "read container %s", handle);
  }
  read_record(stmt, out);
  return 0;
}

/* Runs a bound UPDATE or DELETE of one container row. When no row changed,
 * the handle is unknown. The caller holds the mutex. */
static int change_container(cf_store *store, sqlite3_stmt *stmt, const char *handle,
                            const char *action, cf_err **err)
{
  if (sqlite3_step(stmt) != SQLITE_DONE) {
    return cf_store__fail(store, err, "%s of container %s", action, handle);
  }
  if (sqlite3_changes(store->db) == 0) {
    return cf_store__unknown_handle(err, handle);
  }
  return 0;
}

int cf_store_container_set_state(cf_store *store, const char *handle, const char *state,
                                 cf_err **err)
{
  if (check_state(handle, state, err) < 0) {
    return -1;
  }

  CF_STORE_LOCK(store);
  sqlite3_stmt *stmt cf_autofinalize = NULL;
  if (sqlite3_prepare_v2(store->db, "UPDATE containers SET state = ?2 WHERE handle = ?1", -1, &stmt,
                         NULL) != SQLITE_OK ||
      cf_store__bind_text(stmt, 1, handle) != SQLITE_OK ||
      cf_store__bind_text(stmt, 2, state) != SQLITE_OK) {
    return cf_store__fail(store, err, "set state of container %s", handle);
  }
  return change_container(store, stmt, handle, "set state", err);
}

int cf_store_container_set_init(cf_store *store, const char *handle, int64_t pid,
                                uint64_t start_time, cf_err **err)
{
  static const char sql[] =
      "UPDATE containers SET init_pid = ?2, init_start_time = ?3 WHERE handle = ?1";

  CF_STORE_LOCK(store);
  sqlite3_stmt *stmt cf_autofinalize = NULL;
  if (sqlite3_prepare_v2(store->db, sql, -1, &stmt, NULL) != SQLITE_OK ||
      cf_store__bind_text(stmt, 1, handle) != SQLITE_OK ||
      sqlite3_bind_int64(stmt, 2, pid) != SQLITE_OK ||
      sqlite3_bind_int64(stmt, 3, cf_store__u64_to_i64(start_time)) != SQLITE_OK) {
    return cf_store__fail(store, err, "set init process of container %s", handle);
  }
  return change_container(store, stmt, handle, "set init process", err);
}

int cf_store_container_set_grace_time(cf_store *store, const char *handle, int64_t grace_time_ns,
                                      cf_err **err)
{
  static const char sql[] = "UPDATE containers SET grace_time_ns = ?2 WHERE handle = ?1";

  CF_STORE_LOCK(store);
  sqlite3_stmt *stmt cf_autofinalize = NULL;
  if (sqlite3_prepare_v2(store->db, sql, -1, &stmt, NULL) != SQLITE_OK ||
      cf_store__bind_text(stmt, 1, handle) != SQLITE_OK ||
      sqlite3_bind_int64(stmt, 2, grace_time_ns) != SQLITE_OK) {
    return cf_store__fail(store, err, "set grace time of container %s", handle);
  }
  return change_container(store, stmt, handle, "set grace time", err);
}

int cf_store_container_delete(cf_store *store, const char *handle, cf_err **err)
{
  CF_STORE_LOCK(store);
  sqlite3_stmt *stmt cf_autofinalize = NULL;
  /* The foreign keys' ON DELETE CASCADE removes properties and processes. */
  if (sqlite3_prepare_v2(store->db, "DELETE FROM containers WHERE handle = ?1", -1, &stmt, NULL) !=
          SQLITE_OK ||
      cf_store__bind_text(stmt, 1, handle) != SQLITE_OK) {
    return cf_store__fail(store, err, "delete container %s", handle);
  }
  return change_container(store, stmt, handle, "delete", err);
}

int cf_store__container_exists(cf_store *store, const char *handle, bool *exists, cf_err **err)
{
  static const char exists_sql[] = "SELECT 1 FROM containers WHERE handle = ?1";
  CF_STORE_LOCK(store);
  sqlite3_stmt *stmt cf_autoreset = NULL;
  if (cf_store__prepare_cached(store, exists_sql, &stmt) != SQLITE_OK ||
      cf_store__bind_text(stmt, 1, handle) != SQLITE_OK) {
    return cf_store__fail(store, err, "look up container %s", handle);
  }

  int rc = sqlite3_step(stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
    return cf_store__fail(store, err, "look up container %s", handle);
  }
  *exists = rc == SQLITE_ROW;
  return 0;
}
