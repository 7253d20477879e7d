/* SPDX-License-Identifier: Apache-2.0 */
/* Signalling, reaping and closing processes started by cf_runtime_exec(). */
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/mem.h"
#include "runtime/linux/proc.h"
#include "runtime/linux/sys.h"
#include "runtime/runtime.h"

int cf_runtime_process_signal(const cf_process *process, int sig, cf_err **err)
{
  /* Through the pidfd, a signal can never reach another process that was
   * given the pid after this one was reaped. */
  int rc =
      process->pidfd >= 0 ? cf_sys_pidfd_send_signal(process->pidfd, sig) : kill(process->pid, sig);
  if (rc < 0 && errno != ESRCH) {
    return cf_err_sys(err, errno, "send signal %d to process %d", sig, (int)process->pid);
  }
  return 0;
}

int cf_runtime_process_wait(const cf_process *process, bool *exited, int *exit_status, cf_err **err)
{
  siginfo_t info = {0};
  int rc;
  do {
    rc = waitid(P_PIDFD, (id_t)process->pidfd, &info, WEXITED | WNOHANG);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0 && errno == ECHILD) {
    return cf_err_set(err, CF_E_NOT_FOUND,
                      "wait for process %d: not a child of this process, or already reaped",
                      (int)process->pid);
  }
  if (rc < 0) {
    return cf_err_sys(err, errno, "wait for process %d", (int)process->pid);
  }

  *exited = info.si_pid != 0;
  if (!*exited) {
    return 0;
  }
  if (info.si_code == CLD_EXITED) {
    *exit_status = info.si_status;
  } else {
    *exit_status = 128 + info.si_status;
  }
  return 0;
}

void cf_process_close(cf_process *process)
{
  cf_closep(&process->pidfd);
  cf_closep(&process->stdin_fd);
  cf_closep(&process->stdout_fd);
  cf_closep(&process->stderr_fd);
}

int cf_runtime_pid_start_time(pid_t pid, uint64_t *start_time, cf_err **err)
{
  char state;
  return cf_proc_stat_read(pid, &state, start_time, err);
}

int cf_runtime_pid_signal(pid_t pid, uint64_t start_time, int sig, cf_err **err)
{
  cf_autoclose int pidfd = -1;
  if (cf_proc_open_verified(pid, start_time, &pidfd, err) < 0) {
    return -1;
  }
  if (pidfd < 0) {
    return cf_err_set(err, CF_E_NOT_FOUND, "process %d is not running", (int)pid);
  }
  if (cf_sys_pidfd_send_signal(pidfd, sig) < 0) {
    if (errno == ESRCH) {
      return cf_err_set(err, CF_E_NOT_FOUND, "process %d is not running", (int)pid);
    }
    return cf_err_sys(err, errno, "send signal %d to process %d", sig, (int)pid);
  }
  return 0;
}
