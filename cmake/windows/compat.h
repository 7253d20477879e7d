/* SPDX-License-Identifier: Apache-2.0 */
/* C library functions that base uses and mingw-w64's msvcrt lacks; the
 * cross build includes this header in every file (-include). */
#ifndef CFWIN_MINGW_COMPAT_H
#define CFWIN_MINGW_COMPAT_H

#include <stddef.h>

char *strndup(const char *s, size_t n);

#endif
