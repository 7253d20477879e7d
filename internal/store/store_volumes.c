/* SPDX-License-Identifier: Apache-2.0 */
/* Volume records and the layer references that keep layers alive. */
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "store/store_internal.h"

static const char insert_sql[] =
    "INSERT INTO volumes (handle, state, path, image_uri, image_size, disk_limit, scope, quota,"
    " fs_base_used, loop_device, backing_file, created_at_ns)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";

static const char insert_layer_sql[] =
    "INSERT INTO volume_layers (handle, position, chain_id) VALUES (?1, ?2, ?3)";

static const char select_sql[] =
    "SELECT handle, state, path, image_uri, image_size, disk_limit, scope, quota, fs_base_used,"
    " loop_device, backing_file, created_at_ns FROM volumes WHERE handle = ?1";

static const char select_layers_sql[] =
    "SELECT chain_id FROM volume_layers WHERE handle = ?1 ORDER BY position";

void cf_volume_record_clear(cf_volume_record *record)
{
  free(record->handle);
  free(record->state);
  free(record->path);
  free(record->image_uri);
  free(record->loop_device);
  free(record->backing_file);
  cf_strv_free(record->chain_ids, record->layer_count);
  memset(record, 0, sizeof(*record));
}

static int unknown_volume(cf_err **err, const char *handle)
{
  return cf_err_set(err, CF_E_NOT_FOUND, "unknown volume: %s", handle);
}

static int check_state(const char *handle, const char *state, cf_err **err)
{
  if (state != NULL &&
      (strcmp(state, CF_VOLUME_CREATING) == 0 || strcmp(state, CF_VOLUME_READY) == 0 ||
       strcmp(state, CF_VOLUME_DELETING) == 0)) {
    return 0;
  }
  return cf_err_set(err, CF_E_INVALID,
                    "invalid state '%s' for volume %s; expected creating, ready or deleting",
                    state == NULL ? "" : state, handle);
}

static bool bind_record(sqlite3_stmt *stmt, const cf_volume_record *r)
{
  return cf_store__bind_text(stmt, 1, r->handle) == SQLITE_OK &&
         cf_store__bind_text(stmt, 2, r->state) == SQLITE_OK &&
         cf_store__bind_text(stmt, 3, r->path) == SQLITE_OK &&
         cf_store__bind_text(stmt, 4, r->image_uri) == SQLITE_OK &&
         sqlite3_bind_int64(stmt, 5, r->image_size) == SQLITE_OK &&
         sqlite3_bind_int64(stmt, 6, r->disk_limit) == SQLITE_OK &&
         sqlite3_bind_int(stmt, 7, r->scope) == SQLITE_OK &&
         sqlite3_bind_int64(stmt, 8, r->quota) == SQLITE_OK &&
         sqlite3_bind_int64(stmt, 9, r->fs_base_used) == SQLITE_OK &&
         cf_store__bind_text(stmt, 10, r->loop_device) == SQLITE_OK &&
         cf_store__bind_text(stmt, 11, r->backing_file) == SQLITE_OK &&
         sqlite3_bind_int64(stmt, 12, r->created_at_ns) == SQLITE_OK;
}

static int insert_volume_row(cf_store *store, const cf_volume_record *record, cf_err **err)
{
  sqlite3_stmt *stmt cf_autofinalize = NULL;
  if (sqlite3_prepare_v2(store->db, insert_sql, -1, &stmt, NULL) != SQLITE_OK ||
      !bind_record(stmt, record)) {
    return cf_store__fail(store, err, "insert volume %s", record->handle);
  }
  /* cf_store_open() turns on extended result codes, so step returns them. */
  int rc = sqlite3_step(stmt);
  if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
    return cf_err_set(err, CF_E_EXISTS, "volume already exists: %s", record->handle);
  }
  if (rc != SQLITE_DONE) {
    return cf_store__fail(store, err, "insert volume %s", record->handle);
  }
  return 0;
}

