/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Thin wrappers for the system calls the Linux runtime needs that glibc 2.36
 * either lacks (openat2) or wraps with extra work unsafe in a child cloned
 * from a multi-threaded process (setuid and friends broadcast to every thread
 * glibc believes exists). Each returns what the system call returns and sets
 * errno, so they are safe between clone() and execve().
 */
#ifndef CFWIN_RUNTIME_LINUX_SYS_H
#define CFWIN_RUNTIME_LINUX_SYS_H

#include <linux/openat2.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

/* clone(2) without a new stack: the child continues on a copy of the
 * caller's stack, as after fork(), but without glibc's fork handlers. */
static inline pid_t cf_sys_clone(unsigned long flags)
{
  return (pid_t)syscall(SYS_clone, flags, NULL, NULL, NULL, 0UL);
}

static inline int cf_sys_pidfd_open(pid_t pid)
{
  return (int)syscall(SYS_pidfd_open, pid, 0U);
}

static inline int cf_sys_pidfd_send_signal(int pidfd, int sig)
{
  return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0U);
}

static inline int cf_sys_openat2(int dirfd, const char *path, uint64_t flags, uint64_t resolve)
{
  struct open_how how = {.flags = flags, .mode = 0, .resolve = resolve};
  return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

static inline int cf_sys_close_range(unsigned int first, unsigned int last, unsigned int flags)
{
  return (int)syscall(SYS_close_range, first, last, flags);
}

static inline int cf_sys_pivot_root(const char *new_root, const char *put_old)
{
  return (int)syscall(SYS_pivot_root, new_root, put_old);
}

static inline int cf_sys_setgroups(size_t count, const gid_t *groups)
{
  return (int)syscall(SYS_setgroups, count, groups);
}

static inline int cf_sys_setresgid(gid_t gid)
{
  return (int)syscall(SYS_setresgid, gid, gid, gid);
}

static inline int cf_sys_setresuid(uid_t uid)
{
  return (int)syscall(SYS_setresuid, uid, uid, uid);
}

/* Blocks every signal (block true) or none. Raw, because glibc keeps two
 * signals of its own out of any mask it sets. */
static inline int cf_sys_block_signals(int block)
{
  sigset_t set;
  memset(&set, block ? 0xff : 0, sizeof(set));
  return (int)syscall(SYS_rt_sigprocmask, SIG_SETMASK, &set, NULL, _NSIG / 8);
}

/* Waits for any signal while all are blocked; returns its number. */
static inline int cf_sys_wait_signal(siginfo_t *info)
{
  sigset_t set;
  memset(&set, 0xff, sizeof(set));
  return (int)syscall(SYS_rt_sigtimedwait, &set, info, NULL, _NSIG / 8);
}

/* Sets every signal but SIGKILL and SIGSTOP to its default action, glibc's
 * own two included, so no handler of the parent can run in the child and no
 * ignored signal stays ignored across execve(). */
static inline void cf_sys_default_signals(void)
{
  struct {
    void *handler; /* SIG_DFL */
    unsigned long flags;
    void *restorer;
    uint64_t mask;
  } action = {0};
  for (int sig = 1; sig < _NSIG; sig++) {
    if (sig != SIGKILL && sig != SIGSTOP) {
      syscall(SYS_rt_sigaction, sig, &action, NULL, sizeof(action.mask));
    }
  }
}

#endif
