/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the Garden server's HTTP request parsing, routing and JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/mem.h"
#include "garden/http.h"
#include "garden/json.h"
#include "garden/router.h"

static int feed_all(cf_http_request *req, const char *text, size_t *consumed, cf_err **err)
{
  return cf_http_request_feed(req, text, strlen(text), consumed, err);
}

static void test_request_with_body(void **state)
{
  (void)state;
  const char *text = "POST /containers HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\n"
                     "Content-Length: 15\r\n\r\n{\"handle\":\"w1\"}";
  cf_http_request req;
  cf_http_request_init(&req, 4096, 4096);
  size_t consumed = 0;
  cf_err *err = NULL;
  assert_int_equal(feed_all(&req, text, &consumed, &err), 0);
  assert_true(req.complete);
  assert_int_equal(consumed, strlen(text));
  assert_string_equal(req.method, "POST");
  assert_string_equal(req.path, "/containers");
  assert_string_equal(req.query, "");
  assert_string_equal(req.body.data, "{\"handle\":\"w1\"}");
  assert_string_equal(cf_http_request_header(&req, "content-type"), "application/json");
  assert_true(req.keep_alive);
  cf_http_request_clear(&req);
}

static void test_request_split_bytewise(void **state)
{
  (void)state;
  const char *text = "GET /containers?a=b&c=d HTTP/1.1\r\nHost: api\r\nConnection: close\r\n\r\n";
  cf_http_request req;
  cf_http_request_init(&req, 4096, 4096);
  cf_err *err = NULL;
  for (size_t i = 0; i < strlen(text); i++) {
    size_t consumed = 0;
    assert_false(req.complete);
    assert_int_equal(cf_http_request_feed(&req, text + i, 1, &consumed, &err), 0);
    assert_int_equal(consumed, 1);
  }
  assert_true(req.complete);
  assert_string_equal(req.path, "/containers");
  assert_string_equal(req.query, "a=b&c=d");
  assert_false(req.keep_alive);
  cf_http_request_clear(&req);
}

static void test_request_keeps_trailing_bytes(void **state)
{
  (void)state;
  const char *head = "POST /containers/h/processes HTTP/1.1\r\nHost: api\r\n"
                     "Content-Length: 2\r\n\r\n{}";
  const char *tail = "{\"process_id\":\"p\",\"source\":0}\n";
  cf_autofree char *text = cf_xasprintf("%s%s", head, tail);
  cf_http_request req;
  cf_http_request_init(&req, 4096, 4096);
  size_t consumed = 0;
  cf_err *err = NULL;
  assert_int_equal(feed_all(&req, text, &consumed, &err), 0);
  assert_true(req.complete);
  assert_int_equal(consumed, strlen(head));
  assert_string_equal(text + consumed, tail);
  cf_http_request_clear(&req);
}

static void test_request_chunked_body(void **state)
{
  (void)state;
  const char *text = "PUT /containers/h/files HTTP/1.1\r\nHost: api\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
  cf_http_request req;
  cf_http_request_init(&req, 4096, 4096);
  size_t consumed = 0;
  cf_err *err = NULL;
  assert_int_equal(feed_all(&req, text, &consumed, &err), 0);
  assert_true(req.complete);
  assert_int_equal(req.body.len, 11);
  assert_string_equal(req.body.data, "hello world");
  cf_http_request_clear(&req);
}

static void test_request_malformed(void **state)
{
  (void)state;
  const char *bad[] = {
      "GARBAGE\r\n\r\n",
      "GET / HTTP/9.9.9\r\n\r\n",
      "GET / HTTP/1.1\r\nBad Header Line\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    cf_http_request req;
    cf_http_request_init(&req, 4096, 4096);
    size_t consumed = 0;
    cf_err *err = NULL;
    assert_int_equal(feed_all(&req, bad[i], &consumed, &err), -1);
    assert_non_null(err);
    assert_int_equal(err->code, CF_E_INVALID);
    assert_non_null(strstr(err->message, "malformed HTTP request"));
    cf_err_free(err);
    cf_http_request_clear(&req);
  }
}

