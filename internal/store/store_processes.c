/* SPDX-License-Identifier: Apache-2.0 */
/* Process records, keyed by container handle and Garden process id. */
#include <stdlib.h>
#include <string.h>

#include "store/store_internal.h"

static const char insert_sql[] =
    "INSERT INTO processes (handle, id, pid, start_time, state, exit_status, created_at_ns,"
    " keeper_pid, keeper_start_time, socket_path, tty)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";

/* The LEFT JOIN returns no row for an unknown container and NULL columns for
 * an unknown process, so one query distinguishes the two errors. */
static const char select_sql[] =
    "SELECT p.id, p.handle, p.pid, p.start_time, p.state, p.exit_status, p.created_at_ns,"
    " p.keeper_pid, p.keeper_start_time, p.socket_path, p.tty"
    " FROM containers c LEFT JOIN processes p ON p.handle = c.handle AND p.id = ?2"
    " WHERE c.handle = ?1";

static const char set_keeper_sql[] =
    "UPDATE processes SET pid = ?3, start_time = ?4, keeper_pid = ?5, keeper_start_time = ?6,"
    " socket_path = ?7, tty = ?8 WHERE handle = ?1 AND id = ?2";

static const char set_exited_sql[] =
    "UPDATE processes SET state = ?3, exit_status = ?4 WHERE handle = ?1 AND id = ?2";

/* Rows can share created_at_ns (a coarse clock, or a caller passing 0), so
 * rowid breaks ties: SQLite gives each new row the largest rowid plus one. */
static const char list_sql[] =
    "SELECT id FROM processes WHERE handle = ?1 ORDER BY created_at_ns, rowid";

void cf_process_record_clear(cf_process_record *record)
{
  free(record->id);
  free(record->handle);
  free(record->state);
  free(record->socket_path);
  memset(record, 0, sizeof(*record));
}

static int check_record(const cf_process_record *record, cf_err **err)
{
  if (record->handle == NULL || record->id == NULL) {
    return cf_err_set(err, CF_E_INVALID, "store: insert process: missing handle or id");
  }
  if (record->state == NULL || (strcmp(record->state, CF_PROCESS_RUNNING) != 0 &&
                                strcmp(record->state, CF_PROCESS_EXITED) != 0)) {
    return cf_err_set(err, CF_E_INVALID,
                      "invalid state '%s' for process %s; expected running or exited",
                      record->state == NULL ? "" : record->state, record->id);
  }
  return 0;
}

static bool bind_record(sqlite3_stmt *stmt, const cf_process_record *record)
{
  int64_t start_time = cf_store__u64_to_i64(record->start_time);
  return cf_store__bind_text(stmt, 1, record->handle) == SQLITE_OK &&
         cf_store__bind_text(stmt, 2, record->id) == SQLITE_OK &&
         sqlite3_bind_int64(stmt, 3, record->pid) == SQLITE_OK &&
         sqlite3_bind_int64(stmt, 4, start_time) == SQLITE_OK &&
         cf_store__bind_text(stmt, 5, record->state) == SQLITE_OK &&
         sqlite3_bind_int(stmt, 6, record->exit_status) == SQLITE_OK &&
         sqlite3_bind_int64(stmt, 7, record->created_at_ns) == SQLITE_OK &&
         sqlite3_bind_int64(stmt, 8, record->keeper_pid) == SQLITE_OK &&
         sqlite3_bind_int64(stmt, 9, cf_store__u64_to_i64(record->keeper_start_time)) ==
             SQLITE_OK &&
         cf_store__bind_text(stmt, 10, record->socket_path) == SQLITE_OK &&
         sqlite3_bind_int(stmt, 11, record->tty) == SQLITE_OK;
}

int cf_store_process_insert(cf_store *store, const cf_process_record *record, cf_err **err)
{
  if (check_record(record, err) < 0) {
    return -1;
  }

  CF_STORE_LOCK(store);
  sqlite3_stmt *stmt cf_autofinalize = NULL;
  if (sqlite3_prepare_v2(store->db, insert_sql, -1, &stmt, NULL) != SQLITE_OK ||
      !bind_record(stmt, record)) {
    return cf_store__fail(store, err, "insert process %s of container %s", record->id,
                          record->handle);
  }

  int rc = sqlite3_step(stmt);
  if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
    /* gdn's wording. Garden tests match "already (in use|exists)". */
    return cf_err_set(err, CF_E_EXISTS, "process ID '%s' already in use", record->id);
  }
  if (rc == SQLITE_CONSTRAINT_FOREIGNKEY) {
    return cf_store__unknown_handle(err, record->handle);
  }
  if (rc != SQLITE_DONE) {
    return cf_store__fail(store, err, "insert process %s of container %s", record->id,
                          record->handle);
  }
  return 0;
}

static int unknown_process(cf_err **err, const char *id)
{
  return cf_err_set(err, CF_E_NOT_FOUND, "unknown process: %s", id);
}

static void read_record(sqlite3_stmt *stmt, cf_process_record *out)
{
  out->id = cf_store__column_text(stmt, 0);
  out->handle = cf_store__column_text(stmt, 1);
  out->pid = sqlite3_column_int64(stmt, 2);
  out->start_time = cf_store__i64_to_u64(sqlite3_column_int64(stmt, 3));
  out->state = cf_store__column_text(stmt, 4);
  out->exit_status = sqlite3_column_int(stmt, 5);
  out->created_at_ns = sqlite3_column_int64(stmt, 6);
  out->keeper_pid = sqlite3_column_int64(stmt, 7);
  out->keeper_start_time = cf_store__i64_to_u64(sqlite3_column_int64(stmt, 8));
  out->socket_path = cf_store__column_text(stmt, 9);
  out->tty = sqlite3_column_int(stmt, 10) != 0;
}

