/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The cfwin.exe side of `cfwin serve` (serve_platform.h): Windows default
 * paths, and the server run from a console or as a Windows service. Under
 * the service control manager the server runs as the service body
 * (service/windows/scm.c): it reports SERVICE_RUNNING once it listens, and
 * a stop or shutdown control stops it, which ends the process with status
 * 0. gdn setup and cleanup prepare Linux hosts and fail here.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <windows.h>

#include "base/mem.h"
#include "cli/gdn_setup.h"
#include "cli/serve_platform.h"
#include "image/windows/win.h"
#include "runtime/windows/hcs.h"
#include "service/windows/scm.h"

/* The depot of the garden-windows BOSH job, and cfwin's own default. */
const cf_serve_defaults cf_serve_platform_defaults = {
    .depot = "C:\\ProgramData\\cfwin",
    .gdn_depot = "C:\\var\\vcap\\data\\garden\\depot",
    .gdn_socket = NULL,
    .help_note = "In cfwin.exe the server listens on TCP only (--bind-socket is rejected), gdn\n"
                 "setup and cleanup are not available, and the server stops at start when the\n"
                 "Host Compute Service (the Containers feature) is missing.\n",
};

char *cf_serve_absolute_path(const char *path)
{
  cf_autofree wchar_t *wide = cf_win_utf16(path, NULL);
  if (wide == NULL) {
    errno = EINVAL;
    return NULL;
  }
  DWORD attributes = GetFileAttributesW(wide);
  if (attributes == INVALID_FILE_ATTRIBUTES || !(attributes & FILE_ATTRIBUTE_DIRECTORY)) {
    errno = ENOENT;
    return NULL;
  }
  DWORD size = GetFullPathNameW(wide, 0, NULL, NULL);
  cf_autofree wchar_t *full = size > 0 ? cf_xcalloc(size, sizeof(wchar_t)) : NULL;
  if (full == NULL || GetFullPathNameW(wide, size, full, NULL) == 0) {
    errno = ENOENT;
    return NULL;
  }
  char *absolute = cf_win_utf8(full, NULL);
  if (absolute == NULL) {
    errno = EINVAL;
  }
  return absolute;
}

typedef struct service_run {
  cf_server_config config;
  cf_err *err;
} service_run;

static void report_running(void *context)
{
  cf_service_report_running();
}

/* A server that cannot create containers would look healthy to monit and
 * to Diego while failing every create, so it stops at start instead and
 * names what is missing. */
static int check_host_compute_service(cf_err **err)
{
  cf_hcs_api api;
  if (cf_hcs_api_load(&api, err) < 0) {
    return cf_err_wrap(err, "the Host Compute Service is not available, so this server could "
                            "not create containers");
  }
  cf_hcs_api_unload(&api);
  return 0;
}

static int serve_checked(const cf_server_config *config, cf_err **err)
{
  if (check_host_compute_service(err) < 0) {
    return -1;
  }
  return cf_server_run(config, err);
}

/* Returns the serve role's exit status: 0 after a clean stop. The check
 * runs here, once the service manager is connected, so the manager records
 * a failed check as the service's own exit status. */
static int run_service(void *context)
{
  service_run *run = context;
  return serve_checked(&run->config, &run->err) < 0 ? 1 : 0;
}

static void request_stop(void *context)
{
  service_run *run = context;
  cf_server_stopper_request(run->config.stopper);
}

/* Runs the server as the service when the service control manager started
 * the process, else from the console, where Ctrl-C (SIGINT) stops it. */
static int run_server(service_run *run, cf_err **err)
{
  cf_service_body body = {.run = run_service, .request_stop = request_stop, .context = run};
  int status = 0;
  int rc = cf_service_run_if_started(&body, &status, err);
  if (rc < 0) {
    return -1;
  }
  if (rc == 1) {
    if (run->err != NULL) {
      *err = run->err;
      run->err = NULL;
      return -1;
    }
    return status == 0 ? 0
                       : cf_err_set(err, CF_E_SYSTEM, "the service ended with status %d", status);
  }
  return serve_checked(&run->config, err);
}

int cf_serve_run_server(const cf_server_config *config, cf_err **err)
{
  if (config->bind_socket != NULL) {
    return cf_err_set(err, CF_E_INVALID,
                      "--bind-socket %s: cfwin.exe listens on TCP only; give --bind-ip and "
                      "--bind-port instead",
                      config->bind_socket);
  }
  service_run run = {.config = *config};
  run.config.stopper = cf_server_stopper_new();
  if (run.config.stopper == NULL) {
    return cf_err_set(err, CF_E_SYSTEM, "create the server's stop request: uv_mutex_init failed");
  }
  run.config.on_started = report_running;
  int rc = run_server(&run, err);
  cf_server_stopper_free(run.config.stopper);
  return rc;
}

int cf_gdn_setup(const cf_server_config *config, cf_err **err)
{
  return cf_err_set(err, CF_E_NOT_IMPLEMENTED,
                    "gdn setup prepares cgroups and nftables of a Linux host; cfwin.exe has no "
                    "setup step: run `cfwin serve` (or `gdn server`) directly");
}

int cf_gdn_cleanup(const cf_server_config *config, cf_err **err)
{
  return cf_err_set(err, CF_E_NOT_IMPLEMENTED,
                    "gdn cleanup is not available in cfwin.exe yet: start the server with "
                    "--destroy-containers-on-startup instead");
}
