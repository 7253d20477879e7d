/* SPDX-License-Identifier: Apache-2.0 */
/* The Garden API server (`cfwin serve`). */
#ifndef CFWIN_GARDEN_SERVER_H
#define CFWIN_GARDEN_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"

typedef struct cf_server_config {
  const char *bind_ip; /* NULL: no TCP listener */
  int bind_port;
  const char *bind_socket;    /* NULL: no unix socket listener */
  const char *depot;          /* absolute directory; created when missing */
  const char *default_rootfs; /* image URI for containers that name none */
  uint64_t max_containers;
  int64_t default_grace_time_ns;
  bool destroy_containers_on_startup;
} cf_server_config;

/* Opens the depot, reconciles it with the host, listens and serves until
 * SIGTERM or SIGINT. Containers keep running after the server stops.
 * Returns 0 after a clean shutdown. */
int cf_server_run(const cf_server_config *config, cf_err **err);

#endif
