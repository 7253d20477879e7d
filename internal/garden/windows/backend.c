/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The server's backend in cfwin.exe. Create pulls the image into the
 * driver store under <depot>\images, creates the container's volume over
 * it, builds the bundle gdn would write (garden/winbundle.h) and creates
 * and starts the compute system through the runtime library
 * (runtime/windows/container.h), all in-process. The container record,
 * its properties and limits and the runtime record live in the depot's
 * cfwin.db. Every failure undoes the steps before it.
 *
 * NOTE: there is no init process, unlike gdn's garden-init.exe, because
 * a process-isolated compute system keeps running without one. The
 * backend makes no HCN network, so NetIn and NetOut are not available.
 */
#include <direct.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/fs.h"
#include "base/log.h"
#include "base/mem.h"
#include "garden/windows/backend_win.h"
#include "garden/winbundle.h"
#include "image/windows/pull.h"
#include "image/winimage.h"

int cf_backend_open(const char *depot, const cf_backend_options *options, cf_backend **out,
                    cf_err **err)
{
  cf_backend *backend = cf_xcalloc(1, sizeof(*backend));
  backend->depot = cf_xstrdup(depot);
  backend->containers_dir = cf_path_join(depot, "containers");
  backend->images_dir = cf_path_join(depot, "images");
  pthread_mutex_init(&backend->storage_lock, NULL);
  if (options != NULL) {
    backend->options = *options;
  }
  if (cf_mkdir_p(backend->containers_dir, 0700, err) < 0 ||
      cf_store_open(depot, &backend->store, err) < 0) {
    cf_backend_close(backend);
    return cf_err_wrap(err, "open depot %s", depot);
  }
  if (options != NULL && options->network != NULL) {
    /* NOTE: the Windows backend makes no HCN network yet, so NetIn, NetOut
     * and the garden.network.* properties are not available. */
    cf_log(CF_LOG_INFO, "network.unused", "{s:s}", "reason",
           "the Windows backend does not create container networks yet");
  }
  *out = backend;
  return 0;
}

void cf_backend_close(cf_backend *backend)
{
  if (backend == NULL) {
    return;
  }
  cf_storage_close(backend->storage);
  if (backend->hcs_loaded) {
    cf_hcs_api_unload(&backend->hcs);
  }
  pthread_mutex_destroy(&backend->storage_lock);
  cf_store_close(backend->store);
  free(backend->images_dir);
  free(backend->containers_dir);
  free(backend->depot);
  free(backend);
}

cf_store *cf_backend_store(cf_backend *backend)
{
  return backend->store;
}

int cf_win_backend_storage(cf_backend *backend, cf_storage **out, cf_err **err)
{
  pthread_mutex_lock(&backend->storage_lock);
  int rc = 0;
  if (backend->storage == NULL) {
    rc = cf_storage_open(backend->images_dir, &backend->storage, err);
  }
  *out = backend->storage;
  pthread_mutex_unlock(&backend->storage_lock);
  return rc;
}

int cf_win_backend_hcs(cf_backend *backend, const cf_hcs_api **out, cf_err **err)
{
  pthread_mutex_lock(&backend->storage_lock);
  int rc = 0;
  if (!backend->hcs_loaded) {
    rc = cf_hcs_api_load(&backend->hcs, err);
    backend->hcs_loaded = rc == 0;
  }
  *out = &backend->hcs;
  pthread_mutex_unlock(&backend->storage_lock);
  return rc;
}

static void log_runtime_debug(const char *msg, const char *id, const char *key, const char *value)
{
  cf_log(CF_LOG_DEBUG, "runtime.debug", "{s:s, s:s?, s:s?, s:s?}", "message", msg, "handle", id,
         "key", key, "value", value);
}

cf_wrt_context cf_win_backend_runtime(cf_backend *backend)
{
  return (cf_wrt_context){.store = backend->store, .log_debug = log_runtime_debug};
}

