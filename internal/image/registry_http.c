/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Registry requests on libcurl. Redirects are followed here rather than by
 * libcurl, so the decision to send the registry's Authorization header is
 * made per hop: only the registry's own scheme, host and port get it.
 * Nothing sets CURLOPT_PROXY, so libcurl takes proxies from http_proxy,
 * https_proxy and no_proxy in the environment.
 */
#include "image/registry_http.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/log.h"
#include "base/mem.h"

#define MAX_REDIRECTS 5
#define MAX_AUTH_ROUNDS 2
#define ERROR_BODY_MAX 2048
#define HEADER_VALUE_MAX 8192
#define BACKOFF_MAX_MS 10000
#define RETRY_AFTER_MAX_S 60
#define USER_AGENT "cfwin/" CFWIN_VERSION
#define DEFAULT_TOKEN_LIFETIME_S 60

/* The data and headers one transfer received. */
struct response {
  const cf_http_request *req;
  int64_t range_start; /* the Range asked for, 0 for none */
  long status;
  char *content_type;
  char *www_authenticate;
  char *location;
  char *content_range;
  long retry_after;       /* seconds, -1 when absent */
  int64_t content_length; /* -1 when absent */
  int64_t skip;           /* bytes to drop: a 200 response to a Range request */
  bool checked;           /* the first body byte was seen and the response checked */
  bool connected;         /* the TCP connection was made */
  cf_buf error_body;
  cf_err *write_err; /* why the body was rejected */
};

static void response_init(struct response *resp, const cf_http_request *req, int64_t range_start)
{
  memset(resp, 0, sizeof(*resp));
  resp->req = req;
  resp->range_start = range_start;
  resp->retry_after = -1;
  resp->content_length = -1;
  cf_buf_init(&resp->error_body, ERROR_BODY_MAX);
}

static void response_reset_headers(struct response *resp)
{
  free(resp->content_type);
  free(resp->www_authenticate);
  free(resp->location);
  free(resp->content_range);
  resp->content_type = resp->www_authenticate = resp->location = resp->content_range = NULL;
  resp->retry_after = -1;
  resp->content_length = -1;
}

static void response_clear(struct response *resp)
{
  response_reset_headers(resp);
  cf_buf_free(&resp->error_body);
  cf_err_free(resp->write_err);
  resp->write_err = NULL;
}

void cf_http_result_clear(cf_http_result *result)
{
  free(result->content_type);
  free(result->www_authenticate);
  memset(result, 0, sizeof(*result));
}

/* Keeps the first value of a header; later duplicates are ignored. */
static void keep_header(char **slot, const char *value, size_t len)
{
  if (*slot == NULL) {
    *slot = cf_xstrndup(value, len);
  }
}

/* Checks the Content-Length of a 200 or 206 response against the size the
 * request expects, so a registry that announces more than the descriptor
 * states fails before any body byte, and is not retried. */
static int check_content_length(const struct response *resp, cf_err **err)
{
  const cf_http_request *req = resp->req;
  if ((resp->status != 200 && resp->status != 206) || resp->content_length < 0) {
    return 0;
  }
  int64_t offset = resp->status == 206 ? resp->range_start : 0;
  if (req->sink != NULL || req->size_known) {
    int64_t size = req->sink != NULL ? req->sink->desc->size : req->expected_size;
    if (resp->content_length <= size - offset) {
      return 0;
    }
    return cf_err_set(err, CF_E_INTEGRITY,
                      "%s: size mismatch: the response announces Content-Length %" PRId64
                      " bytes from byte %" PRId64 ", but the descriptor states %" PRId64
                      " bytes in all",
                      req->what, resp->content_length, offset, size);
  }
  if (req->body != NULL && (uint64_t)resp->content_length > req->body->max) {
    return cf_err_set(err, CF_E_LIMIT,
                      "%s: the response announces Content-Length %" PRId64
                      " bytes, more than the maximum of %zu bytes",
                      req->what, resp->content_length, req->body->max);
  }
  return 0;
}

