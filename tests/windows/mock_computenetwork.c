/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A mock computenetwork.dll for the Wine integration check: namespaces
 * only, kept in the state file (mock_host.h). Networks and endpoints are
 * not mocked; their calls fail with E_NOTIMPL, so a check that reaches
 * them fails loudly. A missing namespace gives
 * HRESULT_FROM_WIN32(ERROR_NOT_FOUND).
 */
#include <windows.h>

#include <computenetwork.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mock_host.h"

#define EXPORT __declspec(dllexport)

static void guid_text(REFGUID id, char out[40])
{
  snprintf(out, 40, "%08lx-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x", (unsigned long)id->Data1,
           id->Data2, id->Data3, id->Data4[0], id->Data4[1], id->Data4[2], id->Data4[3],
           id->Data4[4], id->Data4[5], id->Data4[6], id->Data4[7]);
}

static void clear_record(PWSTR *error_record)
{
  if (error_record != NULL) {
    *error_record = NULL;
  }
}

EXPORT HRESULT WINAPI HcnCreateNamespace(REFGUID id, PCWSTR settings, PHCN_NAMESPACE ns,
                                         PWSTR *error_record)
{
  char text[40];
  guid_text(id, text);
  clear_record(error_record);
  mock_record("HcnCreateNamespace", text, settings);
  HRESULT hr = mock_injected_failure("HcnCreateNamespace");
  if (FAILED(hr)) {
    return hr;
  }
  mock_state state;
  mock_state_load(&state);
  if (mock_state_find(&state, "namespace", text) != NULL) {
    mock_state_release(&state);
    return HRESULT_FROM_WIN32(ERROR_ALREADY_EXISTS);
  }
  mock_state_add(&state, "namespace", text, "-");
  mock_state_save(&state);
  *ns = strdup(text);
  return S_OK;
}

EXPORT HRESULT WINAPI HcnOpenNamespace(REFGUID id, PHCN_NAMESPACE ns, PWSTR *error_record)
{
  char text[40];
  guid_text(id, text);
  clear_record(error_record);
  mock_record("HcnOpenNamespace", text, NULL);
  mock_state state;
  mock_state_load(&state);
  bool found = mock_state_find(&state, "namespace", text) != NULL;
  mock_state_release(&state);
  if (!found) {
    return HRESULT_FROM_WIN32(ERROR_NOT_FOUND);
  }
  *ns = strdup(text);
  return S_OK;
}

EXPORT HRESULT WINAPI HcnDeleteNamespace(REFGUID id, PWSTR *error_record)
{
  char text[40];
  guid_text(id, text);
  clear_record(error_record);
  mock_record("HcnDeleteNamespace", text, NULL);
  HRESULT hr = mock_injected_failure("HcnDeleteNamespace");
  if (FAILED(hr)) {
    return hr;
  }
  mock_state state;
  mock_state_load(&state);
  mock_entry *entry = mock_state_find(&state, "namespace", text);
  if (entry == NULL) {
    mock_state_release(&state);
    return HRESULT_FROM_WIN32(ERROR_NOT_FOUND);
  }
  mock_state_remove(&state, entry);
  mock_state_save(&state);
  return S_OK;
}

EXPORT HRESULT WINAPI HcnCloseNamespace(HCN_NAMESPACE ns)
{
  free(ns);
  return S_OK;
}

EXPORT HRESULT WINAPI HcnModifyNamespace(HCN_NAMESPACE ns, PCWSTR settings, PWSTR *error_record)
{
  clear_record(error_record);
  return E_NOTIMPL;
}

EXPORT HRESULT WINAPI HcnQueryNamespaceProperties(HCN_NAMESPACE ns, PCWSTR query, PWSTR *properties,
                                                  PWSTR *error_record)
{
  clear_record(error_record);
  return E_NOTIMPL;
}

EXPORT HRESULT WINAPI HcnEnumerateNetworks(PCWSTR query, PWSTR *networks, PWSTR *error_record)
{
  clear_record(error_record);
  return E_NOTIMPL;
}

EXPORT HRESULT WINAPI HcnCreateNetwork(REFGUID id, PCWSTR settings, PHCN_NETWORK network,
                                       PWSTR *error_record)
{
  clear_record(error_record);
  return E_NOTIMPL;
}

EXPORT HRESULT WINAPI HcnOpenNetwork(REFGUID id, PHCN_NETWORK network, PWSTR *error_record)
{
  clear_record(error_record);
  return E_NOTIMPL;
}

EXPORT HRESULT WINAPI HcnQueryNetworkProperties(HCN_NETWORK network, PCWSTR query,
                                                PWSTR *properties, PWSTR *error_record)
{
  clear_record(error_record);
  return E_NOTIMPL;
}

EXPORT HRESULT WINAPI HcnDeleteNetwork(REFGUID id, PWSTR *error_record)
{
  clear_record(error_record);
  return E_NOTIMPL;
}

EXPORT HRESULT WINAPI HcnCloseNetwork(HCN_NETWORK network)
{
  return S_OK;
}

EXPORT HRESULT WINAPI HcnEnumerateEndpoints(PCWSTR query, PWSTR *endpoints, PWSTR *error_record)
{
  clear_record(error_record);
  return E_NOTIMPL;
}

EXPORT HRESULT WINAPI HcnCreateEndpoint(HCN_NETWORK network, REFGUID id, PCWSTR settings,
                                        PHCN_ENDPOINT endpoint, PWSTR *error_record)
{
  clear_record(error_record);
  return E_NOTIMPL;
}

EXPORT HRESULT WINAPI HcnOpenEndpoint(REFGUID id, PHCN_ENDPOINT endpoint, PWSTR *error_record)
{
  clear_record(error_record);
  return E_NOTIMPL;
}

EXPORT HRESULT WINAPI HcnModifyEndpoint(HCN_ENDPOINT endpoint, PCWSTR settings, PWSTR *error_record)
{
  clear_record(error_record);
  return E_NOTIMPL;
}

EXPORT HRESULT WINAPI HcnQueryEndpointProperties(HCN_ENDPOINT endpoint, PCWSTR query,
                                                 PWSTR *properties, PWSTR *error_record)
{
  clear_record(error_record);
  return E_NOTIMPL;
}

EXPORT HRESULT WINAPI HcnDeleteEndpoint(REFGUID id, PWSTR *error_record)
{
  clear_record(error_record);
  return E_NOTIMPL;
}

EXPORT HRESULT WINAPI HcnCloseEndpoint(HCN_ENDPOINT endpoint)
{
  return S_OK;
}
