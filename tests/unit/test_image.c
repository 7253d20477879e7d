/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of images: OCI documents (internal/oci), URIs, layouts, blob
 * verification, layer unpacking and the layer store (internal/image). */
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
#include <linux/capability.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/file.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/mem.h"
#include "base/sha256.h"
#include "image/entry.h"
#include "image/image.h"
#include "image/layout.h"
#include "image_builder.h"
#include "oci/oci.h"
#include "store/store.h"
#include "testutil.h"

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))

/* Digests made of one repeated hex digit, for documents that need valid
 * digests but no blobs. */
#define DIGEST_A "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define DIGEST_B "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define DIGEST_C "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

struct fixture {
  char *dir;    /* the test's temporary directory */
  char *layout; /* <dir>/layout */
  char *depot;  /* <dir>/depot */
  char *layers; /* <dir>/depot/layers */
  char *blob;   /* <dir>/layer.blob, for unpack tests */
  char *dest;   /* <dir>/dest, for unpack tests */
  cf_store *store;
  cf_image_store *images;
};

static const cf_tar_entry base_entries[] = {
    {CF_TAR_DIR, "etc", NULL, 0755},
    {CF_TAR_FILE, "etc/hostname", "base\n", 0644},
    {CF_TAR_FILE, "bin/tool", "#!/bin/sh\necho tool\n", 0755},
    {CF_TAR_SYMLINK, "bin/sh", "tool", 0},
    {CF_TAR_HARDLINK, "bin/tool-link", "bin/tool", 0},
};

static const cf_tar_entry top_entries[] = {
    {CF_TAR_FILE, "etc/hostname", "top\n", 0600},
    {CF_TAR_FILE, "./srv//data.txt", "data", 0},
};

/* --- helpers --- */

static void assert_ok(int rc, cf_err **err)
{
  if (rc != 0) {
    fail_msg("unexpected error: %s", *err == NULL ? "(no error set)" : (*err)->message);
  }
  assert_null(*err);
}

/* Asserts a failure with code whose message contains every string given
 * before the terminating NULL, then clears err. */
static void expect_error(int rc, cf_err **err, enum cf_code code, ...)
{
  assert_int_equal(rc, -1);
  assert_non_null(*err);
  va_list ap;
  va_start(ap, code);
  for (const char *part = va_arg(ap, const char *); part != NULL; part = va_arg(ap, const char *)) {
    if (strstr((*err)->message, part) == NULL) {
      va_end(ap);
      fail_msg("error \"%s\" does not contain \"%s\"", (*err)->message, part);
    }
  }
  va_end(ap);
  if ((*err)->code != code) {
    fail_msg("error code %d, expected %d: %s", (*err)->code, code, (*err)->message);
  }
  cf_err_clear(err);
}

static int setup(void **state)
{
  struct fixture *f = cf_xcalloc(1, sizeof(*f));
  f->dir = cf_test_tmpdir("image");
  f->layout = cf_path_join(f->dir, "layout");
  f->depot = cf_path_join(f->dir, "depot");
  f->layers = cf_path_join(f->depot, "layers");
  f->blob = cf_path_join(f->dir, "layer.blob");
  f->dest = cf_path_join(f->dir, "dest");
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
  cf_image_store_close(f->images);
  cf_store_close(f->store);
  cf_test_rmdir(f->dir);
  free(f->dir);
  free(f->layout);
  free(f->depot);
  free(f->layers);
  free(f->blob);
  free(f->dest);
  free(f);
  return 0;
}

static char *layout_uri(const struct fixture *f, const char *tag)
{
  if (tag == NULL) {
    return cf_xasprintf("oci://%s", f->layout);
  }
  return cf_xasprintf("oci://%s:%s", f->layout, tag);
}

static void write_layout(const struct fixture *f, const cf_test_image *images, size_t count,
                         cf_built_image *built)
{
  cf_err *err = NULL;
  assert_ok(cf_test_layout_write(f->layout, images, count, built, &err), &err);
}

static void write_file(const char *path, const char *text)
{
  cf_err *err = NULL;
  assert_ok(cf_write_file_atomic(path, text, strlen(text), 0644, &err), &err);
}

static char *read_text(const char *path)
{
  cf_buf buf;
  cf_buf_init(&buf, 1024 * 1024);
  cf_err *err = NULL;
  assert_ok(cf_read_file(path, &buf, &err), &err);
  return cf_buf_take(&buf);
}

static void assert_file_text(const char *dir, const char *name, const char *text)
{
  cf_autofree char *path = cf_path_join(dir, name);
  cf_autofree char *content = read_text(path);
  assert_string_equal(content, text);
}

static bool path_exists(const char *dir, const char *name)
{
  cf_autofree char *path = name != NULL ? cf_path_join(dir, name) : cf_xstrdup(dir);
  struct stat st;
  return lstat(path, &st) == 0;
}

static size_t count_children(const char *dir)
{
  DIR *d = opendir(dir);
  assert_non_null(d);
  size_t count = 0;
  for (struct dirent *e = readdir(d); e != NULL; e = readdir(d)) {
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
      count++;
    }
  }
  closedir(d);
  return count;
}

static void append_tree(cf_buf *out, const char *root, const char *rel, const char *skip)
{
  cf_autofree char *dir = rel[0] != '\0' ? cf_path_join(root, rel) : cf_xstrdup(root);
  struct dirent **names = NULL;
  int n = scandir(dir, &names, NULL, alphasort);
  for (int i = 0; i < n; i++) {
    const char *name = names[i]->d_name;
    if (strcmp(name, ".") != 0 && strcmp(name, "..") != 0) {
      cf_autofree char *child = rel[0] != '\0' ? cf_path_join(rel, name) : cf_xstrdup(name);
      cf_autofree char *full = cf_path_join(root, child);
      struct stat st;
      lstat(full, &st);
      cf_buf_printf(out, NULL, "%s %o %lld\n", child, st.st_mode, (long long)st.st_size);
      if (S_ISDIR(st.st_mode) && strcmp(child, skip) != 0) {
        append_tree(out, root, child, skip);
      }
    }
    free(names[i]);
  }
  free(names);
}

/* Lists every path under root with its mode and size, leaving out what is
 * below the directory skip. */
static char *list_tree(const char *root, const char *skip)
{
  cf_buf out;
  cf_buf_init(&out, SIZE_MAX);
  append_tree(&out, root, "", skip);
  return cf_buf_take(&out);
}

static char *file_digest(const char *path)
{
  char digest[CF_DIGEST_LEN + 1];
  cf_err *err = NULL;
  assert_ok(cf_sha256_file(path, digest, NULL, &err), &err);
  return cf_xstrdup(digest);
}

static char *blob_file(const struct fixture *f, const char *digest)
{
  return cf_xasprintf("%s/blobs/sha256/%s", f->layout, digest + strlen("sha256:"));
}

static char *layer_dir(const struct fixture *f, const char *chain_id)
{
  return cf_path_join(f->layers, chain_id + strlen("sha256:"));
}

/* Watches the layers directory for new temporary unpack directories. */
static int watch_layers(const struct fixture *f)
{
  int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  assert_true(fd >= 0);
  assert_true(inotify_add_watch(fd, f->layers, IN_CREATE) >= 0);
  return fd;
}

/* Counts the tmp-* directories created since the watch began; each is one
 * unpack. */
static int count_unpacks(int fd)
{
  int count = 0;
  char events[64 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));
  for (;;) {
    ssize_t n = read(fd, events, sizeof(events));
    if (n <= 0) {
      break;
    }
    for (char *p = events; p < events + n;) {
      struct inotify_event *event = (struct inotify_event *)(void *)p;
      if ((event->mask & IN_ISDIR) && event->len > 0 && strncmp(event->name, "tmp-", 4) == 0) {
        count++;
      }
      p += sizeof(*event) + event->len;
    }
  }
  return count;
}

static void pull_ok(const struct fixture *f, const char *uri, cf_image *image)
{
  cf_err *err = NULL;
  assert_ok(cf_image_pull(f->images, uri, image, &err), &err);
}

static void get_record(const struct fixture *f, const char *chain_id, cf_layer_record *record)
{
  cf_err *err = NULL;
  assert_ok(cf_store_layer_get(f->store, chain_id, record, &err), &err);
}

/* A two-layer image (gzip over uncompressed) tagged "v1". */
static void write_two_layer_image(const struct fixture *f, cf_built_image *built)
{
  static const char *const env[] = {"PATH=/bin", "GREETING=hello world"};
  cf_test_layer layers[] = {
      {.entries = base_entries, .entry_count = COUNT(base_entries), .compression = CF_TEST_GZIP},
      {.entries = top_entries,
       .entry_count = COUNT(top_entries),
       .compression = CF_TEST_UNCOMPRESSED},
  };
  cf_test_image image = {
      .layers = layers, .layer_count = 2, .env = env, .env_count = 2, .tag = "v1"};
  write_layout(f, &image, 1, built);
}

static void write_one_layer_image(const struct fixture *f, const cf_test_layer *layer,
                                  cf_built_image *built)
{
  cf_test_image image = {.layers = layer, .layer_count = 1, .tag = "v1"};
  write_layout(f, &image, 1, built);
}

/* --- URIs --- */

static void uri_parse_path_and_tag(void **state)
{
  cf_oci_uri uri;
  cf_err *err = NULL;
  assert_ok(cf_oci_uri_parse("oci:///var/images/busybox:1.36", &uri, &err), &err);
  assert_string_equal(uri.path, "/var/images/busybox");
  assert_string_equal(uri.tag, "1.36");
  cf_oci_uri_clear(&uri);
}

static void uri_parse_without_tag(void **state)
{
  cf_oci_uri uri;
  cf_err *err = NULL;
  assert_ok(cf_oci_uri_parse("oci:///var/images/busybox", &uri, &err), &err);
  assert_string_equal(uri.path, "/var/images/busybox");
  assert_null(uri.tag);
  cf_oci_uri_clear(&uri);

  assert_ok(cf_oci_uri_parse("oci:///var/a:b/busybox", &uri, &err), &err);
  assert_string_equal(uri.path, "/var/a:b/busybox");
  assert_null(uri.tag);
  cf_oci_uri_clear(&uri);
}

static void uri_parse_colon_in_directory(void **state)
{
  cf_oci_uri uri;
  cf_err *err = NULL;
  assert_ok(cf_oci_uri_parse("oci:///var/a:b/busybox:latest", &uri, &err), &err);
  assert_string_equal(uri.path, "/var/a:b/busybox");
  assert_string_equal(uri.tag, "latest");
  cf_oci_uri_clear(&uri);
}

static void uri_parse_rejects_malformed(void **state)
{
  static const char *const bad[] = {
      "docker:///library/busybox",
      "oci://relative/path",
      "oci:relative",
      "/var/images/busybox",
      "",
      "oci://",
      "oci:///var/x:",
      "oci:///var/x:a b",
  };
  for (size_t i = 0; i < COUNT(bad); i++) {
    cf_oci_uri uri;
    cf_err *err = NULL;
    int rc = cf_oci_uri_parse(bad[i], &uri, &err);
    cf_autofree char *quoted = cf_xasprintf("\"%s\"", bad[i]);
    expect_error(rc, &err, CF_E_INVALID, quoted, "oci:///absolute/path[:tag]", NULL);
  }
}

