/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of id mappings (internal/image/idmap.c), mapped unpacks, the
 * layer keys of mapped layers, and the device-node and set-user-ID rules of
 * the unpack. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/mem.h"
#include "image/entry.h"
#include "image/idmap.h"
#include "image/image.h"
#include "image/layer_store.h"
#include "image/volume.h"
#include "store/store.h"
#include "testutil.h"

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))
#define CHAIN_ID "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static void assert_ok(int rc, cf_err **err)
{
  if (rc != 0) {
    fail_msg("unexpected error: %s", *err == NULL ? "(no error set)" : (*err)->message);
  }
  assert_null(*err);
}

/* Asserts a CF_E_INVALID failure whose message contains every string given
 * before the terminating NULL, then clears err. */
static void expect_invalid(int rc, cf_err **err, ...)
{
  assert_int_equal(rc, -1);
  assert_non_null(*err);
  va_list ap;
  va_start(ap, err);
  for (const char *part = va_arg(ap, const char *); part != NULL; part = va_arg(ap, const char *)) {
    if (strstr((*err)->message, part) == NULL) {
      va_end(ap);
      fail_msg("error \"%s\" does not contain \"%s\"", (*err)->message, part);
    }
  }
  va_end(ap);
  assert_int_equal((*err)->code, CF_E_INVALID);
  cf_err_clear(err);
}

/* The mapping 0:100000:65536 for uids and gids. */
static cf_id_mapping standard_mapping(void)
{
  cf_id_mapping mapping = {0};
  cf_id_range range = {.container_id = 0, .host_id = 100000, .size = 65536};
  mapping.uids.ranges[0] = range;
  mapping.uids.count = 1;
  mapping.gids.ranges[0] = range;
  mapping.gids.count = 1;
  return mapping;
}

/* --- parsing and validation --- */

static void range_parse_valid(void **state)
{
  (void)state;
  static const struct {
    const char *text;
    cf_id_range expected;
  } cases[] = {
      {"0:100000:65536", {0, 100000, 65536}},
      {"1:1:4294967294", {1, 1, 4294967294u}},
      {"4294967294:0:1", {4294967294u, 0, 1}},
      {"007:8:9", {7, 8, 9}},
  };
  for (size_t i = 0; i < COUNT(cases); i++) {
    cf_id_range range = {0};
    cf_err *err = NULL;
    assert_ok(cf_id_range_parse("uid", cases[i].text, &range, &err), &err);
    assert_int_equal(range.container_id, cases[i].expected.container_id);
    assert_int_equal(range.host_id, cases[i].expected.host_id);
    assert_int_equal(range.size, cases[i].expected.size);
  }
}

static void range_parse_rejects_malformed(void **state)
{
  (void)state;
  static const char *const cases[] = {
      "",   "0:1",  "0:1:2:3", "a:1:2",   "-1:0:1",          "0: 1:2",         "0:1:2 ",
      "::", "0:1:", ":0:1",    "0x1:0:1", "99999999999:0:1", "4294967296:0:1",
  };
  for (size_t i = 0; i < COUNT(cases); i++) {
    cf_id_range range;
    cf_err *err = NULL;
    cf_autofree char *quoted = cf_xasprintf("\"%s\"", cases[i]);
    expect_invalid(cf_id_range_parse("gid", cases[i], &range, &err), &err, "invalid gid mapping",
                   quoted, "CONTAINER:HOST:SIZE", NULL);
  }
}

static void range_parse_rejects_zero_size(void **state)
{
  (void)state;
  cf_id_range range;
  cf_err *err = NULL;
  expect_invalid(cf_id_range_parse("uid", "0:100000:0", &range, &err), &err, "0:100000:0",
                 "at least 1", NULL);
}

