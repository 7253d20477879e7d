/* SPDX-License-Identifier: Apache-2.0 */
/* The network role's operations: allocation in the store, then the backend. */
#include "network/net.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/mem.h"
#include "network/net_rules.h"
#include "store/store.h"

struct cf_net {
  const cf_net_config *config;
  const cf_net_ops *ops;
  void *backend;   /* opened on first use */
  cf_store *store; /* opened on first use */
  cf_net_warn_fn *warn;
  void *warn_context;
};

/* The rules of one endpoint as the backend gets them. */
typedef struct rule_set {
  cf_net_rule *rules;
  size_t count;
} rule_set;

static void rule_set_clear(rule_set *set)
{
  cf_net_rules_free(set->rules, set->count);
  memset(set, 0, sizeof(*set));
}

static void rule_set_add(rule_set *set, const cf_net_rule *rule)
{
  set->rules = cf_xrealloc(set->rules, (set->count + 1) * sizeof(*set->rules));
  cf_net_rule_copy(&set->rules[set->count++], rule);
}

cf_net *cf_net_new(const cf_net_config *config, const cf_net_ops *ops)
{
  cf_net *net = cf_xcalloc(1, sizeof(*net));
  net->config = config;
  net->ops = ops;
  return net;
}

void cf_net_close(cf_net *net)
{
  if (net == NULL) {
    return;
  }
  if (net->backend != NULL) {
    net->ops->close(net->backend);
  }
  cf_store_close(net->store);
  free(net);
}

void cf_net_set_warn(cf_net *net, cf_net_warn_fn *warn, void *context)
{
  net->warn = warn;
  net->warn_context = context;
}

static void warn(cf_net *net, const char *message)
{
  if (net->warn != NULL) {
    net->warn(net->warn_context, message);
  }
}

/* Opens the store under state_dir. With create false a missing database
 * is not made: *exists is set to false and nothing changes on disk. */
static int open_store(cf_net *net, bool create, bool *exists, cf_err **err)
{
  *exists = true;
  if (net->store != NULL) {
    return 0;
  }
  const char *dir = net->config->state_dir;
  if (!create) {
    cf_autofree char *db = cf_path_join(dir, "cfwin.db");
    if (access(db, F_OK) != 0) {
      *exists = false;
      return 0;
    }
  }
  if (cf_mkdir_p(dir, 0700, err) < 0 || cf_store_open(dir, &net->store, err) < 0) {
    return cf_err_wrap(err, "open network state in %s", dir);
  }
  return 0;
}

static void fill_network(const cf_net_config *config, cf_net_network *network)
{
  memset(network, 0, sizeof(*network));
  network->name = config->network_name;
  network->subnet = config->subnet;
  network->prefix_len = config->prefix_len;
  network->gateway = config->gateway;
  network->mtu = config->mtu;
  network->search_domains = (const char *const *)config->search_domains;
  network->search_domain_count = config->search_domain_count;
}

static int open_backend(cf_net *net, cf_err **err)
{
  if (net->backend != NULL) {
    return 0;
  }
  if (cf_net_config_require_network(net->config, err) < 0) {
    return -1;
  }
  cf_net_network network;
  fill_network(net->config, &network);
  return net->ops->open(&network, &net->backend, err);
}

int cf_net_open(cf_net *net, cf_err **err)
{
  bool exists = false;
  if (open_backend(net, err) < 0) {
    return -1;
  }
  return open_store(net, true, &exists, err);
}

int cf_net_create(cf_net *net, cf_err **err)
{
  if (open_backend(net, err) < 0) {
    return -1;
  }
  return net->ops->network_create(net->backend, err);
}

int cf_net_delete(cf_net *net, cf_err **err)
{
  if (open_backend(net, err) < 0) {
    return -1;
  }
  return net->ops->network_delete(net->backend, err);
}

static cf_net_pool pool_of(const cf_net_config *config)
{
  uint32_t mask = cf_net_mask(config->prefix_len);
  return (cf_net_pool){
      .first_address = config->subnet + 1,
      .last_address = (config->subnet | ~mask) - 1,
      .gateway = config->gateway,
      .port_start = config->port_pool_start,
      .port_end = (uint16_t)(config->port_pool_start + config->port_pool_size - 1),
  };
}

