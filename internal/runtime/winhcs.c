/* SPDX-License-Identifier: Apache-2.0 */
/* HCS schema v2 documents, queries and HRESULT messages of the Windows
 * runtime backend. Platform-neutral: see winhcs.h. */
#include "runtime/winhcs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/mem.h"
#include "runtime/winjson.h"

#define MIB (1024u * 1024u)
#define PROCESSOR_MAX 10000u

/* --- Compute system --- */

/* Checks \\?\Volume{GUID} with an optional trailing `\`, the only form
 * HCS accepts as Storage.Path. */
static int check_volume_path(const char *path, cf_err **err)
{
  static const char prefix[] = "\\\\?\\Volume{";
  size_t plen = sizeof(prefix) - 1;
  size_t len = path != NULL ? strlen(path) : 0;
  size_t bare = plen + CF_HCS_GUID_STRLEN + 1;
  bool valid = (len == bare || (len == bare + 1 && path[bare] == '\\')) &&
               strncmp(path, prefix, plen) == 0 && path[bare - 1] == '}';
  if (valid) {
    char guid[CF_HCS_GUID_STRLEN + 1];
    memcpy(guid, path + plen, CF_HCS_GUID_STRLEN);
    guid[CF_HCS_GUID_STRLEN] = '\0';
    valid = cf_winrt_guid_valid(guid);
  }
  if (!valid) {
    return cf_err_set(err, CF_E_INVALID,
                      "volume path \"%s\": expected \\\\?\\Volume{GUID}\\, the mount path of the "
                      "container's writable layer",
                      path != NULL ? path : "");
  }
  return 0;
}

static int check_layers(const cf_hcs_container_config *config, cf_err **err)
{
  if (config->layer_count == 0) {
    return cf_err_set(err, CF_E_INVALID, "no layers: a container needs at least its base layer");
  }
  for (size_t i = 0; i < config->layer_count; i++) {
    const cf_hcs_layer *layer = &config->layers[i];
    if (layer->id == NULL || !cf_winrt_guid_valid(layer->id)) {
      return cf_err_set(err, CF_E_INVALID, "layer %zu: id \"%s\" is not a GUID", i,
                        layer->id != NULL ? layer->id : "");
    }
    if (layer->path == NULL || layer->path[0] == '\0') {
      return cf_err_set(err, CF_E_INVALID, "layer %zu: empty path", i);
    }
  }
  return 0;
}

static int check_mapped_dirs(const cf_hcs_container_config *config, cf_err **err)
{
  for (size_t i = 0; i < config->mapped_dir_count; i++) {
    const cf_hcs_mapped_dir *dir = &config->mapped_dirs[i];
    if (dir->host_path == NULL || dir->host_path[0] == '\0') {
      return cf_err_set(err, CF_E_INVALID, "mapped directory %zu: empty host path", i);
    }
    if (dir->container_path == NULL || !cf_winrt_path_is_absolute(dir->container_path)) {
      return cf_err_set(err, CF_E_INVALID,
                        "mapped directory %zu: container path \"%s\" is not an absolute Windows "
                        "path",
                        i, dir->container_path != NULL ? dir->container_path : "");
    }
  }
  return 0;
}

static int check_resources(const cf_hcs_container_config *config, cf_err **err)
{
  if (config->processor_weight > PROCESSOR_MAX || config->processor_maximum > PROCESSOR_MAX) {
    return cf_err_set(err, CF_E_INVALID,
                      "processor weight %u or maximum %u is out of range: use 1 to %u, or 0 for "
                      "none",
                      (unsigned)config->processor_weight, (unsigned)config->processor_maximum,
                      PROCESSOR_MAX);
  }
  if (config->processor_weight != 0 && config->processor_maximum != 0) {
    return cf_err_set(err, CF_E_INVALID,
                      "processor weight %u and maximum %u: set only one, because hcsshim "
                      "rejects both together for a process-isolated container",
                      (unsigned)config->processor_weight, (unsigned)config->processor_maximum);
  }
  if (config->memory_limit != 0 && config->memory_limit < MIB) {
    return cf_err_set(err, CF_E_INVALID,
                      "memory limit %llu bytes is under the 1 MiB unit of HCS; use 0 for no "
                      "limit",
                      (unsigned long long)config->memory_limit);
  }
  return 0;
}

static int check_container_config(const cf_hcs_container_config *config, cf_err **err)
{
  if (config->owner == NULL || config->owner[0] == '\0') {
    return cf_err_set(err, CF_E_INVALID, "compute system owner is empty");
  }
  if (check_layers(config, err) < 0 || check_volume_path(config->volume_path, err) < 0 ||
      check_mapped_dirs(config, err) < 0 || check_resources(config, err) < 0) {
    return -1;
  }
  const char *ns = config->network_namespace;
  if (ns != NULL && ns[0] != '\0' && !cf_winrt_guid_valid(ns)) {
    return cf_err_set(err, CF_E_INVALID, "network namespace \"%s\" is not a GUID", ns);
  }
  return 0;
}

