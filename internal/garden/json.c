/* SPDX-License-Identifier: Apache-2.0 */
#include "garden/json.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "base/mem.h"

/* Rewrites the characters Go's encoder escapes and jansson does not. They can
 * only occur inside strings, so a plain scan is enough. */
static char *escape_like_go(const char *text)
{
  cf_buf out;
  cf_buf_init(&out, (size_t)-1 / 2);
  for (const char *p = text; *p != '\0'; p++) {
    const char *replacement = NULL;
    size_t skip = 1;
    if (*p == '<') {
      replacement = "\\u003c";
    } else if (*p == '>') {
      replacement = "\\u003e";
    } else if (*p == '&') {
      replacement = "\\u0026";
    } else if ((unsigned char)p[0] == 0xe2 && (unsigned char)p[1] == 0x80 &&
               ((unsigned char)p[2] == 0xa8 || (unsigned char)p[2] == 0xa9)) {
      replacement = (unsigned char)p[2] == 0xa8 ? "\\u2028" : "\\u2029";
      skip = 3;
    }
    if (replacement != NULL) {
      cf_buf_append_str(&out, replacement, NULL);
      p += skip - 1;
    } else {
      cf_buf_append(&out, p, 1, NULL);
    }
  }
  cf_buf_append(&out, "\n", 1, NULL);
  return cf_buf_take(&out);
}

