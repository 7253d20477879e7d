/* SPDX-License-Identifier: Apache-2.0 */
/* Builders of the HCN v2 documents the Windows network backend sends; see
 * winhcn.h. */
#include "network/winhcn.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/mem.h"
#include "network/winhcn_json.h"

#define SCHEMA_VERSION "\"SchemaVersion\":{\"Major\":2,\"Minor\":0}"
#define DEFAULT_ROUTE "0.0.0.0/0"

static uint32_t prefix_mask(uint8_t prefix_len)
{
  return prefix_len == 0 ? 0 : UINT32_MAX << (32 - prefix_len);
}

static void append_ipv4(cf_buf *buf, uint32_t address)
{
  char text[CF_HCN_IPV4_STRLEN];
  cf_hcn_ipv4_format(address, text);
  cf_hcnj_string(buf, text);
}

static void append_string_array(cf_buf *buf, const char *const *items, size_t count)
{
  cf_buf_append_str(buf, "[", NULL);
  for (size_t i = 0; i < count; i++) {
    cf_buf_append_str(buf, i > 0 ? "," : "", NULL);
    cf_hcnj_string(buf, items[i]);
  }
  cf_buf_append_str(buf, "]", NULL);
}

static void append_default_route(cf_buf *buf, uint32_t gateway)
{
  cf_buf_append_str(buf, "\"Routes\":[{\"NextHop\":", NULL);
  append_ipv4(buf, gateway);
  cf_buf_append_str(buf, ",\"DestinationPrefix\":\"" DEFAULT_ROUTE "\"}]", NULL);
}

/* --- Network --- */

static int check_network(const cf_net_network *network, cf_err **err)
{
  if (network->name == NULL || network->name[0] == '\0') {
    return cf_err_set(err, CF_E_INVALID, "the network name is empty; set network_name");
  }
  if (network->prefix_len < 1 || network->prefix_len > 30) {
    return cf_err_set(err, CF_E_INVALID,
                      "subnet prefix length %u is invalid: it must be between 1 and 30",
                      (unsigned)network->prefix_len);
  }
  uint32_t mask = prefix_mask(network->prefix_len);
  char subnet[CF_HCN_IPV4_STRLEN];
  char gateway[CF_HCN_IPV4_STRLEN];
  cf_hcn_ipv4_format(network->subnet, subnet);
  cf_hcn_ipv4_format(network->gateway, gateway);
  if ((network->subnet & ~mask) != 0) {
    return cf_err_set(err, CF_E_INVALID, "subnet %s/%u has host bits set", subnet,
                      (unsigned)network->prefix_len);
  }
  uint32_t host = network->gateway & ~mask;
  if ((network->gateway & mask) != network->subnet || host == 0 || host == ~mask) {
    return cf_err_set(err, CF_E_INVALID, "gateway %s is not a host address of subnet %s/%u",
                      gateway, subnet, (unsigned)network->prefix_len);
  }
  return cf_hcn_search_domains_check(network->search_domains, network->search_domain_count, err);
}

int cf_hcn_network_json(const cf_net_network *network, char **out, cf_err **err)
{
  if (check_network(network, err) < 0) {
    return -1;
  }
  char subnet[CF_HCN_IPV4_STRLEN];
  cf_hcn_ipv4_format(network->subnet, subnet);
  cf_buf buf;
  cf_hcnj_doc_init(&buf);
  cf_buf_append_str(&buf, "{" SCHEMA_VERSION ",\"Name\":", NULL);
  cf_hcnj_string(&buf, network->name);
  cf_buf_append_str(&buf, ",\"Type\":\"NAT\",\"Ipams\":[{\"Type\":\"Static\",\"Subnets\":[{", NULL);
  cf_buf_printf(&buf, NULL, "\"IpAddressPrefix\":\"%s/%u\",", subnet,
                (unsigned)network->prefix_len);
  append_default_route(&buf, network->gateway);
  cf_buf_append_str(&buf, "}]}]", NULL);
  if (network->search_domain_count > 0) {
    cf_buf_append_str(&buf, ",\"Dns\":{\"Search\":", NULL);
    append_string_array(&buf, network->search_domains, network->search_domain_count);
    cf_buf_append_str(&buf, "}", NULL);
  }
  cf_buf_append_str(&buf, ",\"Flags\":0,\"Policies\":[]}", NULL);
  return cf_hcnj_doc_take("the HCN network document", &buf, out, err);
}

