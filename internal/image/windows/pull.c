/* SPDX-License-Identifier: Apache-2.0 */
#include "image/windows/pull.h"

#include <windows.h>

#include <inttypes.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/log.h"
#include "base/mem.h"
#include "image/blob.h"
#include "image/layer_stream.h"
#include "image/layout.h"
#include "image/registry.h"
#include "image/windows/osversion.h"
#include "image/windows/win.h"
#include "image/winimage.h"

#define OCI_SCHEME "oci://"
#define DOCKER_SCHEME "docker://"

void cf_win_image_clear(cf_win_image *image)
{
  cf_strv_free(image->chain_ids, image->layer_count);
  cf_strv_free(image->env, image->env_count);
  memset(image, 0, sizeof(*image));
}

/* The limits of one pull: the unpack limits and create's disk quota. */
typedef struct pull_limits {
  cf_unpack_limits unpack;
  uint64_t disk_quota; /* 0 for none */
} pull_limits;

/* Where the layer blobs of one pull come from. */
typedef struct blob_source {
  cf_blob_producer produce;
  void *context;
} blob_source;

static bool has_prefix(const char *text, const char *prefix)
{
  return strncmp(text, prefix, strlen(prefix)) == 0;
}

/* --- Layer locks --- */

/* Takes the exclusive lock <root>\layers\<hex>.lock of one layer, waiting
 * for another pull that imports the same layer. Returns the lock file's
 * handle, or NULL with *err set. */
