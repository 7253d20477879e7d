/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Garden server's event loop: listeners, connections, request parsing
 * and response framing. Routes live in handlers.c and processes.c.
 */
#include "garden/server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/log.h"
#include "base/mem.h"
#include "garden/host.h"
#include "garden/internal.h"
#include "garden/json.h"
#include "garden/stopper.h"
#include "garden/stream_io.h"

#define READ_CHUNK (64 * 1024)

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);
static void process_input(cf_conn *conn);
static void resume_grace_time(cf_conn *conn);
static void start_header_timer(cf_conn *conn);
static void close_header_timer(cf_conn *conn);

/* --- Writing --- */

typedef struct write_req {
  uv_write_t req;
  cf_conn *conn;
  size_t len;
  char data[];
} write_req;

static void on_closed(uv_handle_t *handle)
{
  cf_conn *conn = handle->data;
  cf_server *server = conn->server;
  for (cf_conn **p = &server->conns; *p != NULL; p = &(*p)->next) {
    if (*p == conn) {
      *p = conn->next;
      break;
    }
  }
  cf_http_request_clear(&conn->req);
  cf_buf_free(&conn->input);
  cf_tls_session_free(conn->tls);
  free(conn);
}

void cf_conn_close(cf_conn *conn)
{
  if (conn->state == CF_CONN_CLOSING) {
    return;
  }
  enum cf_conn_state previous = conn->state;
  conn->state = CF_CONN_CLOSING;
  resume_grace_time(conn);
  close_header_timer(conn);
  if (previous == CF_CONN_CONTROL) {
    cf_control_closed(conn);
  } else if (previous == CF_CONN_OUTPUT) {
    cf_output_closed(conn);
  } else if (conn->files != NULL) {
    cf_files_conn_closed(conn);
  }
  uv_close(&conn->io.handle, on_closed);
}

static void on_written(uv_write_t *req, int status)
{
  write_req *wr = (write_req *)req;
  cf_conn *conn = wr->conn;
  conn->queued_bytes -= wr->len;
  free(wr);
  conn->pending_writes--;
  if (status < 0 && status != UV_ECANCELED) {
    cf_log(CF_LOG_DEBUG, "connection.write-failed", "{s:s}", "error", uv_strerror(status));
    cf_conn_close(conn);
    return;
  }
  if (conn->pending_writes == 0 && conn->close_when_written) {
    cf_conn_close(conn);
    return;
  }
  if (conn->state == CF_CONN_FILES) {
    cf_files_written(conn);
  }
}

/* Queues bytes for the socket as they are, after TLS if any. */
static void write_raw(cf_conn *conn, const void *data, size_t len)
{
  if (conn->state == CF_CONN_CLOSING || len == 0) {
    return;
  }
  write_req *wr = cf_xmalloc(sizeof(*wr) + len);
  wr->conn = conn;
  wr->len = len;
  memcpy(wr->data, data, len);
  uv_buf_t buf = uv_buf_init(wr->data, (unsigned int)len);
  int rc = uv_write(&wr->req, &conn->io.stream, &buf, 1, on_written);
  if (rc < 0) {
    free(wr);
    cf_conn_close(conn);
    return;
  }
  conn->pending_writes++;
  conn->queued_bytes += len;
}

/* The TLS session's records for the peer. */
static void send_tls_records(void *ctx, const void *data, size_t len)
{
  write_raw(ctx, data, len);
}

void cf_conn_write(cf_conn *conn, const void *data, size_t len)
{
  if (conn->tls == NULL) {
    write_raw(conn, data, len);
    return;
  }
  if (conn->state == CF_CONN_CLOSING || len == 0) {
    return;
  }
  cf_err *err = NULL;
  if (cf_tls_session_write(conn->tls, data, len, &err) < 0) {
    cf_log(CF_LOG_DEBUG, "connection.tls-write-failed", "{s:s}", "error", err->message);
    cf_err_free(err);
    cf_conn_close(conn);
  }
}

void cf_conn_close_when_written(cf_conn *conn)
{
  if (conn->pending_writes == 0) {
    cf_conn_close(conn);
    return;
  }
  conn->close_when_written = true;
}

/* Writes the status line and the headers every response shares, in the
 * order Go's net/http sends them: the handler's headers (sorted), Date,
 * framing, Connection. */
