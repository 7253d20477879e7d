/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests of the runtime module: user resolution and environment rules
 * (pure), and real containers built from Debian's busybox-static, which
 * need root and skip without it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/mem.h"
#include "runtime/linux/user.h"
#include "runtime/runtime.h"
#include "testutil.h"

#define HANDLE "runtime-test"
#define WAIT_MS 10000

static const char test_passwd[] = "root:x:0:0:root:/root:/bin/sh\n"
                                  "# a comment\n"
                                  "\n"
                                  "broken:x:notanumber:0::/:/bin/sh\n"
                                  "short:x\n"
                                  "alice:x:1000:1000:Alice:/home/alice:/bin/sh\n"
                                  "bob:x:1001:1001::/home/bob:/bin/sh\n"
                                  "nohome:x:1002:1002::\n";

static const char test_group[] = "root:x:0:\n"
                                 "wheel:x:10:root\n"
                                 "alice:x:1000:\n"
                                 "bob:x:1001:\n"
                                 "devs:x:1010:alice, bob\n"
                                 "ops:x:1011:bob\n";

/* ---- user resolution and environment (pure) ---- */

static void assert_groups(const cf_user *user, size_t count, const gid_t *expected)
{
  assert_int_equal(user->group_count, count);
  for (size_t i = 0; i < count; i++) {
    assert_int_equal(user->groups[i], expected[i]);
  }
}

static void user_empty_spec_is_root(void **state)
{
  cf_user user;
  cf_err *err = NULL;
  assert_int_equal(cf_user_resolve("", test_passwd, test_group, &user, &err), 0);
  assert_int_equal(user.uid, 0);
  assert_int_equal(user.gid, 0);
  assert_string_equal(user.name, "root");
  assert_string_equal(user.home, "/root");
  assert_groups(&user, 2, (gid_t[]){0, 10});
  cf_user_free(&user);

  assert_int_equal(cf_user_resolve(NULL, test_passwd, test_group, &user, &err), 0);
  assert_int_equal(user.uid, 0);
  cf_user_free(&user);
}

static void user_name_has_member_groups(void **state)
{
  cf_user user;
  cf_err *err = NULL;
  assert_int_equal(cf_user_resolve("alice", test_passwd, test_group, &user, &err), 0);
  assert_int_equal(user.uid, 1000);
  assert_int_equal(user.gid, 1000);
  assert_string_equal(user.name, "alice");
  assert_string_equal(user.home, "/home/alice");
  assert_groups(&user, 2, (gid_t[]){1000, 1010});
  cf_user_free(&user);

  assert_int_equal(cf_user_resolve("bob", test_passwd, test_group, &user, &err), 0);
  assert_groups(&user, 3, (gid_t[]){1001, 1010, 1011});
  cf_user_free(&user);
}

static void user_uid_gid_uses_only_that_group(void **state)
{
  cf_user user;
  cf_err *err = NULL;
  assert_int_equal(cf_user_resolve("1000:1000", test_passwd, test_group, &user, &err), 0);
  assert_int_equal(user.uid, 1000);
  assert_int_equal(user.gid, 1000);
  assert_string_equal(user.name, "alice");
  assert_string_equal(user.home, "/home/alice");
  assert_groups(&user, 1, (gid_t[]){1000});
  cf_user_free(&user);
}

static void user_name_group(void **state)
{
  cf_user user;
  cf_err *err = NULL;
  assert_int_equal(cf_user_resolve("alice:devs", test_passwd, test_group, &user, &err), 0);
  assert_int_equal(user.uid, 1000);
  assert_int_equal(user.gid, 1010);
  assert_groups(&user, 1, (gid_t[]){1010});
  cf_user_free(&user);
}

static void user_uid_without_entry(void **state)
{
  cf_user user;
  cf_err *err = NULL;
  assert_int_equal(cf_user_resolve("1234", test_passwd, test_group, &user, &err), 0);
  assert_int_equal(user.uid, 1234);
  assert_int_equal(user.gid, 0);
  assert_string_equal(user.name, "1234");
  assert_string_equal(user.home, "/");
  cf_user_free(&user);

  assert_int_equal(cf_user_resolve("1000000000:1000000000", test_passwd, test_group, &user, &err),
                   0);
  assert_int_equal(user.uid, 1000000000);
  assert_int_equal(user.gid, 1000000000);
  assert_groups(&user, 1, (gid_t[]){1000000000});
  cf_user_free(&user);
}

static void user_entry_without_home(void **state)
{
  cf_user user;
  cf_err *err = NULL;
  assert_int_equal(cf_user_resolve("nohome", test_passwd, test_group, &user, &err), 0);
  assert_int_equal(user.uid, 1002);
  assert_string_equal(user.home, "/");
  cf_user_free(&user);
}

static void user_unknown_name_fails(void **state)
{
  cf_user user;
  cf_err *err = NULL;
  assert_int_equal(cf_user_resolve("invalid-user", test_passwd, test_group, &user, &err), -1);
  assert_non_null(err);
  assert_int_equal(err->code, CF_E_USER_NOT_FOUND);
  assert_string_equal(err->message,
                      "unable to find user invalid-user: no matching entries in passwd file");
  cf_err_clear(&err);

  /* Malformed lines never match. */
  assert_int_equal(cf_user_resolve("broken", test_passwd, test_group, &user, &err), -1);
  assert_int_equal(err->code, CF_E_USER_NOT_FOUND);
  cf_err_clear(&err);
  assert_int_equal(cf_user_resolve("short", test_passwd, test_group, &user, &err), -1);
  cf_err_clear(&err);
}

static void user_unknown_group_fails(void **state)
{
  cf_user user;
  cf_err *err = NULL;
  assert_int_equal(cf_user_resolve("alice:nogroup", test_passwd, test_group, &user, &err), -1);
  assert_int_equal(err->code, CF_E_USER_NOT_FOUND);
  assert_string_equal(err->message,
                      "unable to find group nogroup: no matching entries in group file");
  cf_err_clear(&err);
}

static void user_without_passwd_file(void **state)
{
  cf_user user;
  cf_err *err = NULL;
  assert_int_equal(cf_user_resolve("root", NULL, NULL, &user, &err), 0);
  assert_int_equal(user.uid, 0);
  assert_int_equal(user.gid, 0);
  assert_string_equal(user.home, "/root");
  assert_groups(&user, 1, (gid_t[]){0});
  cf_user_free(&user);

  assert_int_equal(cf_user_resolve("", "", NULL, &user, &err), 0);
  assert_string_equal(user.name, "root");
  cf_user_free(&user);

  assert_int_equal(cf_user_resolve("alice", NULL, NULL, &user, &err), -1);
  assert_int_equal(err->code, CF_E_USER_NOT_FOUND);
  cf_err_clear(&err);
}

