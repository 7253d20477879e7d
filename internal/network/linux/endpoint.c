/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Endpoints: a veth pair per container, its host side on the bridge (named
 * cfh<id>, IFLA_IFALIAS "cfwin/<network>/<handle>") and its container side
 * as eth0 in the namespace of the container's process; the endpoint's
 * chains in-<id> and out-<id> with its map elements; and the sweep of
 * endpoints whose handle is gone. <id> is the first 12 hex characters of
 * SHA-256(handle), so every object is found from the handle alone.
 */
#include <errno.h>
#include <fcntl.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/mem.h"
#include "network/linux/netlinux.h"

#define ETHERNET_HEADER 14
#define MIN_DEFAULT_BURST (16 * 1024)

static int validate_address(const cf_net_backend *backend, uint32_t address, cf_err **err)
{
  const cf_net_network *net = &backend->network;
  uint32_t mask = UINT32_MAX << (32 - net->prefix_len);
  char text[16];
  char subnet[16];
  cf_nft_format_ip(address, text);
  cf_nft_format_ip(net->subnet, subnet);
  if ((address & mask) != net->subnet || address == net->subnet ||
      address == (net->subnet | ~mask) || address == net->gateway) {
    return cf_err_set(err, CF_E_INVALID,
                      "invalid container address %s: use a host address of subnet %s/%u other "
                      "than the gateway",
                      text, subnet, net->prefix_len);
  }
  return 0;
}

/* Returns the burst for a rate: the one given, or a tenth of a second of
 * traffic and at least 16 KiB. A burst below one frame would stop every
 * full-size packet, so it is rejected. */
static int bandwidth_burst(const cf_net_endpoint *endpoint, unsigned mtu, uint64_t *burst,
                           cf_err **err)
{
  uint64_t frame = (uint64_t)mtu + ETHERNET_HEADER;
  *burst = endpoint->bandwidth_burst;
  if (endpoint->bandwidth_rate == 0) {
    return 0;
  }
  if (*burst == 0) {
    *burst = endpoint->bandwidth_rate / 10;
    *burst = *burst < MIN_DEFAULT_BURST ? MIN_DEFAULT_BURST : *burst;
    *burst = *burst < frame ? frame : *burst;
  }
  if (*burst < frame) {
    return cf_err_set(err, CF_E_INVALID,
                      "bandwidth burst %llu bytes is smaller than one frame (MTU %u + %d): raise "
                      "it to at least %llu",
                      (unsigned long long)*burst, mtu, ETHERNET_HEADER, (unsigned long long)frame);
  }
  return 0;
}

/* Fails with CF_E_EXISTS when the host-side veth exists, naming the handle
 * that owns it. */
static int check_free(struct nl_sock *sock, const cf_net_backend *backend,
                      const cf_netlx_names *names, const char *handle, cf_err **err)
{
  int ifindex = 0;
  cf_autofree char *alias = NULL;
  cf_autofree char *expected = cf_xasprintf("%s%s", backend->alias_prefix, handle);
  if (cf_netlx_link_find(sock, names->host_ifname, &ifindex, &alias, NULL, err) < 0) {
    return -1;
  }
  if (ifindex == 0) {
    return 0;
  }
  if (alias != NULL && strcmp(alias, expected) == 0) {
    return cf_err_set(err, CF_E_EXISTS, "endpoint for handle %s exists", handle);
  }
  return cf_err_set(err, CF_E_EXISTS, "interface %s for handle %s is in use (alias \"%s\")",
                    names->host_ifname, handle, alias != NULL ? alias : "");
}

/* Applies mappings and rules to endpoint id with one nft transaction,
 * replacing what the table holds for it. With must_exist, an id without
 * its out- chain fails with CF_E_NOT_FOUND. */
