/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the platform-neutral HCN builders of the Windows network
 * backend (internal/network/winhcn.h), run natively on Linux. Expected
 * documents are written out by hand from winc-network's HNS v1 requests
 * and from hcsshim's HCN v2 documents and field names, adapted to v2 as
 * each comment says; CIDR covers are worked out by hand. None is produced
 * by the code under test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "network/winhcn.h"

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))
#define IPV4(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

#define NETWORK_ID "5b3fa6a0-2f4e-4c5d-9a1b-0c2d3e4f5a6b"
#define ENDPOINT_ID "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"

/* The ACL settings cfwin adds to every rule: Switch rules with priorities. */
#define ALLOW ",\"RuleType\":\"Switch\",\"Priority\":200}}"
#define BLOCK_OUT                                                                                  \
  "{\"Type\":\"ACL\",\"Settings\":{\"Protocols\":\"256\",\"Action\":\"Block\","                    \
  "\"Direction\":\"Out\",\"RuleType\":\"Switch\",\"Priority\":2000}}"
#define BLOCK_IN                                                                                   \
  "{\"Type\":\"ACL\",\"Settings\":{\"Protocols\":\"256\",\"Action\":\"Block\","                    \
  "\"Direction\":\"In\",\"RuleType\":\"Switch\",\"Priority\":2000}}"

/* Asserts that err is set with code and a message containing part. */
static void assert_error(cf_err *err, enum cf_code code, const char *part)
{
  assert_non_null(err);
  if (strstr(err->message, part) == NULL) {
    fail_msg("message \"%s\" does not contain \"%s\"", err->message, part);
  }
  assert_int_equal(err->code, code);
}

/* winc-release's default interface.json: 172.30.0.0/22, gateway .1. */
static cf_net_network bosh_network(void)
{
  cf_net_network network = {
      .name = "winc-nat",
      .subnet = IPV4(172, 30, 0, 0),
      .prefix_len = 22,
      .gateway = IPV4(172, 30, 0, 1),
  };
  return network;
}

/* --- CIDR covers (winc-network's IPRangeToCIDRs) --- */

static void assert_cidrs(uint32_t start, uint32_t end, const char *const *expected, size_t count)
{
  cf_hcn_cidr cidrs[CF_HCN_CIDR_MAX];
  size_t got = cf_hcn_range_cidrs(start, end, cidrs);
  assert_int_equal(got, count);
  for (size_t i = 0; i < count && expected != NULL; i++) {
    char text[CF_HCN_IPV4_STRLEN + 4];
    char address[CF_HCN_IPV4_STRLEN];
    cf_hcn_ipv4_format(cidrs[i].address, address);
    snprintf(text, sizeof(text), "%s/%u", address, (unsigned)cidrs[i].prefix_len);
    assert_string_equal(text, expected[i]);
  }
}

static void cidr_cover_winc_example(void **state)
{
  (void)state;
  /* 10-11, 12-15, 16-31, 32-63, 64-127, 128-191, 192-223, 224-239,
   * 240-247, 248-249, 250. */
  static const char *const expected[] = {
      "192.168.0.10/31",  "192.168.0.12/30",  "192.168.0.16/28",  "192.168.0.32/27",
      "192.168.0.64/26",  "192.168.0.128/26", "192.168.0.192/27", "192.168.0.224/28",
      "192.168.0.240/29", "192.168.0.248/31", "192.168.0.250/32",
  };
  assert_cidrs(IPV4(192, 168, 0, 10), IPV4(192, 168, 0, 250), expected, COUNT(expected));
}

static void cidr_cover_whole_space(void **state)
{
  (void)state;
  static const char *const all[] = {"0.0.0.0/0"};
  assert_cidrs(0, UINT32_MAX, all, 1);
  static const char *const one[] = {"10.0.0.1/32"};
  assert_cidrs(IPV4(10, 0, 0, 1), IPV4(10, 0, 0, 1), one, 1);
  static const char *const last[] = {"255.255.255.255/32"};
  assert_cidrs(UINT32_MAX, UINT32_MAX, last, 1);
}

static void cidr_cover_counts(void **state)
{
  (void)state;
  /* winc-network's table: 1.2.3.4-5.6.7.8 takes 28 blocks. */
  assert_cidrs(IPV4(1, 2, 3, 4), IPV4(5, 6, 7, 8), NULL, 28);
  /* The worst case: /32, /31 .. /1 upwards, then /1 .. /32 downwards. */
  assert_cidrs(1, UINT32_MAX - 1, NULL, 62);
}

