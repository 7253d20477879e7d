/* SPDX-License-Identifier: Apache-2.0 */
/* Container create, destroy and liveness: the parent side of the init. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <linux/nsfs.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/log.h"
#include "base/mem.h"
#include "runtime/linux/ctr_cgroup.h"
#include "runtime/linux/init.h"
#include "runtime/linux/proc.h"
#include "runtime/linux/report.h"
#include "runtime/linux/security.h"
#include "runtime/linux/sys.h"
#include "runtime/linux/userns.h"
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
  cf_sec_plan sec;
  cf_id_map uid_map;
  cf_id_map gid_map;
  cf_cgroup *cgroup;     /* NULL: the container has none */
  uint64_t memory_bytes; /* the memory limit, 0 for none */
} init_setup;

/* A mount option word and what it does. */
typedef struct mount_option {
  const char *name;
  bool clear; /* clears flag instead of setting it */
  unsigned long flag;
} mount_option;

static const mount_option mount_options[] = {
    {"ro", false, MS_RDONLY},          {"rw", true, MS_RDONLY},
    {"nosuid", false, MS_NOSUID},      {"suid", true, MS_NOSUID},
    {"nodev", false, MS_NODEV},        {"dev", true, MS_NODEV},
    {"noexec", false, MS_NOEXEC},      {"exec", true, MS_NOEXEC},
    {"sync", false, MS_SYNCHRONOUS},   {"async", true, MS_SYNCHRONOUS},
    {"dirsync", false, MS_DIRSYNC},    {"noatime", false, MS_NOATIME},
    {"atime", true, MS_NOATIME},       {"nodiratime", false, MS_NODIRATIME},
    {"diratime", true, MS_NODIRATIME}, {"relatime", false, MS_RELATIME},
    {"norelatime", true, MS_RELATIME}, {"strictatime", false, MS_STRICTATIME},
    {"mand", false, MS_MANDLOCK},      {"nomand", true, MS_MANDLOCK},
};

/* Propagation words: the init makes every mount private, so they are
 * accepted and have no effect. */
static const char *const propagation_options[] = {
    "private", "rprivate", "shared", "rshared", "slave", "rslave", "unbindable", "runbindable",
};

static bool is_propagation(const char *word)
{
  for (size_t i = 0; i < sizeof(propagation_options) / sizeof(propagation_options[0]); i++) {
    if (strcmp(word, propagation_options[i]) == 0) {
      return true;
    }
  }
  return false;
}

static bool apply_flag_word(const char *word, unsigned long *flags)
{
  for (size_t i = 0; i < sizeof(mount_options) / sizeof(mount_options[0]); i++) {
    if (strcmp(word, mount_options[i].name) == 0) {
      if (mount_options[i].clear) {
        *flags &= ~mount_options[i].flag;
      } else {
        *flags |= mount_options[i].flag;
      }
      return true;
    }
  }
  return false;
}

static void append_data(char **data, const char *word)
{
  char *next = *data == NULL ? cf_xstrdup(word) : cf_xasprintf("%s,%s", *data, word);
  free(*data);
  *data = next;
}

static bool has_option(const cf_mount_spec *m, const char *word)
{
  for (size_t i = 0; i < m->option_count; i++) {
    if (strcmp(m->options[i], word) == 0) {
      return true;
    }
  }
  return false;
}

static char *options_text(const cf_mount_spec *m)
{
  char *text = cf_xstrdup("");
  for (size_t i = 0; i < m->option_count; i++) {
    char *next = cf_xasprintf("%s%s%s", text, i > 0 ? " " : "", m->options[i]);
    free(text);
    text = next;
  }
  return text;
}

/* Turns an absolute mount destination into a path relative to the root
 * filesystem without empty or "." components ("." for the root itself). A
 * ".." component is rejected: the init creates missing mount points relative
 * to the root filesystem before pivot_root, so ".." would reach the host. */
