/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cf_runtime_exec(): the caller's side. Everything that can allocate or read
 * files happens here, before the fork: the container's /etc/passwd and
 * /etc/group are read through the init's root with openat2(RESOLVE_IN_ROOT),
 * so a symlink in the image cannot point the lookup at a host file.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/mem.h"
#include "runtime/linux/ctr_cgroup.h"
#include "runtime/linux/exec.h"
#include "runtime/linux/proc.h"
#include "runtime/linux/pty.h"
#include "runtime/linux/report.h"
#include "runtime/linux/sys.h"
#include "runtime/linux/user.h"
#include "runtime/runtime.h"

/* Largest /etc/passwd or /etc/group read from a container. */
#define USER_FILE_MAX (8 * 1024 * 1024)

/* The plan and what it points into; every descriptor is -1 when closed. */
typedef struct exec_setup {
  cf_exec_plan plan;
  cf_user user;
  size_t env_count; /* entries of plan.envp */
  int report_read;
  int parent_stdio[3]; /* the caller's ends: stdin write end, stdout and stderr read ends */
  int go_write;        /* detached: write end of the go pipe */
  int hold_write;      /* write end of the helper's hold pipe */
  int console_read;    /* the caller's end of the console socket pair */
  pid_t init_pid;
  cf_sec_plan sec;
  cf_cgroup *cgroup; /* the container's, or NULL */
} exec_setup;

static void init_setup(exec_setup *setup)
{
  *setup = (exec_setup){0};
  setup->plan.init_pidfd = -1;
  setup->plan.root_fd = -1;
  setup->plan.report_fd = -1;
  setup->plan.go_fd = -1;
  setup->plan.hold_fd = -1;
  setup->plan.console_fd = -1;
  setup->plan.sec = &setup->sec;
  setup->console_read = -1;
  setup->report_read = -1;
  setup->go_write = -1;
  setup->hold_write = -1;
  for (int i = 0; i < 3; i++) {
    setup->plan.stdio[i] = -1;
    setup->parent_stdio[i] = -1;
  }
}

static void free_setup(exec_setup *setup)
{
  cf_exec_plan *plan = &setup->plan;
  cf_closep(&plan->init_pidfd);
  cf_closep(&plan->root_fd);
  cf_closep(&plan->report_fd);
  cf_closep(&setup->report_read);
  cf_closep(&plan->go_fd);
  cf_closep(&setup->go_write);
  cf_closep(&plan->hold_fd);
  cf_closep(&setup->hold_write);
  cf_closep(&plan->console_fd);
  cf_closep(&setup->console_read);
  for (int i = 0; i < 3; i++) {
    cf_closep(&plan->stdio[i]);
    cf_closep(&setup->parent_stdio[i]);
  }
  cf_sec_plan_free(&setup->sec);
  cf_cgroup_free(setup->cgroup);
  free(plan->argv);
  cf_strv_free(plan->envp, setup->env_count);
  free(plan->candidate);
  free(plan->dir);
  cf_user_free(&setup->user);
}

/* Opens the init's pidfd and root directory, checking that the pid still
 * belongs to the init when both are open. */
static int open_init(const cf_container_init *init, cf_exec_plan *plan, cf_err **err)
{
  if (!cf_runtime_container_alive(init)) {
    return cf_err_set(err, CF_E_NOT_FOUND, "container init %d is not running", (int)init->pid);
  }
  return cf_proc_open_init(init->pid, init->start_time, &plan->init_pidfd, &plan->root_fd, err);
}

/* True when the init lives in a user namespace other than the caller's. */
static bool in_own_userns(pid_t init_pid)
{
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)init_pid);
  struct stat theirs;
  struct stat ours;
  return stat(path, &theirs) == 0 && stat("/proc/self/ns/user", &ours) == 0 &&
         (theirs.st_dev != ours.st_dev || theirs.st_ino != ours.st_ino);
}

/* Builds the process's security plan and finds the container's user
 * namespace and cgroup. */