int cf_backend_pull(cf_backend *backend, const char *uri, cf_err **err)
{
  cf_storage *storage = NULL;
  if (cf_win_backend_storage(backend, &storage, err) < 0) {
    return cf_err_wrap(err, "pull %s", uri);
  }
  cf_win_image image;
  if (cf_win_image_pull(storage, uri, &backend->options.pull, 0, &image, err) < 0) {
    return -1;
  }
  cf_win_image_clear(&image);
  return 0;
}

/* Nanoseconds since the Unix epoch. */
static int64_t now_ns(void)
{
  FILETIME now;
  GetSystemTimePreciseAsFileTime(&now);
  uint64_t ticks = (uint64_t)now.dwHighDateTime << 32 | now.dwLowDateTime;
  // FILETIME counts 100 ns ticks from 1601-01-01, 11644473600 s before
  // the Unix epoch.
  return (int64_t)(ticks - 116444736000000000ull) * 100;
}

/* The container's environment: the image's Env, then the create request's. */
static char *env_json(const cf_win_image *image, const cf_create_request *request)
{
  json_t *env = json_array();
  for (size_t i = 0; i < image->env_count; i++) {
    json_array_append_new(env, json_string(image->env[i]));
  }
  for (size_t i = 0; i < request->env_count; i++) {
    json_array_append_new(env, json_string(request->env[i]));
  }
  char *text = json_dumps(env, JSON_COMPACT);
  json_decref(env);
  return text != NULL ? text : cf_xstrdup("[]");
}

static int record_properties(cf_backend *backend, const cf_create_request *request, cf_err **err)
{
  for (size_t i = 0; i < request->property_count; i++) {
    if (cf_store_property_set(backend->store, request->handle, request->properties[i].key,
                              request->properties[i].value, err) < 0) {
      return -1;
    }
  }
  cf_autofree char *grace = cf_xasprintf("%lld", (long long)request->grace_time_ns);
  if (cf_store_property_set(backend->store, request->handle, "garden.grace-time", grace, err) < 0) {
    return -1;
  }
  if (request->limits != NULL &&
      cf_store_limits_set(backend->store, request->handle, request->limits, err) < 0) {
    return -1;
  }
  return 0;
}

/* Records the container as creating, with its properties and limits, in
 * one transaction. */
static int record_container(cf_backend *backend, const cf_create_request *request,
                            const cf_win_image *image, const char *dir, cf_err **err)
{
  cf_autofree char *env = env_json(image, request);
  cf_container_record record = {
      .handle = (char *)request->handle,
      .state = CF_CONTAINER_CREATING,
      .rootfs_uri = (char *)request->image_uri,
      .dir = (char *)dir,
      .grace_time_ns = request->grace_time_ns,
      .created_at_ns = now_ns(),
      .env_json = env,
  };
  if (cf_store_begin(backend->store, err) < 0) {
    return -1;
  }
  if (cf_store_container_insert(backend->store, &record, err) < 0 ||
      record_properties(backend, request, err) < 0) {
    cf_store_rollback(backend->store);
    return -1;
  }
  return cf_store_commit(backend->store, err);
}

static int mark_created(cf_backend *backend, const char *handle, cf_err **err)
{
  if (cf_store_begin(backend->store, err) < 0) {
    return -1;
  }
  if (cf_store_property_set(backend->store, handle, "garden.state", "created", err) < 0 ||
      cf_store_container_set_state(backend->store, handle, CF_CONTAINER_CREATED, err) < 0) {
    cf_store_rollback(backend->store);
    return -1;
  }
  return cf_store_commit(backend->store, err);
}

/* The size limit of the volume, as groot computes it: the whole disk limit
 * when the image does not count against it (scope 1), else the limit minus
 * the image. 0 is no limit. */
static int volume_limit(const cf_create_request *request, uint64_t image_size, uint64_t *out,
                        cf_err **err)
{
  *out = (uint64_t)request->disk_limit;
  if (request->disk_limit == 0 || request->disk_scope == 1) {
    return 0;
  }
  if ((uint64_t)request->disk_limit <= image_size) {
    return cf_err_set(err, CF_E_LIMIT,
                      "disk limit %lld of container %s must be larger than its image size %" PRIu64
                      "; raise limits.disk.byte_hard or use the exclusive disk scope",
                      (long long)request->disk_limit, request->handle, image_size);
  }
  *out -= image_size;
  return 0;
}

