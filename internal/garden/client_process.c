/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Run and Attach in the Garden client: the control connection carries JSON
 * payloads both ways, and two more connections carry stdout and stderr as
 * raw bytes until the server closes them after the process exits.
 */
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "garden/client.h"
#include "garden/client_internal.h"
#include "garden/json.h"

void cf_garden_process_init(cf_garden_process *process)
{
  memset(process, 0, sizeof(*process));
  process->control = CF_GARDEN_CONN_CLOSED;
  process->out = CF_GARDEN_CONN_CLOSED;
  process->err = CF_GARDEN_CONN_CLOSED;
  cf_buf_init(&process->pending, CF_CLIENT_MAX_RESPONSE);
  cf_buf_init(&process->out_early, CF_CLIENT_MAX_RESPONSE);
  cf_buf_init(&process->err_early, CF_CLIENT_MAX_RESPONSE);
  pthread_mutex_init(&process->send_lock, NULL);
}

void cf_garden_process_clear(cf_garden_process *process)
{
  pthread_mutex_lock(&process->send_lock);
  cf_client_close(&process->control);
  pthread_mutex_unlock(&process->send_lock);
  cf_client_close(&process->out);
  cf_client_close(&process->err);
  cf_buf_free(&process->pending);
  cf_buf_free(&process->out_early);
  cf_buf_free(&process->err_early);
  free(process->process_id);
  free(process->stream_id);
  process->process_id = NULL;
  process->stream_id = NULL;
  pthread_mutex_destroy(&process->send_lock);
}

/* Takes one complete JSON payload from the front of buf, or returns 0 when
 * more bytes are needed. */
static int take_payload(cf_buf *buf, json_t **payload, cf_err **err)
{
  *payload = NULL;
  int got = cf_json_take(buf, payload, err);
  if (got < 0) {
    return cf_err_wrap(err, "malformed process payload");
  }
  return got;
}

/* Reads control payloads until one arrives. */
static int next_payload(const cf_garden_client *client, cf_garden_process *process,
                        json_t **payload, cf_err **err)
{
  char chunk[4096];
  for (;;) {
    int got = take_payload(&process->pending, payload, err);
    if (got != 0) {
      return got < 0 ? -1 : 0;
    }
    size_t n = 0;
    if (cf_client_read(client, &process->control, chunk, sizeof(chunk), &n, err) < 0) {
      return -1;
    }
    if (n == 0) {
      return cf_err_set(err, CF_E_SYSTEM, "control connection closed before the exit status");
    }
    cf_buf_append(&process->pending, chunk, n, NULL);
  }
}

/* Sends a request on a new control connection and reads the hijacked
 * response; bytes after its headers stay in process->pending. */
static int open_control(const cf_garden_client *client, const char *request,
                        cf_garden_process *process, cf_err **err)
{
  if (cf_client_open(client, &process->control, err) < 0 ||
      cf_client_send(&process->control, request, strlen(request), err) < 0) {
    return -1;
  }
  cf_garden_response response;
  cf_garden_response_init(&response);
  int rc = cf_client_read_response(client, &process->control, &response, true, &process->pending,
                                   NULL, NULL, err);
  if (rc == 0 && (response.status < 200 || response.status > 299)) {
    /* An error reply is not hijacked: its body is the error envelope. */
    cf_buf_append(&response.body, process->pending.data, process->pending.len, NULL);
    rc = cf_client_envelope_error(&response, err);
  }
  cf_garden_response_clear(&response);
  return rc;
}

