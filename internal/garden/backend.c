/* SPDX-License-Identifier: Apache-2.0 */
#include "garden/backend.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/log.h"
#include "base/mem.h"
#include "garden/backend_internal.h"
#include "garden/bind_mounts.h"
#include "garden/limits.h"
#include "image/volume.h"
#include "keeper/keeper.h"

int cf_backend_open(const char *depot, const cf_backend_options *options, cf_backend **out,
                    cf_err **err)
{
  cf_backend *backend = cf_xcalloc(1, sizeof(*backend));
  backend->options = options != NULL ? *options : (cf_backend_options){.gc_threshold_bytes = -1};
  backend->depot = cf_xstrdup(depot);
  backend->containers_dir = cf_path_join(depot, "containers");
  backend->volumes_dir = cf_path_join(depot, "volumes");
  backend->keepers_dir = cf_path_join(depot, "keepers");
  pthread_mutex_init(&backend->ports_lock, NULL);
  pthread_mutex_init(&backend->peas_lock, NULL);
  if (cf_mkdir_p(backend->containers_dir, 0700, err) < 0 ||
      cf_mkdir_p(backend->keepers_dir, 0700, err) < 0 ||
      cf_store_open(depot, &backend->store, err) < 0 ||
      cf_image_store_open(depot, backend->store, &backend->images, err) < 0) {
    cf_backend_close(backend);
    return cf_err_wrap(err, "open depot %s", depot);
  }
  if (cf_backend_net_open(backend, err) < 0) {
    cf_backend_close(backend);
    return -1;
  }
  *out = backend;
  return 0;
}

void cf_backend_close(cf_backend *backend)
{
  if (backend == NULL) {
    return;
  }
  cf_backend_net_close(backend);
  cf_backend_peas_free(backend);
  pthread_mutex_destroy(&backend->ports_lock);
  pthread_mutex_destroy(&backend->peas_lock);
  cf_image_store_close(backend->images);
  cf_store_close(backend->store);
  free(backend->containers_dir);
  free(backend->volumes_dir);
  free(backend->keepers_dir);
  free(backend->depot);
  free(backend);
}

cf_store *cf_backend_store(cf_backend *backend)
{
  return backend->store;
}

static int64_t now_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The container's environment: the image's Env, then the create request's. */
static char *env_json(const cf_image *image, const cf_create_request *request)
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

static int record_container(cf_backend *backend, const cf_create_request *request,
                            const cf_image *image, const char *dir, cf_err **err)
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
  if (cf_store_container_insert(backend->store, &record, err) < 0) {
    cf_store_rollback(backend->store);
    return -1;
  }
  for (size_t i = 0; i < request->property_count; i++) {
    if (cf_store_property_set(backend->store, request->handle, request->properties[i].key,
                              request->properties[i].value, err) < 0) {
      cf_store_rollback(backend->store);
      return -1;
    }
  }
  cf_autofree char *grace = cf_xasprintf("%lld", (long long)request->grace_time_ns);
  if (cf_store_property_set(backend->store, request->handle, "garden.grace-time", grace, err) < 0) {
    cf_store_rollback(backend->store);
    return -1;
  }
  if (request->limits != NULL &&
      cf_store_limits_set(backend->store, request->handle, request->limits, err) < 0) {
    cf_store_rollback(backend->store);
    return -1;
  }
  return cf_store_commit(backend->store, err);
}

cf_rootfs_spec cf_backend_volume_rootfs(const cf_volume *volume)
{
  return (cf_rootfs_spec){
      .lower_dirs = (const char *const *)volume->layer_dirs,
      .lower_count = volume->layer_count,
      .upper_dir = volume->upper,
      .work_dir = volume->work,
      .target = volume->target,
      .upper_device = volume->device,
      .upper_fs_type = volume->fs_type,
      .upper_mount_dir = volume->mount_dir,
  };
}

/* Starts the init with the request's limits, privilege and bind mounts. No
 * user namespace maps are given, so the container shares the host's user
 * ids. */
