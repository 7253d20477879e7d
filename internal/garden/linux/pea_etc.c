/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copies the sandbox container's /etc/hosts and /etc/resolv.conf into a
 * new pea. Both roots are reached through /proc/<pid>/root with
 * openat2(RESOLVE_IN_ROOT), so a symlink in either container's tree
 * resolves inside that tree and never reaches the host's files.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/mem.h"
#include "garden/pea.h"

/* The largest file copied; a larger one fails the pea's create. */
#define MAX_ETC_FILE (64 * 1024)

static const char *const etc_files[] = {"etc/hosts", "etc/resolv.conf"};

static int open_in_root(int root_fd, const char *path, int flags, mode_t mode)
{
  struct open_how how = {
      .flags = (uint64_t)(flags | O_CLOEXEC),
      .mode = (flags & O_CREAT) ? mode : 0,
      .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
  };
  return (int)syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
}

/* Opens the root directory of a container's init after checking that the
 * pid still names that init. */
static int open_root(const cf_container_init *init, const char *what, int *root_fd, cf_err **err)
{
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/root", (int)init->pid);
  *root_fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (*root_fd < 0) {
    return cf_err_sys(err, errno, "open the root of the %s (init %d)", what, (int)init->pid);
  }
  if (!cf_runtime_container_alive(init)) {
    close(*root_fd);
    *root_fd = -1;
    return cf_err_set(err, CF_E_INVALID, "the %s (init %d) stopped", what, (int)init->pid);
  }
  return 0;
}

/* Reads a regular file of the sandbox into text. Sets *found to false
 * when the sandbox has no such file. */
static int read_file(int root_fd, const char *path, cf_buf *text, bool *found, cf_err **err)
{
  *found = false;
  cf_autoclose int fd = open_in_root(root_fd, path, O_RDONLY | O_NONBLOCK, 0);
  if (fd < 0) {
    return errno == ENOENT ? 0 : cf_err_sys(err, errno, "open /%s of the container", path);
  }
  struct stat st;
  if (fstat(fd, &st) < 0) {
    return cf_err_sys(err, errno, "stat /%s of the container", path);
  }
  if (!S_ISREG(st.st_mode)) {
    return 0; /* a FIFO or device is not copied */
  }
  char chunk[4096];
  for (;;) {
    ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return cf_err_sys(err, errno, "read /%s of the container", path);
    }
    if (n == 0) {
      break;
    }
    if (cf_buf_append(text, chunk, (size_t)n, err) < 0) {
      return cf_err_wrap(err, "read /%s of the container (at most %d bytes)", path, MAX_ETC_FILE);
    }
  }
  *found = true;
  return 0;
}

/* Sets *mount_id to the id of the mount that contains path below dir_fd ("" for
 * dir_fd itself), or to 0 when path does not exist. */
static int get_mount_id(int dir_fd, const char *path, uint64_t *mount_id)
{
  struct statx stx;
  int flags = AT_SYMLINK_NOFOLLOW | (path[0] == '\0' ? AT_EMPTY_PATH : 0);
  if (statx(dir_fd, path, flags, STATX_MNT_ID, &stx) < 0) {
    *mount_id = 0;
    return errno == ENOENT ? 0 : -1;
  }
  *mount_id = (stx.stx_mask & STATX_MNT_ID) != 0 ? stx.stx_mnt_id : 0;
  return 0;
}

/* Replaces the pea's file with a new regular file. Whatever the pea image
 * has at that path is unlinked first and never opened, because opening a
 * FIFO for writing would block until a reader comes, and a device or a
 * symlink would take the text elsewhere. A bind mount of the process spec
 * on /etc or on the file itself is left as it is: writing there would
 * change a host file. */
static int write_file(int root_fd, const char *path, const cf_buf *text, cf_err **err)
{
  if (mkdirat(root_fd, "etc", 0755) < 0 && errno != EEXIST) {
    return cf_err_sys(err, errno, "make /etc in the pea");
  }
  cf_autoclose int etc_fd = open_in_root(root_fd, "etc", O_PATH | O_DIRECTORY, 0);
  if (etc_fd < 0) {
    return cf_err_sys(err, errno, "open /etc of the pea");
  }
  const char *name = path + strlen("etc/");
  uint64_t root_mount = 0;
  uint64_t etc_mount = 0;
  uint64_t file_mount = 0;
  if (get_mount_id(root_fd, "", &root_mount) < 0 || get_mount_id(etc_fd, "", &etc_mount) < 0 ||
      get_mount_id(etc_fd, name, &file_mount) < 0) {
    return cf_err_sys(err, errno, "stat /%s of the pea", path);
  }
  if (etc_mount != root_mount || (file_mount != 0 && file_mount != root_mount)) {
    return 0;
  }
  if (unlinkat(etc_fd, name, 0) < 0 && errno != ENOENT) {
    return cf_err_sys(err, errno, "replace /%s of the pea", path);
  }
  cf_autoclose int fd =
      openat(etc_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) {
    return cf_err_sys(err, errno, "create /%s of the pea", path);
  }
  return cf_write_all(fd, text->data, text->len, err);
}

int cf_pea_copy_etc_files(const cf_container_init *sandbox, const cf_container_init *pea,
                          cf_err **err)
{
  cf_autoclose int sandbox_root = -1;
  cf_autoclose int pea_root = -1;
  if (open_root(sandbox, "container", &sandbox_root, err) < 0 ||
      open_root(pea, "pea", &pea_root, err) < 0) {
    return -1;
  }
  for (size_t i = 0; i < sizeof(etc_files) / sizeof(etc_files[0]); i++) {
    cf_buf text;
    cf_buf_init(&text, MAX_ETC_FILE);
    bool found = false;
    int rc = read_file(sandbox_root, etc_files[i], &text, &found, err);
    if (rc == 0 && found) {
      rc = write_file(pea_root, etc_files[i], &text, err);
    }
    cf_buf_free(&text);
    if (rc < 0) {
      return -1;
    }
  }
  return 0;
}
