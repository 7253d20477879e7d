/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Socket I/O of the Garden client, one implementation per platform:
 * internal/garden/linux/client_io.c with BSD sockets and poll(), and a
 * Windows file with Winsock. Everything above this interface (HTTP framing,
 * JSON, the process protocol) is shared.
 */
#ifndef CFWIN_GARDEN_CLIENT_IO_H
#define CFWIN_GARDEN_CLIENT_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* A connected stream socket: a file descriptor on Linux, a SOCKET on
 * Windows. CF_SOCK_INVALID marks a closed or absent one. */
typedef intptr_t cf_sock;
#define CF_SOCK_INVALID ((cf_sock)-1)

/* Connects to a unix stream socket at path. The socket is close-on-exec. */
int cf_client_io_connect_unix(const char *path, cf_sock *out, cf_err **err);

/* Connects over TCP to host, an IPv4 or IPv6 address literal (no name
 * lookup), and port. The socket is close-on-exec. */
int cf_client_io_connect_tcp(const char *host, int port, cf_sock *out, cf_err **err);

/* Sends all len bytes, retrying short writes. A peer that closed the
 * connection gives an error, never SIGPIPE. */
int cf_client_io_send(cf_sock sock, const void *data, size_t len, cf_err **err);

/* Waits until at least one of the count sockets is readable (or at end of
 * file) and sets ready[i] for those. Sockets equal to CF_SOCK_INVALID are
 * skipped. A negative timeout_ms waits without a limit; otherwise running
 * out of time is an error that names the timeout. */
int cf_client_io_wait(const cf_sock *socks, bool *ready, size_t count, int timeout_ms,
                      cf_err **err);

/* Receives up to size bytes without waiting longer than one read; *n is 0
 * at end of file. Call it after cf_client_io_wait() reported the socket. */
int cf_client_io_recv(cf_sock sock, void *data, size_t size, size_t *n, cf_err **err);

/* Shuts down the sending direction, so the server reads end of file. */
void cf_client_io_shutdown_send(cf_sock sock);

/* Closes *sock when it is valid and sets it to CF_SOCK_INVALID. */
void cf_client_io_close(cf_sock *sock);

#define cf_autosock __attribute__((cleanup(cf_client_io_close)))

#endif
