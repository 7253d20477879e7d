/* SPDX-License-Identifier: Apache-2.0 */
/* State file, call record and failure injection of the mock host DLLs. */
#include "mock_host.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One named mutex serialises every mock call that touches the state file,
 * across the processes of one Wine prefix. */
static HANDLE take_lock(void)
{
  HANDLE mutex = CreateMutexW(NULL, FALSE, L"cfwin-mock-host-state");
  if (mutex != NULL) {
    WaitForSingleObject(mutex, INFINITE);
  }
  return mutex;
}

static void drop_lock(HANDLE mutex)
{
  if (mutex != NULL) {
    ReleaseMutex(mutex);
    CloseHandle(mutex);
  }
}

static HANDLE state_lock;

static FILE *open_env_file(const char *variable, const char *mode)
{
  const char *path = getenv(variable);
  if (path == NULL || path[0] == '\0') {
    return NULL;
  }
  return fopen(path, mode);
}

void mock_state_load(mock_state *state)
{
  memset(state, 0, sizeof(*state));
  state_lock = take_lock();
  FILE *file = open_env_file("CFWIN_MOCK_HOST_STATE", "r");
  if (file == NULL) {
    return;
  }
  char line[600];
  while (fgets(line, sizeof(line), file) != NULL) {
    mock_entry entry;
    memset(&entry, 0, sizeof(entry));
    if (sscanf(line, "%15s %255s %255[^\n]", entry.kind, entry.name, entry.value) == 3) {
      mock_state_add(state, entry.kind, entry.name, entry.value);
    }
  }
  fclose(file);
}

void mock_state_save(mock_state *state)
{
  FILE *file = open_env_file("CFWIN_MOCK_HOST_STATE", "w");
  if (file != NULL) {
    for (size_t i = 0; i < state->count; i++) {
      mock_entry *entry = &state->entries[i];
      fprintf(file, "%s %s %s\n", entry->kind, entry->name, entry->value);
    }
    fclose(file);
  }
  mock_state_release(state);
}

void mock_state_release(mock_state *state)
{
  free(state->entries);
  memset(state, 0, sizeof(*state));
  drop_lock(state_lock);
  state_lock = NULL;
}

mock_entry *mock_state_find(mock_state *state, const char *kind, const char *name)
{
  for (size_t i = 0; i < state->count; i++) {
    if (strcmp(state->entries[i].kind, kind) == 0 && strcmp(state->entries[i].name, name) == 0) {
      return &state->entries[i];
    }
  }
  return NULL;
}

mock_entry *mock_state_add(mock_state *state, const char *kind, const char *name, const char *value)
{
  state->entries = realloc(state->entries, (state->count + 1) * sizeof(mock_entry));
  mock_entry *entry = &state->entries[state->count++];
  memset(entry, 0, sizeof(*entry));
  snprintf(entry->kind, sizeof(entry->kind), "%s", kind);
  snprintf(entry->name, sizeof(entry->name), "%s", name);
  snprintf(entry->value, sizeof(entry->value), "%s", value);
  return entry;
}

void mock_state_remove(mock_state *state, mock_entry *entry)
{
  size_t index = (size_t)(entry - state->entries);
  memmove(entry, entry + 1, (state->count - index - 1) * sizeof(mock_entry));
  state->count--;
}

/* Writes text as a JSON string. */
static void write_json_string(FILE *file, const char *text)
{
  fputc('"', file);
  for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
    if (*p == '"' || *p == '\\') {
      fprintf(file, "\\%c", *p);
    } else if (*p < 0x20) {
      fprintf(file, "\\u%04x", *p);
    } else {
      fputc(*p, file);
    }
  }
  fputc('"', file);
}

