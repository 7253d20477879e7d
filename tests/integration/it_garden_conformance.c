/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Garden API conformance through a real `cfwin serve`. It checks the status
 * codes and error envelope of every route, 404 and 405 from the router,
 * chunked request bodies, keep-alive and `Connection: close`, both listeners,
 * and JSON as Go's encoding/json writes it. Raw sockets check the framing of
 * the hijacked process protocol: requests written byte by byte, several
 * payloads in one write, bytes behind the POST body, clients that vanish,
 * and 200 concurrent process streams.
 *
 * Expected bytes come from the Go server's replies as recorded on the wire
 * (garden `server` package), not from cfwin's own encoder.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/mem.h"
#include "fixture.h"
#include "garden/client.h"
#include "garden/json.h"

static it_server server;

/* A handle no test creates; the integration suite uses the same one. */
#define UNKNOWN_HANDLE "potato-sandwhich-policy"

/* Sizes above the server's limits of 64 KiB for the request line and
 * headers and 1 MiB for a kept body. */
#define OVER_HEADER_LIMIT (65 * 1024)
#define OVER_BODY_LIMIT (2 * 1024 * 1024)

/* A guard against a server that hangs, never a timing assertion. */
#define READ_TIMEOUT_S 120

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

/* --- Containers and ordinary calls --- */

/* Creates a container with the integration suite's default spec plus the
 * given extra fields (a JSON object, stolen, or NULL). */
static void create_container(const cf_garden_client *client, const char *handle, json_t *extra)
{
  json_t *spec = json_pack("{s:s, s:{}, s:{s:{}, s:{}, s:{}, s:{}, s:{}}}", "handle", handle,
                           "image", "limits", "bandwidth_limits", "cpu_limits", "disk_limits",
                           "memory_limits", "pid_limits");
  if (extra != NULL) {
    json_object_update(spec, extra);
    json_decref(extra);
  }
  char *created = NULL;
  cf_err *err = NULL;
  int rc = cf_garden_client_create(client, spec, &created, &err);
  json_decref(spec);
  if (rc < 0) {
    fail_msg("create %s: %s", handle, err->message);
  }
  assert_string_equal(created, handle);
  free(created);
}

static void destroy_container(const cf_garden_client *client, const char *handle)
{
  cf_err *err = NULL;
  if (cf_garden_client_destroy(client, handle, &err) < 0) {
    fail_msg("destroy %s: %s", handle, err->message);
  }
}

typedef struct reply {
  int status;
  char *head; /* status line and headers */
  char *body;
  size_t body_len;
} reply;

static void reply_clear(reply *r)
{
  free(r->head);
  free(r->body);
  memset(r, 0, sizeof(*r));
}

/* Sends raw request bytes on a new connection and reads one response. */
static reply exchange_on(const cf_garden_client *client, const char *request)
{
  cf_garden_response response;
  cf_garden_response_init(&response);
  cf_err *err = NULL;
  if (cf_garden_client_exchange(client, request, strlen(request), &response, &err) < 0) {
    fail_msg("exchange \"%.60s\": %s", request, err->message);
  }
  reply r = {
      .status = response.status,
      .head = cf_xstrdup(response.head.data != NULL ? response.head.data : ""),
      .body_len = response.body.len,
      .body = cf_xstrndup(response.body.data != NULL ? response.body.data : "", response.body.len),
  };
  cf_garden_response_clear(&response);
  return r;
}

/* Sends method and path with an optional body, as the Go client sends an
 * ordinary call (Connection: close). */
static reply call(const char *method, const char *path, const char *body)
{
  cf_autofree char *request =
      body == NULL
          ? cf_xasprintf("%s %s HTTP/1.1\r\nHost: api\r\nUser-Agent: Go-http-client/1.1\r\n"
                         "Connection: close\r\nAccept-Encoding: gzip\r\n\r\n",
                         method, path)
          : cf_xasprintf("%s %s HTTP/1.1\r\nHost: api\r\nUser-Agent: Go-http-client/1.1\r\n"
                         "Connection: close\r\nContent-Length: %zu\r\n"
                         "Content-Type: application/json\r\nAccept-Encoding: gzip\r\n\r\n%s",
                         method, path, strlen(body), body);
  return exchange_on(&server.tcp, request);
}

static json_t *parse_body(const reply *r)
{
  json_error_t jerr;
  json_t *value = json_loadb(r->body, r->body_len, JSON_DECODE_ANY, &jerr);
  if (value == NULL) {
    fail_msg("body of %d reply is not JSON (%s): %s", r->status, jerr.text, r->body);
  }
  return value;
}

/* --- Raw sockets --- */

static int raw_connect(const cf_garden_client *client)
{
  int fd = -1;
  cf_err *err = NULL;
  if (cf_garden_client_connect(client, &fd, &err) < 0) {
    fail_msg("connect: %s", err->message);
  }
  struct timeval timeout = {.tv_sec = READ_TIMEOUT_S};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  if (client->socket_path == NULL) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  }
  return fd;
}

static void raw_write(int fd, const char *data, size_t len)
{
  assert_int_equal(cf_write_all(fd, data, len, NULL), 0);
}

static void raw_write_str(int fd, const char *text)
{
  raw_write(fd, text, strlen(text));
}

/* Writes text with one write() per byte, so the server receives every split. */
static void raw_write_bytewise(int fd, const char *text)
{
  for (const char *p = text; *p != '\0'; p++) {
    raw_write(fd, p, 1);
  }
}

/* Reads until the headers end; returns the head and keeps the bytes after
 * it in rest. Fails the test on EOF or timeout. */
static char *read_head(int fd, cf_buf *rest)
{
  cf_buf text;
  cf_buf_init(&text, 1 << 20);
  char chunk[4096];
  const char *end = NULL;
  while ((end = text.data != NULL ? memmem(text.data, text.len, "\r\n\r\n", 4) : NULL) == NULL) {
    ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n <= 0) {
      fail_msg("connection ended before the response headers (read %zd, %s): %.*s", n,
               strerror(errno), (int)text.len, text.data != NULL ? text.data : "");
    }
    cf_buf_append(&text, chunk, (size_t)n, NULL);
  }
  size_t head_len = (size_t)(end - text.data) + 4;
  cf_buf_append(rest, text.data + head_len, text.len - head_len, NULL);
  char *head = cf_xstrndup(text.data, head_len);
  cf_buf_free(&text);
  return head;
}

static int status_of(const char *head)
{
  int status = 0;
  assert_int_equal(sscanf(head, "HTTP/1.1 %d ", &status), 1);
  return status;
}

/* Appends everything up to EOF to out. Returns false on a read timeout. */
static bool read_to_eof(int fd, cf_buf *out)
{
  char chunk[65536];
  for (;;) {
    ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n == 0) {
      return true;
    }
    if (n < 0) {
      return errno == ECONNRESET;
    }
    cf_buf_append(out, chunk, (size_t)n, NULL);
  }
}

/* Takes the next JSON payload from the control connection. */
static json_t *next_payload(int fd, cf_buf *pending)
{
  char chunk[4096];
  for (;;) {
    json_t *payload = NULL;
    cf_err *err = NULL;
    int got = cf_json_take(pending, &payload, &err);
    if (got < 0) {
      fail_msg("malformed payload: %s", err->message);
    }
    if (got > 0) {
      return payload;
    }
    ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n <= 0) {
      fail_msg("control connection ended before the next payload (read %zd)", n);
    }
    cf_buf_append(pending, chunk, (size_t)n, NULL);
  }
}

/* One Run or Attach control connection after its first payload. */
typedef struct control {
  int fd;
  char *process_id;
  char *stream_id;
  cf_buf pending; /* received bytes not yet parsed as payloads */
} control;

static void control_init(control *c)
{
  memset(c, 0, sizeof(*c));
  c->fd = -1;
  cf_buf_init(&c->pending, 1 << 20);
}

static void control_clear(control *c)
{
  if (c->fd >= 0) {
    close(c->fd);
  }
  free(c->process_id);
  free(c->stream_id);
  cf_buf_free(&c->pending);
  c->fd = -1;
  c->process_id = NULL;
  c->stream_id = NULL;
}

/* Reads the response head and the first payload of a hijacked control
 * connection and checks the framing the Go client needs. */
static void control_begin(control *c, int expected_status)
{
  cf_autofree char *head = read_head(c->fd, &c->pending);
  if (status_of(head) != expected_status) {
    fail_msg("expected %d, got: %s%.*s", expected_status, head, (int)c->pending.len,
             c->pending.data != NULL ? c->pending.data : "");
  }
  assert_non_null(strstr(head, "\r\nContent-Type: application/json\r\n"));
  assert_non_null(strstr(head, "\r\nTransfer-Encoding: chunked\r\n"));
  assert_null(strstr(head, "Connection: close"));
  json_t *first = next_payload(c->fd, &c->pending);
  const char *pid = json_string_value(json_object_get(first, "process_id"));
  const char *sid = json_string_value(json_object_get(first, "stream_id"));
  assert_non_null(pid);
  assert_non_null(sid);
  assert_int_equal(json_object_size(first), 2);
  c->process_id = cf_xstrdup(pid);
  c->stream_id = cf_xstrdup(sid);
  json_decref(first);
}

static char *run_request(const char *handle, const char *spec_json)
{
  return cf_xasprintf("POST /containers/%s/processes HTTP/1.1\r\nHost: api\r\n"
                      "User-Agent: Go-http-client/1.1\r\nContent-Length: %zu\r\n"
                      "Content-Type: application/json\r\n\r\n%s",
                      handle, strlen(spec_json), spec_json);
}

/* Starts a Run on a raw connection with the whole request in one write. */
static void control_run(control *c, const char *handle, const char *spec_json)
{
  control_init(c);
  c->fd = raw_connect(&server.tcp);
  cf_autofree char *request = run_request(handle, spec_json);
  raw_write_str(c->fd, request);
  control_begin(c, 201);
}

static void control_attach(control *c, const char *handle, const char *process_id)
{
  control_init(c);
  c->fd = raw_connect(&server.tcp);
  cf_autofree char *request = cf_xasprintf(
      "GET /containers/%s/processes/%s HTTP/1.1\r\nHost: api\r\nUser-Agent: Go-http-client/1.1\r\n"
      "\r\n",
      handle, process_id);
  raw_write_str(c->fd, request);
  control_begin(c, 200);
}

/* Reads payloads until the terminal one and returns its exit status; checks
 * that the server then closes the connection without sending more. */
static int control_wait(control *c)
{
  for (;;) {
    json_t *payload = next_payload(c->fd, &c->pending);
    json_t *error = json_object_get(payload, "error");
    if (error != NULL) {
      fail_msg("process error payload: %s", json_string_value(error));
    }
    json_t *status = json_object_get(payload, "exit_status");
    if (status == NULL) {
      json_decref(payload);
      continue; /* the Go client discards other payloads */
    }
    assert_true(json_is_integer(status));
    assert_string_equal(json_string_value(json_object_get(payload, "process_id")), c->process_id);
    int exit_status = (int)json_integer_value(status);
    json_decref(payload);
    cf_buf after;
    cf_buf_init(&after, 1 << 20);
    assert_true(read_to_eof(c->fd, &after));
    cf_buf_append(&after, c->pending.data, c->pending.len, NULL);
    cf_buf_append(&after, "", 1, NULL);
    /* Exactly one terminal payload: at most its newline follows. */
    assert_int_equal(strspn(after.data, " \r\n"), after.len - 1);
    cf_buf_free(&after);
    return exit_status;
  }
}

static void control_send(control *c, const char *payload_json)
{
  raw_write_str(c->fd, payload_json);
}

