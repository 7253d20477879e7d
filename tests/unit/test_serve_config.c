/* SPDX-License-Identifier: Apache-2.0 */
/* The server's config file reader: gdn's INI form applied to the flags. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli/serve_config.h"

typedef struct options {
  const char *bind_ip;
  long long bind_port;
  bool destroy;
  int64_t grace;
  cf_flag_strings dns;
} options;

enum { BIND_IP, BIND_PORT, DESTROY, GRACE, DNS, FLAG_COUNT };

static void init_flags(options *o, cf_flag *flags)
{
  memset(o, 0, sizeof(*o));
  cf_flag table[FLAG_COUNT] = {
      [BIND_IP] = {"bind-ip", CF_FLAG_STRING, &o->bind_ip},
      [BIND_PORT] = {"bind-port", CF_FLAG_INT, &o->bind_port},
      [DESTROY] = {"destroy-containers-on-startup", CF_FLAG_BOOL, &o->destroy},
      [GRACE] = {"default-grace-time", CF_FLAG_DURATION, &o->grace},
      [DNS] = {"dns-server", CF_FLAG_STRINGS, &o->dns},
  };
  memcpy(flags, table, sizeof(table));
}

/* Applies a copy of text, since the reader changes it, and returns the
 * result with *err set on failure. The copy goes to *storage, which the
 * caller frees. */
static int apply(const char *text, cf_flag *flags, const bool *from_command_line, char **storage,
                 cf_err **err)
{
  *storage = strdup(text);
  return cf_serve_config_apply("/etc/gdn.ini", *storage, flags, FLAG_COUNT, from_command_line, err);
}

static void test_config_sets_every_flag_type(void **state)
{
  (void)state;
  options o;
  cf_flag flags[FLAG_COUNT];
  init_flags(&o, flags);
  char *storage = NULL;
  cf_err *err = NULL;
  const char *text = "; gdn config\n"
                     "# another comment\n"
                     "\n"
                     "[server]\n"
                     "  bind-ip = \"10.0.0.5\"\r\n"
                     "bind-port=7777\n"
                     "destroy-containers-on-startup = true\n"
                     "default-grace-time = 5m\n"
                     "dns-server = 10.0.0.2\n"
                     "dns-server = 10.0.0.3\n";
  int rc = apply(text, flags, NULL, &storage, &err);
  assert_int_equal(rc, 0);
  assert_null(err);
  assert_string_equal(o.bind_ip, "10.0.0.5");
  assert_int_equal(o.bind_port, 7777);
  assert_true(o.destroy);
  assert_int_equal(o.grace, 300LL * 1000000000);
  assert_int_equal(o.dns.count, 2);
  assert_string_equal(o.dns.values[0], "10.0.0.2");
  assert_string_equal(o.dns.values[1], "10.0.0.3");
  assert_true(flags[BIND_IP].seen);
  cf_flag_strings_clear(&o.dns);
  free(storage);
}

static void test_config_section_name_any_case(void **state)
{
  (void)state;
  options o;
  cf_flag flags[FLAG_COUNT];
  init_flags(&o, flags);
  char *storage = NULL;
  cf_err *err = NULL;
  int rc = apply("[Server]\nbind-port = 9241\n", flags, NULL, &storage, &err);
  assert_int_equal(rc, 0);
  assert_int_equal(o.bind_port, 9241);
  free(storage);
}

/* Windows editors such as Notepad start a UTF-8 file with a byte order
 * mark, which is not part of the first line. */
static void test_config_skips_byte_order_mark(void **state)
{
  (void)state;
  options o;
  cf_flag flags[FLAG_COUNT];
  init_flags(&o, flags);
  char *storage = NULL;
  cf_err *err = NULL;
  int rc = apply("\xef\xbb\xbf[server]\r\nbind-port = 9242\r\n", flags, NULL, &storage, &err);
  assert_null(err);
  assert_int_equal(rc, 0);
  assert_int_equal(o.bind_port, 9242);
  free(storage);
}

static void test_config_command_line_wins(void **state)
{
  (void)state;
  options o;
  cf_flag flags[FLAG_COUNT];
  init_flags(&o, flags);
  o.bind_port = 1234; /* as the command line set it */
  o.dns.values = calloc(1, sizeof(char *));
  o.dns.values[0] = "192.0.2.1";
  o.dns.count = 1;
  bool from_command_line[FLAG_COUNT] = {[BIND_PORT] = true, [DNS] = true};
  char *storage = NULL;
  cf_err *err = NULL;
  int rc = apply("[server]\nbind-port = 7777\ndns-server = 10.0.0.2\nbind-ip = 127.0.0.2\n", flags,
                 from_command_line, &storage, &err);
  assert_int_equal(rc, 0);
  assert_int_equal(o.bind_port, 1234);
  assert_int_equal(o.dns.count, 1);
  assert_string_equal(o.dns.values[0], "192.0.2.1");
  assert_string_equal(o.bind_ip, "127.0.0.2");
  cf_flag_strings_clear(&o.dns);
  free(storage);
}

/* Each bad file must fail, and its message must name the file, the line
 * and what is wrong on it. */
