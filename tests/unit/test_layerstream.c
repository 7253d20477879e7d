/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the layer stream (internal/image/layer_stream.h): a Windows
 * layer tar built here byte by byte (ustar headers, PAX MSWINDOWS.* records),
 * compressed with libarchive's gzip and zstd writers, read back through
 * cf_layer_stream into cf_win_layer_import_tar with a recording sink. The
 * expected digests are sha256 of the bytes built here.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/mem.h"
#include "base/sha256.h"
#include "image/blob.h"
#include "image/layer_stream.h"
#include "image/winlayer.h"
#include "image/wintar.h"
#include "oci/oci.h"

#define BIG_SIZE 200000
#define RECORD 10240

static void assert_error(const cf_err *err, enum cf_code code, const char *part)
{
  assert_non_null(err);
  if (strstr(err->message, part) == NULL) {
    fail_msg("message \"%s\" does not contain \"%s\"", err->message, part);
  }
  assert_int_equal(err->code, code);
}

/* --- Tar building (test input) --- */

static void tar_header(cf_buf *out, const char *name, char type, uint64_t size)
{
  unsigned char h[512] = {0};
  memcpy(h, name, strlen(name) < 100 ? strlen(name) : 100);
  memcpy(h + 100, "0000644", 7);
  memcpy(h + 108, "0000000", 7);
  memcpy(h + 116, "0000000", 7);
  char number[32];
  snprintf(number, sizeof(number), "%011llo", (unsigned long long)size);
  memcpy(h + 124, number, 11);
  snprintf(number, sizeof(number), "%011o", 1600000000u);
  memcpy(h + 136, number, 11);
  h[156] = (unsigned char)type;
  memcpy(h + 257,
         "ustar\0"
         "00",
         8);
  memset(h + 148, ' ', 8);
  unsigned sum = 0;
  for (size_t i = 0; i < 512; i++) {
    sum += h[i];
  }
  snprintf((char *)h + 148, 8, "%06o", sum);
  cf_buf_append(out, h, 512, NULL);
}

static void tar_data(cf_buf *out, const void *data, size_t len)
{
  static const char zero[512];
  cf_buf_append(out, data, len, NULL);
  cf_buf_append(out, zero, (512 - len % 512) % 512, NULL);
}

static void tar_file(cf_buf *out, const char *name, const void *data, size_t len)
{
  tar_header(out, name, '0', len);
  tar_data(out, data, len);
}

static void tar_pax(cf_buf *out, const char *records)
{
  tar_header(out, "PaxHeaders/x", 'x', strlen(records));
  tar_data(out, records, strlen(records));
}

static void tar_zeros(cf_buf *out, size_t len)
{
  unsigned char *zero = cf_xcalloc(1, len);
  cf_buf_append(out, zero, len, NULL);
  free(zero);
}

static unsigned char big_byte(size_t i)
{
  return (unsigned char)(i * 7 % 251);
}

/* A Windows layer: Files and Hives directories, a file with a security
 * descriptor, a hive, a file that spans several 64 KiB reads and a whiteout,
 * ended with the end marker and padding to 10240-byte records. trailing
 * zero bytes follow the padding. */
static void build_layer_tar(cf_buf *tar, size_t trailing)
{
  cf_buf_init(tar, SIZE_MAX);
  tar_pax(tar, "25 MSWINDOWS.fileattr=16\n");
  tar_header(tar, "Files", '5', 0);
  /* rawsd "AQAEgA==" is the bytes 01 00 04 80. */
  tar_pax(tar, "25 MSWINDOWS.fileattr=32\n28 MSWINDOWS.rawsd=AQAEgA==\n");
  tar_file(tar, "Files/a.txt", "DATA", 4);
  tar_pax(tar, "25 MSWINDOWS.fileattr=16\n");
  tar_header(tar, "Hives", '5', 0);
  tar_file(tar, "Hives/System", "hive", 4);
  unsigned char *big = cf_xmalloc(BIG_SIZE);
  for (size_t i = 0; i < BIG_SIZE; i++) {
    big[i] = big_byte(i);
  }
  tar_file(tar, "Files/big.bin", big, BIG_SIZE);
  free(big);
  tar_header(tar, "Files/.wh.gone", '0', 0);
  tar_zeros(tar, 1024);
  tar_zeros(tar, (RECORD - tar->len % RECORD) % RECORD);
  tar_zeros(tar, trailing);
}

