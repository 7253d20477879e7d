/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Processes with a terminal through `cfwin runtime`: the test gives the
 * runtime a pseudo-terminal of its own as stdin and stdout, as a user's
 * shell would, and talks to the container's process through it. Covers the
 * terminal's name and size, echo, resizing through SIGWINCH, exit
 * statuses, the slave's owner, user namespaces, the console socket, the
 * errors for detached processes, and processes without a terminal. Every
 * test ends with the fixture's leak check.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <pty.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/mem.h"
#include "busybox_rootfs.h"
#include "fixture.h"

/* How long one read waits for expected output before the test fails; it
 * only keeps a broken runtime from hanging the suite. */
#define READ_BOUND_MS 30000

/* The user namespace map of the unprivileged test. */
#define MAPPED_ROOT 100000
#define MAPPED_SIZE 65536

static it_server server; /* only its directory and leak marker are used */
static char *rootfs;     /* shared busybox root directory */
static char *state_root; /* --root */
static int bundle_serial;

static const char *binary(void)
{
  const char *value = getenv("CFWIN_BINARY");
  return value != NULL && value[0] != '\0' ? value : "build/cfwin";
}

/* ---- the runtime on a pseudo-terminal ---- */

/* A runtime whose stdin and stdout are the slave of a pty the test owns;
 * its stderr is a pipe. */
typedef struct attached {
  pid_t pid;
  int master;   /* the test's side of the runtime's terminal */
  int err_read; /* the runtime's stderr */
  cf_buf out;   /* everything read from master so far */
} attached;

/* Builds `cfwin runtime --root ROOT ARGS...` as a NULL-terminated array. */
static const char **runtime_argv(const char *const *args)
{
  size_t n = 0;
  while (args[n] != NULL) {
    n++;
  }
  const char **argv = cf_xcalloc(n + 5, sizeof(char *));
  argv[0] = binary();
  argv[1] = "runtime";
  argv[2] = "--root";
  argv[3] = state_root;
  memcpy(argv + 4, args, n * sizeof(char *));
  return argv;
}

static void start_attached(attached *a, unsigned short rows, unsigned short columns,
                           const char *const *args)
{
  int slave = -1;
  struct winsize size = {.ws_row = rows, .ws_col = columns};
  assert_int_equal(openpty(&a->master, &slave, NULL, NULL, &size), 0);
  int err_pipe[2];
  assert_int_equal(pipe2(err_pipe, O_CLOEXEC), 0);
  const char **argv = runtime_argv(args);
  a->pid = fork();
  assert_true(a->pid >= 0);
  if (a->pid == 0) {
    setsid();
    dup2(slave, 0);
    dup2(slave, 1);
    dup2(err_pipe[1], 2);
    execv(argv[0], (char **)argv);
    _exit(127);
  }
  free(argv);
  close(slave);
  close(err_pipe[1]);
  a->err_read = err_pipe[0];
  cf_buf_init(&a->out, 16 * 1024 * 1024);
  fcntl(a->master, F_SETFD, FD_CLOEXEC);
}

#define START_ATTACHED(a, rows, columns, ...)                                                      \
  start_attached(a, rows, columns, (const char *const[]){__VA_ARGS__, NULL})

/* Reads from the master once; returns false at end of file or EIO, which
 * the master reports once the runtime has closed the slave. */
static bool read_some(attached *a)
{
  struct pollfd fd = {.fd = a->master, .events = POLLIN};
  int ready = poll(&fd, 1, READ_BOUND_MS);
  if (ready == 0) {
    fail_msg("no output from the runtime within %d ms; so far: \"%s\"", READ_BOUND_MS,
             a->out.data != NULL ? a->out.data : "");
  }
  char chunk[4096];
  ssize_t n = read(a->master, chunk, sizeof(chunk));
  if (n <= 0) {
    return false;
  }
  cf_buf_append(&a->out, chunk, (size_t)n, NULL);
  return true;
}

