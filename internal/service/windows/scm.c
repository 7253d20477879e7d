/* SPDX-License-Identifier: Apache-2.0 */
#include "service/windows/scm.h"

#include <stdbool.h>
#include <windows.h>

#include "service/service.h"

/* service.h copies the Win32 values so the state machine builds on Linux. */
_Static_assert(CF_SERVICE_STOPPED == SERVICE_STOPPED, "SERVICE_STOPPED");
_Static_assert(CF_SERVICE_START_PENDING == SERVICE_START_PENDING, "SERVICE_START_PENDING");
_Static_assert(CF_SERVICE_STOP_PENDING == SERVICE_STOP_PENDING, "SERVICE_STOP_PENDING");
_Static_assert(CF_SERVICE_RUNNING == SERVICE_RUNNING, "SERVICE_RUNNING");
_Static_assert(CF_SERVICE_CONTROL_STOP == SERVICE_CONTROL_STOP, "SERVICE_CONTROL_STOP");
_Static_assert(CF_SERVICE_CONTROL_INTERROGATE == SERVICE_CONTROL_INTERROGATE,
               "SERVICE_CONTROL_INTERROGATE");
_Static_assert(CF_SERVICE_CONTROL_SHUTDOWN == SERVICE_CONTROL_SHUTDOWN, "SERVICE_CONTROL_SHUTDOWN");
_Static_assert(CF_SERVICE_ACCEPT_STOP == SERVICE_ACCEPT_STOP, "SERVICE_ACCEPT_STOP");
_Static_assert(CF_SERVICE_ACCEPT_SHUTDOWN == SERVICE_ACCEPT_SHUTDOWN, "SERVICE_ACCEPT_SHUTDOWN");
_Static_assert(CF_SERVICE_ERROR_CALL_NOT_IMPLEMENTED == ERROR_CALL_NOT_IMPLEMENTED,
               "ERROR_CALL_NOT_IMPLEMENTED");
_Static_assert(CF_SERVICE_ERROR_SPECIFIC == ERROR_SERVICE_SPECIFIC_ERROR,
               "ERROR_SERVICE_SPECIFIC_ERROR");

/* One service per process: the dispatcher calls service_main on its own
 * thread and the control handler on the thread that called
 * StartServiceCtrlDispatcher, so the state is shared under a lock. */
static struct {
  CRITICAL_SECTION lock;
  SERVICE_STATUS_HANDLE handle;
  cf_service machine;
  const cf_service_body *body;
  int exit_status;
  bool started;
} current;

/* Sends the machine's status to the manager. The caller holds the lock. */
static void report_locked(void)
{
  const cf_service_status *status = &current.machine.status;
  SERVICE_STATUS win = {
      .dwServiceType = SERVICE_WIN32_OWN_PROCESS,
      .dwCurrentState = (DWORD)status->state,
      .dwControlsAccepted = status->controls_accepted,
      .dwWin32ExitCode = status->win32_exit_code,
      .dwServiceSpecificExitCode = status->service_exit_code,
      .dwCheckPoint = status->checkpoint,
      .dwWaitHint = status->wait_hint_ms,
  };
  SetServiceStatus(current.handle, &win);
}

static DWORD WINAPI control_handler(DWORD control, DWORD event_type, LPVOID event_data,
                                    LPVOID context)
{
  EnterCriticalSection(&current.lock);
  enum cf_service_action action = cf_service_control(&current.machine, control);
  if (action != CF_SERVICE_REJECT) {
    report_locked();
  }
  LeaveCriticalSection(&current.lock);
  if (action == CF_SERVICE_REJECT) {
    return ERROR_CALL_NOT_IMPLEMENTED;
  }
  if (action == CF_SERVICE_STOP_SERVER) {
    current.body->request_stop(current.body->context);
  }
  return NO_ERROR;
}

static void WINAPI service_main(DWORD argc, LPWSTR *argv)
{
  /* An own-process service may register under any name. */
  current.handle = RegisterServiceCtrlHandlerExW(L"", control_handler, NULL);
  if (current.handle == NULL) {
    current.exit_status = 1;
    return;
  }
  EnterCriticalSection(&current.lock);
  cf_service_init(&current.machine);
  current.started = true;
  report_locked();
  LeaveCriticalSection(&current.lock);

  int status = current.body->run(current.body->context);

  EnterCriticalSection(&current.lock);
  current.exit_status = status;
  cf_service_stopped(&current.machine, status);
  report_locked();
  LeaveCriticalSection(&current.lock);
}

int cf_service_run_if_started(const cf_service_body *body, int *exit_status, cf_err **err)
{
  static wchar_t empty_name[] = L"";
  SERVICE_TABLE_ENTRYW table[] = {
      {empty_name, service_main},
      {NULL, NULL},
  };
  InitializeCriticalSection(&current.lock);
  current.body = body;
  if (!StartServiceCtrlDispatcherW(table)) {
    DWORD code = GetLastError();
    if (code == ERROR_FAILED_SERVICE_CONTROLLER_CONNECT) {
      return 0; /* started from a console, not by the service manager */
    }
    return cf_err_set(err, CF_E_SYSTEM, "connect to the service control manager failed (error %lu)",
                      (unsigned long)code);
  }
  *exit_status = current.exit_status;
  return 1;
}

bool cf_service_report_running(void)
{
  if (current.body == NULL || !current.started) {
    return true;
  }
  EnterCriticalSection(&current.lock);
  bool running = cf_service_running(&current.machine);
  if (running) {
    report_locked();
  }
  LeaveCriticalSection(&current.lock);
  return running;
}
