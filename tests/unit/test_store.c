/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the SQLite depot (internal/store). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/fs.h"
#include "base/mem.h"
#include "store/store.h"
#include "store/store_internal.h"
#include "testutil.h"

/* Tables after each schema version. Index 0 is a new, empty database. */
static const char *const tables_at_version[] = {
    "",
    "containers,properties",
    "containers,processes,properties",
    "containers,layers,processes,properties",
    "containers,layers,processes,properties,volume_layers,volumes",
    "containers,layers,processes,properties,runtime_containers,volume_layers,volumes",
    "containers,layers,net_endpoints,net_ports,net_rules,processes,properties,runtime_containers,"
    "volume_layers,volumes",
    "container_events,container_limits,containers,layers,net_endpoints,net_ports,net_rules,"
    "processes,properties,runtime_containers,volume_layers,volumes",
    /* 8 adds the keeper columns to processes, no table. */
    "container_events,container_limits,containers,layers,net_endpoints,net_ports,net_rules,"
    "processes,properties,runtime_containers,volume_layers,volumes",
};

#define VERSION_COUNT ((int)(sizeof(tables_at_version) / sizeof(tables_at_version[0])))

struct fixture {
  char *dir;
  cf_store *store;
};

static void assert_ok(int rc, cf_err **err)
{
  if (rc != 0) {
    fail_msg("unexpected error: %s", *err == NULL ? "(no error set)" : (*err)->message);
  }
  assert_null(*err);
}

/* Asserts that a call failed with the given code and exact message, then
 * clears err. */
static void assert_error(int rc, cf_err **err, enum cf_code code, const char *message)
{
  assert_int_equal(rc, -1);
  assert_non_null(*err);
  assert_string_equal((*err)->message, message);
  assert_int_equal((*err)->code, code);
  cf_err_clear(err);
}

static cf_store *open_store(const char *dir)
{
  cf_err *err = NULL;
  cf_store *store = NULL;
  assert_ok(cf_store_open(dir, &store, &err), &err);
  assert_non_null(store);
  return store;
}

static int setup(void **state)
{
  struct fixture *f = cf_xcalloc(1, sizeof(*f));
  f->dir = cf_test_tmpdir("store");
  cf_err *err = NULL;
  if (cf_store_open(f->dir, &f->store, &err) < 0) {
    fprintf(stderr, "setup: %s\n", err->message);
    cf_err_free(err);
    return -1;
  }
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  struct fixture *f = *state;
  cf_store_close(f->store);
  cf_test_rmdir(f->dir);
  free(f->dir);
  free(f);
  return 0;
}

/* A second connection to the database file, bypassing the store. */
static sqlite3 *open_raw(const char *dir)
{
  cf_autofree char *path = cf_path_join(dir, "cfwin.db");
  sqlite3 *db = NULL;
  if (sqlite3_open(path, &db) != SQLITE_OK) {
    fail_msg("open %s: %s", path, sqlite3_errmsg(db));
  }
  return db;
}

static void exec_raw(sqlite3 *db, const char *sql)
{
  if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
    fail_msg("run %s: %s", sql, sqlite3_errmsg(db));
  }
}

/* Returns column 0 of the first row as a new string ("" for SQL NULL). */
static char *query_text(sqlite3 *db, const char *sql)
{
  sqlite3_stmt *stmt = NULL;
  if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK ||
      sqlite3_step(stmt) != SQLITE_ROW) {
    fail_msg("query %s: %s", sql, sqlite3_errmsg(db));
  }
  const unsigned char *text = sqlite3_column_text(stmt, 0);
  char *value = cf_xstrdup(text == NULL ? "" : (const char *)text);
  sqlite3_finalize(stmt);
  return value;
}

static int64_t query_int(sqlite3 *db, const char *sql)
{
  cf_autofree char *text = query_text(db, sql);
  return strtoll(text, NULL, 10);
}

/* Returns the names of the database's tables, sorted and joined by commas. */
static char *table_set(sqlite3 *db)
{
  return query_text(db, "SELECT group_concat(name, ',') FROM (SELECT name FROM sqlite_master"
                        " WHERE type = 'table' ORDER BY name)");
}

static void assert_table_set(const char *dir, const char *expected)
{
  sqlite3 *db = open_raw(dir);
  cf_autofree char *tables = table_set(db);
  sqlite3_close(db);
  assert_string_equal(tables, expected);
}

static void insert_container(cf_store *store, const char *handle)
{
  cf_container_record record = {
      .handle = (char *)handle,
      .state = CF_CONTAINER_CREATED,
      .rootfs_uri = "docker:///busybox",
      .dir = "/var/vcap/data/cfwin/depot/containers/x",
      .created_at_ns = 1700000000000000000,
      .env_json = "[]",
  };
  cf_err *err = NULL;
  assert_ok(cf_store_container_insert(store, &record, &err), &err);
}

static void set_property(cf_store *store, const char *handle, const char *key, const char *value)
{
  cf_err *err = NULL;
  assert_ok(cf_store_property_set(store, handle, key, value, &err), &err);
}

static void insert_process(cf_store *store, const char *handle, const char *id,
                           int64_t created_at_ns)
{
  cf_process_record record = {
      .id = (char *)id,
      .handle = (char *)handle,
      .pid = 4242,
      .start_time = 987654,
      .state = CF_PROCESS_RUNNING,
      .created_at_ns = created_at_ns,
  };
  cf_err *err = NULL;
  assert_ok(cf_store_process_insert(store, &record, &err), &err);
}

static void assert_strv(char **strv, size_t count, const char *const *expected,
                        size_t expected_count)
{
  assert_int_equal(count, expected_count);
  for (size_t i = 0; i < count; i++) {
    assert_string_equal(strv[i], expected[i]);
  }
  if (count == 0) {
    assert_null(strv);
  }
}

