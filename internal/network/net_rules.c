/* SPDX-License-Identifier: Apache-2.0 */
/* IPv4 text forms and Garden's NetIn and NetOut JSON. */
#include "network/net_rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

bool cf_net_parse_ipv4(const char *text, uint32_t *out)
{
  uint32_t addr = 0;
  const char *p = text;
  for (int octet = 0; octet < 4; octet++) {
    if (octet > 0 && *p++ != '.') {
      return false;
    }
    if (*p < '0' || *p > '9') {
      return false;
    }
    /* Go's parser rejects leading zeros, which some tools read as octal. */
    if (p[0] == '0' && p[1] >= '0' && p[1] <= '9') {
      return false;
    }
    unsigned value = 0;
    int digits = 0;
    while (*p >= '0' && *p <= '9' && digits < 4) {
      value = value * 10 + (unsigned)(*p++ - '0');
      digits++;
    }
    if (value > 255 || digits > 3) {
      return false;
    }
    addr = addr << 8 | value;
  }
  if (*p != '\0') {
    return false;
  }
  *out = addr;
  return true;
}

void cf_net_format_ipv4(uint32_t addr, char buf[16])
{
  snprintf(buf, 16, "%u.%u.%u.%u", addr >> 24, (addr >> 16) & 0xff, (addr >> 8) & 0xff,
           addr & 0xff);
}

uint32_t cf_net_mask(uint8_t prefix_len)
{
  return prefix_len == 0 ? 0 : 0xffffffffu << (32 - prefix_len);
}

bool cf_net_parse_cidr(const char *text, uint32_t *addr, uint8_t *prefix_len)
{
  const char *slash = strchr(text, '/');
  if (slash == NULL || slash - text > 15) {
    return false;
  }
  char host[16];
  memcpy(host, text, (size_t)(slash - text));
  host[slash - text] = '\0';
  const char *p = slash + 1;
  if (*p < '0' || *p > '9' || (p[0] == '0' && p[1] != '\0')) {
    return false;
  }
  unsigned len = 0;
  while (*p >= '0' && *p <= '9' && len <= 32) {
    len = len * 10 + (unsigned)(*p++ - '0');
  }
  if (*p != '\0' || len > 32 || !cf_net_parse_ipv4(host, addr)) {
    return false;
  }
  *prefix_len = (uint8_t)len;
  return true;
}

void cf_net_rule_clear(cf_net_rule *rule)
{
  free(rule->networks);
  free(rule->ports);
  memset(rule, 0, sizeof(*rule));
}

void cf_net_rules_free(cf_net_rule *rules, size_t count)
{
  for (size_t i = 0; i < count; i++) {
    cf_net_rule_clear(&rules[i]);
  }
  free(rules);
}

void cf_net_rule_copy(cf_net_rule *dst, const cf_net_rule *src)
{
  *dst = *src;
  dst->networks = NULL;
  dst->ports = NULL;
  if (src->network_count > 0) {
    dst->networks = cf_xmalloc(src->network_count * sizeof(*src->networks));
    memcpy(dst->networks, src->networks, src->network_count * sizeof(*src->networks));
  }
  if (src->port_count > 0) {
    dst->ports = cf_xmalloc(src->port_count * sizeof(*src->ports));
    memcpy(dst->ports, src->ports, src->port_count * sizeof(*src->ports));
  }
}

/* Reads an optional integer in min..max; a missing key or null leaves *out
 * at 0 and sets *present to false. */
static int get_int(const json_t *obj, const char *key, const char *where, long long min,
                   long long max, long long *out, bool *present, cf_err **err)
{
  json_t *value = json_object_get(obj, key);
  *out = 0;
  *present = value != NULL && !json_is_null(value);
  if (!*present) {
    return 0;
  }
  if (!json_is_integer(value)) {
    cf_autofree char *text = json_dumps(value, JSON_ENCODE_ANY | JSON_COMPACT);
    return cf_err_set(err, CF_E_INVALID, "%s: %s: expected an integer, got %s", where, key,
                      text != NULL ? text : "?");
  }
  long long n = json_integer_value(value);
  if (n < min || n > max) {
    return cf_err_set(err, CF_E_INVALID, "%s: %s: %lld is out of range %lld-%lld", where, key, n,
                      min, max);
  }
  *out = n;
  return 0;
}