static void append_head(cf_buf *head, int status, const char *headers, const char *framing,
                        bool close)
{
  char date[30];
  cf_http_date(date);
  cf_buf_printf(head, NULL, "HTTP/1.1 %d %s\r\n%sDate: %s\r\n%s%s\r\n", status,
                cf_http_status_text(status), headers != NULL ? headers : "", date, framing,
                close ? "Connection: close\r\n" : "");
}

void cf_conn_respond(cf_conn *conn, int status, const char *content_type, const char *body,
                     size_t body_len, const char *extra_headers)
{
  cf_buf head;
  cf_buf_init(&head, CF_MAX_HEADER_BYTES + body_len);
  cf_autofree char *headers =
      cf_xasprintf("%s%s%s%s", extra_headers != NULL ? extra_headers : "",
                   content_type != NULL ? "Content-Type: " : "",
                   content_type != NULL ? content_type : "", content_type != NULL ? "\r\n" : "");
  cf_autofree char *framing = cf_xasprintf("Content-Length: %zu\r\n", body_len);
  append_head(&head, status, headers, framing, !conn->keep_alive);
  /* A response to HEAD has no body, but its Content-Length is the length
   * the body would have, as in Go's net/http. */
  if (strcmp(conn->req.method, "HEAD") != 0) {
    cf_buf_append(&head, body, body_len, NULL);
  }
  cf_conn_write(conn, head.data, head.len);
  cf_buf_free(&head);
}

void cf_conn_respond_json(cf_conn *conn, int status, const json_t *value)
{
  cf_autofree char *body = cf_json_encode(value);
  cf_conn_respond(conn, status, "application/json", body, strlen(body), NULL);
}

void cf_conn_respond_error(cf_conn *conn, const cf_err *err, const char *handle,
                           const char *process_id)
{
  const char *type = "";
  int status = 500;
  const char *message = err != NULL ? err->message : "unknown error";
  if (err != NULL && err->code == CF_E_NOT_FOUND && process_id != NULL) {
    type = "ProcessNotFoundError";
    status = 404;
  } else if (err != NULL && err->code == CF_E_NOT_FOUND && handle != NULL) {
    type = "ContainerNotFoundError";
    status = 404;
  } else if (err != NULL && err->code == CF_E_EXEC_NOT_FOUND) {
    type = "ExecutableNotFoundError";
  }
  cf_log(status == 404 ? CF_LOG_DEBUG : CF_LOG_ERROR, "api.request-failed", "{s:s, s:s, s:i, s:s}",
         "method", conn->req.method, "path", conn->req.path != NULL ? conn->req.path : "", "status",
         status, "error", message);
  json_t *envelope = cf_json_error_envelope(type, message, status == 404 ? handle : NULL,
                                            status == 404 ? process_id : NULL);
  cf_conn_respond_json(conn, status, envelope);
  json_decref(envelope);
}

void cf_conn_fail(cf_conn *conn, cf_err *err, const char *handle, const char *process_id)
{
  cf_conn_respond_error(conn, err, handle, process_id);
  cf_err_free(err);
  cf_conn_request_done(conn);
}

void cf_conn_hijack(cf_conn *conn, int status, bool with_json)
{
  cf_buf head;
  cf_buf_init(&head, CF_MAX_HEADER_BYTES);
  /* The Go server announces chunked encoding and then writes raw bytes. The
   * Go client never reads a hijacked body as chunks, but it needs the header,
   * because without it the client treats the connection as closed. */
  append_head(&head, status, with_json ? "Content-Type: application/json\r\n" : NULL,
              "Transfer-Encoding: chunked\r\n", false);
  cf_conn_write(conn, head.data, head.len);
  cf_buf_free(&head);
}

void cf_conn_request_done(cf_conn *conn)
{
  if (conn->state != CF_CONN_BUSY) {
    return;
  }
  if (!conn->req.complete) {
    /* The rest of the body would be read as the next request. */
    conn->keep_alive = false;
  }
  resume_grace_time(conn);
  if (!conn->keep_alive || conn->server->stopping) {
    cf_conn_close_when_written(conn);
    return;
  }
  cf_http_request_reset(&conn->req);
  conn->state = CF_CONN_READING;
  start_header_timer(conn);
  cf_conn_read(conn);
  process_input(conn);
}