static int start_init(const cf_create_request *request, const cf_volume *volume,
                      cf_container_init *init, cf_err **err)
{
  const char *handle = request->handle;
  char hostname[64];
  cf_runtime_hostname(handle, hostname);
  cf_container_spec spec = {
      .handle = handle,
      .hostname = hostname,
      .rootfs = cf_backend_volume_rootfs(volume),
  };
  if (request->limits != NULL) {
    cf_limits_to_runtime(request->limits, &spec.limits);
    spec.privileged = request->limits->privileged;
  }
  /* Without bind mounts the runtime makes its fixed /proc, /dev and /sys;
   * with them the whole list is given. */
  cf_mount_list mounts = {0};
  if (request->bind_mount_count > 0) {
    if (cf_mount_list_build(request->bind_mounts, request->bind_mount_count, &mounts, err) < 0) {
      return -1;
    }
    spec.own_mounts = true;
    spec.mounts = mounts.mounts;
    spec.mount_count = mounts.count;
  }
  int rc = cf_runtime_container_create(&spec, init, err);
  cf_mount_list_free(&mounts);
  return rc;
}

static int mark_created(cf_backend *backend, const char *handle, const cf_container_init *init,
                        cf_err **err)
{
  if (cf_store_begin(backend->store, err) < 0) {
    return -1;
  }
  if (cf_store_container_set_init(backend->store, handle, init->pid, init->start_time, err) < 0 ||
      cf_store_property_set(backend->store, handle, "garden.state", "created", err) < 0 ||
      cf_store_container_set_state(backend->store, handle, CF_CONTAINER_CREATED, err) < 0) {
    cf_store_rollback(backend->store);
    return -1;
  }
  return cf_store_commit(backend->store, err);
}

/* Removes what a failed create made; the container's record goes last so a
 * crash in between leaves a record that the next start cleans up. */
static void undo_create(cf_backend *backend, const char *handle, const char *dir,
                        const cf_container_init *init, bool recorded)
{
  cf_err *err = NULL;
  if (init != NULL && init->pid > 0 && cf_runtime_container_destroy(init, &err) < 0) {
    cf_log_error("create.undo.kill-init-failed", err, "{s:s}", "handle", handle);
    cf_err_clear(&err);
  }
  if (cf_backend_net_down(backend, handle, &err) < 0) {
    cf_log_error("create.undo.network-down-failed", err, "{s:s}", "handle", handle);
    cf_err_clear(&err);
  }
  if (cf_volume_delete(backend->images, handle, NULL, &err) < 0) {
    cf_log_error("create.undo.delete-volume-failed", err, "{s:s}", "handle", handle);
    cf_err_clear(&err);
  }
  if (cf_rm_rf(dir, &err) < 0) {
    cf_log_error("create.undo.remove-dir-failed", err, "{s:s}", "handle", handle);
    cf_err_clear(&err);
  }
  if (recorded && cf_store_container_delete(backend->store, handle, &err) < 0) {
    cf_log_error("create.undo.delete-record-failed", err, "{s:s}", "handle", handle);
    cf_err_clear(&err);
  }
}

static cf_pull_options pull_options(const cf_backend *backend)
{
  return backend->options.pull;
}

int cf_backend_pull(cf_backend *backend, const char *uri, cf_err **err)
{
  cf_pull_options pull = pull_options(backend);
  cf_image image = {0};
  int rc = cf_image_source_pull(backend->images, uri, &pull, &image, err);
  cf_image_clear(&image);
  return rc;
}

/* The bytes of all unpacked layers, as the store records them. */
static int64_t layer_store_bytes(cf_backend *backend)
{
  char **chain_ids = NULL;
  size_t count = 0;
  int64_t total = 0;
  if (cf_store_layer_list(backend->store, &chain_ids, &count, NULL) < 0) {
    return 0;
  }
  for (size_t i = 0; i < count; i++) {
    cf_layer_record record = {0};
    if (cf_store_layer_get(backend->store, chain_ids[i], &record, NULL) == 0) {
      total += record.size;
      cf_layer_record_clear(&record);
    }
  }
  cf_strv_free(chain_ids, count);
  return total;
}

