/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A stand-in for vmcompute.dll's layer calls, for running cfwin.exe's image
 * role end to end under Wine, which has no Host Compute Service. Each call
 * appends one line to the file that CFWIN_MOCK_VMCOMPUTE_LOG names: the
 * call's name and its arguments separated by tabs, parent layers as
 * "<GUID>|<path>" in the order received. ImportLayer also appends one
 * "ImportLayer.file" line per file in the import folder, as a path relative
 * to it with `/` separators.
 *
 * The file effects are the ones the next call of the backend relies on.
 * LayerExists reports whether the directory exists. CreateSandboxLayer
 * creates the volume directory with an empty Sandbox.vhdx, and DestroyLayer
 * removes the directory. GetLayerMountPath returns a volume GUID path
 * derived from the id, and ImportLayer copies the import folder's tree
 * into the layer directory as it is (a host converts the transport format,
 * but the mock does not). When CFWIN_MOCK_VMCOMPUTE_FAIL names a call,
 * that call returns E_FAIL.
 */
#include <windows.h>

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <wchar.h>

typedef struct driver_info {
  int flavour;
  LPCWSTR home_dir;
} driver_info;

typedef struct layer_descriptor {
  GUID layer_id;
  ULONG flags;
  PCWSTR path;
} layer_descriptor;

/* Line buffer of one log record, in UTF-16 before conversion. */
#define LINE_CHARS 65536

static wchar_t line[LINE_CHARS];
static size_t line_len;
static CRITICAL_SECTION line_lock;

BOOL WINAPI DllMain(HINSTANCE instance, DWORD reason, LPVOID reserved)
{
  if (reason == DLL_PROCESS_ATTACH) {
    InitializeCriticalSection(&line_lock);
  }
  return TRUE;
}

static void add(const wchar_t *format, ...)
{
  va_list args;
  va_start(args, format);
  int n = _vsnwprintf(line + line_len, LINE_CHARS - line_len - 1, format, args);
  va_end(args);
  if (n > 0) {
    line_len += (size_t)n;
  }
}

/* Appends the line and a newline to the log file in one write, so the
 * lines of concurrent processes do not mix. */
