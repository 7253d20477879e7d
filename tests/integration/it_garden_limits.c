/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Garden limits, metrics and info through `cfwin serve`: a memory limit
 * that kills a process and shows as an "Out of memory" event, CPU shares
 * and pid limits in the container's cgroup files, the limit routes,
 * privileged containers, BulkMetrics and BulkInfo with an unknown handle,
 * and bad limit values rejected by name. Every test ends with the
 * fixture's leak check, container cgroups included.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/mem.h"
#include "fixture.h"
#include "garden/client.h"

#define MIB (1024 * 1024)

static it_server server;

static int setup_server(void **state)
{
  it_server_prepare(&server);
  it_server_start(&server);
  return 0;
}

static int teardown_server(void **state)
{
  it_server_cleanup(&server);
  return 0;
}

static int take_snapshot(void **state)
{
  return it_leak_check_begin(&server, state);
}

static int check_leaks(void **state)
{
  return it_leak_check_end(&server, state);
}

/* Creates a container from spec (a new reference, taken). */
static void create(json_t *spec)
{
  char *created = NULL;
  cf_err *err = NULL;
  int rc = cf_garden_client_create(&server.tcp, spec, &created, &err);
  json_decref(spec);
  if (rc < 0) {
    fail_msg("create: %s", err->message);
  }
  free(created);
}

static void destroy(const char *handle)
{
  cf_err *err = NULL;
  if (cf_garden_client_destroy(&server.tcp, handle, &err) < 0) {
    fail_msg("destroy %s: %s", handle, err->message);
  }
}

static cf_garden_process_result run_sh(const char *handle, const char *script)
{
  json_t *spec = json_pack("{s:s, s:[s, s], s:s, s:{}, s:{}}", "path", "/bin/sh", "args", "-c",
                           script, "user", "root", "rlimits", "image");
  cf_garden_process_result result;
  cf_garden_process_result_init(&result);
  cf_err *err = NULL;
  int rc = cf_garden_client_run(&server.tcp, handle, spec, NULL, 0, &result, &err);
  json_decref(spec);
  if (rc < 0) {
    fail_msg("run in %s: %s", handle, err->message);
  }
  return result;
}

static char *output_text(const cf_buf *buf)
{
  return cf_xstrndup(buf->data != NULL ? buf->data : "", buf->len);
}

/* GETs path and returns the JSON body; fails the test on an error. */
static json_t *get(const char *path)
{
  json_t *body = NULL;
  cf_err *err = NULL;
  if (cf_garden_client_call(&server.tcp, "GET", path, NULL, &body, &err) < 0) {
    fail_msg("GET %s: %s", path, err->message);
  }
  return body;
}

static json_int_t get_int(const json_t *object, const char *key)
{
  json_t *value = json_object_get(object, key);
  if (!json_is_integer(value)) {
    fail_msg("\"%s\" is not an integer", key);
  }
  return json_integer_value(value);
}

static json_int_t memory_stat(const char *handle, const char *key)
{
  cf_autofree char *path = cf_xasprintf("/containers/%s/metrics", handle);
  json_t *metrics = get(path);
  json_int_t value = get_int(json_object_get(metrics, "MemoryStat"), key);
  if (getenv("IT_DUMP_METRICS") != NULL) {
    cf_autofree char *text = json_dumps(metrics, JSON_COMPACT);
    fprintf(stderr, "metrics of %s: %s\n", handle, text);
  }
  json_decref(metrics);
  return value;
}

/* Reads the first line of a container's cgroup file under the runtime's
 * default parent, for example ("cpu", "cpu.shares"). */
