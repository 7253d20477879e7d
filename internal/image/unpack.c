/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Layer extraction. One libarchive reader decompresses the blob (raw format)
 * and a second one reads the tar from it through read_tar_bytes(), which
 * hashes every byte, so the diff_id covers the whole uncompressed stream.
 *
 * The extraction runs on its own thread, which calls unshare(CLONE_FS) so
 * that its working directory, root and umask are private. The thread enters
 * the layer directory and, with CAP_SYS_CHROOT, chroots into it, so even a
 * path the checks missed resolves inside the layer. The rest of the
 * (multi-threaded) server keeps its own working directory and root.
 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/sha256.h"
#include "image/blob.h"
#include "image/entry.h"
#include "image/image.h"
#include "oci/oci.h"

#define STREAM_CHUNK 65536

/* The option that raises each limit, for the error messages. */
#define RAISE_LAYER_BYTES                                                                          \
  "raise max_layer_bytes in the groot config file or --max-layer-bytes of cfwin serve"
#define RAISE_IMAGE_BYTES                                                                          \
  "raise max_image_bytes in the groot config file or --max-image-bytes of cfwin serve"
#define RAISE_LAYER_ENTRIES                                                                        \
  "raise max_layer_entries in the groot config file or --max-layer-entries of cfwin serve"

/* The decompressed layer as the tar reader sees it, hashed and counted
 * against the limits on the way. */
struct hashed_stream {
  struct archive *decompressed;
  const cf_unpack_limits *limits;
  cf_sha256 sha;
  int64_t total;
  int64_t entries;
  cf_err *limit_err; /* set when the stream passed a limit */
  char chunk[STREAM_CHUNK];
};

struct unpack_job {
  int blob_fd; /* a file, or the read end of a stream the producer writes */
  int dest_fd;
  bool drain_input; /* read blob_fd to its end before the thread exits */
  enum cf_oci_compression compression;
  const cf_unpack_limits *limits;
  const cf_id_mapping *id_mapping; /* NULL when owners stay as the tar states them */
  char diff_id[CF_DIGEST_LEN + 1]; /* computed */
  int64_t size;                    /* computed: bytes of the uncompressed stream */
  bool started;                    /* the thread ran, so dest may hold entries */
  cf_err *err;
};

static int archive_fail(cf_err **err, struct archive *a, const char *context)
{
  const char *text = archive_error_string(a);
  return cf_err_set(err, CF_E_INVALID, "%s: %s", context, text != NULL ? text : "unknown error");
}

/* Registers only the filter the media type names: archive_read_support_filter_all()
 * would also accept formats that libarchive decodes by running an external
 * program. ARCHIVE_WARN means exactly that fallback, so it is an error. */
static int support_filter(struct archive *a, enum cf_oci_compression compression, cf_err **err)
{
  int rc = ARCHIVE_OK;
  if (compression == CF_OCI_COMPRESSION_GZIP) {
    rc = archive_read_support_filter_gzip(a);
  } else if (compression == CF_OCI_COMPRESSION_ZSTD) {
    rc = archive_read_support_filter_zstd(a);
  }
  if (rc != ARCHIVE_OK) {
    return cf_err_set(err, CF_E_NOT_IMPLEMENTED,
                      "this libarchive has no built-in decompressor for the layer");
  }
  return 0;
}

static struct archive *open_decompressor(int fd, enum cf_oci_compression compression, cf_err **err)
{
  struct archive *a = archive_read_new();
  if (support_filter(a, compression, err) < 0) {
    archive_read_free(a);
    return NULL;
  }
  archive_read_support_format_raw(a);
  struct archive_entry *entry;
  if (archive_read_open_fd(a, fd, STREAM_CHUNK) != ARCHIVE_OK ||
      archive_read_next_header(a, &entry) != ARCHIVE_OK) {
    archive_fail(err, a, "read layer blob");
    archive_read_free(a);
    return NULL;
  }
  return a;
}

