/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `cfwin client` end to end: the real binary against a real `cfwin serve`,
 * with --json output parsed by jansson, exit statuses, stdin passed to
 * processes, a terminal made by the test, and the errors for unknown
 * handles and bad options.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <cmocka.h>
#include <jansson.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/mem.h"
#include "fixture.h"

static it_server server;
static bool own_network; /* the test runs in a network namespace it made */

/* What one run of `cfwin client` did. */
typedef struct cli_result {
  int status; /* exit status, or 128 + signal */
  cf_buf out;
  cf_buf err;
} cli_result;

static void cli_result_clear(cli_result *r)
{
  cf_buf_free(&r->out);
  cf_buf_free(&r->err);
}

static const char *binary(void)
{
  const char *path = getenv("CFWIN_BINARY");
  return path != NULL ? path : "build/cfwin";
}

/* Builds argv: cfwin client -t unix:SOCKET ARGS... */
static char **client_argv(const char *const *args)
{
  size_t count = 0;
  while (args[count] != NULL) {
    count++;
  }
  char **argv = cf_xcalloc(count + 5, sizeof(char *));
  argv[0] = (char *)binary();
  argv[1] = "client";
  argv[2] = "-t";
  argv[3] = cf_xasprintf("unix:%s", server.socket_path);
  for (size_t i = 0; i < count; i++) {
    argv[4 + i] = (char *)args[i];
  }
  return argv;
}

static int wait_status(pid_t pid)
{
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Moves bytes between the child's pipes and the buffers until both
 * output pipes are at end of file. */
static void pump_pipes(int in, int out, int err, const char *input, size_t input_len, cli_result *r)
{
  size_t sent = 0;
  struct pollfd fds[3] = {{.fd = input_len > 0 ? in : -1, .events = POLLOUT},
                          {.fd = out, .events = POLLIN},
                          {.fd = err, .events = POLLIN}};
  if (input_len == 0) {
    close(in);
  }
  cf_buf *sinks[3] = {NULL, &r->out, &r->err};
  while (fds[1].fd >= 0 || fds[2].fd >= 0) {
    assert_true(poll(fds, 3, -1) >= 0 || errno == EINTR);
    if (fds[0].fd >= 0 && fds[0].revents != 0) {
      ssize_t n = write(in, input + sent, input_len - sent);
      sent += n > 0 ? (size_t)n : 0;
      if (n < 0 || sent == input_len) {
        close(in);
        fds[0].fd = -1;
      }
    }
    for (int i = 1; i < 3; i++) {
      if (fds[i].fd < 0 || fds[i].revents == 0) {
        continue;
      }
      char chunk[65536];
      ssize_t n = read(fds[i].fd, chunk, sizeof(chunk));
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        continue;
      }
      cf_buf_append(sinks[i], chunk, (size_t)n, NULL);
    }
  }
  if (fds[0].fd >= 0) {
    close(in);
  }
}

