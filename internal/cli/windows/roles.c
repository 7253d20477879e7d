/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The runtime and image roles in cfwin.exe. Their command-line front ends
 * (internal/cli/runtime*.c, image.c) use POSIX names mingw-w64 lacks
 * (sigset_t, sys/statvfs.h), and the image module keeps Linux-only files
 * outside internal/image/linux (volume_loop.c, volume_ext4.c, fts in
 * volume_stats.c), so they are not compiled for Windows yet. Each role
 * exits 1 with a message that states this. The Windows backends of the
 * runtime and image modules are built into the check programs
 * cfwin-hcscheck.exe and cfwin-wincheck.exe instead.
 */
#include <stdio.h>

#include "cli/cli_internal.h"

static int not_on_windows(const char *role, const char *upstream)
{
  fprintf(stderr,
          "cfwin %s: the %s-compatible role is not built into cfwin.exe yet, because its "
          "shared code still uses POSIX calls that Windows lacks. Run this role on Linux, or "
          "use the upstream %s.exe on Windows.\n",
          role, upstream, upstream);
  return 1;
}

int cf_cli_runtime(int argc, char **argv, int start)
{
  return not_on_windows("runtime", "winc");
}

int cf_cli_image(int argc, char **argv, int start)
{
  return not_on_windows("image", "groot");
}
