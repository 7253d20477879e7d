/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Orchestration of the image, runtime and store modules for the server.
 * Every call blocks and is safe to run on a worker thread; the calls share
 * one store, which serialises its own access.
 * backend.c implements it on Linux. windows/backend.c is the cfwin.exe
 * version: it creates and destroys containers on HCS, without a container
 * network or peas.
 */
#ifndef CFWIN_GARDEN_BACKEND_H
#define CFWIN_GARDEN_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "image/image.h"
#include "image/volume.h"
#include "network/net.h"
#include "runtime/runtime.h"
#include "store/store.h"

typedef struct cf_backend cf_backend;

/* The container network of the server: one NAT network whose state lives
 * in the depot's cfwin.db. */
typedef struct cf_backend_network {
  cf_net_config config;   /* config.state_dir is the depot */
  uint32_t external_ip;   /* host byte order, for garden.network.external-ip; 0: none */
  bool allow_host_access; /* every container may reach the gateway and external_ip */
} cf_backend_network;

/* Options every pull of the backend uses; strings are borrowed and must
 * outlive the backend. */
typedef struct cf_backend_options {
  cf_pull_options pull;       /* settings of every pull; credentials come per create */
  int64_t gc_threshold_bytes; /* negative: never collect layers after a destroy */
  /* The container network, borrowed until cf_backend_close(); NULL:
   * containers get loopback only. */
  const cf_backend_network *network;
} cf_backend_options;

/* Opens <depot>/cfwin.db and the layer store, creating the depot layout,
 * and with options->network creates the NAT network (or finds it). options
 * may be NULL for the defaults (no insecure registries, no collection, no
 * network). */
int cf_backend_open(const char *depot, const cf_backend_options *options, cf_backend **out,
                    cf_err **err);

/* Pulls uri into the layer store without making a container, as the
 * server does for its cached images. */
int cf_backend_pull(cf_backend *backend, const char *uri, cf_err **err);
void cf_backend_close(cf_backend *backend);
cf_store *cf_backend_store(cf_backend *backend);

/* A Garden bind mount: src_path of the host mounted on dst_path in the
 * container, read-only unless read_write. Both paths are absolute. */
typedef struct cf_bind_mount {
  char *src_path;
  char *dst_path;
  bool read_write; /* Garden mode 1 (RW); mode 0 is RO */
} cf_bind_mount;

typedef struct cf_create_request {
  const char *handle;
  const char *image_uri;
  const char *username; /* registry credentials of image_uri, or NULL */
  const char *password;
  const char *const *env; /* container env "K=V", after the image's env */
  size_t env_count;
  const cf_property *properties;
  size_t property_count;
  int64_t grace_time_ns;
  int64_t disk_limit; /* bytes for the container's volume; 0 for none */
  int disk_scope;     /* 0: the image counts against disk_limit; 1: it does not */
  /* Resource limits and privilege, recorded with the container and applied
   * through its cgroup; NULL for none. */
  const cf_limits_record *limits;
  /* NetIn mappings (host port 0: one from the pool) and NetOut rules of the
   * spec; with any of them the backend must have a network. */
  const cf_net_mapping *net_in;
  size_t net_in_count;
  const cf_net_rule *net_out;
  size_t net_out_count;
  /* Bind mounts made inside the container after its /proc, /dev and /sys. */
  const cf_bind_mount *bind_mounts;
  size_t bind_mount_count;
} cf_create_request;

/* Pulls the image, records the container, creates its volume (with the
 * disk limit), starts its init and, with a network, brings the container's
 * endpoint up and records the garden.network.* properties. On failure
 * everything made so far is removed again. */
int cf_backend_create(cf_backend *backend, const cf_create_request *request, cf_err **err);

/* Kills the container's processes, ends their keepers, deletes its network
 * endpoint and its volume, removes its directory and its record.
 * Fails with CF_E_NOT_FOUND for an unknown handle. */
int cf_backend_destroy(cf_backend *backend, const char *handle, cf_err **err);

/* The disk limit and scope the container's volume was created with; 0 and
 * 0 when it has none. CF_E_NOT_FOUND for an unknown container. */
int cf_backend_disk_limits(cf_backend *backend, const char *handle, int64_t *limit, int *scope,
                           cf_err **err);

/* The limits the container was created with; all zero when it has none.
 * CF_E_NOT_FOUND for an unknown container. */
int cf_backend_limits(cf_backend *backend, const char *handle, cf_limits_record *out, cf_err **err);

/* The event Info reports once a process of the container was killed for
 * its memory limit, as Guardian words it. */
#define CF_EVENT_OUT_OF_MEMORY "Out of memory"

/* Reads the container's cgroup figures into *usage and records the
 * CF_EVENT_OUT_OF_MEMORY event (once) when the kernel has killed a process
 * of it for its memory limit. With usage NULL it reads only the OOM kill
 * count. */
int cf_backend_check_usage(cf_backend *backend, const char *handle, cf_container_usage *usage,
                           cf_err **err);

/* Figures behind a container's Garden Metrics. */
typedef struct cf_backend_metrics {
  cf_container_usage usage;
  cf_volume_stats disk;
  int64_t age_ns;          /* since the container was recorded */
  cf_limits_record limits; /* as created, for the CPU entitlement */
  bool has_network;        /* the figures below were read */
  uint64_t rx_bytes;       /* received by the container's interface */
  uint64_t tx_bytes;       /* sent by the container's interface */
} cf_backend_metrics;

