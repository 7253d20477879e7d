/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SHA-256 on the x86 SHA extensions (SHA-NI), about eight times faster than
 * the portable code in mbedTLS. Only cf_sha256 (sha256.h) and tests use it;
 * call the other functions only when cf_sha256_shani_available() is true.
 */
#ifndef CFWIN_BASE_SHA256_SHANI_H
#define CFWIN_BASE_SHA256_SHANI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cf_sha256_shani {
  uint32_t h[8];        /* the hash state a..h */
  uint8_t block[64];    /* input not yet compressed */
  size_t used;          /* bytes in block */
  uint64_t total_bytes; /* input length so far */
} cf_sha256_shani;

/* True when the CPU has the SHA, SSSE3 and SSE4.1 instructions this code
 * uses. Always false on other architectures. */
bool cf_sha256_shani_available(void);

void cf_sha256_shani_init(cf_sha256_shani *ctx);
void cf_sha256_shani_update(cf_sha256_shani *ctx, const void *data, size_t len);
/* Writes the 32-byte digest into out. */
void cf_sha256_shani_finish(cf_sha256_shani *ctx, uint8_t out[32]);

#endif
