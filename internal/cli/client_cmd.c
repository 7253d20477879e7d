/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `cfwin client`: a Garden command-line client in the manner of gaol. Each
 * command is one function (in client_*.c) that parses its options, makes
 * its requests through garden/client.h and prints either text
 * (client_format.c) or the server's JSON (--json). This file holds the
 * command table, the help and the errors.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/mem.h"
#include "cli/client_cli.h"
#include "garden/json.h"

/* The default target is where `cfwin serve` listens without options. */
#define DEFAULT_TARGET "127.0.0.1:7777"

typedef int (*command_fn)(cf_client_ctx *ctx, int argc, char **argv);

typedef struct command {
  const char *name;
  command_fn run;
  const char *usage;   /* after "cfwin client " */
  const char *summary; /* one line for the command list */
  const char *details; /* the options and notes of `help COMMAND` */
} command;

static const command *find_command(const char *name);
static void print_command_help(FILE *out, const command *cmd);

/* --- Output and errors --- */

void cf_client_print_json(const json_t *value)
{
  cf_autofree char *text = cf_json_encode(value);
  fputs(text, stdout);
}

static bool is_connect_error(const cf_err *err)
{
  switch (err->sys_errno) {
  case ECONNREFUSED:
  case ENOENT:
  case EACCES:
  case ENETUNREACH:
  case EHOSTUNREACH:
  case ETIMEDOUT:
  case ECONNRESET:
    return true;
  default:
    return false;
  }
}

/* True when the server ended the connection while the client still sent
 * or waited, which a TLS mismatch causes. */
static bool is_dropped_connection(const cf_err *err)
{
  /* mbedTLS reports a peer that closed during the handshake as an EOF. */
  return err->sys_errno == EPIPE || err->sys_errno == ECONNRESET ||
         strstr(err->message, "closed the connection") != NULL ||
         strstr(err->message, "indicated an EOF") != NULL;
}

/* Prints a hint for a TLS setting that likely caused a dropped connection;
 * returns whether it printed one. */
static bool print_tls_hint(const cf_client_ctx *ctx, const cf_err *err)
{
  if (!is_dropped_connection(err)) {
    return false;
  }
  if (ctx->tls.ca_path != NULL && ctx->tls.cert_path == NULL) {
    fprintf(stderr, "cfwin client: the server ended the TLS connection; if it verifies "
                    "clients, pass --tls-cert and --tls-key\n");
    return true;
  }
  if (ctx->tls.ca_path == NULL && strstr(err->message, "before a full response") != NULL) {
    fprintf(stderr,
            "cfwin client: if the server at %s listens with TLS, pass --tls-ca (and "
            "--tls-cert and --tls-key when it verifies clients)\n",
            ctx->target);
    return true;
  }
  return false;
}

/* Prints a hint about the server's address or the handle, where the error
 * points at one. */
static void print_target_hint(const cf_client_ctx *ctx, const cf_err *err)
{
  if (err->code == CF_E_SYSTEM && is_connect_error(err)) {
    fprintf(stderr,
            "cfwin client: is a Garden server listening at %s? Start one with `cfwin serve`, "
            "or give its address with -t HOST:PORT, -t unix:PATH or CFWIN_TARGET\n",
            ctx->target);
  } else if (err->code == CF_E_NOT_FOUND) {
    fprintf(stderr, "cfwin client: `cfwin client list` shows the containers of %s\n", ctx->target);
  }
}

int cf_client_fail(const cf_client_ctx *ctx, cf_err *err)
{
  fflush(stdout);
  fprintf(stderr, "cfwin client %s: %s\n", ctx->command, err->message);
  if (!print_tls_hint(ctx, err)) {
    print_target_hint(ctx, err);
  }
  cf_err_free(err);
  return 1;
}

/* Calls method on /containers/HANDLE/SUFFIX with the handle escaped. */
/* --- Simple commands --- */

static int cmd_ping(cf_client_ctx *ctx, int argc, char **argv)
{
  cf_client_args args;
  cf_err *err = NULL;
  int parsed = cf_client_parse_command(ctx, NULL, 0, argc, argv, 0, 0, &args, &err);
  free(args.positionals);
  if (parsed != 0) {
    return parsed > 0 ? 0 : cf_client_fail(ctx, err);
  }
  json_t *result = NULL;
  if (cf_garden_client_call(&ctx->client, "GET", "/ping", NULL, &result, &err) < 0) {
    return cf_client_fail(ctx, err);
  }
  if (ctx->json) {
    cf_client_print_json(result);
  } else {
    printf("ok: the Garden server at %s is up\n", ctx->target);
  }
  json_decref(result);
  return 0;
}