/* Counts n more uncompressed bytes against the layer and image limits. */
static int charge_bytes(struct hashed_stream *s, int64_t n)
{
  s->total += n;
  if (s->total > s->limits->max_layer_bytes) {
    return cf_err_set(&s->limit_err, CF_E_LIMIT,
                      "the uncompressed layer exceeds the max_layer_bytes limit of %" PRId64
                      " bytes (" RAISE_LAYER_BYTES ")",
                      s->limits->max_layer_bytes);
  }
  return cf_unpack_limits_charge(s->limits, n, &s->limit_err);
}

/* Reads, hashes and counts the next chunk; returns its size, 0 at the end
 * or -1 on error. Passing a limit is an error, stored in s->limit_err, so
 * a stream that decompresses to endless bytes stops within one chunk. */
static la_ssize_t next_chunk(struct hashed_stream *s)
{
  if (s->limit_err != NULL) {
    return -1;
  }
  la_ssize_t n = archive_read_data(s->decompressed, s->chunk, sizeof(s->chunk));
  if (n > 0) {
    cf_sha256_update(&s->sha, s->chunk, (size_t)n);
    if (charge_bytes(s, n) < 0) {
      return -1;
    }
  }
  return n < 0 ? -1 : n;
}

/* Moves the limit error of the stream, when there is one, to *err in place
 * of the reader error that it caused. */
static void prefer_limit_error(struct hashed_stream *s, cf_err **err)
{
  if (s->limit_err == NULL) {
    return;
  }
  if (err != NULL) {
    cf_err_free(*err);
    *err = cf_steal(&s->limit_err);
  }
  cf_err_clear(&s->limit_err);
}

static la_ssize_t read_tar_bytes(struct archive *tar, void *data, const void **buffer)
{
  struct hashed_stream *s = data;
  la_ssize_t n = next_chunk(s);
  if (n < 0 && s->limit_err != NULL) {
    archive_set_error(tar, EFBIG, "%s", s->limit_err->message);
    return ARCHIVE_FATAL;
  }
  if (n < 0) {
    const char *text = archive_error_string(s->decompressed);
    int code = archive_errno(s->decompressed);
    archive_set_error(tar, code != 0 ? code : EIO, "decompress: %s",
                      text != NULL ? text : "unknown error");
    return ARCHIVE_FATAL;
  }
  *buffer = s->chunk;
  return n;
}

/* Hashes what follows the tar's end marker, so the digest covers the
 * whole stream as the image-spec defines the diff_id. */
static int drain(struct hashed_stream *s, cf_err **err)
{
  for (;;) {
    la_ssize_t n = next_chunk(s);
    if (n == 0) {
      return 0;
    }
    if (n < 0) {
      return archive_fail(err, s->decompressed, "decompress");
    }
  }
}

static struct archive *open_tar(struct hashed_stream *s, cf_err **err)
{
  struct archive *a = archive_read_new();
  archive_read_support_format_tar(a);
  if (archive_read_open(a, s, NULL, read_tar_bytes, NULL) != ARCHIVE_OK) {
    archive_fail(err, a, "read tar");
    archive_read_free(a);
    return NULL;
  }
  return a;
}

/* Creates the disk writer. This must run on the unpack thread:
 * archive_write_disk_new() reads the umask by setting it, which would race
 * with other threads if the umask were shared. No user or group lookup is
 * installed, so owners stay numeric and NSS is never loaded. */
static struct archive *open_disk_writer(void)
{
  int flags = ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS |
              ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME |
              ARCHIVE_EXTRACT_XATTR;
  if (geteuid() == 0) {
    flags |= ARCHIVE_EXTRACT_OWNER;
  }
  struct archive *a = archive_write_disk_new();
  archive_write_disk_set_options(a, flags);
  return a;
}

/* The disk writer and the ownership rules of one layer. */
struct entry_writer {
  struct archive *disk;
  const cf_id_mapping *id_mapping; /* NULL when owners stay as the tar states them */
  cf_dir_owner dir_owner;          /* of directories that no entry describes */
};

