/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `cfwin gdn setup` and `cfwin gdn cleanup` against a depot and a network
 * namespace the test makes. Setup makes the depot, the bridge and the
 * nftables table, and changes nothing when run again. Cleanup destroys a
 * container that a stopped server left running, with a loop device for its
 * disk limit. It then removes the bridge, the table and the loop device, and
 * succeeds again on a clean host. While a server runs, cleanup and a second
 * server on its depot fail. No link or rule is made in the namespace
 * the test starts in.
 */
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <nftables/libnftables.h>

#include "base/fs.h"
#include "base/mem.h"
#include "fixture.h"
#include "garden/client.h"

#define NET_NAME "cfwgdn0"
#define TABLE "cfwin-" NET_NAME
#define HANDLE "gdn-left"

static it_server server;
static const char *const network_args[] = {
    "--network-name", NET_NAME, "--network-pool", "10.251.3.0/24", "--external-ip",
    "192.0.2.10",     NULL};

static bool table_exists(void)
{
  struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);
  nft_ctx_buffer_output(nft);
  nft_ctx_buffer_error(nft);
  int rc = nft_run_cmd_from_buffer(nft, "list table ip " TABLE "\n");
  nft_ctx_free(nft);
  return rc == 0;
}

static bool bridge_exists(void)
{
  return if_nametoindex(NET_NAME) != 0;
}

/* Runs `cfwin gdn COMMAND` with depot and the network flags and returns
 * its exit status. */
static int run_gdn_on(const char *command, const char *depot)
{
  const char *binary = getenv("CFWIN_BINARY") != NULL ? getenv("CFWIN_BINARY") : "build/cfwin";
  char *argv[16] = {(char *)binary, "gdn", (char *)command, "--depot", (char *)depot};
  size_t n = 5;
  for (size_t i = 0; network_args[i] != NULL; i++) {
    argv[n++] = (char *)network_args[i];
  }
  argv[n] = NULL;
  return it_run_command(argv);
}

static int run_gdn(const char *command)
{
  return run_gdn_on(command, server.depot);
}

static bool cgroup_has_processes(const char *handle)
{
  cf_autofree char *path = cf_xasprintf("/sys/fs/cgroup/pids/cfwin/%s/cgroup.procs", handle);
  cf_autofree char *unified = cf_xasprintf("/sys/fs/cgroup/cfwin/%s/cgroup.procs", handle);
  struct stat st;
  FILE *f = fopen(stat(path, &st) == 0 ? path : unified, "r");
  if (f == NULL) {
    return false;
  }
  int pid = 0;
  bool any = fscanf(f, "%d", &pid) == 1;
  fclose(f);
  return any;
}

/* Brings lo up in the new namespace, where the server listens. */
static void loopback_up(void)
{
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct ifreq req = {0};
  snprintf(req.ifr_name, sizeof(req.ifr_name), "lo");
  if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &req) < 0) {
    fail_msg("read the flags of lo: %s", strerror(errno));
  }
  req.ifr_flags |= IFF_UP;
  if (ioctl(fd, SIOCSIFFLAGS, &req) < 0) {
    fail_msg("bring lo up: %s", strerror(errno));
  }
  close(fd);
}

static int setup(void **state)
{
  (void)state;
  it_require_root();
  if (unshare(CLONE_NEWNET) < 0) {
    fprintf(stderr, "skipped: cannot unshare a network namespace: %s\n", strerror(errno));
    exit(77);
  }
  loopback_up();
  it_server_prepare(&server);
  server.extra_args = network_args;
  server.network = true;
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  it_server_cleanup(&server);
  return 0;
}

static void test_setup_prepares_and_repeats(void **state)
{
  (void)state;
  assert_int_equal(run_gdn("setup"), 0);
  cf_autofree char *db = cf_path_join(server.depot, "cfwin.db");
  cf_autofree char *containers = cf_path_join(server.depot, "containers");
  assert_int_equal(access(db, F_OK), 0);
  assert_int_equal(access(containers, F_OK), 0);
  assert_true(bridge_exists());
  assert_true(table_exists());
  assert_int_equal(run_gdn("setup"), 0);
  assert_true(bridge_exists());
  assert_true(table_exists());
}