static int mount_target(const char *destination, char **out, cf_err **err)
{
  cf_autofree char *copy = cf_xstrdup(destination);
  char *target = cf_xstrdup("");
  char *save = NULL;
  for (char *part = strtok_r(copy, "/", &save); part != NULL; part = strtok_r(NULL, "/", &save)) {
    if (strcmp(part, "..") == 0) {
      free(target);
      return cf_err_set(err, CF_E_INVALID,
                        "mount destination %s has a \"..\" component: give the path inside the "
                        "container without \"..\"",
                        destination);
    }
    if (strcmp(part, ".") != 0) {
      char *next = cf_xasprintf("%s%s%s", target, target[0] != '\0' ? "/" : "", part);
      free(target);
      target = next;
    }
  }
  if (target[0] == '\0') {
    free(target);
    target = cf_xstrdup(".");
  }
  *out = target;
  return 0;
}

/* Converts one OCI mount. A bind mount is read-only unless "rw" is given,
 * as winc does; both "ro" and "rw" is an error in winc's words. */
static int convert_mount(const char *handle, const cf_mount_spec *m, cf_init_mount *out,
                         cf_err **err)
{
  if (m->destination == NULL || m->destination[0] != '/') {
    return cf_err_set(err, CF_E_INVALID, "mount destination %s is not an absolute path",
                      m->destination != NULL ? m->destination : "\"\"");
  }
  const char *type = m->type != NULL && m->type[0] != '\0' ? m->type : "bind";
  out->bind = strcmp(type, "bind") == 0 || has_option(m, "bind") || has_option(m, "rbind");
  if (out->bind && has_option(m, "ro") && has_option(m, "rw")) {
    cf_autofree char *words = options_text(m);
    return cf_err_set(err, CF_E_INVALID, "invalid mount options for container %s: [%s]", handle,
                      words);
  }
  if (out->bind && (m->source == NULL || m->source[0] != '/')) {
    return cf_err_set(err, CF_E_INVALID, "bind mount source %s is not an absolute path",
                      m->source != NULL ? m->source : "\"\"");
  }
  out->flags = out->bind && !has_option(m, "rw") ? MS_RDONLY : 0;
  for (size_t i = 0; i < m->option_count; i++) {
    const char *word = m->options[i];
    if (strcmp(word, "bind") == 0 || strcmp(word, "rbind") == 0) {
      out->recursive = out->recursive || word[0] == 'r';
    } else if (!apply_flag_word(word, &out->flags) && !is_propagation(word)) {
      append_data(&out->data, word);
    }
  }
  if (mount_target(m->destination, &out->target, err) < 0) {
    return -1;
  }
  out->type = type;
  out->source = m->source != NULL ? m->source : type;
  struct stat st = {0};
  if (out->bind && stat(m->source, &st) < 0) {
    return cf_err_sys(err, errno, "bind mount source %s for %s", m->source, m->destination);
  }
  out->file = out->bind && !S_ISDIR(st.st_mode);
  return 0;
}

/* Converts the spec's mounts for the init. cgroup mounts are skipped. */
static int prepare_mounts(const cf_container_spec *spec, cf_init_plan *plan, cf_err **err)
{
  plan->own_mounts = spec->own_mounts;
  if (!spec->own_mounts) {
    return 0;
  }
  plan->mounts = cf_xcalloc(spec->mount_count + 1, sizeof(cf_init_mount));
  for (size_t i = 0; i < spec->mount_count; i++) {
    const cf_mount_spec *m = &spec->mounts[i];
    /* NOTE: cgroup mounts are skipped: showing the container its own
     * cgroup needs a cgroup namespace and one mount per v1 hierarchy. */
    if (m->type != NULL && (strcmp(m->type, "cgroup") == 0 || strcmp(m->type, "cgroup2") == 0)) {
      continue;
    }
    cf_init_mount *out = &plan->mounts[plan->mount_count++];
    if (convert_mount(spec->handle, m, out, err) < 0) {
      return -1;
    }
    if (strcmp(out->target, "dev") == 0) {
      plan->dev_mounted = true;
    }
  }
  return 0;
}

