/* SPDX-License-Identifier: Apache-2.0 */
#include "garden/router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "garden/http.h"

struct route_entry {
  enum cf_route route;
  const char *name;
  const char *method;
  const char *pattern;
};

/* Order matters where patterns overlap: fixed segments such as bulk_info
 * come before the :handle capture at the same position. */
static const struct route_entry routes[] = {
    {CF_ROUTE_PING, "Ping", "GET", "/ping"},
    {CF_ROUTE_CAPACITY, "Capacity", "GET", "/capacity"},
    {CF_ROUTE_LIST, "List", "GET", "/containers"},
    {CF_ROUTE_CREATE, "Create", "POST", "/containers"},
    {CF_ROUTE_BULK_INFO, "BulkInfo", "GET", "/containers/bulk_info"},
    {CF_ROUTE_BULK_METRICS, "BulkMetrics", "GET", "/containers/bulk_metrics"},
    {CF_ROUTE_INFO, "Info", "GET", "/containers/:handle/info"},
    {CF_ROUTE_DESTROY, "Destroy", "DELETE", "/containers/:handle"},
    {CF_ROUTE_STOP, "Stop", "PUT", "/containers/:handle/stop"},
    {CF_ROUTE_STREAM_IN, "StreamIn", "PUT", "/containers/:handle/files"},
    {CF_ROUTE_STREAM_OUT, "StreamOut", "GET", "/containers/:handle/files"},
    {CF_ROUTE_BANDWIDTH_LIMITS, "CurrentBandwidthLimits", "GET",
     "/containers/:handle/limits/bandwidth"},
    {CF_ROUTE_CPU_LIMITS, "CurrentCPULimits", "GET", "/containers/:handle/limits/cpu"},
    {CF_ROUTE_DISK_LIMITS, "CurrentDiskLimits", "GET", "/containers/:handle/limits/disk"},
    {CF_ROUTE_MEMORY_LIMITS, "CurrentMemoryLimits", "GET", "/containers/:handle/limits/memory"},
    {CF_ROUTE_NET_IN, "NetIn", "POST", "/containers/:handle/net/in"},
    {CF_ROUTE_NET_OUT, "NetOut", "POST", "/containers/:handle/net/out"},
    {CF_ROUTE_BULK_NET_OUT, "BulkNetOut", "POST", "/containers/:handle/net/out/bulk"},
    {CF_ROUTE_RUN, "Run", "POST", "/containers/:handle/processes"},
    {CF_ROUTE_ATTACH, "Attach", "GET", "/containers/:handle/processes/:pid"},
    {CF_ROUTE_STDOUT, "Stdout", "GET",
     "/containers/:handle/processes/:pid/attaches/:streamid/stdout"},
    {CF_ROUTE_STDERR, "Stderr", "GET",
     "/containers/:handle/processes/:pid/attaches/:streamid/stderr"},
    {CF_ROUTE_SET_GRACE_TIME, "SetGraceTime", "PUT", "/containers/:handle/grace_time"},
    {CF_ROUTE_PROPERTIES, "Properties", "GET", "/containers/:handle/properties"},
    {CF_ROUTE_PROPERTY, "Property", "GET", "/containers/:handle/properties/:key"},
    {CF_ROUTE_SET_PROPERTY, "SetProperty", "PUT", "/containers/:handle/properties/:key"},
    {CF_ROUTE_REMOVE_PROPERTY, "RemoveProperty", "DELETE", "/containers/:handle/properties/:key"},
    {CF_ROUTE_METRICS, "Metrics", "GET", "/containers/:handle/metrics"},
};

#define ROUTE_ENTRIES (sizeof(routes) / sizeof(routes[0]))

_Static_assert(ROUTE_ENTRIES == CF_ROUTE_COUNT, "every route needs one table entry");

struct capture {
  const char *name; /* without the ':' */
  size_t name_len;
  const char *value; /* raw, points into the path */
  size_t value_len;
};

/* Matches path against pattern segment by segment. A capture matches one
 * non-empty segment. Fills up to 4 captures. Returns the capture count, or
 * -1 when the path does not match. */
static int match_pattern(const char *pattern, const char *path, struct capture captures[4])
{
  int n = 0;
  const char *p = pattern;
  const char *s = path;
  while (*p != '\0') {
    if (*p == ':') {
      const char *name_end = strchrnul(p, '/');
      size_t value_len = strcspn(s, "/");
      if (value_len == 0 || n == 4) {
        return -1;
      }
      captures[n].name = p + 1;
      captures[n].name_len = (size_t)(name_end - p - 1);
      captures[n].value = s;
      captures[n].value_len = value_len;
      n++;
      p = name_end;
      s += value_len;
      continue;
    }
    if (*p != *s) {
      return -1;
    }
    p++;
    s++;
  }
  return *s == '\0' ? n : -1;
}

static int store_capture(const struct capture *c, cf_route_match *match, cf_err **err)
{
  char *value = NULL;
  if (cf_http_unescape(c->value, c->value_len, &value, err) < 0) {
    return -1;
  }
  char **slot = NULL;
  if (strncmp(c->name, "handle", c->name_len) == 0) {
    slot = &match->handle;
  } else if (strncmp(c->name, "pid", c->name_len) == 0) {
    slot = &match->pid;
  } else if (strncmp(c->name, "streamid", c->name_len) == 0) {
    slot = &match->stream_id;
  } else {
    slot = &match->key;
  }
  free(*slot);
  *slot = value;
  return 0;
}

static void add_allowed(char *allow, size_t size, const char *method)
{
  if (strstr(allow, method) != NULL) {
    return;
  }
  size_t len = strlen(allow);
  snprintf(allow + len, size - len, "%s%s", len > 0 ? ", " : "", method);
}

int cf_route_find(const char *method, const char *path, enum cf_route_result *result,
                  cf_route_match *match, cf_err **err)
{
  memset(match, 0, sizeof(*match));
  struct capture captures[4];
  for (size_t i = 0; i < ROUTE_ENTRIES; i++) {
    if (strcmp(routes[i].method, method) != 0) {
      continue;
    }
    int n = match_pattern(routes[i].pattern, path, captures);
    if (n < 0) {
      continue;
    }
    for (int c = 0; c < n; c++) {
      if (store_capture(&captures[c], match, err) < 0) {
        cf_route_match_clear(match);
        return -1;
      }
    }
    match->route = routes[i].route;
    *result = CF_ROUTE_MATCHED;
    return 0;
  }
  for (size_t i = 0; i < ROUTE_ENTRIES; i++) {
    if (match_pattern(routes[i].pattern, path, captures) >= 0) {
      add_allowed(match->allow, sizeof(match->allow), routes[i].method);
    }
  }
  *result = match->allow[0] != '\0' ? CF_ROUTE_WRONG_METHOD : CF_ROUTE_NO_PATH;
  return 0;
}

void cf_route_match_clear(cf_route_match *match)
{
  free(match->handle);
  free(match->pid);
  free(match->stream_id);
  free(match->key);
  match->handle = NULL;
  match->pid = NULL;
  match->stream_id = NULL;
  match->key = NULL;
}

const char *cf_route_name(enum cf_route route)
{
  for (size_t i = 0; i < ROUTE_ENTRIES; i++) {
    if (routes[i].route == route) {
      return routes[i].name;
    }
  }
  return "Unknown";
}