/* --- Policies --- */

static int check_rule(const cf_net_rule *rule, size_t index, cf_err **err)
{
  if ((unsigned)rule->protocol > CF_NET_PROTO_ICMP) {
    return cf_err_set(err, CF_E_INVALID, "NetOut rule %zu: invalid protocol: %d", index,
                      (int)rule->protocol);
  }
  for (size_t i = 0; i < rule->network_count; i++) {
    if (rule->networks[i].start > rule->networks[i].end) {
      char start[CF_HCN_IPV4_STRLEN];
      char end[CF_HCN_IPV4_STRLEN];
      cf_hcn_ipv4_format(rule->networks[i].start, start);
      cf_hcn_ipv4_format(rule->networks[i].end, end);
      return cf_err_set(err, CF_E_INVALID, "NetOut rule %zu: network %s-%s starts after its end",
                        index, start, end);
    }
  }
  for (size_t i = 0; i < rule->port_count; i++) {
    if (rule->ports[i].start > rule->ports[i].end) {
      return cf_err_set(err, CF_E_INVALID, "NetOut rule %zu: port range %u-%u starts after its end",
                        index, (unsigned)rule->ports[i].start, (unsigned)rule->ports[i].end);
    }
  }
  return 0;
}

static int check_policy_set(const cf_hcn_policy_set *set, cf_err **err)
{
  for (size_t i = 0; i < set->mapping_count; i++) {
    if (set->mappings[i].host_port == 0 || set->mappings[i].container_port == 0) {
      return cf_err_set(err, CF_E_INVALID,
                        "NetIn mapping %zu: host port %u and container port %u must both be set", i,
                        (unsigned)set->mappings[i].host_port,
                        (unsigned)set->mappings[i].container_port);
    }
  }
  for (size_t i = 0; i < set->rule_count; i++) {
    if (check_rule(&set->rules[i], i, err) < 0) {
      return -1;
    }
  }
  return 0;
}

static int hcn_protocol(cf_net_protocol protocol)
{
  switch (protocol) {
  case CF_NET_PROTO_TCP:
    return CF_HCN_PROTOCOL_TCP;
  case CF_NET_PROTO_UDP:
    return CF_HCN_PROTOCOL_UDP;
  case CF_NET_PROTO_ICMP:
    return CF_HCN_PROTOCOL_ICMP;
  default:
    return CF_HCN_PROTOCOL_ANY;
  }
}

/* Opens an ACL policy: {"Type":"ACL","Settings":{"Protocols":"<n>",
 * "Action":..,"Direction":.. The caller appends the address and port
 * members and closes it with close_acl. */
static void open_acl(cf_buf *buf, int protocol, const char *action, const char *direction)
{
  cf_buf_printf(buf, NULL,
                "{\"Type\":\"ACL\",\"Settings\":{\"Protocols\":\"%d\",\"Action\":\"%s\","
                "\"Direction\":\"%s\"",
                protocol, action, direction);
}

static void close_acl(cf_buf *buf, int priority)
{
  cf_buf_printf(buf, NULL, ",\"RuleType\":\"Switch\",\"Priority\":%d}}", priority);
}

static void append_local_address(cf_buf *buf, uint32_t address)
{
  cf_buf_append_str(buf, ",\"LocalAddresses\":", NULL);
  append_ipv4(buf, address);
}

