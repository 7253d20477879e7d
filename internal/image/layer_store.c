/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Each layer is unpacked under an exclusive flock(2) on <layers>/<hex>.lock.
 * flock locks belong to an open file description, and every call opens the
 * lock file anew, so the lock excludes other threads of this process as
 * well as other processes.
 *
 * Before unpacking, the store records the layer as "unpacking" with the
 * path of its temporary directory, so a crash leaves a record that names
 * what to remove. Opening the store removes what such records name for
 * layers nobody holds the lock of, and a later pull of the layer under the
 * lock does the same before it unpacks again.
 */
#include "image/layer_store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/sha256.h"
#include "image/blob.h"
#include "image/layer_stream.h"

#define TEMP_PREFIX "tmp-"

static void recover_unfinished(cf_image_store *images);

int cf_image_store_open(const char *depot, cf_store *store, cf_image_store **out, cf_err **err)
{
  cf_autofree char *layers = cf_path_join(depot, "layers");
  /* Layers hold set-user-ID programs and device whiteouts of every image,
   * so only root may look inside. */
  if (cf_mkdir_p(layers, 0700, err) < 0) {
    return cf_err_wrap(err, "open the layer store");
  }
  cf_image_store *images = cf_xcalloc(1, sizeof(*images));
  images->layers_dir = cf_steal(&layers);
  images->store = store;
  recover_unfinished(images);
  *out = images;
  return 0;
}

void cf_image_store_close(cf_image_store *images)
{
  if (images == NULL) {
    return;
  }
  free(images->layers_dir);
  free(images);
}

/* Takes the layer's lock; with try_only, fails with CF_E_BUSY instead of
 * waiting when another thread or process holds it. */
static int lock_layer(const char *path, bool try_only, int *fd_out, cf_err **err)
{
  cf_autoclose int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    return cf_err_sys(err, errno, "open lock file %s", path);
  }
  while (flock(fd, LOCK_EX | (try_only ? LOCK_NB : 0)) < 0) {
    if (errno == EWOULDBLOCK && try_only) {
      return cf_err_set(err, CF_E_BUSY, "layer lock %s is held", path);
    }
    if (errno != EINTR) {
      return cf_err_sys(err, errno, "lock %s", path);
    }
  }
  *fd_out = cf_steal_fd(&fd);
  return 0;
}

/* Loads the layer's record; *found is false when the store has none. */
static int load_record(cf_image_store *images, const char *chain_id, cf_layer_record *record,
                       bool *found, cf_err **err)
{
  memset(record, 0, sizeof(*record));
  cf_err *get_err = NULL;
  *found = cf_store_layer_get(images->store, chain_id, record, &get_err) == 0;
  if (*found || get_err->code == CF_E_NOT_FOUND) {
    cf_err_free(get_err);
    return 0;
  }
  if (err != NULL) {
    cf_err_free(*err);
    *err = get_err;
  } else {
    cf_err_free(get_err);
  }
  return cf_err_wrap(err, "read the store record of layer %s", chain_id);
}

