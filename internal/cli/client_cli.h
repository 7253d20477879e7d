/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `cfwin client`, a Garden command-line client: the entry point, the human
 * output of client_format.c and the terminal functions that each platform
 * provides (internal/cli/linux/client_term.c).
 */
#ifndef CFWIN_CLI_CLIENT_CLI_H
#define CFWIN_CLI_CLIENT_CLI_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "base/err.h"
#include "cli/flags.h"
#include "garden/client.h"
#include "garden/tls.h"

/* Runs `cfwin client` on argv[start..]. Returns the exit status: 0, 1 for
 * a usage or server error, or the process's exit status for run and
 * attach. */
int cf_cli_client(int argc, char **argv, int start);

/* --- Shared by the command files (client_cmd.c, client_run.c) --- */

/* The state of one `cfwin client` invocation. */
typedef struct cf_client_ctx {
  cf_garden_client client;
  const char *target; /* as given, for messages */
  const char *command;
  bool json;                   /* print the server's JSON instead of text */
  cf_tls_paths tls;            /* --tls-cert, --tls-key, --tls-ca */
  const char *tls_server_name; /* --tls-server-name */
} cf_client_ctx;

/* Parsed command arguments: options went to the flags, the rest is here. */
typedef struct cf_client_args {
  char **positionals; /* borrowed from argv */
  size_t count;
  char **rest; /* the arguments after "--", or NULL when there was none */
  int rest_count;
} cf_client_args;

/* Parses argv[0..argc) of a command: options (with the global --json and
 * -t/--target) may come before, between and after positionals, and "--"
 * ends them. Sets *help for -h or --help. Frees nothing; the caller frees
 * args->positionals. */
int cf_client_parse_args(cf_client_ctx *ctx, cf_flag *flags, int count, int argc, char **argv,
                         cf_client_args *args, bool *help, cf_err **err);

/* Prints "cfwin client COMMAND: MESSAGE" and a hint for the error's kind,
 * and frees the error. Returns 1, the exit status of a failed command. */
int cf_client_fail(const cf_client_ctx *ctx, cf_err *err);

/* Prints value (borrowed) as the server's JSON on stdout. */
void cf_client_print_json(const json_t *value);

/* Prints the help of the command called name; returns 0. */
int cf_client_cmd_help_of(const char *name);

/* The process commands (client_run.c). */
int cf_client_cmd_run(cf_client_ctx *ctx, int argc, char **argv);
int cf_client_cmd_attach(cf_client_ctx *ctx, int argc, char **argv);

/* --- Human output (client_format.c); every json_t is borrowed --- */

/* Formats a byte count as "512 MiB (536870912 bytes)" into out. */
void cf_client_format_bytes(unsigned long long bytes, char *out, size_t size);
void cf_client_print_capacity(FILE *out, const json_t *capacity);
/* One line per container: handle, state, container IP, process count.
 * bulk_info may be NULL (then only handles are printed) or lack handles. */
void cf_client_print_list(FILE *out, const json_t *handles, const json_t *bulk_info);
void cf_client_print_info(FILE *out, const char *handle, const json_t *info);
void cf_client_print_metrics(FILE *out, const char *handle, const json_t *metrics);
/* limits maps "memory", "cpu", "disk" and "bandwidth" to the server's
 * objects; absent kinds are skipped. */
void cf_client_print_limits(FILE *out, const char *handle, const json_t *limits);
/* Prints "key  value" lines sorted by key. */
void cf_client_print_properties(FILE *out, const json_t *properties);

/* --- Terminal and signals (one file per platform) --- */

/* Events the watcher reports from the local terminal and signals. */
typedef struct cf_client_term_events {
  void (*resized)(void *ctx);     /* the terminal's window size changed */
  void (*interrupted)(void *ctx); /* SIGINT, SIGTERM or SIGHUP arrived */
  void *ctx;
} cf_client_term_events;

/* True when stdin is a terminal. */
bool cf_client_term_stdin_is_tty(void);
/* Reads the window size of the terminal on stdin or stdout; returns false
 * when neither is a terminal or the size is unknown. */
bool cf_client_term_size(unsigned *columns, unsigned *rows);
/* Puts stdin in raw mode when it is a terminal, so every key reaches the
 * remote terminal, which does its own echo and line editing. */
void cf_client_term_enter_raw(void);
/* Restores the mode cf_client_term_enter_raw() changed. */
void cf_client_term_leave_raw(void);
/* Starts a thread that calls the events' functions on that thread. Call it
 * before any other thread starts, because it blocks those signals in the
 * calling thread and in the threads started later. The thread runs until
 * the program exits. */
int cf_client_term_watch(const cf_client_term_events *events);

#endif
