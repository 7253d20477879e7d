/* SPDX-License-Identifier: Apache-2.0 */
/* The Garden client's socket I/O with BSD sockets and poll(). */
#include "garden/client_io.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <arpa/inet.h>

int cf_client_io_connect_unix(const char *path, cf_sock *out, cf_err **err)
{
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof(addr.sun_path)) {
    return cf_err_set(err, CF_E_INVALID, "unix socket path \"%s\" is longer than %zu bytes", path,
                      sizeof(addr.sun_path) - 1);
  }
  snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return cf_err_sys(err, errno, "create unix socket");
  }
  if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
    int saved = errno;
    close(fd);
    return cf_err_sys(err, saved, "connect to %s", path);
  }
  *out = fd;
  return 0;
}

/* Fills addr from an address literal; returns its length or 0. */
static socklen_t tcp_address(const char *host, int port, struct sockaddr_storage *addr)
{
  struct sockaddr_in *v4 = (struct sockaddr_in *)addr;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)addr;
  memset(addr, 0, sizeof(*addr));
  if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons((uint16_t)port);
    return sizeof(*v4);
  }
  if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons((uint16_t)port);
    return sizeof(*v6);
  }
  return 0;
}

int cf_client_io_connect_tcp(const char *host, int port, cf_sock *out, cf_err **err)
{
  struct sockaddr_storage addr;
  socklen_t len = tcp_address(host, port, &addr);
  if (len == 0) {
    return cf_err_set(err, CF_E_INVALID,
                      "Garden host \"%s\" is not an IP address: use an address such as "
                      "127.0.0.1 or [::1]",
                      host);
  }
  int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return cf_err_sys(err, errno, "create TCP socket");
  }
  /* NOTE: connect has no timeout of its own, unlike the Go client's 2 s dial
   * timeout, so an unreachable remote host blocks until the kernel gives up. */
  if (connect(fd, (struct sockaddr *)&addr, len) < 0) {
    int saved = errno;
    close(fd);
    return cf_err_sys(err, saved, "connect to %s port %d", host, port);
  }
  *out = fd;
  return 0;
}

int cf_client_io_send(cf_sock sock, const void *data, size_t len, cf_err **err)
{
  const char *p = data;
  while (len > 0) {
    ssize_t n = send((int)sock, p, len, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return cf_err_sys(err, errno, "send to server");
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

int cf_client_io_wait(const cf_sock *socks, bool *ready, size_t count, int timeout_ms, cf_err **err)
{
  struct pollfd fds[8];
  if (count > sizeof(fds) / sizeof(fds[0])) {
    return cf_err_set(err, CF_E_INVALID, "cannot wait for %zu sockets, at most 8", count);
  }
  for (size_t i = 0; i < count; i++) {
    fds[i] =
        (struct pollfd){.fd = socks[i] == CF_SOCK_INVALID ? -1 : (int)socks[i], .events = POLLIN};
    ready[i] = false;
  }
  int rc;
  do {
    rc = poll(fds, count, timeout_ms < 0 ? -1 : timeout_ms);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) {
    return cf_err_sys(err, errno, "poll server connections");
  }
  if (rc == 0) {
    return cf_err_set(err, CF_E_SYSTEM, "timed out after %d ms waiting for the server", timeout_ms);
  }
  for (size_t i = 0; i < count; i++) {
    ready[i] = fds[i].fd >= 0 && fds[i].revents != 0;
  }
  return 0;
}

int cf_client_io_recv(cf_sock sock, void *data, size_t size, size_t *n, cf_err **err)
{
  ssize_t got;
  do {
    got = recv((int)sock, data, size, 0);
  } while (got < 0 && errno == EINTR);
  if (got < 0 && errno == ECONNRESET) {
    got = 0; /* a reset after the server's last byte reads as the end */
  }
  if (got < 0) {
    return cf_err_sys(err, errno, "read from server");
  }
  *n = (size_t)got;
  return 0;
}

void cf_client_io_shutdown_send(cf_sock sock)
{
  shutdown((int)sock, SHUT_WR);
}

void cf_client_io_close(cf_sock *sock)
{
  if (*sock != CF_SOCK_INVALID) {
    close((int)*sock);
    *sock = CF_SOCK_INVALID;
  }
}
