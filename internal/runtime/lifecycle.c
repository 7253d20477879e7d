/* SPDX-License-Identifier: Apache-2.0 */
/* The runtime role's lifecycle: bundles to containers, records to statuses. */
#include "runtime/lifecycle.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/mem.h"

/* The largest id of a user namespace map entry, plus one. */
#define ID_LIMIT UINT64_C(4294967295)

/* A container spec built from a bundle and the memory it points into. */
typedef struct spec_build {
  cf_container_spec spec;
  cf_mount_spec *mounts;
  char **lower_dirs; /* bottom first */
  size_t lower_count;
  json_t *config; /* the bundle's config.json */
  cf_runtime_id_map *uid_map;
  cf_runtime_id_map *gid_map;
} spec_build;

static void free_build(spec_build *b)
{
  free(b->mounts);
  cf_strv_free(b->lower_dirs, b->lower_count);
  json_decref(b->config);
  free(b->uid_map);
  free(b->gid_map);
}

int cf_lifecycle_load_config(const char *bundle_dir, void **config, cf_err **err)
{
  cf_autofree char *path = cf_path_join(bundle_dir, "config.json");
  json_error_t error;
  json_t *json = json_load_file(path, 0, &error);
  if (json == NULL) {
    return cf_err_set(err, CF_E_INVALID, "read bundle config %s: %s", path, error.text);
  }
  *config = json;
  return 0;
}

/* Reads an optional integer at key of object; absent, null or negative
 * (runc's -1 for no limit) is 0. */
static int read_limit(const json_t *object, const char *key, const char *field, uint64_t *out,
                      cf_err **err)
{
  const json_t *value = json_object_get(object, key);
  if (value == NULL || json_is_null(value)) {
    return 0;
  }
  if (!json_is_integer(value)) {
    return cf_err_set(err, CF_E_INVALID, "%s.%s must be an integer", field, key);
  }
  json_int_t number = json_integer_value(value);
  *out = number > 0 ? (uint64_t)number : 0;
  return 0;
}

/* Maps linux.resources: memory.limit, cpu.shares, cpu.quota, cpu.period
 * and pids.limit. */
static int map_resources(const json_t *linux_obj, cf_resource_limits *limits, cf_err **err)
{
  const json_t *resources = json_object_get(linux_obj, "resources");
  if (resources == NULL) {
    return 0;
  }
  const json_t *memory = json_object_get(resources, "memory");
  const json_t *cpu = json_object_get(resources, "cpu");
  const json_t *pids = json_object_get(resources, "pids");
  if (read_limit(memory, "limit", "linux.resources.memory", &limits->memory_bytes, err) < 0 ||
      read_limit(cpu, "shares", "linux.resources.cpu", &limits->cpu_shares, err) < 0 ||
      read_limit(cpu, "quota", "linux.resources.cpu", &limits->cpu_quota_us, err) < 0 ||
      read_limit(cpu, "period", "linux.resources.cpu", &limits->cpu_period_us, err) < 0 ||
      read_limit(pids, "limit", "linux.resources.pids", &limits->pids_max, err) < 0) {
    return -1;
  }
  return 0;
}

static int read_id(const json_t *entry, const char *key, const char *field, size_t index,
                   uint32_t *out, cf_err **err)
{
  const json_t *value = json_object_get(entry, key);
  if (!json_is_integer(value) || json_integer_value(value) < 0 ||
      (uint64_t)json_integer_value(value) >= ID_LIMIT) {
    return cf_err_set(err, CF_E_INVALID, "%s[%zu].%s must be an integer from 0 to %llu", field,
                      index, key, (unsigned long long)ID_LIMIT - 1);
  }
  *out = (uint32_t)json_integer_value(value);
  return 0;
}

/* Parses linux.uidMappings or linux.gidMappings; the runtime checks the
 * ranges against each other. */
