/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the keeper's two sides on Linux. */
#ifndef CFWIN_KEEPER_LINUX_KEEPER_LINUX_H
#define CFWIN_KEEPER_LINUX_KEEPER_LINUX_H

#include "base/buf.h"
#include "keeper/protocol.h"

/* Reads from the blocking descriptor fd into in until in starts with a
 * whole frame, waiting at most timeout_ms in total (-1: no limit). The
 * frame points into in; the caller consumes *consumed bytes when done.
 * CF_E_SYSTEM when the peer closed the socket first, for example a keeper
 * that crashed. */
int cf_keeper_read_frame(int fd, cf_buf *in, int timeout_ms, cf_keeper_frame *frame,
                         size_t *consumed, cf_err **err);

/* Fills addr for the socket path; *dir_fd (else -1) is a directory
 * descriptor the caller closes after bind() or connect(), used when the
 * path is longer than sun_path holds. */
int cf_keeper_socket_addr(const char *path, struct sockaddr_un *addr, int *dir_fd, cf_err **err);

#endif
