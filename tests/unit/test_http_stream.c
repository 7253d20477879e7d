/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of HTTP request parsing that stops after the headers and
 * streams the body, as the server does for StreamIn. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "garden/http.h"

static void collect_body(void *ctx, const char *data, size_t len)
{
  cf_buf_append(ctx, data, len, NULL);
}

/* Feeds text until the parser stops at the headers, then streams the rest
 * of the body into *body in pieces of step bytes. Returns the bytes the
 * request consumed. */
static size_t feed_streamed(cf_http_request *req, const char *text, size_t step, cf_buf *body)
{
  size_t len = strlen(text);
  size_t pos = 0;
  cf_err *err = NULL;
  while (!req->paused_at_headers) {
    size_t consumed = 0;
    assert_int_equal(cf_http_request_feed(req, text + pos, len - pos, &consumed, &err), 0);
    pos += consumed;
  }
  assert_true(req->headers_complete);
  assert_false(req->complete);
  cf_http_request_stream_body(req, collect_body, body);
  while (!req->complete) {
    size_t piece = len - pos < step ? len - pos : step;
    size_t consumed = 0;
    assert_int_equal(cf_http_request_feed(req, text + pos, piece, &consumed, &err), 0);
    pos += consumed;
  }
  return pos;
}

static void test_chunked_body_streams_past_limit(void **state)
{
  (void)state;
  /* The body limit is 8 bytes, and the chunked body has 26. */
  const char *text = "PUT /containers/h/files?destination=%2Ftmp&user= HTTP/1.1\r\n"
                     "Host: api\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "a\r\nabcdefghij\r\n10\r\nklmnopqrstuvwxyz\r\n0\r\n\r\n"
                     "GET /ping HTTP/1.1\r\n\r\n";
  cf_http_request req;
  cf_http_request_init(&req, 4096, 8);
  req.stop_after_headers = true;
  cf_buf body;
  cf_buf_init(&body, 4096);
  size_t consumed = feed_streamed(&req, text, 3, &body);
  assert_int_equal(body.len, 26);
  assert_memory_equal(body.data, "abcdefghijklmnopqrstuvwxyz", 26);
  assert_int_equal(req.body.len, 0);
  assert_string_equal(text + consumed, "GET /ping HTTP/1.1\r\n\r\n");
  assert_string_equal(req.method, "PUT");
  assert_string_equal(req.query, "destination=%2Ftmp&user=");
  cf_buf_free(&body);
  cf_http_request_clear(&req);
}

static void test_content_length_body_streams(void **state)
{
  (void)state;
  const char *text = "PUT /x HTTP/1.1\r\nContent-Length: 12\r\n\r\nhello world!";
  cf_http_request req;
  cf_http_request_init(&req, 4096, 4);
  req.stop_after_headers = true;
  cf_buf body;
  cf_buf_init(&body, 4096);
  size_t consumed = feed_streamed(&req, text, 5, &body);
  assert_int_equal(consumed, strlen(text));
  assert_int_equal(body.len, 12);
  assert_memory_equal(body.data, "hello world!", 12);
  cf_buf_free(&body);
  cf_http_request_clear(&req);
}

static void test_kept_body_checks_limit_after_headers(void **state)
{
  (void)state;
  const char *text = "POST /x HTTP/1.1\r\nContent-Length: 100\r\n\r\n";
  cf_http_request req;
  cf_http_request_init(&req, 4096, 8);
  req.stop_after_headers = true;
  size_t consumed = 0;
  cf_err *err = NULL;
  assert_int_equal(cf_http_request_feed(&req, text, strlen(text), &consumed, &err), 0);
  assert_true(req.paused_at_headers);
  assert_int_equal(
      cf_http_request_feed(&req, text + consumed, strlen(text) - consumed, &consumed, &err), -1);
  assert_int_equal(err->code, CF_E_LIMIT);
  cf_err_free(err);
  cf_http_request_clear(&req);
}

static void test_bodiless_request_after_stop(void **state)
{
  (void)state;
  const char *text = "GET /ping HTTP/1.1\r\nHost: api\r\n\r\n";
  cf_http_request req;
  cf_http_request_init(&req, 4096, 8);
  req.stop_after_headers = true;
  size_t total = 0;
  cf_err *err = NULL;
  while (!req.complete) {
    size_t consumed = 0;
    assert_int_equal(
        cf_http_request_feed(&req, text + total, strlen(text) - total, &consumed, &err), 0);
    total += consumed;
  }
  assert_int_equal(total, strlen(text));
  assert_string_equal(req.path, "/ping");
  cf_http_request_reset(&req);
  assert_true(req.stop_after_headers);
  cf_http_request_clear(&req);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_chunked_body_streams_past_limit),
      cmocka_unit_test(test_content_length_body_streams),
      cmocka_unit_test(test_kept_body_checks_limit_after_headers),
      cmocka_unit_test(test_bodiless_request_after_stop),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
