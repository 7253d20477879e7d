/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The layer stream of layer_stream.h. A libarchive reader with the raw
 * format decompresses the blob, which it pulls through read_compressed(),
 * so every compressed byte is hashed and counted. Decompressed bytes go
 * into a window that is refilled until CF_LAYER_STREAM_LOOKAHEAD bytes are
 * buffered ahead of the reader or the stream has ended and been checked.
 */
#include "image/layer_stream.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/mem.h"
#include "base/sha256.h"

#define CHUNK 65536
#define WINDOW_SIZE (CF_LAYER_STREAM_LOOKAHEAD + CHUNK)

/* The same advice as the unpack's limit errors. */
#define RAISE_LAYER_BYTES                                                                          \
  "raise max_layer_bytes in the groot config file or --max-layer-bytes of cfwin serve"

enum stream_state {
  STREAM_READING,  /* the decompressed stream has more bytes */
  STREAM_VERIFIED, /* it ended and both digests matched */
  STREAM_FAILED,   /* the error is in failure */
};

struct cf_layer_stream {
  const cf_oci_descriptor *blob; /* borrowed */
  char expected_diff_id[CF_DIGEST_LEN + 1];
  const cf_unpack_limits *limits; /* borrowed */
  enum cf_oci_compression compression;
  cf_wintar_read_fn read_blob;
  void *blob_context;
  cf_sha256 blob_sha;
  int64_t blob_bytes;
  bool blob_ended;
  cf_err *blob_err; /* the source failed or sent too much; wins over what it caused */
  struct archive *decompressor;
  cf_sha256 tar_sha;
  int64_t tar_bytes;
  enum stream_state state;
  cf_err *failure;
  unsigned char *window; /* WINDOW_SIZE bytes; [start, end) not yet read */
  size_t start;
  size_t end;
  unsigned char blob_chunk[CHUNK];
};

/* --- The compressed side --- */

/* Reads the next piece of the blob into blob_chunk, hashing and counting
 * it. More bytes than the descriptor states fail at once, as in
 * cf_blob_sink_write, so an endless source stops. */
static int pull_blob(cf_layer_stream *s, size_t *got)
{
  *got = 0;
  if (s->blob_err != NULL) {
    return -1;
  }
  if (s->blob_ended) {
    return 0;
  }
  if (s->read_blob(s->blob_context, s->blob_chunk, sizeof(s->blob_chunk), got, &s->blob_err) < 0) {
    return cf_err_wrap(&s->blob_err, "read %s blob %s", s->blob->media_type, s->blob->digest);
  }
  if (*got == 0) {
    s->blob_ended = true;
    return 0;
  }
  if ((uint64_t)s->blob_bytes + *got > (uint64_t)s->blob->size) {
    return cf_err_set(&s->blob_err, CF_E_INTEGRITY,
                      "%s blob %s: size mismatch: the descriptor says %" PRId64
                      " bytes, the source sent more",
                      s->blob->media_type, s->blob->digest, s->blob->size);
  }
  cf_sha256_update(&s->blob_sha, s->blob_chunk, *got);
  s->blob_bytes += (int64_t)*got;
  return 0;
}

static la_ssize_t read_compressed(struct archive *a, void *data, const void **buffer)
{
  cf_layer_stream *s = data;
  size_t got = 0;
  if (pull_blob(s, &got) < 0) {
    archive_set_error(a, EIO, "%s", s->blob_err->message);
    return ARCHIVE_FATAL;
  }
  *buffer = s->blob_chunk;
  return (la_ssize_t)got;
}

/* Hashes the rest of the blob, which the decompressor may not have asked
 * for, so the digest covers all of it. */
static int drain_blob(cf_layer_stream *s)
{
  size_t got = 0;
  do {
    if (pull_blob(s, &got) < 0) {
      return -1;
    }
  } while (got > 0);
  return 0;
}

/* Drains the blob and checks its size and digest, with the messages of
 * cf_blob_sink_finish. The error goes to s->blob_err. */
static int check_blob(cf_layer_stream *s)
{
  const cf_oci_descriptor *blob = s->blob;
  if (drain_blob(s) < 0) {
    return -1;
  }
  if (s->blob_bytes != blob->size) {
    return cf_err_set(&s->blob_err, CF_E_INTEGRITY,
                      "%s blob %s: size mismatch: the descriptor says %" PRId64
                      " bytes, the source sent %" PRId64 " bytes",
                      blob->media_type, blob->digest, blob->size, s->blob_bytes);
  }
  char digest[CF_DIGEST_LEN + 1];
  cf_sha256_finish(&s->blob_sha, digest);
  if (strcmp(digest, blob->digest) != 0) {
    return cf_err_set(&s->blob_err, CF_E_INTEGRITY, "%s blob: digest mismatch: expected %s, got %s",
                      blob->media_type, blob->digest, digest);
  }
  return 0;
}

