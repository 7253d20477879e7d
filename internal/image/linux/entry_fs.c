/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "base/fs.h"
#include "base/mem.h"
#include "image/entry.h"

#define OPAQUE_XATTR "trusted.overlay.opaque"

int cf_image_entry_check_parents(const char *path, cf_err **err)
{
  cf_autofree char *prefix = cf_xstrdup(path);
  for (char *slash = strchr(prefix, '/'); slash != NULL; slash = strchr(slash + 1, '/')) {
    *slash = '\0';
    struct stat st;
    if (lstat(prefix, &st) < 0) {
      /* Nothing exists from here on, so no link can be in the way. */
      if (errno == ENOENT || errno == ENOTDIR) {
        return 0;
      }
      return cf_err_sys(err, errno, "stat \"%s\"", prefix);
    }
    if (S_ISLNK(st.st_mode)) {
      return cf_err_set(err, CF_E_INVALID, "passes through the symbolic link \"%s\"", prefix);
    }
    *slash = '/';
  }
  return 0;
}

/* Creates directory dir with mode 0755 and owner; an existing entry is
 * left for the caller's checks. */
static int make_owned_dir(const char *dir, const cf_dir_owner *owner, cf_err **err)
{
  if (mkdir(dir, 0755) < 0) {
    return errno == EEXIST ? 0 : cf_err_sys(err, errno, "create directory \"%s\"", dir);
  }
  if (lchown(dir, owner->uid, owner->gid) < 0) {
    return cf_err_sys(err, errno, "set the owner of directory \"%s\"", dir);
  }
  return 0;
}

int cf_image_entry_make_parents(const char *path, const cf_dir_owner *owner, cf_err **err)
{
  if (cf_image_entry_check_parents(path, err) < 0) {
    return -1;
  }
  cf_autofree char *prefix = cf_xstrdup(path);
  for (char *slash = strchr(prefix, '/'); slash != NULL; slash = strchr(slash + 1, '/')) {
    *slash = '\0';
    if (make_owned_dir(prefix, owner, err) < 0) {
      return -1;
    }
    *slash = '/';
  }
  return 0;
}

int cf_image_whiteout_create(const char *path, const cf_dir_owner *owner, cf_err **err)
{
  if (cf_image_entry_make_parents(path, owner, err) < 0) {
    return -1;
  }
  if (cf_rm_rf(path, err) < 0) {
    return -1;
  }
  if (mknod(path, S_IFCHR | 0000, makedev(0, 0)) < 0) {
    return cf_err_sys(err, errno, "create whiteout device \"%s\"", path);
  }
  return 0;
}

int cf_image_opaque_mark(const char *dir, const cf_dir_owner *owner, cf_err **err)
{
  if (strcmp(dir, ".") != 0) {
    if (cf_image_entry_make_parents(dir, owner, err) < 0 || make_owned_dir(dir, owner, err) < 0) {
      return -1;
    }
  }
  struct stat st;
  if (lstat(dir, &st) < 0) {
    return cf_err_sys(err, errno, "stat \"%s\"", dir);
  }
  if (!S_ISDIR(st.st_mode)) {
    return cf_err_set(err, CF_E_INVALID, "opaque whiteout in \"%s\", which is not a directory",
                      dir);
  }
  if (lsetxattr(dir, OPAQUE_XATTR, "y", 1, 0) < 0) {
    return cf_err_sys(err, errno, "set %s on \"%s\"", OPAQUE_XATTR, dir);
  }
  return 0;
}
