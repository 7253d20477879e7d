/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Windows runtime backend: process-isolated containers and their
 * processes through the Host Compute Service v2 (computecore.dll). Every
 * entry point is resolved at run time, so the executable starts on hosts
 * without the Containers feature and only these calls fail there. The JSON
 * documents come from the platform-neutral builders in runtime/winhcs.h.
 * Compiled only by the mingw-w64 build (cmake/windows).
 *
 * Objects are used from one thread at a time; HCS calls the exit callbacks
 * on its own threads, which only set fields and signal an event.
 */
#ifndef CFWIN_RUNTIME_WINDOWS_HCS_H
#define CFWIN_RUNTIME_WINDOWS_HCS_H

#include <windows.h>

#include <computecore.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "runtime/winhcs.h"

/* The computecore.dll calls, typed after mingw-w64's computecore.h. The
 * two exit waits exist only from Windows Server 2022 on and are NULL when
 * the DLL lacks them. Waits then use the exit callbacks, which Windows
 * Server 2019 has. */
typedef struct cf_hcs_api {
  HMODULE dll;
  __typeof__(&HcsCreateOperation) HcsCreateOperation;
  __typeof__(&HcsCloseOperation) HcsCloseOperation;
  __typeof__(&HcsWaitForOperationResult) HcsWaitForOperationResult;
  __typeof__(&HcsWaitForOperationResultAndProcessInfo) HcsWaitForOperationResultAndProcessInfo;
  __typeof__(&HcsCancelOperation) HcsCancelOperation;
  __typeof__(&HcsEnumerateComputeSystems) HcsEnumerateComputeSystems;
  __typeof__(&HcsCreateComputeSystem) HcsCreateComputeSystem;
  __typeof__(&HcsOpenComputeSystem) HcsOpenComputeSystem;
  __typeof__(&HcsCloseComputeSystem) HcsCloseComputeSystem;
  __typeof__(&HcsStartComputeSystem) HcsStartComputeSystem;
  __typeof__(&HcsShutDownComputeSystem) HcsShutDownComputeSystem;
  __typeof__(&HcsTerminateComputeSystem) HcsTerminateComputeSystem;
  __typeof__(&HcsGetComputeSystemProperties) HcsGetComputeSystemProperties;
  __typeof__(&HcsSetComputeSystemCallback) HcsSetComputeSystemCallback;
  __typeof__(&HcsCreateProcess) HcsCreateProcess;
  __typeof__(&HcsOpenProcess) HcsOpenProcess;
  __typeof__(&HcsCloseProcess) HcsCloseProcess;
  __typeof__(&HcsSignalProcess) HcsSignalProcess;
  __typeof__(&HcsTerminateProcess) HcsTerminateProcess;
  __typeof__(&HcsModifyProcess) HcsModifyProcess;
  __typeof__(&HcsSetProcessCallback) HcsSetProcessCallback;
  __typeof__(&HcsWaitForComputeSystemExit) HcsWaitForComputeSystemExit; /* optional */
  __typeof__(&HcsWaitForProcessExit) HcsWaitForProcessExit;             /* optional */
} cf_hcs_api;

/* Loads computecore.dll from System32 and resolves its calls. Fails with
 * CF_E_NOT_IMPLEMENTED, naming the Containers feature, when the DLL or a
 * required call is missing. */
int cf_hcs_api_load(cf_hcs_api *api, cf_err **err);
void cf_hcs_api_unload(cf_hcs_api *api);

/* Calls report for computecore.dll (symbol NULL) and each call, with found
 * saying whether it resolved and optional marking the two exit waits.
 * Returns the number of required entries not found. */
int cf_hcs_api_probe(void (*report)(const char *symbol, bool found, bool optional, void *context),
                     void *context);

/* Runs HcsEnumerateComputeSystems with a query from cf_hcs_enumerate_query
 * and returns the result document (a JSON array) in *out. */
int cf_hcs_enumerate(const cf_hcs_api *api, const char *query, char **out, cf_err **err);

/* The layer ids of a container's Storage.Layers: NameToGuid (vmcompute.dll)
 * of each folder's base name, in the folders' order. Free *ids with
 * cf_strv_free(*ids, count). */
