/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Bundle and process spec loading and validation. The messages are winc's:
 * its own for files and process rules, runtime-tools' for mandatory fields
 * and platform sections, so callers that match them keep working.
 */
#include "runtime/bundle.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/mem.h"

/* Largest config.json or process.json read. */
#define SPEC_FILE_MAX (16 * 1024 * 1024)

/* The messages of one failed check, joined with "\n\t". */
typedef struct problems {
  cf_buf text;
  size_t count;
} problems;

static void problems_init(problems *p)
{
  cf_buf_init(&p->text, SPEC_FILE_MAX);
  p->count = 0;
}

static void problem(problems *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void problem(problems *p, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  cf_autofree char *line = cf_xvasprintf(fmt, ap);
  va_end(ap);
  cf_buf_printf(&p->text, NULL, "\n\t%s", line);
  p->count++;
}

static int problems_fail(problems *p, cf_err **err, const char *prefix)
{
  int rc = cf_err_set(err, CF_E_INVALID, "%s%s", prefix, p->text.data);
  cf_buf_free(&p->text);
  return rc;
}

/* ---- paths ---- */

/* Returns path made absolute against the working directory and cleaned
 * lexically: no doubled or trailing slash, no "." or ".." components. */
static char *clean_path(const char *path)
{
  cf_autofree char *cwd = NULL;
  if (path[0] != '/') {
    cwd = getcwd(NULL, 0);
  }
  cf_autofree char *full = cwd != NULL ? cf_xasprintf("%s/%s", cwd, path) : cf_xstrdup(path);
  char *out = cf_xmalloc(strlen(full) + 2);
  size_t len = 0;
  char *save = NULL;
  for (char *part = strtok_r(full, "/", &save); part != NULL; part = strtok_r(NULL, "/", &save)) {
    if (strcmp(part, ".") == 0) {
      continue;
    }
    if (strcmp(part, "..") == 0) {
      while (len > 0 && out[len - 1] != '/') {
        len--;
      }
      if (len > 0) {
        len--;
      }
      continue;
    }
    out[len++] = '/';
    size_t n = strlen(part);
    memcpy(out + len, part, n);
    len += n;
  }
  if (len == 0) {
    out[len++] = '/';
  }
  out[len] = '\0';
  return out;
}

static const char *base_name(const char *path)
{
  const char *slash = strrchr(path, '/');
  return slash != NULL && slash[1] != '\0' ? slash + 1 : path;
}

/* ---- text checks ---- */

/* True when text is well-formed UTF-8 without overlong forms or
 * surrogates. */
static bool valid_utf8(const unsigned char *s, size_t len)
{
  size_t i = 0;
  while (i < len) {
    unsigned char c = s[i];
    size_t extra;
    uint32_t cp;
    if (c < 0x80) {
      i++;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      extra = 1;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      extra = 2;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      extra = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= len) {
      return false;
    }
    for (size_t k = 1; k <= extra; k++) {
      if ((s[i + k] & 0xc0) != 0x80) {
        return false;
      }
      cp = (cp << 6) | (s[i + k] & 0x3f);
    }
    static const uint32_t min_cp[] = {0, 0x80, 0x800, 0x10000};
    if (cp < min_cp[extra] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    i += extra + 1;
  }
  return true;
}

/* Reads path into a new string; *missing is set when it does not exist. */
static char *read_text(const char *path, size_t *len, bool *missing, cf_err **err)
{
  *missing = false;
  cf_buf buf;
  cf_buf_init(&buf, SPEC_FILE_MAX);
  cf_err *read_err = NULL;
  if (cf_read_file(path, &buf, &read_err) < 0) {
    *missing = read_err->sys_errno == ENOENT;
    cf_err_free(*err);
    if (err != NULL) {
      *err = read_err;
    } else {
      cf_err_free(read_err);
    }
    cf_buf_free(&buf);
    return NULL;
  }
  *len = buf.len;
  char *text = cf_buf_take(&buf);
  return text != NULL ? text : cf_xstrdup("");
}

/* ---- typed JSON access; a wrong type is an invalid-JSON detail ---- */

typedef struct reader {
  char *type_error; /* first "FIELD must be TYPE" */
} reader;

static void type_error(reader *r, const char *field, const char *type)
{
  if (r->type_error == NULL) {
    r->type_error = cf_xasprintf("%s must be %s", field, type);
  }
}

static json_t *get_object(reader *r, json_t *parent, const char *key, const char *field)
{
  json_t *value = json_object_get(parent, key);
  if (value == NULL || json_is_null(value)) {
    return NULL;
  }
  if (!json_is_object(value)) {
    type_error(r, field, "an object");
    return NULL;
  }
  return value;
}

static char *get_string(reader *r, json_t *parent, const char *key, const char *field)
{
  json_t *value = json_object_get(parent, key);
  if (value == NULL || json_is_null(value)) {
    return NULL;
  }
  if (!json_is_string(value)) {
    type_error(r, field, "a string");
    return NULL;
  }
  return cf_xstrdup(json_string_value(value));
}

static bool get_bool(reader *r, json_t *parent, const char *key, const char *field)
{
  json_t *value = json_object_get(parent, key);
  if (value == NULL || json_is_null(value)) {
    return false;
  }
  if (!json_is_boolean(value)) {
    type_error(r, field, "a boolean");
    return false;
  }
  return json_is_true(value);
}

static bool get_u32(reader *r, json_t *parent, const char *key, const char *field, uint32_t *out)
{
  json_t *value = json_object_get(parent, key);
  if (value == NULL || json_is_null(value)) {
    return false;
  }
  if (!json_is_integer(value) || json_integer_value(value) < 0 ||
      json_integer_value(value) > UINT32_MAX) {
    type_error(r, field, "an unsigned 32-bit integer");
    return false;
  }
  *out = (uint32_t)json_integer_value(value);
  return true;
}

static uint64_t get_u64(reader *r, json_t *parent, const char *key, const char *field)
{
  json_t *value = json_object_get(parent, key);
  if (value == NULL || json_is_null(value)) {
    return 0;
  }
  // jansson stores integers as json_int_t (long long), so limits above
  // 2^63-1 cannot be represented and are rejected with the negative ones.
  if (!json_is_integer(value) || json_integer_value(value) < 0) {
    type_error(r, field, "an unsigned 64-bit integer");
    return 0;
  }
  return (uint64_t)json_integer_value(value);
}

static char **get_strings(reader *r, json_t *parent, const char *key, const char *field,
                          size_t *count)
{
  *count = 0;
  json_t *value = json_object_get(parent, key);
  if (value == NULL || json_is_null(value)) {
    return NULL;
  }
  if (!json_is_array(value)) {
    type_error(r, field, "an array of strings");
    return NULL;
  }
  size_t n = json_array_size(value);
  char **out = cf_xcalloc(n + 1, sizeof(char *));
  for (size_t i = 0; i < n; i++) {
    json_t *item = json_array_get(value, i);
    if (!json_is_string(item)) {
      type_error(r, field, "an array of strings");
      cf_strv_free(out, i);
      return NULL;
    }
    out[i] = cf_xstrdup(json_string_value(item));
  }
  *count = n;
  return out;
}

/* ---- parsed form ---- */

static void read_process(reader *r, json_t *json, cf_bundle_process *out)
{
  out->terminal = get_bool(r, json, "terminal", "process.terminal");
  json_t *size = get_object(r, json, "consoleSize", "process.consoleSize");
  uint32_t value;
  if (size != NULL && get_u32(r, size, "height", "process.consoleSize.height", &value)) {
    out->console_height = value;
  }
  if (size != NULL && get_u32(r, size, "width", "process.consoleSize.width", &value)) {
    out->console_width = value;
  }
  out->args = get_strings(r, json, "args", "process.args", &out->arg_count);
  out->env = get_strings(r, json, "env", "process.env", &out->env_count);
  out->cwd = get_string(r, json, "cwd", "process.cwd");
  json_t *user = get_object(r, json, "user", "process.user");
  if (user != NULL) {
    bool has_uid = get_u32(r, user, "uid", "process.user.uid", &out->uid);
    bool has_gid = get_u32(r, user, "gid", "process.user.gid", &out->gid);
    out->has_ids = has_uid || has_gid;
    out->username = get_string(r, user, "username", "process.user.username");
  }
}

static void read_mounts(reader *r, json_t *json, cf_bundle *out)
{
  json_t *mounts = json_object_get(json, "mounts");
  if (mounts == NULL || json_is_null(mounts)) {
    return;
  }
  if (!json_is_array(mounts)) {
    type_error(r, "mounts", "an array");
    return;
  }
  out->mounts = cf_xcalloc(json_array_size(mounts) + 1, sizeof(cf_bundle_mount));
  size_t i;
  json_t *item;
  json_array_foreach(mounts, i, item)
  {
    if (!json_is_object(item)) {
      type_error(r, "mounts", "an array of objects");
      return;
    }
    cf_bundle_mount *m = &out->mounts[out->mount_count++];
    m->destination = get_string(r, item, "destination", "mounts.destination");
    m->type = get_string(r, item, "type", "mounts.type");
    m->source = get_string(r, item, "source", "mounts.source");
    m->options = get_strings(r, item, "options", "mounts.options", &m->option_count);
  }
}

static void read_namespaces(reader *r, json_t *linux_json, cf_bundle *out)
{
  json_t *list = json_object_get(linux_json, "namespaces");
  if (list == NULL || json_is_null(list)) {
    return;
  }
  if (!json_is_array(list)) {
    type_error(r, "linux.namespaces", "an array");
    return;
  }
  out->namespaces = cf_xcalloc(json_array_size(list) + 1, sizeof(cf_bundle_namespace));
  size_t i;
  json_t *item;
  json_array_foreach(list, i, item)
  {
    if (!json_is_object(item)) {
      type_error(r, "linux.namespaces", "an array of objects");
      return;
    }
    cf_bundle_namespace *ns = &out->namespaces[out->namespace_count++];
    ns->type = get_string(r, item, "type", "linux.namespaces.type");
    ns->path = get_string(r, item, "path", "linux.namespaces.path");
  }
}

static void read_windows_resources(reader *r, json_t *windows, cf_bundle *out)
{
  json_t *resources = get_object(r, windows, "resources", "windows.resources");
  if (resources == NULL) {
    return;
  }
  json_t *memory = get_object(r, resources, "memory", "windows.resources.memory");
  if (memory != NULL) {
    out->memory_limit = get_u64(r, memory, "limit", "windows.resources.memory.limit");
  }
  json_t *cpu = get_object(r, resources, "cpu", "windows.resources.cpu");
  uint32_t shares = 0;
  if (cpu != NULL && get_u32(r, cpu, "shares", "windows.resources.cpu.shares", &shares)) {
    if (shares > UINT16_MAX) {
      type_error(r, "windows.resources.cpu.shares", "an unsigned 16-bit integer");
    } else {
      out->cpu_shares = (uint16_t)shares;
    }
  }
}

static void read_windows(reader *r, json_t *windows, cf_bundle *out)
{
  out->layer_folders =
      get_strings(r, windows, "layerFolders", "windows.layerFolders", &out->layer_folder_count);
  json_t *network = get_object(r, windows, "network", "windows.network");
  if (network != NULL) {
    out->network_shared_container = get_string(r, network, "networkSharedContainerName",
                                               "windows.network.networkSharedContainerName");
    out->network_namespace =
        get_string(r, network, "networkNamespace", "windows.network.networkNamespace");
  }
  read_windows_resources(r, windows, out);
}

static void read_bundle(reader *r, json_t *json, enum cf_bundle_platform platform, cf_bundle *out)
{
  out->oci_version = get_string(r, json, "ociVersion", "ociVersion");
  out->hostname = get_string(r, json, "hostname", "hostname");
  json_t *root = get_object(r, json, "root", "root");
  if (root != NULL) {
    cf_autofree char *path = get_string(r, root, "path", "root.path");
    if (path != NULL && path[0] != '\0') {
      /* winc passes a Windows root.path (a volume path) on unchanged. */
      out->root_path = path[0] == '/' || platform == CF_BUNDLE_WINDOWS
                           ? cf_xstrdup(path)
                           : cf_xasprintf("%s/%s", out->dir, path);
    }
    out->root_readonly = get_bool(r, root, "readonly", "root.readonly");
  }
  json_t *process = get_object(r, json, "process", "process");
  if (process != NULL) {
    out->has_process = true;
    read_process(r, process, &out->process);
  }
  read_mounts(r, json, out);
  json_t *linux_json = get_object(r, json, "linux", "linux");
  if (linux_json != NULL) {
    out->has_linux = true;
    read_namespaces(r, linux_json, out);
  }
  json_t *windows = get_object(r, json, "windows", "windows");
  if (windows != NULL) {
    read_windows(r, windows, out);
  }
}

/* ---- validation ---- */

static bool is_empty_string(json_t *parent, const char *key)
{
  json_t *value = json_object_get(parent, key);
  return !json_is_string(value) || json_string_value(value)[0] == '\0';
}

/* runtime-tools CheckMandatoryFields: fields the spec does not mark
 * omitempty must be set. */
static void check_mandatory(json_t *json, problems *p)
{
  if (is_empty_string(json, "ociVersion")) {
    problem(p, "'Spec.Version' should not be empty");
  }
  json_t *root = json_object_get(json, "root");
  if (json_is_object(root) && is_empty_string(root, "path")) {
    problem(p, "'Spec.Root.Path' should not be empty");
  }
  json_t *process = json_object_get(json, "process");
  if (json_is_object(process) && is_empty_string(process, "cwd")) {
    problem(p, "'Process.Cwd' should not be empty");
  }
  json_t *windows = json_object_get(json, "windows");
  if (json_is_object(windows) && json_array_size(json_object_get(windows, "layerFolders")) == 0) {
    problem(p, "'Windows.LayerFolders' should not be empty");
  }
}

/* runtime-tools CheckPlatform and the root rule of CheckRoot. */
static void check_platform(json_t *json, enum cf_bundle_platform platform, problems *p)
{
  const char *name = platform == CF_BUNDLE_WINDOWS ? "windows" : "linux";
  if (platform == CF_BUNDLE_WINDOWS && !json_is_object(json_object_get(json, "windows"))) {
    problem(p, "'windows' MUST be set when platform is `windows`");
  }
  if (!json_is_object(json_object_get(json, "root"))) {
    problem(p, "'root' MUST be set when platform is `%s`", name);
  }
}

/* Parses the major version of a SemVer string; sets *why on failure. */
static bool semver_major(const char *version, long *major, const char **why)
{
  if (version[0] == '\0') {
    *why = "Version string empty";
    return false;
  }
  const char *dot1 = strchr(version, '.');
  const char *dot2 = dot1 != NULL ? strchr(dot1 + 1, '.') : NULL;
  if (dot2 == NULL) {
    *why = "No Major.Minor.Patch elements found";
    return false;
  }
  const char *parts[] = {version, dot1 + 1, dot2 + 1};
  const size_t lens[] = {(size_t)(dot1 - version), (size_t)(dot2 - dot1 - 1),
                         strcspn(dot2 + 1, "-+")};
  static const char *const why_bad[] = {"Invalid character(s) found in major number",
                                        "Invalid character(s) found in minor number",
                                        "Invalid character(s) found in patch number"};
  for (int i = 0; i < 3; i++) {
    if (lens[i] == 0 || strspn(parts[i], "0123456789") < lens[i]) {
      *why = why_bad[i];
      return false;
    }
  }
  *major = strtol(version, NULL, 10);
  return true;
}

static void check_version(json_t *json, problems *p)
{
  json_t *value = json_object_get(json, "ociVersion");
  const char *version = json_is_string(value) ? json_string_value(value) : "";
  long major = 0;
  const char *why = NULL;
  if (!semver_major(version, &major, &why)) {
    problem(p, "\"%s\" is not a valid SemVer: %s", version, why);
    return;
  }
  if (major != 1) {
    problem(p,
            "validate currently only handles version 1.*, but the supplied configuration "
            "targets %s",
            version);
  }
}

static bool windows_absolute(const char *path)
{
  bool drive = ((path[0] >= 'A' && path[0] <= 'Z') || (path[0] >= 'a' && path[0] <= 'z')) &&
               path[1] == ':' && (path[2] == '\\' || path[2] == '/');
  /* winc joins a path without a volume onto C:, so "/Users" is C:\Users. */
  return drive || path[0] == '\\' || path[0] == '/';
}

int cf_process_check(const cf_bundle_process *process, enum cf_bundle_platform platform,
                     cf_err **err)
{
  problems p;
  problems_init(&p);
  const char *cwd = process->cwd != NULL ? process->cwd : "";
  bool absolute = platform == CF_BUNDLE_WINDOWS ? windows_absolute(cwd) : cwd[0] == '/';
  if (!absolute) {
    problem(&p, "cwd \"%s\" is not an absolute path", cwd);
  }
  if (process->arg_count == 0) {
    problem(&p, "args must not be empty");
  }
  for (size_t i = 0; i < process->env_count; i++) {
    const char *eq = strchr(process->env[i], '=');
    if (eq == NULL || eq == process->env[i]) {
      problem(&p, "env \"%s\" should be in the form of 'key=value'.", process->env[i]);
    }
  }
  if (p.count == 0) {
    cf_buf_free(&p.text);
    return 0;
  }
  return problems_fail(&p, err, "process config is invalid:");
}

static int check_bundle_json(const char *config, json_t *json, enum cf_bundle_platform platform,
                             cf_err **err)
{
  problems p;
  problems_init(&p);
  check_mandatory(json, &p);
  check_platform(json, platform, &p);
  check_version(json, &p);
  if (p.count == 0) {
    cf_buf_free(&p.text);
    return 0;
  }
  cf_autofree char *prefix = cf_xasprintf("bundle config.json is invalid: %s:", config);
  return problems_fail(&p, err, prefix);
}

/* ---- entry points ---- */

static json_t *parse_json(const char *what, const char *path, const char *text, size_t len,
                          cf_err **err)
{
  json_error_t jerr;
  json_t *json = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
  if (json == NULL) {
    cf_err_set(err, CF_E_INVALID, "%s contains invalid JSON: %s: %s at line %d column %d", what,
               path, jerr.text, jerr.line, jerr.column);
    return NULL;
  }
  if (!json_is_object(json)) {
    json_decref(json);
    cf_err_set(err, CF_E_INVALID, "%s contains invalid JSON: %s: the top level is not an object",
               what, path);
    return NULL;
  }
  return json;
}

int cf_bundle_parse(const char *dir, const char *text, size_t len, enum cf_bundle_platform platform,
                    cf_bundle *out, cf_err **err)
{
  memset(out, 0, sizeof(*out));
  cf_autofree char *config = cf_path_join(dir, "config.json");
  if (!valid_utf8((const unsigned char *)text, len)) {
    return cf_err_set(err, CF_E_INVALID, "bundle config.json not encoded in UTF-8: %s", config);
  }
  json_t *json = parse_json("bundle config.json", config, text, len, err);
  if (json == NULL) {
    return -1;
  }
  int rc = check_bundle_json(config, json, platform, err);
  reader r = {0};
  out->dir = cf_xstrdup(dir);
  if (rc == 0) {
    read_bundle(&r, json, platform, out);
  }
  json_decref(json);
  if (rc == 0 && r.type_error != NULL) {
    rc = cf_err_set(err, CF_E_INVALID, "bundle config.json contains invalid JSON: %s: %s", config,
                    r.type_error);
  }
  free(r.type_error);
  if (rc == 0 && out->has_process) {
    rc = cf_process_check(&out->process, platform, err);
  }
  if (rc < 0) {
    cf_bundle_clear(out);
  }
  return rc;
}

int cf_bundle_load(const char *id, const char *bundle_dir, enum cf_bundle_platform platform,
                   cf_bundle *out, cf_err **err)
{
  memset(out, 0, sizeof(*out));
  cf_autofree char *dir =
      clean_path(bundle_dir != NULL && bundle_dir[0] != '\0' ? bundle_dir : ".");
  if (strcmp(base_name(dir), id) != 0) {
    return cf_err_set(err, CF_E_INVALID, "container id does not match bundle directory name: %s",
                      id);
  }
  struct stat st;
  if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
    return cf_err_set(err, CF_E_NOT_FOUND, "bundle does not exist: %s", dir);
  }
  cf_autofree char *config = cf_path_join(dir, "config.json");
  size_t len = 0;
  bool missing;
  cf_err *read_err = NULL;
  cf_autofree char *text = read_text(config, &len, &missing, &read_err);
  if (text == NULL) {
    if (missing) {
      cf_err_free(read_err);
      return cf_err_set(err, CF_E_NOT_FOUND, "bundle config.json does not exist: %s", config);
    }
    cf_err_free(*err);
    *err = read_err;
    return -1;
  }
  return cf_bundle_parse(dir, text, len, platform, out, err);
}

int cf_process_load(const char *path, cf_bundle_process *out, cf_err **err)
{
  memset(out, 0, sizeof(*out));
  size_t len = 0;
  bool missing;
  cf_err *read_err = NULL;
  cf_autofree char *text = read_text(path, &len, &missing, &read_err);
  if (text == NULL) {
    if (missing) {
      cf_err_free(read_err);
      return cf_err_set(err, CF_E_NOT_FOUND, "process config does not exist: %s", path);
    }
    cf_err_free(*err);
    *err = read_err;
    return -1;
  }
  if (!valid_utf8((const unsigned char *)text, len)) {
    return cf_err_set(err, CF_E_INVALID, "process config is not encoded in UTF-8: %s", path);
  }
  json_t *json = parse_json("process config", path, text, len, err);
  if (json == NULL) {
    return -1;
  }
  reader r = {0};
  read_process(&r, json, out);
  json_decref(json);
  if (r.type_error != NULL) {
    cf_err_set(err, CF_E_INVALID, "process config contains invalid JSON: %s: %s", path,
               r.type_error);
    free(r.type_error);
    cf_bundle_process_clear(out);
    return -1;
  }
  return 0;
}

void cf_bundle_process_clear(cf_bundle_process *process)
{
  cf_strv_free(process->args, process->arg_count);
  cf_strv_free(process->env, process->env_count);
  free(process->cwd);
  free(process->username);
  memset(process, 0, sizeof(*process));
}

void cf_bundle_clear(cf_bundle *bundle)
{
  free(bundle->dir);
  free(bundle->oci_version);
  free(bundle->root_path);
  free(bundle->hostname);
  cf_bundle_process_clear(&bundle->process);
  for (size_t i = 0; i < bundle->mount_count; i++) {
    cf_bundle_mount *m = &bundle->mounts[i];
    free(m->destination);
    free(m->type);
    free(m->source);
    cf_strv_free(m->options, m->option_count);
  }
  free(bundle->mounts);
  for (size_t i = 0; i < bundle->namespace_count; i++) {
    free(bundle->namespaces[i].type);
    free(bundle->namespaces[i].path);
  }
  free(bundle->namespaces);
  cf_strv_free(bundle->layer_folders, bundle->layer_folder_count);
  free(bundle->network_shared_container);
  free(bundle->network_namespace);
  memset(bundle, 0, sizeof(*bundle));
}

const char *cf_bundle_option_value(const cf_bundle_mount *mount, const char *name)
{
  size_t len = strlen(name);
  for (size_t i = 0; i < mount->option_count; i++) {
    if (strncmp(mount->options[i], name, len) == 0 && mount->options[i][len] == '=') {
      return mount->options[i] + len + 1;
    }
  }
  return NULL;
}
