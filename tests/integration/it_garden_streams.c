/* SPDX-License-Identifier: Apache-2.0 */
/*
 * StreamIn and StreamOut through `cfwin serve` with raw HTTP: round trips
 * of a tree, ownership, a 200 MiB stream against the server's memory,
 * hostile tars, a new destination swapped for a link, errors, and
 * clients that vanish mid-stream in either direction. The leak check
 * after every test also fails on a stream child left behind.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/fs.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/mem.h"
#include "busybox_rootfs.h"
#include "fixture.h"
#include "garden/client.h"
#include "garden/stream_child.h"
#include "runtime/runtime.h"
#include "store/store.h"

#define MIB (1024 * 1024)

static it_server server;

static int setup_server(void **state)
{
  (void)state;
  it_server_prepare(&server);
  it_server_start(&server);
  return 0;
}

static int teardown_server(void **state)
{
  (void)state;
  it_server_cleanup(&server);
  return server.exit_status == 0 ? 0 : -1;
}

static int take_snapshot(void **state)
{
  return it_leak_check_begin(&server, state);
}

static int check_leaks(void **state)
{
  return it_leak_check_end(&server, state);
}

/* --- Containers and processes --- */

static void create_container(const char *handle)
{
  json_t *spec = json_pack("{s:s, s:{}}", "handle", handle, "image");
  char *created = NULL;
  cf_err *err = NULL;
  int rc = cf_garden_client_create(&server.tcp, spec, &created, &err);
  json_decref(spec);
  if (rc < 0) {
    fail_msg("create %s: %s", handle, err->message);
  }
  free(created);
}

static void destroy_container(const char *handle)
{
  cf_err *err = NULL;
  if (cf_garden_client_destroy(&server.tcp, handle, &err) < 0) {
    fail_msg("destroy %s: %s", handle, err->message);
  }
}

/* Runs `sh -c script` as root and returns its stdout (caller frees). */
static char *run_shell(const char *handle, const char *script, int *exit_status)
{
  json_t *spec = json_pack("{s:s, s:[s, s], s:s, s:{}, s:{}}", "path", "sh", "args", "-c", script,
                           "user", "root", "rlimits", "image");
  cf_garden_process_result result;
  cf_garden_process_result_init(&result);
  cf_err *err = NULL;
  int rc = cf_garden_client_run(&server.tcp, handle, spec, NULL, 0, &result, &err);
  json_decref(spec);
  if (rc < 0) {
    fail_msg("run %s in %s: %s", script, handle, err->message);
  }
  *exit_status = result.exit_status;
  char *out = cf_xstrndup(result.out.data != NULL ? result.out.data : "", result.out.len);
  cf_garden_process_result_clear(&result);
  return out;
}

/* Adds user alice (uid 1000, gid 1000, home /home/alice) to the container. */
static void add_alice(const char *handle)
{
  int status = -1;
  free(run_shell(handle,
                 "echo alice:x:1000:1000::/home/alice:/bin/sh >> /etc/passwd && "
                 "echo alice:x:1000: >> /etc/group && mkdir -p /home/alice && "
                 "chown 1000:1000 /home/alice && chmod 700 /home/alice",
                 &status));
  assert_int_equal(status, 0);
}

/* --- Tar archives --- */

typedef struct tar_entry {
  const char *name;
  int type; /* AE_IFREG, AE_IFDIR, AE_IFLNK, or 0 for a hard link */
  int mode;
  const char *body;   /* regular files */
  const char *target; /* symbolic and hard links */
  int64_t uid;
} tar_entry;

static la_ssize_t append_tar(struct archive *a, void *ctx, const void *data, size_t len)
{
  (void)a;
  cf_buf_append(ctx, data, len, NULL);
  return (la_ssize_t)len;
}

static void build_tar(const tar_entry *entries, size_t count, cf_buf *out)
{
  cf_buf_init(out, 64 * MIB);
  struct archive *a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  archive_write_open2(a, out, NULL, append_tar, NULL, NULL);
  for (size_t i = 0; i < count; i++) {
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, entries[i].name);
    archive_entry_set_uid(e, entries[i].uid);
    archive_entry_set_gid(e, entries[i].uid);
    if (entries[i].type == 0) {
      archive_entry_set_filetype(e, AE_IFREG);
      archive_entry_set_hardlink(e, entries[i].target);
    } else {
      archive_entry_set_filetype(e, (unsigned)entries[i].type);
      archive_entry_set_perm(e, (unsigned)entries[i].mode);
    }
    if (entries[i].type == AE_IFLNK) {
      archive_entry_set_symlink(e, entries[i].target);
    }
    size_t size = entries[i].body != NULL ? strlen(entries[i].body) : 0;
    archive_entry_set_size(e, (la_int64_t)size);
    assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
    if (size > 0) {
      assert_int_equal(archive_write_data(a, entries[i].body, size), (la_ssize_t)size);
    }
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
}

/* One entry read back from a StreamOut tar. */
typedef struct read_entry {
  char *name;
  int type;
  int mode;
  int64_t uid;
  char *uname; /* "" when the tar names no owner */
  char *gname;
  char *body;
  char *target;
} read_entry;

static size_t read_tar(const cf_buf *tar, read_entry *entries, size_t max)
{
  struct archive *a = archive_read_new();
  archive_read_support_format_tar(a);
  assert_int_equal(archive_read_open_memory(a, tar->data, tar->len), ARCHIVE_OK);
  size_t n = 0;
  struct archive_entry *e;
  while (n < max && archive_read_next_header(a, &e) == ARCHIVE_OK) {
    read_entry *r = &entries[n++];
    r->name = cf_xstrdup(archive_entry_pathname(e));
    r->type = (int)archive_entry_filetype(e);
    r->mode = (int)archive_entry_perm(e);
    r->uid = archive_entry_uid(e);
    r->uname = cf_xstrdup(archive_entry_uname(e) != NULL ? archive_entry_uname(e) : "");
    r->gname = cf_xstrdup(archive_entry_gname(e) != NULL ? archive_entry_gname(e) : "");
    r->target = archive_entry_symlink(e) != NULL ? cf_xstrdup(archive_entry_symlink(e)) : NULL;
    size_t size = (size_t)archive_entry_size(e);
    r->body = cf_xcalloc(1, size + 1);
    if (size > 0) {
      assert_int_equal(archive_read_data(a, r->body, size), (la_ssize_t)size);
    }
  }
  archive_read_free(a);
  return n;
}

