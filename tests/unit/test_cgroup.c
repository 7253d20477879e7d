/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests of the cgroup support of the Linux runtime: layout detection from
 * literal /proc samples, the shares-to-weight conversion and the statistics
 * document (pure), and real cgroups under a unique parent nested in the test's
 * own cgroups (root and the v1 memory controller, else skipped). Each real
 * test checks afterwards that no directory is left under its parent.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/mem.h"
#include "runtime/linux/cgroup.h"
#include "testutil.h"

#define MIB (UINT64_C(1) << 20)
#define WAIT_MS 10000
#define POLL_STEP_US 20000

/* This test machine's hybrid layout: v1 controllers, cgroup2 with hugetlb. */
static const char hybrid_mountinfo[] =
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
    "34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices\n"
    "37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer\n"
    "38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio\n"
    "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

static const char hybrid_cgroup[] = "9:name=systemd:/\n"
                                    "8:pids:/\n"
                                    "7:blkio:/\n"
                                    "6:freezer:/\n"
                                    "5:devices:/\n"
                                    "4:memory:/process_api/abc\n"
                                    "3:cpuset:/\n"
                                    "2:cpuacct:/\n"
                                    "1:cpu:/\n"
                                    "0::/\n";

/* A v1-only host with co-mounted cpu,cpuacct and net_cls,net_prio. */
static const char v1_mountinfo[] =
    "25 18 0:22 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755\n"
    "26 25 0:23 / /sys/fs/cgroup/systemd rw,nosuid shared:9 - cgroup cgroup "
    "rw,xattr,name=systemd\n"
    "28 25 0:25 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:10 - cgroup cgroup "
    "rw,cpu,cpuacct\n"
    "29 25 0:26 / /sys/fs/cgroup/memory rw,nosuid shared:11 - cgroup cgroup rw,memory\n"
    "30 25 0:27 / /sys/fs/cgroup/pids rw,nosuid shared:12 - cgroup cgroup rw,pids\n"
    "31 25 0:28 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid shared:13 - cgroup cgroup "
    "rw,net_cls,net_prio\n"
    "32 25 0:29 / /sys/fs/cgroup/freezer rw,nosuid shared:14 - cgroup cgroup rw,freezer\n"
    "33 25 0:29 / /mnt/freezer-again rw,nosuid shared:14 - cgroup cgroup rw,freezer\n";

static const char v1_cgroup[] = "6:freezer:/\n"
                                "5:net_cls,net_prio:/\n"
                                "4:pids:/user.slice/user-1000.slice\n"
                                "3:memory:/user.slice/user-1000.slice\n"
                                "2:cpu,cpuacct:/user.slice\n"
                                "1:name=systemd:/user.slice/user-1000.slice/session-2.scope\n";

/* A v2-only host (unified at /sys/fs/cgroup). */
static const char v2_mountinfo[] =
    "24 30 0:22 / /sys rw,nosuid - sysfs sysfs rw\n"
    "35 24 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 "
    "rw,nsdelegate,memory_recursiveprot\n";

static const char v2_cgroup[] = "0::/user.slice/user-1000.slice/session-2.scope\n";

static const char v2_controllers[] = "cpuset cpu io memory hugetlb pids rdma misc\n";

/* ---- detection (pure) ---- */

static cf_cgroup_layout *parse_layout(const char *mountinfo, const char *proc_cgroup,
                                      const char *controllers)
{
  cf_cgroup_layout *layout = NULL;
  cf_err *err = NULL;
  int rc = cf_cgroup_layout_parse(mountinfo, proc_cgroup, controllers, &layout, &err);
  if (rc < 0) {
    fail_msg("parse layout: %s", err->message);
  }
  return layout;
}

static void detect_hybrid_sample(void **state)
{
  cf_cgroup_layout *layout = parse_layout(hybrid_mountinfo, hybrid_cgroup, "hugetlb\n");
  assert_int_equal(layout->mode, CF_CGROUP_MODE_HYBRID);
  assert_int_equal(layout->count, 9); /* 8 v1 controllers + cgroup2; name=systemd skipped */

  const cf_cgroup_hierarchy *memory = cf_cgroup_layout_find(layout, CF_CGROUP_MEMORY);
  assert_non_null(memory);
  assert_false(memory->v2);
  assert_string_equal(memory->mount_point, "/sys/fs/cgroup/memory");
  assert_string_equal(memory->mount_root, "/");
  assert_string_equal(memory->own_path, "/process_api/abc");

  const cf_cgroup_hierarchy *unified = cf_cgroup_layout_find(layout, CF_CGROUP_UNIFIED);
  assert_non_null(unified);
  assert_true(unified->v2);
  assert_string_equal(unified->mount_point, "/sys/fs/cgroup/unified");
  assert_string_equal(unified->own_path, "/");
  assert_int_equal(unified->controllers, CF_CGROUP_HUGETLB);

  assert_ptr_equal(cf_cgroup_layout_find(layout, CF_CGROUP_HUGETLB), unified);
  assert_string_equal(cf_cgroup_layout_find(layout, CF_CGROUP_PIDS)->mount_point,
                      "/sys/fs/cgroup/pids");
  assert_string_equal(cf_cgroup_layout_find(layout, CF_CGROUP_CPU)->mount_point,
                      "/sys/fs/cgroup/cpu");
  assert_string_equal(cf_cgroup_layout_find(layout, CF_CGROUP_CPUACCT)->mount_point,
                      "/sys/fs/cgroup/cpuacct");
  assert_null(cf_cgroup_layout_find(layout, CF_CGROUP_IO));
  cf_cgroup_layout_free(layout);
}

