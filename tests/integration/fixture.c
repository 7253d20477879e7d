/* SPDX-License-Identifier: Apache-2.0 */
#include "fixture.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/mem.h"
#include "testutil.h"

/* The servers of this test run carry CFWIN_IT_MARKER=<test directory> in
 * their environment, and so do the container init processes they clone. The
 * leak checks look only at processes and mounts of this run, so other
 * containers on the same host do not disturb them. */
static char *run_marker;
static char *run_dir;

static const char *env_or(const char *name, const char *fallback)
{
  const char *value = getenv(name);
  return value != NULL && value[0] != '\0' ? value : fallback;
}

void it_require_root(void)
{
  if (!cf_test_is_root()) {
    fprintf(stderr, "skipped: integration tests need root for namespaces and mounts\n");
    exit(77);
  }
  if (access("/bin/busybox", X_OK) != 0) {
    fprintf(stderr, "skipped: /bin/busybox is missing; install busybox-static\n");
    exit(77);
  }
}

int it_run_command(char *const argv[])
{
  pid_t pid = fork();
  if (pid == 0) {
    execv(argv[0], argv);
    fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int free_port(void)
{
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof(addr);
  if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
      getsockname(fd, (struct sockaddr *)&addr, &len) < 0) {
    perror("find a free port");
    abort();
  }
  close(fd);
  return ntohs(addr.sin_port);
}

void it_server_prepare(it_server *server)
{
  memset(server, 0, sizeof(*server));
  server->dir = cf_test_tmpdir("it");
  server->depot = cf_path_join(server->dir, "depot");
  server->image_dir = cf_path_join(server->dir, "image");
  server->socket_path = cf_path_join(server->dir, "garden.sock");
  server->log_path = cf_path_join(server->dir, "server.log");
  server->port = free_port();
  server->pid = -1;
  free(run_marker);
  free(run_dir);
  run_marker = cf_xasprintf("CFWIN_IT_MARKER=%s", server->dir);
  run_dir = cf_xstrdup(server->dir);
  cf_autofree char *mkimage = cf_xasprintf("%s/cfwin-mkimage", env_or("CFWIN_BUILD_DIR", "build"));
  char *argv[] = {mkimage, server->image_dir, "latest", NULL};
  if (it_run_command(argv) != 0) {
    fprintf(stderr, "could not build the busybox image with %s\n", mkimage);
    abort();
  }
  cf_autofree char *address = cf_xasprintf("127.0.0.1:%d", server->port);
  cf_garden_client_init(&server->tcp, address, NULL);
  cf_garden_client_init(&server->unix_socket, server->socket_path, NULL);
}

static void exec_server(const it_server *server)
{
  int log = open(server->log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (log >= 0) {
    dup2(log, STDOUT_FILENO);
    dup2(log, STDERR_FILENO);
  }
  cf_autofree char *port = cf_xasprintf("%d", server->port);
  cf_autofree char *rootfs = cf_xasprintf("oci://%s:latest", server->image_dir);
  const char *binary = env_or("CFWIN_BINARY", "build/cfwin");
  putenv(run_marker);
  const char *fixed[] = {binary,        "serve",       "--bind-ip",        "127.0.0.1",
                         "--bind-port", port,          "--bind-socket",    server->socket_path,
                         "--depot",     server->depot, "--default-rootfs", rootfs,
                         "--log-level", "debug"};
  size_t fixed_count = sizeof(fixed) / sizeof(fixed[0]);
  size_t extra_count = 0;
  while (server->extra_args != NULL && server->extra_args[extra_count] != NULL) {
    extra_count++;
  }
  char **argv = cf_xcalloc(fixed_count + extra_count + 2, sizeof(*argv));
  for (size_t i = 0; i < fixed_count; i++) {
    argv[i] = (char *)fixed[i];
  }
  for (size_t i = 0; i < extra_count; i++) {
    argv[fixed_count + i] = (char *)server->extra_args[i];
  }
  /* A server in the test's own network namespace would make its bridge
   * and nftables table there, so only tests that run in a namespace of
   * their own turn the network on. */
  if (!server->network) {
    argv[fixed_count + extra_count] = "--disable-network";
  }
  execv(binary, argv);
  fprintf(stderr, "exec %s: %s\n", binary, strerror(errno));
  _exit(127);
}

/* Makes the kernel send SIGTERM to this child when the test program dies,
 * even by SIGKILL, so the server's own shutdown runs and no server outlives
 * its test. The signal follows the death of the thread that forked, so a
 * server must be started from a thread that lives as long as the test. */
static void die_with_parent(pid_t parent)
{
  if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0) {
    fprintf(stderr, "prctl(PR_SET_PDEATHSIG) failed for cfwin serve: %s\n", strerror(errno));
    _exit(127);
  }
  /* The parent may have died before prctl(), when no signal will come. */
  if (getppid() != parent) {
    _exit(127);
  }
}

void it_server_start(it_server *server)
{
  pid_t parent = getpid();
  server->pid = fork();
  if (server->pid == 0) {
    die_with_parent(parent);
    exec_server(server);
  }
  /* 30 s: a sanitized server on a busy 2-CPU machine has taken over 10 s
   * to reconcile and reply to a ping. */
  for (int attempt = 0; attempt < 600; attempt++) {
    if (cf_garden_client_ping(&server->tcp, NULL) == 0 &&
        cf_garden_client_ping(&server->unix_socket, NULL) == 0) {
      return;
    }
    int status = 0;
    if (waitpid(server->pid, &status, WNOHANG) == server->pid) {
      fprintf(stderr, "cfwin serve exited early; see %s\n", server->log_path);
      server->pid = -1;
      fail();
    }
    usleep(50 * 1000);
  }
  fail_msg("cfwin serve did not answer ping within 30 s; see %s", server->log_path);
}

int it_server_stop(it_server *server)
{
  if (server->pid <= 0) {
    return -1;
  }
  kill(server->pid, SIGTERM);
  int status = 0;
  while (waitpid(server->pid, &status, 0) < 0 && errno == EINTR) {
  }
  server->pid = -1;
  server->exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return server->exit_status;
}

void it_destroy_leftovers(it_server *server)
{
  json_t *result = NULL;
  if (server->pid <= 0 || cf_garden_client_call(&server->tcp, "GET", "/containers?garden.state=all",
                                                NULL, &result, NULL) < 0) {
    return;
  }
  size_t i;
  json_t *handle;
  json_array_foreach(json_object_get(result, "Handles"), i, handle)
  {
    fprintf(stderr, "destroying leftover container %s\n", json_string_value(handle));
    cf_garden_client_destroy(&server->tcp, json_string_value(handle), NULL);
  }
  json_decref(result);
}

void it_server_cleanup(it_server *server)
{
  it_destroy_leftovers(server);
  it_server_stop(server);
  if (getenv("CFWIN_KEEP_TEST_DIR") == NULL && server->dir != NULL) {
    cf_test_rmdir(server->dir);
  }
  cf_garden_client_clear(&server->tcp);
  cf_garden_client_clear(&server->unix_socket);
  free(server->dir);
  free(server->depot);
  free(server->image_dir);
  free(server->socket_path);
  free(server->log_path);
}

/* --- Leak checks --- */

static int compare_strings(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The mount points of the host's mount table under this run's directory,
 * one per line, sorted. */
static char *read_mount_points(void)
{
  FILE *f = fopen("/proc/self/mountinfo", "r");
  assert_non_null(f);
  char **lines = NULL;
  size_t count = 0;
  char line[4096];
  while (fgets(line, sizeof(line), f) != NULL) {
    char mount_point[4096];
    if (sscanf(line, "%*s %*s %*s %*s %4095s", mount_point) == 1 && run_dir != NULL &&
        strncmp(mount_point, run_dir, strlen(run_dir)) == 0) {
      lines = cf_xrealloc(lines, (count + 1) * sizeof(*lines));
      lines[count++] = cf_xstrdup(mount_point);
    }
  }
  fclose(f);
  if (count > 0) {
    qsort(lines, count, sizeof(*lines), compare_strings);
  }
  cf_buf out;
  cf_buf_init(&out, 64 * 1024 * 1024);
  for (size_t i = 0; i < count; i++) {
    cf_buf_printf(&out, NULL, "%s\n", lines[i]);
    free(lines[i]);
  }
  free(lines);
  return cf_buf_take(&out);
}

static bool is_pid_name(const char *name)
{
  return name[0] >= '1' && name[0] <= '9' && strspn(name, "0123456789") == strlen(name);
}

/* True when the process's environment contains this run's marker. */
static bool in_this_run(const char *pid)
{
  if (run_marker == NULL) {
    return false;
  }
  char path[300];
  snprintf(path, sizeof(path), "/proc/%s/environ", pid);
  cf_buf environ_text;
  cf_buf_init(&environ_text, 4 * 1024 * 1024);
  bool found = false;
  if (cf_read_file(path, &environ_text, NULL) == 0) {
    size_t marker_len = strlen(run_marker) + 1; /* with the NUL that ends the entry */
    for (size_t i = 0; i + marker_len <= environ_text.len && !found; i++) {
      found = (i == 0 || environ_text.data[i - 1] == '\0') &&
              memcmp(environ_text.data + i, run_marker, marker_len) == 0;
    }
  }
  cf_buf_free(&environ_text);
  return found;
}

/* Every namespace of every process of this run, as "type:[inode]", sorted
 * and unique. */
static void read_namespaces(char ***out, size_t *out_count)
{
  static const char *const types[] = {"mnt", "pid", "net", "uts", "ipc"};
  char **list = NULL;
  size_t count = 0;
  DIR *proc = opendir("/proc");
  assert_non_null(proc);
  struct dirent *entry;
  while ((entry = readdir(proc)) != NULL) {
    if (!is_pid_name(entry->d_name) || !in_this_run(entry->d_name)) {
      continue;
    }
    for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
      char path[300];
      char target[64];
      snprintf(path, sizeof(path), "/proc/%s/ns/%s", entry->d_name, types[t]);
      ssize_t n = readlink(path, target, sizeof(target) - 1);
      if (n <= 0) {
        continue;
      }
      target[n] = '\0';
      list = cf_xrealloc(list, (count + 1) * sizeof(*list));
      list[count++] = cf_xstrdup(target);
    }
  }
  closedir(proc);
  if (count > 0) {
    qsort(list, count, sizeof(*list), compare_strings);
  }
  size_t unique = 0;
  for (size_t i = 0; i < count; i++) {
    if (unique > 0 && strcmp(list[unique - 1], list[i]) == 0) {
      free(list[i]);
      continue;
    }
    list[unique++] = list[i];
  }
  *out = list;
  *out_count = unique;
}

static void add_string(char ***list, size_t *count, char *value)
{
  *list = cf_xrealloc(*list, (*count + 1) * sizeof(**list));
  (*list)[(*count)++] = value;
}

/* Adds "<hierarchy>/<name>" for each directory under dir. */
static void list_cgroup_dirs(const char *hierarchy, const char *dir, char ***list, size_t *count)
{
  DIR *d = opendir(dir);
  if (d == NULL) {
    return;
  }
  struct dirent *entry;
  while ((entry = readdir(d)) != NULL) {
    if (entry->d_type == DT_DIR && entry->d_name[0] != '.') {
      add_string(list, count, cf_xasprintf("%s/%s", hierarchy, entry->d_name));
    }
  }
  closedir(d);
}

/* Container cgroups under the runtime's default parent "cfwin" of every
 * hierarchy mounted under /sys/fs/cgroup (v1 controllers, the hybrid
 * unified mount), and of a cgroup2 mount at /sys/fs/cgroup itself. */
static void read_cgroups(char ***out, size_t *out_count)
{
  char **list = NULL;
  size_t count = 0;
  list_cgroup_dirs("", "/sys/fs/cgroup/cfwin", &list, &count);
  DIR *root = opendir("/sys/fs/cgroup");
  struct dirent *entry;
  while (root != NULL && (entry = readdir(root)) != NULL) {
    if (entry->d_name[0] == '.' || strcmp(entry->d_name, "cfwin") == 0) {
      continue;
    }
    cf_autofree char *dir = cf_xasprintf("/sys/fs/cgroup/%s/cfwin", entry->d_name);
    list_cgroup_dirs(entry->d_name, dir, &list, &count);
  }
  if (root != NULL) {
    closedir(root);
  }
  if (count > 0) {
    qsort(list, count, sizeof(*list), compare_strings);
  }
  *out = list;
  *out_count = count;
}

void it_snapshot_take(it_snapshot *snapshot)
{
  snapshot->mountinfo = read_mount_points();
  read_namespaces(&snapshot->namespaces, &snapshot->namespace_count);
  read_cgroups(&snapshot->cgroups, &snapshot->cgroup_count);
}

void it_snapshot_clear(it_snapshot *snapshot)
{
  free(snapshot->mountinfo);
  for (size_t i = 0; i < snapshot->namespace_count; i++) {
    free(snapshot->namespaces[i]);
  }
  free(snapshot->namespaces);
  for (size_t i = 0; i < snapshot->cgroup_count; i++) {
    free(snapshot->cgroups[i]);
  }
  free(snapshot->cgroups);
  memset(snapshot, 0, sizeof(*snapshot));
}

static size_t count_children(pid_t parent)
{
  size_t children = 0;
  DIR *proc = opendir("/proc");
  assert_non_null(proc);
  struct dirent *entry;
  while ((entry = readdir(proc)) != NULL) {
    if (!is_pid_name(entry->d_name)) {
      continue;
    }
    char path[300];
    snprintf(path, sizeof(path), "/proc/%s/stat", entry->d_name);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
      continue;
    }
    char text[1024];
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    const char *after = strrchr(text, ')');
    int ppid = 0;
    if (after != NULL && sscanf(after + 2, "%*c %d", &ppid) == 1 && ppid == parent) {
      fprintf(stderr, "leftover child process %s of the server: %s\n", entry->d_name, text);
      children++;
    }
  }
  closedir(proc);
  return children;
}