/* Runs `cfwin client` with args (NULL-terminated) and input on stdin. */
static void cli_input(cli_result *r, const char *input, size_t input_len, const char *const *args)
{
  cf_buf_init(&r->out, 64 * 1024 * 1024);
  cf_buf_init(&r->err, 1024 * 1024);
  char **argv = client_argv(args);
  int in[2];
  int out[2];
  int err[2];
  assert_int_equal(pipe2(in, O_CLOEXEC), 0);
  assert_int_equal(pipe2(out, O_CLOEXEC), 0);
  assert_int_equal(pipe2(err, O_CLOEXEC), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    execv(argv[0], argv);
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  close(err[1]);
  signal(SIGPIPE, SIG_IGN);
  pump_pipes(in[1], out[0], err[0], input, input_len, r);
  r->status = wait_status(pid);
  free(argv[3]);
  free(argv);
}

#define CLI(r, ...) cli_input((r), NULL, 0, (const char *const[]){__VA_ARGS__, NULL})
#define CLI_IN(r, input, ...)                                                                      \
  cli_input((r), (input), strlen(input), (const char *const[]){__VA_ARGS__, NULL})

/* Fails with the command's stderr when its status is not expected. */
static void assert_status(const cli_result *r, int expected)
{
  if (r->status != expected) {
    fail_msg("cfwin client exited with %d, expected %d; stdout: %s; stderr: %s", r->status,
             expected, r->out.data != NULL ? r->out.data : "",
             r->err.data != NULL ? r->err.data : "");
  }
}

static void assert_contains(const cf_buf *buf, const char *text)
{
  const char *data = buf->data != NULL ? buf->data : "";
  if (strstr(data, text) == NULL) {
    fail_msg("\"%s\" not found in \"%s\"", text, data);
  }
}

static json_t *parse_json(const cli_result *r)
{
  json_error_t error;
  json_t *value = json_loadb(r->out.data != NULL ? r->out.data : "", r->out.len, 0, &error);
  if (value == NULL) {
    fail_msg("stdout is not JSON (%s): %s", error.text, r->out.data != NULL ? r->out.data : "");
  }
  return value;
}

/* A handle unique to this test program, so that containers of other
 * servers on the host do not collide with it. */
static char *test_handle(const char *name)
{
  return cf_xasprintf("cli-%s-%d", name, (int)getpid());
}

static void create(const char *handle)
{
  cli_result r;
  CLI(&r, "create", "--handle", handle);
  assert_status(&r, 0);
  cli_result_clear(&r);
}

static void destroy(const char *handle)
{
  cli_result r;
  CLI(&r, "destroy", handle);
  assert_status(&r, 0);
  cli_result_clear(&r);
}

/* Skips the test when the server does not implement a route yet. */
static void skip_if_not_implemented(const cli_result *r, const char *handle)
{
  if (r->status != 0 && r->err.data != NULL && strstr(r->err.data, "not implemented") != NULL) {
    fprintf(stderr, "the server does not implement this yet: %s", r->err.data);
    if (handle != NULL) {
      destroy(handle);
    }
    skip();
  }
}

static int setup_server(void **state)
{
  (void)state;
  it_server_prepare(&server);
  server.network = own_network;
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

/* --- usage --- */

static void test_help_per_command(void **state)
{
  (void)state;
  cli_result r;
  CLI(&r, "help", "run");
  assert_status(&r, 0);
  assert_contains(&r.out, "usage: cfwin client");
  assert_contains(&r.out, "--tty");
  cli_result_clear(&r);

  CLI(&r, "create", "--help");
  assert_status(&r, 0);
  assert_contains(&r.out, "--memory SIZE");
  cli_result_clear(&r);

  CLI(&r, "help");
  assert_status(&r, 0);
  assert_contains(&r.out, "stream-out");
  cli_result_clear(&r);
}

static void test_usage_errors_exit_1(void **state)
{
  (void)state;
  cli_result r;
  CLI(&r, "no-such-command");
  assert_status(&r, 1);
  assert_contains(&r.err, "unknown command \"no-such-command\"");
  cli_result_clear(&r);

  CLI(&r, "create", "--no-such-option");
  assert_status(&r, 1);
  assert_contains(&r.err, "unknown option --no-such-option");
  cli_result_clear(&r);

  CLI(&r, "create", "--memory", "12X");
  assert_status(&r, 1);
  assert_contains(&r.err, "invalid --memory \"12X\"");
  cli_result_clear(&r);

  CLI(&r, "create", "--env", "NOVALUE");
  assert_status(&r, 1);
  assert_contains(&r.err, "invalid --env \"NOVALUE\": use KEY=VALUE");
  cli_result_clear(&r);

  CLI(&r, "create", "--bind-mount", "/only-source");
  assert_status(&r, 1);
  assert_contains(&r.err, "invalid --bind-mount \"/only-source\"");
  cli_result_clear(&r);

  CLI(&r, "info");
  assert_status(&r, 1);
  assert_contains(&r.err, "missing arguments");
  cli_result_clear(&r);

  CLI(&r, "run", "some-handle");
  assert_status(&r, 1);
  assert_contains(&r.err, "missing the program");
  cli_result_clear(&r);

  CLI(&r, "limits", "some-handle", "gpu");
  assert_status(&r, 1);
  assert_contains(&r.err, "unknown limit \"gpu\"");
  cli_result_clear(&r);

  CLI(&r, "grace-time", "some-handle", "soon");
  assert_status(&r, 1);
  assert_contains(&r.err, "invalid grace time \"soon\"");
  cli_result_clear(&r);
}

static void test_bad_targets_named(void **state)
{
  (void)state;
  cli_result r;
  const char *argv[] = {binary(), "client", "-t", "no-port-here", "ping", NULL};
  pid_t pid = fork();
  if (pid == 0) {
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    execv(argv[0], (char **)argv);
    _exit(127);
  }
  assert_int_equal(wait_status(pid), 1);

  /* A socket path where nothing listens names the target and the fix. */
  cf_autofree char *missing = cf_xasprintf("unix:%s/absent.sock", server.dir);
  CLI(&r, "-t", missing, "ping");
  assert_status(&r, 1);
  assert_contains(&r.err, "absent.sock");
  assert_contains(&r.err, "CFWIN_TARGET");
  cli_result_clear(&r);
}

/* --- targets --- */

static void test_ping_over_tcp_and_env(void **state)
{
  (void)state;
  cli_result r;
  cf_autofree char *tcp = cf_xasprintf("127.0.0.1:%d", server.port);
  CLI(&r, "-t", tcp, "ping");
  assert_status(&r, 0);
  assert_contains(&r.out, "ok");
  cli_result_clear(&r);

  /* CFWIN_TARGET is used when -t is absent; the later -t wins over the first. */
  cf_autofree char *bad = cf_xasprintf("unix:%s/absent.sock", server.dir);
  CLI(&r, "ping", "--json", "-t", tcp);
  assert_status(&r, 0);
  json_t *pong = parse_json(&r);
  assert_true(json_is_object(pong));
  json_decref(pong);
  cli_result_clear(&r);

  /* A -t after the command chooses the server too: this one has none. */
  CLI(&r, "ping", "-t", bad);
  assert_status(&r, 1);
  assert_contains(&r.err, "absent.sock");
  cli_result_clear(&r);
  /* Nothing after "--" is read as a client option. */
  CLI(&r, "run", "--json", "no-such-handle", "--", "echo", "-t", bad);
  assert_status(&r, 1);
  assert_contains(&r.err, "no-such-handle");
  cli_result_clear(&r);

  cf_autofree char *env = cf_xasprintf("CFWIN_TARGET=%s", bad);
  pid_t pid = fork();
  if (pid == 0) {
    putenv(env);
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    execl(binary(), binary(), "client", "ping", (char *)NULL);
    _exit(127);
  }
  assert_int_equal(wait_status(pid), 1);

  cf_autofree char *good = cf_xasprintf("CFWIN_TARGET=unix:%s", server.socket_path);
  pid = fork();
  if (pid == 0) {
    putenv(good);
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    execl(binary(), binary(), "client", "ping", (char *)NULL);
    _exit(127);
  }
  assert_int_equal(wait_status(pid), 0);
}

static void test_capacity_json(void **state)
{
  (void)state;
  cli_result r;
  CLI(&r, "--json", "capacity");
  assert_status(&r, 0);
  json_t *capacity = parse_json(&r);
  assert_true(json_integer_value(json_object_get(capacity, "memory_in_bytes")) > 0);
  assert_true(json_integer_value(json_object_get(capacity, "disk_in_bytes")) > 0);
  assert_true(json_integer_value(json_object_get(capacity, "max_containers")) > 0);
  json_decref(capacity);
  cli_result_clear(&r);

  CLI(&r, "capacity");
  assert_status(&r, 0);
  assert_contains(&r.out, "max containers");
  cli_result_clear(&r);
}

/* --- containers --- */

static void test_create_list_info_destroy(void **state)
{
  (void)state;
  cf_autofree char *handle = test_handle("life");
  cf_autofree char *owner = cf_xasprintf("owner=%s", handle);
  cli_result r;
  CLI(&r, "create", "--handle", handle, "--property", owner, "--env", "GREETING=hi", "--memory",
      "64M", "--grace-time", "1h");
  assert_status(&r, 0);
  cf_autofree char *line = cf_xasprintf("%s\n", handle);
  assert_string_equal(r.out.data, line);
  cli_result_clear(&r);

  CLI(&r, "list", "--json", "--property", owner);
  assert_status(&r, 0);
  json_t *list = parse_json(&r);
  json_t *handles = json_object_get(list, "Handles");
  assert_int_equal(json_array_size(handles), 1);
  assert_string_equal(json_string_value(json_array_get(handles, 0)), handle);
  json_decref(list);
  cli_result_clear(&r);

  CLI(&r, "list", "--json", "--property", "owner=nobody-has-this");
  assert_status(&r, 0);
  list = parse_json(&r);
  assert_int_equal(json_array_size(json_object_get(list, "Handles")), 0);
  json_decref(list);
  cli_result_clear(&r);

  CLI(&r, "list");
  assert_status(&r, 0);
  assert_contains(&r.out, "HANDLE");
  cf_autofree char *row = cf_xasprintf("%s  active", handle);
  assert_contains(&r.out, row);
  cli_result_clear(&r);

  CLI(&r, "info", handle, "--json");
  assert_status(&r, 0);
  json_t *infos = parse_json(&r);
  json_t *info = json_object_get(infos, handle);
  assert_string_equal(json_string_value(json_object_get(info, "State")), "active");
  json_t *properties = json_object_get(info, "Properties");
  assert_string_equal(json_string_value(json_object_get(properties, "owner")), handle);
  json_decref(infos);
  cli_result_clear(&r);

  CLI(&r, "info", handle);
  assert_status(&r, 0);
  assert_contains(&r.out, "state                    active");
  cli_result_clear(&r);

  CLI(&r, "limits", handle, "memory", "--json");
  assert_status(&r, 0);
  json_t *limits = parse_json(&r);
  json_t *memory = json_object_get(json_object_get(limits, "memory"), "limit_in_bytes");
  assert_int_equal(json_integer_value(memory), 64 * 1024 * 1024);
  json_decref(limits);
  cli_result_clear(&r);

  CLI(&r, "run", handle, "--", "sh", "-c", "echo $GREETING");
  assert_status(&r, 0);
  assert_string_equal(r.out.data, "hi\n");
  cli_result_clear(&r);

  CLI(&r, "destroy", handle);
  assert_status(&r, 0);
  assert_string_equal(r.out.data, line);
  cli_result_clear(&r);

  CLI(&r, "list", "--quiet", "--property", owner);
  assert_status(&r, 0);
  assert_int_equal(r.out.len, 0);
  cli_result_clear(&r);
}

static void test_properties_commands(void **state)
{
  (void)state;
  cf_autofree char *handle = test_handle("props");
  create(handle);
  cli_result r;
  CLI(&r, "properties", handle, "set", "color", "blue green");
  assert_status(&r, 0);
  cli_result_clear(&r);

  CLI(&r, "properties", handle, "get", "color");
  assert_status(&r, 0);
  assert_string_equal(r.out.data, "blue green\n");
  cli_result_clear(&r);

  CLI(&r, "--json", "properties", handle);
  assert_status(&r, 0);
  json_t *properties = parse_json(&r);
  assert_string_equal(json_string_value(json_object_get(properties, "color")), "blue green");
  json_decref(properties);
  cli_result_clear(&r);

  /* After "--" a value may start with a dash. */
  CLI(&r, "properties", handle, "set", "offset", "--", "-5");
  assert_status(&r, 0);
  cli_result_clear(&r);

  CLI(&r, "properties", handle, "get", "offset");
  assert_status(&r, 0);
  assert_string_equal(r.out.data, "-5\n");
  cli_result_clear(&r);

  CLI(&r, "properties", handle, "remove", "color");
  assert_status(&r, 0);
  cli_result_clear(&r);

  CLI(&r, "properties", handle, "get", "color");
  assert_status(&r, 1);
  assert_contains(&r.err, "color");
  cli_result_clear(&r);

  CLI(&r, "properties", handle, "rename", "a", "b");
  assert_status(&r, 1);
  assert_contains(&r.err, "get KEY, set KEY VALUE or remove KEY");
  cli_result_clear(&r);
  destroy(handle);
}

static void test_metrics_and_bulk(void **state)
{
  (void)state;
  cf_autofree char *handle = test_handle("metrics");
  create(handle);
  cli_result r;
  CLI(&r, "--json", "metrics", handle);
  assert_status(&r, 0);
  json_t *all = parse_json(&r);
  json_t *metrics = json_object_get(all, handle);
  assert_true(json_integer_value(json_object_get(metrics, "Age")) > 0);
  assert_non_null(json_object_get(metrics, "MemoryStat"));
  json_decref(all);
  cli_result_clear(&r);

  CLI(&r, "--json", "bulk-info", handle, "cli-no-such-handle");
  assert_status(&r, 0);
  json_t *bulk = parse_json(&r);
  json_t *entry = json_object_get(bulk, handle);
  assert_string_equal(json_string_value(json_object_get(json_object_get(entry, "Info"), "State")),
                      "active");
  json_t *missing = json_object_get(json_object_get(bulk, "cli-no-such-handle"), "Err");
  assert_true(json_is_object(missing));
  json_decref(bulk);
  cli_result_clear(&r);

  CLI(&r, "bulk-metrics", handle);
  assert_status(&r, 0);
  assert_contains(&r.out, "memory usage");
  cli_result_clear(&r);

  CLI(&r, "bulk-info", handle, "cli-no-such-handle");
  assert_status(&r, 1);
  assert_contains(&r.err, "cli-no-such-handle");
  cli_result_clear(&r);
  destroy(handle);
}

static void test_unknown_handle_errors(void **state)
{
  (void)state;
  const char *commands[][5] = {
      {"info", "cli-missing", NULL, NULL},       {"destroy", "cli-missing", NULL, NULL},
      {"metrics", "cli-missing", NULL, NULL},    {"limits", "cli-missing", NULL, NULL},
      {"properties", "cli-missing", NULL, NULL}, {"attach", "cli-missing", "some-process", NULL},
      {"run", "cli-missing", "--", "true"},
  };
  for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
    cli_result r;
    cli_input(&r, NULL, 0, commands[i]);
    assert_status(&r, 1);
    assert_contains(&r.err, "unknown handle: cli-missing");
    assert_contains(&r.err, "cfwin client list");
    cli_result_clear(&r);
  }
}

/* --- processes --- */

static void test_run_passes_streams_and_status(void **state)
{
  (void)state;
  cf_autofree char *handle = test_handle("run");
  create(handle);
  cli_result r;
  CLI_IN(&r, "hello\n", "run", handle, "--", "sh", "-c", "cat; echo oops >&2; exit 7");
  assert_status(&r, 7);
  assert_string_equal(r.out.data, "hello\n");
  assert_string_equal(r.err.data, "oops\n");
  cli_result_clear(&r);

  CLI(&r, "run", handle, "--env", "A=1", "--env", "B=two", "--dir", "/tmp", "--", "sh", "-c",
      "echo $A $B; pwd");
  assert_status(&r, 0);
  assert_string_equal(r.out.data, "1 two\n/tmp\n");
  cli_result_clear(&r);

  CLI(&r, "run", handle, "--user", "nobody", "--", "id", "-un");
  assert_status(&r, 0);
  assert_string_equal(r.out.data, "nobody\n");
  cli_result_clear(&r);

  CLI(&r, "run", handle, "--", "no-such-program");
  assert_status(&r, 1);
  assert_contains(&r.err, "no-such-program");
  cli_result_clear(&r);

  CLI(&r, "run", handle, "--", "sh", "-c", "kill -9 $$");
  assert_status(&r, 137);
  cli_result_clear(&r);
  destroy(handle);
}

/* A megabyte of stdin in many reads, with multibyte characters that reads
 * may cut, arrives whole. */
static void test_run_large_stdin(void **state)
{
  (void)state;
  cf_autofree char *handle = test_handle("stdin");
  create(handle);
  size_t len = 1024 * 1024;
  char *input = cf_xmalloc(len + 1);
  for (size_t i = 0; i < len; i += 4) {
    memcpy(input + i,
           (i / 4) % 7 == 0 ? "\xc3\xa9\n"
                              "a"
                            : "abc\n",
           4);
  }
  input[len] = '\0';
  size_t accents = 0;
  for (const char *p = input; (p = strstr(p, "\xc3\xa9")) != NULL; p += 2) {
    accents++;
  }
  cf_autofree char *expected_lines = cf_xasprintf("%zu\n", accents);
  cli_result r;
  cli_input(&r, input, len,
            (const char *const[]){"run", handle, "--", "grep", "-c", "\xc3\xa9", NULL});
  assert_status(&r, 0);
  assert_string_equal(r.out.data, expected_lines);
  cli_result_clear(&r);

  cli_input(&r, input, len, (const char *const[]){"run", handle, "--", "wc", "-c", NULL});
  assert_status(&r, 0);
  assert_string_equal(r.out.data, "1048576\n");
  cli_result_clear(&r);
  free(input);
  destroy(handle);
}

/* Reads from fd until text appears in buf or the fd ends. */
static bool read_until(int fd, cf_buf *buf, const char *text)
{
  char chunk[4096];
  while (buf->data == NULL || strstr(buf->data, text) == NULL) {
    ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n <= 0) {
      return false;
    }
    cf_buf_append(buf, chunk, (size_t)n, NULL);
  }
  return true;
}

