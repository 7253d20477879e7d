/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: route matching and capture unescaping of request paths. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "garden/router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static const char *const methods[] = {"GET", "POST", "PUT", "DELETE", "PATCH"};
  if (size == 0) {
    return 0;
  }
  const char *method = methods[data[0] % 5];
  char *path = cf_xstrndup((const char *)data + 1, size - 1);
  enum cf_route_result result;
  cf_route_match match;
  cf_err *err = NULL;
  if (cf_route_find(method, path, &result, &match, &err) == 0) {
    cf_route_match_clear(&match);
  }
  cf_err_free(err);
  free(path);
  return 0;
}
