/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Windows service control manager side of `cfwin serve`: when the
 * manager started the process, StartServiceCtrlDispatcher runs the server
 * as the service and the control handler stops it on SERVICE_CONTROL_STOP
 * and SERVICE_CONTROL_SHUTDOWN. The statuses come from service/service.h.
 */
#ifndef CFWIN_SERVICE_WINDOWS_SCM_H
#define CFWIN_SERVICE_WINDOWS_SCM_H

#include <stdbool.h>

#include "base/err.h"

/* The work of the service. run returns the serve role's exit status.
 * request_stop is called on the control handler's thread, so it must only
 * signal run to return. */
typedef struct cf_service_body {
  int (*run)(void *context);
  void (*request_stop)(void *context);
  void *context;
} cf_service_body;

/* Runs body as the service when the service control manager started this
 * process. Returns 1 with the body's exit status in *exit_status, 0 when
 * the process was started from a console (nothing ran), -1 on an error. */
int cf_service_run_if_started(const cf_service_body *body, int *exit_status, cf_err **err);

/* Reports SERVICE_RUNNING once the server listens; a no-op from a console.
 * Returns false when a stop request arrived first. */
bool cf_service_report_running(void);

#endif
