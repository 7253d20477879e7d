/* SPDX-License-Identifier: Apache-2.0 */
/*
 * End to end through `cfwin runtime` (winc-compatible): the behaviours of
 * winc's integration suite ported to Linux bundles made from a
 * busybox root directory, plus runc's kill, list and ps, bind mounts, a
 * sidecar sharing another container's network namespace and concurrent
 * lifecycles. Every test ends with the fixture's leak check.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
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

#define CONCURRENT_LIFECYCLES 15
#define POLL_ATTEMPTS 200
#define MAX_IDS 256

/* The user namespace map of the unprivileged tests. */
#define MAPPED_ROOT 100000
#define MAPPED_SIZE 65536

static it_server server; /* only its directory and leak marker are used */
static char *rootfs;     /* shared busybox root directory */
static char *state_root; /* --root */
static int bundle_serial;
static char *used_ids[MAX_IDS]; /* every container id a test used */
static size_t used_id_count;

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

/* Reads both pipes to their end. */
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

/* Runs `cfwin runtime --root ROOT ARGS...` in dir (NULL: the working
 * directory) with stdin_text on its stdin (NULL: the null device). */
static result run_in(const char *dir, const char *stdin_text, const char *const *args)
{
  int out_pipe[2];
  int err_pipe[2];
  int in_pipe[2];
  assert_int_equal(pipe2(out_pipe, O_CLOEXEC), 0);
  assert_int_equal(pipe2(err_pipe, O_CLOEXEC), 0);
  assert_int_equal(pipe2(in_pipe, O_CLOEXEC), 0);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(stdin_text != NULL ? in_pipe[0] : open("/dev/null", O_RDONLY), 0);
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    if (dir != NULL && chdir(dir) < 0) {
      _exit(126);
    }
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
    execv(argv[0], (char **)argv);
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  close(in_pipe[0]);
  if (stdin_text != NULL) {
    cf_write_all(in_pipe[1], stdin_text, strlen(stdin_text), NULL);
  }
  close(in_pipe[1]);
  cf_buf out;
  cf_buf err;
  cf_buf_init(&out, 16 * 1024 * 1024);
  cf_buf_init(&err, 16 * 1024 * 1024);
  drain(out_pipe[0], err_pipe[0], &out, &err);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return (result){
      .status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
      .out = cf_buf_take(&out),
      .err = cf_buf_take(&err),
  };
}

#define RT(...) run_in(NULL, NULL, (const char *const[]){__VA_ARGS__, NULL})
#define RT_IN(dir, ...) run_in(dir, NULL, (const char *const[]){__VA_ARGS__, NULL})
#define RT_STDIN(text, ...) run_in(NULL, text, (const char *const[]){__VA_ARGS__, NULL})

/* Runs a command that must succeed and frees its result. */
#define RT_OK(...)                                                                                 \
  do {                                                                                             \
    result ok_ = RT(__VA_ARGS__);                                                                  \
    if (ok_.status != 0) {                                                                         \
      fail_msg("runtime command failed with %d: %s", ok_.status, ok_.err);                         \
    }                                                                                              \
    result_clear(&ok_);                                                                            \
  } while (0)

static void assert_failed_with(result *r, int status, const char *stderr_text)
{
  if (r->status != status || strcmp(r->err, stderr_text) != 0) {
    fail_msg("expected status %d and stderr \"%s\", got %d and \"%s\"", status, stderr_text,
             r->status, r->err);
  }
  result_clear(r);
}

static void assert_contains(const char *text, const char *part)
{
  if (strstr(text, part) == NULL) {
    fail_msg("\"%s\" does not contain \"%s\"", text, part);
  }
}

/* ---- cgroups ---- */

/* Where the v1 hierarchies are mounted; without them the host runs cgroup
 * v2 only, mounted at /sys/fs/cgroup. */
static bool cgroup_v1(void)
{
  struct stat st;
  return stat("/sys/fs/cgroup/memory/cgroup.procs", &st) == 0;
}

static void remember_id(const char *id)
{
  for (size_t i = 0; i < used_id_count; i++) {
    if (strcmp(used_ids[i], id) == 0) {
      return;
    }
  }
  assert_true(used_id_count < MAX_IDS);
  used_ids[used_id_count++] = cf_xstrdup(id);
}

/* Fails when a container cgroup of any id a test used is still there. */
static void assert_no_cgroups_left(void)
{
  static const char *const roots[] = {
      "/sys/fs/cgroup/memory", "/sys/fs/cgroup/cpu",     "/sys/fs/cgroup/cpuacct",
      "/sys/fs/cgroup/pids",   "/sys/fs/cgroup/freezer", "/sys/fs/cgroup/unified",
      "/sys/fs/cgroup",
  };
  for (size_t i = 0; i < used_id_count; i++) {
    for (size_t r = 0; r < sizeof(roots) / sizeof(roots[0]); r++) {
      cf_autofree char *path = cf_xasprintf("%s/cfwin/%s", roots[r], used_ids[i]);
      struct stat st;
      if (stat(path, &st) == 0) {
        fail_msg("cgroup %s is left", path);
      }
    }
  }
}

/* Reads a file of container id's cgroup: v1 controller/file, or the v2
 * file on a v2-only host. The result has no trailing newline. */
static char *cgroup_text(const char *id, const char *controller, const char *v1_file,
                         const char *v2_file)
{
  cf_autofree char *path =
      cgroup_v1() ? cf_xasprintf("/sys/fs/cgroup/%s/cfwin/%s/%s", controller, id, v1_file)
                  : cf_xasprintf("/sys/fs/cgroup/cfwin/%s/%s", id, v2_file);
  cf_buf buf;
  cf_buf_init(&buf, 1024 * 1024);
  if (cf_read_file(path, &buf, NULL) < 0 || buf.data == NULL) {
    fail_msg("cannot read %s", path);
  }
  char *text = cf_buf_take(&buf);
  text[strcspn(text, "\n")] = '\0';
  return text;
}

