/* SPDX-License-Identifier: Apache-2.0 */
/* Name-based GUIDs (UUID version 5) for the HCN namespace of a container
 * handle. Platform-neutral: see winhcs.h. SHA-1 is written out here
 * because base's hashing needs mbedTLS, which the mingw-w64 build lacks;
 * it only derives identifiers, never protects anything. */
#include "runtime/winhcs.h"

#include <stdio.h>
#include <string.h>

const uint8_t cf_hcs_network_namespace_ns[16] = {0x74, 0xcf, 0xae, 0x1e, 0xe0, 0x3b, 0x4b, 0xe3,
                                                 0xa3, 0x9a, 0xa6, 0x83, 0x96, 0x70, 0x83, 0xbe};

typedef struct sha1 {
  uint32_t h[5];
  uint8_t block[64];
  size_t used;     /* bytes in block */
  uint64_t length; /* bytes hashed so far */
} sha1;

static uint32_t rotl(uint32_t x, unsigned n)
{
  return (x << n) | (x >> (32 - n));
}

static void sha1_compress(sha1 *ctx)
{
  uint32_t w[80];
  for (int i = 0; i < 16; i++) {
    const uint8_t *b = ctx->block + 4 * i;
    w[i] = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
  }
  for (int i = 16; i < 80; i++) {
    w[i] = rotl(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
  }
  uint32_t a = ctx->h[0], b = ctx->h[1], c = ctx->h[2], d = ctx->h[3], e = ctx->h[4];
  for (int i = 0; i < 80; i++) {
    uint32_t f, k;
    if (i < 20) {
      f = (b & c) | (~b & d);
      k = 0x5a827999u;
    } else if (i < 40) {
      f = b ^ c ^ d;
      k = 0x6ed9eba1u;
    } else if (i < 60) {
      f = (b & c) | (b & d) | (c & d);
      k = 0x8f1bbcdcu;
    } else {
      f = b ^ c ^ d;
      k = 0xca62c1d6u;
    }
    uint32_t t = rotl(a, 5) + f + e + k + w[i];
    e = d;
    d = c;
    c = rotl(b, 30);
    b = a;
    a = t;
  }
  ctx->h[0] += a;
  ctx->h[1] += b;
  ctx->h[2] += c;
  ctx->h[3] += d;
  ctx->h[4] += e;
}

static void sha1_init(sha1 *ctx)
{
  static const uint32_t initial[5] = {0x67452301u, 0xefcdab89u, 0x98badcfeu, 0x10325476u,
                                      0xc3d2e1f0u};
  memcpy(ctx->h, initial, sizeof(initial));
  ctx->used = 0;
  ctx->length = 0;
}

static void sha1_update(sha1 *ctx, const uint8_t *data, size_t len)
{
  ctx->length += len;
  for (size_t i = 0; i < len; i++) {
    ctx->block[ctx->used++] = data[i];
    if (ctx->used == 64) {
      sha1_compress(ctx);
      ctx->used = 0;
    }
  }
}

static void sha1_final(sha1 *ctx, uint8_t digest[20])
{
  uint64_t bits = ctx->length * 8;
  uint8_t pad = 0x80;
  sha1_update(ctx, &pad, 1);
  pad = 0;
  while (ctx->used != 56) {
    sha1_update(ctx, &pad, 1);
  }
  uint8_t length[8];
  for (int i = 0; i < 8; i++) {
    length[i] = (uint8_t)(bits >> (56 - 8 * i));
  }
  sha1_update(ctx, length, 8);
  for (int i = 0; i < 20; i++) {
    digest[i] = (uint8_t)(ctx->h[i / 4] >> (24 - 8 * (i % 4)));
  }
}

void cf_winrt_uuid5(const uint8_t ns[16], const char *name, size_t name_len, uint8_t out[16])
{
  sha1 ctx;
  uint8_t digest[20];
  sha1_init(&ctx);
  sha1_update(&ctx, ns, 16);
  sha1_update(&ctx, (const uint8_t *)name, name_len);
  sha1_final(&ctx, digest);
  memcpy(out, digest, 16);
  out[6] = (uint8_t)((out[6] & 0x0f) | 0x50); /* version 5 */
  out[8] = (uint8_t)((out[8] & 0x3f) | 0x80); /* RFC 9562 variant */
}

void cf_winrt_guid_format(const uint8_t b[16], char out[CF_HCS_GUID_STRLEN + 1])
{
  snprintf(out, CF_HCS_GUID_STRLEN + 1,
           "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
           b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

void cf_hcs_network_namespace_guid(const char *handle, char out[CF_HCS_GUID_STRLEN + 1])
{
  uint8_t bytes[16];
  cf_winrt_uuid5(cf_hcs_network_namespace_ns, handle, strlen(handle), bytes);
  cf_winrt_guid_format(bytes, out);
}

bool cf_winrt_guid_valid(const char *text)
{
  for (size_t i = 0; i < CF_HCS_GUID_STRLEN; i++) {
    char c = text[i];
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (dash ? c != '-' : !hex) {
      return false;
    }
  }
  return text[CF_HCS_GUID_STRLEN] == '\0';
}
