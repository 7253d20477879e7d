/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Network endpoints, their host ports and rules, and the allocation of
 * addresses and host ports. Allocation reads and writes inside one write
 * transaction, so SQLite's database lock serialises concurrent processes.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/mem.h"
#include "store/store_internal.h"

static const char insert_endpoint_sql[] =
    "INSERT INTO net_endpoints (handle, address, pid, state, created_at_ns)"
    " VALUES (?1, ?2, ?3, ?4, ?5)";

static const char used_addresses_sql[] =
    "SELECT address FROM net_endpoints WHERE address BETWEEN ?1 AND ?2 ORDER BY address";

static const char used_ports_sql[] =
    "SELECT port FROM net_ports WHERE port BETWEEN ?1 AND ?2 ORDER BY port";

static const char port_owner_sql[] = "SELECT handle FROM net_ports WHERE port = ?1";

static const char insert_port_sql[] =
    "INSERT INTO net_ports (port, handle, container_port, position)"
    " VALUES (?1, ?2, ?3, (SELECT COUNT(*) FROM net_ports WHERE handle = ?2))";

static const char insert_rule_sql[] =
    "INSERT INTO net_rules (handle, position, rule_json)"
    " VALUES (?1, (SELECT COUNT(*) FROM net_rules WHERE handle = ?1), ?2)";

static const char select_endpoint_sql[] =
    "SELECT handle, address, pid, state, created_at_ns FROM net_endpoints WHERE handle = ?1";

void cf_net_endpoint_record_clear(cf_net_endpoint_record *record)
{
  free(record->handle);
  free(record->state);
  memset(record, 0, sizeof(*record));
}

static int unknown_endpoint(cf_err **err, const char *handle)
{
  return cf_err_set(err, CF_E_NOT_FOUND, "no network endpoint for container %s", handle);
}

/* Starts a write: BEGIN IMMEDIATE, which takes SQLite's write lock before
 * the first read, or a savepoint when the caller has a transaction open.
 * Call with the store's mutex held. */
static int begin_write(cf_store *store, bool *own, cf_err **err)
{
  *own = !store->in_transaction;
  if (*own) {
    return cf_store_begin(store, err);
  }
  return cf_store__exec(store, "SAVEPOINT net_write", "start network write", err);
}

/* Commits (rc == 0) or rolls back what begin_write() started. Returns rc,
 * or -1 when the commit fails. */
static int end_write(cf_store *store, bool own, int rc, cf_err **err)
{
  if (own) {
    if (rc < 0) {
      cf_store_rollback(store);
      return rc;
    }
    return cf_store_commit(store, err);
  }
  if (rc < 0) {
    sqlite3_exec(store->db, "ROLLBACK TO net_write", NULL, NULL, NULL);
  }
  if (sqlite3_exec(store->db, "RELEASE net_write", NULL, NULL, NULL) != SQLITE_OK && rc == 0) {
    return cf_store__fail(store, err, "finish network write");
  }
  return rc;
}

/* Sets *found to the lowest value in first..last that the ordered query
 * (bound to ?1 first, ?2 last) does not return and that is not skip. */
static int lowest_free(cf_store *store, const char *sql, uint32_t first, uint32_t last,
                       uint32_t skip, bool *found, uint32_t *value, cf_err **err)
{
  sqlite3_stmt *stmt cf_autofinalize = NULL;
  if (sqlite3_prepare_v2(store->db, sql, -1, &stmt, NULL) != SQLITE_OK ||
      sqlite3_bind_int64(stmt, 1, first) != SQLITE_OK ||
      sqlite3_bind_int64(stmt, 2, last) != SQLITE_OK) {
    return cf_store__fail(store, err, "find a free value");
  }
  uint64_t candidate = first;
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    uint64_t used = (uint64_t)sqlite3_column_int64(stmt, 0);
    if (candidate == skip) {
      candidate++;
    }
    if (used > candidate) {
      break;
    }
    if (used == candidate) {
      candidate++;
    }
  }
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
    return cf_store__fail(store, err, "find a free value");
  }
  if (candidate == skip) {
    candidate++;
  }
  *found = candidate <= last;
  *value = (uint32_t)candidate;
  return 0;
}

static int acquire_address(cf_store *store, const cf_net_pool *pool, uint32_t *address,
                           cf_err **err)
{
  bool found = false;
  if (lowest_free(store, used_addresses_sql, pool->first_address, pool->last_address, pool->gateway,
                  &found, address, err) < 0) {
    return -1;
  }
  if (!found) {
    return cf_err_set(err, CF_E_LIMIT,
                      "acquire address: every address of the subnet is in use; make "
                      "subnet_range larger or remove containers");
  }
  return 0;
}

