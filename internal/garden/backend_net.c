/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The backend's use of the network role (network/net.h), in-process: the
 * NAT network at start, a container's endpoint at create and destroy, NetIn
 * and NetOut, the sweep at reconcile, and the garden.network.* properties
 * Guardian's Info reads.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/mem.h"
#include "garden/backend_internal.h"
#include "garden/netinfo.h"
#include "network/net_rules.h"

#define PROPERTY_CONTAINER_IP "garden.network.container-ip"
#define PROPERTY_HOST_IP "garden.network.host-ip"
#define PROPERTY_EXTERNAL_IP "garden.network.external-ip"
#define PROPERTY_MAPPED_PORTS "garden.network.mapped-ports"

static void log_warning(void *context, const char *message)
{
  (void)context;
  cf_log(CF_LOG_INFO, "network.warning", "{s:s}", "warning", message);
}

const cf_backend_network *cf_backend_get_network(const cf_backend *backend)
{
  return backend->options.network;
}

int cf_backend_net_open(cf_backend *backend, cf_err **err)
{
  const cf_backend_network *network = backend->options.network;
  if (network == NULL) {
    return 0;
  }
  backend->net = cf_net_new(&network->config, &cf_net_platform_ops);
  cf_net_set_warn(backend->net, log_warning, NULL);
  if (cf_net_open(backend->net, err) < 0 || cf_net_create(backend->net, err) < 0) {
    return cf_err_wrap(err, "create container network %s", network->config.network_name);
  }
  char subnet[16];
  cf_net_format_ipv4(network->config.subnet, subnet);
  cf_log(CF_LOG_INFO, "network.ready", "{s:s, s:s, s:i}", "network", network->config.network_name,
         "subnet", subnet, "prefix-length", (int)network->config.prefix_len);
  return 0;
}

void cf_backend_net_close(cf_backend *backend)
{
  cf_net_close(backend->net);
  backend->net = NULL;
}

static int no_network(const char *handle, const char *what, cf_err **err)
{
  return cf_err_set(err, CF_E_NOT_IMPLEMENTED,
                    "container %s: %s needs a container network, and this server runs with "
                    "--disable-network",
                    handle, what);
}

/* A route for a container that has no endpoint, for example one made
 * while the server ran with --disable-network, gets a 500 naming the cause
 * instead of the 404 an unknown handle gets. */
static int explain_missing_endpoint(const char *handle, cf_err **err)
{
  if (err != NULL && *err != NULL && (*err)->code == CF_E_NOT_FOUND) {
    cf_err_clear(err);
    return cf_err_set(err, CF_E_INVALID,
                      "container %s has no network endpoint, because it was created without a "
                      "container network; create it again",
                      handle);
  }
  return -1;
}

/* Rewrites garden.network.mapped-ports from the mappings in the store, as
 * Guardian's JSON array [{"HostPort":N,"ContainerPort":M}]. */
static int write_mapped_ports(cf_backend *backend, const char *handle, cf_err **err)
{
  pthread_mutex_lock(&backend->ports_lock);
  cf_net_port_mapping *mappings = NULL;
  size_t count = 0;
  int rc = cf_store_net_mappings_list(backend->store, handle, &mappings, &count, err);
  if (rc == 0) {
    json_t *list = json_array();
    for (size_t i = 0; i < count; i++) {
      json_array_append_new(list, json_pack("{s:i, s:i}", "HostPort", (int)mappings[i].host_port,
                                            "ContainerPort", (int)mappings[i].container_port));
    }
    cf_autofree char *text = json_dumps(list, JSON_COMPACT);
    json_decref(list);
    rc = cf_store_property_set(backend->store, handle, PROPERTY_MAPPED_PORTS, text, err);
  }
  free(mappings);
  pthread_mutex_unlock(&backend->ports_lock);
  return rc;
}

/* Records the addresses Guardian's Info reports: the container's, the
 * gateway as the host's address on the container network, and the
 * external address clients reach mapped ports at. */
static int write_addresses(cf_backend *backend, const char *handle, uint32_t address, cf_err **err)
{
  const cf_backend_network *network = backend->options.network;
  char container_ip[16];
  char host_ip[16];
  char external_ip[16];
  cf_net_format_ipv4(address, container_ip);
  cf_net_format_ipv4(network->config.gateway, host_ip);
  cf_net_format_ipv4(network->external_ip, external_ip);
  if (cf_store_begin(backend->store, err) < 0) {
    return -1;
  }
  if (cf_store_property_set(backend->store, handle, PROPERTY_CONTAINER_IP, container_ip, err) < 0 ||
      cf_store_property_set(backend->store, handle, PROPERTY_HOST_IP, host_ip, err) < 0 ||
      (network->external_ip != 0 &&
       cf_store_property_set(backend->store, handle, PROPERTY_EXTERNAL_IP, external_ip, err) < 0)) {
    cf_store_rollback(backend->store);
    return -1;
  }
  return cf_store_commit(backend->store, err);
}

