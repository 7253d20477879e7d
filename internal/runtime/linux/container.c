/* SPDX-License-Identifier: Apache-2.0 */
/* Container create, destroy and liveness: the parent side of the init. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/mem.h"
#include "runtime/linux/init.h"
#include "runtime/linux/proc.h"
#include "runtime/linux/report.h"
#include "runtime/linux/sys.h"
#include "runtime/runtime.h"

#define HOSTNAME_MAX 64

/* mount(2) copies at most one page of options. */
#define MOUNT_OPTIONS_MAX 4096

/* fsconfig() copies at most 256 bytes of a string value, NUL included. */
#define FSCONFIG_VALUE_MAX 255

/* How long destroy waits for the init to exit after SIGKILL. */
#define DESTROY_TIMEOUT_MS 30000

/* The init's plan and the memory it points into. */
typedef struct init_setup {
  cf_init_plan plan;
  char hostname[HOSTNAME_MAX + 1];
  const char **lower_dirs;
} init_setup;

static int check_path(const char *label, const char *path, cf_err **err)
{
  if (path == NULL || path[0] == '\0') {
    return cf_err_set(err, CF_E_INVALID, "%s is missing", label);
  }
  if (path[0] != '/') {
    return cf_err_set(err, CF_E_INVALID, "%s %s is not an absolute path", label, path);
  }
  /* Overlay options escape ':' and ',' with a backslash. Whether fsconfig()
   * unescapes its values too is unverified, so paths with one are rejected. */
  if (strchr(path, '\\') != NULL) {
    return cf_err_set(err, CF_E_INVALID, "%s %s contains a backslash", label, path);
  }
  return 0;
}

/* The optional upper filesystem must come with a type and a mount point
 * that holds the upper and work directories. */
static int check_upper_fs(const cf_rootfs_spec *rootfs, cf_err **err)
{
  if (rootfs->upper_device == NULL) {
    return 0;
  }
  if (check_path("upper filesystem device", rootfs->upper_device, err) < 0 ||
      check_path("upper filesystem mount point", rootfs->upper_mount_dir, err) < 0) {
    return -1;
  }
  if (rootfs->upper_fs_type == NULL || rootfs->upper_fs_type[0] == '\0') {
    return cf_err_set(err, CF_E_INVALID, "upper filesystem %s has no filesystem type",
                      rootfs->upper_device);
  }
  size_t len = strlen(rootfs->upper_mount_dir);
  const char *dirs[] = {rootfs->upper_dir, rootfs->work_dir};
  for (size_t i = 0; i < 2; i++) {
    if (strncmp(dirs[i], rootfs->upper_mount_dir, len) != 0 || dirs[i][len] != '/') {
      return cf_err_set(err, CF_E_INVALID, "%s is not inside the upper filesystem mount point %s",
                        dirs[i], rootfs->upper_mount_dir);
    }
  }
  return 0;
}

static int check_spec(const cf_container_spec *spec, cf_err **err)
{
  if (cf_handle_validate(spec->handle, err) < 0) {
    return -1;
  }
  if (spec->hostname != NULL && strlen(spec->hostname) > HOSTNAME_MAX) {
    return cf_err_set(err, CF_E_INVALID, "hostname %s is longer than %d bytes", spec->hostname,
                      HOSTNAME_MAX);
  }
  const cf_rootfs_spec *rootfs = &spec->rootfs;
  if (rootfs->lower_count == 0) {
    return cf_err_set(err, CF_E_INVALID, "root filesystem has no lower layer");
  }
  for (size_t i = 0; i < rootfs->lower_count; i++) {
    if (check_path("lower layer", rootfs->lower_dirs[i], err) < 0) {
      return -1;
    }
  }
  if (check_path("upper layer", rootfs->upper_dir, err) < 0 ||
      check_path("work directory", rootfs->work_dir, err) < 0 ||
      check_path("root filesystem target", rootfs->target, err) < 0) {
    return -1;
  }
  return check_upper_fs(rootfs, err);
}

/* Returns path with ':' and ',' escaped for overlay mount options. */
static char *escape_overlay_path(const char *path)
{
  char *out = cf_xmalloc(2 * strlen(path) + 1);
  char *q = out;
  for (const char *p = path; *p != '\0'; p++) {
    if (*p == ':' || *p == ',') {
      *q++ = '\\';
    }
    *q++ = *p;
  }
  *q = '\0';
  return out;
}

