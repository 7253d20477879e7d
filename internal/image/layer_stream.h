/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A layer blob as a stream of verified tar bytes. cf_layer_stream reads the
 * compressed blob from a read callback, decompresses it (gzip, zstd or none,
 * as the media type states), hashes both the compressed and the uncompressed
 * bytes and counts the uncompressed ones against the unpack limits. Its read
 * function has the cf_wintar_read_fn signature, so the Windows image path
 * passes it to cf_storage_layer_import_tar.
 *
 * Both digests are checked when the decompressed stream ends. Before a read
 * returns, the stream has decoded CF_LAYER_STREAM_LOOKAHEAD bytes past the
 * reader's position, or it has ended and been checked. So a mismatch fails
 * every read that starts less than that distance before the end. A tar
 * reader that stops at the end-of-archive marker gets the error from its
 * last reads when fewer trailing bytes follow the marker.
 * cf_layer_stream_finish reads whatever the reader left and runs the checks
 * in every case.
 *
 * Uses libarchive, which both the Linux build and cfwin.exe link.
 */
#ifndef CFWIN_IMAGE_LAYER_STREAM_H
#define CFWIN_IMAGE_LAYER_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "image/blob.h"
#include "image/idmap.h"
#include "image/storage.h"
#include "image/wintar.h"
#include "oci/oci.h"

/* Uncompressed bytes decoded ahead of the reader: 64 KiB, more than the
 * padding to a 10240-byte record (libarchive's default block size) that may
 * follow the end marker. */
#define CF_LAYER_STREAM_LOOKAHEAD 65536

typedef struct cf_layer_stream cf_layer_stream;

/* Opens a stream over the compressed blob that read_blob returns (called
 * with blob_context). blob and limits are borrowed and must outlive the
 * stream. The compression comes from blob->media_type (CF_E_INVALID for a
 * type that is not a layer). The compressed bytes must match blob's size
 * and digest and the uncompressed ones expected_diff_id (CF_E_INTEGRITY
 * naming the media type and both values). Passing max_layer_bytes or
 * max_image_bytes fails with CF_E_LIMIT within one 64 KiB chunk.
 * NOTE: max_layer_entries is not enforced here because the stream does not
 * parse tar. Each entry takes at least 512 bytes, so max_layer_bytes
 * bounds the count. */
int cf_layer_stream_open(const cf_oci_descriptor *blob, const char *expected_diff_id,
                         const cf_unpack_limits *limits, cf_wintar_read_fn read_blob,
                         void *blob_context, cf_layer_stream **out, cf_err **err);

/* A cf_wintar_read_fn whose context is a cf_layer_stream: reads up to len
 * uncompressed bytes. *got == 0 means the stream ended and both digests
 * matched. After a failure every later call fails with the same message. */
int cf_layer_stream_read(void *context, void *buf, size_t len, size_t *got, cf_err **err);

/* Reads and hashes what the reader left, checks both digests and stores
 * the number of uncompressed bytes in *size. Call it after the consumer of
 * cf_layer_stream_read is done, also when that consumer stopped early. */
int cf_layer_stream_finish(cf_layer_stream *stream, int64_t *size, cf_err **err);

void cf_layer_stream_free(cf_layer_stream *stream);

/* A cf_wintar_read_fn over a file descriptor; context is a const int *. */
int cf_layer_blob_read_fd(void *context, void *buf, size_t len, size_t *got, cf_err **err);

/* --- Writing a layer into the platform's layer store --- */

/* One layer of a pull, as the platform-neutral image code describes it. */
typedef struct cf_layer_import {
  const cf_oci_descriptor *blob; /* the manifest's layer descriptor */
  cf_blob_producer produce;      /* writes the compressed blob */
  void *produce_context;
  const char *diff_id; /* from the verified image config */
  const cf_unpack_limits *limits;
  /* Linux: the empty layer directory and the owner mapping (NULL or
   * zeroed for owners as the tar states them). */
  const char *dest;
  const cf_id_mapping *id_mapping;
  /* Windows: the layer store, the layer's chain id and its parents'
   * chain ids, bottom first. */
  cf_storage *storage;
  const char *chain_id;
  char *const *parent_ids;
  size_t parent_count;
} cf_layer_import;

/* Writes the layer into the platform's store, with both digests and the
 * limits checked, and stores its size in *size. On Linux this is
 * cf_layer_unpack_stream into layer->dest, emptied again on failure, and
 * *size is the uncompressed tar size. On Windows (windows/layer_import.c)
 * the producer writes into a pipe that cf_layer_stream reads for
 * cf_storage_layer_import_tar, and *size is the layer's regular-file bytes,
 * groot's image size. */
int cf_image_layer_import_stream(const cf_layer_import *layer, int64_t *size, cf_err **err);

#endif
