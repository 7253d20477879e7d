/* SPDX-License-Identifier: Apache-2.0 */
/* The random ids of base/fs.h in cfwin.exe, from the system's CNG
 * generator in place of getrandom(2). */
#include <stdio.h>
#include <windows.h>

#include <bcrypt.h>

#include "base/fs.h"

int cf_random_hex(char *out, size_t n, cf_err **err)
{
  static const char digits[] = "0123456789abcdef";
  unsigned char raw[64];
  if (n > sizeof(raw)) {
    return cf_err_set(err, CF_E_INVALID, "random id of %zu bytes is longer than 64", n);
  }
  NTSTATUS status = BCryptGenRandom(NULL, raw, (ULONG)n, BCRYPT_USE_SYSTEM_PREFERRED_RNG);
  if (!BCRYPT_SUCCESS(status)) {
    return cf_err_set(err, CF_E_SYSTEM, "BCryptGenRandom failed with NTSTATUS 0x%08lx",
                      (unsigned long)status);
  }
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = digits[raw[i] >> 4];
    out[2 * i + 1] = digits[raw[i] & 0xf];
  }
  out[2 * n] = '\0';
  return 0;
}

int cf_random_uuid(char out[37], cf_err **err)
{
  char hex[33];
  if (cf_random_hex(hex, 16, err) < 0) {
    return -1;
  }
  /* Version 4 in the 13th digit; the variant bits 10 in the 17th. */
  hex[12] = '4';
  hex[16] = "89ab"[hex[16] % 4];
  snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
  return 0;
}