static void cidr_cover_netout_test_range(void **state)
{
  (void)state;
  /* winc-network's netout test range 8.8.5.5-9.0.0.0. */
  static const char *const expected[] = {
      "8.8.5.5/32",   "8.8.5.6/31",  "8.8.5.8/29",  "8.8.5.16/28", "8.8.5.32/27", "8.8.5.64/26",
      "8.8.5.128/25", "8.8.6.0/23",  "8.8.8.0/21",  "8.8.16.0/20", "8.8.32.0/19", "8.8.64.0/18",
      "8.8.128.0/17", "8.9.0.0/16",  "8.10.0.0/15", "8.12.0.0/14", "8.16.0.0/12", "8.32.0.0/11",
      "8.64.0.0/10",  "8.128.0.0/9", "9.0.0.0/32",
  };
  assert_cidrs(IPV4(8, 8, 5, 5), IPV4(9, 0, 0, 0), expected, COUNT(expected));
}

/* --- Network --- */

static void network_document_with_search(void **state)
{
  (void)state;
  /* hcsshim's network example, without Dns.ServerList, which the network
   * config has no field for. */
  static const char *const search[] = {"a.com"};
  cf_net_network network = bosh_network();
  network.search_domains = search;
  network.search_domain_count = 1;
  char *doc = NULL;
  cf_err *err = NULL;
  assert_int_equal(cf_hcn_network_json(&network, &doc, &err), 0);
  assert_string_equal(
      doc, "{\"SchemaVersion\":{\"Major\":2,\"Minor\":0},\"Name\":\"winc-nat\",\"Type\":\"NAT\","
           "\"Ipams\":[{\"Type\":\"Static\",\"Subnets\":[{\"IpAddressPrefix\":\"172.30.0.0/22\","
           "\"Routes\":[{\"NextHop\":\"172.30.0.1\",\"DestinationPrefix\":\"0.0.0.0/0\"}]}]}],"
           "\"Dns\":{\"Search\":[\"a.com\"]},\"Flags\":0,\"Policies\":[]}");
  free(doc);
}

static void network_document_bosh_default(void **state)
{
  (void)state;
  /* search_domains [] in interface.json: no Dns member. */
  cf_net_network network = bosh_network();
  char *doc = NULL;
  cf_err *err = NULL;
  assert_int_equal(cf_hcn_network_json(&network, &doc, &err), 0);
  assert_string_equal(
      doc, "{\"SchemaVersion\":{\"Major\":2,\"Minor\":0},\"Name\":\"winc-nat\",\"Type\":\"NAT\","
           "\"Ipams\":[{\"Type\":\"Static\",\"Subnets\":[{\"IpAddressPrefix\":\"172.30.0.0/22\","
           "\"Routes\":[{\"NextHop\":\"172.30.0.1\",\"DestinationPrefix\":\"0.0.0.0/0\"}]}]}],"
           "\"Flags\":0,\"Policies\":[]}");
  free(doc);
}

static void network_rejects_bad_config(void **state)
{
  (void)state;
  char *doc = NULL;
  cf_err *err = NULL;

  cf_net_network network = bosh_network();
  network.prefix_len = 31;
  assert_int_equal(cf_hcn_network_json(&network, &doc, &err), -1);
  assert_error(err, CF_E_INVALID, "prefix length 31");
  cf_err_clear(&err);

  network = bosh_network();
  network.gateway = IPV4(172, 31, 0, 1);
  assert_int_equal(cf_hcn_network_json(&network, &doc, &err), -1);
  assert_error(err, CF_E_INVALID,
               "gateway 172.31.0.1 is not a host address of subnet 172.30.0.0/22");
  cf_err_clear(&err);

  network = bosh_network();
  network.subnet = IPV4(172, 30, 0, 1);
  assert_int_equal(cf_hcn_network_json(&network, &doc, &err), -1);
  assert_error(err, CF_E_INVALID, "172.30.0.1/22 has host bits set");
  cf_err_clear(&err);

  network = bosh_network();
  network.name = "";
  assert_int_equal(cf_hcn_network_json(&network, &doc, &err), -1);
  assert_error(err, CF_E_INVALID, "network name is empty");
  cf_err_clear(&err);

  /* winc-network's DNSSuffix check. */
  static const char *const search[] = {"good.com", "a.com,b.com"};
  network = bosh_network();
  network.search_domains = search;
  network.search_domain_count = 2;
  assert_int_equal(cf_hcn_network_json(&network, &doc, &err), -1);
  assert_error(err, CF_E_INVALID, "Invalid DNSSuffix. First invalid DNSSuffix: a.com,b.com");
  cf_err_clear(&err);
  assert_null(doc);
}

