/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ext4 images for size-limited writable layers. The image is sized so that
 * its free space, read from the superblock mke2fs writes, is at least the
 * quota: each attempt grows or shrinks the file by the difference between
 * the quota and the free space the last attempt measured.
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/log.h"
#include "base/mem.h"
#include "image/volume.h"

#define BLOCK_SIZE 4096
#define MAX_ATTEMPTS 6
/* Smallest image size. mke2fs 1.47 formats 256 KiB (64 blocks of 4 KiB)
 * with these options, but the overlay mount on it fails with ENOSPC
 * (it_disk_limits, kernel 6.18), while 81 blocks, the size a 1-byte quota
 * gets, work. The old 1 MiB floor let a 1-byte quota hold 932 KiB, far
 * past CF_EXT4_SLACK. */
#define MIN_IMAGE_SIZE (320 * 1024)
#define MKE2FS_ERROR_MAX 4096

extern char **environ;

static uint32_t le32(const unsigned char *p)
{
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int cf_ext4_read_superblock(const char *path, int64_t *block_size, int64_t *blocks,
                            int64_t *free_blocks, cf_err **err)
{
  unsigned char sb[1024];
  cf_autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return cf_err_sys(err, errno, "open filesystem image %s", path);
  }
  if (pread(fd, sb, sizeof(sb), 1024) != (ssize_t)sizeof(sb)) {
    return cf_err_sys(err, errno == 0 ? EIO : errno, "read the superblock of %s", path);
  }
  if (sb[0x38] != 0x53 || sb[0x39] != 0xef) {
    return cf_err_set(err, CF_E_INVALID, "%s has no ext4 superblock", path);
  }
  bool is_64bit = (le32(sb + 0x60) & 0x80) != 0;
  uint64_t count = le32(sb + 0x04);
  uint64_t free_count = le32(sb + 0x0c);
  if (is_64bit) {
    count |= (uint64_t)le32(sb + 0x150) << 32;
    free_count |= (uint64_t)le32(sb + 0x158) << 32;
  }
  *block_size = (int64_t)1024 << le32(sb + 0x18);
  *blocks = (int64_t)count;
  *free_blocks = (int64_t)free_count;
  return 0;
}

static char *find_mke2fs(void)
{
  static const char *const candidates[] = {"/usr/sbin/mke2fs", "/sbin/mke2fs"};
  for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++) {
    if (access(candidates[i], X_OK) == 0) {
      return cf_xstrdup(candidates[i]);
    }
  }
  return cf_xstrdup("mke2fs");
}

/* Reads what the child wrote to its stderr pipe, for the error message. */
static void read_output(int fd, char *out, size_t size)
{
  size_t len = 0;
  ssize_t n;
  while (len + 1 < size && (n = read(fd, out + len, size - 1 - len)) > 0) {
    len += (size_t)n;
  }
  out[len] = '\0';
  while (len > 0 && (out[len - 1] == '\n' || out[len - 1] == ' ')) {
    out[--len] = '\0';
  }
}

/* NOTE: runs mke2fs from e2fsprogs. The options are fixed (no journal, no
 * reserved blocks, 4 KiB blocks, one inode per 16 KiB), so the overhead
 * that the sizing loop measures stays predictable. */
static int run_mke2fs(const char *image, const char *seed_dir, cf_err **err)
{
  cf_autofree char *program = find_mke2fs();
  const char *argv[] = {program,     "-F", "-q",     "-t",   "ext4", "-O",    "^has_journal",
                        "-m",        "0",  "-b",     "4096", "-i",   "16384", "-E",
                        "nodiscard", "-d", seed_dir, image,  NULL};
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) < 0) {
    return cf_err_sys(err, errno, "create a pipe for mke2fs");
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 2);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, program, &actions, NULL, (char *const *)argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  close(pipe_fds[1]);
  if (rc != 0) {
    close(pipe_fds[0]);
    return cf_err_sys(err, rc, "run %s (install e2fsprogs)", program);
  }
  char output[MKE2FS_ERROR_MAX];
  read_output(pipe_fds[0], output, sizeof(output));
  close(pipe_fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return cf_err_set(err, CF_E_SYSTEM, "%s failed on %s (status 0x%x): %s", program, image,
                      (unsigned)status, output);
  }
  return 0;
}

/* mke2fs -d copies the seed's owners, so upper and work get the owner of
 * "/" in the container. */
static int make_seed_dir(const char *seed, uid_t owner_uid, gid_t owner_gid, cf_err **err)
{
  cf_autofree char *upper = cf_path_join(seed, "upper");
  cf_autofree char *work = cf_path_join(seed, "work");
  const char *dirs[] = {seed, upper, work};
  for (size_t i = 0; i < 3; i++) {
    if ((mkdir(dirs[i], 0755) < 0 && errno != EEXIST) || chmod(dirs[i], 0755) < 0) {
      return cf_err_sys(err, errno, "create %s", dirs[i]);
    }
  }
  for (size_t i = 1; i < 3; i++) {
    if (lchown(dirs[i], owner_uid, owner_gid) < 0) {
      return cf_err_sys(err, errno, "set the owner of %s", dirs[i]);
    }
  }
  return 0;
}