static int open_output(const cf_garden_client *client, const char *escaped_handle,
                       const cf_garden_process *process, const char *name, cf_garden_conn *conn,
                       cf_buf *early, cf_err **err)
{
  cf_autofree char *escaped_pid = cf_garden_escape(process->process_id);
  cf_autofree char *escaped_sid = cf_garden_escape(process->stream_id);
  cf_autofree char *request =
      cf_xasprintf("GET /containers/%s/processes/%s/attaches/%s/%s HTTP/1.1\r\nHost: api\r\n"
                   "User-Agent: cfwin\r\nContent-Type: application/json\r\n\r\n",
                   escaped_handle, escaped_pid, escaped_sid, name);
  if (cf_client_open(client, conn, err) < 0 ||
      cf_client_send(conn, request, strlen(request), err) < 0) {
    return -1;
  }
  cf_garden_response response;
  cf_garden_response_init(&response);
  int rc = cf_client_read_response(client, conn, &response, true, early, NULL, NULL, err);
  if (rc == 0 && response.status != 200) {
    rc = cf_err_set(err, CF_E_SYSTEM, "attach to %s: server returned status %d", name,
                    response.status);
  }
  cf_garden_response_clear(&response);
  return rc;
}

/* Reads the first payload (process and stream ids), then opens stdout and
 * stderr, in that order, as the Go client does. */
static int start_streams(const cf_garden_client *client, const char *handle,
                         cf_garden_process *process, cf_err **err)
{
  json_t *first = NULL;
  if (next_payload(client, process, &first, err) < 0) {
    return -1;
  }
  const char *pid = json_string_value(cf_json_get(first, "process_id"));
  const char *sid = json_string_value(cf_json_get(first, "stream_id"));
  if (pid == NULL || sid == NULL) {
    json_decref(first);
    return cf_err_set(err, CF_E_INVALID, "first process payload lacks process_id or stream_id");
  }
  process->process_id = cf_xstrdup(pid);
  process->stream_id = cf_xstrdup(sid);
  json_decref(first);
  cf_autofree char *escaped_handle = cf_garden_escape(handle);
  if (open_output(client, escaped_handle, process, "stdout", &process->out, &process->out_early,
                  err) < 0 ||
      open_output(client, escaped_handle, process, "stderr", &process->err, &process->err_early,
                  err) < 0) {
    return -1;
  }
  return 0;
}

int cf_garden_process_run(const cf_garden_client *client, const char *handle, const json_t *spec,
                          cf_garden_process *process, cf_err **err)
{
  cf_autofree char *escaped = cf_garden_escape(handle);
  cf_autofree char *path = cf_xasprintf("/containers/%s/processes", escaped);
  cf_autofree char *body = cf_json_encode(spec);
  cf_autofree char *request = cf_client_format_request("POST", path, body, false);
  if (open_control(client, request, process, err) < 0 ||
      start_streams(client, handle, process, err) < 0) {
    return cf_err_wrap(err, "run in %s", handle);
  }
  return 0;
}

int cf_garden_process_attach(const cf_garden_client *client, const char *handle,
                             const char *process_id, cf_garden_process *process, cf_err **err)
{
  cf_autofree char *escaped_handle = cf_garden_escape(handle);
  cf_autofree char *escaped_pid = cf_garden_escape(process_id);
  cf_autofree char *request = cf_xasprintf(
      "GET /containers/%s/processes/%s HTTP/1.1\r\nHost: api\r\nUser-Agent: cfwin\r\n\r\n",
      escaped_handle, escaped_pid);
  if (open_control(client, request, process, err) < 0 ||
      start_streams(client, handle, process, err) < 0) {
    return cf_err_wrap(err, "attach to process %s in %s", process_id, handle);
  }
  return 0;
}

/* Sends one payload (borrowed; process_id is added) under the send lock.
 * After the close of stdin the server reads no more payloads, as Garden's
 * Go server does, so every later send fails with CF_E_BUSY. */
static int send_payload(cf_garden_process *process, json_t *payload, bool closes_stdin,
                        cf_err **err)
{
  json_object_set_new(payload, "process_id", json_string(process->process_id));
  cf_autofree char *text = cf_json_encode(payload);
  pthread_mutex_lock(&process->send_lock);
  int rc = 0;
  if (process->control.sock == CF_SOCK_INVALID) {
    rc = cf_err_set(err, CF_E_SYSTEM, "the control connection of process %s is closed",
                    process->process_id);
  } else if (process->stdin_closed) {
    rc = cf_err_set(err, CF_E_BUSY,
                    "stdin of process %s is closed, so the server reads no more messages on "
                    "this connection; attach again to send one",
                    process->process_id);
  } else {
    rc = cf_client_send(&process->control, text, strlen(text), err);
    process->stdin_closed = closes_stdin;
  }
  pthread_mutex_unlock(&process->send_lock);
  return rc;
}

