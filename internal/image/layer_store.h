/* SPDX-License-Identifier: Apache-2.0 */
/* The shared layer store under <depot>/layers, keyed by chain id. */
#ifndef CFWIN_IMAGE_LAYER_STORE_H
#define CFWIN_IMAGE_LAYER_STORE_H

#include "base/err.h"
#include "image/blob.h"
#include "image/image.h"
#include "oci/oci.h"

struct cf_image_store {
  char *layers_dir; /* <depot>/layers */
  cf_store *store;  /* borrowed */
};

/* A layer to make available: where its blob comes from and what it must
 * contain. */
typedef struct cf_layer_request {
  cf_blob_producer produce; /* writes the compressed blob; called only to unpack */
  void *produce_ctx;        /* passed to produce */
  bool verify_first;        /* produce_ctx is an OCI layout: verify the blob before unpacking */
  const cf_oci_descriptor *blob; /* the manifest's layer descriptor */
  const char *diff_id;           /* from the verified image config */
  const char *parent_chain_id;   /* NULL for the base layer */
  const char *chain_id;
  const cf_unpack_limits *limits; /* a ready layer counts its size against max_image_bytes */
} cf_layer_request;

/* Stores in *dir (a new string) the unpacked directory of the layer,
 * unpacking it first unless the store records it as ready. Fails with
 * CF_E_LIMIT, keeping nothing of the layer, when it passes request->limits.
 * Holds the
 * layer's file lock throughout, so each layer is unpacked once across
 * threads and processes. Cleans up what an interrupted unpack left. */
int cf_image_layer_ensure(cf_image_store *images, const cf_layer_request *request, char **dir,
                          cf_err **err);

/* Takes the exclusive file lock of the layer chain_id (<layers>/<hex>.lock),
 * the lock every unpack, volume and collection of the layer holds; with
 * try_only, fails with CF_E_BUSY instead of waiting. *fd_out is the lock's
 * descriptor: closing it releases the lock. */
int cf_image_layer_lock(cf_image_store *images, const char *chain_id, bool try_only, int *fd_out,
                        cf_err **err);

#endif
