/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internals of the Linux network backend shared by its files: the backend
 * object, the names derived from the network and the handle, and the
 * netlink, nftables and namespace steps.
 */
#ifndef CFWIN_NETWORK_LINUX_NETLINUX_H
#define CFWIN_NETWORK_LINUX_NETLINUX_H

#include <net/if.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "network/linux/nftscript.h"
#include "network/network.h"

struct cf_nft_driver;
struct nl_sock;

/* The container side of every veth pair is named eth0 inside its namespace. */
#define CF_NETLX_CONTAINER_IFNAME "eth0"

struct cf_net_backend {
  cf_net_network network; /* a copy; the strings below own its pointers */
  char *name;
  char **search_domains;
  char bridge[IFNAMSIZ];
  char *table;        /* "cfwin-<name>" */
  char *alias_prefix; /* "cfwin/<name>/": IFLA_IFALIAS of host-side veths */
  bool can_log;
  pthread_mutex_t nft_lock; /* serialises use of nft, which is not thread-safe */
  struct cf_nft_driver *nft;
};

/* Names of one endpoint, all derived from its handle. */
typedef struct cf_netlx_names {
  char id[CF_NFT_ID_LEN + 1]; /* first hex characters of SHA-256(handle) */
  char host_ifname[IFNAMSIZ]; /* "cfh" + id: the host-side veth */
} cf_netlx_names;

void cf_netlx_names_of(const char *handle, cf_netlx_names *names);
void cf_netlx_host_ifname_of_id(const char *id, char out[IFNAMSIZ]);

/* --- netlink (links.c, container.c) --- */

/* Opens a route netlink socket in the calling thread's network namespace. */
int cf_netlx_socket(struct nl_sock **out, cf_err **err);

/* Looks up a link; sets *ifindex to 0 when name does not exist. When
 * alias is not NULL it receives the link's IFLA_IFALIAS (caller frees,
 * NULL when unset). */
int cf_netlx_link_find(struct nl_sock *sock, const char *name, int *ifindex, char **alias,
                       unsigned *mtu, cf_err **err);
/* Deletes a link; a missing link is not an error. */
int cf_netlx_link_delete(struct nl_sock *sock, const char *name, cf_err **err);

/* The bridge: created with its address and up, or inspected. */
int cf_netlx_bridge_create(struct nl_sock *sock, const cf_net_backend *backend, unsigned mtu,
                           cf_err **err);
/* Sets *found and the bridge's IPv4 address and prefix length (0 when it
 * has none). Fails when the link exists but is not a bridge. */
int cf_netlx_bridge_inspect(struct nl_sock *sock, const cf_net_backend *backend, bool *found,
                            uint32_t *address, uint8_t *prefix_len, cf_err **err);
/* Fails with CF_E_EXISTS when a link other than the bridge has an IPv4
 * address inside the backend's subnet. */
int cf_netlx_check_subnet_free(struct nl_sock *sock, const cf_net_backend *backend, cf_err **err);
/* The MTU of the device of the default route, or 1500 without one. */
int cf_netlx_default_mtu(struct nl_sock *sock, unsigned *mtu, cf_err **err);

/* Creates the veth pair: names->host_ifname on the bridge with alias,
 * down, and eth0 in the namespace of netns_fd. */
int cf_netlx_veth_create(struct nl_sock *sock, const cf_netlx_names *names, const char *alias,
                         int bridge_ifindex, int netns_fd, unsigned mtu, cf_err **err);
int cf_netlx_link_up(struct nl_sock *sock, const char *name, cf_err **err);
/* Adds address/prefix_len to the link with index ifindex. */
int cf_netlx_address_add(struct nl_sock *sock, int ifindex, uint32_t address, uint8_t prefix_len,
                         cf_err **err);

/* Puts a tbf qdisc on the egress of a link (rate in bytes per second). */
int cf_netlx_tbf_set(struct nl_sock *sock, const char *ifname, uint64_t rate, uint64_t burst,
                     unsigned mtu, cf_err **err);

/* Names of the host-side veths whose alias starts with prefix, as the
 * handle after the prefix. Caller frees with cf_strv_free(). */
int cf_netlx_list_endpoints(struct nl_sock *sock, const char *prefix, char ***handles,
                            size_t *count, cf_err **err);

/* The container side, configured from a thread inside the namespace. */
typedef struct cf_netlx_container_config {
  uint32_t address;
  uint8_t prefix_len;
  uint32_t gateway;
  unsigned mtu;
  uint64_t bandwidth_rate;
  uint64_t bandwidth_burst;
} cf_netlx_container_config;

int cf_netlx_container_configure(int netns_fd, const cf_netlx_container_config *config,
                                 cf_err **err);

/* --- nftables (nftables.c) --- */

int cf_netlx_nft_open(cf_net_backend *backend, cf_err **err);
void cf_netlx_nft_close(cf_net_backend *backend);
/* Runs script as one transaction. The caller holds backend->nft_lock. */
int cf_netlx_nft_run(cf_net_backend *backend, const char *script, cf_err **err);
/* Lists the backend's table. The caller holds backend->nft_lock. */
int cf_netlx_nft_list(cf_net_backend *backend, cf_nft_table_state *state, cf_err **err);
/* Returns whether the kernel accepts the log statement (a dry run). */
bool cf_netlx_nft_probe_log(cf_net_backend *backend);
/* Removes endpoint id's chains and map elements. Takes nft_lock. */
int cf_netlx_nft_endpoint_remove(cf_net_backend *backend, const char *id, cf_err **err);

/* --- files (resolv.c, sysctl) --- */

/* Writes /etc/resolv.conf inside the root of process pid, resolving the
 * path inside that root. */
int cf_netlx_write_resolv_conf(pid_t pid, const uint32_t *servers, size_t server_count,
                               const char *const *search_domains, size_t search_domain_count,
                               cf_err **err);
/* Enables IPv4 forwarding in the calling thread's network namespace. */
int cf_netlx_enable_forwarding(cf_err **err);

#endif
