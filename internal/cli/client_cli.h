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

/* --- Shared by the command files (client_*.c) --- */

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

/* Parses argv[0..argc) of a command: options (with the global --json,
 * -t/--target and --tls-* options) may come before, between and after
 * positionals, and "--" ends them. Sets *help for -h or --help. The caller
 * frees args->positionals, also after a failure. */
int cf_client_parse_args(cf_client_ctx *ctx, cf_flag *flags, int count, int argc, char **argv,
                         cf_client_args *args, bool *help, cf_err **err);

/* Parses a command's arguments as cf_client_parse_args() does, adds the
 * arguments after "--" to the positionals and checks that min to max
 * positionals were given. Returns 1 when it printed the
 * command's help, 0 to go on, -1 with *err. */
int cf_client_parse_command(cf_client_ctx *ctx, cf_flag *flags, int count, int argc, char **argv,
                            size_t min, size_t max, cf_client_args *args, cf_err **err);

/* Sets a global option (json, t, target, tls-*) from name and value, or
 * from argv[i + 1] when value is NULL (then *used_next is 1). Returns 1
 * when name is a global option, 0 when it is not, -1 with *err. */
int cf_client_global_option(cf_client_ctx *ctx, const char *name, size_t len, const char *value,
                            int *used_next, int argc, char **argv, int i, cf_err **err);

/* Reads the global options before the command; *next is the command's
 * index in argv. */
int cf_client_parse_globals(cf_client_ctx *ctx, int argc, char **argv, int start, int *next,
                            bool *help, cf_err **err);

/* Reads the global options (-t, --json, --tls-*) among a command's
 * arguments, up to a "--", before the connection is set up; the command's
 * own parser accepts them again. */
int cf_client_scan_globals(cf_client_ctx *ctx, int argc, char **argv, cf_err **err);

/* Value parsers; their errors name the option and the accepted form. */
int cf_client_parse_uint(const char *option, const char *text, unsigned long long max,
                         unsigned long long *out, cf_err **err);
/* A byte count with an optional K, M, G or T suffix (powers of 1024). */
int cf_client_parse_size(const char *option, const char *text, unsigned long long *out,
                         cf_err **err);
/* Splits "KEY=VALUE"; *key is new, *value points into text. */
int cf_client_split_pair(const char *option, const char *text, char **key, const char **value,
                         cf_err **err);

/* Prints "cfwin client COMMAND: MESSAGE" and a hint for the error's kind,
 * and frees the error. Returns 1, the exit status of a failed command. */
int cf_client_fail(const cf_client_ctx *ctx, cf_err *err);

/* Prints value (borrowed) as the server's JSON on stdout. */
void cf_client_print_json(const json_t *value);

/* Calls method on /containers/HANDLE/SUFFIX (SUFFIX may be "") with the
 * handle escaped, as cf_garden_client_call() does. */
int cf_client_container_call(const cf_client_ctx *ctx, const char *method, const char *handle,
                             const char *suffix, const json_t *body, json_t **result, cf_err **err);

/* Prints the help of the command called name; returns 0. */
int cf_client_cmd_help_of(const char *name);
/* The usage line of the command called name, after "cfwin client ". */
const char *cf_client_usage(const char *name);

/* The commands: each takes the arguments after its name and returns the
 * exit status. */
int cf_client_cmd_create(cf_client_ctx *ctx, int argc, char **argv);
int cf_client_cmd_list(cf_client_ctx *ctx, int argc, char **argv);
int cf_client_cmd_info(cf_client_ctx *ctx, int argc, char **argv);
int cf_client_cmd_destroy(cf_client_ctx *ctx, int argc, char **argv);
int cf_client_cmd_stop(cf_client_ctx *ctx, int argc, char **argv);
int cf_client_cmd_metrics(cf_client_ctx *ctx, int argc, char **argv);
int cf_client_cmd_bulk_info(cf_client_ctx *ctx, int argc, char **argv);
int cf_client_cmd_bulk_metrics(cf_client_ctx *ctx, int argc, char **argv);
int cf_client_cmd_properties(cf_client_ctx *ctx, int argc, char **argv);
int cf_client_cmd_limits(cf_client_ctx *ctx, int argc, char **argv);
int cf_client_cmd_grace_time(cf_client_ctx *ctx, int argc, char **argv);
int cf_client_cmd_stream_in(cf_client_ctx *ctx, int argc, char **argv);
int cf_client_cmd_stream_out(cf_client_ctx *ctx, int argc, char **argv);
int cf_client_cmd_net_in(cf_client_ctx *ctx, int argc, char **argv);
int cf_client_cmd_net_out(cf_client_ctx *ctx, int argc, char **argv);
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
  void (*interrupted)(void *ctx); /* SIGINT, SIGTERM or SIGHUP arrived, unless ignored */
  void *ctx;
} cf_client_term_events;

/* Makes stdin, stdout and stderr pass every byte unchanged. The Windows C
 * runtime opens them in text mode, which rewrites line ends and stops
 * reading at Ctrl-Z; Linux has nothing to change. */
void cf_client_term_binary_stdio(void);
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
