/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The nft driver on the nft program, for the static build: Debian ships
 * libnftables only as a shared library, which a static executable cannot
 * load. Each command text becomes one `nft -f /dev/stdin` run, which nft
 * applies as one transaction like a libnftables call. The commands, the
 * output and the errors pass through memory files (memfd), so a large
 * script or listing cannot fill a pipe while cfwin waits for nft to exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/mem.h"
#include "network/linux/nft_driver.h"

#define MAX_OUTPUT (64 * 1024 * 1024) /* the largest listing cfwin reads */
#define NFT_TIMEOUT_MS (30 * 1000)    /* maximum time of one nft run */

struct cf_nft_driver {
  const char *program;
};

/* Where Debian's nftables package and a local build install nft. */
static const char *const program_paths[] = {"/usr/sbin/nft", "/sbin/nft", "/usr/local/sbin/nft"};

int cf_nft_driver_open(cf_nft_driver **out, cf_err **err)
{
  for (size_t i = 0; i < sizeof(program_paths) / sizeof(program_paths[0]); i++) {
    if (access(program_paths[i], X_OK) == 0) {
      cf_nft_driver *driver = cf_xcalloc(1, sizeof(*driver));
      driver->program = program_paths[i];
      *out = driver;
      return 0;
    }
  }
  return cf_err_set(err, CF_E_NOT_IMPLEMENTED,
                    "the nft program is not in /usr/sbin, /sbin or /usr/local/sbin: install the "
                    "nftables package (this static cfwin runs nft for its firewall rules)");
}

void cf_nft_driver_close(cf_nft_driver *driver)
{
  free(driver);
}

static int memory_file(const char *name, int *fd, cf_err **err)
{
  int fd_any = memfd_create(name, MFD_CLOEXEC);
  if (fd_any < 0) {
    return cf_err_sys(err, errno, "create the memory file %s for nft", name);
  }
  if (fd_any > 2) {
    *fd = fd_any;
    return 0;
  }
  /* With stdin, stdout or stderr closed the file could take one of their
   * numbers, and a dup2 onto itself would keep it close-on-exec. */
  *fd = fcntl(fd_any, F_DUPFD_CLOEXEC, 3);
  int saved = errno;
  close(fd_any);
  if (*fd < 0) {
    return cf_err_sys(err, saved, "move the memory file %s for nft", name);
  }
  return 0;
}

/* Reads the whole memory file fd from its start into a string. */
static int read_memory_file(int fd, char **text, cf_err **err)
{
  cf_buf buf;
  cf_buf_init(&buf, MAX_OUTPUT);
  char chunk[16384];
  off_t offset = 0;
  for (;;) {
    ssize_t n = pread(fd, chunk, sizeof(chunk), offset);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      cf_buf_free(&buf);
      return cf_err_sys(err, errno, "read nft's output");
    }
    if (n == 0) {
      break;
    }
    if (cf_buf_append(&buf, chunk, (size_t)n, err) < 0) {
      cf_buf_free(&buf);
      return cf_err_wrap(err, "read nft's output");
    }
    offset += n;
  }
  *text = cf_buf_take(&buf);
  return 0;
}

/* Starts nft with stdin, stdout and stderr on the given files. */
static int spawn_nft(const cf_nft_driver *driver, cf_nft_mode mode, const int fds[3], pid_t *pid,
                     cf_err **err)
{
  char *argv[6];
  size_t argc = 0;
  argv[argc++] = "nft";
  if (mode == CF_NFT_LIST_JSON) {
    argv[argc++] = "--json";
  } else if (mode == CF_NFT_CHECK) {
    argv[argc++] = "--check";
  }
  argv[argc++] = "--file";
  argv[argc++] = "/dev/stdin";
  argv[argc] = NULL;
  char *envp[] = {"LC_ALL=C", NULL};

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  for (int target = 0; target < 3; target++) {
    posix_spawn_file_actions_adddup2(&actions, fds[target], target);
  }
  int rc = posix_spawn(pid, driver->program, &actions, NULL, argv, envp);
  posix_spawn_file_actions_destroy(&actions);
  if (rc == ENOENT || rc == EACCES) {
    return cf_err_sys(err, rc,
                      "run %s (install or repair the nftables package: this static cfwin runs "
                      "nft for its firewall rules)",
                      driver->program);
  }
  if (rc != 0) {
    return cf_err_sys(err, rc, "run %s", driver->program);
  }
  return 0;
}

/* Waits for nft to exit. A run that outlasts NFT_TIMEOUT_MS is killed, so
 * a stuck nft cannot hold the backend's nft lock forever. */
static int wait_nft(const cf_nft_driver *driver, pid_t pid, int *status, cf_err **err)
{
  cf_autoclose int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  bool timed_out = false;
  if (pidfd >= 0) {
    struct pollfd ready = {.fd = pidfd, .events = POLLIN};
    int n;
    while ((n = poll(&ready, 1, NFT_TIMEOUT_MS)) < 0 && errno == EINTR) {
    }
    if (n == 0) {
      timed_out = true;
      kill(pid, SIGKILL);
    }
  }
  while (waitpid(pid, status, 0) < 0) {
    if (errno != EINTR) {
      return cf_err_sys(err, errno, "wait for %s (pid %d)", driver->program, (int)pid);
    }
  }
  if (timed_out) {
    return cf_err_set(err, CF_E_SYSTEM,
                      "%s did not finish within %d s and was killed; check that nf_tables "
                      "answers (`nft list ruleset`) and the kernel log",
                      driver->program, NFT_TIMEOUT_MS / 1000);
  }
  return 0;
}

/* The message of a failed run: nft's first line containing "Error: ",
 * without its file position, or how nft ended. */
static int failure(const cf_nft_driver *driver, int status, const char *errors, cf_err **err)
{
  const char *line = strstr(errors, "Error: ");
  if (line != NULL) {
    line += strlen("Error: ");
    return cf_err_set(err, CF_E_SYSTEM, "%.*s", (int)strcspn(line, "\n"), line);
  }
  if (WIFSIGNALED(status)) {
    return cf_err_set(err, CF_E_SYSTEM, "%s was killed by signal %d", driver->program,
                      WTERMSIG(status));
  }
  return cf_err_set(err, CF_E_SYSTEM, "%s exited with status %d and no message", driver->program,
                    WEXITSTATUS(status));
}

int cf_nft_driver_run(cf_nft_driver *driver, const char *commands, cf_nft_mode mode, char **output,
                      cf_err **err)
{
  cf_autoclose int in = -1;
  cf_autoclose int out = -1;
  cf_autoclose int errors = -1;
  if (memory_file("cfwin-nft-in", &in, err) < 0 || memory_file("cfwin-nft-out", &out, err) < 0 ||
      memory_file("cfwin-nft-err", &errors, err) < 0 ||
      cf_write_all(in, commands, strlen(commands), err) < 0) {
    return -1;
  }
  if (lseek(in, 0, SEEK_SET) < 0) {
    return cf_err_sys(err, errno, "rewind nft's input");
  }
  const int fds[3] = {in, out, errors};
  pid_t pid = -1;
  int status = 0;
  if (spawn_nft(driver, mode, fds, &pid, err) < 0 || wait_nft(driver, pid, &status, err) < 0) {
    return -1;
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    cf_autofree char *text = NULL;
    if (read_memory_file(errors, &text, err) < 0) {
      return -1;
    }
    return failure(driver, status, text, err);
  }
  if (output != NULL) {
    return read_memory_file(out, output, err);
  }
  return 0;
}
