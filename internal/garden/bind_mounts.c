/* SPDX-License-Identifier: Apache-2.0 */
#include "garden/bind_mounts.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "garden/json.h"

/* Garden's BindMountMode and BindMountOrigin values. */
#define MODE_RO 0
#define MODE_RW 1
#define ORIGIN_HOST 0
#define ORIGIN_CONTAINER 1

/* True for "/..." and, for Windows containers, "C:\..." or "C:/...". */
static bool is_absolute(const char *path)
{
  if (path[0] == '/') {
    return true;
  }
  return isalpha((unsigned char)path[0]) && path[1] == ':' && (path[2] == '\\' || path[2] == '/');
}

static int read_path(const json_t *entry, size_t index, const char *key, char **out, cf_err **err)
{
  const char *path = NULL;
  if (cf_json_get_string(entry, key, &path, err) < 0) {
    return cf_err_wrap(err, "bind_mounts[%zu]", index);
  }
  if (path == NULL || path[0] == '\0') {
    return cf_err_set(err, CF_E_INVALID, "bind_mounts[%zu].%s is missing: give an absolute path",
                      index, key);
  }
  if (!is_absolute(path)) {
    return cf_err_set(err, CF_E_INVALID,
                      "bind_mounts[%zu].%s %s is not an absolute path: give an absolute path",
                      index, key, path);
  }
  *out = cf_xstrdup(path);
  return 0;
}

static int read_choice(const json_t *entry, size_t index, const char *key, long long *out,
                       cf_err **err)
{
  if (cf_json_get_int(entry, key, out, err) < 0) {
    return cf_err_wrap(err, "bind_mounts[%zu]", index);
  }
  if (*out != 0 && *out != 1) {
    return cf_err_set(err, CF_E_INVALID, "invalid bind_mounts[%zu].%s %lld: use 0 or 1", index, key,
                      *out);
  }
  return 0;
}

/* Writes path into out (of size size) with empty and "." components
 * dropped: "//dev/./" becomes "/dev". Returns false when it does not fit. */
static bool normalize_path(const char *path, char *out, size_t size)
{
  size_t len = 0;
  for (const char *p = path; *p != '\0';) {
    size_t n = strcspn(p, "/");
    bool skip = n == 0 || (n == 1 && p[0] == '.');
    if (!skip) {
      if (len + 1 + n >= size) {
        return false;
      }
      out[len++] = '/';
      memcpy(out + len, p, n);
      len += n;
    }
    p += n;
    p += strspn(p, "/");
  }
  out[len] = '\0';
  return true;
}

/* Tells whether dst_path is a mount the runtime makes itself. A bind on /dev
 * would receive the init's device nodes in the host directory, and a bind
 * below /proc or /sys lands on a kernel file system. */
static bool is_runtime_mount(const char *dst_path)
{
  static const char *const exact[] = {"/dev", "/dev/pts", "/dev/shm"};
  static const char *const trees[] = {"/proc", "/sys"};
  char path[4096];
  if (!normalize_path(dst_path, path, sizeof(path))) {
    return false; /* too long to be one of them */
  }
  for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++) {
    if (strcmp(path, exact[i]) == 0) {
      return true;
    }
  }
  for (size_t i = 0; i < sizeof(trees) / sizeof(trees[0]); i++) {
    size_t n = strlen(trees[i]);
    if (strncmp(path, trees[i], n) == 0 && (path[n] == '\0' || path[n] == '/')) {
      return true;
    }
  }
  return false;
}

static int parse_entry(const json_t *entry, size_t index, cf_bind_mount *out, cf_err **err)
{
  if (!json_is_object(entry)) {
    return cf_err_set(err, CF_E_INVALID, "invalid bind_mounts[%zu]: expected an object", index);
  }
  long long mode = MODE_RO;
  long long origin = ORIGIN_HOST;
  if (read_choice(entry, index, "mode", &mode, err) < 0 ||
      read_choice(entry, index, "origin", &origin, err) < 0) {
    return -1;
  }
  /* NOTE: a source inside the container would have to be resolved within
   * its root filesystem (symlinks of the image must not reach the host),
   * which the runtime's mount code does not do yet. */
  if (origin == ORIGIN_CONTAINER) {
    return cf_err_set(err, CF_E_NOT_IMPLEMENTED,
                      "bind_mounts[%zu] has origin 1 (a source in the container), which cfwin "
                      "does not implement; give a host path with origin 0",
                      index);
  }
  out->read_write = mode == MODE_RW;
  if (read_path(entry, index, "src_path", &out->src_path, err) < 0 ||
      read_path(entry, index, "dst_path", &out->dst_path, err) < 0) {
    return -1;
  }
  /* A bind over the whole root would hide the image and the runtime's
   * own mounts. */
  if (strspn(out->dst_path, "/.") == strlen(out->dst_path)) {
    return cf_err_set(err, CF_E_INVALID,
                      "bind_mounts[%zu].dst_path %s is the container's root: give a directory "
                      "or file below it",
                      index, out->dst_path);
  }
  if (is_runtime_mount(out->dst_path)) {
    return cf_err_set(err, CF_E_INVALID,
                      "bind_mounts[%zu].dst_path %s is a mount the runtime makes itself (/dev, "
                      "/dev/pts, /dev/shm, /proc, /sys and below /proc and /sys): give another "
                      "directory",
                      index, out->dst_path);
  }
  return 0;
}

int cf_bind_mounts_parse(const json_t *spec, cf_bind_mount **out, size_t *count, cf_err **err)
{
  *out = NULL;
  *count = 0;
  json_t *array = cf_json_get(spec, "bind_mounts");
  if (array == NULL || json_is_null(array)) {
    return 0;
  }
  if (!json_is_array(array)) {
    return cf_err_set(err, CF_E_INVALID, "invalid value for \"bind_mounts\": expected an array");
  }
  size_t total = json_array_size(array);
  if (total == 0) {
    return 0;
  }
  cf_bind_mount *mounts = cf_xcalloc(total, sizeof(*mounts));
  for (size_t i = 0; i < total; i++) {
    if (parse_entry(json_array_get(array, i), i, &mounts[i], err) < 0) {
      cf_bind_mounts_free(mounts, total);
      return -1;
    }
  }
  *out = mounts;
  *count = total;
  return 0;
}

void cf_bind_mounts_free(cf_bind_mount *mounts, size_t count)
{
  if (mounts == NULL) {
    return;
  }
  for (size_t i = 0; i < count; i++) {
    free(mounts[i].src_path);
    free(mounts[i].dst_path);
  }
  free(mounts);
}
