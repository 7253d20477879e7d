/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TLS on the Garden TCP listener, with certificates made by the openssl CLI
 * at test time and a server on 127.0.0.2 with --tls-cert, --tls-key and
 * --tls-ca. Requests go through cfwin's TLS client. Clients without a
 * certificate, or with one from another CA, get no response, and neither
 * does plain HTTP on the TLS port. The unix socket stays plain.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/mem.h"
#include "fixture.h"
#include "garden/client.h"
#include "garden/tls.h"

#define TLS_HOST "127.0.0.2"
#define IO_TIMEOUT_MS 30000

static it_server server;
static char *certs; /* directory of the PEM files below */

static char *cert_file(const char *name)
{
  return cf_xasprintf("%s/%s", certs, name);
}

static int run_shell(const char *script)
{
  char *argv[] = {"/bin/sh", "-c", (char *)script, NULL};
  return it_run_command(argv);
}

/* Makes two CAs, a server certificate for "localhost" and TLS_HOST from ca, and client
 * certificates from ca (good) and from other-ca (foreign). */
static void make_certificates(void)
{
  cf_autofree char *script = cf_xasprintf(
      "set -e; cd %s; "
      "for ca in ca other-ca; do "
      "  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=$ca "
      "    -keyout $ca.key -out $ca.pem 2>/dev/null; "
      "done; "
      "printf 'subjectAltName=DNS:localhost,IP:" TLS_HOST "\\n' > san.ext; "
      "sign() { openssl req -newkey rsa:2048 -nodes -subj /CN=$2 -keyout $1.key -out $1.csr "
      "  2>/dev/null; openssl x509 -req -in $1.csr -CA $3.pem -CAkey $3.key -CAcreateserial "
      "  -days 2 $4 -out $1.pem 2>/dev/null; }; "
      "sign server localhost ca '-extfile san.ext'; "
      "sign client garden-client ca ''; "
      "sign foreign garden-client other-ca ''",
      certs);
  if (run_shell(script) != 0) {
    fail_msg("openssl could not make the test certificates in %s", certs);
  }
}

static void exec_tls_server(void)
{
  cf_autofree char *log_fd_path = cf_xstrdup(server.log_path);
  FILE *log = fopen(log_fd_path, "a");
  if (log != NULL) {
    dup2(fileno(log), STDOUT_FILENO);
    dup2(fileno(log), STDERR_FILENO);
  }
  const char *binary = getenv("CFWIN_BINARY") != NULL ? getenv("CFWIN_BINARY") : "build/cfwin";
  char *port = cf_xasprintf("%d", server.port);
  char *rootfs = cf_xasprintf("oci://%s:latest", server.image_dir);
  char *argv[] = {(char *)binary,
                  "serve",
                  "--bind-ip",
                  TLS_HOST,
                  "--bind-port",
                  port,
                  "--bind-socket",
                  server.socket_path,
                  "--depot",
                  server.depot,
                  "--default-rootfs",
                  rootfs,
                  "--tls-cert",
                  cert_file("server.pem"),
                  "--tls-key",
                  cert_file("server.key"),
                  "--tls-ca",
                  cert_file("ca.pem"),
                  "--disable-network",
                  "--log-level",
                  "debug",
                  NULL};
  execv(binary, argv);
  _exit(127);
}

/* Starts the server and waits for a ping on the plain unix socket. */
static int setup_server(void **state)
{
  (void)state;
  it_require_root();
  /* A rejected client writes into a connection the server has closed. */
  signal(SIGPIPE, SIG_IGN);
  if (run_shell("command -v openssl >/dev/null") != 0) {
    fprintf(stderr, "openssl is not installed; skipping\n");
    exit(77);
  }
  it_server_prepare(&server);
  certs = cf_path_join(server.dir, "certs");
  cf_mkdir_p(certs, 0700, NULL);
  make_certificates();
  server.pid = fork();
  if (server.pid == 0) {
    exec_tls_server();
  }
  for (int attempt = 0; attempt < 600; attempt++) {
    if (cf_garden_client_ping(&server.unix_socket, NULL) == 0) {
      return 0;
    }
    usleep(50 * 1000);
  }
  fail_msg("cfwin serve did not answer ping within 30 s; see %s", server.log_path);
  return -1;
}

