/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The grace-time reaper: destroys a container that no request has used for
 * its grace time, as Garden's bomberman does. Every request that names the
 * container pauses its countdown while it runs and restarts it in full when
 * it ends. A Run or Attach control connection holds the pause for its whole
 * life. A grace time of 0 means the container is never reaped. Everything
 * runs on the loop thread.
 */
#ifndef CFWIN_GARDEN_REAPER_H
#define CFWIN_GARDEN_REAPER_H

#include <stdbool.h>
#include <stdint.h>

#include "garden/router.h"

typedef struct cf_server cf_server;
typedef struct cf_conn cf_conn;
typedef struct cf_reaper cf_reaper;

cf_reaper *cf_reaper_new(cf_server *server);
/* Stops every countdown and closes its timers. Call cf_reaper_free() once
 * the loop has run out, so the timers' close callbacks have run. */
void cf_reaper_close(cf_reaper *reaper);
void cf_reaper_free(cf_reaper *reaper);

/* Starts the container's countdown for grace_ns, replacing one it had. */
void cf_reaper_arm(cf_reaper *reaper, const char *handle, int64_t grace_ns);
/* Starts the countdown with the stored grace time of handle, as a
 * restarted server does for the containers it kept. */
void cf_reaper_arm_stored(cf_reaper *reaper, const char *handle);
/* Changes the grace time and restarts the countdown, unless a request has
 * paused it. Then it restarts when the last pause ends. */
void cf_reaper_set_grace(cf_reaper *reaper, const char *handle, int64_t grace_ns);
void cf_reaper_pause(cf_reaper *reaper, const char *handle);
void cf_reaper_resume(cf_reaper *reaper, const char *handle);
/* Forgets the container, as Destroy does. */
void cf_reaper_defuse(cf_reaper *reaper, const char *handle);

/* True for the routes that pause the countdown of the container they name:
 * Info, Stop, the file, limit and network routes, Run, Attach, the
 * property routes and Metrics. */
bool cf_reaper_route_pauses(enum cf_route route);

/* PUT /containers/:handle/grace_time with a bare JSON integer of
 * nanoseconds: records the grace time and restarts the countdown. */
void cf_handle_set_grace_time(cf_conn *conn, const char *handle);

#endif
