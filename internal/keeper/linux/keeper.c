/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The keeper process on Linux: starts the process as its child, then runs
 * a poll() loop over the process's stdio, its pidfd, the container init's
 * pidfd, the listening socket and the one server connection.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/mem.h"
#include "keeper/keeper.h"
#include "keeper/linux/keeper_linux.h"

#define HANDSHAKE_FD 3
/* After the process exits, how long to wait for its output to reach end
 * of file when a background child still holds the pipes open. */
#define DRAIN_MS 2000
/* Encoded frames queued for the server before the backlog is left alone;
 * what is queued is lost when the server goes away. */
#define MAX_QUEUED (256 * 1024)
/* Input kept for a process that does not read its stdin; more is dropped. */
#define MAX_STDIN (16u * 1024 * 1024)

typedef struct keeper {
  cf_keeper_request request;
  cf_process process;
  int handshake_fd;
  int listen_fd;
  int conn_fd;
  int init_pidfd;
  int out_fd[3]; /* index 1 stdout (or the terminal), 2 stderr */
  cf_keeper_backlog backlog[3];
  int stdin_fd;
  cf_buf stdin_data;
  bool stdin_closing;
  cf_buf in;  /* bytes from the server not yet decoded */
  cf_buf out; /* frames not yet written to the server */
  bool exited;
  int exit_status;
  int64_t exited_at_ms;
  bool exit_queued; /* on the current connection */
  bool released;
  bool init_gone;
  bool listening; /* the socket file is ours to remove */
} keeper;

static int64_t now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void keeper_init(keeper *k)
{
  memset(k, 0, sizeof(*k));
  k->process =
      (cf_process){.pid = -1, .pidfd = -1, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1};
  k->handshake_fd = HANDSHAKE_FD;
  k->listen_fd = -1;
  k->conn_fd = -1;
  k->init_pidfd = -1;
  k->stdin_fd = -1;
  for (int fd = 0; fd < 3; fd++) {
    k->out_fd[fd] = -1;
    cf_keeper_backlog_init(&k->backlog[fd]);
  }
  cf_buf_init(&k->stdin_data, MAX_STDIN);
  cf_buf_init(&k->in, CF_KEEPER_HEADER_SIZE + CF_KEEPER_MAX_PAYLOAD);
  cf_buf_init(&k->out, MAX_QUEUED + CF_KEEPER_HEADER_SIZE + CF_KEEPER_OUTPUT_CHUNK + 64);
}

static void keeper_free(keeper *k)
{
  if (k->listening) {
    unlink(k->request.socket_path);
  }
  cf_closep(&k->handshake_fd);
  cf_closep(&k->listen_fd);
  cf_closep(&k->conn_fd);
  cf_closep(&k->init_pidfd);
  cf_closep(&k->stdin_fd);
  for (int fd = 0; fd < 3; fd++) {
    cf_closep(&k->out_fd[fd]);
    cf_keeper_backlog_free(&k->backlog[fd]);
  }
  cf_process_close(&k->process);
  cf_buf_free(&k->stdin_data);
  cf_buf_free(&k->in);
  cf_buf_free(&k->out);
  cf_keeper_request_clear(&k->request);
}

/* --- Start --- */

static int read_request(keeper *k, cf_err **err)
{
  cf_keeper_frame frame;
  size_t consumed = 0;
  if (cf_keeper_read_frame(k->handshake_fd, &k->in, 60 * 1000, &frame, &consumed, err) < 0) {
    return cf_err_wrap(err, "read spawn request");
  }
  if (frame.type != CF_KEEPER_SPAWN) {
    return cf_err_set(err, CF_E_INVALID, "expected a spawn request, got frame type %u", frame.type);
  }
  int rc = cf_keeper_request_decode(frame.payload, frame.len, &k->request, err);
  cf_buf_reset(&k->in);
  return rc;
}

/* Watches the init, so the keeper ends when its container is gone. The
 * start time is checked after the pidfd is open, so a reused pid is never
 * mistaken for the init. */
static int watch_init(keeper *k, cf_err **err)
{
  const cf_container_init *init = &k->request.init;
  k->init_pidfd = (int)syscall(SYS_pidfd_open, init->pid, 0U);
  if (k->init_pidfd < 0 || !cf_runtime_container_alive(init)) {
    return cf_err_set(err, CF_E_NOT_FOUND, "container init %d of %s is not running", (int)init->pid,
                      k->request.handle);
  }
  return 0;
}