static int prepare_isolation(const cf_process_spec *spec, exec_setup *setup, cf_err **err)
{
  int rc = spec->oci_config != NULL
               ? cf_sec_plan_from_oci(spec->oci_config, spec->privileged, &setup->sec, err)
               : cf_sec_plan_default(spec->privileged, &setup->sec, err);
  if (rc < 0) {
    return -1;
  }
  if (setup->plan.uid != 0) {
    cf_sec_plan_limit_privileged_user(&setup->sec);
  }
  setup->plan.join_userns = in_own_userns(setup->init_pid);
  return cf_ctr_cgroup_of_pid(setup->init_pid, &setup->cgroup, err);
}

static int read_fd(int fd, const char *path, cf_buf *buf, cf_err **err)
{
  char chunk[8192];
  for (;;) {
    ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return cf_err_sys(err, errno, "read %s in the container", path);
    }
    if (n == 0) {
      return 0;
    }
    if (cf_buf_append(buf, chunk, (size_t)n, err) < 0) {
      return cf_err_wrap(err, "read %s in the container", path);
    }
  }
}

/* Reads a file of the container, resolving path inside its root. Sets *text
 * to NULL when the file does not exist. */
static int read_container_file(int root_fd, const char *path, char **text, cf_err **err)
{
  *text = NULL;
  /* O_NONBLOCK: a FIFO planted in the image must not block the caller. */
  cf_autoclose int fd = cf_sys_openat2(root_fd, path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY,
                                       RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
  if (fd < 0 && errno == ENOENT) {
    return 0;
  }
  if (fd < 0) {
    return cf_err_sys(err, errno, "open %s in the container", path);
  }
  struct stat st;
  if (fstat(fd, &st) < 0) {
    return cf_err_sys(err, errno, "stat %s in the container", path);
  }
  if (!S_ISREG(st.st_mode)) {
    return cf_err_set(err, CF_E_INVALID, "%s in the container is not a regular file", path);
  }
  cf_buf buf;
  cf_buf_init(&buf, USER_FILE_MAX);
  if (read_fd(fd, path, &buf, err) < 0) {
    cf_buf_free(&buf);
    return -1;
  }
  *text = cf_buf_take(&buf);
  return 0;
}

static int resolve_user(const cf_process_spec *spec, exec_setup *setup, cf_err **err)
{
  cf_autofree char *passwd = NULL;
  cf_autofree char *group = NULL;
  if (read_container_file(setup->plan.root_fd, "/etc/passwd", &passwd, err) < 0 ||
      read_container_file(setup->plan.root_fd, "/etc/group", &group, err) < 0) {
    return -1;
  }
  if (cf_user_resolve(spec->user, passwd, group, &setup->user, err) < 0) {
    return -1;
  }
  setup->plan.uid = setup->user.uid;
  setup->plan.gid = setup->user.gid;
  setup->plan.groups = setup->user.groups;
  setup->plan.group_count = setup->user.group_count;
  return 0;
}

/* Fills in the command line, environment, search buffer and directory. */
static void prepare_command(const cf_process_spec *spec, exec_setup *setup)
{
  cf_exec_plan *plan = &setup->plan;
  plan->path = spec->path;
  plan->argv = cf_xcalloc(spec->arg_count + 2, sizeof(char *));
  plan->argv[0] = (char *)spec->path;
  for (size_t i = 0; i < spec->arg_count; i++) {
    plan->argv[i + 1] = (char *)spec->args[i];
  }
  plan->envp = cf_user_env(&setup->user, spec->env, spec->env_count, &setup->env_count);
  plan->search_path = cf_env_get(plan->envp, "PATH");
  size_t search_len = plan->search_path != NULL ? strlen(plan->search_path) : 0;
  plan->candidate_size = search_len + strlen(spec->path) + 3;
  plan->candidate = cf_xmalloc(plan->candidate_size);

  const char *dir = spec->dir != NULL && spec->dir[0] != '\0' ? spec->dir : setup->user.home;
  plan->dir = dir[0] == '/' ? cf_xstrdup(dir) : cf_xasprintf("/%s", dir);
}

static int make_pipe(int *read_end, int *write_end, cf_err **err)
{
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) < 0) {
    return cf_err_sys(err, errno, "create pipe");
  }
  *read_end = fds[0];
  *write_end = fds[1];
  return 0;
}

