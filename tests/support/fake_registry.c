/* SPDX-License-Identifier: Apache-2.0 */
#include "fake_registry.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define REQUEST_MAX 16384
#define STALL_MAX_MS 60000

/* Bytes this connection may still send before it stalls; -1: no limit. */
static __thread long stall_budget = -1;
/* Content-Length this connection announces in place of the real one; -1: the real one. */
static __thread long long announced_length = -1;

static size_t announced(size_t len)
{
  return announced_length >= 0 ? (size_t)announced_length : len;
}

struct request {
  char method[16];
  char path[2048];
  char authorization[2048];
  long long range_start; /* -1 without Range */
};

struct connection {
  fake_registry *fake;
  int fd;
};

static long long now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sends nothing more and waits until the client closes the connection (or
 * STALL_MAX_MS pass), as a registry that hangs mid-response does. */
static void stall(int fd)
{
  struct pollfd pfd = {.fd = fd, .events = POLLIN | POLLRDHUP};
  long long until = now_ms() + STALL_MAX_MS;
  char sink[256];
  while (now_ms() < until && poll(&pfd, 1, 100) >= 0) {
    ssize_t n = pfd.revents != 0 ? recv(fd, sink, sizeof(sink), MSG_DONTWAIT) : 1;
    if (n == 0 || (n < 0 && errno != EAGAIN)) {
      return;
    }
  }
}

static void send_all(int fd, const void *data, size_t len)
{
  if (stall_budget == 0) {
    return;
  }
  if (stall_budget > 0 && len >= (size_t)stall_budget) {
    size_t allowed = (size_t)stall_budget;
    stall_budget = -1;
    send_all(fd, data, allowed);
    stall_budget = 0;
    stall(fd);
    return;
  }
  if (stall_budget > 0) {
    stall_budget -= (long)len;
  }
  const char *p = data;
  while (len > 0) {
    ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
    if (n <= 0) {
      return;
    }
    p += n;
    len -= (size_t)n;
  }
}

static void respond(int fd, int status, const char *extra_headers, const char *body, size_t len)
{
  char head[4096];
  int n = snprintf(head, sizeof(head),
                   "HTTP/1.1 %d X\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n", status,
                   announced(len), extra_headers != NULL ? extra_headers : "");
  send_all(fd, head, (size_t)n);
  send_all(fd, body, len);
}

static bool read_request(int fd, struct request *req)
{
  char buf[REQUEST_MAX + 1];
  size_t len = 0;
  while (len < REQUEST_MAX) {
    ssize_t n = recv(fd, buf + len, REQUEST_MAX - len, 0);
    if (n <= 0) {
      return false;
    }
    len += (size_t)n;
    buf[len] = '\0';
    if (buf[0] < 'A' || buf[0] > 'Z') {
      return false; /* a TLS handshake or garbage: close, as an HTTP server would */
    }
    if (strstr(buf, "\r\n\r\n") != NULL) {
      break;
    }
  }
  memset(req, 0, sizeof(*req));
  req->range_start = -1;
  if (sscanf(buf, "%15s %2047s", req->method, req->path) != 2) {
    return false;
  }
  for (char *line = strstr(buf, "\r\n"); line != NULL; line = strstr(line + 2, "\r\n")) {
    const char *h = line + 2;
    if (strncasecmp(h, "Authorization: ", 15) == 0) {
      sscanf(h + 15, "%2047[^\r]", req->authorization);
    } else if (strncasecmp(h, "Range: bytes=", 13) == 0) {
      req->range_start = strtoll(h + 13, NULL, 10);
    }
  }
  return true;
}

static char *read_file(const char *path, size_t *len)
{
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    return NULL;
  }
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *data = malloc((size_t)size + 1);
  *len = fread(data, 1, (size_t)size, f);
  fclose(f);
  return data;
}

static char *read_blob(fake_registry *fake, const char *digest, size_t *len)
{
  if (strncmp(digest, "sha256:", 7) != 0 || strchr(digest, '/') != NULL) {
    return NULL;
  }
  char path[8192];
  snprintf(path, sizeof(path), "%s/blobs/sha256/%s", fake->layout, digest + 7);
  return read_file(path, len);
}

