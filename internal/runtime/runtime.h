/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Container and process lifecycle behind one small interface, shaped after
 * the Windows Host Compute Service: create a system from a spec, run a
 * process in it with stdio pipes, signal it, wait for it, destroy the system.
 * The Linux backend (runtime/linux/) uses namespaces, an overlay root
 * filesystem and pivot_root; the Windows backend comes later.
 *
 * Processes started by cf_runtime_exec() are children of the calling
 * process, so the caller reaps them (cf_runtime_process_wait()).
 */
#ifndef CFWIN_RUNTIME_RUNTIME_H
#define CFWIN_RUNTIME_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"

/* The root filesystem: an overlay of lower_dirs under upper_dir, or, with
 * lower_count 0, the plain directory target, bind-mounted onto itself (an
 * OCI bundle's root.path). */
typedef struct cf_rootfs_spec {
  const char *const *lower_dirs; /* bottom layer first */
  size_t lower_count;
  const char *upper_dir;
  const char *work_dir;
  const char *target; /* existing empty directory: the overlay mount point */
  /* Optional filesystem that holds upper_dir and work_dir, such as an ext4
   * image on a loop device that limits the container's disk use. When
   * upper_device is set, the init mounts it with type upper_fs_type on the
   * existing directory upper_mount_dir inside the container's mount
   * namespace, before the overlay, so the host never sees the mount. */
  const char *upper_device;
  const char *upper_fs_type;
  const char *upper_mount_dir;
  bool readonly; /* remount the root read-only once every mount is made */
} cf_rootfs_spec;

/* One OCI mount, made inside the container in the order given. Options are
 * mount(8) words: flags (ro, rw, nosuid, nodev, noexec, bind, rbind, ...)
 * and filesystem data (mode=755, size=65536k, ...). A bind mount is
 * read-only unless "rw" is given, as winc does. */
typedef struct cf_mount_spec {
  const char *destination; /* absolute path in the container */
  const char *type;        /* "bind", "proc", "sysfs", "tmpfs", "devpts", "mqueue", ... */
  const char *source;      /* a host path for bind mounts */
  const char *const *options;
  size_t option_count;
} cf_mount_spec;

/* Resource limits of a container, enforced through its cgroup; 0 means no
 * limit. */
typedef struct cf_resource_limits {
  uint64_t memory_bytes;  /* memory (and memory plus swap) limit */
  uint64_t cpu_shares;    /* relative CPU weight, 2..262144 as cgroup v1 cpu.shares */
  uint64_t cpu_quota_us;  /* CPU maximum: quota per period */
  uint64_t cpu_period_us; /* 0 with a quota: 100000 */
  uint64_t pids_max;      /* processes, init included */
} cf_resource_limits;

/* One line of a user namespace's uid_map or gid_map. */
typedef struct cf_runtime_id_map {
  uint32_t container_id;
  uint32_t host_id;
  uint32_t size;
} cf_runtime_id_map;

typedef struct cf_container_spec {
  const char *handle;
  const char *hostname; /* at most 64 bytes */
  cf_rootfs_spec rootfs;
  /* With own_mounts, mounts replace the fixed /proc, /dev and /sys set; the
   * host's null, zero, full, random, urandom and tty devices and the /dev
   * links are still added when a mount covers /dev. */
  bool own_mounts;
  const cf_mount_spec *mounts;
  size_t mount_count;
  /* NULL: a new network namespace with lo up. Else the path of a network
   * namespace to join, such as /proc/<pid>/ns/net of another container. */
  const char *network_path;
  cf_resource_limits limits;
  /* A privileged container keeps every capability and has no seccomp
   * filter; others get the reduced set and the default profile. */
  bool privileged;
  /* With uid_map_count > 0 the container gets its own user namespace with
   * these maps (gid_map as well). */
  const cf_runtime_id_map *uid_map;
  size_t uid_map_count;
  const cf_runtime_id_map *gid_map;
  size_t gid_map_count;
  /* The bundle's config.json (a jansson json_t *) for the process and
   * linux settings it may carry (capabilities, rlimits, seccomp, masked and
   * read-only paths, noNewPrivileges), or NULL for the defaults. */
  const void *oci_config;
} cf_container_spec;

/* A container's init (pid 1 of its pid namespace), seen from the host. */
typedef struct cf_container_init {
  pid_t pid;
  uint64_t start_time; /* field 22 of /proc/<pid>/stat */
} cf_container_init;

