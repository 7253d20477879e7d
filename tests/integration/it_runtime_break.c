/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Hostile and careless inputs to `cfwin runtime`: bundles that try to reach
 * the host, namespace paths that are no namespace, limits the init cannot
 * start in, and concurrent deletes of one container. Each test checks the
 * error names the value and what to do, and ends with the fixture's leak
 * check.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
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
#include "busybox_rootfs.h"
#include "fixture.h"

/* A bound that stops a hanging runtime from hanging the test. No test passes
 * or fails by how long a command takes. */
#define COMMAND_BOUND_S 120
#define CONCURRENT_DELETES 8
#define DELETE_ROUNDS 5

static it_server server; /* only its directory and leak marker are used */
static char *rootfs;
static char *state_root;
static int bundle_serial;

typedef struct result {
  int status;
  char *out;
  char *err;
} result;

static void result_clear(result *r)
{
  free(r->out);
  free(r->err);
  memset(r, 0, sizeof(*r));
}

static const char *binary(void)
{
  const char *value = getenv("CFWIN_BINARY");
  return value != NULL && value[0] != '\0' ? value : "build/cfwin";
}

static void drain(int out_fd, int err_fd, cf_buf *out, cf_buf *err)
{
  struct pollfd fds[2] = {{.fd = out_fd, .events = POLLIN}, {.fd = err_fd, .events = POLLIN}};
  cf_buf *bufs[2] = {out, err};
  int open_count = 2;
  while (open_count > 0) {
    if (poll(fds, 2, -1) < 0 && errno != EINTR) {
      break;
    }
    for (int i = 0; i < 2; i++) {
      if (fds[i].fd < 0 || fds[i].revents == 0) {
        continue;
      }
      char chunk[4096];
      ssize_t n = read(fds[i].fd, chunk, sizeof(chunk));
      if (n > 0) {
        cf_buf_append(bufs[i], chunk, (size_t)n, NULL);
      } else if (n == 0 || errno != EINTR) {
        close(fds[i].fd);
        fds[i].fd = -1;
        open_count--;
      }
    }
  }
}

/* Starts `cfwin runtime --root ROOT ARGS...` with its output on pipes. The
 * alarm survives execve() and ends a runtime that hangs. */
static pid_t spawn(const char *const *args, int *out_fd, int *err_fd)
{
  int out_pipe[2];
  int err_pipe[2];
  assert_int_equal(pipe2(out_pipe, O_CLOEXEC), 0);
  assert_int_equal(pipe2(err_pipe, O_CLOEXEC), 0);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(open("/dev/null", O_RDONLY), 0);
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    size_t n = 0;
    while (args[n] != NULL) {
      n++;
    }
    const char **argv = cf_xcalloc(n + 5, sizeof(char *));
    argv[0] = binary();
    argv[1] = "runtime";
    argv[2] = "--root";
    argv[3] = state_root;
    memcpy(argv + 4, args, n * sizeof(char *));
    alarm(COMMAND_BOUND_S);
    execv(argv[0], (char **)argv);
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  *out_fd = out_pipe[0];
  *err_fd = err_pipe[0];
  return pid;
}

static result finish(pid_t pid, int out_fd, int err_fd)
{
  cf_buf out;
  cf_buf err;
  cf_buf_init(&out, 16 * 1024 * 1024);
  cf_buf_init(&err, 16 * 1024 * 1024);
  drain(out_fd, err_fd, &out, &err);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return (result){
      .status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
      .out = cf_buf_take(&out),
      .err = cf_buf_take(&err),
  };
}

static result run(const char *const *args)
{
  int out_fd;
  int err_fd;
  pid_t pid = spawn(args, &out_fd, &err_fd);
  return finish(pid, out_fd, err_fd);
}

#define RT(...) run((const char *const[]){__VA_ARGS__, NULL})

#define RT_OK(...)                                                                                 \
  do {                                                                                             \
    result ok_ = RT(__VA_ARGS__);                                                                  \
    if (ok_.status != 0) {                                                                         \
      fail_msg("runtime command failed with %d: %s", ok_.status, ok_.err);                         \
    }                                                                                              \
    result_clear(&ok_);                                                                            \
  } while (0)

