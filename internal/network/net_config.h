/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The network role's JSON config file: winc-network's keys (what the BOSH
 * job's interface.json holds) plus cfwin's own state_dir, port_pool_start,
 * port_pool_size and bandwidth_burst.
 */
#ifndef CFWIN_NETWORK_NET_CONFIG_H
#define CFWIN_NETWORK_NET_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#ifdef _WIN32
#define CF_NET_DEFAULT_STATE_DIR "C:\\var\\vcap\\data\\winc-network"
#else
#define CF_NET_DEFAULT_STATE_DIR "/var/lib/cfwin/network"
#endif

/* winc-network's port allocator: 40000 to 44999. */
#define CF_NET_DEFAULT_PORT_POOL_START 40000
#define CF_NET_DEFAULT_PORT_POOL_SIZE 5000

typedef struct cf_net_config {
  char *network_name; /* NULL when not set */
  uint32_t subnet;    /* network address, host byte order */
  uint8_t prefix_len; /* 1..30 once subnet_range is set, else 0 */
  uint32_t gateway;   /* inside the subnet */
  bool has_network;   /* network_name, subnet_range and gateway_address are set */
  uint32_t mtu;       /* 0: inherit */
  uint32_t *dns_servers;
  size_t dns_server_count;
  char **search_domains;
  size_t search_domain_count;
  uint64_t maximum_outgoing_bandwidth; /* bytes per second, 0 for none */
  uint64_t bandwidth_burst;            /* bytes, 0 for the backend's default */
  bool allow_outbound_traffic_by_default;
  int64_t wait_timeout_in_seconds; /* Windows URL ACL commands; unused on Linux */
  char *state_dir;                 /* never NULL after init or load */
  uint16_t port_pool_start;
  uint32_t port_pool_size; /* start + size - 1 <= 65535 */
  char **unknown_keys;     /* keys cfwin does not know, for a warning */
  size_t unknown_key_count;
} cf_net_config;

/* Fills config with the defaults: no network, the platform's state
 * directory and the 40000-44999 port pool. */
void cf_net_config_init(cf_net_config *config);

/* Reads the config file at path; NULL or "" gives the defaults, as
 * winc-network gives an empty config. A given file must set network_name,
 * subnet_range and gateway_address. A value of the wrong JSON type, a bad
 * address, a prefix outside 1..30, a gateway outside the subnet or a port
 * pool past 65535 is CF_E_INVALID naming the key and the value. Unknown
 * keys land in unknown_keys. On failure *out owns nothing and needs no
 * cf_net_config_clear(). */
int cf_net_config_load(const char *path, cf_net_config *out, cf_err **err);

/* Parses the JSON text of a config file (len bytes); same rules as
 * cf_net_config_load(). */
int cf_net_config_parse(const char *text, size_t len, cf_net_config *out, cf_err **err);

/* Fails with CF_E_INVALID when the config names no network, for actions
 * that need one. */
int cf_net_config_require_network(const cf_net_config *config, cf_err **err);

void cf_net_config_clear(cf_net_config *config);

#endif