static void free_entries(read_entry *entries, size_t count)
{
  for (size_t i = 0; i < count; i++) {
    free(entries[i].name);
    free(entries[i].uname);
    free(entries[i].gname);
    free(entries[i].body);
    free(entries[i].target);
  }
}

static const read_entry *find_entry(const read_entry *entries, size_t count, const char *name)
{
  for (size_t i = 0; i < count; i++) {
    if (strcmp(entries[i].name, name) == 0) {
      return &entries[i];
    }
  }
  fail_msg("entry %s is missing from the StreamOut tar", name);
  return NULL;
}

/* --- Raw HTTP --- */

typedef struct http_result {
  int status;
  cf_buf head;
  cf_buf body; /* de-chunked */
} http_result;

static void http_result_clear(http_result *result)
{
  cf_buf_free(&result->head);
  cf_buf_free(&result->body);
}

static int connect_server(void)
{
  int fd = -1;
  cf_err *err = NULL;
  if (cf_garden_client_connect(&server.tcp, &fd, &err) < 0) {
    fail_msg("connect: %s", err->message);
  }
  return fd;
}

static void send_all(int fd, const void *data, size_t len)
{
  const char *p = data;
  while (len > 0) {
    ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    assert_true(n > 0);
    p += n;
    len -= (size_t)n;
  }
}

static void send_chunk(int fd, const void *data, size_t len)
{
  char size_line[32];
  int n = snprintf(size_line, sizeof(size_line), "%zx\r\n", len);
  send_all(fd, size_line, (size_t)n);
  send_all(fd, data, len);
  send_all(fd, "\r\n", 2);
}

/* Decodes a chunked body. Returns false when it ends before the last
 * chunk. */
static bool dechunk(const char *data, size_t len, cf_buf *out)
{
  size_t pos = 0;
  for (;;) {
    const char *line_end = memmem(data + pos, len - pos, "\r\n", 2);
    if (line_end == NULL) {
      return false;
    }
    size_t size = strtoul(data + pos, NULL, 16);
    pos = (size_t)(line_end - data) + 2;
    if (size == 0) {
      return true;
    }
    if (pos + size + 2 > len) {
      return false;
    }
    cf_buf_append(out, data + pos, size, NULL);
    pos += size + 2;
  }
}

/* Reads the response until the server closes the connection. */
static void read_response(int fd, http_result *result)
{
  cf_buf raw;
  cf_buf_init(&raw, 512 * MIB);
  char chunk[65536];
  ssize_t n;
  while ((n = recv(fd, chunk, sizeof(chunk), 0)) != 0) {
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      break;
    }
    cf_buf_append(&raw, chunk, (size_t)n, NULL);
  }
  cf_buf_init(&result->head, MIB);
  cf_buf_init(&result->body, 512 * MIB);
  const char *end = raw.data != NULL ? memmem(raw.data, raw.len, "\r\n\r\n", 4) : NULL;
  if (end == NULL) {
    result->status = 0;
    cf_buf_free(&raw);
    return;
  }
  size_t head_len = (size_t)(end - raw.data) + 4;
  cf_buf_append(&result->head, raw.data, head_len, NULL);
  sscanf(raw.data, "HTTP/1.1 %d", &result->status);
  const char *body = raw.data + head_len;
  size_t body_len = raw.len - head_len;
  if (strstr(result->head.data, "Transfer-Encoding: chunked") != NULL) {
    if (!dechunk(body, body_len, &result->body)) {
      result->status = -1; /* the body ended early */
    }
  } else {
    cf_buf_append(&result->body, body, body_len, NULL);
  }
  cf_buf_free(&raw);
}

static char *files_path(const char *handle, const char *key, const char *path, const char *user)
{
  cf_autofree char *escaped_path = cf_garden_escape(path);
  cf_autofree char *escaped_user = cf_garden_escape(user);
  return cf_xasprintf("/containers/%s/files?%s=%s&user=%s", handle, key, escaped_path,
                      escaped_user);
}

static int open_stream_in(const char *handle, const char *destination, const char *user)
{
  cf_autofree char *path = files_path(handle, "destination", destination, user);
  cf_autofree char *head = cf_xasprintf("PUT %s HTTP/1.1\r\nHost: api\r\nConnection: close\r\n"
                                        "Content-Type: application/x-tar\r\n"
                                        "Transfer-Encoding: chunked\r\n\r\n",
                                        path);
  int fd = connect_server();
  send_all(fd, head, strlen(head));
  return fd;
}

/* StreamIn of tar in chunks of up to 7000 bytes, so entries straddle them. */
static void stream_in(const char *handle, const char *destination, const char *user,
                      const cf_buf *tar, http_result *result)
{
  int fd = open_stream_in(handle, destination, user);
  for (size_t pos = 0; pos < tar->len; pos += 7000) {
    size_t len = tar->len - pos < 7000 ? tar->len - pos : 7000;
    send_chunk(fd, tar->data + pos, len);
  }
  send_all(fd, "0\r\n\r\n", 5);
  read_response(fd, result);
  close(fd);
}

static int open_stream_out(const char *handle, const char *source, const char *user)
{
  cf_autofree char *path = files_path(handle, "source", source, user);
  cf_autofree char *head =
      cf_xasprintf("GET %s HTTP/1.1\r\nHost: api\r\nConnection: close\r\n\r\n", path);
  int fd = connect_server();
  send_all(fd, head, strlen(head));
  return fd;
}

static void stream_out(const char *handle, const char *source, const char *user,
                       http_result *result)
{
  int fd = open_stream_out(handle, source, user);
  read_response(fd, result);
  close(fd);
}