static void test_detach_then_attach(void **state)
{
  (void)state;
  cf_autofree char *handle = test_handle("attach");
  create(handle);
  cli_result r;
  CLI(&r, "run", handle, "--detach", "--id", "ticker", "--", "sh", "-c",
      "while [ ! -e /tmp/go ]; do echo tick; sleep 0.1; done; echo done; exit 3");
  assert_status(&r, 0);
  assert_string_equal(r.out.data, "ticker\n");
  cli_result_clear(&r);

  /* The attach runs in the background. Once its output shows a tick it is
   * attached, and a file that the process waits for makes it finish. */
  int out[2];
  assert_int_equal(pipe2(out, O_CLOEXEC), 0);
  char **argv = client_argv((const char *const[]){"attach", handle, "ticker", NULL});
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], 1);
    execv(argv[0], argv);
    _exit(127);
  }
  close(out[1]);
  cf_buf seen;
  cf_buf_init(&seen, 1024 * 1024);
  assert_true(read_until(out[0], &seen, "tick\n"));
  CLI(&r, "run", handle, "--", "touch", "/tmp/go");
  assert_status(&r, 0);
  cli_result_clear(&r);
  assert_true(read_until(out[0], &seen, "done\n"));
  assert_int_equal(wait_status(pid), 3);
  close(out[0]);
  cf_buf_free(&seen);
  free(argv[3]);
  free(argv);

  CLI(&r, "attach", handle, "no-such-process");
  assert_status(&r, 1);
  assert_contains(&r.err, "unknown process: no-such-process");
  cli_result_clear(&r);
  destroy(handle);
}

