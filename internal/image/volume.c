/* SPDX-License-Identifier: Apache-2.0 */
/* Volume create and delete; see volume.h for the layout on disk. */
#include "image/volume.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/log.h"
#include "base/mem.h"
#include "image/layer_store.h"
#include "image/volume_internal.h"

#define DISK_IMAGE "disk.ext4"

void cf_volume_clear(cf_volume *volume)
{
  free(volume->path);
  cf_strv_free(volume->layer_dirs, volume->layer_count);
  free(volume->upper);
  free(volume->work);
  free(volume->target);
  free(volume->device);
  free(volume->fs_type);
  free(volume->mount_dir);
  memset(volume, 0, sizeof(*volume));
}

char *cf_volume__dir(cf_image_store *images, const char *handle)
{
  cf_autofree char *volumes = cf_volume__root(images);
  return cf_path_join(volumes, handle);
}

char *cf_volume__root(cf_image_store *images)
{
  /* layers_dir is <depot>/layers. */
  const char *slash = strrchr(images->layers_dir, '/');
  size_t len = slash != NULL ? (size_t)(slash - images->layers_dir) : 0;
  cf_autofree char *depot = cf_xstrndup(images->layers_dir, len);
  return cf_path_join(len > 0 ? depot : "/", "volumes");
}

static int64_t now_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* <depot>/volume-locks/<handle>: a new string. The locks live outside
 * volumes/ so that a deleted volume leaves nothing there. */
static char *handle_lock_path(cf_image_store *images, const char *handle)
{
  cf_autofree char *volumes = cf_volume__root(images);
  cf_autofree char *locks = cf_xasprintf("%s-locks", volumes);
  return cf_path_join(locks, handle);
}

static bool same_file(int fd, const char *path)
{
  struct stat by_fd;
  struct stat by_path;
  return fstat(fd, &by_fd) == 0 && stat(path, &by_path) == 0 && by_fd.st_dev == by_path.st_dev &&
         by_fd.st_ino == by_path.st_ino;
}

/* Takes the exclusive flock that serialises create and delete of one
 * handle, waiting for the holder unless try_only (then CF_E_BUSY). A holder
 * may unlink the file before it lets go. So the lock counts only when the
 * locked file is still the one at the path, and otherwise the loop opens
 * the new file and tries again. */
static int lock_handle_mode(cf_image_store *images, const char *handle, bool try_only, int *fd_out,
                            cf_err **err)
{
  cf_autofree char *path = handle_lock_path(images, handle);
  cf_autofree char *dir = cf_xstrndup(path, (size_t)(strrchr(path, '/') - path));
  if (cf_mkdir_p(dir, 0700, err) < 0) {
    return -1;
  }
  for (;;) {
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
      return cf_err_sys(err, errno, "open volume lock %s", path);
    }
    int rc;
    while ((rc = flock(fd, LOCK_EX | (try_only ? LOCK_NB : 0))) < 0 && errno == EINTR) {
    }
    if (rc < 0 && errno == EWOULDBLOCK && try_only) {
      close(fd);
      return cf_err_set(err, CF_E_BUSY, "volume %s is being created or deleted", handle);
    }
    if (rc < 0) {
      int saved = errno;
      close(fd);
      return cf_err_sys(err, saved, "lock volume lock %s", path);
    }
    if (same_file(fd, path)) {
      *fd_out = fd;
      return 0;
    }
    close(fd);
  }
}

static int lock_handle(cf_image_store *images, const char *handle, int *fd_out, cf_err **err)
{
  return lock_handle_mode(images, handle, false, fd_out, err);
}

/* Unlinks the lock file while still holding it, once no volume is left. */
static void remove_handle_lock(cf_image_store *images, const char *handle)
{
  cf_autofree char *path = handle_lock_path(images, handle);
  if (unlink(path) < 0 && errno != ENOENT) {
    cf_log(CF_LOG_ERROR, "volume.remove-lock-failed", "{s:s, s:s}", "path", path, "error",
           strerror(errno));
  }
}