/* --- Reading --- */

static void alloc_chunk(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
  (void)handle;
  (void)suggested;
  buf->base = cf_xmalloc(READ_CHUNK);
  buf->len = READ_CHUNK;
}

static void reject_request(cf_conn *conn, const cf_err *err)
{
  int status = 400;
  if (err->code == CF_E_LIMIT && conn->req.headers_too_large) {
    status = 431; /* what Go's net/http sends for headers over MaxHeaderBytes */
  } else if (err->code == CF_E_LIMIT) {
    status = 413;
  } else if (err->code == CF_E_NOT_IMPLEMENTED) {
    status = 505;
  }
  conn->keep_alive = false;
  cf_autofree char *body = cf_xasprintf("%s\n", err->message);
  cf_conn_respond(conn, status, "text/plain; charset=utf-8", body, strlen(body), NULL);
  conn->state = CF_CONN_BUSY;
  uv_read_stop(&conn->io.stream);
  cf_conn_close_when_written(conn);
}

static void respond_no_route(cf_conn *conn, enum cf_route_result result, const char *allow)
{
  /* The plain-text replies of Go's http.Error, headers in Go's order. */
  static const char text_headers[] = "Content-Type: text/plain; charset=utf-8\r\n"
                                     "X-Content-Type-Options: nosniff\r\n";
  if (result == CF_ROUTE_WRONG_METHOD) {
    cf_autofree char *headers = cf_xasprintf("Allow: %s\r\n%s", allow, text_headers);
    cf_conn_respond(conn, 405, NULL, "Method Not Allowed\n", 19, headers);
  } else {
    cf_conn_respond(conn, 404, NULL, "404 page not found\n", 19, text_headers);
  }
  cf_conn_request_done(conn);
}

/* Pauses the grace time of the container the request names, for the
 * routes that do so. A Run or Attach keeps the pause until its control
 * connection closes. */
static void pause_grace_time(cf_conn *conn, const cf_route_match *match)
{
  if (match->handle == NULL || !cf_reaper_route_pauses(match->route)) {
    return;
  }
  cf_reaper_pause(conn->server->reaper, match->handle);
  conn->paused_handle = cf_xstrdup(match->handle);
}

static void resume_grace_time(cf_conn *conn)
{
  if (conn->paused_handle == NULL) {
    return;
  }
  cf_reaper_resume(conn->server->reaper, conn->paused_handle);
  free(conn->paused_handle);
  conn->paused_handle = NULL;
}

static void dispatch(cf_conn *conn)
{
  conn->state = CF_CONN_BUSY;
  conn->keep_alive = conn->req.keep_alive;
  uv_read_stop(&conn->io.stream);

  enum cf_route_result result;
  cf_route_match match;
  cf_err *err = NULL;
  if (cf_route_find(conn->req.method, conn->req.path, &result, &match, &err) < 0) {
    cf_conn_respond_error(conn, err, NULL, NULL);
    cf_err_free(err);
    cf_conn_request_done(conn);
    return;
  }
  cf_log(CF_LOG_DEBUG, "api.request", "{s:s, s:s}", "method", conn->req.method, "path",
         conn->req.path);
  if (result != CF_ROUTE_MATCHED) {
    respond_no_route(conn, result, match.allow);
  } else {
    pause_grace_time(conn, &match);
    cf_handle_request(conn, &match);
  }
  cf_route_match_clear(&match);
}

/* True for a request whose handler takes the body as it arrives (StreamIn),
 * instead of after the whole body is kept in memory. */
static bool streams_body(const cf_conn *conn)
{
  enum cf_route_result result;
  cf_route_match match;
  if (cf_route_find(conn->req.method, conn->req.path, &result, &match, NULL) < 0) {
    return false;
  }
  bool streams = result == CF_ROUTE_MATCHED && match.route == CF_ROUTE_STREAM_IN;
  cf_route_match_clear(&match);
  return streams;
}

