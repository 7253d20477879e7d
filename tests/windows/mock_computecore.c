/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A mock computecore.dll for the Wine integration check. Compute systems
 * live in the state file (mock_host.h) with a state of Created, Running or
 * Stopped. A stopped system disappears when its handle is closed, as HCS
 * removes it. Processes are real host processes started with
 * CreateProcessW from the CommandLine, WorkingDirectory, Environment and
 * pipe flags of the ProcessParameters document, so pids, exit codes and
 * stdio behave as they do for a process-isolated container. Every call
 * completes before it returns; its operation keeps the result.
 * Statistics are fixed: TotalRuntime100ns 123, RuntimeKernel100ns 101,
 * RuntimeUser100ns 22, MemoryUsageCommitBytes 666.
 */
#include <windows.h>

#include <computecore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mock_host.h"

#define EXPORT __declspec(dllexport)

#define HCS_E_SYSTEM_NOT_FOUND ((HRESULT)0xC037010Eu)
#define HCS_E_SYSTEM_ALREADY_EXISTS ((HRESULT)0xC037010Fu)
#define HCS_E_PROCESS_ALREADY_STOPPED ((HRESULT)0x8037011Fu)

/* How long a terminate waits for the process to be gone, so the operation
 * completes after the process exited, as an HCS terminate operation does. */
#define TERMINATE_WAIT_MS 10000

typedef struct mock_operation {
  HRESULT result;
  char *document; /* UTF-8 result document or NULL */
  HCS_PROCESS_INFORMATION info;
} mock_operation;

typedef struct mock_system {
  char id[256];
  HCS_EVENT_CALLBACK callback;
  void *context;
} mock_system;

typedef struct mock_process {
  char system_id[256];
  DWORD pid;
  HANDLE host;
} mock_process;

static void finish(HCS_OPERATION operation, HRESULT result, char *document)
{
  mock_operation *op = (mock_operation *)operation;
  if (op != NULL) {
    op->result = result;
    free(op->document);
    op->document = document;
  }
}

/* ---- operations ---- */

EXPORT HCS_OPERATION WINAPI HcsCreateOperation(const void *context,
                                               HCS_OPERATION_COMPLETION callback)
{
  return (HCS_OPERATION)calloc(1, sizeof(mock_operation));
}

EXPORT void WINAPI HcsCloseOperation(HCS_OPERATION operation)
{
  mock_operation *op = (mock_operation *)operation;
  if (op != NULL) {
    free(op->document);
    free(op);
  }
}

EXPORT HRESULT WINAPI HcsWaitForOperationResult(HCS_OPERATION operation, DWORD timeout_ms,
                                                PWSTR *result_document)
{
  mock_operation *op = (mock_operation *)operation;
  if (result_document != NULL) {
    *result_document = op->document != NULL ? mock_local_string(op->document) : NULL;
  }
  return op->result;
}

EXPORT HRESULT WINAPI HcsWaitForOperationResultAndProcessInfo(HCS_OPERATION operation,
                                                              DWORD timeout_ms,
                                                              HCS_PROCESS_INFORMATION *info,
                                                              PWSTR *result_document)
{
  mock_operation *op = (mock_operation *)operation;
  if (info != NULL) {
    *info = op->info;
  }
  return HcsWaitForOperationResult(operation, timeout_ms, result_document);
}

EXPORT HRESULT WINAPI HcsCancelOperation(HCS_OPERATION operation)
{
  return S_OK;
}

/* ---- compute systems ---- */

static void split_system(const mock_entry *entry, char *state, size_t state_size, char *owner,
                         size_t owner_size)
{
  char state_text[64] = "", owner_text[256] = "";
  sscanf(entry->value, "%63s %255s", state_text, owner_text);
  snprintf(state, state_size, "%s", state_text);
  snprintf(owner, owner_size, "%s", strcmp(owner_text, "-") == 0 ? "" : owner_text);
}

static void set_system_state(mock_entry *entry, const char *new_state)
{
  char state[64], owner[256];
  split_system(entry, state, sizeof(state), owner, sizeof(owner));
  snprintf(entry->value, sizeof(entry->value), "%s %s", new_state, owner[0] ? owner : "-");
}