static void user_rejects_uid_minus_one(void **state)
{
  cf_user user;
  cf_err *err = NULL;
  assert_int_equal(cf_user_resolve("4294967295", test_passwd, test_group, &user, &err), -1);
  assert_int_equal(err->code, CF_E_USER_NOT_FOUND);
  cf_err_clear(&err);
}

static void env_adds_home_user_path(void **state)
{
  cf_user root = {.uid = 0, .name = "root", .home = "/root"};
  size_t count = 0;
  char **env = cf_user_env(&root, NULL, 0, &count);
  assert_int_equal(count, 3);
  assert_null(env[3]);
  assert_string_equal(cf_env_get(env, "HOME"), "/root");
  assert_string_equal(cf_env_get(env, "USER"), "root");
  assert_string_equal(cf_env_get(env, "PATH"),
                      "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  cf_strv_free(env, count);

  cf_user alice = {.uid = 1000, .name = "alice", .home = "/home/alice"};
  env = cf_user_env(&alice, NULL, 0, &count);
  assert_string_equal(cf_env_get(env, "PATH"), "/usr/local/bin:/usr/bin:/bin");
  assert_string_equal(cf_env_get(env, "HOME"), "/home/alice");
  cf_strv_free(env, count);
}

static void env_keeps_given_values(void **state)
{
  cf_user alice = {.uid = 1000, .name = "alice", .home = "/home/alice"};
  const char *given[] = {"HOMEDIR=/x", "HOME=/custom", "FOO=bar", "PATH=/opt/bin"};
  size_t count = 0;
  char **env = cf_user_env(&alice, given, 4, &count);
  assert_int_equal(count, 5);
  assert_null(env[5]);
  assert_string_equal(env[0], "HOMEDIR=/x");
  assert_string_equal(env[1], "HOME=/custom");
  assert_string_equal(env[2], "FOO=bar");
  assert_string_equal(env[3], "PATH=/opt/bin");
  assert_string_equal(env[4], "USER=alice");
  assert_string_equal(cf_env_get(env, "HOME"), "/custom");
  assert_null(cf_env_get(env, "NOPE"));
  cf_strv_free(env, count);
}

/* ---- hostname and /proc ---- */

static void hostname_short_handle_unchanged(void **state)
{
  char out[50];
  cf_runtime_hostname("my-handle", out);
  assert_string_equal(out, "my-handle");

  const char *exact = "0123456789012345678901234567890123456789012345678";
  assert_int_equal(strlen(exact), 49);
  cf_runtime_hostname(exact, out);
  assert_string_equal(out, exact);
}

static void hostname_long_handle_keeps_tail(void **state)
{
  char out[50];
  const char *handle = "prefix-that-is-dropped-0123456789012345678901234567890123456789abcdefgh";
  cf_runtime_hostname(handle, out);
  assert_int_equal(strlen(out), 49);
  assert_string_equal(out, handle + strlen(handle) - 49);
}

static void start_time_of_self(void **state)
{
  uint64_t first = 0;
  uint64_t second = 0;
  cf_err *err = NULL;
  assert_int_equal(cf_runtime_pid_start_time(getpid(), &first, &err), 0);
  assert_int_equal(cf_runtime_pid_start_time(getpid(), &second, &err), 0);
  assert_true(first > 0);
  assert_int_equal(first, second);
}

static void start_time_of_reaped_child_fails(void **state)
{
  pid_t pid = fork();
  if (pid == 0) {
    _exit(0);
  }
  assert_true(pid > 0);
  assert_int_equal(waitpid(pid, NULL, 0), pid);
  uint64_t start_time;
  cf_err *err = NULL;
  assert_int_equal(cf_runtime_pid_start_time(pid, &start_time, &err), -1);
  assert_int_equal(err->code, CF_E_NOT_FOUND);
  cf_err_clear(&err);
}

/* ---- a busybox root filesystem ---- */

static void write_file(const char *path, const char *text, mode_t mode)
{
  cf_err *err = NULL;
  if (cf_write_file_atomic(path, text, strlen(text), mode, &err) < 0) {
    fail_msg("write %s: %s", path, err->message);
  }
}

static void make_dir_owned(const char *root, const char *rel, mode_t mode, uid_t uid, gid_t gid)
{
  cf_autofree char *path = cf_path_join(root, rel);
  cf_err *err = NULL;
  if (cf_mkdir_p(path, 0755, &err) < 0) {
    fail_msg("%s", err->message);
  }
  assert_int_equal(chmod(path, mode), 0);
  assert_int_equal(chown(path, uid, gid), 0);
}

static void copy_file(const char *from, const char *to, mode_t mode)
{
  int in = open(from, O_RDONLY | O_CLOEXEC);
  assert_true(in >= 0);
  int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  assert_true(out >= 0);
  char buf[65536];
  ssize_t n;
  while ((n = read(in, buf, sizeof(buf))) > 0) {
    assert_int_equal(write(out, buf, (size_t)n), n);
  }
  assert_int_equal(n, 0);
  close(in);
  assert_int_equal(fchmod(out, mode), 0);
  assert_int_equal(close(out), 0);
}

static void link_applets(const char *root)
{
  FILE *list = popen("/bin/busybox --list", "r");
  assert_non_null(list);
  char name[256];
  int count = 0;
  while (fgets(name, sizeof(name), list) != NULL) {
    name[strcspn(name, "\n")] = '\0';
    if (name[0] == '\0' || strcmp(name, "busybox") == 0) {
      continue;
    }
    cf_autofree char *path = cf_xasprintf("%s/bin/%s", root, name);
    assert_int_equal(symlink("busybox", path), 0);
    count++;
  }
  assert_int_equal(pclose(list), 0);
  assert_true(count > 100);
}

/* Builds a root filesystem: busybox with one link per applet in /bin, users
 * root, alice (1000) and bob (1001, home missing), a group devs listing
 * both, and /sbin/sbin-only, a script outside the non-root default PATH. */
static void build_busybox_rootfs(const char *root)
{
  const char *dirs[] = {"bin", "sbin", "usr/bin", "usr/sbin", "proc", "sys", "dev", "etc", "home"};
  for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
    make_dir_owned(root, dirs[i], 0755, 0, 0);
  }
  make_dir_owned(root, "tmp", 01777, 0, 0);
  make_dir_owned(root, "root", 0700, 0, 0);
  make_dir_owned(root, "home/alice", 0755, 1000, 1000);

  cf_autofree char *busybox = cf_path_join(root, "bin/busybox");
  copy_file("/bin/busybox", busybox, 0755);
  link_applets(root);

  cf_autofree char *sbin_only = cf_path_join(root, "sbin/sbin-only");
  write_file(sbin_only, "#!/bin/sh\necho sbin-only\n", 0755);
  cf_autofree char *passwd = cf_path_join(root, "etc/passwd");
  write_file(passwd,
             "root:x:0:0:root:/root:/bin/sh\n"
             "alice:x:1000:1000:Alice:/home/alice:/bin/sh\n"
             "bob:x:1001:1001::/home/bob:/bin/sh\n",
             0644);
  cf_autofree char *group = cf_path_join(root, "etc/group");
  write_file(group,
             "root:x:0:\nwheel:x:10:root\nalice:x:1000:\nbob:x:1001:\ndevs:x:1010:alice,bob\n",
             0644);
  cf_autofree char *order = cf_path_join(root, "order");
  write_file(order, "base\n", 0644);
}

