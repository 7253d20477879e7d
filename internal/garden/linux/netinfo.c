/* SPDX-License-Identifier: Apache-2.0 */
/* Interface counters from /proc and host addresses from getifaddrs(). */
#include "garden/netinfo.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <inttypes.h>
#include <net/if.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "base/mem.h"

int cf_container_net_bytes(pid_t pid, uint64_t *rx_bytes, uint64_t *tx_bytes, cf_err **err)
{
  *rx_bytes = 0;
  *tx_bytes = 0;
  /* /proc/<pid>/net/dev lists the interfaces of pid's network namespace,
   * as seen from inside it. */
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/net/dev", (int)pid);
  FILE *file = fopen(path, "re");
  if (file == NULL) {
    return cf_err_sys(err, errno, "open %s", path);
  }
  char line[512];
  bool found = false;
  while (!found && fgets(line, sizeof(line), file) != NULL) {
    const char *name = line + strspn(line, " ");
    if (strncmp(name, "eth0:", 5) != 0) {
      continue;
    }
    /* Receive: bytes packets errs drop fifo frame compressed multicast,
     * then Transmit: bytes ... */
    uint64_t fields[9];
    found = sscanf(name + 5,
                   "%" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
                   " %" SCNu64 " %" SCNu64 " %" SCNu64,
                   &fields[0], &fields[1], &fields[2], &fields[3], &fields[4], &fields[5],
                   &fields[6], &fields[7], &fields[8]) == 9;
    *rx_bytes = fields[0];
    *tx_bytes = fields[8];
  }
  fclose(file);
  if (!found) {
    *rx_bytes = 0;
    *tx_bytes = 0;
    return cf_err_set(err, CF_E_NOT_FOUND, "%s has no eth0 interface", path);
  }
  return 0;
}

static bool in_subnet(uint32_t address, uint32_t subnet, uint8_t prefix_len)
{
  uint32_t mask = prefix_len == 0 ? 0 : ~(uint32_t)0 << (32 - prefix_len);
  return (address & mask) == (subnet & mask);
}

int cf_host_external_ip(const char *skip_ifname, uint32_t skip_subnet, uint8_t skip_prefix_len,
                        uint32_t *out, cf_err **err)
{
  *out = 0;
  struct ifaddrs *list = NULL;
  if (getifaddrs(&list) < 0) {
    return cf_err_sys(err, errno, "list the host's addresses");
  }
  for (struct ifaddrs *entry = list; entry != NULL && *out == 0; entry = entry->ifa_next) {
    if (entry->ifa_addr == NULL || entry->ifa_addr->sa_family != AF_INET ||
        (entry->ifa_flags & IFF_UP) == 0 || (entry->ifa_flags & IFF_LOOPBACK) != 0 ||
        strcmp(entry->ifa_name, skip_ifname) == 0) {
      continue;
    }
    uint32_t address = ntohl(((const struct sockaddr_in *)entry->ifa_addr)->sin_addr.s_addr);
    if (!in_subnet(address, skip_subnet, skip_prefix_len)) {
      *out = address;
    }
  }
  freeifaddrs(list);
  return 0;
}
