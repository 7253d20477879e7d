/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The SQLite depot: the one source of truth for containers, their
 * properties, processes and image layers.
 *
 * cf_store_open() opens <dir>/cfwin.db in WAL mode with a busy timeout and
 * foreign keys on, and applies pending schema migrations in order. One
 * cf_store may be shared by threads: every call holds the store's mutex, and
 * cf_store_begin() holds it until cf_store_commit() or cf_store_rollback()
 * (the mutex is recursive, so store calls inside a transaction work).
 * Several processes may open the same file; SQLite's locking and the busy
 * timeout serialise them.
 *
 * Strings in records are owned by the record and released by the matching
 * *_clear() function.
 */
#ifndef CFWIN_STORE_STORE_H
#define CFWIN_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/mem.h"

typedef struct cf_store cf_store;

/* Opens (creating when missing) <dir>/cfwin.db; dir must exist. */
int cf_store_open(const char *dir, cf_store **out, cf_err **err);
void cf_store_close(cf_store *store);

/* The schema version after migrations (the number of applied migrations). */
int cf_store_schema_version(cf_store *store, int *version, cf_err **err);

/* BEGIN IMMEDIATE; holds the store's mutex until commit or rollback, which
 * the same thread must call. */
int cf_store_begin(cf_store *store, cf_err **err);
/* Ends the transaction even on failure: a failed COMMIT is rolled back and
 * the mutex released. Fails with CF_E_INVALID when no transaction is open. */
int cf_store_commit(cf_store *store, cf_err **err);
/* Never fails in a way the caller can act on; logs nothing. */
void cf_store_rollback(cf_store *store);

/* Starts a deferred read transaction, so that the reads up to
 * cf_store_read_end() see one snapshot and take the database's shared lock
 * once instead of once per query. Holds the store's mutex until
 * cf_store_read_end(), which the same thread must call. Fails inside a
 * transaction that cf_store_begin() opened. */
int cf_store_read_begin(cf_store *store, cf_err **err);
/* Ends the read transaction and releases the mutex. A failed COMMIT is
 * rolled back, so only reads belong between the two calls: a write made
 * there may be lost without an error. */
void cf_store_read_end(cf_store *store);

/* Container states, in lifecycle order. */
#define CF_CONTAINER_CREATING "creating"
#define CF_CONTAINER_CREATED "created"
#define CF_CONTAINER_STOPPED "stopped"
#define CF_CONTAINER_DESTROYING "destroying"

typedef struct cf_container_record {
  char *handle;
  char *state;              /* one of CF_CONTAINER_* */
  char *rootfs_uri;         /* image URI the container was made from */
  char *dir;                /* absolute path of the container's directory in the depot */
  int64_t init_pid;         /* 0 until the runtime has started the init process */
  uint64_t init_start_time; /* field 22 of /proc/<pid>/stat, to detect pid reuse */
  int64_t grace_time_ns;
  int64_t created_at_ns; /* CLOCK_REALTIME */
  char *env_json;        /* JSON array of "K=V" strings: image env then container env */
} cf_container_record;

void cf_container_record_clear(cf_container_record *record);

/* Fails with CF_E_EXISTS when the handle is already recorded. */
int cf_store_container_insert(cf_store *store, const cf_container_record *record, cf_err **err);
/* Fails with CF_E_NOT_FOUND for an unknown handle. The get calls overwrite
 * *out without freeing it and leave it zeroed on failure. */
int cf_store_container_get(cf_store *store, const char *handle, cf_container_record *out,
                           cf_err **err);
int cf_store_container_set_state(cf_store *store, const char *handle, const char *state,
                                 cf_err **err);
int cf_store_container_set_init(cf_store *store, const char *handle, int64_t pid,
                                uint64_t start_time, cf_err **err);
int cf_store_container_set_grace_time(cf_store *store, const char *handle, int64_t grace_time_ns,
                                      cf_err **err);
/* Deletes the container with its properties and processes. Fails with
 * CF_E_NOT_FOUND for an unknown handle. */
