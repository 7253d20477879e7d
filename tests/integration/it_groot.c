/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The groot role run as a program: build/cfwin through a symbolic link
 * named groot, with a driver store in a temporary directory.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <sys/file.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/mem.h"
#include "fixture.h"
#include "testutil.h"

static char *dir;
static char *groot;
static char *store_arg;
static char *image_uri;

typedef struct output {
  int status;
  char *out;
  char *err;
} output;

static void output_clear(output *o)
{
  free(o->out);
  free(o->err);
}

static char *read_text(const char *path)
{
  cf_buf buf;
  cf_buf_init(&buf, 16 * 1024 * 1024);
  if (cf_read_file(path, &buf, NULL) < 0 || buf.data == NULL) {
    cf_buf_free(&buf);
    return cf_xstrdup("");
  }
  return cf_buf_take(&buf);
}

/* Runs groot with the arguments (NULL-terminated), capturing both streams. */
static output run_groot(const char *first, ...)
{
  const char *argv[32] = {groot};
  int argc = 1;
  va_list ap;
  va_start(ap, first);
  for (const char *arg = first; arg != NULL && argc < 31; arg = va_arg(ap, const char *)) {
    argv[argc++] = arg;
  }
  va_end(ap);
  cf_autofree char *out_path = cf_path_join(dir, "stdout");
  cf_autofree char *err_path = cf_path_join(dir, "stderr");
  pid_t pid = fork();
  if (pid == 0) {
    if (freopen(out_path, "w", stdout) == NULL || freopen(err_path, "w", stderr) == NULL) {
      _exit(127);
    }
    execv(groot, (char *const *)argv);
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  output o = {.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1};
  o.out = read_text(out_path);
  o.err = read_text(err_path);
  return o;
}

/* Starts groot in the background with its streams sent to /dev/null. */
static pid_t spawn_groot(const char *const *args)
{
  const char *argv[16] = {groot};
  int argc = 1;
  for (size_t i = 0; args[i] != NULL && argc < 15; i++) {
    argv[argc++] = args[i];
  }
  pid_t pid = fork();
  if (pid == 0) {
    if (freopen("/dev/null", "w", stdout) == NULL || freopen("/dev/null", "w", stderr) == NULL) {
      _exit(127);
    }
    execv(groot, (char *const *)argv);
    _exit(127);
  }
  return pid;
}

static int wait_status(pid_t pid)
{
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static bool path_exists(const char *path)
{
  return access(path, F_OK) == 0;
}

static int setup(void **state)
{
  dir = cf_test_tmpdir("groot");
  groot = cf_path_join(dir, "groot");
  const char *binary = getenv("CFWIN_BINARY");
  if (symlink(binary != NULL ? binary : "build/cfwin", groot) < 0) {
    return -1;
  }
  store_arg = cf_xasprintf("--driver-store=%s/store", dir);
  cf_autofree char *layout = cf_path_join(dir, "image");
  const char *build = getenv("CFWIN_BUILD_DIR");
  cf_autofree char *mkimage = cf_xasprintf("%s/cfwin-mkimage", build != NULL ? build : "build");
  char *argv[] = {mkimage, layout, "latest", NULL};
  if (it_run_command(argv) != 0) {
    return -1;
  }
  image_uri = cf_xasprintf("oci://%s:latest", layout);
  return 0;
}

static int teardown(void **state)
{
  output o = run_groot(store_arg, "list", NULL);
  char *save = NULL;
  for (char *h = strtok_r(o.out, "\n", &save); h != NULL; h = strtok_r(NULL, "\n", &save)) {
    output d = run_groot(store_arg, "delete", h, NULL);
    output_clear(&d);
  }
  output_clear(&o);
  assert_int_equal(it_count_loop_devices(dir, true), 0);
  cf_rm_rf(dir, NULL);
  free(dir);
  free(groot);
  free(store_arg);
  free(image_uri);
  return 0;
}

static void test_create_prints_spec(void **state)
{
  output o = run_groot(store_arg, "create", image_uri, "g-spec", NULL);
  assert_int_equal(o.status, 0);
  json_t *spec = json_loads(o.out, 0, NULL);
  assert_non_null(spec);
  assert_string_equal(json_string_value(json_object_get(spec, "ociVersion")), "1.2.1");
  const char *root = json_string_value(json_object_get(json_object_get(spec, "root"), "path"));
  cf_autofree char *expected_root = cf_xasprintf("%s/store/volumes/g-spec/rootfs", dir);
  assert_string_equal(root, expected_root);
  json_t *env = json_object_get(json_object_get(spec, "process"), "env");
  assert_true(json_array_size(env) > 0);
  json_t *mounts = json_object_get(spec, "mounts");
  assert_int_equal(json_array_size(mounts), 1);
  assert_string_equal(json_string_value(json_object_get(json_array_get(mounts, 0), "type")),
                      "overlay");
  assert_non_null(strstr(o.err, "\"source\":\"groot\""));
  json_decref(spec);
  output_clear(&o);
}

static void test_delete_unknown_succeeds(void **state)
{
  output o = run_groot(store_arg, "delete", "never-made", NULL);
  assert_int_equal(o.status, 0);
  assert_string_equal(o.out, "");
  assert_non_null(strstr(o.err, "volume-not-found"));
  output_clear(&o);
}

static void test_create_existing_handle_rejected(void **state)
{
  output first = run_groot(store_arg, "create", image_uri, "g-dup", NULL);
  assert_int_equal(first.status, 0);
  output second = run_groot(store_arg, "create", image_uri, "g-dup", NULL);
  assert_int_equal(second.status, 1);
  assert_string_equal(second.out, "layer already exists: g-dup\n");
  cf_autofree char *volume = cf_xasprintf("%s/store/volumes/g-dup/rootfs", dir);
  assert_true(path_exists(volume));
  output d = run_groot(store_arg, "delete", "g-dup", NULL);
  assert_int_equal(d.status, 0);
  output_clear(&first);
  output_clear(&second);
  output_clear(&d);
}

static void test_delete_impossible_handle_succeeds(void **state)
{
  static const char *const handles[] = {"..", "a/b", ".hidden"};
  for (size_t i = 0; i < sizeof(handles) / sizeof(handles[0]); i++) {
    output o = run_groot(store_arg, "delete", handles[i], NULL);
    if (o.status != 0) {
      fail_msg("delete %s: exit %d, stdout \"%s\"", handles[i], o.status, o.out);
    }
    assert_string_equal(o.out, "");
    assert_non_null(strstr(o.err, "volume-not-found"));
    output_clear(&o);
  }
  output c = run_groot(store_arg, "create", image_uri, "a/b", NULL);
  assert_int_equal(c.status, 1);
  assert_non_null(strstr(c.out, "invalid handle \"a/b\""));
  output_clear(&c);
  /* The handle is checked before the pull: an image that cannot be pulled
   * does not hide the bad handle. */
  output early = run_groot(store_arg, "create", "oci:///no/such/layout", "a/b", NULL);
  assert_int_equal(early.status, 1);
  assert_non_null(strstr(early.out, "invalid handle \"a/b\""));
  output_clear(&early);
}

static void test_help_command_and_option_hint(void **state)
{
  output h = run_groot("help", NULL);
  assert_int_equal(h.status, 0);
  assert_non_null(strstr(h.out, "usage: groot"));
  output_clear(&h);
  output u = run_groot(store_arg, "--bogus", "list", NULL);
  assert_int_equal(u.status, 1);
  assert_non_null(strstr(u.out, "unknown option --bogus; see `groot --help`"));
  assert_null(strstr(u.out, "cfwin"));
  output_clear(&u);
  output c = run_groot(store_arg, "create", "--bogus", image_uri, "g-x", NULL);
  assert_int_equal(c.status, 1);
  assert_non_null(strstr(c.out, "see `groot --help`"));
  output_clear(&c);
}

static void test_huge_disk_limit_rejected(void **state)
{
  static const char *const limits[] = {"9223372036854775000", "1125899906842625"};
  for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
    output o = run_groot(store_arg, "create", "--disk-limit-size-bytes", limits[i],
                         "--exclude-image-from-quota", image_uri, "g-huge", NULL);
    assert_int_equal(o.status, 1);
    cf_autofree char *expected = cf_xasprintf("invalid disk limit: %s", limits[i]);
    if (strstr(o.out, expected) == NULL) {
      fail_msg("expected \"%s\" in \"%s\"", expected, o.out);
    }
    assert_non_null(strstr(o.out, "1125899906842624"));
    output_clear(&o);
    cf_autofree char *volume = cf_xasprintf("%s/store/volumes/g-huge", dir);
    assert_false(path_exists(volume));
  }
}

static void test_read_only_commands_create_nothing(void **state)
{
  cf_autofree char *missing = cf_xasprintf("%s/no-store", dir);
  cf_autofree char *arg = cf_xasprintf("--driver-store=%s", missing);
  output l = run_groot(arg, "list", NULL);
  assert_int_equal(l.status, 0);
  assert_string_equal(l.out, "");
  output_clear(&l);
  output c = run_groot(arg, "capacity", NULL);
  assert_int_equal(c.status, 1);
  assert_non_null(strstr(c.out, "driver store"));
  assert_non_null(strstr(c.out, "does not exist"));
  output_clear(&c);
  output s = run_groot(arg, "stats", "g-none", NULL);
  assert_int_equal(s.status, 1);
  assert_non_null(strstr(s.out, "does not exist"));
  output_clear(&s);
  assert_false(path_exists(missing));
}

static void test_delete_removes_unrecorded_dir(void **state)
{
  output l = run_groot(store_arg, "list", NULL);
  assert_int_equal(l.status, 0);
  output_clear(&l);
  cf_autofree char *orphan = cf_xasprintf("%s/store/volumes/g-orphan/upper", dir);
  assert_int_equal(cf_mkdir_p(orphan, 0700, NULL), 0);
  output d = run_groot(store_arg, "delete", "g-orphan", NULL);
  assert_int_equal(d.status, 0);
  output_clear(&d);
  cf_autofree char *volume = cf_xasprintf("%s/store/volumes/g-orphan", dir);
  assert_false(path_exists(volume));
}

static void test_gc_sweeps_unrecorded_volume_dirs(void **state)
{
  cf_autofree char *orphan = cf_xasprintf("%s/store/volumes/g-gc-orphan/upper", dir);
  cf_autofree char *busy = cf_xasprintf("%s/store/volumes/g-gc-busy/upper", dir);
  cf_autofree char *locks = cf_xasprintf("%s/store/volumes-locks", dir);
  cf_autofree char *busy_lock = cf_xasprintf("%s/g-gc-busy", locks);
  assert_int_equal(cf_mkdir_p(orphan, 0700, NULL), 0);
  assert_int_equal(cf_mkdir_p(busy, 0700, NULL), 0);
  assert_int_equal(cf_mkdir_p(locks, 0700, NULL), 0);
  /* A create in progress holds its handle's lock: gc leaves that one. */
  int lock_fd = open(busy_lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  assert_true(lock_fd >= 0);
  assert_int_equal(flock(lock_fd, LOCK_EX), 0);

  output g = run_groot(store_arg, "gc", NULL);
  assert_int_equal(g.status, 0);
  assert_non_null(strstr(g.err, "gc.unrecorded-volume-removed"));
  output_clear(&g);
  cf_autofree char *orphan_dir = cf_xasprintf("%s/store/volumes/g-gc-orphan", dir);
  cf_autofree char *busy_dir = cf_xasprintf("%s/store/volumes/g-gc-busy", dir);
  assert_false(path_exists(orphan_dir));
  assert_true(path_exists(busy_dir));

  close(lock_fd);
  output again = run_groot(store_arg, "gc", NULL);
  assert_int_equal(again.status, 0);
  output_clear(&again);
  assert_false(path_exists(busy_dir));
}

/* Runs groot with args rounds times in a child process, which exits with
 * the number of runs that failed (at most 255). */
static pid_t spawn_groot_loop(const char *const *args, int rounds)
{
  pid_t pid = fork();
  if (pid == 0) {
    int failures = 0;
    for (int i = 0; i < rounds; i++) {
      failures += wait_status(spawn_groot(args)) != 0;
    }
    _exit(failures > 255 ? 255 : failures);
  }
  return pid;
}

/* Creates and deletes of one handle run at the same time; deletes always
 * succeed, and afterwards the volume is either listed with its directory
 * or gone with no directory. */
static void test_create_delete_race_consistent(void **state)
{
  cf_autofree char *volume = cf_xasprintf("%s/store/volumes/g-race", dir);
  const char *create_args[] = {store_arg,
                               "create",
                               "--disk-limit-size-bytes",
                               "4194304",
                               "--exclude-image-from-quota",
                               image_uri,
                               "g-race",
                               NULL};
  const char *delete_args[] = {store_arg, "delete", "g-race", NULL};
  for (int round = 0; round < 4; round++) {
    pid_t creates = spawn_groot_loop(create_args, 40);
    pid_t deletes = spawn_groot_loop(delete_args, 120);
    wait_status(creates);
    assert_int_equal(wait_status(deletes), 0);
    output l = run_groot(store_arg, "list", NULL);
    bool listed = strstr(l.out, "g-race\n") != NULL;
    output_clear(&l);
    if (listed != path_exists(volume)) {
      fail_msg("round %d: listed %d, directory exists %d", round, listed, path_exists(volume));
    }
    output d = run_groot(store_arg, "delete", "g-race", NULL);
    assert_int_equal(d.status, 0);
    output_clear(&d);
    assert_false(path_exists(volume));
  }
  assert_int_equal(it_count_loop_devices(dir, true), 0);
}

/* gc runs over and over while volumes are created; every create succeeds
 * because it pulls again when gc removed a layer after its pull. */
static void test_create_survives_concurrent_gc(void **state)
{
  const char *gc_args[] = {store_arg, "gc", NULL};
  pid_t gcs[2] = {spawn_groot_loop(gc_args, 400), spawn_groot_loop(gc_args, 400)};
  int failed = 0;
  for (int i = 0; i < 60; i++) {
    output c = run_groot(store_arg, "create", image_uri, "g-gc-race", NULL);
    if (c.status != 0 && failed++ == 0) {
      fprintf(stderr, "create %d failed: %s", i, c.out);
    }
    output_clear(&c);
    output d = run_groot(store_arg, "delete", "g-gc-race", NULL);
    assert_int_equal(d.status, 0);
    output_clear(&d);
  }
  wait_status(gcs[0]);
  wait_status(gcs[1]);
  assert_int_equal(failed, 0);
}

static long long stat_field(const char *json, const char *field)
{
  json_t *value = json_loads(json, 0, NULL);
  assert_non_null(value);
  long long n = json_integer_value(json_object_get(json_object_get(value, "disk_usage"), field));
  json_decref(value);
  return n;
}

static void test_stats_count_upper_writes(void **state)
{
  output c = run_groot(store_arg, "create", image_uri, "g-stats", NULL);
  assert_int_equal(c.status, 0);
  output_clear(&c);
  output before = run_groot(store_arg, "stats", "g-stats", NULL);
  assert_int_equal(before.status, 0);
  assert_int_equal(stat_field(before.out, "exclusive_bytes_used"), 0);
  long long total_before = stat_field(before.out, "total_bytes_used");
  assert_true(total_before > 0);

  cf_autofree char *file = cf_xasprintf("%s/store/volumes/g-stats/upper/data", dir);
  cf_autofree char *data = cf_xmalloc(1024 * 1024);
  memset(data, 'x', 1024 * 1024);
  assert_int_equal(cf_write_file_atomic(file, data, 1024 * 1024, 0644, NULL), 0);
  output after = run_groot(store_arg, "stats", "g-stats", NULL);
  assert_int_equal(stat_field(after.out, "exclusive_bytes_used"), 1024 * 1024);
  assert_int_equal(stat_field(after.out, "total_bytes_used"), total_before + 1024 * 1024);
  output_clear(&before);
  output_clear(&after);
}

static void test_limited_volume_uses_loop_device(void **state)
{
  output c = run_groot(store_arg, "create", "--disk-limit-size-bytes", "8388608",
                       "--exclude-image-from-quota", image_uri, "g-limit", NULL);
  assert_int_equal(c.status, 0);
  assert_int_equal(it_count_loop_devices(dir, false), 1);
  output s = run_groot(store_arg, "stats", "g-limit", NULL);
  assert_int_equal(s.status, 0);
  assert_int_equal(stat_field(s.out, "exclusive_bytes_used"), 0);
  output d = run_groot(store_arg, "delete", "g-limit", NULL);
  assert_int_equal(d.status, 0);
  assert_int_equal(it_count_loop_devices(dir, false), 0);
  output_clear(&c);
  output_clear(&s);
  output_clear(&d);
}

static void test_bad_uri_error_on_stdout(void **state)
{
  output o = run_groot(store_arg, "create", "oci:///no/such/layout", "g-bad", NULL);
  assert_int_equal(o.status, 1);
  assert_non_null(strstr(o.out, "pulling image: "));
  assert_non_null(strstr(o.out, "/no/such/layout"));
  output_clear(&o);
  output e = run_groot(store_arg, "stats", "g-bad", NULL);
  assert_int_equal(e.status, 1);
  assert_string_equal(e.out, "could not get volume path for bundle ID: g-bad\n");
  output_clear(&e);
}

static void test_arg_count_and_unknown_command(void **state)
{
  output o = run_groot(store_arg, "delete", NULL);
  assert_int_equal(o.status, 1);
  assert_string_equal(o.out, "Incorrect number of args. Expect 1, got 0\n");
  output_clear(&o);
  output u = run_groot(store_arg, "frobnicate", NULL);
  assert_int_equal(u.status, 3);
  assert_non_null(strstr(u.err, "No help topic for 'frobnicate'"));
  output_clear(&u);
}

static char *write_config(const char *text)
{
  char *path = cf_path_join(dir, "groot.yml");
  assert_int_equal(cf_write_file_atomic(path, text, strlen(text), 0644, NULL), 0);
  return path;
}

static void test_config_unknown_key_warned(void **state)
{
  cf_autofree char *path = write_config("log_level: debug\nlog_format: rfc3339\nfancy_option: 1\n"
                                        "insecure_registries: [\"127.0.0.1:5000\"]\n");
  cf_autofree char *config = cf_xasprintf("--config=%s", path);
  output o = run_groot(store_arg, config, "list", NULL);
  assert_int_equal(o.status, 0);
  assert_non_null(strstr(o.err, "unknown-key-ignored"));
  assert_non_null(strstr(o.err, "fancy_option"));
  assert_null(strstr(o.err, "\"key\":\"log_format\""));
  output_clear(&o);
}

static void test_config_malformed_values_rejected(void **state)
{
  static const struct {
    const char *text;
    const char *message;
  } cases[] = {
      {"log_level: loud\n", "invalid log level: loud\n"},
      {"log_level: [a, b]\n", "log_level must be a string"},
      {"insecure_registries: 5000\n", "insecure_registries must be a list"},
      {"log_level: [\n", "line "},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    cf_autofree char *path = write_config(cases[i].text);
    cf_autofree char *config = cf_xasprintf("--config=%s", path);
    output o = run_groot(store_arg, config, "list", NULL);
    assert_int_equal(o.status, 1);
    if (strstr(o.out, cases[i].message) == NULL) {
      fail_msg("config %s: expected \"%s\" in \"%s\"", cases[i].text, cases[i].message, o.out);
    }
    output_clear(&o);
  }
}

/* Counts the entries of a layer store directory other than lock files. */
static size_t count_layer_dirs(const char *layers)
{
  DIR *d = opendir(layers);
  assert_non_null(d);
  size_t count = 0;
  for (struct dirent *e = readdir(d); e != NULL; e = readdir(d)) {
    size_t len = strlen(e->d_name);
    bool lock = len > 5 && strcmp(e->d_name + len - 5, ".lock") == 0;
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 && !lock) {
      count++;
    }
  }
  closedir(d);
  return count;
}

static void test_config_max_layer_bytes_rejects_layer(void **state)
{
  /* A store of its own, because a layer that other tests pulled is not
   * unpacked again and so not measured again. */
  cf_autofree char *store = cf_xasprintf("--driver-store=%s/store-limits", dir);
  cf_autofree char *path = write_config("max_layer_bytes: 1024\n");
  cf_autofree char *config = cf_xasprintf("--config=%s", path);
  output o = run_groot(store, config, "create", image_uri, "g-too-big", NULL);
  assert_int_equal(o.status, 1);
  if (strstr(o.out, "exceeds the max_layer_bytes limit of 1024 bytes") == NULL) {
    fail_msg("expected the limit in stdout, got \"%s\"", o.out);
  }
  assert_non_null(strstr(o.out, "layer sha256:"));
  assert_non_null(strstr(o.out, "raise max_layer_bytes"));
  output_clear(&o);
  cf_autofree char *layers = cf_xasprintf("%s/store-limits/layers", dir);
  assert_int_equal(count_layer_dirs(layers), 0);

  /* write_config() replaces the file that config names. */
  cf_autofree char *bad_path = write_config("max_layer_bytes: lots\n");
  assert_string_equal(bad_path, path);
  output bad = run_groot(store, config, "list", NULL);
  assert_int_equal(bad.status, 1);
  assert_non_null(strstr(bad.out, "max_layer_bytes must be a positive integer, got \"lots\""));
  output_clear(&bad);
}

/* The pull limits and registry time limits of the config file reach the
 * pull: a one-layer image passes max_layers 1, and bad values name the key.
 * The limits themselves are tested with the image module. */
static void test_config_pull_limits_read(void **state)
{
  cf_autofree char *path = write_config("max_layers: 1\nstall_timeout_s: 5\nrequest_timeout_s: 7\n"
                                        "pull_timeout_s: 60\n");
  cf_autofree char *config = cf_xasprintf("--config=%s", path);
  output ok = run_groot(store_arg, config, "pull", image_uri, NULL);
  assert_int_equal(ok.status, 0);
  assert_null(strstr(ok.err, "unknown-key-ignored"));
  output_clear(&ok);
  const char *bad[] = {"max_layers: -1\n", "stall_timeout_s: soon\n", "request_timeout_s: 0\n",
                       "pull_timeout_s: [1]\n"};
  const char *keys[] = {"max_layers", "stall_timeout_s", "request_timeout_s", "pull_timeout_s"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    cf_autofree char *bad_path = write_config(bad[i]);
    output o = run_groot(store_arg, config, "list", NULL);
    assert_int_equal(o.status, 1);
    cf_autofree char *expected = cf_xasprintf("%s must be a positive integer", keys[i]);
    assert_non_null(strstr(o.out, expected));
    output_clear(&o);
  }
}

static void test_gc_keeps_referenced_layers(void **state)
{
  output c = run_groot(store_arg, "create", image_uri, "g-gc", NULL);
  assert_int_equal(c.status, 0);
  output_clear(&c);
  cf_autofree char *layers = cf_xasprintf("%s/store/layers", dir);
  output g = run_groot(store_arg, "gc", NULL);
  assert_int_equal(g.status, 0);
  assert_non_null(strstr(g.err, "\"removed_layers\":0"));
  output_clear(&g);
  output d = run_groot(store_arg, "delete", "g-gc", NULL);
  output_clear(&d);
  /* Other tests' volumes may still hold the layer; delete them too. */
  output l = run_groot(store_arg, "list", NULL);
  char *save = NULL;
  for (char *h = strtok_r(l.out, "\n", &save); h != NULL; h = strtok_r(NULL, "\n", &save)) {
    output x = run_groot(store_arg, "delete", h, NULL);
    output_clear(&x);
  }
  output_clear(&l);
  output g2 = run_groot(store_arg, "gc", NULL);
  assert_int_equal(g2.status, 0);
  assert_non_null(strstr(g2.err, "\"removed_layers\":1"));
  output_clear(&g2);
}

int main(void)
{
  it_require_root();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_create_prints_spec),
      cmocka_unit_test(test_delete_unknown_succeeds),
      cmocka_unit_test(test_stats_count_upper_writes),
      cmocka_unit_test(test_limited_volume_uses_loop_device),
      cmocka_unit_test(test_bad_uri_error_on_stdout),
      cmocka_unit_test(test_arg_count_and_unknown_command),
      cmocka_unit_test(test_config_unknown_key_warned),
      cmocka_unit_test(test_config_malformed_values_rejected),
      cmocka_unit_test(test_config_max_layer_bytes_rejects_layer),
      cmocka_unit_test(test_config_pull_limits_read),
      cmocka_unit_test(test_gc_keeps_referenced_layers),
      cmocka_unit_test(test_create_existing_handle_rejected),
      cmocka_unit_test(test_delete_impossible_handle_succeeds),
      cmocka_unit_test(test_help_command_and_option_hint),
      cmocka_unit_test(test_huge_disk_limit_rejected),
      cmocka_unit_test(test_read_only_commands_create_nothing),
      cmocka_unit_test(test_delete_removes_unrecorded_dir),
      cmocka_unit_test(test_gc_sweeps_unrecorded_volume_dirs),
      cmocka_unit_test(test_create_delete_race_consistent),
      cmocka_unit_test(test_create_survives_concurrent_gc),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
