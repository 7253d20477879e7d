/* SPDX-License-Identifier: Apache-2.0 */
/*
 * StreamIn and StreamOut on the event loop. A transfer (cf_file_stream)
 * belongs to one connection while the request runs. Its child process is
 * started on a worker thread, watched through its pidfd and reaped by pid.
 * A transfer is freed once its connection has let go of it, the child is
 * reaped and its libuv handles are closed.
 */
#include "garden/stream_io.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/log.h"
#include "base/mem.h"
#include "garden/internal.h"
#include "garden/stream_child.h"

/* StreamIn: reading from the client pauses while more bytes than this
 * wait in the child's tar input, and resumes below half of it. */
#define PIPE_HIGH_WATER (1024 * 1024)
/* StreamOut: reading from the child pauses while more bytes than this
 * wait to be sent to the client, and resumes below half of it. */
#define CONN_HIGH_WATER (1024 * 1024)
#define PIPE_READ_CHUNK (64 * 1024)

typedef struct cf_file_stream {
  cf_server *server;
  cf_conn *conn; /* NULL once the request has ended or the connection closed */
  char *handle;
  bool extract; /* true for StreamIn, false for StreamOut */
  char *path;   /* destination or source */
  char *user;
  cf_stream_child_spec spec;
  cf_stream_child child; /* pid -1 until started */
  uv_work_t work;
  uv_poll_t exit_poll;
  uv_pipe_t data; /* the child's tar input (StreamIn) or output (StreamOut) */
  uv_shutdown_t shutdown;
  int open_handles;
  bool working;   /* a worker thread is starting the child */
  bool cancelled; /* the container is being destroyed */
  bool exited;    /* the child was reaped, or none was started */
  int exit_status;
  char message[CF_STREAM_CHILD_MESSAGE_MAX];
  bool data_open;
  bool data_reading;  /* StreamOut: reading from the child */
  bool client_paused; /* StreamIn: reading from the client stopped */
  bool body_done;     /* StreamIn: the whole request body arrived */
  size_t queued;      /* StreamIn: bytes written to the child, not yet taken */
  bool headers_sent;  /* StreamOut: the 200 response head was written */
  cf_err *err;        /* the first failure, which the response reports */
  cf_err *start_err;  /* written by the worker thread that starts the child */
} cf_file_stream;

static void maybe_finish(cf_file_stream *fs);

static const char *stream_name(const cf_file_stream *fs)
{
  return fs->extract ? "stream-in" : "stream-out";
}

/* --- Lifetime --- */

static cf_file_stream *fs_new(cf_conn *conn, const char *handle, bool extract)
{
  cf_file_stream *fs = cf_xcalloc(1, sizeof(*fs));
  fs->server = conn->server;
  fs->conn = conn;
  fs->handle = cf_xstrdup(handle);
  fs->extract = extract;
  fs->child = (cf_stream_child){.pid = -1, .pidfd = -1, .data_fd = -1, .error_fd = -1};
  conn->files = fs;
  return fs;
}

static void maybe_free(cf_file_stream *fs)
{
  if (fs->conn != NULL || fs->working || fs->open_handles > 0 || !fs->exited) {
    return;
  }
  cf_stream_child_close(&fs->child);
  cf_err_free(fs->err);
  cf_err_free(fs->start_err);
  free(fs->handle);
  free(fs->path);
  free(fs->user);
  free(fs);
}

static void on_handle_closed(uv_handle_t *handle)
{
  cf_file_stream *fs = handle->data;
  fs->open_handles--;
  maybe_free(fs);
}

static void close_data(cf_file_stream *fs)
{
  if (!fs->data_open) {
    return;
  }
  fs->data_open = false;
  uv_close((uv_handle_t *)&fs->data, on_handle_closed);
}

/* Records the first failure of the transfer, because later ones are its
 * effects. */
static void fail(cf_file_stream *fs, cf_err *err)
{
  if (fs->err == NULL) {
    fs->err = err;
  } else {
    cf_err_free(err);
  }
}

/* While a worker starts the child, after_start() kills it instead, because
 * fs->child belongs to the worker until then. */
static void kill_child(cf_file_stream *fs)
{
  if (!fs->working && fs->child.pid > 0 && !fs->exited) {
    cf_stream_child_kill(&fs->child);
  }
}

/* Hands the connection back to the server for the response. */
static cf_conn *detach(cf_file_stream *fs)
{
  cf_conn *conn = fs->conn;
  fs->conn = NULL;
  conn->files = NULL;
  conn->req.body_fn = NULL;
  uv_read_stop(&conn->io.stream);
  conn->state = CF_CONN_BUSY;
  return conn;
}