/* --- Endpoint --- */

static void endpoint_document_starts_denied(void **state)
{
  (void)state;
  /* hcsshim's endpoint example with winc-network's QOS policy (1 MiB/s)
   * moved into Settings, and the Block rules winc-network adds to an
   * endpoint without rules, with priorities. */
  uint32_t dns[] = {IPV4(172, 30, 0, 1)};
  cf_net_network network = bosh_network();
  cf_net_endpoint endpoint = {
      .handle = "some-handle",
      .address = IPV4(172, 30, 0, 5),
      .dns_servers = dns,
      .dns_server_count = 1,
      .bandwidth_rate = 1048576,
  };
  char *doc = NULL;
  cf_err *err = NULL;
  assert_int_equal(cf_hcn_endpoint_json(&endpoint, &network, NETWORK_ID, &doc, &err), 0);
  assert_string_equal(
      doc, "{\"SchemaVersion\":{\"Major\":2,\"Minor\":0},\"Name\":\"some-handle\","
           "\"HostComputeNetwork\":\"" NETWORK_ID "\","
           "\"IpConfigurations\":[{\"IpAddress\":\"172.30.0.5\",\"PrefixLength\":22}],"
           "\"Dns\":{\"ServerList\":[\"172.30.0.1\"]},"
           "\"Routes\":[{\"NextHop\":\"172.30.0.1\",\"DestinationPrefix\":\"0.0.0.0/0\"}],"
           "\"Policies\":[{\"Type\":\"QOS\",\"Settings\":{\"MaximumOutgoingBandwidthInBytes\":"
           "1048576}}," BLOCK_OUT "," BLOCK_IN "]}");
  free(doc);
}

static void endpoint_document_search_no_qos(void **state)
{
  (void)state;
  static const char *const search[] = {"corp.example.com", "example.com"};
  uint32_t dns[] = {IPV4(8, 8, 8, 8), IPV4(8, 8, 4, 4)};
  cf_net_network network = bosh_network();
  cf_net_endpoint endpoint = {
      .handle = "h",
      .address = IPV4(172, 30, 3, 254),
      .dns_servers = dns,
      .dns_server_count = 2,
      .search_domains = search,
      .search_domain_count = 2,
  };
  char *doc = NULL;
  cf_err *err = NULL;
  assert_int_equal(cf_hcn_endpoint_json(&endpoint, &network, NETWORK_ID, &doc, &err), 0);
  assert_string_equal(
      doc, "{\"SchemaVersion\":{\"Major\":2,\"Minor\":0},\"Name\":\"h\","
           "\"HostComputeNetwork\":\"" NETWORK_ID "\","
           "\"IpConfigurations\":[{\"IpAddress\":\"172.30.3.254\",\"PrefixLength\":22}],"
           "\"Dns\":{\"Search\":[\"corp.example.com\",\"example.com\"],"
           "\"ServerList\":[\"8.8.8.8\",\"8.8.4.4\"]},"
           "\"Routes\":[{\"NextHop\":\"172.30.0.1\",\"DestinationPrefix\":\"0.0.0.0/0\"}],"
           "\"Policies\":[" BLOCK_OUT "," BLOCK_IN "]}");
  free(doc);
}

static void endpoint_rejects_bad_input(void **state)
{
  (void)state;
  cf_net_network network = bosh_network();
  char *doc = NULL;
  cf_err *err = NULL;
  static const uint32_t bad_addresses[] = {
      IPV4(172, 30, 4, 1),   /* outside the /22 */
      IPV4(172, 30, 0, 0),   /* the network address */
      IPV4(172, 30, 3, 255), /* the broadcast address */
      IPV4(172, 30, 0, 1),   /* the gateway */
  };
  for (size_t i = 0; i < COUNT(bad_addresses); i++) {
    cf_net_endpoint endpoint = {.handle = "h", .address = bad_addresses[i]};
    assert_int_equal(cf_hcn_endpoint_json(&endpoint, &network, NETWORK_ID, &doc, &err), -1);
    assert_error(err, CF_E_INVALID, "is not a free host address of subnet 172.30.0.0/22");
    cf_err_clear(&err);
  }
  cf_net_endpoint endpoint = {.handle = "h", .address = IPV4(172, 30, 0, 5)};
  assert_int_equal(cf_hcn_endpoint_json(&endpoint, &network, "winc-nat", &doc, &err), -1);
  assert_error(err, CF_E_INVALID, "\"winc-nat\" is not a GUID");
  cf_err_clear(&err);

  endpoint.handle = "";
  assert_int_equal(cf_hcn_endpoint_json(&endpoint, &network, NETWORK_ID, &doc, &err), -1);
  assert_error(err, CF_E_INVALID, "handle is empty");
  cf_err_clear(&err);
  assert_null(doc);
}