static int copy_data(struct archive *tar, struct archive *disk, cf_err **err)
{
  for (;;) {
    const void *block;
    size_t size;
    la_int64_t offset;
    int rc = archive_read_data_block(tar, &block, &size, &offset);
    if (rc == ARCHIVE_EOF) {
      return 0;
    }
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
      return archive_fail(err, tar, "read");
    }
    if (archive_write_data_block(disk, block, size, offset) < ARCHIVE_WARN) {
      return archive_fail(err, disk, "write");
    }
  }
}

/* Maps the entry's owner and creates its missing parent directories owned
 * by container root, as libarchive would create them owned by the
 * unpacking user. */
static int prepare_mapped(const struct entry_writer *writer, struct archive_entry *entry,
                          cf_err **err)
{
  if (cf_image_entry_map_owner(entry, writer->id_mapping, err) < 0) {
    return -1;
  }
  return cf_image_entry_make_parents(archive_entry_pathname(entry), &writer->dir_owner, err);
}

static int write_file(struct archive *tar, const struct entry_writer *writer,
                      struct archive_entry *entry, cf_err **err)
{
  struct archive *disk = writer->disk;
  int rc = writer->id_mapping != NULL
               ? prepare_mapped(writer, entry, err)
               : cf_image_entry_check_parents(archive_entry_pathname(entry), err);
  if (rc < 0) {
    return -1;
  }
  const char *link = archive_entry_hardlink(entry);
  if (link != NULL && cf_image_entry_check_parents(link, err) < 0) {
    return cf_err_wrap(err, "hard link target \"%s\"", link);
  }
  if (archive_write_header(disk, entry) < ARCHIVE_WARN) {
    return archive_fail(err, disk, "write");
  }
  if (copy_data(tar, disk, err) < 0) {
    return -1;
  }
  if (archive_write_finish_entry(disk) < ARCHIVE_WARN) {
    return archive_fail(err, disk, "write");
  }
  return 0;
}

static int write_entry(struct archive *tar, const struct entry_writer *writer,
                       struct archive_entry *entry, cf_err **err)
{
  const char *pathname = archive_entry_pathname(entry);
  cf_autofree char *name = cf_xstrdup(pathname != NULL ? pathname : "");
  enum cf_entry_action action;
  cf_autofree char *target = NULL;
  if (cf_image_entry_prepare(entry, &action, &target, err) < 0) {
    return -1;
  }
  int rc = 0;
  switch (action) {
  case CF_ENTRY_SKIP:
    return 0;
  case CF_ENTRY_WHITEOUT:
    rc = cf_image_whiteout_create(target, &writer->dir_owner, err);
    break;
  case CF_ENTRY_OPAQUE:
    rc = cf_image_opaque_mark(target, &writer->dir_owner, err);
    break;
  case CF_ENTRY_WRITE:
    rc = write_file(tar, writer, entry, err);
    break;
  }
  if (rc < 0) {
    return cf_err_wrap(err, "entry \"%s\"", name);
  }
  return 0;
}

/* Rejects an entry whose stated size alone would take the stream past a
 * byte limit, before any of its data is written. The data of an entry ends
 * after header position + size. A sparse entry states its expanded size,
 * which the stream does not hold, so only the stream count bounds it. */
static int check_entry_size(const struct hashed_stream *s, struct archive *tar,
                            struct archive_entry *entry, cf_err **err)
{
  if (!archive_entry_size_is_set(entry) || archive_entry_sparse_count(entry) > 0) {
    return 0;
  }
  const cf_unpack_limits *limits = s->limits;
  int64_t size = archive_entry_size(entry);
  int64_t position = archive_read_header_position(tar);
  if (size > limits->max_layer_bytes - position) {
    return cf_err_set(err, CF_E_LIMIT,
                      "states %" PRId64 " bytes, more than the max_layer_bytes limit of %" PRId64
                      " bytes allows at offset %" PRId64 " (" RAISE_LAYER_BYTES ")",
                      size, limits->max_layer_bytes, position);
  }
  int64_t unread = position + size - s->total;
  int64_t image_left = limits->max_image_bytes - atomic_load(limits->image_bytes);
  if (unread > image_left) {
    return cf_err_set(err, CF_E_LIMIT,
                      "states %" PRId64 " bytes, more than the %" PRId64
                      " bytes left of the max_image_bytes limit of %" PRId64
                      " bytes (" RAISE_IMAGE_BYTES ")",
                      size, image_left > 0 ? image_left : 0, limits->max_image_bytes);
  }
  return 0;
}

