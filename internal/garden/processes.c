/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Run, Attach and the stdout/stderr streams of Garden's hijacked process
 * protocol.
 *
 * A process has one stream per Run or Attach call, identified by a stream
 * id. Output is fanned out to every unfinished stream: written to its
 * attached stdout or stderr connection, or kept (bounded) until one
 * attaches. When the process has exited and its pipes are drained, each
 * stream's control connection gets exactly one exit_status payload (or one
 * error payload when the keeper went away without an exit status) and
 * every connection of the stream is closed once its data is written. A
 * finished stream stays attachable for CF_STREAM_TTL_MS.
 *
 * The process itself belongs to its keeper (keeper/keeper.h): the server
 * holds one connection to the keeper per process, sends stdin, signals and
 * window sizes as frames and receives output and the exit status. After a
 * restart the server reconnects to every keeper the store names.
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
#include "garden/pea.h"
#include "keeper/keeper.h"

/* --- The keeper connection --- */

static void on_handle_closed(uv_handle_t *handle)
{
  cf_proc *proc = handle->data;
  proc->open_handles--;
  cf_proc_maybe_free(proc);
}

static void close_keeper(cf_proc *proc)
{
  if (!proc->keeper_open) {
    return;
  }
  proc->keeper_open = false;
  proc->stdin_open = false;
  uv_close((uv_handle_t *)&proc->keeper, on_handle_closed);
}

typedef struct frame_write {
  uv_write_t req;
  cf_proc *proc;
  bool close_after; /* the last frame: close the connection once written */
  cf_buf frame;
} frame_write;

static void on_frame_written(uv_write_t *req, int status)
{
  (void)status; /* a keeper that went away is noticed on the read side */
  frame_write *w = (frame_write *)req;
  if (w->close_after) {
    close_keeper(w->proc);
  }
  cf_buf_free(&w->frame);
  free(w);
}

/* Queues one frame to the keeper; with close_after, closes the connection
 * once the frame is written. */
static void send_frame(cf_proc *proc, uint8_t type, const void *payload, size_t len,
                       bool close_after)
{
  if (!proc->keeper_open) {
    return;
  }
  frame_write *w = cf_xcalloc(1, sizeof(*w));
  w->proc = proc;
  w->close_after = close_after;
  cf_buf_init(&w->frame, CF_KEEPER_HEADER_SIZE + CF_KEEPER_MAX_PAYLOAD);
  cf_err *err = NULL;
  if (cf_keeper_frame_append(&w->frame, type, payload, len, &err) < 0) {
    cf_log_error("run.keeper-frame-failed", err, "{s:s, s:s}", "handle", proc->handle, "process",
                 proc->id);
    cf_err_free(err);
    cf_buf_free(&w->frame);
    free(w);
    return;
  }
  uv_buf_t buf = uv_buf_init(w->frame.data, (unsigned int)w->frame.len);
  if (uv_write(&w->req, (uv_stream_t *)&proc->keeper, &buf, 1, on_frame_written) < 0) {
    cf_buf_free(&w->frame);
    free(w);
    if (close_after) {
      close_keeper(proc);
    }
  }
}

static void send_u32_frame(cf_proc *proc, uint8_t type, uint32_t value)
{
  unsigned char payload[4] = {(unsigned char)(value >> 24), (unsigned char)(value >> 16),
                              (unsigned char)(value >> 8), (unsigned char)value};
  send_frame(proc, type, payload, sizeof(payload), false);
}

/* Tells the keeper the exit status is no longer needed, so it ends, and
 * drops the store's record. A server that is stopping keeps both for the
 * next server. */
static void release(cf_proc *proc)
{
  if (proc->released) {
    return;
  }
  proc->released = true;
  if (proc->server->stopping) {
    close_keeper(proc);
    return;
  }
  cf_backend_process_remove(proc->server->backend, proc->handle, proc->id, NULL);
  if (proc->keeper_open) {
    send_frame(proc, CF_KEEPER_RELEASE, NULL, 0, true);
  }
}

