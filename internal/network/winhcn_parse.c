/* SPDX-License-Identifier: Apache-2.0 */
/* Readers of the documents HCN returns, and HCN error text; see
 * winhcn.h. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "base/mem.h"
#include "network/winhcn.h"
#include "network/winhcn_json.h"

static int parse_object(const char *what, const char *doc, cf_hcnj **root, cf_err **err)
{
  if (cf_hcnj_parse(what, doc, root, err) < 0) {
    return -1;
  }
  if ((*root)->type != CF_HCNJ_OBJECT) {
    cf_hcnj_free(*root);
    *root = NULL;
    return cf_err_set(err, CF_E_INVALID, "%s is not a JSON object", what);
  }
  return 0;
}

static char *member_text(const cf_hcnj *object, const char *name)
{
  const char *text = cf_hcnj_text(cf_hcnj_member(object, name));
  return text != NULL ? cf_xstrdup(text) : NULL;
}

/* Reads a non-negative integer member; a missing member or null is 0, as
 * Go's decoder leaves it. */
static int member_u64(const cf_hcnj *object, const char *name, uint64_t *out, cf_err **err)
{
  const cf_hcnj *value = cf_hcnj_member(object, name);
  *out = 0;
  if (value == NULL || value->type == CF_HCNJ_NULL) {
    return 0;
  }
  const char *p = value->type == CF_HCNJ_NUMBER ? value->text : "";
  if (*p == '\0' || strspn(p, "0123456789") != strlen(p)) {
    return cf_err_set(err, CF_E_INVALID, "%s: expected a non-negative integer, got %.30s", name,
                      value->type == CF_HCNJ_NUMBER ? value->text : "a non-number");
  }
  for (; *p != '\0'; p++) {
    uint64_t digit = (uint64_t)(*p - '0');
    if (*out > (UINT64_MAX - digit) / 10) {
      return cf_err_set(err, CF_E_INVALID, "%s: %.30s is larger than 2^64-1", name, value->text);
    }
    *out = *out * 10 + digit;
  }
  return 0;
}

int cf_hcn_ids_parse(const char *doc, char ***ids, size_t *count, cf_err **err)
{
  *ids = NULL;
  *count = 0;
  if (doc == NULL || doc[strspn(doc, " \t\r\n")] == '\0') {
    return 0;
  }
  cf_hcnj *root = NULL;
  if (cf_hcnj_parse("the HCN enumeration result", doc, &root, err) < 0) {
    return -1;
  }
  int rc = 0;
  if (root->type == CF_HCNJ_ARRAY) {
    char **list = cf_xcalloc(root->count + 1, sizeof(*list));
    size_t n = 0;
    for (; n < root->count && root->items[n].type == CF_HCNJ_STRING; n++) {
      list[n] = cf_xstrdup(root->items[n].text);
    }
    if (n == root->count) {
      *ids = list;
      *count = n;
    } else {
      cf_strv_free(list, n);
      rc = cf_err_set(err, CF_E_INVALID, "the HCN enumeration result has a non-string element %zu",
                      n);
    }
  } else if (root->type != CF_HCNJ_NULL) {
    rc = cf_err_set(err, CF_E_INVALID, "the HCN enumeration result is not a JSON array");
  }
  cf_hcnj_free(root);
  return rc;
}

/* --- Networks --- */

static void add_subnet(cf_hcn_network_info *info, const cf_hcnj *subnet)
{
  const char *prefix = cf_hcnj_text(cf_hcnj_member(subnet, "IpAddressPrefix"));
  const cf_hcnj *routes = cf_hcnj_member(subnet, "Routes");
  const char *gateway = NULL;
  if (routes != NULL && routes->type == CF_HCNJ_ARRAY && routes->count > 0) {
    gateway = cf_hcnj_text(cf_hcnj_member(&routes->items[0], "NextHop"));
  }
  size_t n = info->subnet_count;
  info->prefixes = cf_xrealloc(info->prefixes, (n + 1) * sizeof(char *));
  info->gateways = cf_xrealloc(info->gateways, (n + 1) * sizeof(char *));
  info->prefixes[n] = cf_xstrdup(prefix != NULL ? prefix : "");
  info->gateways[n] = cf_xstrdup(gateway != NULL ? gateway : "");
  info->subnet_count = n + 1;
}