static int insert_layer_rows(cf_store *store, const cf_volume_record *record, cf_err **err)
{
  for (size_t i = 0; i < record->layer_count; i++) {
    sqlite3_stmt *stmt cf_autofinalize = NULL;
    if (sqlite3_prepare_v2(store->db, insert_layer_sql, -1, &stmt, NULL) != SQLITE_OK ||
        cf_store__bind_text(stmt, 1, record->handle) != SQLITE_OK ||
        sqlite3_bind_int64(stmt, 2, (int64_t)i) != SQLITE_OK ||
        cf_store__bind_text(stmt, 3, record->chain_ids[i]) != SQLITE_OK ||
        sqlite3_step(stmt) != SQLITE_DONE) {
      return cf_store__fail(store, err, "insert layer %s of volume %s", record->chain_ids[i],
                            record->handle);
    }
  }
  return 0;
}

int cf_store_volume_insert(cf_store *store, const cf_volume_record *record, cf_err **err)
{
  if (record->handle == NULL || record->path == NULL) {
    return cf_err_set(err, CF_E_INVALID, "store: insert volume: missing handle or path");
  }
  if (check_state(record->handle, record->state, err) < 0) {
    return -1;
  }

  CF_STORE_LOCK(store);
  if (cf_store__exec(store, "SAVEPOINT volume_insert", "insert volume", err) < 0) {
    return -1;
  }
  int rc = insert_volume_row(store, record, err);
  if (rc == 0) {
    rc = insert_layer_rows(store, record, err);
  }
  if (rc < 0) {
    sqlite3_exec(store->db, "ROLLBACK TO volume_insert", NULL, NULL, NULL);
  }
  if (sqlite3_exec(store->db, "RELEASE volume_insert", NULL, NULL, NULL) != SQLITE_OK && rc == 0) {
    return cf_store__fail(store, err, "insert volume %s", record->handle);
  }
  return rc;
}

static void read_record(sqlite3_stmt *stmt, cf_volume_record *out)
{
  out->handle = cf_store__column_text(stmt, 0);
  out->state = cf_store__column_text(stmt, 1);
  out->path = cf_store__column_text(stmt, 2);
  out->image_uri = cf_store__column_text(stmt, 3);
  out->image_size = sqlite3_column_int64(stmt, 4);
  out->disk_limit = sqlite3_column_int64(stmt, 5);
  out->scope = sqlite3_column_int(stmt, 6);
  out->quota = sqlite3_column_int64(stmt, 7);
  out->fs_base_used = sqlite3_column_int64(stmt, 8);
  out->loop_device = cf_store__column_text(stmt, 9);
  out->backing_file = cf_store__column_text(stmt, 10);
  out->created_at_ns = sqlite3_column_int64(stmt, 11);
}

static int read_layers(cf_store *store, const char *handle, cf_volume_record *out, cf_err **err)
{
  sqlite3_stmt *stmt cf_autofinalize = NULL;
  if (sqlite3_prepare_v2(store->db, select_layers_sql, -1, &stmt, NULL) != SQLITE_OK ||
      cf_store__bind_text(stmt, 1, handle) != SQLITE_OK) {
    return cf_store__fail(store, err, "read layers of volume %s", handle);
  }
  return cf_store__collect_strings(store, stmt, &out->chain_ids, &out->layer_count,
                                   "read layers of volume", err);
}

int cf_store_volume_get(cf_store *store, const char *handle, cf_volume_record *out, cf_err **err)
{
  memset(out, 0, sizeof(*out));

  CF_STORE_LOCK(store);
  sqlite3_stmt *stmt cf_autofinalize = NULL;
  if (sqlite3_prepare_v2(store->db, select_sql, -1, &stmt, NULL) != SQLITE_OK ||
      cf_store__bind_text(stmt, 1, handle) != SQLITE_OK) {
    return cf_store__fail(store, err, "read volume %s", handle);
  }
  int rc = sqlite3_step(stmt);
  if (rc == SQLITE_DONE) {
    return unknown_volume(err, handle);
  }
  if (rc != SQLITE_ROW) {
    return cf_store__fail(store, err, "read volume %s", handle);
  }
  read_record(stmt, out);
  if (read_layers(store, handle, out, err) < 0) {
    cf_volume_record_clear(out);
    return -1;
  }
  return 0;
}

/* Runs an UPDATE of one volume whose parameter 1 is the handle; bind sets
 * the others. */
