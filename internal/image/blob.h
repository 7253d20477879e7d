/* SPDX-License-Identifier: Apache-2.0 */
/* Blobs of an OCI layout, read and checked against their descriptors. */
#ifndef CFWIN_IMAGE_BLOB_H
#define CFWIN_IMAGE_BLOB_H

#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/sha256.h"
#include "image/image.h"
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

/* The writing end of a streamed layer blob: hashes and counts the compressed
 * bytes and passes them to the unpack thread. Writing more bytes than the
 * descriptor's size fails at once, so a source cannot send an endless blob. */
typedef struct cf_blob_sink {
  const cf_oci_descriptor *desc;
  int fd; /* borrowed */
  cf_sha256 sha;
  int64_t written;
} cf_blob_sink;

void cf_blob_sink_init(cf_blob_sink *sink, const cf_oci_descriptor *desc, int fd);

/* Hashes and forwards data. CF_E_INTEGRITY when the blob grows past the
 * descriptor's size, CF_E_SYSTEM when the unpack thread stopped reading. */
int cf_blob_sink_write(cf_blob_sink *sink, const void *data, size_t len, cf_err **err);

/* Writes all of data to fd, the writing end of the connection to the
 * unpack thread (linux/blob_pipe.c: a socket written without SIGPIPE;
 * windows/blob_pipe.c: a pipe). A closed reading end fails with
 * CF_E_SYSTEM. */
int cf_blob_pipe_write(int fd, const void *data, size_t len, cf_err **err);

/* Checks that the bytes written have the descriptor's size and digest
 * (CF_E_INTEGRITY naming the media type and both values otherwise). */
int cf_blob_sink_finish(cf_blob_sink *sink, cf_err **err);

/* Writes the whole compressed blob desc names into sink. A producer that
 * resumes an interrupted transfer continues at sink->written. */
typedef int (*cf_blob_producer)(void *ctx, const cf_oci_descriptor *desc, cf_blob_sink *sink,
                                cf_err **err);

/* The limits of one layer's unpack, taken from cf_pull_options. */
typedef struct cf_unpack_limits {
  int64_t max_layer_bytes;   /* uncompressed tar bytes of this layer */
  int64_t max_layer_entries; /* tar entries of this layer */
  int64_t max_image_bytes;   /* uncompressed tar bytes of all layers of the pull */
  unsigned max_layers;       /* layers of the image; 0: CF_IMAGE_DEFAULT_MAX_LAYERS */
  /* The running total behind max_image_bytes. The layers of one pull share
   * it, also across their threads. */
  _Atomic int64_t *image_bytes;
} cf_unpack_limits;

/* Fills limits from options (NULL for the defaults of cf_pull_options),
 * counting image bytes in *image_bytes. CF_E_INVALID naming the option when
 * a limit is negative. */
int cf_unpack_limits_init(cf_unpack_limits *limits, const cf_pull_options *options,
                          _Atomic int64_t *image_bytes, cf_err **err);

/* Adds the size of a layer that is already in the store to the image
 * total. CF_E_LIMIT naming the limit when the total passes max_image_bytes. */
int cf_unpack_limits_charge(const cf_unpack_limits *limits, int64_t bytes, cf_err **err);

/* Unpacks a layer blob that produce writes, in one pass: the compressed
 * bytes are hashed as they arrive, decompressed, hashed again and extracted
 * with the checks of cf_layer_unpack(). No copy of the blob is stored, and
 * memory use does not depend on the blob's size. Fails with CF_E_INTEGRITY
 * when the blob's size or digest differs from desc or the uncompressed
 * digest from expected_diff_id, and with CF_E_LIMIT as soon as the layer
 * passes one of limits. With id_mapping set (not NULL and not zeroed),
 * every entry's owner is written as its host ids, and directories that no
 * entry describes belong to the host ids of container root. On failure dest
 * is emptied again. */
int cf_layer_unpack_stream(const cf_oci_descriptor *desc, cf_blob_producer produce, void *ctx,
                           const char *dest, const char *expected_diff_id,
                           const cf_unpack_limits *limits, const cf_id_mapping *id_mapping,
                           int64_t *size, cf_err **err);

/* A producer that streams the verified blob of the OCI layout at ctx (a
 * const char * path). */
int cf_image_blob_produce(void *ctx, const cf_oci_descriptor *desc, cf_blob_sink *sink,
                          cf_err **err);

#endif
