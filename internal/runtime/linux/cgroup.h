/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Control groups for containers: detection of the cgroup layout (v1, v2 or
 * hybrid), one cgroup per container handle with memory, CPU and pids limits,
 * kill-all, OOM notification and the statistics behind `events --stats`.
 *
 * Each resource uses the v1 hierarchy that has its controller and falls back
 * to the v2 (unified) hierarchy when cgroup.controllers there lists it. A
 * container cgroup is the directory <mount>/[<own cgroup>/]<parent>/<handle>
 * in every hierarchy it uses; docs/cgroups.md describes the layout.
 */
#ifndef CFWIN_RUNTIME_LINUX_CGROUP_H
#define CFWIN_RUNTIME_LINUX_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"

/* Controller bits. CF_CGROUP_UNIFIED is no controller: it selects the v2
 * hierarchy itself in cf_cgroup_dir(). */
enum {
  CF_CGROUP_MEMORY = 1u << 0,
  CF_CGROUP_CPU = 1u << 1,
  CF_CGROUP_CPUACCT = 1u << 2,
  CF_CGROUP_PIDS = 1u << 3,
  CF_CGROUP_FREEZER = 1u << 4,
  CF_CGROUP_CPUSET = 1u << 5,
  CF_CGROUP_DEVICES = 1u << 6,
  CF_CGROUP_BLKIO = 1u << 7,
  CF_CGROUP_IO = 1u << 8,
  CF_CGROUP_HUGETLB = 1u << 9,
  CF_CGROUP_NET_CLS = 1u << 10,
  CF_CGROUP_NET_PRIO = 1u << 11,
  CF_CGROUP_PERF_EVENT = 1u << 12,
  CF_CGROUP_RDMA = 1u << 13,
  CF_CGROUP_MISC = 1u << 14,
  CF_CGROUP_UNIFIED = 1u << 31,
};

enum cf_cgroup_mode {
  CF_CGROUP_MODE_NONE,   /* no cgroup filesystem mounted */
  CF_CGROUP_MODE_V1,     /* only v1 hierarchies */
  CF_CGROUP_MODE_V2,     /* only the v2 hierarchy (named v1 hierarchies aside) */
  CF_CGROUP_MODE_HYBRID, /* v1 hierarchies with controllers plus a v2 hierarchy */
};

/* One mounted hierarchy. */
typedef struct cf_cgroup_hierarchy {
  bool v2;
  unsigned controllers; /* CF_CGROUP_* bits; for v2, those in its cgroup.controllers */
  char *mount_point;    /* where it is mounted, e.g. /sys/fs/cgroup/memory */
  char *mount_root;     /* the cgroup the mount shows at mount_point, usually "/" */
  char *own_path;       /* the caller's cgroup in it, from /proc/self/cgroup; NULL if none */
} cf_cgroup_hierarchy;

typedef struct cf_cgroup_layout {
  enum cf_cgroup_mode mode;
  cf_cgroup_hierarchy *hierarchies;
  size_t count;
} cf_cgroup_layout;

/* Builds a layout from the text of /proc/self/mountinfo and /proc/self/cgroup
 * and the text of cgroup.controllers at the root of the v2 mount (NULL when
 * none is mounted or it is not readable). Mounts of a hierarchy after the
 * first are ignored. Sets *out to a new layout (free with
 * cf_cgroup_layout_free()). Fails with CF_E_INVALID on a malformed line. */
int cf_cgroup_layout_parse(const char *mountinfo, const char *proc_cgroup,
                           const char *v2_controllers, cf_cgroup_layout **out, cf_err **err);

/* Detects the layout of the calling process from /proc/self and the v2
 * mount's cgroup.controllers. */
int cf_cgroup_detect(cf_cgroup_layout **out, cf_err **err);

void cf_cgroup_layout_free(cf_cgroup_layout *layout);

/* Returns the hierarchy that serves controller: the v1 hierarchy that has it,
 * else the v2 hierarchy when it lists it; CF_CGROUP_UNIFIED returns the v2
 * hierarchy. NULL when no hierarchy serves it. Borrowed from layout. */
const cf_cgroup_hierarchy *cf_cgroup_layout_find(const cf_cgroup_layout *layout,
                                                 unsigned controller);

/* Where container cgroups go: <mount>/<parent>/<handle> in each hierarchy,
 * or <mount>/<own cgroup>/<parent>/<handle> with nest_in_own. parent is a
 * relative cgroup path of [A-Za-z0-9_.-] components; NULL means "cfwin".
 * Top-level placement lets any process (the runtime CLI, a restarted server)
 * find a cgroup from its handle alone; nesting keeps the containers inside
 * the caller's own limits but needs every user to share the caller's cgroup. */
