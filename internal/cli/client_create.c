/* SPDX-License-Identifier: Apache-2.0 */
/* `cfwin client create`: a ContainerSpec from command-line options. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "cli/client_cli.h"
#include "garden/json.h"

/* Checks that every text is KEY=VALUE and returns them as a JSON array. */
static int env_array(const char *option, const cf_flag_strings *values, json_t **out, cf_err **err)
{
  json_t *array = json_array();
  for (size_t i = 0; i < values->count; i++) {
    cf_autofree char *key = NULL;
    const char *value = NULL;
    if (cf_client_split_pair(option, values->values[i], &key, &value, err) < 0) {
      json_decref(array);
      return -1;
    }
    json_array_append_new(array, json_string(values->values[i]));
  }
  *out = array;
  return 0;
}

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
  int rc = size ? cf_client_parse_size(option, text, &value, err)
                : cf_client_parse_uint(option, text, (unsigned long long)INT64_MAX, &value, err);
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

/* The length of a leading drive ("C:") of a Windows source path, so the
 * colon after it does not end the source. */
static size_t drive_length(const char *text)
{
  bool drive =
      isalpha((unsigned char)text[0]) && text[1] == ':' && (text[2] == '\\' || text[2] == '/');
  return drive ? 2 : 0;
}

/* Parses SRC:DST[:ro|:rw] into a BindMount; read-only is the default. SRC
 * may start with a drive letter (C:\dir) for a server on Windows. */
static int parse_bind_mount(const char *text, json_t **out, cf_err **err)
{
  const char *first = strchr(text + drive_length(text), ':');
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
  return cf_client_parse_uint(option, copy, 65535, port, err);
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
    if (cf_client_split_pair("property", values->values[i], &key, &value, err) < 0) {
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

int cf_client_cmd_create(cf_client_ctx *ctx, int argc, char **argv)
{
  create_options o = {0};
  cf_flag flags[32];
  int count = init_create_flags(&o, flags);
  cf_client_args args;
  cf_err *err = NULL;
  int parsed = cf_client_parse_command(ctx, flags, count, argc, argv, 0, 0, &args, &err);
  int status = 0;
  if (parsed < 0 || (parsed == 0 && create_container(ctx, &o, &err) < 0)) {
    status = cf_client_fail(ctx, err);
  }
  free(args.positionals);
  create_options_clear(&o);
  return status;
}