/* --- Child exit --- */

static void record_exit(cf_file_stream *fs, int exit_status)
{
  fs->exited = true;
  fs->exit_status = exit_status;
  if (exit_status == 0) {
    return;
  }
  /* gdn's prefix, which clients match, then the path and the cause. */
  cf_err *err = NULL;
  const char *direction = fs->extract ? "in to" : "out of";
  if (fs->message[0] != '\0') {
    cf_err_set(&err, CF_E_SYSTEM, "error streaming %s %s: %s", direction, fs->path, fs->message);
  } else {
    cf_err_set(&err, CF_E_SYSTEM, "error streaming %s %s: exit status %d", direction, fs->path,
               exit_status);
  }
  fail(fs, err);
}

static void on_exit_ready(uv_poll_t *poll, int status, int events)
{
  (void)status;
  (void)events;
  cf_file_stream *fs = poll->data;
  bool exited = false;
  int exit_status = 0;
  cf_err *err = NULL;
  if (cf_stream_child_wait(&fs->child, &exited, &exit_status, fs->message, sizeof(fs->message),
                           &err) < 0) {
    cf_log_error("stream.wait-failed", err, "{s:s, s:i}", "handle", fs->handle, "pid",
                 (int)fs->child.pid);
    cf_err_free(err);
    exited = true;
    exit_status = 255;
  }
  if (!exited) {
    return;
  }
  uv_close((uv_handle_t *)poll, on_handle_closed);
  record_exit(fs, exit_status);
  if (fs->extract) {
    close_data(fs); /* the rest of the body is dropped */
  }
  maybe_finish(fs);
  maybe_free(fs);
}

/* --- StreamIn: request body to the child --- */

typedef struct pipe_write {
  uv_write_t req;
  cf_file_stream *fs;
  size_t len;
  char data[];
} pipe_write;

/* Resumes reading from the client once the child has caught up. */
static void maybe_resume_client(cf_file_stream *fs)
{
  if (!fs->client_paused || fs->queued > PIPE_HIGH_WATER / 2 || fs->conn == NULL) {
    return;
  }
  fs->client_paused = false;
  cf_conn_read(fs->conn);
  cf_files_input(fs->conn);
}

static void on_pipe_written(uv_write_t *req, int status)
{
  pipe_write *pw = (pipe_write *)req;
  cf_file_stream *fs = pw->fs;
  fs->queued -= pw->len;
  free(pw);
  if (status < 0) {
    /* The child stopped reading because it failed or was killed, and its
     * exit status gives the reason. */
    close_data(fs);
  }
  maybe_resume_client(fs);
}

static void on_body(void *ctx, const char *data, size_t len)
{
  cf_file_stream *fs = ctx;
  if (!fs->data_open || fs->err != NULL) {
    return; /* the body is read to its end and dropped */
  }
  pipe_write *pw = cf_xmalloc(sizeof(*pw) + len);
  pw->fs = fs;
  pw->len = len;
  memcpy(pw->data, data, len);
  uv_buf_t buf = uv_buf_init(pw->data, (unsigned int)len);
  if (uv_write(&pw->req, (uv_stream_t *)&fs->data, &buf, 1, on_pipe_written) < 0) {
    free(pw);
    close_data(fs);
    return;
  }
  fs->queued += len;
}

static void on_input_shut(uv_shutdown_t *req, int status)
{
  (void)status;
  cf_file_stream *fs = req->data;
  close_data(fs);
}

/* Ends the child's tar input once every write has gone through. */
static void end_input(cf_file_stream *fs)
{
  if (!fs->data_open) {
    return;
  }
  fs->shutdown.data = fs;
  if (uv_shutdown(&fs->shutdown, (uv_stream_t *)&fs->data, on_input_shut) < 0) {
    close_data(fs);
  }
}

static void feed_body(cf_file_stream *fs)
{
  cf_conn *conn = fs->conn;
  while (conn->input.len > 0 && !conn->req.complete && fs->queued < PIPE_HIGH_WATER) {
    size_t consumed = 0;
    cf_err *err = NULL;
    if (cf_http_request_feed(&conn->req, conn->input.data, conn->input.len, &consumed, &err) < 0) {
      /* The body cannot be read further, so the connection closes after
       * the response. */
      fail(fs, err);
      kill_child(fs);
      close_data(fs);
      fs->body_done = true;
      return;
    }
    cf_buf_consume(&conn->input, consumed);
  }
  if (conn->req.complete && !fs->body_done) {
    fs->body_done = true;
    end_input(fs);
  }
  if (!fs->body_done && fs->queued >= PIPE_HIGH_WATER && !fs->client_paused) {
    fs->client_paused = true;
    uv_read_stop(&conn->io.stream);
  }
}

