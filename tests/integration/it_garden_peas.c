/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Peas through the backend, without the HTTP server. A process with its
 * own image runs in its own root filesystem inside the network namespace
 * of its sandbox container, with the sandbox's hostname, "/" as its
 * working directory, its bind mounts and its limits. Destroying the pea,
 * or the sandbox, kills its processes and removes its volume and cgroup.
 * Every test ends with the fixture's leak check.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/mem.h"
#include "busybox_rootfs.h"
#include "fixture.h"
#include "garden/backend.h"
#include "image_builder.h"

#define MIB (1024 * 1024)

static it_server server; /* for its directory, depot and image; never started */
static cf_backend *backend;
static char *sandbox_uri; /* the fixture's busybox image */
static char *pea_uri;     /* busybox plus /etc/pea-release */
static char *host_dir;    /* bound into peas */

/* Writes the pea image: the busybox root filesystem and a marker file that
 * the sandbox's image does not have. */
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

static int setup_backend(void **state)
{
  it_server_prepare(&server);
  sandbox_uri = cf_xasprintf("oci://%s:latest", server.image_dir);
  write_pea_image();
  host_dir = cf_path_join(server.dir, "host");
  cf_autofree char *file = cf_path_join(host_dir, "note");
  cf_err *err = NULL;
  if (cf_mkdir_p(host_dir, 0755, &err) < 0 ||
      cf_write_file_atomic(file, "from the host\n", 14, 0644, &err) < 0 ||
      cf_backend_open(server.depot, NULL, &backend, &err) < 0) {
    fprintf(stderr, "setup: %s\n", err->message);
    return -1;
  }
  return 0;
}

static int teardown_backend(void **state)
{
  cf_backend_close(backend);
  it_server_cleanup(&server);
  free(sandbox_uri);
  free(pea_uri);
  free(host_dir);
  return 0;
}

static int take_snapshot(void **state)
{
  it_snapshot *snapshot = cf_xcalloc(1, sizeof(*snapshot));
  it_snapshot_take(snapshot);
  *state = snapshot;
  return 0;
}

static int check_leaks(void **state)
{
  return it_leak_check_end(&server, state);
}

static void create_sandbox(const char *handle, uint64_t memory_bytes)
{
  cf_limits_record limits = {.memory_bytes = memory_bytes};
  cf_create_request request = {.handle = handle, .image_uri = sandbox_uri, .limits = &limits};
  cf_err *err = NULL;
  if (cf_backend_create(backend, &request, &err) < 0) {
    fail_msg("create %s: %s", handle, err->message);
  }
}

static void destroy_sandbox(const char *handle)
{
  cf_err *err = NULL;
  if (cf_backend_destroy(backend, handle, &err) < 0) {
    fail_msg("destroy %s: %s", handle, err->message);
  }
}

static char *create_pea(const char *handle, const cf_pea_request *request, cf_container_init *init)
{
  char *pea_id = NULL;
  cf_err *err = NULL;
  if (cf_backend_pea_create(backend, handle, request, init, &pea_id, &err) < 0) {
    fail_msg("create pea in %s: %s", handle, err->message);
  }
  return pea_id;
}

static void destroy_pea(const char *handle, const char *pea_id)
{
  cf_err *err = NULL;
  if (cf_backend_pea_destroy(backend, handle, pea_id, &err) < 0) {
    fail_msg("destroy pea %s: %s", pea_id, err->message);
  }
}

static char *read_all(int fd)
{
  cf_buf text;
  cf_buf_init(&text, 1024 * 1024);
  char chunk[4096];
  for (;;) {
    ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      break;
    }
    cf_buf_append(&text, chunk, (size_t)n, NULL);
  }
  char *out = cf_xstrndup(text.data != NULL ? text.data : "", text.len);
  cf_buf_free(&text);
  return out;
}

