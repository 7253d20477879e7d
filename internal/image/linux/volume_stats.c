/* SPDX-License-Identifier: Apache-2.0 */
/* Disk use of a volume's writable layer. */
#include <errno.h>
#include <fts.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/mem.h"
#include "image/layer_store.h"
#include "image/volume.h"
#include "image/volume_internal.h"

/* Sums the allocated bytes of every file under dir, counting a hard-linked
 * inode once per link (overlayfs rarely makes them in upper). */
static int walk_usage(const char *dir, int64_t *bytes, cf_err **err)
{
  char *paths[] = {(char *)dir, NULL};
  FTS *fts = fts_open(paths, FTS_PHYSICAL | FTS_XDEV | FTS_NOCHDIR, NULL);
  if (fts == NULL) {
    return cf_err_sys(err, errno, "walk %s", dir);
  }
  int64_t total = 0;
  FTSENT *entry;
  while ((entry = fts_read(fts)) != NULL) {
    if (entry->fts_info == FTS_DP || entry->fts_statp == NULL || entry->fts_level == 0) {
      continue;
    }
    if (entry->fts_info == FTS_ERR || entry->fts_info == FTS_DNR) {
      int saved = entry->fts_errno;
      cf_autofree char *path = cf_xstrdup(entry->fts_path);
      fts_close(fts);
      return cf_err_sys(err, saved, "walk %s", path);
    }
    total += (int64_t)entry->fts_statp->st_blocks * 512;
  }
  int saved = errno;
  fts_close(fts);
  if (saved != 0) {
    return cf_err_sys(err, saved, "walk %s", dir);
  }
  *bytes = total;
  return 0;
}

/* Mounts the device in a child's private mount namespace and returns the
 * free blocks statfs(2) reports. A device the container has mounted shares
 * that mount's superblock, so the figure is live; the child's mount goes
 * away with its namespace. */
static int statfs_private(const char *device, const char *mount_dir, struct statfs *out,
                          cf_err **err)
{
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) < 0) {
    return cf_err_sys(err, errno, "create a pipe to measure %s", device);
  }
  pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return cf_err_sys(err, errno, "fork to measure %s", device);
  }
  if (pid == 0) {
    struct statfs st;
    int result = 0;
    if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
        mount(device, mount_dir, "ext4", MS_NOATIME, NULL) < 0 || statfs(mount_dir, &st) < 0) {
      result = errno;
    }
    if (write(fds[1], &result, sizeof(result)) != sizeof(result) ||
        (result == 0 && write(fds[1], &st, sizeof(st)) != sizeof(st))) {
      _exit(1);
    }
    _exit(0);
  }
  close(fds[1]);
  int result = EIO;
  bool ok = read(fds[0], &result, sizeof(result)) == sizeof(result) && result == 0 &&
            read(fds[0], out, sizeof(*out)) == sizeof(*out);
  close(fds[0]);
  while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
  }
  if (!ok) {
    return cf_err_sys(err, result != 0 ? result : EIO, "mount %s privately to measure it", device);
  }
  return 0;
}

static int limited_usage(const cf_volume_record *record, int64_t *bytes, cf_err **err)
{
  int64_t block_size = 0;
  int64_t blocks = 0;
  int64_t free_blocks = 0;
  if (cf_ext4_read_superblock(record->backing_file, &block_size, &blocks, &free_blocks, err) < 0) {
    return -1;
  }
  cf_autofree char *mount_dir = cf_path_join(record->path, "mnt");
  struct statfs st;
  if (statfs_private(record->loop_device, mount_dir, &st, err) < 0) {
    return -1;
  }
  int64_t used = blocks * block_size - (int64_t)st.f_bfree * (int64_t)st.f_bsize;
  *bytes = used > record->fs_base_used ? used - record->fs_base_used : 0;
  return 0;
}

int cf_volume_stats_get(cf_image_store *images, const char *handle, cf_volume_stats *out,
                        cf_err **err)
{
  cf_volume_record record;
  cf_err *get_err = NULL;
  if (cf_store_volume_get(images->store, handle, &record, &get_err) < 0) {
    enum cf_code code = get_err->code;
    cf_err_free(get_err);
    return cf_err_set(err, code, "could not get volume path for bundle ID: %s", handle);
  }
  int64_t exclusive = 0;
  int rc;
  if (record.loop_device != NULL && record.backing_file != NULL) {
    rc = limited_usage(&record, &exclusive, err);
  } else {
    cf_autofree char *upper = cf_path_join(record.path, "upper");
    rc = walk_usage(upper, &exclusive, err);
  }
  if (rc == 0) {
    out->exclusive_bytes_used = exclusive;
    out->total_bytes_used = record.image_size + exclusive;
  } else {
    cf_err_wrap(err, "stats of volume %s", handle);
  }
  cf_volume_record_clear(&record);
  return rc;
}
