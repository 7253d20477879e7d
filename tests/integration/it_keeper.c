/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Processes outlive the server through their keepers: kill -9 of `cfwin
 * serve`, a restart on the same depot, then Attach by process id returns
 * the output produced meanwhile and the exit status. Also terminals with a
 * window-size change, rlimits, a keeper killed with -9, and a server killed
 * during concurrent creates.
 *
 * The processes wait for files in a directory bind-mounted from the host,
 * so each step happens while the server is down without any timing.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/mem.h"
#include "fixture.h"

static it_server server;
static char *shared_dir; /* bind-mounted as /shared into the test containers */

/* --- Helpers --- */

/* Waits up to 60 s for a file the container writes under shared_dir. */
static void wait_for_file(const char *name)
{
  cf_autofree char *path = cf_path_join(shared_dir, name);
  for (int i = 0; i < 1200; i++) {
    if (access(path, F_OK) == 0) {
      return;
    }
    usleep(50 * 1000);
  }
  fail_msg("the container did not create %s within 60 s", path);
}

static void touch(const char *name)
{
  cf_autofree char *path = cf_path_join(shared_dir, name);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fclose(f);
}

static void create_with_shared_dir(const char *handle)
{
  json_t *spec = json_pack("{s:s, s:[{s:s, s:s, s:i}]}", "handle", handle, "bind_mounts",
                           "src_path", shared_dir, "dst_path", "/shared", "mode", 1);
  char *created = NULL;
  cf_err *err = NULL;
  if (cf_garden_client_create(&server.tcp, spec, &created, &err) < 0) {
    fail_msg("create %s: %s", handle, err->message);
  }
  json_decref(spec);
  free(created);
}

static json_t *sh_spec(const char *id, const char *script)
{
  return json_pack("{s:s, s:s, s:[s, s], s:s, s:{}, s:{}}", "id", id, "path", "sh", "args", "-c",
                   script, "user", "root", "rlimits", "image");
}

/* Starts a process and closes the client's connections; it keeps running. */
static void start_detached(const char *handle, const char *id, const char *script)
{
  json_t *spec = sh_spec(id, script);
  cf_garden_process process;
  cf_garden_process_init(&process);
  cf_err *err = NULL;
  if (cf_garden_process_run(&server.tcp, handle, spec, &process, &err) < 0) {
    fail_msg("run %s in %s: %s", id, handle, err->message);
  }
  cf_garden_process_clear(&process);
  json_decref(spec);
}

typedef struct attach_result {
  cf_buf out;
  cf_buf err;
  int exit_status;
  cf_err *error;
} attach_result;

static int collect_out(void *ctx, const char *data, size_t len, cf_err **err)
{
  attach_result *r = ctx;
  return cf_buf_append(&r->out, data, len, err);
}

static int collect_err(void *ctx, const char *data, size_t len, cf_err **err)
{
  attach_result *r = ctx;
  return cf_buf_append(&r->err, data, len, err);
}

static void attach_result_init(attach_result *r)
{
  cf_buf_init(&r->out, 16 * 1024 * 1024);
  cf_buf_init(&r->err, 16 * 1024 * 1024);
  r->exit_status = -1;
  r->error = NULL;
}

static void attach_result_clear(attach_result *r)
{
  cf_buf_free(&r->out);
  cf_buf_free(&r->err);
  cf_err_free(r->error);
}

/* Attaches by id and waits for the end, collecting both streams; returns
 * the wait's result and leaves its error in r->error. */
static int attach_and_wait(const char *handle, const char *id, attach_result *r)
{
  cf_garden_process process;
  cf_garden_process_init(&process);
  int rc = cf_garden_process_attach(&server.tcp, handle, id, &process, &r->error);
  if (rc == 0) {
    rc = cf_garden_process_wait(&server.tcp, &process, collect_out, collect_err, r, &r->exit_status,
                                &r->error);
  }
  cf_garden_process_clear(&process);
  return rc;
}

static const char *text(const cf_buf *buf)
{
  return buf->data != NULL ? buf->data : "";
}

