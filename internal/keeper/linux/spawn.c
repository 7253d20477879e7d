/* SPDX-License-Identifier: Apache-2.0 */
/* The server's side of a keeper on Linux: starting it and reaching it. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/mem.h"
#include "keeper/keeper.h"
#include "keeper/linux/keeper_linux.h"

/* How long the server waits for a keeper to start its process: the exec
 * reads the container's passwd file and joins its namespaces, which takes
 * milliseconds, but a loaded machine can stall it much longer. */
#define SPAWN_TIMEOUT_MS (120 * 1000)
#define HANDSHAKE_FD 3

extern char **environ;

static int64_t now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int cf_keeper_read_frame(int fd, cf_buf *in, int timeout_ms, cf_keeper_frame *frame,
                         size_t *consumed, cf_err **err)
{
  int64_t deadline = timeout_ms >= 0 ? now_ms() + timeout_ms : -1;
  for (;;) {
    int got = cf_keeper_frame_decode(in->data, in->len, frame, consumed, err);
    if (got != 0) {
      return got < 0 ? -1 : 0;
    }
    int wait_ms = deadline < 0 ? -1 : (int)(deadline - now_ms());
    if (deadline >= 0 && wait_ms <= 0) {
      return cf_err_set(err, CF_E_SYSTEM, "keeper did not reply within %d ms", timeout_ms);
    }
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    int ready = poll(&pfd, 1, wait_ms);
    if (ready < 0 && errno == EINTR) {
      continue;
    }
    if (ready < 0) {
      return cf_err_sys(err, errno, "wait for the keeper");
    }
    if (ready == 0) {
      continue;
    }
    char chunk[65536];
    ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
      continue;
    }
    if (n < 0) {
      return cf_err_sys(err, errno, "read from the keeper");
    }
    if (n == 0) {
      return cf_err_set(err, CF_E_SYSTEM, "keeper closed its socket before a whole frame");
    }
    if (cf_buf_append(in, chunk, (size_t)n, err) < 0) {
      return cf_err_wrap(err, "read from the keeper");
    }
  }
}

int cf_keeper_socket_addr(const char *path, struct sockaddr_un *addr, int *dir_fd, cf_err **err)
{
  memset(addr, 0, sizeof(*addr));
  addr->sun_family = AF_UNIX;
  *dir_fd = -1;
  if (strlen(path) < sizeof(addr->sun_path)) {
    memcpy(addr->sun_path, path, strlen(path) + 1);
    return 0;
  }
  /* The kernel resolves the socket path like any other, so a long path is
   * reachable through a short /proc/self/fd link to its directory. */
  const char *slash = strrchr(path, '/');
  if (slash == NULL || strlen(slash + 1) + 32 >= sizeof(addr->sun_path)) {
    return cf_err_set(err, CF_E_INVALID, "keeper socket name %s is too long", path);
  }
  cf_autofree char *dir = cf_xstrndup(path, (size_t)(slash - path));
  *dir_fd = open(dir[0] != '\0' ? dir : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (*dir_fd < 0) {
    return cf_err_sys(err, errno, "open keeper socket directory %s", dir);
  }
  snprintf(addr->sun_path, sizeof(addr->sun_path), "/proc/self/fd/%d/%s", *dir_fd, slash + 1);
  return 0;
}

int cf_keeper_connect(const char *path, int *fd, cf_err **err)
{
  struct sockaddr_un addr;
  cf_autoclose int dir_fd = -1;
  if (cf_keeper_socket_addr(path, &addr, &dir_fd, err) < 0) {
    return -1;
  }
  cf_autoclose int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (sock < 0) {
    return cf_err_sys(err, errno, "create socket for keeper %s", path);
  }
  int rc;
  do {
    rc = connect(sock, (struct sockaddr *)&addr, sizeof(addr));
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) {
    int saved = errno;
    return cf_err_set(err, saved == ENOENT || saved == ECONNREFUSED ? CF_E_NOT_FOUND : CF_E_SYSTEM,
                      "connect to keeper %s: %s", path, strerror(saved));
  }
  *fd = cf_steal_fd(&sock);
  return 0;
}

/* Runs in the forked child of a possibly multi-threaded server, so it
 * calls only async-signal-safe functions. The intermediate child starts a
 * new session and exits, so the keeper is adopted by the host's init (or
 * the nearest subreaper) and survives the server. */
static void exec_keeper(int handshake, int dev_null, char *const argv[])
{
  if (setsid() < 0) {
    _exit(126);
  }
  pid_t keeper = fork();
  if (keeper != 0) {
    _exit(keeper < 0 ? 126 : 0);
  }
  if (dup2(dev_null, 0) < 0 || dup2(dev_null, 1) < 0 || dup2(dev_null, 2) < 0) {
    _exit(126);
  }
  if (handshake == HANDSHAKE_FD) {
    fcntl(HANDSHAKE_FD, F_SETFD, 0);
  } else if (dup2(handshake, HANDSHAKE_FD) < 0) {
    _exit(126);
  }
  /* Nothing of the server but the handshake socket reaches the keeper. */
  if (syscall(SYS_close_range, HANDSHAKE_FD + 1, ~0U, 0) < 0) {
    for (int fd = HANDSHAKE_FD + 1; fd < 65536; fd++) {
      close(fd);
    }
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  chdir("/");
  execve("/proc/self/exe", argv, environ);
  _exit(127);
}

/* Starts the keeper and reaps the intermediate child; *server_end is the
 * server's end of the handshake socket. */
static int start_keeper(int *server_end, cf_err **err)
{
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0) {
    return cf_err_sys(err, errno, "create keeper handshake socket");
  }
  cf_autoclose int keeper_end = pair[1];
  cf_autoclose int ours = pair[0];
  cf_autoclose int dev_null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (dev_null < 0) {
    return cf_err_sys(err, errno, "open /dev/null for the keeper");
  }
  char *argv[] = {"cfwin", "keeper", NULL};
  pid_t child = fork();
  if (child < 0) {
    return cf_err_sys(err, errno, "fork keeper");
  }
  if (child == 0) {
    exec_keeper(keeper_end, dev_null, argv);
  }
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return cf_err_set(err, CF_E_SYSTEM, "start keeper: intermediate child failed with status %d",
                      status);
  }
  *server_end = cf_steal_fd(&ours);
  return 0;
}