/* --- Policies --- */

static void policies_winc_update_example(void **state)
{
  (void)state;
  /* winc-network's update example: netin 8080 -> 40000, DNS rules to
   * 172.30.0.1:53 (TCP then UDP), QOS 1 MiB/s. In v2 each policy has its
   * settings under Settings, Protocols is a string, NAT is PortMapping
   * with protocol numbers, and mappings apply to tcp and udp. */
  cf_net_mapping mappings[] = {{.host_port = 40000, .container_port = 8080}};
  cf_net_range dns_server[] = {{IPV4(172, 30, 0, 1), IPV4(172, 30, 0, 1)}};
  cf_port_range port53[] = {{53, 53}};
  cf_net_rule rules[] = {
      {.protocol = CF_NET_PROTO_TCP,
       .networks = dns_server,
       .network_count = 1,
       .ports = port53,
       .port_count = 1},
      {.protocol = CF_NET_PROTO_UDP,
       .networks = dns_server,
       .network_count = 1,
       .ports = port53,
       .port_count = 1},
  };
  cf_hcn_policy_set set = {
      .address = IPV4(172, 30, 0, 5),
      .mappings = mappings,
      .mapping_count = 1,
      .rules = rules,
      .rule_count = 2,
      .bandwidth = 1048576,
  };
  char *doc = NULL;
  cf_err *err = NULL;
  assert_int_equal(cf_hcn_policy_update_json(&set, &doc, &err), 0);
  assert_string_equal(
      doc,
      "{\"ResourceType\":\"Policy\",\"RequestType\":\"Update\",\"Settings\":{\"Policies\":["
      "{\"Type\":\"QOS\",\"Settings\":{\"MaximumOutgoingBandwidthInBytes\":1048576}},"
      "{\"Type\":\"ACL\",\"Settings\":{\"Protocols\":\"6\",\"Action\":\"Allow\",\"Direction\":"
      "\"In\",\"LocalAddresses\":\"172.30.0.5\",\"LocalPorts\":\"8080\"" ALLOW ","
      "{\"Type\":\"ACL\",\"Settings\":{\"Protocols\":\"17\",\"Action\":\"Allow\",\"Direction\":"
      "\"In\",\"LocalAddresses\":\"172.30.0.5\",\"LocalPorts\":\"8080\"" ALLOW ","
      "{\"Type\":\"ACL\",\"Settings\":{\"Protocols\":\"6\",\"Action\":\"Allow\",\"Direction\":"
      "\"Out\",\"LocalAddresses\":\"172.30.0.5\",\"RemoteAddresses\":\"172.30.0.1/32\","
      "\"RemotePorts\":\"53-53\"" ALLOW ","
      "{\"Type\":\"ACL\",\"Settings\":{\"Protocols\":\"17\",\"Action\":\"Allow\",\"Direction\":"
      "\"Out\",\"LocalAddresses\":\"172.30.0.5\",\"RemoteAddresses\":\"172.30.0.1/32\","
      "\"RemotePorts\":\"53-53\"" ALLOW "," BLOCK_OUT "," BLOCK_IN ","
      "{\"Type\":\"PortMapping\",\"Settings\":{\"Protocol\":6,\"InternalPort\":8080,"
      "\"ExternalPort\":40000}},"
      "{\"Type\":\"PortMapping\",\"Settings\":{\"Protocol\":17,\"InternalPort\":8080,"
      "\"ExternalPort\":40000}}]}}");
  free(doc);
}

