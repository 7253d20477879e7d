/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The child side of container create. It runs in a copy of a multi-threaded
 * process, so it only makes system calls and uses memory the parent prepared.
 * Paths inside the root filesystem are relative to it: the init changes
 * into the overlay right after mounting it, and every mount point it creates
 * is made there, never on the host.
 */
#include "runtime/linux/init.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/linux/report.h"
#include "runtime/linux/sys.h"

#define INIT_NAME "cfwin-init"

/* Host devices bind-mounted into the container's /dev; the path without its
 * leading '/' is the mount point relative to the root filesystem. */
static const char *const host_devices[] = {
    "/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty",
};

/* Links in the container's /dev, relative to the root filesystem. */
static const char *const dev_links[][2] = {
    {"pts/ptmx", "dev/ptmx"},          {"/proc/self/fd", "dev/fd"},
    {"/proc/self/fd/0", "dev/stdin"},  {"/proc/self/fd/1", "dev/stdout"},
    {"/proc/self/fd/2", "dev/stderr"},
};

/* Reports the current errno with a message made of the strings given, and
 * evaluates to -1. */
#define FAIL(plan, ...)                                                                            \
  (cf_report_error((plan)->report_fd, CF_E_SYSTEM, errno, __VA_ARGS__, NULL), -1)

/* Reports a fault of a security or user namespace step. */
static int fail_step(cf_init_plan *plan, const cf_sec_fault *fault)
{
  cf_report_error(plan->report_fd, CF_E_SYSTEM, errno, fault->step, " ", fault->value, NULL);
  return -1;
}

/* Waits until the parent has put the init in its cgroup and written its id
 * maps, then becomes root of its user namespace. Until then the init runs
 * nothing it could not run outside the cgroup. */
static int await_parent(cf_init_plan *plan)
{
  cf_sec_fault fault;
  if (cf_sec_apply_not_dumpable(&fault) < 0 || cf_userns_sync_wait(&plan->sync, &fault) < 0) {
    return fail_step(plan, &fault);
  }
  if (plan->userns && cf_userns_become_root(&fault) < 0) {
    return fail_step(plan, &fault);
  }
  return 0;
}

/* Closes every descriptor inherited from the host but the report pipe, and
 * moves that above the standard streams. */
static int close_host_fds(cf_init_plan *plan)
{
  unsigned int fd = (unsigned int)plan->report_fd;
  if ((fd > 0 && cf_sys_close_range(0, fd - 1, 0) < 0) || cf_sys_close_range(fd + 1, ~0U, 0) < 0) {
    return FAIL(plan, "close inherited descriptors");
  }
  if (fd > 2) {
    return 0;
  }
  int moved = fcntl(plan->report_fd, F_DUPFD_CLOEXEC, 3);
  if (moved < 0) {
    return FAIL(plan, "move report pipe");
  }
  close(plan->report_fd);
  plan->report_fd = moved;
  return 0;
}

static int make_mounts_private(cf_init_plan *plan)
{
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
    return FAIL(plan, "make / rprivate");
  }
  return 0;
}

/* Mounts the overlay with one fsconfig() call per lower layer, for lists
 * longer than the one page mount(2) copies. Needs "lowerdir+" (Linux 6.8).
 * Descriptors left open on failure close when the child exits. */
static int mount_overlay_fsconfig(cf_init_plan *plan)
{
  int fs = fsopen("overlay", FSOPEN_CLOEXEC);
  if (fs < 0) {
    return FAIL(plan, "open overlay filesystem context for ", plan->target);
  }
  for (size_t i = 0; i < plan->lower_count; i++) {
    if (fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir+", plan->lower_dirs[i], 0) < 0) {
      return FAIL(plan, "add overlay lower layer ", plan->lower_dirs[i]);
    }
  }
  if (fsconfig(fs, FSCONFIG_SET_STRING, "upperdir", plan->upper_dir, 0) < 0) {
    return FAIL(plan, "set overlay upper layer ", plan->upper_dir);
  }
  if (fsconfig(fs, FSCONFIG_SET_STRING, "workdir", plan->work_dir, 0) < 0) {
    return FAIL(plan, "set overlay work directory ", plan->work_dir);
  }
  if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
    return FAIL(plan, "create overlay for ", plan->target);
  }
  int mnt = fsmount(fs, FSMOUNT_CLOEXEC, 0);
  if (mnt < 0 || move_mount(mnt, "", AT_FDCWD, plan->target, MOVE_MOUNT_F_EMPTY_PATH) < 0) {
    return FAIL(plan, "mount overlay on ", plan->target);
  }
  close(mnt);
  close(fs);
  return 0;
}

