/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Linux network backend against the real kernel, entirely inside
 * network namespaces this test makes: a "host" namespace the test process
 * enters and runs the backend in, one namespace per container (each held by
 * a sleeping child that also chroots into its own directory, so
 * /proc/<pid>/root is never the real root), and a "peer" namespace wired to
 * the host by a veth pair, playing a client and server outside the host.
 * No link, address or rule is made in the namespace the test starts in.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/qdisc/tbf.h>
#include <netlink/route/tc.h>
#include <nftables/libnftables.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/mem.h"
#include "base/sha256.h"
#include "network/network.h"

#define SUBNET 0x0ac80000u  /* 10.200.0.0/24 */
#define GATEWAY 0x0ac80001u /* 10.200.0.1 */
#define HOST_PEER_IP "192.168.77.1"
#define PEER_IP "192.168.77.2"
#define PEER_ADDRESS 0xc0a84d02u
#define NET_NAME "cfnet0"
#define TABLE "cfwin-" NET_NAME
#define CONCURRENT_ENDPOINTS 56
#define WORKER_THREADS 8

static char *work_dir;
static pid_t host_holder;
static pid_t peer_holder;
static cf_net_network network = {
    .name = NET_NAME, .subnet = SUBNET, .prefix_len = 24, .gateway = GATEWAY, .mtu = 1500};
static cf_net_backend *backend;

/* --- namespaces and processes --- */

/* Starts a child that unshares a network namespace (and, with a root
 * directory, chroots into it) and sleeps until killed. */
static pid_t start_holder(const char *root)
{
  int ready[2];
  if (pipe(ready) < 0) {
    abort();
  }
  pid_t pid = fork();
  if (pid == 0) {
    close(ready[0]);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (unshare(CLONE_NEWNET) < 0 || (root != NULL && chroot(root) < 0) || chdir("/") < 0) {
      _exit(1);
    }
    if (write(ready[1], "x", 1) != 1) {
      _exit(1);
    }
    for (;;) {
      pause();
    }
  }
  close(ready[1]);
  char byte;
  ssize_t n = read(ready[0], &byte, 1);
  close(ready[0]);
  assert_int_equal(n, 1);
  return pid;
}

static void stop_process(pid_t pid)
{
  if (pid > 0) {
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
  }
}

typedef struct container {
  pid_t pid;
  char *root;
  char *handle;
  uint32_t address;
} container;

static container container_start(const char *handle, uint32_t address)
{
  container c = {.handle = cf_xstrdup(handle), .address = address};
  c.root = cf_xasprintf("%s/%s", work_dir, handle);
  assert_int_equal(mkdir(c.root, 0755), 0);
  c.pid = start_holder(c.root);
  return c;
}

static void container_stop(container *c)
{
  stop_process(c->pid);
  cf_err *err = NULL;
  cf_rm_rf(c->root, &err);
  cf_err_clear(&err);
  free(c->root);
  free(c->handle);
  memset(c, 0, sizeof(*c));
}

static int open_netns(pid_t pid)
{
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
  return open(path, O_RDONLY | O_CLOEXEC);
}

static ino_t netns_inode(const char *path)
{
  struct stat st;
  return stat(path, &st) == 0 ? st.st_ino : 0;
}

/* Runs fn(arg) in a child process inside the network namespace of pid and
 * returns its exit status (fn's return value), or -1 when it died. */
typedef int (*ns_fn)(void *arg);

static pid_t spawn_in_ns(pid_t pid, ns_fn fn, void *arg)
{
  pid_t child = fork();
  if (child == 0) {
    int fd = open_netns(pid);
    if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
      _exit(120);
    }
    _exit(fn(arg));
  }
  return child;
}

static int wait_status(pid_t child)
{
  int status = 0;
  if (waitpid(child, &status, 0) < 0 || !WIFEXITED(status)) {
    return -1;
  }
  return WEXITSTATUS(status);
}

static int run_in_ns(pid_t pid, ns_fn fn, void *arg)
{
  return wait_status(spawn_in_ns(pid, fn, arg));
}

/* --- sockets --- */

static void set_timeout(int fd, int seconds)
{
  struct timeval tv = {.tv_sec = seconds};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static struct sockaddr_in socket_address(const char *ip, uint16_t port)
{
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
  inet_pton(AF_INET, ip, &sa.sin_addr);
  return sa;
}

typedef struct server_arg {
  int type; /* SOCK_STREAM or SOCK_DGRAM */
  uint16_t port;
  const char *reply;
  int ready_fd; /* written once listening */
} server_arg;

/* Serves one TCP connection or one UDP datagram with the reply. */
static int serve_once(void *p)
{
  server_arg *arg = p;
  int fd = socket(AF_INET, arg->type, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  struct sockaddr_in sa = socket_address("0.0.0.0", arg->port);
  if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
      (arg->type == SOCK_STREAM && listen(fd, 8) < 0)) {
    return 2;
  }
  if (write(arg->ready_fd, "x", 1) != 1) {
    return 3;
  }
  set_timeout(fd, 10);
  if (arg->type == SOCK_STREAM) {
    int conn = accept(fd, NULL, NULL);
    if (conn < 0) {
      return 4;
    }
    return write(conn, arg->reply, strlen(arg->reply)) > 0 ? 0 : 5;
  }
  char buf[64];
  struct sockaddr_in from;
  socklen_t len = sizeof(from);
  if (recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len) < 0) {
    return 4;
  }
  return sendto(fd, arg->reply, strlen(arg->reply), 0, (struct sockaddr *)&from, len) > 0 ? 0 : 5;
}