static void detect_v1_sample(void **state)
{
  cf_cgroup_layout *layout = parse_layout(v1_mountinfo, v1_cgroup, NULL);
  assert_int_equal(layout->mode, CF_CGROUP_MODE_V1);
  assert_int_equal(layout->count, 5); /* the second freezer mount is the same hierarchy */

  const cf_cgroup_hierarchy *cpu = cf_cgroup_layout_find(layout, CF_CGROUP_CPU);
  assert_non_null(cpu);
  assert_ptr_equal(cf_cgroup_layout_find(layout, CF_CGROUP_CPUACCT), cpu);
  assert_string_equal(cpu->mount_point, "/sys/fs/cgroup/cpu,cpuacct");
  assert_int_equal(cpu->controllers, CF_CGROUP_CPU | CF_CGROUP_CPUACCT);
  assert_string_equal(cpu->own_path, "/user.slice");

  assert_string_equal(cf_cgroup_layout_find(layout, CF_CGROUP_MEMORY)->own_path,
                      "/user.slice/user-1000.slice");
  assert_string_equal(cf_cgroup_layout_find(layout, CF_CGROUP_FREEZER)->mount_point,
                      "/sys/fs/cgroup/freezer");
  assert_int_equal(cf_cgroup_layout_find(layout, CF_CGROUP_NET_PRIO)->controllers,
                   CF_CGROUP_NET_CLS | CF_CGROUP_NET_PRIO);
  assert_null(cf_cgroup_layout_find(layout, CF_CGROUP_UNIFIED));
  assert_null(cf_cgroup_layout_find(layout, CF_CGROUP_HUGETLB));
  cf_cgroup_layout_free(layout);
}

static void detect_v2_sample(void **state)
{
  cf_cgroup_layout *layout = parse_layout(v2_mountinfo, v2_cgroup, v2_controllers);
  assert_int_equal(layout->mode, CF_CGROUP_MODE_V2);
  assert_int_equal(layout->count, 1);

  const cf_cgroup_hierarchy *unified = cf_cgroup_layout_find(layout, CF_CGROUP_UNIFIED);
  assert_non_null(unified);
  assert_string_equal(unified->mount_point, "/sys/fs/cgroup");
  assert_string_equal(unified->own_path, "/user.slice/user-1000.slice/session-2.scope");
  assert_ptr_equal(cf_cgroup_layout_find(layout, CF_CGROUP_MEMORY), unified);
  assert_ptr_equal(cf_cgroup_layout_find(layout, CF_CGROUP_CPU), unified);
  assert_ptr_equal(cf_cgroup_layout_find(layout, CF_CGROUP_PIDS), unified);
  /* v2 has no cpuacct or freezer controller: both are core features there. */
  assert_null(cf_cgroup_layout_find(layout, CF_CGROUP_CPUACCT));
  assert_null(cf_cgroup_layout_find(layout, CF_CGROUP_FREEZER));
  cf_cgroup_layout_free(layout);
}

static void detect_escaped_bind_mount(void **state)
{
  static const char mountinfo[] =
      "50 40 0:32 /docker/abc /cg\\040mem rw - cgroup cgroup rw,memory\n"
      "51 40 0:38 /docker/abc /cg2 rw - cgroup2 cgroup2 rw\n";
  static const char proc_cgroup[] = "4:memory:/docker/abc/inner\n0::/docker/abc\n";
  cf_cgroup_layout *layout = parse_layout(mountinfo, proc_cgroup, "");
  assert_int_equal(layout->mode, CF_CGROUP_MODE_HYBRID);
  const cf_cgroup_hierarchy *memory = cf_cgroup_layout_find(layout, CF_CGROUP_MEMORY);
  assert_string_equal(memory->mount_point, "/cg mem");
  assert_string_equal(memory->mount_root, "/docker/abc");
  assert_string_equal(memory->own_path, "/docker/abc/inner");
  assert_int_equal(cf_cgroup_layout_find(layout, CF_CGROUP_UNIFIED)->controllers, 0);
  cf_cgroup_layout_free(layout);
}

static void detect_without_cgroups(void **state)
{
  static const char mountinfo[] = "22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n";
  cf_cgroup_layout *layout = parse_layout(mountinfo, "", NULL);
  assert_int_equal(layout->mode, CF_CGROUP_MODE_NONE);
  assert_int_equal(layout->count, 0);
  assert_null(cf_cgroup_layout_find(layout, CF_CGROUP_MEMORY));
  cf_cgroup_layout_free(layout);
}

static void detect_rejects_malformed(void **state)
{
  cf_cgroup_layout *layout = NULL;
  cf_err *err = NULL;
  assert_int_equal(
      cf_cgroup_layout_parse("31 23 0:28 / /x rw no-separator\n", "", NULL, &layout, &err), -1);
  assert_int_equal(err->code, CF_E_INVALID);
  cf_err_clear(&err);
  assert_int_equal(cf_cgroup_layout_parse(hybrid_mountinfo, "4:memory\n", NULL, &layout, &err), -1);
  assert_int_equal(err->code, CF_E_INVALID);
  cf_err_clear(&err);
}

