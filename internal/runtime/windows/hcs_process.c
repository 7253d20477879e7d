/* SPDX-License-Identifier: Apache-2.0 */
/* Processes in a compute system: create with stdio pipes, wait, signal,
 * kill, close stdin and resize the console. */
#include "runtime/windows/hcs_internal.h"

#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "image/windows/win.h"

#define HCS_E_OPERATION_TIMEOUT ((HRESULT)0x80370118u)
#define WAIT_TIMED_OUT_HRESULT ((HRESULT)0x800705B4u) /* HRESULT_FROM_WIN32(ERROR_TIMEOUT) */

struct cf_hcs_process {
  const cf_hcs_api *api;
  char *id; /* of the compute system, for messages */
  HCS_PROCESS handle;
  DWORD pid;
  HANDLE std_in;
  HANDLE std_out;
  HANDLE std_err;
  /* The host's handle of the process, which process isolation shares:
   * waits use it first, because it is signalled even when the process
   * exited before any callback was registered. NULL when OpenProcess
   * failed. */
  HANDLE host;
  HANDLE exited; /* manual-reset event set by the ProcessExited callback */
  volatile LONG status_valid;
  uint32_t exit_code;
};

static void CALLBACK process_event(HCS_EVENT *event, void *context)
{
  cf_hcs_process *process = context;
  if (event->Type != HcsEventProcessExited) {
    return;
  }
  char *data = event->EventData != NULL ? cf_win_utf8(event->EventData, NULL) : NULL;
  bool done = false;
  uint32_t code = 0;
  if (data != NULL && cf_hcs_process_status_parse(data, &done, &code, NULL) == 0) {
    process->exit_code = code;
    InterlockedExchange(&process->status_valid, 1);
  }
  free(data);
  SetEvent(process->exited);
}

static cf_hcs_process *process_new(cf_hcs_system *system)
{
  cf_hcs_process *process = cf_xcalloc(1, sizeof(*process));
  process->api = system->api;
  process->id = cf_xstrdup(system->id);
  process->exited = CreateEventW(NULL, TRUE, FALSE, NULL);
  return process;
}

static void close_handle(HANDLE *handle)
{
  if (*handle != NULL && *handle != INVALID_HANDLE_VALUE) {
    CloseHandle(*handle);
  }
  *handle = NULL;
}

void cf_hcs_process_close(cf_hcs_process *process)
{
  if (process == NULL) {
    return;
  }
  /* Closing the HCS handle unregisters the callback first. */
  if (process->handle != NULL) {
    process->api->HcsCloseProcess(process->handle);
  }
  close_handle(&process->std_in);
  close_handle(&process->std_out);
  close_handle(&process->std_err);
  close_handle(&process->host);
  close_handle(&process->exited);
  free(process->id);
  free(process);
}

/* Opens the host handle and registers the exit callback. */
static void watch_exit(cf_hcs_process *process)
{
  process->host = OpenProcess(SYNCHRONIZE | PROCESS_QUERY_LIMITED_INFORMATION, FALSE, process->pid);
  if (process->exited != NULL) {
    process->api->HcsSetProcessCallback(process->handle, HcsEventOptionNone, process,
                                        process_event);
  }
}

/* The error of a failed HcsCreateProcess in winc's words, with a code the
 * Garden server can map: a missing executable or an unknown user. */
static int create_error(cf_err **err, HRESULT hr, const char *argv0, const char *id)
{
  cf_autofree char *system = cf_hcs_system_message((DWORD)hr);
  cf_autofree char *cleaned = cf_winrt_clean_error((uint32_t)hr, system);
  cf_autofree char *message = cf_winrt_exec_error_message(cleaned, argv0, id);
  enum cf_code code = CF_E_SYSTEM;
  if (hr == HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND) ||
      hr == HRESULT_FROM_WIN32(ERROR_PATH_NOT_FOUND)) {
    code = CF_E_EXEC_NOT_FOUND;
  } else if (hr == HRESULT_FROM_WIN32(ERROR_LOGON_FAILURE)) {
    code = CF_E_USER_NOT_FOUND;
  }
  return cf_err_set(err, code, "%s", message);
}