typedef struct server {
  pid_t pid;
} server;

static server server_start(pid_t ns_pid, int type, uint16_t port, const char *reply)
{
  int ready[2];
  assert_int_equal(pipe(ready), 0);
  server_arg arg = {.type = type, .port = port, .reply = reply, .ready_fd = ready[1]};
  server s = {.pid = spawn_in_ns(ns_pid, serve_once, &arg)};
  close(ready[1]);
  char byte;
  assert_int_equal(read(ready[0], &byte, 1), 1);
  close(ready[0]);
  return s;
}

static void server_stop(server *s)
{
  stop_process(s->pid);
}

typedef struct client_arg {
  int type;
  const char *ip;
  uint16_t port;
  const char *expect; /* reply expected; NULL: only connect */
  int seconds;
} client_arg;

/* Returns 0 when the exchange succeeded, 1 when it failed or timed out. */
static int client_once(void *p)
{
  client_arg *arg = p;
  int fd = socket(AF_INET, arg->type, 0);
  set_timeout(fd, arg->seconds);
  struct sockaddr_in sa = socket_address(arg->ip, arg->port);
  if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
    return 1;
  }
  if (arg->type == SOCK_DGRAM && send(fd, "ping", 4, 0) != 4) {
    return 1;
  }
  if (arg->expect == NULL) {
    return 0;
  }
  char buf[64] = {0};
  ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
  return n > 0 && strcmp(buf, arg->expect) == 0 ? 0 : 1;
}

/* Connects over TCP from the namespace of from_pid; true when it worked. */
static bool tcp_reaches(pid_t from_pid, const char *ip, uint16_t port, int seconds)
{
  client_arg arg = {.type = SOCK_STREAM, .ip = ip, .port = port, .seconds = seconds};
  return run_in_ns(from_pid, client_once, &arg) == 0;
}

typedef struct ping_arg {
  const char *ip;
  int seconds;
} ping_arg;

static uint16_t icmp_checksum(const void *data, size_t len)
{
  const uint16_t *words = data;
  uint32_t sum = 0;
  for (size_t i = 0; i < len / 2; i++) {
    sum += words[i];
  }
  while (sum >> 16) {
    sum = (sum & 0xffff) + (sum >> 16);
  }
  return (uint16_t)~sum;
}

/* Sends one ICMP echo request through a raw socket and waits for the reply. */
static int ping_once(void *p)
{
  ping_arg *arg = p;
  int fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
  if (fd < 0) {
    return 2;
  }
  struct icmphdr request = {.type = ICMP_ECHO};
  request.un.echo.id = htons(0x4321);
  request.un.echo.sequence = htons(1);
  request.checksum = icmp_checksum(&request, sizeof(request));
  struct sockaddr_in sa = socket_address(arg->ip, 0);
  if (sendto(fd, &request, sizeof(request), 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
    return 1;
  }
  set_timeout(fd, arg->seconds);
  unsigned char buf[256];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n < 0) {
      return 1;
    }
    size_t header = (size_t)(buf[0] & 0x0f) * 4;
    struct icmphdr *reply = (struct icmphdr *)(buf + header);
    if ((size_t)n >= header + sizeof(*reply) && reply->type == ICMP_ECHOREPLY &&
        reply->un.echo.id == htons(0x4321)) {
      return 0;
    }
  }
}

static bool ping_reaches(pid_t from_pid, const char *ip, int seconds)
{
  ping_arg arg = {.ip = ip, .seconds = seconds};
  return run_in_ns(from_pid, ping_once, &arg) == 0;
}

/* --- inspection through ioctl, /proc and libnftables, not the backend --- */

static bool interface_exists(const char *name)
{
  return if_nametoindex(name) != 0;
}

typedef struct link_facts {
  uint32_t address;
  int mtu;
  bool default_route_via_gateway;
} link_facts;

static int read_eth0_facts(void *p)
{
  link_facts *facts = p;
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct ifreq ifr = {0};
  snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "eth0");
  if (ioctl(fd, SIOCGIFADDR, &ifr) < 0) {
    return 1;
  }
  facts->address = ntohl(((struct sockaddr_in *)&ifr.ifr_addr)->sin_addr.s_addr);
  if (ioctl(fd, SIOCGIFMTU, &ifr) < 0) {
    return 1;
  }
  facts->mtu = ifr.ifr_mtu;
  FILE *routes = fopen("/proc/thread-self/net/route", "r");
  char line[256];
  while (routes != NULL && fgets(line, sizeof(line), routes) != NULL) {
    char ifname[32];
    unsigned dest = 1;
    unsigned gateway = 0;
    if (sscanf(line, "%31s %x %x", ifname, &dest, &gateway) == 3 && strcmp(ifname, "eth0") == 0 &&
        dest == 0 && ntohl(gateway) == GATEWAY) {
      facts->default_route_via_gateway = true;
    }
  }
  if (routes != NULL) {
    fclose(routes);
  }
  return 0;
}