static int apply_rules(cf_net_backend *backend, const cf_nft_endpoint_rules *rules, bool must_exist,
                       cf_err **err)
{
  cf_nft_table_state table;
  cf_nft_endpoint_state old;
  pthread_mutex_lock(&backend->nft_lock);
  int rc = cf_netlx_nft_list(backend, &table, err);
  if (rc < 0) {
    pthread_mutex_unlock(&backend->nft_lock);
    return -1;
  }
  cf_nft_endpoint_state_get(&table, rules->id, &old);
  if (!table.exists) {
    rc = cf_err_set(err, CF_E_NOT_FOUND, "table ip %s not found: create network %s first",
                    backend->table, backend->name);
  } else if (must_exist && !old.has_out_chain) {
    rc = cf_err_set(err, CF_E_NOT_FOUND, "no endpoint for handle %s", rules->handle);
  } else {
    cf_autofree char *script = NULL;
    rc = cf_nft_script_endpoint(backend->table, rules, &old, &script, err);
    if (rc == 0) {
      rc = cf_netlx_nft_run(backend, script, err);
    }
  }
  cf_nft_endpoint_state_free(&old);
  cf_nft_table_state_free(&table);
  pthread_mutex_unlock(&backend->nft_lock);
  return rc;
}

typedef struct endpoint_setup {
  cf_netlx_names names;
  int bridge_ifindex;
  unsigned mtu;
  uint64_t burst;
} endpoint_setup;

/* The checks that need the host's state: the network, the free name, the
 * MTU, the burst. */
static int prepare(struct nl_sock *sock, const cf_net_backend *backend,
                   const cf_net_endpoint *endpoint, endpoint_setup *setup, cf_err **err)
{
  unsigned bridge_mtu = 0;
  cf_netlx_names_of(endpoint->handle, &setup->names);
  if (cf_netlx_link_find(sock, backend->bridge, &setup->bridge_ifindex, NULL, &bridge_mtu, err) <
      0) {
    return -1;
  }
  if (setup->bridge_ifindex == 0) {
    return cf_err_set(err, CF_E_NOT_FOUND, "network %s not found: create it first", backend->name);
  }
  setup->mtu = endpoint->mtu != 0 ? endpoint->mtu : bridge_mtu;
  return check_free(sock, backend, &setup->names, endpoint->handle, err) < 0 ||
                 bandwidth_burst(endpoint, setup->mtu, &setup->burst, err) < 0
             ? -1
             : 0;
}