/* Removes layers no volume uses once the store is over the threshold. */
static void collect_layers(cf_backend *backend)
{
  int64_t threshold = backend->options.gc_threshold_bytes;
  if (threshold < 0) {
    return;
  }
  int64_t bytes = layer_store_bytes(backend);
  if (bytes <= threshold) {
    return;
  }
  size_t removed = 0;
  cf_err *err = NULL;
  if (cf_image_gc(backend->images, &removed, &err) < 0) {
    cf_log_error("gc.failed", err, "{s:I}", "layer-bytes", (json_int_t)bytes);
    cf_err_free(err);
    return;
  }
  cf_log(CF_LOG_INFO, "gc.done", "{s:I, s:I, s:i}", "layer-bytes", (json_int_t)bytes,
         "threshold-bytes", (json_int_t)threshold, "removed-layers", (int)removed);
}

int cf_backend_create(cf_backend *backend, const cf_create_request *request, cf_err **err)
{
  cf_image image = {0};
  cf_volume volume = {0};
  cf_container_init init = {0};
  bool recorded = false;
  cf_autofree char *dir = cf_path_join(backend->containers_dir, request->handle);

  cf_pull_options pull = pull_options(backend);
  pull.username = request->username;
  pull.password = request->password;
  if (cf_image_source_pull(backend->images, request->image_uri, &pull, &image, err) < 0) {
    goto fail;
  }
  if (record_container(backend, request, &image, dir, err) < 0) {
    goto fail;
  }
  recorded = true;
  cf_volume_request volume_request = {
      .handle = request->handle,
      .image_uri = request->image_uri,
      .image = &image,
      .disk_limit = request->disk_limit,
      .scope = request->disk_scope == 1 ? CF_DISK_SCOPE_EXCLUSIVE : CF_DISK_SCOPE_TOTAL,
  };
  if (cf_mkdir_p(dir, 0700, err) < 0 ||
      cf_volume_create_pulled(backend->images, request->image_uri, &pull, &volume_request, &image,
                              &volume, err) < 0) {
    goto fail;
  }
  if (start_init(request, &volume, &init, err) < 0) {
    cf_err_wrap(err, "start container");
    goto fail;
  }
  if (cf_backend_net_up(backend, request, init.pid, err) < 0) {
    goto fail;
  }
  if (mark_created(backend, request->handle, &init, err) < 0) {
    goto fail;
  }
  cf_image_clear(&image);
  cf_volume_clear(&volume);
  return 0;

fail:
  undo_create(backend, request->handle, dir, &init, recorded);
  cf_image_clear(&image);
  cf_volume_clear(&volume);
  return -1;
}

static void end_keepers(cf_backend *backend, const char *handle);

int cf_backend_destroy(cf_backend *backend, const char *handle, cf_err **err)
{
  cf_container_record record = {0};
  if (cf_store_container_get(backend->store, handle, &record, err) < 0) {
    return -1;
  }
  int rc = -1;
  if (cf_store_container_set_state(backend->store, handle, CF_CONTAINER_DESTROYING, err) < 0) {
    goto out;
  }
  cf_backend_peas_destroy_all(backend, handle);
  cf_container_init init = {.pid = (pid_t)record.init_pid, .start_time = record.init_start_time};
  if (init.pid > 0 && cf_runtime_container_destroy(&init, err) < 0) {
    cf_err_wrap(err, "stop container processes");
    goto out;
  }
  end_keepers(backend, handle);
  if (cf_backend_net_down(backend, handle, err) < 0) {
    cf_err_wrap(err, "delete the network endpoint of container %s", handle);
    goto out;
  }
  if (cf_volume_delete(backend->images, handle, NULL, err) < 0 || cf_rm_rf(record.dir, err) < 0) {
    goto out;
  }
  rc = cf_store_container_delete(backend->store, handle, err);
  if (rc == 0) {
    collect_layers(backend);
  }
out:
  cf_container_record_clear(&record);
  return rc;
}

