/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Run, Attach and the stdout/stderr streams of Garden's hijacked process
 * protocol.
 *
 * A process has one stream per Run or Attach call, identified by a stream
 * id. Output is fanned out to every unfinished stream: written to its
 * attached stdout or stderr connection, or kept (bounded) until one
 * attaches. When the process has exited and its pipes are drained, each
 * stream's control connection gets exactly one exit_status payload and
 * every connection of the stream is closed once its data is written. A
 * finished stream stays attachable for CF_STREAM_TTL_MS.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/log.h"
#include "base/mem.h"
#include "garden/internal.h"
#include "garden/json.h"

static void proc_maybe_free(cf_proc *proc);

/* --- Lookup --- */

static cf_proc *find_proc(cf_server *server, const char *handle, const char *id)
{
  for (cf_proc *proc = server->procs; proc != NULL; proc = proc->next) {
    if (strcmp(proc->handle, handle) == 0 && strcmp(proc->id, id) == 0) {
      return proc;
    }
  }
  return NULL;
}

static cf_stream *find_stream(cf_proc *proc, const char *stream_id)
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

static void send_first_payload(cf_conn *conn, const cf_proc *proc, const cf_stream *stream)
{
  send_payload(conn, json_pack("{s:o, s:s}", "process_id", cf_json_string(proc->id), "stream_id",
                               stream->id));
}

static void send_exit_payload(cf_conn *conn, const char *process_id, int exit_status)
{
  send_payload(conn, json_pack("{s:o, s:i}", "process_id", cf_json_string(process_id),
                               "exit_status", exit_status));
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
  proc_maybe_free(proc);
}

static void on_stream_expired(uv_timer_t *timer)
{
  uv_close((uv_handle_t *)timer, on_stream_timer_closed);
}

