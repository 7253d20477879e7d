/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Run, Attach and the output streams in cfwin.exe. Run starts the process
 * in the container's compute system with stdio pipes (runtime library,
 * runtime/windows/container.h). Two threads per process read its stdout
 * and stderr, and a third waits for its exit. They hand what they read to
 * the server's loop through a uv_async_t, and the loop sends it on the
 * streams as the Linux server does (garden/processes.c).
 *
 * NOTE: processes do not survive a server restart. The server tracks them
 * only in memory, so a restarted server has no process ids, and it
 * terminates every process it started when it stops.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "base/fs.h"
#include "base/log.h"
#include "base/mem.h"
#include "garden/internal.h"
#include "garden/json.h"
#include "garden/windows/backend_win.h"

/* How long the output threads get to drain the pipes after the process
 * exited, as the runtime role's attached run waits (winc's 10 s
 * CTRL_SHUTDOWN grace period plus 1 s). */
#define DRAIN_TIMEOUT_MS 11000u

/* The working directory of a process whose spec gives none. The runtime
 * rejects a relative one, as winc does.
 * NOTE: this default is cfwin's own choice. */
#define DEFAULT_DIR "C:\\"

/* Output read by a thread, waiting for the loop. */
typedef struct chunk {
  int fd; /* 1 stdout, 2 stderr */
  size_t len;
  struct chunk *next;
  char data[];
} chunk;

/* A process of a container: the shared cf_proc first, so the server's
 * process list can hold it, then the Windows parts. */
typedef struct win_proc {
  cf_proc proc;
  cf_hcs_process *hcs;
  HANDLE std_in; /* host end of the stdin pipe; NULL once closed */
  uv_async_t wake;
  bool wake_open;
  CRITICAL_SECTION lock; /* guards the fields below */
  chunk *chunks;
  chunk **chunks_tail;
  bool exited;
  uint32_t exit_code;
  char *wait_error; /* why the exit code is unknown, or NULL */
  bool detached;    /* the loop no longer listens: threads stop waking it */
  HANDLE threads[3];
} win_proc;

/* The reader thread's pipe and where its output goes. */
typedef struct reader {
  win_proc *owner;
  HANDLE pipe;
  int fd;
} reader;

static win_proc *win_of(cf_proc *proc)
{
  return (win_proc *)proc;
}

/* --- Freeing a process --- */

static void proc_free(win_proc *wp)
{
  cf_proc *proc = &wp->proc;
  for (int i = 0; i < 3; i++) {
    if (wp->threads[i] != NULL) {
      CloseHandle(wp->threads[i]);
    }
  }
  while (wp->chunks != NULL) {
    chunk *next = wp->chunks->next;
    free(wp->chunks);
    wp->chunks = next;
  }
  if (wp->std_in != NULL) {
    CloseHandle(wp->std_in);
  }
  cf_hcs_process_close(wp->hcs);
  DeleteCriticalSection(&wp->lock);
  free(wp->wait_error);
  free(proc->error);
  free(proc->handle);
  free(proc->id);
  free(wp);
}

/* Whether every thread of the process has ended. */
static bool threads_ended(const win_proc *wp)
{
  for (int i = 0; i < 3; i++) {
    if (wp->threads[i] != NULL && WaitForSingleObject(wp->threads[i], 0) != WAIT_OBJECT_0) {
      return false;
    }
  }
  return true;
}

/* Frees the process once it has finished, its wake handle is closed, its
 * streams have expired and its threads have ended. A thread still blocked
 * on a pipe after the drain timeout keeps the process in memory. */
void cf_proc_maybe_free(cf_proc *proc)
{
  win_proc *wp = win_of(proc);
  if (!proc->finished || proc->streams != NULL || proc->open_handles > 0 || !threads_ended(wp)) {
    return;
  }
  for (cf_proc **p = &proc->server->procs; *p != NULL; p = &(*p)->next) {
    if (*p == proc) {
      *p = proc->next;
      break;
    }
  }
  proc_free(wp);
}

static void on_handle_closed(uv_handle_t *handle)
{
  cf_proc *proc = handle->data;
  proc->open_handles--;
  cf_proc_maybe_free(proc);
}