static char *cgroup_file(const char *hierarchy, const char *handle, const char *name)
{
  cf_autofree char *path = cf_xasprintf("/sys/fs/cgroup/%s/cfwin/%s/%s", hierarchy, handle, name);
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

static bool has_event(const json_t *info, const char *event)
{
  size_t i;
  json_t *value;
  json_array_foreach(json_object_get(info, "Events"), i, value)
  {
    if (json_is_string(value) && strcmp(json_string_value(value), event) == 0) {
      return true;
    }
  }
  return false;
}

static void test_memory_limit_kills_and_reports(void **state)
{
  create(json_pack("{s:s, s:{s:{s:I}}}", "handle", "itgl-mem", "limits", "memory_limits",
                   "limit_in_bytes", (json_int_t)(32 * MIB)));

  json_t *limits = get("/containers/itgl-mem/limits/memory");
  assert_int_equal(get_int(limits, "limit_in_bytes"), 32 * MIB);
  json_decref(limits);
  assert_int_equal(memory_stat("itgl-mem", "hierarchical_memory_limit"), 32 * MIB);

  json_t *info = get("/containers/itgl-mem/info");
  assert_false(has_event(info, "Out of memory"));
  json_decref(info);

  /* tmpfs pages are charged to the container's cgroup and stay there. */
  json_int_t before = memory_stat("itgl-mem", "TotalUsageTowardLimit");
  cf_garden_process_result fill =
      run_sh("itgl-mem", "dd if=/dev/zero of=/dev/shm/fill bs=1M count=8 2>/dev/null");
  assert_int_equal(fill.exit_status, 0);
  cf_garden_process_result_clear(&fill);
  json_int_t after = memory_stat("itgl-mem", "TotalUsageTowardLimit");
  fprintf(stderr, "memory toward the limit: %lld before, %lld after an 8 MiB file\n",
          (long long)before, (long long)after);
  assert_true(after >= before + 8 * MIB);
  assert_true(memory_stat("itgl-mem", "total_cache") >= 8 * MIB);

  /* awk doubling a string has the largest resident set, so the kernel's
   * OOM killer picks it once the cgroup reaches its limit. */
  cf_garden_process_result oom =
      run_sh("itgl-mem", "awk 'BEGIN { s = \"x\"; while (1) s = s s }'; echo awk-exit=$?");
  cf_autofree char *oom_text = output_text(&oom.out);
  fprintf(stderr, "allocating past the memory limit: %s", oom_text);
  assert_int_equal(oom.exit_status, 0);
  assert_string_equal(oom_text, "awk-exit=137\n");
  cf_garden_process_result_clear(&oom);

  info = get("/containers/itgl-mem/info");
  assert_true(has_event(info, "Out of memory"));
  assert_int_equal(json_array_size(json_object_get(info, "Events")), 1);
  json_decref(info);

  /* The event is recorded once, however often Info looks, and a restarted
   * server still reports it. */
  info = get("/containers/itgl-mem/info");
  assert_int_equal(json_array_size(json_object_get(info, "Events")), 1);
  json_decref(info);
  assert_int_equal(it_server_stop(&server), 0);
  it_server_start(&server);
  info = get("/containers/itgl-mem/info");
  assert_true(has_event(info, "Out of memory"));
  assert_int_equal(json_array_size(json_object_get(info, "Events")), 1);
  json_decref(info);
  destroy("itgl-mem");
}

static void test_cpu_shares_in_cgroup(void **state)
{
  create(
      json_pack("{s:s, s:{s:{s:i}}}", "handle", "itgl-cpu", "limits", "cpu_limits", "weight", 512));
  json_t *limits = get("/containers/itgl-cpu/limits/cpu");
  assert_int_equal(get_int(limits, "limit_in_shares"), 512);
  assert_null(json_object_get(limits, "weight"));
  json_decref(limits);

  cf_autofree char *shares = cgroup_file("cpu", "itgl-cpu", "cpu.shares");
  assert_string_equal(shares, "512");
  /* Without --cpu-quota-per-share the container has no CPU maximum. */
  cf_autofree char *quota = cgroup_file("cpu", "itgl-cpu", "cpu.cfs_quota_us");
  assert_string_equal(quota, "-1");

  cf_garden_process_result busy =
      run_sh("itgl-cpu", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done");
  assert_int_equal(busy.exit_status, 0);
  cf_garden_process_result_clear(&busy);
  json_t *metrics = get("/containers/itgl-cpu/metrics");
  json_t *cpu = json_object_get(metrics, "CPUStat");
  assert_true(get_int(cpu, "Usage") > 0);
  assert_true(get_int(cpu, "Usage") >= get_int(cpu, "User"));
  assert_true(get_int(metrics, "CPUEntitlement") > 0);
  json_decref(metrics);
  destroy("itgl-cpu");
}

static void test_pids_limit_stops_fork(void **state)
{
  create(json_pack("{s:s, s:{s:{s:i}}}", "handle", "itgl-pids", "limits", "pid_limits", "max", 8));
  cf_autofree char *max = cgroup_file("pids", "itgl-pids", "pids.max");
  assert_string_equal(max, "8");

  cf_garden_process_result forks = run_sh(
      "itgl-pids", "i=0; while [ $i -lt 20 ]; do sleep 60 & i=$((i+1)); done; echo all-forked");
  cf_autofree char *out = output_text(&forks.out);
  cf_autofree char *err = output_text(&forks.err);
  fprintf(stderr, "fork past the pid limit: exit %d, stderr %s\n", forks.exit_status, err);
  assert_null(strstr(out, "all-forked"));
  assert_non_null(strstr(err, "can't fork"));
  assert_int_not_equal(forks.exit_status, 0);
  cf_garden_process_result_clear(&forks);

  json_t *metrics = get("/containers/itgl-pids/metrics");
  json_t *pids = json_object_get(metrics, "PidStat");
  assert_int_equal(get_int(pids, "Max"), 8);
  assert_true(get_int(pids, "Current") > 0);
  json_decref(metrics);
  destroy("itgl-pids");
}

static void test_limit_getters_round_trip(void **state)
{
  create(json_pack("{s:s, s:{s:{s:I}, s:{s:i}, s:{s:i, s:i}, s:{s:I, s:i}}}", "handle", "itgl-get",
                   "limits", "memory_limits", "limit_in_bytes", (json_int_t)(64 * MIB),
                   "cpu_limits", "limit_in_shares", 100, "bandwidth_limits", "rate", 1000000,
                   "burst", 65536, "disk_limits", "byte_hard", (json_int_t)(64 * MIB), "scope", 1));
  json_t *memory = get("/containers/itgl-get/limits/memory");
  assert_int_equal(get_int(memory, "limit_in_bytes"), 64 * MIB);
  json_t *cpu = get("/containers/itgl-get/limits/cpu");
  assert_int_equal(get_int(cpu, "limit_in_shares"), 100);
  json_t *bandwidth = get("/containers/itgl-get/limits/bandwidth");
  assert_int_equal(get_int(bandwidth, "rate"), 1000000);
  assert_int_equal(get_int(bandwidth, "burst"), 65536);
  json_t *disk = get("/containers/itgl-get/limits/disk");
  assert_int_equal(get_int(disk, "byte_hard"), 64 * MIB);
  json_decref(memory);
  json_decref(cpu);
  json_decref(bandwidth);
  json_decref(disk);
  destroy("itgl-get");

  /* Without limits every getter returns {}. */
  create(json_pack("{s:s}", "handle", "itgl-none"));
  static const char *const kinds[] = {"memory", "cpu", "bandwidth", "disk"};
  for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
    cf_autofree char *path = cf_xasprintf("/containers/itgl-none/limits/%s", kinds[i]);
    json_t *body = get(path);
    assert_true(json_is_object(body));
    assert_int_equal(json_object_size(body), 0);
    json_decref(body);
  }
  json_t *metrics = get("/containers/itgl-none/metrics");
  assert_int_equal(get_int(json_object_get(metrics, "PidStat"), "Max"), 0);
  json_decref(metrics);
  destroy("itgl-none");
}

/* The CapEff line of /proc/self/status of a root process in the container. */
static char *effective_caps(const char *handle)
{
  cf_garden_process_result result = run_sh(handle, "grep CapEff /proc/self/status");
  assert_int_equal(result.exit_status, 0);
  char *text = output_text(&result.out);
  cf_garden_process_result_clear(&result);
  return text;
}

static void test_privileged_create(void **state)
{
  create(json_pack("{s:s, s:b}", "handle", "itgl-priv", "privileged", 1));
  create(json_pack("{s:s}", "handle", "itgl-unpriv"));
  cf_autofree char *privileged = effective_caps("itgl-priv");
  cf_autofree char *unprivileged = effective_caps("itgl-unpriv");
  fprintf(stderr, "privileged %sunprivileged %s", privileged, unprivileged);
  assert_non_null(strstr(privileged, "CapEff"));
  assert_string_not_equal(privileged, unprivileged);
  destroy("itgl-priv");
  destroy("itgl-unpriv");
}

static void test_bulk_routes_with_unknown_handle(void **state)
{
  create(json_pack("{s:s, s:{s:s}}", "handle", "itgl-bulk", "properties", "owner", "it"));

  json_t *bulk = get("/containers/bulk_metrics?handles=itgl-bulk%2Citgl-nope");
  assert_int_equal(json_object_size(bulk), 2);
  json_t *good = json_object_get(bulk, "itgl-bulk");
  assert_true(json_is_null(json_object_get(good, "Err")));
  json_t *metrics = json_object_get(good, "Metrics");
  assert_true(get_int(metrics, "Age") > 0);
  assert_true(get_int(json_object_get(metrics, "PidStat"), "Current") > 0);
  assert_true(get_int(json_object_get(metrics, "DiskStat"), "TotalBytesUsed") > 0);
  json_t *bad_err = json_object_get(json_object_get(bulk, "itgl-nope"), "Err");
  assert_string_equal(json_string_value(json_object_get(bad_err, "Message")),
                      "unknown handle: itgl-nope");
  assert_string_equal(json_string_value(json_object_get(bad_err, "Type")), "");
  json_decref(bulk);

  bulk = get("/containers/bulk_info?handles=itgl-bulk%2Citgl-nope");
  assert_int_equal(json_object_size(bulk), 2);
  good = json_object_get(bulk, "itgl-bulk");
  assert_true(json_is_null(json_object_get(good, "Err")));
  json_t *info = json_object_get(good, "Info");
  assert_string_equal(json_string_value(json_object_get(info, "State")), "active");
  assert_string_equal(
      json_string_value(json_object_get(json_object_get(info, "Properties"), "owner")), "it");
  bad_err = json_object_get(json_object_get(bulk, "itgl-nope"), "Err");
  assert_string_equal(json_string_value(json_object_get(bad_err, "Message")),
                      "unknown handle: itgl-nope");
  json_decref(bulk);

  bulk = get("/containers/bulk_info?handles=");
  assert_int_equal(json_object_size(bulk), 0);
  json_decref(bulk);
  destroy("itgl-bulk");
}

static void test_bad_limits_name_the_value(void **state)
{
  static const struct {
    const char *spec;
    const char *value;
  } cases[] = {
      {"{\"handle\":\"itgl-bad\",\"limits\":{\"memory_limits\":{\"limit_in_bytes\":-1}}}", "-1"},
      {"{\"handle\":\"itgl-bad\",\"limits\":{\"cpu_limits\":{\"weight\":300000}}}", "300000"},
      {"{\"handle\":\"itgl-bad\",\"limits\":{\"pid_limits\":{\"max\":5000000}}}", "5000000"},
      {"{\"handle\":\"itgl-bad\",\"limits\":{\"bandwidth_limits\":{\"burst\":-3}}}", "-3"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    json_t *spec = json_loads(cases[i].spec, 0, NULL);
    assert_non_null(spec);
    char *created = NULL;
    cf_err *err = NULL;
    assert_int_equal(cf_garden_client_create(&server.tcp, spec, &created, &err), -1);
    json_decref(spec);
    if (strstr(err->message, cases[i].value) == NULL) {
      fail_msg("error for %s does not name %s: %s", cases[i].spec, cases[i].value, err->message);
    }
    cf_err_free(err);
  }
  json_t *list = get("/containers?garden.state=all");
  assert_int_equal(json_array_size(json_object_get(list, "Handles")), 0);
  json_decref(list);
}

int main(void)
{
  it_require_root();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_memory_limit_kills_and_reports, take_snapshot,
                                      check_leaks),
      cmocka_unit_test_setup_teardown(test_cpu_shares_in_cgroup, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_pids_limit_stops_fork, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_limit_getters_round_trip, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_privileged_create, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_bulk_routes_with_unknown_handle, take_snapshot,
                                      check_leaks),
      cmocka_unit_test_setup_teardown(test_bad_limits_name_the_value, take_snapshot, check_leaks),
  };
  return cmocka_run_group_tests(tests, setup_server, teardown_server);
}