int cf_backend_disk_limits(cf_backend *backend, const char *handle, int64_t *limit, int *scope,
                           cf_err **err)
{
  *limit = 0;
  *scope = 0;
  cf_volume_record record;
  cf_err *get_err = NULL;
  if (cf_store_volume_get(backend->store, handle, &record, &get_err) == 0) {
    *limit = record.disk_limit;
    *scope = record.scope;
    cf_volume_record_clear(&record);
    return 0;
  }
  bool unknown = get_err->code == CF_E_NOT_FOUND;
  cf_err_free(get_err);
  if (!unknown) {
    return cf_err_set(err, CF_E_SYSTEM, "read the disk limits of %s", handle);
  }
  /* A container without a volume record has no limit; an unknown handle is
   * an error. */
  cf_container_record container = {0};
  if (cf_store_container_get(backend->store, handle, &container, err) < 0) {
    return -1;
  }
  cf_container_record_clear(&container);
  return 0;
}

int cf_backend_limits(cf_backend *backend, const char *handle, cf_limits_record *out, cf_err **err)
{
  return cf_store_limits_get(backend->store, handle, out, err);
}

int cf_backend_check_usage(cf_backend *backend, const char *handle, cf_container_usage *usage,
                           cf_err **err)
{
  uint64_t oom_kills = 0;
  if (usage == NULL) {
    /* Info needs only the OOM kill count, which is in one cgroup file. */
    if (cf_runtime_container_oom_kills(handle, &oom_kills, err) < 0) {
      return cf_err_wrap(err, "read the OOM kill count of container %s", handle);
    }
  } else {
    if (cf_runtime_container_usage(handle, usage, err) < 0) {
      return cf_err_wrap(err, "read cgroup usage of container %s", handle);
    }
    oom_kills = usage->memory_oom_kills;
  }
  if (oom_kills == 0) {
    return 0;
  }
  bool added = false;
  if (cf_store_event_add(backend->store, handle, CF_EVENT_OUT_OF_MEMORY, &added, err) < 0) {
    return -1;
  }
  if (added) {
    cf_log(CF_LOG_INFO, "container.out-of-memory", "{s:s, s:I}", "handle", handle, "oom-kills",
           (json_int_t)oom_kills);
  }
  return 0;
}

int cf_backend_metrics_get(cf_backend *backend, const char *handle, cf_backend_metrics *out,
                           cf_err **err)
{
  memset(out, 0, sizeof(*out));
  cf_container_record record = {0};
  if (cf_store_container_get(backend->store, handle, &record, err) < 0) {
    return -1;
  }
  int64_t created_at_ns = record.created_at_ns;
  cf_container_init init = {.pid = (pid_t)record.init_pid, .start_time = record.init_start_time};
  cf_container_record_clear(&record);
  if (cf_store_limits_get(backend->store, handle, &out->limits, err) < 0 ||
      cf_backend_check_usage(backend, handle, &out->usage, err) < 0 ||
      cf_backend_net_metrics(backend, &init, out, err) < 0) {
    return -1;
  }
  if (cf_volume_stats_get(backend->images, handle, &out->disk, err) < 0) {
    return cf_err_wrap(err, "read disk usage of container %s", handle);
  }
  int64_t age = now_ns() - created_at_ns;
  out->age_ns = age > 0 ? age : 0;
  return 0;
}

static int load_env(const char *text, json_t **env, cf_err **err)
{
  json_error_t jerr;
  *env = json_loads(text != NULL ? text : "[]", 0, &jerr);
  if (*env == NULL || !json_is_array(*env)) {
    json_decref(*env);
    return cf_err_set(err, CF_E_INVALID, "stored environment is not a JSON array: %s", jerr.text);
  }
  return 0;
}

/* Returns whether two "NAME=value" entries set the same variable. An
 * entry without '=' is its own name. */
static bool env_same_name(const char *a, const char *b)
{
  size_t a_len = strcspn(a, "=");
  return a_len == strcspn(b, "=") && strncmp(a, b, a_len) == 0;
}

/* The process's environment: the container's (image, then container
 * spec), then the process spec's own. A variable set more than once keeps
 * only its last entry, so the process's value replaces the container's and
 * the container spec's replaces the image's. The strings are borrowed from
 * stored_env and spec; free the array with free(). */
