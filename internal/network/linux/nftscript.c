/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Builders of the backend's nft scripts and the parser of its table
 * listings. Nothing here talks to the kernel.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/buf.h"
#include "base/mem.h"
#include "network/linux/nftscript.h"

#define MAX_SCRIPT (64 * 1024 * 1024)
#define LOG_HANDLE_MAX 100 /* nft log prefixes hold at most 127 characters */

void cf_nft_format_ip(uint32_t address, char out[16])
{
  snprintf(out, 16, "%u.%u.%u.%u", (address >> 24) & 0xff, (address >> 16) & 0xff,
           (address >> 8) & 0xff, address & 0xff);
}

static const char *protocol_name(uint8_t protocol)
{
  return protocol == IPPROTO_UDP ? "udp" : "tcp";
}

char *cf_nft_script_network(const cf_nft_net *net)
{
  char subnet[16];
  cf_nft_format_ip(net->subnet, subnet);
  const char *t = net->table;
  const char *br = net->bridge;
  cf_buf s;
  cf_buf_init(&s, MAX_SCRIPT);
  cf_buf_printf(&s, NULL, "create table ip %s\n", t);
  cf_buf_printf(&s, NULL, "add map ip %s " CF_NFT_MAP_ENDPOINTS " { type ipv4_addr : verdict; }\n",
                t);
  cf_buf_printf(
      &s, NULL,
      "add map ip %s " CF_NFT_MAP_NETIN " { type inet_proto . inet_service : verdict; }\n", t);
  cf_buf_printf(&s, NULL,
                "add chain ip %s prerouting"
                " { type nat hook prerouting priority dstnat; policy accept; }\n",
                t);
  cf_buf_printf(&s, NULL,
                "add chain ip %s postrouting"
                " { type nat hook postrouting priority srcnat; policy accept; }\n",
                t);
  cf_buf_printf(&s, NULL,
                "add chain ip %s forward"
                " { type filter hook forward priority filter; policy accept; }\n",
                t);
  cf_buf_printf(&s, NULL,
                "add chain ip %s input"
                " { type filter hook input priority filter; policy accept; }\n",
                t);
  cf_buf_printf(&s, NULL,
                "add rule ip %s prerouting iifname != \"%s\" fib daddr type local"
                " meta l4proto . th dport vmap @" CF_NFT_MAP_NETIN "\n",
                t, br);
  cf_buf_printf(&s, NULL,
                "add rule ip %s postrouting ip saddr %s/%u oifname != \"%s\" masquerade\n", t,
                subnet, net->prefix_len, br);
  cf_buf_printf(&s, NULL, "add rule ip %s forward ct state established,related accept\n", t);
  /* NOTE: the endpoint is found by source address, and no bridge-family
   * rule checks that a port sends only its own address. */
  cf_buf_printf(&s, NULL,
                "add rule ip %s forward iifname \"%s\" ip saddr vmap @" CF_NFT_MAP_ENDPOINTS "\n",
                t, br);
  cf_buf_printf(&s, NULL, "add rule ip %s forward iifname \"%s\" drop\n", t, br);
  cf_buf_printf(&s, NULL, "add rule ip %s forward oifname \"%s\" ct status dnat accept\n", t, br);
  cf_buf_printf(&s, NULL, "add rule ip %s forward oifname \"%s\" drop\n", t, br);
  cf_buf_printf(&s, NULL,
                "add rule ip %s input iifname \"%s\" ct state established,related accept\n", t, br);
  cf_buf_printf(&s, NULL,
                "add rule ip %s input iifname \"%s\" ip saddr vmap @" CF_NFT_MAP_ENDPOINTS "\n", t,
                br);
  cf_buf_printf(&s, NULL, "add rule ip %s input iifname \"%s\" drop\n", t, br);
  return cf_buf_take(&s);
}

char *cf_nft_script_network_delete(const char *table)
{
  /* Adding the table first makes the deletion succeed when it is missing. */
  return cf_xasprintf("add table ip %s\ndelete table ip %s\n", table, table);
}