/* Opens the stdout or stderr stream of a Run or Attach; the body bytes that
 * came with the head go to initial. */
static int open_stream(const char *handle, const control *c, const char *name, cf_buf *initial)
{
  int fd = raw_connect(&server.tcp);
  cf_autofree char *request =
      cf_xasprintf("GET /containers/%s/processes/%s/attaches/%s/%s HTTP/1.1\r\nHost: api\r\n"
                   "User-Agent: Go-http-client/1.1\r\nContent-Type: application/json\r\n\r\n",
                   handle, c->process_id, c->stream_id, name);
  raw_write_str(fd, request);
  cf_autofree char *head = read_head(fd, initial);
  assert_int_equal(status_of(head), 200);
  assert_non_null(strstr(head, "\r\nTransfer-Encoding: chunked\r\n"));
  assert_null(strstr(head, "Connection: close"));
  return fd;
}

/* Reads a whole output stream (until the server closes it). */
static char *stream_text(int fd, cf_buf *initial)
{
  assert_true(read_to_eof(fd, initial));
  close(fd);
  char *text = cf_xstrndup(initial->data != NULL ? initial->data : "", initial->len);
  cf_buf_free(initial);
  return text;
}

/* Builds the ProcessSpec JSON the Go client sends for `sh -c script`. */
static char *sh_spec(const char *script)
{
  json_t *spec = json_pack("{s:s, s:[s, s], s:s, s:{}, s:{}}", "path", "sh", "args", "-c", script,
                           "user", "root", "rlimits", "image");
  char *text = cf_json_encode(spec);
  json_decref(spec);
  return text;
}

/* Runs `sh -c script` through the product's client and returns the result. */
static cf_garden_process_result run_sh(const char *handle, const char *script,
                                       const char *stdin_data)
{
  json_t *spec = json_pack("{s:s, s:[s, s], s:{}, s:{}}", "path", "sh", "args", "-c", script,
                           "rlimits", "image");
  cf_garden_process_result result;
  cf_garden_process_result_init(&result);
  cf_err *err = NULL;
  int rc = cf_garden_client_run(&server.tcp, handle, spec, stdin_data,
                                stdin_data != NULL ? strlen(stdin_data) : 0, &result, &err);
  json_decref(spec);
  if (rc < 0) {
    fail_msg("run %s: %s", script, err->message);
  }
  return result;
}

static const char *out_text(const cf_garden_process_result *result)
{
  return result->out.data != NULL ? result->out.data : "";
}

/* --- Routes, status codes and envelopes --- */

struct route_case {
  const char *method;
  const char *path; /* {h} stands for the handle */
  const char *body; /* NULL for none */
};

/* Returns the path template with its {h} replaced by handle. */
static char *fill_handle(const char *template, const char *handle)
{
  const char *at = strstr(template, "{h}");
  if (at == NULL) {
    return cf_xstrdup(template);
  }
  return cf_xasprintf("%.*s%s%s", (int)(at - template), template, handle, at + 3);
}

/* Every route that looks the container up, with a body the route accepts. */
static const struct route_case lookup_routes[] = {
    {"GET", "/containers/{h}/info", NULL},
    {"DELETE", "/containers/{h}", NULL},
    {"PUT", "/containers/{h}/stop", "{\"kill\":true}"},
    {"PUT", "/containers/{h}/files?destination=%2Ftmp&user=", ""},
    {"GET", "/containers/{h}/files?source=%2Ftmp&user=", NULL},
    {"GET", "/containers/{h}/limits/bandwidth", NULL},
    {"GET", "/containers/{h}/limits/cpu", NULL},
    {"GET", "/containers/{h}/limits/disk", NULL},
    {"GET", "/containers/{h}/limits/memory", NULL},
    {"POST", "/containers/{h}/net/in", "{\"handle\":\"x\",\"container_port\":8080}"},
    {"POST", "/containers/{h}/net/out", "{\"protocol\":1}"},
    {"POST", "/containers/{h}/net/out/bulk", "[{\"protocol\":1}]"},
    {"PUT", "/containers/{h}/grace_time", "500000000"},
    {"GET", "/containers/{h}/properties", NULL},
    {"GET", "/containers/{h}/properties/k", NULL},
    {"PUT", "/containers/{h}/properties/k", "{\"value\":\"v\"}"},
    {"DELETE", "/containers/{h}/properties/k", NULL},
    {"GET", "/containers/{h}/metrics", NULL},
};

static void test_unknown_handle_every_route(void **state)
{
  (void)state;
  const char *expected = "{\"Type\":\"ContainerNotFoundError\",\"Message\":\"unknown handle: "
                         "potato-sandwhich-policy\",\"Handle\":\"potato-sandwhich-policy\","
                         "\"ProcessID\":\"\",\"Binary\":\"\"}\n";
  for (size_t i = 0; i < sizeof(lookup_routes) / sizeof(lookup_routes[0]); i++) {
    cf_autofree char *path = fill_handle(lookup_routes[i].path, UNKNOWN_HANDLE);
    reply r = call(lookup_routes[i].method, path, lookup_routes[i].body);
    if (r.status != 404 || strcmp(r.body, expected) != 0) {
      fail_msg("%s %s: %d %s", lookup_routes[i].method, path, r.status, r.body);
    }
    assert_non_null(strstr(r.head, "HTTP/1.1 404 Not Found\r\n"));
    assert_non_null(strstr(r.head, "\r\nContent-Type: application/json\r\n"));
    cf_autofree char *length = cf_xasprintf("\r\nContent-Length: %zu\r\n", strlen(expected));
    assert_non_null(strstr(r.head, length));
    assert_non_null(strstr(r.head, "\r\nConnection: close\r\n"));
    reply_clear(&r);
  }
}

/* On Run and Attach an error must keep HTTP/1.1 framing without
 * `Connection: close`, or the Go client loses the typed error. */