/* Stops the threads from waking the loop and closes the wake handle. */
static void detach_threads(win_proc *wp)
{
  EnterCriticalSection(&wp->lock);
  wp->detached = true;
  LeaveCriticalSection(&wp->lock);
  if (wp->wake_open) {
    wp->wake_open = false;
    uv_close((uv_handle_t *)&wp->wake, on_handle_closed);
  }
}

/* --- The threads --- */

/* Wakes the loop unless it no longer listens. Called with wp->lock held. */
static void wake_loop(win_proc *wp)
{
  if (!wp->detached) {
    uv_async_send(&wp->wake);
  }
}

static DWORD WINAPI read_output(void *context)
{
  reader *job = context;
  win_proc *wp = job->owner;
  char buf[32768];
  DWORD n = 0;
  while (ReadFile(job->pipe, buf, sizeof(buf), &n, NULL) && n > 0) {
    chunk *item = cf_xmalloc(sizeof(*item) + n);
    item->fd = job->fd;
    item->len = n;
    item->next = NULL;
    memcpy(item->data, buf, n);
    EnterCriticalSection(&wp->lock);
    *wp->chunks_tail = item;
    wp->chunks_tail = &item->next;
    wake_loop(wp);
    LeaveCriticalSection(&wp->lock);
  }
  CloseHandle(job->pipe);
  free(job);
  return 0;
}

/* Waits for the exit, then for the readers to drain the pipes. */
static DWORD WINAPI wait_exit(void *context)
{
  win_proc *wp = context;
  bool exited = false;
  uint32_t code = 0;
  cf_err *err = NULL;
  int rc = cf_hcs_process_wait(wp->hcs, INFINITE, &exited, &code, &err);
  DWORD deadline = GetTickCount() + DRAIN_TIMEOUT_MS;
  for (int i = 0; i < 2; i++) {
    if (wp->threads[i] != NULL) {
      DWORD now = GetTickCount();
      WaitForSingleObject(wp->threads[i], now < deadline ? deadline - now : 0);
    }
  }
  EnterCriticalSection(&wp->lock);
  wp->exited = true;
  wp->exit_code = code;
  if (rc < 0 || !exited) {
    wp->wait_error = cf_xasprintf("waiting for the process failed: %s",
                                  err != NULL ? err->message : "it did not exit");
  }
  wake_loop(wp);
  LeaveCriticalSection(&wp->lock);
  cf_err_free(err);
  return 0;
}

static HANDLE start_reader(win_proc *wp, HANDLE pipe, int fd)
{
  if (pipe == NULL) {
    return NULL;
  }
  reader *job = cf_xcalloc(1, sizeof(*job));
  *job = (reader){.owner = wp, .pipe = pipe, .fd = fd};
  HANDLE thread = CreateThread(NULL, 0, read_output, job, 0, NULL);
  if (thread == NULL) {
    CloseHandle(pipe);
    free(job);
  }
  return thread;
}

/* --- The loop side --- */

static void proc_finish(win_proc *wp, uint32_t code, const char *error)
{
  cf_proc *proc = &wp->proc;
  proc->finished = true;
  proc->exit_status = (int)code;
  if (error != NULL) {
    proc->error = cf_xstrdup(error);
    cf_log(CF_LOG_INFO, "run.wait-failed", "{s:s, s:s, s:s}", "handle", proc->handle, "process",
           proc->id, "error", error);
  } else {
    cf_log(CF_LOG_INFO, "run.exited", "{s:s, s:s, s:i}", "handle", proc->handle, "process",
           proc->id, "status", proc->exit_status);
  }
  for (cf_stream *stream = proc->streams; stream != NULL; stream = stream->next) {
    cf_stream_finish(stream);
  }
  detach_threads(wp);
}

static void on_wake(uv_async_t *async)
{
  win_proc *wp = async->data;
  EnterCriticalSection(&wp->lock);
  chunk *items = wp->chunks;
  wp->chunks = NULL;
  wp->chunks_tail = &wp->chunks;
  bool exited = wp->exited;
  LeaveCriticalSection(&wp->lock);
  while (items != NULL) {
    for (cf_stream *stream = wp->proc.streams; stream != NULL; stream = stream->next) {
      cf_stream_output(stream, items->fd, items->data, items->len);
    }
    chunk *next = items->next;
    free(items);
    items = next;
  }
  if (exited && !wp->proc.finished) {
    proc_finish(wp, wp->exit_code, wp->wait_error);
  }
}

