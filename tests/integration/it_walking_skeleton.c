/* SPDX-License-Identifier: Apache-2.0 */
/*
 * End to end through `cfwin serve`: containers from a busybox OCI image,
 * processes through the hijacked Run protocol, properties, the wire format
 * of errors, and a leak check of the host after every test.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/fs.h"
#include "base/mem.h"
#include "fixture.h"
#include "garden/client.h"
#include "image_builder.h"
#include "store/store.h"

static it_server server;

static int setup_server(void **state)
{
  (void)state;
  it_server_prepare(&server);
  it_server_start(&server);
  return 0;
}

static int teardown_server(void **state)
{
  (void)state;
  it_server_cleanup(&server);
  return server.exit_status == 0 ? 0 : -1;
}

static int take_snapshot(void **state)
{
  return it_leak_check_begin(&server, state);
}

static int check_leaks(void **state)
{
  return it_leak_check_end(&server, state);
}

static char *create_container(const cf_garden_client *client, const char *handle,
                              json_t *properties)
{
  json_t *spec = json_pack("{s:s, s:{}, s:{s:{}, s:{}, s:{}, s:{}, s:{}}}", "handle", handle,
                           "image", "limits", "bandwidth_limits", "cpu_limits", "disk_limits",
                           "memory_limits", "pid_limits");
  if (properties != NULL) {
    json_object_set_new(spec, "properties", properties);
  }
  char *created = NULL;
  cf_err *err = NULL;
  int rc = cf_garden_client_create(client, spec, &created, &err);
  json_decref(spec);
  if (rc < 0) {
    fail_msg("create %s: %s", handle, err->message);
  }
  return created;
}

static void destroy_container(const cf_garden_client *client, const char *handle)
{
  cf_err *err = NULL;
  if (cf_garden_client_destroy(client, handle, &err) < 0) {
    fail_msg("destroy %s: %s", handle, err->message);
  }
}

/* Runs path with args (NULL-terminated) and returns the result. */
static cf_garden_process_result run(const cf_garden_client *client, const char *handle,
                                    const char *stdin_data, const char *path, ...)
{
  json_t *args = json_array();
  va_list ap;
  va_start(ap, path);
  for (const char *arg = va_arg(ap, const char *); arg != NULL; arg = va_arg(ap, const char *)) {
    json_array_append_new(args, json_string(arg));
  }
  va_end(ap);
  json_t *spec = json_pack("{s:s, s:o, s:s, s:{}, s:{}}", "path", path, "args", args, "user",
                           "root", "rlimits", "image");
  cf_garden_process_result result;
  cf_garden_process_result_init(&result);
  cf_err *err = NULL;
  int rc = cf_garden_client_run(client, handle, spec, stdin_data,
                                stdin_data != NULL ? strlen(stdin_data) : 0, &result, &err);
  json_decref(spec);
  if (rc < 0) {
    fail_msg("run %s in %s: %s", path, handle, err->message);
  }
  return result;
}

static void test_ping_on_both_listeners(void **state)
{
  (void)state;
  assert_int_equal(cf_garden_client_ping(&server.tcp, NULL), 0);
  assert_int_equal(cf_garden_client_ping(&server.unix_socket, NULL), 0);
}

static void test_run_echo_hello(void **state)
{
  (void)state;
  char *handle = create_container(&server.tcp, "it-echo", NULL);
  assert_string_equal(handle, "it-echo");
  cf_garden_process_result result = run(&server.tcp, handle, NULL, "echo", "hello", NULL);
  assert_int_equal(result.exit_status, 0);
  assert_string_equal(result.out.data, "hello\n");
  assert_int_equal(result.err.len, 0);
  assert_non_null(result.process_id);
  cf_garden_process_result_clear(&result);
  destroy_container(&server.tcp, handle);
  free(handle);
}

static void test_run_stderr_and_exit_code(void **state)
{
  (void)state;
  char *handle = create_container(&server.unix_socket, "it-stderr", NULL);
  cf_garden_process_result result =
      run(&server.unix_socket, handle, NULL, "sh", "-c", "echo err >&2; exit 42", NULL);
  assert_int_equal(result.exit_status, 42);
  assert_string_equal(result.err.data, "err\n");
  assert_int_equal(result.out.len, 0);
  cf_garden_process_result_clear(&result);
  destroy_container(&server.unix_socket, handle);
  free(handle);
}

