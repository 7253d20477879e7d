/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Regression tests for inputs that broke the network role: each test is
 * one input that was accepted or mishandled, and the answer it gets now.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "base/err.h"
#include "network/net.h"

static void assert_parse_error(const char *json, const char *message)
{
  cf_net_up_input in;
  cf_err *err = NULL;
  int rc = cf_net_up_input_parse(json, strlen(json), &in, &err);
  assert_int_equal(rc, -1);
  assert_non_null(err);
  assert_string_equal(err->message, message);
  assert_int_equal(err->code, CF_E_INVALID);
  cf_err_free(err);
}

/* A Pid above 2^31 - 1 was cut to 32 bits, so 2^32 + p attached the
 * endpoint to process p. */
static void test_up_pid_above_pid_t_is_rejected(void **state)
{
  (void)state;
  assert_parse_error("{\"Pid\":4294995865}",
                     "Pid: 4294995865 is not a process id (at most 2147483647)");
  assert_parse_error("{\"Pid\":2147483648}",
                     "Pid: 2147483648 is not a process id (at most 2147483647)");
}

static void test_up_pid_at_pid_t_max_is_read(void **state)
{
  (void)state;
  const char *json = "{\"Pid\":2147483647}";
  cf_net_up_input in;
  cf_err *err = NULL;
  assert_int_equal(cf_net_up_input_parse(json, strlen(json), &in, &err), 0);
  assert_null(err);
  assert_int_equal(in.pid, 2147483647);
  cf_net_up_input_clear(&in);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_up_pid_above_pid_t_is_rejected),
      cmocka_unit_test(test_up_pid_at_pid_t_max_is_read),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
