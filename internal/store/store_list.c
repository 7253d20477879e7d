/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The container list with property filters. The handles matching the first
 * filter are read in one query, then each is checked against the other
 * filters, all inside one savepoint so that every query reads the same
 * snapshot of the database.
 */
#include <stdlib.h>

#include "store/store_internal.h"

static const char all_handles_sql[] = "SELECT handle FROM containers ORDER BY handle";

static const char first_filter_sql[] =
    "SELECT handle FROM properties WHERE key = ?1 AND value = ?2 ORDER BY handle";

static const char has_property_sql[] =
    "SELECT 1 FROM properties WHERE handle = ?1 AND key = ?2 AND value = ?3";

static int list_all(cf_store *store, char ***handles, size_t *count, cf_err **err)
{
  sqlite3_stmt *stmt cf_autofinalize = NULL;
  if (sqlite3_prepare_v2(store->db, all_handles_sql, -1, &stmt, NULL) != SQLITE_OK) {
    return cf_store__fail(store, err, "list containers");
  }
  return cf_store__collect_strings(store, stmt, handles, count, "list containers", err);
}

static int list_first_filter(cf_store *store, const cf_property *filter, char ***handles,
                             size_t *count, cf_err **err)
{
  sqlite3_stmt *stmt cf_autofinalize = NULL;
  if (sqlite3_prepare_v2(store->db, first_filter_sql, -1, &stmt, NULL) != SQLITE_OK ||
      cf_store__bind_text(stmt, 1, filter->key) != SQLITE_OK ||
      cf_store__bind_text(stmt, 2, filter->value) != SQLITE_OK) {
    return cf_store__fail(store, err, "list containers with property %s", filter->key);
  }
  return cf_store__collect_strings(store, stmt, handles, count, "list containers", err);
}

/* Sets *match to whether the container has the filter's key with its value.
 * stmt is a prepared has_property_sql, reused across calls. */
static int has_property(cf_store *store, sqlite3_stmt *stmt, const char *handle,
                        const cf_property *filter, bool *match, cf_err **err)
{
  sqlite3_reset(stmt);
  if (cf_store__bind_text(stmt, 1, handle) != SQLITE_OK ||
      cf_store__bind_text(stmt, 2, filter->key) != SQLITE_OK ||
      cf_store__bind_text(stmt, 3, filter->value) != SQLITE_OK) {
    return cf_store__fail(store, err, "read property %s of container %s", filter->key, handle);
  }

  int rc = sqlite3_step(stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
    return cf_store__fail(store, err, "read property %s of container %s", filter->key, handle);
  }
  *match = rc == SQLITE_ROW;
  return 0;
}

static int matches_all(cf_store *store, sqlite3_stmt *stmt, const char *handle,
                       const cf_property *filters, size_t filter_count, bool *match, cf_err **err)
{
  *match = true;
  for (size_t i = 0; i < filter_count && *match; i++) {
    if (has_property(store, stmt, handle, &filters[i], match, err) < 0) {
      return -1;
    }
  }
  return 0;
}

/* Removes from handles, in place and keeping their order, the containers
 * that miss one of the filters. */
static int keep_matching(cf_store *store, const cf_property *filters, size_t filter_count,
                         char **handles, size_t *count, cf_err **err)
{
  sqlite3_stmt *stmt cf_autofinalize = NULL;
  if (sqlite3_prepare_v2(store->db, has_property_sql, -1, &stmt, NULL) != SQLITE_OK) {
    return cf_store__fail(store, err, "list containers");
  }

  size_t kept = 0;
  int rc = 0;
  for (size_t i = 0; i < *count; i++) {
    bool match = false;
    if (rc == 0) {
      rc = matches_all(store, stmt, handles[i], filters, filter_count, &match, err);
    }
    /* After a failure the loop only frees the handles not yet checked, so
     * the caller can free handles[0..*count) as usual. */
    if (match) {
      handles[kept++] = handles[i];
    } else {
      free(handles[i]);
    }
  }
  *count = kept;
  return rc;
}

static int list_filtered(cf_store *store, const cf_property *filters, size_t filter_count,
                         char ***handles, size_t *count, cf_err **err)
{
  if (list_first_filter(store, &filters[0], handles, count, err) < 0) {
    return -1;
  }
  if (keep_matching(store, filters + 1, filter_count - 1, *handles, count, err) < 0) {
    cf_strv_free(*handles, *count);
    *handles = NULL;
    *count = 0;
    return -1;
  }
  /* Every list call returns NULL for an empty list. */
  if (*count == 0) {
    cf_strv_free(*handles, 0);
    *handles = NULL;
  }
  return 0;
}

int cf_store_container_list(cf_store *store, const cf_property *filters, size_t filter_count,
                            char ***handles, size_t *count, cf_err **err)
{
  *handles = NULL;
  *count = 0;

  CF_STORE_LOCK(store);
  if (filter_count == 0) {
    return list_all(store, handles, count, err);
  }

  if (cf_store__exec(store, "SAVEPOINT container_list", "list containers", err) < 0) {
    return -1;
  }
  int rc = list_filtered(store, filters, filter_count, handles, count, err);
  /* The savepoint only read, so releasing it commits nothing. After an I/O
   * error SQLite may have rolled back already, so RELEASE fails too, and
   * the first error is the one to report. */
  if (sqlite3_exec(store->db, "RELEASE container_list", NULL, NULL, NULL) != SQLITE_OK && rc == 0) {
    cf_strv_free(*handles, *count);
    *handles = NULL;
    *count = 0;
    return cf_store__fail(store, err, "list containers");
  }
  return rc;
}