static void test_run_killed_by_signal(void **state)
{
  (void)state;
  char *handle = create_container(&server.tcp, "it-sigkill", NULL);
  cf_garden_process_result result = run(&server.tcp, handle, NULL, "sh", "-c", "kill -9 $$", NULL);
  assert_int_equal(result.exit_status, 137);
  cf_garden_process_result_clear(&result);
  destroy_container(&server.tcp, handle);
  free(handle);
}

static void test_run_relays_stdin(void **state)
{
  (void)state;
  char *handle = create_container(&server.tcp, "it-stdin", NULL);
  cf_garden_process_result result = run(&server.tcp, handle, "line one\nline two\n", "cat", NULL);
  assert_int_equal(result.exit_status, 0);
  assert_string_equal(result.out.data, "line one\nline two\n");
  cf_garden_process_result_clear(&result);
  destroy_container(&server.tcp, handle);
  free(handle);
}

static void test_run_sees_image_env_and_hostname(void **state)
{
  (void)state;
  char *handle = create_container(&server.tcp, "it-env", NULL);
  cf_garden_process_result result =
      run(&server.tcp, handle, NULL, "sh", "-c",
          "echo $PATH; hostname; test $$ -ne 1 && echo not-pid-1; cat /proc/1/comm", NULL);
  assert_int_equal(result.exit_status, 0);
  assert_string_equal(result.out.data,
                      "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nit-env\n"
                      "not-pid-1\ncfwin-init\n");
  cf_garden_process_result_clear(&result);
  destroy_container(&server.tcp, handle);
  free(handle);
}

struct concurrent_run {
  const char *handle;
  int index;
  int exit_status;
  char *output;
  char *error;
};

static void *run_numbered(void *arg)
{
  struct concurrent_run *cr = arg;
  cf_autofree char *script = cf_xasprintf("echo run-%d", cr->index);
  json_t *spec = json_pack("{s:s, s:[s, s], s:{}, s:{}}", "path", "sh", "args", "-c", script,
                           "rlimits", "image");
  cf_garden_process_result result;
  cf_garden_process_result_init(&result);
  cf_err *err = NULL;
  if (cf_garden_client_run(&server.tcp, cr->handle, spec, NULL, 0, &result, &err) < 0) {
    cr->error = cf_xstrdup(err->message);
    cf_err_free(err);
  } else {
    cr->exit_status = result.exit_status;
    cr->output = cf_xstrdup(result.out.data != NULL ? result.out.data : "");
  }
  json_decref(spec);
  cf_garden_process_result_clear(&result);
  return NULL;
}

static void test_fifty_concurrent_runs(void **state)
{
  (void)state;
  enum { RUNS = 50 };
  char *handle = create_container(&server.tcp, "it-concurrent", NULL);
  struct concurrent_run runs[RUNS];
  pthread_t threads[RUNS];
  for (int i = 0; i < RUNS; i++) {
    runs[i] = (struct concurrent_run){.handle = handle, .index = i, .exit_status = -1};
    assert_int_equal(pthread_create(&threads[i], NULL, run_numbered, &runs[i]), 0);
  }
  for (int i = 0; i < RUNS; i++) {
    pthread_join(threads[i], NULL);
  }
  for (int i = 0; i < RUNS; i++) {
    cf_autofree char *expected = cf_xasprintf("run-%d\n", i);
    assert_null(runs[i].error);
    assert_int_equal(runs[i].exit_status, 0);
    assert_string_equal(runs[i].output, expected);
    free(runs[i].output);
  }
  destroy_container(&server.tcp, handle);
  free(handle);
}

static json_t *list(const char *query)
{
  cf_autofree char *path = cf_xasprintf("/containers%s", query);
  json_t *result = NULL;
  cf_err *err = NULL;
  if (cf_garden_client_call(&server.tcp, "GET", path, NULL, &result, &err) < 0) {
    fail_msg("list: %s", err->message);
  }
  json_t *handles = json_incref(json_object_get(result, "Handles"));
  json_decref(result);
  return handles;
}

