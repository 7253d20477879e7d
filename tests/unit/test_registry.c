/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the registry pieces that need no network: docker:// URI
 * parsing, WWW-Authenticate parsing and platform selection. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "image/image.h"
#include "image/registry.h"
#include "oci/oci.h"

#define DIGEST_A "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define COUNT(array) (sizeof(array) / sizeof((array)[0]))

struct uri_case {
  const char *uri;
  const char *registry;
  const char *repository;
  const char *tag;
  const char *digest;
};

static void test_docker_uri_valid(void **state)
{
  static const struct uri_case cases[] = {
      {"docker:///busybox", "registry-1.docker.io", "library/busybox", "latest", NULL},
      {"docker:///busybox:1.36", "registry-1.docker.io", "library/busybox", "1.36", NULL},
      {"docker://busybox:1.36", "registry-1.docker.io", "library/busybox", "1.36", NULL},
      {"docker:///cloudfoundry/groot-windows-test:regularfile", "registry-1.docker.io",
       "cloudfoundry/groot-windows-test", "regularfile", NULL},
      {"docker://docker.io/busybox", "registry-1.docker.io", "library/busybox", "latest", NULL},
      {"docker://127.0.0.1:5000/test/app:v1", "127.0.0.1:5000", "test/app", "v1", NULL},
      {"docker://localhost/app", "localhost", "app", "latest", NULL},
      {"docker://myreg.example:5000/org/app@" DIGEST_A, "myreg.example:5000", "org/app", NULL,
       DIGEST_A},
      {"docker://reg.example/a/b:t@" DIGEST_A, "reg.example", "a/b", "t", DIGEST_A},
  };
  for (size_t i = 0; i < COUNT(cases); i++) {
    cf_docker_uri uri;
    cf_err *err = NULL;
    if (cf_docker_uri_parse(cases[i].uri, &uri, &err) < 0) {
      fail_msg("%s: %s", cases[i].uri, err->message);
    }
    assert_string_equal(uri.registry, cases[i].registry);
    assert_string_equal(uri.repository, cases[i].repository);
    if (cases[i].tag == NULL) {
      assert_null(uri.tag);
    } else {
      assert_string_equal(uri.tag, cases[i].tag);
    }
    if (cases[i].digest == NULL) {
      assert_null(uri.digest);
    } else {
      assert_string_equal(uri.digest, cases[i].digest);
    }
    cf_docker_uri_clear(&uri);
  }
}

static void test_docker_uri_invalid(void **state)
{
  static const char *const uris[] = {
      "oci:///x",
      "docker://",
      "docker:///",
      "docker:///Busybox",
      "docker:///busybox:",
      "docker:///busybox:has space",
      "docker:///busybox@sha256:abc",
      "docker:///busybox@md5:" DIGEST_A,
      "docker://reg.example:99999/app",
      "docker://reg.example:/app",
      "docker:///a//b",
      "docker:///-a",
  };
  for (size_t i = 0; i < COUNT(uris); i++) {
    cf_docker_uri uri;
    cf_err *err = NULL;
    if (cf_docker_uri_parse(uris[i], &uri, &err) == 0) {
      fail_msg("%s was accepted", uris[i]);
    }
    assert_int_equal(err->code, CF_E_INVALID);
    assert_non_null(strstr(err->message, uris[i]));
    assert_non_null(strstr(err->message, "docker://[HOST[:PORT]]/REPOSITORY"));
    cf_err_free(err);
  }
}

static void test_challenge_bearer(void **state)
{
  cf_auth_challenge c;
  cf_err *err = NULL;
  assert_int_equal(cf_auth_challenge_parse(
                       "Bearer realm=\"https://auth.example/token\",service=\"registry.example\","
                       "scope=\"repository:a/b:pull,push\",error=\"insufficient_scope\"",
                       &c, &err),
                   0);
  assert_string_equal(c.scheme, "bearer");
  assert_string_equal(c.realm, "https://auth.example/token");
  assert_string_equal(c.service, "registry.example");
  assert_string_equal(c.scope, "repository:a/b:pull,push");
  assert_string_equal(c.error, "insufficient_scope");
  cf_auth_challenge_clear(&c);
}

static void test_challenge_basic_and_escapes(void **state)
{
  cf_auth_challenge c;
  cf_err *err = NULL;
  assert_int_equal(cf_auth_challenge_parse("BASIC realm=\"a \\\"b\\\" c\"", &c, &err), 0);
  assert_string_equal(c.scheme, "basic");
  assert_string_equal(c.realm, "a \"b\" c");
  assert_null(c.service);
  cf_auth_challenge_clear(&c);
  assert_int_equal(cf_auth_challenge_parse("Bearer realm=token-without-quotes", &c, &err), 0);
  assert_string_equal(c.realm, "token-without-quotes");
  cf_auth_challenge_clear(&c);
}