void cf_proc_maybe_free(cf_proc *proc)
{
  if (!proc->finished || proc->streams != NULL) {
    return;
  }
  release(proc);
  if (proc->open_handles > 0) {
    return;
  }
  cf_server *server = proc->server;
  for (cf_proc **p = &server->procs; *p != NULL; p = &(*p)->next) {
    if (*p == proc) {
      *p = proc->next;
      break;
    }
  }
  cf_buf_free(&proc->keeper_in);
  free(proc->error);
  free(proc->pea_id);
  free(proc->id);
  free(proc->handle);
  free(proc);
}

typedef struct pea_work {
  uv_work_t work;
  cf_backend *backend;
  char *handle;
  char *pea_id;
} pea_work;

static void run_pea_destroy(uv_work_t *work)
{
  pea_work *pw = work->data;
  cf_err *err = NULL;
  if (cf_backend_pea_destroy(pw->backend, pw->handle, pw->pea_id, &err) < 0) {
    cf_log_error("run.destroy-pea-failed", err, "{s:s, s:s}", "handle", pw->handle, "pea",
                 pw->pea_id);
    cf_err_free(err);
  }
}

static void after_pea_destroy(uv_work_t *work, int status)
{
  (void)status;
  pea_work *pw = work->data;
  free(pw->handle);
  free(pw->pea_id);
  free(pw);
}

/* Destroys the process's pea, if it has one, on a worker thread: its
 * process has exited or cannot be watched. */
static void destroy_pea_later(cf_proc *proc)
{
  if (proc->pea_id == NULL) {
    return;
  }
  pea_work *pw = cf_xcalloc(1, sizeof(*pw));
  pw->backend = proc->server->backend;
  pw->handle = cf_xstrdup(proc->handle);
  pw->pea_id = proc->pea_id;
  proc->pea_id = NULL;
  pw->work.data = pw;
  uv_queue_work(proc->server->loop, &pw->work, run_pea_destroy, after_pea_destroy);
}

/* Records the end of the process and finishes its streams. error is NULL
 * when the keeper sent the exit status. */
static void proc_finish(cf_proc *proc, const char *error)
{
  if (proc->finished) {
    return;
  }
  proc->finished = true;
  destroy_pea_later(proc);
  proc->stdin_open = false;
  cf_store *store = cf_backend_store(proc->server->backend);
  cf_err *err = NULL;
  if (error != NULL) {
    proc->error = cf_xstrdup(error);
    cf_log(CF_LOG_ERROR, "run.keeper-lost", "{s:s, s:s, s:s}", "handle", proc->handle, "process",
           proc->id, "error", error);
  } else if (cf_store_process_set_exited(store, proc->handle, proc->id, proc->exit_status, &err) <
             0) {
    cf_log_error("run.record-exit-failed", err, "{s:s, s:s}", "handle", proc->handle, "process",
                 proc->id);
    cf_err_free(err);
  }
  if (error == NULL) {
    cf_log(CF_LOG_INFO, "run.exited", "{s:s, s:s, s:i}", "handle", proc->handle, "process",
           proc->id, "exit-status", proc->exit_status);
  }
  for (cf_stream *s = proc->streams; s != NULL; s = s->next) {
    cf_stream_finish(s);
  }
  cf_proc_maybe_free(proc);
}

static void alloc_input(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
  (void)handle;
  (void)suggested;
  buf->base = cf_xmalloc(65536);
  buf->len = 65536;
}

static void fan_out(cf_proc *proc, int fd, const char *data, size_t len)
{
  for (cf_stream *s = proc->streams; s != NULL; s = s->next) {
    cf_stream_output(s, fd, data, len);
  }
}

/* Applies one frame from the keeper; false for a frame a keeper never
 * sends on this connection. */
static bool apply_keeper_frame(cf_proc *proc, const cf_keeper_frame *frame)
{
  switch (frame->type) {
  case CF_KEEPER_STDOUT:
    fan_out(proc, 1, frame->payload, frame->len);
    return true;
  case CF_KEEPER_STDERR:
    fan_out(proc, 2, frame->payload, frame->len);
    return true;
  case CF_KEEPER_EXIT:
    proc->exit_status = (int)cf_keeper_frame_u32(frame);
    proc_finish(proc, NULL);
    return true;
  default:
    return false;
  }
}

/* The keeper connection ended or broke: without an exit status first, the
 * keeper is gone and so is the way to the process. */
