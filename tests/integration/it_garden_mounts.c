/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Garden bind mounts through `cfwin serve`: read-only and read-write binds
 * of host directories and files, with the usual /proc, /dev and /sys next
 * to them. Create requests that must fail without leaving anything: a
 * missing source, a destination with "..", a relative path, a container
 * origin, and a destination behind an image symlink that points at the
 * host. A bind keeps the read-only, nodev and noexec flags of its source's
 * mount. Every test ends with the fixture's leak check.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/mem.h"
#include "busybox_rootfs.h"
#include "fixture.h"
#include "garden/client.h"
#include "image_builder.h"
#include "testutil.h"

static it_server server;
static char *host_dir; /* a directory the tests bind into containers */

static void write_text(const char *path, const char *text)
{
  cf_err *err = NULL;
  if (cf_write_file_atomic(path, text, strlen(text), 0644, &err) < 0) {
    fail_msg("write %s: %s", path, err->message);
  }
}

static int setup_server(void **state)
{
  it_server_prepare(&server);
  it_server_start(&server);
  host_dir = cf_path_join(server.dir, "host");
  cf_err *err = NULL;
  if (cf_mkdir_p(host_dir, 0755, &err) < 0) {
    fprintf(stderr, "mkdir %s: %s\n", host_dir, err->message);
    return -1;
  }
  cf_autofree char *file = cf_path_join(host_dir, "greeting");
  write_text(file, "hello from the host\n");
  return 0;
}

static int teardown_server(void **state)
{
  it_server_cleanup(&server);
  free(host_dir);
  return 0;
}

static int take_snapshot(void **state)
{
  return it_leak_check_begin(&server, state);
}

static int check_leaks(void **state)
{
  return it_leak_check_end(&server, state);
}

/* {"src_path": src, "dst_path": dst, "mode": mode}; a new reference. */
static json_t *bind_mount(const char *src, const char *dst, int mode)
{
  return json_pack("{s:s, s:s, s:i}", "src_path", src, "dst_path", dst, "mode", mode);
}

/* Creates handle with the bind mounts (a new reference, taken) and returns
 * the error, or NULL when the create succeeded. */
static cf_err *try_create(const char *handle, json_t *mounts, const char *image_uri)
{
  json_t *spec = json_pack("{s:s, s:o}", "handle", handle, "bind_mounts", mounts);
  if (image_uri != NULL) {
    json_object_set_new(spec, "image", json_pack("{s:s}", "uri", image_uri));
  }
  char *created = NULL;
  cf_err *err = NULL;
  cf_garden_client_create(&server.tcp, spec, &created, &err);
  json_decref(spec);
  free(created);
  return err;
}

static void create(const char *handle, json_t *mounts)
{
  cf_err *err = try_create(handle, mounts, NULL);
  if (err != NULL) {
    fail_msg("create %s: %s", handle, err->message);
  }
}

static void destroy(const char *handle)
{
  cf_err *err = NULL;
  if (cf_garden_client_destroy(&server.tcp, handle, &err) < 0) {
    fail_msg("destroy %s: %s", handle, err->message);
  }
}

/* Runs script as root, returns its stdout and sets *exit_status. */
static char *run_sh(const char *handle, const char *script, int *exit_status)
{
  json_t *spec = json_pack("{s:s, s:[s, s], s:s, s:{}, s:{}}", "path", "/bin/sh", "args", "-c",
                           script, "user", "root", "rlimits", "image");
  cf_garden_process_result result;
  cf_garden_process_result_init(&result);
  cf_err *err = NULL;
  int rc = cf_garden_client_run(&server.tcp, handle, spec, NULL, 0, &result, &err);
  json_decref(spec);
  if (rc < 0) {
    fail_msg("run in %s: %s", handle, err->message);
  }
  *exit_status = result.exit_status;
  char *out = cf_xstrndup(result.out.data != NULL ? result.out.data : "", result.out.len);
  cf_garden_process_result_clear(&result);
  return out;
}

/* The options field of the container's /proc/mounts line for path. */
static char *mount_options(const char *handle, const char *path)
{
  cf_autofree char *script =
      cf_xasprintf("awk '$2 == \"%s\" { print $4 }' /proc/mounts | tail -n 1", path);
  int status = -1;
  char *options = run_sh(handle, script, &status);
  assert_int_equal(status, 0);
  options[strcspn(options, "\n")] = '\0';
  return options;
}