static void append_allow_in(cf_buf *buf, uint32_t address, int protocol, uint16_t port)
{
  open_acl(buf, protocol, "Allow", "In");
  append_local_address(buf, address);
  cf_buf_printf(buf, NULL, ",\"LocalPorts\":\"%u\"", (unsigned)port);
  close_acl(buf, CF_HCN_PRIORITY_ALLOW);
}

/* Appends the CIDR covers of the rule's networks, comma-joined, to list.
 * Returns false when one of them is 0.0.0.0/0, which HNS does not read as
 * every address, so the caller leaves RemoteAddresses out. */
static bool remote_addresses(const cf_net_rule *rule, cf_buf *list)
{
  for (size_t i = 0; i < rule->network_count; i++) {
    cf_hcn_cidr cidrs[CF_HCN_CIDR_MAX];
    size_t count = cf_hcn_range_cidrs(rule->networks[i].start, rule->networks[i].end, cidrs);
    for (size_t j = 0; j < count; j++) {
      if (cidrs[j].prefix_len == 0) {
        return false;
      }
      char text[CF_HCN_IPV4_STRLEN];
      cf_hcn_ipv4_format(cidrs[j].address, text);
      cf_buf_printf(list, NULL, "%s%s/%u", list->len > 0 ? "," : "", text,
                    (unsigned)cidrs[j].prefix_len);
    }
  }
  return true;
}

static void append_allow_out(cf_buf *buf, uint32_t address, const cf_net_rule *rule)
{
  open_acl(buf, hcn_protocol(rule->protocol), "Allow", "Out");
  append_local_address(buf, address);
  cf_buf remotes;
  cf_hcnj_doc_init(&remotes);
  if (remote_addresses(rule, &remotes) && remotes.len > 0) {
    cf_buf_append_str(buf, ",\"RemoteAddresses\":", NULL);
    cf_hcnj_string(buf, remotes.data);
  }
  cf_buf_free(&remotes);
  bool has_ports = rule->protocol == CF_NET_PROTO_TCP || rule->protocol == CF_NET_PROTO_UDP;
  if (has_ports && rule->port_count > 0) {
    cf_buf_append_str(buf, ",\"RemotePorts\":\"", NULL);
    for (size_t i = 0; i < rule->port_count; i++) {
      cf_buf_printf(buf, NULL, "%s%u-%u", i > 0 ? "," : "", (unsigned)rule->ports[i].start,
                    (unsigned)rule->ports[i].end);
    }
    cf_buf_append_str(buf, "\"", NULL);
  }
  close_acl(buf, CF_HCN_PRIORITY_ALLOW);
}

static void append_block(cf_buf *buf, const char *direction)
{
  open_acl(buf, CF_HCN_PROTOCOL_ANY, "Block", direction);
  close_acl(buf, CF_HCN_PRIORITY_BLOCK);
}

static void append_port_mapping(cf_buf *buf, int protocol, const cf_net_mapping *mapping)
{
  cf_buf_printf(buf, NULL,
                "{\"Type\":\"PortMapping\",\"Settings\":{\"Protocol\":%d,\"InternalPort\":%u,"
                "\"ExternalPort\":%u}}",
                protocol, (unsigned)mapping->container_port, (unsigned)mapping->host_port);
}

/* Appends the separator before every policy but the first. */
static void next_policy(cf_buf *buf, size_t *written)
{
  if ((*written)++ > 0) {
    cf_buf_append_str(buf, ",", NULL);
  }
}

