/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Links and addresses through route netlink (libnl-route-3): the bridge,
 * the veth pairs, and the lookups the backend needs. Every function works
 * in the network namespace the socket was opened in.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/rtnetlink.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>

#include "base/mem.h"
#include "base/sha256.h"
#include "network/linux/netlinux.h"

#define DEFAULT_MTU 1500

/* Sets *err from a negative libnl error code, with the message formatted
 * from fmt in front of libnl's text. Returns -1. */
static int __attribute__((format(printf, 3, 4)))
nl_fail(cf_err **err, int nl_error, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  cf_autofree char *what = cf_xvasprintf(fmt, ap);
  va_end(ap);
  int code = nl_error < 0 ? -nl_error : nl_error;
  enum cf_code kind = CF_E_SYSTEM;
  if (code == NLE_EXIST) {
    kind = CF_E_EXISTS;
  } else if (code == NLE_OBJ_NOTFOUND || code == NLE_NODEV) {
    kind = CF_E_NOT_FOUND;
  }
  return cf_err_set(err, kind, "%s: %s", what, nl_geterror(code));
}

void cf_netlx_names_of(const char *handle, cf_netlx_names *names)
{
  char digest[CF_DIGEST_LEN + 1];
  cf_sha256_digest(handle, strlen(handle), digest);
  memcpy(names->id, digest + strlen("sha256:"), CF_NFT_ID_LEN);
  names->id[CF_NFT_ID_LEN] = '\0';
  cf_netlx_host_ifname_of_id(names->id, names->host_ifname);
}

void cf_netlx_host_ifname_of_id(const char *id, char out[IFNAMSIZ])
{
  snprintf(out, IFNAMSIZ, "cfh%s", id);
}

int cf_netlx_socket(struct nl_sock **out, cf_err **err)
{
  struct nl_sock *sock = nl_socket_alloc();
  if (sock == NULL) {
    return cf_err_set(err, CF_E_SYSTEM, "allocate a netlink socket");
  }
  int rc = nl_connect(sock, NETLINK_ROUTE);
  if (rc < 0) {
    nl_socket_free(sock);
    return nl_fail(err, rc, "connect a route netlink socket");
  }
  *out = sock;
  return 0;
}

int cf_netlx_link_find(struct nl_sock *sock, const char *name, int *ifindex, char **alias,
                       unsigned *mtu, cf_err **err)
{
  struct rtnl_link *link = NULL;
  *ifindex = 0;
  if (alias != NULL) {
    *alias = NULL;
  }
  int rc = rtnl_link_get_kernel(sock, 0, name, &link);
  if (rc == -NLE_OBJ_NOTFOUND || rc == -NLE_NODEV) {
    return 0;
  }
  if (rc < 0) {
    return nl_fail(err, rc, "look up link %s", name);
  }
  *ifindex = rtnl_link_get_ifindex(link);
  if (alias != NULL && rtnl_link_get_ifalias(link) != NULL) {
    *alias = cf_xstrdup(rtnl_link_get_ifalias(link));
  }
  if (mtu != NULL) {
    *mtu = rtnl_link_get_mtu(link);
  }
  rtnl_link_put(link);
  return 0;
}

int cf_netlx_link_delete(struct nl_sock *sock, const char *name, cf_err **err)
{
  struct rtnl_link *link = rtnl_link_alloc();
  rtnl_link_set_name(link, name);
  int rc = rtnl_link_delete(sock, link);
  rtnl_link_put(link);
  if (rc < 0 && rc != -NLE_OBJ_NOTFOUND && rc != -NLE_NODEV) {
    return nl_fail(err, rc, "delete link %s", name);
  }
  return 0;
}

int cf_netlx_link_up(struct nl_sock *sock, const char *name, cf_err **err)
{
  struct rtnl_link *link = NULL;
  int rc = rtnl_link_get_kernel(sock, 0, name, &link);
  if (rc < 0) {
    return nl_fail(err, rc, "look up link %s", name);
  }
  struct rtnl_link *change = rtnl_link_alloc();
  rtnl_link_set_flags(change, IFF_UP);
  rc = rtnl_link_change(sock, link, change, 0);
  rtnl_link_put(change);
  rtnl_link_put(link);
  if (rc < 0) {
    return nl_fail(err, rc, "set link %s up", name);
  }
  return 0;
}