static size_t on_header(char *data, size_t size, size_t count, void *arg)
{
  struct response *resp = arg;
  size_t len = size * count;
  if ((len == 2 && data[0] == '\r') || (len == 1 && data[0] == '\n')) {
    /* The blank line that ends the headers. */
    return check_content_length(resp, &resp->write_err) < 0 ? 0 : len;
  }
  if (len > 5 && strncmp(data, "HTTP/", 5) == 0) {
    /* A new status line: forget the headers of a 100 Continue. */
    response_reset_headers(resp);
    const char *space = memchr(data, ' ', len);
    resp->status = space != NULL ? strtol(space + 1, NULL, 10) : 0;
    return len;
  }
  const char *colon = memchr(data, ':', len);
  if (colon == NULL || len > HEADER_VALUE_MAX) {
    return len;
  }
  size_t name_len = (size_t)(colon - data);
  const char *value = colon + 1;
  size_t value_len = len - name_len - 1;
  while (value_len > 0 && (*value == ' ' || *value == '\t')) {
    value++;
    value_len--;
  }
  while (value_len > 0 && (value[value_len - 1] == '\r' || value[value_len - 1] == '\n' ||
                           value[value_len - 1] == ' ')) {
    value_len--;
  }
  if (name_len == 12 && strncasecmp(data, "Content-Type", 12) == 0) {
    keep_header(&resp->content_type, value, value_len);
  } else if (name_len == 16 && strncasecmp(data, "WWW-Authenticate", 16) == 0) {
    keep_header(&resp->www_authenticate, value, value_len);
  } else if (name_len == 8 && strncasecmp(data, "Location", 8) == 0) {
    keep_header(&resp->location, value, value_len);
  } else if (name_len == 13 && strncasecmp(data, "Content-Range", 13) == 0) {
    keep_header(&resp->content_range, value, value_len);
  } else if (name_len == 14 && strncasecmp(data, "Content-Length", 14) == 0) {
    cf_autofree char *text = cf_xstrndup(value, value_len);
    char *end = NULL;
    long long length = strtoll(text, &end, 10);
    resp->content_length = end != text && *end == '\0' && length >= 0 ? length : -1;
  } else if (name_len == 11 && strncasecmp(data, "Retry-After", 11) == 0) {
    cf_autofree char *text = cf_xstrndup(value, value_len);
    char *end = NULL;
    long seconds = strtol(text, &end, 10);
    resp->retry_after = end != text && *end == '\0' && seconds >= 0 ? seconds : -1;
  }
  return len;
}

/* Checks a 206 response's Content-Range, or arranges to drop the bytes a
 * server that ignored Range sends again. */
static int check_range(struct response *resp, cf_err **err)
{
  if (resp->range_start == 0) {
    return resp->status == 200 ? 0
                               : cf_err_set(err, CF_E_INVALID, "unexpected 206 without a Range");
  }
  if (resp->status == 200) {
    resp->skip = resp->range_start;
    return 0;
  }
  int64_t start = -1;
  if (resp->content_range == NULL ||
      sscanf(resp->content_range, "bytes %" SCNd64 "-", &start) != 1 ||
      start != resp->range_start) {
    return cf_err_set(err, CF_E_INVALID,
                      "resumed download at byte %" PRId64 " got Content-Range \"%s\"",
                      resp->range_start, resp->content_range != NULL ? resp->content_range : "");
  }
  return 0;
}

static int deliver(struct response *resp, const char *data, size_t len, cf_err **err)
{
  if (!resp->checked) {
    resp->checked = true;
    if (check_range(resp, err) < 0) {
      return -1;
    }
  }
  if (resp->skip > 0) {
    size_t drop = (uint64_t)resp->skip < len ? (size_t)resp->skip : len;
    resp->skip -= (int64_t)drop;
    data += drop;
    len -= drop;
  }
  if (len == 0) {
    return 0;
  }
  if (resp->req->sink != NULL) {
    return cf_blob_sink_write(resp->req->sink, data, len, err);
  }
  return cf_buf_append(resp->req->body, data, len, err);
}

static size_t on_body(char *data, size_t size, size_t count, void *arg)
{
  struct response *resp = arg;
  size_t len = size * count;
  if (resp->status != 200 && resp->status != 206) {
    size_t room = resp->error_body.max - resp->error_body.len;
    cf_buf_append(&resp->error_body, data, len < room ? len : room, NULL);
    return len;
  }
  if (deliver(resp, data, len, &resp->write_err) < 0) {
    return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
  }
  return len;
}

