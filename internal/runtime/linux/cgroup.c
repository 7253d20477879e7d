/* SPDX-License-Identifier: Apache-2.0 */
/* Container cgroups: create, open, limits and membership. */
#include "runtime/linux/cgroup.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/mem.h"
#include "runtime/linux/cgroup_internal.h"

#define PARENT_MAX 255
#define DEFAULT_SHARES 1024
#define DEFAULT_WEIGHT 100
#define DEFAULT_PERIOD_US 100000
#define MIN_PERIOD_US 1000
#define MAX_PERIOD_US 1000000
#define MIN_QUOTA_US 1000

/* The controllers a container cgroup uses. */
static const unsigned used_controllers[] = {
    CF_CGROUP_MEMORY, CF_CGROUP_CPU, CF_CGROUP_CPUACCT, CF_CGROUP_PIDS, CF_CGROUP_FREEZER,
};

/* The v2 controllers cf_cgroup_create() enables in cgroup.subtree_control. */
static const struct {
  unsigned bit;
  const char *enable;
} v2_controllers[] = {
    {CF_CGROUP_MEMORY, "+memory"},
    {CF_CGROUP_CPU, "+cpu"},
    {CF_CGROUP_PIDS, "+pids"},
};

/* A hierarchy a container cgroup has a directory in, and the controllers the
 * cgroup uses there. */
typedef struct target {
  const cf_cgroup_hierarchy *hierarchy;
  unsigned controllers;
} target;

static void add_target(target *targets, size_t *count, const cf_cgroup_hierarchy *h,
                       unsigned controllers)
{
  for (size_t i = 0; i < *count; i++) {
    if (targets[i].hierarchy == h) {
      targets[i].controllers |= controllers;
      return;
    }
  }
  targets[(*count)++] = (target){.hierarchy = h, .controllers = controllers};
}

/* Picks the hierarchy of each used controller, plus the v2 hierarchy. */
static size_t select_targets(const cf_cgroup_layout *layout, target targets[CG_DIRS_MAX])
{
  size_t count = 0;
  for (size_t i = 0; i < sizeof(used_controllers) / sizeof(used_controllers[0]); i++) {
    const cf_cgroup_hierarchy *h = cf_cgroup_layout_find(layout, used_controllers[i]);
    if (h != NULL) {
      /* A co-mounted v1 hierarchy (cpu,cpuacct) serves all its controllers. */
      add_target(targets, &count, h, h->v2 ? used_controllers[i] : h->controllers);
    }
  }
  const cf_cgroup_hierarchy *v2 = cf_cgroup_layout_find(layout, CF_CGROUP_UNIFIED);
  if (v2 != NULL) {
    add_target(targets, &count, v2, 0);
  }
  return count;
}

static bool is_name_char(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '-';
}

/* Accepts a relative path of [A-Za-z0-9_.-] components other than "." and "..". */
static int validate_parent(const char *parent, cf_err **err)
{
  size_t len = strlen(parent);
  bool valid = len > 0 && len <= PARENT_MAX && parent[0] != '/' && parent[len - 1] != '/';
  for (const char *p = parent; valid && *p != '\0'; p++) {
    valid = is_name_char(*p) || (*p == '/' && p[1] != '/');
  }
  const char *component = parent;
  while (valid && *component != '\0') {
    size_t n = strcspn(component, "/");
    valid = strncmp(component, ".", n) != 0 && strncmp(component, "..", n) != 0;
    component += n;
    component += *component == '/';
  }
  if (!valid) {
    return cf_err_set(err, CF_E_INVALID,
                      "invalid cgroup parent \"%s\": use a relative path of up to %d characters "
                      "whose components use [A-Za-z0-9_.-] and are not \".\" or \"..\"",
                      parent, PARENT_MAX);
  }
  return 0;
}

static const char *config_parent(const cf_cgroup_config *config)
{
  return config != NULL && config->parent != NULL ? config->parent : CF_CGROUP_DEFAULT_PARENT;
}

