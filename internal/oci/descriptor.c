/* SPDX-License-Identifier: Apache-2.0 */
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "base/sha256.h"
#include "oci/json.h"
#include "oci/oci.h"

void cf_oci_descriptor_clear(cf_oci_descriptor *desc)
{
  free(desc->media_type);
  free(desc->digest);
  for (size_t i = 0; i < desc->annotation_count; i++) {
    free(desc->annotations[i].key);
    free(desc->annotations[i].value);
  }
  free(desc->annotations);
  free(desc->platform.os);
  free(desc->platform.architecture);
  free(desc->platform.variant);
  free(desc->platform.os_version);
  cf_oci_strings_free(desc->urls, desc->url_count);
  memset(desc, 0, sizeof(*desc));
}

const char *cf_oci_descriptor_annotation(const cf_oci_descriptor *desc, const char *key)
{
  for (size_t i = 0; i < desc->annotation_count; i++) {
    if (strcmp(desc->annotations[i].key, key) == 0) {
      return desc->annotations[i].value;
    }
  }
  return NULL;
}

static int parse_size(json_t *obj, int64_t *out, cf_err **err)
{
  json_t *value = json_object_get(obj, "size");
  if (value == NULL) {
    return cf_err_set(err, CF_E_INVALID, "size: missing");
  }
  if (!json_is_integer(value) || json_integer_value(value) < 0) {
    return cf_err_set(err, CF_E_INVALID, "size: expected a non-negative integer");
  }
  *out = (int64_t)json_integer_value(value);
  return 0;
}

static int parse_annotations(json_t *obj, cf_oci_descriptor *desc, cf_err **err)
{
  json_t *map = json_object_get(obj, "annotations");
  if (map == NULL || json_is_null(map)) {
    return 0;
  }
  if (!json_is_object(map)) {
    return cf_err_set(err, CF_E_INVALID, "annotations: expected an object of strings");
  }
  desc->annotations = cf_xcalloc(json_object_size(map), sizeof(*desc->annotations));
  const char *key;
  json_t *value;
  json_object_foreach(map, key, value)
  {
    if (!json_is_string(value)) {
      return cf_err_set(err, CF_E_INVALID, "annotations: %s: expected a string", key);
    }
    cf_oci_annotation *a = &desc->annotations[desc->annotation_count++];
    a->key = cf_xstrdup(key);
    a->value = cf_xstrdup(json_string_value(value));
  }
  return 0;
}

static int parse_platform(json_t *obj, cf_oci_descriptor *desc, cf_err **err)
{
  json_t *platform = json_object_get(obj, "platform");
  if (platform == NULL || json_is_null(platform)) {
    return 0;
  }
  if (!json_is_object(platform)) {
    return cf_err_set(err, CF_E_INVALID, "platform: expected an object");
  }
  desc->has_platform = true;
  cf_oci_platform *p = &desc->platform;
  if (cf_oci_json_string(platform, "os", true, &p->os, err) < 0 ||
      cf_oci_json_string(platform, "architecture", true, &p->architecture, err) < 0 ||
      cf_oci_json_string(platform, "variant", false, &p->variant, err) < 0 ||
      cf_oci_json_string(platform, "os.version", false, &p->os_version, err) < 0) {
    return cf_err_wrap(err, "platform");
  }
  if (p->variant == NULL) {
    p->variant = cf_xstrdup("");
  }
  if (p->os_version == NULL) {
    p->os_version = cf_xstrdup("");
  }
  return 0;
}

static int parse_fields(json_t *obj, cf_oci_descriptor *out, cf_err **err)
{
  if (!json_is_object(obj)) {
    return cf_err_set(err, CF_E_INVALID, "expected a descriptor object");
  }
  if (cf_oci_json_string(obj, "mediaType", true, &out->media_type, err) < 0 ||
      cf_oci_json_string(obj, "digest", true, &out->digest, err) < 0) {
    return -1;
  }
  if (cf_digest_validate(out->digest, err) < 0) {
    return cf_err_wrap(err, "digest");
  }
  if (parse_size(obj, &out->size, err) < 0 || parse_annotations(obj, out, err) < 0) {
    return -1;
  }
  if (cf_oci_json_strings(obj, "urls", &out->urls, &out->url_count, err) < 0) {
    return cf_err_wrap(err, "urls");
  }
  return parse_platform(obj, out, err);
}

int cf_oci_descriptor_parse(json_t *obj, cf_oci_descriptor *out, cf_err **err)
{
  memset(out, 0, sizeof(*out));
  if (parse_fields(obj, out, err) < 0) {
    cf_oci_descriptor_clear(out);
    return -1;
  }
  return 0;
}