/* Copies "host[:port]" of url into out (size bytes); false for anything but
 * http:// and https:// URLs. */
static bool url_authority(const char *url, char *out, size_t size, bool *https)
{
  const char *rest = NULL;
  if (strncasecmp(url, "https://", 8) == 0) {
    rest = url + 8;
    *https = true;
  } else if (strncasecmp(url, "http://", 7) == 0) {
    rest = url + 7;
    *https = false;
  } else {
    return false;
  }
  size_t len = strcspn(rest, "/?#");
  if (memchr(rest, '@', len) != NULL || len == 0 || len >= size) {
    return false; /* user information in a URL is never used */
  }
  memcpy(out, rest, len);
  out[len] = '\0';
  return true;
}

bool cf_http_url_is_insecure(const cf_registry *registry, const char *url)
{
  char authority[512];
  bool https = false;
  if (!url_authority(url, authority, sizeof(authority), &https)) {
    return false;
  }
  for (size_t i = 0; i < registry->insecure_count; i++) {
    if (strcmp(registry->insecure[i], authority) == 0) {
      return true;
    }
  }
  return false;
}

/* True when url has the registry's scheme, host and port. */
static bool same_origin(const cf_registry *registry, const char *url)
{
  size_t len = strlen(registry->base_url);
  return strncasecmp(url, registry->base_url, len) == 0 &&
         (url[len] == '/' || url[len] == '\0' || url[len] == '?');
}

/* The URL without its query, which may carry a signature, for logs. */
static char *loggable_url(const char *url)
{
  return cf_xstrndup(url, strcspn(url, "?#"));
}

static struct curl_slist *build_headers(const cf_http_request *req, const char *authorization,
                                        int64_t range_start)
{
  struct curl_slist *headers = NULL;
  headers = curl_slist_append(headers, "Docker-Distribution-API-Version: registry/2.0");
  if (req->accept != NULL) {
    cf_autofree char *line = cf_xasprintf("Accept: %s", req->accept);
    headers = curl_slist_append(headers, line);
  }
  if (authorization != NULL) {
    cf_autofree char *line = cf_xasprintf("Authorization: %s", authorization);
    headers = curl_slist_append(headers, line);
  }
  if (range_start > 0) {
    cf_autofree char *line = cf_xasprintf("Range: bytes=%" PRId64 "-", range_start);
    headers = curl_slist_append(headers, line);
  }
  return headers;
}

static void set_options(CURL *curl, cf_registry *registry, const cf_http_request *req,
                        const char *url, int64_t timeout_ms, struct response *resp)
{
  curl_easy_setopt(curl, CURLOPT_URL, url);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_USERAGENT, USER_AGENT);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 30L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
  /* A transfer that moves less than one byte a second for this long is stalled. */
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, (long)registry->stall_timeout_s);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, resp);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, resp);
  if (cf_http_url_is_insecure(registry, url)) {
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (req->credentials && registry->username != NULL && registry->username[0] != '\0') {
    curl_easy_setopt(curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    curl_easy_setopt(curl, CURLOPT_USERNAME, registry->username);
    curl_easy_setopt(curl, CURLOPT_PASSWORD, registry->password != NULL ? registry->password : "");
  }
}

/* Performs one transfer of url within timeout_ms. Returns the libcurl
 * result; HTTP errors are in resp->status. */
static CURLcode perform(cf_registry *registry, const cf_http_request *req, const char *url,
                        const char *authorization, int64_t timeout_ms, struct response *resp)
{
  CURL *curl = curl_easy_init();
  if (curl == NULL) {
    return CURLE_OUT_OF_MEMORY;
  }
  set_options(curl, registry, req, url, timeout_ms, resp);
  struct curl_slist *headers = build_headers(req, authorization, resp->range_start);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  CURLcode rc = curl_easy_perform(curl);
  curl_off_t connect_us = 0;
  resp->connected =
      curl_easy_getinfo(curl, CURLINFO_CONNECT_TIME_T, &connect_us) == CURLE_OK && connect_us > 0;
  curl_easy_cleanup(curl);
  curl_slist_free_all(headers);
  return rc;
}

int64_t cf_http_monotonic_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* When to renew a token of lifetime seconds fetched at start_ms: a tenth of
 * the lifetime (at most 30 s) early, so it does not expire in flight. */
static int64_t renewal_time(int64_t start_ms, long lifetime)
{
  int64_t margin = (int64_t)lifetime * 100;
  return start_ms + (int64_t)lifetime * 1000 - (margin < 30000 ? margin : 30000);
}

static void sleep_ms(unsigned ms)
{
  struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
  }
}

