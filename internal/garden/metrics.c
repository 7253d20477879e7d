/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Metrics and BulkMetrics: cgroup figures, disk use, age and CPU
 * entitlement of containers in Garden's newest Metrics shape. The backend
 * calls run on a worker thread, because measuring a volume may start a
 * child process.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/mem.h"
#include "garden/host.h"
#include "garden/internal.h"
#include "garden/json.h"
#include "garden/limits.h"

double cf_cpu_entitlement_default(void)
{
  uint64_t memory = 0;
  long cores = cf_host_cpu_count();
  if (cf_host_memory_bytes(&memory, NULL) < 0 || cores <= 0) {
    return 0;
  }
  double memory_mib = (double)memory / (1024.0 * 1024.0);
  return memory_mib > 0 ? (double)cores * 100.0 / memory_mib : 0;
}

static json_t *u64(uint64_t value)
{
  return json_integer(value > INT64_MAX ? INT64_MAX : (json_int_t)value);
}

/* Garden's ContainerMemoryStat, keys in its field order. The runtime reads
 * usage, rss, cache and the limit; the other counters are 0. */
static json_t *memory_json(const cf_container_usage *usage)
{
  uint64_t rss = usage->memory_rss;
  uint64_t cache = usage->memory_cache;
  uint64_t limit = usage->memory_limit;
  const struct {
    const char *key;
    uint64_t value;
  } entries[] = {
      {"active_anon", 0},
      {"active_file", 0},
      {"cache", cache},
      {"hierarchical_memory_limit", limit},
      {"inactive_anon", 0},
      {"inactive_file", 0},
      {"mapped_file", 0},
      {"pgfault", 0},
      {"pgmajfault", 0},
      {"pgpgin", 0},
      {"pgpgout", 0},
      {"rss", rss},
      {"total_active_anon", 0},
      {"total_active_file", 0},
      {"total_cache", cache},
      {"total_inactive_anon", 0},
      {"total_inactive_file", 0},
      {"total_mapped_file", 0},
      {"total_pgfault", 0},
      {"total_pgmajfault", 0},
      {"total_pgpgin", 0},
      {"total_pgpgout", 0},
      {"total_rss", rss},
      {"total_unevictable", 0},
      {"unevictable", 0},
      {"swap", 0},
      {"hierarchical_memsw_limit", limit},
      {"total_swap", 0},
      /* NOTE: Guardian subtracts total_inactive_file, which the runtime
       * does not read yet, so this also counts inactive page cache. */
      {"TotalUsageTowardLimit", rss + cache},
      {"anon", rss},
      {"file", cache},
      {"swapcached", 0},
  };
  json_t *stat = json_object();
  for (size_t i = 0; i < sizeof(entries) / sizeof(entries[0]); i++) {
    json_object_set_new(stat, entries[i].key, u64(entries[i].value));
  }
  return stat;
}

/* Guardian's entitlement: shares times the percentage per share times the
 * age, in CPU nanoseconds. */
static uint64_t cpu_entitlement(const cf_backend_metrics *metrics, double per_share)
{
  double shares = (double)cf_limits_cpu_shares(&metrics->limits);
  double entitlement = shares * (per_share / 100.0) * (double)metrics->age_ns;
  return entitlement >= (double)INT64_MAX ? INT64_MAX : (uint64_t)entitlement;
}

/* Garden's ContainerNetworkStat, or null for a container without a
 * network interface. */
static json_t *network_json(const cf_backend_metrics *metrics)
{
  if (!metrics->has_network) {
    return json_null();
  }
  return json_pack("{s:o, s:o}", "RxBytes", u64(metrics->rx_bytes), "TxBytes",
                   u64(metrics->tx_bytes));
}

/* A Metrics object. */
static json_t *metrics_json(const cf_backend_metrics *metrics, double per_share)
{
  const cf_container_usage *usage = &metrics->usage;
  json_t *cpu = json_pack("{s:o, s:o, s:o}", "Usage", u64(usage->cpu_total_ns), "User",
                          u64(usage->cpu_user_ns), "System", u64(usage->cpu_kernel_ns));
  json_t *disk = json_pack("{s:I, s:i, s:I, s:i}", "TotalBytesUsed",
                           (json_int_t)metrics->disk.total_bytes_used, "TotalInodesUsed", 0,
                           "ExclusiveBytesUsed", (json_int_t)metrics->disk.exclusive_bytes_used,
                           "ExclusiveInodesUsed", 0);
  json_t *pids =
      json_pack("{s:o, s:o}", "Current", u64(usage->pids), "Max", u64(usage->pids_limit));
  return json_pack("{s:o, s:o, s:o, s:o, s:o, s:I, s:o}", "MemoryStat", memory_json(usage),
                   "CPUStat", cpu, "DiskStat", disk, "NetworkStat", network_json(metrics),
                   "PidStat", pids, "Age", (json_int_t)metrics->age_ns, "CPUEntitlement",
                   u64(cpu_entitlement(metrics, per_share)));
}

