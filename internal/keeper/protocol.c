/* SPDX-License-Identifier: Apache-2.0 */
#include "keeper/protocol.h"

#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

int cf_keeper_frame_append(cf_buf *out, uint8_t type, const void *payload, size_t len, cf_err **err)
{
  if (len > CF_KEEPER_MAX_PAYLOAD) {
    return cf_err_set(err, CF_E_LIMIT, "keeper frame of %zu bytes is over the maximum of %u bytes",
                      len, CF_KEEPER_MAX_PAYLOAD);
  }
  unsigned char header[CF_KEEPER_HEADER_SIZE] = {
      type,
      (unsigned char)(len >> 24),
      (unsigned char)(len >> 16),
      (unsigned char)(len >> 8),
      (unsigned char)len,
  };
  size_t before = out->len;
  if (cf_buf_append(out, header, sizeof(header), err) < 0) {
    return -1;
  }
  if (len > 0 && cf_buf_append(out, payload, len, err) < 0) {
    out->len = before; /* never leave half a frame behind */
    out->data[before] = '\0';
    return -1;
  }
  return 0;
}

int cf_keeper_frame_append_u32(cf_buf *out, uint8_t type, uint32_t value, cf_err **err)
{
  unsigned char payload[4] = {
      (unsigned char)(value >> 24),
      (unsigned char)(value >> 16),
      (unsigned char)(value >> 8),
      (unsigned char)value,
  };
  return cf_keeper_frame_append(out, type, payload, sizeof(payload), err);
}

