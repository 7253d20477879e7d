/* SPDX-License-Identifier: Apache-2.0 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/mem.h"

char *cf_test_tmpdir(const char *name)
{
  const char *base = getenv("TMPDIR");
  if (base == NULL || base[0] == '\0') {
    base = "/tmp";
  }
  char *path = cf_xasprintf("%s/cfwin-test-%s-XXXXXX", base, name);
  if (mkdtemp(path) == NULL) {
    perror("mkdtemp");
    abort();
  }
  return path;
}

void cf_test_rmdir(const char *path)
{
  cf_err *err = NULL;
  if (cf_rm_rf(path, &err) < 0) {
    fprintf(stderr, "cleanup: %s\n", err->message);
    cf_err_free(err);
  }
}

bool cf_test_is_root(void)
{
  return geteuid() == 0;
}
