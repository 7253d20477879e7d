/* SPDX-License-Identifier: Apache-2.0 */
#include "garden/netinfo.h"

int cf_container_net_bytes(pid_t pid, uint64_t *rx_bytes, uint64_t *tx_bytes, cf_err **err)
{
  *rx_bytes = 0;
  *tx_bytes = 0;
  return cf_err_set(err, CF_E_NOT_IMPLEMENTED,
                    "read container network counters: the Windows Garden backend has no "
                    "container network yet");
}

/* NOTE: the host's external address is not detected on Windows yet, so
 * garden.network.external-ip is left out unless --external-ip is given. */
int cf_host_external_ip(const char *skip_ifname, uint32_t skip_subnet, uint8_t skip_prefix_len,
                        uint32_t *out, cf_err **err)
{
  *out = 0;
  return 0;
}
