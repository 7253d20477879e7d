/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Pseudo-terminals of processes started by cf_runtime_exec(). The exec
 * helper allocates the pair in the container's own devpts instance after
 * it has joined the container, then sends the master to the caller over a
 * unix socket (SCM_RIGHTS). The child-side functions only make system
 * calls, so they are safe between clone() and execve().
 */
#ifndef CFWIN_RUNTIME_LINUX_PTY_H
#define CFWIN_RUNTIME_LINUX_PTY_H

#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"

/* Opens a new pair in the devpts file system mounted on dev/pts below
 * root_fd: the directory is found with openat2(RESOLVE_IN_ROOT) and must be
 * a devpts mount, and its ptmx is opened without crossing a mount or
 * following a symlink, so nothing the container controls redirects the
 * open. Unlocks the slave, opens it with TIOCGPTPEER (no path lookup), sets
 * the window size when rows and columns are not 0 and gives the slave to
 * uid. Both descriptors are close-on-exec. On failure returns -1 with errno
 * set and *step naming what failed. */
int cf_pty_open_in_root(int root_fd, uint16_t rows, uint16_t columns, uid_t uid, int *master,
                        int *slave, const char **step);

/* Sends fd over the unix socket sock, with the text name (may be "") as
 * the message's data. Returns -1 with errno on failure. Child-safe. */
int cf_pty_send_fd(int sock, int fd, const char *name);

/* Receives one descriptor from sock without blocking; it is close-on-exec.
 * Fails with CF_E_SYSTEM when no descriptor is queued. */
int cf_pty_recv_fd(int sock, int *fd, cf_err **err);

/* Sets the window size of the terminal whose master or slave is fd. */
int cf_pty_set_size(int fd, uint16_t rows, uint16_t columns, cf_err **err);

#endif
