/* SPDX-License-Identifier: Apache-2.0 */
/* Container properties: string keys and values owned by one container. */
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "store/store_internal.h"

static const char upsert_sql[] = "INSERT INTO properties (handle, key, value) VALUES (?1, ?2, ?3)"
                                 " ON CONFLICT (handle, key) DO UPDATE SET value = excluded.value";

/* The LEFT JOIN returns no row for an unknown container and a NULL value for
 * a missing key, so one query distinguishes the two errors. */
static const char select_sql[] = "SELECT p.value FROM containers c"
                                 " LEFT JOIN properties p ON p.handle = c.handle AND p.key = ?2"
                                 " WHERE c.handle = ?1";

static const char list_sql[] = "SELECT key, value FROM properties WHERE handle = ?1 ORDER BY key";

void cf_properties_free(cf_property *props, size_t count)
{
  for (size_t i = 0; i < count; i++) {
    free(props[i].key);
    free(props[i].value);
  }
  free(props);
}

static int no_such_property(cf_err **err, const char *key)
{
  return cf_err_set(err, CF_E_NOT_FOUND, "no such property: %s", key);
}

int cf_store_property_set(cf_store *store, const char *handle, const char *key, const char *value,
                          cf_err **err)
{
  CF_STORE_LOCK(store);
  sqlite3_stmt *stmt cf_autofinalize = NULL;
  if (sqlite3_prepare_v2(store->db, upsert_sql, -1, &stmt, NULL) != SQLITE_OK ||
      cf_store__bind_text(stmt, 1, handle) != SQLITE_OK ||
      cf_store__bind_text(stmt, 2, key) != SQLITE_OK ||
      cf_store__bind_text(stmt, 3, value) != SQLITE_OK) {
    return cf_store__fail(store, err, "set property %s of container %s", key, handle);
  }

  int rc = sqlite3_step(stmt);
  if (rc == SQLITE_CONSTRAINT_FOREIGNKEY) {
    return cf_store__unknown_handle(err, handle);
  }
  if (rc != SQLITE_DONE) {
    return cf_store__fail(store, err, "set property %s of container %s", key, handle);
  }
  return 0;
}

int cf_store_property_get(cf_store *store, const char *handle, const char *key, char **value,
                          cf_err **err)
{
  *value = NULL;

  CF_STORE_LOCK(store);
  sqlite3_stmt *stmt cf_autofinalize = NULL;
  if (sqlite3_prepare_v2(store->db, select_sql, -1, &stmt, NULL) != SQLITE_OK ||
      cf_store__bind_text(stmt, 1, handle) != SQLITE_OK ||
      cf_store__bind_text(stmt, 2, key) != SQLITE_OK) {
    return cf_store__fail(store, err, "read property %s of container %s", key, handle);
  }

  int rc = sqlite3_step(stmt);
  if (rc == SQLITE_DONE) {
    return cf_store__unknown_handle(err, handle);
  }
  if (rc != SQLITE_ROW) {
    return cf_store__fail(store, err, "read property %s of container %s", key, handle);
  }
  if (sqlite3_column_type(stmt, 0) == SQLITE_NULL) {
    return no_such_property(err, key);
  }
  *value = cf_store__column_text(stmt, 0);
  return 0;
}

/* Sets *err for a DELETE that removed nothing: the container or the key is
 * unknown. */
static int report_missing(cf_store *store, const char *handle, const char *key, cf_err **err)
{
  bool exists = false;
  if (cf_store__container_exists(store, handle, &exists, err) < 0) {
    return -1;
  }
  return exists ? no_such_property(err, key) : cf_store__unknown_handle(err, handle);
}

int cf_store_property_remove(cf_store *store, const char *handle, const char *key, cf_err **err)
{
  CF_STORE_LOCK(store);
  sqlite3_stmt *stmt cf_autofinalize = NULL;
  if (sqlite3_prepare_v2(store->db, "DELETE FROM properties WHERE handle = ?1 AND key = ?2", -1,
                         &stmt, NULL) != SQLITE_OK ||
      cf_store__bind_text(stmt, 1, handle) != SQLITE_OK ||
      cf_store__bind_text(stmt, 2, key) != SQLITE_OK || sqlite3_step(stmt) != SQLITE_DONE) {
    return cf_store__fail(store, err, "remove property %s of container %s", key, handle);
  }
  if (sqlite3_changes(store->db) == 0) {
    return report_missing(store, handle, key, err);
  }
  return 0;
}

static void append_property(cf_property **props, size_t *count, size_t *capacity,
                            sqlite3_stmt *stmt)
{
  if (*count == *capacity) {
    *capacity = *capacity == 0 ? 8 : *capacity * 2;
    *props = cf_xrealloc(*props, *capacity * sizeof(**props));
  }
  cf_property *prop = &(*props)[(*count)++];
  prop->key = cf_store__column_text(stmt, 0);
  prop->value = cf_store__column_text(stmt, 1);
}

static int read_properties(cf_store *store, const char *handle, cf_property **props, size_t *count,
                           cf_err **err)
{
  sqlite3_stmt *stmt cf_autoreset = NULL;
  if (cf_store__prepare_cached(store, list_sql, &stmt) != SQLITE_OK ||
      cf_store__bind_text(stmt, 1, handle) != SQLITE_OK) {
    return cf_store__fail(store, err, "list properties of container %s", handle);
  }

  cf_property *list = NULL;
  size_t n = 0;
  size_t capacity = 0;
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    append_property(&list, &n, &capacity, stmt);
  }
  if (rc != SQLITE_DONE) {
    cf_properties_free(list, n);
    return cf_store__fail(store, err, "list properties of container %s", handle);
  }

  *props = list;
  *count = n;
  return 0;
}

int cf_store_property_list(cf_store *store, const char *handle, cf_property **props, size_t *count,
                           cf_err **err)
{
  *props = NULL;
  *count = 0;

  CF_STORE_LOCK(store);
  bool exists = false;
  if (cf_store__container_exists(store, handle, &exists, err) < 0) {
    return -1;
  }
  if (!exists) {
    return cf_store__unknown_handle(err, handle);
  }
  return read_properties(store, handle, props, count, err);
}
