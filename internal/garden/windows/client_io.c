/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Garden client's socket I/O with Winsock 2. Unix sockets use AF_UNIX,
 * which Windows has since Windows 10 1803 and Server 2019. Sockets are
 * created without handle inheritance, the Windows form of close-on-exec.
 */
#include <winsock2.h>
#include <ws2tcpip.h>

#include <afunix.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <windows.h>

#include "garden/client_io.h"

/* Sends are split into chunks that fit send()'s int length. */
#define SEND_CHUNK_MAX (1 << 30)

static INIT_ONCE winsock_once = INIT_ONCE_STATIC_INIT;
static int winsock_status;

static BOOL CALLBACK start_winsock(PINIT_ONCE once, PVOID parameter, PVOID *context)
{
  WSADATA data;
  winsock_status = WSAStartup(MAKEWORD(2, 2), &data);
  return TRUE;
}

/* Sets *err to message plus Winsock's text for code. Returns -1. */
static int wsa_error(cf_err **err, int code, const char *message)
{
  char text[256] = "";
  DWORD len = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL,
                             (DWORD)code, 0, text, sizeof(text), NULL);
  while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == '.')) {
    text[--len] = '\0';
  }
  return cf_err_set(err, CF_E_SYSTEM, "%s: %s (Winsock error %d)", message,
                    len > 0 ? text : "unknown error", code);
}

static int ensure_winsock(cf_err **err)
{
  InitOnceExecuteOnce(&winsock_once, start_winsock, NULL, NULL);
  if (winsock_status != 0) {
    return wsa_error(err, winsock_status, "start Winsock 2.2");
  }
  return 0;
}

/* Creates a socket and connects it to addr; closes it on failure. */
static int connect_socket(int family, const struct sockaddr *addr, int len, const char *target,
                          cf_sock *out, cf_err **err)
{
  if (ensure_winsock(err) < 0) {
    return -1;
  }
  SOCKET sock = WSASocketW(family, SOCK_STREAM, 0, NULL, 0, WSA_FLAG_NO_HANDLE_INHERIT);
  if (sock == INVALID_SOCKET) {
    return wsa_error(err, WSAGetLastError(), "create socket");
  }
  if (connect(sock, addr, len) == SOCKET_ERROR) {
    int code = WSAGetLastError();
    closesocket(sock);
    char message[512];
    snprintf(message, sizeof(message), "connect to %s", target);
    return wsa_error(err, code, message);
  }
  *out = (cf_sock)sock;
  return 0;
}

int cf_client_io_connect_unix(const char *path, cf_sock *out, cf_err **err)
{
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof(addr.sun_path)) {
    return cf_err_set(err, CF_E_INVALID, "unix socket path \"%s\" is longer than %zu bytes", path,
                      sizeof(addr.sun_path) - 1);
  }
  snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
  return connect_socket(AF_UNIX, (struct sockaddr *)&addr, sizeof(addr), path, out, err);
}

int cf_client_io_connect_tcp(const char *host, int port, cf_sock *out, cf_err **err)
{
  struct sockaddr_storage addr;
  struct sockaddr_in *v4 = (struct sockaddr_in *)&addr;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&addr;
  int len = 0;
  memset(&addr, 0, sizeof(addr));
  if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons((u_short)port);
    len = sizeof(*v4);
  } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons((u_short)port);
    len = sizeof(*v6);
  } else {
    return cf_err_set(err, CF_E_INVALID,
                      "Garden host \"%s\" is not an IP address: use an address such as "
                      "127.0.0.1 or [::1]",
                      host);
  }
  char target[300];
  snprintf(target, sizeof(target), "%s port %d", host, port);
  return connect_socket(addr.ss_family, (struct sockaddr *)&addr, len, target, out, err);
}

int cf_client_io_send(cf_sock sock, const void *data, size_t len, cf_err **err)
{
  const char *p = data;
  while (len > 0) {
    int chunk = len > SEND_CHUNK_MAX ? SEND_CHUNK_MAX : (int)len;
    int n = send((SOCKET)sock, p, chunk, 0);
    if (n == SOCKET_ERROR) {
      return wsa_error(err, WSAGetLastError(), "send to server");
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

int cf_client_io_wait(const cf_sock *socks, bool *ready, size_t count, int timeout_ms, cf_err **err)
{
  WSAPOLLFD fds[8];
  size_t index_of[8];
  ULONG used = 0;
  if (count > sizeof(fds) / sizeof(fds[0])) {
    return cf_err_set(err, CF_E_INVALID, "cannot wait for %zu sockets, at most 8", count);
  }
  /* Invalid sockets are left out, because WSAPoll rejects them. */
  for (size_t i = 0; i < count; i++) {
    ready[i] = false;
    if (socks[i] != CF_SOCK_INVALID) {
      fds[used] = (WSAPOLLFD){.fd = (SOCKET)socks[i], .events = POLLRDNORM};
      index_of[used] = i;
      used++;
    }
  }
  if (used == 0) {
    return cf_err_set(err, CF_E_INVALID, "no open server connection to wait for");
  }
  int rc = WSAPoll(fds, used, timeout_ms < 0 ? -1 : timeout_ms);
  if (rc == SOCKET_ERROR) {
    return wsa_error(err, WSAGetLastError(), "poll server connections");
  }
  if (rc == 0) {
    return cf_err_set(err, CF_E_SYSTEM, "timed out after %d ms waiting for the server", timeout_ms);
  }
  for (ULONG i = 0; i < used; i++) {
    ready[index_of[i]] = fds[i].revents != 0;
  }
  return 0;
}

int cf_client_io_recv(cf_sock sock, void *data, size_t size, size_t *n, cf_err **err)
{
  int want = size > INT_MAX ? INT_MAX : (int)size;
  int got = recv((SOCKET)sock, data, want, 0);
  if (got == SOCKET_ERROR) {
    int code = WSAGetLastError();
    if (code != WSAECONNRESET) {
      return wsa_error(err, code, "read from server");
    }
    got = 0; /* a reset after the server's last byte reads as the end */
  }
  *n = (size_t)got;
  return 0;
}

void cf_client_io_shutdown_send(cf_sock sock)
{
  shutdown((SOCKET)sock, SD_SEND);
}

void cf_client_io_close(cf_sock *sock)
{
  if (*sock != CF_SOCK_INVALID) {
    closesocket((SOCKET)*sock);
    *sock = CF_SOCK_INVALID;
  }
}
