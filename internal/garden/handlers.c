/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Garden routes other than the process streams: ping, capacity, containers
 * and properties. Blocking backend work (create, destroy) runs on libuv's
 * worker threads; everything else runs on the loop thread.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/fs.h"
#include "base/log.h"
#include "base/mem.h"
#include "garden/bind_mounts.h"
#include "garden/host.h"
#include "garden/internal.h"
#include "garden/json.h"
#include "garden/limits.h"
#include "garden/stream_io.h"
#include "network/net_rules.h"

/* --- Container table --- */

cf_ctr *cf_ctr_find(cf_server *server, const char *handle)
{
  for (cf_ctr *ctr = server->ctrs; ctr != NULL; ctr = ctr->next) {
    if (strcmp(ctr->handle, handle) == 0) {
      return ctr;
    }
  }
  return NULL;
}

cf_ctr *cf_ctr_add(cf_server *server, const char *handle, enum cf_ctr_state state)
{
  cf_ctr *ctr = cf_xcalloc(1, sizeof(*ctr));
  ctr->handle = cf_xstrdup(handle);
  ctr->state = state;
  ctr->next = server->ctrs;
  server->ctrs = ctr;
  return ctr;
}

void cf_ctr_remove(cf_server *server, cf_ctr *ctr)
{
  for (cf_ctr **p = &server->ctrs; *p != NULL; p = &(*p)->next) {
    if (*p == ctr) {
      *p = ctr->next;
      break;
    }
  }
  free(ctr->handle);
  free(ctr);
}

static size_t ctr_count(cf_server *server)
{
  size_t n = 0;
  for (cf_ctr *ctr = server->ctrs; ctr != NULL; ctr = ctr->next) {
    n++;
  }
  return n;
}

bool cf_ctr_usable(cf_server *server, const char *handle)
{
  cf_ctr *ctr = cf_ctr_find(server, handle);
  return ctr != NULL && ctr->state != CF_CTR_CREATING;
}

/* Looks a handle up as the Go server's handlers do before their work. */
cf_ctr *cf_ctr_lookup(cf_conn *conn, const char *handle)
{
  cf_ctr *ctr = cf_ctr_find(conn->server, handle);
  if (ctr == NULL || ctr->state == CF_CTR_CREATING) {
    cf_err *err = NULL;
    cf_err_set(&err, CF_E_NOT_FOUND, "unknown handle: %s", handle);
    cf_conn_fail(conn, err, handle, NULL);
    return NULL;
  }
  return ctr;
}

static void respond_err(cf_conn *conn, cf_err *err)
{
  cf_conn_fail(conn, err, NULL, NULL);
}

static void respond_empty(cf_conn *conn)
{
  json_t *empty = json_object();
  cf_conn_respond_json(conn, 200, empty);
  json_decref(empty);
  cf_conn_request_done(conn);
}

static int decode_body(cf_conn *conn, json_t **out)
{
  cf_err *err = NULL;
  if (cf_json_decode(conn->req.body.data, conn->req.body.len, out, &err) < 0) {
    respond_err(conn, err);
    return -1;
  }
  return 0;
}

/* --- Ping, capacity --- */

static void handle_ping(cf_conn *conn)
{
  respond_empty(conn);
}

/* Guardian's Capacity reports the smaller of --max-containers and what the
 * network can hold: here, the addresses of the subnet other than the
 * network, broadcast and gateway addresses. Without a network nothing else
 * limits the count, so with no --max-containers it is the largest uint64,
 * as Guardian's external network plugin reports. Garden's Capacity has no
 * field for the host-port pool. */
static uint64_t max_containers(const cf_server *server)
{
  uint64_t limit = server->config.max_containers;
  const cf_backend_network *network = server->config.network;
  uint64_t addresses = UINT64_MAX;
  if (network != NULL) {
    addresses = (1ULL << (32 - network->config.prefix_len)) - 3;
  }
  return limit > 0 && limit < addresses ? limit : addresses;
}

