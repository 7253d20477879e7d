/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared part of the mock Windows host DLLs (computecore.dll,
 * computenetwork.dll, vmcompute.dll) that the Wine integration check
 * installs into its own prefix's System32. The mocks keep their compute
 * systems and namespaces in a state file, so separate cfwin.exe processes
 * see one host, and record every call. Environment:
 *   CFWIN_MOCK_HOST_STATE  Windows path of the state file (required)
 *   CFWIN_MOCK_HOST_LOG    Windows path of the call record, one JSON object
 *                          per line: {"call":..,"id":..,"document":..}
 *   CFWIN_MOCK_HOST_FAIL   "Call=0xHRESULT[,Call=0xHRESULT...]": the named
 *                          calls fail with that HRESULT
 */
#ifndef CFWIN_TESTS_WINDOWS_MOCK_HOST_H
#define CFWIN_TESTS_WINDOWS_MOCK_HOST_H

#include <windows.h>

#include <stdbool.h>
#include <stddef.h>

/* Entries of the state file: kind "system" (name = compute system id,
 * value = "<State> <owner or ->"), "process" (name = system id, value =
 * host pid) and "namespace" (name = GUID, value = "-"). */
typedef struct mock_entry {
  char kind[16];
  char name[256];
  char value[256];
} mock_entry;

typedef struct mock_state {
  mock_entry *entries;
  size_t count;
} mock_state;

/* Takes the lock shared by all mock DLLs in all processes and reads the
 * state file; mock_state_save writes it back and releases the lock. */
void mock_state_load(mock_state *state);
void mock_state_save(mock_state *state);
/* Releases the lock without writing. */
void mock_state_release(mock_state *state);

mock_entry *mock_state_find(mock_state *state, const char *kind, const char *name);
mock_entry *mock_state_add(mock_state *state, const char *kind, const char *name,
                           const char *value);
void mock_state_remove(mock_state *state, mock_entry *entry);

/* Appends one call to the record. document is UTF-16 JSON or NULL. */
void mock_record(const char *call, const char *id, const wchar_t *document);

/* The HRESULT CFWIN_MOCK_HOST_FAIL names for call, or S_OK. */
HRESULT mock_injected_failure(const char *call);

/* UTF-16 to UTF-8 and back; the result is malloc'ed. */
char *mock_utf8(const wchar_t *text);
wchar_t *mock_utf16(const char *text);

/* A copy of text in LocalAlloc memory, which callers free with LocalFree. */
wchar_t *mock_local_string(const char *text);

/* Finds the string member name anywhere in the JSON text (the first match)
 * and decodes it, or returns NULL. Enough for the flat documents cfwin
 * sends; not a JSON parser. */
char *mock_json_string(const char *json, const char *name);
/* True when member name is the literal true. */
bool mock_json_true(const char *json, const char *name);

#endif
