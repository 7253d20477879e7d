/* SPDX-License-Identifier: Apache-2.0 */
/* The platform backend of network.h as a cf_net_ops table. */
#include "network/net.h"

static int platform_open(const cf_net_network *network, void **backend, cf_err **err)
{
  cf_net_backend *opened = NULL;
  if (cf_net_backend_open(network, &opened, err) < 0) {
    return -1;
  }
  *backend = opened;
  return 0;
}

static void platform_close(void *backend)
{
  cf_net_backend_close(backend);
}

static int platform_network_create(void *backend, cf_err **err)
{
  return cf_net_network_create(backend, err);
}

static int platform_network_delete(void *backend, cf_err **err)
{
  return cf_net_network_delete(backend, err);
}

static int platform_endpoint_create(void *backend, const cf_net_endpoint *endpoint, cf_err **err)
{
  return cf_net_endpoint_create(backend, endpoint, err);
}

static int platform_endpoint_set_rules(void *backend, const char *handle, uint32_t address,
                                       const cf_net_mapping *mappings, size_t mapping_count,
                                       const cf_net_rule *rules, size_t rule_count, cf_err **err)
{
  return cf_net_endpoint_set_rules(backend, handle, address, mappings, mapping_count, rules,
                                   rule_count, err);
}

static int platform_endpoint_delete(void *backend, const char *handle, cf_err **err)
{
  return cf_net_endpoint_delete(backend, handle, err);
}

static int platform_endpoint_sweep(void *backend, const char *const *keep, size_t keep_count,
                                   size_t *deleted, cf_err **err)
{
  return cf_net_endpoint_sweep(backend, keep, keep_count, deleted, err);
}

static bool platform_can_log(const void *backend)
{
  return cf_net_backend_can_log(backend);
}

const cf_net_ops cf_net_platform_ops = {
    .open = platform_open,
    .close = platform_close,
    .network_create = platform_network_create,
    .network_delete = platform_network_delete,
    .endpoint_create = platform_endpoint_create,
    .endpoint_set_rules = platform_endpoint_set_rules,
    .endpoint_delete = platform_endpoint_delete,
    .endpoint_sweep = platform_endpoint_sweep,
    .can_log = platform_can_log,
};