/* Formats a sparse file of size bytes and reads its free space. */
static int format_image(const char *path, const char *seed, int64_t size, int64_t *free_bytes,
                        int64_t *used_bytes, cf_err **err)
{
  cf_autoclose int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    return cf_err_sys(err, errno, "create filesystem image %s", path);
  }
  if (ftruncate(fd, size) < 0) {
    return cf_err_sys(err, errno, "size filesystem image %s to %lld bytes", path, (long long)size);
  }
  if (run_mke2fs(path, seed, err) < 0) {
    return -1;
  }
  int64_t block_size = 0;
  int64_t blocks = 0;
  int64_t free_blocks = 0;
  if (cf_ext4_read_superblock(path, &block_size, &blocks, &free_blocks, err) < 0) {
    return -1;
  }
  *free_bytes = free_blocks * block_size;
  *used_bytes = (blocks - free_blocks) * block_size;
  return 0;
}

static int64_t round_up_blocks(int64_t bytes)
{
  return (bytes + BLOCK_SIZE - 1) / BLOCK_SIZE * BLOCK_SIZE;
}

/* First guess: ext4 metadata with these options takes about 2 % (inode
 * tables of 256 bytes per 16 KiB, bitmaps, group descriptors). */
static int64_t first_size(int64_t quota)
{
  int64_t size = round_up_blocks(quota + quota / 50 + 256 * 1024);
  return size < MIN_IMAGE_SIZE ? MIN_IMAGE_SIZE : size;
}

/* Returns the free bytes a writer cannot use. ext4 keeps 2 % of the blocks,
 * at most 4096 clusters, for delayed-allocation metadata
 * (ext4_calculate_resv_clusters() in Linux 6.x). A file of the quota's size
 * also needs a few extent and directory blocks. */
static int64_t unusable_bytes(int64_t quota)
{
  int64_t pool = quota / 50;
  if (pool > 4096LL * BLOCK_SIZE) {
    pool = 4096LL * BLOCK_SIZE;
  }
  return round_up_blocks(pool) + 16 * BLOCK_SIZE;
}

static int size_image(const char *path, const char *seed, int64_t user_quota, int64_t *base_used,
                      cf_err **err)
{
  int64_t quota = user_quota + unusable_bytes(user_quota);
  int64_t size = first_size(quota);
  int64_t best_size = 0;
  for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    int64_t free_bytes = 0;
    int64_t used = 0;
    if (format_image(path, seed, size, &free_bytes, &used, err) < 0) {
      return -1;
    }
    if (free_bytes >= quota && (best_size == 0 || size < best_size)) {
      best_size = size;
      *base_used = used;
    }
    if (free_bytes >= quota && free_bytes - quota <= CF_EXT4_SLACK) {
      return 0;
    }
    int64_t next = round_up_blocks(size + quota - free_bytes);
    size = next < MIN_IMAGE_SIZE ? MIN_IMAGE_SIZE : next;
    if (size == best_size) {
      break;
    }
  }
  if (best_size == 0) {
    return cf_err_set(err, CF_E_SYSTEM,
                      "size filesystem image %s: no size up to %d attempts gave %lld free bytes",
                      path, MAX_ATTEMPTS, (long long)quota);
  }
  int64_t free_bytes = 0;
  return format_image(path, seed, best_size, &free_bytes, base_used, err);
}

int cf_ext4_image_create(const char *path, int64_t quota, uid_t owner_uid, gid_t owner_gid,
                         int64_t *base_used, cf_err **err)
{
  /* The sizing arithmetic adds a few percent to the quota, so this bound
   * keeps every sum far below INT64_MAX. */
  if (quota <= 0 || quota > CF_VOLUME_MAX_DISK_LIMIT) {
    return cf_err_set(err, CF_E_INVALID, "ext4 writable layer quota %lld is not in 1..%lld bytes",
                      (long long)quota, (long long)CF_VOLUME_MAX_DISK_LIMIT);
  }
  cf_autofree char *seed = cf_xasprintf("%s.seed", path);
  int rc = make_seed_dir(seed, owner_uid, owner_gid, err);
  if (rc == 0) {
    rc = size_image(path, seed, quota, base_used, err);
  }
  cf_err *rm_err = NULL;
  if (cf_rm_rf(seed, &rm_err) < 0) {
    cf_log_error("volume.remove-seed-failed", rm_err, "{s:s}", "path", seed);
    cf_err_free(rm_err);
  }
  if (rc < 0) {
    return cf_err_wrap(err, "make a %lld-byte ext4 writable layer", (long long)quota);
  }
  return 0;
}
