/* SPDX-License-Identifier: Apache-2.0 */
/* groot's YAML config file (`--config FILE`). */
#ifndef CFWIN_CLI_IMAGE_CONFIG_H
#define CFWIN_CLI_IMAGE_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

typedef struct cf_image_config {
  char *log_level; /* NULL when the file sets none */
  char **insecure_registries;
  size_t insecure_registry_count;
  /* Unpack limits of cf_pull_options; 0 when the file sets none. */
  int64_t max_layer_bytes;
  int64_t max_image_bytes;
  int64_t max_layer_entries;
  int64_t max_layers;
  /* Registry time limits in seconds; 0 when the file sets none. */
  int64_t stall_timeout_s;
  int64_t request_timeout_s;
  int64_t pull_timeout_s;
  char **unknown_keys; /* keys groot does not know, for a warning */
  size_t unknown_key_count;
} cf_image_config;

/* Reads the file. Keys: log_level (a string), insecure_registries (a list of
 * strings), max_layer_bytes, max_image_bytes, max_layer_entries, max_layers,
 * stall_timeout_s, request_timeout_s and pull_timeout_s (positive integers,
 * cfwin's own) and log_format (written by the BOSH job; ignored,
 * as groot does).
 * Other keys land in unknown_keys. A value of the wrong kind or a YAML
 * syntax error is CF_E_INVALID naming the file and the key or line. */
int cf_image_config_load(const char *path, cf_image_config *out, cf_err **err);
void cf_image_config_clear(cf_image_config *config);

#endif
