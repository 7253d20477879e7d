/* SPDX-License-Identifier: Apache-2.0 */
/* Run-time resolution of computenetwork.dll, HCN errors, queries and the
 * container namespaces.
 * NOTE: no line under internal/network/windows/ has run on a Windows host;
 * CI only cross-compiles it. */
#include "network/windows/hcn_internal.h"

#include <objbase.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "image/windows/win.h"
#include "runtime/windows/hcs_internal.h"
#include "runtime/winhcs.h"

#define COMPUTENETWORK_DLL "computenetwork.dll"

typedef struct hcn_symbol {
  const char *name;
  size_t offset; /* of the function pointer in cf_hcn_api */
} hcn_symbol;

#define HCN_SYMBOL(name)                                                                           \
  {                                                                                                \
#name, offsetof(cf_hcn_api, name)                                                              \
  }

static const hcn_symbol hcn_symbols[] = {
    HCN_SYMBOL(HcnEnumerateNetworks),
    HCN_SYMBOL(HcnCreateNetwork),
    HCN_SYMBOL(HcnOpenNetwork),
    HCN_SYMBOL(HcnQueryNetworkProperties),
    HCN_SYMBOL(HcnDeleteNetwork),
    HCN_SYMBOL(HcnCloseNetwork),
    HCN_SYMBOL(HcnEnumerateEndpoints),
    HCN_SYMBOL(HcnCreateEndpoint),
    HCN_SYMBOL(HcnOpenEndpoint),
    HCN_SYMBOL(HcnModifyEndpoint),
    HCN_SYMBOL(HcnQueryEndpointProperties),
    HCN_SYMBOL(HcnDeleteEndpoint),
    HCN_SYMBOL(HcnCloseEndpoint),
    HCN_SYMBOL(HcnCreateNamespace),
    HCN_SYMBOL(HcnOpenNamespace),
    HCN_SYMBOL(HcnModifyNamespace),
    HCN_SYMBOL(HcnQueryNamespaceProperties),
    HCN_SYMBOL(HcnDeleteNamespace),
    HCN_SYMBOL(HcnCloseNamespace),
};

#define HCN_SYMBOL_COUNT (sizeof(hcn_symbols) / sizeof(hcn_symbols[0]))

int cf_hcn_api_load(cf_hcn_api *api, cf_err **err)
{
  memset(api, 0, sizeof(*api));
  /* Only System32, so a planted computenetwork.dll is never loaded. */
  api->dll = LoadLibraryExW(L"" COMPUTENETWORK_DLL, NULL, LOAD_LIBRARY_SEARCH_SYSTEM32);
  if (api->dll == NULL) {
    DWORD code = GetLastError();
    cf_autofree char *text = cf_hcs_system_message(code);
    return cf_err_set(err, CF_E_NOT_IMPLEMENTED,
                      "the Containers feature is not enabled: " COMPUTENETWORK_DLL
                      " could not be loaded (error %lu: %s); enable it with "
                      "`Install-WindowsFeature Containers` and restart the host",
                      (unsigned long)code, text != NULL ? text : "no system message");
  }
  for (size_t i = 0; i < HCN_SYMBOL_COUNT; i++) {
    FARPROC proc = GetProcAddress(api->dll, hcn_symbols[i].name);
    if (proc == NULL) {
      const char *name = hcn_symbols[i].name;
      cf_hcn_api_unload(api);
      return cf_err_set(err, CF_E_NOT_IMPLEMENTED,
                        COMPUTENETWORK_DLL " has no export %s; the Windows network backend needs "
                                           "Windows Server 2019 or later with the Containers "
                                           "feature",
                        name);
    }
    memcpy((char *)api + hcn_symbols[i].offset, &proc, sizeof(proc));
  }
  return 0;
}

void cf_hcn_api_unload(cf_hcn_api *api)
{
  if (api->dll != NULL) {
    FreeLibrary(api->dll);
  }
  memset(api, 0, sizeof(*api));
}

int cf_hcn_take_string(PWSTR text, char **out, cf_err **err)
{
  *out = NULL;
  if (text == NULL) {
    return 0;
  }
  *out = cf_win_utf8(text, err);
  CoTaskMemFree(text);
  return *out != NULL ? 0 : -1;
}

int cf_hcn_call_error(cf_err **err, const char *call, const char *object, HRESULT hr, PWSTR record)
{
  cf_autofree char *record_utf8 = NULL;
  cf_hcn_take_string(record, &record_utf8, NULL);
  cf_autofree char *system = cf_hcs_system_message((DWORD)hr);
  cf_autofree char *message = cf_hcn_error_message(call, object, (uint32_t)hr, system, record_utf8);
  enum cf_code code = cf_hcn_hresult_is_not_found((uint32_t)hr) ? CF_E_NOT_FOUND : CF_E_SYSTEM;
  return cf_err_set(err, code, "%s", message);
}

int cf_hcn_win_guid(const char *text, GUID *out, cf_err **err)
{
  cf_hcn_guid parsed;
  if (cf_hcn_guid_parse(text, &parsed, err) < 0) {
    return -1;
  }
  out->Data1 = parsed.data1;
  out->Data2 = parsed.data2;
  out->Data3 = parsed.data3;
  memcpy(out->Data4, parsed.data4, sizeof(out->Data4));
  return 0;
}

