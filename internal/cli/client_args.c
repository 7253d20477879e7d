/* SPDX-License-Identifier: Apache-2.0 */
/* Arguments of `cfwin client`: options anywhere on the line, and values. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/mem.h"
#include "cli/client_cli.h"
#include "garden/json.h"

static cf_flag *lookup_flag(cf_flag *flags, int count, const char *name, size_t len)
{
  for (int i = 0; i < count; i++) {
    if (strlen(flags[i].name) == len && strncmp(flags[i].name, name, len) == 0) {
      return &flags[i];
    }
  }
  return NULL;
}

/* The address of the global string option called name, or NULL. */
static const char **global_string(cf_client_ctx *ctx, const char *name, size_t len)
{
  struct {
    const char *name;
    const char **field;
  } strings[] = {
      {"t", &ctx->target},
      {"target", &ctx->target},
      {"tls-cert", &ctx->tls.cert_path},
      {"tls-key", &ctx->tls.key_path},
      {"tls-ca", &ctx->tls.ca_path},
      {"tls-server-name", &ctx->tls_server_name},
  };
  for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
    if (strlen(strings[i].name) == len && strncmp(strings[i].name, name, len) == 0) {
      return strings[i].field;
    }
  }
  return NULL;
}

/* Handles the options every command accepts; returns 1 when name was one. */
int cf_client_global_option(cf_client_ctx *ctx, const char *name, size_t len, const char *value,
                            int *used_next, int argc, char **argv, int i, cf_err **err)
{
  if (len == 4 && strncmp(name, "json", 4) == 0) {
    ctx->json = value == NULL || strcmp(value, "true") == 0;
    return 1;
  }
  const char **field = global_string(ctx, name, len);
  if (field == NULL) {
    return 0;
  }
  if (value == NULL && i + 1 >= argc) {
    return cf_err_set(err, CF_E_INVALID, "option %s needs a value; run `cfwin client help`",
                      argv[i]);
  }
  *field = value != NULL ? value : argv[i + 1];
  *used_next = value == NULL;
  return 1;
}

/* Parses one option at argv[i]; *next is the index after it. */
static int parse_option(cf_client_ctx *ctx, cf_flag *flags, int count, int argc, char **argv, int i,
                        int *next, bool *help, cf_err **err)
{
  const char *arg = argv[i];
  const char *name = arg + (arg[1] == '-' ? 2 : 1);
  const char *eq = strchr(name, '=');
  size_t len = eq != NULL ? (size_t)(eq - name) : strlen(name);
  const char *value = eq != NULL ? eq + 1 : NULL;
  *next = i + 1;
  if ((len == 1 && name[0] == 'h') || (len == 4 && strncmp(name, "help", 4) == 0)) {
    *help = true;
    return 0;
  }
  int used_next = 0;
  int global = cf_client_global_option(ctx, name, len, value, &used_next, argc, argv, i, err);
  if (global != 0) {
    *next += used_next;
    return global < 0 ? -1 : 0;
  }
  cf_flag *flag = lookup_flag(flags, count, name, len);
  if (flag == NULL) {
    return cf_err_set(err, CF_E_INVALID, "unknown option %.*s; run `cfwin client help %s`",
                      (int)(name - arg + len), arg, ctx->command);
  }
  if (value == NULL && flag->type == CF_FLAG_BOOL) {
    value = "true";
  }
  if (value == NULL) {
    if (i + 1 >= argc) {
      return cf_err_set(err, CF_E_INVALID, "option --%s needs a value; run `cfwin client help %s`",
                        flag->name, ctx->command);
    }
    value = argv[i + 1];
    *next = i + 2;
  }
  return cf_flags_set(flags, count, flag->name, value, err);
}

int cf_client_parse_args(cf_client_ctx *ctx, cf_flag *flags, int count, int argc, char **argv,
                         cf_client_args *args, bool *help, cf_err **err)
{
  memset(args, 0, sizeof(*args));
  args->positionals = cf_xcalloc((size_t)argc + 1, sizeof(char *));
  int i = 0;
  while (i < argc) {
    const char *arg = argv[i];
    if (strcmp(arg, "--") == 0) {
      args->rest = argv + i + 1;
      args->rest_count = argc - i - 1;
      return 0;
    }
    if (arg[0] != '-' || arg[1] == '\0') {
      args->positionals[args->count++] = argv[i++];
      continue;
    }
    if (parse_option(ctx, flags, count, argc, argv, i, &i, help, err) < 0) {
      return -1;
    }
  }
  return 0;
}

