/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Image storage: the platform part of the image role. A backend keeps
 * read-only layers, keyed by chain id, and writable layers (groot calls them
 * volumes), keyed by container handle, under one root directory. It imports
 * layers, creates a writable layer over parent layers with a size limit,
 * mounts and unmounts it, destroys it and reports its usage.
 *
 * Windows (windows/storage.c): the root is groot's driver store. Layers are
 * <root>\layers\<hex>, imported with vmcompute.dll's ImportLayer. Volumes
 * are <root>\volumes\<handle> with a Sandbox.vhdx from CreateSandboxLayer,
 * mounted with ActivateLayer and PrepareLayer, limited with an FSRM quota.
 * Linux: a later backend (ext4 image on a loop device over overlayfs layer
 * directories) is to implement the same functions.
 *
 * Chain ids are `sha256:` and 64 lowercase hex digits. Lists of chain ids
 * are bottom layer first, as cf_image lists them; a backend reverses them
 * where its platform wants the top layer first. Every function follows the
 * error contract of base/err.h. A storage object may be used from several
 * threads; the backend serialises what its platform needs serialised.
 */
#ifndef CFWIN_IMAGE_STORAGE_H
#define CFWIN_IMAGE_STORAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "image/wintar.h"

typedef struct cf_storage cf_storage;

/* Opens the storage under root, creating the root and its layer and volume
 * directories when missing. Fails with CF_E_NOT_IMPLEMENTED, naming what to
 * enable, when the host lacks the platform feature (on Windows: the
 * Containers feature, vmcompute.dll). */
int cf_storage_open(const char *root, cf_storage **out, cf_err **err);
void cf_storage_close(cf_storage *storage);

/* The absolute root directory after normalisation (Windows: C:\... form). */
const char *cf_storage_root(const cf_storage *storage);

/* Sets *exists to whether the layer chain_id has been imported. */
int cf_storage_layer_exists(cf_storage *storage, const char *chain_id, bool *exists, cf_err **err);

/* Imports the layer chain_id from source_dir, a directory in the platform's
 * layer format (Windows: Files\ and Hives\ written with BackupWrite, as
 * winimage.h's cf_win_layer_entry_path names the entries), over the parent
 * layers parent_ids (bottom first, already imported). source_dir is left in
 * place for the caller to remove. Fails with CF_E_EXISTS when the layer
 * exists. */
int cf_storage_layer_import(cf_storage *storage, const char *chain_id, const char *source_dir,
                            char *const *parent_ids, size_t parent_count, cf_err **err);

/* Reads a layer tar (decompressed and verified by the caller) from read
 * and imports it as chain_id over parent_ids (bottom first), as groot's
 * unpack does. On Windows it enables the SeBackup and SeRestore privileges.
 * A base layer is written in place and processed. Any other layer is
 * written in the import format and passed to ImportLayer. Then the rest
 * of the input is read to its end, so a digest check in read can still fail
 * the import, and the `size` file is written last to mark the layer
 * complete. *size gets the regular-file data bytes of the layer. A layer that exists with a `size`
 * file is not read again and *size is the stored value; one without it is destroyed and imported
 * again. */
int cf_storage_layer_import_tar(cf_storage *storage, const char *chain_id, cf_wintar_read_fn read,
                                void *context, char *const *parent_ids, size_t parent_count,
                                uint64_t *size, cf_err **err);

/* Removes an imported layer. A layer that does not exist is not an error.
 * The caller makes sure that no volume uses it. */
int cf_storage_layer_destroy(cf_storage *storage, const char *chain_id, cf_err **err);

/* Creates the writable layer of handle over the layers layer_ids (bottom
 * first) and mounts it. size_limit is the maximum number of bytes the
 * container may write, 0 for no limit. On success *mount_path is the path the
 * runtime uses as its root (Windows: the volume GUID path
 * \\?\Volume{GUID}\). On failure nothing of the volume is left. Fails with
 * CF_E_EXISTS when handle already has a volume. */
int cf_storage_volume_create(cf_storage *storage, const char *handle, char *const *layer_ids,
                             size_t layer_count, uint64_t size_limit, char **mount_path,
                             cf_err **err);

/* Stores the mount path of a mounted volume in *mount_path. CF_E_NOT_FOUND
 * when handle has no volume or it is not mounted. */
int cf_storage_volume_mount_path(cf_storage *storage, const char *handle, char **mount_path,
                                 cf_err **err);

/* Mounts an existing, unmounted volume again (after a host restart), over
 * the same layers it was created with. */
int cf_storage_volume_mount(cf_storage *storage, const char *handle, char *const *layer_ids,
                            size_t layer_count, char **mount_path, cf_err **err);

/* Unmounts the volume, keeping its content. */
int cf_storage_volume_unmount(cf_storage *storage, const char *handle, cf_err **err);

/* Unmounts and removes the volume and its content. A volume that does not
 * exist is not an error, so delete can be retried. Never touches layers. */
int cf_storage_volume_destroy(cf_storage *storage, const char *handle, cf_err **err);

/* Disk usage of a mounted volume. */
typedef struct cf_storage_usage {
  uint64_t used_bytes;  /* bytes the container has written to its writable layer */
  uint64_t limit_bytes; /* the enforced limit, 0 when there is none */
} cf_storage_usage;

int cf_storage_volume_usage(cf_storage *storage, const char *handle, cf_storage_usage *out,
                            cf_err **err);

#endif
