/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Allocation wrappers. Out-of-memory is not recoverable in cfwin: each
 * wrapper writes a message to stderr and aborts instead of returning NULL.
 */
#ifndef CFWIN_BASE_MEM_H
#define CFWIN_BASE_MEM_H

#include <stdarg.h>
#include <stddef.h>

void *cf_xmalloc(size_t size);
void *cf_xcalloc(size_t count, size_t size);
void *cf_xrealloc(void *ptr, size_t size);
char *cf_xstrdup(const char *s);
char *cf_xstrndup(const char *s, size_t n);
char *cf_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *cf_xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* Frees count strings of strv and the array itself; NULL is allowed. */
void cf_strv_free(char **strv, size_t count);

/* Frees *p and sets it to NULL; for use with __attribute__((cleanup)). */
void cf_freep(void *p);
/* Closes *fd when it is not negative; for use with __attribute__((cleanup)). */
void cf_closep(int *fd);

#define cf_autofree __attribute__((cleanup(cf_freep)))
#define cf_autoclose __attribute__((cleanup(cf_closep)))

/* Returns the value of *p and sets *p to NULL: hands ownership to the caller. */
#define cf_steal(p)                                                                                \
  ({                                                                                               \
    __typeof__(*(p)) stolen_ = *(p);                                                               \
    *(p) = NULL;                                                                                   \
    stolen_;                                                                                       \
  })

/* Returns *fd and sets it to -1: hands a descriptor to the caller. */
static inline int cf_steal_fd(int *fd)
{
  int value = *fd;
  *fd = -1;
  return value;
}

#endif
