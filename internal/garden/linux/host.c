/* SPDX-License-Identifier: Apache-2.0 */
#include "garden/host.h"

#include <errno.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysinfo.h>
#include <unistd.h>

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
