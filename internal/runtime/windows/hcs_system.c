/* SPDX-License-Identifier: Apache-2.0 */
/* Compute systems: create and start, open, properties, statistics,
 * shutdown with a terminate fallback, and exit waits. Call names in error
 * messages follow hcsshim's ("hcs::System::Start <id>: ..."), which winc's
 * callers see. */
#include "runtime/windows/hcs_internal.h"

#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "image/windows/win.h"

/* The timeouts HcsWaitForComputeSystemExit may report. */
#define HCS_E_OPERATION_TIMEOUT ((HRESULT)0x80370118u)
#define WAIT_TIMED_OUT_HRESULT ((HRESULT)0x800705B4u) /* HRESULT_FROM_WIN32(ERROR_TIMEOUT) */

static void CALLBACK system_event(HCS_EVENT *event, void *context)
{
  cf_hcs_system *system = context;
  if (event->Type == HcsEventSystemExited) {
    SetEvent(system->exited);
  }
}

static cf_hcs_system *system_new(const cf_hcs_api *api, const char *id)
{
  cf_hcs_system *system = cf_xcalloc(1, sizeof(*system));
  system->api = api;
  system->id = cf_xstrdup(id);
  system->exited = CreateEventW(NULL, TRUE, FALSE, NULL);
  return system;
}

void cf_hcs_system_close(cf_hcs_system *system)
{
  if (system == NULL) {
    return;
  }
  /* Closing the handle unregisters the callback, so the event and the
   * struct are no longer used once it returns. */
  if (system->handle != NULL) {
    system->api->HcsCloseComputeSystem(system->handle);
  }
  if (system->exited != NULL) {
    CloseHandle(system->exited);
  }
  free(system->id);
  free(system);
}

/* Registers the exit callback. Without it, waits need
 * HcsWaitForComputeSystemExit, so a failure only matters when that is
 * missing too. */
static int watch_exit(cf_hcs_system *system, cf_err **err)
{
  if (system->exited == NULL) {
    return cf_win_last_error(err, GetLastError(), "CreateEvent for a compute system");
  }
  HRESULT hr = system->api->HcsSetComputeSystemCallback(system->handle, HcsEventOptionNone, system,
                                                        system_event);
  if (FAILED(hr) && system->api->HcsWaitForComputeSystemExit == NULL) {
    return cf_hcs_call_error(err, "System::SetCallback", system->id, hr, NULL);
  }
  if (FAILED(hr)) {
    CloseHandle(system->exited);
    system->exited = NULL;
  }
  return 0;
}

/* Runs Start, Shutdown or Terminate and waits for the operation. */
static int system_call(cf_hcs_system *system, const char *call,
                       __typeof__(&HcsStartComputeSystem) fn, DWORD timeout_ms, HRESULT *hr_out,
                       cf_err **err)
{
  HCS_OPERATION op = NULL;
  if (cf_hcs_operation(system->api, call, &op, err) < 0) {
    return -1;
  }
  HRESULT hr = fn(system->handle, op, NULL);
  return cf_hcs_finish(system->api, op, hr, timeout_ms, call, system->id, NULL, hr_out, err);
}

static int create_system(cf_hcs_system *system, const char *config, cf_err **err)
{
  cf_autofree wchar_t *wid = cf_win_utf16(system->id, err);
  cf_autofree wchar_t *wconfig = wid != NULL ? cf_win_utf16(config, err) : NULL;
  HCS_OPERATION op = NULL;
  if (wconfig == NULL || cf_hcs_operation(system->api, "CreateComputeSystem", &op, err) < 0) {
    return -1;
  }
  HRESULT hr = system->api->HcsCreateComputeSystem(wid, wconfig, op, NULL, &system->handle);
  return cf_hcs_finish(system->api, op, hr, CF_HCS_TIMEOUT_CREATE_MS, "CreateComputeSystem",
                       system->id, NULL, NULL, err);
}

int cf_hcs_system_create(const cf_hcs_api *api, const char *id, const char *config,
                         cf_hcs_system **out, cf_err **err)
{
  cf_hcs_system *system = system_new(api, id);
  if (create_system(system, config, err) < 0 || watch_exit(system, err) < 0) {
    if (system->handle != NULL) {
      system_call(system, "System::Terminate", api->HcsTerminateComputeSystem,
                  CF_HCS_TIMEOUT_STOP_MS, NULL, NULL);
    }
    cf_hcs_system_close(system);
    return -1;
  }
  if (system_call(system, "System::Start", api->HcsStartComputeSystem, CF_HCS_TIMEOUT_CREATE_MS,
                  NULL, err) < 0) {
    system_call(system, "System::Terminate", api->HcsTerminateComputeSystem, CF_HCS_TIMEOUT_STOP_MS,
                NULL, NULL);
    cf_hcs_system_close(system);
    return -1;
  }
  *out = system;
  return 0;
}