/* Reads the keeper's reply to the spawn request. */
static int read_reply(int sock, cf_keeper_started *out, cf_err **err)
{
  cf_buf in;
  cf_buf_init(&in, CF_KEEPER_HEADER_SIZE + CF_KEEPER_MAX_PAYLOAD);
  cf_keeper_frame frame;
  size_t consumed = 0;
  int rc = cf_keeper_read_frame(sock, &in, SPAWN_TIMEOUT_MS, &frame, &consumed, err);
  if (rc == 0 && frame.type == CF_KEEPER_STARTED) {
    rc = cf_keeper_started_decode(frame.payload, frame.len, out, err);
  } else if (rc == 0 && frame.type == CF_KEEPER_FAILED) {
    rc = cf_keeper_failure_decode(frame.payload, frame.len, err);
  } else if (rc == 0) {
    rc = cf_err_set(err, CF_E_SYSTEM, "keeper replied with frame type %u to a spawn request",
                    frame.type);
  } else {
    cf_err_wrap(err, "start process through its keeper");
  }
  cf_buf_free(&in);
  return rc;
}

int cf_keeper_spawn(const cf_keeper_request *request, cf_keeper_started *out, cf_err **err)
{
  cf_autofree char *text = cf_keeper_request_encode(request);
  cf_buf frame;
  cf_buf_init(&frame, CF_KEEPER_HEADER_SIZE + CF_KEEPER_MAX_PAYLOAD);
  if (cf_keeper_frame_append(&frame, CF_KEEPER_SPAWN, text, strlen(text), err) < 0) {
    cf_buf_free(&frame);
    return cf_err_wrap(err, "process spec of %s", request->id);
  }
  cf_autoclose int sock = -1;
  int rc = start_keeper(&sock, err);
  if (rc == 0) {
    rc = cf_write_all(sock, frame.data, frame.len, err);
  }
  cf_buf_free(&frame);
  if (rc == 0) {
    rc = read_reply(sock, out, err);
  }
  return rc;
}

/* Reads the state and start time (fields 3 and 22) of /proc/<pid>/stat. */
static bool read_stat(pid_t pid, char *state, uint64_t *start_time)
{
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "re");
  if (f == NULL) {
    return false;
  }
  char text[1024];
  size_t n = fread(text, 1, sizeof(text) - 1, f);
  fclose(f);
  text[n] = '\0';
  /* The command name may hold spaces and parentheses; fields restart after
   * the last ')'. */
  const char *after = strrchr(text, ')');
  unsigned long long start = 0;
  if (after == NULL ||
      sscanf(after + 1,
             " %c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu",
             state, &start) != 2) {
    return false;
  }
  *start_time = start;
  return true;
}

bool cf_keeper_alive(pid_t pid, uint64_t start_time)
{
  char state = 0;
  uint64_t now = 0;
  /* A zombie keeper has ended; its parent just has not reaped it yet. */
  return pid > 0 && read_stat(pid, &state, &now) && now == start_time && state != 'Z';
}

int cf_keeper_end(pid_t pid, uint64_t start_time, int timeout_ms, cf_err **err)
{
  int64_t deadline = now_ms() + timeout_ms;
  while (cf_keeper_alive(pid, start_time) && now_ms() < deadline) {
    struct timespec pause = {.tv_nsec = 20 * 1000 * 1000};
    nanosleep(&pause, NULL);
  }
  if (!cf_keeper_alive(pid, start_time)) {
    return 0;
  }
  cf_err *signal_err = NULL;
  if (cf_runtime_pid_signal(pid, start_time, SIGKILL, &signal_err) < 0) {
    bool gone = signal_err->code == CF_E_NOT_FOUND;
    if (!gone) {
      int rc =
          cf_err_set(err, signal_err->code, "kill keeper %d: %s", (int)pid, signal_err->message);
      cf_err_free(signal_err);
      return rc;
    }
    cf_err_free(signal_err);
  }
  return 0;
}
