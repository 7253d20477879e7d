/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The network role's command line, run as the real binary: flags and
 * their errors, config file errors, bad up input, down and net-in for
 * handles that were never brought up, logging and the winc-network
 * program name. None of these cases reaches a backend, so the test needs
 * no root and no network namespace. The backend's own tests cover up and
 * net-in against a real backend.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/mem.h"
#include "testutil.h"

typedef struct result {
  int status;
  char *out;
  char *err;
} result;

static void result_clear(result *r)
{
  free(r->out);
  free(r->err);
  memset(r, 0, sizeof(*r));
}

static char *slurp(const char *path)
{
  cf_buf buf;
  cf_buf_init(&buf, 1 << 20);
  cf_err *err = NULL;
  if (cf_read_file(path, &buf, &err) < 0) {
    fail_msg("read %s: %s", path, err->message);
  }
  return cf_buf_take(&buf);
}

/* Runs program (argv[0] is the name it gets) with stdin from input. */
static result run_as(const char *dir, const char *program, char *const argv[], const char *input)
{
  cf_autofree char *in_path = cf_path_join(dir, "stdin");
  cf_autofree char *out_path = cf_path_join(dir, "stdout");
  cf_autofree char *err_path = cf_path_join(dir, "stderr");
  FILE *in = fopen(in_path, "w");
  fputs(input, in);
  fclose(in);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    int fd_in = open(in_path, O_RDONLY);
    int fd_out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int fd_err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd_in, 0);
    dup2(fd_out, 1);
    dup2(fd_err, 2);
    execv(program, argv);
    _exit(127);
  }
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  return (result){WEXITSTATUS(status), slurp(out_path), slurp(err_path)};
}

static const char *binary(void)
{
  const char *path = getenv("CFWIN_BINARY");
  return path != NULL ? path : "build/cfwin";
}

/* Runs `cfwin network ARGS...` (NULL-terminated) with input on stdin. */
static result run_network(const char *dir, const char *input, ...)
{
  const char *argv[32] = {"cfwin", "network"};
  size_t n = 2;
  va_list ap;
  va_start(ap, input);
  const char *arg;
  while ((arg = va_arg(ap, const char *)) != NULL && n < 31) {
    argv[n++] = arg;
  }
  va_end(ap);
  argv[n] = NULL;
  return run_as(dir, binary(), (char *const *)argv, input);
}

struct fixture {
  char *dir;
  char *state;  /* the config's state_dir; must stay absent */
  char *config; /* a valid config file */
};

static char *write_config(const char *dir, const char *name, const char *text)
{
  char *path = cf_path_join(dir, name);
  FILE *f = fopen(path, "w");
  fputs(text, f);
  fclose(f);
  return path;
}

static int setup(void **state)
{
  struct fixture *f = cf_xcalloc(1, sizeof(*f));
  f->dir = cf_test_tmpdir("netcli");
  f->state = cf_path_join(f->dir, "state");
  cf_autofree char *text =
      cf_xasprintf("{\"network_name\":\"cfwin-test\",\"subnet_range\":\"172.30.0.0/22\","
                   "\"gateway_address\":\"172.30.0.1\",\"dns_servers\":[\"172.30.0.1\"],"
                   "\"state_dir\":\"%s\",\"some_bosh_key\":1}",
                   f->state);
  f->config = write_config(f->dir, "interface.json", text);
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  struct fixture *f = *state;
  cf_test_rmdir(f->dir);
  free(f->dir);
  free(f->state);
  free(f->config);
  free(f);
  return 0;
}

static void assert_state_untouched(const struct fixture *f)
{
  struct stat st;
  assert_int_equal(stat(f->state, &st), -1);
}

static void test_invalid_action(void **state)
{
  struct fixture *f = *state;
  result r = run_network(f->dir, "", "--action", "some-invalid-action", NULL);
  assert_int_equal(r.status, 1);
  assert_string_equal(r.err, "invalid action: some-invalid-action\n");
  assert_string_equal(r.out, "");
  result_clear(&r);
  r = run_network(f->dir, "", NULL);
  assert_int_equal(r.status, 1);
  assert_string_equal(r.err, "invalid action: \n");
  result_clear(&r);
}