/* The Message of an error envelope body (caller frees). */
static char *error_message(const http_result *result)
{
  json_t *body = json_loadb(result->body.data, result->body.len, 0, NULL);
  assert_non_null(body);
  const char *message = json_string_value(json_object_get(body, "Message"));
  assert_non_null(message);
  char *copy = cf_xstrdup(message);
  json_decref(body);
  return copy;
}

/* --- Tests --- */

static void test_round_trip_of_tree(void **state)
{
  (void)state;
  create_container("it-files-tree");
  static const tar_entry tree[] = {
      {"dir", AE_IFDIR, 0750, NULL, NULL, 0},
      {"dir/file", AE_IFREG, 0640, "some-body", NULL, 0},
      {"dir/tool", AE_IFREG, 0755, "#!/bin/sh\necho tool\n", NULL, 0},
      {"dir/link", AE_IFLNK, 0777, NULL, "file", 0},
  };
  cf_buf tar;
  build_tar(tree, 4, &tar);
  http_result in = {0};
  stream_in("it-files-tree", "/tmp/dst", "", &tar, &in);
  assert_int_equal(in.status, 200);
  assert_string_equal(in.body.data, "{}\n");

  int status = -1;
  cf_autofree char *cat = run_shell("it-files-tree", "cat /tmp/dst/dir/link", &status);
  assert_int_equal(status, 0);
  assert_string_equal(cat, "some-body");

  http_result out = {0};
  stream_out("it-files-tree", "/tmp/dst/dir", "", &out);
  assert_int_equal(out.status, 200);
  read_entry entries[8];
  size_t count = read_tar(&out.body, entries, 8);
  assert_int_equal(count, 4);
  assert_string_equal(entries[0].name, "dir/");
  assert_int_equal(entries[0].type, AE_IFDIR);
  assert_int_equal(entries[0].mode, 0750);
  const read_entry *file = find_entry(entries, count, "dir/file");
  assert_int_equal(file->type, AE_IFREG);
  assert_int_equal(file->mode, 0640);
  assert_string_equal(file->body, "some-body");
  const read_entry *tool = find_entry(entries, count, "dir/tool");
  assert_int_equal(tool->mode, 0755);
  assert_string_equal(tool->body, "#!/bin/sh\necho tool\n");
  const read_entry *link = find_entry(entries, count, "dir/link");
  assert_int_equal(link->type, AE_IFLNK);
  assert_string_equal(link->target, "file");
  free_entries(entries, count);

  http_result contents = {0};
  stream_out("it-files-tree", "/tmp/dst/dir/", "", &contents);
  assert_int_equal(contents.status, 200);
  count = read_tar(&contents.body, entries, 8);
  assert_int_equal(count, 4);
  assert_string_equal(entries[0].name, "./");
  find_entry(entries, count, "./file");
  free_entries(entries, count);

  http_result one = {0};
  stream_out("it-files-tree", "/tmp/dst/dir/file", "", &one);
  assert_int_equal(one.status, 200);
  count = read_tar(&one.body, entries, 8);
  assert_int_equal(count, 1);
  assert_string_equal(entries[0].name, "file");
  free_entries(entries, count);

  http_result_clear(&in);
  http_result_clear(&out);
  http_result_clear(&contents);
  http_result_clear(&one);
  cf_buf_free(&tar);
  destroy_container("it-files-tree");
}

static void test_ownership_follows_user(void **state)
{
  (void)state;
  create_container("it-files-owner");
  add_alice("it-files-owner");
  static const tar_entry owned[] = {
      {"f", AE_IFREG, 0644, "x", NULL, 1234},
  };
  cf_buf tar;
  build_tar(owned, 1, &tar);

  /* As alice, to a new directory below her home and, relative, her home. */
  http_result as_alice = {0};
  stream_in("it-files-owner", "/home/alice/new/sub", "alice", &tar, &as_alice);
  assert_int_equal(as_alice.status, 200);
  http_result relative = {0};
  stream_in("it-files-owner", ".", "alice", &tar, &relative);
  assert_int_equal(relative.status, 200);
  /* As root, the tar's owner is kept. */
  http_result as_root = {0};
  stream_in("it-files-owner", "/tmp/root-owned", "", &tar, &as_root);
  assert_int_equal(as_root.status, 200);

  int status = -1;
  cf_autofree char *owners = run_shell("it-files-owner",
                                       "stat -c %u:%g /home/alice/new /home/alice/new/sub "
                                       "/home/alice/new/sub/f /home/alice/f /tmp/root-owned/f",
                                       &status);
  assert_int_equal(status, 0);
  assert_string_equal(owners, "1000:1000\n1000:1000\n1000:1000\n1000:1000\n1234:1234\n");

  /* StreamOut names owners from the container's account files. */
  http_result out = {0};
  stream_out("it-files-owner", "/home/alice/new", "alice", &out);
  assert_int_equal(out.status, 200);
  read_entry entries[4];
  size_t count = read_tar(&out.body, entries, 4);
  const read_entry *file = find_entry(entries, count, "new/sub/f");
  assert_int_equal(file->uid, 1000);
  assert_string_equal(file->uname, "alice");
  assert_string_equal(file->gname, "alice");
  free_entries(entries, count);
  http_result_clear(&out);
  http_result unnamed = {0};
  stream_out("it-files-owner", "/tmp/root-owned/f", "", &unnamed);
  assert_int_equal(unnamed.status, 200);
  count = read_tar(&unnamed.body, entries, 4);
  assert_int_equal(count, 1);
  assert_int_equal(entries[0].uid, 1234);
  assert_string_equal(entries[0].uname, "");
  free_entries(entries, count);
  http_result_clear(&unnamed);

  http_result_clear(&as_alice);
  http_result_clear(&relative);
  http_result_clear(&as_root);
  cf_buf_free(&tar);
  destroy_container("it-files-owner");
}

