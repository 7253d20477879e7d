/* SPDX-License-Identifier: Apache-2.0 */
#include "base/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

void cf_buf_init(cf_buf *buf, size_t max)
{
  buf->data = NULL;
  buf->len = 0;
  buf->cap = 0;
  buf->max = max;
}

void cf_buf_free(cf_buf *buf)
{
  free(buf->data);
  buf->data = NULL;
  buf->len = 0;
  buf->cap = 0;
}

void cf_buf_reset(cf_buf *buf)
{
  buf->len = 0;
  if (buf->data != NULL) {
    buf->data[0] = '\0';
  }
}

static int reserve(cf_buf *buf, size_t extra, cf_err **err)
{
  if (extra > buf->max || buf->len > buf->max - extra) {
    return cf_err_set(err, CF_E_LIMIT, "data exceeds the maximum of %zu bytes", buf->max);
  }
  size_t need = buf->len + extra + 1;
  if (need <= buf->cap) {
    return 0;
  }
  size_t cap = buf->cap == 0 ? 256 : buf->cap;
  while (cap < need) {
    cap *= 2;
  }
  buf->data = cf_xrealloc(buf->data, cap);
  buf->cap = cap;
  return 0;
}

int cf_buf_append(cf_buf *buf, const void *data, size_t len, cf_err **err)
{
  if (reserve(buf, len, err) < 0) {
    return -1;
  }
  if (len > 0) {
    memcpy(buf->data + buf->len, data, len);
  }
  buf->len += len;
  buf->data[buf->len] = '\0';
  return 0;
}

int cf_buf_append_str(cf_buf *buf, const char *s, cf_err **err)
{
  return cf_buf_append(buf, s, strlen(s), err);
}

int cf_buf_printf(cf_buf *buf, cf_err **err, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  char *text = cf_xvasprintf(fmt, ap);
  va_end(ap);
  int rc = cf_buf_append_str(buf, text, err);
  free(text);
  return rc;
}

void cf_buf_consume(cf_buf *buf, size_t n)
{
  if (n >= buf->len) {
    cf_buf_reset(buf);
    return;
  }
  memmove(buf->data, buf->data + n, buf->len - n);
  buf->len -= n;
  buf->data[buf->len] = '\0';
}

char *cf_buf_take(cf_buf *buf)
{
  char *data = buf->data != NULL ? buf->data : cf_xstrdup("");
  buf->data = NULL;
  buf->len = 0;
  buf->cap = 0;
  return data;
}
