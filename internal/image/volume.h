/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Volumes: a container's root filesystem, made of an image's layers (from
 * the shared layer store) and a writable layer of its own.
 *
 * Without a disk limit the writable layer is the directory pair
 * <depot>/volumes/<handle>/{upper,work}. With a limit it is an ext4
 * filesystem image, <depot>/volumes/<handle>/disk.ext4, attached to a loop
 * device and holding upper/ and work/; the runtime mounts the device on
 * <depot>/volumes/<handle>/mnt inside the container's mount namespace. The
 * loop device is the one host-level object a volume makes, and the store
 * records it before it is attached, so a crash leaves a record to clean.
 *
 * Each volume records the chain ids of its layers. Garbage collection
 * (cf_image_gc) never removes a layer that a volume references.
 */
#ifndef CFWIN_IMAGE_VOLUME_H
#define CFWIN_IMAGE_VOLUME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"
#include "image/image.h"

/* How the image counts against a disk limit, as Garden's DiskLimitScope. */
typedef enum cf_disk_scope {
  CF_DISK_SCOPE_TOTAL = 0,     /* image plus writable layer: quota = limit - image size */
  CF_DISK_SCOPE_EXCLUSIVE = 1, /* writable layer only: quota = limit */
} cf_disk_scope;

typedef struct cf_volume_request {
  const char *handle;
  const char *image_uri; /* recorded for listings */
  const cf_image *image; /* pulled; its layers become the volume's lower layers */
  int64_t disk_limit;    /* bytes; 0 for no limit */
  cf_disk_scope scope;
} cf_volume_request;

/* What the runtime needs to mount a volume. */
typedef struct cf_volume {
  char *path;        /* <depot>/volumes/<handle> */
  char **layer_dirs; /* bottom layer first */
  size_t layer_count;
  char *upper;
  char *work;
  char *target;    /* the overlay mount point: <path>/rootfs */
  char *device;    /* loop device holding upper and work, or NULL without a limit */
  char *fs_type;   /* "ext4", or NULL */
  char *mount_dir; /* where device is mounted inside the container, or NULL */
  int64_t quota;   /* bytes the writable layer may hold; 0 for no limit */
  int64_t image_size;
} cf_volume;

void cf_volume_clear(cf_volume *volume);

/* The largest disk limit a volume accepts: 1 PiB, far above any real disk,
 * keeps the ext4 sizing arithmetic far from int64_t overflow. */
#define CF_VOLUME_MAX_DISK_LIMIT (1LL << 50)

/* Creates the volume. Errors use groot's texts: "invalid disk limit: N",
 * "disk limit N must be larger than image size M" and "layer already
 * exists: HANDLE" (CF_E_EXISTS). On failure nothing of the volume is left. */
int cf_volume_create(cf_image_store *images, const cf_volume_request *request, cf_volume *out,
                     cf_err **err);

/* cf_volume_create() for an image already pulled from uri into *image
 * (request->image points to it). When garbage collection removed one of
 * the image's layers after that pull (CF_E_BUSY), pulls uri once more with
 * pull (may be NULL) into *image and tries again. */
int cf_volume_create_pulled(cf_image_store *images, const char *uri, const cf_pull_options *pull,
                            const cf_volume_request *request, cf_image *image, cf_volume *out,
                            cf_err **err);

/* Detaches the loop device (only when it is still backed by this volume's
 * file), removes the directory and the record. An unknown handle is
 * success with *existed false (existed may be NULL). The container using
 * the volume must be gone: a loop device still mounted is detached by the
 * kernel when its last mount goes away. */
int cf_volume_delete(cf_image_store *images, const char *handle, bool *existed, cf_err **err);

typedef struct cf_volume_stats {
  int64_t total_bytes_used;     /* image size plus exclusive bytes */
  int64_t exclusive_bytes_used; /* bytes the writable layer uses */
} cf_volume_stats;

/* Measures the writable layer: statfs of its ext4 filesystem (mounted in a
 * private mount namespace of a child process) or, without a limit, the
 * allocated blocks of every file in upper. Fails with CF_E_NOT_FOUND and
 * groot's "could not get volume path for bundle ID: HANDLE" when unknown. */
int cf_volume_stats_get(cf_image_store *images, const char *handle, cf_volume_stats *out,
                        cf_err **err);

/* Handles of all volumes, sorted; free with cf_strv_free(). */
int cf_volume_list(cf_image_store *images, char ***handles, size_t *count, cf_err **err);

/* Removes every ready layer that no volume references, each under its
 * layer lock; a layer whose lock another pull holds is skipped. Sets
 * *removed (may be NULL) to the number removed. */
int cf_image_gc(cf_image_store *images, size_t *removed, cf_err **err);

/* Removes volume directories that no store record names and whose handle
 * no create or delete holds, as a crash between making the directory and
 * recording it leaves them. cf_image_gc() calls it first. Sets *removed to
 * the number removed (may be NULL). */
int cf_volume_sweep_unrecorded(cf_image_store *images, size_t *removed, cf_err **err);

/* Pulls uri: a path without "://" is a local tar file, a single-layer image
 * (uncompressed tar); anything else goes to cf_image_pull_with() with
 * options (may be NULL). */
int cf_image_source_pull(cf_image_store *images, const char *uri, const cf_pull_options *options,
                         cf_image *out, cf_err **err);

/* --- Pieces exposed for tests. --- */

/* Writes an ext4 image at path whose free space is at least quota bytes and
 * at most quota plus CF_EXT4_SLACK, with the empty directories upper and
 * work, owned by owner_uid and owner_gid, at its root. Sets *base_used to
 * the bytes in use when empty. A quota outside 1..CF_VOLUME_MAX_DISK_LIMIT
 * is CF_E_INVALID. */
#define CF_EXT4_SLACK (256 * 1024)
int cf_ext4_image_create(const char *path, int64_t quota, uid_t owner_uid, gid_t owner_gid,
                         int64_t *base_used, cf_err **err);

/* Reads block size, block count and free blocks from an ext4 superblock. */
int cf_ext4_read_superblock(const char *path, int64_t *block_size, int64_t *blocks,
                            int64_t *free_blocks, cf_err **err);

/* Attaches file to a free loop device and records it in the store for the
 * volume before attaching. *device is a new "/dev/loopN" string. */
int cf_loop_attach(cf_store *store, const char *handle, const char *file, char **device,
                   cf_err **err);

/* Detaches device when it is still backed by file; success when it is not
 * attached or backed by something else. */
int cf_loop_detach(const char *device, const char *file, cf_err **err);

#endif
