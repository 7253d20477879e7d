/* SPDX-License-Identifier: Apache-2.0 */
#include "garden/http.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/mem.h"

static cf_http_request *request_of(http_parser *parser)
{
  return parser->data;
}

/* Counts header bytes against the limit; stops the parser past it. */
static int count_header_bytes(cf_http_request *req, size_t len)
{
  req->header_bytes += len;
  if (req->header_bytes > req->max_header_bytes) {
    req->callback_error = CF_E_LIMIT;
    req->headers_too_large = true;
    return -1;
  }
  return 0;
}

static int append_or_stop(cf_http_request *req, cf_buf *buf, const char *at, size_t len)
{
  if (count_header_bytes(req, len) < 0) {
    return -1;
  }
  cf_err *err = NULL;
  if (cf_buf_append(buf, at, len, &err) < 0) {
    cf_err_free(err);
    req->callback_error = CF_E_LIMIT;
    req->headers_too_large = true;
    return -1;
  }
  return 0;
}

static int on_url(http_parser *parser, const char *at, size_t len)
{
  cf_http_request *req = request_of(parser);
  return append_or_stop(req, &req->url, at, len);
}

/* Stores the header collected so far, when there is one. */
static int flush_header(cf_http_request *req)
{
  if (!req->in_value) {
    return 0;
  }
  if (req->header_count == CF_HTTP_MAX_HEADERS) {
    req->callback_error = CF_E_LIMIT;
    req->headers_too_large = true;
    return -1;
  }
  cf_http_header *h = &req->headers[req->header_count++];
  h->name = cf_buf_take(&req->field);
  h->value = cf_buf_take(&req->value);
  req->in_value = false;
  return 0;
}

static int on_header_field(http_parser *parser, const char *at, size_t len)
{
  cf_http_request *req = request_of(parser);
  if (flush_header(req) < 0) {
    return -1;
  }
  return append_or_stop(req, &req->field, at, len);
}

static int on_header_value(http_parser *parser, const char *at, size_t len)
{
  cf_http_request *req = request_of(parser);
  req->in_value = true;
  return append_or_stop(req, &req->value, at, len);
}

static int split_url(cf_http_request *req)
{
  const char *url = req->url.data != NULL ? req->url.data : "";
  const char *q = strchr(url, '?');
  if (q == NULL) {
    req->path = cf_xstrdup(url);
    req->query = cf_xstrdup("");
  } else {
    req->path = cf_xstrndup(url, (size_t)(q - url));
    req->query = cf_xstrdup(q + 1);
  }
  return 0;
}

static int on_headers_complete(http_parser *parser)
{
  cf_http_request *req = request_of(parser);
  if (flush_header(req) < 0) {
    return -1;
  }
  if (parser->http_major != 1) {
    /* HTTP/0.9 (no version in the request line) and HTTP/2 and later. */
    req->callback_error = parser->http_major == 0 ? CF_E_INVALID : CF_E_NOT_IMPLEMENTED;
    return -1;
  }
  snprintf(req->method, sizeof(req->method), "%s",
           http_method_str((enum http_method)parser->method));
  req->keep_alive = http_should_keep_alive(parser) != 0;
  req->headers_complete = true;
  if (req->stop_after_headers) {
    /* The caller decides between a kept and a streamed body before the next
     * feed, which checks the Content-Length against the limit. */
    req->paused_at_headers = true;
    http_parser_pause(parser, 1);
  } else if (parser->content_length != ULLONG_MAX && parser->content_length > req->body.max) {
    req->callback_error = CF_E_LIMIT;
    return -1;
  }
  return split_url(req);
}

static int on_body(http_parser *parser, const char *at, size_t len)
{
  cf_http_request *req = request_of(parser);
  if (req->body_fn != NULL) {
    req->body_fn(req->body_ctx, at, len);
    return 0;
  }
  cf_err *err = NULL;
  if (cf_buf_append(&req->body, at, len, &err) < 0) {
    cf_err_free(err);
    req->callback_error = CF_E_LIMIT;
    return -1;
  }
  return 0;
}

static int on_message_complete(http_parser *parser)
{
  cf_http_request *req = request_of(parser);
  req->complete = true;
  /* Pausing makes http_parser_execute() return right after this message, so
   * the bytes behind it stay unconsumed. */
  http_parser_pause(parser, 1);
  return 0;
}

