/* SPDX-License-Identifier: Apache-2.0 */
/* Blobs of an OCI layout, read and checked against their descriptors. */
#ifndef CFWIN_IMAGE_BLOB_H
#define CFWIN_IMAGE_BLOB_H

#include "base/buf.h"
#include "base/err.h"
#include "oci/oci.h"

/* Largest JSON document (index, manifest, config) read from a layout. */
#define CF_IMAGE_JSON_MAX (4u * 1024 * 1024)

/* Returns a new path <layout>/blobs/sha256/<hex>. digest must have passed
 * cf_digest_validate(), so the path cannot leave the blobs directory. */
char *cf_image_blob_path(const char *layout, const char *digest);

/* Checks that the blob desc names is a regular file whose size and sha256
 * digest equal the descriptor's. CF_E_NOT_FOUND when the blob is missing,
 * CF_E_INTEGRITY naming the media type and both sizes or digests otherwise. */
int cf_image_blob_verify(const char *layout, const cf_oci_descriptor *desc, cf_err **err);

/* Reads a verified blob of at most CF_IMAGE_JSON_MAX bytes into buf. */
int cf_image_blob_read(const char *layout, const cf_oci_descriptor *desc, cf_buf *buf,
                       cf_err **err);

#endif
