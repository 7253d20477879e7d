/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Stop route and the rule that a stopped container runs no new
 * process. The signalling and waiting run on a worker thread, so the loop
 * keeps reaping the processes as they exit and their Run and Attach
 * streams end with the exit status.
 */
#include "garden/stop.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "base/mem.h"
#include "garden/internal.h"
#include "garden/json.h"

#define POLL_MS 100
/* Guardian sends SIGTERM again on every retry of its stopper. */
#define TERM_REPEAT_MS 1000
/* How long processes may take to go after SIGKILL; only a process stuck in
 * the kernel (uninterruptible sleep) takes longer. */
#define KILL_WAIT_MS 10000

typedef struct stop_work {
  uv_work_t work;
  cf_conn *conn;
  char *handle;
  bool kill;
  cf_err *err;
} stop_work;

static int64_t now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
  struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
  nanosleep(&ts, NULL);
}

/* Sends signal every repeat_ms (once with repeat_ms 0) until no process
 * but the init is left or timeout_ms have passed. Sets *all_gone. */
static int signal_until_gone(const cf_container_init *init, enum cf_stop_signal signal,
                             int repeat_ms, int timeout_ms, bool *all_gone, cf_err **err)
{
  int64_t start = now_ms();
  int64_t last_signal = start;
  size_t live = 0;
  if (cf_stop_signal_processes(init, signal, &live, err) < 0) {
    return -1;
  }
  while (live > 0 && now_ms() - start < timeout_ms) {
    sleep_ms(POLL_MS);
    enum cf_stop_signal next = CF_STOP_COUNT;
    if (repeat_ms > 0 && now_ms() - last_signal >= repeat_ms) {
      next = signal;
      last_signal = now_ms();
    }
    if (cf_stop_signal_processes(init, next, &live, err) < 0) {
      return -1;
    }
  }
  *all_gone = live == 0;
  return 0;
}

/* Stops every process of the container except its init and records the
 * container as stopped. Blocks for up to CF_STOP_GRACE_MS plus
 * KILL_WAIT_MS.
 * NOTE: peas run in pid namespaces of their own, so Stop does not reach
 * them; Guardian's stopper kills them through the container's cgroup. */
static int stop_container(cf_store *store, const char *handle, bool kill, cf_err **err)
{
  cf_container_record record = {0};
  if (cf_store_container_get(store, handle, &record, err) < 0) {
    return -1;
  }
  cf_container_init init = {.pid = (pid_t)record.init_pid, .start_time = record.init_start_time};
  cf_container_record_clear(&record);
  bool all_gone = false;
  if (!kill && signal_until_gone(&init, CF_STOP_TERMINATE, TERM_REPEAT_MS, CF_STOP_GRACE_MS,
                                 &all_gone, err) < 0) {
    return -1;
  }
  if (!all_gone) {
    if (signal_until_gone(&init, CF_STOP_KILL, 0, KILL_WAIT_MS, &all_gone, err) < 0) {
      return -1;
    }
    if (!all_gone) {
      return cf_err_set(err, CF_E_BUSY,
                        "processes of container %s still run %d s after SIGKILL; they may be "
                        "stuck in the kernel, try Stop again or Destroy",
                        handle, KILL_WAIT_MS / 1000);
    }
  }
  return cf_store_container_set_state(store, handle, CF_CONTAINER_STOPPED, err);
}

static void run_stop(uv_work_t *work)
{
  stop_work *sw = work->data;
  cf_store *store = cf_backend_store(sw->conn->server->backend);
  if (stop_container(store, sw->handle, sw->kill, &sw->err) < 0) {
    cf_err_wrap(&sw->err, "stop: container %s", sw->handle);
  }
}

static void after_stop(uv_work_t *work, int status)
{
  (void)status;
  stop_work *sw = work->data;
  cf_conn *conn = sw->conn;
  if (sw->err != NULL) {
    cf_conn_fail(conn, sw->err, NULL, NULL);
  } else {
    cf_log(CF_LOG_INFO, "stop.finished", "{s:s, s:b}", "handle", sw->handle, "kill", sw->kill);
    json_t *empty = json_object();
    cf_conn_respond_json(conn, 200, empty);
    json_decref(empty);
    cf_conn_request_done(conn);
  }
  free(sw->handle);
  free(sw);
}

/* Reads {"kill": bool}; like the Go server, before the handle lookup. */
static int parse_stop(const cf_http_request *req, bool *kill, cf_err **err)
{
  json_t *body = NULL;
  if (cf_json_decode(req->body.data, req->body.len, &body, err) < 0) {
    return -1;
  }
  json_t *value = json_is_object(body) ? cf_json_get(body, "kill") : NULL;
  int rc = 0;
  if (!json_is_object(body)) {
    rc = cf_err_set(err, CF_E_INVALID,
                    "invalid stop request: expected an object such as "
                    "{\"kill\":false}");
  } else if (value != NULL && !json_is_null(value) && !json_is_boolean(value)) {
    rc = cf_err_set(err, CF_E_INVALID, "invalid value for \"kill\": expected true or false");
  }
  *kill = json_is_true(value);
  json_decref(body);
  return rc;
}

void cf_handle_stop(cf_conn *conn, const char *handle)
{
  bool kill = false;
  cf_err *err = NULL;
  if (parse_stop(&conn->req, &kill, &err) < 0) {
    cf_conn_fail(conn, err, NULL, NULL);
    return;
  }
  if (cf_ctr_lookup(conn, handle) == NULL) {
    return;
  }
  cf_log(CF_LOG_INFO, "stop.started", "{s:s, s:b}", "handle", handle, "kill", kill);
  stop_work *sw = cf_xcalloc(1, sizeof(*sw));
  sw->conn = conn;
  sw->handle = cf_xstrdup(handle);
  sw->kill = kill;
  sw->work.data = sw;
  uv_queue_work(conn->server->loop, &sw->work, run_stop, after_stop);
}

bool cf_stop_reject_run(cf_conn *conn, const char *handle)
{
  if (!cf_ctr_usable(conn->server, handle)) {
    return false; /* Run reports the unknown handle itself */
  }
  cf_container_record record = {0};
  cf_store *store = cf_backend_store(conn->server->backend);
  if (cf_store_container_get(store, handle, &record, NULL) < 0) {
    return false;
  }
  bool stopped = strcmp(record.state, CF_CONTAINER_STOPPED) == 0;
  cf_container_record_clear(&record);
  if (!stopped) {
    return false;
  }
  /* Garden's contract: a stopped container spawns no new process. Guardian
   * itself has no check, so the text is runc's for exec in a stopped
   * container. */
  cf_err *err = NULL;
  cf_err_set(&err, CF_E_INVALID,
             "cannot exec in a stopped container: %s was stopped; create a new container to "
             "run processes",
             handle);
  cf_conn_fail(conn, err, NULL, NULL);
  return true;
}
