/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Processes with a terminal in the runtime role. Attached, the runtime
 * relays its stdin to the terminal master and the master to its stdout,
 * with its own terminal in raw mode, and turns SIGWINCH into a resize.
 * Detached, it sends the master over runc's --console-socket: a unix stream
 * socket that receives one message whose data is the slave's path and whose
 * SCM_RIGHTS descriptor is the master.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "base/mem.h"
#include "cli/linux/runtime_tty.h"
#include "cli/runtime_cli.h"

/* The CLI's stdin or, failing that, stdout when it is a terminal. */
static int cli_terminal(void)
{
  if (isatty(0)) {
    return 0;
  }
  return isatty(1) ? 1 : -1;
}

void rt_tty_size(uint16_t *rows, uint16_t *columns)
{
  struct winsize size = {0};
  int fd = cli_terminal();
  if (fd >= 0) {
    ioctl(fd, TIOCGWINSZ, &size);
  }
  *rows = size.ws_row;
  *columns = size.ws_col;
}

/* ---- attached: the relay ---- */

typedef struct relay {
  cf_process *process;
  int in_fd;            /* the CLI's stdin, -1 after end of file */
  bool output_open;     /* false once writing the CLI's stdout failed */
  bool master_open;     /* false once the master reads end of file or EIO */
  char pending[4096];   /* stdin bytes the master has not taken yet */
  size_t pending_start; /* first byte not written */
  size_t pending_end;
  bool raw;               /* the CLI's stdin was put in raw mode */
  struct termios restore; /* its settings before */
} relay;

/* Puts the CLI's stdin in raw mode when it is a terminal, so every key
 * reaches the container's terminal, which does its own line editing,
 * echo and signal keys. */
static void enter_raw_mode(relay *r)
{
  if (!isatty(0) || tcgetattr(0, &r->restore) < 0) {
    return;
  }
  struct termios raw = r->restore;
  cfmakeraw(&raw);
  r->raw = tcsetattr(0, TCSANOW, &raw) == 0;
}

static void leave_raw_mode(relay *r)
{
  if (r->raw) {
    tcsetattr(0, TCSANOW, &r->restore);
    r->raw = false;
  }
}

/* Writes all of data to the CLI's stdout, waiting while it is full. After
 * a failure the output is dropped, so the process never blocks on a full
 * terminal. */
static void write_output(relay *r, const char *data, size_t len)
{
  while (r->output_open && len > 0) {
    ssize_t n = write(1, data, len);
    if (n < 0 && errno == EAGAIN) {
      struct pollfd out = {.fd = 1, .events = POLLOUT};
      poll(&out, 1, -1);
      continue;
    }
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      r->output_open = false;
      return;
    }
    data += n;
    len -= (size_t)n;
  }
}

/* Copies what the master has to the CLI's stdout without blocking. */
static void copy_output(relay *r)
{
  char chunk[8192];
  while (r->master_open) {
    ssize_t n = read(r->process->stdout_fd, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0 && errno == EAGAIN) {
      return;
    }
    /* EIO: every descriptor of the slave is closed. */
    if (n <= 0) {
      r->master_open = false;
      return;
    }
    write_output(r, chunk, (size_t)n);
  }
}

/* Sends the terminal's end-of-file character, as a user typing it would,
 * when the CLI's stdin ends without being a terminal itself. */
static void send_end_of_file(relay *r)
{
  struct termios settings;
  if (tcgetattr(r->process->stdin_fd, &settings) == 0 && (settings.c_lflag & ICANON)) {
    char eof = (char)settings.c_cc[VEOF];
    (void)write(r->process->stdin_fd, &eof, 1);
  }
}

static void read_input(relay *r)
{
  ssize_t n;
  do {
    n = read(r->in_fd, r->pending, sizeof(r->pending));
  } while (n < 0 && errno == EINTR);
  if (n < 0 && errno == EAGAIN) {
    return;
  }
  if (n <= 0) {
    if (!isatty(r->in_fd)) {
      send_end_of_file(r);
    }
    r->in_fd = -1;
    return;
  }
  r->pending_start = 0;
  r->pending_end = (size_t)n;
}

static void write_input(relay *r)
{
  ssize_t n =
      write(r->process->stdin_fd, r->pending + r->pending_start, r->pending_end - r->pending_start);
  if (n > 0) {
    r->pending_start += (size_t)n;
  } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
    /* The terminal is gone; the exit of the process ends the relay. */
    r->pending_start = r->pending_end;
  }
}

/* Resizes the process's terminal to the CLI's on SIGWINCH; forwards any
 * other signal to the process. */
static void handle_signal(relay *r, int sfd)
{
  struct signalfd_siginfo info;
  while (read(sfd, &info, sizeof(info)) == sizeof(info)) {
    if (info.ssi_signo != SIGWINCH) {
      cf_runtime_process_signal(r->process, (int)info.ssi_signo, NULL);
      continue;
    }
    uint16_t rows;
    uint16_t columns;
    rt_tty_size(&rows, &columns);
    if (rows != 0 || columns != 0) {
      cf_runtime_process_resize(r->process, rows, columns, NULL);
    }
  }
}

enum { POLL_PID, POLL_SIGNAL, POLL_INPUT, POLL_MASTER_IN, POLL_MASTER_OUT, POLL_COUNT };

