/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The part of base/fs.h that cfwin.exe uses today. base/fs.c itself needs
 * POSIX headers mingw-w64 lacks (sys/random.h for getrandom), so cfwin.exe
 * links this file in its place. A function missing here fails at link time.
 */
#include <errno.h>
#include <io.h>
#include <limits.h>

#include "base/fs.h"

int cf_write_all(int fd, const void *data, size_t len, cf_err **err)
{
  const char *p = data;
  while (len > 0) {
    unsigned chunk = len > INT_MAX ? INT_MAX : (unsigned)len;
    int n = _write(fd, p, chunk);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return cf_err_sys(err, errno, "write");
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}
