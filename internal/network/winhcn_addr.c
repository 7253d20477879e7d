/* SPDX-License-Identifier: Apache-2.0 */
/* IPv4 text, CIDR covers of address ranges and GUID text for the HCN
 * builders; see winhcn.h. */
#include <stdio.h>
#include <string.h>

#include "network/winhcn.h"

void cf_hcn_ipv4_format(uint32_t address, char out[CF_HCN_IPV4_STRLEN])
{
  snprintf(out, CF_HCN_IPV4_STRLEN, "%u.%u.%u.%u", (unsigned)(address >> 24),
           (unsigned)((address >> 16) & 0xff), (unsigned)((address >> 8) & 0xff),
           (unsigned)(address & 0xff));
}

/* The largest aligned block starting at start that ends at or before end:
 * its size is the lowest set bit of start (2^32 for 0.0.0.0), halved until
 * it fits. */
static uint64_t block_size(uint64_t start, uint64_t end)
{
  uint64_t size = start == 0 ? (UINT64_C(1) << 32) : (start & (~start + 1));
  while (start + size - 1 > end) {
    size >>= 1;
  }
  return size;
}

static uint8_t prefix_of(uint64_t size)
{
  uint8_t bits = 0;
  while (size > 1) {
    size >>= 1;
    bits++;
  }
  return (uint8_t)(32 - bits);
}

size_t cf_hcn_range_cidrs(uint32_t start, uint32_t end, cf_hcn_cidr out[CF_HCN_CIDR_MAX])
{
  size_t count = 0;
  uint64_t next = start;
  while (next <= end && count < CF_HCN_CIDR_MAX) {
    uint64_t size = block_size(next, end);
    out[count].address = (uint32_t)next;
    out[count].prefix_len = prefix_of(size);
    count++;
    next += size;
  }
  return count;
}

static int hex_value(char c)
{
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') {
    return (c | 0x20) - 'a' + 10;
  }
  return -1;
}

/* Decodes the 32 hex digits of a GUID in registry form into 16 bytes in
 * text order; false when the text has another shape. */
static bool guid_bytes(const char *text, uint8_t bytes[16])
{
  size_t byte = 0;
  size_t i = 0;
  for (; i < 36 && text[i] != '\0'; i++) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (text[i] != '-') {
        return false;
      }
      continue;
    }
    int high = hex_value(text[i]);
    int low = hex_value(text[i + 1]);
    if (high < 0 || low < 0) {
      return false;
    }
    bytes[byte++] = (uint8_t)(high << 4 | low);
    i++;
  }
  return i == 36 && text[i] == '\0';
}

int cf_hcn_guid_parse(const char *text, cf_hcn_guid *out, cf_err **err)
{
  uint8_t b[16];
  if (!guid_bytes(text, b)) {
    return cf_err_set(err, CF_E_INVALID,
                      "\"%s\" is not a GUID: expected 36 characters like "
                      "01234567-89ab-cdef-0123-456789abcdef",
                      text);
  }
  out->data1 = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
  out->data2 = (uint16_t)(b[4] << 8 | b[5]);
  out->data3 = (uint16_t)(b[6] << 8 | b[7]);
  memcpy(out->data4, b + 8, 8);
  return 0;
}

int cf_hcn_search_domains_check(const char *const *domains, size_t count, cf_err **err)
{
  for (size_t i = 0; i < count; i++) {
    if (strpbrk(domains[i], ", ") != NULL) {
      return cf_err_set(err, CF_E_INVALID, "Invalid DNSSuffix. First invalid DNSSuffix: %s",
                        domains[i]);
    }
  }
  return 0;
}
