/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A growable byte buffer with a mandatory maximum size, for anything whose
 * size comes from outside input (request bodies, JSON documents, log lines).
 * The buffer is embedded by its owner: cf_buf_init() never allocates, and
 * cf_buf_free() releases the storage. The data is always NUL-terminated.
 */
#ifndef CFWIN_BASE_BUF_H
#define CFWIN_BASE_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "base/err.h"

typedef struct cf_buf {
  char *data;
  size_t len;
  size_t cap;
  size_t max; /* appends that would pass this many bytes fail with CF_E_LIMIT */
} cf_buf;

void cf_buf_init(cf_buf *buf, size_t max);
void cf_buf_free(cf_buf *buf);

/* Empties the buffer and keeps its storage. */
void cf_buf_reset(cf_buf *buf);

/* Appends bytes; fails with CF_E_LIMIT, leaving the buffer unchanged, when
 * the result would exceed the maximum. */
int cf_buf_append(cf_buf *buf, const void *data, size_t len, cf_err **err);
int cf_buf_append_str(cf_buf *buf, const char *s, cf_err **err);
int cf_buf_printf(cf_buf *buf, cf_err **err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Removes the first n bytes (n <= len). */
void cf_buf_consume(cf_buf *buf, size_t n);

/* Hands the NUL-terminated storage to the caller, who frees it with free(),
 * and leaves the buffer empty. Never returns NULL. */
char *cf_buf_take(cf_buf *buf);

#endif
