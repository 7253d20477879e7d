/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SHA-256 with digests in the OCI form "sha256:<64 hex>": through the x86
 * SHA extensions where the CPU has them (sha256_shani.h), else through
 * mbedTLS. Compiles against mbedTLS 2.28 and 3.x.
 */
#ifndef CFWIN_BASE_SHA256_H
#define CFWIN_BASE_SHA256_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

#define CF_DIGEST_LEN 71 /* "sha256:" + 64 hex characters */

typedef struct cf_sha256 {
  uint64_t state[32]; /* storage for either context; checked at compile time */
  bool accelerated;   /* state holds a cf_sha256_shani context */
} cf_sha256;

void cf_sha256_init(cf_sha256 *ctx);
void cf_sha256_update(cf_sha256 *ctx, const void *data, size_t len);
/* Writes "sha256:<hex>" and a NUL into out and releases the context. */
void cf_sha256_finish(cf_sha256 *ctx, char out[CF_DIGEST_LEN + 1]);

/* Digest of a memory block. */
void cf_sha256_digest(const void *data, size_t len, char out[CF_DIGEST_LEN + 1]);

/* Digest and size of the rest of fd, read to its end. When copy is not
 * NULL the bytes are also appended to it (its maximum applies). */
int cf_sha256_fd(int fd, cf_buf *copy, char out[CF_DIGEST_LEN + 1], uint64_t *size, cf_err **err);

/* Digest and size of a whole file. */
int cf_sha256_file(const char *path, char out[CF_DIGEST_LEN + 1], uint64_t *size, cf_err **err);

/* Checks that text is "sha256:" followed by 64 lowercase hex digits. */
int cf_digest_validate(const char *text, cf_err **err);

#endif