/* SIGINT to the client reaches the process as SIGTERM, and the client
 * still exits with the process's status. */
static void test_interrupt_sent_as_term(void **state)
{
  (void)state;
  cf_autofree char *handle = test_handle("signal");
  create(handle);
  const char *script = "trap 'echo got term; exit 9' TERM; echo ready; i=0; "
                       "while [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done; exit 1";
  char **argv = client_argv((const char *const[]){"run", handle, "--", "sh", "-c", script, NULL});
  int out[2];
  assert_int_equal(pipe2(out, O_CLOEXEC), 0);
  pid_t pid = fork();
  if (pid == 0) {
    /* A runner may start tests with SIGINT ignored, and the client keeps
     * an ignored signal ignored. */
    signal(SIGINT, SIG_DFL);
    int null = open("/dev/null", O_RDONLY);
    dup2(null, 0);
    dup2(out[1], 1);
    execv(argv[0], argv);
    _exit(127);
  }
  close(out[1]);
  cf_buf seen;
  cf_buf_init(&seen, 1024 * 1024);
  assert_true(read_until(out[0], &seen, "ready\n"));
  assert_int_equal(kill(pid, SIGINT), 0);
  assert_true(read_until(out[0], &seen, "got term\n"));
  assert_int_equal(wait_status(pid), 9);
  close(out[0]);
  cf_buf_free(&seen);
  free(argv[3]);
  free(argv);
  destroy(handle);
}

