/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Peas: processes that run in a container of their own, made from their
 * own image, inside the network namespace of a sandbox container. Each pea
 * has a volume and an init like a container, under a generated handle
 * ("pea-" and 32 hex digits) so that it never meets a container's handle,
 * volume or cgroup. Peas are kept in memory only and never listed as
 * containers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fs.h"
#include "base/log.h"
#include "base/mem.h"
#include "garden/pea.h"

#include "garden/backend_internal.h"
#include "garden/bind_mounts.h"
#include "garden/json.h"
#include "garden/limits.h"

typedef struct cf_pea {
  struct cf_pea *next;
  char *id;
  char *handle; /* the sandbox container */
  cf_container_init init;
  char **env; /* the pea image's Env */
  size_t env_count;
} cf_pea;

static void pea_free(cf_pea *pea)
{
  free(pea->id);
  free(pea->handle);
  cf_strv_free(pea->env, pea->env_count);
  free(pea);
}

/* Reads the init and limits of the sandbox, which must be running. */
static int sandbox_get(cf_backend *backend, const char *handle, cf_container_init *init,
                       cf_limits_record *limits, cf_err **err)
{
  cf_container_record record = {0};
  if (cf_store_container_get(backend->store, handle, &record, err) < 0) {
    return -1;
  }
  *init = (cf_container_init){.pid = (pid_t)record.init_pid, .start_time = record.init_start_time};
  cf_container_record_clear(&record);
  if (init->pid <= 0 || !cf_runtime_container_alive(init)) {
    return cf_err_set(err, CF_E_INVALID,
                      "container %s is not running, so it cannot run a process with its own image",
                      handle);
  }
  return cf_store_limits_get(backend->store, handle, limits, err);
}

static int new_pea_id(char **out, cf_err **err)
{
  char hex[33];
  if (cf_random_hex(hex, 16, err) < 0) {
    return -1;
  }
  *out = cf_xasprintf("pea-%s", hex);
  return 0;
}

static void pea_limits(const cf_pea_request *request, const cf_limits_record *sandbox,
                       cf_resource_limits *out)
{
  if (!request->override_limits) {
    /* NOTE: the pea gets its own cgroup with a copy of the sandbox's
     * limits, so the two do not share one budget as they do in Guardian,
     * where the pea joins the sandbox's cgroup. */
    cf_limits_to_runtime(sandbox, out);
    return;
  }
  cf_limits_record own = {.memory_bytes = request->memory_bytes, .cpu_shares = request->cpu_shares};
  cf_limits_to_runtime(&own, out);
}

/* Starts the pea's init: its own mount, pid, uts and ipc namespaces, the
 * sandbox's network namespace, and the sandbox's hostname.
 * NOTE: Guardian's peas also share the sandbox's pid, ipc and uts
 * namespaces; the runtime can only join a network namespace. */
static int start_pea_init(const char *handle, const char *id, const cf_pea_request *request,
                          const cf_volume *volume, const cf_container_init *sandbox,
                          const cf_limits_record *sandbox_limits, cf_container_init *init,
                          cf_err **err)
{
  char hostname[64];
  cf_runtime_hostname(handle, hostname);
  /* NOTE: /proc/PID/ns/net is the Linux runtime's form; the Windows
   * runtime has no way yet to join the sandbox's network. */
  char network_path[64];
  snprintf(network_path, sizeof(network_path), "/proc/%d/ns/net", (int)sandbox->pid);
  cf_container_spec spec = {
      .handle = id,
      .hostname = hostname,
      .rootfs = cf_backend_volume_rootfs(volume),
      .network_path = network_path,
      .privileged = sandbox_limits->privileged,
  };
  pea_limits(request, sandbox_limits, &spec.limits);
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
  if (rc < 0) {
    return -1;
  }
  /* The sandbox's pid may have been reused between the check and the
   * open of its namespace, so its start time is compared again. */
  if (!cf_runtime_container_alive(sandbox)) {
    cf_runtime_container_destroy(init, NULL);
    return cf_err_set(err, CF_E_INVALID, "container %s stopped while pea %s was starting", handle,
                      id);
  }
  return 0;
}

static void delete_volume(cf_backend *backend, const char *id)
{
  cf_err *err = NULL;
  if (cf_volume_delete(backend->images, id, NULL, &err) < 0) {
    cf_log_error("pea.delete-volume-failed", err, "{s:s}", "pea", id);
    cf_err_free(err);
  }
}

static void add_pea(cf_backend *backend, cf_pea *pea)
{
  pthread_mutex_lock(&backend->peas_lock);
  pea->next = backend->peas;
  backend->peas = pea;
  pthread_mutex_unlock(&backend->peas_lock);
}

/* Pulls the pea's image, creates its volume and starts its init with the
 * sandbox's /etc files. Removes what it made when a step fails. */
