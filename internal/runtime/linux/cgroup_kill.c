/* SPDX-License-Identifier: Apache-2.0 */
/* Listing, killing and removing the processes and directories of a cgroup. */
#include "runtime/linux/cgroup.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/mem.h"
#include "runtime/linux/cgroup_internal.h"

#define KILL_TIMEOUT_MS 10000
#define RETRY_SLEEP_US 10000
#define FREEZE_SLEEP_US 1000

static int64_t now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads the pids of dir/cgroup.procs. A directory that is gone has none. */
static int read_pids(const char *dir, pid_t **pids, size_t *count, cf_err **err)
{
  *pids = NULL;
  *count = 0;
  cf_autofree char *text = NULL;
  cf_err *read_err = NULL;
  if (cg_read(dir, "cgroup.procs", &text, &read_err) < 0) {
    bool gone = read_err->sys_errno == ENOENT || read_err->sys_errno == ENODEV;
    if (gone || err == NULL) {
      cf_err_free(read_err);
      return gone ? 0 : -1;
    }
    cf_err_free(*err);
    *err = read_err;
    return -1;
  }
  size_t cap = 0;
  for (char *p = text; *p != '\0';) {
    char *end;
    long pid = strtol(p, &end, 10);
    if (end == p || pid <= 0) {
      free(*pids);
      *pids = NULL;
      *count = 0;
      return cf_err_set(err, CF_E_SYSTEM, "parse %s/cgroup.procs: invalid pid", dir);
    }
    if (*count == cap) {
      cap = cap == 0 ? 16 : cap * 2;
      *pids = cf_xrealloc(*pids, cap * sizeof(**pids));
    }
    (*pids)[(*count)++] = (pid_t)pid;
    p = end + strspn(end, "\n");
  }
  return 0;
}

int cf_cgroup_pids(const cf_cgroup *cg, pid_t **pids, size_t *count, cf_err **err)
{
  const cg_dir *d = cg_find_dir(cg, CF_CGROUP_MEMORY);
  if (d == NULL) {
    d = cg_find_dir(cg, CF_CGROUP_UNIFIED);
  }
  if (d == NULL) {
    d = &cg->dirs[0];
  }
  if (read_pids(d->path, pids, count, err) < 0) {
    return cf_err_wrap(err, "list processes of cgroup %s", cg->handle);
  }
  return 0;
}

/* Counts the processes left in every directory of cg. */
static int count_all(const cf_cgroup *cg, size_t *total, cf_err **err)
{
  *total = 0;
  for (size_t i = 0; i < cg->dir_count; i++) {
    cf_autofree pid_t *pids = NULL;
    size_t count;
    if (read_pids(cg->dirs[i].path, &pids, &count, err) < 0) {
      return -1;
    }
    *total += count;
  }
  return 0;
}

/* Sends SIGKILL to every pid listed in any directory of cg. */
static int signal_all(const cf_cgroup *cg, cf_err **err)
{
  for (size_t i = 0; i < cg->dir_count; i++) {
    cf_autofree pid_t *pids = NULL;
    size_t count;
    if (read_pids(cg->dirs[i].path, &pids, &count, err) < 0) {
      return -1;
    }
    for (size_t j = 0; j < count; j++) {
      if (kill(pids[j], SIGKILL) < 0 && errno != ESRCH) {
        return cf_err_sys(err, errno, "kill pid %d of %s", (int)pids[j], cg->dirs[i].path);
      }
    }
  }
  return 0;
}

/* Freezes the v1 freezer cgroup and waits until the state reads FROZEN, so
 * no listed process can exit and have its pid reused before the signal. A
 * freezer stuck in FREEZING (a task in an uninterruptible sleep) is left
 * as it is when the deadline passes: the signal still reaches every task. */
static int freeze(const char *dir, int64_t deadline, cf_err **err)
{
  if (cg_write(dir, "freezer.state", "FROZEN", err) < 0) {
    return -1;
  }
  for (;;) {
    cf_autofree char *state = NULL;
    if (cg_read(dir, "freezer.state", &state, err) < 0) {
      return -1;
    }
    if (strncmp(state, "FROZEN", 6) == 0 || now_ms() > deadline) {
      return 0;
    }
    usleep(FREEZE_SLEEP_US);
  }
}

/* One round of the v1 kill: freeze, signal every listed pid, thaw. Frozen
 * tasks die once thawed. */
static int kill_round(const cf_cgroup *cg, int64_t deadline, cf_err **err)
{
  const cg_dir *freezer = cg_find_dir(cg, CF_CGROUP_FREEZER);
  if (freezer != NULL && freezer->v2) {
    freezer = NULL;
  }
  if (freezer != NULL && freeze(freezer->path, deadline, err) < 0) {
    return -1;
  }
  int rc = signal_all(cg, err);
  if (freezer != NULL &&
      cg_write(freezer->path, "freezer.state", "THAWED", rc < 0 ? NULL : err) < 0) {
    rc = -1;
  }
  return rc;
}