/* Reads the facts in a child and passes them back through a pipe. */
static link_facts eth0_facts(pid_t pid)
{
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  pid_t child = fork();
  if (child == 0) {
    link_facts facts = {0};
    int fd = open_netns(pid);
    if (fd < 0 || setns(fd, CLONE_NEWNET) < 0 || read_eth0_facts(&facts) != 0) {
      _exit(1);
    }
    _exit(write(fds[1], &facts, sizeof(facts)) == sizeof(facts) ? 0 : 1);
  }
  close(fds[1]);
  link_facts facts = {0};
  assert_int_equal(read(fds[0], &facts, sizeof(facts)), sizeof(facts));
  close(fds[0]);
  assert_int_equal(wait_status(child), 0);
  return facts;
}

/* The text listing of the backend's table, or "" when it is missing. */
static char *table_listing(void)
{
  struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);
  nft_ctx_buffer_output(nft);
  nft_ctx_buffer_error(nft);
  int rc = nft_run_cmd_from_buffer(nft, "list table ip " TABLE "\n");
  char *text = cf_xstrdup(rc == 0 ? nft_ctx_get_output_buffer(nft) : "");
  nft_ctx_free(nft);
  return text;
}

static void endpoint_id(const char *handle, char id[13])
{
  char digest[CF_DIGEST_LEN + 1];
  cf_sha256_digest(handle, strlen(handle), digest);
  memcpy(id, digest + 7, 12);
  id[12] = '\0';
}

static void host_ifname(const char *handle, char name[IFNAMSIZ])
{
  char id[13];
  endpoint_id(handle, id);
  snprintf(name, IFNAMSIZ, "cfh%s", id);
}

/* True when the table still names the endpoint's chains anywhere. */
static bool table_mentions(const char *handle)
{
  char id[13];
  endpoint_id(handle, id);
  cf_autofree char *text = table_listing();
  return strstr(text, id) != NULL;
}

/* --- test-made links: the peer namespace's veth pair --- */

static void check_nl(int rc, const char *what)
{
  if (rc < 0) {
    fail_msg("%s: %s", what, nl_geterror(rc));
  }
}

static void add_ipv4(struct nl_sock *sock, const char *ifname, const char *cidr)
{
  struct rtnl_link *link = NULL;
  check_nl(rtnl_link_get_kernel(sock, 0, ifname, &link), ifname);
  struct rtnl_addr *addr = rtnl_addr_alloc();
  struct nl_addr *local = NULL;
  check_nl(nl_addr_parse(cidr, AF_INET, &local), cidr);
  rtnl_addr_set_ifindex(addr, rtnl_link_get_ifindex(link));
  check_nl(rtnl_addr_set_local(addr, local), cidr);
  check_nl(rtnl_addr_add(sock, addr, 0), cidr);
  struct rtnl_link *change = rtnl_link_alloc();
  rtnl_link_set_flags(change, IFF_UP);
  check_nl(rtnl_link_change(sock, link, change, 0), ifname);
  rtnl_link_put(change);
  nl_addr_put(local);
  rtnl_addr_put(addr);
  rtnl_link_put(link);
}

static int configure_peer_side(void *arg)
{
  (void)arg;
  struct nl_sock *sock = nl_socket_alloc();
  if (nl_connect(sock, NETLINK_ROUTE) < 0) {
    return 1;
  }
  add_ipv4(sock, "peer0", PEER_IP "/24");
  struct rtnl_link *lo = NULL;
  struct rtnl_link *change = rtnl_link_alloc();
  rtnl_link_set_flags(change, IFF_UP);
  if (rtnl_link_get_kernel(sock, 0, "lo", &lo) < 0 || rtnl_link_change(sock, lo, change, 0) < 0) {
    return 1;
  }
  nl_socket_free(sock);
  return 0;
}

/* Wires the host namespace (where this process is) to the peer's. */
static void wire_peer(void)
{
  struct nl_sock *sock = nl_socket_alloc();
  check_nl(nl_connect(sock, NETLINK_ROUTE), "connect");
  struct rtnl_link *link = rtnl_link_veth_alloc();
  rtnl_link_set_name(link, "hostpeer0");
  struct rtnl_link *peer = rtnl_link_veth_get_peer(link);
  rtnl_link_set_name(peer, "peer0");
  int fd = open_netns(peer_holder);
  assert_true(fd >= 0);
  rtnl_link_set_ns_fd(peer, fd);
  rtnl_link_put(peer);
  check_nl(rtnl_link_add(sock, link, NLM_F_CREATE | NLM_F_EXCL), "create hostpeer0");
  rtnl_link_veth_release(link);
  close(fd);
  add_ipv4(sock, "hostpeer0", HOST_PEER_IP "/24");
  nl_socket_free(sock);
  assert_int_equal(run_in_ns(peer_holder, configure_peer_side, NULL), 0);
}

