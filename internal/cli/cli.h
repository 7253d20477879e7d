/* SPDX-License-Identifier: Apache-2.0 */
/* Command-line front ends: role dispatch and one entry point per role. */
#ifndef CFWIN_CLI_CLI_H
#define CFWIN_CLI_CLI_H

/* Picks the role from argv[0] or the first argument and runs it. Returns the
 * process exit status. */
int cf_cli_main(int argc, char **argv);

#endif
