/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of reading the pea part of a Garden ProcessSpec: the image
 * and its credentials, bind mounts, process limits, and the backend
 * request made from them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "garden/pea.h"

static int parse(const char *text, cf_pea_spec *out, cf_err **err)
{
  json_error_t jerr;
  json_t *spec = json_loads(text, 0, &jerr);
  if (spec == NULL) {
    fail_msg("bad test JSON %s: %s", text, jerr.text);
  }
  int rc = cf_pea_spec_parse(spec, out, err);
  json_decref(spec);
  return rc;
}

static void test_plain_process_is_no_pea(void **state)
{
  const char *specs[] = {
      "{\"path\":\"echo\",\"rlimits\":{},\"image\":{}}",
      "{\"path\":\"echo\"}",
      "{\"path\":\"echo\",\"image\":{\"uri\":\"\"},\"bind_mounts\":[]}",
  };
  for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
    cf_pea_spec spec;
    assert_int_equal(parse(specs[i], &spec, NULL), 0);
    assert_false(spec.is_pea);
    assert_null(spec.image_uri);
    assert_int_equal(spec.bind_mount_count, 0);
    assert_false(spec.limits.present);
    cf_pea_spec_clear(&spec);
  }
}

static void test_pea_spec_fields(void **state)
{
  cf_pea_spec spec;
  assert_int_equal(
      parse("{\"path\":\"sh\",\"image\":{\"uri\":\"docker:///busybox\",\"username\":\"u\","
            "\"password\":\"p\"},\"bind_mounts\":[{\"src_path\":\"/srv\",\"dst_path\":\"/data\","
            "\"mode\":1},{\"src_path\":\"/etc/motd\",\"dst_path\":\"/motd\"}],"
            "\"limits\":{\"memory_limits\":{\"limit_in_bytes\":1048576},"
            "\"cpu_limits\":{\"weight\":40}}}",
            &spec, NULL),
      0);
  assert_true(spec.is_pea);
  assert_string_equal(spec.image_uri, "docker:///busybox");
  assert_string_equal(spec.username, "u");
  assert_string_equal(spec.password, "p");
  assert_int_equal(spec.bind_mount_count, 2);
  assert_string_equal(spec.bind_mounts[0].src_path, "/srv");
  assert_string_equal(spec.bind_mounts[0].dst_path, "/data");
  assert_true(spec.bind_mounts[0].read_write);
  assert_false(spec.bind_mounts[1].read_write);

  cf_pea_request request = cf_pea_spec_request(&spec);
  assert_string_equal(request.image_uri, "docker:///busybox");
  assert_string_equal(request.username, "u");
  assert_string_equal(request.password, "p");
  assert_ptr_equal(request.bind_mounts, spec.bind_mounts);
  assert_int_equal(request.bind_mount_count, 2);
  assert_true(request.override_limits);
  assert_int_equal(request.memory_bytes, 1048576);
  assert_int_equal(request.cpu_shares, 40);
  cf_pea_spec_clear(&spec);
}

/* Without "limits" the pea shares the sandbox's, and empty credentials
 * mean an anonymous pull. */
static void test_pea_without_limits(void **state)
{
  cf_pea_spec spec;
  assert_int_equal(
      parse("{\"image\":{\"uri\":\"/tmp/rootfs.tar\",\"username\":\"\",\"password\":\"\"}}", &spec,
            NULL),
      0);
  assert_true(spec.is_pea);
  assert_null(spec.username);
  assert_null(spec.password);
  cf_pea_request request = cf_pea_spec_request(&spec);
  assert_false(request.override_limits);
  assert_int_equal(request.memory_bytes, 0);
  cf_pea_spec_clear(&spec);

  assert_int_equal(parse("{\"image\":{\"uri\":\"/tmp/rootfs.tar\"},\"limits\":{}}", &spec, NULL),
                   0);
  assert_true(cf_pea_spec_request(&spec).override_limits);
  cf_pea_spec_clear(&spec);
}

static void test_pea_spec_rejected(void **state)
{
  static const struct {
    const char *spec;
    enum cf_code code;
    const char *text;
  } cases[] = {
      {"{\"bind_mounts\":[{\"src_path\":\"/a\",\"dst_path\":\"/b\"}]}", CF_E_INVALID,
       "Running a process with bind mounts and no image provided is not allowed"},
      {"{\"image\":{},\"bind_mounts\":[{\"src_path\":\"/a\",\"dst_path\":\"/b\"}]}", CF_E_INVALID,
       "Running a process with bind mounts and no image provided is not allowed"},
      {"{\"image\":\"docker:///busybox\"}", CF_E_INVALID,
       "invalid value for \"image\": expected an object"},
      {"{\"image\":{\"uri\":5}}", CF_E_INVALID, "invalid value for \"uri\""},
      {"{\"image\":{\"uri\":\"x\"},\"bind_mounts\":[{\"src_path\":\"a\",\"dst_path\":\"/b\"}]}",
       CF_E_INVALID, "bind_mounts[0].src_path a is not an absolute path"},
      {"{\"image\":{\"uri\":\"x\"},\"bind_mounts\":[{\"src_path\":\"/a\",\"dst_path\":\"/b\","
       "\"origin\":1}]}",
       CF_E_NOT_IMPLEMENTED, "origin 1"},
      {"{\"image\":{\"uri\":\"x\"},\"bind_mounts\":[{\"src_path\":\"/a\",\"dst_path\":\"//.\"}]}",
       CF_E_INVALID, "bind_mounts[0].dst_path //. is the container's root"},
      {"{\"image\":{\"uri\":\"x\"},\"limits\":{\"memory_limits\":{\"limit_in_bytes\":-5}}}",
       CF_E_INVALID, "invalid memory limit -5"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    cf_pea_spec spec;
    cf_err *err = NULL;
    assert_int_equal(parse(cases[i].spec, &spec, &err), -1);
    assert_non_null(err);
    assert_int_equal(err->code, cases[i].code);
    if (strstr(err->message, cases[i].text) == NULL) {
      fail_msg("%s: message \"%s\" lacks \"%s\"", cases[i].spec, err->message, cases[i].text);
    }
    assert_null(spec.image_uri);
    assert_null(spec.bind_mounts);
    cf_err_free(err);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_plain_process_is_no_pea),
      cmocka_unit_test(test_pea_spec_fields),
      cmocka_unit_test(test_pea_without_limits),
      cmocka_unit_test(test_pea_spec_rejected),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
