/* SPDX-License-Identifier: Apache-2.0 */
/* The Garden API server (`cfwin serve`). */
#ifndef CFWIN_GARDEN_SERVER_H
#define CFWIN_GARDEN_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "garden/backend.h"
#include "garden/tls.h"
#include "image/image.h"

/* Guardian's --network-pool default, and the bridge name used without
 * --network-name. */
#define CF_SERVER_DEFAULT_NETWORK_POOL "10.254.0.0/22"
#define CF_SERVER_DEFAULT_NETWORK_NAME "cfwin"

/* gdn's container networking flags as given; strings borrowed. */
typedef struct cf_server_network_flags {
  const char *name;          /* --network-name (cfwin's): the bridge; NULL: "cfwin" */
  const char *pool;          /* --network-pool CIDR; NULL: 10.254.0.0/22 */
  long long port_pool_start; /* --port-pool-start */
  long long port_pool_size;  /* --port-pool-size */
  long long mtu;             /* --mtu; 0: the host's */
  const char *const *dns_servers;
  size_t dns_server_count;
  const char *const *deny_networks;
  size_t deny_network_count;
  bool allow_host_access;
  const char *external_ip; /* NULL: the host's first external address */
} cf_server_network_flags;

/* Builds the container network of a server whose state lives in depot.
 * Errors are CF_E_INVALID naming the flag and the value. */
int cf_server_network_parse(const cf_server_network_flags *flags, const char *depot,
                            cf_backend_network *out, cf_err **err);
void cf_server_network_clear(cf_backend_network *network);

/* A stop request that another thread may send to a running server, as the
 * Windows service control handler does (garden/stopper.c). */
typedef struct cf_server_stopper cf_server_stopper;

cf_server_stopper *cf_server_stopper_new(void);
void cf_server_stopper_free(cf_server_stopper *stopper);
/* Asks the server that runs with this stopper to stop, as SIGTERM does.
 * Any thread may call it. A request made before the server listens stops
 * it right after its start. */
void cf_server_stopper_request(cf_server_stopper *stopper);

typedef struct cf_server_config {
  const char *bind_ip; /* NULL: no TCP listener */
  int bind_port;
  const char *bind_socket;    /* NULL: no unix socket listener */
  const char *depot;          /* absolute directory; created when missing */
  const char *default_rootfs; /* image URI for containers that name none */
  uint64_t max_containers;
  bool disable_privileged_containers; /* reject privileged creates, as gdn's flag */
  /* Time a client has to send a request's line and headers, as gdn's
   * --read-header-timeout (Go's ReadHeaderTimeout); 0: no limit. */
  uint64_t read_header_timeout_ms;
  /* TLS for the TCP listener, whatever its address; the unix socket stays
   * plain. cert_path NULL: plain HTTP. */
  cf_tls_paths tls;
  int64_t default_grace_time_ns;
  bool destroy_containers_on_startup;
  /* Settings of every image pull (insecure registries, limits, timeouts);
   * strings borrowed. */
  cf_pull_options pull;
  /* Images pulled into the layer store at start, before serving. */
  const char *const *cached_image_uris;
  size_t cached_image_count;
  /* After a destroy, unused layers are removed once the layer store holds
   * more than this many bytes; negative: never. */
  int64_t gc_threshold_bytes;
  /* CPU maximum per CPU share, as Guardian's --cpu-quota-per-share: a
   * container with shares gets a quota of shares times this many
   * microseconds per 100000 us period, at least 1000 us; 0: no maximum. */
  uint64_t cpu_quota_per_share_us;
  /* CPU percentage one share is entitled to, for Metrics' CPUEntitlement,
   * as Guardian's --cpu-entitlement-per-share; 0: Guardian's default,
   * CPU cores times 100 divided by the host's memory in MiB. */
  double cpu_entitlement_per_share;
  /* The container network, borrowed; NULL: containers get loopback only
   * and NetIn and NetOut fail. */
  const cf_backend_network *network;
  /* Borrowed; NULL: only SIGTERM and SIGINT stop the server. */
  cf_server_stopper *stopper;
  /* Called once the listeners accept connections, as the Windows service
   * reports SERVICE_RUNNING then; NULL: nothing is called. */
  void (*on_started)(void *context);
  void *on_started_context;
} cf_server_config;

/* Opens the depot, reconciles it with the host, listens and serves until
 * SIGTERM, SIGINT or a request through config->stopper. Containers keep running after the server
 * stops. Returns 0 after a clean shutdown. */
int cf_server_run(const cf_server_config *config, cf_err **err);

#endif
