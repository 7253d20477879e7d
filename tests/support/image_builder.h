/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Writes OCI image layouts for tests: layers from a directory tree or from
 * crafted tar entries (including hostile names), gzip, zstd or uncompressed,
 * with options that break one digest, size or diff_id on purpose.
 *
 * Output is reproducible: owners are 0:0, times are 0 and gzip streams carry
 * no timestamp, so the same input gives the same digests.
 */
#ifndef CFWIN_TESTS_IMAGE_BUILDER_H
#define CFWIN_TESTS_IMAGE_BUILDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/sha256.h"

enum cf_tar_type {
  CF_TAR_FILE,
  CF_TAR_DIR,
  CF_TAR_SYMLINK,
  CF_TAR_HARDLINK,
  CF_TAR_CHAR_DEVICE, /* device number 1:3 (/dev/null) */
};

/* One crafted tar entry. The path is written to the header unchanged, so
 * "../x", "/abs/x" and ".wh.NAME" reach the reader as given. */
typedef struct cf_tar_entry {
  enum cf_tar_type type;
  const char *path;
  const char *data;  /* file content, or the link target; NULL means empty */
  unsigned mode;     /* permission bits; 0 means 0644 (files) or 0755 (directories) */
  const char *xattr; /* one extended attribute as "name=value", or NULL */
} cf_tar_entry;

enum cf_test_compression {
  CF_TEST_GZIP,
  CF_TEST_UNCOMPRESSED,
  CF_TEST_ZSTD,
};

typedef struct cf_test_layer {
  const char *source_dir;      /* archive this tree (directories, files, symlinks) ... */
  const cf_tar_entry *entries; /* ... or these entries when source_dir is NULL */
  size_t entry_count;
  enum cf_test_compression compression;
  bool corrupt_blob;  /* change one byte of the stored blob after it was digested */
  bool wrong_size;    /* the manifest states a size one byte too large */
  bool wrong_diff_id; /* the config lists the diff_id of other content */
} cf_test_layer;

typedef struct cf_test_image {
  const cf_test_layer *layers; /* bottom layer first */
  size_t layer_count;
  const char *const *env; /* the config's Env */
  size_t env_count;
  const char *tag;         /* org.opencontainers.image.ref.name; NULL writes none */
  bool docker_media_types; /* Docker schema 2 media types instead of OCI ones */
  bool corrupt_config;     /* change one byte of the stored config blob */
  bool corrupt_manifest;   /* change one byte of the stored manifest blob */
} cf_test_image;

#define CF_TEST_MAX_LAYERS 16

typedef struct cf_built_layer {
  char digest[CF_DIGEST_LEN + 1];  /* of the blob as the manifest states it */
  char diff_id[CF_DIGEST_LEN + 1]; /* of the uncompressed tar, as the config states it */
  char media_type[128];
  int64_t size; /* of the blob as the manifest states it */
} cf_built_layer;

typedef struct cf_built_image {
  char manifest_digest[CF_DIGEST_LEN + 1];
  int64_t manifest_size;
  char config_digest[CF_DIGEST_LEN + 1];
  size_t layer_count;
  cf_built_layer layers[CF_TEST_MAX_LAYERS];
} cf_built_image;

/* Writes a layout at dir (created when missing; an existing index.json is
 * replaced) whose index.json lists the images in order. results is NULL or
 * an array of count entries to fill. */
int cf_test_layout_write(const char *dir, const cf_test_image *images, size_t count,
                         cf_built_image *results, cf_err **err);

/* Writes one layer blob to path (no layout around it) and describes it in
 * out. The corrupt_blob, wrong_size and wrong_diff_id options apply. */
int cf_test_layer_write(const cf_test_layer *layer, const char *path, cf_built_layer *out,
                        cf_err **err);

/* Stores data as a blob of the layout at dir and puts its digest in digest. */
int cf_test_blob_write(const char *dir, const void *data, size_t len,
                       char digest[CF_DIGEST_LEN + 1], cf_err **err);

/* Writes dir/oci-layout and dir/index.json with the given index text. */
int cf_test_index_write(const char *dir, const char *index_json, cf_err **err);

#endif