static void range_parse_rejects_overflow(void **state)
{
  (void)state;
  static const char *const cases[] = {
      "4294967295:0:1",    /* (uid_t)-1 is no id */
      "0:4294967295:1",    /* on the host side too */
      "4294967000:0:1000", /* the range wraps past 2^32 */
      "0:4294967000:1000", /* host side */
      "1:1:4294967295",    /* size alone */
  };
  for (size_t i = 0; i < COUNT(cases); i++) {
    cf_id_range range;
    cf_err *err = NULL;
    expect_invalid(cf_id_range_parse("uid", cases[i], &range, &err), &err, cases[i], "4294967294",
                   NULL);
  }
}

static void map_add_rejects_overlap(void **state)
{
  (void)state;
  cf_id_map map = {0};
  cf_err *err = NULL;
  cf_id_range first = {0, 100000, 1000};
  assert_ok(cf_id_map_add(&map, "uid", &first, &err), &err);
  cf_id_range container_overlap = {999, 300000, 10};
  expect_invalid(cf_id_map_add(&map, "uid", &container_overlap, &err), &err, "999:300000:10",
                 "container ids overlap", "0:100000:1000", NULL);
  cf_id_range host_overlap = {5000, 100999, 1};
  expect_invalid(cf_id_map_add(&map, "uid", &host_overlap, &err), &err, "5000:100999:1",
                 "host ids overlap", NULL);
  cf_id_range adjacent = {1000, 101000, 1000};
  assert_ok(cf_id_map_add(&map, "uid", &adjacent, &err), &err);
  assert_int_equal(map.count, 2);
}

static void map_add_rejects_too_many_ranges(void **state)
{
  (void)state;
  cf_id_map map = {0};
  cf_err *err = NULL;
  for (uint32_t i = 0; i < CF_ID_MAP_MAX_RANGES; i++) {
    cf_id_range range = {i * 10, 100000 + i * 10, 10};
    assert_ok(cf_id_map_add(&map, "gid", &range, &err), &err);
  }
  cf_id_range extra = {1000, 200000, 1};
  expect_invalid(cf_id_map_add(&map, "gid", &extra, &err), &err, "at most 5 ranges", NULL);
  assert_int_equal(map.count, CF_ID_MAP_MAX_RANGES);
}

static void mapping_validate_needs_both_maps(void **state)
{
  (void)state;
  cf_id_mapping mapping = standard_mapping();
  cf_err *err = NULL;
  assert_ok(cf_id_mapping_validate(&mapping, &err), &err);
  mapping.gids.count = 0;
  expect_invalid(cf_id_mapping_validate(&mapping, &err), &err, "a uid mapping given without a gid",
                 NULL);
  mapping = standard_mapping();
  mapping.uids.count = 0;
  expect_invalid(cf_id_mapping_validate(&mapping, &err), &err, "a gid mapping given without a uid",
                 NULL);
  cf_id_mapping none = {0};
  assert_ok(cf_id_mapping_validate(&none, &err), &err);
  assert_false(cf_id_mapping_is_set(&none));
  assert_false(cf_id_mapping_is_set(NULL));
}

static void mapping_validate_checks_filled_maps(void **state)
{
  (void)state;
  cf_id_mapping mapping = standard_mapping();
  mapping.gids.ranges[1] = (cf_id_range){65535, 500000, 2};
  mapping.gids.count = 2;
  cf_err *err = NULL;
  expect_invalid(cf_id_mapping_validate(&mapping, &err), &err, "gid", "65535:500000:2",
                 "container ids overlap", NULL);
}

/* --- translation --- */

static void map_translates_ids(void **state)
{
  (void)state;
  cf_id_map map = {.ranges = {{0, 100000, 1}, {1, 200000, 65535}}, .count = 2};
  static const struct {
    uint32_t id;
    bool mapped;
    uint32_t host;
  } cases[] = {
      {0, true, 100000},     {1, true, 200000}, {1000, true, 200999},
      {65535, true, 265534}, {65536, false, 0}, {4294967294u, false, 0},
  };
  for (size_t i = 0; i < COUNT(cases); i++) {
    uint32_t host = 0;
    bool mapped = cf_id_map_to_host(&map, cases[i].id, &host);
    if (mapped != cases[i].mapped) {
      fail_msg("id %u: mapped %d, expected %d", cases[i].id, mapped, cases[i].mapped);
    }
    if (mapped) {
      assert_int_equal(host, cases[i].host);
    }
  }
}