static void policies_protocols_and_ports(void **state)
{
  (void)state;
  /* Garden protocols all and icmp become 256 and 1, and their ports are
   * dropped; a 0.0.0.0/0 cover leaves RemoteAddresses out. */
  cf_net_range everything[] = {{0, UINT32_MAX}};
  cf_net_range two[] = {{IPV4(10, 0, 0, 0), IPV4(10, 255, 255, 255)},
                        {IPV4(192, 168, 0, 10), IPV4(192, 168, 0, 11)}};
  cf_port_range ports[] = {{40, 60}, {80, 80}};
  cf_net_rule rules[] = {
      {.protocol = CF_NET_PROTO_ALL, .ports = ports, .port_count = 2},
      {.protocol = CF_NET_PROTO_ICMP, .networks = two, .network_count = 2, .has_icmp = true},
      {.protocol = CF_NET_PROTO_UDP,
       .networks = everything,
       .network_count = 1,
       .ports = ports,
       .port_count = 2},
  };
  cf_hcn_policy_set set = {.address = IPV4(172, 30, 0, 9), .rules = rules, .rule_count = 3};
  char *doc = NULL;
  cf_err *err = NULL;
  assert_int_equal(cf_hcn_policies_json(&set, &doc, &err), 0);
  assert_string_equal(doc,
                      "[{\"Type\":\"ACL\",\"Settings\":{\"Protocols\":\"256\",\"Action\":\"Allow\","
                      "\"Direction\":\"Out\",\"LocalAddresses\":\"172.30.0.9\"" ALLOW ","
                      "{\"Type\":\"ACL\",\"Settings\":{\"Protocols\":\"1\",\"Action\":\"Allow\","
                      "\"Direction\":\"Out\",\"LocalAddresses\":\"172.30.0.9\","
                      "\"RemoteAddresses\":\"10.0.0.0/8,192.168.0.10/31\"" ALLOW ","
                      "{\"Type\":\"ACL\",\"Settings\":{\"Protocols\":\"17\",\"Action\":\"Allow\","
                      "\"Direction\":\"Out\",\"LocalAddresses\":\"172.30.0.9\","
                      "\"RemotePorts\":\"40-60,80-80\"" ALLOW "," BLOCK_OUT "," BLOCK_IN "]");
  free(doc);
}

static void policies_reject_bad_rules(void **state)
{
  (void)state;
  char *doc = NULL;
  cf_err *err = NULL;
  cf_net_rule unknown[] = {{.protocol = (cf_net_protocol)7}};
  cf_hcn_policy_set set = {.address = IPV4(172, 30, 0, 5), .rules = unknown, .rule_count = 1};
  assert_int_equal(cf_hcn_policies_json(&set, &doc, &err), -1);
  assert_error(err, CF_E_INVALID, "invalid protocol: 7");
  cf_err_clear(&err);

  cf_net_range backwards[] = {{IPV4(10, 0, 0, 9), IPV4(10, 0, 0, 1)}};
  cf_net_rule reversed[] = {
      {.protocol = CF_NET_PROTO_TCP, .networks = backwards, .network_count = 1}};
  set.rules = reversed;
  assert_int_equal(cf_hcn_policies_json(&set, &doc, &err), -1);
  assert_error(err, CF_E_INVALID, "network 10.0.0.9-10.0.0.1 starts after its end");
  cf_err_clear(&err);

  cf_port_range ports[] = {{443, 80}};
  cf_net_rule bad_ports[] = {{.protocol = CF_NET_PROTO_TCP, .ports = ports, .port_count = 1}};
  set.rules = bad_ports;
  assert_int_equal(cf_hcn_policy_update_json(&set, &doc, &err), -1);
  assert_error(err, CF_E_INVALID, "port range 443-80 starts after its end");
  cf_err_clear(&err);

  cf_net_mapping unallocated[] = {{.host_port = 0, .container_port = 8080}};
  cf_hcn_policy_set mapping_set = {.mappings = unallocated, .mapping_count = 1};
  assert_int_equal(cf_hcn_policies_json(&mapping_set, &doc, &err), -1);
  assert_error(err, CF_E_INVALID, "NetIn mapping 0: host port 0 and container port 8080");
  cf_err_clear(&err);
  assert_null(doc);
}

/* --- Namespace and queries --- */

static void namespace_documents(void **state)
{
  (void)state;
  char *doc = cf_hcn_namespace_json();
  assert_string_equal(doc, "{\"SchemaVersion\":{\"Major\":2,\"Minor\":0},\"Type\":\"Host\"}");
  free(doc);
  doc = cf_hcn_namespace_endpoint_json(ENDPOINT_ID, true);
  assert_string_equal(doc, "{\"ResourceType\":\"Endpoint\",\"RequestType\":\"Add\","
                           "\"Settings\":{\"EndpointId\":\"" ENDPOINT_ID "\"}}");
  free(doc);
  doc = cf_hcn_namespace_endpoint_json(ENDPOINT_ID, false);
  assert_string_equal(doc, "{\"ResourceType\":\"Endpoint\",\"RequestType\":\"Remove\","
                           "\"Settings\":{\"EndpointId\":\"" ENDPOINT_ID "\"}}");
  free(doc);
}

