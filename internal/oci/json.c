/* SPDX-License-Identifier: Apache-2.0 */
#include "oci/json.h"

#include <stdlib.h>

#include "base/mem.h"

json_t *cf_oci_json_load(const char *json, size_t len, const char *document, cf_err **err)
{
  json_error_t jerr;
  json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
  if (root == NULL) {
    cf_err_set(err, CF_E_INVALID, "invalid %s: line %d column %d: %s", document, jerr.line,
               jerr.column, jerr.text);
    return NULL;
  }
  if (!json_is_object(root)) {
    json_decref(root);
    cf_err_set(err, CF_E_INVALID, "invalid %s: expected a JSON object", document);
    return NULL;
  }
  return root;
}

int cf_oci_json_string(json_t *obj, const char *key, bool required, char **out, cf_err **err)
{
  *out = NULL;
  json_t *value = json_object_get(obj, key);
  if (value == NULL || json_is_null(value)) {
    if (required) {
      return cf_err_set(err, CF_E_INVALID, "%s: missing", key);
    }
    return 0;
  }
  if (!json_is_string(value)) {
    return cf_err_set(err, CF_E_INVALID, "%s: expected a string", key);
  }
  *out = cf_xstrdup(json_string_value(value));
  return 0;
}

int cf_oci_json_schema_version(json_t *obj, cf_err **err)
{
  json_t *value = json_object_get(obj, "schemaVersion");
  if (value == NULL) {
    return cf_err_set(err, CF_E_INVALID, "schemaVersion: missing");
  }
  if (!json_is_integer(value) || json_integer_value(value) != 2) {
    return cf_err_set(err, CF_E_INVALID, "schemaVersion: expected 2");
  }
  return 0;
}

void cf_oci_strings_free(char **strings, size_t count)
{
  if (strings == NULL) {
    return;
  }
  for (size_t i = 0; i < count; i++) {
    free(strings[i]);
  }
  free(strings);
}

int cf_oci_json_strings(json_t *obj, const char *key, char ***out, size_t *count, cf_err **err)
{
  *out = NULL;
  *count = 0;
  json_t *array = json_object_get(obj, key);
  if (array == NULL || json_is_null(array)) {
    return 0;
  }
  if (!json_is_array(array)) {
    return cf_err_set(err, CF_E_INVALID, "%s: expected an array of strings", key);
  }
  size_t n = json_array_size(array);
  char **strings = cf_xcalloc(n + 1, sizeof(*strings));
  for (size_t i = 0; i < n; i++) {
    json_t *item = json_array_get(array, i);
    if (!json_is_string(item)) {
      cf_oci_strings_free(strings, i);
      return cf_err_set(err, CF_E_INVALID, "%s[%zu]: expected a string", key, i);
    }
    strings[i] = cf_xstrdup(json_string_value(item));
  }
  *out = strings;
  *count = n;
  return 0;
}
