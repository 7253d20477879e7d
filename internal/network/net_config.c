/* SPDX-License-Identifier: Apache-2.0 */
/* The network role's JSON config file, read with jansson. */
#include "network/net_config.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/mem.h"
#include "network/net_rules.h"

/* A config file is a few hundred bytes; this bounds what a wrong path
 * (a log file, a device) makes cfwin read. */
#define MAX_CONFIG_BYTES (1024 * 1024)

void cf_net_config_init(cf_net_config *config)
{
  memset(config, 0, sizeof(*config));
  config->state_dir = cf_xstrdup(CF_NET_DEFAULT_STATE_DIR);
  config->port_pool_start = CF_NET_DEFAULT_PORT_POOL_START;
  config->port_pool_size = CF_NET_DEFAULT_PORT_POOL_SIZE;
}

void cf_net_config_clear(cf_net_config *config)
{
  free(config->network_name);
  free(config->dns_servers);
  cf_strv_free(config->search_domains, config->search_domain_count);
  free(config->state_dir);
  cf_strv_free(config->unknown_keys, config->unknown_key_count);
  memset(config, 0, sizeof(*config));
}

/* Sets *err to "KEY: expected WHAT, got VALUE" and returns -1. */
static int invalid(cf_err **err, const char *key, const char *what, const json_t *value)
{
  cf_autofree char *text = json_dumps(value, JSON_ENCODE_ANY | JSON_COMPACT);
  return cf_err_set(err, CF_E_INVALID, "%s: expected %s, got %s", key, what,
                    text != NULL ? text : "?");
}

static int read_uint(const char *key, const json_t *value, uint64_t max, uint64_t *out,
                     cf_err **err)
{
  if (!json_is_integer(value) || json_integer_value(value) < 0 ||
      (uint64_t)json_integer_value(value) > max) {
    cf_autofree char *what = cf_xasprintf("an integer from 0 to %llu", (unsigned long long)max);
    return invalid(err, key, what, value);
  }
  *out = (uint64_t)json_integer_value(value);
  return 0;
}

static int read_string(const char *key, const json_t *value, char **out, cf_err **err)
{
  if (!json_is_string(value)) {
    return invalid(err, key, "a string", value);
  }
  free(*out);
  *out = cf_xstrdup(json_string_value(value));
  return 0;
}

static int read_network_name(cf_net_config *c, const json_t *value, cf_err **err)
{
  if (read_string("network_name", value, &c->network_name, err) < 0) {
    return -1;
  }
  if (c->network_name[0] == '\0') {
    return cf_err_set(err, CF_E_INVALID, "network_name: must not be empty");
  }
  return 0;
}

static int read_subnet(cf_net_config *c, const json_t *value, cf_err **err)
{
  const char *text = json_string_value(value);
  uint32_t addr = 0;
  uint8_t len = 0;
  if (text == NULL || !cf_net_parse_cidr(text, &addr, &len)) {
    return invalid(err, "subnet_range", "an IPv4 CIDR such as \"172.30.0.0/22\"", value);
  }
  if (len < 1 || len > 30) {
    return cf_err_set(err, CF_E_INVALID,
                      "subnet_range: prefix length of \"%s\" must be from 1 to 30, so the subnet "
                      "has room for the gateway and a container",
                      text);
  }
  if ((addr & ~cf_net_mask(len)) != 0) {
    char network[16];
    cf_net_format_ipv4(addr & cf_net_mask(len), network);
    return cf_err_set(err, CF_E_INVALID, "subnet_range: \"%s\" has host bits set; use %s/%u", text,
                      network, len);
  }
  c->subnet = addr;
  c->prefix_len = len;
  return 0;
}

static int read_ipv4(const char *key, const json_t *value, uint32_t *out, cf_err **err)
{
  const char *text = json_string_value(value);
  if (text == NULL || !cf_net_parse_ipv4(text, out)) {
    return invalid(err, key, "an IPv4 address", value);
  }
  return 0;
}

static int read_dns_servers(cf_net_config *c, const json_t *value, cf_err **err)
{
  if (!json_is_array(value)) {
    return invalid(err, "dns_servers", "a list of IPv4 addresses", value);
  }
  size_t n = json_array_size(value);
  free(c->dns_servers);
  c->dns_servers = n > 0 ? cf_xcalloc(n, sizeof(uint32_t)) : NULL;
  c->dns_server_count = 0;
  for (size_t i = 0; i < n; i++) {
    cf_autofree char *key = cf_xasprintf("dns_servers[%zu]", i);
    if (read_ipv4(key, json_array_get(value, i), &c->dns_servers[i], err) < 0) {
      return -1;
    }
    c->dns_server_count++;
  }
  return 0;
}