static int wait_exit(cf_process *process)
{
  struct pollfd pfd = {.fd = process->pidfd, .events = POLLIN};
  while (poll(&pfd, 1, -1) < 0 && errno == EINTR) {
  }
  bool exited = false;
  int status = -1;
  assert_int_equal(cf_runtime_process_wait(process, &exited, &status, NULL), 0);
  assert_true(exited);
  return status;
}

static cf_process start_in_pea(const char *pea_id, const char *script)
{
  const char *args[] = {"-c", script};
  cf_process_spec spec = {.path = "/bin/sh", .args = args, .arg_count = 2};
  cf_process process;
  cf_err *err = NULL;
  if (cf_backend_pea_exec(backend, pea_id, &spec, &process, &err) < 0) {
    fail_msg("run in pea %s: %s", pea_id, err->message);
  }
  close(process.stdin_fd);
  process.stdin_fd = -1;
  return process;
}

/* Runs script in the pea, returns its stdout and sets *status. */
static char *run_in_pea(const char *pea_id, const char *script, int *status)
{
  cf_process process = start_in_pea(pea_id, script);
  char *out = read_all(process.stdout_fd);
  *status = wait_exit(&process);
  cf_process_close(&process);
  return out;
}

static char *cgroup_file(const char *hierarchy, const char *id, const char *name)
{
  cf_autofree char *path = cf_xasprintf("/sys/fs/cgroup/%s/cfwin/%s/%s", hierarchy, id, name);
  cf_buf text;
  cf_buf_init(&text, 64 * 1024);
  cf_err *err = NULL;
  if (cf_read_file(path, &text, &err) < 0) {
    fail_msg("read %s: %s", path, err->message);
  }
  char *line = cf_xstrndup(text.data, strcspn(text.data, "\n"));
  cf_buf_free(&text);
  return line;
}

static bool cgroup_exists(const char *id)
{
  cf_autofree char *path = cf_xasprintf("/sys/fs/cgroup/memory/cfwin/%s", id);
  return access(path, F_OK) == 0;
}

static bool volume_exists(const char *id)
{
  cf_autofree char *path = cf_xasprintf("%s/volumes/%s", server.depot, id);
  return access(path, F_OK) == 0;
}

static void test_pea_runs_in_own_rootfs(void **state)
{
  create_sandbox("itgp-rootfs", 0);
  cf_pea_request request = {.image_uri = pea_uri};
  cf_container_init init;
  cf_autofree char *pea_id = create_pea("itgp-rootfs", &request, &init);
  assert_true(strncmp(pea_id, "pea-", 4) == 0);
  assert_true(volume_exists(pea_id));

  int status = -1;
  cf_autofree char *release = run_in_pea(pea_id, "cat /etc/pea-release", &status);
  assert_int_equal(status, 0);
  assert_string_equal(release, "pea image\n");
  cf_autofree char *dir = run_in_pea(pea_id, "pwd", &status);
  assert_string_equal(dir, "/\n");
  cf_autofree char *env = run_in_pea(pea_id, "echo $PEA_IMAGE", &status);
  assert_string_equal(env, "yes\n");
  cf_autofree char *host = run_in_pea(pea_id, "hostname", &status);
  assert_string_equal(host, "itgp-rootfs\n");
  run_in_pea(pea_id, "exit 123", &status);
  assert_int_equal(status, 123);

  /* The store does not list the pea as a container. */
  cf_container_record record = {0};
  assert_int_equal(cf_store_container_get(cf_backend_store(backend), pea_id, &record, NULL), -1);

  destroy_pea("itgp-rootfs", pea_id);
  assert_false(cf_runtime_container_alive(&init));
  assert_false(volume_exists(pea_id));
  assert_false(cgroup_exists(pea_id));
  destroy_pea("itgp-rootfs", pea_id); /* a second destroy is success */
  destroy_sandbox("itgp-rootfs");
}