/* Expected weights computed by hand from 1 + (shares - 2) * 9999 / 262142. */
static void shares_to_weight_formula(void **state)
{
  assert_int_equal(cf_cgroup_shares_to_weight(2), 1);
  assert_int_equal(cf_cgroup_shares_to_weight(100), 4);     /* 98 * 9999 / 262142 = 3.74 */
  assert_int_equal(cf_cgroup_shares_to_weight(512), 20);    /* 510 * 9999 / 262142 = 19.45 */
  assert_int_equal(cf_cgroup_shares_to_weight(1024), 39);   /* 1022 * 9999 / 262142 = 38.98 */
  assert_int_equal(cf_cgroup_shares_to_weight(10000), 382); /* 9998 * 9999 / 262142 = 381.35 */
  assert_int_equal(cf_cgroup_shares_to_weight(262144), 10000);
  assert_int_equal(cf_cgroup_shares_to_weight(0), 1);
  assert_int_equal(cf_cgroup_shares_to_weight(1000000), 10000);
}

static void create_rejects_bad_names(void **state)
{
  cf_cgroup_layout *layout = parse_layout(hybrid_mountinfo, hybrid_cgroup, "hugetlb\n");
  static const char *const bad_handles[] = {"../x", "a/b", "", ".hidden", "a b"};
  static const char *const bad_parents[] = {"..", "/abs", "a//b", "a/../b", "a/", ".", "a b"};
  cf_cgroup *cg = NULL;
  cf_err *err = NULL;
  for (size_t i = 0; i < sizeof(bad_handles) / sizeof(bad_handles[0]); i++) {
    assert_int_equal(cf_cgroup_create(layout, NULL, bad_handles[i], &cg, &err), -1);
    assert_int_equal(err->code, CF_E_INVALID);
    cf_err_clear(&err);
  }
  for (size_t i = 0; i < sizeof(bad_parents) / sizeof(bad_parents[0]); i++) {
    cf_cgroup_config config = {.parent = bad_parents[i]};
    assert_int_equal(cf_cgroup_create(layout, &config, "ok", &cg, &err), -1);
    assert_int_equal(err->code, CF_E_INVALID);
    assert_non_null(strstr(err->message, "invalid cgroup parent"));
    cf_err_clear(&err);
  }
  cf_cgroup_layout_free(layout);
}

static void stats_json_shape(void **state)
{
  cf_cgroup_stats stats = {0};
  stats.cpu.total_ns = 12300;
  stats.cpu.kernel_ns = 10100;
  stats.cpu.user_ns = 2200;
  stats.cpu.periods = 21;
  stats.cpu.throttled_periods = 20;
  stats.cpu.throttled_ns = 983696063;
  stats.memory.usage = 4096;
  stats.memory.max_usage = 8192;
  stats.memory.limit = 67108864;
  stats.memory.failcnt = 3;
  stats.memory.total_rss = 666;
  stats.memory.raw[0] = (cf_cgroup_raw_stat){"cache", 1};
  stats.memory.raw[1] = (cf_cgroup_raw_stat){"total_rss", 666};
  stats.memory.raw_count = 2;
  stats.pids.current = 1;
  char *json = NULL;
  cf_err *err = NULL;
  assert_int_equal(cf_cgroup_stats_json(&stats, &json, &err), 0);
  assert_string_equal(json, "{\n"
                            "  \"data\": {\n"
                            "    \"cpu\": {\n"
                            "      \"usage\": {\n"
                            "        \"total\": 12300,\n"
                            "        \"kernel\": 10100,\n"
                            "        \"user\": 2200\n"
                            "      },\n"
                            "      \"throttling\": {\n"
                            "        \"periods\": 21,\n"
                            "        \"throttled_periods\": 20,\n"
                            "        \"throttled_time\": 983696063\n"
                            "      }\n"
                            "    },\n"
                            "    \"memory\": {\n"
                            "      \"raw\": {\n"
                            "        \"cache\": 1,\n"
                            "        \"total_rss\": 666\n"
                            "      },\n"
                            "      \"usage\": {\n"
                            "        \"usage\": 4096,\n"
                            "        \"max\": 8192,\n"
                            "        \"limit\": 67108864,\n"
                            "        \"failcnt\": 3\n"
                            "      }\n"
                            "    },\n"
                            "    \"pids\": {\n"
                            "      \"current\": 1\n"
                            "    }\n"
                            "  }\n"
                            "}");
  free(json);

  /* total_rss appears without a memory.stat line; pids.limit once set. */
  stats.memory.raw_count = 0;
  stats.pids.limit = 5;
  assert_int_equal(cf_cgroup_stats_json(&stats, &json, &err), 0);
  json_t *doc = json_loads(json, 0, NULL);
  assert_non_null(doc);
  json_t *data = json_object_get(doc, "data");
  assert_int_equal(json_integer_value(json_object_get(
                       json_object_get(json_object_get(data, "memory"), "raw"), "total_rss")),
                   666);
  assert_int_equal(json_integer_value(json_object_get(json_object_get(data, "pids"), "limit")), 5);
  json_decref(doc);
  free(json);
}

/* ---- real cgroups (root and the v1 memory controller) ---- */

typedef struct fixture {
  cf_cgroup_layout *layout;
  cf_cgroup_config config;
  char parent[64];
  cf_cgroup *cg;
} fixture;

/* The parent directory of the fixture in hierarchy h, computed here from
 * the detected mount and own cgroup rather than by the code under test. */
static char *test_parent_dir(const fixture *f, const cf_cgroup_hierarchy *h)
{
  assert_string_equal(h->mount_root, "/");
  assert_non_null(h->own_path);
  const char *own = strcmp(h->own_path, "/") == 0 ? "" : h->own_path;
  return cf_xasprintf("%s%s/%s", h->mount_point, own, f->parent);
}