static int build_pea(cf_backend *backend, const char *handle, const char *id,
                     const cf_pea_request *request, const cf_container_init *sandbox,
                     const cf_limits_record *limits, cf_image *image, cf_container_init *init,
                     cf_err **err)
{
  cf_pull_options pull = backend->options.pull;
  pull.username = request->username;
  pull.password = request->password;
  if (cf_image_source_pull(backend->images, request->image_uri, &pull, image, err) < 0) {
    return -1;
  }
  cf_volume volume = {0};
  cf_volume_request volume_request = {
      .handle = id, .image_uri = request->image_uri, .image = image};
  if (cf_volume_create_pulled(backend->images, request->image_uri, &pull, &volume_request, image,
                              &volume, err) < 0) {
    return -1;
  }
  int rc = start_pea_init(handle, id, request, &volume, sandbox, limits, init, err);
  if (rc == 0 && cf_pea_copy_etc_files(sandbox, init, err) < 0) {
    cf_runtime_container_destroy(init, NULL);
    rc = -1;
  }
  cf_volume_clear(&volume);
  if (rc < 0) {
    delete_volume(backend, id);
  }
  return rc;
}

int cf_backend_pea_create(cf_backend *backend, const char *handle, const cf_pea_request *request,
                          cf_container_init *init, char **pea_id, cf_err **err)
{
  cf_container_init sandbox = {0};
  cf_limits_record limits = {0};
  cf_autofree char *id = NULL;
  if (sandbox_get(backend, handle, &sandbox, &limits, err) < 0 || new_pea_id(&id, err) < 0) {
    return -1;
  }
  cf_image image = {0};
  if (build_pea(backend, handle, id, request, &sandbox, &limits, &image, init, err) < 0) {
    cf_image_clear(&image);
    return cf_err_wrap(err, "create pea of container %s from %s", handle, request->image_uri);
  }

  cf_pea *pea = cf_xcalloc(1, sizeof(*pea));
  pea->id = cf_xstrdup(id);
  pea->handle = cf_xstrdup(handle);
  pea->init = *init;
  pea->env = image.env;
  pea->env_count = image.env_count;
  image.env = NULL;
  image.env_count = 0;
  add_pea(backend, pea);
  cf_image_clear(&image);
  cf_log(CF_LOG_INFO, "pea.created", "{s:s, s:s, s:i}", "handle", handle, "pea", id, "init-pid",
         (int)init->pid);
  *pea_id = id;
  id = NULL;
  return 0;
}

/* Copies what an exec needs from the pea, so the lock is not held while
 * the process starts. */
static int pea_lookup(cf_backend *backend, const char *handle, const char *pea_id,
                      cf_container_init *init, char ***env, size_t *env_count, cf_err **err)
{
  bool found = false;
  bool foreign = false;
  pthread_mutex_lock(&backend->peas_lock);
  for (cf_pea *pea = backend->peas; pea != NULL && !found; pea = pea->next) {
    if (strcmp(pea->id, pea_id) != 0) {
      continue;
    }
    found = true;
    foreign = strcmp(pea->handle, handle) != 0;
    *init = pea->init;
    *env = cf_xcalloc(pea->env_count + 1, sizeof(char *));
    for (size_t i = 0; i < pea->env_count; i++) {
      (*env)[i] = cf_xstrdup(pea->env[i]);
    }
    *env_count = pea->env_count;
  }
  pthread_mutex_unlock(&backend->peas_lock);
  if (!found) {
    return cf_err_set(err, CF_E_NOT_FOUND, "unknown pea: %s", pea_id);
  }
  if (foreign) {
    cf_strv_free(*env, *env_count);
    *env = NULL;
    return cf_err_set(err, CF_E_INVALID, "pea %s does not belong to container %s", pea_id, handle);
  }
  return 0;
}

int cf_backend_pea_exec(cf_backend *backend, const char *handle, const char *pea_id, const char *id,
                        const cf_process_spec *spec, cf_backend_process *out, cf_err **err)
{
  cf_container_init init;
  char **image_env = NULL;
  size_t image_env_count = 0;
  if (pea_lookup(backend, handle, pea_id, &init, &image_env, &image_env_count, err) < 0) {
    return -1;
  }
  size_t total = image_env_count + spec->env_count;
  const char **env = cf_xcalloc(total + 1, sizeof(*env));
  for (size_t i = 0; i < image_env_count; i++) {
    env[i] = image_env[i];
  }
  for (size_t i = 0; i < spec->env_count; i++) {
    env[image_env_count + i] = spec->env[i];
  }
  cf_process_spec merged = *spec;
  merged.env = env;
  merged.env_count = total;
  if (merged.dir == NULL || merged.dir[0] == '\0') {
    merged.dir = "/";
  }
  int rc = cf_backend_exec(backend, handle, id, &merged, &init, out, err);
  free(env);
  cf_strv_free(image_env, image_env_count);
  return rc;
}