static void finish_in(cf_file_stream *fs)
{
  if (!fs->exited || !fs->body_done) {
    return;
  }
  cf_conn *conn = detach(fs);
  if (fs->err != NULL) {
    cf_conn_respond_error(conn, fs->err, fs->handle, NULL);
  } else {
    cf_log(CF_LOG_INFO, "stream-in.finished", "{s:s, s:s}", "handle", fs->handle, "destination",
           fs->path);
    json_t *empty = json_object();
    cf_conn_respond_json(conn, 200, empty);
    json_decref(empty);
  }
  cf_conn_request_done(conn);
}

/* --- StreamOut: child output to the response --- */

static void send_head(cf_conn *conn)
{
  char date[30];
  cf_http_date(date);
  /* gdn sets no Content-Type, so Go's net/http sniffs one, and binary data
   * such as a tar header gets application/octet-stream. */
  cf_autofree char *head =
      cf_xasprintf("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nDate: %s\r\n"
                   "Transfer-Encoding: chunked\r\n%s\r\n",
                   date, conn->keep_alive ? "" : "Connection: close\r\n");
  cf_conn_write(conn, head, strlen(head));
}

static void send_chunk(cf_file_stream *fs, const char *data, size_t len)
{
  char size_line[24];
  int n = snprintf(size_line, sizeof(size_line), "%zx\r\n", len);
  cf_buf chunk;
  cf_buf_init(&chunk, len + sizeof(size_line) + 2);
  cf_buf_append(&chunk, size_line, (size_t)n, NULL);
  cf_buf_append(&chunk, data, len, NULL);
  cf_buf_append(&chunk, "\r\n", 2, NULL);
  cf_conn_write(fs->conn, chunk.data, chunk.len);
  cf_buf_free(&chunk);
}

static void alloc_output(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
  (void)handle;
  (void)suggested;
  buf->base = cf_xmalloc(PIPE_READ_CHUNK);
  buf->len = PIPE_READ_CHUNK;
}

static void on_output(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
  cf_file_stream *fs = stream->data;
  if (nread > 0 && fs->conn != NULL) {
    if (!fs->headers_sent) {
      send_head(fs->conn);
      fs->headers_sent = true;
    }
    send_chunk(fs, buf->base, (size_t)nread);
    if (fs->conn != NULL && fs->conn->queued_bytes > CONN_HIGH_WATER) {
      fs->data_reading = false;
      uv_read_stop(stream);
    }
  }
  free(buf->base);
  if (nread < 0) {
    close_data(fs);
    maybe_finish(fs);
    maybe_free(fs);
  }
}

static void finish_out(cf_file_stream *fs)
{
  if (!fs->exited || fs->data_open) {
    return;
  }
  bool headers_sent = fs->headers_sent;
  cf_conn *conn = detach(fs);
  if (fs->err == NULL) {
    if (!headers_sent) {
      send_head(conn);
    }
    cf_conn_write(conn, "0\r\n\r\n", 5);
    cf_log(CF_LOG_INFO, "stream-out.finished", "{s:s, s:s}", "handle", fs->handle, "source",
           fs->path);
    cf_conn_request_done(conn);
  } else if (!headers_sent) {
    cf_conn_respond_error(conn, fs->err, fs->handle, NULL);
    cf_conn_request_done(conn);
  } else {
    /* Without the last chunk the client sees the body end early, as the
     * Go server's clients do when tar fails mid-stream. */
    cf_log_error("stream-out.failed", fs->err, "{s:s, s:s}", "handle", fs->handle, "source",
                 fs->path);
    cf_conn_close(conn);
  }
}

void cf_files_written(cf_conn *conn)
{
  cf_file_stream *fs = conn->files;
  if (fs == NULL || fs->extract || !fs->data_open || fs->data_reading ||
      conn->queued_bytes > CONN_HIGH_WATER / 2) {
    return;
  }
  fs->data_reading = true;
  uv_read_start((uv_stream_t *)&fs->data, alloc_output, on_output);
}

/* --- Both directions --- */

