/* SPDX-License-Identifier: Apache-2.0 */
#include "garden/client.h"

#include <http_parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "garden/client_internal.h"
#include "garden/json.h"

/* Splits "HOST:PORT" or "[IPV6]:PORT"; the host comes back without brackets. */
static int parse_tcp_address(const char *address, char **host, int *port, cf_err **err)
{
  const char *colon = strrchr(address, ':');
  char *end = NULL;
  long value = colon != NULL ? strtol(colon + 1, &end, 10) : -1;
  if (colon == NULL || colon == address || end == colon + 1 || *end != '\0' || value <= 0 ||
      value > 65535) {
    return cf_err_set(err, CF_E_INVALID,
                      "invalid Garden address \"%s\": use HOST:PORT (an IP address and a port "
                      "from 1 to 65535) or unix:/path/to/socket",
                      address);
  }
  const char *start = address;
  const char *stop = colon;
  if (start[0] == '[' && stop[-1] == ']') {
    start++;
    stop--;
  }
  *host = cf_xstrndup(start, (size_t)(stop - start));
  *port = (int)value;
  return 0;
}

int cf_garden_client_init(cf_garden_client *client, const char *address, cf_err **err)
{
  memset(client, 0, sizeof(*client));
  if (strncmp(address, "unix:", 5) == 0 || address[0] == '/') {
    const char *path = address[0] == '/' ? address : address + 5;
    if (path[0] == '\0') {
      return cf_err_set(err, CF_E_INVALID,
                        "invalid Garden address \"%s\": the socket path is empty", address);
    }
    client->socket_path = cf_xstrdup(path);
    return 0;
  }
  return parse_tcp_address(address, &client->host, &client->port, err);
}

void cf_garden_client_clear(cf_garden_client *client)
{
  free(client->socket_path);
  free(client->host);
  client->socket_path = NULL;
  client->host = NULL;
}

void cf_garden_response_init(cf_garden_response *response)
{
  response->status = 0;
  cf_buf_init(&response->head, 256 * 1024);
  cf_buf_init(&response->body, CF_CLIENT_MAX_RESPONSE);
}

void cf_garden_response_clear(cf_garden_response *response)
{
  cf_buf_free(&response->head);
  cf_buf_free(&response->body);
}

/* --- Response parsing --- */

typedef struct response_parser {
  http_parser parser;
  cf_garden_response *response;
  bool headers_done;
  bool complete;
  bool skip_body; /* a hijacked stream: the body is raw bytes, not HTTP */
  cf_garden_sink sink;
  void *sink_ctx;
  cf_err *sink_err; /* the error a sink or an append returned */
} response_parser;

static int on_resp_headers(http_parser *parser)
{
  response_parser *rp = parser->data;
  rp->headers_done = true;
  rp->response->status = (int)parser->status_code;
  return rp->skip_body ? 1 : 0;
}

static bool is_success(int status)
{
  return status >= 200 && status <= 299;
}

