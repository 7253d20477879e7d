/* SPDX-License-Identifier: Apache-2.0 */
/* Run-time resolution of the vmcompute.dll layer calls, so that the
 * executable starts on hosts without the Containers feature and only the
 * calls that need it fail. */
#include "image/windows/win.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "base/mem.h"

#define VMCOMPUTE_DLL "vmcompute.dll"

typedef struct vm_symbol {
  const char *name;
  size_t offset; /* of the function pointer in cf_vmcompute */
} vm_symbol;

#define VM_SYMBOL(name)                                                                            \
  {                                                                                                \
#name, offsetof(cf_vmcompute, name)                                                            \
  }

static const vm_symbol vm_symbols[] = {
    VM_SYMBOL(NameToGuid),          VM_SYMBOL(LayerExists),       VM_SYMBOL(ImportLayer),
    VM_SYMBOL(CreateSandboxLayer),  VM_SYMBOL(ExpandSandboxSize), VM_SYMBOL(ActivateLayer),
    VM_SYMBOL(PrepareLayer),        VM_SYMBOL(GetLayerMountPath), VM_SYMBOL(UnprepareLayer),
    VM_SYMBOL(DeactivateLayer),     VM_SYMBOL(DestroyLayer),      VM_SYMBOL(ProcessBaseImage),
    VM_SYMBOL(ProcessUtilityImage),
};

#define VM_SYMBOL_COUNT (sizeof(vm_symbols) / sizeof(vm_symbols[0]))

/* Loads only from System32, so a vmcompute.dll planted next to the
 * executable or in the working directory is never used. */
static HMODULE load_system_dll(const wchar_t *name)
{
  return LoadLibraryExW(name, NULL, LOAD_LIBRARY_SEARCH_SYSTEM32);
}

static int missing_dll_error(cf_err **err, DWORD code)
{
  cf_err *cause = NULL;
  cf_win_last_error(&cause, code, "LoadLibrary " VMCOMPUTE_DLL);
  cf_err_set(err, CF_E_NOT_IMPLEMENTED,
             "the Containers feature is not enabled: " VMCOMPUTE_DLL
             " could not be loaded (%s); enable it with `Install-WindowsFeature Containers` "
             "and restart the host",
             cause->message);
  cf_err_free(cause);
  return -1;
}

int cf_vmcompute_load(cf_vmcompute *vm, cf_err **err)
{
  memset(vm, 0, sizeof(*vm));
  vm->dll = load_system_dll(L"" VMCOMPUTE_DLL);
  if (vm->dll == NULL) {
    return missing_dll_error(err, GetLastError());
  }
  for (size_t i = 0; i < VM_SYMBOL_COUNT; i++) {
    FARPROC proc = GetProcAddress(vm->dll, vm_symbols[i].name);
    if (proc == NULL) {
      cf_vmcompute_unload(vm);
      return cf_err_set(err, CF_E_NOT_IMPLEMENTED,
                        "the Containers feature is not enabled: " VMCOMPUTE_DLL
                        " has no export %s; this needs Windows Server 2019 or later with the "
                        "Containers feature",
                        vm_symbols[i].name);
    }
    memcpy((char *)vm + vm_symbols[i].offset, &proc, sizeof(proc));
  }
  return 0;
}

void cf_vmcompute_unload(cf_vmcompute *vm)
{
  if (vm->dll != NULL) {
    FreeLibrary(vm->dll);
  }
  memset(vm, 0, sizeof(*vm));
}

/* The other DLLs of the Windows backend, reported by the probe only. */
static const wchar_t *const other_dlls_w[] = {L"computecore.dll", L"computestorage.dll",
                                              L"computenetwork.dll"};
static const char *const other_dlls[] = {"computecore.dll", "computestorage.dll",
                                         "computenetwork.dll"};

int cf_vmcompute_probe(void (*report)(const char *dll, const char *symbol, bool found,
                                      void *context),
                       void *context)
{
  int missing = 0;
  HMODULE dll = load_system_dll(L"" VMCOMPUTE_DLL);
  report(VMCOMPUTE_DLL, NULL, dll != NULL, context);
  for (size_t i = 0; i < VM_SYMBOL_COUNT; i++) {
    bool found = dll != NULL && GetProcAddress(dll, vm_symbols[i].name) != NULL;
    report(VMCOMPUTE_DLL, vm_symbols[i].name, found, context);
    missing += found ? 0 : 1;
  }
  if (dll != NULL) {
    FreeLibrary(dll);
  } else {
    missing++;
  }
  for (size_t i = 0; i < sizeof(other_dlls) / sizeof(other_dlls[0]); i++) {
    HMODULE other = load_system_dll(other_dlls_w[i]);
    report(other_dlls[i], NULL, other != NULL, context);
    if (other != NULL) {
      FreeLibrary(other);
    } else {
      missing++;
    }
  }
  return missing;
}