static void base64(const char *in, char *out)
{
  static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t len = strlen(in), o = 0;
  for (size_t i = 0; i < len; i += 3) {
    unsigned v = (unsigned char)in[i] << 16;
    v |= i + 1 < len ? (unsigned char)in[i + 1] << 8 : 0;
    v |= i + 2 < len ? (unsigned char)in[i + 2] : 0;
    out[o++] = a[(v >> 18) & 63];
    out[o++] = a[(v >> 12) & 63];
    out[o++] = i + 1 < len ? a[(v >> 6) & 63] : '=';
    out[o++] = i + 2 < len ? a[v & 63] : '=';
  }
  out[o] = '\0';
}

static bool basic_matches(const fake_registry *fake, const char *authorization)
{
  char pair[512], encoded[1024], expected[1100];
  snprintf(pair, sizeof(pair), "%s:%s", fake->username, fake->password);
  base64(pair, encoded);
  snprintf(expected, sizeof(expected), "Basic %s", encoded);
  return strcmp(authorization, expected) == 0;
}

static void challenge(fake_registry *fake, int fd, const char *error)
{
  char headers[1024];
  if (fake->auth == FAKE_AUTH_BASIC) {
    snprintf(headers, sizeof(headers), "WWW-Authenticate: Basic realm=\"fake\"\r\n");
  } else {
    snprintf(headers, sizeof(headers),
             "WWW-Authenticate: Bearer realm=\"http://127.0.0.1:%d/token\",service=\"fake\","
             "scope=\"repository:test/app:pull\"%s%s%s\r\n",
             fake->port, error != NULL ? ",error=\"" : "", error != NULL ? error : "",
             error != NULL ? "\"" : "");
  }
  pthread_mutex_lock(&fake->lock);
  fake->unauthorized++;
  pthread_mutex_unlock(&fake->lock);
  respond(fd, 401, headers, "{}", 2);
}

static void serve_token(fake_registry *fake, int fd, const struct request *req)
{
  pthread_mutex_lock(&fake->lock);
  fake->token_requests++;
  bool bad = fake->username != NULL && !basic_matches(fake, req->authorization);
  fake->bad_credentials += bad ? 1 : 0;
  pthread_mutex_unlock(&fake->lock);
  if (bad || strstr(req->path, "scope=repository%3Atest%2Fapp%3Apull") == NULL) {
    respond(fd, 401, NULL, "{}", 2);
    return;
  }
  char body[256];
  int n = snprintf(body, sizeof(body), "{\"access_token\":\"tok.%lld\",\"expires_in\":%d}",
                   now_ms(), fake->token_lifetime);
  respond(fd, 200, "Content-Type: application/json\r\n", body, (size_t)n);
}

/* Returns true when the request may proceed; otherwise the 401 response was sent. */
static bool authorized(fake_registry *fake, int fd, const struct request *req)
{
  if (fake->auth == FAKE_AUTH_NONE) {
    return true;
  }
  if (fake->auth == FAKE_AUTH_BASIC) {
    if (fake->username != NULL && basic_matches(fake, req->authorization)) {
      return true;
    }
    challenge(fake, fd, NULL);
    return false;
  }
  long long issued = 0;
  if (sscanf(req->authorization, "Bearer tok.%lld", &issued) != 1) {
    challenge(fake, fd, NULL);
    return false;
  }
  if (now_ms() > issued + fake->token_lifetime * 1000LL) {
    pthread_mutex_lock(&fake->lock);
    fake->expired_tokens++;
    pthread_mutex_unlock(&fake->lock);
    challenge(fake, fd, "invalid_token");
    return false;
  }
  pthread_mutex_lock(&fake->lock);
  bool scope = fake->insufficient_scope_once && !fake->scope_done;
  fake->scope_done = true;
  pthread_mutex_unlock(&fake->lock);
  if (scope) {
    challenge(fake, fd, "insufficient_scope");
    return false;
  }
  return true;
}

static const char *manifest_type(const char *data, size_t len)
{
  static __thread char type[128];
  json_t *doc = json_loadb(data, len, 0, NULL);
  const char *t = json_string_value(json_object_get(doc, "mediaType"));
  snprintf(type, sizeof(type), "%s", t != NULL ? t : "application/vnd.oci.image.manifest.v1+json");
  json_decref(doc);
  return type;
}

