/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the Linux network backend's nft script builders and of its
 * reader of table listings. The expected scripts are written out by hand.
 */
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/mem.h"
#include "network/linux/netlinux.h"
#include "network/linux/nftscript.h"

#define ID "0123456789ab"

static void test_network_script(void **state)
{
  (void)state;
  cf_nft_net net = {
      .table = "cfwin-winc-nat", .bridge = "winc-nat", .subnet = 0xac1e0000u, .prefix_len = 22};
  cf_autofree char *script = cf_nft_script_network(&net);
  assert_string_equal(
      script,
      "create table ip cfwin-winc-nat\n"
      "add map ip cfwin-winc-nat endpoints { type ipv4_addr : verdict; }\n"
      "add map ip cfwin-winc-nat netin { type inet_proto . inet_service : verdict; }\n"
      "add chain ip cfwin-winc-nat prerouting"
      " { type nat hook prerouting priority dstnat; policy accept; }\n"
      "add chain ip cfwin-winc-nat postrouting"
      " { type nat hook postrouting priority srcnat; policy accept; }\n"
      "add chain ip cfwin-winc-nat forward"
      " { type filter hook forward priority filter; policy accept; }\n"
      "add chain ip cfwin-winc-nat input"
      " { type filter hook input priority filter; policy accept; }\n"
      "add rule ip cfwin-winc-nat prerouting iifname != \"winc-nat\" fib daddr type local"
      " meta l4proto . th dport vmap @netin\n"
      "add rule ip cfwin-winc-nat postrouting ip saddr 172.30.0.0/22 oifname != \"winc-nat\""
      " masquerade\n"
      "add rule ip cfwin-winc-nat forward ct state established,related accept\n"
      "add rule ip cfwin-winc-nat forward iifname \"winc-nat\" ip saddr vmap @endpoints\n"
      "add rule ip cfwin-winc-nat forward iifname \"winc-nat\" drop\n"
      "add rule ip cfwin-winc-nat forward oifname \"winc-nat\" ct status dnat accept\n"
      "add rule ip cfwin-winc-nat forward oifname \"winc-nat\" drop\n"
      "add rule ip cfwin-winc-nat input iifname \"winc-nat\" ct state established,related"
      " accept\n"
      "add rule ip cfwin-winc-nat input iifname \"winc-nat\" ip saddr vmap @endpoints\n"
      "add rule ip cfwin-winc-nat input iifname \"winc-nat\" drop\n");
}

static void test_network_delete_script(void **state)
{
  (void)state;
  cf_autofree char *script = cf_nft_script_network_delete("cfwin-n");
  assert_string_equal(script, "add table ip cfwin-n\ndelete table ip cfwin-n\n");
}

static void test_new_endpoint_denies_everything(void **state)
{
  (void)state;
  cf_nft_endpoint_rules in = {.id = ID, .handle = "h1", .address = 0x0a000005u};
  cf_nft_endpoint_state old = {0};
  char *script = NULL;
  assert_int_equal(cf_nft_script_endpoint("cfwin-n", &in, &old, &script, NULL), 0);
  assert_string_equal(script, "add chain ip cfwin-n in-" ID "\n"
                              "add chain ip cfwin-n out-" ID "\n"
                              "flush chain ip cfwin-n in-" ID "\n"
                              "flush chain ip cfwin-n out-" ID "\n"
                              "add rule ip cfwin-n out-" ID " drop\n"
                              "add element ip cfwin-n endpoints { 10.0.0.5 : goto out-" ID " }\n");
  free(script);
}