static void test_hijack_route_errors_keep_framing(void **state)
{
  (void)state;
  create_container(&server.tcp, "it-conf-hijack-errors", NULL);
  const char *true_spec = "{\"path\":\"true\",\"rlimits\":{},\"image\":{}}";
  const char *missing_spec = "{\"path\":\"nope-bin\",\"rlimits\":{},\"image\":{}}";
  cf_autofree char *run_unknown = run_request(UNKNOWN_HANDLE, true_spec);
  cf_autofree char *run_missing = run_request("it-conf-hijack-errors", missing_spec);
  struct {
    const char *request;
    int status;
    const char *body;
  } cases[] = {
      {run_unknown, 404,
       "{\"Type\":\"ContainerNotFoundError\",\"Message\":\"unknown handle: "
       "potato-sandwhich-policy\",\"Handle\":\"potato-sandwhich-policy\",\"ProcessID\":\"\","
       "\"Binary\":\"\"}\n"},
      {"GET /containers/" UNKNOWN_HANDLE "/processes/idontexist HTTP/1.1\r\nHost: api\r\n\r\n", 404,
       "{\"Type\":\"ContainerNotFoundError\",\"Message\":\"unknown handle: "
       "potato-sandwhich-policy\",\"Handle\":\"potato-sandwhich-policy\",\"ProcessID\":\"\","
       "\"Binary\":\"\"}\n"},
      {"GET /containers/it-conf-hijack-errors/processes/idontexist HTTP/1.1\r\nHost: api\r\n\r\n",
       404,
       "{\"Type\":\"ProcessNotFoundError\",\"Message\":\"unknown process: idontexist\","
       "\"Handle\":\"\",\"ProcessID\":\"idontexist\",\"Binary\":\"\"}\n"},
      {run_missing, 500,
       "{\"Type\":\"ExecutableNotFoundError\",\"Message\":\"exec: \\\"nope-bin\\\": executable "
       "file "
       "not found in $PATH\",\"Handle\":\"\",\"ProcessID\":\"\",\"Binary\":\"\"}\n"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    reply r = exchange_on(&server.tcp, cases[i].request);
    if (r.status != cases[i].status) {
      fail_msg("case %zu: %d %s", i, r.status, r.body);
    }
    assert_string_equal(r.body, cases[i].body);
    assert_non_null(strstr(r.head, "HTTP/1.1 "));
    assert_non_null(strstr(r.head, "\r\nContent-Type: application/json\r\n"));
    cf_autofree char *length = cf_xasprintf("\r\nContent-Length: %zu\r\n", strlen(cases[i].body));
    assert_non_null(strstr(r.head, length));
    assert_null(strstr(r.head, "Connection: close"));
    reply_clear(&r);
  }
  destroy_container(&server.tcp, "it-conf-hijack-errors");
}

/* Routes that read a JSON body decode it before the lookup, so a malformed
 * body on an unknown handle is a 500 decode error, not a 404. */
static void test_body_decoded_before_lookup(void **state)
{
  (void)state;
  static const struct route_case cases[] = {
      {"POST", "/containers/{h}/net/in", "{bad"},
      {"POST", "/containers/{h}/net/out", "{bad"},
      {"POST", "/containers/{h}/net/out/bulk", "{bad"},
      {"PUT", "/containers/{h}/properties/k", "{bad"},
      {"POST", "/containers/{h}/processes", "{bad"},
      {"PUT", "/containers/{h}/stop", "{bad"},
      {"PUT", "/containers/{h}/grace_time", "{bad"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    cf_autofree char *path = fill_handle(cases[i].path, UNKNOWN_HANDLE);
    reply r = call(cases[i].method, path, cases[i].body);
    if (r.status != 500) {
      fail_msg("%s %s: %d %s", cases[i].method, path, r.status, r.body);
    }
    json_t *envelope = parse_body(&r);
    assert_string_equal(json_string_value(json_object_get(envelope, "Type")), "");
    assert_string_equal(json_string_value(json_object_get(envelope, "Handle")), "");
    assert_true(strlen(json_string_value(json_object_get(envelope, "Message"))) > 0);
    json_decref(envelope);
    reply_clear(&r);
  }
}

/* Every ordinary route of a live container reaches its handler: the reply
 * is never the router's 404 or 405, and its body is JSON. StreamOut is the
 * exception whose success body is a tar stream. */
static void test_every_route_reaches_handler(void **state)
{
  (void)state;
  create_container(&server.tcp, "it-conf-routes", NULL);
  static const struct route_case cases[] = {
      {"GET", "/ping", NULL},
      {"GET", "/capacity", NULL},
      {"GET", "/containers", NULL},
      {"GET", "/containers/bulk_info?handles={h}", NULL},
      {"GET", "/containers/bulk_metrics?handles={h}", NULL},
      {"GET", "/containers/{h}/info", NULL},
      {"GET", "/containers/{h}/limits/bandwidth", NULL},
      {"GET", "/containers/{h}/limits/cpu", NULL},
      {"GET", "/containers/{h}/limits/disk", NULL},
      {"GET", "/containers/{h}/limits/memory", NULL},
      {"POST", "/containers/{h}/net/out",
       "{\"protocol\":1,\"networks\":[{\"start\":\"10.0.0.1\","
       "\"end\":\"10.0.0.2\"}]}"},
      {"POST", "/containers/{h}/net/out/bulk", "[]"},
      {"PUT", "/containers/{h}/properties/k", "{\"value\":\"v\"}"},
      {"GET", "/containers/{h}/properties/k", NULL},
      {"GET", "/containers/{h}/properties", NULL},
      {"DELETE", "/containers/{h}/properties/k", NULL},
      {"GET", "/containers/{h}/metrics", NULL},
      {"PUT", "/containers/{h}/grace_time", "0"},
      {"PUT", "/containers/{h}/files?destination=%2Ftmp&user=", ""},
      {"PUT", "/containers/{h}/stop", "{\"kill\":false}"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    cf_autofree char *path = fill_handle(cases[i].path, "it-conf-routes");
    reply r = call(cases[i].method, path, cases[i].body);
    if (r.status == 404 || r.status == 405) {
      fail_msg("%s %s: %d %s", cases[i].method, path, r.status, r.body);
    }
    assert_non_null(strstr(r.head, "\r\nContent-Type: application/json\r\n"));
    json_t *body = parse_body(&r);
    assert_true(r.body_len > 0 && r.body[r.body_len - 1] == '\n');
    if (r.status >= 200 && r.status < 300) {
      assert_true(json_is_object(body));
    } else {
      assert_non_null(json_object_get(body, "Type"));
      assert_non_null(json_object_get(body, "Message"));
    }
    json_decref(body);
    reply_clear(&r);
  }
  reply r = call("GET", "/containers/it-conf-routes/files?source=%2Fetc%2Fhostname&user=", NULL);
  assert_true(r.status != 404 && r.status != 405);
  reply_clear(&r);
  r = call("DELETE", "/containers/it-conf-routes", NULL);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.body, "{}\n");
  reply_clear(&r);
}

static bool allow_has(const char *allow, const char *method)
{
  size_t len = strlen(method);
  for (const char *p = strstr(allow, method); p != NULL; p = strstr(p + 1, method)) {
    bool starts = p == allow || p[-1] == ' ';
    bool ends = p[len] == ',' || p[len] == '\r';
    if (starts && ends) {
      return true;
    }
  }
  return false;
}

static void test_wrong_method_is_405(void **state)
{
  (void)state;
  static const struct {
    const char *method;
    const char *path;
    const char *allowed[3];
  } cases[] = {
      {"PUT", "/ping", {"GET"}},
      {"POST", "/capacity", {"GET"}},
      {"DELETE", "/containers", {"GET", "POST"}},
      {"PUT", "/containers/bulk_info", {"GET", "DELETE"}},
      {"POST", "/containers/h/info", {"GET"}},
      {"PUT", "/containers/h", {"DELETE"}},
      {"GET", "/containers/h/stop", {"PUT"}},
      {"POST", "/containers/h/files", {"GET", "PUT"}},
      {"PUT", "/containers/h/limits/memory", {"GET"}},
      {"GET", "/containers/h/net/in", {"POST"}},
      {"GET", "/containers/h/net/out/bulk", {"POST"}},
      {"GET", "/containers/h/processes", {"POST"}},
      {"DELETE", "/containers/h/processes/p", {"GET"}},
      {"POST", "/containers/h/processes/p/attaches/1/stdout", {"GET"}},
      {"GET", "/containers/h/grace_time", {"PUT"}},
      {"POST", "/containers/h/properties/k", {"GET", "PUT", "DELETE"}},
      {"OPTIONS", "/containers", {"GET", "POST"}},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    reply r = call(cases[i].method, cases[i].path, NULL);
    if (r.status != 405) {
      fail_msg("%s %s: %d %s", cases[i].method, cases[i].path, r.status, r.body);
    }
    assert_string_equal(r.body, "Method Not Allowed\n");
    assert_non_null(strstr(r.head, "\r\nContent-Type: text/plain; charset=utf-8\r\n"));
    const char *allow = strstr(r.head, "\r\nAllow: ");
    assert_non_null(allow);
    allow += 9;
    size_t expected_count = 0;
    for (size_t m = 0; m < 3 && cases[i].allowed[m] != NULL; m++) {
      expected_count++;
      if (!allow_has(allow, cases[i].allowed[m])) {
        fail_msg("%s %s: Allow lacks %s: %s", cases[i].method, cases[i].path, cases[i].allowed[m],
                 r.head);
      }
    }
    size_t listed = 1;
    for (const char *p = allow; *p != '\r'; p++) {
      listed += *p == ',';
    }
    assert_int_equal(listed, expected_count);
    reply_clear(&r);
  }
}

static void test_unknown_path_is_404(void **state)
{
  (void)state;
  static const char *const paths[] = {
      "/",
      "/ping/",
      "/v1/ping",
      "/containers/h/info/",
      "/containers/h/nope",
      "/containers/h/limits",
      "/containers/h/limits/pids",
      "/containers/h/processes/p/attaches/1/stdin",
      "/containers/h/processes/p/attaches/1",
  };
  for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
    reply r = call("GET", paths[i], NULL);
    if (r.status != 404) {
      fail_msg("GET %s: %d %s", paths[i], r.status, r.body);
    }
    assert_string_equal(r.body, "404 page not found\n");
    assert_non_null(strstr(r.head, "\r\nContent-Type: text/plain; charset=utf-8\r\n"));
    assert_non_null(strstr(r.head, "\r\nX-Content-Type-Options: nosniff\r\n"));
    reply_clear(&r);
  }
}

/* --- Transport --- */

static void test_head_response_has_no_body(void **state)
{
  (void)state;
  /* No route takes HEAD, so the server responds 405 with the length of the
   * GET body's text. The bytes after that head must be the next response. */
  int fd = raw_connect(&server.tcp);
  raw_write_str(fd, "HEAD /ping HTTP/1.1\r\nHost: api\r\n\r\n"
                    "GET /ping HTTP/1.1\r\nHost: api\r\nConnection: close\r\n\r\n");
  cf_buf rest;
  cf_buf_init(&rest, 1 << 20);
  cf_autofree char *head = read_head(fd, &rest);
  assert_int_equal(status_of(head), 405);
  assert_non_null(strstr(head, "\r\nContent-Length: 19\r\n"));
  assert_true(read_to_eof(fd, &rest));
  close(fd);
  cf_buf_append(&rest, "", 1, NULL);
  if (strncmp(rest.data, "HTTP/1.1 200 OK\r\n", 17) != 0) {
    fail_msg("bytes after the HEAD response: %.60s", rest.data);
  }
  cf_buf_free(&rest);
}

static void test_large_headers_are_431(void **state)
{
  (void)state;
  cf_autofree char *big = cf_xmalloc(OVER_HEADER_LIMIT + 1);
  memset(big, 'x', OVER_HEADER_LIMIT);
  big[OVER_HEADER_LIMIT] = '\0';
  cf_autofree char *request =
      cf_xasprintf("GET /ping HTTP/1.1\r\nHost: api\r\nX-Big: %s\r\n\r\n", big);
  reply r = exchange_on(&server.tcp, request);
  assert_int_equal(r.status, 431);
  assert_non_null(strstr(r.head, "HTTP/1.1 431 Request Header Fields Too Large\r\n"));
  assert_non_null(strstr(r.head, "\r\nConnection: close\r\n"));
  reply_clear(&r);

  /* A body over the limit stays 413, because only headers get 431. */
  cf_autofree char *post = cf_xasprintf("POST /containers HTTP/1.1\r\nHost: api\r\n"
                                        "Content-Length: %d\r\n\r\n",
                                        OVER_BODY_LIMIT);
  r = exchange_on(&server.tcp, post);
  assert_int_equal(r.status, 413);
  reply_clear(&r);
}

/* Counts how often needle occurs in haystack. */
static size_t count_of(const char *haystack, const char *needle)
{
  size_t n = 0;
  for (const char *p = strstr(haystack, needle); p != NULL; p = strstr(p + 1, needle)) {
    n++;
  }
  return n;
}

static void test_keep_alive_and_close(void **state)
{
  (void)state;
  /* Four pipelined requests in one write; only the last requests close. */
  int fd = raw_connect(&server.tcp);
  raw_write_str(fd, "GET /ping HTTP/1.1\r\nHost: api\r\n\r\n"
                    "GET /capacity HTTP/1.1\r\nHost: api\r\n\r\n"
                    "GET /containers?conformance=none HTTP/1.1\r\nHost: api\r\n\r\n"
                    "GET /ping HTTP/1.1\r\nHost: api\r\nConnection: close\r\n\r\n");
  cf_buf all;
  cf_buf_init(&all, 1 << 20);
  assert_true(read_to_eof(fd, &all));
  close(fd);
  cf_buf_append(&all, "", 1, NULL);
  assert_int_equal(count_of(all.data, "HTTP/1.1 200 OK\r\n"), 4);
  assert_int_equal(count_of(all.data, "Connection: close\r\n"), 1);
  assert_non_null(strstr(all.data, "\r\n\r\n{\"Handles\":[]}\n"));
  const char *last = strstr(all.data, "Connection: close\r\n\r\n{}\n");
  assert_non_null(last);
  assert_int_equal(strlen(last), strlen("Connection: close\r\n\r\n{}\n"));
  cf_buf_free(&all);

  /* One request at a time on a kept-alive unix socket connection. */
  fd = raw_connect(&server.unix_socket);
  for (int i = 0; i < 3; i++) {
    raw_write_str(fd, "GET /ping HTTP/1.1\r\nHost: api\r\n\r\n");
    cf_buf rest;
    cf_buf_init(&rest, 1 << 20);
    cf_autofree char *head = read_head(fd, &rest);
    assert_int_equal(status_of(head), 200);
    assert_non_null(strstr(head, "\r\nContent-Length: 3\r\n"));
    assert_null(strstr(head, "Connection: close"));
    while (rest.len < 3) {
      char byte;
      assert_int_equal(read(fd, &byte, 1), 1);
      cf_buf_append(&rest, &byte, 1, NULL);
    }
    assert_memory_equal(rest.data, "{}\n", 3);
    assert_int_equal(rest.len, 3);
    cf_buf_free(&rest);
  }
  close(fd);

  /* HTTP/1.0 without keep-alive closes after the response. */
  fd = raw_connect(&server.tcp);
  raw_write_str(fd, "GET /ping HTTP/1.0\r\nHost: api\r\n\r\n");
  cf_buf_init(&all, 1 << 20);
  assert_true(read_to_eof(fd, &all));
  close(fd);
  cf_buf_append(&all, "", 1, NULL);
  assert_non_null(strstr(all.data, "\r\n\r\n{}\n"));
  cf_buf_free(&all);
}

static void test_chunked_request_bodies(void **state)
{
  (void)state;
  const cf_garden_client *clients[] = {&server.tcp, &server.unix_socket};
  const char *handles[] = {"it-conf-chunked-tcp", "it-conf-chunked-unix"};
  for (int i = 0; i < 2; i++) {
    int fd = raw_connect(clients[i]);
    raw_write_str(fd, "POST /containers HTTP/1.1\r\nHost: api\r\nConnection: close\r\n"
                      "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
    cf_autofree char *body = cf_xasprintf("{\"handle\":\"%s\",\"image\":{}}", handles[i]);
    size_t half = strlen(body) / 2;
    cf_autofree char *first = cf_xasprintf("%zx\r\n%.*s\r\n", half, (int)half, body);
    cf_autofree char *second =
        cf_xasprintf("%zx;ext=1\r\n%s\r\n", strlen(body) - half, body + half);
    raw_write_str(fd, first);
    raw_write_str(fd, second);
    raw_write_str(fd, "0\r\n\r\n");
    cf_buf all;
    cf_buf_init(&all, 1 << 20);
    assert_true(read_to_eof(fd, &all));
    close(fd);
    cf_buf_append(&all, "", 1, NULL);
    assert_non_null(strstr(all.data, "HTTP/1.1 200 OK\r\n"));
    cf_autofree char *expected = cf_xasprintf("\r\n\r\n{\"Handle\":\"%s\"}\n", handles[i]);
    assert_non_null(strstr(all.data, expected));
    cf_buf_free(&all);
  }
  /* A chunked SetProperty, then the value through the other listener. */
  reply r = exchange_on(&server.unix_socket,
                        "PUT /containers/it-conf-chunked-tcp/properties/color HTTP/1.1\r\n"
                        "Host: api\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
                        "5\r\n{\"val\r\n"
                        "b\r\nue\":\"teal\"}\r\n"
                        "0\r\n\r\n");
  assert_int_equal(r.status, 200);
  assert_string_equal(r.body, "{}\n");
  reply_clear(&r);
  r = call("GET", "/containers/it-conf-chunked-tcp/properties/color", NULL);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.body, "{\"value\":\"teal\"}\n");
  reply_clear(&r);
  destroy_container(&server.unix_socket, "it-conf-chunked-tcp");
  destroy_container(&server.tcp, "it-conf-chunked-unix");
}

static void test_listeners_share_containers(void **state)
{
  (void)state;
  create_container(&server.unix_socket, "it-conf-listeners", NULL);
  json_t *info = NULL;
  assert_int_equal(cf_garden_client_call(&server.tcp, "GET", "/containers/it-conf-listeners/info",
                                         NULL, &info, NULL),
                   0);
  assert_string_equal(json_string_value(json_object_get(info, "State")), "active");
  json_decref(info);
  cf_garden_process_result result;
  cf_garden_process_result_init(&result);
  json_t *spec = json_pack("{s:s, s:[s], s:{}, s:{}}", "path", "echo", "args", "over-unix",
                           "rlimits", "image");
  assert_int_equal(
      cf_garden_client_run(&server.unix_socket, "it-conf-listeners", spec, NULL, 0, &result, NULL),
      0);
  json_decref(spec);
  assert_int_equal(result.exit_status, 0);
  assert_string_equal(out_text(&result), "over-unix\n");
  cf_garden_process_result_clear(&result);
  destroy_container(&server.tcp, "it-conf-listeners");
  cf_err *err = NULL;
  assert_int_equal(cf_garden_client_destroy(&server.unix_socket, "it-conf-listeners", &err), -1);
  assert_int_equal(err->code, CF_E_NOT_FOUND);
  cf_err_free(err);
}

/* --- JSON as Go writes and reads it --- */

/* Fails when value contains a number that is not a plain integer. */
static void assert_only_integers(const json_t *value, const char *where)
{
  if (json_is_real(value)) {
    fail_msg("%s: %g is not a plain integer", where, json_real_value(value));
  }
  if (json_is_object(value)) {
    const char *key;
    json_t *member;
    json_object_foreach((json_t *)value, key, member)
    {
      assert_only_integers(member, key);
    }
  } else if (json_is_array(value)) {
    size_t i;
    json_t *member;
    json_array_foreach(value, i, member)
    {
      assert_only_integers(member, where);
    }
  }
}

/* Fails unless the keys appear in text in this order. */
static void assert_key_order(const char *text, const char *const *keys, size_t count)
{
  const char *at = text;
  for (size_t i = 0; i < count; i++) {
    cf_autofree char *quoted = cf_xasprintf("\"%s\":", keys[i]);
    const char *found = strstr(at, quoted);
    if (found == NULL) {
      fail_msg("key %s missing or out of order in %s", keys[i], text);
    }
    at = found + strlen(quoted);
  }
}

static void test_json_keys_and_escapes(void **state)
{
  (void)state;
  /* Go's decoder matches keys case-insensitively. */
  reply r = call("POST", "/containers",
                 "{\"HANDLE\":\"it-conf-json\",\"Image\":{},\"Properties\":{\"k\":\"<a&b>\"},"
                 "\"Env\":[\"FROM_SPEC=1\"]}");
  assert_int_equal(r.status, 200);
  assert_string_equal(r.body, "{\"Handle\":\"it-conf-json\"}\n");
  reply_clear(&r);

  r = call("GET", "/containers/it-conf-json/properties/k", NULL);
  assert_string_equal(r.body, "{\"value\":\"\\u003ca\\u0026b\\u003e\"}\n");
  reply_clear(&r);

  r = call("GET", "/containers/it-conf-json/info", NULL);
  assert_int_equal(r.status, 200);
  static const char *const info_keys[] = {"State",       "Events",     "HostIP",
                                          "ContainerIP", "ExternalIP", "ContainerPath",
                                          "ProcessIDs",  "Properties", "MappedPorts"};
  assert_key_order(r.body, info_keys, sizeof(info_keys) / sizeof(info_keys[0]));
  reply_clear(&r);

  r = call("GET", "/containers/it-conf-json/metrics", NULL);
  assert_int_equal(r.status, 200);
  static const char *const metrics_keys[] = {
      "MemoryStat", "CPUStat", "DiskStat", "NetworkStat", "PidStat", "Age", "CPUEntitlement"};
  assert_key_order(r.body, metrics_keys, sizeof(metrics_keys) / sizeof(metrics_keys[0]));
  static const char *const memory_keys[] = {"active_anon",
                                            "active_file",
                                            "cache",
                                            "hierarchical_memory_limit",
                                            "inactive_anon",
                                            "inactive_file",
                                            "mapped_file",
                                            "pgfault",
                                            "pgmajfault",
                                            "pgpgin",
                                            "pgpgout",
                                            "rss",
                                            "total_active_anon",
                                            "total_active_file",
                                            "total_cache",
                                            "total_inactive_anon",
                                            "total_inactive_file",
                                            "total_mapped_file",
                                            "total_pgfault",
                                            "total_pgmajfault",
                                            "total_pgpgin",
                                            "total_pgpgout",
                                            "total_rss",
                                            "total_unevictable",
                                            "unevictable",
                                            "swap",
                                            "hierarchical_memsw_limit",
                                            "total_swap",
                                            "TotalUsageTowardLimit"};
  assert_key_order(r.body, memory_keys, sizeof(memory_keys) / sizeof(memory_keys[0]));
  static const char *const stat_keys[] = {"Usage",
                                          "User",
                                          "System",
                                          "TotalBytesUsed",
                                          "TotalInodesUsed",
                                          "ExclusiveBytesUsed",
                                          "ExclusiveInodesUsed"};
  assert_key_order(r.body, stat_keys, sizeof(stat_keys) / sizeof(stat_keys[0]));
  static const char *const pid_keys[] = {"Current", "Max"};
  assert_key_order(strstr(r.body, "\"PidStat\""), pid_keys, 2);
  json_t *metrics = parse_body(&r);
  assert_only_integers(metrics, "metrics");
  assert_true(json_integer_value(json_object_get(metrics, "Age")) > 0);
  json_t *network = json_object_get(metrics, "NetworkStat");
  assert_true(json_is_null(network) || json_is_object(network));
  json_decref(metrics);
  reply_clear(&r);

  r = call("GET", "/capacity", NULL);
  json_t *capacity = parse_body(&r);
  assert_only_integers(capacity, "capacity");
  static const char *const capacity_keys[] = {"memory_in_bytes", "disk_in_bytes",
                                              "schedulable_disk_in_bytes", "max_containers"};
  assert_key_order(r.body, capacity_keys, 4);
  json_decref(capacity);
  reply_clear(&r);

  cf_garden_process_result result = run_sh("it-conf-json", "echo $FROM_SPEC", NULL);
  assert_string_equal(out_text(&result), "1\n");
  cf_garden_process_result_clear(&result);
  destroy_container(&server.tcp, "it-conf-json");
}

static void test_bulk_routes_shapes(void **state)
{
  (void)state;
  create_container(&server.tcp, "it-conf-bulk", NULL);
  /* The Go server panics without the handles parameter. cfwin treats an
   * absent parameter like an empty one. */
  static const char *const empty_queries[] = {"", "?handles=", "?other=1"};
  for (size_t i = 0; i < 3; i++) {
    cf_autofree char *info_path = cf_xasprintf("/containers/bulk_info%s", empty_queries[i]);
    reply r = call("GET", info_path, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{}\n");
    reply_clear(&r);
    cf_autofree char *metrics_path = cf_xasprintf("/containers/bulk_metrics%s", empty_queries[i]);
    r = call("GET", metrics_path, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{}\n");
    reply_clear(&r);
  }

  reply r = call("GET", "/containers/bulk_info?handles=it-conf-bulk%2Cnope", NULL);
  assert_int_equal(r.status, 200);
  json_t *body = parse_body(&r);
  json_t *good = json_object_get(body, "it-conf-bulk");
  assert_true(json_is_null(json_object_get(good, "Err")));
  assert_string_equal(json_string_value(json_object_get(json_object_get(good, "Info"), "State")),
                      "active");
  json_t *bad = json_object_get(body, "nope");
  assert_string_equal(json_string_value(json_object_get(json_object_get(bad, "Info"), "State")),
                      "");
  json_t *err = json_object_get(bad, "Err");
  assert_true(json_is_object(err));
  assert_string_equal(json_string_value(json_object_get(err, "Message")), "unknown handle: nope");
  json_decref(body);
  reply_clear(&r);

  /* A handle that is not UTF-8 gets its entry under the U+FFFD key, as Go
   * encodes map keys. */
  static const char *const bad_utf8_paths[] = {"/containers/bulk_info?handles=%FF",
                                               "/containers/bulk_metrics?handles=%FF"};
  for (size_t i = 0; i < 2; i++) {
    r = call("GET", bad_utf8_paths[i], NULL);
    assert_int_equal(r.status, 200);
    body = parse_body(&r);
    assert_int_equal(json_object_size(body), 1);
    assert_true(json_is_object(json_object_get(json_object_get(body, "\xef\xbf\xbd"), "Err")));
    json_decref(body);
    reply_clear(&r);
  }

  r = call("GET", "/containers/bulk_metrics?handles=it-conf-bulk,nope", NULL);
  assert_int_equal(r.status, 200);
  body = parse_body(&r);
  good = json_object_get(body, "it-conf-bulk");
  assert_true(json_is_null(json_object_get(good, "Err")));
  assert_true(json_is_object(json_object_get(good, "Metrics")));
  assert_true(json_integer_value(json_object_get(json_object_get(good, "Metrics"), "Age")) > 0);
  assert_true(json_is_object(json_object_get(json_object_get(body, "nope"), "Err")));
  json_decref(body);
  reply_clear(&r);
  destroy_container(&server.tcp, "it-conf-bulk");
}

/* Limits not set at create read back as {}; a memory limit reads back as
 * given. */
static void test_limit_getters(void **state)
{
  (void)state;
  create_container(&server.tcp, "it-conf-limits", NULL);
  reply r = call("GET", "/containers/it-conf-limits/limits/disk", NULL);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.body, "{}\n");
  reply_clear(&r);
  r = call("GET", "/containers/it-conf-limits/limits/bandwidth", NULL);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.body, "{}\n");
  reply_clear(&r);
  destroy_container(&server.tcp, "it-conf-limits");

  create_container(&server.tcp, "it-conf-memory",
                   json_pack("{s:{s:{s:I}}}", "limits", "memory_limits", "limit_in_bytes",
                             (json_int_t)134217728));
  r = call("GET", "/containers/it-conf-memory/limits/memory", NULL);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.body, "{\"limit_in_bytes\":134217728}\n");
  reply_clear(&r);
  destroy_container(&server.tcp, "it-conf-memory");
}

