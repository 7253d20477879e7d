/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The integration fixture itself: a test program killed by a signal must
 * not leave its `cfwin serve` running, because a leftover server keeps its
 * containers and their host-wide cgroups, which block later runs.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture.h"

/* A guard against a server that never exits, never a timing assertion. */
#define SERVER_EXIT_TIMEOUT_S 60

/* Starts the server, sends its pid to the parent and waits to be killed.
 * This child plays a test program. */
static void run_test_program(it_server *server, int pid_pipe)
{
  it_server_start(server);
  pid_t server_pid = server->pid;
  if (write(pid_pipe, &server_pid, sizeof(server_pid)) != (ssize_t)sizeof(server_pid)) {
    _exit(1);
  }
  for (;;) {
    pause();
  }
}

/* Waits for a reparented server to exit and returns its wait status, or
 * -1 when it is still running after SERVER_EXIT_TIMEOUT_S. */
static int wait_for_exit(pid_t pid)
{
  struct timespec pause_time = {.tv_nsec = 50 * 1000 * 1000};
  for (int attempt = 0; attempt < SERVER_EXIT_TIMEOUT_S * 20; attempt++) {
    int status = 0;
    pid_t got = waitpid(pid, &status, WNOHANG);
    if (got == pid) {
      return status;
    }
    if (got < 0 && errno != EINTR) {
      fail_msg("wait for cfwin serve (pid %d): %s", (int)pid, strerror(errno));
    }
    nanosleep(&pause_time, NULL);
  }
  return -1;
}

static void test_server_dies_with_killed_test(void **state)
{
  (void)state;
  /* As the subreaper, this process inherits the orphaned server and can
   * wait for it and read its exit status. */
  assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  it_server server;
  it_server_prepare(&server);
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  pid_t program = fork();
  assert_true(program >= 0);
  if (program == 0) {
    close(fds[0]);
    run_test_program(&server, fds[1]);
  }
  close(fds[1]);
  pid_t server_pid = -1;
  ssize_t n = read(fds[0], &server_pid, sizeof(server_pid));
  close(fds[0]);
  assert_int_equal(n, (ssize_t)sizeof(server_pid));
  assert_true(server_pid > 0);

  assert_int_equal(kill(program, SIGKILL), 0);
  assert_int_equal(waitpid(program, NULL, 0), program);
  int status = wait_for_exit(server_pid);
  if (status == -1) {
    kill(server_pid, SIGTERM);
    waitpid(server_pid, NULL, 0);
    it_server_cleanup(&server);
    fail_msg("cfwin serve (pid %d) still ran %d s after its test program was killed",
             (int)server_pid, SERVER_EXIT_TIMEOUT_S);
  }
  it_server_cleanup(&server);
  /* A clean exit shows that the server's SIGTERM shutdown ran. */
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
  it_require_root();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_server_dies_with_killed_test),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