/* --- OCI documents --- */

static void oci_index_parses_descriptors(void **state)
{
  static const char json[] =
      "{\"schemaVersion\":2,\"mediaType\":\"" CF_OCI_MEDIA_INDEX "\",\"manifests\":["
      "{\"mediaType\":\"" CF_OCI_MEDIA_MANIFEST "\",\"digest\":\"" DIGEST_A "\",\"size\":123,"
      "\"annotations\":{\"" CF_OCI_ANNOTATION_REF_NAME "\":\"v1\",\"x\":\"y\"},"
      "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\",\"variant\":\"v8\"}},"
      "{\"mediaType\":\"" CF_DOCKER_MEDIA_MANIFEST_LIST "\",\"digest\":\"" DIGEST_B
      "\",\"size\":0}]}";
  cf_oci_index index;
  cf_err *err = NULL;
  assert_ok(cf_oci_index_parse(json, strlen(json), &index, &err), &err);
  assert_string_equal(index.media_type, CF_OCI_MEDIA_INDEX);
  assert_int_equal(index.manifest_count, 2);
  const cf_oci_descriptor *first = &index.manifests[0];
  assert_string_equal(first->media_type, CF_OCI_MEDIA_MANIFEST);
  assert_string_equal(first->digest, DIGEST_A);
  assert_int_equal(first->size, 123);
  assert_string_equal(cf_oci_descriptor_annotation(first, CF_OCI_ANNOTATION_REF_NAME), "v1");
  assert_string_equal(cf_oci_descriptor_annotation(first, "x"), "y");
  assert_null(cf_oci_descriptor_annotation(first, "missing"));
  assert_true(first->has_platform);
  assert_string_equal(first->platform.os, "linux");
  assert_string_equal(first->platform.architecture, "arm64");
  assert_string_equal(first->platform.variant, "v8");
  assert_false(index.manifests[1].has_platform);
  assert_int_equal(cf_oci_media_kind(index.manifests[1].media_type), CF_OCI_KIND_INDEX);
  cf_oci_index_clear(&index);
}

static void oci_index_rejects_invalid(void **state)
{
  static const struct {
    const char *json;
    const char *message;
  } cases[] = {
      {"{\"schemaVersion\":1,\"manifests\":[]}", "schemaVersion: expected 2"},
      {"{\"schemaVersion\":2}", "manifests: missing"},
      {"{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"m\",\"digest\":"
       "\"sha256:../../../etc/passwd\",\"size\":1}]}",
       "manifests[0]: digest: invalid digest"},
      {"{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"m\",\"digest\":\"" DIGEST_A
       "\",\"size\":-1}]}",
       "manifests[0]: size: expected a non-negative integer"},
      {"{\"schemaVersion\":2,\"manifests\":[{\"digest\":\"" DIGEST_A "\",\"size\":1}]}",
       "manifests[0]: mediaType: missing"},
      {"{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"m\",\"digest\":\"" DIGEST_A
       "\",\"size\":1,\"annotations\":{\"k\":1}}]}",
       "annotations: k: expected a string"},
      {"{\"schemaVersion\":2,\"mediaType\":\"" CF_OCI_MEDIA_MANIFEST "\",\"manifests\":[]}",
       "is not an image index type"},
      {"{\"schemaVersion\":2,\"schemaVersion\":2,\"manifests\":[]}", "duplicate"},
      {"[1,2]", "expected a JSON object"},
      {"{\"schemaVersion\":", "invalid image index: line 1"},
  };
  for (size_t i = 0; i < COUNT(cases); i++) {
    cf_oci_index index;
    cf_err *err = NULL;
    int rc = cf_oci_index_parse(cases[i].json, strlen(cases[i].json), &index, &err);
    expect_error(rc, &err, CF_E_INVALID, "image index", cases[i].message, NULL);
  }
}

static void oci_manifest_accepts_docker_types(void **state)
{
  static const char json[] =
      "{\"schemaVersion\":2,\"mediaType\":\"" CF_DOCKER_MEDIA_MANIFEST "\","
      "\"config\":{\"mediaType\":\"" CF_DOCKER_MEDIA_CONFIG "\",\"digest\":\"" DIGEST_A
      "\",\"size\":10},"
      "\"layers\":[{\"mediaType\":\"" CF_DOCKER_MEDIA_LAYER_GZIP "\",\"digest\":\"" DIGEST_B
      "\",\"size\":20},"
      "{\"mediaType\":\"" CF_OCI_MEDIA_LAYER_ZSTD "\",\"digest\":\"" DIGEST_C "\",\"size\":30}]}";
  cf_oci_manifest manifest;
  cf_err *err = NULL;
  assert_ok(cf_oci_manifest_parse(json, strlen(json), &manifest, &err), &err);
  assert_string_equal(manifest.media_type, CF_DOCKER_MEDIA_MANIFEST);
  assert_string_equal(manifest.config.digest, DIGEST_A);
  assert_int_equal(manifest.config.size, 10);
  assert_int_equal(manifest.layer_count, 2);
  assert_string_equal(manifest.layers[0].digest, DIGEST_B);
  assert_int_equal(manifest.layers[1].size, 30);
  cf_oci_manifest_clear(&manifest);
}

static void oci_manifest_rejects_invalid(void **state)
{
  static const struct {
    const char *json;
    const char *message;
  } cases[] = {
      {"{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" CF_OCI_MEDIA_CONFIG
       "\",\"digest\":\"" DIGEST_A "\",\"size\":1},\"layers\":[{\"mediaType\":"
       "\"application/octet-stream\",\"digest\":\"" DIGEST_B "\",\"size\":1}]}",
       "layers[0]: unsupported layer media type \"application/octet-stream\""},
      {"{\"schemaVersion\":2,\"config\":{\"mediaType\":\"application/json\",\"digest\":\"" DIGEST_A
       "\",\"size\":1},\"layers\":[]}",
       "is not an image config type"},
      {"{\"schemaVersion\":2,\"layers\":[]}", "config: missing"},
      {"{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" CF_OCI_MEDIA_CONFIG
       "\",\"digest\":\"" DIGEST_A "\",\"size\":1}}",
       "layers: missing"},
      {"{\"schemaVersion\":2,\"mediaType\":\"" CF_OCI_MEDIA_INDEX "\",\"config\":{},\"layers\":[]}",
       "is not an image manifest type"},
  };
  for (size_t i = 0; i < COUNT(cases); i++) {
    cf_oci_manifest manifest;
    cf_err *err = NULL;
    int rc = cf_oci_manifest_parse(cases[i].json, strlen(cases[i].json), &manifest, &err);
    expect_error(rc, &err, CF_E_INVALID, "invalid image manifest", cases[i].message, NULL);
  }
}

static void oci_config_parses_env_and_diff_ids(void **state)
{
  static const char json[] =
      "{\"architecture\":\"amd64\",\"os\":\"linux\","
      "\"config\":{\"Env\":[\"PATH=/bin\",\"A=b=c\"],\"Cmd\":[\"sh\"]},"
      "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" DIGEST_A "\",\"" DIGEST_B "\"]}}";
  cf_oci_image_config config;
  cf_err *err = NULL;
  assert_ok(cf_oci_config_parse(json, strlen(json), &config, &err), &err);
  assert_string_equal(config.os, "linux");
  assert_string_equal(config.architecture, "amd64");
  assert_int_equal(config.env_count, 2);
  assert_string_equal(config.env[0], "PATH=/bin");
  assert_string_equal(config.env[1], "A=b=c");
  assert_int_equal(config.diff_id_count, 2);
  assert_string_equal(config.diff_ids[1], DIGEST_B);
  cf_oci_config_clear(&config);

  static const char bare[] = "{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}";
  assert_ok(cf_oci_config_parse(bare, strlen(bare), &config, &err), &err);
  assert_int_equal(config.env_count, 0);
  assert_null(config.os);
  cf_oci_config_clear(&config);
}

static void oci_config_rejects_invalid(void **state)
{
  static const struct {
    const char *json;
    const char *message;
  } cases[] = {
      {"{\"config\":{}}", "rootfs: missing"},
      {"{\"rootfs\":{\"type\":\"tar\",\"diff_ids\":[]}}", "rootfs: type: expected \"layers\""},
      {"{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"md5:x\"]}}",
       "rootfs: diff_ids[0]: invalid digest"},
      {"{\"rootfs\":{\"type\":\"layers\"}}", "rootfs: diff_ids: missing"},
      {"{\"config\":{\"Env\":[1]},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}",
       "config: Env[0]: expected a string"},
  };
  for (size_t i = 0; i < COUNT(cases); i++) {
    cf_oci_image_config config;
    cf_err *err = NULL;
    int rc = cf_oci_config_parse(cases[i].json, strlen(cases[i].json), &config, &err);
    expect_error(rc, &err, CF_E_INVALID, "invalid image config", cases[i].message, NULL);
  }
}

static void oci_layer_compression_by_media_type(void **state)
{
  static const struct {
    const char *media_type;
    enum cf_oci_compression compression;
  } cases[] = {
      {CF_OCI_MEDIA_LAYER, CF_OCI_COMPRESSION_NONE},
      {CF_OCI_MEDIA_LAYER_GZIP, CF_OCI_COMPRESSION_GZIP},
      {CF_OCI_MEDIA_LAYER_ZSTD, CF_OCI_COMPRESSION_ZSTD},
      {CF_DOCKER_MEDIA_LAYER, CF_OCI_COMPRESSION_NONE},
      {CF_DOCKER_MEDIA_LAYER_GZIP, CF_OCI_COMPRESSION_GZIP},
      {"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", CF_OCI_COMPRESSION_ZSTD},
      {"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", CF_OCI_COMPRESSION_GZIP},
  };
  for (size_t i = 0; i < COUNT(cases); i++) {
    enum cf_oci_compression compression = 99;
    cf_err *err = NULL;
    assert_ok(cf_oci_layer_compression(cases[i].media_type, &compression, &err), &err);
    assert_int_equal(compression, cases[i].compression);
    assert_int_equal(cf_oci_media_kind(cases[i].media_type), CF_OCI_KIND_LAYER);
  }
  enum cf_oci_compression compression;
  cf_err *err = NULL;
  int rc = cf_oci_layer_compression(CF_OCI_MEDIA_CONFIG, &compression, &err);
  expect_error(rc, &err, CF_E_INVALID, "unsupported layer media type", NULL);
}

/* --- chain ids --- */

static void chain_id_matches_reference(void **state)
{
  /* Reference values computed in a shell, independently of cfwin:
   *   printf '%s' "$DIGEST_A $DIGEST_B" | sha256sum              -> AB
   *   printf '%s' "sha256:$AB $DIGEST_C" | sha256sum             -> ABC */
  static const char ab[] =
      "sha256:ccd722928bd92476ba1745586fed6e45a102504185ad88cd89e01ff116fd146c";
  static const char abc[] =
      "sha256:c1377126441fb2f5ec2c21ae2a60255331d639e830f0ee1b40a36e52d4c40588";
  char out[CF_DIGEST_LEN + 1];
  cf_chain_id(NULL, DIGEST_A, out);
  assert_string_equal(out, DIGEST_A);
  cf_chain_id(DIGEST_A, DIGEST_B, out);
  assert_string_equal(out, ab);
  cf_chain_id(ab, DIGEST_C, out);
  assert_string_equal(out, abc);
}

