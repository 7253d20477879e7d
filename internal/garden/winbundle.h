/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The bundle gdn writes to config.json for a Garden container on Windows,
 * built in memory for the Windows backend (garden/windows/backend.c).
 */
#ifndef CFWIN_GARDEN_WINBUNDLE_H
#define CFWIN_GARDEN_WINBUNDLE_H

#include <stddef.h>

#include "garden/backend.h"
#include "runtime/bundle.h"

/* Builds the bundle gdn writes for a container on Windows, in memory. It
 * takes dir as the bundle directory, root_path (the volume) as root.path
 * and layer_folders (top first) as windows.layerFolders. The hostname is
 * the handle's last 49 characters, and the request gives the memory and
 * CPU limits and the bind mounts. Free with cf_bundle_clear(). */
void cf_win_bundle_build(const cf_create_request *request, const char *dir, const char *root_path,
                         char *const *layer_folders, size_t layer_count, cf_bundle *out);

#endif