static void keeper_lost(cf_proc *proc, const char *reason)
{
  close_keeper(proc);
  if (proc->finished) {
    return;
  }
  cf_autofree char *error = cf_xasprintf(
      "the keeper of process %s went away without its exit status: %s", proc->id, reason);
  cf_backend_process_remove(proc->server->backend, proc->handle, proc->id, NULL);
  proc->released = true;
  proc_finish(proc, error);
}

static void decode_keeper_input(cf_proc *proc)
{
  for (;;) {
    cf_keeper_frame frame;
    size_t consumed = 0;
    cf_err *err = NULL;
    int got =
        cf_keeper_frame_decode(proc->keeper_in.data, proc->keeper_in.len, &frame, &consumed, &err);
    if (got == 0) {
      return;
    }
    if (got < 0 || !apply_keeper_frame(proc, &frame)) {
      cf_autofree char *reason =
          cf_xasprintf("protocol error: %s", err != NULL ? err->message : "unexpected frame");
      cf_err_free(err);
      keeper_lost(proc, reason);
      return;
    }
    cf_buf_consume(&proc->keeper_in, consumed);
  }
}

static void on_keeper_read(uv_stream_t *pipe, ssize_t nread, const uv_buf_t *buf)
{
  cf_proc *proc = pipe->data;
  if (nread > 0 && cf_buf_append(&proc->keeper_in, buf->base, (size_t)nread, NULL) < 0) {
    nread = UV_ENOBUFS;
  }
  free(buf->base);
  if (nread > 0) {
    decode_keeper_input(proc);
    return;
  }
  if (nread < 0) {
    keeper_lost(proc, nread == UV_EOF ? "connection closed" : uv_strerror((int)nread));
  }
}

/* Takes over the connected keeper socket fd (closed on failure). */
static int watch_keeper(cf_proc *proc, int fd, cf_err **err)
{
  uv_pipe_init(proc->server->loop, &proc->keeper, 0);
  proc->keeper.data = proc;
  proc->open_handles++;
  int rc = uv_pipe_open(&proc->keeper, fd);
  if (rc < 0) {
    close(fd);
    uv_close((uv_handle_t *)&proc->keeper, on_handle_closed);
    return cf_err_set(err, CF_E_SYSTEM, "watch keeper of process %s: %s", proc->id,
                      uv_strerror(rc));
  }
  proc->keeper_open = true;
  proc->stdin_open = true;
  uv_read_start((uv_stream_t *)&proc->keeper, alloc_input, on_keeper_read);
  return 0;
}

/* --- stdin, signals, window size --- */

static void write_stdin(cf_proc *proc, const char *data, size_t len)
{
  if (!proc->stdin_open || len == 0) {
    return;
  }
  send_frame(proc, CF_KEEPER_STDIN, data, len, false);
}

static void close_stdin(cf_proc *proc)
{
  if (!proc->stdin_open) {
    return;
  }
  proc->stdin_open = false;
  send_frame(proc, CF_KEEPER_STDIN_CLOSE, NULL, 0, false);
}

static void signal_proc(cf_proc *proc, int sig)
{
  send_u32_frame(proc, CF_KEEPER_SIGNAL, (uint32_t)sig);
}

/* Reads tty.window_size of a payload or process spec; a missing or zero
 * size is Garden's default of 80 columns by 24 rows. */
static void window_size(const json_t *tty, uint16_t *rows, uint16_t *columns)
{
  json_t *size = cf_json_get(tty, "window_size");
  json_int_t r = json_integer_value(cf_json_get(size, "rows"));
  json_int_t c = json_integer_value(cf_json_get(size, "columns"));
  *rows = r > 0 && r <= UINT16_MAX ? (uint16_t)r : 24;
  *columns = c > 0 && c <= UINT16_MAX ? (uint16_t)c : 80;
}

/* Sends the payload's window size to the keeper; a tty payload without
 * one changes nothing. */
static void resize_tty(cf_proc *proc, const json_t *tty)
{
  if (!json_is_object(cf_json_get(tty, "window_size"))) {
    return;
  }
  uint16_t rows = 0;
  uint16_t columns = 0;
  window_size(tty, &rows, &columns);
  unsigned char payload[4] = {(unsigned char)(rows >> 8), (unsigned char)rows,
                              (unsigned char)(columns >> 8), (unsigned char)columns};
  send_frame(proc, CF_KEEPER_WINSIZE, payload, sizeof(payload), false);
}

