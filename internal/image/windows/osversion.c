/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The host's os.version, "10.0.BUILD.UBR", for choosing an image from a
 * manifest list. RtlGetVersion is used because GetVersionEx reports the
 * version the executable's manifest claims, not the host's. The update
 * build revision (UBR) is only in the registry. NOTE: compiled by the
 * mingw-w64 cross build only; this file has not run on a Windows host.
 */
#include "image/windows/osversion.h"

#include <windows.h>

#include <string.h>

#include "image/windows/win.h"
#include "image/winlayer.h"

typedef LONG(WINAPI *rtl_get_version_fn)(OSVERSIONINFOW *info);

static int host_version(OSVERSIONINFOW *info, cf_err **err)
{
  HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
  FARPROC proc = ntdll == NULL ? NULL : GetProcAddress(ntdll, "RtlGetVersion");
  if (proc == NULL) {
    return cf_err_set(err, CF_E_SYSTEM, "ntdll.dll has no RtlGetVersion");
  }
  rtl_get_version_fn get_version;
  memcpy(&get_version, &proc, sizeof(get_version));
  memset(info, 0, sizeof(*info));
  info->dwOSVersionInfoSize = sizeof(*info);
  LONG status = get_version(info);
  if (status != 0) {
    return cf_err_set(err, CF_E_SYSTEM, "RtlGetVersion failed with NTSTATUS 0x%08lx",
                      (unsigned long)status);
  }
  return 0;
}

/* Reads UBR (REG_DWORD); hosts before Windows 10 have none, which is 0. */
static int update_build_revision(DWORD *ubr, cf_err **err)
{
  DWORD size = sizeof(*ubr);
  LSTATUS status =
      RegGetValueW(HKEY_LOCAL_MACHINE, L"SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion", L"UBR",
                   RRF_RT_REG_DWORD, NULL, ubr, &size);
  if (status == ERROR_FILE_NOT_FOUND) {
    *ubr = 0;
    return 0;
  }
  if (status != ERROR_SUCCESS) {
    cf_win_last_error(err, (DWORD)status, "RegGetValue");
    return cf_err_wrap(err, "read HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\UBR");
  }
  return 0;
}

int cf_win_host_os_version(char **out, cf_err **err)
{
  OSVERSIONINFOW info;
  DWORD ubr = 0;
  if (host_version(&info, err) < 0 || update_build_revision(&ubr, err) < 0) {
    return cf_err_wrap(err, "host os.version");
  }
  *out =
      cf_win_os_version_format(info.dwMajorVersion, info.dwMinorVersion, info.dwBuildNumber, ubr);
  return 0;
}
