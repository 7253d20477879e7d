/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Load generator for bench/garden-rps.sh: sends GET requests to a loopback
 * HTTP server with a new TCP connection per request, as the Go Garden client
 * does (`Connection: close`, one request, read to EOF). Several threads keep
 * that many requests in flight. Prints the request count, failures, wall
 * time and requests per second on one line.
 *
 * Usage: garden-load ADDRESS PORT PATH REQUESTS THREADS
 * ADDRESS must be an IPv4 loopback address (127.0.0.0/8).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct load {
  struct sockaddr_in address;
  char request[512];
  size_t request_len;
  atomic_long remaining;
  atomic_long failures;
} load;

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sends one request on a new connection; true when the reply is a 200. */
static int request_once(const load *l)
{
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return 0;
  }
  int ok = 0;
  if (connect(fd, (const struct sockaddr *)&l->address, sizeof(l->address)) == 0 &&
      write(fd, l->request, l->request_len) == (ssize_t)l->request_len) {
    char reply[16384];
    size_t got = 0;
    ssize_t n;
    while ((n = read(fd, reply + got, sizeof(reply) - 1 - got)) > 0) {
      got += (size_t)n;
      if (got == sizeof(reply) - 1) {
        got = 12; /* keeps "HTTP/1.1 200"; the rest only needs draining */
      }
    }
    reply[got] = '\0';
    ok = n == 0 && strncmp(reply, "HTTP/1.1 200", 12) == 0;
  }
  close(fd);
  return ok;
}

static void *worker(void *arg)
{
  load *l = arg;
  while (atomic_fetch_sub(&l->remaining, 1) > 0) {
    if (!request_once(l)) {
      atomic_fetch_add(&l->failures, 1);
    }
  }
  return NULL;
}

static int parse_args(int argc, char **argv, load *l, long *requests, int *threads)
{
  if (argc != 6) {
    fprintf(stderr, "usage: %s ADDRESS PORT PATH REQUESTS THREADS\n", argv[0]);
    return -1;
  }
  l->address.sin_family = AF_INET;
  if (inet_pton(AF_INET, argv[1], &l->address.sin_addr) != 1 ||
      (ntohl(l->address.sin_addr.s_addr) >> 24) != 127) {
    fprintf(stderr, "invalid address %s: use an IPv4 loopback address such as 127.0.0.1\n",
            argv[1]);
    return -1;
  }
  int port = atoi(argv[2]);
  *requests = atol(argv[4]);
  *threads = atoi(argv[5]);
  if (port <= 0 || port > 65535 || *requests <= 0 || *threads <= 0 || *threads > 256) {
    fprintf(stderr, "invalid port, request count or thread count (1 to 256 threads)\n");
    return -1;
  }
  l->address.sin_port = htons((uint16_t)port);
  int len = snprintf(l->request, sizeof(l->request),
                     "GET %s HTTP/1.1\r\nHost: api\r\nUser-Agent: Go-http-client/1.1\r\n"
                     "Connection: close\r\nAccept-Encoding: gzip\r\n\r\n",
                     argv[3]);
  if (len < 0 || (size_t)len >= sizeof(l->request)) {
    fprintf(stderr,
            "invalid path: %zu bytes is too long for the request buffer; use a shorter "
            "path\n",
            strlen(argv[3]));
    return -1;
  }
  l->request_len = (size_t)len;
  return 0;
}

int main(int argc, char **argv)
{
  static load l;
  long requests = 0;
  int threads = 0;
  if (parse_args(argc, argv, &l, &requests, &threads) < 0) {
    return 2;
  }
  atomic_store(&l.remaining, requests);
  pthread_t ids[256];
  double start = now_s();
  for (int i = 0; i < threads; i++) {
    if (pthread_create(&ids[i], NULL, worker, &l) != 0) {
      fprintf(stderr, "start thread %d: %s\n", i, strerror(errno));
      return 1;
    }
  }
  for (int i = 0; i < threads; i++) {
    pthread_join(ids[i], NULL);
  }
  double elapsed = now_s() - start;
  long failures = atomic_load(&l.failures);
  printf("requests %ld failures %ld seconds %.3f rps %.0f\n", requests, failures, elapsed,
         (double)(requests - failures) / elapsed);
  return failures > 0 ? 1 : 0;
}