/* Counts the entry and checks its stated size against the limits. */
static int check_entry_limits(struct hashed_stream *s, struct archive *tar,
                              struct archive_entry *entry, cf_err **err)
{
  s->entries++;
  if (s->entries > s->limits->max_layer_entries) {
    return cf_err_set(err, CF_E_LIMIT,
                      "the layer has more entries than the max_layer_entries limit of %" PRId64
                      " (" RAISE_LAYER_ENTRIES ")",
                      s->limits->max_layer_entries);
  }
  if (check_entry_size(s, tar, entry, err) < 0) {
    const char *name = archive_entry_pathname(entry);
    return cf_err_wrap(err, "entry \"%s\"", name != NULL ? name : "");
  }
  return 0;
}

static int extract_entries(struct hashed_stream *s, struct archive *tar,
                           const struct entry_writer *writer, cf_err **err)
{
  for (;;) {
    struct archive_entry *entry;
    int rc = archive_read_next_header(tar, &entry);
    if (rc == ARCHIVE_EOF) {
      return 0;
    }
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
      return archive_fail(err, tar, "read tar");
    }
    if (check_entry_limits(s, tar, entry, err) < 0 || write_entry(tar, writer, entry, err) < 0) {
      return -1;
    }
  }
}

/* Gives the layer directory, the current directory, to container root of
 * a mapped layer. A "." entry in the tar may set it again. */
static int own_layer_root(const struct entry_writer *writer, cf_err **err)
{
  if (writer->id_mapping == NULL) {
    return 0;
  }
  if (lchown(".", writer->dir_owner.uid, writer->dir_owner.gid) < 0) {
    return cf_err_sys(err, errno, "set the owner of the layer directory");
  }
  return 0;
}

/* Extracts every entry, applies the deferred directory attributes
 * (archive_write_close) and hashes the rest of the stream. */
static int extract_stream(struct hashed_stream *stream, const cf_id_mapping *id_mapping,
                          cf_err **err)
{
  struct entry_writer writer = {
      .id_mapping = cf_id_mapping_is_set(id_mapping) ? id_mapping : NULL,
      .dir_owner = cf_image_dir_owner(id_mapping),
  };
  if (own_layer_root(&writer, err) < 0) {
    return -1;
  }
  struct archive *tar = open_tar(stream, err);
  if (tar == NULL) {
    return -1;
  }
  struct archive *disk = open_disk_writer();
  writer.disk = disk;
  int rc = extract_entries(stream, tar, &writer, err);
  if (rc == 0 && archive_write_close(disk) < ARCHIVE_WARN) {
    rc = archive_fail(err, disk, "write");
  }
  archive_write_free(disk);
  archive_read_free(tar);
  if (rc == 0) {
    rc = drain(stream, err);
  }
  return rc;
}

static int extract(struct unpack_job *job, cf_err **err)
{
  struct hashed_stream *stream = cf_xcalloc(1, sizeof(*stream));
  stream->decompressed = open_decompressor(job->blob_fd, job->compression, err);
  if (stream->decompressed == NULL) {
    free(stream);
    return -1;
  }
  stream->limits = job->limits;
  cf_sha256_init(&stream->sha);
  int rc = extract_stream(stream, job->id_mapping, err);
  if (rc < 0) {
    prefer_limit_error(stream, err);
  }
  cf_sha256_finish(&stream->sha, job->diff_id);
  job->size = stream->total;
  archive_read_free(stream->decompressed);
  cf_err_free(stream->limit_err);
  free(stream);
  return rc;
}

/* Gives this thread its own working directory and root, then enters dest.
 * Without CAP_SYS_CHROOT (EPERM) the thread only changes directory and the
 * entry checks and libarchive's secure flags keep writes inside dest. */
