/* SPDX-License-Identifier: Apache-2.0 */
/*
 * User namespaces for unprivileged containers. The parent clones the child
 * with CLONE_NEWUSER, and the child waits on a sync socket. The parent
 * writes the child's uid_map, setgroups and gid_map, then releases it. The
 * child then switches to the mapped root and goes on with its setup.
 */
#ifndef CFWIN_RUNTIME_LINUX_USERNS_H
#define CFWIN_RUNTIME_LINUX_USERNS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"
#include "runtime/linux/security.h"

/* The kernel accepts at most this many lines in uid_map or gid_map (since
 * Linux 4.15), written in one write() of less than a page. */
#define CF_USERNS_MAX_RANGES 340

typedef struct cf_id_range {
  uint32_t container_id; /* first id inside the namespace */
  uint32_t host_id;      /* the host id it maps to */
  uint32_t size;
} cf_id_range;

typedef struct cf_id_map {
  cf_id_range *ranges;
  size_t count;
} cf_id_map;

/* Parses OCI linux.uidMappings or linux.gidMappings ([{containerID, hostID,
 * size}]) and validates the result; field names the list in errors. */
int cf_userns_map_from_oci(const json_t *mappings, const char *field, cf_id_map *out, cf_err **err);

/* Checks what the kernel checks: 1 to 340 ranges, no empty range, no range
 * past id 4294967294, no two ranges overlapping inside or on the host. */
int cf_userns_map_validate(const cf_id_map *map, const char *field, cf_err **err);

void cf_userns_map_free(cf_id_map *map);

/* The socket pair the child waits on until its maps are written. */
typedef struct cf_userns_sync {
  int child_fd;  /* read end, for the child */
  int parent_fd; /* write end, for the parent */
} cf_userns_sync;

int cf_userns_sync_open(cf_userns_sync *sync, cf_err **err);

/* Parent side, after the clone: closes the child's end. */
void cf_userns_sync_close_child(cf_userns_sync *sync);

/* Parent side: writes /proc/<pid>/uid_map, then "deny" to setgroups when the
 * caller lacks CAP_SETGID (the kernel requires it for gid_map then), then
 * gid_map. A NULL map is skipped. */
int cf_userns_write_maps(pid_t pid, const cf_id_map *uid_map, const cf_id_map *gid_map,
                         cf_err **err);

/* Parent side: lets the child go on, and closes the parent's end. Closing
 * the end without a release (cf_userns_sync_close()) makes the child's wait
 * fail with ECANCELED. */
int cf_userns_sync_release(cf_userns_sync *sync, cf_err **err);

void cf_userns_sync_close(cf_userns_sync *sync);

/* Child side: closes the parent's end and waits for the release. Returns 0,
 * or -1 with errno set (ECANCELED when the parent closed without one). */
int cf_userns_sync_wait(cf_userns_sync *sync, cf_sec_fault *fault);

/* Child side, after the release: becomes uid 0 and gid 0 of the namespace,
 * dropping the host's supplementary groups where setgroups is allowed. Until
 * then the child keeps the host ids it was cloned with, which are unmapped
 * inside the namespace but still own host files. */
int cf_userns_become_root(cf_sec_fault *fault);

#endif
