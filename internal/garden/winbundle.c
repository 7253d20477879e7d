/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The bundle of a Garden container on Windows (winbundle.h). Platform-neutral,
 * so the native build unit-tests it.
 */
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "garden/winbundle.h"

/* gdn keeps the last 49 characters of the handle as the hostname. */
#define HOSTNAME_MAX 49

/* The maximum of windows.resources.cpu.shares, a uint16. */
#define CPU_SHARES_MAX 65535

static char *hostname_of(const char *handle)
{
  size_t len = strlen(handle);
  return cf_xstrdup(len > HOSTNAME_MAX ? handle + len - HOSTNAME_MAX : handle);
}

/* gdn's rule: the weight when given, else the shares, capped. */
static uint16_t cpu_shares_of(const cf_limits_record *limits)
{
  uint64_t shares = limits->cpu_weight > 0 ? limits->cpu_weight : limits->cpu_shares;
  return (uint16_t)(shares > CPU_SHARES_MAX ? CPU_SHARES_MAX : shares);
}

/* {type: bind, source, destination, options: [bind, ro|rw]}, as gdn
 * writes a user bind mount. */
static void bind_mount_of(const cf_bind_mount *bind, cf_bundle_mount *out)
{
  out->type = cf_xstrdup("bind");
  out->source = cf_xstrdup(bind->src_path);
  out->destination = cf_xstrdup(bind->dst_path);
  out->option_count = 2;
  out->options = cf_xcalloc(3, sizeof(char *));
  out->options[0] = cf_xstrdup("bind");
  out->options[1] = cf_xstrdup(bind->read_write ? "rw" : "ro");
}

void cf_win_bundle_build(const cf_create_request *request, const char *dir, const char *root_path,
                         char *const *layer_folders, size_t layer_count, cf_bundle *out)
{
  memset(out, 0, sizeof(*out));
  out->dir = cf_xstrdup(dir);
  out->oci_version = cf_xstrdup("1.0.0");
  out->root_path = cf_xstrdup(root_path);
  out->hostname = hostname_of(request->handle);
  out->layer_folders = cf_xcalloc(layer_count + 1, sizeof(char *));
  for (size_t i = 0; i < layer_count; i++) {
    out->layer_folders[i] = cf_xstrdup(layer_folders[i]);
  }
  out->layer_folder_count = layer_count;
  out->mounts = cf_xcalloc(request->bind_mount_count + 1, sizeof(cf_bundle_mount));
  for (size_t i = 0; i < request->bind_mount_count; i++) {
    bind_mount_of(&request->bind_mounts[i], &out->mounts[i]);
  }
  out->mount_count = request->bind_mount_count;
  if (request->limits != NULL) {
    out->memory_limit = request->limits->memory_bytes;
    out->cpu_shares = cpu_shares_of(request->limits);
  }
}