static void append_policies(cf_buf *buf, const cf_hcn_policy_set *set)
{
  size_t written = 0;
  cf_buf_append_str(buf, "[", NULL);
  if (set->bandwidth > 0) {
    next_policy(buf, &written);
    cf_buf_printf(buf, NULL,
                  "{\"Type\":\"QOS\",\"Settings\":{\"MaximumOutgoingBandwidthInBytes\":%" PRIu64
                  "}}",
                  set->bandwidth);
  }
  for (size_t i = 0; i < set->mapping_count; i++) {
    next_policy(buf, &written);
    append_allow_in(buf, set->address, CF_HCN_PROTOCOL_TCP, set->mappings[i].container_port);
    next_policy(buf, &written);
    append_allow_in(buf, set->address, CF_HCN_PROTOCOL_UDP, set->mappings[i].container_port);
  }
  for (size_t i = 0; i < set->rule_count; i++) {
    next_policy(buf, &written);
    append_allow_out(buf, set->address, &set->rules[i]);
  }
  next_policy(buf, &written);
  append_block(buf, "Out");
  next_policy(buf, &written);
  append_block(buf, "In");
  for (size_t i = 0; i < set->mapping_count; i++) {
    next_policy(buf, &written);
    append_port_mapping(buf, CF_HCN_PROTOCOL_TCP, &set->mappings[i]);
    next_policy(buf, &written);
    append_port_mapping(buf, CF_HCN_PROTOCOL_UDP, &set->mappings[i]);
  }
  cf_buf_append_str(buf, "]", NULL);
}

int cf_hcn_policies_json(const cf_hcn_policy_set *set, char **out, cf_err **err)
{
  if (check_policy_set(set, err) < 0) {
    return -1;
  }
  cf_buf buf;
  cf_hcnj_doc_init(&buf);
  append_policies(&buf, set);
  return cf_hcnj_doc_take("the HCN endpoint policies", &buf, out, err);
}

int cf_hcn_policy_update_json(const cf_hcn_policy_set *set, char **out, cf_err **err)
{
  if (check_policy_set(set, err) < 0) {
    return -1;
  }
  cf_buf buf;
  cf_hcnj_doc_init(&buf);
  cf_buf_append_str(&buf,
                    "{\"ResourceType\":\"Policy\",\"RequestType\":\"Update\",\"Settings\":{"
                    "\"Policies\":",
                    NULL);
  append_policies(&buf, set);
  cf_buf_append_str(&buf, "}}", NULL);
  return cf_hcnj_doc_take("the HCN endpoint policy request", &buf, out, err);
}

/* --- Endpoint --- */

static int check_endpoint(const cf_net_endpoint *endpoint, const cf_net_network *network,
                          const char *network_id, cf_err **err)
{
  if (endpoint->handle == NULL || endpoint->handle[0] == '\0') {
    return cf_err_set(err, CF_E_INVALID, "the endpoint's container handle is empty");
  }
  cf_hcn_guid guid;
  if (cf_hcn_guid_parse(network_id != NULL ? network_id : "", &guid, err) < 0) {
    return cf_err_wrap(err, "network ID of endpoint %s", endpoint->handle);
  }
  if (check_network(network, err) < 0) {
    return -1;
  }
  uint32_t mask = prefix_mask(network->prefix_len);
  uint32_t host = endpoint->address & ~mask;
  char address[CF_HCN_IPV4_STRLEN];
  cf_hcn_ipv4_format(endpoint->address, address);
  if ((endpoint->address & mask) != network->subnet || host == 0 || host == ~mask ||
      endpoint->address == network->gateway) {
    char subnet[CF_HCN_IPV4_STRLEN];
    cf_hcn_ipv4_format(network->subnet, subnet);
    return cf_err_set(err, CF_E_INVALID,
                      "address %s of endpoint %s is not a free host address of subnet %s/%u",
                      address, endpoint->handle, subnet, (unsigned)network->prefix_len);
  }
  return cf_hcn_search_domains_check(endpoint->search_domains, endpoint->search_domain_count, err);
}

