/* SPDX-License-Identifier: Apache-2.0 */
/* JSON helpers shared by the oci parsers; not part of the module interface. */
#ifndef CFWIN_OCI_JSON_H
#define CFWIN_OCI_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"
#include "oci/oci.h"

/* Parses one JSON object; document names it in errors ("image manifest").
 * Returns a new reference, or NULL with *err set. */
json_t *cf_oci_json_load(const char *json, size_t len, const char *document, cf_err **err);

/* Copies the string member key of obj into *out. A missing or null member
 * leaves *out NULL and fails only when required. */
int cf_oci_json_string(json_t *obj, const char *key, bool required, char **out, cf_err **err);

/* Fails unless obj has "schemaVersion": 2. */
int cf_oci_json_schema_version(json_t *obj, cf_err **err);

/* Copies a JSON array of strings into a new array of new strings. A missing
 * or null member gives an empty array. */
int cf_oci_json_strings(json_t *obj, const char *key, char ***out, size_t *count, cf_err **err);

/* Frees an array of strings and the array. */
void cf_oci_strings_free(char **strings, size_t count);

/* Parses a descriptor object. */
int cf_oci_descriptor_parse(json_t *obj, cf_oci_descriptor *out, cf_err **err);

#endif