/* --- layouts --- */

static void write_tagged_images(const struct fixture *f, const char *const *tags, size_t count,
                                cf_built_image *built)
{
  static const char *const env_a[] = {"IMAGE=a"};
  static const char *const env_b[] = {"IMAGE=b"};
  cf_test_layer layer = {.entries = base_entries, .entry_count = COUNT(base_entries)};
  cf_test_image images[2] = {
      {.layers = &layer, .layer_count = 1, .env = env_a, .env_count = 1, .tag = tags[0]},
      {.layers = &layer, .layer_count = 1, .env = env_b, .env_count = 1, .tag = tags[1]},
  };
  write_layout(f, images, count, built);
}

static void layout_selects_manifest_by_tag(void **state)
{
  struct fixture *f = *state;
  static const char *const tags[] = {"a", "b"};
  cf_built_image built[2];
  write_tagged_images(f, tags, 2, built);
  assert_string_not_equal(built[0].manifest_digest, built[1].manifest_digest);

  cf_resolved_image image;
  cf_err *err = NULL;
  assert_ok(cf_image_layout_resolve(f->layout, "b", &image, &err), &err);
  assert_string_equal(image.manifest_digest, built[1].manifest_digest);
  assert_int_equal(image.config.env_count, 1);
  assert_string_equal(image.config.env[0], "IMAGE=b");
  assert_int_equal(image.manifest.layer_count, 1);
  cf_resolved_image_clear(&image);

  assert_ok(cf_image_layout_resolve(f->layout, "a", &image, &err), &err);
  assert_string_equal(image.manifest_digest, built[0].manifest_digest);
  cf_resolved_image_clear(&image);
}

static void layout_single_manifest_needs_no_tag(void **state)
{
  struct fixture *f = *state;
  static const char *const tags[] = {NULL, NULL};
  cf_built_image built[1];
  write_tagged_images(f, tags, 1, built);

  cf_resolved_image image;
  cf_err *err = NULL;
  assert_ok(cf_image_layout_resolve(f->layout, NULL, &image, &err), &err);
  assert_string_equal(image.manifest_digest, built[0].manifest_digest);
  cf_resolved_image_clear(&image);
}

static void layout_several_manifests_need_tag(void **state)
{
  struct fixture *f = *state;
  static const char *const tags[] = {"a", "b"};
  cf_built_image built[2];
  write_tagged_images(f, tags, 2, built);

  cf_resolved_image image;
  cf_err *err = NULL;
  int rc = cf_image_layout_resolve(f->layout, NULL, &image, &err);
  expect_error(rc, &err, CF_E_INVALID, "lists 2 images", "\"a\", \"b\"", ":TAG", NULL);
}

static void layout_unknown_tag_not_found(void **state)
{
  struct fixture *f = *state;
  static const char *const tags[] = {"a", NULL};
  cf_built_image built[2];
  write_tagged_images(f, tags, 2, built);

  cf_resolved_image image;
  cf_err *err = NULL;
  int rc = cf_image_layout_resolve(f->layout, "c", &image, &err);
  expect_error(rc, &err, CF_E_NOT_FOUND, "tag \"c\" not found", "available tags: \"a\"",
               "1 untagged", NULL);
}

static void layout_missing_not_found(void **state)
{
  struct fixture *f = *state;
  cf_resolved_image image;
  cf_err *err = NULL;
  int rc = cf_image_layout_resolve(f->layout, "v1", &image, &err);
  expect_error(rc, &err, CF_E_NOT_FOUND, f->layout, "oci-layout is missing", NULL);

  cf_autofree char *uri = layout_uri(f, "v1");
  cf_image pulled;
  rc = cf_image_pull(f->images, uri, &pulled, &err);
  expect_error(rc, &err, CF_E_NOT_FOUND, uri, NULL);
}

/* Writes index.json with one entry, tagged "multi", for a nested index that
 * lists entries_json. */
static void write_nested_index(const struct fixture *f, const char *entries_json)
{
  cf_autofree char *nested = cf_xasprintf("{\"schemaVersion\":2,\"mediaType\":\"" CF_OCI_MEDIA_INDEX
                                          "\",\"manifests\":[%s]}",
                                          entries_json);
  char digest[CF_DIGEST_LEN + 1];
  cf_err *err = NULL;
  assert_ok(cf_test_blob_write(f->layout, nested, strlen(nested), digest, &err), &err);
  cf_autofree char *index = cf_xasprintf(
      "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" CF_OCI_MEDIA_INDEX
      "\",\"digest\":\"%s\",\"size\":%zu,\"annotations\":{\"" CF_OCI_ANNOTATION_REF_NAME
      "\":\"multi\"}}]}",
      digest, strlen(nested));
  assert_ok(cf_test_index_write(f->layout, index, &err), &err);
}

static void layout_nested_index_picks_platform(void **state)
{
  struct fixture *f = *state;
  static const char *const tags[] = {NULL, NULL};
  cf_built_image built[1];
  write_tagged_images(f, tags, 1, built);

  /* The first entry is for another platform and has no blob. */
  cf_autofree char *entries = cf_xasprintf(
      "{\"mediaType\":\"" CF_OCI_MEDIA_MANIFEST "\",\"digest\":\"" DIGEST_A "\",\"size\":1,"
      "\"platform\":{\"os\":\"plan9\",\"architecture\":\"mips\"}},"
      "{\"mediaType\":\"" CF_OCI_MEDIA_MANIFEST "\",\"digest\":\"%s\",\"size\":%lld,"
      "\"platform\":{\"os\":\"" CF_OCI_HOST_OS "\",\"architecture\":\"" CF_OCI_HOST_ARCH "\"}}",
      built[0].manifest_digest, (long long)built[0].manifest_size);
  write_nested_index(f, entries);

  cf_resolved_image image;
  cf_err *err = NULL;
  assert_ok(cf_image_layout_resolve(f->layout, "multi", &image, &err), &err);
  assert_string_equal(image.manifest_digest, built[0].manifest_digest);
  cf_resolved_image_clear(&image);
}

static void layout_nested_index_without_platform(void **state)
{
  struct fixture *f = *state;
  write_nested_index(f, "{\"mediaType\":\"" CF_OCI_MEDIA_MANIFEST "\",\"digest\":\"" DIGEST_A
                        "\",\"size\":1,\"platform\":{\"os\":\"plan9\",\"architecture\":"
                        "\"mips\"}}");
  cf_resolved_image image;
  cf_err *err = NULL;
  int rc = cf_image_layout_resolve(f->layout, "multi", &image, &err);
  expect_error(rc, &err, CF_E_NOT_FOUND, "no image for " CF_OCI_HOST_OS "/" CF_OCI_HOST_ARCH,
               "plan9/mips", NULL);
}

static void layout_manifest_digest_mismatch(void **state)
{
  struct fixture *f = *state;
  cf_test_layer layer = {.entries = base_entries, .entry_count = COUNT(base_entries)};
  cf_test_image image = {.layers = &layer, .layer_count = 1, .corrupt_manifest = true};
  cf_built_image built;
  write_layout(f, &image, 1, &built);
  cf_autofree char *path = blob_file(f, built.manifest_digest);
  cf_autofree char *actual = file_digest(path);

  cf_resolved_image resolved;
  cf_err *err = NULL;
  int rc = cf_image_layout_resolve(f->layout, NULL, &resolved, &err);
  expect_error(rc, &err, CF_E_INTEGRITY, CF_OCI_MEDIA_MANIFEST, "digest mismatch",
               built.manifest_digest, actual, NULL);
}

static void layout_config_digest_mismatch(void **state)
{
  struct fixture *f = *state;
  cf_test_layer layer = {.entries = base_entries, .entry_count = COUNT(base_entries)};
  cf_test_image image = {.layers = &layer, .layer_count = 1, .corrupt_config = true};
  cf_built_image built;
  write_layout(f, &image, 1, &built);
  cf_autofree char *path = blob_file(f, built.config_digest);
  cf_autofree char *actual = file_digest(path);

  cf_resolved_image resolved;
  cf_err *err = NULL;
  int rc = cf_image_layout_resolve(f->layout, NULL, &resolved, &err);
  expect_error(rc, &err, CF_E_INTEGRITY, CF_OCI_MEDIA_CONFIG, built.config_digest, actual, NULL);
}

static void layout_rejects_oversized_document(void **state)
{
  struct fixture *f = *state;
  static const char index[] =
      "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" CF_OCI_MEDIA_MANIFEST
      "\",\"digest\":\"" DIGEST_A "\",\"size\":5000000}]}";
  cf_err *err = NULL;
  assert_ok(cf_test_index_write(f->layout, index, &err), &err);
  cf_resolved_image resolved;
  int rc = cf_image_layout_resolve(f->layout, NULL, &resolved, &err);
  expect_error(rc, &err, CF_E_LIMIT, "5000000 bytes", NULL);
}

static void layout_rejects_digest_traversal(void **state)
{
  struct fixture *f = *state;
  static const char index[] =
      "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" CF_OCI_MEDIA_MANIFEST
      "\",\"digest\":\"sha256:../../../../../../etc/passwd\",\"size\":10}]}";
  cf_err *err = NULL;
  assert_ok(cf_test_index_write(f->layout, index, &err), &err);
  cf_resolved_image resolved;
  int rc = cf_image_layout_resolve(f->layout, NULL, &resolved, &err);
  expect_error(rc, &err, CF_E_INVALID, "index.json", "invalid digest", NULL);
}

static void layout_rejects_layer_count_mismatch(void **state)
{
  struct fixture *f = *state;
  static const char config[] = "{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}";
  char config_digest[CF_DIGEST_LEN + 1];
  cf_err *err = NULL;
  assert_ok(cf_test_blob_write(f->layout, config, strlen(config), config_digest, &err), &err);
  cf_autofree char *manifest = cf_xasprintf(
      "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" CF_OCI_MEDIA_CONFIG
      "\",\"digest\":\"%s\",\"size\":%zu},\"layers\":[{\"mediaType\":\"" CF_OCI_MEDIA_LAYER
      "\",\"digest\":\"" DIGEST_A "\",\"size\":1}]}",
      config_digest, strlen(config));
  char manifest_digest[CF_DIGEST_LEN + 1];
  assert_ok(cf_test_blob_write(f->layout, manifest, strlen(manifest), manifest_digest, &err), &err);
  cf_autofree char *index =
      cf_xasprintf("{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" CF_OCI_MEDIA_MANIFEST
                   "\",\"digest\":\"%s\",\"size\":%zu}]}",
                   manifest_digest, strlen(manifest));
  assert_ok(cf_test_index_write(f->layout, index, &err), &err);

  cf_resolved_image resolved;
  int rc = cf_image_layout_resolve(f->layout, NULL, &resolved, &err);
  expect_error(rc, &err, CF_E_INVALID, "lists 0 diff_ids", "has 1 layers", NULL);
}

/* --- unpack --- */

/* Writes the layer to f->blob, makes f->dest empty and unpacks into it. */
static int unpack_layer(const struct fixture *f, const cf_test_layer *layer, cf_built_layer *built,
                        int64_t *size, cf_err **err)
{
  cf_err *build_err = NULL;
  assert_ok(cf_test_layer_write(layer, f->blob, built, &build_err), &build_err);
  assert_ok(cf_rm_rf(f->dest, &build_err), &build_err);
  assert_int_equal(mkdir(f->dest, 0755), 0);
  return cf_layer_unpack(f->blob, built->media_type, f->dest, built->diff_id, size, err);
}

