/* SPDX-License-Identifier: Apache-2.0 */
/* network.h on HCN v2: the NAT network, one endpoint per container added
 * to the container's namespace, and the endpoint's policies. */
#include <objbase.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "image/windows/win.h"
#include "network/network.h"
#include "network/windows/hcn_internal.h"

struct cf_net_backend {
  cf_hcn_api api;
  cf_net_network network; /* points into name and search */
  char *name;
  char **search;
};

static void free_record(PWSTR record)
{
  if (record != NULL) {
    CoTaskMemFree(record);
  }
}

int cf_net_backend_open(const cf_net_network *network, cf_net_backend **out, cf_err **err)
{
  cf_net_backend *backend = cf_xcalloc(1, sizeof(*backend));
  if (cf_hcn_api_load(&backend->api, err) < 0) {
    free(backend);
    return -1;
  }
  backend->network = *network;
  backend->name = cf_xstrdup(network->name != NULL ? network->name : "");
  backend->search = cf_xcalloc(network->search_domain_count + 1, sizeof(char *));
  for (size_t i = 0; i < network->search_domain_count; i++) {
    backend->search[i] = cf_xstrdup(network->search_domains[i]);
  }
  backend->network.name = backend->name;
  backend->network.search_domains = (const char *const *)backend->search;
  *out = backend;
  return 0;
}

void cf_net_backend_close(cf_net_backend *backend)
{
  if (backend == NULL) {
    return;
  }
  cf_hcn_api_unload(&backend->api);
  cf_strv_free(backend->search, backend->network.search_domain_count);
  free(backend->name);
  free(backend);
}

bool cf_net_backend_can_log(const cf_net_backend *backend)
{
  (void)backend;
  return false; /* HCN ACL policies have no logging setting */
}

/* --- Network --- */

/* Reads the network called network_name into *info; *found is false when
 * there is none. */
static int find_network(cf_net_backend *backend, cf_hcn_network_info *info, bool *found,
                        cf_err **err)
{
  memset(info, 0, sizeof(*info));
  *found = false;
  char **ids = NULL;
  size_t count = 0;
  if (cf_hcn_enumerate(&backend->api, true, "Name", backend->name, &ids, &count, err) < 0) {
    return -1;
  }
  int rc = 0;
  if (count > 0) {
    cf_autofree char *doc = NULL;
    rc = cf_hcn_network_properties(&backend->api, ids[0], &doc, err);
    if (rc == 0) {
      rc = cf_hcn_network_parse(doc, info, err);
    }
    if (rc == 0 && info->id == NULL) {
      info->id = cf_xstrdup(ids[0]);
    }
    *found = rc == 0;
  }
  cf_strv_free(ids, count);
  return rc;
}

static int create_network(cf_net_backend *backend, cf_err **err)
{
  cf_autofree char *settings = NULL;
  if (cf_hcn_network_json(&backend->network, &settings, err) < 0) {
    return -1;
  }
  cf_autofree wchar_t *wsettings = cf_win_utf16(settings, err);
  if (wsettings == NULL) {
    return -1;
  }
  GUID id = {0}; /* the zero GUID: HCN assigns the ID, as hcsshim lets it */
  HCN_NETWORK network = NULL;
  PWSTR record = NULL;
  HRESULT hr = backend->api.HcnCreateNetwork(&id, wsettings, &network, &record);
  if (FAILED(hr)) {
    return cf_hcn_call_error(err, "CreateNetwork", backend->name, hr, record);
  }
  free_record(record);
  backend->api.HcnCloseNetwork(network);
  return 0;
}

