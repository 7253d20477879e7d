/* SPDX-License-Identifier: Apache-2.0 */
/* The JSON documents of Guardian's network plugin contract. */
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "network/net.h"
#include "network/net_rules.h"

void cf_net_up_input_clear(cf_net_up_input *input)
{
  cf_net_rules_free(input->rules, input->rule_count);
  free(input->mappings);
  free(input->http_ports);
  memset(input, 0, sizeof(*input));
}

void cf_net_up_result_clear(cf_net_up_result *result)
{
  free(result->mappings);
  memset(result, 0, sizeof(*result));
}

static json_t *load_input(const char *text, size_t len, cf_err **err)
{
  json_error_t jerr;
  json_t *root = json_loadb(text, len, JSON_DECODE_ANY, &jerr);
  if (root == NULL) {
    cf_err_set(err, CF_E_INVALID, "invalid JSON on stdin at line %d column %d: %s", jerr.line,
               jerr.column, jerr.text);
    return NULL;
  }
  if (!json_is_object(root) && !json_is_null(root)) {
    json_decref(root);
    cf_err_set(err, CF_E_INVALID, "expected a JSON object on stdin");
    return NULL;
  }
  return root;
}

/* Reads one entry of Properties.ports ("8080"), as winc-network does. */
static int parse_http_port(const char *entry, size_t len, uint16_t *port, cf_err **err)
{
  cf_autofree char *text = cf_xstrndup(entry, len);
  char *end = NULL;
  errno = 0;
  long value = strtol(text, &end, 10);
  if (text[0] == '\0' || *end != '\0' || errno != 0 || value < 1 || value > 65535) {
    return cf_err_set(err, CF_E_INVALID,
                      "Invalid port in input.Properties.ports: %s, error: not an integer from 1 "
                      "to 65535",
                      text);
  }
  *port = (uint16_t)value;
  return 0;
}

/* Properties.ports is a comma-separated string of container ports that
 * Windows opens HTTP URL reservations for. */
static int parse_http_ports(const json_t *properties, cf_net_up_input *out, cf_err **err)
{
  json_t *ports = json_object_get(properties, "ports");
  if (ports == NULL) {
    return 0;
  }
  if (!json_is_string(ports)) {
    cf_autofree char *text = json_dumps(ports, JSON_ENCODE_ANY | JSON_COMPACT);
    return cf_err_set(err, CF_E_INVALID, "Invalid type input.Properties.ports: %s",
                      text != NULL ? text : "?");
  }
  const char *p = json_string_value(ports);
  if (p[0] == '\0') {
    return 0;
  }
  for (;;) {
    size_t n = strcspn(p, ",");
    out->http_ports = cf_xrealloc(out->http_ports, (out->http_port_count + 1) * sizeof(uint16_t));
    if (parse_http_port(p, n, &out->http_ports[out->http_port_count], err) < 0) {
      return -1;
    }
    out->http_port_count++;
    if (p[n] == '\0') {
      return 0;
    }
    p += n + 1;
  }
}

static int parse_up_fields(const json_t *root, cf_net_up_input *out, cf_err **err)
{
  json_t *pid = json_object_get(root, "Pid");
  if (pid != NULL && !json_is_null(pid)) {
    if (!json_is_integer(pid) || json_integer_value(pid) < 0) {
      return cf_err_set(err, CF_E_INVALID, "Pid: expected a process id");
    }
    /* pid_t is 32 bits: a larger value would name another process. */
    if (json_integer_value(pid) > INT32_MAX) {
      return cf_err_set(err, CF_E_INVALID, "Pid: invalid process id %lld: the maximum is %d",
                        (long long)json_integer_value(pid), INT32_MAX);
    }
    out->pid = json_integer_value(pid);
  }
  json_t *properties = json_object_get(root, "Properties");
  if (properties != NULL && !json_is_null(properties)) {
    if (!json_is_object(properties)) {
      return cf_err_set(err, CF_E_INVALID, "Properties: expected a JSON object");
    }
    out->property_count = json_object_size(properties);
    if (parse_http_ports(properties, out, err) < 0) {
      return -1;
    }
  }
  if (cf_net_rules_parse(json_object_get(root, "netout_rules"), "netout_rules", &out->rules,
                         &out->rule_count, err) < 0) {
    return -1;
  }
  return cf_net_mappings_parse(json_object_get(root, "netin"), "netin", &out->mappings,
                               &out->mapping_count, err);
}

