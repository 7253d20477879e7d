/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the Garden server's container limits: reading them from a
 * create spec, the runtime limits and route bodies made from them, the
 * bulk routes' handle list, and the store's limits and events.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/mem.h"
#include "garden/internal.h"
#include "garden/json.h"
#include "garden/limits.h"
#include "store/store.h"
#include "testutil.h"

static json_t *load(const char *text)
{
  json_error_t jerr;
  json_t *value = json_loads(text, 0, &jerr);
  if (value == NULL) {
    fail_msg("bad test JSON %s: %s", text, jerr.text);
  }
  return value;
}

static int parse(const char *text, uint64_t quota_per_share, cf_limits_record *out, cf_err **err)
{
  json_t *spec = load(text);
  int rc = cf_limits_parse(spec, quota_per_share, out, err);
  json_decref(spec);
  return rc;
}

static void assert_limits_equal(const cf_limits_record *a, const cf_limits_record *b)
{
  assert_int_equal(a->memory_bytes, b->memory_bytes);
  assert_int_equal(a->cpu_weight, b->cpu_weight);
  assert_int_equal(a->cpu_shares, b->cpu_shares);
  assert_int_equal(a->cpu_quota_us, b->cpu_quota_us);
  assert_int_equal(a->cpu_period_us, b->cpu_period_us);
  assert_int_equal(a->pids_max, b->pids_max);
  assert_int_equal(a->bandwidth_rate, b->bandwidth_rate);
  assert_int_equal(a->bandwidth_burst, b->bandwidth_burst);
  assert_int_equal(a->privileged, b->privileged);
}

static void test_parse_every_limit(void **state)
{
  (void)state;
  cf_limits_record limits;
  cf_err *err = NULL;
  int rc = parse("{\"privileged\":true,\"limits\":{\"memory_limits\":{\"limit_in_bytes\":67108864},"
                 "\"cpu_limits\":{\"weight\":280,\"limit_in_shares\":50},"
                 "\"pid_limits\":{\"max\":128},\"bandwidth_limits\":{\"rate\":1000,\"burst\":2000},"
                 "\"disk_limits\":{\"byte_hard\":1048576}}}",
                 0, &limits, &err);
  assert_int_equal(rc, 0);
  assert_null(err);
  assert_true(limits.privileged);
  assert_int_equal(limits.memory_bytes, 67108864);
  assert_int_equal(limits.cpu_weight, 280);
  assert_int_equal(limits.cpu_shares, 50);
  assert_int_equal(limits.pids_max, 128);
  assert_int_equal(limits.bandwidth_rate, 1000);
  assert_int_equal(limits.bandwidth_burst, 2000);
  assert_int_equal(limits.cpu_quota_us, 0);
  assert_int_equal(limits.cpu_period_us, 0);
}

static void test_parse_default_body(void **state)
{
  (void)state;
  cf_limits_record limits;
  cf_err *err = NULL;
  /* The body the Go client sends for a container without limits. */
  int rc = parse("{\"image\":{},\"limits\":{\"bandwidth_limits\":{},\"cpu_limits\":{},"
                 "\"disk_limits\":{},\"memory_limits\":{},\"pid_limits\":{}}}",
                 0, &limits, &err);
  assert_int_equal(rc, 0);
  cf_limits_record zero = {0};
  assert_limits_equal(&limits, &zero);
}