int cf_hcs_layer_ids(char *const *folders, size_t count, char ***ids, cf_err **err);

/* --- Compute systems --- */

typedef struct cf_hcs_system cf_hcs_system;

/* Creates the compute system id from a document of cf_hcs_container_json
 * and starts it, each step within CF_HCS_TIMEOUT_CREATE_MS. When the start
 * fails, terminates and closes the system so nothing is left. */
int cf_hcs_system_create(const cf_hcs_api *api, const char *id, const char *config,
                         cf_hcs_system **out, cf_err **err);

/* Opens an existing compute system. A missing one fails with
 * CF_E_NOT_FOUND and hcsshim's message,
 * "hcs::OpenComputeSystem <id>: A virtual machine or container with the
 * specified identifier does not exist.". */
int cf_hcs_system_open(const cf_hcs_api *api, const char *id, cf_hcs_system **out, cf_err **err);

/* Runs HcsGetComputeSystemProperties with a cf_hcs_properties_query and
 * returns the Properties document. */
int cf_hcs_system_properties(cf_hcs_system *system, const char *query, char **out, cf_err **err);

/* Reads Statistics and ProcessList, as winc's `events --stats` does. */
int cf_hcs_system_stats(cf_hcs_system *system, cf_hcs_stats *stats, cf_err **err);

/* Waits up to timeout_ms (INFINITE allowed) for the system to exit. */
int cf_hcs_system_wait(cf_hcs_system *system, DWORD timeout_ms, bool *exited, cf_err **err);

/* Stops the system as winc's delete does. HcsShutDownComputeSystem sends
 * the processes CTRL_SHUTDOWN_EVENT, and the system gets up to
 * CF_HCS_TIMEOUT_STOP_MS to exit. When that fails or times out,
 * HcsTerminateComputeSystem follows with the same time limit. A system
 * already stopped or gone counts as stopped. */
int cf_hcs_system_stop(cf_hcs_system *system, cf_err **err);

/* Closes the handle; the compute system keeps running. NULL is allowed. */
void cf_hcs_system_close(cf_hcs_system *system);

/* --- Processes --- */

typedef struct cf_hcs_process cf_hcs_process;

/* Starts a process from a cf_hcs_process_json document. A failure comes
 * back with winc's message,
 * "<cleaned error>: could not start command '<argv0>' in container: <id>",
 * where argv0 is the name after cf_winrt_argv0. */
int cf_hcs_process_create(cf_hcs_system *system, const char *params, const char *argv0,
                          cf_hcs_process **out, cf_err **err);

/* Opens a process of the system by its pid (to kill it from another
 * winc invocation). */
int cf_hcs_process_open(cf_hcs_system *system, DWORD pid, cf_hcs_process **out, cf_err **err);

DWORD cf_hcs_process_pid(const cf_hcs_process *process);

/* Hands the host ends of the stdio pipes to the caller, who closes them;
 * each is NULL when the process has no such pipe. Later calls give NULL. */
void cf_hcs_process_take_stdio(cf_hcs_process *process, HANDLE *std_in, HANDLE *std_out,
                               HANDLE *std_err);

/* Waits up to timeout_ms (INFINITE allowed); *exit_code is set once
 * *exited is true. */
int cf_hcs_process_wait(cf_hcs_process *process, DWORD timeout_ms, bool *exited,
                        uint32_t *exit_code, cf_err **err);

int cf_hcs_process_signal(cf_hcs_process *process, enum cf_hcs_signal signal, cf_err **err);

/* HcsTerminateProcess; success when the process has already exited. */
int cf_hcs_process_kill(cf_hcs_process *process, cf_err **err);

/* Tells HCS that stdin reached its end (after the caller closed its end). */
int cf_hcs_process_close_stdin(cf_hcs_process *process, cf_err **err);

int cf_hcs_process_resize(cf_hcs_process *process, uint16_t height, uint16_t width, cf_err **err);

/* Closes the HCS handle and any stdio handles not taken; the process keeps
 * running. NULL is allowed. */
void cf_hcs_process_close(cf_hcs_process *process);

#endif