static int cmd_capacity(cf_client_ctx *ctx, int argc, char **argv)
{
  cf_client_args args;
  cf_err *err = NULL;
  int parsed = cf_client_parse_command(ctx, NULL, 0, argc, argv, 0, 0, &args, &err);
  free(args.positionals);
  if (parsed != 0) {
    return parsed > 0 ? 0 : cf_client_fail(ctx, err);
  }
  json_t *result = NULL;
  if (cf_garden_client_call(&ctx->client, "GET", "/capacity", NULL, &result, &err) < 0) {
    return cf_client_fail(ctx, err);
  }
  if (ctx->json) {
    cf_client_print_json(result);
  } else {
    cf_client_print_capacity(stdout, result);
  }
  json_decref(result);
  return 0;
}

/* --- Help and dispatch --- */

static int cmd_help(cf_client_ctx *ctx, int argc, char **argv);

static const command commands[] = {
    {"ping", cmd_ping, "ping", "check that the server responds", ""},
    {"capacity", cmd_capacity, "capacity", "show the server's memory, disk and container capacity",
     ""},
    {"create", cf_client_cmd_create, "create [options]", "create a container and print its handle",
     "  --handle NAME            the container's handle (default: the server makes one)\n"
     "  --image URI              image to use, e.g. docker:///busybox or oci:///path/to/layout\n"
     "  --rootfs URI             image to use, through the deprecated rootfs field\n"
     "  --image-username NAME    registry user name for --image\n"
     "  --image-password TEXT    registry password for --image\n"
     "  --grace-time DURATION    destroy the container after it is unused this long\n"
     "                           (Go syntax: 30s, 5m, 1h; default: the server's)\n"
     "  --env NAME=VALUE         environment variable of every process (repeatable)\n"
     "  --property NAME=VALUE    property to set (repeatable)\n"
     "  --privileged             create a privileged container\n"
     "  --memory SIZE            memory limit in bytes; K, M, G, T suffixes are powers of 1024\n"
     "  --disk SIZE              disk limit in bytes (byte_hard), same suffixes\n"
     "  --disk-scope SCOPE       what --disk counts: total (default) or exclusive\n"
     "  --cpu-weight N           relative CPU weight\n"
     "  --cpu-limit N            CPU limit in shares\n"
     "  --pids N                 maximum number of processes\n"
     "  --bandwidth-rate SIZE    network rate limit in bytes per second\n"
     "  --bandwidth-burst SIZE   network burst size in bytes\n"
     "  --bind-mount SRC:DST[:ro|:rw]\n"
     "                           bind-mount host path SRC at DST, read-only unless :rw\n"
     "                           (repeatable)\n"
     "  --net-in [HOST:]CONTAINER\n"
     "                           map a host port (0 or absent: the server picks) to a\n"
     "                           container port (repeatable)\n"
     "  --network CIDR           the container's subnet, e.g. 10.254.1.0/24\n"},
    {"list", cf_client_cmd_list, "list [--property NAME=VALUE]... [--quiet]",
     "list containers: handle, state, IP and process count",
     "  --property NAME=VALUE    show only containers with this property (repeatable; all\n"
     "                           must match)\n"
     "  -q, --quiet              print only the handles, one per line\n"},
    {"info", cf_client_cmd_info, "info HANDLE...",
     "show the state, addresses, ports and properties", ""},
    {"destroy", cf_client_cmd_destroy, "destroy HANDLE...",
     "destroy containers and print their handles", ""},
    {"stop", cf_client_cmd_stop, "stop HANDLE... [--kill]",
     "stop every process of containers: SIGTERM, then SIGKILL after 10 s",
     "  --kill                   send SIGKILL at once\n"},
    {"run", cf_client_cmd_run, "run HANDLE [options] -- PATH [ARG...]",
     "run a process, pass stdin, stdout and stderr through and exit with its status",
     "  --tty                    give the process a terminal; with stdin a terminal it is\n"
     "                           put in raw mode and window size changes are sent\n"
     "  --user USER              user to run as: name, uid:gid or name:group\n"
     "                           (default: the server's, root)\n"
     "  --dir DIR                working directory (default: the user's home)\n"
     "  --env NAME=VALUE         environment variable (repeatable)\n"
     "  --id ID                  process id to use (default: the server makes one)\n"
     "  --image URI              run in its own root file system from this image\n"
     "  --detach                 print the process id and exit without waiting; attach\n"
     "                           later with `cfwin client attach`\n"
     "\n"
     "The first SIGINT, SIGTERM or SIGHUP is sent to the process as SIGTERM, the second\n"
     "as SIGKILL, and a third ends cfwin client with status 130 while the process runs\n"
     "on. Stdin travels as JSON text, so invalid UTF-8 bytes arrive as U+FFFD.\n"},
    {"attach", cf_client_cmd_attach, "attach HANDLE PROCESS_ID",
     "stream the output of a running process and exit with its status",
     "Signals are forwarded as for run. Output from before the attach is not repeated.\n"},
    {"stream-in", cf_client_cmd_stream_in, "stream-in HANDLE --to DIR [--user USER]",
     "extract a tar stream from stdin into DIR in the container",
     "  --to DIR                 directory to extract into (created if missing)\n"
     "  --user USER              user that extracts and owns the files (default: root)\n"},
    {"stream-out", cf_client_cmd_stream_out, "stream-out HANDLE --from PATH [--user USER]",
     "write a tar stream of PATH in the container to stdout",
     "  --from PATH              file or directory to archive; with a trailing / the\n"
     "                           archive holds the directory's contents\n"
     "  --user USER              user that reads the files (default: root)\n"},
    {"net-in", cf_client_cmd_net_in, "net-in HANDLE [--host-port N] [--container-port N]",
     "map a host port to a container port and print both",
     "  --host-port N            host port (default 0: the server picks one)\n"
     "  --container-port N       container port (default 0: the same as the host port)\n"},
    {"net-out", cf_client_cmd_net_out, "net-out HANDLE [options]",
     "allow outbound traffic from the container",
     "  --protocol NAME          all (default), tcp, udp, icmp or icmpv6\n"
     "  --network IP[-IP]        destination address range (repeatable)\n"
     "  --port N[-N]             destination port range (repeatable)\n"
     "  --icmp-type N            ICMP type, for --protocol icmp\n"
     "  --icmp-code N            ICMP code, with --icmp-type\n"
     "  --log                    log the connections this rule allows\n"},
    {"properties", cf_client_cmd_properties,
     "properties HANDLE [get KEY | set KEY VALUE | remove KEY]",
     "list, get, set or remove container properties", ""},
    {"limits", cf_client_cmd_limits, "limits HANDLE [memory|cpu|disk|bandwidth]...",
     "show the limits set at create (all four kinds by default)", ""},
    {"metrics", cf_client_cmd_metrics, "metrics HANDLE...",
     "show memory, CPU, disk, process and network use", ""},
    {"bulk-info", cf_client_cmd_bulk_info, "bulk-info HANDLE...",
     "info for several containers in one request", ""},
    {"bulk-metrics", cf_client_cmd_bulk_metrics, "bulk-metrics HANDLE...",
     "metrics for several containers in one request", ""},
    {"grace-time", cf_client_cmd_grace_time, "grace-time HANDLE DURATION",
     "set how long the container may stay unused before it is destroyed",
     "DURATION uses Go syntax (500ms, 30s, 5m, 1h); 0 means never.\n"},
    {"help", cmd_help, "help [COMMAND]", "show this help or a command's help", ""},
};