static int read_id_map(const json_t *linux_obj, const char *key, cf_runtime_id_map **out,
                       size_t *count, cf_err **err)
{
  const json_t *list = json_object_get(linux_obj, key);
  char field[32];
  snprintf(field, sizeof(field), "linux.%s", key);
  if (list == NULL) {
    return 0;
  }
  if (!json_is_array(list)) {
    return cf_err_set(err, CF_E_INVALID, "%s must be an array", field);
  }
  *count = json_array_size(list);
  *out = cf_xcalloc(*count + 1, sizeof(cf_runtime_id_map));
  for (size_t i = 0; i < *count; i++) {
    const json_t *entry = json_array_get(list, i);
    cf_runtime_id_map *line = &(*out)[i];
    if (read_id(entry, "containerID", field, i, &line->container_id, err) < 0 ||
        read_id(entry, "hostID", field, i, &line->host_id, err) < 0 ||
        read_id(entry, "size", field, i, &line->size, err) < 0) {
      return -1;
    }
  }
  return 0;
}

static bool has_new_namespace(const cf_bundle *bundle, const char *type)
{
  for (size_t i = 0; i < bundle->namespace_count; i++) {
    const cf_bundle_namespace *ns = &bundle->namespaces[i];
    if (ns->type != NULL && strcmp(ns->type, type) == 0 &&
        (ns->path == NULL || ns->path[0] == '\0')) {
      return true;
    }
  }
  return false;
}

/* A user namespace needs both maps and a "user" namespace entry, as in
 * runc. */
static int map_user_namespace(const cf_bundle *bundle, const json_t *linux_obj, spec_build *b,
                              cf_err **err)
{
  cf_container_spec *spec = &b->spec;
  if (read_id_map(linux_obj, "uidMappings", &b->uid_map, &spec->uid_map_count, err) < 0 ||
      read_id_map(linux_obj, "gidMappings", &b->gid_map, &spec->gid_map_count, err) < 0) {
    return -1;
  }
  spec->uid_map = b->uid_map;
  spec->gid_map = b->gid_map;
  bool user_ns = has_new_namespace(bundle, "user");
  bool maps = spec->uid_map_count > 0 || spec->gid_map_count > 0;
  if (user_ns && (spec->uid_map_count == 0 || spec->gid_map_count == 0)) {
    return cf_err_set(err, CF_E_INVALID,
                      "bundle %s has a user namespace: it needs linux.uidMappings and "
                      "linux.gidMappings",
                      bundle->dir);
  }
  if (!user_ns && maps) {
    return cf_err_set(err, CF_E_INVALID,
                      "bundle %s has linux.uidMappings or linux.gidMappings but no user "
                      "namespace: add {\"type\": \"user\"} to linux.namespaces",
                      bundle->dir);
  }
  return 0;
}

/* Maps the parts of config.json the bundle parser leaves to the runtime. */
static int map_config(const cf_bundle *bundle, spec_build *b, cf_err **err)
{
  void *config = NULL;
  if (cf_lifecycle_load_config(bundle->dir, &config, err) < 0) {
    return -1;
  }
  b->config = config;
  b->spec.oci_config = config;
  const json_t *linux_obj = json_object_get(b->config, "linux");
  if (map_resources(linux_obj, &b->spec.limits, err) < 0) {
    return -1;
  }
  return map_user_namespace(bundle, linux_obj, b, err);
}

static const cf_bundle_mount *find_overlay_root(const cf_bundle *bundle)
{
  for (size_t i = 0; i < bundle->mount_count; i++) {
    const cf_bundle_mount *m = &bundle->mounts[i];
    if (m->destination != NULL && strcmp(m->destination, "/") == 0 && m->type != NULL &&
        strcmp(m->type, "overlay") == 0) {
      return m;
    }
  }
  return NULL;
}

/* Splits "top:...:base" into a bottom-first list. */
static void split_lower(const char *text, spec_build *b)
{
  cf_autofree char *copy = cf_xstrdup(text);
  char *save = NULL;
  for (char *dir = strtok_r(copy, ":", &save); dir != NULL; dir = strtok_r(NULL, ":", &save)) {
    b->lower_dirs = cf_xrealloc(b->lower_dirs, (b->lower_count + 1) * sizeof(char *));
    memmove(b->lower_dirs + 1, b->lower_dirs, b->lower_count * sizeof(char *));
    b->lower_dirs[0] = cf_xstrdup(dir);
    b->lower_count++;
  }
}