static bool has_option(const char *options, const char *word)
{
  cf_autofree char *padded = cf_xasprintf(",%s,", options);
  cf_autofree char *needle = cf_xasprintf(",%s,", word);
  return strstr(padded, needle) != NULL;
}

static void test_read_only_bind(void **state)
{
  json_t *mounts = json_pack("[o]", bind_mount(host_dir, "/mnt/ro", 0));
  create("itgm-ro", mounts);

  int status = -1;
  cf_autofree char *content = run_sh("itgm-ro", "cat /mnt/ro/greeting", &status);
  assert_int_equal(status, 0);
  assert_string_equal(content, "hello from the host\n");

  cf_autofree char *write_out =
      run_sh("itgm-ro", "touch /mnt/ro/new 2>&1; echo status=$?", &status);
  fprintf(stderr, "write to the read-only bind: %s", write_out);
  assert_non_null(strstr(write_out, "Read-only file system"));
  assert_non_null(strstr(write_out, "status=1"));
  cf_autofree char *host_new = cf_path_join(host_dir, "new");
  assert_int_not_equal(access(host_new, F_OK), 0);

  cf_autofree char *options = mount_options("itgm-ro", "/mnt/ro");
  fprintf(stderr, "read-only bind mount options: %s\n", options);
  assert_true(has_option(options, "ro"));
  assert_true(has_option(options, "nosuid"));
  destroy("itgm-ro");
}

static void test_read_write_bind(void **state)
{
  json_t *mounts = json_pack("[o]", bind_mount(host_dir, "/data", 1));
  create("itgm-rw", mounts);

  int status = -1;
  cf_autofree char *out = run_sh("itgm-rw", "echo written > /data/from-container", &status);
  assert_int_equal(status, 0);
  cf_autofree char *host_file = cf_path_join(host_dir, "from-container");
  cf_buf text;
  cf_buf_init(&text, 4096);
  assert_int_equal(cf_read_file(host_file, &text, NULL), 0);
  assert_int_equal(text.len, strlen("written\n"));
  assert_memory_equal(text.data, "written\n", text.len);
  cf_buf_free(&text);
  unlink(host_file);

  cf_autofree char *options = mount_options("itgm-rw", "/data");
  assert_true(has_option(options, "rw"));
  assert_true(has_option(options, "nosuid"));
  destroy("itgm-rw");
}

/* A file source gets a file mount point, and the runtime's /proc, /dev and
 * /sys are still there when the container has bind mounts. */
static void test_file_bind_keeps_base_mounts(void **state)
{
  cf_autofree char *file = cf_path_join(host_dir, "greeting");
  json_t *mounts = json_pack("[o]", bind_mount(file, "/etc/greeting", 0));
  create("itgm-file", mounts);

  int status = -1;
  cf_autofree char *content = run_sh("itgm-file", "cat /etc/greeting", &status);
  assert_int_equal(status, 0);
  assert_string_equal(content, "hello from the host\n");

  cf_autofree char *devices = run_sh(
      "itgm-file",
      "echo x > /dev/null && test -c /dev/zero && test -c /dev/tty && test -L /dev/stdout && "
      "test -e /dev/ptmx && test -d /proc/self && test -d /sys/class && echo base-ok",
      &status);
  assert_int_equal(status, 0);
  assert_string_equal(devices, "base-ok\n");
  cf_autofree char *pts = mount_options("itgm-file", "/dev/pts");
  cf_autofree char *shm = mount_options("itgm-file", "/dev/shm");
  cf_autofree char *sys = mount_options("itgm-file", "/sys");
  fprintf(stderr, "/dev/pts %s, /dev/shm %s, /sys %s\n", pts, shm, sys);
  assert_true(has_option(pts, "noexec"));
  assert_true(has_option(shm, "nodev"));
  assert_true(has_option(sys, "ro"));
  destroy("itgm-file");
}

/* A disk limit puts the writable layer on its own filesystem, which the
 * init mounts before the overlay and the bind mounts. */