static void test_challenge_invalid(void **state)
{
  static const char *const headers[] = {"", "  ", "Bearer realm=\"unterminated", "Bearer realm",
                                        "=x"};
  for (size_t i = 0; i < COUNT(headers); i++) {
    cf_auth_challenge c;
    cf_err *err = NULL;
    if (cf_auth_challenge_parse(headers[i], &c, &err) == 0) {
      fail_msg("\"%s\" was accepted", headers[i]);
    }
    assert_int_equal(err->code, CF_E_INVALID);
    cf_err_free(err);
  }
}

static void set_platform(cf_oci_descriptor *d, const char *os, const char *arch,
                         const char *variant, const char *version)
{
  d->has_platform = true;
  d->platform.os = (char *)os;
  d->platform.architecture = (char *)arch;
  d->platform.variant = (char *)variant;
  d->platform.os_version = (char *)version;
}

static void test_platform_linux(void **state)
{
  cf_oci_descriptor entries[3] = {0};
  set_platform(&entries[0], "linux", "arm64", "v8", "");
  set_platform(&entries[1], "linux", "amd64", "", "");
  set_platform(&entries[2], "windows", "amd64", "", "10.0.17763.1");
  cf_oci_index index = {.manifests = entries, .manifest_count = 3};
  const cf_oci_descriptor *out = NULL;
  cf_err *err = NULL;
  cf_image_platform amd64 = {.os = "linux", .architecture = "amd64"};
  assert_int_equal(cf_platform_select(&index, &amd64, &out, &err), 0);
  assert_ptr_equal(out, &entries[1]);
  cf_image_platform arm = {.os = "linux", .architecture = "arm64", .variant = "v8"};
  assert_int_equal(cf_platform_select(&index, &arm, &out, &err), 0);
  assert_ptr_equal(out, &entries[0]);
  cf_image_platform arm_v7 = {.os = "linux", .architecture = "arm64", .variant = "v7"};
  assert_int_equal(cf_platform_select(&index, &arm_v7, &out, &err), -1);
  assert_int_equal(err->code, CF_E_NOT_FOUND);
  assert_non_null(strstr(err->message, "linux/arm64/v7"));
  assert_non_null(strstr(err->message, "linux/arm64/v8, linux/amd64, windows/amd64 10.0.17763.1"));
  cf_err_free(err);
}

static void test_platform_windows_build(void **state)
{
  cf_oci_descriptor entries[3] = {0};
  set_platform(&entries[0], "windows", "amd64", "", "10.0.17763.5329");
  set_platform(&entries[1], "windows", "amd64", "", "10.0.20348.2227");
  set_platform(&entries[2], "linux", "amd64", "", "");
  cf_oci_index index = {.manifests = entries, .manifest_count = 3};
  const cf_oci_descriptor *out = NULL;
  cf_err *err = NULL;
  cf_image_platform ltsc2022 = {
      .os = "windows", .architecture = "amd64", .os_version = "10.0.20348.1000"};
  assert_int_equal(cf_platform_select(&index, &ltsc2022, &out, &err), 0);
  assert_ptr_equal(out, &entries[1]);
  cf_image_platform any = {.os = "windows", .architecture = "amd64"};
  assert_int_equal(cf_platform_select(&index, &any, &out, &err), 0);
  assert_ptr_equal(out, &entries[0]);
  cf_image_platform ws2025 = {.os = "windows", .architecture = "amd64", .os_version = "10.0.26100"};
  assert_int_equal(cf_platform_select(&index, &ws2025, &out, &err), -1);
  assert_int_equal(err->code, CF_E_NOT_FOUND);
  assert_non_null(strstr(err->message, "10.0.26100"));
  cf_err_free(err);
}

static void test_platform_fallback_untagged(void **state)
{
  cf_oci_descriptor entries[2] = {0};
  set_platform(&entries[0], "linux", "s390x", "", "");
  cf_oci_index index = {.manifests = entries, .manifest_count = 2};
  const cf_oci_descriptor *out = NULL;
  cf_err *err = NULL;
  assert_int_equal(cf_platform_select(&index, NULL, &out, &err), 0);
  assert_ptr_equal(out, &entries[1]);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_docker_uri_valid),
      cmocka_unit_test(test_docker_uri_invalid),
      cmocka_unit_test(test_challenge_bearer),
      cmocka_unit_test(test_challenge_basic_and_escapes),
      cmocka_unit_test(test_challenge_invalid),
      cmocka_unit_test(test_platform_linux),
      cmocka_unit_test(test_platform_windows_build),
      cmocka_unit_test(test_platform_fallback_untagged),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