static void test_user_errors(void **state)
{
  (void)state;
  create_container("it-files-users");
  add_alice("it-files-users");
  static const tar_entry one[] = {{"f", AE_IFREG, 0644, "x", NULL, 0}};
  cf_buf tar;
  build_tar(one, 1, &tar);

  http_result unknown = {0};
  stream_in("it-files-users", "/tmp", "batman", &tar, &unknown);
  assert_int_equal(unknown.status, 500);
  cf_autofree char *unknown_message = error_message(&unknown);
  assert_non_null(strstr(unknown_message, "error streaming in"));
  assert_non_null(strstr(unknown_message, "batman"));

  http_result denied = {0};
  stream_in("it-files-users", "/root", "alice", &tar, &denied);
  assert_int_equal(denied.status, 500);
  cf_autofree char *denied_message = error_message(&denied);
  assert_non_null(strstr(denied_message, "Permission denied"));

  http_result_clear(&unknown);
  http_result_clear(&denied);
  cf_buf_free(&tar);
  destroy_container("it-files-users");
}

/* Each hostile tar must fail, naming its entry, and write nothing outside
 * the destination. */
static void test_hostile_tars_rejected(void **state)
{
  (void)state;
  create_container("it-files-hostile");
  static const struct {
    tar_entry entries[2];
    size_t count;
    const char *named; /* expected in the error message */
  } cases[] = {
      {{{"../escaped", AE_IFREG, 0644, "x", NULL, 0}}, 1, "../escaped"},
      {{{"/etc/escaped", AE_IFREG, 0644, "x", NULL, 0}}, 1, "/etc/escaped"},
      {{{"root", AE_IFLNK, 0777, NULL, "/", 0}, {"root/etc/escaped", AE_IFREG, 0644, "x", NULL, 0}},
       2,
       "root/etc/escaped"},
      {{{"hard", 0, 0, NULL, "/etc/passwd", 0}}, 1, "hard"},
      {{{"hard", 0, 0, NULL, "../../etc/passwd", 0}}, 1, "hard"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    cf_buf tar;
    build_tar(cases[i].entries, cases[i].count, &tar);
    http_result result = {0};
    stream_in("it-files-hostile", "/tmp/hostile", "", &tar, &result);
    assert_int_equal(result.status, 500);
    cf_autofree char *message = error_message(&result);
    if (strstr(message, cases[i].named) == NULL) {
      fail_msg("case %zu: message \"%s\" does not name %s", i, message, cases[i].named);
    }
    http_result_clear(&result);
    cf_buf_free(&tar);
  }
  int status = -1;
  cf_autofree char *found =
      run_shell("it-files-hostile",
                "ls /tmp/escaped /etc/escaped /tmp/hostile/hard 2>/dev/null; true", &status);
  assert_string_equal(found, "");
  destroy_container("it-files-hostile");
}

static pid_t init_pid_of(const char *handle)
{
  cf_store *store = NULL;
  cf_err *err = NULL;
  assert_int_equal(cf_store_open(server.depot, &store, &err), 0);
  cf_container_record record = {0};
  assert_int_equal(cf_store_container_get(store, handle, &record, &err), 0);
  pid_t pid = (pid_t)record.init_pid;
  cf_container_record_clear(&record);
  cf_store_close(store);
  assert_true(pid > 0);
  return pid;
}

/* A process of the container that swaps each new destination directory
 * for a symbolic link, as fast as it can. The test plays it from the host
 * through the init's root, which takes no compiler in the image. */
typedef struct swapper {
  int home_fd; /* the user's home in the container */
  atomic_bool stop;
  int swaps;
} swapper;

static void *run_swapper(void *arg)
{
  swapper *sw = arg;
  while (!atomic_load(&sw->stop)) {
    if (syscall(SYS_renameat2, sw->home_fd, "dest", sw->home_fd, "link", RENAME_EXCHANGE) < 0) {
      continue;
    }
    sw->swaps++;
    /* The link stays a while, so a chown(2) of "dest" that comes late
     * still meets it. Then "dest" is emptied for the next attempt. */
    usleep(3000);
    unlinkat(sw->home_fd, "dest", 0);
    char old[32];
    snprintf(old, sizeof(old), "old%d", sw->swaps);
    renameat(sw->home_fd, "link", sw->home_fd, old);
    symlinkat("/etc/owned-by-root", sw->home_fd, "link");
  }
  return NULL;
}

/* StreamIn creates missing destination directories as root and gives them
 * to the user. A process of the user that replaces a new directory with a
 * link before its owner changes must not get the link's target. */
static void test_destination_swap_race(void **state)
{
  (void)state;
  create_container("it-files-swap");
  add_alice("it-files-swap");
  int status = -1;
  free(run_shell("it-files-swap", "touch /etc/owned-by-root && chmod 600 /etc/owned-by-root",
                 &status));
  assert_int_equal(status, 0);
  cf_autofree char *home =
      cf_xasprintf("/proc/%d/root/home/alice", (int)init_pid_of("it-files-swap"));
  swapper sw = {.home_fd = open(home, O_PATH | O_DIRECTORY | O_CLOEXEC)};
  assert_true(sw.home_fd >= 0);
  assert_int_equal(symlinkat("/etc/owned-by-root", sw.home_fd, "link"), 0);
  pthread_t thread;
  assert_int_equal(pthread_create(&thread, NULL, run_swapper, &sw), 0);

  /* When the owner was changed by path, about one attempt in 25 let the
   * swap win (measured on a 2-CPU machine). */
  cf_buf tar;
  build_tar(NULL, 0, &tar);
  for (int i = 0; i < 400; i++) {
    http_result result = {0};
    stream_in("it-files-swap", "/home/alice/dest/sub", "alice", &tar, &result);
    http_result_clear(&result);
  }
  atomic_store(&sw.stop, true);
  pthread_join(thread, NULL);

  struct stat st;
  assert_int_equal(fstatat(sw.home_fd, "../../etc/owned-by-root", &st, 0), 0);
  assert_int_equal(st.st_uid, 0);
  assert_true(sw.swaps > 0);
  close(sw.home_fd);
  cf_buf_free(&tar);
  destroy_container("it-files-swap");
}

static void test_stream_errors(void **state)
{
  (void)state;
  create_container("it-files-errors");
  http_result missing = {0};
  stream_out("it-files-errors", "/tmp/not-there", "", &missing);
  assert_int_equal(missing.status, 500);
  cf_autofree char *message = error_message(&missing);
  assert_non_null(strstr(message, "error streaming out"));
  assert_non_null(strstr(message, "/tmp/not-there"));

  cf_buf truncated;
  static const tar_entry one[] = {{"f", AE_IFREG, 0644, "some-body", NULL, 0}};
  build_tar(one, 1, &truncated);
  truncated.len = 10;
  http_result cut = {0};
  stream_in("it-files-errors", "/tmp/cut", "", &truncated, &cut);
  assert_int_equal(cut.status, 500);
  cf_autofree char *cut_message = error_message(&cut);
  assert_non_null(strstr(cut_message, "error streaming in"));

  /* A destination longer than PATH_MAX fails before any directory of it
   * is made. */
  cf_buf deep;
  cf_buf_init(&deep, 8192);
  for (int i = 0; i < 2500; i++) {
    cf_buf_append(&deep, "/d", 2, NULL);
  }
  http_result too_long = {0};
  stream_in("it-files-errors", deep.data, "", &truncated, &too_long);
  assert_int_equal(too_long.status, 500);
  cf_autofree char *too_long_message = error_message(&too_long);
  assert_non_null(strstr(too_long_message, "PATH_MAX"));
  int status = -1;
  free(run_shell("it-files-errors", "test ! -e /d", &status));
  assert_int_equal(status, 0);

  http_result unknown_in = {0};
  stream_in("no-such-container", "/tmp", "", &truncated, &unknown_in);
  assert_int_equal(unknown_in.status, 404);
  assert_non_null(strstr(unknown_in.body.data, "ContainerNotFoundError"));
  http_result unknown_out = {0};
  stream_out("no-such-container", "/tmp", "", &unknown_out);
  assert_int_equal(unknown_out.status, 404);
  assert_non_null(strstr(unknown_out.body.data, "ContainerNotFoundError"));

  http_result_clear(&missing);
  http_result_clear(&cut);
  http_result_clear(&too_long);
  cf_buf_free(&deep);
  http_result_clear(&unknown_in);
  http_result_clear(&unknown_out);
  cf_buf_free(&truncated);
  destroy_container("it-files-errors");
}

/* Finds the value of the extended attribute name of e; returns its size,
 * or -1 when e lacks it. */
static ssize_t find_xattr(struct archive_entry *e, const char *name, const void **value)
{
  archive_entry_xattr_reset(e);
  const char *entry_name;
  size_t size;
  while (archive_entry_xattr_next(e, &entry_name, value, &size) == ARCHIVE_OK) {
    if (strcmp(entry_name, name) == 0) {
      return (ssize_t)size;
    }
  }
  return -1;
}

/* Extended attributes survive a round trip as root, file capabilities
 * included, as gdn's tar --xattrs keeps them. */
static void test_xattrs_round_trip(void **state)
{
  (void)state;
  create_container("it-files-xattrs");
  /* VFS_CAP_REVISION_2 with CAP_NET_RAW permitted, as `getfattr` shows
   * for a ping binary. */
  static const unsigned char capability[20] = {0x01, 0x00, 0x00, 0x02, 0x00, 0x20};
  cf_buf tar;
  cf_buf_init(&tar, MIB);
  struct archive *a = archive_write_new();
  archive_write_set_format_pax(a);
  archive_write_open2(a, &tar, NULL, append_tar, NULL, NULL);
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, "with-xattrs");
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0755);
  archive_entry_set_size(e, 4);
  archive_entry_xattr_add_entry(e, "user.cfwin", "test", 4);
  archive_entry_xattr_add_entry(e, "security.capability", capability, sizeof(capability));
  assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
  assert_int_equal(archive_write_data(a, "body", 4), 4);
  archive_write_close(a);
  archive_write_free(a);
  archive_entry_free(e);

  http_result in = {0};
  stream_in("it-files-xattrs", "/tmp/xattrs", "", &tar, &in);
  assert_int_equal(in.status, 200);
  http_result out = {0};
  stream_out("it-files-xattrs", "/tmp/xattrs/with-xattrs", "", &out);
  assert_int_equal(out.status, 200);

  struct archive *r = archive_read_new();
  archive_read_support_format_tar(r);
  assert_int_equal(archive_read_open_memory(r, out.body.data, out.body.len), ARCHIVE_OK);
  struct archive_entry *read;
  assert_int_equal(archive_read_next_header(r, &read), ARCHIVE_OK);
  assert_string_equal(archive_entry_pathname(read), "with-xattrs");
  const void *value = NULL;
  assert_int_equal(find_xattr(read, "user.cfwin", &value), 4);
  assert_memory_equal(value, "test", 4);
  assert_int_equal(find_xattr(read, "security.capability", &value), sizeof(capability));
  assert_memory_equal(value, capability, sizeof(capability));
  archive_read_free(r);

  http_result_clear(&in);
  http_result_clear(&out);
  cf_buf_free(&tar);
  destroy_container("it-files-xattrs");
}