/* Length of the valid UTF-8 sequence at s (at most len bytes), or 0 when
 * the bytes there are not valid UTF-8. */
static size_t utf8_sequence(const unsigned char *s, size_t len)
{
  size_t need = 0;
  unsigned min = 0;
  unsigned code = 0;
  if (s[0] < 0x80) {
    return 1;
  } else if ((s[0] & 0xE0) == 0xC0) {
    need = 2, min = 0x80, code = s[0] & 0x1F;
  } else if ((s[0] & 0xF0) == 0xE0) {
    need = 3, min = 0x800, code = s[0] & 0x0F;
  } else if ((s[0] & 0xF8) == 0xF0) {
    need = 4, min = 0x10000, code = s[0] & 0x07;
  } else {
    return 0;
  }
  if (len < need) {
    return 0;
  }
  for (size_t i = 1; i < need; i++) {
    if ((s[i] & 0xC0) != 0x80) {
      return 0;
    }
    code = (code << 6) | (s[i] & 0x3F);
  }
  bool surrogate = code >= 0xD800 && code <= 0xDFFF;
  return code < min || code > 0x10FFFF || surrogate ? 0 : need;
}

size_t cf_garden_utf8_complete_len(const char *data, size_t len)
{
  const unsigned char *s = (const unsigned char *)data;
  /* A sequence is at most 4 bytes, so only the last 3 can be a cut one. */
  for (size_t back = 1; back <= 3 && back <= len; back++) {
    unsigned char lead = s[len - back];
    if ((lead & 0xC0) == 0x80) {
      continue;
    }
    size_t need = 1;
    if (lead >= 0xF0) {
      need = 4;
    } else if (lead >= 0xE0) {
      need = 3;
    } else if (lead >= 0xC0) {
      need = 2;
    }
    return need > back ? len - back : len;
  }
  return len;
}

/* Copies data with every invalid UTF-8 byte replaced by U+FFFD, as Go's
 * encoder does for the stdin strings of the Go client. */
static char *utf8_coerce(const char *data, size_t len, size_t *out_len)
{
  char *out = cf_xmalloc(len * 3 + 1);
  size_t o = 0;
  const unsigned char *s = (const unsigned char *)data;
  for (size_t i = 0; i < len;) {
    size_t n = utf8_sequence(s + i, len - i);
    if (n == 0) {
      memcpy(out + o, "\xEF\xBF\xBD", 3);
      o += 3;
      i++;
      continue;
    }
    memcpy(out + o, s + i, n);
    o += n;
    i += n;
  }
  out[o] = '\0';
  *out_len = o;
  return out;
}

int cf_garden_process_send_stdin(cf_garden_process *process, const char *data, size_t len,
                                 cf_err **err)
{
  size_t text_len = 0;
  cf_autofree char *text = utf8_coerce(data, len, &text_len);
  json_t *payload = json_pack("{s:i, s:s%}", "source", 0, "data", text, text_len);
  int rc = send_payload(process, payload, false, err);
  json_decref(payload);
  return rc;
}

int cf_garden_process_close_stdin(cf_garden_process *process, cf_err **err)
{
  json_t *payload = json_pack("{s:i}", "source", 0);
  cf_err *send_err = NULL;
  int rc = send_payload(process, payload, true, &send_err);
  json_decref(payload);
  if (rc < 0 && send_err->code == CF_E_BUSY) {
    cf_err_free(send_err); /* closed before */
    return 0;
  }
  if (rc < 0) {
    *err = send_err;
  }
  return rc;
}

int cf_garden_process_signal(cf_garden_process *process, enum cf_garden_signal signal, cf_err **err)
{
  json_t *payload = json_pack("{s:i}", "signal", (int)signal);
  int rc = send_payload(process, payload, false, err);
  json_decref(payload);
  return rc;
}

