/* SPDX-License-Identifier: Apache-2.0 */
#include "garden/reaper.h"

#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/mem.h"
#include "garden/internal.h"
#include "garden/json.h"

/* One container's countdown. */
typedef struct reaper_entry {
  uv_timer_t timer;
  cf_reaper *reaper;
  char *handle;
  int64_t grace_ns; /* 0: never reaped */
  int pauses;       /* requests of the container still running */
  struct reaper_entry *next;
} reaper_entry;

struct cf_reaper {
  cf_server *server;
  reaper_entry *entries;
  int closing_timers; /* timers whose close callback has not run yet */
  bool closed;
};

typedef struct reap_work {
  uv_work_t work;
  cf_server *server;
  char *handle;
  cf_err *err;
} reap_work;

cf_reaper *cf_reaper_new(cf_server *server)
{
  cf_reaper *reaper = cf_xcalloc(1, sizeof(*reaper));
  reaper->server = server;
  return reaper;
}

static reaper_entry *find_entry(cf_reaper *reaper, const char *handle)
{
  for (reaper_entry *e = reaper->entries; e != NULL; e = e->next) {
    if (strcmp(e->handle, handle) == 0) {
      return e;
    }
  }
  return NULL;
}

static void on_timer_closed(uv_handle_t *handle)
{
  reaper_entry *entry = handle->data;
  entry->reaper->closing_timers--;
  free(entry->handle);
  free(entry);
}

/* Unlinks the entry and frees it once libuv has closed its timer. */
static void remove_entry(cf_reaper *reaper, reaper_entry *entry)
{
  for (reaper_entry **p = &reaper->entries; *p != NULL; p = &(*p)->next) {
    if (*p == entry) {
      *p = entry->next;
      break;
    }
  }
  reaper->closing_timers++;
  uv_close((uv_handle_t *)&entry->timer, on_timer_closed);
}

/* uv timers count milliseconds; a positive grace time shorter than one
 * still waits one. */
static uint64_t grace_ms(int64_t grace_ns)
{
  uint64_t ms = (uint64_t)grace_ns / 1000000;
  return ms > 0 ? ms : 1;
}

/* --- Expiry --- */

static void run_reap(uv_work_t *work)
{
  reap_work *rw = work->data;
  cf_backend_destroy(rw->server->backend, rw->handle, &rw->err);
}

static void after_reap(uv_work_t *work, int status)
{
  (void)status;
  reap_work *rw = work->data;
  cf_ctr *ctr = cf_ctr_find(rw->server, rw->handle);
  if (rw->err != NULL && rw->err->code != CF_E_NOT_FOUND) {
    cf_log_error("reaper.destroy-failed", rw->err, "{s:s}", "handle", rw->handle);
    if (ctr != NULL) {
      ctr->state = CF_CTR_ACTIVE;
    }
  } else {
    cf_log(CF_LOG_INFO, "reaper.destroyed", "{s:s}", "handle", rw->handle);
    if (ctr != NULL) {
      cf_ctr_remove(rw->server, ctr);
    }
  }
  cf_err_free(rw->err);
  free(rw->handle);
  free(rw);
}

/* Destroys the container as DELETE does, unless a Destroy of it is already
 * running. */
static void on_expired(uv_timer_t *timer)
{
  reaper_entry *entry = timer->data;
  cf_reaper *reaper = entry->reaper;
  cf_server *server = reaper->server;
  cf_ctr *ctr = cf_ctr_find(server, entry->handle);
  cf_log(CF_LOG_INFO, "reaper.expired", "{s:s, s:I}", "handle", entry->handle, "grace-time",
         (json_int_t)entry->grace_ns);
  if (ctr != NULL && ctr->state == CF_CTR_ACTIVE) {
    ctr->state = CF_CTR_DESTROYING;
    reap_work *rw = cf_xcalloc(1, sizeof(*rw));
    rw->server = server;
    rw->handle = cf_xstrdup(entry->handle);
    rw->work.data = rw;
    uv_queue_work(server->loop, &rw->work, run_reap, after_reap);
  }
  remove_entry(reaper, entry);
}

/* --- Countdown control --- */

static void restart(reaper_entry *entry)
{
  uv_timer_stop(&entry->timer);
  if (entry->grace_ns > 0 && entry->pauses == 0 && !entry->reaper->closed) {
    uv_timer_start(&entry->timer, on_expired, grace_ms(entry->grace_ns), 0);
  }
}

static reaper_entry *get_entry(cf_reaper *reaper, const char *handle)
{
  reaper_entry *entry = find_entry(reaper, handle);
  if (entry != NULL || reaper->closed) {
    return entry;
  }
  entry = cf_xcalloc(1, sizeof(*entry));
  entry->reaper = reaper;
  entry->handle = cf_xstrdup(handle);
  uv_timer_init(reaper->server->loop, &entry->timer);
  entry->timer.data = entry;
  entry->next = reaper->entries;
  reaper->entries = entry;
  return entry;
}

void cf_reaper_arm(cf_reaper *reaper, const char *handle, int64_t grace_ns)
{
  reaper_entry *entry = get_entry(reaper, handle);
  if (entry == NULL) {
    return;
  }
  entry->grace_ns = grace_ns > 0 ? grace_ns : 0;
  restart(entry);
}

