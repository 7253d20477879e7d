/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the files of the Windows network backend. */
#ifndef CFWIN_NETWORK_WINDOWS_HCN_INTERNAL_H
#define CFWIN_NETWORK_WINDOWS_HCN_INTERNAL_H

#include "network/windows/hcn.h"

/* Sets *err from a failed HCN call, "hcn::<call> <object>: <text>
 * (HRESULT 0x..)[: <error record>]", with CF_E_NOT_FOUND for an object that
 * does not exist, else CF_E_SYSTEM. Frees record (CoTaskMemFree). Returns
 * -1. */
int cf_hcn_call_error(cf_err **err, const char *call, const char *object, HRESULT hr, PWSTR record);

/* Converts a string HCN returned to UTF-8 and frees it (CoTaskMemFree).
 * NULL gives NULL with *out NULL. */
int cf_hcn_take_string(PWSTR text, char **out, cf_err **err);

/* Converts GUID text to a GUID structure. */
int cf_hcn_win_guid(const char *text, GUID *out, cf_err **err);

/* Runs HcnEnumerateEndpoints or HcnEnumerateNetworks with a query filtered
 * on key == value, and returns the IDs found. */
int cf_hcn_enumerate(const cf_hcn_api *api, bool networks, const char *key, const char *value,
                     char ***ids, size_t *count, cf_err **err);

/* Reads the properties document of the network or endpoint with id. */
int cf_hcn_network_properties(const cf_hcn_api *api, const char *id, char **doc, cf_err **err);
int cf_hcn_endpoint_properties(const cf_hcn_api *api, const char *id, char **doc, cf_err **err);

/* Opens the namespace of handle. Fails with CF_E_NOT_FOUND when it does
 * not exist. */
int cf_hcn_namespace_open(const cf_hcn_api *api, const char *handle, HCN_NAMESPACE *ns,
                          cf_err **err);

/* Sets the IPv4 MTU of the host adapter "vEthernet (<network_name>)",
 * waiting up to about 9 seconds for it to appear after the network is
 * created. */
int cf_hcn_set_network_mtu(const char *network_name, uint32_t mtu, cf_err **err);

/* Sets the IPv4 MTU of the adapter with address in network compartment
 * compartment, waiting up to about 2 seconds for it to appear after the
 * endpoint is added to the namespace. */
int cf_hcn_set_endpoint_mtu(uint32_t compartment, uint32_t address, uint32_t mtu, cf_err **err);

#endif
