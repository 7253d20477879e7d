/* SPDX-License-Identifier: Apache-2.0 */
/* Resolving a docker:// URI to a verified manifest and config. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/mem.h"
#include "image/layout.h"
#include "image/registry.h"
#include "image/registry_http.h"

/* Indexes may nest; deeper chains than this are treated as malformed. */
#define MAX_INDEX_DEPTH 8

static int parse_manifest(const cf_buf *body, const char *digest, cf_resolved_image *out,
                          cf_err **err)
{
  if (cf_oci_manifest_parse(body->data, body->len, &out->manifest, err) < 0) {
    return cf_err_wrap(err, "image manifest %s", digest);
  }
  out->manifest_digest = cf_xstrdup(digest);
  return 0;
}

static int fetch_by_descriptor(cf_registry *registry, const cf_oci_descriptor *desc, cf_buf *body,
                               cf_err **err)
{
  char digest[CF_DIGEST_LEN + 1];
  cf_autofree char *media_type = NULL;
  if (cf_registry_get_manifest(registry, desc->digest, desc->size, body, &media_type, digest, err) <
      0) {
    return -1;
  }
  if ((int64_t)body->len != desc->size) {
    return cf_err_set(err, CF_E_INTEGRITY,
                      "%s %s: size mismatch: the index says %lld bytes, the registry sent %zu",
                      desc->media_type, desc->digest, (long long)desc->size, body->len);
  }
  return 0;
}

/* Follows an index to the entry for the wanted platform, then to its
 * manifest. body holds the index on entry. */
static int resolve_document(cf_registry *registry, const cf_image_platform *want, cf_buf *body,
                            const char *media_type, const char *digest, int depth,
                            cf_resolved_image *out, cf_err **err);

static int resolve_index(cf_registry *registry, const cf_image_platform *want, cf_buf *body,
                         const char *digest, int depth, cf_resolved_image *out, cf_err **err)
{
  if (depth >= MAX_INDEX_DEPTH) {
    return cf_err_set(err, CF_E_INVALID, "image index %s: indexes nest more than %d deep", digest,
                      MAX_INDEX_DEPTH);
  }
  cf_oci_index index;
  if (cf_oci_index_parse(body->data, body->len, &index, err) < 0) {
    return cf_err_wrap(err, "image index %s", digest);
  }
  const cf_oci_descriptor *chosen = NULL;
  int rc = cf_platform_select(&index, want, &chosen, err);
  if (rc == 0) {
    rc = fetch_by_descriptor(registry, chosen, body, err);
  }
  if (rc == 0) {
    rc = resolve_document(registry, want, body, chosen->media_type, chosen->digest, depth + 1, out,
                          err);
  }
  cf_oci_index_clear(&index);
  if (rc < 0) {
    return cf_err_wrap(err, "image index %s", digest);
  }
  return 0;
}

static int resolve_document(cf_registry *registry, const cf_image_platform *want, cf_buf *body,
                            const char *media_type, const char *digest, int depth,
                            cf_resolved_image *out, cf_err **err)
{
  enum cf_oci_kind kind = cf_oci_media_kind(media_type);
  if (kind == CF_OCI_KIND_MANIFEST) {
    return parse_manifest(body, digest, out, err);
  }
  if (kind == CF_OCI_KIND_INDEX) {
    return resolve_index(registry, want, body, digest, depth, out, err);
  }
  return cf_err_set(err, CF_E_INVALID,
                    "%s has media type \"%s\", expected an image manifest or index (Docker "
                    "schema 1 manifests are not supported)",
                    digest, media_type);
}

int cf_manifest_check_layer_count(const cf_oci_manifest *manifest, const char *digest,
                                  unsigned max_layers, cf_err **err)
{
  unsigned limit = max_layers != 0 ? max_layers : CF_IMAGE_DEFAULT_MAX_LAYERS;
  if (manifest->layer_count <= limit) {
    return 0;
  }
  return cf_err_set(err, CF_E_LIMIT,
                    "image manifest %s has %zu layers, more than the max_layers limit of %u "
                    "(max_layers in the groot config file, --max-layers of cfwin serve); "
                    "overlayfs stacks at most %u layers, so rebuild the image with fewer layers",
                    digest, manifest->layer_count, limit, CF_IMAGE_DEFAULT_MAX_LAYERS);
}

static int read_config(cf_registry *registry, cf_resolved_image *out, cf_err **err)
{
  const cf_oci_descriptor *desc = &out->manifest.config;
  cf_buf body;
  cf_buf_init(&body, CF_REGISTRY_JSON_MAX);
  int rc = cf_registry_get_blob(registry, desc, &body, err);
  if (rc < 0) {
    cf_err_wrap(err, "image config %s", desc->digest);
  } else {
    rc = cf_resolved_image_set_config(out, body.data, body.len, err);
  }
  cf_buf_free(&body);
  return rc;
}

static int resolve(cf_registry *registry, const cf_docker_uri *uri, const cf_image_platform *want,
                   cf_resolved_image *out, cf_err **err)
{
  const char *reference = uri->digest != NULL ? uri->digest : uri->tag;
  cf_buf body;
  cf_buf_init(&body, CF_REGISTRY_JSON_MAX);
  cf_autofree char *media_type = NULL;
  char digest[CF_DIGEST_LEN + 1];
  int rc = cf_registry_get_manifest(registry, reference, -1, &body, &media_type, digest, err);
  if (rc == 0) {
    rc = resolve_document(registry, want, &body, media_type, digest, 0, out, err);
  }
  if (rc == 0) {
    rc = cf_manifest_check_layer_count(&out->manifest, out->manifest_digest, registry->max_layers,
                                       err);
  }
  cf_buf_free(&body);
  if (rc < 0) {
    return -1;
  }
  return read_config(registry, out, err);
}

int cf_registry_resolve(cf_registry *registry, const cf_docker_uri *uri,
                        const cf_image_platform *want, cf_resolved_image *out, cf_err **err)
{
  memset(out, 0, sizeof(*out));
  if (resolve(registry, uri, want, out, err) < 0) {
    cf_resolved_image_clear(out);
    return -1;
  }
  return 0;
}