static void maybe_finish(cf_file_stream *fs)
{
  if (fs->conn == NULL) {
    return;
  }
  if (fs->extract) {
    finish_in(fs);
  } else {
    finish_out(fs);
  }
}

void cf_files_input(cf_conn *conn)
{
  cf_file_stream *fs = conn->files;
  if (fs == NULL || !fs->extract) {
    return; /* StreamOut keeps input buffered for a next request */
  }
  feed_body(fs);
  maybe_finish(fs);
  maybe_free(fs);
}

void cf_files_conn_closed(cf_conn *conn)
{
  cf_file_stream *fs = conn->files;
  conn->files = NULL;
  fs->conn = NULL;
  cf_log(CF_LOG_INFO, "stream.client-gone", "{s:s, s:s}", "handle", fs->handle, "stream",
         stream_name(fs));
  kill_child(fs);
  close_data(fs);
  maybe_free(fs);
}

/* Watches the started child's exit through its pidfd, or kills and reaps
 * it when that fails. */
static int watch_exit(cf_file_stream *fs)
{
  int rc = uv_poll_init(fs->server->loop, &fs->exit_poll, fs->child.pidfd);
  if (rc < 0) {
    cf_err *err = NULL;
    cf_err_set(&err, CF_E_SYSTEM, "watch the stream child: %s", uv_strerror(rc));
    fail(fs, err);
    /* NOTE: this waits on the loop thread, but only for a killed child. */
    cf_stream_child_kill(&fs->child);
    bool exited = false;
    int exit_status = 0;
    while (!exited && cf_stream_child_wait(&fs->child, &exited, &exit_status, fs->message,
                                           sizeof(fs->message), NULL) == 0) {
    }
    fs->exited = true;
    return -1;
  }
  fs->exit_poll.data = fs;
  fs->open_handles++;
  uv_poll_start(&fs->exit_poll, UV_READABLE, on_exit_ready);
  return 0;
}

/* Opens the data pipe. On failure the child is killed, and its exit ends
 * the request. */
static void watch_data(cf_file_stream *fs)
{
  uv_pipe_init(fs->server->loop, &fs->data, 0);
  fs->data.data = fs;
  fs->open_handles++;
  fs->data_open = true;
  int rc = uv_pipe_open(&fs->data, fs->child.data_fd);
  if (rc < 0) {
    cf_err *err = NULL;
    cf_err_set(&err, CF_E_SYSTEM, "watch the tar stream pipe: %s", uv_strerror(rc));
    fail(fs, err);
    kill_child(fs);
    close_data(fs);
    return;
  }
  fs->child.data_fd = -1; /* the pipe handle closes it */
}

/* Reads and drops the request body until its end, then reports fs->err. */
static void drain_body(cf_file_stream *fs)
{
  fs->exited = true;
  fs->conn->state = CF_CONN_FILES;
  cf_conn_read(fs->conn);
  cf_files_input(fs->conn);
}

static void begin_transfer(cf_file_stream *fs)
{
  cf_conn *conn = fs->conn;
  conn->state = CF_CONN_FILES;
  /* StreamOut reads too, to notice a client that goes away. */
  cf_conn_read(conn);
  if (fs->extract) {
    cf_files_input(conn);
    return;
  }
  if (fs->data_open) {
    fs->data_reading = true;
    uv_read_start((uv_stream_t *)&fs->data, alloc_output, on_output);
  }
}

static void run_start(uv_work_t *work)
{
  cf_file_stream *fs = work->data;
  cf_stream_child_start(&fs->spec, &fs->child, &fs->start_err);
}

/* Reports a failure before the child runs: StreamIn once the body has
 * been read to its end, StreamOut at once. */
static void fail_early(cf_file_stream *fs)
{
  fs->exited = true;
  if (fs->conn != NULL && fs->extract) {
    drain_body(fs);
    return;
  }
  if (fs->conn != NULL) {
    cf_conn *conn = detach(fs);
    cf_conn_respond_error(conn, fs->err, fs->handle, NULL);
    cf_conn_request_done(conn);
  }
  maybe_free(fs);
}

static void after_start(uv_work_t *work, int status)
{
  (void)status;
  cf_file_stream *fs = work->data;
  fs->working = false;
  if (fs->start_err != NULL) {
    fail(fs, cf_steal(&fs->start_err));
    fail_early(fs);
    return;
  }
  if (watch_exit(fs) < 0) {
    fail_early(fs);
    return;
  }
  watch_data(fs);
  if (fs->conn == NULL || fs->cancelled || fs->server->stopping) {
    kill_child(fs);
  }
  if (fs->conn == NULL) {
    close_data(fs);
    return;
  }
  cf_log(CF_LOG_INFO, "stream.started", "{s:s, s:s, s:s, s:i}", "handle", fs->handle, "stream",
         stream_name(fs), "path", fs->path, "pid", (int)fs->child.pid);
  begin_transfer(fs);
}

