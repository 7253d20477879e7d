/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Platform-neutral part of the Windows network backend: the HCN v2
 * (computenetwork.dll) documents for the NAT network, a container's
 * endpoint and its policies, the container's namespace and the queries,
 * the readers of the documents HCN returns, and the IPv4 range to CIDR
 * cover that ACL rules need.
 *
 * These functions use only base (buf, err, mem) and the C library, so the
 * mingw-w64 cross build compiles them and the native build unit-tests
 * them. Strings are UTF-8; the files in windows/ convert them to UTF-16 at the DLL
 * call. Addresses are IPv4 in host byte order, as in network.h.
 *
 * ACL design. HNS turns an endpoint with any ACL into default deny, but
 * Windows Server 2025 starts NAT endpoints with outbound allow-all, and a
 * lone Block rule there blocks everything unless an Allow rule with a
 * lower Priority number comes first. Every endpoint therefore carries
 * explicit Block rules for all protocols in both directions at
 * CF_HCN_PRIORITY_BLOCK and its Allow rules at CF_HCN_PRIORITY_ALLOW, as
 * Switch (VFP) rules, where a lower number is evaluated first. The set
 * denies by default whichever default the host has (2019, 2022, 2025).
 */
#ifndef CFWIN_NETWORK_WINHCN_H
#define CFWIN_NETWORK_WINHCN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "network/network.h"

/* ACL priorities: lower numbers are evaluated first. */
#define CF_HCN_PRIORITY_ALLOW 200
#define CF_HCN_PRIORITY_BLOCK 2000

/* IANA protocol numbers of HCN policies; 256 means every protocol. */
#define CF_HCN_PROTOCOL_ICMP 1
#define CF_HCN_PROTOCOL_TCP 6
#define CF_HCN_PROTOCOL_UDP 17
#define CF_HCN_PROTOCOL_ANY 256

/* Text of an IPv4 address, "255.255.255.255" plus the terminator. */
#define CF_HCN_IPV4_STRLEN 16

/* --- Addresses --- */

/* Writes address (host byte order) in dotted-decimal form. */
void cf_hcn_ipv4_format(uint32_t address, char out[CF_HCN_IPV4_STRLEN]);

/* Most CIDR blocks a range of IPv4 addresses can need: 0.0.0.1 through
 * 255.255.255.254 takes 31 + 31. */
#define CF_HCN_CIDR_MAX 62

typedef struct cf_hcn_cidr {
  uint32_t address;
  uint8_t prefix_len;
} cf_hcn_cidr;

/* Writes the minimal list of CIDR blocks that covers start..end
 * (inclusive), in ascending order, and returns how many. start <= end is
 * required: 192.168.0.10-192.168.0.250 gives 11 blocks, and
 * 0.0.0.0-255.255.255.255 gives 0.0.0.0/0. */
size_t cf_hcn_range_cidrs(uint32_t start, uint32_t end, cf_hcn_cidr out[CF_HCN_CIDR_MAX]);

/* --- GUIDs --- */

/* A GUID in the field layout of the Windows GUID structure. */
typedef struct cf_hcn_guid {
  uint32_t data1;
  uint16_t data2;
  uint16_t data3;
  uint8_t data4[8];
} cf_hcn_guid;

/* Reads a GUID in registry form without braces, either case, as HCN
 * returns object IDs. Fails with CF_E_INVALID naming the text. */
int cf_hcn_guid_parse(const char *text, cf_hcn_guid *out, cf_err **err);

/* --- Documents sent to HCN --- */

/* Checks search domains as winc-network does: an entry containing a
 * comma or a space fails with CF_E_INVALID
 * "Invalid DNSSuffix. First invalid DNSSuffix: <entry>". */
int cf_hcn_search_domains_check(const char *const *domains, size_t count, cf_err **err);

/* Builds the HcnCreateNetwork settings of the NAT network:
 * {"SchemaVersion":{"Major":2,"Minor":0},"Name":..,"Type":"NAT",
 *  "Ipams":[{"Type":"Static","Subnets":[{"IpAddressPrefix":"<subnet>/<len>",
 *   "Routes":[{"NextHop":"<gateway>","DestinationPrefix":"0.0.0.0/0"}]}]}],
 *  "Dns":{"Search":[..]},"Flags":0,"Policies":[]}
 * Dns is left out without search domains. HCN has no MTU field, so the
 * backend sets the MTU on the adapter. Fails with CF_E_INVALID for an empty
 * name, a prefix length outside 1..30, host bits in the subnet, a gateway
 * that is not a host address of the subnet, or a bad search domain. */
int cf_hcn_network_json(const cf_net_network *network, char **out, cf_err **err);

/* The policies of one endpoint. */
typedef struct cf_hcn_policy_set {
  uint32_t address; /* the container's address, LocalAddresses of every Allow rule */
  const cf_net_mapping *mappings;
  size_t mapping_count;
  const cf_net_rule *rules;
  size_t rule_count;
  uint64_t bandwidth; /* bytes per second for the QOS policy, 0 for none */
} cf_hcn_policy_set;

/* Builds the endpoint's Policies array, in this order:
 * - {"Type":"QOS","Settings":{"MaximumOutgoingBandwidthInBytes":N}} with a bandwidth;
 * - per mapping, an Allow In ACL for tcp and one for udp with LocalPorts
 *   the container port;
 * - per rule, an Allow Out ACL: Protocols "6", "17", "1" or "256",
 *   RemoteAddresses the CIDR covers of its networks joined with commas
 *   (left out when there are none or one of them is 0.0.0.0/0, because an
 *   explicit 0.0.0.0/0 does not match every address in HNS), RemotePorts
 *   "start-end,.." for tcp and udp only;
 * - Block Out and Block In for protocol 256;
 * - per mapping, a PortMapping for tcp (6) and one for udp (17).
 * Every ACL has "RuleType":"Switch" and a Priority. ICMP type and code and
 * the log flag have no HCN field and are left out. Fails with CF_E_INVALID
 * naming the rule for an unknown protocol ("invalid protocol: N"), a range
 * whose start is past its end, or a mapping with a zero port. */