/* Starts the threads of a started process and the loop's wake handle. */
static void watch(win_proc *wp)
{
  HANDLE std_out = NULL, std_err = NULL;
  cf_hcs_process_take_stdio(wp->hcs, &wp->std_in, &std_out, &std_err);
  uv_async_init(wp->proc.server->loop, &wp->wake, on_wake);
  wp->wake.data = wp;
  wp->wake_open = true;
  wp->proc.open_handles++;
  wp->threads[0] = start_reader(wp, std_out, 1);
  wp->threads[1] = start_reader(wp, std_err, 2);
  wp->threads[2] = CreateThread(NULL, 0, wait_exit, wp, 0, NULL);
  if (wp->threads[2] == NULL) {
    EnterCriticalSection(&wp->lock);
    wp->exited = true;
    wp->wait_error = cf_xstrdup("the server could not start a thread to wait for the process");
    wake_loop(wp);
    LeaveCriticalSection(&wp->lock);
  }
}

/* --- stdin and signals from the control connection --- */

static void close_stdin(win_proc *wp)
{
  if (wp->std_in == NULL) {
    return;
  }
  CloseHandle(wp->std_in);
  wp->std_in = NULL;
  cf_err *err = NULL;
  if (cf_hcs_process_close_stdin(wp->hcs, &err) < 0) {
    cf_log_error("run.close-stdin-failed", err, "{s:s, s:s}", "handle", wp->proc.handle, "process",
                 wp->proc.id);
    cf_err_free(err);
  }
}

/* NOTE: the write blocks the server's loop while the pipe is full, so a
 * process that does not read its stdin can stall the server. */
static void write_stdin(win_proc *wp, const char *data, size_t len)
{
  size_t done = 0;
  while (wp->std_in != NULL && done < len) {
    DWORD written = 0;
    if (!WriteFile(wp->std_in, data + done, (DWORD)(len - done), &written, NULL) || written == 0) {
      close_stdin(wp);
      return;
    }
    done += written;
  }
}

/* Garden's signal 0 (terminate) becomes CTRL_SHUTDOWN, and 1 (kill)
 * terminates the process. */
static void signal_proc(win_proc *wp, int signal)
{
  cf_err *err = NULL;
  int rc = signal == 1 ? cf_hcs_process_kill(wp->hcs, &err)
                       : cf_hcs_process_signal(wp->hcs, CF_HCS_SIGNAL_CTRL_SHUTDOWN, &err);
  if (rc < 0) {
    cf_log_error("run.signal-failed", err, "{s:s, s:s, s:i}", "handle", wp->proc.handle, "process",
                 wp->proc.id, "signal", signal);
    cf_err_free(err);
  }
}

/* Applies one control payload; false when the connection's input ends. */
static bool apply_payload(win_proc *wp, const json_t *payload)
{
  json_t *source = cf_json_get(payload, "source");
  if (source != NULL && !json_is_null(source)) {
    json_t *data = cf_json_get(payload, "data");
    if (json_is_string(data)) {
      write_stdin(wp, json_string_value(data), json_string_length(data));
      return true;
    }
    close_stdin(wp);
    return false;
  }
  json_t *sig = cf_json_get(payload, "signal");
  if (json_is_integer(sig) && (json_integer_value(sig) == 0 || json_integer_value(sig) == 1)) {
    signal_proc(wp, (int)json_integer_value(sig));
    return true;
  }
  json_t *tty = cf_json_get(payload, "tty");
  if (tty != NULL && !json_is_null(tty)) {
    return true; // NOTE: no terminal is given to processes, so a resize is ignored.
  }
  close_stdin(wp);
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
        close_stdin(win_of(proc));
      }
      conn->ignore_input = true;
      break;
    }
    if (proc != NULL && !proc->finished && !apply_payload(win_of(proc), payload)) {
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
  close_stdin(win_of(stream->proc));
}

/* --- Run --- */