static void test_list_filters_by_property(void **state)
{
  (void)state;
  char *a = create_container(&server.tcp, "it-list-a", json_pack("{s:s}", "team", "blue"));
  char *b = create_container(&server.tcp, "it-list-b", json_pack("{s:s}", "team", "green"));

  json_t *all = list("");
  assert_int_equal(json_array_size(all), 2);
  json_decref(all);

  json_t *blue = list("?team=blue");
  assert_int_equal(json_array_size(blue), 1);
  assert_string_equal(json_string_value(json_array_get(blue, 0)), "it-list-a");
  json_decref(blue);

  json_t *none = list("?team=red");
  assert_int_equal(json_array_size(none), 0);
  json_decref(none);

  json_t *unknown_key = list("?nokey=x");
  assert_int_equal(json_array_size(unknown_key), 0);
  json_decref(unknown_key);

  destroy_container(&server.tcp, a);
  destroy_container(&server.tcp, b);
  json_t *after = list("");
  assert_int_equal(json_array_size(after), 0);
  json_decref(after);
  free(a);
  free(b);
}

static void test_info_and_properties(void **state)
{
  (void)state;
  char *handle = create_container(&server.tcp, "it-props", json_pack("{s:s}", "foo", "bar"));
  json_t *info = NULL;
  assert_int_equal(
      cf_garden_client_call(&server.tcp, "GET", "/containers/it-props/info", NULL, &info, NULL), 0);
  assert_string_equal(json_string_value(json_object_get(info, "State")), "active");
  assert_string_equal(
      json_string_value(json_object_get(json_object_get(info, "Properties"), "foo")), "bar");
  assert_true(json_is_array(json_object_get(info, "ProcessIDs")));
  json_decref(info);

  json_t *body = json_pack("{s:s}", "value", "v1");
  assert_int_equal(cf_garden_client_call(&server.tcp, "PUT", "/containers/it-props/properties/k1",
                                         body, NULL, NULL),
                   0);
  json_decref(body);
  json_t *value = NULL;
  assert_int_equal(cf_garden_client_call(&server.tcp, "GET", "/containers/it-props/properties/k1",
                                         NULL, &value, NULL),
                   0);
  assert_string_equal(json_string_value(json_object_get(value, "value")), "v1");
  json_decref(value);
  assert_int_equal(cf_garden_client_call(&server.tcp, "DELETE",
                                         "/containers/it-props/properties/k1", NULL, NULL, NULL),
                   0);
  cf_err *err = NULL;
  assert_int_equal(cf_garden_client_call(&server.tcp, "GET", "/containers/it-props/properties/k1",
                                         NULL, &value, &err),
                   -1);
  assert_non_null(strstr(err->message, "no such property: k1"));
  assert_int_equal(err->code, CF_E_SYSTEM); /* a 500 envelope, not ContainerNotFoundError */
  cf_err_free(err);
  destroy_container(&server.tcp, handle);
  free(handle);
}

/* Sends a raw request and returns the whole response as text. */
static char *exchange(const char *request, int *status)
{
  cf_garden_response response;
  cf_garden_response_init(&response);
  cf_err *err = NULL;
  if (cf_garden_client_exchange(&server.tcp, request, strlen(request), &response, &err) < 0) {
    fail_msg("exchange: %s", err->message);
  }
  *status = response.status;
  char *text = cf_xasprintf("%s%s", response.head.data != NULL ? response.head.data : "",
                            response.body.data != NULL ? response.body.data : "");
  cf_garden_response_clear(&response);
  return text;
}

static void test_unknown_handle_envelope(void **state)
{
  (void)state;
  int status = 0;
  char *text = exchange("GET /containers/nope/info HTTP/1.1\r\nHost: api\r\n"
                        "Connection: close\r\n\r\n",
                        &status);
  assert_int_equal(status, 404);
  assert_non_null(strstr(text, "Content-Type: application/json\r\n"));
  assert_non_null(strstr(text, "Content-Length: 110\r\n"));
  assert_non_null(strstr(text, "\r\n\r\n{\"Type\":\"ContainerNotFoundError\",\"Message\":"
                               "\"unknown handle: nope\",\"Handle\":\"nope\",\"ProcessID\":\"\","
                               "\"Binary\":\"\"}\n"));
  free(text);

  cf_err *err = NULL;
  assert_int_equal(cf_garden_client_destroy(&server.tcp, "nope", &err), -1);
  assert_int_equal(err->code, CF_E_NOT_FOUND);
  cf_err_free(err);
}