/* The first string of the array member name of a query, or NULL. */
static char *query_first(const char *query, const char *name)
{
  char *pattern = malloc(strlen(name) + 4);
  sprintf(pattern, "\"%s\"", name);
  const char *p = strstr(query, pattern);
  free(pattern);
  if (p == NULL || (p = strchr(p, '[')) == NULL) {
    return NULL;
  }
  const char *start = strchr(p, '"');
  const char *end = start != NULL ? strchr(start + 1, '"') : NULL;
  const char *close = strchr(p, ']');
  if (start == NULL || end == NULL || close == NULL || start > close) {
    return NULL;
  }
  char *out = calloc((size_t)(end - start), 1);
  memcpy(out, start + 1, (size_t)(end - start - 1));
  return out;
}

static void append(char **buf, const char *text)
{
  size_t len = *buf != NULL ? strlen(*buf) : 0;
  *buf = realloc(*buf, len + strlen(text) + 1);
  strcpy(*buf + len, text);
}

static char *system_summary(const mock_entry *entry)
{
  char state[64], owner[256], line[1024];
  split_system(entry, state, sizeof(state), owner, sizeof(owner));
  snprintf(line, sizeof(line),
           "{\"Id\":\"%s\",\"SystemType\":\"Container\",\"Owner\":\"%s\",\"State\":\"%s\"}",
           entry->name, owner, state);
  return strdup(line);
}

EXPORT HRESULT WINAPI HcsEnumerateComputeSystems(PCWSTR query, HCS_OPERATION operation)
{
  mock_record("HcsEnumerateComputeSystems", NULL, query);
  HRESULT failure = mock_injected_failure("HcsEnumerateComputeSystems");
  if (FAILED(failure)) {
    return failure;
  }
  char *text = query != NULL ? mock_utf8(query) : strdup("{}");
  char *by_id = query_first(text, "Ids");
  char *by_owner = query_first(text, "Owners");
  mock_state state;
  mock_state_load(&state);
  char *result = strdup("[");
  bool first = true;
  for (size_t i = 0; i < state.count; i++) {
    mock_entry *entry = &state.entries[i];
    char status[64], owner[256];
    if (strcmp(entry->kind, "system") != 0) {
      continue;
    }
    split_system(entry, status, sizeof(status), owner, sizeof(owner));
    if ((by_id != NULL && strcmp(entry->name, by_id) != 0) ||
        (by_owner != NULL && strcmp(owner, by_owner) != 0)) {
      continue;
    }
    char *summary = system_summary(entry);
    append(&result, first ? "" : ",");
    append(&result, summary);
    free(summary);
    first = false;
  }
  append(&result, "]");
  mock_state_release(&state);
  free(by_id);
  free(by_owner);
  free(text);
  finish(operation, S_OK, result);
  return S_OK;
}

static mock_system *system_handle(const char *id)
{
  mock_system *system = calloc(1, sizeof(*system));
  snprintf(system->id, sizeof(system->id), "%s", id);
  return system;
}

EXPORT HRESULT WINAPI HcsCreateComputeSystem(PCWSTR id, PCWSTR configuration,
                                             HCS_OPERATION operation,
                                             const SECURITY_DESCRIPTOR *security,
                                             HCS_SYSTEM *compute_system)
{
  char *name = mock_utf8(id);
  mock_record("HcsCreateComputeSystem", name, configuration);
  HRESULT failure = mock_injected_failure("HcsCreateComputeSystem");
  if (FAILED(failure)) {
    free(name);
    return failure;
  }
  char *config = mock_utf8(configuration);
  char *owner = mock_json_string(config, "Owner");
  mock_state state;
  mock_state_load(&state);
  HRESULT hr = S_OK;
  if (mock_state_find(&state, "system", name) != NULL) {
    hr = HCS_E_SYSTEM_ALREADY_EXISTS;
    mock_state_release(&state);
  } else {
    char value[300];
    snprintf(value, sizeof(value), "Created %s", owner != NULL && owner[0] ? owner : "-");
    mock_state_add(&state, "system", name, value);
    mock_state_save(&state);
    *compute_system = (HCS_SYSTEM)system_handle(name);
  }
  free(owner);
  free(config);
  free(name);
  finish(operation, hr, NULL);
  return hr;
}

