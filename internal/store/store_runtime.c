/* SPDX-License-Identifier: Apache-2.0 */
/* Records of the runtime role's containers, keyed by container id. */
#include <stdlib.h>
#include <string.h>

#include "store/store_internal.h"

static const char insert_sql[] =
    "INSERT INTO runtime_containers (id, bundle, owner, status, init_pid, init_start_time, pid,"
    " start_time, exec_failed, created_at_ns) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";

static const char select_sql[] =
    "SELECT id, bundle, owner, status, init_pid, init_start_time, pid, start_time, exec_failed,"
    " created_at_ns FROM runtime_containers WHERE id = ?1";

static const char set_init_sql[] = "UPDATE runtime_containers SET init_pid = ?2,"
                                   " init_start_time = ?3, status = '" CF_RUNTIME_CREATED "'"
                                   " WHERE id = ?1";

static const char claim_sql[] = "UPDATE runtime_containers SET status = '" CF_RUNTIME_STARTING "'"
                                " WHERE id = ?1 AND status = '" CF_RUNTIME_CREATED "'";

static const char set_process_sql[] =
    "UPDATE runtime_containers SET pid = ?2, start_time = ?3, exec_failed = ?4,"
    " status = '" CF_RUNTIME_STARTED "' WHERE id = ?1";

static const char delete_sql[] = "DELETE FROM runtime_containers WHERE id = ?1";

static const char list_sql[] = "SELECT id FROM runtime_containers ORDER BY id";

static const char list_owned_sql[] =
    "SELECT id FROM runtime_containers WHERE owner = ?1 ORDER BY id";

void cf_runtime_record_clear(cf_runtime_record *record)
{
  free(record->id);
  free(record->bundle);
  free(record->owner);
  free(record->status);
  memset(record, 0, sizeof(*record));
}

static int not_found(cf_err **err, const char *id)
{
  return cf_err_set(err, CF_E_NOT_FOUND, "container not found: %s", id);
}

static bool bind_record(sqlite3_stmt *stmt, const cf_runtime_record *record)
{
  return cf_store__bind_text(stmt, 1, record->id) == SQLITE_OK &&
         cf_store__bind_text(stmt, 2, record->bundle) == SQLITE_OK &&
         cf_store__bind_text(stmt, 3, record->owner) == SQLITE_OK &&
         cf_store__bind_text(stmt, 4, record->status) == SQLITE_OK &&
         sqlite3_bind_int64(stmt, 5, record->init_pid) == SQLITE_OK &&
         sqlite3_bind_int64(stmt, 6, cf_store__u64_to_i64(record->init_start_time)) == SQLITE_OK &&
         sqlite3_bind_int64(stmt, 7, record->pid) == SQLITE_OK &&
         sqlite3_bind_int64(stmt, 8, cf_store__u64_to_i64(record->start_time)) == SQLITE_OK &&
         sqlite3_bind_int(stmt, 9, record->exec_failed ? 1 : 0) == SQLITE_OK &&
         sqlite3_bind_int64(stmt, 10, record->created_at_ns) == SQLITE_OK;
}

int cf_store_runtime_insert(cf_store *store, const cf_runtime_record *record, cf_err **err)
{
  if (record->id == NULL || record->bundle == NULL || record->status == NULL) {
    return cf_err_set(err, CF_E_INVALID,
                      "store: insert runtime container: missing id, bundle "
                      "or status");
  }

  CF_STORE_LOCK(store);
  sqlite3_stmt *stmt cf_autofinalize = NULL;
  if (sqlite3_prepare_v2(store->db, insert_sql, -1, &stmt, NULL) != SQLITE_OK ||
      !bind_record(stmt, record)) {
    return cf_store__fail(store, err, "insert runtime container %s", record->id);
  }
  int rc = sqlite3_step(stmt);
  if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
    return cf_err_set(err, CF_E_EXISTS, "container with id already exists: %s", record->id);
  }
  if (rc != SQLITE_DONE) {
    return cf_store__fail(store, err, "insert runtime container %s", record->id);
  }
  return 0;
}