void mock_record(const char *call, const char *id, const wchar_t *document)
{
  HANDLE lock = take_lock();
  FILE *file = open_env_file("CFWIN_MOCK_HOST_LOG", "a");
  if (file != NULL) {
    char *text = document != NULL ? mock_utf8(document) : NULL;
    fputs("{\"call\":", file);
    write_json_string(file, call);
    fputs(",\"id\":", file);
    write_json_string(file, id != NULL ? id : "");
    // The document goes in as it came, so the check reads exactly the
    // JSON cfwin sent; a malformed one makes the whole line unreadable.
    fprintf(file, ",\"document\":%s}\n", text != NULL && text[0] != '\0' ? text : "null");
    free(text);
    fclose(file);
  }
  drop_lock(lock);
}

HRESULT mock_injected_failure(const char *call)
{
  const char *spec = getenv("CFWIN_MOCK_HOST_FAIL");
  size_t len = strlen(call);
  while (spec != NULL && *spec != '\0') {
    if (strncmp(spec, call, len) == 0 && spec[len] == '=') {
      return (HRESULT)strtoul(spec + len + 1, NULL, 0);
    }
    spec = strchr(spec, ',');
    spec = spec != NULL ? spec + 1 : NULL;
  }
  return S_OK;
}

char *mock_utf8(const wchar_t *text)
{
  int size = WideCharToMultiByte(CP_UTF8, 0, text, -1, NULL, 0, NULL, NULL);
  char *out = calloc((size_t)(size > 0 ? size : 1), 1);
  if (size > 0) {
    WideCharToMultiByte(CP_UTF8, 0, text, -1, out, size, NULL, NULL);
  }
  return out;
}

wchar_t *mock_utf16(const char *text)
{
  int size = MultiByteToWideChar(CP_UTF8, 0, text, -1, NULL, 0);
  wchar_t *out = calloc((size_t)(size > 0 ? size : 1), sizeof(wchar_t));
  if (size > 0) {
    MultiByteToWideChar(CP_UTF8, 0, text, -1, out, size);
  }
  return out;
}

wchar_t *mock_local_string(const char *text)
{
  wchar_t *wide = mock_utf16(text);
  size_t size = (wcslen(wide) + 1) * sizeof(wchar_t);
  wchar_t *out = LocalAlloc(LMEM_FIXED, size);
  memcpy(out, wide, size);
  free(wide);
  return out;
}

/* Decodes the JSON string starting after its opening quote. */
static char *decode_string(const char *p)
{
  char *out = malloc(strlen(p) + 1);
  size_t len = 0;
  while (*p != '\0' && *p != '"') {
    if (*p != '\\') {
      out[len++] = *p++;
      continue;
    }
    p++;
    switch (*p) {
    case 'n':
      out[len++] = '\n';
      break;
    case 't':
      out[len++] = '\t';
      break;
    case 'r':
      out[len++] = '\r';
      break;
    case 'u': {
      unsigned code = 0;
      sscanf(p + 1, "%4x", &code);
      p += 4;
      // The documents escape only ASCII this way (<, >, &, controls).
      out[len++] = code < 0x80 ? (char)code : '?';
      break;
    }
    default:
      out[len++] = *p;
      break;
    }
    if (*p != '\0') {
      p++;
    }
  }
  out[len] = '\0';
  return out;
}

static const char *find_member(const char *json, const char *name)
{
  size_t len = strlen(name);
  for (const char *p = strchr(json, '"'); p != NULL; p = strchr(p + 1, '"')) {
    if (strncmp(p + 1, name, len) == 0 && p[len + 1] == '"') {
      const char *value = p + len + 2;
      while (*value == ' ' || *value == ':') {
        value++;
      }
      return value;
    }
  }
  return NULL;
}

char *mock_json_string(const char *json, const char *name)
{
  const char *value = find_member(json, name);
  if (value == NULL || *value != '"') {
    return NULL;
  }
  return decode_string(value + 1);
}

bool mock_json_true(const char *json, const char *name)
{
  const char *value = find_member(json, name);
  return value != NULL && strncmp(value, "true", 4) == 0;
}