EXPORT HRESULT WINAPI HcsOpenComputeSystem(PCWSTR id, DWORD access, HCS_SYSTEM *compute_system)
{
  char *name = mock_utf8(id);
  mock_record("HcsOpenComputeSystem", name, NULL);
  HRESULT hr = mock_injected_failure("HcsOpenComputeSystem");
  mock_state state;
  mock_state_load(&state);
  if (SUCCEEDED(hr) && mock_state_find(&state, "system", name) == NULL) {
    hr = HCS_E_SYSTEM_NOT_FOUND;
  }
  mock_state_release(&state);
  if (SUCCEEDED(hr)) {
    *compute_system = (HCS_SYSTEM)system_handle(name);
  }
  free(name);
  return hr;
}

/* Terminates the host processes of a system and removes their entries. */
static void end_processes(mock_state *state, const char *id)
{
  mock_entry *entry;
  while ((entry = mock_state_find(state, "process", id)) != NULL) {
    HANDLE host =
        OpenProcess(PROCESS_TERMINATE | SYNCHRONIZE, FALSE, (DWORD)strtoul(entry->value, NULL, 10));
    if (host != NULL) {
      TerminateProcess(host, 1);
      WaitForSingleObject(host, TERMINATE_WAIT_MS);
      CloseHandle(host);
    }
    mock_state_remove(state, entry);
  }
}

EXPORT void WINAPI HcsCloseComputeSystem(HCS_SYSTEM compute_system)
{
  mock_system *system = (mock_system *)compute_system;
  mock_record("HcsCloseComputeSystem", system->id, NULL);
  mock_state state;
  mock_state_load(&state);
  mock_entry *entry = mock_state_find(&state, "system", system->id);
  if (entry != NULL && strncmp(entry->value, "Stopped", 7) == 0) {
    mock_state_remove(&state, entry);
    mock_state_save(&state);
  } else {
    mock_state_release(&state);
  }
  free(system);
}

/* Moves a system to new_state; Stopped also ends its processes and
 * reports SystemExited to the registered callback. */
static HRESULT change_state(const char *call, HCS_SYSTEM compute_system, HCS_OPERATION operation,
                            PCWSTR options, const char *new_state)
{
  mock_system *system = (mock_system *)compute_system;
  mock_record(call, system->id, options);
  HRESULT hr = mock_injected_failure(call);
  if (FAILED(hr)) {
    return hr;
  }
  mock_state state;
  mock_state_load(&state);
  mock_entry *entry = mock_state_find(&state, "system", system->id);
  if (entry == NULL) {
    mock_state_release(&state);
    finish(operation, HCS_E_SYSTEM_NOT_FOUND, NULL);
    return HCS_E_SYSTEM_NOT_FOUND;
  }
  set_system_state(entry, new_state);
  bool stopped = strcmp(new_state, "Stopped") == 0;
  if (stopped) {
    end_processes(&state, system->id);
  }
  mock_state_save(&state);
  if (stopped && system->callback != NULL) {
    HCS_EVENT event = {.Type = HcsEventSystemExited, .EventData = L"{\"ExitType\":\"Expected\"}"};
    system->callback(&event, system->context);
  }
  finish(operation, S_OK, NULL);
  return S_OK;
}

EXPORT HRESULT WINAPI HcsStartComputeSystem(HCS_SYSTEM compute_system, HCS_OPERATION operation,
                                            PCWSTR options)
{
  return change_state("HcsStartComputeSystem", compute_system, operation, options, "Running");
}

EXPORT HRESULT WINAPI HcsShutDownComputeSystem(HCS_SYSTEM compute_system, HCS_OPERATION operation,
                                               PCWSTR options)
{
  return change_state("HcsShutDownComputeSystem", compute_system, operation, options, "Stopped");
}

EXPORT HRESULT WINAPI HcsTerminateComputeSystem(HCS_SYSTEM compute_system, HCS_OPERATION operation,
                                                PCWSTR options)
{
  return change_state("HcsTerminateComputeSystem", compute_system, operation, options, "Stopped");
}

/* True while the host process pid runs. */
static bool process_alive(DWORD pid)
{
  HANDLE host = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid);
  DWORD code = 0;
  bool alive = host != NULL && GetExitCodeProcess(host, &code) && code == STILL_ACTIVE;
  if (host != NULL) {
    CloseHandle(host);
  }
  return alive;
}