/* Returns the directory of h that shows the caller's own cgroup. */
static char *own_dir(const cf_cgroup_hierarchy *h, cf_err **err)
{
  size_t root_len = strcmp(h->mount_root, "/") == 0 ? 0 : strlen(h->mount_root);
  if (h->own_path == NULL || strncmp(h->own_path, h->mount_root, root_len) != 0 ||
      (h->own_path[root_len] != '/' && h->own_path[root_len] != '\0')) {
    cf_err_set(err, CF_E_NOT_FOUND, "own cgroup %s is not visible under %s (mounted from %s)",
               h->own_path != NULL ? h->own_path : "(none)", h->mount_point, h->mount_root);
    return NULL;
  }
  const char *rest = h->own_path + root_len;
  return cf_xasprintf("%s%s", h->mount_point, strcmp(rest, "/") == 0 ? "" : rest);
}

/* Returns the directory below which the cgroup levels of config start: the
 * mount point or the caller's own cgroup in it. */
static char *base_dir(const cf_cgroup_hierarchy *h, const cf_cgroup_config *config, cf_err **err)
{
  if (config != NULL && config->nest_in_own) {
    return own_dir(h, err);
  }
  return cf_xstrdup(h->mount_point);
}

static char *parent_dir(const cf_cgroup_hierarchy *h, const cf_cgroup_config *config, cf_err **err)
{
  cf_autofree char *base = base_dir(h, config, err);
  return base != NULL ? cf_path_join(base, config_parent(config)) : NULL;
}

/* Enables the controllers v2 serves for the cgroup in cgroup.subtree_control
 * of base and each parent level, so the handle directory gets them.
 * NOTE: untested here, because the test machines' v2 hierarchy has only
 * hugetlb. With nest_in_own the caller's own cgroup must have no processes
 * (the v2 no-internal-process rule) or the write fails with EBUSY. */
static int enable_v2_controllers(const char *base, const char *parent, unsigned controllers,
                                 cf_err **err)
{
  cf_autofree char *level = cf_xstrdup(base);
  const char *next = parent;
  for (;;) {
    for (size_t i = 0; i < sizeof(v2_controllers) / sizeof(v2_controllers[0]); i++) {
      if ((controllers & v2_controllers[i].bit) != 0 &&
          cg_write(level, "cgroup.subtree_control", v2_controllers[i].enable, err) < 0) {
        return -1;
      }
    }
    if (next == NULL) {
      return 0;
    }
    size_t n = strcspn(next, "/");
    char *deeper = cf_xasprintf("%s/%.*s", level, (int)n, next);
    free(level);
    level = deeper;
    next = next[n] == '/' ? next + n + 1 : NULL;
  }
}

static void remove_dirs(cf_cgroup *cg)
{
  for (size_t i = 0; i < cg->dir_count; i++) {
    rmdir(cg->dirs[i].path);
  }
}

/* Makes the handle directory of one target and records it in cg. */
static int create_dir(cf_cgroup *cg, const target *t, const cf_cgroup_layout *layout,
                      const cf_cgroup_config *config, cf_err **err)
{
  cf_autofree char *parent = parent_dir(t->hierarchy, config, err);
  if (parent == NULL || cf_mkdir_p(parent, 0755, err) < 0) {
    return -1;
  }
  if (layout->mode == CF_CGROUP_MODE_V2 && t->controllers != 0) {
    cf_autofree char *base = base_dir(t->hierarchy, config, err);
    if (enable_v2_controllers(base, config_parent(config), t->controllers, err) < 0) {
      return -1;
    }
  }
  char *path = cf_path_join(parent, cg->handle);
  if (mkdir(path, 0755) < 0) {
    if (errno == EEXIST) {
      cf_err_set(err, CF_E_EXISTS, "cgroup %s exists already", path);
    } else {
      cf_err_sys(err, errno, "create cgroup %s", path);
    }
    free(path);
    return -1;
  }
  cg->dirs[cg->dir_count++] =
      (cg_dir){.path = path, .controllers = t->controllers, .v2 = t->hierarchy->v2};
  return 0;
}

static int check_names(const cf_cgroup_config *config, const char *handle, cf_err **err)
{
  if (cf_handle_validate(handle, err) < 0) {
    return -1;
  }
  return validate_parent(config_parent(config), err);
}

