/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Images: OCI image layouts resolved into a shared layer store.
 *
 * Layers are unpacked once into <depot>/layers/<hex of chain id>/ and shared
 * by every container; the store records each layer. A container's root
 * filesystem is an overlay of the layer directories (bottom first as lower
 * layers) with a writable upper directory that belongs to the container.
 * The image module prepares the directories; the runtime mounts the overlay
 * inside the container's own mount namespace.
 */
#ifndef CFWIN_IMAGE_IMAGE_H
#define CFWIN_IMAGE_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "store/store.h"

typedef struct cf_image_store cf_image_store;

/* Opens the layer store under <depot>/layers. store is borrowed and must
 * outlive the image store. Safe to use from several threads and processes:
 * each layer is unpacked under a per-layer file lock. */
int cf_image_store_open(const char *depot, cf_store *store, cf_image_store **out, cf_err **err);
void cf_image_store_close(cf_image_store *images);

/* A resolved image, ready to become a root filesystem. */
typedef struct cf_image {
  char **layer_dirs; /* absolute unpacked layer directories, bottom layer first */
  char **chain_ids;  /* chain id of each layer, same order */
  size_t layer_count;
  char **env; /* the image config's Env ("K=V"), in order */
  size_t env_count;
  char *manifest_digest;
} cf_image;

void cf_image_clear(cf_image *image);

/* Resolves uri and unpacks the layers that are not in the store yet.
 * Supported: oci:///absolute/path[:tag]. Errors name the URI, the media type
 * and both digests on a mismatch (CF_E_INTEGRITY), CF_E_NOT_FOUND for a
 * missing layout or tag, CF_E_INVALID for a malformed URI or document. */
int cf_image_pull(cf_image_store *images, const char *uri, cf_image *out, cf_err **err);

/* Paths of a container's writable layer under container_dir. */
typedef struct cf_rootfs_dirs {
  char *upper;  /* <container_dir>/rootfs-upper */
  char *work;   /* <container_dir>/rootfs-work */
  char *target; /* <container_dir>/rootfs: the overlay mount point */
} cf_rootfs_dirs;

void cf_rootfs_dirs_clear(cf_rootfs_dirs *dirs);

/* Creates the writable layer directories for a container. */
int cf_image_rootfs_prepare(const char *container_dir, cf_rootfs_dirs *out, cf_err **err);

/* --- Lower-level pieces, exposed for the image role and for tests. --- */

/* Parsed oci:// URI: path is absolute; tag is NULL when absent. */
typedef struct cf_oci_uri {
  char *path;
  char *tag;
} cf_oci_uri;

int cf_oci_uri_parse(const char *uri, cf_oci_uri *out, cf_err **err);
void cf_oci_uri_clear(cf_oci_uri *uri);

/* ChainID(L0) = DiffID(L0); ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln)).
 * parent is NULL for the base layer. out holds CF_DIGEST_LEN + 1 bytes. */
void cf_chain_id(const char *parent_chain_id, const char *diff_id, char *out);

/* Unpacks the layer blob at blob_path (tar, optionally gzip or zstd
 * compressed, as media_type says) into the existing empty directory dest.
 * Converts OCI whiteouts (.wh.NAME, .wh..wh..opq) into overlayfs whiteouts
 * (0/0 character devices, trusted.overlay.opaque). Rejects, and writes
 * nothing outside dest for, entries with absolute paths, ".." components,
 * paths through symlinks and hard links that point outside. Checks that the
 * uncompressed stream's digest equals expected_diff_id (CF_E_INTEGRITY,
 * naming both digests) and stores the uncompressed size in *size. On any
 * failure after extraction began, dest is emptied again. */
int cf_layer_unpack(const char *blob_path, const char *media_type, const char *dest,
                    const char *expected_diff_id, int64_t *size, cf_err **err);

#endif