static void entry_map_owner_translates(void **state)
{
  (void)state;
  cf_id_mapping mapping = standard_mapping();
  struct archive_entry *entry = archive_entry_new();
  archive_entry_set_pathname(entry, "home/user");
  archive_entry_set_uid(entry, 1000);
  archive_entry_set_gid(entry, 65534);
  cf_err *err = NULL;
  assert_ok(cf_image_entry_map_owner(entry, &mapping, &err), &err);
  assert_int_equal(archive_entry_uid(entry), 101000);
  assert_int_equal(archive_entry_gid(entry), 165534);
  archive_entry_free(entry);
}

static void entry_map_owner_rejects_unmapped(void **state)
{
  (void)state;
  cf_id_mapping mapping = standard_mapping();
  struct archive_entry *entry = archive_entry_new();
  archive_entry_set_pathname(entry, "opt/app");
  archive_entry_set_uid(entry, 70000);
  archive_entry_set_gid(entry, 0);
  cf_err *err = NULL;
  expect_invalid(cf_image_entry_map_owner(entry, &mapping, &err), &err, "\"opt/app\"", "uid 70000",
                 NULL);
  archive_entry_set_uid(entry, 0);
  archive_entry_set_gid(entry, 65536);
  expect_invalid(cf_image_entry_map_owner(entry, &mapping, &err), &err, "\"opt/app\"", "gid 65536",
                 NULL);
  archive_entry_free(entry);
}

static void dir_owner_is_mapped_root(void **state)
{
  (void)state;
  cf_id_mapping mapping = standard_mapping();
  cf_dir_owner owner = cf_image_dir_owner(&mapping);
  assert_int_equal(owner.uid, 100000);
  assert_int_equal(owner.gid, 100000);
  owner = cf_image_dir_owner(NULL);
  assert_int_equal(owner.uid, (uid_t)-1);
  assert_int_equal(owner.gid, (gid_t)-1);
}

/* --- canonical text and layer keys --- */

static void mapping_text_ignores_range_order(void **state)
{
  (void)state;
  cf_id_mapping a = {0};
  a.uids = (cf_id_map){.ranges = {{0, 100000, 1}, {1, 1, 99}}, .count = 2};
  a.gids = (cf_id_map){.ranges = {{0, 100000, 1}}, .count = 1};
  cf_id_mapping b = a;
  b.uids.ranges[0] = a.uids.ranges[1];
  b.uids.ranges[1] = a.uids.ranges[0];
  cf_autofree char *text = cf_id_mapping_text(&b);
  assert_string_equal(text, "uid 0:100000:1,1:1:99;gid 0:100000:1");
  char digest_a[CF_ID_MAPPING_DIGEST_LEN + 1];
  char digest_b[CF_ID_MAPPING_DIGEST_LEN + 1];
  cf_id_mapping_digest(&a, digest_a);
  cf_id_mapping_digest(&b, digest_b);
  assert_string_equal(digest_a, digest_b);
  b.gids.ranges[0].host_id = 100001;
  cf_id_mapping_digest(&b, digest_b);
  assert_string_not_equal(digest_a, digest_b);
}

static void layer_key_of_mapped_layer(void **state)
{
  (void)state;
  char key[CF_LAYER_KEY_MAX + 1];
  cf_layer_key(CHAIN_ID, NULL, key);
  assert_string_equal(key, CHAIN_ID);
  cf_id_mapping none = {0};
  cf_layer_key(CHAIN_ID, &none, key);
  assert_string_equal(key, CHAIN_ID);

  cf_id_mapping mapping = standard_mapping();
  cf_layer_key(CHAIN_ID, &mapping, key);
  char digest[CF_ID_MAPPING_DIGEST_LEN + 1];
  cf_id_mapping_digest(&mapping, digest);
  cf_autofree char *expected = cf_xasprintf("%s@%s", CHAIN_ID, digest);
  assert_string_equal(key, expected);
  assert_int_equal(strlen(key), CF_LAYER_KEY_MAX);
  cf_err *err = NULL;
  assert_ok(cf_layer_key_validate(key, &err), &err);
  assert_ok(cf_layer_key_validate(CHAIN_ID, &err), &err);
}

