/* SPDX-License-Identifier: Apache-2.0 */
/* Entry points of the roles, called by the dispatcher. */
#ifndef CFWIN_CLI_CLI_INTERNAL_H
#define CFWIN_CLI_CLI_INTERNAL_H

#include <stdbool.h>

#include "base/err.h"

enum cf_serve_command {
  CF_SERVE_SERVER,
  CF_SERVE_SETUP,
  CF_SERVE_CLEANUP,
};

typedef struct cf_serve_mode {
  bool as_gdn; /* gdn defaults: unix socket, gdn's depot, no default rootfs */
  enum cf_serve_command command;
  const char *config_path; /* gdn --config INI file, or NULL */
} cf_serve_mode;

/* Runs the server role on argv[start..]. Returns the exit status. */
int cf_cli_serve(int argc, char **argv, int start, cf_serve_mode mode);
void cf_cli_serve_help(void);

/* Runs the groot-compatible image role on argv[start..]. Returns the exit
 * status: 0, 1 for a failed command (message on stdout), 3 for an unknown
 * command. */
int cf_cli_image(int argc, char **argv, int start);

/* Sends the image role's log lines to stderr at the level named by
 * level_text (NULL: info). CF_E_INVALID for an unknown level. */
int cf_cli_image_configure_logging(const char *level_text, cf_err **err);

/* Replaces "see `cfwin help`" in err's message, which the shared option
 * parser writes, with "see `groot --help`", the usage of the image role. */
void cf_cli_image_use_groot_hint(cf_err *err);

/* Runs the winc-compatible runtime role on argv[start..]. Returns the exit
 * status: 0, 1 for a failed command (message on stderr), 3 for an unknown
 * command, or the process's status for an attached run or exec. */
int cf_cli_runtime(int argc, char **argv, int start);

/* Prints the version, commit and build flags (`cfwin version [--json]`).
 * Returns 0, or 2 for an unknown argument. */
int cf_cli_version(int argc, char **argv, int start);

/* Runs the winc-network-compatible network role on argv[start..]. Returns
 * the exit status: 0, or 1 for a failed action (message on stderr). */
int cf_cli_network(int argc, char **argv, int start);

#endif
