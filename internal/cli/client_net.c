/* SPDX-License-Identifier: Apache-2.0 */
/* `cfwin client net-in` and `net-out`. */
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "cli/client_cli.h"
#include "garden/json.h"

typedef struct net_in_options {
  const char *host_port;
  const char *container_port;
} net_in_options;

static int map_port(cf_client_ctx *ctx, const char *handle, const net_in_options *o, cf_err **err)
{
  unsigned long long host = 0;
  unsigned long long container = 0;
  if ((o->host_port != NULL &&
       cf_client_parse_uint("host-port", o->host_port, 65535, &host, err) < 0) ||
      (o->container_port != NULL &&
       cf_client_parse_uint("container-port", o->container_port, 65535, &container, err) < 0)) {
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
  int rc = cf_client_container_call(ctx, "POST", handle, "net/in", body, &result, err);
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

int cf_client_cmd_net_in(cf_client_ctx *ctx, int argc, char **argv)
{
  net_in_options o = {0};
  cf_flag flags[] = {{"host-port", CF_FLAG_STRING, &o.host_port},
                     {"container-port", CF_FLAG_STRING, &o.container_port}};
  cf_client_args args;
  cf_err *err = NULL;
  int parsed = cf_client_parse_command(ctx, flags, 2, argc, argv, 1, 1, &args, &err);
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
  if (cf_client_parse_uint(option, start, 65535, &first, err) < 0 ||
      cf_client_parse_uint(option, end, 65535, &last, err) < 0) {
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
      (rc = cf_client_parse_uint("icmp-type", o->icmp_type, 255, &type, err)) == 0) {
    json_t *icmps = json_pack("{s:I}", "type", (json_int_t)type);
    json_object_set_new(rule, "icmps", icmps);
    if (o->icmp_code != NULL &&
        (rc = cf_client_parse_uint("icmp-code", o->icmp_code, 255, &code, err)) == 0) {
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
  int rc = cf_client_container_call(ctx, "POST", handle, "net/out", rule, &result, err);
  if (rc == 0 && ctx->json) {
    cf_client_print_json(result);
  }
  json_decref(rule);
  json_decref(result);
  return rc;
}

int cf_client_cmd_net_out(cf_client_ctx *ctx, int argc, char **argv)
{
  net_out_options o = {0};
  cf_flag flags[] = {
      {"protocol", CF_FLAG_STRING, &o.protocol},   {"network", CF_FLAG_STRINGS, &o.networks},
      {"port", CF_FLAG_STRINGS, &o.ports},         {"icmp-type", CF_FLAG_STRING, &o.icmp_type},
      {"icmp-code", CF_FLAG_STRING, &o.icmp_code}, {"log", CF_FLAG_BOOL, &o.log},
  };
  cf_client_args args;
  cf_err *err = NULL;
  int parsed = cf_client_parse_command(ctx, flags, 6, argc, argv, 1, 1, &args, &err);
  int status = 0;
  if (parsed < 0 || (parsed == 0 && add_net_out(ctx, args.positionals[0], &o, &err) < 0)) {
    status = cf_client_fail(ctx, err);
  }
  free(args.positionals);
  cf_flag_strings_clear(&o.networks);
  cf_flag_strings_clear(&o.ports);
  return status;
}
