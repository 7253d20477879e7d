/* SPDX-License-Identifier: Apache-2.0 */
#include "image/image.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/mem.h"
#include "base/sha256.h"
#include "image/layer_store.h"
#include "image/layout.h"
#include "image/registry.h"

#define DOCKER_SCHEME "docker://"
#define DEFAULT_PARALLEL_LAYERS 4

static void free_strings(char **strings, size_t count)
{
  if (strings == NULL) {
    return;
  }
  for (size_t i = 0; i < count; i++) {
    free(strings[i]);
  }
  free(strings);
}

void cf_image_clear(cf_image *image)
{
  free_strings(image->layer_dirs, image->layer_count);
  free_strings(image->chain_ids, image->layer_count);
  free_strings(image->layer_keys, image->layer_count);
  free_strings(image->env, image->env_count);
  free(image->manifest_digest);
  memset(image, 0, sizeof(*image));
}

/* Where the layer blobs of one pull come from. */
struct layer_source {
  cf_blob_producer produce;
  void *ctx;
  bool verify_first; /* an OCI layout: check each blob before unpacking */
};

/* The layers of one pull, shared by its worker threads. */
struct layer_jobs {
  cf_image_store *images;
  const struct layer_source *source;
  const cf_resolved_image *resolved;
  const cf_unpack_limits *limits;
  char **layer_keys; /* precomputed, one per layer */
  cf_image *out;     /* its id_mapping applies to every layer */
  cf_err **errors;   /* one per layer */
  pthread_mutex_t lock;
  size_t next; /* the next layer to take, under lock */
};

static void pull_layer(struct layer_jobs *jobs, size_t i)
{
  const cf_resolved_image *resolved = jobs->resolved;
  cf_layer_request request = {
      .produce = jobs->source->produce,
      .produce_ctx = jobs->source->ctx,
      .verify_first = jobs->source->verify_first,
      .blob = &resolved->manifest.layers[i],
      .diff_id = resolved->config.diff_ids[i],
      .parent_key = i > 0 ? jobs->layer_keys[i - 1] : NULL,
      .key = jobs->layer_keys[i],
      .limits = jobs->limits,
      .id_mapping = &jobs->out->id_mapping,
  };
  char *dir = NULL;
  if (cf_image_layer_ensure(jobs->images, &request, &dir, &jobs->errors[i]) < 0) {
    cf_err_wrap(&jobs->errors[i], "layer %zu of %zu", i + 1, resolved->manifest.layer_count);
    return;
  }
  jobs->out->layer_dirs[i] = dir;
}

/* Takes layers until none is left. Each layer is unpacked under its own
 * lock in the store, so the order of layers does not matter. */
static void *layer_worker(void *arg)
{
  struct layer_jobs *jobs = arg;
  for (;;) {
    pthread_mutex_lock(&jobs->lock);
    size_t i = jobs->next++;
    pthread_mutex_unlock(&jobs->lock);
    if (i >= jobs->resolved->manifest.layer_count) {
      return NULL;
    }
    pull_layer(jobs, i);
  }
}

static void run_workers(struct layer_jobs *jobs, size_t parallel)
{
  pthread_t *threads = cf_xcalloc(parallel, sizeof(*threads));
  size_t started = 0;
  for (; started + 1 < parallel; started++) {
    if (pthread_create(&threads[started], NULL, layer_worker, jobs) != 0) {
      break; /* the calling thread below still takes every remaining layer */
    }
  }
  layer_worker(jobs);
  for (size_t t = 0; t < started; t++) {
    pthread_join(threads[t], NULL);
  }
  free(threads);
}

/* Moves the error of the lowest failed layer to *err. */
static int collect_errors(struct layer_jobs *jobs, size_t count, cf_err **err)
{
  int rc = 0;
  for (size_t i = 0; i < count; i++) {
    if (jobs->errors[i] == NULL) {
      continue;
    }
    if (rc == 0 && err != NULL) {
      cf_err_free(*err);
      *err = cf_steal(&jobs->errors[i]);
    }
    cf_err_clear(&jobs->errors[i]);
    rc = -1;
  }
  return rc;
}

