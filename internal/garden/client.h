/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A blocking Garden API client, speaking the protocol as the Go client does:
 * a new connection per request, `Connection: close` on ordinary calls, and
 * the three-connection Run protocol (control, stdout, stderr). Used by the
 * integration tests and by `cfwin client`. Socket I/O goes through
 * garden/client_io.h, so this code is the same on every platform.
 */
#ifndef CFWIN_GARDEN_CLIENT_H
#define CFWIN_GARDEN_CLIENT_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"
#include "garden/client_io.h"

struct cf_tls_config;
struct cf_tls_client;

typedef struct cf_garden_client {
  char *socket_path; /* unix socket, or NULL for TCP */
  char *host;
  int port;
  /* How long one read may wait, in milliseconds: 0 means 120 s and a
   * negative value means no limit, as the Go client has none. */
  int timeout_ms;
  /* TLS settings from cf_tls_client_config_new(), borrowed; NULL speaks
   * plain HTTP, as the Go client does. */
  const struct cf_tls_config *tls;
  /* The name the server's certificate must carry; NULL means the host. */
  const char *tls_server_name;
} cf_garden_client;

/* One connection to the server: a socket and, with TLS, its session. */
typedef struct cf_garden_conn {
  cf_sock sock;
  int timeout_ms; /* the client's, for reads inside the TLS session */
  struct cf_tls_client *tls;
} cf_garden_conn;

/* address is "unix:PATH", an absolute socket path, or "HOST:PORT" where
 * HOST is an IP address literal, in brackets for IPv6 ("[::1]:7777"). */
int cf_garden_client_init(cf_garden_client *client, const char *address, cf_err **err);
void cf_garden_client_clear(cf_garden_client *client);

/* Opens a plain connection to the server (close-on-exec, without TLS) and
 * stores its file descriptor in *fd. For tests on Linux, where a socket is
 * a descriptor. */
int cf_garden_client_connect(const cf_garden_client *client, int *fd, cf_err **err);

typedef struct cf_garden_response {
  int status;
  cf_buf head; /* status line and headers, as received */
  cf_buf body; /* decoded body */
} cf_garden_response;

void cf_garden_response_init(cf_garden_response *response);
void cf_garden_response_clear(cf_garden_response *response);

/* Consumers and producers of streamed bytes: a sink takes each piece of a
 * response body or of process output, a source fills data with up to size
 * bytes of a request body and sets *n to 0 at its end. Both return 0, or -1
 * with *err to abort the transfer. */
typedef int (*cf_garden_sink)(void *ctx, const char *data, size_t len, cf_err **err);
typedef int (*cf_garden_source)(void *ctx, char *data, size_t size, size_t *n, cf_err **err);

/* Sends raw request bytes and reads the whole response until the server
 * closes the connection or a complete response (with Content-Length or
 * chunks) has arrived. */
int cf_garden_client_exchange(const cf_garden_client *client, const void *request, size_t len,
                              cf_garden_response *response, cf_err **err);

/* Sends method path with an optional JSON body (borrowed) and Connection:
 * close. On a 2xx status stores the decoded JSON body in *result (new
 * reference; may be NULL when result is NULL). On another status returns
 * the error envelope as an error: code CF_E_NOT_FOUND for
 * ContainerNotFoundError and ProcessNotFoundError, CF_E_EXEC_NOT_FOUND for
 * ExecutableNotFoundError, CF_E_SYSTEM otherwise; the message is the
 * envelope's Message. */
int cf_garden_client_call(const cf_garden_client *client, const char *method, const char *path,
                          const json_t *body, json_t **result, cf_err **err);

/* Percent-escapes text for one path segment or query value: every byte
 * outside [A-Za-z0-9-._~] becomes %XX. Returns a new string. */
char *cf_garden_escape(const char *text);

int cf_garden_client_ping(const cf_garden_client *client, cf_err **err);
/* spec is a ContainerSpec object (borrowed); *handle is new. */
int cf_garden_client_create(const cf_garden_client *client, const json_t *spec, char **handle,
                            cf_err **err);
int cf_garden_client_destroy(const cf_garden_client *client, const char *handle, cf_err **err);

/* StreamIn: sends the tar stream that source produces to destination in
 * the container, extracted as user ("" or NULL for root). The body is sent
 * with chunked transfer encoding, so its size need not be known. */
int cf_garden_client_stream_in(const cf_garden_client *client, const char *handle,
                               const char *destination, const char *user, cf_garden_source source,
                               void *source_ctx, cf_err **err);