int cf_cgroup_create(const cf_cgroup_layout *layout, const cf_cgroup_config *config,
                     const char *handle, cf_cgroup **out, cf_err **err)
{
  if (check_names(config, handle, err) < 0) {
    return cf_err_wrap(err, "create cgroup");
  }
  if (cf_cgroup_layout_find(layout, CF_CGROUP_MEMORY) == NULL) {
    return cf_err_set(err, CF_E_NOT_FOUND,
                      "create cgroup %s: no cgroup hierarchy has the memory controller", handle);
  }
  target targets[CG_DIRS_MAX];
  size_t count = select_targets(layout, targets);
  cf_cgroup *cg = cf_xcalloc(1, sizeof(*cg));
  cg->handle = cf_xstrdup(handle);
  for (size_t i = 0; i < count; i++) {
    if (create_dir(cg, &targets[i], layout, config, err) < 0) {
      remove_dirs(cg);
      cf_cgroup_free(cg);
      return cf_err_wrap(err, "create cgroup %s", handle);
    }
  }
  *out = cg;
  return 0;
}

/* Opens the directories of handle in the target hierarchies that have one. */
static int open_targets(const target *targets, size_t count, const cf_cgroup_config *config,
                        const char *handle, cf_cgroup **out, cf_err **err)
{
  if (check_names(config, handle, err) < 0) {
    return cf_err_wrap(err, "open cgroup");
  }
  cf_cgroup *cg = cf_xcalloc(1, sizeof(*cg));
  cg->handle = cf_xstrdup(handle);
  for (size_t i = 0; i < count; i++) {
    cf_autofree char *parent = parent_dir(targets[i].hierarchy, config, NULL);
    char *path = parent != NULL ? cf_path_join(parent, handle) : NULL;
    struct stat st;
    if (path == NULL || stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
      free(path);
      continue;
    }
    cg->dirs[cg->dir_count++] = (cg_dir){
        .path = path, .controllers = targets[i].controllers, .v2 = targets[i].hierarchy->v2};
  }
  if (cg->dir_count == 0) {
    cf_cgroup_free(cg);
    return cf_err_set(err, CF_E_NOT_FOUND, "open cgroup %s: no cgroup directory for it", handle);
  }
  *out = cg;
  return 0;
}

int cf_cgroup_open(const cf_cgroup_layout *layout, const cf_cgroup_config *config,
                   const char *handle, cf_cgroup **out, cf_err **err)
{
  target targets[CG_DIRS_MAX];
  size_t count = select_targets(layout, targets);
  return open_targets(targets, count, config, handle, out, err);
}

int cf_cgroup_open_controller(const cf_cgroup_layout *layout, const cf_cgroup_config *config,
                              const char *handle, unsigned controller, cf_cgroup **out,
                              cf_err **err)
{
  const cf_cgroup_hierarchy *h = cf_cgroup_layout_find(layout, controller);
  if (h == NULL) {
    return cf_err_set(err, CF_E_NOT_FOUND,
                      "open cgroup %s: the host has no hierarchy with controller %#x", handle,
                      controller);
  }
  /* A co-mounted v1 hierarchy (cpu,cpuacct) serves all its controllers. */
  target only = {.hierarchy = h, .controllers = h->v2 ? controller : h->controllers};
  return open_targets(&only, 1, config, handle, out, err);
}

void cf_cgroup_free(cf_cgroup *cg)
{
  if (cg == NULL) {
    return;
  }
  for (size_t i = 0; i < cg->dir_count; i++) {
    free(cg->dirs[i].path);
  }
  free(cg->handle);
  free(cg);
}

const char *cf_cgroup_handle(const cf_cgroup *cg)
{
  return cg->handle;
}

const char *cf_cgroup_dir(const cf_cgroup *cg, unsigned controller)
{
  const cg_dir *d = cg_find_dir(cg, controller);
  return d != NULL ? d->path : NULL;
}

static const cg_dir *require_dir(const cf_cgroup *cg, unsigned controller, const char *name,
                                 cf_err **err)
{
  const cg_dir *d = cg_find_dir(cg, controller);
  if (d == NULL) {
    cf_err_set(err, CF_E_NOT_FOUND, "cgroup %s has no %s controller", cg->handle, name);
  }
  return d;
}