static int pull_layers(cf_image_store *images, const struct layer_source *source,
                       const cf_resolved_image *resolved, const cf_unpack_limits *limits,
                       size_t parallel, cf_image *out, cf_err **err)
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
  out->layer_dirs = cf_xcalloc(count, sizeof(*out->layer_dirs));
  out->chain_ids = cf_xcalloc(count, sizeof(*out->chain_ids));
  out->layer_keys = cf_xcalloc(count, sizeof(*out->layer_keys));
  out->layer_count = count;
  for (size_t i = 0; i < count; i++) {
    char chain_id[CF_DIGEST_LEN + 1];
    cf_chain_id(i > 0 ? out->chain_ids[i - 1] : NULL, resolved->config.diff_ids[i], chain_id);
    out->chain_ids[i] = cf_xstrdup(chain_id);
    char key[CF_LAYER_KEY_MAX + 1];
    cf_layer_key(chain_id, &out->id_mapping, key);
    out->layer_keys[i] = cf_xstrdup(key);
  }
  struct layer_jobs jobs = {
      .images = images,
      .source = source,
      .resolved = resolved,
      .limits = limits,
      .layer_keys = out->layer_keys,
      .out = out,
      .errors = cf_xcalloc(count, sizeof(cf_err *)),
  };
  pthread_mutex_init(&jobs.lock, NULL);
  run_workers(&jobs, parallel < count ? parallel : count);
  pthread_mutex_destroy(&jobs.lock);
  int rc = collect_errors(&jobs, count, err);
  free(jobs.errors);
  return rc;
}

static void copy_env(const cf_oci_image_config *config, cf_image *out)
{
  out->env = cf_xcalloc(config->env_count + 1, sizeof(*out->env));
  for (size_t i = 0; i < config->env_count; i++) {
    out->env[i] = cf_xstrdup(config->env[i]);
  }
  out->env_count = config->env_count;
}

static int pull_resolved(cf_image_store *images, const struct layer_source *source,
                         const cf_resolved_image *resolved, const cf_unpack_limits *limits,
                         size_t parallel, cf_image *out, cf_err **err)
{
  if (pull_layers(images, source, resolved, limits, parallel, out, err) < 0) {
    return -1;
  }
  copy_env(&resolved->config, out);
  out->manifest_digest = cf_xstrdup(resolved->manifest_digest);
  return 0;
}

/* Layout layers are unpacked one after the other: they are local files. */
static int pull_layout(cf_image_store *images, const char *uri, const cf_unpack_limits *limits,
                       cf_image *out, cf_err **err)
{
  cf_oci_uri parsed;
  if (cf_oci_uri_parse(uri, &parsed, err) < 0) {
    return -1;
  }
  cf_resolved_image resolved;
  int rc = cf_image_layout_resolve(parsed.path, parsed.tag, &resolved, err);
  if (rc == 0) {
    struct layer_source source = {cf_image_blob_produce, parsed.path, true};
    rc = pull_resolved(images, &source, &resolved, limits, 1, out, err);
    cf_resolved_image_clear(&resolved);
  }
  cf_oci_uri_clear(&parsed);
  return rc < 0 ? cf_err_wrap(err, "pull %s", uri) : 0;
}

static int pull_registry(cf_image_store *images, const cf_docker_uri *uri,
                         const cf_pull_options *options, const cf_unpack_limits *limits,
                         cf_image *out, cf_err **err)
{
  cf_registry *registry = NULL;
  if (cf_registry_open(uri, options, &registry, err) < 0) {
    return -1;
  }
  cf_resolved_image resolved;
  int rc = cf_registry_resolve(registry, uri, options != NULL ? &options->platform : NULL,
                               &resolved, err);
  if (rc == 0) {
    size_t parallel = options != NULL && options->parallel_layers != 0 ? options->parallel_layers
                                                                       : DEFAULT_PARALLEL_LAYERS;
    struct layer_source source = {cf_registry_produce_blob, registry, false};
    rc = pull_resolved(images, &source, &resolved, limits, parallel, out, err);
    cf_resolved_image_clear(&resolved);
  }
  cf_registry_close(registry);
  return rc;
}

