/* SPDX-License-Identifier: Apache-2.0 */
/* Image layer records, keyed by OCI chain id. */
#include <stdlib.h>
#include <string.h>

#include "store/store_internal.h"

static const char upsert_sql[] =
    "INSERT INTO layers (chain_id, diff_id, parent_chain_id, path, size, state)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
    " ON CONFLICT (chain_id) DO UPDATE SET diff_id = excluded.diff_id,"
    " parent_chain_id = excluded.parent_chain_id, path = excluded.path,"
    " size = excluded.size, state = excluded.state";

static const char select_sql[] =
    "SELECT chain_id, diff_id, parent_chain_id, path, size, state FROM layers"
    " WHERE chain_id = ?1";

void cf_layer_record_clear(cf_layer_record *record)
{
  free(record->chain_id);
  free(record->diff_id);
  free(record->parent_chain_id);
  free(record->path);
  free(record->state);
  memset(record, 0, sizeof(*record));
}

static int check_record(const cf_layer_record *record, cf_err **err)
{
  if (record->chain_id == NULL || record->diff_id == NULL || record->path == NULL) {
    return cf_err_set(err, CF_E_INVALID, "store: put layer %s: missing chain id, diff id or path",
                      record->chain_id == NULL ? "" : record->chain_id);
  }
  if (record->state == NULL || (strcmp(record->state, CF_LAYER_UNPACKING) != 0 &&
                                strcmp(record->state, CF_LAYER_READY) != 0)) {
    return cf_err_set(err, CF_E_INVALID,
                      "invalid state '%s' for layer %s; expected unpacking or ready",
                      record->state == NULL ? "" : record->state, record->chain_id);
  }
  return 0;
}

static bool bind_record(sqlite3_stmt *stmt, const cf_layer_record *record)
{
  return cf_store__bind_text(stmt, 1, record->chain_id) == SQLITE_OK &&
         cf_store__bind_text(stmt, 2, record->diff_id) == SQLITE_OK &&
         cf_store__bind_text(stmt, 3, record->parent_chain_id) == SQLITE_OK &&
         cf_store__bind_text(stmt, 4, record->path) == SQLITE_OK &&
         sqlite3_bind_int64(stmt, 5, record->size) == SQLITE_OK &&
         cf_store__bind_text(stmt, 6, record->state) == SQLITE_OK;
}

int cf_store_layer_put(cf_store *store, const cf_layer_record *record, cf_err **err)
{
  if (check_record(record, err) < 0) {
    return -1;
  }

  CF_STORE_LOCK(store);
  sqlite3_stmt *stmt cf_autofinalize = NULL;
  if (sqlite3_prepare_v2(store->db, upsert_sql, -1, &stmt, NULL) != SQLITE_OK ||
      !bind_record(stmt, record) || sqlite3_step(stmt) != SQLITE_DONE) {
    return cf_store__fail(store, err, "put layer %s", record->chain_id);
  }
  return 0;
}

static int unknown_layer(cf_err **err, const char *chain_id)
{
  return cf_err_set(err, CF_E_NOT_FOUND, "unknown layer: %s", chain_id);
}

static void read_record(sqlite3_stmt *stmt, cf_layer_record *out)
{
  out->chain_id = cf_store__column_text(stmt, 0);
  out->diff_id = cf_store__column_text(stmt, 1);
  out->parent_chain_id = cf_store__column_text(stmt, 2);
  out->path = cf_store__column_text(stmt, 3);
  out->size = sqlite3_column_int64(stmt, 4);
  out->state = cf_store__column_text(stmt, 5);
}

int cf_store_layer_get(cf_store *store, const char *chain_id, cf_layer_record *out, cf_err **err)
{
  memset(out, 0, sizeof(*out));

  CF_STORE_LOCK(store);
  sqlite3_stmt *stmt cf_autofinalize = NULL;
  if (sqlite3_prepare_v2(store->db, select_sql, -1, &stmt, NULL) != SQLITE_OK ||
      cf_store__bind_text(stmt, 1, chain_id) != SQLITE_OK) {
    return cf_store__fail(store, err, "read layer %s", chain_id);
  }

  int rc = sqlite3_step(stmt);
  if (rc == SQLITE_DONE) {
    return unknown_layer(err, chain_id);
  }
  if (rc != SQLITE_ROW) {
    return cf_store__fail(store, err, "read layer %s", chain_id);
  }
  read_record(stmt, out);
  return 0;
}

int cf_store_layer_delete(cf_store *store, const char *chain_id, cf_err **err)
{
  CF_STORE_LOCK(store);
  sqlite3_stmt *stmt cf_autofinalize = NULL;
  if (sqlite3_prepare_v2(store->db, "DELETE FROM layers WHERE chain_id = ?1", -1, &stmt, NULL) !=
          SQLITE_OK ||
      cf_store__bind_text(stmt, 1, chain_id) != SQLITE_OK || sqlite3_step(stmt) != SQLITE_DONE) {
    return cf_store__fail(store, err, "delete layer %s", chain_id);
  }
  if (sqlite3_changes(store->db) == 0) {
    return unknown_layer(err, chain_id);
  }
  return 0;
}

int cf_store_layer_list(cf_store *store, char ***chain_ids, size_t *count, cf_err **err)
{
  *chain_ids = NULL;
  *count = 0;

  CF_STORE_LOCK(store);
  sqlite3_stmt *stmt cf_autofinalize = NULL;
  if (sqlite3_prepare_v2(store->db, "SELECT chain_id FROM layers ORDER BY chain_id", -1, &stmt,
                         NULL) != SQLITE_OK) {
    return cf_store__fail(store, err, "list layers");
  }
  return cf_store__collect_strings(store, stmt, chain_ids, count, "list layers", err);
}
