/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The helper and the process of cf_runtime_exec(). Both run in copies of a
 * multi-threaded caller, so they only make system calls and use memory the
 * caller prepared. Every failure is reported through the close-on-exec
 * report pipe, which a successful execve() closes.
 */
#include "runtime/linux/exec.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/linux/pty.h"
#include "runtime/linux/report.h"
#include "runtime/linux/sys.h"
#include "runtime/linux/userns.h"

/* Exit status of a process that failed before execve(); the caller gets the
 * reported error instead and reaps the process. */
#define EXIT_SETUP_FAILED 127

/* Exit status of a process whose user may not enter its working directory. */
#define EXIT_NO_ACCESS 1

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* Reports the current errno with a message made of the strings given. FAIL
 * also evaluates to -1. */
#define REPORT(plan, ...) cf_report_error((plan)->report_fd, CF_E_SYSTEM, errno, __VA_ARGS__, NULL)
#define FAIL(plan, ...) (REPORT(plan, __VA_ARGS__), -1)

/* Reports a fault of a security or user namespace step; evaluates to -1. */
static int fail_step(cf_exec_plan *plan, const cf_sec_fault *fault)
{
  cf_report_error(plan->report_fd, CF_E_SYSTEM, errno, fault->step, " ", fault->value, NULL);
  return -1;
}

/* Moves *fd to a close-on-exec descriptor above the standard streams. */
static int move_above_stdio(int *fd)
{
  int moved = fcntl(*fd, F_DUPFD_CLOEXEC, 3);
  if (moved < 0) {
    return -1;
  }
  *fd = moved;
  return 0;
}

/* Makes the pipe ends the process's standard streams. They are first moved
 * above 2, so none is overwritten when the caller had a standard stream
 * closed. Every other descriptor is closed by execve(). */
static int attach_stdio(cf_exec_plan *plan)
{
  if (move_above_stdio(&plan->report_fd) < 0) {
    return -1;
  }
  for (int i = 0; i < 3; i++) {
    if (move_above_stdio(&plan->stdio[i]) < 0) {
      return FAIL(plan, "duplicate standard stream pipe");
    }
  }
  for (int i = 0; i < 3; i++) {
    if (dup2(plan->stdio[i], i) < 0) {
      return FAIL(plan, "attach standard stream pipe");
    }
  }
  if (cf_sys_close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
    return FAIL(plan, "mark inherited descriptors close-on-exec");
  }
  return 0;
}

/* Makes the terminal on stdin the controlling terminal of the process,
 * which setsid() made a session leader without one. */
static int take_terminal(cf_exec_plan *plan)
{
  if (plan->terminal && ioctl(0, TIOCSCTTY, 0) < 0) {
    return FAIL(plan, "make the terminal the controlling terminal");
  }
  return 0;
}

/* Creates the working directory and its missing parents as root, each new
 * one owned by the user. */
static int make_dir(cf_exec_plan *plan)
{
  char *dir = plan->dir;
  for (char *p = dir + 1;; p++) {
    if (*p != '/' && *p != '\0') {
      continue;
    }
    char saved = *p;
    *p = '\0';
    if (mkdir(dir, 0755) == 0) {
      if (chown(dir, plan->uid, plan->gid) < 0) {
        return FAIL(plan, "change owner of working directory ", dir);
      }
    } else if (errno != EEXIST) {
      return FAIL(plan, "create working directory ", dir);
    }
    *p = saved;
    if (saved == '\0') {
      return 0;
    }
  }
}

static int switch_user(cf_exec_plan *plan)
{
  if (cf_sys_setgroups(plan->group_count, plan->groups) < 0) {
    return FAIL(plan, "set supplementary groups");
  }
  if (cf_sys_setresgid(plan->gid) < 0) {
    return FAIL(plan, "set group id");
  }
  if (cf_sys_setresuid(plan->uid) < 0) {
    return FAIL(plan, "set user id");
  }
  return 0;
}