static void test_request_http_version(void **state)
{
  (void)state;
  struct {
    const char *text;
    int code;
  } cases[] = {
      {"GET /ping\r\n\r\n", CF_E_INVALID},
      {"GET /ping HTTP/2.0\r\n\r\n", CF_E_NOT_IMPLEMENTED},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    cf_http_request req;
    cf_http_request_init(&req, 4096, 4096);
    size_t consumed = 0;
    cf_err *err = NULL;
    assert_int_equal(feed_all(&req, cases[i].text, &consumed, &err), -1);
    assert_int_equal(err->code, cases[i].code);
    assert_non_null(strstr(err->message, "unsupported HTTP version"));
    cf_err_free(err);
    cf_http_request_clear(&req);
  }
  cf_http_request req;
  cf_http_request_init(&req, 4096, 4096);
  size_t consumed = 0;
  assert_int_equal(feed_all(&req, "GET /ping HTTP/1.0\r\n\r\n", &consumed, NULL), 0);
  assert_true(req.complete);
  assert_false(req.keep_alive);
  cf_http_request_clear(&req);
}

static void test_unescape_rejects_nul(void **state)
{
  (void)state;
  char *out = NULL;
  cf_err *err = NULL;
  assert_int_equal(cf_http_unescape("victim%00anything", 17, &out, &err), -1);
  assert_non_null(strstr(err->message, "NUL"));
  cf_err_free(err);
  enum cf_route_result result;
  cf_route_match match;
  err = NULL;
  assert_int_equal(cf_route_find("DELETE", "/containers/victim%00x", &result, &match, &err), -1);
  cf_err_free(err);
}

static void test_json_strings_reject_nul(void **state)
{
  (void)state;
  json_t *object = NULL;
  cf_err *err = NULL;
  const char *text = "{\"handle\":\"nul\\u0000x\",\"env\":[\"A=\\u0000\"]}";
  assert_int_equal(cf_json_decode(text, strlen(text), &object, &err), 0);
  const char *handle = NULL;
  assert_int_equal(cf_json_get_string(object, "handle", &handle, &err), -1);
  assert_non_null(strstr(err->message, "NUL"));
  cf_err_clear(&err);
  char **env = NULL;
  size_t count = 0;
  assert_int_equal(cf_json_get_strings(object, "env", &env, &count, &err), -1);
  cf_err_free(err);
  json_decref(object);
}

static void test_json_check_type(void **state)
{
  (void)state;
  json_t *object =
      json_pack("{s:s, s:b, s:n, s:{}}", "image", "x", "privileged", 1, "limits", "tty");
  cf_err *err = NULL;
  assert_int_equal(cf_json_check_type(object, "image", JSON_OBJECT, &err), -1);
  assert_non_null(strstr(err->message, "\"image\": expected an object"));
  cf_err_clear(&err);
  assert_int_equal(cf_json_check_type(object, "privileged", JSON_TRUE, &err), 0);
  assert_int_equal(cf_json_check_type(object, "limits", JSON_OBJECT, &err), 0);
  assert_int_equal(cf_json_check_type(object, "missing", JSON_ARRAY, &err), 0);
  assert_int_equal(cf_json_check_type(object, "tty", JSON_ARRAY, &err), -1);
  cf_err_free(err);
  json_decref(object);
}

static void test_request_headers_too_large(void **state)
{
  (void)state;
  cf_http_request req;
  cf_http_request_init(&req, 256, 4096);
  cf_autofree char *big = cf_xmalloc(1024);
  memset(big, 'x', 1023);
  big[1023] = '\0';
  cf_autofree char *text = cf_xasprintf("GET /ping HTTP/1.1\r\nX-Big: %s\r\n\r\n", big);
  size_t consumed = 0;
  cf_err *err = NULL;
  assert_int_equal(feed_all(&req, text, &consumed, &err), -1);
  assert_int_equal(err->code, CF_E_LIMIT);
  assert_true(req.headers_too_large);
  assert_non_null(strstr(err->message, "request headers too large"));
  cf_err_free(err);
  cf_http_request_clear(&req);
}

static void test_request_body_too_large(void **state)
{
  (void)state;
  cf_http_request req;
  cf_http_request_init(&req, 4096, 16);
  size_t consumed = 0;
  cf_err *err = NULL;
  assert_int_equal(
      feed_all(&req, "POST /containers HTTP/1.1\r\nContent-Length: 100\r\n\r\n", &consumed, &err),
      -1);
  assert_int_equal(err->code, CF_E_LIMIT);
  assert_false(req.headers_too_large);
  assert_non_null(strstr(err->message, "request body too large"));
  cf_err_clear(&err);
  cf_http_request_clear(&req);

  /* A chunked body has no announced length: the limit applies as it arrives. */
  cf_http_request_init(&req, 4096, 16);
  assert_int_equal(feed_all(&req,
                            "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                            "20\r\n01234567890123456789012345678901\r\n0\r\n\r\n",
                            &consumed, &err),
                   -1);
  assert_int_equal(err->code, CF_E_LIMIT);
  assert_false(req.headers_too_large);
  cf_err_free(err);
  cf_http_request_clear(&req);
}