/* --- Control connection input --- */

/* Applies one payload from the client, in the order the Go server checks
 * its fields. Returns false once the client's input is to be ignored. */
static bool apply_payload(cf_proc *proc, const json_t *payload)
{
  json_t *tty = cf_json_get(payload, "tty");
  if (tty != NULL && !json_is_null(tty)) {
    resize_tty(proc, tty);
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
  bool tty;
  uint16_t rows;
  uint16_t columns;
  json_t *oci_config; /* process.rlimits, or NULL */
  /* The init the process joins; pid 0 for the container's own. A process
   * with its own image (a pea) gets its pea's init here. */
  cf_container_init target;
  cf_backend_process started;
  cf_pea_spec pea;
  char *pea_id; /* the pea made for the process, or NULL */
  cf_err *err;
} exec_work;

static void exec_work_free(exec_work *ew)
{
  free(ew->path);
  cf_strv_free(ew->args, ew->arg_count);
  cf_strv_free(ew->env, ew->env_count);
  free(ew->dir);
  free(ew->user);
  json_decref(ew->oci_config);
  cf_backend_process_clear(&ew->started);
  cf_pea_spec_clear(&ew->pea);
  free(ew->pea_id);
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
  return 0;
}

/* Garden's ResourceLimits keys and the OCI rlimit types they set. */
static const struct {
  const char *key;
  const char *type;
} rlimit_keys[] = {
    {"as", "RLIMIT_AS"},           {"core", "RLIMIT_CORE"},
    {"cpu", "RLIMIT_CPU"},         {"data", "RLIMIT_DATA"},
    {"fsize", "RLIMIT_FSIZE"},     {"locks", "RLIMIT_LOCKS"},
    {"memlock", "RLIMIT_MEMLOCK"}, {"msgqueue", "RLIMIT_MSGQUEUE"},
    {"nice", "RLIMIT_NICE"},       {"nofile", "RLIMIT_NOFILE"},
    {"nproc", "RLIMIT_NPROC"},     {"rss", "RLIMIT_RSS"},
    {"rtprio", "RLIMIT_RTPRIO"},   {"sigpending", "RLIMIT_SIGPENDING"},
    {"stack", "RLIMIT_STACK"},
};

static const char *rlimit_type(const char *key)
{
  for (size_t i = 0; i < sizeof(rlimit_keys) / sizeof(rlimit_keys[0]); i++) {
    if (strcmp(rlimit_keys[i].key, key) == 0) {
      return rlimit_keys[i].type;
    }
  }
  return NULL;
}

/* Turns the spec's rlimits into an OCI config with process.rlimits, or
 * NULL when none is set. Each Garden value sets both the soft and the hard
 * limit, as Guardian's process builder (rundmc/processes) does. */
static int parse_rlimits(const json_t *spec, json_t **config, cf_err **err)
{
  *config = NULL;
  json_t *rlimits = cf_json_get(spec, "rlimits");
  if (!json_is_object(rlimits) || json_object_size(rlimits) == 0) {
    return 0;
  }
  json_t *list = json_array();
  const char *key;
  json_t *value;
  json_object_foreach(rlimits, key, value)
  {
    if (json_is_null(value)) {
      continue;
    }
    const char *type = rlimit_type(key);
    if (type == NULL) {
      json_decref(list);
      return cf_err_set(err, CF_E_INVALID,
                        "invalid process spec: rlimits.%s is not one of Garden's limit names "
                        "(as, core, cpu, data, fsize, locks, memlock, msgqueue, nice, nofile, "
                        "nproc, rss, rtprio, sigpending, stack)",
                        key);
    }
    if (!json_is_integer(value) || json_integer_value(value) < 0) {
      json_decref(list);
      cf_autofree char *text = json_dumps(value, JSON_ENCODE_ANY);
      return cf_err_set(err, CF_E_INVALID,
                        "invalid process spec: rlimits.%s is %s; give a non-negative integer", key,
                        text != NULL ? text : "not JSON");
    }
    json_array_append_new(list,
                          json_pack("{s:s, s:O, s:O}", "type", type, "hard", value, "soft", value));
  }
  if (json_array_size(list) == 0) {
    json_decref(list);
    return 0;
  }
  *config = json_pack("{s:{s:o}}", "process", "rlimits", list);
  return 0;
}

static void parse_tty(const json_t *spec, exec_work *ew)
{
  json_t *tty = cf_json_get(spec, "tty");
  ew->tty = tty != NULL && !json_is_null(tty);
  if (ew->tty) {
    window_size(tty, &ew->rows, &ew->columns);
  }
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
      cf_json_get_strings(spec, "env", &ew->env, &ew->env_count, err) < 0 ||
      parse_rlimits(spec, &ew->oci_config, err) < 0 || cf_pea_spec_parse(spec, &ew->pea, err) < 0) {
    return -1;
  }
  if (path == NULL || path[0] == '\0') {
    return cf_err_set(err, CF_E_INVALID, "invalid process spec: \"path\" is missing");
  }
  parse_tty(spec, ew);
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

/* Creates the process's pea and starts the process in it; a failed start
 * destroys the pea again. */
static void run_in_new_pea(exec_work *ew, const cf_process_spec *spec)
{
  cf_backend *backend = ew->conn->server->backend;
  const char *handle = ew->proc->handle;
  cf_pea_request request = cf_pea_spec_request(&ew->pea);
  if (cf_backend_pea_create(backend, handle, &request, &ew->target, &ew->pea_id, &ew->err) < 0) {
    return;
  }
  if (cf_backend_pea_exec(backend, handle, ew->pea_id, ew->proc->id, spec, &ew->started,
                          &ew->err) == 0) {
    return;
  }
  cf_err *err = NULL;
  if (cf_backend_pea_destroy(backend, handle, ew->pea_id, &err) < 0) {
    cf_log_error("run.destroy-pea-failed", err, "{s:s, s:s}", "handle", handle, "pea", ew->pea_id);
    cf_err_free(err);
  }
  free(ew->pea_id);
  ew->pea_id = NULL;
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
      .oci_config = ew->oci_config,
      .terminal = ew->tty,
      .terminal_rows = ew->rows,
      .terminal_columns = ew->columns,
  };
  if (ew->pea.is_pea) {
    run_in_new_pea(ew, &spec);
    return;
  }
  cf_backend_exec(ew->conn->server->backend, ew->proc->handle, ew->proc->id, &spec,
                  ew->target.pid > 0 ? &ew->target : NULL, &ew->started, &ew->err);
}