/* Reads the size of each layer, which must be ready; the caller holds the
 * layers' locks. A missing layer is CF_E_BUSY: garbage collection removed
 * it after the pull, and a new pull brings it back. */
static int image_size(cf_image_store *images, const cf_image *image, int64_t *size, cf_err **err)
{
  *size = 0;
  for (size_t i = 0; i < image->layer_count; i++) {
    cf_layer_record record;
    if (cf_store_layer_get(images->store, image->layer_keys[i], &record, NULL) < 0) {
      return cf_err_set(err, CF_E_BUSY,
                        "layer %s was removed by garbage collection during create; pull the "
                        "image again",
                        image->layer_keys[i]);
    }
    bool ready = strcmp(record.state, CF_LAYER_READY) == 0 && access(record.path, F_OK) == 0;
    int64_t layer_size = record.size;
    cf_layer_record_clear(&record);
    if (!ready) {
      return cf_err_set(err, CF_E_BUSY, "layer %s is not ready; pull the image again",
                        image->layer_keys[i]);
    }
    *size += layer_size;
  }
  return 0;
}

/* groot's quota rule: the image counts against a total-scope limit. */
static int compute_quota(const cf_volume_request *request, int64_t size, int64_t *quota,
                         cf_err **err)
{
  if (request->disk_limit < 0) {
    return cf_err_set(err, CF_E_INVALID, "invalid disk limit: %lld",
                      (long long)request->disk_limit);
  }
  if (request->disk_limit > CF_VOLUME_MAX_DISK_LIMIT) {
    return cf_err_set(err, CF_E_INVALID,
                      "invalid disk limit: %lld: the maximum is %lld bytes (1 PiB); use a "
                      "smaller limit, or 0 for none",
                      (long long)request->disk_limit, (long long)CF_VOLUME_MAX_DISK_LIMIT);
  }
  *quota = request->disk_limit;
  if (request->disk_limit == 0 || request->scope == CF_DISK_SCOPE_EXCLUSIVE) {
    return 0;
  }
  *quota = request->disk_limit - size;
  if (*quota <= 0) {
    return cf_err_set(err, CF_E_INVALID, "disk limit %lld must be larger than image size %lld",
                      (long long)request->disk_limit, (long long)size);
  }
  return 0;
}

static int insert_record(cf_image_store *images, const cf_volume_request *request,
                         const cf_volume *volume, cf_err **err)
{
  cf_volume_record record = {
      .handle = (char *)request->handle,
      .state = CF_VOLUME_CREATING,
      .path = volume->path,
      .image_uri = (char *)request->image_uri,
      .image_size = volume->image_size,
      .disk_limit = request->disk_limit,
      .scope = request->scope,
      .quota = volume->quota,
      .created_at_ns = now_ns(),
      .chain_ids = request->image->layer_keys,
      .layer_count = request->image->layer_count,
  };
  if (cf_store_volume_insert(images->store, &record, err) < 0) {
    if (err != NULL && *err != NULL && (*err)->code == CF_E_EXISTS) {
      cf_err_clear(err);
      return cf_err_set(err, CF_E_EXISTS, "layer already exists: %s", request->handle);
    }
    return -1;
  }
  return 0;
}

static int make_dir(const char *path, mode_t mode, cf_err **err)
{
  if (mkdir(path, mode) < 0 || chmod(path, mode) < 0) {
    return cf_err_sys(err, errno, "create %s", path);
  }
  return 0;
}

/* The host ids of container root: 0 and 0 unless the image was pulled
 * with an id mapping. */
static void mapped_root(const cf_id_mapping *mapping, uint32_t *uid, uint32_t *gid)
{
  *uid = 0;
  *gid = 0;
  if (!cf_id_mapping_is_set(mapping) || !cf_id_map_to_host(&mapping->uids, 0, uid) ||
      !cf_id_map_to_host(&mapping->gids, 0, gid)) {
    *uid = 0;
    *gid = 0;
  }
}