/* Parses buffered input as the connection's state requires. */
static void process_input(cf_conn *conn)
{
  if (conn->state == CF_CONN_CONTROL) {
    cf_control_input(conn);
    return;
  }
  if (conn->state == CF_CONN_FILES) {
    cf_files_input(conn);
    return;
  }
  while (conn->state == CF_CONN_READING && conn->input.len > 0) {
    size_t consumed = 0;
    cf_err *err = NULL;
    if (cf_http_request_feed(&conn->req, conn->input.data, conn->input.len, &consumed, &err) < 0) {
      cf_log(CF_LOG_DEBUG, "api.bad-request", "{s:s}", "error", err->message);
      reject_request(conn, err);
      cf_err_free(err);
      return;
    }
    cf_buf_consume(&conn->input, consumed);
    if (conn->req.headers_complete && conn->header_timer != NULL) {
      uv_timer_stop(conn->header_timer);
    }
    if (conn->req.complete || (conn->req.paused_at_headers && streams_body(conn))) {
      dispatch(conn);
      return;
    }
    if (!conn->req.paused_at_headers) {
      return; /* the rest of the request has not arrived yet */
    }
  }
}

/* Decrypts what a TLS client sent into conn->input. A failed handshake,
 * such as a client certificate the CA did not sign, closes the connection
 * without a response. */
static void read_tls(cf_conn *conn, const char *data, size_t len)
{
  cf_err *err = NULL;
  if (cf_tls_session_feed(conn->tls, data, len, &conn->input, &err) < 0) {
    cf_log(CF_LOG_INFO, "api.tls-failed", "{s:s}", "error", err->message);
    cf_err_free(err);
    cf_conn_close(conn);
    return;
  }
  if (conn->state == CF_CONN_OUTPUT) {
    cf_buf_consume(&conn->input, conn->input.len); /* a stdout or stderr reader sends nothing */
  }
  process_input(conn);
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
  cf_conn *conn = stream->data;
  if (nread > 0 && conn->tls != NULL) {
    read_tls(conn, buf->base, (size_t)nread);
    free(buf->base);
    return;
  }
  if (nread > 0 && conn->state == CF_CONN_OUTPUT) {
    nread = 0; /* a stdout or stderr reader sends nothing worth keeping */
  }
  if (nread > 0) {
    cf_err *err = NULL;
    if (cf_buf_append(&conn->input, buf->base, (size_t)nread, &err) < 0) {
      cf_log_error("api.input-too-large", err, "{s:s}", "path",
                   conn->req.path != NULL ? conn->req.path : "");
      cf_err_free(err);
      free(buf->base);
      cf_conn_close(conn);
      return;
    }
    free(buf->base);
    process_input(conn);
    return;
  }
  free(buf->base);
  if (nread < 0) {
    cf_conn_close(conn);
  }
}

void cf_conn_read(cf_conn *conn)
{
  uv_read_start(&conn->io.stream, alloc_chunk, on_read);
}

/* --- Read header timeout --- */

static void on_header_timer_closed(uv_handle_t *handle)
{
  free(handle);
}

/* Closes a connection whose request line and headers did not all arrive in
 * time, without a response, as Go's server does. */
static void on_header_timeout(uv_timer_t *timer)
{
  cf_conn *conn = timer->data;
  if (conn->state != CF_CONN_READING || conn->req.headers_complete) {
    return;
  }
  cf_log(CF_LOG_DEBUG, "api.read-header-timeout", "{s:I}", "timeout-ms",
         (json_int_t)conn->server->config.read_header_timeout_ms);
  cf_conn_close(conn);
}

/* Starts the countdown for the next request's headers. */
static void start_header_timer(cf_conn *conn)
{
  uint64_t timeout_ms = conn->server->config.read_header_timeout_ms;
  if (timeout_ms == 0) {
    return;
  }
  if (conn->header_timer == NULL) {
    conn->header_timer = cf_xmalloc(sizeof(*conn->header_timer));
    uv_timer_init(conn->server->loop, conn->header_timer);
    conn->header_timer->data = conn;
  }
  uv_timer_start(conn->header_timer, on_header_timeout, timeout_ms, 0);
}

static void close_header_timer(cf_conn *conn)
{
  if (conn->header_timer != NULL) {
    uv_close((uv_handle_t *)conn->header_timer, on_header_timer_closed);
    conn->header_timer = NULL;
  }
}

/* --- Listening --- */

