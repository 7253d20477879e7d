/* SPDX-License-Identifier: Apache-2.0 */
/* Container cgroups: create with limits, find, read usage, sweep. */
#include "runtime/linux/ctr_cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/mem.h"

static const cf_cgroup_config default_config = {.parent = NULL};

static pthread_once_t layout_once = PTHREAD_ONCE_INIT;
static cf_cgroup_layout *detected_layout; /* NULL when detection failed */

static void detect_layout(void)
{
  cf_err *err = NULL;
  if (cf_cgroup_detect(&detected_layout, &err) < 0) {
    cf_log_error("cgroup.detect-failed", err, NULL);
    cf_err_free(err);
    detected_layout = NULL;
  }
}

/* Returns the layout of this process, or NULL when no hierarchy serves
 * memory. */
static const cf_cgroup_layout *usable_layout(void)
{
  pthread_once(&layout_once, detect_layout);
  if (detected_layout == NULL || cf_cgroup_layout_find(detected_layout, CF_CGROUP_MEMORY) == NULL) {
    return NULL;
  }
  return detected_layout;
}

static bool has_limits(const cf_resource_limits *limits)
{
  return limits->memory_bytes != 0 || limits->cpu_shares != 0 || limits->cpu_quota_us != 0 ||
         limits->cpu_period_us != 0 || limits->pids_max != 0;
}

static int apply_limits(cf_cgroup *cg, const cf_resource_limits *limits, cf_err **err)
{
  if (limits->memory_bytes != 0 && cf_cgroup_set_memory_limit(cg, limits->memory_bytes, err) < 0) {
    return -1;
  }
  if (limits->cpu_shares != 0 && cf_cgroup_set_cpu_shares(cg, limits->cpu_shares, err) < 0) {
    return -1;
  }
  if (limits->cpu_quota_us != 0 &&
      cf_cgroup_set_cpu_max(cg, limits->cpu_quota_us, limits->cpu_period_us, err) < 0) {
    return -1;
  }
  if (limits->cpu_quota_us == 0 && limits->cpu_period_us != 0) {
    return cf_err_set(err, CF_E_INVALID, "a CPU period of %llu us needs a CPU quota",
                      (unsigned long long)limits->cpu_period_us);
  }
  if (limits->pids_max != 0 && cf_cgroup_set_pids_max(cg, limits->pids_max, err) < 0) {
    return -1;
  }
  return 0;
}

/* Removes a leftover cgroup of handle when no process is in it. */
static int replace_leftover(const cf_cgroup_layout *layout, const char *handle, cf_err **err)
{
  cf_cgroup *old = NULL;
  if (cf_cgroup_open(layout, &default_config, handle, &old, err) < 0) {
    return -1;
  }
  bool removed = false;
  int rc = cf_cgroup_remove_empty(old, &removed, err);
  cf_cgroup_free(old);
  if (rc == 0 && !removed) {
    rc = cf_err_set(err, CF_E_EXISTS,
                    "the cgroup of container %s has processes: another container with this "
                    "handle is running on the host",
                    handle);
  }
  return rc;
}

int cf_ctr_cgroup_create(const cf_container_spec *spec, cf_cgroup **out, cf_err **err)
{
  *out = NULL;
  const cf_cgroup_layout *layout = usable_layout();
  if (layout == NULL) {
    if (has_limits(&spec->limits)) {
      return cf_err_set(err, CF_E_NOT_IMPLEMENTED,
                        "container %s has resource limits, but the host has no cgroup hierarchy "
                        "with the memory controller",
                        spec->handle);
    }
    return 0;
  }
  cf_cgroup *cg = NULL;
  cf_err *create_err = NULL;
  if (cf_cgroup_create(layout, &default_config, spec->handle, &cg, &create_err) < 0) {
    bool exists = create_err->code == CF_E_EXISTS;
    if (!exists && err != NULL) {
      cf_err_free(*err);
      *err = create_err;
      return -1;
    }
    cf_err_free(create_err);
    if (!exists || replace_leftover(layout, spec->handle, err) < 0 ||
        cf_cgroup_create(layout, &default_config, spec->handle, &cg, err) < 0) {
      return -1;
    }
  }
  if (apply_limits(cg, &spec->limits, err) < 0) {
    cf_cgroup_destroy(cg, NULL);
    cf_cgroup_free(cg);
    return cf_err_wrap(err, "limit container %s", spec->handle);
  }
  *out = cg;
  return 0;
}

