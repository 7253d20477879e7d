/* SPDX-License-Identifier: Apache-2.0 */
#include "garden/host.h"

#include <stdio.h>
#include <stdlib.h>
#include <windows.h>

#include "base/mem.h"
#include "image/windows/win.h"

int cf_host_memory_bytes(uint64_t *bytes, cf_err **err)
{
  MEMORYSTATUSEX status = {.dwLength = sizeof(status)};
  if (!GlobalMemoryStatusEx(&status)) {
    return cf_win_last_error(err, GetLastError(), "read host memory size");
  }
  *bytes = status.ullTotalPhys;
  return 0;
}

int cf_host_disk_bytes(const char *path, uint64_t *bytes, cf_err **err)
{
  cf_autofree wchar_t *wide = cf_win_utf16(path, err);
  if (wide == NULL) {
    return cf_err_wrap(err, "read disk size of %s", path);
  }
  ULARGE_INTEGER total;
  if (!GetDiskFreeSpaceExW(wide, NULL, &total, NULL)) {
    cf_autofree char *what = cf_xasprintf("read disk size of %s", path);
    return cf_win_last_error(err, GetLastError(), what);
  }
  *bytes = total.QuadPart;
  return 0;
}

long cf_host_cpu_count(void)
{
  SYSTEM_INFO info;
  GetSystemInfo(&info);
  return (long)info.dwNumberOfProcessors;
}

/* Winsock reports a closed peer as an error of the send and raises no
 * signal, so there is nothing to set up. */
void cf_host_ignore_broken_pipes(void)
{
}

/* cfwin.exe serves no unix socket (the serve role rejects --bind-socket),
 * so there is no socket to remove. */
void cf_host_remove_stale_socket(const char *path)
{
}

struct cf_depot_lock {
  HANDLE file;
};

/* The file is opened without write sharing, so a second holder's open
 * fails with a sharing violation until this handle is closed. */
int cf_host_depot_lock(const char *depot, cf_depot_lock **out, cf_err **err)
{
  cf_autofree char *path = cf_xasprintf("%s\\server.lock", depot);
  cf_autofree wchar_t *wide = cf_win_utf16(path, err);
  if (wide == NULL) {
    return cf_err_wrap(err, "open the depot lock %s", path);
  }
  HANDLE file = CreateFileW(wide, GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ, NULL, OPEN_ALWAYS,
                            FILE_ATTRIBUTE_NORMAL, NULL);
  if (file == INVALID_HANDLE_VALUE) {
    DWORD code = GetLastError();
    if (code == ERROR_SHARING_VIOLATION) {
      return cf_err_set(err, CF_E_BUSY,
                        "%s is locked by another cfwin process, a server using the same depot: "
                        "stop it first, or give this one its own --depot",
                        path);
    }
    cf_autofree char *action = cf_xasprintf("open the depot lock %s", path);
    return cf_win_last_error(err, code, action);
  }
  char pid[32];
  int len = snprintf(pid, sizeof(pid), "%lu\r\n", (unsigned long)GetCurrentProcessId());
  DWORD written = 0;
  SetEndOfFile(file);
  WriteFile(file, pid, (DWORD)len, &written, NULL);
  cf_depot_lock *lock = cf_xcalloc(1, sizeof(*lock));
  lock->file = file;
  *out = lock;
  return 0;
}

/* NOTE: HNS networks are host-wide and the Windows backend makes none yet,
 * so no lock guards a network name on Windows. */
int cf_host_network_lock(const char *name, cf_depot_lock **out, cf_err **err)
{
  *out = NULL;
  return 0;
}

void cf_host_depot_unlock(cf_depot_lock *lock)
{
  if (lock != NULL) {
    CloseHandle(lock->file);
    free(lock);
  }
}