int cf_hcs_process_create(cf_hcs_system *system, const char *params, const char *argv0,
                          cf_hcs_process **out, cf_err **err)
{
  const cf_hcs_api *api = system->api;
  cf_autofree wchar_t *wparams = cf_win_utf16(params, err);
  HCS_OPERATION op = NULL;
  if (wparams == NULL || cf_hcs_operation(api, "System::CreateProcess", &op, err) < 0) {
    return -1;
  }
  cf_hcs_process *process = process_new(system);
  HCS_PROCESS_INFORMATION info;
  memset(&info, 0, sizeof(info));
  PWSTR result = NULL;
  HRESULT hr = api->HcsCreateProcess(system->handle, wparams, op, NULL, &process->handle);
  if (SUCCEEDED(hr)) {
    hr = api->HcsWaitForOperationResultAndProcessInfo(op, CF_HCS_TIMEOUT_CREATE_MS, &info, &result);
    if (hr == HCS_E_OPERATION_TIMEOUT) {
      api->HcsCancelOperation(op);
    }
  }
  api->HcsCloseOperation(op);
  if (result != NULL) {
    LocalFree(result);
  }
  if (FAILED(hr)) {
    cf_hcs_process_close(process);
    return create_error(err, hr, argv0, system->id);
  }
  process->pid = info.ProcessId;
  process->std_in = info.StdInput;
  process->std_out = info.StdOutput;
  process->std_err = info.StdError;
  watch_exit(process);
  *out = process;
  return 0;
}

int cf_hcs_process_open(cf_hcs_system *system, DWORD pid, cf_hcs_process **out, cf_err **err)
{
  cf_hcs_process *process = process_new(system);
  HRESULT hr = system->api->HcsOpenProcess(system->handle, pid, GENERIC_ALL, &process->handle);
  if (FAILED(hr)) {
    process->handle = NULL;
    cf_hcs_process_close(process);
    return cf_hcs_call_error(err, "System::OpenProcess", system->id, hr, NULL);
  }
  process->pid = pid;
  watch_exit(process);
  *out = process;
  return 0;
}

DWORD cf_hcs_process_pid(const cf_hcs_process *process)
{
  return process->pid;
}

void cf_hcs_process_take_stdio(cf_hcs_process *process, HANDLE *std_in, HANDLE *std_out,
                               HANDLE *std_err)
{
  *std_in = process->std_in;
  *std_out = process->std_out;
  *std_err = process->std_err;
  process->std_in = NULL;
  process->std_out = NULL;
  process->std_err = NULL;
}

static int wait_host(cf_hcs_process *process, DWORD timeout_ms, bool *exited, uint32_t *exit_code,
                     cf_err **err)
{
  DWORD wait = WaitForSingleObject(process->host, timeout_ms);
  if (wait == WAIT_FAILED) {
    return cf_win_last_error(err, GetLastError(), "wait for container process");
  }
  if (wait != WAIT_OBJECT_0) {
    return 0;
  }
  DWORD code = 0;
  if (!GetExitCodeProcess(process->host, &code)) {
    return cf_win_last_error(err, GetLastError(), "GetExitCodeProcess");
  }
  *exited = true;
  *exit_code = code;
  return 0;
}

static int wait_hcs(cf_hcs_process *process, DWORD timeout_ms, bool *exited, uint32_t *exit_code,
                    cf_err **err)
{
  PWSTR result = NULL;
  HRESULT hr = process->api->HcsWaitForProcessExit(process->handle, timeout_ms, &result);
  if (hr == HCS_E_OPERATION_TIMEOUT || hr == WAIT_TIMED_OUT_HRESULT) {
    if (result != NULL) {
      LocalFree(result);
    }
    return 0;
  }
  if (FAILED(hr)) {
    return cf_hcs_call_error(err, "Process::WaitForExit", process->id, hr, result);
  }
  cf_autofree char *status = result != NULL ? cf_win_utf8(result, err) : NULL;
  LocalFree(result);
  if (status == NULL) {
    return cf_err_set(err, CF_E_SYSTEM, "HcsWaitForProcessExit returned no process status");
  }
  if (cf_hcs_process_status_parse(status, exited, exit_code, err) < 0) {
    return -1;
  }
  *exited = true;
  return 0;
}