/* --- Compression (test input) --- */

static la_ssize_t append_output(struct archive *a, void *data, const void *buffer, size_t len)
{
  (void)a;
  return cf_buf_append(data, buffer, len, NULL) < 0 ? -1 : (la_ssize_t)len;
}

/* Compresses tar into out as one raw entry; skips when this libarchive
 * cannot write the filter without an external program. */
static void compress(const cf_buf *tar, enum cf_oci_compression compression, cf_buf *out)
{
  cf_buf_init(out, SIZE_MAX);
  if (compression == CF_OCI_COMPRESSION_NONE) {
    cf_buf_append(out, tar->data, tar->len, NULL);
    return;
  }
  struct archive *a = archive_write_new();
  int rc = compression == CF_OCI_COMPRESSION_GZIP ? archive_write_add_filter_gzip(a)
                                                  : archive_write_add_filter_zstd(a);
  if (rc != ARCHIVE_OK) {
    archive_write_free(a);
    skip();
  }
  assert_int_equal(archive_write_set_format_raw(a), ARCHIVE_OK);
  assert_int_equal(archive_write_set_bytes_in_last_block(a, 1), ARCHIVE_OK);
  assert_int_equal(archive_write_open(a, out, NULL, append_output, NULL), ARCHIVE_OK);
  struct archive_entry *entry = archive_entry_new();
  archive_entry_set_pathname(entry, "layer.tar");
  archive_entry_set_filetype(entry, AE_IFREG);
  archive_entry_set_size(entry, (la_int64_t)tar->len);
  assert_int_equal(archive_write_header(a, entry), ARCHIVE_OK);
  assert_int_equal(archive_write_data(a, tar->data, tar->len), (la_ssize_t)tar->len);
  assert_int_equal(archive_write_close(a), ARCHIVE_OK);
  archive_entry_free(entry);
  archive_write_free(a);
}

/* --- The pipeline --- */

typedef struct mem_reader {
  const unsigned char *data;
  size_t len;
  size_t pos;
  size_t step; /* bytes per read call, to test short reads */
} mem_reader;

static int mem_read(void *context, void *buf, size_t len, size_t *got, cf_err **err)
{
  mem_reader *reader = context;
  size_t left = reader->len - reader->pos;
  size_t n = len < left ? len : left;
  if (n > reader->step) {
    n = reader->step;
  }
  memcpy(buf, reader->data + reader->pos, n);
  reader->pos += n;
  *got = n;
  (void)err;
  return 0;
}

typedef struct recording_sink {
  cf_buf log;    /* one line per call */
  cf_buf stream; /* backup stream bytes of the last entry */
} recording_sink;

static int rec_begin(void *context, const cf_win_layer_entry *entry, cf_err **err)
{
  recording_sink *sink = context;
  static const char *const kinds[] = {"file", "dir", "symlink", "hardlink", "whiteout", "opaque"};
  cf_buf_reset(&sink->stream);
  return cf_buf_printf(&sink->log, err, "begin %s %s\n", kinds[entry->kind], entry->path);
}

static int rec_write(void *context, const void *data, size_t len, cf_err **err)
{
  recording_sink *sink = context;
  return cf_buf_append(&sink->stream, data, len, err);
}

static int rec_end(void *context, cf_err **err)
{
  recording_sink *sink = context;
  return cf_buf_append_str(&sink->log, "end\n", err);
}

static int rec_link(void *context, const char *path, const char *target, cf_err **err)
{
  recording_sink *sink = context;
  return cf_buf_printf(&sink->log, err, "link %s -> %s\n", path, target);
}

static int rec_remove(void *context, const char *path, bool opaque, cf_err **err)
{
  recording_sink *sink = context;
  return cf_buf_printf(&sink->log, err, "%s %s\n", opaque ? "opaque" : "remove", path);
}

static const cf_win_layer_sink recording = {rec_begin, rec_write,  rec_end,
                                            rec_link,  rec_remove, NULL};

/* One layer blob, its descriptor and the outcome of running it through
 * cf_layer_stream and cf_win_layer_import_tar. */
