/* SPDX-License-Identifier: Apache-2.0 */
#include "runtime/linux/pty.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <termios.h>
#include <unistd.h>

#include "runtime/linux/sys.h"
#include "runtime/runtime.h"

#ifndef DEVPTS_SUPER_MAGIC
#define DEVPTS_SUPER_MAGIC 0x1cd1
#endif

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

/* Opens the devpts directory dev/pts of the container as O_PATH. */
static int open_devpts_dir(int root_fd, const char **step)
{
  int dir = cf_sys_openat2(root_fd, "dev/pts", O_PATH | O_DIRECTORY | O_CLOEXEC,
                           RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
  if (dir < 0) {
    *step = "open /dev/pts in the container";
    return -1;
  }
  struct statfs fs;
  int rc = fstatfs(dir, &fs);
  if (rc == 0 && fs.f_type == DEVPTS_SUPER_MAGIC) {
    return dir;
  }
  int saved = rc < 0 ? errno : ENOTTY;
  close(dir);
  errno = saved;
  *step = "check that /dev/pts in the container is a devpts mount";
  return -1;
}

/* Opens the ptmx of the devpts directory. A devpts file system contains
 * only its ptmx and the slaves the kernel made, so the open cannot reach
 * anything else once it may not cross a mount or follow a link. */
static int open_ptmx(int devpts_dir, const char **step)
{
  int master = cf_sys_openat2(devpts_dir, "ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC,
                              RESOLVE_BENEATH | RESOLVE_NO_XDEV | RESOLVE_NO_SYMLINKS |
                                  RESOLVE_NO_MAGICLINKS);
  if (master < 0) {
    *step = "open /dev/pts/ptmx in the container";
  }
  return master;
}

/* Unlocks the slave, opens it from the master and sets the window size. */
static int open_slave(int master, uint16_t rows, uint16_t columns, uid_t uid, const char **step)
{
  int unlock = 0;
  if (ioctl(master, TIOCSPTLCK, &unlock) < 0) {
    *step = "unlock the terminal slave";
    return -1;
  }
  int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) {
    *step = "open the terminal slave";
    return -1;
  }
  struct winsize size = {.ws_row = rows, .ws_col = columns};
  if ((rows != 0 || columns != 0) && ioctl(master, TIOCSWINSZ, &size) < 0) {
    *step = "set the terminal window size";
  } else if (fchown(slave, uid, (gid_t)-1) < 0) {
    *step = "change the owner of the terminal slave";
  } else {
    return slave;
  }
  int saved = errno;
  close(slave);
  errno = saved;
  return -1;
}

int cf_pty_open_in_root(int root_fd, uint16_t rows, uint16_t columns, uid_t uid, int *master,
                        int *slave, const char **step)
{
  int dir = open_devpts_dir(root_fd, step);
  if (dir < 0) {
    return -1;
  }
  *master = open_ptmx(dir, step);
  int saved = errno;
  close(dir);
  errno = saved;
  if (*master < 0) {
    return -1;
  }
  *slave = open_slave(*master, rows, columns, uid, step);
  if (*slave < 0) {
    saved = errno;
    close(*master);
    *master = -1;
    errno = saved;
    return -1;
  }
  return 0;
}

int cf_pty_send_fd(int sock, int fd, const char *name)
{
  char control[CMSG_SPACE(sizeof(int))];
  memset(control, 0, sizeof(control));
  /* A message needs at least one byte of data. */
  struct iovec iov = {.iov_base = (void *)(name[0] != '\0' ? name : "\n"),
                      .iov_len = name[0] != '\0' ? strlen(name) : 1};
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
  memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
  ssize_t n;
  do {
    n = sendmsg(sock, &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return n < 0 ? -1 : 0;
}

int cf_pty_recv_fd(int sock, int *fd, cf_err **err)
{
  char data[256];
  char control[CMSG_SPACE(sizeof(int))];
  struct iovec iov = {.iov_base = data, .iov_len = sizeof(data)};
  struct msghdr msg = {
      .msg_iov = &iov,
      .msg_iovlen = 1,
      .msg_control = control,
      .msg_controllen = sizeof(control),
  };
  ssize_t n;
  do {
    n = recvmsg(sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    return cf_err_sys(err, errno, "receive the terminal master");
  }
  struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
  if (cmsg == NULL || cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS ||
      cmsg->cmsg_len != CMSG_LEN(sizeof(int))) {
    return cf_err_set(err, CF_E_SYSTEM,
                      "receive the terminal master: the message has no descriptor");
  }
  memcpy(fd, CMSG_DATA(cmsg), sizeof(int));
  return 0;
}

int cf_pty_set_size(int fd, uint16_t rows, uint16_t columns, cf_err **err)
{
  struct winsize size = {.ws_row = rows, .ws_col = columns};
  if (ioctl(fd, TIOCSWINSZ, &size) < 0) {
    return cf_err_sys(err, errno, "set terminal window size to %u rows and %u columns", rows,
                      columns);
  }
  return 0;
}

int cf_runtime_process_resize(const cf_process *process, uint16_t rows, uint16_t columns,
                              cf_err **err)
{
  if (process->stdin_fd < 0) {
    return cf_err_set(err, CF_E_INVALID, "process %d has no terminal to resize", (int)process->pid);
  }
  return cf_pty_set_size(process->stdin_fd, rows, columns, err);
}
