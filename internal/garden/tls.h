/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TLS for the Garden API over TCP, with mbedTLS (2.28 or 3.x).
 *
 * The server side is a session over memory buffers: the event loop feeds
 * it the bytes it reads and sends what the session hands to its send
 * callback. With a CA file, every client must present a certificate that
 * the CA signed. The client side runs a blocking session over I/O
 * callbacks, so each platform's socket code can carry it.
 */
#ifndef CFWIN_GARDEN_TLS_H
#define CFWIN_GARDEN_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"

/* PEM files; strings borrowed. */
typedef struct cf_tls_paths {
  const char *cert_path; /* certificate chain, leaf first; NULL: no TLS (server) */
  const char *key_path;  /* private key of the leaf certificate */
  const char *ca_path;   /* CA certificates to verify the peer with */
} cf_tls_paths;

/* Loaded certificates, keys and settings for many sessions. */
typedef struct cf_tls_config cf_tls_config;

/* Loads the server's certificate and key, and the CA that client
 * certificates must chain to when paths->ca_path is set. TLS 1.2 is the
 * lowest version accepted. Errors name the file and mbedTLS's reason. */
int cf_tls_server_config_new(const cf_tls_paths *paths, cf_tls_config **out, cf_err **err);

/* Loads the CA that the server's certificate must chain to (required) and,
 * when paths->cert_path is set, the client certificate and key to present. */
int cf_tls_client_config_new(const cf_tls_paths *paths, cf_tls_config **out, cf_err **err);

void cf_tls_config_free(cf_tls_config *config);

/* --- Server sessions over memory buffers --- */

typedef struct cf_tls_session cf_tls_session;

/* Receives ciphertext to send to the peer, all of it. */
typedef void (*cf_tls_send_fn)(void *ctx, const void *data, size_t len);

/* Starts a server session; config must outlive it. */
cf_tls_session *cf_tls_session_new(const cf_tls_config *config, cf_tls_send_fn send, void *ctx);
void cf_tls_session_free(cf_tls_session *session);

/* Takes len bytes of ciphertext from the peer, advances the handshake and
 * appends the plaintext they complete to *plain. Returns 1 once the peer
 * has sent its close alert, 0 otherwise, -1 on a failed handshake (such as
 * a client certificate the CA did not sign), a corrupt record or a full
 * *plain. */
int cf_tls_session_feed(cf_tls_session *session, const void *data, size_t len, cf_buf *plain,
                        cf_err **err);

/* Encrypts len bytes of plaintext and hands the records to the send
 * callback. Fails before the handshake has finished. */
int cf_tls_session_write(cf_tls_session *session, const void *data, size_t len, cf_err **err);

/* True once the handshake has finished. */
bool cf_tls_session_ready(const cf_tls_session *session);

/* --- Blocking client sessions --- */

/* The client's transport: send all bytes; receive up to size bytes, *n 0
 * at end of file. Both return 0 or -1 with *err. */
typedef struct cf_tls_io {
  int (*send)(void *ctx, const void *data, size_t len, cf_err **err);
  int (*recv)(void *ctx, void *data, size_t size, size_t *n, cf_err **err);
  void *ctx;
} cf_tls_io;

typedef struct cf_tls_client cf_tls_client;

/* Runs the handshake over io and verifies that the server's certificate
 * chains to the CA and names server_name (a DNS name or the CN the
 * certificate carries). config and io->ctx must outlive the session. */
int cf_tls_client_connect(const cf_tls_config *config, const cf_tls_io *io, const char *server_name,
                          cf_tls_client **out, cf_err **err);

/* Reads up to size bytes of plaintext; *n is 0 once the server has closed
 * the connection. */
int cf_tls_client_read(cf_tls_client *client, void *data, size_t size, size_t *n, cf_err **err);

/* Plaintext already decrypted and not yet read: a caller that waits for
 * its socket to become readable must read these first. */
size_t cf_tls_client_pending(const cf_tls_client *client);

int cf_tls_client_write(cf_tls_client *client, const void *data, size_t len, cf_err **err);

/* Sends the close alert (errors are ignored) and frees the session; the
 * caller closes its socket. */
void cf_tls_client_close(cf_tls_client *client);

#endif