typedef struct pipeline {
  cf_buf tar;
  cf_buf blob;
  char blob_digest[CF_DIGEST_LEN + 1];
  char diff_id[CF_DIGEST_LEN + 1];
  cf_oci_descriptor desc;
  _Atomic int64_t image_bytes;
  cf_unpack_limits limits;
  recording_sink sink;
  uint64_t file_bytes; /* from the import */
  int import_rc;
  cf_err *import_err;
  int64_t stream_bytes; /* from cf_layer_stream_finish */
  int finish_rc;
  cf_err *finish_err;
} pipeline;

static const char *media_type_of(enum cf_oci_compression compression)
{
  switch (compression) {
  case CF_OCI_COMPRESSION_GZIP:
    return CF_OCI_MEDIA_LAYER_GZIP;
  case CF_OCI_COMPRESSION_ZSTD:
    return CF_OCI_MEDIA_LAYER_ZSTD;
  default:
    return CF_OCI_MEDIA_LAYER;
  }
}

/* Builds the layer, compresses it and fills a matching descriptor and
 * diff_id, which tests then change. */
static void pipeline_init(pipeline *p, enum cf_oci_compression compression, size_t trailing)
{
  memset(p, 0, sizeof(*p));
  build_layer_tar(&p->tar, trailing);
  compress(&p->tar, compression, &p->blob);
  cf_sha256_digest(p->blob.data, p->blob.len, p->blob_digest);
  cf_sha256_digest(p->tar.data, p->tar.len, p->diff_id);
  p->desc.media_type = (char *)media_type_of(compression);
  p->desc.digest = p->blob_digest;
  p->desc.size = (int64_t)p->blob.len;
  assert_int_equal(cf_unpack_limits_init(&p->limits, NULL, &p->image_bytes, NULL), 0);
  cf_buf_init(&p->sink.log, SIZE_MAX);
  cf_buf_init(&p->sink.stream, SIZE_MAX);
}

static void pipeline_free(pipeline *p)
{
  cf_buf_free(&p->tar);
  cf_buf_free(&p->blob);
  cf_buf_free(&p->sink.log);
  cf_buf_free(&p->sink.stream);
  cf_err_free(p->import_err);
  cf_err_free(p->finish_err);
}

/* Opens the stream (which must succeed), imports it as a non-base layer
 * and finishes it, recording both results. */
static void pipeline_run(pipeline *p)
{
  mem_reader reader = {(const unsigned char *)p->blob.data, p->blob.len, 0, 4093};
  cf_layer_stream *stream = NULL;
  cf_err *err = NULL;
  if (cf_layer_stream_open(&p->desc, p->diff_id, &p->limits, mem_read, &reader, &stream, &err) <
      0) {
    fail_msg("open: %s", err->message);
  }
  cf_wintar *tar = cf_wintar_new(cf_layer_stream_read, stream);
  p->import_rc =
      cf_win_layer_import_tar(tar, false, &recording, &p->sink, &p->file_bytes, &p->import_err);
  cf_wintar_free(tar);
  p->finish_rc = cf_layer_stream_finish(stream, &p->stream_bytes, &p->finish_err);
  cf_layer_stream_free(stream);
}

static const char expected_log[] = "begin dir Files\nend\n"
                                   "begin file Files\\a.txt\nend\n"
                                   "begin dir Hives\nend\n"
                                   "begin file Hives\\System\nend\n"
                                   "begin file Files\\big.bin\nend\n"
                                   "remove Files\\gone\n";

/* The last backup stream the sink saw is big.bin's: a BACKUP_DATA header
 * (id 1, attributes 0, size BIG_SIZE, no name) and the data. */
static void assert_big_stream(const cf_buf *stream)
{
  static const unsigned char header[20] = {
      1, 0, 0, 0, 0, 0, 0, 0, BIG_SIZE & 0xff, (BIG_SIZE >> 8) & 0xff, BIG_SIZE >> 16, 0,
      0, 0, 0, 0, 0, 0, 0, 0};
  assert_int_equal(stream->len, sizeof(header) + BIG_SIZE);
  assert_memory_equal(stream->data, header, sizeof(header));
  const unsigned char *data = (const unsigned char *)stream->data + sizeof(header);
  for (size_t i = 0; i < BIG_SIZE; i++) {
    if (data[i] != big_byte(i)) {
      fail_msg("big.bin byte %zu is %u, expected %u", i, data[i], big_byte(i));
    }
  }
}