static void test_endpoint_rules_and_mappings(void **state)
{
  (void)state;
  cf_net_mapping mappings[] = {{40000, 8080}, {40001, 2222}};
  cf_net_range private_nets[] = {{0x0a000000u, 0x0affffffu}, {0xc0a80000u, 0xc0a8ffffu}};
  cf_port_range web[] = {{80, 443}, {8080, 8080}};
  cf_net_range one_host[] = {{0x08080808u, 0x08080808u}};
  cf_net_rule rules[] = {
      {.protocol = CF_NET_PROTO_TCP,
       .networks = private_nets,
       .network_count = 2,
       .ports = web,
       .port_count = 2},
      {.protocol = CF_NET_PROTO_UDP, .networks = one_host, .network_count = 1, .log = true},
      {.protocol = CF_NET_PROTO_ICMP, .has_icmp = true, .icmp_type = 8},
      {.protocol = CF_NET_PROTO_ICMP,
       .has_icmp = true,
       .icmp_type = 3,
       .has_icmp_code = true,
       .icmp_code = 4},
      {.protocol = CF_NET_PROTO_ICMP},
      {.protocol = CF_NET_PROTO_ALL, .ports = web, .port_count = 2},
  };
  cf_nft_endpoint_rules in = {.id = ID,
                              .handle = "app-1",
                              .address = 0x0a000005u,
                              .mappings = mappings,
                              .mapping_count = 2,
                              .rules = rules,
                              .rule_count = 6,
                              .can_log = true};
  uint32_t old_addresses[] = {0x0a000005u};
  cf_nft_netin_key old_netin[] = {{IPPROTO_TCP, 39999}, {IPPROTO_UDP, 39999}};
  cf_nft_endpoint_state old = {.has_in_chain = true,
                               .has_out_chain = true,
                               .addresses = old_addresses,
                               .address_count = 1,
                               .netin = old_netin,
                               .netin_count = 2};
  char *script = NULL;
  assert_int_equal(cf_nft_script_endpoint("cfwin-n", &in, &old, &script, NULL), 0);
  assert_string_equal(script,
                      "add chain ip cfwin-n in-" ID "\n"
                      "add chain ip cfwin-n out-" ID "\n"
                      "flush chain ip cfwin-n in-" ID "\n"
                      "flush chain ip cfwin-n out-" ID "\n"
                      "delete element ip cfwin-n netin { tcp . 39999, udp . 39999 }\n"
                      "delete element ip cfwin-n endpoints { 10.0.0.5 }\n"
                      "add rule ip cfwin-n in-" ID " tcp dport 40000 dnat to 10.0.0.5:8080\n"
                      "add rule ip cfwin-n in-" ID " udp dport 40000 dnat to 10.0.0.5:8080\n"
                      "add rule ip cfwin-n in-" ID " tcp dport 40001 dnat to 10.0.0.5:2222\n"
                      "add rule ip cfwin-n in-" ID " udp dport 40001 dnat to 10.0.0.5:2222\n"
                      "add element ip cfwin-n netin { tcp . 40000 : goto in-" ID
                      ", udp . 40000 : goto in-" ID ", tcp . 40001 : goto in-" ID
                      ", udp . 40001 : goto in-" ID " }\n"
                      "add rule ip cfwin-n out-" ID " ip daddr { 10.0.0.0-10.255.255.255,"
                      " 192.168.0.0-192.168.255.255 } tcp dport { 80-443, 8080 } accept\n"
                      "add rule ip cfwin-n out-" ID " ip daddr { 8.8.8.8 } meta l4proto udp"
                      " log prefix \"cfwin app-1 \" accept\n"
                      "add rule ip cfwin-n out-" ID " icmp type 8 accept\n"
                      "add rule ip cfwin-n out-" ID " icmp type 3 icmp code 4 accept\n"
                      "add rule ip cfwin-n out-" ID " meta l4proto icmp accept\n"
                      "add rule ip cfwin-n out-" ID " accept\n"
                      "add rule ip cfwin-n out-" ID " drop\n"
                      "add element ip cfwin-n endpoints { 10.0.0.5 : goto out-" ID " }\n");
  free(script);
}