static void append_storage(cf_buf *buf, const cf_hcs_container_config *config)
{
  cf_buf_append_str(buf, "\"Storage\":{\"Layers\":[", NULL);
  for (size_t i = 0; i < config->layer_count; i++) {
    cf_buf_append_str(buf, i > 0 ? ",{\"Id\":" : "{\"Id\":", NULL);
    cf_winjson_string(buf, config->layers[i].id);
    cf_buf_append_str(buf, ",\"Path\":", NULL);
    cf_winjson_string(buf, config->layers[i].path);
    cf_buf_append_str(buf, "}", NULL);
  }
  cf_buf_append_str(buf, "],\"Path\":", NULL);
  cf_winjson_string(buf, config->volume_path);
  cf_buf_append_str(buf, "}", NULL);
}

static void append_mapped_dirs(cf_buf *buf, const cf_hcs_container_config *config)
{
  if (config->mapped_dir_count == 0) {
    return;
  }
  cf_buf_append_str(buf, ",\"MappedDirectories\":[", NULL);
  for (size_t i = 0; i < config->mapped_dir_count; i++) {
    const cf_hcs_mapped_dir *dir = &config->mapped_dirs[i];
    cf_buf_append_str(buf, i > 0 ? ",{\"HostPath\":" : "{\"HostPath\":", NULL);
    cf_winjson_string(buf, dir->host_path);
    cf_buf_append_str(buf, ",\"ContainerPath\":", NULL);
    cf_winjson_string(buf, dir->container_path);
    cf_buf_printf(buf, NULL, ",\"ReadOnly\":%s}", dir->read_only ? "true" : "false");
  }
  cf_buf_append_str(buf, "]", NULL);
}

static void append_resources(cf_buf *buf, const cf_hcs_container_config *config)
{
  if (config->processor_weight != 0) {
    cf_buf_printf(buf, NULL, ",\"Processor\":{\"Weight\":%u}", (unsigned)config->processor_weight);
  } else if (config->processor_maximum != 0) {
    cf_buf_printf(buf, NULL, ",\"Processor\":{\"Maximum\":%u}",
                  (unsigned)config->processor_maximum);
  }
  if (config->memory_limit != 0) {
    cf_buf_printf(buf, NULL, ",\"Memory\":{\"SizeInMB\":%llu}",
                  (unsigned long long)(config->memory_limit / MIB));
  }
}

int cf_hcs_container_json(const cf_hcs_container_config *config, char **out, cf_err **err)
{
  if (check_container_config(config, err) < 0) {
    return -1;
  }
  cf_buf buf;
  cf_winjson_doc_init(&buf);
  cf_buf_append_str(&buf, "{\"Owner\":", NULL);
  cf_winjson_string(&buf, config->owner);
  cf_buf_append_str(&buf, ",\"SchemaVersion\":{\"Major\":2,\"Minor\":1},\"Container\":{", NULL);
  if (config->hostname != NULL && config->hostname[0] != '\0') {
    cf_buf_append_str(&buf, "\"GuestOs\":{\"HostName\":", NULL);
    cf_winjson_string(&buf, config->hostname);
    cf_buf_append_str(&buf, "},", NULL);
  }
  append_storage(&buf, config);
  append_mapped_dirs(&buf, config);
  append_resources(&buf, config);
  if (config->network_namespace != NULL && config->network_namespace[0] != '\0') {
    cf_buf_append_str(&buf, ",\"Networking\":{\"Namespace\":", NULL);
    cf_winjson_string(&buf, config->network_namespace);
    cf_buf_append_str(&buf, "}", NULL);
  }
  cf_buf_append_str(&buf, "}}", NULL);
  return cf_winjson_doc_take("compute system document", &buf, out, err);
}

/* --- Process parameters --- */

typedef struct env_entry {
  char *key;
  const char *value; /* points into the entry after its first `=` */
} env_entry;

static int compare_env(const void *a, const void *b)
{
  return strcmp(((const env_entry *)a)->key, ((const env_entry *)b)->key);
}

/* Splits the entries at their first `=`, keeps the last value of each key
 * and sorts by key. Returns the number of entries in *out. */