static void assert_container_list(cf_store *store, const cf_property *filters, size_t filter_count,
                                  const char *const *expected, size_t expected_count)
{
  char **handles = NULL;
  size_t count = 0;
  cf_err *err = NULL;
  assert_ok(cf_store_container_list(store, filters, filter_count, &handles, &count, &err), &err);
  assert_strv(handles, count, expected, expected_count);
  cf_strv_free(handles, count);
}

static void assert_process_list(cf_store *store, const char *handle, const char *const *expected,
                                size_t expected_count)
{
  char **ids = NULL;
  size_t count = 0;
  cf_err *err = NULL;
  assert_ok(cf_store_process_list(store, handle, &ids, &count, &err), &err);
  assert_strv(ids, count, expected, expected_count);
  cf_strv_free(ids, count);
}

static void test_open_creates_wal_database(void **state)
{
  struct fixture *f = *state;
  cf_autofree char *path = cf_path_join(f->dir, "cfwin.db");
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_true(S_ISREG(st.st_mode));

  sqlite3 *db = open_raw(f->dir);
  cf_autofree char *mode = query_text(db, "PRAGMA journal_mode");
  sqlite3_close(db);
  assert_string_equal(mode, "wal");
}

static void test_open_missing_dir_fails(void **state)
{
  struct fixture *f = *state;
  cf_autofree char *missing = cf_path_join(f->dir, "missing");
  cf_store *store = NULL;
  cf_err *err = NULL;
  assert_int_equal(cf_store_open(missing, &store, &err), -1);
  assert_null(store);
  assert_non_null(err);
  assert_int_equal(err->code, CF_E_SYSTEM);
  cf_autofree char *expected = cf_xasprintf("store: open %s: No such file or directory", missing);
  assert_string_equal(err->message, expected);
  cf_err_free(err);
}

static void test_reopen_keeps_records(void **state)
{
  struct fixture *f = *state;
  cf_err *err = NULL;
  cf_container_record container = {
      .handle = "w1",
      .state = CF_CONTAINER_CREATING,
      .rootfs_uri = "docker:///cloudfoundry/windows2016fs",
      .dir = "/depot/containers/w1",
      .init_pid = 1234,
      .init_start_time = UINT64_MAX,
      .grace_time_ns = 300000000000,
      .created_at_ns = 1733300000123456789,
      .env_json = "[\"PATH=/bin\",\"A=b\"]",
  };
  cf_process_record process = {
      .id = "p1",
      .handle = "w1",
      .pid = 5678,
      .start_time = (UINT64_C(1) << 63) + 5,
      .state = CF_PROCESS_EXITED,
      .exit_status = 137,
      .created_at_ns = 1733300000999,
  };
  cf_layer_record layer = {
      .chain_id = "sha256:aa",
      .diff_id = "sha256:bb",
      .parent_chain_id = NULL,
      .path = "/depot/layers/aa",
      .size = 123456789012,
      .state = CF_LAYER_READY,
  };
  assert_ok(cf_store_container_insert(f->store, &container, &err), &err);
  set_property(f->store, "w1", "owner", "diego");
  assert_ok(cf_store_process_insert(f->store, &process, &err), &err);
  assert_ok(cf_store_layer_put(f->store, &layer, &err), &err);

  cf_store_close(f->store);
  f->store = open_store(f->dir);

  cf_container_record got = {0};
  assert_ok(cf_store_container_get(f->store, "w1", &got, &err), &err);
  assert_string_equal(got.handle, "w1");
  assert_string_equal(got.state, CF_CONTAINER_CREATING);
  assert_string_equal(got.rootfs_uri, container.rootfs_uri);
  assert_string_equal(got.dir, container.dir);
  assert_int_equal(got.init_pid, 1234);
  assert_true(got.init_start_time == UINT64_MAX);
  assert_int_equal(got.grace_time_ns, 300000000000);
  assert_int_equal(got.created_at_ns, 1733300000123456789);
  assert_string_equal(got.env_json, container.env_json);
  cf_container_record_clear(&got);
  assert_null(got.handle);

  cf_autofree char *owner = NULL;
  assert_ok(cf_store_property_get(f->store, "w1", "owner", &owner, &err), &err);
  assert_string_equal(owner, "diego");

  cf_process_record got_process = {0};
  assert_ok(cf_store_process_get(f->store, "w1", "p1", &got_process, &err), &err);
  assert_string_equal(got_process.id, "p1");
  assert_string_equal(got_process.handle, "w1");
  assert_int_equal(got_process.pid, 5678);
  assert_true(got_process.start_time == (UINT64_C(1) << 63) + 5);
  assert_string_equal(got_process.state, CF_PROCESS_EXITED);
  assert_int_equal(got_process.exit_status, 137);
  assert_int_equal(got_process.created_at_ns, 1733300000999);
  cf_process_record_clear(&got_process);

  cf_layer_record got_layer = {0};
  assert_ok(cf_store_layer_get(f->store, "sha256:aa", &got_layer, &err), &err);
  assert_string_equal(got_layer.diff_id, "sha256:bb");
  assert_null(got_layer.parent_chain_id);
  assert_string_equal(got_layer.path, "/depot/layers/aa");
  assert_int_equal(got_layer.size, 123456789012);
  assert_string_equal(got_layer.state, CF_LAYER_READY);
  cf_layer_record_clear(&got_layer);
}

static void test_schema_version_counts_migrations(void **state)
{
  struct fixture *f = *state;
  cf_err *err = NULL;
  int version = -1;
  assert_ok(cf_store_schema_version(f->store, &version, &err), &err);
  assert_int_equal(version, cf_store__migration_count);
  assert_int_equal(cf_store__migration_count, VERSION_COUNT - 1);

  sqlite3 *db = open_raw(f->dir);
  int64_t user_version = query_int(db, "PRAGMA user_version");
  sqlite3_close(db);
  assert_int_equal(user_version, cf_store__migration_count);
}

