/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The parts of `cfwin serve` that differ between the Linux cfwin and
 * cfwin.exe (linux/serve_platform.c, windows/serve.c). serve.c contains the
 * shared flag table, help and configuration.
 */
#ifndef CFWIN_CLI_SERVE_PLATFORM_H
#define CFWIN_CLI_SERVE_PLATFORM_H

#include "base/err.h"
#include "garden/server.h"

typedef struct cf_serve_defaults {
  const char *depot;     /* --depot of `cfwin serve` */
  const char *gdn_depot; /* --depot of `gdn server` */
  /* gdn's listener when neither --bind-ip nor --bind-socket is given;
   * NULL: TCP on 127.0.0.1, as `cfwin serve` listens. */
  const char *gdn_socket;
  /* Printed after the options in the help, or NULL: what the platform's
   * server does not support. */
  const char *help_note;
} cf_serve_defaults;

extern const cf_serve_defaults cf_serve_platform_defaults;

/* Returns the absolute path of the existing directory path as a new
 * string, or NULL with errno set. */
char *cf_serve_absolute_path(const char *path);

/* Runs the server until a stop is requested: on Linux by SIGTERM or
 * SIGINT; in cfwin.exe also by the service control manager when it
 * started the process. */
int cf_serve_run_server(const cf_server_config *config, cf_err **err);

#endif