/* Writes the strings given, up to a NULL, to the process's stderr. */
static void write_stderr(const char *first, ...)
{
  va_list ap;
  va_start(ap, first);
  for (const char *s = first; s != NULL; s = va_arg(ap, const char *)) {
    size_t len = strlen(s);
    while (len > 0) {
      ssize_t n = write(STDERR_FILENO, s, len);
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0) {
        break;
      }
      s += n;
      len -= (size_t)n;
    }
  }
  va_end(ap);
}

/* Enters the working directory as the user. A directory the user may not
 * enter fails the process, not the start: the caller gets a pid, and the
 * process writes the reason to its stderr and exits with EXIT_NO_ACCESS. */
static int enter_dir(cf_exec_plan *plan)
{
  if (chdir(plan->dir) == 0) {
    return 0;
  }
  if (errno == EACCES) {
    write_stderr("cfwin: enter working directory ", plan->dir, ": Permission denied\n", NULL);
    _exit(EXIT_NO_ACCESS);
  }
  return FAIL(plan, "enter working directory ", plan->dir);
}

/* rlimits, the bounding set and keep-caps, and seccomp when no_new_privs
 * is off, while the process is still root. */
static int harden_before_user_switch(cf_exec_plan *plan)
{
  cf_sec_fault fault;
  if (cf_sec_apply_before_user_switch(plan->sec, &fault) < 0) {
    return fail_step(plan, &fault);
  }
  return 0;
}

/* Capabilities, ambient set, no_new_privs, then seccomp: the last step
 * before execve(). */
static int harden_after_user_switch(cf_exec_plan *plan)
{
  cf_sec_fault fault;
  if (cf_sec_apply_after_user_switch(plan->sec, &fault) < 0) {
    return fail_step(plan, &fault);
  }
  return 0;
}

static bool try_next_candidate(int err)
{
  return err == ENOENT || err == ENOTDIR || err == EACCES || err == ELOOP || err == ENAMETOOLONG;
}

/* Execs the first candidate of $PATH that the user may execute, as Go's
 * exec.LookPath does: an empty entry means the working directory. Returns
 * only after reporting the failure. */
static void exec_search(cf_exec_plan *plan)
{
  const char *p = plan->search_path != NULL ? plan->search_path : "";
  size_t name_len = strlen(plan->path);
  while (plan->search_path != NULL) {
    const char *colon = strchr(p, ':');
    size_t len = colon != NULL ? (size_t)(colon - p) : strlen(p);
    const char *dir = len > 0 ? p : ".";
    size_t dir_len = len > 0 ? len : 1;
    if (dir_len + name_len + 2 <= plan->candidate_size) {
      memcpy(plan->candidate, dir, dir_len);
      plan->candidate[dir_len] = '/';
      memcpy(plan->candidate + dir_len + 1, plan->path, name_len + 1);
      execve(plan->candidate, plan->argv, plan->envp);
      if (!try_next_candidate(errno)) {
        REPORT(plan, "exec ", plan->candidate);
        return;
      }
    }
    if (colon == NULL) {
      break;
    }
    p = colon + 1;
  }
  cf_report_error(plan->report_fd, CF_E_EXEC_NOT_FOUND, 0, "exec: \"", plan->path,
                  "\": executable file not found in $PATH", NULL);
}

static void exec_program(cf_exec_plan *plan)
{
  if (strchr(plan->path, '/') == NULL) {
    exec_search(plan);
    return;
  }
  execve(plan->path, plan->argv, plan->envp);
  if (errno == ENOENT) {
    cf_report_error(plan->report_fd, CF_E_EXEC_NOT_FOUND, 0, "exec: \"", plan->path, "\": stat ",
                    plan->path, ": no such file or directory", NULL);
    return;
  }
  REPORT(plan, "exec ", plan->path);
}

/* The process: a child of the caller in the container's namespaces. */
_Noreturn static void run_process(cf_exec_plan *plan)
{
  cf_sys_default_signals();
  setsid();
  umask(022);
  if (attach_stdio(plan) < 0 || take_terminal(plan) < 0 || make_dir(plan) < 0 ||
      harden_before_user_switch(plan) < 0 || switch_user(plan) < 0 || enter_dir(plan) < 0 ||
      harden_after_user_switch(plan) < 0) {
    _exit(EXIT_SETUP_FAILED);
  }
  cf_sys_block_signals(0);
  exec_program(plan);
  _exit(EXIT_SETUP_FAILED);
}