static int no_memory_hierarchy(const char *handle, cf_err **err)
{
  return cf_err_set(err, CF_E_NOT_FOUND,
                    "container %s has no cgroup: the host has no cgroup hierarchy with the "
                    "memory controller",
                    handle);
}

int cf_ctr_cgroup_open(const char *handle, cf_cgroup **out, cf_err **err)
{
  *out = NULL;
  const cf_cgroup_layout *layout = usable_layout();
  if (layout == NULL) {
    return no_memory_hierarchy(handle, err);
  }
  return cf_cgroup_open(layout, &default_config, handle, out, err);
}

/* Finds "/<parent>/<handle>" at the end of a cgroup path and copies the
 * handle; false when the path is no container cgroup. A v1 path ending in
 * " (deleted)" names a cgroup that another process has removed already. */
static bool handle_of_path(const char *path, char *handle, size_t size)
{
  static const char deleted[] = " (deleted)";
  size_t len = strlen(path);
  if (len >= sizeof(deleted) - 1 && strcmp(path + len - (sizeof(deleted) - 1), deleted) == 0) {
    return false;
  }
  const char *last = strrchr(path, '/');
  if (last == NULL || last[1] == '\0' || strlen(last + 1) >= size) {
    return false;
  }
  size_t parent_len = strlen(CF_CGROUP_DEFAULT_PARENT);
  if ((size_t)(last - path) < parent_len + 1 ||
      strncmp(last - parent_len, CF_CGROUP_DEFAULT_PARENT, parent_len) != 0 ||
      last[-(long)parent_len - 1] != '/') {
    return false;
  }
  memcpy(handle, last + 1, strlen(last + 1) + 1);
  return true;
}

int cf_ctr_cgroup_of_pid(pid_t pid, cf_cgroup **out, cf_err **err)
{
  *out = NULL;
  if (usable_layout() == NULL) {
    return 0;
  }
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
  cf_buf text;
  cf_buf_init(&text, 64 * 1024);
  if (cf_read_file(path, &text, NULL) < 0 || text.data == NULL) {
    cf_buf_free(&text);
    return 0;
  }
  char handle[256] = "";
  char *save = NULL;
  for (char *line = strtok_r(text.data, "\n", &save); line != NULL && handle[0] == '\0';
       line = strtok_r(NULL, "\n", &save)) {
    char *cgroup_path = strchr(line, ':');
    cgroup_path = cgroup_path != NULL ? strchr(cgroup_path + 1, ':') : NULL;
    if (cgroup_path == NULL || !handle_of_path(cgroup_path + 1, handle, sizeof(handle))) {
      handle[0] = '\0';
    }
  }
  cf_buf_free(&text);
  if (handle[0] == '\0') {
    return 0;
  }
  /* A concurrent delete may have removed the directories since the init's
   * cgroup file was read; then there is nothing left to destroy. */
  cf_err *open_err = NULL;
  if (cf_ctr_cgroup_open(handle, out, &open_err) < 0) {
    if (open_err->code == CF_E_NOT_FOUND) {
      cf_err_free(open_err);
      return 0;
    }
    if (err != NULL && *err == NULL) {
      *err = open_err;
    } else {
      cf_err_free(open_err);
    }
    return -1;
  }
  return 0;
}

/* Adds the entries of dir to *names once each. */
static void list_handles(const char *dir, char ***names, size_t *count)
{
  DIR *listing = opendir(dir);
  if (listing == NULL) {
    return;
  }
  struct dirent *entry;
  while ((entry = readdir(listing)) != NULL) {
    if (entry->d_type != DT_DIR || entry->d_name[0] == '.') {
      continue;
    }
    bool seen = false;
    for (size_t i = 0; i < *count && !seen; i++) {
      seen = strcmp((*names)[i], entry->d_name) == 0;
    }
    if (!seen) {
      *names = cf_xrealloc(*names, (*count + 1) * sizeof(char *));
      (*names)[(*count)++] = cf_xstrdup(entry->d_name);
    }
  }
  closedir(listing);
}