int cf_hcn_enumerate(const cf_hcn_api *api, bool networks, const char *key, const char *value,
                     char ***ids, size_t *count, cf_err **err)
{
  const char *call = networks ? "EnumerateNetworks" : "EnumerateEndpoints";
  cf_autofree char *query = cf_hcn_query_json(key, value);
  cf_autofree wchar_t *wquery = cf_win_utf16(query, err);
  if (wquery == NULL) {
    return -1;
  }
  PWSTR result = NULL;
  PWSTR record = NULL;
  HRESULT hr = networks ? api->HcnEnumerateNetworks(wquery, &result, &record)
                        : api->HcnEnumerateEndpoints(wquery, &result, &record);
  if (FAILED(hr)) {
    if (result != NULL) {
      CoTaskMemFree(result);
    }
    return cf_hcn_call_error(err, call, value, hr, record);
  }
  if (record != NULL) {
    CoTaskMemFree(record);
  }
  cf_autofree char *doc = NULL;
  if (cf_hcn_take_string(result, &doc, err) < 0) {
    return -1;
  }
  return cf_hcn_ids_parse(doc, ids, count, err);
}

/* Opens the object with id, queries its properties with the default query
 * and closes it. */
static int query_properties(const cf_hcn_api *api, bool network, const char *id, char **doc,
                            cf_err **err)
{
  GUID guid;
  if (cf_hcn_win_guid(id, &guid, err) < 0) {
    return -1;
  }
  cf_autofree char *query = cf_hcn_query_json(NULL, NULL);
  cf_autofree wchar_t *wquery = cf_win_utf16(query, err);
  if (wquery == NULL) {
    return -1;
  }
  void *handle = NULL;
  PWSTR record = NULL;
  HRESULT hr = network ? api->HcnOpenNetwork(&guid, &handle, &record)
                       : api->HcnOpenEndpoint(&guid, &handle, &record);
  if (FAILED(hr)) {
    return cf_hcn_call_error(err, network ? "OpenNetwork" : "OpenEndpoint", id, hr, record);
  }
  PWSTR properties = NULL;
  record = NULL;
  hr = network ? api->HcnQueryNetworkProperties(handle, wquery, &properties, &record)
               : api->HcnQueryEndpointProperties(handle, wquery, &properties, &record);
  if (network) {
    api->HcnCloseNetwork(handle);
  } else {
    api->HcnCloseEndpoint(handle);
  }
  if (FAILED(hr)) {
    return cf_hcn_call_error(err, network ? "QueryNetworkProperties" : "QueryEndpointProperties",
                             id, hr, record);
  }
  if (cf_hcn_take_string(properties, doc, err) < 0) {
    return -1;
  }
  if (*doc == NULL) {
    return cf_err_set(err, CF_E_SYSTEM, "hcn: the properties of %s came back empty", id);
  }
  return 0;
}

int cf_hcn_network_properties(const cf_hcn_api *api, const char *id, char **doc, cf_err **err)
{
  return query_properties(api, true, id, doc, err);
}

int cf_hcn_endpoint_properties(const cf_hcn_api *api, const char *id, char **doc, cf_err **err)
{
  return query_properties(api, false, id, doc, err);
}

int cf_hcn_namespace_open(const cf_hcn_api *api, const char *handle, HCN_NAMESPACE *ns,
                          cf_err **err)
{
  char id[CF_HCS_GUID_STRLEN + 1];
  cf_hcs_network_namespace_guid(handle, id);
  GUID guid;
  if (cf_hcn_win_guid(id, &guid, err) < 0) {
    return -1;
  }
  PWSTR record = NULL;
  HRESULT hr = api->HcnOpenNamespace(&guid, ns, &record);
  if (FAILED(hr)) {
    cf_hcn_call_error(err, "OpenNamespace", id, hr, record);
    return cf_err_wrap(err, "the network namespace of container %s", handle);
  }
  return 0;
}

int cf_hcn_namespace_create(const char *handle, cf_err **err)
{
  cf_hcn_api api;
  if (cf_hcn_api_load(&api, err) < 0) {
    return -1;
  }
  char id[CF_HCS_GUID_STRLEN + 1];
  cf_hcs_network_namespace_guid(handle, id);
  GUID guid;
  cf_autofree char *settings = cf_hcn_namespace_json();
  cf_autofree wchar_t *wsettings = cf_win_utf16(settings, err);
  int rc = -1;
  if (wsettings != NULL && cf_hcn_win_guid(id, &guid, err) == 0) {
    HCN_NAMESPACE ns = NULL;
    PWSTR record = NULL;
    HRESULT hr = api.HcnOpenNamespace(&guid, &ns, &record);
    if (SUCCEEDED(hr)) {
      rc = 0; /* already there, from an earlier attempt */
    } else {
      if (record != NULL) {
        CoTaskMemFree(record);
      }
      record = NULL;
      hr = api.HcnCreateNamespace(&guid, wsettings, &ns, &record);
      rc = SUCCEEDED(hr) ? 0 : cf_hcn_call_error(err, "CreateNamespace", id, hr, record);
    }
    if (rc == 0) {
      api.HcnCloseNamespace(ns);
    }
  }
  cf_hcn_api_unload(&api);
  return rc;
}

int cf_hcn_namespace_delete(const char *handle, cf_err **err)
{
  cf_hcn_api api;
  if (cf_hcn_api_load(&api, err) < 0) {
    return -1;
  }
  char id[CF_HCS_GUID_STRLEN + 1];
  cf_hcs_network_namespace_guid(handle, id);
  GUID guid;
  int rc = cf_hcn_win_guid(id, &guid, err);
  if (rc == 0) {
    PWSTR record = NULL;
    HRESULT hr = api.HcnDeleteNamespace(&guid, &record);
    if (FAILED(hr) && !cf_hcn_hresult_is_not_found((uint32_t)hr)) {
      rc = cf_hcn_call_error(err, "DeleteNamespace", id, hr, record);
    } else if (record != NULL) {
      CoTaskMemFree(record);
    }
  }
  cf_hcn_api_unload(&api);
  return rc;
}
