/* SPDX-License-Identifier: Apache-2.0 */
/* Host facts the server's network wiring reads from the platform. */
#ifndef CFWIN_GARDEN_NETINFO_H
#define CFWIN_GARDEN_NETINFO_H

#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"

/* Reads the byte counters of eth0, the interface the network backend gives
 * a container, in the network namespace of pid: *rx_bytes is what the
 * container received, *tx_bytes what it sent. CF_E_NOT_FOUND when the
 * namespace has no eth0. */
int cf_container_net_bytes(pid_t pid, uint64_t *rx_bytes, uint64_t *tx_bytes, cf_err **err);

/* Finds the host's external IPv4 address: the first address of an
 * interface that is up, is not loopback, is not named skip_ifname and lies
 * outside skip_subnet/skip_prefix_len (the container network). Sets *out
 * (host byte order) to 0 when there is none. */
int cf_host_external_ip(const char *skip_ifname, uint32_t skip_subnet, uint8_t skip_prefix_len,
                        uint32_t *out, cf_err **err);

#endif