static void import_compressed(enum cf_oci_compression compression)
{
  pipeline p;
  pipeline_init(&p, compression, 0);
  pipeline_run(&p);
  if (p.import_rc < 0) {
    fail_msg("import: %s", p.import_err->message);
  }
  if (p.finish_rc < 0) {
    fail_msg("finish: %s", p.finish_err->message);
  }
  assert_string_equal(p.sink.log.data, expected_log);
  assert_big_stream(&p.sink.stream);
  /* Regular file data: "DATA", "hive" and big.bin. */
  assert_int_equal(p.file_bytes, 4 + 4 + BIG_SIZE);
  /* Every tar byte counts, the end marker and record padding included. */
  assert_int_equal(p.stream_bytes, p.tar.len);
  assert_int_equal(p.tar.len % RECORD, 0);
  assert_int_equal(atomic_load(&p.image_bytes), (int64_t)p.tar.len);
  pipeline_free(&p);
}

static void import_gzip_layer(void **state)
{
  import_compressed(CF_OCI_COMPRESSION_GZIP);
}

static void import_zstd_layer(void **state)
{
  import_compressed(CF_OCI_COMPRESSION_ZSTD);
}

static void import_uncompressed_layer(void **state)
{
  import_compressed(CF_OCI_COMPRESSION_NONE);
}

static void assert_both_digests(const cf_err *err, const char *what, const char *expected,
                                const char *actual)
{
  assert_error(err, CF_E_INTEGRITY, what);
  assert_non_null(strstr(err->message, expected));
  assert_non_null(strstr(err->message, actual));
}

static void wrong_diff_id_fails_import(void **state)
{
  /* The stream ends within the lookahead of the tar reader's last reads,
   * so the mismatch fails a read and the import with it. */
  pipeline p;
  pipeline_init(&p, CF_OCI_COMPRESSION_GZIP, 0);
  char actual[CF_DIGEST_LEN + 1];
  memcpy(actual, p.diff_id, sizeof(actual));
  p.diff_id[CF_DIGEST_LEN - 1] = p.diff_id[CF_DIGEST_LEN - 1] == '0' ? '1' : '0';
  pipeline_run(&p);
  assert_int_equal(p.import_rc, -1);
  assert_both_digests(p.import_err, "diff_id mismatch: expected", p.diff_id, actual);
  assert_non_null(strstr(p.import_err->message, CF_OCI_MEDIA_LAYER_GZIP));
  /* The whiteout is the last entry, less than the lookahead before the
   * end, and the import failed before it. */
  assert_null(strstr(p.sink.log.data, "remove"));
  assert_int_equal(p.finish_rc, -1);
  assert_both_digests(p.finish_err, "diff_id mismatch: expected", p.diff_id, actual);
  pipeline_free(&p);
}

static void wrong_diff_id_fails_finish(void **state)
{
  /* 192 KiB of zeros after the records: the tar reader stops at the end
   * marker, before the stream ends, and only finish sees the mismatch. */
  pipeline p;
  pipeline_init(&p, CF_OCI_COMPRESSION_ZSTD, 3 * CF_LAYER_STREAM_LOOKAHEAD);
  char actual[CF_DIGEST_LEN + 1];
  memcpy(actual, p.diff_id, sizeof(actual));
  p.diff_id[CF_DIGEST_LEN - 1] = p.diff_id[CF_DIGEST_LEN - 1] == '0' ? '1' : '0';
  pipeline_run(&p);
  assert_int_equal(p.import_rc, 0);
  assert_string_equal(p.sink.log.data, expected_log);
  assert_int_equal(p.finish_rc, -1);
  assert_both_digests(p.finish_err, "diff_id mismatch: expected", p.diff_id, actual);
  pipeline_free(&p);
}

static void trailing_bytes_in_diff_id(void **state)
{
  /* The same layer with trailing zeros imports and verifies, and the
   * stream count includes the bytes the tar reader never asked for. */
  pipeline p;
  pipeline_init(&p, CF_OCI_COMPRESSION_GZIP, 3 * CF_LAYER_STREAM_LOOKAHEAD);
  pipeline_run(&p);
  assert_int_equal(p.import_rc, 0);
  assert_int_equal(p.finish_rc, 0);
  assert_int_equal(p.stream_bytes, p.tar.len);
  pipeline_free(&p);
}

