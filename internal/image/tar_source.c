/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Local tar files as single-layer images, as groot accepts any image URI
 * without a scheme. The tar goes through the verified OCI layout pull: a
 * temporary layout whose only layer blob is a symbolic link to the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/sha256.h"
#include "oci/oci.h"
#include "image/volume.h"
#include "image/volume_internal.h"

static int check_tar_file(const char *path, cf_err **err)
{
  struct stat st;
  if (stat(path, &st) < 0) {
    return cf_err_sys(err, errno, "open image tar file %s", path);
  }
  if (S_ISDIR(st.st_mode)) {
    return cf_err_set(err, CF_E_INVALID, "directory provided instead of a tar file: %s", path);
  }
  if (!S_ISREG(st.st_mode)) {
    return cf_err_set(err, CF_E_INVALID, "image tar file %s is not a regular file", path);
  }
  unsigned char magic[2] = {0};
  cf_autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return cf_err_sys(err, errno, "open image tar file %s", path);
  }
  if (read(fd, magic, sizeof(magic)) == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
    return cf_err_set(err, CF_E_INVALID,
                      "image tar file %s is gzip-compressed; decompress it or use an oci:// "
                      "image",
                      path);
  }
  return 0;
}

/* Writes data as a blob of the layout and fills desc (borrowing digest). */
static int write_blob(const char *layout, const char *media_type, const char *data,
                      char digest[CF_DIGEST_LEN + 1], cf_err **err)
{
  cf_sha256_digest(data, strlen(data), digest);
  cf_autofree char *path = cf_xasprintf("%s/blobs/sha256/%s", layout, digest + strlen("sha256:"));
  if (cf_write_file_atomic(path, data, strlen(data), 0600, err) < 0) {
    return cf_err_wrap(err, "write %s blob", media_type);
  }
  return 0;
}

/* Writes a one-layer OCI layout around the tar, whose blob is a symbolic
 * link to it, so the pull verifies and unpacks it like any layout blob. */
static int write_layout(const char *layout, const char *tar, const char *digest, uint64_t size,
                        cf_err **err)
{
  cf_autofree char *blobs = cf_path_join(layout, "blobs/sha256");
  cf_autofree char *blob = cf_path_join(blobs, digest + strlen("sha256:"));
  if (cf_mkdir_p(blobs, 0700, err) < 0) {
    return -1;
  }
  if (symlink(tar, blob) < 0) {
    return cf_err_sys(err, errno, "link %s into %s", tar, layout);
  }
  char config_digest[CF_DIGEST_LEN + 1];
  char manifest_digest[CF_DIGEST_LEN + 1];
  cf_autofree char *config =
      cf_xasprintf("{\"architecture\":\"" CF_OCI_HOST_ARCH "\",\"os\":\"" CF_OCI_HOST_OS "\","
                   "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\"]}}",
                   digest);
  if (write_blob(layout, CF_OCI_MEDIA_CONFIG, config, config_digest, err) < 0) {
    return -1;
  }
  cf_autofree char *manifest = cf_xasprintf(
      "{\"schemaVersion\":2,\"mediaType\":\"" CF_OCI_MEDIA_MANIFEST "\","
      "\"config\":{\"mediaType\":\"" CF_OCI_MEDIA_CONFIG "\",\"digest\":\"%s\",\"size\":%zu},"
      "\"layers\":[{\"mediaType\":\"" CF_OCI_MEDIA_LAYER "\",\"digest\":\"%s\",\"size\":%llu}]}",
      config_digest, strlen(config), digest, (unsigned long long)size);
  if (write_blob(layout, CF_OCI_MEDIA_MANIFEST, manifest, manifest_digest, err) < 0) {
    return -1;
  }
  cf_autofree char *index = cf_xasprintf(
      "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" CF_OCI_MEDIA_MANIFEST "\","
      "\"digest\":\"%s\",\"size\":%zu}]}",
      manifest_digest, strlen(manifest));
  cf_autofree char *index_path = cf_path_join(layout, "index.json");
  cf_autofree char *marker_path = cf_path_join(layout, "oci-layout");
  static const char marker[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
  if (cf_write_file_atomic(index_path, index, strlen(index), 0600, err) < 0 ||
      cf_write_file_atomic(marker_path, marker, strlen(marker), 0600, err) < 0) {
    return -1;
  }
  return 0;
}

static int make_layout_dir(cf_image_store *images, char **layout, cf_err **err)
{
  char suffix[17];
  if (cf_random_hex(suffix, 8, err) < 0) {
    return -1;
  }
  cf_autofree char *volumes = cf_volume__root(images);
  *layout = cf_xasprintf("%.*s/tar-source-%s", (int)(strlen(volumes) - strlen("/volumes")), volumes,
                         suffix);
  return 0;
}

static int unpack_tar(cf_image_store *images, const char *path, const cf_pull_options *options,
                      cf_image *out, cf_err **err)
{
  char digest[CF_DIGEST_LEN + 1];
  uint64_t size = 0;
  if (check_tar_file(path, err) < 0 || cf_sha256_file(path, digest, &size, err) < 0) {
    return -1;
  }
  cf_autofree char *layout = NULL;
  if (make_layout_dir(images, &layout, err) < 0) {
    return -1;
  }
  int rc = write_layout(layout, path, digest, size, err);
  if (rc == 0) {
    cf_autofree char *uri = cf_xasprintf("oci://%s", layout);
    rc = cf_image_pull_with(images, uri, options, out, err);
  }
  cf_err *rm_err = NULL;
  if (cf_rm_rf(layout, &rm_err) < 0) {
    cf_log_error("tar-source.remove-layout-failed", rm_err, "{s:s}", "path", layout);
    cf_err_free(rm_err);
  }
  return rc;
}

int cf_image_source_pull(cf_image_store *images, const char *uri, const cf_pull_options *options,
                         cf_image *out, cf_err **err)
{
  if (strstr(uri, "://") != NULL) {
    return cf_image_pull_with(images, uri, options, out, err);
  }
  memset(out, 0, sizeof(*out));
  cf_autofree char *path = realpath(uri, NULL);
  if (path == NULL) {
    return cf_err_sys(err, errno, "pull %s: resolve the image tar file path", uri);
  }
  if (unpack_tar(images, path, options, out, err) < 0) {
    cf_image_clear(out);
    return cf_err_wrap(err, "pull %s", uri);
  }
  return 0;
}
