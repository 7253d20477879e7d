/* SPDX-License-Identifier: Apache-2.0 */
#include <stdlib.h>
#include <string.h>

/* POSIX strndup: copies at most n bytes of s and a NUL. */
char *strndup(const char *s, size_t n)
{
  size_t len = strnlen(s, n);
  char *copy = malloc(len + 1);
  if (copy == NULL) {
    return NULL;
  }
  memcpy(copy, s, len);
  copy[len] = '\0';
  return copy;
}

char *strchrnul(const char *s, int c)
{
  while (*s != '\0' && *s != (char)c) {
    s++;
  }
  return (char *)s;
}