/* True when m mounts a device on a directory that contains path: the image
 * role's filesystem for the overlay's upper and work directories. */
static bool holds_upper(const cf_bundle_mount *m, const char *upper)
{
  if (m->source == NULL || strncmp(m->source, "/dev/", 5) != 0 || m->destination == NULL ||
      upper == NULL) {
    return false;
  }
  size_t len = strlen(m->destination);
  return strncmp(upper, m->destination, len) == 0 && upper[len] == '/';
}

/* The image role's form: root.path is the overlay mount point, and the
 * mounts hold the overlay ("/") and optionally its upper filesystem. */
static int map_overlay_root(const cf_bundle *bundle, const cf_bundle_mount *overlay, spec_build *b,
                            cf_err **err)
{
  const char *lower = cf_bundle_option_value(overlay, "lowerdir");
  const char *upper = cf_bundle_option_value(overlay, "upperdir");
  const char *work = cf_bundle_option_value(overlay, "workdir");
  if (lower == NULL || upper == NULL || work == NULL) {
    return cf_err_set(err, CF_E_INVALID,
                      "the overlay mount on / of bundle %s needs lowerdir, upperdir and workdir "
                      "options",
                      bundle->dir);
  }
  split_lower(lower, b);
  cf_rootfs_spec *rootfs = &b->spec.rootfs;
  rootfs->lower_dirs = (const char *const *)b->lower_dirs;
  rootfs->lower_count = b->lower_count;
  rootfs->upper_dir = upper;
  rootfs->work_dir = work;
  for (size_t i = 0; i < bundle->mount_count; i++) {
    const cf_bundle_mount *m = &bundle->mounts[i];
    if (holds_upper(m, upper)) {
      rootfs->upper_device = m->source;
      rootfs->upper_fs_type = m->type;
      rootfs->upper_mount_dir = m->destination;
    }
  }
  return 0;
}

/* Every bundle mount but those map_overlay_root() consumed. */
static void map_mounts(const cf_bundle *bundle, const cf_bundle_mount *overlay, spec_build *b)
{
  b->mounts = cf_xcalloc(bundle->mount_count + 1, sizeof(cf_mount_spec));
  size_t n = 0;
  for (size_t i = 0; i < bundle->mount_count; i++) {
    const cf_bundle_mount *m = &bundle->mounts[i];
    if (m == overlay || (overlay != NULL && m->source == b->spec.rootfs.upper_device &&
                         m->destination == b->spec.rootfs.upper_mount_dir)) {
      continue;
    }
    b->mounts[n++] = (cf_mount_spec){
        .destination = m->destination,
        .type = m->type,
        .source = m->source,
        .options = (const char *const *)m->options,
        .option_count = m->option_count,
    };
  }
  b->spec.mounts = b->mounts;
  b->spec.mount_count = n;
  b->spec.own_mounts = n > 0;
}

/* Only a network namespace can be joined; a user or cgroup namespace is
 * left to the modules that add them. */
static int map_namespaces(const cf_bundle *bundle, spec_build *b, cf_err **err)
{
  for (size_t i = 0; i < bundle->namespace_count; i++) {
    const cf_bundle_namespace *ns = &bundle->namespaces[i];
    if (ns->path == NULL || ns->path[0] == '\0') {
      continue;
    }
    if (ns->type == NULL || strcmp(ns->type, "network") != 0) {
      return cf_err_set(err, CF_E_NOT_IMPLEMENTED,
                        "joining an existing %s namespace (%s) is not supported; only a network "
                        "namespace can be joined",
                        ns->type != NULL ? ns->type : "", ns->path);
    }
    b->spec.network_path = ns->path;
  }
  return 0;
}

