/* SPDX-License-Identifier: Apache-2.0 */
/* Loop devices for size-limited writable layers, through the loop ioctls. */
#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/mem.h"
#include "image/volume.h"

/* Attempts when another process takes the free device first. */
#define ATTACH_ATTEMPTS 16

static int free_loop_number(int *number, cf_err **err)
{
  cf_autoclose int control = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
  if (control < 0) {
    return cf_err_sys(err, errno, "open /dev/loop-control");
  }
  int n = ioctl(control, LOOP_CTL_GET_FREE);
  if (n < 0) {
    return cf_err_sys(err, errno, "find a free loop device");
  }
  *number = n;
  return 0;
}

/* Binds the file to the device with LOOP_CONFIGURE (Linux 5.8), or with
 * LOOP_SET_FD and LOOP_SET_STATUS64 on older kernels. */
static int configure(int device_fd, int file_fd, const char *file)
{
  struct loop_config config = {.fd = (unsigned int)file_fd};
  snprintf((char *)config.info.lo_file_name, sizeof(config.info.lo_file_name), "%s", file);
  if (ioctl(device_fd, LOOP_CONFIGURE, &config) == 0) {
    return 0;
  }
  if (errno != EINVAL && errno != ENOTTY) {
    return -1;
  }
  if (ioctl(device_fd, LOOP_SET_FD, file_fd) < 0) {
    return -1;
  }
  if (ioctl(device_fd, LOOP_SET_STATUS64, &config.info) < 0) {
    int saved = errno;
    ioctl(device_fd, LOOP_CLR_FD, 0);
    errno = saved;
    return -1;
  }
  return 0;
}

/* Sets *busy when another process took the device between the lookup and
 * the bind. */
static int attach_to(const char *device, const char *file, bool *busy, cf_err **err)
{
  *busy = false;
  cf_autoclose int file_fd = open(file, O_RDWR | O_CLOEXEC);
  if (file_fd < 0) {
    return cf_err_sys(err, errno, "open filesystem image %s", file);
  }
  cf_autoclose int device_fd = open(device, O_RDWR | O_CLOEXEC);
  if (device_fd < 0) {
    return cf_err_sys(err, errno, "open loop device %s", device);
  }
  if (configure(device_fd, file_fd, file) < 0) {
    *busy = errno == EBUSY;
    return cf_err_sys(err, errno, "attach %s to loop device %s", file, device);
  }
  return 0;
}

int cf_loop_attach(cf_store *store, const char *handle, const char *file, char **device,
                   cf_err **err)
{
  for (int attempt = 0; attempt < ATTACH_ATTEMPTS; attempt++) {
    int number = 0;
    if (free_loop_number(&number, err) < 0) {
      return -1;
    }
    cf_autofree char *path = cf_xasprintf("/dev/loop%d", number);
    if (cf_store_volume_set_loop(store, handle, path, file, err) < 0) {
      return -1;
    }
    bool busy = false;
    if (attach_to(path, file, &busy, err) == 0) {
      cf_log(CF_LOG_DEBUG, "loop-attached", "{s:s, s:s}", "device", path, "file", file);
      *device = cf_steal(&path);
      return 0;
    }
    if (!busy) {
      return -1;
    }
    cf_err_clear(err);
  }
  return cf_err_set(err, CF_E_BUSY,
                    "attach %s: every free loop device was taken by another process in %d "
                    "attempts; retry",
                    file, ATTACH_ATTEMPTS);
}

/* Reads /sys/block/loopN/loop/backing_file; *attached is false when the
 * device has no backing file. */
static int read_backing_file(const char *device, char **backing, bool *attached, cf_err **err)
{
  const char *name = strrchr(device, '/');
  name = name != NULL ? name + 1 : device;
  cf_autofree char *sys = cf_xasprintf("/sys/block/%s/loop/backing_file", name);
  cf_buf text;
  cf_buf_init(&text, 8192);
  cf_err *read_err = NULL;
  if (cf_read_file(sys, &text, &read_err) < 0) {
    cf_buf_free(&text);
    bool gone = read_err->code == CF_E_NOT_FOUND ||
                (read_err->code == CF_E_SYSTEM && read_err->sys_errno == ENOENT);
    if (gone) {
      cf_err_free(read_err);
      *attached = false;
      return 0;
    }
    if (err != NULL) {
      cf_err_free(*err);
      *err = read_err;
    } else {
      cf_err_free(read_err);
    }
    return -1;
  }
  char *value = cf_buf_take(&text);
  value[strcspn(value, "\n")] = '\0';
  *backing = value;
  *attached = true;
  return 0;
}

int cf_loop_detach(const char *device, const char *file, cf_err **err)
{
  cf_autofree char *backing = NULL;
  bool attached = false;
  if (read_backing_file(device, &backing, &attached, err) < 0) {
    return cf_err_wrap(err, "read the backing file of %s", device);
  }
  if (!attached || strcmp(backing, file) != 0) {
    return 0;
  }
  cf_autoclose int fd = open(device, O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    return cf_err_sys(err, errno, "open loop device %s", device);
  }
  /* While a mount still uses the device, the kernel turns LOOP_CLR_FD into
   * autoclear, so the device detaches when its last user closes it. */
  if (ioctl(fd, LOOP_CLR_FD, 0) < 0 && errno != ENXIO) {
    return cf_err_sys(err, errno, "detach loop device %s from %s", device, file);
  }
  cf_log(CF_LOG_DEBUG, "loop-detached", "{s:s, s:s}", "device", device, "file", file);
  return 0;
}