/* Size of the uncompressed tar of entries, for the size that unpack reports. */
static int64_t tar_size(const struct fixture *f, const cf_tar_entry *entries, size_t count)
{
  cf_autofree char *path = cf_path_join(f->dir, "plain.tar");
  cf_test_layer layer = {
      .entries = entries, .entry_count = count, .compression = CF_TEST_UNCOMPRESSED};
  cf_built_layer built;
  cf_err *err = NULL;
  assert_ok(cf_test_layer_write(&layer, path, &built, &err), &err);
  return built.size;
}

static void assert_base_entries(const char *dir)
{
  assert_file_text(dir, "etc/hostname", "base\n");
  assert_file_text(dir, "bin/tool", "#!/bin/sh\necho tool\n");

  cf_autofree char *tool = cf_path_join(dir, "bin/tool");
  cf_autofree char *link = cf_path_join(dir, "bin/tool-link");
  cf_autofree char *sh = cf_path_join(dir, "bin/sh");
  struct stat tool_st, link_st, sh_st;
  assert_int_equal(lstat(tool, &tool_st), 0);
  assert_int_equal(lstat(link, &link_st), 0);
  assert_int_equal(lstat(sh, &sh_st), 0);
  assert_int_equal(tool_st.st_mode & 07777, 0755);
  assert_int_equal(tool_st.st_ino, link_st.st_ino);
  assert_true(S_ISLNK(sh_st.st_mode));
  char target[64];
  ssize_t n = readlink(sh, target, sizeof(target) - 1);
  assert_int_equal(n, 4);
  target[n] = '\0';
  assert_string_equal(target, "tool");
}

static void unpack_compression(const struct fixture *f, enum cf_test_compression compression)
{
  cf_test_layer layer = {
      .entries = base_entries, .entry_count = COUNT(base_entries), .compression = compression};
  cf_built_layer built;
  int64_t size = -1;
  cf_err *err = NULL;
  assert_ok(unpack_layer(f, &layer, &built, &size, &err), &err);
  assert_base_entries(f->dest);
  assert_int_equal(size, tar_size(f, base_entries, COUNT(base_entries)));
}

static void unpack_gzip_layer(void **state)
{
  unpack_compression(*state, CF_TEST_GZIP);
}

static void unpack_uncompressed_layer(void **state)
{
  unpack_compression(*state, CF_TEST_UNCOMPRESSED);
}

static void unpack_zstd_layer(void **state)
{
  unpack_compression(*state, CF_TEST_ZSTD);
}

static void unpack_keeps_process_cwd_root_umask(void **state)
{
  struct fixture *f = *state;
  char before[PATH_MAX];
  assert_non_null(getcwd(before, sizeof(before)));
  struct stat root_before;
  assert_int_equal(stat("/", &root_before), 0);
  mode_t old_umask = umask(027);

  cf_test_layer layer = {.entries = base_entries, .entry_count = COUNT(base_entries)};
  cf_built_layer built;
  int64_t size;
  cf_err *err = NULL;
  int rc = unpack_layer(f, &layer, &built, &size, &err);
  mode_t umask_after = umask(old_umask);
  assert_ok(rc, &err);

  char after[PATH_MAX];
  assert_non_null(getcwd(after, sizeof(after)));
  assert_string_equal(after, before);
  struct stat root_after;
  assert_int_equal(stat("/", &root_after), 0);
  assert_int_equal(root_after.st_ino, root_before.st_ino);
  assert_int_equal(root_after.st_dev, root_before.st_dev);
  assert_int_equal(umask_after, 027);
}

static void unpack_diff_id_mismatch_empties_dest(void **state)
{
  struct fixture *f = *state;
  cf_test_layer layer = {
      .entries = base_entries, .entry_count = COUNT(base_entries), .wrong_diff_id = true};
  cf_built_layer built;
  int64_t size;
  cf_err *err = NULL;
  int rc = unpack_layer(f, &layer, &built, &size, &err);

  cf_test_layer right = layer;
  right.wrong_diff_id = false;
  cf_built_layer reference;
  cf_autofree char *path = cf_path_join(f->dir, "right.blob");
  cf_err *build_err = NULL;
  assert_ok(cf_test_layer_write(&right, path, &reference, &build_err), &build_err);

  expect_error(rc, &err, CF_E_INTEGRITY, "diff_id mismatch", built.diff_id, reference.diff_id,
               CF_OCI_MEDIA_LAYER_GZIP, NULL);
  assert_int_equal(count_children(f->dest), 0);
}

static void unpack_corrupt_stream_fails(void **state)
{
  struct fixture *f = *state;
  cf_test_layer layer = {
      .entries = base_entries, .entry_count = COUNT(base_entries), .corrupt_blob = true};
  cf_built_layer built;
  int64_t size;
  cf_err *err = NULL;
  int rc = unpack_layer(f, &layer, &built, &size, &err);
  assert_int_equal(rc, -1);
  assert_non_null(err);
  /* Depending on where the byte lands, gzip reports a broken stream or the
   * stream decodes to other bytes than the diff_id. */
  if (err->code != CF_E_INVALID && err->code != CF_E_INTEGRITY) {
    fail_msg("error code %d: %s", err->code, err->message);
  }
  expect_error(rc, &err, err->code, built.diff_id, NULL);
  assert_int_equal(count_children(f->dest), 0);
}

static void unpack_rejects_unknown_media_type(void **state)
{
  struct fixture *f = *state;
  cf_test_layer layer = {.entries = base_entries, .entry_count = COUNT(base_entries)};
  cf_built_layer built;
  cf_err *err = NULL;
  assert_ok(cf_test_layer_write(&layer, f->blob, &built, &err), &err);
  assert_int_equal(mkdir(f->dest, 0755), 0);
  int64_t size;
  int rc = cf_layer_unpack(f->blob, "application/zip", f->dest, built.diff_id, &size, &err);
  expect_error(rc, &err, CF_E_INVALID, "unsupported layer media type \"application/zip\"", NULL);
}

/* Runs the unpack and checks that it failed with CF_E_INVALID naming
 * message, leaving dest empty. Returns 0 on the expected outcome; prints the
 * reason and returns 1 otherwise. Usable in a child process. */
static int try_escape(const struct fixture *f, const cf_built_layer *built, const char *message)
{
  int64_t size;
  cf_err *err = NULL;
  int rc = cf_layer_unpack(f->blob, built->media_type, f->dest, built->diff_id, &size, &err);
  int result = 0;
  if (rc == 0) {
    fprintf(stderr, "unpack succeeded, expected \"%s\"\n", message);
    result = 1;
  } else if (err->code != CF_E_INVALID || strstr(err->message, message) == NULL) {
    fprintf(stderr, "error \"%s\" (code %d), expected \"%s\"\n", err->message, err->code, message);
    result = 1;
  }
  cf_err_free(err);
  DIR *d = opendir(f->dest);
  for (struct dirent *e = d != NULL ? readdir(d) : NULL; e != NULL; e = readdir(d)) {
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
      fprintf(stderr, "dest still contains %s\n", e->d_name);
      result = 1;
    }
  }
  if (d != NULL) {
    closedir(d);
  }
  return result;
}

/* Removes CAP_SYS_CHROOT from this process, so the unpack thread cannot
 * chroot and the entry checks alone must stop the escape. */
static int drop_chroot_capability(void)
{
  struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct data[2];
  if (syscall(SYS_capget, &header, data) < 0) {
    return -1;
  }
  data[0].effective &= ~(1u << CAP_SYS_CHROOT);
  data[0].permitted &= ~(1u << CAP_SYS_CHROOT);
  return (int)syscall(SYS_capset, &header, data);
}

static int try_escape_without_chroot(const struct fixture *f, const cf_built_layer *built,
                                     const char *message)
{
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    if (drop_chroot_capability() < 0) {
      perror("capset");
      _exit(2);
    }
    _exit(try_escape(f, built, message));
  }
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Checks that a layer of entries is rejected with message, with and without
 * chroot, and that nothing changed outside dest. */
static void expect_escape_rejected(const struct fixture *f, const cf_tar_entry *entries,
                                   size_t count, const char *message)
{
  cf_autofree char *outside = cf_path_join(f->dir, "outside");
  assert_int_equal(mkdir(outside, 0755), 0);
  cf_test_layer layer = {.entries = entries, .entry_count = count};
  cf_built_layer built;
  cf_err *err = NULL;
  assert_ok(cf_test_layer_write(&layer, f->blob, &built, &err), &err);
  assert_int_equal(mkdir(f->dest, 0755), 0);
  cf_autofree char *before = list_tree(f->dir, "dest");
  struct stat passwd_before;
  assert_int_equal(stat("/etc/passwd", &passwd_before), 0);

  assert_int_equal(try_escape(f, &built, message), 0);
  assert_int_equal(try_escape_without_chroot(f, &built, message), 0);

  cf_autofree char *after = list_tree(f->dir, "dest");
  assert_string_equal(after, before);
  struct stat passwd_after;
  assert_int_equal(stat("/etc/passwd", &passwd_after), 0);
  assert_int_equal(passwd_after.st_nlink, passwd_before.st_nlink);
  assert_int_equal(count_children(outside), 0);
}

static void unpack_rejects_dotdot_path(void **state)
{
  cf_tar_entry entries[] = {
      {CF_TAR_FILE, "ok.txt", "fine", 0},
      {CF_TAR_FILE, "../x", "escaped", 0},
  };
  expect_escape_rejected(*state, entries, COUNT(entries),
                         "entry \"../x\" escapes the layer directory");
}

static void unpack_rejects_inner_dotdot_path(void **state)
{
  cf_tar_entry entries[] = {
      {CF_TAR_DIR, "a", NULL, 0},
      {CF_TAR_FILE, "a/../../outside/x", "escaped", 0},
  };
  expect_escape_rejected(*state, entries, COUNT(entries),
                         "entry \"a/../../outside/x\" escapes the layer directory");
}

static void unpack_rejects_absolute_path(void **state)
{
  struct fixture *f = *state;
  cf_autofree char *target = cf_path_join(f->dir, "outside/abs.txt");
  cf_tar_entry entries[] = {{CF_TAR_FILE, target, "escaped", 0}};
  cf_autofree char *message = cf_xasprintf("entry \"%s\" escapes the layer directory", target);
  expect_escape_rejected(f, entries, COUNT(entries), message);
}

static void unpack_rejects_write_through_symlink(void **state)
{
  struct fixture *f = *state;
  cf_autofree char *outside = cf_path_join(f->dir, "outside");
  cf_tar_entry entries[] = {
      {CF_TAR_SYMLINK, "link", outside, 0},
      {CF_TAR_FILE, "link/file", "escaped", 0},
  };
  expect_escape_rejected(f, entries, COUNT(entries),
                         "entry \"link/file\": passes through the symbolic link \"link\"");
}

static void unpack_rejects_hardlink_dotdot(void **state)
{
  cf_tar_entry entries[] = {{CF_TAR_HARDLINK, "passwd", "../../etc/passwd", 0}};
  expect_escape_rejected(*state, entries, COUNT(entries),
                         "entry \"passwd\": hard link target \"../../etc/passwd\" escapes the "
                         "layer directory");
}

