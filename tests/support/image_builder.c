/* SPDX-License-Identifier: Apache-2.0 */
/* OCI layouts for tests: layer tars, compression, blobs, configs,
 * manifests and index.json. */
#include "image_builder.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/mem.h"
#include "oci/oci.h"

/* Largest layer the builder keeps in memory. */
#define LAYER_MAX ((size_t)1 << 30)

static la_ssize_t append_output(struct archive *a, void *data, const void *buffer, size_t length)
{
  cf_buf *out = data;
  if (cf_buf_append(out, buffer, length, NULL) < 0) {
    archive_set_error(a, EFBIG, "layer is larger than the builder's maximum of %zu bytes",
                      LAYER_MAX);
    return -1;
  }
  return (la_ssize_t)length;
}

static int archive_fail(cf_err **err, struct archive *a, const char *context)
{
  return cf_err_set(err, CF_E_SYSTEM, "%s: %s", context, archive_error_string(a));
}

static struct archive_entry *new_entry(const char *path, mode_t type, unsigned mode)
{
  struct archive_entry *entry = archive_entry_new();
  archive_entry_set_pathname(entry, path);
  archive_entry_set_filetype(entry, type);
  archive_entry_set_perm(entry, mode);
  archive_entry_set_uid(entry, 0);
  archive_entry_set_gid(entry, 0);
  archive_entry_set_mtime(entry, 0, 0);
  return entry;
}

static int write_entry(struct archive *a, struct archive_entry *entry, const void *data, size_t len,
                       cf_err **err)
{
  archive_entry_set_size(entry, (la_int64_t)len);
  int rc = 0;
  if (archive_write_header(a, entry) != ARCHIVE_OK) {
    rc = archive_fail(err, a, archive_entry_pathname(entry));
  } else if (len > 0 && archive_write_data(a, data, len) != (la_ssize_t)len) {
    rc = archive_fail(err, a, archive_entry_pathname(entry));
  }
  archive_entry_free(entry);
  return rc;
}

static struct archive_entry *new_crafted_entry(const cf_tar_entry *e, mode_t type,
                                               unsigned default_mode)
{
  struct archive_entry *entry = new_entry(e->path, type, e->mode != 0 ? e->mode : default_mode);
  const char *equals = e->xattr != NULL ? strchr(e->xattr, '=') : NULL;
  if (equals != NULL) {
    cf_autofree char *name = cf_xstrndup(e->xattr, (size_t)(equals - e->xattr));
    archive_entry_xattr_add_entry(entry, name, equals + 1, strlen(equals + 1));
  }
  return entry;
}

static int write_crafted(struct archive *a, const cf_tar_entry *e, cf_err **err)
{
  const char *data = e->data != NULL ? e->data : "";
  struct archive_entry *entry;
  switch (e->type) {
  case CF_TAR_FILE:
    entry = new_crafted_entry(e, AE_IFREG, 0644);
    return write_entry(a, entry, data, strlen(data), err);
  case CF_TAR_DIR:
    entry = new_crafted_entry(e, AE_IFDIR, 0755);
    return write_entry(a, entry, NULL, 0, err);
  case CF_TAR_SYMLINK:
    entry = new_crafted_entry(e, AE_IFLNK, 0777);
    archive_entry_set_symlink(entry, data);
    return write_entry(a, entry, NULL, 0, err);
  case CF_TAR_HARDLINK:
    entry = new_crafted_entry(e, AE_IFREG, 0644);
    archive_entry_set_hardlink(entry, data);
    return write_entry(a, entry, NULL, 0, err);
  case CF_TAR_CHAR_DEVICE:
    entry = new_crafted_entry(e, AE_IFCHR, 0666);
    archive_entry_set_rdevmajor(entry, 1);
    archive_entry_set_rdevminor(entry, 3);
    return write_entry(a, entry, NULL, 0, err);
  }
  return cf_err_set(err, CF_E_INVALID, "unknown tar entry type %d", (int)e->type);
}

static int write_tree(struct archive *a, const char *root, const char *rel, cf_err **err);