static void test_malformed_json_is_500(void **state)
{
  (void)state;
  int status = 0;
  char *text = exchange("POST /containers HTTP/1.1\r\nHost: api\r\nConnection: close\r\n"
                        "Content-Type: application/json\r\nContent-Length: 9\r\n\r\n{not json",
                        &status);
  assert_int_equal(status, 500);
  assert_non_null(strstr(text, "{\"Type\":\"\",\"Message\":\"invalid JSON"));
  free(text);
  const char *bodies[] = {"{\"image\":\"x\"}",
                          "{\"privileged\":\"yes\"}",
                          "{\"limits\":\"x\"}",
                          "{\"network\":5}",
                          "[1,2]",
                          ""};
  for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
    cf_autofree char *request =
        cf_xasprintf("POST /containers HTTP/1.1\r\nHost: api\r\nConnection: close\r\n"
                     "Content-Length: %zu\r\n\r\n%s",
                     strlen(bodies[i]), bodies[i]);
    cf_autofree char *reply = exchange(request, &status);
    assert_int_equal(status, 500);
    assert_non_null(strstr(reply, "\"Type\":\"\""));
  }
  cf_autofree char *nul = exchange("DELETE /containers/x%00y HTTP/1.1\r\nHost: api\r\n"
                                   "Connection: close\r\n\r\n",
                                   &status);
  assert_int_equal(status, 500);
  assert_non_null(strstr(nul, "NUL bytes are not allowed"));
  json_t *handles = list("?garden.state=all");
  assert_int_equal(json_array_size(handles), 0);
  json_decref(handles);
}

static void test_wrong_method_and_path(void **state)
{
  (void)state;
  int status = 0;
  char *text = exchange("PATCH /ping HTTP/1.1\r\nHost: api\r\nConnection: close\r\n\r\n", &status);
  assert_int_equal(status, 405);
  assert_non_null(strstr(text, "HTTP/1.1 405 Method Not Allowed\r\nAllow: GET\r\n"
                               "Content-Type: text/plain; charset=utf-8\r\n"
                               "X-Content-Type-Options: nosniff\r\nDate: "));
  assert_non_null(strstr(text, "\r\nContent-Length: 19\r\nConnection: close\r\n\r\n"
                               "Method Not Allowed\n"));
  free(text);
  text = exchange("GET /nope HTTP/1.1\r\nHost: api\r\nConnection: close\r\n\r\n", &status);
  assert_int_equal(status, 404);
  assert_non_null(strstr(text, "\r\n\r\n404 page not found\n"));
  free(text);
}

