/* SPDX-License-Identifier: Apache-2.0 */
/* Masked and read-only paths (OCI linux.maskedPaths, linux.readonlyPaths). */
#include <errno.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>

#include "base/mem.h"
#include "runtime/linux/security.h"

/* Mount flags a remount inside a user namespace must repeat, because the
 * kernel locks them on mounts inherited from a more privileged namespace:
 * the statfs() flag and the matching mount(2) flag. */
static const unsigned long locked_flags[][2] = {
    {ST_NOSUID, MS_NOSUID},   {ST_NODEV, MS_NODEV},           {ST_NOEXEC, MS_NOEXEC},
    {ST_NOATIME, MS_NOATIME}, {ST_NODIRATIME, MS_NODIRATIME}, {ST_RELATIME, MS_RELATIME},
};

int cf_sec_paths_from_oci(const json_t *paths, const char *field, char ***out, size_t *count,
                          cf_err **err)
{
  *out = NULL;
  *count = 0;
  if (!json_is_array(paths)) {
    return cf_err_set(err, CF_E_INVALID, "%s must be an array of paths", field);
  }
  size_t n = json_array_size(paths);
  char **strv = cf_xcalloc(n > 0 ? n : 1, sizeof(char *));
  for (size_t i = 0; i < n; i++) {
    const char *path = json_string_value(json_array_get(paths, i));
    if (path == NULL || path[0] != '/') {
      cf_strv_free(strv, i);
      return cf_err_set(err, CF_E_INVALID, "%s entry %zu is not an absolute path", field, i);
    }
    strv[i] = cf_xstrdup(path);
  }
  *out = strv;
  *count = n;
  return 0;
}

/* ---- child side ---- */

static bool missing(int err)
{
  return err == ENOENT || err == ENOTDIR;
}

static int mask_path(const char *path, cf_sec_fault *fault)
{
  struct stat st;
  if (stat(path, &st) < 0) {
    if (missing(errno)) {
      return 0;
    }
    *fault = (cf_sec_fault){"stat masked path", path};
    return -1;
  }
  int rc;
  if (S_ISDIR(st.st_mode)) {
    rc = mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0");
  } else {
    rc = mount("/dev/null", path, NULL, MS_BIND, NULL);
  }
  if (rc < 0) {
    *fault = (cf_sec_fault){"mask path", path};
    return -1;
  }
  return 0;
}

static int make_readonly(const char *path, cf_sec_fault *fault)
{
  if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0) {
    if (missing(errno)) {
      return 0;
    }
    *fault = (cf_sec_fault){"bind mount read-only path", path};
    return -1;
  }
  struct statfs st;
  if (statfs(path, &st) < 0) {
    *fault = (cf_sec_fault){"stat read-only path", path};
    return -1;
  }
  unsigned long locked = 0;
  for (size_t i = 0; i < sizeof(locked_flags) / sizeof(locked_flags[0]); i++) {
    if (((unsigned long)st.f_flags & locked_flags[i][0]) != 0) {
      locked |= locked_flags[i][1];
    }
  }
  if (mount(path, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | locked, NULL) < 0) {
    *fault = (cf_sec_fault){"remount read-only", path};
    return -1;
  }
  return 0;
}

int cf_sec_apply_paths(const cf_sec_plan *plan, cf_sec_fault *fault)
{
  for (size_t i = 0; i < plan->masked_count; i++) {
    if (mask_path(plan->masked_paths[i], fault) < 0) {
      return -1;
    }
  }
  for (size_t i = 0; i < plan->readonly_count; i++) {
    if (make_readonly(plan->readonly_paths[i], fault) < 0) {
      return -1;
    }
  }
  return 0;
}
