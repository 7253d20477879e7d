/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the network role's platform-neutral part: the config
 * file, Garden's rule JSON, address and host-port allocation in the store,
 * and the orchestration of up, down, net-in, net-out and sweep.
 *
 * The orchestration tests use a recording fake backend (cf_net_ops),
 * because the Linux and Windows backends have their own tests against real
 * namespaces and HCN documents. These tests check which backend calls the
 * orchestration makes and what it records.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/mem.h"
#include "network/net.h"
#include "network/net_config.h"
#include "network/net_rules.h"
#include "store/store.h"
#include "testutil.h"

static const char bosh_config[] =
    "{\"mtu\":0,\"network_name\":\"winc-nat\",\"subnet_range\":\"172.30.0.0/22\","
    "\"gateway_address\":\"172.30.0.1\",\"dns_servers\":[\"172.30.0.1\"],"
    "\"maximum_outgoing_bandwidth\":0,\"search_domains\":[],"
    "\"allow_outbound_traffic_by_default\":false,\"wait_timeout_in_seconds\":2}";

static void assert_ok(int rc, cf_err **err)
{
  if (rc != 0) {
    fail_msg("unexpected error: %s", *err == NULL ? "(no error set)" : (*err)->message);
  }
  assert_null(*err);
}

static void assert_error(int rc, cf_err **err, enum cf_code code, const char *message)
{
  assert_int_equal(rc, -1);
  assert_non_null(*err);
  assert_string_equal((*err)->message, message);
  assert_int_equal((*err)->code, code);
  cf_err_clear(err);
}

static uint32_t ip(const char *text)
{
  uint32_t addr = 0;
  assert_true(cf_net_parse_ipv4(text, &addr));
  return addr;
}

/* ---- IPv4 text ---- */

static void test_ipv4_parse_forms(void **state)
{
  (void)state;
  uint32_t addr = 0;
  assert_true(cf_net_parse_ipv4("172.30.0.1", &addr));
  assert_int_equal(addr, 0xac1e0001u);
  assert_true(cf_net_parse_ipv4("255.255.255.255", &addr));
  assert_int_equal(addr, 0xffffffffu);
  static const char *const bad[] = {"",        "1.2.3",    "1.2.3.4.5", "256.0.0.1", "01.2.3.4",
                                    "1.2.3.a", " 1.2.3.4", "1.2.3.4 ",  "::1",       "1..2.3"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    if (cf_net_parse_ipv4(bad[i], &addr)) {
      fail_msg("accepted \"%s\"", bad[i]);
    }
  }
  char text[16];
  cf_net_format_ipv4(0x0a000102u, text);
  assert_string_equal(text, "10.0.1.2");
  uint8_t len = 0;
  assert_true(cf_net_parse_cidr("10.0.0.0/8", &addr, &len));
  assert_int_equal(len, 8);
  assert_false(cf_net_parse_cidr("10.0.0.0/33", &addr, &len));
  assert_false(cf_net_parse_cidr("10.0.0.0", &addr, &len));
  assert_false(cf_net_parse_cidr("10.0.0.0/", &addr, &len));
}

/* ---- config ---- */

static void test_config_bosh_file(void **state)
{
  (void)state;
  cf_err *err = NULL;
  cf_net_config c;
  assert_ok(cf_net_config_parse(bosh_config, strlen(bosh_config), &c, &err), &err);
  assert_true(c.has_network);
  assert_string_equal(c.network_name, "winc-nat");
  assert_int_equal(c.subnet, ip("172.30.0.0"));
  assert_int_equal(c.prefix_len, 22);
  assert_int_equal(c.gateway, ip("172.30.0.1"));
  assert_int_equal(c.dns_server_count, 1);
  assert_int_equal(c.dns_servers[0], ip("172.30.0.1"));
  assert_int_equal(c.wait_timeout_in_seconds, 2);
  assert_false(c.allow_outbound_traffic_by_default);
  assert_string_equal(c.state_dir, CF_NET_DEFAULT_STATE_DIR);
  assert_int_equal(c.port_pool_start, 40000);
  assert_int_equal(c.port_pool_size, 5000);
  assert_int_equal(c.unknown_key_count, 0);
  cf_net_config_clear(&c);
}

static void test_config_cfwin_keys_and_unknown(void **state)
{
  (void)state;
  const char *text =
      "{\"network_name\":\"n\",\"subnet_range\":\"10.1.0.0/24\","
      "\"gateway_address\":\"10.1.0.254\",\"state_dir\":\"/tmp/x\","
      "\"port_pool_start\":60000,\"port_pool_size\":10,\"bandwidth_burst\":4096,"
      "\"maximum_outgoing_bandwidth\":1048576,\"mtu\":1400,"
      "\"search_domains\":[\"a.example\",\"b.example\"],"
      "\"allow_outbound_traffic_by_default\":true,\"log_level\":\"x\",\"dns_servers\":null}";
  cf_err *err = NULL;
  cf_net_config c;
  assert_ok(cf_net_config_parse(text, strlen(text), &c, &err), &err);
  assert_string_equal(c.state_dir, "/tmp/x");
  assert_int_equal(c.port_pool_start, 60000);
  assert_int_equal(c.port_pool_size, 10);
  assert_int_equal(c.bandwidth_burst, 4096);
  assert_int_equal(c.maximum_outgoing_bandwidth, 1048576);
  assert_int_equal(c.mtu, 1400);
  assert_int_equal(c.search_domain_count, 2);
  assert_string_equal(c.search_domains[1], "b.example");
  assert_true(c.allow_outbound_traffic_by_default);
  assert_int_equal(c.dns_server_count, 0);
  assert_int_equal(c.unknown_key_count, 1);
  assert_string_equal(c.unknown_keys[0], "log_level");
  cf_net_config_clear(&c);
}

static void test_config_empty_path_defaults(void **state)
{
  (void)state;
  cf_err *err = NULL;
  cf_net_config c;
  assert_ok(cf_net_config_load("", &c, &err), &err);
  assert_false(c.has_network);
  assert_string_equal(c.state_dir, CF_NET_DEFAULT_STATE_DIR);
  assert_error(cf_net_config_require_network(&c, &err), &err, CF_E_INVALID,
               "no network is configured: pass --configFile with network_name, subnet_range and "
               "gateway_address");
  cf_net_config_clear(&c);
}