static void test_create_response_framing(void **state)
{
  (void)state;
  int status = 0;
  char *text = exchange("POST /containers HTTP/1.1\r\nHost: api\r\nConnection: close\r\n"
                        "Content-Type: application/json\r\nContent-Length: 24\r\n\r\n"
                        "{\"handle\":\"it-framing\"}\n",
                        &status);
  assert_int_equal(status, 200);
  assert_non_null(strstr(text, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nDate: "));
  assert_non_null(strstr(text, "\r\nContent-Length: 24\r\nConnection: close\r\n\r\n"
                               "{\"Handle\":\"it-framing\"}\n"));
  free(text);
  destroy_container(&server.tcp, "it-framing");
}

static void test_create_rejects_bad_handles(void **state)
{
  (void)state;
  char *existing = create_container(&server.tcp, "it-dup", NULL);
  const char *bad[] = {"../escape", "a/b", "-leading-dash", ""};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    if (bad[i][0] == '\0') {
      continue; /* with an empty handle the server generates one */
    }
    json_t *spec = json_pack("{s:s}", "handle", bad[i]);
    cf_err *err = NULL;
    char *handle = NULL;
    assert_int_equal(cf_garden_client_create(&server.tcp, spec, &handle, &err), -1);
    assert_non_null(strstr(err->message, "invalid handle"));
    cf_err_free(err);
    json_decref(spec);
  }
  json_t *spec = json_pack("{s:s}", "handle", "it-dup");
  cf_err *err = NULL;
  char *handle = NULL;
  assert_int_equal(cf_garden_client_create(&server.tcp, spec, &handle, &err), -1);
  assert_non_null(strstr(err->message, "Handle 'it-dup' already in use"));
  cf_err_free(err);
  json_decref(spec);

  spec = json_object();
  assert_int_equal(cf_garden_client_create(&server.tcp, spec, &handle, NULL), 0);
  assert_int_equal(strlen(handle), 36);
  destroy_container(&server.tcp, handle);
  free(handle);
  json_decref(spec);
  destroy_container(&server.tcp, existing);
  free(existing);
}

static void test_run_errors_are_http_errors(void **state)
{
  (void)state;
  char *handle = create_container(&server.tcp, "it-run-errors", NULL);
  json_t *spec = json_pack("{s:s, s:{}, s:{}}", "path", "nope-bin", "rlimits", "image");
  cf_garden_process_result result;
  cf_garden_process_result_init(&result);
  cf_err *err = NULL;
  assert_int_equal(cf_garden_client_run(&server.tcp, handle, spec, NULL, 0, &result, &err), -1);
  assert_int_equal(err->code, CF_E_EXEC_NOT_FOUND);
  assert_non_null(strstr(err->message, "exec: \"nope-bin\": executable file not found in $PATH"));
  cf_err_clear(&err);
  json_decref(spec);

  spec =
      json_pack("{s:s, s:s, s:{}, s:{}}", "path", "id", "user", "invalid-user", "rlimits", "image");
  assert_int_equal(cf_garden_client_run(&server.tcp, handle, spec, NULL, 0, &result, &err), -1);
  assert_non_null(
      strstr(err->message, "unable to find user invalid-user: no matching entries in passwd file"));
  cf_err_clear(&err);
  json_decref(spec);

  spec = json_pack("{s:s, s:{}, s:{}}", "path", "true", "rlimits", "image");
  assert_int_equal(
      cf_garden_client_run(&server.tcp, "no-such-container", spec, NULL, 0, &result, &err), -1);
  assert_int_equal(err->code, CF_E_NOT_FOUND);
  cf_err_free(err);
  json_decref(spec);
  cf_garden_process_result_clear(&result);
  destroy_container(&server.tcp, handle);
  free(handle);
}

/* Reads from fd until the text so far contains marker; returns the text. */
static char *read_until(int fd, const char *marker)
{
  cf_buf text;
  cf_buf_init(&text, 1 << 20);
  char chunk[4096];
  while (text.data == NULL || strstr(text.data, marker) == NULL) {
    ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n <= 0) {
      break;
    }
    cf_buf_append(&text, chunk, (size_t)n, NULL);
  }
  return cf_buf_take(&text);
}

