/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: HTTP request parsing as the server feeds it, in pieces. The
 * first input byte picks the piece size, so the fuzzer also explores
 * requests split at every position.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "garden/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size == 0) {
    return 0;
  }
  size_t piece = data[0] % 32 + 1;
  data++;
  size--;
  cf_http_request req;
  cf_http_request_init(&req, 4096, 4096);
  size_t offset = 0;
  while (offset < size) {
    size_t len = size - offset < piece ? size - offset : piece;
    size_t consumed = 0;
    cf_err *err = NULL;
    if (cf_http_request_feed(&req, (const char *)data + offset, len, &consumed, &err) < 0) {
      cf_err_free(err);
      break;
    }
    offset += consumed;
    if (req.complete) {
      cf_http_request_header(&req, "content-type");
      char *value = NULL;
      if (cf_http_query_get(req.query, "handles", &value, NULL) == 1) {
        free(value);
      }
      cf_http_request_reset(&req);
    } else if (consumed < len) {
      break;
    }
  }
  cf_http_request_clear(&req);
  return 0;
}