char *cf_nft_script_log_probe(void)
{
  return cf_xstrdup("add table ip cfwin-log-probe\n"
                    "add chain ip cfwin-log-probe probe\n"
                    "add rule ip cfwin-log-probe probe log prefix \"cfwin probe \" accept\n");
}

/* An inclusive range of addresses or ports, widened to 64 bits so that
 * end + 1 cannot wrap. */
typedef struct span {
  uint64_t start;
  uint64_t end;
} span;

static int compare_spans(const void *a, const void *b)
{
  const span *x = a;
  const span *y = b;
  return x->start < y->start ? -1 : x->start > y->start;
}

/* Sorts spans by start and merges overlapping and adjacent ones, because
 * nft rejects an anonymous set whose intervals overlap. Returns the new
 * count. */
static size_t merge_spans(span *spans, size_t count)
{
  if (count == 0) {
    return 0;
  }
  qsort(spans, count, sizeof(*spans), compare_spans);
  size_t merged = 0;
  for (size_t i = 1; i < count; i++) {
    if (spans[i].start <= spans[merged].end + 1) {
      if (spans[i].end > spans[merged].end) {
        spans[merged].end = spans[i].end;
      }
    } else {
      spans[++merged] = spans[i];
    }
  }
  return merged + 1;
}

typedef void (*format_value)(uint64_t value, char out[16]);

static void format_ip_value(uint64_t value, char out[16])
{
  cf_nft_format_ip((uint32_t)value, out);
}

static void format_port_value(uint64_t value, char out[16])
{
  snprintf(out, 16, "%u", (unsigned)value);
}

/* Appends " <selector> { a, b-c }" for the merged spans, or nothing when
 * they cover [0, max] (every value). */
static void append_span_match(cf_buf *s, const char *selector, span *spans, size_t count,
                              uint64_t max, format_value format)
{
  count = merge_spans(spans, count);
  if (count == 0 || (count == 1 && spans[0].start == 0 && spans[0].end == max)) {
    return;
  }
  cf_buf_printf(s, NULL, " %s {", selector);
  for (size_t i = 0; i < count; i++) {
    char start[16];
    char end[16];
    format(spans[i].start, start);
    format(spans[i].end, end);
    if (spans[i].start == spans[i].end) {
      cf_buf_printf(s, NULL, "%s %s", i == 0 ? "" : ",", start);
    } else {
      cf_buf_printf(s, NULL, "%s %s-%s", i == 0 ? "" : ",", start, end);
    }
  }
  cf_buf_append_str(s, " }", NULL);
}

static int validate_rule(const cf_net_rule *rule, size_t index, cf_err **err)
{
  if (rule->protocol > CF_NET_PROTO_ICMP) {
    return cf_err_set(err, CF_E_INVALID, "netout rule %zu: invalid protocol: %d", index,
                      (int)rule->protocol);
  }
  for (size_t i = 0; i < rule->network_count; i++) {
    if (rule->networks[i].start > rule->networks[i].end) {
      char start[16];
      char end[16];
      cf_nft_format_ip(rule->networks[i].start, start);
      cf_nft_format_ip(rule->networks[i].end, end);
      return cf_err_set(err, CF_E_INVALID,
                        "netout rule %zu: invalid address range %s-%s: the start is after the end",
                        index, start, end);
    }
  }
  for (size_t i = 0; i < rule->port_count; i++) {
    if (rule->ports[i].start > rule->ports[i].end) {
      return cf_err_set(err, CF_E_INVALID,
                        "netout rule %zu: invalid port range %u-%u: the start is after the end",
                        index, rule->ports[i].start, rule->ports[i].end);
    }
  }
  if (rule->has_icmp && rule->protocol != CF_NET_PROTO_ICMP) {
    return cf_err_set(err, CF_E_INVALID,
                      "netout rule %zu: an ICMP type is only valid with protocol icmp", index);
  }
  if (rule->has_icmp_code && !rule->has_icmp) {
    return cf_err_set(err, CF_E_INVALID, "netout rule %zu: an ICMP code needs an ICMP type", index);
  }
  return 0;
}

