/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A blocking Garden API client, speaking the protocol as the Go client does:
 * a new connection per request, `Connection: close` on ordinary calls, and
 * the three-connection Run protocol (control, stdout, stderr). Used by the
 * integration tests and by `cfwin client`.
 */
#ifndef CFWIN_GARDEN_CLIENT_H
#define CFWIN_GARDEN_CLIENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"

typedef struct cf_garden_client {
  char *socket_path; /* unix socket, or NULL for TCP */
  char *host;
  int port;
  int timeout_ms; /* for connecting and for each read; 0 means 120 s */
} cf_garden_client;

/* address is "unix:PATH", an absolute socket path, or "HOST:PORT". */
int cf_garden_client_init(cf_garden_client *client, const char *address, cf_err **err);
void cf_garden_client_clear(cf_garden_client *client);

/* Opens a connection to the server (close-on-exec). */
int cf_garden_client_connect(const cf_garden_client *client, int *fd, cf_err **err);

typedef struct cf_garden_response {
  int status;
  cf_buf head; /* status line and headers, as received */
  cf_buf body; /* decoded body */
} cf_garden_response;

void cf_garden_response_init(cf_garden_response *response);
void cf_garden_response_clear(cf_garden_response *response);

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

int cf_garden_client_ping(const cf_garden_client *client, cf_err **err);
/* spec is a ContainerSpec object (borrowed); *handle is new. */
int cf_garden_client_create(const cf_garden_client *client, const json_t *spec, char **handle,
                            cf_err **err);
int cf_garden_client_destroy(const cf_garden_client *client, const char *handle, cf_err **err);

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
 * stderr and waits for the exit status. A Run rejected by the server
 * returns its error as cf_garden_client_call() does. */
int cf_garden_client_run(const cf_garden_client *client, const char *handle, const json_t *spec,
                         const char *stdin_data, size_t stdin_len, cf_garden_process_result *result,
                         cf_err **err);

#endif