static int build_spec(const char *id, const cf_bundle *bundle, spec_build *b, cf_err **err)
{
  memset(b, 0, sizeof(*b));
  if (bundle->root_path == NULL) {
    return cf_err_set(err, CF_E_INVALID, "bundle %s has no root.path", bundle->dir);
  }
  b->spec.handle = id;
  b->spec.hostname = bundle->hostname;
  b->spec.rootfs.target = bundle->root_path;
  b->spec.rootfs.readonly = bundle->root_readonly;
  const cf_bundle_mount *overlay = find_overlay_root(bundle);
  if (overlay != NULL && map_overlay_root(bundle, overlay, b, err) < 0) {
    return -1;
  }
  map_mounts(bundle, overlay, b);
  if (map_namespaces(bundle, b, err) < 0) {
    return -1;
  }
  return map_config(bundle, b, err);
}

cf_container_init cf_lifecycle_init(const cf_runtime_record *record)
{
  return (cf_container_init){.pid = (pid_t)record->init_pid, .start_time = record->init_start_time};
}

/* The container whose network namespace the bundle joins, or NULL. */
static char *find_owner(cf_store *store, const cf_bundle *bundle, const char *network_path)
{
  if (bundle->network_shared_container != NULL) {
    return cf_xstrdup(bundle->network_shared_container);
  }
  if (network_path == NULL) {
    return NULL;
  }
  char **ids = NULL;
  size_t count = 0;
  char *owner = NULL;
  if (cf_store_runtime_list(store, NULL, &ids, &count, NULL) < 0) {
    return NULL;
  }
  for (size_t i = 0; i < count && owner == NULL; i++) {
    cf_runtime_record record;
    if (cf_store_runtime_get(store, ids[i], &record, NULL) < 0) {
      continue;
    }
    cf_container_init init = cf_lifecycle_init(&record);
    if (record.init_pid > 0 && cf_runtime_container_has_network(&init, network_path)) {
      owner = cf_xstrdup(record.id);
    }
    cf_runtime_record_clear(&record);
  }
  cf_strv_free(ids, count);
  return owner;
}

static int64_t now_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int cf_lifecycle_create(cf_store *store, const char *id, const cf_bundle *bundle, cf_err **err)
{
  spec_build b;
  if (build_spec(id, bundle, &b, err) < 0) {
    free_build(&b);
    return -1;
  }
  cf_autofree char *owner = find_owner(store, bundle, b.spec.network_path);
  cf_runtime_record record = {
      .id = (char *)id,
      .bundle = bundle->dir,
      .owner = owner,
      .status = CF_RUNTIME_CREATING,
      .created_at_ns = now_ns(),
  };
  if (cf_store_runtime_insert(store, &record, err) < 0) {
    free_build(&b);
    return -1;
  }
  cf_container_init init;
  int rc = cf_runtime_container_create(&b.spec, &init, err);
  free_build(&b);
  if (rc == 0 && cf_store_runtime_set_init(store, id, init.pid, init.start_time, err) < 0) {
    cf_runtime_container_destroy(&init, NULL);
    rc = -1;
  }
  if (rc < 0) {
    cf_store_runtime_delete(store, id, NULL);
  }
  return rc;
}

const char *cf_lifecycle_status(const cf_runtime_record *record)
{
  if (strcmp(record->status, CF_RUNTIME_CREATING) == 0) {
    return CF_STATUS_CREATING;
  }
  cf_container_init init = cf_lifecycle_init(record);
  if (!cf_runtime_container_alive(&init) || record->exec_failed) {
    return CF_STATUS_STOPPED;
  }
  if (record->pid == 0) {
    return CF_STATUS_CREATED;
  }
  cf_container_init process = {.pid = (pid_t)record->pid, .start_time = record->start_time};
  return cf_runtime_container_alive(&process) ? CF_STATUS_RUNNING : CF_STATUS_STOPPED;
}

/* The largest terminal dimension: struct winsize stores unsigned shorts. */
#define TERMINAL_SIZE_MAX 65535