/* Runs `cfwin client run --tty` with a pseudo-terminal of 33 rows and 99
 * columns as its stdin, stdout and stderr. The process prints its size,
 * waits for a line, then for its size to change, and prints it again: the
 * test makes the terminal 40x120 in between. Returns the exit status and
 * what the terminal showed. */
static int run_in_pty(const char *handle, cf_buf *shown)
{
  int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  assert_true(master >= 0);
  assert_int_equal(grantpt(master), 0);
  assert_int_equal(unlockpt(master), 0);
  struct winsize size = {.ws_row = 33, .ws_col = 99};
  assert_int_equal(ioctl(master, TIOCSWINSZ, &size), 0);
  /* The loop gives up after 600 rounds, so a lost resize fails the test
   * instead of hanging it. */
  const char *script = "stty size; read line; i=0; "
                       "while [ \"$(stty size)\" = \"33 99\" ] && [ $i -lt 600 ]; do "
                       "sleep 0.1; i=$((i + 1)); done; stty size; exit 4";
  char **argv =
      client_argv((const char *const[]){"run", "--tty", handle, "--", "sh", "-c", script, NULL});
  const char *slave_name = ptsname(master);
  pid_t pid = fork();
  if (pid == 0) {
    setsid();
    int slave = open(slave_name, O_RDWR);
    ioctl(slave, TIOCSCTTY, 0);
    dup2(slave, 0);
    dup2(slave, 1);
    dup2(slave, 2);
    execv(argv[0], argv);
    _exit(127);
  }
  /* The first size shows that the process runs; the resize then reaches
   * the client as SIGWINCH, and the line lets the process go on. */
  if (read_until(master, shown, "33 99")) {
    struct winsize bigger = {.ws_row = 40, .ws_col = 120};
    assert_int_equal(ioctl(master, TIOCSWINSZ, &bigger), 0);
    assert_int_equal(write(master, "\r", 1), 1);
  }
  char chunk[4096];
  for (;;) {
    ssize_t n = read(master, chunk, sizeof(chunk));
    if (n <= 0) {
      break; /* EIO once the client, the only user of the slave, has exited */
    }
    cf_buf_append(shown, chunk, (size_t)n, NULL);
  }
  close(master);
  free(argv[3]);
  free(argv);
  return wait_status(pid);
}

static void test_tty_run_through_pty(void **state)
{
  (void)state;
  cf_autofree char *handle = test_handle("tty");
  create(handle);
  cli_result probe;
  CLI(&probe, "run", "--tty", handle, "--", "true");
  skip_if_not_implemented(&probe, handle);
  assert_status(&probe, 0);
  cli_result_clear(&probe);

  cf_buf shown;
  cf_buf_init(&shown, 1024 * 1024);
  int status = run_in_pty(handle, &shown);
  assert_int_equal(status, 4);
  assert_contains(&shown, "33 99");
  assert_contains(&shown, "40 120");
  cf_buf_free(&shown);
  destroy(handle);
}

/* --- files --- */

