/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The children of cf_runtime_exec(). A helper forked from the caller joins
 * the container's namespaces and root, then clones the process with
 * CLONE_PARENT, so the process is the caller's child although it lives in
 * the container's pid namespace. The helper reports the process's host pid
 * and exits; the process switches to its user and directory and execs.
 */
#ifndef CFWIN_RUNTIME_LINUX_EXEC_H
#define CFWIN_RUNTIME_LINUX_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "runtime/linux/security.h"

/* Everything the children need, prepared by the caller before fork(),
 * because they must not allocate. */
typedef struct cf_exec_plan {
  int init_pidfd;   /* pidfd of the container init: the namespaces to join */
  int root_fd;      /* O_PATH descriptor of the init's root directory */
  const char *path; /* the executable as given */
  char **argv;
  char **envp;
  const char *search_path; /* PATH of envp, or NULL */
  char *candidate;         /* buffer for "dir/path" while searching search_path */
  size_t candidate_size;
  char *dir; /* absolute working directory; edited in place while created */
  uid_t uid;
  gid_t gid;
  const gid_t *groups;
  size_t group_count;
  int report_fd; /* write end of the report pipe */
  int stdio[3];  /* the process's stdin, stdout and stderr */
  /* Detached: the helper starts an intermediate child in the container's
   * pid namespace that starts the process and exits, so the container init
   * adopts the process. The process waits until go_fd reads end of file,
   * which the caller causes once it has found the process's host pid. */
  bool detach;
  int go_fd; /* read end of the go pipe, or -1 */
  /* The helper waits until hold_fd reads 'g', which the caller writes once
   * it has put the helper in the container's cgroup, so every process it
   * starts begins there. */
  int hold_fd;
  bool join_userns; /* the container has its own user namespace */
  /* With terminal, the helper opens a pseudo-terminal in the container's
   * devpts, makes the slave the process's stdio (stdio[] is -1 until then)
   * and sends the master to the caller over console_fd. */
  bool terminal;
  unsigned short terminal_rows;
  unsigned short terminal_columns;
  int console_fd; /* the helper's end of the console socket pair, or -1 */
  const cf_sec_plan *sec;
} cf_exec_plan;

/* Runs in the helper forked by cf_runtime_exec(). Never returns. */
_Noreturn void cf_exec_helper_run(cf_exec_plan *plan);

#endif
