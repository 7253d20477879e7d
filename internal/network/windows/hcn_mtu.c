/* SPDX-License-Identifier: Apache-2.0 */
/* MTU of the NAT network's host adapter and of a container's adapter.
 * HCN has no MTU setting, so this sets NlMtu through iphlpapi, switching
 * the calling thread into the container's network compartment as
 * winc-network does. */
#include <winsock2.h>
#include <ws2tcpip.h>

#include <iphlpapi.h>
#include <netioapi.h>
#include <stdlib.h>
#include <wchar.h>

#include "base/mem.h"
#include "image/windows/win.h"
#include "network/windows/hcn_internal.h"

/* Attempts to find an adapter and the pause before attempt i (0-based):
 * i * 200 ms, about 9 s over 10 attempts, as winc-network waits for the
 * NAT adapter. The container adapter gets 10 attempts 200 ms apart. */
#define ADAPTER_ATTEMPTS 10
#define ADAPTER_STEP_MS 200

/* Returns the adapter list of the thread's compartment, or NULL. */
static IP_ADAPTER_ADDRESSES *adapters(cf_err **err)
{
  ULONG size = 16 * 1024;
  for (int attempt = 0; attempt < 4; attempt++) {
    IP_ADAPTER_ADDRESSES *list = cf_xmalloc(size);
    ULONG rc = GetAdaptersAddresses(AF_INET, GAA_FLAG_SKIP_ANYCAST | GAA_FLAG_SKIP_MULTICAST, NULL,
                                    list, &size);
    if (rc == NO_ERROR) {
      return list;
    }
    free(list);
    if (rc != ERROR_BUFFER_OVERFLOW) {
      cf_win_last_error(err, rc, "GetAdaptersAddresses");
      return NULL;
    }
  }
  cf_err_set(err, CF_E_SYSTEM, "GetAdaptersAddresses: the adapter list kept growing");
  return NULL;
}

static bool has_address(const IP_ADAPTER_ADDRESSES *adapter, uint32_t address)
{
  for (const IP_ADAPTER_UNICAST_ADDRESS *u = adapter->FirstUnicastAddress; u != NULL; u = u->Next) {
    const SOCKADDR_IN *in = (const SOCKADDR_IN *)u->Address.lpSockaddr;
    if (in->sin_family == AF_INET && ntohl(in->sin_addr.s_addr) == address) {
      return true;
    }
  }
  return false;
}

/* Finds the adapter named name, or else the one with address; *found
 * is set to whether one was found. */
static int find_adapter(const wchar_t *name, uint32_t address, NET_LUID *luid, bool *found,
                        cf_err **err)
{
  *found = false;
  IP_ADAPTER_ADDRESSES *list = adapters(err);
  if (list == NULL) {
    return -1;
  }
  for (const IP_ADAPTER_ADDRESSES *a = list; a != NULL && !*found; a = a->Next) {
    bool match = name != NULL ? wcscmp(a->FriendlyName, name) == 0 : has_address(a, address);
    if (match) {
      *luid = a->Luid;
      *found = true;
    }
  }
  free(list);
  return 0;
}

static int set_mtu(const NET_LUID *luid, uint32_t mtu, cf_err **err)
{
  MIB_IPINTERFACE_ROW row;
  InitializeIpInterfaceEntry(&row);
  row.Family = AF_INET;
  row.InterfaceLuid = *luid;
  DWORD rc = GetIpInterfaceEntry(&row);
  if (rc != NO_ERROR) {
    return cf_err_set(err, CF_E_SYSTEM, "GetIpInterfaceEntry: 0x%lx", (unsigned long)rc);
  }
  row.NlMtu = mtu;
  row.SitePrefixLength = 0; /* SetIpInterfaceEntry rejects the value it read */
  rc = SetIpInterfaceEntry(&row);
  if (rc != NO_ERROR) {
    return cf_err_set(err, CF_E_SYSTEM, "SetIpInterfaceEntry: 0x%lx", (unsigned long)rc);
  }
  return 0;
}

/* Waits for the adapter and sets its MTU, in the thread's compartment. */
static int wait_and_set(const wchar_t *name, uint32_t address, uint32_t mtu, bool growing_pause,
                        const char *what, cf_err **err)
{
  for (int i = 0; i < ADAPTER_ATTEMPTS; i++) {
    Sleep((DWORD)(growing_pause ? i * ADAPTER_STEP_MS : (i > 0 ? ADAPTER_STEP_MS : 0)));
    NET_LUID luid;
    bool found = false;
    if (find_adapter(name, address, &luid, &found, err) < 0) {
      return -1;
    }
    if (found) {
      return set_mtu(&luid, mtu, err);
    }
  }
  return cf_err_set(err, CF_E_NOT_FOUND, "%s not ready in time", what);
}

int cf_hcn_set_network_mtu(const char *network_name, uint32_t mtu, cf_err **err)
{
  cf_autofree char *adapter = cf_xasprintf("vEthernet (%s)", network_name);
  cf_autofree wchar_t *wadapter = cf_win_utf16(adapter, err);
  if (wadapter == NULL) {
    return -1;
  }
  cf_autofree char *what = cf_xasprintf("network %s", network_name);
  return wait_and_set(wadapter, 0, mtu, true, what, err);
}

int cf_hcn_set_endpoint_mtu(uint32_t compartment, uint32_t address, uint32_t mtu, cf_err **err)
{
  NET_IF_COMPARTMENT_ID previous = GetCurrentThreadCompartmentId();
  DWORD rc = SetCurrentThreadCompartmentId(compartment);
  if (rc != NO_ERROR) {
    return cf_err_set(err, CF_E_SYSTEM, "SetCurrentThreadCompartmentId(%u): 0x%lx",
                      (unsigned)compartment, (unsigned long)rc);
  }
  char text[CF_HCN_IPV4_STRLEN];
  cf_hcn_ipv4_format(address, text);
  cf_autofree char *what = cf_xasprintf("the adapter of %s", text);
  int result = wait_and_set(NULL, address, mtu, false, what, err);
  SetCurrentThreadCompartmentId(previous);
  return result;
}