int cf_net_network_create(cf_net_backend *backend, cf_err **err)
{
  cf_hcn_network_info info;
  bool found = false;
  if (find_network(backend, &info, &found, err) < 0) {
    return cf_err_wrap(err, "network create");
  }
  if (found) {
    bool matches = cf_hcn_network_matches(&info, &backend->network);
    cf_autofree char *subnets = cf_hcn_network_subnets_text(&info);
    cf_hcn_network_info_free(&info);
    if (matches) {
      return 0; /* as winc-network, the MTU is not applied again */
    }
    char subnet[CF_HCN_IPV4_STRLEN];
    char gateway[CF_HCN_IPV4_STRLEN];
    cf_hcn_ipv4_format(backend->network.subnet, subnet);
    cf_hcn_ipv4_format(backend->network.gateway, gateway);
    return cf_err_set(err, CF_E_EXISTS,
                      "nat network %s exists with subnets %s, not %s/%u via %s; delete it with "
                      "--action delete or change network_name",
                      backend->name, subnets, subnet, (unsigned)backend->network.prefix_len,
                      gateway);
  }
  if (create_network(backend, err) < 0) {
    return cf_err_wrap(err, "network create");
  }
  if (backend->network.mtu > 0 &&
      cf_hcn_set_network_mtu(backend->name, backend->network.mtu, err) < 0) {
    return cf_err_wrap(err, "network create: MTU %u", (unsigned)backend->network.mtu);
  }
  return 0;
}

int cf_net_network_delete(cf_net_backend *backend, cf_err **err)
{
  cf_hcn_network_info info;
  bool found = false;
  if (find_network(backend, &info, &found, err) < 0) {
    return cf_err_wrap(err, "network delete");
  }
  if (!found) {
    return 0;
  }
  GUID id;
  int rc = cf_hcn_win_guid(info.id, &id, err);
  if (rc == 0) {
    PWSTR record = NULL;
    HRESULT hr = backend->api.HcnDeleteNetwork(&id, &record);
    if (FAILED(hr) && !cf_hcn_hresult_is_not_found((uint32_t)hr)) {
      rc = cf_hcn_call_error(err, "DeleteNetwork", info.id, hr, record);
    } else {
      free_record(record);
    }
  }
  cf_hcn_network_info_free(&info);
  return rc < 0 ? cf_err_wrap(err, "network delete") : 0;
}

/* --- Endpoints --- */

/* Adds (or removes) the endpoint to the namespace of handle. */
static int modify_namespace(cf_net_backend *backend, const char *handle, const char *endpoint_id,
                            bool add, cf_err **err)
{
  HCN_NAMESPACE ns = NULL;
  if (cf_hcn_namespace_open(&backend->api, handle, &ns, err) < 0) {
    return -1;
  }
  cf_autofree char *request = cf_hcn_namespace_endpoint_json(endpoint_id, add);
  cf_autofree wchar_t *wrequest = cf_win_utf16(request, err);
  int rc = -1;
  if (wrequest != NULL) {
    PWSTR record = NULL;
    HRESULT hr = backend->api.HcnModifyNamespace(ns, wrequest, &record);
    rc = SUCCEEDED(hr) ? 0 : cf_hcn_call_error(err, "ModifyNamespace", endpoint_id, hr, record);
    if (rc == 0) {
      free_record(record);
    }
  }
  backend->api.HcnCloseNamespace(ns);
  return rc;
}

static int delete_endpoint(cf_net_backend *backend, const char *endpoint_id, cf_err **err)
{
  GUID id;
  if (cf_hcn_win_guid(endpoint_id, &id, err) < 0) {
    return -1;
  }
  PWSTR record = NULL;
  HRESULT hr = backend->api.HcnDeleteEndpoint(&id, &record);
  if (FAILED(hr) && !cf_hcn_hresult_is_not_found((uint32_t)hr)) {
    return cf_hcn_call_error(err, "DeleteEndpoint", endpoint_id, hr, record);
  }
  free_record(record);
  return 0;
}

/* Removes the endpoint from the container's namespace, where the namespace
 * still exists, then deletes it. A namespace that is gone with its
 * container is not an error. */
