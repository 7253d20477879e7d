/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The nftables scripts of the Linux network backend, as pure functions:
 * configuration in, nft script text out, and the JSON listing of a table in,
 * its per-endpoint objects out. libnftables runs each script as one atomic
 * transaction (nftables.c). docs/network-linux.md shows the table layout.
 */
#ifndef CFWIN_NETWORK_LINUX_NFTSCRIPT_H
#define CFWIN_NETWORK_LINUX_NFTSCRIPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "network/network.h"

/* Hex characters of an endpoint id: the start of SHA-256(handle). */
#define CF_NFT_ID_LEN 12

/* Fixed names inside the table. */
#define CF_NFT_MAP_ENDPOINTS "endpoints" /* container address : goto out-<id> */
#define CF_NFT_MAP_NETIN "netin"         /* protocol . host port : goto in-<id> */

/* The network-wide names and the subnet. */
typedef struct cf_nft_net {
  const char *table;  /* "cfwin-<network name>", family ip */
  const char *bridge; /* the bridge's interface name */
  uint32_t subnet;    /* host byte order */
  uint8_t prefix_len;
} cf_nft_net;

/* One NetIn element: IPPROTO_TCP or IPPROTO_UDP and the host port. */
typedef struct cf_nft_netin_key {
  uint8_t protocol;
  uint16_t port;
} cf_nft_netin_key;

/* The objects a table listing contains for one endpoint id. */
typedef struct cf_nft_endpoint_state {
  bool has_in_chain;
  bool has_out_chain;
  uint32_t *addresses; /* keys of the endpoints map that go to out-<id> */
  size_t address_count;
  cf_nft_netin_key *netin; /* keys of the netin map that go to in-<id> */
  size_t netin_count;
} cf_nft_endpoint_state;

/* One element of a map whose value is a jump or goto to a chain. */
typedef struct cf_nft_element {
  uint32_t address;           /* endpoints map */
  cf_nft_netin_key netin;     /* netin map */
  char id[CF_NFT_ID_LEN + 1]; /* from the target chain's name */
} cf_nft_element;

/* The parts of a table listing the backend uses. */
typedef struct cf_nft_table_state {
  bool exists;
  char (*ids)[CF_NFT_ID_LEN + 1]; /* endpoint ids that have an in- or out- chain */
  size_t id_count;
  char (*in_ids)[CF_NFT_ID_LEN + 1]; /* ids with an in- chain */
  size_t in_id_count;
  char (*out_ids)[CF_NFT_ID_LEN + 1]; /* ids with an out- chain */
  size_t out_id_count;
  cf_nft_element *endpoints;
  size_t endpoint_count;
  cf_nft_element *netin;
  size_t netin_count;
} cf_nft_table_state;

/* The input of one endpoint's rule script. */
typedef struct cf_nft_endpoint_rules {
  const char *id;     /* CF_NFT_ID_LEN hex characters */
  const char *handle; /* for log prefixes */
  uint32_t address;
  const cf_net_mapping *mappings;
  size_t mapping_count;
  const cf_net_rule *rules;
  size_t rule_count;
  bool can_log; /* false: rules with log set are applied without logging */
} cf_nft_endpoint_rules;

/* Writes "a.b.c.d" of a host-order address into out. */
void cf_nft_format_ip(uint32_t address, char out[16]);

/* Returns the script that creates the table with its maps and base chains.
 * It starts with `create table`, so it fails as a whole when the table
 * exists. Caller frees. */
char *cf_nft_script_network(const cf_nft_net *net);

/* Returns the script that deletes the table; it succeeds when the table is
 * missing. Caller frees. */
char *cf_nft_script_network_delete(const char *table);

/* Builds the script that gives endpoint rules->id its chains, its address
 * element, the NetIn mappings and the NetOut rules, replacing what old
 * (from a listing) holds for the id. Fails with CF_E_INVALID naming the
 * rule or mapping that cannot be applied. *out is the caller's to free. */
int cf_nft_script_endpoint(const char *table, const cf_nft_endpoint_rules *rules,
                           const cf_nft_endpoint_state *old, char **out, cf_err **err);

/* Returns the script that deletes the objects state lists for endpoint id,
 * or NULL when it lists none. Caller frees. */
char *cf_nft_script_endpoint_remove(const char *table, const char *id,
                                    const cf_nft_endpoint_state *state);

/* Returns the script that checks whether the kernel accepts the nft log
 * statement, run as a dry run in a scratch table. Caller frees. */
char *cf_nft_script_log_probe(void);

/* Parses the JSON output of `list table ip <table>` (libnftables JSON
 * schema 1) into state. Fails with CF_E_INVALID when json is not such a
 * listing. Free with cf_nft_table_state_free(). */
int cf_nft_table_state_parse(const char *json, cf_nft_table_state *state, cf_err **err);
void cf_nft_table_state_free(cf_nft_table_state *state);

/* Sets *found to whether the JSON output of `list tables` names table. */
int cf_nft_listing_has_table(const char *json, const char *table, bool *found, cf_err **err);

/* Collects the objects state lists for one id into out. Free with
 * cf_nft_endpoint_state_free(). */
void cf_nft_endpoint_state_get(const cf_nft_table_state *state, const char *id,
                               cf_nft_endpoint_state *out);
void cf_nft_endpoint_state_free(cf_nft_endpoint_state *state);

#endif
