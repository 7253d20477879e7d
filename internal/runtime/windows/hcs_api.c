/* SPDX-License-Identifier: Apache-2.0 */
/* Run-time resolution of computecore.dll, HCS operations and their errors.
 * NOTE: no line under internal/runtime/windows/ has run on a Windows host.
 * CI runs it under Wine against the mock DLLs of tests/windows only. */
#include "runtime/windows/hcs_internal.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "image/windows/win.h"

#define COMPUTECORE_DLL "computecore.dll"

typedef struct hcs_symbol {
  const char *name;
  size_t offset; /* of the function pointer in cf_hcs_api */
  bool optional;
} hcs_symbol;

#define HCS_REQUIRED(name)                                                                         \
  {                                                                                                \
#name, offsetof(cf_hcs_api, name), false                                                       \
  }
#define HCS_OPTIONAL(name)                                                                         \
  {                                                                                                \
#name, offsetof(cf_hcs_api, name), true                                                        \
  }

static const hcs_symbol hcs_symbols[] = {
    HCS_REQUIRED(HcsCreateOperation),
    HCS_REQUIRED(HcsCloseOperation),
    HCS_REQUIRED(HcsWaitForOperationResult),
    HCS_REQUIRED(HcsWaitForOperationResultAndProcessInfo),
    HCS_REQUIRED(HcsCancelOperation),
    HCS_REQUIRED(HcsEnumerateComputeSystems),
    HCS_REQUIRED(HcsCreateComputeSystem),
    HCS_REQUIRED(HcsOpenComputeSystem),
    HCS_REQUIRED(HcsCloseComputeSystem),
    HCS_REQUIRED(HcsStartComputeSystem),
    HCS_REQUIRED(HcsShutDownComputeSystem),
    HCS_REQUIRED(HcsTerminateComputeSystem),
    HCS_REQUIRED(HcsGetComputeSystemProperties),
    HCS_REQUIRED(HcsSetComputeSystemCallback),
    HCS_REQUIRED(HcsCreateProcess),
    HCS_REQUIRED(HcsOpenProcess),
    HCS_REQUIRED(HcsCloseProcess),
    HCS_REQUIRED(HcsSignalProcess),
    HCS_REQUIRED(HcsTerminateProcess),
    HCS_REQUIRED(HcsModifyProcess),
    HCS_REQUIRED(HcsSetProcessCallback),
    HCS_OPTIONAL(HcsWaitForComputeSystemExit),
    HCS_OPTIONAL(HcsWaitForProcessExit),
};

#define HCS_SYMBOL_COUNT (sizeof(hcs_symbols) / sizeof(hcs_symbols[0]))

/* Loads only from System32, so a computecore.dll planted next to the
 * executable or in the working directory is never used. */
static HMODULE load_computecore(void)
{
  return LoadLibraryExW(L"" COMPUTECORE_DLL, NULL, LOAD_LIBRARY_SEARCH_SYSTEM32);
}

int cf_hcs_api_load(cf_hcs_api *api, cf_err **err)
{
  memset(api, 0, sizeof(*api));
  api->dll = load_computecore();
  if (api->dll == NULL) {
    DWORD code = GetLastError();
    cf_autofree char *text = cf_hcs_system_message(code);
    return cf_err_set(err, CF_E_NOT_IMPLEMENTED,
                      "the Containers feature is not enabled: " COMPUTECORE_DLL
                      " could not be loaded (error %lu: %s); enable it with "
                      "`Install-WindowsFeature Containers` and restart the host",
                      (unsigned long)code, text != NULL ? text : "no system message");
  }
  for (size_t i = 0; i < HCS_SYMBOL_COUNT; i++) {
    FARPROC proc = GetProcAddress(api->dll, hcs_symbols[i].name);
    if (proc == NULL && !hcs_symbols[i].optional) {
      const char *name = hcs_symbols[i].name;
      cf_hcs_api_unload(api);
      return cf_err_set(err, CF_E_NOT_IMPLEMENTED,
                        COMPUTECORE_DLL " has no export %s; the Windows runtime needs Windows "
                                        "Server 2019 or later with the Containers feature",
                        name);
    }
    memcpy((char *)api + hcs_symbols[i].offset, &proc, sizeof(proc));
  }
  return 0;
}

void cf_hcs_api_unload(cf_hcs_api *api)
{
  if (api->dll != NULL) {
    FreeLibrary(api->dll);
  }
  memset(api, 0, sizeof(*api));
}