/* The network namespace is the sandbox's, the mount namespace is not. */
static void test_pea_shares_network_only(void **state)
{
  create_sandbox("itgp-ns", 0);
  cf_container_record record = {0};
  assert_int_equal(cf_store_container_get(cf_backend_store(backend), "itgp-ns", &record, NULL), 0);
  int sandbox_pid = (int)record.init_pid;
  cf_container_record_clear(&record);

  cf_pea_request request = {.image_uri = pea_uri};
  cf_container_init init;
  cf_autofree char *pea_id = create_pea("itgp-ns", &request, &init);
  const char *kinds[] = {"net", "mnt"};
  for (size_t i = 0; i < 2; i++) {
    cf_autofree char *sandbox_path = cf_xasprintf("/proc/%d/ns/%s", sandbox_pid, kinds[i]);
    char sandbox_ns[64] = {0};
    assert_true(readlink(sandbox_path, sandbox_ns, sizeof(sandbox_ns) - 1) > 0);
    cf_autofree char *script = cf_xasprintf("readlink /proc/self/ns/%s", kinds[i]);
    int status = -1;
    cf_autofree char *pea_ns = run_in_pea(pea_id, script, &status);
    assert_int_equal(status, 0);
    pea_ns[strcspn(pea_ns, "\n")] = '\0';
    fprintf(stderr, "%s namespace: sandbox %s, pea %s\n", kinds[i], sandbox_ns, pea_ns);
    if (i == 0) {
      assert_string_equal(pea_ns, sandbox_ns);
    } else {
      assert_string_not_equal(pea_ns, sandbox_ns);
    }
  }
  destroy_pea("itgp-ns", pea_id);
  destroy_sandbox("itgp-ns");
}

static void test_pea_bind_mounts(void **state)
{
  create_sandbox("itgp-bind", 0);
  cf_bind_mount bind = {.src_path = host_dir, .dst_path = "/mnt/host"};
  cf_pea_request request = {.image_uri = pea_uri, .bind_mounts = &bind, .bind_mount_count = 1};
  cf_container_init init;
  cf_autofree char *pea_id = create_pea("itgp-bind", &request, &init);
  int status = -1;
  cf_autofree char *note = run_in_pea(pea_id, "cat /mnt/host/note", &status);
  assert_int_equal(status, 0);
  assert_string_equal(note, "from the host\n");
  cf_autofree char *write = run_in_pea(pea_id, "touch /mnt/host/new 2>&1", &status);
  assert_int_not_equal(status, 0);
  assert_non_null(strstr(write, "Read-only file system"));
  destroy_pea("itgp-bind", pea_id);
  destroy_sandbox("itgp-bind");
}

static void test_pea_limits(void **state)
{
  create_sandbox("itgp-limits", 128 * MIB);
  cf_pea_request shared = {.image_uri = pea_uri};
  cf_pea_request own = {.image_uri = pea_uri, .override_limits = true, .memory_bytes = 64 * MIB};
  cf_pea_request unlimited = {.image_uri = pea_uri, .override_limits = true};
  cf_container_init init;
  cf_autofree char *shared_id = create_pea("itgp-limits", &shared, &init);
  cf_autofree char *own_id = create_pea("itgp-limits", &own, &init);
  cf_autofree char *unlimited_id = create_pea("itgp-limits", &unlimited, &init);

  cf_autofree char *shared_limit = cgroup_file("memory", shared_id, "memory.limit_in_bytes");
  cf_autofree char *own_limit = cgroup_file("memory", own_id, "memory.limit_in_bytes");
  cf_autofree char *unlimited_limit = cgroup_file("memory", unlimited_id, "memory.limit_in_bytes");
  fprintf(stderr, "pea memory limits: copied %s, own %s, none %s\n", shared_limit, own_limit,
          unlimited_limit);
  assert_string_equal(shared_limit, "134217728");
  assert_string_equal(own_limit, "67108864");
  assert_true(strtoull(unlimited_limit, NULL, 10) > 1024ULL * 1024 * MIB);

  /* Writing past the pea's own limit into its /dev/shm ends the writer. */
  int status = -1;
  cf_autofree char *out =
      run_in_pea(own_id, "dd if=/dev/zero of=/dev/shm/fill bs=1M count=80 2>/dev/null", &status);
  assert_int_not_equal(status, 0);

  /* Destroying the sandbox destroys its peas. */
  destroy_sandbox("itgp-limits");
  assert_false(volume_exists(shared_id));
  assert_false(volume_exists(own_id));
  assert_false(volume_exists(unlimited_id));
  assert_false(cgroup_exists(own_id));
}

