/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The part of base/fs.h that cfwin.exe uses today. base/fs.c itself needs
 * POSIX calls mingw-w64 lacks (openat, fdopendir, sys/random.h), so
 * cfwin.exe links this file in its place. A function missing here fails at
 * link time. Paths may use '/' or '\' as separators.
 */
#include <direct.h>
#include <errno.h>
#include <fcntl.h>
#include <io.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>

#include "base/fs.h"
#include "base/mem.h"

static bool is_separator(char c)
{
  return c == '/' || c == '\\';
}

char *cf_path_join(const char *dir, const char *name)
{
  size_t len = strlen(dir);
  while (is_separator(*name)) {
    name++;
  }
  if (len > 0 && is_separator(dir[len - 1])) {
    return cf_xasprintf("%s%s", dir, name);
  }
  return cf_xasprintf("%s/%s", dir, name);
}

/* Creates one directory; an existing one is success. */
static int make_one(const char *path, cf_err **err)
{
  if (_mkdir(path) < 0 && errno != EEXIST) {
    return cf_err_sys(err, errno, "create directory %s", path);
  }
  return 0;
}

/* mode is ignored: Windows directories inherit their parent's ACL. */
int cf_mkdir_p(const char *path, mode_t mode, cf_err **err)
{
  cf_autofree char *copy = cf_xstrdup(path);
  size_t len = strlen(copy);
  if (len == 0) {
    return cf_err_set(err, CF_E_INVALID, "directory path is empty");
  }
  /* The first separator is a root: "\dir", or "C:\dir" after a drive. */
  size_t skip = copy[1] == ':' ? 3 : 1;
  char *start = copy + (skip < len ? skip : len);
  for (char *p = start; *p != '\0'; p++) {
    if (!is_separator(*p)) {
      continue;
    }
    char separator = *p;
    *p = '\0';
    if (make_one(copy, err) < 0) {
      return -1;
    }
    *p = separator;
  }
  if (make_one(copy, err) < 0) {
    return -1;
  }
  struct _stat64 st;
  if (_stat64(copy, &st) < 0) {
    return cf_err_sys(err, errno, "stat %s", copy);
  }
  if ((st.st_mode & _S_IFDIR) == 0) {
    return cf_err_set(err, CF_E_EXISTS, "%s exists and is not a directory", copy);
  }
  return 0;
}

int cf_read_file(const char *path, cf_buf *buf, cf_err **err)
{
  int fd = _open(path, _O_RDONLY | _O_BINARY | _O_NOINHERIT);
  if (fd < 0) {
    return cf_err_sys(err, errno, "open %s", path);
  }
  char chunk[65536];
  int rc = 0;
  for (;;) {
    int n = _read(fd, chunk, sizeof(chunk));
    if (n < 0) {
      rc = cf_err_sys(err, errno, "read %s", path);
      break;
    }
    if (n == 0) {
      break;
    }
    if (cf_buf_append(buf, chunk, (size_t)n, err) < 0) {
      rc = cf_err_wrap(err, "read %s", path);
      break;
    }
  }
  _close(fd);
  return rc;
}

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

static bool is_handle_char(char c, bool first)
{
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
    return true;
  }
  return !first && (c == '_' || c == '.' || c == '-');
}

/* NOTE: a copy of base/fs.c's handle rule, which lives in a file that does
 * not build for Windows; the two must change together. */
int cf_handle_validate(const char *handle, cf_err **err)
{
  size_t len = strlen(handle);
  bool valid = len > 0 && len <= 128;
  for (size_t i = 0; valid && i < len; i++) {
    valid = is_handle_char(handle[i], i == 0);
  }
  if (!valid) {
    return cf_err_set(err, CF_E_INVALID,
                      "invalid handle \"%s\": use 1 to 128 characters from [A-Za-z0-9_.-], "
                      "starting with a letter or digit",
                      handle);
  }
  return 0;
}
