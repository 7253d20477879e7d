/* SPDX-License-Identifier: Apache-2.0 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "base/sha256.h"
#include "image/image.h"

#define OCI_SCHEME "oci://"
#define EXPECTED_FORM "oci:///absolute/path[:tag]"

void cf_oci_uri_clear(cf_oci_uri *uri)
{
  free(uri->path);
  free(uri->tag);
  uri->path = NULL;
  uri->tag = NULL;
}

/* Tags become annotation lookups and error text, so control characters and
 * spaces are rejected. */
static bool tag_is_valid(const char *tag)
{
  if (*tag == '\0') {
    return false;
  }
  for (const unsigned char *p = (const unsigned char *)tag; *p != '\0'; p++) {
    if (*p <= ' ' || *p == 0x7f) {
      return false;
    }
  }
  return true;
}

int cf_oci_uri_parse(const char *uri, cf_oci_uri *out, cf_err **err)
{
  memset(out, 0, sizeof(*out));
  if (strncmp(uri, OCI_SCHEME, strlen(OCI_SCHEME)) != 0) {
    return cf_err_set(err, CF_E_INVALID, "unsupported image URI \"%s\": expected " EXPECTED_FORM,
                      uri);
  }
  const char *path = uri + strlen(OCI_SCHEME);
  if (path[0] != '/') {
    return cf_err_set(err, CF_E_INVALID,
                      "invalid image URI \"%s\": the path must be absolute, as in " EXPECTED_FORM,
                      uri);
  }

  /* The tag follows the last ':' after the last '/', so directories may
   * contain colons. */
  const char *slash = strrchr(path, '/');
  const char *colon = strrchr(slash, ':');
  size_t path_len = colon != NULL ? (size_t)(colon - path) : strlen(path);
  if (colon != NULL && !tag_is_valid(colon + 1)) {
    return cf_err_set(err, CF_E_INVALID,
                      "invalid image URI \"%s\": the tag after ':' must be non-empty and "
                      "contain no spaces or control characters, as in " EXPECTED_FORM,
                      uri);
  }

  out->path = cf_xstrndup(path, path_len);
  out->tag = colon != NULL ? cf_xstrdup(colon + 1) : NULL;
  return 0;
}

#define DOCKER_SCHEME "docker://"
#define DOCKER_FORM "docker://[HOST[:PORT]]/REPOSITORY[:TAG|@sha256:DIGEST]"
#define DOCKER_HUB "docker.io"
#define DOCKER_HUB_API "registry-1.docker.io"
#define TAG_MAX 128
#define REPOSITORY_MAX 255

void cf_docker_uri_clear(cf_docker_uri *uri)
{
  free(uri->registry);
  free(uri->repository);
  free(uri->tag);
  free(uri->digest);
  memset(uri, 0, sizeof(*uri));
}

static int docker_invalid(cf_err **err, const char *uri, const char *why)
{
  return cf_err_set(err, CF_E_INVALID, "invalid image URI \"%s\": %s; expected " DOCKER_FORM, uri,
                    why);
}