static void remove_proc(cf_proc *proc)
{
  destroy_pea_later(proc);
  proc->finished = true;
  proc->released = true; /* the backend removed the record and no keeper runs */
  cf_proc_maybe_free(proc);
}

/* Makes conn the control connection of a stream of proc: the stream that
 * kept a recovered process's output until this first Attach, or a new one.
 * Sends the response headers and the first payload. */
static void become_control(cf_conn *conn, cf_proc *proc, int status)
{
  cf_stream *stream = proc->backlog != NULL ? proc->backlog : cf_stream_new(proc);
  proc->backlog = NULL;
  stream->control = conn;
  conn->stream = stream;
  cf_conn_hijack(conn, status, true);
  cf_stream_send_first_payload(conn, proc, stream);
  conn->state = CF_CONN_CONTROL;
  if (stream->finished) {
    cf_stream_send_terminal_payload(conn, proc);
    cf_conn_close_when_written(conn);
    return;
  }
  cf_conn_read(conn);
}

static void after_exec(uv_work_t *work, int status)
{
  exec_work *ew = work->data;
  cf_conn *conn = ew->conn;
  cf_proc *proc = ew->proc;
  proc->pea_id = ew->pea_id;
  ew->pea_id = NULL;
  if (ew->err == NULL) {
    proc->pid = ew->started.pid;
    watch_keeper(proc, cf_steal_fd(&ew->started.keeper_fd), &ew->err);
  }
  if (ew->err != NULL) {
    cf_conn_respond_error(conn, ew->err, NULL, NULL);
    remove_proc(proc);
    exec_work_free(ew);
    cf_conn_request_done(conn);
    return;
  }
  cf_log(CF_LOG_INFO, "run.started", "{s:s, s:s, s:i, s:i}", "handle", proc->handle, "process",
         proc->id, "pid", (int)proc->pid, "keeper-pid", (int)ew->started.keeper_pid);
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
  proc->pid = -1;
  cf_buf_init(&proc->keeper_in, CF_KEEPER_HEADER_SIZE + CF_KEEPER_MAX_PAYLOAD);
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
  ew->started.keeper_fd = -1;
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
  cf_proc *existing = cf_proc_find(conn->server, match->handle, id);
  if (existing != NULL && !existing->finished) {
    cf_err_set(&err, CF_E_EXISTS, "process ID '%s' already in use", id);
    free(id);
    exec_work_free(ew);
    cf_conn_fail(conn, err, NULL, NULL);
    return;
  }
  if (existing != NULL) {
    /* The id of a finished process may be used again; its streams stay
     * attachable until they expire, but its record and keeper go now. */
    release(existing);
  }
  ew->conn = conn;
  ew->proc = proc_new(conn->server, match->handle, id);
  ew->work.data = ew;
  uv_queue_work(conn->server->loop, &ew->work, run_exec, after_exec);
}