typedef struct exec_work {
  uv_work_t work;
  cf_conn *conn;
  win_proc *wp;
  char **args; /* path, then the spec's args */
  size_t arg_count;
  char **env;
  size_t env_count;
  char *dir;
  char *user;
  cf_err *err;
} exec_work;

static void exec_work_free(exec_work *ew)
{
  cf_strv_free(ew->args, ew->arg_count);
  cf_strv_free(ew->env, ew->env_count);
  free(ew->dir);
  free(ew->user);
  cf_err_free(ew->err);
  free(ew);
}

/* Whether a ProcessSpec field requests something: a non-empty image URI,
 * a tty object or a non-empty bind_mounts array. Clients send the empty
 * forms for "none". */
static bool field_given(const json_t *spec, const char *key)
{
  json_t *value = cf_json_get(spec, key);
  if (value == NULL || json_is_null(value)) {
    return false;
  }
  if (strcmp(key, "image") == 0) {
    json_t *uri = cf_json_get(value, "uri");
    return json_is_string(uri) && json_string_length(uri) > 0;
  }
  if (json_is_array(value)) {
    return json_array_size(value) > 0;
  }
  return true;
}

/* Rejects the ProcessSpec fields this backend cannot apply. */
static int check_unsupported(const json_t *spec, cf_err **err)
{
  static const char *const fields[] = {"image", "tty", "bind_mounts"};
  for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
    if (field_given(spec, fields[i])) {
      return cf_err_set(err, CF_E_NOT_IMPLEMENTED,
                        "invalid process spec: \"%s\" is not supported by the Windows backend yet; "
                        "leave it out",
                        fields[i]);
    }
  }
  return 0;
}

/* Sets ew->args to path followed by the spec's args. */
static int parse_args(const json_t *spec, const char *path, exec_work *ew, cf_err **err)
{
  char **args = NULL;
  size_t count = 0;
  if (cf_json_get_strings(spec, "args", &args, &count, err) < 0) {
    return -1;
  }
  ew->args = cf_xcalloc(count + 2, sizeof(char *));
  ew->args[0] = cf_xstrdup(path);
  for (size_t i = 0; i < count; i++) {
    ew->args[i + 1] = args[i];
  }
  free(args);
  ew->arg_count = count + 1;
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
      cf_json_get_strings(spec, "env", &ew->env, &ew->env_count, err) < 0) {
    return -1;
  }
  if (path == NULL || path[0] == '\0') {
    return cf_err_set(err, CF_E_INVALID, "invalid process spec: \"path\" is missing");
  }
  if (parse_args(spec, path, ew, err) < 0) {
    return -1;
  }
  ew->dir = cf_xstrdup(dir != NULL && dir[0] != '\0' ? dir : DEFAULT_DIR);
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

/* The container's env (image, then container spec) followed by the
 * process's own, as Guardian's WindowsEnvFor builds it. */
static int process_env(cf_backend *backend, const char *handle, const exec_work *ew, char ***out,
                       size_t *count, cf_err **err)
{
  cf_container_record record = {0};
  if (cf_store_container_get(backend->store, handle, &record, err) < 0) {
    return -1;
  }
  json_error_t jerr;
  json_t *stored = json_loads(record.env_json != NULL ? record.env_json : "[]", 0, &jerr);
  cf_container_record_clear(&record);
  size_t stored_count = json_is_array(stored) ? json_array_size(stored) : 0;
  char **env = cf_xcalloc(stored_count + ew->env_count + 1, sizeof(char *));
  size_t n = 0;
  for (size_t i = 0; i < stored_count; i++) {
    const char *entry = json_string_value(json_array_get(stored, i));
    if (entry != NULL) {
      env[n++] = cf_xstrdup(entry);
    }
  }
  json_decref(stored);
  for (size_t i = 0; i < ew->env_count; i++) {
    env[n++] = cf_xstrdup(ew->env[i]);
  }
  *out = env;
  *count = n;
  return 0;
}