/* Unlinks the pea from the list and returns it, or NULL when it is gone. */
static cf_pea *take_pea(cf_backend *backend, const char *handle, const char *pea_id, bool *foreign)
{
  cf_pea *found = NULL;
  *foreign = false;
  pthread_mutex_lock(&backend->peas_lock);
  for (cf_pea **link = &backend->peas; *link != NULL; link = &(*link)->next) {
    if (strcmp((*link)->id, pea_id) != 0) {
      continue;
    }
    if (strcmp((*link)->handle, handle) != 0) {
      *foreign = true;
      break;
    }
    found = *link;
    *link = found->next;
    break;
  }
  pthread_mutex_unlock(&backend->peas_lock);
  return found;
}

static int destroy_pea(cf_backend *backend, cf_pea *pea, cf_err **err)
{
  int rc = cf_runtime_container_destroy(&pea->init, err);
  if (rc < 0) {
    cf_err_wrap(err, "stop pea %s of container %s", pea->id, pea->handle);
  } else {
    rc = cf_volume_delete(backend->images, pea->id, NULL, err);
  }
  if (rc == 0) {
    cf_log(CF_LOG_INFO, "pea.destroyed", "{s:s, s:s}", "handle", pea->handle, "pea", pea->id);
  }
  pea_free(pea);
  return rc;
}

int cf_backend_pea_destroy(cf_backend *backend, const char *handle, const char *pea_id,
                           cf_err **err)
{
  bool foreign = false;
  cf_pea *pea = take_pea(backend, handle, pea_id, &foreign);
  if (foreign) {
    return cf_err_set(err, CF_E_INVALID, "pea %s does not belong to container %s", pea_id, handle);
  }
  if (pea == NULL) {
    return 0;
  }
  return destroy_pea(backend, pea, err);
}

void cf_backend_peas_destroy_all(cf_backend *backend, const char *handle)
{
  for (;;) {
    cf_pea *pea = NULL;
    pthread_mutex_lock(&backend->peas_lock);
    for (cf_pea **link = &backend->peas; *link != NULL; link = &(*link)->next) {
      if (strcmp((*link)->handle, handle) == 0) {
        pea = *link;
        *link = pea->next;
        break;
      }
    }
    pthread_mutex_unlock(&backend->peas_lock);
    if (pea == NULL) {
      return;
    }
    cf_err *err = NULL;
    cf_autofree char *id = cf_xstrdup(pea->id);
    if (destroy_pea(backend, pea, &err) < 0) {
      cf_log_error("pea.destroy-failed", err, "{s:s, s:s}", "handle", handle, "pea", id);
      cf_err_free(err);
    }
  }
}

void cf_backend_peas_free(cf_backend *backend)
{
  while (backend->peas != NULL) {
    cf_pea *pea = backend->peas;
    backend->peas = pea->next;
    pea_free(pea);
  }
}

static char *dup_or_null(const char *text)
{
  return text != NULL && text[0] != '\0' ? cf_xstrdup(text) : NULL;
}

int cf_pea_spec_parse(const json_t *process_spec, cf_pea_spec *out, cf_err **err)
{
  memset(out, 0, sizeof(*out));
  json_t *image = cf_json_get(process_spec, "image");
  if (image != NULL && !json_is_null(image) && !json_is_object(image)) {
    return cf_err_set(err, CF_E_INVALID, "invalid value for \"image\": expected an object");
  }
  const char *uri = NULL;
  const char *username = NULL;
  const char *password = NULL;
  if (cf_json_get_string(image, "uri", &uri, err) < 0 ||
      cf_json_get_string(image, "username", &username, err) < 0 ||
      cf_json_get_string(image, "password", &password, err) < 0) {
    return cf_err_wrap(err, "process image");
  }
  if (cf_bind_mounts_parse(process_spec, &out->bind_mounts, &out->bind_mount_count, err) < 0 ||
      cf_limits_parse_process(process_spec, &out->limits, err) < 0) {
    cf_pea_spec_clear(out);
    return -1;
  }
  out->is_pea = uri != NULL && uri[0] != '\0';
  if (!out->is_pea && out->bind_mount_count > 0) {
    cf_pea_spec_clear(out);
    /* Guardian's words, then the fix. */
    return cf_err_set(err, CF_E_INVALID,
                      "Running a process with bind mounts and no image provided is not allowed: "
                      "set image.uri, or give the container the bind mounts at create");
  }
  out->image_uri = dup_or_null(uri);
  out->username = dup_or_null(username);
  out->password = dup_or_null(password);
  return 0;
}

void cf_pea_spec_clear(cf_pea_spec *spec)
{
  free(spec->image_uri);
  free(spec->username);
  free(spec->password);
  cf_bind_mounts_free(spec->bind_mounts, spec->bind_mount_count);
  memset(spec, 0, sizeof(*spec));
}

cf_pea_request cf_pea_spec_request(const cf_pea_spec *spec)
{
  return (cf_pea_request){
      .image_uri = spec->image_uri,
      .username = spec->username,
      .password = spec->password,
      .bind_mounts = spec->bind_mounts,
      .bind_mount_count = spec->bind_mount_count,
      .override_limits = spec->limits.present,
      .memory_bytes = spec->limits.memory_bytes,
      .cpu_shares = spec->limits.cpu_shares,
  };
}