static int update_volume(cf_store *store, const char *handle, const char *sql,
                         bool (*bind)(sqlite3_stmt *, const void *), const void *arg,
                         const char *context, cf_err **err)
{
  CF_STORE_LOCK(store);
  sqlite3_stmt *stmt cf_autofinalize = NULL;
  if (sqlite3_prepare_v2(store->db, sql, -1, &stmt, NULL) != SQLITE_OK ||
      cf_store__bind_text(stmt, 1, handle) != SQLITE_OK || !bind(stmt, arg) ||
      sqlite3_step(stmt) != SQLITE_DONE) {
    return cf_store__fail(store, err, "%s %s", context, handle);
  }
  if (sqlite3_changes(store->db) == 0) {
    return unknown_volume(err, handle);
  }
  return 0;
}

static bool bind_state(sqlite3_stmt *stmt, const void *arg)
{
  return cf_store__bind_text(stmt, 2, arg) == SQLITE_OK;
}

int cf_store_volume_set_state(cf_store *store, const char *handle, const char *state, cf_err **err)
{
  if (check_state(handle, state, err) < 0) {
    return -1;
  }
  return update_volume(store, handle, "UPDATE volumes SET state = ?2 WHERE handle = ?1", bind_state,
                       state, "set state of volume", err);
}

struct loop_args {
  const char *device;
  const char *file;
};

static bool bind_loop(sqlite3_stmt *stmt, const void *arg)
{
  const struct loop_args *loop = arg;
  return cf_store__bind_text(stmt, 2, loop->device) == SQLITE_OK &&
         cf_store__bind_text(stmt, 3, loop->file) == SQLITE_OK;
}

int cf_store_volume_set_loop(cf_store *store, const char *handle, const char *loop_device,
                             const char *backing_file, cf_err **err)
{
  struct loop_args loop = {loop_device, backing_file};
  return update_volume(store, handle,
                       "UPDATE volumes SET loop_device = ?2, backing_file = ?3 WHERE handle = ?1",
                       bind_loop, &loop, "record loop device of volume", err);
}

static bool bind_int64(sqlite3_stmt *stmt, const void *arg)
{
  return sqlite3_bind_int64(stmt, 2, *(const int64_t *)arg) == SQLITE_OK;
}

int cf_store_volume_set_base_used(cf_store *store, const char *handle, int64_t fs_base_used,
                                  cf_err **err)
{
  return update_volume(store, handle, "UPDATE volumes SET fs_base_used = ?2 WHERE handle = ?1",
                       bind_int64, &fs_base_used, "record filesystem use of volume", err);
}

int cf_store_volume_delete(cf_store *store, const char *handle, cf_err **err)
{
  CF_STORE_LOCK(store);
  sqlite3_stmt *stmt cf_autofinalize = NULL;
  if (sqlite3_prepare_v2(store->db, "DELETE FROM volumes WHERE handle = ?1", -1, &stmt, NULL) !=
          SQLITE_OK ||
      cf_store__bind_text(stmt, 1, handle) != SQLITE_OK || sqlite3_step(stmt) != SQLITE_DONE) {
    return cf_store__fail(store, err, "delete volume %s", handle);
  }
  if (sqlite3_changes(store->db) == 0) {
    return unknown_volume(err, handle);
  }
  return 0;
}

int cf_store_volume_list(cf_store *store, char ***handles, size_t *count, cf_err **err)
{
  *handles = NULL;
  *count = 0;

  CF_STORE_LOCK(store);
  sqlite3_stmt *stmt cf_autofinalize = NULL;
  if (sqlite3_prepare_v2(store->db, "SELECT handle FROM volumes ORDER BY handle", -1, &stmt,
                         NULL) != SQLITE_OK) {
    return cf_store__fail(store, err, "list volumes");
  }
  return cf_store__collect_strings(store, stmt, handles, count, "list volumes", err);
}

int cf_store_layer_ref_count(cf_store *store, const char *chain_id, int64_t *count, cf_err **err)
{
  CF_STORE_LOCK(store);
  sqlite3_stmt *stmt cf_autofinalize = NULL;
  if (sqlite3_prepare_v2(store->db,
                         "SELECT count(DISTINCT handle) FROM volume_layers WHERE chain_id = ?1", -1,
                         &stmt, NULL) != SQLITE_OK ||
      cf_store__bind_text(stmt, 1, chain_id) != SQLITE_OK || sqlite3_step(stmt) != SQLITE_ROW) {
    return cf_store__fail(store, err, "count references to layer %s", chain_id);
  }
  *count = sqlite3_column_int64(stmt, 0);
  return 0;
}
