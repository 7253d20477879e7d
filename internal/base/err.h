/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Error objects shared by every module.
 *
 * Contract: a fallible function returns 0 on success and -1 on failure. On
 * failure it has set *err (when err is not NULL) to a new error that the
 * caller owns and releases with cf_err_free(). Setting an error frees the
 * one *err held before, so reuse a variable only after cf_err_clear(). Callers add context with
 * cf_err_wrap() as the error travels up, so a message reads like
 * "create container w1: unpack layer sha256:ab..: open `etc/passwd`: permission denied".
 * docs/errors.md has the full rules.
 */
#ifndef CFWIN_BASE_ERR_H
#define CFWIN_BASE_ERR_H

#include <stdarg.h>

/* Error kinds callers branch on; the HTTP layer maps them to Garden error types. */
enum cf_code {
  CF_OK = 0,
  CF_E_INVALID,         /* bad input from a client, a file or the command line */
  CF_E_NOT_FOUND,       /* unknown handle, process, file or tag */
  CF_E_EXISTS,          /* a handle or process id already in use */
  CF_E_SYSTEM,          /* a system call failed; sys_errno says which errno */
  CF_E_INTEGRITY,       /* a digest or size does not match its descriptor */
  CF_E_NOT_IMPLEMENTED, /* a feature later work adds */
  CF_E_EXEC_NOT_FOUND,  /* a process executable is not in $PATH */
  CF_E_USER_NOT_FOUND,  /* a process user is not in the container's passwd file */
  CF_E_LIMIT,           /* a configured limit (size, count) was reached */
  CF_E_BUSY,            /* the object is in use by another operation */
};

typedef struct cf_err {
  enum cf_code code;
  int sys_errno; /* errno for CF_E_SYSTEM, else 0 */
  char *message;
} cf_err;

/* Creates an error with a printf-style message and stores it in *err when err
 * is not NULL. Returns -1, so `return cf_err_set(...)` reads naturally. */
int cf_err_set(cf_err **err, enum cf_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like cf_err_set() with CF_E_SYSTEM; appends ": " and strerror(errnum). */
int cf_err_sys(cf_err **err, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepends "context: " to the message of *err. Returns -1. Does nothing but
 * return -1 when err or *err is NULL. */
int cf_err_wrap(cf_err **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void cf_err_free(cf_err *err);

/* Frees *err and sets it to NULL. */
void cf_err_clear(cf_err **err);

#endif