static void test_request_too_many_headers(void **state)
{
  (void)state;
  cf_buf text;
  cf_buf_init(&text, 1 << 20);
  cf_buf_append_str(&text, "GET /ping HTTP/1.1\r\n", NULL);
  for (int i = 0; i < CF_HTTP_MAX_HEADERS + 1; i++) {
    cf_buf_printf(&text, NULL, "X-H%d: v\r\n", i);
  }
  cf_buf_append_str(&text, "\r\n", NULL);
  cf_http_request req;
  cf_http_request_init(&req, 1 << 20, 4096);
  size_t consumed = 0;
  cf_err *err = NULL;
  assert_int_equal(feed_all(&req, text.data, &consumed, &err), -1);
  assert_int_equal(err->code, CF_E_LIMIT);
  assert_true(req.headers_too_large);
  cf_err_free(err);
  cf_http_request_clear(&req);
  cf_buf_free(&text);
}

static void test_request_finish_partial(void **state)
{
  (void)state;
  cf_http_request req;
  cf_http_request_init(&req, 4096, 4096);
  size_t consumed = 0;
  cf_err *err = NULL;
  assert_int_equal(feed_all(&req, "GET /pi", &consumed, &err), 0);
  assert_false(req.complete);
  assert_int_equal(cf_http_request_finish(&req, &err), -1);
  assert_non_null(strstr(err->message, "before the request was complete"));
  cf_err_free(err);
  cf_http_request_clear(&req);
}

static void test_unescape(void **state)
{
  (void)state;
  char *out = NULL;
  cf_err *err = NULL;
  assert_int_equal(cf_http_unescape("a+b%2Fc%41", 10, &out, &err), 0);
  assert_string_equal(out, "a b/cA");
  free(out);
  assert_int_equal(cf_http_unescape("bad%4", 5, &out, &err), -1);
  assert_int_equal(err->code, CF_E_INVALID);
  cf_err_clear(&err);
  assert_int_equal(cf_http_unescape("%zz", 3, &out, &err), -1);
  cf_err_free(err);
}

static void test_query_parse(void **state)
{
  (void)state;
  cf_http_query_pair *pairs = NULL;
  size_t count = 0;
  cf_err *err = NULL;
  assert_int_equal(cf_http_query_parse("handles=a%2Cb&x=&flag&k=1&k=2", &pairs, &count, &err), 0);
  assert_int_equal(count, 5);
  assert_string_equal(pairs[0].key, "handles");
  assert_string_equal(pairs[0].value, "a,b");
  assert_string_equal(pairs[1].value, "");
  assert_string_equal(pairs[2].key, "flag");
  assert_string_equal(pairs[2].value, "");
  cf_http_query_pairs_free(pairs, count);
  char *value = NULL;
  assert_int_equal(cf_http_query_get("k=1&k=2", "k", &value, &err), 1);
  assert_string_equal(value, "1");
  free(value);
  assert_int_equal(cf_http_query_get("k=1", "missing", &value, &err), 0);
}

static void expect_route(const char *method, const char *path, enum cf_route route,
                         const char *handle, const char *second)
{
  enum cf_route_result result;
  cf_route_match match;
  cf_err *err = NULL;
  assert_int_equal(cf_route_find(method, path, &result, &match, &err), 0);
  assert_int_equal(result, CF_ROUTE_MATCHED);
  assert_int_equal(match.route, route);
  if (handle != NULL) {
    assert_string_equal(match.handle, handle);
  }
  if (second != NULL) {
    const char *value = match.key != NULL ? match.key : match.pid;
    assert_string_equal(value, second);
  }
  cf_route_match_clear(&match);
}