static HANDLE lock_layer(cf_storage *storage, const char *chain_id, cf_err **err)
{
  cf_autofree char *layer_path = NULL;
  if (cf_win_layer_path(cf_storage_root(storage), chain_id, &layer_path, err) < 0) {
    return NULL;
  }
  cf_autofree char *lock_path = cf_xasprintf("%s.lock", layer_path);
  cf_autofree wchar_t *wide = cf_win_utf16(lock_path, err);
  if (wide == NULL) {
    return NULL;
  }
  HANDLE file = CreateFileW(wide, GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE,
                            NULL, OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
  if (file == INVALID_HANDLE_VALUE) {
    cf_win_last_error(err, GetLastError(), "CreateFileW");
    cf_err_wrap(err, "open the layer lock file %s", lock_path);
    return NULL;
  }
  OVERLAPPED at = {0};
  if (!LockFileEx(file, LOCKFILE_EXCLUSIVE_LOCK, 0, 1, 0, &at)) {
    cf_win_last_error(err, GetLastError(), "LockFileEx");
    cf_err_wrap(err, "lock the layer lock file %s", lock_path);
    CloseHandle(file);
    return NULL;
  }
  return file;
}

static void unlock_layer(HANDLE file)
{
  OVERLAPPED at = {0};
  UnlockFileEx(file, 0, 1, 0, &at);
  CloseHandle(file);
}

/* --- Layers --- */

static void set_chain_ids(const cf_resolved_image *resolved, cf_win_image *out)
{
  size_t count = resolved->manifest.layer_count;
  out->chain_ids = cf_xcalloc(count, sizeof(*out->chain_ids));
  out->layer_count = count;
  for (size_t i = 0; i < count; i++) {
    char chain_id[CF_DIGEST_LEN + 1];
    cf_chain_id(i > 0 ? out->chain_ids[i - 1] : NULL, resolved->config.diff_ids[i], chain_id);
    out->chain_ids[i] = cf_xstrdup(chain_id);
  }
}

/* Imports layer i over the layers below it, under the layer's lock. */
static int import_layer(cf_storage *storage, const blob_source *source,
                        const cf_resolved_image *resolved, const cf_unpack_limits *limits, size_t i,
                        cf_win_image *out, cf_err **err)
{
  cf_layer_import layer = {
      .blob = &resolved->manifest.layers[i],
      .produce = source->produce,
      .produce_context = source->context,
      .diff_id = resolved->config.diff_ids[i],
      .limits = limits,
      .storage = storage,
      .chain_id = out->chain_ids[i],
      .parent_ids = out->chain_ids,
      .parent_count = i,
  };
  HANDLE lock = lock_layer(storage, layer.chain_id, err);
  if (lock == NULL) {
    return -1;
  }
  int64_t size = 0;
  int rc = cf_image_layer_import_stream(&layer, &size, err);
  unlock_layer(lock);
  if (rc < 0) {
    return -1;
  }
  cf_log(CF_LOG_INFO, "pull.layer-ready", "{s:s, s:s, s:I}", "chain_id", layer.chain_id, "blob",
         layer.blob->digest, "size", (json_int_t)size);
  out->size += (uint64_t)size;
  return 0;
}

/* groot's check before a create with a disk limit: the compressed layer
 * sizes of the manifest against the quota. */
static int check_disk_quota(const cf_resolved_image *resolved, uint64_t disk_quota, cf_err **err)
{
  if (disk_quota == 0) {
    return 0;
  }
  uint64_t total = 0;
  for (size_t i = 0; i < resolved->manifest.layer_count; i++) {
    int64_t size = resolved->manifest.layers[i].size;
    total += size > 0 ? (uint64_t)size : 0;
  }
  if (total > disk_quota) {
    return cf_err_set(err, CF_E_LIMIT,
                      "layers exceed disk quota %" PRIu64 "/%" PRIu64
                      " bytes; raise --disk-limit-size-bytes or pass --exclude-image-from-quota",
                      total, disk_quota);
  }
  return 0;
}

/* Names the layer in its error and, for a blob that does not match its
 * descriptor, what to do. */
static int wrap_layer_error(const cf_resolved_image *resolved, size_t i, cf_err **err)
{
  const char *digest = resolved->manifest.layers[i].digest;
  size_t count = resolved->manifest.layer_count;
  if (err != NULL && *err != NULL && (*err)->code == CF_E_INTEGRITY) {
    return cf_err_wrap(err,
                       "layer %zu of %zu (blob %s) is corrupt or was changed; pull again, or "
                       "rebuild the OCI layout",
                       i + 1, count, digest);
  }
  return cf_err_wrap(err, "layer %zu of %zu (blob %s)", i + 1, count, digest);
}

static int import_layers(cf_storage *storage, const blob_source *source,
                         const cf_resolved_image *resolved, const cf_unpack_limits *limits,
                         cf_win_image *out, cf_err **err)
{
  size_t count = resolved->manifest.layer_count;
  if (count == 0) {
    return cf_err_set(err, CF_E_INVALID, "image manifest %s has no layers",
                      resolved->manifest_digest);
  }
  if (cf_manifest_check_layer_count(&resolved->manifest, resolved->manifest_digest,
                                    limits->max_layers, err) < 0) {
    return -1;
  }
  set_chain_ids(resolved, out);
  for (size_t i = 0; i < count; i++) {
    if (import_layer(storage, source, resolved, limits, i, out, err) < 0) {
      return wrap_layer_error(resolved, i, err);
    }
  }
  return 0;
}

static void copy_env(const cf_oci_image_config *config, cf_win_image *out)
{
  out->env = cf_xcalloc(config->env_count + 1, sizeof(*out->env));
  for (size_t i = 0; i < config->env_count; i++) {
    out->env[i] = cf_xstrdup(config->env[i]);
  }
  out->env_count = config->env_count;
}

static int import_resolved(cf_storage *storage, const blob_source *source,
                           const cf_resolved_image *resolved, const pull_limits *limits,
                           cf_win_image *out, cf_err **err)
{
  if (check_disk_quota(resolved, limits->disk_quota, err) < 0 ||
      import_layers(storage, source, resolved, &limits->unpack, out, err) < 0) {
    return -1;
  }
  copy_env(&resolved->config, out);
  return 0;
}

/* --- Sources --- */

static int pull_layout(cf_storage *storage, const char *uri, const pull_limits *limits,
                       cf_win_image *out, cf_err **err)
{
  cf_autofree char *normalized = cf_win_oci_uri_normalize(uri);
  cf_oci_uri parsed;
  if (cf_oci_uri_parse(normalized, &parsed, err) < 0) {
    return -1;
  }
  cf_autofree char *path = NULL;
  int rc = cf_win_oci_layout_path(parsed.path, &path, err);
  cf_resolved_image resolved;
  if (rc == 0) {
    rc = cf_image_layout_resolve(path, parsed.tag, &resolved, err);
  }
  if (rc == 0) {
    blob_source source = {cf_image_blob_produce, path};
    rc = import_resolved(storage, &source, &resolved, limits, out, err);
    cf_resolved_image_clear(&resolved);
  }
  cf_oci_uri_clear(&parsed);
  return rc;
}

/* Fills the platform to pick from an image index: windows/amd64 on this
 * host's os.version, unless options name another. *os_version owns the
 * host's version string. */
static int registry_options(const cf_pull_options *given, cf_pull_options *options,
                            char **os_version, cf_err **err)
{
  static const cf_pull_options defaults = {0};
  *options = given != NULL ? *given : defaults;
  if (options->platform.os_version == NULL || options->platform.os_version[0] == '\0') {
    if (cf_win_host_os_version(os_version, err) < 0) {
      return -1;
    }
    options->platform.os_version = *os_version;
  }
  return 0;
}

static int pull_registry(cf_storage *storage, const cf_docker_uri *uri,
                         const cf_pull_options *options, const pull_limits *limits,
                         cf_win_image *out, cf_err **err)
{
  cf_registry *registry = NULL;
  if (cf_registry_open(uri, options, &registry, err) < 0) {
    return -1;
  }
  cf_resolved_image resolved;
  int rc = cf_registry_resolve(registry, uri, &options->platform, &resolved, err);
  if (rc == 0) {
    blob_source source = {cf_registry_produce_blob, registry};
    rc = import_resolved(storage, &source, &resolved, limits, out, err);
    cf_resolved_image_clear(&resolved);
  }
  cf_registry_close(registry);
  return rc;
}

static int pull_docker(cf_storage *storage, const char *uri, const cf_pull_options *given,
                       const pull_limits *limits, cf_win_image *out, cf_err **err)
{
  cf_pull_options options;
  cf_autofree char *os_version = NULL;
  if (registry_options(given, &options, &os_version, err) < 0) {
    return -1;
  }
  cf_docker_uri parsed;
  if (cf_docker_uri_parse(uri, &parsed, err) < 0) {
    return -1;
  }
  int rc = pull_registry(storage, &parsed, &options, limits, out, err);
  cf_docker_uri_clear(&parsed);
  return rc;
}

int cf_win_image_pull(cf_storage *storage, const char *uri, const cf_pull_options *options,
                      uint64_t disk_quota, cf_win_image *out, cf_err **err)
{
  memset(out, 0, sizeof(*out));
  _Atomic int64_t image_bytes = 0;
  pull_limits limits = {.disk_quota = disk_quota};
  int rc = cf_unpack_limits_init(&limits.unpack, options, &image_bytes, err);
  if (rc == 0 && has_prefix(uri, OCI_SCHEME)) {
    rc = pull_layout(storage, uri, &limits, out, err);
  } else if (rc == 0 && has_prefix(uri, DOCKER_SCHEME)) {
    rc = pull_docker(storage, uri, options, &limits, out, err);
  } else if (rc == 0) {
    rc = cf_err_set(err, CF_E_INVALID,
                    "unsupported image URI scheme; cfwin.exe pulls oci:///C:/path/to/layout[:tag] "
                    "and docker://[host[:port]]/repository[:tag|@digest] URIs");
  }
  if (rc < 0) {
    cf_win_image_clear(out);
    return cf_err_wrap(err, "pull %s", uri);
  }
  return 0;
}