/* --- tokens --- */

static char *escape(const char *text)
{
  char *escaped = curl_easy_escape(NULL, text, 0);
  char *copy = cf_xstrdup(escaped != NULL ? escaped : "");
  curl_free(escaped);
  return copy;
}

static char *token_url(const cf_registry *registry)
{
  const cf_auth_challenge *c = &registry->challenge;
  cf_buf url;
  cf_buf_init(&url, SIZE_MAX);
  cf_buf_append_str(&url, c->realm, NULL);
  char sep = strchr(c->realm, '?') != NULL ? '&' : '?';
  if (c->service != NULL) {
    cf_autofree char *service = escape(c->service);
    cf_buf_printf(&url, NULL, "%cservice=%s", sep, service);
    sep = '&';
  }
  cf_autofree char *scope_text = cf_xasprintf("repository:%s:pull", registry->repository);
  cf_autofree char *scope = escape(scope_text);
  cf_buf_printf(&url, NULL, "%cscope=%s", sep, scope);
  if (registry->extra_scope != NULL && strcmp(registry->extra_scope, scope_text) != 0) {
    cf_autofree char *extra = escape(registry->extra_scope);
    cf_buf_printf(&url, NULL, "&scope=%s", extra);
  }
  if (registry->username != NULL && registry->username[0] != '\0') {
    cf_autofree char *account = escape(registry->username);
    cf_buf_printf(&url, NULL, "&account=%s", account);
  }
  return cf_buf_take(&url);
}

/* A token goes into a header line, so only visible ASCII is accepted. */
static bool token_is_valid(const char *token)
{
  if (token[0] == '\0') {
    return false;
  }
  for (const char *p = token; *p != '\0'; p++) {
    if (*p < 0x21 || *p > 0x7e) {
      return false;
    }
  }
  return true;
}

static int parse_token(const cf_buf *body, char **token, long *lifetime, cf_err **err)
{
  json_error_t jerr;
  json_t *doc = json_loadb(body->data, body->len, 0, &jerr);
  if (!json_is_object(doc)) {
    json_decref(doc);
    return cf_err_set(err, CF_E_INVALID, "the token response is not a JSON object");
  }
  const char *value = json_string_value(json_object_get(doc, "token"));
  if (value == NULL || value[0] == '\0') {
    value = json_string_value(json_object_get(doc, "access_token"));
  }
  json_t *expires_in = json_object_get(doc, "expires_in");
  *lifetime = json_is_integer(expires_in) && json_integer_value(expires_in) > 0
                  ? (long)json_integer_value(expires_in)
                  : DEFAULT_TOKEN_LIFETIME_S;
  int rc = 0;
  if (value == NULL || !token_is_valid(value)) {
    rc = cf_err_set(err, CF_E_INVALID,
                    "the token response has no usable \"token\" or \"access_token\"");
  } else {
    *token = cf_xstrdup(value);
  }
  json_decref(doc);
  return rc;
}

static int check_realm(const cf_registry *registry, cf_err **err)
{
  const char *realm = registry->challenge.realm;
  if (realm == NULL) {
    return cf_err_set(err, CF_E_INVALID, "registry %s sent a Bearer challenge without a realm",
                      registry->registry);
  }
  if (strncasecmp(realm, "https://", 8) == 0) {
    return 0;
  }
  if (strncasecmp(realm, "http://", 7) == 0 && cf_http_url_is_insecure(registry, realm)) {
    return 0;
  }
  return cf_err_set(err, CF_E_INVALID,
                    "token realm \"%s\" of registry %s is not https; list its host:port as an "
                    "insecure registry to allow plain HTTP",
                    realm, registry->registry);
}

