/* SPDX-License-Identifier: Apache-2.0 */
/* Signals the processes of a container's pid namespace for Stop. */
#include <signal.h>
#include <stdlib.h>

#include "base/mem.h"
#include "garden/stop.h"
#include "runtime/linux/proc.h"

/* Signals one process unless it is a zombie or gone; counts it in *live
 * when it was alive. The start time read first keeps a pid reused since
 * the listing from being signalled. */
static int signal_one(pid_t pid, int sig, size_t *live, cf_err **err)
{
  char state = 0;
  uint64_t start_time = 0;
  if (cf_proc_stat_read(pid, &state, &start_time, NULL) < 0 || state == 'Z' || state == 'X') {
    return 0;
  }
  (*live)++;
  if (sig == 0) {
    return 0;
  }
  cf_err *signal_err = NULL;
  if (cf_runtime_pid_signal(pid, start_time, sig, &signal_err) < 0) {
    if (signal_err->code == CF_E_NOT_FOUND) {
      (*live)--;
      cf_err_free(signal_err);
      return 0;
    }
    if (err != NULL) {
      *err = signal_err;
    } else {
      cf_err_free(signal_err);
    }
    return -1;
  }
  return 0;
}

int cf_stop_signal_processes(const cf_container_init *init, enum cf_stop_signal signal,
                             size_t *live, cf_err **err)
{
  *live = 0;
  int sig = 0; /* CF_STOP_COUNT: only count the live processes */
  if (signal == CF_STOP_KILL) {
    sig = SIGKILL;
  } else if (signal == CF_STOP_TERMINATE) {
    sig = SIGTERM;
  }
  cf_autofree pid_t *pids = NULL;
  size_t count = 0;
  if (cf_runtime_container_pids(init, &pids, &count, err) < 0) {
    return cf_err_wrap(err, "list the processes of the container");
  }
  for (size_t i = 0; i < count; i++) {
    if (signal_one(pids[i], sig, live, err) < 0) {
      return -1;
    }
  }
  return 0;
}