/* ---- containers ---- */

typedef struct container {
  char *dir; /* everything lives under this temporary directory */
  char *lower[2];
  char *upper;
  char *work;
  char *target;
  cf_container_init init;
} container;

/* Containers not yet destroyed, so that main() can kill what a failed
 * test left behind. */
static container *live[16];

static void track(container *c, bool alive)
{
  for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++) {
    if (alive && live[i] == NULL) {
      live[i] = c;
      return;
    }
    if (!alive && live[i] == c) {
      live[i] = NULL;
      return;
    }
  }
}

/* Kills the containers of failed tests and reaps every child. */
static void kill_leftovers(void)
{
  for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++) {
    if (live[i] != NULL) {
      kill(live[i]->init.pid, SIGKILL);
    }
  }
  while (waitpid(-1, NULL, __WALL) > 0) {
  }
  for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++) {
    if (live[i] != NULL) {
      cf_test_rmdir(live[i]->dir);
    }
  }
}

/* Prepares a base busybox layer and a top layer whose name needs escaping
 * in overlay options, and whose /order shadows the base's. */
static container *container_prepare(void)
{
  container *c = cf_xcalloc(1, sizeof(*c));
  c->dir = cf_test_tmpdir("runtime");
  track(c, true);
  c->lower[0] = cf_path_join(c->dir, "base");
  c->lower[1] = cf_path_join(c->dir, "top:layer,1");
  c->upper = cf_path_join(c->dir, "upper");
  c->work = cf_path_join(c->dir, "work");
  c->target = cf_path_join(c->dir, "rootfs");
  const char *dirs[] = {c->lower[0], c->lower[1], c->upper, c->work, c->target};
  for (size_t i = 0; i < 5; i++) {
    assert_int_equal(mkdir(dirs[i], 0755), 0);
  }
  build_busybox_rootfs(c->lower[0]);
  cf_autofree char *order = cf_path_join(c->lower[1], "order");
  write_file(order, "top\n", 0644);
  return c;
}

static cf_container_spec container_spec(container *c, const char *handle)
{
  return (cf_container_spec){
      .handle = handle,
      .rootfs = {.lower_dirs = (const char *const *)c->lower,
                 .lower_count = 2,
                 .upper_dir = c->upper,
                 .work_dir = c->work,
                 .target = c->target},
  };
}

static container *container_start(const char *handle)
{
  container *c = container_prepare();
  cf_container_spec spec = container_spec(c, handle);
  cf_err *err = NULL;
  if (cf_runtime_container_create(&spec, &c->init, &err) < 0) {
    fail_msg("create container: %s", err->message);
  }
  return c;
}

static void container_free(container *c)
{
  track(c, false);
  cf_test_rmdir(c->dir);
  free(c->dir);
  free(c->lower[0]);
  free(c->lower[1]);
  free(c->upper);
  free(c->work);
  free(c->target);
  free(c);
}

static void container_stop(container *c)
{
  cf_err *err = NULL;
  if (cf_runtime_container_destroy(&c->init, &err) < 0) {
    fail_msg("destroy container: %s", err->message);
  }
  container_free(c);
}

/* True when a line of this process's mountinfo names path. */
static bool mountinfo_mentions(const char *path)
{
  cf_buf buf;
  cf_buf_init(&buf, 16 * 1024 * 1024);
  cf_err *err = NULL;
  assert_int_equal(cf_read_file("/proc/self/mountinfo", &buf, &err), 0);
  bool found = strstr(buf.data, path) != NULL;
  cf_buf_free(&buf);
  return found;
}

/* ---- running processes ---- */

typedef struct run_result {
  cf_buf out;
  cf_buf err;
  int status;
} run_result;

static void append_from(int *fd, cf_buf *buf)
{
  char chunk[4096];
  ssize_t n = read(*fd, chunk, sizeof(chunk));
  assert_true(n >= 0);
  if (n == 0) {
    close(*fd);
    *fd = -1;
    return;
  }
  cf_err *err = NULL;
  assert_int_equal(cf_buf_append(buf, chunk, (size_t)n, &err), 0);
}

/* Reads stdout and stderr of p until both reach end of file. */
static void collect_output(cf_process *p, run_result *r)
{
  cf_err *err = NULL;
  cf_buf_init(&r->out, 1 << 20);
  cf_buf_init(&r->err, 1 << 20);
  /* Allocates, so data is "" and not NULL without output. */
  assert_int_equal(cf_buf_append_str(&r->out, "", &err), 0);
  assert_int_equal(cf_buf_append_str(&r->err, "", &err), 0);
  while (p->stdout_fd >= 0 || p->stderr_fd >= 0) {
    struct pollfd fds[2] = {{.fd = p->stdout_fd, .events = POLLIN},
                            {.fd = p->stderr_fd, .events = POLLIN}};
    int n = poll(fds, 2, WAIT_MS);
    assert_true(n > 0);
    if (fds[0].revents != 0) {
      append_from(&p->stdout_fd, &r->out);
    }
    if (fds[1].revents != 0) {
      append_from(&p->stderr_fd, &r->err);
    }
  }
}

/* Waits until p has exited and returns its exit status. */
static int wait_status(cf_process *p)
{
  struct pollfd pfd = {.fd = p->pidfd, .events = POLLIN};
  assert_int_equal(poll(&pfd, 1, WAIT_MS), 1);
  bool exited = false;
  int status = -1;
  cf_err *err = NULL;
  assert_int_equal(cf_runtime_process_wait(p, &exited, &status, &err), 0);
  assert_true(exited);
  return status;
}

static void run_spec(container *c, const cf_process_spec *spec, const char *input, run_result *r)
{
  cf_process p;
  cf_err *err = NULL;
  if (cf_runtime_exec(&c->init, spec, &p, &err) < 0) {
    fail_msg("exec %s: %s", spec->path, err->message);
  }
  if (input != NULL) {
    assert_int_equal(write(p.stdin_fd, input, strlen(input)), (ssize_t)strlen(input));
  }
  cf_closep(&p.stdin_fd);
  collect_output(&p, r);
  r->status = wait_status(&p);
  cf_process_close(&p);
}