int cf_hcn_network_parse(const char *doc, cf_hcn_network_info *info, cf_err **err)
{
  memset(info, 0, sizeof(*info));
  cf_hcnj *root = NULL;
  if (parse_object("the HCN network properties", doc, &root, err) < 0) {
    return -1;
  }
  info->id = member_text(root, "ID");
  info->name = member_text(root, "Name");
  const cf_hcnj *ipams = cf_hcnj_member(root, "Ipams");
  for (size_t i = 0; ipams != NULL && ipams->type == CF_HCNJ_ARRAY && i < ipams->count; i++) {
    const cf_hcnj *subnets = cf_hcnj_member(&ipams->items[i], "Subnets");
    for (size_t j = 0; subnets != NULL && subnets->type == CF_HCNJ_ARRAY && j < subnets->count;
         j++) {
      add_subnet(info, &subnets->items[j]);
    }
  }
  cf_hcnj_free(root);
  return 0;
}

void cf_hcn_network_info_free(cf_hcn_network_info *info)
{
  free(info->id);
  free(info->name);
  cf_strv_free(info->prefixes, info->subnet_count);
  cf_strv_free(info->gateways, info->subnet_count);
  memset(info, 0, sizeof(*info));
}

bool cf_hcn_network_matches(const cf_hcn_network_info *info, const cf_net_network *network)
{
  if (info->subnet_count != 1) {
    return false;
  }
  char subnet[CF_HCN_IPV4_STRLEN];
  char gateway[CF_HCN_IPV4_STRLEN];
  cf_hcn_ipv4_format(network->subnet, subnet);
  cf_hcn_ipv4_format(network->gateway, gateway);
  char prefix[CF_HCN_IPV4_STRLEN + 4];
  snprintf(prefix, sizeof(prefix), "%s/%u", subnet, (unsigned)network->prefix_len);
  return strcmp(info->prefixes[0], prefix) == 0 && strcmp(info->gateways[0], gateway) == 0;
}

char *cf_hcn_network_subnets_text(const cf_hcn_network_info *info)
{
  cf_buf buf;
  cf_hcnj_doc_init(&buf);
  cf_buf_append_str(&buf, "[", NULL);
  for (size_t i = 0; i < info->subnet_count; i++) {
    cf_buf_printf(&buf, NULL, "%s%s via %s", i > 0 ? ", " : "", info->prefixes[i],
                  info->gateways[i][0] != '\0' ? info->gateways[i] : "no gateway");
  }
  cf_buf_append_str(&buf, "]", NULL);
  return cf_buf_take(&buf);
}

/* --- Endpoints --- */

/* Reads MaximumOutgoingBandwidthInBytes of the first QOS policy. */
static int endpoint_bandwidth(const cf_hcnj *root, uint64_t *bandwidth, cf_err **err)
{
  const cf_hcnj *policies = cf_hcnj_member(root, "Policies");
  *bandwidth = 0;
  for (size_t i = 0; policies != NULL && policies->type == CF_HCNJ_ARRAY && i < policies->count;
       i++) {
    const char *type = cf_hcnj_text(cf_hcnj_member(&policies->items[i], "Type"));
    if (type != NULL && strcasecmp(type, "QOS") == 0) {
      const cf_hcnj *settings = cf_hcnj_member(&policies->items[i], "Settings");
      return member_u64(settings, "MaximumOutgoingBandwidthInBytes", bandwidth, err);
    }
  }
  return 0;
}

