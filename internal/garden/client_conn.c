/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Connections of the Garden client: plain sockets through client_io.h, or
 * a TLS session from garden/tls.h on top of them.
 */
#include <stdlib.h>

#include "garden/client.h"
#include "garden/client_internal.h"
#include "garden/tls.h"

int cf_client_timeout_ms(const cf_garden_client *client)
{
  if (client->timeout_ms == 0) {
    return 120000;
  }
  return client->timeout_ms < 0 ? -1 : client->timeout_ms;
}

static int tls_send(void *ctx, const void *data, size_t len, cf_err **err)
{
  cf_garden_conn *conn = ctx;
  return cf_client_io_send(conn->sock, data, len, err);
}

/* Blocks until the socket has bytes, as the TLS session expects. */
static int tls_recv(void *ctx, void *data, size_t size, size_t *n, cf_err **err)
{
  cf_garden_conn *conn = ctx;
  bool ready = false;
  if (cf_client_io_wait(&conn->sock, &ready, 1, conn->timeout_ms, err) < 0) {
    return -1;
  }
  return cf_client_io_recv(conn->sock, data, size, n, err);
}

static int open_socket(const cf_garden_client *client, cf_sock *sock, cf_err **err)
{
  if (client->socket_path != NULL) {
    return cf_client_io_connect_unix(client->socket_path, sock, err);
  }
  return cf_client_io_connect_tcp(client->host, client->port, sock, err);
}

int cf_client_open(const cf_garden_client *client, cf_garden_conn *conn, cf_err **err)
{
  *conn = CF_GARDEN_CONN_CLOSED;
  conn->timeout_ms = cf_client_timeout_ms(client);
  if (open_socket(client, &conn->sock, err) < 0) {
    return -1;
  }
  if (client->tls == NULL) {
    return 0;
  }
  /* The session keeps a pointer to io's context, the conn itself, so a
   * conn must stay where it is while it is open. */
  cf_tls_io io = {.send = tls_send, .recv = tls_recv, .ctx = conn};
  const char *name = client->tls_server_name != NULL ? client->tls_server_name : client->host;
  if (cf_tls_client_connect(client->tls, &io, name != NULL ? name : "localhost", &conn->tls, err) <
      0) {
    cf_client_io_close(&conn->sock);
    return -1; /* the message names the handshake and the server already */
  }
  return 0;
}

int cf_garden_client_connect(const cf_garden_client *client, int *fd, cf_err **err)
{
  cf_sock sock = CF_SOCK_INVALID;
  if (open_socket(client, &sock, err) < 0) {
    return -1;
  }
  *fd = (int)sock;
  return 0;
}

int cf_client_send(cf_garden_conn *conn, const void *data, size_t len, cf_err **err)
{
  if (conn->tls != NULL) {
    return cf_tls_client_write(conn->tls, data, len, err);
  }
  return cf_client_io_send(conn->sock, data, len, err);
}

int cf_client_wait(const cf_garden_client *client, cf_garden_conn *const *conns, bool *ready,
                   size_t count, cf_err **err)
{
  cf_sock socks[8];
  if (count > sizeof(socks) / sizeof(socks[0])) {
    return cf_err_set(err, CF_E_INVALID, "cannot wait for %zu connections, at most 8", count);
  }
  /* Plaintext the TLS session already decrypted does not show on the
   * socket, so such a connection is ready without waiting. */
  bool buffered = false;
  for (size_t i = 0; i < count; i++) {
    bool open = conns[i] != NULL && conns[i]->sock != CF_SOCK_INVALID;
    socks[i] = open ? conns[i]->sock : CF_SOCK_INVALID;
    ready[i] = open && conns[i]->tls != NULL && cf_tls_client_pending(conns[i]->tls) > 0;
    buffered = buffered || ready[i];
  }
  if (buffered) {
    return 0;
  }
  return cf_client_io_wait(socks, ready, count, cf_client_timeout_ms(client), err);
}

int cf_client_recv(cf_garden_conn *conn, char *data, size_t size, size_t *n, cf_err **err)
{
  if (conn->tls != NULL) {
    return cf_tls_client_read(conn->tls, data, size, n, err);
  }
  return cf_client_io_recv(conn->sock, data, size, n, err);
}

int cf_client_read(const cf_garden_client *client, cf_garden_conn *conn, char *data, size_t size,
                   size_t *n, cf_err **err)
{
  bool ready = false;
  cf_garden_conn *conns[1] = {conn};
  if (cf_client_wait(client, conns, &ready, 1, err) < 0) {
    return -1;
  }
  return cf_client_recv(conn, data, size, n, err);
}

void cf_client_shutdown_send(cf_garden_conn *conn)
{
  if (conn->sock != CF_SOCK_INVALID) {
    cf_client_io_shutdown_send(conn->sock);
  }
}

void cf_client_close(cf_garden_conn *conn)
{
  if (conn->tls != NULL) {
    cf_tls_client_close(conn->tls);
    conn->tls = NULL;
  }
  cf_client_io_close(&conn->sock);
}