/* Writes the v1 memory limit and the equal memory+swap limit. The kernel
 * rejects a memory limit above the memsw limit with EINVAL, so when raising
 * both the memsw limit goes first. */
static int set_v1_memory(const char *dir, const char *value, cf_err **err)
{
  if (!cg_exists(dir, "memory.memsw.limit_in_bytes")) {
    return cg_write(dir, "memory.limit_in_bytes", value, err);
  }
  cf_err *first = NULL;
  if (cg_write(dir, "memory.limit_in_bytes", value, &first) == 0) {
    return cg_write(dir, "memory.memsw.limit_in_bytes", value, err);
  }
  if (first->sys_errno != EINVAL) {
    if (err != NULL) {
      cf_err_free(*err);
      *err = first;
    } else {
      cf_err_free(first);
    }
    return -1;
  }
  cf_err_free(first);
  if (cg_write(dir, "memory.memsw.limit_in_bytes", value, err) < 0) {
    return -1;
  }
  return cg_write(dir, "memory.limit_in_bytes", value, err);
}

/* NOTE: the v2 branch is untested here, because the test machines bind
 * memory to v1. */
static int set_v2_memory(const char *dir, uint64_t bytes, cf_err **err)
{
  char value[32];
  snprintf(value, sizeof(value), "%" PRIu64, bytes);
  if (cg_write(dir, "memory.max", bytes == 0 ? "max" : value, err) < 0) {
    return -1;
  }
  if (cg_exists(dir, "memory.swap.max")) {
    return cg_write(dir, "memory.swap.max", bytes == 0 ? "max" : "0", err);
  }
  return 0;
}

int cf_cgroup_set_memory_limit(cf_cgroup *cg, uint64_t bytes, cf_err **err)
{
  const cg_dir *d = require_dir(cg, CF_CGROUP_MEMORY, "memory", err);
  if (d == NULL) {
    return cf_err_wrap(err, "set memory limit");
  }
  char value[32];
  snprintf(value, sizeof(value), "%" PRIu64, bytes);
  int rc = d->v2 ? set_v2_memory(d->path, bytes, err)
                 : set_v1_memory(d->path, bytes == 0 ? "-1" : value, err);
  return rc < 0 ? cf_err_wrap(err, "set memory limit %s of %s", value, cg->handle) : 0;
}

uint64_t cf_cgroup_shares_to_weight(uint64_t shares)
{
  if (shares < 2) {
    shares = 2;
  }
  if (shares > 262144) {
    shares = 262144;
  }
  return 1 + (shares - 2) * 9999 / 262142;
}

int cf_cgroup_set_cpu_shares(cf_cgroup *cg, uint64_t shares, cf_err **err)
{
  const cg_dir *d = require_dir(cg, CF_CGROUP_CPU, "cpu", err);
  if (d == NULL) {
    return cf_err_wrap(err, "set cpu shares");
  }
  char value[32];
  int rc;
  if (d->v2) {
    /* NOTE: untested here, because the test machines bind cpu to v1. */
    uint64_t weight = shares == 0 ? DEFAULT_WEIGHT : cf_cgroup_shares_to_weight(shares);
    snprintf(value, sizeof(value), "%" PRIu64, weight);
    rc = cg_write(d->path, "cpu.weight", value, err);
  } else {
    snprintf(value, sizeof(value), "%" PRIu64, shares == 0 ? DEFAULT_SHARES : shares);
    rc = cg_write(d->path, "cpu.shares", value, err);
  }
  return rc < 0 ? cf_err_wrap(err, "set cpu shares %" PRIu64 " of %s", shares, cg->handle) : 0;
}

static int check_cpu_max(uint64_t quota_us, uint64_t period_us, cf_err **err)
{
  if (period_us < MIN_PERIOD_US || period_us > MAX_PERIOD_US) {
    return cf_err_set(err, CF_E_INVALID,
                      "invalid cpu period %" PRIu64 " us: use %d to %d us (0 for %d)", period_us,
                      MIN_PERIOD_US, MAX_PERIOD_US, DEFAULT_PERIOD_US);
  }
  if (quota_us != 0 && (quota_us < MIN_QUOTA_US || quota_us > INT64_MAX)) {
    return cf_err_set(err, CF_E_INVALID,
                      "invalid cpu quota %" PRIu64 " us: use at least %d us, or 0 for no maximum",
                      quota_us, MIN_QUOTA_US);
  }
  return 0;
}