/* Creates the volume, builds the bundle and creates the compute system. */
static int create_system(cf_backend *backend, const cf_create_request *request, cf_storage *storage,
                         const cf_win_image *image, const char *dir, cf_err **err)
{
  uint64_t limit = 0;
  cf_autofree char *mount_path = NULL;
  if (volume_limit(request, image->size, &limit, err) < 0 ||
      cf_storage_volume_create(storage, request->handle, image->chain_ids, image->layer_count,
                               limit, &mount_path, err) < 0) {
    return -1;
  }
  char **folders = NULL;
  if (cf_win_layer_folders(cf_storage_root(storage), image->chain_ids, image->layer_count, &folders,
                           err) < 0) {
    return -1;
  }
  cf_bundle bundle;
  cf_win_bundle_build(request, dir, mount_path, folders, image->layer_count, &bundle);
  cf_strv_free(folders, image->layer_count);
  const cf_hcs_api *api = NULL;
  int rc = cf_win_backend_hcs(backend, &api, err);
  if (rc == 0) {
    cf_wrt_context runtime = cf_win_backend_runtime(backend);
    rc = cf_wrt_container_create(&runtime, api, request->handle, &bundle, err);
  }
  cf_bundle_clear(&bundle);
  return rc;
}

/* Whether err reports a missing host API, in which case nothing of that
 * kind can exist on this host. */
static bool host_api_missing(const cf_err *err)
{
  return err != NULL && err->code == CF_E_NOT_IMPLEMENTED;
}

/* Deletes the compute system, its namespace and its runtime record. A
 * container without any of them is not an error. */
static int delete_system(cf_backend *backend, const char *handle, cf_err **err)
{
  const cf_hcs_api *api = NULL;
  cf_err *load_err = NULL;
  if (cf_win_backend_hcs(backend, &api, &load_err) < 0) {
    if (!host_api_missing(load_err)) {
      cf_err_free(*err);
      *err = load_err;
      return -1;
    }
    cf_err_free(load_err);
    return 0;
  }
  cf_wrt_context runtime = cf_win_backend_runtime(backend);
  return cf_wrt_container_delete(&runtime, api, handle, true, err);
}

static int delete_volume(cf_backend *backend, const char *handle, cf_err **err)
{
  cf_storage *storage = NULL;
  cf_err *open_err = NULL;
  if (cf_win_backend_storage(backend, &storage, &open_err) < 0) {
    if (!host_api_missing(open_err)) {
      cf_err_free(*err);
      *err = open_err;
      return -1;
    }
    cf_err_free(open_err);
    return 0;
  }
  return cf_storage_volume_destroy(storage, handle, err);
}

/* Removes the bundle directory, which stays empty because the bundle is
 * built in memory. A missing directory is not an error. */
static int remove_dir(const char *dir, cf_err **err)
{
  if (_rmdir(dir) < 0 && errno != ENOENT) {
    return cf_err_sys(err, errno, "remove container directory %s", dir);
  }
  return 0;
}

/* Removes what a failed create made, the record last, so a crash in
 * between leaves a record that the next start cleans up. */
static void undo_create(cf_backend *backend, const char *handle, const char *dir)
{
  cf_err *err = NULL;
  if (delete_system(backend, handle, &err) < 0) {
    cf_log_error("create.undo.delete-compute-system-failed", err, "{s:s}", "handle", handle);
    cf_err_clear(&err);
  }
  if (delete_volume(backend, handle, &err) < 0) {
    cf_log_error("create.undo.delete-volume-failed", err, "{s:s}", "handle", handle);
    cf_err_clear(&err);
  }
  if (remove_dir(dir, &err) < 0) {
    cf_log_error("create.undo.remove-dir-failed", err, "{s:s}", "handle", handle);
    cf_err_clear(&err);
  }
  if (cf_store_container_delete(backend->store, handle, &err) < 0) {
    cf_log_error("create.undo.delete-record-failed", err, "{s:s}", "handle", handle);
    cf_err_clear(&err);
  }
}

