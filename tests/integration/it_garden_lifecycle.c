/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Container lifecycle through `cfwin serve`. Stop with and without kill:
 * processes end with their exit status, the init stays, the state reads
 * "stopped" and a later Run is rejected. The grace-time reaper: expiry, the
 * pause while a Run is open, and a grace time set later that survives a
 * restart. Also --max-containers, Capacity and List's property filters.
 * Grace times are about 1 s and every wait polls, so no check depends on a
 * timing.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/mem.h"
#include "fixture.h"
#include "garden/client.h"

#define SECOND_NS 1000000000LL
#define MAX_CONTAINERS 2
/* How long a poll waits for the reaper, as the Garden suite's 60 s. */
#define REAP_POLLS 600
#define POLL_US (100 * 1000)

static it_server server;
static const char *const server_args[] = {
    "--max-containers",      "2",  "--disable-privileged-containers",
    "--read-header-timeout", "1s", NULL};

static int setup_server(void **state)
{
  (void)state;
  it_require_root();
  it_server_prepare(&server);
  server.extra_args = server_args;
  it_server_start(&server);
  return 0;
}

static int teardown_server(void **state)
{
  (void)state;
  it_server_cleanup(&server);
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

/* --- Helpers --- */

static void create(const char *handle, long long grace_ns, const char *property)
{
  json_t *spec = json_pack("{s:s, s:I, s:{}, s:{}}", "handle", handle, "grace_time",
                           (json_int_t)grace_ns, "image", "limits");
  if (property != NULL) {
    json_object_set_new(spec, "properties", json_pack("{s:s}", "group", property));
  }
  char *created = NULL;
  cf_err *err = NULL;
  int rc = cf_garden_client_create(&server.tcp, spec, &created, &err);
  json_decref(spec);
  if (rc < 0) {
    fail_msg("create %s: %s", handle, err->message);
  }
  free(created);
}

static void destroy(const char *handle)
{
  cf_err *err = NULL;
  if (cf_garden_client_destroy(&server.tcp, handle, &err) < 0) {
    fail_msg("destroy %s: %s", handle, err->message);
  }
}

/* Calls method path with body (taken, may be NULL); returns the result or
 * NULL with *err. */
static json_t *call(const char *method, const char *path, json_t *body, cf_err **err)
{
  json_t *result = NULL;
  int rc = cf_garden_client_call(&server.tcp, method, path, body, &result, err);
  json_decref(body);
  return rc == 0 ? result : NULL;
}

static json_t *must_call(const char *method, const char *path, json_t *body)
{
  cf_err *err = NULL;
  json_t *result = call(method, path, body, &err);
  if (result == NULL) {
    fail_msg("%s %s: %s", method, path, err->message);
  }
  return result;
}

static void stop(const char *handle, bool kill)
{
  cf_autofree char *path = cf_xasprintf("/containers/%s/stop", handle);
  json_decref(must_call("PUT", path, json_pack("{s:b}", "kill", kill)));
}

static char *info_state(const char *handle)
{
  cf_autofree char *path = cf_xasprintf("/containers/%s/info", handle);
  json_t *info = must_call("GET", path, NULL);
  char *state = cf_xstrdup(json_string_value(json_object_get(info, "State")));
  json_decref(info);
  return state;
}

static long long pids_current(const char *handle)
{
  cf_autofree char *path = cf_xasprintf("/containers/%s/metrics", handle);
  json_t *metrics = must_call("GET", path, NULL);
  long long current =
      json_integer_value(json_object_get(json_object_get(metrics, "PidStat"), "Current"));
  json_decref(metrics);
  return current;
}

/* True when List (with the query, "" for all created ones) has handle. */
static bool listed(const char *query, const char *handle)
{
  cf_autofree char *path = cf_xasprintf("/containers%s", query);
  json_t *list = must_call("GET", path, NULL);
  bool found = false;
  size_t i;
  json_t *value;
  json_array_foreach(json_object_get(list, "Handles"), i, value)
  {
    found = found || strcmp(json_string_value(value), handle) == 0;
  }
  json_decref(list);
  return found;
}

static size_t list_count(const char *query)
{
  cf_autofree char *path = cf_xasprintf("/containers%s", query);
  json_t *list = must_call("GET", path, NULL);
  size_t count = json_array_size(json_object_get(list, "Handles"));
  json_decref(list);
  return count;
}

/* Polls List until handle is gone; fails after about 60 s. */
static void wait_until_reaped(const char *handle)
{
  for (int i = 0; i < REAP_POLLS; i++) {
    if (!listed("", handle)) {
      return;
    }
    usleep(POLL_US);
  }
  fail_msg("container %s was not reaped", handle);
}

static json_t *sh_spec(const char *script)
{
  return json_pack("{s:s, s:[s, s], s:s, s:{}, s:{}}", "path", "/bin/sh", "args", "-c", script,
                   "user", "root", "rlimits", "image");
}

/* A Run in a child process, so the test can act while it is open. */
typedef struct background_run {
  pid_t pid;
  int result_fd; /* the child writes the exit status, or -1 on a failed Run */
} background_run;

static background_run run_in_background(const char *handle, const char *script)
{
  int fds[2];
  if (pipe(fds) < 0) {
    fail_msg("pipe: %s", strerror(errno));
  }
  background_run run = {.pid = fork(), .result_fd = fds[0]};
  if (run.pid == 0) {
    close(fds[0]);
    json_t *spec = sh_spec(script);
    cf_garden_process_result result;
    cf_garden_process_result_init(&result);
    int status = -1;
    if (cf_garden_client_run(&server.tcp, handle, spec, NULL, 0, &result, NULL) == 0) {
      status = result.exit_status;
    }
    (void)!write(fds[1], &status, sizeof(status));
    _exit(0);
  }
  close(fds[1]);
  return run;
}

static int background_status(background_run *run)
{
  int status = -2;
  if (read(run->result_fd, &status, sizeof(status)) != sizeof(status)) {
    status = -2;
  }
  close(run->result_fd);
  while (waitpid(run->pid, NULL, 0) < 0 && errno == EINTR) {
  }
  return status;
}

/* Waits until the container runs count processes, its init included. The
 * scripts below start their loop's sleep only after setting their trap, so
 * waiting for it keeps SIGTERM from arriving before the trap is set. */
static void wait_for_processes(const char *handle, long long count)
{
  for (int i = 0; i < REAP_POLLS; i++) {
    if (pids_current(handle) >= count) {
      return;
    }
    usleep(POLL_US);
  }
  fail_msg("container %s never ran %lld processes", handle, count);
}

/* --- Stop --- */

static void test_stop_terminates_processes(void **state)
{
  (void)state;
  create("stop-term", 0, NULL);
  background_run run =
      run_in_background("stop-term", "trap 'exit 42' TERM; while true; do sleep 0.1; done");
  wait_for_processes("stop-term", 3);
  stop("stop-term", false);
  assert_int_equal(background_status(&run), 42);
  cf_autofree char *state_text = info_state("stop-term");
  assert_string_equal(state_text, "stopped");
  /* The init stays, so the container keeps one process. */
  assert_int_equal(pids_current("stop-term"), 1);
  destroy("stop-term");
}

static void test_stop_kill_ends_term_ignoring_process(void **state)
{
  (void)state;
  create("stop-kill", 0, NULL);
  background_run run = run_in_background("stop-kill", "trap '' TERM; while true; do sleep 0.1; "
                                                      "done");
  wait_for_processes("stop-kill", 3);
  stop("stop-kill", true);
  assert_int_equal(background_status(&run), 137);
  assert_int_equal(pids_current("stop-kill"), 1);
  destroy("stop-kill");
}

/* A process that ignores SIGTERM gets SIGKILL once the grace of Stop is
 * over. */
static void test_stop_kills_after_grace(void **state)
{
  (void)state;
  create("stop-grace", 0, NULL);
  background_run run = run_in_background("stop-grace", "trap '' TERM; while true; do sleep 0.1; "
                                                       "done");
  wait_for_processes("stop-grace", 3);
  stop("stop-grace", false);
  assert_int_equal(background_status(&run), 137);
  destroy("stop-grace");
}

static void test_run_after_stop_rejected(void **state)
{
  (void)state;
  create("stop-run", 0, NULL);
  stop("stop-run", false);
  json_t *spec = sh_spec("true");
  cf_garden_process_result result;
  cf_garden_process_result_init(&result);
  cf_err *err = NULL;
  int rc = cf_garden_client_run(&server.tcp, "stop-run", spec, NULL, 0, &result, &err);
  json_decref(spec);
  cf_garden_process_result_clear(&result);
  assert_int_equal(rc, -1);
  assert_non_null(strstr(err->message, "cannot exec in a stopped container"));
  cf_err_free(err);
  /* The container stays usable for everything but new processes. */
  cf_autofree char *state_text = info_state("stop-run");
  assert_string_equal(state_text, "stopped");
  destroy("stop-run");
}

/* Stop spares the init, so a restarted server keeps the container and
 * still reports it stopped. */
static void test_stopped_container_survives_restart(void **state)
{
  (void)state;
  create("stop-restart", 0, NULL);
  stop("stop-restart", false);
  assert_int_equal(it_server_stop(&server), 0);
  it_server_start(&server);
  assert_true(listed("", "stop-restart"));
  cf_autofree char *state_text = info_state("stop-restart");
  assert_string_equal(state_text, "stopped");
  destroy("stop-restart");
}

static void test_stop_bad_requests(void **state)
{
  (void)state;
  cf_err *err = NULL;
  json_t *result =
      call("PUT", "/containers/no-such-handle/stop", json_pack("{s:b}", "kill", 0), &err);
  assert_null(result);
  assert_int_equal(err->code, CF_E_NOT_FOUND);
  cf_err_clear(&err);
  create("stop-bad", 0, NULL);
  result = call("PUT", "/containers/stop-bad/stop", json_pack("{s:s}", "kill", "yes"), &err);
  assert_null(result);
  assert_non_null(strstr(err->message, "\"kill\""));
  cf_err_free(err);
  destroy("stop-bad");
}

/* --- Reaper --- */

static void test_reaper_destroys_idle_container(void **state)
{
  (void)state;
  create("reap-idle", SECOND_NS, NULL);
  wait_until_reaped("reap-idle");
  cf_err *err = NULL;
  assert_null(call("GET", "/containers/reap-idle/info", NULL, &err));
  assert_int_equal(err->code, CF_E_NOT_FOUND);
  cf_err_free(err);
}

/* The Run outlasts the grace time three times over; the container must
 * still be there when it ends, and be reaped after. */
static void test_reaper_pauses_while_run_open(void **state)
{
  (void)state;
  create("reap-busy", SECOND_NS, NULL);
  background_run run = run_in_background("reap-busy", "sleep 3; exit 7");
  assert_int_equal(background_status(&run), 7);
  cf_autofree char *state_text = info_state("reap-busy");
  assert_string_equal(state_text, "active");
  wait_until_reaped("reap-busy");
}

static void test_set_grace_time_survives_restart(void **state)
{
  (void)state;
  create("reap-later", 0, NULL);
  json_decref(must_call("PUT", "/containers/reap-later/grace_time", json_integer(SECOND_NS)));
  json_t *value = must_call("GET", "/containers/reap-later/properties/garden.grace-time", NULL);
  assert_string_equal(json_string_value(json_object_get(value, "value")), "1000000000");
  json_decref(value);
  /* A grace time of 0 first keeps the container through the restart,
   * which takes longer than 1 s; the stored grace time then applies. */
  json_decref(must_call("PUT", "/containers/reap-later/grace_time", json_integer(0)));
  assert_int_equal(it_server_stop(&server), 0);
  it_server_start(&server);
  assert_true(listed("", "reap-later"));
  json_decref(must_call("PUT", "/containers/reap-later/grace_time", json_integer(SECOND_NS)));
  assert_int_equal(it_server_stop(&server), 0);
  it_server_start(&server);
  wait_until_reaped("reap-later");
}

static void test_set_grace_time_bad_body(void **state)
{
  (void)state;
  create("grace-bad", 0, NULL);
  cf_err *err = NULL;
  assert_null(call("PUT", "/containers/grace-bad/grace_time", json_string("1s"), &err));
  assert_non_null(strstr(err->message, "nanoseconds"));
  cf_err_clear(&err);
  assert_null(call("PUT", "/containers/no-such-handle/grace_time", json_integer(1), &err));
  assert_int_equal(err->code, CF_E_NOT_FOUND);
  cf_err_free(err);
  destroy("grace-bad");
}

/* --- Capacity, limits, List --- */

static void test_max_containers_reached(void **state)
{
  (void)state;
  create("max-a", 0, NULL);
  create("max-b", 0, NULL);
  json_t *spec = json_pack("{s:s, s:{}, s:{}}", "handle", "max-c", "image", "limits");
  char *created = NULL;
  cf_err *err = NULL;
  assert_int_equal(cf_garden_client_create(&server.tcp, spec, &created, &err), -1);
  json_decref(spec);
  assert_non_null(strstr(err->message, "max containers reached"));
  cf_err_free(err);
  destroy("max-a");
  destroy("max-b");
}

static void test_privileged_create_disabled(void **state)
{
  (void)state;
  json_t *spec =
      json_pack("{s:s, s:b, s:{}, s:{}}", "handle", "priv", "privileged", 1, "image", "limits");
  char *created = NULL;
  cf_err *err = NULL;
  assert_int_equal(cf_garden_client_create(&server.tcp, spec, &created, &err), -1);
  json_decref(spec);
  assert_non_null(strstr(err->message, "privileged container creation is disabled"));
  cf_err_free(err);
  assert_false(listed("?garden.state=all", "priv"));
}

/* A client that never finishes its headers is disconnected without a
 * response; the read waits up to the client's own timeout. */
static void test_read_header_timeout_closes(void **state)
{
  (void)state;
  int fd = -1;
  cf_err *err = NULL;
  if (cf_garden_client_connect(&server.tcp, &fd, &err) < 0) {
    fail_msg("connect: %s", err->message);
  }
  const char partial[] = "GET /ping HTTP/1.1\r\nHost: api\r\n";
  assert_int_equal(cf_write_all(fd, partial, sizeof(partial) - 1, NULL), 0);
  char reply[256];
  ssize_t n = read(fd, reply, sizeof(reply));
  close(fd);
  assert_int_equal(n, 0);
}

static void test_capacity_values(void **state)
{
  (void)state;
  struct sysinfo si;
  struct statvfs vfs;
  assert_int_equal(sysinfo(&si), 0);
  assert_int_equal(statvfs(server.depot, &vfs), 0);
  json_t *capacity = must_call("GET", "/capacity", NULL);
  json_int_t memory = json_integer_value(json_object_get(capacity, "memory_in_bytes"));
  json_int_t disk = json_integer_value(json_object_get(capacity, "disk_in_bytes"));
  json_int_t schedulable =
      json_integer_value(json_object_get(capacity, "schedulable_disk_in_bytes"));
  json_int_t max = json_integer_value(json_object_get(capacity, "max_containers"));
  json_decref(capacity);
  assert_int_equal(memory, (json_int_t)si.totalram * si.mem_unit);
  assert_int_equal(disk, (json_int_t)vfs.f_blocks * vfs.f_frsize);
  assert_int_equal(schedulable, disk);
  assert_int_equal(max, MAX_CONTAINERS);
}

static void test_list_property_filters(void **state)
{
  (void)state;
  create("list-a", 0, "alpha");
  create("list-b", 0, "beta");
  assert_true(listed("?group=alpha", "list-a"));
  assert_false(listed("?group=alpha", "list-b"));
  assert_int_equal(list_count("?group=alpha"), 1);
  assert_int_equal(list_count("?group=alpha&other=x"), 0);
  assert_int_equal(list_count("?no-such-key=1"), 0);
  assert_int_equal(list_count("?group=alpha&group=beta"), 1);
  assert_true(listed("?garden.state=all", "list-b"));
  destroy("list-a");
  destroy("list-b");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_stop_terminates_processes, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_stop_kill_ends_term_ignoring_process, take_snapshot,
                                      check_leaks),
      cmocka_unit_test_setup_teardown(test_stop_kills_after_grace, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_run_after_stop_rejected, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_stop_bad_requests, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_reaper_destroys_idle_container, take_snapshot,
                                      check_leaks),
      cmocka_unit_test_setup_teardown(test_reaper_pauses_while_run_open, take_snapshot,
                                      check_leaks),
      cmocka_unit_test_setup_teardown(test_stopped_container_survives_restart, take_snapshot,
                                      check_leaks),
      cmocka_unit_test_setup_teardown(test_set_grace_time_survives_restart, take_snapshot,
                                      check_leaks),
      cmocka_unit_test_setup_teardown(test_set_grace_time_bad_body, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_max_containers_reached, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_privileged_create_disabled, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_read_header_timeout_closes, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_capacity_values, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_list_property_filters, take_snapshot, check_leaks),
  };
  return cmocka_run_group_tests(tests, setup_server, teardown_server);
}
