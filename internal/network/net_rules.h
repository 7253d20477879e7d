/* SPDX-License-Identifier: Apache-2.0 */
/*
 * IPv4 text forms and Garden's NetIn and NetOut JSON (net_out_rule.go in
 * code.cloudfoundry.org/garden), parsed into the types of network.h with
 * every field checked.
 */
#ifndef CFWIN_NETWORK_NET_RULES_H
#define CFWIN_NETWORK_NET_RULES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "network/network.h"

/* Parses dotted-decimal IPv4 ("10.0.0.1"; no leading zeros, no other
 * forms) into host byte order. Returns false for anything else. */
bool cf_net_parse_ipv4(const char *text, uint32_t *out);

/* Writes addr (host byte order) as dotted decimal into buf. */
void cf_net_format_ipv4(uint32_t addr, char buf[16]);

/* Parses "a.b.c.d/n" with n in 0..32 into the address and prefix length.
 * Host bits may be set; the caller decides whether that is allowed. */
bool cf_net_parse_cidr(const char *text, uint32_t *addr, uint8_t *prefix_len);

/* The netmask of a prefix length, host byte order (0 for 0). */
uint32_t cf_net_mask(uint8_t prefix_len);

/* Parses one Garden NetOut rule. where names the rule in messages (for
 * example "netout_rules[2]"); errors are CF_E_INVALID naming where and the
 * field: an unknown protocol, an address that is not IPv4, start after end,
 * ports outside 1-65535, ports on a rule that is not tcp or udp, icmps on a
 * rule that is not icmp, overlapping ranges inside the rule. Unknown keys
 * are ignored, as Go's decoder does. out is cleared first and left empty on
 * failure. */
int cf_net_rule_parse(const json_t *json, const char *where, cf_net_rule *out, cf_err **err);

/* Parses an array of rules (NULL or JSON null is an empty list). *rules is a
 * new array, NULL when empty; free it with cf_net_rules_free(). */
int cf_net_rules_parse(const json_t *array, const char *where, cf_net_rule **rules, size_t *count,
                       cf_err **err);

/* Garden's JSON form of a rule, with empty fields left out. New reference. */
json_t *cf_net_rule_to_json(const cf_net_rule *rule);

/* Deep-copies src into dst. */
void cf_net_rule_copy(cf_net_rule *dst, const cf_net_rule *src);

void cf_net_rule_clear(cf_net_rule *rule);
void cf_net_rules_free(cf_net_rule *rules, size_t count);

/* Reads the integer port under key of obj into *out. A missing key or
 * JSON null gives 0, as Go's decoder does. A value that is not an integer
 * in min..65535 is CF_E_INVALID naming where and key. */
int cf_net_port_get(const json_t *obj, const char *key, const char *where, int min, uint16_t *out,
                    cf_err **err);

/* Parses a NetIn object {"host_port":H,"container_port":C} from up's
 * "netin" list. 0 for a host port means "allocate one from the pool"; 0
 * for a container port means "the same as the host port", as Garden does.
 * Ports above 65535, negative or non-integer values are CF_E_INVALID
 * naming where and the field. */
int cf_net_mapping_parse(const json_t *json, const char *where, cf_net_mapping *out, cf_err **err);

/* Parses an array of NetIn objects; same ownership as cf_net_rules_parse()
 * (free *mappings with free()). Two entries asking for the same non-zero
 * host port are CF_E_INVALID. */
int cf_net_mappings_parse(const json_t *array, const char *where, cf_net_mapping **mappings,
                          size_t *count, cf_err **err);

#endif