static void layer_key_validate_rejects(void **state)
{
  (void)state;
  static const char *const cases[] = {
      "",
      "sha256:abc",
      CHAIN_ID "@",
      CHAIN_ID "@0123456789abcde",   /* 15 digits */
      CHAIN_ID "@0123456789abcdef0", /* 17 digits */
      CHAIN_ID "@0123456789ABCDEF",
      CHAIN_ID "/0123456789abcdef",
      CHAIN_ID "@../../../../etc/x",
      "sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
      "sha512:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
  };
  for (size_t i = 0; i < COUNT(cases); i++) {
    cf_err *err = NULL;
    int rc = cf_layer_key_validate(cases[i], &err);
    if (rc != -1) {
      fail_msg("key \"%s\" was accepted", cases[i]);
    }
    expect_invalid(rc, &err, "invalid", NULL);
  }
}

/* --- mapped pulls through the layer store --- */

struct fixture {
  char *dir;
  char *depot;
  char *tar;
  cf_store *store;
  cf_image_store *images;
};

static int setup(void **state)
{
  if (!cf_test_is_root()) {
    skip(); /* owners, whiteouts and device nodes need root */
  }
  struct fixture *f = cf_xcalloc(1, sizeof(*f));
  f->dir = cf_test_tmpdir("idmap");
  f->depot = cf_path_join(f->dir, "depot");
  f->tar = cf_path_join(f->dir, "layer.tar");
  cf_err *err = NULL;
  if (cf_mkdir_p(f->depot, 0755, &err) < 0 || cf_store_open(f->depot, &f->store, &err) < 0 ||
      cf_image_store_open(f->depot, f->store, &f->images, &err) < 0) {
    fprintf(stderr, "setup: %s\n", err->message);
    cf_err_free(err);
    return -1;
  }
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  struct fixture *f = *state;
  if (f == NULL) {
    return 0;
  }
  cf_image_store_close(f->images);
  cf_store_close(f->store);
  cf_test_rmdir(f->dir);
  free(f->dir);
  free(f->depot);
  free(f->tar);
  free(f);
  return 0;
}

/* One tar entry with an explicit owner. */
struct owned_entry {
  mode_t type; /* AE_IFREG, AE_IFDIR, AE_IFBLK, AE_IFCHR, or 0 for a hard link */
  const char *path;
  unsigned mode;
  int64_t uid;
  int64_t gid;
  const char *link; /* hard-link target */
  dev_t rdev;
};

static void write_tar(const char *path, const struct owned_entry *entries, size_t count)
{
  struct archive *a = archive_write_new();
  assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
  assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
  for (size_t i = 0; i < count; i++) {
    struct archive_entry *entry = archive_entry_new();
    archive_entry_set_pathname(entry, entries[i].path);
    archive_entry_set_uid(entry, entries[i].uid);
    archive_entry_set_gid(entry, entries[i].gid);
    if (entries[i].link != NULL) {
      archive_entry_set_filetype(entry, AE_IFREG);
      archive_entry_set_hardlink(entry, entries[i].link);
    } else {
      archive_entry_set_filetype(entry, entries[i].type);
      archive_entry_set_rdev(entry, entries[i].rdev);
    }
    archive_entry_set_perm(entry, entries[i].mode);
    bool has_data = entries[i].type == AE_IFREG && entries[i].link == NULL;
    archive_entry_set_size(entry, has_data ? 5 : 0);
    assert_int_equal(archive_write_header(a, entry), ARCHIVE_OK);
    if (has_data) {
      assert_int_equal(archive_write_data(a, "data\n", 5), 5);
    }
    archive_entry_free(entry);
  }
  assert_int_equal(archive_write_close(a), ARCHIVE_OK);
  archive_write_free(a);
}