typedef struct cf_cgroup_config {
  const char *parent;
  bool nest_in_own;
} cf_cgroup_config;

#define CF_CGROUP_DEFAULT_PARENT "cfwin"

typedef struct cf_cgroup cf_cgroup;

/* Creates the cgroup of handle in each hierarchy that serves memory, cpu,
 * cpuacct, pids or freezer, and in the v2 hierarchy when one is mounted (for
 * cgroup.kill and process tracking). In v2-only mode it enables the memory,
 * cpu and pids controllers in cgroup.subtree_control of the parent levels.
 * Fails with CF_E_INVALID for a bad handle or parent, CF_E_EXISTS when the
 * cgroup exists, CF_E_NOT_FOUND when no hierarchy serves memory; on failure
 * nothing it created is left. *out is freed with cf_cgroup_free(). */
int cf_cgroup_create(const cf_cgroup_layout *layout, const cf_cgroup_config *config,
                     const char *handle, cf_cgroup **out, cf_err **err);

/* Opens the existing cgroup of handle, as created by cf_cgroup_create() with
 * the same config in any process. Directories that are missing in some
 * hierarchies are skipped; CF_E_NOT_FOUND when there are none. */
int cf_cgroup_open(const cf_cgroup_layout *layout, const cf_cgroup_config *config,
                   const char *handle, cf_cgroup **out, cf_err **err);

/* Opens the existing cgroup of handle like cf_cgroup_open(), but only in the
 * hierarchy of controller (one CF_CGROUP_* bit), so a reader of one
 * controller's files pays one stat() instead of one per hierarchy. */
int cf_cgroup_open_controller(const cf_cgroup_layout *layout, const cf_cgroup_config *config,
                              const char *handle, unsigned controller, cf_cgroup **out,
                              cf_err **err);

/* Frees the object only; the cgroup stays. NULL is allowed. */
void cf_cgroup_free(cf_cgroup *cg);

const char *cf_cgroup_handle(const cf_cgroup *cg);

/* Returns the directory that serves controller (or CF_CGROUP_UNIFIED), NULL
 * when this cgroup has none. Borrowed from cg. */
const char *cf_cgroup_dir(const cf_cgroup *cg, unsigned controller);

/* Sets the memory limit; 0 removes it. v1 writes memory.limit_in_bytes and,
 * when the kernel accounts swap, memory.memsw.limit_in_bytes to the same
 * value, so the container gets no swap. v2 writes memory.max and sets
 * memory.swap.max to 0 when it exists. */
int cf_cgroup_set_memory_limit(cf_cgroup *cg, uint64_t bytes, cf_err **err);

/* Sets the relative CPU share: v1 cpu.shares, v2 cpu.weight from
 * cf_cgroup_shares_to_weight(). 0 restores the default (1024 shares or
 * weight 100). */
int cf_cgroup_set_cpu_shares(cf_cgroup *cg, uint64_t shares, cf_err **err);

/* Sets the CPU maximum: quota_us of CPU time per period_us. quota_us 0 removes
 * the maximum; period_us 0 means 100000. Periods run from 1000 to 1000000 us
 * and a quota is at least 1000 us. v1 writes cpu.cfs_period_us and
 * cpu.cfs_quota_us, v2 cpu.max. */
int cf_cgroup_set_cpu_max(cf_cgroup *cg, uint64_t quota_us, uint64_t period_us, cf_err **err);

/* Sets pids.max; 0 removes the limit. */
int cf_cgroup_set_pids_max(cf_cgroup *cg, uint64_t max, cf_err **err);

/* Maps v1 cpu.shares [2, 262144] linearly onto v2 cpu.weight [1, 10000]:
 * weight = 1 + (shares - 2) * 9999 / 262142, clamping out-of-range shares.
 * This is the conversion runc, crun and systemd use. */
uint64_t cf_cgroup_shares_to_weight(uint64_t shares);

/* Moves process pid (all its threads) into the cgroup in every hierarchy.
 * Children it forks afterwards start inside. pid may be a child that has not
 * yet called execve(): the runtime adds the container init this way while
 * the init waits for the go-ahead, so no user code runs outside the limits. */
int cf_cgroup_add_pid(cf_cgroup *cg, pid_t pid, cf_err **err);

/* Reads the pids in the cgroup (its v1 memory directory, else the v2 one).
 * *pids is freed by the caller; it is NULL when *count is 0. */
int cf_cgroup_pids(const cf_cgroup *cg, pid_t **pids, size_t *count, cf_err **err);

