/* SPDX-License-Identifier: Apache-2.0 */
/* The unpack limits of a pull (blob.h), shared by the Linux unpack and
 * the Windows layer import. */
#include <inttypes.h>
#include <stdatomic.h>

#include "image/blob.h"

#define RAISE_IMAGE_BYTES                                                                          \
  "raise max_image_bytes in the groot config file or --max-image-bytes of cfwin serve"

int cf_unpack_limits_init(cf_unpack_limits *limits, const cf_pull_options *options,
                          _Atomic int64_t *image_bytes, cf_err **err)
{
  static const cf_pull_options defaults = {0};
  if (options == NULL) {
    options = &defaults;
  }
  const struct {
    const char *name;
    int64_t value;
  } given[] = {
      {"max_layer_bytes", options->max_layer_bytes},
      {"max_image_bytes", options->max_image_bytes},
      {"max_layer_entries", options->max_layer_entries},
  };
  for (size_t i = 0; i < sizeof(given) / sizeof(given[0]); i++) {
    if (given[i].value < 0) {
      return cf_err_set(err, CF_E_INVALID, "invalid %s %" PRId64 ": use 0 (the default) or more",
                        given[i].name, given[i].value);
    }
  }
  *limits = (cf_unpack_limits){
      .max_layer_bytes = options->max_layer_bytes != 0 ? options->max_layer_bytes
                                                       : CF_IMAGE_DEFAULT_MAX_LAYER_BYTES,
      .max_layer_entries = options->max_layer_entries != 0 ? options->max_layer_entries
                                                           : CF_IMAGE_DEFAULT_MAX_LAYER_ENTRIES,
      .max_image_bytes = options->max_image_bytes != 0 ? options->max_image_bytes
                                                       : CF_IMAGE_DEFAULT_MAX_IMAGE_BYTES,
      .max_layers = options->max_layers,
      .image_bytes = image_bytes,
  };
  return 0;
}

static int image_limit_error(const cf_unpack_limits *limits, cf_err **err)
{
  return cf_err_set(err, CF_E_LIMIT,
                    "the uncompressed layers of the image exceed the max_image_bytes limit of "
                    "%" PRId64 " bytes (" RAISE_IMAGE_BYTES ")",
                    limits->max_image_bytes);
}

int cf_unpack_limits_charge(const cf_unpack_limits *limits, int64_t bytes, cf_err **err)
{
  int64_t total = atomic_fetch_add(limits->image_bytes, bytes) + bytes;
  return total > limits->max_image_bytes ? image_limit_error(limits, err) : 0;
}