static const struct owned_entry owned_entries[] = {
    {AE_IFDIR, "home", 0755, 0, 0, NULL, 0},
    {AE_IFREG, "home/user/notes", 0644, 1000, 1000, NULL, 0}, /* home/user has no entry */
    {AE_IFREG, "nobody-file", 0644, 65534, 65534, NULL, 0},
    {AE_IFREG, "root-file", 0644, 0, 0, NULL, 0},
    {0, "root-link", 0644, 0, 0, "root-file", 0},
    {AE_IFDIR, "shared", 06775, 1000, 50, NULL, 0},
    {AE_IFREG, "bin-su", 04755, 0, 0, NULL, 0},
    {AE_IFREG, "bin-wall", 02755, 0, 5, NULL, 0},
};

static void pull_tar(const struct fixture *f, const cf_id_mapping *mapping, cf_image *image)
{
  cf_pull_options options = {0};
  if (mapping != NULL) {
    options.id_mapping = *mapping;
  }
  cf_err *err = NULL;
  assert_ok(cf_image_source_pull(f->images, f->tar, &options, image, &err), &err);
  assert_int_equal(image->layer_count, 1);
}

static void assert_owner(const char *dir, const char *name, uid_t uid, gid_t gid)
{
  cf_autofree char *path = cf_path_join(dir, name);
  struct stat st;
  if (lstat(path, &st) < 0) {
    fail_msg("%s is missing", path);
  }
  if (st.st_uid != uid || st.st_gid != gid) {
    fail_msg("%s is owned by %u:%u, expected %u:%u", name, (unsigned)st.st_uid, (unsigned)st.st_gid,
             (unsigned)uid, (unsigned)gid);
  }
}

static void assert_mode(const char *dir, const char *name, mode_t mode)
{
  cf_autofree char *path = cf_path_join(dir, name);
  struct stat st;
  assert_int_equal(lstat(path, &st), 0);
  if ((st.st_mode & 07777) != mode) {
    fail_msg("%s has mode %o, expected %o", name, st.st_mode & 07777, mode);
  }
}

static void pull_mapped_sets_host_owners(void **state)
{
  struct fixture *f = *state;
  write_tar(f->tar, owned_entries, COUNT(owned_entries));
  cf_id_mapping mapping = standard_mapping();
  cf_image image;
  pull_tar(f, &mapping, &image);
  const char *dir = image.layer_dirs[0];
  assert_owner(dir, ".", 100000, 100000);
  assert_owner(dir, "home", 100000, 100000);
  assert_owner(dir, "home/user", 100000, 100000);
  assert_owner(dir, "home/user/notes", 101000, 101000);
  assert_owner(dir, "nobody-file", 165534, 165534);
  assert_owner(dir, "root-file", 100000, 100000);
  assert_owner(dir, "root-link", 100000, 100000);
  assert_owner(dir, "shared", 101000, 100050);
  assert_owner(dir, "bin-su", 100000, 100000);
  /* chown clears set-user-ID, so these check that the bits are applied
   * after the owner. */
  assert_mode(dir, "bin-su", 04755);
  assert_mode(dir, "bin-wall", 02755);
  assert_mode(dir, "shared", 02775);

  char digest[CF_ID_MAPPING_DIGEST_LEN + 1];
  cf_id_mapping_digest(&mapping, digest);
  cf_autofree char *key = cf_xasprintf("%s@%s", image.chain_ids[0], digest);
  assert_string_equal(image.layer_keys[0], key);
  cf_autofree char *expected_dir = cf_xasprintf("%s/layers/%s", f->depot, key + strlen("sha256:"));
  cf_autofree char *real_depot = realpath(f->depot, NULL);
  cf_autofree char *real_expected =
      cf_xasprintf("%s/layers/%s", real_depot, key + strlen("sha256:"));
  if (strcmp(dir, expected_dir) != 0 && strcmp(dir, real_expected) != 0) {
    fail_msg("layer directory %s, expected %s", dir, expected_dir);
  }
  cf_image_clear(&image);
}