static void test_open_twice_is_idempotent(void **state)
{
  struct fixture *f = *state;
  cf_err *err = NULL;
  insert_container(f->store, "w1");
  cf_store_close(f->store);

  f->store = open_store(f->dir);
  cf_store *second = open_store(f->dir);
  int version = -1;
  assert_ok(cf_store_schema_version(second, &version, &err), &err);
  assert_int_equal(version, cf_store__migration_count);
  assert_table_set(f->dir, tables_at_version[VERSION_COUNT - 1]);

  cf_container_record got = {0};
  assert_ok(cf_store_container_get(second, "w1", &got, &err), &err);
  assert_string_equal(got.handle, "w1");
  cf_container_record_clear(&got);
  cf_store_close(second);
}

static void test_open_rejects_newer_schema(void **state)
{
  struct fixture *f = *state;
  cf_autofree char *dir = cf_test_tmpdir("store-newer");
  cf_autofree char *set_version =
      cf_xasprintf("PRAGMA user_version = %d", cf_store__migration_count + 1);
  sqlite3 *db = open_raw(dir);
  exec_raw(db, set_version);
  sqlite3_close(db);

  cf_store *store = NULL;
  cf_err *err = NULL;
  int rc = cf_store_open(dir, &store, &err);
  assert_null(store);
  cf_autofree char *path = cf_path_join(dir, "cfwin.db");
  cf_autofree char *expected =
      cf_xasprintf("store: open %s: database schema version %d is newer "
                   "than this cfwin supports (%d); upgrade cfwin",
                   path, cf_store__migration_count + 1, cf_store__migration_count);
  assert_error(rc, &err, CF_E_INVALID, expected);
  assert_table_set(dir, "");
  cf_test_rmdir(dir);
  (void)f;
}

/* Applies the first `applied` migrations by hand, then lets cf_store_open()
 * finish: it must apply exactly the later ones, in order. A migration run
 * twice would fail on CREATE TABLE of an existing table. */
static void test_migrations_apply_in_order(void **state)
{
  for (int applied = 0; applied < VERSION_COUNT; applied++) {
    cf_autofree char *dir = cf_test_tmpdir("store-migrate");
    sqlite3 *db = open_raw(dir);
    for (int i = 0; i < applied; i++) {
      exec_raw(db, cf_store__migrations[i]);
    }
    cf_autofree char *tables = table_set(db);
    int64_t version = query_int(db, "PRAGMA user_version");
    sqlite3_close(db);
    assert_string_equal(tables, tables_at_version[applied]);
    assert_int_equal(version, applied);

    cf_store *store = open_store(dir);
    int reached = -1;
    cf_err *err = NULL;
    assert_ok(cf_store_schema_version(store, &reached, &err), &err);
    cf_store_close(store);
    assert_int_equal(reached, cf_store__migration_count);
    assert_table_set(dir, tables_at_version[VERSION_COUNT - 1]);
    cf_test_rmdir(dir);
  }
  (void)state;
}

/* A database already at the current version gets no migration, even when
 * (as here) its tables are missing. */
static void test_current_schema_runs_no_migration(void **state)
{
  cf_autofree char *dir = cf_test_tmpdir("store-current");
  cf_autofree char *set_version =
      cf_xasprintf("PRAGMA user_version = %d", cf_store__migration_count);
  sqlite3 *db = open_raw(dir);
  exec_raw(db, set_version);
  sqlite3_close(db);

  cf_store *store = open_store(dir);
  cf_store_close(store);
  assert_table_set(dir, "");
  cf_test_rmdir(dir);
  (void)state;
}

static void test_container_insert_duplicate_handle(void **state)
{
  struct fixture *f = *state;
  insert_container(f->store, "w1");
  cf_container_record record = {.handle = "w1", .state = CF_CONTAINER_CREATING};
  cf_err *err = NULL;
  int rc = cf_store_container_insert(f->store, &record, &err);
  assert_error(rc, &err, CF_E_EXISTS, "Handle 'w1' already in use");

  cf_container_record got = {0};
  assert_ok(cf_store_container_get(f->store, "w1", &got, &err), &err);
  assert_string_equal(got.state, CF_CONTAINER_CREATED);
  cf_container_record_clear(&got);
}

/* Counts the statements prepared on db that are not finalized, and fails
 * when one of them is still in the middle of a step. */
static size_t count_idle_statements(sqlite3 *db)
{
  size_t count = 0;
  for (sqlite3_stmt *stmt = sqlite3_next_stmt(db, NULL); stmt != NULL;
       stmt = sqlite3_next_stmt(db, stmt)) {
    if (sqlite3_stmt_busy(stmt)) {
      fail_msg("statement left unreset: %s", sqlite3_sql(stmt));
    }
    count++;
  }
  return count;
}

/* Runs the store queries of a Garden Info request for handle. */
static void read_info(cf_store *store, const char *handle)
{
  cf_err *err = NULL;
  cf_container_record record = {0};
  assert_ok(cf_store_container_get(store, handle, &record, &err), &err);
  assert_string_equal(record.handle, handle);
  cf_container_record_clear(&record);

  char **events = NULL;
  size_t event_count = 0;
  assert_ok(cf_store_event_list(store, handle, &events, &event_count, &err), &err);
  cf_strv_free(events, event_count);

  cf_property *props = NULL;
  size_t prop_count = 0;
  assert_ok(cf_store_property_list(store, handle, &props, &prop_count, &err), &err);
  assert_int_equal(prop_count, 1);
  assert_string_equal(props[0].value, handle);
  cf_properties_free(props, prop_count);
}