/* A StreamIn with Content-Length and Expect: 100-continue on a kept-alive
 * connection, with a second request sent right behind its body. */
static void test_sized_body_then_next_request(void **state)
{
  (void)state;
  create_container("it-files-sized");
  static const tar_entry one[] = {{"sized", AE_IFREG, 0644, "sized-body", NULL, 0}};
  cf_buf tar;
  build_tar(one, 1, &tar);
  cf_autofree char *path = files_path("it-files-sized", "destination", "/tmp/sized", "");
  cf_autofree char *head = cf_xasprintf("PUT %s HTTP/1.1\r\nHost: api\r\nExpect: 100-continue\r\n"
                                        "Content-Length: %zu\r\n\r\n",
                                        path, tar.len);
  int fd = connect_server();
  send_all(fd, head, strlen(head));
  char line[64] = {0};
  assert_int_equal(recv(fd, line, 25, MSG_WAITALL), 25);
  assert_string_equal(line, "HTTP/1.1 100 Continue\r\n\r\n");
  send_all(fd, tar.data, tar.len);
  static const char ping[] = "GET /ping HTTP/1.1\r\nHost: api\r\nConnection: close\r\n\r\n";
  send_all(fd, ping, sizeof(ping) - 1);
  http_result result = {0};
  read_response(fd, &result);
  close(fd);
  assert_int_equal(result.status, 200);
  /* Both responses arrived: {} for the StreamIn, then the ping's. */
  const char *second = strstr(result.body.data, "HTTP/1.1 200 OK");
  assert_non_null(second);
  assert_non_null(strstr(second, "Connection: close"));

  int status = -1;
  cf_autofree char *cat = run_shell("it-files-sized", "cat /tmp/sized/sized", &status);
  assert_string_equal(cat, "sized-body");
  http_result_clear(&result);
  cf_buf_free(&tar);
  destroy_container("it-files-sized");
}