/* Writes a tar archive holding one regular file into out. */
static void make_tar(cf_buf *out, const char *name, const char *content)
{
  size_t size = 64 * 1024;
  char *memory = cf_xmalloc(size);
  size_t used = 0;
  struct archive *tar = archive_write_new();
  assert_int_equal(archive_write_set_format_pax_restricted(tar), ARCHIVE_OK);
  assert_int_equal(archive_write_open_memory(tar, memory, size, &used), ARCHIVE_OK);
  struct archive_entry *entry = archive_entry_new();
  archive_entry_set_pathname(entry, name);
  archive_entry_set_filetype(entry, AE_IFREG);
  archive_entry_set_perm(entry, 0644);
  archive_entry_set_size(entry, (la_int64_t)strlen(content));
  assert_int_equal(archive_write_header(tar, entry), ARCHIVE_OK);
  assert_int_equal(archive_write_data(tar, content, strlen(content)), (la_ssize_t)strlen(content));
  archive_entry_free(entry);
  assert_int_equal(archive_write_close(tar), ARCHIVE_OK);
  archive_write_free(tar);
  cf_buf_append(out, memory, used, NULL);
  free(memory);
}

/* Finds the entry called name in a tar archive and copies its content. */
static bool read_tar_entry(const cf_buf *archive_data, const char *name, cf_buf *content)
{
  struct archive *tar = archive_read_new();
  archive_read_support_format_tar(tar);
  assert_int_equal(archive_read_open_memory(tar, archive_data->data, archive_data->len),
                   ARCHIVE_OK);
  struct archive_entry *entry = NULL;
  bool found = false;
  while (!found && archive_read_next_header(tar, &entry) == ARCHIVE_OK) {
    if (strcmp(archive_entry_pathname(entry), name) != 0) {
      continue;
    }
    char chunk[4096];
    la_ssize_t n;
    while ((n = archive_read_data(tar, chunk, sizeof(chunk))) > 0) {
      cf_buf_append(content, chunk, (size_t)n, NULL);
    }
    found = true;
  }
  archive_read_free(tar);
  return found;
}

static void test_stream_in_and_out(void **state)
{
  (void)state;
  cf_autofree char *handle = test_handle("files");
  create(handle);
  cf_buf tar;
  cf_buf_init(&tar, 1024 * 1024);
  make_tar(&tar, "hello.txt", "streamed\n");
  cli_result r;
  cli_input(&r, tar.data, tar.len,
            (const char *const[]){"stream-in", handle, "--to", "/data/in", NULL});
  skip_if_not_implemented(&r, handle);
  assert_status(&r, 0);
  cli_result_clear(&r);
  cf_buf_free(&tar);

  CLI(&r, "run", handle, "--", "cat", "/data/in/hello.txt");
  assert_status(&r, 0);
  assert_string_equal(r.out.data, "streamed\n");
  cli_result_clear(&r);

  /* Without a trailing slash the archive contains the directory itself. */
  CLI(&r, "stream-out", handle, "--from", "/data/in");
  assert_status(&r, 0);
  cf_buf content;
  cf_buf_init(&content, 1024);
  assert_true(read_tar_entry(&r.out, "in/hello.txt", &content));
  assert_string_equal(content.data, "streamed\n");
  cf_buf_free(&content);
  cli_result_clear(&r);

  CLI(&r, "stream-out", handle, "--from", "/no/such/path");
  assert_status(&r, 1);
  assert_contains(&r.err, "/no/such/path");
  cli_result_clear(&r);

  CLI(&r, "stream-in", handle);
  assert_status(&r, 1);
  assert_contains(&r.err, "missing --to PATH");
  cli_result_clear(&r);

  /* Ten bytes are no tar archive. */
  CLI_IN(&r, "not a tar!", "stream-in", handle, "--to", "/data/bad");
  assert_status(&r, 1);
  assert_contains(&r.err, "stream into");
  cli_result_clear(&r);
  destroy(handle);
}

/* --- stop, grace time, network --- */

static void test_stop_and_grace_time(void **state)
{
  (void)state;
  cf_autofree char *handle = test_handle("stop");
  create(handle);
  cli_result r;
  CLI(&r, "grace-time", handle, "1h");
  skip_if_not_implemented(&r, handle);
  assert_status(&r, 0);
  cli_result_clear(&r);

  CLI(&r, "stop", handle, "--kill");
  skip_if_not_implemented(&r, handle);
  assert_status(&r, 0);
  cli_result_clear(&r);

  CLI(&r, "--json", "info", handle);
  assert_status(&r, 0);
  json_t *infos = parse_json(&r);
  json_t *state_value = json_object_get(json_object_get(infos, handle), "State");
  assert_string_equal(json_string_value(state_value), "stopped");
  json_decref(infos);
  cli_result_clear(&r);
  destroy(handle);
}

/* NetIn and NetOut need the container network, which the server makes
 * only when the test runs in a network namespace of its own. */
static void test_net_in_and_out(void **state)
{
  (void)state;
  if (!own_network) {
    skip();
  }
  cf_autofree char *handle = test_handle("net");
  cli_result r;
  CLI(&r, "create", "--handle", handle, "--net-in", "0:9090");
  assert_status(&r, 0);
  cli_result_clear(&r);

  CLI(&r, "--json", "net-in", handle, "--container-port", "8080");
  assert_status(&r, 0);
  json_t *ports = parse_json(&r);
  json_int_t host_port = json_integer_value(json_object_get(ports, "host_port"));
  assert_true(host_port > 0);
  assert_int_equal(json_integer_value(json_object_get(ports, "container_port")), 8080);
  json_decref(ports);
  cli_result_clear(&r);

  CLI(&r, "--json", "info", handle);
  assert_status(&r, 0);
  json_t *infos = parse_json(&r);
  json_t *mapped = json_object_get(json_object_get(infos, handle), "MappedPorts");
  bool found_8080 = false;
  bool found_9090 = false;
  size_t i;
  json_t *port;
  json_array_foreach(mapped, i, port)
  {
    json_int_t container = json_integer_value(json_object_get(port, "ContainerPort"));
    json_int_t host = json_integer_value(json_object_get(port, "HostPort"));
    found_8080 = found_8080 || (container == 8080 && host == host_port);
    found_9090 = found_9090 || container == 9090;
  }
  assert_true(found_8080);
  assert_true(found_9090);
  json_decref(infos);
  cli_result_clear(&r);

  CLI(&r, "net-in", handle, "--container-port", "8081");
  assert_status(&r, 0);
  assert_contains(&r.out, "-> container port 8081");
  cli_result_clear(&r);

  CLI(&r, "net-out", handle, "--protocol", "tcp", "--network", "10.0.0.1-10.0.0.9", "--port",
      "80-90", "--log");
  assert_status(&r, 0);
  cli_result_clear(&r);

  CLI(&r, "net-out", handle, "--protocol", "icmp", "--network", "10.0.0.1", "--icmp-type", "8",
      "--icmp-code", "0");
  assert_status(&r, 0);
  cli_result_clear(&r);

  CLI(&r, "list");
  assert_status(&r, 0);
  cf_autofree char *with_ip = cf_xasprintf("%s  active    10.", handle);
  assert_contains(&r.out, with_ip);
  cli_result_clear(&r);
  destroy(handle);
}

