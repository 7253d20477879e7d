/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The container lifecycle on Windows (container.h): the HCS document
 * from a bundle, create with its HCN namespace, delete, and processes.
 *
 * Namespace ownership: the runtime creates and deletes only the namespace
 * whose GUID cf_hcs_network_namespace_guid derives from the container id.
 * A namespace the bundle names (windows.network.networkNamespace) or a
 * sidecar's parent namespace is used and never deleted, so no record of
 * who created a namespace is needed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/mem.h"
#include "runtime/windows/container.h"
#include "image/windows/win.h"
#include "network/windows/hcn.h"

/* The Owner of a compute system that is not a sidecar. */
#define SYSTEM_OWNER "cfwin"

/* Everything the HCS document points into, so it can be freed at once. */
typedef struct system_spec {
  cf_hcs_container_config config;
  char **layer_ids;
  size_t layer_count;
  cf_hcs_layer *layers;
  cf_hcs_mapped_dir *mapped_dirs;
  char **container_paths;
  char namespace_id[CF_HCS_GUID_STRLEN + 1];
  bool owns_namespace;
} system_spec;

static void log_debug(const cf_wrt_context *ctx, const char *msg, const char *id, const char *key,
                      const char *value)
{
  if (ctx->log_debug != NULL) {
    ctx->log_debug(msg, id, key, value);
  }
}

static void system_spec_clear(system_spec *spec)
{
  cf_strv_free(spec->layer_ids, spec->layer_count);
  free(spec->layers);
  for (size_t i = 0; i < spec->config.mapped_dir_count; i++) {
    free(spec->container_paths[i]);
  }
  free(spec->container_paths);
  free(spec->mapped_dirs);
  memset(spec, 0, sizeof(*spec));
}

/* "[bind rw ro]": the options as winc prints them. */
static char *options_text(const cf_bundle_mount *mount)
{
  cf_buf text;
  cf_buf_init(&text, 0);
  cf_buf_append_str(&text, "[", NULL);
  for (size_t i = 0; i < mount->option_count; i++) {
    cf_buf_printf(&text, NULL, "%s%s", i > 0 ? " " : "", mount->options[i]);
  }
  cf_buf_append_str(&text, "]", NULL);
  return cf_buf_take(&text);
}

/* winc's read-only rule: read-only unless "rw" is given; both is an
 * error. */
static int mount_read_only(const char *id, const cf_bundle_mount *mount, bool *read_only,
                           cf_err **err)
{
  bool ro = false, rw = false;
  for (size_t i = 0; i < mount->option_count; i++) {
    ro = ro || strcmp(mount->options[i], "ro") == 0;
    rw = rw || strcmp(mount->options[i], "rw") == 0;
  }
  if (ro && rw) {
    cf_autofree char *options = options_text(mount);
    return cf_err_set(err, CF_E_INVALID, "invalid mount options for container %s: %s", id, options);
  }
  *read_only = !rw;
  return 0;
}

/* Whether the mount source is a directory (mapped) or a file (skipped,
 * as winc skips it). A missing source fails with Windows' text. */
static int mount_is_directory(const char *source, bool *directory, cf_err **err)
{
  cf_autofree wchar_t *wsource = cf_win_utf16(source, err);
  if (wsource == NULL) {
    return -1;
  }
  DWORD attributes = GetFileAttributesW(wsource);
  if (attributes == INVALID_FILE_ATTRIBUTES) {
    cf_autofree char *text = cf_hcs_system_message(GetLastError());
    return cf_err_set(err, CF_E_NOT_FOUND, "%s: %s", source,
                      text != NULL ? text : "the mount source cannot be read");
  }
  *directory = (attributes & FILE_ATTRIBUTE_DIRECTORY) != 0;
  return 0;
}