static size_t count_entries(const char *dir, const char *prefix)
{
  DIR *d = opendir(dir);
  if (d == NULL) {
    return 0;
  }
  size_t n = 0;
  struct dirent *entry;
  while ((entry = readdir(d)) != NULL) {
    if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) {
      continue;
    }
    if (prefix == NULL || strncmp(entry->d_name, prefix, strlen(prefix)) == 0) {
      fprintf(stderr, "leftover depot entry %s/%s\n", dir, entry->d_name);
      n++;
    }
  }
  closedir(d);
  return n;
}

/* Counts loop devices whose backing file lies under dir, as
 * /sys/block/loopN/loop/backing_file shows it (with " (deleted)" appended
 * once the file is gone). */
size_t it_count_loop_devices(const char *dir, bool report)
{
  DIR *block = opendir("/sys/block");
  if (block == NULL || dir == NULL) {
    if (block != NULL) {
      closedir(block);
    }
    return 0;
  }
  size_t n = 0;
  struct dirent *entry;
  while ((entry = readdir(block)) != NULL) {
    if (strncmp(entry->d_name, "loop", 4) != 0) {
      continue;
    }
    cf_autofree char *path = cf_xasprintf("/sys/block/%s/loop/backing_file", entry->d_name);
    cf_buf text;
    cf_buf_init(&text, 8192);
    if (cf_read_file(path, &text, NULL) == 0 && text.data != NULL &&
        strncmp(text.data, dir, strlen(dir)) == 0) {
      if (report) {
        fprintf(stderr, "leftover loop device /dev/%s backed by %s", entry->d_name, text.data);
      }
      n++;
    }
    cf_buf_free(&text);
  }
  closedir(block);
  return n;
}