static void test_parse_rejects_bad_values(void **state)
{
  (void)state;
  static const struct {
    const char *spec;
    enum cf_code code;
    const char *message_part;
  } cases[] = {
      {"{\"limits\":{\"memory_limits\":{\"limit_in_bytes\":-1}}}", CF_E_INVALID,
       "invalid memory limit -1 in limits.memory_limits.limit_in_bytes"},
      {"{\"limits\":{\"cpu_limits\":{\"weight\":262145}}}", CF_E_INVALID,
       "invalid CPU weight 262145 in limits.cpu_limits.weight"},
      {"{\"limits\":{\"cpu_limits\":{\"limit_in_shares\":-7}}}", CF_E_INVALID,
       "invalid CPU shares -7"},
      {"{\"limits\":{\"pid_limits\":{\"max\":4194305}}}", CF_E_INVALID,
       "invalid pid limit 4194305 in limits.pid_limits.max"},
      {"{\"limits\":{\"bandwidth_limits\":{\"rate\":-5}}}", CF_E_INVALID,
       "invalid bandwidth rate -5"},
      {"{\"limits\":{\"memory_limits\":{\"limit_in_bytes\":\"64M\"}}}", CF_E_INVALID,
       "expected an integer"},
      {"{\"limits\":{\"pid_limits\":7}}", CF_E_INVALID, "limits.pid_limits"},
      {"{\"limits\":{\"disk_limits\":{\"inode_hard\":10}}}", CF_E_NOT_IMPLEMENTED,
       "disk_limits.inode_hard"},
      {"{\"limits\":{\"gpu_limits\":{\"count\":1}}}", CF_E_NOT_IMPLEMENTED, "gpu_limits.count"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    cf_limits_record limits;
    cf_err *err = NULL;
    assert_int_equal(parse(cases[i].spec, 0, &limits, &err), -1);
    assert_non_null(err);
    assert_int_equal(err->code, cases[i].code);
    if (strstr(err->message, cases[i].message_part) == NULL) {
      fail_msg("spec %s: message \"%s\" lacks \"%s\"", cases[i].spec, err->message,
               cases[i].message_part);
    }
    cf_err_free(err);
  }
}

static void test_parse_accepts_maxima(void **state)
{
  (void)state;
  cf_limits_record limits;
  cf_err *err = NULL;
  int rc = parse("{\"limits\":{\"cpu_limits\":{\"limit_in_shares\":262144},"
                 "\"pid_limits\":{\"max\":4194304}}}",
                 0, &limits, &err);
  assert_int_equal(rc, 0);
  assert_int_equal(limits.cpu_shares, 262144);
  assert_int_equal(limits.pids_max, 4194304);
}

static void test_quota_per_share(void **state)
{
  (void)state;
  cf_limits_record limits;
  cf_err *err = NULL;
  /* 50 shares at 100 us per share: a 5 ms quota per 100 ms period. */
  assert_int_equal(
      parse("{\"limits\":{\"cpu_limits\":{\"limit_in_shares\":50}}}", 100, &limits, &err), 0);
  assert_int_equal(limits.cpu_quota_us, 5000);
  assert_int_equal(limits.cpu_period_us, 100000);
  /* Below the 1000 us floor. */
  assert_int_equal(parse("{\"limits\":{\"cpu_limits\":{\"weight\":2}}}", 10, &limits, &err), 0);
  assert_int_equal(limits.cpu_quota_us, 1000);
  /* No shares, no maximum. */
  assert_int_equal(parse("{\"limits\":{}}", 100, &limits, &err), 0);
  assert_int_equal(limits.cpu_quota_us, 0);
  assert_int_equal(limits.cpu_period_us, 0);
}

static void test_runtime_limits(void **state)
{
  (void)state;
  cf_limits_record limits = {
      .memory_bytes = 1 << 20,
      .cpu_weight = 1028,
      .cpu_shares = 50,
      .cpu_quota_us = 2000,
      .cpu_period_us = 100000,
      .pids_max = 9,
  };
  cf_resource_limits out;
  cf_limits_to_runtime(&limits, &out);
  assert_int_equal(out.memory_bytes, 1 << 20);
  assert_int_equal(out.cpu_shares, 1028); /* weight wins over limit_in_shares */
  assert_int_equal(out.cpu_quota_us, 2000);
  assert_int_equal(out.cpu_period_us, 100000);
  assert_int_equal(out.pids_max, 9);

  limits.cpu_weight = 0;
  cf_limits_to_runtime(&limits, &out);
  assert_int_equal(out.cpu_shares, 50);

  limits.cpu_shares = 1;
  cf_limits_to_runtime(&limits, &out);
  assert_int_equal(out.cpu_shares, 2);
}

static void assert_json(json_t *value, const char *expected)
{
  cf_autofree char *text = json_dumps(value, JSON_COMPACT);
  json_decref(value);
  assert_string_equal(text, expected);
}

static int parse_process(const char *text, cf_process_limits *out, cf_err **err)
{
  json_t *spec = load(text);
  int rc = cf_limits_parse_process(spec, out, err);
  json_decref(spec);
  return rc;
}

/* An absent or null "limits" shares the container's limits, and any
 * object, even an empty one, replaces them. */
static void test_process_limits_presence(void **state)
{
  cf_process_limits limits;
  assert_int_equal(parse_process("{\"path\":\"sh\"}", &limits, NULL), 0);
  assert_false(limits.present);
  assert_int_equal(parse_process("{\"limits\":null}", &limits, NULL), 0);
  assert_false(limits.present);

  const char *empty[] = {"{\"limits\":{}}",
                         "{\"limits\":{\"cpu_limits\":{},\"memory_limits\":{}}}"};
  for (size_t i = 0; i < 2; i++) {
    assert_int_equal(parse_process(empty[i], &limits, NULL), 0);
    assert_true(limits.present);
    assert_int_equal(limits.memory_bytes, 0);
    assert_int_equal(limits.cpu_shares, 0);
  }
}

static void test_process_limits_values(void **state)
{
  cf_process_limits limits;
  assert_int_equal(parse_process("{\"limits\":{\"memory_limits\":{\"limit_in_bytes\":67108864},"
                                 "\"cpu_limits\":{\"limit_in_shares\":300}}}",
                                 &limits, NULL),
                   0);
  assert_true(limits.present);
  assert_int_equal(limits.memory_bytes, 67108864);
  assert_int_equal(limits.cpu_shares, 300);

  /* The weight wins over the deprecated limit_in_shares, as Guardian
   * chooses. */
  assert_int_equal(
      parse_process("{\"limits\":{\"cpu_limits\":{\"weight\":700,\"limit_in_shares\":300}}}",
                    &limits, NULL),
      0);
  assert_int_equal(limits.cpu_shares, 700);
}

static void test_process_limits_rejected(void **state)
{
  static const struct {
    const char *spec;
    enum cf_code code;
    const char *text;
  } cases[] = {
      {"{\"limits\":[]}", CF_E_INVALID, "invalid value for \"limits\": expected an object"},
      {"{\"limits\":{\"memory_limits\":{\"limit_in_bytes\":-1}}}", CF_E_INVALID,
       "invalid memory limit -1"},
      {"{\"limits\":{\"cpu_limits\":{\"weight\":262145}}}", CF_E_INVALID, "invalid CPU weight"},
      {"{\"limits\":{\"pid_limits\":{\"max\":5}}}", CF_E_NOT_IMPLEMENTED,
       "process limit pid_limits is not implemented"},
      {"{\"limits\":{\"memory_limits\":{\"soft\":5}}}", CF_E_NOT_IMPLEMENTED, "memory_limits.soft"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    cf_process_limits limits;
    cf_err *err = NULL;
    assert_int_equal(parse_process(cases[i].spec, &limits, &err), -1);
    assert_non_null(err);
    assert_int_equal(err->code, cases[i].code);
    if (strstr(err->message, cases[i].text) == NULL) {
      fail_msg("%s: message \"%s\" lacks \"%s\"", cases[i].spec, err->message, cases[i].text);
    }
    cf_err_free(err);
  }
}

static void test_route_bodies(void **state)
{
  (void)state;
  cf_limits_record none = {0};
  assert_json(cf_limits_memory_json(&none), "{}");
  assert_json(cf_limits_cpu_json(&none), "{}");
  assert_json(cf_limits_bandwidth_json(&none), "{}");

  cf_limits_record set = {
      .memory_bytes = 134217728,
      .cpu_weight = 0,
      .cpu_shares = 50,
      .bandwidth_rate = 100,
      .bandwidth_burst = 200,
  };
  assert_json(cf_limits_memory_json(&set), "{\"limit_in_bytes\":134217728}");
  assert_json(cf_limits_cpu_json(&set), "{\"limit_in_shares\":50}");
  assert_json(cf_limits_bandwidth_json(&set), "{\"rate\":100,\"burst\":200}");
  set.cpu_weight = 280;
  assert_json(cf_limits_cpu_json(&set), "{\"limit_in_shares\":280}");
}

static void test_bulk_handles(void **state)
{
  (void)state;
  char **handles = NULL;
  size_t count = 0;
  cf_err *err = NULL;
  assert_int_equal(cf_bulk_handles("handles=a%2Cb,c", &handles, &count, &err), 0);
  assert_int_equal(count, 3);
  assert_string_equal(handles[0], "a");
  assert_string_equal(handles[1], "b");
  assert_string_equal(handles[2], "c");
  cf_strv_free(handles, count);

  assert_int_equal(cf_bulk_handles("handles=", &handles, &count, &err), 0);
  assert_int_equal(count, 0);
  assert_null(handles);
  assert_int_equal(cf_bulk_handles("", &handles, &count, &err), 0);
  assert_int_equal(count, 0);

  /* Go's strings.Split keeps empty pieces. */
  assert_int_equal(cf_bulk_handles("handles=a,,b,", &handles, &count, &err), 0);
  assert_int_equal(count, 4);
  assert_string_equal(handles[1], "");
  assert_string_equal(handles[3], "");
  cf_strv_free(handles, count);
}

static cf_store *open_store(char **dir)
{
  *dir = cf_test_tmpdir("garden-limits");
  cf_store *store = NULL;
  cf_err *err = NULL;
  if (cf_store_open(*dir, &store, &err) < 0) {
    fail_msg("open store: %s", err->message);
  }
  cf_container_record record = {
      .handle = "c1",
      .state = CF_CONTAINER_CREATED,
      .created_at_ns = 1,
  };
  if (cf_store_container_insert(store, &record, &err) < 0) {
    fail_msg("insert container: %s", err->message);
  }
  return store;
}

static void close_store(cf_store *store, char *dir)
{
  cf_store_close(store);
  cf_test_rmdir(dir);
  free(dir);
}

static void test_store_limits(void **state)
{
  (void)state;
  char *dir = NULL;
  cf_store *store = open_store(&dir);
  cf_err *err = NULL;
  cf_limits_record out;

  assert_int_equal(cf_store_limits_get(store, "c1", &out, &err), 0);
  assert_int_equal(out.memory_bytes, 0);
  assert_false(out.privileged);

  cf_limits_record limits = {
      .memory_bytes = UINT64_MAX,
      .cpu_weight = 1028,
      .cpu_shares = 50,
      .cpu_quota_us = 5000,
      .cpu_period_us = 100000,
      .pids_max = 128,
      .bandwidth_rate = 7,
      .bandwidth_burst = 8,
      .privileged = true,
  };
  assert_int_equal(cf_store_limits_set(store, "c1", &limits, &err), 0);
  assert_int_equal(cf_store_limits_get(store, "c1", &out, &err), 0);
  assert_limits_equal(&out, &limits);

  assert_int_equal(cf_store_limits_set(store, "nope", &limits, &err), -1);
  assert_int_equal(err->code, CF_E_NOT_FOUND);
  assert_string_equal(err->message, "unknown handle: nope");
  cf_err_clear(&err);
  assert_int_equal(cf_store_limits_get(store, "nope", &out, &err), -1);
  assert_int_equal(err->code, CF_E_NOT_FOUND);
  cf_err_clear(&err);

  /* Limits go with their container. */
  assert_int_equal(cf_store_container_delete(store, "c1", &err), 0);
  assert_int_equal(cf_store_limits_get(store, "c1", &out, &err), -1);
  cf_err_clear(&err);
  close_store(store, dir);
}

static void test_store_events(void **state)
{
  (void)state;
  char *dir = NULL;
  cf_store *store = open_store(&dir);
  cf_err *err = NULL;
  bool added = false;
  char **events = NULL;
  size_t count = 0;

  assert_int_equal(cf_store_event_list(store, "c1", &events, &count, &err), 0);
  assert_int_equal(count, 0);

  assert_int_equal(cf_store_event_add(store, "c1", "Out of memory", &added, &err), 0);
  assert_true(added);
  assert_int_equal(cf_store_event_add(store, "c1", "Out of memory", &added, &err), 0);
  assert_false(added);
  assert_int_equal(cf_store_event_add(store, "c1", "Another", NULL, &err), 0);

  assert_int_equal(cf_store_event_list(store, "c1", &events, &count, &err), 0);
  assert_int_equal(count, 2);
  assert_string_equal(events[0], "Out of memory");
  assert_string_equal(events[1], "Another");
  cf_strv_free(events, count);

  assert_int_equal(cf_store_event_add(store, "nope", "Out of memory", &added, &err), -1);
  assert_int_equal(err->code, CF_E_NOT_FOUND);
  cf_err_clear(&err);
  close_store(store, dir);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse_every_limit),
      cmocka_unit_test(test_parse_default_body),
      cmocka_unit_test(test_parse_rejects_bad_values),
      cmocka_unit_test(test_parse_accepts_maxima),
      cmocka_unit_test(test_quota_per_share),
      cmocka_unit_test(test_runtime_limits),
      cmocka_unit_test(test_process_limits_presence),
      cmocka_unit_test(test_process_limits_values),
      cmocka_unit_test(test_process_limits_rejected),
      cmocka_unit_test(test_route_bodies),
      cmocka_unit_test(test_bulk_handles),
      cmocka_unit_test(test_store_limits),
      cmocka_unit_test(test_store_events),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
