/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Garden route table and path matching. Captures (:handle, :pid,
 * :streamid, :key) match one path segment and are query-unescaped, as the
 * Go server's router does.
 */
#ifndef CFWIN_GARDEN_ROUTER_H
#define CFWIN_GARDEN_ROUTER_H

#include <stddef.h>

#include "base/err.h"

enum cf_route {
  CF_ROUTE_PING,
  CF_ROUTE_CAPACITY,
  CF_ROUTE_LIST,
  CF_ROUTE_CREATE,
  CF_ROUTE_INFO,
  CF_ROUTE_BULK_INFO,
  CF_ROUTE_BULK_METRICS,
  CF_ROUTE_DESTROY,
  CF_ROUTE_STOP,
  CF_ROUTE_STREAM_IN,
  CF_ROUTE_STREAM_OUT,
  CF_ROUTE_BANDWIDTH_LIMITS,
  CF_ROUTE_CPU_LIMITS,
  CF_ROUTE_DISK_LIMITS,
  CF_ROUTE_MEMORY_LIMITS,
  CF_ROUTE_NET_IN,
  CF_ROUTE_NET_OUT,
  CF_ROUTE_BULK_NET_OUT,
  CF_ROUTE_RUN,
  CF_ROUTE_ATTACH,
  CF_ROUTE_STDOUT,
  CF_ROUTE_STDERR,
  CF_ROUTE_SET_GRACE_TIME,
  CF_ROUTE_PROPERTIES,
  CF_ROUTE_PROPERTY,
  CF_ROUTE_SET_PROPERTY,
  CF_ROUTE_REMOVE_PROPERTY,
  CF_ROUTE_METRICS,
  CF_ROUTE_COUNT,
};

enum cf_route_result {
  CF_ROUTE_MATCHED,
  CF_ROUTE_NO_PATH,      /* 404 page not found */
  CF_ROUTE_WRONG_METHOD, /* 405; allow lists the methods that match */
};

typedef struct cf_route_match {
  enum cf_route route;
  char *handle; /* unescaped captures, NULL when the route has none */
  char *pid;
  char *stream_id;
  char *key;
  char allow[64]; /* "GET, PUT" for CF_ROUTE_WRONG_METHOD */
} cf_route_match;

/* Matches method and raw path. Fails only on a bad %-escape in a capture. */
int cf_route_find(const char *method, const char *path, enum cf_route_result *result,
                  cf_route_match *match, cf_err **err);
void cf_route_match_clear(cf_route_match *match);

/* The route's name for logs ("Create", "Run", ...). */
const char *cf_route_name(enum cf_route route);

#endif
