/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the Garden client's files: HTTP framing and errors. */
#ifndef CFWIN_GARDEN_CLIENT_INTERNAL_H
#define CFWIN_GARDEN_CLIENT_INTERNAL_H

#include <stdbool.h>

#include "garden/client.h"
#include "garden/client_io.h"

/* The maximum size of a buffered response body or process output. */
#define CF_CLIENT_MAX_RESPONSE (64 * 1024 * 1024)

/* The client's read timeout in milliseconds, -1 for no limit. */
int cf_client_timeout_ms(const cf_garden_client *client);

/* Opens a connection to the client's server and, when the client has TLS
 * settings, runs the handshake. */
int cf_client_open(const cf_garden_client *client, cf_garden_conn *conn, cf_err **err);

/* Sends all len bytes. */
int cf_client_send(cf_garden_conn *conn, const void *data, size_t len, cf_err **err);

/* Waits until one of the connections (NULL or closed ones are skipped) has
 * bytes to read or is at end of file, and sets ready[i] for those. */
int cf_client_wait(const cf_garden_client *client, cf_garden_conn *const *conns, bool *ready,
                   size_t count, cf_err **err);

/* Reads once from a connection that cf_client_wait() reported; *n is 0 at
 * end of file. */
int cf_client_recv(cf_garden_conn *conn, char *data, size_t size, size_t *n, cf_err **err);

/* Waits for conn within the client's timeout, then reads once. */
int cf_client_read(const cf_garden_client *client, cf_garden_conn *conn, char *data, size_t size,
                   size_t *n, cf_err **err);

/* Shuts down the sending direction, so the server reads end of file. */
void cf_client_shutdown_send(cf_garden_conn *conn);

/* Ends the TLS session, if any, and closes the socket; safe to repeat. */
void cf_client_close(cf_garden_conn *conn);

#define cf_autoconn __attribute__((cleanup(cf_client_close)))
#define CF_GARDEN_CONN_CLOSED ((cf_garden_conn){.sock = CF_SOCK_INVALID})

/* Formats a request line and headers with Host: api. body may be NULL; with
 * a body the request gets Content-Type: application/json and its length. */
char *cf_client_format_request(const char *method, const char *path, const char *body,
                               bool close_connection);

/* Reads a response on conn. With hijack, reading stops after the headers
 * and the bytes that follow them go to *rest (when rest is not NULL);
 * without it, the whole body is read into response->body. With sink, body
 * bytes of a 2xx response go to sink instead of response->body. */
int cf_client_read_response(const cf_garden_client *client, cf_garden_conn *conn,
                            cf_garden_response *response, bool hijack, cf_buf *rest,
                            cf_garden_sink sink, void *sink_ctx, cf_err **err);

/* Turns a non-2xx response into an error from its Garden error envelope
 * (see cf_garden_client_call()). Returns -1. */
int cf_client_envelope_error(const cf_garden_response *response, cf_err **err);

#endif