static void test_info_statements_stay_prepared(void **state)
{
  struct fixture *f = *state;
  insert_container(f->store, "first");
  insert_container(f->store, "second");
  set_property(f->store, "first", "name", "first");
  set_property(f->store, "second", "name", "second");
  assert_int_equal(count_idle_statements(f->store->db), 0);

  /* Container record, existence check, events and properties. */
  read_info(f->store, "first");
  assert_int_equal(count_idle_statements(f->store->db), 4);

  /* A lookup that fails leaves the statement ready for the next handle. */
  cf_err *err = NULL;
  cf_container_record record = {0};
  assert_error(cf_store_container_get(f->store, "missing", &record, &err), &err, CF_E_NOT_FOUND,
               "unknown handle: missing");
  read_info(f->store, "second");
  assert_int_equal(count_idle_statements(f->store->db), 4);

  cf_store__finalize_cached(f->store);
  assert_int_equal(count_idle_statements(f->store->db), 0);
}

static void test_read_transaction_one_snapshot(void **state)
{
  struct fixture *f = *state;
  insert_container(f->store, "early");
  cf_err *err = NULL;
  assert_ok(cf_store_read_begin(f->store, &err), &err);
  cf_container_record record = {0};
  assert_ok(cf_store_container_get(f->store, "early", &record, &err), &err);
  cf_container_record_clear(&record);

  /* An update that another connection commits now is not in this snapshot. */
  sqlite3 *db = open_raw(f->dir);
  exec_raw(db, "UPDATE containers SET state = 'stopped' WHERE handle = 'early'");
  assert_ok(cf_store_container_get(f->store, "early", &record, &err), &err);
  assert_string_equal(record.state, CF_CONTAINER_CREATED);
  cf_container_record_clear(&record);
  cf_store_read_end(f->store);

  assert_ok(cf_store_container_get(f->store, "early", &record, &err), &err);
  assert_string_equal(record.state, CF_CONTAINER_STOPPED);
  cf_container_record_clear(&record);
  sqlite3_close(db);

  /* A read transaction cannot start inside a write transaction. */
  assert_ok(cf_store_begin(f->store, &err), &err);
  assert_int_equal(cf_store_read_begin(f->store, &err), -1);
  assert_non_null(err);
  cf_err_clear(&err);
  assert_ok(cf_store_commit(f->store, &err), &err);
}

static void test_container_unknown_handle(void **state)
{
  struct fixture *f = *state;
  cf_err *err = NULL;
  cf_container_record got = {0};
  insert_container(f->store, "other");

  assert_error(cf_store_container_get(f->store, "w1", &got, &err), &err, CF_E_NOT_FOUND,
               "unknown handle: w1");
  assert_null(got.handle);
  assert_error(cf_store_container_set_state(f->store, "w1", CF_CONTAINER_STOPPED, &err), &err,
               CF_E_NOT_FOUND, "unknown handle: w1");
  assert_error(cf_store_container_set_init(f->store, "w1", 1, 2, &err), &err, CF_E_NOT_FOUND,
               "unknown handle: w1");
  assert_error(cf_store_container_set_grace_time(f->store, "w1", 5, &err), &err, CF_E_NOT_FOUND,
               "unknown handle: w1");
  assert_error(cf_store_container_delete(f->store, "w1", &err), &err, CF_E_NOT_FOUND,
               "unknown handle: w1");
}

static void test_container_setters_update_fields(void **state)
{
  struct fixture *f = *state;
  cf_err *err = NULL;
  insert_container(f->store, "w1");
  insert_container(f->store, "w2");
  assert_ok(cf_store_container_set_state(f->store, "w1", CF_CONTAINER_STOPPED, &err), &err);
  assert_ok(cf_store_container_set_init(f->store, "w1", 77, (UINT64_C(1) << 63), &err), &err);
  assert_ok(cf_store_container_set_grace_time(f->store, "w1", 60000000000, &err), &err);

  cf_container_record got = {0};
  assert_ok(cf_store_container_get(f->store, "w1", &got, &err), &err);
  assert_string_equal(got.state, CF_CONTAINER_STOPPED);
  assert_int_equal(got.init_pid, 77);
  assert_true(got.init_start_time == (UINT64_C(1) << 63));
  assert_int_equal(got.grace_time_ns, 60000000000);
  assert_string_equal(got.rootfs_uri, "docker:///busybox");
  cf_container_record_clear(&got);

  assert_ok(cf_store_container_get(f->store, "w2", &got, &err), &err);
  assert_string_equal(got.state, CF_CONTAINER_CREATED);
  assert_int_equal(got.init_pid, 0);
  assert_int_equal(got.grace_time_ns, 0);
  cf_container_record_clear(&got);
}

static void test_container_rejects_invalid_state(void **state)
{
  struct fixture *f = *state;
  cf_err *err = NULL;
  cf_container_record record = {.handle = "w1", .state = "running"};
  assert_error(cf_store_container_insert(f->store, &record, &err), &err, CF_E_INVALID,
               "invalid state 'running' for container w1; expected creating, created, "
               "stopped or destroying");

  insert_container(f->store, "w1");
  assert_error(cf_store_container_set_state(f->store, "w1", "gone", &err), &err, CF_E_INVALID,
               "invalid state 'gone' for container w1; expected creating, created, stopped "
               "or destroying");
}

static void test_property_set_get_replace(void **state)
{
  struct fixture *f = *state;
  cf_err *err = NULL;
  insert_container(f->store, "w1");
  set_property(f->store, "w1", "color", "blue");

  cf_autofree char *value = NULL;
  assert_ok(cf_store_property_get(f->store, "w1", "color", &value, &err), &err);
  assert_string_equal(value, "blue");
  free(value);

  set_property(f->store, "w1", "color", "red");
  assert_ok(cf_store_property_get(f->store, "w1", "color", &value, &err), &err);
  assert_string_equal(value, "red");

  cf_property *props = NULL;
  size_t count = 0;
  assert_ok(cf_store_property_list(f->store, "w1", &props, &count, &err), &err);
  assert_int_equal(count, 1);
  cf_properties_free(props, count);
}