/* Finds the digest of tag in the layout's index.json. */
static bool tag_digest(fake_registry *fake, const char *tag, char *digest, size_t size)
{
  char path[8192];
  snprintf(path, sizeof(path), "%s/index.json", fake->layout);
  json_t *index = json_load_file(path, 0, NULL);
  json_t *entry;
  size_t i;
  bool found = false;
  json_array_foreach(json_object_get(index, "manifests"), i, entry)
  {
    const char *name = json_string_value(json_object_get(json_object_get(entry, "annotations"),
                                                         "org.opencontainers.image.ref.name"));
    if (name != NULL && strcmp(name, tag) == 0) {
      snprintf(digest, size, "%s", json_string_value(json_object_get(entry, "digest")));
      found = true;
    }
  }
  json_decref(index);
  return found;
}

static void serve_manifest(fake_registry *fake, int fd, const char *ref)
{
  char digest[128];
  if (strncmp(ref, "sha256:", 7) == 0) {
    snprintf(digest, sizeof(digest), "%s", ref);
  } else if (!tag_digest(fake, ref, digest, sizeof(digest))) {
    respond(fd, 404, NULL, "{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\"}]}", 39);
    return;
  }
  size_t len = 0;
  char *data = read_blob(fake, digest, &len);
  if (data == NULL) {
    respond(fd, 404, NULL, "{}", 2);
    return;
  }
  char headers[512];
  snprintf(headers, sizeof(headers), "Content-Type: %s\r\nDocker-Content-Digest: %s\r\n",
           fake->manifest_type[0] != '\0' ? fake->manifest_type : manifest_type(data, len), digest);
  respond(fd, 200, headers, data, len);
  free(data);
}

static void count_blob(fake_registry *fake, const char *digest, const struct request *req)
{
  pthread_mutex_lock(&fake->lock);
  fake->range_requests += req->range_start >= 0 ? 1 : 0;
  fake->authorized_blob_gets += req->authorization[0] != '\0' ? 1 : 0;
  for (int i = 0; i < FAKE_MAX_COUNTED; i++) {
    if (fake->counted[i][0] == '\0') {
      snprintf(fake->counted[i], sizeof(fake->counted[i]), "%s", digest);
    }
    if (strcmp(fake->counted[i], digest) == 0) {
      fake->counts[i]++;
      break;
    }
  }
  pthread_mutex_unlock(&fake->lock);
}

/* Marks a one-time failure as done; returns true the first time. */
static bool first_time(fake_registry *fake, const char *armed, const char *digest, bool *done)
{
  pthread_mutex_lock(&fake->lock);
  bool first = strcmp(armed, digest) == 0 && !*done;
  if (first) {
    *done = true;
  }
  pthread_mutex_unlock(&fake->lock);
  return first;
}

static void send_blob(int fd, const char *data, size_t len, const struct request *req, bool cut)
{
  char head[512];
  size_t start =
      req->range_start > 0 && (size_t)req->range_start < len ? (size_t)req->range_start : 0;
  int n;
  if (start > 0) {
    n = snprintf(head, sizeof(head),
                 "HTTP/1.1 206 Partial\r\nContent-Length: %zu\r\nContent-Range: bytes %zu-%zu/%zu"
                 "\r\nConnection: close\r\n\r\n",
                 announced(len - start), start, len - 1, len);
  } else {
    n = snprintf(head, sizeof(head),
                 "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nContent-Type: "
                 "application/octet-stream\r\nConnection: close\r\n\r\n",
                 announced(len));
  }
  send_all(fd, head, (size_t)n);
  send_all(fd, data + start, cut ? (len - start) / 2 : len - start);
}

static void serve_blob(fake_registry *fake, int fd, const char *path_rest,
                       const struct request *req)
{
  char digest[128];
  snprintf(digest, sizeof(digest), "%s", path_rest);
  count_blob(fake, digest, req);
  if (fake->blob_delay_ms > 0) {
    usleep((useconds_t)fake->blob_delay_ms * 1000);
  }
  if (strcmp(fake->missing_blob, digest) == 0) {
    respond(fd, 404, NULL, "{}", 2);
    return;
  }
  if (fake->redirect_to[0] != '\0') {
    char headers[512];
    snprintf(headers, sizeof(headers), "Location: %s/cdn/%s\r\n", fake->redirect_to, digest);
    respond(fd, 307, headers, "", 0);
    return;
  }
  if (first_time(fake, fake->fail_blob, digest, &fake->fail_done)) {
    respond(fd, 500, NULL, "internal error", 14);
    return;
  }
  size_t len = 0;
  char *data = read_blob(fake, digest, &len);
  if (data == NULL) {
    respond(fd, 404, NULL, "{}", 2);
    return;
  }
  if (strcmp(fake->corrupt_blob, digest) == 0 && len > 0) {
    data[len - 1] ^= 0x01;
  }
  send_blob(fd, data, len, req, first_time(fake, fake->cut_blob, digest, &fake->cut_done));
  free(data);
}

