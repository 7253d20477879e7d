/* SPDX-License-Identifier: Apache-2.0 */
/* winc's status of a container on Windows (container.h). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "image/windows/win.h"
#include "runtime/windows/container.h"

int cf_wrt_context_open_store(cf_wrt_context *ctx, cf_err **err)
{
  if (ctx->store != NULL) {
    return 0;
  }
  if (ctx->open_store == NULL) {
    return cf_err_set(err, CF_E_INVALID, "the runtime context has no store and no way to open one");
  }
  return ctx->open_store(ctx, err);
}

void cf_wrt_container_clear(cf_wrt_container *container)
{
  cf_runtime_record_clear(&container->record);
  container->status = NULL;
}

/* Reads HCS's list of systems with id: how many there are and whether the
 * first is stopped. */
static int enumerate_id(const cf_hcs_api *api, const char *id, size_t *count, bool *stopped,
                        cf_err **err)
{
  cf_autofree char *query = cf_hcs_enumerate_query(id, false);
  cf_autofree char *result = NULL;
  if (cf_hcs_enumerate(api, query, &result, err) < 0) {
    return -1;
  }
  json_error_t jerr;
  json_t *list = json_loads(result, 0, &jerr);
  if (!json_is_array(list)) {
    json_decref(list);
    return cf_err_set(err, CF_E_SYSTEM, "HcsEnumerateComputeSystems returned no JSON array: %s",
                      result);
  }
  *count = json_array_size(list);
  json_t *state = json_object_get(json_array_get(list, 0), "State");
  *stopped = json_is_string(state) && strcmp(json_string_value(state), "Stopped") == 0;
  json_decref(list);
  return 0;
}

int cf_wrt_process_start_time(DWORD pid, uint64_t *start_time, cf_err **err)
{
  HANDLE host = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid);
  if (host == NULL) {
    cf_win_last_error(err, GetLastError(), "OpenProcess");
    return cf_err_wrap(err, "process %lu", (unsigned long)pid);
  }
  FILETIME created, exited, kernel, user;
  BOOL ok = GetProcessTimes(host, &created, &exited, &kernel, &user);
  DWORD code = GetLastError();
  CloseHandle(host);
  if (!ok) {
    cf_win_last_error(err, code, "GetProcessStartTime");
    return cf_err_wrap(err, "process %lu", (unsigned long)pid);
  }
  *start_time = (uint64_t)created.dwHighDateTime << 32 | created.dwLowDateTime;
  return 0;
}

/* The status of a started container from its host process: running while
 * the process with the recorded pid runs and has the recorded creation
 * time, so a reused pid reads as stopped. */
static int process_status(const cf_runtime_record *record, const char **status, cf_err **err)
{
  HANDLE host = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, (DWORD)record->pid);
  if (host == NULL && GetLastError() == ERROR_INVALID_PARAMETER) {
    *status = CF_WRT_STATUS_STOPPED;
    return 0;
  }
  if (host == NULL) {
    return cf_win_last_error(err, GetLastError(), "OpenProcess");
  }
  DWORD code = 0;
  BOOL ok = GetExitCodeProcess(host, &code);
  DWORD error = GetLastError();
  CloseHandle(host);
  if (!ok) {
    return cf_win_last_error(err, error, "GetExitCodeProcess");
  }
  if (code != STILL_ACTIVE) {
    *status = CF_WRT_STATUS_STOPPED;
    return 0;
  }
  uint64_t start_time = 0;
  if (cf_wrt_process_start_time((DWORD)record->pid, &start_time, err) < 0) {
    return -1;
  }
  *status = start_time == record->start_time ? CF_WRT_STATUS_RUNNING : CF_WRT_STATUS_STOPPED;
  return 0;
}

/* The status the record gives before the host process is asked, or NULL
 * when the process decides. */
static const char *record_status(const cf_runtime_record *record)
{
  if (strcmp(record->status, CF_RUNTIME_CREATING) == 0) {
    return CF_WRT_STATUS_CREATING;
  }
  if (record->exec_failed) {
    return CF_WRT_STATUS_STOPPED;
  }
  if (record->pid == 0 && record->start_time == 0) {
    return CF_WRT_STATUS_CREATED;
  }
  return NULL;
}

int cf_wrt_container_get(cf_wrt_context *ctx, const cf_hcs_api *api, const char *id,
                         cf_wrt_container *out, cf_err **err)
{
  memset(out, 0, sizeof(*out));
  size_t count = 0;
  bool stopped = false;
  if (enumerate_id(api, id, &count, &stopped, err) < 0) {
    return -1;
  }
  if (count == 0) {
    return cf_err_set(err, CF_E_NOT_FOUND, "container not found: %s", id);
  }
  if (count > 1) {
    return cf_err_set(err, CF_E_SYSTEM, "multiple containers found with the same id: %s", id);
  }
  if (cf_wrt_context_open_store(ctx, err) < 0 ||
      cf_store_runtime_get(ctx->store, id, &out->record, err) < 0) {
    return -1;
  }
  out->status = stopped ? CF_WRT_STATUS_STOPPED : record_status(&out->record);
  if (out->status != NULL) {
    return 0;
  }
  if (out->record.pid == 0 || out->record.start_time == 0) {
    int rc = cf_err_set(err, CF_E_SYSTEM, "invalid state: PID %lld, start time %llu",
                        (long long)out->record.pid, (unsigned long long)out->record.start_time);
    cf_wrt_container_clear(out);
    return rc;
  }
  if (process_status(&out->record, &out->status, err) < 0) {
    cf_wrt_container_clear(out);
    return -1;
  }
  return 0;
}