int cf_hcn_endpoint_parse(const char *doc, cf_hcn_endpoint_info *info, cf_err **err)
{
  memset(info, 0, sizeof(*info));
  cf_hcnj *root = NULL;
  if (parse_object("the HCN endpoint properties", doc, &root, err) < 0) {
    return -1;
  }
  info->id = member_text(root, "ID");
  info->name = member_text(root, "Name");
  info->network_id = member_text(root, "HostComputeNetwork");
  const cf_hcnj *configs = cf_hcnj_member(root, "IpConfigurations");
  if (configs != NULL && configs->type == CF_HCNJ_ARRAY && configs->count > 0) {
    info->address = member_text(&configs->items[0], "IpAddress");
  }
  int rc = endpoint_bandwidth(root, &info->bandwidth, err);
  cf_hcnj_free(root);
  if (rc < 0) {
    cf_hcn_endpoint_info_free(info);
    return cf_err_wrap(err, "the HCN endpoint's QOS policy");
  }
  return 0;
}

void cf_hcn_endpoint_info_free(cf_hcn_endpoint_info *info)
{
  free(info->id);
  free(info->name);
  free(info->network_id);
  free(info->address);
  memset(info, 0, sizeof(*info));
}

/* --- Namespaces --- */

int cf_hcn_namespace_compartment(const char *doc, uint32_t *compartment, cf_err **err)
{
  cf_hcnj *root = NULL;
  if (parse_object("the HCN namespace properties", doc, &root, err) < 0) {
    return -1;
  }
  uint64_t value = 0;
  bool present = cf_hcnj_member(root, "NamespaceId") != NULL;
  int rc = member_u64(root, "NamespaceId", &value, err);
  cf_hcnj_free(root);
  if (rc < 0) {
    return -1;
  }
  if (!present || value > UINT32_MAX) {
    return cf_err_set(err, CF_E_INVALID,
                      "the HCN namespace properties have no NamespaceId between 0 and 2^32-1");
  }
  *compartment = (uint32_t)value;
  return 0;
}

/* --- Errors --- */

static char *trimmed_copy(const char *text)
{
  while (isspace((unsigned char)*text)) {
    text++;
  }
  size_t len = strlen(text);
  while (len > 0 && isspace((unsigned char)text[len - 1])) {
    len--;
  }
  return len > 0 ? cf_xstrndup(text, len) : NULL;
}

char *cf_hcn_error_record_text(const char *record)
{
  if (record == NULL) {
    return NULL;
  }
  cf_hcnj *root = NULL;
  if (cf_hcnj_parse("the HCN error record", record, &root, NULL) == 0) {
    const char *error = cf_hcnj_text(cf_hcnj_member(root, "Error"));
    char *text = error != NULL ? trimmed_copy(error) : NULL;
    cf_hcnj_free(root);
    if (text != NULL) {
      return text;
    }
  }
  return trimmed_copy(record);
}

char *cf_hcn_error_message(const char *call, const char *object, uint32_t hr,
                           const char *system_message, const char *record)
{
  cf_autofree char *system = system_message != NULL ? trimmed_copy(system_message) : NULL;
  cf_autofree char *detail = cf_hcn_error_record_text(record);
  cf_buf buf;
  cf_hcnj_doc_init(&buf);
  cf_buf_printf(&buf, NULL, "hcn::%s %s: %s (HRESULT 0x%08X)", call, object,
                system != NULL ? system : "failed", (unsigned)hr);
  if (detail != NULL) {
    cf_buf_printf(&buf, NULL, ": %s", detail);
  }
  return cf_buf_take(&buf);
}

bool cf_hcn_hresult_is_not_found(uint32_t hr)
{
  switch (hr) {
  case 0x803B0001u: /* HCN_E_NETWORK_NOT_FOUND */
  case 0x803B0002u: /* HCN_E_ENDPOINT_NOT_FOUND */
  case 0x80070002u: /* HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND) */
  case 0x80070490u: /* HRESULT_FROM_WIN32(ERROR_NOT_FOUND) */
    return true;
  default:
    return false;
  }
}
