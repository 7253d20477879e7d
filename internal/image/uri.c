/* SPDX-License-Identifier: Apache-2.0 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "image/image.h"

#define OCI_SCHEME "oci://"
#define EXPECTED_FORM "oci:///absolute/path[:tag]"

void cf_oci_uri_clear(cf_oci_uri *uri)
{
  free(uri->path);
  free(uri->tag);
  uri->path = NULL;
  uri->tag = NULL;
}

/* Tags become annotation lookups and error text, so control characters and
 * spaces are rejected. */
static bool tag_is_valid(const char *tag)
{
  if (*tag == '\0') {
    return false;
  }
  for (const unsigned char *p = (const unsigned char *)tag; *p != '\0'; p++) {
    if (*p <= ' ' || *p == 0x7f) {
      return false;
    }
  }
  return true;
}

int cf_oci_uri_parse(const char *uri, cf_oci_uri *out, cf_err **err)
{
  memset(out, 0, sizeof(*out));
  if (strncmp(uri, OCI_SCHEME, strlen(OCI_SCHEME)) != 0) {
    return cf_err_set(err, CF_E_INVALID, "unsupported image URI \"%s\": expected " EXPECTED_FORM,
                      uri);
  }
  const char *path = uri + strlen(OCI_SCHEME);
  if (path[0] != '/') {
    return cf_err_set(err, CF_E_INVALID,
                      "invalid image URI \"%s\": the path must be absolute, as in " EXPECTED_FORM,
                      uri);
  }

  /* The tag follows the last ':' after the last '/', so directories may
   * contain colons. */
  const char *slash = strrchr(path, '/');
  const char *colon = strrchr(slash, ':');
  size_t path_len = colon != NULL ? (size_t)(colon - path) : strlen(path);
  if (colon != NULL && !tag_is_valid(colon + 1)) {
    return cf_err_set(err, CF_E_INVALID,
                      "invalid image URI \"%s\": the tag after ':' must be non-empty and "
                      "contain no spaces or control characters, as in " EXPECTED_FORM,
                      uri);
  }

  out->path = cf_xstrndup(path, path_len);
  out->tag = colon != NULL ? cf_xstrdup(colon + 1) : NULL;
  return 0;
}