static void wrong_blob_digest(void **state)
{
  pipeline p;
  pipeline_init(&p, CF_OCI_COMPRESSION_GZIP, 0);
  char actual[CF_DIGEST_LEN + 1];
  memcpy(actual, p.blob_digest, sizeof(actual));
  p.blob_digest[CF_DIGEST_LEN - 1] = p.blob_digest[CF_DIGEST_LEN - 1] == '0' ? '1' : '0';
  pipeline_run(&p);
  assert_int_equal(p.import_rc, -1);
  assert_both_digests(p.import_err, "blob: digest mismatch: expected", p.blob_digest, actual);
  assert_int_equal(p.finish_rc, -1);
  assert_both_digests(p.finish_err, "blob: digest mismatch: expected", p.blob_digest, actual);
  pipeline_free(&p);
}

static void corrupt_blob_names_digest(void **state)
{
  /* A flipped byte inside the deflate data breaks decompression, and the
   * error names the blob's digest, the cause, not the decompressor. */
  pipeline p;
  pipeline_init(&p, CF_OCI_COMPRESSION_GZIP, 0);
  unsigned char *bytes = (unsigned char *)p.blob.data;
  bytes[p.blob.len / 2] ^= 0xff;
  pipeline_run(&p);
  assert_int_equal(p.import_rc, -1);
  assert_error(p.import_err, CF_E_INTEGRITY, "blob: digest mismatch: expected");
  assert_non_null(strstr(p.import_err->message, p.blob_digest));
  pipeline_free(&p);
}

static void blob_longer_than_descriptor(void **state)
{
  /* Uncompressed, the blob is the 200 KiB tar, so the extra byte arrives
   * with the last read from the source, after the import began. */
  pipeline p;
  pipeline_init(&p, CF_OCI_COMPRESSION_NONE, 0);
  p.desc.size -= 1;
  pipeline_run(&p);
  assert_non_null(strstr(p.sink.log.data, "begin dir Files"));
  assert_int_equal(p.import_rc, -1);
  assert_error(p.import_err, CF_E_INTEGRITY, "the source sent more");
  assert_int_equal(p.finish_rc, -1);
  assert_error(p.finish_err, CF_E_INTEGRITY, "the source sent more");
  pipeline_free(&p);
}

static void layer_bytes_limit(void **state)
{
  pipeline p;
  pipeline_init(&p, CF_OCI_COMPRESSION_GZIP, 0);
  p.limits.max_layer_bytes = 4096;
  pipeline_run(&p);
  assert_int_equal(p.import_rc, -1);
  assert_error(p.import_err, CF_E_LIMIT, "exceeds the max_layer_bytes limit of 4096 bytes");
  /* The first read decodes 64 KiB, past the limit, so no entry began. */
  assert_int_equal(p.sink.log.len, 0);
  assert_int_equal(p.finish_rc, -1);
  assert_error(p.finish_err, CF_E_LIMIT, "max_layer_bytes");
  pipeline_free(&p);
}

static void image_bytes_limit(void **state)
{
  /* Earlier layers of the pull took 100000 bytes of a 150000 byte budget. */
  pipeline p;
  pipeline_init(&p, CF_OCI_COMPRESSION_GZIP, 0);
  p.limits.max_image_bytes = 150000;
  atomic_store(&p.image_bytes, 100000);
  pipeline_run(&p);
  assert_int_equal(p.import_rc, -1);
  assert_error(p.import_err, CF_E_LIMIT, "max_image_bytes limit of 150000 bytes");
  pipeline_free(&p);
}

static void open_error(const cf_oci_descriptor *desc, const char *diff_id, const cf_buf *blob,
                       enum cf_code code, const char *part)
{
  _Atomic int64_t image_bytes = 0;
  cf_unpack_limits limits;
  assert_int_equal(cf_unpack_limits_init(&limits, NULL, &image_bytes, NULL), 0);
  mem_reader reader = {(const unsigned char *)blob->data, blob->len, 0, SIZE_MAX};
  cf_layer_stream *stream = NULL;
  cf_err *err = NULL;
  assert_int_equal(cf_layer_stream_open(desc, diff_id, &limits, mem_read, &reader, &stream, &err),
                   -1);
  assert_null(stream);
  assert_error(err, code, part);
  cf_err_free(err);
}