static void query_documents(void **state)
{
  (void)state;
  char *doc = cf_hcn_query_json(NULL, NULL);
  assert_string_equal(doc, "{\"SchemaVersion\":{\"Major\":2,\"Minor\":0},\"Flags\":0}");
  free(doc);
  doc = cf_hcn_query_json("Name", "winc-nat");
  assert_string_equal(doc, "{\"SchemaVersion\":{\"Major\":2,\"Minor\":0},\"Flags\":0,"
                           "\"Filter\":\"{\\\"Name\\\":\\\"winc-nat\\\"}\"}");
  free(doc);
  /* A quote in the value is escaped twice: once in the filter, once more
   * in the string that carries the filter. */
  doc = cf_hcn_query_json("Name", "a\"b");
  assert_string_equal(doc, "{\"SchemaVersion\":{\"Major\":2,\"Minor\":0},\"Flags\":0,"
                           "\"Filter\":\"{\\\"Name\\\":\\\"a\\\\\\\"b\\\"}\"}");
  free(doc);
}

/* --- Reading HCN results --- */

static void ids_parsed(void **state)
{
  (void)state;
  char **ids = NULL;
  size_t count = 0;
  cf_err *err = NULL;
  assert_int_equal(
      cf_hcn_ids_parse("[\"" NETWORK_ID "\", \"" ENDPOINT_ID "\"]", &ids, &count, &err), 0);
  assert_int_equal(count, 2);
  assert_string_equal(ids[0], NETWORK_ID);
  assert_string_equal(ids[1], ENDPOINT_ID);
  cf_strv_free(ids, count);

  static const char *const empty[] = {"[]", "null", "", "  "};
  for (size_t i = 0; i < COUNT(empty); i++) {
    assert_int_equal(cf_hcn_ids_parse(empty[i], &ids, &count, &err), 0);
    assert_int_equal(count, 0);
    cf_strv_free(ids, count);
  }

  assert_int_equal(cf_hcn_ids_parse("[\"a\", 1]", &ids, &count, &err), -1);
  assert_error(err, CF_E_INVALID, "non-string element 1");
  cf_err_clear(&err);
  assert_int_equal(cf_hcn_ids_parse("[\"a\"", &ids, &count, &err), -1);
  assert_error(err, CF_E_INVALID, "not valid JSON");
  cf_err_clear(&err);
  assert_int_equal(cf_hcn_ids_parse("{}", &ids, &count, &err), -1);
  assert_error(err, CF_E_INVALID, "not a JSON array");
  cf_err_clear(&err);
}

static void network_properties_parsed(void **state)
{
  (void)state;
  /* The network document hcsshim reads back, with the ID HCN assigned. */
  static const char doc[] =
      "{\"ID\":\"" NETWORK_ID "\",\"Name\":\"winc-nat\",\"Type\":\"NAT\","
      "\"Ipams\":[{\"Type\":\"Static\",\"Subnets\":[{\"IpAddressPrefix\":\"172.30.0.0/22\","
      "\"Routes\":[{\"NextHop\":\"172.30.0.1\",\"DestinationPrefix\":\"0.0.0.0/0\"}]}]}],"
      "\"Dns\":{\"Search\":[\"a.com\"]},\"Flags\":0,\"Policies\":[],"
      "\"SchemaVersion\":{\"Major\":2,\"Minor\":0}}";
  cf_hcn_network_info info;
  cf_err *err = NULL;
  assert_int_equal(cf_hcn_network_parse(doc, &info, &err), 0);
  assert_string_equal(info.id, NETWORK_ID);
  assert_string_equal(info.name, "winc-nat");
  assert_int_equal(info.subnet_count, 1);
  assert_string_equal(info.prefixes[0], "172.30.0.0/22");
  assert_string_equal(info.gateways[0], "172.30.0.1");
  cf_net_network network = bosh_network();
  assert_true(cf_hcn_network_matches(&info, &network));
  network.gateway = IPV4(172, 30, 0, 2);
  assert_false(cf_hcn_network_matches(&info, &network));
  char *text = cf_hcn_network_subnets_text(&info);
  assert_string_equal(text, "[172.30.0.0/22 via 172.30.0.1]");
  free(text);
  cf_hcn_network_info_free(&info);
}

static void network_two_subnets_mismatch(void **state)
{
  (void)state;
  /* Member names in another case match, as Go's decoder matches them. */
  static const char doc[] =
      "{\"id\":\"x\",\"ipams\":[{\"subnets\":[{\"ipAddressPrefix\":\"172.30.0.0/22\"},"
      "{\"IpAddressPrefix\":\"10.0.0.0/8\",\"Routes\":[{\"NextHop\":\"10.0.0.1\"}]}]}]}";
  cf_hcn_network_info info;
  cf_err *err = NULL;
  assert_int_equal(cf_hcn_network_parse(doc, &info, &err), 0);
  assert_int_equal(info.subnet_count, 2);
  cf_net_network network = bosh_network();
  assert_false(cf_hcn_network_matches(&info, &network));
  char *text = cf_hcn_network_subnets_text(&info);
  assert_string_equal(text, "[172.30.0.0/22 via no gateway, 10.0.0.0/8 via 10.0.0.1]");
  free(text);
  cf_hcn_network_info_free(&info);

  assert_int_equal(cf_hcn_network_parse("[1]", &info, &err), -1);
  assert_error(err, CF_E_INVALID, "not a JSON object");
  cf_err_clear(&err);
}

