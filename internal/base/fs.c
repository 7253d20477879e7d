/* SPDX-License-Identifier: Apache-2.0 */
#include "base/fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
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

/* One directory on the path down from the top of cf_rm_rf: its identity,
 * checked on the way back up through "..", and the subdirectories left to
 * remove. The walk keeps one directory open and never builds a full path,
 * so it also removes trees deeper than PATH_MAX or the descriptor limit. */
typedef struct rm_level {
  dev_t dev;
  ino_t ino;
  bool scanned;
  char **subdirs;
  size_t count;
  size_t capacity;
  size_t next;
} rm_level;

static void rm_level_clear(rm_level *level)
{
  cf_strv_free(level->subdirs, level->count);
  memset(level, 0, sizeof(*level));
}

static bool is_subdir(int fd, const struct dirent *d)
{
  if (d->d_type != DT_UNKNOWN) {
    return d->d_type == DT_DIR;
  }
  struct stat st;
  return fstatat(fd, d->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

static void rm_level_add(rm_level *level, const char *name)
{
  if (level->count == level->capacity) {
    level->capacity = level->capacity == 0 ? 8 : level->capacity * 2;
    level->subdirs = cf_xrealloc(level->subdirs, level->capacity * sizeof(*level->subdirs));
  }
  level->subdirs[level->count++] = cf_xstrdup(name);
}

/* Unlinks every entry of directory fd except subdirectories, whose names
 * it adds to level. Returns 0 or an errno value. */
static int rm_scan(int fd, rm_level *level)
{
  level->scanned = true;
  int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  DIR *dir = copy < 0 ? NULL : fdopendir(copy);
  if (dir == NULL) {
    int error = errno;
    cf_closep(&copy);
    return error;
  }
  int rc = 0;
  for (;;) {
    errno = 0;
    struct dirent *d = readdir(dir);
    if (d == NULL) {
      rc = errno;
      break;
    }
    if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0) {
      continue;
    }
    if (is_subdir(fd, d)) {
      rm_level_add(level, d->d_name);
    } else if (unlinkat(fd, d->d_name, 0) < 0 && errno != ENOENT) {
      rc = errno;
      break;
    }
  }
  closedir(dir);
  return rc;
}

/* Opens directory fd/name. It must be on device dev, because the removal
 * does not cross into other mounts (EXDEV otherwise). */
static int rm_open_child(int fd, const char *name, dev_t dev, int *child, struct stat *st)
{
  *child = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (*child < 0) {
    return errno;
  }
  int rc = 0;
  if (fstat(*child, st) < 0) {
    rc = errno;
  } else if (st->st_dev != dev) {
    rc = EXDEV;
  }
  if (rc != 0) {
    cf_closep(child);
  }
  return rc;
}

/* Opens the parent of directory fd. It must still be the directory that
 * parent describes, else something moved it during the removal (ESTALE). */
static int rm_open_parent(int fd, const rm_level *parent, int *parent_fd)
{
  *parent_fd = openat(fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (*parent_fd < 0) {
    return errno;
  }
  struct stat st;
  int rc = 0;
  if (fstat(*parent_fd, &st) < 0) {
    rc = errno;
  } else if (st.st_dev != parent->dev || st.st_ino != parent->ino) {
    rc = ESTALE;
  }
  if (rc != 0) {
    cf_closep(parent_fd);
  }
  return rc;
}

/* The position of a removal: fd is the open directory of levels[depth]. */
typedef struct rm_walk {
  int fd;
  rm_level *levels;
  size_t depth;
  size_t capacity;
} rm_walk;

static void rm_push(rm_walk *walk, int fd, const struct stat *st)
{
  if (walk->depth + 1 == walk->capacity) {
    walk->capacity *= 2;
    walk->levels = cf_xrealloc(walk->levels, walk->capacity * sizeof(*walk->levels));
  }
  cf_closep(&walk->fd);
  walk->fd = fd;
  walk->depth++;
  walk->levels[walk->depth] = (rm_level){.dev = st->st_dev, .ino = st->st_ino};
}

/* Removes the next subdirectory of the current level, or enters it when it
 * is not empty. */
static int rm_next_subdir(rm_walk *walk, dev_t dev)
{
  rm_level *level = &walk->levels[walk->depth];
  const char *name = level->subdirs[level->next++];
  if (unlinkat(walk->fd, name, AT_REMOVEDIR) == 0 || errno == ENOENT) {
    return 0;
  }
  if (errno != ENOTEMPTY && errno != EEXIST) {
    return errno;
  }
  int child = -1;
  struct stat st;
  int rc = rm_open_child(walk->fd, name, dev, &child, &st);
  if (rc == 0) {
    rm_push(walk, child, &st);
  }
  return rc;
}

/* Goes back up from the emptied current level and removes it. */
static int rm_leave_level(rm_walk *walk)
{
  int parent_fd = -1;
  int rc = rm_open_parent(walk->fd, &walk->levels[walk->depth - 1], &parent_fd);
  if (rc != 0) {
    return rc;
  }
  cf_closep(&walk->fd);
  walk->fd = parent_fd;
  rm_level_clear(&walk->levels[walk->depth]);
  walk->depth--;
  rm_level *level = &walk->levels[walk->depth];
  if (unlinkat(walk->fd, level->subdirs[level->next - 1], AT_REMOVEDIR) < 0 && errno != ENOENT) {
    return errno;
  }
  return 0;
}

/* Empties directory fd (closing it) whose identity is top. Returns 0 or an
 * errno value. */
static int rm_contents(int fd, const struct stat *top)
{
  rm_walk walk = {.fd = fd, .capacity = 16};
  walk.levels = cf_xcalloc(walk.capacity, sizeof(*walk.levels));
  walk.levels[0] = (rm_level){.dev = top->st_dev, .ino = top->st_ino};
  int rc = 0;
  while (rc == 0) {
    rm_level *level = &walk.levels[walk.depth];
    if (!level->scanned) {
      rc = rm_scan(walk.fd, level);
    } else if (level->next < level->count) {
      rc = rm_next_subdir(&walk, top->st_dev);
    } else if (walk.depth > 0) {
      rc = rm_leave_level(&walk);
    } else {
      break;
    }
  }
  cf_closep(&walk.fd);
  for (size_t i = 0; i <= walk.depth; i++) {
    rm_level_clear(&walk.levels[i]);
  }
  free(walk.levels);
  return rc;
}

/* Removes directory path and everything in it. Returns 0 or an errno
 * value. */
static int rm_dir(const char *path)
{
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0) {
    int error = errno;
    cf_closep(&fd);
    return error;
  }
  int rc = rm_contents(fd, &st);
  if (rc == 0 && rmdir(path) < 0) {
    rc = errno;
  }
  return rc;
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
  int rc = 0;
  if (S_ISDIR(st.st_mode)) {
    rc = rm_dir(path);
  } else if (unlink(path) < 0) {
    rc = errno;
  }
  if (rc != 0 && rc != ENOENT) {
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