/* Reads the cgroup figures (recording an OOM event as
 * cf_backend_check_usage() does), the volume's disk use, the age and, with
 * a network, the byte counters of the container's interface.
 * CF_E_NOT_FOUND for an unknown container. */
int cf_backend_metrics_get(cf_backend *backend, const char *handle, cf_backend_metrics *out,
                           cf_err **err);

/* A process started through its keeper. */
typedef struct cf_backend_process {
  pid_t pid;
  uint64_t start_time;
  pid_t keeper_pid;
  uint64_t keeper_start_time;
  char *socket_path;
  int keeper_fd; /* connected to the keeper's socket, blocking; -1 when closed */
} cf_backend_process;

void cf_backend_process_clear(cf_backend_process *process);

/* Records process id of the container, then starts it through a new
 * keeper (keeper/keeper.h), so it outlives the server, and connects to the
 * keeper. spec->env holds the process's own env; the container's env
 * (image then container spec) goes before it, unless target is given.
 * spec->oci_config may carry process.rlimits; spec->stdio and spec->detach
 * do not apply. target is the init whose namespaces the process joins (a
 * pea's), NULL for the container's own. Spawn errors keep their code (CF_E_EXEC_NOT_FOUND,
 * CF_E_USER_NOT_FOUND); a duplicate id fails with CF_E_EXISTS before
 * anything runs. */
int cf_backend_exec(cf_backend *backend, const char *handle, const char *id,
                    const cf_process_spec *spec, const cf_container_init *target,
                    cf_backend_process *out, cf_err **err);

/* Removes the record of process id and its keeper's socket file, once the
 * keeper has been released or is gone. */
int cf_backend_process_remove(cf_backend *backend, const char *handle, const char *id,
                              cf_err **err);

/* The container's process records in creation order; free them with
 * cf_backend_process_records_free(). */
int cf_backend_process_records(cf_backend *backend, const char *handle, cf_process_record **records,
                               size_t *count, cf_err **err);
void cf_backend_process_records_free(cf_process_record *records, size_t count);

/* A process with its own image ("pea"): it runs in a container of its own
 * made from image_uri, which joins the network namespace of its sandbox
 * container. Strings are borrowed. */
typedef struct cf_pea_request {
  const char *image_uri;
  const char *username; /* registry credentials of image_uri, or NULL */
  const char *password;
  const cf_bind_mount *bind_mounts;
  size_t bind_mount_count;
  /* With override_limits (ProcessSpec.limits given) the pea gets only
   * these limits, 0 meaning none. Without it the pea gets a copy of the
   * sandbox container's limits. */
  bool override_limits;
  uint64_t memory_bytes;
  uint64_t cpu_shares;
} cf_pea_request;

/* Pulls the pea's image, creates its volume and starts its init in the
 * network namespace of the running container handle, with the
 * container's hostname and privilege and the request's bind mounts.
 * Sets *init and *pea_id (new string, the pea's own handle); the pea
 * stays until cf_backend_pea_destroy() or the destroy of handle. Fails
 * with CF_E_NOT_FOUND for an unknown container and CF_E_INVALID when its
 * init is gone. On failure nothing of the pea is left. */
int cf_backend_pea_create(cf_backend *backend, const char *handle, const cf_pea_request *request,
                          cf_container_init *init, char **pea_id, cf_err **err);

/* Starts process id in the pea through cf_backend_exec(), recorded as a
 * process of the container handle. The pea image's env goes before
 * spec->env (the container's does not apply), and "/" is the default
 * working directory, as Guardian runs peas. CF_E_NOT_FOUND for an unknown
 * pea, CF_E_INVALID for a pea of another container. */
int cf_backend_pea_exec(cf_backend *backend, const char *handle, const char *pea_id, const char *id,
                        const cf_process_spec *spec, cf_backend_process *out, cf_err **err);

/* Kills the pea's processes and deletes its volume. A pea that is already
 * gone is success; a pea of another container is CF_E_INVALID. */
int cf_backend_pea_destroy(cf_backend *backend, const char *handle, const char *pea_id,
                           cf_err **err);

/* Brings the store in line with the host after a start: destroys containers
 * left half-made or half-destroyed, and those whose init is gone (all of
 * them with destroy_all), volumes that no container uses and network
 * endpoints of containers not kept. Kept containers keep the records of
 * processes whose keeper is alive; the others are removed, and keepers
 * that no record names are told to kill their process and end. Sets
 * *kept to the handles kept (free with cf_strv_free()). */
int cf_backend_reconcile(cf_backend *backend, bool destroy_all, char ***kept, size_t *kept_count,
                         cf_err **err);

/* The network of the backend, or NULL when containers get loopback only. */
const cf_backend_network *cf_backend_get_network(const cf_backend *backend);

/* Adds a NetIn mapping to a running container and updates
 * garden.network.mapped-ports. Host port 0 takes one from the pool, and
 * container port 0 means the host port; *mapping receives the ports used. */
int cf_backend_net_in(cf_backend *backend, const char *handle, cf_net_mapping *mapping,
                      cf_err **err);

/* Adds NetOut rules to a running container. */
int cf_backend_net_out(cf_backend *backend, const char *handle, const cf_net_rule *rules,
                       size_t count, cf_err **err);

#endif