/* Counts cgroups in after but not in before whose handle this server
 * logged. Containers of other test runs on the same host may come and go
 * meanwhile, so only handles of this run count. */
static size_t count_new_cgroups(const it_server *server, const it_snapshot *before,
                                const it_snapshot *after, bool report)
{
  cf_buf log;
  cf_buf_init(&log, 256 * 1024 * 1024);
  if (cf_read_file(server->log_path, &log, NULL) < 0 || log.data == NULL) {
    cf_buf_free(&log);
    return 0;
  }
  size_t n = 0;
  for (size_t i = 0; i < after->cgroup_count; i++) {
    if (before->cgroup_count > 0 &&
        bsearch(&after->cgroups[i], before->cgroups, before->cgroup_count, sizeof(char *),
                compare_strings) != NULL) {
      continue;
    }
    const char *handle = strrchr(after->cgroups[i], '/') + 1;
    cf_autofree char *needle = cf_xasprintf("\"handle\":\"%s\"", handle);
    if (strstr(log.data, needle) != NULL) {
      if (report) {
        fprintf(stderr, "leftover cgroup %s in the runtime's cfwin parent\n", after->cgroups[i]);
      }
      n++;
    }
  }
  cf_buf_free(&log);
  return n;
}

/* Polls briefly: a destroyed container's processes may take a moment to be
 * reaped by the host, and its loop device to be released. */