/* Returns the overlay's mount(2) options, or NULL when they exceed a page. */
static char *overlay_options(const cf_rootfs_spec *rootfs, const char **top_first)
{
  char *options = cf_xstrdup("lowerdir=");
  for (size_t i = 0; i < rootfs->lower_count; i++) {
    cf_autofree char *dir = escape_overlay_path(top_first[i]);
    char *next = cf_xasprintf("%s%s%s", options, i > 0 ? ":" : "", dir);
    free(options);
    options = next;
  }
  cf_autofree char *upper = escape_overlay_path(rootfs->upper_dir);
  cf_autofree char *work = escape_overlay_path(rootfs->work_dir);
  char *full = cf_xasprintf("%s,upperdir=%s,workdir=%s", options, upper, work);
  free(options);
  if (strlen(full) >= MOUNT_OPTIONS_MAX) {
    free(full);
    return NULL;
  }
  return full;
}

static void prepare_init(const cf_container_spec *spec, init_setup *setup)
{
  const cf_rootfs_spec *rootfs = &spec->rootfs;
  setup->lower_dirs = cf_xcalloc(rootfs->lower_count, sizeof(char *));
  for (size_t i = 0; i < rootfs->lower_count; i++) {
    setup->lower_dirs[i] = rootfs->lower_dirs[rootfs->lower_count - 1 - i];
  }
  if (spec->hostname != NULL && spec->hostname[0] != '\0') {
    memcpy(setup->hostname, spec->hostname, strlen(spec->hostname) + 1);
  } else {
    cf_runtime_hostname(spec->handle, setup->hostname);
  }

  cf_init_plan *plan = &setup->plan;
  plan->target = rootfs->target;
  plan->overlay_options = overlay_options(rootfs, setup->lower_dirs);
  plan->lower_dirs = setup->lower_dirs;
  plan->lower_count = rootfs->lower_count;
  plan->upper_dir = rootfs->upper_dir;
  plan->work_dir = rootfs->work_dir;
  plan->upper_device = rootfs->upper_device;
  plan->upper_fs_type = rootfs->upper_fs_type;
  plan->upper_mount_dir = rootfs->upper_mount_dir;
  plan->hostname = setup->hostname;
  /* Without the argv area the init keeps the caller's command line. */
  if (cf_proc_self_args(&plan->args, &plan->args_len, NULL) < 0) {
    plan->args = NULL;
    plan->args_len = 0;
  }
  plan->report_fd = -1;
}

/* Checks that every layer path fits an fsconfig() value when the overlay
 * options are too long for mount(2). */
static int check_fsconfig_paths(const init_setup *setup, cf_err **err)
{
  const cf_init_plan *plan = &setup->plan;
  if (plan->overlay_options != NULL) {
    return 0;
  }
  const char *paths[] = {plan->upper_dir, plan->work_dir};
  for (size_t i = 0; i < plan->lower_count + 2; i++) {
    const char *path = i < plan->lower_count ? plan->lower_dirs[i] : paths[i - plan->lower_count];
    if (strlen(path) > FSCONFIG_VALUE_MAX) {
      return cf_err_set(err, CF_E_INVALID,
                        "layer path %s is longer than %d bytes, the most the kernel takes when "
                        "the overlay options exceed %d bytes",
                        path, FSCONFIG_VALUE_MAX, MOUNT_OPTIONS_MAX - 1);
    }
  }
  return 0;
}

static void free_init_setup(init_setup *setup)
{
  free(setup->plan.overlay_options);
  free(setup->lower_dirs);
}

/* Clones the init with every signal blocked, so no handler of the caller
 * runs in the child before it resets them. Returns its pid, or -1 with
 * errno set. */
static pid_t clone_init(cf_init_plan *plan)
{
  sigset_t all;
  sigset_t old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pid_t pid = cf_sys_clone(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET |
                           SIGCHLD);
  if (pid == 0) {
    cf_init_run(plan);
  }
  int saved = errno;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  errno = saved;
  return pid;
}

