/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Finding container inits that no record names. An init is recognised by
 * two facts the kernel shows: it is pid 1 of its pid namespace (the last
 * NSpid value in /proc/<pid>/status), and its mount table has the overlay
 * root filesystem whose upperdir lies in a given directory.
 */
#include <errno.h>
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/mem.h"
#include "runtime/linux/ctr_cgroup.h"
#include "runtime/runtime.h"

#define MAX_PROC_FILE (16 * 1024 * 1024)

static bool read_proc_file(const char *pid, const char *name, cf_buf *text)
{
  cf_autofree char *path = cf_xasprintf("/proc/%s/%s", pid, name);
  cf_buf_init(text, MAX_PROC_FILE);
  if (cf_read_file(path, text, NULL) < 0 || text->data == NULL) {
    cf_buf_free(text);
    return false;
  }
  return true;
}

/* True when the process is pid 1 of its innermost pid namespace but not of
 * the host's: its NSpid line lists several pids and the last one is 1. */
static bool is_namespace_init(const char *pid)
{
  cf_buf status;
  if (!read_proc_file(pid, "status", &status)) {
    return false;
  }
  const char *line = strstr(status.data, "\nNSpid:");
  size_t levels = 0;
  long last = 0;
  if (line != NULL) {
    const char *p = line + strlen("\nNSpid:");
    char *end = NULL;
    for (long value = strtol(p, &end, 10); end != p; value = strtol(p, &end, 10)) {
      last = value;
      levels++;
      p = end;
    }
  }
  cf_buf_free(&status);
  return levels >= 2 && last == 1;
}

/* Writes path as the kernel escapes it in mountinfo (space, tab, newline
 * and backslash as octal). */
static char *mountinfo_escape(const char *path)
{
  cf_buf out;
  cf_buf_init(&out, strlen(path) * 4 + 1);
  for (const char *p = path; *p != '\0'; p++) {
    if (strchr(" \t\n\\", *p) != NULL) {
      cf_buf_printf(&out, NULL, "\\%03o", (unsigned char)*p);
    } else {
      cf_buf_append(&out, p, 1, NULL);
    }
  }
  return cf_buf_take(&out);
}

static bool has_upper_dir_under(const char *pid, const char *needle)
{
  cf_buf mountinfo;
  if (!read_proc_file(pid, "mountinfo", &mountinfo)) {
    return false;
  }
  bool found = strstr(mountinfo.data, needle) != NULL;
  cf_buf_free(&mountinfo);
  return found;
}

static bool is_kept(pid_t pid, const pid_t *keep, size_t keep_count)
{
  for (size_t i = 0; i < keep_count; i++) {
    if (keep[i] == pid) {
      return true;
    }
  }
  return false;
}

static int destroy_init(pid_t pid, cf_err **err)
{
  cf_container_init init = {.pid = pid};
  if (cf_runtime_pid_start_time(pid, &init.start_time, err) < 0) {
    return -1;
  }
  return cf_runtime_container_destroy(&init, err);
}

int cf_runtime_sweep_inits(const char *dir_prefix, const pid_t *keep, size_t keep_count,
                           size_t *destroyed, cf_err **err)
{
  cf_autofree char *escaped = mountinfo_escape(dir_prefix);
  cf_autofree char *needle = cf_xasprintf("upperdir=%s/", escaped);
  size_t count = 0;
  DIR *proc = opendir("/proc");
  if (proc == NULL) {
    return cf_err_sys(err, errno, "open /proc");
  }
  struct dirent *entry;
  while ((entry = readdir(proc)) != NULL) {
    char *end = NULL;
    long pid = strtol(entry->d_name, &end, 10);
    if (pid <= 1 || *end != '\0' || is_kept((pid_t)pid, keep, keep_count) ||
        !is_namespace_init(entry->d_name) || !has_upper_dir_under(entry->d_name, needle)) {
      continue;
    }
    cf_err *one_err = NULL;
    if (destroy_init((pid_t)pid, &one_err) < 0 && one_err->code != CF_E_NOT_FOUND) {
      cf_log_error("sweep.destroy-failed", one_err, "{s:i}", "pid", (int)pid);
    } else {
      cf_log(CF_LOG_INFO, "sweep.destroyed-orphan", "{s:i}", "pid", (int)pid);
      count++;
    }
    cf_err_free(one_err);
  }
  closedir(proc);
  if (destroyed != NULL) {
    *destroyed = count;
  }
  return cf_ctr_cgroup_sweep(NULL, err);
}