static int set_alias(struct nl_sock *sock, const char *name, const char *alias, cf_err **err)
{
  struct rtnl_link *link = NULL;
  int rc = rtnl_link_get_kernel(sock, 0, name, &link);
  if (rc < 0) {
    return nl_fail(err, rc, "look up link %s", name);
  }
  struct rtnl_link *change = rtnl_link_alloc();
  rtnl_link_set_ifalias(change, alias);
  rc = rtnl_link_change(sock, link, change, 0);
  rtnl_link_put(change);
  rtnl_link_put(link);
  if (rc < 0) {
    return nl_fail(err, rc, "set the alias of link %s", name);
  }
  return 0;
}

static struct nl_addr *ipv4_addr(uint32_t address, uint8_t prefix_len)
{
  uint32_t be = htonl(address);
  struct nl_addr *addr = nl_addr_build(AF_INET, &be, sizeof(be));
  if (addr == NULL) {
    abort(); /* libnl fails only on allocation */
  }
  nl_addr_set_prefixlen(addr, prefix_len);
  return addr;
}

int cf_netlx_address_add(struct nl_sock *sock, int ifindex, uint32_t address, uint8_t prefix_len,
                         cf_err **err)
{
  struct rtnl_addr *addr = rtnl_addr_alloc();
  struct nl_addr *local = ipv4_addr(address, prefix_len);
  rtnl_addr_set_ifindex(addr, ifindex);
  int rc = rtnl_addr_set_local(addr, local);
  if (rc == 0) {
    rc = rtnl_addr_add(sock, addr, 0);
  }
  nl_addr_put(local);
  rtnl_addr_put(addr);
  if (rc < 0) {
    char text[16];
    cf_nft_format_ip(address, text);
    return nl_fail(err, rc, "add address %s/%u", text, prefix_len);
  }
  return 0;
}

int cf_netlx_bridge_create(struct nl_sock *sock, const cf_net_backend *backend, unsigned mtu,
                           cf_err **err)
{
  struct rtnl_link *link = rtnl_link_alloc();
  rtnl_link_set_name(link, backend->bridge);
  rtnl_link_set_type(link, "bridge");
  if (mtu > 0) {
    rtnl_link_set_mtu(link, mtu);
  }
  int rc = rtnl_link_add(sock, link, NLM_F_CREATE | NLM_F_EXCL);
  rtnl_link_put(link);
  if (rc < 0) {
    return nl_fail(err, rc, "create bridge %s", backend->bridge);
  }

  int ifindex = 0;
  if (cf_netlx_link_find(sock, backend->bridge, &ifindex, NULL, NULL, err) < 0 ||
      cf_netlx_address_add(sock, ifindex, backend->network.gateway, backend->network.prefix_len,
                           err) < 0 ||
      cf_netlx_link_up(sock, backend->bridge, err) < 0) {
    cf_netlx_link_delete(sock, backend->bridge, NULL);
    return cf_err_wrap(err, "configure bridge %s", backend->bridge);
  }
  return 0;
}

/* Visits every IPv4 address of the namespace. */
typedef bool (*address_visitor)(int ifindex, uint32_t address, uint8_t prefix_len, void *arg);

static int for_each_ipv4_address(struct nl_sock *sock, address_visitor visit, void *arg,
                                 cf_err **err)
{
  struct nl_cache *cache = NULL;
  int rc = rtnl_addr_alloc_cache(sock, &cache);
  if (rc < 0) {
    return nl_fail(err, rc, "list addresses");
  }
  for (struct nl_object *o = nl_cache_get_first(cache); o != NULL; o = nl_cache_get_next(o)) {
    struct rtnl_addr *addr = (struct rtnl_addr *)o;
    struct nl_addr *local = rtnl_addr_get_local(addr);
    if (rtnl_addr_get_family(addr) != AF_INET || local == NULL) {
      continue;
    }
    uint32_t be;
    memcpy(&be, nl_addr_get_binary_addr(local), sizeof(be));
    if (!visit(rtnl_addr_get_ifindex(addr), ntohl(be), (uint8_t)rtnl_addr_get_prefixlen(addr),
               arg)) {
      break;
    }
  }
  nl_cache_free(cache);
  return 0;
}