#define COMMAND_COUNT (sizeof(commands) / sizeof(commands[0]))

static const command *find_command(const char *name)
{
  for (size_t i = 0; i < COMMAND_COUNT; i++) {
    if (strcmp(commands[i].name, name) == 0) {
      return &commands[i];
    }
  }
  return NULL;
}

static void print_command_help(FILE *out, const command *cmd)
{
  fprintf(out, "usage: cfwin client [-t TARGET] [--json] %s\n\n%s.\n", cmd->usage, cmd->summary);
  if (cmd->details[0] != '\0') {
    fprintf(out, "\n%s", cmd->details);
  }
}

static void print_client_help(FILE *out)
{
  fprintf(out,
          "usage: cfwin client [-t TARGET] [--json] COMMAND [ARGS...]\n"
          "\n"
          "A Garden API client. Options may also follow the command.\n"
          "\n"
          "  -t, --target TARGET      the server: HOST:PORT ([IPV6]:PORT for IPv6), unix:PATH\n"
          "                           or an absolute socket path (default: $CFWIN_TARGET,\n"
          "                           else " DEFAULT_TARGET ", where `cfwin serve` listens)\n"
          "  --json                   print the server's JSON instead of text\n"
          "  --tls-ca FILE            use TLS, trusting the server certificates this CA\n"
          "                           signed (PEM)\n"
          "  --tls-cert FILE          client certificate (PEM) for a server that verifies\n"
          "                           clients, with --tls-key FILE, its private key\n"
          "  --tls-server-name NAME   name the server's certificate must carry (default:\n"
          "                           the target's host)\n"
          "\n"
          "Commands:\n");
  for (size_t i = 0; i < COMMAND_COUNT; i++) {
    fprintf(out, "  %-14s %s\n", commands[i].name, commands[i].summary);
  }
  fprintf(out, "\nExit status: 0 on success, 1 for a usage or server error, and the\n"
               "process's exit status for run and attach. `cfwin client help COMMAND`\n"
               "shows a command's options.\n");
}