static char *process_list(mock_state *state, const char *id)
{
  char *list = strdup("{\"ProcessList\":[");
  bool first = true;
  for (size_t i = 0; i < state->count; i++) {
    mock_entry *entry = &state->entries[i];
    DWORD pid = (DWORD)strtoul(entry->value, NULL, 10);
    if (strcmp(entry->kind, "process") != 0 || strcmp(entry->name, id) != 0 ||
        !process_alive(pid)) {
      continue;
    }
    char item[128];
    snprintf(item, sizeof(item), "%s{\"ProcessId\":%lu,\"ImageName\":\"mock.exe\"}",
             first ? "" : ",", (unsigned long)pid);
    append(&list, item);
    first = false;
  }
  append(&list, "]}");
  return list;
}

EXPORT HRESULT WINAPI HcsGetComputeSystemProperties(HCS_SYSTEM compute_system,
                                                    HCS_OPERATION operation, PCWSTR query)
{
  mock_system *system = (mock_system *)compute_system;
  mock_record("HcsGetComputeSystemProperties", system->id, query);
  HRESULT hr = mock_injected_failure("HcsGetComputeSystemProperties");
  if (FAILED(hr)) {
    return hr;
  }
  char *text = query != NULL ? mock_utf8(query) : strdup("");
  mock_state state;
  mock_state_load(&state);
  mock_entry *entry = mock_state_find(&state, "system", system->id);
  char *result = NULL;
  if (entry == NULL) {
    hr = HCS_E_SYSTEM_NOT_FOUND;
  } else if (strstr(text, "\"Statistics\"") != NULL) {
    result = strdup("{\"Statistics\":{\"Processor\":{\"TotalRuntime100ns\":123,"
                    "\"RuntimeKernel100ns\":101,\"RuntimeUser100ns\":22},"
                    "\"Memory\":{\"MemoryUsageCommitBytes\":666}}}");
  } else if (strstr(text, "\"ProcessList\"") != NULL) {
    result = process_list(&state, system->id);
  } else {
    result = system_summary(entry);
  }
  mock_state_release(&state);
  free(text);
  finish(operation, hr, result);
  return hr;
}

EXPORT HRESULT WINAPI HcsSetComputeSystemCallback(HCS_SYSTEM compute_system,
                                                  HCS_EVENT_OPTIONS options, const void *context,
                                                  HCS_EVENT_CALLBACK callback)
{
  mock_system *system = (mock_system *)compute_system;
  system->callback = callback;
  system->context = (void *)context;
  return S_OK;
}

/* ---- processes ---- */

/* The environment block of the parent with the document's Environment
 * members set on top. */
static wchar_t *environment_block(const char *params)
{
  const char *members = strstr(params, "\"Environment\"");
  wchar_t *parent = GetEnvironmentStringsW();
  size_t size = 0;
  while (parent[size] != L'\0' || parent[size + 1] != L'\0') {
    size++;
  }
  size += 2;
  char *extra = strdup("");
  if (members != NULL && (members = strchr(members, '{')) != NULL) {
    const char *end = strchr(members, '}');
    for (const char *p = strchr(members, '"'); p != NULL && p < end; p = strchr(p + 1, '"')) {
      const char *key_end = strchr(p + 1, '"');
      char key[256];
      snprintf(key, sizeof(key), "%.*s", (int)(key_end - p - 1), p + 1);
      char *value = mock_json_string(p, key);
      append(&extra, key);
      append(&extra, "=");
      append(&extra, value != NULL ? value : "");
      append(&extra, "\n");
      free(value);
      p = strchr(key_end + 1, '"'); /* the value's opening quote */
      p = p != NULL ? strchr(p + 1, '"') : NULL;
      while (p != NULL && p[-1] == '\\') {
        p = strchr(p + 1, '"');
      }
      if (p == NULL) {
        break;
      }
    }
  }
  wchar_t *wextra = mock_utf16(extra);
  free(extra);
  size_t extra_len = wcslen(wextra);
  wchar_t *block = calloc(size + extra_len + 2, sizeof(wchar_t));
  size_t len = 0;
  // The document's variables come first; the parent's follow, and Windows
  // takes the first of duplicate names.
  for (wchar_t *line = wextra; *line != L'\0';) {
    wchar_t *newline = wcschr(line, L'\n');
    size_t n = (size_t)(newline - line);
    memcpy(block + len, line, n * sizeof(wchar_t));
    len += n;
    block[len++] = L'\0';
    line = newline + 1;
  }
  memcpy(block + len, parent, size * sizeof(wchar_t));
  FreeEnvironmentStringsW(parent);
  free(wextra);
  return block;
}

