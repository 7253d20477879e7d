/* SPDX-License-Identifier: Apache-2.0 */
/*
 * StreamIn and StreamOut in cfwin.exe: the Windows backend has no
 * container file system to stream to or from yet, so both routes fail
 * with a Garden error and no tar stream is ever active.
 */
#include "garden/stream_io.h"

#include "garden/internal.h"

/* Sends 404 for an unknown container, else the missing feature. The
 * connection closes after the response, because the request's tar body
 * is not read. */
static void reject(cf_conn *conn, const char *handle, const char *direction)
{
  conn->keep_alive = false;
  if (cf_ctr_lookup(conn, handle) == NULL) {
    return;
  }
  cf_err *err = NULL;
  cf_err_set(&err, CF_E_NOT_IMPLEMENTED,
             "stream %s container %s: the Windows Garden backend cannot stream files yet",
             direction, handle);
  cf_conn_fail(conn, err, NULL, NULL);
}

void cf_handle_stream_in(cf_conn *conn, const char *handle)
{
  reject(conn, handle, "into");
}

void cf_handle_stream_out(cf_conn *conn, const char *handle)
{
  reject(conn, handle, "out of");
}

void cf_files_input(cf_conn *conn)
{
}

void cf_files_written(cf_conn *conn)
{
}

void cf_files_conn_closed(cf_conn *conn)
{
}

void cf_files_cancel(cf_server *server, const char *handle)
{
}

bool cf_files_active(const cf_server *server, const char *handle)
{
  return false;
}