/* Fails unless the command failed with status 1 and stderr containing part. */
static void assert_failed_with(result *r, const char *part)
{
  if (r->status != 1 || strstr(r->err, part) == NULL) {
    fail_msg("expected status 1 and stderr with \"%s\", got %d and \"%s\"", part, r->status,
             r->err);
  }
  result_clear(r);
}

/* ---- bundles ---- */

static char *bundle_dir(const char *id)
{
  cf_autofree char *parent = cf_xasprintf("%s/bundles/%d", server.dir, ++bundle_serial);
  assert_int_equal(cf_mkdir_p(parent, 0755, NULL), 0);
  char *dir = cf_path_join(parent, id);
  assert_int_equal(mkdir(dir, 0755), 0);
  return dir;
}

static json_t *dev_mount(const char *destination)
{
  return json_pack("{s:s, s:s, s:s, s:[s,s]}", "destination", destination, "type", "tmpfs",
                   "source", "tmpfs", "options", "nosuid", "mode=755");
}

static json_t *proc_mount(void)
{
  return json_pack("{s:s, s:s, s:s}", "destination", "/proc", "type", "proc", "source", "proc");
}

/* A config running `sleep 1000` in the shared busybox root with mounts. */
static json_t *config_with(json_t *mounts)
{
  return json_pack("{s:s, s:{s:b, s:{s:i, s:i}, s:[s,s], s:[s], s:s}, s:{s:s, s:b}, s:o}",
                   "ociVersion", "1.0.2-dev", "process", "terminal", 0, "user", "uid", 0, "gid", 0,
                   "args", "sleep", "1000", "env", "PATH=/bin", "cwd", "/", "root", "path", rootfs,
                   "readonly", 0, "mounts", mounts);
}

static char *write_bundle(const char *id, json_t *config)
{
  char *dir = bundle_dir(id);
  cf_autofree char *path = cf_path_join(dir, "config.json");
  assert_int_equal(json_dump_file(config, path, JSON_INDENT(2)), 0);
  json_decref(config);
  return dir;
}

static bool exists(const char *path)
{
  struct stat st;
  return lstat(path, &st) == 0;
}

/* ---- tests ---- */

/* The init creates missing mount points relative to the root filesystem
 * before pivot_root, so a ".." in a destination reached the host and made
 * directories there. */
static void test_mount_destination_cannot_leave_the_root(void **state)
{
  (void)state;
  cf_autofree char *host_dir = cf_path_join(server.dir, "host-only");
  assert_int_equal(mkdir(host_dir, 0755), 0);
  cf_autofree char *landing = cf_path_join(host_dir, "landing");
  cf_autofree char *destination = cf_xasprintf("/../../../../../../../..%s", landing);
  json_t *escape =
      json_pack("{s:s, s:s, s:s}", "destination", destination, "type", "tmpfs", "source", "tmpfs");
  json_t *mounts = json_pack("[o, o, o]", proc_mount(), dev_mount("/dev"), escape);
  cf_autofree char *dir = write_bundle("dotdot", config_with(mounts));

  result r = RT("create", "--bundle", dir, "dotdot");
  cf_autofree char *expected =
      cf_xasprintf("mount destination %s has a \"..\" component", destination);
  assert_failed_with(&r, expected);
  assert_false(exists(landing));
  r = RT("state", "dotdot");
  assert_failed_with(&r, "container not found: dotdot");
}

/* "/dev/", "//dev" and "/./dev" name /dev, so the host devices are added
 * to that mount. */
static void test_mount_destination_spellings_of_dev(void **state)
{
  (void)state;
  static const char *const spellings[] = {"/dev/", "//dev", "/./dev"};
  for (size_t i = 0; i < sizeof(spellings) / sizeof(spellings[0]); i++) {
    cf_autofree char *id = cf_xasprintf("dev-spelling-%zu", i);
    json_t *mounts = json_pack("[o, o]", proc_mount(), dev_mount(spellings[i]));
    cf_autofree char *dir = write_bundle(id, config_with(mounts));
    RT_OK("create", "--bundle", dir, id);
    RT_OK("start", id);
    result r = RT("exec", id, "test", "-c", "/dev/null");
    if (r.status != 0) {
      fail_msg("no /dev/null with a /dev mount spelled %s: %d %s", spellings[i], r.status, r.err);
    }
    result_clear(&r);
    RT_OK("delete", "--force", id);
  }
}