static void start_child(cf_file_stream *fs)
{
  fs->spec = (cf_stream_child_spec){
      .extract = fs->extract,
      .path = fs->path,
      .user = fs->user,
  };
  cf_container_record record = {0};
  if (cf_store_container_get(cf_backend_store(fs->server->backend), fs->handle, &record, &fs->err) <
      0) {
    fail_early(fs);
    return;
  }
  fs->spec.init_pid = (pid_t)record.init_pid;
  fs->spec.init_start_time = record.init_start_time;
  cf_container_record_clear(&record);
  fs->working = true;
  fs->work.data = fs;
  uv_queue_work(fs->server->loop, &fs->work, run_start, after_start);
}

/* --- Requests --- */

/* Reads the path and user query parameters. The path must not be empty. */
static int read_query(cf_conn *conn, const char *key, cf_file_stream *fs, cf_err **err)
{
  int found = cf_http_query_get(conn->req.query, key, &fs->path, err);
  if (found < 0) {
    return -1;
  }
  if (found == 0 || fs->path[0] == '\0') {
    return cf_err_set(err, CF_E_INVALID,
                      "missing %s: give a path in the container in the %s "
                      "query parameter",
                      key, key);
  }
  found = cf_http_query_get(conn->req.query, "user", &fs->user, err);
  if (found < 0) {
    return -1;
  }
  if (found == 0) {
    fs->user = cf_xstrdup("");
  }
  return 0;
}

static int check_container(cf_server *server, const char *handle, cf_err **err)
{
  cf_ctr *ctr = cf_ctr_find(server, handle);
  if (ctr == NULL || ctr->state == CF_CTR_CREATING) {
    return cf_err_set(err, CF_E_NOT_FOUND, "unknown handle: %s", handle);
  }
  if (ctr->state == CF_CTR_DESTROYING) {
    return cf_err_set(err, CF_E_BUSY, "container %s is being destroyed", handle);
  }
  return 0;
}

/* Sends 100 Continue for Expect: 100-continue, so a client that waits for
 * it sends the body at once. */
static void send_continue(cf_conn *conn)
{
  const char *expect = cf_http_request_header(&conn->req, "Expect");
  if (expect != NULL && strcasecmp(expect, "100-continue") == 0) {
    static const char line[] = "HTTP/1.1 100 Continue\r\n\r\n";
    cf_conn_write(conn, line, sizeof(line) - 1);
  }
}

void cf_handle_stream_in(cf_conn *conn, const char *handle)
{
  cf_file_stream *fs = fs_new(conn, handle, true);
  cf_http_request_stream_body(&conn->req, on_body, fs);
  send_continue(conn);
  cf_err *err = NULL;
  if (read_query(conn, "destination", fs, &err) < 0 ||
      check_container(conn->server, handle, &err) < 0) {
    fs->err = err;
    fail_early(fs);
    return;
  }
  start_child(fs);
}

void cf_handle_stream_out(cf_conn *conn, const char *handle)
{
  cf_file_stream *fs = fs_new(conn, handle, false);
  cf_err *err = NULL;
  if (read_query(conn, "source", fs, &err) < 0 || check_container(conn->server, handle, &err) < 0) {
    fs->err = err;
    fail_early(fs);
    return;
  }
  start_child(fs);
}

void cf_files_cancel(cf_server *server, const char *handle)
{
  for (cf_conn *conn = server->conns; conn != NULL; conn = conn->next) {
    cf_file_stream *fs = conn->files;
    if (fs == NULL || strcmp(fs->handle, handle) != 0) {
      continue;
    }
    fs->cancelled = true;
    cf_err *err = NULL;
    cf_err_set(&err, CF_E_SYSTEM, "error streaming %s: container %s is being destroyed",
               fs->extract ? "in" : "out", handle);
    fail(fs, err);
    kill_child(fs);
  }
}

bool cf_files_active(const cf_server *server, const char *handle)
{
  for (const cf_conn *conn = server->conns; conn != NULL; conn = conn->next) {
    if (conn->files != NULL && strcmp(conn->files->handle, handle) == 0) {
      return true;
    }
  }
  return false;
}