static void free_mounts(cf_init_plan *plan)
{
  for (size_t i = 0; i < plan->mount_count; i++) {
    free(plan->mounts[i].target);
    free(plan->mounts[i].data);
  }
  free(plan->mounts);
}

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
    return check_path("root filesystem target", rootfs->target, err);
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

  setup->memory_bytes = spec->limits.memory_bytes;

  cf_init_plan *plan = &setup->plan;
  plan->target = rootfs->target;
  plan->plain_root = rootfs->lower_count == 0;
  plan->readonly_root = rootfs->readonly;
  plan->network_fd = -1;
  plan->overlay_options = plan->plain_root ? NULL : overlay_options(rootfs, setup->lower_dirs);
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
  plan->sync = (cf_userns_sync){-1, -1};
  plan->upper_mount_fd = -1;
  plan->sec = &setup->sec;
}

/* Checks that every layer path fits an fsconfig() value when the overlay
 * options are too long for mount(2). */
static int check_fsconfig_paths(const init_setup *setup, cf_err **err)
{
  const cf_init_plan *plan = &setup->plan;
  if (plan->overlay_options != NULL || plan->plain_root) {
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
  free_mounts(&setup->plan);
  cf_closep(&setup->plan.network_fd);
  cf_closep(&setup->plan.upper_mount_fd);
  cf_userns_sync_close(&setup->plan.sync);
  cf_sec_plan_free(&setup->sec);
  cf_userns_map_free(&setup->uid_map);
  cf_userns_map_free(&setup->gid_map);
}

/* Builds the security plan: the bundle's settings, or the defaults. */
static int prepare_security(const cf_container_spec *spec, init_setup *setup, cf_err **err)
{
  if (spec->oci_config != NULL) {
    return cf_sec_plan_from_oci(spec->oci_config, spec->privileged, &setup->sec, err);
  }
  return cf_sec_plan_default(spec->privileged, &setup->sec, err);
}

static bool maps_root(const cf_id_map *map)
{
  for (size_t i = 0; i < map->count; i++) {
    if (map->ranges[i].container_id == 0) {
      return true;
    }
  }
  return false;
}

/* Copies and checks one id map of the spec. */
static int convert_map(const cf_runtime_id_map *lines, size_t count, const char *field,
                       cf_id_map *out, cf_err **err)
{
  out->ranges = cf_xcalloc(count > 0 ? count : 1, sizeof(cf_id_range));
  out->count = count;
  for (size_t i = 0; i < count; i++) {
    out->ranges[i] = (cf_id_range){lines[i].container_id, lines[i].host_id, lines[i].size};
  }
  if (cf_userns_map_validate(out, field, err) < 0) {
    return -1;
  }
  if (!maps_root(out)) {
    return cf_err_set(err, CF_E_INVALID,
                      "%s maps no host id to id 0 of the container: the init runs as root of "
                      "its user namespace",
                      field);
  }
  return 0;
}

/* Mounts the upper filesystem detached, in the host's user namespace,
 * because the kernel lets no user namespace but the host's mount a block
 * device. The init attaches it in its own mount namespace. */
static int mount_upper_detached(const cf_rootfs_spec *rootfs, cf_init_plan *plan, cf_err **err)
{
  cf_autoclose int fs = fsopen(rootfs->upper_fs_type, FSOPEN_CLOEXEC);
  if (fs < 0) {
    return cf_err_sys(err, errno, "open %s filesystem context for %s", rootfs->upper_fs_type,
                      rootfs->upper_device);
  }
  if (fsconfig(fs, FSCONFIG_SET_STRING, "source", rootfs->upper_device, 0) < 0 ||
      fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
    return cf_err_sys(err, errno, "mount %s %s", rootfs->upper_fs_type, rootfs->upper_device);
  }
  plan->upper_mount_fd = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOATIME);
  if (plan->upper_mount_fd < 0) {
    return cf_err_sys(err, errno, "mount %s %s", rootfs->upper_fs_type, rootfs->upper_device);
  }
  return 0;
}

