/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Peas through `cfwin serve`. A process with its own image runs in its own
 * root filesystem inside the network namespace of its sandbox container.
 * It gets the sandbox's hostname, the pea image's env, "/" as its working
 * directory, its bind mounts and its limits. The pea goes when its process
 * exits, and destroying the sandbox kills its pea processes. Every test
 * ends with the fixture's leak check.
 */
#include <dirent.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/mem.h"
#include "busybox_rootfs.h"
#include "fixture.h"
#include "garden/client.h"
#include "image_builder.h"

#define MIB (1024 * 1024)

static it_server server;
static char *pea_uri;  /* busybox plus /etc/pea-release and PEA_IMAGE=yes */
static char *host_dir; /* bound into peas */

/* Writes the pea image: the busybox root filesystem and a marker file that
 * the fixture's image, which the sandboxes use, does not have. */
static void write_pea_image(void)
{
  cf_autofree char *rootfs = cf_path_join(server.dir, "pea-rootfs");
  cf_autofree char *layout = cf_path_join(server.dir, "pea-image");
  cf_err *err = NULL;
  if (cf_busybox_rootfs_make(CF_BUSYBOX_DEFAULT_PATH, rootfs, &err) < 0) {
    fail_msg("busybox rootfs: %s", err->message);
  }
  cf_tar_entry marker = {.type = CF_TAR_FILE, .path = "etc/pea-release", .data = "pea image\n"};
  cf_test_layer layers[] = {
      {.source_dir = rootfs, .compression = CF_TEST_GZIP},
      {.entries = &marker, .entry_count = 1, .compression = CF_TEST_GZIP},
  };
  const char *env[] = {"PEA_IMAGE=yes"};
  cf_test_image image = {
      .layers = layers, .layer_count = 2, .env = env, .env_count = 1, .tag = "latest"};
  if (cf_test_layout_write(layout, &image, 1, NULL, &err) < 0) {
    fail_msg("write pea image: %s", err->message);
  }
  pea_uri = cf_xasprintf("oci://%s:latest", layout);
}

static int setup_server(void **state)
{
  it_server_prepare(&server);
  write_pea_image();
  host_dir = cf_path_join(server.dir, "host");
  cf_autofree char *file = cf_path_join(host_dir, "note");
  cf_err *err = NULL;
  if (cf_mkdir_p(host_dir, 0755, &err) < 0 ||
      cf_write_file_atomic(file, "from the host\n", 14, 0644, &err) < 0) {
    fprintf(stderr, "setup: %s\n", err->message);
    return -1;
  }
  it_server_start(&server);
  return 0;
}