void it_assert_no_leaks(const it_server *server, const it_snapshot *before)
{
  it_snapshot after = {0};
  size_t new_namespaces = 0;
  for (int attempt = 0; attempt < 50; attempt++) {
    it_snapshot_clear(&after);
    it_snapshot_take(&after);
    new_namespaces = 0;
    for (size_t i = 0; i < after.namespace_count; i++) {
      if (before->namespace_count == 0 ||
          bsearch(&after.namespaces[i], before->namespaces, before->namespace_count, sizeof(char *),
                  compare_strings) == NULL) {
        new_namespaces++;
      }
    }
    if (new_namespaces == 0 && strcmp(after.mountinfo, before->mountinfo) == 0 &&
        it_count_loop_devices(run_dir, false) == 0 &&
        count_new_cgroups(server, before, &after, false) == 0) {
      break;
    }
    usleep(100 * 1000);
  }
  assert_string_equal(after.mountinfo, before->mountinfo);
  assert_int_equal(new_namespaces, 0);
  assert_int_equal(it_count_loop_devices(run_dir, true), 0);
  assert_int_equal(count_new_cgroups(server, before, &after, true), 0);
  it_snapshot_clear(&after);
  if (server->pid > 0) {
    assert_int_equal(count_children(server->pid), 0);
  }
  cf_autofree char *containers = cf_path_join(server->depot, "containers");
  cf_autofree char *layers = cf_path_join(server->depot, "layers");
  cf_autofree char *volumes = cf_path_join(server->depot, "volumes");
  assert_int_equal(count_entries(containers, NULL), 0);
  assert_int_equal(count_entries(volumes, NULL), 0);
  assert_int_equal(count_entries(layers, "tmp-"), 0);
}

int it_leak_check_begin(it_server *server, void **state)
{
  /* A test that failed before its own clean-up must not fail the next ones. */
  it_destroy_leftovers(server);
  it_snapshot *snapshot = cf_xcalloc(1, sizeof(*snapshot));
  it_snapshot_take(snapshot);
  *state = snapshot;
  return 0;
}

int it_leak_check_end(it_server *server, void **state)
{
  it_snapshot *snapshot = *state;
  it_assert_no_leaks(server, snapshot);
  it_snapshot_clear(snapshot);
  free(snapshot);
  return 0;
}