static void test_run_hijack_framing(void **state)
{
  (void)state;
  char *handle = create_container(&server.tcp, "it-hijack", NULL);
  const char *body = "{\"path\":\"echo\",\"args\":[\"hi\"],\"user\":\"root\",\"rlimits\":{},"
                     "\"image\":{}}\n";
  cf_autofree char *request =
      cf_xasprintf("POST /containers/it-hijack/processes HTTP/1.1\r\nHost: api\r\n"
                   "User-Agent: Go-http-client/1.1\r\nContent-Length: %zu\r\n"
                   "Content-Type: application/json\r\n\r\n%s",
                   strlen(body), body);
  int control = -1;
  assert_int_equal(cf_garden_client_connect(&server.tcp, &control, NULL), 0);
  assert_int_equal(cf_write_all(control, request, strlen(request), NULL), 0);
  cf_autofree char *head = read_until(control, "exit_status");
  assert_non_null(strstr(head, "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
                               "Date: "));
  assert_non_null(strstr(head, "\r\nTransfer-Encoding: chunked\r\n\r\n{\"process_id\":\""));
  assert_null(strstr(head, "Connection: close"));
  assert_null(strstr(head, "Content-Length"));
  const char *first = strstr(head, "\r\n\r\n") + 4;
  json_t *payload = json_loads(first, JSON_DISABLE_EOF_CHECK, NULL);
  assert_non_null(payload);
  const char *process_id = json_string_value(json_object_get(payload, "process_id"));
  const char *stream_id = json_string_value(json_object_get(payload, "stream_id"));
  assert_non_null(process_id);
  assert_non_null(stream_id);
  assert_true(strspn(stream_id, "0123456789") == strlen(stream_id));

  cf_autofree char *stdout_request = cf_xasprintf(
      "GET /containers/it-hijack/processes/%s/attaches/%s/stdout HTTP/1.1\r\nHost: api\r\n"
      "Content-Type: application/json\r\n\r\n",
      process_id, stream_id);
  int output = -1;
  assert_int_equal(cf_garden_client_connect(&server.tcp, &output, NULL), 0);
  assert_int_equal(cf_write_all(output, stdout_request, strlen(stdout_request), NULL), 0);
  cf_autofree char *stdout_text = read_until(output, "\r\n\r\nhi\n");
  assert_non_null(strstr(stdout_text, "HTTP/1.1 200 OK\r\nDate: "));
  assert_non_null(strstr(stdout_text, "\r\nTransfer-Encoding: chunked\r\n\r\nhi\n"));
  assert_null(strstr(stdout_text, "Content-Type"));
  char extra[16];
  assert_int_equal(read(output, extra, sizeof(extra)), 0); /* closed after the exit */

  cf_autofree char *expected = cf_xasprintf("{\"process_id\":\"%s\",\"stream_id\":\"%s\"}\n"
                                            "{\"process_id\":\"%s\",\"exit_status\":0}\n",
                                            process_id, stream_id, process_id);
  assert_string_equal(first, expected);
  assert_int_equal(read(control, extra, sizeof(extra)), 0);
  json_decref(payload);
  close(output);
  close(control);
  destroy_container(&server.tcp, handle);
  free(handle);
}

/* Resident memory of a process in KiB, from /proc/<pid>/status. */
static long resident_kib(pid_t pid)
{
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  char line[256];
  long kib = -1;
  while (fgets(line, sizeof(line), f) != NULL) {
    if (sscanf(line, "VmRSS: %ld kB", &kib) == 1) {
      break;
    }
  }
  fclose(f);
  return kib;
}

/* A reader that attaches to stdout and never reads must not make the server
 * keep all of a process's output: it keeps at most 16 MiB per stream. */
static void test_unread_output_stays_bounded(void **state)
{
  (void)state;
  char *handle = create_container(&server.tcp, "it-flood", NULL);
  const char *body = "{\"path\":\"dd\",\"args\":[\"if=/dev/zero\",\"bs=1048576\",\"count=200\"],"
                     "\"rlimits\":{},\"image\":{}}";
  cf_autofree char *request = cf_xasprintf(
      "POST /containers/it-flood/processes HTTP/1.1\r\nHost: api\r\nContent-Length: %zu\r\n"
      "Content-Type: application/json\r\n\r\n%s",
      strlen(body), body);
  int control = -1;
  assert_int_equal(cf_garden_client_connect(&server.tcp, &control, NULL), 0);
  assert_int_equal(cf_write_all(control, request, strlen(request), NULL), 0);
  cf_autofree char *head = read_until(control, "}\n");
  json_t *first = json_loads(strstr(head, "\r\n\r\n") + 4, JSON_DISABLE_EOF_CHECK, NULL);
  assert_non_null(first);
  cf_autofree char *stdout_request = cf_xasprintf(
      "GET /containers/it-flood/processes/%s/attaches/%s/stdout HTTP/1.1\r\nHost: api\r\n\r\n",
      json_string_value(json_object_get(first, "process_id")),
      json_string_value(json_object_get(first, "stream_id")));
  json_decref(first);
  int output = -1;
  assert_int_equal(cf_garden_client_connect(&server.tcp, &output, NULL), 0);
  assert_int_equal(cf_write_all(output, stdout_request, strlen(stdout_request), NULL), 0);

  cf_autofree char *rest =
      strstr(head, "exit_status") != NULL ? NULL : read_until(control, "exit_status");
  const char *exit_text = rest != NULL ? rest : head;
  assert_non_null(strstr(exit_text, "\"exit_status\":0"));
  long kib = resident_kib(server.pid);
  assert_true(kib > 0);
  /* AddressSanitizer keeps freed memory in quarantine, so a sanitized
   * server's size says nothing about what it keeps. */
  const char *sanitized = getenv("CFWIN_SANITIZED");
  if (sanitized == NULL || strcmp(sanitized, "1") != 0) {
    assert_true(kib < 100 * 1024);
  }
  close(output);
  close(control);
  destroy_container(&server.tcp, handle);
  free(handle);
}