/* Returns whether text contains a byte below 0x20 or DEL. A newline in a
 * search domain would start a new line of the container's resolv.conf. */
static bool has_control_char(const char *text)
{
  for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
    if (*p < 0x20 || *p == 0x7f) {
      return true;
    }
  }
  return false;
}

/* The Windows DNS suffix list is comma-separated, so HNS rejects commas
 * and spaces in an entry; cfwin rejects them on every platform. */
static int read_search_domains(cf_net_config *c, const json_t *value, cf_err **err)
{
  if (!json_is_array(value)) {
    return invalid(err, "search_domains", "a list of domain names", value);
  }
  cf_strv_free(c->search_domains, c->search_domain_count);
  c->search_domains = NULL;
  c->search_domain_count = 0;
  size_t n = json_array_size(value);
  if (n > 0) {
    c->search_domains = cf_xcalloc(n, sizeof(char *));
  }
  for (size_t i = 0; i < n; i++) {
    const char *domain = json_string_value(json_array_get(value, i));
    cf_autofree char *key = cf_xasprintf("search_domains[%zu]", i);
    if (domain == NULL || domain[0] == '\0') {
      return invalid(err, key, "a non-empty domain name", json_array_get(value, i));
    }
    if (strpbrk(domain, ", \t") != NULL) {
      return cf_err_set(err, CF_E_INVALID,
                        "%s: invalid DNS suffix \"%s\": it must not contain a comma or a space",
                        key, domain);
    }
    if (has_control_char(domain)) {
      cf_autofree char *text = json_dumps(json_array_get(value, i), JSON_ENCODE_ANY);
      return cf_err_set(err, CF_E_INVALID,
                        "%s: invalid DNS suffix %s: it must not contain a control character "
                        "such as a newline",
                        key, text != NULL ? text : "?");
    }
    c->search_domains[c->search_domain_count++] = cf_xstrdup(domain);
  }
  return 0;
}

static int read_bool(const char *key, const json_t *value, bool *out, cf_err **err)
{
  if (!json_is_boolean(value)) {
    return invalid(err, key, "true or false", value);
  }
  *out = json_is_true(value);
  return 0;
}

static int read_mtu(cf_net_config *c, const json_t *value, cf_err **err)
{
  uint64_t mtu = 0;
  if (read_uint("mtu", value, 65535, &mtu, err) < 0) {
    return -1;
  }
  if (mtu != 0 && mtu < 68) {
    return cf_err_set(err, CF_E_INVALID,
                      "mtu: %llu is below the IPv4 minimum of 68; use 0 to inherit the host's",
                      (unsigned long long)mtu);
  }
  c->mtu = (uint32_t)mtu;
  return 0;
}

static int read_state_dir(cf_net_config *c, const json_t *value, cf_err **err)
{
  if (read_string("state_dir", value, &c->state_dir, err) < 0) {
    return -1;
  }
  if (c->state_dir[0] == '\0') {
    return cf_err_set(err, CF_E_INVALID, "state_dir: must not be empty");
  }
  return 0;
}

static int read_port_pool(cf_net_config *c, const char *key, const json_t *value, cf_err **err)
{
  uint64_t n = 0;
  if (read_uint(key, value, 65535, &n, err) < 0) {
    return -1;
  }
  if (n == 0) {
    return cf_err_set(err, CF_E_INVALID, "%s: must be at least 1", key);
  }
  if (strcmp(key, "port_pool_start") == 0) {
    c->port_pool_start = (uint16_t)n;
  } else {
    c->port_pool_size = (uint32_t)n;
  }
  return 0;
}

/* Reads one key. Returns 1 for a key this function does not know. */
static int read_key(cf_net_config *c, const char *key, const json_t *value, cf_err **err)
{
  uint64_t n = 0;
  if (strcmp(key, "network_name") == 0) {
    return read_network_name(c, value, err);
  }
  if (strcmp(key, "subnet_range") == 0) {
    return read_subnet(c, value, err);
  }
  if (strcmp(key, "gateway_address") == 0) {
    return read_ipv4(key, value, &c->gateway, err);
  }
  if (strcmp(key, "mtu") == 0) {
    return read_mtu(c, value, err);
  }
  if (strcmp(key, "dns_servers") == 0) {
    return read_dns_servers(c, value, err);
  }
  if (strcmp(key, "search_domains") == 0) {
    return read_search_domains(c, value, err);
  }
  if (strcmp(key, "maximum_outgoing_bandwidth") == 0) {
    return read_uint(key, value, INT64_MAX, &c->maximum_outgoing_bandwidth, err);
  }
  if (strcmp(key, "bandwidth_burst") == 0) {
    return read_uint(key, value, INT64_MAX, &c->bandwidth_burst, err);
  }
  if (strcmp(key, "allow_outbound_traffic_by_default") == 0) {
    return read_bool(key, value, &c->allow_outbound_traffic_by_default, err);
  }
  if (strcmp(key, "wait_timeout_in_seconds") == 0) {
    if (read_uint(key, value, 24 * 3600, &n, err) < 0) {
      return -1;
    }
    c->wait_timeout_in_seconds = (int64_t)n;
    return 0;
  }
  if (strcmp(key, "state_dir") == 0) {
    return read_state_dir(c, value, err);
  }
  if (strcmp(key, "port_pool_start") == 0 || strcmp(key, "port_pool_size") == 0) {
    return read_port_pool(c, key, value, err);
  }
  return 1;
}