typedef struct destroy_job {
  const char *handle;
  int rc;
} destroy_job;

static void *destroy_in_thread(void *arg)
{
  destroy_job *job = arg;
  job->rc = cf_backend_destroy(backend, job->handle, NULL);
  return NULL;
}

/* A pea process still running when its sandbox goes is killed (137). */
static void test_sandbox_destroy_kills_pea(void **state)
{
  create_sandbox("itgp-kill", 0);
  cf_pea_request request = {.image_uri = pea_uri};
  cf_container_init init;
  cf_autofree char *pea_id = create_pea("itgp-kill", &request, &init);
  cf_process process = start_in_pea(pea_id, "echo started; exec sleep 1000");
  char line[16] = {0};
  assert_int_equal(read(process.stdout_fd, line, 8), 8);
  assert_memory_equal(line, "started\n", 8);

  /* The destroy waits for the pea's init, which exits once this process,
   * our child, is reaped here. */
  destroy_job job = {.handle = "itgp-kill", .rc = -1};
  pthread_t thread;
  assert_int_equal(pthread_create(&thread, NULL, destroy_in_thread, &job), 0);
  assert_int_equal(wait_exit(&process), 137);
  pthread_join(thread, NULL);
  assert_int_equal(job.rc, 0);
  cf_process_close(&process);
  assert_false(cf_runtime_container_alive(&init));
  assert_false(volume_exists(pea_id));
}

static void test_pea_errors(void **state)
{
  cf_pea_request request = {.image_uri = pea_uri};
  cf_container_init init;
  char *pea_id = NULL;
  cf_err *err = NULL;
  assert_int_equal(cf_backend_pea_create(backend, "itgp-none", &request, &init, &pea_id, &err), -1);
  assert_int_equal(err->code, CF_E_NOT_FOUND);
  cf_err_clear(&err);

  create_sandbox("itgp-errors", 0);
  cf_bind_mount missing = {.src_path = "/nonexistent/cfwin-source", .dst_path = "/mnt/x"};
  cf_pea_request bad_mount = {.image_uri = pea_uri, .bind_mounts = &missing, .bind_mount_count = 1};
  assert_int_equal(cf_backend_pea_create(backend, "itgp-errors", &bad_mount, &init, &pea_id, &err),
                   -1);
  fprintf(stderr, "pea with a missing bind source: %s\n", err->message);
  assert_non_null(strstr(err->message, "no such file or directory"));
  cf_err_clear(&err);
  cf_pea_request bad_image = {.image_uri = "/nonexistent/image.tar"};
  assert_int_equal(cf_backend_pea_create(backend, "itgp-errors", &bad_image, &init, &pea_id, &err),
                   -1);
  cf_err_clear(&err);

  cf_process_spec spec = {.path = "/bin/true"};
  cf_process process;
  assert_int_equal(cf_backend_pea_exec(backend, "pea-unknown", &spec, &process, &err), -1);
  assert_int_equal(err->code, CF_E_NOT_FOUND);
  cf_err_clear(&err);
  destroy_sandbox("itgp-errors");
}

int main(void)
{
  it_require_root();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_pea_runs_in_own_rootfs, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_pea_shares_network_only, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_pea_bind_mounts, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_pea_limits, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_sandbox_destroy_kills_pea, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_pea_errors, take_snapshot, check_leaks),
  };
  return cmocka_run_group_tests(tests, setup_backend, teardown_backend);
}