/* --- Process framing through raw sockets --- */

static void test_request_written_byte_by_byte(void **state)
{
  (void)state;
  create_container(&server.tcp, "it-conf-bytes", NULL);
  control c;
  control_init(&c);
  c.fd = raw_connect(&server.tcp);
  cf_autofree char *spec = sh_spec("echo split-$((40 + 2)); exit 3");
  cf_autofree char *request = run_request("it-conf-bytes", spec);
  raw_write_bytewise(c.fd, request);
  control_begin(&c, 201);

  int out = raw_connect(&server.tcp);
  cf_autofree char *stdout_request =
      cf_xasprintf("GET /containers/it-conf-bytes/processes/%s/attaches/%s/stdout HTTP/1.1\r\n"
                   "Host: api\r\n\r\n",
                   c.process_id, c.stream_id);
  raw_write_bytewise(out, stdout_request);
  cf_buf initial;
  cf_buf_init(&initial, 1 << 20);
  cf_autofree char *head = read_head(out, &initial);
  assert_int_equal(status_of(head), 200);
  cf_autofree char *text = stream_text(out, &initial);
  assert_string_equal(text, "split-42\n");
  assert_int_equal(control_wait(&c), 3);
  control_clear(&c);

  /* An ordinary call written byte by byte. */
  int fd = raw_connect(&server.tcp);
  raw_write_bytewise(fd, "GET /containers/it-conf-bytes/properties HTTP/1.1\r\nHost: api\r\n"
                         "Connection: close\r\n\r\n");
  cf_buf all;
  cf_buf_init(&all, 1 << 20);
  assert_true(read_to_eof(fd, &all));
  close(fd);
  cf_buf_append(&all, "", 1, NULL);
  assert_non_null(strstr(all.data, "HTTP/1.1 200 OK\r\n"));
  cf_buf_free(&all);
  destroy_container(&server.tcp, "it-conf-bytes");
}