static void on_connection(uv_stream_t *listener, int status)
{
  cf_server *server = listener->data;
  if (status < 0) {
    cf_log(CF_LOG_ERROR, "api.accept-failed", "{s:s}", "error", uv_strerror(status));
    return;
  }
  cf_conn *conn = cf_xcalloc(1, sizeof(*conn));
  conn->server = server;
  conn->state = CF_CONN_READING;
  cf_http_request_init(&conn->req, CF_MAX_HEADER_BYTES, CF_MAX_BODY_BYTES);
  conn->req.stop_after_headers = true;
  /* Input beyond one request (a hijacked stream's payloads) is bounded too. */
  cf_buf_init(&conn->input, CF_MAX_BODY_BYTES + CF_MAX_HEADER_BYTES);
  if (listener->type == UV_TCP) {
    uv_tcp_init(server->loop, &conn->io.tcp);
  } else {
    uv_pipe_init(server->loop, &conn->io.pipe, 0);
  }
  conn->io.handle.data = conn;
  conn->next = server->conns;
  server->conns = conn;
  int rc = uv_accept(listener, &conn->io.stream);
  if (rc < 0) {
    cf_log(CF_LOG_ERROR, "api.accept-failed", "{s:s}", "error", uv_strerror(rc));
    cf_conn_close(conn);
    return;
  }
  if (listener->type == UV_TCP && server->tls != NULL) {
    conn->tls = cf_tls_session_new(server->tls, send_tls_records, conn);
    if (conn->tls == NULL) {
      /* Never serve plain HTTP on the TLS listener. */
      cf_log(CF_LOG_ERROR, "api.tls-session-failed", "{s:s}", "error",
             "mbedTLS could not set up a session; the connection is closed");
      cf_conn_close(conn);
      return;
    }
  }
  start_header_timer(conn);
  cf_conn_read(conn);
}

/* Loads the listener's certificates, or warns when a TCP listener that
 * other hosts can reach serves plain HTTP, which gdn allows too. */
static int setup_tls(cf_server *server, cf_err **err)
{
  const cf_server_config *config = &server->config;
  if (config->tls.cert_path != NULL) {
    if (cf_tls_server_config_new(&config->tls, &server->tls, err) < 0) {
      return cf_err_wrap(err, "set up TLS for %s:%d", config->bind_ip, config->bind_port);
    }
    cf_log(CF_LOG_INFO, "tls.enabled", "{s:s, s:b}", "certificate", config->tls.cert_path,
           "client-certificates-required", config->tls.ca_path != NULL);
    return 0;
  }
  struct sockaddr_storage addr;
  bool loopback = true;
  if (uv_ip4_addr(config->bind_ip, 0, (struct sockaddr_in *)&addr) == 0) {
    loopback = (ntohl(((struct sockaddr_in *)&addr)->sin_addr.s_addr) >> 24) == 127;
  } else if (uv_ip6_addr(config->bind_ip, 0, (struct sockaddr_in6 *)&addr) == 0) {
    loopback = IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)&addr)->sin6_addr);
  }
  if (!loopback) {
    cf_log(CF_LOG_ERROR, "tls.plain-http-listener", "{s:s, s:s}", "bind-ip", config->bind_ip, "fix",
           "other hosts reach this listener unencrypted; give --tls-cert and --tls-key");
  }
  return 0;
}

static int listen_tcp(cf_server *server, cf_err **err)
{
  struct sockaddr_storage addr;
  if (uv_ip4_addr(server->config.bind_ip, server->config.bind_port, (struct sockaddr_in *)&addr) <
          0 &&
      uv_ip6_addr(server->config.bind_ip, server->config.bind_port, (struct sockaddr_in6 *)&addr) <
          0) {
    return cf_err_set(err, CF_E_INVALID, "invalid bind address \"%s\": use an IPv4 or IPv6 address",
                      server->config.bind_ip);
  }
  uv_tcp_init(server->loop, &server->tcp_listener);
  server->tcp_listener.data = server;
  server->tcp_listening = true;
  int rc = uv_tcp_bind(&server->tcp_listener, (struct sockaddr *)&addr, 0);
  if (rc == 0) {
    rc = uv_listen((uv_stream_t *)&server->tcp_listener, 512, on_connection);
  }
  if (rc < 0) {
    return cf_err_set(err, CF_E_SYSTEM, "listen on %s:%d: %s", server->config.bind_ip,
                      server->config.bind_port, uv_strerror(rc));
  }
  return 0;
}

