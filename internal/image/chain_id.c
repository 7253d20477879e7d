/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "base/sha256.h"
#include "image/image.h"

void cf_chain_id(const char *parent_chain_id, const char *diff_id, char *out)
{
  if (parent_chain_id == NULL) {
    size_t len = strnlen(diff_id, CF_DIGEST_LEN);
    memcpy(out, diff_id, len);
    out[len] = '\0';
    return;
  }
  cf_sha256 sha;
  cf_sha256_init(&sha);
  cf_sha256_update(&sha, parent_chain_id, strlen(parent_chain_id));
  cf_sha256_update(&sha, " ", 1);
  cf_sha256_update(&sha, diff_id, strlen(diff_id));
  cf_sha256_finish(&sha, out);
}