static size_t env_map(const char *const *env, size_t count, env_entry **out)
{
  env_entry *entries = cf_xcalloc(count > 0 ? count : 1, sizeof(*entries));
  size_t used = 0;
  for (size_t i = 0; i < count; i++) {
    const char *eq = strchr(env[i], '=');
    char *key = cf_xstrndup(env[i], (size_t)(eq - env[i]));
    size_t j = 0;
    while (j < used && strcmp(entries[j].key, key) != 0) {
      j++;
    }
    if (j == used) {
      entries[used++].key = key;
    } else {
      free(key);
    }
    entries[j].value = eq + 1;
  }
  qsort(entries, used, sizeof(*entries), compare_env);
  *out = entries;
  return used;
}

static void append_environment(cf_buf *buf, const cf_winrt_process *process)
{
  env_entry *entries = NULL;
  size_t count = env_map(process->env, process->env_count, &entries);
  cf_buf_append_str(buf, ",\"Environment\":{", NULL);
  for (size_t i = 0; i < count; i++) {
    if (i > 0) {
      cf_buf_append_str(buf, ",", NULL);
    }
    cf_winjson_string(buf, entries[i].key);
    cf_buf_append_str(buf, ":", NULL);
    cf_winjson_string(buf, entries[i].value);
    free(entries[i].key);
  }
  cf_buf_append_str(buf, "}", NULL);
  free(entries);
}

static void append_stdio(cf_buf *buf, const cf_hcs_process_options *options)
{
  const char *pipes = options->stdio_pipes ? "true" : "false";
  const char *err_pipe = options->stdio_pipes && !options->tty ? "true" : "false";
  cf_buf_printf(buf, NULL,
                ",\"EmulateConsole\":%s,\"CreateStdInPipe\":%s,\"CreateStdOutPipe\":%s,"
                "\"CreateStdErrPipe\":%s",
                options->tty ? "true" : "false", pipes, pipes, err_pipe);
  if (options->tty && options->console_height != 0 && options->console_width != 0) {
    cf_buf_printf(buf, NULL, ",\"ConsoleSize\":[%u,%u]", (unsigned)options->console_height,
                  (unsigned)options->console_width);
  }
}

int cf_hcs_process_json(const cf_winrt_process *process, const cf_hcs_process_options *options,
                        char **out, cf_err **err)
{
  if (cf_winrt_process_validate(process, err) < 0) {
    return -1;
  }
  cf_autofree char *command_line = NULL;
  if (cf_winrt_command_line(process->args, process->arg_count, &command_line, err) < 0) {
    return -1;
  }
  cf_autofree char *cwd = cf_winrt_container_path(process->cwd);
  cf_buf buf;
  cf_winjson_doc_init(&buf);
  cf_buf_append_str(&buf, "{\"CommandLine\":", NULL);
  cf_winjson_string(&buf, command_line);
  if (process->user != NULL && process->user[0] != '\0') {
    cf_buf_append_str(&buf, ",\"User\":", NULL);
    cf_winjson_string(&buf, process->user);
  }
  cf_buf_append_str(&buf, ",\"WorkingDirectory\":", NULL);
  cf_winjson_string(&buf, cwd);
  append_environment(&buf, process);
  append_stdio(&buf, options);
  cf_buf_append_str(&buf, "}", NULL);
  return cf_winjson_doc_take("process parameters document", &buf, out, err);
}

/* --- Queries and small documents --- */

char *cf_hcs_enumerate_query(const char *id, bool by_owner)
{
  cf_buf buf;
  cf_winjson_doc_init(&buf);
  cf_buf_append_str(&buf, by_owner ? "{\"Owners\":[" : "{\"Ids\":[", NULL);
  cf_winjson_string(&buf, id);
  cf_buf_append_str(&buf, "]}", NULL);
  return cf_buf_take(&buf);
}

char *cf_hcs_properties_query(const char *const *types, size_t count)
{
  cf_buf buf;
  cf_winjson_doc_init(&buf);
  cf_buf_append_str(&buf, "{\"PropertyTypes\":[", NULL);
  for (size_t i = 0; i < count; i++) {
    if (i > 0) {
      cf_buf_append_str(&buf, ",", NULL);
    }
    cf_winjson_string(&buf, types[i]);
  }
  cf_buf_append_str(&buf, "]}", NULL);
  return cf_buf_take(&buf);
}

char *cf_hcs_signal_options(enum cf_hcs_signal signal)
{
  static const char *const names[] = {
      [CF_HCS_SIGNAL_CTRL_C] = "CtrlC",
      [CF_HCS_SIGNAL_CTRL_BREAK] = "CtrlBreak",
      [CF_HCS_SIGNAL_CTRL_CLOSE] = "CtrlClose",
      [CF_HCS_SIGNAL_CTRL_LOGOFF] = "CtrlLogOff",
      [CF_HCS_SIGNAL_CTRL_SHUTDOWN] = "CtrlShutdown",
  };
  return cf_xasprintf("{\"Signal\":\"%s\"}", names[signal]);
}

