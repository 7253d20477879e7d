/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The container lifecycle on HCS v2 and HCN as a library: create with its
 * HCN namespace, delete, winc's status and process start. The runtime
 * role's commands (internal/cli/windows) and the Garden server's Windows
 * backend (internal/garden/windows) both call it. State that HCS does not
 * keep (the bundle directory, the started process and its creation time)
 * is a runtime record in the caller's store.
 *
 * The files are not part of cfwin_winruntime because they need the store
 * (SQLite), jansson and the HCN backend. Only cfwin.exe builds them.
 */
#ifndef CFWIN_RUNTIME_WINDOWS_CONTAINER_H
#define CFWIN_RUNTIME_WINDOWS_CONTAINER_H

#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "runtime/bundle.h"
#include "runtime/windows/hcs_internal.h"
#include "store/store.h"

/* Statuses winc's `state` prints, and "creating" for a create that has not
 * finished. */
#define CF_WRT_STATUS_CREATING "creating"
#define CF_WRT_STATUS_CREATED "created"
#define CF_WRT_STATUS_RUNNING "running"
#define CF_WRT_STATUS_STOPPED "stopped"

/* A debug log line with the container id and an optional second field. */
typedef void cf_wrt_log_fn(const char *msg, const char *id, const char *key, const char *value);

typedef struct cf_wrt_context cf_wrt_context;

/* The state every call needs: the store of runtime records, or a function that
 * opens it when a call first needs it, and the debug logger. All three
 * are borrowed. */
struct cf_wrt_context {
  cf_store *store; /* NULL until open_store sets it */
  /* Sets ctx->store; NULL when store is always given. */
  int (*open_store)(cf_wrt_context *ctx, cf_err **err);
  void *open_arg;           /* for open_store */
  cf_wrt_log_fn *log_debug; /* NULL logs nothing */
};

/* Makes sure ctx->store is open, calling ctx->open_store when it is not. */
int cf_wrt_context_open_store(cf_wrt_context *ctx, cf_err **err);

/* A container as the calls see it: the store record and the status. */
typedef struct cf_wrt_container {
  cf_runtime_record record;
  const char *status; /* one of CF_WRT_STATUS_* */
} cf_wrt_container;

void cf_wrt_container_clear(cf_wrt_container *container);

/* Computes winc's status of id. HcsEnumerateComputeSystems must list it
 * exactly once, else "container not found: <id>" (CF_E_NOT_FOUND) or
 * "multiple containers found with the same id: <id>". A Stopped system is
 * stopped. Otherwise the record decides: created before any process,
 * stopped after a failed start. A started container is running while the
 * host process with the recorded pid runs with the recorded creation
 * time. */
int cf_wrt_container_get(cf_wrt_context *ctx, const cf_hcs_api *api, const char *id,
                         cf_wrt_container *out, cf_err **err);

/* The creation time of a host process as a FILETIME in one number. */
int cf_wrt_process_start_time(DWORD pid, uint64_t *start_time, cf_err **err);

/* Creates and starts the compute system of a validated bundle, inside the
 * HCN namespace the bundle names, its parent's for a sidecar, or else one
 * the runtime creates for id. On failure nothing is left: no namespace
 * the runtime created, no compute system, no record. */
int cf_wrt_container_create(cf_wrt_context *ctx, const cf_hcs_api *api, const char *id,
                            const cf_bundle *bundle, cf_err **err);

/* Deletes the sidecars of id (containers whose record names id as owner),
 * then id: stops its compute system (shutdown, then terminate), deletes
 * the namespace the runtime created for it and its record. Without force
 * a running container is rejected; with force a missing one is not an
 * error, and its leftover record and namespace are removed. */
int cf_wrt_container_delete(cf_wrt_context *ctx, const cf_hcs_api *api, const char *id, bool force,
                            cf_err **err);

/* Validates process and starts it in the compute system id, with stdio
 * pipes when attach is set. A failed start gives winc's "<cleaned error>:
 * could not start command '<argv0>' in container: <id>". */
int cf_wrt_process_start(const cf_hcs_api *api, const char *id, const cf_winrt_process *process,
                         bool attach, cf_hcs_process **out, cf_err **err);

#endif