int cf_client_parse_command(cf_client_ctx *ctx, cf_flag *flags, int count, int argc, char **argv,
                            size_t min, size_t max, cf_client_args *args, cf_err **err)
{
  bool help = false;
  if (cf_client_parse_args(ctx, flags, count, argc, argv, args, &help, err) < 0) {
    return -1;
  }
  if (help) {
    cf_client_cmd_help_of(ctx->command);
    return 1;
  }
  /* Only run takes a program after "--"; elsewhere "--" lets a positional
   * such as a property value start with a dash. */
  for (int i = 0; i < args->rest_count; i++) {
    args->positionals[args->count++] = args->rest[i];
  }
  args->rest = NULL;
  args->rest_count = 0;
  if (args->count < min) {
    return cf_err_set(err, CF_E_INVALID, "missing arguments: use `cfwin client %s`",
                      cf_client_usage(ctx->command));
  }
  if (args->count > max) {
    return cf_err_set(err, CF_E_INVALID, "unexpected argument \"%s\": use `cfwin client %s`",
                      args->positionals[max], cf_client_usage(ctx->command));
  }
  return 0;
}

int cf_client_parse_uint(const char *option, const char *text, unsigned long long max,
                         unsigned long long *out, cf_err **err)
{
  char *end = NULL;
  errno = 0;
  unsigned long long value = strtoull(text, &end, 10);
  if (text[0] == '-' || end == text || *end != '\0' || errno != 0 || value > max) {
    return cf_err_set(err, CF_E_INVALID, "invalid --%s \"%s\": use a whole number from 0 to %llu",
                      option, text, max);
  }
  *out = value;
  return 0;
}

/* Accepts 512, 64K, 128M, 2G and 1T, also with KiB, KB, MiB, MB... suffixes,
 * which all mean powers of 1024. */
int cf_client_parse_size(const char *option, const char *text, unsigned long long *out,
                         cf_err **err)
{
  static const struct {
    const char *suffix;
    unsigned shift;
  } units[] = {{"", 0},     {"B", 0},   {"K", 10},   {"KB", 10}, {"KiB", 10},
               {"M", 20},   {"MB", 20}, {"MiB", 20}, {"G", 30},  {"GB", 30},
               {"GiB", 30}, {"T", 40},  {"TB", 40},  {"TiB", 40}};
  char *end = NULL;
  errno = 0;
  unsigned long long value = strtoull(text, &end, 10);
  if (text[0] != '-' && end != text && errno == 0) {
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
      if (strcasecmp(end, units[i].suffix) == 0 && value <= (UINT64_MAX >> units[i].shift)) {
        *out = value << units[i].shift;
        return 0;
      }
    }
  }
  return cf_err_set(err, CF_E_INVALID,
                    "invalid --%s \"%s\": use a byte count with an optional K, M, G or T "
                    "suffix (powers of 1024), such as 512M",
                    option, text);
}

int cf_client_split_pair(const char *option, const char *text, char **key, const char **value,
                         cf_err **err)
{
  const char *eq = strchr(text, '=');
  if (eq == NULL || eq == text) {
    return cf_err_set(err, CF_E_INVALID, "invalid --%s \"%s\": use KEY=VALUE", option, text);
  }
  *key = cf_xstrndup(text, (size_t)(eq - text));
  *value = eq + 1;
  return 0;
}

/* Reads the global options before the command; *next is the command's index. */
int cf_client_parse_globals(cf_client_ctx *ctx, int argc, char **argv, int start, int *next,
                            bool *help, cf_err **err)
{
  int i = start;
  while (i < argc && argv[i][0] == '-' && argv[i][1] != '\0') {
    const char *arg = argv[i];
    const char *name = arg + (arg[1] == '-' ? 2 : 1);
    const char *eq = strchr(name, '=');
    size_t len = eq != NULL ? (size_t)(eq - name) : strlen(name);
    if ((len == 1 && name[0] == 'h') || (len == 4 && strncmp(name, "help", 4) == 0)) {
      *help = true;
      i++;
      continue;
    }
    int used_next = 0;
    int rc = cf_client_global_option(ctx, name, len, eq != NULL ? eq + 1 : NULL, &used_next, argc,
                                     argv, i, err);
    if (rc < 0) {
      return -1;
    }
    if (rc == 0) {
      return cf_err_set(err, CF_E_INVALID,
                        "unknown option %s before the command; run `cfwin client help`", arg);
    }
    i += 1 + used_next;
  }
  *next = i;
  return 0;
}

int cf_client_scan_globals(cf_client_ctx *ctx, int argc, char **argv, cf_err **err)
{
  for (int i = 0; i < argc; i++) {
    const char *arg = argv[i];
    if (strcmp(arg, "--") == 0) {
      break; /* the rest belongs to the process */
    }
    if (arg[0] != '-' || arg[1] == '\0') {
      continue;
    }
    const char *name = arg + (arg[1] == '-' ? 2 : 1);
    const char *eq = strchr(name, '=');
    size_t len = eq != NULL ? (size_t)(eq - name) : strlen(name);
    int used_next = 0;
    if (cf_client_global_option(ctx, name, len, eq != NULL ? eq + 1 : NULL, &used_next, argc, argv,
                                i, err) < 0) {
      return -1;
    }
    i += used_next;
  }
  return 0;
}
