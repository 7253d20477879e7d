/* SPDX-License-Identifier: Apache-2.0 */
#include "image/idmap.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/mem.h"
#include "base/sha256.h"

/* The kernel rejects a range whose first id plus size wraps past 2^32, so
 * the last usable id is 4294967294; 4294967295 is (uid_t)-1. */
#define ID_LIMIT UINT64_C(4294967295)

/* Parses one decimal id field; false on anything but digits that fit. */
static bool parse_u32(const char *text, size_t len, uint32_t *out)
{
  if (len == 0 || len > 10) {
    return false;
  }
  uint64_t value = 0;
  for (size_t i = 0; i < len; i++) {
    if (text[i] < '0' || text[i] > '9') {
      return false;
    }
    value = value * 10 + (uint64_t)(text[i] - '0');
  }
  if (value > UINT32_MAX) {
    return false;
  }
  *out = (uint32_t)value;
  return true;
}

static int check_range(const char *kind, const cf_id_range *range, cf_err **err)
{
  if (range->size == 0) {
    return cf_err_set(err, CF_E_INVALID,
                      "invalid %s mapping %" PRIu32 ":%" PRIu32 ":%" PRIu32
                      ": the size must be at least 1",
                      kind, range->container_id, range->host_id, range->size);
  }
  if ((uint64_t)range->container_id + range->size > ID_LIMIT ||
      (uint64_t)range->host_id + range->size > ID_LIMIT) {
    return cf_err_set(err, CF_E_INVALID,
                      "invalid %s mapping %" PRIu32 ":%" PRIu32 ":%" PRIu32
                      ": the range passes the largest id, 4294967294",
                      kind, range->container_id, range->host_id, range->size);
  }
  return 0;
}

int cf_id_range_parse(const char *kind, const char *text, cf_id_range *out, cf_err **err)
{
  uint32_t fields[3];
  const char *p = text;
  for (size_t i = 0; i < 3; i++) {
    size_t len = strcspn(p, ":");
    bool last = i == 2;
    if (!parse_u32(p, len, &fields[i]) || (last ? p[len] != '\0' : p[len] != ':')) {
      return cf_err_set(err, CF_E_INVALID,
                        "invalid %s mapping \"%s\": expected CONTAINER:HOST:SIZE, three decimal "
                        "numbers such as 0:100000:65536",
                        kind, text);
    }
    p += len + 1;
  }
  *out = (cf_id_range){.container_id = fields[0], .host_id = fields[1], .size = fields[2]};
  return check_range(kind, out, err);
}

static bool overlaps(uint32_t first_a, uint32_t first_b, uint32_t size_a, uint32_t size_b)
{
  uint64_t end_a = (uint64_t)first_a + size_a;
  uint64_t end_b = (uint64_t)first_b + size_b;
  return first_a < end_b && first_b < end_a;
}

static int check_against(const char *kind, const cf_id_range *range, const cf_id_range *other,
                         cf_err **err)
{
  const char *side = NULL;
  if (overlaps(range->container_id, other->container_id, range->size, other->size)) {
    side = "container";
  } else if (overlaps(range->host_id, other->host_id, range->size, other->size)) {
    side = "host";
  }
  if (side == NULL) {
    return 0;
  }
  return cf_err_set(err, CF_E_INVALID,
                    "invalid %s mapping %" PRIu32 ":%" PRIu32 ":%" PRIu32
                    ": its %s ids overlap the mapping %" PRIu32 ":%" PRIu32 ":%" PRIu32,
                    kind, range->container_id, range->host_id, range->size, side,
                    other->container_id, other->host_id, other->size);
}