/* winc-network adds TCP and UDP port 53 to each DNS server, so containers
 * can resolve names without an explicit NetOut rule. */
static void add_dns_rules(const cf_net_config *config, rule_set *set)
{
  for (size_t i = 0; i < config->dns_server_count; i++) {
    cf_net_range network = {config->dns_servers[i], config->dns_servers[i]};
    cf_port_range port = {53, 53};
    cf_net_rule rule = {.networks = &network, .network_count = 1, .ports = &port, .port_count = 1};
    rule.protocol = CF_NET_PROTO_TCP;
    rule_set_add(set, &rule);
    rule.protocol = CF_NET_PROTO_UDP;
    rule_set_add(set, &rule);
  }
}

/* The rules up applies: NetOut, the default allow-all when configured and
 * the input is empty (no netin, no netout, no properties, as
 * winc-network decides), then the DNS rules. */
static void up_rules(const cf_net_config *config, const cf_net_up_input *input, rule_set *set)
{
  for (size_t i = 0; i < input->rule_count; i++) {
    rule_set_add(set, &input->rules[i]);
  }
  if (config->allow_outbound_traffic_by_default && input->rule_count == 0 &&
      input->mapping_count == 0 && input->property_count == 0) {
    cf_net_rule all = {.protocol = CF_NET_PROTO_ALL};
    rule_set_add(set, &all);
  }
  add_dns_rules(config, set);
}