static void truncated_blob_names_size(void **state)
{
  /* A blob cut in half makes the decompressor fail while the stream opens,
   * and the error names the blob's size, the cause. */
  pipeline p;
  pipeline_init(&p, CF_OCI_COMPRESSION_GZIP, 0);
  size_t full = p.blob.len;
  p.blob.len = full / 2;
  char sent[64];
  snprintf(sent, sizeof(sent), "the source sent %zu bytes", full / 2);
  open_error(&p.desc, p.diff_id, &p.blob, CF_E_INTEGRITY, sent);
  p.blob.len = full;
  pipeline_free(&p);
}

static void open_rejects(void **state)
{
  pipeline p;
  pipeline_init(&p, CF_OCI_COMPRESSION_NONE, 0);
  /* An uncompressed blob under a gzip media type. */
  cf_oci_descriptor desc = p.desc;
  desc.media_type = CF_OCI_MEDIA_LAYER_GZIP;
  open_error(&desc, p.diff_id, &p.blob, CF_E_INVALID, "is not compressed as its media type states");
  /* A media type that is not a layer. */
  desc.media_type = CF_OCI_MEDIA_CONFIG;
  open_error(&desc, p.diff_id, &p.blob, CF_E_INVALID, CF_OCI_MEDIA_CONFIG);
  /* A compressed blob longer than its descriptor, all read while opening. */
  pipeline_free(&p);
  pipeline_init(&p, CF_OCI_COMPRESSION_GZIP, 0);
  desc = p.desc;
  desc.size -= 1;
  open_error(&desc, p.diff_id, &p.blob, CF_E_INTEGRITY, "the source sent more");
  /* A diff_id that is not sha256 and 64 hex digits. */
  open_error(&p.desc, "sha256:abc", &p.blob, CF_E_INVALID, "sha256:abc");
  pipeline_free(&p);
}

static void read_from_fd(void **state)
{
  pipeline p;
  pipeline_init(&p, CF_OCI_COMPRESSION_GZIP, 0);
  FILE *file = tmpfile();
  assert_non_null(file);
  assert_int_equal(fwrite(p.blob.data, 1, p.blob.len, file), p.blob.len);
  assert_int_equal(fflush(file), 0);
  rewind(file);
  int fd = fileno(file);
  cf_layer_stream *stream = NULL;
  assert_int_equal(cf_layer_stream_open(&p.desc, p.diff_id, &p.limits, cf_layer_blob_read_fd, &fd,
                                        &stream, NULL),
                   0);
  /* Reads in odd sizes until the end, then finishes. */
  cf_buf out;
  cf_buf_init(&out, SIZE_MAX);
  char chunk[1000];
  size_t got = 0;
  do {
    assert_int_equal(cf_layer_stream_read(stream, chunk, sizeof(chunk), &got, NULL), 0);
    cf_buf_append(&out, chunk, got, NULL);
  } while (got > 0);
  int64_t size = 0;
  assert_int_equal(cf_layer_stream_finish(stream, &size, NULL), 0);
  assert_int_equal(size, p.tar.len);
  assert_int_equal(out.len, p.tar.len);
  assert_memory_equal(out.data, p.tar.data, p.tar.len);
  cf_layer_stream_free(stream);
  cf_buf_free(&out);
  fclose(file);
  pipeline_free(&p);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(import_gzip_layer),           cmocka_unit_test(import_zstd_layer),
      cmocka_unit_test(import_uncompressed_layer),   cmocka_unit_test(wrong_diff_id_fails_import),
      cmocka_unit_test(wrong_diff_id_fails_finish),  cmocka_unit_test(trailing_bytes_in_diff_id),
      cmocka_unit_test(wrong_blob_digest),           cmocka_unit_test(corrupt_blob_names_digest),
      cmocka_unit_test(blob_longer_than_descriptor), cmocka_unit_test(layer_bytes_limit),
      cmocka_unit_test(image_bytes_limit),           cmocka_unit_test(open_rejects),
      cmocka_unit_test(truncated_blob_names_size),   cmocka_unit_test(read_from_fd),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
