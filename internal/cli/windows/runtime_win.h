/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Parts of the runtime role's Windows commands (runtime_commands.c): the
 * calls into the container lifecycle library of runtime/windows/container.h
 * with the role's store under --root (runtime_container.c), bundle loading
 * and pid files (runtime_state.c) and the attached stdio of a process
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
#include "runtime/windows/container.h"
#include "store/store.h"

/* The library's names as the commands use them. */
#define WRT_STATUS_CREATING CF_WRT_STATUS_CREATING
#define WRT_STATUS_CREATED CF_WRT_STATUS_CREATED
#define WRT_STATUS_RUNNING CF_WRT_STATUS_RUNNING
#define WRT_STATUS_STOPPED CF_WRT_STATUS_STOPPED
typedef cf_wrt_container wrt_container;
#define wrt_container_clear cf_wrt_container_clear
#define wrt_process_start_time cf_wrt_process_start_time
#define wrt_process_start cf_wrt_process_start

/* --- runtime_state.c --- */

/* Loads and validates the bundle of id: bundle_dir, or the working
 * directory when NULL or empty, made absolute. Errors are winc's
 * (cf_bundle_load lists them). */
int wrt_bundle_load(const char *id, const char *bundle_dir, cf_bundle *out, cf_err **err);

/* Writes pid in decimal without a newline, as winc does. An empty path
 * writes nothing. */
int wrt_write_pid_file(const char *path, DWORD pid, cf_err **err);

/* --- runtime_container.c --- */

/* cf_wrt_container_get with the role's store, opened when first needed. */
int wrt_container_get(rt_context *ctx, const cf_hcs_api *api, const char *id, wrt_container *out,
                      cf_err **err);

/* cf_wrt_container_create with the role's store. */
int wrt_container_create(rt_context *ctx, const cf_hcs_api *api, const char *id,
                         const cf_bundle *bundle, cf_err **err);

/* cf_wrt_container_delete with the role's store. */
int wrt_container_delete(rt_context *ctx, const cf_hcs_api *api, const char *id, bool force,
                         cf_err **err);

/* --- runtime_stdio.c --- */

/* Copies the caller's stdin to the process and the process's stdout and
 * stderr to the caller's until it exits, then returns its exit code in
 * *exit_code. Ctrl-C terminates the process. */
int wrt_process_attach(cf_hcs_process *process, uint32_t *exit_code, cf_err **err);

#endif