/* Prepares a user namespace when the spec has id maps. */
static int prepare_userns(const cf_container_spec *spec, init_setup *setup, cf_err **err)
{
  if (spec->uid_map_count == 0) {
    if (spec->gid_map_count > 0) {
      return cf_err_set(err, CF_E_INVALID, "container %s has a gid map but no uid map",
                        spec->handle);
    }
    return 0;
  }
  if (convert_map(spec->uid_map, spec->uid_map_count, "uid map", &setup->uid_map, err) < 0 ||
      convert_map(spec->gid_map, spec->gid_map_count, "gid map", &setup->gid_map, err) < 0) {
    return cf_err_wrap(err, "container %s", spec->handle);
  }
  /* NOTE: joining a network namespace needs CAP_SYS_ADMIN in the user
   * namespace that owns it, which the init in its own user namespace lacks. */
  if (spec->network_path != NULL) {
    return cf_err_set(err, CF_E_NOT_IMPLEMENTED,
                      "container %s has a user namespace and joins network namespace %s: a "
                      "container with id maps needs its own network namespace",
                      spec->handle, spec->network_path);
  }
  setup->plan.userns = true;
  if (spec->rootfs.upper_device != NULL && spec->rootfs.lower_count > 0) {
    return mount_upper_detached(&spec->rootfs, &setup->plan, err);
  }
  return 0;
}

static int open_network(const cf_container_spec *spec, cf_init_plan *plan, cf_err **err)
{
  if (spec->network_path == NULL) {
    return 0;
  }
  /* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer. */
  plan->network_fd = open(spec->network_path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (plan->network_fd < 0) {
    return cf_err_sys(err, errno, "open network namespace %s", spec->network_path);
  }
  int type = ioctl(plan->network_fd, NS_GET_NSTYPE);
  if (type != CLONE_NEWNET) {
    return cf_err_set(err, CF_E_INVALID,
                      "network namespace %s is not a network namespace: give /proc/PID/ns/net "
                      "of a process in it, or a bind mount of that file",
                      spec->network_path);
  }
  return 0;
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
  unsigned long network = plan->network_fd >= 0 ? 0 : CLONE_NEWNET;
  unsigned long user = plan->userns ? CLONE_NEWUSER : 0;
  pid_t pid = cf_sys_clone(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | network |
                           user | SIGCHLD);
  if (pid == 0) {
    cf_init_run(plan);
  }
  int saved = errno;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  errno = saved;
  return pid;
}

/* Explains an init that ended without a report. SIGKILL during setup is
 * most often the OOM killer acting on a memory limit the init cannot run in. */
static int init_ended(pid_t pid, uint64_t memory_bytes, cf_err **err)
{
  siginfo_t info = {0};
  if (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT | __WALL) < 0 ||
      info.si_code == CLD_EXITED) {
    return cf_err_set(err, CF_E_SYSTEM, "container init %d exited during setup", (int)pid);
  }
  if (info.si_status == SIGKILL && memory_bytes > 0) {
    return cf_err_set(err, CF_E_INVALID,
                      "container init %d was killed during setup: its memory limit of %llu "
                      "bytes is too low to start it; raise the limit",
                      (int)pid, (unsigned long long)memory_bytes);
  }
  return cf_err_set(err, CF_E_SYSTEM, "container init %d was killed by signal %d during setup",
                    (int)pid, info.si_status);
}

