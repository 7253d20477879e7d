/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the base module: errors, buffers, logging, ids, paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/fs.h"
#include "base/json_string.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/sha256.h"
#include "base/sha256_shani.h"

#include <mbedtls/sha256.h>
#if defined(MBEDTLS_VERSION_MAJOR) && MBEDTLS_VERSION_MAJOR >= 3
#define SHA256_REFERENCE(data, len, out) mbedtls_sha256((data), (len), (out), 0)
#else
#define SHA256_REFERENCE(data, len, out) mbedtls_sha256_ret((data), (len), (out), 0)
#endif

static void test_err_wrap_adds_context(void **state)
{
  (void)state;
  cf_err *err = NULL;
  assert_int_equal(cf_err_set(&err, CF_E_NOT_FOUND, "unknown handle: %s", "w1"), -1);
  assert_int_equal(cf_err_wrap(&err, "destroy %s", "w1"), -1);
  assert_string_equal(err->message, "destroy w1: unknown handle: w1");
  assert_int_equal(err->code, CF_E_NOT_FOUND);
  cf_err_clear(&err);
  assert_null(err);
  assert_int_equal(cf_err_sys(&err, 2, "open %s", "/x"), -1);
  assert_string_equal(err->message, "open /x: No such file or directory");
  assert_int_equal(err->sys_errno, 2);
  cf_err_free(err);
}

static void test_buf_enforces_maximum(void **state)
{
  (void)state;
  cf_buf buf;
  cf_buf_init(&buf, 8);
  cf_err *err = NULL;
  assert_int_equal(cf_buf_append_str(&buf, "12345678", &err), 0);
  assert_int_equal(cf_buf_append(&buf, "9", 1, &err), -1);
  assert_int_equal(err->code, CF_E_LIMIT);
  assert_string_equal(buf.data, "12345678");
  cf_err_free(err);
  cf_buf_consume(&buf, 3);
  assert_string_equal(buf.data, "45678");
  char *taken = cf_buf_take(&buf);
  assert_string_equal(taken, "45678");
  free(taken);
  assert_int_equal(buf.len, 0);
  cf_buf_free(&buf);
}

static void test_log_line_formats(void **state)
{
  (void)state;
  json_t *data = json_pack("{s:s}", "handle", "w1");
  char *epoch = cf_log_format_line(CF_LOG_INFO, CF_LOG_TIME_UNIX_EPOCH, "guardian",
                                   "create.started", data, 1764862930, 123456789);
  assert_string_equal(epoch, "{\"timestamp\":\"1764862930.123456789\",\"source\":\"guardian\","
                             "\"message\":\"guardian.create.started\",\"log_level\":1,"
                             "\"data\":{\"handle\":\"w1\"}}");
  free(epoch);
  char *rfc =
      cf_log_format_line(CF_LOG_ERROR, CF_LOG_TIME_RFC3339, "guardian", "x", NULL, 1764862930, 5);
  assert_string_equal(rfc, "{\"timestamp\":\"2025-12-04T15:42:10.000000005Z\",\"level\":\"error\","
                           "\"source\":\"guardian\",\"message\":\"guardian.x\",\"data\":{}}");
  free(rfc);
  json_decref(data);
}

static void test_log_error_keeps_invalid_utf8(void **state)
{
  (void)state;
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  cf_log_configure(fds[1], CF_LOG_INFO, CF_LOG_TIME_UNIX_EPOCH, "test");
  cf_err *err = NULL;
  cf_err_set(&err, CF_E_INVALID, "invalid handle \"bad\xff\"");
  cf_log_error("failed", err, NULL);
  cf_err_free(err);
  cf_log_configure(STDOUT_FILENO, CF_LOG_INFO, CF_LOG_TIME_UNIX_EPOCH, "cfwin");
  close(fds[1]);
  char line[1024] = {0};
  assert_true(read(fds[0], line, sizeof(line) - 1) > 0);
  close(fds[0]);
  assert_non_null(strstr(line, "\"error\":\"invalid handle \\\"bad\xef\xbf\xbd\\\"\""));
}

static void test_log_parses_options(void **state)
{
  (void)state;
  enum cf_log_level level;
  enum cf_log_time_format format;
  cf_err *err = NULL;
  assert_int_equal(cf_log_parse_level("debug", &level, &err), 0);
  assert_int_equal(level, CF_LOG_DEBUG);
  assert_int_equal(cf_log_parse_level("loud", &level, &err), -1);
  assert_non_null(strstr(err->message, "\"loud\""));
  cf_err_clear(&err);
  assert_int_equal(cf_log_parse_time_format("rfc3339", &format, &err), 0);
  assert_int_equal(format, CF_LOG_TIME_RFC3339);
  assert_int_equal(cf_log_parse_time_format("iso", &format, &err), -1);
  cf_err_free(err);
}

static void test_json_string_replaces_invalid_bytes(void **state)
{
  (void)state;
  json_t *ok = cf_json_string("plain \xc3\xa9");
  assert_string_equal(json_string_value(ok), "plain \xc3\xa9");
  json_decref(ok);
  json_t *fixed = cf_json_string("a\xff\xc3");
  assert_string_equal(json_string_value(fixed), "a\xef\xbf\xbd\xef\xbf\xbd");
  json_decref(fixed);
  json_t *empty = cf_json_string(NULL);
  assert_string_equal(json_string_value(empty), "");
  json_decref(empty);
}