static void test_cleanup_removes_containers_and_host_state(void **state)
{
  it_snapshot *before = NULL;
  it_leak_check_begin(&server, (void **)&before);
  it_server_start(&server);
  json_t *spec = json_pack("{s:s, s:{}, s:{s:{s:I}}}", "handle", HANDLE, "image", "limits",
                           "disk_limits", "byte_hard", (json_int_t)64 * 1024 * 1024);
  char *created = NULL;
  cf_err *err = NULL;
  if (cf_garden_client_create(&server.tcp, spec, &created, &err) < 0) {
    fail_msg("create: %s", err->message);
  }
  json_decref(spec);
  free(created);
  /* A stopped server leaves its containers running. */
  assert_int_equal(it_server_stop(&server), 0);
  assert_true(cgroup_has_processes(HANDLE));
  assert_int_equal(it_count_loop_devices(server.depot, false), 1);

  assert_int_equal(run_gdn("cleanup"), 0);
  assert_false(cgroup_has_processes(HANDLE));
  assert_int_equal(it_count_loop_devices(server.depot, true), 0);
  assert_false(bridge_exists());
  assert_false(table_exists());
  assert_int_equal(run_gdn("cleanup"), 0);

  /* A server on the cleaned depot finds no container. */
  it_server_start(&server);
  json_t *list = NULL;
  if (cf_garden_client_call(&server.tcp, "GET", "/containers?garden.state=all", NULL, &list, &err) <
      0) {
    fail_msg("list: %s", err->message);
  }
  assert_int_equal(json_array_size(json_object_get(list, "Handles")), 0);
  json_decref(list);
  assert_int_equal(it_server_stop(&server), 0);
  assert_int_equal(run_gdn("cleanup"), 0);
  it_leak_check_end(&server, (void **)&before);
}

/* While a server runs on a depot, cleanup, a second server on it and a
 * server on another depot with the same network fail, and leave the
 * server's container and network alone. */
static void test_running_server_keeps_depot(void **state)
{
  (void)state;
  it_server_start(&server);
  json_t *spec = json_pack("{s:s}", "handle", HANDLE);
  char *created = NULL;
  cf_err *err = NULL;
  if (cf_garden_client_create(&server.tcp, spec, &created, &err) < 0) {
    fail_msg("create: %s", err->message);
  }
  json_decref(spec);
  free(created);

  assert_int_equal(run_gdn("cleanup"), 1);
  assert_true(cgroup_has_processes(HANDLE));
  assert_true(bridge_exists());
  assert_true(table_exists());

  /* timeout ends a second server that wrongly starts, with status 124. */
  const char *binary = getenv("CFWIN_BINARY") != NULL ? getenv("CFWIN_BINARY") : "build/cfwin";
  char *second[] = {"/usr/bin/timeout", "20", (char *)binary,      "serve", "--depot", server.depot,
                    "--bind-socket",    "",   "--disable-network", NULL};
  cf_autofree char *socket_path = cf_path_join(server.dir, "second.sock");
  second[7] = socket_path;
  assert_int_equal(it_run_command(second), 1);

  /* Nor may a server on another depot take the same container network: its
   * start would sweep this server's endpoints. */
  cf_autofree char *other_depot = cf_path_join(server.dir, "other-depot");
  char *third[16] = {"/usr/bin/timeout", "20",        (char *)binary,  "serve",
                     "--depot",          other_depot, "--bind-socket", socket_path};
  size_t n = 8;
  for (size_t i = 0; network_args[i] != NULL; i++) {
    third[n++] = (char *)network_args[i];
  }
  third[n] = NULL;
  assert_int_equal(it_run_command(third), 1);
  assert_true(table_exists());

  json_t *list = NULL;
  if (cf_garden_client_call(&server.tcp, "GET", "/containers", NULL, &list, &err) < 0) {
    fail_msg("list: %s", err->message);
  }
  assert_int_equal(json_array_size(json_object_get(list, "Handles")), 1);
  json_decref(list);
  assert_int_equal(it_server_stop(&server), 0);
  assert_int_equal(run_gdn("cleanup"), 0);
  assert_false(cgroup_has_processes(HANDLE));
}

/* Cleanup of a depot that was never created removes the host state and
 * creates no store there.
 * NOTE: the command line creates the depot directory itself before any
 * command runs, so only its contents are checked. */
static void test_cleanup_of_missing_depot(void **state)
{
  (void)state;
  assert_int_equal(run_gdn("setup"), 0);
  assert_true(bridge_exists());
  cf_autofree char *missing = cf_path_join(server.dir, "never-created");
  assert_int_equal(run_gdn_on("cleanup", missing), 0);
  /* Nothing is made there, the directory included. */
  assert_int_equal(access(missing, F_OK), -1);
  assert_false(bridge_exists());
  assert_false(table_exists());
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_setup_prepares_and_repeats),
      cmocka_unit_test(test_cleanup_removes_containers_and_host_state),
      cmocka_unit_test(test_running_server_keeps_depot),
      cmocka_unit_test(test_cleanup_of_missing_depot),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