/* Fetches a Bearer token for the stored challenge. Called with auth_lock. */
static int fetch_token(cf_registry *registry, cf_err **err)
{
  if (check_realm(registry, err) < 0) {
    return -1;
  }
  cf_autofree char *url = token_url(registry);
  cf_buf body;
  cf_buf_init(&body, CF_REGISTRY_TOKEN_MAX);
  cf_http_request req = {.url = url, .what = "token", .credentials = true, .body = &body};
  cf_http_result result = {0};
  char *token = NULL;
  long lifetime = 0;
  int64_t start_ms = cf_http_monotonic_ms();
  int rc = cf_http_get(registry, &req, &result, err);
  if (rc == 0) {
    rc = parse_token(&body, &token, &lifetime, err);
  }
  cf_http_result_clear(&result);
  cf_buf_free(&body);
  if (rc < 0) {
    return cf_err_wrap(err, "get a token for %s from %s", registry->repository,
                       registry->challenge.realm);
  }
  free(registry->authorization);
  registry->authorization = cf_xasprintf("Bearer %s", token);
  free(token);
  registry->renew_at_ms = renewal_time(start_ms, lifetime);
  registry->generation++;
  cf_log(CF_LOG_DEBUG, "registry-token-received", "{s:s, s:I}", "registry", registry->registry,
         "expires_in", (json_int_t)lifetime);
  return 0;
}

static int use_basic(cf_registry *registry, cf_err **err)
{
  if (registry->username == NULL || registry->username[0] == '\0') {
    return cf_err_set(err, CF_E_INVALID,
                      "registry %s requires a username and password (Basic authentication)",
                      registry->registry);
  }
  cf_autofree char *pair =
      cf_xasprintf("%s:%s", registry->username, registry->password ? registry->password : "");
  size_t len = strlen(pair);
  cf_autofree char *encoded = cf_xmalloc(4 * ((len + 2) / 3) + 1);
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t o = 0;
  for (size_t i = 0; i < len; i += 3) {
    uint32_t v = (uint32_t)(unsigned char)pair[i] << 16;
    v |= i + 1 < len ? (uint32_t)(unsigned char)pair[i + 1] << 8 : 0;
    v |= i + 2 < len ? (uint32_t)(unsigned char)pair[i + 2] : 0;
    encoded[o++] = alphabet[(v >> 18) & 63];
    encoded[o++] = alphabet[(v >> 12) & 63];
    encoded[o++] = i + 1 < len ? alphabet[(v >> 6) & 63] : '=';
    encoded[o++] = i + 2 < len ? alphabet[v & 63] : '=';
  }
  encoded[o] = '\0';
  explicit_bzero(pair, len);
  free(registry->authorization);
  registry->authorization = cf_xasprintf("Basic %s", encoded);
  registry->renew_at_ms = 0;
  registry->generation++;
  return 0;
}

/* Sets authorization for the stored challenge. Called with auth_lock. */
static int authorize(cf_registry *registry, cf_err **err)
{
  const char *scheme = registry->challenge.scheme;
  if (strcmp(scheme, "bearer") == 0) {
    return fetch_token(registry, err);
  }
  if (strcmp(scheme, "basic") == 0) {
    return use_basic(registry, err);
  }
  return cf_err_set(err, CF_E_NOT_IMPLEMENTED,
                    "registry %s asks for authentication scheme \"%s\"; only Bearer and Basic "
                    "are supported",
                    registry->registry, scheme);
}

/* Stores the challenge of a 401 response, when it has one. Called with
 * auth_lock. */
static int store_challenge(cf_registry *registry, const char *header, cf_err **err)
{
  if (header == NULL) {
    return registry->has_challenge
               ? 0
               : cf_err_set(err, CF_E_INVALID,
                            "registry %s returned 401 without a WWW-Authenticate challenge",
                            registry->registry);
  }
  cf_auth_challenge challenge;
  if (cf_auth_challenge_parse(header, &challenge, err) < 0) {
    return -1;
  }
  if (challenge.error != NULL && strcmp(challenge.error, "insufficient_scope") == 0 &&
      challenge.scope != NULL) {
    free(registry->extra_scope);
    registry->extra_scope = cf_xstrdup(challenge.scope);
  }
  cf_auth_challenge_clear(&registry->challenge);
  registry->challenge = challenge;
  registry->has_challenge = true;
  return 0;
}