static void remove_if_empty(const cf_cgroup_layout *layout, const char *handle, size_t *removed)
{
  cf_cgroup *cg = NULL;
  cf_err *err = NULL;
  bool empty_removed = false;
  if (cf_cgroup_open(layout, &default_config, handle, &cg, &err) == 0 &&
      cf_cgroup_remove_empty(cg, &empty_removed, &err) == 0 && empty_removed) {
    cf_log(CF_LOG_INFO, "sweep.removed-cgroup", "{s:s}", "handle", handle);
    (*removed)++;
  }
  if (err != NULL && err->code != CF_E_NOT_FOUND) {
    cf_log_error("sweep.remove-cgroup-failed", err, "{s:s}", "handle", handle);
  }
  cf_err_free(err);
  cf_cgroup_free(cg);
}

int cf_ctr_cgroup_sweep(size_t *removed, cf_err **err)
{
  (void)err;
  size_t count = 0;
  const cf_cgroup_layout *layout = usable_layout();
  if (layout != NULL) {
    char **names = NULL;
    size_t name_count = 0;
    for (size_t i = 0; i < layout->count; i++) {
      cf_autofree char *dir =
          cf_path_join(layout->hierarchies[i].mount_point, CF_CGROUP_DEFAULT_PARENT);
      list_handles(dir, &names, &name_count);
    }
    for (size_t i = 0; i < name_count; i++) {
      remove_if_empty(layout, names[i], &count);
    }
    cf_strv_free(names, name_count);
  }
  if (removed != NULL) {
    *removed = count;
  }
  return 0;
}

int cf_runtime_container_usage(const char *handle, cf_container_usage *out, cf_err **err)
{
  *out = (cf_container_usage){0};
  cf_cgroup *cg = NULL;
  if (cf_ctr_cgroup_open(handle, &cg, err) < 0) {
    return -1;
  }
  cf_cgroup_stats *stats = cf_xcalloc(1, sizeof(*stats));
  int rc = cf_cgroup_stats_read(cg, stats, err);
  if (rc == 0) {
    *out = (cf_container_usage){
        .cpu_total_ns = stats->cpu.total_ns,
        .cpu_user_ns = stats->cpu.user_ns,
        .cpu_kernel_ns = stats->cpu.kernel_ns,
        .cpu_throttled_periods = stats->cpu.throttled_periods,
        .cpu_throttled_ns = stats->cpu.throttled_ns,
        .memory_usage = stats->memory.usage,
        .memory_rss = stats->memory.total_rss,
        .memory_limit = stats->memory.limit,
        .memory_oom_kills = stats->memory.oom_kill,
        .pids = stats->pids.current,
        .pids_limit = stats->pids.limit,
    };
    for (size_t i = 0; i < stats->memory.raw_count; i++) {
      if (strcmp(stats->memory.raw[i].key, "total_cache") == 0) {
        out->memory_cache = stats->memory.raw[i].value;
      }
    }
  }
  free(stats);
  cf_cgroup_free(cg);
  return rc;
}

int cf_runtime_container_oom_kills(const char *handle, uint64_t *count, cf_err **err)
{
  *count = 0;
  const cf_cgroup_layout *layout = usable_layout();
  if (layout == NULL) {
    return no_memory_hierarchy(handle, err);
  }
  cf_cgroup *cg = NULL;
  if (cf_cgroup_open_controller(layout, &default_config, handle, CF_CGROUP_MEMORY, &cg, err) < 0) {
    return -1;
  }
  int rc = cf_cgroup_oom_kill_count(cg, count, err);
  cf_cgroup_free(cg);
  return rc;
}

int cf_runtime_container_stats_json(const char *handle, char **json, cf_err **err)
{
  cf_cgroup *cg = NULL;
  if (cf_ctr_cgroup_open(handle, &cg, err) < 0) {
    return -1;
  }
  cf_cgroup_stats *stats = cf_xcalloc(1, sizeof(*stats));
  int rc = cf_cgroup_stats_read(cg, stats, err);
  if (rc == 0) {
    rc = cf_cgroup_stats_json(stats, json, err);
  }
  free(stats);
  cf_cgroup_free(cg);
  return rc;
}