static void test_router_matches_routes(void **state)
{
  (void)state;
  expect_route("GET", "/ping", CF_ROUTE_PING, NULL, NULL);
  expect_route("GET", "/containers", CF_ROUTE_LIST, NULL, NULL);
  expect_route("POST", "/containers", CF_ROUTE_CREATE, NULL, NULL);
  expect_route("GET", "/containers/bulk_info", CF_ROUTE_BULK_INFO, NULL, NULL);
  expect_route("GET", "/containers/w1/info", CF_ROUTE_INFO, "w1", NULL);
  expect_route("DELETE", "/containers/w1", CF_ROUTE_DESTROY, "w1", NULL);
  expect_route("POST", "/containers/w1/processes", CF_ROUTE_RUN, "w1", NULL);
  expect_route("GET", "/containers/w1/processes/p1", CF_ROUTE_ATTACH, "w1", "p1");
  expect_route("GET", "/containers/w1/processes/p1/attaches/7/stdout", CF_ROUTE_STDOUT, "w1", "p1");
  expect_route("GET", "/containers/w1/properties/a%20b", CF_ROUTE_PROPERTY, "w1", "a b");
  expect_route("POST", "/containers/w1/net/out/bulk", CF_ROUTE_BULK_NET_OUT, "w1", NULL);
  expect_route("PUT", "/containers/my+box/grace_time", CF_ROUTE_SET_GRACE_TIME, "my box", NULL);
}

static void test_router_rejects(void **state)
{
  (void)state;
  enum cf_route_result result;
  cf_route_match match;
  cf_err *err = NULL;
  assert_int_equal(cf_route_find("PATCH", "/ping", &result, &match, &err), 0);
  assert_int_equal(result, CF_ROUTE_WRONG_METHOD);
  assert_string_equal(match.allow, "GET");
  cf_route_match_clear(&match);

  assert_int_equal(cf_route_find("GET", "/nope", &result, &match, &err), 0);
  assert_int_equal(result, CF_ROUTE_NO_PATH);
  cf_route_match_clear(&match);

  assert_int_equal(cf_route_find("GET", "/containers/", &result, &match, &err), 0);
  assert_int_equal(result, CF_ROUTE_NO_PATH);
  cf_route_match_clear(&match);

  assert_int_equal(cf_route_find("GET", "/ping/", &result, &match, &err), 0);
  assert_int_equal(result, CF_ROUTE_NO_PATH);
  cf_route_match_clear(&match);

  assert_int_equal(cf_route_find("GET", "/containers/%zz/info", &result, &match, &err), -1);
  assert_int_equal(err->code, CF_E_INVALID);
  cf_err_free(err);
}

static void test_json_encode_like_go(void **state)
{
  (void)state;
  json_t *value = json_pack("{s:s, s:i}", "Message", "<a & b>", "n", 5);
  cf_autofree char *text = cf_json_encode(value);
  assert_string_equal(text, "{\"Message\":\"\\u003ca \\u0026 b\\u003e\",\"n\":5}\n");
  json_decref(value);
}

static void test_json_invalid_utf8_replaced(void **state)
{
  (void)state;
  json_t *value = cf_json_string("a\xff"
                                 "b");
  assert_non_null(value);
  assert_string_equal(json_string_value(value), "a\xef\xbf\xbd"
                                                "b");
  json_decref(value);
}

static void test_json_decode_errors(void **state)
{
  (void)state;
  json_t *value = NULL;
  cf_err *err = NULL;
  assert_int_equal(cf_json_decode("", 0, &value, &err), -1);
  assert_string_equal(err->message, "EOF");
  cf_err_clear(&err);
  assert_int_equal(cf_json_decode("{not json", 9, &value, &err), -1);
  assert_int_equal(err->code, CF_E_INVALID);
  cf_err_clear(&err);
  assert_int_equal(cf_json_decode("{\"a\":1}\ntrailing", 16, &value, &err), 0);
  json_decref(value);
}

/* Feeds text in two pieces split at every position and checks that exactly
 * one value with the given data comes out. */
static void assert_take_survives_splits(const char *text, const char *expected_data)
{
  size_t len = strlen(text);
  for (size_t cut = 1; cut < len; cut++) {
    cf_buf stream;
    cf_buf_init(&stream, 4096);
    json_t *value = NULL;
    cf_err *err = NULL;
    cf_buf_append(&stream, text, cut, NULL);
    int first = cf_json_take(&stream, &value, &err);
    assert_int_equal(first, 0);
    cf_buf_append(&stream, text + cut, len - cut, NULL);
    assert_int_equal(cf_json_take(&stream, &value, &err), 1);
    assert_string_equal(json_string_value(json_object_get(value, "data")), expected_data);
    json_decref(value);
    cf_buf_free(&stream);
  }
}