static int detach_and_delete(cf_net_backend *backend, const char *handle, const char *endpoint_id,
                             cf_err **err)
{
  cf_err *detach_err = NULL;
  if (modify_namespace(backend, handle, endpoint_id, false, &detach_err) < 0 &&
      detach_err->code == CF_E_NOT_FOUND) {
    cf_err_clear(&detach_err);
  }
  int rc = delete_endpoint(backend, endpoint_id, err);
  if (rc < 0) {
    cf_err_free(detach_err);
    return cf_err_wrap(err, "networkDown: endpoint %s of %s", endpoint_id, handle);
  }
  if (detach_err != NULL) {
    /* The endpoint is deleted, but removing it from the namespace failed. */
    cf_err_set(err, detach_err->code, "networkDown: %s", detach_err->message);
    cf_err_free(detach_err);
    return -1;
  }
  return 0;
}

/* Returns the IDs of the endpoints called handle. */
static int endpoints_of(cf_net_backend *backend, const char *handle, char ***ids, size_t *count,
                        cf_err **err)
{
  return cf_hcn_enumerate(&backend->api, false, "Name", handle, ids, count, err);
}

/* Creates the endpoint in the network and returns its ID. */
static int create_endpoint(cf_net_backend *backend, const cf_net_endpoint *endpoint,
                           const char *network_id, char **endpoint_id, cf_err **err)
{
  cf_autofree char *settings = NULL;
  if (cf_hcn_endpoint_json(endpoint, &backend->network, network_id, &settings, err) < 0) {
    return -1;
  }
  cf_autofree wchar_t *wsettings = cf_win_utf16(settings, err);
  GUID net_id;
  if (wsettings == NULL || cf_hcn_win_guid(network_id, &net_id, err) < 0) {
    return -1;
  }
  HCN_NETWORK network = NULL;
  PWSTR record = NULL;
  HRESULT hr = backend->api.HcnOpenNetwork(&net_id, &network, &record);
  if (FAILED(hr)) {
    return cf_hcn_call_error(err, "OpenNetwork", network_id, hr, record);
  }
  GUID id = {0};
  HCN_ENDPOINT ep = NULL;
  record = NULL;
  hr = backend->api.HcnCreateEndpoint(network, &id, wsettings, &ep, &record);
  backend->api.HcnCloseNetwork(network);
  if (FAILED(hr)) {
    return cf_hcn_call_error(err, "CreateEndpoint", endpoint->handle, hr, record);
  }
  free_record(record);
  backend->api.HcnCloseEndpoint(ep);
  /* HCN assigned the ID; the endpoint is found again by its name. */
  char **ids = NULL;
  size_t count = 0;
  if (endpoints_of(backend, endpoint->handle, &ids, &count, err) < 0) {
    return -1;
  }
  if (count != 1) {
    cf_strv_free(ids, count);
    return cf_err_set(err, CF_E_SYSTEM, "hcn: found %zu endpoints called %s after creating one",
                      count, endpoint->handle);
  }
  *endpoint_id = ids[0];
  free(ids);
  return 0;
}

/* Sets the endpoint's MTU inside the container's compartment. */
static int apply_endpoint_mtu(cf_net_backend *backend, const cf_net_endpoint *endpoint,
                              uint32_t mtu, cf_err **err)
{
  HCN_NAMESPACE ns = NULL;
  if (cf_hcn_namespace_open(&backend->api, endpoint->handle, &ns, err) < 0) {
    return -1;
  }
  cf_autofree char *query = cf_hcn_query_json(NULL, NULL);
  cf_autofree wchar_t *wquery = cf_win_utf16(query, err);
  PWSTR properties = NULL;
  PWSTR record = NULL;
  HRESULT hr = wquery != NULL
                   ? backend->api.HcnQueryNamespaceProperties(ns, wquery, &properties, &record)
                   : E_OUTOFMEMORY;
  backend->api.HcnCloseNamespace(ns);
  if (FAILED(hr)) {
    return cf_hcn_call_error(err, "QueryNamespaceProperties", endpoint->handle, hr, record);
  }
  free_record(record);
  cf_autofree char *doc = NULL;
  uint32_t compartment = 0;
  if (cf_hcn_take_string(properties, &doc, err) < 0 ||
      cf_hcn_namespace_compartment(doc != NULL ? doc : "null", &compartment, err) < 0) {
    return -1;
  }
  return cf_hcn_set_endpoint_mtu(compartment, endpoint->address, mtu, err);
}