/* The rules as JSON text for the store; free with cf_strv_free(). */
static char **rules_to_text(const cf_net_rule *rules, size_t count)
{
  char **texts = cf_xcalloc(count + 1, sizeof(char *));
  for (size_t i = 0; i < count; i++) {
    json_t *json = cf_net_rule_to_json(&rules[i]);
    texts[i] = json_dumps(json, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(json);
  }
  return texts;
}

static int load_rules(cf_net *net, const char *handle, rule_set *set, cf_err **err)
{
  char **texts = NULL;
  size_t count = 0;
  if (cf_store_net_rules_list(net->store, handle, &texts, &count, err) < 0) {
    return -1;
  }
  int rc = 0;
  for (size_t i = 0; i < count && rc == 0; i++) {
    json_t *json = json_loads(texts[i], 0, NULL);
    cf_net_rule rule;
    cf_autofree char *where = cf_xasprintf("stored rule %zu of container %s", i, handle);
    rc = cf_net_rule_parse(json, where, &rule, err);
    json_decref(json);
    if (rc == 0) {
      rule_set_add(set, &rule);
      cf_net_rule_clear(&rule);
    }
  }
  cf_strv_free(texts, count);
  return rc;
}

/* Applies mappings and rules; when the backend cannot log, warns once and
 * passes the rules without their log flag. */
static int apply_rules(cf_net *net, const char *handle, uint32_t address,
                       const cf_net_port_mapping *ports, size_t port_count, const rule_set *set,
                       cf_err **err)
{
  cf_autofree cf_net_mapping *mappings = cf_xcalloc(port_count + 1, sizeof(*mappings));
  for (size_t i = 0; i < port_count; i++) {
    mappings[i].host_port = ports[i].host_port;
    mappings[i].container_port = ports[i].container_port;
  }
  bool can_log = net->ops->can_log(net->backend);
  bool dropped = false;
  for (size_t i = 0; i < set->count && !can_log; i++) {
    dropped = dropped || set->rules[i].log;
    set->rules[i].log = false;
  }
  if (dropped) {
    cf_autofree char *message =
        cf_xasprintf("container %s: this backend cannot log connections; rules apply without "
                     "logging",
                     handle);
    warn(net, message);
  }
  return net->ops->endpoint_set_rules(net->backend, handle, address, mappings, port_count,
                                      set->rules, set->count, err);
}

static cf_net_endpoint endpoint_of(const cf_net_config *config, const char *handle,
                                   const cf_net_up_input *input, uint32_t address)
{
  bool own_limit = input->bandwidth_rate > 0;
  return (cf_net_endpoint){
      .handle = handle,
      .pid = (pid_t)input->pid,
      .address = address,
      .mtu = config->mtu,
      .dns_servers = config->dns_servers,
      .dns_server_count = config->dns_server_count,
      .search_domains = (const char *const *)config->search_domains,
      .search_domain_count = config->search_domain_count,
      .bandwidth_rate = own_limit ? input->bandwidth_rate : config->maximum_outgoing_bandwidth,
      .bandwidth_burst = own_limit ? input->bandwidth_burst : config->bandwidth_burst,
  };
}

/* Records the endpoint with its address, ports and rules. */
static int record_endpoint(cf_net *net, const char *handle, const cf_net_up_input *input,
                           const rule_set *set, cf_net_port_mapping *ports, uint32_t *address,
                           cf_err **err)
{
  cf_net_pool pool = pool_of(net->config);
  for (size_t i = 0; i < input->mapping_count; i++) {
    ports[i].host_port = input->mappings[i].host_port;
    ports[i].container_port = input->mappings[i].container_port;
  }
  char **texts = rules_to_text(set->rules, set->count);
  int rc =
      cf_store_net_endpoint_add(net->store, handle, input->pid, &pool, ports, input->mapping_count,
                                (const char *const *)texts, set->count, address, err);
  cf_strv_free(texts, set->count);
  return rc;
}

/* Appends " (and STEP failed: UNDO)" to *err's message and frees undo. */
static void add_undo_error(cf_err **err, const char *step, cf_err *undo)
{
  if (err != NULL && *err != NULL) {
    cf_autofree char *message = cf_xstrdup((*err)->message);
    enum cf_code code = (*err)->code;
    int sys_errno = (*err)->sys_errno;
    cf_err_set(err, code, "%s (and %s failed: %s)", message, step, undo->message);
    (*err)->sys_errno = sys_errno;
  }
  cf_err_free(undo);
}

/* Removes what up made so far: the backend endpoint (when made) and the
 * store's rows. */
static void undo_up(cf_net *net, const char *handle, bool endpoint_made, cf_err **err)
{
  cf_err *undo_err = NULL;
  if (endpoint_made && net->ops->endpoint_delete(net->backend, handle, &undo_err) < 0) {
    add_undo_error(err, "removing the endpoint", cf_steal(&undo_err));
  }
  if (cf_store_net_endpoint_delete(net->store, handle, NULL, &undo_err) < 0) {
    add_undo_error(err, "releasing its address and ports", cf_steal(&undo_err));
  }
}

static int bring_up(cf_net *net, const char *handle, const cf_net_up_input *input,
                    const cf_net_port_mapping *ports, uint32_t address, const rule_set *set,
                    cf_err **err)
{
  cf_net_endpoint endpoint = endpoint_of(net->config, handle, input, address);
  if (net->ops->endpoint_create(net->backend, &endpoint, err) < 0) {
    undo_up(net, handle, false, err);
    return -1;
  }
  if (apply_rules(net, handle, address, ports, input->mapping_count, set, err) < 0 ||
      cf_store_net_endpoint_set_state(net->store, handle, CF_NET_ENDPOINT_UP, err) < 0) {
    undo_up(net, handle, true, err);
    return -1;
  }
  return 0;
}

static void fill_result(const cf_net_port_mapping *ports, size_t count, uint32_t address,
                        cf_net_up_result *out)
{
  out->address = address;
  out->mapping_count = count;
  out->mappings = count > 0 ? cf_xcalloc(count, sizeof(*out->mappings)) : NULL;
  for (size_t i = 0; i < count; i++) {
    out->mappings[i].host_port = ports[i].host_port;
    out->mappings[i].container_port = ports[i].container_port;
  }
}

int cf_net_up(cf_net *net, const char *handle, const cf_net_up_input *input, cf_net_up_result *out,
              cf_err **err)
{
  memset(out, 0, sizeof(*out));
  bool exists = false;
  if (cf_handle_validate(handle, err) < 0 || open_backend(net, err) < 0 ||
      open_store(net, true, &exists, err) < 0) {
    return -1;
  }
  /* NOTE: Properties.ports (Windows HTTP URL reservations made inside the
   * container) is checked but not applied: network.h has no call for it. */
  rule_set set = {0};
  up_rules(net->config, input, &set);
  cf_autofree cf_net_port_mapping *ports = cf_xcalloc(input->mapping_count + 1, sizeof(*ports));
  uint32_t address = 0;
  int rc = record_endpoint(net, handle, input, &set, ports, &address, err);
  if (rc == 0) {
    rc = bring_up(net, handle, input, ports, address, &set, err);
  }
  rule_set_clear(&set);
  if (rc == 0) {
    fill_result(ports, input->mapping_count, address, out);
  }
  return rc;
}

int cf_net_down(cf_net *net, const char *handle, cf_err **err)
{
  bool exists = false;
  if (cf_handle_validate(handle, err) < 0 || open_store(net, false, &exists, err) < 0) {
    return -1;
  }
  if (!exists) {
    return 0;
  }
  cf_net_endpoint_record record;
  if (cf_store_net_endpoint_get(net->store, handle, &record, err) < 0) {
    if ((*err)->code != CF_E_NOT_FOUND) {
      return -1;
    }
    cf_err_clear(err);
    return 0;
  }
  cf_net_endpoint_record_clear(&record);
  /* The backend goes first: if it fails, the rows stay for a retry. */
  if (open_backend(net, err) < 0 || net->ops->endpoint_delete(net->backend, handle, err) < 0) {
    return -1;
  }
  return cf_store_net_endpoint_delete(net->store, handle, NULL, err);
}

/* Opens the store and the backend and reads handle's endpoint, which must
 * be up. */
static int find_up_endpoint(cf_net *net, const char *handle, cf_net_endpoint_record *record,
                            cf_err **err)
{
  memset(record, 0, sizeof(*record));
  bool exists = false;
  if (cf_handle_validate(handle, err) < 0 || open_store(net, false, &exists, err) < 0) {
    return -1;
  }
  if (!exists || cf_store_net_endpoint_get(net->store, handle, record, NULL) < 0 ||
      strcmp(record->state, CF_NET_ENDPOINT_UP) != 0) {
    cf_net_endpoint_record_clear(record);
    return cf_err_set(err, CF_E_NOT_FOUND,
                      "container %s has no network endpoint; run --action up for it first", handle);
  }
  return open_backend(net, err);
}

/* Applies the endpoint's recorded mappings and rules. The caller has a
 * store transaction open, so no other call changes them meanwhile. */
static int apply_recorded(cf_net *net, const cf_net_endpoint_record *record, cf_err **err)
{
  cf_autofree cf_net_port_mapping *ports = NULL;
  size_t port_count = 0;
  rule_set set = {0};
  int rc = cf_store_net_mappings_list(net->store, record->handle, &ports, &port_count, err);
  if (rc == 0) {
    rc = load_rules(net, record->handle, &set, err);
  }
  if (rc == 0) {
    rc = apply_rules(net, record->handle, record->address, ports, port_count, &set, err);
  }
  rule_set_clear(&set);
  return rc;
}

/* Runs change (which records something for the endpoint) and applies the
 * endpoint's rules in one store transaction: a failure rolls the record
 * back, and when the commit fails the rules that were recorded before are
 * applied again. */
typedef int change_fn(cf_net *net, const char *handle, void *arg, cf_err **err);

static int change_endpoint(cf_net *net, const cf_net_endpoint_record *record, change_fn *change,
                           void *arg, cf_err **err)
{
  if (cf_store_begin(net->store, err) < 0) {
    return -1;
  }
  if (change(net, record->handle, arg, err) < 0 || apply_recorded(net, record, err) < 0) {
    cf_store_rollback(net->store);
    return -1;
  }
  if (cf_store_commit(net->store, err) < 0) {
    cf_err *reapply_err = NULL;
    if (apply_recorded(net, record, &reapply_err) < 0) {
      add_undo_error(err, "restoring the previous rules", reapply_err);
    }
    return -1;
  }
  return 0;
}

static int add_mapping(cf_net *net, const char *handle, void *arg, cf_err **err)
{
  cf_net_mapping *mapping = arg;
  cf_net_pool pool = pool_of(net->config);
  cf_net_port_mapping port = {mapping->host_port, mapping->container_port};
  if (cf_store_net_mappings_add(net->store, handle, &pool, &port, 1, err) < 0) {
    return -1;
  }
  mapping->host_port = port.host_port;
  mapping->container_port = port.container_port;
  return 0;
}

int cf_net_net_in(cf_net *net, const char *handle, cf_net_mapping *mapping, cf_err **err)
{
  cf_net_endpoint_record record;
  if (find_up_endpoint(net, handle, &record, err) < 0) {
    return -1;
  }
  int rc = change_endpoint(net, &record, add_mapping, mapping, err);
  cf_net_endpoint_record_clear(&record);
  return rc;
}

typedef struct rules_arg {
  const cf_net_rule *rules;
  size_t count;
} rules_arg;

static int add_rules(cf_net *net, const char *handle, void *arg, cf_err **err)
{
  const rules_arg *rules = arg;
  char **texts = rules_to_text(rules->rules, rules->count);
  int rc =
      cf_store_net_rules_add(net->store, handle, (const char *const *)texts, rules->count, err);
  cf_strv_free(texts, rules->count);
  return rc;
}

static int check_container_ip(const cf_net_endpoint_record *record, const char *container_ip,
                              cf_err **err)
{
  uint32_t given = 0;
  if (container_ip == NULL || container_ip[0] == '\0') {
    return 0;
  }
  if (!cf_net_parse_ipv4(container_ip, &given) || given != record->address) {
    char address[16];
    cf_net_format_ipv4(record->address, address);
    return cf_err_set(err, CF_E_INVALID, "container_ip %s is not the address of container %s (%s)",
                      container_ip, record->handle, address);
  }
  return 0;
}

int cf_net_net_out(cf_net *net, const char *handle, const char *container_ip,
                   const cf_net_rule *rules, size_t count, cf_err **err)
{
  cf_net_endpoint_record record;
  if (find_up_endpoint(net, handle, &record, err) < 0) {
    return -1;
  }
  rules_arg arg = {rules, count};
  int rc = check_container_ip(&record, container_ip, err);
  if (rc == 0) {
    rc = change_endpoint(net, &record, add_rules, &arg, err);
  }
  cf_net_endpoint_record_clear(&record);
  return rc;
}

static bool in_list(const char *handle, const char *const *list, size_t count)
{
  for (size_t i = 0; i < count; i++) {
    if (strcmp(list[i], handle) == 0) {
      return true;
    }
  }
  return false;
}

/* Deletes the recorded endpoints that keep does not name. */
static int sweep_recorded(cf_net *net, const char *const *keep, size_t keep_count, size_t *removed,
                          cf_err **err)
{
  char **handles = NULL;
  size_t count = 0;
  if (cf_store_net_endpoint_list(net->store, &handles, &count, err) < 0) {
    return -1;
  }
  int rc = 0;
  for (size_t i = 0; i < count && rc == 0; i++) {
    if (in_list(handles[i], keep, keep_count)) {
      continue;
    }
    rc = net->ops->endpoint_delete(net->backend, handles[i], err);
    if (rc == 0) {
      rc = cf_store_net_endpoint_delete(net->store, handles[i], NULL, err);
    }
    *removed += rc == 0 ? 1 : 0;
  }
  cf_strv_free(handles, count);
  return rc;
}

int cf_net_sweep(cf_net *net, const char *const *keep, size_t keep_count, size_t *removed,
                 cf_err **err)
{
  size_t total = 0;
  size_t unrecorded = 0;
  bool exists = false;
  if (open_backend(net, err) < 0 || open_store(net, true, &exists, err) < 0 ||
      sweep_recorded(net, keep, keep_count, &total, err) < 0 ||
      net->ops->endpoint_sweep(net->backend, keep, keep_count, &unrecorded, err) < 0) {
    return -1;
  }
  if (removed != NULL) {
    *removed = total + unrecorded;
  }
  return 0;
}
