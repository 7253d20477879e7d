/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Windows network backend: network.h on the Host Compute Network
 * service v2 (computenetwork.dll). Every HCN entry point is resolved at run
 * time, so the executable starts on hosts without the Containers feature
 * and only these calls fail there. The documents come from the
 * platform-neutral builders in network/winhcn.h. Compiled only by the
 * mingw-w64 build (cmake/windows).
 */
#ifndef CFWIN_NETWORK_WINDOWS_HCN_H
#define CFWIN_NETWORK_WINDOWS_HCN_H

#include <windows.h>

#include <computenetwork.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "network/winhcn.h"

/* The computenetwork.dll calls, typed after mingw-w64's computenetwork.h. */
typedef struct cf_hcn_api {
  HMODULE dll;
  __typeof__(&HcnEnumerateNetworks) HcnEnumerateNetworks;
  __typeof__(&HcnCreateNetwork) HcnCreateNetwork;
  __typeof__(&HcnOpenNetwork) HcnOpenNetwork;
  __typeof__(&HcnQueryNetworkProperties) HcnQueryNetworkProperties;
  __typeof__(&HcnDeleteNetwork) HcnDeleteNetwork;
  __typeof__(&HcnCloseNetwork) HcnCloseNetwork;
  __typeof__(&HcnEnumerateEndpoints) HcnEnumerateEndpoints;
  __typeof__(&HcnCreateEndpoint) HcnCreateEndpoint;
  __typeof__(&HcnOpenEndpoint) HcnOpenEndpoint;
  __typeof__(&HcnModifyEndpoint) HcnModifyEndpoint;
  __typeof__(&HcnQueryEndpointProperties) HcnQueryEndpointProperties;
  __typeof__(&HcnDeleteEndpoint) HcnDeleteEndpoint;
  __typeof__(&HcnCloseEndpoint) HcnCloseEndpoint;
  __typeof__(&HcnCreateNamespace) HcnCreateNamespace;
  __typeof__(&HcnOpenNamespace) HcnOpenNamespace;
  __typeof__(&HcnModifyNamespace) HcnModifyNamespace;
  __typeof__(&HcnQueryNamespaceProperties) HcnQueryNamespaceProperties;
  __typeof__(&HcnDeleteNamespace) HcnDeleteNamespace;
  __typeof__(&HcnCloseNamespace) HcnCloseNamespace;
} cf_hcn_api;

/* Loads computenetwork.dll from System32 and resolves its calls. Fails with
 * CF_E_NOT_IMPLEMENTED, naming the Containers feature, when the DLL or a
 * call is missing. */
int cf_hcn_api_load(cf_hcn_api *api, cf_err **err);
void cf_hcn_api_unload(cf_hcn_api *api);

/* Creates the HCN namespace of a container, with the GUID
 * cf_hcs_network_namespace_guid gives for handle. The runtime calls it
 * before it creates the compute system whose Container.Networking.Namespace
 * names that GUID; the network role later adds the endpoint to it. An
 * existing namespace with that GUID is not an error. */
int cf_hcn_namespace_create(const char *handle, cf_err **err);

/* Deletes the namespace of handle; a missing one is not an error. The
 * runtime calls it after the compute system is gone. */
int cf_hcn_namespace_delete(const char *handle, cf_err **err);

#endif