/* Runs `sh -c script` as user (NULL for root). */
static void run_sh(container *c, const char *user, const char *script, run_result *r)
{
  const char *args[] = {"-c", script};
  cf_process_spec spec = {.path = "sh", .args = args, .arg_count = 2, .user = user};
  run_spec(c, &spec, NULL, r);
}

static void result_free(run_result *r)
{
  cf_buf_free(&r->out);
  cf_buf_free(&r->err);
}

/* Runs script and checks its stdout and a zero exit status. */
static void assert_sh_output(container *c, const char *user, const char *script,
                             const char *expected)
{
  run_result r;
  run_sh(c, user, script, &r);
  assert_string_equal(r.err.data, "");
  assert_string_equal(r.out.data, expected);
  assert_int_equal(r.status, 0);
  result_free(&r);
}

static void assert_exec_fails(container *c, const cf_process_spec *spec, enum cf_code code,
                              const char *message)
{
  cf_process p;
  cf_err *err = NULL;
  assert_int_equal(cf_runtime_exec(&c->init, spec, &p, &err), -1);
  assert_non_null(err);
  assert_string_equal(err->message, message);
  assert_int_equal(err->code, code);
  cf_err_clear(&err);
}

/* Pids of this process's children, from /proc; returns how many. */
static size_t list_children(pid_t *pids, size_t max)
{
  DIR *proc = opendir("/proc");
  assert_non_null(proc);
  size_t n = 0;
  struct dirent *entry;
  while ((entry = readdir(proc)) != NULL) {
    pid_t pid = (pid_t)atoi(entry->d_name);
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = pid > 0 ? fopen(path, "r") : NULL;
    if (f == NULL) {
      continue;
    }
    char line[2048] = "";
    if (fgets(line, sizeof(line), f) != NULL) {
      char *p = strrchr(line, ')');
      int ppid = 0;
      if (p != NULL && sscanf(p + 2, "%*c %d", &ppid) == 1 && ppid == getpid() && n < max) {
        pids[n++] = pid;
      }
    }
    fclose(f);
  }
  closedir(proc);
  return n;
}

static const char *const namespace_types[] = {"mnt", "pid", "net", "uts", "ipc"};
#define NAMESPACE_COUNT 5

static void read_namespaces(pid_t pid, char ids[NAMESPACE_COUNT][64])
{
  for (size_t i = 0; i < NAMESPACE_COUNT; i++) {
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, namespace_types[i]);
    ssize_t n = readlink(path, ids[i], 63);
    assert_true(n > 0);
    ids[i][n] = '\0';
  }
}

/* True when any process on the host is in one of the namespaces ids. */
static bool namespaces_in_use(char ids[NAMESPACE_COUNT][64])
{
  DIR *proc = opendir("/proc");
  assert_non_null(proc);
  bool found = false;
  struct dirent *entry;
  while (!found && (entry = readdir(proc)) != NULL) {
    int pid = atoi(entry->d_name);
    for (size_t i = 0; pid > 0 && i < NAMESPACE_COUNT; i++) {
      char path[64];
      char id[64];
      snprintf(path, sizeof(path), "/proc/%d/ns/%s", pid, namespace_types[i]);
      ssize_t n = readlink(path, id, sizeof(id) - 1);
      if (n > 0) {
        id[n] = '\0';
        found = found || strcmp(id, ids[i]) == 0;
      }
    }
  }
  closedir(proc);
  return found;
}

/* ---- container lifecycle (each test has its own container) ---- */

static void skip_unless_root(void)
{
  if (!cf_test_is_root()) {
    skip();
  }
}

typedef struct destroy_call {
  cf_container_init init;
  int rc;
  char message[512];
} destroy_call;

static void *destroy_thread(void *arg)
{
  destroy_call *call = arg;
  cf_err *err = NULL;
  call->rc = cf_runtime_container_destroy(&call->init, &err);
  if (err != NULL) {
    snprintf(call->message, sizeof(call->message), "%s", err->message);
    cf_err_free(err);
  }
  return NULL;
}

static void destroy_cleans_up_everything(void **state)
{
  skip_unless_root();
  container *c = container_prepare();
  assert_false(mountinfo_mentions(c->dir));
  cf_container_spec spec = container_spec(c, HANDLE);
  cf_err *err = NULL;
  if (cf_runtime_container_create(&spec, &c->init, &err) < 0) {
    fail_msg("create container: %s", err->message);
  }
  assert_true(cf_runtime_container_alive(&c->init));
  assert_false(mountinfo_mentions(c->dir));

  char ids[NAMESPACE_COUNT][64];
  char own[NAMESPACE_COUNT][64];
  read_namespaces(c->init.pid, ids);
  read_namespaces(getpid(), own);
  for (size_t i = 0; i < NAMESPACE_COUNT; i++) {
    assert_string_not_equal(ids[i], own[i]);
  }

  const char *args[] = {"1000"};
  cf_process_spec sleep_spec = {.path = "sleep", .args = args, .arg_count = 1};
  cf_process p;
  assert_int_equal(cf_runtime_exec(&c->init, &sleep_spec, &p, &err), 0);

  /* The kernel keeps the init until the caller reaps the sleep, so destroy
   * runs in another thread while this one reaps, as the server's reaper
   * does. */
  destroy_call call = {.init = c->init, .rc = -2};
  pthread_t thread;
  assert_int_equal(pthread_create(&thread, NULL, destroy_thread, &call), 0);
  assert_int_equal(wait_status(&p), 128 + SIGKILL);
  cf_process_close(&p);
  assert_int_equal(pthread_join(thread, NULL), 0);
  assert_string_equal(call.message, "");
  assert_int_equal(call.rc, 0);

  assert_false(cf_runtime_container_alive(&c->init));
  assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
  assert_int_equal(errno, ECHILD);
  assert_false(namespaces_in_use(ids));
  assert_false(mountinfo_mentions(c->dir));
  assert_int_equal(cf_runtime_container_destroy(&c->init, &err), 0);

  assert_int_equal(cf_runtime_exec(&c->init, &sleep_spec, &p, &err), -1);
  assert_int_equal(err->code, CF_E_NOT_FOUND);
  cf_err_clear(&err);
  container_free(c);
}

static void destroy_checks_start_time(void **state)
{
  skip_unless_root();
  container *c = container_start(HANDLE);
  cf_container_init wrong = {.pid = c->init.pid, .start_time = c->init.start_time + 1};
  cf_err *err = NULL;
  assert_false(cf_runtime_container_alive(&wrong));
  assert_int_equal(cf_runtime_container_destroy(&wrong, &err), 0);
  assert_true(cf_runtime_container_alive(&c->init));
  container_stop(c);
}