static bool dir_exists(const char *path)
{
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static size_t count_subdirs(const char *path)
{
  DIR *dir = opendir(path);
  if (dir == NULL) {
    return 0;
  }
  size_t count = 0;
  struct dirent *entry;
  while ((entry = readdir(dir)) != NULL) {
    if (entry->d_type == DT_DIR && strcmp(entry->d_name, ".") != 0 &&
        strcmp(entry->d_name, "..") != 0) {
      count++;
    }
  }
  closedir(dir);
  return count;
}

static int real_setup(void **state)
{
  fixture *f = cf_xcalloc(1, sizeof(*f));
  cf_err *err = NULL;
  if (!cf_test_is_root() || cf_cgroup_detect(&f->layout, &err) < 0 ||
      cf_cgroup_layout_find(f->layout, CF_CGROUP_MEMORY) == NULL ||
      cf_cgroup_layout_find(f->layout, CF_CGROUP_MEMORY)->v2) {
    cf_err_free(err);
    cf_cgroup_layout_free(f->layout);
    free(f);
    *state = NULL;
    return 0;
  }
  char hex[13];
  assert_int_equal(cf_random_hex(hex, 6, &err), 0);
  snprintf(f->parent, sizeof(f->parent), "cfwin-test-%s", hex);
  f->config = (cf_cgroup_config){.parent = f->parent, .nest_in_own = true};
  *state = f;
  return 0;
}

/* Destroys what a failed test left, reaps every child (all are dead once
 * their cgroup is empty), then checks that no cgroup directory is left. */
static int real_teardown(void **state)
{
  fixture *f = *state;
  if (f == NULL) {
    return 0;
  }
  cf_err *err = NULL;
  if (f->cg != NULL) {
    cf_cgroup_destroy(f->cg, &err);
    cf_err_clear(&err);
    cf_cgroup_free(f->cg);
  }
  while (waitpid(-1, NULL, 0) > 0 || errno == EINTR) {
  }
  size_t leaked = 0;
  for (size_t i = 0; i < f->layout->count; i++) {
    cf_autofree char *dir = test_parent_dir(f, &f->layout->hierarchies[i]);
    leaked += count_subdirs(dir);
  }
  int rc = cf_cgroup_remove_parent(f->layout, &f->config, &err);
  for (size_t i = 0; i < f->layout->count; i++) {
    cf_autofree char *dir = test_parent_dir(f, &f->layout->hierarchies[i]);
    if (dir_exists(dir)) {
      leaked++;
      rmdir(dir);
    }
  }
  cf_err_free(err);
  cf_cgroup_layout_free(f->layout);
  free(f);
  if (rc < 0 || leaked != 0) {
    fprintf(stderr, "cgroup leak check: %zu directories left, remove parent rc %d\n", leaked, rc);
    return -1;
  }
  return 0;
}

static fixture *real_fixture(void **state)
{
  if (*state == NULL) {
    skip();
  }
  return *state;
}

static cf_cgroup *create_cgroup(fixture *f, const char *handle)
{
  cf_err *err = NULL;
  if (cf_cgroup_create(f->layout, &f->config, handle, &f->cg, &err) < 0) {
    fail_msg("create cgroup: %s", err->message);
  }
  return f->cg;
}

static void destroy_cgroup(fixture *f)
{
  cf_err *err = NULL;
  if (cf_cgroup_destroy(f->cg, &err) < 0) {
    fail_msg("destroy cgroup: %s", err->message);
  }
  cf_cgroup_free(f->cg);
  f->cg = NULL;
}

static char *read_text(const char *dir, const char *name)
{
  cf_autofree char *path = cf_path_join(dir, name);
  cf_buf buf;
  cf_buf_init(&buf, 1 << 20);
  cf_err *err = NULL;
  if (cf_read_file(path, &buf, &err) < 0) {
    fail_msg("read %s: %s", path, err->message);
  }
  char *text = cf_buf_take(&buf);
  text[strcspn(text, "\n")] = '\0';
  return text;
}

static void assert_file(const char *dir, const char *name, const char *expected)
{
  cf_autofree char *text = read_text(dir, name);
  assert_string_equal(text, expected);
}

/* A child forked into the cgroup: it waits on a pipe until the parent has
 * added it, so its work runs inside the limits, as the container init does. */
typedef struct gated_child {
  pid_t pid;
  int gate;
} gated_child;

static gated_child fork_gated(void (*work)(void *), void *arg)
{
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    char byte;
    close(fds[1]);
    if (read(fds[0], &byte, 1) != 1) {
      _exit(2);
    }
    close(fds[0]);
    work(arg);
    _exit(0);
  }
  close(fds[0]);
  return (gated_child){.pid = pid, .gate = fds[1]};
}

static void add_and_release(cf_cgroup *cg, gated_child *child)
{
  cf_err *err = NULL;
  if (cf_cgroup_add_pid(cg, child->pid, &err) < 0) {
    fail_msg("add pid: %s", err->message);
  }
  assert_int_equal(write(child->gate, "x", 1), 1);
  close(child->gate);
}

static int wait_child(pid_t pid)
{
  int status;
  pid_t rc;
  do {
    rc = waitpid(pid, &status, 0);
  } while (rc < 0 && errno == EINTR);
  assert_int_equal(rc, pid);
  return status;
}