static int teardown_server(void **state)
{
  it_server_cleanup(&server);
  free(pea_uri);
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

/* Creates a container from spec (a new reference, taken). */
static void create(json_t *spec)
{
  char *created = NULL;
  cf_err *err = NULL;
  int rc = cf_garden_client_create(&server.tcp, spec, &created, &err);
  json_decref(spec);
  if (rc < 0) {
    fail_msg("create: %s", err->message);
  }
  free(created);
}

static void destroy(const char *handle)
{
  cf_err *err = NULL;
  if (cf_garden_client_destroy(&server.tcp, handle, &err) < 0) {
    fail_msg("destroy %s: %s", handle, err->message);
  }
}

/* A ProcessSpec running script with sh, in a pea of the test image unless
 * image_uri is NULL. A new reference. */
static json_t *sh_spec(const char *script, const char *image_uri)
{
  json_t *image = image_uri != NULL ? json_pack("{s:s}", "uri", image_uri) : json_object();
  return json_pack("{s:s, s:[s, s], s:{}, s:o}", "path", "/bin/sh", "args", "-c", script, "rlimits",
                   "image", image);
}

/* Runs spec (a new reference, taken) in handle and fails the test when the
 * server rejects it. */
static cf_garden_process_result run(const char *handle, json_t *spec)
{
  cf_garden_process_result result;
  cf_garden_process_result_init(&result);
  cf_err *err = NULL;
  int rc = cf_garden_client_run(&server.tcp, handle, spec, NULL, 0, &result, &err);
  json_decref(spec);
  if (rc < 0) {
    fail_msg("run in %s: %s", handle, err->message);
  }
  return result;
}

/* Runs spec (a new reference, taken) and returns the server's error. */
static cf_err *run_rejected(const char *handle, json_t *spec)
{
  cf_garden_process_result result;
  cf_garden_process_result_init(&result);
  cf_err *err = NULL;
  int rc = cf_garden_client_run(&server.tcp, handle, spec, NULL, 0, &result, &err);
  json_decref(spec);
  cf_garden_process_result_clear(&result);
  if (rc == 0) {
    fail_msg("run in %s succeeded, expected an error", handle);
  }
  return err;
}

static char *text_of(const cf_buf *buf)
{
  return cf_xstrndup(buf->data != NULL ? buf->data : "", buf->len);
}

/* Runs script and returns its stdout, failing the test on a non-zero exit. */
static char *output_of(const char *handle, const char *script, const char *image_uri)
{
  cf_garden_process_result result = run(handle, sh_spec(script, image_uri));
  char *out = text_of(&result.out);
  if (result.exit_status != 0) {
    cf_autofree char *err = text_of(&result.err);
    fail_msg("%s exited with %d: %s", script, result.exit_status, err);
  }
  cf_garden_process_result_clear(&result);
  return out;
}

static size_t count_volumes(void)
{
  cf_autofree char *path = cf_path_join(server.depot, "volumes");
  DIR *dir = opendir(path);
  assert_non_null(dir);
  size_t count = 0;
  for (struct dirent *entry = readdir(dir); entry != NULL; entry = readdir(dir)) {
    count += entry->d_name[0] != '.';
  }
  closedir(dir);
  return count;
}

/* Waits until only the sandboxes' volumes are left: the server destroys a
 * pea on a worker thread after its process has exited. */
static void await_peas_gone(size_t sandboxes)
{
  size_t count = count_volumes();
  for (int attempt = 0; attempt < 100 && count != sandboxes; attempt++) {
    usleep(100 * 1000);
    count = count_volumes();
  }
  assert_int_equal(count, sandboxes);
}

static void test_pea_runs_in_own_rootfs(void **state)
{
  create(json_pack("{s:s, s:[s]}", "handle", "itgp-rootfs", "env", "SANDBOX_ONLY=1"));

  cf_garden_process_result result =
      run("itgp-rootfs",
          sh_spec("cat /etc/pea-release; pwd; echo ${PEA_IMAGE:-unset} ${SANDBOX_ONLY:-unset}; "
                  "hostname; echo to-stderr >&2; exit 123",
                  pea_uri));
  cf_autofree char *out = text_of(&result.out);
  cf_autofree char *err = text_of(&result.err);
  assert_string_equal(out, "pea image\n/\nyes unset\nitgp-rootfs\n");
  assert_string_equal(err, "to-stderr\n");
  assert_int_equal(result.exit_status, 123);
  cf_garden_process_result_clear(&result);
  await_peas_gone(1);

  /* The sandbox has its own image and env. */
  cf_autofree char *sandbox = output_of(
      "itgp-rootfs", "test -e /etc/pea-release; echo $? ${PEA_IMAGE:-unset} $SANDBOX_ONLY", NULL);
  assert_string_equal(sandbox, "1 unset 1\n");
  destroy("itgp-rootfs");
}

/* A new pea gets the sandbox's /etc/hosts and /etc/resolv.conf as they
 * are at its start, read inside the sandbox's root: a symlink there to a
 * host path copies nothing of the host. */
static void test_pea_copies_etc_files(void **state)
{
  create(json_pack("{s:s}", "handle", "itgp-etc"));
  cf_autofree char *sandbox =
      output_of("itgp-etc",
                "echo '10.9.8.7 marker-host' >> /etc/hosts && echo 'nameserver 10.9.8.53' > "
                "/etc/resolv.conf && echo ok",
                NULL);
  assert_string_equal(sandbox, "ok\n");
  cf_autofree char *hosts = output_of("itgp-etc", "cat /etc/hosts", pea_uri);
  cf_autofree char *resolv = output_of("itgp-etc", "cat /etc/resolv.conf", pea_uri);
  assert_non_null(strstr(hosts, "10.9.8.7 marker-host\n"));
  assert_string_equal(resolv, "nameserver 10.9.8.53\n");

  cf_autofree char *secret = cf_path_join(server.dir, "host-secret");
  cf_err *err = NULL;
  if (cf_write_file_atomic(secret, "host-secret\n", 12, 0644, &err) < 0) {
    fail_msg("write %s: %s", secret, err->message);
  }
  cf_autofree char *link = cf_xasprintf("ln -sf %s /etc/hosts && echo linked", secret);
  cf_autofree char *linked = output_of("itgp-etc", link, NULL);
  assert_string_equal(linked, "linked\n");
  cf_autofree char *pea_hosts = output_of("itgp-etc", "cat /etc/hosts 2>&1; true", pea_uri);
  fprintf(stderr, "pea /etc/hosts after a symlink to a host path: %s", pea_hosts);
  assert_null(strstr(pea_hosts, "host-secret"));
  await_peas_gone(1);
  destroy("itgp-etc");
}

/* Writes an image of the pea root filesystem plus entries, and returns its
 * URI. */
static char *write_image_with(const char *name, const cf_tar_entry *entries, size_t count)
{
  cf_autofree char *rootfs = cf_path_join(server.dir, "pea-rootfs");
  cf_autofree char *layout = cf_path_join(server.dir, name);
  cf_test_layer layers[] = {
      {.source_dir = rootfs, .compression = CF_TEST_GZIP},
      {.entries = entries, .entry_count = count, .compression = CF_TEST_GZIP},
  };
  cf_test_image image = {.layers = layers, .layer_count = 2, .tag = "latest"};
  cf_err *err = NULL;
  if (cf_test_layout_write(layout, &image, 1, NULL, &err) < 0) {
    fail_msg("write image %s: %s", name, err->message);
  }
  return cf_xasprintf("oci://%s:latest", layout);
}

/* The sandbox's /etc files replace what the pea image has at their paths:
 * a device is not written to and a symlink is not followed. */
static void test_pea_etc_replaces_image_files(void **state)
{
  cf_tar_entry entries[] = {
      {.type = CF_TAR_FILE, .path = "etc/pea-release", .data = "pea image\n"},
      {.type = CF_TAR_CHAR_DEVICE, .path = "etc/hosts"},
      {.type = CF_TAR_SYMLINK, .path = "etc/resolv.conf", .data = "/etc/pea-release"},
  };
  cf_autofree char *uri = write_image_with("etc-special-image", entries, 3);
  create(json_pack("{s:s}", "handle", "itgp-etc-special"));
  cf_autofree char *sandbox = output_of("itgp-etc-special",
                                        "echo '10.9.8.7 marker-host' > /etc/hosts && echo "
                                        "'nameserver 10.9.8.53' > /etc/resolv.conf && echo ok",
                                        NULL);
  assert_string_equal(sandbox, "ok\n");

  cf_autofree char *kinds = output_of(
      "itgp-etc-special",
      "for f in /etc/hosts /etc/resolv.conf; do test -f $f && ! test -L $f && echo regular; done",
      uri);
  assert_string_equal(kinds, "regular\nregular\n");
  cf_autofree char *hosts = output_of("itgp-etc-special", "cat /etc/hosts", uri);
  assert_string_equal(hosts, "10.9.8.7 marker-host\n");
  cf_autofree char *resolv = output_of("itgp-etc-special", "cat /etc/resolv.conf", uri);
  assert_string_equal(resolv, "nameserver 10.9.8.53\n");
  cf_autofree char *release = output_of("itgp-etc-special", "cat /etc/pea-release", uri);
  assert_string_equal(release, "pea image\n");
  await_peas_gone(1);
  destroy("itgp-etc-special");
}

/* A bind mount of the process spec on /etc/hosts stays: the sandbox's copy
 * is not written through it to the host file. */
static void test_pea_etc_keeps_bind_mount(void **state)
{
  create(json_pack("{s:s}", "handle", "itgp-etc-bind"));
  cf_autofree char *sandbox =
      output_of("itgp-etc-bind", "echo '10.9.8.7 marker-host' > /etc/hosts && echo ok", NULL);
  assert_string_equal(sandbox, "ok\n");
  cf_autofree char *note = cf_path_join(host_dir, "note");

  for (int mode = 0; mode <= 1; mode++) {
    json_t *spec = sh_spec("cat /etc/hosts", pea_uri);
    json_object_set_new(
        spec, "bind_mounts",
        json_pack("[{s:s, s:s, s:i}]", "src_path", note, "dst_path", "/etc/hosts", "mode", mode));
    cf_garden_process_result result = run("itgp-etc-bind", spec);
    cf_autofree char *out = text_of(&result.out);
    cf_autofree char *err = text_of(&result.err);
    fprintf(stderr, "pea /etc/hosts bound in mode %d: %s%s", mode, out, err);
    assert_int_equal(result.exit_status, 0);
    assert_string_equal(out, "from the host\n");
    cf_garden_process_result_clear(&result);
  }
  cf_buf text;
  cf_buf_init(&text, 4096);
  assert_int_equal(cf_read_file(note, &text, NULL), 0);
  assert_int_equal(text.len, strlen("from the host\n"));
  assert_memory_equal(text.data, "from the host\n", text.len);
  cf_buf_free(&text);
  await_peas_gone(1);
  destroy("itgp-etc-bind");
}

/* The pea shares the sandbox's network namespace but not its mount
 * namespace. */
static void test_pea_shares_network_only(void **state)
{
  create(json_pack("{s:s}", "handle", "itgp-ns"));
  const char *kinds[] = {"net", "mnt"};
  for (size_t i = 0; i < 2; i++) {
    cf_autofree char *script = cf_xasprintf("readlink /proc/self/ns/%s", kinds[i]);
    cf_autofree char *sandbox_ns = output_of("itgp-ns", script, NULL);
    cf_autofree char *pea_ns = output_of("itgp-ns", script, pea_uri);
    sandbox_ns[strcspn(sandbox_ns, "\n")] = '\0';
    pea_ns[strcspn(pea_ns, "\n")] = '\0';
    fprintf(stderr, "%s namespace: sandbox %s, pea %s\n", kinds[i], sandbox_ns, pea_ns);
    if (i == 0) {
      assert_string_equal(pea_ns, sandbox_ns);
    } else {
      assert_string_not_equal(pea_ns, sandbox_ns);
    }
  }
  await_peas_gone(1);
  destroy("itgp-ns");
}

static void test_pea_bind_mounts(void **state)
{
  create(json_pack("{s:s}", "handle", "itgp-bind"));
  json_t *mounts = json_pack("[{s:s, s:s}]", "src_path", host_dir, "dst_path", "/mnt/host");

  json_t *spec = sh_spec("cat /mnt/host/note; touch /mnt/host/new 2>&1; echo status=$?", pea_uri);
  json_object_set(spec, "bind_mounts", mounts);
  cf_garden_process_result result = run("itgp-bind", spec);
  cf_autofree char *out = text_of(&result.out);
  fprintf(stderr, "pea with a read-only bind mount: %s", out);
  assert_non_null(strstr(out, "from the host\n"));
  assert_non_null(strstr(out, "Read-only file system"));
  assert_non_null(strstr(out, "status=1"));
  cf_garden_process_result_clear(&result);

  /* A process of the container itself may not have bind mounts. */
  json_t *plain = sh_spec("true", NULL);
  json_object_set(plain, "bind_mounts", mounts);
  cf_err *err = run_rejected("itgp-bind", plain);
  assert_non_null(strstr(err->message, "with bind mounts and no image provided is not allowed"));
  cf_err_free(err);
  json_decref(mounts);
  await_peas_gone(1);
  destroy("itgp-bind");
}

/* As in Guardian's suite: without its own limits a pea is held to the
 * sandbox's memory limit, and with an empty "limits" it has none. */
static void test_pea_limits(void **state)
{
  create(json_pack("{s:s, s:{s:{s:I}}}", "handle", "itgp-mem", "limits", "memory_limits",
                   "limit_in_bytes", (json_int_t)(64 * MIB)));
  const char *fill = "dd if=/dev/zero of=/dev/shm/fill bs=1M count=65 2>/dev/null";

  cf_garden_process_result limited = run("itgp-mem", sh_spec(fill, pea_uri));
  fprintf(stderr, "65 MiB in a pea under a 64 MiB container limit: exit %d\n", limited.exit_status);
  assert_int_not_equal(limited.exit_status, 0);
  cf_garden_process_result_clear(&limited);

  json_t *spec = sh_spec(fill, pea_uri);
  json_object_set_new(spec, "limits", json_object());
  cf_garden_process_result unlimited = run("itgp-mem", spec);
  assert_int_equal(unlimited.exit_status, 0);
  cf_garden_process_result_clear(&unlimited);
  await_peas_gone(1);
  destroy("itgp-mem");
}

/* The sandbox's pid limit applies in a pea without its own limits, and an
 * empty "limits" lifts it. */
static void test_pea_pid_limits(void **state)
{
  create(json_pack("{s:s, s:{s:{s:i}}}", "handle", "itgp-pids", "limits", "pid_limits", "max", 8));
  const char *forks = "i=0; while [ $i -lt 20 ]; do sleep 60 & i=$((i+1)); done; echo all-forked; "
                      "kill $(jobs -p) 2>/dev/null; true";

  cf_garden_process_result limited = run("itgp-pids", sh_spec(forks, pea_uri));
  cf_autofree char *limited_out = text_of(&limited.out);
  cf_autofree char *limited_err = text_of(&limited.err);
  fprintf(stderr, "20 forks in a pea under a pid limit of 8: %s%s", limited_out, limited_err);
  assert_null(strstr(limited_out, "all-forked"));
  assert_non_null(strstr(limited_err, "can't fork"));
  cf_garden_process_result_clear(&limited);

  json_t *spec = sh_spec(forks, pea_uri);
  json_object_set_new(spec, "limits", json_object());
  cf_garden_process_result unlimited = run("itgp-pids", spec);
  cf_autofree char *unlimited_out = text_of(&unlimited.out);
  assert_string_equal(unlimited_out, "all-forked\n");
  cf_garden_process_result_clear(&unlimited);
  await_peas_gone(1);
  destroy("itgp-pids");
}

/* Destroying the sandbox kills a pea process still running (137). */
static void test_sandbox_destroy_kills_pea(void **state)
{
  create(json_pack("{s:s}", "handle", "itgp-kill"));
  json_t *spec = sh_spec("exec sleep 1000", pea_uri);
  cf_garden_process process;
  cf_garden_process_init(&process);
  cf_err *err = NULL;
  if (cf_garden_process_run(&server.tcp, "itgp-kill", spec, &process, &err) < 0) {
    fail_msg("run: %s", err->message);
  }
  json_decref(spec);
  destroy("itgp-kill");
  int exit_status = -1;
  if (cf_garden_process_wait(&server.tcp, &process, NULL, NULL, NULL, &exit_status, &err) < 0) {
    fail_msg("wait: %s", err->message);
  }
  assert_int_equal(exit_status, 137);
  cf_garden_process_clear(&process);
  await_peas_gone(0);
}

#define CONCURRENT_PEAS 8

typedef struct pea_job {
  int index;
  int exit_status;
  char *out;
} pea_job;

static void *run_pea_job(void *arg)
{
  pea_job *job = arg;
  cf_autofree char *script = cf_xasprintf("echo pea-%d", job->index);
  json_t *spec = sh_spec(script, pea_uri);
  cf_garden_process_result result;
  cf_garden_process_result_init(&result);
  job->exit_status = -1;
  if (cf_garden_client_run(&server.tcp, "itgp-many", spec, NULL, 0, &result, NULL) == 0) {
    job->exit_status = result.exit_status;
    job->out = text_of(&result.out);
  }
  json_decref(spec);
  cf_garden_process_result_clear(&result);
  return NULL;
}

/* Peas started at the same time in one sandbox each get their own pea. */
static void test_concurrent_peas(void **state)
{
  create(json_pack("{s:s}", "handle", "itgp-many"));
  pea_job jobs[CONCURRENT_PEAS] = {0};
  pthread_t threads[CONCURRENT_PEAS];
  for (int i = 0; i < CONCURRENT_PEAS; i++) {
    jobs[i].index = i;
    assert_int_equal(pthread_create(&threads[i], NULL, run_pea_job, &jobs[i]), 0);
  }
  for (int i = 0; i < CONCURRENT_PEAS; i++) {
    pthread_join(threads[i], NULL);
  }
  for (int i = 0; i < CONCURRENT_PEAS; i++) {
    cf_autofree char *expected = cf_xasprintf("pea-%d\n", i);
    assert_int_equal(jobs[i].exit_status, 0);
    assert_non_null(jobs[i].out);
    assert_string_equal(jobs[i].out, expected);
    free(jobs[i].out);
  }
  await_peas_gone(1);
  destroy("itgp-many");
}

/* A pea process can have a terminal, from the pea's own devpts. */
static void test_pea_with_tty(void **state)
{
  create(json_pack("{s:s}", "handle", "itgp-tty"));
  json_t *spec = sh_spec("tty; stty size", pea_uri);
  json_object_set_new(spec, "tty",
                      json_pack("{s:{s:i, s:i}}", "window_size", "columns", 100, "rows", 30));
  cf_garden_process_result result = run("itgp-tty", spec);
  cf_autofree char *out = text_of(&result.out);
  fprintf(stderr, "pea with a terminal: %s", out);
  assert_int_equal(result.exit_status, 0);
  assert_non_null(strstr(out, "/dev/pts/"));
  assert_non_null(strstr(out, "30 100"));
  cf_garden_process_result_clear(&result);
  await_peas_gone(1);
  destroy("itgp-tty");
}

/* The pea's user comes from its own image: root by default, a uid:gid
 * as given, and a name looked up in the pea image's /etc/passwd. */
static void test_pea_user_and_group(void **state)
{
  create(json_pack("{s:s}", "handle", "itgp-user"));
  static const struct {
    const char *user; /* NULL: none given */
    const char *expected;
  } cases[] = {
      {NULL, "0:0\n"},
      {"1001:1002", "1001:1002\n"},
      {"nobody", "65534:65534\n"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    json_t *spec = sh_spec("echo $(id -u):$(id -g)", pea_uri);
    if (cases[i].user != NULL) {
      json_object_set_new(spec, "user", json_string(cases[i].user));
    }
    cf_garden_process_result result = run("itgp-user", spec);
    cf_autofree char *out = text_of(&result.out);
    assert_int_equal(result.exit_status, 0);
    assert_string_equal(out, cases[i].expected);
    cf_garden_process_result_clear(&result);
  }
  json_t *unknown = sh_spec("true", pea_uri);
  json_object_set_new(unknown, "user", json_string("no-such-user"));
  cf_err *err = run_rejected("itgp-user", unknown);
  assert_non_null(strstr(err->message, "unable to find user no-such-user"));
  cf_err_free(err);
  await_peas_gone(1);
  destroy("itgp-user");
}

typedef struct term_on_output {
  cf_garden_process *process;
  bool sent;
} term_on_output;

/* Sends TERM once the process has written its first output, so its trap
 * is set by then. */
static int send_term_on_output(void *ctx, const char *data, size_t len, cf_err **err)
{
  term_on_output *state = ctx;
  if (state->sent || len == 0) {
    return 0;
  }
  state->sent = true;
  return cf_garden_process_signal(state->process, CF_GARDEN_SIGNAL_TERMINATE, err);
}

/* A TERM in the process stream reaches the pea process. */
static void test_pea_signal_term(void **state)
{
  create(json_pack("{s:s}", "handle", "itgp-term"));
  json_t *spec =
      sh_spec("trap 'exit 42' TERM; echo waiting; while true; do sleep 1; done", pea_uri);
  cf_garden_process process;
  cf_garden_process_init(&process);
  cf_err *err = NULL;
  if (cf_garden_process_run(&server.tcp, "itgp-term", spec, &process, &err) < 0) {
    fail_msg("run: %s", err->message);
  }
  json_decref(spec);
  term_on_output term = {.process = &process};
  int exit_status = -1;
  if (cf_garden_process_wait(&server.tcp, &process, send_term_on_output, NULL, &term, &exit_status,
                             &err) < 0) {
    fail_msg("wait: %s", err->message);
  }
  assert_true(term.sent);
  assert_int_equal(exit_status, 42);
  cf_garden_process_clear(&process);
  await_peas_gone(1);
  destroy("itgp-term");
}

/* A pea process has the same capabilities and seccomp mode as a process
 * of its sandbox. */
static void test_pea_hardening_matches_sandbox(void **state)
{
  create(json_pack("{s:s}", "handle", "itgp-caps"));
  const char *script = "grep -E '^(CapEff|CapBnd|Seccomp):' /proc/self/status";
  cf_autofree char *sandbox = output_of("itgp-caps", script, NULL);
  cf_autofree char *pea = output_of("itgp-caps", script, pea_uri);
  fprintf(stderr, "sandbox process:\n%spea process:\n%s", sandbox, pea);
  assert_non_null(strstr(pea, "Seccomp:\t2"));
  assert_string_equal(pea, sandbox);
  await_peas_gone(1);
  destroy("itgp-caps");
}

/* Peas are not in the store, so a restarted server sweeps a pea left
 * running: its init and volume are gone, and the leak check finds no
 * mount, namespace or cgroup of it. */
static void test_restart_sweeps_pea(void **state)
{
  create(json_pack("{s:s}", "handle", "itgp-restart"));
  json_t *spec = sh_spec("exec sleep 1000", pea_uri);
  cf_garden_process process;
  cf_garden_process_init(&process);
  cf_err *err = NULL;
  if (cf_garden_process_run(&server.tcp, "itgp-restart", spec, &process, &err) < 0) {
    fail_msg("run: %s", err->message);
  }
  json_decref(spec);
  cf_garden_process_clear(&process);
  assert_int_equal(count_volumes(), 2);

  assert_int_equal(it_server_stop(&server), 0);
  it_server_start(&server);
  assert_int_equal(count_volumes(), 1);
  cf_autofree char *alive = output_of("itgp-restart", "echo sandbox-alive", NULL);
  assert_string_equal(alive, "sandbox-alive\n");
  destroy("itgp-restart");
}

/* A pea that cannot be made or started fails the Run and leaves nothing. */
static void test_pea_errors(void **state)
{
  create(json_pack("{s:s}", "handle", "itgp-errors"));
  cf_autofree char *missing_image = cf_path_join(server.dir, "no-such-image.tar");
  cf_err *err = run_rejected("itgp-errors", sh_spec("true", missing_image));
  fprintf(stderr, "pea from a missing image: %s\n", err->message);
  assert_non_null(strstr(err->message, "create pea of container itgp-errors"));
  cf_err_free(err);

  json_t *spec = sh_spec("true", pea_uri);
  json_object_set_new(
      spec, "bind_mounts",
      json_pack("[{s:s, s:s}]", "src_path", "/nonexistent/cfwin-source", "dst_path", "/mnt/x"));
  err = run_rejected("itgp-errors", spec);
  assert_non_null(strstr(err->message, "no such file or directory"));
  cf_err_free(err);

  json_t *bad_path = json_pack("{s:s, s:{}, s:{s:s}}", "path", "no-such-program", "rlimits",
                               "image", "uri", pea_uri);
  err = run_rejected("itgp-errors", bad_path);
  fprintf(stderr, "pea with a missing executable: %s\n", err->message);
  assert_non_null(strstr(err->message, "executable file not found"));
  cf_err_free(err);
  await_peas_gone(1);
  destroy("itgp-errors");
}

int main(void)
{
  it_require_root();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_pea_runs_in_own_rootfs, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_pea_shares_network_only, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_pea_copies_etc_files, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_pea_etc_replaces_image_files, take_snapshot,
                                      check_leaks),
      cmocka_unit_test_setup_teardown(test_pea_etc_keeps_bind_mount, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_pea_bind_mounts, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_pea_limits, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_pea_pid_limits, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_sandbox_destroy_kills_pea, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_pea_user_and_group, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_pea_signal_term, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_pea_with_tty, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_concurrent_peas, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_pea_hardening_matches_sandbox, take_snapshot,
                                      check_leaks),
      cmocka_unit_test_setup_teardown(test_restart_sweeps_pea, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_pea_errors, take_snapshot, check_leaks),
  };
  return cmocka_run_group_tests(tests, setup_server, teardown_server);
}