static const char **merge_env(const json_t *stored_env, const cf_process_spec *spec, size_t *count)
{
  size_t stored_count = json_array_size(stored_env);
  size_t all_count = stored_count + spec->env_count;
  cf_autofree const char **all = cf_xcalloc(all_count + 1, sizeof(*all));
  for (size_t i = 0; i < stored_count; i++) {
    all[i] = json_string_value(json_array_get(stored_env, i));
  }
  for (size_t i = 0; i < spec->env_count; i++) {
    all[stored_count + i] = spec->env[i];
  }
  const char **env = cf_xcalloc(all_count + 1, sizeof(*env));
  size_t n = 0;
  for (size_t i = 0; i < all_count; i++) {
    /* A stored entry that is not a JSON string has no value to pass on. */
    bool skip = all[i] == NULL;
    for (size_t later = i + 1; later < all_count && !skip; later++) {
      skip = all[later] != NULL && env_same_name(all[i], all[later]);
    }
    if (!skip) {
      env[n++] = all[i];
    }
  }
  *count = n;
  return env;
}

void cf_backend_process_clear(cf_backend_process *process)
{
  free(process->socket_path);
  cf_closep(&process->keeper_fd);
  *process = (cf_backend_process){.keeper_fd = -1};
}

/* A new socket path under <depot>/keepers, short enough for sun_path in
 * most depots; a random name, because pids are reused. */
static int new_socket_path(cf_backend *backend, char **path, cf_err **err)
{
  char name[17];
  if (cf_random_hex(name, 8, err) < 0) {
    return -1;
  }
  *path = cf_xasprintf("%s/%s.sock", backend->keepers_dir, name);
  return 0;
}

/* Ends a keeper whose process could not be handed to the server: kills
 * the process, waits for the keeper, removes its socket and record. */
static void abandon_keeper(cf_backend *backend, const cf_process_record *record)
{
  cf_runtime_pid_signal((pid_t)record->pid, record->start_time, SIGKILL, NULL);
  cf_err *err = NULL;
  if (cf_keeper_end((pid_t)record->keeper_pid, record->keeper_start_time, 2000, &err) < 0) {
    cf_log_error("run.end-keeper-failed", err, "{s:s, s:s}", "handle", record->handle, "process",
                 record->id);
    cf_err_free(err);
  }
  unlink(record->socket_path);
  cf_store_process_delete(backend->store, record->handle, record->id, NULL);
}

/* Spawns the keeper for the recorded process and records its pids. */
static int spawn_keeper(cf_backend *backend, const cf_keeper_request *request,
                        cf_process_record *record, cf_backend_process *out, cf_err **err)
{
  cf_keeper_started started;
  if (cf_keeper_spawn(request, &started, err) < 0) {
    cf_store_process_delete(backend->store, record->handle, record->id, NULL);
    return -1;
  }
  record->pid = started.pid;
  record->start_time = started.start_time;
  record->keeper_pid = started.keeper_pid;
  record->keeper_start_time = started.keeper_start_time;
  if (cf_store_process_set_keeper(backend->store, record, err) < 0 ||
      cf_keeper_connect(record->socket_path, &out->keeper_fd, err) < 0) {
    abandon_keeper(backend, record);
    return -1;
  }
  out->pid = started.pid;
  out->start_time = started.start_time;
  out->keeper_pid = started.keeper_pid;
  out->keeper_start_time = started.keeper_start_time;
  out->socket_path = cf_xstrdup(record->socket_path);
  return 0;
}

/* The rlimits array of an OCI config, borrowed; NULL when it has none. */
static json_t *config_rlimits(const void *oci_config)
{
  json_t *process = json_object_get(oci_config, "process");
  return json_object_get(process, "rlimits");
}