static void handle_capacity(cf_conn *conn)
{
  uint64_t memory = 0;
  uint64_t disk = 0;
  cf_err *err = NULL;
  if (cf_host_memory_bytes(&memory, &err) < 0) {
    respond_err(conn, err);
    return;
  }
  if (cf_host_disk_bytes(conn->server->config.depot, &disk, &err) < 0) {
    cf_err_wrap(&err, "read depot disk size");
    respond_err(conn, err);
    return;
  }
  /* Guardian's schedulable disk is the image plugin's capacity, or the
   * total disk when the plugin reports none. cfwin's layer store has no
   * size of its own, so both are the total. The body is formatted here
   * because jansson's integers are signed and max_containers may be the
   * largest uint64. */
  cf_autofree char *body = cf_xasprintf(
      "{\"memory_in_bytes\":%llu,\"disk_in_bytes\":%llu,\"schedulable_disk_in_bytes\":%llu,"
      "\"max_containers\":%llu}\n",
      (unsigned long long)memory, (unsigned long long)disk, (unsigned long long)disk,
      (unsigned long long)max_containers(conn->server));
  cf_conn_respond(conn, 200, "application/json", body, strlen(body), NULL);
  cf_conn_request_done(conn);
}

/* --- List --- */

/* Turns the query into property filters: the first value of each key, plus
 * garden.state=created unless the query names garden.state ("all" drops it),
 * as gdn filters. */
static int list_filters(const char *query, cf_property **out, size_t *count, cf_err **err)
{
  cf_http_query_pair *pairs = NULL;
  size_t pair_count = 0;
  if (cf_http_query_parse(query, &pairs, &pair_count, err) < 0) {
    return -1;
  }
  cf_property *filters = cf_xcalloc(pair_count + 1, sizeof(*filters));
  size_t n = 0;
  bool has_state = false;
  for (size_t i = 0; i < pair_count; i++) {
    /* Keys taken into filters are NULL in pairs, so earlier duplicates are
     * found among the filters, and garden.state=all through has_state. */
    bool seen = strcmp(pairs[i].key, "garden.state") == 0 && has_state;
    for (size_t j = 0; j < n; j++) {
      seen = seen || strcmp(filters[j].key, pairs[i].key) == 0;
    }
    if (seen) {
      continue;
    }
    if (strcmp(pairs[i].key, "garden.state") == 0) {
      has_state = true;
      if (strcmp(pairs[i].value, "all") == 0) {
        continue;
      }
    }
    filters[n].key = cf_steal(&pairs[i].key);
    filters[n].value = cf_steal(&pairs[i].value);
    n++;
  }
  if (!has_state) {
    filters[n].key = cf_xstrdup("garden.state");
    filters[n].value = cf_xstrdup("created");
    n++;
  }
  cf_http_query_pairs_free(pairs, pair_count);
  *out = filters;
  *count = n;
  return 0;
}

static void handle_list(cf_conn *conn)
{
  cf_err *err = NULL;
  cf_property *filters = NULL;
  size_t filter_count = 0;
  if (list_filters(conn->req.query, &filters, &filter_count, &err) < 0) {
    respond_err(conn, err);
    return;
  }
  char **handles = NULL;
  size_t count = 0;
  int rc = cf_store_container_list(cf_backend_store(conn->server->backend), filters, filter_count,
                                   &handles, &count, &err);
  cf_properties_free(filters, filter_count);
  if (rc < 0) {
    respond_err(conn, err);
    return;
  }
  json_t *list = json_array();
  for (size_t i = 0; i < count; i++) {
    cf_ctr *ctr = cf_ctr_find(conn->server, handles[i]);
    if (ctr != NULL && ctr->state != CF_CTR_CREATING) {
      json_array_append_new(list, cf_json_string(handles[i]));
    }
  }
  cf_strv_free(handles, count);
  json_t *body = json_pack("{s:o}", "Handles", list);
  cf_conn_respond_json(conn, 200, body);
  json_decref(body);
  cf_conn_request_done(conn);
}

/* --- Create --- */

typedef struct create_work {
  uv_work_t work;
  cf_conn *conn;
  char *handle;
  char *image_uri;
  char *username; /* registry credentials; never logged */
  char *password;
  char **env;
  size_t env_count;
  cf_property *properties;
  size_t property_count;
  int64_t grace_time_ns;
  int64_t disk_limit; /* bytes; 0 for none */
  int disk_scope;     /* 0 total, 1 exclusive */
  cf_limits_record limits;
  cf_net_mapping *net_in;
  size_t net_in_count;
  cf_net_rule *net_out;
  size_t net_out_count;
  cf_bind_mount *bind_mounts;
  size_t bind_mount_count;
  cf_err *err;
} create_work;

