/* SPDX-License-Identifier: Apache-2.0 */
/* JSON strings from C strings that may hold invalid UTF-8. */
#ifndef CFWIN_BASE_JSON_STRING_H
#define CFWIN_BASE_JSON_STRING_H

#include <jansson.h>

/* A JSON string of text, with invalid UTF-8 bytes replaced by U+FFFD as
 * Go's encoder does; NULL becomes "". New reference, never NULL. */
json_t *cf_json_string(const char *text);

#endif