static void test_capacity_is_positive(void **state)
{
  (void)state;
  json_t *capacity = NULL;
  assert_int_equal(cf_garden_client_call(&server.tcp, "GET", "/capacity", NULL, &capacity, NULL),
                   0);
  assert_true(json_integer_value(json_object_get(capacity, "memory_in_bytes")) > 0);
  assert_true(json_integer_value(json_object_get(capacity, "disk_in_bytes")) > 0);
  assert_true(json_integer_value(json_object_get(capacity, "schedulable_disk_in_bytes")) > 0);
  assert_int_equal(json_integer_value(json_object_get(capacity, "max_containers")), 256);
  json_decref(capacity);
}

/* Builds a one-layer image of entries in a new layout and returns its URI. */
static char *write_hostile_image(const char *name, const cf_tar_entry *entries, size_t count)
{
  cf_autofree char *dir = cf_path_join(server.dir, name);
  cf_test_layer layer = {.entries = entries, .entry_count = count};
  cf_test_image image = {.layers = &layer, .layer_count = 1, .tag = "latest"};
  cf_err *err = NULL;
  if (cf_test_layout_write(dir, &image, 1, NULL, &err) < 0) {
    fail_msg("write image %s: %s", name, err->message);
  }
  return cf_xasprintf("oci://%s:latest", dir);
}

static void test_escaping_layers_rejected(void **state)
{
  (void)state;
  cf_autofree char *outside = cf_path_join(server.dir, "outside");
  cf_autofree char *victim = cf_path_join(outside, "victim");
  assert_int_equal(cf_mkdir_p(outside, 0755, NULL), 0);
  assert_int_equal(cf_write_file_atomic(victim, "original\n", 9, 0644, NULL), 0);
  cf_autofree char *absolute = cf_path_join(outside, "planted");
  cf_tar_entry dotdot[] = {{.type = CF_TAR_FILE, .path = "../../../outside/planted", .data = "x"}};
  cf_tar_entry abs_path[] = {{.type = CF_TAR_FILE, .path = absolute, .data = "x"}};
  cf_tar_entry through_symlink[] = {
      {.type = CF_TAR_SYMLINK, .path = "link", .data = outside},
      {.type = CF_TAR_FILE, .path = "link/planted", .data = "x"},
  };
  cf_tar_entry hardlink[] = {
      {.type = CF_TAR_HARDLINK, .path = "hard", .data = victim},
      {.type = CF_TAR_FILE, .path = "hard", .data = "overwritten"},
  };
  struct {
    const char *name;
    const cf_tar_entry *entries;
    size_t count;
  } cases[] = {
      {"dotdot", dotdot, 1},
      {"absolute", abs_path, 1},
      {"symlink", through_symlink, 2},
      {"hardlink", hardlink, 2},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    cf_autofree char *uri = write_hostile_image(cases[i].name, cases[i].entries, cases[i].count);
    json_t *spec = json_pack("{s:s, s:{s:s}}", "handle", "it-hostile", "image", "uri", uri);
    char *handle = NULL;
    cf_err *err = NULL;
    assert_int_equal(cf_garden_client_create(&server.tcp, spec, &handle, &err), -1);
    assert_non_null(strstr(err->message, "entry \""));
    cf_err_free(err);
    json_decref(spec);
  }
  cf_buf content;
  cf_buf_init(&content, 1024);
  assert_int_equal(cf_read_file(victim, &content, NULL), 0);
  assert_string_equal(content.data, "original\n");
  cf_buf_free(&content);
  assert_int_not_equal(access(absolute, F_OK), 0);
  json_t *handles = list("?garden.state=all");
  assert_int_equal(json_array_size(handles), 0);
  json_decref(handles);
}

