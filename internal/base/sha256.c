/* SPDX-License-Identifier: Apache-2.0 */
#include "base/sha256.h"

#include <errno.h>
#include <fcntl.h>
#include <mbedtls/sha256.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "base/mem.h"
#include "base/sha256_shani.h"

#if defined(MBEDTLS_VERSION_MAJOR) && MBEDTLS_VERSION_MAJOR >= 3
#define SHA256_START(ctx) mbedtls_sha256_starts((ctx), 0)
#define SHA256_UPDATE(ctx, d, n) mbedtls_sha256_update((ctx), (d), (n))
#define SHA256_FINISH(ctx, out) mbedtls_sha256_finish((ctx), (out))
#else
#define SHA256_START(ctx) mbedtls_sha256_starts_ret((ctx), 0)
#define SHA256_UPDATE(ctx, d, n) mbedtls_sha256_update_ret((ctx), (d), (n))
#define SHA256_FINISH(ctx, out) mbedtls_sha256_finish_ret((ctx), (out))
#endif

/* Without the SHA extensions every call goes to mbedTLS, whose context
 * lives in state. With them, state holds a cf_sha256_shani context and
 * mbedTLS is not used. */
_Static_assert(sizeof(mbedtls_sha256_context) <= sizeof(((cf_sha256 *)0)->state),
               "cf_sha256 storage is too small for mbedtls_sha256_context");
_Static_assert(sizeof(cf_sha256_shani) <= sizeof(((cf_sha256 *)0)->state),
               "cf_sha256 storage is too small for cf_sha256_shani");

static mbedtls_sha256_context *context_of(cf_sha256 *ctx)
{
  return (mbedtls_sha256_context *)(void *)ctx->state;
}

static cf_sha256_shani *shani_of(cf_sha256 *ctx)
{
  return (cf_sha256_shani *)(void *)ctx->state;
}

void cf_sha256_init(cf_sha256 *ctx)
{
  ctx->accelerated = cf_sha256_shani_available();
  if (ctx->accelerated) {
    cf_sha256_shani_init(shani_of(ctx));
    return;
  }
  mbedtls_sha256_init(context_of(ctx));
  SHA256_START(context_of(ctx));
}

void cf_sha256_update(cf_sha256 *ctx, const void *data, size_t len)
{
  if (ctx->accelerated) {
    cf_sha256_shani_update(shani_of(ctx), data, len);
    return;
  }
  SHA256_UPDATE(context_of(ctx), data, len);
}

void cf_sha256_finish(cf_sha256 *ctx, char out[CF_DIGEST_LEN + 1])
{
  static const char hex[] = "0123456789abcdef";
  unsigned char raw[32];
  if (ctx->accelerated) {
    cf_sha256_shani_finish(shani_of(ctx), raw);
  } else {
    SHA256_FINISH(context_of(ctx), raw);
    mbedtls_sha256_free(context_of(ctx));
  }
  memcpy(out, "sha256:", 7);
  for (int i = 0; i < 32; i++) {
    out[7 + 2 * i] = hex[raw[i] >> 4];
    out[7 + 2 * i + 1] = hex[raw[i] & 0xf];
  }
  out[CF_DIGEST_LEN] = '\0';
}

void cf_sha256_digest(const void *data, size_t len, char out[CF_DIGEST_LEN + 1])
{
  cf_sha256 ctx;
  cf_sha256_init(&ctx);
  cf_sha256_update(&ctx, data, len);
  cf_sha256_finish(&ctx, out);
}

int cf_sha256_fd(int fd, cf_buf *copy, char out[CF_DIGEST_LEN + 1], uint64_t *size, cf_err **err)
{
  cf_sha256 ctx;
  cf_sha256_init(&ctx);
  uint64_t total = 0;
  char chunk[65536];
  for (;;) {
    ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      int saved = errno;
      cf_sha256_finish(&ctx, out);
      return cf_err_sys(err, saved, "read");
    }
    if (n == 0) {
      break;
    }
    if (copy != NULL && cf_buf_append(copy, chunk, (size_t)n, err) < 0) {
      cf_sha256_finish(&ctx, out);
      return -1;
    }
    cf_sha256_update(&ctx, chunk, (size_t)n);
    total += (uint64_t)n;
  }
  cf_sha256_finish(&ctx, out);
  if (size != NULL) {
    *size = total;
  }
  return 0;
}

int cf_sha256_file(const char *path, char out[CF_DIGEST_LEN + 1], uint64_t *size, cf_err **err)
{
  cf_autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return cf_err_sys(err, errno, "open %s", path);
  }
  if (cf_sha256_fd(fd, NULL, out, size, err) < 0) {
    return cf_err_wrap(err, "%s", path);
  }
  return 0;
}

int cf_digest_validate(const char *text, cf_err **err)
{
  if (strncmp(text, "sha256:", 7) != 0 || strlen(text) != CF_DIGEST_LEN) {
    return cf_err_set(err, CF_E_INVALID,
                      "invalid digest \"%s\": expected sha256: and 64 hex digits", text);
  }
  for (const char *p = text + 7; *p != '\0'; p++) {
    if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))) {
      return cf_err_set(err, CF_E_INVALID, "invalid digest \"%s\": expected lowercase hex digits",
                        text);
    }
  }
  return 0;
}