/* The rules up applies: the spec's NetOut rules, then with
 * allow_host_access one allow-all rule to the gateway and one to the
 * external address. The host rules point into ranges. */
static cf_net_rule *up_rules(const cf_backend_network *network, const cf_create_request *request,
                             cf_net_range ranges[2], size_t *count)
{
  cf_net_rule *rules = cf_xcalloc(request->net_out_count + 3, sizeof(*rules));
  if (request->net_out_count > 0) {
    memcpy(rules, request->net_out, request->net_out_count * sizeof(*rules));
  }
  size_t n = request->net_out_count;
  if (network->allow_host_access) {
    ranges[0] = (cf_net_range){network->config.gateway, network->config.gateway};
    rules[n++] =
        (cf_net_rule){.protocol = CF_NET_PROTO_ALL, .networks = &ranges[0], .network_count = 1};
    if (network->external_ip != 0) {
      ranges[1] = (cf_net_range){network->external_ip, network->external_ip};
      rules[n++] =
          (cf_net_rule){.protocol = CF_NET_PROTO_ALL, .networks = &ranges[1], .network_count = 1};
    }
  }
  *count = n;
  return rules;
}

int cf_backend_net_up(cf_backend *backend, const cf_create_request *request, pid_t init_pid,
                      cf_err **err)
{
  const char *handle = request->handle;
  if (backend->net == NULL) {
    if (request->net_in_count > 0 || request->net_out_count > 0) {
      return no_network(handle, request->net_in_count > 0 ? "netin" : "netout_rules", err);
    }
    return 0;
  }
  cf_net_range ranges[2];
  size_t rule_count = 0;
  cf_autofree cf_net_rule *rules = up_rules(backend->options.network, request, ranges, &rule_count);
  cf_net_up_input input = {
      .pid = init_pid,
      .rules = rules,
      .rule_count = rule_count,
      .mappings = (cf_net_mapping *)request->net_in,
      .mapping_count = request->net_in_count,
  };
  if (request->limits != NULL) {
    input.bandwidth_rate = request->limits->bandwidth_rate;
    input.bandwidth_burst = request->limits->bandwidth_burst;
  }
  cf_net_up_result result = {0};
  if (cf_net_up(backend->net, handle, &input, &result, err) < 0) {
    return cf_err_wrap(err, "bring up the network of container %s", handle);
  }
  int rc = write_addresses(backend, handle, result.address, err);
  if (rc == 0) {
    rc = write_mapped_ports(backend, handle, err);
  }
  cf_net_up_result_clear(&result);
  return rc;
}

int cf_backend_net_down(cf_backend *backend, const char *handle, cf_err **err)
{
  if (backend->net == NULL) {
    return 0;
  }
  return cf_net_down(backend->net, handle, err);
}

void cf_backend_net_sweep(cf_backend *backend, const char *const *keep, size_t keep_count)
{
  if (backend->net == NULL) {
    return;
  }
  size_t removed = 0;
  cf_err *err = NULL;
  if (cf_net_sweep(backend->net, keep, keep_count, &removed, &err) < 0) {
    cf_log_error("reconcile.network-sweep-failed", err, NULL);
    cf_err_free(err);
    return;
  }
  cf_log(CF_LOG_INFO, "reconcile.network-swept", "{s:i}", "endpoints-removed", (int)removed);
}

int cf_backend_net_metrics(cf_backend *backend, const cf_container_init *init,
                           cf_backend_metrics *out, cf_err **err)
{
  out->has_network = false;
  if (backend->net == NULL || init->pid <= 0 || !cf_runtime_container_alive(init)) {
    return 0;
  }
  cf_err *read_err = NULL;
  if (cf_container_net_bytes(init->pid, &out->rx_bytes, &out->tx_bytes, &read_err) < 0) {
    /* A container without an interface (made with --disable-network) has
     * no network figures, which is not an error. */
    if (read_err->code == CF_E_NOT_FOUND) {
      cf_err_free(read_err);
      return 0;
    }
    int rc = cf_err_set(err, read_err->code, "read network counters: %s", read_err->message);
    cf_err_free(read_err);
    return rc;
  }
  out->has_network = true;
  return 0;
}

int cf_backend_net_in(cf_backend *backend, const char *handle, cf_net_mapping *mapping,
                      cf_err **err)
{
  if (backend->net == NULL) {
    return no_network(handle, "NetIn", err);
  }
  if (cf_net_net_in(backend->net, handle, mapping, err) < 0) {
    return explain_missing_endpoint(handle, err);
  }
  return write_mapped_ports(backend, handle, err);
}

int cf_backend_net_out(cf_backend *backend, const char *handle, const cf_net_rule *rules,
                       size_t count, cf_err **err)
{
  if (backend->net == NULL) {
    return no_network(handle, "NetOut", err);
  }
  if (cf_net_net_out(backend->net, handle, NULL, rules, count, err) < 0) {
    return explain_missing_endpoint(handle, err);
  }
  return 0;
}