int cf_store_container_delete(cf_store *store, const char *handle, cf_err **err);

typedef struct cf_property {
  char *key;
  char *value;
} cf_property;

void cf_properties_free(cf_property *props, size_t count);

/* Lists handles, sorted, of containers in any state whose properties contain
 * every filter pair (AND, exact match). filters may be NULL when count is 0.
 * *handles is a new array of new strings; free each and the array. */
int cf_store_container_list(cf_store *store, const cf_property *filters, size_t filter_count,
                            char ***handles, size_t *count, cf_err **err);

/* Property calls fail with CF_E_NOT_FOUND for an unknown handle; get and
 * remove also for an unknown key ("no such property: KEY"). set replaces. */
int cf_store_property_set(cf_store *store, const char *handle, const char *key, const char *value,
                          cf_err **err);
int cf_store_property_get(cf_store *store, const char *handle, const char *key, char **value,
                          cf_err **err);
int cf_store_property_remove(cf_store *store, const char *handle, const char *key, cf_err **err);
/* All properties of a container, sorted by key. */
int cf_store_property_list(cf_store *store, const char *handle, cf_property **props, size_t *count,
                           cf_err **err);

#define CF_PROCESS_RUNNING "running"
#define CF_PROCESS_EXITED "exited"

typedef struct cf_process_record {
  char *id;     /* Garden process id, unique within its container */
  char *handle; /* container handle */
  int64_t pid;
  uint64_t start_time; /* field 22 of /proc/<pid>/stat */
  char *state;         /* CF_PROCESS_RUNNING or CF_PROCESS_EXITED */
  int exit_status;     /* valid when exited: the code, or 128+signal */
  int64_t created_at_ns;
  int64_t keeper_pid; /* 0 until the keeper has started the process */
  uint64_t keeper_start_time;
  char *socket_path; /* the keeper's unix socket, or NULL */
  bool tty;
} cf_process_record;

void cf_process_record_clear(cf_process_record *record);

/* Fails with CF_E_EXISTS for a duplicate id in the same container, and with
 * CF_E_NOT_FOUND when the container is unknown. */
int cf_store_process_insert(cf_store *store, const cf_process_record *record, cf_err **err);
/* get, set_exited and delete fail with CF_E_NOT_FOUND: "unknown handle: H"
 * for an unknown container, else "unknown process: ID". */
int cf_store_process_get(cf_store *store, const char *handle, const char *id,
                         cf_process_record *out, cf_err **err);
int cf_store_process_set_exited(cf_store *store, const char *handle, const char *id,
                                int exit_status, cf_err **err);
int cf_store_process_delete(cf_store *store, const char *handle, const char *id, cf_err **err);
/* Records the process and its keeper once the keeper has started it. */
int cf_store_process_set_keeper(cf_store *store, const cf_process_record *record, cf_err **err);
/* Ids of the container's processes in creation order; same ownership as
 * cf_store_container_list(). */
int cf_store_process_list(cf_store *store, const char *handle, char ***ids, size_t *count,
                          cf_err **err);

#define CF_LAYER_UNPACKING "unpacking"
#define CF_LAYER_READY "ready"

typedef struct cf_layer_record {
  char *chain_id;        /* "sha256:<hex>", the key */
  char *diff_id;         /* digest of the uncompressed layer tar */
  char *parent_chain_id; /* NULL for a base layer */
  char *path;            /* absolute path of the unpacked directory */
  int64_t size;          /* bytes of the uncompressed tar */
  char *state;           /* CF_LAYER_UNPACKING or CF_LAYER_READY */
} cf_layer_record;

void cf_layer_record_clear(cf_layer_record *record);