static HANDLE null_device(void)
{
  SECURITY_ATTRIBUTES inherit = {sizeof(inherit), NULL, TRUE};
  return CreateFileW(L"NUL", GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE,
                     &inherit, OPEN_EXISTING, 0, NULL);
}

/* Creates a pipe whose child end is inheritable. */
static void make_pipe(bool child_reads, HANDLE *child, HANDLE *parent)
{
  SECURITY_ATTRIBUTES inherit = {sizeof(inherit), NULL, TRUE};
  HANDLE read_end, write_end;
  CreatePipe(&read_end, &write_end, &inherit, 0);
  *child = child_reads ? read_end : write_end;
  *parent = child_reads ? write_end : read_end;
  SetHandleInformation(*parent, HANDLE_FLAG_INHERIT, 0);
}

static HRESULT start_process(const char *params, HCS_PROCESS_INFORMATION *info, HANDLE *host)
{
  char *command_line = mock_json_string(params, "CommandLine");
  char *directory = mock_json_string(params, "WorkingDirectory");
  wchar_t *wcommand = mock_utf16(command_line != NULL ? command_line : "");
  wchar_t *wdirectory = directory != NULL ? mock_utf16(directory) : NULL;
  wchar_t *environment = environment_block(params);
  const char *pipe_names[] = {"CreateStdInPipe", "CreateStdOutPipe", "CreateStdErrPipe"};
  HANDLE child[3], parent[3] = {NULL, NULL, NULL};
  for (int i = 0; i < 3; i++) {
    if (mock_json_true(params, pipe_names[i])) {
      make_pipe(i == 0, &child[i], &parent[i]);
    } else {
      child[i] = null_device();
    }
  }
  // The process inherits its three stdio handles and nothing else, as a
  // container process inherits no host handle (cfwin's log pipe above all).
  STARTUPINFOEXW startup = {.StartupInfo = {.cb = sizeof(startup),
                                            .dwFlags = STARTF_USESTDHANDLES,
                                            .hStdInput = child[0],
                                            .hStdOutput = child[1],
                                            .hStdError = child[2]}};
  SIZE_T size = 0;
  InitializeProcThreadAttributeList(NULL, 1, 0, &size);
  startup.lpAttributeList = malloc(size);
  InitializeProcThreadAttributeList(startup.lpAttributeList, 1, 0, &size);
  UpdateProcThreadAttribute(startup.lpAttributeList, 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST, child,
                            sizeof(child), NULL, NULL);
  PROCESS_INFORMATION process;
  BOOL ok = CreateProcessW(NULL, wcommand, NULL, NULL, TRUE,
                           CREATE_UNICODE_ENVIRONMENT | EXTENDED_STARTUPINFO_PRESENT, environment,
                           wdirectory, &startup.StartupInfo, &process);
  DeleteProcThreadAttributeList(startup.lpAttributeList);
  free(startup.lpAttributeList);
  HRESULT hr = ok ? S_OK : HRESULT_FROM_WIN32(GetLastError());
  for (int i = 0; i < 3; i++) {
    CloseHandle(child[i]);
    if (!ok && parent[i] != NULL) {
      CloseHandle(parent[i]);
    }
  }
  if (ok) {
    CloseHandle(process.hThread);
    *host = process.hProcess;
    info->ProcessId = process.dwProcessId;
    info->StdInput = parent[0];
    info->StdOutput = parent[1];
    info->StdError = parent[2];
  }
  free(environment);
  free(wdirectory);
  free(wcommand);
  free(directory);
  free(command_line);
  return hr;
}

static mock_process *process_handle(const char *system_id, DWORD pid, HANDLE host)
{
  mock_process *process = calloc(1, sizeof(*process));
  snprintf(process->system_id, sizeof(process->system_id), "%s", system_id);
  process->pid = pid;
  process->host = host;
  return process;
}

