/* SPDX-License-Identifier: Apache-2.0 */
/* StreamIn and StreamOut in the Garden client: tar streams in both directions. */
#include <stdio.h>
#include <string.h>

#include "base/mem.h"
#include "garden/client.h"
#include "garden/client_internal.h"

/* Builds /containers/H/files?KEY=VALUE&user=U with the query keys sorted,
 * as Go's url.Values.Encode() sends them. */
static char *files_path(const char *handle, const char *key, const char *value, const char *user)
{
  cf_autofree char *escaped_handle = cf_garden_escape(handle);
  cf_autofree char *escaped_value = cf_garden_escape(value);
  cf_autofree char *escaped_user = cf_garden_escape(user != NULL ? user : "");
  return cf_xasprintf("/containers/%s/files?%s=%s&user=%s", escaped_handle, key, escaped_value,
                      escaped_user);
}

/* Sends one chunk of a chunked body: its hex size, the bytes, CRLF. */
static int send_chunk(cf_garden_conn *conn, const char *data, size_t len, cf_err **err)
{
  char size_line[32];
  int n = snprintf(size_line, sizeof(size_line), "%zx\r\n", len);
  if (cf_client_send(conn, size_line, (size_t)n, err) < 0 ||
      cf_client_send(conn, data, len, err) < 0 || cf_client_send(conn, "\r\n", 2, err) < 0) {
    return -1;
  }
  return 0;
}

/* Copies the source into the request as chunks, then the last chunk. */
static int send_chunked_body(cf_garden_conn *conn, cf_garden_source source, void *ctx, cf_err **err)
{
  char data[65536];
  for (;;) {
    size_t n = 0;
    if (source(ctx, data, sizeof(data), &n, err) < 0) {
      return -1;
    }
    if (n == 0) {
      return cf_client_send(conn, "0\r\n\r\n", 5, err);
    }
    if (send_chunk(conn, data, n, err) < 0) {
      return -1;
    }
  }
}

/* Sends the request head and the chunked body. On a failure the sending
 * direction is shut down, so the server reads an early end of the body. */
static int send_stream_in(cf_garden_conn *conn, const char *head, cf_garden_source source,
                          void *ctx, cf_err **err)
{
  if (cf_client_send(conn, head, strlen(head), err) < 0 ||
      send_chunked_body(conn, source, ctx, err) < 0) {
    cf_client_shutdown_send(conn);
    return -1;
  }
  return 0;
}

int cf_garden_client_stream_in(const cf_garden_client *client, const char *handle,
                               const char *destination, const char *user, cf_garden_source source,
                               void *source_ctx, cf_err **err)
{
  cf_autofree char *path = files_path(handle, "destination", destination, user);
  cf_autofree char *head = cf_xasprintf("PUT %s HTTP/1.1\r\nHost: api\r\nUser-Agent: cfwin\r\n"
                                        "Connection: close\r\nContent-Type: application/x-tar\r\n"
                                        "Transfer-Encoding: chunked\r\n\r\n",
                                        path);
  cf_autoconn cf_garden_conn conn = CF_GARDEN_CONN_CLOSED;
  if (cf_client_open(client, &conn, err) < 0) {
    return cf_err_wrap(err, "stream into %s:%s", handle, destination);
  }
  cf_err *send_err = NULL;
  int sent = send_stream_in(&conn, head, source, source_ctx, &send_err);
  /* The server may reply before it read the whole body (an unknown handle,
   * a bad tar), so its response is read even after a failed send. */
  cf_garden_response response;
  cf_garden_response_init(&response);
  int rc = cf_client_read_response(client, &conn, &response, false, NULL, NULL, NULL, err);
  if (rc == 0 && (response.status < 200 || response.status > 299)) {
    rc = cf_client_envelope_error(&response, err);
  }
  if (sent < 0 && rc < 0) {
    cf_err_wrap(err, "%s", send_err->message);
  } else if (sent < 0) {
    *err = cf_steal(&send_err);
    rc = -1;
  }
  cf_err_free(send_err);
  cf_garden_response_clear(&response);
  if (rc < 0) {
    return cf_err_wrap(err, "stream into %s:%s", handle, destination);
  }
  return 0;
}

int cf_garden_client_stream_out(const cf_garden_client *client, const char *handle,
                                const char *path, const char *user, cf_garden_sink sink,
                                void *sink_ctx, cf_err **err)
{
  cf_autofree char *url = files_path(handle, "source", path, user);
  cf_autofree char *request = cf_client_format_request("GET", url, NULL, true);
  cf_autoconn cf_garden_conn conn = CF_GARDEN_CONN_CLOSED;
  cf_garden_response response;
  cf_garden_response_init(&response);
  int rc = cf_client_open(client, &conn, err);
  if (rc == 0) {
    rc = cf_client_send(&conn, request, strlen(request), err);
  }
  if (rc == 0) {
    rc = cf_client_read_response(client, &conn, &response, false, NULL, sink, sink_ctx, err);
  }
  if (rc == 0 && (response.status < 200 || response.status > 299)) {
    rc = cf_client_envelope_error(&response, err);
  }
  cf_garden_response_clear(&response);
  if (rc < 0) {
    return cf_err_wrap(err, "stream out of %s:%s", handle, path);
  }
  return 0;
}