static void flush_line(void)
{
  wchar_t path[MAX_PATH];
  if (GetEnvironmentVariableW(L"CFWIN_MOCK_VMCOMPUTE_LOG", path, MAX_PATH) == 0) {
    line_len = 0;
    return;
  }
  add(L"\n");
  static char utf8[LINE_CHARS * 3];
  int bytes = WideCharToMultiByte(CP_UTF8, 0, line, (int)line_len, utf8, sizeof(utf8), NULL, NULL);
  HANDLE file = CreateFileW(path, FILE_APPEND_DATA, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL,
                            OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
  if (file != INVALID_HANDLE_VALUE) {
    DWORD written = 0;
    WriteFile(file, utf8, (DWORD)bytes, &written, NULL);
    CloseHandle(file);
  }
  line_len = 0;
}

static void begin(const wchar_t *call)
{
  EnterCriticalSection(&line_lock);
  line_len = 0;
  add(L"%ls", call);
}

/* E_FAIL when CFWIN_MOCK_VMCOMPUTE_FAIL names call, else S_OK. */
static HRESULT result_of(const wchar_t *call)
{
  wchar_t fail[64];
  DWORD n = GetEnvironmentVariableW(L"CFWIN_MOCK_VMCOMPUTE_FAIL", fail, 64);
  return n > 0 && n < 64 && wcscmp(fail, call) == 0 ? E_FAIL : S_OK;
}

static HRESULT end(const wchar_t *call)
{
  flush_line();
  LeaveCriticalSection(&line_lock);
  return result_of(call);
}

static void add_guid(const GUID *g)
{
  add(L"%08lx-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x", (unsigned long)g->Data1, g->Data2,
      g->Data3, g->Data4[0], g->Data4[1], g->Data4[2], g->Data4[3], g->Data4[4], g->Data4[5],
      g->Data4[6], g->Data4[7]);
}

static void add_parents(const layer_descriptor *layers, ULONG count)
{
  add(L"\t%lu", (unsigned long)count);
  for (ULONG i = 0; i < count; i++) {
    add(L"\t");
    add_guid(&layers[i].layer_id);
    add(L"|%ls", layers[i].path);
  }
}

static bool is_directory(PCWSTR path)
{
  DWORD attributes = GetFileAttributesW(path);
  return attributes != INVALID_FILE_ATTRIBUTES && (attributes & FILE_ATTRIBUTE_DIRECTORY) != 0;
}

/* A GUID from the FNV-1a hash of name, the same for the same name. */
static void guid_of(PCWSTR name, GUID *out)
{
  unsigned long long hash = 1469598103934665603ull;
  for (PCWSTR p = name; *p != L'\0'; p++) {
    hash = (hash ^ (unsigned long long)*p) * 1099511628211ull;
  }
  unsigned long long second = hash * 6364136223846793005ull + 1442695040888963407ull;
  out->Data1 = (unsigned long)(hash >> 32);
  out->Data2 = (unsigned short)(hash >> 16);
  out->Data3 = (unsigned short)hash;
  for (int i = 0; i < 8; i++) {
    out->Data4[i] = (unsigned char)(second >> (8 * i));
  }
}

/* Logs every file under dir (prefix is its path relative to the import
 * folder) as an ImportLayer.file line. */
static void list_files(PCWSTR dir, PCWSTR prefix)
{
  wchar_t pattern[MAX_PATH * 2];
  _snwprintf(pattern, MAX_PATH * 2, L"%ls\\*", dir);
  WIN32_FIND_DATAW found;
  HANDLE search = FindFirstFileW(pattern, &found);
  if (search == INVALID_HANDLE_VALUE) {
    return;
  }
  do {
    if (wcscmp(found.cFileName, L".") == 0 || wcscmp(found.cFileName, L"..") == 0) {
      continue;
    }
    wchar_t child[MAX_PATH * 2];
    wchar_t relative[MAX_PATH * 2];
    _snwprintf(child, MAX_PATH * 2, L"%ls\\%ls", dir, found.cFileName);
    _snwprintf(relative, MAX_PATH * 2, L"%ls%ls%ls", prefix, prefix[0] != L'\0' ? L"/" : L"",
               found.cFileName);
    if (found.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) {
      list_files(child, relative);
    } else {
      line_len = 0;
      add(L"ImportLayer.file\t%ls", relative);
      flush_line();
    }
  } while (FindNextFileW(search, &found));
  FindClose(search);
}

/* Copies the files and directories under from into to, which exists. */
static void copy_tree(PCWSTR from, PCWSTR to)
{
  wchar_t pattern[MAX_PATH * 2];
  _snwprintf(pattern, MAX_PATH * 2, L"%ls\\*", from);
  WIN32_FIND_DATAW found;
  HANDLE search = FindFirstFileW(pattern, &found);
  if (search == INVALID_HANDLE_VALUE) {
    return;
  }
  do {
    if (wcscmp(found.cFileName, L".") == 0 || wcscmp(found.cFileName, L"..") == 0) {
      continue;
    }
    wchar_t source[MAX_PATH * 2];
    wchar_t target[MAX_PATH * 2];
    _snwprintf(source, MAX_PATH * 2, L"%ls\\%ls", from, found.cFileName);
    _snwprintf(target, MAX_PATH * 2, L"%ls\\%ls", to, found.cFileName);
    if (found.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) {
      CreateDirectoryW(target, NULL);
      copy_tree(source, target);
    } else {
      CopyFileW(source, target, FALSE);
    }
  } while (FindNextFileW(search, &found));
  FindClose(search);
}

static void remove_tree(PCWSTR dir)
{
  wchar_t pattern[MAX_PATH * 2];
  _snwprintf(pattern, MAX_PATH * 2, L"%ls\\*", dir);
  WIN32_FIND_DATAW found;
  HANDLE search = FindFirstFileW(pattern, &found);
  if (search != INVALID_HANDLE_VALUE) {
    do {
      if (wcscmp(found.cFileName, L".") == 0 || wcscmp(found.cFileName, L"..") == 0) {
        continue;
      }
      wchar_t child[MAX_PATH * 2];
      _snwprintf(child, MAX_PATH * 2, L"%ls\\%ls", dir, found.cFileName);
      if (found.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) {
        remove_tree(child);
      } else {
        SetFileAttributesW(child, FILE_ATTRIBUTE_NORMAL);
        DeleteFileW(child);
      }
    } while (FindNextFileW(search, &found));
    FindClose(search);
  }
  RemoveDirectoryW(dir);
}

__declspec(dllexport) HRESULT WINAPI NameToGuid(PCWSTR name, GUID *guid)
{
  guid_of(name, guid);
  begin(L"NameToGuid");
  add(L"\t%ls\t", name);
  add_guid(guid);
  return end(L"NameToGuid");
}

__declspec(dllexport) HRESULT WINAPI LayerExists(driver_info *info, PCWSTR id, ULONG *exists)
{
  *exists = is_directory(id) ? 1 : 0;
  begin(L"LayerExists");
  add(L"\t%ls\t%lu", id, (unsigned long)*exists);
  return end(L"LayerExists");
}

__declspec(dllexport) HRESULT WINAPI
    ImportLayer(driver_info *info, PCWSTR id, PCWSTR folder, layer_descriptor *parents, ULONG count)
{
  begin(L"ImportLayer");
  add(L"\t%ls\t%ls", id, folder);
  add_parents(parents, count);
  flush_line();
  list_files(folder, L"");
  LeaveCriticalSection(&line_lock);
  CreateDirectoryW(id, NULL);
  copy_tree(folder, id);
  return result_of(L"ImportLayer");
}

__declspec(dllexport) HRESULT WINAPI
    CreateSandboxLayer(driver_info *info, PCWSTR id, UINT_PTR parent, layer_descriptor *parents,
                       ULONG count)
{
  begin(L"CreateSandboxLayer");
  add(L"\t%ls", id);
  add_parents(parents, count);
  CreateDirectoryW(id, NULL);
  wchar_t vhdx[MAX_PATH * 2];
  _snwprintf(vhdx, MAX_PATH * 2, L"%ls\\Sandbox.vhdx", id);
  HANDLE file = CreateFileW(vhdx, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, 0, NULL);
  if (file != INVALID_HANDLE_VALUE) {
    CloseHandle(file);
  }
  return end(L"CreateSandboxLayer");
}

__declspec(dllexport) HRESULT WINAPI ExpandSandboxSize(driver_info *info, PCWSTR id, UINT64 size)
{
  begin(L"ExpandSandboxSize");
  add(L"\t%ls\t%llu", id, (unsigned long long)size);
  return end(L"ExpandSandboxSize");
}

__declspec(dllexport) HRESULT WINAPI ActivateLayer(driver_info *info, PCWSTR id)
{
  begin(L"ActivateLayer");
  add(L"\t%ls", id);
  return end(L"ActivateLayer");
}

__declspec(dllexport) HRESULT WINAPI
    PrepareLayer(driver_info *info, PCWSTR id, layer_descriptor *layers, ULONG count)
{
  begin(L"PrepareLayer");
  add(L"\t%ls", id);
  add_parents(layers, count);
  return end(L"PrepareLayer");
}

/* Sets *length to the characters of the path and its NUL and copies the
 * path when buffer is not NULL; length 0 when the volume does not exist. */
__declspec(dllexport) HRESULT WINAPI
    GetLayerMountPath(driver_info *info, PCWSTR id, UINT_PTR *length, PWSTR buffer)
{
  wchar_t path[64] = L"";
  if (is_directory(id)) {
    GUID guid;
    guid_of(id, &guid);
    _snwprintf(path, 64, L"\\\\?\\Volume{%08lx-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x}\\",
               (unsigned long)guid.Data1, guid.Data2, guid.Data3, guid.Data4[0], guid.Data4[1],
               guid.Data4[2], guid.Data4[3], guid.Data4[4], guid.Data4[5], guid.Data4[6],
               guid.Data4[7]);
  }
  size_t chars = wcslen(path);
  if (buffer != NULL) {
    wmemcpy(buffer, path, chars + 1);
  }
  *length = chars == 0 ? 0 : chars + 1;
  begin(L"GetLayerMountPath");
  add(L"\t%ls\t%ls", id, buffer != NULL ? path : L"(length)");
  return end(L"GetLayerMountPath");
}

__declspec(dllexport) HRESULT WINAPI UnprepareLayer(driver_info *info, PCWSTR id)
{
  begin(L"UnprepareLayer");
  add(L"\t%ls", id);
  return end(L"UnprepareLayer");
}

__declspec(dllexport) HRESULT WINAPI DeactivateLayer(driver_info *info, PCWSTR id)
{
  begin(L"DeactivateLayer");
  add(L"\t%ls", id);
  return end(L"DeactivateLayer");
}

__declspec(dllexport) HRESULT WINAPI DestroyLayer(driver_info *info, PCWSTR id)
{
  begin(L"DestroyLayer");
  add(L"\t%ls", id);
  remove_tree(id);
  return end(L"DestroyLayer");
}

__declspec(dllexport) HRESULT WINAPI ProcessBaseImage(PCWSTR path)
{
  begin(L"ProcessBaseImage");
  add(L"\t%ls", path);
  return end(L"ProcessBaseImage");
}

__declspec(dllexport) HRESULT WINAPI ProcessUtilityImage(PCWSTR path)
{
  begin(L"ProcessUtilityImage");
  add(L"\t%ls", path);
  return end(L"ProcessUtilityImage");
}