int cf_net_endpoint_create(cf_net_backend *backend, const cf_net_endpoint *endpoint, cf_err **err)
{
  char **existing = NULL;
  size_t existing_count = 0;
  if (endpoints_of(backend, endpoint->handle, &existing, &existing_count, err) < 0) {
    return cf_err_wrap(err, "networkUp");
  }
  cf_strv_free(existing, existing_count);
  if (existing_count > 0) {
    return cf_err_set(err, CF_E_EXISTS, "networkUp: container %s already has an endpoint",
                      endpoint->handle);
  }
  cf_hcn_network_info info;
  bool found = false;
  if (find_network(backend, &info, &found, err) < 0) {
    return cf_err_wrap(err, "networkUp");
  }
  if (!found) {
    return cf_err_set(err, CF_E_NOT_FOUND,
                      "networkUp: Network %s not found; create it with --action create",
                      backend->name);
  }
  cf_autofree char *endpoint_id = NULL;
  int rc = create_endpoint(backend, endpoint, info.id, &endpoint_id, err);
  cf_hcn_network_info_free(&info);
  if (rc < 0) {
    return cf_err_wrap(err, "networkUp");
  }
  bool attached = modify_namespace(backend, endpoint->handle, endpoint_id, true, err) == 0;
  uint32_t mtu = endpoint->mtu > 0 ? endpoint->mtu : backend->network.mtu;
  if (attached && (mtu == 0 || apply_endpoint_mtu(backend, endpoint, mtu, err) == 0)) {
    return 0;
  }
  /* Leave nothing behind: the error of the failed step is kept. */
  if (attached) {
    modify_namespace(backend, endpoint->handle, endpoint_id, false, NULL);
  }
  delete_endpoint(backend, endpoint_id, NULL);
  return cf_err_wrap(err, "networkUp: endpoint %s of %s", endpoint_id, endpoint->handle);
}

/* Replaces every policy of the endpoint with one request. */
static int update_policies(cf_net_backend *backend, const char *endpoint_id,
                           const cf_hcn_policy_set *set, cf_err **err)
{
  cf_autofree char *request = NULL;
  if (cf_hcn_policy_update_json(set, &request, err) < 0) {
    return -1;
  }
  cf_autofree wchar_t *wrequest = cf_win_utf16(request, err);
  GUID id;
  if (wrequest == NULL || cf_hcn_win_guid(endpoint_id, &id, err) < 0) {
    return -1;
  }
  HCN_ENDPOINT ep = NULL;
  PWSTR record = NULL;
  HRESULT hr = backend->api.HcnOpenEndpoint(&id, &ep, &record);
  if (FAILED(hr)) {
    return cf_hcn_call_error(err, "OpenEndpoint", endpoint_id, hr, record);
  }
  record = NULL;
  hr = backend->api.HcnModifyEndpoint(ep, wrequest, &record);
  backend->api.HcnCloseEndpoint(ep);
  if (FAILED(hr)) {
    return cf_hcn_call_error(err, "ModifyEndpoint", endpoint_id, hr, record);
  }
  free_record(record);
  return 0;
}

/* Finds the one endpoint called handle and reads its properties. */
static int find_endpoint(cf_net_backend *backend, const char *handle, cf_hcn_endpoint_info *info,
                         cf_err **err)
{
  char **ids = NULL;
  size_t count = 0;
  if (endpoints_of(backend, handle, &ids, &count, err) < 0) {
    return -1;
  }
  int rc = 0;
  if (count != 1) {
    rc = cf_err_set(err, count == 0 ? CF_E_NOT_FOUND : CF_E_EXISTS, "Endpoint %s not found%s",
                    handle, count == 0 ? "" : " exactly once: delete the others with networkDown");
  } else {
    cf_autofree char *doc = NULL;
    rc = cf_hcn_endpoint_properties(&backend->api, ids[0], &doc, err);
    if (rc == 0) {
      rc = cf_hcn_endpoint_parse(doc, info, err);
    }
    if (rc == 0 && info->id == NULL) {
      info->id = cf_xstrdup(ids[0]);
    }
  }
  cf_strv_free(ids, count);
  return rc;
}