static void work_pause(void *arg)
{
  for (;;) {
    pause();
  }
}

static void work_busy(void *arg)
{
  volatile uint64_t n = 0;
  for (;;) {
    n++;
  }
}

/* Touches 1 MiB pages of fresh anonymous memory up to the given size. */
static void work_allocate(void *arg)
{
  uint64_t total = *(uint64_t *)arg;
  for (uint64_t done = 0; done < total; done += MIB) {
    char *p = mmap(NULL, MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      _exit(3);
    }
    memset(p, 0x5a, MIB);
  }
}

static void limits_written_to_files(void **state)
{
  fixture *f = real_fixture(state);
  cf_cgroup *cg = create_cgroup(f, "limits");
  cf_err *err = NULL;
  const char *memory = cf_cgroup_dir(cg, CF_CGROUP_MEMORY);
  const char *cpu = cf_cgroup_dir(cg, CF_CGROUP_CPU);
  const char *pids = cf_cgroup_dir(cg, CF_CGROUP_PIDS);
  assert_non_null(memory);
  assert_non_null(cpu);
  assert_non_null(pids);
  cf_autofree char *memory_parent =
      test_parent_dir(f, cf_cgroup_layout_find(f->layout, CF_CGROUP_MEMORY));
  cf_autofree char *expected_memory = cf_path_join(memory_parent, "limits");
  assert_string_equal(memory, expected_memory);
  cf_autofree char *memsw_path = cf_path_join(memory, "memory.memsw.limit_in_bytes");
  bool memsw = access(memsw_path, F_OK) == 0;

  assert_int_equal(cf_cgroup_set_memory_limit(cg, 64 * MIB, &err), 0);
  assert_file(memory, "memory.limit_in_bytes", "67108864");
  if (memsw) {
    assert_file(memory, "memory.memsw.limit_in_bytes", "67108864");
  }
  /* Raising needs memsw first, lowering needs it last. */
  assert_int_equal(cf_cgroup_set_memory_limit(cg, 128 * MIB, &err), 0);
  assert_file(memory, "memory.limit_in_bytes", "134217728");
  if (memsw) {
    assert_file(memory, "memory.memsw.limit_in_bytes", "134217728");
  }
  assert_int_equal(cf_cgroup_set_memory_limit(cg, 32 * MIB, &err), 0);
  assert_file(memory, "memory.limit_in_bytes", "33554432");

  assert_int_equal(cf_cgroup_set_cpu_shares(cg, 256, &err), 0);
  assert_file(cpu, "cpu.shares", "256");
  assert_int_equal(cf_cgroup_set_cpu_shares(cg, 0, &err), 0);
  assert_file(cpu, "cpu.shares", "1024");

  assert_int_equal(cf_cgroup_set_cpu_max(cg, 10000, 50000, &err), 0);
  assert_file(cpu, "cpu.cfs_quota_us", "10000");
  assert_file(cpu, "cpu.cfs_period_us", "50000");
  assert_int_equal(cf_cgroup_set_cpu_max(cg, 0, 0, &err), 0);
  assert_file(cpu, "cpu.cfs_quota_us", "-1");
  assert_file(cpu, "cpu.cfs_period_us", "100000");
  assert_int_equal(cf_cgroup_set_cpu_max(cg, 10, 100000, &err), -1);
  assert_int_equal(err->code, CF_E_INVALID);
  cf_err_clear(&err);
  assert_int_equal(cf_cgroup_set_cpu_max(cg, 50000, 500, &err), -1);
  assert_int_equal(err->code, CF_E_INVALID);
  cf_err_clear(&err);

  assert_int_equal(cf_cgroup_set_pids_max(cg, 5, &err), 0);
  assert_file(pids, "pids.max", "5");
  assert_int_equal(cf_cgroup_set_pids_max(cg, 0, &err), 0);
  assert_file(pids, "pids.max", "max");
  destroy_cgroup(f);
}

static void hybrid_uses_v1_and_unified(void **state)
{
  fixture *f = real_fixture(state);
  const cf_cgroup_hierarchy *unified = cf_cgroup_layout_find(f->layout, CF_CGROUP_UNIFIED);
  if (f->layout->mode != CF_CGROUP_MODE_HYBRID || unified == NULL) {
    skip();
  }
  cf_cgroup *cg = create_cgroup(f, "hybrid");
  const char *v2 = cf_cgroup_dir(cg, CF_CGROUP_UNIFIED);
  assert_non_null(v2);
  cf_autofree char *v2_parent = test_parent_dir(f, unified);
  cf_autofree char *expected = cf_path_join(v2_parent, "hybrid");
  assert_string_equal(v2, expected);
  /* Memory and CPU are served by v1; v2 offers only its core files. */
  cf_autofree char *memory_max = cf_path_join(v2, "memory.max");
  cf_autofree char *procs = cf_path_join(v2, "cgroup.procs");
  assert_int_equal(access(memory_max, F_OK), -1);
  assert_int_equal(access(procs, F_OK), 0);
  assert_int_equal(strncmp(cf_cgroup_dir(cg, CF_CGROUP_MEMORY), "/sys/fs/cgroup/memory", 21), 0);

  cf_err *err = NULL;
  cf_cgroup *again = NULL;
  assert_int_equal(cf_cgroup_create(f->layout, &f->config, "hybrid", &again, &err), -1);
  assert_int_equal(err->code, CF_E_EXISTS);
  cf_err_clear(&err);
  destroy_cgroup(f);
}