int cf_backend_exec(cf_backend *backend, const char *handle, const char *id,
                    const cf_process_spec *spec, const cf_container_init *target,
                    cf_backend_process *out, cf_err **err)
{
  *out = (cf_backend_process){.keeper_fd = -1};
  cf_container_record container = {0};
  if (cf_store_container_get(backend->store, handle, &container, err) < 0) {
    return -1;
  }
  /* Processes get the container's privilege, as its init did. */
  cf_limits_record limits;
  bool privileged =
      cf_store_limits_get(backend->store, handle, &limits, NULL) == 0 && limits.privileged;
  json_t *stored_env = NULL;
  cf_autofree char *socket_path = NULL;
  /* A process in a pea (target given) gets its pea image's env, which the
   * caller puts in spec->env, instead of the container's. */
  const char *container_env = target != NULL ? NULL : container.env_json;
  if (load_env(container_env, &stored_env, err) < 0 ||
      new_socket_path(backend, &socket_path, err) < 0) {
    json_decref(stored_env);
    cf_container_record_clear(&container);
    return -1;
  }
  size_t env_count = 0;
  cf_autofree const char **env = merge_env(stored_env, spec, &env_count);
  cf_keeper_request request = {
      .socket_path = socket_path,
      .handle = (char *)handle,
      .id = (char *)id,
      .init = target != NULL ? *target
                             : (cf_container_init){.pid = (pid_t)container.init_pid,
                                                   .start_time = container.init_start_time},
      .path = (char *)spec->path,
      .args = (char **)spec->args,
      .arg_count = spec->arg_count,
      .env = (char **)env,
      .env_count = env_count,
      .dir = (char *)spec->dir,
      .user = (char *)spec->user,
      .privileged = privileged,
      .tty = spec->terminal,
      .rows = spec->terminal_rows,
      .columns = spec->terminal_columns,
      .rlimits = config_rlimits(spec->oci_config),
  };
  cf_process_record record = {
      .id = (char *)id,
      .handle = (char *)handle,
      .state = CF_PROCESS_RUNNING,
      .created_at_ns = now_ns(),
      .socket_path = socket_path,
      .tty = spec->terminal,
  };
  /* The record comes first, so a duplicate id fails before anything runs
   * and a crash after the spawn leaves a record that names the keeper's
   * socket. */
  int rc = cf_store_process_insert(backend->store, &record, err);
  if (rc == 0) {
    rc = spawn_keeper(backend, &request, &record, out, err);
  }
  json_decref(stored_env);
  cf_container_record_clear(&container);
  return rc;
}

int cf_backend_process_records(cf_backend *backend, const char *handle, cf_process_record **records,
                               size_t *count, cf_err **err)
{
  *records = NULL;
  *count = 0;
  char **ids = NULL;
  size_t id_count = 0;
  if (cf_store_process_list(backend->store, handle, &ids, &id_count, err) < 0) {
    return -1;
  }
  cf_process_record *list = cf_xcalloc(id_count + 1, sizeof(*list));
  size_t n = 0;
  for (size_t i = 0; i < id_count; i++) {
    if (cf_store_process_get(backend->store, handle, ids[i], &list[n], NULL) == 0) {
      n++;
    }
  }
  cf_strv_free(ids, id_count);
  *records = list;
  *count = n;
  return 0;
}

void cf_backend_process_records_free(cf_process_record *records, size_t count)
{
  for (size_t i = 0; records != NULL && i < count; i++) {
    cf_process_record_clear(&records[i]);
  }
  free(records);
}

int cf_backend_process_remove(cf_backend *backend, const char *handle, const char *id, cf_err **err)
{
  cf_process_record record = {0};
  if (cf_store_process_get(backend->store, handle, id, &record, err) < 0) {
    return -1;
  }
  if (record.socket_path != NULL && unlink(record.socket_path) < 0 && errno != ENOENT) {
    cf_log(CF_LOG_INFO, "run.remove-keeper-socket-failed", "{s:s, s:s}", "socket",
           record.socket_path, "error", strerror(errno));
  }
  cf_process_record_clear(&record);
  return cf_store_process_delete(backend->store, handle, id, err);
}

/* Ends the keepers of a container whose init is gone: each one exits on
 * its own once it sees that, so this waits briefly before it kills. */
static void end_keepers(cf_backend *backend, const char *handle)
{
  cf_process_record *records = NULL;
  size_t count = 0;
  if (cf_backend_process_records(backend, handle, &records, &count, NULL) < 0) {
    return;
  }
  for (size_t i = 0; i < count; i++) {
    cf_err *err = NULL;
    if (records[i].keeper_pid > 0 &&
        cf_keeper_end((pid_t)records[i].keeper_pid, records[i].keeper_start_time, 2000, &err) < 0) {
      cf_log_error("destroy.end-keeper-failed", err, "{s:s, s:s}", "handle", handle, "process",
                   records[i].id);
      cf_err_free(err);
    }
    /* Without a pid the spawn was still running: that keeper sees its
     * init gone and removes its own socket. */
    if (records[i].socket_path != NULL && records[i].keeper_pid > 0) {
      unlink(records[i].socket_path);
    }
  }
  cf_backend_process_records_free(records, count);
}

