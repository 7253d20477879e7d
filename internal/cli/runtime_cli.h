/* SPDX-License-Identifier: Apache-2.0 */
/* Shared parts of the runtime role's front end (runtime*.c). */
#ifndef CFWIN_CLI_RUNTIME_CLI_H
#define CFWIN_CLI_RUNTIME_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
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

/* The command table: linux/runtime_commands.c on Linux, windows/runtime_commands.c
 * on Windows. */
extern const rt_command rt_commands[];
extern const size_t rt_command_count;
/* The backend the help text names, e.g. "Linux backend". */
extern const char rt_backend_name[];

/* Turns the --log-handle value (not 0) into a descriptor for the log:
 * a file descriptor on Linux, a Windows HANDLE (winc's form) converted
 * with _open_osfhandle on Windows. Fails naming the value when it is not
 * open. */
int rt_log_handle_fd(unsigned long long value, int *fd, cf_err **err);

/* Opens the store under the root when a command first needs it. */
int rt_open_store(rt_context *ctx, cf_err **err);

#endif