/* Fails before the pull when the Host Compute Service cannot be loaded:
 * on a host without the Containers feature, or under Wine. */
static int check_hcs(cf_backend *backend, const char *handle, cf_err **err)
{
  const cf_hcs_api *api = NULL;
  cf_err *hcs_err = NULL;
  if (cf_win_backend_hcs(backend, &api, &hcs_err) < 0) {
    cf_err_set(err, CF_E_NOT_IMPLEMENTED,
               "create container %s: the Host Compute Service is not available: %s", handle,
               hcs_err->message);
    cf_err_free(hcs_err);
    return -1;
  }
  return 0;
}

/* True when name, up to its first dot, is a device name that Windows
 * reserves in every directory. */
static bool is_reserved_name(const char *name)
{
  static const char *const devices[] = {"CON", "PRN", "AUX", "NUL"};
  size_t len = strcspn(name, ".");
  for (size_t i = 0; i < sizeof(devices) / sizeof(devices[0]); i++) {
    if (len == 3 && strncasecmp(name, devices[i], 3) == 0) {
      return true;
    }
  }
  return len == 4 && (strncasecmp(name, "COM", 3) == 0 || strncasecmp(name, "LPT", 3) == 0) &&
         name[3] >= '1' && name[3] <= '9';
}

/* Rejects a handle whose directories would be another container's, since
 * Windows file names ignore case and trailing dots and spaces, or a device
 * name. */
static int check_windows_handle(cf_backend *backend, const char *handle, cf_err **err)
{
  size_t len = strlen(handle);
  if (len > 0 && (handle[len - 1] == '.' || handle[len - 1] == ' ')) {
    return cf_err_set(err, CF_E_INVALID,
                      "handle \"%s\" ends with a dot or a space, which Windows file names drop: "
                      "choose another handle",
                      handle);
  }
  if (is_reserved_name(handle)) {
    return cf_err_set(err, CF_E_INVALID,
                      "handle \"%s\" is a Windows device name (CON, PRN, AUX, NUL, COM1 to COM9, "
                      "LPT1 to LPT9): choose another handle",
                      handle);
  }
  /* NOTE: two creates of handles that differ only in case can both pass
   * this check when they run at the same time. */
  char **handles = NULL;
  size_t count = 0;
  if (cf_store_container_list(backend->store, NULL, 0, &handles, &count, err) < 0) {
    return -1;
  }
  int rc = 0;
  for (size_t i = 0; i < count && rc == 0; i++) {
    if (strcasecmp(handles[i], handle) == 0 && strcmp(handles[i], handle) != 0) {
      rc = cf_err_set(err, CF_E_EXISTS,
                      "handle \"%s\" differs from the existing container %s only in letter case, "
                      "which Windows file names ignore: choose another handle",
                      handle, handles[i]);
    }
  }
  cf_strv_free(handles, count);
  return rc;
}

int cf_backend_create(cf_backend *backend, const cf_create_request *request, cf_err **err)
{
  if (check_windows_handle(backend, request->handle, err) < 0) {
    return cf_err_wrap(err, "create container %s", request->handle);
  }
  if (request->net_in_count > 0 || request->net_out_count > 0) {
    return cf_err_set(err, CF_E_NOT_IMPLEMENTED,
                      "create container %s: the Windows backend has no container network yet, so "
                      "NetIn and NetOut rules cannot be applied",
                      request->handle);
  }
  if (check_hcs(backend, request->handle, err) < 0) {
    return -1;
  }
  cf_autofree char *dir = cf_path_join(backend->containers_dir, request->handle);
  cf_storage *storage = NULL;
  cf_win_image image = {0};
  cf_pull_options pull = backend->options.pull;
  pull.username = request->username;
  pull.password = request->password;
  // As groot's create, the compressed layers count against a total disk
  // limit before any layer is read.
  uint64_t disk_quota = request->disk_scope == 1 ? 0 : (uint64_t)request->disk_limit;
  if (cf_win_backend_storage(backend, &storage, err) < 0 ||
      cf_win_image_pull(storage, request->image_uri, &pull, disk_quota, &image, err) < 0) {
    return cf_err_wrap(err, "create container %s", request->handle);
  }
  // A failed insert (such as a handle recorded by another server on the
  // same depot) made nothing that needs undoing.
  if (record_container(backend, request, &image, dir, err) < 0) {
    cf_win_image_clear(&image);
    return cf_err_wrap(err, "create container %s", request->handle);
  }
  int rc = cf_mkdir_p(dir, 0700, err);
  if (rc == 0) {
    rc = create_system(backend, request, storage, &image, dir, err);
  }
  if (rc == 0) {
    rc = mark_created(backend, request->handle, err);
  }
  cf_win_image_clear(&image);
  if (rc < 0) {
    undo_create(backend, request->handle, dir);
    return cf_err_wrap(err, "create container %s", request->handle);
  }
  return 0;
}