/* Gives path to container root, the owner of "/" in the container. */
static int own_dir(const char *path, const cf_id_mapping *mapping, cf_err **err)
{
  uint32_t uid = 0;
  uint32_t gid = 0;
  mapped_root(mapping, &uid, &gid);
  if ((uid != 0 || gid != 0) && lchown(path, uid, gid) < 0) {
    return cf_err_sys(err, errno, "set the owner of %s", path);
  }
  return 0;
}

static int make_plain_layer(const cf_image *image, cf_volume *volume, cf_err **err)
{
  volume->upper = cf_path_join(volume->path, "upper");
  volume->work = cf_path_join(volume->path, "work");
  if (make_dir(volume->upper, 0755, err) < 0 || make_dir(volume->work, 0755, err) < 0 ||
      own_dir(volume->upper, &image->id_mapping, err) < 0 ||
      own_dir(volume->work, &image->id_mapping, err) < 0) {
    return -1;
  }
  return 0;
}

static int make_limited_layer(cf_image_store *images, const cf_volume_request *request,
                              cf_volume *volume, cf_err **err)
{
  const char *handle = request->handle;
  cf_autofree char *disk = cf_path_join(volume->path, DISK_IMAGE);
  int64_t base_used = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  mapped_root(&request->image->id_mapping, &uid, &gid);
  volume->mount_dir = cf_path_join(volume->path, "mnt");
  volume->upper = cf_path_join(volume->mount_dir, "upper");
  volume->work = cf_path_join(volume->mount_dir, "work");
  volume->fs_type = cf_xstrdup("ext4");
  if (make_dir(volume->mount_dir, 0755, err) < 0 ||
      cf_ext4_image_create(disk, volume->quota, uid, gid, &base_used, err) < 0 ||
      cf_store_volume_set_base_used(images->store, handle, base_used, err) < 0) {
    return -1;
  }
  return cf_loop_attach(images->store, handle, disk, &volume->device, err);
}

static void copy_layer_dirs(const cf_image *image, cf_volume *volume)
{
  volume->layer_dirs = cf_xcalloc(image->layer_count + 1, sizeof(char *));
  for (size_t i = 0; i < image->layer_count; i++) {
    volume->layer_dirs[i] = cf_xstrdup(image->layer_dirs[i]);
  }
  volume->layer_count = image->layer_count;
}

/* Makes the directories and the writable layer of a recorded volume. */
static int build(cf_image_store *images, const cf_volume_request *request, cf_volume *volume,
                 cf_err **err)
{
  cf_autofree char *root = cf_volume__root(images);
  if (cf_mkdir_p(root, 0700, err) < 0 || cf_rm_rf(volume->path, err) < 0 ||
      make_dir(volume->path, 0700, err) < 0) {
    return -1;
  }
  volume->target = cf_path_join(volume->path, "rootfs");
  if (make_dir(volume->target, 0755, err) < 0) {
    return -1;
  }
  int rc = volume->quota > 0 ? make_limited_layer(images, request, volume, err)
                             : make_plain_layer(request->image, volume, err);
  if (rc < 0) {
    return -1;
  }
  copy_layer_dirs(request->image, volume);
  return cf_store_volume_set_state(images->store, request->handle, CF_VOLUME_READY, err);
}

static int delete_locked(cf_image_store *images, const char *handle, bool *existed, cf_err **err);

static void unlock_layers(int *locks, size_t count)
{
  for (size_t i = 0; i < count; i++) {
    if (locks[i] >= 0) {
      close(locks[i]);
    }
  }
  free(locks);
}

/* Records the volume and its layer references while holding every layer's
 * lock, taken bottom first. A chain id has the same position in every
 * image, so creates lock in one order, and gc only tries its locks. gc
 * checks references under the same lock. So gc either finds this volume's
 * reference, or it removed the layer first and image_size() reports that. */