static int teardown_server(void **state)
{
  (void)state;
  it_server_cleanup(&server);
  free(certs);
  return 0;
}

/* --- A blocking TLS client over a socket --- */

static int fd_send(void *ctx, const void *data, size_t len, cf_err **err)
{
  return cf_write_all(*(int *)ctx, data, len, err);
}

static int fd_recv(void *ctx, void *data, size_t size, size_t *n, cf_err **err)
{
  int fd = *(int *)ctx;
  struct pollfd pfd = {.fd = fd, .events = POLLIN};
  int ready = poll(&pfd, 1, IO_TIMEOUT_MS);
  if (ready == 0) {
    return cf_err_set(err, CF_E_SYSTEM, "no data within %d ms", IO_TIMEOUT_MS);
  }
  ssize_t got = ready < 0 ? -1 : read(fd, data, size);
  if (got < 0) {
    return cf_err_sys(err, errno, "read");
  }
  *n = (size_t)got;
  return 0;
}

static int connect_tcp(void)
{
  cf_garden_client tcp = {0};
  cf_autofree char *address = cf_xasprintf(TLS_HOST ":%d", server.port);
  cf_err *err = NULL;
  int fd = -1;
  if (cf_garden_client_init(&tcp, address, &err) < 0 ||
      cf_garden_client_connect(&tcp, &fd, &err) < 0) {
    fail_msg("connect to %s: %s", address, err->message);
  }
  cf_garden_client_clear(&tcp);
  return fd;
}

/* Opens a TLS session with the client certificate named prefix (NULL for
 * none), verifying the server against ca_name and server_name. Returns -1
 * with *err when the handshake fails. */
static int tls_open_named(const char *prefix, const char *ca_name, const char *server_name, int *fd,
                          cf_tls_config **config, cf_tls_client **client, cf_err **err)
{
  cf_autofree char *cert = prefix != NULL ? cf_xasprintf("%s/%s.pem", certs, prefix) : NULL;
  cf_autofree char *key = prefix != NULL ? cf_xasprintf("%s/%s.key", certs, prefix) : NULL;
  cf_autofree char *ca = cert_file(ca_name);
  cf_tls_paths paths = {.cert_path = cert, .key_path = key, .ca_path = ca};
  if (cf_tls_client_config_new(&paths, config, err) < 0) {
    fail_msg("TLS client config: %s", (*err)->message);
  }
  *fd = connect_tcp();
  cf_tls_io io = {.send = fd_send, .recv = fd_recv, .ctx = fd};
  return cf_tls_client_connect(*config, &io, server_name, client, err);
}

static int tls_open(const char *prefix, const char *ca_name, int *fd, cf_tls_config **config,
                    cf_tls_client **client, cf_err **err)
{
  return tls_open_named(prefix, ca_name, "localhost", fd, config, client, err);
}

/* Sends one request and reads the response until the server closes. */
static int tls_exchange(cf_tls_client *client, const char *request, cf_buf *response, cf_err **err)
{
  if (cf_tls_client_write(client, request, strlen(request), err) < 0) {
    return -1;
  }
  char chunk[4096];
  for (;;) {
    size_t n = 0;
    if (cf_tls_client_read(client, chunk, sizeof(chunk), &n, err) < 0) {
      return -1;
    }
    if (n == 0) {
      return 0;
    }
    if (cf_buf_append(response, chunk, n, err) < 0) {
      return -1;
    }
  }
}

/* Runs one request over TLS with the good client certificate and returns
 * the response text (caller frees). */
/* Sends one request with a body of len bytes (which may hold NUL bytes)
 * and appends the whole response to *response. */