int cf_garden_process_resize(cf_garden_process *process, unsigned columns, unsigned rows,
                             cf_err **err)
{
  json_t *payload = json_pack("{s:{s:{s:I, s:I}}}", "tty", "window_size", "columns",
                              (json_int_t)columns, "rows", (json_int_t)rows);
  int rc = send_payload(process, payload, false, err);
  json_decref(payload);
  return rc;
}

/* --- Waiting --- */

typedef struct output_sinks {
  cf_garden_sink sinks[3]; /* indexed like the sockets: control, stdout, stderr */
  void *ctx;
} output_sinks;

/* Takes payloads from the control bytes until the terminal one; sets
 * *have_exit. Payloads other than exit_status and error are ignored, as
 * the Go client ignores them. */
static int take_exit(cf_garden_process *process, bool *have_exit, int *exit_status, cf_err **err)
{
  json_t *payload = NULL;
  int got = 0;
  while (!*have_exit && (got = take_payload(&process->pending, &payload, err)) > 0) {
    json_t *status = cf_json_get(payload, "exit_status");
    json_t *error = cf_json_get(payload, "error");
    if (json_is_integer(status)) {
      *exit_status = (int)json_integer_value(status);
      *have_exit = true;
    } else if (json_is_string(error)) {
      cf_err_set(err, CF_E_SYSTEM, "process error: %s", json_string_value(error));
      json_decref(payload);
      return -1;
    }
    json_decref(payload);
  }
  return got < 0 ? -1 : 0;
}

static int deliver(const output_sinks *sinks, int stream, const char *data, size_t len,
                   cf_err **err)
{
  if (sinks->sinks[stream] == NULL || len == 0) {
    return 0;
  }
  return sinks->sinks[stream](sinks->ctx, data, len, err);
}

/* Reads once from the control connection. A TLS session must not read
 * while another thread writes, so the read holds the send lock then. */
static int recv_control(cf_garden_process *process, char *data, size_t size, size_t *n,
                        cf_err **err)
{
  if (process->control.tls == NULL) {
    return cf_client_recv(&process->control, data, size, n, err);
  }
  pthread_mutex_lock(&process->send_lock);
  int rc = cf_client_recv(&process->control, data, size, n, err);
  pthread_mutex_unlock(&process->send_lock);
  return rc;
}

/* Reads what one ready connection has; closes it at end of file. */
static int read_ready(cf_garden_process *process, cf_garden_conn *conn, int index, bool have_exit,
                      const output_sinks *sinks, cf_err **err)
{
  char chunk[65536];
  size_t n = 0;
  int rc = index == 0 ? recv_control(process, chunk, sizeof(chunk), &n, err)
                      : cf_client_recv(conn, chunk, sizeof(chunk), &n, err);
  if (rc < 0) {
    return -1;
  }
  if (n == 0 && index == 0 && !have_exit) {
    return cf_err_set(err, CF_E_SYSTEM, "control connection closed before the exit status");
  }
  if (n == 0 && index == 0) {
    pthread_mutex_lock(&process->send_lock);
    cf_client_close(conn);
    pthread_mutex_unlock(&process->send_lock);
    return 0;
  }
  if (n == 0) {
    cf_client_close(conn);
    return 0;
  }
  if (index == 0) {
    return cf_buf_append(&process->pending, chunk, n, err);
  }
  return deliver(sinks, index, chunk, n, err);
}

