/* SPDX-License-Identifier: Apache-2.0 */
/* The Windows service state machine. Expected numbers are the Win32
 * constants from mingw-w64's winsvc.h and winerror.h, written out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "service/service.h"

static void test_init_start_pending(void **state)
{
  cf_service service;
  cf_service_init(&service);
  assert_int_equal(service.status.state, 2); /* SERVICE_START_PENDING */
  assert_int_equal(service.status.controls_accepted, 0);
  assert_int_equal(service.status.checkpoint, 1);
  assert_true(service.status.wait_hint_ms > 0);
  assert_int_equal(service.status.win32_exit_code, 0);
}

static void test_checkpoint_counts_while_starting(void **state)
{
  cf_service service;
  cf_service_init(&service);
  cf_service_checkpoint(&service);
  cf_service_checkpoint(&service);
  assert_int_equal(service.status.checkpoint, 3);
}

static void test_running_accepts_stop_and_shutdown(void **state)
{
  cf_service service;
  cf_service_init(&service);
  assert_true(cf_service_running(&service));
  assert_int_equal(service.status.state, 4);                     /* SERVICE_RUNNING */
  assert_int_equal(service.status.controls_accepted, 0x1 | 0x4); /* STOP | SHUTDOWN */
  assert_int_equal(service.status.checkpoint, 0);
  assert_int_equal(service.status.wait_hint_ms, 0);
  cf_service_checkpoint(&service);
  assert_int_equal(service.status.checkpoint, 0);
}

static void test_stop_while_running(void **state)
{
  cf_service service;
  cf_service_init(&service);
  cf_service_running(&service);
  assert_int_equal(cf_service_control(&service, 1), CF_SERVICE_STOP_SERVER); /* STOP */
  assert_int_equal(service.status.state, 3); /* SERVICE_STOP_PENDING */
  assert_int_equal(service.status.controls_accepted, 0);
  assert_int_equal(service.status.checkpoint, 1);
  assert_true(service.status.wait_hint_ms > 0);
  assert_true(service.stop_requested);
}

static void test_shutdown_stops_like_stop(void **state)
{
  cf_service service;
  cf_service_init(&service);
  cf_service_running(&service);
  assert_int_equal(cf_service_control(&service, 5), CF_SERVICE_STOP_SERVER); /* SHUTDOWN */
  assert_int_equal(service.status.state, 3);
}

static void test_second_stop_only_reports(void **state)
{
  cf_service service;
  cf_service_init(&service);
  cf_service_running(&service);
  cf_service_control(&service, 1);
  cf_service_checkpoint(&service);
  assert_int_equal(cf_service_control(&service, 5), CF_SERVICE_REPORT);
  assert_int_equal(cf_service_control(&service, 1), CF_SERVICE_REPORT);
  assert_int_equal(service.status.state, 3);
  assert_int_equal(service.status.checkpoint, 2);
}

static void test_stop_before_running_wins(void **state)
{
  cf_service service;
  cf_service_init(&service);
  assert_int_equal(cf_service_control(&service, 1), CF_SERVICE_STOP_SERVER);
  assert_false(cf_service_running(&service));
  assert_int_equal(service.status.state, 3);
}

static void test_interrogate_reports(void **state)
{
  cf_service service;
  cf_service_init(&service);
  cf_service_running(&service);
  assert_int_equal(cf_service_control(&service, 4), CF_SERVICE_REPORT); /* INTERROGATE */
  assert_int_equal(service.status.state, 4);
}

static void test_unknown_controls_rejected(void **state)
{
  static const uint32_t controls[] = {2, 3, 6, 0xF, 0x80};
  cf_service service;
  cf_service_init(&service);
  cf_service_running(&service);
  for (size_t i = 0; i < sizeof(controls) / sizeof(controls[0]); i++) {
    assert_int_equal(cf_service_control(&service, controls[i]), CF_SERVICE_REJECT);
    assert_int_equal(service.status.state, 4);
  }
  assert_int_equal(CF_SERVICE_ERROR_CALL_NOT_IMPLEMENTED, 120);
}

static void test_stopped_clean_exit(void **state)
{
  cf_service service;
  cf_service_init(&service);
  cf_service_running(&service);
  cf_service_control(&service, 1);
  cf_service_stopped(&service, 0);
  assert_int_equal(service.status.state, 1); /* SERVICE_STOPPED */
  assert_int_equal(service.status.win32_exit_code, 0);
  assert_int_equal(service.status.service_exit_code, 0);
  assert_int_equal(service.status.controls_accepted, 0);
  assert_int_equal(cf_service_control(&service, 1), CF_SERVICE_REPORT);
}

static void test_stopped_failed_exit(void **state)
{
  cf_service service;
  cf_service_init(&service);
  cf_service_stopped(&service, 3);
  assert_int_equal(service.status.state, 1);
  assert_int_equal(service.status.win32_exit_code, 1066); /* ERROR_SERVICE_SPECIFIC_ERROR */
  assert_int_equal(service.status.service_exit_code, 3);
  assert_int_equal(service.status.wait_hint_ms, 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_init_start_pending),
      cmocka_unit_test(test_checkpoint_counts_while_starting),
      cmocka_unit_test(test_running_accepts_stop_and_shutdown),
      cmocka_unit_test(test_stop_while_running),
      cmocka_unit_test(test_shutdown_stops_like_stop),
      cmocka_unit_test(test_second_stop_only_reports),
      cmocka_unit_test(test_stop_before_running_wins),
      cmocka_unit_test(test_interrogate_reports),
      cmocka_unit_test(test_unknown_controls_rejected),
      cmocka_unit_test(test_stopped_clean_exit),
      cmocka_unit_test(test_stopped_failed_exit),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
