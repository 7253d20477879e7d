/* SPDX-License-Identifier: Apache-2.0 */
/* Bundle loading with Windows paths and pid files for the runtime role's
 * Windows commands. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/mem.h"
#include "cli/windows/runtime_win.h"
#include "image/windows/win.h"

/* Largest config.json read, as on Linux. */
#define CONFIG_MAX (16 * 1024 * 1024)

static bool is_separator(char c)
{
  return c == '\\' || c == '/';
}

/* The absolute form of dir without trailing separators (a drive root
 * keeps its own). */
static char *absolute_dir(const char *dir, cf_err **err)
{
  char *full = _fullpath(NULL, dir, 0);
  if (full == NULL) {
    cf_err_sys(err, errno, "invalid bundle path %s", dir);
    return NULL;
  }
  size_t len = strlen(full);
  while (len > 3 && is_separator(full[len - 1])) {
    full[--len] = '\0';
  }
  return full;
}

static const char *base_name(const char *path)
{
  const char *base = path;
  for (const char *p = path; *p != '\0'; p++) {
    if (is_separator(*p) || *p == ':') {
      base = p + 1;
    }
  }
  return base;
}

static int read_config(const char *config, cf_buf *text, cf_err **err)
{
  cf_err *read_err = NULL;
  if (cf_read_file(config, text, &read_err) == 0) {
    if (text->len > CONFIG_MAX) {
      return cf_err_set(err, CF_E_LIMIT, "bundle config.json is larger than %d bytes: %s",
                        CONFIG_MAX, config);
    }
    return 0;
  }
  if (read_err->sys_errno == ENOENT) {
    cf_err_free(read_err);
    return cf_err_set(err, CF_E_NOT_FOUND, "bundle config.json does not exist: %s", config);
  }
  cf_err_free(*err);
  *err = read_err;
  return -1;
}

int wrt_bundle_load(const char *id, const char *bundle_dir, cf_bundle *out, cf_err **err)
{
  memset(out, 0, sizeof(*out));
  cf_autofree char *dir =
      absolute_dir(bundle_dir != NULL && bundle_dir[0] != '\0' ? bundle_dir : ".", err);
  if (dir == NULL) {
    return -1;
  }
  if (strcmp(base_name(dir), id) != 0) {
    return cf_err_set(err, CF_E_INVALID, "container id does not match bundle directory name: %s",
                      id);
  }
  struct stat st;
  if (stat(dir, &st) < 0 || (st.st_mode & _S_IFDIR) == 0) {
    return cf_err_set(err, CF_E_NOT_FOUND, "bundle does not exist: %s", dir);
  }
  cf_autofree char *config = cf_xasprintf("%s\\config.json", dir);
  cf_buf text;
  cf_buf_init(&text, CONFIG_MAX + 1);
  int rc = read_config(config, &text, err);
  if (rc == 0) {
    rc = cf_bundle_parse(dir, text.data != NULL ? text.data : "", text.len, CF_BUNDLE_WINDOWS, out,
                         err);
  }
  cf_buf_free(&text);
  return rc;
}

int wrt_write_pid_file(const char *path, DWORD pid, cf_err **err)
{
  if (path == NULL || path[0] == '\0') {
    return 0;
  }
  FILE *file = fopen(path, "wb");
  if (file == NULL) {
    return cf_err_sys(err, errno, "open pid file %s", path);
  }
  int written = fprintf(file, "%lu", (unsigned long)pid);
  if (fclose(file) != 0 || written < 0) {
    return cf_err_sys(err, errno, "write pid file %s", path);
  }
  return 0;
}
