/* SPDX-License-Identifier: Apache-2.0 */
/* The mount list of a Linux container with Garden bind mounts. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "base/mem.h"
#include "garden/bind_mounts.h"

/* The mounts the runtime makes itself when a spec has none, with the same
 * flags and options, so a container with bind mounts looks the same. */
static const char *const proc_options[] = {"nosuid", "nodev", "noexec"};
static const char *const dev_options[] = {"nosuid", "strictatime", "mode=755", "size=65536k"};
static const char *const pts_options[] = {"nosuid", "noexec", "newinstance", "ptmxmode=0666",
                                          "mode=0620"};
static const char *const shm_options[] = {"nosuid", "nodev", "noexec", "mode=1777"};
static const char *const sys_options[] = {"ro", "nosuid", "nodev", "noexec"};

#define OPTIONS(list) list, sizeof(list) / sizeof(list[0])

static const cf_mount_spec base_mounts[] = {
    {"/proc", "proc", "proc", OPTIONS(proc_options)},
    {"/dev", "tmpfs", "tmpfs", OPTIONS(dev_options)},
    {"/dev/pts", "devpts", "devpts", OPTIONS(pts_options)},
    {"/dev/shm", "tmpfs", "shm", OPTIONS(shm_options)},
    {"/sys", "sysfs", "sysfs", OPTIONS(sys_options)},
};

#define BASE_COUNT (sizeof(base_mounts) / sizeof(base_mounts[0]))

/* nosuid keeps set-user-id programs of a host path from gaining privilege
 * in the container. The runtime remounts each bind with exactly the flags
 * of its options, which would clear the source mount's ro, nodev and
 * noexec, so bind_options() copies those flags from the source. */
#define MAX_BIND_OPTIONS 5

static int check_source(const cf_bind_mount *bind, struct statvfs *fs, cf_err **err)
{
  struct stat st;
  if (stat(bind->src_path, &st) == 0 && statvfs(bind->src_path, fs) == 0) {
    return 0;
  }
  int saved = errno;
  if (saved == ENOENT) {
    return cf_err_set(err, CF_E_INVALID,
                      "bind mount source %s for %s: no such file or directory; create it on the "
                      "host first",
                      bind->src_path, bind->dst_path);
  }
  return cf_err_sys(err, saved, "bind mount source %s for %s", bind->src_path, bind->dst_path);
}

/* Builds the options of one bind in a new array of string constants. */
static const char **bind_options(const cf_bind_mount *bind, const struct statvfs *fs, size_t *count)
{
  const char **options = cf_xcalloc(MAX_BIND_OPTIONS, sizeof(*options));
  size_t n = 0;
  options[n++] = "bind";
  options[n++] = bind->read_write && (fs->f_flag & ST_RDONLY) == 0 ? "rw" : "ro";
  options[n++] = "nosuid";
  if (fs->f_flag & ST_NODEV) {
    options[n++] = "nodev";
  }
  if (fs->f_flag & ST_NOEXEC) {
    options[n++] = "noexec";
  }
  *count = n;
  return options;
}

int cf_mount_list_build(const cf_bind_mount *binds, size_t bind_count, cf_mount_list *out,
                        cf_err **err)
{
  out->mounts = NULL;
  out->count = 0;
  struct statvfs *sources = cf_xcalloc(bind_count + 1, sizeof(*sources));
  for (size_t i = 0; i < bind_count; i++) {
    if (check_source(&binds[i], &sources[i], err) < 0) {
      free(sources);
      return -1;
    }
  }
  cf_mount_spec *mounts = cf_xcalloc(BASE_COUNT + bind_count, sizeof(*mounts));
  memcpy(mounts, base_mounts, sizeof(base_mounts));
  for (size_t i = 0; i < bind_count; i++) {
    cf_mount_spec *m = &mounts[BASE_COUNT + i];
    m->destination = binds[i].dst_path;
    m->type = "bind";
    m->source = binds[i].src_path;
    m->options = bind_options(&binds[i], &sources[i], &m->option_count);
  }
  free(sources);
  out->mounts = mounts;
  out->count = BASE_COUNT + bind_count;
  return 0;
}

void cf_mount_list_free(cf_mount_list *list)
{
  for (size_t i = BASE_COUNT; i < list->count; i++) {
    free((void *)list->mounts[i].options);
  }
  free(list->mounts);
  list->mounts = NULL;
  list->count = 0;
}