int cf_backend_destroy(cf_backend *backend, const char *handle, cf_err **err)
{
  cf_container_record record = {0};
  if (cf_store_container_get(backend->store, handle, &record, err) < 0) {
    return -1;
  }
  int rc = cf_store_container_set_state(backend->store, handle, CF_CONTAINER_DESTROYING, err);
  if (rc == 0) {
    rc = delete_system(backend, handle, err);
  }
  if (rc == 0) {
    rc = delete_volume(backend, handle, err);
  }
  if (rc == 0) {
    rc = remove_dir(record.dir, err);
  }
  if (rc == 0) {
    rc = cf_store_container_delete(backend->store, handle, err);
  }
  cf_container_record_clear(&record);
  return rc < 0 ? cf_err_wrap(err, "destroy container %s", handle) : 0;
}

/* Fails with CF_E_NOT_FOUND unless the store has a record of handle. */
static int check_known(cf_backend *backend, const char *handle, cf_err **err)
{
  cf_container_record record;
  if (cf_store_container_get(backend->store, handle, &record, err) < 0) {
    return -1;
  }
  cf_container_record_clear(&record);
  return 0;
}

int cf_backend_disk_limits(cf_backend *backend, const char *handle, int64_t *limit, int *scope,
                           cf_err **err)
{
  *limit = 0;
  *scope = 0;
  return check_known(backend, handle, err);
}

int cf_backend_limits(cf_backend *backend, const char *handle, cf_limits_record *out, cf_err **err)
{
  memset(out, 0, sizeof(*out));
  return cf_store_limits_get(backend->store, handle, out, err);
}

/* Reads the compute system's statistics into usage, as winc's `events
 * --stats` reports them: processor times in ns, the memory commit as
 * memory usage and RSS, the process count as pids. */
static int read_usage(cf_backend *backend, const char *handle, cf_container_usage *usage,
                      cf_err **err)
{
  const cf_hcs_api *api = NULL;
  cf_hcs_system *system = NULL;
  if (cf_win_backend_hcs(backend, &api, err) < 0 ||
      cf_hcs_system_open(api, handle, &system, err) < 0) {
    return -1;
  }
  cf_hcs_stats stats;
  int rc = cf_hcs_system_stats(system, &stats, err);
  cf_hcs_system_close(system);
  if (rc < 0) {
    return -1;
  }
  usage->cpu_total_ns = stats.total_runtime_100ns * 100;
  usage->cpu_kernel_ns = stats.runtime_kernel_100ns * 100;
  usage->cpu_user_ns = stats.runtime_user_100ns * 100;
  usage->memory_usage = stats.memory_commit_bytes;
  usage->memory_rss = stats.memory_commit_bytes;
  usage->pids = stats.process_count;
  return 0;
}

/* NOTE: the backend reads no out-of-memory kills from HCS (winc's events
 * report none either), so it never records CF_EVENT_OUT_OF_MEMORY. */
int cf_backend_check_usage(cf_backend *backend, const char *handle, cf_container_usage *usage,
                           cf_err **err)
{
  if (usage != NULL) {
    memset(usage, 0, sizeof(*usage));
  }
  if (check_known(backend, handle, err) < 0) {
    return -1;
  }
  return usage != NULL ? read_usage(backend, handle, usage, err) : 0;
}