static void build_poll_set(const relay *r, int sfd, struct pollfd fds[POLL_COUNT])
{
  bool pending = r->pending_start < r->pending_end;
  fds[POLL_PID] = (struct pollfd){.fd = r->process->pidfd, .events = POLLIN};
  fds[POLL_SIGNAL] = (struct pollfd){.fd = sfd, .events = POLLIN};
  fds[POLL_INPUT] = (struct pollfd){.fd = pending ? -1 : r->in_fd, .events = POLLIN};
  fds[POLL_MASTER_IN] =
      (struct pollfd){.fd = r->master_open ? r->process->stdout_fd : -1, .events = POLLIN};
  fds[POLL_MASTER_OUT] =
      (struct pollfd){.fd = pending ? r->process->stdin_fd : -1, .events = POLLOUT};
}

/* Runs the relay until the process exits, then copies what the master
 * still holds. Signals are handled before input in each round, so a resize
 * the caller signalled before typing reaches the terminal first. */
static int run_relay(relay *r, int sfd, cf_err **err)
{
  for (;;) {
    struct pollfd fds[POLL_COUNT];
    build_poll_set(r, sfd, fds);
    if (poll(fds, POLL_COUNT, -1) < 0 && errno != EINTR) {
      return cf_err_sys(err, errno, "wait for process %d", (int)r->process->pid);
    }
    if (fds[POLL_SIGNAL].revents != 0) {
      handle_signal(r, sfd);
    }
    if (fds[POLL_INPUT].revents != 0) {
      read_input(r);
    }
    if (fds[POLL_MASTER_OUT].revents != 0 || r->pending_start < r->pending_end) {
      write_input(r);
    }
    if (fds[POLL_MASTER_IN].revents != 0) {
      copy_output(r);
    }
    bool exited = false;
    int status = 0;
    if (fds[POLL_PID].revents != 0 &&
        cf_runtime_process_wait(r->process, &exited, &status, err) < 0) {
      return -1;
    }
    if (exited) {
      /* Whatever the process wrote is readable now: a read that finds
       * the master empty first flushes the kernel's pending input. */
      copy_output(r);
      return status;
    }
  }
}

static int set_nonblocking(int fd, cf_err **err)
{
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
    return cf_err_sys(err, errno, "make descriptor %d non-blocking", fd);
  }
  return 0;
}

int rt_tty_relay(cf_process *process, cf_err **err)
{
  sigset_t set;
  rt_forwarded_signals(&set);
  cf_autoclose int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) {
    return cf_err_sys(err, errno, "open signalfd");
  }
  /* stdin_fd and stdout_fd share one open file, so this covers both. */
  if (set_nonblocking(process->stdin_fd, err) < 0) {
    return -1;
  }
  relay r = {
      .process = process,
      .in_fd = fcntl(0, F_GETFD) < 0 ? -1 : 0,
      .output_open = fcntl(1, F_GETFD) >= 0,
      .master_open = true,
  };
  /* A write to a closed stdout must fail with EPIPE, not end the runtime
   * with its terminal still raw. */
  struct sigaction ignore = {.sa_handler = SIG_IGN};
  struct sigaction old_pipe;
  sigaction(SIGPIPE, &ignore, &old_pipe);
  enter_raw_mode(&r);
  int status = run_relay(&r, sfd, err);
  leave_raw_mode(&r);
  sigaction(SIGPIPE, &old_pipe, NULL);
  return status;
}

/* ---- detached: the console socket ---- */

static int connect_console(const char *path, cf_err **err)
{
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof(addr.sun_path)) {
    return cf_err_set(err, CF_E_INVALID,
                      "console socket path %s is too long: the maximum is %zu bytes", path,
                      sizeof(addr.sun_path) - 1);
  }
  strcpy(addr.sun_path, path);
  int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (sock < 0) {
    return cf_err_sys(err, errno, "create a socket for console socket %s", path);
  }
  if (connect(sock, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
    int saved = errno;
    close(sock);
    return cf_err_sys(err, saved, "connect to console socket %s", path);
  }
  return sock;
}

static int send_master(int sock, int master, const char *name, cf_err **err)
{
  char control[CMSG_SPACE(sizeof(int))];
  memset(control, 0, sizeof(control));
  struct iovec iov = {.iov_base = (void *)name, .iov_len = strlen(name)};
  struct msghdr msg = {
      .msg_iov = &iov,
      .msg_iovlen = 1,
      .msg_control = control,
      .msg_controllen = sizeof(control),
  };
  struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cmsg), &master, sizeof(int));
  ssize_t n;
  do {
    n = sendmsg(sock, &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    return cf_err_sys(err, errno, "send the terminal master");
  }
  return 0;
}

int rt_tty_send_console(const char *path, const cf_process *process, cf_err **err)
{
  unsigned number = 0;
  if (ioctl(process->stdin_fd, TIOCGPTN, &number) < 0) {
    return cf_err_sys(err, errno, "read the terminal number of process %d", (int)process->pid);
  }
  char name[32];
  snprintf(name, sizeof(name), "/dev/pts/%u", number);
  cf_autoclose int sock = connect_console(path, err);
  if (sock < 0) {
    return -1;
  }
  if (send_master(sock, process->stdin_fd, name, err) < 0) {
    return cf_err_wrap(err, "console socket %s", path);
  }
  return 0;
}
