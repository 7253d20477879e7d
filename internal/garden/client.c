/* SPDX-License-Identifier: Apache-2.0 */
#include "garden/client.h"

#include <errno.h>
#include <http_parser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "base/fs.h"
#include "base/mem.h"
#include "garden/json.h"

#define MAX_RESPONSE (64 * 1024 * 1024)

int cf_garden_client_init(cf_garden_client *client, const char *address, cf_err **err)
{
  memset(client, 0, sizeof(*client));
  if (strncmp(address, "unix:", 5) == 0 || address[0] == '/') {
    const char *path = address[0] == '/' ? address : address + 5;
    if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
      return cf_err_set(err, CF_E_INVALID, "unix socket path \"%s\" is too long", path);
    }
    client->socket_path = cf_xstrdup(path);
    return 0;
  }
  const char *colon = strrchr(address, ':');
  char *end = NULL;
  long port = colon != NULL ? strtol(colon + 1, &end, 10) : -1;
  if (colon == NULL || end == colon + 1 || *end != '\0' || port <= 0 || port > 65535) {
    return cf_err_set(err, CF_E_INVALID,
                      "invalid Garden address \"%s\": use HOST:PORT or unix:/path/to/socket",
                      address);
  }
  client->host = cf_xstrndup(address, (size_t)(colon - address));
  client->port = (int)port;
  return 0;
}

void cf_garden_client_clear(cf_garden_client *client)
{
  free(client->socket_path);
  free(client->host);
  client->socket_path = NULL;
  client->host = NULL;
}

static int timeout_ms(const cf_garden_client *client)
{
  return client->timeout_ms > 0 ? client->timeout_ms : 120000;
}

static int connect_unix(const cf_garden_client *client, int *out, cf_err **err)
{
  cf_autoclose int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return cf_err_sys(err, errno, "create unix socket");
  }
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", client->socket_path);
  if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
    return cf_err_sys(err, errno, "connect to %s", client->socket_path);
  }
  *out = cf_steal_fd(&fd);
  return 0;
}

