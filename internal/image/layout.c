/* SPDX-License-Identifier: Apache-2.0 */
#include "image/layout.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/mem.h"
#include "image/blob.h"

/* Indexes may nest; deeper chains than this are treated as malformed. */
#define MAX_INDEX_DEPTH 8

void cf_resolved_image_clear(cf_resolved_image *image)
{
  free(image->manifest_digest);
  cf_oci_manifest_clear(&image->manifest);
  cf_oci_config_clear(&image->config);
  image->manifest_digest = NULL;
}

/* Reads a layout file such as index.json into buf (bounded). */
static int read_layout_file(const char *layout, const char *name, cf_buf *buf, cf_err **err)
{
  cf_autofree char *path = cf_path_join(layout, name);
  cf_buf_reset(buf);
  cf_err *read_err = NULL;
  if (cf_read_file(path, buf, &read_err) == 0) {
    return 0;
  }
  bool missing = read_err->code == CF_E_SYSTEM && read_err->sys_errno == ENOENT;
  if (missing || err == NULL) {
    cf_err_free(read_err);
  } else {
    cf_err_free(*err);
    *err = read_err;
  }
  if (missing) {
    return cf_err_set(err, CF_E_NOT_FOUND, "no OCI image layout at %s: %s is missing", layout,
                      name);
  }
  return -1;
}

static int read_index_json(const char *layout, cf_oci_index *index, cf_err **err)
{
  cf_buf buf;
  cf_buf_init(&buf, CF_IMAGE_JSON_MAX);
  int rc = read_layout_file(layout, "oci-layout", &buf, err);
  if (rc == 0) {
    rc = cf_oci_layout_check(buf.data, buf.len, err);
  }
  if (rc == 0) {
    rc = read_layout_file(layout, "index.json", &buf, err);
  }
  if (rc == 0 && cf_oci_index_parse(buf.data, buf.len, index, err) < 0) {
    rc = cf_err_wrap(err, "index.json");
  }
  cf_buf_free(&buf);
  return rc;
}

/* Lists the tags in index.json as "a, b, c", plus a count of untagged entries. */
static char *describe_tags(const cf_oci_index *index)
{
  cf_buf text;
  cf_buf_init(&text, SIZE_MAX);
  size_t untagged = 0;
  for (size_t i = 0; i < index->manifest_count; i++) {
    const char *tag =
        cf_oci_descriptor_annotation(&index->manifests[i], CF_OCI_ANNOTATION_REF_NAME);
    if (tag == NULL) {
      untagged++;
      continue;
    }
    cf_buf_printf(&text, NULL, "%s\"%s\"", text.len > 0 ? ", " : "", tag);
  }
  if (text.len == 0) {
    cf_buf_append_str(&text, "none", NULL);
  }
  if (untagged > 0) {
    cf_buf_printf(&text, NULL, " (and %zu untagged)", untagged);
  }
  return cf_buf_take(&text);
}

static bool platform_matches(const cf_oci_descriptor *desc)
{
  return desc->has_platform && strcmp(desc->platform.os, CF_OCI_HOST_OS) == 0 &&
         strcmp(desc->platform.architecture, CF_OCI_HOST_ARCH) == 0;
}

/* Picks the entry for this host: the first whose platform matches, else the
 * first without a platform. Returns NULL when none fits. */
static const cf_oci_descriptor *pick_platform(const cf_oci_descriptor *const *entries, size_t count)
{
  for (size_t i = 0; i < count; i++) {
    if (platform_matches(entries[i])) {
      return entries[i];
    }
  }
  for (size_t i = 0; i < count; i++) {
    if (!entries[i]->has_platform) {
      return entries[i];
    }
  }
  return NULL;
}

static int no_platform_error(const cf_oci_descriptor *const *entries, size_t count, cf_err **err)
{
  cf_buf text;
  cf_buf_init(&text, SIZE_MAX);
  for (size_t i = 0; i < count; i++) {
    const cf_oci_platform *p = &entries[i]->platform;
    cf_buf_printf(&text, NULL, "%s%s/%s%s%s", i > 0 ? ", " : "", p->os, p->architecture,
                  p->variant[0] != '\0' ? "/" : "", p->variant);
  }
  cf_autofree char *platforms = cf_buf_take(&text);
  return cf_err_set(err, CF_E_NOT_FOUND, "no image for %s/%s; the index offers %s", CF_OCI_HOST_OS,
                    CF_OCI_HOST_ARCH, platforms);
}

static int select_for_platform(const cf_oci_descriptor *const *entries, size_t count,
                               const cf_oci_descriptor **out, cf_err **err)
{
  *out = pick_platform(entries, count);
  if (*out == NULL) {
    return no_platform_error(entries, count, err);
  }
  return 0;
}

static int select_untagged(const char *layout, const cf_oci_index *index,
                           const cf_oci_descriptor **out, cf_err **err)
{
  if (index->manifest_count == 1) {
    *out = &index->manifests[0];
    return 0;
  }
  if (index->manifest_count == 0) {
    return cf_err_set(err, CF_E_NOT_FOUND, "index.json lists no images");
  }
  cf_autofree char *tags = describe_tags(index);
  return cf_err_set(err, CF_E_INVALID,
                    "index.json lists %zu images, so the URI must name one as "
                    "oci://%s:TAG; available tags: %s",
                    index->manifest_count, layout, tags);
}

