/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Disk limits through `cfwin serve`: a container created with
 * limits.disk_limits writes into an ext4 volume on a loop device, a write
 * past the limit fails with ENOSPC, and destroy leaves no loop device, no
 * mount and no files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/mem.h"
#include "fixture.h"
#include "garden/client.h"

#define MIB (1024 * 1024)

static it_server server;

static int setup_server(void **state)
{
  it_server_prepare(&server);
  it_server_start(&server);
  return 0;
}

static int teardown_server(void **state)
{
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

static void create_limited(const char *handle, long long byte_hard, int scope)
{
  json_t *spec = json_pack("{s:s, s:{s:{s:I, s:i}}}", "handle", handle, "limits", "disk_limits",
                           "byte_hard", (json_int_t)byte_hard, "scope", scope);
  char *created = NULL;
  cf_err *err = NULL;
  int rc = cf_garden_client_create(&server.tcp, spec, &created, &err);
  json_decref(spec);
  if (rc < 0) {
    fail_msg("create %s: %s", handle, err->message);
  }
  free(created);
}

static cf_garden_process_result run_sh(const char *handle, const char *script)
{
  json_t *spec =
      json_pack("{s:s, s:[s, s], s:s}", "path", "/bin/sh", "args", "-c", script, "user", "root");
  cf_garden_process_result result;
  cf_garden_process_result_init(&result);
  cf_err *err = NULL;
  int rc = cf_garden_client_run(&server.tcp, handle, spec, NULL, 0, &result, &err);
  json_decref(spec);
  if (rc < 0) {
    fail_msg("run in %s: %s", handle, err->message);
  }
  return result;
}

static char *stdout_text(const cf_garden_process_result *result)
{
  return cf_xstrndup(result->out.data != NULL ? result->out.data : "", result->out.len);
}

static void destroy(const char *handle)
{
  cf_err *err = NULL;
  if (cf_garden_client_destroy(&server.tcp, handle, &err) < 0) {
    fail_msg("destroy %s: %s", handle, err->message);
  }
}

static void test_write_past_limit_fails(void **state)
{
  create_limited("it-disk", 16LL * MIB, 1);
  assert_int_equal(it_count_loop_devices(server.dir, false), 1);

  cf_garden_process_result fill =
      run_sh("it-disk", "dd if=/dev/zero of=/fill bs=64k count=1024 2>&1; echo dd-status=$?");
  cf_autofree char *fill_text = stdout_text(&fill);
  assert_non_null(strstr(fill_text, "No space left on device"));
  assert_null(strstr(fill_text, "dd-status=0"));
  cf_garden_process_result_clear(&fill);

  /* User data fills the limit, give or take the 256 KiB of sizing slack. */
  cf_garden_process_result size = run_sh("it-disk", "wc -c < /fill");
  cf_autofree char *size_text = stdout_text(&size);
  long long written = atoll(size_text);
  fprintf(stderr, "wrote %lld bytes under a %d-byte limit\n", written, 16 * MIB);
  assert_true(written >= 16LL * MIB - 256 * 1024);
  assert_true(written <= 16LL * MIB + 256 * 1024);
  cf_garden_process_result_clear(&size);

  /* The container still works once the space is freed. */
  cf_garden_process_result after = run_sh("it-disk", "rm /fill && echo ok > /after && cat /after");
  cf_autofree char *after_text = stdout_text(&after);
  assert_int_equal(after.exit_status, 0);
  assert_string_equal(after_text, "ok\n");
  cf_garden_process_result_clear(&after);
  destroy("it-disk");
}

static void test_disk_limits_route(void **state)
{
  create_limited("it-limits", 32LL * MIB, 1);
  json_t *limits = NULL;
  assert_int_equal(cf_garden_client_call(&server.tcp, "GET", "/containers/it-limits/limits/disk",
                                         NULL, &limits, NULL),
                   0);
  assert_int_equal(json_integer_value(json_object_get(limits, "byte_hard")), 32LL * MIB);
  assert_int_equal(json_integer_value(json_object_get(limits, "scope")), 1);
  json_decref(limits);
  destroy("it-limits");
}

static void test_total_scope_below_image_size_rejected(void **state)
{
  json_t *spec = json_pack("{s:s, s:{s:{s:I}}}", "handle", "it-small", "limits", "disk_limits",
                           "byte_hard", (json_int_t)1000);
  char *created = NULL;
  cf_err *err = NULL;
  assert_int_equal(cf_garden_client_create(&server.tcp, spec, &created, &err), -1);
  json_decref(spec);
  assert_non_null(strstr(err->message, "must be larger than image size"));
  cf_err_free(err);
}

/* A 1-byte exclusive limit gets the smallest ext4 image, and a writer
 * still gets no more than the documented 256 KiB of slack. */
static void test_tiny_limit_within_slack(void **state)
{
  create_limited("it-tiny", 1, 1);
  cf_garden_process_result fill =
      run_sh("it-tiny", "dd if=/dev/zero of=/fill bs=4k count=1024 2>&1; wc -c < /fill");
  cf_autofree char *fill_text = stdout_text(&fill);
  assert_non_null(strstr(fill_text, "No space left on device"));
  const char *last_line = strrchr(fill_text, '\n');
  while (last_line != NULL && last_line > fill_text && last_line[-1] != '\n') {
    last_line--;
  }
  long long written = atoll(last_line != NULL ? last_line : fill_text);
  fprintf(stderr, "wrote %lld bytes under a 1-byte limit\n", written);
  assert_true(written <= 256 * 1024);
  cf_garden_process_result_clear(&fill);
  destroy("it-tiny");
}

int main(void)
{
  it_require_root();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_write_past_limit_fails, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_disk_limits_route, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_tiny_limit_within_slack, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_total_scope_below_image_size_rejected, take_snapshot,
                                      check_leaks),
  };
  return cmocka_run_group_tests(tests, setup_server, teardown_server);
}