static void unpack_rejects_hardlink_absolute(void **state)
{
  cf_tar_entry entries[] = {{CF_TAR_HARDLINK, "passwd", "/etc/passwd", 0}};
  expect_escape_rejected(*state, entries, COUNT(entries),
                         "entry \"passwd\": hard link target \"/etc/passwd\" escapes the layer "
                         "directory");
}

static void unpack_rejects_hardlink_through_symlink(void **state)
{
  cf_tar_entry entries[] = {
      {CF_TAR_SYMLINK, "etc-link", "/etc", 0},
      {CF_TAR_HARDLINK, "passwd", "etc-link/passwd", 0},
  };
  expect_escape_rejected(*state, entries, COUNT(entries),
                         "entry \"passwd\": hard link target \"etc-link/passwd\": passes through "
                         "the symbolic link \"etc-link\"");
}

static void unpack_allows_symlink_to_outside(void **state)
{
  struct fixture *f = *state;
  cf_tar_entry entries[] = {{CF_TAR_SYMLINK, "etc-link", "/etc", 0}};
  cf_test_layer layer = {.entries = entries, .entry_count = COUNT(entries)};
  cf_built_layer built;
  int64_t size;
  cf_err *err = NULL;
  assert_ok(unpack_layer(f, &layer, &built, &size, &err), &err);
  cf_autofree char *link = cf_path_join(f->dest, "etc-link");
  char target[16];
  ssize_t n = readlink(link, target, sizeof(target) - 1);
  assert_int_equal(n, 4);
  target[n] = '\0';
  assert_string_equal(target, "/etc");
}

static void unpack_converts_whiteouts(void **state)
{
  if (!cf_test_is_root()) {
    skip(); /* mknod and trusted.* extended attributes need root */
  }
  struct fixture *f = *state;
  cf_tar_entry entries[] = {
      {CF_TAR_DIR, "dir", NULL, 0},
      {CF_TAR_FILE, "dir/kept", "kept", 0},
      {CF_TAR_FILE, "dir/.wh.gone", NULL, 0},
      {CF_TAR_DIR, "opq", NULL, 0},
      {CF_TAR_FILE, "opq/.wh..wh..opq", NULL, 0},
      {CF_TAR_FILE, "opq/new", "new", 0},
      {CF_TAR_FILE, ".wh.top", NULL, 0},
      {CF_TAR_FILE, ".wh..wh.plnk", NULL, 0},
      {CF_TAR_FILE, "late/.wh..wh..opq", NULL, 0},
  };
  cf_test_layer layer = {.entries = entries, .entry_count = COUNT(entries)};
  cf_built_layer built;
  int64_t size;
  cf_err *err = NULL;
  assert_ok(unpack_layer(f, &layer, &built, &size, &err), &err);

  static const char *const whiteouts[] = {"dir/gone", "top"};
  for (size_t i = 0; i < COUNT(whiteouts); i++) {
    cf_autofree char *path = cf_path_join(f->dest, whiteouts[i]);
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISCHR(st.st_mode));
    assert_int_equal(major(st.st_rdev), 0);
    assert_int_equal(minor(st.st_rdev), 0);
  }
  static const char *const opaque[] = {"opq", "late"};
  for (size_t i = 0; i < COUNT(opaque); i++) {
    cf_autofree char *path = cf_path_join(f->dest, opaque[i]);
    char value[8] = {0};
    ssize_t n = lgetxattr(path, "trusted.overlay.opaque", value, sizeof(value));
    assert_int_equal(n, 1);
    assert_string_equal(value, "y");
  }
  static const char *const absent[] = {"dir/.wh.gone", "opq/.wh..wh..opq", ".wh.top",
                                       ".wh..wh.plnk", "late/.wh..wh..opq"};
  for (size_t i = 0; i < COUNT(absent); i++) {
    if (path_exists(f->dest, absent[i])) {
      fail_msg("%s was written as a file", absent[i]);
    }
  }
  assert_file_text(f->dest, "dir/kept", "kept");
  assert_file_text(f->dest, "opq/new", "new");
  cf_autofree char *plain_dir = cf_path_join(f->dest, "dir");
  assert_int_equal(lgetxattr(plain_dir, "trusted.overlay.opaque", NULL, 0), -1);
}

static void unpack_drops_overlay_xattrs(void **state)
{
  if (!cf_test_is_root()) {
    skip(); /* trusted.* extended attributes need root */
  }
  struct fixture *f = *state;
  cf_tar_entry entries[] = {
      {CF_TAR_FILE, "redirected", "x", 0, "trusted.overlay.redirect=/etc"},
      {CF_TAR_DIR, "marked", NULL, 0, "trusted.overlay.opaque=y"},
      {CF_TAR_FILE, "noted", "y", 0, "user.note=kept"},
  };
  cf_test_layer layer = {.entries = entries, .entry_count = COUNT(entries)};
  cf_built_layer built;
  int64_t size;
  cf_err *err = NULL;
  assert_ok(unpack_layer(f, &layer, &built, &size, &err), &err);

  cf_autofree char *redirected = cf_path_join(f->dest, "redirected");
  cf_autofree char *marked = cf_path_join(f->dest, "marked");
  cf_autofree char *noted = cf_path_join(f->dest, "noted");
  assert_int_equal(lgetxattr(redirected, "trusted.overlay.redirect", NULL, 0), -1);
  assert_int_equal(lgetxattr(marked, "trusted.overlay.opaque", NULL, 0), -1);
  char value[16] = {0};
  assert_int_equal(lgetxattr(noted, "user.note", value, sizeof(value)), 4);
  assert_string_equal(value, "kept");
}

static void unpack_rejects_bad_whiteout(void **state)
{
  cf_tar_entry entries[] = {{CF_TAR_FILE, "dir/.wh..", NULL, 0}};
  expect_escape_rejected(*state, entries, COUNT(entries),
                         "entry \"dir/.wh..\" is not a valid whiteout");
}

static void unpack_keeps_long_and_utf8_names(void **state)
{
  struct fixture *f = *state;
  static const char long_name[] =
      "deep/"
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
      "/"
      "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.txt";
  cf_tar_entry entries[] = {
      {CF_TAR_FILE, "caf\xc3\xa9.txt", "utf-8", 0},
      {CF_TAR_FILE, long_name, "long", 0},
  };
  cf_test_layer layer = {.entries = entries, .entry_count = COUNT(entries)};
  cf_built_layer built;
  int64_t size;
  cf_err *err = NULL;
  assert_ok(unpack_layer(f, &layer, &built, &size, &err), &err);
  assert_file_text(f->dest, "caf\xc3\xa9.txt", "utf-8");
  assert_file_text(f->dest, long_name, "long");
}

static void unpack_skips_device_nodes(void **state)
{
  struct fixture *f = *state;
  cf_tar_entry entries[] = {
      {CF_TAR_DIR, "dev", NULL, 0},
      {CF_TAR_CHAR_DEVICE, "dev/null", NULL, 0},
      {CF_TAR_FILE, "dev/readme", "text", 0},
  };
  cf_test_layer layer = {.entries = entries, .entry_count = COUNT(entries)};
  cf_built_layer built;
  int64_t size;
  cf_err *err = NULL;
  assert_ok(unpack_layer(f, &layer, &built, &size, &err), &err);
  assert_false(path_exists(f->dest, "dev/null"));
  assert_file_text(f->dest, "dev/readme", "text");
}

/* --- pull and the layer store --- */

static void pull_returns_layers_env_and_digest(void **state)
{
  struct fixture *f = *state;
  cf_built_image built;
  write_two_layer_image(f, &built);
  cf_autofree char *uri = layout_uri(f, "v1");
  cf_image image;
  pull_ok(f, uri, &image);

  assert_string_equal(image.manifest_digest, built.manifest_digest);
  assert_int_equal(image.env_count, 2);
  assert_string_equal(image.env[0], "PATH=/bin");
  assert_string_equal(image.env[1], "GREETING=hello world");
  assert_int_equal(image.layer_count, 2);
  assert_string_equal(image.chain_ids[0], built.layers[0].diff_id);
  char chain[CF_DIGEST_LEN + 1];
  cf_chain_id(built.layers[0].diff_id, built.layers[1].diff_id, chain);
  assert_string_equal(image.chain_ids[1], chain);
  for (size_t i = 0; i < 2; i++) {
    cf_autofree char *dir = layer_dir(f, image.chain_ids[i]);
    assert_string_equal(image.layer_dirs[i], dir);
  }
  assert_base_entries(image.layer_dirs[0]);
  assert_file_text(image.layer_dirs[1], "etc/hostname", "top\n");
  assert_file_text(image.layer_dirs[1], "srv/data.txt", "data");
  cf_autofree char *hostname = cf_path_join(image.layer_dirs[1], "etc/hostname");
  struct stat st;
  assert_int_equal(stat(hostname, &st), 0);
  assert_int_equal(st.st_mode & 07777, 0600);

  cf_layer_record record;
  get_record(f, image.chain_ids[1], &record);
  assert_string_equal(record.state, CF_LAYER_READY);
  assert_string_equal(record.path, image.layer_dirs[1]);
  assert_string_equal(record.diff_id, built.layers[1].diff_id);
  assert_string_equal(record.parent_chain_id, image.chain_ids[0]);
  assert_int_equal(record.size, built.layers[1].size); /* uncompressed: blob == tar */
  cf_layer_record_clear(&record);
  get_record(f, image.chain_ids[0], &record);
  assert_null(record.parent_chain_id);
  cf_layer_record_clear(&record);
  cf_image_clear(&image);
}

static void pull_docker_media_types(void **state)
{
  struct fixture *f = *state;
  cf_test_layer layer = {.entries = base_entries, .entry_count = COUNT(base_entries)};
  cf_test_image image_spec = {
      .layers = &layer, .layer_count = 1, .tag = "docker", .docker_media_types = true};
  cf_built_image built;
  write_layout(f, &image_spec, 1, &built);
  assert_string_equal(built.layers[0].media_type, CF_DOCKER_MEDIA_LAYER_GZIP);
  cf_autofree char *uri = layout_uri(f, "docker");
  cf_image image;
  pull_ok(f, uri, &image);
  assert_base_entries(image.layer_dirs[0]);
  cf_image_clear(&image);
}

static void pull_verifies_layer_digest(void **state)
{
  struct fixture *f = *state;
  cf_test_layer layer = {
      .entries = base_entries, .entry_count = COUNT(base_entries), .corrupt_blob = true};
  cf_built_image built;
  write_one_layer_image(f, &layer, &built);
  cf_autofree char *path = blob_file(f, built.layers[0].digest);
  cf_autofree char *actual = file_digest(path);
  cf_autofree char *uri = layout_uri(f, "v1");

  cf_image image;
  cf_err *err = NULL;
  int rc = cf_image_pull(f->images, uri, &image, &err);
  expect_error(rc, &err, CF_E_INTEGRITY, uri, CF_OCI_MEDIA_LAYER_GZIP, "digest mismatch",
               built.layers[0].digest, actual, NULL);
  assert_null(image.layer_dirs);
}

