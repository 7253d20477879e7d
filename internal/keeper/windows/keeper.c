/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The keeper role in cfwin.exe. Only the Linux Garden server starts
 * keepers; the Windows server keeps its processes itself, so the role only
 * states that.
 */
#include <stdio.h>

#include "keeper/keeper.h"

int cf_keeper_main(int argc, char **argv)
{
  (void)argc;
  (void)argv;
  fprintf(stderr, "cfwin keeper: the keeper role runs only beside the Linux Garden server, "
                  "which starts it; cfwin.exe's server keeps its processes without keepers, "
                  "so there is nothing to run here\n");
  return 2;
}