static int record_volume(cf_image_store *images, const cf_volume_request *request, cf_volume *out,
                         cf_err **err)
{
  const cf_image *image = request->image;
  int *locks = cf_xcalloc(image->layer_count + 1, sizeof(int));
  for (size_t i = 0; i < image->layer_count; i++) {
    locks[i] = -1;
  }
  int rc = 0;
  for (size_t i = 0; i < image->layer_count && rc == 0; i++) {
    rc = cf_image_layer_lock(images, image->layer_keys[i], false, &locks[i], err);
  }
  if (rc == 0) {
    rc = image_size(images, image, &out->image_size, err);
  }
  if (rc == 0) {
    rc = compute_quota(request, out->image_size, &out->quota, err);
  }
  if (rc == 0) {
    out->path = cf_volume__dir(images, request->handle);
    rc = insert_record(images, request, out, err);
  }
  unlock_layers(locks, image->layer_count);
  return rc;
}

static int create_locked(cf_image_store *images, const cf_volume_request *request, cf_volume *out,
                         cf_err **err)
{
  if (record_volume(images, request, out, err) < 0) {
    cf_volume_clear(out);
    return -1;
  }
  if (build(images, request, out, err) < 0) {
    cf_err *undo_err = NULL;
    if (delete_locked(images, request->handle, NULL, &undo_err) < 0) {
      cf_log_error("volume.create.undo-failed", undo_err, "{s:s}", "handle", request->handle);
      cf_err_free(undo_err);
    }
    cf_volume_clear(out);
    return cf_err_wrap(err, "create volume %s", request->handle);
  }
  return 0;
}

int cf_volume_create(cf_image_store *images, const cf_volume_request *request, cf_volume *out,
                     cf_err **err)
{
  memset(out, 0, sizeof(*out));
  if (cf_handle_validate(request->handle, err) < 0) {
    return -1;
  }
  cf_autoclose int lock = -1;
  if (lock_handle(images, request->handle, &lock, err) < 0) {
    return cf_err_wrap(err, "create volume %s", request->handle);
  }
  if (create_locked(images, request, out, err) < 0) {
    bool exists = err != NULL && *err != NULL && (*err)->code == CF_E_EXISTS;
    if (!exists) {
      remove_handle_lock(images, request->handle);
    }
    return -1;
  }
  return 0;
}

/* Removes what the record names; the record goes last, so a failure leaves
 * it for the next delete. */
static int delete_recorded(cf_image_store *images, const cf_volume_record *record, cf_err **err)
{
  if (cf_store_volume_set_state(images->store, record->handle, CF_VOLUME_DELETING, err) < 0) {
    return -1;
  }
  if (record->loop_device != NULL && record->backing_file != NULL &&
      cf_loop_detach(record->loop_device, record->backing_file, err) < 0) {
    return -1;
  }
  /* Only the directory under <depot>/volumes is removed, whatever path the record stores. */
  cf_autofree char *expected = cf_volume__dir(images, record->handle);
  if (cf_rm_rf(expected, err) < 0) {
    return -1;
  }
  return cf_store_volume_delete(images->store, record->handle, err);
}

/* Removes a volume directory that has no record, as a create that lost a
 * race or crashed may leave. */
static int delete_unrecorded(cf_image_store *images, const char *handle, bool *existed,
                             cf_err **err)
{
  cf_autofree char *dir = cf_volume__dir(images, handle);
  if (access(dir, F_OK) < 0) {
    return 0;
  }
  if (existed != NULL) {
    *existed = true;
  }
  cf_log(CF_LOG_INFO, "volume.delete.unrecorded-directory", "{s:s, s:s}", "handle", handle, "path",
         dir);
  return cf_rm_rf(dir, err);
}