static int add_mounts(cf_wrt_context *ctx, const char *id, const cf_bundle *bundle,
                      system_spec *spec, cf_err **err)
{
  spec->mapped_dirs = cf_xcalloc(bundle->mount_count + 1, sizeof(cf_hcs_mapped_dir));
  spec->container_paths = cf_xcalloc(bundle->mount_count + 1, sizeof(char *));
  for (size_t i = 0; i < bundle->mount_count; i++) {
    const cf_bundle_mount *mount = &bundle->mounts[i];
    bool read_only = true, directory = false;
    if (mount->source == NULL || mount->destination == NULL) {
      return cf_err_set(err, CF_E_INVALID, "mount %zu of container %s has no %s", i, id,
                        mount->source == NULL ? "source" : "destination");
    }
    if (mount_read_only(id, mount, &read_only, err) < 0 ||
        mount_is_directory(mount->source, &directory, err) < 0) {
      return -1;
    }
    if (!directory) {
      log_debug(ctx, "mount is not a directory, ignoring", id, "mount", mount->source);
      continue;
    }
    size_t n = spec->config.mapped_dir_count++;
    spec->container_paths[n] = cf_winrt_container_path(mount->destination);
    spec->mapped_dirs[n] = (cf_hcs_mapped_dir){
        .host_path = mount->source,
        .container_path = spec->container_paths[n],
        .read_only = read_only,
    };
  }
  spec->config.mapped_dirs = spec->mapped_dirs;
  return 0;
}

static int add_layers(const cf_bundle *bundle, system_spec *spec, cf_err **err)
{
  if (cf_hcs_layer_ids(bundle->layer_folders, bundle->layer_folder_count, &spec->layer_ids, err) <
      0) {
    return -1;
  }
  spec->layer_count = bundle->layer_folder_count;
  spec->layers = cf_xcalloc(spec->layer_count + 1, sizeof(cf_hcs_layer));
  for (size_t i = 0; i < spec->layer_count; i++) {
    spec->layers[i] = (cf_hcs_layer){.id = spec->layer_ids[i], .path = bundle->layer_folders[i]};
  }
  spec->config.layers = spec->layers;
  spec->config.layer_count = spec->layer_count;
  return 0;
}

/* Picks the namespace: the parent's for a sidecar, the bundle's, or the
 * one derived from id, which the runtime owns. */
static int pick_namespace(const char *id, const cf_bundle *bundle, system_spec *spec, cf_err **err)
{
  char own[CF_HCS_GUID_STRLEN + 1];
  cf_hcs_network_namespace_guid(id, own);
  if (bundle->network_shared_container != NULL && bundle->network_shared_container[0] != '\0') {
    cf_hcs_network_namespace_guid(bundle->network_shared_container, spec->namespace_id);
  } else if (bundle->network_namespace != NULL && bundle->network_namespace[0] != '\0') {
    if (!cf_winrt_guid_valid(bundle->network_namespace)) {
      return cf_err_set(err, CF_E_INVALID,
                        "windows.network.networkNamespace \"%s\" is not a GUID; give the HCN "
                        "namespace id, e.g. 3f2504e0-4f89-11d3-9a0c-0305e82c3301",
                        bundle->network_namespace);
    }
    memcpy(spec->namespace_id, bundle->network_namespace, sizeof(spec->namespace_id));
  } else {
    memcpy(spec->namespace_id, own, sizeof(own));
  }
  spec->owns_namespace = strcmp(spec->namespace_id, own) == 0;
  spec->config.network_namespace = spec->namespace_id;
  return 0;
}