static void pull_verifies_layer_size(void **state)
{
  struct fixture *f = *state;
  cf_test_layer layer = {
      .entries = base_entries, .entry_count = COUNT(base_entries), .wrong_size = true};
  cf_built_image built;
  write_one_layer_image(f, &layer, &built);
  cf_autofree char *stated = cf_xasprintf("says %lld bytes", (long long)built.layers[0].size);
  cf_autofree char *actual = cf_xasprintf("has %lld bytes", (long long)built.layers[0].size - 1);
  cf_autofree char *uri = layout_uri(f, "v1");

  cf_image image;
  cf_err *err = NULL;
  int rc = cf_image_pull(f->images, uri, &image, &err);
  expect_error(rc, &err, CF_E_INTEGRITY, CF_OCI_MEDIA_LAYER_GZIP, built.layers[0].digest,
               "size mismatch", stated, actual, NULL);
}

/* Lists <depot>/layers, leaving out lock files. */
static char *list_layers_without_locks(const struct fixture *f)
{
  cf_buf out;
  cf_buf_init(&out, SIZE_MAX);
  DIR *d = opendir(f->layers);
  assert_non_null(d);
  for (struct dirent *e = readdir(d); e != NULL; e = readdir(d)) {
    size_t len = strlen(e->d_name);
    bool lock = len > 5 && strcmp(e->d_name + len - 5, ".lock") == 0;
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 && !lock) {
      cf_buf_printf(&out, NULL, "%s ", e->d_name);
    }
  }
  closedir(d);
  return cf_buf_take(&out);
}

static void pull_diff_id_mismatch_removes_layer(void **state)
{
  struct fixture *f = *state;
  cf_test_layer layer = {
      .entries = base_entries, .entry_count = COUNT(base_entries), .wrong_diff_id = true};
  cf_built_image built;
  write_one_layer_image(f, &layer, &built);
  cf_autofree char *uri = layout_uri(f, "v1");

  cf_image image;
  cf_err *err = NULL;
  int rc = cf_image_pull(f->images, uri, &image, &err);
  expect_error(rc, &err, CF_E_INTEGRITY, "diff_id mismatch", built.layers[0].diff_id, NULL);

  cf_autofree char *left = list_layers_without_locks(f);
  assert_string_equal(left, "");
  cf_layer_record record;
  rc = cf_store_layer_get(f->store, built.layers[0].diff_id, &record, &err);
  expect_error(rc, &err, CF_E_NOT_FOUND, NULL);
}

static void pull_twice_reuses_layers(void **state)
{
  struct fixture *f = *state;
  cf_built_image built;
  write_two_layer_image(f, &built);
  cf_autofree char *uri = layout_uri(f, "v1");
  cf_image first;
  pull_ok(f, uri, &first);
  cf_autofree char *marker = cf_path_join(first.layer_dirs[0], "marker");
  write_file(marker, "still here");
  struct stat dir_before;
  assert_int_equal(stat(first.layer_dirs[0], &dir_before), 0);
  cf_layer_record before;
  get_record(f, first.chain_ids[1], &before);

  int watch = watch_layers(f);
  cf_image second;
  pull_ok(f, uri, &second);
  assert_int_equal(count_unpacks(watch), 0);
  close(watch);

  for (size_t i = 0; i < 2; i++) {
    assert_string_equal(second.layer_dirs[i], first.layer_dirs[i]);
    assert_string_equal(second.chain_ids[i], first.chain_ids[i]);
  }
  assert_true(path_exists(marker, NULL));
  struct stat dir_after;
  assert_int_equal(stat(second.layer_dirs[0], &dir_after), 0);
  assert_int_equal(dir_after.st_ino, dir_before.st_ino);
  cf_layer_record after;
  get_record(f, first.chain_ids[1], &after);
  assert_string_equal(after.state, before.state);
  assert_string_equal(after.path, before.path);
  assert_string_equal(after.diff_id, before.diff_id);
  assert_int_equal(after.size, before.size);
  cf_layer_record_clear(&before);
  cf_layer_record_clear(&after);
  cf_image_clear(&first);
  cf_image_clear(&second);
}

struct puller {
  cf_image_store *images;
  const char *uri;
  pthread_barrier_t *start;
  int rc;
  cf_err *err;
  cf_image image;
};

static void *pull_thread(void *arg)
{
  struct puller *p = arg;
  pthread_barrier_wait(p->start);
  p->rc = cf_image_pull(p->images, p->uri, &p->image, &p->err);
  return NULL;
}

static void pull_concurrent_threads_unpack_once(void **state)
{
  struct fixture *f = *state;
  cf_built_image built;
  write_two_layer_image(f, &built);
  cf_autofree char *uri = layout_uri(f, "v1");
  int watch = watch_layers(f);

  enum { THREADS = 4 };
  pthread_barrier_t start;
  pthread_barrier_init(&start, NULL, THREADS);
  struct puller pullers[THREADS];
  pthread_t threads[THREADS];
  for (int i = 0; i < THREADS; i++) {
    pullers[i] = (struct puller){.images = f->images, .uri = uri, .start = &start};
    assert_int_equal(pthread_create(&threads[i], NULL, pull_thread, &pullers[i]), 0);
  }
  for (int i = 0; i < THREADS; i++) {
    pthread_join(threads[i], NULL);
  }
  pthread_barrier_destroy(&start);

  assert_int_equal(count_unpacks(watch), 2);
  close(watch);
  for (int i = 0; i < THREADS; i++) {
    assert_ok(pullers[i].rc, &pullers[i].err);
    assert_int_equal(pullers[i].image.layer_count, 2);
    assert_string_equal(pullers[i].image.layer_dirs[1], pullers[0].image.layer_dirs[1]);
  }
  assert_base_entries(pullers[0].image.layer_dirs[0]);
  for (int i = 0; i < THREADS; i++) {
    cf_image_clear(&pullers[i].image);
  }
}

/* Pulls uri with a store and image store of its own, after one byte arrives
 * on go; returns the exit status for a child process. */
static int pull_in_child(const struct fixture *f, const char *uri, int go)
{
  cf_store *store = NULL;
  cf_image_store *images = NULL;
  cf_err *err = NULL;
  char byte;
  int rc = cf_store_open(f->depot, &store, &err);
  if (rc == 0) {
    rc = cf_image_store_open(f->depot, store, &images, &err);
  }
  if (read(go, &byte, 1) != 1) {
    return 3;
  }
  cf_image image;
  if (rc == 0) {
    rc = cf_image_pull(images, uri, &image, &err);
  }
  if (rc < 0) {
    fprintf(stderr, "child pull: %s\n", err->message);
    return 1;
  }
  cf_image_clear(&image);
  cf_image_store_close(images);
  cf_store_close(store);
  return 0;
}

static void pull_concurrent_processes_unpack_once(void **state)
{
  struct fixture *f = *state;
  cf_built_image built;
  write_two_layer_image(f, &built);
  cf_autofree char *uri = layout_uri(f, "v1");
  int watch = watch_layers(f);
  int go[2];
  assert_int_equal(pipe(go), 0);

  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    close(go[1]);
    _exit(pull_in_child(f, uri, go[0]));
  }
  close(go[0]);
  assert_int_equal(write(go[1], "x", 1), 1);
  close(go[1]);
  cf_image image;
  pull_ok(f, uri, &image);
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);

  assert_int_equal(count_unpacks(watch), 2);
  close(watch);
  assert_base_entries(image.layer_dirs[0]);
  cf_image_clear(&image);
}

static void pull_recovers_interrupted_unpack(void **state)
{
  struct fixture *f = *state;
  cf_test_layer layer = {.entries = base_entries, .entry_count = COUNT(base_entries)};
  cf_built_image built;
  write_one_layer_image(f, &layer, &built);
  const char *chain_id = built.layers[0].diff_id; /* a base layer's chain id is its diff_id */

  /* What a crash in the middle of an unpack leaves: a record in state
   * "unpacking" naming a temporary directory, and a partial layer. */
  cf_autofree char *temp = cf_path_join(f->layers, "tmp-0123456789abcdef");
  cf_autofree char *final = layer_dir(f, chain_id);
  cf_err *err = NULL;
  assert_ok(cf_mkdir_p(temp, 0755, &err), &err);
  assert_ok(cf_mkdir_p(final, 0755, &err), &err);
  cf_autofree char *junk = cf_path_join(temp, "junk");
  cf_autofree char *partial = cf_path_join(final, "partial");
  write_file(junk, "junk");
  write_file(partial, "partial");
  cf_layer_record stale = {
      .chain_id = (char *)chain_id,
      .diff_id = (char *)chain_id,
      .path = temp,
      .state = CF_LAYER_UNPACKING,
  };
  assert_ok(cf_store_layer_put(f->store, &stale, &err), &err);

  cf_autofree char *uri = layout_uri(f, "v1");
  cf_image image;
  pull_ok(f, uri, &image);
  assert_false(path_exists(temp, NULL));
  assert_false(path_exists(partial, NULL));
  assert_base_entries(final);
  cf_layer_record record;
  get_record(f, chain_id, &record);
  assert_string_equal(record.state, CF_LAYER_READY);
  assert_string_equal(record.path, final);
  cf_layer_record_clear(&record);
  cf_image_clear(&image);
}

/* Writes what a crash in the middle of an unpack leaves for chain_id: a
 * record in state "unpacking" naming a temporary directory with content. */
static void leave_interrupted_unpack(struct fixture *f, const char *chain_id, const char *temp)
{
  cf_err *err = NULL;
  assert_ok(cf_mkdir_p(temp, 0755, &err), &err);
  cf_autofree char *junk = cf_path_join(temp, "junk");
  write_file(junk, "junk");
  cf_layer_record stale = {
      .chain_id = (char *)chain_id,
      .diff_id = (char *)chain_id,
      .path = (char *)temp,
      .state = CF_LAYER_UNPACKING,
  };
  assert_ok(cf_store_layer_put(f->store, &stale, &err), &err);
}

static void store_open_removes_interrupted_unpack(void **state)
{
  struct fixture *f = *state;
  const char *chain_id = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
  cf_autofree char *temp = cf_path_join(f->layers, "tmp-00000000000000aa");
  leave_interrupted_unpack(f, chain_id, temp);

  cf_image_store *reopened = NULL;
  cf_err *err = NULL;
  assert_ok(cf_image_store_open(f->depot, f->store, &reopened, &err), &err);
  assert_false(path_exists(temp, NULL));
  cf_layer_record record;
  assert_int_equal(cf_store_layer_get(f->store, chain_id, &record, &err), -1);
  assert_int_equal(err->code, CF_E_NOT_FOUND);
  cf_err_free(err);
  cf_image_store_close(reopened);
}

static void store_open_keeps_locked_unpack(void **state)
{
  struct fixture *f = *state;
  const char *chain_id = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
  cf_autofree char *temp = cf_path_join(f->layers, "tmp-00000000000000bb");
  leave_interrupted_unpack(f, chain_id, temp);
  /* Another process unpacking the layer holds its lock. */
  cf_autofree char *lock_path = cf_xasprintf("%s/%s.lock", f->layers, chain_id + 7);
  int lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  assert_true(lock_fd >= 0);
  pid_t holder = fork();
  if (holder == 0) {
    flock(lock_fd, LOCK_EX);
    pause();
    _exit(0);
  }
  close(lock_fd);
  usleep(100 * 1000);

  cf_image_store *reopened = NULL;
  cf_err *err = NULL;
  assert_ok(cf_image_store_open(f->depot, f->store, &reopened, &err), &err);
  bool kept = path_exists(temp, NULL);
  kill(holder, SIGKILL);
  waitpid(holder, NULL, 0);
  assert_true(kept);
  cf_layer_record record;
  get_record(f, chain_id, &record);
  assert_string_equal(record.state, CF_LAYER_UNPACKING);
  cf_layer_record_clear(&record);
  cf_image_store_close(reopened);
}