static void sweep_destroys_unkept_inits(void **state)
{
  skip_unless_root();
  container *c = container_start(HANDLE);
  size_t destroyed = 99;
  cf_err *err = NULL;

  /* A prefix that is not the container's directory finds nothing. */
  cf_autofree char *elsewhere = cf_xasprintf("%s-other", c->dir);
  assert_int_equal(cf_runtime_sweep_inits(elsewhere, NULL, 0, &destroyed, &err), 0);
  assert_int_equal(destroyed, 0);
  assert_true(cf_runtime_container_alive(&c->init));

  /* A kept init stays. */
  assert_int_equal(cf_runtime_sweep_inits(c->dir, &c->init.pid, 1, &destroyed, &err), 0);
  assert_int_equal(destroyed, 0);
  assert_true(cf_runtime_container_alive(&c->init));

  /* An init no record keeps is destroyed, as after a crash. */
  assert_int_equal(cf_runtime_sweep_inits(c->dir, NULL, 0, &destroyed, &err), 0);
  assert_int_equal(destroyed, 1);
  assert_false(cf_runtime_container_alive(&c->init));
  container_free(c);
}

static void create_fails_for_missing_lower(void **state)
{
  skip_unless_root();
  container *c = container_prepare();
  cf_autofree char *missing = cf_path_join(c->dir, "no-such-layer");
  free(c->lower[1]);
  c->lower[1] = cf_xstrdup(missing);
  cf_container_spec spec = container_spec(c, HANDLE);
  cf_container_init init = {0};
  cf_err *err = NULL;
  assert_int_equal(cf_runtime_container_create(&spec, &init, &err), -1);
  assert_non_null(err);
  assert_int_equal(err->code, CF_E_SYSTEM);
  cf_autofree char *expected = cf_xasprintf("mount overlay on %s: ", c->target);
  assert_true(strncmp(err->message, expected, strlen(expected)) == 0);
  cf_err_clear(&err);

  pid_t children[8];
  assert_int_equal(list_children(children, 8), 0);
  assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
  assert_false(mountinfo_mentions(c->dir));
  container_free(c);
}

static void create_fails_for_symlinked_mount_point(void **state)
{
  skip_unless_root();
  container *c = container_prepare();
  cf_autofree char *proc = cf_path_join(c->lower[1], "proc");
  assert_int_equal(symlink("/tmp", proc), 0);
  cf_container_spec spec = container_spec(c, HANDLE);
  cf_container_init init = {0};
  cf_err *err = NULL;
  assert_int_equal(cf_runtime_container_create(&spec, &init, &err), -1);
  cf_autofree char *expected = cf_xasprintf("mount point %s/proc: Not a directory", c->target);
  assert_string_equal(err->message, expected);
  cf_err_clear(&err);
  assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
  assert_false(mountinfo_mentions(c->dir));
  container_free(c);
}

static void create_rejects_invalid_spec(void **state)
{
  container c = {.lower = {"/lower", NULL}, .upper = "/upper", .work = "/work", .target = "/t"};
  cf_container_spec spec = container_spec(&c, HANDLE);
  spec.rootfs.lower_count = 1;
  cf_container_init init;
  cf_err *err = NULL;

  spec.hostname = "a-hostname-that-is-longer-than-sixty-four-bytes-which-the-kernel-rejects";
  assert_int_equal(cf_runtime_container_create(&spec, &init, &err), -1);
  assert_int_equal(err->code, CF_E_INVALID);
  cf_err_clear(&err);
  spec.hostname = NULL;

  spec.rootfs.upper_dir = "relative/upper";
  assert_int_equal(cf_runtime_container_create(&spec, &init, &err), -1);
  assert_string_equal(err->message, "upper layer relative/upper is not an absolute path");
  cf_err_clear(&err);
  spec.rootfs.upper_dir = "/upper";

  /* Without lower layers the target is a plain root directory. */
  const char *target = spec.rootfs.target;
  spec.rootfs.lower_count = 0;
  spec.rootfs.target = "relative/root";
  assert_int_equal(cf_runtime_container_create(&spec, &init, &err), -1);
  assert_string_equal(err->message, "root filesystem target relative/root is not an absolute path");
  cf_err_clear(&err);
  spec.rootfs.target = target;

  spec.rootfs.lower_count = 1;
  spec.handle = "bad/handle";
  assert_int_equal(cf_runtime_container_create(&spec, &init, &err), -1);
  assert_int_equal(err->code, CF_E_INVALID);
  cf_err_clear(&err);
  spec.handle = HANDLE;

  /* Too many options for mount(2), and a path too long for fsconfig(). */
  enum { LAYERS = 20 };
  char *lower[LAYERS];
  for (int i = 0; i < LAYERS; i++) {
    lower[i] = cf_xasprintf("/layers/%02d-%0250d", i, 0);
  }
  spec.rootfs.lower_dirs = (const char *const *)lower;
  spec.rootfs.lower_count = LAYERS;
  assert_int_equal(cf_runtime_container_create(&spec, &init, &err), -1);
  assert_int_equal(err->code, CF_E_INVALID);
  cf_autofree char *expected = cf_xasprintf("layer path %s is longer than 255 bytes", lower[19]);
  assert_true(strncmp(err->message, expected, strlen(expected)) == 0);
  cf_err_clear(&err);
  for (int i = 0; i < LAYERS; i++) {
    free(lower[i]);
  }
}

/* Forty layers with long names need more than the page of options that
 * mount(2) accepts, so the overlay is built with fsconfig(). */
static void create_with_many_layers(void **state)
{
  skip_unless_root();
  container *c = container_prepare();
  enum { LAYERS = 40 };
  char *lower[LAYERS];
  lower[0] = cf_xstrdup(c->lower[0]);
  for (int i = 1; i < LAYERS; i++) {
    lower[i] = cf_xasprintf("%s/layer-%02d-%0120d", c->dir, i, 0);
    assert_int_equal(mkdir(lower[i], 0755), 0);
    cf_autofree char *order = cf_path_join(lower[i], "order");
    cf_autofree char *text = cf_xasprintf("layer %d\n", i);
    write_file(order, text, 0644);
  }
  cf_container_spec spec = container_spec(c, HANDLE);
  spec.rootfs.lower_dirs = (const char *const *)lower;
  spec.rootfs.lower_count = LAYERS;
  cf_err *err = NULL;
  if (cf_runtime_container_create(&spec, &c->init, &err) < 0) {
    fail_msg("create container: %s", err->message);
  }
  assert_sh_output(c, NULL, "cat /order; cat /bin/busybox >/dev/null && echo ok", "layer 39\nok\n");
  for (int i = 0; i < LAYERS; i++) {
    free(lower[i]);
  }
  container_stop(c);
}

static void create_long_handle_hostname(void **state)
{
  skip_unless_root();
  const char *handle = "a-handle-longer-than-forty-nine-characters-0123456789-tail";
  container *c = container_start(handle);
  cf_autofree char *expected = cf_xasprintf("%s\n", handle + strlen(handle) - 49);
  assert_sh_output(c, NULL, "hostname", expected);
  container_stop(c);
}