static int write_tree_entry(struct archive *a, const char *root, const char *rel, cf_err **err)
{
  cf_autofree char *full = cf_path_join(root, rel);
  struct stat st;
  if (lstat(full, &st) < 0) {
    return cf_err_sys(err, errno, "stat %s", full);
  }
  unsigned mode = st.st_mode & 07777;
  if (S_ISDIR(st.st_mode)) {
    if (write_entry(a, new_entry(rel, AE_IFDIR, mode), NULL, 0, err) < 0) {
      return -1;
    }
    return write_tree(a, root, rel, err);
  }
  if (S_ISLNK(st.st_mode)) {
    char target[4096];
    ssize_t n = readlink(full, target, sizeof(target) - 1);
    if (n < 0) {
      return cf_err_sys(err, errno, "readlink %s", full);
    }
    target[n] = '\0';
    struct archive_entry *entry = new_entry(rel, AE_IFLNK, 0777);
    archive_entry_set_symlink(entry, target);
    return write_entry(a, entry, NULL, 0, err);
  }
  if (S_ISREG(st.st_mode)) {
    cf_buf content;
    cf_buf_init(&content, LAYER_MAX);
    int rc = cf_read_file(full, &content, err);
    if (rc == 0) {
      rc = write_entry(a, new_entry(rel, AE_IFREG, mode), content.data, content.len, err);
    }
    cf_buf_free(&content);
    return rc;
  }
  return 0; /* sockets, FIFOs and devices are left out */
}

/* Archives the children of root/rel in name order, so output is stable. */
static int write_tree(struct archive *a, const char *root, const char *rel, cf_err **err)
{
  cf_autofree char *dir = rel[0] != '\0' ? cf_path_join(root, rel) : cf_xstrdup(root);
  struct dirent **names = NULL;
  int n = scandir(dir, &names, NULL, alphasort);
  if (n < 0) {
    return cf_err_sys(err, errno, "read directory %s", dir);
  }
  int rc = 0;
  for (int i = 0; i < n; i++) {
    const char *name = names[i]->d_name;
    if (rc == 0 && strcmp(name, ".") != 0 && strcmp(name, "..") != 0) {
      cf_autofree char *child = rel[0] != '\0' ? cf_path_join(rel, name) : cf_xstrdup(name);
      rc = write_tree_entry(a, root, child, err);
    }
    free(names[i]);
  }
  free(names);
  return rc;
}

static int write_tar_entries(const cf_test_layer *layer, cf_buf *tar, cf_err **err)
{
  struct archive *a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  if (archive_write_open(a, tar, NULL, append_output, NULL) != ARCHIVE_OK) {
    int rc = archive_fail(err, a, "open tar writer");
    archive_write_free(a);
    return rc;
  }
  int rc = 0;
  if (layer->source_dir != NULL) {
    rc = write_tree(a, layer->source_dir, "", err);
  }
  for (size_t i = 0; rc == 0 && layer->source_dir == NULL && i < layer->entry_count; i++) {
    rc = write_crafted(a, &layer->entries[i], err);
  }
  if (archive_write_close(a) != ARCHIVE_OK && rc == 0) {
    rc = archive_fail(err, a, "close tar writer");
  }
  archive_write_free(a);
  return rc;
}

/* Writes the tar in the C.UTF-8 locale on this thread only: libarchive
 * converts path names from the current locale to UTF-8 for pax headers, and
 * in the C locale it cannot convert non-ASCII names. */
static int write_tar(const cf_test_layer *layer, cf_buf *tar, cf_err **err)
{
  locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
  if (utf8 == (locale_t)0) {
    return cf_err_sys(err, errno, "newlocale C.UTF-8");
  }
  locale_t previous = uselocale(utf8);
  int rc = write_tar_entries(layer, tar, err);
  uselocale(previous);
  freelocale(utf8);
  return rc;
}

static int add_filter(struct archive *a, enum cf_test_compression compression, cf_err **err)
{
  if (compression == CF_TEST_GZIP) {
    if (archive_write_add_filter_gzip(a) != ARCHIVE_OK ||
        archive_write_set_filter_option(a, "gzip", "timestamp", NULL) != ARCHIVE_OK) {
      return archive_fail(err, a, "gzip");
    }
    return 0;
  }
  if (archive_write_add_filter_zstd(a) != ARCHIVE_OK) {
    return archive_fail(err, a, "zstd");
  }
  return 0;
}

static int compress(const cf_buf *tar, enum cf_test_compression compression, cf_buf *out,
                    cf_err **err)
{
  struct archive *a = archive_write_new();
  archive_write_set_format_raw(a);
  archive_write_set_bytes_in_last_block(a, 1);
  int rc = add_filter(a, compression, err);
  if (rc == 0 && archive_write_open(a, out, NULL, append_output, NULL) != ARCHIVE_OK) {
    rc = archive_fail(err, a, "open compressor");
  }
  if (rc == 0) {
    rc = write_entry(a, new_entry("layer.tar", AE_IFREG, 0644), tar->data, tar->len, err);
  }
  if (archive_write_close(a) != ARCHIVE_OK && rc == 0) {
    rc = archive_fail(err, a, "close compressor");
  }
  archive_write_free(a);
  return rc;
}

