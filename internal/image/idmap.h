/* SPDX-License-Identifier: Apache-2.0 */
/*
 * User and group id maps for layers unpacked for containers in a user
 * namespace. A range has the form of an OCI LinuxIDMapping and of a line of
 * /proc/PID/uid_map: container_id, host_id, size. Unpacking with a map
 * writes each file with the host id that the container id maps to, so the
 * container sees the owners the image states.
 */
#ifndef CFWIN_IMAGE_IDMAP_H
#define CFWIN_IMAGE_IDMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* Ranges per map. Linux before 4.15 accepts at most 5 lines in uid_map and
 * gid_map, so a map of this size can be written on every kernel. */
#define CF_ID_MAP_MAX_RANGES 5

/* Bytes of the map digest in a layer key: 16 hex digits and a NUL. */
#define CF_ID_MAPPING_DIGEST_LEN 16

typedef struct cf_id_range {
  uint32_t container_id; /* first id inside the container */
  uint32_t host_id;      /* the host id container_id maps to */
  uint32_t size;         /* ids in the range; at least 1 */
} cf_id_range;

typedef struct cf_id_map {
  cf_id_range ranges[CF_ID_MAP_MAX_RANGES];
  size_t count;
} cf_id_map;

/* The maps of one pull. Both maps have ranges, or neither does (a zeroed
 * struct): a user namespace needs both, and an unpack with half a map would
 * leave files owned by host groups the container cannot name. */
typedef struct cf_id_mapping {
  cf_id_map uids;
  cf_id_map gids;
} cf_id_mapping;

/* Parses "CONTAINER:HOST:SIZE" (decimal) into *out. kind ("uid", "gid")
 * names the map in errors, which quote text. Checks the range alone: size
 * at least 1 and no id past 4294967294 (the kernel's limit). */
int cf_id_range_parse(const char *kind, const char *text, cf_id_range *out, cf_err **err);

/* Appends range to map after checking it alone and against the ranges
 * already there: no overlap of container ids or of host ids, at most
 * CF_ID_MAP_MAX_RANGES ranges. Errors are CF_E_INVALID and name the
 * range. */
int cf_id_map_add(cf_id_map *map, const char *kind, const cf_id_range *range, cf_err **err);

/* Checks every range of a map that was filled by hand, as cf_id_map_add()
 * does. */
int cf_id_map_validate(const cf_id_map *map, const char *kind, cf_err **err);

/* Checks both maps, and that both have ranges or neither has. */
int cf_id_mapping_validate(const cf_id_mapping *mapping, cf_err **err);

/* True when mapping is non-NULL and has ranges. */
bool cf_id_mapping_is_set(const cf_id_mapping *mapping);

/* Stores in *host the host id of container id id; false when no range of
 * map contains id. */
bool cf_id_map_to_host(const cf_id_map *map, uint32_t id, uint32_t *host);

/* Returns the canonical text of a set mapping as a new string: each map's
 * ranges sorted by container id, "uid C:H:S,...;gid C:H:S,...". The same
 * ranges in any order give the same text. */
char *cf_id_mapping_text(const cf_id_mapping *mapping);

/* Writes the first 16 hex digits of the sha256 of cf_id_mapping_text() to
 * out, the suffix of the layer keys of a mapped pull. */
void cf_id_mapping_digest(const cf_id_mapping *mapping, char out[CF_ID_MAPPING_DIGEST_LEN + 1]);

#endif