/* Gives the process copies of the caller's descriptors as its stdio. */
static int share_stdio(const int *stdio, exec_setup *setup, cf_err **err)
{
  for (int i = 0; i < 3; i++) {
    setup->plan.stdio[i] = fcntl(stdio[i], F_DUPFD_CLOEXEC, 3);
    if (setup->plan.stdio[i] < 0) {
      return cf_err_sys(err, errno, "duplicate standard stream %d for the process", i);
    }
  }
  return 0;
}

/* A terminal replaces the stdio pipes: the helper sends the master back
 * over a socket pair. */
static int make_console_socket(const cf_process_spec *spec, exec_setup *setup, cf_err **err)
{
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) < 0) {
    return cf_err_sys(err, errno, "create the console socket pair");
  }
  setup->console_read = fds[0];
  setup->plan.console_fd = fds[1];
  setup->plan.terminal = true;
  setup->plan.terminal_rows = spec->terminal_rows;
  setup->plan.terminal_columns = spec->terminal_columns;
  return 0;
}

static int make_pipes(const cf_process_spec *spec, exec_setup *setup, cf_err **err)
{
  cf_exec_plan *plan = &setup->plan;
  if (make_pipe(&setup->report_read, &plan->report_fd, err) < 0) {
    return -1;
  }
  plan->detach = spec->detach;
  if (spec->detach && make_pipe(&plan->go_fd, &setup->go_write, err) < 0) {
    return -1;
  }
  if (make_pipe(&plan->hold_fd, &setup->hold_write, err) < 0) {
    return -1;
  }
  if (spec->terminal) {
    return make_console_socket(spec, setup, err);
  }
  if (spec->stdio != NULL) {
    return share_stdio(spec->stdio, setup, err);
  }
  if (make_pipe(&plan->stdio[0], &setup->parent_stdio[0], err) < 0 ||
      make_pipe(&setup->parent_stdio[1], &plan->stdio[1], err) < 0 ||
      make_pipe(&setup->parent_stdio[2], &plan->stdio[2], err) < 0) {
    return -1;
  }
  return 0;
}

static void reap_pid(pid_t pid)
{
  while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
  }
}

/* Kills a process that is the caller's child, or has already exited, and
 * reaps it. */
static void kill_and_reap(pid_t pid)
{
  kill(pid, SIGKILL);
  reap_pid(pid);
}

/* Forks the helper with every signal blocked, so no handler of the caller
 * runs in the children before they reset them. Closes the children's pipe
 * ends in the caller. */
static pid_t fork_helper(exec_setup *setup)
{
  sigset_t all;
  sigset_t old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pid_t pid = fork();
  if (pid == 0) {
    cf_exec_helper_run(&setup->plan);
  }
  int saved = errno;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  cf_closep(&setup->plan.report_fd);
  cf_closep(&setup->plan.go_fd);
  cf_closep(&setup->plan.hold_fd);
  cf_closep(&setup->plan.console_fd);
  for (int i = 0; i < 3; i++) {
    cf_closep(&setup->plan.stdio[i]);
  }
  errno = saved;
  return pid;
}

/* Puts the waiting helper in the container's cgroup and lets it go on. On
 * failure the helper reads end of file and exits. */
static int release_helper(exec_setup *setup, pid_t helper, cf_err **err)
{
  if (setup->cgroup != NULL && cf_cgroup_add_pid(setup->cgroup, helper, err) < 0) {
    cf_closep(&setup->hold_write);
    return cf_err_wrap(err, "put exec helper %d in the container's cgroup", (int)helper);
  }
  int rc = cf_write_all(setup->hold_write, "g", 1, err);
  cf_closep(&setup->hold_write);
  return rc;
}