/* Inserts or replaces the row for record->chain_id. */
int cf_store_layer_put(cf_store *store, const cf_layer_record *record, cf_err **err);
/* Fails with CF_E_NOT_FOUND for an unknown chain id. */
int cf_store_layer_get(cf_store *store, const char *chain_id, cf_layer_record *out, cf_err **err);
/* Fails with CF_E_NOT_FOUND for an unknown chain id. */
int cf_store_layer_delete(cf_store *store, const char *chain_id, cf_err **err);
/* Chain ids of all layers, sorted. */
int cf_store_layer_list(cf_store *store, char ***chain_ids, size_t *count, cf_err **err);

#define CF_VOLUME_CREATING "creating"
#define CF_VOLUME_READY "ready"
#define CF_VOLUME_DELETING "deleting"

/* A volume: a container's root filesystem made of image layers (referenced
 * by chain id, which keeps them from garbage collection) and a writable
 * layer. */
typedef struct cf_volume_record {
  char *handle;          /* the key */
  char *state;           /* one of CF_VOLUME_* */
  char *path;            /* absolute directory of the volume */
  char *image_uri;       /* the image the volume was made from */
  int64_t image_size;    /* bytes of the image's layers (uncompressed tars) */
  int64_t disk_limit;    /* bytes requested; 0 for no limit */
  int scope;             /* 0: the image counts against the limit; 1: it does not */
  int64_t quota;         /* bytes the writable layer may hold; 0 for no limit */
  int64_t fs_base_used;  /* bytes the empty writable filesystem uses */
  char *loop_device;     /* "/dev/loopN" backing the writable layer, or NULL */
  char *backing_file;    /* the filesystem image attached to loop_device, or NULL */
  int64_t created_at_ns; /* CLOCK_REALTIME */
  char **chain_ids;      /* the image's layers, bottom first */
  size_t layer_count;
} cf_volume_record;

void cf_volume_record_clear(cf_volume_record *record);

/* Inserts the volume and its layer references in one savepoint. Fails with
 * CF_E_EXISTS when the handle is already recorded. */
int cf_store_volume_insert(cf_store *store, const cf_volume_record *record, cf_err **err);
/* Fails with CF_E_NOT_FOUND ("unknown volume: H") for an unknown handle;
 * *out is zeroed on failure. */
int cf_store_volume_get(cf_store *store, const char *handle, cf_volume_record *out, cf_err **err);
int cf_store_volume_set_state(cf_store *store, const char *handle, const char *state, cf_err **err);
/* Records the loop device and the filesystem image of the writable layer;
 * NULLs clear them. Call it before attaching, so a crash leaves a record. */
int cf_store_volume_set_loop(cf_store *store, const char *handle, const char *loop_device,
                             const char *backing_file, cf_err **err);
/* Sets the bytes the empty writable filesystem uses. */
int cf_store_volume_set_base_used(cf_store *store, const char *handle, int64_t fs_base_used,
                                  cf_err **err);
/* Deletes the volume and its layer references; CF_E_NOT_FOUND when unknown. */
int cf_store_volume_delete(cf_store *store, const char *handle, cf_err **err);
/* Handles of all volumes, sorted. */
int cf_store_volume_list(cf_store *store, char ***handles, size_t *count, cf_err **err);
/* Number of volumes that reference the layer. */
int cf_store_layer_ref_count(cf_store *store, const char *chain_id, int64_t *count, cf_err **err);

/* Lifecycle marks of a runtime-role container. The status `state` prints
 * (created, running, stopped) is computed from these and the host. */
#define CF_RUNTIME_CREATING "creating" /* the init is being started */
#define CF_RUNTIME_CREATED "created"   /* the init runs; no process yet */
#define CF_RUNTIME_STARTING "starting" /* one start call claimed the container */
#define CF_RUNTIME_STARTED "started"   /* pid and start_time name the process */

/* A container of the runtime role (`cfwin runtime`, winc's state.json). */
typedef struct cf_runtime_record {
  char *id;
  char *bundle; /* absolute bundle directory */
  char *owner;  /* id of the container whose network a sidecar joined, or NULL */
  char *status; /* one of CF_RUNTIME_* */
  int64_t init_pid;
  uint64_t init_start_time; /* field 22 of /proc/<pid>/stat */
  int64_t pid;              /* the started process; 0 before start */
  uint64_t start_time;
  bool exec_failed; /* start could not create the process */
  int64_t created_at_ns;
} cf_runtime_record;