typedef struct first_address {
  int ifindex;
  uint32_t address;
  uint8_t prefix_len;
} first_address;

static bool take_first_address(int ifindex, uint32_t address, uint8_t prefix_len, void *arg)
{
  first_address *found = arg;
  if (ifindex != found->ifindex) {
    return true;
  }
  found->address = address;
  found->prefix_len = prefix_len;
  return false;
}

int cf_netlx_bridge_inspect(struct nl_sock *sock, const cf_net_backend *backend, bool *found,
                            uint32_t *address, uint8_t *prefix_len, cf_err **err)
{
  struct rtnl_link *link = NULL;
  *found = false;
  *address = 0;
  *prefix_len = 0;
  int rc = rtnl_link_get_kernel(sock, 0, backend->bridge, &link);
  if (rc == -NLE_OBJ_NOTFOUND || rc == -NLE_NODEV) {
    return 0;
  }
  if (rc < 0) {
    return nl_fail(err, rc, "look up bridge %s", backend->bridge);
  }
  const char *type = rtnl_link_get_type(link);
  bool is_bridge = type != NULL && strcmp(type, "bridge") == 0;
  first_address first = {.ifindex = rtnl_link_get_ifindex(link)};
  rtnl_link_put(link);
  if (!is_bridge) {
    return cf_err_set(err, CF_E_EXISTS,
                      "link %s exists and is not a bridge (type %s): choose another network name",
                      backend->bridge, type != NULL ? type : "unknown");
  }
  if (for_each_ipv4_address(sock, take_first_address, &first, err) < 0) {
    return -1;
  }
  *found = true;
  *address = first.address;
  *prefix_len = first.prefix_len;
  return 0;
}

typedef struct overlap_check {
  int bridge_ifindex;
  uint32_t subnet;
  uint8_t prefix_len;
  int ifindex; /* of the first overlapping address, 0 for none */
  uint32_t address;
  uint8_t address_prefix_len;
} overlap_check;

static uint32_t prefix_mask(uint8_t prefix_len)
{
  return prefix_len == 0 ? 0 : UINT32_MAX << (32 - prefix_len);
}

static bool find_overlap(int ifindex, uint32_t address, uint8_t prefix_len, void *arg)
{
  overlap_check *check = arg;
  uint8_t shorter = prefix_len < check->prefix_len ? prefix_len : check->prefix_len;
  uint32_t mask = prefix_mask(shorter);
  if (ifindex == check->bridge_ifindex || (address & mask) != (check->subnet & mask)) {
    return true;
  }
  check->ifindex = ifindex;
  check->address = address;
  check->address_prefix_len = prefix_len;
  return false;
}

int cf_netlx_check_subnet_free(struct nl_sock *sock, const cf_net_backend *backend, cf_err **err)
{
  overlap_check check = {.subnet = backend->network.subnet,
                         .prefix_len = backend->network.prefix_len};
  if (cf_netlx_link_find(sock, backend->bridge, &check.bridge_ifindex, NULL, NULL, err) < 0 ||
      for_each_ipv4_address(sock, find_overlap, &check, err) < 0) {
    return -1;
  }
  if (check.ifindex == 0) {
    return 0;
  }
  char subnet[16];
  char address[16];
  char ifname[IFNAMSIZ] = "?";
  cf_nft_format_ip(check.subnet, subnet);
  cf_nft_format_ip(check.address, address);
  struct rtnl_link *link = NULL;
  if (rtnl_link_get_kernel(sock, check.ifindex, NULL, &link) == 0) {
    snprintf(ifname, sizeof(ifname), "%s", rtnl_link_get_name(link));
    rtnl_link_put(link);
  }
  return cf_err_set(err, CF_E_EXISTS,
                    "subnet %s/%u overlaps address %s/%u of interface %s: choose another subnet",
                    subnet, check.prefix_len, address, check.address_prefix_len, ifname);
}