/* Answers a 401: a fresh token or Basic credentials, unless another thread
 * got new ones since this request started (generation changed). */
static int answer_challenge(cf_registry *registry, const char *header, unsigned used_generation,
                            cf_err **err)
{
  pthread_mutex_lock(&registry->auth_lock);
  int rc = 0;
  if (registry->generation == used_generation) {
    rc = store_challenge(registry, header, err);
    if (rc == 0) {
      rc = authorize(registry, err);
    }
  }
  pthread_mutex_unlock(&registry->auth_lock);
  return rc;
}

/* Copies the current Authorization value, renewing an expired token or
 * authorizing from the ping's challenge first. */
static int current_authorization(cf_registry *registry, char **out, unsigned *generation,
                                 cf_err **err)
{
  pthread_mutex_lock(&registry->auth_lock);
  int rc = 0;
  bool expired = registry->renew_at_ms != 0 && cf_http_monotonic_ms() >= registry->renew_at_ms;
  bool unanswered = registry->authorization == NULL && registry->has_challenge;
  if (expired || unanswered) {
    rc = authorize(registry, err);
  }
  *out = registry->authorization != NULL ? cf_xstrdup(registry->authorization) : NULL;
  *generation = registry->generation;
  pthread_mutex_unlock(&registry->auth_lock);
  return rc;
}

/* --- the request loop --- */

struct attempt_state {
  const char *url; /* the current hop */
  char *redirected;
  int redirects;
  int auth_rounds;
  unsigned retries;
  int64_t progress; /* sink bytes at the last retry */
  char *last_error;
};

static int64_t sink_written(const cf_http_request *req)
{
  return req->sink != NULL ? req->sink->written : 0;
}

static bool is_transient(long status)
{
  return status == 429 || status >= 500;
}

static char *describe_failure(CURLcode rc, const struct response *resp)
{
  if (rc != CURLE_OK) {
    return cf_xasprintf("%s", curl_easy_strerror(rc));
  }
  return cf_xasprintf("HTTP %ld", resp->status);
}

/* Backs off before retrying; false when the retries are used up. */
static bool schedule_retry(cf_registry *registry, const cf_http_request *req,
                           struct attempt_state *st, const struct response *resp, char *reason)
{
  free(st->last_error);
  st->last_error = reason;
  if (sink_written(req) > st->progress) {
    st->progress = sink_written(req); /* progress: resume without using up a retry */
  } else if (++st->retries > registry->max_retries) {
    return false;
  }
  unsigned shift = st->retries > 0 ? st->retries - 1 : 0;
  unsigned delay = registry->retry_base_ms << (shift < 10 ? shift : 10);
  delay = delay < BACKOFF_MAX_MS ? delay : BACKOFF_MAX_MS;
  if (resp->retry_after >= 0) {
    long seconds = resp->retry_after < RETRY_AFTER_MAX_S ? resp->retry_after : RETRY_AFTER_MAX_S;
    delay = (unsigned)seconds * 1000;
  }
  int64_t left_ms = registry->deadline_ms - cf_http_monotonic_ms();
  if (left_ms < (int64_t)delay) {
    delay = left_ms > 0 ? (unsigned)left_ms : 0; /* the next attempt reports the deadline */
  }
  cf_autofree char *logged = loggable_url(st->url);
  cf_log(CF_LOG_INFO, "registry-retry", "{s:s, s:s, s:i, s:i, s:I}", "url", logged, "reason",
         reason, "retry", (int)st->retries, "delay_ms", (int)delay, "resume_at",
         (json_int_t)sink_written(req));
  st->url = req->url;
  sleep_ms(delay);
  return true;
}

