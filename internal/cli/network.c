/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The network role, winc-network-compatible: `winc-network --action ACTION
 * [--handle H] [--configFile F] [--log F] [--debug] [--log-format json|text]`,
 * also `cfwin network ...`. Actions: create, delete, up and down as
 * winc-network, plus net-in, net-out and bulk-net-out of Guardian's
 * network plugin contract. Errors go to stderr and the log with
 * winc-network's prefixes, and the exit status is 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/mem.h"
#include "cli/cli_internal.h"
#include "cli/flags.h"
#include "cli/logrus.h"
#include "network/net.h"
#include "network/net_rules.h"

/* Guardian's stdin documents are a few kilobytes; this bounds a runaway
 * writer. */
#define MAX_STDIN_BYTES (4 * 1024 * 1024)

typedef struct options {
  const char *action;
  const char *config_path;
  const char *handle;
  const char *log_path;
  const char *log_format;
  bool debug;
  bool help;
} options;

/* ---- logging: logrus lines as winc-network writes them ---- */

static cf_logrus net_log = {.fd = -1, .json = true};

static void log_line(const char *level, const char *msg, json_t *fields)
{
  cf_logrus_line(&net_log, level, msg, fields);
}

static void log_debug(const char *msg, const char *handle)
{
  log_line("debug", msg, handle != NULL ? json_pack("{s:s}", "handle", handle) : NULL);
}

static void log_warning(void *context, const char *message)
{
  log_line("warning", message, NULL);
  fprintf(stderr, "warning: %s\n", message);
}

/* Logs msg at error level, prints it on stderr and returns exit status 1. */
static int fail(const char *msg)
{
  log_line("error", msg, NULL);
  fprintf(stderr, "%s\n", msg);
  return 1;
}

/* Fails with "PREFIX<message>" and frees err. */
static int fail_err(const char *prefix, cf_err *err)
{
  cf_autofree char *msg = cf_xasprintf("%s%s", prefix, err->message);
  cf_err_free(err);
  return fail(msg);
}

static bool discards_log(const char *path)
{
  return path[0] == '\0' || strcmp(path, "/dev/null") == 0 || strcmp(path, "NUL") == 0;
}

static int open_log(const char *path, cf_err **err)
{
  if (discards_log(path)) {
    return 0;
  }
  cf_autofree char *copy = cf_xstrdup(path);
  if (cf_mkdir_p(dirname(copy), 0755, err) < 0) {
    return -1;
  }
  /* O_SYNC as winc-network opens it, so lines survive a crash. */
  int fd = open(path, O_CREAT | O_WRONLY | O_APPEND | O_SYNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return cf_err_sys(err, errno, "open log %s", path);
  }
  net_log.fd = fd;
  return 0;
}

/* winc-network's app.Before: the level, the log file, then the format. */
static int configure_logging(const options *o, cf_err **err)
{
  net_log.debug = o->debug;
  if (open_log(o->log_path, err) < 0) {
    return -1;
  }
  if (strcmp(o->log_format, "json") == 0 || strcmp(o->log_format, "text") == 0) {
    net_log.json = strcmp(o->log_format, "json") == 0;
    return 0;
  }
  return cf_err_set(err, CF_E_INVALID, "invalid log format: %s", o->log_format);
}

/* ---- actions ---- */

static void print_usage(FILE *out)
{
  fprintf(out, "usage: winc-network --action ACTION [--handle HANDLE] [--configFile FILE]\n"
               "                    [--log FILE] [--debug] [--log-format json|text]\n"
               "\n"
               "Network plugin for Guardian, winc-network-compatible.\n"
               "\n"
               "Actions:\n"
               "  create         create the NAT network of the config file\n"
               "  delete         delete it (a missing network succeeds)\n"
               "  up             attach the container HANDLE: stdin {\"Pid\",\"Properties\",\n"
               "                 \"netout_rules\",\"netin\"}; prints its address and ports\n"
               "  down           detach HANDLE and release its address and ports\n"
               "                 (an unknown handle succeeds)\n"
               "  net-in         map a host port: stdin {\"HostPort\",\"ContainerPort\"};\n"
               "                 prints {\"host_port\",\"container_port\"}\n"
               "  net-out        add a rule: stdin {\"container_ip\",\"netout_rule\"}\n"
               "  bulk-net-out   add rules: stdin {\"container_ip\",\"netout_rules\"}\n"
               "\n"
               "--log defaults to none; --log-format to json; --debug adds debug lines.\n"
               "The config file's keys are listed in docs/network.md.\n");
}

