/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The state machine of `cfwin serve` run as a Windows service: which status
 * to report to the service control manager after each event. It is plain C
 * so it is unit-tested on Linux; windows/scm.c feeds it the events and
 * passes each status to SetServiceStatus. The numeric values equal the
 * Win32 SERVICE_* and ERROR_* constants of winsvc.h and winerror.h, so the
 * Windows code copies them without translation.
 */
#ifndef CFWIN_SERVICE_SERVICE_H
#define CFWIN_SERVICE_SERVICE_H

#include <stdbool.h>
#include <stdint.h>

enum cf_service_state {
  CF_SERVICE_STOPPED = 1,       /* SERVICE_STOPPED */
  CF_SERVICE_START_PENDING = 2, /* SERVICE_START_PENDING */
  CF_SERVICE_STOP_PENDING = 3,  /* SERVICE_STOP_PENDING */
  CF_SERVICE_RUNNING = 4,       /* SERVICE_RUNNING */
};

enum cf_service_control {
  CF_SERVICE_CONTROL_STOP = 1,        /* SERVICE_CONTROL_STOP */
  CF_SERVICE_CONTROL_INTERROGATE = 4, /* SERVICE_CONTROL_INTERROGATE */
  CF_SERVICE_CONTROL_SHUTDOWN = 5,    /* SERVICE_CONTROL_SHUTDOWN */
};

/* Bits of cf_service_status.controls_accepted. */
#define CF_SERVICE_ACCEPT_STOP 0x1u     /* SERVICE_ACCEPT_STOP */
#define CF_SERVICE_ACCEPT_SHUTDOWN 0x4u /* SERVICE_ACCEPT_SHUTDOWN */

/* Win32 error codes the status carries. */
#define CF_SERVICE_NO_ERROR 0u
#define CF_SERVICE_ERROR_CALL_NOT_IMPLEMENTED 120u /* unknown control code */
#define CF_SERVICE_ERROR_SPECIFIC 1066u            /* ERROR_SERVICE_SPECIFIC_ERROR */

/* Wait hints: how long the manager waits for the next status report. */
#define CF_SERVICE_START_WAIT_MS 30000u
#define CF_SERVICE_STOP_WAIT_MS 30000u

/* The fields of SERVICE_STATUS that change; the service type is fixed. */
typedef struct cf_service_status {
  enum cf_service_state state;
  uint32_t controls_accepted;
  uint32_t win32_exit_code;
  uint32_t service_exit_code; /* the serve role's exit status when win32_exit_code
                                 is CF_SERVICE_ERROR_SPECIFIC */
  uint32_t checkpoint;
  uint32_t wait_hint_ms;
} cf_service_status;

/* What the control handler must do after a control code. */
enum cf_service_action {
  CF_SERVICE_REPORT,      /* report the status again (interrogate, repeated stop) */
  CF_SERVICE_STOP_SERVER, /* report the status, then ask the server to stop */
  CF_SERVICE_REJECT,      /* return CF_SERVICE_ERROR_CALL_NOT_IMPLEMENTED */
};

typedef struct cf_service {
  cf_service_status status;
  bool stop_requested;
} cf_service;

/* Starts the machine in START_PENDING with the first checkpoint. */
void cf_service_init(cf_service *service);

/* The server listens: RUNNING, accepting stop and shutdown. Returns false
 * when a stop arrived first, so the state stays STOP_PENDING. */
bool cf_service_running(cf_service *service);

/* Applies a control code from the manager and returns the handler's
 * action. Stop and shutdown move a starting or running service to
 * STOP_PENDING once; later ones only report again. */
enum cf_service_action cf_service_control(cf_service *service, uint32_t control);

/* Counts progress while starting or stopping, so the manager sees the
 * service is alive; a no-op in other states. */
void cf_service_checkpoint(cf_service *service);

/* The serve role returned exit_status: STOPPED, with a service-specific
 * error code unless the status is 0. */
void cf_service_stopped(cf_service *service, int exit_status);

#endif
