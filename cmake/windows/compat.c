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

/* glibc's explicit_bzero: zeroes a secret so that the compiler cannot drop
 * the stores, as SecureZeroMemory does, through a volatile pointer. */
void explicit_bzero(void *s, size_t n)
{
  volatile unsigned char *p = s;
  while (n > 0) {
    *p++ = 0;
    n--;
  }
}