/* Reads until the output contains text. */
static void read_until(attached *a, const char *text)
{
  while (a->out.data == NULL || strstr(a->out.data, text) == NULL) {
    if (!read_some(a)) {
      fail_msg("the runtime's output ended without \"%s\": \"%s\"", text,
               a->out.data != NULL ? a->out.data : "");
    }
  }
}

static void type_text(attached *a, const char *text)
{
  assert_int_equal(cf_write_all(a->master, text, strlen(text), NULL), 0);
}

static char *read_all_fd(int fd)
{
  cf_buf buf;
  cf_buf_init(&buf, 1024 * 1024);
  char chunk[4096];
  ssize_t n;
  while ((n = read(fd, chunk, sizeof(chunk))) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0) {
      cf_buf_append(&buf, chunk, (size_t)n, NULL);
    }
  }
  char *text = cf_buf_take(&buf);
  return text != NULL ? text : cf_xstrdup("");
}

/* Reads the rest of the output, waits for the runtime and returns its exit
 * status; *err_text gets its stderr. The master stays open. */
static int finish_attached(attached *a, char **err_text)
{
  while (read_some(a)) {
  }
  *err_text = read_all_fd(a->err_read);
  close(a->err_read);
  int status = 0;
  while (waitpid(a->pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void close_attached(attached *a)
{
  close(a->master);
  cf_buf_free(&a->out);
}

/* ---- plain runs ---- */

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

static result run_runtime(const char *const *args)
{
  int out_pipe[2];
  int err_pipe[2];
  assert_int_equal(pipe2(out_pipe, O_CLOEXEC), 0);
  assert_int_equal(pipe2(err_pipe, O_CLOEXEC), 0);
  const char **argv = runtime_argv(args);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(open("/dev/null", O_RDONLY), 0);
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    execv(argv[0], (char **)argv);
    _exit(127);
  }
  free(argv);
  close(out_pipe[1]);
  close(err_pipe[1]);
  /* The outputs are small, so reading one pipe after the other cannot
   * block the runtime. */
  result r = {.out = read_all_fd(out_pipe[0]), .err = read_all_fd(err_pipe[0])};
  close(out_pipe[0]);
  close(err_pipe[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

#define RT(...) run_runtime((const char *const[]){__VA_ARGS__, NULL})

#define RT_OK(...)                                                                                 \
  do {                                                                                             \
    result ok_ = RT(__VA_ARGS__);                                                                  \
    if (ok_.status != 0) {                                                                         \
      fail_msg("runtime command failed with %d: %s", ok_.status, ok_.err);                         \
    }                                                                                              \
    result_clear(&ok_);                                                                            \
  } while (0)

static void assert_contains(const char *text, const char *part)
{
  if (strstr(text, part) == NULL) {
    fail_msg("\"%s\" does not contain \"%s\"", text, part);
  }
}

/* ---- bundles ---- */

static char *bundle_dir(const char *id)
{
  cf_autofree char *parent = cf_xasprintf("%s/bundles/%d", server.dir, ++bundle_serial);
  assert_int_equal(cf_mkdir_p(parent, 0755, NULL), 0);
  char *dir = cf_path_join(parent, id);
  assert_int_equal(mkdir(dir, 0755), 0);
  return dir;
}

/* runc spec's default mounts (cgroup left out), devpts with gid 5. */
static json_t *default_mounts(void)
{
  return json_pack(
      "[{s:s, s:s, s:s}, {s:s, s:s, s:s, s:[s,s,s,s]}, {s:s, s:s, s:s, s:[s,s,s,s,s,s]},"
      " {s:s, s:s, s:s, s:[s,s,s,s,s]}, {s:s, s:s, s:s, s:[s,s,s,s]}]",
      "destination", "/proc", "type", "proc", "source", "proc", "destination", "/dev", "type",
      "tmpfs", "source", "tmpfs", "options", "nosuid", "strictatime", "mode=755", "size=65536k",
      "destination", "/dev/pts", "type", "devpts", "source", "devpts", "options", "nosuid",
      "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5", "destination", "/dev/shm",
      "type", "tmpfs", "source", "shm", "options", "nosuid", "noexec", "nodev", "mode=1777",
      "size=65536k", "destination", "/sys", "type", "sysfs", "source", "sysfs", "options", "nosuid",
      "noexec", "nodev", "ro");
}

/* A runc-style config running `sh -c SCRIPT`; console_height 0 leaves
 * consoleSize out. */
static json_t *tty_config(const char *script, bool terminal, int console_height, int console_width)
{
  json_t *config =
      json_pack("{s:s, s:{s:b, s:{s:i, s:i}, s:[s,s,s], s:[s,s], s:s}, s:{s:s, s:b}, s:s,"
                " s:o, s:{s:[{s:s}, {s:s}, {s:s}, {s:s}, {s:s}]}}",
                "ociVersion", "1.0.2-dev", "process", "terminal", terminal, "user", "uid", 0, "gid",
                0, "args", "sh", "-c", script, "env", "PATH=/bin", "TERM=xterm", "cwd", "/", "root",
                "path", rootfs, "readonly", 0, "hostname", "tty-test", "mounts", default_mounts(),
                "linux", "namespaces", "type", "pid", "type", "network", "type", "ipc", "type",
                "uts", "type", "mount");
  if (console_height > 0) {
    json_object_set_new(json_object_get(config, "process"), "consoleSize",
                        json_pack("{s:i, s:i}", "height", console_height, "width", console_width));
  }
  return config;
}

static char *write_bundle(const char *id, json_t *config)
{
  char *dir = bundle_dir(id);
  cf_autofree char *path = cf_path_join(dir, "config.json");
  assert_int_equal(json_dump_file(config, path, JSON_INDENT(2)), 0);
  json_decref(config);
  return dir;
}

/* ---- setup ---- */

static void delete_leftovers(void)
{
  result r = RT("list", "-q");
  char *save = NULL;
  for (char *id = strtok_r(r.out, "\n", &save); id != NULL; id = strtok_r(NULL, "\n", &save)) {
    fprintf(stderr, "deleting leftover container %s\n", id);
    result d = RT("delete", "--force", id);
    result_clear(&d);
  }
  result_clear(&r);
}

static int setup_suite(void **state)
{
  (void)state;
  it_server_prepare(&server);
  setenv("CFWIN_IT_MARKER", server.dir, 1);
  rootfs = cf_path_join(server.dir, "rootfs");
  state_root = cf_path_join(server.dir, "state");
  cf_err *err = NULL;
  if (cf_busybox_rootfs_make(CF_BUSYBOX_DEFAULT_PATH, rootfs, &err) < 0) {
    fail_msg("make busybox root: %s", err->message);
  }
  return 0;
}

static int teardown_suite(void **state)
{
  (void)state;
  delete_leftovers();
  it_server_cleanup(&server);
  free(rootfs);
  free(state_root);
  return 0;
}

static int take_snapshot(void **state)
{
  delete_leftovers();
  return it_leak_check_begin(&server, state);
}

static int check_leaks(void **state)
{
  result r = RT("list", "-q");
  assert_string_equal(r.out, "");
  result_clear(&r);
  return it_leak_check_end(&server, state);
}

/* ---- tests ---- */

/* The settings of the test's own terminal, to compare before and after. */
static struct termios terminal_settings(int fd)
{
  struct termios settings;
  assert_int_equal(tcgetattr(fd, &settings), 0);
  return settings;
}

static void test_run_terminal_size_echo_resize(void **state)
{
  (void)state;
  cf_autofree char *dir =
      write_bundle("tty-run", tty_config("tty; stty size; read line; echo \"got:$line\"; "
                                         "read again; stty size; exit 3",
                                         true, 24, 80));
  attached a = {0};
  START_ATTACHED(&a, 30, 100, "run", "--bundle", dir, "tty-run");
  struct termios before = terminal_settings(a.master);

  /* consoleSize wins over the runtime's own terminal size at the start. */
  read_until(&a, "24 80\r\n");
  assert_contains(a.out.data, "/dev/pts/0\r\n24 80\r\n");

  /* The container's terminal echoes and turns CR into NL; the runtime's
   * terminal is raw, so it adds nothing. */
  type_text(&a, "hello\r");
  read_until(&a, "got:hello\r\n");
  assert_contains(a.out.data, "hello\r\ngot:hello\r\n");

  /* SIGWINCH makes the runtime copy its terminal's size. The signal is
   * pending before the line is typed, and the runtime handles signals
   * before input. */
  struct winsize bigger = {.ws_row = 40, .ws_col = 120};
  assert_int_equal(ioctl(a.master, TIOCSWINSZ, &bigger), 0);
  assert_int_equal(kill(a.pid, SIGWINCH), 0);
  type_text(&a, "\r");
  read_until(&a, "40 120\r\n");

  cf_autofree char *err_text = NULL;
  assert_int_equal(finish_attached(&a, &err_text), 3);
  assert_string_equal(err_text, "");
  /* Raw mode is undone on exit. */
  struct termios after = terminal_settings(a.master);
  assert_int_equal(after.c_lflag, before.c_lflag);
  assert_int_equal(after.c_iflag, before.c_iflag);
  assert_int_equal(after.c_oflag, before.c_oflag);
  close_attached(&a);

  result r = RT("state", "tty-run");
  assert_int_equal(r.status, 1);
  result_clear(&r);
}

static void test_run_terminal_default_size_and_signal(void **state)
{
  (void)state;
  /* Without consoleSize the terminal starts with the runtime's size. */
  cf_autofree char *dir =
      write_bundle("tty-sig", tty_config("stty size; echo ready; read wait_forever", true, 0, 0));
  attached a = {0};
  START_ATTACHED(&a, 33, 99, "run", "--bundle", dir, "tty-sig");
  read_until(&a, "ready\r\n");
  assert_contains(a.out.data, "33 99\r\n");
  /* SIGTERM is forwarded; the status is 128+15. */
  assert_int_equal(kill(a.pid, SIGTERM), 0);
  cf_autofree char *err_text = NULL;
  assert_int_equal(finish_attached(&a, &err_text), 143);
  close_attached(&a);
}

static void test_exec_terminal_owner_and_status(void **state)
{
  (void)state;
  cf_autofree char *dir = write_bundle("tty-exec", tty_config("sleep 1000", false, 0, 0));
  RT_OK("run", "-d", "--bundle", dir, "tty-exec");

  /* The slave belongs to the process's user, and the group stays devpts'
   * gid=5. */
  attached a = {0};
  START_ATTACHED(&a, 25, 81, "exec", "-t", "--user", "nobody", "tty-exec", "sh", "-c",
                 "stat -c '%u:%g %a' \"$(tty)\"; stty size; exit 7");
  cf_autofree char *err_text = NULL;
  assert_int_equal(finish_attached(&a, &err_text), 7);
  assert_string_equal(a.out.data, "65534:5 620\r\n25 81\r\n");
  assert_string_equal(err_text, "");
  close_attached(&a);

  /* process.json with terminal and consoleSize. */
  cf_autofree char *spec_path = cf_path_join(server.dir, "tty-process.json");
  json_t *spec = json_pack("{s:b, s:{s:i, s:i}, s:[s,s,s], s:s, s:[s]}", "terminal", 1,
                           "consoleSize", "height", 12, "width", 34, "args", "sh", "-c",
                           "tty; stty size; kill -KILL $$", "cwd", "/", "env", "PATH=/bin");
  assert_int_equal(json_dump_file(spec, spec_path, 0), 0);
  json_decref(spec);
  attached b = {0};
  START_ATTACHED(&b, 50, 150, "exec", "-p", spec_path, "tty-exec");
  cf_autofree char *err_b = NULL;
  assert_int_equal(finish_attached(&b, &err_b), 137);
  assert_true(strncmp(b.out.data, "/dev/pts/", 9) == 0);
  assert_contains(b.out.data, "\r\n12 34\r\n");
  close_attached(&b);

  RT_OK("delete", "tty-exec");
}

static void test_terminal_in_user_namespace(void **state)
{
  (void)state;
  /* Mapped root needs search permission on the way to the root
   * filesystem, which mkdtemp() made 0700. */
  assert_int_equal(chmod(server.dir, 0711), 0);
  json_t *config = tty_config("sleep 1000", false, 0, 0);
  json_t *linux_obj = json_object_get(config, "linux");
  json_array_append_new(json_object_get(linux_obj, "namespaces"),
                        json_pack("{s:s}", "type", "user"));
  json_object_set_new(
      linux_obj, "uidMappings",
      json_pack("[{s:i, s:i, s:i}]", "containerID", 0, "hostID", MAPPED_ROOT, "size", MAPPED_SIZE));
  json_object_set_new(
      linux_obj, "gidMappings",
      json_pack("[{s:i, s:i, s:i}]", "containerID", 0, "hostID", MAPPED_ROOT, "size", MAPPED_SIZE));
  cf_autofree char *dir = write_bundle("tty-userns", config);
  RT_OK("run", "-d", "--bundle", dir, "tty-userns");

  attached a = {0};
  START_ATTACHED(&a, 20, 60, "exec", "-t", "--user", "nobody", "tty-userns", "sh", "-c",
                 "tty; stat -c '%u' \"$(tty)\"; stty size; echo typed:; read l; echo \"[$l]\"");
  read_until(&a, "typed:\r\n");
  type_text(&a, "userns\r");
  cf_autofree char *err_text = NULL;
  assert_int_equal(finish_attached(&a, &err_text), 0);
  assert_string_equal(a.out.data,
                      "/dev/pts/0\r\n65534\r\n20 60\r\ntyped:\r\nuserns\r\n[userns]\r\n");
  close_attached(&a);

  RT_OK("delete", "tty-userns");
}

/* Listens on a unix socket in the test directory. */
static int listen_console(const char *path)
{
  int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(sock >= 0);
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  assert_true(strlen(path) < sizeof(addr.sun_path));
  strcpy(addr.sun_path, path);
  assert_int_equal(bind(sock, (struct sockaddr *)&addr, sizeof(addr)), 0);
  assert_int_equal(listen(sock, 4), 0);
  return sock;
}

/* Accepts the runtime's connection and receives the master and the name
 * sent with it. */
static int receive_master(int listener, char *name, size_t name_size)
{
  int conn = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
  assert_true(conn >= 0);
  char control[CMSG_SPACE(sizeof(int))];
  struct iovec iov = {.iov_base = name, .iov_len = name_size - 1};
  struct msghdr msg = {
      .msg_iov = &iov,
      .msg_iovlen = 1,
      .msg_control = control,
      .msg_controllen = sizeof(control),
  };
  ssize_t n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
  assert_true(n > 0);
  name[n] = '\0';
  close(conn);
  struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
  assert_non_null(cmsg);
  assert_int_equal(cmsg->cmsg_type, SCM_RIGHTS);
  int fd;
  memcpy(&fd, CMSG_DATA(cmsg), sizeof(int));
  return fd;
}

static void test_console_socket(void **state)
{
  (void)state;
  cf_autofree char *socket_path = cf_path_join(server.dir, "console.sock");
  int listener = listen_console(socket_path);
  cf_autofree char *dir =
      write_bundle("tty-console",
                   tty_config("tty; stty size; read l; echo \"got:$l\"; sleep 1000", true, 21, 70));
  RT_OK("run", "-d", "--console-socket", socket_path, "--bundle", dir, "tty-console");

  char name[64];
  attached a = {.master = receive_master(listener, name, sizeof(name)), .err_read = -1};
  close(listener);
  cf_buf_init(&a.out, 1024 * 1024);
  assert_string_equal(name, "/dev/pts/0");
  read_until(&a, "21 70\r\n");
  assert_contains(a.out.data, "/dev/pts/0\r\n21 70\r\n");
  type_text(&a, "over-socket\r");
  read_until(&a, "got:over-socket\r\n");

  /* exec -d with a console socket. */
  cf_autofree char *exec_socket = cf_path_join(server.dir, "exec-console.sock");
  listener = listen_console(exec_socket);
  RT_OK("exec", "-d", "-t", "--console-socket", exec_socket, "tty-console", "sh", "-c",
        "tty; sleep 1000");
  attached b = {.master = receive_master(listener, name, sizeof(name)), .err_read = -1};
  close(listener);
  cf_buf_init(&b.out, 1024 * 1024);
  /* The first terminal is still open. */
  assert_string_equal(name, "/dev/pts/1");
  read_until(&b, "/dev/pts/1\r\n");
  close_attached(&b);
  close_attached(&a);

  RT_OK("delete", "tty-console");
}

static void test_detached_terminal_errors(void **state)
{
  (void)state;
  cf_autofree char *dir = write_bundle("tty-detach", tty_config("sleep 1000", true, 0, 0));
  result r = RT("run", "-d", "--bundle", dir, "tty-detach");
  assert_int_equal(r.status, 1);
  assert_string_equal(r.err, "process.terminal needs an attached process or --console-socket\n");
  result_clear(&r);
  /* Nothing was created. */
  r = RT("state", "tty-detach");
  assert_string_equal(r.err, "container not found: tty-detach\n");
  result_clear(&r);

  /* start is always detached. */
  RT_OK("create", "--bundle", dir, "tty-detach");
  r = RT("start", "tty-detach");
  assert_int_equal(r.status, 1);
  assert_contains(r.err, "process.terminal needs an attached process or --console-socket");
  result_clear(&r);

  r = RT("exec", "-d", "-t", "tty-detach", "true");
  assert_int_equal(r.status, 1);
  assert_string_equal(r.err, "process.terminal needs an attached process or --console-socket\n");
  result_clear(&r);

  cf_autofree char *socket_path = cf_path_join(server.dir, "unused.sock");
  r = RT("exec", "-d", "--console-socket", socket_path, "tty-detach", "true");
  assert_int_equal(r.status, 1);
  assert_string_equal(r.err,
                      "--console-socket needs a process with a terminal: set process.terminal\n");
  result_clear(&r);
  RT_OK("delete", "tty-detach");
}

static void test_no_terminal_keeps_streams(void **state)
{
  (void)state;
  /* terminal false: the process gets the runtime's own stdin (here the
   * test's terminal) and a separate stderr, and nothing is made raw. */
  cf_autofree char *dir = write_bundle(
      "tty-none",
      tty_config("[ -t 0 ] && echo stdin-is-a-terminal; echo err >&2; exit 4", false, 0, 0));
  attached a = {0};
  START_ATTACHED(&a, 24, 80, "run", "--bundle", dir, "tty-none");
  struct termios before = terminal_settings(a.master);
  assert_true(before.c_lflag & ICANON);
  cf_autofree char *err_text = NULL;
  assert_int_equal(finish_attached(&a, &err_text), 4);
  assert_string_equal(a.out.data, "stdin-is-a-terminal\r\n");
  assert_string_equal(err_text, "err\n");
  struct termios after = terminal_settings(a.master);
  assert_int_equal(after.c_lflag, before.c_lflag);
  close_attached(&a);
}

int main(void)
{
  it_require_root();
#define TEST(fn) cmocka_unit_test_setup_teardown(fn, take_snapshot, check_leaks)
  const struct CMUnitTest tests[] = {
      TEST(test_run_terminal_size_echo_resize),
      TEST(test_run_terminal_default_size_and_signal),
      TEST(test_exec_terminal_owner_and_status),
      TEST(test_terminal_in_user_namespace),
      TEST(test_console_socket),
      TEST(test_detached_terminal_errors),
      TEST(test_no_terminal_keeps_streams),
  };
  return cmocka_run_group_tests(tests, setup_suite, teardown_suite);
}
