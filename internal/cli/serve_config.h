/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The server's config file in gdn's INI form (`gdn --config FILE server`
 * or `cfwin serve --config FILE`):
 *
 *   ; comment
 *   [server]
 *   bind-ip = 10.0.0.5
 *   dns-server = 10.0.0.2
 *   dns-server = 10.0.0.3
 *
 * Keys are the long flag names under the [server] section; a repeatable
 * flag repeats its key; a value may be in double quotes. A flag given on
 * the command line wins over the file: its keys in the file are skipped.
 */
#ifndef CFWIN_CLI_SERVE_CONFIG_H
#define CFWIN_CLI_SERVE_CONFIG_H

#include <stdbool.h>

#include "base/err.h"
#include "cli/flags.h"

/* Sets the flags from text, the contents of the config file at path (for
 * messages). text is changed in place and string values point into it, so
 * it must outlive the flags. from_command_line[i] true skips flags[i].
 * Errors are CF_E_INVALID and name the file, the line number and, for a bad
 * entry, its key and value. */
int cf_serve_config_apply(const char *path, char *text, cf_flag *flags, int count,
                          const bool *from_command_line, cf_err **err);

#endif
