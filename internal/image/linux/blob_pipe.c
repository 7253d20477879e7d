/* SPDX-License-Identifier: Apache-2.0 */
/* cf_blob_pipe_write on Linux: the unpack thread reads a socket pair. */
#include <errno.h>
#include <sys/socket.h>

#include "image/blob.h"

/* send() with MSG_NOSIGNAL, so a closed reader gives EPIPE and not SIGPIPE. */
int cf_blob_pipe_write(int fd, const void *data, size_t len, cf_err **err)
{
  const char *bytes = data;
  while (len > 0) {
    ssize_t n = send(fd, bytes, len, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return cf_err_sys(err, errno, "pass the blob to the unpack thread");
    }
    bytes += n;
    len -= (size_t)n;
  }
  return 0;
}