static void test_corrupt_image_rejected(void **state)
{
  (void)state;
  cf_tar_entry entries[] = {{.type = CF_TAR_FILE, .path = "file", .data = "content"}};
  cf_test_layer layer = {.entries = entries, .entry_count = 1, .corrupt_blob = true};
  cf_test_image image = {.layers = &layer, .layer_count = 1, .tag = "latest"};
  cf_autofree char *dir = cf_path_join(server.dir, "corrupt");
  cf_built_image built;
  assert_int_equal(cf_test_layout_write(dir, &image, 1, &built, NULL), 0);
  cf_autofree char *uri = cf_xasprintf("oci://%s:latest", dir);
  json_t *spec = json_pack("{s:{s:s}}", "image", "uri", uri);
  char *handle = NULL;
  cf_err *err = NULL;
  assert_int_equal(cf_garden_client_create(&server.tcp, spec, &handle, &err), -1);
  assert_non_null(strstr(err->message, built.layers[0].digest));
  assert_non_null(strstr(err->message, "application/vnd.oci.image.layer.v1.tar+gzip"));
  cf_err_clear(&err);
  json_decref(spec);

  spec = json_pack("{s:{s:s}}", "image", "uri", "oci:///no/such/layout:latest");
  assert_int_equal(cf_garden_client_create(&server.tcp, spec, &handle, &err), -1);
  assert_non_null(strstr(err->message, "/no/such/layout"));
  cf_err_free(err);
  json_decref(spec);
}

/* Kills the server with SIGKILL, as a crash would. */
static void crash_server(void)
{
  kill(server.pid, SIGKILL);
  waitpid(server.pid, NULL, 0);
  server.pid = -1;
}

static void test_restart_cleans_half_made_container(void **state)
{
  (void)state;
  char *handle = create_container(&server.tcp, "it-half-made", NULL);
  crash_server();
  /* Make the record look like a crash between starting the container's
   * init and recording its pid. */
  cf_store *store = NULL;
  assert_int_equal(cf_store_open(server.depot, &store, NULL), 0);
  assert_int_equal(cf_store_container_set_init(store, handle, 0, 0, NULL), 0);
  assert_int_equal(cf_store_container_set_state(store, handle, CF_CONTAINER_CREATING, NULL), 0);
  cf_store_close(store);

  it_server_start(&server);
  json_t *handles = list("?garden.state=all");
  assert_int_equal(json_array_size(handles), 0);
  json_decref(handles);
  cf_err *err = NULL;
  assert_int_equal(cf_garden_client_destroy(&server.tcp, handle, &err), -1);
  assert_int_equal(err->code, CF_E_NOT_FOUND);
  cf_err_free(err);
  free(handle);
}

static void test_server_restart_keeps_container(void **state)
{
  (void)state;
  char *handle = create_container(&server.tcp, "it-restart", NULL);
  assert_int_equal(it_server_stop(&server), 0);
  it_server_start(&server);
  json_t *handles = list("");
  assert_int_equal(json_array_size(handles), 1);
  assert_string_equal(json_string_value(json_array_get(handles, 0)), "it-restart");
  json_decref(handles);
  cf_garden_process_result result = run(&server.tcp, handle, NULL, "echo", "again", NULL);
  assert_int_equal(result.exit_status, 0);
  assert_string_equal(result.out.data, "again\n");
  cf_garden_process_result_clear(&result);
  destroy_container(&server.tcp, handle);
  free(handle);
}

int main(void)
{
  it_require_root();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_ping_on_both_listeners, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_run_echo_hello, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_run_stderr_and_exit_code, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_run_killed_by_signal, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_run_relays_stdin, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_run_sees_image_env_and_hostname, take_snapshot,
                                      check_leaks),
      cmocka_unit_test_setup_teardown(test_fifty_concurrent_runs, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_list_filters_by_property, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_info_and_properties, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_unknown_handle_envelope, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_malformed_json_is_500, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_wrong_method_and_path, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_create_response_framing, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_create_rejects_bad_handles, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_run_errors_are_http_errors, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_run_hijack_framing, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_unread_output_stays_bounded, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_capacity_is_positive, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_escaping_layers_rejected, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_corrupt_image_rejected, take_snapshot, check_leaks),
      cmocka_unit_test_setup_teardown(test_restart_cleans_half_made_container, take_snapshot,
                                      check_leaks),
      cmocka_unit_test_setup_teardown(test_server_restart_keeps_container, take_snapshot,
                                      check_leaks),
  };
  return cmocka_run_group_tests(tests, setup_server, teardown_server);
}