void cf_runtime_record_clear(cf_runtime_record *record);

/* Fails with CF_E_EXISTS: "container with id already exists: ID". */
int cf_store_runtime_insert(cf_store *store, const cf_runtime_record *record, cf_err **err);
/* Fails with CF_E_NOT_FOUND: "container not found: ID"; *out is zeroed on
 * failure. */
int cf_store_runtime_get(cf_store *store, const char *id, cf_runtime_record *out, cf_err **err);
/* Records the init and sets the status to CF_RUNTIME_CREATED. */
int cf_store_runtime_set_init(cf_store *store, const char *id, int64_t pid, uint64_t start_time,
                              cf_err **err);
/* Moves the status from CF_RUNTIME_CREATED to CF_RUNTIME_STARTING in one
 * statement, so of concurrent start calls exactly one sets *claimed. */
int cf_store_runtime_claim_start(cf_store *store, const char *id, bool *claimed, cf_err **err);
/* Records the started process (pid 0 and exec_failed for a failed start)
 * and sets the status to CF_RUNTIME_STARTED. */
int cf_store_runtime_set_process(cf_store *store, const char *id, int64_t pid, uint64_t start_time,
                                 bool exec_failed, cf_err **err);
/* Fails with CF_E_NOT_FOUND for an unknown id. */
int cf_store_runtime_delete(cf_store *store, const char *id, cf_err **err);
/* Ids of all runtime containers, sorted; with owner not NULL only those
 * that owner owns. */
int cf_store_runtime_list(cf_store *store, const char *owner, char ***ids, size_t *count,
                          cf_err **err);

/* Endpoint states of the network role. An endpoint is recorded, with its
 * address and host ports, before the backend creates it, so a crash in
 * between leaves a row that down or a sweep removes. */
#define CF_NET_ENDPOINT_CREATING "creating"
#define CF_NET_ENDPOINT_UP "up"

/* A network endpoint: one container's address on the NAT network. */
typedef struct cf_net_endpoint_record {
  char *handle;
  uint32_t address; /* IPv4, host byte order */
  int64_t pid;      /* the container process up was given */
  char *state;      /* CF_NET_ENDPOINT_CREATING or CF_NET_ENDPOINT_UP */
  int64_t created_at_ns;
} cf_net_endpoint_record;

void cf_net_endpoint_record_clear(cf_net_endpoint_record *record);

/* Where addresses and host ports come from. Addresses are taken from
 * first_address..last_address (host byte order, inclusive) except gateway;
 * pool ports from port_start..port_end (inclusive). */
typedef struct cf_net_pool {
  uint32_t first_address;
  uint32_t last_address;
  uint32_t gateway;
  uint16_t port_start;
  uint16_t port_end;
} cf_net_pool;

/* A host port mapped to a container port. */
typedef struct cf_net_port_mapping {
  uint16_t host_port; /* 0 in a request: take the lowest free pool port */
  uint16_t container_port;
} cf_net_port_mapping;

/* Records an endpoint for handle in state CF_NET_ENDPOINT_CREATING with the
 * lowest free address of the pool, its mappings (host port 0 becomes the
 * lowest free pool port, written back into mappings) and its rules (JSON
 * text, kept in order). Runs as one BEGIN IMMEDIATE transaction (a
 * savepoint inside a caller's transaction), so concurrent processes never
 * get the same address or port, and a failure records nothing. Fails with
 * CF_E_EXISTS when handle has an endpoint or an explicit host port belongs
 * to another endpoint, and with CF_E_LIMIT ("acquire address: ..." or
 * "acquire port: port pool exhausted") when the pool is used up. */
int cf_store_net_endpoint_add(cf_store *store, const char *handle, int64_t pid,
                              const cf_net_pool *pool, cf_net_port_mapping *mappings,
                              size_t mapping_count, const char *const *rules, size_t rule_count,
                              uint32_t *address, cf_err **err);