/* Peak resident memory of the server in bytes since the last reset. */
static uint64_t server_peak_rss(void)
{
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/status", (int)server.pid);
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  char line[256];
  uint64_t kib = 0;
  while (fgets(line, sizeof(line), f) != NULL) {
    if (sscanf(line, "VmHWM: %lu kB", &kib) == 1) {
      break;
    }
  }
  fclose(f);
  return kib * 1024;
}

static void reset_peak_rss(void)
{
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/clear_refs", (int)server.pid);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs("5", f);
  fclose(f);
}

static void test_large_stream_bounded_memory(void **state)
{
  (void)state;
  create_container("it-files-large");
  const size_t size = 200 * (size_t)MIB;
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, "big");
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0644);
  archive_entry_set_size(e, (la_int64_t)size);
  cf_buf header;
  cf_buf_init(&header, MIB);
  struct archive *a = archive_write_new();
  archive_write_set_format_ustar(a);
  archive_write_set_bytes_per_block(a, 0); /* hand the header over at once */
  archive_write_open2(a, &header, NULL, append_tar, NULL, NULL);
  archive_write_header(a, e);
  assert_int_equal(header.len, 512); /* the data follows by hand */

  reset_peak_rss();
  uint64_t before = server_peak_rss();
  int fd = open_stream_in("it-files-large", "/tmp/large", "");
  send_chunk(fd, header.data, header.len);
  char *block = cf_xmalloc(MIB);
  for (size_t i = 0; i < MIB; i++) {
    block[i] = (char)('a' + i % 26);
  }
  for (size_t sent = 0; sent < size; sent += MIB) {
    send_chunk(fd, block, MIB);
  }
  char *end = cf_xcalloc(1, 1024); /* end-of-archive: two zero blocks */
  send_chunk(fd, end, 1024);
  send_all(fd, "0\r\n\r\n", 5);
  http_result result = {0};
  read_response(fd, &result);
  close(fd);
  uint64_t peak = server_peak_rss();
  assert_int_equal(result.status, 200);
  /* AddressSanitizer keeps freed blocks in a quarantine (256 MiB by
   * default), so a sanitized server's peak says nothing about buffering. */
  const char *sanitized = getenv("CFWIN_SANITIZED");
  if (sanitized != NULL && strcmp(sanitized, "1") == 0) {
    fprintf(stderr, "sanitized build: peak RSS grew from %lu to %lu bytes, not checked\n",
            (unsigned long)before, (unsigned long)peak);
  } else if (peak > before + 50 * (uint64_t)MIB) {
    fail_msg("server peak RSS grew from %lu to %lu bytes", (unsigned long)before,
             (unsigned long)peak);
  }
  int status = -1;
  cf_autofree char *stat = run_shell("it-files-large", "stat -c %s /tmp/large/big", &status);
  assert_string_equal(stat, "209715200\n");

  free(block);
  free(end);
  http_result_clear(&result);
  header.max = header.len; /* drop the padding and trailer written on free */
  archive_write_free(a);
  cf_buf_free(&header);
  archive_entry_free(e);
  destroy_container("it-files-large");
}

/* Waits up to 10 s until the server has a stream child (present) or none.
 * A stream child is a child named cfwin, because container inits and
 * processes are children of the server too. */
static bool wait_stream_child(bool present)
{
  for (int i = 0; i < 100; i++) {
    char command[128];
    snprintf(command, sizeof(command), "test %s \"$(pgrep -x -P %d cfwin)\"", present ? "-n" : "-z",
             (int)server.pid);
    if (system(command) == 0) {
      return true;
    }
    usleep(100 * 1000);
  }
  return false;
}

static bool wait_no_stream_child(void)
{
  return wait_stream_child(false);
}

/* Sends the ustar header of one file of size bytes. */
static void send_file_header(int fd, const char *name, size_t size)
{
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, name);
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0644);
  archive_entry_set_size(e, (la_int64_t)size);
  cf_buf header;
  cf_buf_init(&header, MIB);
  struct archive *a = archive_write_new();
  archive_write_set_format_ustar(a);
  archive_write_set_bytes_per_block(a, 0); /* hand the header over at once */
  archive_write_open2(a, &header, NULL, append_tar, NULL, NULL);
  assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
  assert_int_equal(header.len, 512);
  send_chunk(fd, header.data, header.len);
  header.max = header.len; /* drop the padding and trailer written on free */
  archive_write_free(a);
  cf_buf_free(&header);
  archive_entry_free(e);
}

