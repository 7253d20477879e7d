/* SPDX-License-Identifier: Apache-2.0 */
/* WWW-Authenticate parsing and platform selection for registry pulls. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/mem.h"
#include "image/registry.h"

void cf_auth_challenge_clear(cf_auth_challenge *challenge)
{
  free(challenge->scheme);
  free(challenge->realm);
  free(challenge->service);
  free(challenge->scope);
  free(challenge->error);
  memset(challenge, 0, sizeof(*challenge));
}

static bool is_token_char(char c)
{
  return c != '\0' && (isalnum((unsigned char)c) || strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static const char *skip_space(const char *p)
{
  while (*p == ' ' || *p == '\t') {
    p++;
  }
  return p;
}

/* Reads a quoted-string (after the opening quote) into a new string. */
static int read_quoted(const char **pos, char **out, cf_err **err)
{
  cf_buf value;
  cf_buf_init(&value, CF_REGISTRY_TOKEN_MAX);
  const char *p = *pos;
  while (*p != '"') {
    if (*p == '\\' && p[1] != '\0') {
      p++;
    }
    if (*p == '\0') {
      cf_buf_free(&value);
      return cf_err_set(err, CF_E_INVALID, "unterminated quoted value");
    }
    cf_buf_append(&value, p, 1, NULL);
    p++;
  }
  *pos = p + 1;
  *out = cf_buf_take(&value);
  return 0;
}

static char *read_token(const char **pos)
{
  const char *start = *pos;
  while (is_token_char(**pos)) {
    (*pos)++;
  }
  return cf_xstrndup(start, (size_t)(*pos - start));
}

static void store_param(cf_auth_challenge *out, const char *name, char *value)
{
  char **slot = NULL;
  if (strcasecmp(name, "realm") == 0) {
    slot = &out->realm;
  } else if (strcasecmp(name, "service") == 0) {
    slot = &out->service;
  } else if (strcasecmp(name, "scope") == 0) {
    slot = &out->scope;
  } else if (strcasecmp(name, "error") == 0) {
    slot = &out->error;
  }
  if (slot == NULL) {
    free(value);
    return;
  }
  free(*slot);
  *slot = value;
}

/* Parses one name=value parameter; *done is set at the end of the
 * challenge (the end of the header or the start of the next scheme). */
static int parse_param(const char **pos, cf_auth_challenge *out, bool *done, cf_err **err)
{
  const char *p = skip_space(*pos);
  cf_autofree char *name = read_token(&p);
  p = skip_space(p);
  if (*name == '\0' || *p != '=') {
    *done = true;
    return *name == '\0' && *p == '\0' ? 0 : cf_err_set(err, CF_E_INVALID, "expected name=value");
  }
  p = skip_space(p + 1);
  char *value = NULL;
  if (*p == '"') {
    p++;
    if (read_quoted(&p, &value, err) < 0) {
      return -1;
    }
  } else {
    value = read_token(&p);
  }
  store_param(out, name, value);
  p = skip_space(p);
  if (*p == ',') {
    p++;
  } else {
    *done = true;
  }
  *pos = p;
  return 0;
}

static int parse_challenge(const char *header, cf_auth_challenge *out, cf_err **err)
{
  const char *p = skip_space(header);
  out->scheme = read_token(&p);
  if (out->scheme[0] == '\0') {
    return cf_err_set(err, CF_E_INVALID, "no authentication scheme");
  }
  for (char *c = out->scheme; *c != '\0'; c++) {
    *c = (char)tolower((unsigned char)*c);
  }
  if (*p != ' ' && *p != '\0') {
    return cf_err_set(err, CF_E_INVALID, "unexpected '%c' after the scheme", *p);
  }
  bool done = false;
  while (!done) {
    if (parse_param(&p, out, &done, err) < 0) {
      return -1;
    }
  }
  return 0;
}

int cf_auth_challenge_parse(const char *header, cf_auth_challenge *out, cf_err **err)
{
  memset(out, 0, sizeof(*out));
  if (parse_challenge(header, out, err) < 0) {
    cf_auth_challenge_clear(out);
    return cf_err_wrap(err, "invalid WWW-Authenticate header \"%.200s\"", header);
  }
  return 0;
}