char *cf_hcs_close_stdin_json(void)
{
  return cf_xstrdup("{\"Operation\":\"CloseHandle\",\"CloseHandle\":{\"Handle\":\"StdIn\"}}");
}

char *cf_hcs_console_size_json(uint16_t height, uint16_t width)
{
  return cf_xasprintf(
      "{\"Operation\":\"ConsoleSize\",\"ConsoleSize\":{\"Height\":%u,\"Width\":%u}}",
      (unsigned)height, (unsigned)width);
}

/* --- HRESULTs --- */

typedef struct hresult_entry {
  uint32_t code;
  const char *text;
} hresult_entry;

/* HCS codes have no entry in the system message table. The text of
 * 0xC037010E is hcsshim's, which winc's callers match; the others are
 * cfwin's wording. */
static const hresult_entry hresult_texts[] = {
    {0xC0370103u, "HCS_E_OPERATION_PENDING: the operation is still pending"},
    {0xC0370105u, "HCS_E_INVALID_STATE: the compute system is in an invalid state for the call"},
    {0xC0370106u, "HCS_E_UNEXPECTED_EXIT: the compute system exited unexpectedly"},
    {0xC037010Bu, "HCS_E_UNKNOWN_MESSAGE: HCS does not know the request"},
    {0xC037010Du, "HCS_E_INVALID_JSON: HCS rejected the JSON document"},
    {0xC037010Eu, "A virtual machine or container with the specified identifier does not exist."},
    {0xC037010Fu, "HCS_E_SYSTEM_ALREADY_EXISTS: a compute system with this identifier exists"},
    {0xC0370110u, "HCS_E_SYSTEM_ALREADY_STOPPED: the compute system is already stopped"},
    {0x80370110u, "HCS_E_SYSTEM_ALREADY_STOPPED: the compute system is already stopped"},
    {0x80370118u, "HCS_E_OPERATION_TIMEOUT: the operation timed out"},
    {0x8037011Fu, "HCS_E_PROCESS_ALREADY_STOPPED: the process has already exited"},
};

const char *cf_hcs_hresult_text(uint32_t hr)
{
  for (size_t i = 0; i < sizeof(hresult_texts) / sizeof(hresult_texts[0]); i++) {
    if (hresult_texts[i].code == hr) {
      return hresult_texts[i].text;
    }
  }
  return NULL;
}

/* The text of hr: the HCS table, else the system message without its
 * trailing line break, else the code. */
static char *hresult_text(uint32_t hr, const char *system_message)
{
  const char *known = cf_hcs_hresult_text(hr);
  if (known != NULL) {
    return cf_xstrdup(known);
  }
  if (system_message != NULL) {
    size_t len = strlen(system_message);
    while (len > 0 && strchr("\r\n ", system_message[len - 1]) != NULL) {
      len--;
    }
    if (len > 0) {
      return cf_xstrndup(system_message, len);
    }
  }
  return cf_xasprintf("HRESULT 0x%08X", (unsigned)hr);
}

char *cf_hcs_error_message(const char *call, const char *id, uint32_t hr,
                           const char *system_message)
{
  cf_autofree char *text = hresult_text(hr, system_message);
  return cf_xasprintf("hcs::%s %s: %s", call, id, text);
}

/* The Win32 code inside hr: hr itself when it is a plain code, the low 16
 * bits of an HRESULT of FACILITY_WIN32, else 0. */
static uint32_t win32_code(uint32_t hr)
{
  if (hr <= 0xffffu) {
    return hr;
  }
  if ((hr & 0x1fff0000u) == 0x00070000u) {
    return hr & 0xffffu;
  }
  return 0;
}

char *cf_winrt_clean_error(uint32_t hr, const char *system_message)
{
  switch (win32_code(hr)) {
  case 0x5AF:
  case 0x6BE:
  case 0x71A:
  case 0x36B1:
    return cf_xstrdup("not enough memory");
  default:
    return hresult_text(hr, system_message);
  }
}

char *cf_winrt_exec_error_message(const char *cleaned, const char *argv0, const char *id)
{
  return cf_xasprintf("%s: could not start command '%s' in container: %s", cleaned, argv0, id);
}

bool cf_hcs_hresult_is_stopped(uint32_t hr)
{
  return hr == 0xC0370110u || hr == 0x80370110u || hr == 0xC037010Eu;
}

bool cf_hcs_hresult_is_process_gone(uint32_t hr)
{
  return hr == 0x80070005u || hr == 0x8037011Fu;
}