/* Counts the tbf qdiscs of a link in the calling thread's namespace and
 * returns the rate of the last one. */
static int tbf_rate(const char *ifname, int *count)
{
  struct nl_sock *sock = nl_socket_alloc();
  nl_connect(sock, NETLINK_ROUTE);
  struct nl_cache *cache = NULL;
  check_nl(rtnl_qdisc_alloc_cache(sock, &cache), "list qdiscs");
  int ifindex = (int)if_nametoindex(ifname);
  int rate = -1;
  *count = 0;
  for (struct nl_object *o = nl_cache_get_first(cache); o != NULL; o = nl_cache_get_next(o)) {
    struct rtnl_qdisc *qdisc = (struct rtnl_qdisc *)o;
    const char *kind = rtnl_tc_get_kind(TC_CAST(qdisc));
    if (rtnl_tc_get_ifindex(TC_CAST(qdisc)) == ifindex && kind != NULL &&
        strcmp(kind, "tbf") == 0) {
      rate = rtnl_qdisc_tbf_get_rate(qdisc);
      (*count)++;
    }
  }
  nl_cache_free(cache);
  nl_socket_free(sock);
  return rate;
}

static int container_tbf_rate(void *arg)
{
  int count = 0;
  int rate = tbf_rate("eth0", &count);
  return count == 1 && rate == *(int *)arg ? 0 : 1;
}

/* --- helpers for endpoints --- */

static void create_endpoint(const container *c, uint32_t mtu, uint64_t rate)
{
  cf_net_endpoint endpoint = {.handle = c->handle,
                              .pid = c->pid,
                              .address = c->address,
                              .mtu = mtu,
                              .bandwidth_rate = rate};
  cf_err *err = NULL;
  int rc = cf_net_endpoint_create(backend, &endpoint, &err);
  if (rc < 0) {
    fail_msg("endpoint create %s: %s", c->handle, err->message);
  }
}

static void delete_endpoint(const container *c)
{
  cf_err *err = NULL;
  if (cf_net_endpoint_delete(backend, c->handle, &err) < 0) {
    fail_msg("endpoint delete %s: %s", c->handle, err->message);
  }
}

static int set_rules(const container *c, const cf_net_mapping *mappings, size_t mapping_count,
                     const cf_net_rule *rules, size_t rule_count, cf_err **err)
{
  return cf_net_endpoint_set_rules(backend, c->handle, c->address, mappings, mapping_count, rules,
                                   rule_count, err);
}

static void address_text(uint32_t address, char out[16])
{
  struct in_addr in = {.s_addr = htonl(address)};
  inet_ntop(AF_INET, &in, out, 16);
}

/* --- tests --- */

static void test_network_create_is_idempotent(void **state)
{
  (void)state;
  cf_err *err = NULL;
  assert_int_equal(cf_net_network_create(backend, &err), 0);
  assert_int_equal(cf_net_network_create(backend, &err), 0);
  assert_null(err);
  assert_true(interface_exists(NET_NAME));
  cf_autofree char *listing = table_listing();
  assert_non_null(strstr(listing, "masquerade"));
}

static void test_network_conflicting_subnet(void **state)
{
  (void)state;
  cf_net_network other = network;
  other.subnet = 0x0ac90000u;
  other.gateway = 0x0ac90001u;
  cf_net_backend *b = NULL;
  cf_err *err = NULL;
  assert_int_equal(cf_net_backend_open(&other, &b, &err), 0);
  assert_int_equal(cf_net_network_create(b, &err), -1);
  assert_int_equal(err->code, CF_E_EXISTS);
  assert_non_null(strstr(err->message, "10.200.0.0/24"));
  assert_non_null(strstr(err->message, "10.201.0.0/24"));
  cf_err_clear(&err);
  cf_net_backend_close(b);

  /* Another name whose subnet overlaps the existing bridge's. */
  other = network;
  other.name = "cfnet1";
  other.subnet = 0x0ac80000u;
  other.prefix_len = 16;
  assert_int_equal(cf_net_backend_open(&other, &b, &err), 0);
  assert_int_equal(cf_net_network_create(b, &err), -1);
  assert_int_equal(err->code, CF_E_EXISTS);
  assert_non_null(strstr(err->message, "overlaps"));
  cf_err_clear(&err);
  cf_net_backend_close(b);
  assert_false(interface_exists("cfnet1"));
}

static void test_backend_rejects_long_name(void **state)
{
  (void)state;
  cf_net_network other = network;
  other.name = "a-name-of-16-chr";
  cf_net_backend *b = NULL;
  cf_err *err = NULL;
  assert_int_equal(cf_net_backend_open(&other, &b, &err), -1);
  assert_int_equal(err->code, CF_E_INVALID);
  cf_err_clear(&err);
}