static void append_protocol_match(cf_buf *s, const cf_net_rule *rule)
{
  if (rule->protocol == CF_NET_PROTO_TCP || rule->protocol == CF_NET_PROTO_UDP) {
    const char *name = rule->protocol == CF_NET_PROTO_TCP ? "tcp" : "udp";
    size_t before = s->len;
    span *ports = cf_xcalloc(rule->port_count + 1, sizeof(*ports));
    for (size_t i = 0; i < rule->port_count; i++) {
      ports[i] = (span){rule->ports[i].start, rule->ports[i].end};
    }
    cf_autofree char *selector = cf_xasprintf("%s dport", name);
    append_span_match(s, selector, ports, rule->port_count, UINT16_MAX, format_port_value);
    free(ports);
    if (s->len == before) {
      cf_buf_printf(s, NULL, " meta l4proto %s", name);
    }
  } else if (rule->protocol == CF_NET_PROTO_ICMP) {
    if (!rule->has_icmp) {
      cf_buf_append_str(s, " meta l4proto icmp", NULL);
      return;
    }
    cf_buf_printf(s, NULL, " icmp type %u", rule->icmp_type);
    if (rule->has_icmp_code) {
      cf_buf_printf(s, NULL, " icmp code %u", rule->icmp_code);
    }
  }
}

/* Appends "add rule ... out-<id> ... accept" for one NetOut rule. Ports on
 * rules for all protocols or ICMP are ignored, as winc-network does. */
static void append_rule(cf_buf *s, const char *table, const cf_nft_endpoint_rules *in,
                        const cf_net_rule *rule)
{
  cf_buf_printf(s, NULL, "add rule ip %s out-%s", table, in->id);
  span *networks = cf_xcalloc(rule->network_count + 1, sizeof(*networks));
  for (size_t i = 0; i < rule->network_count; i++) {
    networks[i] = (span){rule->networks[i].start, rule->networks[i].end};
  }
  append_span_match(s, "ip daddr", networks, rule->network_count, UINT32_MAX, format_ip_value);
  free(networks);
  append_protocol_match(s, rule);
  if (rule->log && in->can_log) {
    cf_buf_printf(s, NULL, " log prefix \"cfwin %.*s \"", LOG_HANDLE_MAX, in->handle);
  }
  cf_buf_append_str(s, " accept\n", NULL);
}

static int validate_mappings(const cf_net_mapping *mappings, size_t count, cf_err **err)
{
  for (size_t i = 0; i < count; i++) {
    if (mappings[i].host_port == 0 || mappings[i].container_port == 0) {
      return cf_err_set(err, CF_E_INVALID,
                        "netin mapping %zu: invalid port 0 (host port %u, container port %u)", i,
                        mappings[i].host_port, mappings[i].container_port);
    }
    for (size_t j = 0; j < i; j++) {
      if (mappings[j].host_port == mappings[i].host_port) {
        return cf_err_set(err, CF_E_INVALID, "netin mappings %zu and %zu both use host port %u", j,
                          i, mappings[i].host_port);
      }
    }
  }
  return 0;
}

static void append_netin(cf_buf *s, const char *table, const cf_nft_endpoint_rules *in)
{
  char address[16];
  cf_nft_format_ip(in->address, address);
  static const uint8_t protocols[] = {IPPROTO_TCP, IPPROTO_UDP};
  for (size_t i = 0; i < in->mapping_count; i++) {
    for (size_t p = 0; p < 2; p++) {
      cf_buf_printf(s, NULL, "add rule ip %s in-%s %s dport %u dnat to %s:%u\n", table, in->id,
                    protocol_name(protocols[p]), in->mappings[i].host_port, address,
                    in->mappings[i].container_port);
    }
  }
  if (in->mapping_count == 0) {
    return;
  }
  cf_buf_printf(s, NULL, "add element ip %s " CF_NFT_MAP_NETIN " {", table);
  for (size_t i = 0; i < in->mapping_count; i++) {
    for (size_t p = 0; p < 2; p++) {
      cf_buf_printf(s, NULL, "%s %s . %u : goto in-%s", i == 0 && p == 0 ? "" : ",",
                    protocol_name(protocols[p]), in->mappings[i].host_port, in->id);
    }
  }
  cf_buf_append_str(s, " }\n", NULL);
}