static void test_property_remove(void **state)
{
  struct fixture *f = *state;
  cf_err *err = NULL;
  insert_container(f->store, "w1");
  set_property(f->store, "w1", "color", "blue");
  set_property(f->store, "w1", "size", "big");
  assert_ok(cf_store_property_remove(f->store, "w1", "color", &err), &err);

  char *value = NULL;
  assert_error(cf_store_property_get(f->store, "w1", "color", &value, &err), &err, CF_E_NOT_FOUND,
               "no such property: color");
  assert_null(value);
  assert_error(cf_store_property_remove(f->store, "w1", "color", &err), &err, CF_E_NOT_FOUND,
               "no such property: color");

  assert_ok(cf_store_property_get(f->store, "w1", "size", &value, &err), &err);
  assert_string_equal(value, "big");
  free(value);
}

static void test_property_missing_key(void **state)
{
  struct fixture *f = *state;
  cf_err *err = NULL;
  insert_container(f->store, "w1");
  insert_container(f->store, "w2");
  set_property(f->store, "w2", "nokey", "set on another container");

  char *value = NULL;
  assert_error(cf_store_property_get(f->store, "w1", "nokey", &value, &err), &err, CF_E_NOT_FOUND,
               "no such property: nokey");
  assert_null(value);
}

static void test_property_list_sorted_by_key(void **state)
{
  struct fixture *f = *state;
  cf_err *err = NULL;
  insert_container(f->store, "w1");
  insert_container(f->store, "w2");
  set_property(f->store, "w1", "b", "2");
  set_property(f->store, "w1", "c", "3");
  set_property(f->store, "w1", "a", "1");
  set_property(f->store, "w2", "a", "other");

  cf_property *props = NULL;
  size_t count = 0;
  assert_ok(cf_store_property_list(f->store, "w1", &props, &count, &err), &err);
  assert_int_equal(count, 3);
  assert_string_equal(props[0].key, "a");
  assert_string_equal(props[0].value, "1");
  assert_string_equal(props[1].key, "b");
  assert_string_equal(props[1].value, "2");
  assert_string_equal(props[2].key, "c");
  assert_string_equal(props[2].value, "3");
  cf_properties_free(props, count);

  insert_container(f->store, "empty");
  assert_ok(cf_store_property_list(f->store, "empty", &props, &count, &err), &err);
  assert_int_equal(count, 0);
  assert_null(props);
}

static void test_property_unknown_handle(void **state)
{
  struct fixture *f = *state;
  cf_err *err = NULL;
  char *value = NULL;
  cf_property *props = NULL;
  size_t count = 0;
  insert_container(f->store, "w1");

  assert_error(cf_store_property_set(f->store, "nope", "k", "v", &err), &err, CF_E_NOT_FOUND,
               "unknown handle: nope");
  assert_error(cf_store_property_get(f->store, "nope", "k", &value, &err), &err, CF_E_NOT_FOUND,
               "unknown handle: nope");
  assert_error(cf_store_property_remove(f->store, "nope", "k", &err), &err, CF_E_NOT_FOUND,
               "unknown handle: nope");
  assert_error(cf_store_property_list(f->store, "nope", &props, &count, &err), &err, CF_E_NOT_FOUND,
               "unknown handle: nope");
  assert_null(props);
  assert_int_equal(count, 0);
}

static void test_container_list_filters(void **state)
{
  struct fixture *f = *state;
  /* Inserted out of order to check the sort. */
  insert_container(f->store, "c");
  insert_container(f->store, "a");
  insert_container(f->store, "d");
  insert_container(f->store, "b");
  set_property(f->store, "a", "env", "prod");
  set_property(f->store, "a", "team", "x");
  set_property(f->store, "b", "env", "prod");
  set_property(f->store, "b", "team", "y");
  set_property(f->store, "c", "env", "dev");
  set_property(f->store, "c", "team", "x");

  const char *const all[] = {"a", "b", "c", "d"};
  const char *const a_b[] = {"a", "b"};
  const char *const a_c[] = {"a", "c"};
  const char *const a[] = {"a"};
  assert_container_list(f->store, NULL, 0, all, 4);

  cf_property prod[] = {{"env", "prod"}};
  assert_container_list(f->store, prod, 1, a_b, 2);
  cf_property team_x[] = {{"team", "x"}};
  assert_container_list(f->store, team_x, 1, a_c, 2);
  cf_property prod_x[] = {{"env", "prod"}, {"team", "x"}};
  assert_container_list(f->store, prod_x, 2, a, 1);
  cf_property x_prod[] = {{"team", "x"}, {"env", "prod"}};
  assert_container_list(f->store, x_prod, 2, a, 1);
  cf_property prod_twice[] = {{"env", "prod"}, {"env", "prod"}};
  assert_container_list(f->store, prod_twice, 2, a_b, 2);

  cf_property prefix[] = {{"env", "pro"}};
  assert_container_list(f->store, prefix, 1, NULL, 0);
  cf_property upper[] = {{"env", "PROD"}};
  assert_container_list(f->store, upper, 1, NULL, 0);
  cf_property unknown_key[] = {{"missing", "prod"}};
  assert_container_list(f->store, unknown_key, 1, NULL, 0);
  cf_property prod_dev[] = {{"env", "prod"}, {"env", "dev"}};
  assert_container_list(f->store, prod_dev, 2, NULL, 0);
  cf_property prod_z[] = {{"env", "prod"}, {"team", "z"}};
  assert_container_list(f->store, prod_z, 2, NULL, 0);
}

