/* SPDX-License-Identifier: Apache-2.0 */
#include "base/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/mem.h"

char *cf_path_join(const char *dir, const char *name)
{
  size_t len = strlen(dir);
  while (*name == '/') {
    name++;
  }
  if (len > 0 && dir[len - 1] == '/') {
    return cf_xasprintf("%s%s", dir, name);
  }
  return cf_xasprintf("%s/%s", dir, name);
}

int cf_mkdir_p(const char *path, mode_t mode, cf_err **err)
{
  cf_autofree char *copy = cf_xstrdup(path);
  for (char *p = copy + 1; *p != '\0'; p++) {
    if (*p != '/') {
      continue;
    }
    *p = '\0';
    if (mkdir(copy, mode) < 0 && errno != EEXIST) {
      return cf_err_sys(err, errno, "create directory %s", copy);
    }
    *p = '/';
  }
  if (mkdir(copy, mode) < 0 && errno != EEXIST) {
    return cf_err_sys(err, errno, "create directory %s", copy);
  }
  struct stat st;
  if (stat(copy, &st) < 0) {
    return cf_err_sys(err, errno, "stat %s", copy);
  }
  if (!S_ISDIR(st.st_mode)) {
    return cf_err_set(err, CF_E_EXISTS, "%s exists and is not a directory", copy);
  }
  return 0;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
  (void)st;
  (void)ftw;
  int rc = (type == FTW_DP) ? rmdir(path) : unlink(path);
  if (rc < 0 && errno != ENOENT) {
    return errno;
  }
  return 0;
}

int cf_rm_rf(const char *path, cf_err **err)
{
  struct stat st;
  if (lstat(path, &st) < 0) {
    if (errno == ENOENT) {
      return 0;
    }
    return cf_err_sys(err, errno, "stat %s", path);
  }
  int rc = nftw(path, remove_entry, 64, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
  if (rc < 0) {
    return cf_err_sys(err, errno, "remove %s", path);
  }
  if (rc > 0) {
    return cf_err_sys(err, rc, "remove %s", path);
  }
  return 0;
}

int cf_read_file(const char *path, cf_buf *buf, cf_err **err)
{
  cf_autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return cf_err_sys(err, errno, "open %s", path);
  }
  char chunk[65536];
  for (;;) {
    ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return cf_err_sys(err, errno, "read %s", path);
    }
    if (n == 0) {
      return 0;
    }
    if (cf_buf_append(buf, chunk, (size_t)n, err) < 0) {
      return cf_err_wrap(err, "read %s", path);
    }
  }
}

int cf_write_all(int fd, const void *data, size_t len, cf_err **err)
{
  const char *p = data;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
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

int cf_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode, cf_err **err)
{
  cf_autofree char *tmp = cf_xasprintf("%s.tmp-%d", path, (int)getpid());
  cf_autoclose int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) {
    return cf_err_sys(err, errno, "create %s", tmp);
  }
  if (cf_write_all(fd, data, len, err) < 0 || fsync(fd) < 0) {
    if (err != NULL && *err == NULL) {
      cf_err_sys(err, errno, "fsync");
    }
    unlink(tmp);
    return cf_err_wrap(err, "write %s", tmp);
  }
  if (rename(tmp, path) < 0) {
    int saved = errno;
    unlink(tmp);
    return cf_err_sys(err, saved, "rename %s to %s", tmp, path);
  }
  return 0;
}

int cf_random_hex(char *out, size_t n, cf_err **err)
{
  static const char hex[] = "0123456789abcdef";
  unsigned char raw[64];
  if (n > sizeof(raw)) {
    return cf_err_set(err, CF_E_INVALID, "random id of %zu bytes is longer than 64", n);
  }
  size_t got = 0;
  while (got < n) {
    ssize_t r = getrandom(raw + got, n - got, 0);
    if (r < 0 && errno == EINTR) {
      continue;
    }
    if (r < 0) {
      return cf_err_sys(err, errno, "getrandom");
    }
    got += (size_t)r;
  }
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = hex[raw[i] >> 4];
    out[2 * i + 1] = hex[raw[i] & 0xf];
  }
  out[2 * n] = '\0';
  return 0;
}

int cf_random_uuid(char out[37], cf_err **err)
{
  char hex[33];
  if (cf_random_hex(hex, 16, err) < 0) {
    return -1;
  }
  hex[12] = '4';
  hex[16] = "89ab"[hex[16] % 4];
  snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
  return 0;
}

static int is_handle_char(char c, int first)
{
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
    return 1;
  }
  return !first && (c == '_' || c == '.' || c == '-');
}

int cf_handle_validate(const char *handle, cf_err **err)
{
  size_t len = strlen(handle);
  if (len == 0 || len > 128) {
    return cf_err_set(err, CF_E_INVALID,
                      "invalid handle \"%s\": use 1 to 128 characters from [A-Za-z0-9_.-], "
                      "starting with a letter or digit",
                      handle);
  }
  for (size_t i = 0; i < len; i++) {
    if (!is_handle_char(handle[i], i == 0)) {
      return cf_err_set(err, CF_E_INVALID,
                        "invalid handle \"%s\": use 1 to 128 characters from [A-Za-z0-9_.-], "
                        "starting with a letter or digit",
                        handle);
    }
  }
  return 0;
}
