/* SPDX-License-Identifier: Apache-2.0 */
/* The keeper's wire protocol: frames, the output backlog and the spawn
 * handshake documents. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/mem.h"
#include "keeper/keeper.h"
#include "keeper/linux/keeper_linux.h"
#include "keeper/protocol.h"
#include "testutil.h"

static void test_frame_header_is_big_endian(void **state)
{
  (void)state;
  cf_buf out;
  cf_buf_init(&out, 1024);
  assert_int_equal(cf_keeper_frame_append(&out, CF_KEEPER_STDOUT, "hello", 5, NULL), 0);
  static const unsigned char expected[] = {4, 0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o'};
  assert_int_equal(out.len, sizeof(expected));
  assert_memory_equal(out.data, expected, sizeof(expected));
  cf_buf_free(&out);
}

static void test_frame_u32_payload(void **state)
{
  (void)state;
  cf_buf out;
  cf_buf_init(&out, 1024);
  assert_int_equal(cf_keeper_frame_append_u32(&out, CF_KEEPER_EXIT, 0x01020389u, NULL), 0);
  static const unsigned char expected[] = {6, 0, 0, 0, 4, 0x01, 0x02, 0x03, 0x89};
  assert_memory_equal(out.data, expected, sizeof(expected));

  cf_keeper_frame frame;
  size_t consumed = 0;
  assert_int_equal(cf_keeper_frame_decode(out.data, out.len, &frame, &consumed, NULL), 1);
  assert_int_equal(frame.type, CF_KEEPER_EXIT);
  assert_int_equal(cf_keeper_frame_u32(&frame), 0x01020389u);
  cf_buf_free(&out);
}

static void test_decode_two_frames_in_one_read(void **state)
{
  (void)state;
  static const unsigned char bytes[] = {5, 0, 0, 0, 2, 'e', 'r', 8, 0, 0, 0, 0};
  cf_keeper_frame frame;
  size_t consumed = 0;
  assert_int_equal(cf_keeper_frame_decode(bytes, sizeof(bytes), &frame, &consumed, NULL), 1);
  assert_int_equal(frame.type, CF_KEEPER_STDERR);
  assert_int_equal(frame.len, 2);
  assert_memory_equal(frame.payload, "er", 2);
  assert_int_equal(consumed, 7);

  assert_int_equal(
      cf_keeper_frame_decode(bytes + consumed, sizeof(bytes) - consumed, &frame, &consumed, NULL),
      1);
  assert_int_equal(frame.type, CF_KEEPER_STDIN_CLOSE);
  assert_int_equal(frame.len, 0);
  assert_int_equal(consumed, 5);
}

static void test_decode_truncated_frames_wait(void **state)
{
  (void)state;
  static const unsigned char bytes[] = {7, 0, 0, 0, 3, 'a', 'b', 'c'};
  cf_keeper_frame frame;
  size_t consumed = 0;
  for (size_t len = 0; len < sizeof(bytes); len++) {
    assert_int_equal(cf_keeper_frame_decode(bytes, len, &frame, &consumed, NULL), 0);
  }
  assert_int_equal(cf_keeper_frame_decode(bytes, sizeof(bytes), &frame, &consumed, NULL), 1);
  assert_memory_equal(frame.payload, "abc", 3);
}

static void test_decode_rejects_oversized_length(void **state)
{
  (void)state;
  /* 0x00400001 bytes is one more than CF_KEEPER_MAX_PAYLOAD (4 MiB). */
  static const unsigned char bytes[] = {4, 0x00, 0x40, 0x00, 0x01};
  cf_keeper_frame frame;
  size_t consumed = 0;
  cf_err *err = NULL;
  assert_int_equal(cf_keeper_frame_decode(bytes, sizeof(bytes), &frame, &consumed, &err), -1);
  assert_non_null(err);
  assert_int_equal(err->code, CF_E_INVALID);
  assert_non_null(strstr(err->message, "over the maximum"));
  cf_err_free(err);
}