static int listen_unix(cf_server *server, cf_err **err)
{
  const char *path = server->config.bind_socket;
  cf_host_remove_stale_socket(path);
  uv_pipe_init(server->loop, &server->unix_listener, 0);
  server->unix_listener.data = server;
  server->unix_listening = true;
  int rc = uv_pipe_bind(&server->unix_listener, path);
  if (rc == 0) {
    rc = uv_listen((uv_stream_t *)&server->unix_listener, 512, on_connection);
  }
  if (rc < 0) {
    return cf_err_set(err, CF_E_SYSTEM, "listen on unix socket %s: %s", path, uv_strerror(rc));
  }
  if (chmod(path, 0777) < 0) {
    return cf_err_sys(err, errno, "chmod unix socket %s", path);
  }
  return 0;
}

/* --- Start and stop --- */

/* Closes every handle the server opened, so the loop runs out. Containers
 * and their processes keep running. */
static void stop(cf_server *server)
{
  if (server->stopping) {
    return;
  }
  server->stopping = true;
  if (server->tcp_listening) {
    uv_close((uv_handle_t *)&server->tcp_listener, NULL);
  }
  if (server->unix_listening) {
    uv_close((uv_handle_t *)&server->unix_listener, NULL);
    unlink(server->config.bind_socket);
  }
  for (cf_conn *conn = server->conns; conn != NULL; conn = conn->next) {
    if (conn->state != CF_CONN_BUSY) {
      cf_conn_close(conn);
    }
  }
  cf_procs_shutdown(server);
  cf_reaper_close(server->reaper);
  if (server->signals_started) {
    uv_close((uv_handle_t *)&server->sigterm, NULL);
    uv_close((uv_handle_t *)&server->sigint, NULL);
  }
  if (server->stop_request_started) {
    cf_server_stopper_detach(server->config.stopper);
    uv_close((uv_handle_t *)&server->stop_request, NULL);
  }
}

static void on_stop_signal(uv_signal_t *handle, int signum)
{
  cf_server *server = handle->data;
  cf_log(CF_LOG_INFO, "stopping", "{s:i}", "signal", signum);
  stop(server);
}

static void on_stop_request(uv_async_t *handle)
{
  cf_server *server = handle->data;
  cf_log(CF_LOG_INFO, "stopping", "{s:s}", "reason", "stop request");
  stop(server);
}

/* Lets another thread stop the server through config.stopper. A request
 * made before this call stops the server now. */
static void start_stop_requests(cf_server *server)
{
  if (server->config.stopper == NULL) {
    return;
  }
  uv_async_init(server->loop, &server->stop_request, on_stop_request);
  server->stop_request.data = server;
  server->stop_request_started = true;
  if (cf_server_stopper_attach(server->config.stopper, &server->stop_request)) {
    on_stop_request(&server->stop_request);
  }
}

static int reconcile(cf_server *server, cf_err **err)
{
  char **kept = NULL;
  size_t count = 0;
  if (cf_backend_reconcile(server->backend, server->config.destroy_containers_on_startup, &kept,
                           &count, err) < 0) {
    return -1;
  }
  for (size_t i = 0; i < count; i++) {
    cf_ctr_add(server, kept[i], CF_CTR_ACTIVE);
    cf_reaper_arm_stored(server->reaper, kept[i]);
  }
  cf_procs_recover(server, kept, count);
  cf_log(CF_LOG_INFO, "reconciled", "{s:i}", "containers-kept", (int)count);
  cf_strv_free(kept, count);
  return 0;
}

/* Takes the container network's lock, since at start the backend sweeps
 * the network's endpoints that this depot does not know. */
static int lock_network(cf_server *server, cf_err **err)
{
  if (server->config.network == NULL) {
    return 0;
  }
  return cf_host_network_lock(server->config.network->config.network_name, &server->network_lock,
                              err);
}

static int open_backend(cf_server *server, cf_err **err)
{
  cf_backend_options options = {
      .pull = server->config.pull,
      .gc_threshold_bytes = server->config.gc_threshold_bytes,
      .network = server->config.network,
  };
  return cf_backend_open(server->config.depot, &options, &server->backend, err);
}