static void append_endpoint_dns(cf_buf *buf, const cf_net_endpoint *endpoint)
{
  if (endpoint->search_domain_count == 0 && endpoint->dns_server_count == 0) {
    return;
  }
  cf_buf_append_str(buf, ",\"Dns\":{", NULL);
  if (endpoint->search_domain_count > 0) {
    cf_buf_append_str(buf, "\"Search\":", NULL);
    append_string_array(buf, endpoint->search_domains, endpoint->search_domain_count);
  }
  if (endpoint->dns_server_count > 0) {
    cf_buf_append_str(
        buf, endpoint->search_domain_count > 0 ? ",\"ServerList\":[" : "\"ServerList\":[", NULL);
    for (size_t i = 0; i < endpoint->dns_server_count; i++) {
      cf_buf_append_str(buf, i > 0 ? "," : "", NULL);
      append_ipv4(buf, endpoint->dns_servers[i]);
    }
    cf_buf_append_str(buf, "]", NULL);
  }
  cf_buf_append_str(buf, "}", NULL);
}

int cf_hcn_endpoint_json(const cf_net_endpoint *endpoint, const cf_net_network *network,
                         const char *network_id, char **out, cf_err **err)
{
  if (check_endpoint(endpoint, network, network_id, err) < 0) {
    return -1;
  }
  cf_buf buf;
  cf_hcnj_doc_init(&buf);
  cf_buf_append_str(&buf, "{" SCHEMA_VERSION ",\"Name\":", NULL);
  cf_hcnj_string(&buf, endpoint->handle);
  cf_buf_append_str(&buf, ",\"HostComputeNetwork\":", NULL);
  cf_hcnj_string(&buf, network_id);
  cf_buf_append_str(&buf, ",\"IpConfigurations\":[{\"IpAddress\":", NULL);
  append_ipv4(&buf, endpoint->address);
  cf_buf_printf(&buf, NULL, ",\"PrefixLength\":%u}]", (unsigned)network->prefix_len);
  append_endpoint_dns(&buf, endpoint);
  cf_buf_append_str(&buf, ",", NULL);
  append_default_route(&buf, network->gateway);
  cf_buf_append_str(&buf, ",\"Policies\":", NULL);
  cf_hcn_policy_set initial = {.address = endpoint->address, .bandwidth = endpoint->bandwidth_rate};
  append_policies(&buf, &initial);
  cf_buf_append_str(&buf, "}", NULL);
  return cf_hcnj_doc_take("the HCN endpoint document", &buf, out, err);
}

/* --- Namespace and queries --- */

char *cf_hcn_namespace_json(void)
{
  return cf_xstrdup("{" SCHEMA_VERSION ",\"Type\":\"Host\"}");
}

char *cf_hcn_namespace_endpoint_json(const char *endpoint_id, bool add)
{
  cf_buf buf;
  cf_hcnj_doc_init(&buf);
  cf_buf_append_str(&buf, "{\"ResourceType\":\"Endpoint\",\"RequestType\":", NULL);
  cf_buf_append_str(&buf, add ? "\"Add\"" : "\"Remove\"", NULL);
  cf_buf_append_str(&buf, ",\"Settings\":{\"EndpointId\":", NULL);
  cf_hcnj_string(&buf, endpoint_id);
  cf_buf_append_str(&buf, "}}", NULL);
  return cf_buf_take(&buf);
}

char *cf_hcn_query_json(const char *filter_key, const char *filter_value)
{
  cf_buf buf;
  cf_hcnj_doc_init(&buf);
  cf_buf_append_str(&buf, "{" SCHEMA_VERSION ",\"Flags\":0", NULL);
  if (filter_key != NULL) {
    cf_buf filter;
    cf_hcnj_doc_init(&filter);
    cf_buf_append_str(&filter, "{", NULL);
    cf_hcnj_string(&filter, filter_key);
    cf_buf_append_str(&filter, ":", NULL);
    cf_hcnj_string(&filter, filter_value);
    cf_buf_append_str(&filter, "}", NULL);
    cf_autofree char *text = cf_buf_take(&filter);
    cf_buf_append_str(&buf, ",\"Filter\":", NULL);
    cf_hcnj_string(&buf, text);
  }
  cf_buf_append_str(&buf, "}", NULL);
  return cf_buf_take(&buf);
}
