/* SPDX-License-Identifier: Apache-2.0 */
/* winc's status of a container, bundle loading with Windows paths and pid
 * files for the runtime role's Windows commands. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/mem.h"
#include "cli/windows/runtime_win.h"
#include "image/windows/win.h"

/* Largest config.json read, as on Linux. */
#define CONFIG_MAX (16 * 1024 * 1024)

void wrt_container_clear(wrt_container *container)
{
  cf_runtime_record_clear(&container->record);
  container->status = NULL;
}

/* Reads HCS's list of systems with id: how many there are and whether the
 * first is stopped. */
static int enumerate_id(const cf_hcs_api *api, const char *id, size_t *count, bool *stopped,
                        cf_err **err)
{
  cf_autofree char *query = cf_hcs_enumerate_query(id, false);
  cf_autofree char *result = NULL;
  if (cf_hcs_enumerate(api, query, &result, err) < 0) {
    return -1;
  }
  json_error_t jerr;
  json_t *list = json_loads(result, 0, &jerr);
  if (!json_is_array(list)) {
    json_decref(list);
    return cf_err_set(err, CF_E_SYSTEM, "HcsEnumerateComputeSystems returned no JSON array: %s",
                      result);
  }
  *count = json_array_size(list);
  json_t *state = json_object_get(json_array_get(list, 0), "State");
  *stopped = json_is_string(state) && strcmp(json_string_value(state), "Stopped") == 0;
  json_decref(list);
  return 0;
}

int wrt_process_start_time(DWORD pid, uint64_t *start_time, cf_err **err)
{
  HANDLE host = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid);
  if (host == NULL) {
    cf_win_last_error(err, GetLastError(), "OpenProcess");
    return cf_err_wrap(err, "process %lu", (unsigned long)pid);
  }
  FILETIME created, exited, kernel, user;
  BOOL ok = GetProcessTimes(host, &created, &exited, &kernel, &user);
  DWORD code = GetLastError();
  CloseHandle(host);
  if (!ok) {
    cf_win_last_error(err, code, "GetProcessStartTime");
    return cf_err_wrap(err, "process %lu", (unsigned long)pid);
  }
  *start_time = (uint64_t)created.dwHighDateTime << 32 | created.dwLowDateTime;
  return 0;
}

/* The status of a started container from its host process: running while
 * the process with the recorded pid runs and has the recorded creation
 * time, so a reused pid reads as stopped. */
static int process_status(const cf_runtime_record *record, const char **status, cf_err **err)
{
  HANDLE host = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, (DWORD)record->pid);
  if (host == NULL && GetLastError() == ERROR_INVALID_PARAMETER) {
    *status = WRT_STATUS_STOPPED;
    return 0;
  }
  if (host == NULL) {
    return cf_win_last_error(err, GetLastError(), "OpenProcess");
  }
  DWORD code = 0;
  BOOL ok = GetExitCodeProcess(host, &code);
  DWORD error = GetLastError();
  CloseHandle(host);
  if (!ok) {
    return cf_win_last_error(err, error, "GetExitCodeProcess");
  }
  if (code != STILL_ACTIVE) {
    *status = WRT_STATUS_STOPPED;
    return 0;
  }
  uint64_t start_time = 0;
  if (wrt_process_start_time((DWORD)record->pid, &start_time, err) < 0) {
    return -1;
  }
  *status = start_time == record->start_time ? WRT_STATUS_RUNNING : WRT_STATUS_STOPPED;
  return 0;
}

/* The status the record gives before the host process is asked, or NULL
 * when the process decides. */
static const char *record_status(const cf_runtime_record *record)
{
  if (strcmp(record->status, CF_RUNTIME_CREATING) == 0) {
    return WRT_STATUS_CREATING;
  }
  if (record->exec_failed) {
    return WRT_STATUS_STOPPED;
  }
  if (record->pid == 0 && record->start_time == 0) {
    return WRT_STATUS_CREATED;
  }
  return NULL;
}