/* Writes 1 to cgroup.kill of the v2 directory when the kernel has it (Linux
 * 5.14 and later); sets *done when it did. */
static int kill_v2(const cf_cgroup *cg, bool *done, cf_err **err)
{
  const cg_dir *v2 = cg_find_dir(cg, CF_CGROUP_UNIFIED);
  *done = false;
  if (v2 == NULL || !cg_exists(v2->path, "cgroup.kill")) {
    return 0;
  }
  cf_err *write_err = NULL;
  if (cg_write(v2->path, "cgroup.kill", "1", &write_err) < 0) {
    /* Another process removed the directory after the check: nothing is
     * left in it to kill. */
    bool gone = write_err->sys_errno == ENOENT || write_err->sys_errno == ENODEV;
    if (gone || err == NULL) {
      cf_err_free(write_err);
      return gone ? 0 : -1;
    }
    cf_err_free(*err);
    *err = write_err;
    return -1;
  }
  *done = true;
  return 0;
}

/* Waits until the v2 directory lists no process. After cgroup.kill every
 * listed task is exiting, so waiting beats signalling pids that may be
 * reused. */
static int wait_v2_empty(const cf_cgroup *cg, int64_t deadline, cf_err **err)
{
  const cg_dir *v2 = cg_find_dir(cg, CF_CGROUP_UNIFIED);
  for (;;) {
    cf_autofree pid_t *pids = NULL;
    size_t count;
    if (read_pids(v2->path, &pids, &count, err) < 0) {
      return -1;
    }
    if (count == 0 || now_ms() > deadline) {
      return 0;
    }
    usleep(FREEZE_SLEEP_US);
  }
}

int cf_cgroup_kill(cf_cgroup *cg, cf_err **err)
{
  int64_t deadline = now_ms() + KILL_TIMEOUT_MS;
  bool v2_killed;
  if (kill_v2(cg, &v2_killed, err) < 0 || (v2_killed && wait_v2_empty(cg, deadline, err) < 0)) {
    return cf_err_wrap(err, "kill processes of cgroup %s", cg->handle);
  }
  /* Tasks left now were never in the v2 directory (another program added
   * them to v1 directories only), or there is no cgroup.kill. */
  for (;;) {
    size_t left;
    if (count_all(cg, &left, err) < 0) {
      return cf_err_wrap(err, "kill processes of cgroup %s", cg->handle);
    }
    if (left == 0) {
      return 0;
    }
    if (now_ms() > deadline) {
      return cf_err_set(err, CF_E_BUSY,
                        "kill processes of cgroup %s: %zu still listed %d ms after SIGKILL",
                        cg->handle, left, KILL_TIMEOUT_MS);
    }
    if (kill_round(cg, deadline, err) < 0) {
      return cf_err_wrap(err, "kill processes of cgroup %s", cg->handle);
    }
    usleep(RETRY_SLEEP_US);
  }
}

/* Removes dir, retrying while tasks that just exited keep it busy. */
static int remove_dir(const char *dir, int64_t deadline, cf_err **err)
{
  for (;;) {
    if (rmdir(dir) == 0 || errno == ENOENT) {
      return 0;
    }
    if (errno != EBUSY || now_ms() > deadline) {
      return cf_err_sys(err, errno, "remove cgroup %s", dir);
    }
    usleep(RETRY_SLEEP_US);
  }
}

int cf_cgroup_destroy(cf_cgroup *cg, cf_err **err)
{
  if (cf_cgroup_kill(cg, err) < 0) {
    return cf_err_wrap(err, "destroy cgroup %s", cg->handle);
  }
  int64_t deadline = now_ms() + KILL_TIMEOUT_MS;
  for (size_t i = 0; i < cg->dir_count; i++) {
    if (remove_dir(cg->dirs[i].path, deadline, err) < 0) {
      return cf_err_wrap(err, "destroy cgroup %s", cg->handle);
    }
  }
  return 0;
}

int cf_cgroup_remove_empty(cf_cgroup *cg, bool *removed, cf_err **err)
{
  *removed = true;
  for (size_t i = 0; i < cg->dir_count; i++) {
    if (rmdir(cg->dirs[i].path) == 0 || errno == ENOENT) {
      continue;
    }
    if (errno != EBUSY) {
      return cf_err_sys(err, errno, "remove cgroup %s", cg->dirs[i].path);
    }
    *removed = false;
  }
  return 0;
}
