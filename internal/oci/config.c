/* SPDX-License-Identifier: Apache-2.0 */
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "base/sha256.h"
#include "oci/json.h"
#include "oci/oci.h"

void cf_oci_config_clear(cf_oci_image_config *config)
{
  free(config->os);
  free(config->architecture);
  cf_oci_strings_free(config->env, config->env_count);
  cf_oci_strings_free(config->diff_ids, config->diff_id_count);
  memset(config, 0, sizeof(*config));
}

static int parse_env(json_t *root, cf_oci_image_config *out, cf_err **err)
{
  json_t *config = json_object_get(root, "config");
  if (config == NULL || json_is_null(config)) {
    return 0;
  }
  if (!json_is_object(config)) {
    return cf_err_set(err, CF_E_INVALID, "config: expected an object");
  }
  if (cf_oci_json_strings(config, "Env", &out->env, &out->env_count, err) < 0) {
    return cf_err_wrap(err, "config");
  }
  return 0;
}

static int parse_diff_ids(json_t *rootfs, cf_oci_image_config *out, cf_err **err)
{
  if (json_object_get(rootfs, "diff_ids") == NULL) {
    return cf_err_set(err, CF_E_INVALID, "diff_ids: missing");
  }
  if (cf_oci_json_strings(rootfs, "diff_ids", &out->diff_ids, &out->diff_id_count, err) < 0) {
    return -1;
  }
  for (size_t i = 0; i < out->diff_id_count; i++) {
    if (cf_digest_validate(out->diff_ids[i], err) < 0) {
      return cf_err_wrap(err, "diff_ids[%zu]", i);
    }
  }
  return 0;
}

static int parse_rootfs(json_t *root, cf_oci_image_config *out, cf_err **err)
{
  json_t *rootfs = json_object_get(root, "rootfs");
  if (rootfs == NULL) {
    return cf_err_set(err, CF_E_INVALID, "rootfs: missing");
  }
  if (!json_is_object(rootfs)) {
    return cf_err_set(err, CF_E_INVALID, "rootfs: expected an object");
  }
  json_t *type = json_object_get(rootfs, "type");
  if (!json_is_string(type) || strcmp(json_string_value(type), "layers") != 0) {
    return cf_err_set(err, CF_E_INVALID, "rootfs: type: expected \"layers\"");
  }
  if (parse_diff_ids(rootfs, out, err) < 0) {
    return cf_err_wrap(err, "rootfs");
  }
  return 0;
}

static int parse_config(json_t *root, cf_oci_image_config *out, cf_err **err)
{
  if (cf_oci_json_string(root, "os", false, &out->os, err) < 0 ||
      cf_oci_json_string(root, "architecture", false, &out->architecture, err) < 0 ||
      parse_env(root, out, err) < 0) {
    return -1;
  }
  return parse_rootfs(root, out, err);
}

int cf_oci_config_parse(const char *json, size_t len, cf_oci_image_config *out, cf_err **err)
{
  memset(out, 0, sizeof(*out));
  json_t *root = cf_oci_json_load(json, len, "image config", err);
  if (root == NULL) {
    return -1;
  }
  int rc = parse_config(root, out, err);
  json_decref(root);
  if (rc < 0) {
    cf_oci_config_clear(out);
    return cf_err_wrap(err, "invalid image config");
  }
  return 0;
}
