/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The state of the server's backend in cfwin.exe, shared by backend.c
 * (create, destroy and the store) and processes.c (Run and Attach).
 */
#ifndef CFWIN_GARDEN_WINDOWS_BACKEND_WIN_H
#define CFWIN_GARDEN_WINDOWS_BACKEND_WIN_H

#include <pthread.h>

#include "garden/backend.h"
#include "image/storage.h"
#include "runtime/windows/container.h"

struct cf_backend {
  char *depot;
  char *containers_dir; /* <depot>\containers: one bundle directory per handle */
  char *images_dir;     /* <depot>\images: the driver store of layers and volumes */
  cf_store *store;
  cf_backend_options options;
  /* The driver store, opened by the first create, pull or destroy that needs
   * it, because it needs vmcompute.dll. Guarded by storage_lock. */
  pthread_mutex_t storage_lock;
  cf_storage *storage;
  /* The Host Compute Service, loaded by the first call that needs it and
   * kept until the backend closes, because started processes use it.
   * Guarded by storage_lock. */
  cf_hcs_api hcs;
  bool hcs_loaded;
};

/* Opens the driver store under <depot>\images unless it is open. */
int cf_win_backend_storage(cf_backend *backend, cf_storage **out, cf_err **err);

/* Loads the Host Compute Service unless it is loaded. */
int cf_win_backend_hcs(cf_backend *backend, const cf_hcs_api **out, cf_err **err);

/* The runtime library's context on the backend's store. */
cf_wrt_context cf_win_backend_runtime(cf_backend *backend);

#endif