static void pull_unmapped_keeps_tar_owners(void **state)
{
  struct fixture *f = *state;
  write_tar(f->tar, owned_entries, COUNT(owned_entries));
  cf_image image;
  pull_tar(f, NULL, &image);
  const char *dir = image.layer_dirs[0];
  assert_owner(dir, "home/user/notes", 1000, 1000);
  assert_owner(dir, "nobody-file", 65534, 65534);
  assert_owner(dir, "root-file", 0, 0);
  assert_owner(dir, "shared", 1000, 50);
  assert_string_equal(image.layer_keys[0], image.chain_ids[0]);
  assert_mode(dir, "shared", 02775);
  cf_image_clear(&image);
}

static void list_layers(const struct fixture *f, char ***keys, size_t *count)
{
  cf_err *err = NULL;
  assert_ok(cf_store_layer_list(f->store, keys, count, &err), &err);
}

static void run_gc(const struct fixture *f, size_t expected_removed)
{
  size_t removed = 0;
  cf_err *err = NULL;
  assert_ok(cf_image_gc(f->images, &removed, &err), &err);
  assert_int_equal(removed, expected_removed);
}

static void mapped_and_unmapped_are_two_layers(void **state)
{
  struct fixture *f = *state;
  write_tar(f->tar, owned_entries, COUNT(owned_entries));
  cf_id_mapping mapping = standard_mapping();
  cf_image mapped;
  cf_image plain;
  pull_tar(f, &mapping, &mapped);
  pull_tar(f, NULL, &plain);
  assert_string_equal(mapped.chain_ids[0], plain.chain_ids[0]);
  assert_string_not_equal(mapped.layer_dirs[0], plain.layer_dirs[0]);

  char **keys = NULL;
  size_t count = 0;
  list_layers(f, &keys, &count);
  assert_int_equal(count, 2);
  /* Sorted: the chain id is a prefix of the mapped key. */
  assert_string_equal(keys[0], plain.layer_keys[0]);
  assert_string_equal(keys[1], mapped.layer_keys[0]);
  cf_strv_free(keys, count);

  cf_layer_record record;
  cf_err *err = NULL;
  assert_ok(cf_store_layer_get(f->store, mapped.layer_keys[0], &record, &err), &err);
  assert_string_equal(record.path, mapped.layer_dirs[0]);
  assert_string_equal(record.state, CF_LAYER_READY);
  cf_layer_record_clear(&record);

  /* A second mapped pull reuses the mapped layer. */
  cf_image again;
  pull_tar(f, &mapping, &again);
  assert_string_equal(again.layer_dirs[0], mapped.layer_dirs[0]);
  list_layers(f, &keys, &count);
  assert_int_equal(count, 2);
  cf_strv_free(keys, count);

  run_gc(f, 2);
  list_layers(f, &keys, &count);
  assert_int_equal(count, 0);
  cf_strv_free(keys, count);
  assert_int_equal(access(mapped.layer_dirs[0], F_OK), -1);
  assert_int_equal(access(plain.layer_dirs[0], F_OK), -1);
  cf_image_clear(&again);
  cf_image_clear(&mapped);
  cf_image_clear(&plain);
}

static void volume_keeps_mapped_layer_from_gc(void **state)
{
  struct fixture *f = *state;
  write_tar(f->tar, owned_entries, COUNT(owned_entries));
  cf_id_mapping mapping = standard_mapping();
  cf_image mapped;
  cf_image plain;
  pull_tar(f, &mapping, &mapped);
  pull_tar(f, NULL, &plain);
  cf_volume_request request = {.handle = "mapped-1", .image_uri = f->tar, .image = &mapped};
  cf_volume volume;
  cf_err *err = NULL;
  assert_ok(cf_volume_create(f->images, &request, &volume, &err), &err);
  assert_owner(volume.upper, ".", 100000, 100000);
  assert_owner(volume.work, ".", 100000, 100000);
  assert_string_equal(volume.layer_dirs[0], mapped.layer_dirs[0]);
  cf_volume_clear(&volume);

  int64_t refs = -1;
  assert_ok(cf_store_layer_ref_count(f->store, mapped.layer_keys[0], &refs, &err), &err);
  assert_int_equal(refs, 1);
  run_gc(f, 1); /* only the unmapped layer */
  assert_int_equal(access(mapped.layer_dirs[0], F_OK), 0);
  assert_int_equal(access(plain.layer_dirs[0], F_OK), -1);

  bool existed = false;
  assert_ok(cf_volume_delete(f->images, "mapped-1", &existed, &err), &err);
  assert_true(existed);
  run_gc(f, 1);
  assert_int_equal(access(mapped.layer_dirs[0], F_OK), -1);
  cf_image_clear(&mapped);
  cf_image_clear(&plain);
}

