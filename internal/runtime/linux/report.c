/* SPDX-License-Identifier: Apache-2.0 */
#include "runtime/linux/report.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

/* Writes of at most PIPE_BUF bytes to a pipe are atomic. */
_Static_assert(sizeof(cf_report) <= PIPE_BUF, "a report must fit one atomic pipe write");

static void send_report(int fd, const cf_report *report)
{
  ssize_t n;
  do {
    n = write(fd, report, sizeof(*report));
  } while (n < 0 && errno == EINTR);
}

void cf_report_ready(int fd)
{
  cf_report report = {.kind = CF_REPORT_READY};
  send_report(fd, &report);
}

void cf_report_pid(int fd, pid_t pid)
{
  cf_report report = {.kind = CF_REPORT_PID, .pid = pid};
  send_report(fd, &report);
}

void cf_report_ns_pid(int fd, pid_t pid)
{
  cf_report report = {.kind = CF_REPORT_NS_PID, .pid = pid};
  send_report(fd, &report);
}

void cf_report_error(int fd, enum cf_code code, int sys_errno, ...)
{
  cf_report report = {.kind = CF_REPORT_ERROR, .code = code, .sys_errno = sys_errno};
  size_t len = 0;
  va_list ap;
  va_start(ap, sys_errno);
  for (const char *part = va_arg(ap, const char *); part != NULL; part = va_arg(ap, const char *)) {
    size_t n = strlen(part);
    if (n > sizeof(report.message) - 1 - len) {
      n = sizeof(report.message) - 1 - len;
    }
    memcpy(report.message + len, part, n);
    len += n;
  }
  va_end(ap);
  report.message[len] = '\0';
  send_report(fd, &report);
}

int cf_report_read(int fd, cf_report *report, bool *got, cf_err **err)
{
  size_t done = 0;
  while (done < sizeof(*report)) {
    ssize_t n = read(fd, (char *)report + done, sizeof(*report) - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return cf_err_sys(err, errno, "read report pipe");
    }
    if (n == 0) {
      break;
    }
    done += (size_t)n;
  }
  if (done != 0 && done != sizeof(*report)) {
    return cf_err_set(err, CF_E_SYSTEM, "read report pipe: truncated report of %zu bytes", done);
  }
  *got = done == sizeof(*report);
  if (*got) {
    report->message[sizeof(report->message) - 1] = '\0';
  }
  return 0;
}

int cf_report_to_err(const cf_report *report, cf_err **err)
{
  if (report->code == CF_E_SYSTEM && report->sys_errno != 0) {
    return cf_err_sys(err, report->sys_errno, "%s", report->message);
  }
  return cf_err_set(err, (enum cf_code)report->code, "%s", report->message);
}
