/* SPDX-License-Identifier: Apache-2.0 */
/* Registry pulls: the client, manifests and blobs. registry_http.c does the
 * transfers. */
#include "image/registry.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/log.h"
#include "base/mem.h"
#include "base/sha256.h"
#include "image/registry_http.h"

#define DEFAULT_MAX_RETRIES 4
#define DEFAULT_RETRY_BASE_MS 500

/* Manifest media types offered in the Accept header, preferred first. */
#define MANIFEST_ACCEPT                                                                            \
  CF_OCI_MEDIA_INDEX ", " CF_DOCKER_MEDIA_MANIFEST_LIST ", " CF_OCI_MEDIA_MANIFEST                 \
                     ", " CF_DOCKER_MEDIA_MANIFEST

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;

static void init_curl(void)
{
  curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

void cf_registry_close(cf_registry *registry)
{
  if (registry == NULL) {
    return;
  }
  free(registry->registry);
  free(registry->repository);
  free(registry->base_url);
  cf_auth_challenge_clear(&registry->challenge);
  free(registry->extra_scope);
  if (registry->authorization != NULL) {
    explicit_bzero(registry->authorization, strlen(registry->authorization));
    free(registry->authorization);
  }
  pthread_mutex_destroy(&registry->auth_lock);
  free(registry);
}

static cf_registry *registry_new(const cf_docker_uri *uri, const cf_pull_options *options)
{
  static const cf_pull_options defaults = {0};
  if (options == NULL) {
    options = &defaults;
  }
  cf_registry *r = cf_xcalloc(1, sizeof(*r));
  r->registry = cf_xstrdup(uri->registry);
  r->repository = cf_xstrdup(uri->repository);
  r->username = options->username;
  r->password = options->password;
  r->insecure = options->insecure_registries;
  r->insecure_count = options->insecure_registry_count;
  r->platform = options->platform;
  r->max_retries = options->max_retries != 0 ? options->max_retries : DEFAULT_MAX_RETRIES;
  r->retry_base_ms = options->retry_base_ms != 0 ? options->retry_base_ms : DEFAULT_RETRY_BASE_MS;
  r->max_layers = options->max_layers;
  r->stall_timeout_s =
      options->stall_timeout_s != 0 ? options->stall_timeout_s : CF_IMAGE_DEFAULT_STALL_TIMEOUT_S;
  r->request_timeout_s = options->request_timeout_s != 0 ? options->request_timeout_s
                                                         : CF_IMAGE_DEFAULT_REQUEST_TIMEOUT_S;
  r->pull_timeout_s =
      options->pull_timeout_s != 0 ? options->pull_timeout_s : CF_IMAGE_DEFAULT_PULL_TIMEOUT_S;
  r->deadline_ms = cf_http_monotonic_ms() + (int64_t)r->pull_timeout_s * 1000;
  pthread_mutex_init(&r->auth_lock, NULL);
  return r;
}

static bool registry_is_insecure(const cf_registry *registry)
{
  for (size_t i = 0; i < registry->insecure_count; i++) {
    if (strcmp(registry->insecure[i], registry->registry) == 0) {
      return true;
    }
  }
  return false;
}

/* GET /v2/ at base_url; stores the challenge of a 401 response. */
static int ping(cf_registry *registry, cf_err **err)
{
  cf_autofree char *url = cf_xasprintf("%s/v2/", registry->base_url);
  cf_buf body;
  cf_buf_init(&body, CF_REGISTRY_JSON_MAX);
  cf_http_request req = {.url = url, .what = "ping", .ping = true, .body = &body};
  cf_http_result result;
  int rc = cf_http_get(registry, &req, &result, err);
  cf_buf_free(&body);
  if (rc == 0 && result.status == 401 && result.www_authenticate != NULL) {
    rc = cf_auth_challenge_parse(result.www_authenticate, &registry->challenge, err);
    registry->has_challenge = rc == 0;
  }
  cf_http_result_clear(&result);
  return rc;
}

/* Picks https, or for an insecure registry http when https does not
 * respond, as Docker does. */
/* Adds a hint to a failed HTTPS ping of a registry that is not listed as
 * insecure, because a plain-HTTP registry fails there with a TLS error. */
static int hint_insecure(const cf_registry *registry, cf_err **err)
{
  if (err == NULL || *err == NULL || (*err)->code != CF_E_SYSTEM) {
    return -1;
  }
  char *hinted = cf_xasprintf("%s; if %s serves plain HTTP or a self-signed certificate, list "
                              "it in insecure_registries of the groot config file or with "
                              "--insecure-docker-registry of cfwin serve",
                              (*err)->message, registry->registry);
  free((*err)->message);
  (*err)->message = hinted;
  return -1;
}

static int connect_registry(cf_registry *registry, cf_err **err)
{
  registry->base_url = cf_xasprintf("https://%s", registry->registry);
  if (!registry_is_insecure(registry)) {
    return ping(registry, err) < 0 ? hint_insecure(registry, err) : 0;
  }
  unsigned retries = registry->max_retries;
  registry->max_retries = 0;
  cf_err *https_err = NULL;
  int rc = ping(registry, &https_err);
  registry->max_retries = retries;
  if (rc == 0) {
    return 0;
  }
  cf_log(CF_LOG_INFO, "registry-https-failed", "{s:s, s:s}", "registry", registry->registry,
         "error", https_err->message);
  cf_err_free(https_err);
  free(registry->base_url);
  registry->base_url = cf_xasprintf("http://%s", registry->registry);
  return ping(registry, err);
}

int cf_registry_open(const cf_docker_uri *uri, const cf_pull_options *options, cf_registry **out,
                     cf_err **err)
{
  pthread_once(&curl_once, init_curl);
  if (curl_init_result != CURLE_OK) {
    return cf_err_set(err, CF_E_SYSTEM, "initialise libcurl: %s",
                      curl_easy_strerror(curl_init_result));
  }
  cf_registry *registry = registry_new(uri, options);
  if (connect_registry(registry, err) < 0) {
    cf_registry_close(registry);
    return cf_err_wrap(err, "registry %s", uri->registry);
  }
  *out = registry;
  return 0;
}

/* Docker schema 1 manifests, signed or not; their Content-Type values. */
#define DOCKER_SCHEMA1_PREFIX "application/vnd.docker.distribution.manifest.v1+"

/* Rejects a response whose Content-Type is Docker schema 1, whatever its
 * body contains, because the registry states the format it sent. */
static int reject_schema1(const char *content_type, const char *what, cf_err **err)
{
  if (content_type == NULL ||
      strncasecmp(content_type, DOCKER_SCHEMA1_PREFIX, strlen(DOCKER_SCHEMA1_PREFIX)) != 0) {
    return 0;
  }
  return cf_err_set(err, CF_E_INVALID,
                    "%s: the registry sent a Docker schema 1 manifest (Content-Type %.100s), "
                    "which is not supported; push the image again with a current Docker or "
                    "skopeo to store it as Docker schema 2 or OCI",
                    what, content_type);
}

/* The media type of a manifest: Content-Type without parameters when it
 * names a manifest or index, else the document's own mediaType. */
static char *manifest_media_type(const char *content_type, const cf_buf *body)
{
  if (content_type != NULL) {
    size_t len = strcspn(content_type, "; ");
    char *type = cf_xstrndup(content_type, len);
    if (cf_oci_media_kind(type) != CF_OCI_KIND_UNKNOWN) {
      return type;
    }
    free(type);
  }
  json_t *doc = json_loadb(body->data, body->len, 0, NULL);
  const char *field = json_string_value(json_object_get(doc, "mediaType"));
  char *type = cf_xstrdup(field != NULL ? field : "");
  json_decref(doc);
  return type;
}

int cf_registry_get_manifest(cf_registry *registry, const char *reference, int64_t expected_size,
                             cf_buf *body, char **media_type, char digest[CF_DIGEST_LEN + 1],
                             cf_err **err)
{
  cf_autofree char *url =
      cf_xasprintf("%s/v2/%s/manifests/%s", registry->base_url, registry->repository, reference);
  cf_autofree char *what = cf_xasprintf("manifest %s", reference);
  cf_http_request req = {
      .url = url,
      .what = what,
      .accept = MANIFEST_ACCEPT,
      .registry_auth = true,
      .body = body,
      .size_known = expected_size >= 0,
      .expected_size = expected_size,
  };
  cf_http_result result;
  if (cf_http_get(registry, &req, &result, err) < 0) {
    return -1;
  }
  if (reject_schema1(result.content_type, what, err) < 0) {
    cf_http_result_clear(&result);
    return -1;
  }
  cf_sha256_digest(body->data, body->len, digest);
  *media_type = manifest_media_type(result.content_type, body);
  cf_http_result_clear(&result);
  if (strncmp(reference, "sha256:", 7) == 0 && strcmp(reference, digest) != 0) {
    free(*media_type);
    *media_type = NULL;
    return cf_err_set(err, CF_E_INTEGRITY, "manifest: digest mismatch: expected %s, got %s",
                      reference, digest);
  }
  return 0;
}

static char *blob_url(const cf_registry *registry, const char *digest)
{
  return cf_xasprintf("%s/v2/%s/blobs/%s", registry->base_url, registry->repository, digest);
}

static int check_small_blob(const cf_oci_descriptor *desc, const cf_buf *body, cf_err **err)
{
  if ((int64_t)body->len != desc->size) {
    return cf_err_set(err, CF_E_INTEGRITY,
                      "%s blob %s: size mismatch: the descriptor says %" PRId64
                      " bytes, the registry sent %zu bytes",
                      desc->media_type, desc->digest, desc->size, body->len);
  }
  char digest[CF_DIGEST_LEN + 1];
  cf_sha256_digest(body->data, body->len, digest);
  if (strcmp(digest, desc->digest) != 0) {
    return cf_err_set(err, CF_E_INTEGRITY, "%s blob: digest mismatch: expected %s, got %s",
                      desc->media_type, desc->digest, digest);
  }
  return 0;
}

int cf_registry_get_blob(cf_registry *registry, const cf_oci_descriptor *desc, cf_buf *body,
                         cf_err **err)
{
  if (desc->size > (int64_t)CF_REGISTRY_JSON_MAX) {
    return cf_err_set(err, CF_E_LIMIT,
                      "%s blob %s: %" PRId64 " bytes is more than the maximum of %u bytes",
                      desc->media_type, desc->digest, desc->size, CF_REGISTRY_JSON_MAX);
  }
  /* One byte more than the descriptor states shows a blob that is too big. */
  body->max = (size_t)desc->size + 1;
  cf_autofree char *url = blob_url(registry, desc->digest);
  cf_autofree char *what = cf_xasprintf("%s blob %s", desc->media_type, desc->digest);
  cf_http_request req = {.url = url,
                         .what = what,
                         .registry_auth = true,
                         .body = body,
                         .size_known = true,
                         .expected_size = desc->size};
  cf_http_result result;
  cf_err *get_err = NULL;
  int rc = cf_http_get(registry, &req, &result, &get_err);
  cf_http_result_clear(&result);
  if (rc < 0 && get_err->code == CF_E_LIMIT) {
    cf_err_free(get_err);
    return cf_err_set(err, CF_E_INTEGRITY,
                      "%s blob %s: size mismatch: the descriptor says %" PRId64
                      " bytes, the registry sent more",
                      desc->media_type, desc->digest, desc->size);
  }
  if (rc < 0) {
    if (err != NULL) {
      cf_err_free(*err);
      *err = get_err;
    } else {
      cf_err_free(get_err);
    }
    return -1;
  }
  return check_small_blob(desc, body, err);
}

static bool is_http_url(const char *url)
{
  return strncasecmp(url, "https://", 8) == 0 || strncasecmp(url, "http://", 7) == 0;
}

/* Downloads a foreign layer from its urls, in order, without the
 * registry's credentials. *tried is false when no URL is http or https. */
static int produce_foreign(cf_registry *registry, const cf_oci_descriptor *desc, cf_blob_sink *sink,
                           bool *tried, cf_err **err)
{
  *tried = false;
  for (size_t i = 0; i < desc->url_count; i++) {
    if (!is_http_url(desc->urls[i])) {
      continue;
    }
    *tried = true;
    cf_autofree char *what = cf_xasprintf("foreign %s blob %s", desc->media_type, desc->digest);
    cf_http_request req = {.url = desc->urls[i], .what = what, .sink = sink};
    cf_http_result result;
    cf_err_clear(err);
    int rc = cf_http_get(registry, &req, &result, err);
    cf_http_result_clear(&result);
    if (rc == 0) {
      return 0;
    }
    if ((*err)->code == CF_E_INTEGRITY) {
      return -1;
    }
  }
  return *tried ? -1 : 0;
}

int cf_registry_produce_blob(void *ctx, const cf_oci_descriptor *desc, cf_blob_sink *sink,
                             cf_err **err)
{
  cf_registry *registry = ctx;
  bool tried = false;
  cf_err *foreign_err = NULL;
  int rc = produce_foreign(registry, desc, sink, &tried, &foreign_err);
  if (tried) {
    if (err != NULL) {
      cf_err_free(*err);
      *err = foreign_err;
    } else {
      cf_err_free(foreign_err);
    }
    return rc;
  }
  cf_autofree char *url = blob_url(registry, desc->digest);
  cf_autofree char *what = cf_xasprintf("%s blob %s", desc->media_type, desc->digest);
  cf_http_request req = {.url = url, .what = what, .registry_auth = true, .sink = sink};
  cf_http_result result;
  rc = cf_http_get(registry, &req, &result, err);
  cf_http_result_clear(&result);
  return rc;
}