static void memory_limit_oom_event(void **state)
{
  fixture *f = real_fixture(state);
  cf_cgroup *cg = create_cgroup(f, "oom");
  cf_err *err = NULL;
  assert_int_equal(cf_cgroup_set_memory_limit(cg, 32 * MIB, &err), 0);
  int fd = -1;
  short events = 0;
  if (cf_cgroup_oom_watch(cg, &fd, &events, &err) < 0) {
    fail_msg("watch: %s", err->message);
  }
  assert_int_equal(events, POLLIN);

  uint64_t allocate = 256 * MIB;
  gated_child child = fork_gated(work_allocate, &allocate);
  add_and_release(cg, &child);
  int status = wait_child(child.pid);
  assert_true(WIFSIGNALED(status));
  assert_int_equal(WTERMSIG(status), SIGKILL);

  struct pollfd pfd = {.fd = fd, .events = events};
  assert_int_equal(poll(&pfd, 1, WAIT_MS), 1);
  uint64_t ooms = 0;
  assert_int_equal(cf_cgroup_oom_drain(cg, fd, &ooms, &err), 0);
  assert_true(ooms >= 1);
  uint64_t kills = 0;
  assert_int_equal(cf_cgroup_oom_kill_count(cg, &kills, &err), 0);
  assert_true(kills >= 1);
  cf_cgroup_stats stats;
  assert_int_equal(cf_cgroup_stats_read(cg, &stats, &err), 0);
  assert_true(stats.memory.oom_kill >= 1);
  assert_int_equal(stats.memory.limit, 32 * MIB);
  /* Nothing further happened, so a second drain finds nothing. */
  assert_int_equal(cf_cgroup_oom_drain(cg, fd, &ooms, &err), 0);
  assert_int_equal(ooms, 0);
  close(fd);
  destroy_cgroup(f);
}

typedef struct fork_result {
  int forked;
  int error;
} fork_result;

/* Forks pausing children until fork fails, then reports through the pipe. */
static void work_fork_until_failure(void *arg)
{
  int report = *(int *)arg;
  fork_result result = {0};
  for (int i = 0; i < 16; i++) {
    pid_t pid = fork();
    if (pid < 0) {
      result.error = errno;
      break;
    }
    if (pid == 0) {
      work_pause(NULL);
    }
    result.forked++;
  }
  if (write(report, &result, sizeof(result)) != (ssize_t)sizeof(result)) {
    _exit(4);
  }
  work_pause(NULL);
}

static void pids_limit_fork_fails(void **state)
{
  fixture *f = real_fixture(state);
  cf_cgroup *cg = create_cgroup(f, "pids");
  cf_err *err = NULL;
  assert_int_equal(cf_cgroup_set_pids_max(cg, 4, &err), 0);
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  gated_child child = fork_gated(work_fork_until_failure, &fds[1]);
  close(fds[1]);
  add_and_release(cg, &child);

  fork_result result = {0};
  assert_int_equal(read(fds[0], &result, sizeof(result)), sizeof(result));
  close(fds[0]);
  assert_int_equal(result.error, EAGAIN);
  assert_int_equal(result.forked, 3); /* the child itself is the fourth */
  cf_cgroup_stats stats;
  assert_int_equal(cf_cgroup_stats_read(cg, &stats, &err), 0);
  assert_int_equal(stats.pids.current, 4);
  assert_int_equal(stats.pids.limit, 4);

  assert_int_equal(cf_cgroup_kill(cg, &err), 0);
  int status = wait_child(child.pid);
  assert_true(WIFSIGNALED(status));
  assert_int_equal(WTERMSIG(status), SIGKILL);
  destroy_cgroup(f);
}

static void cpu_max_throttles(void **state)
{
  fixture *f = real_fixture(state);
  cf_cgroup *cg = create_cgroup(f, "cpu");
  cf_err *err = NULL;
  assert_int_equal(cf_cgroup_set_cpu_max(cg, 10000, 100000, &err), 0);
  assert_int_equal(cf_cgroup_set_cpu_shares(cg, 512, &err), 0);
  gated_child child = fork_gated(work_busy, NULL);
  add_and_release(cg, &child);

  /* Polls the counter; the bound only ends a hung test and decides nothing. */
  cf_cgroup_stats stats = {0};
  for (int waited = 0; waited < WAIT_MS * 1000; waited += POLL_STEP_US) {
    assert_int_equal(cf_cgroup_stats_read(cg, &stats, &err), 0);
    if (stats.cpu.throttled_periods > 0) {
      break;
    }
    usleep(POLL_STEP_US);
  }
  assert_true(stats.cpu.throttled_periods > 0);
  assert_true(stats.cpu.periods >= stats.cpu.throttled_periods);
  assert_true(stats.cpu.throttled_ns > 0);
  assert_true(stats.cpu.total_ns > 0);
  cf_autofree char *cpu_stat = read_text(cf_cgroup_dir(cg, CF_CGROUP_CPU), "cpu.stat");
  assert_non_null(strstr(cpu_stat, "nr_periods"));

  assert_int_equal(cf_cgroup_kill(cg, &err), 0);
  int status = wait_child(child.pid);
  assert_int_equal(WTERMSIG(status), SIGKILL);
  destroy_cgroup(f);
}

