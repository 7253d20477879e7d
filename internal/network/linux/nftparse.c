/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reading a table listing in libnftables' JSON form (schema version 1):
 * which endpoint chains exist and which map elements jump to them. Only
 * the objects the backend writes are read; anything else is skipped.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/mem.h"
#include "network/linux/nftscript.h"

typedef char endpoint_id[CF_NFT_ID_LEN + 1];

/* Copies the id out of "<prefix><12 hex>" into id; false for other names. */
static bool parse_chain_name(const char *name, const char *prefix, endpoint_id id)
{
  size_t prefix_len = strlen(prefix);
  if (strncmp(name, prefix, prefix_len) != 0 || strlen(name) != prefix_len + CF_NFT_ID_LEN) {
    return false;
  }
  for (size_t i = 0; i < CF_NFT_ID_LEN; i++) {
    char c = name[prefix_len + i];
    if (!isdigit((unsigned char)c) && !(c >= 'a' && c <= 'f')) {
      return false;
    }
  }
  memcpy(id, name + prefix_len, CF_NFT_ID_LEN);
  id[CF_NFT_ID_LEN] = '\0';
  return true;
}

static bool has_id(endpoint_id *ids, size_t count, const char *id)
{
  for (size_t i = 0; i < count; i++) {
    if (strcmp(ids[i], id) == 0) {
      return true;
    }
  }
  return false;
}

static void add_id(endpoint_id **ids, size_t *count, const char *id)
{
  if (has_id(*ids, *count, id)) {
    return;
  }
  *ids = cf_xrealloc(*ids, (*count + 1) * sizeof(**ids));
  memcpy((*ids)[*count], id, CF_NFT_ID_LEN + 1);
  (*count)++;
}

static void read_chain(json_t *chain, cf_nft_table_state *state)
{
  const char *name = json_string_value(json_object_get(chain, "name"));
  endpoint_id id;
  if (name == NULL) {
    return;
  }
  if (parse_chain_name(name, "out-", id)) {
    add_id(&state->ids, &state->id_count, id);
    add_id(&state->out_ids, &state->out_id_count, id);
  } else if (parse_chain_name(name, "in-", id)) {
    add_id(&state->ids, &state->id_count, id);
    add_id(&state->in_ids, &state->in_id_count, id);
  }
}

/* Reads the chain name of {"goto": {"target": ...}} or {"jump": ...}. */
static const char *verdict_target(json_t *verdict)
{
  json_t *target = json_object_get(verdict, "goto");
  if (target == NULL) {
    target = json_object_get(verdict, "jump");
  }
  return json_string_value(json_object_get(target, "target"));
}

static bool parse_protocol(json_t *value, uint8_t *protocol)
{
  const char *name = json_string_value(value);
  json_int_t number = json_is_integer(value) ? json_integer_value(value) : -1;
  if ((name != NULL && strcmp(name, "tcp") == 0) || number == IPPROTO_TCP) {
    *protocol = IPPROTO_TCP;
    return true;
  }
  if ((name != NULL && strcmp(name, "udp") == 0) || number == IPPROTO_UDP) {
    *protocol = IPPROTO_UDP;
    return true;
  }
  return false;
}

static bool parse_endpoint_key(json_t *key, cf_nft_element *element)
{
  const char *text = json_string_value(key);
  struct in_addr address;
  if (text == NULL || inet_pton(AF_INET, text, &address) != 1) {
    return false;
  }
  element->address = ntohl(address.s_addr);
  return true;
}

static bool parse_netin_key(json_t *key, cf_nft_element *element)
{
  json_t *concat = json_object_get(key, "concat");
  json_t *port = json_array_get(concat, 1);
  if (json_array_size(concat) != 2 || !json_is_integer(port) ||
      !parse_protocol(json_array_get(concat, 0), &element->netin.protocol)) {
    return false;
  }
  json_int_t value = json_integer_value(port);
  if (value < 0 || value > UINT16_MAX) {
    return false;
  }
  element->netin.port = (uint16_t)value;
  return true;
}

