/* SPDX-License-Identifier: Apache-2.0 */
/* Shared parts of the runtime role's front end (runtime*.c). */
#ifndef CFWIN_CLI_RUNTIME_CLI_H
#define CFWIN_CLI_RUNTIME_CLI_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "runtime/runtime.h"
#include "store/store.h"

/* Flag kinds of urfave/cli that winc and runc use. */
enum rt_flag_type {
  RT_FLAG_STRING,  /* const char ** */
  RT_FLAG_BOOL,    /* bool * */
  RT_FLAG_STRINGS, /* rt_strings *: repeatable */
};

typedef struct rt_strings {
  const char **values;
  size_t count;
} rt_strings;

typedef struct rt_flag {
  const char *names; /* "bundle,b": long name first */
  enum rt_flag_type type;
  void *target;
  const char *usage;
} rt_flag;

/* How many positional arguments a command takes (runc's checkArgs). */
enum rt_args_rule {
  RT_ARGS_EXACT,
  RT_ARGS_MIN,
  RT_ARGS_RANGE, /* from count to count + 1 */
};

typedef struct rt_context rt_context;

typedef struct rt_command {
  const char *name;
  const char *usage;     /* one line for the command list */
  const char *arguments; /* e.g. "<container-id>" */
  rt_flag *flags;
  size_t flag_count;
  bool reorder; /* flags may follow the positional arguments */
  enum rt_args_rule rule;
  int arg_count;
  int (*run)(rt_context *ctx, int argc, char **argv);
} rt_command;

/* What every command gets: the global options and the open store. */
struct rt_context {
  const char *program; /* argv[0], for usage messages */
  const char *root;
  cf_store *store;
  const rt_command *command;
};

/* Logs at debug level with containerId and an optional second field. */
void rt_log_debug(const char *msg, const char *id, const char *key, const char *value);
/* Logs at error level. */
void rt_log_error(const char *msg);

/* Logs err at error level, prints it on stderr, frees it and returns 1. */
int rt_fail(cf_err *err);

/* The command table of runtime_commands.c. */
extern const rt_command rt_commands[];
extern const size_t rt_command_count;

/* Opens the store under the root when a command first needs it. */
int rt_open_store(rt_context *ctx, cf_err **err);

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
