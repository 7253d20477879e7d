/* SPDX-License-Identifier: Apache-2.0 */
#include "garden/host.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/mem.h"

int cf_host_memory_bytes(uint64_t *bytes, cf_err **err)
{
  struct sysinfo si;
  if (sysinfo(&si) < 0) {
    return cf_err_sys(err, errno, "read host memory size");
  }
  *bytes = (uint64_t)si.totalram * si.mem_unit;
  return 0;
}

int cf_host_disk_bytes(const char *path, uint64_t *bytes, cf_err **err)
{
  struct statvfs vfs;
  if (statvfs(path, &vfs) < 0) {
    return cf_err_sys(err, errno, "read disk size of %s", path);
  }
  *bytes = (uint64_t)vfs.f_blocks * vfs.f_frsize;
  return 0;
}

long cf_host_cpu_count(void)
{
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  return cores > 0 ? cores : 0;
}

void cf_host_ignore_broken_pipes(void)
{
  signal(SIGPIPE, SIG_IGN);
}

void cf_host_remove_stale_socket(const char *path)
{
  struct stat st;
  if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
    unlink(path);
  }
}

#define LOCK_ATTEMPTS 30
#define LOCK_RETRY_US (100 * 1000) /* 30 attempts: about 3 s */
#define NETWORK_LOCK_DIR "/run/cfwin/networks"

struct cf_depot_lock {
  int fd;
};

/* Names the process that holds the lock at path, from the id it wrote. */
static int lock_busy(int fd, const char *path, const char *remedy, cf_err **err)
{
  char text[32] = "";
  ssize_t n = pread(fd, text, sizeof(text) - 1, 0);
  text[n > 0 ? n : 0] = '\0';
  text[strcspn(text, "\n")] = '\0';
  return cf_err_set(err, CF_E_BUSY, "%s is locked by another cfwin process (pid %s): %s", path,
                    text[0] != '\0' ? text : "unknown", remedy);
}

/* Takes the lock file at path without waiting (apart from a short retry)
 * and writes this process's id into it. The remedy names how to resolve a
 * busy lock. */
static int lock_file(const char *path, const char *remedy, cf_depot_lock **out, cf_err **err)
{
  cf_autoclose int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    return cf_err_sys(err, errno, "open the lock file %s", path);
  }
  /* A child forked by a server that was just killed may still share the
   * lock for a moment, so a busy lock is tried again for a while. */
  for (int attempt = 1; flock(fd, LOCK_EX | LOCK_NB) < 0; attempt++) {
    if (errno != EWOULDBLOCK) {
      return cf_err_sys(err, errno, "lock %s", path);
    }
    if (attempt >= LOCK_ATTEMPTS) {
      return lock_busy(fd, path, remedy, err);
    }
    usleep(LOCK_RETRY_US);
  }
  char pid[32];
  int len = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
  if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)len, 0) != len) {
    return cf_err_sys(err, errno, "write this process's id into %s", path);
  }
  cf_depot_lock *lock = cf_xcalloc(1, sizeof(*lock));
  lock->fd = cf_steal_fd(&fd);
  *out = lock;
  return 0;
}

int cf_host_depot_lock(const char *depot, cf_depot_lock **out, cf_err **err)
{
  cf_autofree char *path = cf_path_join(depot, "server.lock");
  return lock_file(path,
                   "a server or `gdn cleanup` uses the same depot; stop it first, or give this "
                   "one its own --depot",
                   out, err);
}

int cf_host_network_lock(const char *name, cf_depot_lock **out, cf_err **err)
{
  struct stat ns;
  if (stat("/proc/self/ns/net", &ns) < 0) {
    return cf_err_sys(err, errno, "read this process's network namespace");
  }
  if (cf_mkdir_p(NETWORK_LOCK_DIR, 0700, err) < 0) {
    return cf_err_wrap(err, "lock container network %s", name);
  }
  cf_autofree char *path =
      cf_xasprintf("%s/%llu-%s.lock", NETWORK_LOCK_DIR, (unsigned long long)ns.st_ino, name);
  return lock_file(path,
                   "a server or `gdn cleanup` uses the same container network in this network "
                   "namespace; stop it first, or give this one its own --network-name",
                   out, err);
}

void cf_host_depot_unlock(cf_depot_lock *lock)
{
  if (lock != NULL) {
    close(lock->fd);
    free(lock);
  }
}
