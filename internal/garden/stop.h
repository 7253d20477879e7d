/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Stop of a container (PUT /containers/:handle/stop): every process but the
 * init gets SIGTERM, then SIGKILL after CF_STOP_GRACE_MS, as Guardian's
 * cgroup stopper does. The init stays, so files can still be streamed in
 * and out, and the container is recorded as stopped.
 */
#ifndef CFWIN_GARDEN_STOP_H
#define CFWIN_GARDEN_STOP_H

#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"
#include "runtime/runtime.h"

/* Time the processes get after SIGTERM before SIGKILL, as Garden's Stop
 * documents it. */
#define CF_STOP_GRACE_MS 10000

enum cf_stop_signal {
  CF_STOP_COUNT,     /* send nothing, only count */
  CF_STOP_TERMINATE, /* SIGTERM */
  CF_STOP_KILL,      /* SIGKILL */
};

/* Sends the signal to every live process of the container other than its
 * init and sets *live to the number of those processes. Zombies do not
 * count, because their parent or the init reaps them. Implemented per
 * platform. */
int cf_stop_signal_processes(const cf_container_init *init, enum cf_stop_signal signal,
                             size_t *live, cf_err **err);

#endif