static void test_config_errors_name_line_key_value(void **state)
{
  (void)state;
  static const struct {
    const char *text;
    const char *expected[4];
  } cases[] = {
      {"[server]\nbind-port = seven\n", {"/etc/gdn.ini", "line 2", "\"bind-port\"", "\"seven\""}},
      {"[server]\n\nmax-things = 3\n", {"/etc/gdn.ini", "line 3", "\"max-things\"", "\"3\""}},
      {"[server]\ndestroy-containers-on-startup = yes\n",
       {"/etc/gdn.ini", "line 2", "\"destroy-containers-on-startup\"", "\"yes\""}},
      {"[server]\ndefault-grace-time = 5 minutes\n",
       {"/etc/gdn.ini", "line 2", "\"default-grace-time\"", "\"5 minutes\""}},
      {"bind-port = 7777\n", {"/etc/gdn.ini", "line 1", "bind-port = 7777", "[server]"}},
      {"[setup]\nbind-port = 7777\n", {"/etc/gdn.ini", "line 1", "[setup]", "[server]"}},
      {"[server\n", {"/etc/gdn.ini", "line 1", "[server", "[server]"}},
      {"[server]\nbind-port\n", {"/etc/gdn.ini", "line 2", "bind-port", "key = value"}},
      {"[server]\nbind-ip = \"10.0.0.5\n", {"/etc/gdn.ini", "line 2", "\"bind-ip\"", "10.0.0.5"}},
      {"[server]\nconfig = /etc/other.ini\n",
       {"/etc/gdn.ini", "line 2", "\"config\"", "command line"}},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    options o;
    cf_flag flags[FLAG_COUNT];
    init_flags(&o, flags);
    char *storage = NULL;
    cf_err *err = NULL;
    int rc = apply(cases[i].text, flags, NULL, &storage, &err);
    assert_int_equal(rc, -1);
    assert_non_null(err);
    assert_int_equal(err->code, CF_E_INVALID);
    for (size_t j = 0; j < 4; j++) {
      if (strstr(err->message, cases[i].expected[j]) == NULL) {
        fail_msg("case %zu: message \"%s\" lacks \"%s\"", i, err->message, cases[i].expected[j]);
      }
    }
    cf_err_free(err);
    cf_flag_strings_clear(&o.dns);
    free(storage);
  }
}

/* Runs command through the shell and fails the test unless it exits with
 * status 2; text receives the start of its output. */
static void expect_usage_error(const char *command, char *text, size_t size)
{
  FILE *out = popen(command, "r");
  assert_non_null(out);
  size_t n = fread(text, 1, size - 1, out);
  text[n] = '\0';
  int status = pclose(out);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 2);
}

/* Removes the config file at path and the depot a server may have made
 * in dir, then dir. */
static void remove_config_dir(const char *dir, const char *path)
{
  remove(path);
  char depot[256];
  snprintf(depot, sizeof(depot), "%s/depot", dir);
  rmdir(depot);
  rmdir(dir);
}

/* Runs the built binary with a config file whose line 3 has a bad value:
 * both `cfwin serve --config` and gdn's global `--config` must stop with
 * exit status 2 and name the file, the line and the key. */
static void test_config_errors_through_binary(void **state)
{
  (void)state;
  const char *binary = getenv("CFWIN_BINARY");
  if (binary == NULL) {
    skip();
  }
  char dir[] = "/tmp/cfwin-serve-config-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[256];
  snprintf(path, sizeof(path), "%s/gdn.ini", dir);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs("[server]\nbind-port = 7777\nmax-containers = many\n", f);
  fclose(f);
  for (size_t i = 0; i < 2; i++) {
    char command[1024];
    if (i == 0) {
      snprintf(command, sizeof(command), "%s serve --config %s --depot %s/depot 2>&1", binary, path,
               dir);
    } else {
      snprintf(command, sizeof(command), "%s gdn --config %s server --depot %s/depot 2>&1", binary,
               path, dir);
    }
    char text[4096];
    expect_usage_error(command, text, sizeof(text));
    if (strstr(text, "line 3") == NULL || strstr(text, path) == NULL ||
        strstr(text, "\"max-containers\" = \"many\"") == NULL) {
      fail_msg("form %zu: output lacks the file, line or key: %s", i, text);
    }
    /* The error is printed without the usage text after it. */
    assert_null(strstr(text, "usage:"));
  }
  remove_config_dir(dir, path);
}

/* A FIFO as config file would block the read forever: it must be rejected
 * before it is opened. */
static void test_config_fifo_rejected(void **state)
{
  (void)state;
  const char *binary = getenv("CFWIN_BINARY");
  if (binary == NULL) {
    skip();
  }
  char dir[] = "/tmp/cfwin-serve-config-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[256];
  snprintf(path, sizeof(path), "%s/gdn.ini", dir);
  assert_int_equal(mkfifo(path, 0600), 0);
  char command[1024];
  snprintf(command, sizeof(command), "timeout 10 %s serve --config %s --depot %s/depot 2>&1",
           binary, path, dir);
  char text[4096];
  expect_usage_error(command, text, sizeof(text));
  if (strstr(text, "is not a regular file") == NULL) {
    fail_msg("output lacks the reason: %s", text);
  }
  remove_config_dir(dir, path);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_config_sets_every_flag_type),
      cmocka_unit_test(test_config_section_name_any_case),
      cmocka_unit_test(test_config_skips_byte_order_mark),
      cmocka_unit_test(test_config_command_line_wins),
      cmocka_unit_test(test_config_errors_name_line_key_value),
      cmocka_unit_test(test_config_errors_through_binary),
      cmocka_unit_test(test_config_fifo_rejected),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
