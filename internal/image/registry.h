/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A Docker Registry HTTP API v2 (OCI distribution) client on libcurl, for
 * pulls: manifests with content negotiation, blobs streamed into the layer
 * unpacker, Bearer and Basic authentication, redirects, retries and resumed
 * blob downloads. One client serves one repository and may be used by
 * several threads at once.
 */
#ifndef CFWIN_IMAGE_REGISTRY_H
#define CFWIN_IMAGE_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"
#include "image/blob.h"
#include "image/image.h"
#include "image/layout.h"
#include "oci/oci.h"

/* Largest token response and largest manifest or config accepted. */
#define CF_REGISTRY_TOKEN_MAX (64u * 1024)
#define CF_REGISTRY_JSON_MAX CF_IMAGE_JSON_MAX

/* One challenge of a WWW-Authenticate header. Parameters are NULL when
 * absent. */
typedef struct cf_auth_challenge {
  char *scheme; /* lowercase: "bearer", "basic", ... */
  char *realm;
  char *service;
  char *scope;
  char *error; /* "insufficient_scope", "invalid_token", ... */
} cf_auth_challenge;

/* Parses the first challenge of a WWW-Authenticate header value, such as
 * Bearer realm="https://auth/token",service="reg",scope="repository:a:pull".
 * Quoted values may contain commas and backslash escapes. CF_E_INVALID for a
 * header without a scheme or with a malformed parameter. */
int cf_auth_challenge_parse(const char *header, cf_auth_challenge *out, cf_err **err);
void cf_auth_challenge_clear(cf_auth_challenge *challenge);

/* Picks the entry of an image index for want: os and architecture must be
 * equal, the variant too when want names one. For windows with an
 * os_version, an entry of the same major.minor.build wins over other
 * builds, and when the entries name builds and none matches, none is picked.
 * Entries without a platform are used only when no entry matches.
 * CF_E_NOT_FOUND lists the platforms the index offers. */
int cf_platform_select(const cf_oci_index *index, const cf_image_platform *want,
                       const cf_oci_descriptor **out, cf_err **err);

/* Fills the empty fields of want with this build's os and architecture;
 * the strings are borrowed from want or static. */
void cf_platform_default(const cf_image_platform *want, cf_image_platform *out);

typedef struct cf_registry cf_registry;

/* Creates a client for uri->registry and uri->repository. options may be
 * NULL; the strings it points to must outlive the client. Checks that the
 * registry answers (GET /v2/) and reads its authentication challenge. */
int cf_registry_open(const cf_docker_uri *uri, const cf_pull_options *options, cf_registry **out,
                     cf_err **err);
void cf_registry_close(cf_registry *registry);

/* Fetches the manifest or index that reference (a tag or a digest) names
 * into body, at most CF_REGISTRY_JSON_MAX bytes, or expected_size bytes
 * when that is not negative (an index entry's size). *media_type is a new string
 * from Content-Type (or the document's mediaType) and digest the sha256 of
 * the body, which must equal reference when that is a digest. */
int cf_registry_get_manifest(cf_registry *registry, const char *reference, int64_t expected_size,
                             cf_buf *body, char **media_type, char digest[CF_DIGEST_LEN + 1],
                             cf_err **err);

/* Fetches a small blob (a config, or a manifest by descriptor) into body and
 * checks its size and digest against desc. */
int cf_registry_get_blob(cf_registry *registry, const cf_oci_descriptor *desc, cf_buf *body,
                         cf_err **err);

/* A cf_blob_producer whose ctx is a cf_registry: streams a layer blob,
 * from the registry or, for a foreign layer, from its urls without the
 * registry's credentials. */
int cf_registry_produce_blob(void *ctx, const cf_oci_descriptor *desc, cf_blob_sink *sink,
                             cf_err **err);

/* Checks that manifest (named by digest) has at most max_layers layers, or
 * CF_IMAGE_DEFAULT_MAX_LAYERS when max_layers is 0. CF_E_LIMIT names the
 * count, the limit and the option. */
int cf_manifest_check_layer_count(const cf_oci_manifest *manifest, const char *digest,
                                  unsigned max_layers, cf_err **err);

/* Fetches the manifest uri names (following indexes to the entry for want)
 * and its config, verifying both. */
int cf_registry_resolve(cf_registry *registry, const cf_docker_uri *uri,
                        const cf_image_platform *want, cf_resolved_image *out, cf_err **err);

#endif
