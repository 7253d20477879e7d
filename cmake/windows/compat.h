/* SPDX-License-Identifier: Apache-2.0 */
/* C library functions and flags that cfwin uses and mingw-w64's msvcrt
 * lacks; the cross build includes this header in every file (-include). */
#ifndef CFWIN_MINGW_COMPAT_H
#define CFWIN_MINGW_COMPAT_H

#include <stddef.h>

char *strndup(const char *s, size_t n);
void explicit_bzero(void *s, size_t n);
/* GNU strchrnul: the first c in s, or the terminating NUL. */
char *strchrnul(const char *s, int c);

/* POSIX owner ids, which shared headers name (image/volume.h); Windows
 * files have no numeric owners, so the values are unused there. */
#include <sys/types.h>
typedef unsigned int uid_t;
typedef unsigned int gid_t;

/* mingw-w64's time.h declares gmtime_r and localtime_r only with this. */
#ifndef _POSIX_THREAD_SAFE_FUNCTIONS
#define _POSIX_THREAD_SAFE_FUNCTIONS 200112L
#endif

/* POSIX open flags msvcrt lacks. _O_NOINHERIT is Windows' close-on-exec. */
#include <fcntl.h>
#ifndef O_CLOEXEC
#define O_CLOEXEC _O_NOINHERIT
#endif
/* NOTE: msvcrt has no write-through open flag, so files opened with O_SYNC
 * (the network role's log) are not written synchronously on Windows. */
#ifndef O_SYNC
#define O_SYNC 0
#endif
/* msvcrt opens files in text mode unless _O_BINARY is given, which turns
 * CR LF into LF and stops reading at a 0x1A byte. POSIX code expects
 * bytes, so the access flags carry _O_BINARY. */
#undef O_RDONLY
#define O_RDONLY (_O_RDONLY | _O_BINARY)
#undef O_WRONLY
#define O_WRONLY (_O_WRONLY | _O_BINARY)
#undef O_RDWR
#define O_RDWR (_O_RDWR | _O_BINARY)
/* msvcrt has no non-blocking open. blob.c passes O_NONBLOCK so that a FIFO
 * in an OCI layout cannot block its open, and Windows has no FIFOs. */
#ifndef O_NONBLOCK
#define O_NONBLOCK 0
#endif

#endif