static void test_stdin_payloads_in_one_write(void **state)
{
  (void)state;
  create_container(&server.tcp, "it-conf-stdin", NULL);
  control c;
  cf_autofree char *spec = sh_spec("cat; echo done");
  control_run(&c, "it-conf-stdin", spec);
  cf_buf initial;
  cf_buf_init(&initial, 1 << 20);
  int out = open_stream("it-conf-stdin", &c, "stdout", &initial);
  cf_autofree char *batch =
      cf_xasprintf("{\"process_id\":\"%1$s\",\"source\":0,\"data\":\"one \"}\n"
                   "{\"process_id\":\"%1$s\",\"source\":0,\"data\":\"two \"}"
                   "{\"process_id\":\"%1$s\",\"source\":0,\"data\":\"three\\n\"}\n"
                   "{\"process_id\":\"%1$s\",\"source\":0}\n",
                   c.process_id);
  control_send(&c, batch);
  cf_autofree char *text = stream_text(out, &initial);
  assert_string_equal(text, "one two three\ndone\n");
  assert_int_equal(control_wait(&c), 0);
  control_clear(&c);
  destroy_container(&server.tcp, "it-conf-stdin");
}

/* A payload split at every byte, with \u escapes and a surrogate pair that
 * arrive in pieces. */
static void test_stdin_payload_split_in_escapes(void **state)
{
  (void)state;
  create_container(&server.tcp, "it-conf-split", NULL);
  control c;
  cf_autofree char *spec = sh_spec("cat");
  control_run(&c, "it-conf-split", spec);
  cf_buf initial;
  cf_buf_init(&initial, 1 << 20);
  int out = open_stream("it-conf-split", &c, "stdout", &initial);
  cf_autofree char *payloads = cf_xasprintf(
      "{\"process_id\":\"%1$s\",\"source\":0,\"data\":\"caf\\u00e9 \\ud83d\\ude00 \\u003c\\u0026"
      "\\u003e \\\"q\\\"\\n\"}\n{\"process_id\":\"%1$s\",\"source\":0}\n",
      c.process_id);
  raw_write_bytewise(c.fd, payloads);
  cf_autofree char *text = stream_text(out, &initial);
  assert_string_equal(text, "caf\xc3\xa9 \xf0\x9f\x98\x80 <&> \"q\"\n");
  assert_int_equal(control_wait(&c), 0);
  control_clear(&c);
  destroy_container(&server.tcp, "it-conf-split");
}

/* stdin payloads that arrive in the same write as the POST, before the
 * server has replied. */
static void test_bytes_after_post_body(void **state)
{
  (void)state;
  create_container(&server.tcp, "it-conf-after", NULL);
  control c;
  control_init(&c);
  c.fd = raw_connect(&server.tcp);
  cf_autofree char *spec = sh_spec("cat");
  cf_autofree char *request = run_request("it-conf-after", spec);
  /* The process id is not known yet; the Go server ignores it on input. */
  cf_autofree char *everything =
      cf_xasprintf("%s{\"source\":0,\"data\":\"early \"}\n{\"source\":0,\"data\":\"bytes\\n\"}"
                   "{\"source\":0}\n",
                   request);
  raw_write_str(c.fd, everything);
  control_begin(&c, 201);
  cf_buf initial;
  cf_buf_init(&initial, 1 << 20);
  int out = open_stream("it-conf-after", &c, "stdout", &initial);
  cf_autofree char *text = stream_text(out, &initial);
  assert_string_equal(text, "early bytes\n");
  assert_int_equal(control_wait(&c), 0);
  control_clear(&c);
  destroy_container(&server.tcp, "it-conf-after");
}

/* Closes fd with a TCP reset, as a client that crashes does. */
static void close_abruptly(int fd)
{
  struct linger linger = {.l_onoff = 1, .l_linger = 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, sizeof(linger));
  close(fd);
}

static void assert_server_healthy(void)
{
  assert_int_equal(cf_garden_client_ping(&server.tcp, NULL), 0);
  assert_int_equal(cf_garden_client_ping(&server.unix_socket, NULL), 0);
}

static void test_client_vanishes_mid_request(void **state)
{
  (void)state;
  static const char *const partial[] = {
      "GET /pi",
      "GET /ping HTTP/1.1\r\nHost: a",
      "POST /containers HTTP/1.1\r\nHost: api\r\nContent-Length: 100\r\n\r\n{\"handle\":",
      "PUT /containers/x/properties/k HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"va",
  };
  for (size_t i = 0; i < sizeof(partial) / sizeof(partial[0]); i++) {
    int fd = raw_connect(&server.tcp);
    raw_write_str(fd, partial[i]);
    if (i % 2 == 0) {
      close_abruptly(fd);
    } else {
      close(fd);
    }
  }
  /* A client that sends a request and leaves before reading the reply. */
  for (int i = 0; i < 20; i++) {
    int fd = raw_connect(i % 2 == 0 ? &server.tcp : &server.unix_socket);
    raw_write_str(fd, "GET /capacity HTTP/1.1\r\nHost: api\r\n\r\n");
    close_abruptly(fd);
  }
  assert_server_healthy();
  reply r = call("GET", "/containers?garden.state=all", NULL);
  assert_string_equal(r.body, "{\"Handles\":[]}\n");
  reply_clear(&r);
}

/* Both the control and the stdout connection reset while a process writes:
 * the process keeps running, the server stays healthy, and a new Attach by
 * process id gets the exit status. */
static void test_client_vanishes_mid_stream(void **state)
{
  (void)state;
  create_container(&server.tcp, "it-conf-vanish", NULL);
  control c;
  cf_autofree char *spec = sh_spec("i=0; while [ $i -lt 20000 ]; do echo line-$i; i=$((i + 1)); "
                                   "done; exit 7");
  control_run(&c, "it-conf-vanish", spec);
  cf_buf initial;
  cf_buf_init(&initial, 1 << 20);
  int out = open_stream("it-conf-vanish", &c, "stdout", &initial);
  char chunk[512];
  while (initial.len == 0) {
    ssize_t n = read(out, chunk, sizeof(chunk));
    assert_true(n > 0);
    cf_buf_append(&initial, chunk, (size_t)n, NULL);
  }
  assert_memory_equal(initial.data, "line-0\n", initial.len < 7 ? initial.len : 7);
  cf_buf_free(&initial);
  close_abruptly(out);
  close_abruptly(c.fd);
  c.fd = -1;
  assert_server_healthy();

  control again;
  control_attach(&again, "it-conf-vanish", c.process_id);
  assert_string_equal(again.process_id, c.process_id);
  assert_string_not_equal(again.stream_id, c.stream_id);
  assert_int_equal(control_wait(&again), 7);
  control_clear(&again);

  /* A vanished client of a process that never ends: destroy still removes
   * it, which the leak check after the test confirms. */
  control sleeper;
  cf_autofree char *sleep_spec = sh_spec("echo ready; exec sleep 1000");
  control_run(&sleeper, "it-conf-vanish", sleep_spec);
  cf_buf_init(&initial, 1 << 20);
  out = open_stream("it-conf-vanish", &sleeper, "stdout", &initial);
  while (initial.data == NULL || memmem(initial.data, initial.len, "ready\n", 6) == NULL) {
    ssize_t n = read(out, chunk, sizeof(chunk));
    assert_true(n > 0);
    cf_buf_append(&initial, chunk, (size_t)n, NULL);
  }
  cf_buf_free(&initial);
  close_abruptly(out);
  close_abruptly(sleeper.fd);
  sleeper.fd = -1;
  assert_server_healthy();
  json_t *info = NULL;
  assert_int_equal(cf_garden_client_call(&server.tcp, "GET", "/containers/it-conf-vanish/info",
                                         NULL, &info, NULL),
                   0);
  json_t *ids = json_object_get(info, "ProcessIDs");
  bool listed = false;
  size_t i;
  json_t *id;
  json_array_foreach(ids, i, id)
  {
    listed = listed || strcmp(json_string_value(id), sleeper.process_id) == 0;
  }
  assert_true(listed);
  json_decref(info);
  control_clear(&sleeper);
  control_clear(&c);
  destroy_container(&server.tcp, "it-conf-vanish");
  assert_server_healthy();
}

struct stream_job {
  const char *handle;
  int index;
  int exit_status;
  char *out;
  char *err;
  char *failure;
};

static void *run_stream_job(void *arg)
{
  struct stream_job *job = arg;
  cf_autofree char *script = cf_xasprintf("echo out-%d; echo err-%d >&2; echo more-%d; exit %d",
                                          job->index, job->index, job->index, job->index % 250);
  json_t *spec = json_pack("{s:s, s:[s, s], s:{}, s:{}}", "path", "sh", "args", "-c", script,
                           "rlimits", "image");
  cf_garden_process_result result;
  cf_garden_process_result_init(&result);
  cf_err *err = NULL;
  const cf_garden_client *client = job->index % 2 == 0 ? &server.tcp : &server.unix_socket;
  if (cf_garden_client_run(client, job->handle, spec, NULL, 0, &result, &err) < 0) {
    job->failure = cf_xstrdup(err->message);
    cf_err_free(err);
  } else {
    job->exit_status = result.exit_status;
    job->out = cf_xstrndup(result.out.data != NULL ? result.out.data : "", result.out.len);
    job->err = cf_xstrndup(result.err.data != NULL ? result.err.data : "", result.err.len);
  }
  json_decref(spec);
  cf_garden_process_result_clear(&result);
  return NULL;
}

