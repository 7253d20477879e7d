/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Incremental HTTP/1.1 request parsing on top of http-parser, with bounded
 * header and body sizes. A request is fed in pieces as they arrive. Feeding
 * stops at the end of one message, so bytes that follow it (a hijacked
 * stream's first payloads, a pipelined request) stay with the caller.
 */
#ifndef CFWIN_GARDEN_HTTP_H
#define CFWIN_GARDEN_HTTP_H

#include <http_parser.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"

#define CF_HTTP_MAX_HEADERS 64

typedef struct cf_http_header {
  char *name;
  char *value;
} cf_http_header;

/* Receives a piece of a streamed request body, already de-chunked. */
typedef void (*cf_http_body_fn)(void *ctx, const char *data, size_t len);

typedef struct cf_http_request {
  char method[16];
  char *path;  /* raw path without the query, not yet unescaped */
  char *query; /* raw query after '?', or "" */
  cf_http_header headers[CF_HTTP_MAX_HEADERS];
  size_t header_count;
  cf_buf body;
  bool keep_alive; /* false for Connection: close or HTTP/1.0 */
  bool complete;   /* the whole message, body included, has been parsed */
  /* Set by the caller: a feed returns once right after the headers, so the
   * caller can choose to stream the body. Kept by cf_http_request_reset(). */
  bool stop_after_headers;
  bool headers_complete;   /* the request line and headers have been parsed */
  cf_http_body_fn body_fn; /* set: the body streams to it instead of body */
  void *body_ctx;
  /* Set when the request line and headers exceed max_header_bytes or
   * CF_HTTP_MAX_HEADERS. The server then responds with 431 instead of 413. */
  bool headers_too_large;

  /* Parser state. */
  http_parser parser;
  cf_buf url;
  cf_buf field;
  cf_buf value;
  bool in_value;
  bool paused_at_headers;
  size_t header_bytes;
  size_t max_header_bytes;
  int callback_error; /* a cf_code set by a callback that stopped the parser */
} cf_http_request;

void cf_http_request_init(cf_http_request *req, size_t max_header_bytes, size_t max_body_bytes);
void cf_http_request_clear(cf_http_request *req);
/* Clears and re-initialises for the next request on a kept-alive connection. */
void cf_http_request_reset(cf_http_request *req);

/* Feeds len bytes. *consumed is how many belong to this request; once
 * req->complete is set, the remaining bytes are not consumed. With
 * req->stop_after_headers, a feed also returns early, once per request,
 * when the headers are complete. Fails with
 * CF_E_INVALID for malformed input or HTTP/0.9, CF_E_NOT_IMPLEMENTED for
 * HTTP/2 and later, and CF_E_LIMIT for headers or a body over the limits
 * (req->headers_too_large is set for headers). The request cannot be fed again
 * after an error. */
int cf_http_request_feed(cf_http_request *req, const char *data, size_t len, size_t *consumed,
                         cf_err **err);

/* Passes the body to fn as it is parsed, instead of keeping it in
 * req->body, so the body size limit no longer applies. Call it when a feed
 * with req->stop_after_headers has returned at the headers. */
void cf_http_request_stream_body(cf_http_request *req, cf_http_body_fn fn, void *ctx);

/* Signals the end of the connection's input: completes a message whose body
 * runs to EOF, otherwise fails when a request is only partly received. */
int cf_http_request_finish(cf_http_request *req, cf_err **err);

/* Returns the value of the first header named name (case-insensitive), or NULL. */
const char *cf_http_request_header(const cf_http_request *req, const char *name);

/* Query-unescapes text as Go's url.QueryUnescape does ('+' is a space, %XX
 * is a byte). Fails with CF_E_INVALID on a bad escape and on %00, because a
 * NUL byte would cut a handle or key short in C. */
int cf_http_unescape(const char *text, size_t len, char **out, cf_err **err);

/* Finds the first value of key in a raw query string, unescaped. Returns 1
 * and sets *value (caller frees) when present, 0 when absent, -1 on a bad
 * escape. */
int cf_http_query_get(const char *query, const char *key, char **value, cf_err **err);

/* One key=value pair of a query, unescaped. */
typedef struct cf_http_query_pair {
  char *key;
  char *value;
} cf_http_query_pair;

/* Splits a raw query into pairs in order (caller frees with
 * cf_http_query_pairs_free). */
int cf_http_query_parse(const char *query, cf_http_query_pair **pairs, size_t *count, cf_err **err);
void cf_http_query_pairs_free(cf_http_query_pair *pairs, size_t count);

/* The reason phrase of a status code ("OK", "Not Found", ...). */
const char *cf_http_status_text(int status);

/* Formats an RFC 7231 date ("Fri, 04 Dec 2026 15:42:10 GMT") into out (30 bytes). */
void cf_http_date(char out[30]);

#endif