static void create_work_free(create_work *cw)
{
  free(cw->handle);
  free(cw->image_uri);
  free(cw->username);
  free(cw->password);
  cf_strv_free(cw->env, cw->env_count);
  cf_properties_free(cw->properties, cw->property_count);
  free(cw->net_in);
  cf_net_rules_free(cw->net_out, cw->net_out_count);
  cf_bind_mounts_free(cw->bind_mounts, cw->bind_mount_count);
  cf_err_free(cw->err);
  free(cw);
}

/* Rejects create fields that later work implements, instead of silently
 * ignoring them. */
static int check_types(const json_t *spec, cf_err **err)
{
  static const struct {
    const char *key;
    json_type type;
  } fields[] = {
      {"image", JSON_OBJECT},       {"limits", JSON_OBJECT},     {"properties", JSON_OBJECT},
      {"privileged", JSON_TRUE},    {"bind_mounts", JSON_ARRAY}, {"netin", JSON_ARRAY},
      {"netout_rules", JSON_ARRAY}, {"network", JSON_STRING},    {"env", JSON_ARRAY},
  };
  for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
    if (cf_json_check_type(spec, fields[i].key, fields[i].type, err) < 0) {
      return -1;
    }
  }
  return 0;
}

/* Reads limits.disk_limits. byte_hard is the limit, or byte_soft when
 * byte_hard is 0. Scope 0 counts the image against it, and 1 does not. */
static int parse_disk_limits(const json_t *spec, create_work *cw, cf_err **err)
{
  json_t *disk = cf_json_get(cf_json_get(spec, "limits"), "disk_limits");
  if (disk == NULL || json_is_null(disk)) {
    return 0;
  }
  if (!json_is_object(disk)) {
    return cf_err_set(err, CF_E_INVALID,
                      "invalid value for \"limits.disk_limits\": expected an object");
  }
  long long hard = 0;
  long long soft = 0;
  long long scope = 0;
  if (cf_json_get_int(disk, "byte_hard", &hard, err) < 0 ||
      cf_json_get_int(disk, "byte_soft", &soft, err) < 0 ||
      cf_json_get_int(disk, "scope", &scope, err) < 0) {
    return cf_err_wrap(err, "limits.disk_limits");
  }
  if (hard < 0 || soft < 0) {
    return cf_err_set(err, CF_E_INVALID, "invalid disk limit %lld: use 0 or more bytes",
                      hard < 0 ? hard : soft);
  }
  if (scope != 0 && scope != 1) {
    return cf_err_set(err, CF_E_INVALID,
                      "invalid disk limit scope %lld: use 0 (total) or 1 (exclusive)", scope);
  }
  cw->disk_limit = hard != 0 ? hard : soft;
  cw->disk_scope = (int)scope;
  return 0;
}

static int check_unsupported(const json_t *spec, cf_err **err)
{
  json_t *network = cf_json_get(spec, "network");
  if (json_is_string(network) && json_string_length(network) > 0) {
    return cf_err_set(err, CF_E_NOT_IMPLEMENTED,
                      "\"network\" (a subnet of its own) is not implemented yet in cfwin; "
                      "containers get an address from the server's --network-pool");
  }
  return 0;
}

static int parse_properties(const json_t *spec, create_work *cw, cf_err **err)
{
  json_t *props = cf_json_get(spec, "properties");
  if (props == NULL || json_is_null(props)) {
    return 0;
  }
  if (!json_is_object(props)) {
    return cf_err_set(err, CF_E_INVALID, "invalid value for \"properties\": expected an object");
  }
  cw->properties = cf_xcalloc(json_object_size(props) + 1, sizeof(*cw->properties));
  const char *key;
  json_t *value;
  json_object_foreach(props, key, value)
  {
    if (!json_is_string(value) || cf_json_has_nul(value)) {
      return cf_err_set(err, CF_E_INVALID,
                        "invalid value for property \"%s\": expected a string without NUL "
                        "characters",
                        key);
    }
    cf_property *p = &cw->properties[cw->property_count++];
    p->key = cf_xstrdup(key);
    p->value = cf_xstrdup(json_string_value(value));
  }
  return 0;
}

