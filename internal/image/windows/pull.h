/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The pull of the Windows image role: resolves an oci:// or docker:// URI
 * with the shared layout and registry readers and imports the layers that
 * the driver store lacks, bottom first, each under its own file lock.
 */
#ifndef CFWIN_IMAGE_WINDOWS_PULL_H
#define CFWIN_IMAGE_WINDOWS_PULL_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "image/image.h"
#include "image/storage.h"

/* A pulled image: its layers in the store and the config's environment. */
typedef struct cf_win_image {
  char **chain_ids; /* OCI chain ids, bottom layer first */
  size_t layer_count;
  char **env; /* the image config's Env ("K=V"), in order */
  size_t env_count;
  uint64_t size; /* the sum of the layers' regular-file bytes, as groot counts it */
} cf_win_image;

void cf_win_image_clear(cf_win_image *image);

/* Pulls uri into storage. Accepted: oci:///C:/layout[:tag] (a path without
 * a drive letter is on C:), Guardian's oci://C:/layout and
 * docker://[host[:port]]/repository[:tag|@digest]. options may be NULL.
 * Its platform defaults to windows/amd64 and this host's os.version. With
 * disk_quota not 0, an image whose compressed layers (the manifest's sizes)
 * add up to more fails with CF_E_LIMIT before any layer is read, as groot's
 * create does. Layers that are complete in the store are not read again. A layer whose import fails
 * leaves nothing in the store. Errors name the URI and, for a layer, its digest. The codes:
 * CF_E_INVALID for another scheme or a malformed URI, CF_E_NOT_FOUND for a missing layout, tag or
 * repository, CF_E_INTEGRITY for a digest or size mismatch and CF_E_SYSTEM for a registry that
 * could not be reached. */
int cf_win_image_pull(cf_storage *storage, const char *uri, const cf_pull_options *options,
                      uint64_t disk_quota, cf_win_image *out, cf_err **err);

#endif
