/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the bundle the Windows Garden backend builds in memory
 * (garden/winbundle.h): the fields gdn writes on Windows from a create
 * request, the volume and the layer folders.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "garden/winbundle.h"

static char *layers[] = {"C:\\depot\\images\\layers\\top", "C:\\depot\\images\\layers\\base"};

static void test_bundle_without_limits(void **state)
{
  cf_create_request request = {.handle = "plain"};
  cf_bundle bundle;
  cf_win_bundle_build(&request, "C:\\depot\\containers\\plain", "\\\\?\\Volume{1}\\", layers, 2,
                      &bundle);
  assert_string_equal(bundle.dir, "C:\\depot\\containers\\plain");
  assert_string_equal(bundle.oci_version, "1.0.0");
  assert_string_equal(bundle.root_path, "\\\\?\\Volume{1}\\");
  assert_string_equal(bundle.hostname, "plain");
  assert_int_equal(bundle.layer_folder_count, 2);
  assert_string_equal(bundle.layer_folders[0], layers[0]);
  assert_string_equal(bundle.layer_folders[1], layers[1]);
  assert_true(bundle.layer_folders[0] != layers[0]);
  assert_int_equal(bundle.mount_count, 0);
  assert_int_equal(bundle.memory_limit, 0);
  assert_int_equal(bundle.cpu_shares, 0);
  assert_null(bundle.network_namespace);
  assert_null(bundle.network_shared_container);
  cf_bundle_clear(&bundle);
}

static void test_bundle_hostname_last_49(void **state)
{
  const char *handle = "0123456789abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ";
  cf_create_request request = {.handle = handle};
  cf_bundle bundle;
  cf_win_bundle_build(&request, "C:\\d", "C:\\v", NULL, 0, &bundle);
  assert_int_equal(strlen(handle), 56);
  assert_string_equal(bundle.hostname, handle + 7);
  assert_int_equal(strlen(bundle.hostname), 49);
  assert_int_equal(bundle.layer_folder_count, 0);
  cf_bundle_clear(&bundle);
}

static void test_bundle_limits(void **state)
{
  cf_limits_record weight = {
      .memory_bytes = 200 * 1024 * 1024, .cpu_weight = 512, .cpu_shares = 100};
  cf_create_request request = {.handle = "limited", .limits = &weight};
  cf_bundle bundle;
  cf_win_bundle_build(&request, "C:\\d", "C:\\v", NULL, 0, &bundle);
  assert_int_equal(bundle.memory_limit, 200 * 1024 * 1024);
  assert_int_equal(bundle.cpu_shares, 512);
  cf_bundle_clear(&bundle);

  cf_limits_record shares = {.cpu_shares = 100};
  request.limits = &shares;
  cf_win_bundle_build(&request, "C:\\d", "C:\\v", NULL, 0, &bundle);
  assert_int_equal(bundle.cpu_shares, 100);
  cf_bundle_clear(&bundle);

  cf_limits_record large = {.cpu_weight = 100000};
  request.limits = &large;
  cf_win_bundle_build(&request, "C:\\d", "C:\\v", NULL, 0, &bundle);
  assert_int_equal(bundle.cpu_shares, 65535);
  cf_bundle_clear(&bundle);
}

static void test_bundle_bind_mounts(void **state)
{
  cf_bind_mount binds[] = {
      {.src_path = "C:\\host\\ro", .dst_path = "C:\\ro", .read_write = false},
      {.src_path = "C:\\host\\rw", .dst_path = "/rw", .read_write = true},
  };
  cf_create_request request = {.handle = "mounts", .bind_mounts = binds, .bind_mount_count = 2};
  cf_bundle bundle;
  cf_win_bundle_build(&request, "C:\\d", "C:\\v", NULL, 0, &bundle);
  assert_int_equal(bundle.mount_count, 2);
  assert_string_equal(bundle.mounts[0].type, "bind");
  assert_string_equal(bundle.mounts[0].source, "C:\\host\\ro");
  assert_string_equal(bundle.mounts[0].destination, "C:\\ro");
  assert_int_equal(bundle.mounts[0].option_count, 2);
  assert_string_equal(bundle.mounts[0].options[0], "bind");
  assert_string_equal(bundle.mounts[0].options[1], "ro");
  assert_string_equal(bundle.mounts[1].source, "C:\\host\\rw");
  assert_string_equal(bundle.mounts[1].destination, "/rw");
  assert_string_equal(bundle.mounts[1].options[1], "rw");
  cf_bundle_clear(&bundle);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bundle_without_limits),
      cmocka_unit_test(test_bundle_hostname_last_49),
      cmocka_unit_test(test_bundle_limits),
      cmocka_unit_test(test_bundle_bind_mounts),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