static int insert_endpoint(cf_store *store, const char *handle, int64_t pid, uint32_t address,
                           cf_err **err)
{
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  sqlite3_stmt *stmt cf_autofinalize = NULL;
  if (sqlite3_prepare_v2(store->db, insert_endpoint_sql, -1, &stmt, NULL) != SQLITE_OK ||
      cf_store__bind_text(stmt, 1, handle) != SQLITE_OK ||
      sqlite3_bind_int64(stmt, 2, address) != SQLITE_OK ||
      sqlite3_bind_int64(stmt, 3, pid) != SQLITE_OK ||
      cf_store__bind_text(stmt, 4, CF_NET_ENDPOINT_CREATING) != SQLITE_OK ||
      sqlite3_bind_int64(stmt, 5, (int64_t)now.tv_sec * 1000000000 + now.tv_nsec) != SQLITE_OK) {
    return cf_store__fail(store, err, "insert network endpoint %s", handle);
  }
  int rc = sqlite3_step(stmt);
  if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
    return cf_err_set(err, CF_E_EXISTS, "container %s already has a network endpoint", handle);
  }
  if (rc != SQLITE_DONE) {
    return cf_store__fail(store, err, "insert network endpoint %s", handle);
  }
  return 0;
}

/* Fails with CF_E_EXISTS when port is recorded, naming its owner. */
static int check_port_free(cf_store *store, const char *handle, uint16_t port, cf_err **err)
{
  sqlite3_stmt *stmt cf_autofinalize = NULL;
  if (sqlite3_prepare_v2(store->db, port_owner_sql, -1, &stmt, NULL) != SQLITE_OK ||
      sqlite3_bind_int(stmt, 1, port) != SQLITE_OK) {
    return cf_store__fail(store, err, "look up host port %u", port);
  }
  int rc = sqlite3_step(stmt);
  if (rc == SQLITE_DONE) {
    return 0;
  }
  if (rc != SQLITE_ROW) {
    return cf_store__fail(store, err, "look up host port %u", port);
  }
  const char *owner = (const char *)sqlite3_column_text(stmt, 0);
  if (owner != NULL && strcmp(owner, handle) == 0) {
    return cf_err_set(err, CF_E_EXISTS, "host port %u is already mapped for container %s", port,
                      handle);
  }
  return cf_err_set(err, CF_E_EXISTS, "host port %u is in use by container %s", port,
                    owner != NULL ? owner : "?");
}

static int acquire_port(cf_store *store, const cf_net_pool *pool, uint16_t *port, cf_err **err)
{
  bool found = false;
  uint32_t value = 0;
  /* 0 is never a pool port, so skipping it skips nothing. */
  if (lowest_free(store, used_ports_sql, pool->port_start, pool->port_end, 0, &found, &value, err) <
      0) {
    return -1;
  }
  if (!found) {
    return cf_err_set(err, CF_E_LIMIT, "acquire port: port pool exhausted");
  }
  *port = (uint16_t)value;
  return 0;
}

static int insert_port(cf_store *store, const char *handle, const cf_net_port_mapping *mapping,
                       cf_err **err)
{
  sqlite3_stmt *stmt cf_autofinalize = NULL;
  if (sqlite3_prepare_v2(store->db, insert_port_sql, -1, &stmt, NULL) != SQLITE_OK ||
      sqlite3_bind_int(stmt, 1, mapping->host_port) != SQLITE_OK ||
      cf_store__bind_text(stmt, 2, handle) != SQLITE_OK ||
      sqlite3_bind_int(stmt, 3, mapping->container_port) != SQLITE_OK ||
      sqlite3_step(stmt) != SQLITE_DONE) {
    return cf_store__fail(store, err, "record host port %u of container %s", mapping->host_port,
                          handle);
  }
  return 0;
}

static int add_mappings(cf_store *store, const char *handle, const cf_net_pool *pool,
                        cf_net_port_mapping *mappings, size_t count, cf_err **err)
{
  for (size_t i = 0; i < count; i++) {
    cf_net_port_mapping mapping = mappings[i];
    if (mapping.host_port == 0 && acquire_port(store, pool, &mapping.host_port, err) < 0) {
      return -1;
    }
    if (mappings[i].host_port != 0 && check_port_free(store, handle, mapping.host_port, err) < 0) {
      return -1;
    }
    if (mapping.container_port == 0) {
      mapping.container_port = mapping.host_port;
    }
    if (insert_port(store, handle, &mapping, err) < 0) {
      return -1;
    }
    mappings[i] = mapping;
  }
  return 0;
}