/* --- Failures --- */

/* Records err as the stream's failure and returns -1. */
static int fail_with(cf_layer_stream *s, cf_err *err)
{
  cf_err_free(s->failure);
  s->failure = err;
  s->state = STREAM_FAILED;
  return -1;
}

/* Records the blob's own error when it has one, else err. A truncated or
 * corrupt blob makes the decompressor fail too, but the blob's size or
 * digest names the cause. */
static int fail_preferring_blob(cf_layer_stream *s, cf_err *err)
{
  if (s->blob_err == NULL && check_blob(s) == 0) {
    return fail_with(s, err);
  }
  cf_err_free(err);
  return fail_with(s, cf_steal(&s->blob_err));
}

static int decompress_failed(cf_layer_stream *s, const char *context)
{
  const char *text = archive_error_string(s->decompressor);
  cf_err *err = NULL;
  cf_err_set(&err, CF_E_INVALID, "%s: %s", context, text != NULL ? text : "unknown error");
  return fail_preferring_blob(s, err);
}

/* Returns the stream's failure again, as a new error in *err. */
static int repeat_failure(const cf_layer_stream *s, cf_err **err)
{
  return cf_err_set(err, s->failure->code, "%s", s->failure->message);
}

/* --- Opening --- */

/* Registers only the filter the media type names, as the unpack does:
 * archive_read_support_filter_all() would also accept formats that
 * libarchive decodes by running an external program. */
static int support_filter(cf_layer_stream *s, cf_err **err)
{
  int rc = ARCHIVE_OK;
  if (s->compression == CF_OCI_COMPRESSION_GZIP) {
    rc = archive_read_support_filter_gzip(s->decompressor);
  } else if (s->compression == CF_OCI_COMPRESSION_ZSTD) {
    rc = archive_read_support_filter_zstd(s->decompressor);
  }
  if (rc != ARCHIVE_OK) {
    return cf_err_set(err, CF_E_NOT_IMPLEMENTED,
                      "this libarchive has no built-in decompressor for %s", s->blob->media_type);
  }
  return 0;
}

/* Rejects a blob that libarchive did not recognise as the compression its
 * media type states: the raw format would pass its bytes on unchanged. */
static int check_filter(cf_layer_stream *s)
{
  int expected = ARCHIVE_FILTER_NONE;
  if (s->compression == CF_OCI_COMPRESSION_GZIP) {
    expected = ARCHIVE_FILTER_GZIP;
  } else if (s->compression == CF_OCI_COMPRESSION_ZSTD) {
    expected = ARCHIVE_FILTER_ZSTD;
  }
  if (archive_filter_code(s->decompressor, 0) == expected) {
    return 0;
  }
  cf_err *err = NULL;
  cf_err_set(&err, CF_E_INVALID, "%s blob %s is not compressed as its media type states",
             s->blob->media_type, s->blob->digest);
  return fail_preferring_blob(s, err);
}

static int start_decompressor(cf_layer_stream *s, cf_err **err)
{
  s->decompressor = archive_read_new();
  if (support_filter(s, err) < 0) {
    return -1;
  }
  archive_read_support_format_raw(s->decompressor);
  struct archive_entry *entry;
  if (archive_read_open(s->decompressor, s, NULL, read_compressed, NULL) != ARCHIVE_OK ||
      archive_read_next_header(s->decompressor, &entry) != ARCHIVE_OK) {
    decompress_failed(s, "read layer blob");
    return repeat_failure(s, err);
  }
  if (check_filter(s) < 0) {
    return repeat_failure(s, err);
  }
  return 0;
}

int cf_layer_stream_open(const cf_oci_descriptor *blob, const char *expected_diff_id,
                         const cf_unpack_limits *limits, cf_wintar_read_fn read_blob,
                         void *blob_context, cf_layer_stream **out, cf_err **err)
{
  enum cf_oci_compression compression;
  if (cf_digest_validate(expected_diff_id, err) < 0 ||
      cf_oci_layer_compression(blob->media_type, &compression, err) < 0) {
    return -1;
  }
  cf_layer_stream *s = cf_xcalloc(1, sizeof(*s));
  s->blob = blob;
  memcpy(s->expected_diff_id, expected_diff_id, sizeof(s->expected_diff_id));
  s->limits = limits;
  s->compression = compression;
  s->read_blob = read_blob;
  s->blob_context = blob_context;
  s->window = cf_xmalloc(WINDOW_SIZE);
  cf_sha256_init(&s->blob_sha);
  cf_sha256_init(&s->tar_sha);
  if (start_decompressor(s, err) < 0) {
    cf_layer_stream_free(s);
    return -1;
  }
  *out = s;
  return 0;
}

