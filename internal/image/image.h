/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Images: OCI image layouts resolved into a shared layer store.
 *
 * Layers are unpacked once into <depot>/layers/<hex of chain id>/ and shared
 * by every container; the store records each layer. A pull with an id
 * mapping unpacks its own copy, <hex of chain id>@<map digest>/, whose
 * owners are host ids. A container's root
 * filesystem is an overlay of the layer directories (bottom first as lower
 * layers) with a writable upper directory that belongs to the container.
 * The image module prepares the directories; the runtime mounts the overlay
 * inside the container's own mount namespace.
 */
#ifndef CFWIN_IMAGE_IMAGE_H
#define CFWIN_IMAGE_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "image/idmap.h"
#include "store/store.h"

typedef struct cf_image_store cf_image_store;

/* Opens the layer store under <depot>/layers. store is borrowed and must
 * outlive the image store. Safe to use from several threads and processes:
 * each layer is unpacked under a per-layer file lock. */
int cf_image_store_open(const char *depot, cf_store *store, cf_image_store **out, cf_err **err);
void cf_image_store_close(cf_image_store *images);

/* A resolved image, ready to become a root filesystem. */
typedef struct cf_image {
  char **layer_dirs; /* absolute unpacked layer directories, bottom layer first */
  char **chain_ids;  /* chain id of each layer, same order */
  /* Layer store key of each layer, same order: the chain id, followed by
   * "@<16 hex digits>" of the id mapping's digest for a mapped pull. Volumes
   * reference layers by these keys. */
  char **layer_keys;
  size_t layer_count;
  cf_id_mapping id_mapping; /* the mapping the layers were unpacked with; zeroed for none */
  char **env;               /* the image config's Env ("K=V"), in order */
  size_t env_count;
  char *manifest_digest;
} cf_image;

void cf_image_clear(cf_image *image);

/* The platform to pick from an image index. Empty or NULL fields mean:
 * os and architecture of this build (CF_OCI_HOST_OS, CF_OCI_HOST_ARCH), any
 * variant, any os.version. For windows, os_version ("10.0.17763" or longer)
 * prefers entries of the same major.minor.build. */
typedef struct cf_image_platform {
  const char *os;
  const char *architecture;
  const char *variant;
  const char *os_version;
} cf_image_platform;

/* Options of a pull; a zeroed struct (or NULL) gives the defaults. They
 * apply to docker:// URIs except platform and the limits, which apply to
 * every URI. */
typedef struct cf_pull_options {
  const char *username; /* registry credentials; NULL or "" for anonymous */
  const char *password;
  /* "host" or "host:port" compared exactly with the URI's registry: these
   * may use plain HTTP or TLS without certificate verification. */
  const char *const *insecure_registries;
  size_t insecure_registry_count;
  cf_image_platform platform;
  unsigned max_retries;     /* per request on 429, 5xx and network errors; 0: 4 */
  unsigned retry_base_ms;   /* first backoff, doubled per retry; 0: 500 ms */
  unsigned parallel_layers; /* layers downloaded at once; 0: 4 */
  /* Time limits of docker:// pulls in seconds. A pull that passes one
   * fails with CF_E_SYSTEM and a message that names the URL and the limit. */
  unsigned stall_timeout_s;   /* a transfer below 1 byte/s for this long; 0: 30 */
  unsigned request_timeout_s; /* a whole ping, token, manifest or config request; 0: 120 */
  unsigned pull_timeout_s;    /* the whole pull, retries included; 0: 1800 */
  /* Limits of the uncompressed tar streams, for every URI kind. A pull that
   * passes one fails with CF_E_LIMIT and keeps nothing of the layer. */
  int64_t max_layer_bytes;   /* per layer; 0: CF_IMAGE_DEFAULT_MAX_LAYER_BYTES */
  int64_t max_image_bytes;   /* all layers of the image; 0: CF_IMAGE_DEFAULT_MAX_IMAGE_BYTES */
  int64_t max_layer_entries; /* tar entries per layer; 0: CF_IMAGE_DEFAULT_MAX_LAYER_ENTRIES */
  /* Layers per image, checked before any layer is read; 0: CF_IMAGE_DEFAULT_MAX_LAYERS. */
  unsigned max_layers;
  /* Ownership for a container in a user namespace: each entry's uid and gid
   * are written as the host ids the maps give. An entry whose id no range
   * contains fails the pull (CF_E_INVALID naming the entry and the id).
   * Mapped layers are stored apart from unmapped ones. Zeroed: owners are
   * written as the tar states them. */
  cf_id_mapping id_mapping;
} cf_pull_options;