int cf_hcs_system_open(const cf_hcs_api *api, const char *id, cf_hcs_system **out, cf_err **err)
{
  cf_autofree wchar_t *wid = cf_win_utf16(id, err);
  if (wid == NULL) {
    return -1;
  }
  cf_hcs_system *system = system_new(api, id);
  HRESULT hr = api->HcsOpenComputeSystem(wid, GENERIC_ALL, &system->handle);
  if (FAILED(hr)) {
    system->handle = NULL;
    cf_hcs_system_close(system);
    return cf_hcs_call_error(err, "OpenComputeSystem", id, hr, NULL);
  }
  if (watch_exit(system, err) < 0) {
    cf_hcs_system_close(system);
    return -1;
  }
  *out = system;
  return 0;
}

int cf_hcs_system_properties(cf_hcs_system *system, const char *query, char **out, cf_err **err)
{
  cf_autofree wchar_t *wquery = cf_win_utf16(query, err);
  HCS_OPERATION op = NULL;
  if (wquery == NULL || cf_hcs_operation(system->api, "System::Properties", &op, err) < 0) {
    return -1;
  }
  HRESULT hr = system->api->HcsGetComputeSystemProperties(system->handle, op, wquery);
  char *result = NULL;
  if (cf_hcs_finish(system->api, op, hr, CF_HCS_TIMEOUT_CREATE_MS, "System::Properties", system->id,
                    &result, NULL, err) < 0) {
    return -1;
  }
  *out = result != NULL ? result : cf_xstrdup("{}");
  return 0;
}

static int read_stats(cf_hcs_system *system, const char *type, cf_hcs_stats *stats, cf_err **err)
{
  const char *types[] = {type};
  cf_autofree char *query = cf_hcs_properties_query(types, 1);
  cf_autofree char *doc = NULL;
  if (cf_hcs_system_properties(system, query, &doc, err) < 0) {
    return -1;
  }
  if (cf_hcs_stats_parse(doc, stats, err) < 0) {
    return cf_err_wrap(err, "hcs::System::Properties %s %s", system->id, type);
  }
  return 0;
}

int cf_hcs_system_stats(cf_hcs_system *system, cf_hcs_stats *stats, cf_err **err)
{
  memset(stats, 0, sizeof(*stats));
  if (read_stats(system, "Statistics", stats, err) < 0 ||
      read_stats(system, "ProcessList", stats, err) < 0) {
    return -1;
  }
  return 0;
}

int cf_hcs_system_wait(cf_hcs_system *system, DWORD timeout_ms, bool *exited, cf_err **err)
{
  *exited = false;
  if (system->exited != NULL) {
    DWORD wait = WaitForSingleObject(system->exited, timeout_ms);
    if (wait == WAIT_FAILED) {
      return cf_win_last_error(err, GetLastError(), "wait for compute system exit");
    }
    *exited = wait == WAIT_OBJECT_0;
    return 0;
  }
  PWSTR result = NULL;
  HRESULT hr = system->api->HcsWaitForComputeSystemExit(system->handle, timeout_ms, &result);
  if (result != NULL) {
    LocalFree(result);
  }
  if (hr == HCS_E_OPERATION_TIMEOUT || hr == WAIT_TIMED_OUT_HRESULT) {
    return 0;
  }
  if (FAILED(hr) && !cf_hcs_hresult_is_stopped((uint32_t)hr)) {
    return cf_hcs_call_error(err, "System::WaitForExit", system->id, hr, NULL);
  }
  *exited = true;
  return 0;
}

/* Runs Shutdown or Terminate, then waits for the exit. *stopped is true
 * when the system exited or was already stopped or gone. */
static int stop_with(cf_hcs_system *system, const char *call,
                     __typeof__(&HcsShutDownComputeSystem) fn, bool *stopped, cf_err **err)
{
  HRESULT hr = S_OK;
  cf_err *call_err = NULL;
  *stopped = false;
  if (system_call(system, call, fn, CF_HCS_TIMEOUT_STOP_MS, &hr, &call_err) < 0) {
    if (!cf_hcs_hresult_is_stopped((uint32_t)hr)) {
      cf_err_set(err, call_err->code, "%s", call_err->message);
      cf_err_free(call_err);
      return -1;
    }
    cf_err_free(call_err);
    *stopped = true;
    return 0;
  }
  return cf_hcs_system_wait(system, CF_HCS_TIMEOUT_STOP_MS, stopped, err);
}

int cf_hcs_system_stop(cf_hcs_system *system, cf_err **err)
{
  bool stopped = false;
  cf_err *shutdown_err = NULL;
  if (stop_with(system, "System::Shutdown", system->api->HcsShutDownComputeSystem, &stopped,
                &shutdown_err) == 0 &&
      stopped) {
    return 0;
  }
  int rc =
      stop_with(system, "System::Terminate", system->api->HcsTerminateComputeSystem, &stopped, err);
  if (rc == 0 && !stopped) {
    rc = cf_err_set(err, CF_E_BUSY, "compute system %s did not exit within %u s of terminate",
                    system->id, CF_HCS_TIMEOUT_STOP_MS / 1000);
  }
  if (rc < 0 && shutdown_err != NULL) {
    cf_err_wrap(err, "after shutdown failed (%s)", shutdown_err->message);
  }
  cf_err_free(shutdown_err);
  return rc;
}