static void pull_redoes_ready_layer_without_directory(void **state)
{
  struct fixture *f = *state;
  cf_test_layer layer = {.entries = base_entries, .entry_count = COUNT(base_entries)};
  cf_built_image built;
  write_one_layer_image(f, &layer, &built);
  cf_autofree char *uri = layout_uri(f, "v1");
  cf_image image;
  pull_ok(f, uri, &image);
  cf_err *err = NULL;
  assert_ok(cf_rm_rf(image.layer_dirs[0], &err), &err);
  cf_image_clear(&image);

  int watch = watch_layers(f);
  pull_ok(f, uri, &image);
  assert_int_equal(count_unpacks(watch), 1);
  close(watch);
  assert_base_entries(image.layer_dirs[0]);
  cf_image_clear(&image);
}

static void pull_rejects_image_without_layers(void **state)
{
  struct fixture *f = *state;
  cf_test_image image_spec = {.layers = NULL, .layer_count = 0, .tag = "empty"};
  cf_built_image built;
  write_layout(f, &image_spec, 1, &built);
  cf_autofree char *uri = layout_uri(f, "empty");
  cf_image image;
  cf_err *err = NULL;
  int rc = cf_image_pull(f->images, uri, &image, &err);
  expect_error(rc, &err, CF_E_INVALID, "has no layers", NULL);
}

