/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared state of the Garden server: connections, containers, processes and
 * their output streams. Everything here lives on the event loop thread;
 * worker threads only run the blocking backend calls (backend.h) and touch
 * none of these objects.
 */
#ifndef CFWIN_GARDEN_INTERNAL_H
#define CFWIN_GARDEN_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <uv.h>

#include "base/buf.h"
#include "garden/backend.h"
#include "garden/host.h"
#include "garden/http.h"
#include "garden/reaper.h"
#include "garden/router.h"
#include "garden/server.h"
#include "runtime/runtime.h"

#define CF_MAX_HEADER_BYTES (64 * 1024)
#define CF_MAX_BODY_BYTES (1024 * 1024)
/* Output kept per stream and file descriptor, for a reader that has not
 * attached yet or reads slower than the process writes; more is dropped so
 * a process never blocks on its output and the server's memory stays
 * bounded. */
#define CF_MAX_STREAM_BUFFER (16 * 1024 * 1024)
/* How long a finished process's streams stay attachable, as the Go server
 * keeps them. */
#define CF_STREAM_TTL_MS (60 * 1000)

typedef struct cf_server cf_server;
typedef struct cf_conn cf_conn;
typedef struct cf_proc cf_proc;
typedef struct cf_stream cf_stream;

enum cf_conn_state {
  CF_CONN_READING, /* reading a request */
  CF_CONN_BUSY,    /* a handler runs; reading is paused */
  CF_CONN_CONTROL, /* hijacked Run/Attach control connection */
  CF_CONN_OUTPUT,  /* hijacked stdout or stderr stream */
  CF_CONN_FILES,   /* StreamIn or StreamOut: a tar stream passes through */
  CF_CONN_CLOSING,
};

struct cf_conn {
  union {
    uv_handle_t handle;
    uv_stream_t stream;
    uv_tcp_t tcp;
    uv_pipe_t pipe;
  } io;
  cf_server *server;
  enum cf_conn_state state;
  cf_http_request req;
  cf_buf input; /* received bytes not yet parsed */
  int pending_writes;
  size_t queued_bytes; /* written but not yet sent to the peer */
  bool close_when_written;
  bool keep_alive;   /* the current request allows another one after it */
  bool ignore_input; /* control connection: the client closed stdin */
  cf_stream *stream; /* CONTROL or OUTPUT: the stream served */
  int output_fd;     /* OUTPUT: 1 for stdout, 2 for stderr */
  /* FILES, or BUSY while it starts: the StreamIn or StreamOut served */
  struct cf_file_stream *files;
  cf_conn *next; /* server's list of open connections */
  /* The container whose grace time the current request pauses, or NULL. */
  char *paused_handle;
  /* The connection's TLS session (TCP listener with TLS), or NULL. */
  struct cf_tls_session *tls;
  /* Runs while a request's headers are awaited, with a read header
   * timeout; NULL without one. */
  uv_timer_t *header_timer;
};

struct cf_stream {
  char id[24];
  cf_proc *proc;
  cf_buf pending[3]; /* index 1 stdout, 2 stderr: output not yet sent */
  size_t dropped[3];
  cf_conn *control;
  cf_conn *output[3];
  bool finished;
  uv_timer_t ttl_timer;
  cf_stream *next; /* the process's list */
};

struct cf_proc {
  cf_server *server;
  char *id;
  char *handle;
  pid_t pid;        /* -1 until the keeper has started the process */
  uv_pipe_t keeper; /* the connection to the process's keeper */
  bool keeper_open; /* keeper is initialised and not closing */
  cf_buf keeper_in; /* bytes from the keeper not yet decoded */
  int open_handles; /* libuv handles not yet closed */
  bool stdin_open;
  bool finished; /* the exit status or error is known and sent to the streams */
  bool released; /* the keeper was told to end, or needs no telling */
  int exit_status;
  char *error; /* why the exit status is unknown: the keeper went away */
  /* The pea (garden/pea.h) the process runs in, destroyed once the
   * process has exited; NULL for a process of the container itself. */
  char *pea_id;
  cf_stream *streams;
  /* Recovered after a restart: the stream that keeps output until the
   * first Attach takes it over, or NULL. */
  cf_stream *backlog;
  cf_proc *next; /* server's list */
};