static bool is_directory(const char *path)
{
  struct stat st;
  return lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool record_is_ready(const cf_layer_record *record, const char *dir)
{
  return strcmp(record->state, CF_LAYER_READY) == 0 && strcmp(record->path, dir) == 0 &&
         is_directory(dir);
}

/* True when path is <layers>/tmp-*, the only place an unpack record may
 * point before the layer is ready; a record naming anything else is not
 * trusted for deletion. */
static bool is_temp_dir(cf_image_store *images, const char *path)
{
  size_t len = strlen(images->layers_dir);
  return strncmp(path, images->layers_dir, len) == 0 && path[len] == '/' &&
         strncmp(path + len + 1, TEMP_PREFIX, strlen(TEMP_PREFIX)) == 0 &&
         strchr(path + len + 1, '/') == NULL;
}

/* Removes what an earlier, unfinished unpack of this layer left behind. */
static int discard_layer(cf_image_store *images, const cf_layer_record *record, bool found,
                         const char *dir, cf_err **err)
{
  if (found && is_temp_dir(images, record->path) && cf_rm_rf(record->path, err) < 0) {
    return -1;
  }
  if (cf_rm_rf(dir, err) < 0) {
    return -1;
  }
  if (found && cf_store_layer_delete(images->store, record->chain_id, err) < 0) {
    return -1;
  }
  if (found) {
    cf_log(CF_LOG_INFO, "layer-discarded", "{s:s, s:s}", "chain_id", record->chain_id, "state",
           record->state);
  }
  return 0;
}

static int make_temp_dir(cf_image_store *images, char **out, cf_err **err)
{
  char suffix[17];
  if (cf_random_hex(suffix, 8, err) < 0) {
    return -1;
  }
  *out = cf_xasprintf("%s/" TEMP_PREFIX "%s", images->layers_dir, suffix);
  return 0;
}

static int create_dir(const char *path, cf_err **err)
{
  if (mkdir(path, 0755) < 0 || chmod(path, 0755) < 0) {
    return cf_err_sys(err, errno, "create %s", path);
  }
  return 0;
}

static int extract_blob(const cf_layer_request *request, const char *dest, int64_t *size,
                        cf_err **err)
{
  /* A local blob is checked in full before unpacking, so a corrupt file
   * fails with a digest mismatch, not with a decompression error. The
   * stream checks the digest again as it unpacks. */
  if (request->verify_first && cf_image_blob_verify(request->produce_ctx, request->blob, err) < 0) {
    return -1;
  }
  cf_layer_import layer = {
      .blob = request->blob,
      .produce = request->produce,
      .produce_context = request->produce_ctx,
      .diff_id = request->diff_id,
      .limits = request->limits,
      .dest = dest,
      .id_mapping = request->id_mapping,
  };
  return cf_image_layer_import_stream(&layer, size, err);
}

/* Writes the unpacked files to disk before the store calls the layer ready,
 * so a crash cannot leave a ready record over lost data. */
static int sync_layers(cf_image_store *images, cf_err **err)
{
  cf_autoclose int fd = open(images->layers_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || syncfs(fd) < 0) {
    return cf_err_sys(err, errno, "sync %s", images->layers_dir);
  }
  return 0;
}

static void undo_unpack(cf_image_store *images, const char *chain_id, const char *temp)
{
  cf_err *err = NULL;
  if (cf_rm_rf(temp, &err) < 0 || cf_store_layer_delete(images->store, chain_id, &err) < 0) {
    cf_log_error("layer-cleanup-failed", err, "{s:s, s:s}", "chain_id", chain_id, "path", temp);
    cf_err_free(err);
  }
}

static int unpack_into(cf_image_store *images, const cf_layer_request *request,
                       cf_layer_record *record, const char *dir, cf_err **err)
{
  if (create_dir(record->path, err) < 0 ||
      extract_blob(request, record->path, &record->size, err) < 0) {
    return -1;
  }
  if (rename(record->path, dir) < 0) {
    return cf_err_sys(err, errno, "rename %s to %s", record->path, dir);
  }
  return sync_layers(images, err);
}

static int unpack_layer(cf_image_store *images, const cf_layer_request *request, const char *dir,
                        cf_err **err)
{
  cf_autofree char *temp = NULL;
  if (make_temp_dir(images, &temp, err) < 0) {
    return -1;
  }
  cf_layer_record record = {
      .chain_id = (char *)request->key,
      .diff_id = (char *)request->diff_id,
      .parent_chain_id = (char *)request->parent_key,
      .path = temp,
      .state = CF_LAYER_UNPACKING,
  };
  if (cf_store_layer_put(images->store, &record, err) < 0) {
    return -1;
  }
  if (unpack_into(images, request, &record, dir, err) < 0) {
    undo_unpack(images, request->key, temp);
    return -1;
  }
  record.path = (char *)dir;
  record.state = CF_LAYER_READY;
  return cf_store_layer_put(images->store, &record, err);
}

static int ensure_locked(cf_image_store *images, const cf_layer_request *request, const char *dir,
                         cf_err **err)
{
  cf_layer_record record;
  bool found = false;
  if (load_record(images, request->key, &record, &found, err) < 0) {
    return -1;
  }
  int rc = 0;
  if (found && record_is_ready(&record, dir)) {
    rc = cf_unpack_limits_charge(request->limits, record.size, err);
  } else {
    rc = discard_layer(images, &record, found, dir, err);
    if (rc == 0) {
      rc = unpack_layer(images, request, dir, err);
    }
  }
  if (found) {
    cf_layer_record_clear(&record);
  }
  return rc;
}

int cf_image_layer_ensure(cf_image_store *images, const cf_layer_request *request, char **dir,
                          cf_err **err)
{
  if (cf_layer_key_validate(request->key, err) < 0) {
    return -1;
  }
  cf_autofree char *layer_dir = cf_image_layer_dir(images, request->key);
  cf_autofree char *lock_path = cf_xasprintf("%s.lock", layer_dir);
  cf_autoclose int lock_fd = -1;
  if (lock_layer(lock_path, false, &lock_fd, err) < 0) {
    return -1;
  }
  if (ensure_locked(images, request, layer_dir, err) < 0) {
    return -1;
  }
  *dir = cf_steal(&layer_dir);
  return 0;
}

/* Discards one unfinished layer unless an unpack of it is in progress. */
static void recover_layer(cf_image_store *images, const char *chain_id)
{
  cf_autofree char *layer_dir = cf_image_layer_dir(images, chain_id);
  cf_autofree char *lock_path = cf_xasprintf("%s.lock", layer_dir);
  cf_autoclose int lock_fd = -1;
  cf_layer_record record;
  bool found = false;
  cf_err *err = NULL;
  if (lock_layer(lock_path, true, &lock_fd, &err) < 0 ||
      load_record(images, chain_id, &record, &found, &err) < 0) {
    cf_err_free(err);
    return;
  }
  if (found && !record_is_ready(&record, layer_dir) &&
      discard_layer(images, &record, found, layer_dir, &err) < 0) {
    cf_log_error("layer-recovery-failed", err, "{s:s}", "chain_id", chain_id);
    cf_err_free(err);
  }
  if (found) {
    cf_layer_record_clear(&record);
  }
}

/* Removes the temporary directories of unpacks that a crash interrupted, so
 * they do not wait for the same layer to be pulled again. */
static void recover_unfinished(cf_image_store *images)
{
  char **chain_ids = NULL;
  size_t count = 0;
  cf_err *err = NULL;
  if (cf_store_layer_list(images->store, &chain_ids, &count, &err) < 0) {
    cf_log_error("layer-recovery-failed", err, NULL);
    cf_err_free(err);
    return;
  }
  for (size_t i = 0; i < count; i++) {
    if (cf_layer_key_validate(chain_ids[i], NULL) == 0) {
      recover_layer(images, chain_ids[i]);
    }
  }
  cf_strv_free(chain_ids, count);
}

int cf_image_layer_lock(cf_image_store *images, const char *key, bool try_only, int *fd_out,
                        cf_err **err)
{
  if (cf_layer_key_validate(key, err) < 0) {
    return -1;
  }
  cf_autofree char *dir = cf_image_layer_dir(images, key);
  cf_autofree char *path = cf_xasprintf("%s.lock", dir);
  return lock_layer(path, try_only, fd_out, err);
}

void cf_layer_key(const char *chain_id, const cf_id_mapping *mapping,
                  char out[CF_LAYER_KEY_MAX + 1])
{
  if (!cf_id_mapping_is_set(mapping)) {
    snprintf(out, CF_LAYER_KEY_MAX + 1, "%s", chain_id);
    return;
  }
  char digest[CF_ID_MAPPING_DIGEST_LEN + 1];
  cf_id_mapping_digest(mapping, digest);
  snprintf(out, CF_LAYER_KEY_MAX + 1, "%s@%s", chain_id, digest);
}

static bool is_lower_hex(const char *text, size_t len)
{
  for (size_t i = 0; i < len; i++) {
    if (!((text[i] >= '0' && text[i] <= '9') || (text[i] >= 'a' && text[i] <= 'f'))) {
      return false;
    }
  }
  return true;
}

int cf_layer_key_validate(const char *key, cf_err **err)
{
  size_t len = strlen(key);
  bool mapped = len == CF_LAYER_KEY_MAX && key[CF_DIGEST_LEN] == '@' &&
                is_lower_hex(key + CF_DIGEST_LEN + 1, CF_ID_MAPPING_DIGEST_LEN);
  if (len != CF_DIGEST_LEN && !mapped) {
    return cf_err_set(err, CF_E_INVALID,
                      "invalid layer key \"%s\": expected sha256:<64 hex digits>, optionally "
                      "followed by @<16 hex digits>",
                      key);
  }
  cf_autofree char *chain_id = cf_xstrndup(key, CF_DIGEST_LEN);
  if (cf_digest_validate(chain_id, err) < 0) {
    return cf_err_wrap(err, "invalid layer key \"%s\"", key);
  }
  return 0;
}

char *cf_image_layer_dir(const cf_image_store *images, const char *key)
{
  return cf_path_join(images->layers_dir, key + strlen("sha256:"));
}