static void kill_empties_cgroup(void **state)
{
  fixture *f = real_fixture(state);
  cf_cgroup *cg = create_cgroup(f, "kill");
  cf_err *err = NULL;
  gated_child children[3];
  for (size_t i = 0; i < 3; i++) {
    children[i] = fork_gated(work_pause, NULL);
    add_and_release(cg, &children[i]);
  }
  pid_t *pids = NULL;
  size_t count = 0;
  assert_int_equal(cf_cgroup_pids(cg, &pids, &count, &err), 0);
  assert_int_equal(count, 3);
  free(pids);

  assert_int_equal(cf_cgroup_kill(cg, &err), 0);
  for (size_t i = 0; i < f->layout->count; i++) {
    const char *dir =
        cf_cgroup_dir(cg, f->layout->hierarchies[i].v2 ? CF_CGROUP_UNIFIED
                                                       : f->layout->hierarchies[i].controllers);
    if (dir != NULL) {
      cf_autofree char *procs = read_text(dir, "cgroup.procs");
      assert_string_equal(procs, "");
    }
  }
  for (size_t i = 0; i < 3; i++) {
    int status = wait_child(children[i].pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGKILL);
  }
  destroy_cgroup(f);
}

/* Hides the v2 hierarchy from the layout, so the kill takes the v1 route:
 * freeze, signal each pid, thaw. */
static void kill_through_v1_freezer(void **state)
{
  fixture *f = real_fixture(state);
  cf_cgroup_layout *layout = f->layout;
  for (size_t i = 0; i + 1 < layout->count; i++) {
    if (layout->hierarchies[i].v2) {
      cf_cgroup_hierarchy v2 = layout->hierarchies[i];
      layout->hierarchies[i] = layout->hierarchies[layout->count - 1];
      layout->hierarchies[layout->count - 1] = v2;
    }
  }
  bool hidden = layout->count > 0 && layout->hierarchies[layout->count - 1].v2;
  layout->count -= hidden;
  cf_cgroup *cg = create_cgroup(f, "freezer");
  assert_null(cf_cgroup_dir(cg, CF_CGROUP_UNIFIED));
  assert_non_null(cf_cgroup_dir(cg, CF_CGROUP_FREEZER));
  cf_err *err = NULL;
  gated_child children[2];
  for (size_t i = 0; i < 2; i++) {
    children[i] = fork_gated(work_pause, NULL);
    add_and_release(cg, &children[i]);
  }
  assert_int_equal(cf_cgroup_kill(cg, &err), 0);
  cf_autofree char *procs = read_text(cf_cgroup_dir(cg, CF_CGROUP_MEMORY), "cgroup.procs");
  assert_string_equal(procs, "");
  cf_autofree char *state_text = read_text(cf_cgroup_dir(cg, CF_CGROUP_FREEZER), "freezer.state");
  assert_string_equal(state_text, "THAWED");
  for (size_t i = 0; i < 2; i++) {
    assert_int_equal(WTERMSIG(wait_child(children[i].pid)), SIGKILL);
  }
  destroy_cgroup(f);
  layout->count += hidden;
}

static void destroy_is_idempotent(void **state)
{
  fixture *f = real_fixture(state);
  cf_cgroup *cg = create_cgroup(f, "destroy");
  cf_err *err = NULL;
  gated_child child = fork_gated(work_pause, NULL);
  add_and_release(cg, &child);
  char *dirs[8];
  size_t dir_count = 0;
  for (size_t i = 0; i < f->layout->count && dir_count < 8; i++) {
    cf_autofree char *parent = test_parent_dir(f, &f->layout->hierarchies[i]);
    char *dir = cf_path_join(parent, "destroy");
    if (dir_exists(dir)) {
      dirs[dir_count++] = dir;
    } else {
      free(dir);
    }
  }
  assert_true(dir_count >= 4); /* memory, cpu, cpuacct, pids at least */

  assert_int_equal(cf_cgroup_destroy(cg, &err), 0);
  for (size_t i = 0; i < dir_count; i++) {
    assert_false(dir_exists(dirs[i]));
    free(dirs[i]);
  }
  assert_int_equal(cf_cgroup_destroy(cg, &err), 0);
  assert_int_equal(WTERMSIG(wait_child(child.pid)), SIGKILL);
  cf_cgroup_free(cg);
  f->cg = NULL;

  cf_cgroup *gone = NULL;
  assert_int_equal(cf_cgroup_open(f->layout, &f->config, "destroy", &gone, &err), -1);
  assert_int_equal(err->code, CF_E_NOT_FOUND);
  cf_err_clear(&err);
}