static void test_client_vanishes_mid_stream(void **state)
{
  (void)state;
  create_container("it-files-vanish");
  /* In: a tar of one 64 MiB file of which only 4 MiB arrive. */
  int fd = open_stream_in("it-files-vanish", "/tmp/vanish", "");
  send_file_header(fd, "partial", 64 * MIB);
  char *block = cf_xcalloc(1, MIB);
  for (int i = 0; i < 4; i++) {
    send_chunk(fd, block, MIB);
  }
  close(fd);
  assert_true(wait_no_stream_child());
  assert_int_equal(cf_garden_client_ping(&server.tcp, NULL), 0);

  /* Out: a 64 MiB file of which the client reads 1 MiB. */
  int status = -1;
  free(run_shell("it-files-vanish", "dd if=/dev/zero of=/tmp/out bs=1M count=64 2>/dev/null",
                 &status));
  assert_int_equal(status, 0);
  fd = open_stream_out("it-files-vanish", "/tmp/out", "");
  size_t received = 0;
  while (received < MIB) {
    ssize_t n = recv(fd, block, MIB, 0);
    assert_true(n > 0);
    received += (size_t)n;
  }
  close(fd);
  assert_true(wait_no_stream_child());

  /* The server still serves both directions. */
  static const tar_entry one[] = {{"after", AE_IFREG, 0644, "ok", NULL, 0}};
  cf_buf tar;
  build_tar(one, 1, &tar);
  http_result in = {0};
  stream_in("it-files-vanish", "/tmp/vanish", "", &tar, &in);
  assert_int_equal(in.status, 200);
  http_result out = {0};
  stream_out("it-files-vanish", "/tmp/vanish/after", "", &out);
  assert_int_equal(out.status, 200);

  http_result_clear(&in);
  http_result_clear(&out);
  cf_buf_free(&tar);
  free(block);
  destroy_container("it-files-vanish");
}

/* Reads the capability set named field ("CapEff", "CapBnd") of pid. */
static uint64_t read_capabilities(pid_t pid, const char *field)
{
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
  FILE *f = fopen(path, "r");
  if (f == NULL) {
    return UINT64_MAX;
  }
  char line[256];
  uint64_t value = UINT64_MAX;
  size_t len = strlen(field);
  while (fgets(line, sizeof(line), f) != NULL) {
    if (strncmp(line, field, len) == 0 && line[len] == ':') {
      value = strtoull(line + len + 1, NULL, 16);
    }
  }
  fclose(f);
  return value;
}

static pid_t find_stream_child(void)
{
  char command[64];
  snprintf(command, sizeof(command), "pgrep -x -P %d cfwin", (int)server.pid);
  FILE *p = popen(command, "r");
  int pid = -1;
  if (p != NULL && fscanf(p, "%d", &pid) != 1) {
    pid = -1;
  }
  if (p != NULL) {
    pclose(p);
  }
  return (pid_t)pid;
}

/* A root StreamIn keeps only the capabilities that writing files for
 * other owners needs. CAP_DAC_READ_SEARCH is not one of them, and with it
 * open_by_handle_at(2) could reach files outside the container's root. */
static void test_root_stream_capabilities(void **state)
{
  (void)state;
  create_container("it-files-caps");
  int fd = open_stream_in("it-files-caps", "/tmp/caps", "");
  send_file_header(fd, "f", MIB);
  assert_true(wait_stream_child(true));
  pid_t child = find_stream_child();
  assert_true(child > 0);
  /* The child limits its capabilities before it reads the tar. */
  uint64_t effective = UINT64_MAX;
  for (int i = 0; i < 100; i++) {
    effective = read_capabilities(child, "CapEff");
    if ((effective & (1ULL << CAP_SYS_ADMIN)) == 0) {
      break;
    }
    usleep(100 * 1000);
  }
  assert_int_equal(effective & (1ULL << CAP_SYS_ADMIN), 0);
  assert_int_not_equal(effective & (1ULL << CAP_CHOWN), 0);
  assert_int_equal(effective & (1ULL << CAP_DAC_READ_SEARCH), 0);
  assert_int_equal(read_capabilities(child, "CapBnd") & (1ULL << CAP_DAC_READ_SEARCH), 0);
  close(fd);
  assert_true(wait_no_stream_child());
  destroy_container("it-files-caps");
}

static void test_destroy_ends_stream(void **state)
{
  (void)state;
  create_container("it-files-destroy");
  int fd = open_stream_in("it-files-destroy", "/tmp/destroy", "");
  send_file_header(fd, "partial", 64 * MIB);
  char *block = cf_xcalloc(1, MIB);
  send_chunk(fd, block, MIB);
  assert_true(wait_stream_child(true));
  destroy_container("it-files-destroy");
  assert_true(wait_no_stream_child());
  send_all(fd, "0\r\n\r\n", 5);
  http_result result = {0};
  read_response(fd, &result);
  close(fd);
  assert_int_equal(result.status, 500);
  cf_autofree char *message = error_message(&result);
  assert_non_null(strstr(message, "being destroyed"));
  http_result_clear(&result);
  free(block);
}

/* --- A container with a user namespace, through the runtime role --- */

/* Container ids 0-65535 map onto host ids from MAPPED_ROOT. */
#define MAPPED_ROOT 200000
#define MAPPED_SIZE 65536

/* Runs `cfwin runtime --root ROOT ARGS` and returns its stdout, which the
 * caller frees. Fails the test on a non-zero exit status. */
static char *run_runtime(const char *root, const char *args)
{
  cf_autofree char *command =
      cf_xasprintf("%s runtime --root %s %s", getenv("CFWIN_BINARY"), root, args);
  FILE *pipe = popen(command, "r");
  assert_non_null(pipe);
  cf_buf out;
  cf_buf_init(&out, MIB);
  char chunk[4096];
  size_t n;
  while ((n = fread(chunk, 1, sizeof(chunk), pipe)) > 0) {
    cf_buf_append(&out, chunk, n, NULL);
  }
  int status = pclose(pipe);
  if (status != 0) {
    fail_msg("%s exited with status %d", command, status);
  }
  cf_buf_append(&out, "", 1, NULL);
  return cf_buf_take(&out);
}

/* Writes a bundle whose init sleeps in a user namespace, with a directory
 * /shared owned by the container's root. */