static void test_ranges_are_merged(void **state)
{
  (void)state;
  /* Overlapping and adjacent ranges in any order become one interval each,
   * because nft rejects overlapping intervals in one set. */
  cf_net_range nets[] = {{0x0a000010u, 0x0a000020u},
                         {0x0a000000u, 0x0a000010u},
                         {0x0a000021u, 0x0a000021u},
                         {0x0b000000u, 0x0b000000u}};
  cf_port_range ports[] = {{1000, 2000}, {10, 20}, {1500, 1600}, {2001, 2001}};
  cf_net_rule rule = {.protocol = CF_NET_PROTO_TCP,
                      .networks = nets,
                      .network_count = 4,
                      .ports = ports,
                      .port_count = 4};
  cf_nft_endpoint_rules in = {
      .id = ID, .handle = "h", .address = 0x0a000005u, .rules = &rule, .rule_count = 1};
  cf_nft_endpoint_state old = {0};
  char *script = NULL;
  assert_int_equal(cf_nft_script_endpoint("t", &in, &old, &script, NULL), 0);
  assert_non_null(strstr(script,
                         "add rule ip t out-" ID " ip daddr { 10.0.0.0-10.0.0.33, 11.0.0.0 }"
                         " tcp dport { 10-20, 1000-2001 } accept\n"));
  free(script);
}

static void test_full_ranges_mean_any(void **state)
{
  (void)state;
  cf_net_range everything[] = {{0, UINT32_MAX}};
  cf_port_range all_ports[] = {{0, UINT16_MAX}};
  cf_net_rule rule = {.protocol = CF_NET_PROTO_UDP,
                      .networks = everything,
                      .network_count = 1,
                      .ports = all_ports,
                      .port_count = 1};
  cf_nft_endpoint_rules in = {
      .id = ID, .handle = "h", .address = 0x0a000005u, .rules = &rule, .rule_count = 1};
  cf_nft_endpoint_state old = {0};
  char *script = NULL;
  assert_int_equal(cf_nft_script_endpoint("t", &in, &old, &script, NULL), 0);
  assert_non_null(strstr(script, "add rule ip t out-" ID " meta l4proto udp accept\n"));
  free(script);
}

static void test_log_dropped_without_support(void **state)
{
  (void)state;
  cf_net_rule rule = {.protocol = CF_NET_PROTO_ALL, .log = true};
  cf_nft_endpoint_rules in = {.id = ID,
                              .handle = "h",
                              .address = 0x0a000005u,
                              .rules = &rule,
                              .rule_count = 1,
                              .can_log = false};
  cf_nft_endpoint_state old = {0};
  char *script = NULL;
  assert_int_equal(cf_nft_script_endpoint("t", &in, &old, &script, NULL), 0);
  assert_null(strstr(script, "log"));
  assert_non_null(strstr(script, "add rule ip t out-" ID " accept\n"));
  free(script);
}

static void expect_invalid(const cf_net_mapping *mappings, size_t mapping_count,
                           const cf_net_rule *rule, const char *message_part)
{
  cf_nft_endpoint_rules in = {.id = ID,
                              .handle = "h",
                              .address = 0x0a000005u,
                              .mappings = mappings,
                              .mapping_count = mapping_count,
                              .rules = rule,
                              .rule_count = rule != NULL};
  cf_nft_endpoint_state old = {0};
  char *script = NULL;
  cf_err *err = NULL;
  assert_int_equal(cf_nft_script_endpoint("t", &in, &old, &script, &err), -1);
  assert_null(script);
  assert_int_equal(err->code, CF_E_INVALID);
  assert_non_null(strstr(err->message, message_part));
  cf_err_free(err);
}

static void test_invalid_rules_rejected(void **state)
{
  (void)state;
  cf_net_rule bad_protocol = {.protocol = 4};
  expect_invalid(NULL, 0, &bad_protocol, "invalid protocol: 4");
  cf_net_range backwards[] = {{0x0a000002u, 0x0a000001u}};
  cf_net_rule bad_range = {.protocol = CF_NET_PROTO_ALL, .networks = backwards, .network_count = 1};
  expect_invalid(NULL, 0, &bad_range, "10.0.0.2-10.0.0.1");
  cf_port_range backwards_ports[] = {{90, 80}};
  cf_net_rule bad_ports = {.protocol = CF_NET_PROTO_TCP, .ports = backwards_ports, .port_count = 1};
  expect_invalid(NULL, 0, &bad_ports, "90-80");
  cf_net_rule icmp_on_tcp = {.protocol = CF_NET_PROTO_TCP, .has_icmp = true};
  expect_invalid(NULL, 0, &icmp_on_tcp, "ICMP type");
  cf_net_rule code_only = {.protocol = CF_NET_PROTO_ICMP, .has_icmp_code = true};
  expect_invalid(NULL, 0, &code_only, "ICMP code");
  cf_net_mapping zero[] = {{0, 80}};
  expect_invalid(zero, 1, NULL, "invalid port 0");
  cf_net_mapping twice[] = {{40000, 80}, {40000, 81}};
  expect_invalid(twice, 2, NULL, "host port 40000");
}