enum cf_ctr_state {
  CF_CTR_CREATING,
  CF_CTR_ACTIVE,
  CF_CTR_DESTROYING,
};

typedef struct cf_ctr {
  char *handle;
  enum cf_ctr_state state;
  struct cf_ctr *next;
} cf_ctr;

struct cf_server {
  uv_loop_t *loop;
  cf_server_config config;
  cf_depot_lock *depot_lock;   /* held while the server runs */
  cf_depot_lock *network_lock; /* held while the server has a container network */
  cf_backend *backend;
  uv_tcp_t tcp_listener;
  uv_pipe_t unix_listener;
  bool tcp_listening;
  bool unix_listening;
  uv_signal_t sigterm;
  uv_signal_t sigint;
  cf_conn *conns;
  cf_proc *procs;
  cf_ctr *ctrs;
  cf_reaper *reaper;
  cf_tls_config *tls; /* the TCP listener's TLS settings, or NULL for plain HTTP */
  unsigned long long next_stream_id;
  double cpu_entitlement_per_share; /* percent of a CPU per share, for Metrics */
  bool signals_started;
  /* Wakes the loop for cf_server_stopper_request() of config.stopper. */
  uv_async_t stop_request;
  bool stop_request_started;
  bool stopping;
};

/* server.c: connections and responses. */
void cf_conn_write(cf_conn *conn, const void *data, size_t len);
void cf_conn_close(cf_conn *conn);
/* Closes once every queued write has completed. */
void cf_conn_close_when_written(cf_conn *conn);
/* Sends a complete response with a Content-Length body. */
void cf_conn_respond(cf_conn *conn, int status, const char *content_type, const char *body,
                     size_t body_len, const char *extra_headers);
void cf_conn_respond_json(cf_conn *conn, int status, const json_t *value);
/* Sends the Garden error envelope for err; 404 for CF_E_NOT_FOUND with the
 * ContainerNotFoundError or ProcessNotFoundError type. */
void cf_conn_respond_error(cf_conn *conn, const cf_err *err, const char *handle,
                           const char *process_id);
/* Sends the error envelope for err, frees err and ends the request. */
void cf_conn_fail(cf_conn *conn, cf_err *err, const char *handle, const char *process_id);
/* Sends the headers of a hijacked response (status 200 or 201); with_json
 * adds Content-Type: application/json. */
void cf_conn_hijack(cf_conn *conn, int status, bool with_json);
/* Starts or resumes reading from the connection. */
void cf_conn_read(cf_conn *conn);
/* Ends the current request; reads the next one or closes the connection. */
void cf_conn_request_done(cf_conn *conn);

/* handlers.c: routes. */
void cf_handle_request(cf_conn *conn, cf_route_match *match);
cf_ctr *cf_ctr_find(cf_server *server, const char *handle);
/* Finds a container that routes may use; for an unknown handle, or one
 * still being created, sends the 404 ContainerNotFoundError, ends the
 * request and returns NULL. */
cf_ctr *cf_ctr_lookup(cf_conn *conn, const char *handle);
cf_ctr *cf_ctr_add(cf_server *server, const char *handle, enum cf_ctr_state state);
void cf_ctr_remove(cf_server *server, cf_ctr *ctr);
/* True when routes may use the container: known and not being created. */
bool cf_ctr_usable(cf_server *server, const char *handle);
/* The container's properties as a JSON object (new reference), or NULL
 * with *err. */
json_t *cf_properties_json(cf_store *store, const char *handle, cf_err **err);