static void test_missing_handle(void **state)
{
  struct fixture *f = *state;
  static const char *const actions[] = {"up", "down", "net-in", "net-out", "bulk-net-out"};
  for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
    result r = run_network(f->dir, "{}", "--action", actions[i], NULL);
    assert_int_equal(r.status, 1);
    assert_string_equal(r.err, "missing required flag 'handle'\n");
    result_clear(&r);
  }
}

static void test_config_errors(void **state)
{
  struct fixture *f = *state;
  cf_autofree char *bad = write_config(f->dir, "bad.json",
                                       "{\"network_name\":\"n\",\"subnet_range\":\"10.0.0.0/31\","
                                       "\"gateway_address\":\"10.0.0.1\"}");
  result r =
      run_network(f->dir, "", "--action", "down", "--handle", "h", "--configFile", bad, NULL);
  assert_int_equal(r.status, 1);
  cf_autofree char *expected = cf_xasprintf(
      "configFile: %s: subnet_range: prefix length of \"10.0.0.0/31\" must be from 1 to 30, so "
      "the subnet has room for the gateway and a container\n",
      bad);
  assert_string_equal(r.err, expected);
  result_clear(&r);

  cf_autofree char *missing = write_config(f->dir, "missing.json", "{\"network_name\":\"n\"}");
  r = run_network(f->dir, "", "--action", "create", "--configFile", missing, NULL);
  assert_int_equal(r.status, 1);
  cf_autofree char *expected_missing =
      cf_xasprintf("configFile: %s: subnet_range: missing; the config file must set it\n", missing);
  assert_string_equal(r.err, expected_missing);
  result_clear(&r);

  cf_autofree char *typed = write_config(f->dir, "typed.json", "{\"mtu\":\"big\"}");
  r = run_network(f->dir, "", "--action", "create", "--configFile", typed, NULL);
  assert_int_equal(r.status, 1);
  cf_autofree char *expected_typed = cf_xasprintf(
      "configFile: %s: mtu: expected an integer from 0 to 65535, got \"big\"\n", typed);
  assert_string_equal(r.err, expected_typed);
  result_clear(&r);

  /* No config file: create has no network to make. */
  r = run_network(f->dir, "", "--action", "create", NULL);
  assert_int_equal(r.status, 1);
  assert_string_equal(r.err, "network create: no network is configured: pass --configFile with "
                             "network_name, subnet_range and gateway_address\n");
  result_clear(&r);
}

static void test_invalid_log_format(void **state)
{
  struct fixture *f = *state;
  result r =
      run_network(f->dir, "", "--action", "down", "--handle", "h", "--log-format", "xml", NULL);
  assert_int_equal(r.status, 1);
  assert_string_equal(r.err, "invalid log format: xml\n");
  result_clear(&r);
}

static void test_down_unknown_handle_succeeds(void **state)
{
  struct fixture *f = *state;
  result r = run_network(f->dir, "null", "--action", "down", "--handle", "never-up", "--configFile",
                         f->config, NULL);
  assert_int_equal(r.status, 0);
  assert_string_equal(r.out, "");
  /* The unknown key only warns. */
  cf_autofree char *warning = cf_xasprintf(
      "warning: config file %s: unknown key \"some_bosh_key\" is ignored\n", f->config);
  assert_string_equal(r.err, warning);
  result_clear(&r);
  assert_state_untouched(f);
}

static void test_net_in_never_up(void **state)
{
  struct fixture *f = *state;
  result r = run_network(f->dir, "{\"HostPort\":0,\"ContainerPort\":8080}", "--action", "net-in",
                         "--handle", "ghost", "--configFile", f->config, NULL);
  assert_int_equal(r.status, 1);
  assert_non_null(strstr(r.err, "networkNetIn: container ghost has no network endpoint; run "
                                "--action up for it first\n"));
  assert_string_equal(r.out, "");
  result_clear(&r);
  r = run_network(f->dir, "{\"netout_rules\":[{\"protocol\":1}]}", "--action", "bulk-net-out",
                  "--handle", "ghost", "--configFile", f->config, NULL);
  assert_int_equal(r.status, 1);
  assert_non_null(strstr(r.err, "networkBulkNetOut: container ghost has no network endpoint"));
  result_clear(&r);
  assert_state_untouched(f);
}