static bool should_keep(const cf_container_record *record, bool destroy_all)
{
  /* A stopped container keeps its init (Stop spares it), so it stays too. */
  bool complete = strcmp(record->state, CF_CONTAINER_CREATED) == 0 ||
                  strcmp(record->state, CF_CONTAINER_STOPPED) == 0;
  if (destroy_all || !complete) {
    return false;
  }
  cf_container_init init = {.pid = (pid_t)record->init_pid, .start_time = record->init_start_time};
  return init.pid > 0 && cf_runtime_container_alive(&init);
}

/* Keeps the records of processes whose keeper is alive, so the server
 * can reconnect to them, and removes the others with their sockets. A
 * record without a keeper pid is from a crash during a spawn: its keeper
 * may still run, so its socket stays for sweep_keepers() to end it. */
static void drop_dead_process_records(cf_backend *backend, const char *handle)
{
  cf_process_record *records = NULL;
  size_t count = 0;
  cf_err *err = NULL;
  if (cf_backend_process_records(backend, handle, &records, &count, &err) < 0) {
    cf_log_error("reconcile.list-processes-failed", err, "{s:s}", "handle", handle);
    cf_err_free(err);
    return;
  }
  for (size_t i = 0; i < count; i++) {
    const cf_process_record *record = &records[i];
    if (cf_keeper_alive((pid_t)record->keeper_pid, record->keeper_start_time)) {
      continue;
    }
    cf_log(CF_LOG_INFO, "reconcile.process-keeper-gone", "{s:s, s:s}", "handle", handle, "process",
           record->id);
    if (record->socket_path != NULL && record->keeper_pid > 0) {
      unlink(record->socket_path);
    }
    if (cf_store_process_delete(backend->store, handle, record->id, &err) < 0) {
      cf_log_error("reconcile.delete-process-failed", err, "{s:s}", "handle", handle);
      cf_err_clear(&err);
    }
  }
  cf_backend_process_records_free(records, count);
}

static int reconcile_one(cf_backend *backend, const char *handle, bool destroy_all, bool *kept,
                         pid_t *init_pid, cf_err **err)
{
  cf_container_record record = {0};
  if (cf_store_container_get(backend->store, handle, &record, err) < 0) {
    return -1;
  }
  *kept = should_keep(&record, destroy_all);
  *init_pid = (pid_t)record.init_pid;
  cf_container_record_clear(&record);
  if (*kept) {
    drop_dead_process_records(backend, handle);
    return 0;
  }
  cf_log(CF_LOG_INFO, "reconcile.destroying", "{s:s}", "handle", handle);
  return cf_backend_destroy(backend, handle, err);
}

/* Deletes volumes whose container record is gone, for example after a
 * crash between deleting the volume's container and its volume. */
static void delete_orphan_volumes(cf_backend *backend)
{
  char **handles = NULL;
  size_t count = 0;
  cf_err *err = NULL;
  if (cf_volume_list(backend->images, &handles, &count, &err) < 0) {
    cf_log_error("reconcile.list-volumes-failed", err, NULL);
    cf_err_free(err);
    return;
  }
  for (size_t i = 0; i < count; i++) {
    cf_container_record record = {0};
    if (cf_store_container_get(backend->store, handles[i], &record, NULL) == 0) {
      cf_container_record_clear(&record);
      continue;
    }
    cf_log(CF_LOG_INFO, "reconcile.deleting-volume", "{s:s}", "handle", handles[i]);
    if (cf_volume_delete(backend->images, handles[i], NULL, &err) < 0) {
      cf_log_error("reconcile.delete-volume-failed", err, "{s:s}", "handle", handles[i]);
      cf_err_clear(&err);
    }
  }
  cf_strv_free(handles, count);
}