static void test_two_hundred_concurrent_streams(void **state)
{
  (void)state;
  enum { JOBS = 200 };
  const char *handles[] = {"it-conf-many-a", "it-conf-many-b"};
  create_container(&server.tcp, handles[0], NULL);
  create_container(&server.tcp, handles[1], NULL);
  struct stream_job *jobs = cf_xcalloc(JOBS, sizeof(*jobs));
  pthread_t threads[JOBS];
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 512 * 1024);
  for (int i = 0; i < JOBS; i++) {
    jobs[i] = (struct stream_job){.handle = handles[i % 2], .index = i, .exit_status = -1};
    assert_int_equal(pthread_create(&threads[i], &attr, run_stream_job, &jobs[i]), 0);
  }
  pthread_attr_destroy(&attr);
  for (int i = 0; i < JOBS; i++) {
    pthread_join(threads[i], NULL);
  }
  for (int i = 0; i < JOBS; i++) {
    if (jobs[i].failure != NULL) {
      fail_msg("process %d: %s", i, jobs[i].failure);
    }
    cf_autofree char *expected_out = cf_xasprintf("out-%d\nmore-%d\n", i, i);
    cf_autofree char *expected_err = cf_xasprintf("err-%d\n", i);
    assert_string_equal(jobs[i].out, expected_out);
    assert_string_equal(jobs[i].err, expected_err);
    assert_int_equal(jobs[i].exit_status, i % 250);
    free(jobs[i].out);
    free(jobs[i].err);
  }
  free(jobs);
  assert_server_healthy();
  destroy_container(&server.tcp, handles[0]);
  destroy_container(&server.tcp, handles[1]);
}

/* --- Process behaviour the integration suite checks --- */

static void test_attachers_all_get_exit_status(void **state)
{
  (void)state;
  enum { ATTACHERS = 6 };
  create_container(&server.tcp, "it-conf-attach", NULL);
  control runner;
  cf_autofree char *spec = sh_spec("read line; echo got-$line; echo oops >&2; exit 12");
  control_run(&runner, "it-conf-attach", spec);
  control attachers[ATTACHERS];
  int outs[ATTACHERS];
  int errs[ATTACHERS];
  cf_buf out_initial[ATTACHERS];
  cf_buf err_initial[ATTACHERS];
  for (int i = 0; i < ATTACHERS; i++) {
    control_attach(&attachers[i], "it-conf-attach", runner.process_id);
    assert_string_equal(attachers[i].process_id, runner.process_id);
    for (int j = 0; j < i; j++) {
      assert_string_not_equal(attachers[i].stream_id, attachers[j].stream_id);
    }
    cf_buf_init(&out_initial[i], 1 << 20);
    cf_buf_init(&err_initial[i], 1 << 20);
    outs[i] = open_stream("it-conf-attach", &attachers[i], "stdout", &out_initial[i]);
    errs[i] = open_stream("it-conf-attach", &attachers[i], "stderr", &err_initial[i]);
  }
  cf_autofree char *go =
      cf_xasprintf("{\"process_id\":\"%s\",\"source\":0,\"data\":\"go\\n\"}\n", runner.process_id);
  control_send(&runner, go);
  assert_int_equal(control_wait(&runner), 12);
  for (int i = 0; i < ATTACHERS; i++) {
    assert_int_equal(control_wait(&attachers[i]), 12);
    cf_autofree char *out = stream_text(outs[i], &out_initial[i]);
    cf_autofree char *err = stream_text(errs[i], &err_initial[i]);
    assert_string_equal(out, "got-go\n");
    assert_string_equal(err, "oops\n");
    control_clear(&attachers[i]);
  }
  /* The exit status can be read again after the process has gone. */
  for (int round = 0; round < 2; round++) {
    control late;
    control_attach(&late, "it-conf-attach", runner.process_id);
    assert_int_equal(control_wait(&late), 12);
    control_clear(&late);
  }
  control_clear(&runner);
  destroy_container(&server.tcp, "it-conf-attach");
}

static void test_process_id_and_duplicates(void **state)
{
  (void)state;
  create_container(&server.tcp, "it-conf-pid", NULL);
  const char *spec = "{\"id\":\"it-conf-given-id\",\"path\":\"cat\",\"user\":\"root\","
                     "\"rlimits\":{},\"image\":{}}";
  control first;
  control_run(&first, "it-conf-pid", spec);
  assert_string_equal(first.process_id, "it-conf-given-id");

  cf_autofree char *request = run_request("it-conf-pid", spec);
  reply r = exchange_on(&server.tcp, request);
  assert_int_equal(r.status, 500);
  json_t *envelope = parse_body(&r);
  const char *message = json_string_value(json_object_get(envelope, "Message"));
  assert_non_null(message);
  assert_true(strstr(message, "already in use") != NULL || strstr(message, "already exists"));
  json_decref(envelope);
  reply_clear(&r);

  cf_autofree char *close_stdin =
      cf_xasprintf("{\"process_id\":\"%s\",\"source\":0}\n", first.process_id);
  control_send(&first, close_stdin);
  assert_int_equal(control_wait(&first), 0);
  control_clear(&first);

  /* Without an id the server makes a new one for every Run. */
  cf_garden_process_result a = run_sh("it-conf-pid", "true", NULL);
  cf_garden_process_result b = run_sh("it-conf-pid", "true", NULL);
  assert_true(strlen(a.process_id) > 0);
  assert_string_not_equal(a.process_id, b.process_id);
  cf_garden_process_result_clear(&a);
  cf_garden_process_result_clear(&b);
  destroy_container(&server.tcp, "it-conf-pid");
}

static void test_process_environment_merged(void **state)
{
  (void)state;
  create_container(&server.tcp, "it-conf-env",
                   json_pack("{s:[s, s]}", "env", "CONTAINER_ENV=1", "SHARED=container"));
  json_t *spec = json_pack("{s:s, s:[s, s], s:[s, s, s], s:{}, s:{}}", "path", "sh", "args", "-c",
                           "env; echo shared=$SHARED", "env", "TEST=hello", "FRUIT=banana",
                           "SHARED=process", "rlimits", "image");
  cf_garden_process_result result;
  cf_garden_process_result_init(&result);
  assert_int_equal(cf_garden_client_run(&server.tcp, "it-conf-env", spec, NULL, 0, &result, NULL),
                   0);
  json_decref(spec);
  const char *text = out_text(&result);
  /* The container's variables come first, then the process's. */
  const char *container_env = strstr(text, "CONTAINER_ENV=1\n");
  const char *test = strstr(text, "TEST=hello\n");
  const char *fruit = strstr(text, "FRUIT=banana\n");
  assert_non_null(container_env);
  assert_non_null(test);
  assert_non_null(fruit);
  assert_true(container_env < test);
  assert_true(test < fruit);
  /* A variable that both set has the process's value. */
  assert_non_null(strstr(text, "\nshared=process\n"));
  cf_garden_process_result_clear(&result);
  destroy_container(&server.tcp, "it-conf-env");
}

static void test_process_user_and_directory(void **state)
{
  (void)state;
  create_container(&server.tcp, "it-conf-dir", NULL);
  json_t *spec = json_pack("{s:s, s:[s, s], s:s, s:{}, s:{}}", "path", "sh", "args", "-c",
                           "pwd; id -u; id -g", "dir", "/tmp", "rlimits", "image");
  cf_garden_process_result result;
  cf_garden_process_result_init(&result);
  assert_int_equal(cf_garden_client_run(&server.tcp, "it-conf-dir", spec, NULL, 0, &result, NULL),
                   0);
  json_decref(spec);
  assert_string_equal(out_text(&result), "/tmp\n0\n0\n");
  cf_garden_process_result_clear(&result);

  spec = json_pack("{s:s, s:s, s:s, s:{}, s:{}}", "path", "pwd", "dir", "/tmp/made/by/run", "user",
                   "root", "rlimits", "image");
  cf_garden_process_result_init(&result);
  assert_int_equal(cf_garden_client_run(&server.tcp, "it-conf-dir", spec, NULL, 0, &result, NULL),
                   0);
  json_decref(spec);
  assert_int_equal(result.exit_status, 0);
  assert_string_equal(out_text(&result), "/tmp/made/by/run\n");
  cf_garden_process_result_clear(&result);

  destroy_container(&server.tcp, "it-conf-dir");
}

/* Runs `sh -c script` as user, in dir when dir is not NULL. */
static cf_garden_process_result run_as(const char *handle, const char *user, const char *dir,
                                       const char *script)
{
  json_t *spec = json_pack("{s:s, s:[s, s], s:s, s:{}, s:{}}", "path", "sh", "args", "-c", script,
                           "user", user, "rlimits", "image");
  if (dir != NULL) {
    json_object_set_new(spec, "dir", json_string(dir));
  }
  cf_garden_process_result result;
  cf_garden_process_result_init(&result);
  cf_err *err = NULL;
  int rc = cf_garden_client_run(&server.tcp, handle, spec, NULL, 0, &result, &err);
  json_decref(spec);
  if (rc < 0) {
    fail_msg("run %s as %s: %s", script, user, err->message);
  }
  return result;
}

/* The integration suite makes its user with busybox `adduser -D` as root,
 * then runs processes as that user by name, or as a bare uid:gid. Debian's
 * busybox-static has no adduser applet, so the test writes the same
 * entries and home directory itself. */
static void test_process_users(void **state)
{
  (void)state;
  create_container(&server.tcp, "it-conf-users", NULL);
  cf_garden_process_result result =
      run_as("it-conf-users", "root", NULL,
             "echo alice:x:1000:1000::/home/alice:/bin/sh >>/etc/passwd && "
             "echo alice:x:1000: >>/etc/group && echo staff:x:50: >>/etc/group && "
             "mkdir -p /home/alice && "
             "chown 1000:1000 /home/alice");
  assert_int_equal(result.exit_status, 0);
  cf_garden_process_result_clear(&result);

  result = run_as("it-conf-users", "alice", NULL, "whoami; pwd");
  assert_int_equal(result.exit_status, 0);
  assert_string_equal(out_text(&result), "alice\n/home/alice\n");
  cf_garden_process_result_clear(&result);

  result = run_as("it-conf-users", "alice", "/home/alice/made", "pwd; stat -c %U .");
  assert_int_equal(result.exit_status, 0);
  assert_string_equal(out_text(&result), "/home/alice/made\nalice\n");
  cf_garden_process_result_clear(&result);

  result = run_as("it-conf-users", "alice:staff", NULL, "id -u; id -g");
  assert_int_equal(result.exit_status, 0);
  assert_string_equal(out_text(&result), "1000\n50\n");
  cf_garden_process_result_clear(&result);

  result = run_as("it-conf-users", "1001:1002", "/tmp", "id -u; id -g");
  assert_int_equal(result.exit_status, 0);
  assert_string_equal(out_text(&result), "1001\n1002\n");
  cf_garden_process_result_clear(&result);
  destroy_container(&server.tcp, "it-conf-users");
}

/* The container as the integration suite's devices, lifecycle, masked
 * paths and security specs see it from inside, for what the busybox image
 * lets a test check. Expected values are the suite's. */
