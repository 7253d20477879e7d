/* SPDX-License-Identifier: Apache-2.0 */
#include "runtime/linux/proc.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/mem.h"
#include "runtime/linux/sys.h"

/* Reads /proc/<pid>/stat into buf; fails with CF_E_NOT_FOUND for no process. */
static int read_stat(pid_t pid, char *buf, size_t size, cf_err **err)
{
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
  cf_autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 && (errno == ENOENT || errno == ESRCH)) {
    return cf_err_set(err, CF_E_NOT_FOUND, "no process with pid %d", (int)pid);
  }
  if (fd < 0) {
    return cf_err_sys(err, errno, "open %s", path);
  }
  ssize_t n;
  do {
    n = read(fd, buf, size - 1);
  } while (n < 0 && errno == EINTR);
  if (n < 0 && errno == ESRCH) {
    return cf_err_set(err, CF_E_NOT_FOUND, "no process with pid %d", (int)pid);
  }
  if (n < 0) {
    return cf_err_sys(err, errno, "read %s", path);
  }
  buf[n] = '\0';
  return 0;
}

/* Returns the text of /proc/<pid>/stat from field 3 on. The command name
 * (field 2) may contain spaces and parentheses, so fields are counted from
 * the last ')'. */
static const char *stat_fields(pid_t pid, char *buf, size_t size, cf_err **err)
{
  if (read_stat(pid, buf, size, err) < 0) {
    return NULL;
  }
  char *p = strrchr(buf, ')');
  if (p == NULL || p[1] != ' ' || p[2] == '\0') {
    cf_err_set(err, CF_E_SYSTEM, "parse /proc/%d/stat: no command name", (int)pid);
    return NULL;
  }
  return p + 2;
}

/* Parses field n (n >= 3) from the fields returned by stat_fields(). */
static bool stat_field(const char *fields, int n, uint64_t *out)
{
  const char *p = fields;
  for (int field = 3; field < n; field++) {
    p = strchr(p, ' ');
    if (p == NULL) {
      return false;
    }
    p++;
  }
  char *end;
  errno = 0;
  unsigned long long value = strtoull(p, &end, 10);
  if (errno != 0 || end == p) {
    return false;
  }
  *out = value;
  return true;
}

int cf_proc_stat_read(pid_t pid, char *state, uint64_t *start_time, cf_err **err)
{
  char buf[2048];
  const char *fields = stat_fields(pid, buf, sizeof(buf), err);
  if (fields == NULL) {
    return -1;
  }
  if (!stat_field(fields, 22, start_time)) {
    return cf_err_set(err, CF_E_SYSTEM, "parse /proc/%d/stat: invalid start time", (int)pid);
  }
  *state = fields[0];
  return 0;
}

int cf_proc_self_args(char **start, size_t *len, cf_err **err)
{
  char buf[2048];
  uint64_t arg_start;
  uint64_t arg_end;
  const char *fields = stat_fields(getpid(), buf, sizeof(buf), err);
  if (fields == NULL) {
    return -1;
  }
  if (!stat_field(fields, 48, &arg_start) || !stat_field(fields, 49, &arg_end) ||
      arg_end <= arg_start) {
    return cf_err_set(err, CF_E_SYSTEM, "parse /proc/self/stat: no argument area");
  }
  *start = (char *)(uintptr_t)arg_start;
  *len = (size_t)(arg_end - arg_start);
  return 0;
}

int cf_proc_open_verified(pid_t pid, uint64_t start_time, int *pidfd, cf_err **err)
{
  *pidfd = -1;
  cf_autoclose int fd = cf_sys_pidfd_open(pid);
  if (fd < 0 && errno == ESRCH) {
    return 0;
  }
  if (fd < 0) {
    return cf_err_sys(err, errno, "open pidfd of %d", (int)pid);
  }

  char state;
  uint64_t actual;
  cf_err *stat_err = NULL;
  if (cf_proc_stat_read(pid, &state, &actual, &stat_err) < 0) {
    bool no_process = stat_err->code == CF_E_NOT_FOUND;
    if (no_process || err == NULL) {
      cf_err_free(stat_err);
      return no_process ? 0 : -1;
    }
    cf_err_free(*err);
    *err = stat_err;
    return -1;
  }
  if (actual != start_time) {
    return 0;
  }

  /* The pid could have been reused between pidfd_open() and the read of
   * /proc. A signal 0 through the pidfd succeeds only while the process the
   * pidfd names has not been reaped, and until then its pid is not reused,
   * so the start time read above was its own. */
  if (cf_sys_pidfd_send_signal(fd, 0) < 0) {
    if (errno == ESRCH) {
      return 0;
    }
    return cf_err_sys(err, errno, "signal pidfd of %d", (int)pid);
  }
  *pidfd = cf_steal_fd(&fd);
  return 0;
}

