/* SPDX-License-Identifier: Apache-2.0 */
#include "garden/host.h"

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