static const char *layer_media_type(enum cf_test_compression compression)
{
  switch (compression) {
  case CF_TEST_GZIP:
    return CF_OCI_MEDIA_LAYER_GZIP;
  case CF_TEST_ZSTD:
    return CF_OCI_MEDIA_LAYER_ZSTD;
  case CF_TEST_UNCOMPRESSED:
    break;
  }
  return CF_OCI_MEDIA_LAYER;
}

static int store_layer(const cf_test_layer *layer, cf_buf *blob, const char *path,
                       cf_built_layer *out, cf_err **err)
{
  cf_sha256_digest(blob->data, blob->len, out->digest);
  out->size = (int64_t)blob->len + (layer->wrong_size ? 1 : 0);
  snprintf(out->media_type, sizeof(out->media_type), "%s", layer_media_type(layer->compression));
  if (layer->corrupt_blob && blob->len > 0) {
    blob->data[blob->len / 2] ^= 0x5a;
  }
  return cf_write_file_atomic(path, blob->data, blob->len, 0644, err);
}

int cf_test_layer_write(const cf_test_layer *layer, const char *path, cf_built_layer *out,
                        cf_err **err)
{
  memset(out, 0, sizeof(*out));
  cf_buf tar, packed;
  cf_buf_init(&tar, LAYER_MAX);
  cf_buf_init(&packed, LAYER_MAX);
  int rc = write_tar(layer, &tar, err);
  if (rc == 0) {
    cf_sha256_digest(tar.data, tar.len, out->diff_id);
    if (layer->wrong_diff_id) {
      cf_sha256_digest("other content", strlen("other content"), out->diff_id);
    }
  }
  if (rc == 0 && layer->compression != CF_TEST_UNCOMPRESSED) {
    rc = compress(&tar, layer->compression, &packed, err);
  }
  if (rc == 0) {
    rc = store_layer(layer, layer->compression == CF_TEST_UNCOMPRESSED ? &tar : &packed, path, out,
                     err);
  }
  cf_buf_free(&tar);
  cf_buf_free(&packed);
  return rc;
}

/* --- layouts --- */

static char *blob_path(const char *dir, const char *digest)
{
  return cf_xasprintf("%s/blobs/sha256/%s", dir, digest + strlen("sha256:"));
}

/* Stores data under stated_digest; with corrupt, one byte differs from
 * what was digested. */
static int store_blob(const char *dir, const char *data, size_t len, const char *stated_digest,
                      bool corrupt, cf_err **err)
{
  cf_autofree char *copy = cf_xmalloc(len + 1);
  memcpy(copy, data, len);
  if (corrupt && len > 0) {
    copy[len / 2] ^= 0x5a;
  }
  cf_autofree char *path = blob_path(dir, stated_digest);
  return cf_write_file_atomic(path, copy, len, 0644, err);
}

int cf_test_blob_write(const char *dir, const void *data, size_t len,
                       char digest[CF_DIGEST_LEN + 1], cf_err **err)
{
  cf_autofree char *blobs = cf_path_join(dir, "blobs/sha256");
  if (cf_mkdir_p(blobs, 0755, err) < 0) {
    return -1;
  }
  cf_sha256_digest(data, len, digest);
  return store_blob(dir, data, len, digest, false, err);
}

int cf_test_index_write(const char *dir, const char *index_json, cf_err **err)
{
  static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
  cf_autofree char *layout_path = cf_path_join(dir, "oci-layout");
  cf_autofree char *index_path = cf_path_join(dir, "index.json");
  if (cf_mkdir_p(dir, 0755, err) < 0 ||
      cf_write_file_atomic(layout_path, layout, strlen(layout), 0644, err) < 0) {
    return -1;
  }
  return cf_write_file_atomic(index_path, index_json, strlen(index_json), 0644, err);
}

static json_t *descriptor(const char *media_type, const char *digest, int64_t size)
{
  return json_pack("{s:s, s:s, s:I}", "mediaType", media_type, "digest", digest, "size",
                   (json_int_t)size);
}

static const char *docker_layer_type(const char *oci_type)
{
  if (strcmp(oci_type, CF_OCI_MEDIA_LAYER_GZIP) == 0) {
    return CF_DOCKER_MEDIA_LAYER_GZIP;
  }
  if (strcmp(oci_type, CF_OCI_MEDIA_LAYER) == 0) {
    return CF_DOCKER_MEDIA_LAYER;
  }
  return NULL;
}