static int connect_tcp(const cf_garden_client *client, int *out, cf_err **err)
{
  struct sockaddr_storage addr = {0};
  socklen_t len = 0;
  struct sockaddr_in *v4 = (struct sockaddr_in *)&addr;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&addr;
  if (inet_pton(AF_INET, client->host, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons((uint16_t)client->port);
    len = sizeof(*v4);
  } else if (inet_pton(AF_INET6, client->host, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons((uint16_t)client->port);
    len = sizeof(*v6);
  } else {
    return cf_err_set(err, CF_E_INVALID, "Garden host \"%s\" is not an IP address", client->host);
  }
  cf_autoclose int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return cf_err_sys(err, errno, "create TCP socket");
  }
  if (connect(fd, (struct sockaddr *)&addr, len) < 0) {
    return cf_err_sys(err, errno, "connect to %s:%d", client->host, client->port);
  }
  *out = cf_steal_fd(&fd);
  return 0;
}

int cf_garden_client_connect(const cf_garden_client *client, int *fd, cf_err **err)
{
  if (client->socket_path != NULL) {
    return connect_unix(client, fd, err);
  }
  return connect_tcp(client, fd, err);
}

void cf_garden_response_init(cf_garden_response *response)
{
  response->status = 0;
  cf_buf_init(&response->head, 256 * 1024);
  cf_buf_init(&response->body, MAX_RESPONSE);
}

void cf_garden_response_clear(cf_garden_response *response)
{
  cf_buf_free(&response->head);
  cf_buf_free(&response->body);
}

/* Waits until fd is readable; fails after the client's timeout. */
static int wait_readable(const cf_garden_client *client, int fd, cf_err **err)
{
  struct pollfd pfd = {.fd = fd, .events = POLLIN};
  for (;;) {
    int rc = poll(&pfd, 1, timeout_ms(client));
    if (rc < 0 && errno == EINTR) {
      continue;
    }
    if (rc < 0) {
      return cf_err_sys(err, errno, "poll");
    }
    if (rc == 0) {
      return cf_err_set(err, CF_E_SYSTEM, "timed out after %d ms waiting for the server",
                        timeout_ms(client));
    }
    return 0;
  }
}

/* Reads once; *n is 0 at EOF. */
static int read_some(const cf_garden_client *client, int fd, char *data, size_t size, size_t *n,
                     cf_err **err)
{
  if (wait_readable(client, fd, err) < 0) {
    return -1;
  }
  ssize_t got;
  do {
    got = read(fd, data, size);
  } while (got < 0 && errno == EINTR);
  if (got < 0) {
    return cf_err_sys(err, errno, "read from server");
  }
  *n = (size_t)got;
  return 0;
}

/* --- Response parsing --- */

typedef struct response_parser {
  http_parser parser;
  cf_garden_response *response;
  bool headers_done;
  bool complete;
  bool skip_body; /* a hijacked stream: the body is raw bytes, not HTTP */
} response_parser;

static int on_resp_headers(http_parser *parser)
{
  response_parser *rp = parser->data;
  rp->headers_done = true;
  rp->response->status = (int)parser->status_code;
  return rp->skip_body ? 1 : 0;
}

static int on_resp_body(http_parser *parser, const char *at, size_t len)
{
  response_parser *rp = parser->data;
  return cf_buf_append(&rp->response->body, at, len, NULL) < 0 ? -1 : 0;
}

static int on_resp_complete(http_parser *parser)
{
  response_parser *rp = parser->data;
  rp->complete = true;
  http_parser_pause(parser, 1);
  return 0;
}

static const http_parser_settings response_settings = {
    .on_headers_complete = on_resp_headers,
    .on_body = on_resp_body,
    .on_message_complete = on_resp_complete,
};

static void response_parser_init(response_parser *rp, cf_garden_response *response, bool skip)
{
  memset(rp, 0, sizeof(*rp));
  http_parser_init(&rp->parser, HTTP_RESPONSE);
  rp->parser.data = rp;
  rp->response = response;
  rp->skip_body = skip;
}

/* Feeds bytes; *used is how many belonged to the response. */
static int response_feed(response_parser *rp, const char *data, size_t len, size_t *used,
                         cf_err **err)
{
  size_t before = rp->response->head.len;
  (void)before;
  size_t n = http_parser_execute(&rp->parser, &response_settings, data, len);
  enum http_errno code = HTTP_PARSER_ERRNO(&rp->parser);
  if (code != HPE_OK && code != HPE_PAUSED) {
    return cf_err_set(err, CF_E_INVALID, "malformed HTTP response: %s",
                      http_errno_description(code));
  }
  *used = n;
  return 0;
}

/* Copies the header block (up to the blank line) of the data seen so far. */
static void keep_head(cf_garden_response *response, const char *data, size_t len)
{
  if (response->head.len > 0 && strstr(response->head.data, "\r\n\r\n") != NULL) {
    return;
  }
  cf_buf_append(&response->head, data, len, NULL);
  char *end = strstr(response->head.data, "\r\n\r\n");
  if (end != NULL) {
    response->head.len = (size_t)(end - response->head.data) + 4;
    response->head.data[response->head.len] = '\0';
  }
}

static int send_all(int fd, const void *data, size_t len, cf_err **err)
{
  if (cf_write_all(fd, data, len, err) < 0) {
    return cf_err_wrap(err, "send request");
  }
  return 0;
}

/* Reads a response on fd. Leftover bytes after it go to *rest when given. */
static int read_response(const cf_garden_client *client, int fd, cf_garden_response *response,
                         bool hijack, cf_buf *rest, cf_err **err)
{
  response_parser rp;
  response_parser_init(&rp, response, hijack);
  char chunk[65536];
  while (!rp.complete) {
    size_t n = 0;
    if (read_some(client, fd, chunk, sizeof(chunk), &n, err) < 0) {
      return -1;
    }
    if (n == 0) {
      http_parser_execute(&rp.parser, &response_settings, NULL, 0);
      if (rp.complete || (rp.headers_done && !hijack)) {
        break;
      }
      return cf_err_set(err, CF_E_SYSTEM, "server closed the connection before a full response");
    }
    keep_head(response, chunk, n);
    size_t used = 0;
    if (response_feed(&rp, chunk, n, &used, err) < 0) {
      return -1;
    }
    if (rp.complete && rest != NULL) {
      cf_buf_append(rest, chunk + used, n - used, NULL);
    }
  }
  return 0;
}

int cf_garden_client_exchange(const cf_garden_client *client, const void *request, size_t len,
                              cf_garden_response *response, cf_err **err)
{
  cf_autoclose int fd = -1;
  if (cf_garden_client_connect(client, &fd, err) < 0 || send_all(fd, request, len, err) < 0) {
    return -1;
  }
  return read_response(client, fd, response, false, NULL, err);
}

/* --- JSON calls --- */

static int envelope_error(const cf_garden_response *response, cf_err **err)
{
  json_t *envelope = NULL;
  cf_err *decode_err = NULL;
  if (cf_json_decode(response->body.data, response->body.len, &envelope, &decode_err) < 0 ||
      !json_is_object(envelope)) {
    cf_err_free(decode_err);
    json_decref(envelope);
    return cf_err_set(err, CF_E_SYSTEM, "server returned status %d with body \"%s\"",
                      response->status, response->body.data != NULL ? response->body.data : "");
  }
  const char *type = json_string_value(json_object_get(envelope, "Type"));
  const char *message = json_string_value(json_object_get(envelope, "Message"));
  enum cf_code code = CF_E_SYSTEM;
  if (type != NULL &&
      (strcmp(type, "ContainerNotFoundError") == 0 || strcmp(type, "ProcessNotFoundError") == 0)) {
    code = CF_E_NOT_FOUND;
  } else if (type != NULL && strcmp(type, "ExecutableNotFoundError") == 0) {
    code = CF_E_EXEC_NOT_FOUND;
  }
  cf_err_set(err, code, "%s", message != NULL ? message : "");
  json_decref(envelope);
  return -1;
}

static char *format_request(const char *method, const char *path, const char *body,
                            bool close_connection)
{
  if (body == NULL) {
    return cf_xasprintf("%s %s HTTP/1.1\r\nHost: api\r\nUser-Agent: cfwin\r\n%s\r\n", method, path,
                        close_connection ? "Connection: close\r\n" : "");
  }
  return cf_xasprintf("%s %s HTTP/1.1\r\nHost: api\r\nUser-Agent: cfwin\r\n%s"
                      "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                      method, path, close_connection ? "Connection: close\r\n" : "", strlen(body),
                      body);
}

int cf_garden_client_call(const cf_garden_client *client, const char *method, const char *path,
                          const json_t *body, json_t **result, cf_err **err)
{
  cf_autofree char *body_text = body != NULL ? cf_json_encode(body) : NULL;
  cf_autofree char *request = format_request(method, path, body_text, true);
  cf_garden_response response;
  cf_garden_response_init(&response);
  int rc = cf_garden_client_exchange(client, request, strlen(request), &response, err);
  if (rc == 0 && (response.status < 200 || response.status > 299)) {
    rc = envelope_error(&response, err);
  }
  if (rc == 0 && result != NULL) {
    rc = cf_json_decode(response.body.data, response.body.len, result, err);
  }
  cf_garden_response_clear(&response);
  if (rc < 0) {
    return cf_err_wrap(err, "%s %s", method, path);
  }
  return 0;
}

int cf_garden_client_ping(const cf_garden_client *client, cf_err **err)
{
  return cf_garden_client_call(client, "GET", "/ping", NULL, NULL, err);
}

int cf_garden_client_create(const cf_garden_client *client, const json_t *spec, char **handle,
                            cf_err **err)
{
  json_t *result = NULL;
  if (cf_garden_client_call(client, "POST", "/containers", spec, &result, err) < 0) {
    return -1;
  }
  const char *value = json_string_value(cf_json_get(result, "Handle"));
  if (value == NULL) {
    json_decref(result);
    return cf_err_set(err, CF_E_INVALID, "create: response has no Handle");
  }
  *handle = cf_xstrdup(value);
  json_decref(result);
  return 0;
}

int cf_garden_client_destroy(const cf_garden_client *client, const char *handle, cf_err **err)
{
  cf_autofree char *path = cf_xasprintf("/containers/%s", handle);
  return cf_garden_client_call(client, "DELETE", path, NULL, NULL, err);
}

/* --- Run --- */

void cf_garden_process_result_init(cf_garden_process_result *result)
{
  memset(result, 0, sizeof(*result));
  result->exit_status = -1;
  cf_buf_init(&result->out, MAX_RESPONSE);
  cf_buf_init(&result->err, MAX_RESPONSE);
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
static int next_payload(const cf_garden_client *client, int fd, cf_buf *pending, json_t **payload,
                        cf_err **err)
{
  char chunk[4096];
  for (;;) {
    int got = take_payload(pending, payload, err);
    if (got != 0) {
      return got < 0 ? -1 : 0;
    }
    size_t n = 0;
    if (read_some(client, fd, chunk, sizeof(chunk), &n, err) < 0) {
      return -1;
    }
    if (n == 0) {
      return cf_err_set(err, CF_E_SYSTEM, "control connection closed before the exit status");
    }
    cf_buf_append(pending, chunk, n, NULL);
  }
}

static int open_output(const cf_garden_client *client, const char *handle,
                       const cf_garden_process_result *result, const char *name, int *fd,
                       cf_buf *initial, cf_err **err)
{
  cf_autofree char *path = cf_xasprintf("/containers/%s/processes/%s/attaches/%s/%s", handle,
                                        result->process_id, result->stream_id, name);
  cf_autofree char *request = cf_xasprintf(
      "GET %s HTTP/1.1\r\nHost: api\r\nUser-Agent: cfwin\r\nContent-Type: application/json\r\n\r\n",
      path);
  if (cf_garden_client_connect(client, fd, err) < 0 ||
      send_all(*fd, request, strlen(request), err) < 0) {
    return -1;
  }
  cf_garden_response response;
  cf_garden_response_init(&response);
  int rc = read_response(client, *fd, &response, true, initial, err);
  if (rc == 0 && response.status != 200) {
    rc = cf_err_set(err, CF_E_SYSTEM, "attach %s: status %d", name, response.status);
  }
  cf_garden_response_clear(&response);
  return rc;
}

static int send_stdin(int fd, const char *process_id, const char *data, size_t len, cf_err **err)
{
  json_t *message = json_pack("{s:s, s:i}", "process_id", process_id, "source", 0);
  if (data != NULL && len > 0) {
    json_object_set_new(message, "data", json_stringn(data, len));
  }
  cf_autofree char *text = cf_json_encode(message);
  json_decref(message);
  int rc = send_all(fd, text, strlen(text), err);
  if (rc == 0 && data != NULL && len > 0) {
    return send_stdin(fd, process_id, NULL, 0, err);
  }
  return rc;
}

/* Reads stdout and stderr until both reach EOF and the control connection
 * delivers the exit status. */
static int collect(const cf_garden_client *client, int control, int out_fd, int err_fd,
                   cf_buf *pending, cf_garden_process_result *result, cf_err **err)
{
  struct pollfd fds[3] = {{.fd = control, .events = POLLIN},
                          {.fd = out_fd, .events = POLLIN},
                          {.fd = err_fd, .events = POLLIN}};
  cf_buf *sinks[3] = {pending, &result->out, &result->err};
  bool have_exit = false;
  char chunk[65536];
  for (;;) {
    json_t *payload = NULL;
    int got = 0;
    while (!have_exit && (got = take_payload(pending, &payload, err)) > 0) {
      json_t *status = json_object_get(payload, "exit_status");
      json_t *error = json_object_get(payload, "error");
      if (json_is_integer(status)) {
        result->exit_status = (int)json_integer_value(status);
        have_exit = true;
      } else if (json_is_string(error)) {
        cf_err_set(err, CF_E_SYSTEM, "process error: %s", json_string_value(error));
        json_decref(payload);
        return -1;
      }
      json_decref(payload);
    }
    if (got < 0) {
      return -1;
    }
    if (have_exit) {
      fds[0].fd = -1;
    }
    if (fds[0].fd < 0 && fds[1].fd < 0 && fds[2].fd < 0) {
      return have_exit ? 0 : cf_err_set(err, CF_E_SYSTEM, "no exit status received");
    }
    int rc = poll(fds, 3, timeout_ms(client));
    if (rc < 0 && errno == EINTR) {
      continue;
    }
    if (rc <= 0) {
      return cf_err_set(err, CF_E_SYSTEM, "timed out waiting for process output or exit");
    }
    for (int i = 0; i < 3; i++) {
      if (fds[i].fd < 0 || fds[i].revents == 0) {
        continue;
      }
      ssize_t n = read(fds[i].fd, chunk, sizeof(chunk));
      if (n <= 0) {
        if (i == 0 && !have_exit) {
          return cf_err_set(err, CF_E_SYSTEM, "control connection closed before the exit status");
        }
        fds[i].fd = -1;
        continue;
      }
      cf_buf_append(sinks[i], chunk, (size_t)n, NULL);
    }
  }
}

static int start_run(const cf_garden_client *client, const char *handle, const json_t *spec,
                     int *control, cf_buf *pending, cf_err **err)
{
  cf_autofree char *path = cf_xasprintf("/containers/%s/processes", handle);
  cf_autofree char *body = cf_json_encode(spec);
  cf_autofree char *request = format_request("POST", path, body, false);
  if (cf_garden_client_connect(client, control, err) < 0 ||
      send_all(*control, request, strlen(request), err) < 0) {
    return -1;
  }
  cf_garden_response response;
  cf_garden_response_init(&response);
  int rc = read_response(client, *control, &response, true, pending, err);
  if (rc == 0 && (response.status < 200 || response.status > 299)) {
    /* An error reply is not hijacked: its body is the error envelope. */
    cf_buf_append(&response.body, pending->data, pending->len, NULL);
    rc = envelope_error(&response, err);
  }
  cf_garden_response_clear(&response);
  return rc;
}

int cf_garden_client_run(const cf_garden_client *client, const char *handle, const json_t *spec,
                         const char *stdin_data, size_t stdin_len, cf_garden_process_result *result,
                         cf_err **err)
{
  cf_autoclose int control = -1;
  cf_autoclose int out_fd = -1;
  cf_autoclose int err_fd = -1;
  cf_buf pending;
  cf_buf_init(&pending, MAX_RESPONSE);
  json_t *first = NULL;
  int rc = -1;
  if (start_run(client, handle, spec, &control, &pending, err) < 0 ||
      next_payload(client, control, &pending, &first, err) < 0) {
    goto out;
  }
  const char *pid = json_string_value(json_object_get(first, "process_id"));
  const char *sid = json_string_value(json_object_get(first, "stream_id"));
  if (pid == NULL || sid == NULL) {
    cf_err_set(err, CF_E_INVALID, "first payload lacks process_id or stream_id");
    goto out;
  }
  result->process_id = cf_xstrdup(pid);
  result->stream_id = cf_xstrdup(sid);
  if (open_output(client, handle, result, "stdout", &out_fd, &result->out, err) < 0 ||
      open_output(client, handle, result, "stderr", &err_fd, &result->err, err) < 0) {
    goto out;
  }
  if (stdin_data != NULL && send_stdin(control, pid, stdin_data, stdin_len, err) < 0) {
    goto out;
  }
  rc = collect(client, control, out_fd, err_fd, &pending, result, err);
out:
  json_decref(first);
  cf_buf_free(&pending);
  if (rc < 0) {
    return cf_err_wrap(err, "run in %s", handle);
  }
  return 0;
}
