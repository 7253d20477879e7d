/* SPDX-License-Identifier: Apache-2.0 */
/* Process facts from /proc and pidfds that survive pid reuse. */
#ifndef CFWIN_RUNTIME_LINUX_PROC_H
#define CFWIN_RUNTIME_LINUX_PROC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"

/* Reads the state (field 3, e.g. 'S' or 'Z') and start time (field 22) of
 * /proc/<pid>/stat. Fails with CF_E_NOT_FOUND when there is no such process. */
int cf_proc_stat_read(pid_t pid, char *state, uint64_t *start_time, cf_err **err);

/* Finds the memory that contains this process's argv strings (fields 48 and 49
 * of /proc/self/stat), which a child may overwrite to rename itself. */
int cf_proc_self_args(char **start, size_t *len, cf_err **err);

/* Opens a pidfd of pid when pid still names the process that started at
 * start_time (it may be a zombie). Sets *pidfd to -1 when that process is
 * gone, even when another process now has its pid. */
int cf_proc_open_verified(pid_t pid, uint64_t start_time, int *pidfd, cf_err **err);

/* Opens a pidfd of the container init with this pid and start time and an
 * O_PATH descriptor of its root directory, then checks that the pid still
 * belongs to the init. Fails with CF_E_NOT_FOUND when the init is gone. On
 * failure both descriptors are -1. */
int cf_proc_open_init(pid_t pid, uint64_t start_time, int *pidfd, int *root_fd, cf_err **err);

/* Finds the host pid of the child of parent whose pid in its own pid
 * namespace is ns_pid (the last NSpid field of /proc/<pid>/status). Fails
 * with CF_E_NOT_FOUND when there is none. */
int cf_proc_host_pid(pid_t parent, pid_t ns_pid, pid_t *pid, cf_err **err);

/* Sets *inode to the pid namespace inode of the process; CF_E_NOT_FOUND when
 * it is gone. */
int cf_proc_pid_ns(pid_t pid, uint64_t *inode, cf_err **err);

#endif