int wrt_container_get(rt_context *ctx, const cf_hcs_api *api, const char *id, wrt_container *out,
                      cf_err **err)
{
  memset(out, 0, sizeof(*out));
  size_t count = 0;
  bool stopped = false;
  if (enumerate_id(api, id, &count, &stopped, err) < 0) {
    return -1;
  }
  if (count == 0) {
    return cf_err_set(err, CF_E_NOT_FOUND, "container not found: %s", id);
  }
  if (count > 1) {
    return cf_err_set(err, CF_E_SYSTEM, "multiple containers found with the same id: %s", id);
  }
  if (rt_open_store(ctx, err) < 0 || cf_store_runtime_get(ctx->store, id, &out->record, err) < 0) {
    return -1;
  }
  out->status = stopped ? WRT_STATUS_STOPPED : record_status(&out->record);
  if (out->status != NULL) {
    return 0;
  }
  if (out->record.pid == 0 || out->record.start_time == 0) {
    int rc = cf_err_set(err, CF_E_SYSTEM, "invalid state: PID %lld, start time %llu",
                        (long long)out->record.pid, (unsigned long long)out->record.start_time);
    wrt_container_clear(out);
    return rc;
  }
  if (process_status(&out->record, &out->status, err) < 0) {
    wrt_container_clear(out);
    return -1;
  }
  return 0;
}

static bool is_separator(char c)
{
  return c == '\\' || c == '/';
}

/* The absolute form of dir without trailing separators (a drive root
 * keeps its own). */
static char *absolute_dir(const char *dir, cf_err **err)
{
  char *full = _fullpath(NULL, dir, 0);
  if (full == NULL) {
    cf_err_sys(err, errno, "invalid bundle path %s", dir);
    return NULL;
  }
  size_t len = strlen(full);
  while (len > 3 && is_separator(full[len - 1])) {
    full[--len] = '\0';
  }
  return full;
}

static const char *base_name(const char *path)
{
  const char *base = path;
  for (const char *p = path; *p != '\0'; p++) {
    if (is_separator(*p) || *p == ':') {
      base = p + 1;
    }
  }
  return base;
}

static int read_config(const char *config, cf_buf *text, cf_err **err)
{
  cf_err *read_err = NULL;
  if (cf_read_file(config, text, &read_err) == 0) {
    if (text->len > CONFIG_MAX) {
      return cf_err_set(err, CF_E_LIMIT, "bundle config.json is larger than %d bytes: %s",
                        CONFIG_MAX, config);
    }
    return 0;
  }
  if (read_err->sys_errno == ENOENT) {
    cf_err_free(read_err);
    return cf_err_set(err, CF_E_NOT_FOUND, "bundle config.json does not exist: %s", config);
  }
  cf_err_free(*err);
  *err = read_err;
  return -1;
}

int wrt_bundle_load(const char *id, const char *bundle_dir, cf_bundle *out, cf_err **err)
{
  memset(out, 0, sizeof(*out));
  cf_autofree char *dir =
      absolute_dir(bundle_dir != NULL && bundle_dir[0] != '\0' ? bundle_dir : ".", err);
  if (dir == NULL) {
    return -1;
  }
  if (strcmp(base_name(dir), id) != 0) {
    return cf_err_set(err, CF_E_INVALID, "container id does not match bundle directory name: %s",
                      id);
  }
  struct stat st;
  if (stat(dir, &st) < 0 || (st.st_mode & _S_IFDIR) == 0) {
    return cf_err_set(err, CF_E_NOT_FOUND, "bundle does not exist: %s", dir);
  }
  cf_autofree char *config = cf_xasprintf("%s\\config.json", dir);
  cf_buf text;
  cf_buf_init(&text, CONFIG_MAX + 1);
  int rc = read_config(config, &text, err);
  if (rc == 0) {
    rc = cf_bundle_parse(dir, text.data != NULL ? text.data : "", text.len, CF_BUNDLE_WINDOWS, out,
                         err);
  }
  cf_buf_free(&text);
  return rc;
}

int wrt_write_pid_file(const char *path, DWORD pid, cf_err **err)
{
  if (path == NULL || path[0] == '\0') {
    return 0;
  }
  FILE *file = fopen(path, "wb");
  if (file == NULL) {
    return cf_err_sys(err, errno, "open pid file %s", path);
  }
  int written = fprintf(file, "%lu", (unsigned long)pid);
  if (fclose(file) != 0 || written < 0) {
    return cf_err_sys(err, errno, "write pid file %s", path);
  }
  return 0;
}
