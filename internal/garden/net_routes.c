/* SPDX-License-Identifier: Apache-2.0 */
/*
 * NetIn, NetOut and BulkNetOut. The body is decoded and checked on the loop
 * thread; the store and nftables work runs on a worker thread.
 */
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/mem.h"
#include "garden/internal.h"
#include "garden/json.h"
#include "network/net_rules.h"

int cf_create_network_parse(const json_t *spec, cf_net_mapping **net_in, size_t *net_in_count,
                            cf_net_rule **net_out, size_t *net_out_count, cf_err **err)
{
  if (cf_net_mappings_parse(cf_json_get(spec, "netin"), "netin", net_in, net_in_count, err) < 0) {
    return -1;
  }
  if (cf_net_rules_parse(cf_json_get(spec, "netout_rules"), "netout_rules", net_out, net_out_count,
                         err) < 0) {
    free(*net_in);
    *net_in = NULL;
    *net_in_count = 0;
    return -1;
  }
  return 0;
}

typedef struct net_work {
  uv_work_t work;
  cf_conn *conn;
  char *handle;
  enum cf_route route;
  cf_net_mapping mapping; /* NetIn */
  cf_net_rule *rules;     /* NetOut and BulkNetOut */
  size_t rule_count;
  cf_err *err;
} net_work;

static void net_work_free(net_work *nw)
{
  free(nw->handle);
  cf_net_rules_free(nw->rules, nw->rule_count);
  cf_err_free(nw->err);
  free(nw);
}

static void run_net(uv_work_t *work)
{
  net_work *nw = work->data;
  cf_backend *backend = nw->conn->server->backend;
  if (nw->route == CF_ROUTE_NET_IN) {
    cf_backend_net_in(backend, nw->handle, &nw->mapping, &nw->err);
  } else {
    cf_backend_net_out(backend, nw->handle, nw->rules, nw->rule_count, &nw->err);
  }
}

static void after_net(uv_work_t *work, int status)
{
  (void)status;
  net_work *nw = work->data;
  cf_conn *conn = nw->conn;
  const char *name = cf_route_name(nw->route);
  if (nw->err != NULL) {
    cf_log_error("net.failed", nw->err, "{s:s, s:s}", "handle", nw->handle, "route", name);
    cf_conn_respond_error(conn, nw->err, NULL, NULL);
  } else if (nw->route == CF_ROUTE_NET_IN) {
    cf_log(CF_LOG_INFO, "net-in.finished", "{s:s, s:i, s:i}", "handle", nw->handle, "host-port",
           (int)nw->mapping.host_port, "container-port", (int)nw->mapping.container_port);
    json_t *body = json_pack("{s:i, s:i}", "host_port", (int)nw->mapping.host_port,
                             "container_port", (int)nw->mapping.container_port);
    cf_conn_respond_json(conn, 200, body);
    json_decref(body);
  } else {
    cf_log(CF_LOG_INFO, "net-out.finished", "{s:s, s:i}", "handle", nw->handle, "rules",
           (int)nw->rule_count);
    json_t *body = json_object();
    cf_conn_respond_json(conn, 200, body);
    json_decref(body);
  }
  net_work_free(nw);
  cf_conn_request_done(conn);
}

/* Reads the route's body into nw: {"handle","host_port","container_port"}
 * for NetIn, one NetOutRule for NetOut, an array of them for BulkNetOut. */
static int parse_net_body(const json_t *body, net_work *nw, cf_err **err)
{
  switch (nw->route) {
  case CF_ROUTE_NET_IN:
    return cf_net_mapping_parse(body, "NetIn", &nw->mapping, err);
  case CF_ROUTE_NET_OUT:
    nw->rules = cf_xcalloc(1, sizeof(*nw->rules));
    if (cf_net_rule_parse(body, "NetOut rule", nw->rules, err) < 0) {
      return -1;
    }
    nw->rule_count = 1;
    return 0;
  default:
    if (!json_is_array(body)) {
      return cf_err_set(err, CF_E_INVALID, "BulkNetOut: expected a JSON array of rules");
    }
    return cf_net_rules_parse(body, "BulkNetOut rules", &nw->rules, &nw->rule_count, err);
  }
}

void cf_handle_net(cf_conn *conn, enum cf_route route, const char *handle)
{
  cf_err *err = NULL;
  json_t *body = NULL;
  if (cf_json_decode(conn->req.body.data, conn->req.body.len, &body, &err) < 0) {
    cf_conn_fail(conn, err, NULL, NULL);
    return;
  }
  net_work *nw = cf_xcalloc(1, sizeof(*nw));
  nw->route = route;
  int rc = parse_net_body(body, nw, &err);
  json_decref(body);
  if (rc < 0) {
    net_work_free(nw);
    cf_conn_fail(conn, err, NULL, NULL);
    return;
  }
  if (cf_ctr_lookup(conn, handle) == NULL) {
    net_work_free(nw);
    return;
  }
  nw->conn = conn;
  nw->handle = cf_xstrdup(handle);
  nw->work.data = nw;
  uv_queue_work(conn->server->loop, &nw->work, run_net, after_net);
}
