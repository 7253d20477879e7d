/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attached stdio of a container process, as winc's attached run and exec
 * do it. A thread that is never waited for copies stdin, then closes the
 * process's stdin and sends HCS the CloseHandle request at end of file.
 * Threads copy stdout and stderr and get at most 11 s after the process
 * exits to drain, winc's 10 s CTRL_SHUTDOWN grace period plus 1 s. Ctrl-C
 * on the caller terminates the process.
 */
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "cli/windows/runtime_win.h"

#define DRAIN_TIMEOUT_MS 11000u

typedef struct copy_job {
  HANDLE from;
  HANDLE to;
  /* stdin only: the process whose stdin end HCS gets reported. It is
   * NULL once wrt_process_attach has returned, and lock guards it. */
  cf_hcs_process *process;
  SRWLOCK lock;
} copy_job;

/* The attached process, which the console control handler terminates. */
static cf_hcs_process *volatile attached_process;

static void copy_all(HANDLE from, HANDLE to)
{
  char buf[32768];
  DWORD n = 0;
  while (ReadFile(from, buf, sizeof(buf), &n, NULL) && n > 0) {
    DWORD done = 0;
    while (done < n) {
      DWORD written = 0;
      if (!WriteFile(to, buf + done, n - done, &written, NULL) || written == 0) {
        return;
      }
      done += written;
    }
  }
}

static DWORD WINAPI copy_output(void *context)
{
  copy_job *job = context;
  copy_all(job->from, job->to);
  CloseHandle(job->from);
  return 0;
}

static DWORD WINAPI copy_input(void *context)
{
  copy_job *job = context;
  copy_all(job->from, job->to);
  CloseHandle(job->to);
  AcquireSRWLockExclusive(&job->lock);
  if (job->process != NULL) {
    cf_hcs_process_close_stdin(job->process, NULL);
  }
  ReleaseSRWLockExclusive(&job->lock);
  return 0;
}

static BOOL WINAPI on_console_event(DWORD type)
{
  cf_hcs_process *process = attached_process;
  if ((type == CTRL_C_EVENT || type == CTRL_BREAK_EVENT) && process != NULL) {
    cf_hcs_process_kill(process, NULL);
    return TRUE;
  }
  return FALSE;
}

/* Starts a copy thread. The handle is NULL when the thread could not be
 * created, and the copy is then skipped. */
static HANDLE start_copy(copy_job *job, LPTHREAD_START_ROUTINE routine)
{
  if (job->from == NULL || job->to == NULL || job->to == INVALID_HANDLE_VALUE) {
    return NULL;
  }
  return CreateThread(NULL, 0, routine, job, 0, NULL);
}

int wrt_process_attach(cf_hcs_process *process, uint32_t *exit_code, cf_err **err)
{
  HANDLE std_in = NULL, std_out = NULL, std_err = NULL;
  cf_hcs_process_take_stdio(process, &std_in, &std_out, &std_err);
  // The stdin job outlives this function, because its thread is not
  // waited for. The process exit releases it.
  copy_job *input = cf_xcalloc(1, sizeof(*input));
  *input = (copy_job){GetStdHandle(STD_INPUT_HANDLE), std_in, process, SRWLOCK_INIT};
  copy_job output = {std_out, GetStdHandle(STD_OUTPUT_HANDLE), NULL, SRWLOCK_INIT};
  copy_job error = {std_err, GetStdHandle(STD_ERROR_HANDLE), NULL, SRWLOCK_INIT};
  HANDLE input_thread = start_copy(input, copy_input);
  HANDLE threads[2] = {start_copy(&output, copy_output), start_copy(&error, copy_output)};
  if (input_thread != NULL) {
    CloseHandle(input_thread);
  } else if (std_in != NULL) {
    CloseHandle(std_in);
  }
  bool input_running = input_thread != NULL;
  attached_process = process;
  SetConsoleCtrlHandler(on_console_event, TRUE);
  bool exited = false;
  int rc = cf_hcs_process_wait(process, INFINITE, &exited, exit_code, err);
  SetConsoleCtrlHandler(on_console_event, FALSE);
  attached_process = NULL;
  AcquireSRWLockExclusive(&input->lock);
  input->process = NULL;
  ReleaseSRWLockExclusive(&input->lock);
  if (!input_running) {
    free(input);
  }
  DWORD deadline = GetTickCount() + DRAIN_TIMEOUT_MS;
  for (int i = 0; i < 2; i++) {
    if (threads[i] != NULL) {
      DWORD now = GetTickCount();
      WaitForSingleObject(threads[i], now < deadline ? deadline - now : 0);
      CloseHandle(threads[i]);
    }
  }
  if (rc == 0 && !exited) {
    rc = cf_err_set(err, CF_E_SYSTEM, "wait for the container process ended before it exited");
  }
  return rc;
}