EXPORT HRESULT WINAPI HcsCreateProcess(HCS_SYSTEM compute_system, PCWSTR parameters,
                                       HCS_OPERATION operation, const SECURITY_DESCRIPTOR *security,
                                       HCS_PROCESS *process_out)
{
  mock_system *system = (mock_system *)compute_system;
  mock_record("HcsCreateProcess", system->id, parameters);
  HRESULT hr = mock_injected_failure("HcsCreateProcess");
  if (FAILED(hr)) {
    return hr;
  }
  char *params = mock_utf8(parameters);
  mock_operation *op = (mock_operation *)operation;
  HANDLE host = NULL;
  hr = start_process(params, &op->info, &host);
  free(params);
  finish(operation, hr, NULL);
  if (FAILED(hr)) {
    *process_out = (HCS_PROCESS)process_handle(system->id, 0, NULL);
    return S_OK; /* HCS reports a failed start through the operation */
  }
  mock_state state;
  mock_state_load(&state);
  char pid[32];
  snprintf(pid, sizeof(pid), "%lu", (unsigned long)op->info.ProcessId);
  mock_state_add(&state, "process", system->id, pid);
  mock_state_save(&state);
  *process_out = (HCS_PROCESS)process_handle(system->id, op->info.ProcessId, host);
  return S_OK;
}

EXPORT HRESULT WINAPI HcsOpenProcess(HCS_SYSTEM compute_system, DWORD pid, DWORD access,
                                     HCS_PROCESS *process_out)
{
  mock_system *system = (mock_system *)compute_system;
  char text[32];
  snprintf(text, sizeof(text), "%lu", (unsigned long)pid);
  mock_record("HcsOpenProcess", system->id, NULL);
  mock_state state;
  mock_state_load(&state);
  bool known = false;
  for (size_t i = 0; i < state.count; i++) {
    mock_entry *entry = &state.entries[i];
    known = known || (strcmp(entry->kind, "process") == 0 && strcmp(entry->name, system->id) == 0 &&
                      strcmp(entry->value, text) == 0);
  }
  mock_state_release(&state);
  HANDLE host = known ? OpenProcess(PROCESS_ALL_ACCESS, FALSE, pid) : NULL;
  if (host == NULL) {
    return HRESULT_FROM_WIN32(ERROR_NOT_FOUND);
  }
  *process_out = (HCS_PROCESS)process_handle(system->id, pid, host);
  return S_OK;
}

EXPORT void WINAPI HcsCloseProcess(HCS_PROCESS process_handle_)
{
  mock_process *process = (mock_process *)process_handle_;
  if (process->host != NULL) {
    CloseHandle(process->host);
  }
  free(process);
}

/* Ends the host process; exit code 1 as for a terminated container
 * process. */
static HRESULT end_process(const char *call, HCS_PROCESS process_handle_, HCS_OPERATION operation,
                           PCWSTR options)
{
  mock_process *process = (mock_process *)process_handle_;
  mock_record(call, process->system_id, options);
  HRESULT hr = mock_injected_failure(call);
  if (FAILED(hr)) {
    return hr;
  }
  DWORD code = 0;
  if (GetExitCodeProcess(process->host, &code) && code != STILL_ACTIVE) {
    hr = HCS_E_PROCESS_ALREADY_STOPPED;
  } else if (!TerminateProcess(process->host, 1)) {
    hr = HRESULT_FROM_WIN32(GetLastError());
  } else {
    WaitForSingleObject(process->host, TERMINATE_WAIT_MS);
  }
  finish(operation, hr, NULL);
  return hr;
}

EXPORT HRESULT WINAPI HcsTerminateProcess(HCS_PROCESS process, HCS_OPERATION operation,
                                          PCWSTR options)
{
  return end_process("HcsTerminateProcess", process, operation, options);
}

EXPORT HRESULT WINAPI HcsSignalProcess(HCS_PROCESS process, HCS_OPERATION operation, PCWSTR options)
{
  return end_process("HcsSignalProcess", process, operation, options);
}

EXPORT HRESULT WINAPI HcsModifyProcess(HCS_PROCESS process_handle_, HCS_OPERATION operation,
                                       PCWSTR settings)
{
  mock_process *process = (mock_process *)process_handle_;
  mock_record("HcsModifyProcess", process->system_id, settings);
  HRESULT hr = mock_injected_failure("HcsModifyProcess");
  finish(operation, hr, NULL);
  return hr;
}

EXPORT HRESULT WINAPI HcsSetProcessCallback(HCS_PROCESS process, HCS_EVENT_OPTIONS options,
                                            void *context, HCS_EVENT_CALLBACK callback)
{
  return S_OK;
}