void cf_layer_stream_free(cf_layer_stream *stream)
{
  if (stream == NULL) {
    return;
  }
  if (stream->decompressor != NULL) {
    archive_read_free(stream->decompressor);
  }
  cf_err_free(stream->blob_err);
  cf_err_free(stream->failure);
  free(stream->window);
  free(stream);
}

/* --- The uncompressed side --- */

/* Counts n more uncompressed bytes against the layer and image limits,
 * with the unpack's messages. */
static int charge_bytes(cf_layer_stream *s, int64_t n)
{
  cf_err *err = NULL;
  s->tar_bytes += n;
  if (s->tar_bytes > s->limits->max_layer_bytes) {
    cf_err_set(&err, CF_E_LIMIT,
               "the uncompressed layer exceeds the max_layer_bytes limit of %" PRId64
               " bytes (" RAISE_LAYER_BYTES ")",
               s->limits->max_layer_bytes);
    return fail_with(s, err);
  }
  if (cf_unpack_limits_charge(s->limits, n, &err) < 0) {
    return fail_with(s, err);
  }
  return 0;
}

/* Checks the blob, then the diff_id, when the decompressed stream ends.
 * The blob goes first because a wrong blob also gives a wrong diff_id. */
static int verify_end(cf_layer_stream *s)
{
  if (check_blob(s) < 0) {
    return fail_with(s, cf_steal(&s->blob_err));
  }
  char diff_id[CF_DIGEST_LEN + 1];
  cf_sha256_finish(&s->tar_sha, diff_id);
  if (strcmp(diff_id, s->expected_diff_id) != 0) {
    cf_err *err = NULL;
    cf_err_set(&err, CF_E_INTEGRITY,
               "uncompressed %s content: diff_id mismatch: expected %s, got %s",
               s->blob->media_type, s->expected_diff_id, diff_id);
    return fail_with(s, err);
  }
  s->state = STREAM_VERIFIED;
  return 0;
}

/* Decompresses one more piece into the window, or verifies the end. */
static int decode_more(cf_layer_stream *s)
{
  if (s->start > 0) {
    memmove(s->window, s->window + s->start, s->end - s->start);
    s->end -= s->start;
    s->start = 0;
  }
  la_ssize_t n = archive_read_data(s->decompressor, s->window + s->end, WINDOW_SIZE - s->end);
  if (n < 0) {
    return decompress_failed(s, "decompress layer blob");
  }
  if (n == 0) {
    return verify_end(s);
  }
  cf_sha256_update(&s->tar_sha, s->window + s->end, (size_t)n);
  s->end += (size_t)n;
  return charge_bytes(s, n);
}

/* Keeps CF_LAYER_STREAM_LOOKAHEAD bytes buffered while the stream lasts. */
static int fill_window(cf_layer_stream *s)
{
  while (s->state == STREAM_READING && s->end - s->start < CF_LAYER_STREAM_LOOKAHEAD) {
    if (decode_more(s) < 0) {
      return -1;
    }
  }
  return 0;
}

int cf_layer_stream_read(void *context, void *buf, size_t len, size_t *got, cf_err **err)
{
  cf_layer_stream *s = context;
  *got = 0;
  if (fill_window(s) < 0 || s->state == STREAM_FAILED) {
    return repeat_failure(s, err);
  }
  size_t n = s->end - s->start;
  if (n > len) {
    n = len;
  }
  memcpy(buf, s->window + s->start, n);
  s->start += n;
  *got = n;
  return 0;
}

int cf_layer_stream_finish(cf_layer_stream *stream, int64_t *size, cf_err **err)
{
  while (stream->state == STREAM_READING) {
    stream->start = stream->end;
    if (decode_more(stream) < 0) {
      break;
    }
  }
  if (stream->state == STREAM_FAILED) {
    return repeat_failure(stream, err);
  }
  *size = stream->tar_bytes;
  return 0;
}

int cf_layer_blob_read_fd(void *context, void *buf, size_t len, size_t *got, cf_err **err)
{
  const int *fd = context;
  for (;;) {
    ssize_t n = read(*fd, buf, len);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return cf_err_sys(err, errno, "read the layer blob");
    }
    *got = (size_t)n;
    return 0;
  }
}