/* Warns at start when the default rootfs is an OCI layout that does not
 * exist, since every create without an image would fail on it. */
static void check_default_rootfs(const cf_server *server)
{
  const char *uri = server->config.default_rootfs;
  cf_oci_uri parsed = {0};
  if (uri == NULL || strncmp(uri, "oci://", 6) != 0 || cf_oci_uri_parse(uri, &parsed, NULL) < 0) {
    return;
  }
  cf_autofree char *marker = cf_path_join(parsed.path, "oci-layout");
  if (access(marker, F_OK) != 0) {
    cf_log(CF_LOG_ERROR, "default-rootfs.missing", "{s:s, s:s}", "uri", uri, "fix",
           "create the image (e.g. cfwin-mkimage PATH) or pass --default-rootfs");
  }
  cf_oci_uri_clear(&parsed);
}

/* Pulls the cached images; a failure is logged and does not stop the start,
 * because containers of other images can still be created. */
static void pull_cached_images(cf_server *server)
{
  for (size_t i = 0; i < server->config.cached_image_count; i++) {
    const char *uri = server->config.cached_image_uris[i];
    cf_err *err = NULL;
    cf_log(CF_LOG_INFO, "cached-image.pulling", "{s:s}", "uri", uri);
    if (cf_backend_pull(server->backend, uri, &err) < 0) {
      cf_log_error("cached-image.failed", err, "{s:s}", "uri", uri);
      cf_err_free(err);
      continue;
    }
    cf_log(CF_LOG_INFO, "cached-image.pulled", "{s:s}", "uri", uri);
  }
}

static int start(cf_server *server, cf_err **err)
{
  server->cpu_entitlement_per_share = server->config.cpu_entitlement_per_share > 0
                                          ? server->config.cpu_entitlement_per_share
                                          : cf_cpu_entitlement_default();
  if (cf_mkdir_p(server->config.depot, 0700, err) < 0 ||
      cf_host_depot_lock(server->config.depot, &server->depot_lock, err) < 0 ||
      lock_network(server, err) < 0 || open_backend(server, err) < 0 ||
      reconcile(server, err) < 0) {
    return -1;
  }
  check_default_rootfs(server);
  pull_cached_images(server);
  if (server->config.bind_ip != NULL &&
      (setup_tls(server, err) < 0 || listen_tcp(server, err) < 0)) {
    return -1;
  }
  if (server->config.bind_socket != NULL && listen_unix(server, err) < 0) {
    return -1;
  }
  uv_signal_init(server->loop, &server->sigterm);
  uv_signal_init(server->loop, &server->sigint);
  server->sigterm.data = server;
  server->sigint.data = server;
  uv_signal_start(&server->sigterm, on_stop_signal, SIGTERM);
  uv_signal_start(&server->sigint, on_stop_signal, SIGINT);
  server->signals_started = true;
  start_stop_requests(server);
  return 0;
}

static void free_ctrs(cf_server *server)
{
  while (server->ctrs != NULL) {
    cf_ctr_remove(server, server->ctrs);
  }
}

int cf_server_run(const cf_server_config *config, cf_err **err)
{
  cf_server server = {.config = *config, .loop = uv_default_loop(), .next_stream_id = 1};
  server.reaper = cf_reaper_new(&server);
  cf_host_ignore_broken_pipes();
  int rc = start(&server, err);
  if (rc == 0) {
    cf_log(CF_LOG_INFO, "started", "{s:s?, s:i, s:s?, s:s}", "bind-ip", config->bind_ip,
           "bind-port", config->bind_port, "bind-socket", config->bind_socket, "depot",
           config->depot);
    if (config->on_started != NULL) {
      config->on_started(config->on_started_context);
    }
    uv_run(server.loop, UV_RUN_DEFAULT);
    cf_log(CF_LOG_INFO, "stopped", NULL);
  } else {
    stop(&server);
    uv_run(server.loop, UV_RUN_DEFAULT);
  }
  free_ctrs(&server);
  cf_reaper_free(server.reaper);
  cf_tls_config_free(server.tls);
  cf_backend_close(server.backend);
  cf_host_depot_unlock(server.network_lock);
  cf_host_depot_unlock(server.depot_lock);
  uv_loop_close(server.loop);
  return rc;
}
