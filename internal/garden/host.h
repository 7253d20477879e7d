/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Figures of the host that Capacity and Metrics report, and the process
 * setup of the server, read through each platform's own calls
 * (linux/host.c, windows/host.c).
 */
#ifndef CFWIN_GARDEN_HOST_H
#define CFWIN_GARDEN_HOST_H

#include <stdint.h>

#include "base/err.h"

/* Sets *bytes to the host's physical memory. */
int cf_host_memory_bytes(uint64_t *bytes, cf_err **err);

/* Sets *bytes to the size of the file system that contains path. */
int cf_host_disk_bytes(const char *path, uint64_t *bytes, cf_err **err);

/* Returns the number of online CPUs, or 0 when it cannot be read. */
long cf_host_cpu_count(void);

/* Makes a write to a connection the peer closed fail with an error instead
 * of ending the process, as SIGPIPE would on Linux. */
void cf_host_ignore_broken_pipes(void);

/* Removes a unix socket left at path by an earlier run, as gdn does, and
 * leaves any other file there alone. */
void cf_host_remove_stale_socket(const char *path);

/* A lock on a depot, so that one server or one `gdn cleanup` uses a depot
 * at a time. */
typedef struct cf_depot_lock cf_depot_lock;

/* Takes the lock file <depot>/server.lock without waiting and writes this
 * process's id into it. Fails with CF_E_BUSY, naming the holder's process
 * id, while another process holds the lock. The depot must exist. */
int cf_host_depot_lock(const char *depot, cf_depot_lock **out, cf_err **err);
/* Takes the lock of the container network name in this network namespace,
 * so that two servers cannot share (and sweep) one bridge and nftables
 * table. Fails with CF_E_BUSY, naming the holder's process id, while
 * another process has it. Sets *out to NULL where networks need no lock
 * (cfwin.exe). Released with cf_host_depot_unlock(). */
int cf_host_network_lock(const char *name, cf_depot_lock **out, cf_err **err);
/* Releases the lock; NULL is allowed. The file stays for the next holder. */
void cf_host_depot_unlock(cf_depot_lock *lock);

#endif
