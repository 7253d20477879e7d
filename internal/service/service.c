/* SPDX-License-Identifier: Apache-2.0 */
#include "service/service.h"

#include <string.h>

void cf_service_init(cf_service *service)
{
  memset(service, 0, sizeof(*service));
  service->status.state = CF_SERVICE_START_PENDING;
  service->status.checkpoint = 1;
  service->status.wait_hint_ms = CF_SERVICE_START_WAIT_MS;
}

bool cf_service_running(cf_service *service)
{
  if (service->stop_requested) {
    return false;
  }
  service->status.state = CF_SERVICE_RUNNING;
  service->status.controls_accepted = CF_SERVICE_ACCEPT_STOP | CF_SERVICE_ACCEPT_SHUTDOWN;
  service->status.checkpoint = 0;
  service->status.wait_hint_ms = 0;
  return true;
}

static enum cf_service_action begin_stop(cf_service *service)
{
  if (service->stop_requested || service->status.state == CF_SERVICE_STOPPED) {
    return CF_SERVICE_REPORT;
  }
  service->stop_requested = true;
  service->status.state = CF_SERVICE_STOP_PENDING;
  service->status.controls_accepted = 0;
  service->status.checkpoint = 1;
  service->status.wait_hint_ms = CF_SERVICE_STOP_WAIT_MS;
  return CF_SERVICE_STOP_SERVER;
}

enum cf_service_action cf_service_control(cf_service *service, uint32_t control)
{
  switch (control) {
  case CF_SERVICE_CONTROL_STOP:
  case CF_SERVICE_CONTROL_SHUTDOWN:
    return begin_stop(service);
  case CF_SERVICE_CONTROL_INTERROGATE:
    return CF_SERVICE_REPORT;
  default:
    return CF_SERVICE_REJECT;
  }
}

void cf_service_checkpoint(cf_service *service)
{
  if (service->status.state == CF_SERVICE_START_PENDING ||
      service->status.state == CF_SERVICE_STOP_PENDING) {
    service->status.checkpoint++;
  }
}

void cf_service_stopped(cf_service *service, int exit_status)
{
  service->status.state = CF_SERVICE_STOPPED;
  service->status.controls_accepted = 0;
  service->status.checkpoint = 0;
  service->status.wait_hint_ms = 0;
  if (exit_status == 0) {
    service->status.win32_exit_code = CF_SERVICE_NO_ERROR;
    service->status.service_exit_code = 0;
  } else {
    service->status.win32_exit_code = CF_SERVICE_ERROR_SPECIFIC;
    service->status.service_exit_code = (uint32_t)exit_status;
  }
}