/* True when a kept process record names path. */
static bool socket_in_use(cf_backend *backend, char *const *handles, size_t count, const char *path)
{
  bool found = false;
  for (size_t i = 0; i < count && !found; i++) {
    cf_process_record *records = NULL;
    size_t record_count = 0;
    if (cf_backend_process_records(backend, handles[i], &records, &record_count, NULL) < 0) {
      continue;
    }
    for (size_t j = 0; j < record_count && !found; j++) {
      found = records[j].socket_path != NULL && strcmp(records[j].socket_path, path) == 0;
    }
    cf_backend_process_records_free(records, record_count);
  }
  return found;
}

/* Tells a keeper no record names to kill its process and end, for example
 * one a crash left between its spawn and its record. */
static void end_orphan_keeper(const char *path)
{
  int fd = -1;
  if (cf_keeper_connect(path, &fd, NULL) == 0) {
    cf_buf frames;
    cf_buf_init(&frames, 64);
    cf_keeper_frame_append_u32(&frames, CF_KEEPER_SIGNAL, SIGKILL, NULL);
    cf_keeper_frame_append(&frames, CF_KEEPER_RELEASE, NULL, 0, NULL);
    cf_write_all(fd, frames.data, frames.len, NULL);
    cf_buf_free(&frames);
    close(fd);
  }
  unlink(path);
}

/* Removes keeper sockets that no kept process record names. */
static void sweep_keepers(cf_backend *backend, char *const *kept, size_t kept_count)
{
  DIR *dir = opendir(backend->keepers_dir);
  if (dir == NULL) {
    return;
  }
  struct dirent *entry;
  while ((entry = readdir(dir)) != NULL) {
    if (entry->d_name[0] == '.') {
      continue;
    }
    cf_autofree char *path = cf_path_join(backend->keepers_dir, entry->d_name);
    if (!socket_in_use(backend, kept, kept_count, path)) {
      cf_log(CF_LOG_INFO, "reconcile.ending-orphan-keeper", "{s:s}", "socket", path);
      end_orphan_keeper(path);
    }
  }
  closedir(dir);
}

int cf_backend_reconcile(cf_backend *backend, bool destroy_all, char ***kept, size_t *kept_count,
                         cf_err **err)
{
  char **handles = NULL;
  size_t count = 0;
  if (cf_store_container_list(backend->store, NULL, 0, &handles, &count, err) < 0) {
    return cf_err_wrap(err, "reconcile depot");
  }
  char **result = cf_xcalloc(count + 1, sizeof(*result));
  pid_t *kept_inits = cf_xcalloc(count + 1, sizeof(*kept_inits));
  size_t n = 0;
  for (size_t i = 0; i < count; i++) {
    bool keep = false;
    pid_t init_pid = 0;
    cf_err *one_err = NULL;
    if (reconcile_one(backend, handles[i], destroy_all, &keep, &init_pid, &one_err) < 0) {
      cf_log_error("reconcile.failed", one_err, "{s:s}", "handle", handles[i]);
      cf_err_free(one_err);
      continue;
    }
    if (keep) {
      kept_inits[n] = init_pid;
      result[n++] = cf_xstrdup(handles[i]);
    }
  }
  cf_strv_free(handles, count);
  /* Inits that no kept record names are left from a crash, for example one
   * between starting a container and recording its pid. */
  cf_err *sweep_err = NULL;
  if (cf_runtime_sweep_inits(backend->containers_dir, kept_inits, n, NULL, &sweep_err) < 0) {
    cf_log_error("reconcile.sweep-failed", sweep_err, NULL);
    cf_err_free(sweep_err);
  }
  if (cf_runtime_sweep_inits(backend->volumes_dir, kept_inits, n, NULL, &sweep_err) < 0) {
    cf_log_error("reconcile.sweep-failed", sweep_err, NULL);
    cf_err_free(sweep_err);
  }
  free(kept_inits);
  delete_orphan_volumes(backend);
  sweep_keepers(backend, result, n);
  cf_backend_net_sweep(backend, (const char *const *)result, n);
  *kept = result;
  *kept_count = n;
  return 0;
}
