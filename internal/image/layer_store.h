/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The shared layer store under <depot>/layers. A layer's key is its chain
 * id, "sha256:<hex>", or for a pull with an id mapping
 * "sha256:<hex>@<16 hex digits of the mapping's digest>": the same layer
 * unpacked with another mapping is another tree. The key is the store
 * record's chain_id column and, without "sha256:", the directory and lock
 * file name.
 */
#ifndef CFWIN_IMAGE_LAYER_STORE_H
#define CFWIN_IMAGE_LAYER_STORE_H

#include "base/err.h"
#include "image/blob.h"
#include "image/idmap.h"
#include "image/image.h"
#include "oci/oci.h"

/* Length of the longest layer key, "sha256:<64 hex>@<16 hex>". */
#define CF_LAYER_KEY_MAX (CF_DIGEST_LEN + 1 + CF_ID_MAPPING_DIGEST_LEN)

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
  const cf_oci_descriptor *blob;   /* the manifest's layer descriptor */
  const char *diff_id;             /* from the verified image config */
  const char *parent_key;          /* layer key of the parent; NULL for the base layer */
  const char *key;                 /* layer key, see cf_layer_key() */
  const cf_unpack_limits *limits;  /* a ready layer counts its size against max_image_bytes */
  const cf_id_mapping *id_mapping; /* NULL or zeroed for owners as the tar states them */
} cf_layer_request;

/* Writes the layer key of chain_id for a pull with mapping (NULL or
 * zeroed: no mapping) to out. */
void cf_layer_key(const char *chain_id, const cf_id_mapping *mapping,
                  char out[CF_LAYER_KEY_MAX + 1]);

/* Checks that key is a layer key; CF_E_INVALID naming it otherwise. Keys
 * from the store pass this before they become paths. */
int cf_layer_key_validate(const char *key, cf_err **err);

/* Returns the directory of the layer key, <layers>/<key without "sha256:">,
 * as a new string. key must have passed cf_layer_key_validate(). */
char *cf_image_layer_dir(const cf_image_store *images, const char *key);

/* Stores in *dir (a new string) the unpacked directory of the layer,
 * unpacking it first unless the store records it as ready. Fails with
 * CF_E_LIMIT, keeping nothing of the layer, when it passes request->limits.
 * Holds the
 * layer's file lock throughout, so each layer is unpacked once across
 * threads and processes. Cleans up what an interrupted unpack left. */
int cf_image_layer_ensure(cf_image_store *images, const cf_layer_request *request, char **dir,
                          cf_err **err);

/* Takes the exclusive file lock of the layer key (<layers>/<hex>.lock, with
 * the mapping suffix for a mapped layer),
 * the lock every unpack, volume and collection of the layer holds; with
 * try_only, fails with CF_E_BUSY instead of waiting. *fd_out is the lock's
 * descriptor: closing it releases the lock. */
int cf_image_layer_lock(cf_image_store *images, const char *key, bool try_only, int *fd_out,
                        cf_err **err);

#endif