static void test_decode_rejects_unknown_type(void **state)
{
  (void)state;
  static const unsigned char bytes[] = {200, 0, 0, 0, 0};
  cf_keeper_frame frame;
  size_t consumed = 0;
  cf_err *err = NULL;
  assert_int_equal(cf_keeper_frame_decode(bytes, sizeof(bytes), &frame, &consumed, &err), -1);
  assert_int_equal(err->code, CF_E_INVALID);
  assert_non_null(strstr(err->message, "unknown type 200"));
  cf_err_free(err);
}

static void test_decode_rejects_wrong_control_size(void **state)
{
  (void)state;
  /* An exit status has 4 bytes, a release none. */
  static const unsigned char exit3[] = {6, 0, 0, 0, 3, 0, 0, 1};
  static const unsigned char release1[] = {11, 0, 0, 0, 1, 0};
  cf_keeper_frame frame;
  size_t consumed = 0;
  cf_err *err = NULL;
  assert_int_equal(cf_keeper_frame_decode(exit3, sizeof(exit3), &frame, &consumed, &err), -1);
  assert_int_equal(err->code, CF_E_INVALID);
  cf_err_clear(&err);
  assert_int_equal(cf_keeper_frame_decode(release1, sizeof(release1), &frame, &consumed, &err), -1);
  assert_int_equal(err->code, CF_E_INVALID);
  cf_err_free(err);
}

static void test_append_rejects_oversized_payload(void **state)
{
  (void)state;
  size_t len = CF_KEEPER_MAX_PAYLOAD + 1;
  char *payload = cf_xcalloc(1, len);
  cf_buf out;
  cf_buf_init(&out, 2 * len);
  cf_err *err = NULL;
  assert_int_equal(cf_keeper_frame_append(&out, CF_KEEPER_STDOUT, payload, len, &err), -1);
  assert_int_equal(err->code, CF_E_LIMIT);
  assert_int_equal(out.len, 0);
  cf_err_free(err);
  cf_buf_free(&out);
  free(payload);
}

static void test_append_leaves_no_half_frame(void **state)
{
  (void)state;
  cf_buf out;
  cf_buf_init(&out, 8); /* room for the header but not the payload */
  cf_err *err = NULL;
  assert_int_equal(cf_keeper_frame_append(&out, CF_KEEPER_STDIN, "0123456789", 10, &err), -1);
  assert_int_equal(err->code, CF_E_LIMIT);
  assert_int_equal(out.len, 0);
  cf_err_free(err);
  cf_buf_free(&out);
}

static void test_backlog_keeps_until_full(void **state)
{
  (void)state;
  cf_keeper_backlog backlog;
  cf_keeper_backlog_init(&backlog);
  size_t big = CF_KEEPER_MAX_BUFFERED - 10;
  char *chunk = cf_xcalloc(1, big);
  cf_keeper_backlog_add(&backlog, chunk, big);
  assert_int_equal(backlog.data.len, big);
  assert_int_equal(backlog.dropped, 0);

  cf_keeper_backlog_add(&backlog, "0123456789abcdefghij", 20);
  assert_int_equal(backlog.data.len, CF_KEEPER_MAX_BUFFERED);
  assert_int_equal(backlog.dropped, 10);
  assert_memory_equal(backlog.data.data + big, "0123456789", 10);

  cf_keeper_backlog_add(&backlog, "x", 1);
  assert_int_equal(backlog.data.len, CF_KEEPER_MAX_BUFFERED);
  assert_int_equal(backlog.dropped, 11);
  cf_keeper_backlog_free(&backlog);
  free(chunk);
}