static int pick_image(cf_server *server, const json_t *spec, create_work *cw, cf_err **err)
{
  const char *uri = NULL;
  const char *rootfs = NULL;
  const char *username = NULL;
  const char *password = NULL;
  json_t *image = cf_json_get(spec, "image");
  if (cf_json_get_string(image, "uri", &uri, err) < 0 ||
      cf_json_get_string(image, "username", &username, err) < 0 ||
      cf_json_get_string(image, "password", &password, err) < 0 ||
      cf_json_get_string(spec, "rootfs", &rootfs, err) < 0) {
    return -1;
  }
  cw->username = username != NULL && username[0] != '\0' ? cf_xstrdup(username) : NULL;
  cw->password = password != NULL && password[0] != '\0' ? cf_xstrdup(password) : NULL;
  if (uri == NULL || uri[0] == '\0') {
    uri = rootfs;
  }
  if (uri == NULL || uri[0] == '\0') {
    uri = server->config.default_rootfs;
  }
  if (uri == NULL || uri[0] == '\0') {
    return cf_err_set(err, CF_E_INVALID,
                      "no image given: set image.uri or start the server with --default-rootfs");
  }
  cw->image_uri = cf_xstrdup(uri);
  return 0;
}

static int pick_handle(const json_t *spec, create_work *cw, cf_err **err)
{
  const char *handle = NULL;
  if (cf_json_get_string(spec, "handle", &handle, err) < 0) {
    return -1;
  }
  if (handle == NULL || handle[0] == '\0') {
    char uuid[37];
    if (cf_random_uuid(uuid, err) < 0) {
      return -1;
    }
    cw->handle = cf_xstrdup(uuid);
    return 0;
  }
  if (cf_handle_validate(handle, err) < 0) {
    return -1;
  }
  cw->handle = cf_xstrdup(handle);
  return 0;
}

static int parse_create(cf_server *server, const json_t *spec, create_work *cw, cf_err **err)
{
  long long grace = 0;
  if (!json_is_object(spec)) {
    return cf_err_set(err, CF_E_INVALID, "invalid container spec: expected a JSON object");
  }
  if (check_types(spec, err) < 0 || check_unsupported(spec, err) < 0 ||
      pick_handle(spec, cw, err) < 0 || pick_image(server, spec, cw, err) < 0 ||
      cf_json_get_strings(spec, "env", &cw->env, &cw->env_count, err) < 0 ||
      parse_properties(spec, cw, err) < 0 || parse_disk_limits(spec, cw, err) < 0 ||
      cf_bind_mounts_parse(spec, &cw->bind_mounts, &cw->bind_mount_count, err) < 0 ||
      cf_limits_parse(spec, server->config.cpu_quota_per_share_us, &cw->limits, err) < 0 ||
      cf_create_network_parse(spec, &cw->net_in, &cw->net_in_count, &cw->net_out,
                              &cw->net_out_count, err) < 0 ||
      cf_json_get_int(spec, "grace_time", &grace, err) < 0) {
    return -1;
  }
  cw->grace_time_ns = grace != 0 ? grace : server->config.default_grace_time_ns;
  return 0;
}

static void run_create(uv_work_t *work)
{
  create_work *cw = work->data;
  cf_create_request request = {
      .handle = cw->handle,
      .image_uri = cw->image_uri,
      .username = cw->username,
      .password = cw->password,
      .env = (const char *const *)cw->env,
      .env_count = cw->env_count,
      .properties = cw->properties,
      .property_count = cw->property_count,
      .grace_time_ns = cw->grace_time_ns,
      .disk_limit = cw->disk_limit,
      .disk_scope = cw->disk_scope,
      .limits = &cw->limits,
      .net_in = cw->net_in,
      .net_in_count = cw->net_in_count,
      .net_out = cw->net_out,
      .net_out_count = cw->net_out_count,
      .bind_mounts = cw->bind_mounts,
      .bind_mount_count = cw->bind_mount_count,
  };
  cf_backend_create(cw->conn->server->backend, &request, &cw->err);
}

