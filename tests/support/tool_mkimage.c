/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cfwin-mkimage [--busybox PATH] OUT_LAYOUT_DIR [TAG]
 *
 * Writes a one-layer busybox image as an OCI layout (tag "latest" by
 * default) and prints its manifest digest. An existing index.json in the
 * layout is replaced.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"
#include "busybox_rootfs.h"
#include "image_builder.h"
#include "testutil.h"

static const char *const image_env[] = {
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
};

static void usage(FILE *out)
{
  fprintf(out,
          "usage: cfwin-mkimage [--busybox PATH] OUT_LAYOUT_DIR [TAG]\n"
          "\n"
          "Writes an OCI image layout with a busybox root filesystem to OUT_LAYOUT_DIR\n"
          "(created when missing) under TAG (default: latest) and prints the manifest\n"
          "digest. Use it as oci://OUT_LAYOUT_DIR:TAG.\n"
          "\n"
          "  --busybox PATH  statically linked busybox to copy (default: %s)\n",
          CF_BUSYBOX_DEFAULT_PATH);
}

/* Returns a new empty directory under $TMPDIR (or /tmp), or NULL. */
static char *make_temp_dir(cf_err **err)
{
  const char *base = getenv("TMPDIR");
  if (base == NULL || base[0] == '\0') {
    base = "/tmp";
  }
  char *path = cf_xasprintf("%s/cfwin-mkimage-XXXXXX", base);
  if (mkdtemp(path) == NULL) {
    cf_err_sys(err, errno, "create a temporary directory in %s", base);
    free(path);
    return NULL;
  }
  return path;
}

static int build(const char *busybox, const char *layout, const char *tag, cf_err **err)
{
  cf_autofree char *rootfs = make_temp_dir(err);
  if (rootfs == NULL) {
    return -1;
  }
  int rc = cf_busybox_rootfs_make(busybox, rootfs, err);
  cf_built_image built;
  if (rc == 0) {
    cf_test_layer layer = {.source_dir = rootfs, .compression = CF_TEST_GZIP};
    cf_test_image image = {
        .layers = &layer,
        .layer_count = 1,
        .env = image_env,
        .env_count = sizeof(image_env) / sizeof(image_env[0]),
        .tag = tag,
    };
    rc = cf_test_layout_write(layout, &image, 1, &built, err);
  }
  cf_test_rmdir(rootfs);
  if (rc == 0) {
    printf("%s\n", built.manifest_digest);
  }
  return rc;
}

int main(int argc, char **argv)
{
  const char *busybox = CF_BUSYBOX_DEFAULT_PATH;
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; i++) {
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      usage(stdout);
      return 0;
    }
    if (strcmp(argv[i], "--busybox") == 0 && i + 1 < argc) {
      busybox = argv[++i];
      continue;
    }
    fprintf(stderr, "cfwin-mkimage: unknown option or missing value: %s\n", argv[i]);
    usage(stderr);
    return 2;
  }
  if (argc - i < 1 || argc - i > 2) {
    usage(stderr);
    return 2;
  }
  const char *layout = argv[i];
  const char *tag = argc - i == 2 ? argv[i + 1] : "latest";

  cf_err *err = NULL;
  if (build(busybox, layout, tag, &err) < 0) {
    fprintf(stderr, "cfwin-mkimage: %s\n", err->message);
    cf_err_free(err);
    return 1;
  }
  return 0;
}
