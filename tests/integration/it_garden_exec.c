/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Process execution details of a real `cfwin serve` that the Garden
 * integration suite checks in process_test.go and security_test.go of
 * garden-integration-tests. They cover the merged environment, working
 * directories the user cannot write or enter, and the capability sets of
 * the init and of a non-root process. Expected values are the suite's.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>

#include <cmocka.h>

#include "fixture.h"
#include "garden/client.h"

static it_server server;

static int setup_server(void **state)
{
  (void)state;
  it_server_prepare(&server);
  it_server_start(&server);
  return 0;
}

static int teardown_server(void **state)
{
  (void)state;
  it_server_cleanup(&server);
  return server.exit_status == 0 ? 0 : -1;
}

static int take_snapshot(void **state)
{
  return it_leak_check_begin(&server, state);
}

static int check_leaks(void **state)
{
  return it_leak_check_end(&server, state);
}

/* Creates a container with the suite's default spec plus the fields of
 * extra (a JSON object, stolen, or NULL). */
static void create_container(const char *handle, json_t *extra)
{
  json_t *spec = json_pack("{s:s, s:{}, s:{s:{}, s:{}, s:{}, s:{}, s:{}}}", "handle", handle,
                           "image", "limits", "bandwidth_limits", "cpu_limits", "disk_limits",
                           "memory_limits", "pid_limits");
  if (extra != NULL) {
    json_object_update(spec, extra);
    json_decref(extra);
  }
  char *created = NULL;
  cf_err *err = NULL;
  int rc = cf_garden_client_create(&server.tcp, spec, &created, &err);
  json_decref(spec);
  if (rc < 0) {
    fail_msg("create %s: %s", handle, err->message);
  }
  assert_string_equal(created, handle);
  free(created);
}

static void destroy_container(const char *handle)
{
  cf_err *err = NULL;
  if (cf_garden_client_destroy(&server.tcp, handle, &err) < 0) {
    fail_msg("destroy %s: %s", handle, err->message);
  }
}

/* Runs spec (stolen) and fails the test when the server rejects the Run. */
static cf_garden_process_result run_spec(const char *handle, json_t *spec)
{
  cf_garden_process_result result;
  cf_garden_process_result_init(&result);
  cf_err *err = NULL;
  int rc = cf_garden_client_run(&server.tcp, handle, spec, NULL, 0, &result, &err);
  json_decref(spec);
  if (rc < 0) {
    fail_msg("run in %s rejected: %s", handle, err->message);
  }
  return result;
}

/* Runs `sh -c script` as user, in dir when dir is not NULL. */
static cf_garden_process_result run_as(const char *handle, const char *user, const char *dir,
                                       const char *script)
{
  json_t *spec = json_pack("{s:s, s:[s, s], s:s, s:{}, s:{}}", "path", "sh", "args", "-c", script,
                           "user", user, "rlimits", "image");
  if (dir != NULL) {
    json_object_set_new(spec, "dir", json_string(dir));
  }
  return run_spec(handle, spec);
}

static const char *out_text(const cf_garden_process_result *result)
{
  return result->out.data != NULL ? result->out.data : "";
}

static const char *err_text(const cf_garden_process_result *result)
{
  return result->err.data != NULL ? result->err.data : "";
}

/* Adds the user alice (1000:1000, home /home/alice) as the suite's
 * createUser does with busybox adduser, which Debian's busybox-static
 * lacks. */
static void create_alice(const char *handle)
{
  cf_garden_process_result result =
      run_as(handle, "root", NULL,
             "echo alice:x:1000:1000::/home/alice:/bin/sh >>/etc/passwd && "
             "echo alice:x:1000: >>/etc/group && mkdir -p /home/alice && "
             "chown 1000:1000 /home/alice");
  assert_int_equal(result.exit_status, 0);
  cf_garden_process_result_clear(&result);
}

/* Counts the lines of text that start with prefix. */
static size_t count_lines_starting(const char *text, const char *prefix)
{
  size_t count = 0;
  size_t len = strlen(prefix);
  for (const char *line = text; *line != '\0';) {
    if (strncmp(line, prefix, len) == 0) {
      count++;
    }
    const char *newline = strchr(line, '\n');
    if (newline == NULL) {
      break;
    }
    line = newline + 1;
  }
  return count;
}

/* A variable in both the container spec and the process spec appears once,
 * with the process's value, and the order stays container first. */
static void test_env_process_overrides_container(void **state)
{
  (void)state;
  create_container("it-exec-env", json_pack("{s:[s, s]}", "env", "CONTAINER_ENV=1", "TEST=hi"));
  json_t *spec = json_pack("{s:s, s:[s, s], s:{}, s:{}}", "path", "env", "env", "TEST=hello",
                           "FRUIT=banana", "rlimits", "image");
  cf_garden_process_result result = run_spec("it-exec-env", spec);
  assert_int_equal(result.exit_status, 0);
  const char *text = out_text(&result);
  assert_non_null(strstr(text, "CONTAINER_ENV=1\nTEST=hello\nFRUIT=banana\n"));
  assert_int_equal(count_lines_starting(text, "TEST="), 1);
  assert_null(strstr(text, "TEST=hi\n"));
  cf_garden_process_result_clear(&result);
  destroy_container("it-exec-env");
}

/* A working directory the user may enter but not write: the process runs
 * there and its own write fails. A missing directory under it is made by
 * root and owned by the user. */