/* Reads the PPid and the last NSpid field from /proc/<name>/status. */
static bool read_status_ids(const char *name, long *ppid, long *ns_pid)
{
  char path[300];
  snprintf(path, sizeof(path), "/proc/%s/status", name);
  FILE *f = fopen(path, "re");
  if (f == NULL) {
    return false;
  }
  char line[512];
  bool have_ppid = false;
  bool have_ns_pid = false;
  while (fgets(line, sizeof(line), f) != NULL) {
    if (strncmp(line, "PPid:", 5) == 0) {
      have_ppid = sscanf(line + 5, "%ld", ppid) == 1;
    } else if (strncmp(line, "NSpid:", 6) == 0) {
      char *last = strrchr(line, '\t');
      have_ns_pid = last != NULL && sscanf(last + 1, "%ld", ns_pid) == 1;
    }
  }
  fclose(f);
  return have_ppid && have_ns_pid;
}

static int init_gone(pid_t pid, int *pidfd, int *root_fd, cf_err **err)
{
  cf_closep(pidfd);
  cf_closep(root_fd);
  return cf_err_set(err, CF_E_NOT_FOUND, "container init %d is not running", (int)pid);
}

int cf_proc_open_init(pid_t pid, uint64_t start_time, int *pidfd, int *root_fd, cf_err **err)
{
  *root_fd = -1;
  if (cf_proc_open_verified(pid, start_time, pidfd, err) < 0) {
    return -1;
  }
  if (*pidfd < 0) {
    return init_gone(pid, pidfd, root_fd, err);
  }
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/root", (int)pid);
  *root_fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (*root_fd < 0) {
    int saved = errno;
    cf_closep(pidfd);
    return cf_err_sys(err, saved, "open %s", path);
  }
  /* The root was opened by pid: it is the init's only if the init still
   * runs now. */
  if (cf_sys_pidfd_send_signal(*pidfd, 0) < 0) {
    return init_gone(pid, pidfd, root_fd, err);
  }
  return 0;
}

int cf_proc_host_pid(pid_t parent, pid_t ns_pid, pid_t *pid, cf_err **err)
{
  DIR *proc = opendir("/proc");
  if (proc == NULL) {
    return cf_err_sys(err, errno, "open /proc");
  }
  struct dirent *entry;
  *pid = 0;
  while ((entry = readdir(proc)) != NULL && *pid == 0) {
    long ppid;
    long nspid;
    if (entry->d_name[0] < '1' || entry->d_name[0] > '9' ||
        !read_status_ids(entry->d_name, &ppid, &nspid)) {
      continue;
    }
    if (ppid == parent && nspid == ns_pid) {
      *pid = (pid_t)strtol(entry->d_name, NULL, 10);
    }
  }
  closedir(proc);
  if (*pid == 0) {
    return cf_err_set(err, CF_E_NOT_FOUND, "no child of %d has pid %d in its namespace",
                      (int)parent, (int)ns_pid);
  }
  return 0;
}

int cf_proc_pid_ns(pid_t pid, uint64_t *inode, cf_err **err)
{
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)pid);
  struct stat st;
  if (stat(path, &st) < 0) {
    if (errno == ENOENT || errno == ESRCH) {
      return cf_err_set(err, CF_E_NOT_FOUND, "no process with pid %d", (int)pid);
    }
    return cf_err_sys(err, errno, "stat %s", path);
  }
  *inode = (uint64_t)st.st_ino;
  return 0;
}