static int wait_callback(cf_hcs_process *process, DWORD timeout_ms, bool *exited,
                         uint32_t *exit_code, cf_err **err)
{
  if (process->exited == NULL) {
    return cf_err_set(err, CF_E_SYSTEM,
                      "no way to wait for process %lu: no host handle, exit "
                      "callback or HcsWaitForProcessExit",
                      (unsigned long)process->pid);
  }
  DWORD wait = WaitForSingleObject(process->exited, timeout_ms);
  if (wait == WAIT_FAILED) {
    return cf_win_last_error(err, GetLastError(), "wait for container process");
  }
  if (wait != WAIT_OBJECT_0) {
    return 0;
  }
  if (InterlockedCompareExchange(&process->status_valid, 1, 1) != 1) {
    return cf_err_set(err, CF_E_SYSTEM, "process %lu exited without a readable exit status",
                      (unsigned long)process->pid);
  }
  *exited = true;
  *exit_code = process->exit_code;
  return 0;
}

int cf_hcs_process_wait(cf_hcs_process *process, DWORD timeout_ms, bool *exited,
                        uint32_t *exit_code, cf_err **err)
{
  *exited = false;
  if (process->host != NULL) {
    return wait_host(process, timeout_ms, exited, exit_code, err);
  }
  if (process->api->HcsWaitForProcessExit != NULL) {
    return wait_hcs(process, timeout_ms, exited, exit_code, err);
  }
  return wait_callback(process, timeout_ms, exited, exit_code, err);
}

/* Runs a process call that takes an options document and waits for it. */
static int process_call(cf_hcs_process *process, const char *call, __typeof__(&HcsSignalProcess) fn,
                        const char *options, HRESULT *hr_out, cf_err **err)
{
  cf_autofree wchar_t *woptions = options != NULL ? cf_win_utf16(options, err) : NULL;
  HCS_OPERATION op = NULL;
  if ((options != NULL && woptions == NULL) || cf_hcs_operation(process->api, call, &op, err) < 0) {
    return -1;
  }
  HRESULT hr = fn(process->handle, op, woptions);
  return cf_hcs_finish(process->api, op, hr, CF_HCS_TIMEOUT_STOP_MS, call, process->id, NULL,
                       hr_out, err);
}

int cf_hcs_process_signal(cf_hcs_process *process, enum cf_hcs_signal signal, cf_err **err)
{
  cf_autofree char *options = cf_hcs_signal_options(signal);
  return process_call(process, "Process::Signal", process->api->HcsSignalProcess, options, NULL,
                      err);
}

int cf_hcs_process_kill(cf_hcs_process *process, cf_err **err)
{
  HRESULT hr = S_OK;
  cf_err *call_err = NULL;
  if (process_call(process, "Process::Kill", process->api->HcsTerminateProcess, NULL, &hr,
                   &call_err) == 0) {
    return 0;
  }
  if (cf_hcs_hresult_is_process_gone((uint32_t)hr)) {
    cf_err_free(call_err);
    return 0;
  }
  cf_err_set(err, call_err->code, "%s", call_err->message);
  cf_err_free(call_err);
  return -1;
}

int cf_hcs_process_close_stdin(cf_hcs_process *process, cf_err **err)
{
  cf_autofree char *settings = cf_hcs_close_stdin_json();
  return process_call(process, "Process::CloseStdin", process->api->HcsModifyProcess, settings,
                      NULL, err);
}

int cf_hcs_process_resize(cf_hcs_process *process, uint16_t height, uint16_t width, cf_err **err)
{
  cf_autofree char *settings = cf_hcs_console_size_json(height, width);
  return process_call(process, "Process::ResizeConsole", process->api->HcsModifyProcess, settings,
                      NULL, err);
}
