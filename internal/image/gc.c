/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Garbage collection of layers that no volume references. Each layer is
 * checked and removed under the lock the layer store holds while it unpacks
 * it, and volume create checks its layers and records its references
 * while holding the same locks, so a layer is never removed under a volume.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/sha256.h"
#include "image/layer_store.h"
#include "image/volume.h"
#include "image/volume_internal.h"

/* Removes the record first: a directory left by a crash after that has no
 * record, and the next pull of the layer removes it before unpacking. */
static int remove_layer(cf_image_store *images, const cf_layer_record *record, cf_err **err)
{
  if (cf_store_layer_delete(images->store, record->chain_id, err) < 0) {
    return -1;
  }
  cf_autofree char *dir = cf_image_layer_dir(images, record->chain_id);
  return cf_rm_rf(dir, err);
}

/* Sets *removed when the layer was unreferenced and is gone. chain_id is
 * the layer key, with the mapping suffix for a mapped layer. */
static int collect_layer(cf_image_store *images, const char *chain_id, bool *removed, cf_err **err)
{
  *removed = false;
  cf_autoclose int lock = -1;
  cf_err *lock_err = NULL;
  if (cf_image_layer_lock(images, chain_id, true, &lock, &lock_err) < 0) {
    bool busy = lock_err->code == CF_E_BUSY;
    cf_err_free(lock_err);
    return busy ? 0 : cf_err_set(err, CF_E_SYSTEM, "lock layer %s", chain_id);
  }
  cf_layer_record record;
  if (cf_store_layer_get(images->store, chain_id, &record, NULL) < 0) {
    return 0;
  }
  int64_t refs = 0;
  int rc = cf_store_layer_ref_count(images->store, chain_id, &refs, err);
  if (rc == 0 && refs == 0 && strcmp(record.state, CF_LAYER_READY) == 0) {
    rc = remove_layer(images, &record, err);
    *removed = rc == 0;
  }
  cf_layer_record_clear(&record);
  return rc;
}

int cf_image_gc(cf_image_store *images, size_t *removed, cf_err **err)
{
  if (cf_volume_sweep_unrecorded(images, NULL, err) < 0) {
    return cf_err_wrap(err, "collect unused volumes");
  }
  char **chain_ids = NULL;
  size_t count = 0;
  if (cf_store_layer_list(images->store, &chain_ids, &count, err) < 0) {
    return cf_err_wrap(err, "collect unused layers");
  }
  size_t n = 0;
  int rc = 0;
  for (size_t i = 0; i < count && rc == 0; i++) {
    if (cf_layer_key_validate(chain_ids[i], NULL) < 0) {
      continue;
    }
    bool layer_removed = false;
    rc = collect_layer(images, chain_ids[i], &layer_removed, err);
    if (layer_removed) {
      cf_log(CF_LOG_INFO, "gc.layer-removed", "{s:s}", "chain_id", chain_ids[i]);
      n++;
    }
  }
  cf_strv_free(chain_ids, count);
  if (removed != NULL) {
    *removed = n;
  }
  return rc < 0 ? cf_err_wrap(err, "collect unused layers") : 0;
}