static void test_request_round_trip(void **state)
{
  (void)state;
  char *args[] = {"-c", "echo hi"};
  char *env[] = {"A=1", "PATH=/bin"};
  json_t *rlimits = json_pack("[{s:s, s:i, s:i}]", "type", "RLIMIT_NOFILE", "hard", 30, "soft", 30);
  cf_keeper_request request = {
      .socket_path = "/d/keepers/x.sock",
      .handle = "h1",
      .id = "p1",
      .init = {.pid = 1234, .start_time = 5678},
      .path = "sh",
      .args = args,
      .arg_count = 2,
      .env = env,
      .env_count = 2,
      .user = "alice",
      .privileged = true,
      .tty = true,
      .rows = 456,
      .columns = 123,
      .rlimits = rlimits,
  };
  cf_autofree char *text = cf_keeper_request_encode(&request);
  cf_keeper_request got;
  cf_err *err = NULL;
  assert_int_equal(cf_keeper_request_decode(text, strlen(text), &got, &err), 0);
  assert_string_equal(got.socket_path, "/d/keepers/x.sock");
  assert_string_equal(got.handle, "h1");
  assert_string_equal(got.id, "p1");
  assert_int_equal(got.init.pid, 1234);
  assert_int_equal(got.init.start_time, 5678);
  assert_string_equal(got.path, "sh");
  assert_int_equal(got.arg_count, 2);
  assert_string_equal(got.args[1], "echo hi");
  assert_int_equal(got.env_count, 2);
  assert_string_equal(got.env[1], "PATH=/bin");
  assert_null(got.dir);
  assert_string_equal(got.user, "alice");
  assert_true(got.privileged);
  assert_true(got.tty);
  assert_int_equal(got.rows, 456);
  assert_int_equal(got.columns, 123);
  assert_non_null(got.rlimits);
  assert_int_equal(json_integer_value(json_object_get(json_array_get(got.rlimits, 0), "hard")), 30);
  cf_keeper_request_clear(&got);
  json_decref(rlimits);
}

static void test_request_rejects_missing_field(void **state)
{
  (void)state;
  static const char text[] = "{\"socket\":\"/s\",\"handle\":\"h\",\"id\":\"p\"}";
  cf_keeper_request got;
  cf_err *err = NULL;
  assert_int_equal(cf_keeper_request_decode(text, strlen(text), &got, &err), -1);
  assert_int_equal(err->code, CF_E_INVALID);
  assert_non_null(strstr(err->message, "init_pid"));
  cf_err_free(err);
  cf_keeper_request_clear(&got);
}

static void test_failure_keeps_code_and_message(void **state)
{
  (void)state;
  cf_err failure = {.code = CF_E_EXEC_NOT_FOUND,
                    .message = "exec: \"nope\": executable file not found in $PATH"};
  cf_autofree char *text = cf_keeper_failure_encode(&failure);
  cf_err *err = NULL;
  assert_int_equal(cf_keeper_failure_decode(text, strlen(text), &err), -1);
  assert_int_equal(err->code, CF_E_EXEC_NOT_FOUND);
  assert_string_equal(err->message, "exec: \"nope\": executable file not found in $PATH");
  cf_err_free(err);
}

static void test_started_rejects_zero_pid(void **state)
{
  (void)state;
  static const char text[] = "{\"pid\":0,\"start_time\":1,\"keeper_pid\":2,"
                             "\"keeper_start_time\":3}";
  cf_keeper_started started;
  cf_err *err = NULL;
  assert_int_equal(cf_keeper_started_decode(text, strlen(text), &started, &err), -1);
  assert_int_equal(err->code, CF_E_INVALID);
  cf_err_free(err);
}

/* A socket path longer than sun_path is bound and reached through a
 * /proc/self/fd link to its directory. */
