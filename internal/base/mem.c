/* SPDX-License-Identifier: Apache-2.0 */
#include "base/mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void die_oom(size_t size)
{
  fprintf(stderr, "cfwin: out of memory allocating %zu bytes\n", size);
  abort();
}

void *cf_xmalloc(size_t size)
{
  void *p = malloc(size == 0 ? 1 : size);
  if (p == NULL) {
    die_oom(size);
  }
  return p;
}

void *cf_xcalloc(size_t count, size_t size)
{
  void *p = calloc(count == 0 ? 1 : count, size == 0 ? 1 : size);
  if (p == NULL) {
    die_oom(count * size);
  }
  return p;
}

void *cf_xrealloc(void *ptr, size_t size)
{
  void *p = realloc(ptr, size == 0 ? 1 : size);
  if (p == NULL) {
    die_oom(size);
  }
  return p;
}

char *cf_xstrdup(const char *s)
{
  char *p = strdup(s);
  if (p == NULL) {
    die_oom(strlen(s) + 1);
  }
  return p;
}

char *cf_xstrndup(const char *s, size_t n)
{
  char *p = strndup(s, n);
  if (p == NULL) {
    die_oom(n + 1);
  }
  return p;
}

char *cf_xvasprintf(const char *fmt, va_list ap)
{
  char *p = NULL;
  if (vasprintf(&p, fmt, ap) < 0) {
    die_oom(strlen(fmt));
  }
  return p;
}

char *cf_xasprintf(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  char *p = cf_xvasprintf(fmt, ap);
  va_end(ap);
  return p;
}

void cf_freep(void *p)
{
  void **pp = p;
  free(*pp);
  *pp = NULL;
}

void cf_closep(int *fd)
{
  if (*fd >= 0) {
    int saved = errno;
    close(*fd);
    errno = saved;
    *fd = -1;
  }
}

void cf_strv_free(char **strv, size_t count)
{
  if (strv == NULL) {
    return;
  }
  for (size_t i = 0; i < count; i++) {
    free(strv[i]);
  }
  free(strv);
}