int cf_net_port_get(const json_t *obj, const char *key, const char *where, int min, uint16_t *out,
                    cf_err **err)
{
  long long value = 0;
  bool present = false;
  if (get_int(obj, key, where, min, 65535, &value, &present, err) < 0) {
    return -1;
  }
  *out = (uint16_t)value;
  return 0;
}

static int check_object(const json_t *json, const char *where, cf_err **err)
{
  if (!json_is_object(json)) {
    return cf_err_set(err, CF_E_INVALID, "%s: expected a JSON object", where);
  }
  return 0;
}

/* An optional array under key; NULL when missing or null. */
static int get_array(const json_t *obj, const char *key, const char *where, json_t **out,
                     cf_err **err)
{
  json_t *value = json_object_get(obj, key);
  *out = NULL;
  if (value == NULL || json_is_null(value)) {
    return 0;
  }
  if (!json_is_array(value)) {
    return cf_err_set(err, CF_E_INVALID, "%s: %s: expected a JSON array", where, key);
  }
  *out = value;
  return 0;
}

static int get_ipv4(const json_t *obj, const char *key, const char *where, uint32_t *out,
                    cf_err **err)
{
  json_t *value = json_object_get(obj, key);
  if (value == NULL || json_is_null(value)) {
    return cf_err_set(err, CF_E_INVALID, "%s: %s: missing", where, key);
  }
  if (!json_is_string(value) || !cf_net_parse_ipv4(json_string_value(value), out)) {
    cf_autofree char *text = json_dumps(value, JSON_ENCODE_ANY | JSON_COMPACT);
    return cf_err_set(err, CF_E_INVALID, "%s: %s: %s is not an IPv4 address", where, key,
                      text != NULL ? text : "?");
  }
  return 0;
}

static int parse_network(const json_t *json, const char *where, cf_net_range *out, cf_err **err)
{
  if (check_object(json, where, err) < 0 || get_ipv4(json, "start", where, &out->start, err) < 0 ||
      get_ipv4(json, "end", where, &out->end, err) < 0) {
    return -1;
  }
  if (out->start > out->end) {
    char start[16];
    char end[16];
    cf_net_format_ipv4(out->start, start);
    cf_net_format_ipv4(out->end, end);
    return cf_err_set(err, CF_E_INVALID, "%s: start %s is after end %s", where, start, end);
  }
  return 0;
}

static int parse_port_range(const json_t *json, const char *where, cf_port_range *out, cf_err **err)
{
  long long start = 0;
  long long end = 0;
  bool has_start = false;
  bool has_end = false;
  if (check_object(json, where, err) < 0 ||
      get_int(json, "start", where, 1, 65535, &start, &has_start, err) < 0 ||
      get_int(json, "end", where, 1, 65535, &end, &has_end, err) < 0) {
    return -1;
  }
  if (!has_start) {
    return cf_err_set(err, CF_E_INVALID, "%s: start: missing", where);
  }
  /* Garden's PortRangeFromPort sets both; a lone start means one port. */
  if (!has_end) {
    end = start;
  }
  if (start > end) {
    return cf_err_set(err, CF_E_INVALID, "%s: start %lld is after end %lld", where, start, end);
  }
  out->start = (uint16_t)start;
  out->end = (uint16_t)end;
  return 0;
}

static int parse_networks(const json_t *rule, const char *where, cf_net_rule *out, cf_err **err)
{
  json_t *array = NULL;
  if (get_array(rule, "networks", where, &array, err) < 0) {
    return -1;
  }
  size_t n = array != NULL ? json_array_size(array) : 0;
  out->networks = n > 0 ? cf_xcalloc(n, sizeof(*out->networks)) : NULL;
  for (size_t i = 0; i < n; i++) {
    cf_autofree char *item = cf_xasprintf("%s: networks[%zu]", where, i);
    if (parse_network(json_array_get(array, i), item, &out->networks[i], err) < 0) {
      return -1;
    }
    out->network_count++;
  }
  for (size_t i = 0; i < n; i++) {
    for (size_t j = 0; j < i; j++) {
      if (out->networks[i].start <= out->networks[j].end &&
          out->networks[j].start <= out->networks[i].end) {
        return cf_err_set(err, CF_E_INVALID,
                          "%s: networks[%zu] overlaps networks[%zu]; merge them into one range",
                          where, i, j);
      }
    }
  }
  return 0;
}

