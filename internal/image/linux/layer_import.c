/* SPDX-License-Identifier: Apache-2.0 */
/* cf_image_layer_import_stream on Linux: the overlayfs layer directory. */
#include "image/blob.h"
#include "image/layer_stream.h"

int cf_image_layer_import_stream(const cf_layer_import *layer, int64_t *size, cf_err **err)
{
  return cf_layer_unpack_stream(layer->blob, layer->produce, layer->produce_context, layer->dest,
                                layer->diff_id, layer->limits, layer->id_mapping, size, err);
}