static void test_missing_bind_source_names_the_mount(void **state)
{
  (void)state;
  cf_autofree char *source = cf_path_join(server.dir, "no-such-source");
  json_t *bind =
      json_pack("{s:s, s:s, s:s}", "destination", "/data", "type", "bind", "source", source);
  json_t *mounts = json_pack("[o, o, o]", proc_mount(), dev_mount("/dev"), bind);
  cf_autofree char *dir = write_bundle("nosource", config_with(mounts));
  result r = RT("create", "--bundle", dir, "nosource");
  cf_autofree char *expected =
      cf_xasprintf("bind mount source %s for /data: No such file or directory", source);
  assert_failed_with(&r, expected);
}

/* A file bind on a FIFO of the root filesystem made create wait forever for
 * a writer, because the mount point was opened for writing. */
static void test_file_bind_on_fifo_does_not_hang(void **state)
{
  (void)state;
  cf_autofree char *source = cf_path_join(server.dir, "bind-source");
  FILE *f = fopen(source, "w");
  assert_non_null(f);
  fputs("from the host\n", f);
  fclose(f);
  cf_autofree char *fifo = cf_path_join(rootfs, "fifo-point");
  assert_int_equal(mkfifo(fifo, 0644), 0);
  json_t *bind = json_pack("{s:s, s:s, s:s, s:[s]}", "destination", "/fifo-point", "type", "bind",
                           "source", source, "options", "rbind");
  json_t *mounts = json_pack("[o, o, o]", proc_mount(), dev_mount("/dev"), bind);
  cf_autofree char *dir = write_bundle("fifobind", config_with(mounts));
  result r = RT("create", "--bundle", dir, "fifobind");
  int create_status = r.status;
  result_clear(&r);
  if (create_status == 0) {
    RT_OK("start", "fifobind");
    r = RT("exec", "fifobind", "cat", "/fifo-point");
  }
  /* Removing the FIFO earlier would detach the bind mount on it. */
  result deleted = RT("delete", "--force", "fifobind");
  result_clear(&deleted);
  unlink(fifo);
  assert_int_equal(create_status, 0);
  assert_string_equal(r.out, "from the host\n");
  result_clear(&r);
}

/* Mounts without /dev leave the init without /dev/null. */
static void test_bundle_without_dev_is_explained(void **state)
{
  (void)state;
  json_t *mounts = json_pack("[o]", proc_mount());
  cf_autofree char *dir = write_bundle("nodev", config_with(mounts));
  result r = RT("create", "--bundle", dir, "nodev");
  assert_failed_with(&r, "add a tmpfs mount on /dev");
  r = RT("state", "nodev");
  assert_failed_with(&r, "container not found: nodev");
}

static char *bundle_joining(const char *id, const char *netns_path)
{
  json_t *config = config_with(json_pack("[o, o]", proc_mount(), dev_mount("/dev")));
  json_object_set_new(
      config, "linux",
      json_pack("{s:[{s:s, s:s}]}", "namespaces", "type", "network", "path", netns_path));
  return write_bundle(id, config);
}

/* A regular file made setns() fail with a bare "Invalid argument", and a
 * FIFO made create wait forever for a writer. */
static void test_network_path_must_be_a_network_namespace(void **state)
{
  (void)state;
  cf_autofree char *file = cf_path_join(server.dir, "not-a-namespace");
  assert_int_equal(cf_write_file_atomic(file, "x", 1, 0644, NULL), 0);
  cf_autofree char *fifo = cf_path_join(server.dir, "fifo");
  assert_int_equal(mkfifo(fifo, 0600), 0);
  const char *paths[] = {file, fifo, "/proc/self/ns/mnt"};
  for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
    cf_autofree char *id = cf_xasprintf("netns-%zu", i);
    cf_autofree char *dir = bundle_joining(id, paths[i]);
    result r = RT("create", "--bundle", dir, id);
    cf_autofree char *expected =
        cf_xasprintf("network namespace %s is not a network namespace", paths[i]);
    assert_failed_with(&r, expected);
    RT_OK("delete", "--force", id);
  }
}

static bool cgroup_memory_available(void)
{
  return exists("/sys/fs/cgroup/memory/cgroup.procs") ||
         exists("/sys/fs/cgroup/cgroup.controllers");
}