/* Removes the old quota first: a new period can be rejected against it. */
static int set_v1_cpu_max(const char *dir, uint64_t quota_us, uint64_t period_us, cf_err **err)
{
  char value[32];
  if (cg_write(dir, "cpu.cfs_quota_us", "-1", err) < 0) {
    return -1;
  }
  snprintf(value, sizeof(value), "%" PRIu64, period_us);
  if (cg_write(dir, "cpu.cfs_period_us", value, err) < 0) {
    return -1;
  }
  if (quota_us == 0) {
    return 0;
  }
  snprintf(value, sizeof(value), "%" PRIu64, quota_us);
  return cg_write(dir, "cpu.cfs_quota_us", value, err);
}

int cf_cgroup_set_cpu_max(cf_cgroup *cg, uint64_t quota_us, uint64_t period_us, cf_err **err)
{
  if (period_us == 0) {
    period_us = DEFAULT_PERIOD_US;
  }
  const cg_dir *d = NULL;
  if (check_cpu_max(quota_us, period_us, err) < 0 ||
      (d = require_dir(cg, CF_CGROUP_CPU, "cpu", err)) == NULL) {
    return cf_err_wrap(err, "set cpu maximum of %s", cg->handle);
  }
  int rc;
  if (d->v2) {
    /* NOTE: untested here, because the test machines bind cpu to v1. */
    char value[64];
    if (quota_us == 0) {
      snprintf(value, sizeof(value), "max %" PRIu64, period_us);
    } else {
      snprintf(value, sizeof(value), "%" PRIu64 " %" PRIu64, quota_us, period_us);
    }
    rc = cg_write(d->path, "cpu.max", value, err);
  } else {
    rc = set_v1_cpu_max(d->path, quota_us, period_us, err);
  }
  return rc < 0 ? cf_err_wrap(err, "set cpu maximum of %s", cg->handle) : 0;
}

int cf_cgroup_set_pids_max(cf_cgroup *cg, uint64_t max, cf_err **err)
{
  const cg_dir *d = require_dir(cg, CF_CGROUP_PIDS, "pids", err);
  if (d == NULL) {
    return cf_err_wrap(err, "set pids limit");
  }
  char value[32];
  snprintf(value, sizeof(value), "%" PRIu64, max);
  if (cg_write(d->path, "pids.max", max == 0 ? "max" : value, err) < 0) {
    return cf_err_wrap(err, "set pids limit %s of %s", value, cg->handle);
  }
  return 0;
}

int cf_cgroup_add_pid(cf_cgroup *cg, pid_t pid, cf_err **err)
{
  char value[32];
  snprintf(value, sizeof(value), "%d", (int)pid);
  for (size_t i = 0; i < cg->dir_count; i++) {
    if (cg_write(cg->dirs[i].path, "cgroup.procs", value, err) < 0) {
      return cf_err_wrap(err, "add pid %d to cgroup %s", (int)pid, cg->handle);
    }
  }
  return 0;
}

int cf_cgroup_remove_parent(const cf_cgroup_layout *layout, const cf_cgroup_config *config,
                            cf_err **err)
{
  if (validate_parent(config_parent(config), err) < 0) {
    return cf_err_wrap(err, "remove cgroup parent");
  }
  target targets[CG_DIRS_MAX];
  size_t count = select_targets(layout, targets);
  for (size_t i = 0; i < count; i++) {
    cf_autofree char *parent = parent_dir(targets[i].hierarchy, config, err);
    if (parent == NULL) {
      return cf_err_wrap(err, "remove cgroup parent");
    }
    if (rmdir(parent) < 0 && errno != ENOENT) {
      int saved = errno;
      if (saved == EBUSY || saved == ENOTEMPTY) {
        return cf_err_set(err, CF_E_BUSY, "remove cgroup parent %s: it still has cgroups", parent);
      }
      return cf_err_sys(err, saved, "remove cgroup parent %s", parent);
    }
  }
  return 0;
}
