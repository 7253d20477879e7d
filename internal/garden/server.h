/* SPDX-License-Identifier: Apache-2.0 */
/* The Garden API server (`cfwin serve`). */
#ifndef CFWIN_GARDEN_SERVER_H
#define CFWIN_GARDEN_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "image/image.h"

typedef struct cf_server_config {
  const char *bind_ip; /* NULL: no TCP listener */
  int bind_port;
  const char *bind_socket;    /* NULL: no unix socket listener */
  const char *depot;          /* absolute directory; created when missing */
  const char *default_rootfs; /* image URI for containers that name none */
  uint64_t max_containers;
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
} cf_server_config;

/* Opens the depot, reconciles it with the host, listens and serves until
 * SIGTERM or SIGINT. Containers keep running after the server stops.
 * Returns 0 after a clean shutdown. */
int cf_server_run(const cf_server_config *config, cf_err **err);

#endif
