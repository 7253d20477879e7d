/* SPDX-License-Identifier: Apache-2.0 */
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "oci/json.h"
#include "oci/oci.h"

void cf_oci_manifest_clear(cf_oci_manifest *manifest)
{
  free(manifest->media_type);
  cf_oci_descriptor_clear(&manifest->config);
  for (size_t i = 0; i < manifest->layer_count; i++) {
    cf_oci_descriptor_clear(&manifest->layers[i]);
  }
  free(manifest->layers);
  memset(manifest, 0, sizeof(*manifest));
}

static int parse_config(json_t *root, cf_oci_manifest *out, cf_err **err)
{
  json_t *config = json_object_get(root, "config");
  if (config == NULL) {
    return cf_err_set(err, CF_E_INVALID, "config: missing");
  }
  if (cf_oci_descriptor_parse(config, &out->config, err) < 0) {
    return cf_err_wrap(err, "config");
  }
  if (cf_oci_media_kind(out->config.media_type) != CF_OCI_KIND_CONFIG) {
    return cf_err_set(err, CF_E_INVALID,
                      "config: media type \"%s\" is not an image config type (%s or %s)",
                      out->config.media_type, CF_OCI_MEDIA_CONFIG, CF_DOCKER_MEDIA_CONFIG);
  }
  return 0;
}

static int parse_layer(json_t *obj, cf_oci_descriptor *out, cf_err **err)
{
  if (cf_oci_descriptor_parse(obj, out, err) < 0) {
    return -1;
  }
  enum cf_oci_compression compression;
  return cf_oci_layer_compression(out->media_type, &compression, err);
}

static int parse_layers(json_t *root, cf_oci_manifest *out, cf_err **err)
{
  json_t *array = json_object_get(root, "layers");
  if (array == NULL) {
    return cf_err_set(err, CF_E_INVALID, "layers: missing");
  }
  if (!json_is_array(array)) {
    return cf_err_set(err, CF_E_INVALID, "layers: expected an array");
  }
  out->layers = cf_xcalloc(json_array_size(array), sizeof(*out->layers));
  for (size_t i = 0; i < json_array_size(array); i++) {
    if (parse_layer(json_array_get(array, i), &out->layers[i], err) < 0) {
      cf_oci_descriptor_clear(&out->layers[i]);
      return cf_err_wrap(err, "layers[%zu]", i);
    }
    out->layer_count++;
  }
  return 0;
}

static int parse_manifest(json_t *root, cf_oci_manifest *out, cf_err **err)
{
  if (cf_oci_json_schema_version(root, err) < 0 ||
      cf_oci_json_string(root, "mediaType", false, &out->media_type, err) < 0) {
    return -1;
  }
  if (out->media_type != NULL && cf_oci_media_kind(out->media_type) != CF_OCI_KIND_MANIFEST) {
    return cf_err_set(err, CF_E_INVALID, "mediaType: \"%s\" is not an image manifest type",
                      out->media_type);
  }
  if (parse_config(root, out, err) < 0) {
    return -1;
  }
  return parse_layers(root, out, err);
}

int cf_oci_manifest_parse(const char *json, size_t len, cf_oci_manifest *out, cf_err **err)
{
  memset(out, 0, sizeof(*out));
  json_t *root = cf_oci_json_load(json, len, "image manifest", err);
  if (root == NULL) {
    return -1;
  }
  int rc = parse_manifest(root, out, err);
  json_decref(root);
  if (rc < 0) {
    cf_oci_manifest_clear(out);
    return cf_err_wrap(err, "invalid image manifest");
  }
  return 0;
}