static void route(fake_registry *fake, int fd, const struct request *req)
{
  const char *path = req->path;
  stall_budget = fake->stall_path[0] != '\0' && strstr(path, fake->stall_path) != NULL
                     ? fake->stall_after_bytes
                     : -1;
  announced_length = fake->overstate_path[0] != '\0' && strstr(path, fake->overstate_path) != NULL
                         ? fake->announced_length
                         : -1;
  if (stall_budget == 0) {
    stall(fd);
    return;
  }
  if (strncmp(path, "/token", 6) == 0) {
    serve_token(fake, fd, req);
    return;
  }
  if (strncmp(path, "/cdn/", 5) == 0) {
    serve_blob(fake, fd, path + 5, req);
    return;
  }
  if (!authorized(fake, fd, req)) {
    return;
  }
  const char *manifests = strstr(path, "/manifests/");
  const char *blobs = strstr(path, "/blobs/");
  if (strcmp(path, "/v2/") == 0) {
    respond(fd, 200, NULL, "{}", 2);
  } else if (manifests != NULL) {
    serve_manifest(fake, fd, manifests + strlen("/manifests/"));
  } else if (blobs != NULL) {
    serve_blob(fake, fd, blobs + strlen("/blobs/"), req);
  } else {
    respond(fd, 404, NULL, "{}", 2);
  }
}

static void *serve_connection(void *arg)
{
  struct connection *c = arg;
  struct request req;
  struct timeval timeout = {.tv_sec = 5};
  setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  if (read_request(c->fd, &req)) {
    route(c->fake, c->fd, &req);
  }
  close(c->fd);
  free(c);
  return NULL;
}

static void *accept_loop(void *arg)
{
  fake_registry *fake = arg;
  for (;;) {
    int fd = accept4(fake->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) {
        continue;
      }
      return NULL;
    }
    struct connection *c = malloc(sizeof(*c));
    c->fake = fake;
    c->fd = fd;
    pthread_t t;
    if (pthread_create(&t, NULL, serve_connection, c) != 0) {
      close(fd);
      free(c);
      continue;
    }
    pthread_detach(t);
  }
}

void fake_registry_start(fake_registry *fake)
{
  pthread_mutex_init(&fake->lock, NULL);
  fake->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t addr_len = sizeof(addr);
  if (bind(fake->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
      listen(fake->listen_fd, 128) < 0 ||
      getsockname(fake->listen_fd, (struct sockaddr *)&addr, &addr_len) < 0) {
    perror("fake registry: listen");
    abort();
  }
  fake->port = ntohs(addr.sin_port);
  pthread_create(&fake->thread, NULL, accept_loop, fake);
}

void fake_registry_stop(fake_registry *fake)
{
  shutdown(fake->listen_fd, SHUT_RDWR);
  close(fake->listen_fd);
  pthread_join(fake->thread, NULL);
}

int fake_registry_blob_gets(fake_registry *fake, const char *digest)
{
  int count = 0;
  pthread_mutex_lock(&fake->lock);
  for (int i = 0; i < FAKE_MAX_COUNTED; i++) {
    if (strcmp(fake->counted[i], digest) == 0) {
      count = fake->counts[i];
    }
  }
  pthread_mutex_unlock(&fake->lock);
  return count;
}

void fake_registry_reset(fake_registry *fake)
{
  pthread_mutex_lock(&fake->lock);
  fake->token_requests = fake->bad_credentials = fake->expired_tokens = 0;
  fake->unauthorized = fake->range_requests = fake->authorized_blob_gets = 0;
  memset(fake->counted, 0, sizeof(fake->counted));
  memset(fake->counts, 0, sizeof(fake->counts));
  fake->cut_done = fake->fail_done = fake->scope_done = false;
  pthread_mutex_unlock(&fake->lock);
}