static int listen_socket(keeper *k, cf_err **err)
{
  struct sockaddr_un addr;
  cf_autoclose int dir_fd = -1;
  const char *path = k->request.socket_path;
  if (cf_keeper_socket_addr(path, &addr, &dir_fd, err) < 0) {
    return -1;
  }
  k->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (k->listen_fd < 0) {
    return cf_err_sys(err, errno, "create keeper socket");
  }
  unlink(path);
  /* Only root, the server's user, may connect. */
  mode_t old_mask = umask(0077);
  int rc = bind(k->listen_fd, (struct sockaddr *)&addr, sizeof(addr));
  umask(old_mask);
  if (rc < 0) {
    return cf_err_sys(err, errno, "bind keeper socket %s", path);
  }
  k->listening = true;
  if (listen(k->listen_fd, 4) < 0) {
    return cf_err_sys(err, errno, "listen on keeper socket %s", path);
  }
  return 0;
}

static void set_nonblocking(int fd)
{
  int flags = fcntl(fd, F_GETFL);
  if (flags >= 0) {
    fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  }
}

/* Garden's rlimits become an OCI config with only process.rlimits. */
static json_t *oci_config(const keeper *k)
{
  if (k->request.rlimits == NULL) {
    return NULL;
  }
  return json_pack("{s:{s:O}}", "process", "rlimits", k->request.rlimits);
}

static int start_process(keeper *k, cf_err **err)
{
  const cf_keeper_request *r = &k->request;
  json_t *config = oci_config(k);
  cf_process_spec spec = {
      .path = r->path,
      .args = (const char *const *)r->args,
      .arg_count = r->arg_count,
      .env = (const char *const *)r->env,
      .env_count = r->env_count,
      .dir = r->dir,
      .user = r->user,
      .privileged = r->privileged,
      .oci_config = config,
      .terminal = r->tty,
      .terminal_rows = r->rows,
      .terminal_columns = r->columns,
  };
  int rc = cf_runtime_exec(&r->init, &spec, &k->process, err);
  json_decref(config);
  if (rc < 0) {
    return -1;
  }
  k->stdin_fd = cf_steal_fd(&k->process.stdin_fd);
  k->out_fd[1] = cf_steal_fd(&k->process.stdout_fd);
  k->out_fd[2] = cf_steal_fd(&k->process.stderr_fd);
  for (int fd = 1; fd <= 2; fd++) {
    if (k->out_fd[fd] >= 0) {
      set_nonblocking(k->out_fd[fd]);
    }
  }
  set_nonblocking(k->stdin_fd);
  return 0;
}

static void send_handshake(keeper *k, uint8_t type, char *text)
{
  cf_buf frame;
  cf_buf_init(&frame, CF_KEEPER_HEADER_SIZE + CF_KEEPER_MAX_PAYLOAD);
  if (cf_keeper_frame_append(&frame, type, text, strlen(text), NULL) == 0) {
    cf_write_all(k->handshake_fd, frame.data, frame.len, NULL);
  }
  cf_buf_free(&frame);
  free(text);
  cf_closep(&k->handshake_fd);
}

static void send_started(keeper *k)
{
  cf_keeper_started started = {
      .pid = k->process.pid,
      .start_time = k->process.start_time,
      .keeper_pid = getpid(),
  };
  cf_runtime_pid_start_time(getpid(), &started.keeper_start_time, NULL);
  send_handshake(k, CF_KEEPER_STARTED, cf_keeper_started_encode(&started));
}

/* --- Connection to the server --- */

static void drop_connection(keeper *k)
{
  cf_closep(&k->conn_fd);
  cf_buf_reset(&k->in);
  cf_buf_reset(&k->out);
  k->exit_queued = false;
}

static void accept_connection(keeper *k)
{
  int fd = accept4(k->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (fd < 0) {
    return;
  }
  /* A new server replaces the old one, which is gone or stale. */
  drop_connection(k);
  k->conn_fd = fd;
}

static void close_stdin(keeper *k)
{
  cf_closep(&k->stdin_fd);
  cf_buf_free(&k->stdin_data);
  cf_buf_init(&k->stdin_data, MAX_STDIN);
}

static void write_stdin(keeper *k)
{
  while (k->stdin_fd >= 0 && k->stdin_data.len > 0) {
    ssize_t n = write(k->stdin_fd, k->stdin_data.data, k->stdin_data.len);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0 && errno == EAGAIN) {
      return;
    }
    if (n <= 0) {
      close_stdin(k); /* EPIPE: the process closed its stdin */
      return;
    }
    cf_buf_consume(&k->stdin_data, (size_t)n);
  }
  if (k->stdin_closing && k->stdin_data.len == 0) {
    close_stdin(k);
  }
}

static void resize_terminal(keeper *k, const cf_keeper_frame *frame)
{
  const unsigned char *p = (const unsigned char *)frame->payload;
  uint16_t rows = (uint16_t)(p[0] << 8 | p[1]);
  uint16_t columns = (uint16_t)(p[2] << 8 | p[3]);
  if (!k->request.tty || k->out_fd[1] < 0) {
    return;
  }
  cf_process terminal = k->process;
  terminal.stdin_fd = k->out_fd[1];
  cf_runtime_process_resize(&terminal, rows, columns, NULL);
}

