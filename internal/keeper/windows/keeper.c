/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The keeper role in cfwin.exe. Keepers exist for the Linux Garden server,
 * which cfwin.exe does not contain yet, so the role only states that.
 */
#include <stdio.h>

#include "keeper/keeper.h"

int cf_keeper_main(int argc, char **argv)
{
  (void)argc;
  (void)argv;
  fprintf(stderr, "cfwin keeper: the keeper role runs only beside the Linux Garden server; "
                  "cfwin.exe has no Garden server that starts keepers yet\n");
  return 2;
}
