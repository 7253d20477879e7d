/* SPDX-License-Identifier: Apache-2.0 */
#include "oci/oci.h"

#include <string.h>

static const char *const index_types[] = {
    CF_OCI_MEDIA_INDEX,
    CF_DOCKER_MEDIA_MANIFEST_LIST,
};

static const char *const manifest_types[] = {
    CF_OCI_MEDIA_MANIFEST,
    CF_DOCKER_MEDIA_MANIFEST,
};

static const char *const config_types[] = {
    CF_OCI_MEDIA_CONFIG,
    CF_DOCKER_MEDIA_CONFIG,
};

struct layer_type {
  const char *media_type;
  enum cf_oci_compression compression;
};

/* Non-distributable (OCI) and foreign (Docker) layers are ordinary layers
 * once their blob is in the layout. */
static const struct layer_type layer_types[] = {
    {CF_OCI_MEDIA_LAYER, CF_OCI_COMPRESSION_NONE},
    {CF_OCI_MEDIA_LAYER_GZIP, CF_OCI_COMPRESSION_GZIP},
    {CF_OCI_MEDIA_LAYER_ZSTD, CF_OCI_COMPRESSION_ZSTD},
    {"application/vnd.oci.image.layer.nondistributable.v1.tar", CF_OCI_COMPRESSION_NONE},
    {"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", CF_OCI_COMPRESSION_GZIP},
    {"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", CF_OCI_COMPRESSION_ZSTD},
    {CF_DOCKER_MEDIA_LAYER, CF_OCI_COMPRESSION_NONE},
    {CF_DOCKER_MEDIA_LAYER_GZIP, CF_OCI_COMPRESSION_GZIP},
    {"application/vnd.docker.image.rootfs.foreign.diff.tar", CF_OCI_COMPRESSION_NONE},
    {"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", CF_OCI_COMPRESSION_GZIP},
};

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))

static bool in_list(const char *media_type, const char *const *list, size_t count)
{
  for (size_t i = 0; i < count; i++) {
    if (strcmp(media_type, list[i]) == 0) {
      return true;
    }
  }
  return false;
}

static const struct layer_type *find_layer_type(const char *media_type)
{
  for (size_t i = 0; i < COUNT(layer_types); i++) {
    if (strcmp(media_type, layer_types[i].media_type) == 0) {
      return &layer_types[i];
    }
  }
  return NULL;
}

enum cf_oci_kind cf_oci_media_kind(const char *media_type)
{
  if (media_type == NULL) {
    return CF_OCI_KIND_UNKNOWN;
  }
  if (in_list(media_type, index_types, COUNT(index_types))) {
    return CF_OCI_KIND_INDEX;
  }
  if (in_list(media_type, manifest_types, COUNT(manifest_types))) {
    return CF_OCI_KIND_MANIFEST;
  }
  if (in_list(media_type, config_types, COUNT(config_types))) {
    return CF_OCI_KIND_CONFIG;
  }
  if (find_layer_type(media_type) != NULL) {
    return CF_OCI_KIND_LAYER;
  }
  return CF_OCI_KIND_UNKNOWN;
}

int cf_oci_layer_compression(const char *media_type, enum cf_oci_compression *out, cf_err **err)
{
  const struct layer_type *type = media_type != NULL ? find_layer_type(media_type) : NULL;
  if (type == NULL) {
    return cf_err_set(err, CF_E_INVALID,
                      "unsupported layer media type \"%s\": expected a tar, tar+gzip or "
                      "tar+zstd layer type (OCI or Docker schema 2)",
                      media_type != NULL ? media_type : "");
  }
  *out = type->compression;
  return 0;
}