static void test_endpoint_create_configures_container(void **state)
{
  (void)state;
  container c = container_start("ep-config", SUBNET + 10);
  create_endpoint(&c, 1400, 0);
  link_facts facts = eth0_facts(c.pid);
  assert_int_equal(facts.address, SUBNET + 10);
  assert_int_equal(facts.mtu, 1400);
  assert_true(facts.default_route_via_gateway);
  char ifname[IFNAMSIZ];
  host_ifname(c.handle, ifname);
  assert_true(interface_exists(ifname));

  cf_err *err = NULL;
  cf_net_endpoint again = {.handle = c.handle, .pid = c.pid, .address = SUBNET + 11};
  assert_int_equal(cf_net_endpoint_create(backend, &again, &err), -1);
  assert_int_equal(err->code, CF_E_EXISTS);
  cf_err_clear(&err);

  delete_endpoint(&c);
  container_stop(&c);
}

static void test_endpoint_writes_resolv_conf(void **state)
{
  (void)state;
  container c = container_start("ep-dns", SUBNET + 12);
  uint32_t servers[] = {GATEWAY, 0x08080808u};
  const char *domains[] = {"a.example", "b.example"};
  cf_net_endpoint endpoint = {.handle = c.handle,
                              .pid = c.pid,
                              .address = c.address,
                              .dns_servers = servers,
                              .dns_server_count = 2,
                              .search_domains = domains,
                              .search_domain_count = 2};
  cf_err *err = NULL;
  assert_int_equal(cf_net_endpoint_create(backend, &endpoint, &err), 0);
  cf_autofree char *path = cf_xasprintf("%s/etc/resolv.conf", c.root);
  cf_buf text;
  cf_buf_init(&text, 4096);
  assert_int_equal(cf_read_file(path, &text, &err), 0);
  assert_string_equal(text.data, "nameserver 10.200.0.1\nnameserver 8.8.8.8\n"
                                 "search a.example b.example\n");
  cf_buf_free(&text);
  delete_endpoint(&c);
  container_stop(&c);
}

static void test_endpoint_create_undoes_on_failure(void **state)
{
  (void)state;
  container c = container_start("ep-undo", SUBNET + 13);
  /* A symlinked etc directory pointing outside the root resolves inside it,
   * where nothing is; so resolv.conf fails and the endpoint is undone. */
  cf_autofree char *etc = cf_xasprintf("%s/etc", c.root);
  assert_int_equal(symlink("/nonexistent/dir", etc), 0);
  uint32_t servers[] = {GATEWAY};
  cf_net_endpoint endpoint = {.handle = c.handle,
                              .pid = c.pid,
                              .address = c.address,
                              .dns_servers = servers,
                              .dns_server_count = 1};
  cf_err *err = NULL;
  assert_int_equal(cf_net_endpoint_create(backend, &endpoint, &err), -1);
  assert_non_null(strstr(err->message, "resolv.conf"));
  cf_err_clear(&err);
  char ifname[IFNAMSIZ];
  host_ifname(c.handle, ifname);
  assert_false(interface_exists(ifname));
  assert_false(table_mentions(c.handle));
  assert_int_equal(access("/nonexistent/dir", F_OK), -1);
  container_stop(&c);
}

static void test_netin_tcp_and_udp(void **state)
{
  (void)state;
  container c = container_start("ep-netin", SUBNET + 20);
  create_endpoint(&c, 0, 0);
  cf_net_mapping mappings[] = {{.host_port = 40000, .container_port = 8080}};
  cf_err *err = NULL;
  assert_int_equal(set_rules(&c, mappings, 1, NULL, 0, &err), 0);

  server tcp = server_start(c.pid, SOCK_STREAM, 8080, "hello-tcp");
  client_arg tcp_client = {
      .type = SOCK_STREAM, .ip = HOST_PEER_IP, .port = 40000, .expect = "hello-tcp", .seconds = 5};
  assert_int_equal(run_in_ns(peer_holder, client_once, &tcp_client), 0);
  assert_int_equal(wait_status(tcp.pid), 0);

  server udp = server_start(c.pid, SOCK_DGRAM, 8080, "hello-udp");
  client_arg udp_client = {
      .type = SOCK_DGRAM, .ip = HOST_PEER_IP, .port = 40000, .expect = "hello-udp", .seconds = 5};
  assert_int_equal(run_in_ns(peer_holder, client_once, &udp_client), 0);
  assert_int_equal(wait_status(udp.pid), 0);

  /* An unmapped host port does not reach the container. */
  server other = server_start(c.pid, SOCK_STREAM, 8081, "no");
  assert_false(tcp_reaches(peer_holder, HOST_PEER_IP, 8081, 1));
  server_stop(&other);

  delete_endpoint(&c);
  container_stop(&c);
}

