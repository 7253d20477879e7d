/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The cgroups of containers: one per handle under the default parent
 * (CF_CGROUP_DEFAULT_PARENT at the top of each hierarchy), so the server, the
 * runtime CLI and a restarted server find a container's cgroup from its
 * handle or from the pid of its init alone. The layout is detected once per
 * process.
 */
#ifndef CFWIN_RUNTIME_LINUX_CTR_CGROUP_H
#define CFWIN_RUNTIME_LINUX_CTR_CGROUP_H

#include <stddef.h>
#include <sys/types.h>

#include "base/err.h"
#include "runtime/linux/cgroup.h"
#include "runtime/runtime.h"

/* Creates the cgroup of spec->handle and applies spec->limits. A cgroup of
 * that handle with no process left (a crash leftover) is replaced; one with
 * processes fails with CF_E_EXISTS. Sets *out to NULL when the host has no
 * hierarchy with the memory controller and the spec sets no limit; fails
 * with CF_E_NOT_IMPLEMENTED when it sets one. On failure nothing is left. */
int cf_ctr_cgroup_create(const cf_container_spec *spec, cf_cgroup **out, cf_err **err);

/* Opens the cgroup of handle. CF_E_NOT_FOUND when it has none. */
int cf_ctr_cgroup_open(const char *handle, cf_cgroup **out, cf_err **err);

/* Opens the container cgroup that process pid is in, found through
 * /proc/<pid>/cgroup. Sets *out to NULL when pid is in none (a container
 * made without cgroups) or is gone. */
int cf_ctr_cgroup_of_pid(pid_t pid, cf_cgroup **out, cf_err **err);

/* Removes the container cgroups that have no process left, without
 * signalling any. Sets *removed (may be NULL) to how many went. */
int cf_ctr_cgroup_sweep(size_t *removed, cf_err **err);

#endif
