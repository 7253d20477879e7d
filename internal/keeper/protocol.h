/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The wire protocol between the Garden server and a process keeper, and the
 * spawn request the server sends when it starts a keeper.
 *
 * A frame is a 1-byte type, a 4-byte big-endian payload length and the
 * payload. Payloads longer than CF_KEEPER_MAX_PAYLOAD are rejected, and
 * each control type has a fixed payload size, so a decoder never trusts a
 * length it has not checked.
 */
#ifndef CFWIN_KEEPER_PROTOCOL_H
#define CFWIN_KEEPER_PROTOCOL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/buf.h"
#include "base/err.h"
#include "runtime/runtime.h"

enum cf_keeper_frame_type {
  /* Handshake, on the socket pair the keeper is started with. */
  CF_KEEPER_SPAWN = 1,   /* server to keeper: the spawn request as JSON */
  CF_KEEPER_STARTED = 2, /* keeper to server: pids and start times as JSON */
  CF_KEEPER_FAILED = 3,  /* keeper to server: the spawn error as JSON */
  /* Keeper to server, on the keeper's socket. */
  CF_KEEPER_STDOUT = 4, /* output bytes */
  CF_KEEPER_STDERR = 5,
  CF_KEEPER_EXIT = 6, /* 4 bytes: exit code, or 128+signal */
  /* Server to keeper, on the keeper's socket. */
  CF_KEEPER_STDIN = 7, /* input bytes */
  CF_KEEPER_STDIN_CLOSE = 8,
  CF_KEEPER_SIGNAL = 9,   /* 4 bytes: signal number */
  CF_KEEPER_WINSIZE = 10, /* 2 bytes rows, 2 bytes columns */
  CF_KEEPER_RELEASE = 11, /* the exit status is no longer needed */
};

#define CF_KEEPER_HEADER_SIZE 5
/* Large enough for a spawn request with a 1 MiB process spec plus the
 * container's environment. */
#define CF_KEEPER_MAX_PAYLOAD (4u * 1024 * 1024)
/* Output bytes per frame. */
#define CF_KEEPER_OUTPUT_CHUNK (64 * 1024)
/* Output kept per stream while no server reads it; more is dropped and
 * counted, so the process never blocks on its output. */
#define CF_KEEPER_MAX_BUFFERED (16u * 1024 * 1024)

typedef struct cf_keeper_frame {
  uint8_t type;
  const char *payload; /* borrowed from the decoded bytes */
  size_t len;
} cf_keeper_frame;

/* Appends one frame to out. Fails with CF_E_LIMIT when the payload is
 * longer than CF_KEEPER_MAX_PAYLOAD or out would pass its maximum. */
int cf_keeper_frame_append(cf_buf *out, uint8_t type, const void *payload, size_t len,
                           cf_err **err);

/* Appends a frame whose payload is one 4-byte big-endian number. */
int cf_keeper_frame_append_u32(cf_buf *out, uint8_t type, uint32_t value, cf_err **err);

/* Decodes the frame at the start of data. Returns 1 and sets *frame and
 * *consumed for a whole frame, 0 when more bytes are needed, and -1 with
 * CF_E_INVALID for an unknown type, a payload longer than
 * CF_KEEPER_MAX_PAYLOAD or a control frame of the wrong size. */
int cf_keeper_frame_decode(const void *data, size_t len, cf_keeper_frame *frame, size_t *consumed,
                           cf_err **err);

/* The 4-byte number of an EXIT or SIGNAL frame. */
uint32_t cf_keeper_frame_u32(const cf_keeper_frame *frame);

/* Output of one stream kept for a server: at most CF_KEEPER_MAX_BUFFERED
 * bytes, the rest counted in dropped. */
typedef struct cf_keeper_backlog {
  cf_buf data;
  uint64_t dropped;
} cf_keeper_backlog;

void cf_keeper_backlog_init(cf_keeper_backlog *backlog);
void cf_keeper_backlog_free(cf_keeper_backlog *backlog);
/* Keeps what fits of data and counts the rest as dropped. */
void cf_keeper_backlog_add(cf_keeper_backlog *backlog, const void *data, size_t len);

/* What a keeper needs to start its process. */
typedef struct cf_keeper_request {
  char *socket_path; /* the unix socket the keeper listens on */
  char *handle;      /* container handle and process id, for messages */
  char *id;
  cf_container_init init; /* the init whose namespaces the process joins */
  char *path;
  char **args;
  size_t arg_count;
  char **env; /* the merged environment */
  size_t env_count;
  char *dir;
  char *user;
  bool privileged;
  bool tty;
  uint16_t rows;
  uint16_t columns;
  json_t *rlimits; /* an OCI process.rlimits array, or NULL */
} cf_keeper_request;

void cf_keeper_request_clear(cf_keeper_request *request);
/* Encodes the request as JSON text (free with free()). */
char *cf_keeper_request_encode(const cf_keeper_request *request);
/* Decodes JSON text into *out, which the caller clears. Fails with
 * CF_E_INVALID naming the missing or mistyped field. */
int cf_keeper_request_decode(const char *text, size_t len, cf_keeper_request *out, cf_err **err);

/* The reply to a successful spawn. */
typedef struct cf_keeper_started {
  pid_t pid; /* the process */
  uint64_t start_time;
  pid_t keeper_pid;
  uint64_t keeper_start_time;
} cf_keeper_started;

char *cf_keeper_started_encode(const cf_keeper_started *started);
int cf_keeper_started_decode(const char *text, size_t len, cf_keeper_started *out, cf_err **err);

/* Encodes a spawn error with its code, errno and message. */
char *cf_keeper_failure_encode(const cf_err *failure);
/* Turns a FAILED payload back into *err with the same code and message;
 * always returns -1. */
int cf_keeper_failure_decode(const char *text, size_t len, cf_err **err);

#endif