static int follow_redirect(const cf_http_request *req, struct attempt_state *st,
                           const struct response *resp, const char *base, cf_err **err)
{
  if (resp->location == NULL) {
    return cf_err_set(err, CF_E_INVALID, "%s: HTTP %ld redirect without a Location", req->what,
                      resp->status);
  }
  if (++st->redirects > MAX_REDIRECTS) {
    return cf_err_set(err, CF_E_INVALID, "%s: more than %d redirects", req->what, MAX_REDIRECTS);
  }
  CURLU *u = curl_url();
  char *resolved = NULL;
  if (curl_url_set(u, CURLUPART_URL, base, 0) != CURLUE_OK ||
      curl_url_set(u, CURLUPART_URL, resp->location, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_URL, &resolved, 0) != CURLUE_OK) {
    curl_url_cleanup(u);
    return cf_err_set(err, CF_E_INVALID, "%s: invalid redirect Location \"%.200s\"", req->what,
                      resp->location);
  }
  curl_url_cleanup(u);
  free(st->redirected);
  st->redirected = cf_xstrdup(resolved);
  curl_free(resolved);
  st->url = st->redirected;
  return 0;
}

static int status_error(const cf_registry *registry, const cf_http_request *req,
                        const struct response *resp, cf_err **err)
{
  const char *body = resp->error_body.len > 0 ? resp->error_body.data : "";
  cf_autofree char *url = loggable_url(resp->req->url);
  enum cf_code code = resp->status == 404 ? CF_E_NOT_FOUND : CF_E_INVALID;
  if (resp->status == 401 || resp->status == 403) {
    return cf_err_set(err, CF_E_INVALID,
                      "%s: HTTP %ld from %s: access denied; check the username, password and "
                      "repository name %s: %.300s",
                      req->what, resp->status, url, registry->repository, body);
  }
  return cf_err_set(err, code, "%s: HTTP %ld from %s: %.300s", req->what, resp->status, url, body);
}

/* Outcomes of one attempt. */
enum step { STEP_DONE, STEP_AGAIN, STEP_FAIL };

static enum step handle_status(cf_registry *registry, const cf_http_request *req,
                               struct attempt_state *st, struct response *resp, unsigned generation,
                               cf_err **err)
{
  long s = resp->status;
  if (s == 200 || s == 206 || (req->ping && s == 401)) {
    return STEP_DONE;
  }
  if (s >= 300 && s < 400 && s != 304) {
    return follow_redirect(req, st, resp, st->url, err) < 0 ? STEP_FAIL : STEP_AGAIN;
  }
  bool own = same_origin(registry, st->url);
  if (s == 401 && req->registry_auth && own && st->auth_rounds < MAX_AUTH_ROUNDS) {
    st->auth_rounds++;
    st->url = req->url;
    return answer_challenge(registry, resp->www_authenticate, generation, err) < 0 ? STEP_FAIL
                                                                                   : STEP_AGAIN;
  }
  if (is_transient(s)) {
    if (schedule_retry(registry, req, st, resp, describe_failure(CURLE_OK, resp))) {
      return STEP_AGAIN;
    }
    cf_err_set(err, CF_E_SYSTEM, "%s: giving up after %u retries: %s", req->what,
               registry->max_retries, st->last_error);
    return STEP_FAIL;
  }
  status_error(registry, req, resp, err);
  return STEP_FAIL;
}

/* The time one attempt may take: what is left of the pull, and for a
 * request into a body buffer at most request_timeout_s. *by_request tells
 * which limit applies. */
static int64_t attempt_timeout_ms(const cf_registry *registry, const cf_http_request *req,
                                  bool *by_request)
{
  int64_t left_ms = registry->deadline_ms - cf_http_monotonic_ms();
  int64_t request_ms = (int64_t)registry->request_timeout_s * 1000;
  *by_request = req->body != NULL && request_ms < left_ms;
  return *by_request ? request_ms : left_ms;
}

static void pull_timeout_error(const cf_registry *registry, const cf_http_request *req,
                               const char *url, cf_err **err)
{
  cf_autofree char *logged = loggable_url(url);
  cf_err_set(err, CF_E_SYSTEM,
             "%s: GET %s: timed out: the pull passed its time limit of %u s; raise "
             "pull_timeout_s in the groot config file or --pull-timeout of cfwin serve for a "
             "slow registry or a large image",
             req->what, logged, registry->pull_timeout_s);
}

/* Handles CURLE_OPERATION_TIMEDOUT after elapsed_ms of an attempt that was
 * allowed timeout_ms. A stalled blob download that made progress is
 * resumed; any other time-out fails at once, because a registry that
 * stalled once tends to stall again and retries would only multiply the
 * wait. */