static int add_rules(cf_store *store, const char *handle, const char *const *rules, size_t count,
                     cf_err **err)
{
  for (size_t i = 0; i < count; i++) {
    sqlite3_stmt *stmt cf_autofinalize = NULL;
    if (sqlite3_prepare_v2(store->db, insert_rule_sql, -1, &stmt, NULL) != SQLITE_OK ||
        cf_store__bind_text(stmt, 1, handle) != SQLITE_OK ||
        cf_store__bind_text(stmt, 2, rules[i]) != SQLITE_OK || sqlite3_step(stmt) != SQLITE_DONE) {
      return cf_store__fail(store, err, "record rule %zu of container %s", i, handle);
    }
  }
  return 0;
}

static int add_endpoint(cf_store *store, const char *handle, int64_t pid, const cf_net_pool *pool,
                        cf_net_port_mapping *mappings, size_t mapping_count,
                        const char *const *rules, size_t rule_count, uint32_t *address,
                        cf_err **err)
{
  if (acquire_address(store, pool, address, err) < 0 ||
      insert_endpoint(store, handle, pid, *address, err) < 0 ||
      add_mappings(store, handle, pool, mappings, mapping_count, err) < 0) {
    return -1;
  }
  return add_rules(store, handle, rules, rule_count, err);
}

int cf_store_net_endpoint_add(cf_store *store, const char *handle, int64_t pid,
                              const cf_net_pool *pool, cf_net_port_mapping *mappings,
                              size_t mapping_count, const char *const *rules, size_t rule_count,
                              uint32_t *address, cf_err **err)
{
  CF_STORE_LOCK(store);
  /* Work on a copy, so a rolled-back call leaves the caller's requests. */
  cf_autofree cf_net_port_mapping *copy = NULL;
  if (mapping_count > 0) {
    copy = cf_xmalloc(mapping_count * sizeof(*copy));
    memcpy(copy, mappings, mapping_count * sizeof(*copy));
  }
  bool own = false;
  if (begin_write(store, &own, err) < 0) {
    return -1;
  }
  int rc =
      add_endpoint(store, handle, pid, pool, copy, mapping_count, rules, rule_count, address, err);
  if (end_write(store, own, rc, err) < 0) {
    return -1;
  }
  if (mapping_count > 0) {
    memcpy(mappings, copy, mapping_count * sizeof(*copy));
  }
  return 0;
}

static void read_endpoint(sqlite3_stmt *stmt, cf_net_endpoint_record *out)
{
  out->handle = cf_store__column_text(stmt, 0);
  out->address = (uint32_t)sqlite3_column_int64(stmt, 1);
  out->pid = sqlite3_column_int64(stmt, 2);
  out->state = cf_store__column_text(stmt, 3);
  out->created_at_ns = sqlite3_column_int64(stmt, 4);
}

int cf_store_net_endpoint_get(cf_store *store, const char *handle, cf_net_endpoint_record *out,
                              cf_err **err)
{
  memset(out, 0, sizeof(*out));
  CF_STORE_LOCK(store);
  sqlite3_stmt *stmt cf_autofinalize = NULL;
  if (sqlite3_prepare_v2(store->db, select_endpoint_sql, -1, &stmt, NULL) != SQLITE_OK ||
      cf_store__bind_text(stmt, 1, handle) != SQLITE_OK) {
    return cf_store__fail(store, err, "read network endpoint %s", handle);
  }
  int rc = sqlite3_step(stmt);
  if (rc == SQLITE_DONE) {
    return unknown_endpoint(err, handle);
  }
  if (rc != SQLITE_ROW) {
    return cf_store__fail(store, err, "read network endpoint %s", handle);
  }
  read_endpoint(stmt, out);
  return 0;
}

int cf_store_net_endpoint_set_state(cf_store *store, const char *handle, const char *state,
                                    cf_err **err)
{
  CF_STORE_LOCK(store);
  sqlite3_stmt *stmt cf_autofinalize = NULL;
  if (sqlite3_prepare_v2(store->db, "UPDATE net_endpoints SET state = ?2 WHERE handle = ?1", -1,
                         &stmt, NULL) != SQLITE_OK ||
      cf_store__bind_text(stmt, 1, handle) != SQLITE_OK ||
      cf_store__bind_text(stmt, 2, state) != SQLITE_OK || sqlite3_step(stmt) != SQLITE_DONE) {
    return cf_store__fail(store, err, "set state of network endpoint %s", handle);
  }
  if (sqlite3_changes(store->db) == 0) {
    return unknown_endpoint(err, handle);
  }
  return 0;
}