static int open_netns(pid_t pid, cf_err **err)
{
  cf_autofree char *path = cf_xasprintf("/proc/%d/ns/net", (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    return cf_err_set(err, CF_E_NOT_FOUND, "process %d not found", (int)pid);
  }
  if (fd < 0) {
    return cf_err_sys(err, errno, "open %s", path);
  }
  return fd;
}

/* Creates the links and configures both ends. On failure the pair is gone. */
static int attach(struct nl_sock *sock, const cf_net_backend *backend,
                  const cf_net_endpoint *endpoint, const endpoint_setup *setup, cf_err **err)
{
  cf_autoclose int netns_fd = open_netns(endpoint->pid, err);
  if (netns_fd < 0) {
    return -1;
  }
  cf_autofree char *alias = cf_xasprintf("%s%s", backend->alias_prefix, endpoint->handle);
  if (cf_netlx_veth_create(sock, &setup->names, alias, setup->bridge_ifindex, netns_fd, setup->mtu,
                           err) < 0) {
    return -1;
  }
  cf_netlx_container_config config = {.address = endpoint->address,
                                      .prefix_len = backend->network.prefix_len,
                                      .gateway = backend->network.gateway,
                                      .mtu = setup->mtu,
                                      .bandwidth_rate = endpoint->bandwidth_rate,
                                      .bandwidth_burst = setup->burst};
  const char *host = setup->names.host_ifname;
  if (cf_netlx_container_configure(netns_fd, &config, err) < 0 ||
      (endpoint->bandwidth_rate > 0 &&
       cf_netlx_tbf_set(sock, host, endpoint->bandwidth_rate, setup->burst, setup->mtu, err) < 0) ||
      cf_netlx_link_up(sock, host, err) < 0) {
    cf_netlx_link_delete(sock, host, NULL);
    return -1;
  }
  return 0;
}

static int write_dns(const cf_net_backend *backend, const cf_net_endpoint *endpoint, cf_err **err)
{
  if (endpoint->dns_server_count == 0) {
    return 0;
  }
  const char *const *domains = endpoint->search_domains;
  size_t domain_count = endpoint->search_domain_count;
  if (domain_count == 0) {
    domains = backend->network.search_domains;
    domain_count = backend->network.search_domain_count;
  }
  return cf_netlx_write_resolv_conf(endpoint->pid, endpoint->dns_servers,
                                    endpoint->dns_server_count, domains, domain_count, err);
}

static int create_endpoint(struct nl_sock *sock, cf_net_backend *backend,
                           const cf_net_endpoint *endpoint, cf_err **err)
{
  endpoint_setup setup = {0};
  if (prepare(sock, backend, endpoint, &setup, err) < 0 ||
      attach(sock, backend, endpoint, &setup, err) < 0) {
    return -1;
  }
  cf_nft_endpoint_rules rules = {.id = setup.names.id,
                                 .handle = endpoint->handle,
                                 .address = endpoint->address,
                                 .can_log = backend->can_log};
  if (apply_rules(backend, &rules, false, err) < 0) {
    cf_netlx_link_delete(sock, setup.names.host_ifname, NULL);
    return -1;
  }
  if (write_dns(backend, endpoint, err) < 0) {
    cf_netlx_nft_endpoint_remove(backend, setup.names.id, NULL);
    cf_netlx_link_delete(sock, setup.names.host_ifname, NULL);
    return -1;
  }
  return 0;
}

int cf_net_endpoint_create(cf_net_backend *backend, const cf_net_endpoint *endpoint, cf_err **err)
{
  const char *handle = endpoint->handle != NULL ? endpoint->handle : "";
  if (cf_handle_validate(handle, err) < 0 ||
      validate_address(backend, endpoint->address, err) < 0) {
    return cf_err_wrap(err, "create endpoint %s", handle);
  }
  if (endpoint->pid <= 0) {
    return cf_err_set(err, CF_E_INVALID, "create endpoint %s: invalid pid %d", handle,
                      (int)endpoint->pid);
  }
  struct nl_sock *sock = NULL;
  if (cf_netlx_socket(&sock, err) < 0) {
    return cf_err_wrap(err, "create endpoint %s", handle);
  }
  int rc = create_endpoint(sock, backend, endpoint, err);
  nl_socket_free(sock);
  if (rc < 0) {
    return cf_err_wrap(err, "create endpoint %s", handle);
  }
  return 0;
}

int cf_net_endpoint_set_rules(cf_net_backend *backend, const char *handle, uint32_t address,
                              const cf_net_mapping *mappings, size_t mapping_count,
                              const cf_net_rule *rules, size_t rule_count, cf_err **err)
{
  if (cf_handle_validate(handle != NULL ? handle : "", err) < 0 ||
      validate_address(backend, address, err) < 0) {
    return cf_err_wrap(err, "set rules of endpoint %s", handle != NULL ? handle : "");
  }
  cf_netlx_names names;
  cf_netlx_names_of(handle, &names);
  cf_nft_endpoint_rules input = {.id = names.id,
                                 .handle = handle,
                                 .address = address,
                                 .mappings = mappings,
                                 .mapping_count = mapping_count,
                                 .rules = rules,
                                 .rule_count = rule_count,
                                 .can_log = backend->can_log};
  if (apply_rules(backend, &input, true, err) < 0) {
    return cf_err_wrap(err, "set rules of endpoint %s", handle);
  }
  return 0;
}

/* Deletes the endpoint of handle. When the interface cfh<id> belongs to
 * another handle (a hash collision), neither it nor the chains of <id>
 * are touched. */
static int delete_endpoint(struct nl_sock *sock, cf_net_backend *backend, const char *handle,
                           cf_err **err)
{
  cf_netlx_names names;
  cf_netlx_names_of(handle, &names);
  int ifindex = 0;
  cf_autofree char *alias = NULL;
  cf_autofree char *expected = cf_xasprintf("%s%s", backend->alias_prefix, handle);
  if (cf_netlx_link_find(sock, names.host_ifname, &ifindex, &alias, NULL, err) < 0) {
    return -1;
  }
  if (ifindex != 0 && (alias == NULL || strcmp(alias, expected) != 0)) {
    return 0;
  }
  /* Rules go first: the container's traffic then meets the drop for unknown
   * sources, and a failure leaves the link for a retry or the sweep to find. */
  if (cf_netlx_nft_endpoint_remove(backend, names.id, err) < 0) {
    return -1;
  }
  /* Deleting one end of a veth pair deletes both. The pair is already gone
   * when the container's namespace died. */
  return ifindex != 0 ? cf_netlx_link_delete(sock, names.host_ifname, err) : 0;
}

int cf_net_endpoint_delete(cf_net_backend *backend, const char *handle, cf_err **err)
{
  if (cf_handle_validate(handle != NULL ? handle : "", err) < 0) {
    return cf_err_wrap(err, "delete endpoint");
  }
  struct nl_sock *sock = NULL;
  if (cf_netlx_socket(&sock, err) < 0) {
    return cf_err_wrap(err, "delete endpoint %s", handle);
  }
  int rc = delete_endpoint(sock, backend, handle, err);
  nl_socket_free(sock);
  if (rc < 0) {
    return cf_err_wrap(err, "delete endpoint %s", handle);
  }
  return 0;
}

static bool is_kept(const char *handle, const char *const *keep, size_t keep_count)
{
  for (size_t i = 0; i < keep_count; i++) {
    if (strcmp(keep[i], handle) == 0) {
      return true;
    }
  }
  return false;
}

static bool is_kept_id(const char *id, const char *const *keep, size_t keep_count)
{
  for (size_t i = 0; i < keep_count; i++) {
    cf_netlx_names names;
    cf_netlx_names_of(keep[i], &names);
    if (strcmp(names.id, id) == 0) {
      return true;
    }
  }
  return false;
}

/* Deletes the endpoints whose host-side veth carries a handle not kept. */
static int sweep_links(struct nl_sock *sock, cf_net_backend *backend, const char *const *keep,
                       size_t keep_count, size_t *deleted, cf_err **err)
{
  char **handles = NULL;
  size_t count = 0;
  if (cf_netlx_list_endpoints(sock, backend->alias_prefix, &handles, &count, err) < 0) {
    return -1;
  }
  int rc = 0;
  for (size_t i = 0; i < count && rc == 0; i++) {
    if (is_kept(handles[i], keep, keep_count)) {
      continue;
    }
    rc = delete_endpoint(sock, backend, handles[i], err);
    *deleted += rc == 0;
  }
  cf_strv_free(handles, count);
  return rc;
}

/* Removes the chains and elements of ids that no kept handle has and no
 * interface uses: what a container whose namespace died left behind. */
static int sweep_chains(struct nl_sock *sock, cf_net_backend *backend, const char *const *keep,
                        size_t keep_count, size_t *deleted, cf_err **err)
{
  cf_nft_table_state table;
  pthread_mutex_lock(&backend->nft_lock);
  int rc = cf_netlx_nft_list(backend, &table, err);
  pthread_mutex_unlock(&backend->nft_lock);
  if (rc < 0) {
    return -1;
  }
  for (size_t i = 0; i < table.id_count && rc == 0; i++) {
    const char *id = table.ids[i];
    char ifname[IFNAMSIZ];
    int ifindex = 0;
    cf_netlx_host_ifname_of_id(id, ifname);
    if (is_kept_id(id, keep, keep_count) ||
        (rc = cf_netlx_link_find(sock, ifname, &ifindex, NULL, NULL, err)) < 0 || ifindex != 0) {
      continue;
    }
    rc = cf_netlx_nft_endpoint_remove(backend, id, err);
    *deleted += rc == 0;
  }
  cf_nft_table_state_free(&table);
  return rc;
}

int cf_net_endpoint_sweep(cf_net_backend *backend, const char *const *keep, size_t keep_count,
                          size_t *deleted, cf_err **err)
{
  size_t count = 0;
  struct nl_sock *sock = NULL;
  if (cf_netlx_socket(&sock, err) < 0) {
    return cf_err_wrap(err, "sweep endpoints of network %s", backend->name);
  }
  int rc = sweep_links(sock, backend, keep, keep_count, &count, err);
  if (rc == 0) {
    rc = sweep_chains(sock, backend, keep, keep_count, &count, err);
  }
  nl_socket_free(sock);
  if (deleted != NULL) {
    *deleted = count;
  }
  if (rc < 0) {
    return cf_err_wrap(err, "sweep endpoints of network %s", backend->name);
  }
  return 0;
}
