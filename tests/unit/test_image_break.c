/* SPDX-License-Identifier: Apache-2.0 */
/* Regression tests for inputs that broke the image role. A hostile layer or
 * a container's writable layer can contain a tree deeper than PATH_MAX, and
 * cf_rm_rf must remove it so that a failed unpack, gc and volume delete
 * leave nothing behind. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/mem.h"
#include "image/image.h"
#include "testutil.h"

/* Depth of the deep tree. 3000 levels of "d/" are 6000 bytes, past
 * PATH_MAX (4096), and more than the usual descriptor limit of 1024. */
#define DEEP_LEVELS 3000

static void write_file_at(int dir, const char *name, const char *text)
{
  int fd = openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
}

/* Builds root/d/d/.../d, DEEP_LEVELS deep, with a file, a FIFO and a
 * symbolic link to outside at every hundredth level. */
static void make_deep_tree(const char *root, const char *outside)
{
  assert_int_equal(mkdir(root, 0755), 0);
  int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  assert_true(fd >= 0);
  for (int level = 0; level < DEEP_LEVELS; level++) {
    if (level % 100 == 0) {
      write_file_at(fd, "file", "data");
      assert_int_equal(mkfifoat(fd, "fifo", 0600), 0);
      assert_int_equal(symlinkat(outside, fd, "link"), 0);
    }
    assert_int_equal(mkdirat(fd, "d", 0755), 0);
    int child = openat(fd, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(child >= 0);
    close(fd);
    fd = child;
  }
  close(fd);
}

static bool exists(const char *path)
{
  struct stat st;
  return lstat(path, &st) == 0;
}

/* Checks that a tree deeper than PATH_MAX is removed, and its symbolic
 * links without following them. */
static void rm_rf_deep_tree(void **state)
{
  (void)state;
  cf_autofree char *tmp = cf_test_tmpdir("break-rm");
  cf_autofree char *outside = cf_path_join(tmp, "outside");
  cf_autofree char *sentinel = cf_path_join(outside, "keep");
  cf_autofree char *root = cf_path_join(tmp, "deep");
  assert_int_equal(mkdir(outside, 0755), 0);
  int outside_fd = open(outside, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  assert_true(outside_fd >= 0);
  write_file_at(outside_fd, "keep", "x");
  close(outside_fd);
  make_deep_tree(root, outside);

  cf_err *err = NULL;
  int rc = cf_rm_rf(root, &err);
  if (rc != 0) {
    fail_msg("cf_rm_rf: %s", err->message);
  }
  assert_false(exists(root));
  assert_true(exists(sentinel));
  cf_test_rmdir(tmp);
}

/* Checks that a missing path is success and that a file and a symbolic
 * link are unlinked. */
static void rm_rf_missing_file_link(void **state)
{
  (void)state;
  cf_autofree char *tmp = cf_test_tmpdir("break-rm-plain");
  cf_autofree char *missing = cf_path_join(tmp, "missing");
  cf_autofree char *file = cf_path_join(tmp, "file");
  cf_autofree char *link = cf_path_join(tmp, "link");
  int dir = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  assert_true(dir >= 0);
  write_file_at(dir, "file", "x");
  close(dir);
  assert_int_equal(symlink(file, link), 0);

  cf_err *err = NULL;
  assert_int_equal(cf_rm_rf(missing, &err), 0);
  assert_int_equal(cf_rm_rf(link, &err), 0);
  assert_false(exists(link));
  assert_true(exists(file));
  assert_int_equal(cf_rm_rf(file, &err), 0);
  assert_false(exists(file));
  assert_null(err);
  cf_test_rmdir(tmp);
}

/* Writes an uncompressed tar whose only file is 16 directories of 250 bytes
 * deep. The name passes the unpack's checks, but its absolute path is longer
 * than PATH_MAX. */
static void write_deep_tar(const char *path)
{
  char component[251];
  memset(component, 'a', 250);
  component[250] = '\0';
  cf_buf name;
  cf_buf_init(&name, SIZE_MAX);
  for (int i = 0; i < 16; i++) {
    cf_buf_append_str(&name, component, NULL);
    cf_buf_append_str(&name, "/", NULL);
  }
  cf_buf_append_str(&name, "file", NULL);
  cf_autofree char *entry_name = cf_buf_take(&name);

  struct archive *tar = archive_write_new();
  archive_write_set_format_pax_restricted(tar);
  assert_int_equal(archive_write_open_filename(tar, path), ARCHIVE_OK);
  struct archive_entry *entry = archive_entry_new();
  archive_entry_set_pathname(entry, entry_name);
  archive_entry_set_filetype(entry, AE_IFREG);
  archive_entry_set_perm(entry, 0644);
  archive_entry_set_size(entry, 4);
  assert_int_equal(archive_write_header(tar, entry), ARCHIVE_OK);
  assert_int_equal(archive_write_data(tar, "data", 4), 4);
  archive_entry_free(entry);
  assert_int_equal(archive_write_close(tar), ARCHIVE_OK);
  archive_write_free(tar);
}

static size_t count_children(const char *dir_path)
{
  DIR *dir = opendir(dir_path);
  assert_non_null(dir);
  size_t count = 0;
  struct dirent *d;
  while ((d = readdir(dir)) != NULL) {
    count += strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0;
  }
  closedir(dir);
  return count;
}

/* Checks that an unpack that fails after writing such a tree (here on the
 * diff_id) leaves the layer directory empty. */
static void unpack_failure_empties_deep_layer(void **state)
{
  (void)state;
  cf_autofree char *tmp = cf_test_tmpdir("break-unpack");
  cf_autofree char *blob = cf_path_join(tmp, "layer.tar");
  /* A 120-byte directory name puts the absolute path past PATH_MAX. */
  char pad[121];
  memset(pad, 'p', 120);
  pad[120] = '\0';
  cf_autofree char *parent = cf_path_join(tmp, pad);
  cf_autofree char *dest = cf_path_join(parent, "layer");
  write_deep_tar(blob);
  assert_int_equal(mkdir(parent, 0755), 0);
  assert_int_equal(mkdir(dest, 0755), 0);

  int64_t size = 0;
  cf_err *err = NULL;
  int rc = cf_layer_unpack(
      blob, "application/vnd.oci.image.layer.v1.tar", dest,
      "sha256:0000000000000000000000000000000000000000000000000000000000000000", &size, &err);
  assert_int_equal(rc, -1);
  assert_non_null(err);
  assert_int_equal(err->code, CF_E_INTEGRITY);
  cf_err_free(err);
  assert_int_equal(count_children(dest), 0);
  cf_test_rmdir(tmp);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(rm_rf_deep_tree),
      cmocka_unit_test(rm_rf_missing_file_link),
      cmocka_unit_test(unpack_failure_empties_deep_layer),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