int cf_store_runtime_get(cf_store *store, const char *id, cf_runtime_record *out, cf_err **err)
{
  memset(out, 0, sizeof(*out));

  CF_STORE_LOCK(store);
  sqlite3_stmt *stmt cf_autofinalize = NULL;
  if (sqlite3_prepare_v2(store->db, select_sql, -1, &stmt, NULL) != SQLITE_OK ||
      cf_store__bind_text(stmt, 1, id) != SQLITE_OK) {
    return cf_store__fail(store, err, "read runtime container %s", id);
  }
  int rc = sqlite3_step(stmt);
  if (rc == SQLITE_DONE) {
    return not_found(err, id);
  }
  if (rc != SQLITE_ROW) {
    return cf_store__fail(store, err, "read runtime container %s", id);
  }
  out->id = cf_store__column_text(stmt, 0);
  out->bundle = cf_store__column_text(stmt, 1);
  out->owner = cf_store__column_text(stmt, 2);
  out->status = cf_store__column_text(stmt, 3);
  out->init_pid = sqlite3_column_int64(stmt, 4);
  out->init_start_time = cf_store__i64_to_u64(sqlite3_column_int64(stmt, 5));
  out->pid = sqlite3_column_int64(stmt, 6);
  out->start_time = cf_store__i64_to_u64(sqlite3_column_int64(stmt, 7));
  out->exec_failed = sqlite3_column_int(stmt, 8) != 0;
  out->created_at_ns = sqlite3_column_int64(stmt, 9);
  return 0;
}

/* Runs an UPDATE or DELETE bound to id plus up to three integers; sets
 * *changed to the number of rows it changed. */
static int run_update(cf_store *store, const char *sql, const char *id, const int64_t *values,
                      int value_count, int *changed, const char *context, cf_err **err)
{
  CF_STORE_LOCK(store);
  sqlite3_stmt *stmt cf_autofinalize = NULL;
  if (sqlite3_prepare_v2(store->db, sql, -1, &stmt, NULL) != SQLITE_OK ||
      cf_store__bind_text(stmt, 1, id) != SQLITE_OK) {
    return cf_store__fail(store, err, "%s %s", context, id);
  }
  for (int i = 0; i < value_count; i++) {
    if (sqlite3_bind_int64(stmt, i + 2, values[i]) != SQLITE_OK) {
      return cf_store__fail(store, err, "%s %s", context, id);
    }
  }
  if (sqlite3_step(stmt) != SQLITE_DONE) {
    return cf_store__fail(store, err, "%s %s", context, id);
  }
  *changed = sqlite3_changes(store->db);
  return 0;
}

int cf_store_runtime_set_init(cf_store *store, const char *id, int64_t pid, uint64_t start_time,
                              cf_err **err)
{
  int64_t values[] = {pid, cf_store__u64_to_i64(start_time)};
  int changed = 0;
  if (run_update(store, set_init_sql, id, values, 2, &changed, "record init of", err) < 0) {
    return -1;
  }
  return changed == 0 ? not_found(err, id) : 0;
}

int cf_store_runtime_claim_start(cf_store *store, const char *id, bool *claimed, cf_err **err)
{
  int changed = 0;
  if (run_update(store, claim_sql, id, NULL, 0, &changed, "claim start of", err) < 0) {
    return -1;
  }
  *claimed = changed > 0;
  return 0;
}

int cf_store_runtime_set_process(cf_store *store, const char *id, int64_t pid, uint64_t start_time,
                                 bool exec_failed, cf_err **err)
{
  int64_t values[] = {pid, cf_store__u64_to_i64(start_time), exec_failed ? 1 : 0};
  int changed = 0;
  if (run_update(store, set_process_sql, id, values, 3, &changed, "record process of", err) < 0) {
    return -1;
  }
  return changed == 0 ? not_found(err, id) : 0;
}

int cf_store_runtime_delete(cf_store *store, const char *id, cf_err **err)
{
  int changed = 0;
  if (run_update(store, delete_sql, id, NULL, 0, &changed, "delete runtime container", err) < 0) {
    return -1;
  }
  return changed == 0 ? not_found(err, id) : 0;
}

int cf_store_runtime_list(cf_store *store, const char *owner, char ***ids, size_t *count,
                          cf_err **err)
{
  *ids = NULL;
  *count = 0;

  CF_STORE_LOCK(store);
  sqlite3_stmt *stmt cf_autofinalize = NULL;
  if (sqlite3_prepare_v2(store->db, owner != NULL ? list_owned_sql : list_sql, -1, &stmt, NULL) !=
          SQLITE_OK ||
      (owner != NULL && cf_store__bind_text(stmt, 1, owner) != SQLITE_OK)) {
    return cf_store__fail(store, err, "list runtime containers");
  }
  return cf_store__collect_strings(store, stmt, ids, count, "list runtime containers", err);
}