static void test_container_delete_cascades(void **state)
{
  struct fixture *f = *state;
  cf_err *err = NULL;
  insert_container(f->store, "w1");
  insert_container(f->store, "w2");
  set_property(f->store, "w1", "a", "1");
  set_property(f->store, "w1", "b", "2");
  set_property(f->store, "w2", "a", "1");
  insert_process(f->store, "w1", "p1", 1);
  insert_process(f->store, "w1", "p2", 2);
  insert_process(f->store, "w2", "p1", 1);

  assert_ok(cf_store_container_delete(f->store, "w1", &err), &err);

  sqlite3 *db = open_raw(f->dir);
  int64_t properties = query_int(db, "SELECT count(*) FROM properties WHERE handle = 'w1'");
  int64_t processes = query_int(db, "SELECT count(*) FROM processes WHERE handle = 'w1'");
  int64_t other_properties = query_int(db, "SELECT count(*) FROM properties WHERE handle = 'w2'");
  int64_t other_processes = query_int(db, "SELECT count(*) FROM processes WHERE handle = 'w2'");
  sqlite3_close(db);
  assert_int_equal(properties, 0);
  assert_int_equal(processes, 0);
  assert_int_equal(other_properties, 1);
  assert_int_equal(other_processes, 1);

  /* A container made again under the same handle starts empty. */
  insert_container(f->store, "w1");
  cf_property *props = NULL;
  size_t count = 0;
  assert_ok(cf_store_property_list(f->store, "w1", &props, &count, &err), &err);
  assert_int_equal(count, 0);
  assert_process_list(f->store, "w1", NULL, 0);
}

static void test_process_insert_duplicate_id(void **state)
{
  struct fixture *f = *state;
  cf_err *err = NULL;
  insert_container(f->store, "w1");
  insert_container(f->store, "w2");
  insert_process(f->store, "w1", "p1", 1);

  cf_process_record record = {.id = "p1", .handle = "w1", .pid = 99, .state = CF_PROCESS_RUNNING};
  assert_error(cf_store_process_insert(f->store, &record, &err), &err, CF_E_EXISTS,
               "process ID 'p1' already in use");

  record.handle = "w2";
  assert_ok(cf_store_process_insert(f->store, &record, &err), &err);

  cf_process_record got = {0};
  assert_ok(cf_store_process_get(f->store, "w1", "p1", &got, &err), &err);
  assert_int_equal(got.pid, 4242);
  cf_process_record_clear(&got);
}

static void test_process_set_keeper(void **state)
{
  struct fixture *f = *state;
  cf_err *err = NULL;
  insert_container(f->store, "w1");
  cf_process_record record = {.id = "p1", .handle = "w1", .state = CF_PROCESS_RUNNING};
  assert_ok(cf_store_process_insert(f->store, &record, &err), &err);

  record.pid = 321;
  record.start_time = 654;
  record.keeper_pid = 987;
  record.keeper_start_time = UINT64_C(18446744073709551000);
  record.socket_path = "/depot/keepers/ab.sock";
  record.tty = true;
  assert_ok(cf_store_process_set_keeper(f->store, &record, &err), &err);

  cf_process_record got = {0};
  assert_ok(cf_store_process_get(f->store, "w1", "p1", &got, &err), &err);
  assert_int_equal(got.pid, 321);
  assert_int_equal(got.start_time, 654);
  assert_int_equal(got.keeper_pid, 987);
  assert_true(got.keeper_start_time == UINT64_C(18446744073709551000));
  assert_string_equal(got.socket_path, "/depot/keepers/ab.sock");
  assert_true(got.tty);
  assert_string_equal(got.state, CF_PROCESS_RUNNING);
  cf_process_record_clear(&got);

  record.id = "p9";
  assert_error(cf_store_process_set_keeper(f->store, &record, &err), &err, CF_E_NOT_FOUND,
               "unknown process: p9");
}

static void test_process_insert_unknown_container(void **state)
{
  struct fixture *f = *state;
  cf_err *err = NULL;
  cf_process_record record = {.id = "p1", .handle = "nope", .state = CF_PROCESS_RUNNING};
  assert_error(cf_store_process_insert(f->store, &record, &err), &err, CF_E_NOT_FOUND,
               "unknown handle: nope");
}

static void test_process_unknown_id(void **state)
{
  struct fixture *f = *state;
  cf_err *err = NULL;
  cf_process_record got = {0};
  insert_container(f->store, "w1");
  insert_container(f->store, "w2");
  insert_process(f->store, "w2", "p9", 1);

  assert_error(cf_store_process_get(f->store, "w1", "p9", &got, &err), &err, CF_E_NOT_FOUND,
               "unknown process: p9");
  assert_null(got.id);
  assert_error(cf_store_process_get(f->store, "nope", "p9", &got, &err), &err, CF_E_NOT_FOUND,
               "unknown handle: nope");
  assert_error(cf_store_process_set_exited(f->store, "w1", "p9", 1, &err), &err, CF_E_NOT_FOUND,
               "unknown process: p9");
  assert_error(cf_store_process_set_exited(f->store, "nope", "p9", 1, &err), &err, CF_E_NOT_FOUND,
               "unknown handle: nope");
  assert_error(cf_store_process_delete(f->store, "w1", "p9", &err), &err, CF_E_NOT_FOUND,
               "unknown process: p9");

  char **ids = NULL;
  size_t count = 0;
  assert_error(cf_store_process_list(f->store, "nope", &ids, &count, &err), &err, CF_E_NOT_FOUND,
               "unknown handle: nope");
}

static void test_process_set_exited(void **state)
{
  struct fixture *f = *state;
  cf_err *err = NULL;
  insert_container(f->store, "w1");
  insert_process(f->store, "w1", "p1", 1);
  insert_process(f->store, "w1", "p2", 2);

  assert_ok(cf_store_process_set_exited(f->store, "w1", "p1", 137, &err), &err);

  cf_process_record got = {0};
  assert_ok(cf_store_process_get(f->store, "w1", "p1", &got, &err), &err);
  assert_string_equal(got.state, CF_PROCESS_EXITED);
  assert_int_equal(got.exit_status, 137);
  assert_int_equal(got.pid, 4242);
  assert_true(got.start_time == 987654);
  cf_process_record_clear(&got);

  assert_ok(cf_store_process_get(f->store, "w1", "p2", &got, &err), &err);
  assert_string_equal(got.state, CF_PROCESS_RUNNING);
  cf_process_record_clear(&got);
}