static int on_resp_body(http_parser *parser, const char *at, size_t len)
{
  response_parser *rp = parser->data;
  if (rp->sink != NULL && is_success(rp->response->status)) {
    return rp->sink(rp->sink_ctx, at, len, &rp->sink_err) < 0 ? -1 : 0;
  }
  return cf_buf_append(&rp->response->body, at, len, &rp->sink_err) < 0 ? -1 : 0;
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

/* Feeds bytes; *used is how many belonged to the response. */
static int response_feed(response_parser *rp, const char *data, size_t len, size_t *used,
                         cf_err **err)
{
  size_t n = http_parser_execute(&rp->parser, &response_settings, data, len);
  enum http_errno code = HTTP_PARSER_ERRNO(&rp->parser);
  if (rp->sink_err != NULL) {
    *err = cf_steal(&rp->sink_err);
    return -1;
  }
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

/* Ends a response at end of file, where a body without a length ends. A
 * body with a length or chunks that stops early is an error. */
static int finish_at_eof(response_parser *rp, bool hijack, cf_err **err)
{
  http_parser_execute(&rp->parser, &response_settings, NULL, 0);
  if (rp->sink_err != NULL) {
    *err = cf_steal(&rp->sink_err);
    return -1;
  }
  if (rp->complete) {
    return 0;
  }
  if (rp->headers_done && !hijack) {
    return cf_err_set(err, CF_E_SYSTEM,
                      "server closed the connection in the middle of the response body");
  }
  return cf_err_set(err, CF_E_SYSTEM, "server closed the connection before a full response");
}

int cf_client_read_response(const cf_garden_client *client, cf_garden_conn *conn,
                            cf_garden_response *response, bool hijack, cf_buf *rest,
                            cf_garden_sink sink, void *sink_ctx, cf_err **err)
{
  response_parser rp = {
      .response = response, .skip_body = hijack, .sink = sink, .sink_ctx = sink_ctx};
  http_parser_init(&rp.parser, HTTP_RESPONSE);
  rp.parser.data = &rp;
  char chunk[65536];
  while (!rp.complete) {
    size_t n = 0;
    if (cf_client_read(client, conn, chunk, sizeof(chunk), &n, err) < 0) {
      return -1;
    }
    if (n == 0) {
      return finish_at_eof(&rp, hijack, err);
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
  cf_autoconn cf_garden_conn conn = CF_GARDEN_CONN_CLOSED;
  if (cf_client_open(client, &conn, err) < 0 || cf_client_send(&conn, request, len, err) < 0) {
    return -1;
  }
  return cf_client_read_response(client, &conn, response, false, NULL, NULL, NULL, err);
}

/* --- JSON calls --- */

static enum cf_code code_of_type(const char *type)
{
  if (type == NULL) {
    return CF_E_SYSTEM;
  }
  if (strcmp(type, "ContainerNotFoundError") == 0 || strcmp(type, "ProcessNotFoundError") == 0) {
    return CF_E_NOT_FOUND;
  }
  if (strcmp(type, "ExecutableNotFoundError") == 0) {
    return CF_E_EXEC_NOT_FOUND;
  }
  return CF_E_SYSTEM;
}

int cf_client_envelope_error(const cf_garden_response *response, cf_err **err)
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
  const char *type = json_string_value(cf_json_get(envelope, "Type"));
  const char *message = json_string_value(cf_json_get(envelope, "Message"));
  cf_err_set(err, code_of_type(type), "%s", message != NULL ? message : "");
  json_decref(envelope);
  return -1;
}

char *cf_client_format_request(const char *method, const char *path, const char *body,
                               bool close_connection)
{
  const char *connection = close_connection ? "Connection: close\r\n" : "";
  if (body == NULL) {
    return cf_xasprintf("%s %s HTTP/1.1\r\nHost: api\r\nUser-Agent: cfwin\r\n%s\r\n", method, path,
                        connection);
  }
  return cf_xasprintf("%s %s HTTP/1.1\r\nHost: api\r\nUser-Agent: cfwin\r\n%s"
                      "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                      method, path, connection, strlen(body), body);
}

int cf_garden_client_call(const cf_garden_client *client, const char *method, const char *path,
                          const json_t *body, json_t **result, cf_err **err)
{
  cf_autofree char *body_text = body != NULL ? cf_json_encode(body) : NULL;
  cf_autofree char *request = cf_client_format_request(method, path, body_text, true);
  cf_garden_response response;
  cf_garden_response_init(&response);
  int rc = cf_garden_client_exchange(client, request, strlen(request), &response, err);
  if (rc == 0 && !is_success(response.status)) {
    rc = cf_client_envelope_error(&response, err);
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

char *cf_garden_escape(const char *text)
{
  static const char hex[] = "0123456789ABCDEF";
  size_t len = strlen(text);
  char *out = cf_xmalloc(len * 3 + 1);
  char *p = out;
  for (const unsigned char *s = (const unsigned char *)text; *s != '\0'; s++) {
    bool plain = (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
                 strchr("-._~", *s) != NULL;
    if (plain) {
      *p++ = (char)*s;
      continue;
    }
    *p++ = '%';
    *p++ = hex[*s >> 4];
    *p++ = hex[*s & 15];
  }
  *p = '\0';
  return out;
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
  cf_autofree char *escaped = cf_garden_escape(handle);
  cf_autofree char *path = cf_xasprintf("/containers/%s", escaped);
  return cf_garden_client_call(client, "DELETE", path, NULL, NULL, err);
}