static int terminal_size(unsigned value, const char *field, uint16_t *out, cf_err **err)
{
  if (value > TERMINAL_SIZE_MAX) {
    return cf_err_set(err, CF_E_INVALID,
                      "process.consoleSize.%s %u is too large: the maximum is %d", field, value,
                      TERMINAL_SIZE_MAX);
  }
  *out = (uint16_t)value;
  return 0;
}

int cf_lifecycle_process_spec(const cf_bundle_process *process, char *user_buf,
                              cf_process_spec *out, cf_err **err)
{
  *out = (cf_process_spec){0};
  out->path = process->arg_count > 0 ? process->args[0] : NULL;
  out->args = process->arg_count > 0 ? (const char *const *)process->args + 1 : NULL;
  out->arg_count = process->arg_count > 0 ? process->arg_count - 1 : 0;
  out->env = (const char *const *)process->env;
  out->env_count = process->env_count;
  out->dir = process->cwd;
  if (process->username != NULL && process->username[0] != '\0') {
    out->user = process->username;
  } else if (process->has_ids) {
    snprintf(user_buf, 32, "%u:%u", process->uid, process->gid);
    out->user = user_buf;
  }
  out->terminal = process->terminal;
  if (terminal_size(process->console_height, "height", &out->terminal_rows, err) < 0 ||
      terminal_size(process->console_width, "width", &out->terminal_columns, err) < 0) {
    return -1;
  }
  return 0;
}

/* Claims a created container for one start call and loads its bundle. */
static int claim(cf_store *store, const char *id, bool terminal_allowed, cf_runtime_record *record,
                 cf_bundle *bundle, cf_err **err)
{
  if (cf_store_runtime_get(store, id, record, err) < 0) {
    return -1;
  }
  const char *status = cf_lifecycle_status(record);
  bool claimed = false;
  if (strcmp(status, CF_STATUS_CREATED) == 0 &&
      cf_store_runtime_claim_start(store, id, &claimed, err) < 0) {
    return -1;
  }
  if (!claimed) {
    if (strcmp(status, CF_STATUS_CREATED) == 0) {
      status = CF_STATUS_RUNNING; /* another start call won */
    }
    return cf_err_set(err, CF_E_INVALID, "cannot start a container in the %s state", status);
  }
  const char *slash = strrchr(record->bundle, '/');
  if (cf_bundle_load(slash != NULL ? slash + 1 : id, record->bundle, CF_BUNDLE_LINUX, bundle, err) <
      0) {
    cf_store_runtime_set_process(store, id, 0, 0, true, NULL);
    return -1;
  }
  if (!bundle->has_process) {
    cf_store_runtime_set_process(store, id, 0, 0, true, NULL);
    return cf_err_set(err, CF_E_INVALID, "process config is invalid:\n\targs must not be empty");
  }
  if (bundle->process.terminal && !terminal_allowed) {
    cf_store_runtime_set_process(store, id, 0, 0, true, NULL);
    return cf_err_set(err, CF_E_INVALID,
                      "process.terminal needs an attached process or --console-socket");
  }
  return 0;
}

/* winc's wording for a process that could not be created: the detail
 * first. */
void cf_lifecycle_could_not_start(cf_err **err, const char *argv0, const char *id)
{
  if (err == NULL || *err == NULL) {
    return;
  }
  cf_autofree char *detail = cf_xstrdup((*err)->message);
  cf_err_set(err, (*err)->code, "%s: could not start command '%s' in container: %s", detail,
             argv0 != NULL ? argv0 : "", id);
}

/* The spec of the bundle's process with the caller's stdio, or the
 * default window size for a terminal without consoleSize. */
static int start_spec(const cf_bundle *bundle, const cf_start_options *options, char *user_buf,
                      cf_process_spec *spec, cf_err **err)
{
  if (cf_lifecycle_process_spec(&bundle->process, user_buf, spec, err) < 0) {
    return -1;
  }
  spec->detach = options->detach;
  if (!spec->terminal) {
    spec->stdio = options->stdio;
  } else if (spec->terminal_rows == 0 && spec->terminal_columns == 0) {
    spec->terminal_rows = options->default_rows;
    spec->terminal_columns = options->default_columns;
  }
  return 0;
}