int cf_backend_metrics_get(cf_backend *backend, const char *handle, cf_backend_metrics *out,
                           cf_err **err)
{
  memset(out, 0, sizeof(*out));
  cf_container_record record = {0};
  if (cf_store_container_get(backend->store, handle, &record, err) < 0) {
    return -1;
  }
  out->age_ns = now_ns() - record.created_at_ns;
  cf_container_record_clear(&record);
  if (cf_store_limits_get(backend->store, handle, &out->limits, err) < 0 ||
      read_usage(backend, handle, &out->usage, err) < 0) {
    return cf_err_wrap(err, "metrics of container %s", handle);
  }
  out->usage.memory_limit = out->limits.memory_bytes;
  return 0;
}

/* Whether the container handle was fully created and its compute system
 * still exists. */
static bool container_alive(cf_backend *backend, const char *handle)
{
  cf_container_record record = {0};
  if (cf_store_container_get(backend->store, handle, &record, NULL) < 0) {
    return false;
  }
  bool created = strcmp(record.state, CF_CONTAINER_CREATED) == 0;
  cf_container_record_clear(&record);
  if (!created) {
    return false;
  }
  /* Only a compute system that is known to be gone makes a container dead:
   * a host error at start must not destroy healthy containers. */
  const cf_hcs_api *api = NULL;
  cf_err *err = NULL;
  if (cf_win_backend_hcs(backend, &api, &err) < 0) {
    cf_log_error("reconcile.kept-unchecked", err, "{s:s}", "handle", handle);
    cf_err_free(err);
    return true;
  }
  cf_wrt_context runtime = cf_win_backend_runtime(backend);
  cf_wrt_container container;
  if (cf_wrt_container_get(&runtime, api, handle, &container, &err) == 0) {
    cf_wrt_container_clear(&container);
    return true;
  }
  bool system_missing = err->code == CF_E_NOT_FOUND;
  if (!system_missing) {
    cf_log_error("reconcile.kept-unchecked", err, "{s:s}", "handle", handle);
  }
  cf_err_free(err);
  return !system_missing;
}

/* Keeps the containers that were fully created and whose compute system
 * exists, unless destroy_all, and destroys the others. */
int cf_backend_reconcile(cf_backend *backend, bool destroy_all, char ***kept, size_t *kept_count,
                         cf_err **err)
{
  char **handles = NULL;
  size_t count = 0;
  *kept = NULL;
  *kept_count = 0;
  if (cf_store_container_list(backend->store, NULL, 0, &handles, &count, err) < 0) {
    return cf_err_wrap(err, "reconcile depot %s", backend->depot);
  }
  char **keep = cf_xcalloc(count + 1, sizeof(char *));
  size_t keep_count = 0;
  for (size_t i = 0; i < count; i++) {
    if (!destroy_all && container_alive(backend, handles[i])) {
      keep[keep_count++] = cf_xstrdup(handles[i]);
      continue;
    }
    cf_err *destroy_err = NULL;
    if (cf_backend_destroy(backend, handles[i], &destroy_err) < 0) {
      cf_log_error("reconcile.destroy-failed", destroy_err, "{s:s}", "handle", handles[i]);
      cf_err_free(destroy_err);
      continue;
    }
    cf_log(CF_LOG_INFO, "reconcile.destroyed", "{s:s}", "handle", handles[i]);
  }
  cf_strv_free(handles, count);
  *kept = keep;
  *kept_count = keep_count;
  return 0;
}

const cf_backend_network *cf_backend_get_network(const cf_backend *backend)
{
  return NULL;
}

int cf_backend_net_in(cf_backend *backend, const char *handle, cf_net_mapping *mapping,
                      cf_err **err)
{
  return cf_err_set(err, CF_E_NOT_IMPLEMENTED,
                    "net in for container %s: the Windows backend has no container network yet",
                    handle);
}

int cf_backend_net_out(cf_backend *backend, const char *handle, const cf_net_rule *rules,
                       size_t count, cf_err **err)
{
  return cf_err_set(err, CF_E_NOT_IMPLEMENTED,
                    "net out for container %s: the Windows backend has no container network yet",
                    handle);
}
