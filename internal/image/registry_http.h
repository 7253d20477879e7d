/* SPDX-License-Identifier: Apache-2.0 */
/* The HTTP transport of the registry client: one GET with authentication,
 * redirects, retries and resumption. Private to registry*.c. */
#ifndef CFWIN_IMAGE_REGISTRY_HTTP_H
#define CFWIN_IMAGE_REGISTRY_HTTP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "base/buf.h"
#include "image/registry.h"

struct cf_registry {
  char *registry;   /* host or host:port, as in the URI */
  char *repository; /* library/busybox */
  char *base_url;   /* https://host:port or, for insecure registries, maybe http:// */
  const char *username;
  const char *password;
  const char *const *insecure;
  size_t insecure_count;
  cf_image_platform platform;
  unsigned max_retries;
  unsigned retry_base_ms;
  unsigned max_layers;        /* 0: CF_IMAGE_DEFAULT_MAX_LAYERS */
  unsigned stall_timeout_s;   /* CURLOPT_LOW_SPEED_TIME at 1 byte/s */
  unsigned request_timeout_s; /* total time of a request into a body buffer */
  unsigned pull_timeout_s;    /* for messages; deadline_ms enforces it */
  int64_t deadline_ms;        /* monotonic ms when the pull fails */

  pthread_mutex_t auth_lock; /* guards the fields below */
  cf_auth_challenge challenge;
  bool has_challenge;
  char *extra_scope;   /* a scope an insufficient_scope response requested */
  char *authorization; /* "Bearer ..." or "Basic ..."; a secret, never logged */
  int64_t renew_at_ms; /* monotonic ms after which a token is renewed; 0: never */
  unsigned generation; /* counts changes of authorization */
};

/* One GET. Exactly one of body and sink receives a 200 or 206 response. */
typedef struct cf_http_request {
  const char *url;
  const char *what;   /* for messages: "manifest latest", "blob sha256:..." */
  const char *accept; /* Accept header, or NULL */
  bool registry_auth; /* send the registry's Authorization to its own origin */
  bool credentials;   /* send username and password with Basic (token requests) */
  bool ping;          /* a 401 response is a result, not a challenge to act on */
  cf_buf *body;       /* bounded by its max */
  bool size_known;    /* expected_size is the entity's size from a descriptor */
  int64_t expected_size;
  cf_blob_sink *sink; /* resumed with Range after an interruption */
} cf_http_request;

typedef struct cf_http_result {
  long status;
  char *content_type;     /* new string or NULL */
  char *www_authenticate; /* new string or NULL */
} cf_http_result;

void cf_http_result_clear(cf_http_result *result);

/* Performs req. Follows up to 5 redirects, sending the registry's
 * Authorization only to the registry's own scheme, host and port. Answers a
 * 401 by fetching a token (or using Basic credentials) and trying again,
 * at most twice. Retries network errors, 429 and 5xx up to max_retries
 * times with exponential backoff; a blob download that made progress is
 * resumed from the byte it reached and does not use up a retry.
 * A Content-Length over the expected size (a sink's descriptor size, else
 * expected_size, minus a resume offset) fails before the body with
 * CF_E_INTEGRITY, and one over body's max with CF_E_LIMIT, without retries.
 * CF_E_NOT_FOUND for 404; CF_E_INVALID for other 4xx; CF_E_SYSTEM when the
 * retries run out, or at once when a transfer stalls without progress,
 * a body request passes request_timeout_s or the pull passes deadline_ms. */
int cf_http_get(cf_registry *registry, const cf_http_request *req, cf_http_result *result,
                cf_err **err);

/* Milliseconds of CLOCK_MONOTONIC. */
int64_t cf_http_monotonic_ms(void);

/* True when url's scheme is http or https and its host[:port] is listed as
 * insecure (plain HTTP and unverified TLS allowed). */
bool cf_http_url_is_insecure(const cf_registry *registry, const char *url);

#endif