/* Applies one frame from the server; false for a frame a server never
 * sends, which ends the connection. */
static bool apply_frame(keeper *k, const cf_keeper_frame *frame)
{
  switch (frame->type) {
  case CF_KEEPER_STDIN:
    if (k->stdin_fd >= 0 && !k->stdin_closing) {
      cf_buf_append(&k->stdin_data, frame->payload, frame->len, NULL);
      write_stdin(k);
    }
    return true;
  case CF_KEEPER_STDIN_CLOSE:
    k->stdin_closing = true;
    write_stdin(k);
    return true;
  case CF_KEEPER_SIGNAL:
    if (!k->exited) {
      cf_runtime_process_signal(&k->process, (int)cf_keeper_frame_u32(frame), NULL);
    }
    return true;
  case CF_KEEPER_WINSIZE:
    resize_terminal(k, frame);
    return true;
  case CF_KEEPER_RELEASE:
    k->released = true;
    return true;
  default:
    return false;
  }
}

static void read_connection(keeper *k)
{
  char chunk[65536];
  ssize_t n = read(k->conn_fd, chunk, sizeof(chunk));
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
    return;
  }
  if (n <= 0 || cf_buf_append(&k->in, chunk, (size_t)n, NULL) < 0) {
    drop_connection(k);
    return;
  }
  for (;;) {
    cf_keeper_frame frame;
    size_t consumed = 0;
    int got = cf_keeper_frame_decode(k->in.data, k->in.len, &frame, &consumed, NULL);
    if (got == 0) {
      return;
    }
    if (got < 0 || !apply_frame(k, &frame)) {
      drop_connection(k);
      return;
    }
    cf_buf_consume(&k->in, consumed);
  }
}

static bool output_open(const keeper *k)
{
  return k->out_fd[1] >= 0 || k->out_fd[2] >= 0;
}

/* Moves kept output into frames for the server, then the exit status once
 * every byte of output has gone before it. */
static void queue_frames(keeper *k)
{
  if (k->conn_fd < 0) {
    return;
  }
  for (int fd = 1; fd <= 2; fd++) {
    cf_buf *data = &k->backlog[fd].data;
    uint8_t type = fd == 1 ? CF_KEEPER_STDOUT : CF_KEEPER_STDERR;
    size_t taken = 0;
    while (taken < data->len && k->out.len < MAX_QUEUED) {
      size_t left = data->len - taken;
      size_t len = left < CF_KEEPER_OUTPUT_CHUNK ? left : CF_KEEPER_OUTPUT_CHUNK;
      if (cf_keeper_frame_append(&k->out, type, data->data + taken, len, NULL) < 0) {
        break;
      }
      taken += len;
    }
    if (taken > 0) {
      cf_buf_consume(data, taken); /* one move of the rest per call, not one per frame */
    }
  }
  bool drained = k->backlog[1].data.len == 0 && k->backlog[2].data.len == 0;
  if (k->exited && !output_open(k) && drained && !k->exit_queued &&
      cf_keeper_frame_append_u32(&k->out, CF_KEEPER_EXIT, (uint32_t)k->exit_status, NULL) == 0) {
    k->exit_queued = true;
  }
}

static void write_connection(keeper *k)
{
  while (k->conn_fd >= 0 && k->out.len > 0) {
    ssize_t n = send(k->conn_fd, k->out.data, k->out.len, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0 && errno == EAGAIN) {
      return;
    }
    if (n <= 0) {
      drop_connection(k);
      return;
    }
    cf_buf_consume(&k->out, (size_t)n);
    queue_frames(k);
  }
}

/* --- The process --- */

static void read_output(keeper *k, int fd)
{
  char chunk[65536];
  /* A bounded number of reads per wake-up keeps one busy stream from
   * starving the other descriptors. */
  for (int i = 0; i < 16; i++) {
    ssize_t n = read(k->out_fd[fd], chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0 && errno == EAGAIN) {
      return;
    }
    if (n <= 0) {
      /* End of file, or EIO from a terminal whose last slave closed. */
      cf_closep(&k->out_fd[fd]);
      return;
    }
    cf_keeper_backlog_add(&k->backlog[fd], chunk, (size_t)n);
  }
}

static void reap_process(keeper *k)
{
  bool exited = false;
  int status = 0;
  if (cf_runtime_process_wait(&k->process, &exited, &status, NULL) < 0) {
    exited = true;
    status = 255;
  }
  if (!exited) {
    return;
  }
  k->exited = true;
  k->exit_status = status;
  k->exited_at_ms = now_ms();
  close_stdin(k);
}

static void end_drain_if_due(keeper *k)
{
  if (k->exited && output_open(k) && now_ms() - k->exited_at_ms >= DRAIN_MS) {
    cf_closep(&k->out_fd[1]);
    cf_closep(&k->out_fd[2]);
  }
}