/* The runtime CLI finds a cgroup from its handle alone, in another process. */
static void open_from_other_process(void **state)
{
  fixture *f = real_fixture(state);
  cf_cgroup *cg = create_cgroup(f, "reopen");
  cf_err *err = NULL;
  assert_int_equal(cf_cgroup_set_pids_max(cg, 7, &err), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    cf_cgroup_layout *layout = NULL;
    cf_cgroup *opened = NULL;
    cf_cgroup_stats stats;
    if (cf_cgroup_detect(&layout, NULL) < 0 ||
        cf_cgroup_open(layout, &f->config, "reopen", &opened, NULL) < 0 ||
        cf_cgroup_stats_read(opened, &stats, NULL) < 0) {
      _exit(1);
    }
    _exit(stats.pids.limit == 7 && strcmp(cf_cgroup_dir(opened, CF_CGROUP_MEMORY),
                                          cf_cgroup_dir(cg, CF_CGROUP_MEMORY)) == 0
              ? 0
              : 2);
  }
  int status = wait_child(pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  destroy_cgroup(f);
}

/* Opening one controller's hierarchy finds that directory and no other. */
static void open_memory_controller_only(void **state)
{
  fixture *f = real_fixture(state);
  cf_cgroup *cg = create_cgroup(f, "onectl");
  cf_err *err = NULL;
  cf_cgroup *opened = NULL;
  assert_int_equal(
      cf_cgroup_open_controller(f->layout, &f->config, "onectl", CF_CGROUP_MEMORY, &opened, &err),
      0);
  assert_string_equal(cf_cgroup_dir(opened, CF_CGROUP_MEMORY), cf_cgroup_dir(cg, CF_CGROUP_MEMORY));
  assert_null(cf_cgroup_dir(opened, CF_CGROUP_PIDS));
  uint64_t kills = 99;
  assert_int_equal(cf_cgroup_oom_kill_count(opened, &kills, &err), 0);
  assert_int_equal(kills, 0);
  cf_cgroup_free(opened);

  assert_int_equal(cf_cgroup_open_controller(f->layout, &f->config, "no-such-cgroup",
                                             CF_CGROUP_MEMORY, &opened, &err),
                   -1);
  assert_int_equal(err->code, CF_E_NOT_FOUND);
  cf_err_free(err);
  destroy_cgroup(f);
}

static void stats_of_real_cgroup(void **state)
{
  fixture *f = real_fixture(state);
  cf_cgroup *cg = create_cgroup(f, "stats");
  cf_err *err = NULL;
  assert_int_equal(cf_cgroup_set_memory_limit(cg, 64 * MIB, &err), 0);
  uint64_t allocate = 8 * MIB;
  gated_child child = fork_gated(work_allocate, &allocate);
  add_and_release(cg, &child);
  assert_int_equal(WEXITSTATUS(wait_child(child.pid)), 0);
  gated_child sleeper = fork_gated(work_pause, NULL);
  add_and_release(cg, &sleeper);

  cf_cgroup_stats stats;
  assert_int_equal(cf_cgroup_stats_read(cg, &stats, &err), 0);
  assert_int_equal(stats.pids.current, 1);
  assert_int_equal(stats.memory.limit, 64 * MIB);
  assert_true(stats.memory.max_usage >= 8 * MIB);
  assert_true(stats.memory.raw_count > 10);
  assert_int_equal(stats.memory.oom_kill, 0);

  char *json = NULL;
  assert_int_equal(cf_cgroup_stats_json(&stats, &json, &err), 0);
  json_t *doc = json_loads(json, 0, NULL);
  free(json);
  assert_non_null(doc);
  json_t *data = json_object_get(doc, "data");
  json_t *usage = json_object_get(json_object_get(data, "cpu"), "usage");
  assert_true(json_is_integer(json_object_get(usage, "total")));
  assert_true(json_is_integer(json_object_get(usage, "kernel")));
  assert_true(json_is_integer(json_object_get(usage, "user")));
  json_t *raw = json_object_get(json_object_get(data, "memory"), "raw");
  assert_true(json_is_integer(json_object_get(raw, "total_rss")));
  assert_true(json_is_integer(json_object_get(raw, "total_cache")));
  assert_int_equal(json_integer_value(json_object_get(json_object_get(data, "pids"), "current")),
                   1);
  json_decref(doc);

  assert_int_equal(cf_cgroup_kill(cg, &err), 0);
  assert_int_equal(WTERMSIG(wait_child(sleeper.pid)), SIGKILL);
  destroy_cgroup(f);
}

int main(void)
{
  /* Grandchildren of a test (the pids test) are reparented here, so the
   * teardown can reap them. */
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  const struct CMUnitTest pure[] = {
      cmocka_unit_test(detect_hybrid_sample),     cmocka_unit_test(detect_v1_sample),
      cmocka_unit_test(detect_v2_sample),         cmocka_unit_test(detect_escaped_bind_mount),
      cmocka_unit_test(detect_without_cgroups),   cmocka_unit_test(detect_rejects_malformed),
      cmocka_unit_test(shares_to_weight_formula), cmocka_unit_test(create_rejects_bad_names),
      cmocka_unit_test(stats_json_shape),
  };
  const struct CMUnitTest real[] = {
      cmocka_unit_test_setup_teardown(limits_written_to_files, real_setup, real_teardown),
      cmocka_unit_test_setup_teardown(hybrid_uses_v1_and_unified, real_setup, real_teardown),
      cmocka_unit_test_setup_teardown(memory_limit_oom_event, real_setup, real_teardown),
      cmocka_unit_test_setup_teardown(pids_limit_fork_fails, real_setup, real_teardown),
      cmocka_unit_test_setup_teardown(cpu_max_throttles, real_setup, real_teardown),
      cmocka_unit_test_setup_teardown(kill_empties_cgroup, real_setup, real_teardown),
      cmocka_unit_test_setup_teardown(kill_through_v1_freezer, real_setup, real_teardown),
      cmocka_unit_test_setup_teardown(destroy_is_idempotent, real_setup, real_teardown),
      cmocka_unit_test_setup_teardown(open_from_other_process, real_setup, real_teardown),
      cmocka_unit_test_setup_teardown(open_memory_controller_only, real_setup, real_teardown),
      cmocka_unit_test_setup_teardown(stats_of_real_cgroup, real_setup, real_teardown),
  };
  int failed = cmocka_run_group_tests(pure, NULL, NULL);
  failed += cmocka_run_group_tests(real, NULL, NULL);
  return failed == 0 ? 0 : 1;
}