static void test_process_list_creation_order(void **state)
{
  struct fixture *f = *state;
  cf_err *err = NULL;
  insert_container(f->store, "w1");
  insert_container(f->store, "w2");
  insert_process(f->store, "w1", "zeta", 100);
  insert_process(f->store, "w1", "alpha", 200);
  insert_process(f->store, "w1", "mid", 200);
  insert_process(f->store, "w2", "other", 50);

  const char *const all[] = {"zeta", "alpha", "mid"};
  assert_process_list(f->store, "w1", all, 3);

  assert_ok(cf_store_process_delete(f->store, "w1", "alpha", &err), &err);
  const char *const rest[] = {"zeta", "mid"};
  assert_process_list(f->store, "w1", rest, 2);
  assert_error(cf_store_process_delete(f->store, "w1", "alpha", &err), &err, CF_E_NOT_FOUND,
               "unknown process: alpha");
}

static void test_layer_put_get_list_delete(void **state)
{
  struct fixture *f = *state;
  cf_err *err = NULL;
  cf_layer_record base = {
      .chain_id = "sha256:bbbb",
      .diff_id = "sha256:1111",
      .path = "/depot/layers/bbbb",
      .size = 10,
      .state = CF_LAYER_UNPACKING,
  };
  cf_layer_record top = {
      .chain_id = "sha256:aaaa",
      .diff_id = "sha256:2222",
      .parent_chain_id = "sha256:bbbb",
      .path = "/depot/layers/aaaa",
      .size = 20,
      .state = CF_LAYER_READY,
  };
  assert_ok(cf_store_layer_put(f->store, &base, &err), &err);
  assert_ok(cf_store_layer_put(f->store, &top, &err), &err);

  base.state = CF_LAYER_READY;
  base.size = 11;
  assert_ok(cf_store_layer_put(f->store, &base, &err), &err);

  cf_layer_record got = {0};
  assert_ok(cf_store_layer_get(f->store, "sha256:bbbb", &got, &err), &err);
  assert_string_equal(got.chain_id, "sha256:bbbb");
  assert_string_equal(got.state, CF_LAYER_READY);
  assert_int_equal(got.size, 11);
  assert_null(got.parent_chain_id);
  cf_layer_record_clear(&got);

  assert_ok(cf_store_layer_get(f->store, "sha256:aaaa", &got, &err), &err);
  assert_string_equal(got.parent_chain_id, "sha256:bbbb");
  assert_string_equal(got.diff_id, "sha256:2222");
  cf_layer_record_clear(&got);

  char **ids = NULL;
  size_t count = 0;
  assert_ok(cf_store_layer_list(f->store, &ids, &count, &err), &err);
  const char *const sorted[] = {"sha256:aaaa", "sha256:bbbb"};
  assert_strv(ids, count, sorted, 2);
  cf_strv_free(ids, count);

  assert_ok(cf_store_layer_delete(f->store, "sha256:aaaa", &err), &err);
  assert_error(cf_store_layer_get(f->store, "sha256:aaaa", &got, &err), &err, CF_E_NOT_FOUND,
               "unknown layer: sha256:aaaa");
  assert_error(cf_store_layer_delete(f->store, "sha256:aaaa", &err), &err, CF_E_NOT_FOUND,
               "unknown layer: sha256:aaaa");
  assert_ok(cf_store_layer_list(f->store, &ids, &count, &err), &err);
  assert_strv(ids, count, sorted + 1, 1);
  cf_strv_free(ids, count);
}

static void test_layer_rejects_invalid_state(void **state)
{
  struct fixture *f = *state;
  cf_err *err = NULL;
  cf_layer_record layer = {
      .chain_id = "sha256:aaaa", .diff_id = "sha256:1", .path = "/l", .state = "done"};
  assert_error(cf_store_layer_put(f->store, &layer, &err), &err, CF_E_INVALID,
               "invalid state 'done' for layer sha256:aaaa; expected unpacking or ready");
}

static void test_transaction_rollback_discards(void **state)
{
  struct fixture *f = *state;
  cf_err *err = NULL;
  cf_layer_record layer = {
      .chain_id = "sha256:aa", .diff_id = "sha256:bb", .path = "/l", .state = CF_LAYER_READY};

  assert_ok(cf_store_begin(f->store, &err), &err);
  insert_container(f->store, "w1");
  set_property(f->store, "w1", "k", "v");
  assert_ok(cf_store_layer_put(f->store, &layer, &err), &err);
  cf_store_rollback(f->store);

  cf_container_record got = {0};
  assert_error(cf_store_container_get(f->store, "w1", &got, &err), &err, CF_E_NOT_FOUND,
               "unknown handle: w1");
  assert_container_list(f->store, NULL, 0, NULL, 0);
  char **ids = NULL;
  size_t count = 0;
  assert_ok(cf_store_layer_list(f->store, &ids, &count, &err), &err);
  assert_int_equal(count, 0);

  assert_ok(cf_store_begin(f->store, &err), &err);
  insert_container(f->store, "w2");
  assert_ok(cf_store_commit(f->store, &err), &err);
  const char *const committed[] = {"w2"};
  assert_container_list(f->store, NULL, 0, committed, 1);
}

static void test_commit_without_begin_fails(void **state)
{
  struct fixture *f = *state;
  cf_err *err = NULL;
  assert_error(cf_store_commit(f->store, &err), &err, CF_E_INVALID,
               "store: commit transaction: no transaction is open");
  /* Neither call may release a mutex hold it does not own. */
  cf_store_rollback(f->store);
  insert_container(f->store, "w1");

  assert_ok(cf_store_begin(f->store, &err), &err);
  assert_int_equal(cf_store_begin(f->store, &err), -1);
  assert_non_null(err);
  cf_err_clear(&err);
  assert_ok(cf_store_commit(f->store, &err), &err);
}