static void test_endpoint_remove_script(void **state)
{
  (void)state;
  uint32_t addresses[] = {0x0a000005u};
  cf_nft_netin_key netin[] = {{IPPROTO_TCP, 40000}, {IPPROTO_UDP, 40000}};
  cf_nft_endpoint_state full = {.has_in_chain = true,
                                .has_out_chain = true,
                                .addresses = addresses,
                                .address_count = 1,
                                .netin = netin,
                                .netin_count = 2};
  cf_autofree char *script = cf_nft_script_endpoint_remove("t", ID, &full);
  assert_string_equal(script, "delete element ip t netin { tcp . 40000, udp . 40000 }\n"
                              "delete element ip t endpoints { 10.0.0.5 }\n"
                              "flush chain ip t in-" ID "\n"
                              "delete chain ip t in-" ID "\n"
                              "flush chain ip t out-" ID "\n"
                              "delete chain ip t out-" ID "\n");
  cf_nft_endpoint_state empty = {0};
  assert_null(cf_nft_script_endpoint_remove("t", ID, &empty));
}

/* A listing as libnftables 1.0.6 prints it, shortened to what matters. */
static const char *LISTING =
    "{\"nftables\": [{\"metainfo\": {\"version\": \"1.0.6\", \"json_schema_version\": 1}},"
    " {\"table\": {\"family\": \"ip\", \"name\": \"cfwin-n\", \"handle\": 1}},"
    " {\"map\": {\"family\": \"ip\", \"name\": \"netin\", \"table\": \"cfwin-n\","
    " \"type\": [\"inet_proto\", \"inet_service\"], \"handle\": 1, \"map\": \"verdict\","
    " \"elem\": [[{\"concat\": [\"tcp\", 40000]}, {\"goto\": {\"target\": \"in-0123456789ab\"}}],"
    " [{\"concat\": [\"udp\", 40000]}, {\"goto\": {\"target\": \"in-0123456789ab\"}}],"
    " [{\"concat\": [\"tcp\", 40005]}, {\"goto\": {\"target\": \"in-ffffffffffff\"}}]]}},"
    " {\"map\": {\"family\": \"ip\", \"name\": \"endpoints\", \"table\": \"cfwin-n\","
    " \"type\": \"ipv4_addr\", \"handle\": 2, \"map\": \"verdict\","
    " \"elem\": [[\"10.1.0.5\", {\"goto\": {\"target\": \"out-0123456789ab\"}}],"
    " [\"10.1.0.6\", {\"goto\": {\"target\": \"out-ffffffffffff\"}}]]}},"
    " {\"chain\": {\"family\": \"ip\", \"table\": \"cfwin-n\", \"name\": \"forward\","
    " \"handle\": 5, \"type\": \"filter\", \"hook\": \"forward\", \"prio\": 0,"
    " \"policy\": \"accept\"}},"
    " {\"chain\": {\"family\": \"ip\", \"table\": \"cfwin-n\", \"name\": \"in-0123456789ab\","
    " \"handle\": 17}},"
    " {\"chain\": {\"family\": \"ip\", \"table\": \"cfwin-n\", \"name\": \"out-0123456789ab\","
    " \"handle\": 18}},"
    " {\"chain\": {\"family\": \"ip\", \"table\": \"cfwin-n\", \"name\": \"in-ffffffffffff\","
    " \"handle\": 19}},"
    " {\"chain\": {\"family\": \"ip\", \"table\": \"cfwin-n\", \"name\": \"out-ffffffffffff\","
    " \"handle\": 20}},"
    " {\"chain\": {\"family\": \"ip\", \"table\": \"cfwin-n\", \"name\": \"out-123\","
    " \"handle\": 21}}]}";

