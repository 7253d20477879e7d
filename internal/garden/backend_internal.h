/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The backend's state, shared by backend.c (images, runtime, store) and
 * backend_net.c (the network role).
 */
#ifndef CFWIN_GARDEN_BACKEND_INTERNAL_H
#define CFWIN_GARDEN_BACKEND_INTERNAL_H

#include <pthread.h>

#include "garden/backend.h"

struct cf_backend {
  char *depot;
  char *containers_dir;
  char *volumes_dir;
  char *keepers_dir; /* the keepers' unix sockets */
  cf_store *store;
  cf_image_store *images;
  cf_backend_options options;
  cf_net *net; /* NULL without a network */
  /* Serialises rewrites of garden.network.mapped-ports, so the last
   * rewrite always reads every mapping committed before it. */
  pthread_mutex_t ports_lock;
  /* The running peas (pea.c), guarded by peas_lock. They are not in the
   * store, so a restarted server sweeps their inits and volumes. */
  pthread_mutex_t peas_lock;
  struct cf_pea *peas;
};

/* The runtime's root filesystem for a volume; strings stay borrowed. */
cf_rootfs_spec cf_backend_volume_rootfs(const cf_volume *volume);

/* Destroys every pea of the container handle and logs failures. */
void cf_backend_peas_destroy_all(cf_backend *backend, const char *handle);
/* Frees the pea list without stopping the peas. */
void cf_backend_peas_free(cf_backend *backend);

/* Creates the NAT network; a no-op without a network. */
int cf_backend_net_open(cf_backend *backend, cf_err **err);
void cf_backend_net_close(cf_backend *backend);

/* Brings the container's endpoint up for its init and records the
 * garden.network.* properties. Fails when the request has NetIn or NetOut
 * entries and the backend has no network. */
int cf_backend_net_up(cf_backend *backend, const cf_create_request *request, pid_t init_pid,
                      cf_err **err);

/* Deletes the container's endpoint; an unknown handle and a backend without
 * a network succeed. */
int cf_backend_net_down(cf_backend *backend, const char *handle, cf_err **err);

/* Deletes the endpoints of every container not in keep; logs failures. */
void cf_backend_net_sweep(cf_backend *backend, const char *const *keep, size_t keep_count);

/* Reads the byte counters of the container's interface into *out when the
 * backend has a network and the init is alive. */
int cf_backend_net_metrics(cf_backend *backend, const cf_container_init *init,
                           cf_backend_metrics *out, cf_err **err);

#endif