static void test_dir_without_write_permission(void **state)
{
  (void)state;
  create_container("it-exec-nowrite", NULL);
  create_alice("it-exec-nowrite");
  cf_garden_process_result result =
      run_as("it-exec-nowrite", "alice", NULL,
             "mkdir -p /home/alice/nopermissions && chmod 0555 /home/alice/nopermissions");
  assert_int_equal(result.exit_status, 0);
  cf_garden_process_result_clear(&result);

  result = run_as("it-exec-nowrite", "alice", "/home/alice/nopermissions", "touch test.txt");
  assert_int_not_equal(result.exit_status, 0);
  assert_non_null(strstr(err_text(&result), "Permission denied"));
  cf_garden_process_result_clear(&result);

  result = run_as("it-exec-nowrite", "alice", "/home/alice/nopermissions/nonexistent",
                  "touch test.txt && pwd && stat -c %U .");
  assert_int_equal(result.exit_status, 0);
  assert_string_equal(out_text(&result), "/home/alice/nopermissions/nonexistent\nalice\n");
  cf_garden_process_result_clear(&result);
  destroy_container("it-exec-nowrite");
}

/* A working directory the user may not enter: the Run succeeds, and the
 * process exits non-zero with "Permission denied" on its stderr. */
static void test_dir_user_cannot_enter(void **state)
{
  (void)state;
  create_container("it-exec-noenter", NULL);
  create_alice("it-exec-noenter");
  cf_garden_process_result result =
      run_as("it-exec-noenter", "root", NULL, "mkdir -p /secret && chmod 0700 /secret");
  assert_int_equal(result.exit_status, 0);
  cf_garden_process_result_clear(&result);

  result = run_as("it-exec-noenter", "alice", "/secret", "echo entered");
  assert_int_not_equal(result.exit_status, 0);
  assert_string_equal(out_text(&result), "");
  assert_non_null(strstr(err_text(&result), "Permission denied"));
  assert_non_null(strstr(err_text(&result), "/secret"));
  cf_garden_process_result_clear(&result);
  destroy_container("it-exec-noenter");
}

/* The init of an unprivileged container has the container's default
 * capability set, without CAP_SYS_ADMIN, in every set but the ambient one. */
static void test_init_capabilities(void **state)
{
  (void)state;
  create_container("it-exec-initcaps", NULL);
  cf_garden_process_result result =
      run_as("it-exec-initcaps", "root", NULL, "grep -E '^Cap(Prm|Eff|Bnd|Amb):' /proc/1/status");
  assert_int_equal(result.exit_status, 0);
  const char *text = out_text(&result);
  assert_non_null(strstr(text, "CapPrm:\t00000000a80425fb\n"));
  assert_non_null(strstr(text, "CapEff:\t00000000a80425fb\n"));
  assert_non_null(strstr(text, "CapBnd:\t00000000a80425fb\n"));
  assert_non_null(strstr(text, "CapAmb:\t0000000000000000\n"));
  cf_garden_process_result_clear(&result);
  destroy_container("it-exec-initcaps");
}

/* A non-root process of an unprivileged container has no capability in
 * effect and the default set as its bounding set. */
static void test_non_root_capabilities(void **state)
{
  (void)state;
  create_container("it-exec-usercaps", NULL);
  cf_garden_process_result result = run_as("it-exec-usercaps", "1000:1000", "/tmp",
                                           "grep -E '^Cap(Prm|Eff|Bnd|Amb):' /proc/self/status");
  assert_int_equal(result.exit_status, 0);
  const char *text = out_text(&result);
  assert_non_null(strstr(text, "CapPrm:\t0000000000000000\n"));
  assert_non_null(strstr(text, "CapEff:\t0000000000000000\n"));
  assert_non_null(strstr(text, "CapBnd:\t00000000a80425fb\n"));
  assert_non_null(strstr(text, "CapAmb:\t0000000000000000\n"));
  cf_garden_process_result_clear(&result);
  destroy_container("it-exec-usercaps");
}

/* In a privileged container root keeps every capability, and a non-root
 * process has none in effect and the default set plus CAP_SYS_ADMIN as
 * its bounding set. */
static void test_privileged_capabilities(void **state)
{
  (void)state;
  create_container("it-exec-privcaps", json_pack("{s:b}", "privileged", 1));
  create_alice("it-exec-privcaps");
  cf_garden_process_result result = run_as("it-exec-privcaps", "alice", NULL,
                                           "grep -E '^Cap(Prm|Eff|Bnd|Amb):' /proc/self/status");
  assert_int_equal(result.exit_status, 0);
  const char *text = out_text(&result);
  assert_non_null(strstr(text, "CapPrm:\t0000000000000000\n"));
  assert_non_null(strstr(text, "CapEff:\t0000000000000000\n"));
  assert_non_null(strstr(text, "CapBnd:\t00000000a82425fb\n"));
  assert_non_null(strstr(text, "CapAmb:\t0000000000000000\n"));
  cf_garden_process_result_clear(&result);

  /* Root's effective set is the server's, which covers at least
   * CAP_SYS_ADMIN (bit 21). */
  result = run_as("it-exec-privcaps", "root", NULL, "grep '^CapEff:' /proc/self/status | cut -f2");
  assert_int_equal(result.exit_status, 0);
  unsigned long long effective = strtoull(out_text(&result), NULL, 16);
  assert_true((effective & (1ULL << 21)) != 0);
  cf_garden_process_result_clear(&result);
  destroy_container("it-exec-privcaps");
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, take_snapshot, check_leaks)

int main(void)
{
  it_require_root();
  const struct CMUnitTest tests[] = {
      TEST(test_env_process_overrides_container), TEST(test_dir_without_write_permission),
      TEST(test_dir_user_cannot_enter),           TEST(test_init_capabilities),
      TEST(test_non_root_capabilities),           TEST(test_privileged_capabilities),
  };
  return cmocka_run_group_tests(tests, setup_server, teardown_server);
}
