/* SPDX-License-Identifier: Apache-2.0 */
/*
 * JSON as Go's encoding/json writes and reads it, which the Garden client
 * expects: compact, a trailing newline, '<' '>' '&' U+2028 U+2029 escaped,
 * and object keys matched case-insensitively when decoding.
 */
#ifndef CFWIN_GARDEN_JSON_H
#define CFWIN_GARDEN_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/json_string.h"

/* Encodes value (borrowed) like Go's json.Encoder: keys in insertion order,
 * plus "\n". Returns a new string. */
char *cf_json_encode(const json_t *value);

/* Decodes exactly one JSON value from a request body. An empty body fails
 * with message "EOF", as Go's decoder reports it; other errors name the
 * position. Trailing bytes after the value are ignored, as Go's decoder does. */
int cf_json_decode(const char *data, size_t len, json_t **out, cf_err **err);

/* Takes one JSON value from the front of a stream of values (as Go's
 * json.Decoder reads them), skipping whitespace before it. Returns 1 and
 * sets *out (new reference) when a whole value was taken, 0 when the bytes
 * so far end inside a value, and -1 with *err for invalid input. A value cut
 * inside an escape or a UTF-8 sequence counts as unfinished, because a TCP
 * read may end anywhere. */
int cf_json_take(cf_buf *stream, json_t **out, cf_err **err);

/* Gets key from object, preferring an exact match and falling back to a
 * case-insensitive one, as Go's decoder does. Borrowed reference or NULL. */
json_t *cf_json_get(const json_t *object, const char *key);

/* Sets object[key] to value (stolen), with invalid UTF-8 bytes of key
 * replaced by U+FFFD as Go's encoder writes map keys. jansson rejects such
 * a key, which would drop the member silently. */
void cf_json_set_coerced(json_t *object, const char *key, json_t *value);

/* True when a JSON string holds a NUL character, which C strings would cut. */
bool cf_json_has_nul(const json_t *string);

/* Checks that an optional member is absent, null or of type (JSON_TRUE
 * stands for any boolean); fails with CF_E_INVALID naming the key. */
int cf_json_check_type(const json_t *object, const char *key, json_type type, cf_err **err);

/* Reads an optional string member; fails with CF_E_INVALID naming the key
 * when present with another type. *out is borrowed and NULL when absent. */
int cf_json_get_string(const json_t *object, const char *key, const char **out, cf_err **err);

/* Reads an optional integer member (0 when absent or null). */
int cf_json_get_int(const json_t *object, const char *key, long long *out, cf_err **err);

/* Reads an optional array of strings into a new NULL-terminated vector;
 * *out is NULL when absent. */
int cf_json_get_strings(const json_t *object, const char *key, char ***out, size_t *count,
                        cf_err **err);

/* The Garden error envelope:
 * {"Type":..,"Message":..,"Handle":..,"ProcessID":..,"Binary":""}. New reference. */
json_t *cf_json_error_envelope(const char *type, const char *message, const char *handle,
                               const char *process_id);

#endif
