/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The container side of an endpoint, configured from inside its network
 * namespace: setns() moves only the calling thread, so a short-lived thread
 * enters the namespace, opens its own netlink socket there and configures
 * lo and eth0 (address, up, default route, bandwidth limit). Also the tbf
 * qdisc both veth ends get for a bandwidth limit.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/pkt_sched.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

#include <netlink/addr.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/qdisc/tbf.h>
#include <netlink/route/route.h>
#include <netlink/route/tc.h>

#include "base/mem.h"
#include "network/linux/netlinux.h"

int cf_netlx_tbf_set(struct nl_sock *sock, const char *ifname, uint64_t rate, uint64_t burst,
                     unsigned mtu, cf_err **err)
{
  int ifindex = 0;
  if (cf_netlx_link_find(sock, ifname, &ifindex, NULL, NULL, err) < 0) {
    return -1;
  }
  if (ifindex == 0) {
    return cf_err_set(err, CF_E_NOT_FOUND, "set a bandwidth limit on %s: no such link", ifname);
  }
  /* Queue up to 50 ms of traffic at the rate on top of the bucket. */
  uint64_t limit = burst + rate / 20;
  if (rate > INT_MAX || burst > INT_MAX || limit > INT_MAX) {
    return cf_err_set(err, CF_E_INVALID,
                      "bandwidth rate %llu or burst %llu bytes is above the tbf maximum of %d",
                      (unsigned long long)rate, (unsigned long long)burst, INT_MAX);
  }
  struct rtnl_qdisc *qdisc = rtnl_qdisc_alloc();
  rtnl_tc_set_ifindex(TC_CAST(qdisc), ifindex);
  rtnl_tc_set_parent(TC_CAST(qdisc), TC_H_ROOT);
  rtnl_tc_set_handle(TC_CAST(qdisc), TC_HANDLE(1, 0));
  rtnl_tc_set_mtu(TC_CAST(qdisc), mtu);
  int rc = rtnl_tc_set_kind(TC_CAST(qdisc), "tbf");
  if (rc == 0) {
    rtnl_qdisc_tbf_set_limit(qdisc, (int)limit);
    rtnl_qdisc_tbf_set_rate(qdisc, (int)rate, (int)burst, 0);
    rc = rtnl_qdisc_add(sock, qdisc, NLM_F_CREATE | NLM_F_REPLACE);
  }
  rtnl_qdisc_put(qdisc);
  if (rc < 0) {
    return cf_err_set(err, CF_E_SYSTEM, "add a tbf qdisc to %s (rate %llu bytes/s): %s", ifname,
                      (unsigned long long)rate, nl_geterror(rc));
  }
  return 0;
}

static int add_default_route(struct nl_sock *sock, int ifindex, uint32_t gateway, cf_err **err)
{
  uint32_t zero = 0;
  uint32_t be = htonl(gateway);
  struct nl_addr *dst = nl_addr_build(AF_INET, &zero, sizeof(zero));
  struct nl_addr *via = nl_addr_build(AF_INET, &be, sizeof(be));
  struct rtnl_route *route = rtnl_route_alloc();
  struct rtnl_nexthop *nexthop = rtnl_route_nh_alloc();
  if (dst == NULL || via == NULL || route == NULL || nexthop == NULL) {
    abort(); /* libnl fails here only on allocation */
  }
  nl_addr_set_prefixlen(dst, 0);
  rtnl_route_set_family(route, AF_INET);
  rtnl_route_set_dst(route, dst);
  rtnl_route_nh_set_ifindex(nexthop, ifindex);
  rtnl_route_nh_set_gateway(nexthop, via);
  rtnl_route_add_nexthop(route, nexthop); /* the route owns the nexthop now */
  int rc = rtnl_route_add(sock, route, NLM_F_CREATE | NLM_F_EXCL);
  rtnl_route_put(route);
  nl_addr_put(via);
  nl_addr_put(dst);
  if (rc < 0) {
    char text[16];
    cf_nft_format_ip(gateway, text);
    return cf_err_set(err, CF_E_SYSTEM, "add the default route via %s: %s", text, nl_geterror(rc));
  }
  return 0;
}

static int configure_in_namespace(struct nl_sock *sock, const cf_netlx_container_config *config,
                                  cf_err **err)
{
  const char *eth = CF_NETLX_CONTAINER_IFNAME;
  int ifindex = 0;
  if (cf_netlx_link_up(sock, "lo", err) < 0 ||
      cf_netlx_link_find(sock, eth, &ifindex, NULL, NULL, err) < 0) {
    return -1;
  }
  if (ifindex == 0) {
    return cf_err_set(err, CF_E_NOT_FOUND, "find %s in the container's namespace", eth);
  }
  if (cf_netlx_address_add(sock, ifindex, config->address, config->prefix_len, err) < 0 ||
      cf_netlx_link_up(sock, eth, err) < 0 ||
      add_default_route(sock, ifindex, config->gateway, err) < 0) {
    return -1;
  }
  if (config->bandwidth_rate > 0) {
    return cf_netlx_tbf_set(sock, eth, config->bandwidth_rate, config->bandwidth_burst, config->mtu,
                            err);
  }
  return 0;
}

typedef struct namespace_job {
  int netns_fd;
  const cf_netlx_container_config *config;
  cf_err *err;
  int rc;
} namespace_job;

static void *run_namespace_job(void *arg)
{
  namespace_job *job = arg;
  struct nl_sock *sock = NULL;
  if (setns(job->netns_fd, CLONE_NEWNET) < 0) {
    job->rc = cf_err_sys(&job->err, errno, "enter the container's network namespace");
    return NULL;
  }
  if (cf_netlx_socket(&sock, &job->err) < 0) {
    job->rc = -1;
    return NULL;
  }
  job->rc = configure_in_namespace(sock, job->config, &job->err);
  nl_socket_free(sock);
  return NULL;
}

int cf_netlx_container_configure(int netns_fd, const cf_netlx_container_config *config,
                                 cf_err **err)
{
  namespace_job job = {.netns_fd = netns_fd, .config = config};
  pthread_t thread;
  int rc = pthread_create(&thread, NULL, run_namespace_job, &job);
  if (rc != 0) {
    return cf_err_sys(err, rc, "start a thread to configure the container's namespace");
  }
  pthread_join(thread, NULL);
  if (job.rc < 0) {
    if (err != NULL) {
      cf_err_free(*err);
      *err = job.err;
    } else {
      cf_err_free(job.err);
    }
    return -1;
  }
  return 0;
}