static void test_bind_with_disk_limit(void **state)
{
  json_t *spec = json_pack("{s:s, s:[o], s:{s:{s:I}}, s:b}", "handle", "itgm-disk", "bind_mounts",
                           bind_mount(host_dir, "/srv/host", 0), "limits", "disk_limits",
                           "byte_hard", (json_int_t)(64 * 1024 * 1024), "privileged", 1);
  char *created = NULL;
  cf_err *err = NULL;
  if (cf_garden_client_create(&server.tcp, spec, &created, &err) < 0) {
    fail_msg("create itgm-disk: %s", err->message);
  }
  json_decref(spec);
  free(created);

  int status = -1;
  cf_autofree char *content = run_sh("itgm-disk", "cat /srv/host/greeting", &status);
  assert_int_equal(status, 0);
  assert_string_equal(content, "hello from the host\n");
  cf_autofree char *write_out =
      run_sh("itgm-disk", "touch /srv/host/new 2>&1; echo status=$?", &status);
  assert_non_null(strstr(write_out, "Read-only file system"));
  cf_autofree char *layer = run_sh("itgm-disk", "echo x > /root/file && cat /root/file", &status);
  assert_int_equal(status, 0);
  assert_string_equal(layer, "x\n");
  destroy("itgm-disk");
}

/* Host mounts that test_bind_keeps_source_flags binds: a read-only bind of
 * a directory onto itself, and a nodev, noexec tmpfs. */
static char *read_only_source;
static char *noexec_source;