char *cf_json_encode(const json_t *value)
{
  char *raw = json_dumps(value, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
  if (raw == NULL) {
    return cf_xstrdup("null\n");
  }
  char *escaped = escape_like_go(raw);
  free(raw);
  return escaped;
}

int cf_json_decode(const char *data, size_t len, json_t **out, cf_err **err)
{
  size_t start = 0;
  while (start < len && strchr(" \t\r\n", data[start]) != NULL) {
    start++;
  }
  if (start == len) {
    return cf_err_set(err, CF_E_INVALID, "EOF");
  }
  json_error_t jerr;
  json_t *value = json_loadb(data + start, len - start,
                             JSON_DECODE_ANY | JSON_DISABLE_EOF_CHECK | JSON_ALLOW_NUL, &jerr);
  if (value == NULL) {
    return cf_err_set(err, CF_E_INVALID, "invalid JSON at line %d column %d: %s", jerr.line,
                      jerr.column, jerr.text);
  }
  *out = value;
  return 0;
}

/* The longest tail an unfinished token can have: "\\uXXXX" or a UTF-8
 * sequence, plus the byte at which jansson notices. */
#define MAX_CUT_TOKEN 8

int cf_json_take(cf_buf *stream, json_t **out, cf_err **err)
{
  size_t skip = 0;
  while (skip < stream->len && strchr(" \t\r\n", stream->data[skip]) != NULL) {
    skip++;
  }
  cf_buf_consume(stream, skip);
  if (stream->len == 0) {
    return 0;
  }
  json_error_t jerr;
  json_t *value = json_loadb(stream->data, stream->len,
                             JSON_DECODE_ANY | JSON_DISABLE_EOF_CHECK | JSON_ALLOW_NUL, &jerr);
  if (value != NULL) {
    cf_buf_consume(stream, (size_t)jerr.position);
    *out = value;
    return 1;
  }
  if (json_error_code(&jerr) == json_error_premature_end_of_input ||
      (size_t)jerr.position + MAX_CUT_TOKEN >= stream->len) {
    return 0;
  }
  return cf_err_set(err, CF_E_INVALID, "invalid JSON at line %d column %d: %s", jerr.line,
                    jerr.column, jerr.text);
}

json_t *cf_json_get(const json_t *object, const char *key)
{
  if (!json_is_object(object)) {
    return NULL;
  }
  json_t *exact = json_object_get(object, key);
  if (exact != NULL) {
    return exact;
  }
  const char *name;
  json_t *value;
  json_object_foreach((json_t *)object, name, value)
  {
    if (strcasecmp(name, key) == 0) {
      return value;
    }
  }
  return NULL;
}

bool cf_json_has_nul(const json_t *string)
{
  return strlen(json_string_value(string)) != json_string_length(string);
}

int cf_json_check_type(const json_t *object, const char *key, json_type type, cf_err **err)
{
  static const char *const names[] = {
      [JSON_OBJECT] = "an object",    [JSON_ARRAY] = "an array", [JSON_STRING] = "a string",
      [JSON_INTEGER] = "an integer",  [JSON_REAL] = "a number",  [JSON_TRUE] = "true or false",
      [JSON_FALSE] = "true or false", [JSON_NULL] = "null",
  };
  json_t *value = cf_json_get(object, key);
  if (value == NULL || json_is_null(value)) {
    return 0;
  }
  bool matches = json_typeof(value) == type || (type == JSON_TRUE && json_is_boolean(value));
  if (!matches) {
    return cf_err_set(err, CF_E_INVALID, "invalid value for \"%s\": expected %s", key, names[type]);
  }
  return 0;
}

int cf_json_get_string(const json_t *object, const char *key, const char **out, cf_err **err)
{
  json_t *value = cf_json_get(object, key);
  *out = NULL;
  if (value == NULL || json_is_null(value)) {
    return 0;
  }
  if (!json_is_string(value)) {
    return cf_err_set(err, CF_E_INVALID, "invalid value for \"%s\": expected a string", key);
  }
  if (cf_json_has_nul(value)) {
    return cf_err_set(err, CF_E_INVALID, "invalid value for \"%s\": contains a NUL character", key);
  }
  *out = json_string_value(value);
  return 0;
}

int cf_json_get_int(const json_t *object, const char *key, long long *out, cf_err **err)
{
  json_t *value = cf_json_get(object, key);
  *out = 0;
  if (value == NULL || json_is_null(value)) {
    return 0;
  }
  if (!json_is_integer(value)) {
    return cf_err_set(err, CF_E_INVALID, "invalid value for \"%s\": expected an integer", key);
  }
  *out = json_integer_value(value);
  return 0;
}

int cf_json_get_strings(const json_t *object, const char *key, char ***out, size_t *count,
                        cf_err **err)
{
  json_t *value = cf_json_get(object, key);
  *out = NULL;
  *count = 0;
  if (value == NULL || json_is_null(value)) {
    return 0;
  }
  if (!json_is_array(value)) {
    return cf_err_set(err, CF_E_INVALID, "invalid value for \"%s\": expected an array of strings",
                      key);
  }
  size_t n = json_array_size(value);
  char **strv = cf_xcalloc(n + 1, sizeof(*strv));
  for (size_t i = 0; i < n; i++) {
    json_t *item = json_array_get(value, i);
    if (!json_is_string(item) || cf_json_has_nul(item)) {
      for (size_t j = 0; j < i; j++) {
        free(strv[j]);
      }
      free(strv);
      return cf_err_set(err, CF_E_INVALID, "invalid value for \"%s\": item %zu is not a string",
                        key, i);
    }
    strv[i] = cf_xstrdup(json_string_value(item));
  }
  *out = strv;
  *count = n;
  return 0;
}

json_t *cf_json_error_envelope(const char *type, const char *message, const char *handle,
                               const char *process_id)
{
  json_t *envelope = json_object();
  json_object_set_new(envelope, "Type", cf_json_string(type));
  json_object_set_new(envelope, "Message", cf_json_string(message));
  json_object_set_new(envelope, "Handle", cf_json_string(handle));
  json_object_set_new(envelope, "ProcessID", cf_json_string(process_id));
  json_object_set_new(envelope, "Binary", json_string(""));
  return envelope;
}

void cf_json_set_coerced(json_t *object, const char *key, json_t *value)
{
  json_t *coerced = cf_json_string(key);
  json_object_set_new(object, json_string_value(coerced), value);
  json_decref(coerced);
}