static const http_parser_settings parser_settings = {
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

void cf_http_request_init(cf_http_request *req, size_t max_header_bytes, size_t max_body_bytes)
{
  memset(req, 0, sizeof(*req));
  http_parser_init(&req->parser, HTTP_REQUEST);
  req->parser.data = req;
  req->max_header_bytes = max_header_bytes;
  cf_buf_init(&req->body, max_body_bytes);
  cf_buf_init(&req->url, max_header_bytes);
  cf_buf_init(&req->field, max_header_bytes);
  cf_buf_init(&req->value, max_header_bytes);
}

void cf_http_request_clear(cf_http_request *req)
{
  free(req->path);
  free(req->query);
  for (size_t i = 0; i < req->header_count; i++) {
    free(req->headers[i].name);
    free(req->headers[i].value);
  }
  cf_buf_free(&req->body);
  cf_buf_free(&req->url);
  cf_buf_free(&req->field);
  cf_buf_free(&req->value);
  req->path = NULL;
  req->query = NULL;
  req->header_count = 0;
}

void cf_http_request_reset(cf_http_request *req)
{
  size_t max_header = req->max_header_bytes;
  size_t max_body = req->body.max;
  bool stop_after_headers = req->stop_after_headers;
  cf_http_request_clear(req);
  cf_http_request_init(req, max_header, max_body);
  req->stop_after_headers = stop_after_headers;
}

static int reject_large_headers(cf_http_request *req, cf_err **err)
{
  req->headers_too_large = true;
  return cf_err_set(err, CF_E_LIMIT,
                    "request headers too large: the request line and headers may have at most "
                    "%zu bytes in at most %d header fields",
                    req->max_header_bytes, CF_HTTP_MAX_HEADERS);
}

static int parse_error(cf_http_request *req, cf_err **err)
{
  if (req->callback_error == CF_E_LIMIT && req->headers_too_large) {
    return reject_large_headers(req, err);
  }
  if (req->callback_error == CF_E_LIMIT) {
    return cf_err_set(err, CF_E_LIMIT, "request body too large: it may have at most %zu bytes",
                      req->body.max);
  }
  if (req->callback_error == CF_E_INVALID || req->callback_error == CF_E_NOT_IMPLEMENTED) {
    return cf_err_set(err, req->callback_error, "unsupported HTTP version %u.%u: use HTTP/1.1",
                      req->parser.http_major, req->parser.http_minor);
  }
  enum http_errno code = HTTP_PARSER_ERRNO(&req->parser);
  if (code == HPE_HEADER_OVERFLOW) {
    return reject_large_headers(req, err);
  }
  return cf_err_set(err, CF_E_INVALID, "malformed HTTP request: %s", http_errno_description(code));
}

void cf_http_request_stream_body(cf_http_request *req, cf_http_body_fn fn, void *ctx)
{
  req->body_fn = fn;
  req->body_ctx = ctx;
}

/* Resumes a parser paused after the headers. A kept body must fit the
 * limit. */
static int resume_after_headers(cf_http_request *req)
{
  req->paused_at_headers = false;
  http_parser_pause(&req->parser, 0);
  uint64_t length = req->parser.content_length;
  if (req->body_fn == NULL && length != ULLONG_MAX && length > req->body.max) {
    req->callback_error = CF_E_LIMIT;
    return -1;
  }
  return 0;
}

int cf_http_request_feed(cf_http_request *req, const char *data, size_t len, size_t *consumed,
                         cf_err **err)
{
  *consumed = 0;
  if (req->paused_at_headers && resume_after_headers(req) < 0) {
    return parse_error(req, err);
  }
  if (req->complete || len == 0) {
    return 0;
  }
  size_t n = http_parser_execute(&req->parser, &parser_settings, data, len);
  enum http_errno code = HTTP_PARSER_ERRNO(&req->parser);
  if (code == HPE_PAUSED) {
    *consumed = n;
    return 0;
  }
  if (code != HPE_OK || req->callback_error != 0) {
    return parse_error(req, err);
  }
  *consumed = n;
  return 0;
}

int cf_http_request_finish(cf_http_request *req, cf_err **err)
{
  if (req->complete) {
    return 0;
  }
  if (req->url.len == 0 && req->header_count == 0 && !req->in_value && req->field.len == 0) {
    return cf_err_set(err, CF_E_INVALID, "connection closed before a request arrived");
  }
  return cf_err_set(err, CF_E_INVALID, "connection closed before the request was complete");
}

const char *cf_http_request_header(const cf_http_request *req, const char *name)
{
  for (size_t i = 0; i < req->header_count; i++) {
    if (strcasecmp(req->headers[i].name, name) == 0) {
      return req->headers[i].value;
    }
  }
  return NULL;
}

static int hex_value(char c)
{
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

int cf_http_unescape(const char *text, size_t len, char **out, cf_err **err)
{
  char *result = cf_xmalloc(len + 1);
  size_t j = 0;
  for (size_t i = 0; i < len; i++) {
    if (text[i] == '+') {
      result[j++] = ' ';
      continue;
    }
    if (text[i] != '%') {
      result[j++] = text[i];
      continue;
    }
    int hi = i + 2 < len ? hex_value(text[i + 1]) : -1;
    int lo = i + 2 < len ? hex_value(text[i + 2]) : -1;
    if (hi < 0 || lo < 0) {
      free(result);
      return cf_err_set(err, CF_E_INVALID, "invalid URL escape \"%.*s\"",
                        (int)(len - i < 3 ? len - i : 3), text + i);
    }
    if (hi == 0 && lo == 0) {
      free(result);
      return cf_err_set(err, CF_E_INVALID,
                        "invalid URL escape \"%%00\": NUL bytes are not allowed");
    }
    result[j++] = (char)(hi << 4 | lo);
    i += 2;
  }
  result[j] = '\0';
  *out = result;
  return 0;
}

void cf_http_query_pairs_free(cf_http_query_pair *pairs, size_t count)
{
  for (size_t i = 0; i < count; i++) {
    free(pairs[i].key);
    free(pairs[i].value);
  }
  free(pairs);
}

int cf_http_query_parse(const char *query, cf_http_query_pair **pairs, size_t *count, cf_err **err)
{
  cf_http_query_pair *list = NULL;
  size_t n = 0;
  const char *p = query;
  while (*p != '\0') {
    size_t part_len = strcspn(p, "&;");
    const char *eq = memchr(p, '=', part_len);
    size_t key_len = eq != NULL ? (size_t)(eq - p) : part_len;
    if (part_len > 0) {
      char *key = NULL;
      char *value = NULL;
      const char *value_start = eq != NULL ? eq + 1 : p + part_len;
      size_t value_len = (size_t)(p + part_len - value_start);
      if (cf_http_unescape(p, key_len, &key, err) < 0 ||
          cf_http_unescape(value_start, value_len, &value, err) < 0) {
        free(key);
        cf_http_query_pairs_free(list, n);
        return -1;
      }
      list = cf_xrealloc(list, (n + 1) * sizeof(*list));
      list[n].key = key;
      list[n].value = value;
      n++;
    }
    p += part_len;
    if (*p != '\0') {
      p++;
    }
  }
  *pairs = list;
  *count = n;
  return 0;
}

int cf_http_query_get(const char *query, const char *key, char **value, cf_err **err)
{
  cf_http_query_pair *pairs = NULL;
  size_t count = 0;
  if (cf_http_query_parse(query, &pairs, &count, err) < 0) {
    return -1;
  }
  int found = 0;
  for (size_t i = 0; i < count; i++) {
    if (strcmp(pairs[i].key, key) == 0) {
      *value = cf_steal(&pairs[i].value);
      found = 1;
      break;
    }
  }
  cf_http_query_pairs_free(pairs, count);
  return found;
}

const char *cf_http_status_text(int status)
{
  switch (status) {
  case 200:
    return "OK";
  case 201:
    return "Created";
  case 400:
    return "Bad Request";
  case 404:
    return "Not Found";
  case 405:
    return "Method Not Allowed";
  case 413:
    return "Request Entity Too Large";
  case 431:
    return "Request Header Fields Too Large";
  case 505:
    return "HTTP Version Not Supported";
  case 500:
    return "Internal Server Error";
  case 503:
    return "Service Unavailable";
  default:
    return "Unknown";
  }
}

void cf_http_date(char out[30])
{
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  strftime(out, 30, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}
