/* SPDX-License-Identifier: Apache-2.0 */
/* OOM notification and statistics of a cgroup, and the `events --stats` document. */
#include "runtime/linux/cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "base/mem.h"
#include "runtime/linux/cgroup_internal.h"

#define NS_PER_US 1000u
#define NS_PER_SEC 1000000000u
/* v1 reports "no limit" as the largest page-aligned signed 64-bit value;
 * anything this large is no limit in practice. */
#define UNLIMITED_FLOOR (UINT64_C(1) << 62)
#define EVENTS_TEXT_MAX 4096

static const cg_dir *memory_dir(const cf_cgroup *cg, cf_err **err)
{
  const cg_dir *d = cg_find_dir(cg, CF_CGROUP_MEMORY);
  if (d == NULL) {
    cf_err_set(err, CF_E_NOT_FOUND, "cgroup %s has no memory controller", cg->handle);
  }
  return d;
}

/* Reads the whole file behind fd from offset 0. For a kernfs file such as
 * memory.events this also re-arms POLLPRI on that descriptor. */
static int pread_text(int fd, char *buf, size_t size, cf_err **err)
{
  ssize_t n;
  do {
    n = pread(fd, buf, size - 1, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    return cf_err_sys(err, errno, "read memory.events");
  }
  buf[n] = '\0';
  return 0;
}

/* NOTE: untested here, because the test machines bind memory to v1. */
static int watch_v2(cf_cgroup *cg, const char *dir, int *fd, cf_err **err)
{
  char path[4096];
  char text[EVENTS_TEXT_MAX];
  snprintf(path, sizeof(path), "%s/memory.events", dir);
  cf_autoclose int events_fd = open(path, O_RDONLY | O_CLOEXEC);
  if (events_fd < 0) {
    return cf_err_sys(err, errno, "open %s", path);
  }
  if (pread_text(events_fd, text, sizeof(text), err) < 0) {
    return -1;
  }
  cg->v2_oom_seen = 0;
  cg_keyed_u64(text, "oom", &cg->v2_oom_seen);
  *fd = cf_steal_fd(&events_fd);
  return 0;
}

/* Registers an eventfd for OOM notifications through cgroup.event_control,
 * which takes "<eventfd> <fd of memory.oom_control>". */
static int watch_v1(const char *dir, int *fd, cf_err **err)
{
  char path[4096];
  cf_autoclose int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (efd < 0) {
    return cf_err_sys(err, errno, "create eventfd");
  }
  snprintf(path, sizeof(path), "%s/memory.oom_control", dir);
  cf_autoclose int oom_fd = open(path, O_RDONLY | O_CLOEXEC);
  if (oom_fd < 0) {
    return cf_err_sys(err, errno, "open %s", path);
  }
  char value[32];
  snprintf(value, sizeof(value), "%d %d", efd, oom_fd);
  if (cg_write(dir, "cgroup.event_control", value, err) < 0) {
    return -1;
  }
  *fd = cf_steal_fd(&efd);
  return 0;
}

int cf_cgroup_oom_watch(cf_cgroup *cg, int *fd, short *events, cf_err **err)
{
  const cg_dir *d = memory_dir(cg, err);
  int rc = -1;
  if (d != NULL && d->v2) {
    rc = watch_v2(cg, d->path, fd, err);
    *events = POLLPRI;
  } else if (d != NULL) {
    rc = watch_v1(d->path, fd, err);
    *events = POLLIN;
  }
  return rc < 0 ? cf_err_wrap(err, "watch OOM events of cgroup %s", cg->handle) : 0;
}

int cf_cgroup_oom_drain(cf_cgroup *cg, int fd, uint64_t *ooms, cf_err **err)
{
  const cg_dir *d = memory_dir(cg, err);
  if (d == NULL) {
    return cf_err_wrap(err, "read OOM events");
  }
  *ooms = 0;
  if (d->v2) {
    char text[EVENTS_TEXT_MAX];
    uint64_t oom = 0;
    if (pread_text(fd, text, sizeof(text), err) < 0) {
      return cf_err_wrap(err, "read OOM events of cgroup %s", cg->handle);
    }
    cg_keyed_u64(text, "oom", &oom);
    *ooms = oom > cg->v2_oom_seen ? oom - cg->v2_oom_seen : 0;
    cg->v2_oom_seen = oom;
    return 0;
  }
  uint64_t count;
  ssize_t n;
  do {
    n = read(fd, &count, sizeof(count));
  } while (n < 0 && errno == EINTR);
  if (n < 0 && errno == EAGAIN) {
    return 0;
  }
  if (n != (ssize_t)sizeof(count)) {
    return cf_err_sys(err, n < 0 ? errno : EIO, "read OOM eventfd of cgroup %s", cg->handle);
  }
  *ooms = count;
  return 0;
}

int cf_cgroup_oom_kill_count(const cf_cgroup *cg, uint64_t *count, cf_err **err)
{
  const cg_dir *d = memory_dir(cg, err);
  cf_autofree char *text = NULL;
  if (d == NULL ||
      cg_read(d->path, d->v2 ? "memory.events" : "memory.oom_control", &text, err) < 0) {
    return cf_err_wrap(err, "read OOM kill count");
  }
  /* Kernels before 4.13 have no oom_kill line in v1; they count as 0. */
  *count = 0;
  cg_keyed_u64(text, "oom_kill", count);
  return 0;
}

static void add_raw(cf_cgroup_stats *stats, const char *key, size_t key_len, uint64_t value)
{
  if (stats->memory.raw_count == CF_CGROUP_RAW_MAX || key_len >= sizeof(stats->memory.raw[0].key)) {
    return;
  }
  cf_cgroup_raw_stat *raw = &stats->memory.raw[stats->memory.raw_count++];
  memcpy(raw->key, key, key_len);
  raw->key[key_len] = '\0';
  raw->value = value;
}

/* Copies the "key value" lines of memory.stat into stats->memory.raw. */
static void parse_raw(const char *text, cf_cgroup_stats *stats)
{
  for (const char *line = text; *line != '\0';) {
    size_t key_len = strcspn(line, " \n");
    uint64_t value;
    if (line[key_len] == ' ') {
      char *end;
      errno = 0;
      value = strtoull(line + key_len + 1, &end, 10);
      if (errno == 0 && end != line + key_len + 1) {
        add_raw(stats, line, key_len, value);
      }
    }
    const char *next = strchr(line, '\n');
    line = next != NULL ? next + 1 : line + strlen(line);
  }
}

static uint64_t raw_value(const cf_cgroup_stats *stats, const char *key)
{
  for (size_t i = 0; i < stats->memory.raw_count; i++) {
    if (strcmp(stats->memory.raw[i].key, key) == 0) {
      return stats->memory.raw[i].value;
    }
  }
  return 0;
}

static uint64_t limit_or_none(uint64_t limit)
{
  return limit >= UNLIMITED_FLOOR ? 0 : limit;
}

static int read_v1_memory(const char *dir, cf_cgroup_stats *stats, cf_err **err)
{
  cf_autofree char *stat = NULL;
  if (cg_read_u64(dir, "memory.usage_in_bytes", 0, &stats->memory.usage, err) < 0 ||
      cg_read_u64(dir, "memory.max_usage_in_bytes", 0, &stats->memory.max_usage, err) < 0 ||
      cg_read_u64(dir, "memory.limit_in_bytes", 0, &stats->memory.limit, err) < 0 ||
      cg_read_u64(dir, "memory.failcnt", 0, &stats->memory.failcnt, err) < 0 ||
      cg_read(dir, "memory.stat", &stat, err) < 0) {
    return -1;
  }
  stats->memory.limit = limit_or_none(stats->memory.limit);
  parse_raw(stat, stats);
  /* total_rss includes descendants; rss alone is the fallback. */
  stats->memory.total_rss = raw_value(stats, "total_rss");
  if (stats->memory.total_rss == 0) {
    stats->memory.total_rss = raw_value(stats, "rss");
  }
  return 0;
}

/* NOTE: untested here, because the test machines bind memory to v1. */
static int read_v2_memory(const char *dir, cf_cgroup_stats *stats, cf_err **err)
{
  cf_autofree char *stat = NULL;
  cf_autofree char *events = NULL;
  if (cg_read_u64(dir, "memory.current", 0, &stats->memory.usage, err) < 0 ||
      cg_read_u64(dir, "memory.max", 0, &stats->memory.limit, err) < 0 ||
      cg_read(dir, "memory.events", &events, err) < 0 ||
      cg_read(dir, "memory.stat", &stat, err) < 0) {
    return -1;
  }
  if (cg_exists(dir, "memory.peak") &&
      cg_read_u64(dir, "memory.peak", 0, &stats->memory.max_usage, err) < 0) {
    return -1;
  }
  cg_keyed_u64(events, "max", &stats->memory.failcnt);
  parse_raw(stat, stats);
  stats->memory.total_rss = raw_value(stats, "anon");
  /* Guardian computes the usage toward the limit from these v1 names. */
  uint64_t file = raw_value(stats, "file");
  uint64_t inactive_file = raw_value(stats, "inactive_file");
  add_raw(stats, "total_rss", strlen("total_rss"), stats->memory.total_rss);
  add_raw(stats, "total_cache", strlen("total_cache"), file);
  add_raw(stats, "total_inactive_file", strlen("total_inactive_file"), inactive_file);
  return 0;
}

static int read_memory(const cf_cgroup *cg, cf_cgroup_stats *stats, cf_err **err)
{
  const cg_dir *d = memory_dir(cg, err);
  if (d == NULL) {
    return -1;
  }
  int rc = d->v2 ? read_v2_memory(d->path, stats, err) : read_v1_memory(d->path, stats, err);
  if (rc < 0 || cf_cgroup_oom_kill_count(cg, &stats->memory.oom_kill, err) < 0) {
    return -1;
  }
  return 0;
}

/* v1 cpuacct: usage in ns, user and system time in USER_HZ ticks. */
static int read_v1_cpuacct(const char *dir, cf_cgroup_stats *stats, cf_err **err)
{
  cf_autofree char *stat = NULL;
  if (cg_read_u64(dir, "cpuacct.usage", 0, &stats->cpu.total_ns, err) < 0 ||
      cg_read(dir, "cpuacct.stat", &stat, err) < 0) {
    return -1;
  }
  long hz = sysconf(_SC_CLK_TCK);
  uint64_t ns_per_tick = hz > 0 ? NS_PER_SEC / (uint64_t)hz : NS_PER_SEC / 100;
  uint64_t user = 0;
  uint64_t system = 0;
  cg_keyed_u64(stat, "user", &user);
  cg_keyed_u64(stat, "system", &system);
  stats->cpu.user_ns = user * ns_per_tick;
  stats->cpu.kernel_ns = system * ns_per_tick;
  return 0;
}

/* v2 cpu.stat has the usage lines in every cgroup, with or without the cpu
 * controller, and the throttling lines only with it. */
static int read_v2_cpu_stat(const char *dir, bool usage, bool throttling, cf_cgroup_stats *stats,
                            cf_err **err)
{
  cf_autofree char *stat = NULL;
  if (cg_read(dir, "cpu.stat", &stat, err) < 0) {
    return -1;
  }
  uint64_t value;
  if (usage) {
    stats->cpu.total_ns = cg_keyed_u64(stat, "usage_usec", &value) ? value * NS_PER_US : 0;
    stats->cpu.user_ns = cg_keyed_u64(stat, "user_usec", &value) ? value * NS_PER_US : 0;
    stats->cpu.kernel_ns = cg_keyed_u64(stat, "system_usec", &value) ? value * NS_PER_US : 0;
  }
  if (throttling) {
    cg_keyed_u64(stat, "nr_periods", &stats->cpu.periods);
    cg_keyed_u64(stat, "nr_throttled", &stats->cpu.throttled_periods);
    stats->cpu.throttled_ns = cg_keyed_u64(stat, "throttled_usec", &value) ? value * NS_PER_US : 0;
  }
  return 0;
}

static int read_v1_throttling(const char *dir, cf_cgroup_stats *stats, cf_err **err)
{
  cf_autofree char *stat = NULL;
  if (cg_read(dir, "cpu.stat", &stat, err) < 0) {
    return -1;
  }
  cg_keyed_u64(stat, "nr_periods", &stats->cpu.periods);
  cg_keyed_u64(stat, "nr_throttled", &stats->cpu.throttled_periods);
  cg_keyed_u64(stat, "throttled_time", &stats->cpu.throttled_ns);
  return 0;
}

static int read_cpu(const cf_cgroup *cg, cf_cgroup_stats *stats, cf_err **err)
{
  const cg_dir *acct = cg_find_dir(cg, CF_CGROUP_CPUACCT);
  const cg_dir *cpu = cg_find_dir(cg, CF_CGROUP_CPU);
  const cg_dir *v2 = cg_find_dir(cg, CF_CGROUP_UNIFIED);
  if (acct != NULL && !acct->v2) {
    if (read_v1_cpuacct(acct->path, stats, err) < 0) {
      return -1;
    }
  } else if (v2 != NULL && read_v2_cpu_stat(v2->path, true, false, stats, err) < 0) {
    return -1;
  }
  if (cpu == NULL) {
    return 0;
  }
  return cpu->v2 ? read_v2_cpu_stat(cpu->path, false, true, stats, err)
                 : read_v1_throttling(cpu->path, stats, err);
}

static int read_pids_stats(const cf_cgroup *cg, cf_cgroup_stats *stats, cf_err **err)
{
  const cg_dir *d = cg_find_dir(cg, CF_CGROUP_PIDS);
  if (d == NULL) {
    return 0;
  }
  if (cg_read_u64(d->path, "pids.current", 0, &stats->pids.current, err) < 0 ||
      cg_read_u64(d->path, "pids.max", 0, &stats->pids.limit, err) < 0) {
    return -1;
  }
  return 0;
}

int cf_cgroup_stats_read(const cf_cgroup *cg, cf_cgroup_stats *stats, cf_err **err)
{
  memset(stats, 0, sizeof(*stats));
  if (read_memory(cg, stats, err) < 0 || read_cpu(cg, stats, err) < 0 ||
      read_pids_stats(cg, stats, err) < 0) {
    return cf_err_wrap(err, "read statistics of cgroup %s", cg->handle);
  }
  return 0;
}

/* jansson integers are signed 64-bit; no figure read here comes near. */
static json_t *number(uint64_t value)
{
  return json_integer(value > INT64_MAX ? INT64_MAX : (json_int_t)value);
}

static json_t *cpu_json(const cf_cgroup_stats *stats)
{
  return json_pack("{s:{s:o,s:o,s:o},s:{s:o,s:o,s:o}}", "usage", "total",
                   number(stats->cpu.total_ns), "kernel", number(stats->cpu.kernel_ns), "user",
                   number(stats->cpu.user_ns), "throttling", "periods", number(stats->cpu.periods),
                   "throttled_periods", number(stats->cpu.throttled_periods), "throttled_time",
                   number(stats->cpu.throttled_ns));
}

static json_t *memory_json(const cf_cgroup_stats *stats)
{
  json_t *raw = json_object();
  for (size_t i = 0; i < stats->memory.raw_count; i++) {
    json_object_set_new(raw, stats->memory.raw[i].key, number(stats->memory.raw[i].value));
  }
  /* total_rss is the one key winc has; it is there even when memory.stat
   * had no such line. */
  if (json_object_get(raw, "total_rss") == NULL) {
    json_object_set_new(raw, "total_rss", number(stats->memory.total_rss));
  }
  json_t *usage = json_pack("{s:o,s:o}", "usage", number(stats->memory.usage), "max",
                            number(stats->memory.max_usage));
  if (stats->memory.limit != 0) {
    json_object_set_new(usage, "limit", number(stats->memory.limit));
  }
  json_object_set_new(usage, "failcnt", number(stats->memory.failcnt));
  return json_pack("{s:o,s:o}", "raw", raw, "usage", usage);
}

static json_t *pids_json(const cf_cgroup_stats *stats)
{
  json_t *pids = json_pack("{s:o}", "current", number(stats->pids.current));
  if (stats->pids.limit != 0) {
    json_object_set_new(pids, "limit", number(stats->pids.limit));
  }
  return pids;
}

int cf_cgroup_stats_json(const cf_cgroup_stats *stats, char **json, cf_err **err)
{
  json_t *doc = json_pack("{s:{s:o,s:o,s:o}}", "data", "cpu", cpu_json(stats), "memory",
                          memory_json(stats), "pids", pids_json(stats));
  if (doc == NULL) {
    return cf_err_set(err, CF_E_SYSTEM, "build the statistics document");
  }
  *json = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  json_decref(doc);
  if (*json == NULL) {
    return cf_err_set(err, CF_E_SYSTEM, "format the statistics document");
  }
  return 0;
}
