/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `cfwin client`: a Garden command-line client in the manner of gaol. Each
 * command is one function that parses its options, makes its requests
 * through garden/client.h and prints either text (client_format.c) or the
 * server's JSON (--json).
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

/* --- Arguments --- */

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
static int global_option(cf_client_ctx *ctx, const char *name, size_t len, const char *value,
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
  int global = global_option(ctx, name, len, value, &used_next, argc, argv, i, err);
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

/* Parses the command's arguments and checks the positional count. Returns
 * 1 when help was printed, 0 to go on, -1 with *err. */
static int parse_command(cf_client_ctx *ctx, cf_flag *flags, int count, int argc, char **argv,
                         size_t min, size_t max, cf_client_args *args, cf_err **err)
{
  bool help = false;
  if (cf_client_parse_args(ctx, flags, count, argc, argv, args, &help, err) < 0) {
    return -1;
  }
  if (help) {
    print_command_help(stdout, find_command(ctx->command));
    return 1;
  }
  const command *cmd = find_command(ctx->command);
  if (args->count < min) {
    return cf_err_set(err, CF_E_INVALID, "missing arguments: use `cfwin client %s`", cmd->usage);
  }
  if (args->count > max) {
    return cf_err_set(err, CF_E_INVALID, "unexpected argument \"%s\": use `cfwin client %s`",
                      args->positionals[max], cmd->usage);
  }
  return 0;
}

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

int cf_client_fail(const cf_client_ctx *ctx, cf_err *err)
{
  fflush(stdout);
  fprintf(stderr, "cfwin client %s: %s\n", ctx->command, err->message);
  if (err->code == CF_E_SYSTEM && is_connect_error(err)) {
    fprintf(stderr,
            "cfwin client: is a Garden server listening at %s? Start one with `cfwin serve`, "
            "or give its address with -t HOST:PORT, -t unix:PATH or CFWIN_TARGET\n",
            ctx->target);
  } else if (err->code == CF_E_NOT_FOUND) {
    fprintf(stderr, "cfwin client: `cfwin client list` shows the containers of %s\n", ctx->target);
  }
  cf_err_free(err);
  return 1;
}

/* Calls method on /containers/HANDLE/SUFFIX with the handle escaped. */
static int container_call(const cf_client_ctx *ctx, const char *method, const char *handle,
                          const char *suffix, const json_t *body, json_t **result, cf_err **err)
{
  cf_autofree char *escaped = cf_garden_escape(handle);
  cf_autofree char *path =
      cf_xasprintf("/containers/%s%s%s", escaped, suffix[0] != '\0' ? "/" : "", suffix);
  return cf_garden_client_call(&ctx->client, method, path, body, result, err);
}

/* --- Values --- */

static int parse_uint(const char *option, const char *text, unsigned long long max,
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

/* Parses a byte count with an optional binary suffix: 512, 64K, 128M, 2G, 1T
 * (also KiB, MiB, KB, MB...; all mean powers of 1024). */
static int parse_size(const char *option, const char *text, unsigned long long *out, cf_err **err)
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

/* Splits "KEY=VALUE"; the key must not be empty. */
static int split_pair(const char *option, const char *text, char **key, const char **value,
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

/* Checks that every text is KEY=VALUE and returns them as a JSON array. */
static int env_array(const char *option, const cf_flag_strings *values, json_t **out, cf_err **err)
{
  json_t *array = json_array();
  for (size_t i = 0; i < values->count; i++) {
    cf_autofree char *key = NULL;
    const char *value = NULL;
    if (split_pair(option, values->values[i], &key, &value, err) < 0) {
      json_decref(array);
      return -1;
    }
    json_array_append_new(array, json_string(values->values[i]));
  }
  *out = array;
  return 0;
}

/* --- Simple commands --- */

static int cmd_ping(cf_client_ctx *ctx, int argc, char **argv)
{
  cf_client_args args;
  cf_err *err = NULL;
  int parsed = parse_command(ctx, NULL, 0, argc, argv, 0, 0, &args, &err);
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
  int parsed = parse_command(ctx, NULL, 0, argc, argv, 0, 0, &args, &err);
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

/* --- create --- */

typedef struct create_options {
  const char *handle;
  const char *image;
  const char *rootfs;
  const char *image_username;
  const char *image_password;
  int64_t grace_time;
  cf_flag_strings env;
  cf_flag_strings properties;
  bool privileged;
  const char *memory;
  const char *disk;
  const char *disk_scope;
  const char *cpu_weight;
  const char *cpu_limit;
  const char *pids;
  const char *bandwidth_rate;
  const char *bandwidth_burst;
  cf_flag_strings bind_mounts;
  cf_flag_strings net_in;
  const char *network;
} create_options;

/* Sets object[key] to the parsed value of a size or number option, when given. */
static int set_limit(json_t *object, const char *key, const char *option, const char *text,
                     bool size, cf_err **err)
{
  if (text == NULL) {
    return 0;
  }
  unsigned long long value = 0;
  int rc = size ? parse_size(option, text, &value, err)
                : parse_uint(option, text, (unsigned long long)INT64_MAX, &value, err);
  if (rc < 0) {
    return -1;
  }
  json_object_set_new(object, key, json_integer((json_int_t)value));
  return 0;
}

static int disk_scope(const char *text, int *scope, cf_err **err)
{
  if (text == NULL || strcmp(text, "total") == 0) {
    *scope = 0;
    return 0;
  }
  if (strcmp(text, "exclusive") == 0) {
    *scope = 1;
    return 0;
  }
  return cf_err_set(err, CF_E_INVALID, "invalid --disk-scope \"%s\": use total or exclusive", text);
}

/* Builds the "limits" object, which the Go client always sends whole. */
static int build_limits(const create_options *o, json_t **out, cf_err **err)
{
  json_t *bandwidth = json_object();
  json_t *cpu = json_object();
  json_t *disk = json_object();
  json_t *memory = json_object();
  json_t *pids = json_object();
  json_t *limits =
      json_pack("{s:o, s:o, s:o, s:o, s:o}", "bandwidth_limits", bandwidth, "cpu_limits", cpu,
                "disk_limits", disk, "memory_limits", memory, "pid_limits", pids);
  int scope = 0;
  int rc = 0;
  if (set_limit(bandwidth, "rate", "bandwidth-rate", o->bandwidth_rate, true, err) < 0 ||
      set_limit(bandwidth, "burst", "bandwidth-burst", o->bandwidth_burst, true, err) < 0 ||
      set_limit(cpu, "weight", "cpu-weight", o->cpu_weight, false, err) < 0 ||
      set_limit(cpu, "limit_in_shares", "cpu-limit", o->cpu_limit, false, err) < 0 ||
      set_limit(disk, "byte_hard", "disk", o->disk, true, err) < 0 ||
      disk_scope(o->disk_scope, &scope, err) < 0 ||
      set_limit(memory, "limit_in_bytes", "memory", o->memory, true, err) < 0 ||
      set_limit(pids, "max", "pids", o->pids, false, err) < 0) {
    rc = -1;
  }
  if (rc == 0 && scope != 0) {
    json_object_set_new(disk, "scope", json_integer(scope));
  }
  if (rc < 0) {
    json_decref(limits);
    return -1;
  }
  *out = limits;
  return 0;
}

/* Parses SRC:DST[:ro|:rw] into a BindMount; read-only is the default. */
static int parse_bind_mount(const char *text, json_t **out, cf_err **err)
{
  const char *first = strchr(text, ':');
  const char *second = first != NULL ? strchr(first + 1, ':') : NULL;
  const char *mode = second != NULL ? second + 1 : "ro";
  size_t dst_len =
      second != NULL ? (size_t)(second - first - 1) : (first != NULL ? strlen(first + 1) : 0);
  if (first == NULL || first == text || dst_len == 0 ||
      (strcmp(mode, "ro") != 0 && strcmp(mode, "rw") != 0)) {
    return cf_err_set(err, CF_E_INVALID,
                      "invalid --bind-mount \"%s\": use HOST_PATH:CONTAINER_PATH with an "
                      "optional :ro (the default) or :rw",
                      text);
  }
  json_t *mount = json_object();
  json_object_set_new(mount, "src_path", json_stringn(text, (size_t)(first - text)));
  json_object_set_new(mount, "dst_path", json_stringn(first + 1, dst_len));
  if (strcmp(mode, "rw") == 0) {
    json_object_set_new(mount, "mode", json_integer(1));
  }
  *out = mount;
  return 0;
}

static int parse_port(const char *option, const char *text, size_t len, unsigned long long *port,
                      cf_err **err)
{
  cf_autofree char *copy = cf_xstrndup(text, len);
  return parse_uint(option, copy, 65535, port, err);
}

/* Parses HOST_PORT:CONTAINER_PORT, or CONTAINER_PORT alone, into a NetIn
 * entry; a host port of 0 lets the server pick one. */
static int parse_net_in(const char *text, json_t **out, cf_err **err)
{
  const char *colon = strchr(text, ':');
  unsigned long long host = 0;
  unsigned long long container = 0;
  if (colon != NULL && parse_port("net-in", text, (size_t)(colon - text), &host, err) < 0) {
    return -1;
  }
  const char *container_text = colon != NULL ? colon + 1 : text;
  if (parse_port("net-in", container_text, strlen(container_text), &container, err) < 0) {
    return -1;
  }
  *out = json_pack("{s:I, s:I}", "host_port", (json_int_t)host, "container_port",
                   (json_int_t)container);
  return 0;
}

typedef int (*parse_item_fn)(const char *text, json_t **out, cf_err **err);

/* Sets spec[key] to the parsed items, when there are any. */
static int set_items(json_t *spec, const char *key, const cf_flag_strings *values,
                     parse_item_fn parse, cf_err **err)
{
  if (values->count == 0) {
    return 0;
  }
  json_t *array = json_array();
  for (size_t i = 0; i < values->count; i++) {
    json_t *item = NULL;
    if (parse(values->values[i], &item, err) < 0) {
      json_decref(array);
      return -1;
    }
    json_array_append_new(array, item);
  }
  json_object_set_new(spec, key, array);
  return 0;
}

static int set_properties(json_t *spec, const cf_flag_strings *values, cf_err **err)
{
  if (values->count == 0) {
    return 0;
  }
  json_t *properties = json_object();
  for (size_t i = 0; i < values->count; i++) {
    cf_autofree char *key = NULL;
    const char *value = NULL;
    if (split_pair("property", values->values[i], &key, &value, err) < 0) {
      json_decref(properties);
      return -1;
    }
    json_object_set_new(properties, key, json_string(value));
  }
  json_object_set_new(spec, "properties", properties);
  return 0;
}

static json_t *image_object(const char *uri, const char *username, const char *password)
{
  json_t *image = json_object();
  if (uri != NULL && uri[0] != '\0') {
    json_object_set_new(image, "uri", json_string(uri));
  }
  if (username != NULL && username[0] != '\0') {
    json_object_set_new(image, "username", json_string(username));
  }
  if (password != NULL && password[0] != '\0') {
    json_object_set_new(image, "password", json_string(password));
  }
  return image;
}

/* Builds a ContainerSpec with its keys in the Go client's order. */
static int build_container_spec(const create_options *o, json_t **out, cf_err **err)
{
  if (o->grace_time < 0) {
    return cf_err_set(err, CF_E_INVALID,
                      "invalid --grace-time: use 0 (the server's default) or more");
  }
  json_t *spec = json_object();
  if (o->handle != NULL) {
    json_object_set_new(spec, "handle", json_string(o->handle));
  }
  if (o->grace_time > 0) {
    json_object_set_new(spec, "grace_time", json_integer(o->grace_time));
  }
  if (o->rootfs != NULL) {
    json_object_set_new(spec, "rootfs", json_string(o->rootfs));
  }
  json_object_set_new(spec, "image", image_object(o->image, o->image_username, o->image_password));
  json_t *env = NULL;
  json_t *limits = NULL;
  int rc = set_items(spec, "bind_mounts", &o->bind_mounts, parse_bind_mount, err);
  if (rc == 0 && o->network != NULL) {
    json_object_set_new(spec, "network", json_string(o->network));
  }
  if (rc == 0) {
    rc = set_properties(spec, &o->properties, err);
  }
  if (rc == 0 && o->env.count > 0 && (rc = env_array("env", &o->env, &env, err)) == 0) {
    json_object_set_new(spec, "env", env);
  }
  if (rc == 0 && o->privileged) {
    json_object_set_new(spec, "privileged", json_true());
  }
  if (rc == 0 && (rc = build_limits(o, &limits, err)) == 0) {
    json_object_set_new(spec, "limits", limits);
  }
  if (rc == 0) {
    rc = set_items(spec, "netin", &o->net_in, parse_net_in, err);
  }
  if (rc < 0) {
    json_decref(spec);
    return -1;
  }
  *out = spec;
  return 0;
}

static int init_create_flags(create_options *o, cf_flag *flags)
{
  cf_flag list[] = {
      {"handle", CF_FLAG_STRING, &o->handle},
      {"image", CF_FLAG_STRING, &o->image},
      {"rootfs", CF_FLAG_STRING, &o->rootfs},
      {"image-username", CF_FLAG_STRING, &o->image_username},
      {"image-password", CF_FLAG_STRING, &o->image_password},
      {"grace-time", CF_FLAG_DURATION, &o->grace_time},
      {"env", CF_FLAG_STRINGS, &o->env},
      {"property", CF_FLAG_STRINGS, &o->properties},
      {"privileged", CF_FLAG_BOOL, &o->privileged},
      {"memory", CF_FLAG_STRING, &o->memory},
      {"disk", CF_FLAG_STRING, &o->disk},
      {"disk-scope", CF_FLAG_STRING, &o->disk_scope},
      {"cpu-weight", CF_FLAG_STRING, &o->cpu_weight},
      {"cpu-limit", CF_FLAG_STRING, &o->cpu_limit},
      {"pids", CF_FLAG_STRING, &o->pids},
      {"bandwidth-rate", CF_FLAG_STRING, &o->bandwidth_rate},
      {"bandwidth-burst", CF_FLAG_STRING, &o->bandwidth_burst},
      {"bind-mount", CF_FLAG_STRINGS, &o->bind_mounts},
      {"net-in", CF_FLAG_STRINGS, &o->net_in},
      {"network", CF_FLAG_STRING, &o->network},
  };
  memcpy(flags, list, sizeof(list));
  return (int)(sizeof(list) / sizeof(list[0]));
}

static void create_options_clear(create_options *o)
{
  cf_flag_strings_clear(&o->env);
  cf_flag_strings_clear(&o->properties);
  cf_flag_strings_clear(&o->bind_mounts);
  cf_flag_strings_clear(&o->net_in);
}

static int create_container(cf_client_ctx *ctx, const create_options *o, cf_err **err)
{
  json_t *spec = NULL;
  json_t *result = NULL;
  if (build_container_spec(o, &spec, err) < 0) {
    return -1;
  }
  int rc = cf_garden_client_call(&ctx->client, "POST", "/containers", spec, &result, err);
  if (rc == 0 && ctx->json) {
    cf_client_print_json(result);
  } else if (rc == 0) {
    printf("%s\n", json_string_value(cf_json_get(result, "Handle")));
  }
  json_decref(spec);
  json_decref(result);
  return rc;
}

static int cmd_create(cf_client_ctx *ctx, int argc, char **argv)
{
  create_options o = {0};
  cf_flag flags[32];
  int count = init_create_flags(&o, flags);
  cf_client_args args;
  cf_err *err = NULL;
  int parsed = parse_command(ctx, flags, count, argc, argv, 0, 0, &args, &err);
  int status = 0;
  if (parsed < 0 || (parsed == 0 && create_container(ctx, &o, &err) < 0)) {
    status = cf_client_fail(ctx, err);
  }
  free(args.positionals);
  create_options_clear(&o);
  return status;
}

/* --- Commands on one or more containers --- */

typedef int (*fetch_fn)(cf_client_ctx *ctx, const char *handle, json_t **result, cf_err **err);
typedef void (*print_fn)(FILE *out, const char *handle, const json_t *result);

/* Runs fetch for every handle. With --json prints one object that maps each
 * handle to the server's reply; otherwise prints each reply with print.
 * A failed handle is reported on stderr and makes the status 1, and the
 * other handles still run. */
static int run_per_handle(cf_client_ctx *ctx, const cf_client_args *args, fetch_fn fetch,
                          print_fn print, bool blank_line_between)
{
  json_t *all = json_object();
  int status = 0;
  size_t printed = 0;
  for (size_t i = 0; i < args->count; i++) {
    const char *handle = args->positionals[i];
    json_t *result = NULL;
    cf_err *err = NULL;
    if (fetch(ctx, handle, &result, &err) < 0) {
      status = cf_client_fail(ctx, err);
      continue;
    }
    if (ctx->json) {
      json_object_set_new(all, handle, result);
      continue;
    }
    if (blank_line_between && printed++ > 0) {
      fputc('\n', stdout);
    }
    print(stdout, handle, result);
    json_decref(result);
  }
  if (ctx->json) {
    cf_client_print_json(all);
  }
  json_decref(all);
  return status;
}

/* Parses the options and HANDLE... of a command, then runs fetch for each. */
static int per_handle_command(cf_client_ctx *ctx, cf_flag *flags, int count, int argc, char **argv,
                              fetch_fn fetch, print_fn print, bool blank_line_between)
{
  cf_client_args args;
  cf_err *err = NULL;
  int parsed = parse_command(ctx, flags, count, argc, argv, 1, (size_t)argc, &args, &err);
  int status = 0;
  if (parsed < 0) {
    status = cf_client_fail(ctx, err);
  } else if (parsed == 0) {
    status = run_per_handle(ctx, &args, fetch, print, blank_line_between);
  }
  free(args.positionals);
  return status;
}

static void print_handle(FILE *out, const char *handle, const json_t *result)
{
  (void)result;
  fprintf(out, "%s\n", handle);
}

static int fetch_info(cf_client_ctx *ctx, const char *handle, json_t **result, cf_err **err)
{
  return container_call(ctx, "GET", handle, "info", NULL, result, err);
}

static int fetch_metrics(cf_client_ctx *ctx, const char *handle, json_t **result, cf_err **err)
{
  return container_call(ctx, "GET", handle, "metrics", NULL, result, err);
}

static int fetch_destroy(cf_client_ctx *ctx, const char *handle, json_t **result, cf_err **err)
{
  return container_call(ctx, "DELETE", handle, "", NULL, result, err);
}

static bool stop_kill; /* --kill of the stop command */

static int fetch_stop(cf_client_ctx *ctx, const char *handle, json_t **result, cf_err **err)
{
  json_t *body = json_pack("{s:b}", "kill", stop_kill);
  int rc = container_call(ctx, "PUT", handle, "stop", body, result, err);
  json_decref(body);
  return rc;
}

static int cmd_info(cf_client_ctx *ctx, int argc, char **argv)
{
  return per_handle_command(ctx, NULL, 0, argc, argv, fetch_info, cf_client_print_info, true);
}

static int cmd_metrics(cf_client_ctx *ctx, int argc, char **argv)
{
  return per_handle_command(ctx, NULL, 0, argc, argv, fetch_metrics, cf_client_print_metrics, true);
}

static int cmd_destroy(cf_client_ctx *ctx, int argc, char **argv)
{
  return per_handle_command(ctx, NULL, 0, argc, argv, fetch_destroy, print_handle, false);
}

static int cmd_stop(cf_client_ctx *ctx, int argc, char **argv)
{
  cf_flag flags[] = {{"kill", CF_FLAG_BOOL, &stop_kill}};
  return per_handle_command(ctx, flags, 1, argc, argv, fetch_stop, print_handle, false);
}

/* --- list and the bulk commands --- */

/* Builds "/containers?k=v&..." from KEY=VALUE filters. */
static int list_path(const cf_flag_strings *filters, char **out, cf_err **err)
{
  cf_buf path;
  cf_buf_init(&path, 1024 * 1024);
  cf_buf_append_str(&path, "/containers", NULL);
  for (size_t i = 0; i < filters->count; i++) {
    cf_autofree char *key = NULL;
    const char *value = NULL;
    if (split_pair("property", filters->values[i], &key, &value, err) < 0) {
      cf_buf_free(&path);
      return -1;
    }
    cf_autofree char *escaped_key = cf_garden_escape(key);
    cf_autofree char *escaped_value = cf_garden_escape(value);
    if (cf_buf_printf(&path, err, "%c%s=%s", i == 0 ? '?' : '&', escaped_key, escaped_value) < 0) {
      cf_buf_free(&path);
      return -1;
    }
  }
  *out = cf_buf_take(&path);
  return 0;
}

/* Builds "/containers/bulk_KIND?handles=h1%2Ch2" as the Go client does. */
static char *bulk_path(const char *kind, char **handles, size_t count)
{
  cf_buf path;
  cf_buf_init(&path, 16 * 1024 * 1024);
  cf_buf_printf(&path, NULL, "/containers/bulk_%s?handles=", kind);
  for (size_t i = 0; i < count; i++) {
    cf_autofree char *escaped = cf_garden_escape(handles[i]);
    cf_buf_printf(&path, NULL, "%s%s", i == 0 ? "" : "%2C", escaped);
  }
  return cf_buf_take(&path);
}

/* Fetches BulkInfo for the listed handles, for the list table. */
static json_t *list_bulk_info(cf_client_ctx *ctx, const json_t *handles)
{
  size_t count = json_array_size(handles);
  if (count == 0) {
    return NULL;
  }
  char **names = cf_xcalloc(count, sizeof(char *));
  for (size_t i = 0; i < count; i++) {
    names[i] = (char *)json_string_value(json_array_get(handles, i));
  }
  cf_autofree char *path = bulk_path("info", names, count);
  free(names);
  json_t *bulk = NULL;
  cf_err *err = NULL;
  if (cf_garden_client_call(&ctx->client, "GET", path, NULL, &bulk, &err) < 0) {
    /* The table then shows "-" for each state; the handles are still right. */
    cf_err_free(err);
    return json_object();
  }
  return bulk;
}

static int list_containers(cf_client_ctx *ctx, const cf_flag_strings *filters, bool quiet,
                           cf_err **err)
{
  cf_autofree char *path = NULL;
  json_t *result = NULL;
  if (list_path(filters, &path, err) < 0 ||
      cf_garden_client_call(&ctx->client, "GET", path, NULL, &result, err) < 0) {
    return -1;
  }
  json_t *handles = cf_json_get(result, "Handles");
  if (ctx->json) {
    cf_client_print_json(result);
  } else if (quiet) {
    cf_client_print_list(stdout, handles, NULL);
  } else {
    json_t *bulk = list_bulk_info(ctx, handles);
    cf_client_print_list(stdout, handles, bulk);
    json_decref(bulk);
  }
  json_decref(result);
  return 0;
}

static int cmd_list(cf_client_ctx *ctx, int argc, char **argv)
{
  cf_flag_strings filters = {0};
  bool quiet = false;
  cf_flag flags[] = {{"property", CF_FLAG_STRINGS, &filters},
                     {"quiet", CF_FLAG_BOOL, &quiet},
                     {"q", CF_FLAG_BOOL, &quiet}};
  cf_client_args args;
  cf_err *err = NULL;
  int parsed = parse_command(ctx, flags, 3, argc, argv, 0, 0, &args, &err);
  int status = 0;
  if (parsed < 0 || (parsed == 0 && list_containers(ctx, &filters, quiet, &err) < 0)) {
    status = cf_client_fail(ctx, err);
  }
  free(args.positionals);
  cf_flag_strings_clear(&filters);
  return status;
}

/* Prints each entry of a bulk reply: the value under value_key, or the
 * entry's error envelope. Returns 1 when an entry has an error. */
static int print_bulk(cf_client_ctx *ctx, const json_t *bulk, char **handles, size_t count,
                      const char *value_key, print_fn print)
{
  int status = 0;
  for (size_t i = 0; i < count; i++) {
    json_t *entry = cf_json_get(bulk, handles[i]);
    json_t *error = cf_json_get(entry, "Err");
    if (i > 0) {
      fputc('\n', stdout);
    }
    if (entry == NULL || json_is_object(error)) {
      const char *message = json_string_value(cf_json_get(error, "Message"));
      cf_err *err = NULL;
      cf_err_set(&err, CF_E_SYSTEM, "%s: %s", handles[i],
                 message != NULL ? message : "missing from the server's reply");
      status = cf_client_fail(ctx, err);
      continue;
    }
    print(stdout, handles[i], cf_json_get(entry, value_key));
  }
  return status;
}

static int bulk_command(cf_client_ctx *ctx, int argc, char **argv, const char *kind,
                        const char *value_key, print_fn print)
{
  cf_client_args args;
  cf_err *err = NULL;
  int parsed = parse_command(ctx, NULL, 0, argc, argv, 1, (size_t)argc, &args, &err);
  if (parsed != 0) {
    free(args.positionals);
    return parsed > 0 ? 0 : cf_client_fail(ctx, err);
  }
  cf_autofree char *path = bulk_path(kind, args.positionals, args.count);
  json_t *bulk = NULL;
  int status = 0;
  if (cf_garden_client_call(&ctx->client, "GET", path, NULL, &bulk, &err) < 0) {
    status = cf_client_fail(ctx, err);
  } else if (ctx->json) {
    cf_client_print_json(bulk);
  } else {
    status = print_bulk(ctx, bulk, args.positionals, args.count, value_key, print);
  }
  json_decref(bulk);
  free(args.positionals);
  return status;
}

static int cmd_bulk_info(cf_client_ctx *ctx, int argc, char **argv)
{
  return bulk_command(ctx, argc, argv, "info", "Info", cf_client_print_info);
}

static int cmd_bulk_metrics(cf_client_ctx *ctx, int argc, char **argv)
{
  return bulk_command(ctx, argc, argv, "metrics", "Metrics", cf_client_print_metrics);
}

/* --- properties, limits, grace-time --- */

/* `properties HANDLE [get KEY | set KEY VALUE | remove KEY]` */
static int property_action(cf_client_ctx *ctx, const cf_client_args *args, cf_err **err)
{
  const char *handle = args->positionals[0];
  const char *action = args->count > 1 ? args->positionals[1] : "list";
  size_t expected = strcmp(action, "list") == 0 ? 1 : strcmp(action, "set") == 0 ? 4 : 3;
  bool known = strcmp(action, "list") == 0 || strcmp(action, "get") == 0 ||
               strcmp(action, "set") == 0 || strcmp(action, "remove") == 0;
  if (!known || args->count != expected) {
    return cf_err_set(err, CF_E_INVALID,
                      "invalid arguments: use `cfwin client properties HANDLE`, or add "
                      "get KEY, set KEY VALUE or remove KEY");
  }
  json_t *result = NULL;
  int rc = 0;
  if (strcmp(action, "list") == 0) {
    rc = container_call(ctx, "GET", handle, "properties", NULL, &result, err);
  } else {
    cf_autofree char *escaped = cf_garden_escape(args->positionals[2]);
    cf_autofree char *suffix = cf_xasprintf("properties/%s", escaped);
    json_t *body =
        strcmp(action, "set") == 0 ? json_pack("{s:s}", "value", args->positionals[3]) : NULL;
    const char *method = strcmp(action, "get") == 0   ? "GET"
                         : strcmp(action, "set") == 0 ? "PUT"
                                                      : "DELETE";
    rc = container_call(ctx, method, handle, suffix, body, &result, err);
    json_decref(body);
  }
  if (rc == 0 && ctx->json) {
    cf_client_print_json(result);
  } else if (rc == 0 && strcmp(action, "list") == 0) {
    cf_client_print_properties(stdout, result);
  } else if (rc == 0 && strcmp(action, "get") == 0) {
    const char *value = json_string_value(cf_json_get(result, "value"));
    printf("%s\n", value != NULL ? value : "");
  }
  json_decref(result);
  return rc;
}

static int cmd_properties(cf_client_ctx *ctx, int argc, char **argv)
{
  cf_client_args args;
  cf_err *err = NULL;
  int parsed = parse_command(ctx, NULL, 0, argc, argv, 1, 4, &args, &err);
  int status = 0;
  if (parsed < 0 || (parsed == 0 && property_action(ctx, &args, &err) < 0)) {
    status = cf_client_fail(ctx, err);
  }
  free(args.positionals);
  return status;
}

static const char *const limit_kinds[] = {"memory", "cpu", "disk", "bandwidth"};

static bool is_limit_kind(const char *name)
{
  for (size_t i = 0; i < sizeof(limit_kinds) / sizeof(limit_kinds[0]); i++) {
    if (strcmp(name, limit_kinds[i]) == 0) {
      return true;
    }
  }
  return false;
}

/* Fetches the named limit kinds (all four when none is named) into one object. */
static int fetch_limits(cf_client_ctx *ctx, const cf_client_args *args, cf_err **err)
{
  const char *handle = args->positionals[0];
  char *const *kinds = args->count > 1 ? args->positionals + 1 : (char *const *)limit_kinds;
  size_t count = args->count > 1 ? args->count - 1 : sizeof(limit_kinds) / sizeof(limit_kinds[0]);
  for (size_t i = 0; i < count; i++) {
    if (!is_limit_kind(kinds[i])) {
      return cf_err_set(err, CF_E_INVALID,
                        "unknown limit \"%s\": use memory, cpu, disk or bandwidth", kinds[i]);
    }
  }
  json_t *limits = json_object();
  for (size_t i = 0; i < count; i++) {
    cf_autofree char *suffix = cf_xasprintf("limits/%s", kinds[i]);
    json_t *limit = NULL;
    if (container_call(ctx, "GET", handle, suffix, NULL, &limit, err) < 0) {
      json_decref(limits);
      return -1;
    }
    json_object_set_new(limits, kinds[i], limit);
  }
  if (ctx->json) {
    cf_client_print_json(limits);
  } else {
    cf_client_print_limits(stdout, handle, limits);
  }
  json_decref(limits);
  return 0;
}

static int cmd_limits(cf_client_ctx *ctx, int argc, char **argv)
{
  cf_client_args args;
  cf_err *err = NULL;
  int parsed = parse_command(ctx, NULL, 0, argc, argv, 1, 5, &args, &err);
  int status = 0;
  if (parsed < 0 || (parsed == 0 && fetch_limits(ctx, &args, &err) < 0)) {
    status = cf_client_fail(ctx, err);
  }
  free(args.positionals);
  return status;
}

static int set_grace_time(cf_client_ctx *ctx, const cf_client_args *args, cf_err **err)
{
  int64_t ns = 0;
  if (cf_parse_duration(args->positionals[1], &ns, err) < 0 || ns < 0) {
    cf_err_clear(err);
    return cf_err_set(err, CF_E_INVALID,
                      "invalid grace time \"%s\": use a duration such as 30s, 5m or 1h; 0 "
                      "means the container is never destroyed for being idle",
                      args->positionals[1]);
  }
  json_t *body = json_integer(ns);
  json_t *result = NULL;
  int rc = container_call(ctx, "PUT", args->positionals[0], "grace_time", body, &result, err);
  if (rc == 0 && ctx->json) {
    cf_client_print_json(result);
  }
  json_decref(body);
  json_decref(result);
  return rc;
}

static int cmd_grace_time(cf_client_ctx *ctx, int argc, char **argv)
{
  cf_client_args args;
  cf_err *err = NULL;
  int parsed = parse_command(ctx, NULL, 0, argc, argv, 2, 2, &args, &err);
  int status = 0;
  if (parsed < 0 || (parsed == 0 && set_grace_time(ctx, &args, &err) < 0)) {
    status = cf_client_fail(ctx, err);
  }
  free(args.positionals);
  return status;
}

/* --- net-in, net-out --- */

typedef struct net_in_options {
  const char *host_port;
  const char *container_port;
} net_in_options;

static int map_port(cf_client_ctx *ctx, const char *handle, const net_in_options *o, cf_err **err)
{
  unsigned long long host = 0;
  unsigned long long container = 0;
  if ((o->host_port != NULL && parse_uint("host-port", o->host_port, 65535, &host, err) < 0) ||
      (o->container_port != NULL &&
       parse_uint("container-port", o->container_port, 65535, &container, err) < 0)) {
    return -1;
  }
  json_t *body = json_pack("{s:s}", "handle", handle);
  if (host != 0) {
    json_object_set_new(body, "host_port", json_integer((json_int_t)host));
  }
  if (container != 0) {
    json_object_set_new(body, "container_port", json_integer((json_int_t)container));
  }
  json_t *result = NULL;
  int rc = container_call(ctx, "POST", handle, "net/in", body, &result, err);
  if (rc == 0 && ctx->json) {
    cf_client_print_json(result);
  } else if (rc == 0) {
    printf("host port %lld -> container port %lld\n",
           (long long)json_integer_value(cf_json_get(result, "host_port")),
           (long long)json_integer_value(cf_json_get(result, "container_port")));
  }
  json_decref(body);
  json_decref(result);
  return rc;
}

static int cmd_net_in(cf_client_ctx *ctx, int argc, char **argv)
{
  net_in_options o = {0};
  cf_flag flags[] = {{"host-port", CF_FLAG_STRING, &o.host_port},
                     {"container-port", CF_FLAG_STRING, &o.container_port}};
  cf_client_args args;
  cf_err *err = NULL;
  int parsed = parse_command(ctx, flags, 2, argc, argv, 1, 1, &args, &err);
  int status = 0;
  if (parsed < 0 || (parsed == 0 && map_port(ctx, args.positionals[0], &o, &err) < 0)) {
    status = cf_client_fail(ctx, err);
  }
  free(args.positionals);
  return status;
}

typedef struct net_out_options {
  const char *protocol;
  cf_flag_strings networks;
  cf_flag_strings ports;
  const char *icmp_type;
  const char *icmp_code;
  bool log;
} net_out_options;

static int protocol_number(const char *name, int *number, cf_err **err)
{
  static const char *const names[] = {"all", "tcp", "udp", "icmp", "icmpv6"};
  for (int i = 0; i < 5; i++) {
    if (strcmp(name, names[i]) == 0) {
      *number = i;
      return 0;
    }
  }
  return cf_err_set(err, CF_E_INVALID,
                    "invalid --protocol \"%s\": use all, tcp, udp, icmp or icmpv6", name);
}

/* Parses "START[-END]" into {"start":..,"end":..}; ports are numbers,
 * networks IP addresses (checked by the server). */
static int parse_range(const char *option, const char *text, bool ports, json_t **out, cf_err **err)
{
  const char *dash = strchr(text, '-');
  cf_autofree char *start = cf_xstrndup(text, dash != NULL ? (size_t)(dash - text) : strlen(text));
  const char *end = dash != NULL ? dash + 1 : start;
  if (!ports) {
    if (start[0] == '\0' || end[0] == '\0') {
      return cf_err_set(err, CF_E_INVALID, "invalid --%s \"%s\": use IP or IP-IP", option, text);
    }
    *out = json_pack("{s:s, s:s}", "start", start, "end", end);
    return 0;
  }
  unsigned long long first = 0;
  unsigned long long last = 0;
  if (parse_uint(option, start, 65535, &first, err) < 0 ||
      parse_uint(option, end, 65535, &last, err) < 0) {
    return -1;
  }
  *out = json_pack("{s:I, s:I}", "start", (json_int_t)first, "end", (json_int_t)last);
  return 0;
}

static int add_ranges(json_t *rule, const char *key, const char *option,
                      const cf_flag_strings *values, bool ports, cf_err **err)
{
  if (values->count == 0) {
    return 0;
  }
  json_t *array = json_array();
  json_object_set_new(rule, key, array);
  for (size_t i = 0; i < values->count; i++) {
    json_t *range = NULL;
    if (parse_range(option, values->values[i], ports, &range, err) < 0) {
      return -1;
    }
    json_array_append_new(array, range);
  }
  return 0;
}

/* Builds a NetOutRule with the Go client's key order and omitted zero values. */
static int build_net_out_rule(const net_out_options *o, json_t **out, cf_err **err)
{
  int protocol = 0;
  if (o->protocol != NULL && protocol_number(o->protocol, &protocol, err) < 0) {
    return -1;
  }
  json_t *rule = json_object();
  if (protocol != 0) {
    json_object_set_new(rule, "protocol", json_integer(protocol));
  }
  unsigned long long type = 0;
  unsigned long long code = 0;
  int rc = add_ranges(rule, "networks", "network", &o->networks, false, err);
  if (rc == 0) {
    rc = add_ranges(rule, "ports", "port", &o->ports, true, err);
  }
  if (rc == 0 && o->icmp_type != NULL &&
      (rc = parse_uint("icmp-type", o->icmp_type, 255, &type, err)) == 0) {
    json_t *icmps = json_pack("{s:I}", "type", (json_int_t)type);
    json_object_set_new(rule, "icmps", icmps);
    if (o->icmp_code != NULL &&
        (rc = parse_uint("icmp-code", o->icmp_code, 255, &code, err)) == 0) {
      json_object_set_new(icmps, "code", json_integer((json_int_t)code));
    }
  }
  if (rc == 0 && o->log) {
    json_object_set_new(rule, "log", json_true());
  }
  if (rc < 0) {
    json_decref(rule);
    return -1;
  }
  *out = rule;
  return 0;
}

static int add_net_out(cf_client_ctx *ctx, const char *handle, const net_out_options *o,
                       cf_err **err)
{
  json_t *rule = NULL;
  if (build_net_out_rule(o, &rule, err) < 0) {
    return -1;
  }
  json_t *result = NULL;
  int rc = container_call(ctx, "POST", handle, "net/out", rule, &result, err);
  if (rc == 0 && ctx->json) {
    cf_client_print_json(result);
  }
  json_decref(rule);
  json_decref(result);
  return rc;
}

static int cmd_net_out(cf_client_ctx *ctx, int argc, char **argv)
{
  net_out_options o = {0};
  cf_flag flags[] = {
      {"protocol", CF_FLAG_STRING, &o.protocol},   {"network", CF_FLAG_STRINGS, &o.networks},
      {"port", CF_FLAG_STRINGS, &o.ports},         {"icmp-type", CF_FLAG_STRING, &o.icmp_type},
      {"icmp-code", CF_FLAG_STRING, &o.icmp_code}, {"log", CF_FLAG_BOOL, &o.log},
  };
  cf_client_args args;
  cf_err *err = NULL;
  int parsed = parse_command(ctx, flags, 6, argc, argv, 1, 1, &args, &err);
  int status = 0;
  if (parsed < 0 || (parsed == 0 && add_net_out(ctx, args.positionals[0], &o, &err) < 0)) {
    status = cf_client_fail(ctx, err);
  }
  free(args.positionals);
  cf_flag_strings_clear(&o.networks);
  cf_flag_strings_clear(&o.ports);
  return status;
}

/* --- stream-in, stream-out --- */

static int read_stdin(void *ctx, char *data, size_t size, size_t *n, cf_err **err)
{
  (void)ctx;
  ssize_t got;
  do {
    got = read(0, data, size);
  } while (got < 0 && errno == EINTR);
  if (got < 0) {
    return cf_err_sys(err, errno, "read the tar stream from stdin");
  }
  *n = (size_t)got;
  return 0;
}

static int write_stdout(void *ctx, const char *data, size_t len, cf_err **err)
{
  (void)ctx;
  if (cf_write_all(1, data, len, err) < 0) {
    return cf_err_wrap(err, "write the tar stream to stdout");
  }
  return 0;
}

typedef struct stream_options {
  const char *path;
  const char *user;
} stream_options;

static int stream_command(cf_client_ctx *ctx, int argc, char **argv, bool in)
{
  stream_options o = {0};
  cf_flag flags[] = {{in ? "to" : "from", CF_FLAG_STRING, &o.path},
                     {"user", CF_FLAG_STRING, &o.user}};
  cf_client_args args;
  cf_err *err = NULL;
  int parsed = parse_command(ctx, flags, 2, argc, argv, 1, 1, &args, &err);
  int rc = parsed;
  if (rc == 0 && o.path == NULL) {
    rc = cf_err_set(&err, CF_E_INVALID, "missing --%s PATH: use `cfwin client %s`",
                    in ? "to" : "from", find_command(ctx->command)->usage);
  }
  if (rc == 0 && !in && isatty(1)) {
    rc = cf_err_set(&err, CF_E_INVALID,
                    "stdout is a terminal: redirect the tar stream to a file or pipe it to tar");
  }
  if (rc == 0 && in) {
    rc = cf_garden_client_stream_in(&ctx->client, args.positionals[0], o.path, o.user, read_stdin,
                                    NULL, &err);
  } else if (rc == 0) {
    rc = cf_garden_client_stream_out(&ctx->client, args.positionals[0], o.path, o.user,
                                     write_stdout, NULL, &err);
  }
  free(args.positionals);
  return rc < 0 ? cf_client_fail(ctx, err) : 0;
}

static int cmd_stream_in(cf_client_ctx *ctx, int argc, char **argv)
{
  return stream_command(ctx, argc, argv, true);
}

static int cmd_stream_out(cf_client_ctx *ctx, int argc, char **argv)
{
  return stream_command(ctx, argc, argv, false);
}

/* --- Help and dispatch --- */

static int cmd_help(cf_client_ctx *ctx, int argc, char **argv);

static const command commands[] = {
    {"ping", cmd_ping, "ping", "check that the server responds", ""},
    {"capacity", cmd_capacity, "capacity", "show the server's memory, disk and container capacity",
     ""},
    {"create", cmd_create, "create [options]", "create a container and print its handle",
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
    {"list", cmd_list, "list [--property NAME=VALUE]... [--quiet]",
     "list containers: handle, state, IP and process count",
     "  --property NAME=VALUE    show only containers with this property (repeatable; all\n"
     "                           must match)\n"
     "  -q, --quiet              print only the handles, one per line\n"},
    {"info", cmd_info, "info HANDLE...", "show the state, addresses, ports and properties", ""},
    {"destroy", cmd_destroy, "destroy HANDLE...", "destroy containers and print their handles", ""},
    {"stop", cmd_stop, "stop HANDLE... [--kill]",
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
    {"stream-in", cmd_stream_in, "stream-in HANDLE --to DIR [--user USER]",
     "extract a tar stream from stdin into DIR in the container",
     "  --to DIR                 directory to extract into (created if missing)\n"
     "  --user USER              user that extracts and owns the files (default: root)\n"},
    {"stream-out", cmd_stream_out, "stream-out HANDLE --from PATH [--user USER]",
     "write a tar stream of PATH in the container to stdout",
     "  --from PATH              file or directory to archive; with a trailing / the\n"
     "                           archive holds the directory's contents\n"
     "  --user USER              user that reads the files (default: root)\n"},
    {"net-in", cmd_net_in, "net-in HANDLE [--host-port N] [--container-port N]",
     "map a host port to a container port and print both",
     "  --host-port N            host port (default 0: the server picks one)\n"
     "  --container-port N       container port (default 0: the same as the host port)\n"},
    {"net-out", cmd_net_out, "net-out HANDLE [options]",
     "allow outbound traffic from the container",
     "  --protocol NAME          all (default), tcp, udp, icmp or icmpv6\n"
     "  --network IP[-IP]        destination address range (repeatable)\n"
     "  --port N[-N]             destination port range (repeatable)\n"
     "  --icmp-type N            ICMP type, for --protocol icmp\n"
     "  --icmp-code N            ICMP code, with --icmp-type\n"
     "  --log                    log the connections this rule allows\n"},
    {"properties", cmd_properties, "properties HANDLE [get KEY | set KEY VALUE | remove KEY]",
     "list, get, set or remove container properties", ""},
    {"limits", cmd_limits, "limits HANDLE [memory|cpu|disk|bandwidth]...",
     "show the limits set at create (all four kinds by default)", ""},
    {"metrics", cmd_metrics, "metrics HANDLE...", "show memory, CPU, disk, process and network use",
     ""},
    {"bulk-info", cmd_bulk_info, "bulk-info HANDLE...",
     "info for several containers in one request", ""},
    {"bulk-metrics", cmd_bulk_metrics, "bulk-metrics HANDLE...",
     "metrics for several containers in one request", ""},
    {"grace-time", cmd_grace_time, "grace-time HANDLE DURATION",
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

/* Reads the global options before the command; *next is the command's index. */
static int parse_globals(cf_client_ctx *ctx, int argc, char **argv, int start, int *next,
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
    int rc =
        global_option(ctx, name, len, eq != NULL ? eq + 1 : NULL, &used_next, argc, argv, i, err);
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
  if (cf_garden_client_init(&ctx->client, ctx->target, &err) < 0) {
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
  const char *env_target = getenv("CFWIN_TARGET");
  cf_client_ctx ctx = {
      .target = env_target != NULL && env_target[0] != '\0' ? env_target : DEFAULT_TARGET,
      .command = "",
  };
  cf_err *err = NULL;
  bool help = false;
  int next = start;
  if (parse_globals(&ctx, argc, argv, start, &next, &help, &err) < 0) {
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