static int read_stdin(cf_buf *buf, cf_err **err)
{
  char chunk[65536];
  for (;;) {
    ssize_t n = read(STDIN_FILENO, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return cf_err_sys(err, errno, "read stdin");
    }
    if (n == 0) {
      break;
    }
    if (cf_buf_append(buf, chunk, (size_t)n, err) < 0) {
      return cf_err_wrap(err, "read stdin");
    }
  }
  if (buf->len == 0) {
    return cf_err_set(err, CF_E_INVALID, "stdin is empty; expected a JSON document");
  }
  return 0;
}

static int run_up(cf_net *net, const cf_net_config *config, const char *handle, cf_err **err)
{
  cf_buf input;
  cf_buf_init(&input, MAX_STDIN_BYTES);
  cf_net_up_input up = {0};
  cf_net_up_result result = {0};
  int rc = read_stdin(&input, err);
  if (rc == 0) {
    rc = cf_net_up_input_parse(input.data, input.len, &up, err);
  }
  if (rc == 0) {
    rc = cf_net_up(net, handle, &up, &result, err);
  }
  if (rc == 0) {
    cf_autofree char *output = cf_net_up_output(config, &result);
    printf("%s\n", output);
  }
  cf_net_up_result_clear(&result);
  cf_net_up_input_clear(&up);
  cf_buf_free(&input);
  return rc;
}

static int run_net_in(cf_net *net, const char *handle, cf_err **err)
{
  cf_buf input;
  cf_buf_init(&input, MAX_STDIN_BYTES);
  cf_net_mapping mapping = {0};
  int rc = read_stdin(&input, err);
  if (rc == 0) {
    rc = cf_net_net_in_parse(input.data, input.len, &mapping, err);
  }
  if (rc == 0) {
    rc = cf_net_net_in(net, handle, &mapping, err);
  }
  if (rc == 0) {
    printf("{\"host_port\":%u,\"container_port\":%u}\n", mapping.host_port, mapping.container_port);
  }
  cf_buf_free(&input);
  return rc;
}

static int run_net_out(cf_net *net, const char *handle, bool bulk, cf_err **err)
{
  cf_buf input;
  cf_buf_init(&input, MAX_STDIN_BYTES);
  cf_autofree char *container_ip = NULL;
  cf_net_rule *rules = NULL;
  size_t count = 0;
  int rc = read_stdin(&input, err);
  if (rc == 0) {
    rc = cf_net_net_out_parse(input.data, input.len, bulk, &container_ip, &rules, &count, err);
  }
  if (rc == 0) {
    rc = cf_net_net_out(net, handle, container_ip, rules, count, err);
  }
  cf_net_rules_free(rules, count);
  cf_buf_free(&input);
  return rc;
}

static bool needs_handle(const char *action)
{
  static const char *const actions[] = {"up", "down", "net-in", "net-out", "bulk-net-out"};
  for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
    if (strcmp(action, actions[i]) == 0) {
      return true;
    }
  }
  return false;
}

/* The error prefix winc-network uses for action, and cfwin's for the
 * actions winc-network lacks. */
static const char *error_prefix(const char *action)
{
  static const char *const prefixes[][2] = {
      {"up", "networkUp: "},
      {"down", "networkDown: "},
      {"create", "network create: "},
      {"delete", "network delete: "},
      {"net-in", "networkNetIn: "},
      {"net-out", "networkNetOut: "},
      {"bulk-net-out", "networkBulkNetOut: "},
  };
  for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
    if (strcmp(action, prefixes[i][0]) == 0) {
      return prefixes[i][1];
    }
  }
  return "";
}