/* --- Attach --- */

void cf_handle_attach(cf_conn *conn, cf_route_match *match)
{
  if (cf_ctr_lookup(conn, match->handle) == NULL) {
    return;
  }
  cf_proc *proc = cf_proc_find(conn->server, match->handle, match->pid);
  if (proc == NULL || proc->pid < 0) {
    cf_err *err = NULL;
    cf_err_set(&err, CF_E_NOT_FOUND, "unknown process: %s", match->pid);
    cf_conn_fail(conn, err, NULL, match->pid);
    return;
  }
  become_control(conn, proc, 200);
  if (conn->state != CF_CONN_CONTROL || conn->stream == NULL || conn->stream->finished) {
    return;
  }
  if (proc->finished) {
    cf_stream_finish(conn->stream);
    return;
  }
  cf_control_input(conn);
}

/* --- Recovery after a restart --- */

/* Reconnects to the keeper of one recorded process. Output the keeper kept
 * while no server was connected goes to a backlog stream that the first
 * Attach takes over. */
static void recover_one(cf_server *server, const cf_process_record *record)
{
  int fd = -1;
  cf_err *err = NULL;
  if (record->socket_path == NULL || cf_keeper_connect(record->socket_path, &fd, &err) < 0) {
    cf_log_error("recover.connect-failed", err, "{s:s, s:s}", "handle", record->handle, "process",
                 record->id);
    cf_err_free(err);
    cf_backend_process_remove(server->backend, record->handle, record->id, NULL);
    return;
  }
  cf_proc *proc = proc_new(server, record->handle, cf_xstrdup(record->id));
  proc->pid = (pid_t)record->pid;
  proc->backlog = cf_stream_new(proc);
  if (watch_keeper(proc, fd, &err) < 0) {
    cf_log_error("recover.watch-failed", err, "{s:s, s:s}", "handle", record->handle, "process",
                 record->id);
    cf_err_free(err);
    proc->finished = true;
    proc->released = true;
    cf_stream_finish(proc->backlog);
    return;
  }
  cf_log(CF_LOG_INFO, "recover.reattached", "{s:s, s:s, s:i, s:s}", "handle", record->handle,
         "process", record->id, "pid", (int)record->pid, "state", record->state);
}

void cf_procs_recover(cf_server *server, char *const *handles, size_t count)
{
  for (size_t i = 0; i < count; i++) {
    cf_process_record *records = NULL;
    size_t record_count = 0;
    cf_err *err = NULL;
    if (cf_backend_process_records(server->backend, handles[i], &records, &record_count, &err) <
        0) {
      cf_log_error("recover.list-failed", err, "{s:s}", "handle", handles[i]);
      cf_err_free(err);
      continue;
    }
    for (size_t j = 0; j < record_count; j++) {
      recover_one(server, &records[j]);
    }
    cf_backend_process_records_free(records, record_count);
  }
}

/* --- Shutdown --- */

void cf_procs_shutdown(cf_server *server)
{
  for (cf_proc *proc = server->procs; proc != NULL; proc = proc->next) {
    /* The keepers keep the processes, their output and exit status for
     * the next server; no RELEASE is sent while stopping. */
    proc->finished = true;
    close_keeper(proc);
    for (cf_stream *s = proc->streams; s != NULL; s = s->next) {
      cf_stream_close(s);
    }
  }
}
