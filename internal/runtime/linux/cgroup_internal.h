/* SPDX-License-Identifier: Apache-2.0 */
/* Declarations shared by the cgroup_*.c files; not part of the module interface. */
#ifndef CFWIN_RUNTIME_LINUX_CGROUP_INTERNAL_H
#define CFWIN_RUNTIME_LINUX_CGROUP_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "runtime/linux/cgroup.h"

/* Hierarchies a cgroup can span: the v1 ones of memory, cpu, cpuacct, pids
 * and freezer (some may be co-mounted) and the v2 one. */
#define CG_DIRS_MAX 6

typedef struct cg_dir {
  char *path;
  unsigned controllers; /* CF_CGROUP_* bits this directory serves for the cgroup */
  bool v2;
} cg_dir;

struct cf_cgroup {
  char *handle;
  cg_dir dirs[CG_DIRS_MAX];
  size_t dir_count;
  uint64_t v2_oom_seen; /* the "oom" counter of memory.events at the last drain */
};

/* Returns the directory of cg that serves controller, or NULL. */
const cg_dir *cg_find_dir(const cf_cgroup *cg, unsigned controller);

/* Reads dir/name into a new NUL-terminated string (*text, caller frees). */
int cg_read(const char *dir, const char *name, char **text, cf_err **err);

/* Writes value to dir/name in one write(2), as cgroup files expect. */
int cg_write(const char *dir, const char *name, const char *value, cf_err **err);

/* True when dir/name exists. */
bool cg_exists(const char *dir, const char *name);

/* Reads dir/name as one unsigned number; "max" gives max_value. */
int cg_read_u64(const char *dir, const char *name, uint64_t max_value, uint64_t *value,
                cf_err **err);

/* Finds the line "key <number>" in text (flat-keyed cgroup files such as
 * memory.stat or cpu.stat) and parses the number. */
bool cg_keyed_u64(const char *text, const char *key, uint64_t *value);

#endif
