/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Garden server's container network end to end. The test process
 * unshares a network namespace of its own before it starts `cfwin serve`,
 * so the server, its bridge and its nftables table live there; a "peer"
 * namespace, held by a sleeping child and wired to the server's namespace by
 * a veth pair, plays a client and a server outside the host. No link,
 * address or rule is made in the namespace the test starts in, and no
 * packet leaves these namespaces.
 *
 * Network checks from a container run in a child that setns()es into the
 * namespace of the container's init (read from the depot's store), except
 * the TCP NetIn check, which talks to busybox nc running in the container.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
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
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <netlink/addr.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <nftables/libnftables.h>

#include "base/mem.h"
#include "base/sha256.h"
#include "fixture.h"
#include "store/store.h"

#define NET_NAME "cfitnet"
#define TABLE "cfwin-" NET_NAME
#define POOL "10.203.0.0/24"
#define GATEWAY_IP "10.203.0.1"
#define POOL_ADDRESSES 253 /* 256 minus the network, broadcast and gateway addresses */
#define HOST_PEER_IP "192.168.78.1"
#define PEER_IP "192.168.78.2"
#define PORT_POOL_START 41000
#define PORT_POOL_SIZE 300
/* Containers created at once. The sanitized build makes 40, because each
 * init there keeps the sanitizer's memory and 200 of them made a 2-CPU
 * machine run out of memory. */
#define CONCURRENT_CONTAINERS 200
#define CONCURRENT_CONTAINERS_SANITIZED 40
#define CLIENT_THREADS 20

static it_server server;
static pid_t peer_holder;

/* --- namespaces and processes --- */

static void stop_process(pid_t pid)
{
  if (pid > 0) {
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
  }
}

/* Starts a child that unshares a network namespace and sleeps until
 * killed. */