const char *cf_client_usage(const char *name)
{
  const command *cmd = find_command(name);
  return cmd != NULL ? cmd->usage : "help";
}

int cf_client_cmd_help_of(const char *name)
{
  print_command_help(stdout, find_command(name));
  return 0;
}

static int cmd_help(cf_client_ctx *ctx, int argc, char **argv)
{
  (void)ctx;
  if (argc == 0) {
    print_client_help(stdout);
    return 0;
  }
  const command *cmd = find_command(argv[0]);
  if (cmd == NULL) {
    fprintf(stderr, "cfwin client help: unknown command \"%s\"; run `cfwin client help`\n",
            argv[0]);
    return 1;
  }
  print_command_help(stdout, cmd);
  return 0;
}

/* Loads the TLS settings when any --tls-* option was given. */
static int load_tls(cf_client_ctx *ctx, cf_tls_config **config, cf_err **err)
{
  *config = NULL;
  const cf_tls_paths *tls = &ctx->tls;
  if (tls->cert_path == NULL && tls->key_path == NULL && tls->ca_path == NULL) {
    return 0;
  }
  if (tls->ca_path == NULL) {
    return cf_err_set(err, CF_E_INVALID,
                      "--tls-ca is missing: give the CA file that signed the server's certificate");
  }
  if ((tls->cert_path == NULL) != (tls->key_path == NULL)) {
    return cf_err_set(err, CF_E_INVALID,
                      "give --tls-cert and --tls-key together, or neither for a server that "
                      "does not ask for a client certificate");
  }
  if (cf_tls_client_config_new(tls, config, err) < 0) {
    return -1;
  }
  ctx->client.tls = *config;
  ctx->client.tls_server_name = ctx->tls_server_name;
  return 0;
}

static int run_command(cf_client_ctx *ctx, const command *cmd, int argc, char **argv)
{
  cf_err *err = NULL;
  if (cf_client_scan_globals(ctx, argc, argv, &err) < 0 ||
      cf_garden_client_init(&ctx->client, ctx->target, &err) < 0) {
    return cf_client_fail(ctx, err);
  }
  /* The Go client sets no read deadline either: a process may run for days. */
  ctx->client.timeout_ms = -1;
  cf_tls_config *tls = NULL;
  int status = 0;
  if (load_tls(ctx, &tls, &err) < 0) {
    status = cf_client_fail(ctx, err);
  } else {
    status = cmd->run(ctx, argc, argv);
  }
  cf_tls_config_free(tls);
  cf_garden_client_clear(&ctx->client);
  return status;
}

int cf_cli_client(int argc, char **argv, int start)
{
  cf_client_term_binary_stdio();
  const char *env_target = getenv("CFWIN_TARGET");
  cf_client_ctx ctx = {
      .target = env_target != NULL && env_target[0] != '\0' ? env_target : DEFAULT_TARGET,
      .command = "",
  };
  cf_err *err = NULL;
  bool help = false;
  int next = start;
  if (cf_client_parse_globals(&ctx, argc, argv, start, &next, &help, &err) < 0) {
    return cf_client_fail(&ctx, err);
  }
  if (next >= argc) {
    print_client_help(help ? stdout : stderr);
    return help ? 0 : 1;
  }
  const command *cmd = find_command(argv[next]);
  if (cmd == NULL) {
    fprintf(stderr, "cfwin client: unknown command \"%s\"; run `cfwin client help` for the list\n",
            argv[next]);
    return 1;
  }
  ctx.command = cmd->name;
  if (help) {
    return cf_client_cmd_help_of(cmd->name);
  }
  if (cmd->run == cmd_help) {
    return cmd_help(&ctx, argc - next - 1, argv + next + 1);
  }
  return run_command(&ctx, cmd, argc - next - 1, argv + next + 1);
}