static void endpoint_properties_parsed(void **state)
{
  (void)state;
  static const char doc[] =
      "{\"ID\":\"" ENDPOINT_ID "\",\"Name\":\"some-handle\","
      "\"HostComputeNetwork\":\"" NETWORK_ID "\","
      "\"IpConfigurations\":[{\"IpAddress\":\"172.30.0.5\",\"PrefixLength\":22}],"
      "\"Policies\":[{\"Type\":\"ACL\",\"Settings\":{\"Protocols\":\"256\"}},"
      "{\"Type\":\"QOS\",\"Settings\":{\"MaximumOutgoingBandwidthInBytes\":1048576}}]}";
  cf_hcn_endpoint_info info;
  cf_err *err = NULL;
  assert_int_equal(cf_hcn_endpoint_parse(doc, &info, &err), 0);
  assert_string_equal(info.id, ENDPOINT_ID);
  assert_string_equal(info.name, "some-handle");
  assert_string_equal(info.network_id, NETWORK_ID);
  assert_string_equal(info.address, "172.30.0.5");
  assert_int_equal(info.bandwidth, 1048576);
  cf_hcn_endpoint_info_free(&info);

  assert_int_equal(cf_hcn_endpoint_parse("{\"Name\":\"h\"}", &info, &err), 0);
  assert_null(info.address);
  assert_int_equal(info.bandwidth, 0);
  cf_hcn_endpoint_info_free(&info);

  static const char negative[] =
      "{\"Policies\":[{\"Type\":\"QOS\",\"Settings\":{\"MaximumOutgoingBandwidthInBytes\":-1}}]}";
  assert_int_equal(cf_hcn_endpoint_parse(negative, &info, &err), -1);
  assert_error(err, CF_E_INVALID, "MaximumOutgoingBandwidthInBytes");
  cf_err_clear(&err);
}

static void namespace_compartment_parsed(void **state)
{
  (void)state;
  uint32_t compartment = 0;
  cf_err *err = NULL;
  assert_int_equal(cf_hcn_namespace_compartment("{\"ID\":\"x\",\"NamespaceId\":7,\"Type\":"
                                                "\"Host\"}",
                                                &compartment, &err),
                   0);
  assert_int_equal(compartment, 7);
  assert_int_equal(cf_hcn_namespace_compartment("{\"Type\":\"Host\"}", &compartment, &err), -1);
  assert_error(err, CF_E_INVALID, "no NamespaceId");
  cf_err_clear(&err);
  assert_int_equal(cf_hcn_namespace_compartment("{\"NamespaceId\":4294967296}", &compartment, &err),
                   -1);
  assert_error(err, CF_E_INVALID, "no NamespaceId");
  cf_err_clear(&err);
}

static void json_reader_edge_cases(void **state)
{
  (void)state;
  cf_hcn_endpoint_info info;
  cf_err *err = NULL;
  /* Escapes decode, including a surrogate pair (U+1F600). */
  assert_int_equal(cf_hcn_endpoint_parse("{\"Name\":\"a\\\"b\\u00e9\\ud83d\\ude00\"}", &info, &err),
                   0);
  assert_string_equal(info.name, "a\"b\xc3\xa9\xf0\x9f\x98\x80");
  cf_hcn_endpoint_info_free(&info);

  static const char *const bad[] = {
      "{\"Name\":\"a\\u0000\"}", "{\"Name\":\"a\"} x", "{\"Name\" \"a\"}",
      "{\"Name\":\"a\",}",       "{\"Name\":01}",      "{\"Name\":\"a\nb\"}",
  };
  for (size_t i = 0; i < COUNT(bad); i++) {
    assert_int_equal(cf_hcn_endpoint_parse(bad[i], &info, &err), -1);
    assert_error(err, CF_E_INVALID, "not valid JSON");
    cf_err_clear(&err);
  }
  /* Nesting past 64 levels is rejected before the stack grows further. */
  char deep[200];
  memset(deep, '[', 100);
  deep[100] = '\0';
  char **ids = NULL;
  size_t count = 0;
  assert_int_equal(cf_hcn_ids_parse(deep, &ids, &count, &err), -1);
  assert_error(err, CF_E_INVALID, "nesting deeper than the maximum");
  cf_err_clear(&err);
}