/* StreamOut: passes the tar stream of path in the container, read as user,
 * to sink as it arrives. */
int cf_garden_client_stream_out(const cf_garden_client *client, const char *handle,
                                const char *path, const char *user, cf_garden_sink sink,
                                void *sink_ctx, cf_err **err);

/* --- Processes --- */

/* The signals a client can send in the process stream. */
enum cf_garden_signal {
  CF_GARDEN_SIGNAL_TERMINATE = 0, /* SIGTERM */
  CF_GARDEN_SIGNAL_KILL = 1,      /* SIGKILL */
};

/*
 * One Run or Attach: the control connection and the stdout and stderr
 * streams. The send functions may be called from another thread while one
 * thread is in cf_garden_process_wait(); a lock keeps their messages whole.
 */
typedef struct cf_garden_process {
  cf_garden_conn control;
  cf_garden_conn out;
  cf_garden_conn err;
  cf_buf pending;    /* control bytes not yet parsed into payloads */
  cf_buf out_early;  /* stdout bytes that arrived with the attach headers */
  cf_buf err_early;  /* the same for stderr */
  char *process_id;  /* from the first payload */
  char *stream_id;   /* from the first payload */
  bool stdin_closed; /* the close-stdin message was sent; guarded by send_lock */
  pthread_mutex_t send_lock;
} cf_garden_process;

void cf_garden_process_init(cf_garden_process *process);
/* Closes the connections (the process keeps running on the server) and
 * frees the fields. No send may run at the same time or later. */
void cf_garden_process_clear(cf_garden_process *process);

/* Starts a process (spec is a ProcessSpec object, borrowed) and opens its
 * stdout and stderr streams. A Run rejected by the server returns its
 * error as cf_garden_client_call() does. */
int cf_garden_process_run(const cf_garden_client *client, const char *handle, const json_t *spec,
                          cf_garden_process *process, cf_err **err);

/* Attaches to a running or recently exited process by id. */
int cf_garden_process_attach(const cf_garden_client *client, const char *handle,
                             const char *process_id, cf_garden_process *process, cf_err **err);

/* Sends len bytes to the process's stdin. The protocol carries stdin in a
 * JSON string, so invalid UTF-8 bytes arrive as U+FFFD, as with the Go
 * client. Split input at cf_garden_utf8_complete_len() so that a character
 * cut in two by a read is sent whole with the next piece. */
int cf_garden_process_send_stdin(cf_garden_process *process, const char *data, size_t len,
                                 cf_err **err);
/* Returns the length of the longest prefix of data that does not end inside
 * a UTF-8 sequence. The bytes after it may be completed by the next read. */
size_t cf_garden_utf8_complete_len(const char *data, size_t len);

/* Closes the process's stdin; a second close does nothing. The server reads
 * no more messages after it, as Garden's Go server does: later sends on
 * this process fail with CF_E_BUSY, and a signal then needs a new attach. */
int cf_garden_process_close_stdin(cf_garden_process *process, cf_err **err);
int cf_garden_process_signal(cf_garden_process *process, enum cf_garden_signal signal,
                             cf_err **err);
/* Sets the window size of the process's terminal. */
int cf_garden_process_resize(cf_garden_process *process, unsigned columns, unsigned rows,
                             cf_err **err);

/* Passes stdout and stderr to their sinks (NULL discards) until both
 * streams end and the control connection delivers the exit status. A
 * process error payload becomes an error with the server's message. */
int cf_garden_process_wait(const cf_garden_client *client, cf_garden_process *process,
                           cf_garden_sink out_sink, cf_garden_sink err_sink, void *sink_ctx,
                           int *exit_status, cf_err **err);

typedef struct cf_garden_process_result {
  char *process_id;
  char *stream_id;
  int exit_status;
  cf_buf out; /* everything the stdout stream delivered */
  cf_buf err; /* everything the stderr stream delivered */
} cf_garden_process_result;

void cf_garden_process_result_init(cf_garden_process_result *result);
void cf_garden_process_result_clear(cf_garden_process_result *result);

/* Runs a process (spec is a ProcessSpec object, borrowed), sends stdin_data
 * (when not NULL) followed by the close-stdin message, collects stdout and
 * stderr and waits for the exit status. A failed stdin write is ignored,
 * as in the Go client, because a process may exit before reading its stdin.
 * A Run rejected by the server returns its error as cf_garden_client_call()
 * does. */
int cf_garden_client_run(const cf_garden_client *client, const char *handle, const json_t *spec,
                         const char *stdin_data, size_t stdin_len, cf_garden_process_result *result,
                         cf_err **err);

#endif
