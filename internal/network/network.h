/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The network role's platform interface, shaped after the Windows Host
 * Networking Service: a NAT network, one endpoint per container with its
 * address, port mappings (NetIn) and outbound allow rules with default deny
 * (NetOut), MTU, DNS and an outgoing bandwidth limit.
 *
 * The platform-neutral part (config, address and host-port allocation in the
 * store, the winc-network CLI, the Garden server's calls) decides every
 * address, port and rule. A backend only applies them:
 *   Linux (the files under linux/): a bridge in the caller's network namespace, a veth
 *   pair into the container's namespace, nftables through libnftables in a
 *   table of cfwin's own, tc through netlink. No helper binaries.
 *   Windows (the files under windows/): HCN through computenetwork.dll.
 *
 * The "host" is the network namespace the caller runs in, so tests can run
 * the whole role inside a namespace they made. Addresses are IPv4 in host
 * byte order. Every function follows the error contract of base/err.h.
 */
#ifndef CFWIN_NETWORK_NETWORK_H
#define CFWIN_NETWORK_NETWORK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"

typedef struct cf_net_range {
  uint32_t start; /* first address, host byte order */
  uint32_t end;   /* last address, inclusive */
} cf_net_range;

typedef struct cf_port_range {
  uint16_t start;
  uint16_t end; /* inclusive */
} cf_port_range;

/* Garden's protocol numbers (net_out_rule.go): 0 all, 1 tcp, 2 udp, 3 icmp. */
typedef enum cf_net_protocol {
  CF_NET_PROTO_ALL = 0,
  CF_NET_PROTO_TCP = 1,
  CF_NET_PROTO_UDP = 2,
  CF_NET_PROTO_ICMP = 3,
} cf_net_protocol;

/* One outbound allow rule. No networks means every address; no ports means
 * every port (ports apply to tcp and udp only). */
typedef struct cf_net_rule {
  cf_net_protocol protocol;
  cf_net_range *networks;
  size_t network_count;
  cf_port_range *ports;
  size_t port_count;
  bool has_icmp; /* icmp_type and icmp_code apply (protocol icmp only) */
  uint8_t icmp_type;
  bool has_icmp_code; /* Garden's ICMPControl code is optional */
  uint8_t icmp_code;
  bool log; /* log new connections that match */
} cf_net_rule;

/* One NetIn mapping: traffic to host_port on the host goes to container_port
 * on the container's address, for tcp and udp. */
typedef struct cf_net_mapping {
  uint16_t host_port;
  uint16_t container_port;
} cf_net_mapping;

/* The host NAT network. */
typedef struct cf_net_network {
  const char *name;   /* network_name; on Linux it names the bridge (see docs) */
  uint32_t subnet;    /* network address */
  uint8_t prefix_len; /* 1..30 */
  uint32_t gateway;   /* inside the subnet; the bridge's own address on Linux */
  uint32_t mtu;       /* 0: inherit (the host's default route device on Linux) */
  const char *const *search_domains;
  size_t search_domain_count;
} cf_net_network;

/* One container's endpoint. */
typedef struct cf_net_endpoint {
  const char *handle;
  pid_t pid;        /* a process in the container's network namespace (Linux); unused on Windows */
  uint32_t address; /* the container's address, allocated by the caller */
  uint32_t mtu;     /* 0: the network's MTU */
  const uint32_t *dns_servers;
  size_t dns_server_count;
  const char *const *search_domains;
  size_t search_domain_count;
  uint64_t bandwidth_rate;  /* bytes per second, 0 for no limit */
  uint64_t bandwidth_burst; /* bytes, 0 for the backend's default with a rate */
} cf_net_endpoint;

typedef struct cf_net_backend cf_net_backend;

/* Opens the backend for network. Fails with CF_E_NOT_IMPLEMENTED, naming
 * what to install or enable, when the host lacks a platform feature. */
int cf_net_backend_open(const cf_net_network *network, cf_net_backend **out, cf_err **err);
void cf_net_backend_close(cf_net_backend *backend);

/* Creates the NAT network (Linux: the bridge with the gateway address, IPv4
 * forwarding, masquerading of the subnet, the base nftables chains).
 * Succeeds without change when it exists with the same subnet and gateway;
 * fails with CF_E_EXISTS naming both subnets when it exists otherwise. */
int cf_net_network_create(cf_net_backend *backend, cf_err **err);

/* Deletes the network and everything the backend made for it. A missing
 * network is not an error. */
int cf_net_network_delete(cf_net_backend *backend, cf_err **err);

/* Creates the endpoint and attaches it to the container (Linux: a veth pair
 * into the network namespace of endpoint->pid, the address, the default
 * route through the gateway, the MTU, the bandwidth limit, and
 * /etc/resolv.conf in the container's root from dns_servers and
 * search_domains when dns_server_count > 0). The endpoint starts with
 * outbound traffic denied and no mappings. On failure nothing of it is
 * left. Fails with CF_E_EXISTS when handle has an endpoint. */
int cf_net_endpoint_create(cf_net_backend *backend, const cf_net_endpoint *endpoint, cf_err **err);

/* Replaces the endpoint's NetIn mappings and NetOut rules with the ones
 * given, atomically: either all of them apply or the old ones stay. Replies
 * to allowed traffic and to NetIn traffic are always allowed. Touches no
 * other endpoint's rules. */
int cf_net_endpoint_set_rules(cf_net_backend *backend, const char *handle, uint32_t address,
                              const cf_net_mapping *mappings, size_t mapping_count,
                              const cf_net_rule *rules, size_t rule_count, cf_err **err);

/* Detaches and deletes the endpoint and its rules. An unknown handle is not
 * an error, and neither is a container that is already gone. */
int cf_net_endpoint_delete(cf_net_backend *backend, const char *handle, cf_err **err);

/* Deletes every endpoint of this network whose handle is not in keep
 * (links, rules, limits), for a server start after a crash. Sets *deleted
 * to the number deleted (may be NULL). */
int cf_net_endpoint_sweep(cf_net_backend *backend, const char *const *keep, size_t keep_count,
                          size_t *deleted, cf_err **err);

/* Whether the backend can log matching connections (Linux: nftables log
 * statements). The caller rejects rules with log set, or warns, when not. */
bool cf_net_backend_can_log(const cf_net_backend *backend);

#endif