static void after_create(uv_work_t *work, int status)
{
  create_work *cw = work->data;
  cf_conn *conn = cw->conn;
  cf_ctr *ctr = cf_ctr_find(conn->server, cw->handle);
  if (cw->err != NULL) {
    cf_ctr_remove(conn->server, ctr);
    cf_conn_respond_error(conn, cw->err, NULL, NULL);
  } else {
    cf_log(CF_LOG_INFO, "create.finished", "{s:s}", "handle", cw->handle);
    ctr->state = CF_CTR_ACTIVE;
    cf_reaper_arm(conn->server->reaper, cw->handle, cw->grace_time_ns);
    json_t *body = json_pack("{s:o}", "Handle", cf_json_string(cw->handle));
    cf_conn_respond_json(conn, 200, body);
    json_decref(body);
  }
  create_work_free(cw);
  cf_conn_request_done(conn);
}

static void handle_create(cf_conn *conn)
{
  cf_server *server = conn->server;
  json_t *spec = NULL;
  if (decode_body(conn, &spec) < 0) {
    return;
  }
  create_work *cw = cf_xcalloc(1, sizeof(*cw));
  cf_err *err = NULL;
  int rc = parse_create(server, spec, cw, &err);
  json_decref(spec);
  if (rc == 0 && cf_ctr_find(server, cw->handle) != NULL) {
    rc = cf_err_set(&err, CF_E_EXISTS, "Handle '%s' already in use", cw->handle);
  }
  /* Guardian's text, which Garden clients may match; the count includes
   * containers still being created or destroyed, as gdn counts its depot. */
  if (rc == 0 && server->config.max_containers > 0 &&
      ctr_count(server) >= server->config.max_containers) {
    rc = cf_err_set(&err, CF_E_LIMIT, "max containers reached");
  }
  if (rc == 0 && server->config.disable_privileged_containers && cw->limits.privileged) {
    rc = cf_err_set(&err, CF_E_INVALID, "privileged container creation is disabled");
  }
  if (rc < 0) {
    create_work_free(cw);
    respond_err(conn, err);
    return;
  }
  cf_log(CF_LOG_INFO, "create.started", "{s:s, s:s}", "handle", cw->handle, "image", cw->image_uri);
  cf_ctr_add(server, cw->handle, CF_CTR_CREATING);
  cw->conn = conn;
  cw->work.data = cw;
  uv_queue_work(server->loop, &cw->work, run_create, after_create);
}

/* --- Destroy --- */

typedef struct destroy_work {
  uv_work_t work;
  cf_conn *conn;
  char *handle;
  cf_err *err;
} destroy_work;

static void run_destroy(uv_work_t *work)
{
  destroy_work *dw = work->data;
  cf_backend_destroy(dw->conn->server->backend, dw->handle, &dw->err);
}

static void after_destroy(uv_work_t *work, int status)
{
  destroy_work *dw = work->data;
  cf_conn *conn = dw->conn;
  cf_ctr *ctr = cf_ctr_find(conn->server, dw->handle);
  if (dw->err != NULL && dw->err->code != CF_E_NOT_FOUND) {
    ctr->state = CF_CTR_ACTIVE;
    cf_conn_respond_error(conn, dw->err, NULL, NULL);
    cf_conn_request_done(conn);
  } else {
    cf_log(CF_LOG_INFO, "destroy.finished", "{s:s}", "handle", dw->handle);
    cf_ctr_remove(conn->server, ctr);
    respond_empty(conn);
  }
  cf_err_free(dw->err);
  free(dw->handle);
  free(dw);
}

static void handle_destroy(cf_conn *conn, const char *handle)
{
  cf_ctr *ctr = cf_ctr_lookup(conn, handle);
  if (ctr == NULL) {
    return;
  }
  if (ctr->state == CF_CTR_DESTROYING) {
    cf_err *err = NULL;
    cf_err_set(&err, CF_E_BUSY, "container already being destroyed");
    respond_err(conn, err);
    return;
  }
  cf_log(CF_LOG_INFO, "destroy.started", "{s:s}", "handle", handle);
  ctr->state = CF_CTR_DESTROYING;
  cf_files_cancel(conn->server, handle);
  cf_reaper_defuse(conn->server->reaper, handle);
  destroy_work *dw = cf_xcalloc(1, sizeof(*dw));
  dw->conn = conn;
  dw->handle = cf_xstrdup(handle);
  dw->work.data = dw;
  uv_queue_work(conn->server->loop, &dw->work, run_destroy, after_destroy);
}

