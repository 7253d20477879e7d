/* SPDX-License-Identifier: Apache-2.0 */
/* Platform-neutral parts of the runtime interface. */
#include "runtime/runtime.h"

#include <string.h>

/* Garden's hostname rule, as gdn applies it: a longer handle keeps its last
 * 49 characters. */
#define HOSTNAME_MAX_CHARS 49

void cf_runtime_hostname(const char *handle, char *out)
{
  size_t len = strlen(handle);
  const char *start = len > HOSTNAME_MAX_CHARS ? handle + len - HOSTNAME_MAX_CHARS : handle;
  memcpy(out, start, strlen(start) + 1);
}