void cf_reaper_arm_stored(cf_reaper *reaper, const char *handle)
{
  cf_container_record record = {0};
  cf_err *err = NULL;
  if (cf_store_container_get(cf_backend_store(reaper->server->backend), handle, &record, &err) <
      0) {
    cf_log_error("reaper.read-grace-time-failed", err, "{s:s}", "handle", handle);
    cf_err_free(err);
    return;
  }
  cf_reaper_arm(reaper, handle, record.grace_time_ns);
  cf_container_record_clear(&record);
}

void cf_reaper_set_grace(cf_reaper *reaper, const char *handle, int64_t grace_ns)
{
  cf_reaper_arm(reaper, handle, grace_ns);
}

void cf_reaper_pause(cf_reaper *reaper, const char *handle)
{
  reaper_entry *entry = find_entry(reaper, handle);
  if (entry == NULL) {
    return;
  }
  entry->pauses++;
  uv_timer_stop(&entry->timer);
}

void cf_reaper_resume(cf_reaper *reaper, const char *handle)
{
  reaper_entry *entry = find_entry(reaper, handle);
  if (entry == NULL || entry->pauses == 0) {
    return;
  }
  entry->pauses--;
  restart(entry);
}

void cf_reaper_defuse(cf_reaper *reaper, const char *handle)
{
  reaper_entry *entry = find_entry(reaper, handle);
  if (entry != NULL) {
    remove_entry(reaper, entry);
  }
}

void cf_reaper_close(cf_reaper *reaper)
{
  reaper->closed = true;
  while (reaper->entries != NULL) {
    remove_entry(reaper, reaper->entries);
  }
}

void cf_reaper_free(cf_reaper *reaper)
{
  if (reaper != NULL && reaper->closing_timers == 0) {
    free(reaper);
  }
}

bool cf_reaper_route_pauses(enum cf_route route)
{
  switch (route) {
  case CF_ROUTE_INFO:
  case CF_ROUTE_STOP:
  case CF_ROUTE_STREAM_IN:
  case CF_ROUTE_STREAM_OUT:
  case CF_ROUTE_BANDWIDTH_LIMITS:
  case CF_ROUTE_CPU_LIMITS:
  case CF_ROUTE_DISK_LIMITS:
  case CF_ROUTE_MEMORY_LIMITS:
  case CF_ROUTE_NET_IN:
  case CF_ROUTE_NET_OUT:
  case CF_ROUTE_BULK_NET_OUT:
  case CF_ROUTE_RUN:
  case CF_ROUTE_ATTACH:
  case CF_ROUTE_PROPERTIES:
  case CF_ROUTE_PROPERTY:
  case CF_ROUTE_SET_PROPERTY:
  case CF_ROUTE_REMOVE_PROPERTY:
  case CF_ROUTE_METRICS:
    return true;
  default:
    return false;
  }
}

/* --- SetGraceTime --- */

static int parse_grace_time(const cf_http_request *req, int64_t *grace_ns, cf_err **err)
{
  json_t *body = NULL;
  if (cf_json_decode(req->body.data, req->body.len, &body, err) < 0) {
    return -1;
  }
  int rc = 0;
  if (!json_is_integer(body)) {
    rc = cf_err_set(err, CF_E_INVALID,
                    "invalid grace time: expected a whole number of nanoseconds such as "
                    "500000000");
  } else {
    *grace_ns = json_integer_value(body);
  }
  json_decref(body);
  return rc;
}

/* Writes the grace time to the container's record and its garden.grace-time
 * property in one transaction, so a restarted server arms the same one. */
static int store_grace_time(cf_store *store, const char *handle, int64_t grace_ns, cf_err **err)
{
  cf_autofree char *text = cf_xasprintf("%lld", (long long)grace_ns);
  if (cf_store_begin(store, err) < 0) {
    return -1;
  }
  if (cf_store_container_set_grace_time(store, handle, grace_ns, err) < 0 ||
      cf_store_property_set(store, handle, "garden.grace-time", text, err) < 0) {
    cf_store_rollback(store);
    return -1;
  }
  return cf_store_commit(store, err);
}

void cf_handle_set_grace_time(cf_conn *conn, const char *handle)
{
  int64_t grace_ns = 0;
  cf_err *err = NULL;
  if (parse_grace_time(&conn->req, &grace_ns, &err) < 0) {
    cf_conn_fail(conn, err, NULL, NULL);
    return;
  }
  if (cf_ctr_lookup(conn, handle) == NULL) {
    return;
  }
  cf_server *server = conn->server;
  if (store_grace_time(cf_backend_store(server->backend), handle, grace_ns, &err) < 0) {
    cf_err_wrap(&err, "set grace time of container %s", handle);
    cf_conn_fail(conn, err, NULL, NULL);
    return;
  }
  cf_log(CF_LOG_INFO, "grace-time.set", "{s:s, s:I}", "handle", handle, "grace-time",
         (json_int_t)grace_ns);
  cf_reaper_set_grace(server->reaper, handle, grace_ns);
  json_t *empty = json_object();
  cf_conn_respond_json(conn, 200, empty);
  json_decref(empty);
  cf_conn_request_done(conn);
}