int cf_netlx_default_mtu(struct nl_sock *sock, unsigned *mtu, cf_err **err)
{
  struct nl_cache *cache = NULL;
  int rc = rtnl_route_alloc_cache(sock, AF_INET, 0, &cache);
  if (rc < 0) {
    return nl_fail(err, rc, "list routes");
  }
  int ifindex = 0;
  for (struct nl_object *o = nl_cache_get_first(cache); o != NULL; o = nl_cache_get_next(o)) {
    struct rtnl_route *route = (struct rtnl_route *)o;
    struct nl_addr *dst = rtnl_route_get_dst(route);
    if (rtnl_route_get_table(route) == RT_TABLE_MAIN && dst != NULL &&
        nl_addr_get_prefixlen(dst) == 0 && rtnl_route_get_nnexthops(route) > 0) {
      ifindex = rtnl_route_nh_get_ifindex(rtnl_route_nexthop_n(route, 0));
      break;
    }
  }
  nl_cache_free(cache);

  *mtu = DEFAULT_MTU;
  struct rtnl_link *link = NULL;
  if (ifindex > 0 && rtnl_link_get_kernel(sock, ifindex, NULL, &link) == 0) {
    *mtu = rtnl_link_get_mtu(link);
    rtnl_link_put(link);
  }
  return 0;
}

int cf_netlx_veth_create(struct nl_sock *sock, const cf_netlx_names *names, const char *alias,
                         int bridge_ifindex, int netns_fd, unsigned mtu, cf_err **err)
{
  struct rtnl_link *link = rtnl_link_veth_alloc();
  if (link == NULL) {
    return cf_err_set(err, CF_E_SYSTEM, "allocate veth %s", names->host_ifname);
  }
  rtnl_link_set_name(link, names->host_ifname);
  rtnl_link_set_master(link, bridge_ifindex);
  rtnl_link_set_mtu(link, mtu);
  struct rtnl_link *peer = rtnl_link_veth_get_peer(link);
  rtnl_link_set_name(peer, CF_NETLX_CONTAINER_IFNAME);
  rtnl_link_set_ns_fd(peer, netns_fd);
  rtnl_link_set_mtu(peer, mtu);
  rtnl_link_put(peer);
  int rc = rtnl_link_add(sock, link, NLM_F_CREATE | NLM_F_EXCL);
  rtnl_link_veth_release(link);
  if (rc < 0) {
    return nl_fail(err, rc, "create veth pair %s / " CF_NETLX_CONTAINER_IFNAME, names->host_ifname);
  }
  /* The alias is set by a change afterwards, through the kernel's link
   * change path that applies IFLA_IFALIAS. */
  if (set_alias(sock, names->host_ifname, alias, err) < 0) {
    cf_netlx_link_delete(sock, names->host_ifname, NULL);
    return -1;
  }
  return 0;
}

int cf_netlx_list_endpoints(struct nl_sock *sock, const char *prefix, char ***handles,
                            size_t *count, cf_err **err)
{
  struct nl_cache *cache = NULL;
  int rc = rtnl_link_alloc_cache(sock, AF_UNSPEC, &cache);
  if (rc < 0) {
    return nl_fail(err, rc, "list links");
  }
  char **list = NULL;
  size_t n = 0;
  size_t prefix_len = strlen(prefix);
  for (struct nl_object *o = nl_cache_get_first(cache); o != NULL; o = nl_cache_get_next(o)) {
    struct rtnl_link *link = (struct rtnl_link *)o;
    const char *alias = rtnl_link_get_ifalias(link);
    if (alias == NULL || strncmp(alias, prefix, prefix_len) != 0 ||
        strncmp(rtnl_link_get_name(link), "cfh", 3) != 0) {
      continue;
    }
    list = cf_xrealloc(list, (n + 1) * sizeof(*list));
    list[n++] = cf_xstrdup(alias + prefix_len);
  }
  nl_cache_free(cache);
  *handles = list;
  *count = n;
  return 0;
}
