/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Regression tests for inputs that the network role once accepted or
 * mishandled. Each test feeds one such input and checks the error or
 * value it gets now.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "base/err.h"
#include "base/mem.h"
#include "network/net.h"
#include "network/net_config.h"

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
static void test_pid_above_max_rejected(void **state)
{
  (void)state;
  assert_parse_error("{\"Pid\":4294995865}",
                     "Pid: invalid process id 4294995865: the maximum is 2147483647");
  assert_parse_error("{\"Pid\":2147483648}",
                     "Pid: invalid process id 2147483648: the maximum is 2147483647");
}

static void test_pid_at_max_read(void **state)
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

static const char config_head[] = "{\"network_name\":\"n\",\"subnet_range\":\"10.0.0.0/24\","
                                  "\"gateway_address\":\"10.0.0.1\",\"search_domains\":";

static void assert_config_error(const char *domains, const char *message)
{
  cf_autofree char *json = cf_xasprintf("%s%s}", config_head, domains);
  cf_net_config config;
  cf_err *err = NULL;
  int rc = cf_net_config_parse(json, strlen(json), &config, &err);
  assert_int_equal(rc, -1);
  assert_non_null(err);
  assert_string_equal(err->message, message);
  assert_int_equal(err->code, CF_E_INVALID);
  cf_err_free(err);
}

/* A newline in a search domain passed the config check, and every later
 * up with DNS servers failed when it wrote the container's resolv.conf. */
static void test_search_domain_control_chars(void **state)
{
  (void)state;
  assert_config_error("[\"a.com\\nb.com\"]",
                      "search_domains[0]: invalid DNS suffix \"a.com\\nb.com\": it must not "
                      "contain a control character such as a newline");
  assert_config_error("[\"ok.com\",\"a\\u000bb\"]",
                      "search_domains[1]: invalid DNS suffix \"a\\u000Bb\": it must not "
                      "contain a control character such as a newline");
  assert_config_error("[\"a\\u007f\"]",
                      "search_domains[0]: invalid DNS suffix \"a\x7f\": it must not "
                      "contain a control character such as a newline");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pid_above_max_rejected),
      cmocka_unit_test(test_pid_at_max_read),
      cmocka_unit_test(test_search_domain_control_chars),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