typedef struct metrics_work {
  uv_work_t work;
  cf_conn *conn;
  bool bulk;
  char **handles;
  size_t count;
  bool *usable; /* per handle, decided on the loop thread */
  cf_backend_metrics *results;
  cf_err **errors;
} metrics_work;

static void metrics_work_free(metrics_work *mw)
{
  for (size_t i = 0; i < mw->count; i++) {
    cf_err_free(mw->errors[i]);
  }
  cf_strv_free(mw->handles, mw->count);
  free(mw->usable);
  free(mw->results);
  free(mw->errors);
  free(mw);
}

static void run_metrics(uv_work_t *work)
{
  metrics_work *mw = work->data;
  cf_backend *backend = mw->conn->server->backend;
  for (size_t i = 0; i < mw->count; i++) {
    if (!mw->usable[i]) {
      cf_err_set(&mw->errors[i], CF_E_NOT_FOUND, "unknown handle: %s", mw->handles[i]);
      continue;
    }
    cf_backend_metrics_get(backend, mw->handles[i], &mw->results[i], &mw->errors[i]);
  }
}

/* The zero Metrics Go sends next to an error. */
static json_t *zero_metrics_json(void)
{
  cf_backend_metrics zero = {0};
  return metrics_json(&zero, 0);
}

/* One entry of BulkMetrics; errors have an empty Type, as Guardian wraps
 * every per-handle error as a plain error. */
static json_t *metrics_entry(const metrics_work *mw, size_t i, double per_share)
{
  if (mw->errors[i] == NULL) {
    return json_pack("{s:o, s:n}", "Metrics", metrics_json(&mw->results[i], per_share), "Err");
  }
  json_t *envelope = cf_json_error_envelope("", mw->errors[i]->message, NULL, NULL);
  return json_pack("{s:o, s:o}", "Metrics", zero_metrics_json(), "Err", envelope);
}

static void respond_bulk(cf_conn *conn, const metrics_work *mw)
{
  json_t *body = json_object();
  for (size_t i = 0; i < mw->count; i++) {
    cf_json_set_coerced(body, mw->handles[i],
                        metrics_entry(mw, i, conn->server->cpu_entitlement_per_share));
  }
  cf_conn_respond_json(conn, 200, body);
  json_decref(body);
}

static void respond_single(cf_conn *conn, const metrics_work *mw)
{
  if (mw->errors[0] != NULL) {
    cf_conn_respond_error(conn, mw->errors[0], mw->handles[0], NULL);
    return;
  }
  json_t *body = metrics_json(&mw->results[0], conn->server->cpu_entitlement_per_share);
  cf_conn_respond_json(conn, 200, body);
  json_decref(body);
}

static void after_metrics(uv_work_t *work, int status)
{
  metrics_work *mw = work->data;
  cf_conn *conn = mw->conn;
  if (mw->bulk) {
    respond_bulk(conn, mw);
  } else {
    if (mw->errors[0] != NULL) {
      cf_log_error("metrics.failed", mw->errors[0], "{s:s}", "handle", mw->handles[0]);
    }
    respond_single(conn, mw);
  }
  metrics_work_free(mw);
  cf_conn_request_done(conn);
}

/* Takes handles (a new vector of count strings) and queues their
 * measurement. */
static void queue_metrics(cf_conn *conn, char **handles, size_t count, bool bulk)
{
  metrics_work *mw = cf_xcalloc(1, sizeof(*mw));
  mw->conn = conn;
  mw->bulk = bulk;
  mw->handles = handles;
  mw->count = count;
  mw->usable = cf_xcalloc(count + 1, sizeof(*mw->usable));
  mw->results = cf_xcalloc(count + 1, sizeof(*mw->results));
  mw->errors = cf_xcalloc(count + 1, sizeof(*mw->errors));
  for (size_t i = 0; i < count; i++) {
    mw->usable[i] = cf_ctr_usable(conn->server, handles[i]);
  }
  mw->work.data = mw;
  uv_queue_work(conn->server->loop, &mw->work, run_metrics, after_metrics);
}

void cf_handle_metrics(cf_conn *conn, const char *handle)
{
  if (cf_ctr_lookup(conn, handle) == NULL) {
    return;
  }
  char **handles = cf_xcalloc(2, sizeof(*handles));
  handles[0] = cf_xstrdup(handle);
  queue_metrics(conn, handles, 1, false);
}

void cf_handle_bulk_metrics(cf_conn *conn)
{
  char **handles = NULL;
  size_t count = 0;
  cf_err *err = NULL;
  if (cf_bulk_handles(conn->req.query, &handles, &count, &err) < 0) {
    cf_conn_fail(conn, err, NULL, NULL);
    return;
  }
  queue_metrics(conn, handles, count, true);
}
