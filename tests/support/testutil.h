/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by unit and integration tests. */
#ifndef CFWIN_TESTS_TESTUTIL_H
#define CFWIN_TESTS_TESTUTIL_H

#include <stdbool.h>

/* Creates a new directory under $TMPDIR (or /tmp) named cfwin-test-<name>-XXXXXX
 * and returns its path (caller frees). Aborts the test on failure. */
char *cf_test_tmpdir(const char *name);

/* Removes a directory tree made by cf_test_tmpdir(). */
void cf_test_rmdir(const char *path);

/* True when the test runs as root (namespaces and mounts need it). */
bool cf_test_is_root(void);

#endif