/* Fails with CF_E_NOT_FOUND ("no network endpoint for container H") for an
 * unknown handle; *out is zeroed on failure. */
int cf_store_net_endpoint_get(cf_store *store, const char *handle, cf_net_endpoint_record *out,
                              cf_err **err);
int cf_store_net_endpoint_set_state(cf_store *store, const char *handle, const char *state,
                                    cf_err **err);
/* Deletes the endpoint with its ports and rules. *deleted (may be NULL)
 * tells whether there was one; an unknown handle is not an error. */
int cf_store_net_endpoint_delete(cf_store *store, const char *handle, bool *deleted, cf_err **err);
/* Handles of all endpoints, sorted. */
int cf_store_net_endpoint_list(cf_store *store, char ***handles, size_t *count, cf_err **err);

/* Appends mappings to handle's endpoint, allocating host port 0 as
 * cf_store_net_endpoint_add() does, in one transaction (a savepoint inside
 * a caller's). Fails with CF_E_NOT_FOUND for an unknown handle and
 * CF_E_EXISTS for a host port in use, by this endpoint or another. */
int cf_store_net_mappings_add(cf_store *store, const char *handle, const cf_net_pool *pool,
                              cf_net_port_mapping *mappings, size_t count, cf_err **err);
/* The endpoint's mappings in the order they were added; *mappings is a new
 * array (NULL when empty) the caller frees with free(). */
int cf_store_net_mappings_list(cf_store *store, const char *handle, cf_net_port_mapping **mappings,
                               size_t *count, cf_err **err);

/* Appends rules (JSON text) to handle's endpoint; CF_E_NOT_FOUND for an
 * unknown handle. */
int cf_store_net_rules_add(cf_store *store, const char *handle, const char *const *rules,
                           size_t count, cf_err **err);
/* The endpoint's rules in order, as new strings. */
int cf_store_net_rules_list(cf_store *store, const char *handle, char ***rules, size_t *count,
                            cf_err **err);

/* The resource limits a Garden container was created with, as requested
 * (0 means no limit), and whether it is privileged. */
typedef struct cf_limits_record {
  uint64_t memory_bytes;    /* memory_limits.limit_in_bytes */
  uint64_t cpu_weight;      /* cpu_limits.weight */
  uint64_t cpu_shares;      /* cpu_limits.limit_in_shares */
  uint64_t cpu_quota_us;    /* CPU maximum applied: quota per period */
  uint64_t cpu_period_us;   /* period of cpu_quota_us */
  uint64_t pids_max;        /* pid_limits.max */
  uint64_t bandwidth_rate;  /* bandwidth_limits.rate, bytes per second */
  uint64_t bandwidth_burst; /* bandwidth_limits.burst, bytes */
  bool privileged;
} cf_limits_record;

/* Inserts or replaces the limits of a container. Fails with CF_E_NOT_FOUND
 * ("unknown handle: H") for an unknown container. */
int cf_store_limits_set(cf_store *store, const char *handle, const cf_limits_record *limits,
                        cf_err **err);
/* Reads the limits of a container; all zero for a container recorded
 * without limits. Fails with CF_E_NOT_FOUND for an unknown container. */
int cf_store_limits_get(cf_store *store, const char *handle, cf_limits_record *out, cf_err **err);

/* Records an event of a container (such as "Out of memory") unless it is
 * already recorded. *added (may be NULL) is set when it was new. Fails
 * with CF_E_NOT_FOUND for an unknown container. */
int cf_store_event_add(cf_store *store, const char *handle, const char *event, bool *added,
                       cf_err **err);
/* The container's events in the order they were first recorded. */
int cf_store_event_list(cf_store *store, const char *handle, char ***events, size_t *count,
                        cf_err **err);

/* Every list call returns NULL and a count of 0 for an empty list; free a
 * returned array with cf_strv_free() from base/mem.h. */

#endif