int cf_net_up_input_parse(const char *text, size_t len, cf_net_up_input *out, cf_err **err)
{
  memset(out, 0, sizeof(*out));
  json_t *root = load_input(text, len, err);
  if (root == NULL) {
    return -1;
  }
  int rc = json_is_null(root) ? 0 : parse_up_fields(root, out, err);
  json_decref(root);
  if (rc < 0) {
    cf_net_up_input_clear(out);
  }
  return rc;
}

/* winc-network's mapped-ports property: a JSON array as a string. */
static char *mapped_ports(const cf_net_up_result *result)
{
  json_t *array = json_array();
  for (size_t i = 0; i < result->mapping_count; i++) {
    json_t *entry = json_object();
    json_object_set_new(entry, "HostPort", json_integer(result->mappings[i].host_port));
    json_object_set_new(entry, "ContainerPort", json_integer(result->mappings[i].container_port));
    json_array_append_new(array, entry);
  }
  char *text = json_dumps(array, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref(array);
  return text;
}

char *cf_net_up_output(const cf_net_config *config, const cf_net_up_result *result)
{
  char address[16];
  cf_net_format_ipv4(result->address, address);
  cf_autofree char *ports = mapped_ports(result);
  json_t *properties = json_object();
  json_object_set_new(properties, "garden.network.container-ip", json_string(address));
  /* Deprecated in Garden; winc-network always sends this value. */
  json_object_set_new(properties, "garden.network.host-ip", json_string("255.255.255.255"));
  json_object_set_new(properties, "garden.network.mapped-ports", json_string(ports));
  json_t *root = json_pack("{s:o}", "properties", properties);
  if (config->dns_server_count > 0) {
    json_t *servers = json_array();
    for (size_t i = 0; i < config->dns_server_count; i++) {
      char server[16];
      cf_net_format_ipv4(config->dns_servers[i], server);
      json_array_append_new(servers, json_string(server));
    }
    json_object_set_new(root, "dns_servers", servers);
  }
  char *text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref(root);
  return text;
}

int cf_net_net_in_parse(const char *text, size_t len, cf_net_mapping *out, cf_err **err)
{
  memset(out, 0, sizeof(*out));
  json_t *root = load_input(text, len, err);
  if (root == NULL) {
    return -1;
  }
  int rc = 0;
  if (json_is_null(root)) {
    rc = cf_err_set(err, CF_E_INVALID, "expected {\"HostPort\":N,\"ContainerPort\":M} on stdin");
  } else if (cf_net_port_get(root, "HostPort", "net-in", 0, &out->host_port, err) < 0 ||
             cf_net_port_get(root, "ContainerPort", "net-in", 0, &out->container_port, err) < 0) {
    rc = -1;
  }
  json_decref(root);
  return rc;
}

static int parse_net_out_fields(const json_t *root, bool bulk, char **container_ip,
                                cf_net_rule **rules, size_t *count, cf_err **err)
{
  json_t *ip = json_object_get(root, "container_ip");
  if (ip != NULL && !json_is_null(ip)) {
    if (!json_is_string(ip)) {
      return cf_err_set(err, CF_E_INVALID, "container_ip: expected a string");
    }
    *container_ip = cf_xstrdup(json_string_value(ip));
  }
  if (bulk) {
    return cf_net_rules_parse(json_object_get(root, "netout_rules"), "netout_rules", rules, count,
                              err);
  }
  json_t *rule = json_object_get(root, "netout_rule");
  if (rule == NULL || json_is_null(rule)) {
    return cf_err_set(err, CF_E_INVALID, "netout_rule: missing");
  }
  cf_net_rule *parsed = cf_xcalloc(1, sizeof(*parsed));
  if (cf_net_rule_parse(rule, "netout_rule", parsed, err) < 0) {
    free(parsed);
    return -1;
  }
  *rules = parsed;
  *count = 1;
  return 0;
}

int cf_net_net_out_parse(const char *text, size_t len, bool bulk, char **container_ip,
                         cf_net_rule **rules, size_t *count, cf_err **err)
{
  *container_ip = NULL;
  *rules = NULL;
  *count = 0;
  json_t *root = load_input(text, len, err);
  if (root == NULL) {
    return -1;
  }
  int rc = 0;
  if (json_is_null(root)) {
    rc = cf_err_set(err, CF_E_INVALID, "expected a JSON object on stdin, got null");
  } else {
    rc = parse_net_out_fields(root, bulk, container_ip, rules, count, err);
  }
  json_decref(root);
  if (rc < 0) {
    free(*container_ip);
    *container_ip = NULL;
  }
  return rc;
}