/* --- GUIDs and errors --- */

static void guid_parsed_in_windows_layout(void **state)
{
  (void)state;
  cf_hcn_guid guid;
  cf_err *err = NULL;
  assert_int_equal(cf_hcn_guid_parse("5B3FA6A0-2F4E-4C5D-9A1B-0C2D3E4F5A6B", &guid, &err), 0);
  assert_int_equal(guid.data1, 0x5b3fa6a0u);
  assert_int_equal(guid.data2, 0x2f4e);
  assert_int_equal(guid.data3, 0x4c5d);
  static const uint8_t data4[8] = {0x9a, 0x1b, 0x0c, 0x2d, 0x3e, 0x4f, 0x5a, 0x6b};
  assert_memory_equal(guid.data4, data4, 8);

  static const char *const bad[] = {
      "{5b3fa6a0-2f4e-4c5d-9a1b-0c2d3e4f5a6b}", "5b3fa6a0-2f4e-4c5d-9a1b-0c2d3e4f5a6",
      "5b3fa6a0-2f4e-4c5d-9a1b-0c2d3e4f5a6bb",  "5b3fa6a0x2f4e-4c5d-9a1b-0c2d3e4f5a6b",
      "5b3fa6a0-2f4e-4c5d-9a1b-0c2d3e4f5a6g",   "",
  };
  for (size_t i = 0; i < COUNT(bad); i++) {
    assert_int_equal(cf_hcn_guid_parse(bad[i], &guid, &err), -1);
    assert_error(err, CF_E_INVALID, "is not a GUID");
    cf_err_clear(&err);
  }
}

static void error_messages(void **state)
{
  (void)state;
  char *text =
      cf_hcn_error_message("CreateEndpoint", "h", 0x803B0002u, "The endpoint was not found.\r\n",
                           "{\"Success\":false,\"Error\":\"Unspecified error \","
                           "\"ErrorCode\":2147500037}");
  assert_string_equal(text, "hcn::CreateEndpoint h: The endpoint was not found. (HRESULT "
                            "0x803B0002): Unspecified error");
  free(text);
  text = cf_hcn_error_message("DeleteNetwork", "n", 0x80004005u, NULL, "  plain text\n");
  assert_string_equal(text, "hcn::DeleteNetwork n: failed (HRESULT 0x80004005): plain text");
  free(text);
  text = cf_hcn_error_message("OpenNamespace", "g", 0x80070490u, NULL, NULL);
  assert_string_equal(text, "hcn::OpenNamespace g: failed (HRESULT 0x80070490)");
  free(text);

  assert_true(cf_hcn_hresult_is_not_found(0x803B0001u));
  assert_true(cf_hcn_hresult_is_not_found(0x803B0002u));
  assert_true(cf_hcn_hresult_is_not_found(0x80070490u));
  assert_true(cf_hcn_hresult_is_not_found(0x80070002u));
  assert_false(cf_hcn_hresult_is_not_found(0x803B000Au)); /* HCN_E_INVALID_NETWORK */
  assert_false(cf_hcn_hresult_is_not_found(0));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(cidr_cover_winc_example),
      cmocka_unit_test(cidr_cover_whole_space),
      cmocka_unit_test(cidr_cover_counts),
      cmocka_unit_test(cidr_cover_netout_test_range),
      cmocka_unit_test(network_document_with_search),
      cmocka_unit_test(network_document_bosh_default),
      cmocka_unit_test(network_rejects_bad_config),
      cmocka_unit_test(endpoint_document_starts_denied),
      cmocka_unit_test(endpoint_document_search_no_qos),
      cmocka_unit_test(endpoint_rejects_bad_input),
      cmocka_unit_test(policies_winc_update_example),
      cmocka_unit_test(policies_protocols_and_ports),
      cmocka_unit_test(policies_reject_bad_rules),
      cmocka_unit_test(namespace_documents),
      cmocka_unit_test(query_documents),
      cmocka_unit_test(ids_parsed),
      cmocka_unit_test(network_properties_parsed),
      cmocka_unit_test(network_two_subnets_mismatch),
      cmocka_unit_test(endpoint_properties_parsed),
      cmocka_unit_test(namespace_compartment_parsed),
      cmocka_unit_test(json_reader_edge_cases),
      cmocka_unit_test(guid_parsed_in_windows_layout),
      cmocka_unit_test(error_messages),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
