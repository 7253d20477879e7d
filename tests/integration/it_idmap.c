/* SPDX-License-Identifier: Apache-2.0 */
/*
 * groot's --uid-mapping and --gid-mapping run as a program: build/cfwin
 * through a symbolic link named groot, on a local tar file image whose
 * entries have owners other than root.
 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/mem.h"
#include "fixture.h"
#include "testutil.h"

static char *dir;
static char *groot;
static char *store;
static char *store_arg;
static char *tar_path;

typedef struct output {
  int status;
  char *out;
} output;

static char *read_text(const char *path)
{
  cf_buf buf;
  cf_buf_init(&buf, 16 * 1024 * 1024);
  if (cf_read_file(path, &buf, NULL) < 0 || buf.data == NULL) {
    cf_buf_free(&buf);
    return cf_xstrdup("");
  }
  return cf_buf_take(&buf);
}

/* Runs groot with the arguments (NULL-terminated) and captures stdout. */
static output run_groot(const char *first, ...)
{
  const char *argv[32] = {groot};
  int argc = 1;
  va_list ap;
  va_start(ap, first);
  for (const char *arg = first; arg != NULL && argc < 31; arg = va_arg(ap, const char *)) {
    argv[argc++] = arg;
  }
  va_end(ap);
  cf_autofree char *out_path = cf_path_join(dir, "stdout");
  pid_t pid = fork();
  if (pid == 0) {
    if (freopen(out_path, "w", stdout) == NULL || freopen("/dev/null", "w", stderr) == NULL) {
      _exit(127);
    }
    execv(groot, (char *const *)argv);
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  output o = {.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1};
  o.out = read_text(out_path);
  return o;
}

static void add_file(struct archive *a, const char *path, int64_t uid, int64_t gid)
{
  struct archive_entry *entry = archive_entry_new();
  archive_entry_set_pathname(entry, path);
  archive_entry_set_filetype(entry, AE_IFREG);
  archive_entry_set_perm(entry, 0644);
  archive_entry_set_uid(entry, uid);
  archive_entry_set_gid(entry, gid);
  archive_entry_set_size(entry, 3);
  if (archive_write_header(a, entry) != ARCHIVE_OK || archive_write_data(a, "hi\n", 3) != 3) {
    fail_msg("write tar entry %s: %s", path, archive_error_string(a));
  }
  archive_entry_free(entry);
}

static int setup(void **state)
{
  (void)state;
  it_require_root();
  dir = cf_test_tmpdir("idmap");
  groot = cf_path_join(dir, "groot");
  const char *binary = getenv("CFWIN_BINARY");
  if (symlink(binary != NULL ? binary : "build/cfwin", groot) < 0) {
    return -1;
  }
  store = cf_path_join(dir, "store");
  store_arg = cf_xasprintf("--driver-store=%s", store);
  tar_path = cf_path_join(dir, "image.tar");
  struct archive *a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  if (archive_write_open_filename(a, tar_path) != ARCHIVE_OK) {
    return -1;
  }
  add_file(a, "root-file", 0, 0);
  add_file(a, "user-file", 1000, 1000);
  archive_write_close(a);
  archive_write_free(a);
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  cf_test_rmdir(dir);
  free(dir);
  free(groot);
  free(store);
  free(store_arg);
  free(tar_path);
  return 0;
}

/* Returns the one layer directory whose name has a mapping suffix, or NULL. */
static char *mapped_layer_dir(void)
{
  cf_autofree char *layers = cf_path_join(store, "layers");
  DIR *d = opendir(layers);
  if (d == NULL) {
    return NULL;
  }
  char *found = NULL;
  size_t count = 0;
  struct dirent *entry;
  while ((entry = readdir(d)) != NULL) {
    size_t len = strlen(entry->d_name);
    bool is_lock = len > 5 && strcmp(entry->d_name + len - 5, ".lock") == 0;
    if (strchr(entry->d_name, '@') != NULL && !is_lock) {
      free(found);
      found = cf_path_join(layers, entry->d_name);
      count++;
    }
  }
  closedir(d);
  if (count != 1) {
    free(found);
    return NULL;
  }
  return found;
}

static void assert_owner(const char *path, uid_t uid, gid_t gid)
{
  struct stat st;
  if (lstat(path, &st) < 0) {
    fail_msg("%s is missing", path);
  }
  if (st.st_uid != uid || st.st_gid != gid) {
    fail_msg("%s is owned by %u:%u, expected %u:%u", path, (unsigned)st.st_uid, (unsigned)st.st_gid,
             (unsigned)uid, (unsigned)gid);
  }
}

static void create_with_mapping_sets_owners(void **state)
{
  (void)state;
  output c = run_groot(store_arg, "create", "--uid-mapping", "0:100000:65536", "--gid-mapping",
                       "0:100000:65536", tar_path, "mapped-1", NULL);
  if (c.status != 0) {
    fail_msg("create exited %d: %s", c.status, c.out);
  }
  free(c.out);
  cf_autofree char *layer = mapped_layer_dir();
  assert_non_null(layer);
  cf_autofree char *root_file = cf_path_join(layer, "root-file");
  cf_autofree char *user_file = cf_path_join(layer, "user-file");
  assert_owner(root_file, 100000, 100000);
  assert_owner(user_file, 101000, 101000);
  cf_autofree char *upper = cf_xasprintf("%s/volumes/mapped-1/upper", store);
  assert_owner(upper, 100000, 100000);

  /* The same mapping given before the command reuses the mapped layer. */
  output p = run_groot(store_arg, "--uid-mapping", "0:100000:65536", "--gid-mapping",
                       "0:100000:65536", "pull", tar_path, NULL);
  assert_int_equal(p.status, 0);
  free(p.out);
  cf_autofree char *again = mapped_layer_dir();
  assert_non_null(again);
  assert_string_equal(again, layer);

  output d = run_groot(store_arg, "delete", "mapped-1", NULL);
  assert_int_equal(d.status, 0);
  free(d.out);
  output g = run_groot(store_arg, "gc", NULL);
  assert_int_equal(g.status, 0);
  free(g.out);
  assert_int_equal(access(layer, F_OK), -1);
}

static void invalid_mapping_names_value(void **state)
{
  (void)state;
  static const struct {
    const char *uid;
    const char *gid;
    const char *expected;
  } cases[] = {
      {"0:1", "0:1:1", "invalid uid mapping \"0:1\""},
      {"0:100000:10", "x:1:1", "invalid gid mapping \"x:1:1\""},
      {"0:100000:0", "0:100000:1", "invalid uid mapping 0:100000:0: the size must be at least 1"},
      {"0:4294967000:1000", "0:1:1", "0:4294967000:1000: the range passes the largest id"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    output o = run_groot(store_arg, "pull", "--uid-mapping", cases[i].uid, "--gid-mapping",
                         cases[i].gid, tar_path, NULL);
    assert_int_equal(o.status, 1);
    if (strstr(o.out, cases[i].expected) == NULL) {
      fail_msg("output \"%s\" does not contain \"%s\"", o.out, cases[i].expected);
    }
    free(o.out);
  }
  output overlap = run_groot(store_arg, "pull", "--uid-mapping", "0:100000:10", "--uid-mapping",
                             "5:200000:10", "--gid-mapping", "0:100000:10", tar_path, NULL);
  assert_int_equal(overlap.status, 1);
  assert_non_null(
      strstr(overlap.out, "invalid uid mapping 5:200000:10: its container ids overlap"));
  free(overlap.out);
  output half = run_groot(store_arg, "pull", "--uid-mapping", "0:100000:10", tar_path, NULL);
  assert_int_equal(half.status, 1);
  assert_non_null(strstr(half.out, "a uid mapping given without a gid mapping"));
  free(half.out);
}

static void unmapped_owner_fails_pull(void **state)
{
  (void)state;
  output o = run_groot(store_arg, "pull", "--uid-mapping", "0:100000:1000", "--gid-mapping",
                       "0:100000:65536", tar_path, NULL);
  assert_int_equal(o.status, 1);
  assert_non_null(strstr(o.out, "entry \"user-file\" is owned by uid 1000"));
  free(o.out);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(create_with_mapping_sets_owners),
      cmocka_unit_test(invalid_mapping_names_value),
      cmocka_unit_test(unmapped_owner_fails_pull),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
