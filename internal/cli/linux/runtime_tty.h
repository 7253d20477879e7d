/* SPDX-License-Identifier: Apache-2.0 */
/* Signal forwarding and terminal relay of the Linux runtime role's
 * attached processes (linux/runtime_commands.c, linux/runtime_tty.c). */
#ifndef CFWIN_CLI_LINUX_RUNTIME_TTY_H
#define CFWIN_CLI_LINUX_RUNTIME_TTY_H

#include <signal.h>
#include <stdint.h>

#include "base/err.h"
#include "runtime/runtime.h"

/* The signals an attached runtime forwards to its process (runtime_commands.c). */
void rt_forwarded_signals(sigset_t *set);

/* The window size of the CLI's terminal (stdin, else stdout); 0 and 0 when
 * it has none. */
void rt_tty_size(uint16_t *rows, uint16_t *columns);

/* Relays between the CLI's stdin and stdout and the terminal of an attached
 * process (stdin_fd and stdout_fd are its master) until the process exits,
 * with the CLI's terminal in raw mode meanwhile. SIGWINCH resizes the
 * process's terminal to the CLI's; other forwarded signals are sent to the
 * process. Returns its exit status (128+signal when killed), or -1 with
 * *err. */
int rt_tty_relay(cf_process *process, cf_err **err);

/* Sends the terminal master of a process over the unix socket at path,
 * as runc's --console-socket does. */
int rt_tty_send_console(const char *path, const cf_process *process, cf_err **err);

#endif