static void test_netout_default_deny_then_exact_allow(void **state)
{
  (void)state;
  container c = container_start("ep-netout", SUBNET + 21);
  container d = container_start("ep-other", SUBNET + 22);
  create_endpoint(&c, 0, 0);
  create_endpoint(&d, 0, 0);

  server s = server_start(peer_holder, SOCK_STREAM, 9090, "x");
  assert_false(tcp_reaches(c.pid, PEER_IP, 9090, 1));

  cf_net_range networks[] = {{PEER_ADDRESS, PEER_ADDRESS}};
  cf_port_range ports[] = {{9090, 9090}};
  cf_net_rule rule = {.protocol = CF_NET_PROTO_TCP,
                      .networks = networks,
                      .network_count = 1,
                      .ports = ports,
                      .port_count = 1,
                      .log = true};
  cf_err *err = NULL;
  assert_int_equal(set_rules(&c, NULL, 0, &rule, 1, &err), 0);
  assert_true(tcp_reaches(c.pid, PEER_IP, 9090, 5));
  assert_int_equal(wait_status(s.pid), 0);

  /* Another port, and another container without rules, stay denied. */
  server s2 = server_start(peer_holder, SOCK_STREAM, 9091, "x");
  assert_false(tcp_reaches(c.pid, PEER_IP, 9091, 1));
  server_stop(&s2);
  server s3 = server_start(peer_holder, SOCK_STREAM, 9090, "x");
  assert_false(tcp_reaches(d.pid, PEER_IP, 9090, 1));
  /* The host itself is behind the same default deny. */
  assert_false(tcp_reaches(d.pid, "10.200.0.1", 22, 1));
  server_stop(&s3);

  delete_endpoint(&c);
  delete_endpoint(&d);
  container_stop(&c);
  container_stop(&d);
}

static void test_netout_icmp_by_type(void **state)
{
  (void)state;
  container c = container_start("ep-icmp", SUBNET + 23);
  create_endpoint(&c, 0, 0);
  assert_false(ping_reaches(c.pid, PEER_IP, 1));

  cf_net_rule wrong_type = {.protocol = CF_NET_PROTO_ICMP, .has_icmp = true, .icmp_type = 13};
  cf_err *err = NULL;
  assert_int_equal(set_rules(&c, NULL, 0, &wrong_type, 1, &err), 0);
  assert_false(ping_reaches(c.pid, PEER_IP, 1));

  cf_net_rule echo = {.protocol = CF_NET_PROTO_ICMP,
                      .has_icmp = true,
                      .icmp_type = ICMP_ECHO,
                      .has_icmp_code = true,
                      .icmp_code = 0};
  assert_int_equal(set_rules(&c, NULL, 0, &echo, 1, &err), 0);
  assert_true(ping_reaches(c.pid, PEER_IP, 5));
  /* TCP is still denied. */
  assert_false(tcp_reaches(c.pid, PEER_IP, 9092, 1));

  delete_endpoint(&c);
  container_stop(&c);
}

static void test_set_rules_replaces_atomically(void **state)
{
  (void)state;
  container a = container_start("ep-atomic-a", SUBNET + 30);
  container b = container_start("ep-atomic-b", SUBNET + 31);
  create_endpoint(&a, 0, 0);
  create_endpoint(&b, 0, 0);
  cf_net_mapping a_map[] = {{40010, 8080}};
  cf_net_mapping b_map[] = {{40011, 8080}};
  cf_net_range peer[] = {{PEER_ADDRESS, PEER_ADDRESS}};
  cf_port_range port_9093[] = {{9093, 9093}};
  cf_net_rule allow_9093 = {.protocol = CF_NET_PROTO_TCP,
                            .networks = peer,
                            .network_count = 1,
                            .ports = port_9093,
                            .port_count = 1};
  cf_err *err = NULL;
  assert_int_equal(set_rules(&a, a_map, 1, &allow_9093, 1, &err), 0);
  assert_int_equal(set_rules(&b, b_map, 1, NULL, 0, &err), 0);

  /* b's host port in a's new rules fails as a whole; a keeps its rules. */
  cf_net_mapping taken[] = {{40012, 8080}, {40011, 8080}};
  assert_int_equal(set_rules(&a, taken, 2, NULL, 0, &err), -1);
  cf_err_clear(&err);
  server s = server_start(peer_holder, SOCK_STREAM, 9093, "x");
  assert_true(tcp_reaches(a.pid, PEER_IP, 9093, 5));
  assert_int_equal(wait_status(s.pid), 0);
  server in = server_start(a.pid, SOCK_STREAM, 8080, "a");
  client_arg to_a = {
      .type = SOCK_STREAM, .ip = HOST_PEER_IP, .port = 40010, .expect = "a", .seconds = 5};
  assert_int_equal(run_in_ns(peer_holder, client_once, &to_a), 0);
  assert_int_equal(wait_status(in.pid), 0);

  /* A valid replacement drops the old mapping and rule. */
  cf_net_mapping moved[] = {{40013, 8080}};
  assert_int_equal(set_rules(&a, moved, 1, NULL, 0, &err), 0);
  server s2 = server_start(peer_holder, SOCK_STREAM, 9093, "x");
  assert_false(tcp_reaches(a.pid, PEER_IP, 9093, 1));
  server_stop(&s2);
  server in2 = server_start(a.pid, SOCK_STREAM, 8080, "a");
  assert_false(tcp_reaches(peer_holder, HOST_PEER_IP, 40010, 1));
  server_stop(&in2);
  server in3 = server_start(a.pid, SOCK_STREAM, 8080, "a");
  to_a.port = 40013;
  assert_int_equal(run_in_ns(peer_holder, client_once, &to_a), 0);
  assert_int_equal(wait_status(in3.pid), 0);

  /* An invalid rule changes nothing either. */
  cf_net_rule bad = {.protocol = 7};
  assert_int_equal(set_rules(&a, NULL, 0, &bad, 1, &err), -1);
  assert_int_equal(err->code, CF_E_INVALID);
  cf_err_clear(&err);

  delete_endpoint(&a);
  delete_endpoint(&b);
  container_stop(&a);
  container_stop(&b);
}