/* Returns the container hostname for a handle: the handle, or its last 49
 * characters when longer, as gdn does. out holds at least 50 bytes. */
void cf_runtime_hostname(const char *handle, char *out);

/* Starts the container's init in new mount, pid, uts, ipc and network
 * namespaces (loopback up), with the overlay root filesystem mounted inside
 * its mount namespace, /proc, a minimal /dev with devpts, /sys read-only and
 * the hostname set. Returns once init is ready, or an error naming the step
 * that failed; on error nothing is left running or mounted. */
int cf_runtime_container_create(const cf_container_spec *spec, cf_container_init *out,
                                cf_err **err);

/* True when netns_path names the network namespace of the container. */
bool cf_runtime_container_has_network(const cf_container_init *init, const char *netns_path);

/* Host pids of the container's processes other than its init, ascending.
 * *pids is a new array (NULL when empty) the caller frees. */
int cf_runtime_container_pids(const cf_container_init *init, pid_t **pids, size_t *count,
                              cf_err **err);

typedef struct cf_container_stats {
  uint64_t cpu_total_ns; /* user plus system time of the container's processes */
  uint64_t cpu_user_ns;
  uint64_t cpu_kernel_ns;
  uint64_t memory_rss; /* bytes resident */
  uint64_t pids;       /* processes, init excluded */
} cf_container_stats;

/* Sums the statistics of the container's processes. */
int cf_runtime_container_stats(const cf_container_init *init, cf_container_stats *out,
                               cf_err **err);

/* Figures of a container's cgroup. Fields a platform cannot read are 0. */
typedef struct cf_container_usage {
  uint64_t cpu_total_ns;
  uint64_t cpu_user_ns;
  uint64_t cpu_kernel_ns;
  uint64_t cpu_throttled_periods;
  uint64_t cpu_throttled_ns;
  uint64_t memory_usage;     /* bytes charged, page cache included */
  uint64_t memory_rss;       /* total_rss: anonymous memory */
  uint64_t memory_cache;     /* page cache */
  uint64_t memory_limit;     /* 0 for none */
  uint64_t memory_oom_kills; /* processes killed for the memory limit */
  uint64_t pids;             /* processes, init included */
  uint64_t pids_limit;       /* 0 for none */
} cf_container_usage;

/* Reads the cgroup figures of the container handle. CF_E_NOT_FOUND when it
 * has no cgroup. */
int cf_runtime_container_usage(const char *handle, cf_container_usage *out, cf_err **err);

/* Reads how many processes of the container handle the kernel killed for
 * its memory limit. It reads one cgroup file, where
 * cf_runtime_container_usage() reads them all. CF_E_NOT_FOUND when the
 * container has no cgroup. */
int cf_runtime_container_oom_kills(const char *handle, uint64_t *count, cf_err **err);

/* Formats the cgroup statistics of the container handle as `events --stats`
 * prints them: winc's document plus runc's throttling, usage and limit keys,
 * indented by 2 spaces with no final newline. *json is freed by the caller.
 * CF_E_NOT_FOUND when the container has no cgroup. */
int cf_runtime_container_stats_json(const char *handle, char **json, cf_err **err);

/* True while the init process with this pid and start time is alive. */
bool cf_runtime_container_alive(const cf_container_init *init);

/* Kills every process of the container (SIGKILL to init ends its pid
 * namespace) and waits until init has exited. Success when it is already
 * gone. Reaps init when it is a child of the caller.
 * The kernel lets init exit only after every process of its namespace is
 * reaped, and processes from cf_runtime_exec() are the caller's children, so
 * the caller must keep reaping them (from another thread) while this waits.
 * Fails with CF_E_BUSY when init has not exited 30 s after the SIGKILL. */
int cf_runtime_container_destroy(const cf_container_init *init, cf_err **err);

/* Removes what a container of handle left on the host once its init is
 * gone: its cgroup, killing whatever process is still in it. Success when
 * nothing is left. cf_runtime_container_destroy() does this itself while it
 * can find the init. */
int cf_runtime_container_cleanup(const char *handle, cf_err **err);

/* Finds container inits (pid 1 of their pid namespace) whose overlay upper
 * directory lies under dir_prefix, and destroys each one whose pid is not
 * in keep. A crashed server leaves such inits when it dies between starting
 * a container and recording its pid. Then removes the container cgroups
 * that have no process left (those of containers that are gone), without
 * signalling any process. Sets *destroyed to the number of inits destroyed
 * (may be NULL). */