int cf_id_map_add(cf_id_map *map, const char *kind, const cf_id_range *range, cf_err **err)
{
  if (check_range(kind, range, err) < 0) {
    return -1;
  }
  if (map->count >= CF_ID_MAP_MAX_RANGES) {
    return cf_err_set(err, CF_E_INVALID,
                      "invalid %s mapping %" PRIu32 ":%" PRIu32 ":%" PRIu32
                      ": a map has at most %d ranges",
                      kind, range->container_id, range->host_id, range->size, CF_ID_MAP_MAX_RANGES);
  }
  for (size_t i = 0; i < map->count; i++) {
    if (check_against(kind, range, &map->ranges[i], err) < 0) {
      return -1;
    }
  }
  map->ranges[map->count++] = *range;
  return 0;
}

int cf_id_map_validate(const cf_id_map *map, const char *kind, cf_err **err)
{
  if (map->count > CF_ID_MAP_MAX_RANGES) {
    return cf_err_set(err, CF_E_INVALID, "invalid %s map: %zu ranges, at most %d are allowed", kind,
                      map->count, CF_ID_MAP_MAX_RANGES);
  }
  cf_id_map copy = {0};
  for (size_t i = 0; i < map->count; i++) {
    if (cf_id_map_add(&copy, kind, &map->ranges[i], err) < 0) {
      return -1;
    }
  }
  return 0;
}

int cf_id_mapping_validate(const cf_id_mapping *mapping, cf_err **err)
{
  if (cf_id_map_validate(&mapping->uids, "uid", err) < 0 ||
      cf_id_map_validate(&mapping->gids, "gid", err) < 0) {
    return -1;
  }
  if ((mapping->uids.count == 0) != (mapping->gids.count == 0)) {
    return cf_err_set(err, CF_E_INVALID,
                      "invalid id mapping: %s mapping given without a %s mapping; give both or "
                      "neither",
                      mapping->uids.count > 0 ? "a uid" : "a gid",
                      mapping->uids.count > 0 ? "gid" : "uid");
  }
  return 0;
}

bool cf_id_mapping_is_set(const cf_id_mapping *mapping)
{
  return mapping != NULL && mapping->uids.count > 0;
}

bool cf_id_map_to_host(const cf_id_map *map, uint32_t id, uint32_t *host)
{
  for (size_t i = 0; i < map->count; i++) {
    const cf_id_range *r = &map->ranges[i];
    if (id >= r->container_id && (uint64_t)id < (uint64_t)r->container_id + r->size) {
      *host = r->host_id + (id - r->container_id);
      return true;
    }
  }
  return false;
}

static int compare_ranges(const void *a, const void *b)
{
  const cf_id_range *x = a;
  const cf_id_range *y = b;
  return x->container_id < y->container_id ? -1 : x->container_id > y->container_id;
}

static void append_map(cf_buf *out, const char *kind, const cf_id_map *map)
{
  cf_id_map sorted = *map;
  qsort(sorted.ranges, sorted.count, sizeof(sorted.ranges[0]), compare_ranges);
  cf_buf_append_str(out, kind, NULL);
  for (size_t i = 0; i < sorted.count; i++) {
    const cf_id_range *r = &sorted.ranges[i];
    cf_autofree char *text = cf_xasprintf("%s%" PRIu32 ":%" PRIu32 ":%" PRIu32, i > 0 ? "," : " ",
                                          r->container_id, r->host_id, r->size);
    cf_buf_append_str(out, text, NULL);
  }
}

char *cf_id_mapping_text(const cf_id_mapping *mapping)
{
  cf_buf text;
  cf_buf_init(&text, SIZE_MAX);
  append_map(&text, "uid", &mapping->uids);
  cf_buf_append_str(&text, ";", NULL);
  append_map(&text, "gid", &mapping->gids);
  return cf_buf_take(&text);
}

void cf_id_mapping_digest(const cf_id_mapping *mapping, char out[CF_ID_MAPPING_DIGEST_LEN + 1])
{
  cf_autofree char *text = cf_id_mapping_text(mapping);
  char digest[CF_DIGEST_LEN + 1];
  cf_sha256_digest(text, strlen(text), digest);
  memcpy(out, digest + strlen("sha256:"), CF_ID_MAPPING_DIGEST_LEN);
  out[CF_ID_MAPPING_DIGEST_LEN] = '\0';
}