/* Forks the helper and releases it; on failure nothing is left running. */
static pid_t start_helper(exec_setup *setup, cf_err **err)
{
  pid_t helper = fork_helper(setup);
  if (helper < 0) {
    cf_err_sys(err, errno, "fork exec helper");
    return -1;
  }
  if (release_helper(setup, helper, err) < 0) {
    kill_and_reap(helper);
    return -1;
  }
  return helper;
}

/* Reads reports until every writer has closed the pipe: the helper sends
 * the pid, and the process closes its end by execve() or exit. Sets *pid
 * to the process, or 0 when none was reported; *failure is the first error
 * report, kind 0 when none came. */
static int collect_reports(exec_setup *setup, pid_t *pid, cf_report *failure, cf_err **err)
{
  *pid = 0;
  failure->kind = 0;
  for (;;) {
    cf_report report;
    bool got;
    if (cf_report_read(setup->report_read, &report, &got, err) < 0) {
      return -1;
    }
    if (!got) {
      return 0;
    }
    if (report.kind == CF_REPORT_PID) {
      *pid = report.pid;
    } else if (report.kind == CF_REPORT_ERROR && failure->kind == 0) {
      *failure = report;
    }
  }
}

/* Takes the terminal master the helper sent, once the reports have ended:
 * stdin_fd is the master, stdout_fd a second descriptor of it. */
static int take_terminal(exec_setup *setup, cf_process *out, cf_err **err)
{
  if (!setup->plan.terminal) {
    return 0;
  }
  if (cf_pty_recv_fd(setup->console_read, &out->stdin_fd, err) < 0) {
    return -1;
  }
  out->stdout_fd = fcntl(out->stdin_fd, F_DUPFD_CLOEXEC, 3);
  if (out->stdout_fd < 0) {
    return cf_err_sys(err, errno, "duplicate the terminal master");
  }
  return 0;
}

/* Detached: once the intermediate child reported the process's pid in the
 * container and exited, the init has adopted the process, so its host pid
 * is the init's child with that namespace pid. Opens its pidfd and reads its
 * start time while it waits, then lets it run. */
static int adopt_detached(exec_setup *setup, pid_t intermediate, pid_t ns_pid, cf_process *out,
                          cf_err **err)
{
  reap_pid(intermediate);
  pid_t pid;
  if (cf_proc_host_pid(setup->init_pid, ns_pid, &pid, err) < 0) {
    return cf_err_wrap(err, "find the started process");
  }
  char state;
  if (cf_proc_stat_read(pid, &state, &out->start_time, err) < 0) {
    return -1;
  }
  out->pid = pid;
  out->pidfd = cf_sys_pidfd_open(pid);
  if (out->pidfd < 0) {
    return cf_err_sys(err, errno, "open pidfd of process %d", (int)pid);
  }
  if (cf_write_all(setup->go_write, "g", 1, err) < 0) {
    return -1;
  }
  cf_closep(&setup->go_write);
  return 0;
}

/* Reads the reports of a detached start: the intermediate child's host pid,
 * then the process's namespace pid, then end of file once the process has
 * exec'd, or the first error. */
static int collect_detached(exec_setup *setup, cf_process *out, cf_report *failure, cf_err **err)
{
  pid_t intermediate = 0;
  pid_t ns_pid = 0;
  failure->kind = 0;
  for (;;) {
    cf_report report;
    bool got;
    if (cf_report_read(setup->report_read, &report, &got, err) < 0) {
      return -1;
    }
    if (!got) {
      return 0;
    }
    /* The two pids come from two processes, in either order. */
    if (report.kind == CF_REPORT_PID) {
      intermediate = report.pid;
    } else if (report.kind == CF_REPORT_NS_PID) {
      ns_pid = report.pid;
    } else if (report.kind == CF_REPORT_ERROR && failure->kind == 0) {
      *failure = report;
    }
    if (intermediate > 0 && ns_pid > 0 && out->pid == 0 &&
        adopt_detached(setup, intermediate, ns_pid, out, err) < 0) {
      return -1;
    }
  }
}