static uint32_t read_u32(const unsigned char *p)
{
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

uint32_t cf_keeper_frame_u32(const cf_keeper_frame *frame)
{
  return frame->len >= 4 ? read_u32((const unsigned char *)frame->payload) : 0;
}

/* The payload size a control frame must have, or -1 when any size up to
 * the maximum is valid. Returns -2 for an unknown type. */
static long fixed_payload_size(uint8_t type)
{
  switch (type) {
  case CF_KEEPER_SPAWN:
  case CF_KEEPER_STARTED:
  case CF_KEEPER_FAILED:
  case CF_KEEPER_STDOUT:
  case CF_KEEPER_STDERR:
  case CF_KEEPER_STDIN:
    return -1;
  case CF_KEEPER_EXIT:
  case CF_KEEPER_SIGNAL:
  case CF_KEEPER_WINSIZE:
    return 4;
  case CF_KEEPER_STDIN_CLOSE:
  case CF_KEEPER_RELEASE:
    return 0;
  default:
    return -2;
  }
}

int cf_keeper_frame_decode(const void *data, size_t len, cf_keeper_frame *frame, size_t *consumed,
                           cf_err **err)
{
  const unsigned char *bytes = data;
  if (len < CF_KEEPER_HEADER_SIZE) {
    return 0;
  }
  uint8_t type = bytes[0];
  uint32_t payload_len = read_u32(bytes + 1);
  long fixed = fixed_payload_size(type);
  if (fixed == -2) {
    return cf_err_set(err, CF_E_INVALID, "keeper frame has unknown type %u", type);
  }
  if (payload_len > CF_KEEPER_MAX_PAYLOAD) {
    return cf_err_set(err, CF_E_INVALID,
                      "keeper frame of type %u declares %u bytes, over the maximum of %u", type,
                      payload_len, CF_KEEPER_MAX_PAYLOAD);
  }
  if (fixed >= 0 && payload_len != (uint32_t)fixed) {
    return cf_err_set(err, CF_E_INVALID, "keeper frame of type %u has %u bytes; expected %ld", type,
                      payload_len, fixed);
  }
  if (len - CF_KEEPER_HEADER_SIZE < payload_len) {
    return 0;
  }
  frame->type = type;
  frame->payload = (const char *)bytes + CF_KEEPER_HEADER_SIZE;
  frame->len = payload_len;
  *consumed = CF_KEEPER_HEADER_SIZE + payload_len;
  return 1;
}

/* --- Backlog --- */

void cf_keeper_backlog_init(cf_keeper_backlog *backlog)
{
  cf_buf_init(&backlog->data, CF_KEEPER_MAX_BUFFERED);
  backlog->dropped = 0;
}

void cf_keeper_backlog_free(cf_keeper_backlog *backlog)
{
  cf_buf_free(&backlog->data);
  backlog->dropped = 0;
}

void cf_keeper_backlog_add(cf_keeper_backlog *backlog, const void *data, size_t len)
{
  size_t room = backlog->data.max - backlog->data.len;
  size_t kept = len < room ? len : room;
  if (kept > 0) {
    cf_buf_append(&backlog->data, data, kept, NULL);
  }
  backlog->dropped += len - kept;
}

/* --- Spawn request --- */

void cf_keeper_request_clear(cf_keeper_request *request)
{
  free(request->socket_path);
  free(request->handle);
  free(request->id);
  free(request->path);
  cf_strv_free(request->args, request->arg_count);
  cf_strv_free(request->env, request->env_count);
  free(request->dir);
  free(request->user);
  json_decref(request->rlimits);
  memset(request, 0, sizeof(*request));
}

static json_t *strings_json(char *const *strings, size_t count)
{
  json_t *array = json_array();
  for (size_t i = 0; i < count; i++) {
    json_array_append_new(array, json_string(strings[i]));
  }
  return array;
}

static char *dump(json_t *value)
{
  char *text = json_dumps(value, JSON_COMPACT);
  json_decref(value);
  if (text == NULL) {
    abort(); /* jansson fails only when out of memory */
  }
  return text;
}

char *cf_keeper_request_encode(const cf_keeper_request *request)
{
  json_t *doc = json_pack(
      "{s:s, s:s, s:s, s:I, s:I, s:s, s:o, s:o, s:s?, s:s?, s:b, s:b, s:i, s:i}", "socket",
      request->socket_path, "handle", request->handle, "id", request->id, "init_pid",
      (json_int_t)request->init.pid, "init_start_time", (json_int_t)request->init.start_time,
      "path", request->path, "args", strings_json(request->args, request->arg_count), "env",
      strings_json(request->env, request->env_count), "dir", request->dir, "user", request->user,
      "privileged", request->privileged, "tty", request->tty, "rows", (int)request->rows, "columns",
      (int)request->columns);
  if (request->rlimits != NULL) {
    json_object_set(doc, "rlimits", request->rlimits);
  }
  return dump(doc);
}

static int take_strings(const json_t *doc, const char *key, char ***out, size_t *count,
                        cf_err **err)
{
  const json_t *array = json_object_get(doc, key);
  if (!json_is_array(array)) {
    return cf_err_set(err, CF_E_INVALID, "keeper spawn request: \"%s\" must be an array", key);
  }
  *count = json_array_size(array);
  *out = cf_xcalloc(*count + 1, sizeof(**out));
  for (size_t i = 0; i < *count; i++) {
    const json_t *item = json_array_get(array, i);
    if (!json_is_string(item)) {
      return cf_err_set(err, CF_E_INVALID, "keeper spawn request: \"%s\"[%zu] must be a string",
                        key, i);
    }
    (*out)[i] = cf_xstrdup(json_string_value(item));
  }
  return 0;
}

static json_t *load(const char *text, size_t len, const char *what, cf_err **err)
{
  json_error_t jerr;
  json_t *doc = json_loadb(text, len, 0, &jerr);
  if (!json_is_object(doc)) {
    json_decref(doc);
    cf_err_set(err, CF_E_INVALID, "keeper %s is not a JSON object: %s", what, jerr.text);
    return NULL;
  }
  return doc;
}

int cf_keeper_request_decode(const char *text, size_t len, cf_keeper_request *out, cf_err **err)
{
  memset(out, 0, sizeof(*out));
  json_t *doc = load(text, len, "spawn request", err);
  if (doc == NULL) {
    return -1;
  }
  const char *socket_path = NULL;
  const char *handle = NULL;
  const char *id = NULL;
  const char *path = NULL;
  json_int_t init_pid = 0;
  json_int_t init_start_time = 0;
  int privileged = 0;
  int tty = 0;
  int rows = 0;
  int columns = 0;
  json_error_t jerr;
  if (json_unpack_ex(doc, &jerr, 0, "{s:s, s:s, s:s, s:I, s:I, s:s, s:b, s:b, s:i, s:i}", "socket",
                     &socket_path, "handle", &handle, "id", &id, "init_pid", &init_pid,
                     "init_start_time", &init_start_time, "path", &path, "privileged", &privileged,
                     "tty", &tty, "rows", &rows, "columns", &columns) < 0) {
    json_decref(doc);
    return cf_err_set(err, CF_E_INVALID, "keeper spawn request: %s", jerr.text);
  }
  if (init_pid <= 0 || rows < 0 || rows > UINT16_MAX || columns < 0 || columns > UINT16_MAX) {
    json_decref(doc);
    return cf_err_set(err, CF_E_INVALID,
                      "keeper spawn request: init_pid, rows or columns out of range");
  }
  out->socket_path = cf_xstrdup(socket_path);
  out->handle = cf_xstrdup(handle);
  out->id = cf_xstrdup(id);
  out->init = (cf_container_init){.pid = (pid_t)init_pid, .start_time = (uint64_t)init_start_time};
  out->path = cf_xstrdup(path);
  /* dir and user are null when the process spec leaves them out. */
  const char *dir = json_string_value(json_object_get(doc, "dir"));
  const char *user = json_string_value(json_object_get(doc, "user"));
  out->dir = dir != NULL ? cf_xstrdup(dir) : NULL;
  out->user = user != NULL ? cf_xstrdup(user) : NULL;
  out->privileged = privileged;
  out->tty = tty;
  out->rows = (uint16_t)rows;
  out->columns = (uint16_t)columns;
  json_t *rlimits = json_object_get(doc, "rlimits");
  out->rlimits = rlimits != NULL ? json_incref(rlimits) : NULL;
  int rc = 0;
  if (take_strings(doc, "args", &out->args, &out->arg_count, err) < 0 ||
      take_strings(doc, "env", &out->env, &out->env_count, err) < 0) {
    rc = -1;
  }
  json_decref(doc);
  return rc;
}

/* --- Handshake replies --- */

char *cf_keeper_started_encode(const cf_keeper_started *started)
{
  return dump(json_pack("{s:I, s:I, s:I, s:I}", "pid", (json_int_t)started->pid, "start_time",
                        (json_int_t)started->start_time, "keeper_pid",
                        (json_int_t)started->keeper_pid, "keeper_start_time",
                        (json_int_t)started->keeper_start_time));
}

int cf_keeper_started_decode(const char *text, size_t len, cf_keeper_started *out, cf_err **err)
{
  json_t *doc = load(text, len, "start reply", err);
  if (doc == NULL) {
    return -1;
  }
  json_int_t pid = 0;
  json_int_t start_time = 0;
  json_int_t keeper_pid = 0;
  json_int_t keeper_start_time = 0;
  json_error_t jerr;
  int rc =
      json_unpack_ex(doc, &jerr, 0, "{s:I, s:I, s:I, s:I}", "pid", &pid, "start_time", &start_time,
                     "keeper_pid", &keeper_pid, "keeper_start_time", &keeper_start_time);
  json_decref(doc);
  if (rc < 0) {
    return cf_err_set(err, CF_E_INVALID, "keeper start reply: %s", jerr.text);
  }
  if (pid <= 0 || keeper_pid <= 0) {
    return cf_err_set(err, CF_E_INVALID, "keeper start reply: pid %lld or keeper pid %lld invalid",
                      (long long)pid, (long long)keeper_pid);
  }
  *out = (cf_keeper_started){
      .pid = (pid_t)pid,
      .start_time = (uint64_t)start_time,
      .keeper_pid = (pid_t)keeper_pid,
      .keeper_start_time = (uint64_t)keeper_start_time,
  };
  return 0;
}

char *cf_keeper_failure_encode(const cf_err *failure)
{
  return dump(json_pack("{s:i, s:i, s:s}", "code", (int)failure->code, "errno", failure->sys_errno,
                        "message", failure->message != NULL ? failure->message : ""));
}

int cf_keeper_failure_decode(const char *text, size_t len, cf_err **err)
{
  json_t *doc = load(text, len, "failure reply", err);
  if (doc == NULL) {
    return -1;
  }
  int code = 0;
  int sys_errno = 0;
  const char *message = NULL;
  json_error_t jerr;
  if (json_unpack_ex(doc, &jerr, 0, "{s:i, s:i, s:s}", "code", &code, "errno", &sys_errno,
                     "message", &message) < 0) {
    json_decref(doc);
    return cf_err_set(err, CF_E_INVALID, "keeper failure reply: %s", jerr.text);
  }
  if (code <= CF_OK || code > CF_E_BUSY) {
    code = CF_E_SYSTEM;
  }
  cf_err_set(err, (enum cf_code)code, "%s", message);
  if (err != NULL && *err != NULL) {
    (*err)->sys_errno = sys_errno;
  }
  json_decref(doc);
  return -1;
}