int cf_hcn_policies_json(const cf_hcn_policy_set *set, char **out, cf_err **err);

/* Builds the HcnModifyEndpoint request that replaces every policy of the
 * endpoint with the set, in one call:
 * {"ResourceType":"Policy","RequestType":"Update","Settings":{"Policies":[..]}} */
int cf_hcn_policy_update_json(const cf_hcn_policy_set *set, char **out, cf_err **err);

/* Builds the HcnCreateEndpoint settings:
 * {"SchemaVersion":{"Major":2,"Minor":0},"Name":"<handle>",
 *  "HostComputeNetwork":"<network_id>",
 *  "IpConfigurations":[{"IpAddress":..,"PrefixLength":..}],
 *  "Dns":{"Search":[..],"ServerList":[..]},
 *  "Routes":[{"NextHop":"<gateway>","DestinationPrefix":"0.0.0.0/0"}],
 *  "Policies":[..]}
 * Dns members are left out when empty. Policies are those of
 * cf_hcn_policies_json with no mappings and no rules, so the endpoint
 * starts with everything denied. Fails with CF_E_INVALID for an empty
 * handle, a network_id that is not a GUID, an address outside the
 * network's subnet or equal to its network, broadcast or gateway address,
 * or a bad search domain. */
int cf_hcn_endpoint_json(const cf_net_endpoint *endpoint, const cf_net_network *network,
                         const char *network_id, char **out, cf_err **err);

/* The HcnCreateNamespace settings of a container's namespace, a host
 * namespace of its own compartment:
 * {"SchemaVersion":{"Major":2,"Minor":0},"Type":"Host"} */
char *cf_hcn_namespace_json(void);

/* The HcnModifyNamespace request that adds (or removes) an endpoint:
 * {"ResourceType":"Endpoint","RequestType":"Add","Settings":{"EndpointId":".."}} */
char *cf_hcn_namespace_endpoint_json(const char *endpoint_id, bool add);

/* The HcnEnumerate* and HcnQuery*Properties query
 * {"SchemaVersion":{"Major":2,"Minor":0},"Flags":0}, with
 * "Filter":"{\"<key>\":\"<value>\"}" (a JSON document inside a string)
 * when key is not NULL. */
char *cf_hcn_query_json(const char *filter_key, const char *filter_value);

/* --- Documents returned by HCN --- */

/* Reads the result of HcnEnumerate*: a JSON array of GUID strings, or
 * null or an empty text for none. Free *ids with cf_strv_free. */
int cf_hcn_ids_parse(const char *doc, char ***ids, size_t *count, cf_err **err);

/* The parts of a network's properties the backend reads. */
typedef struct cf_hcn_network_info {
  char *id;
  char *name;
  char **prefixes; /* IpAddressPrefix of every subnet of every Ipam */
  char **gateways; /* NextHop of the subnet's first route, or "" */
  size_t subnet_count;
} cf_hcn_network_info;

/* Reads an HcnQueryNetworkProperties result. Member names match without
 * regard to case, as Go's decoder matches them. Fails with CF_E_INVALID for
 * malformed JSON or a document that is not an object. */
int cf_hcn_network_parse(const char *doc, cf_hcn_network_info *info, cf_err **err);
void cf_hcn_network_info_free(cf_hcn_network_info *info);

/* True when the network has exactly one subnet, equal to network's subnet
 * and gateway. */
bool cf_hcn_network_matches(const cf_hcn_network_info *info, const cf_net_network *network);

/* "[<prefix> via <gateway>, ..]" of the subnets, for error messages. */
char *cf_hcn_network_subnets_text(const cf_hcn_network_info *info);

/* The parts of an endpoint's properties the backend reads. */
typedef struct cf_hcn_endpoint_info {
  char *id;
  char *name;
  char *network_id;   /* HostComputeNetwork */
  char *address;      /* IpAddress of the first IpConfiguration, or NULL */
  uint64_t bandwidth; /* MaximumOutgoingBandwidthInBytes of its QOS policy, or 0 */
} cf_hcn_endpoint_info;

int cf_hcn_endpoint_parse(const char *doc, cf_hcn_endpoint_info *info, cf_err **err);
void cf_hcn_endpoint_info_free(cf_hcn_endpoint_info *info);

/* Reads NamespaceId, the network compartment, from an
 * HcnQueryNamespaceProperties result. Fails with CF_E_INVALID when it is
 * missing or over 2^32-1. */
int cf_hcn_namespace_compartment(const char *doc, uint32_t *compartment, cf_err **err);

/* --- Errors --- */

/* The text of an HCN ErrorRecord: its "Error" member, else the record
 * itself without surrounding white space; NULL for NULL or blank. */
char *cf_hcn_error_record_text(const char *record);

/* "hcn::<call> <object>: <text> (HRESULT 0x%08X)[: <record text>]", where
 * text is system_message without trailing line breaks, or "failed". */
char *cf_hcn_error_message(const char *call, const char *object, uint32_t hr,
                           const char *system_message, const char *record);

/* True for the HRESULTs of a network, endpoint or namespace that does not
 * exist: 0x803B0001 (network), 0x803B0002 (endpoint), and the wrapped
 * Win32 errors ERROR_FILE_NOT_FOUND and ERROR_NOT_FOUND. */
bool cf_hcn_hresult_is_not_found(uint32_t hr);

#endif
