/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: the stream of JSON payloads a client sends on a Run or
 * Attach connection, taken value by value as the server does, in pieces
 * whose size the first byte picks.
 */
#include <stddef.h>
#include <stdint.h>

#include "garden/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size == 0) {
    return 0;
  }
  size_t piece = data[0] % 64 + 1;
  data++;
  size--;
  cf_buf stream;
  cf_buf_init(&stream, 1 << 20);
  for (size_t offset = 0; offset < size; offset += piece) {
    size_t len = size - offset < piece ? size - offset : piece;
    if (cf_buf_append(&stream, data + offset, len, NULL) < 0) {
      break;
    }
    for (;;) {
      json_t *value = NULL;
      cf_err *err = NULL;
      int got = cf_json_take(&stream, &value, &err);
      if (got <= 0) {
        cf_err_free(err);
        if (got < 0) {
          cf_buf_reset(&stream);
        }
        break;
      }
      const char *text = NULL;
      cf_json_get_string(value, "data", &text, NULL);
      cf_json_check_type(value, "tty", JSON_OBJECT, NULL);
      json_decref(value);
    }
  }
  cf_buf_free(&stream);
  return 0;
}