/* ---- processes in one shared container ---- */

static int shared_setup(void **state)
{
  *state = cf_test_is_root() ? container_start(HANDLE) : NULL;
  return 0;
}

static int shared_teardown(void **state)
{
  if (*state != NULL) {
    container_stop(*state);
  }
  return 0;
}

static container *shared(void **state)
{
  skip_unless_root();
  assert_non_null(*state);
  return *state;
}

static void exec_echo_hello(void **state)
{
  container *c = shared(state);
  const char *args[] = {"hello"};
  cf_process_spec spec = {.path = "echo", .args = args, .arg_count = 1};
  run_result r;
  run_spec(c, &spec, NULL, &r);
  assert_string_equal(r.out.data, "hello\n");
  assert_string_equal(r.err.data, "");
  assert_int_equal(r.status, 0);
  result_free(&r);
}

static void exec_stderr_and_exit_code(void **state)
{
  container *c = shared(state);
  run_result r;
  run_sh(c, NULL, "echo err >&2; exit 42", &r);
  assert_string_equal(r.out.data, "");
  assert_string_equal(r.err.data, "err\n");
  assert_int_equal(r.status, 42);
  result_free(&r);
}

static void exec_killed_by_sigkill(void **state)
{
  container *c = shared(state);
  run_result r;
  run_sh(c, NULL, "kill -9 $$", &r);
  assert_int_equal(r.status, 137);
  result_free(&r);
}

static void exec_sigterm_gives_143(void **state)
{
  container *c = shared(state);
  const char *args[] = {"100"};
  cf_process_spec spec = {.path = "sleep", .args = args, .arg_count = 1};
  cf_process p;
  cf_err *err = NULL;
  assert_int_equal(cf_runtime_exec(&c->init, &spec, &p, &err), 0);
  bool exited = true;
  int status;
  assert_int_equal(cf_runtime_process_wait(&p, &exited, &status, &err), 0);
  assert_false(exited);
  assert_int_equal(cf_runtime_process_signal(&p, SIGTERM, &err), 0);
  assert_int_equal(wait_status(&p), 143);
  /* Signalling and waiting again after the reap. */
  assert_int_equal(cf_runtime_process_signal(&p, SIGTERM, &err), 0);
  assert_int_equal(cf_runtime_process_wait(&p, &exited, &status, &err), -1);
  assert_int_equal(err->code, CF_E_NOT_FOUND);
  cf_err_clear(&err);
  cf_process_close(&p);
  assert_int_equal(p.pidfd, -1);
  assert_int_equal(p.stdout_fd, -1);
}

static void exec_resets_signals(void **state)
{
  container *c = shared(state);
  struct sigaction ignore = {.sa_handler = SIG_IGN};
  struct sigaction old_pipe;
  struct sigaction old_hup;
  sigset_t block;
  sigset_t old_mask;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR1);
  assert_int_equal(sigaction(SIGPIPE, &ignore, &old_pipe), 0);
  assert_int_equal(sigaction(SIGHUP, &ignore, &old_hup), 0);
  assert_int_equal(pthread_sigmask(SIG_BLOCK, &block, &old_mask), 0);

  const char *args[] = {"-E", "^Sig(Blk|Ign)", "/proc/self/status"};
  cf_process_spec spec = {.path = "grep", .args = args, .arg_count = 3};
  run_result r;
  run_spec(c, &spec, NULL, &r);

  sigaction(SIGPIPE, &old_pipe, NULL);
  sigaction(SIGHUP, &old_hup, NULL);
  pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
  assert_string_equal(r.out.data, "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");
  result_free(&r);
}

static void exec_hostname_is_handle(void **state)
{
  assert_sh_output(shared(state), NULL, "hostname", HANDLE "\n");
}

static void exec_pid_one_is_init(void **state)
{
  container *c = shared(state);
  assert_sh_output(c, NULL, "cat /proc/1/comm", "cfwin-init\n");
  run_result r;
  run_sh(c, NULL, "cat /proc/1/cmdline", &r);
  assert_int_equal(r.out.len, sizeof("cfwin-init"));
  assert_memory_equal(r.out.data, "cfwin-init", sizeof("cfwin-init"));
  result_free(&r);

  run_sh(c, NULL, "echo $$", &r);
  int pid = atoi(r.out.data);
  assert_true(pid > 1);
  assert_true(pid != c->init.pid);
  result_free(&r);

  /* Only the init and ps itself are in the pid namespace. */
  const char *args[] = {"-o", "pid,comm"};
  cf_process_spec ps = {.path = "ps", .args = args, .arg_count = 2};
  run_spec(c, &ps, NULL, &r);
  const char *expected = "PID   COMMAND\n    1 cfwin-init\n";
  assert_true(strncmp(r.out.data, expected, strlen(expected)) == 0);
  const char *last = r.out.data + strlen(expected);
  assert_int_equal(strcspn(last, "\n") + 1, strlen(last));
  assert_string_equal(last + strlen(last) - 4, " ps\n");
  result_free(&r);
}

static void exec_as_users(void **state)
{
  container *c = shared(state);
  assert_sh_output(c, NULL, "id", "uid=0(root) gid=0(root) groups=0(root),10(wheel)\n");
  assert_sh_output(c, "alice", "id",
                   "uid=1000(alice) gid=1000(alice) groups=1000(alice),1010(devs)\n");
  assert_sh_output(c, "1000:1000", "id", "uid=1000(alice) gid=1000(alice) groups=1000(alice)\n");
  assert_sh_output(c, "alice:devs", "id", "uid=1000(alice) gid=1010(devs) groups=1010(devs)\n");
  assert_sh_output(c, "1234:5678", "id -u; id -g; pwd", "1234\n5678\n/\n");
}

static void exec_unknown_user_fails(void **state)
{
  cf_process_spec spec = {.path = "id", .user = "invalid-user"};
  assert_exec_fails(shared(state), &spec, CF_E_USER_NOT_FOUND,
                    "unable to find user invalid-user: no matching entries in passwd file");
}

static void exec_missing_executable_fails(void **state)
{
  container *c = shared(state);
  cf_process_spec spec = {.path = "no-such-program"};
  assert_exec_fails(c, &spec, CF_E_EXEC_NOT_FOUND,
                    "exec: \"no-such-program\": executable file not found in $PATH");
  spec.path = "/bin/no-such-program";
  assert_exec_fails(c, &spec, CF_E_EXEC_NOT_FOUND,
                    "exec: \"/bin/no-such-program\": stat /bin/no-such-program: no such file or "
                    "directory");
  /* The default PATH of a non-root user has no sbin directory. */
  spec.path = "sbin-only";
  spec.user = "alice";
  assert_exec_fails(c, &spec, CF_E_EXEC_NOT_FOUND,
                    "exec: \"sbin-only\": executable file not found in $PATH");
  spec.user = NULL;
  run_result r;
  run_spec(c, &spec, NULL, &r);
  assert_string_equal(r.out.data, "sbin-only\n");
  assert_int_equal(r.status, 0);
  result_free(&r);
}