static void test_up_bad_input_records_nothing(void **state)
{
  struct fixture *f = *state;
  static const struct {
    const char *input;
    const char *message;
  } cases[] = {
      {"{\"netin\":[{\"host_port\":70000,\"container_port\":80}]}",
       "networkUp: netin[0]: host_port: 70000 is out of range 0-65535\n"},
      {"{\"netout_rules\":[{\"protocol\":1,\"ports\":[{\"start\":80,\"end\":70000}]}]}",
       "networkUp: netout_rules[0]: ports[0]: end: 70000 is out of range 1-65535\n"},
      {"{\"netout_rules\":[{\"protocol\":1,\"networks\":[{\"start\":\"10.0.0.0\",\"end\":"
       "\"10.0.0.9\"},{\"start\":\"10.0.0.5\",\"end\":\"10.0.0.20\"}]}]}",
       "networkUp: netout_rules[0]: networks[1] overlaps networks[0]; merge them into one "
       "range\n"},
      {"{\"Properties\":{\"ports\":\"80,x\"}}",
       "networkUp: Invalid port in input.Properties.ports: x, error: not an integer from 1 to "
       "65535\n"},
      {"", "networkUp: stdin is empty; expected a JSON document\n"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    result r = run_network(f->dir, cases[i].input, "--action", "up", "--handle", "h1",
                           "--configFile", f->config, NULL);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, cases[i].message));
    assert_string_equal(r.out, "");
    result_clear(&r);
  }
  assert_state_untouched(f);
}

static void test_log_file(void **state)
{
  struct fixture *f = *state;
  cf_autofree char *log = cf_xasprintf("%s/logs/deep/winc-network.log", f->dir);
  /* Without --debug a successful down writes nothing, but the file and its
   * directories are made. */
  result r = run_network(f->dir, "null", "--action", "down", "--handle", "h", "--log", log, NULL);
  assert_int_equal(r.status, 0);
  result_clear(&r);
  cf_autofree char *empty = slurp(log);
  assert_string_equal(empty, "");

  r = run_network(f->dir, "", "--action", "some-invalid-action", "--log", log, NULL);
  assert_int_equal(r.status, 1);
  result_clear(&r);
  cf_autofree char *error_line = slurp(log);
  assert_non_null(strstr(error_line, "\"level\":\"error\""));
  assert_non_null(strstr(error_line, "\"msg\":\"invalid action: some-invalid-action\""));

  r = run_network(f->dir, "null", "-action", "down", "-handle", "h", "-debug", "-log", log,
                  "-log-format", "text", NULL);
  assert_int_equal(r.status, 0);
  result_clear(&r);
  cf_autofree char *text = slurp(log);
  assert_non_null(strstr(text, "level=debug msg=\"down\" handle=\"h\"\n"));
}

static void test_program_name_and_help(void **state)
{
  struct fixture *f = *state;
  cf_autofree char *link = cf_path_join(f->dir, "winc-network.exe");
  cf_autofree char *target = realpath(binary(), NULL);
  assert_non_null(target);
  assert_int_equal(symlink(target, link), 0);
  char *argv[] = {"winc-network.exe", "--action", "bogus", NULL};
  result r = run_as(f->dir, link, argv, "");
  assert_int_equal(r.status, 1);
  assert_string_equal(r.err, "invalid action: bogus\n");
  result_clear(&r);
  char *help[] = {"winc-network.exe", "--help", NULL};
  r = run_as(f->dir, link, help, "");
  assert_int_equal(r.status, 0);
  assert_non_null(strstr(r.out, "usage: winc-network --action ACTION"));
  result_clear(&r);
  char *unknown[] = {"winc-network.exe", "--nope", NULL};
  r = run_as(f->dir, link, unknown, "");
  assert_int_equal(r.status, 1);
  assert_non_null(strstr(r.err, "Incorrect Usage: unknown option --nope"));
  result_clear(&r);
}

#define TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
  const struct CMUnitTest tests[] = {
      TEST(test_invalid_action),
      TEST(test_missing_handle),
      TEST(test_config_errors),
      TEST(test_invalid_log_format),
      TEST(test_down_unknown_handle_succeeds),
      TEST(test_net_in_never_up),
      TEST(test_up_bad_input_records_nothing),
      TEST(test_log_file),
      TEST(test_program_name_and_help),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