static int parse_ports(const json_t *rule, const char *where, cf_net_rule *out, cf_err **err)
{
  json_t *array = NULL;
  if (get_array(rule, "ports", where, &array, err) < 0) {
    return -1;
  }
  size_t n = array != NULL ? json_array_size(array) : 0;
  if (n > 0 && out->protocol != CF_NET_PROTO_TCP && out->protocol != CF_NET_PROTO_UDP) {
    return cf_err_set(err, CF_E_INVALID,
                      "%s: ports: only tcp (1) and udp (2) rules take ports, this rule's protocol "
                      "is %s (%d): remove the ports or pick tcp or udp",
                      where, out->protocol == CF_NET_PROTO_ICMP ? "icmp" : "all",
                      (int)out->protocol);
  }
  out->ports = n > 0 ? cf_xcalloc(n, sizeof(*out->ports)) : NULL;
  for (size_t i = 0; i < n; i++) {
    cf_autofree char *item = cf_xasprintf("%s: ports[%zu]", where, i);
    if (parse_port_range(json_array_get(array, i), item, &out->ports[i], err) < 0) {
      return -1;
    }
    out->port_count++;
  }
  for (size_t i = 0; i < n; i++) {
    for (size_t j = 0; j < i; j++) {
      if (out->ports[i].start <= out->ports[j].end && out->ports[j].start <= out->ports[i].end) {
        return cf_err_set(err, CF_E_INVALID,
                          "%s: ports[%zu] overlaps ports[%zu]; merge them into one range", where, i,
                          j);
      }
    }
  }
  return 0;
}

static int parse_icmps(const json_t *rule, const char *where, cf_net_rule *out, cf_err **err)
{
  json_t *icmps = json_object_get(rule, "icmps");
  if (icmps == NULL || json_is_null(icmps)) {
    return 0;
  }
  cf_autofree char *item = cf_xasprintf("%s: icmps", where);
  if (check_object(icmps, item, err) < 0) {
    return -1;
  }
  if (out->protocol != CF_NET_PROTO_ICMP) {
    return cf_err_set(err, CF_E_INVALID,
                      "%s: only icmp (3) rules take icmps, this rule's protocol is %d", item,
                      (int)out->protocol);
  }
  long long type = 0;
  long long code = 0;
  bool has_type = false;
  if (get_int(icmps, "type", item, 0, 255, &type, &has_type, err) < 0 ||
      get_int(icmps, "code", item, 0, 255, &code, &out->has_icmp_code, err) < 0) {
    return -1;
  }
  out->has_icmp = true;
  out->icmp_type = (uint8_t)type;
  out->icmp_code = (uint8_t)code;
  return 0;
}

static int parse_protocol(const json_t *rule, const char *where, cf_net_rule *out, cf_err **err)
{
  long long protocol = 0;
  bool present = false;
  if (get_int(rule, "protocol", where, 0, 1LL << 32, &protocol, &present, err) < 0) {
    return -1;
  }
  if (protocol == 4) {
    return cf_err_set(err, CF_E_INVALID,
                      "%s: protocol 4 (icmpv6) is not supported: cfwin networks are IPv4 only",
                      where);
  }
  if (protocol > CF_NET_PROTO_ICMP) {
    return cf_err_set(err, CF_E_INVALID,
                      "%s: invalid protocol: %lld; use 0 (all), 1 (tcp), 2 (udp) or 3 (icmp)",
                      where, protocol);
  }
  out->protocol = (cf_net_protocol)protocol;
  return 0;
}

static int parse_log(const json_t *rule, const char *where, cf_net_rule *out, cf_err **err)
{
  json_t *log = json_object_get(rule, "log");
  if (log == NULL || json_is_null(log)) {
    return 0;
  }
  if (!json_is_boolean(log)) {
    return cf_err_set(err, CF_E_INVALID, "%s: log: expected true or false", where);
  }
  out->log = json_is_true(log);
  return 0;
}

int cf_net_rule_parse(const json_t *json, const char *where, cf_net_rule *out, cf_err **err)
{
  memset(out, 0, sizeof(*out));
  if (check_object(json, where, err) < 0 || parse_protocol(json, where, out, err) < 0 ||
      parse_networks(json, where, out, err) < 0 || parse_ports(json, where, out, err) < 0 ||
      parse_icmps(json, where, out, err) < 0 || parse_log(json, where, out, err) < 0) {
    cf_net_rule_clear(out);
    return -1;
  }
  return 0;
}

