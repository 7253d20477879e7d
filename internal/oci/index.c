/* SPDX-License-Identifier: Apache-2.0 */
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "oci/json.h"
#include "oci/oci.h"

int cf_oci_layout_check(const char *json, size_t len, cf_err **err)
{
  json_t *root = cf_oci_json_load(json, len, "oci-layout file", err);
  if (root == NULL) {
    return -1;
  }
  json_t *version = json_object_get(root, "imageLayoutVersion");
  int rc = 0;
  if (!json_is_string(version)) {
    rc = cf_err_set(err, CF_E_INVALID, "invalid oci-layout file: imageLayoutVersion: missing");
  } else if (strncmp(json_string_value(version), "1.", 2) != 0) {
    rc =
        cf_err_set(err, CF_E_INVALID, "unsupported OCI layout version \"%s\": expected 1.x (1.0.0)",
                   json_string_value(version));
  }
  json_decref(root);
  return rc;
}

void cf_oci_index_clear(cf_oci_index *index)
{
  free(index->media_type);
  for (size_t i = 0; i < index->manifest_count; i++) {
    cf_oci_descriptor_clear(&index->manifests[i]);
  }
  free(index->manifests);
  memset(index, 0, sizeof(*index));
}

static int parse_manifests(json_t *root, cf_oci_index *out, cf_err **err)
{
  json_t *array = json_object_get(root, "manifests");
  if (array == NULL) {
    return cf_err_set(err, CF_E_INVALID, "manifests: missing");
  }
  if (!json_is_array(array)) {
    return cf_err_set(err, CF_E_INVALID, "manifests: expected an array");
  }
  out->manifests = cf_xcalloc(json_array_size(array), sizeof(*out->manifests));
  for (size_t i = 0; i < json_array_size(array); i++) {
    if (cf_oci_descriptor_parse(json_array_get(array, i), &out->manifests[i], err) < 0) {
      return cf_err_wrap(err, "manifests[%zu]", i);
    }
    out->manifest_count++;
  }
  return 0;
}

static int parse_index(json_t *root, cf_oci_index *out, cf_err **err)
{
  if (cf_oci_json_schema_version(root, err) < 0 ||
      cf_oci_json_string(root, "mediaType", false, &out->media_type, err) < 0) {
    return -1;
  }
  if (out->media_type != NULL && cf_oci_media_kind(out->media_type) != CF_OCI_KIND_INDEX) {
    return cf_err_set(err, CF_E_INVALID, "mediaType: \"%s\" is not an image index type",
                      out->media_type);
  }
  return parse_manifests(root, out, err);
}

int cf_oci_index_parse(const char *json, size_t len, cf_oci_index *out, cf_err **err)
{
  memset(out, 0, sizeof(*out));
  json_t *root = cf_oci_json_load(json, len, "image index", err);
  if (root == NULL) {
    return -1;
  }
  int rc = parse_index(root, out, err);
  json_decref(root);
  if (rc < 0) {
    cf_oci_index_clear(out);
    return cf_err_wrap(err, "invalid image index");
  }
  return 0;
}