/* Returns the number after key in a flat-keyed cgroup file such as cpu.stat. */
static long long keyed_value(const char *text, const char *key)
{
  cf_autofree char *needle = cf_xasprintf("%s ", key);
  const char *p = strstr(text, needle);
  if (p == NULL) {
    fail_msg("no %s in \"%s\"", key, text);
  }
  return strtoll(p + strlen(needle), NULL, 10);
}

/* ---- bundles ---- */

/* Returns a new bundle directory named id (a fresh parent per call). */
static char *bundle_dir(const char *id)
{
  remember_id(id);
  cf_autofree char *parent = cf_xasprintf("%s/bundles/%d", server.dir, ++bundle_serial);
  assert_int_equal(cf_mkdir_p(parent, 0755, NULL), 0);
  char *dir = cf_path_join(parent, id);
  assert_int_equal(mkdir(dir, 0755), 0);
  return dir;
}

/* runc spec's default mounts (cgroup left out). */
static json_t *default_mounts(void)
{
  return json_pack(
      "[{s:s, s:s, s:s}, {s:s, s:s, s:s, s:[s,s,s,s]}, {s:s, s:s, s:s, s:[s,s,s,s,s,s]},"
      " {s:s, s:s, s:s, s:[s,s,s,s,s]}, {s:s, s:s, s:s, s:[s,s,s]}, {s:s, s:s, s:s, s:[s,s,s,s]}]",
      "destination", "/proc", "type", "proc", "source", "proc", "destination", "/dev", "type",
      "tmpfs", "source", "tmpfs", "options", "nosuid", "strictatime", "mode=755", "size=65536k",
      "destination", "/dev/pts", "type", "devpts", "source", "devpts", "options", "nosuid",
      "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5", "destination", "/dev/shm",
      "type", "tmpfs", "source", "shm", "options", "nosuid", "noexec", "nodev", "mode=1777",
      "size=65536k", "destination", "/dev/mqueue", "type", "mqueue", "source", "mqueue", "options",
      "nosuid", "noexec", "nodev", "destination", "/sys", "type", "sysfs", "source", "sysfs",
      "options", "nosuid", "noexec", "nodev", "ro");
}

/* A runc-style config: the shared busybox root, the process `sh -c SCRIPT`. */
static json_t *base_config(const char *script)
{
  return json_pack("{s:s, s:{s:b, s:{s:i, s:i}, s:[s,s,s], s:[s], s:s}, s:{s:s, s:b}, s:s,"
                   " s:o, s:{s:[{s:s}, {s:s}, {s:s}, {s:s}, {s:s}]}}",
                   "ociVersion", "1.0.2-dev", "process", "terminal", 0, "user", "uid", 0, "gid", 0,
                   "args", "sh", "-c", script, "env", "PATH=/bin", "cwd", "/", "root", "path",
                   rootfs, "readonly", 0, "hostname", "runtime-test", "mounts", default_mounts(),
                   "linux", "namespaces", "type", "pid", "type", "network", "type", "ipc", "type",
                   "uts", "type", "mount");
}

static void write_config(const char *dir, json_t *config)
{
  cf_autofree char *path = cf_path_join(dir, "config.json");
  assert_int_equal(json_dump_file(config, path, JSON_INDENT(2)), 0);
  json_decref(config);
}

/* Makes a bundle for id running script; returns its directory. */
static char *make_bundle(const char *id, const char *script)
{
  char *dir = bundle_dir(id);
  write_config(dir, base_config(script));
  return dir;
}

static json_t *state_of(const char *id)
{
  result r = RT("state", id);
  if (r.status != 0) {
    fail_msg("state %s failed: %s", id, r.err);
  }
  json_t *state = json_loads(r.out, 0, NULL);
  assert_non_null(state);
  /* winc prints no trailing newline. */
  assert_true(r.out[0] != '\0' && r.out[strlen(r.out) - 1] == '}');
  result_clear(&r);
  return state;
}

static const char *status_of(json_t *state)
{
  return json_string_value(json_object_get(state, "status"));
}

/* Polls until the container has the status; the bound only keeps a broken
 * runtime from hanging the test. */
static void await_status(const char *id, const char *status)
{
  for (int i = 0; i < POLL_ATTEMPTS; i++) {
    json_t *state = state_of(id);
    bool done = strcmp(status_of(state), status) == 0;
    json_decref(state);
    if (done) {
      return;
    }
    usleep(50 * 1000);
  }
  fail_msg("container %s never reached status %s", id, status);
}

static char *read_text(const char *path)
{
  cf_buf buf;
  cf_buf_init(&buf, 1024 * 1024);
  assert_int_equal(cf_read_file(path, &buf, NULL), 0);
  return cf_buf_take(&buf);
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
  for (size_t i = 0; i < used_id_count; i++) {
    free(used_ids[i]);
  }
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
  assert_no_cgroups_left();
  return it_leak_check_end(&server, state);
}

/* ---- create, start, state, delete ---- */