/* Each case replaces one key of a good file. */
static void test_config_bad_values(void **state)
{
  (void)state;
  static const char base[] =
      "\"network_name\":\"n\",\"subnet_range\":\"10.1.0.0/24\",\"gateway_address\":\"10.1.0.1\"";
  static const struct {
    const char *extra; /* appended after base, or replacing it when it starts with '!' */
    const char *message;
  } cases[] = {
      {",\"mtu\":\"1500\"", "mtu: expected an integer from 0 to 65535, got \"1500\""},
      {",\"mtu\":70000", "mtu: expected an integer from 0 to 65535, got 70000"},
      {",\"mtu\":10", "mtu: 10 is below the IPv4 minimum of 68; use 0 to inherit the host's"},
      {",\"dns_servers\":[\"8.8.8\"]", "dns_servers[0]: expected an IPv4 address, got \"8.8.8\""},
      {",\"dns_servers\":\"8.8.8.8\"",
       "dns_servers: expected a list of IPv4 addresses, got \"8.8.8.8\""},
      {",\"search_domains\":[\"a.com,b.com\"]",
       "search_domains[0]: invalid DNS suffix \"a.com,b.com\": it must not contain a comma or a "
       "space"},
      {",\"allow_outbound_traffic_by_default\":\"yes\"",
       "allow_outbound_traffic_by_default: expected true or false, got \"yes\""},
      {",\"maximum_outgoing_bandwidth\":-1",
       "maximum_outgoing_bandwidth: expected an integer from 0 to 9223372036854775807, got -1"},
      {",\"port_pool_start\":0", "port_pool_start: must be at least 1"},
      {",\"port_pool_start\":65000,\"port_pool_size\":1000",
       "port_pool_start 65000 with port_pool_size 1000 passes port 65535"},
      {",\"state_dir\":\"\"", "state_dir: must not be empty"},
      {",\"wait_timeout_in_seconds\":1.5",
       "wait_timeout_in_seconds: expected an integer from 0 to 86400, got 1.5"},
      {"!\"network_name\":\"n\",\"subnet_range\":\"10.1.0.0/24\"",
       "gateway_address: missing; the config file must set it"},
      {"!\"subnet_range\":\"10.1.0.0/24\",\"gateway_address\":\"10.1.0.1\"",
       "network_name: missing; the config file must set it"},
      {"!\"network_name\":\"n\",\"subnet_range\":\"10.1.0.0/31\",\"gateway_address\":\"10.1.0.1\"",
       "subnet_range: prefix length of \"10.1.0.0/31\" must be from 1 to 30, so the subnet has "
       "room for the gateway and a container"},
      {"!\"network_name\":\"n\",\"subnet_range\":\"0.0.0.0/0\",\"gateway_address\":\"10.1.0.1\"",
       "subnet_range: prefix length of \"0.0.0.0/0\" must be from 1 to 30, so the subnet has "
       "room for the gateway and a container"},
      {"!\"network_name\":\"n\",\"subnet_range\":\"10.1.0.5/24\",\"gateway_address\":\"10.1.0.1\"",
       "subnet_range: \"10.1.0.5/24\" has host bits set; use 10.1.0.0/24"},
      {"!\"network_name\":\"n\",\"subnet_range\":\"10.1.0.0\",\"gateway_address\":\"10.1.0.1\"",
       "subnet_range: expected an IPv4 CIDR such as \"172.30.0.0/22\", got \"10.1.0.0\""},
      {"!\"network_name\":\"n\",\"subnet_range\":\"10.1.0.0/24\",\"gateway_address\":\"10.2.0.1\"",
       "gateway_address: 10.2.0.1 is not a usable address of subnet_range 10.1.0.0/24"},
      {"!\"network_name\":\"n\",\"subnet_range\":\"10.1.0.0/24\","
       "\"gateway_address\":\"10.1.0.255\"",
       "gateway_address: 10.1.0.255 is not a usable address of subnet_range 10.1.0.0/24"},
      {"!\"network_name\":\"\",\"subnet_range\":\"10.1.0.0/24\",\"gateway_address\":\"10.1.0.1\"",
       "network_name: must not be empty"},
      {",\"mtu\":1,\"mtu\":2",
       "invalid JSON at line 1 column 91: duplicate object key near '\"mtu\"'"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    cf_autofree char *text = cases[i].extra[0] == '!'
                                 ? cf_xasprintf("{%s}", cases[i].extra + 1)
                                 : cf_xasprintf("{%s%s}", base, cases[i].extra);
    cf_err *err = NULL;
    cf_net_config c;
    int rc = cf_net_config_parse(text, strlen(text), &c, &err);
    if (rc == 0) {
      fail_msg("case %zu accepted: %s", i, text);
    }
    if (strcmp(err->message, cases[i].message) != 0) {
      fail_msg("case %zu: got \"%s\", expected \"%s\"", i, err->message, cases[i].message);
    }
    assert_int_equal(err->code, CF_E_INVALID);
    cf_err_clear(&err);
    assert_false(c.has_network); /* left at the defaults */
    cf_net_config_clear(&c);
  }
}

static void test_config_file_errors_name_the_file(void **state)
{
  (void)state;
  cf_autofree char *dir = cf_test_tmpdir("netconfig");
  cf_autofree char *path = cf_path_join(dir, "interface.json");
  FILE *f = fopen(path, "w");
  fputs("{\"mtu\": ", f);
  fclose(f);
  cf_err *err = NULL;
  cf_net_config c;
  assert_int_equal(cf_net_config_load(path, &c, &err), -1);
  cf_autofree char *prefix = cf_xasprintf("%s: invalid JSON at line 1", path);
  assert_memory_equal(err->message, prefix, strlen(prefix));
  cf_err_clear(&err);
  cf_net_config_clear(&c);
  cf_autofree char *missing = cf_path_join(dir, "none.json");
  assert_int_equal(cf_net_config_load(missing, &c, &err), -1);
  assert_int_equal(err->code, CF_E_SYSTEM);
  cf_err_clear(&err);
  cf_net_config_clear(&c);
  cf_test_rmdir(dir);
}

/* ---- rules ---- */

static int parse_rule_text(const char *text, cf_net_rule *rule, cf_err **err)
{
  json_t *json = json_loads(text, 0, NULL);
  assert_non_null(json);
  int rc = cf_net_rule_parse(json, "netout_rules[3]", rule, err);
  json_decref(json);
  return rc;
}

static void test_rule_full_parse(void **state)
{
  (void)state;
  cf_err *err = NULL;
  cf_net_rule r;
  assert_ok(
      parse_rule_text("{\"protocol\":1,\"networks\":[{\"start\":\"10.0.0.0\",\"end\":"
                      "\"10.255.255.255\"},{\"start\":\"192.168.1.1\",\"end\":\"192.168.1.1\"}],"
                      "\"ports\":[{\"start\":80,\"end\":443},{\"start\":8080}],\"log\":true,"
                      "\"extra\":1}",
                      &r, &err),
      &err);
  assert_int_equal(r.protocol, CF_NET_PROTO_TCP);
  assert_int_equal(r.network_count, 2);
  assert_int_equal(r.networks[0].start, ip("10.0.0.0"));
  assert_int_equal(r.networks[0].end, ip("10.255.255.255"));
  assert_int_equal(r.port_count, 2);
  assert_int_equal(r.ports[0].start, 80);
  assert_int_equal(r.ports[0].end, 443);
  assert_int_equal(r.ports[1].start, 8080);
  assert_int_equal(r.ports[1].end, 8080);
  assert_true(r.log);
  assert_false(r.has_icmp);
  cf_net_rule_clear(&r);

  assert_ok(parse_rule_text("{\"protocol\":3,\"icmps\":{\"type\":8}}", &r, &err), &err);
  assert_true(r.has_icmp);
  assert_int_equal(r.icmp_type, 8);
  assert_false(r.has_icmp_code);
  cf_net_rule_clear(&r);
  assert_ok(parse_rule_text("{\"protocol\":3,\"icmps\":{\"type\":3,\"code\":4}}", &r, &err), &err);
  assert_true(r.has_icmp_code);
  assert_int_equal(r.icmp_code, 4);
  cf_net_rule_clear(&r);

  assert_ok(parse_rule_text("{}", &r, &err), &err);
  assert_int_equal(r.protocol, CF_NET_PROTO_ALL);
  assert_int_equal(r.network_count, 0);
  assert_int_equal(r.port_count, 0);
  cf_net_rule_clear(&r);
}

static void test_rule_bad_input(void **state)
{
  (void)state;
  static const struct {
    const char *json;
    const char *message;
  } cases[] = {
      {"[]", "netout_rules[3]: expected a JSON object"},
      {"{\"protocol\":4}",
       "netout_rules[3]: protocol 4 (icmpv6) is not supported: cfwin networks are IPv4 only"},
      {"{\"protocol\":9}",
       "netout_rules[3]: invalid protocol: 9; use 0 (all), 1 (tcp), 2 (udp) or 3 (icmp)"},
      {"{\"protocol\":\"tcp\"}", "netout_rules[3]: protocol: expected an integer, got \"tcp\""},
      {"{\"protocol\":-1}", "netout_rules[3]: protocol: -1 is out of range 0-4294967296"},
      {"{\"networks\":[{\"start\":\"10.0.0.9\",\"end\":\"10.0.0.1\"}]}",
       "netout_rules[3]: networks[0]: start 10.0.0.9 is after end 10.0.0.1"},
      {"{\"networks\":[{\"start\":\"10.0.0.1\"}]}", "netout_rules[3]: networks[0]: end: missing"},
      {"{\"networks\":[{\"start\":\"fe80::1\",\"end\":\"fe80::2\"}]}",
       "netout_rules[3]: networks[0]: start: \"fe80::1\" is not an IPv4 address"},
      {"{\"networks\":{\"start\":\"10.0.0.1\"}}",
       "netout_rules[3]: networks: expected a JSON array"},
      {"{\"networks\":[{\"start\":\"10.0.0.0\",\"end\":\"10.0.0.255\"},"
       "{\"start\":\"10.0.0.128\",\"end\":\"10.0.1.0\"}]}",
       "netout_rules[3]: networks[1] overlaps networks[0]; merge them into one range"},
      {"{\"protocol\":1,\"ports\":[{\"start\":0,\"end\":80}]}",
       "netout_rules[3]: ports[0]: start: 0 is out of range 1-65535"},
      {"{\"protocol\":1,\"ports\":[{\"start\":80,\"end\":65536}]}",
       "netout_rules[3]: ports[0]: end: 65536 is out of range 1-65535"},
      {"{\"protocol\":2,\"ports\":[{\"start\":90,\"end\":80}]}",
       "netout_rules[3]: ports[0]: start 90 is after end 80"},
      {"{\"protocol\":2,\"ports\":[{\"end\":80}]}", "netout_rules[3]: ports[0]: start: missing"},
      {"{\"protocol\":1,\"ports\":[{\"start\":80,\"end\":90},{\"start\":85,\"end\":85}]}",
       "netout_rules[3]: ports[1] overlaps ports[0]; merge them into one range"},
      {"{\"protocol\":0,\"ports\":[{\"start\":80,\"end\":80}]}",
       "netout_rules[3]: ports: only tcp (1) and udp (2) rules take ports, this rule's protocol "
       "is all (0): remove the ports or pick tcp or udp"},
      {"{\"protocol\":3,\"ports\":[{\"start\":80,\"end\":80}]}",
       "netout_rules[3]: ports: only tcp (1) and udp (2) rules take ports, this rule's protocol "
       "is icmp (3): remove the ports or pick tcp or udp"},
      {"{\"protocol\":1,\"icmps\":{\"type\":8}}",
       "netout_rules[3]: icmps: only icmp (3) rules take icmps, this rule's protocol is 1"},
      {"{\"protocol\":3,\"icmps\":{\"type\":300}}",
       "netout_rules[3]: icmps: type: 300 is out of range 0-255"},
      {"{\"log\":\"yes\"}", "netout_rules[3]: log: expected true or false"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    cf_err *err = NULL;
    cf_net_rule r;
    json_t *json = json_loads(cases[i].json, JSON_DECODE_ANY, NULL);
    assert_non_null(json);
    int rc = cf_net_rule_parse(json, "netout_rules[3]", &r, &err);
    json_decref(json);
    if (rc == 0) {
      fail_msg("case %zu accepted: %s", i, cases[i].json);
    }
    if (strcmp(err->message, cases[i].message) != 0) {
      fail_msg("case %zu: got \"%s\", expected \"%s\"", i, err->message, cases[i].message);
    }
    assert_int_equal(err->code, CF_E_INVALID);
    cf_err_clear(&err);
    assert_null(r.networks);
    assert_null(r.ports);
  }
}

static void test_rule_to_json_garden_form(void **state)
{
  (void)state;
  cf_net_range net = {ip("10.0.0.0"), ip("10.0.0.255")};
  cf_port_range port = {53, 53};
  cf_net_rule rule = {.protocol = CF_NET_PROTO_UDP,
                      .networks = &net,
                      .network_count = 1,
                      .ports = &port,
                      .port_count = 1,
                      .log = true};
  json_t *json = cf_net_rule_to_json(&rule);
  cf_autofree char *text = json_dumps(json, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref(json);
  assert_string_equal(text, "{\"log\":true,\"networks\":[{\"end\":\"10.0.0.255\",\"start\":"
                            "\"10.0.0.0\"}],\"ports\":[{\"end\":53,\"start\":53}],\"protocol\":2}");
  cf_net_rule all = {.protocol = CF_NET_PROTO_ALL};
  json = cf_net_rule_to_json(&all);
  cf_autofree char *empty = json_dumps(json, JSON_COMPACT);
  json_decref(json);
  assert_string_equal(empty, "{}");
}

static void test_mappings_parse(void **state)
{
  (void)state;
  cf_err *err = NULL;
  cf_net_mapping *m = NULL;
  size_t n = 0;
  json_t *good = json_loads("[{\"host_port\":0,\"container_port\":8080},{\"host_port\":61001,"
                            "\"container_port\":2222},{\"host_port\":61002}]",
                            0, NULL);
  assert_ok(cf_net_mappings_parse(good, "netin", &m, &n, &err), &err);
  json_decref(good);
  assert_int_equal(n, 3);
  assert_int_equal(m[0].host_port, 0);
  assert_int_equal(m[0].container_port, 8080);
  assert_int_equal(m[1].host_port, 61001);
  assert_int_equal(m[2].container_port, 61002); /* Garden: container port = host port */
  free(m);

  static const struct {
    const char *json;
    const char *message;
  } cases[] = {
      {"[{\"host_port\":70000,\"container_port\":80}]",
       "netin[0]: host_port: 70000 is out of range 0-65535"},
      {"[{\"host_port\":1,\"container_port\":65536}]",
       "netin[0]: container_port: 65536 is out of range 0-65535"},
      {"[{\"host_port\":-5,\"container_port\":80}]",
       "netin[0]: host_port: -5 is out of range 0-65535"},
      {"[{\"host_port\":\"80\"}]", "netin[0]: host_port: expected an integer, got \"80\""},
      {"[{}]", "netin[0]: host_port and container_port are both 0; set container_port"},
      {"[{\"host_port\":5000,\"container_port\":80},{\"host_port\":5000,\"container_port\":81}]",
       "netin[1]: host_port 5000 is already mapped by netin[0]"},
      {"{\"host_port\":1}", "netin: expected a JSON array"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    json_t *json = json_loads(cases[i].json, 0, NULL);
    assert_non_null(json);
    int rc = cf_net_mappings_parse(json, "netin", &m, &n, &err);
    json_decref(json);
    assert_int_equal(rc, -1);
    if (strcmp(err->message, cases[i].message) != 0) {
      fail_msg("case %zu: got \"%s\", expected \"%s\"", i, err->message, cases[i].message);
    }
    cf_err_clear(&err);
    assert_null(m);
  }
}

static void test_up_input_parse(void **state)
{
  (void)state;
  cf_err *err = NULL;
  cf_net_up_input in;
  const char *good =
      "{\"Pid\":4321,\"Properties\":{\"ports\":\"8080,2222\",\"app_id\":\"x\"},"
      "\"netout_rules\":[{\"protocol\":1,\"networks\":[{\"start\":\"10.0.0.0\",\"end\":"
      "\"10.255.255.255\"}],\"ports\":[{\"start\":80,\"end\":443}]}],"
      "\"netin\":[{\"host_port\":0,\"container_port\":8080},{\"host_port\":61001,"
      "\"container_port\":2222}]}";
  assert_ok(cf_net_up_input_parse(good, strlen(good), &in, &err), &err);
  assert_int_equal(in.pid, 4321);
  assert_int_equal(in.property_count, 2);
  assert_int_equal(in.http_port_count, 2);
  assert_int_equal(in.http_ports[1], 2222);
  assert_int_equal(in.rule_count, 1);
  assert_int_equal(in.mapping_count, 2);
  cf_net_up_input_clear(&in);

  assert_ok(cf_net_up_input_parse("null", 4, &in, &err), &err);
  assert_int_equal(in.rule_count + in.mapping_count + in.property_count, 0);

  static const struct {
    const char *json;
    const char *message;
  } cases[] = {
      {"{\"Properties\":{\"ports\":8080}}", "Invalid type input.Properties.ports: 8080"},
      {"{\"Properties\":{\"ports\":\"8080,abc\"}}",
       "Invalid port in input.Properties.ports: abc, error: not an integer from 1 to 65535"},
      {"{\"Properties\":{\"ports\":\"70000\"}}",
       "Invalid port in input.Properties.ports: 70000, error: not an integer from 1 to 65535"},
      {"{\"Pid\":\"1\"}", "Pid: expected a process id"},
      {"{\"netout_rules\":[{\"protocol\":7}]}",
       "netout_rules[0]: invalid protocol: 7; use 0 (all), 1 (tcp), 2 (udp) or 3 (icmp)"},
      {"[1]", "expected a JSON object on stdin"},
      {"{", "invalid JSON on stdin at line 1 column 1: string or '}' expected near end of file"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    int rc = cf_net_up_input_parse(cases[i].json, strlen(cases[i].json), &in, &err);
    assert_int_equal(rc, -1);
    if (strcmp(err->message, cases[i].message) != 0) {
      fail_msg("case %zu: got \"%s\", expected \"%s\"", i, err->message, cases[i].message);
    }
    cf_err_clear(&err);
  }
}

/* ---- allocation in the store ---- */

struct store_fixture {
  char *dir;
  cf_store *store;
};

static int store_setup(void **state)
{
  struct store_fixture *f = cf_xcalloc(1, sizeof(*f));
  f->dir = cf_test_tmpdir("netstore");
  cf_err *err = NULL;
  if (cf_store_open(f->dir, &f->store, &err) < 0) {
    fail_msg("open store: %s", err->message);
  }
  *state = f;
  return 0;
}

static int store_teardown(void **state)
{
  struct store_fixture *f = *state;
  cf_store_close(f->store);
  cf_test_rmdir(f->dir);
  free(f->dir);
  free(f);
  return 0;
}

/* 10.0.0.0/29 with the gateway at .1: .2 to .6 are free; ports 40000-40002. */
static const cf_net_pool small_pool = {
    .first_address = 0x0a000001u,
    .last_address = 0x0a000006u,
    .gateway = 0x0a000001u,
    .port_start = 40000,
    .port_end = 40002,
};

static uint32_t add_endpoint(cf_store *store, const char *handle, cf_net_port_mapping *m, size_t n)
{
  cf_err *err = NULL;
  uint32_t address = 0;
  assert_ok(cf_store_net_endpoint_add(store, handle, 1, &small_pool, m, n, NULL, 0, &address, &err),
            &err);
  return address;
}

static void test_alloc_lowest_free_address(void **state)
{
  struct store_fixture *f = *state;
  cf_err *err = NULL;
  assert_int_equal(add_endpoint(f->store, "a", NULL, 0), ip("10.0.0.2"));
  assert_int_equal(add_endpoint(f->store, "b", NULL, 0), ip("10.0.0.3"));
  assert_int_equal(add_endpoint(f->store, "c", NULL, 0), ip("10.0.0.4"));
  bool deleted = false;
  assert_ok(cf_store_net_endpoint_delete(f->store, "b", &deleted, &err), &err);
  assert_true(deleted);
  assert_int_equal(add_endpoint(f->store, "d", NULL, 0), ip("10.0.0.3"));
  assert_int_equal(add_endpoint(f->store, "e", NULL, 0), ip("10.0.0.5"));
  assert_int_equal(add_endpoint(f->store, "f", NULL, 0), ip("10.0.0.6"));
  uint32_t address = 0;
  assert_error(
      cf_store_net_endpoint_add(f->store, "g", 1, &small_pool, NULL, 0, NULL, 0, &address, &err),
      &err, CF_E_LIMIT,
      "acquire address: every address of the subnet is in use; make subnet_range larger "
      "or remove containers");
  assert_error(
      cf_store_net_endpoint_add(f->store, "a", 1, &small_pool, NULL, 0, NULL, 0, &address, &err),
      &err, CF_E_LIMIT,
      "acquire address: every address of the subnet is in use; make subnet_range larger "
      "or remove containers");
  assert_ok(cf_store_net_endpoint_delete(f->store, "nobody", &deleted, &err), &err);
  assert_false(deleted);
}

static void test_alloc_duplicate_handle(void **state)
{
  struct store_fixture *f = *state;
  cf_err *err = NULL;
  add_endpoint(f->store, "a", NULL, 0);
  uint32_t address = 0;
  assert_error(
      cf_store_net_endpoint_add(f->store, "a", 1, &small_pool, NULL, 0, NULL, 0, &address, &err),
      &err, CF_E_EXISTS, "container a already has a network endpoint");
}

static void test_alloc_ports_and_exhaustion(void **state)
{
  struct store_fixture *f = *state;
  cf_err *err = NULL;
  cf_net_port_mapping a[] = {{0, 8080}, {0, 0}};
  add_endpoint(f->store, "a", a, 2);
  assert_int_equal(a[0].host_port, 40000);
  assert_int_equal(a[0].container_port, 8080);
  assert_int_equal(a[1].host_port, 40001);
  assert_int_equal(a[1].container_port, 40001);
  cf_net_port_mapping b[] = {{0, 80}};
  add_endpoint(f->store, "b", b, 1);
  assert_int_equal(b[0].host_port, 40002);

  /* A failed up records nothing: no endpoint, no address taken. */
  cf_net_port_mapping c[] = {{0, 80}};
  uint32_t address = 0;
  assert_error(
      cf_store_net_endpoint_add(f->store, "c", 1, &small_pool, c, 1, NULL, 0, &address, &err), &err,
      CF_E_LIMIT, "acquire port: port pool exhausted");
  assert_int_equal(c[0].host_port, 0);
  cf_net_endpoint_record record;
  assert_error(cf_store_net_endpoint_get(f->store, "c", &record, &err), &err, CF_E_NOT_FOUND,
               "no network endpoint for container c");

  /* Releasing a's ports makes the lowest ones free again. */
  assert_ok(cf_store_net_endpoint_delete(f->store, "a", NULL, &err), &err);
  add_endpoint(f->store, "c", c, 1);
  assert_int_equal(c[0].host_port, 40000);
  cf_net_port_mapping more[] = {{0, 81}};
  assert_ok(cf_store_net_mappings_add(f->store, "c", &small_pool, more, 1, &err), &err);
  assert_int_equal(more[0].host_port, 40001);
  cf_net_port_mapping *list = NULL;
  size_t n = 0;
  assert_ok(cf_store_net_mappings_list(f->store, "c", &list, &n, &err), &err);
  assert_int_equal(n, 2);
  assert_int_equal(list[0].host_port, 40000);
  assert_int_equal(list[1].host_port, 40001);
  assert_int_equal(list[1].container_port, 81);
  free(list);
}

static void test_alloc_explicit_ports(void **state)
{
  struct store_fixture *f = *state;
  cf_err *err = NULL;
  cf_net_port_mapping a[] = {{61001, 2222}, {40001, 80}};
  add_endpoint(f->store, "a", a, 2);
  assert_int_equal(a[0].host_port, 61001);
  /* An explicit port inside the pool is recorded, so the pool skips it. */
  cf_net_port_mapping b[] = {{0, 80}, {0, 81}};
  add_endpoint(f->store, "b", b, 2);
  assert_int_equal(b[0].host_port, 40000);
  assert_int_equal(b[1].host_port, 40002);

  cf_net_port_mapping taken[] = {{61001, 80}};
  uint32_t address = 0;
  assert_error(
      cf_store_net_endpoint_add(f->store, "c", 1, &small_pool, taken, 1, NULL, 0, &address, &err),
      &err, CF_E_EXISTS, "host port 61001 is in use by container a");
  assert_error(cf_store_net_mappings_add(f->store, "b", &small_pool, taken, 1, &err), &err,
               CF_E_EXISTS, "host port 61001 is in use by container a");
  assert_error(cf_store_net_mappings_add(f->store, "a", &small_pool, taken, 1, &err), &err,
               CF_E_EXISTS, "host port 61001 is already mapped for container a");
  assert_error(cf_store_net_mappings_add(f->store, "zz", &small_pool, taken, 1, &err), &err,
               CF_E_NOT_FOUND, "no network endpoint for container zz");
  /* The failed adds left b's list as it was. */
  cf_net_port_mapping *list = NULL;
  size_t n = 0;
  assert_ok(cf_store_net_mappings_list(f->store, "b", &list, &n, &err), &err);
  assert_int_equal(n, 2);
  free(list);
}

static void test_rules_recorded_in_order(void **state)
{
  struct store_fixture *f = *state;
  cf_err *err = NULL;
  const char *first[] = {"{\"protocol\":1}", "{\"protocol\":2}"};
  uint32_t address = 0;
  assert_ok(
      cf_store_net_endpoint_add(f->store, "a", 1, &small_pool, NULL, 0, first, 2, &address, &err),
      &err);
  const char *more[] = {"{}"};
  assert_ok(cf_store_net_rules_add(f->store, "a", more, 1, &err), &err);
  char **rules = NULL;
  size_t n = 0;
  assert_ok(cf_store_net_rules_list(f->store, "a", &rules, &n, &err), &err);
  assert_int_equal(n, 3);
  assert_string_equal(rules[0], "{\"protocol\":1}");
  assert_string_equal(rules[1], "{\"protocol\":2}");
  assert_string_equal(rules[2], "{}");
  cf_strv_free(rules, n);
  assert_error(cf_store_net_rules_add(f->store, "b", more, 1, &err), &err, CF_E_NOT_FOUND,
               "no network endpoint for container b");
  /* Deleting the endpoint deletes its rules. */
  assert_ok(cf_store_net_endpoint_delete(f->store, "a", NULL, &err), &err);
  assert_ok(cf_store_net_rules_list(f->store, "a", &rules, &n, &err), &err);
  assert_int_equal(n, 0);
}

enum { CHILDREN = 4, PER_CHILD = 50 };

/* One child: opens its own connection and adds PER_CHILD endpoints with
 * one pool port each, writing "address port" lines to fd. */
static void allocate_in_child(const char *dir, int index, int fd)
{
  cf_err *err = NULL;
  cf_store *store = NULL;
  if (cf_store_open(dir, &store, &err) < 0) {
    _exit(2);
  }
  cf_net_pool pool = {.first_address = 0x0a000001u,
                      .last_address = 0x0a00fffeu,
                      .gateway = 0x0a000001u,
                      .port_start = 40000,
                      .port_end = 44999};
  for (int i = 0; i < PER_CHILD; i++) {
    char handle[32];
    snprintf(handle, sizeof(handle), "c%d-%d", index, i);
    cf_net_port_mapping m = {0, 8080};
    uint32_t address = 0;
    if (cf_store_net_endpoint_add(store, handle, 1, &pool, &m, 1, NULL, 0, &address, &err) < 0) {
      dprintf(fd, "error %s\n", err->message);
      _exit(3);
    }
    dprintf(fd, "%u %u\n", address, m.host_port);
  }
  cf_store_close(store);
  _exit(0);
}

static int compare_u32(const void *a, const void *b)
{
  uint32_t x = *(const uint32_t *)a;
  uint32_t y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

static void test_concurrent_allocation_no_duplicates(void **state)
{
  struct store_fixture *f = *state;
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  pid_t pids[CHILDREN];
  for (int c = 0; c < CHILDREN; c++) {
    pids[c] = fork();
    assert_true(pids[c] >= 0);
    if (pids[c] == 0) {
      close(fds[0]);
      allocate_in_child(f->dir, c, fds[1]);
    }
  }
  close(fds[1]);
  FILE *in = fdopen(fds[0], "r");
  uint32_t addresses[CHILDREN * PER_CHILD];
  uint32_t ports[CHILDREN * PER_CHILD];
  size_t n = 0;
  unsigned a = 0;
  unsigned p = 0;
  while (n < CHILDREN * PER_CHILD && fscanf(in, "%u %u", &a, &p) == 2) {
    addresses[n] = a;
    ports[n] = p;
    n++;
  }
  fclose(in);
  for (int c = 0; c < CHILDREN; c++) {
    int status = 0;
    assert_int_equal(waitpid(pids[c], &status, 0), pids[c]);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
  }
  assert_int_equal(n, CHILDREN * PER_CHILD);
  qsort(addresses, n, sizeof(uint32_t), compare_u32);
  qsort(ports, n, sizeof(uint32_t), compare_u32);
  for (size_t i = 1; i < n; i++) {
    if (addresses[i] == addresses[i - 1] || ports[i] == ports[i - 1]) {
      fail_msg("duplicate at %zu: address %u, port %u", i, addresses[i], ports[i]);
    }
  }
  /* Lowest free first: the 200 addresses and ports are a dense range. */
  assert_int_equal(addresses[0], ip("10.0.0.2"));
  assert_int_equal(addresses[n - 1], ip("10.0.0.2") + n - 1);
  assert_int_equal(ports[0], 40000);
  assert_int_equal(ports[n - 1], 40000 + n - 1);
}

/* ---- orchestration with a recording fake backend ---- */

typedef struct fake {
  cf_buf calls;        /* one line per call */
  const char *fail_on; /* names of the calls that fail, as " a b ", or NULL */
  bool can_log;
} fake;

static fake the_fake;

static void record(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  cf_autofree char *line = cf_xvasprintf(fmt, ap);
  va_end(ap);
  cf_buf_printf(&the_fake.calls, NULL, "%s\n", line);
}

static int maybe_fail(const char *call, cf_err **err)
{
  cf_autofree char *word = cf_xasprintf(" %s ", call);
  if (the_fake.fail_on != NULL && strstr(the_fake.fail_on, word) != NULL) {
    return cf_err_set(err, CF_E_SYSTEM, "%s failed", call);
  }
  return 0;
}

static int fake_open(const cf_net_network *network, void **backend, cf_err **err)
{
  char subnet[16];
  cf_net_format_ipv4(network->subnet, subnet);
  record("open %s %s/%u", network->name, subnet, network->prefix_len);
  *backend = &the_fake;
  return maybe_fail("open", err);
}

static void fake_close(void *backend)
{
  record("close");
}

static int fake_network_create(void *backend, cf_err **err)
{
  record("network_create");
  return maybe_fail("network_create", err);
}

static int fake_network_delete(void *backend, cf_err **err)
{
  record("network_delete");
  return maybe_fail("network_delete", err);
}

static int fake_endpoint_create(void *backend, const cf_net_endpoint *e, cf_err **err)
{
  char address[16];
  cf_net_format_ipv4(e->address, address);
  record("endpoint_create %s pid=%d %s dns=%zu rate=%llu", e->handle, (int)e->pid, address,
         e->dns_server_count, (unsigned long long)e->bandwidth_rate);
  return maybe_fail("endpoint_create", err);
}

static int fake_set_rules(void *backend, const char *handle, uint32_t address,
                          const cf_net_mapping *mappings, size_t mapping_count,
                          const cf_net_rule *rules, size_t rule_count, cf_err **err)
{
  cf_buf line;
  cf_buf_init(&line, 1 << 20);
  cf_buf_printf(&line, NULL, "set_rules %s", handle);
  for (size_t i = 0; i < mapping_count; i++) {
    cf_buf_printf(&line, NULL, " %u->%u", mappings[i].host_port, mappings[i].container_port);
  }
  for (size_t i = 0; i < rule_count; i++) {
    json_t *json = cf_net_rule_to_json(&rules[i]);
    cf_autofree char *text = json_dumps(json, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(json);
    cf_buf_printf(&line, NULL, " %s", text);
  }
  record("%s", line.data);
  cf_buf_free(&line);
  return maybe_fail("set_rules", err);
}

static int fake_endpoint_delete(void *backend, const char *handle, cf_err **err)
{
  record("endpoint_delete %s", handle);
  return maybe_fail("endpoint_delete", err);
}

static int fake_sweep(void *backend, const char *const *keep, size_t keep_count, size_t *deleted,
                      cf_err **err)
{
  record("sweep keep=%zu", keep_count);
  *deleted = 0;
  return maybe_fail("sweep", err);
}

static bool fake_can_log(const void *backend)
{
  return the_fake.can_log;
}

static const cf_net_ops fake_ops = {
    .open = fake_open,
    .close = fake_close,
    .network_create = fake_network_create,
    .network_delete = fake_network_delete,
    .endpoint_create = fake_endpoint_create,
    .endpoint_set_rules = fake_set_rules,
    .endpoint_delete = fake_endpoint_delete,
    .endpoint_sweep = fake_sweep,
    .can_log = fake_can_log,
};

struct net_fixture {
  char *dir;
  cf_net_config config;
  cf_net *net;
  cf_net_up_input empty;
};

static int net_setup(void **state)
{
  struct net_fixture *f = cf_xcalloc(1, sizeof(*f));
  f->dir = cf_test_tmpdir("netops");
  cf_autofree char *text =
      cf_xasprintf("{\"network_name\":\"winc-nat\",\"subnet_range\":\"172.30.0.0/29\","
                   "\"gateway_address\":\"172.30.0.1\",\"dns_servers\":[\"172.30.0.1\"],"
                   "\"maximum_outgoing_bandwidth\":1048576,\"state_dir\":\"%s/state\","
                   "\"port_pool_start\":40000,\"port_pool_size\":3}",
                   f->dir);
  cf_err *err = NULL;
  if (cf_net_config_parse(text, strlen(text), &f->config, &err) < 0) {
    fail_msg("config: %s", err->message);
  }
  f->net = cf_net_new(&f->config, &fake_ops);
  memset(&the_fake, 0, sizeof(the_fake));
  cf_buf_init(&the_fake.calls, 1 << 20);
  the_fake.can_log = true;
  *state = f;
  return 0;
}

static int net_teardown(void **state)
{
  struct net_fixture *f = *state;
  cf_net_close(f->net);
  cf_net_config_clear(&f->config);
  cf_buf_free(&the_fake.calls);
  cf_test_rmdir(f->dir);
  free(f->dir);
  free(f);
  return 0;
}

static const char *calls(void)
{
  return the_fake.calls.data != NULL ? the_fake.calls.data : "";
}

static void reset_calls(void)
{
  cf_buf_reset(&the_fake.calls);
}

static int up_json(struct net_fixture *f, const char *handle, const char *json, char **output,
                   cf_err **err)
{
  cf_net_up_input in;
  if (cf_net_up_input_parse(json, strlen(json), &in, err) < 0) {
    return -1;
  }
  cf_net_up_result result;
  int rc = cf_net_up(f->net, handle, &in, &result, err);
  if (rc == 0 && output != NULL) {
    *output = cf_net_up_output(&f->config, &result);
  }
  cf_net_up_result_clear(&result);
  cf_net_up_input_clear(&in);
  return rc;
}

static void test_up_output_and_backend_calls(void **state)
{
  struct net_fixture *f = *state;
  cf_err *err = NULL;
  cf_autofree char *out = NULL;
  assert_ok(up_json(f, "app1",
                    "{\"Pid\":4321,\"netout_rules\":[{\"protocol\":1,\"networks\":[{\"start\":"
                    "\"10.0.0.0\",\"end\":\"10.255.255.255\"}],\"ports\":[{\"start\":80,\"end\":"
                    "443}]}],\"netin\":[{\"host_port\":0,\"container_port\":8080},"
                    "{\"host_port\":61001,\"container_port\":2222}]}",
                    &out, &err),
            &err);
  assert_string_equal(out, "{\"properties\":{\"garden.network.container-ip\":\"172.30.0.2\","
                           "\"garden.network.host-ip\":\"255.255.255.255\","
                           "\"garden.network.mapped-ports\":\"[{\\\"HostPort\\\":40000,"
                           "\\\"ContainerPort\\\":8080},{\\\"HostPort\\\":61001,"
                           "\\\"ContainerPort\\\":2222}]\"},\"dns_servers\":[\"172.30.0.1\"]}");
  assert_string_equal(calls(),
                      "open winc-nat 172.30.0.0/29\n"
                      "endpoint_create app1 pid=4321 172.30.0.2 dns=1 rate=1048576\n"
                      "set_rules app1 40000->8080 61001->2222 "
                      "{\"networks\":[{\"end\":\"10.255.255.255\",\"start\":\"10.0.0.0\"}],"
                      "\"ports\":[{\"end\":443,\"start\":80}],\"protocol\":1} "
                      "{\"networks\":[{\"end\":\"172.30.0.1\",\"start\":\"172.30.0.1\"}],"
                      "\"ports\":[{\"end\":53,\"start\":53}],\"protocol\":1} "
                      "{\"networks\":[{\"end\":\"172.30.0.1\",\"start\":\"172.30.0.1\"}],"
                      "\"ports\":[{\"end\":53,\"start\":53}],\"protocol\":2}\n");
  assert_error(up_json(f, "app1", "{}", NULL, &err), &err, CF_E_EXISTS,
               "container app1 already has a network endpoint");
}

static void test_up_empty_mapped_ports(void **state)
{
  struct net_fixture *f = *state;
  cf_err *err = NULL;
  cf_autofree char *out = NULL;
  assert_ok(up_json(f, "a", "{\"Pid\":1,\"Properties\":{}}", &out, &err), &err);
  assert_string_equal(out, "{\"properties\":{\"garden.network.container-ip\":\"172.30.0.2\","
                           "\"garden.network.host-ip\":\"255.255.255.255\","
                           "\"garden.network.mapped-ports\":\"[]\"},"
                           "\"dns_servers\":[\"172.30.0.1\"]}");
}

static void test_up_default_allow_matrix(void **state)
{
  struct net_fixture *f = *state;
  cf_err *err = NULL;
  f->config.allow_outbound_traffic_by_default = true;
  f->config.dns_server_count = 0;
  assert_ok(up_json(f, "empty", "{\"Pid\":1}", NULL, &err), &err);
  assert_non_null(strstr(calls(), "set_rules empty {}\n"));
  reset_calls();
  /* Any property, netin or netout turns the default off, as in winc-network. */
  assert_ok(up_json(f, "props", "{\"Pid\":1,\"Properties\":{\"app_id\":\"x\"}}", NULL, &err), &err);
  assert_non_null(strstr(calls(), "set_rules props\n"));
  reset_calls();
  assert_ok(
      up_json(f, "netin", "{\"netin\":[{\"host_port\":0,\"container_port\":80}]}", NULL, &err),
      &err);
  assert_non_null(strstr(calls(), "set_rules netin 40000->80\n"));
  f->config.dns_server_count = 1;
}

static void test_up_failures_leave_nothing(void **state)
{
  struct net_fixture *f = *state;
  cf_err *err = NULL;
  const char *input = "{\"netin\":[{\"host_port\":0,\"container_port\":80}]}";
  the_fake.fail_on = " set_rules ";
  assert_error(up_json(f, "a", input, NULL, &err), &err, CF_E_SYSTEM, "set_rules failed");
  assert_non_null(strstr(calls(), "endpoint_delete a\n"));
  the_fake.fail_on = " endpoint_create ";
  reset_calls();
  assert_error(up_json(f, "a", input, NULL, &err), &err, CF_E_SYSTEM, "endpoint_create failed");
  assert_null(strstr(calls(), "endpoint_delete"));
  the_fake.fail_on = NULL;
  /* Nothing leaked: the first address and port are handed out again. */
  cf_autofree char *out = NULL;
  assert_ok(up_json(f, "b", input, &out, &err), &err);
  assert_non_null(strstr(out, "\"172.30.0.2\""));
  assert_non_null(strstr(out, "40000"));
}

static void test_up_undo_reports_failed_delete(void **state)
{
  struct net_fixture *f = *state;
  cf_err *err = NULL;
  the_fake.fail_on = " set_rules endpoint_delete ";
  assert_error(up_json(f, "a", "{}", NULL, &err), &err, CF_E_SYSTEM,
               "set_rules failed (and removing the endpoint failed: endpoint_delete failed)");
  the_fake.fail_on = NULL;
  cf_net_endpoint_record record;
  cf_store *store = NULL;
  cf_autofree char *state_dir = cf_path_join(f->dir, "state");
  assert_ok(cf_store_open(state_dir, &store, &err), &err);
  assert_error(cf_store_net_endpoint_get(store, "a", &record, &err), &err, CF_E_NOT_FOUND,
               "no network endpoint for container a");
  cf_store_close(store);
}

static void test_down_unknown_changes_nothing(void **state)
{
  struct net_fixture *f = *state;
  cf_err *err = NULL;
  assert_ok(cf_net_down(f->net, "never-up", &err), &err);
  assert_string_equal(calls(), "");
  cf_autofree char *db = cf_xasprintf("%s/state/cfwin.db", f->dir);
  assert_int_equal(access(db, F_OK), -1); /* no state directory was made */
  assert_ok(up_json(f, "a", "{}", NULL, &err), &err);
  reset_calls();
  assert_ok(cf_net_down(f->net, "never-up", &err), &err);
  assert_string_equal(calls(), "");
  assert_error(cf_net_down(f->net, "../x", &err), &err, CF_E_INVALID,
               "invalid handle \"../x\": use 1 to 128 characters from [A-Za-z0-9_.-], starting "
               "with a letter or digit");
}

static void test_down_releases_address_and_ports(void **state)
{
  struct net_fixture *f = *state;
  cf_err *err = NULL;
  const char *input = "{\"netin\":[{\"host_port\":0,\"container_port\":80}]}";
  assert_ok(up_json(f, "a", input, NULL, &err), &err);
  reset_calls();
  the_fake.fail_on = " endpoint_delete ";
  assert_error(cf_net_down(f->net, "a", &err), &err, CF_E_SYSTEM, "endpoint_delete failed");
  the_fake.fail_on = NULL;
  assert_ok(cf_net_down(f->net, "a", &err), &err);
  assert_string_equal(calls(), "endpoint_delete a\nendpoint_delete a\n");
  assert_ok(cf_net_down(f->net, "a", &err), &err); /* idempotent */
  cf_autofree char *out = NULL;
  assert_ok(up_json(f, "b", input, &out, &err), &err);
  assert_non_null(strstr(out, "\"172.30.0.2\""));
  assert_non_null(strstr(out, "40000"));
}

static void test_net_in_flow(void **state)
{
  struct net_fixture *f = *state;
  cf_err *err = NULL;
  cf_net_mapping m = {0, 8080};
  assert_error(cf_net_net_in(f->net, "a", &m, &err), &err, CF_E_NOT_FOUND,
               "container a has no network endpoint; run --action up for it first");
  assert_ok(up_json(f, "a", "{\"netin\":[{\"host_port\":0,\"container_port\":80}]}", NULL, &err),
            &err);
  reset_calls();
  assert_ok(cf_net_net_in(f->net, "a", &m, &err), &err);
  assert_int_equal(m.host_port, 40001);
  assert_int_equal(m.container_port, 8080);
  assert_non_null(strstr(calls(), "set_rules a 40000->80 40001->8080 "));

  /* A backend failure records nothing: the next net-in gets 40002. */
  the_fake.fail_on = " set_rules ";
  cf_net_mapping failed = {0, 9000};
  assert_error(cf_net_net_in(f->net, "a", &failed, &err), &err, CF_E_SYSTEM, "set_rules failed");
  the_fake.fail_on = NULL;
  cf_net_mapping next = {0, 9000};
  assert_ok(cf_net_net_in(f->net, "a", &next, &err), &err);
  assert_int_equal(next.host_port, 40002);

  cf_net_mapping exhausted = {0, 9001};
  assert_error(cf_net_net_in(f->net, "a", &exhausted, &err), &err, CF_E_LIMIT,
               "acquire port: port pool exhausted");
  cf_net_mapping explicit_port = {61000, 0};
  assert_ok(cf_net_net_in(f->net, "a", &explicit_port, &err), &err);
  assert_int_equal(explicit_port.container_port, 61000);
}

static void test_net_in_parse_contract(void **state)
{
  (void)state;
  cf_err *err = NULL;
  cf_net_mapping m;
  const char *in = "{\"HostIP\":\"10.0.0.1\",\"HostPort\":0,\"ContainerIP\":\"172.30.0.2\","
                   "\"ContainerPort\":8080}";
  assert_ok(cf_net_net_in_parse(in, strlen(in), &m, &err), &err);
  assert_int_equal(m.host_port, 0);
  assert_int_equal(m.container_port, 8080);
  const char *bad = "{\"HostPort\":65536,\"ContainerPort\":80}";
  assert_error(cf_net_net_in_parse(bad, strlen(bad), &m, &err), &err, CF_E_INVALID,
               "net-in: HostPort: 65536 is out of range 0-65535");
}

static void test_net_out_flow(void **state)
{
  struct net_fixture *f = *state;
  cf_err *err = NULL;
  f->config.dns_server_count = 0;
  assert_ok(up_json(f, "a", "{}", NULL, &err), &err);
  reset_calls();
  const char *one = "{\"container_ip\":\"172.30.0.2\",\"netout_rule\":{\"protocol\":2}}";
  char *ip_text = NULL;
  cf_net_rule *rules = NULL;
  size_t n = 0;
  assert_ok(cf_net_net_out_parse(one, strlen(one), false, &ip_text, &rules, &n, &err), &err);
  assert_ok(cf_net_net_out(f->net, "a", ip_text, rules, n, &err), &err);
  free(ip_text);
  cf_net_rules_free(rules, n);
  const char *bulk = "{\"container_ip\":\"172.30.0.2\",\"netout_rules\":[{\"protocol\":1},"
                     "{\"protocol\":3,\"icmps\":{\"type\":8,\"code\":0}}]}";
  assert_ok(cf_net_net_out_parse(bulk, strlen(bulk), true, &ip_text, &rules, &n, &err), &err);
  assert_int_equal(n, 2);
  assert_ok(cf_net_net_out(f->net, "a", ip_text, rules, n, &err), &err);
  assert_string_equal(calls(), "set_rules a {\"protocol\":2}\n"
                               "set_rules a {\"protocol\":2} {\"protocol\":1} "
                               "{\"icmps\":{\"code\":0,\"type\":8},\"protocol\":3}\n");
  assert_error(cf_net_net_out(f->net, "a", "172.30.0.9", rules, n, &err), &err, CF_E_INVALID,
               "container_ip 172.30.0.9 is not the address of container a (172.30.0.2)");
  assert_error(cf_net_net_out(f->net, "b", NULL, rules, n, &err), &err, CF_E_NOT_FOUND,
               "container b has no network endpoint; run --action up for it first");
  free(ip_text);
  cf_net_rules_free(rules, n);
  const char *missing = "{\"container_ip\":\"172.30.0.2\"}";
  assert_error(cf_net_net_out_parse(missing, strlen(missing), false, &ip_text, &rules, &n, &err),
               &err, CF_E_INVALID, "netout_rule: missing");
  f->config.dns_server_count = 1;
}

static void warn_into(void *context, const char *message)
{
  cf_buf_printf(context, NULL, "%s\n", message);
}

static void test_log_flag_without_backend_support_warns(void **state)
{
  struct net_fixture *f = *state;
  cf_err *err = NULL;
  cf_buf warnings;
  cf_buf_init(&warnings, 4096);
  cf_net_set_warn(f->net, warn_into, &warnings);
  the_fake.can_log = false;
  f->config.dns_server_count = 0;
  assert_ok(up_json(f, "a", "{\"netout_rules\":[{\"protocol\":1,\"log\":true}]}", NULL, &err),
            &err);
  assert_non_null(strstr(calls(), "set_rules a {\"protocol\":1}\n"));
  assert_string_equal(warnings.data,
                      "container a: this backend cannot log connections; rules apply without "
                      "logging\n");
  cf_buf_free(&warnings);
  f->config.dns_server_count = 1;
}

static void test_sweep_removes_unknown_endpoints(void **state)
{
  struct net_fixture *f = *state;
  cf_err *err = NULL;
  assert_ok(up_json(f, "keep", "{}", NULL, &err), &err);
  assert_ok(up_json(f, "gone", "{}", NULL, &err), &err);
  reset_calls();
  const char *keep[] = {"keep"};
  size_t removed = 0;
  assert_ok(cf_net_sweep(f->net, keep, 1, &removed, &err), &err);
  assert_int_equal(removed, 1);
  assert_string_equal(calls(), "endpoint_delete gone\nsweep keep=1\n");
  cf_net_mapping m = {0, 80};
  assert_error(cf_net_net_in(f->net, "gone", &m, &err), &err, CF_E_NOT_FOUND,
               "container gone has no network endpoint; run --action up for it first");
}

static void test_create_delete_need_network(void **state)
{
  struct net_fixture *f = *state;
  cf_err *err = NULL;
  assert_ok(cf_net_create(f->net, &err), &err);
  assert_ok(cf_net_delete(f->net, &err), &err);
  assert_string_equal(calls(), "open winc-nat 172.30.0.0/29\nnetwork_create\nnetwork_delete\n");
  cf_net_config empty;
  cf_net_config_init(&empty);
  cf_net *net = cf_net_new(&empty, &fake_ops);
  assert_error(cf_net_create(net, &err), &err, CF_E_INVALID,
               "no network is configured: pass --configFile with network_name, subnet_range and "
               "gateway_address");
  cf_net_close(net);
  cf_net_config_clear(&empty);
}

#define STORE_TEST(fn) cmocka_unit_test_setup_teardown(fn, store_setup, store_teardown)
#define NET_TEST(fn) cmocka_unit_test_setup_teardown(fn, net_setup, net_teardown)

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ipv4_parse_forms),
      cmocka_unit_test(test_config_bosh_file),
      cmocka_unit_test(test_config_cfwin_keys_and_unknown),
      cmocka_unit_test(test_config_empty_path_defaults),
      cmocka_unit_test(test_config_bad_values),
      cmocka_unit_test(test_config_file_errors_name_the_file),
      cmocka_unit_test(test_rule_full_parse),
      cmocka_unit_test(test_rule_bad_input),
      cmocka_unit_test(test_rule_to_json_garden_form),
      cmocka_unit_test(test_mappings_parse),
      cmocka_unit_test(test_up_input_parse),
      cmocka_unit_test(test_net_in_parse_contract),
      STORE_TEST(test_alloc_lowest_free_address),
      STORE_TEST(test_alloc_duplicate_handle),
      STORE_TEST(test_alloc_ports_and_exhaustion),
      STORE_TEST(test_alloc_explicit_ports),
      STORE_TEST(test_rules_recorded_in_order),
      STORE_TEST(test_concurrent_allocation_no_duplicates),
      NET_TEST(test_up_output_and_backend_calls),
      NET_TEST(test_up_empty_mapped_ports),
      NET_TEST(test_up_default_allow_matrix),
      NET_TEST(test_up_failures_leave_nothing),
      NET_TEST(test_up_undo_reports_failed_delete),
      NET_TEST(test_down_unknown_changes_nothing),
      NET_TEST(test_down_releases_address_and_ports),
      NET_TEST(test_net_in_flow),
      NET_TEST(test_net_out_flow),
      NET_TEST(test_log_flag_without_backend_support_warns),
      NET_TEST(test_sweep_removes_unknown_endpoints),
      NET_TEST(test_create_delete_need_network),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
