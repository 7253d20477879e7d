/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Info and BulkInfo: a container's state, events, addresses, properties,
 * directory and processes, as Garden's ContainerInfo. Both run on the loop
 * thread, because the process list lives there. The cgroup read that finds
 * OOM kills is one small file read.
 */
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/mem.h"
#include "garden/internal.h"
#include "garden/json.h"

/* Properties the network role sets, read as Guardian's Info reads them. */
#define PROPERTY_CONTAINER_IP "garden.network.container-ip"
#define PROPERTY_CONTAINER_IPV6 "garden.network.container-ipv6"
#define PROPERTY_HOST_IP "garden.network.host-ip"
#define PROPERTY_EXTERNAL_IP "garden.network.external-ip"
#define PROPERTY_MAPPED_PORTS "garden.network.mapped-ports"

int cf_bulk_handles(const char *query, char ***handles, size_t *count, cf_err **err)
{
  *handles = NULL;
  *count = 0;
  char *value = NULL;
  int found = cf_http_query_get(query, "handles", &value, err);
  if (found <= 0) {
    return found;
  }
  if (value[0] == '\0') {
    free(value);
    return 0;
  }
  size_t n = 1;
  for (const char *p = value; *p != '\0'; p++) {
    n += *p == ',';
  }
  char **list = cf_xcalloc(n + 1, sizeof(*list));
  char *rest = value;
  for (size_t i = 0; i < n; i++) {
    size_t len = strcspn(rest, ",");
    list[i] = cf_xstrndup(rest, len);
    rest += len + (rest[len] == ',' ? 1 : 0);
  }
  free(value);
  *handles = list;
  *count = n;
  return 0;
}

/* Records an OOM kill the cgroup shows. A failure does not fail Info,
 * because the events recorded so far are still worth returning. */
static void check_oom(cf_server *server, const char *handle)
{
  cf_err *err = NULL;
  if (cf_backend_check_usage(server->backend, handle, NULL, &err) < 0) {
    cf_log_error("info.read-usage-failed", err, "{s:s}", "handle", handle);
    cf_err_free(err);
  }
}

static json_t *events_json(cf_store *store, const char *handle, cf_err **err)
{
  char **events = NULL;
  size_t count = 0;
  if (cf_store_event_list(store, handle, &events, &count, err) < 0) {
    return NULL;
  }
  json_t *list = json_array();
  for (size_t i = 0; i < count; i++) {
    json_array_append_new(list, cf_json_string(events[i]));
  }
  cf_strv_free(events, count);
  return list;
}

static const char *property_or_empty(const json_t *props, const char *key)
{
  const char *value = json_string_value(json_object_get(props, key));
  return value != NULL ? value : "";
}

/* The mapped ports property contains a JSON array of {HostPort, ContainerPort}
 * objects; anything else reads as no ports, as in Guardian. */
static json_t *mapped_ports_json(const json_t *props)
{
  const char *text = json_string_value(json_object_get(props, PROPERTY_MAPPED_PORTS));
  json_t *ports = text != NULL ? json_loads(text, 0, NULL) : NULL;
  if (!json_is_array(ports)) {
    json_decref(ports);
    return json_array();
  }
  return ports;
}

/* Reads the container's record, events and properties in one read
 * transaction. Returns -1 with *err, and then nothing to free. */
static int read_info_records(cf_store *store, const char *handle, cf_container_record *record,
                             json_t **events, json_t **props, cf_err **err)
{
  if (cf_store_read_begin(store, err) < 0) {
    return -1;
  }
  *events = NULL;
  *props = NULL;
  if (cf_store_container_get(store, handle, record, err) == 0) {
    *events = events_json(store, handle, err);
  }
  if (*events != NULL) {
    *props = cf_properties_json(store, handle, err);
  }
  cf_store_read_end(store);
  if (*props == NULL) {
    json_decref(*events);
    *events = NULL;
    cf_container_record_clear(record);
    return -1;
  }
  return 0;
}

/* The ContainerInfo of a usable container, or NULL with *err. */
static json_t *info_json(cf_server *server, const char *handle, cf_err **err)
{
  cf_store *store = cf_backend_store(server->backend);
  /* Before the read transaction, because recording an OOM event writes. */
  check_oom(server, handle);
  cf_container_record record = {0};
  json_t *events = NULL;
  json_t *props = NULL;
  if (read_info_records(store, handle, &record, &events, &props, err) < 0) {
    return NULL;
  }
  const char *state = strcmp(record.state, CF_CONTAINER_STOPPED) == 0 ? "stopped" : "active";
  json_t *info =
      json_pack("{s:s, s:o, s:s, s:s, s:s, s:s, s:o, s:o, s:O, s:o}", "State", state, "Events",
                events, "HostIP", property_or_empty(props, PROPERTY_HOST_IP), "ContainerIP",
                property_or_empty(props, PROPERTY_CONTAINER_IP), "ContainerIPv6",
                property_or_empty(props, PROPERTY_CONTAINER_IPV6), "ExternalIP",
                property_or_empty(props, PROPERTY_EXTERNAL_IP), "ContainerPath",
                cf_json_string(record.dir), "ProcessIDs", cf_proc_ids(server, handle), "Properties",
                props, "MappedPorts", mapped_ports_json(props));
  json_decref(props);
  cf_container_record_clear(&record);
  return info;
}

void cf_handle_info(cf_conn *conn, const char *handle)
{
  if (cf_ctr_lookup(conn, handle) == NULL) {
    return;
  }
  cf_err *err = NULL;
  json_t *info = info_json(conn->server, handle, &err);
  if (info == NULL) {
    cf_conn_fail(conn, err, NULL, NULL);
    return;
  }
  cf_conn_respond_json(conn, 200, info);
  json_decref(info);
  cf_conn_request_done(conn);
}

/* The zero ContainerInfo Go sends next to an error. */
static json_t *zero_info_json(void)
{
  return json_pack("{s:s, s:n, s:s, s:s, s:s, s:s, s:s, s:n, s:n, s:n}", "State", "", "Events",
                   "HostIP", "", "ContainerIP", "", "ContainerIPv6", "", "ExternalIP", "",
                   "ContainerPath", "", "ProcessIDs", "Properties", "MappedPorts");
}

/* One entry of BulkInfo. A failure is reported in Err with an empty Type,
 * because Guardian wraps every per-handle error as a plain error. */
static json_t *info_entry(cf_server *server, const char *handle)
{
  cf_err *err = NULL;
  json_t *info = NULL;
  if (!cf_ctr_usable(server, handle)) {
    cf_err_set(&err, CF_E_NOT_FOUND, "unknown handle: %s", handle);
  } else {
    info = info_json(server, handle, &err);
  }
  if (info != NULL) {
    return json_pack("{s:o, s:n}", "Info", info, "Err");
  }
  json_t *envelope = cf_json_error_envelope("", err->message, NULL, NULL);
  cf_err_free(err);
  return json_pack("{s:o, s:o}", "Info", zero_info_json(), "Err", envelope);
}

void cf_handle_bulk_info(cf_conn *conn)
{
  char **handles = NULL;
  size_t count = 0;
  cf_err *err = NULL;
  if (cf_bulk_handles(conn->req.query, &handles, &count, &err) < 0) {
    cf_conn_fail(conn, err, NULL, NULL);
    return;
  }
  json_t *body = json_object();
  for (size_t i = 0; i < count; i++) {
    cf_json_set_coerced(body, handles[i], info_entry(conn->server, handles[i]));
  }
  cf_strv_free(handles, count);
  cf_conn_respond_json(conn, 200, body);
  json_decref(body);
  cf_conn_request_done(conn);
}
