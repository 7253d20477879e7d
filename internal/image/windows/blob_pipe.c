/* SPDX-License-Identifier: Apache-2.0 */
/* cf_blob_pipe_write on Windows: the import reads an anonymous pipe
 * (_pipe), which has no SIGPIPE; a closed reader fails the write. */
#include <errno.h>
#include <unistd.h>

#include "image/blob.h"

int cf_blob_pipe_write(int fd, const void *data, size_t len, cf_err **err)
{
  const char *bytes = data;
  while (len > 0) {
    unsigned int piece = len > 65536 ? 65536u : (unsigned int)len;
    int n = write(fd, bytes, piece);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return cf_err_sys(err, errno, "pass the blob to the layer import");
    }
    bytes += n;
    len -= (size_t)n;
  }
  return 0;
}
