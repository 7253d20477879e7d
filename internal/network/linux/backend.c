/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Linux network backend: the NAT network as a bridge carrying the
 * gateway address, IPv4 forwarding, and an nftables table of cfwin's own
 * (`ip cfwin-<network>`) with masquerading, NetIn DNAT and the NetOut
 * filter. docs/network-linux.md describes the layout and naming.
 */
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "network/linux/netlinux.h"

#define MIN_MTU 68
#define MAX_MTU 65535

/* The network name becomes the bridge's interface name as is, so it must
 * be a valid one: 1 to IFNAMSIZ - 1 characters, and here only
 * [A-Za-z0-9_.-] because it also names the nftables table. */
static int validate_name(const char *name, cf_err **err)
{
  size_t len = name != NULL ? strlen(name) : 0;
  bool valid = len > 0 && len < IFNAMSIZ && strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
  for (size_t i = 0; valid && i < len; i++) {
    char c = name[i];
    valid = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '_' || c == '.' || c == '-';
  }
  if (!valid) {
    return cf_err_set(err, CF_E_INVALID,
                      "invalid network name \"%s\": on Linux it names the bridge, so use 1 to %d "
                      "characters from [A-Za-z0-9_.-]",
                      name != NULL ? name : "", IFNAMSIZ - 1);
  }
  return 0;
}

static int validate_network(const cf_net_network *network, cf_err **err)
{
  if (validate_name(network->name, err) < 0) {
    return -1;
  }
  char subnet[16];
  char gateway[16];
  cf_nft_format_ip(network->subnet, subnet);
  cf_nft_format_ip(network->gateway, gateway);
  if (network->prefix_len < 1 || network->prefix_len > 30) {
    return cf_err_set(err, CF_E_INVALID, "invalid subnet %s/%u: the prefix length must be 1 to 30",
                      subnet, network->prefix_len);
  }
  uint32_t mask = UINT32_MAX << (32 - network->prefix_len);
  if ((network->subnet & ~mask) != 0) {
    char base[16];
    cf_nft_format_ip(network->subnet & mask, base);
    return cf_err_set(err, CF_E_INVALID, "invalid subnet %s/%u: it has host bits set; use %s/%u",
                      subnet, network->prefix_len, base, network->prefix_len);
  }
  if ((network->gateway & mask) != network->subnet || network->gateway == network->subnet ||
      network->gateway == (network->subnet | ~mask)) {
    return cf_err_set(err, CF_E_INVALID,
                      "invalid gateway %s: use a host address inside subnet %s/%u", gateway, subnet,
                      network->prefix_len);
  }
  if (network->mtu != 0 && (network->mtu < MIN_MTU || network->mtu > MAX_MTU)) {
    return cf_err_set(err, CF_E_INVALID, "invalid MTU %u: use 0 (inherit) or %d to %d",
                      network->mtu, MIN_MTU, MAX_MTU);
  }
  return 0;
}

static void copy_network(cf_net_backend *backend, const cf_net_network *network)
{
  backend->network = *network;
  backend->name = cf_xstrdup(network->name);
  backend->network.name = backend->name;
  size_t count = network->search_domain_count;
  backend->search_domains = cf_xcalloc(count + 1, sizeof(char *));
  for (size_t i = 0; i < count; i++) {
    backend->search_domains[i] = cf_xstrdup(network->search_domains[i]);
  }
  backend->network.search_domains = (const char *const *)backend->search_domains;
  snprintf(backend->bridge, sizeof(backend->bridge), "%s", network->name);
  backend->table = cf_xasprintf("cfwin-%s", network->name);
  backend->alias_prefix = cf_xasprintf("cfwin/%s/", network->name);
}

int cf_net_backend_open(const cf_net_network *network, cf_net_backend **out, cf_err **err)
{
  if (validate_network(network, err) < 0) {
    return -1;
  }
  cf_net_backend *backend = cf_xcalloc(1, sizeof(*backend));
  copy_network(backend, network);
  pthread_mutex_init(&backend->nft_lock, NULL);
  if (cf_netlx_nft_open(backend, err) < 0) {
    cf_net_backend_close(backend);
    return cf_err_wrap(err, "open network %s", network->name);
  }
  backend->can_log = cf_netlx_nft_probe_log(backend);
  *out = backend;
  return 0;
}

void cf_net_backend_close(cf_net_backend *backend)
{
  if (backend == NULL) {
    return;
  }
  cf_netlx_nft_close(backend);
  pthread_mutex_destroy(&backend->nft_lock);
  cf_strv_free(backend->search_domains, backend->network.search_domain_count);
  free(backend->name);
  free(backend->table);
  free(backend->alias_prefix);
  free(backend);
}

bool cf_net_backend_can_log(const cf_net_backend *backend)
{
  return backend->can_log;
}

/* Creates the table unless it exists. Another process may create it at
 * the same moment; its `create table` or ours then fails, and a second
 * listing shows the table. */