static enum step handle_timeout(cf_registry *registry, const cf_http_request *req,
                                struct attempt_state *st, const struct response *resp,
                                int64_t elapsed_ms, int64_t timeout_ms, bool by_request,
                                cf_err **err)
{
  cf_autofree char *url = loggable_url(st->url);
  if (elapsed_ms >= timeout_ms && !by_request) {
    pull_timeout_error(registry, req, st->url, err);
    return STEP_FAIL;
  }
  if (elapsed_ms >= timeout_ms) {
    cf_err_set(err, CF_E_SYSTEM,
               "%s: GET %s: timed out: no complete response within the request time limit of "
               "%u s (request_timeout_s in the groot config file, --registry-request-timeout "
               "of cfwin serve)",
               req->what, url, registry->request_timeout_s);
    return STEP_FAIL;
  }
  char *reason = cf_xasprintf("stalled: less than 1 byte/s for %u s (stall_timeout_s in the groot "
                              "config file, --registry-stall-timeout of cfwin serve)",
                              registry->stall_timeout_s);
  if (sink_written(req) > st->progress) {
    schedule_retry(registry, req, st, resp, reason); /* progress: always resumes */
    return STEP_AGAIN;
  }
  cf_err_set(err, CF_E_SYSTEM, "%s: GET %s: %s; check the registry and the network", req->what, url,
             reason);
  free(reason);
  return STEP_FAIL;
}

static void take_result(struct response *resp, cf_http_result *result)
{
  result->status = resp->status;
  result->content_type = cf_steal(&resp->content_type);
  result->www_authenticate = cf_steal(&resp->www_authenticate);
}

/* Runs one attempt of the loop in cf_http_get(). */
static enum step attempt(cf_registry *registry, const cf_http_request *req,
                         struct attempt_state *st, cf_http_result *result, cf_err **err)
{
  cf_autofree char *authorization = NULL;
  unsigned generation = 0;
  bool own = same_origin(registry, st->url);
  if (req->registry_auth && own &&
      current_authorization(registry, &authorization, &generation, err) < 0) {
    return STEP_FAIL;
  }
  bool by_request = false;
  int64_t timeout_ms = attempt_timeout_ms(registry, req, &by_request);
  if (timeout_ms <= 0) {
    pull_timeout_error(registry, req, st->url, err);
    return STEP_FAIL;
  }
  struct response resp;
  response_init(&resp, req, sink_written(req));
  if (req->body != NULL) {
    cf_buf_reset(req->body);
  }
  int64_t started_ms = cf_http_monotonic_ms();
  CURLcode rc = perform(registry, req, st->url, own ? authorization : NULL, timeout_ms, &resp);
  int64_t elapsed_ms = cf_http_monotonic_ms() - started_ms;
  enum step next = STEP_FAIL;
  if (resp.write_err != NULL) {
    if (err != NULL) {
      cf_err_free(*err);
      *err = cf_steal(&resp.write_err);
    }
  } else if (rc == CURLE_OPERATION_TIMEDOUT && resp.connected) {
    next = handle_timeout(registry, req, st, &resp, elapsed_ms, timeout_ms, by_request, err);
  } else if (rc != CURLE_OK) {
    if (schedule_retry(registry, req, st, &resp, describe_failure(rc, &resp))) {
      next = STEP_AGAIN;
    } else {
      cf_err_set(err, CF_E_SYSTEM, "%s: giving up after %u retries: %s", req->what,
                 registry->max_retries, st->last_error);
    }
  } else {
    next = handle_status(registry, req, st, &resp, generation, err);
  }
  if (next == STEP_DONE) {
    take_result(&resp, result);
  }
  if (authorization != NULL) {
    explicit_bzero(authorization, strlen(authorization));
  }
  response_clear(&resp);
  return next;
}

int cf_http_get(cf_registry *registry, const cf_http_request *req, cf_http_result *result,
                cf_err **err)
{
  memset(result, 0, sizeof(*result));
  struct attempt_state st = {.url = req->url, .progress = sink_written(req)};
  enum step next = STEP_AGAIN;
  while (next == STEP_AGAIN) {
    next = attempt(registry, req, &st, result, err);
  }
  free(st.redirected);
  free(st.last_error);
  return next == STEP_DONE ? 0 : -1;
}