/* Runs debugfs's stat on name inside the ext4 image and returns its output. */
static char *ext4_stat(const char *image, const char *name)
{
  char *command = cf_xasprintf("debugfs -R 'stat %s' '%s' 2>/dev/null", name, image);
  FILE *pipe = popen(command, "r");
  free(command);
  assert_non_null(pipe);
  char *output = cf_xcalloc(1, 4096);
  size_t n = fread(output, 1, 4095, pipe);
  output[n] = '\0';
  pclose(pipe);
  return output;
}

/* With a disk limit the writable layer is an ext4 image; its upper and work
 * directories must belong to container root as with a plain directory. */
static void limited_volume_upper_is_mapped_root(void **state)
{
  struct fixture *f = *state;
  write_tar(f->tar, owned_entries, COUNT(owned_entries));
  cf_id_mapping mapping = standard_mapping();
  cf_image mapped;
  pull_tar(f, &mapping, &mapped);
  cf_volume_request request = {.handle = "mapped-disk",
                               .image_uri = f->tar,
                               .image = &mapped,
                               .disk_limit = 4 * 1024 * 1024,
                               .scope = CF_DISK_SCOPE_EXCLUSIVE};
  cf_volume volume;
  cf_err *err = NULL;
  assert_ok(cf_volume_create(f->images, &request, &volume, &err), &err);
  assert_non_null(volume.device);
  /* Read both owners first and delete the volume before any assert, so a
   * failing check leaves no loop device attached. */
  char *image = cf_path_join(volume.path, "disk.ext4");
  char *upper = ext4_stat(image, "upper");
  char *work = ext4_stat(image, "work");
  free(image);
  cf_volume_clear(&volume);
  bool existed = false;
  int deleted = cf_volume_delete(f->images, "mapped-disk", &existed, &err);
  const char *outputs[] = {upper, work};
  for (size_t i = 0; i < COUNT(outputs); i++) {
    if (strstr(outputs[i], "User: 100000") == NULL || strstr(outputs[i], "Group: 100000") == NULL) {
      fail_msg("%s is not owned by 100000:100000:\n%s", i == 0 ? "upper" : "work", outputs[i]);
    }
  }
  free(upper);
  free(work);
  assert_ok(deleted, &err);
  assert_true(existed);
  cf_image_clear(&mapped);
}

static void pull_mapped_rejects_unmapped_owner(void **state)
{
  struct fixture *f = *state;
  static const struct owned_entry entries[] = {
      {AE_IFREG, "ok", 0644, 0, 0, NULL, 0},
      {AE_IFREG, "opt/big-uid", 0644, 70000, 0, NULL, 0},
  };
  write_tar(f->tar, entries, COUNT(entries));
  cf_id_mapping mapping = standard_mapping();
  cf_pull_options options = {.id_mapping = mapping};
  cf_image image;
  cf_err *err = NULL;
  expect_invalid(cf_image_source_pull(f->images, f->tar, &options, &image, &err), &err,
                 "\"opt/big-uid\"", "uid 70000", NULL);
  char **keys = NULL;
  size_t count = 0;
  list_layers(f, &keys, &count);
  assert_int_equal(count, 0);
  cf_strv_free(keys, count);
}

