/* SPDX-License-Identifier: Apache-2.0 */
/* The Garden client's pure helpers: addresses, escaping and UTF-8 cuts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "garden/client.h"

static void test_init_tcp_addresses(void **state)
{
  (void)state;
  cf_garden_client client;
  assert_int_equal(cf_garden_client_init(&client, "127.0.0.1:7777", NULL), 0);
  assert_null(client.socket_path);
  assert_string_equal(client.host, "127.0.0.1");
  assert_int_equal(client.port, 7777);
  cf_garden_client_clear(&client);

  assert_int_equal(cf_garden_client_init(&client, "[::1]:8080", NULL), 0);
  assert_string_equal(client.host, "::1");
  assert_int_equal(client.port, 8080);
  cf_garden_client_clear(&client);
}

static void test_init_socket_addresses(void **state)
{
  (void)state;
  cf_garden_client client;
  assert_int_equal(cf_garden_client_init(&client, "unix:/run/garden.sock", NULL), 0);
  assert_string_equal(client.socket_path, "/run/garden.sock");
  assert_null(client.host);
  cf_garden_client_clear(&client);

  assert_int_equal(cf_garden_client_init(&client, "/tmp/garden.sock", NULL), 0);
  assert_string_equal(client.socket_path, "/tmp/garden.sock");
  cf_garden_client_clear(&client);
}

static void test_init_rejects_bad_addresses(void **state)
{
  (void)state;
  const char *bad[] = {"localhost", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536",
                       ":7777",     "10.0.0.1:x", "unix:"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    cf_garden_client client;
    cf_err *err = NULL;
    assert_int_equal(cf_garden_client_init(&client, bad[i], &err), -1);
    assert_non_null(err);
    assert_int_equal(err->code, CF_E_INVALID);
    assert_non_null(strstr(err->message, bad[i]));
    cf_err_free(err);
    cf_garden_client_clear(&client);
  }
}

static void test_escape_path_segments(void **state)
{
  (void)state;
  const char *cases[][2] = {
      {"plain-Name_1.2~", "plain-Name_1.2~"},
      {"a b", "a%20b"},
      {"a/b", "a%2Fb"},
      {"a+b&c=d?", "a%2Bb%26c%3Dd%3F"},
      {"caf\xc3\xa9", "caf%C3%A9"},
      {"", ""},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char *escaped = cf_garden_escape(cases[i][0]);
    assert_string_equal(escaped, cases[i][1]);
    free(escaped);
  }
}

static void test_utf8_complete_len(void **state)
{
  (void)state;
  struct {
    const char *data;
    size_t expected;
  } cases[] = {
      {"abc", 3},
      {"ab\xc3", 2},            /* the lead byte of a 2-byte character */
      {"ab\xc3\xa9", 4},        /* a whole 2-byte character */
      {"a\xe2\x82", 1},         /* two bytes of a 3-byte character */
      {"\xe2\x82\xac", 3},      /* the euro sign, whole */
      {"\xf0\x9f\x98", 0},      /* three bytes of a 4-byte character */
      {"x\xf0\x9f\x98\x80", 5}, /* a whole 4-byte character */
      {"\x80\x80\x80\x80", 4},  /* stray continuation bytes are not cut */
      {"", 0},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    size_t len = strlen(cases[i].data);
    assert_int_equal(cf_garden_utf8_complete_len(cases[i].data, len), cases[i].expected);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_init_tcp_addresses),
      cmocka_unit_test(test_init_socket_addresses),
      cmocka_unit_test(test_init_rejects_bad_addresses),
      cmocka_unit_test(test_escape_path_segments),
      cmocka_unit_test(test_utf8_complete_len),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