static void test_json_take_split_anywhere(void **state)
{
  (void)state;
  assert_take_survives_splits("{\"source\":0,\"data\":\"x\\u00e9\\u003cy\"}", "x\xc3\xa9<y");
  assert_take_survives_splits("{\"source\":0,\"data\":\"x\xc3\xa9\xe2\x82\xacy\"}",
                              "x\xc3\xa9\xe2\x82\xacy");
  assert_take_survives_splits("{\"data\":\"\\ud83d\\ude00\"}", "\xf0\x9f\x98\x80");
}

static void test_json_take_stream_of_values(void **state)
{
  (void)state;
  cf_buf stream;
  cf_buf_init(&stream, 4096);
  cf_buf_append_str(&stream, " {\"a\":1}\n{\"a\":2}{\"a\":3}\n{\"a\"", NULL);
  json_t *value = NULL;
  cf_err *err = NULL;
  for (int expected = 1; expected <= 3; expected++) {
    assert_int_equal(cf_json_take(&stream, &value, &err), 1);
    assert_int_equal(json_integer_value(json_object_get(value, "a")), expected);
    json_decref(value);
  }
  assert_int_equal(cf_json_take(&stream, &value, &err), 0);
  cf_buf_free(&stream);
}

static void test_json_take_rejects_invalid(void **state)
{
  (void)state;
  cf_buf stream;
  cf_buf_init(&stream, 4096);
  cf_buf_append_str(&stream, "{\"a\":tru} and more bytes after the error", NULL);
  json_t *value = NULL;
  cf_err *err = NULL;
  assert_int_equal(cf_json_take(&stream, &value, &err), -1);
  assert_int_equal(err->code, CF_E_INVALID);
  cf_err_free(err);
  cf_buf_free(&stream);
}

static void test_json_get_case_insensitive(void **state)
{
  (void)state;
  json_t *object = json_pack("{s:s, s:s}", "HANDLE", "upper", "Path", "p");
  assert_string_equal(json_string_value(cf_json_get(object, "handle")), "upper");
  assert_string_equal(json_string_value(cf_json_get(object, "Path")), "p");
  assert_null(cf_json_get(object, "missing"));
  const char *s = NULL;
  cf_err *err = NULL;
  json_object_set_new(object, "n", json_integer(3));
  assert_int_equal(cf_json_get_string(object, "n", &s, &err), -1);
  assert_non_null(strstr(err->message, "\"n\""));
  cf_err_free(err);
  json_decref(object);
}

static void test_json_error_envelope(void **state)
{
  (void)state;
  json_t *envelope =
      cf_json_error_envelope("ContainerNotFoundError", "unknown handle: nope", "nope", NULL);
  cf_autofree char *text = cf_json_encode(envelope);
  assert_string_equal(text, "{\"Type\":\"ContainerNotFoundError\",\"Message\":\"unknown handle: "
                            "nope\",\"Handle\":\"nope\",\"ProcessID\":\"\",\"Binary\":\"\"}\n");
  json_decref(envelope);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_request_with_body),
      cmocka_unit_test(test_request_split_bytewise),
      cmocka_unit_test(test_request_keeps_trailing_bytes),
      cmocka_unit_test(test_request_chunked_body),
      cmocka_unit_test(test_request_malformed),
      cmocka_unit_test(test_request_http_version),
      cmocka_unit_test(test_unescape_rejects_nul),
      cmocka_unit_test(test_json_strings_reject_nul),
      cmocka_unit_test(test_json_check_type),
      cmocka_unit_test(test_request_headers_too_large),
      cmocka_unit_test(test_request_body_too_large),
      cmocka_unit_test(test_request_too_many_headers),
      cmocka_unit_test(test_request_finish_partial),
      cmocka_unit_test(test_unescape),
      cmocka_unit_test(test_query_parse),
      cmocka_unit_test(test_router_matches_routes),
      cmocka_unit_test(test_router_rejects),
      cmocka_unit_test(test_json_encode_like_go),
      cmocka_unit_test(test_json_invalid_utf8_replaced),
      cmocka_unit_test(test_json_decode_errors),
      cmocka_unit_test(test_json_take_split_anywhere),
      cmocka_unit_test(test_json_take_stream_of_values),
      cmocka_unit_test(test_json_take_rejects_invalid),
      cmocka_unit_test(test_json_get_case_insensitive),
      cmocka_unit_test(test_json_error_envelope),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
