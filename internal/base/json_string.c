/* SPDX-License-Identifier: Apache-2.0 */
#include "base/json_string.h"

#include "base/buf.h"

/* Length of the valid UTF-8 sequence at p (1 to 4), or 0 when invalid. */
static size_t utf8_sequence_length(const unsigned char *p)
{
  if (p[0] < 0x80) {
    return 1;
  }
  size_t len = (p[0] & 0xe0) == 0xc0   ? 2
               : (p[0] & 0xf0) == 0xe0 ? 3
               : (p[0] & 0xf8) == 0xf0 ? 4
                                       : 0;
  for (size_t i = 1; i < len; i++) {
    if ((p[i] & 0xc0) != 0x80) {
      return 0;
    }
  }
  return len;
}

json_t *cf_json_string(const char *text)
{
  json_t *value = json_string(text != NULL ? text : "");
  if (value != NULL) {
    return value;
  }
  cf_buf fixed;
  cf_buf_init(&fixed, (size_t)-1 / 2);
  const unsigned char *p = (const unsigned char *)text;
  while (*p != '\0') {
    size_t len = utf8_sequence_length(p);
    if (len == 0) {
      cf_buf_append_str(&fixed, "\xef\xbf\xbd", NULL);
      p++;
      continue;
    }
    cf_buf_append(&fixed, p, len, NULL);
    p += len;
  }
  value = json_string(fixed.data != NULL ? fixed.data : "");
  cf_buf_free(&fixed);
  return value != NULL ? value : json_string("");
}