static int wait_loop(const cf_garden_client *client, cf_garden_process *process,
                     const output_sinks *sinks, int *exit_status, cf_err **err)
{
  cf_garden_conn *conns[3] = {&process->control, &process->out, &process->err};
  bool have_exit = false;
  for (;;) {
    if (take_exit(process, &have_exit, exit_status, err) < 0) {
      return -1;
    }
    /* After the exit status only the output streams matter; the control
     * connection stays open for a late send from another thread. */
    cf_garden_conn *watched[3] = {have_exit ? NULL : conns[0], conns[1], conns[2]};
    bool open = false;
    for (int i = 0; i < 3; i++) {
      open = open || (watched[i] != NULL && watched[i]->sock != CF_SOCK_INVALID);
    }
    if (!open) {
      return have_exit ? 0 : cf_err_set(err, CF_E_SYSTEM, "no exit status received");
    }
    bool ready[3];
    if (cf_client_wait(client, watched, ready, 3, err) < 0) {
      return cf_err_wrap(err, "wait for process output or exit");
    }
    for (int i = 0; i < 3; i++) {
      if (ready[i] && read_ready(process, conns[i], i, have_exit, sinks, err) < 0) {
        return -1;
      }
    }
  }
}

int cf_garden_process_wait(const cf_garden_client *client, cf_garden_process *process,
                           cf_garden_sink out_sink, cf_garden_sink err_sink, void *sink_ctx,
                           int *exit_status, cf_err **err)
{
  output_sinks sinks = {.sinks = {NULL, out_sink, err_sink}, .ctx = sink_ctx};
  int rc = deliver(&sinks, 1, process->out_early.data, process->out_early.len, err);
  if (rc == 0) {
    rc = deliver(&sinks, 2, process->err_early.data, process->err_early.len, err);
  }
  cf_buf_reset(&process->out_early);
  cf_buf_reset(&process->err_early);
  if (rc == 0) {
    rc = wait_loop(client, process, &sinks, exit_status, err);
  }
  if (rc < 0) {
    return cf_err_wrap(err, "process %s", process->process_id);
  }
  return 0;
}

/* --- Run with buffered output --- */

void cf_garden_process_result_init(cf_garden_process_result *result)
{
  memset(result, 0, sizeof(*result));
  result->exit_status = -1;
  cf_buf_init(&result->out, CF_CLIENT_MAX_RESPONSE);
  cf_buf_init(&result->err, CF_CLIENT_MAX_RESPONSE);
}

void cf_garden_process_result_clear(cf_garden_process_result *result)
{
  free(result->process_id);
  free(result->stream_id);
  cf_buf_free(&result->out);
  cf_buf_free(&result->err);
  result->process_id = NULL;
  result->stream_id = NULL;
}

static int append_out(void *ctx, const char *data, size_t len, cf_err **err)
{
  cf_garden_process_result *result = ctx;
  return cf_buf_append(&result->out, data, len, err);
}

static int append_err(void *ctx, const char *data, size_t len, cf_err **err)
{
  cf_garden_process_result *result = ctx;
  return cf_buf_append(&result->err, data, len, err);
}

/* Sends stdin as one message, then closes it. A failed write is ignored,
 * as in the Go client. A process that exits without reading its stdin
 * makes the server close the control connection, but the exit status sent
 * before that close can still be read. Other connection failures show up
 * in the wait that follows. */
static void send_all_stdin(cf_garden_process *process, const char *data, size_t len)
{
  cf_err *err = NULL;
  if (len > 0 && cf_garden_process_send_stdin(process, data, len, &err) < 0) {
    cf_err_free(err);
    return;
  }
  if (cf_garden_process_close_stdin(process, &err) < 0) {
    cf_err_free(err);
  }
}

int cf_garden_client_run(const cf_garden_client *client, const char *handle, const json_t *spec,
                         const char *stdin_data, size_t stdin_len, cf_garden_process_result *result,
                         cf_err **err)
{
  cf_garden_process process;
  cf_garden_process_init(&process);
  if (cf_garden_process_run(client, handle, spec, &process, err) < 0) {
    cf_garden_process_clear(&process);
    return -1;
  }
  result->process_id = cf_xstrdup(process.process_id);
  result->stream_id = cf_xstrdup(process.stream_id);
  if (stdin_data != NULL) {
    send_all_stdin(&process, stdin_data, stdin_len);
  }
  int rc = cf_garden_process_wait(client, &process, append_out, append_err, result,
                                  &result->exit_status, err);
  cf_garden_process_clear(&process);
  if (rc < 0) {
    return cf_err_wrap(err, "run in %s", handle);
  }
  return 0;
}
