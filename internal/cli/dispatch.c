/* SPDX-License-Identifier: Apache-2.0 */
#include "cli/cli.h"

#include <stdio.h>

int cf_cli_main(int argc, char **argv)
{
  (void)argc;
  (void)argv;
  fprintf(stderr, "cfwin: not built yet\n");
  return 2;
}