static void test_lifecycle_created_running_stopped(void **state)
{
  (void)state;
  cf_autofree char *dir = make_bundle("life", "sleep 1000");
  RT_OK("create", "life", "-b", dir);

  json_t *created = state_of("life");
  assert_string_equal(json_string_value(json_object_get(created, "ociVersion")), "1.2.1");
  assert_string_equal(json_string_value(json_object_get(created, "id")), "life");
  assert_string_equal(status_of(created), "created");
  assert_null(json_object_get(created, "pid"));
  assert_string_equal(json_string_value(json_object_get(created, "bundle")), dir);
  json_decref(created);

  cf_autofree char *pid_file = cf_path_join(server.dir, "life.pid");
  RT_OK("start", "--pid-file", pid_file, "life");
  cf_autofree char *pid_text = read_text(pid_file);
  assert_true(strspn(pid_text, "0123456789") == strlen(pid_text) && pid_text[0] != '\0');
  struct stat st;
  assert_int_equal(stat(pid_file, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0644);

  json_t *running = state_of("life");
  assert_string_equal(status_of(running), "running");
  assert_int_equal(json_integer_value(json_object_get(running, "pid")), atoi(pid_text));
  json_decref(running);
  cf_autofree char *comm_path = cf_xasprintf("/proc/%s/comm", pid_text);
  cf_autofree char *comm = read_text(comm_path);
  assert_string_equal(comm, "sleep\n");

  result again = RT("start", "life");
  assert_failed_with(&again, 1, "cannot start a container in the running state\n");

  RT_OK("kill", "life", "KILL");
  await_status("life", "stopped");
  result stopped = RT("start", "life");
  assert_failed_with(&stopped, 1, "cannot start a container in the stopped state\n");

  RT_OK("delete", "life");
  result gone = RT("state", "life");
  assert_failed_with(&gone, 1, "container not found: life\n");
  /* The bundle directory stays. */
  assert_int_equal(stat(dir, &st), 0);
}

static void test_delete_running_container(void **state)
{
  (void)state;
  cf_autofree char *dir = make_bundle("del-running", "sleep 1000");
  RT_OK("run", "--detach", "--bundle", dir, "del-running");
  json_t *running = state_of("del-running");
  assert_string_equal(status_of(running), "running");
  json_decref(running);
  RT_OK("delete", "del-running");
  result gone = RT("state", "del-running");
  assert_failed_with(&gone, 1, "container not found: del-running\n");
}

static void test_unknown_ids(void **state)
{
  (void)state;
  result r = RT("state", "doesntexist");
  assert_failed_with(&r, 1, "container not found: doesntexist\n");
  r = RT("start", "doesntexist");
  assert_failed_with(&r, 1, "container not found: doesntexist\n");
  r = RT("delete", "nonexistentcontainer");
  assert_failed_with(&r, 1, "container not found: nonexistentcontainer\n");
  r = RT("exec", "doesntexist", "true");
  assert_failed_with(&r, 1, "container not found: doesntexist\n");
  r = RT("events", "doesntexist");
  assert_failed_with(&r, 1, "container not found: doesntexist\n");
  RT_OK("delete", "--force", "nonexistentcontainer");
  RT_OK("delete", "-force", "nonexistentcontainer");
}

static void test_duplicate_id(void **state)
{
  (void)state;
  cf_autofree char *dir = make_bundle("dup", "sleep 1000");
  RT_OK("create", "dup", "-b", dir);
  result r = RT("create", "dup", "-b", dir);
  assert_failed_with(&r, 1, "container with id already exists: dup\n");
  RT_OK("delete", "dup");
}

/* ---- bundle rules ---- */

static void test_bundle_validation_errors(void **state)
{
  (void)state;
  cf_autofree char *dir = bundle_dir("valid");
  result r = RT("create", "other", "-b", dir);
  assert_failed_with(&r, 1, "container id does not match bundle directory name: other\n");

  cf_autofree char *missing =
      cf_xasprintf("bundle config.json does not exist: %s/config.json\n", dir);
  r = RT("create", "valid", "-b", dir);
  assert_failed_with(&r, 1, missing);

  write_config(dir, json_pack("{s:{s:s}}", "root", "path", rootfs));
  cf_autofree char *invalid = cf_xasprintf("bundle config.json is invalid: %s/config.json:"
                                           "\n\t'Spec.Version' should not be empty"
                                           "\n\t\"\" is not a valid SemVer: Version string empty\n",
                                           dir);
  r = RT("create", "valid", "-b", dir);
  assert_failed_with(&r, 1, invalid);

  write_config(dir, base_config("true"));
  cf_autofree char *config = cf_path_join(dir, "config.json");
  json_t *bad_env = json_load_file(config, 0, NULL);
  json_array_append_new(json_object_get(json_object_get(bad_env, "process"), "env"),
                        json_string("NOVALUE"));
  write_config(dir, bad_env);
  r = RT("create", "valid", "-b", dir);
  assert_failed_with(&r, 1,
                     "process config is invalid:"
                     "\n\tenv \"NOVALUE\" should be in the form of 'key=value'.\n");
}

static void test_bundle_path_forms(void **state)
{
  (void)state;
  cf_autofree char *dir = make_bundle("slash", "sleep 1000");
  cf_autofree char *with_slash = cf_xasprintf("%s/", dir);
  RT_OK("create", "slash", "-b", with_slash);
  json_t *s = state_of("slash");
  assert_string_equal(json_string_value(json_object_get(s, "bundle")), dir);
  json_decref(s);
  RT_OK("delete", "slash");

  /* The working directory is the default bundle, stored absolute. */
  cf_autofree char *cwd_dir = make_bundle("cwd", "sleep 1000");
  result r = RT_IN(cwd_dir, "create", "cwd");
  assert_int_equal(r.status, 0);
  assert_string_equal(r.out, "");
  result_clear(&r);
  s = state_of("cwd");
  assert_string_equal(json_string_value(json_object_get(s, "bundle")), cwd_dir);
  json_decref(s);
  RT_OK("delete", "cwd");

  /* A relative root.path is relative to the bundle. */
  cf_autofree char *rel_dir = bundle_dir("relroot");
  cf_autofree char *link = cf_path_join(rel_dir, "rootfs");
  assert_int_equal(symlink(rootfs, link), 0);
  json_t *config = base_config("sleep 1000");
  json_object_set_new(json_object_get(config, "root"), "path", json_string("rootfs"));
  write_config(rel_dir, config);
  RT_OK("run", "-d", "-b", rel_dir, "relroot");
  RT_OK("delete", "relroot");
}

/* ---- exec and run ---- */

static void test_exec_env_cwd_user_and_exit_code(void **state)
{
  (void)state;
  cf_autofree char *dir = make_bundle("ex", "sleep 1000");
  RT_OK("run", "-d", "-b", dir, "ex");

  result r = RT("exec", "--env", "A=1", "--env", "B=2", "--cwd", "/tmp", "--user", "nobody", "ex",
                "sh", "-c", "echo $A$B; pwd; id -u; hostname; echo oops >&2; exit 7");
  assert_int_equal(r.status, 7);
  assert_string_equal(r.out, "12\n/tmp\n65534\nruntime-test\n");
  assert_string_equal(r.err, "oops\n");
  result_clear(&r);

  r = RT_STDIN("from stdin\n", "exec", "ex", "cat");
  assert_int_equal(r.status, 0);
  assert_string_equal(r.out, "from stdin\n");
  result_clear(&r);

  cf_autofree char *spec_path = cf_path_join(server.dir, "process.json");
  json_t *spec =
      json_pack("{s:[s,s,s], s:s, s:[s], s:{s:i, s:i}}", "args", "sh", "-c", "echo $P; id -u; pwd",
                "cwd", "/root", "env", "P=process-json", "user", "uid", 65534, "gid", 65534);
  assert_int_equal(json_dump_file(spec, spec_path, 0), 0);
  json_decref(spec);
  cf_autofree char *pid_file = cf_path_join(server.dir, "exec.pid");
  r = RT("exec", "--pid-file", pid_file, "-p", spec_path, "ex");
  assert_int_equal(r.status, 0);
  assert_string_equal(r.out, "process-json\n65534\n/root\n");
  result_clear(&r);
  cf_autofree char *pid_text = read_text(pid_file);
  assert_true(atoi(pid_text) > 0);

  r = RT("exec", "ex", "nonexistent-command");
  assert_int_equal(r.status, 1);
  assert_contains(r.err, "could not start command 'nonexistent-command' in container: ex");
  result_clear(&r);

  r = RT("exec", "--user", "nosuchuser", "ex", "true");
  assert_int_equal(r.status, 1);
  assert_contains(r.err, "could not start command 'true' in container: ex");
  result_clear(&r);

  /* A detached exec returns at once and keeps running. */
  cf_autofree char *detached_pid = cf_path_join(server.dir, "detached.pid");
  RT_OK("exec", "-d", "--pid-file", detached_pid, "ex", "sleep", "1000");
  cf_autofree char *dpid = read_text(detached_pid);
  result ps = RT("ps", "--format", "json", "ex");
  assert_int_equal(ps.status, 0);
  assert_contains(ps.out, dpid);
  result_clear(&ps);

  RT_OK("delete", "ex");
}

static void test_attached_run_exit_code_and_stdio(void **state)
{
  (void)state;
  cf_autofree char *dir = make_bundle("att", "echo out; echo err >&2; cat; exit 3");
  cf_autofree char *pid_file = cf_path_join(server.dir, "att.pid");
  result r = RT_STDIN("hey-winc\n", "run", "--pid-file", pid_file, "--bundle", dir, "att");
  assert_int_equal(r.status, 3);
  assert_string_equal(r.out, "out\nhey-winc\n");
  assert_string_equal(r.err, "err\n");
  result_clear(&r);
  cf_autofree char *pid_text = read_text(pid_file);
  assert_true(atoi(pid_text) > 0);
  /* An attached run deletes its container. */
  r = RT("state", "att");
  assert_failed_with(&r, 1, "container not found: att\n");
}

static void test_kill_list_ps(void **state)
{
  (void)state;
  cf_autofree char *dir = make_bundle("k1", "sleep 1000");
  RT_OK("run", "-d", "-b", dir, "k1");
  json_t *s = state_of("k1");
  json_int_t pid = json_integer_value(json_object_get(s, "pid"));
  json_decref(s);

  result list = RT("list", "--format", "json");
  assert_int_equal(list.status, 0);
  json_t *entries = json_loads(list.out, 0, NULL);
  assert_int_equal(json_array_size(entries), 1);
  json_t *entry = json_array_get(entries, 0);
  assert_string_equal(json_string_value(json_object_get(entry, "id")), "k1");
  assert_string_equal(json_string_value(json_object_get(entry, "status")), "running");
  assert_int_equal(json_integer_value(json_object_get(entry, "pid")), pid);
  json_decref(entries);
  result_clear(&list);

  list = RT("list");
  assert_int_equal(strncmp(list.out, "ID          PID         STATUS", 30), 0);
  result_clear(&list);

  result ps = RT("ps", "-f", "json", "k1");
  cf_autofree char *expected = cf_xasprintf("[%lld]\n", (long long)pid);
  assert_string_equal(ps.out, expected);
  result_clear(&ps);

  result bad = RT("kill", "k1", "NOTASIGNAL");
  assert_failed_with(&bad, 1, "unknown signal \"NOTASIGNAL\"\n");
  RT_OK("kill", "k1");
  await_status("k1", "stopped");
  bad = RT("kill", "k1", "TERM");
  assert_failed_with(&bad, 1, "container not running\n");
  RT_OK("delete", "k1");
}

static json_t *member(json_t *object, const char *path)
{
  cf_autofree char *copy = cf_xstrdup(path);
  char *save = NULL;
  for (char *key = strtok_r(copy, ".", &save); key != NULL; key = strtok_r(NULL, ".", &save)) {
    object = json_object_get(object, key);
    if (object == NULL) {
      fail_msg("no %s in the stats", path);
    }
  }
  return object;
}

static json_t *stats_of(const char *id)
{
  result r = RT("events", "--stats", id);
  assert_int_equal(r.status, 0);
  /* winc prints no trailing newline. */
  assert_true(r.out[0] != '\0' && r.out[strlen(r.out) - 1] == '}');
  json_t *stats = json_loads(r.out, 0, NULL);
  assert_non_null(stats);
  result_clear(&r);
  return stats;
}

static void test_events_stats(void **state)
{
  (void)state;
  cf_autofree char *dir = make_bundle("ev", "sleep 1000");
  RT_OK("run", "-d", "-b", dir, "ev");
  result r = RT("events", "ev");
  assert_int_equal(r.status, 0);
  assert_string_equal(r.out, "");
  result_clear(&r);
  json_t *stats = stats_of("ev");
  /* The cgroup contains the init and the process. */
  assert_int_equal(json_integer_value(member(stats, "data.pids.current")), 2);
  assert_null(json_object_get(member(stats, "data.pids"), "limit"));
  assert_true(json_integer_value(member(stats, "data.memory.raw.total_rss")) > 0);
  assert_true(json_integer_value(member(stats, "data.memory.usage.usage")) > 0);
  assert_null(json_object_get(member(stats, "data.memory.usage"), "limit"));
  assert_true(json_is_integer(member(stats, "data.cpu.usage.total")));
  assert_true(json_is_integer(member(stats, "data.cpu.usage.kernel")));
  assert_true(json_is_integer(member(stats, "data.cpu.usage.user")));
  assert_true(json_is_integer(member(stats, "data.cpu.throttling.throttled_periods")));
  json_decref(stats);
  RT_OK("delete", "ev");
}

/* ---- limits ---- */

/* Makes a bundle whose config carries linux.resources. */
static char *make_limited_bundle(const char *id, const char *script, json_t *resources)
{
  char *dir = bundle_dir(id);
  json_t *config = base_config(script);
  json_object_set_new(json_object_get(config, "linux"), "resources", resources);
  write_config(dir, config);
  return dir;
}

static void test_memory_limit_oom_kill_reported(void **state)
{
  (void)state;
  cf_autofree char *dir = make_limited_bundle(
      "mem", "sleep 1000", json_pack("{s:{s:I}}", "memory", "limit", (json_int_t)32 << 20));
  RT_OK("run", "-d", "-b", dir, "mem");
  cf_autofree char *limit = cgroup_text("mem", "memory", "memory.limit_in_bytes", "memory.max");
  assert_string_equal(limit, "33554432");

  result r = RT("events", "--oom", "mem");
  assert_int_equal(r.status, 0);
  assert_string_equal(r.out, "");
  result_clear(&r);

  /* dd touches a 64 MiB buffer: the OOM killer ends it with SIGKILL. */
  r = RT("exec", "mem", "dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1");
  assert_int_equal(r.status, 128 + SIGKILL);
  result_clear(&r);

  r = RT("events", "--oom", "mem");
  assert_int_equal(r.status, 0);
  assert_string_equal(r.out, "{\"type\":\"oom\",\"id\":\"mem\"}\n");
  result_clear(&r);
  /* winc's events without flags prints nothing. */
  r = RT("events", "mem");
  assert_int_equal(r.status, 0);
  assert_string_equal(r.out, "");
  result_clear(&r);
  json_t *stats = stats_of("mem");
  assert_int_equal(json_integer_value(member(stats, "data.memory.usage.limit")), 32 << 20);
  json_decref(stats);
  RT_OK("delete", "mem");
}

static void test_cpu_shares_and_quota_throttle(void **state)
{
  (void)state;
  cf_autofree char *dir = make_limited_bundle(
      "cpu", "sleep 1000",
      json_pack("{s:{s:i, s:i, s:i}}", "cpu", "shares", 512, "quota", 10000, "period", 100000));
  RT_OK("run", "-d", "-b", dir, "cpu");
  cf_autofree char *shares = cgroup_text("cpu", "cpu", "cpu.shares", "cpu.weight");
  /* v2 maps 512 shares to weight 1 + 510 * 9999 / 262142. */
  assert_string_equal(shares, cgroup_v1() ? "512" : "20");
  cf_autofree char *quota = cgroup_text("cpu", "cpu", "cpu.cfs_quota_us", "cpu.max");
  assert_string_equal(quota, cgroup_v1() ? "10000" : "10000 100000");
  if (cgroup_v1()) {
    cf_autofree char *period = cgroup_text("cpu", "cpu", "cpu.cfs_period_us", "cpu.max");
    assert_string_equal(period, "100000");
  }

  /* A busy loop needs more than 10 ms of CPU in some period. */
  RT_OK("exec", "cpu", "sh", "-c", "i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done");
  cf_autofree char *path = cgroup_v1() ? cf_xstrdup("/sys/fs/cgroup/cpu/cfwin/cpu/cpu.stat")
                                       : cf_xstrdup("/sys/fs/cgroup/cfwin/cpu/cpu.stat");
  cf_autofree char *stat_text = read_text(path);
  assert_true(keyed_value(stat_text, "nr_throttled") > 0);
  json_t *stats = stats_of("cpu");
  assert_true(json_integer_value(member(stats, "data.cpu.throttling.throttled_periods")) > 0);
  assert_true(json_integer_value(member(stats, "data.cpu.throttling.throttled_time")) > 0);
  json_decref(stats);
  RT_OK("delete", "cpu");
}

static void test_pids_limit_stops_forks(void **state)
{
  (void)state;
  cf_autofree char *dir =
      make_limited_bundle("pids", "sleep 1000", json_pack("{s:{s:i}}", "pids", "limit", 5));
  RT_OK("run", "-d", "-b", dir, "pids");
  cf_autofree char *max = cgroup_text("pids", "pids", "pids.max", "pids.max");
  assert_string_equal(max, "5");

  /* init, sleep and sh leave room for two more processes. */
  result r = RT("exec", "pids", "sh", "-c",
                "for i in 1 2 3 4; do sleep 1000 >/dev/null 2>&1 & done; echo done");
  assert_contains(r.err, "Resource temporarily unavailable");
  result_clear(&r);
  json_t *stats = stats_of("pids");
  assert_int_equal(json_integer_value(member(stats, "data.pids.limit")), 5);
  assert_true(json_integer_value(member(stats, "data.pids.current")) <= 5);
  json_decref(stats);
  RT_OK("delete", "pids");
}

static void test_rlimits_apply_to_processes(void **state)
{
  (void)state;
  cf_autofree char *dir = bundle_dir("rlim");
  json_t *config = base_config("sleep 1000");
  json_object_set_new(
      json_object_get(config, "process"), "rlimits",
      json_pack("[{s:s, s:i, s:i}]", "type", "RLIMIT_NOFILE", "hard", 512, "soft", 256));
  write_config(dir, config);
  RT_OK("run", "-d", "-b", dir, "rlim");
  result r = RT("exec", "rlim", "sh", "-c", "ulimit -n; ulimit -Hn");
  assert_int_equal(r.status, 0);
  assert_string_equal(r.out, "256\n512\n");
  result_clear(&r);
  json_t *s = state_of("rlim");
  json_int_t pid = json_integer_value(json_object_get(s, "pid"));
  json_decref(s);
  cf_autofree char *limits_path = cf_xasprintf("/proc/%lld/limits", (long long)pid);
  cf_autofree char *limits = read_text(limits_path);
  assert_non_null(strstr(limits, "Max open files            256                  512"));
  RT_OK("delete", "rlim");
}

/* ---- hardening and user namespaces ---- */

/* Checks CapEff of a process in the container: some capabilities, never
 * CAP_SYS_MODULE (16). */
static void assert_no_sys_module(const char *id)
{
  result r = RT("exec", id, "grep", "CapEff", "/proc/self/status");
  assert_int_equal(r.status, 0);
  unsigned long long caps = strtoull(r.out + strlen("CapEff:"), NULL, 16);
  assert_true(caps != 0);
  assert_int_equal(caps & (1ULL << 16), 0);
  result_clear(&r);
}

/* The init's executable must stay out of reach: it is the runtime binary. */
static void assert_init_exe_hidden(const char *id)
{
  result r = RT("exec", id, "readlink", "/proc/1/exe");
  assert_int_not_equal(r.status, 0);
  result_clear(&r);
  r = RT("exec", id, "head", "-c", "4", "/proc/1/exe");
  assert_int_not_equal(r.status, 0);
  assert_string_equal(r.out, "");
  result_clear(&r);
}

static void test_default_container_is_hardened(void **state)
{
  (void)state;
  cf_autofree char *dir = make_bundle("hard", "sleep 1000");
  RT_OK("run", "-d", "-b", dir, "hard");
  assert_no_sys_module("hard");
  assert_init_exe_hidden("hard");
  result r = RT("exec", "hard", "grep", "NoNewPrivs", "/proc/self/status");
  assert_string_equal(r.out, "NoNewPrivs:\t1\n");
  result_clear(&r);
  r = RT("exec", "hard", "grep", "Seccomp:", "/proc/self/status");
  assert_string_equal(r.out, "Seccomp:\t2\n");
  result_clear(&r);
  RT_OK("delete", "hard");
}

/* A bundle with a user namespace mapping container ids 0-65535 onto host
 * ids from MAPPED_ROOT, and a host directory bind-mounted read-write at
 * /data (its mount point made here, because mapped root cannot). */
static char *make_userns_bundle(const char *id, const char *host_data)
{
  char *dir = bundle_dir(id);
  json_t *config = base_config("sleep 1000");
  json_t *linux_obj = json_object_get(config, "linux");
  json_array_append_new(json_object_get(linux_obj, "namespaces"),
                        json_pack("{s:s}", "type", "user"));
  json_object_set_new(
      linux_obj, "uidMappings",
      json_pack("[{s:i, s:i, s:i}]", "containerID", 0, "hostID", MAPPED_ROOT, "size", MAPPED_SIZE));
  json_object_set_new(
      linux_obj, "gidMappings",
      json_pack("[{s:i, s:i, s:i}]", "containerID", 0, "hostID", MAPPED_ROOT, "size", MAPPED_SIZE));
  json_array_append_new(json_object_get(config, "mounts"),
                        json_pack("{s:s, s:s, s:s, s:[s,s]}", "destination", "/data", "type",
                                  "bind", "source", host_data, "options", "bind", "rw"));
  write_config(dir, config);
  return dir;
}

static void test_user_namespace_container_is_confined(void **state)
{
  (void)state;
  cf_autofree char *data = cf_path_join(server.dir, "host-data");
  assert_int_equal(cf_mkdir_p(data, 0755, NULL), 0);
  cf_autofree char *owned = cf_path_join(data, "owned");
  assert_int_equal(cf_write_file_atomic(owned, "host\n", 5, 0644, NULL), 0);
  /* Mapped root is no host owner: it needs search permission on the path
   * to the root filesystem, which mkdtemp() made 0700. */
  assert_int_equal(chmod(server.dir, 0711), 0);
  cf_autofree char *mount_point = cf_path_join(rootfs, "data");
  assert_true(mkdir(mount_point, 0755) == 0 || errno == EEXIST);
  cf_autofree char *dir = make_userns_bundle("userns", data);
  RT_OK("run", "-d", "-b", dir, "userns");

  result r = RT("exec", "userns", "sh", "-c", "id -u; cat /proc/self/uid_map");
  assert_int_equal(r.status, 0);
  cf_autofree char *expected = cf_xasprintf("0\n%10d %10d %10d\n", 0, MAPPED_ROOT, MAPPED_SIZE);
  assert_string_equal(r.out, expected);
  result_clear(&r);

  /* Root inside is an unprivileged host id: host files stay read-only. */
  r = RT("exec", "userns", "sh", "-c", "echo changed > /data/owned");
  assert_int_not_equal(r.status, 0);
  assert_contains(r.err, "Permission denied");
  result_clear(&r);
  r = RT("exec", "userns", "touch", "/data/new");
  assert_int_not_equal(r.status, 0);
  result_clear(&r);
  cf_autofree char *text = read_text(owned);
  assert_string_equal(text, "host\n");

  assert_no_sys_module("userns");
  r = RT("exec", "userns", "insmod", "/data/owned");
  assert_int_not_equal(r.status, 0);
  assert_contains(r.err, "Operation not permitted");
  result_clear(&r);

  /* ps lists the container's own processes only: its pids start at 1. */
  r = RT("exec", "userns", "ps", "-o", "pid,comm");
  assert_int_equal(r.status, 0);
  assert_contains(r.out, "    1 cfwin-init\n");
  size_t lines = 0;
  char *save = NULL;
  for (char *line = strtok_r(r.out, "\n", &save); line != NULL;
       line = strtok_r(NULL, "\n", &save)) {
    lines++;
    assert_true(lines == 1 || atoi(line) < 100);
  }
  assert_true(lines <= 4);
  result_clear(&r);

  assert_init_exe_hidden("userns");
  RT_OK("delete", "userns");
  rmdir(mount_point);
}

static void test_user_namespace_needs_maps(void **state)
{
  (void)state;
  cf_autofree char *dir = bundle_dir("nomaps");
  json_t *config = base_config("sleep 1000");
  json_array_append_new(json_object_get(json_object_get(config, "linux"), "namespaces"),
                        json_pack("{s:s}", "type", "user"));
  write_config(dir, config);
  result r = RT("create", "nomaps", "-b", dir);
  assert_int_equal(r.status, 1);
  assert_contains(r.err, "it needs linux.uidMappings and linux.gidMappings");
  result_clear(&r);
}

/* ---- command line rules ---- */

static void test_usage_errors_and_unknown_command(void **state)
{
  (void)state;
  result r = RT("bogus");
  assert_failed_with(&r, 3, "No help topic for 'bogus'\n");

  r = RT("state");
  assert_int_equal(r.status, 1);
  assert_int_equal(strncmp(r.out, "Incorrect Usage.\n\n", 18), 0);
  assert_contains(r.err, "\"state\" requires exactly 1 argument(s)");
  result_clear(&r);

  r = RT("--nonexistent");
  assert_int_equal(r.status, 1);
  assert_string_equal(r.err, "flag provided but not defined: -nonexistent\n");
  result_clear(&r);

  r = RT("--log-format", "invalid", "state", "x");
  assert_failed_with(&r, 1, "invalid log format invalid\n");
  r = RT("--log", "/dev/null", "--log-handle", "2", "state", "x");
  assert_failed_with(&r, 1, "only one of --log and --log-handle can be passed\n");
  r = RT("--log-handle", "123456789", "state", "x");
  assert_int_equal(r.status, 1);
  assert_contains(r.err, "log handle 123456789 invalid: ");
  result_clear(&r);
  /* A minus sign or a blank before the digits is not a handle. */
  r = RT("--log-handle", "-1", "state", "x");
  assert_int_equal(r.status, 1);
  assert_contains(r.err, "invalid value \"-1\" for flag -log-handle: parse error");
  result_clear(&r);
  r = RT("--log-handle", " 12", "state", "x");
  assert_int_equal(r.status, 1);
  assert_contains(r.err, "invalid value \" 12\" for flag -log-handle: parse error");
  result_clear(&r);

  r = RT("--help");
  assert_int_equal(r.status, 0);
  assert_contains(r.out, "Open Container Initiative runtime for Windows");
  assert_contains(r.out, "--log-handle value");
  result_clear(&r);
}

static void test_logs_are_json_lines(void **state)
{
  (void)state;
  cf_autofree char *log = cf_xasprintf("%s/logs/a/b/runtime.log", server.dir);
  cf_autofree char *dir = make_bundle("logged", "sleep 1000");
  result r = RT("--debug", "--log", log, "--log-format", "json", "create", "logged", "-b", dir);
  assert_int_equal(r.status, 0);
  result_clear(&r);
  r = RT("--log", log, "create", "nonexistent");
  assert_int_equal(r.status, 1);
  assert_contains(r.err, "container id does not match bundle directory name: nonexistent");
  result_clear(&r);
  RT_OK("delete", "logged");

  cf_autofree char *text = read_text(log);
  assert_contains(text, "\"containerId\":\"logged\"");
  assert_contains(text, "\"level\":\"debug\"");
  char *save = NULL;
  size_t lines = 0;
  bool error_seen = false;
  for (char *line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
    json_t *entry = json_loads(line, 0, NULL);
    assert_non_null(entry);
    const char *time = json_string_value(json_object_get(entry, "time"));
    assert_non_null(time);
    /* 2006-01-02T15:04:05.000000000Z */
    assert_int_equal(strlen(time), 30);
    assert_int_equal(time[29], 'Z');
    assert_non_null(json_object_get(entry, "msg"));
    error_seen =
        error_seen || strcmp(json_string_value(json_object_get(entry, "level")), "error") == 0;
    json_decref(entry);
    lines++;
  }
  assert_true(lines >= 2);
  assert_true(error_seen);
}

/* ---- mounts, read-only root, hostname, shared network ---- */

static void test_bind_mounts_ro_and_rw(void **state)
{
  (void)state;
  cf_autofree char *ro_src = cf_path_join(server.dir, "ro-src");
  cf_autofree char *rw_src = cf_path_join(server.dir, "rw-src");
  assert_int_equal(cf_mkdir_p(ro_src, 0755, NULL), 0);
  assert_int_equal(cf_mkdir_p(rw_src, 0755, NULL), 0);
  cf_autofree char *sentinel = cf_path_join(ro_src, "sentinel");
  FILE *f = fopen(sentinel, "w");
  fputs("hello", f);
  fclose(f);

  cf_autofree char *dir = bundle_dir("mnt");
  json_t *config = base_config("sleep 1000");
  json_t *mounts = json_object_get(config, "mounts");
  json_array_append_new(mounts, json_pack("{s:s, s:s, s:s, s:[s,s]}", "destination", "/ro", "type",
                                          "bind", "source", ro_src, "options", "bind", "ro"));
  json_array_append_new(mounts, json_pack("{s:s, s:s, s:s, s:[s]}", "destination", "/deep/rw",
                                          "type", "bind", "source", rw_src, "options", "rbind"));
  json_object_set_new(json_array_get(mounts, json_array_size(mounts) - 1), "options",
                      json_pack("[s,s]", "bind", "rw"));
  json_array_append_new(mounts, json_pack("{s:s, s:s, s:s, s:[s]}", "destination", "/default",
                                          "type", "bind", "source", ro_src, "options", "bind"));
  write_config(dir, config);
  RT_OK("run", "-d", "-b", dir, "mnt");

  result r = RT("exec", "mnt", "cat", "/ro/sentinel");
  assert_string_equal(r.out, "hello");
  result_clear(&r);
  r = RT("exec", "mnt", "touch", "/ro/new");
  assert_int_equal(r.status, 1);
  assert_contains(r.err, "Read-only file system");
  result_clear(&r);
  /* winc: a bind mount without rw is read-only. */
  r = RT("exec", "mnt", "touch", "/default/new");
  assert_int_equal(r.status, 1);
  assert_contains(r.err, "Read-only file system");
  result_clear(&r);
  RT_OK("exec", "mnt", "sh", "-c", "echo written > /deep/rw/file");
  cf_autofree char *written_path = cf_path_join(rw_src, "file");
  cf_autofree char *written = read_text(written_path);
  assert_string_equal(written, "written\n");
  RT_OK("delete", "mnt");

  cf_autofree char *bad_dir = bundle_dir("badmnt");
  config = base_config("sleep 1000");
  json_array_append_new(json_object_get(config, "mounts"),
                        json_pack("{s:s, s:s, s:s, s:[s,s,s]}", "destination", "/x", "type", "bind",
                                  "source", ro_src, "options", "bind", "rw", "ro"));
  write_config(bad_dir, config);
  r = RT("create", "badmnt", "-b", bad_dir);
  assert_failed_with(&r, 1, "invalid mount options for container badmnt: [bind rw ro]\n");
}

static void test_readonly_root(void **state)
{
  (void)state;
  cf_autofree char *dir = bundle_dir("roroot");
  json_t *config = base_config("sleep 1000");
  json_object_set_new(json_object_get(config, "root"), "readonly", json_true());
  write_config(dir, config);
  RT_OK("run", "-d", "-b", dir, "roroot");
  result r = RT("exec", "roroot", "touch", "/newfile");
  assert_int_equal(r.status, 1);
  assert_contains(r.err, "Read-only file system");
  result_clear(&r);
  /* The mounts on top stay writable. */
  RT_OK("exec", "roroot", "touch", "/dev/shm/ok");
  RT_OK("delete", "roroot");
}

static char *net_namespace(json_int_t pid)
{
  char path[64];
  snprintf(path, sizeof(path), "/proc/%lld/ns/net", (long long)pid);
  char target[64] = "";
  ssize_t n = readlink(path, target, sizeof(target) - 1);
  assert_true(n > 0);
  target[n] = '\0';
  return cf_xstrdup(target);
}

static void test_pea_shares_network_and_goes_with_owner(void **state)
{
  (void)state;
  cf_autofree char *dir = make_bundle("sandbox", "sleep 1000");
  RT_OK("run", "-d", "-b", dir, "sandbox");
  json_t *s = state_of("sandbox");
  json_int_t sandbox_pid = json_integer_value(json_object_get(s, "pid"));
  json_decref(s);

  cf_autofree char *pea_dir = bundle_dir("pea");
  json_t *config = base_config("sleep 1000");
  cf_autofree char *netns = cf_xasprintf("/proc/%lld/ns/net", (long long)sandbox_pid);
  json_array_set_new(json_object_get(json_object_get(config, "linux"), "namespaces"), 1,
                     json_pack("{s:s, s:s}", "type", "network", "path", netns));
  write_config(pea_dir, config);
  RT_OK("run", "-d", "-b", pea_dir, "pea");
  s = state_of("pea");
  json_int_t pea_pid = json_integer_value(json_object_get(s, "pid"));
  json_decref(s);

  cf_autofree char *sandbox_net = net_namespace(sandbox_pid);
  cf_autofree char *pea_net = net_namespace(pea_pid);
  assert_string_equal(pea_net, sandbox_net);

  /* Deleting the owner deletes its sidecars first. */
  RT_OK("delete", "sandbox");
  result r = RT("state", "pea");
  assert_failed_with(&r, 1, "container not found: pea\n");
}

/* ---- concurrency ---- */

static void *lifecycle_thread(void *arg)
{
  const char *id = arg;
  cf_autofree char *dir = cf_xasprintf("%s/concurrent/%s", server.dir, id);
  result r = RT("run", "-d", "-b", dir, id);
  int failures = r.status != 0;
  if (r.status != 0) {
    fprintf(stderr, "run %s: %s", id, r.err);
  }
  result_clear(&r);
  r = RT("exec", id, "true");
  failures += r.status != 0;
  result_clear(&r);
  r = RT("delete", id);
  failures += r.status != 0;
  if (r.status != 0) {
    fprintf(stderr, "delete %s: %s", id, r.err);
  }
  result_clear(&r);
  return (void *)(intptr_t)failures;
}

static void test_concurrent_lifecycles(void **state)
{
  (void)state;
  pthread_t threads[CONCURRENT_LIFECYCLES];
  char ids[CONCURRENT_LIFECYCLES][16];
  for (int i = 0; i < CONCURRENT_LIFECYCLES; i++) {
    snprintf(ids[i], sizeof(ids[i]), "conc%d", i);
    remember_id(ids[i]);
    cf_autofree char *dir = cf_xasprintf("%s/concurrent/%s", server.dir, ids[i]);
    assert_int_equal(cf_mkdir_p(dir, 0755, NULL), 0);
    write_config(dir, base_config("sleep 1000"));
  }
  for (int i = 0; i < CONCURRENT_LIFECYCLES; i++) {
    assert_int_equal(pthread_create(&threads[i], NULL, lifecycle_thread, ids[i]), 0);
  }
  int failures = 0;
  for (int i = 0; i < CONCURRENT_LIFECYCLES; i++) {
    void *ret = NULL;
    pthread_join(threads[i], &ret);
    failures += (int)(intptr_t)ret;
  }
  assert_int_equal(failures, 0);
}

int main(void)
{
  it_require_root();
#define TEST(fn) cmocka_unit_test_setup_teardown(fn, take_snapshot, check_leaks)
  const struct CMUnitTest tests[] = {
      TEST(test_lifecycle_created_running_stopped),
      TEST(test_delete_running_container),
      TEST(test_unknown_ids),
      TEST(test_duplicate_id),
      TEST(test_bundle_validation_errors),
      TEST(test_bundle_path_forms),
      TEST(test_exec_env_cwd_user_and_exit_code),
      TEST(test_attached_run_exit_code_and_stdio),
      TEST(test_kill_list_ps),
      TEST(test_events_stats),
      TEST(test_memory_limit_oom_kill_reported),
      TEST(test_cpu_shares_and_quota_throttle),
      TEST(test_pids_limit_stops_forks),
      TEST(test_rlimits_apply_to_processes),
      TEST(test_default_container_is_hardened),
      TEST(test_user_namespace_container_is_confined),
      TEST(test_user_namespace_needs_maps),
      TEST(test_usage_errors_and_unknown_command),
      TEST(test_logs_are_json_lines),
      TEST(test_bind_mounts_ro_and_rw),
      TEST(test_readonly_root),
      TEST(test_pea_shares_network_and_goes_with_owner),
      TEST(test_concurrent_lifecycles),
  };
  return cmocka_run_group_tests(tests, setup_suite, teardown_suite);
}