static void test_bandwidth_adds_tbf_on_both_ends(void **state)
{
  (void)state;
  container c = container_start("ep-tbf", SUBNET + 40);
  int rate = 125000;
  create_endpoint(&c, 0, (uint64_t)rate);
  char ifname[IFNAMSIZ];
  host_ifname(c.handle, ifname);
  int count = 0;
  assert_int_equal(tbf_rate(ifname, &count), rate);
  assert_int_equal(count, 1);
  assert_int_equal(run_in_ns(c.pid, container_tbf_rate, &rate), 0);
  delete_endpoint(&c);
  container_stop(&c);
}

static void test_delete_removes_everything(void **state)
{
  (void)state;
  container c = container_start("ep-delete", SUBNET + 41);
  create_endpoint(&c, 0, 0);
  cf_net_mapping map[] = {{40020, 80}};
  cf_net_rule all = {.protocol = CF_NET_PROTO_ALL};
  cf_err *err = NULL;
  assert_int_equal(set_rules(&c, map, 1, &all, 1, &err), 0);
  char address[16];
  address_text(c.address, address);
  cf_autofree char *before = table_listing();
  assert_non_null(strstr(before, address));
  assert_non_null(strstr(before, "40020"));
  assert_true(table_mentions(c.handle));

  delete_endpoint(&c);
  char ifname[IFNAMSIZ];
  host_ifname(c.handle, ifname);
  assert_false(interface_exists(ifname));
  assert_false(table_mentions(c.handle));
  cf_autofree char *after = table_listing();
  assert_null(strstr(after, address));
  assert_null(strstr(after, "40020"));

  /* Deleting again, and deleting an unknown handle, succeed. */
  delete_endpoint(&c);
  assert_int_equal(cf_net_endpoint_delete(backend, "never-created", &err), 0);
  container_stop(&c);
}

static void wait_interface_gone(const char *ifname)
{
  for (int i = 0; i < 200 && interface_exists(ifname); i++) {
    usleep(50 * 1000);
  }
  assert_false(interface_exists(ifname));
}

static void test_sweep_removes_orphans(void **state)
{
  (void)state;
  container gone = container_start("ep-sweep-gone", SUBNET + 50);
  container kept = container_start("ep-sweep-kept", SUBNET + 51);
  container dead = container_start("ep-sweep-dead", SUBNET + 52);
  create_endpoint(&gone, 0, 0);
  create_endpoint(&kept, 0, 0);
  create_endpoint(&dead, 0, 0);

  /* dead's namespace goes away with its process, and its veth pair with
   * it; its chains stay behind until the sweep. */
  char dead_if[IFNAMSIZ];
  host_ifname(dead.handle, dead_if);
  stop_process(dead.pid);
  dead.pid = 0;
  wait_interface_gone(dead_if);
  assert_true(table_mentions(dead.handle));

  const char *keep[] = {kept.handle};
  size_t deleted = 0;
  cf_err *err = NULL;
  assert_int_equal(cf_net_endpoint_sweep(backend, keep, 1, &deleted, &err), 0);
  assert_int_equal(deleted, 2);
  char gone_if[IFNAMSIZ];
  char kept_if[IFNAMSIZ];
  host_ifname(gone.handle, gone_if);
  host_ifname(kept.handle, kept_if);
  assert_false(interface_exists(gone_if));
  assert_false(table_mentions(gone.handle));
  assert_false(table_mentions(dead.handle));
  assert_true(interface_exists(kept_if));
  assert_true(table_mentions(kept.handle));

  delete_endpoint(&kept);
  container_stop(&gone);
  container_stop(&kept);
  container_stop(&dead);
}

typedef struct worker {
  container *containers;
  size_t first;
  size_t count;
  int failures;
  char message[256];
} worker;

static void *run_worker(void *arg)
{
  worker *w = arg;
  for (size_t i = w->first; i < w->first + w->count; i++) {
    container *c = &w->containers[i];
    cf_net_endpoint endpoint = {.handle = c->handle, .pid = c->pid, .address = c->address};
    cf_net_mapping map[] = {{(uint16_t)(41000 + i), 80}};
    cf_err *err = NULL;
    if (cf_net_endpoint_create(backend, &endpoint, &err) < 0 ||
        cf_net_endpoint_set_rules(backend, c->handle, c->address, map, 1, NULL, 0, &err) < 0 ||
        cf_net_endpoint_delete(backend, c->handle, &err) < 0) {
      w->failures++;
      snprintf(w->message, sizeof(w->message), "%s: %s", c->handle, err->message);
      cf_err_clear(&err);
    }
  }
  return NULL;
}

