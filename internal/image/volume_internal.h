/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the volume, stats and garbage collection sources. */
#ifndef CFWIN_IMAGE_VOLUME_INTERNAL_H
#define CFWIN_IMAGE_VOLUME_INTERNAL_H

#include <stdbool.h>

#include "base/err.h"
#include "image/image.h"

/* <depot>/volumes, and <depot>/volumes/<handle>; new strings. */
char *cf_volume__root(cf_image_store *images);
char *cf_volume__dir(cf_image_store *images, const char *handle);

#endif