#define CF_IMAGE_DEFAULT_MAX_LAYER_BYTES (INT64_C(32) << 30) /* 32 GiB */
#define CF_IMAGE_DEFAULT_MAX_IMAGE_BYTES (INT64_C(64) << 30) /* 64 GiB */
#define CF_IMAGE_DEFAULT_MAX_LAYER_ENTRIES INT64_C(2000000)
/* overlayfs stacks at most 500 lower layers (the kernel's OVL_MAX_STACK),
 * so a larger image can never be mounted. */
#define CF_IMAGE_DEFAULT_MAX_LAYERS 500u
#define CF_IMAGE_DEFAULT_STALL_TIMEOUT_S 30u
#define CF_IMAGE_DEFAULT_REQUEST_TIMEOUT_S 120u
#define CF_IMAGE_DEFAULT_PULL_TIMEOUT_S 1800u /* 30 minutes */

/* Resolves uri and unpacks the layers that are not in the store yet.
 * Supported: oci:///absolute/path[:tag] and
 * docker://[host[:port]]/repository[:tag|@sha256:digest]. Errors name the
 * URI, the media type and both digests on a mismatch (CF_E_INTEGRITY),
 * CF_E_NOT_FOUND for a missing layout, tag, repository or platform,
 * CF_E_INVALID for a malformed URI or document or a negative limit,
 * CF_E_SYSTEM for a registry that could not be reached or passed a time
 * limit, CF_E_LIMIT when
 * the image passes one of the size or entry limits. options may be NULL. */
int cf_image_pull_with(cf_image_store *images, const char *uri, const cf_pull_options *options,
                       cf_image *out, cf_err **err);

/* cf_image_pull_with() with the default options. */
int cf_image_pull(cf_image_store *images, const char *uri, cf_image *out, cf_err **err);

/* Paths of a container's writable layer under container_dir. */
typedef struct cf_rootfs_dirs {
  char *upper;  /* <container_dir>/rootfs-upper */
  char *work;   /* <container_dir>/rootfs-work */
  char *target; /* <container_dir>/rootfs: the overlay mount point */
} cf_rootfs_dirs;

void cf_rootfs_dirs_clear(cf_rootfs_dirs *dirs);

/* Creates the writable layer directories for a container. */
int cf_image_rootfs_prepare(const char *container_dir, cf_rootfs_dirs *out, cf_err **err);

/* --- Lower-level pieces, exposed for the image role and for tests. --- */

/* Parsed oci:// URI: path is absolute; tag is NULL when absent. */
typedef struct cf_oci_uri {
  char *path;
  char *tag;
} cf_oci_uri;

int cf_oci_uri_parse(const char *uri, cf_oci_uri *out, cf_err **err);
void cf_oci_uri_clear(cf_oci_uri *uri);

/* Parsed docker:// URI, normalised as Docker does: no registry means Docker
 * Hub (registry-1.docker.io), where a one-component repository gets the
 * "library/" prefix; no tag and no digest means tag "latest". */
typedef struct cf_docker_uri {
  char *registry;   /* "host" or "host:port" */
  char *repository; /* "library/busybox" */
  char *tag;        /* NULL when only a digest was given */
  char *digest;     /* "sha256:<hex>" or NULL */
} cf_docker_uri;

int cf_docker_uri_parse(const char *uri, cf_docker_uri *out, cf_err **err);
void cf_docker_uri_clear(cf_docker_uri *uri);

/* ChainID(L0) = DiffID(L0); ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln)).
 * parent is NULL for the base layer. out holds CF_DIGEST_LEN + 1 bytes. */
void cf_chain_id(const char *parent_chain_id, const char *diff_id, char *out);

/* Unpacks the layer blob at blob_path (tar, optionally gzip or zstd
 * compressed, as media_type says) into the existing empty directory dest.
 * Converts OCI whiteouts (.wh.NAME, .wh..wh..opq) into overlayfs whiteouts
 * (0/0 character devices, trusted.overlay.opaque). Rejects, and writes
 * nothing outside dest for, entries with absolute paths, ".." components,
 * paths through symlinks and hard links that point outside. Checks that the
 * uncompressed stream's digest equals expected_diff_id (CF_E_INTEGRITY,
 * naming both digests) and stores the uncompressed size in *size. Applies
 * the default limits of cf_pull_options. On any failure after extraction
 * began, dest is emptied again. */
int cf_layer_unpack(const char *blob_path, const char *media_type, const char *dest,
                    const char *expected_diff_id, int64_t *size, cf_err **err);

#endif
