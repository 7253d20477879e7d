/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The network role's operations, as winc-network and Guardian's network
 * plugin contract define them. They create and delete the NAT network,
 * run up, down, net-in, net-out and bulk-net-out for a container, and
 * sweep leftovers when the server starts. Addresses and host ports come from the store
 * (state_dir/cfwin.db); a backend (network.h, reached through cf_net_ops)
 * applies them.
 *
 * Every operation either completes or leaves the store and the backend as
 * they were: up undoes its steps in reverse on failure, and net-in and
 * net-out record their change and apply the endpoint's whole rule set
 * inside one store write transaction, which also orders concurrent calls.
 */
#ifndef CFWIN_NETWORK_NET_H
#define CFWIN_NETWORK_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "network/net_config.h"
#include "network/network.h"

/* The backend calls of network.h as a table, so the orchestration can be
 * tested without a platform backend. The backend pointer is the one open
 * set. */
typedef struct cf_net_ops {
  int (*open)(const cf_net_network *network, void **backend, cf_err **err);
  void (*close)(void *backend);
  int (*network_create)(void *backend, cf_err **err);
  int (*network_delete)(void *backend, cf_err **err);
  int (*endpoint_create)(void *backend, const cf_net_endpoint *endpoint, cf_err **err);
  int (*endpoint_set_rules)(void *backend, const char *handle, uint32_t address,
                            const cf_net_mapping *mappings, size_t mapping_count,
                            const cf_net_rule *rules, size_t rule_count, cf_err **err);
  int (*endpoint_delete)(void *backend, const char *handle, cf_err **err);
  int (*endpoint_sweep)(void *backend, const char *const *keep, size_t keep_count, size_t *deleted,
                        cf_err **err);
  bool (*can_log)(const void *backend);
} cf_net_ops;

/* The platform's backend (network.h's functions). */
extern const cf_net_ops cf_net_platform_ops;

typedef struct cf_net cf_net;

/* Receives a warning the caller should log (for example a rule's log flag
 * the backend cannot honour). */
typedef void cf_net_warn_fn(void *context, const char *message);

/* Makes a handle on the network of config, which the caller keeps alive
 * until cf_net_close(). Opens neither the store nor the backend: each
 * operation opens what it needs, so down for an unknown handle touches
 * nothing. */
cf_net *cf_net_new(const cf_net_config *config, const cf_net_ops *ops);
void cf_net_close(cf_net *net);

/* Opens the backend and the store (creating the database) at once, for a
 * caller that then uses net from several threads: the operations open them
 * on first use otherwise, which is not thread-safe. */
int cf_net_open(cf_net *net, cf_err **err);

void cf_net_set_warn(cf_net *net, cf_net_warn_fn *warn, void *context);

/* Creates or deletes the NAT network (winc-network's create and delete). */
int cf_net_create(cf_net *net, cf_err **err);
int cf_net_delete(cf_net *net, cf_err **err);

/* Guardian's up input. */
typedef struct cf_net_up_input {
  int64_t pid;
  cf_net_rule *rules; /* netout_rules */
  size_t rule_count;
  cf_net_mapping *mappings; /* netin; host port 0 means allocate one */
  size_t mapping_count;
  size_t property_count; /* Properties given; any disables the default allow */
  uint16_t *http_ports;  /* Properties.ports, for Windows URL ACLs */
  size_t http_port_count;
  /* The container's own outgoing bandwidth limit (Garden's
   * bandwidth_limits), bytes per second and bytes; a rate of 0 takes the
   * config's maximum_outgoing_bandwidth and bandwidth_burst. */
  uint64_t bandwidth_rate;
  uint64_t bandwidth_burst;
} cf_net_up_input;

/* Parses up's stdin JSON ({"Pid","Properties","netout_rules","netin"};
 * JSON null is an empty input). Errors are CF_E_INVALID naming the field,
 * with winc-network's texts for Properties.ports. */
int cf_net_up_input_parse(const char *text, size_t len, cf_net_up_input *out, cf_err **err);
void cf_net_up_input_clear(cf_net_up_input *input);

typedef struct cf_net_up_result {
  uint32_t address;
  cf_net_mapping *mappings; /* host ports as allocated, in input order */
  size_t mapping_count;
} cf_net_up_result;

void cf_net_up_result_clear(cf_net_up_result *result);

/* Brings handle's endpoint up: allocates its address and host ports,
 * creates the endpoint for the process input->pid, and applies the NetIn
 * mappings and the rules (NetOut, then TCP and UDP port 53 to each DNS
 * server, and allow-all when allow_outbound_traffic_by_default is set and
 * the input is empty). Fails with CF_E_EXISTS when handle is already up. */
int cf_net_up(cf_net *net, const char *handle, const cf_net_up_input *input, cf_net_up_result *out,
              cf_err **err);

/* up's stdout line (without newline), as winc-network prints it, plus
 * dns_servers when config has some. A new string. */
char *cf_net_up_output(const cf_net_config *config, const cf_net_up_result *result);

/* Deletes handle's endpoint and releases its address and ports. An
 * unknown handle succeeds and changes nothing. */
int cf_net_down(cf_net *net, const char *handle, cf_err **err);

/* Parses net-in's stdin ({"HostIP","HostPort","ContainerIP",
 * "ContainerPort"}) into *out. */
int cf_net_net_in_parse(const char *text, size_t len, cf_net_mapping *out, cf_err **err);

/* Adds a NetIn mapping to handle's endpoint; host port 0 takes one from
 * the pool and container port 0 means the host port. Writes the mapping
 * made back into *mapping. Fails with CF_E_NOT_FOUND when handle is not
 * up. */
int cf_net_net_in(cf_net *net, const char *handle, cf_net_mapping *mapping, cf_err **err);

/* Parses net-out's stdin ({"container_ip","netout_rule"}) or, with bulk,
 * bulk-net-out's ({"container_ip","netout_rules"}). *container_ip is a
 * new string or NULL. */
int cf_net_net_out_parse(const char *text, size_t len, bool bulk, char **container_ip,
                         cf_net_rule **rules, size_t *count, cf_err **err);

/* Adds NetOut rules to handle's endpoint. container_ip, when not NULL, must
 * be the endpoint's address. Fails with CF_E_NOT_FOUND when handle is not
 * up. */
int cf_net_net_out(cf_net *net, const char *handle, const char *container_ip,
                   const cf_net_rule *rules, size_t count, cf_err **err);

/* Deletes every endpoint whose handle is not in keep, from the backend and
 * the store, for a server start after a crash. Sets *removed (may be
 * NULL) to the number removed. */
int cf_net_sweep(cf_net *net, const char *const *keep, size_t keep_count, size_t *removed,
                 cf_err **err);

#endif
