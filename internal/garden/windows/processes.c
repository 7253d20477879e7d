/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Run, Attach and the output streams in cfwin.exe. The Windows backend
 * creates no containers yet, so every container route returns 404 before
 * it gets here for a handle the server never created. A Run on a known
 * container fails with a Garden error, and no process is ever tracked.
 */
#include <jansson.h>

#include "garden/internal.h"

json_t *cf_proc_ids(cf_server *server, const char *handle)
{
  return json_array();
}

void cf_handle_run(cf_conn *conn, cf_route_match *match)
{
  if (cf_ctr_lookup(conn, match->handle) == NULL) {
    return;
  }
  cf_err *err = NULL;
  cf_err_set(&err, CF_E_NOT_IMPLEMENTED,
             "run a process in container %s: the Windows Garden backend cannot run processes "
             "yet",
             match->handle);
  cf_conn_fail(conn, err, NULL, NULL);
}

void cf_handle_attach(cf_conn *conn, cf_route_match *match)
{
  if (cf_ctr_lookup(conn, match->handle) == NULL) {
    return;
  }
  cf_err *err = NULL;
  cf_err_set(&err, CF_E_NOT_FOUND, "unknown process: %s", match->pid);
  cf_conn_fail(conn, err, NULL, match->pid);
}

/* An unknown stream is an empty one, as on Linux: the response ends at
 * once. */
void cf_handle_output(cf_conn *conn, cf_route_match *match, int fd)
{
  cf_conn_hijack(conn, 200, false);
  conn->state = CF_CONN_OUTPUT;
  conn->output_fd = fd;
  cf_conn_close_when_written(conn);
}

/* No connection becomes a control connection, and output connections
 * carry no stream, so there is nothing to forward or to detach. */
void cf_control_input(cf_conn *conn)
{
}

void cf_control_closed(cf_conn *conn)
{
}

void cf_output_closed(cf_conn *conn)
{
}

void cf_procs_recover(cf_server *server, char *const *handles, size_t count)
{
}

void cf_procs_shutdown(cf_server *server)
{
}