static void exec_dir_defaults_to_home(void **state)
{
  container *c = shared(state);
  assert_sh_output(c, NULL, "pwd", "/root\n");
  assert_sh_output(c, "alice", "pwd", "/home/alice\n");
}

static void exec_creates_missing_dir(void **state)
{
  container *c = shared(state);
  const char *args[] = {"-c", "pwd; touch file"};
  cf_process_spec spec = {
      .path = "sh", .args = args, .arg_count = 2, .user = "alice", .dir = "/tmp/made/deep"};
  run_result r;
  run_spec(c, &spec, NULL, &r);
  assert_string_equal(r.err.data, "");
  assert_string_equal(r.out.data, "/tmp/made/deep\n");
  assert_int_equal(r.status, 0);
  result_free(&r);
  assert_sh_output(c, NULL, "stat -c '%u:%g %a' /tmp/made /tmp/made/deep /tmp/made/deep/file",
                   "1000:1000 755\n1000:1000 755\n1000:1000 644\n");

  /* bob's home is missing from the image. */
  assert_sh_output(c, "bob", "pwd", "/home/bob\n");
  assert_sh_output(c, NULL, "stat -c '%u:%g' /home/bob", "1001:1001\n");
}

/* The exec succeeds, and the process reports the closed directory on its
 * stderr and exits with status 1 without running pwd. */
static void exec_dir_permission_denied(void **state)
{
  cf_process_spec spec = {.path = "pwd", .user = "alice", .dir = "/root"};
  run_result r;
  run_spec(shared(state), &spec, NULL, &r);
  assert_string_equal(r.out.data, "");
  assert_string_equal(r.err.data, "cfwin: enter working directory /root: Permission denied\n");
  assert_int_equal(r.status, 1);
  result_free(&r);
}

static void exec_env_defaults(void **state)
{
  container *c = shared(state);
  assert_sh_output(c, "alice", "env | grep -E '^(HOME|USER|PATH)=' | sort",
                   "HOME=/home/alice\nPATH=/usr/local/bin:/usr/bin:/bin\nUSER=alice\n");
  assert_sh_output(c, NULL, "env | grep -E '^(HOME|USER|PATH)=' | sort",
                   "HOME=/root\n"
                   "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
                   "USER=root\n");

  const char *args[] = {"-c", "env | sort"};
  const char *env[] = {"HOME=/custom", "FOO=bar baz"};
  cf_process_spec spec = {
      .path = "sh", .args = args, .arg_count = 2, .env = env, .env_count = 2, .user = "alice"};
  run_result r;
  run_spec(c, &spec, NULL, &r);
  /* busybox sh adds PWD and SHLVL. */
  assert_string_equal(r.out.data, "FOO=bar baz\nHOME=/custom\nPATH=/usr/local/bin:/usr/bin:/bin\n"
                                  "PWD=/home/alice\nSHLVL=1\nUSER=alice\n");
  result_free(&r);
}

static void exec_relays_stdin(void **state)
{
  container *c = shared(state);
  cf_process_spec spec = {.path = "cat"};
  run_result r;
  run_spec(c, &spec, "some input\nsecond line\n", &r);
  assert_string_equal(r.out.data, "some input\nsecond line\n");
  assert_int_equal(r.status, 0);
  result_free(&r);
}

static void exec_leaks_no_descriptors(void **state)
{
  container *c = shared(state);
  int leaked = open("/dev/null", O_RDONLY); /* deliberately not close-on-exec */
  assert_true(leaked >= 0);
  assert_sh_output(c, NULL, "ls /proc/self/fd", "0\n1\n2\n3\n");
  close(leaked);
}

/* A daemon may run with its standard streams closed; then the pipes of a
 * process get descriptors 0 to 2 in the caller. */
static void exec_with_caller_stdio_closed(void **state)
{
  container *c = shared(state);
  int saved[3];
  for (int i = 0; i < 3; i++) {
    saved[i] = fcntl(i, F_DUPFD_CLOEXEC, 10);
    assert_true(saved[i] >= 0);
  }
  fflush(stdout);
  fflush(stderr);
  for (int i = 0; i < 3; i++) {
    close(i);
  }
  run_result r;
  const char *args[] = {"-c", "read line; echo \"out $line\"; echo err >&2"};
  cf_process_spec spec = {.path = "sh", .args = args, .arg_count = 2};
  run_spec(c, &spec, "in\n", &r);
  for (int i = 0; i < 3; i++) {
    assert_int_equal(dup2(saved[i], i), i);
    close(saved[i]);
  }
  assert_string_equal(r.out.data, "out in\n");
  assert_string_equal(r.err.data, "err\n");
  assert_int_equal(r.status, 0);
  result_free(&r);
}

static void exec_sees_container_mounts(void **state)
{
  container *c = shared(state);
  /* The default hardening masks and write-protects /proc and /sys entries
   * after these; which ones exist depends on the kernel. */
  assert_sh_output(c, NULL, "cut -d' ' -f1-3 /proc/mounts | head -n 12",
                   "overlay / overlay\n"
                   "proc /proc proc\n"
                   "tmpfs /dev tmpfs\n"
                   "devtmpfs /dev/null devtmpfs\n"
                   "devtmpfs /dev/zero devtmpfs\n"
                   "devtmpfs /dev/full devtmpfs\n"
                   "devtmpfs /dev/random devtmpfs\n"
                   "devtmpfs /dev/urandom devtmpfs\n"
                   "devtmpfs /dev/tty devtmpfs\n"
                   "devpts /dev/pts devpts\n"
                   "tmpfs /dev/shm tmpfs\n"
                   "sysfs /sys sysfs\n");
  assert_sh_output(c, NULL, "grep -c '^sysfs /sys sysfs ro,' /proc/mounts", "1\n");
  assert_sh_output(c, NULL, "grep -c '^proc /proc/sys proc ro,' /proc/mounts", "1\n");
  assert_sh_output(c, NULL, "touch /sys/x 2>/dev/null || echo read-only", "read-only\n");
  assert_sh_output(c, NULL, "cat /order", "top\n");
  assert_false(mountinfo_mentions(c->dir));
}