static void pull_rejects_half_mapping(void **state)
{
  struct fixture *f = *state;
  write_tar(f->tar, owned_entries, 1);
  cf_pull_options options = {.id_mapping = standard_mapping()};
  options.id_mapping.gids.count = 0;
  cf_image image;
  cf_err *err = NULL;
  expect_invalid(cf_image_source_pull(f->images, f->tar, &options, &image, &err), &err,
                 "without a gid mapping", NULL);
}

/* --- device nodes and set-user-ID bits --- */

static const struct owned_entry device_entries[] = {
    {AE_IFDIR, "dev", 0755, 0, 0, NULL, 0},
    {AE_IFCHR, "dev/null", 0666, 0, 0, NULL, 0}, /* rdev set below */
    {AE_IFBLK, "dev/sda", 0660, 0, 6, NULL, 0},
    {AE_IFCHR, "gone", 0, 0, 0, NULL, 0}, /* 0/0: an overlay whiteout exported as-is */
    {AE_IFDIR, "setuid-dir", 04755, 0, 0, NULL, 0},
};

static void unpack_skips_devices_mapped_or_not(void **state)
{
  struct fixture *f = *state;
  struct owned_entry entries[COUNT(device_entries)];
  memcpy(entries, device_entries, sizeof(entries));
  entries[1].rdev = makedev(1, 3);
  entries[2].rdev = makedev(8, 0);
  write_tar(f->tar, entries, COUNT(entries));
  cf_id_mapping mapping = standard_mapping();
  const cf_id_mapping *mappings[] = {NULL, &mapping};
  for (size_t i = 0; i < COUNT(mappings); i++) {
    cf_image image;
    pull_tar(f, mappings[i], &image);
    const char *dir = image.layer_dirs[0];
    cf_autofree char *null_dev = cf_path_join(dir, "dev/null");
    cf_autofree char *block_dev = cf_path_join(dir, "dev/sda");
    cf_autofree char *whiteout = cf_path_join(dir, "gone");
    assert_int_equal(access(null_dev, F_OK), -1);
    assert_int_equal(access(block_dev, F_OK), -1);
    struct stat st;
    assert_int_equal(lstat(whiteout, &st), 0);
    assert_true(S_ISCHR(st.st_mode));
    assert_int_equal(st.st_rdev, makedev(0, 0));
    /* Linux ignores set-user-ID on a directory, so the unpack clears it. */
    assert_mode(dir, "setuid-dir", 0755);
    cf_image_clear(&image);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(range_parse_valid),
      cmocka_unit_test(range_parse_rejects_malformed),
      cmocka_unit_test(range_parse_rejects_zero_size),
      cmocka_unit_test(range_parse_rejects_overflow),
      cmocka_unit_test(map_add_rejects_overlap),
      cmocka_unit_test(map_add_rejects_too_many_ranges),
      cmocka_unit_test(mapping_validate_needs_both_maps),
      cmocka_unit_test(mapping_validate_checks_filled_maps),
      cmocka_unit_test(map_translates_ids),
      cmocka_unit_test(entry_map_owner_translates),
      cmocka_unit_test(entry_map_owner_rejects_unmapped),
      cmocka_unit_test(dir_owner_is_mapped_root),
      cmocka_unit_test(mapping_text_ignores_range_order),
      cmocka_unit_test(layer_key_of_mapped_layer),
      cmocka_unit_test(layer_key_validate_rejects),
      cmocka_unit_test_setup_teardown(pull_mapped_sets_host_owners, setup, teardown),
      cmocka_unit_test_setup_teardown(pull_unmapped_keeps_tar_owners, setup, teardown),
      cmocka_unit_test_setup_teardown(mapped_and_unmapped_are_two_layers, setup, teardown),
      cmocka_unit_test_setup_teardown(volume_keeps_mapped_layer_from_gc, setup, teardown),
      cmocka_unit_test_setup_teardown(limited_volume_upper_is_mapped_root, setup, teardown),
      cmocka_unit_test_setup_teardown(pull_mapped_rejects_unmapped_owner, setup, teardown),
      cmocka_unit_test_setup_teardown(pull_rejects_half_mapping, setup, teardown),
      cmocka_unit_test_setup_teardown(unpack_skips_devices_mapped_or_not, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