int cf_hcs_api_probe(void (*report)(const char *symbol, bool found, bool optional, void *context),
                     void *context)
{
  HMODULE dll = load_computecore();
  report(NULL, dll != NULL, false, context);
  int missing = dll != NULL ? 0 : 1;
  for (size_t i = 0; i < HCS_SYMBOL_COUNT; i++) {
    bool found = dll != NULL && GetProcAddress(dll, hcs_symbols[i].name) != NULL;
    report(hcs_symbols[i].name, found, hcs_symbols[i].optional, context);
    if (!found && !hcs_symbols[i].optional) {
      missing++;
    }
  }
  if (dll != NULL) {
    FreeLibrary(dll);
  }
  return missing;
}

char *cf_hcs_system_message(DWORD code)
{
  char *text = NULL;
  DWORD flags =
      FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS;
  if (FormatMessageA(flags, NULL, code, 0, (LPSTR)&text, 0, NULL) == 0) {
    return NULL;
  }
  char *copy = cf_xstrdup(text);
  LocalFree(text);
  // FormatMessage ends the text with a line break, which would split the
  // one-line errors built from it.
  size_t len = strlen(copy);
  while (len > 0 && strchr("\r\n ", copy[len - 1]) != NULL) {
    copy[--len] = '\0';
  }
  return copy;
}

int cf_hcs_call_error(cf_err **err, const char *call, const char *id, HRESULT hr,
                      const wchar_t *result)
{
  cf_autofree char *system = cf_hcs_system_message((DWORD)hr);
  cf_autofree char *message = cf_hcs_error_message(call, id, (uint32_t)hr, system);
  cf_autofree char *result_utf8 = result != NULL ? cf_win_utf8(result, NULL) : NULL;
  cf_autofree char *detail = NULL;
  cf_hcs_result_error_message(result_utf8, &detail);
  enum cf_code code = CF_E_SYSTEM;
  if ((uint32_t)hr == 0xC037010Eu) {
    code = CF_E_NOT_FOUND;
  } else if ((uint32_t)hr == 0xC037010Fu) {
    code = CF_E_EXISTS;
  }
  if (detail != NULL && detail[0] != '\0') {
    return cf_err_set(err, code, "%s: %s", message, detail);
  }
  return cf_err_set(err, code, "%s", message);
}

int cf_hcs_operation(const cf_hcs_api *api, const char *call, HCS_OPERATION *op, cf_err **err)
{
  *op = api->HcsCreateOperation(NULL, NULL);
  if (*op == NULL) {
    return cf_err_set(err, CF_E_SYSTEM, "HcsCreateOperation for %s failed", call);
  }
  return 0;
}

/* HCS_E_OPERATION_TIMEOUT, which HcsWaitForOperationResult returns when
 * timeout_ms passes; the operation is then cancelled. */
#define HCS_E_OPERATION_TIMEOUT ((HRESULT)0x80370118u)

int cf_hcs_finish(const cf_hcs_api *api, HCS_OPERATION op, HRESULT hr, DWORD timeout_ms,
                  const char *call, const char *id, char **result, HRESULT *hr_out, cf_err **err)
{
  PWSTR document = NULL;
  if (SUCCEEDED(hr)) {
    hr = api->HcsWaitForOperationResult(op, timeout_ms, &document);
    if (hr == HCS_E_OPERATION_TIMEOUT) {
      api->HcsCancelOperation(op);
    }
  }
  api->HcsCloseOperation(op);
  if (hr_out != NULL) {
    *hr_out = hr;
  }
  int rc = 0;
  if (FAILED(hr)) {
    rc = cf_hcs_call_error(err, call, id, hr, document);
  } else if (result != NULL) {
    *result = document != NULL ? cf_win_utf8(document, err) : NULL;
    rc = document != NULL && *result == NULL ? -1 : 0;
  }
  if (document != NULL) {
    LocalFree(document);
  }
  return rc;
}

int cf_hcs_enumerate(const cf_hcs_api *api, const char *query, char **out, cf_err **err)
{
  cf_autofree wchar_t *wquery = cf_win_utf16(query, err);
  HCS_OPERATION op = NULL;
  if (wquery == NULL || cf_hcs_operation(api, "EnumerateComputeSystems", &op, err) < 0) {
    return -1;
  }
  HRESULT hr = api->HcsEnumerateComputeSystems(wquery, op);
  char *result = NULL;
  if (cf_hcs_finish(api, op, hr, CF_HCS_TIMEOUT_CREATE_MS, "EnumerateComputeSystems", query,
                    &result, NULL, err) < 0) {
    return -1;
  }
  *out = result != NULL ? result : cf_xstrdup("[]");
  return 0;
}