static void exec_sees_dev(void **state)
{
  container *c = shared(state);
  assert_sh_output(c, NULL, "ls /dev",
                   "fd\nfull\nnull\nptmx\npts\nrandom\nshm\nstderr\nstdin\nstdout\ntty\nurandom\n"
                   "zero\n");
  assert_sh_output(c, NULL, "for l in ptmx fd stdin stdout stderr; do readlink /dev/$l; done",
                   "pts/ptmx\n/proc/self/fd\n/proc/self/fd/0\n/proc/self/fd/1\n/proc/self/fd/2\n");
  assert_sh_output(c, NULL, "head -c 5 /dev/zero | wc -c; echo x >/dev/null && echo ok", "5\nok\n");
  assert_sh_output(c, NULL, "stat -c '%a' /dev /dev/shm /dev/pts/ptmx", "755\n1777\n666\n");
}

static void exec_loopback_only(void **state)
{
  container *c = shared(state);
  assert_sh_output(c, NULL, "ls /sys/class/net", "lo\n");
  /* 0x9 is IFF_UP | IFF_LOOPBACK; a loopback that is down reads 0x8. */
  assert_sh_output(c, NULL, "cat /sys/class/net/lo/flags", "0x9\n");
}

enum { CONCURRENT_EXECS = 50 };

typedef struct exec_call {
  container *c;
  pthread_barrier_t *start;
  int index;
  int status;
  char out[64];
  char error[512];
} exec_call;

static void *exec_thread(void *arg)
{
  exec_call *call = arg;
  char script[64];
  snprintf(script, sizeof(script), "echo process %d", call->index);
  const char *args[] = {"-c", script};
  cf_process_spec spec = {.path = "sh", .args = args, .arg_count = 2};
  pthread_barrier_wait(call->start);
  cf_process p;
  cf_err *err = NULL;
  if (cf_runtime_exec(&call->c->init, &spec, &p, &err) < 0) {
    snprintf(call->error, sizeof(call->error), "%s", err->message);
    cf_err_free(err);
    return NULL;
  }
  close(p.stdin_fd);
  ssize_t n = read(p.stdout_fd, call->out, sizeof(call->out) - 1);
  call->out[n > 0 ? n : 0] = '\0';
  struct pollfd pfd = {.fd = p.pidfd, .events = POLLIN};
  bool exited = false;
  if (poll(&pfd, 1, WAIT_MS) == 1 &&
      cf_runtime_process_wait(&p, &exited, &call->status, &err) < 0) {
    cf_err_free(err);
  }
  if (!exited) {
    snprintf(call->error, sizeof(call->error), "process %d did not exit", (int)p.pid);
  }
  p.stdin_fd = -1;
  cf_process_close(&p);
  return NULL;
}

static void exec_concurrently(void **state)
{
  container *c = shared(state);
  pthread_barrier_t start;
  pthread_barrier_init(&start, NULL, CONCURRENT_EXECS);
  exec_call calls[CONCURRENT_EXECS];
  pthread_t threads[CONCURRENT_EXECS];
  for (int i = 0; i < CONCURRENT_EXECS; i++) {
    calls[i] = (exec_call){.c = c, .start = &start, .index = i, .status = -1};
    assert_int_equal(pthread_create(&threads[i], NULL, exec_thread, &calls[i]), 0);
  }
  for (int i = 0; i < CONCURRENT_EXECS; i++) {
    assert_int_equal(pthread_join(threads[i], NULL), 0);
  }
  pthread_barrier_destroy(&start);
  for (int i = 0; i < CONCURRENT_EXECS; i++) {
    char expected[64];
    snprintf(expected, sizeof(expected), "process %d\n", i);
    assert_string_equal(calls[i].error, "");
    assert_string_equal(calls[i].out, expected);
    assert_int_equal(calls[i].status, 0);
  }
  pid_t children[8];
  assert_int_equal(list_children(children, 8), 1);
  assert_int_equal(children[0], c->init.pid);
}

int main(void)
{
  const struct CMUnitTest pure[] = {
      cmocka_unit_test(user_empty_spec_is_root),
      cmocka_unit_test(user_name_has_member_groups),
      cmocka_unit_test(user_uid_gid_uses_only_that_group),
      cmocka_unit_test(user_name_group),
      cmocka_unit_test(user_uid_without_entry),
      cmocka_unit_test(user_entry_without_home),
      cmocka_unit_test(user_unknown_name_fails),
      cmocka_unit_test(user_unknown_group_fails),
      cmocka_unit_test(user_without_passwd_file),
      cmocka_unit_test(user_rejects_uid_minus_one),
      cmocka_unit_test(env_adds_home_user_path),
      cmocka_unit_test(env_keeps_given_values),
      cmocka_unit_test(hostname_short_handle_unchanged),
      cmocka_unit_test(hostname_long_handle_keeps_tail),
      cmocka_unit_test(start_time_of_self),
      cmocka_unit_test(start_time_of_reaped_child_fails),
      cmocka_unit_test(create_rejects_invalid_spec),
  };
  /* These run before the shared container exists, so they can check that
   * this process has no children left. */
  const struct CMUnitTest lifecycle[] = {
      cmocka_unit_test(destroy_cleans_up_everything),
      cmocka_unit_test(destroy_checks_start_time),
      cmocka_unit_test(sweep_destroys_unkept_inits),
      cmocka_unit_test(create_fails_for_missing_lower),
      cmocka_unit_test(create_fails_for_symlinked_mount_point),
      cmocka_unit_test(create_with_many_layers),
      cmocka_unit_test(create_long_handle_hostname),
  };
  const struct CMUnitTest processes[] = {
      cmocka_unit_test(exec_echo_hello),
      cmocka_unit_test(exec_stderr_and_exit_code),
      cmocka_unit_test(exec_killed_by_sigkill),
      cmocka_unit_test(exec_sigterm_gives_143),
      cmocka_unit_test(exec_resets_signals),
      cmocka_unit_test(exec_hostname_is_handle),
      cmocka_unit_test(exec_pid_one_is_init),
      cmocka_unit_test(exec_as_users),
      cmocka_unit_test(exec_unknown_user_fails),
      cmocka_unit_test(exec_missing_executable_fails),
      cmocka_unit_test(exec_dir_defaults_to_home),
      cmocka_unit_test(exec_creates_missing_dir),
      cmocka_unit_test(exec_dir_permission_denied),
      cmocka_unit_test(exec_env_defaults),
      cmocka_unit_test(exec_relays_stdin),
      cmocka_unit_test(exec_leaks_no_descriptors),
      cmocka_unit_test(exec_with_caller_stdio_closed),
      cmocka_unit_test(exec_sees_container_mounts),
      cmocka_unit_test(exec_sees_dev),
      cmocka_unit_test(exec_loopback_only),
      cmocka_unit_test(exec_concurrently),
  };
  int failed = cmocka_run_group_tests(pure, NULL, NULL);
  failed += cmocka_run_group_tests(lifecycle, NULL, NULL);
  failed += cmocka_run_group_tests(processes, shared_setup, shared_teardown);
  kill_leftovers();
  return failed;
}