/* Appends the deletion of the map elements listed in old. */
static void append_element_removal(cf_buf *s, const char *table, const cf_nft_endpoint_state *old)
{
  if (old->netin_count > 0) {
    cf_buf_printf(s, NULL, "delete element ip %s " CF_NFT_MAP_NETIN " {", table);
    for (size_t i = 0; i < old->netin_count; i++) {
      cf_buf_printf(s, NULL, "%s %s . %u", i == 0 ? "" : ",", protocol_name(old->netin[i].protocol),
                    old->netin[i].port);
    }
    cf_buf_append_str(s, " }\n", NULL);
  }
  if (old->address_count > 0) {
    cf_buf_printf(s, NULL, "delete element ip %s " CF_NFT_MAP_ENDPOINTS " {", table);
    for (size_t i = 0; i < old->address_count; i++) {
      char address[16];
      cf_nft_format_ip(old->addresses[i], address);
      cf_buf_printf(s, NULL, "%s %s", i == 0 ? "" : ",", address);
    }
    cf_buf_append_str(s, " }\n", NULL);
  }
}

int cf_nft_script_endpoint(const char *table, const cf_nft_endpoint_rules *in,
                           const cf_nft_endpoint_state *old, char **out, cf_err **err)
{
  if (validate_mappings(in->mappings, in->mapping_count, err) < 0) {
    return -1;
  }
  for (size_t i = 0; i < in->rule_count; i++) {
    if (validate_rule(&in->rules[i], i, err) < 0) {
      return -1;
    }
  }

  cf_buf s;
  cf_buf_init(&s, MAX_SCRIPT);
  cf_buf_printf(&s, NULL, "add chain ip %s in-%s\n", table, in->id);
  cf_buf_printf(&s, NULL, "add chain ip %s out-%s\n", table, in->id);
  cf_buf_printf(&s, NULL, "flush chain ip %s in-%s\n", table, in->id);
  cf_buf_printf(&s, NULL, "flush chain ip %s out-%s\n", table, in->id);
  append_element_removal(&s, table, old);

  append_netin(&s, table, in);
  for (size_t i = 0; i < in->rule_count; i++) {
    append_rule(&s, table, in, &in->rules[i]);
  }
  cf_buf_printf(&s, NULL, "add rule ip %s out-%s drop\n", table, in->id);

  char address[16];
  cf_nft_format_ip(in->address, address);
  cf_buf_printf(&s, NULL, "add element ip %s " CF_NFT_MAP_ENDPOINTS " { %s : goto out-%s }\n",
                table, address, in->id);
  *out = cf_buf_take(&s);
  return 0;
}

char *cf_nft_script_endpoint_remove(const char *table, const char *id,
                                    const cf_nft_endpoint_state *state)
{
  if (!state->has_in_chain && !state->has_out_chain && state->address_count == 0 &&
      state->netin_count == 0) {
    return NULL;
  }
  cf_buf s;
  cf_buf_init(&s, MAX_SCRIPT);
  append_element_removal(&s, table, state);
  /* A chain can go only after the map elements that jump to it. */
  if (state->has_in_chain) {
    cf_buf_printf(&s, NULL, "flush chain ip %s in-%s\ndelete chain ip %s in-%s\n", table, id, table,
                  id);
  }
  if (state->has_out_chain) {
    cf_buf_printf(&s, NULL, "flush chain ip %s out-%s\ndelete chain ip %s out-%s\n", table, id,
                  table, id);
  }
  return cf_buf_take(&s);
}