static int enter_dest(struct unpack_job *job, cf_err **err)
{
  if (unshare(CLONE_FS) < 0) {
    return cf_err_sys(err, errno, "unshare(CLONE_FS)");
  }
  if (fchdir(job->dest_fd) < 0) {
    return cf_err_sys(err, errno, "enter the layer directory");
  }
  if (chroot(".") < 0) {
    return errno == EPERM ? 0 : cf_err_sys(err, errno, "chroot into the layer directory");
  }
  if (chdir("/") < 0) {
    return cf_err_sys(err, errno, "chdir / in the layer directory");
  }
  return 0;
}

/* Reads a stream to its end, so a producer that is still writing the
 * compressed blob finishes and can check its digest and size, whatever the
 * extraction did. The producer stops at the descriptor's size, so this is
 * bounded. */
static void drain_input(int fd)
{
  char buf[STREAM_CHUNK];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n == 0 || (n < 0 && errno != EINTR)) {
      return;
    }
  }
}

static void *unpack_thread(void *arg)
{
  struct unpack_job *job = arg;
  if (enter_dest(job, &job->err) == 0) {
    extract(job, &job->err);
  }
  if (job->drain_input) {
    drain_input(job->blob_fd);
  }
  return NULL;
}

static int start_job(struct unpack_job *job, pthread_t *thread, cf_err **err)
{
  int rc = pthread_create(thread, NULL, unpack_thread, job);
  if (rc != 0) {
    return cf_err_sys(err, rc, "start the unpack thread");
  }
  job->started = true;
  return 0;
}

/* Joins the unpack thread and moves its error to *err. */
static int finish_job(struct unpack_job *job, pthread_t thread, cf_err **err)
{
  pthread_join(thread, NULL);
  if (job->err == NULL) {
    return 0;
  }
  if (err != NULL) {
    cf_err_free(*err);
    *err = cf_steal(&job->err);
  }
  cf_err_clear(&job->err);
  return -1;
}

static int run_job(struct unpack_job *job, cf_err **err)
{
  pthread_t thread;
  if (start_job(job, &thread, err) < 0) {
    return -1;
  }
  return finish_job(job, thread, err);
}

/* Empties dest after a failed unpack, so the caller gets it back empty. */
static void remove_children(const char *dest)
{
  DIR *dir = opendir(dest);
  if (dir == NULL) {
    return;
  }
  struct dirent *d;
  while ((d = readdir(dir)) != NULL) {
    if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0) {
      continue;
    }
    cf_autofree char *path = cf_path_join(dest, d->d_name);
    cf_err *err = NULL;
    if (cf_rm_rf(path, &err) < 0) {
      cf_log_error("unpack-cleanup-failed", err, "{s:s}", "path", path);
      cf_err_free(err);
    }
  }
  closedir(dir);
}

static int open_inputs(const char *blob_path, const char *dest, struct unpack_job *job,
                       cf_err **err)
{
  job->blob_fd = open(blob_path, O_RDONLY | O_CLOEXEC);
  if (job->blob_fd < 0) {
    return cf_err_sys(err, errno, "open %s", blob_path);
  }
  job->dest_fd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (job->dest_fd < 0) {
    return cf_err_sys(err, errno, "open %s", dest);
  }
  return 0;
}

static int check_diff_id(const struct unpack_job *job, const char *media_type,
                         const char *expected_diff_id, cf_err **err)
{
  if (strcmp(job->diff_id, expected_diff_id) != 0) {
    return cf_err_set(err, CF_E_INTEGRITY,
                      "uncompressed %s content: diff_id mismatch: expected %s, got %s", media_type,
                      expected_diff_id, job->diff_id);
  }
  return 0;
}

static int unpack(const char *blob_path, const char *media_type, const char *dest,
                  const char *expected_diff_id, struct unpack_job *job, cf_err **err)
{
  if (cf_digest_validate(expected_diff_id, err) < 0 ||
      cf_oci_layer_compression(media_type, &job->compression, err) < 0 ||
      open_inputs(blob_path, dest, job, err) < 0 || run_job(job, err) < 0) {
    return -1;
  }
  return check_diff_id(job, media_type, expected_diff_id, err);
}

