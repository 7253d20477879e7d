/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OCI image-spec documents: the layout marker (oci-layout), image indexes,
 * image manifests and image configs, parsed from JSON with jansson.
 *
 * The parsers check structure and values: schemaVersion 2, descriptors with
 * a media type, a valid sha256 digest and a non-negative size, string-valued
 * annotations, and the media types an image needs. Docker schema 2 media
 * types are accepted wherever the OCI type is. Errors are CF_E_INVALID and
 * name the field that is wrong.
 *
 * Parsed values are owned by the struct that holds them and released by the
 * matching *_clear() function, which also resets the struct to zero.
 */
#ifndef CFWIN_OCI_OCI_H
#define CFWIN_OCI_OCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define CF_OCI_MEDIA_INDEX "application/vnd.oci.image.index.v1+json"
#define CF_OCI_MEDIA_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define CF_OCI_MEDIA_CONFIG "application/vnd.oci.image.config.v1+json"
#define CF_OCI_MEDIA_LAYER "application/vnd.oci.image.layer.v1.tar"
#define CF_OCI_MEDIA_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define CF_OCI_MEDIA_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define CF_DOCKER_MEDIA_MANIFEST_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define CF_DOCKER_MEDIA_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define CF_DOCKER_MEDIA_CONFIG "application/vnd.docker.container.image.v1+json"
#define CF_DOCKER_MEDIA_LAYER "application/vnd.docker.image.rootfs.diff.tar"
#define CF_DOCKER_MEDIA_LAYER_GZIP "application/vnd.docker.image.rootfs.diff.tar.gzip"

/* The annotation that carries a manifest's tag in an OCI layout's index.json. */
#define CF_OCI_ANNOTATION_REF_NAME "org.opencontainers.image.ref.name"

/* The platform an image index entry must name to run here ("linux"/"amd64"
 * on an x86-64 Linux build), in the image-spec's GOOS/GOARCH spelling. */
#if defined(_WIN32)
#define CF_OCI_HOST_OS "windows"
#else
#define CF_OCI_HOST_OS "linux"
#endif
#if defined(__x86_64__) || defined(_M_X64)
#define CF_OCI_HOST_ARCH "amd64"
#elif defined(__aarch64__) || defined(_M_ARM64)
#define CF_OCI_HOST_ARCH "arm64"
#elif defined(__i386__) || defined(_M_IX86)
#define CF_OCI_HOST_ARCH "386"
#elif defined(__arm__)
#define CF_OCI_HOST_ARCH "arm"
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define CF_OCI_HOST_ARCH "ppc64le"
#elif defined(__s390x__)
#define CF_OCI_HOST_ARCH "s390x"
#elif defined(__riscv) && __riscv_xlen == 64
#define CF_OCI_HOST_ARCH "riscv64"
#else
#error "unknown CPU architecture: add its OCI name to CF_OCI_HOST_ARCH"
#endif

/* Kinds of document or blob that a media type describes. */
enum cf_oci_kind {
  CF_OCI_KIND_UNKNOWN = 0,
  CF_OCI_KIND_INDEX,    /* OCI image index or Docker manifest list */
  CF_OCI_KIND_MANIFEST, /* OCI image manifest or Docker schema 2 manifest */
  CF_OCI_KIND_CONFIG,   /* OCI image config or Docker container image config */
  CF_OCI_KIND_LAYER,    /* a layer tar, compressed or not, distributable or not */
};

enum cf_oci_compression {
  CF_OCI_COMPRESSION_NONE = 0,
  CF_OCI_COMPRESSION_GZIP,
  CF_OCI_COMPRESSION_ZSTD,
};

/* Classifies a media type; NULL and unknown types are CF_OCI_KIND_UNKNOWN. */
enum cf_oci_kind cf_oci_media_kind(const char *media_type);

/* Stores the compression of a layer media type in *out. Fails with
 * CF_E_INVALID for a type that is not a layer. */
int cf_oci_layer_compression(const char *media_type, enum cf_oci_compression *out, cf_err **err);

typedef struct cf_oci_annotation {
  char *key;
  char *value;
} cf_oci_annotation;

/* The optional "platform" object of an index entry; empty strings when absent. */
typedef struct cf_oci_platform {
  char *os;
  char *architecture;
  char *variant;
  char *os_version; /* "os.version", such as "10.0.17763.5329" for Windows */
} cf_oci_platform;

typedef struct cf_oci_descriptor {
  char *media_type;
  char *digest; /* validated "sha256:<64 hex>" */
  int64_t size;
  cf_oci_annotation *annotations;
  size_t annotation_count;
  bool has_platform;
  cf_oci_platform platform;
  char **urls; /* "urls" of foreign and non-distributable layers, in order */
  size_t url_count;
} cf_oci_descriptor;

void cf_oci_descriptor_clear(cf_oci_descriptor *desc);

/* Returns the value of annotation key, or NULL. The string is borrowed. */
const char *cf_oci_descriptor_annotation(const cf_oci_descriptor *desc, const char *key);

/* Checks the oci-layout file: {"imageLayoutVersion": "1.x.y"}. */
int cf_oci_layout_check(const char *json, size_t len, cf_err **err);

typedef struct cf_oci_index {
  char *media_type; /* NULL when the document has none */
  cf_oci_descriptor *manifests;
  size_t manifest_count;
} cf_oci_index;

/* Parses an image index or Docker manifest list. An empty manifests array is
 * valid; the entries may be manifests or nested indexes. */
int cf_oci_index_parse(const char *json, size_t len, cf_oci_index *out, cf_err **err);
void cf_oci_index_clear(cf_oci_index *index);

typedef struct cf_oci_manifest {
  char *media_type; /* NULL when the document has none (allowed for OCI) */
  cf_oci_descriptor config;
  cf_oci_descriptor *layers; /* bottom layer first */
  size_t layer_count;
} cf_oci_manifest;

/* Parses an image manifest. The config descriptor must have an image config
 * media type and every layer a layer media type. */
int cf_oci_manifest_parse(const char *json, size_t len, cf_oci_manifest *out, cf_err **err);
void cf_oci_manifest_clear(cf_oci_manifest *manifest);

typedef struct cf_oci_image_config {
  char *os;           /* NULL when absent */
  char *architecture; /* NULL when absent */
  char **env;         /* config.Env, "K=V" strings in order */
  size_t env_count;
  char **diff_ids; /* rootfs.diff_ids, bottom layer first, validated digests */
  size_t diff_id_count;
} cf_oci_image_config;

/* Parses an image config. rootfs.type must be "layers"; config and its Env
 * are optional. */
int cf_oci_config_parse(const char *json, size_t len, cf_oci_image_config *out, cf_err **err);
void cf_oci_config_clear(cf_oci_image_config *config);

#endif
