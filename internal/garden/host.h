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

#endif