static int build_spec(cf_wrt_context *ctx, const char *id, const cf_bundle *bundle,
                      system_spec *spec, cf_err **err)
{
  memset(spec, 0, sizeof(*spec));
  bool sidecar =
      bundle->network_shared_container != NULL && bundle->network_shared_container[0] != '\0';
  spec->config.owner = sidecar ? bundle->network_shared_container : SYSTEM_OWNER;
  spec->config.hostname = bundle->hostname;
  spec->config.volume_path = bundle->root_path;
  spec->config.memory_limit = bundle->memory_limit;
  spec->config.processor_weight = bundle->cpu_shares;
  if (add_layers(bundle, spec, err) < 0 || add_mounts(ctx, id, bundle, spec, err) < 0 ||
      pick_namespace(id, bundle, spec, err) < 0) {
    system_spec_clear(spec);
    return -1;
  }
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

static int check_absent(const cf_hcs_api *api, const char *id, cf_err **err)
{
  cf_autofree char *query = cf_hcs_enumerate_query(id, false);
  cf_autofree char *result = NULL;
  if (cf_hcs_enumerate(api, query, &result, err) < 0) {
    return -1;
  }
  // An empty list is "[]" whatever the spacing, and any system has an Id.
  if (strstr(result, "\"Id\"") != NULL) {
    return cf_err_set(err, CF_E_EXISTS, "container with id already exists: %s", id);
  }
  return 0;
}

static int insert_record(cf_wrt_context *ctx, const char *id, const cf_bundle *bundle, cf_err **err)
{
  cf_runtime_record record = {
      .id = (char *)id,
      .bundle = bundle->dir,
      .owner = bundle->network_shared_container,
      .status = CF_RUNTIME_CREATING,
      .created_at_ns = now_ns(),
  };
  if (cf_wrt_context_open_store(ctx, err) < 0) {
    return -1;
  }
  return cf_store_runtime_insert(ctx->store, &record, err);
}

/* Creates the namespace (when owned) and the compute system. */
/* Deletes the namespace a failed create made. When that fails too, the
 * create's error *err also names the namespace left behind. */
static void remove_namespace_after_failure(const char *id, const char *namespace_id, cf_err **err)
{
  cf_err *delete_err = NULL;
  if (cf_hcn_namespace_delete(id, &delete_err) == 0) {
    return;
  }
  cf_autofree char *create_message = cf_xstrdup((*err)->message);
  enum cf_code code = (*err)->code;
  cf_err_set(err, code,
             "%s; network namespace %s was left behind (%s): `delete --force %s` removes it",
             create_message, namespace_id, delete_err->message, id);
  cf_err_free(delete_err);
}

static int create_system(cf_wrt_context *ctx, const cf_hcs_api *api, const char *id,
                         const system_spec *spec, cf_err **err)
{
  cf_autofree char *doc = NULL;
  if (cf_hcs_container_json(&spec->config, &doc, err) < 0) {
    return cf_err_wrap(err, "container %s", id);
  }
  if (spec->owns_namespace && cf_hcn_namespace_create(id, err) < 0) {
    return cf_err_wrap(err, "create network namespace %s of container %s", spec->namespace_id, id);
  }
  log_debug(ctx, "creating compute system", id, "networkNamespace", spec->namespace_id);
  cf_hcs_system *system = NULL;
  if (cf_hcs_system_create(api, id, doc, &system, err) < 0) {
    /* A system of this id that already exists (a create under another
     * --root won the race) runs in this namespace, so it stays. */
    if (spec->owns_namespace && (*err)->code != CF_E_EXISTS) {
      remove_namespace_after_failure(id, spec->namespace_id, err);
    }
    return -1;
  }
  cf_hcs_system_close(system);
  return 0;
}

int cf_wrt_container_create(cf_wrt_context *ctx, const cf_hcs_api *api, const char *id,
                            const cf_bundle *bundle, cf_err **err)
{
  system_spec spec;
  if (check_absent(api, id, err) < 0 || build_spec(ctx, id, bundle, &spec, err) < 0) {
    return -1;
  }
  int rc = insert_record(ctx, id, bundle, err);
  if (rc == 0 && create_system(ctx, api, id, &spec, err) < 0) {
    cf_store_runtime_delete(ctx->store, id, NULL);
    rc = -1;
  }
  if (rc == 0) {
    rc = cf_store_runtime_set_init(ctx->store, id, 0, 0, err);
  }
  system_spec_clear(&spec);
  return rc;
}

/* Hands cause to the caller's *err, which may be NULL. */
static int pass_error(cf_err **err, cf_err *cause)
{
  if (err == NULL) {
    cf_err_free(cause);
    return -1;
  }
  cf_err_free(*err);
  *err = cause;
  return -1;
}

/* Removes what a container without a compute system left: its record,
 * then the namespace the runtime created for it. The record goes first.
 * Then a failed namespace step leaves no record that `list` shows but
 * `state` cannot find, and `delete --force` deletes the namespace by the id
 * later. */
static int remove_leftovers(cf_wrt_context *ctx, const char *id, bool sidecar, cf_err **err)
{
  if (cf_wrt_context_open_store(ctx, err) < 0) {
    return -1;
  }
  cf_err *store_err = NULL;
  if (cf_store_runtime_delete(ctx->store, id, &store_err) < 0 &&
      store_err->code != CF_E_NOT_FOUND) {
    return pass_error(err, store_err);
  }
  cf_err_free(store_err);
  if (!sidecar && cf_hcn_namespace_delete(id, err) < 0) {
    return cf_err_wrap(err,
                       "delete network namespace of container %s (`delete --force %s` tries "
                       "again)",
                       id, id);
  }
  return 0;
}

static int stop_system(const cf_hcs_api *api, const char *id, cf_err **err)
{
  cf_hcs_system *system = NULL;
  cf_err *open_err = NULL;
  if (cf_hcs_system_open(api, id, &system, &open_err) < 0) {
    // The system can exit and vanish between the status query and here.
    if (open_err->code == CF_E_NOT_FOUND) {
      cf_err_free(open_err);
      return 0;
    }
    return pass_error(err, open_err);
  }
  int rc = cf_hcs_system_stop(system, err);
  cf_hcs_system_close(system);
  return rc;
}

static int delete_one(cf_wrt_context *ctx, const cf_hcs_api *api, const char *id, bool force,
                      cf_err **err)
{
  cf_wrt_container container;
  cf_err *get_err = NULL;
  if (cf_wrt_container_get(ctx, api, id, &container, &get_err) < 0) {
    if (get_err->code != CF_E_NOT_FOUND || !force) {
      return pass_error(err, get_err);
    }
    cf_err_free(get_err);
    log_debug(ctx, "container not found, removing what is left of it", id, NULL, NULL);
    // HCS may list a system without a record, e.g. one whose record is
    // under another --root, and --force removes it too.
    if (stop_system(api, id, err) < 0) {
      return -1;
    }
    return remove_leftovers(ctx, id, false, err);
  }
  bool running = strcmp(container.status, CF_WRT_STATUS_RUNNING) == 0;
  bool sidecar = container.record.owner != NULL;
  cf_wrt_container_clear(&container);
  if (running && !force) {
    return cf_err_set(err, CF_E_BUSY,
                      "cannot delete container %s that is not stopped: running; stop it with "
                      "`kill` or pass --force",
                      id);
  }
  if (stop_system(api, id, err) < 0) {
    return -1;
  }
  return remove_leftovers(ctx, id, sidecar, err);
}

int cf_wrt_container_delete(cf_wrt_context *ctx, const cf_hcs_api *api, const char *id, bool force,
                            cf_err **err)
{
  char **sidecars = NULL;
  size_t count = 0;
  if (cf_wrt_context_open_store(ctx, err) < 0 ||
      cf_store_runtime_list(ctx->store, id, &sidecars, &count, err) < 0) {
    return -1;
  }
  int rc = 0;
  for (size_t i = 0; i < count && rc == 0; i++) {
    log_debug(ctx, "deleting sidecar", id, "sidecar", sidecars[i]);
    rc = delete_one(ctx, api, sidecars[i], true, err);
  }
  cf_strv_free(sidecars, count);
  return rc == 0 ? delete_one(ctx, api, id, force, err) : rc;
}

int cf_wrt_process_start(const cf_hcs_api *api, const char *id, const cf_winrt_process *process,
                         bool attach, cf_hcs_process **out, cf_err **err)
{
  if (cf_winrt_process_validate(process, err) < 0) {
    return -1;
  }
  cf_hcs_process_options options = {.stdio_pipes = attach};
  cf_autofree char *params = NULL;
  if (cf_hcs_process_json(process, &options, &params, err) < 0) {
    return -1;
  }
  cf_hcs_system *system = NULL;
  if (cf_hcs_system_open(api, id, &system, err) < 0) {
    return -1;
  }
  cf_autofree char *argv0 = cf_winrt_argv0(process->args[0]);
  int rc = cf_hcs_process_create(system, params, argv0, out, err);
  cf_hcs_system_close(system);
  return rc;
}
