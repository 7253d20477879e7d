/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reports a child process sends its parent through a pipe while it sets up a
 * container or a process: ready, the pid of a new process, or the error of the
 * step that failed. The child side runs between clone() and execve() in a copy
 * of a multi-threaded process, so it only calls async-signal-safe functions
 * and never allocates. Each report is one write() of less than PIPE_BUF bytes,
 * so reports from several writers on one pipe never interleave.
 */
#ifndef CFWIN_RUNTIME_LINUX_REPORT_H
#define CFWIN_RUNTIME_LINUX_REPORT_H

#include <stdbool.h>
#include <sys/types.h>

#include "base/err.h"

enum cf_report_kind {
  CF_REPORT_READY = 1, /* the container init finished its setup */
  CF_REPORT_PID,       /* a process was started; pid is its host pid */
  CF_REPORT_ERROR,     /* a step failed, as code, sys_errno and message describe */
  CF_REPORT_NS_PID,    /* a detached process was started; pid is its pid in the container */
};

typedef struct cf_report {
  int kind;
  int code;      /* enum cf_code of an error */
  int sys_errno; /* errno of a CF_E_SYSTEM error, else 0 */
  pid_t pid;
  char message[1000];
} cf_report;

/* Child side. Failures to write are ignored, because the parent then reads
 * end of file without a report and fails with an error for that. */
void cf_report_ready(int fd);
void cf_report_pid(int fd, pid_t pid);
void cf_report_ns_pid(int fd, pid_t pid);

/* Sends an error whose message is the concatenation of the strings after
 * sys_errno, up to a NULL; it is cut to fit the report. */
void cf_report_error(int fd, enum cf_code code, int sys_errno, ...) __attribute__((sentinel));

/* Parent side. Reads one report; sets *got to false at end of file. */
int cf_report_read(int fd, cf_report *report, bool *got, cf_err **err);

/* Turns an error report into *err. Returns -1. */
int cf_report_to_err(const cf_report *report, cf_err **err);

#endif
