/* SPDX-License-Identifier: Apache-2.0 */
/*
 * JSON helpers shared by the Windows runtime builders (win*.c): a string
 * escaper that matches Go's encoding/json, document buffers with a size
 * maximum, and a bounded scanner that reads a few values out of an HCS
 * document without building a tree. Internal to internal/runtime.
 */
#ifndef CFWIN_RUNTIME_WINJSON_H
#define CFWIN_RUNTIME_WINJSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

/* Maximum size of a document built or read: 4 MiB. */
#define CF_WINJSON_DOC_MAX (4u * 1024 * 1024)

/* Maximum nesting depth the scanner accepts. */
#define CF_WINJSON_DEPTH_MAX 64

/* Appends text as a JSON string the way Go's encoding/json writes it:
 * `"` and `\` escaped, \n \r \t as such, other control characters and
 * `<`, `>`, `&`, U+2028, U+2029 as \u00XX / \u20XX, and each byte of
 * invalid UTF-8 as \ufffd. Appends without a maximum, so it cannot fail. */
void cf_winjson_string(cf_buf *buf, const char *text);

/* Starts a document buffer; appends cannot fail. */
void cf_winjson_doc_init(cf_buf *buf);

/* Hands the document to *out, or fails with CF_E_LIMIT naming what when it
 * passed CF_WINJSON_DOC_MAX (the buffer is freed either way). */
int cf_winjson_doc_take(const char *what, cf_buf *buf, char **out, cf_err **err);

/* Checks that doc is one well-formed JSON value, with only whitespace
 * around it, at most CF_WINJSON_DOC_MAX bytes and CF_WINJSON_DEPTH_MAX
 * levels deep. what names the document in the error. */
int cf_winjson_validate(const char *what, const char *doc, cf_err **err);

/* In a validated document, finds the value at the member names in path
 * (each step an object member; the last duplicate wins, as in Go). Returns
 * a pointer to the value's first character, or NULL when a step is missing
 * or not an object. */
const char *cf_winjson_find(const char *doc, const char *const *path, size_t depth);

/* Readers of one value found by cf_winjson_find. Each fails with
 * CF_E_INVALID naming what when the value has another type or, for
 * numbers, is negative, fractional or too large. */
int cf_winjson_u64(const char *what, const char *value, uint64_t *out, cf_err **err);
int cf_winjson_bool(const char *what, const char *value, bool *out, cf_err **err);
int cf_winjson_array_length(const char *what, const char *value, size_t *out, cf_err **err);
/* Decodes a string value (escapes included; \u0000 is rejected). */
int cf_winjson_text(const char *what, const char *value, char **out, cf_err **err);

#endif