static bool is_alnum_lower(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* A repository path component: lowercase letters and digits, separated by
 * single '.', '_' or '-' runs as the distribution spec allows. */
static bool component_is_valid(const char *start, size_t len)
{
  if (len == 0 || !is_alnum_lower(start[0]) || !is_alnum_lower(start[len - 1])) {
    return false;
  }
  for (size_t i = 0; i < len; i++) {
    char c = start[i];
    if (!is_alnum_lower(c) && c != '.' && c != '_' && c != '-') {
      return false;
    }
  }
  return true;
}

static bool repository_is_valid(const char *repository)
{
  if (strlen(repository) > REPOSITORY_MAX) {
    return false;
  }
  const char *p = repository;
  for (;;) {
    const char *slash = strchr(p, '/');
    size_t len = slash != NULL ? (size_t)(slash - p) : strlen(p);
    if (!component_is_valid(p, len)) {
      return false;
    }
    if (slash == NULL) {
      return true;
    }
    p = slash + 1;
  }
}

static bool docker_tag_is_valid(const char *tag)
{
  size_t len = strlen(tag);
  if (len == 0 || len > TAG_MAX || tag[0] == '.' || tag[0] == '-') {
    return false;
  }
  for (size_t i = 0; i < len; i++) {
    char c = tag[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-';
    if (!ok) {
      return false;
    }
  }
  return true;
}

/* host or host:port with a port from 1 to 65535. */
static bool registry_is_valid(const char *registry)
{
  const char *colon = strchr(registry, ':');
  size_t host_len = colon != NULL ? (size_t)(colon - registry) : strlen(registry);
  if (host_len == 0 || host_len > 253) {
    return false;
  }
  for (size_t i = 0; i < host_len; i++) {
    char c = registry[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-';
    if (!ok) {
      return false;
    }
  }
  if (colon == NULL) {
    return true;
  }
  char *end = NULL;
  long port = strtol(colon + 1, &end, 10);
  return colon[1] >= '0' && colon[1] <= '9' && *end == '\0' && port >= 1 && port <= 65535;
}

/* Docker's rule: the first component names a registry when it contains '.'
 * or ':' or is "localhost"; otherwise the name is on Docker Hub. */
static bool names_registry(const char *first, size_t len)
{
  return memchr(first, '.', len) != NULL || memchr(first, ':', len) != NULL ||
         (len == strlen("localhost") && strncmp(first, "localhost", len) == 0);
}

static void split_registry(const char *name, cf_docker_uri *out, const char **rest)
{
  const char *slash = strchr(name, '/');
  if (slash != NULL && names_registry(name, (size_t)(slash - name))) {
    out->registry = cf_xstrndup(name, (size_t)(slash - name));
    *rest = slash + 1;
    return;
  }
  out->registry = cf_xstrdup(DOCKER_HUB);
  *rest = name;
}

/* Splits "repo[:tag][@digest]" into out's fields. */
static int split_reference(const char *uri, const char *rest, cf_docker_uri *out, cf_err **err)
{
  cf_autofree char *name = cf_xstrdup(rest);
  char *at = strchr(name, '@');
  if (at != NULL) {
    *at = '\0';
    if (cf_digest_validate(at + 1, NULL) < 0) {
      return docker_invalid(err, uri, "the digest after '@' must be sha256: and 64 lowercase hex");
    }
    out->digest = cf_xstrdup(at + 1);
  }
  char *slash = strrchr(name, '/');
  char *colon = strrchr(slash != NULL ? slash : name, ':');
  if (colon != NULL) {
    *colon = '\0';
    if (!docker_tag_is_valid(colon + 1)) {
      return docker_invalid(err, uri, "the tag after ':' must be 1 to 128 of [A-Za-z0-9_.-]");
    }
    out->tag = cf_xstrdup(colon + 1);
  }
  if (!repository_is_valid(name)) {
    return docker_invalid(err, uri,
                          "the repository must be lowercase components of [a-z0-9._-] "
                          "separated by '/'");
  }
  out->repository = cf_xstrdup(name);
  return 0;
}

/* Applies Docker Hub's defaults: API host, "library/" and tag "latest". */
static void apply_defaults(cf_docker_uri *out)
{
  if (strcmp(out->registry, DOCKER_HUB) == 0 || strcmp(out->registry, "index.docker.io") == 0) {
    free(out->registry);
    out->registry = cf_xstrdup(DOCKER_HUB_API);
    if (strchr(out->repository, '/') == NULL) {
      char *prefixed = cf_xasprintf("library/%s", out->repository);
      free(out->repository);
      out->repository = prefixed;
    }
  }
  if (out->tag == NULL && out->digest == NULL) {
    out->tag = cf_xstrdup("latest");
  }
}

static int parse_docker(const char *uri, cf_docker_uri *out, cf_err **err)
{
  if (strncmp(uri, DOCKER_SCHEME, strlen(DOCKER_SCHEME)) != 0) {
    return cf_err_set(err, CF_E_INVALID, "unsupported image URI \"%s\": expected " DOCKER_FORM,
                      uri);
  }
  /* docker:///repo has an empty host; docker://host/repo names one. */
  const char *name = uri + strlen(DOCKER_SCHEME);
  if (name[0] == '/') {
    name++;
  }
  if (name[0] == '\0') {
    return docker_invalid(err, uri, "the repository is missing");
  }
  const char *rest = NULL;
  split_registry(name, out, &rest);
  if (!registry_is_valid(out->registry)) {
    return docker_invalid(err, uri, "the registry must be HOST or HOST:PORT");
  }
  if (split_reference(uri, rest, out, err) < 0) {
    return -1;
  }
  apply_defaults(out);
  return 0;
}

int cf_docker_uri_parse(const char *uri, cf_docker_uri *out, cf_err **err)
{
  memset(out, 0, sizeof(*out));
  if (parse_docker(uri, out, err) < 0) {
    cf_docker_uri_clear(out);
    return -1;
  }
  return 0;
}