static cf_stream *stream_new(cf_proc *proc)
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
static void stream_finish(cf_stream *stream)
{
  if (stream->finished) {
    return;
  }
  stream->finished = true;
  cf_proc *proc = stream->proc;
  if (stream->control != NULL) {
    send_exit_payload(stream->control, proc->id, proc->exit_status);
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

static void stream_output(cf_stream *stream, int fd, const char *data, size_t len)
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

/* --- Process handles --- */

static void on_handle_closed(uv_handle_t *handle)
{
  cf_proc *proc = handle->data;
  proc->open_handles--;
  proc_maybe_free(proc);
}

static void close_handle(cf_proc *proc, uv_handle_t *handle)
{
  if (!uv_is_closing(handle)) {
    uv_close(handle, on_handle_closed);
  }
  (void)proc;
}

static void proc_maybe_free(cf_proc *proc)
{
  if (!proc->finished || proc->streams != NULL || proc->open_handles > 0) {
    return;
  }
  cf_server *server = proc->server;
  for (cf_proc **p = &server->procs; *p != NULL; p = &(*p)->next) {
    if (*p == proc) {
      *p = proc->next;
      break;
    }
  }
  /* The libuv handles owned the pipe descriptors and closed them. */
  proc->process.stdin_fd = -1;
  proc->process.stdout_fd = -1;
  proc->process.stderr_fd = -1;
  cf_process_close(&proc->process);
  free(proc->id);
  free(proc->handle);
  free(proc);
}

static void close_stdin(cf_proc *proc);

static void proc_finish(cf_proc *proc)
{
  if (proc->finished) {
    return;
  }
  proc->finished = true;
  close_stdin(proc);
  close_handle(proc, (uv_handle_t *)&proc->drain_timer);
  cf_err *err = NULL;
  if (cf_store_process_set_exited(cf_backend_store(proc->server->backend), proc->handle, proc->id,
                                  proc->exit_status, &err) < 0) {
    cf_log_error("run.record-exit-failed", err, "{s:s, s:s}", "handle", proc->handle, "process",
                 proc->id);
    cf_err_free(err);
  }
  cf_log(CF_LOG_INFO, "run.exited", "{s:s, s:s, s:i}", "handle", proc->handle, "process", proc->id,
         "exit-status", proc->exit_status);
  for (cf_stream *s = proc->streams; s != NULL; s = s->next) {
    stream_finish(s);
  }
  proc_maybe_free(proc);
}

static void maybe_finish(cf_proc *proc)
{
  if (proc->exited && !proc->output_open[1] && !proc->output_open[2]) {
    proc_finish(proc);
  }
}

static void alloc_output(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
  (void)handle;
  (void)suggested;
  buf->base = cf_xmalloc(65536);
  buf->len = 65536;
}

static void close_output(cf_proc *proc, int fd)
{
  if (!proc->output_open[fd]) {
    return;
  }
  proc->output_open[fd] = false;
  close_handle(proc, (uv_handle_t *)&proc->output_pipe[fd]);
}

static void on_output(uv_stream_t *pipe, ssize_t nread, const uv_buf_t *buf)
{
  cf_proc *proc = pipe->data;
  int fd = pipe == (uv_stream_t *)&proc->output_pipe[1] ? 1 : 2;
  if (nread > 0) {
    for (cf_stream *s = proc->streams; s != NULL; s = s->next) {
      stream_output(s, fd, buf->base, (size_t)nread);
    }
  }
  free(buf->base);
  if (nread < 0) {
    close_output(proc, fd);
    maybe_finish(proc);
  }
}

static void on_drain_timeout(uv_timer_t *timer)
{
  cf_proc *proc = timer->data;
  close_output(proc, 1);
  close_output(proc, 2);
  maybe_finish(proc);
}

static void on_exit_ready(uv_poll_t *poll, int status, int events)
{
  cf_proc *proc = poll->data;
  bool exited = false;
  int exit_status = 0;
  cf_err *err = NULL;
  if (cf_runtime_process_wait(&proc->process, &exited, &exit_status, &err) < 0) {
    cf_log_error("run.wait-failed", err, "{s:s, s:s}", "handle", proc->handle, "process", proc->id);
    cf_err_free(err);
    exited = true;
    exit_status = 255;
  }
  if (!exited) {
    return;
  }
  proc->exited = true;
  proc->exit_status = exit_status;
  close_handle(proc, (uv_handle_t *)poll);
  uv_timer_start(&proc->drain_timer, on_drain_timeout, CF_PIPE_DRAIN_MS, 0);
  maybe_finish(proc);
}

/* --- stdin --- */

typedef struct stdin_write {
  uv_write_t req;
  char data[];
} stdin_write;

static void on_stdin_written(uv_write_t *req, int status)
{
  (void)status; /* EPIPE: the process closed its stdin; the data is dropped */
  free(req);
}

static void write_stdin(cf_proc *proc, const char *data, size_t len)
{
  if (!proc->stdin_open || len == 0) {
    return;
  }
  stdin_write *w = cf_xmalloc(sizeof(*w) + len);
  memcpy(w->data, data, len);
  uv_buf_t buf = uv_buf_init(w->data, (unsigned int)len);
  if (uv_write(&w->req, (uv_stream_t *)&proc->stdin_pipe, &buf, 1, on_stdin_written) < 0) {
    free(w);
  }
}

static void on_stdin_shutdown(uv_shutdown_t *req, int status)
{
  (void)status; /* pipes are not sockets: only the flush of queued writes matters */
  cf_proc *proc = req->data;
  free(req);
  close_handle(proc, (uv_handle_t *)&proc->stdin_pipe);
}

/* Closes stdin after the queued writes have been flushed. */
static void close_stdin(cf_proc *proc)
{
  if (!proc->stdin_open) {
    return;
  }
  proc->stdin_open = false;
  uv_shutdown_t *req = cf_xmalloc(sizeof(*req));
  req->data = proc;
  if (uv_shutdown(req, (uv_stream_t *)&proc->stdin_pipe, on_stdin_shutdown) < 0) {
    free(req);
    close_handle(proc, (uv_handle_t *)&proc->stdin_pipe);
  }
}

/* --- Control connection input --- */

static void signal_proc(cf_proc *proc, int sig)
{
  cf_err *err = NULL;
  if (cf_runtime_process_signal(&proc->process, sig, &err) < 0) {
    cf_log_error("run.signal-failed", err, "{s:s, s:s, s:i}", "handle", proc->handle, "process",
                 proc->id, "signal", sig);
    cf_err_free(err);
  }
}

/* Applies one payload from the client, in the order the Go server checks
 * its fields. Returns false once the client's input is to be ignored. */
static bool apply_payload(cf_proc *proc, const json_t *payload)
{
  if (cf_json_get(payload, "tty") != NULL) {
    cf_log(CF_LOG_DEBUG, "run.tty-resize-ignored", "{s:s}", "process", proc->id);
    return true;
  }
  json_t *source = cf_json_get(payload, "source");
  if (source != NULL && !json_is_null(source)) {
    json_t *data = cf_json_get(payload, "data");
    if (json_is_string(data)) {
      write_stdin(proc, json_string_value(data), json_string_length(data));
      return true;
    }
    close_stdin(proc);
    return false;
  }
  json_t *sig = cf_json_get(payload, "signal");
  if (json_is_integer(sig) && (json_integer_value(sig) == 0 || json_integer_value(sig) == 1)) {
    signal_proc(proc, json_integer_value(sig) == 0 ? SIGTERM : SIGKILL);
    return true;
  }
  close_stdin(proc);
  return false;
}

void cf_control_input(cf_conn *conn)
{
  cf_buf *in = &conn->input;
  while (!conn->ignore_input) {
    json_t *payload = NULL;
    cf_err *err = NULL;
    int got = cf_json_take(in, &payload, &err);
    if (got == 0) {
      return; /* the rest of the message is still on its way */
    }
    cf_proc *proc = conn->stream != NULL ? conn->stream->proc : NULL;
    if (got < 0) {
      cf_log(CF_LOG_INFO, "run.bad-payload", "{s:s, s:s}", "process", proc != NULL ? proc->id : "",
             "error", err->message);
      cf_err_free(err);
      if (proc != NULL) {
        close_stdin(proc);
      }
      conn->ignore_input = true;
      break;
    }
    if (proc != NULL && !proc->finished && !apply_payload(proc, payload)) {
      conn->ignore_input = true;
    }
    json_decref(payload);
  }
  cf_buf_reset(in);
}

void cf_control_closed(cf_conn *conn)
{
  cf_stream *stream = conn->stream;
  if (stream == NULL) {
    return;
  }
  stream->control = NULL;
  conn->stream = NULL;
  /* The client went away: its stdin ends, but the process keeps running and
   * can be attached to again. */
  close_stdin(stream->proc);
}

void cf_output_closed(cf_conn *conn)
{
  cf_stream *stream = conn->stream;
  if (stream != NULL && stream->output[conn->output_fd] == conn) {
    stream->output[conn->output_fd] = NULL;
  }
  conn->stream = NULL;
}

/* --- Run --- */

typedef struct exec_work {
  uv_work_t work;
  cf_conn *conn;
  cf_proc *proc;
  char *path;
  char **args;
  size_t arg_count;
  char **env;
  size_t env_count;
  char *dir;
  char *user;
  cf_process process;
  cf_err *err;
} exec_work;

static void exec_work_free(exec_work *ew)
{
  free(ew->path);
  cf_strv_free(ew->args, ew->arg_count);
  cf_strv_free(ew->env, ew->env_count);
  free(ew->dir);
  free(ew->user);
  cf_err_free(ew->err);
  free(ew);
}

/* Rejects process fields that later work implements. */
static int check_unsupported(const json_t *spec, cf_err **err)
{
  static const struct {
    const char *key;
    json_type type;
  } fields[] = {
      {"image", JSON_OBJECT}, {"rlimits", JSON_OBJECT},    {"limits", JSON_OBJECT},
      {"tty", JSON_OBJECT},   {"bind_mounts", JSON_ARRAY},
  };
  for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
    if (cf_json_check_type(spec, fields[i].key, fields[i].type, err) < 0) {
      return -1;
    }
  }
  const char *image_uri = NULL;
  if (cf_json_get_string(cf_json_get(spec, "image"), "uri", &image_uri, err) < 0) {
    return -1;
  }
  json_t *mounts = cf_json_get(spec, "bind_mounts");
  if (json_is_array(mounts) && json_array_size(mounts) > 0 &&
      (image_uri == NULL || image_uri[0] == '\0')) {
    return cf_err_set(err, CF_E_INVALID,
                      "bind_mounts are only allowed for a process with its own image");
  }
  if (image_uri != NULL && image_uri[0] != '\0') {
    return cf_err_set(err, CF_E_NOT_IMPLEMENTED,
                      "processes with their own image (peas) are not implemented yet in cfwin");
  }
  json_t *tty = cf_json_get(spec, "tty");
  if (tty != NULL && !json_is_null(tty)) {
    return cf_err_set(err, CF_E_NOT_IMPLEMENTED, "tty processes are not implemented yet in cfwin");
  }
  json_t *rlimits = cf_json_get(spec, "rlimits");
  if (json_is_object(rlimits) && json_object_size(rlimits) > 0) {
    return cf_err_set(err, CF_E_NOT_IMPLEMENTED, "rlimits are not implemented yet in cfwin");
  }
  return 0;
}

static int parse_process(const json_t *spec, exec_work *ew, char **id, cf_err **err)
{
  const char *path = NULL;
  const char *dir = NULL;
  const char *user = NULL;
  const char *given_id = NULL;
  if (!json_is_object(spec)) {
    return cf_err_set(err, CF_E_INVALID, "invalid process spec: expected a JSON object");
  }
  if (check_unsupported(spec, err) < 0 || cf_json_get_string(spec, "id", &given_id, err) < 0 ||
      cf_json_get_string(spec, "path", &path, err) < 0 ||
      cf_json_get_string(spec, "dir", &dir, err) < 0 ||
      cf_json_get_string(spec, "user", &user, err) < 0 ||
      cf_json_get_strings(spec, "args", &ew->args, &ew->arg_count, err) < 0 ||
      cf_json_get_strings(spec, "env", &ew->env, &ew->env_count, err) < 0) {
    return -1;
  }
  if (path == NULL || path[0] == '\0') {
    return cf_err_set(err, CF_E_INVALID, "invalid process spec: \"path\" is missing");
  }
  ew->path = cf_xstrdup(path);
  ew->dir = dir != NULL ? cf_xstrdup(dir) : NULL;
  ew->user = user != NULL ? cf_xstrdup(user) : NULL;
  if (given_id != NULL && given_id[0] != '\0') {
    *id = cf_xstrdup(given_id);
    return 0;
  }
  char uuid[37];
  if (cf_random_uuid(uuid, err) < 0) {
    return -1;
  }
  *id = cf_xstrdup(uuid);
  return 0;
}

static void run_exec(uv_work_t *work)
{
  exec_work *ew = work->data;
  cf_process_spec spec = {
      .path = ew->path,
      .args = (const char *const *)ew->args,
      .arg_count = ew->arg_count,
      .env = (const char *const *)ew->env,
      .env_count = ew->env_count,
      .dir = ew->dir,
      .user = ew->user,
  };
  cf_backend_exec(ew->conn->server->backend, ew->proc->handle, &spec, &ew->process, &ew->err);
}

static void remove_proc(cf_proc *proc)
{
  proc->finished = true;
  proc_maybe_free(proc);
}

static int start_watching(cf_proc *proc, cf_err **err)
{
  uv_loop_t *loop = proc->server->loop;
  int rc = uv_poll_init(loop, &proc->exit_poll, proc->process.pidfd);
  if (rc < 0) {
    return cf_err_set(err, CF_E_SYSTEM, "watch process exit: %s", uv_strerror(rc));
  }
  proc->exit_poll.data = proc;
  proc->open_handles++;
  uv_timer_init(loop, &proc->drain_timer);
  proc->drain_timer.data = proc;
  proc->open_handles++;
  int fds[3] = {proc->process.stdin_fd, proc->process.stdout_fd, proc->process.stderr_fd};
  uv_pipe_t *pipes[3] = {&proc->stdin_pipe, &proc->output_pipe[1], &proc->output_pipe[2]};
  for (int i = 0; i < 3; i++) {
    uv_pipe_init(loop, pipes[i], 0);
    pipes[i]->data = proc;
    proc->open_handles++;
    rc = uv_pipe_open(pipes[i], fds[i]);
    if (rc < 0) {
      for (int j = 0; j <= i; j++) {
        close_handle(proc, (uv_handle_t *)pipes[j]);
      }
      close_handle(proc, (uv_handle_t *)&proc->drain_timer);
      close_handle(proc, (uv_handle_t *)&proc->exit_poll);
      signal_proc(proc, SIGKILL);
      return cf_err_set(err, CF_E_SYSTEM, "watch process pipe: %s", uv_strerror(rc));
    }
  }
  proc->stdin_open = true;
  proc->output_open[1] = true;
  proc->output_open[2] = true;
  uv_read_start((uv_stream_t *)&proc->output_pipe[1], alloc_output, on_output);
  uv_read_start((uv_stream_t *)&proc->output_pipe[2], alloc_output, on_output);
  uv_poll_start(&proc->exit_poll, UV_READABLE, on_exit_ready);
  return 0;
}

static int64_t now_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void record_proc(cf_proc *proc)
{
  cf_store *store = cf_backend_store(proc->server->backend);
  cf_err *err = NULL;
  uint64_t start_time = 0;
  cf_runtime_pid_start_time(proc->process.pid, &start_time, NULL);
  cf_process_record record = {
      .id = proc->id,
      .handle = proc->handle,
      .pid = proc->process.pid,
      .start_time = start_time,
      .state = CF_PROCESS_RUNNING,
      .created_at_ns = now_ns(),
  };
  cf_store_process_delete(store, proc->handle, proc->id, NULL);
  if (cf_store_process_insert(store, &record, &err) < 0) {
    cf_log_error("run.record-failed", err, "{s:s, s:s}", "handle", proc->handle, "process",
                 proc->id);
    cf_err_free(err);
  }
}

/* Makes conn the control connection of a new stream of proc: sends the
 * response headers and the first payload. */
static void become_control(cf_conn *conn, cf_proc *proc, int status)
{
  cf_stream *stream = stream_new(proc);
  stream->control = conn;
  conn->stream = stream;
  cf_conn_hijack(conn, status, true);
  send_first_payload(conn, proc, stream);
  conn->state = CF_CONN_CONTROL;
  cf_conn_read(conn);
}

static void after_exec(uv_work_t *work, int status)
{
  exec_work *ew = work->data;
  cf_conn *conn = ew->conn;
  cf_proc *proc = ew->proc;
  if (ew->err == NULL) {
    proc->process = ew->process;
    start_watching(proc, &ew->err);
  }
  if (ew->err != NULL) {
    cf_conn_respond_error(conn, ew->err, NULL, NULL);
    remove_proc(proc);
    exec_work_free(ew);
    cf_conn_request_done(conn);
    return;
  }
  cf_log(CF_LOG_INFO, "run.started", "{s:s, s:s, s:i}", "handle", proc->handle, "process", proc->id,
         "pid", (int)proc->process.pid);
  record_proc(proc);
  exec_work_free(ew);
  become_control(conn, proc, 201);
  cf_control_input(conn);
}

static cf_proc *proc_new(cf_server *server, const char *handle, char *id)
{
  cf_proc *proc = cf_xcalloc(1, sizeof(*proc));
  proc->server = server;
  proc->handle = cf_xstrdup(handle);
  proc->id = id;
  proc->process =
      (cf_process){.pid = -1, .pidfd = -1, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1};
  proc->next = server->procs;
  server->procs = proc;
  return proc;
}

void cf_handle_run(cf_conn *conn, cf_route_match *match)
{
  cf_err *err = NULL;
  json_t *spec = NULL;
  if (cf_json_decode(conn->req.body.data, conn->req.body.len, &spec, &err) < 0) {
    cf_conn_fail(conn, err, NULL, NULL);
    return;
  }
  exec_work *ew = cf_xcalloc(1, sizeof(*ew));
  char *id = NULL;
  int rc = parse_process(spec, ew, &id, &err);
  json_decref(spec);
  if (rc < 0) {
    exec_work_free(ew);
    cf_conn_fail(conn, err, NULL, NULL);
    return;
  }
  if (cf_ctr_lookup(conn, match->handle) == NULL) {
    free(id);
    exec_work_free(ew);
    return;
  }
  cf_proc *existing = find_proc(conn->server, match->handle, id);
  if (existing != NULL && !existing->finished) {
    cf_err_set(&err, CF_E_EXISTS, "process ID '%s' already in use", id);
    free(id);
    exec_work_free(ew);
    cf_conn_fail(conn, err, NULL, NULL);
    return;
  }
  ew->conn = conn;
  ew->proc = proc_new(conn->server, match->handle, id);
  ew->work.data = ew;
  uv_queue_work(conn->server->loop, &ew->work, run_exec, after_exec);
}

/* --- Attach --- */

/* Attaches to a process this server no longer watches but whose exit the
 * store recorded: the first payload, then its exit status at once. */
static bool attach_recorded(cf_conn *conn, const char *handle, const char *id)
{
  cf_process_record record = {0};
  if (cf_store_process_get(cf_backend_store(conn->server->backend), handle, id, &record, NULL) <
      0) {
    return false;
  }
  bool exited = strcmp(record.state, CF_PROCESS_EXITED) == 0;
  if (exited) {
    char stream_id[24];
    snprintf(stream_id, sizeof(stream_id), "%llu", conn->server->next_stream_id++);
    cf_conn_hijack(conn, 200, true);
    send_payload(conn,
                 json_pack("{s:o, s:s}", "process_id", cf_json_string(id), "stream_id", stream_id));
    send_exit_payload(conn, id, record.exit_status);
    conn->state = CF_CONN_CONTROL;
    cf_conn_close_when_written(conn);
  }
  cf_process_record_clear(&record);
  return exited;
}

void cf_handle_attach(cf_conn *conn, cf_route_match *match)
{
  if (cf_ctr_lookup(conn, match->handle) == NULL) {
    return;
  }
  cf_proc *proc = find_proc(conn->server, match->handle, match->pid);
  if (proc == NULL || proc->process.pid < 0) {
    if (proc == NULL && attach_recorded(conn, match->handle, match->pid)) {
      return;
    }
    cf_err *err = NULL;
    cf_err_set(&err, CF_E_NOT_FOUND, "unknown process: %s", match->pid);
    cf_conn_fail(conn, err, NULL, match->pid);
    return;
  }
  become_control(conn, proc, 200);
  if (proc->finished) {
    stream_finish(conn->stream);
    return;
  }
  cf_control_input(conn);
}

/* --- stdout and stderr streams --- */

void cf_handle_output(cf_conn *conn, cf_route_match *match, int fd)
{
  cf_proc *proc = find_proc(conn->server, match->handle, match->pid);
  cf_stream *stream = proc != NULL ? find_stream(proc, match->stream_id) : NULL;
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

/* --- Shutdown --- */

void cf_procs_shutdown(cf_server *server)
{
  for (cf_proc *proc = server->procs; proc != NULL; proc = proc->next) {
    proc->finished = true;
    close_stdin(proc);
    close_output(proc, 1);
    close_output(proc, 2);
    if (proc->process.pidfd >= 0) {
      close_handle(proc, (uv_handle_t *)&proc->exit_poll);
      close_handle(proc, (uv_handle_t *)&proc->drain_timer);
    }
    for (cf_stream *s = proc->streams; s != NULL; s = s->next) {
      uv_timer_stop(&s->ttl_timer);
      uv_close((uv_handle_t *)&s->ttl_timer, on_stream_timer_closed);
    }
  }
}