/* Kills every process in the cgroup with SIGKILL and waits until each of its
 * directories has no process left. Uses cgroup.kill of the v2 directory when
 * the kernel has it (in hybrid mode too); otherwise freezes the v1 freezer
 * cgroup, signals each listed pid and thaws, repeating until empty. Without
 * a freezer the pids are signalled in rounds, which can race with a pid
 * being reused. Fails with CF_E_BUSY when processes remain after 10 s. */
int cf_cgroup_kill(cf_cgroup *cg, cf_err **err);

/* Kills what is left (cf_cgroup_kill()) and removes every directory of the
 * cgroup, retrying while exiting tasks keep a directory busy. A directory
 * already gone is success, so a second call succeeds too. The parent stays. */
int cf_cgroup_destroy(cf_cgroup *cg, cf_err **err);

/* Removes every directory of the cgroup that has no process, and never
 * signals one: a directory with processes stays (rmdir fails with EBUSY).
 * Sets *removed to whether no directory of the cgroup is left. The orphan
 * sweep uses it, because another process may be starting a container in a
 * cgroup it has just made. */
int cf_cgroup_remove_empty(cf_cgroup *cg, bool *removed, cf_err **err);

/* Removes the parent directory of config in every hierarchy of layout. A
 * missing parent is success; CF_E_BUSY while a container cgroup is in it. */
int cf_cgroup_remove_parent(const cf_cgroup_layout *layout, const cf_cgroup_config *config,
                            cf_err **err);

/* Opens a descriptor that becomes ready when the cgroup runs out of memory.
 * v1: an eventfd registered on memory.oom_control through
 * cgroup.event_control, ready for POLLIN; the kernel also signals it once when
 * the cgroup is removed. v2: memory.events, ready for POLLPRI on every change
 * of that file. *events is the poll(2) event to wait for; the caller closes
 * *fd. After a wakeup, cf_cgroup_oom_drain() consumes it. */
int cf_cgroup_oom_watch(cf_cgroup *cg, int *fd, short *events, cf_err **err);

/* Consumes a wakeup of the descriptor from cf_cgroup_oom_watch() and sets
 * *ooms to the number of OOM events since the last drain: the eventfd count
 * (v1) or the growth of the "oom" counter of memory.events (v2). Never blocks;
 * 0 when nothing happened. */
int cf_cgroup_oom_drain(cf_cgroup *cg, int fd, uint64_t *ooms, cf_err **err);

/* Reads the number of processes the OOM killer killed in the cgroup: the
 * "oom_kill" line of memory.oom_control (v1, Linux 4.13 and later) or of
 * memory.events (v2). A separate process can call it, so `events` can report
 * "out of memory" without a watch. */
int cf_cgroup_oom_kill_count(const cf_cgroup *cg, uint64_t *count, cf_err **err);

#define CF_CGROUP_RAW_MAX 80

/* One "key value" line of memory.stat. */
typedef struct cf_cgroup_raw_stat {
  char key[48];
  uint64_t value;
} cf_cgroup_raw_stat;

/* Statistics in runc's units: bytes and nanoseconds. A limit of 0 means none. */
typedef struct cf_cgroup_stats {
  struct {
    uint64_t total_ns;
    uint64_t user_ns;
    uint64_t kernel_ns;
    uint64_t periods; /* nr_periods: enforcement periods that elapsed */
    uint64_t throttled_periods;
    uint64_t throttled_ns;
  } cpu;
  struct {
    uint64_t usage;     /* v1 memory.usage_in_bytes, v2 memory.current */
    uint64_t max_usage; /* v1 memory.max_usage_in_bytes, v2 memory.peak when present */
    uint64_t limit;
    uint64_t failcnt; /* v1 memory.failcnt, v2 the "max" line of memory.events */
    uint64_t total_rss;
    uint64_t oom_kill;
    /* memory.stat as the kernel prints it. In v2, total_rss, total_cache and
     * total_inactive_file are added (from anon, file and inactive_file) for
     * Guardian, which reads those v1 names. */
    cf_cgroup_raw_stat raw[CF_CGROUP_RAW_MAX];
    size_t raw_count;
  } memory;
  struct {
    uint64_t current;
    uint64_t limit;
  } pids;
} cf_cgroup_stats;

/* Reads the statistics of every controller the cgroup has. */
int cf_cgroup_stats_read(const cf_cgroup *cg, cf_cgroup_stats *stats, cf_err **err);

/* Formats stats as `events --stats` prints them: winc's document
 * {"data":{"cpu":{"usage":{"total","kernel","user"}},"memory":{"raw":{...}},
 * "pids":{"current"}}} plus runc's keys that Guardian's Linux path reads
 * (cpu.throttling, memory.usage, pids.limit when set), indented by 2 spaces
 * with no newline at the end. *json is freed by the caller. */
int cf_cgroup_stats_json(const cf_cgroup_stats *stats, char **json, cf_err **err);

#endif