static void tls_send(const char *method, const char *path, const char *content_type,
                     const void *body, size_t len, cf_buf *response)
{
  int fd = -1;
  cf_tls_config *config = NULL;
  cf_tls_client *client = NULL;
  cf_err *err = NULL;
  if (tls_open("client", "ca.pem", &fd, &config, &client, &err) < 0) {
    fail_msg("TLS handshake: %s", err->message);
  }
  cf_autofree char *head = cf_xasprintf("%s %s HTTP/1.1\r\nHost: api\r\nConnection: close\r\n"
                                        "Content-Type: %s\r\nContent-Length: %zu\r\n\r\n",
                                        method, path, content_type, len);
  if (cf_tls_client_write(client, head, strlen(head), &err) < 0 ||
      (len > 0 && cf_tls_client_write(client, body, len, &err) < 0) ||
      tls_exchange(client, "", response, &err) < 0) {
    fail_msg("%s %s over TLS: %s", method, path, err->message);
  }
  cf_tls_client_close(client);
  cf_tls_config_free(config);
  close(fd);
}

static char *tls_request(const char *method, const char *path, const char *body)
{
  cf_buf response;
  cf_buf_init(&response, 1024 * 1024);
  tls_send(method, path, "application/json", body, body != NULL ? strlen(body) : 0, &response);
  cf_buf_append(&response, "", 1, NULL);
  char *text = cf_xstrdup(response.data);
  cf_buf_free(&response);
  return text;
}

/* Makes a tar stream holding one file, tls-file.txt, with text, using the
 * tar CLI. */
static void make_tar(const char *text, cf_buf *tar)
{
  cf_autofree char *script = cf_xasprintf(
      "set -e; cd %s; printf '%s' > tls-file.txt; tar -cf tls.tar tls-file.txt", certs, text);
  if (run_shell(script) != 0) {
    fail_msg("tar could not make the test archive in %s", certs);
  }
  cf_autofree char *path = cert_file("tls.tar");
  cf_err *err = NULL;
  if (cf_read_file(path, tar, &err) < 0) {
    fail_msg("read %s: %s", path, err->message);
  }
}

/* --- Tests --- */

static void test_tls_ping_with_client_certificate(void **state)
{
  (void)state;
  cf_autofree char *response = tls_request("GET", "/ping", NULL);
  assert_true(strncmp(response, "HTTP/1.1 200 OK\r\n", 17) == 0);
  assert_non_null(strstr(response, "\r\n\r\n{}\n"));
}

static void test_tls_create_info_destroy(void **state)
{
  (void)state;
  cf_autofree char *created = tls_request("POST", "/containers", "{\"handle\":\"tls-one\"}");
  if (strncmp(created, "HTTP/1.1 200 OK\r\n", 17) != 0) {
    fail_msg("create over TLS: %s", created);
  }
  assert_non_null(strstr(created, "\"Handle\":\"tls-one\""));
  cf_autofree char *info = tls_request("GET", "/containers/tls-one/info", NULL);
  assert_non_null(strstr(info, "\"State\":\"active\""));
  /* Run hijacks the connection: its payloads travel in TLS records too,
   * and the server closes it after the exit status. */
  cf_autofree char *run =
      tls_request("POST", "/containers/tls-one/processes",
                  "{\"path\":\"sh\",\"args\":[\"-c\",\"exit 3\"],\"user\":\"root\",\"rlimits\":{},"
                  "\"image\":{}}");
  if (strncmp(run, "HTTP/1.1 201 Created\r\n", 22) != 0) {
    fail_msg("run over TLS: %s", run);
  }
  assert_non_null(strstr(run, "\"stream_id\""));
  assert_non_null(strstr(run, "\"exit_status\":3"));
  /* StreamIn and StreamOut pass a tar stream through TLS both ways. */
  cf_buf tar;
  cf_buf_init(&tar, 1024 * 1024);
  make_tar("through tls", &tar);
  cf_buf in_response;
  cf_buf_init(&in_response, 1024 * 1024);
  tls_send("PUT", "/containers/tls-one/files?destination=%2Ftmp&user=", "application/x-tar",
           tar.data, tar.len, &in_response);
  cf_buf_append(&in_response, "", 1, NULL);
  if (strncmp(in_response.data, "HTTP/1.1 200 OK\r\n", 17) != 0) {
    fail_msg("stream in over TLS: %s", in_response.data);
  }
  cf_buf out_response;
  cf_buf_init(&out_response, 1024 * 1024);
  tls_send("GET",
           "/containers/tls-one/files?source=%2Ftmp%2Ftls-file.txt&user=", "application/json", NULL,
           0, &out_response);
  assert_true(out_response.len > 17);
  assert_true(strncmp(out_response.data, "HTTP/1.1 200 OK\r\n", 17) == 0);
  assert_non_null(memmem(out_response.data, out_response.len, "through tls", 11));
  cf_buf_free(&tar);
  cf_buf_free(&in_response);
  cf_buf_free(&out_response);
  cf_autofree char *destroyed = tls_request("DELETE", "/containers/tls-one", NULL);
  assert_true(strncmp(destroyed, "HTTP/1.1 200 OK\r\n", 17) == 0);
}

