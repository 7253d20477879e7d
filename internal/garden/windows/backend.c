/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The server's backend in cfwin.exe. It keeps the depot's store, so the
 * routes that need no container (list, info and destroy of unknown
 * handles, properties) behave as on Linux. Container creation is not wired
 * to the Windows image storage and the HCS runtime yet: create fails with
 * a Garden error that names the missing piece and records nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "base/fs.h"
#include "base/log.h"
#include "base/mem.h"
#include "garden/backend.h"
#include "runtime/windows/hcs.h"

struct cf_backend {
  char *depot;
  cf_store *store;
};

int cf_backend_open(const char *depot, const cf_backend_options *options, cf_backend **out,
                    cf_err **err)
{
  cf_backend *backend = cf_xcalloc(1, sizeof(*backend));
  backend->depot = cf_xstrdup(depot);
  cf_autofree char *containers_dir = cf_path_join(depot, "containers");
  if (cf_mkdir_p(containers_dir, 0700, err) < 0 || cf_store_open(depot, &backend->store, err) < 0) {
    cf_backend_close(backend);
    return cf_err_wrap(err, "open depot %s", depot);
  }
  if (options != NULL && options->network != NULL) {
    /* NOTE: the Windows backend makes no HCN network yet, so NetIn, NetOut
     * and the garden.network.* properties are not available. */
    cf_log(CF_LOG_INFO, "network.unused", "{s:s}", "reason",
           "the Windows backend does not create container networks yet");
  }
  *out = backend;
  return 0;
}

void cf_backend_close(cf_backend *backend)
{
  if (backend == NULL) {
    return;
  }
  cf_store_close(backend->store);
  free(backend->depot);
  free(backend);
}

cf_store *cf_backend_store(cf_backend *backend)
{
  return backend->store;
}

int cf_backend_pull(cf_backend *backend, const char *uri, cf_err **err)
{
  return cf_err_set(err, CF_E_NOT_IMPLEMENTED,
                    "pull %s: the Windows server does not use the Windows image storage yet; "
                    "pull the image with `cfwin image pull` instead",
                    uri);
}

/* Names the first missing piece: the Host Compute Service when its DLL or
 * calls are absent (as under Wine), else the backend's own gap. */
int cf_backend_create(cf_backend *backend, const cf_create_request *request, cf_err **err)
{
  cf_hcs_api api;
  cf_err *hcs_err = NULL;
  if (cf_hcs_api_load(&api, &hcs_err) < 0) {
    cf_err_set(err, CF_E_NOT_IMPLEMENTED,
               "create container %s: the Host Compute Service is not available: %s",
               request->handle, hcs_err->message);
    cf_err_free(hcs_err);
    return -1;
  }
  cf_hcs_api_unload(&api);
  return cf_err_set(err, CF_E_NOT_IMPLEMENTED,
                    "create container %s: the Windows Garden backend does not create containers "
                    "yet, because it is not wired to the Windows image storage and the HCS "
                    "runtime",
                    request->handle);
}

/* This backend creates no container, so a record can only come from a depot
 * that another build wrote. The record is all there is to remove. */
int cf_backend_destroy(cf_backend *backend, const char *handle, cf_err **err)
{
  if (cf_store_container_delete(backend->store, handle, err) < 0) {
    return cf_err_wrap(err, "destroy container %s", handle);
  }
  return 0;
}

/* Fails with CF_E_NOT_FOUND unless the store has a record of handle. */
static int check_known(cf_backend *backend, const char *handle, cf_err **err)
{
  cf_container_record record;
  if (cf_store_container_get(backend->store, handle, &record, err) < 0) {
    return -1;
  }
  cf_container_record_clear(&record);
  return 0;
}

int cf_backend_disk_limits(cf_backend *backend, const char *handle, int64_t *limit, int *scope,
                           cf_err **err)
{
  *limit = 0;
  *scope = 0;
  return check_known(backend, handle, err);
}

int cf_backend_limits(cf_backend *backend, const char *handle, cf_limits_record *out, cf_err **err)
{
  memset(out, 0, sizeof(*out));
  return check_known(backend, handle, err);
}

int cf_backend_check_usage(cf_backend *backend, const char *handle, cf_container_usage *usage,
                           cf_err **err)
{
  if (usage != NULL) {
    memset(usage, 0, sizeof(*usage));
  }
  return check_known(backend, handle, err);
}

int cf_backend_metrics_get(cf_backend *backend, const char *handle, cf_backend_metrics *out,
                           cf_err **err)
{
  memset(out, 0, sizeof(*out));
  return check_known(backend, handle, err);
}

/* Removes every container record: none of them has a container on this
 * host, because this backend creates none. */
int cf_backend_reconcile(cf_backend *backend, bool destroy_all, char ***kept, size_t *kept_count,
                         cf_err **err)
{
  char **handles = NULL;
  size_t count = 0;
  *kept = NULL;
  *kept_count = 0;
  if (cf_store_container_list(backend->store, NULL, 0, &handles, &count, err) < 0) {
    return cf_err_wrap(err, "reconcile depot %s", backend->depot);
  }
  for (size_t i = 0; i < count; i++) {
    cf_err *delete_err = NULL;
    if (cf_store_container_delete(backend->store, handles[i], &delete_err) < 0) {
      cf_log_error("reconcile.delete-failed", delete_err, "{s:s}", "handle", handles[i]);
      cf_err_free(delete_err);
      continue;
    }
    cf_log(CF_LOG_INFO, "reconcile.removed", "{s:s, s:s}", "handle", handles[i], "reason",
           "the Windows backend has no container for the record");
  }
  cf_strv_free(handles, count);
  return 0;
}

const cf_backend_network *cf_backend_get_network(const cf_backend *backend)
{
  return NULL;
}

int cf_backend_net_in(cf_backend *backend, const char *handle, cf_net_mapping *mapping,
                      cf_err **err)
{
  return cf_err_set(err, CF_E_NOT_IMPLEMENTED,
                    "net in for container %s: the Windows backend has no container network yet",
                    handle);
}

int cf_backend_net_out(cf_backend *backend, const char *handle, const cf_net_rule *rules,
                       size_t count, cf_err **err)
{
  return cf_err_set(err, CF_E_NOT_IMPLEMENTED,
                    "net out for container %s: the Windows backend has no container network yet",
                    handle);
}
