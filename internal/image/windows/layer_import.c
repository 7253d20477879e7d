/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cf_image_layer_import_stream on Windows. The blob producer (a layout
 * file or a registry download) runs on its own thread and writes the
 * compressed blob into an anonymous pipe. cf_layer_stream reads the pipe,
 * decompresses and verifies it, and cf_storage_layer_import_tar writes the
 * tar into the layer store. Both start on the first read, so a layer that
 * is already complete in the store is never downloaded.
 */
#include <errno.h>
#include <fcntl.h>
#include <io.h>
#include <pthread.h>
#include <stdbool.h>
#include <unistd.h>

#include "base/mem.h"
#include "image/blob.h"
#include "image/layer_stream.h"
#include "image/storage.h"

/* Pipe buffer size: one 64 KiB chunk of the producers. */
#define PIPE_BYTES 65536

/* One layer import: the producer thread, its pipe and the stream over it. */
typedef struct layer_pipe {
  const cf_layer_import *layer;
  int read_fd;
  int write_fd;
  pthread_t thread;
  bool started;
  bool joined;
  cf_err *producer_err; /* the producer's failure, read after the join */
  cf_layer_stream *stream;
} layer_pipe;

/* Runs the producer into the pipe and closes the writing end, so the reader
 * sees the end of the blob (or of a failed download). */
static void *produce_blob(void *arg)
{
  layer_pipe *pipe = arg;
  const cf_layer_import *layer = pipe->layer;
  cf_blob_sink sink;
  cf_blob_sink_init(&sink, layer->blob, pipe->write_fd);
  if (layer->produce(layer->produce_context, layer->blob, &sink, &pipe->producer_err) == 0) {
    cf_blob_sink_finish(&sink, &pipe->producer_err);
  }
  close(pipe->write_fd);
  pipe->write_fd = -1;
  return NULL;
}

static int start_producer(layer_pipe *pipe, cf_err **err)
{
  int fds[2];
  if (_pipe(fds, PIPE_BYTES, _O_BINARY | _O_NOINHERIT) < 0) {
    return cf_err_sys(err, errno, "create the pipe for blob %s", pipe->layer->blob->digest);
  }
  pipe->read_fd = fds[0];
  pipe->write_fd = fds[1];
  int rc = pthread_create(&pipe->thread, NULL, produce_blob, pipe);
  if (rc != 0) {
    close(fds[0]);
    close(fds[1]);
    pipe->read_fd = -1;
    pipe->write_fd = -1;
    return cf_err_sys(err, rc, "start the download thread of blob %s", pipe->layer->blob->digest);
  }
  pipe->started = true;
  return 0;
}

/* Closes the reading end, which ends a producer that still writes, and
 * waits for the thread. */
static void stop_producer(layer_pipe *pipe)
{
  if (!pipe->started || pipe->joined) {
    return;
  }
  close(pipe->read_fd);
  pipe->read_fd = -1;
  pthread_join(pipe->thread, NULL);
  pipe->joined = true;
}

/* A cf_wintar_read_fn over the pipe. At the end of the pipe the producer's
 * own error, such as a failed download, wins over the short blob it left. */
static int read_pipe(void *context, void *buf, size_t len, size_t *got, cf_err **err)
{
  layer_pipe *pipe = context;
  if (cf_layer_blob_read_fd(&pipe->read_fd, buf, len, got, err) < 0) {
    return -1;
  }
  if (*got > 0) {
    return 0;
  }
  stop_producer(pipe);
  if (pipe->producer_err != NULL) {
    cf_err_free(*err);
    *err = cf_steal(&pipe->producer_err);
    return -1;
  }
  return 0;
}

/* The read function cf_storage_layer_import_tar gets: opens the stream and
 * starts the producer on its first call. */
static int read_layer(void *context, void *buf, size_t len, size_t *got, cf_err **err)
{
  layer_pipe *pipe = context;
  if (pipe->stream == NULL) {
    const cf_layer_import *layer = pipe->layer;
    if (start_producer(pipe, err) < 0 ||
        cf_layer_stream_open(layer->blob, layer->diff_id, layer->limits, read_pipe, pipe,
                             &pipe->stream, err) < 0) {
      return -1;
    }
  }
  return cf_layer_stream_read(pipe->stream, buf, len, got, err);
}

int cf_image_layer_import_stream(const cf_layer_import *layer, int64_t *size, cf_err **err)
{
  layer_pipe pipe = {.layer = layer, .read_fd = -1, .write_fd = -1};
  uint64_t imported = 0;
  int rc = cf_storage_layer_import_tar(layer->storage, layer->chain_id, read_layer, &pipe,
                                       layer->parent_ids, layer->parent_count, &imported, err);
  if (rc == 0 && pipe.stream != NULL) {
    // The import read the stream to its end, so this only reports the
    // digest check's result once more.
    int64_t tar_bytes = 0;
    rc = cf_layer_stream_finish(pipe.stream, &tar_bytes, err);
  }
  stop_producer(&pipe);
  cf_layer_stream_free(pipe.stream);
  cf_err_free(pipe.producer_err);
  if (rc == 0) {
    *size = (int64_t)imported;
  }
  return rc;
}