/* info.c: Info and BulkInfo. */
void cf_handle_info(cf_conn *conn, const char *handle);
void cf_handle_bulk_info(cf_conn *conn);
/* Splits the handles query parameter of the bulk routes at commas, as the
 * Go server does: absent or empty gives no handles. */
int cf_bulk_handles(const char *query, char ***handles, size_t *count, cf_err **err);

/* metrics.c: Metrics and BulkMetrics. */
void cf_handle_metrics(cf_conn *conn, const char *handle);
void cf_handle_bulk_metrics(cf_conn *conn);
/* Guardian's default CPU entitlement per share, in percent of one CPU:
 * CPU cores times 100 divided by the host's memory in MiB. */
double cf_cpu_entitlement_default(void);

/* net_routes.c: NetIn, NetOut and BulkNetOut. */
void cf_handle_net(cf_conn *conn, enum cf_route route, const char *handle);
/* Reads a ContainerSpec's netin and netout_rules; the arrays are new (free
 * with free() and cf_net_rules_free()). Errors name the field and index. */
int cf_create_network_parse(const json_t *spec, cf_net_mapping **net_in, size_t *net_in_count,
                            cf_net_rule **net_out, size_t *net_out_count, cf_err **err);

/* stop.c: Stop, and Run on a stopped container. */
void cf_handle_stop(cf_conn *conn, const char *handle);
/* Rejects a Run on a stopped container with an error response and returns
 * true. Returns false, sending nothing, for any other container. */
bool cf_stop_reject_run(cf_conn *conn, const char *handle);

/* processes.c: Run, Attach, output streams. */
void cf_handle_run(cf_conn *conn, cf_route_match *match);
void cf_handle_attach(cf_conn *conn, cf_route_match *match);
void cf_handle_output(cf_conn *conn, cf_route_match *match, int fd);
/* Control connection input (stdin, signals) and end of input. */
void cf_control_input(cf_conn *conn);
void cf_control_closed(cf_conn *conn);
/* An output connection went away. */
void cf_output_closed(cf_conn *conn);
/* Stops watching every process (they keep running) and frees what is kept
 * of them, for the server's shutdown. */
void cf_procs_shutdown(cf_server *server);
/* Reconnects to the keepers of the kept containers' recorded processes,
 * so Attach by process id works after a restart. */
void cf_procs_recover(cf_server *server, char *const *handles, size_t count);
/* Process ids of a container's known processes that have not finished,
 * as a new JSON array. */
json_t *cf_proc_ids(cf_server *server, const char *handle);

/* --- proc_streams.c: the process streams both platforms share --- */

/* The process id of container handle, or NULL. */
cf_proc *cf_proc_find(cf_server *server, const char *handle, const char *id);
/* The stream stream_id of proc, or NULL. */
cf_stream *cf_stream_find(cf_proc *proc, const char *stream_id);
/* Writes the first payload of a control connection: process and stream id. */
void cf_stream_send_first_payload(cf_conn *conn, const cf_proc *proc, const cf_stream *stream);
/* Writes the one terminal payload: the exit status, or the error that took
 * its place. */
void cf_stream_send_terminal_payload(cf_conn *conn, const cf_proc *proc);
/* Adds a new stream to proc's list and returns it. */
cf_stream *cf_stream_new(cf_proc *proc);
/* Sends the exit status, closes the stream's connections once written and
 * keeps the stream attachable until its time to live runs out. */
void cf_stream_finish(cf_stream *stream);
/* Writes output of fd (1 or 2) to the stream's connection, or keeps it
 * (bounded) until one attaches. */
void cf_stream_output(cf_stream *stream, int fd, const char *data, size_t len);
/* Ends the stream at once, as a stopping server does; it is freed when its
 * timer has closed. */
void cf_stream_close(cf_stream *stream);
/* Frees proc once nothing refers to it: each platform's processes file. */
void cf_proc_maybe_free(cf_proc *proc);

#endif