static char *make_userns_bundle(const char *dir)
{
  cf_autofree char *rootfs = cf_path_join(dir, "rootfs");
  cf_err *err = NULL;
  if (cf_busybox_rootfs_make(CF_BUSYBOX_DEFAULT_PATH, rootfs, &err) < 0) {
    fail_msg("make rootfs: %s", err->message);
  }
  cf_autofree char *shared = cf_path_join(rootfs, "shared");
  assert_int_equal(mkdir(shared, 0755), 0);
  assert_int_equal(chown(shared, MAPPED_ROOT, MAPPED_ROOT), 0);
  json_t *config =
      json_pack("{s:s, s:{s:b, s:{s:i, s:i}, s:[s,s], s:[s], s:s}, s:{s:s}, s:[],"
                " s:{s:[{s:s}, {s:s}, {s:s}], s:[{s:i, s:i, s:i}], s:[{s:i, s:i, s:i}]}}",
                "ociVersion", "1.0.2-dev", "process", "terminal", 0, "user", "uid", 0, "gid", 0,
                "args", "sleep", "1000", "env", "PATH=/bin", "cwd", "/", "root", "path", rootfs,
                "mounts", "linux", "namespaces", "type", "pid", "type", "mount", "type", "user",
                "uidMappings", "containerID", 0, "hostID", MAPPED_ROOT, "size", MAPPED_SIZE,
                "gidMappings", "containerID", 0, "hostID", MAPPED_ROOT, "size", MAPPED_SIZE);
  cf_autofree char *path = cf_path_join(dir, "config.json");
  assert_int_equal(json_dump_file(config, path, 0), 0);
  json_decref(config);
  return cf_xstrdup(shared);
}

/* Runs a stream child to its end: writes input (StreamIn) or collects the
 * tar it writes into *output (StreamOut). Returns its exit status. */
static int run_stream_child(const cf_stream_child_spec *spec, const cf_buf *input, cf_buf *output,
                            char *message, size_t message_size)
{
  cf_stream_child child;
  cf_err *err = NULL;
  if (cf_stream_child_start(spec, &child, &err) < 0) {
    fail_msg("start stream child: %s", err->message);
  }
  if (spec->extract) {
    const char *p = input->data;
    for (size_t left = input->len; left > 0;) {
      ssize_t n = write(child.data_fd, p, left);
      assert_true(n > 0);
      p += n;
      left -= (size_t)n;
    }
  } else {
    char chunk[65536];
    ssize_t n;
    while ((n = read(child.data_fd, chunk, sizeof(chunk))) > 0) {
      cf_buf_append(output, chunk, (size_t)n, NULL);
    }
  }
  cf_closep(&child.data_fd);
  bool exited = false;
  int status = -1;
  while (!exited) {
    assert_int_equal(cf_stream_child_wait(&child, &exited, &status, message, message_size, NULL),
                     0);
    if (!exited) {
      usleep(10 * 1000);
    }
  }
  cf_stream_child_close(&child);
  return status;
}

static void test_user_namespace_container(void **state)
{
  (void)state;
  /* Mapped root needs search permission on the path to the rootfs. */
  assert_int_equal(chmod(server.dir, 0711), 0);
  cf_autofree char *dir = cf_path_join(server.dir, "it-files-userns");
  cf_autofree char *root = cf_path_join(server.dir, "userns-state");
  assert_int_equal(cf_mkdir_p(dir, 0755, NULL), 0);
  cf_autofree char *shared = make_userns_bundle(dir);
  cf_autofree char *run_args = cf_xasprintf("run -d -b %s it-files-userns", dir);
  free(run_runtime(root, run_args));
  cf_autofree char *state_text = run_runtime(root, "state it-files-userns");
  json_t *state_json = json_loads(state_text, 0, NULL);
  assert_non_null(state_json);
  cf_container_init init = {.pid = (pid_t)json_integer_value(json_object_get(state_json, "pid"))};
  json_decref(state_json);
  assert_true(init.pid > 0);
  assert_int_equal(cf_runtime_pid_start_time(init.pid, &init.start_time, NULL), 0);

  /* In: the tar's owners are container ids, so they land shifted by the
   * mapping on the host. */
  static const tar_entry files[] = {
      {"by-root", AE_IFREG, 0644, "r", NULL, 0},
      {"by-five", AE_IFREG, 0644, "5", NULL, 5},
  };
  cf_buf tar;
  build_tar(files, 2, &tar);
  char message[CF_STREAM_CHILD_MESSAGE_MAX];
  cf_stream_child_spec in = {.init_pid = init.pid,
                             .init_start_time = init.start_time,
                             .extract = true,
                             .path = "/shared/in",
                             .user = ""};
  int status = run_stream_child(&in, &tar, NULL, message, sizeof(message));
  assert_string_equal(message, "");
  assert_int_equal(status, 0);
  struct stat st;
  cf_autofree char *by_root = cf_path_join(shared, "in/by-root");
  assert_int_equal(stat(by_root, &st), 0);
  assert_int_equal(st.st_uid, MAPPED_ROOT);
  cf_autofree char *by_five = cf_path_join(shared, "in/by-five");
  assert_int_equal(stat(by_five, &st), 0);
  assert_int_equal(st.st_uid, MAPPED_ROOT + 5);

  /* Out: owners are seen from inside, with the container's names. */
  cf_stream_child_spec out = {.init_pid = init.pid,
                              .init_start_time = init.start_time,
                              .extract = false,
                              .path = "/shared/in/by-root",
                              .user = ""};
  cf_buf archive;
  cf_buf_init(&archive, MIB);
  status = run_stream_child(&out, NULL, &archive, message, sizeof(message));
  assert_int_equal(status, 0);
  read_entry entries[2];
  size_t count = read_tar(&archive, entries, 2);
  assert_int_equal(count, 1);
  assert_string_equal(entries[0].name, "by-root");
  assert_int_equal(entries[0].uid, 0);
  assert_string_equal(entries[0].uname, "root");
  free_entries(entries, count);

  free(run_runtime(root, "delete -f it-files-userns"));
  cf_buf_free(&archive);
  cf_buf_free(&tar);
}

int main(void)
{
  it_require_root();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_round_trip_of_tree, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_ownership_follows_user, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_user_errors, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_hostile_tars_rejected, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_destination_swap_race, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_stream_errors, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_xattrs_round_trip, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_sized_body_then_next_request, take_snapshot,
                                      check_leaks),
      cmocka_unit_test_setup_teardown(test_large_stream_bounded_memory, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_client_vanishes_mid_stream, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_destroy_ends_stream, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_root_stream_capabilities, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_user_namespace_container, take_snapshot, check_leaks),
  };
  return cmocka_run_group_tests(tests, setup_server, teardown_server);
}