#define THREAD_COUNT 2
#define INSERTS_PER_THREAD 200

struct insert_job {
  cf_store *store;
  int thread;
  int failures;
  char *first_error;
};

static int insert_one(cf_store *store, const char *handle, cf_err **err)
{
  cf_container_record record = {.handle = (char *)handle, .state = CF_CONTAINER_CREATING};
  if (cf_store_container_insert(store, &record, err) < 0) {
    return -1;
  }
  return cf_store_property_set(store, handle, "owner", "thread", err);
}

/* Odd iterations wrap the insert in a transaction, so another thread's plain
 * calls run while this one holds the mutex between begin and commit. */
static int insert_numbered(cf_store *store, int thread, int i, cf_err **err)
{
  cf_autofree char *handle = cf_xasprintf("t%d-%03d", thread, i);
  if (i % 2 == 0) {
    return insert_one(store, handle, err);
  }
  if (cf_store_begin(store, err) < 0) {
    return -1;
  }
  if (insert_one(store, handle, err) < 0) {
    cf_store_rollback(store);
    return -1;
  }
  return cf_store_commit(store, err);
}

/* Runs in a worker thread: cmocka's asserts are not thread-safe, so failures
 * are counted and checked by the main thread. */
static void *run_inserts(void *arg)
{
  struct insert_job *job = arg;
  for (int i = 0; i < INSERTS_PER_THREAD; i++) {
    cf_err *err = NULL;
    if (insert_numbered(job->store, job->thread, i, &err) < 0) {
      job->failures++;
      if (job->first_error == NULL) {
        job->first_error = cf_xstrdup(err == NULL ? "(no error set)" : err->message);
      }
      cf_err_free(err);
    }
  }
  return NULL;
}

static void run_insert_threads(cf_store *const *stores)
{
  pthread_t threads[THREAD_COUNT];
  struct insert_job jobs[THREAD_COUNT] = {0};
  for (int t = 0; t < THREAD_COUNT; t++) {
    jobs[t].store = stores[t];
    jobs[t].thread = t;
    assert_int_equal(pthread_create(&threads[t], NULL, run_inserts, &jobs[t]), 0);
  }
  for (int t = 0; t < THREAD_COUNT; t++) {
    assert_int_equal(pthread_join(threads[t], NULL), 0);
  }
  for (int t = 0; t < THREAD_COUNT; t++) {
    if (jobs[t].failures != 0) {
      fail_msg("thread %d: %d failed inserts, first: %s", t, jobs[t].failures, jobs[t].first_error);
    }
  }
}

static void assert_all_inserts_landed(cf_store *store)
{
  char **handles = NULL;
  size_t count = 0;
  cf_err *err = NULL;
  cf_property owner[] = {{"owner", "thread"}};
  assert_ok(cf_store_container_list(store, owner, 1, &handles, &count, &err), &err);
  assert_int_equal(count, THREAD_COUNT * INSERTS_PER_THREAD);
  for (int t = 0; t < THREAD_COUNT; t++) {
    for (int i = 0; i < INSERTS_PER_THREAD; i++) {
      cf_autofree char *expected = cf_xasprintf("t%d-%03d", t, i);
      assert_string_equal(handles[t * INSERTS_PER_THREAD + i], expected);
    }
  }
  cf_strv_free(handles, count);
}

static void test_concurrent_inserts_all_land(void **state)
{
  struct fixture *f = *state;
  cf_store *stores[THREAD_COUNT] = {f->store, f->store};
  run_insert_threads(stores);
  assert_all_inserts_landed(f->store);
}

/* Two connections to one file, as two cfwin processes would have: SQLite's
 * file locks and the busy timeout serialise their writes. */
static void test_two_connections_insert_concurrently(void **state)
{
  struct fixture *f = *state;
  cf_store *second = open_store(f->dir);
  cf_store *stores[THREAD_COUNT] = {f->store, second};
  run_insert_threads(stores);
  assert_all_inserts_landed(second);
  cf_store_close(second);
}

#define STORE_TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
  const struct CMUnitTest tests[] = {
      STORE_TEST(test_open_creates_wal_database),
      STORE_TEST(test_open_missing_dir_fails),
      STORE_TEST(test_reopen_keeps_records),
      STORE_TEST(test_schema_version_counts_migrations),
      STORE_TEST(test_open_twice_is_idempotent),
      STORE_TEST(test_open_rejects_newer_schema),
      STORE_TEST(test_migrations_apply_in_order),
      STORE_TEST(test_current_schema_runs_no_migration),
      STORE_TEST(test_container_insert_duplicate_handle),
      STORE_TEST(test_container_unknown_handle),
      STORE_TEST(test_info_statements_stay_prepared),
      STORE_TEST(test_read_transaction_one_snapshot),
      STORE_TEST(test_container_setters_update_fields),
      STORE_TEST(test_container_rejects_invalid_state),
      STORE_TEST(test_property_set_get_replace),
      STORE_TEST(test_property_remove),
      STORE_TEST(test_property_missing_key),
      STORE_TEST(test_property_list_sorted_by_key),
      STORE_TEST(test_property_unknown_handle),
      STORE_TEST(test_container_list_filters),
      STORE_TEST(test_container_delete_cascades),
      STORE_TEST(test_process_insert_duplicate_id),
      STORE_TEST(test_process_insert_unknown_container),
      STORE_TEST(test_process_set_keeper),
      STORE_TEST(test_process_unknown_id),
      STORE_TEST(test_process_set_exited),
      STORE_TEST(test_process_list_creation_order),
      STORE_TEST(test_layer_put_get_list_delete),
      STORE_TEST(test_layer_rejects_invalid_state),
      STORE_TEST(test_transaction_rollback_discards),
      STORE_TEST(test_commit_without_begin_fails),
      STORE_TEST(test_concurrent_inserts_all_land),
      STORE_TEST(test_two_connections_insert_concurrently),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
