/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Process keepers: one small process per Garden process that owns the
 * process's stdio and exit status, so the process outlives the server.
 *
 * The server starts a keeper with cf_keeper_spawn(). The keeper starts the
 * process as its own child and listens on a unix socket, where it speaks
 * the frame protocol of keeper/protocol.h with one server connection at a
 * time. A new connection replaces the old one. While no server is connected it
 * keeps output (bounded) and, once the process has exited, its exit status
 * until a server sends RELEASE or the container's init is gone.
 */
#ifndef CFWIN_KEEPER_KEEPER_H
#define CFWIN_KEEPER_KEEPER_H

#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"
#include "keeper/protocol.h"

/* Starts a keeper for request, detached from the caller (its own session,
 * not the caller's child), and waits for it to start the process. A spawn
 * error comes back with the code and message cf_runtime_exec() gave it.
 * The keeper listens on request->socket_path when this returns. Safe to
 * call from a worker thread. */
int cf_keeper_spawn(const cf_keeper_request *request, cf_keeper_started *out, cf_err **err);

/* Connects to the keeper socket at path and sets *fd, which is blocking
 * and close-on-exec. A path longer than sun_path is reached through its
 * directory. */
int cf_keeper_connect(const char *path, int *fd, cf_err **err);

/* True while the keeper with this pid and start time is alive. */
bool cf_keeper_alive(pid_t pid, uint64_t start_time);

/* Waits up to timeout_ms for the keeper to exit, then kills it. Success
 * when it is gone. */
int cf_keeper_end(pid_t pid, uint64_t start_time, int timeout_ms, cf_err **err);

/* The `cfwin keeper` role: runs a keeper whose handshake socket is
 * descriptor 3. Returns the exit status. */
int cf_keeper_main(int argc, char **argv);

#endif