/* Mounts the filesystem that holds the overlay's upper and work
 * directories. After pivot_root detaches the host's tree, only the overlay
 * keeps this mount alive, and it goes away with the mount namespace. */
static int mount_upper_fs(cf_init_plan *plan)
{
  if (plan->upper_device == NULL || plan->upper_mount_fd >= 0) {
    return 0;
  }
  if (mount(plan->upper_device, plan->upper_mount_dir, plan->upper_fs_type, MS_NOATIME, NULL) < 0) {
    return FAIL(plan, "mount ", plan->upper_fs_type, " ", plan->upper_device, " on ",
                plan->upper_mount_dir);
  }
  return 0;
}

/* Attaches the upper filesystem the parent mounted detached, for an init
 * in a user namespace, which may not mount a block device. */
static int attach_upper_fs(cf_init_plan *plan)
{
  if (plan->upper_mount_fd < 0) {
    return 0;
  }
  if (move_mount(plan->upper_mount_fd, "", AT_FDCWD, plan->upper_mount_dir,
                 MOVE_MOUNT_F_EMPTY_PATH) < 0) {
    return FAIL(plan, "attach ", plan->upper_fs_type, " ", plan->upper_device, " on ",
                plan->upper_mount_dir);
  }
  /* The number stays set: mount_upper_fs() reads it as "attached". */
  close(plan->upper_mount_fd);
  return 0;
}

/* Mounts the overlay on the target, or binds a plain root directory onto
 * itself so it is a mount pivot_root accepts, and makes it the working
 * directory. */
static int mount_rootfs(cf_init_plan *plan)
{
  if (plan->plain_root) {
    if (mount(plan->target, plan->target, NULL, MS_BIND | MS_REC, NULL) < 0) {
      return FAIL(plan, "bind mount root directory ", plan->target);
    }
  } else if (mount_upper_fs(plan) < 0) {
    return -1;
  } else if (plan->overlay_options == NULL) {
    if (mount_overlay_fsconfig(plan) < 0) {
      return -1;
    }
  } else if (mount("overlay", plan->target, "overlay", 0, plan->overlay_options) < 0) {
    return FAIL(plan, "mount overlay on ", plan->target);
  }
  if (chdir(plan->target) < 0) {
    return FAIL(plan, "enter ", plan->target);
  }
  return 0;
}

/* Creates a directory in the root filesystem when missing. A symlink is
 * rejected, because a mount on it would land wherever it points. */
static int make_mount_point(cf_init_plan *plan, const char *path)
{
  struct stat st;
  if (mkdir(path, 0755) < 0 && errno != EEXIST) {
    return FAIL(plan, "create mount point ", plan->target, "/", path);
  }
  if (lstat(path, &st) < 0) {
    return FAIL(plan, "stat mount point ", plan->target, "/", path);
  }
  if (!S_ISDIR(st.st_mode)) {
    errno = ENOTDIR;
    return FAIL(plan, "mount point ", plan->target, "/", path);
  }
  return 0;
}

/* Creates the missing parents of a relative path in the root filesystem,
 * refusing symlinks, then the mount point itself: a directory, or an empty
 * file for a file bind mount. */