/* Processes of this test run whose command line is `cfwin keeper`. */
static size_t count_keepers(void)
{
  cf_autofree char *marker = cf_xasprintf("CFWIN_IT_MARKER=%s", server.dir);
  size_t count = 0;
  DIR *proc = opendir("/proc");
  assert_non_null(proc);
  struct dirent *entry;
  while ((entry = readdir(proc)) != NULL) {
    if (entry->d_name[0] < '1' || entry->d_name[0] > '9') {
      continue;
    }
    cf_autofree char *cmdline_path = cf_xasprintf("/proc/%s/cmdline", entry->d_name);
    cf_autofree char *environ_path = cf_xasprintf("/proc/%s/environ", entry->d_name);
    cf_buf cmdline;
    cf_buf environ_text;
    cf_buf_init(&cmdline, 4096);
    cf_buf_init(&environ_text, 4 * 1024 * 1024);
    if (cf_read_file(cmdline_path, &cmdline, NULL) == 0 && cmdline.len == 13 &&
        memcmp(cmdline.data, "cfwin\0keeper\0", 13) == 0 &&
        cf_read_file(environ_path, &environ_text, NULL) == 0) {
      for (size_t i = 0; i + strlen(marker) <= environ_text.len; i++) {
        if ((i == 0 || environ_text.data[i - 1] == '\0') &&
            strcmp(environ_text.data + i, marker) == 0) {
          count++;
          break;
        }
      }
    }
    cf_buf_free(&cmdline);
    cf_buf_free(&environ_text);
  }
  closedir(proc);
  return count;
}

/* Keepers end shortly after their container's init; waits up to 10 s. */
static void assert_no_keepers(void)
{
  size_t count = 0;
  for (int i = 0; i < 200 && (count = count_keepers()) > 0; i++) {
    usleep(50 * 1000);
  }
  assert_int_equal(count, 0);
  cf_autofree char *keepers = cf_path_join(server.depot, "keepers");
  DIR *dir = opendir(keepers);
  size_t sockets = 0;
  struct dirent *entry;
  while (dir != NULL && (entry = readdir(dir)) != NULL) {
    if (entry->d_name[0] != '.') {
      fprintf(stderr, "leftover keeper socket %s/%s\n", keepers, entry->d_name);
      sockets++;
    }
  }
  if (dir != NULL) {
    closedir(dir);
  }
  assert_int_equal(sockets, 0);
}

static void kill_server(void)
{
  assert_true(server.pid > 0);
  kill(server.pid, SIGKILL);
  int status = 0;
  while (waitpid(server.pid, &status, 0) < 0 && errno == EINTR) {
  }
  server.pid = -1;
}

static sqlite3 *open_store(void)
{
  cf_autofree char *path = cf_path_join(server.depot, "cfwin.db");
  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  sqlite3_busy_timeout(db, 10000);
  return db;
}

