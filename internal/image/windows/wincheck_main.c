/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cfwin-wincheck.exe: reports which DLLs and vmcompute.dll layer calls of
 * the Windows image backend this host provides, then whether the backend
 * loads. Given a driver store directory, it also opens the image storage
 * there (creating its layers and volumes directories). Exits 0 when
 * everything is present, 1 otherwise. Built only by the mingw-w64 cross
 * build. Usage: cfwin-wincheck [DRIVER_STORE]
 */
#include <stdio.h>
#include <stdlib.h>

#include "image/windows/win.h"
#include "image/storage.h"
#include "image/winimage.h"

static void print_entry(const char *dll, const char *symbol, bool found, void *context)
{
  (void)context;
  if (symbol == NULL) {
    printf("%-20s %s\n", dll, found ? "loaded" : "not found");
  } else {
    printf("  %-26s %s\n", symbol, found ? "found" : "missing");
  }
}

static int open_storage(const char *root)
{
  cf_storage *storage = NULL;
  cf_err *err = NULL;
  if (cf_storage_open(root, &storage, &err) < 0) {
    printf("open storage: %s\n", err->message);
    cf_err_free(err);
    return 1;
  }
  printf("open storage: %s\n", cf_storage_root(storage));
  cf_storage_close(storage);
  return 0;
}

int main(int argc, char **argv)
{
  int missing = cf_vmcompute_probe(print_entry, NULL);
  cf_vmcompute vm;
  cf_err *err = NULL;
  if (cf_vmcompute_load(&vm, &err) < 0) {
    printf("image storage backend: unavailable: %s\n", err->message);
    cf_err_free(err);
  } else {
    printf("image storage backend: available\n");
    cf_vmcompute_unload(&vm);
  }
  char *example = cf_win_hresult_message("probe", 0x80370118u, NULL);
  printf("HRESULT messages look like: %s\n", example);
  free(example);
  if (argc > 1) {
    missing += open_storage(argv[1]);
  }
  return missing == 0 ? 0 : 1;
}