int cf_net_rules_parse(const json_t *array, const char *where, cf_net_rule **rules, size_t *count,
                       cf_err **err)
{
  *rules = NULL;
  *count = 0;
  if (array == NULL || json_is_null(array)) {
    return 0;
  }
  if (!json_is_array(array)) {
    return cf_err_set(err, CF_E_INVALID, "%s: expected a JSON array of rules", where);
  }
  size_t n = json_array_size(array);
  cf_net_rule *parsed = n > 0 ? cf_xcalloc(n, sizeof(*parsed)) : NULL;
  for (size_t i = 0; i < n; i++) {
    cf_autofree char *item = cf_xasprintf("%s[%zu]", where, i);
    if (cf_net_rule_parse(json_array_get(array, i), item, &parsed[i], err) < 0) {
      cf_net_rules_free(parsed, i);
      return -1;
    }
  }
  *rules = parsed;
  *count = n;
  return 0;
}

static json_t *networks_to_json(const cf_net_rule *rule)
{
  json_t *networks = json_array();
  for (size_t i = 0; i < rule->network_count; i++) {
    char start[16];
    char end[16];
    cf_net_format_ipv4(rule->networks[i].start, start);
    cf_net_format_ipv4(rule->networks[i].end, end);
    json_array_append_new(networks, json_pack("{s:s, s:s}", "start", start, "end", end));
  }
  return networks;
}

json_t *cf_net_rule_to_json(const cf_net_rule *rule)
{
  json_t *json = json_object();
  if (rule->protocol != CF_NET_PROTO_ALL) {
    json_object_set_new(json, "protocol", json_integer(rule->protocol));
  }
  if (rule->network_count > 0) {
    json_object_set_new(json, "networks", networks_to_json(rule));
  }
  if (rule->port_count > 0) {
    json_t *ports = json_array();
    for (size_t i = 0; i < rule->port_count; i++) {
      json_array_append_new(ports, json_pack("{s:i, s:i}", "start", (int)rule->ports[i].start,
                                             "end", (int)rule->ports[i].end));
    }
    json_object_set_new(json, "ports", ports);
  }
  if (rule->has_icmp) {
    json_t *icmps = json_pack("{s:i}", "type", (int)rule->icmp_type);
    if (rule->has_icmp_code) {
      json_object_set_new(icmps, "code", json_integer(rule->icmp_code));
    }
    json_object_set_new(json, "icmps", icmps);
  }
  if (rule->log) {
    json_object_set_new(json, "log", json_true());
  }
  return json;
}

int cf_net_mapping_parse(const json_t *json, const char *where, cf_net_mapping *out, cf_err **err)
{
  if (check_object(json, where, err) < 0 ||
      cf_net_port_get(json, "host_port", where, 0, &out->host_port, err) < 0 ||
      cf_net_port_get(json, "container_port", where, 0, &out->container_port, err) < 0) {
    return -1;
  }
  if (out->container_port == 0) {
    out->container_port = out->host_port;
  }
  if (out->host_port == 0 && out->container_port == 0) {
    return cf_err_set(err, CF_E_INVALID,
                      "%s: host_port and container_port are both 0; set container_port", where);
  }
  return 0;
}

int cf_net_mappings_parse(const json_t *array, const char *where, cf_net_mapping **mappings,
                          size_t *count, cf_err **err)
{
  *mappings = NULL;
  *count = 0;
  if (array == NULL || json_is_null(array)) {
    return 0;
  }
  if (!json_is_array(array)) {
    return cf_err_set(err, CF_E_INVALID, "%s: expected a JSON array", where);
  }
  size_t n = json_array_size(array);
  cf_autofree cf_net_mapping *parsed = n > 0 ? cf_xcalloc(n, sizeof(*parsed)) : NULL;
  for (size_t i = 0; i < n; i++) {
    cf_autofree char *item = cf_xasprintf("%s[%zu]", where, i);
    if (cf_net_mapping_parse(json_array_get(array, i), item, &parsed[i], err) < 0) {
      return -1;
    }
    for (size_t j = 0; j < i; j++) {
      if (parsed[i].host_port != 0 && parsed[i].host_port == parsed[j].host_port) {
        return cf_err_set(err, CF_E_INVALID, "%s: host_port %u is already mapped by %s[%zu]", item,
                          parsed[i].host_port, where, j);
      }
    }
  }
  *mappings = cf_steal(&parsed);
  *count = n;
  return 0;
}
