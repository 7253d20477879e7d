/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz target: the Windows layer tar reader and the import loop that turns
 * its entries into backup streams, with a sink that discards them. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "image/winlayer.h"
#include "image/wintar.h"

typedef struct input {
  const uint8_t *data;
  size_t size;
  size_t pos;
} input;

static int read_input(void *context, void *buf, size_t len, size_t *got, cf_err **err)
{
  input *in = context;
  size_t left = in->size - in->pos;
  /* Short reads of varying length exercise the reader's refills. */
  size_t n = len < left ? len : left;
  if (n > 1 + in->pos % 613) {
    n = 1 + in->pos % 613;
  }
  memcpy(buf, in->data + in->pos, n);
  in->pos += n;
  *got = n;
  (void)err;
  return 0;
}

static int begin(void *context, const cf_win_layer_entry *entry, cf_err **err)
{
  (void)context, (void)entry, (void)err;
  return 0;
}

static int write_bytes(void *context, const void *data, size_t len, cf_err **err)
{
  (void)context, (void)data, (void)len, (void)err;
  return 0;
}

static int end(void *context, cf_err **err)
{
  (void)context, (void)err;
  return 0;
}

static int link_entry(void *context, const char *path, const char *target, cf_err **err)
{
  (void)context, (void)path, (void)target, (void)err;
  return 0;
}

static int remove_entry(void *context, const char *path, bool opaque, cf_err **err)
{
  (void)context, (void)path, (void)opaque, (void)err;
  return 0;
}

static const cf_win_layer_sink discard = {begin, write_bytes, end, link_entry, remove_entry, NULL};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size == 0) {
    return 0;
  }
  input in = {data + 1, size - 1, 0};
  cf_wintar *tar = cf_wintar_new(read_input, &in);
  uint64_t layer_size = 0;
  cf_err *err = NULL;
  cf_win_layer_import_tar(tar, (data[0] & 1) != 0, &discard, NULL, &layer_size, &err);
  cf_err_free(err);
  cf_wintar_free(tar);
  return 0;
}