static void read_map(json_t *map, bool netin, cf_nft_table_state *state)
{
  json_t *elements = json_object_get(map, "elem");
  size_t i;
  json_t *pair;
  json_array_foreach(elements, i, pair)
  {
    cf_nft_element element = {0};
    const char *target = verdict_target(json_array_get(pair, 1));
    if (target == NULL || !parse_chain_name(target, netin ? "in-" : "out-", element.id)) {
      continue;
    }
    json_t *key = json_array_get(pair, 0);
    bool parsed = netin ? parse_netin_key(key, &element) : parse_endpoint_key(key, &element);
    if (!parsed) {
      continue;
    }
    cf_nft_element **list = netin ? &state->netin : &state->endpoints;
    size_t *count = netin ? &state->netin_count : &state->endpoint_count;
    *list = cf_xrealloc(*list, (*count + 1) * sizeof(**list));
    (*list)[(*count)++] = element;
  }
}

int cf_nft_table_state_parse(const char *json, cf_nft_table_state *state, cf_err **err)
{
  memset(state, 0, sizeof(*state));
  json_error_t error;
  json_t *root = json_loads(json, 0, &error);
  json_t *items = json_object_get(root, "nftables");
  if (!json_is_array(items)) {
    json_decref(root);
    return cf_err_set(err, CF_E_INVALID, "invalid nftables listing: %s",
                      root == NULL ? error.text : "no \"nftables\" array");
  }
  size_t i;
  json_t *item;
  json_array_foreach(items, i, item)
  {
    json_t *object;
    if (json_object_get(item, "table") != NULL) {
      state->exists = true;
    } else if ((object = json_object_get(item, "chain")) != NULL) {
      read_chain(object, state);
    } else if ((object = json_object_get(item, "map")) != NULL) {
      const char *name = json_string_value(json_object_get(object, "name"));
      if (name != NULL && strcmp(name, CF_NFT_MAP_NETIN) == 0) {
        read_map(object, true, state);
      } else if (name != NULL && strcmp(name, CF_NFT_MAP_ENDPOINTS) == 0) {
        read_map(object, false, state);
      }
    }
  }
  json_decref(root);
  return 0;
}

int cf_nft_listing_has_table(const char *json, const char *table, bool *found, cf_err **err)
{
  *found = false;
  json_error_t error;
  json_t *root = json_loads(json, 0, &error);
  json_t *items = json_object_get(root, "nftables");
  if (!json_is_array(items)) {
    json_decref(root);
    return cf_err_set(err, CF_E_INVALID, "invalid nftables table list: %s",
                      root == NULL ? error.text : "no \"nftables\" array");
  }
  size_t i;
  json_t *item;
  json_array_foreach(items, i, item)
  {
    const char *name = json_string_value(json_object_get(json_object_get(item, "table"), "name"));
    if (name != NULL && strcmp(name, table) == 0) {
      *found = true;
    }
  }
  json_decref(root);
  return 0;
}

void cf_nft_table_state_free(cf_nft_table_state *state)
{
  free(state->ids);
  free(state->in_ids);
  free(state->out_ids);
  free(state->endpoints);
  free(state->netin);
  memset(state, 0, sizeof(*state));
}

void cf_nft_endpoint_state_get(const cf_nft_table_state *state, const char *id,
                               cf_nft_endpoint_state *out)
{
  memset(out, 0, sizeof(*out));
  out->has_out_chain = has_id(state->out_ids, state->out_id_count, id);
  out->has_in_chain = has_id(state->in_ids, state->in_id_count, id);
  for (size_t i = 0; i < state->endpoint_count; i++) {
    if (strcmp(state->endpoints[i].id, id) == 0) {
      out->addresses = cf_xrealloc(out->addresses, (out->address_count + 1) * sizeof(uint32_t));
      out->addresses[out->address_count++] = state->endpoints[i].address;
    }
  }
  for (size_t i = 0; i < state->netin_count; i++) {
    if (strcmp(state->netin[i].id, id) == 0) {
      out->netin = cf_xrealloc(out->netin, (out->netin_count + 1) * sizeof(cf_nft_netin_key));
      out->netin[out->netin_count++] = state->netin[i].netin;
    }
  }
}

void cf_nft_endpoint_state_free(cf_nft_endpoint_state *state)
{
  free(state->addresses);
  free(state->netin);
  memset(state, 0, sizeof(*state));
}
