/* SPDX-License-Identifier: Apache-2.0 */
/* Resolving an image in an OCI layout: index.json, tag, manifest, config. */
#ifndef CFWIN_IMAGE_LAYOUT_H
#define CFWIN_IMAGE_LAYOUT_H

#include "base/err.h"
#include "oci/oci.h"

/* An image whose manifest and config blobs have been verified. */
typedef struct cf_resolved_image {
  char *manifest_digest;
  cf_oci_manifest manifest;
  cf_oci_image_config config; /* diff_id_count equals manifest.layer_count */
} cf_resolved_image;

void cf_resolved_image_clear(cf_resolved_image *image);

/* Parses the verified config blob (len bytes of data) of out's manifest into
 * out->config and checks that it lists one diff_id per manifest layer. */
int cf_resolved_image_set_config(cf_resolved_image *out, const char *data, size_t len,
                                 cf_err **err);

/* Reads the layout at path and picks the manifest tagged tag (the
 * org.opencontainers.image.ref.name annotation in index.json). With tag NULL
 * the index must list exactly one manifest. Nested indexes are followed to
 * the entry for this host's platform. Errors: CF_E_NOT_FOUND for a missing
 * layout, blob or tag (naming the available tags), CF_E_INVALID for an
 * ambiguous request or a malformed document, CF_E_INTEGRITY for a blob that
 * does not match its descriptor. */
int cf_image_layout_resolve(const char *path, const char *tag, cf_resolved_image *out,
                            cf_err **err);

#endif
