/* SPDX-License-Identifier: Apache-2.0 */
/* Layer ids for Container.Storage.Layers through the image backend's
 * vmcompute.dll loader (NameToGuid). */
#include "runtime/windows/hcs.h"

#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "image/windows/win.h"

/* The base name of a folder path, ignoring trailing separators. */
static char *base_name(const char *folder)
{
  size_t end = strlen(folder);
  while (end > 0 && (folder[end - 1] == '\\' || folder[end - 1] == '/')) {
    end--;
  }
  size_t start = end;
  while (start > 0 && folder[start - 1] != '\\' && folder[start - 1] != '/') {
    start--;
  }
  return cf_xstrndup(folder + start, end - start);
}

/* GUID fields in network byte order, as cf_winrt_guid_format takes them. */
static void guid_bytes(const GUID *guid, uint8_t out[16])
{
  for (int i = 0; i < 4; i++) {
    out[i] = (uint8_t)(guid->Data1 >> (24 - 8 * i));
  }
  out[4] = (uint8_t)(guid->Data2 >> 8);
  out[5] = (uint8_t)guid->Data2;
  out[6] = (uint8_t)(guid->Data3 >> 8);
  out[7] = (uint8_t)guid->Data3;
  memcpy(out + 8, guid->Data4, 8);
}

static int layer_id(cf_vmcompute *vm, const char *folder, char **out, cf_err **err)
{
  cf_autofree char *name = base_name(folder);
  cf_autofree wchar_t *wname = cf_win_utf16(name, err);
  if (wname == NULL) {
    return -1;
  }
  GUID guid;
  HRESULT hr = vm->NameToGuid(wname, &guid);
  if (FAILED(hr)) {
    cf_win_hr_error(err, hr, "NameToGuid");
    return cf_err_wrap(err, "layer %s", folder);
  }
  uint8_t bytes[16];
  char text[CF_HCS_GUID_STRLEN + 1];
  guid_bytes(&guid, bytes);
  cf_winrt_guid_format(bytes, text);
  *out = cf_xstrdup(text);
  return 0;
}

int cf_hcs_layer_ids(char *const *folders, size_t count, char ***ids, cf_err **err)
{
  cf_vmcompute vm;
  if (cf_vmcompute_load(&vm, err) < 0) {
    return -1;
  }
  char **result = cf_xcalloc(count > 0 ? count : 1, sizeof(*result));
  for (size_t i = 0; i < count; i++) {
    if (layer_id(&vm, folders[i], &result[i], err) < 0) {
      cf_strv_free(result, count);
      cf_vmcompute_unload(&vm);
      return -1;
    }
  }
  cf_vmcompute_unload(&vm);
  *ids = result;
  return 0;
}