static void test_long_socket_path_reachable(void **state)
{
  (void)state;
  cf_autofree char *tmp = cf_test_tmpdir("keeper");
  char long_name[201];
  memset(long_name, 'd', 200);
  long_name[200] = '\0';
  cf_autofree char *dir = cf_path_join(tmp, long_name);
  assert_int_equal(cf_mkdir_p(dir, 0700, NULL), 0);
  cf_autofree char *path = cf_path_join(dir, "k.sock");
  struct sockaddr_un addr;
  assert_true(strlen(path) >= sizeof(addr.sun_path));

  int dir_fd = -1;
  assert_int_equal(cf_keeper_socket_addr(path, &addr, &dir_fd, NULL), 0);
  assert_true(dir_fd >= 0);
  assert_non_null(strstr(addr.sun_path, "/proc/self/fd/"));
  int listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_int_equal(bind(listener, (struct sockaddr *)&addr, sizeof(addr)), 0);
  assert_int_equal(listen(listener, 1), 0);
  close(dir_fd);
  assert_int_equal(access(path, F_OK), 0);

  int fd = -1;
  cf_err *err = NULL;
  assert_int_equal(cf_keeper_connect(path, &fd, &err), 0);
  assert_true(fd >= 0);
  close(fd);
  close(listener);
  cf_test_rmdir(tmp);
}

static void test_connect_missing_socket_not_found(void **state)
{
  (void)state;
  int fd = -1;
  cf_err *err = NULL;
  assert_int_equal(cf_keeper_connect("/nonexistent-dir/k.sock", &fd, &err), -1);
  assert_int_equal(err->code, CF_E_NOT_FOUND);
  assert_int_equal(fd, -1);
  cf_err_free(err);
}

/* The handshake reader joins a frame written in pieces and reports a peer
 * that closes mid-frame as a system error. */
static void test_read_frame_joins_pieces(void **state)
{
  (void)state;
  int pair[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
  static const unsigned char first[] = {2, 0, 0, 0};
  static const unsigned char second[] = {3, '{', '}', ' '};
  assert_int_equal(write(pair[1], first, sizeof(first)), sizeof(first));
  assert_int_equal(write(pair[1], second, sizeof(second)), sizeof(second));
  cf_buf in;
  cf_buf_init(&in, 1024);
  cf_keeper_frame frame;
  size_t consumed = 0;
  assert_int_equal(cf_keeper_read_frame(pair[0], &in, 5000, &frame, &consumed, NULL), 0);
  assert_int_equal(frame.type, CF_KEEPER_STARTED);
  assert_int_equal(frame.len, 3);
  assert_memory_equal(frame.payload, "{} ", 3);
  cf_buf_consume(&in, consumed);

  assert_int_equal(write(pair[1], first, sizeof(first)), sizeof(first));
  close(pair[1]);
  cf_err *err = NULL;
  assert_int_equal(cf_keeper_read_frame(pair[0], &in, 5000, &frame, &consumed, &err), -1);
  assert_int_equal(err->code, CF_E_SYSTEM);
  cf_err_free(err);
  cf_buf_free(&in);
  close(pair[0]);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_frame_header_is_big_endian),
      cmocka_unit_test(test_frame_u32_payload),
      cmocka_unit_test(test_decode_two_frames_in_one_read),
      cmocka_unit_test(test_decode_truncated_frames_wait),
      cmocka_unit_test(test_decode_rejects_oversized_length),
      cmocka_unit_test(test_decode_rejects_unknown_type),
      cmocka_unit_test(test_decode_rejects_wrong_control_size),
      cmocka_unit_test(test_append_rejects_oversized_payload),
      cmocka_unit_test(test_append_leaves_no_half_frame),
      cmocka_unit_test(test_backlog_keeps_until_full),
      cmocka_unit_test(test_request_round_trip),
      cmocka_unit_test(test_request_rejects_missing_field),
      cmocka_unit_test(test_failure_keeps_code_and_message),
      cmocka_unit_test(test_started_rejects_zero_pid),
      cmocka_unit_test(test_long_socket_path_reachable),
      cmocka_unit_test(test_connect_missing_socket_not_found),
      cmocka_unit_test(test_read_frame_joins_pieces),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