int cf_store_net_endpoint_delete(cf_store *store, const char *handle, bool *deleted, cf_err **err)
{
  CF_STORE_LOCK(store);
  sqlite3_stmt *stmt cf_autofinalize = NULL;
  /* The ports and rules go with the endpoint (ON DELETE CASCADE). */
  if (sqlite3_prepare_v2(store->db, "DELETE FROM net_endpoints WHERE handle = ?1", -1, &stmt,
                         NULL) != SQLITE_OK ||
      cf_store__bind_text(stmt, 1, handle) != SQLITE_OK || sqlite3_step(stmt) != SQLITE_DONE) {
    return cf_store__fail(store, err, "delete network endpoint %s", handle);
  }
  if (deleted != NULL) {
    *deleted = sqlite3_changes(store->db) > 0;
  }
  return 0;
}

int cf_store_net_endpoint_list(cf_store *store, char ***handles, size_t *count, cf_err **err)
{
  CF_STORE_LOCK(store);
  sqlite3_stmt *stmt cf_autofinalize = NULL;
  if (sqlite3_prepare_v2(store->db, "SELECT handle FROM net_endpoints ORDER BY handle", -1, &stmt,
                         NULL) != SQLITE_OK) {
    return cf_store__fail(store, err, "list network endpoints");
  }
  return cf_store__collect_strings(store, stmt, handles, count, "list network endpoints", err);
}

static int check_endpoint(cf_store *store, const char *handle, cf_err **err)
{
  cf_net_endpoint_record record;
  int rc = cf_store_net_endpoint_get(store, handle, &record, err);
  cf_net_endpoint_record_clear(&record);
  return rc;
}

int cf_store_net_mappings_add(cf_store *store, const char *handle, const cf_net_pool *pool,
                              cf_net_port_mapping *mappings, size_t count, cf_err **err)
{
  CF_STORE_LOCK(store);
  cf_autofree cf_net_port_mapping *copy = NULL;
  if (count > 0) {
    copy = cf_xmalloc(count * sizeof(*copy));
    memcpy(copy, mappings, count * sizeof(*copy));
  }
  bool own = false;
  if (begin_write(store, &own, err) < 0) {
    return -1;
  }
  int rc = check_endpoint(store, handle, err);
  if (rc == 0) {
    rc = add_mappings(store, handle, pool, copy, count, err);
  }
  if (end_write(store, own, rc, err) < 0) {
    return -1;
  }
  if (count > 0) {
    memcpy(mappings, copy, count * sizeof(*copy));
  }
  return 0;
}

int cf_store_net_mappings_list(cf_store *store, const char *handle, cf_net_port_mapping **mappings,
                               size_t *count, cf_err **err)
{
  *mappings = NULL;
  *count = 0;
  CF_STORE_LOCK(store);
  sqlite3_stmt *stmt cf_autofinalize = NULL;
  if (sqlite3_prepare_v2(store->db,
                         "SELECT port, container_port FROM net_ports WHERE handle = ?1"
                         " ORDER BY position",
                         -1, &stmt, NULL) != SQLITE_OK ||
      cf_store__bind_text(stmt, 1, handle) != SQLITE_OK) {
    return cf_store__fail(store, err, "list host ports of container %s", handle);
  }
  cf_net_port_mapping *list = NULL;
  size_t n = 0;
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    list = cf_xrealloc(list, (n + 1) * sizeof(*list));
    list[n].host_port = (uint16_t)sqlite3_column_int(stmt, 0);
    list[n].container_port = (uint16_t)sqlite3_column_int(stmt, 1);
    n++;
  }
  if (rc != SQLITE_DONE) {
    free(list);
    return cf_store__fail(store, err, "list host ports of container %s", handle);
  }
  *mappings = list;
  *count = n;
  return 0;
}

int cf_store_net_rules_add(cf_store *store, const char *handle, const char *const *rules,
                           size_t count, cf_err **err)
{
  CF_STORE_LOCK(store);
  bool own = false;
  if (begin_write(store, &own, err) < 0) {
    return -1;
  }
  int rc = check_endpoint(store, handle, err);
  if (rc == 0) {
    rc = add_rules(store, handle, rules, count, err);
  }
  return end_write(store, own, rc, err);
}

int cf_store_net_rules_list(cf_store *store, const char *handle, char ***rules, size_t *count,
                            cf_err **err)
{
  CF_STORE_LOCK(store);
  sqlite3_stmt *stmt cf_autofinalize = NULL;
  if (sqlite3_prepare_v2(store->db,
                         "SELECT rule_json FROM net_rules WHERE handle = ?1 ORDER BY position", -1,
                         &stmt, NULL) != SQLITE_OK ||
      cf_store__bind_text(stmt, 1, handle) != SQLITE_OK) {
    return cf_store__fail(store, err, "list rules of container %s", handle);
  }
  return cf_store__collect_strings(store, stmt, rules, count, "list network rules", err);
}
