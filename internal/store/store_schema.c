/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Schema migrations, oldest first. Append new migrations at the end and never
 * edit one that has shipped, because databases in the field have already
 * run it.
 * Each migration ends by setting PRAGMA user_version to its position (first
 * is 1), and cf_store_open() checks that it did.
 */
#include "store/store_internal.h"

const char *const cf_store__migrations[] = {
    /* 1: containers and their properties. */
    "CREATE TABLE containers ("
    "  handle TEXT PRIMARY KEY NOT NULL,"
    "  state TEXT NOT NULL,"
    "  rootfs_uri TEXT,"
    "  dir TEXT,"
    "  init_pid INTEGER NOT NULL DEFAULT 0,"
    "  init_start_time INTEGER NOT NULL DEFAULT 0,"
    "  grace_time_ns INTEGER NOT NULL DEFAULT 0,"
    "  created_at_ns INTEGER NOT NULL,"
    "  env_json TEXT"
    ");"
    "CREATE TABLE properties ("
    "  handle TEXT NOT NULL REFERENCES containers (handle) ON DELETE CASCADE,"
    "  key TEXT NOT NULL,"
    "  value TEXT NOT NULL,"
    "  PRIMARY KEY (handle, key)"
    ");"
    /* Container list filters look properties up by key and value. */
    "CREATE INDEX properties_by_key_value ON properties (key, value);"
    "PRAGMA user_version = 1;",

    /* 2: processes run in containers. */
    "CREATE TABLE processes ("
    "  handle TEXT NOT NULL REFERENCES containers (handle) ON DELETE CASCADE,"
    "  id TEXT NOT NULL,"
    "  pid INTEGER NOT NULL,"
    "  start_time INTEGER NOT NULL,"
    "  state TEXT NOT NULL,"
    "  exit_status INTEGER NOT NULL DEFAULT 0,"
    "  created_at_ns INTEGER NOT NULL,"
    "  PRIMARY KEY (handle, id)"
    ");"
    "PRAGMA user_version = 2;",

    /* 3: image layers, keyed by OCI chain id. */
    "CREATE TABLE layers ("
    "  chain_id TEXT PRIMARY KEY NOT NULL,"
    "  diff_id TEXT NOT NULL,"
    "  parent_chain_id TEXT,"
    "  path TEXT NOT NULL,"
    "  size INTEGER NOT NULL,"
    "  state TEXT NOT NULL"
    ");"
    "PRAGMA user_version = 3;",

    /* 4: volumes (a container's writable layer over image layers) and the
     * layers each volume uses, which keep those layers from garbage
     * collection. */
    "CREATE TABLE volumes ("
    "  handle TEXT PRIMARY KEY NOT NULL,"
    "  state TEXT NOT NULL,"
    "  path TEXT NOT NULL,"
    "  image_uri TEXT,"
    "  image_size INTEGER NOT NULL DEFAULT 0,"
    "  disk_limit INTEGER NOT NULL DEFAULT 0,"
    "  scope INTEGER NOT NULL DEFAULT 0,"
    "  quota INTEGER NOT NULL DEFAULT 0,"
    "  fs_base_used INTEGER NOT NULL DEFAULT 0,"
    "  loop_device TEXT,"
    "  backing_file TEXT,"
    "  created_at_ns INTEGER NOT NULL"
    ");"
    "CREATE TABLE volume_layers ("
    "  handle TEXT NOT NULL REFERENCES volumes (handle) ON DELETE CASCADE,"
    "  position INTEGER NOT NULL,"
    "  chain_id TEXT NOT NULL,"
    "  PRIMARY KEY (handle, position)"
    ");"
    "CREATE INDEX volume_layers_by_chain_id ON volume_layers (chain_id);"
    "PRAGMA user_version = 4;",

    /* 5: containers of the runtime role (winc's per-container state): the
     * init, the started process, and the owner whose network namespace a
     * sidecar joined. */
    "CREATE TABLE runtime_containers ("
    "  id TEXT PRIMARY KEY NOT NULL,"
    "  bundle TEXT NOT NULL,"
    "  owner TEXT,"
    "  status TEXT NOT NULL,"
    "  init_pid INTEGER NOT NULL DEFAULT 0,"
    "  init_start_time INTEGER NOT NULL DEFAULT 0,"
    "  pid INTEGER NOT NULL DEFAULT 0,"
    "  start_time INTEGER NOT NULL DEFAULT 0,"
    "  exec_failed INTEGER NOT NULL DEFAULT 0,"
    "  created_at_ns INTEGER NOT NULL"
    ");"
    "CREATE INDEX runtime_containers_by_owner ON runtime_containers (owner);"
    "PRAGMA user_version = 5;",

    /* 6: endpoints of the network role with their address, the host ports
     * mapped to them (a port is the key, so no two endpoints share one)
     * and their outbound rules as Garden JSON. Ports and rules go with
     * their endpoint. */
    "CREATE TABLE net_endpoints ("
    "  handle TEXT PRIMARY KEY NOT NULL,"
    "  address INTEGER NOT NULL UNIQUE,"
    "  pid INTEGER NOT NULL DEFAULT 0,"
    "  state TEXT NOT NULL,"
    "  created_at_ns INTEGER NOT NULL"
    ");"
    "CREATE TABLE net_ports ("
    "  port INTEGER PRIMARY KEY NOT NULL,"
    "  handle TEXT NOT NULL REFERENCES net_endpoints (handle) ON DELETE CASCADE,"
    "  container_port INTEGER NOT NULL,"
    "  position INTEGER NOT NULL"
    ");"
    "CREATE INDEX net_ports_by_handle ON net_ports (handle, position);"
    "CREATE TABLE net_rules ("
    "  handle TEXT NOT NULL REFERENCES net_endpoints (handle) ON DELETE CASCADE,"
    "  position INTEGER NOT NULL,"
    "  rule_json TEXT NOT NULL,"
    "  PRIMARY KEY (handle, position)"
    ");"
    "PRAGMA user_version = 6;",

    /* 7: resource limits a Garden container was created with, whether it is
     * privileged, and the events (such as "Out of memory") recorded for it,
     * each event once. Both go with their container. */
    "CREATE TABLE container_limits ("
    "  handle TEXT PRIMARY KEY NOT NULL REFERENCES containers (handle) ON DELETE CASCADE,"
    "  memory_bytes INTEGER NOT NULL DEFAULT 0,"
    "  cpu_weight INTEGER NOT NULL DEFAULT 0,"
    "  cpu_shares INTEGER NOT NULL DEFAULT 0,"
    "  cpu_quota_us INTEGER NOT NULL DEFAULT 0,"
    "  cpu_period_us INTEGER NOT NULL DEFAULT 0,"
    "  pids_max INTEGER NOT NULL DEFAULT 0,"
    "  bandwidth_rate INTEGER NOT NULL DEFAULT 0,"
    "  bandwidth_burst INTEGER NOT NULL DEFAULT 0,"
    "  privileged INTEGER NOT NULL DEFAULT 0"
    ");"
    "CREATE TABLE container_events ("
    "  handle TEXT NOT NULL REFERENCES containers (handle) ON DELETE CASCADE,"
    "  event TEXT NOT NULL,"
    "  recorded_at_ns INTEGER NOT NULL,"
    "  PRIMARY KEY (handle, event)"
    ");"
    "PRAGMA user_version = 7;",

    /* 8: the keeper of each process (the process that holds its stdio and
     * exit status, so the process outlives the server): its pid, start time
     * and socket, and whether the process has a terminal. */
    "ALTER TABLE processes ADD COLUMN keeper_pid INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE processes ADD COLUMN keeper_start_time INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE processes ADD COLUMN socket_path TEXT;"
    "ALTER TABLE processes ADD COLUMN tty INTEGER NOT NULL DEFAULT 0;"
    "PRAGMA user_version = 8;",
};

const int cf_store__migration_count =
    (int)(sizeof(cf_store__migrations) / sizeof(cf_store__migrations[0]));
