/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Integration test fixture: a real `cfwin serve` on loopback and a unix
 * socket with a temporary depot, a busybox OCI image, and a leak check that
 * compares the host before and after each test.
 */
#ifndef CFWIN_TESTS_INTEGRATION_FIXTURE_H
#define CFWIN_TESTS_INTEGRATION_FIXTURE_H

#include <stdbool.h>
#include <sys/types.h>

#include "garden/client.h"

typedef struct it_server {
  char *dir; /* temporary directory holding everything below */
  char *depot;
  char *image_dir; /* busybox OCI layout, tag "latest" */
  char *socket_path;
  char *log_path;
  int port;
  pid_t pid;
  int exit_status;               /* of the last server stopped */
  const char *const *extra_args; /* NULL-terminated `cfwin serve` options to add, or NULL */
  /* Give containers a network; only for a test that runs in a network
   * namespace it made, because the server changes the namespace it runs
   * in. Without it the server gets --disable-network. */
  bool network;
  cf_garden_client tcp;
  cf_garden_client unix_socket;
} it_server;

/* Exits with 77 (skipped) when not root or when a tool is missing. */
void it_require_root(void);

/* Makes the directory and the image; does not start the server. */
void it_server_prepare(it_server *server);
/* Starts `cfwin serve` and waits until it responds to ping on both listeners.
 * The server gets SIGTERM when the calling thread exits. */
void it_server_start(it_server *server);
/* Sends SIGTERM and waits for the server to exit; returns its exit status. */
int it_server_stop(it_server *server);
/* Destroys every container the running server lists, which a failed test
 * may have left behind. */
void it_destroy_leftovers(it_server *server);

/* Destroys containers a failed test left behind, stops the server if
 * running (its status goes to exit_status) and removes the directory. */
void it_server_cleanup(it_server *server);

/* Host state that must be unchanged after a test. */
typedef struct it_snapshot {
  char *mountinfo;   /* mount points of the host's mount table, sorted */
  char **namespaces; /* "mnt:[4026532]" of every process that is not the host's */
  size_t namespace_count;
  char **cgroups; /* "<hierarchy>/<handle>" of every container cgroup, sorted */
  size_t cgroup_count;
} it_snapshot;

void it_snapshot_take(it_snapshot *snapshot);
void it_snapshot_clear(it_snapshot *snapshot);
/* Fails the test when the host has new mounts or new namespaces, when the
 * server has child processes, when the depot holds container files, or
 * when a container cgroup (/sys/fs/cgroup/<hierarchy>/cfwin/<handle>) is
 * new and named after a handle in this server's log. */
void it_assert_no_leaks(const it_server *server, const it_snapshot *before);

/* Counts loop devices backed by a file under dir; with report, names each
 * on stderr. */
size_t it_count_loop_devices(const char *dir, bool report);

/* Per-test setup and teardown bodies for cmocka: the setup destroys what a
 * failed earlier test left and stores a snapshot in *state; the teardown
 * checks the host against it with it_assert_no_leaks() and frees it. */
int it_leak_check_begin(it_server *server, void **state);
int it_leak_check_end(it_server *server, void **state);

/* Runs a command line (argv NULL-terminated) and returns its exit status. */
int it_run_command(char *const argv[]);

#endif
