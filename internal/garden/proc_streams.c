/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The streams of Garden's hijacked process protocol, shared by the Linux
 * (processes.c) and the Windows (windows/processes.c) process code: finding
 * a process and a stream, the JSON payloads of a stream's control
 * connection, and a stream's output buffering and end. Each platform file
 * frees a process through its own cf_proc_maybe_free().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/mem.h"
#include "garden/internal.h"
#include "garden/json.h"

/* --- Lookup --- */

cf_proc *cf_proc_find(cf_server *server, const char *handle, const char *id)
{
  for (cf_proc *proc = server->procs; proc != NULL; proc = proc->next) {
    if (strcmp(proc->handle, handle) == 0 && strcmp(proc->id, id) == 0) {
      return proc;
    }
  }
  return NULL;
}

cf_stream *cf_stream_find(cf_proc *proc, const char *stream_id)
{
  for (cf_stream *s = proc->streams; s != NULL; s = s->next) {
    if (strcmp(s->id, stream_id) == 0) {
      return s;
    }
  }
  return NULL;
}

json_t *cf_proc_ids(cf_server *server, const char *handle)
{
  json_t *ids = json_array();
  for (cf_proc *proc = server->procs; proc != NULL; proc = proc->next) {
    if (strcmp(proc->handle, handle) == 0 && !proc->finished) {
      json_array_append_new(ids, cf_json_string(proc->id));
    }
  }
  return ids;
}

/* --- Payloads --- */

static void send_payload(cf_conn *conn, json_t *payload)
{
  cf_autofree char *text = cf_json_encode(payload);
  cf_conn_write(conn, text, strlen(text));
  json_decref(payload);
}

void cf_stream_send_first_payload(cf_conn *conn, const cf_proc *proc, const cf_stream *stream)
{
  send_payload(conn, json_pack("{s:o, s:s}", "process_id", cf_json_string(proc->id), "stream_id",
                               stream->id));
}

/* Sends the one terminal payload: the exit status, or the error that
 * took its place. */
void cf_stream_send_terminal_payload(cf_conn *conn, const cf_proc *proc)
{
  if (proc->error != NULL) {
    send_payload(conn, json_pack("{s:o, s:s}", "process_id", cf_json_string(proc->id), "error",
                                 proc->error));
    return;
  }
  send_payload(conn, json_pack("{s:o, s:i}", "process_id", cf_json_string(proc->id), "exit_status",
                               proc->exit_status));
}

/* --- Streams --- */

static void on_stream_timer_closed(uv_handle_t *handle)
{
  cf_stream *stream = handle->data;
  cf_proc *proc = stream->proc;
  for (cf_stream **p = &proc->streams; *p != NULL; p = &(*p)->next) {
    if (*p == stream) {
      *p = stream->next;
      break;
    }
  }
  for (int fd = 1; fd <= 2; fd++) {
    cf_buf_free(&stream->pending[fd]);
  }
  free(stream);
  cf_proc_maybe_free(proc);
}

static void on_stream_expired(uv_timer_t *timer)
{
  uv_close((uv_handle_t *)timer, on_stream_timer_closed);
}

cf_stream *cf_stream_new(cf_proc *proc)
{
  cf_server *server = proc->server;
  cf_stream *stream = cf_xcalloc(1, sizeof(*stream));
  snprintf(stream->id, sizeof(stream->id), "%llu", server->next_stream_id++);
  stream->proc = proc;
  for (int fd = 1; fd <= 2; fd++) {
    cf_buf_init(&stream->pending[fd], CF_MAX_STREAM_BUFFER);
  }
  uv_timer_init(server->loop, &stream->ttl_timer);
  stream->ttl_timer.data = stream;
  stream->next = proc->streams;
  proc->streams = stream;
  return stream;
}

/* Sends the exit status, closes the stream's connections once written, and
 * keeps the stream attachable until its time to live runs out. */
void cf_stream_finish(cf_stream *stream)
{
  if (stream->finished) {
    return;
  }
  stream->finished = true;
  cf_proc *proc = stream->proc;
  if (stream->control != NULL) {
    cf_stream_send_terminal_payload(stream->control, proc);
    cf_conn_close_when_written(stream->control);
  }
  for (int fd = 1; fd <= 2; fd++) {
    if (stream->output[fd] != NULL) {
      cf_conn_close_when_written(stream->output[fd]);
    }
    if (stream->dropped[fd] > 0) {
      cf_log(CF_LOG_INFO, "stream.output-dropped", "{s:s, s:s, s:i, s:I}", "handle", proc->handle,
             "process", proc->id, "fd", fd, "bytes", (json_int_t)stream->dropped[fd]);
    }
  }
  uv_timer_start(&stream->ttl_timer, on_stream_expired,
                 proc->server->stopping ? 0 : CF_STREAM_TTL_MS, 0);
}

void cf_stream_output(cf_stream *stream, int fd, const char *data, size_t len)
{
  if (stream->finished) {
    return;
  }
  cf_conn *conn = stream->output[fd];
  if (conn != NULL && conn->queued_bytes + len <= CF_MAX_STREAM_BUFFER) {
    cf_conn_write(conn, data, len);
    return;
  }
  if (conn != NULL) {
    stream->dropped[fd] += len;
    return;
  }
  if (cf_buf_append(&stream->pending[fd], data, len, NULL) < 0) {
    stream->dropped[fd] += len;
  }
}

void cf_stream_close(cf_stream *stream)
{
  uv_timer_stop(&stream->ttl_timer);
  uv_close((uv_handle_t *)&stream->ttl_timer, on_stream_timer_closed);
}

/* --- stdout and stderr connections --- */

void cf_output_closed(cf_conn *conn)
{
  cf_stream *stream = conn->stream;
  if (stream != NULL && stream->output[conn->output_fd] == conn) {
    stream->output[conn->output_fd] = NULL;
  }
  conn->stream = NULL;
}

void cf_handle_output(cf_conn *conn, cf_route_match *match, int fd)
{
  cf_proc *proc = cf_proc_find(conn->server, match->handle, match->pid);
  cf_stream *stream = proc != NULL ? cf_stream_find(proc, match->stream_id) : NULL;
  cf_conn_hijack(conn, 200, false);
  conn->state = CF_CONN_OUTPUT;
  conn->output_fd = fd;
  if (stream == NULL) {
    /* An unknown or expired stream is an empty one. */
    cf_conn_close_when_written(conn);
    return;
  }
  if (stream->output[fd] != NULL) {
    cf_conn_close_when_written(stream->output[fd]);
    stream->output[fd]->stream = NULL;
  }
  stream->output[fd] = conn;
  conn->stream = stream;
  cf_conn_write(conn, stream->pending[fd].data, stream->pending[fd].len);
  cf_buf_free(&stream->pending[fd]);
  cf_buf_init(&stream->pending[fd], CF_MAX_STREAM_BUFFER);
  if (stream->finished) {
    cf_conn_close_when_written(conn);
    return;
  }
  cf_conn_read(conn);
}