static int make_mount_path(cf_init_plan *plan, char *path, bool file)
{
  for (char *p = path;; p++) {
    if (*p != '/' && *p != '\0') {
      continue;
    }
    char saved = *p;
    *p = '\0';
    int rc = saved == '\0' && file ? 0 : make_mount_point(plan, path);
    *p = saved;
    if (rc < 0) {
      return -1;
    }
    if (saved == '\0') {
      break;
    }
  }
  if (!file) {
    return 0;
  }
  /* O_NONBLOCK: a FIFO of the image at the mount point must not wait for a
   * writer. */
  int fd = open(path, O_RDONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
  if (fd < 0) {
    return FAIL(plan, "create mount point ", plan->target, "/", path);
  }
  close(fd);
  return 0;
}

/* Bind flags that a remount must set, because MS_BIND ignores them. */
#define BIND_REMOUNT_FLAGS (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_RELATIME)

static int mount_one(cf_init_plan *plan, cf_init_mount *m)
{
  if (make_mount_path(plan, m->target, m->file) < 0) {
    return -1;
  }
  if (!m->bind) {
    if (mount(m->source, m->target, m->type, m->flags, m->data) < 0) {
      return FAIL(plan, "mount ", m->type, " on ", plan->target, "/", m->target);
    }
    return 0;
  }
  if (mount(m->source, m->target, NULL, MS_BIND | (m->recursive ? MS_REC : 0), NULL) < 0) {
    return FAIL(plan, "bind mount ", m->source, " on ", plan->target, "/", m->target);
  }
  if ((m->flags & BIND_REMOUNT_FLAGS) != 0 &&
      mount(NULL, m->target, NULL, MS_BIND | MS_REMOUNT | (m->flags & BIND_REMOUNT_FLAGS), NULL) <
          0) {
    return FAIL(plan, "remount bind mount of ", m->source, " on ", plan->target, "/", m->target);
  }
  return 0;
}

static int mount_fs(cf_init_plan *plan, const char *type, const char *path, unsigned long flags,
                    const char *options)
{
  if (make_mount_point(plan, path) < 0) {
    return -1;
  }
  if (mount(type, path, type, flags, options) < 0) {
    return FAIL(plan, "mount ", type, " on ", plan->target, "/", path);
  }
  return 0;
}

static int bind_host_device(cf_init_plan *plan, const char *device)
{
  const char *path = device + 1;
  int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
  if (fd < 0) {
    return FAIL(plan, "create ", plan->target, "/", path);
  }
  close(fd);
  if (mount(device, path, NULL, MS_BIND, NULL) < 0) {
    return FAIL(plan, "bind mount ", device, " on ", plan->target, "/", path);
  }
  return 0;
}

static int make_dev(cf_init_plan *plan)
{
  if (mount_fs(plan, "tmpfs", "dev", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k") < 0) {
    return -1;
  }
  for (size_t i = 0; i < sizeof(host_devices) / sizeof(host_devices[0]); i++) {
    if (bind_host_device(plan, host_devices[i]) < 0) {
      return -1;
    }
  }
  if (mount_fs(plan, "devpts", "dev/pts", MS_NOSUID | MS_NOEXEC,
               "newinstance,ptmxmode=0666,mode=0620") < 0) {
    return -1;
  }
  for (size_t i = 0; i < sizeof(dev_links) / sizeof(dev_links[0]); i++) {
    if (symlink(dev_links[i][0], dev_links[i][1]) < 0) {
      return FAIL(plan, "create link ", plan->target, "/", dev_links[i][1]);
    }
  }
  return mount_fs(plan, "tmpfs", "dev/shm", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777");
}

/* Adds the host devices and the /dev links to a /dev the bundle mounted;
 * entries the bundle already made stay. */
static int populate_dev(cf_init_plan *plan)
{
  struct stat st;
  for (size_t i = 0; i < sizeof(host_devices) / sizeof(host_devices[0]); i++) {
    if (lstat(host_devices[i] + 1, &st) < 0 && bind_host_device(plan, host_devices[i]) < 0) {
      return -1;
    }
  }
  for (size_t i = 0; i < sizeof(dev_links) / sizeof(dev_links[0]); i++) {
    if (lstat(dev_links[i][1], &st) < 0 && symlink(dev_links[i][0], dev_links[i][1]) < 0) {
      return FAIL(plan, "create link ", plan->target, "/", dev_links[i][1]);
    }
  }
  return 0;
}

static int make_own_mounts(cf_init_plan *plan)
{
  for (size_t i = 0; i < plan->mount_count; i++) {
    if (mount_one(plan, &plan->mounts[i]) < 0) {
      return -1;
    }
  }
  if (plan->dev_mounted) {
    return populate_dev(plan);
  }
  /* The init, the masked paths and every process need /dev/null. */
  struct stat st;
  if (stat("dev/null", &st) < 0) {
    return FAIL(plan, "no /dev mount in the bundle and no dev/null in ", plan->target,
                ": add a tmpfs mount on /dev");
  }
  return 0;
}

static int make_filesystems(cf_init_plan *plan)
{
  if (plan->own_mounts) {
    return make_own_mounts(plan);
  }
  if (mount_fs(plan, "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0 ||
      make_dev(plan) < 0) {
    return -1;
  }
  /* sysfs shows the network devices of the mounting process's network
   * namespace, here the container's own. */
  return mount_fs(plan, "sysfs", "sys", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
}

/* Makes the overlay the root. pivot_root(".", ".") stacks the old root on
 * top of the new one, so unmounting "." detaches the old root and with it
 * every host mount. */
static int switch_root(cf_init_plan *plan)
{
  if (cf_sys_pivot_root(".", ".") < 0) {
    return FAIL(plan, "pivot_root to ", plan->target);
  }
  if (umount2(".", MNT_DETACH) < 0) {
    return FAIL(plan, "detach the host root");
  }
  if (chdir("/") < 0) {
    return FAIL(plan, "enter the new root");
  }
  if (plan->readonly_root && mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0) {
    return FAIL(plan, "remount the root read-only");
  }
  return 0;
}

/* Masks and write-protects the paths of the security plan, once /proc, /sys
 * and /dev/null are in place in the new root. */
static int protect_paths(cf_init_plan *plan)
{
  cf_sec_fault fault;
  if (cf_sec_apply_paths(plan->sec, &fault) < 0) {
    return fail_step(plan, &fault);
  }
  return 0;
}

/* Joins the network namespace given; the descriptor closes with the
 * others right after. */
static int join_network(cf_init_plan *plan)
{
  if (plan->network_fd >= 0 && setns(plan->network_fd, CLONE_NEWNET) < 0) {
    return FAIL(plan, "join the network namespace");
  }
  return 0;
}

static int bring_loopback_up(cf_init_plan *plan)
{
  if (plan->network_fd >= 0) {
    return 0; /* the owner of the joined namespace brought it up */
  }
  int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0) {
    return FAIL(plan, "open socket to bring up lo");
  }
  struct ifreq ifr = {0};
  memcpy(ifr.ifr_name, "lo", sizeof("lo"));
  if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0) {
    return FAIL(plan, "read flags of lo");
  }
  ifr.ifr_flags |= IFF_UP;
  if (ioctl(sock, SIOCSIFFLAGS, &ifr) < 0) {
    return FAIL(plan, "bring up lo");
  }
  close(sock);
  return 0;
}

static int set_identity(cf_init_plan *plan)
{
  if (sethostname(plan->hostname, strlen(plan->hostname)) < 0) {
    return FAIL(plan, "set hostname ", plan->hostname);
  }
  /* /proc/1/cmdline would otherwise show the server's whole command line
   * inside the container. When the last byte of the argv area is not NUL, the
   * kernel reads the command line only up to the first NUL, as it does
   * for setproctitle(), so the name alone is shown. */
  prctl(PR_SET_NAME, INIT_NAME, 0, 0, 0);
  if (plan->args != NULL && plan->args_len > sizeof(INIT_NAME)) {
    memset(plan->args, 0, plan->args_len);
    memcpy(plan->args, INIT_NAME, sizeof(INIT_NAME));
    plan->args[plan->args_len - 1] = ' ';
  }
  return 0;
}

/* Points the standard streams at the container's /dev/null. */
static int redirect_stdio(cf_init_plan *plan)
{
  int fd = open("/dev/null", O_RDWR);
  if (fd < 0) {
    return FAIL(plan, "open /dev/null");
  }
  for (int target = 0; target < 3; target++) {
    if (fd != target && dup2(fd, target) < 0) {
      return FAIL(plan, "redirect standard streams to /dev/null");
    }
  }
  if (fd > 2) {
    close(fd);
  }
  return 0;
}

/* Reduces the init's capabilities to the plan's sets, which a root process
 * of the container gets too. Runs last, because the steps before need
 * CAP_SYS_ADMIN and CAP_NET_ADMIN. A privileged init keeps every capability. */
static int drop_capabilities(cf_init_plan *plan)
{
  cf_sec_fault fault;
  if (cf_sec_apply_bounding(plan->sec, &fault) < 0 || cf_sec_apply_caps(plan->sec, &fault) < 0) {
    return fail_step(plan, &fault);
  }
  return 0;
}

/* Reaps every process reparented to the init. All signals stay blocked and
 * are consumed here, so none queues up; only the host can end the init,
 * with SIGKILL. */
_Noreturn static void reap_forever(void)
{
  for (;;) {
    siginfo_t info;
    if (cf_sys_wait_signal(&info) != SIGCHLD) {
      continue;
    }
    while (waitpid(-1, NULL, WNOHANG | __WALL) > 0) {
    }
  }
}

_Noreturn void cf_init_run(cf_init_plan *plan)
{
  cf_sys_block_signals(1);
  cf_sys_default_signals();
  umask(022);
  if (await_parent(plan) < 0 || join_network(plan) < 0 || make_mounts_private(plan) < 0 ||
      attach_upper_fs(plan) < 0 || close_host_fds(plan) < 0 || mount_rootfs(plan) < 0 ||
      make_filesystems(plan) < 0 || switch_root(plan) < 0 || protect_paths(plan) < 0 ||
      set_identity(plan) < 0 || bring_loopback_up(plan) < 0 || redirect_stdio(plan) < 0 ||
      drop_capabilities(plan) < 0) {
    _exit(1);
  }
  cf_report_ready(plan->report_fd);
  close(plan->report_fd);
  reap_forever();
}
