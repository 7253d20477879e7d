/* SPDX-License-Identifier: Apache-2.0 */
/* groot's YAML config file, read with libyaml's document loader. */
#include "cli/image_config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "base/mem.h"

void cf_image_config_clear(cf_image_config *config)
{
  free(config->log_level);
  cf_strv_free(config->insecure_registries, config->insecure_registry_count);
  cf_strv_free(config->unknown_keys, config->unknown_key_count);
  memset(config, 0, sizeof(*config));
}

static const char *scalar(yaml_node_t *node)
{
  return node != NULL && node->type == YAML_SCALAR_NODE ? (const char *)node->data.scalar.value
                                                        : NULL;
}

static void append(char ***strv, size_t *count, const char *value)
{
  *strv = cf_xrealloc(*strv, (*count + 2) * sizeof(char *));
  (*strv)[(*count)++] = cf_xstrdup(value);
  (*strv)[*count] = NULL;
}

/* An empty value (`insecure_registries:`) is an empty list. */
static int read_registries(const char *path, yaml_document_t *doc, yaml_node_t *value,
                           cf_image_config *out, cf_err **err)
{
  const char *text = scalar(value);
  if (text != NULL && (text[0] == '\0' || strcmp(text, "~") == 0 || strcmp(text, "null") == 0)) {
    return 0;
  }
  if (value == NULL || value->type != YAML_SEQUENCE_NODE) {
    return cf_err_set(err, CF_E_INVALID,
                      "config %s: insecure_registries must be a list of host[:port] strings", path);
  }
  for (yaml_node_item_t *item = value->data.sequence.items.start;
       item < value->data.sequence.items.top; item++) {
    const char *host = scalar(yaml_document_get_node(doc, *item));
    if (host == NULL || host[0] == '\0') {
      return cf_err_set(err, CF_E_INVALID,
                        "config %s: insecure_registries must be a list of host[:port] strings",
                        path);
    }
    append(&out->insecure_registries, &out->insecure_registry_count, host);
  }
  return 0;
}

/* The integer keys and where each is stored. */
static int64_t *integer_field(cf_image_config *out, const char *key)
{
  if (strcmp(key, "max_layer_bytes") == 0) {
    return &out->max_layer_bytes;
  }
  if (strcmp(key, "max_image_bytes") == 0) {
    return &out->max_image_bytes;
  }
  if (strcmp(key, "max_layer_entries") == 0) {
    return &out->max_layer_entries;
  }
  if (strcmp(key, "max_layers") == 0) {
    return &out->max_layers;
  }
  if (strcmp(key, "stall_timeout_s") == 0) {
    return &out->stall_timeout_s;
  }
  if (strcmp(key, "request_timeout_s") == 0) {
    return &out->request_timeout_s;
  }
  if (strcmp(key, "pull_timeout_s") == 0) {
    return &out->pull_timeout_s;
  }
  return NULL;
}

/* Reads a positive decimal integer, as the limit keys take. */
static int read_positive(const char *path, const char *key, yaml_node_t *value, int64_t *out,
                         cf_err **err)
{
  const char *text = scalar(value);
  char *end = NULL;
  errno = 0;
  long long n = text != NULL ? strtoll(text, &end, 10) : 0;
  if (text == NULL || text[0] == '\0' || *end != '\0' || errno != 0 || n <= 0) {
    return cf_err_set(err, CF_E_INVALID, "config %s: %s must be a positive integer, got \"%s\"",
                      path, key, text != NULL ? text : "(not a scalar)");
  }
  *out = (int64_t)n;
  return 0;
}

static int read_pair(const char *path, yaml_document_t *doc, yaml_node_pair_t *pair,
                     cf_image_config *out, cf_err **err)
{
  const char *key = scalar(yaml_document_get_node(doc, pair->key));
  yaml_node_t *value = yaml_document_get_node(doc, pair->value);
  if (key == NULL) {
    return cf_err_set(err, CF_E_INVALID, "config %s: a key is not a string", path);
  }
  if (strcmp(key, "log_level") == 0) {
    const char *level = scalar(value);
    if (level == NULL) {
      return cf_err_set(err, CF_E_INVALID,
                        "config %s: log_level must be a string: debug, info, error or fatal", path);
    }
    free(out->log_level);
    out->log_level = cf_xstrdup(level);
    return 0;
  }
  if (strcmp(key, "insecure_registries") == 0) {
    return read_registries(path, doc, value, out, err);
  }
  int64_t *field = integer_field(out, key);
  if (field != NULL) {
    return read_positive(path, key, value, field, err);
  }
  if (strcmp(key, "log_format") != 0) {
    append(&out->unknown_keys, &out->unknown_key_count, key);
  }
  return 0;
}

static int read_document(const char *path, yaml_document_t *doc, cf_image_config *out, cf_err **err)
{
  yaml_node_t *root = yaml_document_get_root_node(doc);
  if (root == NULL) {
    return 0; /* an empty file */
  }
  const char *text = scalar(root);
  if (text != NULL && text[0] == '\0') {
    return 0;
  }
  if (root->type != YAML_MAPPING_NODE) {
    return cf_err_set(err, CF_E_INVALID, "config %s: expected a mapping of keys to values", path);
  }
  for (yaml_node_pair_t *pair = root->data.mapping.pairs.start; pair < root->data.mapping.pairs.top;
       pair++) {
    if (read_pair(path, doc, pair, out, err) < 0) {
      return -1;
    }
  }
  return 0;
}

int cf_image_config_load(const char *path, cf_image_config *out, cf_err **err)
{
  memset(out, 0, sizeof(*out));
  FILE *file = fopen(path, "rbe");
  if (file == NULL) {
    return cf_err_sys(err, errno, "read config %s", path);
  }
  yaml_parser_t parser;
  yaml_document_t doc;
  yaml_parser_initialize(&parser);
  yaml_parser_set_input_file(&parser, file);
  int rc = 0;
  if (!yaml_parser_load(&parser, &doc)) {
    rc = cf_err_set(err, CF_E_INVALID, "config %s: line %zu column %zu: %s", path,
                    parser.problem_mark.line + 1, parser.problem_mark.column + 1,
                    parser.problem != NULL ? parser.problem : "invalid YAML");
  } else {
    rc = read_document(path, &doc, out, err);
    yaml_document_delete(&doc);
  }
  yaml_parser_delete(&parser);
  fclose(file);
  if (rc < 0) {
    cf_image_config_clear(out);
  }
  return rc;
}