/* --- Properties --- */

json_t *cf_properties_json(cf_store *store, const char *handle, cf_err **err)
{
  cf_property *props = NULL;
  size_t count = 0;
  if (cf_store_property_list(store, handle, &props, &count, err) < 0) {
    return NULL;
  }
  json_t *object = json_object();
  for (size_t i = 0; i < count; i++) {
    json_object_set_new(object, props[i].key, cf_json_string(props[i].value));
  }
  cf_properties_free(props, count);
  return object;
}

static void handle_properties(cf_conn *conn, const char *handle)
{
  if (cf_ctr_lookup(conn, handle) == NULL) {
    return;
  }
  cf_err *err = NULL;
  json_t *props = cf_properties_json(cf_backend_store(conn->server->backend), handle, &err);
  if (props == NULL) {
    respond_err(conn, err);
    return;
  }
  cf_conn_respond_json(conn, 200, props);
  json_decref(props);
  cf_conn_request_done(conn);
}

static void handle_property(cf_conn *conn, const char *handle, const char *key)
{
  if (cf_ctr_lookup(conn, handle) == NULL) {
    return;
  }
  cf_err *err = NULL;
  char *value = NULL;
  if (cf_store_property_get(cf_backend_store(conn->server->backend), handle, key, &value, &err) <
      0) {
    /* Without a handle or process id the envelope is a plain 500 error, as
     * Garden reports a missing key. */
    respond_err(conn, err);
    return;
  }
  json_t *body = json_pack("{s:o}", "value", cf_json_string(value));
  free(value);
  cf_conn_respond_json(conn, 200, body);
  json_decref(body);
  cf_conn_request_done(conn);
}

static void handle_set_property(cf_conn *conn, const char *handle, const char *key)
{
  json_t *body = NULL;
  if (decode_body(conn, &body) < 0) {
    return;
  }
  cf_err *err = NULL;
  const char *value = NULL;
  if (cf_json_get_string(body, "value", &value, &err) < 0) {
    json_decref(body);
    respond_err(conn, err);
    return;
  }
  if (cf_ctr_lookup(conn, handle) == NULL) {
    json_decref(body);
    return;
  }
  int rc = cf_store_property_set(cf_backend_store(conn->server->backend), handle, key,
                                 value != NULL ? value : "", &err);
  json_decref(body);
  if (rc < 0) {
    respond_err(conn, err);
    return;
  }
  respond_empty(conn);
}

static void handle_remove_property(cf_conn *conn, const char *handle, const char *key)
{
  if (cf_ctr_lookup(conn, handle) == NULL) {
    return;
  }
  cf_err *err = NULL;
  if (cf_store_property_remove(cf_backend_store(conn->server->backend), handle, key, &err) < 0) {
    respond_err(conn, err);
    return;
  }
  respond_empty(conn);
}

/* --- Limits --- */

/* GET /containers/:handle/limits/memory, cpu and bandwidth: the limits
 * recorded at create. */
static void handle_limits(cf_conn *conn, const char *handle, enum cf_route route)
{
  if (cf_ctr_lookup(conn, handle) == NULL) {
    return;
  }
  cf_limits_record limits;
  cf_err *err = NULL;
  if (cf_backend_limits(conn->server->backend, handle, &limits, &err) < 0) {
    respond_err(conn, err);
    return;
  }
  json_t *body = route == CF_ROUTE_MEMORY_LIMITS ? cf_limits_memory_json(&limits)
                 : route == CF_ROUTE_CPU_LIMITS  ? cf_limits_cpu_json(&limits)
                                                 : cf_limits_bandwidth_json(&limits);
  cf_conn_respond_json(conn, 200, body);
  json_decref(body);
  cf_conn_request_done(conn);
}

