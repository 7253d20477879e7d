/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Garden bind mounts: reading them from a container or process spec and
 * turning them into the runtime's mount list.
 */
#ifndef CFWIN_GARDEN_BIND_MOUNTS_H
#define CFWIN_GARDEN_BIND_MOUNTS_H

#include <jansson.h>
#include <stddef.h>

#include "base/err.h"
#include "garden/backend.h"
#include "runtime/runtime.h"

/* Reads spec's "bind_mounts" array into a new array, or sets *out to NULL
 * when it is absent or empty. Each entry needs absolute src_path and
 * dst_path without NUL characters, and mode 0 (RO) or 1 (RW). Origin 1 (a
 * source in the container) fails with CF_E_NOT_IMPLEMENTED, and other bad
 * input with CF_E_INVALID naming the entry and the field. */
int cf_bind_mounts_parse(const json_t *spec, cf_bind_mount **out, size_t *count, cf_err **err);

void cf_bind_mounts_free(cf_bind_mount *mounts, size_t count);

/* A container's whole mount list for the runtime's own_mounts: /proc, a
 * tmpfs /dev with devpts and /dev/shm, a read-only /sys (the set the
 * runtime makes when given no mounts), then one bind mount per entry. */
typedef struct cf_mount_list {
  cf_mount_spec *mounts;
  size_t count;
} cf_mount_list;

/* Builds the list, whose strings stay borrowed from binds. A missing
 * source fails with CF_E_INVALID naming it and with Guardian's words, "no
 * such file or directory" (its bind mount rule returns the statfs(2) error
 * of the source). */
int cf_mount_list_build(const cf_bind_mount *binds, size_t bind_count, cf_mount_list *out,
                        cf_err **err);

void cf_mount_list_free(cf_mount_list *list);

#endif
