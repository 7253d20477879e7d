/* SPDX-License-Identifier: Apache-2.0 */
#include "base/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

__attribute__((format(printf, 4, 0))) static int set_errv(cf_err **err, enum cf_code code,
                                                          int errnum, const char *fmt, va_list ap)
{
  if (err == NULL) {
    return -1;
  }
  cf_err *e = cf_xcalloc(1, sizeof(*e));
  e->code = code;
  e->sys_errno = errnum;
  e->message = cf_xvasprintf(fmt, ap);
  if (errnum != 0) {
    char *with_errno = cf_xasprintf("%s: %s", e->message, strerror(errnum));
    free(e->message);
    e->message = with_errno;
  }
  cf_err_free(*err);
  *err = e;
  return -1;
}

int cf_err_set(cf_err **err, enum cf_code code, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  set_errv(err, code, 0, fmt, ap);
  va_end(ap);
  return -1;
}

int cf_err_sys(cf_err **err, int errnum, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  set_errv(err, CF_E_SYSTEM, errnum, fmt, ap);
  va_end(ap);
  return -1;
}

int cf_err_wrap(cf_err **err, const char *fmt, ...)
{
  if (err == NULL || *err == NULL) {
    return -1;
  }
  va_list ap;
  va_start(ap, fmt);
  char *context = cf_xvasprintf(fmt, ap);
  va_end(ap);
  char *joined = cf_xasprintf("%s: %s", context, (*err)->message);
  free(context);
  free((*err)->message);
  (*err)->message = joined;
  return -1;
}

void cf_err_free(cf_err *err)
{
  if (err == NULL) {
    return;
  }
  free(err->message);
  free(err);
}

void cf_err_clear(cf_err **err)
{
  cf_err_free(*err);
  *err = NULL;
}