static void rootfs_prepare_creates_dirs(void **state)
{
  struct fixture *f = *state;
  cf_autofree char *container = cf_path_join(f->dir, "container");
  assert_int_equal(mkdir(container, 0700), 0);
  mode_t old_umask = umask(077);
  cf_rootfs_dirs dirs;
  cf_err *err = NULL;
  int rc = cf_image_rootfs_prepare(container, &dirs, &err);
  umask(old_umask);
  assert_ok(rc, &err);

  cf_autofree char *upper = cf_path_join(container, "rootfs-upper");
  cf_autofree char *work = cf_path_join(container, "rootfs-work");
  cf_autofree char *target = cf_path_join(container, "rootfs");
  assert_string_equal(dirs.upper, upper);
  assert_string_equal(dirs.work, work);
  assert_string_equal(dirs.target, target);
  const char *paths[] = {upper, work, target};
  for (size_t i = 0; i < COUNT(paths); i++) {
    struct stat st;
    assert_int_equal(stat(paths[i], &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0755);
  }
  cf_rootfs_dirs_clear(&dirs);

  /* Preparing again keeps the directories. */
  assert_ok(cf_image_rootfs_prepare(container, &dirs, &err), &err);
  cf_rootfs_dirs_clear(&dirs);

  cf_autofree char *missing = cf_path_join(f->dir, "no-such-container");
  rc = cf_image_rootfs_prepare(missing, &dirs, &err);
  expect_error(rc, &err, CF_E_SYSTEM, missing, NULL);
}

/* --- limits of hostile layers --- */

#define MIB (INT64_C(1) << 20)

/* The content of a generated layer: a tar of count files of file_bytes
 * zero bytes each, followed by trailing_bytes zero bytes after the tar's
 * end marker, where the tar reader no longer looks. */
struct zero_tar {
  size_t count;
  int64_t file_bytes;
  int64_t trailing_bytes;
};

/* A gzip writer in raw format, which compresses the bytes it is given, and
 * the hash of those uncompressed bytes. */
struct gzip_sink {
  struct archive *gzip;
  cf_sha256 sha;
};

static la_ssize_t store_blob_bytes(struct archive *a, void *data, const void *buffer, size_t len)
{
  (void)a;
  return cf_buf_append(data, buffer, len, NULL) < 0 ? -1 : (la_ssize_t)len;
}

static void gzip_sink_write(struct gzip_sink *sink, const void *buffer, size_t len)
{
  cf_sha256_update(&sink->sha, buffer, len);
  assert_int_equal(archive_write_data(sink->gzip, buffer, len), (la_ssize_t)len);
}

static la_ssize_t forward_tar_bytes(struct archive *a, void *data, const void *buffer, size_t len)
{
  (void)a;
  gzip_sink_write(data, buffer, len);
  return (la_ssize_t)len;
}

/* Writes bytes zero bytes with write_data(target, ...). */
static void write_zeros(void *target, void (*write_data)(void *, const void *, size_t),
                        int64_t bytes)
{
  static const char zeros[65536];
  for (int64_t left = bytes; left > 0; left -= (int64_t)sizeof(zeros)) {
    size_t n = left < (int64_t)sizeof(zeros) ? (size_t)left : sizeof(zeros);
    write_data(target, zeros, n);
  }
}

static void write_archive_data(void *a, const void *buffer, size_t len)
{
  assert_int_equal(archive_write_data(a, buffer, len), (la_ssize_t)len);
}

static void write_sink_data(void *sink, const void *buffer, size_t len)
{
  gzip_sink_write(sink, buffer, len);
}

/* Writes the tar part of tar into sink. */
static void write_zero_tar(struct gzip_sink *sink, const struct zero_tar *tar)
{
  struct archive *a = archive_write_new();
  assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
  assert_int_equal(archive_write_open(a, sink, NULL, forward_tar_bytes, NULL), ARCHIVE_OK);
  for (size_t i = 0; i < tar->count; i++) {
    struct archive_entry *entry = archive_entry_new();
    cf_autofree char *name = cf_xasprintf("zeros-%zu", i);
    archive_entry_set_pathname(entry, name);
    archive_entry_set_filetype(entry, AE_IFREG);
    archive_entry_set_perm(entry, 0644);
    archive_entry_set_size(entry, tar->file_bytes);
    assert_int_equal(archive_write_header(a, entry), ARCHIVE_OK);
    write_zeros(a, write_archive_data, tar->file_bytes);
    archive_entry_free(entry);
  }
  assert_int_equal(archive_write_close(a), ARCHIVE_OK);
  archive_write_free(a);
}

/* Compresses tar and its trailing zeros into one gzip stream in blob and
 * stores the digest of the uncompressed stream in diff_id. */
static void write_zero_layer(const struct zero_tar *tar, cf_buf *blob,
                             char diff_id[CF_DIGEST_LEN + 1])
{
  struct gzip_sink sink = {.gzip = archive_write_new()};
  cf_sha256_init(&sink.sha);
  assert_int_equal(archive_write_set_format_raw(sink.gzip), ARCHIVE_OK);
  assert_int_equal(archive_write_add_filter_gzip(sink.gzip), ARCHIVE_OK);
  assert_int_equal(archive_write_set_bytes_in_last_block(sink.gzip, 1), ARCHIVE_OK);
  assert_int_equal(archive_write_open(sink.gzip, blob, NULL, store_blob_bytes, NULL), ARCHIVE_OK);
  struct archive_entry *entry = archive_entry_new();
  archive_entry_set_pathname(entry, "layer.tar");
  archive_entry_set_filetype(entry, AE_IFREG);
  assert_int_equal(archive_write_header(sink.gzip, entry), ARCHIVE_OK);
  archive_entry_free(entry);
  write_zero_tar(&sink, tar);
  write_zeros(&sink, write_sink_data, tar->trailing_bytes);
  assert_int_equal(archive_write_close(sink.gzip), ARCHIVE_OK);
  archive_write_free(sink.gzip);
  cf_sha256_finish(&sink.sha, diff_id);
}

/* Writes a one-layer image tagged "v1" whose gzip layer is tar. The blob
 * is small whatever the files' size. */
static void write_zero_image(const struct fixture *f, const struct zero_tar *tar)
{
  cf_buf blob;
  cf_buf_init(&blob, 64 * MIB);
  char diff_id[CF_DIGEST_LEN + 1];
  write_zero_layer(tar, &blob, diff_id);
  char blob_digest[CF_DIGEST_LEN + 1];
  cf_err *err = NULL;
  assert_ok(cf_test_blob_write(f->layout, blob.data, blob.len, blob_digest, &err), &err);

  cf_autofree char *config =
      cf_xasprintf("{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\"]}}", diff_id);
  char config_digest[CF_DIGEST_LEN + 1];
  assert_ok(cf_test_blob_write(f->layout, config, strlen(config), config_digest, &err), &err);
  cf_autofree char *manifest = cf_xasprintf(
      "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" CF_OCI_MEDIA_CONFIG
      "\",\"digest\":\"%s\",\"size\":%zu},\"layers\":[{\"mediaType\":\"" CF_OCI_MEDIA_LAYER_GZIP
      "\",\"digest\":\"%s\",\"size\":%zu}]}",
      config_digest, strlen(config), blob_digest, blob.len);
  char manifest_digest[CF_DIGEST_LEN + 1];
  assert_ok(cf_test_blob_write(f->layout, manifest, strlen(manifest), manifest_digest, &err), &err);
  cf_autofree char *index = cf_xasprintf(
      "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" CF_OCI_MEDIA_MANIFEST
      "\",\"digest\":\"%s\",\"size\":%zu,\"annotations\":{\"org.opencontainers.image.ref.name\":"
      "\"v1\"}}]}",
      manifest_digest, strlen(manifest));
  assert_ok(cf_test_index_write(f->layout, index, &err), &err);
  cf_buf_free(&blob);
}

/* Pulls "v1" with options and expects CF_E_LIMIT with both parts in its
 * message, and no layer directory left behind. */
static void expect_pull_limit(const struct fixture *f, const cf_pull_options *options,
                              const char *first, const char *second)
{
  cf_autofree char *uri = layout_uri(f, "v1");
  cf_image image;
  cf_err *err = NULL;
  int rc = cf_image_pull_with(f->images, uri, options, &image, &err);
  expect_error(rc, &err, CF_E_LIMIT, first, second, NULL);
  cf_autofree char *left = list_layers_without_locks(f);
  assert_string_equal(left, "");
}

static void pull_zip_bomb_stops_at_layer_limit(void **state)
{
  struct fixture *f = *state;
  struct zero_tar tar = {.count = 1, .file_bytes = 200 * MIB};
  write_zero_image(f, &tar);
  cf_pull_options options = {.max_layer_bytes = 64 * MIB};
  /* The message shows that the entry's header, not the running count of
   * written bytes, stopped the unpack. */
  expect_pull_limit(f, &options, "entry \"zeros-0\": states 209715200 bytes",
                    "max_layer_bytes limit of 67108864 bytes");
}

static void pull_trailing_zeros_stop_at_layer_limit(void **state)
{
  struct fixture *f = *state;
  /* The entry fits the limit and the zeros follow the tar's end marker, so
   * only the running count of the stream stops the unpack. */
  struct zero_tar tar = {.count = 1, .file_bytes = MIB, .trailing_bytes = 96 * MIB};
  write_zero_image(f, &tar);
  cf_pull_options options = {.max_layer_bytes = 64 * MIB};
  expect_pull_limit(f, &options, "the uncompressed layer exceeds the max_layer_bytes limit",
                    "--max-layer-bytes");
}

static void pull_stops_at_entry_limit(void **state)
{
  struct fixture *f = *state;
  cf_test_layer layer = {.entries = base_entries, .entry_count = COUNT(base_entries)};
  cf_built_image built;
  write_one_layer_image(f, &layer, &built);
  cf_pull_options options = {.max_layer_entries = COUNT(base_entries) - 1};
  expect_pull_limit(f, &options, "max_layer_entries limit of 4", built.layers[0].diff_id);

  options.max_layer_entries = COUNT(base_entries);
  cf_autofree char *uri = layout_uri(f, "v1");
  cf_image image;
  cf_err *err = NULL;
  assert_ok(cf_image_pull_with(f->images, uri, &options, &image, &err), &err);
  cf_image_clear(&image);
}

static void pull_stops_at_image_limit(void **state)
{
  struct fixture *f = *state;
  cf_built_image built;
  write_two_layer_image(f, &built);
  int64_t total =
      tar_size(f, base_entries, COUNT(base_entries)) + tar_size(f, top_entries, COUNT(top_entries));
  cf_pull_options options = {.max_image_bytes = total - 1};
  cf_autofree char *uri = layout_uri(f, "v1");
  cf_image image;
  cf_err *err = NULL;
  int rc = cf_image_pull_with(f->images, uri, &options, &image, &err);
  expect_error(rc, &err, CF_E_LIMIT, "layer 2 of 2", "max_image_bytes limit",
               built.layers[1].diff_id, NULL);
  cf_autofree char *left = list_layers_without_locks(f);
  cf_autofree char *base_only = cf_xasprintf("%s ", built.layers[0].diff_id + strlen("sha256:"));
  assert_string_equal(left, base_only);

  /* The base layer is now in the store and still counts with its size. */
  rc = cf_image_pull_with(f->images, uri, &options, &image, &err);
  expect_error(rc, &err, CF_E_LIMIT, "max_image_bytes limit", NULL);

  options.max_image_bytes = total;
  assert_ok(cf_image_pull_with(f->images, uri, &options, &image, &err), &err);
  cf_image_clear(&image);
}

static void pull_stops_at_layer_count_limit(void **state)
{
  struct fixture *f = *state;
  cf_built_image built;
  write_two_layer_image(f, &built);
  cf_pull_options options = {.max_layers = 1};
  expect_pull_limit(f, &options, "has 2 layers, more than the max_layers limit of 1",
                    built.manifest_digest);

  options.max_layers = 2;
  cf_autofree char *uri = layout_uri(f, "v1");
  cf_image image;
  cf_err *err = NULL;
  assert_ok(cf_image_pull_with(f->images, uri, &options, &image, &err), &err);
  cf_image_clear(&image);
}

static void pull_rejects_negative_limit(void **state)
{
  struct fixture *f = *state;
  cf_autofree char *uri = layout_uri(f, "v1");
  cf_pull_options options = {.max_layer_bytes = -1};
  cf_image image;
  cf_err *err = NULL;
  int rc = cf_image_pull_with(f->images, uri, &options, &image, &err);
  expect_error(rc, &err, CF_E_INVALID, "invalid max_layer_bytes -1", NULL);
}

/* --- set-user-ID and set-group-ID bits --- */

static void unpack_keeps_setuid_on_files(void **state)
{
  struct fixture *f = *state;
  cf_tar_entry entries[] = {
      {CF_TAR_FILE, "su", "#!/bin/sh\n", 04755},
      {CF_TAR_FILE, "wall", "#!/bin/sh\n", 02755},
      {CF_TAR_DIR, "shared", NULL, 02775},
  };
  cf_test_layer layer = {.entries = entries, .entry_count = COUNT(entries)};
  cf_built_layer built;
  int64_t size;
  cf_err *err = NULL;
  assert_ok(unpack_layer(f, &layer, &built, &size, &err), &err);
  static const struct {
    const char *path;
    mode_t mode;
  } expected[] = {{"su", 04755}, {"wall", 02755}, {"shared", 02775}};
  for (size_t i = 0; i < COUNT(expected); i++) {
    cf_autofree char *path = cf_path_join(f->dest, expected[i].path);
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    if ((st.st_mode & 07777) != expected[i].mode) {
      fail_msg("%s has mode %o, expected %o", expected[i].path, st.st_mode & 07777,
               expected[i].mode);
    }
  }
}

static void unpack_strips_setuid_from_fifo(void **state)
{
  struct fixture *f = *state;
  cf_tar_entry entries[] = {{CF_TAR_FILE, "pipe", NULL, 06755}};
  cf_test_layer layer = {.entries = entries, .entry_count = COUNT(entries)};
  cf_built_layer built;
  cf_err *err = NULL;
  assert_ok(cf_test_layer_write(&layer, f->blob, &built, &err), &err);
  /* The builder has no FIFO type, so rewrite the entry with libarchive. */
  struct archive *a = archive_write_new();
  assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
  assert_int_equal(archive_write_open_filename(a, f->blob), ARCHIVE_OK);
  struct archive_entry *entry = archive_entry_new();
  archive_entry_set_pathname(entry, "pipe");
  archive_entry_set_filetype(entry, AE_IFIFO);
  archive_entry_set_perm(entry, 06755);
  assert_int_equal(archive_write_header(a, entry), ARCHIVE_OK);
  archive_entry_free(entry);
  assert_int_equal(archive_write_close(a), ARCHIVE_OK);
  archive_write_free(a);
  cf_buf tar;
  cf_buf_init(&tar, MIB);
  assert_ok(cf_read_file(f->blob, &tar, &err), &err);
  char diff_id[CF_DIGEST_LEN + 1];
  cf_sha256_digest(tar.data, tar.len, diff_id);
  cf_buf_free(&tar);

  assert_int_equal(mkdir(f->dest, 0755), 0);
  int64_t size;
  assert_ok(cf_layer_unpack(f->blob, CF_OCI_MEDIA_LAYER, f->dest, diff_id, &size, &err), &err);
  cf_autofree char *path = cf_path_join(f->dest, "pipe");
  struct stat st;
  assert_int_equal(lstat(path, &st), 0);
  assert_true(S_ISFIFO(st.st_mode));
  assert_int_equal(st.st_mode & 07777, 0755);
}

static void entry_prepare_strips_setuid_from_symlink(void **state)
{
  (void)state;
  struct archive_entry *entry = archive_entry_new();
  archive_entry_set_pathname(entry, "bin/ping-link");
  archive_entry_set_filetype(entry, AE_IFLNK);
  archive_entry_set_symlink(entry, "ping");
  archive_entry_set_perm(entry, 06777);
  enum cf_entry_action action;
  char *target = NULL;
  cf_err *err = NULL;
  assert_ok(cf_image_entry_prepare(entry, &action, &target, &err), &err);
  assert_int_equal(action, CF_ENTRY_WRITE);
  assert_int_equal(archive_entry_perm(entry), 0777);
  archive_entry_free(entry);
}

#define IMAGE_TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(uri_parse_path_and_tag),
      cmocka_unit_test(uri_parse_without_tag),
      cmocka_unit_test(uri_parse_colon_in_directory),
      cmocka_unit_test(uri_parse_rejects_malformed),
      cmocka_unit_test(oci_index_parses_descriptors),
      cmocka_unit_test(oci_index_rejects_invalid),
      cmocka_unit_test(oci_manifest_accepts_docker_types),
      cmocka_unit_test(oci_manifest_rejects_invalid),
      cmocka_unit_test(oci_config_parses_env_and_diff_ids),
      cmocka_unit_test(oci_config_rejects_invalid),
      cmocka_unit_test(oci_layer_compression_by_media_type),
      cmocka_unit_test(chain_id_matches_reference),
      IMAGE_TEST(layout_selects_manifest_by_tag),
      IMAGE_TEST(layout_single_manifest_needs_no_tag),
      IMAGE_TEST(layout_several_manifests_need_tag),
      IMAGE_TEST(layout_unknown_tag_not_found),
      IMAGE_TEST(layout_missing_not_found),
      IMAGE_TEST(layout_nested_index_picks_platform),
      IMAGE_TEST(layout_nested_index_without_platform),
      IMAGE_TEST(layout_manifest_digest_mismatch),
      IMAGE_TEST(layout_config_digest_mismatch),
      IMAGE_TEST(layout_rejects_oversized_document),
      IMAGE_TEST(layout_rejects_digest_traversal),
      IMAGE_TEST(layout_rejects_layer_count_mismatch),
      IMAGE_TEST(unpack_gzip_layer),
      IMAGE_TEST(unpack_uncompressed_layer),
      IMAGE_TEST(unpack_zstd_layer),
      IMAGE_TEST(unpack_keeps_process_cwd_root_umask),
      IMAGE_TEST(unpack_diff_id_mismatch_empties_dest),
      IMAGE_TEST(unpack_corrupt_stream_fails),
      IMAGE_TEST(unpack_rejects_unknown_media_type),
      IMAGE_TEST(unpack_rejects_dotdot_path),
      IMAGE_TEST(unpack_rejects_inner_dotdot_path),
      IMAGE_TEST(unpack_rejects_absolute_path),
      IMAGE_TEST(unpack_rejects_write_through_symlink),
      IMAGE_TEST(unpack_rejects_hardlink_dotdot),
      IMAGE_TEST(unpack_rejects_hardlink_absolute),
      IMAGE_TEST(unpack_rejects_hardlink_through_symlink),
      IMAGE_TEST(unpack_allows_symlink_to_outside),
      IMAGE_TEST(unpack_converts_whiteouts),
      IMAGE_TEST(unpack_drops_overlay_xattrs),
      IMAGE_TEST(unpack_rejects_bad_whiteout),
      IMAGE_TEST(unpack_keeps_long_and_utf8_names),
      IMAGE_TEST(unpack_skips_device_nodes),
      IMAGE_TEST(pull_returns_layers_env_and_digest),
      IMAGE_TEST(pull_docker_media_types),
      IMAGE_TEST(pull_verifies_layer_digest),
      IMAGE_TEST(pull_verifies_layer_size),
      IMAGE_TEST(pull_diff_id_mismatch_removes_layer),
      IMAGE_TEST(pull_twice_reuses_layers),
      IMAGE_TEST(pull_concurrent_threads_unpack_once),
      IMAGE_TEST(pull_concurrent_processes_unpack_once),
      IMAGE_TEST(pull_recovers_interrupted_unpack),
      IMAGE_TEST(pull_redoes_ready_layer_without_directory),
      IMAGE_TEST(store_open_removes_interrupted_unpack),
      IMAGE_TEST(store_open_keeps_locked_unpack),
      IMAGE_TEST(pull_rejects_image_without_layers),
      IMAGE_TEST(rootfs_prepare_creates_dirs),
      IMAGE_TEST(pull_zip_bomb_stops_at_layer_limit),
      IMAGE_TEST(pull_trailing_zeros_stop_at_layer_limit),
      IMAGE_TEST(pull_stops_at_entry_limit),
      IMAGE_TEST(pull_stops_at_image_limit),
      IMAGE_TEST(pull_stops_at_layer_count_limit),
      IMAGE_TEST(pull_rejects_negative_limit),
      IMAGE_TEST(unpack_keeps_setuid_on_files),
      IMAGE_TEST(unpack_strips_setuid_from_fifo),
      cmocka_unit_test(entry_prepare_strips_setuid_from_symlink),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