/* Joins the namespaces of the init through its pidfd, then its root:
 * joining a mount namespace puts the caller at the namespace's root mount,
 * and the init's root directory is the one processes must see. */
static int enter_container(cf_exec_plan *plan)
{
  cf_sec_fault fault;
  if (cf_sec_apply_not_dumpable(&fault) < 0) {
    return fail_step(plan, &fault);
  }
  int user = plan->join_userns ? CLONE_NEWUSER : 0;
  if (setns(plan->init_pidfd,
            CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWPID | user) < 0) {
    return FAIL(plan, "join the namespaces of the container init");
  }
  if (plan->join_userns && cf_userns_become_root(&fault) < 0) {
    return fail_step(plan, &fault);
  }
  if (fchdir(plan->root_fd) < 0 || chroot(".") < 0 || chdir("/") < 0) {
    return FAIL(plan, "enter the root directory of the container init");
  }
  return 0;
}

/* Opens the process's terminal in the container's devpts, makes the slave
 * its stdio and sends the master to the caller. The helper keeps no copy of
 * the master, so the process never inherits it. */
static int open_terminal(cf_exec_plan *plan)
{
  int master = -1;
  int slave = -1;
  const char *step = "";
  if (cf_pty_open_in_root(plan->root_fd, plan->terminal_rows, plan->terminal_columns, plan->uid,
                          &master, &slave, &step) < 0) {
    return FAIL(plan, step);
  }
  int rc = cf_pty_send_fd(plan->console_fd, master, "");
  int saved = errno;
  close(master);
  if (rc < 0) {
    errno = saved;
    close(slave);
    return FAIL(plan, "send the terminal master to the caller");
  }
  for (int i = 0; i < 3; i++) {
    plan->stdio[i] = slave;
  }
  return 0;
}

/* Blocks until the caller writes 'g' to the pipe, then closes it. End of
 * file without it means the caller gave up, and the child exits with status
 * without running anything. */
static void await_byte(int fd, int status)
{
  char byte = 0;
  ssize_t n;
  do {
    n = read(fd, &byte, 1);
  } while (n < 0 && errno == EINTR);
  if (n != 1 || byte != 'g') {
    _exit(status);
  }
  close(fd);
}

/* The intermediate child of a detached start: a child of the caller in the
 * container's pid namespace. Its child, the process, is adopted by the
 * container init when it exits. */
_Noreturn static void run_intermediate(cf_exec_plan *plan)
{
  pid_t pid = cf_sys_clone(SIGCHLD);
  if (pid == 0) {
    await_byte(plan->go_fd, EXIT_SETUP_FAILED);
    run_process(plan);
  }
  if (pid < 0) {
    REPORT(plan, "start process in the container");
    _exit(1);
  }
  cf_report_ns_pid(plan->report_fd, pid);
  _exit(0);
}

_Noreturn void cf_exec_helper_run(cf_exec_plan *plan)
{
  /* The caller first puts the helper in the container's cgroup. */
  await_byte(plan->hold_fd, 1);
  if (enter_container(plan) < 0 || (plan->terminal && open_terminal(plan) < 0)) {
    _exit(1);
  }
  if (plan->detach) {
    pid_t pid = cf_sys_clone(CLONE_PARENT | SIGCHLD);
    if (pid == 0) {
      run_intermediate(plan);
    }
    if (pid < 0) {
      REPORT(plan, "start process in the container");
      _exit(1);
    }
    cf_report_pid(plan->report_fd, pid);
    _exit(0);
  }
  /* CLONE_PARENT makes the process a child of the caller; after setns() of
   * the pid namespace, new children start in the container's. */
  pid_t pid = cf_sys_clone(CLONE_PARENT | SIGCHLD);
  if (pid == 0) {
    run_process(plan);
  }
  if (pid < 0) {
    REPORT(plan, "start process in the container");
    _exit(1);
  }
  cf_report_pid(plan->report_fd, pid);
  _exit(0);
}
