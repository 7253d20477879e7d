/* SPDX-License-Identifier: Apache-2.0 */
/* UTF-16 conversion and HRESULT messages for the Windows image backend. */
#include "image/windows/win.h"

#include <stdlib.h>

#include "base/mem.h"
#include "image/winimage.h"

/* Returns FormatMessage's text for code, or NULL; free it with LocalFree. */
static char *system_message(DWORD code)
{
  char *text = NULL;
  DWORD flags =
      FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS;
  if (FormatMessageA(flags, NULL, code, 0, (LPSTR)&text, 0, NULL) == 0) {
    return NULL;
  }
  return text;
}

int cf_win_hr_error(cf_err **err, HRESULT hr, const char *what)
{
  char *text = system_message((DWORD)hr);
  char *message = cf_win_hresult_message(what, (uint32_t)hr, text);
  if (text != NULL) {
    LocalFree(text);
  }
  cf_err_set(err, CF_E_SYSTEM, "%s", message);
  free(message);
  return -1;
}

int cf_win_last_error(cf_err **err, DWORD code, const char *what)
{
  return cf_win_hr_error(err, HRESULT_FROM_WIN32(code), what);
}

wchar_t *cf_win_utf16(const char *text, cf_err **err)
{
  int count = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, text, -1, NULL, 0);
  if (count <= 0) {
    cf_err_set(err, CF_E_INVALID, "\"%s\" is not valid UTF-8", text);
    return NULL;
  }
  wchar_t *wide = cf_xcalloc((size_t)count, sizeof(wchar_t));
  MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, text, -1, wide, count);
  return wide;
}

char *cf_win_utf8(const wchar_t *text, cf_err **err)
{
  int count = WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, text, -1, NULL, 0, NULL, NULL);
  if (count <= 0) {
    cf_err_set(err, CF_E_INVALID, "a path returned by Windows is not valid UTF-16");
    return NULL;
  }
  char *narrow = cf_xmalloc((size_t)count);
  WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, text, -1, narrow, count, NULL, NULL);
  return narrow;
}