/* --- Loop --- */

static bool finished(const keeper *k)
{
  if (!k->exited) {
    return false;
  }
  if (k->released) {
    return true;
  }
  /* Once the container is gone nobody can attach to it again: the keeper
   * hands the exit status to a connected server and ends. */
  return k->init_gone && (k->conn_fd < 0 || (k->exit_queued && k->out.len == 0));
}

enum slot { SLOT_LISTEN, SLOT_CONN, SLOT_STDOUT, SLOT_STDERR, SLOT_STDIN, SLOT_EXIT, SLOT_INIT };

static void fill_pollfds(const keeper *k, struct pollfd pfds[7])
{
  pfds[SLOT_LISTEN] = (struct pollfd){.fd = k->listen_fd, .events = POLLIN};
  pfds[SLOT_CONN] = (struct pollfd){
      .fd = k->conn_fd,
      .events = (short)(POLLIN | (k->out.len > 0 ? POLLOUT : 0)),
  };
  pfds[SLOT_STDOUT] = (struct pollfd){.fd = k->out_fd[1], .events = POLLIN};
  pfds[SLOT_STDERR] = (struct pollfd){.fd = k->out_fd[2], .events = POLLIN};
  pfds[SLOT_STDIN] = (struct pollfd){
      .fd = k->stdin_data.len > 0 ? k->stdin_fd : -1,
      .events = POLLOUT,
  };
  pfds[SLOT_EXIT] = (struct pollfd){.fd = k->exited ? -1 : k->process.pidfd, .events = POLLIN};
  pfds[SLOT_INIT] = (struct pollfd){.fd = k->init_pidfd, .events = POLLIN};
}

static int poll_timeout(const keeper *k)
{
  if (!k->exited || !output_open(k)) {
    return -1;
  }
  int64_t left = k->exited_at_ms + DRAIN_MS - now_ms();
  return left > 0 ? (int)left : 0;
}

static void handle_events(keeper *k, const struct pollfd pfds[7])
{
  const short ready = POLLIN | POLLHUP | POLLERR;
  if (pfds[SLOT_EXIT].revents & ready) {
    reap_process(k);
  }
  if (pfds[SLOT_INIT].revents & ready) {
    k->init_gone = true;
    cf_closep(&k->init_pidfd);
  }
  if (pfds[SLOT_STDOUT].revents & ready) {
    read_output(k, 1);
  }
  if (pfds[SLOT_STDERR].revents & ready) {
    read_output(k, 2);
  }
  if (pfds[SLOT_STDIN].revents & (POLLOUT | POLLERR | POLLHUP)) {
    write_stdin(k);
  }
  if (pfds[SLOT_LISTEN].revents & POLLIN) {
    accept_connection(k);
  } else if (pfds[SLOT_CONN].revents & (POLLIN | POLLHUP | POLLERR)) {
    read_connection(k);
  }
  if (k->conn_fd >= 0 && (pfds[SLOT_CONN].revents & POLLOUT)) {
    write_connection(k);
  }
}

static void run(keeper *k)
{
  while (!finished(k)) {
    struct pollfd pfds[7];
    fill_pollfds(k, pfds);
    int ready = poll(pfds, 7, poll_timeout(k));
    if (ready < 0 && errno != EINTR) {
      return;
    }
    if (ready > 0) {
      handle_events(k, pfds);
    }
    end_drain_if_due(k);
    queue_frames(k);
    write_connection(k);
  }
}

/* --- Entry --- */

static bool is_socket(int fd)
{
  struct stat st;
  return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

/* The keeper must not inherit the server's blocked signals, and a server
 * that went away must not kill it with SIGPIPE. */
static void prepare_signals(void)
{
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  signal(SIGPIPE, SIG_IGN);
  signal(SIGCHLD, SIG_DFL);
  signal(SIGHUP, SIG_IGN);
}

int cf_keeper_main(int argc, char **argv)
{
  (void)argc;
  (void)argv;
  if (!is_socket(HANDSHAKE_FD)) {
    fprintf(stderr, "cfwin keeper: descriptor 3 is not a socket; the keeper role is started "
                    "by `cfwin serve` for each process, not by hand\n");
    return 2;
  }
  prepare_signals();
  keeper k;
  keeper_init(&k);
  cf_err *err = NULL;
  if (read_request(&k, &err) < 0 || watch_init(&k, &err) < 0 || listen_socket(&k, &err) < 0 ||
      start_process(&k, &err) < 0) {
    send_handshake(&k, CF_KEEPER_FAILED, cf_keeper_failure_encode(err));
    cf_err_free(err);
    keeper_free(&k);
    return 1;
  }
  send_started(&k);
  run(&k);
  keeper_free(&k);
  return 0;
}