static int pull_docker(cf_image_store *images, const char *uri, const cf_pull_options *options,
                       const cf_unpack_limits *limits, cf_image *out, cf_err **err)
{
  cf_docker_uri parsed;
  if (cf_docker_uri_parse(uri, &parsed, err) < 0) {
    return -1;
  }
  int rc = pull_registry(images, &parsed, options, limits, out, err);
  cf_docker_uri_clear(&parsed);
  return rc < 0 ? cf_err_wrap(err, "pull %s", uri) : 0;
}

/* Checks the mapping and records it in out, whose layers then use it. */
static int set_id_mapping(const cf_id_mapping *mapping, cf_image *out, cf_err **err)
{
  if (cf_id_mapping_validate(mapping, err) < 0) {
    return -1;
  }
  if (cf_id_mapping_is_set(mapping) && geteuid() != 0) {
    return cf_err_set(err, CF_E_INVALID,
                      "a uid and gid mapping needs root to set file owners; run as root or "
                      "pull without a mapping");
  }
  out->id_mapping = *mapping;
  return 0;
}

int cf_image_pull_with(cf_image_store *images, const char *uri, const cf_pull_options *options,
                       cf_image *out, cf_err **err)
{
  memset(out, 0, sizeof(*out));
  _Atomic int64_t image_bytes = 0;
  cf_unpack_limits limits;
  if (cf_unpack_limits_init(&limits, options, &image_bytes, err) < 0) {
    return cf_err_wrap(err, "pull %s", uri);
  }
  if (options != NULL && set_id_mapping(&options->id_mapping, out, err) < 0) {
    return cf_err_wrap(err, "pull %s", uri);
  }
  int rc = strncmp(uri, DOCKER_SCHEME, strlen(DOCKER_SCHEME)) == 0
               ? pull_docker(images, uri, options, &limits, out, err)
               : pull_layout(images, uri, &limits, out, err);
  if (rc < 0) {
    cf_image_clear(out);
  }
  return rc;
}

int cf_image_pull(cf_image_store *images, const char *uri, cf_image *out, cf_err **err)
{
  return cf_image_pull_with(images, uri, NULL, out, err);
}

void cf_rootfs_dirs_clear(cf_rootfs_dirs *dirs)
{
  free(dirs->upper);
  free(dirs->work);
  free(dirs->target);
  memset(dirs, 0, sizeof(*dirs));
}

/* Creates dir with mode 0755 whatever the umask; an existing directory is
 * kept. */
static int make_dir(const char *dir, cf_err **err)
{
  if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
    return cf_err_sys(err, errno, "create %s", dir);
  }
  struct stat st;
  if (lstat(dir, &st) < 0) {
    return cf_err_sys(err, errno, "stat %s", dir);
  }
  if (!S_ISDIR(st.st_mode)) {
    return cf_err_set(err, CF_E_EXISTS, "%s exists and is not a directory", dir);
  }
  if (chmod(dir, 0755) < 0) {
    return cf_err_sys(err, errno, "chmod %s", dir);
  }
  return 0;
}

int cf_image_rootfs_prepare(const char *container_dir, cf_rootfs_dirs *out, cf_err **err)
{
  memset(out, 0, sizeof(*out));
  out->upper = cf_path_join(container_dir, "rootfs-upper");
  out->work = cf_path_join(container_dir, "rootfs-work");
  out->target = cf_path_join(container_dir, "rootfs");
  if (make_dir(out->upper, err) < 0 || make_dir(out->work, err) < 0 ||
      make_dir(out->target, err) < 0) {
    cf_rootfs_dirs_clear(out);
    return cf_err_wrap(err, "prepare the root filesystem in %s", container_dir);
  }
  return 0;
}