int cf_net_endpoint_set_rules(cf_net_backend *backend, const char *handle, uint32_t address,
                              const cf_net_mapping *mappings, size_t mapping_count,
                              const cf_net_rule *rules, size_t rule_count, cf_err **err)
{
  cf_hcn_endpoint_info info;
  if (find_endpoint(backend, handle, &info, err) < 0) {
    return cf_err_wrap(err, "networkUp");
  }
  /* Update replaces every policy, so the QOS policy goes in again. */
  cf_hcn_policy_set set = {
      .address = address,
      .mappings = mappings,
      .mapping_count = mapping_count,
      .rules = rules,
      .rule_count = rule_count,
      .bandwidth = info.bandwidth,
  };
  int rc = update_policies(backend, info.id, &set, err);
  cf_hcn_endpoint_info_free(&info);
  return rc < 0 ? cf_err_wrap(err, "networkUp: policies of %s", handle) : 0;
}

int cf_net_endpoint_delete(cf_net_backend *backend, const char *handle, cf_err **err)
{
  char **ids = NULL;
  size_t count = 0;
  if (endpoints_of(backend, handle, &ids, &count, err) < 0) {
    return cf_err_wrap(err, "networkDown");
  }
  int rc = 0;
  for (size_t i = 0; i < count && rc == 0; i++) {
    rc = detach_and_delete(backend, handle, ids[i], err);
  }
  cf_strv_free(ids, count);
  return rc;
}

static bool is_kept(const char *name, const char *const *keep, size_t keep_count)
{
  for (size_t i = 0; i < keep_count; i++) {
    if (strcmp(keep[i], name) == 0) {
      return true;
    }
  }
  return false;
}

/* Deletes the endpoint with id unless its name is kept; counts it in
 * *deleted. */
static int sweep_one(cf_net_backend *backend, const char *id, const char *const *keep,
                     size_t keep_count, size_t *deleted, cf_err **err)
{
  cf_autofree char *doc = NULL;
  cf_hcn_endpoint_info info;
  if (cf_hcn_endpoint_properties(&backend->api, id, &doc, err) < 0 ||
      cf_hcn_endpoint_parse(doc, &info, err) < 0) {
    return -1;
  }
  int rc = 0;
  const char *name = info.name != NULL ? info.name : "";
  if (!is_kept(name, keep, keep_count)) {
    rc = detach_and_delete(backend, name, id, err);
    *deleted += rc == 0 ? 1 : 0;
  }
  cf_hcn_endpoint_info_free(&info);
  return rc;
}

int cf_net_endpoint_sweep(cf_net_backend *backend, const char *const *keep, size_t keep_count,
                          size_t *deleted, cf_err **err)
{
  size_t count_deleted = 0;
  cf_hcn_network_info info;
  bool found = false;
  if (find_network(backend, &info, &found, err) < 0) {
    return cf_err_wrap(err, "endpoint sweep");
  }
  int rc = 0;
  if (found) {
    char **ids = NULL;
    size_t count = 0;
    rc = cf_hcn_enumerate(&backend->api, false, "HostComputeNetwork", info.id, &ids, &count, err);
    for (size_t i = 0; rc == 0 && i < count; i++) {
      rc = sweep_one(backend, ids[i], keep, keep_count, &count_deleted, err);
    }
    cf_strv_free(ids, count);
    cf_hcn_network_info_free(&info);
  }
  if (deleted != NULL) {
    *deleted = count_deleted;
  }
  return rc < 0 ? cf_err_wrap(err, "endpoint sweep") : 0;
}
