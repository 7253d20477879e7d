/* SPDX-License-Identifier: Apache-2.0 */
/*
 * StreamIn and StreamOut: tar streams between a connection and a child
 * process in the container (garden/stream_child.h). Both run on the event
 * loop thread and never keep a whole stream in memory. The request body
 * goes to the child as it arrives, and reading from the client pauses
 * while the child is behind. The child's tar output goes to the client as
 * chunks, and reading from the child pauses while the client is behind.
 */
#ifndef CFWIN_GARDEN_STREAM_IO_H
#define CFWIN_GARDEN_STREAM_IO_H

#include <stdbool.h>

typedef struct cf_conn cf_conn;
typedef struct cf_server cf_server;

/* PUT /containers/:handle/files?destination=D&user=U: extracts the tar
 * body into D in the container as U. The handler starts before the body
 * arrives (the server dispatches this route at the end of the headers). */
void cf_handle_stream_in(cf_conn *conn, const char *handle);

/* GET /containers/:handle/files?source=S&user=U: responds with the tar
 * stream of S, read as U, in chunked encoding. */
void cf_handle_stream_out(cf_conn *conn, const char *handle);

/* server.c: input arrived on a connection in the CF_CONN_FILES state. */
void cf_files_input(cf_conn *conn);
/* server.c: every queued write of a CF_CONN_FILES connection completed up
 * to now. */
void cf_files_written(cf_conn *conn);
/* server.c: a connection serving a transfer is closing (the client went
 * away, or the server stops); kills the transfer's child. */
void cf_files_conn_closed(cf_conn *conn);

/* Kills the children of every transfer of the container, whose requests
 * then fail, before the container is destroyed. */
void cf_files_cancel(cf_server *server, const char *handle);

/* True while a transfer of the container runs. */
bool cf_files_active(const cf_server *server, const char *handle);

#endif
