/* SPDX-License-Identifier: Apache-2.0 */
#include "image/image.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/fs.h"
#include "base/mem.h"
#include "base/sha256.h"
#include "image/layer_store.h"
#include "image/layout.h"

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
  free_strings(image->env, image->env_count);
  free(image->manifest_digest);
  memset(image, 0, sizeof(*image));
}

static int pull_layer(cf_image_store *images, const char *layout, const cf_resolved_image *resolved,
                      size_t i, cf_image *out, cf_err **err)
{
  const char *parent = i > 0 ? out->chain_ids[i - 1] : NULL;
  char chain_id[CF_DIGEST_LEN + 1];
  cf_chain_id(parent, resolved->config.diff_ids[i], chain_id);
  cf_layer_request request = {
      .produce = cf_image_blob_produce,
      .produce_ctx = (void *)layout,
      .verify_first = true,
      .blob = &resolved->manifest.layers[i],
      .diff_id = resolved->config.diff_ids[i],
      .parent_chain_id = parent,
      .chain_id = chain_id,
  };
  char *dir = NULL;
  if (cf_image_layer_ensure(images, &request, &dir, err) < 0) {
    return cf_err_wrap(err, "layer %zu of %zu", i + 1, resolved->manifest.layer_count);
  }
  out->layer_dirs[i] = dir;
  out->chain_ids[i] = cf_xstrdup(chain_id);
  out->layer_count = i + 1;
  return 0;
}

static int pull_layers(cf_image_store *images, const char *layout,
                       const cf_resolved_image *resolved, cf_image *out, cf_err **err)
{
  size_t count = resolved->manifest.layer_count;
  if (count == 0) {
    return cf_err_set(err, CF_E_INVALID, "image manifest %s has no layers",
                      resolved->manifest_digest);
  }
  out->layer_dirs = cf_xcalloc(count, sizeof(*out->layer_dirs));
  out->chain_ids = cf_xcalloc(count, sizeof(*out->chain_ids));
  for (size_t i = 0; i < count; i++) {
    if (pull_layer(images, layout, resolved, i, out, err) < 0) {
      return -1;
    }
  }
  return 0;
}

static void copy_env(const cf_oci_image_config *config, cf_image *out)
{
  out->env = cf_xcalloc(config->env_count + 1, sizeof(*out->env));
  for (size_t i = 0; i < config->env_count; i++) {
    out->env[i] = cf_xstrdup(config->env[i]);
  }
  out->env_count = config->env_count;
}

static int pull(cf_image_store *images, const cf_oci_uri *uri, cf_image *out, cf_err **err)
{
  cf_resolved_image resolved;
  if (cf_image_layout_resolve(uri->path, uri->tag, &resolved, err) < 0) {
    return -1;
  }
  int rc = pull_layers(images, uri->path, &resolved, out, err);
  if (rc == 0) {
    copy_env(&resolved.config, out);
    out->manifest_digest = cf_xstrdup(resolved.manifest_digest);
  }
  cf_resolved_image_clear(&resolved);
  return rc;
}

int cf_image_pull(cf_image_store *images, const char *uri, cf_image *out, cf_err **err)
{
  memset(out, 0, sizeof(*out));
  cf_oci_uri parsed;
  if (cf_oci_uri_parse(uri, &parsed, err) < 0) {
    return -1;
  }
  int rc = pull(images, &parsed, out, err);
  cf_oci_uri_clear(&parsed);
  if (rc < 0) {
    cf_image_clear(out);
    return cf_err_wrap(err, "pull %s", uri);
  }
  return 0;
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