/* A limit the init cannot start in was reported as "exited during setup". */
static void test_memory_limit_too_low_for_the_init(void **state)
{
  (void)state;
  if (!cgroup_memory_available()) {
    skip();
  }
  json_t *config = config_with(json_pack("[o, o]", proc_mount(), dev_mount("/dev")));
  json_object_set_new(config, "linux",
                      json_pack("{s:{s:{s:i}}}", "resources", "memory", "limit", 1));
  cf_autofree char *dir = write_bundle("tinymem", config);
  result r = RT("create", "--bundle", dir, "tinymem");
  assert_failed_with(&r, "its memory limit of 1 bytes is too low to start it; raise the limit");
  r = RT("state", "tinymem");
  assert_failed_with(&r, "container not found: tinymem");
}

/* Deletes racing each other saw the cgroup removed under them: a v1 path
 * "/cfwin/ID (deleted)" or a cgroup.kill that was gone. */
static void test_concurrent_deletes_all_succeed(void **state)
{
  (void)state;
  json_t *mounts = json_pack("[o, o]", proc_mount(), dev_mount("/dev"));
  cf_autofree char *dir = write_bundle("racedelete", config_with(mounts));
  for (int round = 0; round < DELETE_ROUNDS; round++) {
    RT_OK("create", "--bundle", dir, "racedelete");
    RT_OK("start", "racedelete");
    pid_t pids[CONCURRENT_DELETES];
    int out_fds[CONCURRENT_DELETES];
    int err_fds[CONCURRENT_DELETES];
    for (int i = 0; i < CONCURRENT_DELETES; i++) {
      pids[i] = spawn((const char *const[]){"delete", "--force", "racedelete", NULL}, &out_fds[i],
                      &err_fds[i]);
    }
    for (int i = 0; i < CONCURRENT_DELETES; i++) {
      result r = finish(pids[i], out_fds[i], err_fds[i]);
      if (r.status != 0 || r.err[0] != '\0') {
        fail_msg("round %d: concurrent delete failed with %d: %s", round, r.status, r.err);
      }
      result_clear(&r);
    }
    result r = RT("state", "racedelete");
    assert_failed_with(&r, "container not found: racedelete");
  }
}

/* ---- setup ---- */

static void delete_leftovers(void)
{
  result r = RT("list", "-q");
  char *save = NULL;
  for (char *id = strtok_r(r.out, "\n", &save); id != NULL; id = strtok_r(NULL, "\n", &save)) {
    fprintf(stderr, "deleting leftover container %s\n", id);
    result d = RT("delete", "--force", id);
    result_clear(&d);
  }
  result_clear(&r);
}

static int setup_suite(void **state)
{
  (void)state;
  it_server_prepare(&server);
  setenv("CFWIN_IT_MARKER", server.dir, 1);
  rootfs = cf_path_join(server.dir, "rootfs");
  state_root = cf_path_join(server.dir, "state");
  cf_err *err = NULL;
  if (cf_busybox_rootfs_make(CF_BUSYBOX_DEFAULT_PATH, rootfs, &err) < 0) {
    fail_msg("make busybox root: %s", err->message);
  }
  return 0;
}

static int teardown_suite(void **state)
{
  (void)state;
  delete_leftovers();
  it_server_cleanup(&server);
  free(rootfs);
  free(state_root);
  return 0;
}

static int take_snapshot(void **state)
{
  delete_leftovers();
  return it_leak_check_begin(&server, state);
}

static int check_leaks(void **state)
{
  result r = RT("list", "-q");
  assert_string_equal(r.out, "");
  result_clear(&r);
  return it_leak_check_end(&server, state);
}

int main(void)
{
  it_require_root();
#define TEST(fn) cmocka_unit_test_setup_teardown(fn, take_snapshot, check_leaks)
  const struct CMUnitTest tests[] = {
      TEST(test_mount_destination_cannot_leave_the_root),
      TEST(test_mount_destination_spellings_of_dev),
      TEST(test_missing_bind_source_names_the_mount),
      TEST(test_file_bind_on_fifo_does_not_hang),
      TEST(test_bundle_without_dev_is_explained),
      TEST(test_network_path_must_be_a_network_namespace),
      TEST(test_memory_limit_too_low_for_the_init),
      TEST(test_concurrent_deletes_all_succeed),
  };
  return cmocka_run_group_tests(tests, setup_suite, teardown_suite);
}