static int ensure_table(cf_net_backend *backend, cf_err **err)
{
  cf_nft_net net = {.table = backend->table,
                    .bridge = backend->bridge,
                    .subnet = backend->network.subnet,
                    .prefix_len = backend->network.prefix_len};
  cf_autofree char *script = cf_nft_script_network(&net);
  cf_nft_table_state state;
  pthread_mutex_lock(&backend->nft_lock);
  int rc = cf_netlx_nft_list(backend, &state, err);
  if (rc == 0 && !state.exists) {
    rc = cf_netlx_nft_run(backend, script, err);
    if (rc < 0) {
      cf_nft_table_state_free(&state);
      if (cf_netlx_nft_list(backend, &state, NULL) == 0 && state.exists) {
        cf_err_clear(err);
        rc = 0;
      }
    }
  }
  cf_nft_table_state_free(&state);
  pthread_mutex_unlock(&backend->nft_lock);
  return rc;
}

static int check_existing_bridge(const cf_net_backend *backend, uint32_t address,
                                 uint8_t prefix_len, cf_err **err)
{
  if (address == backend->network.gateway && prefix_len == backend->network.prefix_len) {
    return 0;
  }
  char want_subnet[16];
  char want_gateway[16];
  char has_subnet[16];
  char has_gateway[16];
  cf_nft_format_ip(backend->network.subnet, want_subnet);
  cf_nft_format_ip(backend->network.gateway, want_gateway);
  uint32_t mask = prefix_len == 0 ? 0 : UINT32_MAX << (32 - prefix_len);
  cf_nft_format_ip(address & mask, has_subnet);
  cf_nft_format_ip(address, has_gateway);
  return cf_err_set(err, CF_E_EXISTS,
                    "nat network %s exists with subnet %s/%u and gateway %s, not subnet %s/%u and "
                    "gateway %s: delete it first or choose another network name",
                    backend->name, has_subnet, prefix_len, has_gateway, want_subnet,
                    backend->network.prefix_len, want_gateway);
}

static int create_bridge(struct nl_sock *sock, cf_net_backend *backend, cf_err **err)
{
  unsigned mtu = backend->network.mtu;
  if (cf_netlx_check_subnet_free(sock, backend, err) < 0 ||
      (mtu == 0 && cf_netlx_default_mtu(sock, &mtu, err) < 0) ||
      cf_netlx_bridge_create(sock, backend, mtu, err) < 0) {
    return -1;
  }
  return 0;
}

int cf_net_network_create(cf_net_backend *backend, cf_err **err)
{
  struct nl_sock *sock = NULL;
  if (cf_netlx_socket(&sock, err) < 0) {
    return cf_err_wrap(err, "network create %s", backend->name);
  }
  bool found = false;
  bool created = false;
  uint32_t address = 0;
  uint8_t prefix_len = 0;
  int rc = cf_netlx_bridge_inspect(sock, backend, &found, &address, &prefix_len, err);
  if (rc == 0 && found) {
    rc = check_existing_bridge(backend, address, prefix_len, err);
  } else if (rc == 0) {
    rc = create_bridge(sock, backend, err);
    created = rc == 0;
  }
  if (rc == 0) {
    rc = cf_netlx_enable_forwarding(err);
  }
  if (rc == 0) {
    rc = ensure_table(backend, err);
  }
  if (rc < 0 && created) {
    cf_netlx_link_delete(sock, backend->bridge, NULL);
  }
  nl_socket_free(sock);
  if (rc < 0) {
    return cf_err_wrap(err, "network create %s", backend->name);
  }
  return 0;
}

/* Deletes the host-side veths of every endpoint of this network. */
static int delete_endpoint_links(struct nl_sock *sock, cf_net_backend *backend, cf_err **err)
{
  char **handles = NULL;
  size_t count = 0;
  if (cf_netlx_list_endpoints(sock, backend->alias_prefix, &handles, &count, err) < 0) {
    return -1;
  }
  int rc = 0;
  for (size_t i = 0; i < count && rc == 0; i++) {
    cf_netlx_names names;
    cf_netlx_names_of(handles[i], &names);
    rc = cf_netlx_link_delete(sock, names.host_ifname, err);
  }
  cf_strv_free(handles, count);
  return rc;
}

int cf_net_network_delete(cf_net_backend *backend, cf_err **err)
{
  struct nl_sock *sock = NULL;
  if (cf_netlx_socket(&sock, err) < 0) {
    return cf_err_wrap(err, "network delete %s", backend->name);
  }
  cf_autofree char *script = cf_nft_script_network_delete(backend->table);
  pthread_mutex_lock(&backend->nft_lock);
  int rc = cf_netlx_nft_run(backend, script, err);
  pthread_mutex_unlock(&backend->nft_lock);
  if (rc == 0) {
    rc = delete_endpoint_links(sock, backend, err);
  }
  if (rc == 0) {
    bool found = false;
    uint32_t address = 0;
    uint8_t prefix_len = 0;
    rc = cf_netlx_bridge_inspect(sock, backend, &found, &address, &prefix_len, err);
    if (rc == 0 && found) {
      rc = cf_netlx_link_delete(sock, backend->bridge, err);
    }
  }
  nl_socket_free(sock);
  if (rc < 0) {
    return cf_err_wrap(err, "network delete %s", backend->name);
  }
  return 0;
}