/* GET /containers/:handle/limits/disk: the limits given at create, with
 * Garden's omitempty fields, so no limit is {}. */
static void handle_disk_limits(cf_conn *conn, const char *handle)
{
  if (cf_ctr_lookup(conn, handle) == NULL) {
    return;
  }
  int64_t limit = 0;
  int scope = 0;
  cf_err *err = NULL;
  if (cf_backend_disk_limits(conn->server->backend, handle, &limit, &scope, &err) < 0) {
    respond_err(conn, err);
    return;
  }
  json_t *body = json_object();
  if (limit > 0) {
    json_object_set_new(body, "byte_hard", json_integer(limit));
  }
  if (scope != 0) {
    json_object_set_new(body, "scope", json_integer(scope));
  }
  cf_conn_respond_json(conn, 200, body);
  json_decref(body);
  cf_conn_request_done(conn);
}

static void handle_not_implemented(cf_conn *conn, enum cf_route route, const char *handle)
{
  if (handle != NULL && cf_ctr_lookup(conn, handle) == NULL) {
    return;
  }
  cf_err *err = NULL;
  cf_err_set(&err, CF_E_NOT_IMPLEMENTED, "%s is not implemented yet in cfwin",
             cf_route_name(route));
  respond_err(conn, err);
}

void cf_handle_request(cf_conn *conn, cf_route_match *match)
{
  switch (match->route) {
  case CF_ROUTE_PING:
    handle_ping(conn);
    break;
  case CF_ROUTE_CAPACITY:
    handle_capacity(conn);
    break;
  case CF_ROUTE_LIST:
    handle_list(conn);
    break;
  case CF_ROUTE_CREATE:
    handle_create(conn);
    break;
  case CF_ROUTE_INFO:
    cf_handle_info(conn, match->handle);
    break;
  case CF_ROUTE_BULK_INFO:
    cf_handle_bulk_info(conn);
    break;
  case CF_ROUTE_METRICS:
    cf_handle_metrics(conn, match->handle);
    break;
  case CF_ROUTE_BULK_METRICS:
    cf_handle_bulk_metrics(conn);
    break;
  case CF_ROUTE_MEMORY_LIMITS:
  case CF_ROUTE_CPU_LIMITS:
  case CF_ROUTE_BANDWIDTH_LIMITS:
    handle_limits(conn, match->handle, match->route);
    break;
  case CF_ROUTE_DESTROY:
    handle_destroy(conn, match->handle);
    break;
  case CF_ROUTE_PROPERTIES:
    handle_properties(conn, match->handle);
    break;
  case CF_ROUTE_PROPERTY:
    handle_property(conn, match->handle, match->key);
    break;
  case CF_ROUTE_SET_PROPERTY:
    handle_set_property(conn, match->handle, match->key);
    break;
  case CF_ROUTE_REMOVE_PROPERTY:
    handle_remove_property(conn, match->handle, match->key);
    break;
  case CF_ROUTE_DISK_LIMITS:
    handle_disk_limits(conn, match->handle);
    break;
  case CF_ROUTE_NET_IN:
  case CF_ROUTE_NET_OUT:
  case CF_ROUTE_BULK_NET_OUT:
    cf_handle_net(conn, match->route, match->handle);
    break;
  case CF_ROUTE_STOP:
    cf_handle_stop(conn, match->handle);
    break;
  case CF_ROUTE_SET_GRACE_TIME:
    cf_handle_set_grace_time(conn, match->handle);
    break;
  case CF_ROUTE_RUN:
    if (!cf_stop_reject_run(conn, match->handle)) {
      cf_handle_run(conn, match);
    }
    break;
  case CF_ROUTE_ATTACH:
    cf_handle_attach(conn, match);
    break;
  case CF_ROUTE_STDOUT:
    cf_handle_output(conn, match, 1);
    break;
  case CF_ROUTE_STDERR:
    cf_handle_output(conn, match, 2);
    break;
  case CF_ROUTE_STREAM_IN:
    cf_handle_stream_in(conn, match->handle);
    break;
  case CF_ROUTE_STREAM_OUT:
    cf_handle_stream_out(conn, match->handle);
    break;
  default:
    handle_not_implemented(conn, match->route, match->handle);
    break;
  }
}