static void test_listing_parsed_per_endpoint(void **state)
{
  (void)state;
  cf_nft_table_state table;
  assert_int_equal(cf_nft_table_state_parse(LISTING, &table, NULL), 0);
  assert_true(table.exists);
  assert_int_equal(table.id_count, 2);
  assert_string_equal(table.ids[0], "0123456789ab");
  assert_string_equal(table.ids[1], "ffffffffffff");

  cf_nft_endpoint_state one;
  cf_nft_endpoint_state_get(&table, "0123456789ab", &one);
  assert_true(one.has_in_chain);
  assert_true(one.has_out_chain);
  assert_int_equal(one.address_count, 1);
  assert_int_equal(one.addresses[0], 0x0a010005u);
  assert_int_equal(one.netin_count, 2);
  assert_int_equal(one.netin[0].protocol, IPPROTO_TCP);
  assert_int_equal(one.netin[0].port, 40000);
  assert_int_equal(one.netin[1].protocol, IPPROTO_UDP);
  assert_int_equal(one.netin[1].port, 40000);
  cf_nft_endpoint_state_free(&one);

  cf_nft_endpoint_state none;
  cf_nft_endpoint_state_get(&table, "aaaaaaaaaaaa", &none);
  assert_false(none.has_in_chain);
  assert_false(none.has_out_chain);
  assert_int_equal(none.address_count, 0);
  assert_int_equal(none.netin_count, 0);
  cf_nft_endpoint_state_free(&none);
  cf_nft_table_state_free(&table);
}

static void test_listing_rejects_other_json(void **state)
{
  (void)state;
  cf_nft_table_state table;
  cf_err *err = NULL;
  assert_int_equal(cf_nft_table_state_parse("{\"x\": 1}", &table, &err), -1);
  assert_int_equal(err->code, CF_E_INVALID);
  cf_err_clear(&err);
  assert_int_equal(cf_nft_table_state_parse("not json", &table, &err), -1);
  cf_err_clear(&err);
}

static void test_table_found_in_table_list(void **state)
{
  (void)state;
  const char *tables = "{\"nftables\": [{\"metainfo\": {\"json_schema_version\": 1}},"
                       " {\"table\": {\"family\": \"ip\", \"name\": \"filter\", \"handle\": 1}},"
                       " {\"table\": {\"family\": \"ip\", \"name\": \"cfwin-n\", \"handle\": 2}}]}";
  bool found = false;
  assert_int_equal(cf_nft_listing_has_table(tables, "cfwin-n", &found, NULL), 0);
  assert_true(found);
  assert_int_equal(cf_nft_listing_has_table(tables, "cfwin-m", &found, NULL), 0);
  assert_false(found);
}

/* A pid that shares this process's root is not in a container: writing its
 * resolv.conf would rewrite the host's, so the backend refuses and leaves
 * the host file as it was. */
static void test_resolv_conf_refuses_host_root(void **state)
{
  (void)state;
  struct stat before;
  int had_file = stat("/etc/resolv.conf", &before) == 0;
  uint32_t servers[] = {0x0a000001u};
  cf_err *err = NULL;
  assert_int_equal(cf_netlx_write_resolv_conf(getpid(), servers, 1, NULL, 0, &err), -1);
  assert_int_equal(err->code, CF_E_INVALID);
  assert_non_null(strstr(err->message, "not in a container"));
  cf_err_free(err);
  struct stat after;
  if (had_file) {
    assert_int_equal(stat("/etc/resolv.conf", &after), 0);
    assert_int_equal(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
    assert_int_equal(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_resolv_conf_refuses_host_root),
      cmocka_unit_test(test_network_script),
      cmocka_unit_test(test_network_delete_script),
      cmocka_unit_test(test_new_endpoint_denies_everything),
      cmocka_unit_test(test_endpoint_rules_and_mappings),
      cmocka_unit_test(test_ranges_are_merged),
      cmocka_unit_test(test_full_ranges_mean_any),
      cmocka_unit_test(test_log_dropped_without_support),
      cmocka_unit_test(test_invalid_rules_rejected),
      cmocka_unit_test(test_endpoint_remove_script),
      cmocka_unit_test(test_listing_parsed_per_endpoint),
      cmocka_unit_test(test_listing_rejects_other_json),
      cmocka_unit_test(test_table_found_in_table_list),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