static const char *or_default(const char *value, const char *fallback)
{
  return value != NULL && value[0] != '\0' ? value : fallback;
}

void cf_platform_default(const cf_image_platform *want, cf_image_platform *out)
{
  cf_image_platform none = {0};
  if (want == NULL) {
    want = &none;
  }
  out->os = or_default(want->os, CF_OCI_HOST_OS);
  out->architecture = or_default(want->architecture, CF_OCI_HOST_ARCH);
  out->variant = or_default(want->variant, "");
  out->os_version = or_default(want->os_version, "");
}

/* Length of the "major.minor.build" prefix of a Windows os.version. */
static size_t build_prefix_len(const char *version)
{
  int dots = 0;
  size_t i = 0;
  for (; version[i] != '\0'; i++) {
    if (version[i] == '.' && ++dots == 3) {
      break;
    }
  }
  return i;
}

static bool same_build(const char *a, const char *b)
{
  size_t len = build_prefix_len(a);
  return len == build_prefix_len(b) && strncmp(a, b, len) == 0;
}

static bool platform_matches(const cf_oci_descriptor *desc, const cf_image_platform *want)
{
  const cf_oci_platform *p = &desc->platform;
  return desc->has_platform && strcmp(p->os, want->os) == 0 &&
         strcmp(p->architecture, want->architecture) == 0 &&
         (want->variant[0] == '\0' || strcmp(p->variant, want->variant) == 0);
}

static bool uses_os_version(const cf_image_platform *want)
{
  return strcmp(want->os, "windows") == 0 && want->os_version[0] != '\0';
}

/* Among the matching entries: the first of the wanted Windows build, else
 * the first match when no entry names a build. */
static const cf_oci_descriptor *pick(const cf_oci_index *index, const cf_image_platform *want)
{
  const cf_oci_descriptor *first = NULL;
  bool any_version = false;
  for (size_t i = 0; i < index->manifest_count; i++) {
    const cf_oci_descriptor *d = &index->manifests[i];
    if (!platform_matches(d, want)) {
      continue;
    }
    if (!uses_os_version(want)) {
      return d;
    }
    if (same_build(d->platform.os_version, want->os_version)) {
      return d;
    }
    any_version = any_version || d->platform.os_version[0] != '\0';
    first = first != NULL ? first : d;
  }
  if (first != NULL && !any_version) {
    return first;
  }
  for (size_t i = 0; first == NULL && i < index->manifest_count; i++) {
    if (!index->manifests[i].has_platform) {
      return &index->manifests[i];
    }
  }
  return NULL;
}

static void describe_platform(cf_buf *text, const cf_oci_platform *p)
{
  cf_buf_printf(text, NULL, "%s%s/%s%s%s%s%s", text->len > 0 ? ", " : "", p->os, p->architecture,
                p->variant[0] != '\0' ? "/" : "", p->variant, p->os_version[0] != '\0' ? " " : "",
                p->os_version);
}

static int no_match(const cf_oci_index *index, const cf_image_platform *want, cf_err **err)
{
  cf_buf text;
  cf_buf_init(&text, SIZE_MAX);
  for (size_t i = 0; i < index->manifest_count; i++) {
    if (index->manifests[i].has_platform) {
      describe_platform(&text, &index->manifests[i].platform);
    }
  }
  cf_autofree char *offered = cf_buf_take(&text);
  return cf_err_set(err, CF_E_NOT_FOUND,
                    "no image for platform %s/%s%s%s%s%s in the index; it offers: %s", want->os,
                    want->architecture, want->variant[0] != '\0' ? "/" : "", want->variant,
                    want->os_version[0] != '\0' ? " " : "", want->os_version,
                    offered[0] != '\0' ? offered : "no platforms");
}

int cf_platform_select(const cf_oci_index *index, const cf_image_platform *want,
                       const cf_oci_descriptor **out, cf_err **err)
{
  cf_image_platform wanted;
  cf_platform_default(want, &wanted);
  *out = pick(index, &wanted);
  if (*out == NULL) {
    return no_match(index, &wanted, err);
  }
  return 0;
}
