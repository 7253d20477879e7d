/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the host figures behind Capacity and Metrics
 * (garden/linux/host.c), checked against /proc/meminfo, statvfs(3) and
 * sysconf(3). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/err.h"
#include "garden/host.h"

/* Reads MemTotal of /proc/meminfo, in bytes. */
static uint64_t meminfo_total(void)
{
  FILE *file = fopen("/proc/meminfo", "r");
  assert_non_null(file);
  unsigned long long kib = 0;
  char line[256];
  while (fgets(line, sizeof(line), file) != NULL) {
    if (sscanf(line, "MemTotal: %llu kB", &kib) == 1) {
      break;
    }
  }
  fclose(file);
  assert_true(kib > 0);
  return (uint64_t)kib * 1024;
}

static void test_memory_matches_meminfo(void **state)
{
  uint64_t bytes = 0;
  cf_err *err = NULL;
  assert_int_equal(cf_host_memory_bytes(&bytes, &err), 0);
  assert_null(err);
  assert_int_equal(bytes, meminfo_total());
}

static void test_disk_matches_statvfs(void **state)
{
  struct statvfs vfs;
  assert_int_equal(statvfs("/", &vfs), 0);
  uint64_t bytes = 0;
  cf_err *err = NULL;
  assert_int_equal(cf_host_disk_bytes("/", &bytes, &err), 0);
  assert_int_equal(bytes, (uint64_t)vfs.f_blocks * vfs.f_frsize);
}

static void test_disk_of_missing_path(void **state)
{
  uint64_t bytes = 0;
  cf_err *err = NULL;
  assert_int_equal(cf_host_disk_bytes("/nonexistent/cfwin-depot", &bytes, &err), -1);
  assert_non_null(err);
  assert_int_equal(err->code, CF_E_SYSTEM);
  assert_non_null(strstr(err->message, "/nonexistent/cfwin-depot"));
  cf_err_free(err);
}

static void test_cpu_count_matches_sysconf(void **state)
{
  assert_int_equal(cf_host_cpu_count(), sysconf(_SC_NPROCESSORS_ONLN));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_memory_matches_meminfo),
      cmocka_unit_test(test_disk_matches_statvfs),
      cmocka_unit_test(test_disk_of_missing_path),
      cmocka_unit_test(test_cpu_count_matches_sysconf),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