int cf_store_process_get(cf_store *store, const char *handle, const char *id,
                         cf_process_record *out, cf_err **err)
{
  memset(out, 0, sizeof(*out));

  CF_STORE_LOCK(store);
  sqlite3_stmt *stmt cf_autofinalize = NULL;
  if (sqlite3_prepare_v2(store->db, select_sql, -1, &stmt, NULL) != SQLITE_OK ||
      cf_store__bind_text(stmt, 1, handle) != SQLITE_OK ||
      cf_store__bind_text(stmt, 2, id) != SQLITE_OK) {
    return cf_store__fail(store, err, "read process %s of container %s", id, handle);
  }

  int rc = sqlite3_step(stmt);
  if (rc == SQLITE_DONE) {
    return cf_store__unknown_handle(err, handle);
  }
  if (rc != SQLITE_ROW) {
    return cf_store__fail(store, err, "read process %s of container %s", id, handle);
  }
  if (sqlite3_column_type(stmt, 0) == SQLITE_NULL) {
    return unknown_process(err, id);
  }
  read_record(stmt, out);
  return 0;
}

/* Runs a bound UPDATE or DELETE of one process row and, when no row changed,
 * reports whether the container or the process is unknown. */
static int change_process(cf_store *store, sqlite3_stmt *stmt, const char *handle, const char *id,
                          const char *action, cf_err **err)
{
  if (sqlite3_step(stmt) != SQLITE_DONE) {
    return cf_store__fail(store, err, "%s process %s of container %s", action, id, handle);
  }
  if (sqlite3_changes(store->db) > 0) {
    return 0;
  }

  bool exists = false;
  if (cf_store__container_exists(store, handle, &exists, err) < 0) {
    return -1;
  }
  return exists ? unknown_process(err, id) : cf_store__unknown_handle(err, handle);
}

int cf_store_process_set_exited(cf_store *store, const char *handle, const char *id,
                                int exit_status, cf_err **err)
{
  CF_STORE_LOCK(store);
  sqlite3_stmt *stmt cf_autofinalize = NULL;
  if (sqlite3_prepare_v2(store->db, set_exited_sql, -1, &stmt, NULL) != SQLITE_OK ||
      cf_store__bind_text(stmt, 1, handle) != SQLITE_OK ||
      cf_store__bind_text(stmt, 2, id) != SQLITE_OK ||
      cf_store__bind_text(stmt, 3, CF_PROCESS_EXITED) != SQLITE_OK ||
      sqlite3_bind_int(stmt, 4, exit_status) != SQLITE_OK) {
    return cf_store__fail(store, err, "mark exited process %s of container %s", id, handle);
  }
  return change_process(store, stmt, handle, id, "mark exited", err);
}

int cf_store_process_set_keeper(cf_store *store, const cf_process_record *record, cf_err **err)
{
  CF_STORE_LOCK(store);
  sqlite3_stmt *stmt cf_autofinalize = NULL;
  if (sqlite3_prepare_v2(store->db, set_keeper_sql, -1, &stmt, NULL) != SQLITE_OK ||
      cf_store__bind_text(stmt, 1, record->handle) != SQLITE_OK ||
      cf_store__bind_text(stmt, 2, record->id) != SQLITE_OK ||
      sqlite3_bind_int64(stmt, 3, record->pid) != SQLITE_OK ||
      sqlite3_bind_int64(stmt, 4, cf_store__u64_to_i64(record->start_time)) != SQLITE_OK ||
      sqlite3_bind_int64(stmt, 5, record->keeper_pid) != SQLITE_OK ||
      sqlite3_bind_int64(stmt, 6, cf_store__u64_to_i64(record->keeper_start_time)) != SQLITE_OK ||
      cf_store__bind_text(stmt, 7, record->socket_path) != SQLITE_OK ||
      sqlite3_bind_int(stmt, 8, record->tty) != SQLITE_OK) {
    return cf_store__fail(store, err, "record keeper of process %s of container %s", record->id,
                          record->handle);
  }
  return change_process(store, stmt, record->handle, record->id, "record keeper of", err);
}

int cf_store_process_delete(cf_store *store, const char *handle, const char *id, cf_err **err)
{
  CF_STORE_LOCK(store);
  sqlite3_stmt *stmt cf_autofinalize = NULL;
  if (sqlite3_prepare_v2(store->db, "DELETE FROM processes WHERE handle = ?1 AND id = ?2", -1,
                         &stmt, NULL) != SQLITE_OK ||
      cf_store__bind_text(stmt, 1, handle) != SQLITE_OK ||
      cf_store__bind_text(stmt, 2, id) != SQLITE_OK) {
    return cf_store__fail(store, err, "delete process %s of container %s", id, handle);
  }
  return change_process(store, stmt, handle, id, "delete", err);
}

int cf_store_process_list(cf_store *store, const char *handle, char ***ids, size_t *count,
                          cf_err **err)
{
  *ids = NULL;
  *count = 0;

  CF_STORE_LOCK(store);
  bool exists = false;
  if (cf_store__container_exists(store, handle, &exists, err) < 0) {
    return -1;
  }
  if (!exists) {
    return cf_store__unknown_handle(err, handle);
  }

  sqlite3_stmt *stmt cf_autofinalize = NULL;
  if (sqlite3_prepare_v2(store->db, list_sql, -1, &stmt, NULL) != SQLITE_OK ||
      cf_store__bind_text(stmt, 1, handle) != SQLITE_OK) {
    return cf_store__fail(store, err, "list processes of container %s", handle);
  }
  return cf_store__collect_strings(store, stmt, ids, count, "list processes", err);
}