static pid_t start_holder(void)
{
  int ready[2];
  assert_int_equal(pipe(ready), 0);
  pid_t pid = fork();
  if (pid == 0) {
    close(ready[0]);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (unshare(CLONE_NEWNET) < 0 || write(ready[1], "x", 1) != 1) {
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

static int open_netns(pid_t pid)
{
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
  return open(path, O_RDONLY | O_CLOEXEC);
}

typedef int (*ns_fn)(void *arg);

/* Runs fn(arg) in a child inside the network namespace of pid. */
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
  set_timeout(fd, 20);
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

/* Starts serve_once in the namespace of ns_pid and waits until it listens. */
static pid_t listener_start(pid_t ns_pid, int type, uint16_t port, const char *reply)
{
  int ready[2];
  assert_int_equal(pipe(ready), 0);
  server_arg arg = {.type = type, .port = port, .reply = reply, .ready_fd = ready[1]};
  pid_t pid = spawn_in_ns(ns_pid, serve_once, &arg);
  close(ready[1]);
  char byte;
  assert_int_equal(read(ready[0], &byte, 1), 1);
  close(ready[0]);
  return pid;
}

typedef struct client_arg {
  int type;
  const char *ip;
  uint16_t port;
  const char *expect; /* the reply expected */
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
  char buf[64] = {0};
  ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
  return n > 0 && strncmp(buf, arg->expect, strlen(arg->expect)) == 0 ? 0 : 1;
}

static bool exchange(pid_t from_pid, int type, const char *ip, uint16_t port, const char *expect,
                     int seconds)
{
  client_arg arg = {.type = type, .ip = ip, .port = port, .expect = expect, .seconds = seconds};
  return run_in_ns(from_pid, client_once, &arg) == 0;
}

/* Serves one TCP connection on the peer and reports whether a client in
 * the namespace of from_pid got the reply. */
static bool tcp_to_peer(pid_t from_pid, uint16_t port)
{
  pid_t listener = listener_start(peer_holder, SOCK_STREAM, port, "peer-ok");
  bool reached = exchange(from_pid, SOCK_STREAM, PEER_IP, port, "peer-ok", 2);
  stop_process(listener);
  return reached;
}

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

/* Sends one ICMP echo request to the peer through a raw socket and waits
 * for the reply. */
static int ping_peer(void *arg)
{
  (void)arg;
  int fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
  if (fd < 0) {
    return 2;
  }
  struct icmphdr request = {.type = ICMP_ECHO};
  request.un.echo.id = htons(0x4321);
  request.un.echo.sequence = htons(1);
  request.checksum = icmp_checksum(&request, sizeof(request));
  struct sockaddr_in sa = socket_address(PEER_IP, 0);
  if (sendto(fd, &request, sizeof(request), 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
    return 1;
  }
  set_timeout(fd, 2);
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

/* --- links the test makes: loopback and the peer's veth pair --- */

static void check_nl(int rc, const char *what)
{
  if (rc < 0) {
    fail_msg("%s: %s", what, nl_geterror(rc));
  }
}

static void link_up(struct nl_sock *sock, const char *ifname)
{
  struct rtnl_link *link = NULL;
  check_nl(rtnl_link_get_kernel(sock, 0, ifname, &link), ifname);
  struct rtnl_link *change = rtnl_link_alloc();
  rtnl_link_set_flags(change, IFF_UP);
  check_nl(rtnl_link_change(sock, link, change, 0), ifname);
  rtnl_link_put(change);
  rtnl_link_put(link);
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
  nl_addr_put(local);
  rtnl_addr_put(addr);
  rtnl_link_put(link);
  link_up(sock, ifname);
}

static int configure_peer_side(void *arg)
{
  (void)arg;
  struct nl_sock *sock = nl_socket_alloc();
  if (nl_connect(sock, NETLINK_ROUTE) < 0) {
    return 1;
  }
  add_ipv4(sock, "peer0", PEER_IP "/24");
  link_up(sock, "lo");
  nl_socket_free(sock);
  return 0;
}

/* Brings loopback up in the server's namespace (where this process is) and
 * wires it to the peer's. */
static void wire_namespaces(void)
{
  struct nl_sock *sock = nl_socket_alloc();
  check_nl(nl_connect(sock, NETLINK_ROUTE), "connect");
  link_up(sock, "lo");
  struct rtnl_link *link = rtnl_link_veth_alloc();
  rtnl_link_set_name(link, "srvpeer0");
  struct rtnl_link *peer = rtnl_link_veth_get_peer(link);
  rtnl_link_set_name(peer, "peer0");
  int fd = open_netns(peer_holder);
  assert_true(fd >= 0);
  rtnl_link_set_ns_fd(peer, fd);
  rtnl_link_put(peer);
  check_nl(rtnl_link_add(sock, link, NLM_F_CREATE | NLM_F_EXCL), "create srvpeer0");
  rtnl_link_veth_release(link);
  close(fd);
  add_ipv4(sock, "srvpeer0", HOST_PEER_IP "/24");
  nl_socket_free(sock);
  assert_int_equal(run_in_ns(peer_holder, configure_peer_side, NULL), 0);
}

/* --- inspection of the server's namespace, not through the server --- */

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

/* The network backend's endpoint id: 12 hex digits of SHA-256(handle). */
static void endpoint_id(const char *handle, char id[13])
{
  char digest[CF_DIGEST_LEN + 1];
  cf_sha256_digest(handle, strlen(handle), digest);
  memcpy(id, digest + 7, 12);
  id[12] = '\0';
}

static bool host_link_exists(const char *handle)
{
  char id[13];
  endpoint_id(handle, id);
  char name[IFNAMSIZ];
  snprintf(name, sizeof(name), "cfh%s", id);
  return if_nametoindex(name) != 0;
}

static bool table_mentions(const char *handle)
{
  char id[13];
  endpoint_id(handle, id);
  cf_autofree char *text = table_listing();
  return strstr(text, id) != NULL;
}

/* Counts the host-side veths (cfh...) in the server's namespace. */
static size_t count_host_links(void)
{
  struct if_nameindex *names = if_nameindex();
  assert_non_null(names);
  size_t count = 0;
  for (struct if_nameindex *n = names; n->if_index != 0; n++) {
    count += strncmp(n->if_name, "cfh", 3) == 0;
  }
  if_freenameindex(names);
  return count;
}

static size_t count_endpoint_rows(void)
{
  cf_store *store = NULL;
  cf_err *err = NULL;
  assert_int_equal(cf_store_open(server.depot, &store, &err), 0);
  char **handles = NULL;
  size_t count = 0;
  assert_int_equal(cf_store_net_endpoint_list(store, &handles, &count, &err), 0);
  cf_strv_free(handles, count);
  cf_store_close(store);
  return count;
}

static pid_t init_pid_of(const char *handle)
{
  cf_store *store = NULL;
  cf_err *err = NULL;
  assert_int_equal(cf_store_open(server.depot, &store, &err), 0);
  cf_container_record record = {0};
  assert_int_equal(cf_store_container_get(store, handle, &record, &err), 0);
  pid_t pid = (pid_t)record.init_pid;
  cf_container_record_clear(&record);
  cf_store_close(store);
  assert_true(pid > 0);
  return pid;
}

/* --- Garden calls --- */

static char *create_container(const char *spec_text)
{
  json_error_t jerr;
  json_t *spec = json_loads(spec_text, 0, &jerr);
  assert_non_null(spec);
  char *handle = NULL;
  cf_err *err = NULL;
  int rc = cf_garden_client_create(&server.tcp, spec, &handle, &err);
  json_decref(spec);
  if (rc < 0) {
    fail_msg("create %s: %s", spec_text, err->message);
  }
  return handle;
}

static void destroy_container(const char *handle)
{
  cf_err *err = NULL;
  if (cf_garden_client_destroy(&server.tcp, handle, &err) < 0) {
    fail_msg("destroy %s: %s", handle, err->message);
  }
}

/* POSTs body (JSON text) to path; returns 0 with *result, or -1 with *err. */
static int post(const char *path, const char *body_text, json_t **result, cf_err **err)
{
  json_t *body = json_loads(body_text, JSON_DECODE_ANY, NULL);
  assert_non_null(body);
  int rc = cf_garden_client_call(&server.tcp, "POST", path, body, result, err);
  json_decref(body);
  return rc;
}

static void net_out(const char *handle, const char *rule)
{
  cf_autofree char *path = cf_xasprintf("/containers/%s/net/out", handle);
  json_t *result = NULL;
  cf_err *err = NULL;
  if (post(path, rule, &result, &err) < 0) {
    fail_msg("NetOut %s: %s", rule, err->message);
  }
  json_decref(result);
}

static json_t *get_json(const char *path)
{
  json_t *result = NULL;
  cf_err *err = NULL;
  if (cf_garden_client_call(&server.tcp, "GET", path, NULL, &result, &err) < 0) {
    fail_msg("GET %s: %s", path, err->message);
  }
  return result;
}

static json_t *info_of(const char *handle)
{
  cf_autofree char *path = cf_xasprintf("/containers/%s/info", handle);
  return get_json(path);
}

/* The host port of the container's first mapping, from Info. */
static int first_host_port(const json_t *info)
{
  json_t *ports = json_object_get(info, "MappedPorts");
  assert_true(json_is_array(ports));
  assert_true(json_array_size(ports) >= 1);
  return (int)json_integer_value(json_object_get(json_array_get(ports, 0), "HostPort"));
}

/* --- TCP through busybox nc in the container --- */

typedef struct run_arg {
  const char *handle;
  const char *command;
  cf_garden_process_result result;
  int rc;
} run_arg;

static void *run_thread(void *p)
{
  run_arg *arg = p;
  json_t *spec = json_pack("{s:s, s:[s, s], s:s, s:{}, s:{}}", "path", "/bin/sh", "args", "-c",
                           arg->command, "user", "root", "rlimits", "image");
  cf_garden_process_result_init(&arg->result);
  cf_err *err = NULL;
  arg->rc = cf_garden_client_run(&server.tcp, arg->handle, spec, NULL, 0, &arg->result, &err);
  cf_err_free(err);
  json_decref(spec);
  return NULL;
}

/* Connects from the peer until nc in the container replies, for up to 20
 * attempts of one second each, since nc needs a moment to listen. */
static bool peer_reaches_nc(uint16_t host_port)
{
  for (int attempt = 0; attempt < 20; attempt++) {
    if (exchange(peer_holder, SOCK_STREAM, HOST_PEER_IP, host_port, "tcp-ok", 1)) {
      return true;
    }
    sleep(1);
  }
  return false;
}

/* --- tests --- */

static void create_with_net_in_reaches_tcp_and_udp(void **state)
{
  (void)state;
  char *handle = create_container("{\"netin\":[{\"host_port\":0,\"container_port\":8080},"
                                  "{\"host_port\":0,\"container_port\":9090}]}");
  json_t *info = info_of(handle);
  const char *container_ip = json_string_value(json_object_get(info, "ContainerIP"));
  assert_non_null(container_ip);
  assert_int_equal(strncmp(container_ip, "10.203.0.", 9), 0);
  assert_string_equal(json_string_value(json_object_get(info, "HostIP")), GATEWAY_IP);
  assert_string_equal(json_string_value(json_object_get(info, "ExternalIP")), HOST_PEER_IP);
  json_t *ports = json_object_get(info, "MappedPorts");
  assert_int_equal(json_array_size(ports), 2);
  int tcp_port = (int)json_integer_value(json_object_get(json_array_get(ports, 0), "HostPort"));
  int udp_port = (int)json_integer_value(json_object_get(json_array_get(ports, 1), "HostPort"));
  assert_int_equal(json_integer_value(json_object_get(json_array_get(ports, 0), "ContainerPort")),
                   8080);
  assert_int_equal(json_integer_value(json_object_get(json_array_get(ports, 1), "ContainerPort")),
                   9090);
  assert_in_range(tcp_port, PORT_POOL_START, PORT_POOL_START + PORT_POOL_SIZE - 1);
  assert_in_range(udp_port, PORT_POOL_START, PORT_POOL_START + PORT_POOL_SIZE - 1);
  assert_int_not_equal(tcp_port, udp_port);

  run_arg nc = {.handle = handle, .command = "echo tcp-ok | timeout 30 nc -l -p 8080"};
  pthread_t thread;
  assert_int_equal(pthread_create(&thread, NULL, run_thread, &nc), 0);
  bool tcp_reached = peer_reaches_nc((uint16_t)tcp_port);
  pthread_join(thread, NULL);
  assert_true(tcp_reached);
  assert_int_equal(nc.rc, 0);
  cf_garden_process_result_clear(&nc.result);

  pid_t init = init_pid_of(handle);
  pid_t udp = listener_start(init, SOCK_DGRAM, 9090, "udp-ok");
  bool udp_reached =
      exchange(peer_holder, SOCK_DGRAM, HOST_PEER_IP, (uint16_t)udp_port, "udp-ok", 5);
  stop_process(udp);
  assert_true(udp_reached);

  cf_autofree char *metrics_path = cf_xasprintf("/containers/%s/metrics", handle);
  json_t *metrics = get_json(metrics_path);
  json_t *stat = json_object_get(metrics, "NetworkStat");
  assert_true(json_is_object(stat));
  assert_true(json_integer_value(json_object_get(stat, "RxBytes")) > 0);
  assert_true(json_integer_value(json_object_get(stat, "TxBytes")) > 0);
  json_decref(metrics);
  json_decref(info);
  destroy_container(handle);
  free(handle);
}

static void net_in_route_allocates_and_records(void **state)
{
  (void)state;
  char *handle = create_container("{}");
  cf_autofree char *path = cf_xasprintf("/containers/%s/net/in", handle);
  json_t *result = NULL;
  cf_err *err = NULL;
  cf_autofree char *body = cf_xasprintf("{\"handle\":\"%s\",\"container_port\":7070}", handle);
  assert_int_equal(post(path, body, &result, &err), 0);
  int host_port = (int)json_integer_value(json_object_get(result, "host_port"));
  assert_in_range(host_port, PORT_POOL_START, PORT_POOL_START + PORT_POOL_SIZE - 1);
  assert_int_equal(json_integer_value(json_object_get(result, "container_port")), 7070);
  json_decref(result);

  json_t *info = info_of(handle);
  assert_int_equal(first_host_port(info), host_port);
  json_decref(info);

  pid_t init = init_pid_of(handle);
  pid_t listener = listener_start(init, SOCK_STREAM, 7070, "in-ok");
  bool reached = exchange(peer_holder, SOCK_STREAM, HOST_PEER_IP, (uint16_t)host_port, "in-ok", 5);
  stop_process(listener);
  assert_true(reached);
  destroy_container(handle);
  free(handle);
}

static void net_out_default_deny_then_exact_rule(void **state)
{
  (void)state;
  char *first = create_container("{}");
  char *second = create_container("{}");
  pid_t first_init = init_pid_of(first);
  pid_t second_init = init_pid_of(second);
  assert_false(tcp_to_peer(first_init, 7000));
  assert_int_not_equal(run_in_ns(first_init, ping_peer, NULL), 0);

  net_out(first, "{\"protocol\":1,\"networks\":[{\"start\":\"" PEER_IP "\",\"end\":\"" PEER_IP
                 "\"}],\"ports\":[{\"start\":7000,\"end\":7000}]}");
  assert_true(tcp_to_peer(first_init, 7000));
  assert_false(tcp_to_peer(first_init, 7001));  /* outside the rule's port range */
  assert_false(tcp_to_peer(second_init, 7000)); /* the other container's rules are its own */
  assert_int_not_equal(run_in_ns(first_init, ping_peer, NULL), 0);

  cf_autofree char *bulk_path = cf_xasprintf("/containers/%s/net/out/bulk", second);
  json_t *result = NULL;
  cf_err *err = NULL;
  assert_int_equal(post(bulk_path,
                        "[{\"protocol\":3,\"networks\":[{\"start\":\"" PEER_IP
                        "\",\"end\":\"" PEER_IP "\"}],\"icmps\":{\"type\":8}}]",
                        &result, &err),
                   0);
  json_decref(result);
  assert_int_equal(run_in_ns(second_init, ping_peer, NULL), 0);
  assert_false(tcp_to_peer(second_init, 7000)); /* ICMP only */
  assert_int_not_equal(run_in_ns(first_init, ping_peer, NULL), 0);

  destroy_container(first);
  destroy_container(second);
  free(first);
  free(second);
}

static void destroy_removes_links_and_rules(void **state)
{
  (void)state;
  char *handle = create_container("{\"netin\":[{\"host_port\":0,\"container_port\":80}],"
                                  "\"netout_rules\":[{\"protocol\":2}]}");
  assert_true(host_link_exists(handle));
  assert_true(table_mentions(handle));
  size_t rows = count_endpoint_rows();
  destroy_container(handle);
  assert_false(host_link_exists(handle));
  assert_false(table_mentions(handle));
  assert_int_equal(count_endpoint_rows(), rows - 1);
  free(handle);
}

static void bad_inputs_name_the_value(void **state)
{
  (void)state;
  json_t *spec = json_loads("{\"netin\":[{\"host_port\":70000,\"container_port\":80}]}", 0, NULL);
  char *handle = NULL;
  cf_err *err = NULL;
  assert_int_equal(cf_garden_client_create(&server.tcp, spec, &handle, &err), -1);
  assert_non_null(strstr(err->message, "netin[0]: host_port: 70000"));
  cf_err_clear(&err);
  json_decref(spec);

  spec = json_loads("{\"netout_rules\":[{\"protocol\":9}]}", 0, NULL);
  assert_int_equal(cf_garden_client_create(&server.tcp, spec, &handle, &err), -1);
  assert_non_null(strstr(err->message, "invalid protocol: 9"));
  cf_err_clear(&err);
  json_decref(spec);

  json_t *result = NULL;
  assert_int_equal(
      post("/containers/no-such-handle/net/in", "{\"container_port\":80}", &result, &err), -1);
  assert_int_equal(err->code, CF_E_NOT_FOUND);
  assert_non_null(strstr(err->message, "no-such-handle"));
  cf_err_clear(&err);

  char *live = create_container("{}");
  cf_autofree char *in_path = cf_xasprintf("/containers/%s/net/in", live);
  assert_int_equal(post(in_path, "{\"host_port\":80,\"container_port\":65536}", &result, &err), -1);
  assert_non_null(strstr(err->message, "container_port: 65536"));
  cf_err_clear(&err);
  cf_autofree char *out_path = cf_xasprintf("/containers/%s/net/out", live);
  assert_int_equal(
      post(out_path, "{\"protocol\":1,\"ports\":[{\"start\":5,\"end\":2}]}", &result, &err), -1);
  assert_non_null(strstr(err->message, "NetOut rule"));
  cf_err_clear(&err);
  assert_int_equal(post(out_path, "{\"networks\":[{\"start\":\"10.0.0.300\"}]}", &result, &err),
                   -1);
  assert_non_null(strstr(err->message, "10.0.0.300"));
  cf_err_clear(&err);
  cf_autofree char *bulk_path = cf_xasprintf("/containers/%s/net/out/bulk", live);
  assert_int_equal(post(bulk_path, "{\"protocol\":1}", &result, &err), -1);
  assert_non_null(strstr(err->message, "BulkNetOut"));
  cf_err_clear(&err);
  destroy_container(live);
  free(live);
}

static void capacity_counts_pool_addresses(void **state)
{
  (void)state;
  json_t *capacity = get_json("/capacity");
  assert_int_equal(json_integer_value(json_object_get(capacity, "max_containers")), POOL_ADDRESSES);
  json_decref(capacity);
}

typedef struct churn_slot {
  char *handle;
  char *ip;
  int host_port;
  char *error;
} churn_slot;

static churn_slot slots[CONCURRENT_CONTAINERS];

/* The number of containers the concurrency test makes in this build. */
static size_t concurrent_count(void)
{
  const char *sanitized = getenv("CFWIN_SANITIZED");
  return sanitized != NULL && strcmp(sanitized, "1") == 0 ? CONCURRENT_CONTAINERS_SANITIZED
                                                          : CONCURRENT_CONTAINERS;
}

static void churn_create(churn_slot *slot)
{
  json_t *spec = json_loads("{\"netin\":[{\"host_port\":0,\"container_port\":80}]}", 0, NULL);
  cf_err *err = NULL;
  if (cf_garden_client_create(&server.tcp, spec, &slot->handle, &err) < 0) {
    slot->error = cf_xasprintf("create: %s", err->message);
    cf_err_free(err);
    json_decref(spec);
    return;
  }
  json_decref(spec);
  cf_autofree char *path = cf_xasprintf("/containers/%s/info", slot->handle);
  json_t *info = NULL;
  if (cf_garden_client_call(&server.tcp, "GET", path, NULL, &info, &err) < 0) {
    slot->error = cf_xasprintf("info: %s", err->message);
    cf_err_free(err);
    return;
  }
  slot->ip = cf_xstrdup(json_string_value(json_object_get(info, "ContainerIP")));
  json_t *ports = json_object_get(info, "MappedPorts");
  slot->host_port = (int)json_integer_value(json_object_get(json_array_get(ports, 0), "HostPort"));
  json_decref(info);
}

static void *churn_up(void *p)
{
  size_t first = (size_t)(uintptr_t)p;
  for (size_t i = first; i < concurrent_count(); i += CLIENT_THREADS) {
    churn_create(&slots[i]);
  }
  return NULL;
}

static void *churn_down(void *p)
{
  size_t first = (size_t)(uintptr_t)p;
  for (size_t i = first; i < concurrent_count(); i += CLIENT_THREADS) {
    cf_err *err = NULL;
    if (slots[i].handle != NULL &&
        cf_garden_client_destroy(&server.tcp, slots[i].handle, &err) < 0) {
      slots[i].error = cf_xasprintf("destroy: %s", err->message);
      cf_err_free(err);
    }
  }
  return NULL;
}

static void run_threads(void *(*fn)(void *))
{
  pthread_t threads[CLIENT_THREADS];
  for (size_t t = 0; t < CLIENT_THREADS; t++) {
    assert_int_equal(pthread_create(&threads[t], NULL, fn, (void *)(uintptr_t)t), 0);
  }
  for (size_t t = 0; t < CLIENT_THREADS; t++) {
    pthread_join(threads[t], NULL);
  }
}

static void concurrent_containers_share_nothing(void **state)
{
  (void)state;
  size_t links_before = count_host_links();
  size_t rows_before = count_endpoint_rows();
  run_threads(churn_up);
  for (size_t i = 0; i < concurrent_count(); i++) {
    if (slots[i].error != NULL) {
      fail_msg("container %zu: %s", i, slots[i].error);
    }
    assert_non_null(slots[i].ip);
  }
  assert_int_equal(count_host_links(), links_before + concurrent_count());
  for (size_t i = 0; i < concurrent_count(); i++) {
    for (size_t j = i + 1; j < concurrent_count(); j++) {
      if (strcmp(slots[i].ip, slots[j].ip) == 0) {
        fail_msg("containers %s and %s share address %s", slots[i].handle, slots[j].handle,
                 slots[i].ip);
      }
      if (slots[i].host_port == slots[j].host_port) {
        fail_msg("containers %s and %s share host port %d", slots[i].handle, slots[j].handle,
                 slots[i].host_port);
      }
    }
  }
  run_threads(churn_down);
  for (size_t i = 0; i < concurrent_count(); i++) {
    if (slots[i].error != NULL) {
      fail_msg("container %zu: %s", i, slots[i].error);
    }
    assert_false(table_mentions(slots[i].handle));
    free(slots[i].handle);
    free(slots[i].ip);
  }
  assert_int_equal(count_host_links(), links_before);
  assert_int_equal(count_endpoint_rows(), rows_before);
}

static const char *const server_args[] = {
    "--network-pool",
    POOL,
    "--network-name",
    NET_NAME,
    "--external-ip",
    HOST_PEER_IP,
    "--port-pool-start",
    "41000",
    "--port-pool-size",
    "300",
    NULL,
};

static const char *const destroying_server_args[] = {
    "--network-pool",
    POOL,
    "--network-name",
    NET_NAME,
    "--external-ip",
    HOST_PEER_IP,
    "--port-pool-start",
    "41000",
    "--port-pool-size",
    "300",
    "--destroy-containers-on-startup",
    NULL,
};

static void restart_keeps_then_sweeps_endpoints(void **state)
{
  (void)state;
  char *handle = create_container("{\"netin\":[{\"host_port\":0,\"container_port\":6060}]}");
  json_t *info = info_of(handle);
  int host_port = first_host_port(info);
  json_decref(info);

  assert_int_equal(it_server_stop(&server), 0);
  it_server_start(&server);
  assert_true(host_link_exists(handle));
  assert_true(table_mentions(handle));
  pid_t listener = listener_start(init_pid_of(handle), SOCK_STREAM, 6060, "kept-ok");
  bool reached =
      exchange(peer_holder, SOCK_STREAM, HOST_PEER_IP, (uint16_t)host_port, "kept-ok", 5);
  stop_process(listener);
  assert_true(reached);

  assert_int_equal(it_server_stop(&server), 0);
  server.extra_args = destroying_server_args;
  it_server_start(&server);
  assert_false(host_link_exists(handle));
  assert_false(table_mentions(handle));
  assert_int_equal(count_endpoint_rows(), 0);
  free(handle);
}

static int setup(void **state)
{
  (void)state;
  it_require_root();
  if (unshare(CLONE_NEWNET) < 0) {
    fprintf(stderr, "skipped: cannot unshare a network namespace: %s\n", strerror(errno));
    exit(77);
  }
  peer_holder = start_holder();
  wire_namespaces();
  it_server_prepare(&server);
  server.extra_args = server_args;
  server.network = true;
  it_server_start(&server);
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  it_server_cleanup(&server);
  stop_process(peer_holder);
  return 0;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(create_with_net_in_reaches_tcp_and_udp),
      cmocka_unit_test(net_in_route_allocates_and_records),
      cmocka_unit_test(net_out_default_deny_then_exact_rule),
      cmocka_unit_test(destroy_removes_links_and_rules),
      cmocka_unit_test(bad_inputs_name_the_value),
      cmocka_unit_test(capacity_counts_pool_addresses),
      cmocka_unit_test(concurrent_containers_share_nothing),
      /* Last, because it restarts the server with --destroy-containers-on-startup. */
      cmocka_unit_test(restart_keeps_then_sweeps_endpoints),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