static int spawn_detached(exec_setup *setup, cf_process *out, cf_err **err)
{
  *out = (cf_process){.pid = 0, .pidfd = -1, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1};
  pid_t helper = start_helper(setup, err);
  if (helper < 0) {
    return -1;
  }
  cf_report failure;
  int rc = collect_detached(setup, out, &failure, err);
  cf_closep(&setup->go_write);
  reap_pid(helper);
  if (rc == 0 && failure.kind != 0) {
    rc = cf_report_to_err(&failure, err);
  }
  if (rc == 0 && out->pid == 0) {
    rc = cf_err_set(err, CF_E_SYSTEM, "exec helper %d exited without starting the process",
                    (int)helper);
  }
  if (rc == 0 && take_terminal(setup, out, err) < 0) {
    /* The process already runs as the init's child, which reaps it. */
    cf_runtime_process_signal(out, SIGKILL, NULL);
    rc = -1;
  }
  if (rc < 0) {
    cf_process_close(out);
  }
  return rc;
}

static int spawn(exec_setup *setup, cf_process *out, cf_err **err)
{
  if (setup->plan.detach) {
    return spawn_detached(setup, out, err);
  }
  pid_t helper = start_helper(setup, err);
  if (helper < 0) {
    return -1;
  }
  pid_t pid;
  cf_report failure;
  int rc = collect_reports(setup, &pid, &failure, err);
  reap_pid(helper);
  if (rc < 0 || failure.kind != 0) {
    if (pid > 0) {
      kill_and_reap(pid);
    }
    return rc < 0 ? -1 : cf_report_to_err(&failure, err);
  }
  if (pid <= 0) {
    return cf_err_set(err, CF_E_SYSTEM, "exec helper %d exited without starting the process",
                      (int)helper);
  }

  int pidfd = cf_sys_pidfd_open(pid);
  if (pidfd < 0) {
    int saved = errno;
    kill_and_reap(pid);
    return cf_err_sys(err, saved, "open pidfd of process %d", (int)pid);
  }
  uint64_t start_time = 0;
  char state;
  cf_proc_stat_read(pid, &state, &start_time, NULL);
  *out = (cf_process){
      .pid = pid,
      .start_time = start_time,
      .pidfd = pidfd,
      .stdin_fd = cf_steal_fd(&setup->parent_stdio[0]),
      .stdout_fd = cf_steal_fd(&setup->parent_stdio[1]),
      .stderr_fd = cf_steal_fd(&setup->parent_stdio[2]),
  };
  if (take_terminal(setup, out, err) < 0) {
    kill_and_reap(pid);
    cf_process_close(out);
    return -1;
  }
  return 0;
}

int cf_runtime_exec(const cf_container_init *init, const cf_process_spec *spec, cf_process *out,
                    cf_err **err)
{
  if (spec->path == NULL || spec->path[0] == '\0') {
    return cf_err_set(err, CF_E_INVALID, "process path is missing");
  }
  if (spec->terminal && spec->stdio != NULL) {
    return cf_err_set(err, CF_E_INVALID,
                      "a process with a terminal cannot also be given stdio descriptors");
  }
  exec_setup setup;
  init_setup(&setup);
  setup.init_pid = init->pid;
  int rc = -1;
  if (open_init(init, &setup.plan, err) == 0 && resolve_user(spec, &setup, err) == 0 &&
      prepare_isolation(spec, &setup, err) == 0) {
    prepare_command(spec, &setup);
    rc = make_pipes(spec, &setup, err) == 0 ? spawn(&setup, out, err) : -1;
  }
  free_setup(&setup);
  return rc;
}