static void test_net_commands_report_errors(void **state)
{
  (void)state;
  cli_result r;
  CLI(&r, "net-in", "cli-missing", "--container-port", "8080");
  assert_status(&r, 1);
  assert_contains(&r.err, "cli-missing");
  cli_result_clear(&r);

  CLI(&r, "net-in", "cli-missing", "--host-port", "70000");
  assert_status(&r, 1);
  assert_contains(&r.err, "invalid --host-port \"70000\"");
  cli_result_clear(&r);

  CLI(&r, "net-out", "cli-missing", "--protocol", "sctp");
  assert_status(&r, 1);
  assert_contains(&r.err, "invalid --protocol \"sctp\"");
  cli_result_clear(&r);

  CLI(&r, "net-out", "cli-missing", "--protocol", "tcp", "--network", "10.0.0.1-10.0.0.9", "--port",
      "80-90");
  assert_status(&r, 1);
  assert_contains(&r.err, "cli-missing");
  cli_result_clear(&r);
}

/* --- TLS --- */

static int run_shell(const char *script)
{
  char *argv[] = {"/bin/sh", "-c", (char *)script, NULL};
  return it_run_command(argv);
}

/* Makes a CA, a server certificate for "localhost" and a client
 * certificate, both signed by the CA, in dir. */
static void make_certificates(const char *dir)
{
  cf_autofree char *script = cf_xasprintf(
      "set -e; cd %s; "
      "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=cli-ca -keyout ca.key "
      "  -out ca.pem 2>/dev/null; "
      "printf 'subjectAltName=DNS:localhost\\n' > san.ext; "
      "sign() { openssl req -newkey rsa:2048 -nodes -subj /CN=$2 -keyout $1.key -out $1.csr "
      "  2>/dev/null; openssl x509 -req -in $1.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
      "  -days 2 $3 -out $1.pem 2>/dev/null; }; "
      "sign server localhost '-extfile san.ext'; sign client cli-client ''",
      dir);
  if (run_shell(script) != 0) {
    fail_msg("openssl could not make the test certificates in %s", dir);
  }
}

static int free_tcp_port(void)
{
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof(addr);
  assert_true(fd >= 0);
  assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&addr, &len), 0);
  close(fd);
  return ntohs(addr.sin_port);
}

/* A second server whose TCP listener speaks only TLS; its plain unix
 * socket shows when it is up. */
typedef struct tls_server {
  char *dir;
  char *socket_path;
  int port;
  pid_t pid;
} tls_server;

static void start_tls_server(tls_server *tls)
{
  tls->dir = cf_path_join(server.dir, "tls");
  tls->socket_path = cf_path_join(tls->dir, "garden.sock");
  tls->port = free_tcp_port();
  assert_int_equal(cf_mkdir_p(tls->dir, 0700, NULL), 0);
  make_certificates(tls->dir);
  cf_autofree char *port = cf_xasprintf("%d", tls->port);
  cf_autofree char *depot = cf_path_join(tls->dir, "depot");
  cf_autofree char *rootfs = cf_xasprintf("oci://%s:latest", server.image_dir);
  cf_autofree char *cert = cf_path_join(tls->dir, "server.pem");
  cf_autofree char *key = cf_path_join(tls->dir, "server.key");
  cf_autofree char *ca = cf_path_join(tls->dir, "ca.pem");
  cf_autofree char *log = cf_path_join(tls->dir, "server.log");
  tls->pid = fork();
  assert_true(tls->pid >= 0);
  if (tls->pid == 0) {
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    execl(binary(), binary(), "serve", "--bind-ip", "127.0.0.1", "--bind-port", port,
          "--bind-socket", tls->socket_path, "--depot", depot, "--default-rootfs", rootfs,
          "--tls-cert", cert, "--tls-key", key, "--tls-ca", ca, "--disable-network", (char *)NULL);
    _exit(127);
  }
  cf_garden_client plain;
  assert_int_equal(cf_garden_client_init(&plain, tls->socket_path, NULL), 0);
  bool up = false;
  for (int attempt = 0; attempt < 600 && !up; attempt++) {
    up = cf_garden_client_ping(&plain, NULL) == 0;
    if (!up) {
      usleep(50 * 1000);
    }
  }
  cf_garden_client_clear(&plain);
  if (!up) {
    fail_msg("the TLS server did not answer ping on its unix socket; see %s", log);
  }
}

static void stop_tls_server(tls_server *tls)
{
  kill(tls->pid, SIGTERM);
  assert_int_equal(wait_status(tls->pid), 0);
  free(tls->dir);
  free(tls->socket_path);
}