static int mount_flagged_sources(void **state)
{
  if (take_snapshot(state) < 0) {
    return -1;
  }
  read_only_source = cf_path_join(server.dir, "read-only-source");
  noexec_source = cf_path_join(server.dir, "noexec-source");
  cf_err *err = NULL;
  if (cf_mkdir_p(read_only_source, 0755, &err) < 0 || cf_mkdir_p(noexec_source, 0755, &err) < 0) {
    fprintf(stderr, "mkdir: %s\n", err->message);
    return -1;
  }
  if (mount(read_only_source, read_only_source, NULL, MS_BIND, NULL) < 0 ||
      mount(NULL, read_only_source, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0 ||
      mount("tmpfs", noexec_source, "tmpfs", MS_NODEV | MS_NOEXEC | MS_NOSUID, "size=1m") < 0) {
    fprintf(stderr, "mount the flagged sources: %s\n", strerror(errno));
    return -1;
  }
  return 0;
}

static int unmount_flagged_sources(void **state)
{
  umount2(read_only_source, MNT_DETACH);
  umount2(noexec_source, MNT_DETACH);
  free(read_only_source);
  free(noexec_source);
  return check_leaks(state);
}

/* A read-write bind of a read-only host mount stays read-only. A bind of a
 * nodev, noexec mount stays nodev and noexec. */
static void test_bind_keeps_source_flags(void **state)
{
  json_t *mounts = json_pack("[o, o]", bind_mount(read_only_source, "/mnt/read-only", 1),
                             bind_mount(noexec_source, "/mnt/noexec", 1));
  create("itgm-flags", mounts);

  int status = -1;
  cf_autofree char *write_out =
      run_sh("itgm-flags", "{ echo x > /mnt/read-only/new; } 2>&1; echo status=$?", &status);
  fprintf(stderr, "write to the bind of a read-only mount: %s", write_out);
  assert_non_null(strstr(write_out, "Read-only file system"));
  cf_autofree char *host_new = cf_path_join(read_only_source, "new");
  assert_int_not_equal(access(host_new, F_OK), 0);
  cf_autofree char *read_only = mount_options("itgm-flags", "/mnt/read-only");
  assert_true(has_option(read_only, "ro"));

  cf_autofree char *noexec = mount_options("itgm-flags", "/mnt/noexec");
  fprintf(stderr, "bind of a nodev, noexec mount: %s\n", noexec);
  assert_true(has_option(noexec, "nodev"));
  assert_true(has_option(noexec, "noexec"));
  assert_true(has_option(noexec, "rw"));
  cf_autofree char *exec_out = run_sh(
      "itgm-flags",
      "printf '#!/bin/sh\\necho ran\\n' > /mnt/noexec/script && chmod +x /mnt/noexec/script && "
      "/mnt/noexec/script 2>&1; echo status=$?",
      &status);
  fprintf(stderr, "run a script on the noexec bind: %s", exec_out);
  assert_null(strstr(exec_out, "ran"));
  assert_null(strstr(exec_out, "status=0"));
  destroy("itgm-flags");
}

static void expect_rejected(const char *handle, json_t *mounts, const char *image_uri,
                            const char *text)
{
  cf_err *err = try_create(handle, mounts, image_uri);
  assert_non_null(err);
  fprintf(stderr, "create %s: %s\n", handle, err->message);
  assert_non_null(strstr(err->message, text));
  cf_err_free(err);

  json_t *list = NULL;
  assert_int_equal(cf_garden_client_call(&server.tcp, "GET", "/containers", NULL, &list, NULL), 0);
  assert_int_equal(json_array_size(json_object_get(list, "Handles")), 0);
  json_decref(list);
}

static void test_missing_source_fails(void **state)
{
  cf_autofree char *missing = cf_path_join(host_dir, "not-there");
  expect_rejected("itgm-missing", json_pack("[o]", bind_mount(missing, "/mnt/x", 0)), NULL,
                  "no such file or directory");
}

static void test_bad_paths_rejected(void **state)
{
  expect_rejected("itgm-dotdot", json_pack("[o]", bind_mount(host_dir, "/mnt/../../x", 0)), NULL,
                  "\"..\"");
  expect_rejected("itgm-relative", json_pack("[o]", bind_mount(host_dir, "mnt/x", 0)), NULL,
                  "bind_mounts[0].dst_path mnt/x is not an absolute path");
  expect_rejected("itgm-mode", json_pack("[o]", bind_mount(host_dir, "/mnt/x", 2)), NULL,
                  "invalid bind_mounts[0].mode 2");
  json_t *origin = bind_mount(host_dir, "/mnt/x", 0);
  json_object_set_new(origin, "origin", json_integer(1));
  expect_rejected("itgm-origin", json_pack("[o]", origin), NULL, "origin 1");
}

/* A bind on /dev made the init write its device nodes into the host
 * directory; binds on the runtime's own mounts are refused. */
static void test_runtime_mounts_rejected(void **state)
{
  (void)state;
  static const char *const destinations[] = {"/dev",  "//dev/./",    "/dev/pts", "/dev/shm",
                                             "/proc", "/proc/sys/x", "/sys/",    "/sys/fs"};
  for (size_t i = 0; i < sizeof(destinations) / sizeof(destinations[0]); i++) {
    expect_rejected("itgm-runtime", json_pack("[o]", bind_mount(host_dir, destinations[i], 1)),
                    NULL, "is a mount the runtime makes itself");
  }
  /* Names that only start like one of them stay allowed. */
  json_t *mounts = json_pack("[o]", bind_mount(host_dir, "/device", 1));
  cf_err *err = try_create("itgm-device", mounts, NULL);
  if (err != NULL) {
    fail_msg("create with a bind on /device: %s", err->message);
  }
  destroy("itgm-device");
}

/* An image whose /escape is a symlink to a host directory: a mount point
 * below it must not be made on the host. */
static void test_symlink_destination_rejected(void **state)
{
  cf_autofree char *rootfs = cf_path_join(server.dir, "symlink-rootfs");
  cf_autofree char *layout = cf_path_join(server.dir, "symlink-image");
  cf_autofree char *target = cf_path_join(server.dir, "escape-target");
  cf_err *err = NULL;
  assert_int_equal(cf_busybox_rootfs_make(CF_BUSYBOX_DEFAULT_PATH, rootfs, &err), 0);
  assert_int_equal(cf_mkdir_p(target, 0755, &err), 0);
  cf_tar_entry link = {.type = CF_TAR_SYMLINK, .path = "escape", .data = target};
  cf_test_layer layers[] = {
      {.source_dir = rootfs, .compression = CF_TEST_GZIP},
      {.entries = &link, .entry_count = 1, .compression = CF_TEST_GZIP},
  };
  cf_test_image image = {.layers = layers, .layer_count = 2, .tag = "latest"};
  if (cf_test_layout_write(layout, &image, 1, NULL, &err) < 0) {
    fail_msg("write image: %s", err->message);
  }
  cf_autofree char *uri = cf_xasprintf("oci://%s:latest", layout);

  expect_rejected("itgm-symlink", json_pack("[o]", bind_mount(host_dir, "/escape/sub", 0)), uri,
                  "escape");
  cf_autofree char *escaped = cf_path_join(target, "sub");
  assert_int_not_equal(access(escaped, F_OK), 0);
}

int main(void)
{
  it_require_root();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_read_only_bind, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_read_write_bind, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_file_bind_keeps_base_mounts, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_bind_with_disk_limit, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_bind_keeps_source_flags, mount_flagged_sources,
                                      unmount_flagged_sources),
      cmocka_unit_test_setup_teardown(test_missing_source_fails, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_runtime_mounts_rejected, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_bad_paths_rejected, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_symlink_destination_rejected, take_snapshot,
                                      check_leaks),
  };
  return cmocka_run_group_tests(tests, setup_server, teardown_server);
}