static void test_container_devices_and_mounts(void **state)
{
  (void)state;
  create_container(&server.tcp, "it-conf-inside", NULL);
  cf_garden_process_result result =
      run_as("it-conf-inside", "root", NULL,
             "for d in tty random urandom null zero full pts/ptmx; do "
             "echo \"$d $(stat -c %t,%T /dev/$d)\"; done; "
             "for l in fd stdin stdout stderr; do echo \"$l $(readlink /dev/$l)\"; done");
  assert_int_equal(result.exit_status, 0);
  assert_string_equal(out_text(&result), "tty 5,0\nrandom 1,8\nurandom 1,9\nnull 1,3\nzero 1,5\n"
                                         "full 1,7\npts/ptmx 5,2\nfd /proc/self/fd\n"
                                         "stdin /proc/self/fd/0\nstdout /proc/self/fd/1\n"
                                         "stderr /proc/self/fd/2\n");
  cf_garden_process_result_clear(&result);

  result = run_as("it-conf-inside", "root", NULL,
                  "grep -E '^tmpfs /dev/shm |^sysfs /sys ' /proc/mounts; stat -c %a /tmp; "
                  "ls /proc/self/fd | tr '\\n' ' '; echo; "
                  "stat -c '%F %t,%T' /proc/timer_list /proc/keys; "
                  "grep -E '^(CapEff|CapBnd|Seccomp):' /proc/self/status; "
                  "[ -e /proc/latency_stats ] || echo no-latency-stats");
  assert_int_equal(result.exit_status, 0);
  assert_string_equal(out_text(&result),
                      "tmpfs /dev/shm tmpfs rw,nosuid,nodev,noexec,relatime 0 0\n"
                      "sysfs /sys sysfs ro,nosuid,nodev,noexec,relatime 0 0\n"
                      "1777\n0 1 2 3 \n"
                      "character special file 1,3\ncharacter special file 1,3\n"
                      "CapEff:\t00000000a80425fb\nCapBnd:\t00000000a80425fb\nSeccomp:\t2\n"
                      "no-latency-stats\n");
  cf_garden_process_result_clear(&result);

  /* /dev/stdin, /dev/stdout and /dev/stderr by name, and root's home and
   * variables by default. */
  result = run_sh("it-conf-inside",
                  "echo out >/dev/stdout; echo err >/dev/stderr; "
                  "echo in | cat /dev/stdin; pwd; echo $HOME $USER",
                  NULL);
  assert_int_equal(result.exit_status, 0);
  assert_string_equal(out_text(&result), "out\nin\n/root\n/root root\n");
  assert_string_equal(result.err.data, "err\n");
  cf_garden_process_result_clear(&result);
  destroy_container(&server.tcp, "it-conf-inside");

  /* A privileged container gets /proc read-write and /sys still read-only. */
  create_container(&server.tcp, "it-conf-privileged", json_pack("{s:b}", "privileged", 1));
  result = run_as("it-conf-privileged", "root", NULL,
                  "grep -E '^proc /proc |^sysfs /sys ' /proc/mounts");
  assert_int_equal(result.exit_status, 0);
  assert_string_equal(out_text(&result), "proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0\n"
                                         "sysfs /sys sysfs ro,nosuid,nodev,noexec,relatime 0 0\n");
  cf_garden_process_result_clear(&result);
  destroy_container(&server.tcp, "it-conf-privileged");
}

/* A handle longer than 49 characters names the host after its last 49. */
static void test_long_handle_hostname(void **state)
{
  (void)state;
  const char *handle = "it-conf-a-handle-that-is-longer-than-forty-nine-characters";
  create_container(&server.tcp, handle, NULL);
  cf_garden_process_result result = run_sh(handle, "hostname", NULL);
  cf_autofree char *expected = cf_xasprintf("%s\n", handle + strlen(handle) - 49);
  assert_string_equal(out_text(&result), expected);
  cf_garden_process_result_clear(&result);
  destroy_container(&server.tcp, handle);
}

static json_t *metrics_of(const char *handle)
{
  cf_autofree char *path = cf_xasprintf("/containers/%s/metrics", handle);
  reply r = call("GET", path, NULL);
  assert_int_equal(r.status, 200);
  json_t *metrics = parse_body(&r);
  reply_clear(&r);
  return metrics;
}

static long long stat_of(const json_t *metrics, const char *group, const char *key)
{
  json_t *value = json_object_get(json_object_get(metrics, group), key);
  if (!json_is_integer(value)) {
    fail_msg("metrics lack %s.%s", group, key);
  }
  return json_integer_value(value);
}

/* The suite's memory and pid limit cases: 58 MiB of tmpfs under a 64 MiB
 * limit, the metrics of a container that has done work, and a pid limit of
 * 0 meaning none. */
static void test_metrics_and_limits(void **state)
{
  (void)state;
  create_container(&server.tcp, "it-conf-metrics",
                   json_pack("{s:{s:{s:I}, s:{s:i}}}", "limits", "memory_limits", "limit_in_bytes",
                             (json_int_t)64 * 1024 * 1024, "pid_limits", "max", 128));
  cf_garden_process_result result = run_sh(
      "it-conf-metrics",
      "dd if=/dev/zero of=/dev/shm/fill bs=1048576 count=58 2>/dev/null && echo written", NULL);
  assert_int_equal(result.exit_status, 0);
  assert_string_equal(out_text(&result), "written\n");
  cf_garden_process_result_clear(&result);

  json_t *metrics = metrics_of("it-conf-metrics");
  assert_true(stat_of(metrics, "CPUStat", "Usage") > 0);
  assert_true(stat_of(metrics, "MemoryStat", "TotalUsageTowardLimit") > 0);
  assert_true(stat_of(metrics, "PidStat", "Current") > 0);
  assert_int_equal(stat_of(metrics, "PidStat", "Max"), 128);
  json_decref(metrics);

  reply r = call("GET", "/containers/bulk_metrics?handles=it-conf-metrics", NULL);
  json_t *bulk = parse_body(&r);
  json_t *entry = json_object_get(json_object_get(bulk, "it-conf-metrics"), "Metrics");
  assert_true(stat_of(entry, "MemoryStat", "TotalUsageTowardLimit") > 0);
  json_decref(bulk);
  reply_clear(&r);
  destroy_container(&server.tcp, "it-conf-metrics");

  create_container(&server.tcp, "it-conf-no-pid-limit",
                   json_pack("{s:{s:{s:i}}}", "limits", "pid_limits", "max", 0));
  result = run_sh("it-conf-no-pid-limit",
                  "for i in 1 2 3 4 5 6 7 8; do sleep 0.1 & done; wait; echo forked", NULL);
  assert_int_equal(result.exit_status, 0);
  assert_string_equal(out_text(&result), "forked\n");
  cf_garden_process_result_clear(&result);
  metrics = metrics_of("it-conf-no-pid-limit");
  assert_int_equal(stat_of(metrics, "PidStat", "Max"), 0);
  json_decref(metrics);
  destroy_container(&server.tcp, "it-conf-no-pid-limit");
}

/* Runs `sh -c script` with a terminal; tty is the ProcessSpec's tty object
 * (stolen). */
static cf_garden_process_result run_tty(const char *handle, const char *script, json_t *tty)
{
  json_t *spec = json_pack("{s:s, s:[s, s], s:s, s:{}, s:{}, s:o}", "path", "sh", "args", "-c",
                           script, "user", "root", "rlimits", "image", "tty", tty);
  cf_garden_process_result result;
  cf_garden_process_result_init(&result);
  cf_err *err = NULL;
  int rc = cf_garden_client_run(&server.tcp, handle, spec, NULL, 0, &result, &err);
  json_decref(spec);
  if (rc < 0) {
    fail_msg("run %s with a terminal: %s", script, err->message);
  }
  return result;
}

/* A terminal of the default size, onlcr, and the whole output of a process
 * that exits at once after writing it. */
static void test_tty_processes(void **state)
{
  (void)state;
  create_container(&server.tcp, "it-conf-tty", NULL);
  cf_garden_process_result result = run_tty("it-conf-tty", "stty size; exit 3", json_object());
  assert_int_equal(result.exit_status, 3);
  assert_string_equal(out_text(&result), "24 80\r\n");
  cf_garden_process_result_clear(&result);

  cf_buf expected;
  cf_buf_init(&expected, 1 << 20);
  for (int i = 1; i <= 10000; i++) {
    cf_buf_printf(&expected, NULL, i == 1 ? "%d" : " %d", i);
  }
  cf_buf_append(&expected, "\r\n", 3, NULL);
  for (int round = 0; round < 20; round++) {
    result = run_tty("it-conf-tty", "seq -s ' ' 10000", json_object());
    assert_int_equal(result.exit_status, 0);
    assert_int_equal(result.out.len, expected.len - 1);
    assert_string_equal(out_text(&result), expected.data);
    cf_garden_process_result_clear(&result);
  }
  cf_buf_free(&expected);
  destroy_container(&server.tcp, "it-conf-tty");
}

/* Writes a tar stream of one regular file into out (at most size bytes)
 * and returns its length. */
static size_t one_file_tar(const char *name, const char *content, char *out, size_t size)
{
  struct archive *tar = archive_write_new();
  assert_int_equal(archive_write_set_format_pax_restricted(tar), ARCHIVE_OK);
  size_t used = 0;
  assert_int_equal(archive_write_open_memory(tar, out, size, &used), ARCHIVE_OK);
  struct archive_entry *entry = archive_entry_new();
  archive_entry_set_pathname(entry, name);
  archive_entry_set_filetype(entry, AE_IFREG);
  archive_entry_set_perm(entry, 0644);
  archive_entry_set_size(entry, (la_int64_t)strlen(content));
  assert_int_equal(archive_write_header(tar, entry), ARCHIVE_OK);
  assert_int_equal(archive_write_data(tar, content, strlen(content)), (la_ssize_t)strlen(content));
  archive_entry_free(entry);
  assert_int_equal(archive_write_close(tar), ARCHIVE_OK);
  archive_write_free(tar);
  return used;
}

/* Streams a one-file tar into handle at destination (URL-escaped) as root. */
static void stream_in_file(const char *handle, const char *destination, const char *name,
                           const char *content)
{
  static char tar[64 * 1024];
  size_t tar_len = one_file_tar(name, content, tar, sizeof(tar));
  cf_autofree char *head =
      cf_xasprintf("PUT /containers/%s/files?destination=%s&user= HTTP/1.1\r\nHost: api\r\n"
                   "Connection: close\r\nContent-Type: application/x-tar\r\n"
                   "Content-Length: %zu\r\n\r\n",
                   handle, destination, tar_len);
  cf_buf request;
  cf_buf_init(&request, 1 << 20);
  cf_buf_append(&request, head, strlen(head), NULL);
  cf_buf_append(&request, tar, tar_len, NULL);
  cf_garden_response response;
  cf_garden_response_init(&response);
  cf_err *err = NULL;
  if (cf_garden_client_exchange(&server.tcp, request.data, request.len, &response, &err) < 0) {
    fail_msg("stream in to %s: %s", handle, err->message);
  }
  if (response.status != 200) {
    fail_msg("stream in to %s at %s: %d %.*s", handle, destination, response.status,
             (int)response.body.len, response.body.data);
  }
  cf_garden_response_clear(&response);
  cf_buf_free(&request);
}

/* StreamIn to "/" and, in a privileged container, to a destination
 * relative to root's home. */
static void test_stream_in_destinations(void **state)
{
  (void)state;
  create_container(&server.tcp, "it-conf-files", NULL);
  stream_in_file("it-conf-files", "%2F", "conf-root-file", "at the root\n");
  cf_garden_process_result result = run_sh("it-conf-files", "cat /conf-root-file", NULL);
  assert_int_equal(result.exit_status, 0);
  assert_string_equal(out_text(&result), "at the root\n");
  cf_garden_process_result_clear(&result);
  destroy_container(&server.tcp, "it-conf-files");

  create_container(&server.tcp, "it-conf-files-privileged", json_pack("{s:b}", "privileged", 1));
  stream_in_file("it-conf-files-privileged", ".", "conf-relative", "in root's home\n");
  result = run_sh("it-conf-files-privileged", "cat /root/conf-relative", NULL);
  assert_int_equal(result.exit_status, 0);
  assert_string_equal(out_text(&result), "in root's home\n");
  cf_garden_process_result_clear(&result);
  destroy_container(&server.tcp, "it-conf-files-privileged");
}

/* Wait returns when the process has exited even though a background child
 * it started still holds its stdout open. */