static int write_layers(const char *dir, const cf_test_image *image, cf_built_image *built,
                        json_t *layers, json_t *diff_ids, cf_err **err)
{
  if (image->layer_count > CF_TEST_MAX_LAYERS) {
    return cf_err_set(err, CF_E_LIMIT, "at most %d layers per image", CF_TEST_MAX_LAYERS);
  }
  cf_autofree char *temp = cf_path_join(dir, "blobs/sha256/layer.tmp");
  for (size_t i = 0; i < image->layer_count; i++) {
    cf_built_layer *out = &built->layers[i];
    if (cf_test_layer_write(&image->layers[i], temp, out, err) < 0) {
      return -1;
    }
    cf_autofree char *path = blob_path(dir, out->digest);
    if (rename(temp, path) < 0) {
      return cf_err_sys(err, errno, "rename %s to %s", temp, path);
    }
    if (image->docker_media_types) {
      const char *docker_type = docker_layer_type(out->media_type);
      if (docker_type == NULL) {
        return cf_err_set(err, CF_E_INVALID, "Docker schema 2 has no zstd layer type");
      }
      snprintf(out->media_type, sizeof(out->media_type), "%s", docker_type);
    }
    json_array_append_new(layers, descriptor(out->media_type, out->digest, out->size));
    json_array_append_new(diff_ids, json_string(out->diff_id));
    built->layer_count++;
  }
  return 0;
}

/* Serialises doc, stores it as a blob and returns its descriptor. */
static json_t *store_json(const char *dir, json_t *doc, const char *media_type, bool corrupt,
                          char digest[CF_DIGEST_LEN + 1], int64_t *size, cf_err **err)
{
  cf_autofree char *text = json_dumps(doc, JSON_COMPACT);
  size_t len = strlen(text);
  cf_sha256_digest(text, len, digest);
  *size = (int64_t)len;
  if (store_blob(dir, text, len, digest, corrupt, err) < 0) {
    return NULL;
  }
  return descriptor(media_type, digest, *size);
}

static json_t *config_doc(const cf_test_image *image, json_t *diff_ids)
{
  json_t *env = json_array();
  for (size_t i = 0; i < image->env_count; i++) {
    json_array_append_new(env, json_string(image->env[i]));
  }
  return json_pack("{s:s, s:s, s:{s:o}, s:{s:s, s:o}}", "architecture", CF_OCI_HOST_ARCH, "os",
                   CF_OCI_HOST_OS, "config", "Env", env, "rootfs", "type", "layers", "diff_ids",
                   diff_ids);
}

static json_t *write_image(const char *dir, const cf_test_image *image, cf_built_image *built,
                           cf_err **err)
{
  bool docker = image->docker_media_types;
  json_t *layers = json_array();
  json_t *diff_ids = json_array();
  if (write_layers(dir, image, built, layers, diff_ids, err) < 0) {
    json_decref(layers);
    json_decref(diff_ids);
    return NULL;
  }
  json_t *config = config_doc(image, diff_ids);
  int64_t size = 0;
  json_t *config_desc =
      store_json(dir, config, docker ? CF_DOCKER_MEDIA_CONFIG : CF_OCI_MEDIA_CONFIG,
                 image->corrupt_config, built->config_digest, &size, err);
  json_decref(config);
  if (config_desc == NULL) {
    json_decref(layers);
    return NULL;
  }
  const char *manifest_type = docker ? CF_DOCKER_MEDIA_MANIFEST : CF_OCI_MEDIA_MANIFEST;
  json_t *manifest = json_pack("{s:i, s:s, s:o, s:o}", "schemaVersion", 2, "mediaType",
                               manifest_type, "config", config_desc, "layers", layers);
  json_t *desc = store_json(dir, manifest, manifest_type, image->corrupt_manifest,
                            built->manifest_digest, &built->manifest_size, err);
  json_decref(manifest);
  if (desc != NULL && image->tag != NULL) {
    json_object_set_new(desc, "annotations",
                        json_pack("{s:s}", CF_OCI_ANNOTATION_REF_NAME, image->tag));
  }
  return desc;
}

int cf_test_layout_write(const char *dir, const cf_test_image *images, size_t count,
                         cf_built_image *results, cf_err **err)
{
  cf_autofree char *blobs = cf_path_join(dir, "blobs/sha256");
  if (cf_mkdir_p(blobs, 0755, err) < 0) {
    return -1;
  }
  json_t *manifests = json_array();
  for (size_t i = 0; i < count; i++) {
    cf_built_image built;
    memset(&built, 0, sizeof(built));
    json_t *desc = write_image(dir, &images[i], &built, err);
    if (desc == NULL) {
      json_decref(manifests);
      return cf_err_wrap(err, "image %zu", i);
    }
    json_array_append_new(manifests, desc);
    if (results != NULL) {
      results[i] = built;
    }
  }
  json_t *index = json_pack("{s:i, s:s, s:o}", "schemaVersion", 2, "mediaType", CF_OCI_MEDIA_INDEX,
                            "manifests", manifests);
  cf_autofree char *text = json_dumps(index, JSON_COMPACT);
  json_decref(index);
  return cf_test_index_write(dir, text, err);
}