static size_t count_endpoint_links(void)
{
  struct if_nameindex *names = if_nameindex();
  size_t count = 0;
  for (struct if_nameindex *n = names; n != NULL && n->if_index != 0; n++) {
    count += strncmp(n->if_name, "cfh", 3) == 0;
  }
  if_freenameindex(names);
  return count;
}

static void test_concurrent_endpoints_leave_nothing(void **state)
{
  (void)state;
  container containers[CONCURRENT_ENDPOINTS];
  for (size_t i = 0; i < CONCURRENT_ENDPOINTS; i++) {
    char handle[32];
    snprintf(handle, sizeof(handle), "ep-many-%zu", i);
    containers[i] = container_start(handle, SUBNET + 100 + (uint32_t)i);
  }
  worker workers[WORKER_THREADS] = {0};
  pthread_t threads[WORKER_THREADS];
  size_t per = CONCURRENT_ENDPOINTS / WORKER_THREADS;
  for (size_t t = 0; t < WORKER_THREADS; t++) {
    workers[t] = (worker){.containers = containers, .first = t * per, .count = per};
    assert_int_equal(pthread_create(&threads[t], NULL, run_worker, &workers[t]), 0);
  }
  for (size_t t = 0; t < WORKER_THREADS; t++) {
    pthread_join(threads[t], NULL);
  }
  for (size_t t = 0; t < WORKER_THREADS; t++) {
    if (workers[t].failures > 0) {
      fail_msg("worker %zu: %d failures, last: %s", t, workers[t].failures, workers[t].message);
    }
  }
  assert_int_equal(count_endpoint_links(), 0);
  cf_autofree char *listing = table_listing();
  if (strstr(listing, "chain in-") != NULL || strstr(listing, "chain out-") != NULL ||
      strstr(listing, "10.200.0.1") != NULL) {
    fail_msg("the table keeps endpoint objects:\n%s", listing);
  }
  for (size_t i = 0; i < CONCURRENT_ENDPOINTS; i++) {
    container_stop(&containers[i]);
  }
}

static void test_network_delete_removes_all(void **state)
{
  (void)state;
  container c = container_start("ep-netdel", SUBNET + 60);
  create_endpoint(&c, 0, 0);
  cf_err *err = NULL;
  assert_int_equal(cf_net_network_delete(backend, &err), 0);
  assert_false(interface_exists(NET_NAME));
  assert_int_equal(count_endpoint_links(), 0);
  cf_autofree char *listing = table_listing();
  assert_string_equal(listing, "");
  assert_int_equal(cf_net_network_delete(backend, &err), 0);
  container_stop(&c);
}

/* --- setup --- */

static int setup(void **state)
{
  (void)state;
  char template[] = "/tmp/cfwin-netlinux-XXXXXX";
  work_dir = cf_xstrdup(mkdtemp(template));
  ino_t initial = netns_inode("/proc/thread-self/ns/net");
  host_holder = start_holder(NULL);
  peer_holder = start_holder(NULL);
  int fd = open_netns(host_holder);
  if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
    fprintf(stderr, "enter the host namespace: %s\n", strerror(errno));
    return -1;
  }
  close(fd);
  /* Everything below must happen in the test's own host namespace. */
  ino_t now = netns_inode("/proc/thread-self/ns/net");
  cf_autofree char *host_ns = cf_xasprintf("/proc/%d/ns/net", (int)host_holder);
  if (now == initial || now != netns_inode(host_ns)) {
    fprintf(stderr, "not inside the test's host namespace\n");
    return -1;
  }
  wire_peer();
  cf_err *err = NULL;
  if (cf_net_backend_open(&network, &backend, &err) < 0) {
    fprintf(stderr, "%s\n", err->message);
    return -1;
  }
  fprintf(stderr, "nft log statement: %s\n",
          cf_net_backend_can_log(backend) ? "supported" : "not supported");
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  cf_net_backend_close(backend);
  stop_process(peer_holder);
  stop_process(host_holder);
  cf_err *err = NULL;
  cf_rm_rf(work_dir, &err);
  cf_err_clear(&err);
  free(work_dir);
  return 0;
}

int main(void)
{
  if (geteuid() != 0) {
    fprintf(stderr, "skipped: the network backend test needs root for namespaces\n");
    return 77;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_network_create_is_idempotent),
      cmocka_unit_test(test_network_conflicting_subnet),
      cmocka_unit_test(test_backend_rejects_long_name),
      cmocka_unit_test(test_endpoint_create_configures_container),
      cmocka_unit_test(test_endpoint_writes_resolv_conf),
      cmocka_unit_test(test_endpoint_create_undoes_on_failure),
      cmocka_unit_test(test_netin_tcp_and_udp),
      cmocka_unit_test(test_netout_default_deny_then_exact_allow),
      cmocka_unit_test(test_netout_icmp_by_type),
      cmocka_unit_test(test_set_rules_replaces_atomically),
      cmocka_unit_test(test_bandwidth_adds_tbf_on_both_ends),
      cmocka_unit_test(test_delete_removes_everything),
      cmocka_unit_test(test_sweep_removes_orphans),
      cmocka_unit_test(test_concurrent_endpoints_leave_nothing),
      cmocka_unit_test(test_network_delete_removes_all),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