static void test_wait_ignores_background_child(void **state)
{
  (void)state;
  create_container(&server.tcp, "it-conf-orphan", NULL);
  cf_garden_process_result result =
      run_sh("it-conf-orphan", "sleep 1000 & echo started; exit 4", NULL);
  assert_int_equal(result.exit_status, 4);
  assert_string_equal(out_text(&result), "started\n");
  cf_garden_process_result_clear(&result);
  destroy_container(&server.tcp, "it-conf-orphan");
}

/* The security and users specs that the busybox image can check: host
 * files stay out of reach, root can write its home, a non-root process has
 * no effective capabilities, a privileged container has no cgroup mounts,
 * and a rootfs without /etc/passwd still runs root but not other users. */
static void test_security_defaults(void **state)
{
  (void)state;
  create_container(&server.tcp, "it-conf-secure", NULL);
  cf_garden_process_result result =
      run_as("it-conf-secure", "root", NULL,
             "echo x >/proc/sysrq-trigger 2>/dev/null || echo sysrq-denied; "
             "touch /root/written && echo root-writable");
  assert_int_equal(result.exit_status, 0);
  assert_string_equal(out_text(&result), "sysrq-denied\nroot-writable\n");
  cf_garden_process_result_clear(&result);

  result =
      run_as("it-conf-secure", "1001:1002", "/tmp", "grep -E '^Cap(Eff|Bnd):' /proc/self/status");
  assert_int_equal(result.exit_status, 0);
  assert_string_equal(out_text(&result), "CapEff:\t0000000000000000\nCapBnd:\t00000000a80425fb\n");
  cf_garden_process_result_clear(&result);

  result = run_as("it-conf-secure", "root", NULL, "rm /etc/passwd");
  assert_int_equal(result.exit_status, 0);
  cf_garden_process_result_clear(&result);
  result = run_as("it-conf-secure", "root", NULL, "id -u");
  assert_string_equal(out_text(&result), "0\n");
  cf_garden_process_result_clear(&result);
  json_t *spec = json_pack("{s:s, s:s, s:{}, s:{}}", "path", "true", "user", "invalid-user",
                           "rlimits", "image");
  cf_err *err = NULL;
  cf_garden_process_result_init(&result);
  assert_int_equal(
      cf_garden_client_run(&server.tcp, "it-conf-secure", spec, NULL, 0, &result, &err), -1);
  assert_non_null(
      strstr(err->message, "unable to find user invalid-user: no matching entries in passwd file"));
  cf_err_free(err);
  json_decref(spec);
  cf_garden_process_result_clear(&result);
  destroy_container(&server.tcp, "it-conf-secure");

  create_container(&server.tcp, "it-conf-secure-privileged", json_pack("{s:b}", "privileged", 1));
  result = run_as("it-conf-secure-privileged", "root", NULL,
                  "touch /root/written && echo root-writable; grep -c cgroup /proc/mounts");
  assert_string_equal(out_text(&result), "root-writable\n0\n");
  cf_garden_process_result_clear(&result);
  destroy_container(&server.tcp, "it-conf-secure-privileged");
}

static void test_signals_in_stream(void **state)
{
  (void)state;
  create_container(&server.tcp, "it-conf-signal", NULL);
  /* TERM once, then KILL 20 times: the suite's race check runs and kills
   * 20 processes in turn. No stdout or stderr stream is opened, as in its
   * "process that does not use streaming" case. */
  struct {
    int signal;
    int exit_status;
  } cases[21] = {{0, 143}};
  for (size_t i = 1; i < 21; i++) {
    cases[i].signal = 1;
    cases[i].exit_status = 137;
  }
  for (size_t i = 0; i < 21; i++) {
    control c;
    cf_autofree char *spec = sh_spec("exec sleep 1000");
    control_run(&c, "it-conf-signal", spec);
    /* Sent at once after the first payload, as the integration suite's
     * "SIGTERM immediately after having been started" does. */
    cf_autofree char *payload =
        cf_xasprintf("{\"process_id\":\"%s\",\"signal\":%d}\n", c.process_id, cases[i].signal);
    control_send(&c, payload);
    assert_int_equal(control_wait(&c), cases[i].exit_status);
    control_clear(&c);
  }
  /* A process that traps TERM decides its own exit status. */
  control c;
  cf_autofree char *spec =
      sh_spec("trap 'echo terminated; exit 42' TERM; echo waiting; while true; do sleep 1; done");
  control_run(&c, "it-conf-signal", spec);
  cf_buf initial;
  cf_buf_init(&initial, 1 << 20);
  int out = open_stream("it-conf-signal", &c, "stdout", &initial);
  char chunk[256];
  while (initial.data == NULL || memmem(initial.data, initial.len, "waiting\n", 8) == NULL) {
    ssize_t n = read(out, chunk, sizeof(chunk));
    assert_true(n > 0);
    cf_buf_append(&initial, chunk, (size_t)n, NULL);
  }
  cf_autofree char *term = cf_xasprintf("{\"process_id\":\"%s\",\"signal\":0}\n", c.process_id);
  control_send(&c, term);
  cf_autofree char *text = stream_text(out, &initial);
  assert_string_equal(text, "waiting\nterminated\n");
  assert_int_equal(control_wait(&c), 42);
  control_clear(&c);
  destroy_container(&server.tcp, "it-conf-signal");
}

static void test_quick_exits_keep_output(void **state)
{
  (void)state;
  create_container(&server.tcp, "it-conf-quick", NULL);
  for (int i = 0; i < 100; i++) {
    cf_autofree char *script = cf_xasprintf("echo quick-%d", i);
    cf_garden_process_result result = run_sh("it-conf-quick", script, NULL);
    cf_autofree char *expected = cf_xasprintf("quick-%d\n", i);
    assert_string_equal(out_text(&result), expected);
    assert_int_equal(result.exit_status, 0);
    cf_garden_process_result_clear(&result);
  }
  /* The exit status arrives even while stdin is still being written to a
   * process that never reads it. A write that finds the connection already
   * closed is expected, as the Go client ignores it. */
  char kib[1025];
  memset(kib, 'x', 1024);
  kib[1024] = '\0';
  cf_autofree char *spec = sh_spec("ls / >/dev/null");
  for (int i = 0; i < 10; i++) {
    control c;
    control_run(&c, "it-conf-quick", spec);
    cf_autofree char *payload =
        cf_xasprintf("{\"process_id\":\"%s\",\"source\":0,\"data\":\"%s\"}\n", c.process_id, kib);
    for (int chunk = 0; chunk < 4; chunk++) {
      (void)send(c.fd, payload, strlen(payload), MSG_NOSIGNAL);
    }
    assert_int_equal(control_wait(&c), 0);
    control_clear(&c);
  }
  destroy_container(&server.tcp, "it-conf-quick");
}

static void test_bind_mounts_without_image_rejected(void **state)
{
  (void)state;
  create_container(&server.tcp, "it-conf-mounts", NULL);
  json_t *spec = json_pack("{s:s, s:{}, s:{}, s:[{s:s, s:s}]}", "path", "true", "rlimits", "image",
                           "bind_mounts", "src_path", "/tmp", "dst_path", "/mnt");
  cf_garden_process_result result;
  cf_garden_process_result_init(&result);
  cf_err *err = NULL;
  assert_int_equal(
      cf_garden_client_run(&server.tcp, "it-conf-mounts", spec, NULL, 0, &result, &err), -1);
  assert_int_not_equal(err->code, CF_E_NOT_FOUND);
  cf_err_free(err);
  json_decref(spec);
  cf_garden_process_result_clear(&result);
  destroy_container(&server.tcp, "it-conf-mounts");
}

/* A process that exits before the client has written its stdin still
 * gives the client its exit status. The server may close the control
 * connection before the last stdin bytes arrive. */
static void test_run_quick_exit_big_stdin(void **state)
{
  (void)state;
  create_container(&server.tcp, "it-conf-stdin-race", NULL);
  size_t stdin_len = 1024 * 1024;
  cf_autofree char *stdin_data = cf_xmalloc(stdin_len);
  memset(stdin_data, 'x', stdin_len);
  json_t *spec = json_pack("{s:s, s:{}, s:{}}", "path", "true", "rlimits", "image");
  for (int i = 0; i < 20; i++) {
    cf_garden_process_result result;
    cf_garden_process_result_init(&result);
    cf_err *err = NULL;
    int rc = cf_garden_client_run(&server.tcp, "it-conf-stdin-race", spec, stdin_data, stdin_len,
                                  &result, &err);
    if (rc < 0) {
      fail_msg("run %d of 20: %s", i + 1, err->message);
    }
    assert_int_equal(result.exit_status, 0);
    cf_garden_process_result_clear(&result);
  }
  json_decref(spec);
  destroy_container(&server.tcp, "it-conf-stdin-race");
}

/* An unknown stream id is an empty stream: 200, then the server closes. */
static void test_unknown_stream_is_empty(void **state)
{
  (void)state;
  create_container(&server.tcp, "it-conf-nostream", NULL);
  control c;
  control_init(&c);
  c.process_id = cf_xstrdup("no-such-process");
  c.stream_id = cf_xstrdup("999999");
  for (int i = 0; i < 2; i++) {
    cf_buf initial;
    cf_buf_init(&initial, 1 << 20);
    int fd = open_stream("it-conf-nostream", &c, i == 0 ? "stdout" : "stderr", &initial);
    cf_autofree char *text = stream_text(fd, &initial);
    assert_string_equal(text, "");
  }
  control_clear(&c);
  destroy_container(&server.tcp, "it-conf-nostream");
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, take_snapshot, check_leaks)

int main(void)
{
  it_require_root();
  /* Writes to a connection the server closed fail with EPIPE instead. */
  signal(SIGPIPE, SIG_IGN);
  /* CFWIN_TEST_FILTER=<pattern> runs only the tests whose names match. */
  const char *filter = getenv("CFWIN_TEST_FILTER");
  if (filter != NULL) {
    cmocka_set_test_filter(filter);
  }
  const struct CMUnitTest tests[] = {
      TEST(test_unknown_handle_every_route),
      TEST(test_hijack_route_errors_keep_framing),
      TEST(test_body_decoded_before_lookup),
      TEST(test_every_route_reaches_handler),
      TEST(test_wrong_method_is_405),
      TEST(test_unknown_path_is_404),
      TEST(test_head_response_has_no_body),
      TEST(test_large_headers_are_431),
      TEST(test_keep_alive_and_close),
      TEST(test_chunked_request_bodies),
      TEST(test_listeners_share_containers),
      TEST(test_json_keys_and_escapes),
      TEST(test_bulk_routes_shapes),
      TEST(test_limit_getters),
      TEST(test_request_written_byte_by_byte),
      TEST(test_stdin_payloads_in_one_write),
      TEST(test_stdin_payload_split_in_escapes),
      TEST(test_bytes_after_post_body),
      TEST(test_client_vanishes_mid_request),
      TEST(test_client_vanishes_mid_stream),
      TEST(test_two_hundred_concurrent_streams),
      TEST(test_attachers_all_get_exit_status),
      TEST(test_process_id_and_duplicates),
      TEST(test_process_environment_merged),
      TEST(test_process_user_and_directory),
      TEST(test_process_users),
      TEST(test_container_devices_and_mounts),
      TEST(test_long_handle_hostname),
      TEST(test_metrics_and_limits),
      TEST(test_tty_processes),
      TEST(test_stream_in_destinations),
      TEST(test_wait_ignores_background_child),
      TEST(test_security_defaults),
      TEST(test_signals_in_stream),
      TEST(test_quick_exits_keep_output),
      TEST(test_bind_mounts_without_image_rejected),
      TEST(test_unknown_stream_is_empty),
      TEST(test_run_quick_exit_big_stdin),
  };
  return cmocka_run_group_tests(tests, setup_server, teardown_server);
}