int cf_lifecycle_start(cf_store *store, const char *id, const cf_start_options *options,
                       cf_process *process, cf_err **err)
{
  cf_runtime_record record;
  cf_bundle bundle;
  if (claim(store, id, options->terminal_allowed, &record, &bundle, err) < 0) {
    cf_runtime_record_clear(&record);
    return -1;
  }
  char user[32];
  cf_process_spec spec;
  cf_container_init init = cf_lifecycle_init(&record);
  void *config = NULL;
  int rc = start_spec(&bundle, options, user, &spec, err);
  if (rc == 0) {
    rc = cf_lifecycle_load_config(record.bundle, &config, err);
  }
  spec.oci_config = config;
  if (rc == 0) {
    rc = cf_runtime_exec(&init, &spec, process, err);
  }
  json_decref(config);
  if (rc < 0) {
    cf_store_runtime_set_process(store, id, 0, 0, true, NULL);
    cf_lifecycle_could_not_start(err, spec.path, id);
  } else if (cf_store_runtime_set_process(store, id, process->pid, process->start_time, false,
                                          err) < 0) {
    cf_process_close(process);
    rc = -1;
  }
  cf_bundle_clear(&bundle);
  cf_runtime_record_clear(&record);
  return rc;
}

static void join_error(cf_buf *errors, cf_err *err)
{
  cf_buf_printf(errors, NULL, "%s%s", errors->len > 0 ? "\n" : "", err->message);
}

static int delete_one(cf_store *store, const char *id, bool force, cf_err **err)
{
  cf_runtime_record record;
  if (cf_store_runtime_get(store, id, &record, err) < 0) {
    if (force && (*err)->code == CF_E_NOT_FOUND) {
      cf_err_clear(err);
      return 0;
    }
    return -1;
  }
  cf_container_init init = cf_lifecycle_init(&record);
  int rc = 0;
  if (record.init_pid > 0 && cf_runtime_container_destroy(&init, err) < 0) {
    rc = -1;
  }
  if (rc == 0 && cf_runtime_container_cleanup(id, err) < 0) {
    rc = -1;
  }
  /* With force, a row that a concurrent delete already removed is fine. */
  cf_err *row_err = NULL;
  if (rc == 0 && cf_store_runtime_delete(store, id, &row_err) < 0 && !force) {
    rc = -1;
    if (err != NULL) {
      cf_err_free(*err);
      *err = row_err;
      row_err = NULL;
    }
  }
  cf_err_free(row_err);
  cf_runtime_record_clear(&record);
  return rc;
}

int cf_lifecycle_delete(cf_store *store, const char *id, bool force, cf_err **err)
{
  char **sidecars = NULL;
  size_t count = 0;
  if (cf_store_runtime_list(store, id, &sidecars, &count, err) < 0) {
    return -1;
  }
  cf_buf errors;
  cf_buf_init(&errors, 1024 * 1024);
  for (size_t i = 0; i < count; i++) {
    cf_err *sidecar_err = NULL;
    if (strcmp(sidecars[i], id) != 0 && delete_one(store, sidecars[i], true, &sidecar_err) < 0) {
      join_error(&errors, sidecar_err);
      cf_err_free(sidecar_err);
    }
  }
  cf_strv_free(sidecars, count);
  cf_err *own_err = NULL;
  if (delete_one(store, id, force, &own_err) < 0) {
    join_error(&errors, own_err);
    enum cf_code code = own_err->code;
    cf_err_free(own_err);
    int rc = cf_err_set(err, code, "%s", errors.data);
    cf_buf_free(&errors);
    return rc;
  }
  int rc = errors.len > 0 ? cf_err_set(err, CF_E_SYSTEM, "%s", errors.data) : 0;
  cf_buf_free(&errors);
  return rc;
}
