/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The child process of a StreamIn or StreamOut. It joins the mount (and
 * user) namespace of the container init, chroots into the init's root,
 * resolves the user in the container's own /etc/passwd, switches to it and
 * extracts or writes a tar stream with libarchive. The server talks to it
 * through two pipes: the tar data and an error pipe that carries one
 * message when the child fails.
 *
 * NOTE: only Linux implements this (linux/stream_child.c). Windows
 * containers need their own, through the container's filesystem.
 */
#ifndef CFWIN_GARDEN_STREAM_CHILD_H
#define CFWIN_GARDEN_STREAM_CHILD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"

/* Largest error message a child sends; longer ones are cut. */
#define CF_STREAM_CHILD_MESSAGE_MAX 1024

typedef struct cf_stream_child_spec {
  pid_t init_pid; /* the container init and its start time */
  uint64_t init_start_time;
  bool extract; /* true: StreamIn, extract into path; false: StreamOut of path */
  /* StreamIn: the destination directory, created when missing. StreamOut:
   * the source; a trailing '/' archives the directory's contents as "./".
   * A relative path is relative to the user's home directory. */
  const char *path;
  const char *user; /* "" or NULL: root; a name or "uid:gid" */
} cf_stream_child_spec;

typedef struct cf_stream_child {
  pid_t pid;
  int pidfd;    /* readable once the child exits */
  int data_fd;  /* StreamIn: write end of its tar input; StreamOut: read end of its output */
  int error_fd; /* read end of the error pipe */
} cf_stream_child;

/* Starts the child. Blocks for the fork, so callers on the event loop run
 * it on a worker thread. Descriptors are close-on-exec and blocking.
 * Fails with CF_E_NOT_FOUND when the init is gone. */
int cf_stream_child_start(const cf_stream_child_spec *spec, cf_stream_child *out, cf_err **err);

/* Sends SIGKILL through the pidfd; a child already gone is no error. */
void cf_stream_child_kill(const cf_stream_child *child);

/* Reaps the child by pid without blocking. Sets *exited and, then,
 * *exit_status (128+signal for a killed child) and the message the child
 * sent (message_size bytes, NUL-terminated, "" for none). */
int cf_stream_child_wait(const cf_stream_child *child, bool *exited, int *exit_status,
                         char *message, size_t message_size, cf_err **err);

/* Closes the descriptors that are still open. */
void cf_stream_child_close(cf_stream_child *child);

#endif