/* Deletes the volume; the caller holds the handle's lock. */
static int delete_locked(cf_image_store *images, const char *handle, bool *existed, cf_err **err)
{
  if (existed != NULL) {
    *existed = false;
  }
  cf_volume_record record;
  cf_err *get_err = NULL;
  if (cf_store_volume_get(images->store, handle, &record, &get_err) < 0) {
    if (get_err->code == CF_E_NOT_FOUND) {
      cf_err_free(get_err);
      return delete_unrecorded(images, handle, existed, err);
    }
    if (err != NULL) {
      cf_err_free(*err);
      *err = get_err;
    } else {
      cf_err_free(get_err);
    }
    return -1;
  }
  if (existed != NULL) {
    *existed = true;
  }
  int rc = delete_recorded(images, &record, err);
  cf_volume_record_clear(&record);
  return rc;
}

int cf_volume_delete(cf_image_store *images, const char *handle, bool *existed, cf_err **err)
{
  if (existed != NULL) {
    *existed = false;
  }
  if (cf_handle_validate(handle, err) < 0) {
    return -1;
  }
  cf_autoclose int lock = -1;
  if (lock_handle(images, handle, &lock, err) < 0 ||
      delete_locked(images, handle, existed, err) < 0) {
    return cf_err_wrap(err, "delete volume %s", handle);
  }
  remove_handle_lock(images, handle);
  return 0;
}

int cf_volume_list(cf_image_store *images, char ***handles, size_t *count, cf_err **err)
{
  return cf_store_volume_list(images->store, handles, count, err);
}

int cf_volume_create_pulled(cf_image_store *images, const char *uri, const cf_pull_options *pull,
                            const cf_volume_request *request, cf_image *image, cf_volume *out,
                            cf_err **err)
{
  cf_err *first = NULL;
  if (cf_volume_create(images, request, out, &first) == 0) {
    return 0;
  }
  if (first->code != CF_E_BUSY) {
    if (err != NULL) {
      cf_err_free(*err);
      *err = first;
    } else {
      cf_err_free(first);
    }
    return -1;
  }
  cf_log(CF_LOG_INFO, "volume.retry-pull", "{s:s, s:s}", "handle", request->handle, "reason",
         first->message);
  cf_err_free(first);
  cf_image_clear(image);
  if (cf_image_source_pull(images, uri, pull, image, err) < 0) {
    return -1;
  }
  return cf_volume_create(images, request, out, err);
}

/* Removes one volume directory when its handle is free and the store has
 * no record of it. */
static bool sweep_one(cf_image_store *images, const char *handle)
{
  cf_autoclose int lock = -1;
  cf_volume_record record;
  cf_err *err = NULL;
  if (cf_handle_validate(handle, NULL) < 0 ||
      lock_handle_mode(images, handle, true, &lock, &err) < 0) {
    cf_err_free(err);
    return false;
  }
  if (cf_store_volume_get(images->store, handle, &record, &err) == 0) {
    cf_volume_record_clear(&record);
    return false;
  }
  bool not_found = err->code == CF_E_NOT_FOUND;
  cf_err_clear(&err);
  bool existed = false;
  if (!not_found || delete_unrecorded(images, handle, &existed, &err) < 0) {
    cf_log_error("gc.volume-sweep-failed", err, "{s:s}", "handle", handle);
    cf_err_free(err);
    return false;
  }
  remove_handle_lock(images, handle);
  return true;
}

int cf_volume_sweep_unrecorded(cf_image_store *images, size_t *removed, cf_err **err)
{
  cf_autofree char *root = cf_volume__root(images);
  size_t n = 0;
  DIR *dir = opendir(root);
  if (dir == NULL && errno != ENOENT) {
    return cf_err_sys(err, errno, "open %s", root);
  }
  struct dirent *entry;
  while (dir != NULL && (entry = readdir(dir)) != NULL) {
    if (entry->d_name[0] != '.' && sweep_one(images, entry->d_name)) {
      cf_log(CF_LOG_INFO, "gc.unrecorded-volume-removed", "{s:s}", "handle", entry->d_name);
      n++;
    }
  }
  if (dir != NULL) {
    closedir(dir);
  }
  if (removed != NULL) {
    *removed = n;
  }
  return 0;
}