int cf_runtime_sweep_inits(const char *dir_prefix, const pid_t *keep, size_t keep_count,
                           size_t *destroyed, cf_err **err);

typedef struct cf_process_spec {
  const char *path;        /* looked up in the process's $PATH when it has no '/' */
  const char *const *args; /* arguments after argv[0] */
  size_t arg_count;
  const char *const *env; /* "K=V"; HOME, USER and PATH are added when missing */
  size_t env_count;
  const char *dir;  /* NULL or "": the user's home; created when missing */
  const char *user; /* NULL or "": root; a name or "uid:gid" */
  /* NULL: new pipes. Else the descriptors the process gets as its stdin,
   * stdout and stderr (the caller keeps its own). */
  const int *stdio;
  /* The process becomes a child of the container init, which reaps it, so
   * it outlives the caller; cf_runtime_process_wait() does not apply. */
  bool detach;
  /* The hardening of the process, as for cf_container_spec: privileged
   * keeps every capability and has no seccomp filter; oci_config (a jansson
   * json_t * of an OCI config) takes capabilities, rlimits, seccomp and
   * noNewPrivileges from it; otherwise the defaults apply. */
  bool privileged;
  const void *oci_config;
  /* With terminal, the process gets a new pseudo-terminal of the
   * container's devpts instance (/dev/pts) as its controlling terminal and
   * as stdin, stdout and stderr; the slave is owned by the process's user.
   * cf_process.stdin_fd and stdout_fd are then two descriptors of the
   * master and stderr_fd is -1, because a terminal merges the streams.
   * stdio must be NULL. The window size is terminal_rows by
   * terminal_columns; 0 and 0 leave the kernel's 0 by 0. */
  bool terminal;
  uint16_t terminal_rows;
  uint16_t terminal_columns;
} cf_process_spec;

/* A running process and the host ends of its stdio pipes, or its terminal
 * master (close-on-exec, blocking; the caller may set O_NONBLOCK). */
typedef struct cf_process {
  pid_t pid;
  uint64_t start_time; /* field 22 of /proc/<pid>/stat */
  int pidfd;           /* pidfd_open() descriptor: readable when the process exits */
  int stdin_fd;
  int stdout_fd;
  int stderr_fd;
} cf_process;

/* Runs spec in the container whose init is given: joins its namespaces and
 * root, switches to the user, and execs. The process is the caller's child
 * unless spec->detach. Failures before the exec come back
 * here, never as an exit status: CF_E_EXEC_NOT_FOUND with
 * `exec: "NAME": executable file not found in $PATH`, CF_E_USER_NOT_FOUND
 * with `unable to find user NAME: no matching entries in passwd file`. */
int cf_runtime_exec(const cf_container_init *init, const cf_process_spec *spec, cf_process *out,
                    cf_err **err);

/* Sends sig to the process with this pid and start time; fails with
 * CF_E_NOT_FOUND when it is gone. */
int cf_runtime_pid_signal(pid_t pid, uint64_t start_time, int sig, cf_err **err);

/* Sends sig to the process. Success when it has already exited. */
int cf_runtime_process_signal(const cf_process *process, int sig, cf_err **err);

/* Reaps the process when it has exited. Sets *exited; *exit_status is the
 * exit code, or 128+signal for a killed process. Never blocks. Once the
 * process is reaped, a further call fails with CF_E_NOT_FOUND. */
int cf_runtime_process_wait(const cf_process *process, bool *exited, int *exit_status,
                            cf_err **err);

/* Sets the window size of the terminal of a process started with
 * cf_process_spec.terminal (TIOCSWINSZ on its master); the kernel sends
 * SIGWINCH to the terminal's foreground process group. Fails with
 * CF_E_INVALID when the process has no terminal descriptor. */
int cf_runtime_process_resize(const cf_process *process, uint16_t rows, uint16_t columns,
                              cf_err **err);

/* Closes whatever descriptors of process are still open. */
void cf_process_close(cf_process *process);

/* Field 22 of /proc/<pid>/stat; fails with CF_E_NOT_FOUND for no process. */
int cf_runtime_pid_start_time(pid_t pid, uint64_t *start_time, cf_err **err);

#endif
