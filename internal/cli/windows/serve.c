/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `cfwin serve` (and `gdn server`) in cfwin.exe. The Garden server has no
 * Windows backend yet, so the role checks the host and exits 1 with a
 * message that names what is missing: the Host Compute Service
 * (computecore.dll and its calls) or, on a host that has it, the server's
 * Windows backend. Started by the service control manager, it runs as the
 * service (service/windows/scm.c), so the manager sees the same exit
 * status as a console user.
 */
#include <stdio.h>
#include <string.h>
#include <windows.h>

#include "base/err.h"
#include "cli/cli_internal.h"
#include "runtime/windows/hcs.h"
#include "service/windows/scm.h"

/* NOTE: the serve flags are not parsed here, because the flag table lives
 * in serve.c with the Linux server; any flags are accepted and unused. */
static void print_usage(FILE *out)
{
  fprintf(out, "usage: cfwin serve [gdn server flags]\n"
               "\n"
               "Serves the Garden API. In cfwin.exe the server has no Windows backend yet:\n"
               "serve checks for the Host Compute Service and exits with status 1.\n"
               "Run it as a Windows service or from a console.\n");
}

/* Returns the serve role's exit status: 1 with a message on stderr. */
static int run_server(void *context)
{
  cf_hcs_api api;
  cf_err *err = NULL;
  if (cf_hcs_api_load(&api, &err) < 0) {
    fprintf(stderr, "cfwin serve: the Host Compute Service is not available: %s\n", err->message);
    cf_err_free(err);
    return 1;
  }
  cf_hcs_api_unload(&api);
  fprintf(stderr, "cfwin serve: the Host Compute Service is available, but the Windows Garden "
                  "backend is not complete: cfwin.exe cannot serve the Garden API yet. Run "
                  "`cfwin serve` on Linux; `cfwin client` in cfwin.exe can reach it.\n");
  return 1;
}

/* run_server returns without waiting, so a stop has nothing to interrupt. */
static void request_stop(void *context)
{
}

int cf_cli_serve(int argc, char **argv, int start, cf_serve_mode mode)
{
  for (int i = start; i < argc; i++) {
    if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
      print_usage(stdout);
      return 0;
    }
  }
  cf_service_body body = {.run = run_server, .request_stop = request_stop};
  cf_err *err = NULL;
  int status = 0;
  int rc = cf_service_run_if_started(&body, &status, &err);
  if (rc < 0) {
    fprintf(stderr, "cfwin serve: %s\n", err->message);
    cf_err_free(err);
    return 1;
  }
  if (rc == 1) {
    return status;
  }
  return run_server(NULL);
}

void cf_cli_serve_help(void)
{
  print_usage(stdout);
}