int cf_layer_unpack(const char *blob_path, const char *media_type, const char *dest,
                    const char *expected_diff_id, int64_t *size, cf_err **err)
{
  _Atomic int64_t image_bytes = 0;
  cf_unpack_limits limits;
  cf_unpack_limits_init(&limits, NULL, &image_bytes, NULL);
  struct unpack_job job = {.blob_fd = -1, .dest_fd = -1, .limits = &limits};
  int rc = unpack(blob_path, media_type, dest, expected_diff_id, &job, err);
  cf_closep(&job.blob_fd);
  cf_closep(&job.dest_fd);
  if (rc < 0) {
    if (job.started) {
      remove_children(dest);
    }
    return cf_err_wrap(err, "layer %s", expected_diff_id);
  }
  *size = job.size;
  return 0;
}

/* Runs the producer on the calling thread while the unpack thread reads
 * what it writes. The producer's error (a failed download, a digest or size
 * mismatch of the compressed blob) wins over the extraction's, because it
 * names the cause. */
static int unpack_streamed(const cf_oci_descriptor *blob, cf_blob_producer produce, void *ctx,
                           struct unpack_job *job, cf_err **err)
{
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0) {
    return cf_err_sys(err, errno, "create the stream to the unpack thread");
  }
  job->blob_fd = pair[0];
  job->drain_input = true;
  pthread_t thread;
  if (start_job(job, &thread, err) < 0) {
    close(pair[1]);
    return -1;
  }
  cf_blob_sink sink;
  cf_blob_sink_init(&sink, blob, pair[1]);
  cf_err *produce_err = NULL;
  int rc = produce(ctx, blob, &sink, &produce_err);
  if (rc == 0) {
    rc = cf_blob_sink_finish(&sink, &produce_err);
  }
  close(pair[1]);
  cf_err *unpack_err = NULL;
  int unpack_rc = finish_job(job, thread, &unpack_err);
  if (rc < 0) {
    cf_err_free(unpack_err);
    if (err != NULL) {
      cf_err_free(*err);
      *err = produce_err;
    } else {
      cf_err_free(produce_err);
    }
    return -1;
  }
  if (unpack_rc < 0) {
    if (err != NULL) {
      cf_err_free(*err);
      *err = unpack_err;
    } else {
      cf_err_free(unpack_err);
    }
    return -1;
  }
  return 0;
}

static int unpack_stream(const cf_oci_descriptor *blob, cf_blob_producer produce, void *ctx,
                         const char *dest, const char *expected_diff_id, struct unpack_job *job,
                         cf_err **err)
{
  if (cf_digest_validate(expected_diff_id, err) < 0 ||
      cf_oci_layer_compression(blob->media_type, &job->compression, err) < 0) {
    return -1;
  }
  job->dest_fd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (job->dest_fd < 0) {
    return cf_err_sys(err, errno, "open %s", dest);
  }
  if (unpack_streamed(blob, produce, ctx, job, err) < 0) {
    return -1;
  }
  return check_diff_id(job, blob->media_type, expected_diff_id, err);
}

int cf_layer_unpack_stream(const cf_oci_descriptor *blob, cf_blob_producer produce, void *ctx,
                           const char *dest, const char *expected_diff_id,
                           const cf_unpack_limits *limits, const cf_id_mapping *id_mapping,
                           int64_t *size, cf_err **err)
{
  struct unpack_job job = {
      .blob_fd = -1,
      .dest_fd = -1,
      .limits = limits,
      .id_mapping = id_mapping,
  };
  int rc = unpack_stream(blob, produce, ctx, dest, expected_diff_id, &job, err);
  cf_closep(&job.blob_fd);
  cf_closep(&job.dest_fd);
  if (rc < 0) {
    if (job.started) {
      remove_children(dest);
    }
    return cf_err_wrap(err, "layer %s", expected_diff_id);
  }
  *size = job.size;
  return 0;
}