/* Runs `cfwin client` against the TLS listener with the given options
 * before the command. */
static void cli_tls(cli_result *r, const tls_server *tls, const char *const *args)
{
  cf_autofree char *target = cf_xasprintf("127.0.0.1:%d", tls->port);
  cf_autofree char *ca = cf_path_join(tls->dir, "ca.pem");
  cf_autofree char *cert = cf_path_join(tls->dir, "client.pem");
  cf_autofree char *key = cf_path_join(tls->dir, "client.key");
  const char *full[32] = {"-t", target, "--tls-ca", ca, "--tls-cert", cert, "--tls-key", key};
  size_t n = 8;
  for (size_t i = 0; args[i] != NULL && n < 31; i++) {
    full[n++] = args[i];
  }
  full[n] = NULL;
  cli_input(r, NULL, 0, full);
}

static void test_tls_target(void **state)
{
  (void)state;
  if (run_shell("command -v openssl >/dev/null") != 0) {
    skip();
  }
  tls_server tls;
  start_tls_server(&tls);
  cf_autofree char *handle = test_handle("tls");
  cli_result r;
  cli_tls(
      &r, &tls,
      (const char *const[]){"--tls-server-name", "localhost", "create", "--handle", handle, NULL});
  assert_status(&r, 0);
  cli_result_clear(&r);

  /* Run uses three connections, each with its own TLS session. */
  cli_tls(&r, &tls,
          (const char *const[]){"--tls-server-name", "localhost", "run", handle, "--", "sh", "-c",
                                "echo over tls; echo err >&2; exit 6", NULL});
  assert_status(&r, 6);
  assert_string_equal(r.out.data, "over tls\n");
  assert_string_equal(r.err.data, "err\n");
  cli_result_clear(&r);

  /* The certificate names localhost, not the address 127.0.0.1. */
  cli_tls(&r, &tls, (const char *const[]){"ping", NULL});
  assert_status(&r, 1);
  assert_contains(&r.err, "TLS handshake");
  /* The message names the handshake once, not once per layer. */
  const char *first = strstr(r.err.data, "TLS handshake");
  if (strstr(first + 1, "TLS handshake") != NULL) {
    fail_msg("repeated prefix in \"%s\"", r.err.data);
  }
  cli_result_clear(&r);

  /* Plain HTTP to the TLS listener fails, with a hint to use TLS. */
  cf_autofree char *target = cf_xasprintf("127.0.0.1:%d", tls.port);
  CLI(&r, "-t", target, "ping");
  assert_status(&r, 1);
  assert_contains(&r.err, "pass --tls-ca");
  cli_result_clear(&r);

  /* Without a client certificate the server ends the session; the hint
   * names the flags. */
  cf_autofree char *ca = cf_path_join(tls.dir, "ca.pem");
  CLI(&r, "-t", target, "--tls-ca", ca, "--tls-server-name", "localhost", "ping");
  assert_status(&r, 1);
  assert_contains(&r.err, "pass --tls-cert and --tls-key");
  cli_result_clear(&r);

  CLI(&r, "-t", target, "--tls-cert", "/nonexistent.pem", "ping");
  assert_status(&r, 1);
  assert_contains(&r.err, "--tls-ca is missing");
  cli_result_clear(&r);

  cli_tls(&r, &tls,
          (const char *const[]){"--tls-server-name", "localhost", "destroy", handle, NULL});
  assert_status(&r, 0);
  cli_result_clear(&r);
  stop_tls_server(&tls);
}

/* Moves this program into a new network namespace with loopback up, so
 * that the server's bridge and nftables table stay out of the host's. */
static bool enter_own_network(void)
{
  if (unshare(CLONE_NEWNET) < 0) {
    fprintf(stderr, "cannot unshare a network namespace (%s); net-in and net-out are skipped\n",
            strerror(errno));
    return false;
  }
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct ifreq request = {0};
  snprintf(request.ifr_name, sizeof(request.ifr_name), "lo");
  bool up = fd >= 0 && ioctl(fd, SIOCGIFFLAGS, &request) == 0;
  request.ifr_flags |= IFF_UP;
  up = up && ioctl(fd, SIOCSIFFLAGS, &request) == 0;
  if (fd >= 0) {
    close(fd);
  }
  if (!up) {
    fprintf(stderr, "cannot bring up loopback in the new network namespace\n");
    exit(1);
  }
  return true;
}

int main(void)
{
  it_require_root();
  own_network = enter_own_network();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_help_per_command),
      cmocka_unit_test(test_usage_errors_exit_1),
      cmocka_unit_test(test_bad_targets_named),
      cmocka_unit_test(test_ping_over_tcp_and_env),
      cmocka_unit_test(test_capacity_json),
      cmocka_unit_test_setup_teardown(test_create_list_info_destroy, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_properties_commands, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_metrics_and_bulk, take_snapshot, check_leaks),
      cmocka_unit_test(test_unknown_handle_errors),
      cmocka_unit_test_setup_teardown(test_run_passes_streams_and_status, take_snapshot,
                                      check_leaks),
      cmocka_unit_test_setup_teardown(test_run_large_stdin, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_detach_then_attach, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_interrupt_sent_as_term, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_tty_run_through_pty, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_stream_in_and_out, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_stop_and_grace_time, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_net_in_and_out, take_snapshot, check_leaks),
      cmocka_unit_test(test_net_commands_report_errors),
      cmocka_unit_test_setup_teardown(test_tls_target, take_snapshot, check_leaks),
  };
  return cmocka_run_group_tests(tests, setup_server, teardown_server);
}
