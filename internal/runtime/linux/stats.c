/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The processes of a container and their summed statistics, found through
 * /proc: a process belongs to the container when it shares the init's pid
 * namespace.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/mem.h"
#include "runtime/linux/proc.h"
#include "runtime/runtime.h"

static int compare_pids(const void *a, const void *b)
{
  pid_t x = *(const pid_t *)a;
  pid_t y = *(const pid_t *)b;
  return (x > y) - (x < y);
}

int cf_runtime_container_pids(const cf_container_init *init, pid_t **pids, size_t *count,
                              cf_err **err)
{
  *pids = NULL;
  *count = 0;
  uint64_t ns;
  if (!cf_runtime_container_alive(init)) {
    return 0;
  }
  if (cf_proc_pid_ns(init->pid, &ns, err) < 0) {
    return -1;
  }
  DIR *proc = opendir("/proc");
  if (proc == NULL) {
    return cf_err_sys(err, errno, "open /proc");
  }
  struct dirent *entry;
  while ((entry = readdir(proc)) != NULL) {
    if (entry->d_name[0] < '1' || entry->d_name[0] > '9') {
      continue;
    }
    pid_t pid = (pid_t)strtol(entry->d_name, NULL, 10);
    uint64_t other;
    if (pid == init->pid || cf_proc_pid_ns(pid, &other, NULL) < 0 || other != ns) {
      continue;
    }
    *pids = cf_xrealloc(*pids, (*count + 1) * sizeof(pid_t));
    (*pids)[(*count)++] = pid;
  }
  closedir(proc);
  if (*count > 1) {
    qsort(*pids, *count, sizeof(pid_t), compare_pids);
  }
  return 0;
}

/* Adds the user and system time (fields 14 and 15 of /proc/<pid>/stat) and
 * the resident size (field 24, in pages) of one process. */
static void add_process(pid_t pid, cf_container_stats *out)
{
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "re");
  if (f == NULL) {
    return;
  }
  char text[2048];
  size_t n = fread(text, 1, sizeof(text) - 1, f);
  fclose(f);
  text[n] = '\0';
  const char *p = strrchr(text, ')');
  unsigned long long utime = 0;
  unsigned long long stime = 0;
  long long rss = 0;
  if (p == NULL || sscanf(p + 2,
                          "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d "
                          "%*d %*d %*u %*u %lld",
                          &utime, &stime, &rss) != 3) {
    return;
  }
  uint64_t ns_per_tick = 1000000000ULL / (uint64_t)sysconf(_SC_CLK_TCK);
  out->cpu_user_ns += utime * ns_per_tick;
  out->cpu_kernel_ns += stime * ns_per_tick;
  out->cpu_total_ns += (utime + stime) * ns_per_tick;
  if (rss > 0) {
    out->memory_rss += (uint64_t)rss * (uint64_t)sysconf(_SC_PAGESIZE);
  }
  out->pids++;
}

int cf_runtime_container_stats(const cf_container_init *init, cf_container_stats *out, cf_err **err)
{
  *out = (cf_container_stats){0};
  cf_autofree pid_t *pids = NULL;
  size_t count = 0;
  if (cf_runtime_container_pids(init, &pids, &count, err) < 0) {
    return -1;
  }
  for (size_t i = 0; i < count; i++) {
    add_process(pids[i], out);
  }
  return 0;
}
