/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of role dispatch and option parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli/cli.h"
#include "cli/flags.h"

static int run_main(char **argv)
{
  int argc = 0;
  while (argv[argc] != NULL) {
    argc++;
  }
  /* Silence the roles' stderr and stdout messages during the call. */
  fflush(stdout);
  fflush(stderr);
  int saved_out = dup(STDOUT_FILENO);
  int saved_err = dup(STDERR_FILENO);
  FILE *null = fopen("/dev/null", "w");
  dup2(fileno(null), STDOUT_FILENO);
  dup2(fileno(null), STDERR_FILENO);
  int status = cf_cli_main(argc, argv);
  fflush(stdout);
  fflush(stderr);
  dup2(saved_out, STDOUT_FILENO);
  dup2(saved_err, STDERR_FILENO);
  close(saved_out);
  close(saved_err);
  fclose(null);
  return status;
}

/* The client role without a command prints its usage and fails with 1. */
static void test_client_without_command_exits_1(void **state)
{
  (void)state;
  char *no_command[] = {"cfwin", "client", NULL};
  char *unknown[] = {"cfwin", "client", "frobnicate", NULL};
  char *help[] = {"cfwin", "client", "help", "run", NULL};
  assert_int_equal(run_main(no_command), 1);
  assert_int_equal(run_main(unknown), 1);
  assert_int_equal(run_main(help), 0);
}

/* winc-network exits 1 for a missing or invalid action, by either name. */
static void test_network_role_bad_action_exits_1(void **state)
{
  (void)state;
  char *missing_value[] = {"winc-network.exe", "--action", NULL};
  char *no_action[] = {"cfwin", "network", NULL};
  char *bad_action[] = {"WINC-NETWORK", "--action", "frobnicate", NULL};
  assert_int_equal(run_main(missing_value), 1);
  assert_int_equal(run_main(no_action), 1);
  assert_int_equal(run_main(bad_action), 1);
}

static void test_version_and_help_succeed(void **state)
{
  (void)state;
  char *version[] = {"cfwin", "version", NULL};
  char *help[] = {"cfwin", "help", NULL};
  char *gdn_version[] = {"gdn.exe", "-v", NULL};
  assert_int_equal(run_main(version), 0);
  assert_int_equal(run_main(help), 0);
  assert_int_equal(run_main(gdn_version), 0);
}

static void test_unknown_commands_exit_2(void **state)
{
  (void)state;
  char *unknown[] = {"cfwin", "frobnicate", NULL};
  char *none[] = {"cfwin", NULL};
  char *gdn_unknown[] = {"gdn", "serve", NULL};
  char *gdn_no_command[] = {"gdn", "--config", "/etc/gdn.ini", NULL};
  char *gdn_bad_global[] = {"gdn", "--nope", "server", NULL};
  char *bad_flag[] = {"cfwin", "serve", "--no-such-flag", NULL};
  char *bad_port[] = {"cfwin", "serve", "--bind-port", "70000", NULL};
  char *bad_level[] = {"cfwin", "serve", "--log-level", "loud", NULL};
  char *bad_quota[] = {"cfwin", "serve", "--cpu-quota-per-share", "-5", NULL};
  char *bad_entitlement[] = {"cfwin", "serve", "--cpu-entitlement-per-share", "1.5x", NULL};
  char *negative_entitlement[] = {"cfwin", "serve", "--cpu-entitlement-per-share", "-1", NULL};
  assert_int_equal(run_main(unknown), 2);
  assert_int_equal(run_main(none), 2);
  assert_int_equal(run_main(gdn_unknown), 2);
  assert_int_equal(run_main(gdn_no_command), 2);
  assert_int_equal(run_main(gdn_bad_global), 2);
  assert_int_equal(run_main(bad_flag), 2);
  assert_int_equal(run_main(bad_port), 2);
  assert_int_equal(run_main(bad_level), 2);
  assert_int_equal(run_main(bad_quota), 2);
  assert_int_equal(run_main(bad_entitlement), 2);
  assert_int_equal(run_main(negative_entitlement), 2);
}

static void test_flags_forms(void **state)
{
  (void)state;
  const char *name = NULL;
  long long port = 0;
  bool on = false;
  int64_t grace = 0;
  cf_flag flags[] = {
      {"name", CF_FLAG_STRING, &name},    {"port", CF_FLAG_INT, &port},
      {"on", CF_FLAG_BOOL, &on},          {"grace", CF_FLAG_DURATION, &grace},
      {"ignored", CF_FLAG_IGNORED, NULL},
  };
  char *argv[] = {"prog",  "--name",    "n1", "-port=80", "--on", "--grace",
                  "1m30s", "--ignored", "x",  "rest",     NULL};
  int next = 0;
  cf_err *err = NULL;
  assert_int_equal(cf_flags_parse(flags, 5, 10, argv, 1, &next, &err), 0);
  assert_string_equal(name, "n1");
  assert_int_equal(port, 80);
  assert_true(on);
  assert_int_equal(grace, 90000000000LL);
  assert_int_equal(next, 9);
  assert_true(flags[4].seen);
}

static void test_flags_errors(void **state)
{
  (void)state;
  long long port = 0;
  cf_flag flags[] = {{"port", CF_FLAG_INT, &port}};
  char *missing[] = {"prog", "--port", NULL};
  char *not_int[] = {"prog", "--port", "eighty", NULL};
  char *unknown[] = {"prog", "--host", "x", NULL};
  int next = 0;
  cf_err *err = NULL;
  assert_int_equal(cf_flags_parse(flags, 1, 2, missing, 1, &next, &err), -1);
  assert_non_null(strstr(err->message, "needs a value"));
  cf_err_clear(&err);
  assert_int_equal(cf_flags_parse(flags, 1, 3, not_int, 1, &next, &err), -1);
  assert_non_null(strstr(err->message, "\"eighty\""));
  cf_err_clear(&err);
  assert_int_equal(cf_flags_parse(flags, 1, 3, unknown, 1, &next, &err), -1);
  assert_non_null(strstr(err->message, "--host"));
  cf_err_free(err);
}

static void test_durations(void **state)
{
  (void)state;
  struct {
    const char *text;
    int64_t ns;
  } good[] = {{"0", 0},
              {"1s", 1000000000LL},
              {"500ms", 500000000LL},
              {"1h2m3s", 3723000000000LL},
              {"1.5s", 1500000000LL},
              {"-2m", -120000000000LL},
              {"10us", 10000},
              {"7ns", 7}};
  for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
    int64_t ns = -1;
    assert_int_equal(cf_parse_duration(good[i].text, &ns, NULL), 0);
    assert_int_equal(ns, good[i].ns);
  }
  const char *bad[] = {"", "5", "s", "1x", "1s2", "--1s", "1e400h"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    int64_t ns = 0;
    cf_err *err = NULL;
    assert_int_equal(cf_parse_duration(bad[i], &ns, &err), -1);
    assert_non_null(strstr(err->message, "invalid duration"));
    cf_err_free(err);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_client_without_command_exits_1),
      cmocka_unit_test(test_network_role_bad_action_exits_1),
      cmocka_unit_test(test_version_and_help_succeed),
      cmocka_unit_test(test_unknown_commands_exit_2),
      cmocka_unit_test(test_flags_forms),
      cmocka_unit_test(test_flags_errors),
      cmocka_unit_test(test_durations),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
