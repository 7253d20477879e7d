/* SPDX-License-Identifier: Apache-2.0 */
/*
 * JSON for the HCN builders (winhcn*.c): a string escaper and a small tree
 * reader for the documents HCN returns. Internal to internal/network; the
 * mingw-w64 build has no jansson.
 */
#ifndef CFWIN_NETWORK_WINHCN_JSON_H
#define CFWIN_NETWORK_WINHCN_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"

/* Maximum size of a document read or built: 4 MiB. */
#define CF_HCNJ_DOC_MAX (4u * 1024 * 1024)

/* Maximum nesting depth the reader accepts. */
#define CF_HCNJ_DEPTH_MAX 64

/* Appends text as a JSON string: `"` and `\` escaped, \n \r \t as such,
 * other control characters and `<`, `>`, `&` as \u00XX, as Go's
 * encoding/json writes them. Other bytes are copied. Cannot fail. */
void cf_hcnj_string(cf_buf *buf, const char *text);

/* Starts a document buffer whose appends cannot fail. */
void cf_hcnj_doc_init(cf_buf *buf);

/* Hands the document to *out, or fails with CF_E_LIMIT naming what when it
 * passed CF_HCNJ_DOC_MAX (the buffer is freed either way). */
int cf_hcnj_doc_take(const char *what, cf_buf *buf, char **out, cf_err **err);

typedef enum cf_hcnj_type {
  CF_HCNJ_NULL,
  CF_HCNJ_BOOL,
  CF_HCNJ_NUMBER,
  CF_HCNJ_STRING,
  CF_HCNJ_ARRAY,
  CF_HCNJ_OBJECT,
} cf_hcnj_type;

/* One value. A member of an object has its name in key. */
typedef struct cf_hcnj {
  cf_hcnj_type type;
  char *key;
  char *text; /* the decoded string, or the number as written */
  bool boolean;
  struct cf_hcnj *items; /* elements or members */
  size_t count;
} cf_hcnj;

/* Parses doc into a tree. what names the document in the error, which is
 * CF_E_INVALID for malformed JSON, more than CF_HCNJ_DOC_MAX bytes, more
 * than CF_HCNJ_DEPTH_MAX levels, or a string containing \u0000. */
int cf_hcnj_parse(const char *what, const char *doc, cf_hcnj **out, cf_err **err);
void cf_hcnj_free(cf_hcnj *value);

/* The last member of object called name, compared without regard to ASCII
 * case as Go's decoder does; NULL when absent or object is not an object. */
const cf_hcnj *cf_hcnj_member(const cf_hcnj *object, const char *name);

/* The string of value, or NULL when value is NULL or not a string. */
const char *cf_hcnj_text(const cf_hcnj *value);

#endif