static void assert_store_intact(void)
{
  sqlite3 *db = open_store();
  sqlite3_stmt *stmt = NULL;
  assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &stmt, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
  assert_string_equal((const char *)sqlite3_column_text(stmt, 0), "ok");
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

/* The keeper pid the store records for a process. */
static pid_t recorded_keeper(const char *handle, const char *id)
{
  sqlite3 *db = open_store();
  sqlite3_stmt *stmt = NULL;
  assert_int_equal(
      sqlite3_prepare_v2(db, "SELECT keeper_pid FROM processes WHERE handle = ?1 AND id = ?2", -1,
                         &stmt, NULL),
      SQLITE_OK);
  sqlite3_bind_text(stmt, 1, handle, -1, SQLITE_STATIC);
  sqlite3_bind_text(stmt, 2, id, -1, SQLITE_STATIC);
  assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
  pid_t pid = (pid_t)sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return pid;
}

static void destroy(const char *handle)
{
  cf_err *err = NULL;
  if (cf_garden_client_destroy(&server.tcp, handle, &err) < 0) {
    fail_msg("destroy %s: %s", handle, err->message);
  }
}

static void clear_shared_dir(void)
{
  cf_rm_rf(shared_dir, NULL);
  assert_int_equal(cf_mkdir_p(shared_dir, 0777, NULL), 0);
}

/* --- Tests --- */

static void test_restart_keeps_output_and_status(void **state)
{
  (void)state;
  clear_shared_dir();
  create_with_shared_dir("it-keep");
  start_detached("it-keep", "survivor",
                 "while [ ! -e /shared/go ]; do sleep 0.05; done;"
                 " echo downtime-out; echo downtime-err >&2; touch /shared/wrote;"
                 " while [ ! -e /shared/exit ]; do sleep 0.05; done; echo after-restart; exit 7");
  start_detached("it-keep", "early",
                 "while [ ! -e /shared/go ]; do sleep 0.05; done; echo bye; exit 3");

  kill_server();
  touch("go");
  wait_for_file("wrote");
  /* Both keepers outlive the server. */
  assert_int_equal(count_keepers(), 2);
  it_server_start(&server);

  attach_result early;
  attach_result_init(&early);
  assert_int_equal(attach_and_wait("it-keep", "early", &early), 0);
  assert_int_equal(early.exit_status, 3);
  assert_string_equal(text(&early.out), "bye\n");
  attach_result_clear(&early);

  /* The exit status stays for a second Attach. */
  attach_result again;
  attach_result_init(&again);
  assert_int_equal(attach_and_wait("it-keep", "early", &again), 0);
  assert_int_equal(again.exit_status, 3);
  attach_result_clear(&again);

  touch("exit");
  attach_result survivor;
  attach_result_init(&survivor);
  assert_int_equal(attach_and_wait("it-keep", "survivor", &survivor), 0);
  assert_int_equal(survivor.exit_status, 7);
  assert_string_equal(text(&survivor.out), "downtime-out\nafter-restart\n");
  assert_string_equal(text(&survivor.err), "downtime-err\n");
  attach_result_clear(&survivor);

  destroy("it-keep");
  assert_no_keepers();
  assert_store_intact();
}

static void test_exit_during_downtime_reported(void **state)
{
  (void)state;
  clear_shared_dir();
  create_with_shared_dir("it-keep-exit");
  start_detached("it-keep-exit", "quick",
                 "while [ ! -e /shared/go ]; do sleep 0.05; done; touch /shared/wrote; exit 42");
  kill_server();
  touch("go");
  wait_for_file("wrote");
  it_server_start(&server);

  attach_result r;
  attach_result_init(&r);
  assert_int_equal(attach_and_wait("it-keep-exit", "quick", &r), 0);
  assert_int_equal(r.exit_status, 42);
  attach_result_clear(&r);
  destroy("it-keep-exit");
  assert_no_keepers();
}

static void test_killed_keeper_ends_attach_with_error(void **state)
{
  (void)state;
  clear_shared_dir();
  create_with_shared_dir("it-keep-lost");
  start_detached("it-keep-lost", "orphan", "touch /shared/started; exec sleep 1000");
  wait_for_file("started");
  pid_t keeper = recorded_keeper("it-keep-lost", "orphan");
  assert_true(keeper > 0);

  cf_garden_process process;
  cf_garden_process_init(&process);
  cf_err *err = NULL;
  assert_int_equal(cf_garden_process_attach(&server.tcp, "it-keep-lost", "orphan", &process, &err),
                   0);
  assert_int_equal(kill(keeper, SIGKILL), 0);
  int status = -1;
  assert_int_equal(cf_garden_process_wait(&server.tcp, &process, NULL, NULL, NULL, &status, &err),
                   -1);
  assert_non_null(err);
  assert_non_null(strstr(err->message, "keeper"));
  cf_err_clear(&err);
  cf_garden_process_clear(&process);

  destroy("it-keep-lost");
  assert_no_keepers();
}

typedef struct tty_reader {
  cf_garden_process process;
  pthread_mutex_t lock;
  cf_buf out;
  int exit_status;
  int rc;
} tty_reader;

static int collect_locked(void *ctx, const char *data, size_t len, cf_err **err)
{
  tty_reader *reader = ctx;
  pthread_mutex_lock(&reader->lock);
  int rc = cf_buf_append(&reader->out, data, len, err);
  pthread_mutex_unlock(&reader->lock);
  return rc;
}

static void *wait_tty(void *arg)
{
  tty_reader *reader = arg;
  reader->rc = cf_garden_process_wait(&server.tcp, &reader->process, collect_locked, NULL, reader,
                                      &reader->exit_status, NULL);
  return NULL;
}

/* Waits up to 60 s until the terminal output contains needle. */
static void wait_for_output(tty_reader *reader, const char *needle)
{
  for (int i = 0; i < 1200; i++) {
    pthread_mutex_lock(&reader->lock);
    bool found = reader->out.data != NULL && strstr(reader->out.data, needle) != NULL;
    pthread_mutex_unlock(&reader->lock);
    if (found) {
      return;
    }
    usleep(50 * 1000);
  }
  fail_msg("terminal output lacks \"%s\": %s", needle, text(&reader->out));
}

static void test_tty_window_size_change(void **state)
{
  (void)state;
  cf_err *err = NULL;
  json_t *spec = json_pack("{s:s, s:s, s:[s, s], s:{}, s:{}, s:{s:{s:i, s:i}}}", "id", "term",
                           "path", "sh", "args", "-c", "stty size; read line; stty size; exit 5",
                           "rlimits", "image", "tty", "window_size", "columns", 100, "rows", 30);
  create_with_shared_dir("it-keep-tty");
  tty_reader reader = {.exit_status = -1};
  pthread_mutex_init(&reader.lock, NULL);
  cf_buf_init(&reader.out, 1024 * 1024);
  cf_garden_process_init(&reader.process);
  if (cf_garden_process_run(&server.tcp, "it-keep-tty", spec, &reader.process, &err) < 0) {
    fail_msg("run with a terminal: %s", err->message);
  }
  pthread_t thread;
  pthread_create(&thread, NULL, wait_tty, &reader);
  wait_for_output(&reader, "30 100");
  assert_int_equal(cf_garden_process_resize(&reader.process, 120, 50, &err), 0);
  assert_int_equal(cf_garden_process_send_stdin(&reader.process, "go\n", 3, &err), 0);
  pthread_join(thread, NULL);
  assert_int_equal(reader.rc, 0);
  assert_int_equal(reader.exit_status, 5);
  /* The terminal turns "\n" into "\r\n" and echoes the input. */
  assert_non_null(strstr(text(&reader.out), "30 100\r\n"));
  assert_non_null(strstr(text(&reader.out), "50 120\r\n"));
  cf_garden_process_clear(&reader.process);
  cf_buf_free(&reader.out);
  pthread_mutex_destroy(&reader.lock);
  json_decref(spec);
  destroy("it-keep-tty");
}

static void test_rlimit_nofile_applies(void **state)
{
  (void)state;
  create_with_shared_dir("it-keep-rlimit");
  json_t *spec = json_pack("{s:s, s:[s, s], s:{s:i}, s:{}}", "path", "sh", "args", "-c",
                           "ulimit -n; ulimit -Hn", "rlimits", "nofile", 30, "image");
  cf_garden_process_result result;
  cf_garden_process_result_init(&result);
  cf_err *err = NULL;
  if (cf_garden_client_run(&server.tcp, "it-keep-rlimit", spec, NULL, 0, &result, &err) < 0) {
    fail_msg("run with rlimits: %s", err->message);
  }
  assert_int_equal(result.exit_status, 0);
  assert_string_equal(text(&result.out), "30\n30\n");
  cf_garden_process_result_clear(&result);
  json_decref(spec);

  json_t *bad = json_pack("{s:s, s:{s:i}, s:{}}", "path", "true", "rlimits", "files", 3, "image");
  assert_int_equal(cf_garden_client_run(&server.tcp, "it-keep-rlimit", bad, NULL, 0, &result, &err),
                   -1);
  assert_non_null(strstr(err->message, "rlimits.files is not one of Garden's limit names"));
  cf_err_clear(&err);
  json_decref(bad);

  /* A known name with a bad value blames the value. */
  bad = json_pack("{s:s, s:{s:i}, s:{}}", "path", "true", "rlimits", "nofile", -1, "image");
  assert_int_equal(cf_garden_client_run(&server.tcp, "it-keep-rlimit", bad, NULL, 0, &result, &err),
                   -1);
  assert_non_null(strstr(err->message, "rlimits.nofile is -1; give a non-negative integer"));
  cf_err_clear(&err);
  json_decref(bad);
  destroy("it-keep-rlimit");
}

/* --- Kill -9 during concurrent creates --- */

#define CHAOS_CREATES 20

typedef struct chaos_create {
  char handle[32];
  pthread_t thread;
  int rc;
} chaos_create;

static void *run_create(void *arg)
{
  chaos_create *c = arg;
  json_t *spec = json_pack("{s:s}", "handle", c->handle);
  char *created = NULL;
  cf_err *err = NULL;
  c->rc = cf_garden_client_create(&server.tcp, spec, &created, &err);
  cf_err_free(err);
  free(created);
  json_decref(spec);
  return NULL;
}

/* Runs `echo ok` in the container and returns true when it printed ok. */
static bool container_usable(const char *handle)
{
  json_t *spec =
      json_pack("{s:s, s:[s], s:{}, s:{}}", "path", "echo", "args", "ok", "rlimits", "image");
  cf_garden_process_result result;
  cf_garden_process_result_init(&result);
  bool usable = cf_garden_client_run(&server.tcp, handle, spec, NULL, 0, &result, NULL) == 0 &&
                result.exit_status == 0 && strcmp(text(&result.out), "ok\n") == 0;
  cf_garden_process_result_clear(&result);
  json_decref(spec);
  return usable;
}

static bool listed(json_t *handles, const char *handle)
{
  size_t i;
  json_t *value;
  json_array_foreach(handles, i, value)
  {
    if (strcmp(json_string_value(value), handle) == 0) {
      return true;
    }
  }
  return false;
}

static void test_kill_during_creates_and_streams(void **state)
{
  (void)state;
  clear_shared_dir();
  create_with_shared_dir("it-chaos-base");
  start_detached("it-chaos-base", "streamer",
                 "i=0; while true; do echo line $i; i=$((i+1)); sleep 0.02; done");
  start_detached("it-chaos-base", "ender",
                 "while [ ! -e /shared/go ]; do sleep 0.05; done; touch /shared/wrote; exit 9");
  chaos_create creates[CHAOS_CREATES];
  for (int i = 0; i < CHAOS_CREATES; i++) {
    snprintf(creates[i].handle, sizeof(creates[i].handle), "it-chaos-%d", i);
    creates[i].rc = 0;
    pthread_create(&creates[i].thread, NULL, run_create, &creates[i]);
  }
  /* Some creates are done, others half-way, when the server dies. */
  usleep(300 * 1000);
  kill_server();
  for (int i = 0; i < CHAOS_CREATES; i++) {
    pthread_join(creates[i].thread, NULL);
  }
  touch("go");
  wait_for_file("wrote");
  it_server_start(&server);

  json_t *list = NULL;
  cf_err *err = NULL;
  assert_int_equal(cf_garden_client_call(&server.tcp, "GET", "/containers", NULL, &list, &err), 0);
  json_t *handles = json_object_get(list, "Handles");
  size_t kept = 0;
  for (int i = 0; i < CHAOS_CREATES; i++) {
    if (!listed(handles, creates[i].handle)) {
      continue;
    }
    kept++;
    if (!container_usable(creates[i].handle)) {
      fail_msg("container %s survived the restart but cannot run a process", creates[i].handle);
    }
  }
  fprintf(stderr, "%zu of %d containers were complete when the server was killed\n", kept,
          CHAOS_CREATES);
  json_decref(list);

  attach_result ender;
  attach_result_init(&ender);
  assert_int_equal(attach_and_wait("it-chaos-base", "ender", &ender), 0);
  assert_int_equal(ender.exit_status, 9);
  attach_result_clear(&ender);

  /* The streamer still runs: attach, see new lines, kill it through the
   * stream. */
  tty_reader reader = {.exit_status = -1};
  pthread_mutex_init(&reader.lock, NULL);
  cf_buf_init(&reader.out, 64 * 1024 * 1024);
  cf_garden_process_init(&reader.process);
  assert_int_equal(
      cf_garden_process_attach(&server.tcp, "it-chaos-base", "streamer", &reader.process, &err), 0);
  pthread_t thread;
  pthread_create(&thread, NULL, wait_tty, &reader);
  wait_for_output(&reader, "\nline ");
  assert_int_equal(cf_garden_process_signal(&reader.process, CF_GARDEN_SIGNAL_KILL, &err), 0);
  pthread_join(thread, NULL);
  assert_int_equal(reader.rc, 0);
  assert_int_equal(reader.exit_status, 137);
  cf_garden_process_clear(&reader.process);
  cf_buf_free(&reader.out);
  pthread_mutex_destroy(&reader.lock);

  it_destroy_leftovers(&server);
  assert_no_keepers();
  assert_store_intact();
}

/* Keepers a crash leaves without a usable record are told to kill their
 * process and end at the next start: one whose record is gone, and one
 * whose record lacks its pid (a crash between the spawn and recording
 * the pid). */
static void test_orphan_keeper_ended_on_start(void **state)
{
  (void)state;
  create_with_shared_dir("it-keep-orphan");
  start_detached("it-keep-orphan", "unrecorded", "exec sleep 1000");
  start_detached("it-keep-orphan", "pidless", "exec sleep 1000");
  kill_server();
  assert_int_equal(count_keepers(), 2);
  cf_autofree char *path = cf_path_join(server.depot, "cfwin.db");
  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  assert_int_equal(
      sqlite3_exec(db, "DELETE FROM processes WHERE id = 'unrecorded'", NULL, NULL, NULL),
      SQLITE_OK);
  assert_int_equal(sqlite3_exec(db,
                                "UPDATE processes SET pid = 0, start_time = 0, keeper_pid = 0,"
                                " keeper_start_time = 0 WHERE id = 'pidless'",
                                NULL, NULL, NULL),
                   SQLITE_OK);
  sqlite3_close(db);

  it_server_start(&server);
  assert_no_keepers();
  json_t *info = NULL;
  cf_err *err = NULL;
  assert_int_equal(cf_garden_client_call(&server.tcp, "GET", "/containers/it-keep-orphan/info",
                                         NULL, &info, &err),
                   0);
  assert_int_equal(json_array_size(json_object_get(info, "ProcessIDs")), 0);
  json_decref(info);
  destroy("it-keep-orphan");
}

static void test_destroy_on_startup_ends_keepers(void **state)
{
  (void)state;
  create_with_shared_dir("it-keep-wipe");
  start_detached("it-keep-wipe", "sleeper", "exec sleep 1000");
  kill_server();
  assert_int_equal(count_keepers(), 1);
  const char *const extra[] = {"--destroy-containers-on-startup", NULL};
  server.extra_args = extra;
  it_server_start(&server);
  server.extra_args = NULL;
  assert_no_keepers();
  assert_store_intact();
  /* Later tests run against a server without the flag. */
  it_server_stop(&server);
  it_server_start(&server);
}

/* --- Setup --- */

static int setup_server(void **state)
{
  (void)state;
  it_require_root();
  it_server_prepare(&server);
  it_server_start(&server);
  shared_dir = cf_path_join(server.dir, "shared");
  return cf_mkdir_p(shared_dir, 0777, NULL);
}

static int teardown_server(void **state)
{
  (void)state;
  it_server_cleanup(&server);
  free(shared_dir);
  return 0;
}

static int take_snapshot(void **state)
{
  return it_leak_check_begin(&server, state);
}

static int check_leaks(void **state)
{
  return it_leak_check_end(&server, state);
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, take_snapshot, check_leaks)

int main(void)
{
  const struct CMUnitTest tests[] = {
      TEST(test_restart_keeps_output_and_status),
      TEST(test_exit_during_downtime_reported),
      TEST(test_killed_keeper_ends_attach_with_error),
      TEST(test_tty_window_size_change),
      TEST(test_rlimit_nofile_applies),
      TEST(test_kill_during_creates_and_streams),
      TEST(test_orphan_keeper_ended_on_start),
      TEST(test_destroy_on_startup_ends_keepers),
  };
  return cmocka_run_group_tests(tests, setup_server, teardown_server);
}
