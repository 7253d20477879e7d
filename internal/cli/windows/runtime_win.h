/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Parts of the runtime role's Windows commands (runtime_commands.c): the
 * container lifecycle on HCS and HCN (runtime_container.c), winc's status
 * of a container (runtime_state.c) and the attached stdio of a process
 * (runtime_stdio.c). State that HCS does not keep, the bundle, the started
 * process and its creation time, is the role's store record under --root.
 */
#ifndef CFWIN_CLI_WINDOWS_RUNTIME_WIN_H
#define CFWIN_CLI_WINDOWS_RUNTIME_WIN_H

#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "cli/runtime_cli.h"
#include "runtime/bundle.h"
#include "runtime/windows/hcs_internal.h"
#include "store/store.h"

/* Statuses `state` prints, and "creating" for a create that has not
 * finished. */
#define WRT_STATUS_CREATING "creating"
#define WRT_STATUS_CREATED "created"
#define WRT_STATUS_RUNNING "running"
#define WRT_STATUS_STOPPED "stopped"

/* --- runtime_state.c --- */

/* A container as the commands see it: the store record and the status. */
typedef struct wrt_container {
  cf_runtime_record record;
  const char *status; /* one of WRT_STATUS_* */
} wrt_container;

void wrt_container_clear(wrt_container *container);

/* Computes winc's status of id. HcsEnumerateComputeSystems must list it
 * exactly once, else "container not found: <id>" (CF_E_NOT_FOUND) or
 * "multiple containers found with the same id: <id>". A Stopped system is
 * stopped. Otherwise the record decides: created before any process,
 * stopped after a failed start. A started container is running while the
 * host process with the recorded pid runs with the recorded creation
 * time. */
int wrt_container_get(rt_context *ctx, const cf_hcs_api *api, const char *id, wrt_container *out,
                      cf_err **err);

/* The creation time of a host process as a FILETIME in one number. */
int wrt_process_start_time(DWORD pid, uint64_t *start_time, cf_err **err);

/* Loads and validates the bundle of id: bundle_dir, or the working
 * directory when NULL or empty, made absolute. Errors are winc's
 * (cf_bundle_load lists them). */
int wrt_bundle_load(const char *id, const char *bundle_dir, cf_bundle *out, cf_err **err);

/* Writes pid in decimal without a newline, as winc does. An empty path
 * writes nothing. */
int wrt_write_pid_file(const char *path, DWORD pid, cf_err **err);

/* --- runtime_container.c --- */

/* Creates and starts the compute system of a validated bundle, inside the
 * HCN namespace the bundle names, its parent's for a sidecar, or else one
 * the runtime creates for id. On failure nothing is left: no namespace
 * the runtime created, no compute system, no record. */
int wrt_container_create(rt_context *ctx, const cf_hcs_api *api, const char *id,
                         const cf_bundle *bundle, cf_err **err);

/* Deletes the sidecars of id (containers whose record names id as owner),
 * then id: stops its compute system (shutdown, then terminate), deletes
 * the namespace the runtime created for it and its record. Without force
 * a running container is rejected; with force a missing one is not an
 * error, and its leftover record and namespace are removed. */
int wrt_container_delete(rt_context *ctx, const cf_hcs_api *api, const char *id, bool force,
                         cf_err **err);

/* Validates process and starts it in the compute system id, with stdio
 * pipes when attach is set. A failed start gives winc's "<cleaned error>:
 * could not start command '<argv0>' in container: <id>". */
int wrt_process_start(const cf_hcs_api *api, const char *id, const cf_winrt_process *process,
                      bool attach, cf_hcs_process **out, cf_err **err);

/* --- runtime_stdio.c --- */

/* Copies the caller's stdin to the process and the process's stdout and
 * stderr to the caller's until it exits, then returns its exit code in
 * *exit_code. Ctrl-C terminates the process. */
int wrt_process_attach(cf_hcs_process *process, uint32_t *exit_code, cf_err **err);

#endif
