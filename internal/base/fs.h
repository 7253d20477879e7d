/* SPDX-License-Identifier: Apache-2.0 */
/* File and path helpers. Every function reports failures through cf_err. */
#ifndef CFWIN_BASE_FS_H
#define CFWIN_BASE_FS_H

#include <stddef.h>
#include <sys/types.h>

#include "base/buf.h"
#include "base/err.h"

/* Returns a new string "dir/name" (no doubled slash). */
char *cf_path_join(const char *dir, const char *name);

/* Creates path and its missing parents with mode. An existing directory is
 * success; an existing non-directory is an error. */
int cf_mkdir_p(const char *path, mode_t mode, cf_err **err);

/* Removes path recursively without following symlinks or crossing into other
 * mounts. A missing path is success. Trees deeper than PATH_MAX are removed
 * too. */
int cf_rm_rf(const char *path, cf_err **err);

/* Reads a whole file into buf (appending); fails with CF_E_LIMIT past the
 * buffer's maximum. */
int cf_read_file(const char *path, cf_buf *buf, cf_err **err);

/* Writes data to path through a temporary file, fsync and rename, so readers
 * see the old or the new content, never a mix. */
int cf_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode, cf_err **err);

/* Writes all of data to fd, retrying on EINTR and short writes. */
int cf_write_all(int fd, const void *data, size_t len, cf_err **err);

/* Fills out with n random bytes from getrandom(2), as 2n lowercase hex
 * characters plus NUL (out holds 2n+1 bytes). */
int cf_random_hex(char *out, size_t n, cf_err **err);

/* Writes a random RFC 4122 version 4 UUID ("xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx")
 * and a NUL into out. */
int cf_random_uuid(char out[37], cf_err **err);

/* Checks a container handle: [A-Za-z0-9][A-Za-z0-9_.-]{0,127}. Handles become
 * paths, hostnames, cgroup and nftables names, so nothing else is accepted. */
int cf_handle_validate(const char *handle, cf_err **err);

#endif