static int run_action(cf_net *net, const cf_net_config *config, const options *o, cf_err **err)
{
  const char *a = o->action;
  if (strcmp(a, "create") == 0) {
    return cf_net_create(net, err);
  }
  if (strcmp(a, "delete") == 0) {
    return cf_net_delete(net, err);
  }
  if (strcmp(a, "up") == 0) {
    return run_up(net, config, o->handle, err);
  }
  if (strcmp(a, "down") == 0) {
    return cf_net_down(net, o->handle, err);
  }
  if (strcmp(a, "net-in") == 0) {
    return run_net_in(net, o->handle, err);
  }
  return run_net_out(net, o->handle, strcmp(a, "bulk-net-out") == 0, err);
}

static bool known_action(const char *action)
{
  return needs_handle(action) || strcmp(action, "create") == 0 || strcmp(action, "delete") == 0;
}

static void warn_unknown_keys(const options *o, const cf_net_config *config)
{
  for (size_t i = 0; i < config->unknown_key_count; i++) {
    cf_autofree char *message = cf_xasprintf("config file %s: unknown key \"%s\" is ignored",
                                             o->config_path, config->unknown_keys[i]);
    log_warning(NULL, message);
  }
}

/* winc-network's app.Action: the config file, the handle, then the action. */
static int run(const options *o)
{
  cf_err *err = NULL;
  cf_net_config config;
  if (cf_net_config_load(o->config_path, &config, &err) < 0) {
    return fail_err("configFile: ", err);
  }
  warn_unknown_keys(o, &config);
  int status = 0;
  if (needs_handle(o->action) && o->handle[0] == '\0') {
    status = fail("missing required flag 'handle'");
  } else if (!known_action(o->action)) {
    cf_autofree char *msg = cf_xasprintf("invalid action: %s", o->action);
    status = fail(msg);
  } else {
    cf_net *net = cf_net_new(&config, &cf_net_platform_ops);
    cf_net_set_warn(net, log_warning, NULL);
    log_debug(o->action, o->handle[0] != '\0' ? o->handle : NULL);
    if (run_action(net, &config, o, &err) < 0) {
      status = fail_err(error_prefix(o->action), err);
    }
    cf_net_close(net);
  }
  cf_net_config_clear(&config);
  return status;
}

int cf_cli_network(int argc, char **argv, int start)
{
  options o = {.action = "", .config_path = "", .handle = "", .log_path = "", .log_format = "json"};
  cf_flag flags[] = {
      {"action", CF_FLAG_STRING, &o.action, false},
      {"configFile", CF_FLAG_STRING, &o.config_path, false},
      {"handle", CF_FLAG_STRING, &o.handle, false},
      {"debug", CF_FLAG_BOOL, &o.debug, false},
      {"log", CF_FLAG_STRING, &o.log_path, false},
      {"log-format", CF_FLAG_STRING, &o.log_format, false},
      {"help", CF_FLAG_BOOL, &o.help, false},
      {"h", CF_FLAG_BOOL, &o.help, false},
  };
  cf_err *err = NULL;
  int next = start;
  if (cf_flags_parse(flags, (int)(sizeof(flags) / sizeof(flags[0])), argc, argv, start, &next,
                     &err) < 0) {
    fprintf(stderr, "Incorrect Usage: %s\n\n", err->message);
    cf_err_free(err);
    print_usage(stderr);
    return 1;
  }
  if (o.help) {
    print_usage(stdout);
    return 0;
  }
  if (configure_logging(&o, &err) < 0) {
    return fail_err("", err);
  }
  int status = run(&o);
  if (net_log.fd >= 0) {
    close(net_log.fd);
    net_log.fd = -1;
  }
  return status;
}