/* A client whose certificate another CA signed, or that has none, gets no
 * HTTP response: the handshake fails or the server closes the session. */
static void check_rejected(const char *prefix)
{
  int fd = -1;
  cf_tls_config *config = NULL;
  cf_tls_client *client = NULL;
  cf_err *err = NULL;
  int rc = tls_open(prefix, "ca.pem", &fd, &config, &client, &err);
  if (rc == 0) {
    cf_buf response;
    cf_buf_init(&response, 1024 * 1024);
    rc = tls_exchange(client, "GET /ping HTTP/1.1\r\nHost: api\r\nConnection: close\r\n\r\n",
                      &response, &err);
    bool answered = response.len > 0;
    cf_buf_free(&response);
    cf_tls_client_close(client);
    if (answered) {
      fail_msg("the server answered a client with certificate %s", prefix ? prefix : "(none)");
    }
  }
  cf_err_free(err);
  cf_tls_config_free(config);
  close(fd);
}

static void test_tls_rejects_foreign_client_certificate(void **state)
{
  (void)state;
  check_rejected("foreign");
}

static void test_tls_rejects_client_without_certificate(void **state)
{
  (void)state;
  check_rejected(NULL);
}

static void test_tls_client_rejects_unknown_server_ca(void **state)
{
  (void)state;
  int fd = -1;
  cf_tls_config *config = NULL;
  cf_tls_client *client = NULL;
  cf_err *err = NULL;
  int rc = tls_open("client", "other-ca.pem", &fd, &config, &client, &err);
  assert_int_equal(rc, -1);
  assert_non_null(err);
  assert_non_null(strstr(err->message, "TLS handshake with localhost"));
  cf_err_free(err);
  cf_tls_config_free(config);
  close(fd);
}

/* A client that addresses the server by IP address accepts a certificate
 * whose subjectAltName carries that address, and no other address. */
static void test_tls_client_checks_ip_address(void **state)
{
  (void)state;
  int fd = -1;
  cf_tls_config *config = NULL;
  cf_tls_client *client = NULL;
  cf_err *err = NULL;
  int rc = tls_open_named("client", "ca.pem", TLS_HOST, &fd, &config, &client, &err);
  if (rc < 0) {
    fail_msg("handshake by address failed: %s", err->message);
  }
  cf_buf response;
  cf_buf_init(&response, 1024 * 1024);
  assert_int_equal(tls_exchange(client,
                                "GET /ping HTTP/1.1\r\nHost: api\r\nConnection: close\r\n\r\n",
                                &response, &err),
                   0);
  assert_non_null(strstr(response.data, "HTTP/1.1 200"));
  cf_buf_free(&response);
  cf_tls_client_close(client);
  cf_tls_config_free(config);
  close(fd);

  rc = tls_open_named("client", "ca.pem", "127.0.0.3", &fd, &config, &client, &err);
  assert_int_equal(rc, -1);
  assert_non_null(err);
  assert_non_null(strstr(err->message, "does not match"));
  cf_err_free(err);
  cf_tls_config_free(config);
  close(fd);
}