static int await_init(pid_t pid, uint64_t memory_bytes, int report_fd, cf_err **err)
{
  cf_report report;
  bool got;
  if (cf_report_read(report_fd, &report, &got, err) < 0) {
    return -1;
  }
  if (!got) {
    return init_ended(pid, memory_bytes, err);
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

/* Keeps the memory cgroup's OOM killer away from the init: memory that no
 * process owns, such as tmpfs files, makes the tiny init the largest
 * target, and killing it ends the container. Lowering the score needs
 * CAP_SYS_RESOURCE, so without it the init keeps the default score.
 * NOTE: the CI machines lack CAP_SYS_RESOURCE, so this never takes effect
 * in the tests. */
static void protect_init_from_oom(pid_t pid)
{
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", (int)pid);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    return;
  }
  if (write(fd, "-1000", 5) < 0 && errno != EACCES) {
    cf_log(CF_LOG_DEBUG, "runtime.oom-score-adj-failed", "{s:i, s:s}", "pid", (int)pid, "error",
           strerror(errno));
  }
  close(fd);
}

/* Puts the waiting init in the container's cgroup, writes its id maps and
 * lets it go on. */
static int release_init(init_setup *setup, pid_t pid, cf_err **err)
{
  if (setup->cgroup != NULL && cf_cgroup_add_pid(setup->cgroup, pid, err) < 0) {
    return cf_err_wrap(err, "put container init %d in its cgroup", (int)pid);
  }
  protect_init_from_oom(pid);
  if (setup->plan.userns && cf_userns_write_maps(pid, &setup->uid_map, &setup->gid_map, err) < 0) {
    return cf_err_wrap(err, "write the id maps of container init %d", (int)pid);
  }
  return cf_userns_sync_release(&setup->plan.sync, err);
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
  if (cf_userns_sync_open(&setup->plan.sync, err) < 0) {
    return -1;
  }

  *pid = clone_init(&setup->plan);
  if (*pid < 0) {
    return cf_err_sys(err, errno, "clone container init");
  }
  cf_closep(&report_write);
  cf_userns_sync_close_child(&setup->plan.sync);
  cf_closep(&setup->plan.upper_mount_fd);
  if (release_init(setup, *pid, err) < 0 ||
      await_init(*pid, setup->memory_bytes, report_read, err) < 0) {
    cf_userns_sync_close(&setup->plan.sync);
    kill_and_reap(*pid);
    return -1;
  }
  return 0;
}

static int read_start_time(pid_t pid, cf_container_init *out, cf_err **err)
{
  char state;
  uint64_t start_time;
  if (cf_proc_stat_read(pid, &state, &start_time, err) < 0) {
    kill_and_reap(pid);
    return cf_err_wrap(err, "read start time of container init %d", (int)pid);
  }
  *out = (cf_container_init){.pid = pid, .start_time = start_time};
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
    rc = prepare_mounts(spec, &setup.plan, err);
  }
  if (rc == 0) {
    rc = open_network(spec, &setup.plan, err);
  }
  if (rc == 0) {
    rc = prepare_security(spec, &setup, err);
  }
  if (rc == 0) {
    rc = prepare_userns(spec, &setup, err);
  }
  if (rc == 0) {
    rc = cf_ctr_cgroup_create(spec, &setup.cgroup, err);
  }
  if (rc == 0) {
    rc = start_init(&setup, &pid, err);
  }
  if (rc == 0) {
    rc = read_start_time(pid, out, err);
  }
  if (rc < 0 && setup.cgroup != NULL) {
    cf_cgroup_destroy(setup.cgroup, NULL);
  }
  cf_cgroup_free(setup.cgroup);
  free_init_setup(&setup);
  return rc;
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
  /* Found while the init lives: its cgroup names the container. */
  cf_cgroup *cg = NULL;
  if (cf_ctr_cgroup_of_pid(init->pid, &cg, err) < 0) {
    return cf_err_wrap(err, "destroy container init %d", (int)init->pid);
  }
  int rc = 0;
  if (cf_sys_pidfd_send_signal(pidfd, SIGKILL) < 0 && errno != ESRCH) {
    rc = cf_err_sys(err, errno, "kill container init %d", (int)init->pid);
  }
  if (rc == 0) {
    rc = wait_exit(pidfd, init->pid, err);
  }
  if (rc == 0) {
    rc = reap(pidfd, init->pid, err);
  }
  if (rc == 0 && cg != NULL) {
    rc = cf_cgroup_destroy(cg, err);
  }
  cf_cgroup_free(cg);
  return rc;
}

int cf_runtime_container_cleanup(const char *handle, cf_err **err)
{
  cf_cgroup *cg = NULL;
  cf_err *open_err = NULL;
  if (cf_ctr_cgroup_open(handle, &cg, &open_err) < 0) {
    enum cf_code code = open_err->code;
    if (code != CF_E_NOT_FOUND && err != NULL) {
      cf_err_free(*err);
      *err = open_err;
      return -1;
    }
    cf_err_free(open_err);
    return code == CF_E_NOT_FOUND ? 0 : -1;
  }
  int rc = cf_cgroup_destroy(cg, err);
  cf_cgroup_free(cg);
  return rc;
}

bool cf_runtime_container_has_network(const cf_container_init *init, const char *netns_path)
{
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)init->pid);
  struct stat ours;
  struct stat theirs;
  return cf_runtime_container_alive(init) && stat(path, &ours) == 0 &&
         stat(netns_path, &theirs) == 0 && ours.st_dev == theirs.st_dev &&
         ours.st_ino == theirs.st_ino;
}
