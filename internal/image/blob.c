/* SPDX-License-Identifier: Apache-2.0 */
#include "image/blob.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/mem.h"
#include "base/sha256.h"

char *cf_image_blob_path(const char *layout, const char *digest)
{
  /* digest is "sha256:<hex>"; the blob lives at blobs/sha256/<hex>. */
  cf_autofree char *dir = cf_path_join(layout, "blobs/sha256");
  return cf_path_join(dir, digest + strlen("sha256:"));
}

/* Opens the blob read-only. O_NONBLOCK keeps a FIFO planted in the layout
 * from blocking the open; regular files ignore the flag. */
static int open_blob(const char *layout, const cf_oci_descriptor *desc, int *fd_out, cf_err **err)
{
  cf_autofree char *path = cf_image_blob_path(layout, desc->digest);
  cf_autoclose int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0 && errno == ENOENT) {
    return cf_err_set(err, CF_E_NOT_FOUND, "%s blob %s is missing from the layout (%s)",
                      desc->media_type, desc->digest, path);
  }
  if (fd < 0) {
    return cf_err_sys(err, errno, "open %s blob %s", desc->media_type, path);
  }
  struct stat st;
  if (fstat(fd, &st) < 0) {
    return cf_err_sys(err, errno, "stat %s", path);
  }
  if (!S_ISREG(st.st_mode)) {
    return cf_err_set(err, CF_E_INVALID, "%s blob %s is not a regular file", desc->media_type,
                      path);
  }
  if (st.st_size != desc->size) {
    return cf_err_set(err, CF_E_INTEGRITY,
                      "%s blob %s: size mismatch: the descriptor says %" PRId64
                      " bytes, the blob has %lld bytes",
                      desc->media_type, desc->digest, desc->size, (long long)st.st_size);
  }
  *fd_out = cf_steal_fd(&fd);
  return 0;
}

static int check_blob(const char *layout, const cf_oci_descriptor *desc, cf_buf *buf, cf_err **err)
{
  cf_autoclose int fd = -1;
  if (open_blob(layout, desc, &fd, err) < 0) {
    return -1;
  }
  char digest[CF_DIGEST_LEN + 1];
  uint64_t total = 0;
  if (cf_sha256_fd(fd, buf, digest, &total, err) < 0) {
    return cf_err_wrap(err, "read %s blob %s", desc->media_type, desc->digest);
  }
  if (desc->size < 0 || total != (uint64_t)desc->size) {
    return cf_err_set(err, CF_E_INTEGRITY,
                      "%s blob %s: size mismatch: the descriptor says %" PRId64
                      " bytes, read %" PRIu64 " bytes",
                      desc->media_type, desc->digest, desc->size, total);
  }
  if (strcmp(digest, desc->digest) != 0) {
    return cf_err_set(err, CF_E_INTEGRITY, "%s blob: digest mismatch: expected %s, got %s",
                      desc->media_type, desc->digest, digest);
  }
  return 0;
}

int cf_image_blob_verify(const char *layout, const cf_oci_descriptor *desc, cf_err **err)
{
  return check_blob(layout, desc, NULL, err);
}

int cf_image_blob_read(const char *layout, const cf_oci_descriptor *desc, cf_buf *buf, cf_err **err)
{
  if (desc->size > (int64_t)CF_IMAGE_JSON_MAX) {
    return cf_err_set(err, CF_E_LIMIT,
                      "%s blob %s: %" PRId64 " bytes is more than the maximum of %u bytes",
                      desc->media_type, desc->digest, desc->size, CF_IMAGE_JSON_MAX);
  }
  cf_buf_reset(buf);
  return check_blob(layout, desc, buf, err);
}

void cf_blob_sink_init(cf_blob_sink *sink, const cf_oci_descriptor *desc, int fd)
{
  sink->desc = desc;
  sink->fd = fd;
  sink->written = 0;
  cf_sha256_init(&sink->sha);
}

int cf_blob_sink_write(cf_blob_sink *sink, const void *data, size_t len, cf_err **err)
{
  const cf_oci_descriptor *desc = sink->desc;
  if ((uint64_t)sink->written + len > (uint64_t)desc->size) {
    return cf_err_set(err, CF_E_INTEGRITY,
                      "%s blob %s: size mismatch: the descriptor says %" PRId64
                      " bytes, the source sent more",
                      desc->media_type, desc->digest, desc->size);
  }
  cf_sha256_update(&sink->sha, data, len);
  sink->written += (int64_t)len;
  return cf_blob_pipe_write(sink->fd, data, len, err);
}

int cf_blob_sink_finish(cf_blob_sink *sink, cf_err **err)
{
  const cf_oci_descriptor *desc = sink->desc;
  if (sink->written != desc->size) {
    return cf_err_set(err, CF_E_INTEGRITY,
                      "%s blob %s: size mismatch: the descriptor says %" PRId64
                      " bytes, the source sent %" PRId64 " bytes",
                      desc->media_type, desc->digest, desc->size, sink->written);
  }
  char digest[CF_DIGEST_LEN + 1];
  cf_sha256_finish(&sink->sha, digest);
  if (strcmp(digest, desc->digest) != 0) {
    return cf_err_set(err, CF_E_INTEGRITY, "%s blob: digest mismatch: expected %s, got %s",
                      desc->media_type, desc->digest, digest);
  }
  return 0;
}

int cf_image_blob_produce(void *ctx, const cf_oci_descriptor *desc, cf_blob_sink *sink,
                          cf_err **err)
{
  const char *layout = ctx;
  cf_autoclose int fd = -1;
  if (open_blob(layout, desc, &fd, err) < 0) {
    return -1;
  }
  char chunk[65536];
  for (;;) {
    ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return cf_err_sys(err, errno, "read %s blob %s", desc->media_type, desc->digest);
    }
    if (n == 0) {
      return 0;
    }
    if (cf_blob_sink_write(sink, chunk, (size_t)n, err) < 0) {
      return -1;
    }
  }
}