static int await_init(pid_t pid, int report_fd, cf_err **err)
{
  cf_report report;
  bool got;
  if (cf_report_read(report_fd, &report, &got, err) < 0) {
    return -1;
  }
  if (!got) {
    return cf_err_set(err, CF_E_SYSTEM, "container init %d exited during setup", (int)pid);
  }
  if (report.kind == CF_REPORT_ERROR) {
    return cf_report_to_err(&report, err);
  }
  if (report.kind != CF_REPORT_READY) {
    return cf_err_set(err, CF_E_SYSTEM, "container init %d sent report kind %d", (int)pid,
                      report.kind);
  }
  return 0;
}

static void kill_and_reap(pid_t pid)
{
  kill(pid, SIGKILL);
  while (waitpid(pid, NULL, __WALL) < 0 && errno == EINTR) {
  }
}

static int start_init(init_setup *setup, pid_t *pid, cf_err **err)
{
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) < 0) {
    return cf_err_sys(err, errno, "create report pipe");
  }
  cf_autoclose int report_read = fds[0];
  cf_autoclose int report_write = fds[1];
  setup->plan.report_fd = report_write;

  *pid = clone_init(&setup->plan);
  if (*pid < 0) {
    return cf_err_sys(err, errno, "clone container init");
  }
  cf_closep(&report_write);
  if (await_init(*pid, report_read, err) < 0) {
    kill_and_reap(*pid);
    return -1;
  }
  return 0;
}

int cf_runtime_container_create(const cf_container_spec *spec, cf_container_init *out, cf_err **err)
{
  if (check_spec(spec, err) < 0) {
    return -1;
  }
  init_setup setup = {0};
  prepare_init(spec, &setup);
  pid_t pid = -1;
  int rc = check_fsconfig_paths(&setup, err);
  if (rc == 0) {
    rc = start_init(&setup, &pid, err);
  }
  free_init_setup(&setup);
  if (rc < 0) {
    return -1;
  }

  char state;
  uint64_t start_time;
  if (cf_proc_stat_read(pid, &state, &start_time, err) < 0) {
    kill_and_reap(pid);
    return cf_err_wrap(err, "read start time of container init %d", (int)pid);
  }
  *out = (cf_container_init){.pid = pid, .start_time = start_time};
  return 0;
}

bool cf_runtime_container_alive(const cf_container_init *init)
{
  char state;
  uint64_t start_time;
  if (cf_proc_stat_read(init->pid, &state, &start_time, NULL) < 0) {
    return false;
  }
  return start_time == init->start_time && state != 'Z' && state != 'X';
}

static int64_t now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until the process behind pidfd has exited (pidfd readable). */
static int wait_exit(int pidfd, pid_t pid, cf_err **err)
{
  int64_t deadline = now_ms() + DESTROY_TIMEOUT_MS;
  for (;;) {
    int64_t left = deadline - now_ms();
    if (left <= 0) {
      return cf_err_set(err, CF_E_BUSY,
                        "container init %d has not exited %d s after SIGKILL; the kernel keeps "
                        "it until every process of the container is reaped",
                        (int)pid, DESTROY_TIMEOUT_MS / 1000);
    }
    struct pollfd pfd = {.fd = pidfd, .events = POLLIN};
    int n = poll(&pfd, 1, (int)left);
    if (n < 0 && errno != EINTR) {
      return cf_err_sys(err, errno, "wait for container init %d", (int)pid);
    }
    if (n > 0) {
      return 0;
    }
  }
}

/* Reaps the init when it is a child of the caller. */
static int reap(int pidfd, pid_t pid, cf_err **err)
{
  siginfo_t info;
  int rc;
  do {
    rc = waitid(P_PIDFD, (id_t)pidfd, &info, WEXITED | __WALL);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0 && errno != ECHILD) {
    return cf_err_sys(err, errno, "reap container init %d", (int)pid);
  }
  return 0;
}

int cf_runtime_container_destroy(const cf_container_init *init, cf_err **err)
{
  cf_autoclose int pidfd = -1;
  if (cf_proc_open_verified(init->pid, init->start_time, &pidfd, err) < 0) {
    return cf_err_wrap(err, "destroy container init %d", (int)init->pid);
  }
  if (pidfd < 0) {
    return 0;
  }
  if (cf_sys_pidfd_send_signal(pidfd, SIGKILL) < 0 && errno != ESRCH) {
    return cf_err_sys(err, errno, "kill container init %d", (int)init->pid);
  }
  if (wait_exit(pidfd, init->pid, err) < 0) {
    return -1;
  }
  return reap(pidfd, init->pid, err);
}