/* Picks the index.json entry for tag, or the only entry when tag is NULL. */
static int select_entry(const char *layout, const cf_oci_index *index, const char *tag,
                        const cf_oci_descriptor **out, cf_err **err)
{
  if (tag == NULL) {
    return select_untagged(layout, index, out, err);
  }
  const cf_oci_descriptor **matches = cf_xcalloc(index->manifest_count, sizeof(*matches));
  size_t count = 0;
  for (size_t i = 0; i < index->manifest_count; i++) {
    const char *name =
        cf_oci_descriptor_annotation(&index->manifests[i], CF_OCI_ANNOTATION_REF_NAME);
    if (name != NULL && strcmp(name, tag) == 0) {
      matches[count++] = &index->manifests[i];
    }
  }
  int rc = 0;
  if (count == 0) {
    cf_autofree char *tags = describe_tags(index);
    rc = cf_err_set(err, CF_E_NOT_FOUND, "tag \"%s\" not found; available tags: %s", tag, tags);
  } else if (count == 1) {
    *out = matches[0];
  } else {
    rc = select_for_platform(matches, count, out, err);
  }
  free(matches);
  return rc;
}

static int read_nested_index(const char *layout, const cf_oci_descriptor *desc, cf_oci_index *index,
                             cf_err **err)
{
  cf_buf buf;
  cf_buf_init(&buf, CF_IMAGE_JSON_MAX);
  int rc = cf_image_blob_read(layout, desc, &buf, err);
  if (rc == 0) {
    rc = cf_oci_index_parse(buf.data, buf.len, index, err);
  }
  cf_buf_free(&buf);
  if (rc < 0) {
    return cf_err_wrap(err, "image index %s", desc->digest);
  }
  return 0;
}

static int read_manifest(const char *layout, const cf_oci_descriptor *desc, cf_resolved_image *out,
                         cf_err **err)
{
  cf_buf buf;
  cf_buf_init(&buf, CF_IMAGE_JSON_MAX);
  int rc = cf_image_blob_read(layout, desc, &buf, err);
  if (rc == 0) {
    rc = cf_oci_manifest_parse(buf.data, buf.len, &out->manifest, err);
  }
  cf_buf_free(&buf);
  if (rc < 0) {
    return cf_err_wrap(err, "image manifest %s", desc->digest);
  }
  out->manifest_digest = cf_xstrdup(desc->digest);
  return 0;
}

/* Follows desc through nested indexes to a manifest and reads it. */
static int resolve_descriptor(const char *layout, const cf_oci_descriptor *desc, int depth,
                              cf_resolved_image *out, cf_err **err)
{
  enum cf_oci_kind kind = cf_oci_media_kind(desc->media_type);
  if (kind == CF_OCI_KIND_MANIFEST) {
    return read_manifest(layout, desc, out, err);
  }
  if (kind != CF_OCI_KIND_INDEX) {
    return cf_err_set(err, CF_E_INVALID,
                      "%s has media type \"%s\", expected an image manifest or index", desc->digest,
                      desc->media_type);
  }
  if (depth >= MAX_INDEX_DEPTH) {
    return cf_err_set(err, CF_E_INVALID, "image index %s: indexes nest more than %d deep",
                      desc->digest, MAX_INDEX_DEPTH);
  }

  cf_oci_index index;
  if (read_nested_index(layout, desc, &index, err) < 0) {
    return -1;
  }
  const cf_oci_descriptor **entries = cf_xcalloc(index.manifest_count, sizeof(*entries));
  for (size_t i = 0; i < index.manifest_count; i++) {
    entries[i] = &index.manifests[i];
  }
  const cf_oci_descriptor *chosen = NULL;
  int rc = select_for_platform(entries, index.manifest_count, &chosen, err);
  if (rc == 0) {
    rc = resolve_descriptor(layout, chosen, depth + 1, out, err);
  }
  if (rc < 0) {
    cf_err_wrap(err, "image index %s", desc->digest);
  }
  free(entries);
  cf_oci_index_clear(&index);
  return rc;
}

int cf_resolved_image_set_config(cf_resolved_image *out, const char *data, size_t len, cf_err **err)
{
  const cf_oci_descriptor *desc = &out->manifest.config;
  if (cf_oci_config_parse(data, len, &out->config, err) < 0) {
    return cf_err_wrap(err, "image config %s", desc->digest);
  }
  if (out->config.diff_id_count != out->manifest.layer_count) {
    return cf_err_set(
        err, CF_E_INVALID, "image config %s lists %zu diff_ids but manifest %s has %zu layers",
        desc->digest, out->config.diff_id_count, out->manifest_digest, out->manifest.layer_count);
  }
  return 0;
}

static int read_config(const char *layout, cf_resolved_image *out, cf_err **err)
{
  const cf_oci_descriptor *desc = &out->manifest.config;
  cf_buf buf;
  cf_buf_init(&buf, CF_IMAGE_JSON_MAX);
  int rc = cf_image_blob_read(layout, desc, &buf, err);
  if (rc < 0) {
    cf_err_wrap(err, "image config %s", desc->digest);
  } else {
    rc = cf_resolved_image_set_config(out, buf.data, buf.len, err);
  }
  cf_buf_free(&buf);
  return rc;
}

static int resolve(const char *path, const char *tag, cf_resolved_image *out, cf_err **err)
{
  cf_oci_index index;
  if (read_index_json(path, &index, err) < 0) {
    return -1;
  }
  const cf_oci_descriptor *entry = NULL;
  int rc = select_entry(path, &index, tag, &entry, err);
  if (rc == 0) {
    rc = resolve_descriptor(path, entry, 0, out, err);
  }
  cf_oci_index_clear(&index);
  if (rc < 0) {
    return -1;
  }
  return read_config(path, out, err);
}

int cf_image_layout_resolve(const char *path, const char *tag, cf_resolved_image *out, cf_err **err)
{
  memset(out, 0, sizeof(*out));
  if (resolve(path, tag, out, err) < 0) {
    cf_resolved_image_clear(out);
    return -1;
  }
  return 0;
}
