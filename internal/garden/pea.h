/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reading the pea part of a Garden ProcessSpec (its image, credentials,
 * bind mounts and limits) and copying a sandbox's /etc files into a pea.
 * backend.h has the calls that create, run and destroy peas.
 */
#ifndef CFWIN_GARDEN_PEA_H
#define CFWIN_GARDEN_PEA_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"
#include "garden/backend.h"
#include "garden/limits.h"

typedef struct cf_pea_spec {
  bool is_pea; /* image.uri is set */
  char *image_uri;
  char *username; /* registry credentials, or NULL */
  char *password;
  cf_bind_mount *bind_mounts;
  size_t bind_mount_count;
  cf_process_limits limits;
} cf_pea_spec;

/* Reads a ProcessSpec object. A spec without image.uri is no pea, and
 * bind_mounts then fail with CF_E_INVALID and Guardian's message.
 * Bad bind mounts and limits fail as cf_bind_mounts_parse() and
 * cf_limits_parse_process() do. */
int cf_pea_spec_parse(const json_t *process_spec, cf_pea_spec *out, cf_err **err);

void cf_pea_spec_clear(cf_pea_spec *spec);

/* The backend request for spec; its strings stay borrowed from spec. */
cf_pea_request cf_pea_spec_request(const cf_pea_spec *spec);

/* Copies the sandbox's /etc/hosts and /etc/resolv.conf, where they are
 * regular files, into the pea's root filesystem, replacing the pea
 * image's. Both inits must be alive. Later changes in one do not show in
 * the other, unlike in Guardian, which bind-mounts the same two files
 * into the sandbox and its peas. */
int cf_pea_copy_etc_files(const cf_container_init *sandbox, const cf_container_init *pea,
                          cf_err **err);

#endif