static void add_unknown_key(cf_net_config *c, const char *key)
{
  c->unknown_keys = cf_xrealloc(c->unknown_keys, (c->unknown_key_count + 1) * sizeof(char *));
  c->unknown_keys[c->unknown_key_count++] = cf_xstrdup(key);
}

/* The checks that span keys. */
static int check_network(cf_net_config *c, const json_t *root, cf_err **err)
{
  static const char *const required[] = {"network_name", "subnet_range", "gateway_address"};
  for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
    json_t *value = json_object_get(root, required[i]);
    if (value == NULL || json_is_null(value)) {
      return cf_err_set(err, CF_E_INVALID, "%s: missing; the config file must set it", required[i]);
    }
  }
  uint32_t mask = cf_net_mask(c->prefix_len);
  uint32_t broadcast = c->subnet | ~mask;
  char gateway[16];
  cf_net_format_ipv4(c->gateway, gateway);
  if ((c->gateway & mask) != c->subnet || c->gateway == c->subnet || c->gateway == broadcast) {
    return cf_err_set(err, CF_E_INVALID,
                      "gateway_address: %s is not a usable address of subnet_range %s", gateway,
                      json_string_value(json_object_get(root, "subnet_range")));
  }
  c->has_network = true;
  return 0;
}

static int check_port_pool(const cf_net_config *c, cf_err **err)
{
  if ((uint32_t)c->port_pool_start + c->port_pool_size - 1 > 65535) {
    return cf_err_set(err, CF_E_INVALID,
                      "port_pool_start %u with port_pool_size %u passes port 65535",
                      c->port_pool_start, c->port_pool_size);
  }
  return 0;
}

static int read_root(cf_net_config *c, const json_t *root, cf_err **err)
{
  if (!json_is_object(root)) {
    return cf_err_set(err, CF_E_INVALID, "expected a JSON object of keys and values");
  }
  const char *key;
  json_t *value;
  json_object_foreach((json_t *)root, key, value)
  {
    /* Go's decoder leaves a field unset for null; so does cfwin. */
    if (json_is_null(value)) {
      continue;
    }
    int rc = read_key(c, key, value, err);
    if (rc < 0) {
      return -1;
    }
    if (rc == 1) {
      add_unknown_key(c, key);
    }
  }
  if (check_network(c, root, err) < 0) {
    return -1;
  }
  return check_port_pool(c, err);
}

int cf_net_config_parse(const char *text, size_t len, cf_net_config *out, cf_err **err)
{
  cf_net_config_init(out);
  json_error_t jerr;
  json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
  if (root == NULL) {
    cf_net_config_clear(out);
    return cf_err_set(err, CF_E_INVALID, "invalid JSON at line %d column %d: %s", jerr.line,
                      jerr.column, jerr.text);
  }
  int rc = read_root(out, root, err);
  json_decref(root);
  if (rc < 0) {
    cf_net_config_clear(out);
  }
  return rc;
}

int cf_net_config_load(const char *path, cf_net_config *out, cf_err **err)
{
  if (path == NULL || path[0] == '\0') {
    cf_net_config_init(out);
    return 0;
  }
  cf_buf buf;
  cf_buf_init(&buf, MAX_CONFIG_BYTES);
  int rc = cf_read_file(path, &buf, err);
  if (rc == 0) {
    rc = cf_net_config_parse(buf.data != NULL ? buf.data : "", buf.len, out, err);
    if (rc < 0) {
      cf_err_wrap(err, "%s", path);
    }
  } else {
    memset(out, 0, sizeof(*out));
  }
  cf_buf_free(&buf);
  return rc;
}

int cf_net_config_require_network(const cf_net_config *config, cf_err **err)
{
  if (!config->has_network) {
    return cf_err_set(err, CF_E_INVALID,
                      "no network is configured: pass --configFile with network_name, "
                      "subnet_range and gateway_address");
  }
  return 0;
}
