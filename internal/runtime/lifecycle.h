/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The runtime role's container lifecycle over the store: create from a
 * bundle, start or exec a process, compute the status from the host, and
 * delete with sidecars first, as winc does. The CLI front end
 * (internal/cli/runtime*.c) adds flags, output and exit codes.
 */
#ifndef CFWIN_RUNTIME_LIFECYCLE_H
#define CFWIN_RUNTIME_LIFECYCLE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "runtime/bundle.h"
#include "runtime/runtime.h"
#include "store/store.h"

/* Statuses `state` prints. */
#define CF_STATUS_CREATING "creating"
#define CF_STATUS_CREATED "created"
#define CF_STATUS_RUNNING "running"
#define CF_STATUS_STOPPED "stopped"

/* Creates container id from a loaded bundle: records it (CF_E_EXISTS:
 * "container with id already exists: ID"), starts its init with the
 * bundle's root, mounts, hostname and network namespace, and records the
 * init. A bundle that joins another container's network namespace records
 * that container as its owner. On failure nothing is left recorded or
 * running. */
int cf_lifecycle_create(cf_store *store, const char *id, const cf_bundle *bundle, cf_err **err);

/* Loads <bundle_dir>/config.json as JSON for the settings the runtime reads
 * from it directly (resources, id maps, hardening). *config is a jansson
 * json_t * the caller releases with json_decref(). */
int cf_lifecycle_load_config(const char *bundle_dir, void **config, cf_err **err);

/* The status of a record, from the host: stopped once the init or the
 * started process is gone (a reused pid has another start time). */
const char *cf_lifecycle_status(const cf_runtime_record *record);

/* The record's init. */
cf_container_init cf_lifecycle_init(const cf_runtime_record *record);

/* Fills *out from a bundle process; user_buf (at least 32 bytes) holds a
 * "uid:gid" user. Borrowed pointers into process. process.terminal sets
 * out->terminal with consoleSize as the window size (no stdio), and a
 * consoleSize over 65535 fails with CF_E_INVALID. */
int cf_lifecycle_process_spec(const cf_bundle_process *process, char *user_buf,
                              cf_process_spec *out, cf_err **err);

/* How cf_lifecycle_start() runs the bundle's process. */
typedef struct cf_start_options {
  const int *stdio; /* the process's stdin, stdout and stderr when it has no terminal */
  /* Detached, the init adopts the process, so it outlives the caller;
   * otherwise it is the caller's child and the caller waits for it. */
  bool detach;
  /* Whether the caller can take a terminal master, by relaying it or
   * sending it over a console socket. Without it a bundle with
   * process.terminal fails with "process.terminal needs an attached
   * process or --console-socket". */
  bool terminal_allowed;
  /* The window size of a terminal whose bundle has no consoleSize. */
  uint16_t default_rows;
  uint16_t default_columns;
} cf_start_options;

/* Starts the bundle's process in a created container and records it. Fails
 * with "cannot start a container in the STATUS state" unless created. A
 * process that cannot start is recorded as failed, and the error reads
 * "DETAIL: could not start command 'ARGV0' in container: ID". The caller
 * closes *process, and waits for it unless detached. */
int cf_lifecycle_start(cf_store *store, const char *id, const cf_start_options *options,
                       cf_process *process, cf_err **err);

/* Rewrites *err as winc words a process that could not be created:
 * "DETAIL: could not start command 'ARGV0' in container: ID". */
void cf_lifecycle_could_not_start(cf_err **err, const char *argv0, const char *id);

/* Deletes sidecars (containers id owns) first, then id: kills the init and
 * removes the record. An unknown id is "container not found: ID", or
 * success with force. Errors of several containers are joined with "\n". */
int cf_lifecycle_delete(cf_store *store, const char *id, bool force, cf_err **err);

#endif