static void test_tls_port_gives_plain_http_nothing(void **state)
{
  (void)state;
  int fd = connect_tcp();
  const char request[] = "GET /ping HTTP/1.1\r\nHost: api\r\nConnection: close\r\n\r\n";
  assert_int_equal(cf_write_all(fd, request, sizeof(request) - 1, NULL), 0);
  char reply[64] = {0};
  size_t n = 0;
  int rc = fd_recv(&fd, reply, sizeof(reply) - 1, &n, NULL);
  close(fd);
  assert_int_equal(rc, 0);
  assert_null(strstr(reply, "HTTP/1.1 200"));
}

static void test_unix_socket_stays_plain(void **state)
{
  (void)state;
  cf_err *err = NULL;
  if (cf_garden_client_ping(&server.unix_socket, &err) < 0) {
    fail_msg("plain ping on the unix socket: %s", err->message);
  }
}

/* Flag mistakes stop the server before it listens, naming the flag. */
static void test_tls_flag_errors(void **state)
{
  (void)state;
  const char *binary = getenv("CFWIN_BINARY") != NULL ? getenv("CFWIN_BINARY") : "build/cfwin";
  cf_autofree char *key = cert_file("server.key");
  cf_autofree char *missing = cert_file("missing.pem");
  cf_autofree char *depot = cf_path_join(server.dir, "flag-depot");
  cf_autofree char *only_key =
      cf_xasprintf("%s serve --depot %s --bind-ip 127.0.0.2 --bind-port 1 --tls-key %s 2>&1 | "
                   "grep -q -- '--tls-cert and --tls-key go together'",
                   binary, depot, key);
  assert_int_equal(run_shell(only_key), 0);
  cf_autofree char *bad_cert = cf_xasprintf(
      "%s serve --depot %s --disable-network --bind-ip 127.0.0.2 --bind-port 1 --tls-cert %s "
      "--tls-key %s 2>&1 | grep -q 'read TLS certificate %s: No such file or directory'",
      binary, depot, missing, key, missing);
  assert_int_equal(run_shell(bad_cert), 0);

  cf_autofree char *server_cert = cert_file("server.pem");
  cf_autofree char *client_key = cert_file("client.key");
  /* timeout: a server that accepted the pair would run until killed. */
  cf_autofree char *wrong_key =
      cf_xasprintf("timeout 30 %s serve --depot %s --disable-network --bind-ip 127.0.0.2 "
                   "--bind-port 1 --tls-cert %s "
                   "--tls-key %s 2>&1 | grep -q 'TLS private key %s does not belong'",
                   binary, depot, server_cert, client_key, client_key);
  assert_int_equal(run_shell(wrong_key), 0);

  cf_autofree char *ca = cert_file("ca.pem");
  cf_autofree char *partial = cert_file("partial-ca.pem");
  cf_autofree char *make_partial = cf_xasprintf(
      "(cat %s; printf -- '-----BEGIN CERTIFICATE-----\\nAAAA\\n-----END CERTIFICATE-----\\n') "
      "> %s",
      ca, partial);
  assert_int_equal(run_shell(make_partial), 0);
  cf_autofree char *partial_ca =
      cf_xasprintf("timeout 30 %s serve --depot %s --disable-network --bind-ip 127.0.0.2 "
                   "--bind-port 1 --tls-cert %s "
                   "--tls-key %s --tls-ca %s 2>&1 | grep -q '1 of its certificates are invalid'",
                   binary, depot, server_cert, key, partial);
  assert_int_equal(run_shell(partial_ca), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tls_ping_with_client_certificate),
      cmocka_unit_test(test_tls_create_info_destroy),
      cmocka_unit_test(test_tls_rejects_foreign_client_certificate),
      cmocka_unit_test(test_tls_rejects_client_without_certificate),
      cmocka_unit_test(test_tls_client_rejects_unknown_server_ca),
      cmocka_unit_test(test_tls_client_checks_ip_address),
      cmocka_unit_test(test_tls_port_gives_plain_http_nothing),
      cmocka_unit_test(test_unix_socket_stays_plain),
      cmocka_unit_test(test_tls_flag_errors),
  };
  return cmocka_run_group_tests(tests, setup_server, teardown_server);
}
