/* SPDX-License-Identifier: Apache-2.0 */
/* gdn's container networking flags turned into the network role's config. */
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/mem.h"
#include "garden/netinfo.h"
#include "garden/server.h"
#include "network/net_rules.h"

/* Guardian caps --mtu at 1500; 68 is the smallest IPv4 MTU. */
#define MIN_MTU 68
#define MAX_MTU 1500

static int parse_pool(const char *text, cf_net_config *config, cf_err **err)
{
  uint32_t subnet = 0;
  uint8_t prefix_len = 0;
  if (!cf_net_parse_cidr(text, &subnet, &prefix_len) || prefix_len < 1 || prefix_len > 30) {
    return cf_err_set(err, CF_E_INVALID,
                      "invalid --network-pool \"%s\": use an IPv4 CIDR with a prefix of 1 to 30, "
                      "such as " CF_SERVER_DEFAULT_NETWORK_POOL,
                      text);
  }
  if ((subnet & ~cf_net_mask(prefix_len)) != 0) {
    char network[16];
    cf_net_format_ipv4(subnet & cf_net_mask(prefix_len), network);
    return cf_err_set(err, CF_E_INVALID,
                      "invalid --network-pool \"%s\": host bits are set; use %s/%u", text, network,
                      (unsigned)prefix_len);
  }
  config->subnet = subnet;
  config->prefix_len = prefix_len;
  config->gateway = subnet + 1; /* the first usable address is the bridge's */
  return 0;
}

/* The network role's pool defaults to winc-network's 40000-44999, not
 * gdn's 61001-65534, because gdn's range overlaps Windows' dynamic ports
 * (49152-65535). */
static int parse_port_pool(const cf_server_network_flags *flags, cf_net_config *config,
                           cf_err **err)
{
  long long start = flags->port_pool_start;
  long long size = flags->port_pool_size;
  if (start < 1 || start > 65535) {
    return cf_err_set(err, CF_E_INVALID, "invalid --port-pool-start %lld: use 1 to 65535", start);
  }
  if (size < 1 || start + size - 1 > 65535) {
    return cf_err_set(err, CF_E_INVALID,
                      "invalid --port-pool-size %lld: use 1 to %lld, so the pool starting at "
                      "%lld ends at or below port 65535",
                      size, 65536 - start, start);
  }
  config->port_pool_start = (uint16_t)start;
  config->port_pool_size = (uint32_t)size;
  return 0;
}

static int parse_dns_servers(const cf_server_network_flags *flags, cf_net_config *config,
                             cf_err **err)
{
  config->dns_servers = cf_xcalloc(flags->dns_server_count + 1, sizeof(*config->dns_servers));
  for (size_t i = 0; i < flags->dns_server_count; i++) {
    if (!cf_net_parse_ipv4(flags->dns_servers[i], &config->dns_servers[i])) {
      return cf_err_set(err, CF_E_INVALID, "invalid --dns-server \"%s\": use an IPv4 address",
                        flags->dns_servers[i]);
    }
  }
  config->dns_server_count = flags->dns_server_count;
  return 0;
}

/* Checks each --deny-network. Containers' outbound traffic is denied
 * unless a NetOut rule allows it, and in Guardian a NetOut rule overrides a
 * denied network, so the ranges change nothing here. */
static int check_deny_networks(const cf_server_network_flags *flags, cf_err **err)
{
  for (size_t i = 0; i < flags->deny_network_count; i++) {
    uint32_t address = 0;
    uint8_t prefix_len = 0;
    if (!cf_net_parse_cidr(flags->deny_networks[i], &address, &prefix_len)) {
      return cf_err_set(err, CF_E_INVALID, "invalid --deny-network \"%s\": use an IPv4 CIDR",
                        flags->deny_networks[i]);
    }
  }
  if (flags->deny_network_count > 0) {
    cf_log(CF_LOG_INFO, "network.deny-networks-implied", "{s:s}", "reason",
           "outbound traffic is denied unless a NetOut rule allows it");
  }
  return 0;
}

static int pick_external_ip(const cf_server_network_flags *flags, cf_backend_network *out,
                            cf_err **err)
{
  if (flags->external_ip != NULL) {
    if (!cf_net_parse_ipv4(flags->external_ip, &out->external_ip)) {
      return cf_err_set(err, CF_E_INVALID, "invalid --external-ip \"%s\": use an IPv4 address",
                        flags->external_ip);
    }
    return 0;
  }
  const cf_net_config *config = &out->config;
  if (cf_host_external_ip(config->network_name, config->subnet, config->prefix_len,
                          &out->external_ip, err) < 0) {
    return cf_err_wrap(err, "detect the external IP (or pass --external-ip)");
  }
  return 0;
}

static int fill_config(const cf_server_network_flags *flags, const char *depot,
                       cf_backend_network *out, cf_err **err)
{
  cf_net_config *config = &out->config;
  free(config->state_dir);
  config->state_dir = cf_xstrdup(depot);
  config->network_name =
      cf_xstrdup(flags->name != NULL ? flags->name : CF_SERVER_DEFAULT_NETWORK_NAME);
  config->has_network = true;
  if (flags->mtu != 0 && (flags->mtu < MIN_MTU || flags->mtu > MAX_MTU)) {
    return cf_err_set(err, CF_E_INVALID,
                      "invalid --mtu %lld: use %d to %d, or 0 for the MTU of the host's default "
                      "route",
                      flags->mtu, MIN_MTU, MAX_MTU);
  }
  config->mtu = (uint32_t)flags->mtu;
  out->allow_host_access = flags->allow_host_access;
  if (parse_pool(flags->pool != NULL ? flags->pool : CF_SERVER_DEFAULT_NETWORK_POOL, config, err) <
          0 ||
      parse_port_pool(flags, config, err) < 0 || parse_dns_servers(flags, config, err) < 0 ||
      check_deny_networks(flags, err) < 0) {
    return -1;
  }
  return pick_external_ip(flags, out, err);
}

int cf_server_network_parse(const cf_server_network_flags *flags, const char *depot,
                            cf_backend_network *out, cf_err **err)
{
  memset(out, 0, sizeof(*out));
  cf_net_config_init(&out->config);
  if (fill_config(flags, depot, out, err) < 0) {
    cf_server_network_clear(out);
    return -1;
  }
  return 0;
}

void cf_server_network_clear(cf_backend_network *network)
{
  cf_net_config_clear(&network->config);
  memset(network, 0, sizeof(*network));
}
