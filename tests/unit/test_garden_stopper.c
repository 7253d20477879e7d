/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the server's stop request (garden/stopper.c), which the
 * Windows service control handler sends from its own thread: a request
 * before the server listens, one from another thread, and none after the
 * server has detached.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <uv.h>

#include "garden/stopper.h"

typedef struct wake_count {
  int wakes;
  cf_server_stopper *stopper;
} wake_count;

static void on_wake(uv_async_t *handle)
{
  wake_count *count = handle->data;
  count->wakes++;
  cf_server_stopper_detach(count->stopper);
  uv_close((uv_handle_t *)handle, NULL);
}

static void test_request_before_attach(void **state)
{
  cf_server_stopper *stopper = cf_server_stopper_new();
  assert_non_null(stopper);
  cf_server_stopper_request(stopper);
  uv_loop_t loop;
  uv_loop_init(&loop);
  uv_async_t async;
  uv_async_init(&loop, &async, on_wake);
  assert_true(cf_server_stopper_attach(stopper, &async));
  cf_server_stopper_detach(stopper);
  uv_close((uv_handle_t *)&async, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&loop), 0);
  cf_server_stopper_free(stopper);
}

static void request_on_thread(void *arg)
{
  cf_server_stopper_request(arg);
}

static void test_request_from_thread(void **state)
{
  cf_server_stopper *stopper = cf_server_stopper_new();
  assert_non_null(stopper);
  uv_loop_t loop;
  uv_loop_init(&loop);
  uv_async_t async;
  wake_count count = {.stopper = stopper};
  uv_async_init(&loop, &async, on_wake);
  async.data = &count;
  assert_false(cf_server_stopper_attach(stopper, &async));
  uv_thread_t thread;
  assert_int_equal(uv_thread_create(&thread, request_on_thread, stopper), 0);
  /* The loop ends only once the wake-up has closed the handle. */
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_thread_join(&thread), 0);
  assert_int_equal(count.wakes, 1);
  assert_int_equal(uv_loop_close(&loop), 0);
  cf_server_stopper_free(stopper);
}

static void test_no_wake_after_detach(void **state)
{
  cf_server_stopper *stopper = cf_server_stopper_new();
  assert_non_null(stopper);
  uv_loop_t loop;
  uv_loop_init(&loop);
  uv_async_t async;
  wake_count count = {.stopper = stopper};
  uv_async_init(&loop, &async, on_wake);
  async.data = &count;
  assert_false(cf_server_stopper_attach(stopper, &async));
  cf_server_stopper_detach(stopper);
  cf_server_stopper_request(stopper);
  uv_run(&loop, UV_RUN_NOWAIT);
  assert_int_equal(count.wakes, 0);
  uv_close((uv_handle_t *)&async, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&loop), 0);
  cf_server_stopper_free(stopper);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_request_before_attach),
      cmocka_unit_test(test_request_from_thread),
      cmocka_unit_test(test_no_wake_after_detach),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