static void test_handle_validation(void **state)
{
  (void)state;
  const char *good[] = {"a", "w1", "A.b_c-9", "0"};
  for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
    assert_int_equal(cf_handle_validate(good[i], NULL), 0);
  }
  char long_handle[130];
  memset(long_handle, 'a', 129);
  long_handle[129] = '\0';
  const char *bad[] = {"", "-a", ".a", "a/b", "..", "a b", "\xc3\xa9", long_handle};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    cf_err *err = NULL;
    assert_int_equal(cf_handle_validate(bad[i], &err), -1);
    assert_non_null(strstr(err->message, "invalid handle"));
    cf_err_free(err);
  }
  long_handle[128] = '\0';
  assert_int_equal(cf_handle_validate(long_handle, NULL), 0);
}

static void test_random_uuid_form(void **state)
{
  (void)state;
  char a[37];
  char b[37];
  assert_int_equal(cf_random_uuid(a, NULL), 0);
  assert_int_equal(cf_random_uuid(b, NULL), 0);
  assert_int_equal(strlen(a), 36);
  assert_int_equal(a[8], '-');
  assert_int_equal(a[14], '4');
  assert_non_null(strchr("89ab", a[19]));
  assert_string_not_equal(a, b);
}

static void test_path_join(void **state)
{
  (void)state;
  char *p = cf_path_join("/a/", "/b");
  assert_string_equal(p, "/a/b");
  free(p);
  p = cf_path_join("/a", "b");
  assert_string_equal(p, "/a/b");
  free(p);
}

static void test_sha256_known_digest(void **state)
{
  (void)state;
  char digest[CF_DIGEST_LEN + 1];
  /* printf 'abc' | sha256sum */
  cf_sha256_digest("abc", 3, digest);
  assert_string_equal(digest,
                      "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  assert_int_equal(cf_digest_validate(digest, NULL), 0);
  assert_int_equal(cf_digest_validate("sha256:../../etc/passwd", NULL), -1);
  assert_int_equal(cf_digest_validate("sha512:ba78", NULL), -1);
}

/* Known digests: the empty message, "abc", the 448-bit message and one
 * million "a", as sha256sum prints them. */
static const struct {
  const char *message;
  size_t repeat;
  const char *hex;
} sha256_vectors[] = {
    {"", 1, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
    {"abc", 1, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
    {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 1,
     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    {"a", 1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
};

static void hex_of(const uint8_t raw[32], char out[65])
{
  static const char digits[] = "0123456789abcdef";
  for (int i = 0; i < 32; i++) {
    out[2 * i] = digits[raw[i] >> 4];
    out[2 * i + 1] = digits[raw[i] & 0xf];
  }
  out[64] = '\0';
}

static void test_sha256_vectors(void **state)
{
  (void)state;
  for (size_t v = 0; v < sizeof(sha256_vectors) / sizeof(sha256_vectors[0]); v++) {
    cf_sha256 ctx;
    cf_sha256_init(&ctx);
    for (size_t r = 0; r < sha256_vectors[v].repeat; r++) {
      cf_sha256_update(&ctx, sha256_vectors[v].message, strlen(sha256_vectors[v].message));
    }
    char digest[CF_DIGEST_LEN + 1];
    cf_sha256_finish(&ctx, digest);
    assert_string_equal(digest + 7, sha256_vectors[v].hex);
  }
}

/* The SHA-NI code against the same vectors, and against mbedTLS (through
 * cf_sha256 when the CPU lacks SHA-NI, else directly below) for inputs of
 * every length up to 300 bytes fed in uneven pieces, so each padding case
 * and each buffering path runs. */
static void test_sha256_shani_matches(void **state)
{
  (void)state;
  if (!cf_sha256_shani_available()) {
    skip();
  }
  for (size_t v = 0; v < sizeof(sha256_vectors) / sizeof(sha256_vectors[0]); v++) {
    cf_sha256_shani ctx;
    cf_sha256_shani_init(&ctx);
    for (size_t r = 0; r < sha256_vectors[v].repeat; r++) {
      cf_sha256_shani_update(&ctx, sha256_vectors[v].message, strlen(sha256_vectors[v].message));
    }
    uint8_t raw[32];
    char hex[65];
    cf_sha256_shani_finish(&ctx, raw);
    hex_of(raw, hex);
    assert_string_equal(hex, sha256_vectors[v].hex);
  }
  uint8_t data[300];
  for (size_t i = 0; i < sizeof(data); i++) {
    data[i] = (uint8_t)(i * 131 + 7);
  }
  for (size_t len = 0; len <= sizeof(data); len++) {
    uint8_t expected[32];
    SHA256_REFERENCE(data, len, expected);
    cf_sha256_shani ctx;
    cf_sha256_shani_init(&ctx);
    for (size_t done = 0, piece = 1; done < len; piece = piece * 3 % 71 + 1) {
      size_t n = len - done < piece ? len - done : piece;
      cf_sha256_shani_update(&ctx, data + done, n);
      done += n;
    }
    uint8_t raw[32];
    cf_sha256_shani_finish(&ctx, raw);
    if (memcmp(raw, expected, 32) != 0) {
      fail_msg("SHA-NI digest of %zu bytes differs from mbedTLS", len);
    }
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_err_wrap_adds_context),
      cmocka_unit_test(test_buf_enforces_maximum),
      cmocka_unit_test(test_log_line_formats),
      cmocka_unit_test(test_log_error_keeps_invalid_utf8),
      cmocka_unit_test(test_log_parses_options),
      cmocka_unit_test(test_json_string_replaces_invalid_bytes),
      cmocka_unit_test(test_handle_validation),
      cmocka_unit_test(test_random_uuid_form),
      cmocka_unit_test(test_path_join),
      cmocka_unit_test(test_sha256_known_digest),
      cmocka_unit_test(test_sha256_vectors),
      cmocka_unit_test(test_sha256_shani_matches),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