static void run_exec(uv_work_t *work)
{
  exec_work *ew = work->data;
  cf_backend *backend = ew->conn->server->backend;
  const char *handle = ew->wp->proc.handle;
  char **env = NULL;
  size_t env_count = 0;
  const cf_hcs_api *api = NULL;
  if (cf_win_backend_hcs(backend, &api, &ew->err) < 0 ||
      process_env(backend, handle, ew, &env, &env_count, &ew->err) < 0) {
    return;
  }
  cf_winrt_process process = {
      .args = (const char *const *)ew->args,
      .arg_count = ew->arg_count,
      .env = (const char *const *)env,
      .env_count = env_count,
      .cwd = ew->dir,
      .user = ew->user,
  };
  cf_wrt_process_start(api, handle, &process, true, &ew->wp->hcs, &ew->err);
  cf_strv_free(env, env_count);
}

static win_proc *proc_new(cf_server *server, const char *handle, char *id)
{
  win_proc *wp = cf_xcalloc(1, sizeof(*wp));
  cf_proc *proc = &wp->proc;
  proc->server = server;
  proc->handle = cf_xstrdup(handle);
  proc->id = id;
  proc->pid = -1;
  InitializeCriticalSection(&wp->lock);
  wp->chunks_tail = &wp->chunks;
  proc->next = server->procs;
  server->procs = proc;
  return wp;
}

/* Makes conn the control connection of a new stream of proc and sends the
 * response headers and the first payload. */
static void become_control(cf_conn *conn, cf_proc *proc, int status)
{
  cf_stream *stream = cf_stream_new(proc);
  stream->control = conn;
  conn->stream = stream;
  cf_conn_hijack(conn, status, true);
  cf_stream_send_first_payload(conn, proc, stream);
  conn->state = CF_CONN_CONTROL;
  if (proc->finished) {
    cf_stream_finish(stream);
    return;
  }
  cf_conn_read(conn);
}

static void after_exec(uv_work_t *work, int status)
{
  exec_work *ew = work->data;
  cf_conn *conn = ew->conn;
  win_proc *wp = ew->wp;
  if (ew->err != NULL) {
    cf_log_error("run.start-failed", ew->err, "{s:s, s:s}", "handle", wp->proc.handle, "process",
                 wp->proc.id);
    cf_conn_respond_error(conn, ew->err, NULL, NULL);
    wp->proc.finished = true;
    cf_proc_maybe_free(&wp->proc);
    exec_work_free(ew);
    cf_conn_request_done(conn);
    return;
  }
  wp->proc.pid = (pid_t)cf_hcs_process_pid(wp->hcs);
  cf_log(CF_LOG_INFO, "run.started", "{s:s, s:s, s:i}", "handle", wp->proc.handle, "process",
         wp->proc.id, "pid", (int)wp->proc.pid);
  exec_work_free(ew);
  watch(wp);
  become_control(conn, &wp->proc, 201);
  cf_control_input(conn);
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
    free(id);
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
  ew->conn = conn;
  ew->wp = proc_new(conn->server, match->handle, id);
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
  cf_log(CF_LOG_INFO, "attach.started", "{s:s, s:s, s:b}", "handle", proc->handle, "process",
         proc->id, "finished", proc->finished);
  become_control(conn, proc, 200);
  if (conn->state == CF_CONN_CONTROL && conn->stream != NULL && !conn->stream->finished) {
    cf_control_input(conn);
  }
}

/* --- Restart and shutdown --- */

/* Processes are tracked in memory only, so there is nothing to recover. */
void cf_procs_recover(cf_server *server, char *const *handles, size_t count)
{
}

/* Terminates every running process, because no later server could attach
 * to it, stops listening to the threads and ends the streams. */
void cf_procs_shutdown(cf_server *server)
{
  for (cf_proc *proc = server->procs; proc != NULL; proc = proc->next) {
    win_proc *wp = win_of(proc);
    if (!proc->finished && wp->hcs != NULL) {
      cf_err *err = NULL;
      if (cf_hcs_process_kill(wp->hcs, &err) < 0) {
        cf_log_error("shutdown.kill-process-failed", err, "{s:s, s:s}", "handle", proc->handle,
                     "process", proc->id);
        cf_err_free(err);
      }
    }
    proc->finished = true;
    detach_threads(wp);
    for (cf_stream *stream = proc->streams; stream != NULL; stream = stream->next) {
      cf_stream_close(stream);
    }
  }
}
