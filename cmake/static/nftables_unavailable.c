/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The nftables driver of the static Linux build when no static libnftables
 * exists (Debian 12 ships only the shared library). Every call fails with a
 * message naming the build that has the driver; cmake/static.cmake puts
 * this file in place of internal/network/linux/nftables.c.
 */
#include <stdbool.h>

#include "network/linux/netlinux.h"

static int unavailable(cf_err **err)
{
  return cf_err_set(err, CF_E_NOT_IMPLEMENTED,
                    "nftables is not available in this static build (no static libnftables "
                    "was found at build time): use the dynamically linked cfwin for container "
                    "networking");
}

int cf_netlx_nft_open(cf_net_backend *backend, cf_err **err)
{
  backend->nft = NULL;
  return unavailable(err);
}

void cf_netlx_nft_close(cf_net_backend *backend)
{
  backend->nft = NULL;
}

int cf_netlx_nft_run(cf_net_backend *backend, const char *script, cf_err **err)
{
  return unavailable(err);
}

int cf_netlx_nft_list(cf_net_backend *backend, cf_nft_table_state *state, cf_err **err)
{
  return unavailable(err);
}

bool cf_netlx_nft_probe_log(cf_net_backend *backend)
{
  return false;
}

int cf_netlx_nft_endpoint_remove(cf_net_backend *backend, const char *id, cf_err **err)
{
  return unavailable(err);
}
