/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests of the runtime's pseudo-terminal helpers: passing a descriptor over
 * a socket, setting the window size, and finding the devpts of a root
 * directory without following links out of it. Opening a pair in the
 * host's devpts needs root and is skipped otherwise.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "base/mem.h"
#include "runtime/linux/pty.h"
#include "runtime/runtime.h"
#include "testutil.h"

static void test_fd_passes_over_socket(void **state)
{
  (void)state;
  int sockets[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sockets), 0);
  int pipe_fds[2];
  assert_int_equal(pipe(pipe_fds), 0);
  assert_int_equal(cf_pty_send_fd(sockets[1], pipe_fds[1], ""), 0);
  close(pipe_fds[1]);

  int received = -1;
  cf_err *err = NULL;
  assert_int_equal(cf_pty_recv_fd(sockets[0], &received, &err), 0);
  assert_null(err);
  assert_true(fcntl(received, F_GETFD) & FD_CLOEXEC);
  assert_int_equal(write(received, "x", 1), 1);
  char byte = 0;
  assert_int_equal(read(pipe_fds[0], &byte, 1), 1);
  assert_int_equal(byte, 'x');

  close(received);
  close(pipe_fds[0]);
  close(sockets[0]);
  close(sockets[1]);
}

static void test_recv_fails_without_descriptor(void **state)
{
  (void)state;
  int sockets[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sockets), 0);
  int fd = -1;
  cf_err *err = NULL;

  /* Nothing queued: the call must not block. */
  assert_int_equal(cf_pty_recv_fd(sockets[0], &fd, &err), -1);
  assert_int_equal(err->code, CF_E_SYSTEM);
  assert_int_equal(err->sys_errno, EAGAIN);
  cf_err_free(err);
  err = NULL;

  /* A message without SCM_RIGHTS. */
  assert_int_equal(write(sockets[1], "name", 4), 4);
  assert_int_equal(cf_pty_recv_fd(sockets[0], &fd, &err), -1);
  assert_non_null(strstr(err->message, "has no descriptor"));
  assert_int_equal(fd, -1);
  cf_err_free(err);
  close(sockets[0]);
  close(sockets[1]);
}

static void test_set_size_and_resize(void **state)
{
  (void)state;
  int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  assert_true(master >= 0);
  cf_err *err = NULL;
  assert_int_equal(cf_pty_set_size(master, 52, 173, &err), 0);
  struct winsize size = {0};
  assert_int_equal(ioctl(master, TIOCGWINSZ, &size), 0);
  assert_int_equal(size.ws_row, 52);
  assert_int_equal(size.ws_col, 173);

  cf_process process = {
      .pid = 1, .pidfd = -1, .stdin_fd = master, .stdout_fd = -1, .stderr_fd = -1};
  assert_int_equal(cf_runtime_process_resize(&process, 7, 9, &err), 0);
  assert_int_equal(ioctl(master, TIOCGWINSZ, &size), 0);
  assert_int_equal(size.ws_row, 7);
  assert_int_equal(size.ws_col, 9);
  close(master);

  /* A pipe is no terminal. */
  int pipe_fds[2];
  assert_int_equal(pipe(pipe_fds), 0);
  assert_int_equal(cf_pty_set_size(pipe_fds[0], 1, 1, &err), -1);
  assert_int_equal(err->sys_errno, ENOTTY);
  cf_err_free(err);
  err = NULL;
  close(pipe_fds[0]);
  close(pipe_fds[1]);

  cf_process no_terminal = {
      .pid = 1, .pidfd = -1, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1};
  assert_int_equal(cf_runtime_process_resize(&no_terminal, 7, 9, &err), -1);
  assert_int_equal(err->code, CF_E_INVALID);
  cf_err_free(err);
}

/* Tries cf_pty_open_in_root() on root and checks that it fails with
 * expected_errno at the step named expected_step. */
static void assert_open_fails(const char *root, int expected_errno, const char *expected_step)
{
  int root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  assert_true(root_fd >= 0);
  int master = -1;
  int slave = -1;
  const char *step = "";
  errno = 0;
  assert_int_equal(cf_pty_open_in_root(root_fd, 24, 80, 0, &master, &slave, &step), -1);
  assert_int_equal(errno, expected_errno);
  assert_string_equal(step, expected_step);
  assert_int_equal(master, -1);
  close(root_fd);
}

static void test_open_rejects_non_devpts(void **state)
{
  (void)state;
  cf_autofree char *root = cf_test_tmpdir("pty");
  assert_open_fails(root, ENOENT, "open /dev/pts in the container");

  cf_autofree char *dev = cf_xasprintf("%s/dev", root);
  cf_autofree char *pts = cf_xasprintf("%s/dev/pts", root);
  assert_int_equal(mkdir(dev, 0755), 0);
  assert_int_equal(mkdir(pts, 0755), 0);
  assert_open_fails(root, ENOTTY, "check that /dev/pts in the container is a devpts mount");

  /* A link to the host's /dev/pts resolves inside the root, to itself. */
  assert_int_equal(rmdir(pts), 0);
  assert_int_equal(symlink("/dev/pts", pts), 0);
  assert_open_fails(root, ELOOP, "open /dev/pts in the container");
  cf_test_rmdir(root);
}

static void test_open_in_host_devpts(void **state)
{
  (void)state;
  if (!cf_test_is_root()) {
    skip();
  }
  int root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  assert_true(root_fd >= 0);
  int master = -1;
  int slave = -1;
  const char *step = "";
  if (cf_pty_open_in_root(root_fd, 24, 80, 4321, &master, &slave, &step) < 0) {
    fail_msg("%s: %s", step, strerror(errno));
  }
  close(root_fd);

  struct stat st;
  assert_int_equal(fstat(slave, &st), 0);
  assert_true(S_ISCHR(st.st_mode));
  assert_int_equal(st.st_uid, 4321);
  struct winsize size = {0};
  assert_int_equal(ioctl(slave, TIOCGWINSZ, &size), 0);
  assert_int_equal(size.ws_row, 24);
  assert_int_equal(size.ws_col, 80);
  assert_true(fcntl(master, F_GETFD) & FD_CLOEXEC);
  assert_true(fcntl(slave, F_GETFD) & FD_CLOEXEC);

  /* The pair is connected: what the slave writes, the master reads. */
  struct termios raw;
  assert_int_equal(tcgetattr(slave, &raw), 0);
  cfmakeraw(&raw);
  assert_int_equal(tcsetattr(slave, TCSANOW, &raw), 0);
  assert_int_equal(write(slave, "ok", 2), 2);
  char text[3] = {0};
  assert_int_equal(read(master, text, 2), 2);
  assert_string_equal(text, "ok");
  close(slave);
  close(master);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fd_passes_over_socket),
      cmocka_unit_test(test_recv_fails_without_descriptor),
      cmocka_unit_test(test_set_size_and_resize),
      cmocka_unit_test(test_open_rejects_non_devpts),
      cmocka_unit_test(test_open_in_host_devpts),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
