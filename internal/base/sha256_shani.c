/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SHA-256 (FIPS 180-4) with the compression function on the x86 SHA
 * extensions. SHA256RNDS2 runs two rounds on the state split into the
 * halves ABEF and CDGH; SHA256MSG1 and SHA256MSG2 compute four message
 * schedule words at a time. Padding and buffering are plain C.
 */
#include "base/sha256_shani.h"

#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>
#define HAVE_SHANI 1
#else
#define HAVE_SHANI 0
#endif

static const uint32_t initial_state[8] = {
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

#if HAVE_SHANI
/* The round constants K0..K63. */
static const uint32_t round_constants[64] __attribute__((aligned(16))) = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

bool cf_sha256_shani_available(void)
{
  unsigned int eax = 0;
  unsigned int ebx = 0;
  unsigned int ecx = 0;
  unsigned int edx = 0;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) {
    return false;
  }
  bool ssse3 = (ecx & bit_SSSE3) != 0;
  bool sse41 = (ecx & bit_SSE4_1) != 0;
  if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) {
    return false;
  }
  return ssse3 && sse41 && (ebx & bit_SHA) != 0;
}

/* Compresses count 64-byte blocks into state. */
__attribute__((target("sha,sse4.1,ssse3"))) static void
compress(uint32_t state[8], const uint8_t *blocks, size_t count)
{
  /* Reverses the bytes of each 32-bit lane: the message words are big-endian. */
  const __m128i byte_swap = _mm_set_epi8(12, 13, 14, 15, 8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3);
  /* Lane 3 is the highest: ABEF = {A, B, E, F}, CDGH = {C, D, G, H}. */
  __m128i abef = _mm_set_epi32((int)state[0], (int)state[1], (int)state[4], (int)state[5]);
  __m128i cdgh = _mm_set_epi32((int)state[2], (int)state[3], (int)state[6], (int)state[7]);

  for (; count > 0; count--, blocks += 64) {
    __m128i saved_abef = abef;
    __m128i saved_cdgh = cdgh;
    /* w[i % 4] contains the message words 4i..4i+3, word 4i in lane 0. */
    __m128i w[4];
    for (int i = 0; i < 16; i++) {
      if (i < 4) {
        w[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(blocks + 16 * i)), byte_swap);
      } else {
        /* W[t] = s1(W[t-2]) + W[t-7] + s0(W[t-15]) + W[t-16] for t = 4i..4i+3. */
        __m128i older = w[i % 4];      /* words 4i-16.. */
        __m128i old = w[(i + 1) % 4];  /* words 4i-12.. */
        __m128i prev = w[(i + 2) % 4]; /* words 4i-8.. */
        __m128i last = w[(i + 3) % 4]; /* words 4i-4.. */
        __m128i next = _mm_sha256msg1_epu32(older, old);
        next = _mm_add_epi32(next, _mm_alignr_epi8(last, prev, 4)); /* words 4i-7.. */
        w[i % 4] = _mm_sha256msg2_epu32(next, last);
      }
      __m128i wk =
          _mm_add_epi32(w[i % 4], _mm_load_si128((const __m128i *)&round_constants[4 * i]));
      /* Two rounds on lanes 0 and 1, then two on lanes 2 and 3. After two
       * rounds the old ABEF is the new CDGH. */
      cdgh = _mm_sha256rnds2_epu32(cdgh, abef, wk);
      abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_shuffle_epi32(wk, 0x0e));
    }
    abef = _mm_add_epi32(abef, saved_abef);
    cdgh = _mm_add_epi32(cdgh, saved_cdgh);
  }

  state[0] = (uint32_t)_mm_extract_epi32(abef, 3);
  state[1] = (uint32_t)_mm_extract_epi32(abef, 2);
  state[4] = (uint32_t)_mm_extract_epi32(abef, 1);
  state[5] = (uint32_t)_mm_extract_epi32(abef, 0);
  state[2] = (uint32_t)_mm_extract_epi32(cdgh, 3);
  state[3] = (uint32_t)_mm_extract_epi32(cdgh, 2);
  state[6] = (uint32_t)_mm_extract_epi32(cdgh, 1);
  state[7] = (uint32_t)_mm_extract_epi32(cdgh, 0);
}
#else
bool cf_sha256_shani_available(void)
{
  return false;
}

static void compress(uint32_t state[8], const uint8_t *blocks, size_t count)
{
  (void)state;
  (void)blocks;
  (void)count;
}
#endif

void cf_sha256_shani_init(cf_sha256_shani *ctx)
{
  memcpy(ctx->h, initial_state, sizeof(ctx->h));
  ctx->used = 0;
  ctx->total_bytes = 0;
}

void cf_sha256_shani_update(cf_sha256_shani *ctx, const void *data, size_t len)
{
  const uint8_t *in = data;
  ctx->total_bytes += len;
  if (ctx->used > 0) {
    size_t take = 64 - ctx->used < len ? 64 - ctx->used : len;
    memcpy(ctx->block + ctx->used, in, take);
    ctx->used += take;
    in += take;
    len -= take;
    if (ctx->used < 64) {
      return;
    }
    compress(ctx->h, ctx->block, 1);
    ctx->used = 0;
  }
  size_t whole = len / 64;
  if (whole > 0) {
    compress(ctx->h, in, whole);
    in += whole * 64;
    len -= whole * 64;
  }
  memcpy(ctx->block, in, len);
  ctx->used = len;
}

/* Appends 0x80, zeros and the bit length (big-endian) to the last block. */
void cf_sha256_shani_finish(cf_sha256_shani *ctx, uint8_t out[32])
{
  uint64_t bits = ctx->total_bytes * 8;
  ctx->block[ctx->used++] = 0x80;
  if (ctx->used > 56) {
    memset(ctx->block + ctx->used, 0, 64 - ctx->used);
    compress(ctx->h, ctx->block, 1);
    ctx->used = 0;
  }
  memset(ctx->block + ctx->used, 0, 56 - ctx->used);
  for (int i = 0; i < 8; i++) {
    ctx->block[56 + i] = (uint8_t)(bits >> (56 - 8 * i));
  }
  compress(ctx->h, ctx->block, 1);
  for (int i = 0; i < 8; i++) {
    out[4 * i] = (uint8_t)(ctx->h[i] >> 24);
    out[4 * i + 1] = (uint8_t)(ctx->h[i] >> 16);
    out[4 * i + 2] = (uint8_t)(ctx->h[i] >> 8);
    out[4 * i + 3] = (uint8_t)ctx->h[i];
  }
  memset(ctx, 0, sizeof(*ctx));
}
